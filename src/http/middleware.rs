//! Every layer, assembled in one place and in an order you can read.
//!
//! Outermost first, for every request:
//! 1. the front ([`Front`]), one `call` read top to bottom: the request id (a caller's
//!    `x-request-id` kept if it is 1 to 128 visible ASCII characters, else one made, a
//!    UUIDv7), so every log line has a bounded one; a body whose framing is in doubt
//!    refused before anything reads it ([`super::framing`]); the request's log scope
//!    (method, path, request id on every line logged while it is served); a panic caught
//!    and answered 500 problem+json (it must never happen); any bare error status (from
//!    routing, a layer or an extractor) turned into problem+json; once answered, its one
//!    log line (status, latency, the matched route, what a decision route decided), its
//!    id echoed on the response, and the metrics by matched route and status, and the
//!    latency histogram;
//! 2. response compression (gzip, when asked for).
//!
//! And on `/v1/*` only, in one layer ([`Guarded`]) and in this order: the bearer-token
//! check; then the body is read whole (413 over the limit, 408 past
//! `--body-read-timeout`) *before* the request takes a slot, so slow senders cannot hold
//! slots; then one of the `--concurrency-limit` slots shared by all `/v1` routes (503 +
//! Retry-After at once when none is free, instead of an unbounded queue), with the
//! request's deadline (`--request-timeout`, see [`Slot`]).
//! Probes and metrics stay outside all of it, so an overloaded replica is not also killed
//! by its liveness probe.
//!
//! The layers wrap each handler and each fallback ([`Layers`]), not the router: the answer
//! leaves them before axum's route adds `Allow` and `Content-Length` (in that order, after
//! the request id) and empties the body of a HEAD, as around a layered router. The
//! busiest routes are called past the router, behind the same layers
//! ([`super::Routes`]), their `Content-Length` added as the router adds it.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::header::Entry;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Either, Map};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::task::{Context, Poll};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::{self, Compression, CompressionBody, CompressionLayer};

use super::auth::authorized;
use super::problem::{PROBLEM_JSON, Problem};
use super::state::{AppState, Loaded};
use crate::cli::ServeArgs;
use crate::telemetry::{RequestFields, Scope};

/// Limits of the `/v1` routes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests worked on at once.
    pub concurrency: usize,
    /// How long a request's work may take once its body is in.
    pub timeout: Duration,
    /// Largest body, in bytes.
    pub body: usize,
    /// How long a body may take to arrive.
    pub body_read_timeout: Duration,
    /// Bytes of `/v1` bodies held at once, being read or being worked on (never less than
    /// one body at the limit).
    pub body_budget: usize,
    /// Requests whose work runs on the blocking pool at once (large bodies, batches);
    /// the others wait for one of these, within their deadline.
    pub heavy_at_once: usize,
}

impl Limits {
    /// The limits the command line sets.
    pub fn from_args(args: &ServeArgs) -> Limits {
        Limits {
            concurrency: args.concurrency_limit.max(1),
            timeout: Duration::from_secs(args.request_timeout.max(1)),
            body: args.body_limit,
            body_read_timeout: Duration::from_secs(args.body_read_timeout.max(1)),
            body_budget: args.body_budget.max(args.body_limit),
            heavy_at_once: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

/// One `/v1` request's share of the server: one of the `--concurrency-limit` slots, held
/// until its work stops (even past its answer, so slots count work really running), and
/// the deadline by which it is answered.
///
/// Exactly one of two things happens to a slot. Either the work *commits* before the
/// deadline (the decision log took its lines, or there is no log and the answer is ready)
/// and its answer is what the commit brings: the decision once its lines are written, or
/// a 503 `decision-log-unavailable` when the write has not returned by the deadline (its
/// lines then counted late, see [`super::decision_log`]); or the deadline passes first,
/// the caller gets 503 `timeout`, and the work stops at its next check, leaving nothing
/// behind.
#[derive(Clone)]
pub struct Slot(Arc<SlotInner>);

struct SlotInner {
    timeout: Duration,
    deadline: Option<Instant>,
    state: AtomicU8,
    _permit: Option<OwnedSemaphorePermit>,
    /// Turns for heavy work and room for answers, shared by all slots.
    shared: Option<Shared>,
}

/// What all slots share besides their number.
#[derive(Clone)]
struct Shared {
    /// Turns at heavy work.
    heavy: Arc<Semaphore>,
    /// The answer budget, in KiB: a large answer holds its share until it has been sent.
    answers: Arc<Semaphore>,
    answers_kib: usize,
}

const OPEN: u8 = 0;
const COMMITTED: u8 = 1;
const EXPIRED: u8 = 2;

impl Slot {
    /// A slot answered within `timeout` from now, holding `permit` until the last clone
    /// is dropped.
    pub fn new(timeout: Duration, permit: Option<OwnedSemaphorePermit>) -> Slot {
        Slot::with_turns(timeout, permit, None)
    }

    /// [`Slot::new`], sharing turns and the answer budget with the other slots.
    fn with_turns(
        timeout: Duration,
        permit: Option<OwnedSemaphorePermit>,
        shared: Option<Shared>,
    ) -> Slot {
        Slot(Arc::new(SlotInner {
            timeout,
            deadline: Instant::now().checked_add(timeout),
            state: AtomicU8::new(OPEN),
            _permit: permit,
            shared,
        }))
    }

    /// A slot without a deadline (for a route driven without the `/v1` layers).
    pub fn unbounded() -> Slot {
        Slot(Arc::new(SlotInner {
            timeout: Duration::MAX,
            deadline: None,
            state: AtomicU8::new(OPEN),
            _permit: None,
            shared: None,
        }))
    }

    /// Waits for a turn at heavy work (a large body, a batch): a few run at once, as many
    /// as there are cores, so that the memory their answers take is bounded however many
    /// requests hold slots. Held until the work stops; the deadline runs meanwhile.
    pub async fn heavy_work(&self) -> Option<OwnedSemaphorePermit> {
        let shared = self.0.shared.as_ref()?;
        shared.heavy.clone().acquire_owned().await.ok()
    }

    /// Waits for room in the answer budget for an answer of `bytes` (all of the budget
    /// for one larger than it), to be held until the answer has been sent: answers built
    /// but not yet taken by their callers stay bounded, however slowly they read. The
    /// deadline runs meanwhile.
    pub async fn answer_room(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let shared = self.0.shared.as_ref()?;
        let wanted = kib(bytes).clamp(1, shared.answers_kib);
        let wanted = u32::try_from(wanted).unwrap_or(u32::MAX);
        shared.answers.clone().acquire_many_owned(wanted).await.ok()
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.0.deadline
    }

    /// The answer when the deadline passes before the work commits.
    pub fn timed_out(&self) -> Problem {
        Problem::unavailable(
            "timeout",
            "The request took too long",
            format!(
                "The request was not done within {} s; nothing was decided or logged. Try again shortly.",
                self.0.timeout.as_secs()
            ),
            1,
        )
    }

    /// Whether the work may go on: not expired, and its deadline not passed.
    pub fn live(&self) -> bool {
        self.0.state.load(Ordering::SeqCst) != EXPIRED
            && self.0.deadline.is_none_or(|d| Instant::now() < d)
    }

    /// Commits the work: from now on the answer is sent, whenever it is ready. False
    /// when the deadline came first (then the slot is expired and nothing may be kept).
    pub fn commit(&self) -> bool {
        if self.0.deadline.is_some_and(|d| Instant::now() >= d) {
            self.expire();
        }
        match self
            .0
            .state
            .compare_exchange(OPEN, COMMITTED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(state) => state == COMMITTED,
        }
    }

    /// Whether the work has committed: its answer is sent, whenever it is ready.
    fn committed(&self) -> bool {
        self.0.state.load(Ordering::SeqCst) == COMMITTED
    }

    /// Gives the work up: true unless it had committed already.
    pub fn expire(&self) -> bool {
        match self
            .0
            .state
            .compare_exchange(OPEN, EXPIRED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(state) => state == EXPIRED,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Slot {
    type Rejection = Problem;

    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Slot, Problem> {
        Slot::current()
    }
}

impl Slot {
    /// The slot of the request being served (see [`SLOT`]). Outside the `/v1` guard there
    /// is none, and a route that runs there is a wiring fault: refused (500, an error
    /// event), never run without its deadline and its bound.
    pub fn current() -> Result<Slot, Problem> {
        SLOT.try_with(Slot::clone).map_err(|_| {
            tracing::error!("a /v1 route ran outside the guard that gives it its slot: refused");
            Problem::internal()
        })
    }
}

tokio::task_local! {
    /// The slot of the `/v1` request being served: set by the guard around the route's
    /// work, read by the route's extractors. A task-local rather than an extension on the
    /// request: an extension is an allocation, an entry hashed into a map, looked up, and
    /// dropped with the map; a task-local is set and reset at each poll of the work
    /// (about once a request): 0.27k instructions less a decision, with [`EXCHANGE`].
    static SLOT: Slot;
    /// Where a `/v1` route puts what it decided, for the request's served line (see
    /// [`Exchange`]): set by the front around the rest of the layers.
    static EXCHANGE: Arc<Exchange>;
}

/// What a `/v1` route shares with the front about its request (through [`EXCHANGE`]):
/// what it decided, for the request's served line. (On the answer, as an extension, it
/// was a map of its own.)
///
/// Set once, then read by the front, never at the same time: behind a plain lock (a
/// `OnceLock` costs more to set).
#[derive(Default)]
pub struct Exchange {
    /// Set by a decision route.
    decided: Mutex<Option<DecisionFields>>,
}

impl Exchange {
    /// The exchange of the request being served (none without the front's `/v1` layers).
    pub fn current() -> Option<Arc<Exchange>> {
        EXCHANGE.try_with(Arc::clone).ok()
    }

    /// Puts what a decision route decided on the request's served line.
    pub fn decided(&self, fields: DecisionFields) {
        *held(&self.decided) = Some(fields);
    }
}

/// What `lock` holds (nothing panics while holding [`Exchange`]'s, and what it holds
/// is whole whatever happened).
fn held<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Expires a slot when dropped, unless its work committed.
struct ExpireOnDrop(Slot);

impl Drop for ExpireOnDrop {
    fn drop(&mut self) {
        self.0.expire();
    }
}

/// The routes of the platform's probes, logged at debug.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's request id is kept only when it is 1 to 128 visible ASCII characters
/// (0x21 to 0x7E), sent once.
pub fn acceptable_request_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// How `/v1` bodies are read.
#[derive(Debug, Clone)]
struct BodyRead {
    limit: usize,
    timeout: Duration,
    /// The body budget, in KiB: a body holds its share from its first byte until the
    /// last reference to it is dropped (its work done), so bodies in memory never exceed
    /// `--body-budget`, whatever the number of connections.
    budget: Arc<Semaphore>,
}

/// How long a body waits for room in the budget before it is answered 503.
const BUDGET_WAIT: Duration = Duration::from_secs(1);
/// A body's first buffer, taken before any of it has come: the most one read brings
/// (hyper's read buffer).
const FIRST_PIECE: usize = super::serve::READ_BUFFER_BYTES;

/// Bytes as budget permits (KiB, rounded up).
fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024)
}

/// The `/v1` slots and the work's time limit.
#[derive(Clone)]
struct Slots {
    free: Arc<Semaphore>,
    shared: Shared,
    timeout: Duration,
}

/// Every layer, to put around each handler and fallback of the application rather than
/// around its router: `Router::layer` and `route_layer` box each route once more for each
/// call, so a request went through three boxed routes (each cloned, called and its future
/// boxed) where one does, the one axum makes of the layered handler.
#[derive(Clone)]
pub struct Layers {
    front: FrontLayer,
    guard: GuardLayer,
    /// The state the handlers are given.
    state: AppState,
}

/// The layers of every request, outermost first: the front, then compression ([`Compress`]).
pub type EveryLayers = (FrontLayer, CompressLayer);
/// The layers of a `/v1` request, outermost first: those of every request, then the guard.
pub type ApiLayers = (EveryLayers, GuardLayer);
/// The answer's body boxed as soon as compression has made it, as the front would box it
/// (into the same [`Body`]): an answer with compression's body is 440 bytes, and was moved
/// whole through each future above it; one with a boxed body is 128.
fn boxed_body(res: axum::http::Response<CompressionBody<Body>>) -> Response {
    res.map(Body::new)
}

impl Layers {
    /// One front (its meters shared by every route) and one `/v1` guard (its slots and
    /// budgets shared by every `/v1` route).
    pub fn new(state: &AppState, limits: Limits) -> Layers {
        Layers {
            front: FrontLayer::default(),
            guard: guard(state, limits),
            state: state.clone(),
        }
    }

    /// The state the handlers are given.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Around every handler of `route` (the path it is routed at): its log lines and
    /// metrics name the route.
    pub fn every(&self, route: &str) -> EveryLayers {
        around_every(self.front.at(route))
    }

    /// Around the fallbacks: their log lines and metrics name the route the router
    /// matched (a 405's), if any.
    pub fn fallback(&self) -> EveryLayers {
        around_every(self.front.clone())
    }

    /// Around each `/v1` handler of `route`: its front shares an [`Exchange`] with the
    /// route.
    pub fn api(&self, route: &str) -> ApiLayers {
        let front = FrontLayer {
            exchange: true,
            ..self.front.at(route)
        };
        (around_every(front), self.guard.clone())
    }
}

fn around_every(front: FrontLayer) -> EveryLayers {
    (front, CompressLayer)
}

/// Wraps the routes of `api`, a router built by hand (the application puts the guard
/// around each handler, see [`Layers`]): auth, then the body read whole, then a slot with
/// its deadline.
pub fn api_layers(api: Router<AppState>, state: &AppState, limits: Limits) -> Router<AppState> {
    api.route_layer(guard(state, limits))
}

/// The `/v1` guard, its slots and budgets as `limits` sets them.
fn guard(state: &AppState, limits: Limits) -> GuardLayer {
    // Answers get a budget as large as the bodies'.
    let answers_kib = kib(limits.body_budget).clamp(1, u32::MAX as usize);
    let slots = Slots {
        free: Arc::new(Semaphore::new(
            limits.concurrency.min(Semaphore::MAX_PERMITS),
        )),
        shared: Shared {
            heavy: Arc::new(Semaphore::new(
                limits.heavy_at_once.clamp(1, Semaphore::MAX_PERMITS),
            )),
            answers: Arc::new(Semaphore::new(answers_kib)),
            answers_kib,
        },
        timeout: limits.timeout,
    };
    let body = BodyRead {
        limit: limits.body,
        timeout: limits.body_read_timeout,
        budget: Arc::new(Semaphore::new(
            kib(limits.body_budget.max(limits.body)).min(Semaphore::MAX_PERMITS),
        )),
    };
    GuardLayer(Arc::new(Guard {
        state: state.clone(),
        body,
        slots,
    }))
}

/// What the `/v1` guard needs.
struct Guard {
    /// The tokens, in the state.
    state: AppState,
    body: BodyRead,
    slots: Slots,
}

/// The `/v1` guard ([`Guarded`]) as a layer, wrapped around each `/v1` handler.
#[derive(Clone)]
pub struct GuardLayer(Arc<Guard>);

impl<S> Layer<S> for GuardLayer {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded {
            inner,
            guard: self.0.clone(),
        }
    }
}

/// The `/v1` routes' one layer, in order: the bearer token (401), the body read whole,
/// a slot with its deadline; then the route.
///
/// A tower service written out rather than `axum::middleware::from_fn`, which clones the
/// route under it and boxes it anew (and its future) on every request.
#[derive(Clone)]
pub struct Guarded<S> {
    inner: S,
    guard: Arc<Guard>,
}

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The route made ready goes with this request (it is called once the body is
        // in); a clone of it stays for the next one.
        let route = self.inner.clone();
        let route = std::mem::replace(&mut self.inner, route);
        Box::pin(guard_api(self.guard.clone(), req, route))
    }
}

/// The guard's work for one request, in order: the bearer token (401), the body read
/// whole, a slot with its deadline; then `route` is called.
///
/// Its future is boxed for every request, and kept under 1 KiB, where the allocator
/// serves it from its per-thread cache: a function returning an `async` block (an
/// `async fn`'s future holds its arguments twice, the 240-byte request among them), the
/// slot taken in a plain function, the rare waits boxed apart ([`Share::cover`]).
fn guard_api<S>(
    guard: Arc<Guard>,
    mut req: Request,
    route: S,
) -> impl Future<Output = Result<Response, Infallible>>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let authorized = authorized(&guard.state, req.headers());
    async move {
        if !authorized {
            return Ok(Problem::unauthorized().into_response());
        }
        if let Err(refused) = read_body(&guard.body, &mut req).await {
            return Ok(refused);
        }
        match take_a_slot(&guard.slots, req, route) {
            Some(work) => work.await,
            None => Ok(Problem::unavailable(
                "overloaded",
                "The service is busy",
                "Too many requests are being served right now; try again shortly.",
                1,
            )
            .into_response()),
        }
    }
}

/// Reads the whole body (within the size limit, the body-read timeout and the body
/// budget) before the request takes a slot; the handler then reads it from memory. The
/// request stays where it is: only its body is swapped.
async fn read_body(read: &BodyRead, req: &mut Request) -> Result<(), Response> {
    // The length the body declares, as hyper read it from `Content-Length` (none when
    // chunked): not looked up and parsed again.
    let declared = http_body::Body::size_hint(req.body()).exact();
    if declared.is_some_and(|n| n > read.limit as u64) {
        return Err(Problem::too_large(read.limit).into_response());
    }
    let declared = declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let body = std::mem::take(req.body_mut());
    let collected = tokio::time::timeout(read.timeout, collect(body, declared, read));
    let bytes = match collected.await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(Unread::TooLarge)) => return Err(Problem::too_large(read.limit).into_response()),
        Ok(Err(Unread::Broken)) => {
            // The rest of the body cannot be told apart from a next request: closed.
            return Err(closing(Problem::body_framing()));
        }
        Ok(Err(Unread::NoRoom)) => {
            // The rest of the body may still come: this connection cannot be reused.
            return Err(closing(Problem::unavailable(
                "overloaded",
                "The service is busy",
                "Too many request bodies are held right now; try again shortly.",
                1,
            )));
        }
        Err(_) => return Err(closing(Problem::body_timeout(read.timeout.as_secs()))),
    };
    *req.body_mut() = Body::from(bytes);
    Ok(())
}

/// A problem whose connection is closed after it (the body was not read to its end).
fn closing(problem: Problem) -> Response {
    let mut res = problem.into_response();
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// Why a body was not read.
enum Unread {
    TooLarge,
    Broken,
    /// The body budget had no room for it.
    NoRoom,
}

/// A body's bytes with their share of the budget, given back when the bytes are freed.
struct Budgeted {
    bytes: Vec<u8>,
    _share: Option<OwnedSemaphorePermit>,
}

impl AsRef<[u8]> for Budgeted {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads `body` into one buffer, taking budget for every KiB the buffer holds before it
/// holds it. The buffer starts at [`FIRST_PIECE`] (or the declared length, when smaller)
/// and doubles as bytes arrive, up to the declared length: a length announced is not
/// budget taken, so headers that announce large bodies and send nothing hold little.
async fn collect(body: Body, declared: usize, read: &BodyRead) -> Result<Bytes, Unread> {
    let mut share = Share {
        read,
        permit: None,
        kib: 0,
    };
    let mut bytes: Vec<u8> = Vec::new();
    grow(&mut bytes, &mut share, declared.min(FIRST_PIECE)).await?;
    // The most the buffer is grown to: the declared length, while the body keeps to it.
    let ceiling = if declared > 0 { declared } else { read.limit };
    let mut body = Limited::new(body, read.limit);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                Unread::TooLarge
            } else {
                Unread::Broken
            }
        })?;
        if let Ok(data) = frame.into_data() {
            let wanted = bytes.len() + data.len();
            if wanted > bytes.capacity() {
                // Doubling, as a Vec grows, but never past the declared length or the
                // limit.
                let room = wanted
                    .max(bytes.capacity() * 2)
                    .min(ceiling.max(wanted))
                    .min(read.limit);
                grow(&mut bytes, &mut share, room).await?;
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from_owner(Budgeted {
        bytes,
        _share: share.permit,
    }))
}

/// A body's share of the budget.
struct Share<'a> {
    read: &'a BodyRead,
    permit: Option<OwnedSemaphorePermit>,
    /// KiB held.
    kib: usize,
}

impl Share<'_> {
    /// Takes budget until the share covers `bytes` (503 when none comes in time).
    async fn cover(&mut self, bytes: usize) -> Result<(), Unread> {
        let need = kib(bytes).saturating_sub(self.kib);
        if need == 0 {
            return Ok(());
        }
        let more = u32::try_from(need).map_err(|_| Unread::NoRoom)?;
        let budget = &self.read.budget;
        // Room now, as there nearly always is, takes no timer. The wait for room is boxed:
        // its timer and wait would otherwise enlarge every body read's future.
        let more = match budget.clone().try_acquire_many_owned(more) {
            Ok(more) => more,
            Err(_) => Box::pin(tokio::time::timeout(
                BUDGET_WAIT,
                budget.clone().acquire_many_owned(more),
            ))
            .await
            .map_err(|_| Unread::NoRoom)?
            .map_err(|_| Unread::NoRoom)?,
        };
        match &mut self.permit {
            Some(s) => s.merge(more),
            None => self.permit = Some(more),
        }
        self.kib += need;
        Ok(())
    }
}

/// Grows `bytes` to hold `wanted` bytes: the budget first, then the memory, so a body
/// never holds memory the budget has not granted, and memory the allocator cannot give
/// (a length declared past what the machine has, under a large `--body-limit`) is a 503,
/// not an abort of the whole process.
async fn grow(bytes: &mut Vec<u8>, share: &mut Share<'_>, wanted: usize) -> Result<(), Unread> {
    share.cover(wanted).await?;
    bytes
        .try_reserve_exact(wanted.saturating_sub(bytes.len()))
        .map_err(|_| Unread::NoRoom)?;
    // The allocator may give more than asked.
    share.cover(bytes.capacity()).await
}

/// Takes a free slot and calls `route` with it: the work, to be done [`WithinDeadline`].
/// None when no slot is free (then the request is answered 503 at once).
fn take_a_slot<S>(
    slots: &Slots,
    req: Request,
    mut route: S,
) -> Option<WithinDeadline<TaskLocalFuture<Slot, S::Future>>>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let permit = slots.free.clone().try_acquire_owned().ok()?;
    let slot = Slot::with_turns(slots.timeout, Some(permit), Some(slots.shared.clone()));
    // Calling the route only makes its future: the handler (its extractors, which find
    // the slot) runs when it is polled, in the slot's scope.
    Some(WithinDeadline {
        work: SLOT.scope(slot.clone(), route.call(req)),
        timer: None,
        slot: ExpireOnDrop(slot),
    })
}

pin_project_lite::pin_project! {
    /// Does `work`, answering 503 at the slot's deadline unless the work has committed
    /// by then.
    ///
    /// A future written out rather than an `async fn` around `tokio::select!`, which made
    /// the timer (the runtime's handle cloned, a timer entry made and dropped) before it
    /// first polled the work: here the timer is made only when the work has to wait,
    /// and work done at its first poll (a decision without a decision log) takes none.
    struct WithinDeadline<F> {
        #[pin]
        work: F,
        // Set when the work first waits (none without a deadline, or once the deadline
        // has passed with the work committed: its answer is then awaited however long
        // it takes).
        #[pin]
        timer: Option<tokio::time::Sleep>,
        // A caller gone before the work committed (this future dropped) leaves nothing
        // either.
        slot: ExpireOnDrop,
    }
}

impl<F> Future for WithinDeadline<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(res) = this.work.poll(cx) {
            return Poll::Ready(res);
        }
        let slot = &this.slot.0;
        if this.timer.is_none() {
            let Some(deadline) = slot.deadline() else {
                return Poll::Pending;
            };
            if slot.committed() {
                return Poll::Pending;
            }
            this.timer
                .set(Some(tokio::time::sleep_until(deadline.into())));
        }
        if let Some(timer) = this.timer.as_mut().as_pin_mut()
            && timer.poll(cx).is_ready()
        {
            if slot.expire() {
                return Poll::Ready(Ok(slot.timed_out().into_response()));
            }
            // Committed before its deadline: its answer comes whenever it is ready.
            this.timer.set(None);
        }
        Poll::Pending
    }
}

/// Wraps every route of `app`, a router built by hand (the application puts these layers
/// around each handler, see [`Layers`]): the front, then compression.
///
/// No `DefaultBodyLimit`: no extractor of axum's reads a body here (the `/v1` guard
/// reads it within `--body-limit`, and [`super::extract::json_body`] keeps to the same
/// limit), and the layer cost an extension on every request.
pub fn app_layers(app: Router<AppState>) -> Router<AppState> {
    app.layer(around_every(FrontLayer::default()))
}

/// When an answer is compressed: tower-http's `DefaultPredicate`, with the content type
/// looked up once rather than once for each type it excludes (a third of the
/// compression layer's cost). At least 32 bytes, and not gRPC (gRPC-Web is), not an
/// image (SVG is), not an event stream.
#[derive(Debug, Clone, Copy)]
pub struct Compressible;

/// The smallest answer compressed, in bytes (tower-http's default).
const COMPRESSED_FROM: u16 = 32;

impl Predicate for Compressible {
    fn should_compress<B: http_body::Body>(&self, res: &axum::http::Response<B>) -> bool {
        compressible(res, res.headers().get(header::CONTENT_TYPE))
    }
}

/// [`Compressible`]'s decision on `res`, its content type `content_type` (its first).
fn compressible<B: http_body::Body>(
    res: &axum::http::Response<B>,
    content_type: Option<&HeaderValue>,
) -> bool {
    if !SizeAbove::new(COMPRESSED_FROM).should_compress(res) {
        return false;
    }
    let content_type = content_type
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let not = |kind: &str, but: Option<&str>| {
        but.is_some_and(|but| content_type.starts_with(but)) || !content_type.starts_with(kind)
    };
    not("application/grpc", Some("application/grpc-web"))
        && not("image/", Some("image/svg+xml"))
        && not("text/event-stream", None)
}

/// Response compression, around each handler: tower-http's ([`Compression`]: gzip when
/// the caller accepts it, for [`Compressible`] answers), its body boxed as it comes out
/// ([`boxed_body`]). A request that accepts no encoding (no `Accept-Encoding`, or
/// `identity` alone, as most callers send) goes around it: tower-http would take the
/// header apart (more than the rest of compression costs) only to pass the answer
/// through unchanged, in a body of its own, boxed again. Its answer gets what tower-http
/// adds then, and nothing more: `Vary` ([`vary_on_accept_encoding`]).
#[derive(Debug, Clone, Copy)]
pub struct CompressLayer;

impl<S> Layer<S> for CompressLayer {
    type Service = Compress<S>;

    fn layer(&self, inner: S) -> Compress<S> {
        Compress(
            CompressionLayer::new()
                .compress_when(Compressible)
                .layer(inner),
        )
    }
}

/// [`CompressLayer`]'s service.
#[derive(Clone)]
pub struct Compress<S>(Compression<S, Compressible>);

/// An answer, as every layer gives it.
type Answered = Result<Response, Infallible>;
/// An answer as tower-http's compression gives it.
type CompressedAnswer = Result<axum::http::Response<CompressionBody<Body>>, Infallible>;

impl<S> Service<Request> for Compress<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<
        Map<S::Future, fn(Answered) -> Answered>,
        Map<compression::ResponseFuture<S::Future, Compressible>, fn(CompressedAnswer) -> Answered>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if accepts_no_encoding(req.headers()) {
            let uncompressed: fn(Answered) -> Answered = |res| res.map(vary_on_accept_encoding);
            Either::Left(self.0.get_mut().call(req).map(uncompressed))
        } else {
            let compressed: fn(CompressedAnswer) -> Answered = |res| res.map(boxed_body);
            Either::Right(self.0.call(req).map(compressed))
        }
    }
}

/// Whether a request's `Accept-Encoding` leaves tower-http nothing to choose but no
/// encoding: none, or `identity` alone. (Any other, `identity;q=1` and `gzip;q=0`
/// included, is for tower-http to read.)
fn accepts_no_encoding(headers: &HeaderMap) -> bool {
    let mut accepted = headers.get_all(header::ACCEPT_ENCODING).iter();
    match (accepted.next(), accepted.next()) {
        (None, _) => true,
        (Some(one), None) => one.as_bytes().eq_ignore_ascii_case(b"identity"),
        _ => false,
    }
}

/// What tower-http's compression adds to an answer it leaves uncompressed, for a caller
/// that accepts no encoding: an answer it would have compressed for another caller (not
/// compressed already, not a range, [`Compressible`]) says that it varies with
/// `Accept-Encoding`, unless it says so already.
fn vary_on_accept_encoding(mut res: Response) -> Response {
    let names_accept_encoding = |value: &HeaderValue| {
        let needle = header::ACCEPT_ENCODING.as_str().as_bytes();
        value
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    // One walk over the answer's few headers (one or two), not a look-up for each of
    // the four.
    let (mut encoded, mut varies, mut content_type) = (false, false, None);
    for (name, value) in res.headers() {
        if name == header::CONTENT_ENCODING || name == header::CONTENT_RANGE {
            encoded = true;
        } else if name == header::VARY {
            varies = varies || names_accept_encoding(value);
        } else if name == header::CONTENT_TYPE {
            content_type = content_type.or(Some(value));
        }
    }
    if !encoded && !varies && compressible(&res, content_type) {
        res.headers_mut()
            .append(header::VARY, HeaderValue::from(header::ACCEPT_ENCODING));
    }
    res
}

/// What the request asked, as its log lines and metrics show it.
struct Asked {
    request: Arc<RequestFields>,
    /// The route matched (none when no route matched): the layers wrap each handler, run
    /// once its route is matched, and the fallbacks.
    route: Option<Arc<str>>,
    /// Its method, as an index in [`METHODS`] (past its end for any other).
    method: usize,
}

impl Asked {
    /// What `req` asks; its id (a caller's if acceptable, else a new one) set on it.
    /// `route` is the route of the handler the front wraps; none around a fallback, whose
    /// route is the one the router matched, if any (a 405's, copied: they are rare).
    fn of(req: &mut Request, route: Option<&Arc<str>>) -> Asked {
        // One look-up of the header, whether it is kept or set.
        let id = match req.headers_mut().entry(X_REQUEST_ID) {
            Entry::Occupied(mut given) => {
                let kept = {
                    let mut ids = given.iter();
                    match (ids.next(), ids.next()) {
                        (Some(id), None) if acceptable_request_id(id.as_bytes()) => {
                            Some(id.clone())
                        }
                        _ => None,
                    }
                };
                match kept {
                    Some(id) => id,
                    None => {
                        let id = new_request_id();
                        // In place of any unacceptable one(s).
                        given.insert(id.clone());
                        id
                    }
                }
            }
            Entry::Vacant(none) => none.insert(new_request_id()).clone(),
        };
        Asked {
            request: Arc::new(RequestFields {
                method: req.method().clone(),
                uri: req.uri().clone(),
                id,
            }),
            route: route.cloned().or_else(|| {
                let matched = req.extensions().get::<MatchedPath>()?;
                Some(Arc::from(matched.as_str()))
            }),
            method: METHODS
                .iter()
                .position(|m| m == req.method())
                .unwrap_or(METHODS.len()),
        }
    }
}

/// The request's one log line, written when it is served (inside its span): its status,
/// latency and route, and what a decision route decided ([`DecisionFields`]). Probes
/// come every few seconds from the platform: their line is at debug, not info. A server
/// error (5xx) also gets a `response failed` line at error.
///
/// With JSON logs, the line is written here ([`served_line`]), in the shape the JSON
/// formatter gives the same event: formatting it field by field through `tracing` cost
/// more than the rest of a `/healthz`. It needs no `scope` then: only the lines logged
/// through `tracing` are logged in it.
fn served(
    res: &Response,
    latency: Duration,
    asked: &Asked,
    decided: Option<&DecisionFields>,
    scope: &Scope,
) {
    let status = res.status();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    let route = asked.route.as_deref();
    let probe = route.is_some_and(|r| PROBES.contains(&r));
    let decided = decided.filter(|_| !probe);
    if status.is_server_error() {
        scope.in_scope(|| {
            tracing::error!(
                classification = %format_args!("Status code: {status}"),
                latency = %format_args!("{} ms", latency.as_millis()),
                "response failed"
            )
        });
    }
    let line = Served {
        status: status.as_u16(),
        latency_ms,
        route,
        decided,
    };
    if crate::telemetry::json() {
        let level = match probe {
            true if tracing::enabled!(tracing::Level::DEBUG) => "DEBUG",
            false if tracing::enabled!(tracing::Level::INFO) => "INFO",
            _ => return,
        };
        in_line_buffer(|text| {
            served_line(text, std::time::SystemTime::now(), level, &line, asked);
            crate::telemetry::write_line(text);
        });
    } else if probe {
        scope.in_scope(|| line.debug());
    } else {
        scope.in_scope(|| line.info());
    }
}

/// What a served line usually takes at most (one with a long case or batch id takes
/// more, and its buffer is given back).
const LINE_BYTES: usize = 1024;

thread_local! {
    /// A thread's buffer for its served lines ([`in_line_buffer`]).
    static LINE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(LINE_BYTES));
}

/// Calls `write` with this thread's line buffer, empty (a line took an allocation of its
/// own); emptied after, and given back past [`LINE_BYTES`].
fn in_line_buffer(write: impl FnOnce(&mut Vec<u8>)) {
    LINE.with_borrow_mut(|text| {
        text.clear();
        write(text);
        text.clear();
        text.shrink_to(LINE_BYTES);
    });
}

/// The fields of a served line.
struct Served<'a> {
    status: u16,
    latency_ms: f64,
    route: Option<&'a str>,
    decided: Option<&'a DecisionFields>,
}

impl Served<'_> {
    fn debug(&self) {
        let Served {
            status,
            latency_ms,
            route,
            ..
        } = *self;
        tracing::debug!(status, latency_ms, route, "served");
    }

    fn info(&self) {
        let Served {
            status,
            latency_ms,
            route,
            decided: d,
        } = *self;
        tracing::info!(
            status,
            latency_ms,
            route,
            decision_id = d.and_then(|d| d.decision_id.as_deref()),
            case_id = d.and_then(|d| d.case_id.as_deref()),
            scenario = d.and_then(|d| d.scenario),
            decision = d.and_then(|d| d.decision),
            applies = d.and_then(|d| d.applies),
            batch_id = d.and_then(|d| d.batch_id.as_deref()),
            items = d.and_then(|d| d.items),
            succeeded = d.and_then(|d| d.succeeded),
            rules_version = d.and_then(DecisionFields::rules_version),
            "served"
        );
    }
}

/// Writes the served line as the JSON formatter would ([`crate::telemetry`]: flattened
/// fields, absent ones left out, then the target and the current span), strings escaped
/// by serde_json as it escapes them.
fn served_line(
    out: &mut Vec<u8>,
    now: std::time::SystemTime,
    level: &str,
    line: &Served,
    asked: &Asked,
) {
    // Each field's `,"key":` is one piece of text, written at once.
    macro_rules! key {
        ($key:literal) => {
            concat!(",\"", $key, "\":").as_bytes()
        };
    }
    let string = |out: &mut Vec<u8>, key: &[u8], value: &str| {
        out.extend_from_slice(key);
        crate::telemetry::json_string(out, value);
    };
    // Our own words (a route's template from our router, a code, an id made here): printable
    // ASCII without `"` or `\\`, nothing JSON escapes, so written as they are. (A check
    // at run time cost ~1k instructions a request; the assertion holds by construction.)
    let plain = |out: &mut Vec<u8>, key: &[u8], value: &str| {
        debug_assert!(
            value
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'),
            "{value}"
        );
        out.extend_from_slice(key);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    };
    let number = |out: &mut Vec<u8>, key: &[u8], value: u64| {
        out.extend_from_slice(key);
        out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    };
    // The level, message and target need no escaping: written as they are.
    out.extend_from_slice(b"{\"timestamp\":\"");
    crate::telemetry::write_timestamp(out, now);
    out.extend_from_slice(b"\",\"level\":\"");
    out.extend_from_slice(level.as_bytes());
    out.extend_from_slice(b"\",\"message\":\"served\"");
    number(out, key!("status"), u64::from(line.status));
    out.extend_from_slice(key!("latency_ms"));
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &line.latency_ms);
    if let Some(route) = line.route {
        plain(out, key!("route"), route);
    }
    if let Some(d) = line.decided {
        if let Some(decision_id) = &d.decision_id {
            plain(out, key!("decision_id"), decision_id);
        }
        if let Some(case_id) = &d.case_id {
            string(out, key!("case_id"), case_id);
        }
        for (key, value) in [
            (key!("scenario"), d.scenario),
            (key!("decision"), d.decision),
        ] {
            if let Some(value) = value {
                plain(out, key, value);
            }
        }
        if let Some(applies) = d.applies {
            out.extend_from_slice(key!("applies"));
            out.extend_from_slice(if applies { b"true" } else { b"false" });
        }
        if let Some(batch_id) = &d.batch_id {
            string(out, key!("batch_id"), batch_id);
        }
        for (key, value) in [(key!("items"), d.items), (key!("succeeded"), d.succeeded)] {
            if let Some(value) = value {
                number(out, key, value);
            }
        }
        if let Some(version) = d.rules_version() {
            string(out, key!("rules_version"), version);
        }
    }
    out.extend_from_slice(concat!(",\"target\":\"", module_path!(), "\",").as_bytes());
    asked.request.write_span(out);
    out.extend_from_slice(b"}\n");
}

/// What a decision route decided, put on its request's log line (see [`Exchange`]).
#[derive(Debug, Clone, Default)]
pub struct DecisionFields {
    /// Made here ([`crate::new_decision_id`]): written into the line as it is.
    pub decision_id: Option<String>,
    pub case_id: Option<String>,
    /// A code ([`crate::codes`]): written into the line as it is.
    pub scenario: Option<&'static str>,
    /// A code ([`crate::codes`]): written into the line as it is.
    pub decision: Option<&'static str>,
    pub applies: Option<bool>,
    pub batch_id: Option<String>,
    pub items: Option<u64>,
    pub succeeded: Option<u64>,
    /// The rules decided with, for their version: shared, not their version copied for
    /// each request.
    pub rules: Option<Arc<Loaded>>,
}

impl DecisionFields {
    pub fn rules_version(&self) -> Option<&str> {
        Some(&self.rules.as_ref()?.rules.version)
    }
}

/// The methods that are metric labels by name; any other is `other`, so a client inventing
/// methods (any token is one) cannot add series without bound.
static METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
    Method::CONNECT,
    Method::TRACE,
];

/// The front of every request ([`Front`]), as a layer: one per application, its meters
/// shared by every route it wraps.
#[derive(Clone, Default)]
pub struct FrontLayer {
    meters: Arc<Meters>,
    /// Whether its requests get an [`Exchange`] (those of the `/v1` routes).
    exchange: bool,
    /// The route of the handler it wraps (none around a fallback, or a router: then the
    /// route the router matched, if any).
    route: Option<Arc<str>>,
}

impl FrontLayer {
    /// This front, around a handler of `route`: the route is known without the router's
    /// `MatchedPath` (looked up in the request's extensions, and cloned, for each).
    fn at(&self, route: &str) -> FrontLayer {
        FrontLayer {
            route: Some(Arc::from(route)),
            ..self.clone()
        }
    }
}

impl<S> Layer<S> for FrontLayer {
    type Service = Front<S>;

    fn layer(&self, inner: S) -> Front<S> {
        Front {
            inner,
            meters: self.meters.clone(),
            exchange: self.exchange,
            route: self.route.clone(),
        }
    }
}

/// The front of every request: its id, kept or made, set on the request (for the log
/// lines and the handlers); a request whose body's framing is in doubt refused
/// ([`super::framing`]) before anything reads it; the rest of the layers run in the
/// request's log [`Scope`];
/// once answered, its log line ([`served`]), its id echoed on the response unless the
/// response has one, and the request counted by method, matched route and status, and
/// its latency recorded.
///
/// A tower service written out rather than `axum::middleware::from_fn`, which clones the
/// layers under it, boxes them into a new route and calls through that, on every request.
#[derive(Clone)]
pub struct Front<S> {
    inner: S,
    meters: Arc<Meters>,
    exchange: bool,
    route: Option<Arc<str>>,
}

impl<S, B> Service<Request> for Front<S>
where
    S: Service<Request, Response = axum::http::Response<B>, Error = Infallible>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let start = Instant::now();
        let asked = Asked::of(&mut req, self.route.as_ref());
        let exchange = self.exchange.then(Arc::<Exchange>::default);
        let scope = Scope::new(&asked.request);
        // A request whose body's framing is in doubt goes no further (see
        // [`super::framing`]); the others to the rest of the layers and the handler, a
        // panic among them caught. (Calling the layers only makes their futures: the
        // handler runs when they are polled.)
        // A layer may panic when called, not only when polled: caught too. (The answer
        // given already, refused or a panic, is rare: boxed, it keeps the result small.)
        let called = scope.in_scope(|| match super::framing::refused(req.headers()) {
            Some(refused) => Err(Box::new(refused)),
            None => std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req)))
                .map_err(|_| Box::new(panicked())),
        });
        let answer = called.map(|called| scope.wrap(AssertUnwindSafe(called).catch_unwind()));
        let done = Done {
            start,
            asked,
            exchange: exchange.clone(),
            scope,
            meters: self.meters.clone(),
        };
        match (answer, exchange) {
            (Err(refused), _) => Box::pin(async move { Ok(done.answered(*refused)) }),
            (Ok(answer), Some(exchange)) => done.after(EXCHANGE.scope(exchange, answer)),
            (Ok(answer), None) => done.after(answer),
        }
    }
}

/// What the front does once a request is answered.
struct Done {
    start: Instant,
    asked: Asked,
    exchange: Option<Arc<Exchange>>,
    scope: Scope,
    meters: Arc<Meters>,
}

impl Done {
    /// The front's future: `answer`, then what is done once it is answered.
    ///
    /// The inner future mapped rather than awaited in an async block, which would keep it
    /// twice (as captured and as awaited) in a future past what the allocator keeps at
    /// hand.
    fn after<F, B>(self, answer: F) -> BoxFuture<'static, Result<Response, Infallible>>
    where
        F: Future<Output = std::thread::Result<Result<axum::http::Response<B>, Infallible>>>
            + Send
            + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        Box::pin(answer.map(move |answered| {
            let res = match answered {
                Ok(Ok(res)) => {
                    problem_for_bare_errors(res.map(Body::new), self.asked.request.uri.path())
                }
                Ok(Err(infallible)) => match infallible {},
                Err(_) => self.scope.in_scope(panicked),
            };
            Ok(self.answered(res))
        }))
    }

    /// The request's log line, its id echoed on `res` unless it has one, the request
    /// counted and its latency recorded.
    fn answered(self, mut res: Response) -> Response {
        let Done {
            start,
            asked,
            exchange,
            scope,
            meters,
        } = self;
        let latency = start.elapsed();
        let api = exchange.is_some();
        let decided = exchange.and_then(|e| held(&e.decided).take());
        served(&res, latency, &asked, decided.as_ref(), &scope);
        if let Entry::Vacant(none) = res.headers_mut().entry(X_REQUEST_ID) {
            none.insert(asked.request.id.clone());
        }
        if api {
            // For the accept loop: an answer cut short on its connection is named. Its
            // ids are moved out of what was decided (logged above, not needed again).
            let (decision_id, batch_id) = decided
                .map(|d| (d.decision_id, d.batch_id))
                .unwrap_or_default();
            res.extensions_mut().insert(Delivery {
                request_id: asked.request.id.clone(),
                decision_id,
                batch_id,
            });
        }
        let route = asked.route.as_deref();
        let status = res.status().as_u16();
        meters.count(asked.method, route, status, latency);
        res
    }
}

/// What the answer to a `/v1` request tells the accept loop (an extension on it, set by
/// the front), so that an answer its connection could not send whole (the client stopped
/// reading past the send timeout, went away, or the server stopped past its grace) is
/// logged with its ids after its `served` line (see [`super::serve`]).
#[derive(Clone, Debug)]
pub struct Delivery {
    pub request_id: HeaderValue,
    pub decision_id: Option<String>,
    pub batch_id: Option<String>,
}

/// The answer to a request whose handler (or a layer) panicked, logged (in the
/// request's scope, where it is called).
fn panicked() -> Response {
    tracing::error!("a handler panicked");
    Problem::internal().into_response()
}

/// A new request id: a UUIDv7, hyphenated. Its bytes are in one allocation that the
/// request's header, its log fields and the answer's header share (a `HeaderValue` made
/// from text allocates once more when it is first cloned).
fn new_request_id() -> HeaderValue {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::now_v7().hyphenated().encode_lower(&mut text);
    HeaderValue::from_maybe_shared(Bytes::from_owner(text))
        .unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// The request metrics' handles, by route, then method and status, looked up once each
/// (the `metrics` macros build and hash their labels on every call). Bounded: methods are
/// [`METHODS`] or `other`, routes are the router's or `unmatched`, statuses are ours.
/// The routes are a few: looked up one after the other, which costs less than hashing.
#[derive(Default)]
struct Meters(Mutex<Vec<(Box<str>, Vec<Meter>)>>);

/// One method's and status's counter of requests and latency histogram.
struct Meter {
    method: usize,
    status: u16,
    requests: metrics::Counter,
    latency: metrics::Histogram,
}

impl Meters {
    /// Counts a request of `method` (an index in [`METHODS`], or past its end for
    /// `other`), `route` (None when unmatched) answered `status`, and records its
    /// latency.
    fn count(&self, method: usize, route: Option<&str>, status: u16, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let Ok(mut known) = self.0.lock() else {
            let (requests, latency) = Self::register(method, route, status);
            requests.increment(1);
            latency.record(seconds);
            return;
        };
        // No route is empty: "" stands for unmatched.
        let key = route.unwrap_or("");
        let at = match known.iter().position(|(r, _)| **r == *key) {
            Some(at) => at,
            None => {
                known.push((key.into(), Vec::new()));
                known.len() - 1
            }
        };
        let meters = &mut known[at].1;
        let meter = match meters
            .iter()
            .position(|m| m.method == method && m.status == status)
        {
            Some(at) => &meters[at],
            None => {
                let (requests, latency) = Self::register(method, route, status);
                meters.push(Meter {
                    method,
                    status,
                    requests,
                    latency,
                });
                &meters[meters.len() - 1]
            }
        };
        meter.requests.increment(1);
        meter.latency.record(seconds);
    }

    fn register(
        method: usize,
        route: Option<&str>,
        status: u16,
    ) -> (metrics::Counter, metrics::Histogram) {
        let method = METHODS.get(method).map_or("other", Method::as_str);
        let route = route.unwrap_or("unmatched").to_owned();
        (
            metrics::counter!("aftersales_http_requests_total", "method" => method, "route" => route.clone(), "status" => status.to_string()),
            metrics::histogram!("aftersales_http_request_duration_seconds", "method" => method, "route" => route),
        )
    }
}

/// An error status made without a problem body (a 405 or 413 from the router, an
/// extractor's text) gets one; its headers (Allow, Retry-After) stay.
fn problem_for_bare_errors(res: Response, path: &str) -> Response {
    let status = res.status();
    // The status first: the content type is looked up for errors alone.
    let is_problem = || {
        res.headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| ct.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
    };
    if !(status.is_client_error() || status.is_server_error()) || is_problem() {
        return res;
    }
    let (mut parts, _) = res.into_parts();
    let problem = Problem::for_status(status, path).into_response();
    let (problem_parts, body) = problem.into_parts();
    // The body it came with may have been compressed: the problem is not.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    for (name, value) in &problem_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, Body::new(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::Capture;
    use axum::http::StatusCode;

    /// The line the JSON formatter, set up as [`crate::telemetry::init`] sets it up,
    /// writes for the same event.
    fn by_the_formatter(line: &Served, asked: &Asked, probe: bool) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            settle_interest();
            asked.request.span().in_scope(|| match probe {
                true => line.debug(),
                false => line.info(),
            })
        });
        let text = capture.0.lock().map(|t| t.clone()).unwrap_or_default();
        String::from_utf8(text).unwrap_or_default()
    }

    fn by_hand(line: &Served, asked: &Asked, level: &str) -> String {
        let mut text = Vec::new();
        served_line(&mut text, std::time::SystemTime::now(), level, line, asked);
        String::from_utf8(text).unwrap_or_default()
    }

    /// The line's timestamp, and the rest of it.
    fn timestamp(line: &str) -> (&str, &str) {
        line.strip_prefix("{\"timestamp\":\"")
            .and_then(|rest| rest.split_once('"'))
            .unwrap_or_else(|| panic!("no timestamp first: {line}"))
    }

    /// The lines logged on this thread from now until the guard is dropped (every test
    /// that makes Front log a panic keeps one: a callsite first hit where no subscriber
    /// wants it would be left off everywhere).
    fn capture_logs() -> (Capture, tracing::subscriber::DefaultGuard) {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        settle_interest();
        (capture.clone(), guard)
    }

    /// Tests run on many threads, each with its own subscriber, while tracing caches
    /// each callsite's interest process-wide. A callsite first reached on a thread with
    /// no subscriber, while another thread registers its own, can be cached as never
    /// interesting, and a test then misses its lines (seen once in a run of all tests).
    /// Recomputing every callsite's interest once this thread's subscriber is in place
    /// counts it in.
    fn settle_interest() {
        tracing::callsite::rebuild_interest_cache();
    }

    /// The lines `capture` holds that contain `text`.
    fn logged_lines(capture: &Capture, text: &str) -> Vec<String> {
        let all = capture.0.lock().map(|t| t.clone()).unwrap_or_default();
        String::from_utf8_lossy(&all)
            .lines()
            .filter(|l| l.contains(text))
            .map(str::to_owned)
            .collect()
    }

    /// A layer that panics when it is called (before any future is polled): the
    /// request is answered 500 with its id, as when a handler panics, and the panic
    /// logged in the request's scope.
    #[tokio::test]
    async fn a_panic_while_calling_the_layers_is_a_500_with_the_request_id() {
        let (capture, _logging) = capture_logs();
        let inner = tower::service_fn(
            |_: Request| -> std::future::Ready<Result<Response, Infallible>> { panic!("called") },
        );
        let mut front = FrontLayer::default().layer(inner);
        let req = Request::builder()
            .uri("/v1/decisions")
            .header(X_REQUEST_ID, "abc")
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"));
        let res = match front.call(req).await {
            Ok(res) => res,
            Err(infallible) => match infallible {},
        };
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.headers().get(X_REQUEST_ID),
            Some(&HeaderValue::from_static("abc"))
        );
        let logged = logged_lines(&capture, "a handler panicked");
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(
            logged[0].contains("request{method=GET path=/v1/decisions request_id=abc}"),
            "{logged:?}"
        );
    }

    #[test]
    fn a_new_request_id_is_a_hyphenated_lowercase_uuid_v7() {
        let id = new_request_id();
        let text = id.to_str().unwrap_or_default();
        let parsed = uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(parsed.hyphenated().to_string(), text);
        assert_eq!(id.clone().to_str().ok(), Some(text));
        assert_ne!(new_request_id(), id);
    }

    fn asked(method: &str, uri: &str, id: &[u8]) -> Asked {
        Asked {
            request: Arc::new(RequestFields {
                method: Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
                uri: uri.parse().unwrap_or_else(|e| panic!("{e}")),
                id: HeaderValue::from_bytes(id).unwrap_or_else(|e| panic!("{e}")),
            }),
            route: None,
            method: 0,
        }
    }

    /// Rules of `version`.
    fn versioned(version: &str) -> Option<Arc<Loaded>> {
        let mut rules = crate::rules::Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        rules.version = version.into();
        Some(Arc::new(Loaded {
            rules,
            loaded_at: chrono::Utc::now(),
        }))
    }

    #[test]
    fn the_served_line_written_by_hand_is_the_one_the_json_formatter_writes() {
        let hostile = "AS-1\"\\\u{1}\t\u{2028}\u{9b}31m\u{202e}evom\u{7f}\u{feff}令";
        let decided = DecisionFields {
            decision_id: Some("01a21858-af53-725a-a53d-a4733a2c5dc0".into()),
            case_id: Some(hostile.into()),
            scenario: Some("stalled"),
            decision: Some("intercept_and_refund"),
            applies: Some(true),
            batch_id: Some(hostile.into()),
            items: Some(1000),
            succeeded: Some(0),
            rules: versioned("2023-hangzhou-1"),
        };
        let some = DecisionFields {
            applies: Some(false),
            rules: versioned("v"),
            ..DecisionFields::default()
        };
        // Our own words may hold any printable ASCII JSON does not escape (a route's dot).
        let odd = DecisionFields {
            decision_id: Some("id.with:colon and space~".into()),
            scenario: Some("a.b"),
            decision: Some("x+y=z!"),
            ..DecisionFields::default()
        };
        let cases = [
            (
                Served {
                    status: 200,
                    latency_ms: 0.496_891_999_999_999_94,
                    route: Some("/v1/decisions"),
                    decided: Some(&decided),
                },
                asked("POST", "/v1/decisions?view=compact", b"abc\"\\{}"),
                false,
            ),
            (
                Served {
                    status: 422,
                    latency_ms: 12.0,
                    route: Some("/v1/decisions/batch"),
                    decided: Some(&some),
                },
                asked("POST", "/v1/decisions/batch", b"x"),
                false,
            ),
            (
                Served {
                    status: 200,
                    latency_ms: 0.25,
                    route: Some("/openapi.yaml"),
                    decided: Some(&odd),
                },
                asked("GET", "/openapi.yaml", b"doc"),
                false,
            ),
            (
                Served {
                    status: 404,
                    latency_ms: 1e-7,
                    route: None,
                    decided: None,
                },
                asked(
                    "PURGE",
                    "/no/%22such%5C/path",
                    b"01a21858-aeda-762c-a801-ed8fdb1ba82f",
                ),
                false,
            ),
            (
                Served {
                    status: 200,
                    latency_ms: 3.25,
                    route: Some("/healthz"),
                    decided: None,
                },
                asked("GET", "/healthz", b"probe"),
                true,
            ),
        ];
        for (line, asked, probe) in &cases {
            let expected = by_the_formatter(line, asked, *probe);
            let written = by_hand(line, asked, if *probe { "DEBUG" } else { "INFO" });
            let (their_time, theirs) = timestamp(&expected);
            let (our_time, ours) = timestamp(&written);
            assert_eq!(ours, theirs, "\n{written}\n{expected}");
            // The same format of time: microseconds, in UTC, written Z.
            let parsed = chrono::DateTime::parse_from_rfc3339(their_time)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
            assert_eq!(parsed.as_deref(), Ok(their_time));
            assert_eq!(our_time.len(), their_time.len(), "{our_time} {their_time}");
            assert!(written.ends_with("}\n") && written.lines().count() == 1);
        }
    }

    /// [`Compressible`] decides as tower-http's default predicate does.
    #[test]
    fn compressible_is_the_default_predicate() {
        use tower_http::compression::predicate::DefaultPredicate;
        let types = [
            None,
            Some("application/json"),
            Some("application/problem+json"),
            Some("text/plain; charset=utf-8"),
            Some("application/grpc"),
            Some("application/grpc+proto"),
            Some("application/grpc-web"),
            Some("application/grpc-web+proto"),
            Some("image/png"),
            Some("image/svg+xml"),
            Some("text/event-stream"),
            Some("text/event-streams"),
            Some("IMAGE/PNG"),
        ];
        for content_type in types {
            for size in [0, 31, 32, 33, 4096] {
                let mut res = Response::new(Body::from(vec![b'x'; size]));
                if let Some(ct) = content_type {
                    res.headers_mut()
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
                }
                assert_eq!(
                    Compressible.should_compress(&res),
                    DefaultPredicate::new().should_compress(&res),
                    "{content_type:?} {size}"
                );
            }
            // No size known but a declared length, then neither.
            for length in [Some("10"), Some("100"), Some("x"), None] {
                let stream = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::new())]);
                let mut res = Response::new(Body::from_stream(stream));
                if let Some(ct) = content_type {
                    res.headers_mut()
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
                }
                if let Some(length) = length {
                    res.headers_mut()
                        .insert(header::CONTENT_LENGTH, HeaderValue::from_static(length));
                }
                assert_eq!(
                    Compressible.should_compress(&res),
                    DefaultPredicate::new().should_compress(&res),
                    "{content_type:?} {length:?}"
                );
            }
        }
    }

    /// Around [`CompressLayer`] and around tower-http's compression alone, the same
    /// answers (headers in order, body, its size), whatever the caller accepts: a request
    /// that accepts no encoding goes around tower-http's, and gets what it would add.
    #[tokio::test]
    async fn compress_layer_answers_as_tower_https_compression() {
        use tower::ServiceExt;
        let answers: [(&[(HeaderName, &str)], usize); 11] = [
            (&[(header::CONTENT_TYPE, "application/json")], 100),
            (&[(header::CONTENT_TYPE, "application/json")], 31),
            (&[(header::CONTENT_TYPE, "image/png")], 100),
            (&[], 100),
            (
                &[
                    (header::CONTENT_TYPE, "application/json"),
                    (header::VARY, "Origin, Accept-Encoding"),
                ],
                100,
            ),
            (
                &[
                    (header::CONTENT_TYPE, "application/json"),
                    (header::VARY, "origin"),
                    (header::VARY, "accept"),
                ],
                100,
            ),
            (
                &[
                    (header::CONTENT_TYPE, "text/plain"),
                    (header::CONTENT_ENCODING, "br"),
                ],
                100,
            ),
            (
                &[
                    (header::CONTENT_TYPE, "text/plain"),
                    (header::CONTENT_RANGE, "bytes 0-99/200"),
                ],
                100,
            ),
            (&[(header::CONTENT_TYPE, "application/problem+json")], 4096),
            // The first content type counts.
            (
                &[
                    (header::CONTENT_TYPE, "image/png"),
                    (header::CONTENT_TYPE, "application/json"),
                ],
                100,
            ),
            (
                &[
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CONTENT_TYPE, "image/png"),
                ],
                100,
            ),
        ];
        let accepts: [&[&str]; 9] = [
            &[],
            &["identity"],
            &["IDENTITY"],
            &["identity;q=1"],
            &["gzip"],
            &["gzip;q=0"],
            &["identity", "gzip"],
            &["br, gzip;q=0.5"],
            &["*"],
        ];
        for (headers, size) in answers {
            let answer = move || {
                let mut res = Response::new(Body::from(vec![b'x'; size]));
                for (name, value) in headers {
                    res.headers_mut()
                        .append(name, HeaderValue::from_static(value));
                }
                res
            };
            let handler =
                tower::service_fn(move |_: Request| async move { Ok::<_, Infallible>(answer()) });
            for accept in accepts {
                let request = || {
                    let mut req = Request::new(Body::empty());
                    for value in accept {
                        req.headers_mut()
                            .append(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
                    }
                    req
                };
                let ours = CompressLayer.layer(handler).oneshot(request()).await;
                let theirs = CompressionLayer::new()
                    .compress_when(Compressible)
                    .layer(handler)
                    .oneshot(request())
                    .await;
                let (Ok(ours), Ok(theirs)) = (ours, theirs);
                let shown = format!("{headers:?} {size} {accept:?}");
                let ours_headers: Vec<_> = ours.headers().iter().collect();
                let theirs_headers: Vec<_> = theirs.headers().iter().collect();
                assert_eq!(ours_headers, theirs_headers, "{shown}");
                assert_eq!(ours.status(), theirs.status(), "{shown}");
                let ours_size = http_body::Body::size_hint(ours.body());
                let theirs_size = http_body::Body::size_hint(theirs.body());
                assert_eq!(ours_size.exact(), theirs_size.exact(), "{shown}");
                let ours = ours.into_body().collect().await.map(|b| b.to_bytes());
                let theirs = theirs.into_body().collect().await.map(|b| b.to_bytes());
                assert_eq!(ours.ok(), theirs.ok(), "{shown}");
            }
        }
    }

    /// A body declaring a length the machine cannot hold (under an operator's huge
    /// `--body-limit`) is refused; it used to abort the whole process ("memory
    /// allocation failed"), whatever the budget.
    #[tokio::test]
    async fn a_declared_length_the_memory_cannot_hold_is_refused_not_an_abort() {
        // 1 TiB: within the budget's permits, past what an allocator without overcommit
        // gives; where one gives it, the empty body is read as empty.
        let huge = 1usize << 40;
        let read = BodyRead {
            limit: huge,
            timeout: Duration::from_secs(5),
            budget: Arc::new(Semaphore::new(kib(huge))),
        };
        match collect(Body::empty(), huge, &read).await {
            Err(Unread::NoRoom) => {}
            Ok(bytes) => assert!(bytes.is_empty()),
            Err(_) => panic!("refused for another reason"),
        }
        // Whatever happened, the budget is whole again.
        assert_eq!(read.budget.available_permits(), kib(huge));
    }

    #[test]
    fn the_line_buffer_is_empty_for_each_line_and_a_long_lines_room_is_given_back() {
        in_line_buffer(|text| text.extend_from_slice(&[b'x'; 5000]));
        in_line_buffer(|text| {
            assert!(text.is_empty());
            assert!(text.capacity() <= LINE_BYTES, "{}", text.capacity());
            text.extend_from_slice(b"short\n");
        });
        in_line_buffer(|text| assert!(text.is_empty()));
    }

    /// Work that waits `wait`, committing its slot first when `commits`, then answers 200.
    fn work_on(
        slot: &Slot,
        wait: Duration,
        commits: bool,
    ) -> WithinDeadline<impl Future<Output = Result<Response, Infallible>>> {
        let held = slot.clone();
        WithinDeadline {
            work: async move {
                if commits {
                    assert!(held.commit());
                }
                tokio::time::sleep(wait).await;
                Ok(StatusCode::OK.into_response())
            },
            timer: None,
            slot: ExpireOnDrop(slot.clone()),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn work_past_its_deadline_is_answered_503_and_its_slot_expired() {
        let slot = Slot::new(Duration::from_secs(2), None);
        let Ok(res) = work_on(&slot, Duration::from_secs(5), false).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!slot.commit(), "expired");
    }

    #[tokio::test(start_paused = true)]
    async fn work_committed_before_its_deadline_is_answered_however_long_it_takes() {
        let slot = Slot::new(Duration::from_secs(2), None);
        let started = tokio::time::Instant::now();
        let Ok(res) = work_on(&slot, Duration::from_secs(5), true).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn work_within_its_deadline_is_answered_and_work_dropped_unanswered_expires() {
        let slot = Slot::new(Duration::from_secs(2), None);
        let Ok(res) = work_on(&slot, Duration::from_secs(1), false).await;
        assert_eq!(res.status(), StatusCode::OK);
        // Done but never committed (no route here commits): the slot was given up on drop.
        assert!(!slot.commit());
        let slot = Slot::unbounded();
        let Ok(res) = work_on(&slot, Duration::from_secs(3600), false).await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    /// What `served` logs for a response of `status`, as the plain formatter writes it.
    fn logged_for(status: u16) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let asked = asked("POST", "/v1/decisions", b"req-1");
        let mut res = Response::new(Body::empty());
        *res.status_mut() = axum::http::StatusCode::from_u16(status).unwrap_or_default();
        tracing::subscriber::with_default(subscriber, || {
            settle_interest();
            let scope = Scope::Span(asked.request.span());
            served(&res, Duration::from_millis(7), &asked, None, &scope)
        });
        let text = capture.0.lock().map(|t| t.clone()).unwrap_or_default();
        String::from_utf8(text).unwrap_or_default()
    }

    #[test]
    fn a_server_error_also_logs_response_failed_at_error_in_the_requests_span() {
        let failed = logged_for(503);
        let lines: Vec<&str> = failed.lines().collect();
        assert_eq!(lines.len(), 2, "{failed}");
        assert!(
            lines[0].contains("ERROR")
                && lines[0].contains("request_id=req-1")
                && lines[0].contains("response failed")
                && lines[0].contains("classification=Status code: 503 Service Unavailable")
                && lines[0].contains("latency=7 ms"),
            "{failed}"
        );
        assert!(
            lines[1].contains("INFO")
                && lines[1].contains("served")
                && lines[1].contains("status=503")
        );
        let fine = logged_for(422);
        assert_eq!(fine.lines().count(), 1, "{fine}");
        assert!(!fine.contains("response failed"), "{fine}");
    }

    /// A handler that panics: a 500 problem, with the request's id, and the front's work
    /// done (counted, logged) as for any answer; the panic logged in the request's scope.
    #[tokio::test]
    async fn a_panicking_handler_is_answered_500_problem_with_the_request_id() {
        use tower::ServiceExt;
        let (capture, _logging) = capture_logs();
        let app: Router = Router::new()
            .route(
                "/boom",
                axum::routing::get(|| async {
                    if true {
                        panic!("boom");
                    }
                    "never"
                }),
            )
            .layer(FrontLayer::default());
        let asked = |id: &'static str| {
            Request::builder()
                .uri("/boom")
                .header(X_REQUEST_ID, id)
                .body(Body::empty())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        for _ in 0..2 {
            let res = app
                .clone()
                .oneshot(asked("req-9"))
                .await
                .unwrap_or_else(|e| match e {});
            assert_eq!(res.status(), 500);
            assert_eq!(
                res.headers()
                    .get(header::CONTENT_TYPE)
                    .map(|v| v.as_bytes()),
                Some(PROBLEM_JSON.as_bytes())
            );
            assert_eq!(
                res.headers().get(X_REQUEST_ID).map(|v| v.as_bytes()),
                Some(&b"req-9"[..])
            );
        }
        // An unacceptable id: a new one, on the request and the answer alike.
        let res = app
            .oneshot(asked("two words"))
            .await
            .unwrap_or_else(|e| match e {});
        let made = res
            .headers()
            .get(X_REQUEST_ID)
            .map(|v| v.as_bytes().to_vec());
        assert_eq!(made.as_ref().map(|m| m.len()), Some(36));
        let logged = logged_lines(&capture, "a handler panicked");
        assert_eq!(logged.len(), 3, "{logged:?}");
        let made = String::from_utf8(made.unwrap_or_default()).unwrap_or_default();
        for (line, id) in logged.iter().zip(["req-9", "req-9", made.as_str()]) {
            let scope = format!("request{{method=GET path=/boom request_id={id}}}");
            assert!(line.contains(&scope), "{line}");
        }
    }
}
