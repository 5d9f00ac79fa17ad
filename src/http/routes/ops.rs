//! For the platform: liveness, readiness, metrics, and the API description.

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::codes::HealthStatus;
use crate::http::extract::negotiate;
use crate::http::problem::Problem;
use crate::http::routes::decisions::json;
use crate::http::state::AppState;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// What the probe found.
    pub status: HealthStatus,
    /// The version of the rules in force (`/readyz` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    #[schema(example = "2023-hangzhou-1")]
    pub rules_version: Option<String>,
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive.", body = Health)))]
pub async fn healthz() -> Response {
    // The same answer every time: serialised once.
    static ALIVE: LazyLock<Vec<u8>> = LazyLock::new(|| {
        serde_json::to_vec(&Health {
            status: HealthStatus::Ok,
            rules_version: None,
        })
        .unwrap_or_default()
    });
    let alive: &'static [u8] = &ALIVE;
    // Built directly: `(headers, &[u8])` would set `application/octet-stream` first, then
    // replace it.
    let mut res = Response::new(Body::from(alive));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// Ready: rules loaded, not shutting down, and the decision log (if any) writable.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses((status = 200, description = "Ready to serve.", body = Health)),
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if !state.ready() {
        return Problem::unavailable(
            "draining",
            "Shutting down",
            "The server is draining before it stops; send new requests elsewhere.",
            5,
        )
        .into_response();
    }
    if state.decision_log().is_some_and(|log| !log.writable()) {
        return crate::http::decision_log::unavailable().into_response();
    }
    let version = state.rules().rules.version.clone();
    json(
        &Health {
            status: HealthStatus::Ready,
            rules_version: Some(version),
        },
        false,
    )
}

/// Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Requests by route and status, latency histogram, decisions by scenario and decision.", body = String, content_type = "text/plain")),
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut r = state.metrics().render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// This API, as OpenAPI 3.1.
#[utoipa::path(
    get,
    path = "/openapi.yaml",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 description of this API (this document), as `application/yaml`; as `text/plain` when the request's `Accept` prefers it (a browser then shows it instead of downloading it).",
        content((Object = "application/yaml"), (String = "text/plain")))),
)]
pub async fn openapi_yaml(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let as_text = negotiate(
        &headers,
        &crate::http::extract::Query::none(),
        &state.rules().rules,
    )
    .text;
    let mut r = state.openapi_yaml().to_owned().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if as_text {
            "text/plain; charset=utf-8"
        } else {
            "application/yaml"
        }),
    );
    r
}
