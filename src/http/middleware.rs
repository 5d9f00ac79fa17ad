//! Every layer, assembled in one place and in an order you can read.
//!
//! Outermost first, for every request:
//! 1. request id: a caller's `x-request-id` kept if it is 1 to 128 visible ASCII
//!    characters, else one made (UUIDv7), so every log line has a bounded one;
//! 2. trace span (method, path, request id; the matched route is recorded inside);
//! 3. request id echoed on the response;
//! 4. metrics by matched route and status, and the latency histogram;
//! 5. response compression (gzip, when asked for);
//! 6. panics caught and answered 500 problem+json (they must never happen);
//! 7. any bare error status from routing or a layer turned into problem+json;
//! 8. body limit for the extractors.
//!
//! And on `/v1/*` only, outermost first: the bearer-token check, then load shedding over
//! one concurrency limit shared by all `/v1` routes (503 + Retry-After at once instead of
//! an unbounded queue), then the request timeout (503). Probes and metrics stay outside
//! both, so an overloaded replica is not also killed by its liveness probe.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::field::Empty;

use super::problem::{PROBLEM_JSON, Problem};
use super::state::AppState;

/// Limits of the `/v1` routes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub concurrency: usize,
    pub timeout: Duration,
    pub body: usize,
}

/// The matched route, passed out to the metrics layer.
#[derive(Clone)]
struct RouteLabel(String);

#[derive(Clone, Copy)]
struct MakeUuidV7;

impl MakeRequestId for MakeUuidV7 {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's request id is kept only when it is 1 to 128 visible ASCII characters
/// (0x21 to 0x7E), sent once.
pub fn acceptable_request_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// Drops an unacceptable `x-request-id`, so the next layer makes one.
async fn screen_request_id(mut req: Request, next: Next) -> Response {
    let mut ids = req.headers().get_all(X_REQUEST_ID).iter();
    let keep = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => acceptable_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !keep {
        req.headers_mut().remove(X_REQUEST_ID);
    }
    next.run(req).await
}

/// Wraps the `/v1` routes: auth, then load shedding and the concurrency limit, then the timeout.
pub fn api_layers(api: Router<AppState>, state: &AppState, limits: Limits) -> Router<AppState> {
    api.route_layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                Problem::unavailable(
                    "overloaded",
                    "The service is busy",
                    "Too many requests are being served right now; try again shortly.",
                    1,
                )
            }))
            .load_shed()
            .layer(GlobalConcurrencyLimitLayer::new(limits.concurrency))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                limits.timeout,
            )),
    )
    .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
}

/// Wraps the whole application.
pub fn app_layers(app: Router<AppState>, limits: Limits) -> Router<AppState> {
    app.route_layer(middleware::from_fn(label_route)).layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(screen_request_id))
            .layer(SetRequestIdLayer::x_request_id(MakeUuidV7))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request| {
                        let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id, route = Empty)
                    })
                    .on_request(())
                    .on_response(|res: &Response, latency: Duration, _: &tracing::Span| {
                        tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "served");
                    }),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(middleware::from_fn(track_metrics))
            .layer(CompressionLayer::new())
            .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a handler panicked");
                Problem::internal().into_response()
            }))
            .layer(middleware::from_fn(problem_for_bare_errors))
            .layer(DefaultBodyLimit::max(limits.body)),
    )
}

/// Inside the router: names the matched route for the span and the metrics.
async fn label_route(matched: MatchedPath, req: Request, next: Next) -> Response {
    let route = matched.as_str().to_owned();
    tracing::Span::current().record("route", route.as_str());
    let mut res = next.run(req).await;
    res.extensions_mut().insert(RouteLabel(route));
    res
}

async fn track_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let res = next.run(req).await;
    let route = res
        .extensions()
        .get::<RouteLabel>()
        .map_or_else(|| "unmatched".to_owned(), |r| r.0.clone());
    let status = res.status().as_u16().to_string();
    metrics::counter!("aftersales_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("aftersales_http_request_duration_seconds", "method" => method, "route" => route).record(start.elapsed().as_secs_f64());
    res
}

/// Error statuses made without a problem body (404, 405, a layer's 503 or 413) get one;
/// their headers (Allow, Retry-After) stay.
async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let (mut parts, _) = res.into_parts();
    let problem = Problem::for_status(status, &path).into_response();
    let (problem_parts, body) = problem.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &problem_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, Body::new(body))
}

/// `/v1/*` needs a valid bearer token when tokens are configured.
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.auth_enabled() {
        return next.run(req).await;
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match token {
        Some(t) if state.token_ok(t) => next.run(req).await,
        _ => Problem::unauthorized().into_response(),
    }
}
