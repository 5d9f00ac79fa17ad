//! For the platform: liveness, readiness, metrics, and the API description.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::problem::Problem;
use crate::http::routes::decisions::json;
use crate::http::state::AppState;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready`.
    pub status: String,
    /// The version of the rules in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_version: Option<String>,
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive.", body = Health)))]
pub async fn healthz() -> Response {
    json(
        &Health {
            status: "ok".into(),
            rules_version: None,
        },
        false,
    )
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
            status: "ready".into(),
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
    responses((status = 200, description = "The OpenAPI 3.1 description of this API (this document).", body = serde_json::Value, content_type = "application/yaml")),
)]
pub async fn openapi_yaml(State(state): State<AppState>) -> Response {
    let mut r = state.openapi_yaml().to_owned().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    r
}
