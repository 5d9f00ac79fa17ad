//! The HTTP shell: the contract over axum. Handlers are thin; the engine decides.

pub mod auth;
pub mod decision_log;
pub mod extract;
pub mod framing;
pub mod guards;
pub mod middleware;
pub mod openapi;
pub mod problem;
pub mod reload;
pub mod routes;
pub mod serve;
pub mod state;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Either};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tower::Service;
use utoipa::Path;

use crate::cli::ServeArgs;
use crate::rules::Rules;
use middleware::{Layers, Limits};
use problem::Problem;
use state::{AppState, StateConfig};

/// The least the final flush of the decision log is given, even when the grace period is
/// over: a healthy writer takes milliseconds, and a write that has not returned after
/// this long counts as stuck (as `/readyz` sees it).
const FLUSH_AT_LEAST: Duration = Duration::from_secs(1);
/// How long, at exit, the tokio runtime waits for work on its blocking threads (a write
/// of the decision log that has not returned is abandoned, not waited for).
const RUNTIME_EXIT_WAIT: Duration = Duration::from_secs(1);
/// How long, at exit, the service log's last lines may take to reach stderr.
const LOG_EXIT_WAIT: Duration = Duration::from_secs(2);

/// The latency histogram's buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The process-wide metrics recorder (the `metrics` macros need a global one).
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("aftersales_http_request_duration_seconds".into()),
                    &LATENCY_BUCKETS,
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_ok() {
                counters_at_zero();
            }
            handle
        })
        .clone()
}

/// The counters README lists, each with every label of a closed set, shown at 0 from the
/// start, so an alert on them has a series to watch before their first event.
/// (`aftersales_decisions_total{scenario,decision}` is left to get its series as decisions
/// come: not every pair of its labels can happen.)
fn counters_at_zero() {
    for counter in [
        "aftersales_log_lines_dropped_total",
        "aftersales_connections_evicted_total",
        "aftersales_accept_errors_total",
        "aftersales_decision_log_records_total",
        "aftersales_decision_log_errors_total",
        "aftersales_decision_log_late_total",
        "aftersales_decision_log_torn_total",
        "aftersales_decision_log_reopen_errors_total",
    ] {
        metrics::counter!(counter).increment(0);
    }
    for kind in ["too_large", "malformed"] {
        metrics::counter!("aftersales_http_parse_errors_total", "kind" => kind).increment(0);
    }
    for result in ["ok", "error"] {
        metrics::counter!("aftersales_rules_reloads_total", "result" => result).increment(0);
        metrics::counter!("aftersales_api_token_reloads_total", "result" => result).increment(0);
    }
    for reason in serve::CUT_REASONS {
        metrics::counter!("aftersales_responses_cut_total", "reason" => reason).increment(0);
    }
    // The gauges too (moved, never set, by what they count).
    metrics::gauge!("aftersales_connections_open").increment(0.0);
    metrics::gauge!("aftersales_rules_reload_failing").increment(0.0);
    metrics::gauge!("aftersales_decision_log_failing").increment(0.0);
}

/// The application: routes, state and every layer, put around each handler and fallback
/// (see [`Layers`]).
pub fn app(state: AppState, limits: Limits) -> Router {
    router(&state, &Layers::new(&state, limits))
}

fn router(state: &AppState, layers: &Layers) -> Router {
    let (api, _) = openapi::api_router(Some(layers)).split_for_parts();
    let (ops, _) = openapi::ops_router(Some(layers)).split_for_parts();
    Router::new()
        .merge(api)
        .merge(ops)
        .fallback(not_found.layer(layers.fallback()))
        .method_not_allowed_fallback(method_not_allowed.layer(layers.fallback()))
        .with_state(state.clone())
}

/// The application as the server calls it: [`app`], and its two busiest routes
/// (`POST /v1/decisions`, `GET /healthz`) called directly, their handlers behind the same
/// layers (the same meters, slots and budgets). Through the router, a request is matched
/// (a tree walked, a map looked up), given the route's path and its (no) parameters as
/// two extensions (a map and three allocations, made and dropped), and its route cloned
/// into a box: 2.4k instructions of a `/healthz` (14.9k) and 2.5k of a decision (50.9k),
/// through the real server. Any other method or path (`HEAD /healthz`, `/healthz/`) goes
/// through the router; an answer called directly is sent as the router's is (see
/// [`Routes::call`]).
#[derive(Clone)]
pub struct Routes {
    router: Router,
    direct: Arc<[Direct]>,
}

/// A route called directly: its method, its path, and its handler behind its layers.
struct Direct {
    method: axum::http::Method,
    path: String,
    call: Box<dyn Fn(Request) -> BoxFuture<'static, Answered> + Send + Sync>,
}

/// An answer, as every layer gives it.
type Answered = Result<Response, std::convert::Infallible>;

impl Direct {
    /// `service`, called for the one method and the path the route `P` declares (as
    /// `openapi.yaml` describes it), or `None` when `P` declares other than one method
    /// (the route is then left to the router).
    fn new<P, S>(service: S) -> Option<Direct>
    where
        P: Path,
        S: Service<
                Request,
                Response = Response,
                Error = std::convert::Infallible,
                Future = BoxFuture<'static, Answered>,
            > + Clone
            + Send
            + Sync
            + 'static,
    {
        let method = match P::methods().as_slice() {
            [one] => method_of(one)?,
            _ => return None,
        };
        Some(Direct {
            method,
            path: P::path(),
            // Every layer is always ready (none holds requests back in `poll_ready`).
            call: Box::new(move |req| service.clone().call(req)),
        })
    }
}

/// The HTTP method an OpenAPI operation is declared for.
fn method_of(method: &utoipa::openapi::path::HttpMethod) -> Option<axum::http::Method> {
    use axum::http::Method;
    use utoipa::openapi::path::HttpMethod;
    Some(match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    })
}

impl From<Router> for Routes {
    /// `router` alone, nothing called directly.
    fn from(router: Router) -> Routes {
        Routes {
            router,
            direct: Arc::new([]),
        }
    }
}

impl Routes {
    /// [`app`], with its busiest routes called directly.
    pub fn new(state: &AppState, limits: Limits) -> Routes {
        use routes::decisions::{__path_create_decision as Decisions, create_decision};
        use routes::ops::{__path_healthz as Healthz, healthz};
        let layers = Layers::new(state, limits);
        let direct = [
            Direct::new::<Decisions, _>(tower::Layer::layer(
                &layers.api(&Decisions::path()),
                create_decision.with_state(state.clone()),
            )),
            Direct::new::<Healthz, _>(tower::Layer::layer(
                &layers.every(&Healthz::path()),
                healthz.with_state(state.clone()),
            )),
        ];
        Routes {
            router: router(state, &layers),
            direct: direct.into_iter().flatten().collect(),
        }
    }

    /// The router (every route through it).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Answers `req`: through its route called directly, or through the router.
    ///
    /// An answer called directly gets what axum's router adds to the answer of a route
    /// called for its own method (neither `HEAD` nor `CONNECT`): a `Content-Length`, when
    /// its body's size is known and none was set. (Left to hyper, it would be written
    /// after a `connection: close` hyper adds, not before.)
    pub fn call<B>(&self, req: axum::http::Request<B>) -> impl Future<Output = Answered> + use<B>
    where
        B: http_body::Body<Data = axum::body::Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        let direct = self
            .direct
            .iter()
            .find(|d| d.method == req.method() && d.path == req.uri().path());
        match direct {
            Some(direct) => {
                let with_length: fn(Answered) -> Answered = |res| res.map(with_content_length);
                Either::Left((direct.call)(req.map(axum::body::Body::new)).map(with_length))
            }
            None => Either::Right(tower::ServiceExt::oneshot(self.router.clone(), req)),
        }
    }
}

/// `res` with its `Content-Length`, as axum's router sets it (its text copied once:
/// `HeaderValue::from(u64)` takes two allocations).
fn with_content_length(mut res: Response) -> Response {
    use axum::http::{HeaderValue, header::CONTENT_LENGTH};
    if res.headers().contains_key(CONTENT_LENGTH) {
        return res;
    }
    let length = match http_body::Body::size_hint(res.body()).exact() {
        Some(0) => Some(HeaderValue::from_static("0")),
        Some(size) => HeaderValue::from_str(itoa::Buffer::new().format(size)).ok(),
        None => None,
    };
    if let Some(length) = length {
        res.headers_mut().insert(CONTENT_LENGTH, length);
    }
    res
}

/// No route has the request's path. Under `/v1`, a caller without a valid token is
/// told only that (401), not which paths exist.
async fn not_found(State(state): State<AppState>, req: Request) -> Problem {
    if let Some(refused) = unauthorized_under_v1(&state, &req) {
        return refused;
    }
    Problem::for_status(axum::http::StatusCode::NOT_FOUND, req.uri().path())
}

/// A route has the request's path, not its method. Under `/v1`, a caller without a
/// valid token is told only that (401), not which methods a route takes.
async fn method_not_allowed(State(state): State<AppState>, req: Request) -> Response {
    if let Some(refused) = unauthorized_under_v1(&state, &req) {
        return refused.into_response();
    }
    Problem::for_status(axum::http::StatusCode::METHOD_NOT_ALLOWED, req.uri().path())
        .into_response()
}

/// 401 for a request to `/v1` or a path under it without a valid token (when tokens are
/// configured): every `/v1` answer but that one needs a token, so that the routes and
/// methods cannot be mapped without one. Probes, `/metrics` and `/openapi.yaml` stay open.
fn unauthorized_under_v1(state: &AppState, req: &Request) -> Option<Problem> {
    let path = req.uri().path();
    let under_v1 = path == "/v1" || path.starts_with("/v1/");
    (under_v1 && !auth::authorized(state, req.headers())).then(Problem::unauthorized)
}

/// Why the server cannot start.
#[derive(Debug)]
pub enum StartError {
    /// The listen address cannot be bound.
    Listen { addr: SocketAddr, source: io::Error },
    /// The decision log cannot be opened.
    DecisionLog { target: String, source: io::Error },
    /// The API token settings yield no token, or cannot be read (fail closed).
    Tokens(auth::TokenError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Listen { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            StartError::DecisionLog { target, source } => {
                write!(f, "cannot open the decision log `{target}`: {source}")
            }
            StartError::Tokens(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Listen { source, .. } | StartError::DecisionLog { source, .. } => {
                Some(source)
            }
            StartError::Tokens(e) => Some(e),
        }
    }
}

/// A bound server, not yet serving.
pub struct Server {
    listener: TcpListener,
    routes: Routes,
    state: AppState,
    drain: Duration,
    grace: Duration,
    rules_path: Option<PathBuf>,
    connections: serve::Options,
}

impl Server {
    /// Opens the decision log, binds `args.listen` and builds the app around `rules`;
    /// `rules_path`, when given, is reloaded on SIGHUP and on change.
    pub async fn bind(
        rules: Rules,
        rules_path: Option<PathBuf>,
        args: &ServeArgs,
    ) -> Result<Server, StartError> {
        // Before anything else: a token setting that yields no token must stop the
        // service, never serve /v1 without authentication.
        let tokens = auth::from_args(args).map_err(StartError::Tokens)?;
        // The recorder before the decision log, whose metrics start at 0 when it opens.
        let metrics = prometheus();
        let decision_log = match &args.decision_log {
            Some(target) => Some(
                decision_log::DecisionLog::open(target, args.decision_log_buffer)
                    .await
                    .map_err(|source| StartError::DecisionLog {
                        target: target.clone(),
                        source,
                    })?,
            ),
            None => None,
        };
        let listener =
            TcpListener::bind(args.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: args.listen,
                    source,
                })?;
        // Built now, not on the first request.
        crate::gazetteer();
        let state = AppState::new(
            rules,
            StateConfig {
                tokens,
                body_limit: args.body_limit,
                batch_limit: args.batch_limit,
                decision_log,
            },
            metrics,
            openapi::yaml(),
        );
        if let Some(path) = &args.api_tokens_file {
            auth::reload_on_hangup(&state, path.clone());
        }
        if let Some(log) = state.decision_log() {
            log.reopen_on(state.hangups());
        }
        let open_files = serve::open_files_limit();
        let connections = serve::Options {
            max_connections: serve::max_connections(args.max_connections, open_files),
            // hyper adds it to an Instant: a day at most, so that cannot overflow.
            header_read_timeout: Duration::from_secs(args.header_read_timeout.clamp(1, 86_400)),
        };
        Ok(Server {
            listener,
            routes: Routes::new(&state, Limits::from_args(args)),
            state,
            drain: Duration::from_secs(args.drain_seconds),
            grace: Duration::from_secs(args.grace_seconds),
            rules_path,
            connections,
        })
    }

    /// Where it listens (the real port when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The application's router, for driving it in process: every route through it, also
    /// the two the server calls directly (see [`Server::routes`]).
    pub fn router(&self) -> Router {
        self.routes.router()
    }

    /// The application as the server calls it (its busiest routes past the router), for
    /// driving it in process as it is served: what a benchmark of the serving path calls.
    pub fn routes(&self) -> Routes {
        self.routes.clone()
    }

    /// The shared state (for reload and tests).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// At most this many connections are open at once.
    pub fn max_connections(&self) -> usize {
        self.connections.max_connections
    }

    /// Serves until `shutdown` completes, then: /readyz turns 503 at once, requests are
    /// still served for the drain delay, then the listener closes and in-flight
    /// requests get the grace period to finish; the decision log is flushed last, waiting
    /// for what is left of the grace period (at least [`FLUSH_AT_LEAST`]). An error when
    /// lines were not confirmed written by then (a write that does not return).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let Server {
            listener,
            routes,
            state,
            drain,
            grace,
            rules_path,
            connections,
        } = self;
        #[cfg(unix)]
        {
            let state = state.clone();
            tokio::spawn(async move {
                let kind = tokio::signal::unix::SignalKind::hangup();
                let Ok(mut hup) = tokio::signal::unix::signal(kind) else {
                    tracing::warn!("cannot listen for SIGHUP; files are not re-read on hangup");
                    return;
                };
                reload::replay_early_hangup(&state);
                while hup.recv().await.is_some() {
                    state.hangup();
                }
            });
        }
        // Kept alive while serving: dropping the watcher stops the watch.
        let _watcher = rules_path.map(|path| reload::Reloader::new(path, state.clone()).spawn());
        let grace_ends = Arc::new(OnceLock::new());
        let stop_accepting = {
            let state = state.clone();
            let grace_ends = grace_ends.clone();
            async move {
                shutdown.await;
                state.set_draining();
                tracing::info!(drain_seconds = drain.as_secs(), "shutting down: draining");
                tokio::time::sleep(drain).await;
                let _ = grace_ends.set(Instant::now().checked_add(grace));
                tracing::info!(
                    grace_seconds = grace.as_secs(),
                    "no longer accepting; finishing in-flight requests"
                );
            }
        };
        if !serve::serve(listener, routes, connections, stop_accepting, grace).await {
            tracing::warn!("grace period over; stopping with requests still in flight");
        }
        // Every decision made before this point is in the log when `run` returns, or the
        // lines not confirmed are counted and `run` fails.
        if let Some(log) = state.decision_log() {
            let at_least = Instant::now() + FLUSH_AT_LEAST;
            let by = match grace_ends.get() {
                Some(Some(ends)) => (*ends).max(at_least),
                Some(None) => Instant::now() + decision_log::WAIT_WITHOUT_DEADLINE,
                None => at_least,
            };
            if let Err(unconfirmed) = log.close_by(by).await {
                tracing::error!(
                    unconfirmed_lines = unconfirmed.lines,
                    in_write = unconfirmed.writing,
                    "decision log not flushed by the end of the grace period: lines not confirmed written (their requests were refused 503 or got no answer; those in the write may still reach the log)"
                );
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{} decision log line(s) not confirmed written",
                        unconfirmed.lines
                    ),
                ));
            }
            if log.closed_torn() {
                return Err(io::Error::other(
                    "the decision log file keeps the torn bytes of a failed write",
                ));
            }
        }
        Ok(())
    }
}

/// SIGTERM or SIGINT. Both are taken from the moment this is called, not from the first
/// poll of the future: call it before the listener is bound, so that a SIGTERM right after
/// the first answer (a rollout that scales down a pod just started) is a drain, not the
/// default action's kill. Must be called within the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            let received = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
                match s {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = received(term) => {},
                () = received(int) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `aftersales serve`: runs until SIGTERM/SIGINT, exits 0 after a clean drain; non-zero
/// when decision-log lines were not confirmed written, or the service log's last lines did
/// not reach stderr. Exits even while a write of either never returns.
pub fn run(rules: Rules, rules_path: Option<PathBuf>, args: ServeArgs) -> ExitCode {
    crate::telemetry::init(args.log_format);
    rules.log_warnings();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        let version = rules.version.clone();
        let checksum = rules.checksum.clone();
        // Before the listener exists: no answer comes before SIGTERM means a drain.
        let shutdown = shutdown_signal();
        let server = match Server::bind(rules, rules_path, &args).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::FAILURE;
            }
        };
        let handle = prometheus();
        tokio::spawn(async move {
            // Histograms are drained here, so memory stays flat even if nobody scrapes.
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
        let addr = server.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let max_connections = server.max_connections();
        tracing::info!(%addr, rules_version = %version, rules_checksum = %checksum, auth = server.state().auth_enabled(), max_connections, "serving");
        match server.run(shutdown).await {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = %e, "server failed");
                ExitCode::FAILURE
            }
        }
    });
    // Not the runtime's drop, which waits for its blocking threads without end: one may be
    // in a write that never returns, and `run` has already said what is unconfirmed.
    runtime.shutdown_timeout(RUNTIME_EXIT_WAIT);
    // Every line logged, the last ones included, is out before the process exits, or the
    // exit says it is not (stderr taking nothing, or failing).
    if !flush_logs_within(LOG_EXIT_WAIT) {
        return ExitCode::FAILURE;
    }
    code
}

/// Writes the service log's pending lines out, waiting at most `wait` (on a thread of its
/// own, left behind if stderr never takes them); false if they were not written by then
/// or the write failed.
fn flush_logs_within(wait: Duration) -> bool {
    let (done, flushed) = std::sync::mpsc::channel();
    let flushing = std::thread::Builder::new()
        .name("log-exit-flush".into())
        .spawn(move || {
            let _ = done.send(crate::telemetry::flush());
        });
    // No thread to bound the write with: not flushed rather than perhaps never exiting.
    // A flush that failed (EPIPE, EIO, a full disk) lost the last lines as surely as one
    // that blocked.
    flushing.is_ok() && flushed.recv_timeout(wait).unwrap_or(false)
}

/// `aftersales health`: exit 0 when `{url}/healthz` answers 200 (for HEALTHCHECK in an
/// image without curl).
pub fn probe(url: &str) -> ExitCode {
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    let check = || -> io::Result<bool> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(authority)?;
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        write!(
            stream,
            "GET /healthz HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
        )?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200"))
    };
    match check() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("{url}/healthz did not answer 200");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{url}/healthz: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> AppState {
        let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        let config = StateConfig {
            tokens: None,
            body_limit: 1 << 20,
            batch_limit: 10,
            decision_log: None,
        };
        let metrics = PrometheusBuilder::new().build_recorder().handle();
        AppState::new(rules, config, metrics, String::new())
    }

    /// A request, as a caller sends it (on a connection of its own).
    fn raw(method: &str, target: &str, headers: &[&str], body: &str) -> Vec<u8> {
        let mut head =
            format!("{method} {target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
        for header in headers {
            head.push_str(&format!("{header}\r\n"));
        }
        if method == "POST" {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        format!("{head}\r\n{body}").into_bytes()
    }

    /// The answers `routes`, served as the server serves them, gives to `requests`, as a
    /// caller reads them: the date and decision ids (new for each answer) blanked, a
    /// compressed body left out.
    async fn on_the_wire(routes: Routes, requests: &[Vec<u8>]) -> Vec<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = serve::Options {
            max_connections: 4,
            header_read_timeout: Duration::from_secs(10),
        };
        let stopped = async {
            let _ = stopped.await;
        };
        let server = tokio::spawn(serve::serve(
            listener,
            routes,
            options,
            stopped,
            Duration::from_secs(1),
        ));
        let uuid =
            regex::Regex::new("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")
                .unwrap_or_else(|e| panic!("{e}"));
        let mut answers = Vec::new();
        for request in requests {
            let mut conn = tokio::net::TcpStream::connect(addr)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            conn.write_all(request)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let mut answer = Vec::new();
            conn.read_to_end(&mut answer)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let answer = String::from_utf8_lossy(&answer).into_owned();
            let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
            // Compressed, its length varies with the decision id's bytes.
            let body = match head.contains("content-encoding: gzip") {
                true => "(compressed)",
                false => body,
            };
            let head: Vec<&str> = head
                .lines()
                .filter(|line| !line.starts_with("date: "))
                .collect();
            answers.push(
                uuid.replace_all(&format!("{}\n\n{body}", head.join("\n")), "<id>")
                    .into_owned(),
            );
        }
        let _ = stop.send(());
        assert!(server.await.unwrap_or_else(|e| panic!("{e}")));
        answers
    }

    /// The routes called directly answer as through the router, byte for byte on the wire
    /// (their `Content-Length` where the router puts it: before the `connection: close`
    /// hyper adds); the others go through it.
    #[tokio::test]
    async fn a_route_called_directly_answers_as_through_the_router() {
        let limits = Limits {
            concurrency: 4,
            timeout: Duration::from_secs(10),
            body: 1 << 20,
            body_read_timeout: Duration::from_secs(10),
            body_budget: 1 << 20,
            heavy_at_once: 1,
        };
        let state = state();
        let routes = Routes::new(&state, limits);
        let example: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/examples/03-stalled-shangcheng.json"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let decision = example["request"].to_string();
        let (json, id) = ("content-type: application/json", "x-request-id: abc");
        let requests = [
            raw("POST", "/v1/decisions", &[json, id], &decision),
            raw(
                "POST",
                "/v1/decisions?view=compact&lang=en",
                &[json, id],
                &decision,
            ),
            raw("POST", "/v1/decisions?pretty", &[json, id], &decision),
            raw(
                "POST",
                "/v1/decisions",
                &[json, id, "accept: text/plain"],
                &decision,
            ),
            raw(
                "POST",
                "/v1/decisions",
                &[json, id, "accept-encoding: gzip"],
                &decision,
            ),
            raw("POST", "/v1/decisions", &[json, id], "{\"case_id\": 1}"),
            raw("POST", "/v1/decisions", &[json, id], "["),
            raw(
                "POST",
                "/v1/decisions",
                &["content-type: text/plain", id],
                "{}",
            ),
            raw("POST", "/v1/decisions?view=wide", &[json, id], &decision),
            raw(
                "POST",
                "http://localhost/v1/decisions",
                &[json, id],
                &decision,
            ),
            raw(
                "POST",
                "/v1/decisions",
                &[json, id, "transfer-encoding: gzip"],
                "",
            ),
            raw("GET", "/healthz", &[id], ""),
            raw("GET", "/healthz?x=1", &[id, "accept-encoding: gzip"], ""),
            raw("GET", "/healthz", &[], ""),
            raw("HEAD", "/healthz", &[id], ""),
            raw("POST", "/healthz", &[id], ""),
            raw("GET", "/v1/decisions", &[id], ""),
            raw("GET", "/healthz/", &[id], ""),
            raw("POST", "/v1/decisions?veiw=compact", &[json, id], &decision),
        ];
        let called = on_the_wire(routes.clone(), &requests).await;
        let routed = on_the_wire(app(state, limits).into(), &requests).await;
        for ((called, routed), request) in called.iter().zip(&routed).zip(&requests) {
            assert_eq!(called, routed, "{}", String::from_utf8_lossy(request));
        }
        assert!(called[0].contains("content-length: "), "{}", called[0]);
        assert!(called[11].contains("content-length: "), "{}", called[11]);
        let direct = |method: &str, path: &str| {
            routes
                .direct
                .iter()
                .any(|d| d.method == method && d.path == path)
        };
        assert!(direct("POST", "/v1/decisions"));
        assert!(direct("GET", "/healthz"));
        assert!(!direct("HEAD", "/healthz"));
    }
}
