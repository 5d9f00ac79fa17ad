//! `POST /v1/decisions` and `POST /v1/decisions/batch`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::extract::{JsonBytes, Negotiated, OutputParams, negotiate};
use crate::http::problem::Problem;
use crate::http::routes::KnownLang;
use crate::http::state::AppState;
use crate::render::{DecisionView, summary};
use crate::request::FieldError;
use crate::rules::Rules;

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
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    JsonBytes(body): JsonBytes,
) -> Response {
    let loaded = state.rules();
    let how = negotiate(&headers, query.as_deref(), &loaded.rules);
    let log = state.decision_log().map(|_| Logged {
        request_id: request_id(&headers),
        batch_id: None,
    });
    let decided = crate::decide_json(
        &loaded.rules,
        &body,
        chrono::Utc::now(),
        how.lang,
        crate::new_decision_id(),
    );
    let view = match decided {
        Ok(decided) => {
            let (view, line) = record(&loaded.rules, decided, log.as_ref());
            if let (Some(log), Some(line)) = (state.decision_log(), line) {
                log.write(line).await;
            }
            view
        }
        Err(e) => return Problem::from(e).into_response(),
    };
    if !how.text {
        return json(&view, how.pretty);
    }
    let mut r = summary(&view).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
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

/// Decides, counts and logs one batch item; with `log`, also makes its decision-log line.
fn decide_one(
    rules: &Rules,
    body: &Value,
    how: Negotiated,
    log: Option<&Logged>,
) -> Result<(DecisionView, Option<String>), Vec<FieldError>> {
    let id = crate::new_decision_id();
    let decided = crate::decide_request(rules, body, chrono::Utc::now(), how.lang, id)?;
    Ok(record(rules, decided, log))
}

/// Counts and logs a decision; with `log`, also makes its decision-log line.
fn record(
    rules: &Rules,
    decided: crate::Decided,
    log: Option<&Logged>,
) -> (DecisionView, Option<String>) {
    let batch_id = log.and_then(|l| l.batch_id.as_deref());
    let v = &decided.view;
    metrics::counter!("aftersales_decisions_total", "scenario" => v.scenario.as_str(), "decision" => v.decision.as_str()).increment(1);
    tracing::info!(
        decision_id = %v.decision_id,
        batch_id,
        case_id = v.case_id.as_deref(),
        rules_version = %v.rules_version,
        scenario = %v.scenario,
        decision = %v.decision,
        applies = v.applies,
        "decided"
    );
    let line = log.map(|l| {
        crate::http::decision_log::line(
            v,
            &decided.case,
            rules,
            l.request_id.as_deref(),
            l.batch_id.as_deref(),
        )
    });
    (decided.view, line)
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
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    JsonBytes(body): JsonBytes,
) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Problem::malformed_json(e).into_response(),
    };
    let limit = state.batch_limit();
    let items = match body.get("items") {
        Some(Value::Array(items)) if items.len() <= limit => items.clone(),
        Some(Value::Array(items)) => {
            return Problem::invalid(vec![FieldError {
                pointer: "/items".into(),
                message: format!(
                    "has {} items; at most {limit} are accepted per call",
                    items.len()
                ),
            }])
            .into_response();
        }
        Some(_) => {
            return Problem::invalid(vec![FieldError {
                pointer: "/items".into(),
                message: "must be an array of decision requests".into(),
            }])
            .into_response();
        }
        None if !body.is_object() => {
            return Problem::invalid(vec![FieldError {
                pointer: String::new(),
                message: "must be an object: {\"items\": [...]}".into(),
            }])
            .into_response();
        }
        None => {
            return Problem::invalid(vec![FieldError {
                pointer: "/items".into(),
                message: "is required: the decision requests to decide".into(),
            }])
            .into_response();
        }
    };
    let loaded = state.rules();
    let how = negotiate(&headers, query.as_deref(), &loaded.rules);
    let batch_id = crate::new_decision_id();
    // Thousands of decisions are milliseconds of CPU: keep them off the async workers.
    let log = state.decision_log().cloned();
    let logged = log.as_ref().map(|_| Logged {
        request_id: request_id(&headers),
        batch_id: Some(batch_id.clone()),
    });
    let decided = tokio::task::spawn_blocking(move || {
        items
            .iter()
            .enumerate()
            .map(
                |(i, item)| match decide_one(&loaded.rules, item, how, logged.as_ref()) {
                    Ok((view, line)) => {
                        if let (Some(log), Some(line)) = (&log, line) {
                            log.blocking_write(line);
                        }
                        BatchResult {
                            status: 200,
                            decision: Some(view),
                            problem: None,
                        }
                    }
                    Err(errors) => {
                        let errors = errors
                            .into_iter()
                            .map(|e| FieldError {
                                pointer: format!("/items/{i}{}", e.pointer),
                                message: e.message,
                            })
                            .collect();
                        BatchResult {
                            status: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
                            decision: None,
                            problem: Some(Problem::invalid(errors)),
                        }
                    }
                },
            )
            .collect::<Vec<_>>()
    })
    .await;
    let Ok(results) = decided else {
        return Problem::internal().into_response();
    };
    let succeeded = results.iter().filter(|r| r.status == 200).count();
    tracing::info!(batch_id = %batch_id, items = results.len(), succeeded, "batch decided");
    json(
        &BatchView {
            batch_id,
            succeeded,
            failed: results.len() - succeeded,
            results,
        },
        how.pretty,
    )
}
