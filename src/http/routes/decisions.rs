//! `POST /v1/decisions` and `POST /v1/decisions/batch`.
//!
//! Each runs in three steps. Decide: off the async workers (unless the body is small),
//! a batch in chunks that look at the deadline between them. Commit: the decision log
//! takes the lines (see [`crate::http::decision_log`]); from then on the answer is sent
//! whatever the clock says. Answer. A request answered 503 (past its deadline, or the log
//! cannot be written) leaves no decision-log line and counts no decision.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserializer, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::codes::{Outcome, Scenario};
use crate::http::decision_log::{self, DecisionLog, NotWritten};
use crate::http::extract::{JsonBytes, Negotiated, OutputParams, negotiate};
use crate::http::middleware::Slot;
use crate::http::problem::Problem;
use crate::http::routes::KnownLang;
use crate::http::state::AppState;
use crate::render::{DecisionView, summary};
use crate::request::FieldError;
use crate::rules::Rules;
use crate::{Decided, RequestError, RequestErrorKind};

/// Bodies up to this size are decided on the async worker (well under a millisecond);
/// larger ones on the blocking pool.
const DECIDE_INLINE_UP_TO: usize = 8 * 1024;
/// Batch items decided between two looks at the deadline.
const CHUNK: usize = 32;

/// Decides one case.
#[utoipa::path(
    post,
    path = "/v1/decisions",
    tag = "decisions",
    request_body(content_type = "application/json", description = "One after-sales case. Times: RFC 3339, a local time in the policy's zone, or epoch milliseconds."),
    params(
        ("Accept-Language" = Option<String>, Header, description = "Language of the texts: zh-CN (default) or en."),
        OutputParams,
    ),
    responses(
        (status = 200, description = "The decision. `Accept: text/plain` gives a short readable summary instead.",
            content((DecisionView = "application/json"), (String = "text/plain"))),
    ),
)]
pub async fn create_decision(
    State(state): State<AppState>,
    _: KnownLang,
    slot: Slot,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    JsonBytes(body): JsonBytes,
) -> Response {
    let loaded = state.rules();
    let how = negotiate(&headers, query.as_deref(), &loaded.rules);
    let log = state.decision_log().cloned();
    let logged = log.as_ref().map(|_| Logged {
        request_id: request_id(&headers),
        batch_id: None,
    });
    let prepared = if body.len() <= DECIDE_INLINE_UP_TO {
        decide_single(&loaded.rules, &body, how, logged.as_ref())
    } else {
        let working = slot.clone();
        off_the_workers(move || {
            // It may have waited for a thread past its deadline.
            if !working.live() {
                return Err(working.timed_out().into());
            }
            decide_single(&loaded.rules, &body, how, logged.as_ref())
        })
        .await
    };
    match prepared {
        Ok(prepared) => deliver(log.as_ref(), &slot, prepared).await,
        Err(Refused(answer)) => *answer,
    }
}

/// Where a decision came from, for the decision log.
struct Logged {
    request_id: Option<String>,
    batch_id: Option<String>,
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Decided, not yet delivered: the answer, the decision-log lines, what to count.
struct Prepared {
    response: Response,
    /// One line per decision, each ending in a newline; empty without a decision log.
    lines: Vec<u8>,
    delivered: Vec<Delivered>,
    batch: Option<(String, usize)>,
}

/// What is counted and traced of a decision once it is delivered.
struct Delivered {
    decision_id: String,
    case_id: Option<String>,
    rules_version: String,
    scenario: Scenario,
    decision: Outcome,
    applies: bool,
    batch_id: Option<String>,
}

impl Delivered {
    fn of(view: &DecisionView, batch_id: Option<&str>) -> Delivered {
        Delivered {
            decision_id: view.decision_id.clone(),
            case_id: view.case_id.clone(),
            rules_version: view.rules_version.clone(),
            scenario: view.scenario,
            decision: view.decision,
            applies: view.applies,
            batch_id: batch_id.map(str::to_owned),
        }
    }

    fn count_and_trace(&self) {
        metrics::counter!("aftersales_decisions_total", "scenario" => self.scenario.as_str(), "decision" => self.decision.as_str()).increment(1);
        let case_id = self.case_id.as_deref().map(decision_log::shown);
        tracing::info!(
            decision_id = %self.decision_id,
            batch_id = self.batch_id.as_deref(),
            case_id = case_id.as_deref(),
            rules_version = %self.rules_version,
            scenario = %self.scenario,
            decision = %self.decision,
            applies = self.applies,
            "decided"
        );
    }
}

/// The answer to a request refused before anything was delivered.
struct Refused(Box<Response>);

impl From<Problem> for Refused {
    fn from(problem: Problem) -> Refused {
        Refused(Box::new(problem.into_response()))
    }
}

/// Runs CPU work on the blocking pool; a panic there is a 500.
async fn off_the_workers(
    work: impl FnOnce() -> Result<Prepared, Refused> + Send + 'static,
) -> Result<Prepared, Refused> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err(Problem::internal().into()))
}

/// Commits (the log takes the lines, or the slot alone) and answers.
async fn deliver(log: Option<&DecisionLog>, slot: &Slot, prepared: Prepared) -> Response {
    let Prepared {
        response,
        lines,
        delivered,
        batch,
    } = prepared;
    let committed = match log {
        Some(log) if !delivered.is_empty() => log.commit(lines, delivered.len(), slot).await,
        _ if slot.commit() => Ok(()),
        _ => Err(NotWritten::Expired),
    };
    if let Err(not_written) = committed {
        return not_written.problem(slot).into_response();
    }
    for d in &delivered {
        d.count_and_trace();
    }
    if let Some((batch_id, items)) = batch {
        tracing::info!(batch_id = %batch_id, items, succeeded = delivered.len(), "batch decided");
    }
    response
}

/// One decision, made and rendered (JSON or text), with its log line.
fn decide_single(
    rules: &Rules,
    body: &[u8],
    how: Negotiated,
    log: Option<&Logged>,
) -> Result<Prepared, Refused> {
    let decided = crate::decide_json(
        rules,
        body,
        chrono::Utc::now(),
        how.lang,
        crate::new_decision_id(),
    )
    .map_err(Problem::from)?;
    let mut lines = Vec::new();
    if let Some(log) = log {
        push_line(&mut lines, rules, &decided, log);
    }
    let delivered = vec![Delivered::of(&decided.view, None)];
    let response = if how.text {
        let mut r = summary(&decided.view).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    } else {
        json(&decided.view, how.pretty)
    };
    Ok(Prepared {
        response,
        lines,
        delivered,
        batch: None,
    })
}

fn push_line(lines: &mut Vec<u8>, rules: &Rules, decided: &Decided, log: &Logged) {
    let line = decision_log::line(
        &decided.view,
        &decided.case,
        rules,
        log.request_id.as_deref(),
        log.batch_id.as_deref(),
    );
    lines.extend_from_slice(line.as_bytes());
    lines.push(b'\n');
}

/// A JSON response, indented on request.
pub fn json<T: Serialize>(value: &T, pretty: bool) -> Response {
    let body = if pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    };
    match body {
        Ok(bytes) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => Problem::internal().into_response(),
    }
}

/// The answer to a batch: one result per item, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    /// Unique id of this batch (also in the logs of each decision).
    #[schema(example = "0192f1c4-7a1e-7cc0-a6f5-3e1f5b2c9d0f")]
    pub batch_id: String,
    /// Decided items.
    pub succeeded: usize,
    /// Refused items.
    pub failed: usize,
    /// One result per item, in the order of `items`.
    pub results: Vec<BatchResult>,
}

/// One item's result: its `decision`, or the `problem` that kept it from one.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResult {
    /// 200 when the item was decided, or the item's error status (422).
    #[schema(example = 200)]
    pub status: u16,
    /// The item's decision, exactly as `POST /v1/decisions` would answer it; absent
    /// when the item was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub decision: Option<DecisionView>,
    /// Why the item was refused, its pointers starting with `/items/<index>`; absent
    /// when it was decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub problem: Option<Problem>,
}

/// Decides many cases in one call; a bad item never fails the others.
#[utoipa::path(
    post,
    path = "/v1/decisions/batch",
    tag = "decisions",
    request_body(content_type = "application/json", description = "`{\"items\": [case, ...]}`: each item is a decision request; up to the batch limit (default 5000)."),
    params(
        ("Accept-Language" = Option<String>, Header, description = "Language of the texts: zh-CN (default) or en."),
        OutputParams,
    ),
    responses((status = 200, description = "One result per item, in order.", body = BatchView)),
)]
pub async fn create_batch(
    State(state): State<AppState>,
    _: KnownLang,
    slot: Slot,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    JsonBytes(body): JsonBytes,
) -> Response {
    let loaded = state.rules();
    let how = negotiate(&headers, query.as_deref(), &loaded.rules);
    let log = state.decision_log().cloned();
    let batch_id = crate::new_decision_id();
    let logged = log.as_ref().map(|_| Logged {
        request_id: request_id(&headers),
        batch_id: Some(batch_id.clone()),
    });
    let limit = state.batch_limit();
    let working = slot.clone();
    let prepared = off_the_workers(move || {
        if !working.live() {
            return Err(working.timed_out().into());
        }
        let items = batch_items(&body, limit)?;
        decide_batch(
            &loaded.rules,
            &items,
            how,
            batch_id,
            logged.as_ref(),
            &working,
        )
    })
    .await;
    match prepared {
        Ok(prepared) => deliver(log.as_ref(), &slot, prepared).await,
        Err(Refused(answer)) => *answer,
    }
}

/// Decides the items in chunks, stopping as soon as the deadline has passed.
fn decide_batch(
    rules: &Rules,
    items: &[&RawValue],
    how: Negotiated,
    batch_id: String,
    log: Option<&Logged>,
    slot: &Slot,
) -> Result<Prepared, Refused> {
    let expired = || Refused::from(slot.timed_out());
    let mut results = Vec::with_capacity(items.len());
    let mut delivered = Vec::new();
    let mut lines = Vec::new();
    for (chunk, some) in items.chunks(CHUNK).enumerate() {
        if !slot.live() {
            return Err(expired());
        }
        for (k, item) in some.iter().enumerate() {
            let i = chunk * CHUNK + k;
            let decided = crate::decide_json(
                rules,
                item.get().as_bytes(),
                chrono::Utc::now(),
                how.lang,
                crate::new_decision_id(),
            );
            results.push(match decided {
                Ok(decided) => {
                    if let Some(log) = log {
                        push_line(&mut lines, rules, &decided, log);
                    }
                    delivered.push(Delivered::of(&decided.view, Some(&batch_id)));
                    BatchResult {
                        status: 200,
                        decision: Some(decided.view),
                        problem: None,
                    }
                }
                Err(e) => {
                    let problem = Problem::from(at_item(i, e));
                    BatchResult {
                        status: problem.status,
                        decision: None,
                        problem: Some(problem),
                    }
                }
            });
        }
    }
    if !slot.live() {
        return Err(expired());
    }
    let items = results.len();
    let view = BatchView {
        batch_id: batch_id.clone(),
        succeeded: delivered.len(),
        failed: items - delivered.len(),
        results,
    };
    Ok(Prepared {
        response: json(&view, how.pretty),
        lines,
        delivered,
        batch: Some((batch_id, items)),
    })
}

/// An item's errors, with pointers from the batch's root.
fn at_item(i: usize, e: RequestError) -> RequestError {
    RequestError {
        kind: e.kind,
        errors: e
            .errors
            .into_iter()
            .map(|f| FieldError {
                pointer: format!("/items/{i}{}", f.pointer),
                message: f.message,
            })
            .collect(),
    }
}

/// A batch body's items, each left as raw JSON to be decided on its own: 400 when the
/// body is not JSON or repeats a key, 422 when it is not `{"items": [...]}` (at most
/// `limit` of them).
fn batch_items(body: &[u8], limit: usize) -> Result<Vec<&RawValue>, Problem> {
    let invalid = |pointer: &str, message: String| {
        Problem::invalid(vec![FieldError {
            pointer: pointer.to_owned(),
            message,
        }])
    };
    let first = body.iter().find(|b| !b" \t\r\n".contains(b));
    if first != Some(&b'{') {
        serde_json::from_slice::<IgnoredAny>(body).map_err(Problem::malformed_json)?;
        return Err(invalid("", "must be an object: {\"items\": [...]}".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let fields = de
        .deserialize_map(Fields)
        .map_err(Problem::malformed_json)?;
    de.end().map_err(Problem::malformed_json)?;
    let mut items = None;
    for (key, value) in fields {
        let pointer = format!("/{}", key.replace('~', "~0").replace('/', "~1"));
        if key != "items" {
            return Err(invalid(
                &pointer,
                "is not a field of a batch: it takes only `items`".into(),
            ));
        }
        if items.replace(value).is_some() {
            return Err(Problem::from(RequestError {
                kind: RequestErrorKind::Malformed,
                errors: vec![FieldError {
                    pointer,
                    message: "is given more than once".into(),
                }],
            }));
        }
    }
    let Some(items) = items else {
        return Err(invalid(
            "/items",
            "is required: the decision requests to decide".into(),
        ));
    };
    if !items.get().starts_with('[') {
        return Err(invalid(
            "/items",
            "must be an array of decision requests".into(),
        ));
    }
    let mut de = serde_json::Deserializer::from_str(items.get());
    let (kept, count) = Items { limit }
        .deserialize(&mut de)
        .map_err(Problem::malformed_json)?;
    if count > limit {
        return Err(invalid(
            "/items",
            format!("has {count} items; at most {limit} are accepted per call"),
        ));
    }
    Ok(kept)
}

/// An object's keys with their raw values, in order, repeats included.
struct Fields;

impl<'de> Visitor<'de> for Fields {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            fields.push((key, map.next_value::<&RawValue>()?));
        }
        Ok(fields)
    }
}

/// An array's elements as raw JSON, the first `limit` kept, all counted.
struct Items {
    limit: usize,
}

impl<'de> DeserializeSeed<'de> for Items {
    type Value = (Vec<&'de RawValue>, usize);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items {
    type Value = (Vec<&'de RawValue>, usize);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut kept = Vec::new();
        let mut count = 0;
        loop {
            let more = if count < self.limit {
                seq.next_element::<&RawValue>()?.map(|item| kept.push(item))
            } else {
                seq.next_element::<IgnoredAny>()?.map(|_| ())
            };
            if more.is_none() {
                return Ok((kept, count));
            }
            count += 1;
        }
    }
}
