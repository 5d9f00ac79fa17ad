//! `POST /v1/decisions` and `POST /v1/decisions/batch`.
//!
//! Each runs in three steps. Decide: off the async workers (unless the body is small),
//! a batch in chunks that look at the deadline between them. Commit: the decision log
//! takes the lines (see [`crate::http::decision_log`]); from then on the answer is sent
//! whatever the clock says. Answer. A request answered 503 (past its deadline, or the log
//! cannot be written) leaves no decision-log line and counts no decision.

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserializer, Serialize};
use serde_json::value::RawValue;
use smallvec::SmallVec;
use tokio::sync::OwnedSemaphorePermit;
use utoipa::ToSchema;

use crate::codes::{Outcome, Scenario};
use crate::engine::{Case, Decision};
use crate::http::decision_log::{self, DecisionLog, NotWritten, Origin};
use crate::http::extract::{
    DECISION_PARAMS, Negotiated, OutputParams, ViewParams, json_body, negotiate, requested_view,
};
use crate::http::middleware::{DecisionFields, Exchange, Slot};
use crate::http::problem::Problem;
use crate::http::routes::checked_query;
use crate::http::state::{AppState, Loaded};
use crate::render::json::{pretty, write_decision};
use crate::render::{CompactDecisionView, DecisionView, View, decision_view, summary};
use crate::request::FieldError;
use crate::rules::Rules;
use crate::{RequestError, RequestErrorKind};

/// Bodies up to this size are decided on the async worker (well under a millisecond);
/// larger ones on the blocking pool, one of the few heavy jobs run at once (see
/// [`Slot::heavy_work`]).
const DECIDE_INLINE_UP_TO: usize = 8 * 1024;
/// Batch items decided between two looks at the deadline; also the unit a batch is
/// shared out in between threads, and the pieces its answer is sent in.
const CHUNK: usize = 32;
/// Room for one decision's JSON (the stalled example is 2.6 KB in Chinese).
const DECISION_BYTES: usize = 4096;

/// How to answer: texts' language and format, and which view.
#[derive(Debug, Clone, Copy)]
struct How {
    negotiated: Negotiated,
    view: View,
}

/// Decides one case.
#[utoipa::path(
    post,
    path = "/v1/decisions",
    tag = "decisions",
    request_body(content_type = "application/json", description = "One after-sales case. Times: RFC 3339, a local time in the policy's zone, or epoch milliseconds."),
    params(
        ("Accept-Language" = Option<String>, Header, description = "Language of the texts: zh-CN (default) or en."),
        OutputParams,
        ViewParams,
    ),
    responses(
        (status = 200, description = "The decision (`CompactDecisionView` with `?view=compact`). `Accept: text/plain` gives a short readable summary instead.",
            content((DecisionView = "application/json"), (String = "text/plain"))),
    ),
)]
pub fn create_decision(
    State(state): State<AppState>,
    mut asked: Asked,
) -> impl Future<Output = Response> {
    // A function returning an `async` block, not an `async fn`: its future (boxed for every
    // request, with [`Asked`]'s and [`deliver`]'s inside it) would hold `asked` twice.
    let log = state.decision_log().cloned();
    let rules = asked.loaded.clone();
    let slot = asked.slot.clone();
    let exchange = asked.exchange.take();
    async move {
        // In a block of its own: what was prepared is not kept beside its delivery.
        let delivering = {
            let prepared = if asked.body.len() <= DECIDE_INLINE_UP_TO {
                decide_single(
                    &asked.loaded.rules,
                    &asked.body,
                    asked.how,
                    asked.logged.as_ref(),
                )
            } else {
                // Boxed apart: its waits would otherwise enlarge every decision's future.
                Box::pin(decide_heavy(asked)).await
            };
            match prepared {
                Ok(prepared) => deliver(log.as_ref(), &slot, exchange, rules, prepared),
                Err(Refused(answer)) => return *answer,
            }
        };
        delivering.await
    }
}

/// A large body's decision: on the blocking pool, one of the few heavy jobs run at once,
/// its answer holding room in the answer budget.
async fn decide_heavy(asked: Asked) -> Result<Prepared, Refused> {
    let slot = asked.slot.clone();
    let heavy = slot.heavy_work().await;
    let prepared = off_the_workers(move || {
        // It may have waited for a thread past its deadline.
        if !asked.slot.live() {
            return Err(asked.slot.timed_out().into());
        }
        decide_single(
            &asked.loaded.rules,
            &asked.body,
            asked.how,
            asked.logged.as_ref(),
        )
    })
    .await;
    room_for_answer(&slot, prepared, heavy).await
}

/// What a decision route reads of its request, read in place (nothing of its head is
/// copied but the request id, and that only for the decision log). Refused in this
/// order: a query parameter it does not take, or given twice with different values (400),
/// an unknown `?lang=` (422; see [`checked_query`]), an `Accept` admitting none of the
/// types the endpoint answers in (406: JSON, or text unless `BATCH`), a body that is not
/// JSON (415, 413), an unknown `?view=` (422).
pub struct Asked<const BATCH: bool = false> {
    /// The rules the request is decided with, from start to end.
    loaded: Arc<Loaded>,
    how: How,
    slot: Slot,
    /// Where what was decided goes for the request's log line (none without the front).
    exchange: Option<Arc<Exchange>>,
    /// Where its decisions come from, when there is a decision log.
    logged: Option<Logged>,
    body: Bytes,
}

impl<const BATCH: bool> FromRequest<AppState> for Asked<BATCH> {
    type Rejection = Problem;

    /// Not an `async fn`, whose future (boxed with the handler's for every request) would
    /// hold the request twice, and the head's checks across the body's read: those are
    /// made now, the refusals that must wait for the body's boxed.
    fn from_request(
        req: Request,
        state: &AppState,
    ) -> impl Future<Output = Result<Asked<BATCH>, Problem>> + Send {
        let loaded = state.rules();
        // The query is read once, by its check; the rest read what the check kept. A
        // query refused is the answer, whatever the view or the `Accept`.
        let (negotiated, view, lang) =
            match checked_query(req.uri().query(), DECISION_PARAMS, &loaded.rules) {
                Ok(query) => {
                    let negotiated = negotiate(req.headers(), &query, &loaded.rules);
                    (negotiated, requested_view(&query).map_err(Box::new), Ok(()))
                }
                Err(refused) => (Negotiated::default(), Ok(View::Full), Err(refused)),
            };
        // A batch answers JSON only, and so does the compact view (the text view has no
        // compact form): `Accept` admits JSON, or the answer is a 406.
        let compact = matches!(view, Ok(View::Compact));
        let answers_text = !BATCH && !compact;
        let lang = lang
            .and_then(|()| match negotiated.unacceptable(answers_text) {
                Some(mut refused) => {
                    if compact {
                        refused.detail.push_str(
                            " The compact view (`?view=compact`) is JSON only: the text view has no compact form.",
                        );
                    }
                    Err(refused)
                }
                None => Ok(()),
            })
            .map_err(Box::new);
        let negotiated = Negotiated {
            text: negotiated.text && answers_text,
            ..negotiated
        };
        let logged = state.decision_log().map(|_| Logged {
            request_id: req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            batch_id: None,
        });
        let exchange = Exchange::current();
        let slot = Slot::current();
        let body = json_body(req, state);
        async move {
            lang.map_err(|refused| *refused)?;
            let body = body.await?;
            Ok(Asked {
                how: How {
                    negotiated,
                    view: view.map_err(|refused| *refused)?,
                },
                loaded,
                slot: slot?,
                exchange,
                logged,
                body,
            })
        }
    }
}

/// Where a decision came from, for the decision log.
struct Logged {
    request_id: Option<String>,
    batch_id: Option<String>,
}

impl Logged {
    fn origin(&self) -> Origin<'_> {
        Origin {
            request_id: self.request_id.as_deref(),
            batch_id: self.batch_id.as_deref(),
        }
    }
}

/// Decided, not yet delivered: the answer, the decision-log lines, what to count.
struct Prepared {
    response: Response,
    /// The answer's size, in bytes.
    answer_bytes: usize,
    /// One line per decision, each ending in a newline; empty without a decision log.
    lines: Vec<u8>,
    delivered: Delivered,
}

/// What is counted and logged of a request's decisions once they are delivered.
#[derive(Default)]
struct Delivered {
    /// Decisions by scenario and outcome (see [`pair`]), the pairs decided only: a
    /// request decides one pair or a few, and counting them should not walk all
    /// [`PAIRS`] (nor carry them from move to move).
    counts: SmallVec<[(usize, u64); 2]>,
    decisions: usize,
    /// The one decision of `POST /v1/decisions`.
    single: Option<Single>,
    /// A batch's id and its items.
    batch: Option<(String, usize)>,
}

/// Pairs of a scenario and an outcome.
const PAIRS: usize = Scenario::ALL.len() * Outcome::ALL.len();

/// A scenario's and an outcome's place among the [`PAIRS`].
fn pair(scenario: Scenario, outcome: Outcome) -> usize {
    scenario.index() * Outcome::ALL.len() + outcome.index()
}

/// `aftersales_decisions_total` of each pair, registered when it is first counted (the
/// `metrics` macro builds and hashes the labels on every call).
fn decisions_total(pair: usize) -> Option<metrics::Counter> {
    static COUNTERS: [OnceLock<metrics::Counter>; PAIRS] = [const { OnceLock::new() }; PAIRS];
    let scenario = Scenario::ALL.get(pair / Outcome::ALL.len())?;
    let outcome = Outcome::ALL.get(pair % Outcome::ALL.len())?;
    let counter = COUNTERS.get(pair)?.get_or_init(|| {
        metrics::counter!("aftersales_decisions_total", "scenario" => scenario.as_str(), "decision" => outcome.as_str())
    });
    Some(counter.clone())
}

struct Single {
    decision_id: String,
    case_id: Option<String>,
    scenario: Scenario,
    decision: Outcome,
    applies: bool,
}

impl Delivered {
    fn add(&mut self, d: &Decision) {
        self.count_pair(pair(d.scenario, d.outcome), 1);
        self.decisions += 1;
    }

    fn count_pair(&mut self, pair: usize, n: u64) {
        match self.counts.iter_mut().find(|(p, _)| *p == pair) {
            Some((_, count)) => *count += n,
            None => self.counts.push((pair, n)),
        }
    }

    fn merge(&mut self, other: Delivered) {
        for (pair, n) in other.counts {
            self.count_pair(pair, n);
        }
        self.decisions += other.decisions;
    }

    /// Counts the decisions; returns what the request decided (with `rules`), for its
    /// log line.
    fn count(self, rules: Arc<Loaded>) -> DecisionFields {
        for &(pair, n) in &self.counts {
            if let Some(counter) = decisions_total(pair) {
                counter.increment(n);
            }
        }
        let mut fields = DecisionFields {
            rules: Some(rules),
            ..DecisionFields::default()
        };
        if let Some(d) = self.single {
            fields.case_id = d.case_id.map(|c| match decision_log::shown(&c) {
                Cow::Borrowed(_) => c,
                Cow::Owned(shown) => shown,
            });
            fields.decision_id = Some(d.decision_id);
            fields.scenario = Some(d.scenario.as_str());
            fields.decision = Some(d.decision.as_str());
            fields.applies = Some(d.applies);
        }
        if let Some((batch_id, items)) = self.batch {
            fields.batch_id = Some(batch_id);
            fields.items = Some(items as u64);
            fields.succeeded = Some(self.decisions as u64);
        }
        fields
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

/// Commits (the log takes the lines, or the slot alone) and answers; what was decided
/// goes on the request's log line through `exchange` (none without the front).
///
/// The commit is begun here, and the future returned holds what `prepared` answers
/// once: an `async fn`'s future would hold it twice (as its argument and taken apart).
fn deliver<'a>(
    log: Option<&'a DecisionLog>,
    slot: &'a Slot,
    exchange: Option<Arc<Exchange>>,
    rules: Arc<Loaded>,
    prepared: Prepared,
) -> impl Future<Output = Response> + 'a {
    let Prepared {
        response,
        lines,
        delivered,
        ..
    } = prepared;
    // Boxed: only with a decision log, and the future returned is boxed for every request.
    let commit = match log {
        Some(log) if delivered.decisions > 0 => {
            Some(Box::pin(log.commit(lines, delivered.decisions, slot)))
        }
        _ => None,
    };
    async move {
        let committed = match commit {
            Some(commit) => commit.await,
            None if slot.commit() => Ok(()),
            None => Err(NotWritten::Expired),
        };
        if let Err(not_written) = committed {
            return not_written.problem(slot).into_response();
        }
        let decided = delivered.count(rules);
        if let Some(exchange) = exchange {
            exchange.decided(decided);
        }
        response
    }
}

/// One decision, made and rendered (JSON or text), with its log line.
fn decide_single(
    rules: &Rules,
    body: &[u8],
    how: How,
    log: Option<&Logged>,
) -> Result<Prepared, Refused> {
    let (case, decision) = crate::decide_body_at(rules, body, chrono::Utc::now)
        .map_err(|e| Problem::from(as_sent(e, body)))?;
    let decision_id = crate::new_decision_id();
    let mut lines = Vec::new();
    if let Some(log) = log {
        decision_log::push_line(
            &mut lines,
            rules,
            &decision_id,
            &case,
            &decision,
            log.origin(),
        );
    }
    let response = if how.negotiated.text {
        let view = decision_view(
            rules,
            &decision,
            case.case_id.clone(),
            decision_id.clone(),
            how.negotiated.lang,
        );
        let mut r = summary(&view, rules, how.negotiated.lang).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    } else {
        let mut out = Vec::with_capacity(DECISION_BYTES);
        write_one(&mut out, rules, &decision_id, &case, &decision, how);
        json_bytes(out, how.negotiated.pretty)
    };
    let answer_bytes = usize::try_from(response.body().size_hint().lower()).unwrap_or(usize::MAX);
    let mut delivered = Delivered::default();
    delivered.add(&decision);
    delivered.single = Some(Single {
        decision_id,
        case_id: case.case_id,
        scenario: decision.scenario,
        decision: decision.outcome,
        applies: decision.applies,
    });
    Ok(Prepared {
        response,
        answer_bytes,
        lines,
        delivered,
    })
}

/// A decision's JSON, in the view asked for.
fn write_one(
    out: &mut Vec<u8>,
    rules: &Rules,
    decision_id: &str,
    case: &Case,
    d: &Decision,
    how: How,
) {
    let lang = how.negotiated.lang;
    write_decision(
        out,
        rules,
        d,
        case.case_id.as_deref(),
        decision_id,
        lang,
        how.view,
    );
}

/// JSON bytes as a response, indented on request.
fn json_bytes(bytes: Vec<u8>, pretty_print: bool) -> Response {
    let bytes = if pretty_print { pretty(&bytes) } else { bytes };
    // Built directly: `(headers, Vec<u8>)` would set `application/octet-stream` first,
    // then replace it.
    let mut res = Response::new(Body::from(bytes));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
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
    /// Always `full`: this view (`CompactBatchView` says `compact`).
    pub view: View,
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

/// The answer to a batch with `?view=compact`: each decision without its texts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompactBatchView {
    /// Unique id of this batch (also in the logs of each decision).
    #[schema(example = "0192f1c4-7a1e-7cc0-a6f5-3e1f5b2c9d0f")]
    pub batch_id: String,
    /// Decided items.
    pub succeeded: usize,
    /// Refused items.
    pub failed: usize,
    /// Always `compact`: this view (`BatchView` says `full`).
    pub view: View,
    /// One result per item, in the order of `items`.
    pub results: Vec<CompactBatchResult>,
}

/// One item's result with `?view=compact`: its `decision`, or the `problem`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompactBatchResult {
    /// 200 when the item was decided, or the item's error status (422).
    #[schema(example = 200)]
    pub status: u16,
    /// The item's decision, as `POST /v1/decisions?view=compact` would answer it; absent
    /// when the item was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub decision: Option<CompactDecisionView>,
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
        ViewParams,
    ),
    responses((status = 200, description = "One result per item, in order (`CompactBatchView` with `?view=compact`).", body = BatchView)),
)]
pub async fn create_batch(State(state): State<AppState>, mut asked: Asked<true>) -> Response {
    let log = state.decision_log().cloned();
    let rules = asked.loaded.clone();
    let batch_id = crate::new_decision_id();
    if let Some(logged) = &mut asked.logged {
        logged.batch_id = Some(batch_id.clone());
    }
    let limit = state.batch_limit();
    let slot = asked.slot.clone();
    let exchange = asked.exchange.take();
    let heavy = slot.heavy_work().await;
    let prepared = off_the_workers(move || {
        if !asked.slot.live() {
            return Err(asked.slot.timed_out().into());
        }
        let items = batch_items(&asked.body, limit)?;
        decide_batch(
            &asked.loaded.rules,
            &asked.body,
            &items,
            asked.how,
            batch_id,
            asked.logged.as_ref(),
            &asked.slot,
        )
    })
    .await;
    match room_for_answer(&slot, prepared, heavy).await {
        Ok(prepared) => deliver(log.as_ref(), &slot, exchange, rules, prepared).await,
        Err(Refused(answer)) => *answer,
    }
}

/// Holds the turn at heavy work (`heavy`) until the answer has room in the answer
/// budget, then gives the turn back: the answer keeps its room until it has been sent.
async fn room_for_answer(
    slot: &Slot,
    prepared: Result<Prepared, Refused>,
    heavy: Option<OwnedSemaphorePermit>,
) -> Result<Prepared, Refused> {
    let mut prepared = prepared?;
    // The log lines too, which live until the log has written them.
    let bytes = prepared.answer_bytes.saturating_add(prepared.lines.len());
    let room = slot.answer_room(bytes).await;
    drop(heavy);
    if let Some(room) = room {
        let body = std::mem::take(prepared.response.body_mut());
        *prepared.response.body_mut() = Body::new(Holding { body, _room: room });
    }
    Ok(prepared)
}

/// A response body that holds `_room` until it is dropped (sent, or the caller gone).
struct Holding {
    body: Body,
    _room: OwnedSemaphorePermit,
}

impl http_body::Body for Holding {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A run of a batch's items, decided: their results (JSON, each followed by a comma
/// but the batch's last), their log lines, what to count.
#[derive(Default)]
struct Decided {
    results: Vec<u8>,
    lines: Vec<u8>,
    delivered: Delivered,
}

/// Decides the items on every core, a chunk at a time, stopping as soon as the deadline
/// has passed; the answer is sent chunk by chunk as it was written.
fn decide_batch(
    rules: &Rules,
    body: &[u8],
    items: &[&RawValue],
    how: How,
    batch_id: String,
    log: Option<&Logged>,
    slot: &Slot,
) -> Result<Prepared, Refused> {
    let chunks = items.len().div_ceil(CHUNK);
    let next = AtomicUsize::new(0);
    // Each thread takes the next chunk until none is left or the deadline passed.
    let work = || {
        let mut done = Vec::new();
        loop {
            let chunk = next.fetch_add(1, Ordering::Relaxed);
            if chunk >= chunks || !slot.live() {
                return done;
            }
            let first = chunk * CHUNK;
            let some = first..items.len().min(first + CHUNK);
            done.push((
                chunk,
                decide_chunk(rules, (body, items), some, how, &batch_id, log),
            ));
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(chunks);
    let mut done: Vec<(usize, Decided)> = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut done = work();
        for helper in helpers {
            // A panic in a helper is a panic here: caught above as a 500.
            match helper.join() {
                Ok(more) => done.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    });
    if !slot.live() || done.len() < chunks {
        return Err(slot.timed_out().into());
    }
    done.sort_unstable_by_key(|(chunk, _)| *chunk);
    let mut delivered = Delivered::default();
    let mut lines = Vec::new();
    let mut body = Vec::with_capacity(chunks + 2);
    for (_, d) in done {
        delivered.merge(d.delivered);
        if lines.is_empty() {
            lines = d.lines;
        } else {
            lines.extend_from_slice(&d.lines);
        }
        body.push(Bytes::from(d.results));
    }
    let failed = items.len() - delivered.decisions;
    let head = format!(
        "{{\"batch_id\":\"{batch_id}\",\"succeeded\":{},\"failed\":{failed},\"view\":\"{}\",\"results\":[",
        delivered.decisions,
        how.view.as_str()
    );
    body.insert(0, Bytes::from(head));
    body.push(Bytes::from_static(b"]}"));
    delivered.batch = Some((batch_id, items.len()));
    let answer_bytes = body.iter().map(Bytes::len).sum::<usize>();
    // Sent piece by piece, each freed once it is written to the socket.
    let response = if how.negotiated.pretty {
        json_bytes(body.concat(), true)
    } else {
        let pieces = futures_util::stream::iter(body.into_iter().map(Ok::<_, Infallible>));
        let mut r = Response::new(Body::from_stream(pieces));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(answer_bytes));
        r
    };
    Ok(Prepared {
        response,
        answer_bytes,
        lines,
        delivered,
    })
}

/// Decides one chunk of a batch: its items `chunk` of `items` (read from `body`).
fn decide_chunk(
    rules: &Rules,
    (body, items): (&[u8], &[&RawValue]),
    chunk: std::ops::Range<usize>,
    how: How,
    batch_id: &str,
    log: Option<&Logged>,
) -> Decided {
    let mut d = Decided {
        results: Vec::with_capacity(chunk.len() * DECISION_BYTES),
        ..Decided::default()
    };
    let now = chrono::Utc::now();
    let total = items.len();
    let mut lines = LineCursor::default();
    for i in chunk {
        let Some(item) = items.get(i) else { break };
        match crate::decide_body(rules, item.get().as_bytes(), now) {
            Ok((case, decision)) => {
                let decision_id = crate::new_decision_id();
                if let Some(log) = log {
                    let origin = Origin {
                        batch_id: Some(batch_id),
                        ..log.origin()
                    };
                    decision_log::push_line(
                        &mut d.lines,
                        rules,
                        &decision_id,
                        &case,
                        &decision,
                        origin,
                    );
                }
                d.results
                    .extend_from_slice(b"{\"status\":200,\"decision\":");
                write_one(&mut d.results, rules, &decision_id, &case, &decision, how);
                d.results.push(b'}');
                d.delivered.add(&decision);
            }
            Err(e) => {
                let e = as_sent(e, item.get().as_bytes());
                let problem = Problem::from(at_item(i, in_body(e, body, item, &mut lines)));
                let result = BatchResult {
                    status: problem.status,
                    decision: None,
                    problem: Some(problem),
                };
                // Strings and numbers only: this cannot fail.
                let _ = serde_json::to_writer(&mut d.results, &result);
            }
        }
        if i + 1 < total {
            d.results.push(b',');
        }
    }
    d
}

/// `e`, the numbers its messages quote as `body` has them (see
/// [`numbers_as_sent`](crate::request::json::numbers_as_sent)).
fn as_sent(mut e: RequestError, body: &[u8]) -> RequestError {
    crate::request::json::numbers_as_sent(&mut e.errors, body);
    e
}

/// An item's errors, the positions their messages give (`line 1, column 10`, counted
/// from the item's start) counted from the body's, where the caller finds them.
fn in_body(
    mut e: RequestError,
    body: &[u8],
    item: &RawValue,
    lines: &mut LineCursor,
) -> RequestError {
    // Only an unreadable item (a key given twice) says where it is.
    if !matches!(e.kind, RequestErrorKind::Malformed) {
        return e;
    }
    let offset = (item.get().as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
    let Some((lines, column)) = lines.at(body, offset) else {
        return e;
    };
    for error in &mut e.errors {
        error.message = rebased(&error.message, lines, column);
    }
    e
}

/// Lines of a body counted up to the last place asked for, carried forward: a chunk's
/// items come in the body's order, so the body is read once however many of its items
/// are placed (counting from the body's start for each was quadratic: 5,000 items each
/// with a key given twice, in a 1 MiB batch, took 2.4 s).
#[derive(Debug, Default)]
struct LineCursor {
    /// How far the body has been read.
    read: usize,
    /// Line breaks before `read`.
    lines: usize,
    /// Where the line holding `read` starts.
    line_start: usize,
}

impl LineCursor {
    /// The line breaks before `offset` in `body`, and its column (bytes from its line's
    /// start).
    fn at(&mut self, body: &[u8], offset: usize) -> Option<(usize, usize)> {
        if offset < self.read {
            *self = LineCursor::default();
        }
        let unread = body.get(self.read..offset)?;
        for (i, b) in unread.iter().enumerate() {
            if *b == b'\n' {
                self.lines += 1;
                self.line_start = self.read + i + 1;
            }
        }
        self.read = offset;
        Some((self.lines, offset - self.line_start))
    }
}

/// `message` with its first `line L, column C` (or serde's `line L column C`) moved by
/// `lines` lines, and by `columns` columns when on the first line.
fn rebased(message: &str, lines: usize, columns: usize) -> String {
    let number = |s: &str| -> Option<(usize, usize)> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        Some((s.get(..digits)?.parse().ok()?, digits))
    };
    let found = message.match_indices("line ").find_map(|(at, _)| {
        let from = at + "line ".len();
        let (line, digits) = number(&message[from..])?;
        let rest = &message[from + digits..];
        let sep = [", column ", " column "]
            .into_iter()
            .find(|sep| rest.starts_with(sep))?;
        let (column, digits2) = number(&rest[sep.len()..])?;
        Some((at, from + digits + sep.len() + digits2, line, column, sep))
    });
    let Some((start, end, line, column, sep)) = found else {
        return message.to_owned();
    };
    let column = if line == 1 { column + columns } else { column };
    format!(
        "{}line {}{sep}{column}{}",
        &message[..start],
        line + lines,
        &message[end..]
    )
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
/// `limit` of them). The body is read once: the items are found as it is checked.
fn batch_items(body: &[u8], limit: usize) -> Result<Vec<&RawValue>, Problem> {
    let first = body.iter().find(|b| !b" \t\r\n".contains(b));
    if first != Some(&b'{') {
        serde_json::from_slice::<IgnoredAny>(body).map_err(Problem::malformed_json)?;
        return Err(invalid("", "must be an object: {\"items\": [...]}".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let batch = de
        .deserialize_map(Batch { limit })
        .map_err(Problem::malformed_json)?;
    de.end().map_err(Problem::malformed_json)?;
    // Refused for the first field that is wrong, then for what `items` is.
    if let Some(problem) = batch.wrong_field {
        return Err(problem);
    }
    let Some(items) = batch.items else {
        return Err(invalid(
            "/items",
            "is required: the decision requests to decide".into(),
        ));
    };
    let Some((kept, count)) = items else {
        return Err(invalid(
            "/items",
            "must be an array of decision requests".into(),
        ));
    };
    if count > limit {
        return Err(invalid(
            "/items",
            format!("has {count} items; at most {limit} are accepted per call"),
        ));
    }
    Ok(kept)
}

/// A 422 naming the field at `pointer`.
fn invalid(pointer: &str, message: String) -> Problem {
    Problem::invalid(vec![FieldError::new(pointer, message)])
}

/// A batch object, read in one pass: its items (when `items` is an array, see [`Items`]),
/// and the first of its fields that is not a lone `items`.
struct Batch {
    limit: usize,
}

/// What [`Batch`] found.
struct BatchFound<'de> {
    /// `items`, if present: its items when it is an array.
    items: Option<Option<(Vec<&'de RawValue>, usize)>>,
    wrong_field: Option<Problem>,
}

impl<'de> Visitor<'de> for Batch {
    type Value = BatchFound<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = BatchFound {
            items: None,
            wrong_field: None,
        };
        while let Some(key) = map.next_key::<String>()? {
            let wrong = if key != "items" {
                Some(invalid(
                    &pointer_to(&key),
                    "is not a field of a batch: it takes only `items`".into(),
                ))
            } else if found.items.is_some() {
                Some(Problem::from(RequestError {
                    kind: RequestErrorKind::Malformed,
                    errors: vec![FieldError::new(pointer_to(&key), "is given more than once")],
                }))
            } else {
                None
            };
            match wrong {
                Some(problem) => {
                    map.next_value::<IgnoredAny>()?;
                    found.wrong_field.get_or_insert(problem);
                }
                None => found.items = Some(map.next_value_seed(Items { limit: self.limit })?),
            }
        }
        Ok(found)
    }
}

/// The JSON pointer to a top-level field.
fn pointer_to(key: &str) -> String {
    let mut pointer = String::new();
    crate::request::json::push_key(&mut pointer, key);
    pointer
}

/// An array's elements as raw JSON, the first `limit` kept, all counted; `None` for a
/// value that is not an array.
struct Items {
    limit: usize,
}

impl<'de> DeserializeSeed<'de> for Items {
    type Value = Option<(Vec<&'de RawValue>, usize)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items {
    type Value = Option<(Vec<&'de RawValue>, usize)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
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
                return Ok(Some((kept, count)));
            }
            count += 1;
        }
    }

    // Anything else is read through and is not an array.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_cursor_places_as_counting_from_the_start_does_in_any_order() {
        let body = b"{\"items\": [\n  {\"a\": 1},\n\n  {\"b\": 2}, {\"c\": 3}\n]}";
        let counted = |offset: usize| {
            let before = &body[..offset];
            let lines = before.iter().filter(|b| **b == b'\n').count();
            let start = before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            (lines, offset - start)
        };
        let mut cursor = LineCursor::default();
        // In order (as a chunk's items come), then back (a cursor reused), then past the end.
        for offset in [0, 5, 13, 14, 27, 35, body.len(), 3, 30] {
            assert_eq!(cursor.at(body, offset), Some(counted(offset)), "{offset}");
        }
        assert_eq!(cursor.at(body, body.len() + 1), None);
    }

    #[test]
    fn positions_in_an_item_are_counted_from_the_body() {
        assert_eq!(
            rebased("appears twice (line 1, column 10): once", 1, 2),
            "appears twice (line 2, column 12): once"
        );
        assert_eq!(rebased("at line 3 column 4", 2, 7), "at line 5 column 4");
        assert_eq!(rebased("no place", 2, 7), "no place");
        assert_eq!(rebased("a line of 3", 2, 7), "a line of 3");
    }

    #[test]
    fn the_pairs_counted_are_the_pairs_decided() {
        let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        let (mut one, mut other) = (Delivered::default(), Delivered::default());
        for (i, example) in [
            include_str!("../../../tests/fixtures/examples/01-not-shipped-binjiang.json"),
            include_str!("../../../tests/fixtures/examples/03-stalled-shangcheng.json"),
            include_str!("../../../tests/fixtures/examples/04-rejected.json"),
            include_str!("../../../tests/fixtures/examples/06-return-received.json"),
            include_str!("../../../tests/fixtures/examples/03-stalled-shangcheng.json"),
        ]
        .into_iter()
        .enumerate()
        {
            let v: serde_json::Value = serde_json::from_str(example).unwrap_or_default();
            let body = serde_json::to_vec(&v["request"]).unwrap_or_default();
            let (_, d) = crate::decide_body(&rules, &body, chrono::Utc::now())
                .unwrap_or_else(|e| panic!("{e:?}"));
            if i % 2 == 0 { &mut one } else { &mut other }.add(&d);
        }
        one.merge(other);
        assert_eq!(one.decisions, 5);
        let stalled = pair(Scenario::Stalled, Outcome::InterceptAndRefund);
        let mut counts = one.counts.to_vec();
        counts.sort_unstable();
        assert_eq!(counts.len(), 4, "{counts:?}");
        assert_eq!(counts.iter().map(|(_, n)| n).sum::<u64>(), 5);
        assert!(counts.contains(&(stalled, 2)), "{counts:?}");
        assert!(counts.windows(2).all(|w| w[0].0 < w[1].0), "{counts:?}");
    }
}
