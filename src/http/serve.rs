//! The accept loop: ours, over hyper's HTTP/1 server, for what `axum::serve` does not
//! offer.
//!
//! - A header-read timeout (`--header-read-timeout`): a connection that has not sent a
//!   whole request head in time is closed, and so is a keep-alive connection idle that
//!   long.
//! - A cap on open connections (`--max-connections`, by default below the open-files
//!   limit), so the process never runs out of file descriptors. At the cap a new
//!   connection is still taken, and the oldest connection that is not inside a request
//!   makes room: closed at once if it never sent a whole request head, else closed as soon
//!   as it is idle (or after [`FINISH_WHEN_MAKING_ROOM`] if its client does not take the
//!   answer it is sending). When every connection is inside a request, the oldest one still
//!   receiving its request's body makes room, closed at once. Slow, idle or non-reading
//!   connections cannot lock out a health probe.
//! - A write that makes no progress for the header-read timeout closes the connection
//!   ([`super::guards::WriteStall`]): a client that never reads cannot keep one for good.
//! - Accept errors back off (10 ms doubling to 1 s) instead of spinning.
//! - Graceful stop: no more accepting; connections inside a request finish it, the others
//!   close; up to a grace period.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures_util::task::AtomicWaker;

use super::Routes;
use super::guards::{Receiving, WriteStall, WriteWatch};
use super::middleware::Delivery;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Sleep;

/// The most a connection buffers of what it reads (a request head must fit; a body is
/// read through it in pieces this size at most): a connection's memory stays bounded,
/// whatever it sends. hyper's default lets one grow to 400 KiB.
pub const READ_BUFFER_BYTES: usize = 16 * 1024;
/// How often, at the cap, another connection is asked to make room while none has yet.
const MAKE_ROOM_AGAIN: Duration = Duration::from_millis(100);
/// How long a connection asked to make room may take to finish sending an answer.
const FINISH_WHEN_MAKING_ROOM: Duration = Duration::from_secs(1);
/// Connections at most, whatever the open-files limit.
const MOST_CONNECTIONS: usize = 16_384;
/// File descriptors kept for everything but connections (files, logs, the accept of a
/// connection that makes another one close), unless an eighth of the limit is more.
const FD_RESERVE: u64 = 64;

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// The soft limit on open files, read from `/proc/self/limits` (None where there is no
/// such file; `u64::MAX` when unlimited).
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&limits)
}

fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    if soft == "unlimited" {
        Some(u64::MAX)
    } else {
        soft.parse().ok()
    }
}

/// The most connections `open_files` descriptors allow: the limit less a reserve (64, or
/// an eighth of the limit if more), never less than half of it; 1024 assumed when unknown.
pub fn connections_within(open_files: Option<u64>) -> usize {
    let limit = open_files.unwrap_or(1024);
    let room = limit
        .saturating_sub(FD_RESERVE.max(limit / 8))
        .max(limit / 2)
        .max(1);
    usize::try_from(room).unwrap_or(usize::MAX)
}

/// `--max-connections` as asked, or the default; never above what the descriptors allow.
pub fn max_connections(asked: Option<usize>, open_files: Option<u64>) -> usize {
    let within = connections_within(open_files);
    match asked {
        None => within.min(MOST_CONNECTIONS),
        Some(n) if n > within => {
            tracing::warn!(
                asked = n,
                allowed = within,
                open_files_limit = open_files,
                "--max-connections is above what the open-files limit allows; using the lower value"
            );
            within
        }
        Some(n) => n.max(1),
    }
}

/// Something connections are accepted from (a TCP listener; a fake in tests).
pub trait Accept: Send + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Io>> + Send;
}

impl Accept for TcpListener {
    type Io = TcpStream;

    async fn accept(&mut self) -> io::Result<TcpStream> {
        let (stream, _) = TcpListener::accept(self).await?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

/// Pauses after accept errors: none after an error of one connection (reset or aborted
/// by its peer), growing pauses after errors of the process or the system (out of file
/// descriptors or memory), so the loop never spins.
#[derive(Debug, Default)]
struct Backoff {
    delay: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MOST: Duration = Duration::from_secs(1);

    fn after(&mut self, e: &io::Error) -> Option<Duration> {
        use io::ErrorKind::*;
        if matches!(
            e.kind(),
            ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
        ) {
            return None;
        }
        self.delay = (self.delay * 2).clamp(Self::FIRST, Self::MOST);
        Some(self.delay)
    }

    fn reset(&mut self) {
        self.delay = Duration::ZERO;
    }
}

/// One open connection, as the cap and the header-read timeout see it.
struct Conn {
    /// Requests being served on it now.
    in_request: AtomicUsize,
    /// Requests on it whose body is still arriving (see [`super::guards::Receiving`]).
    receiving: Arc<AtomicUsize>,
    /// Whether an answer's write waits for the client to take bytes (see
    /// [`super::guards::WriteStall`]).
    blocked: AtomicBool,
    /// Whether it ever delivered a whole request head.
    served: AtomicBool,
    /// Chosen to make room (or stopping): no longer a candidate.
    closing: AtomicBool,
    close: Notify,
    /// Requests on it whose answer is not yet all handed to the socket (see [`Answer`]).
    answering: AtomicUsize,
    /// When it last finished an answer or wrote bytes to its socket ([`WriteWatch`]), or was
    /// opened: nanoseconds after `opened`.
    idle_since: AtomicU64,
    opened: tokio::time::Instant,
    /// Bytes written to its socket, since it opened.
    written: AtomicU64,
    /// `/v1` answers on it not yet known to be handed to the socket whole (see [`Sending`]).
    sending: Mutex<Vec<Arc<Sending>>>,
    /// How many are in `sending` (so a flush with none looks at no lock).
    unsent: AtomicUsize,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            in_request: AtomicUsize::new(0),
            receiving: Arc::default(),
            blocked: AtomicBool::new(false),
            served: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            close: Notify::new(),
            answering: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            opened: tokio::time::Instant::now(),
            written: AtomicU64::new(0),
            sending: Mutex::new(Vec::new()),
            unsent: AtomicUsize::new(0),
        }
    }

    /// A `/v1` answer begins on this connection: watched until it is handed to the
    /// socket whole.
    fn sending(&self, delivery: Delivery, status: u16) -> Arc<Sending> {
        let sending = Arc::new(Sending {
            delivery,
            status,
            from: self.written.load(Ordering::SeqCst),
            ended: AtomicBool::new(false),
        });
        let mut all = self.sending.lock().unwrap_or_else(|e| e.into_inner());
        all.push(sending.clone());
        self.unsent.store(all.len(), Ordering::SeqCst);
        sending
    }

    /// The answers on this connection that its end cut short (not handed to the socket
    /// whole): each logged with its ids and counted, with `reason`.
    fn report_cut(&self, reason: &'static str) {
        let cut = std::mem::take(&mut *self.sending.lock().unwrap_or_else(|e| e.into_inner()));
        self.unsent.store(0, Ordering::SeqCst);
        let written = self.written.load(Ordering::SeqCst);
        for answer in cut {
            metrics::counter!("aftersales_responses_cut_total", "reason" => reason).increment(1);
            let Delivery {
                request_id,
                decision_id,
                batch_id,
            } = &answer.delivery;
            tracing::warn!(
                request_id = request_id.to_str().unwrap_or("-"),
                decision_id = decision_id.as_deref(),
                batch_id = batch_id.as_deref(),
                status = answer.status,
                bytes_sent = written.saturating_sub(answer.from),
                body_taken = answer.ended.load(Ordering::SeqCst),
                reason,
                "answer cut short: its connection closed before all of it was written; the client did not receive it in full"
            );
        }
    }

    /// From now on, the connection waits for a request head (unless answering).
    fn idle_now(&self) {
        let since = u64::try_from(self.opened.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.idle_since.fetch_max(since, Ordering::SeqCst);
    }

    /// When the connection must have sent a whole request head, if it is waiting for
    /// one (else `now` + `limit`: checked again then); None when that time has passed.
    fn head_due(&self, limit: Duration) -> Option<tokio::time::Instant> {
        let now = tokio::time::Instant::now();
        if self.answering.load(Ordering::SeqCst) > 0 {
            return Some(now + limit);
        }
        let since = Duration::from_nanos(self.idle_since.load(Ordering::SeqCst));
        let due = self.opened + since + limit;
        (due > now).then_some(due)
    }
}

/// What the connection's socket ([`WriteStall`]) tells: whether a write waits for the
/// client; and each write that takes bytes, which moves `idle_since` on. hyper drops an
/// answer's body once it has taken its last bytes, which may still wait in its buffer for
/// a slow client: the connection is idle (waiting for a head) only from its last write on.
impl WriteWatch for Conn {
    fn waiting(&self, waiting: bool) {
        self.blocked.store(waiting, Ordering::SeqCst);
    }

    fn wrote(&self, bytes: usize) {
        self.written.fetch_add(bytes as u64, Ordering::SeqCst);
        self.idle_now();
    }

    /// hyper's buffer is empty: every answer whose body it has taken whole is on the
    /// socket.
    fn flushed(&self) {
        if self.unsent.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut all = self.sending.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|answer| !answer.ended.load(Ordering::SeqCst));
        self.unsent.store(all.len(), Ordering::SeqCst);
    }
}

/// A `/v1` answer being sent on a connection: until hyper has taken its body whole
/// (`ended`, set when it drops the body) and then flushed its buffer to the socket, the
/// answer is not sent whole. One still so when its connection ends was cut short
/// ([`Conn::report_cut`]).
struct Sending {
    delivery: Delivery,
    status: u16,
    /// The connection's bytes written when it began.
    from: u64,
    ended: AtomicBool,
}

/// Why a connection ended with an answer not sent whole (`aftersales_responses_cut_total`'s
/// `reason`): the client took none of it for the send timeout; the client closed or reset
/// the connection; it was closed to make room at the connection cap; the server stopped
/// (past its grace period).
pub const CUT_REASONS: [&str; 4] = ["send_timeout", "client_gone", "made_room", "shutdown"];

/// The open connections, oldest first.
#[derive(Default)]
struct Open {
    conns: Mutex<BTreeMap<u64, Arc<Conn>>>,
    next: AtomicU64,
}

impl Open {
    fn add(&self) -> (u64, Arc<Conn>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new());
        if let Ok(mut conns) = self.conns.lock() {
            conns.insert(id, conn.clone());
        }
        (id, conn)
    }

    fn remove(&self, id: u64) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.remove(&id);
        }
    }

    /// Asks a connection to close, the oldest first of those that go at once: not inside
    /// a request and not waiting for its client to take an answer; else still receiving a
    /// request's body; else not inside a request (it gets a moment to finish its answer).
    /// False when every one is at work on a request.
    fn make_room(&self) -> bool {
        let Ok(conns) = self.conns.lock() else {
            return false;
        };
        let candidates = || conns.values().filter(|c| !c.closing.load(Ordering::SeqCst));
        let outside = |c: &&Arc<Conn>| c.in_request.load(Ordering::SeqCst) == 0;
        let victim = candidates()
            .find(|c| outside(c) && !c.blocked.load(Ordering::SeqCst))
            .or_else(|| candidates().find(|c| c.receiving.load(Ordering::SeqCst) > 0))
            .or_else(|| candidates().find(outside));
        match victim {
            Some(conn) => {
                conn.closing.store(true, Ordering::SeqCst);
                conn.close.notify_one();
                metrics::counter!("aftersales_connections_evicted_total").increment(1);
                true
            }
            None => false,
        }
    }
}

/// What a connection's task holds: its place under the cap, and its entry.
struct Held {
    _permit: OwnedSemaphorePermit,
    open: Arc<Open>,
    id: u64,
    _alive: watch::Receiver<()>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.open.remove(self.id);
        metrics::gauge!("aftersales_connections_open").decrement(1.0);
    }
}

/// Marks a connection inside a request while a request is served.
struct InRequest(Arc<Conn>);

impl InRequest {
    fn begin(conn: &Arc<Conn>) -> InRequest {
        conn.served.store(true, Ordering::SeqCst);
        conn.in_request.fetch_add(1, Ordering::SeqCst);
        InRequest(conn.clone())
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        self.0.in_request.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request from its head until hyper has taken its answer's whole body (it drops the
/// body then; the bytes it still holds are written later, see [`WriteWatch`]): while one is, the
/// connection is not waiting for a head.
struct Answering(Arc<Conn>);

impl Answering {
    fn begin(conn: &Arc<Conn>) -> Answering {
        conn.answering.fetch_add(1, Ordering::SeqCst);
        Answering(conn.clone())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let conn = &self.0;
        conn.idle_now();
        conn.answering.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer's body, and its request's [`Answering`] until the body is dropped.
struct Answer<B: hyper::body::Body> {
    body: B,
    _answering: Answering,
    /// A `/v1` answer's watch: told whether the body was taken whole when it is dropped.
    sending: Option<Arc<Sending>>,
    /// The body said it has no more frames.
    done: bool,
    /// Bytes of data hyper has taken from it, and how many it said it has (hyper stops
    /// at that length without asking for the end).
    taken: u64,
    length: Option<u64>,
}

impl<B: hyper::body::Body> Answer<B> {
    /// Marks its watch `ended` once hyper has taken the body whole: it said it has no more
    /// frames, or it is at its end, or hyper has taken the length it was told.
    fn mark_if_taken(&self) {
        if let Some(sending) = &self.sending
            && (self.done || self.body.is_end_stream() || self.length == Some(self.taken))
        {
            sending.ended.store(true, Ordering::SeqCst);
        }
    }
}

impl<B: hyper::body::Body> Drop for Answer<B> {
    fn drop(&mut self) {
        self.mark_if_taken();
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Answer<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.done = true,
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.taken += hyper::body::Buf::remaining(data) as u64;
                }
            }
            _ => return polled,
        }
        // Its last bytes are hyper's now (it may keep the body until the next answer,
        // having stopped at the length it was told): the next flush hands them over.
        self.mark_if_taken();
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Serves `router` on connections from `listener` until `stop` completes; then stops
/// accepting, lets requests in progress finish (up to `grace`) and returns. False when
/// the grace period ran out with requests still in progress.
pub async fn serve<A: Accept>(
    mut listener: A,
    routes: Routes,
    options: Options,
    stop: impl Future<Output = ()> + Send,
    grace: Duration,
) -> bool {
    let room = Arc::new(Semaphore::new(
        options.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let open = Arc::new(Open::default());
    let (stopping_tx, stopping) = watch::channel(false);
    let (alive_tx, alive) = watch::channel(());
    let mut backoff = Backoff::default();
    tokio::pin!(stop);
    'accepting: loop {
        let io = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let io = match io {
            Ok(io) => {
                backoff.reset();
                io
            }
            Err(e) => {
                metrics::counter!("aftersales_accept_errors_total").increment(1);
                if let Some(pause) = backoff.after(&e) {
                    tracing::warn!(error = %e, pause_ms = pause.as_millis() as u64, "accept failed; pausing");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = &mut stop => break,
                    }
                }
                continue;
            }
        };
        let permit = match room.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => loop {
                // Again every so often: a connection asked to close may still be
                // finishing a response.
                open.make_room();
                tokio::select! {
                    permit = room.clone().acquire_owned() => match permit {
                        Ok(permit) => break permit,
                        Err(_) => break 'accepting,
                    },
                    () = tokio::time::sleep(MAKE_ROOM_AGAIN) => {}
                    () = &mut stop => break 'accepting,
                }
            },
        };
        let (id, conn) = open.add();
        metrics::gauge!("aftersales_connections_open").increment(1.0);
        let held = Held {
            _permit: permit,
            open: open.clone(),
            id,
            _alive: alive.clone(),
        };
        tokio::spawn(connection(
            io,
            routes.clone(),
            conn,
            options.header_read_timeout,
            stopping.clone(),
            held,
        ));
    }
    drop(listener);
    drop(alive);
    let _ = stopping_tx.send(true);
    tokio::time::timeout(grace, alive_tx.closed()).await.is_ok()
}

/// Serves one connection until it ends, is asked to make room, or the server stops.
async fn connection<I>(
    io: I,
    routes: Routes,
    conn: Arc<Conn>,
    header_read_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
    held: Held,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = {
        let conn = conn.clone();
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let answering = Answering::begin(&conn);
            let in_request = InRequest::begin(&conn);
            let req = req.map(|body| Receiving::new(body, &conn.receiving));
            let call = routes.call(req);
            async move {
                let res = call.await;
                drop(in_request);
                res.map(|mut res| {
                    let sending = res
                        .extensions_mut()
                        .remove::<Delivery>()
                        .map(|delivery| answering.0.sending(delivery, res.status().as_u16()));
                    // The length hyper stops at: the body's own, or the one the route
                    // set in the head (a body streamed in pieces).
                    let declared = res
                        .headers()
                        .get(hyper::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                    res.map(|body| Answer {
                        length: hyper::body::Body::size_hint(&body).exact().or(declared),
                        body,
                        _answering: answering,
                        sending,
                        done: false,
                        taken: 0,
                    })
                })
            }
        })
    };
    // The header-read timeout is ours (`head_due`): hyper's arms a timer for every
    // request; ours is one per connection, moved on only when it fires. An answer's head
    // and body are copied into one buffer and written at once, rather than queued and
    // written as pieces: fewer instructions for the small answers this mostly sends
    // (0.46k of a /healthz's 18.9k), and the buffer keeps to the same bound.
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .header_read_timeout(None)
        .max_buf_size(READ_BUFFER_BYTES)
        .writev(false);
    // Dropped after the connection (declared before it): answers it had not sent whole
    // are reported then, "shutdown" unless the loop says why it ended.
    let mut cut = CutOnEnd {
        conn: conn.clone(),
        reason: "shutdown",
    };
    let io = WriteStall::new(io, header_read_timeout, conn.clone());
    let http = http1.serve_connection(TokioIo::new(io), service);
    tokio::pin!(http);
    // What besides hyper ends or changes the connection, polled only once one of them
    // has woken the task (see [`Signals`]).
    let signals = Signals::new();
    let head_timer = tokio::time::sleep(header_read_timeout);
    tokio::pin!(head_timer);
    let close = conn.close.notified();
    tokio::pin!(close);
    let stop = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    tokio::pin!(stop);
    let mut closing = false;
    // Set when asked to make room: by then the answer being sent must be taken.
    let mut finish_by: Option<Pin<Box<Sleep>>> = None;
    loop {
        // The signals are polled again after each one handled: a timer moved on waits
        // anew.
        signals.poll_again();
        let signal = std::future::poll_fn(|cx| {
            // The connection first: a head that came in time is read (and its request
            // begun) before a timer that fired meanwhile is looked at.
            if let Poll::Ready(ended) = http.as_mut().poll(cx) {
                return Poll::Ready(Signal::Ended(ended.err()));
            }
            let Some(signals_cx) = &mut signals.context_if_woken(cx) else {
                return Poll::Pending;
            };
            if head_timer.as_mut().poll(signals_cx).is_ready() {
                return Poll::Ready(Signal::HeadDue);
            }
            if !closing {
                if close.as_mut().poll(signals_cx).is_ready() {
                    return Poll::Ready(Signal::Close { made_room: true });
                }
                if stop.as_mut().poll(signals_cx).is_ready() {
                    return Poll::Ready(Signal::Close { made_room: false });
                }
            }
            if let Some(finish) = &mut finish_by
                && finish.as_mut().poll(signals_cx).is_ready()
            {
                return Poll::Ready(Signal::FinishDue);
            }
            Poll::Pending
        })
        .await;
        let made_room = match signal {
            Signal::Ended(error) => {
                cut.reason = "client_gone";
                if let Some(error) = error {
                    if timed_out(&error) {
                        cut.reason = "send_timeout";
                    }
                    count_parser_refusal(&error);
                }
                break;
            }
            Signal::HeadDue => match conn.head_due(header_read_timeout) {
                Some(due) => {
                    head_timer.as_mut().reset(due);
                    continue;
                }
                // No whole request head in time, or idle that long (an answer's last
                // bytes not taken either): closed.
                None => {
                    cut.reason = "send_timeout";
                    break;
                }
            },
            Signal::Close { made_room } => made_room,
            Signal::FinishDue => {
                // Not in a request: still sending an answer its client does not take.
                if conn.in_request.load(Ordering::SeqCst) == 0 {
                    cut.reason = "made_room";
                    break;
                }
                finish_by = Some(Box::pin(tokio::time::sleep(FINISH_WHEN_MAKING_ROOM)));
                continue;
            }
        };
        // Asked to close: one that never sent a whole request head goes at once, and so
        // does one making room while its request's body is still arriving; any other
        // finishes the request it is in (closing now if it is idle).
        if !conn.served.load(Ordering::SeqCst)
            || (made_room && conn.receiving.load(Ordering::SeqCst) > 0)
        {
            break;
        }
        closing = true;
        if made_room {
            finish_by = Some(Box::pin(tokio::time::sleep(FINISH_WHEN_MAKING_ROOM)));
        }
        http.as_mut().graceful_shutdown();
    }
    drop(held);
}

/// Reports, when a connection ends (or its task is dropped at the end of the grace
/// period), the `/v1` answers it had not sent whole ([`Conn::report_cut`]).
struct CutOnEnd {
    conn: Arc<Conn>,
    reason: &'static str,
}

impl Drop for CutOnEnd {
    fn drop(&mut self) {
        if self.conn.unsent.load(Ordering::SeqCst) > 0 {
            self.conn.report_cut(self.reason);
        }
    }
}

/// Whether hyper ended a connection on our send timeout ([`WriteStall`]'s `TimedOut`).
fn timed_out(error: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return io.kind() == io::ErrorKind::TimedOut;
        }
        source = e.source();
    }
    false
}

/// A request head hyper's parser refused: hyper answers it itself, before any of the
/// service's layers runs, with an empty body (no problem+json: hyper 1.x has no hook for
/// it) and the connection closed: 431 for a head over [`READ_BUFFER_BYTES`] or more than
/// 100 header lines, 400 for any other head it cannot read (two Content-Lengths that
/// differ, `Content-Length: -1`, a control character in a header, `HTTP/2.7`, TLS bytes).
/// No `served` line is written for it (there is no request): counted here, by kind, and
/// said at debug.
fn count_parser_refusal(error: &hyper::Error) {
    let kind = if error.is_parse_too_large() {
        "too_large"
    } else if error.is_parse() || error.is_parse_version_h2() {
        "malformed"
    } else {
        return;
    };
    metrics::counter!("aftersales_http_parse_errors_total", "kind" => kind).increment(1);
    tracing::debug!(%error, kind, "request head refused by the HTTP parser (answered by hyper with an empty body, connection closed)");
}

/// What woke a connection's loop.
enum Signal {
    /// hyper is done with the connection (with its error, if it ended on one).
    Ended(Option<hyper::Error>),
    /// The head timer fired: is a head overdue?
    HeadDue,
    /// Asked to make room, or the server stops.
    Close { made_room: bool },
    /// Asked to make room a while ago, and still sending an answer.
    FinishDue,
}

/// Whether a connection's signals (its timers, a request to close it) woke its task since
/// they were last polled. hyper wakes the task once or twice for each request (twice
/// when it has a body): polling every timer and wait at each wake cost 0.36k
/// instructions a /healthz and 0.8k a decision. The signals are polled with a waker of
/// their own, which notes that one of them woke the task, then wakes it.
struct Signals {
    woke: Arc<Woke>,
    waker: Waker,
}

#[derive(Default)]
struct Woke {
    since_polled: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Woke {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.since_polled.store(true, Ordering::SeqCst);
        self.task.wake();
    }
}

impl Signals {
    fn new() -> Signals {
        let woke = Arc::new(Woke::default());
        Signals {
            waker: Waker::from(woke.clone()),
            woke,
        }
    }

    /// The signals are to be polled at the next poll, whether one woke the task or not.
    fn poll_again(&self) {
        self.woke.since_polled.store(true, Ordering::SeqCst);
    }

    /// The context to poll the signals in, when one of them woke the task (`cx`'s) since
    /// they were last polled (or [`Signals::poll_again`] asked).
    fn context_if_woken(&self, cx: &Context<'_>) -> Option<Context<'_>> {
        // The task's waker first: a signal that fires from now on wakes it.
        self.woke.task.register(cx.waker());
        self.woke
            .since_polled
            .swap(false, Ordering::SeqCst)
            .then(|| Context::from_waker(&self.waker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use tokio::io::ReadBuf;

    #[test]
    fn the_open_files_limit_is_read_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            256                  524288               files     \n";
        assert_eq!(parse_open_files_limit(limits), Some(256));
        let unlimited = limits.replace("256    ", "unlimited");
        assert_eq!(parse_open_files_limit(&unlimited), Some(u64::MAX));
        assert_eq!(parse_open_files_limit("nothing here"), None);
    }

    #[test]
    fn connections_stay_below_the_open_files_limit() {
        assert_eq!(connections_within(Some(256)), 192);
        assert_eq!(connections_within(Some(1024)), 896);
        assert_eq!(connections_within(Some(64)), 32);
        assert_eq!(connections_within(Some(1)), 1);
        assert_eq!(connections_within(None), 896);
        assert_eq!(max_connections(None, Some(u64::MAX)), MOST_CONNECTIONS);
        assert_eq!(max_connections(None, Some(256)), 192);
        assert_eq!(max_connections(Some(1000), Some(256)), 192, "capped");
        assert_eq!(max_connections(Some(100), Some(256)), 100);
    }

    #[test]
    fn accept_errors_of_the_process_back_off_and_of_a_connection_do_not() {
        let mut b = Backoff::default();
        let emfile = io::Error::from_raw_os_error(24);
        let pauses: Vec<u128> = (0..9)
            .filter_map(|_| b.after(&emfile))
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(b.after(&io::ErrorKind::ConnectionAborted.into()), None);
        b.reset();
        assert_eq!(b.after(&emfile), Some(Backoff::FIRST));
    }

    /// Counts the wakes of a task.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_signals_are_polled_again_only_once_one_has_woken_the_task() {
        let wakes = Arc::new(Wakes::default());
        let task = Waker::from(wakes.clone());
        let cx = Context::from_waker(&task);
        let signals = Signals::new();
        signals.poll_again();
        assert!(signals.context_if_woken(&cx).is_some(), "polled at first");
        assert!(
            signals.context_if_woken(&cx).is_none(),
            "not polled again unwoken"
        );
        // A signal fires: the task is woken, and its next poll polls the signals.
        let fired = signals.woke.clone();
        Waker::from(fired).wake();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the task woken");
        assert!(signals.context_if_woken(&cx).is_some(), "polled once woken");
        assert!(signals.context_if_woken(&cx).is_none(), "and not again");
    }

    /// Accepting fails every time, as when the process is out of file descriptors.
    struct OutOfFiles(Arc<AtomicUsize>);

    impl Accept for OutOfFiles {
        type Io = tokio::io::DuplexStream;

        async fn accept(&mut self) -> io::Result<Self::Io> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(io::Error::from_raw_os_error(24))
        }
    }

    /// `router` served on a loopback port (4 connections at most, a 1 s header-read
    /// timeout): its address, what stops it, and the serving task (true when it stopped
    /// cleanly).
    async fn on_loopback(
        router: Router,
    ) -> (
        std::net::SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<bool>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let options = Options {
            max_connections: 4,
            header_read_timeout: Duration::from_secs(1),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router.into(),
            options,
            async {
                let _ = stopped.await;
            },
            Duration::from_secs(1),
        ));
        (addr, stop, server)
    }

    #[tokio::test(start_paused = true)]
    async fn the_accept_loop_does_not_spin_on_emfile() {
        let calls = Arc::new(AtomicUsize::new(0));
        let options = Options {
            max_connections: 4,
            header_read_timeout: Duration::from_secs(1),
        };
        let stop = tokio::time::sleep(Duration::from_secs(10));
        let done = serve(
            OutOfFiles(calls.clone()),
            Router::new().into(),
            options,
            stop,
            Duration::from_secs(1),
        )
        .await;
        assert!(done);
        let calls = calls.load(Ordering::SeqCst);
        // 10 ms doubling to 1 s: about 16 tries in 10 s.
        assert!((10..=20).contains(&calls), "{calls} accepts in 10 s");
    }

    /// An answer that takes longer than the header-read timeout to send (its body comes
    /// slowly) is sent whole: a connection answering is not waiting for a head.
    #[tokio::test]
    async fn an_answer_slower_than_the_header_timeout_is_sent_whole() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let slow = || async {
            let chunks = futures_util::stream::unfold(0u8, |n| async move {
                if n == 5 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(400)).await;
                let chunk = axum::body::Bytes::from(vec![b'a' + n; 10]);
                Some((Ok::<_, io::Error>(chunk), n + 1))
            });
            axum::body::Body::from_stream(chunks)
        };
        let router = Router::new().route("/slow", axum::routing::get(slow));
        let (addr, stop, server) = on_loopback(router).await;
        let mut s = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        for n in 0..5u8 {
            let chunk = String::from_utf8(vec![b'a' + n; 10]).unwrap_or_default();
            assert!(answer.contains(&chunk), "chunk {n} missing: {answer}");
        }
        let _ = stop.send(());
        assert!(server.await.unwrap_or(false));
    }
    /// A request head sent a byte at a time and never finished: the connection is closed
    /// once the header-read timeout has passed, each byte notwithstanding.
    #[tokio::test]
    async fn a_head_trickling_in_is_closed_at_the_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let router = Router::new().route("/", axum::routing::get(|| async { "hi" }));
        let (addr, stop, server) = on_loopback(router).await;
        let s = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (mut r, mut w) = s.into_split();
        let trickle = tokio::spawn(async move {
            let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: ".iter().copied();
            for byte in head.chain(std::iter::repeat(b'a')).take(200) {
                if w.write_all(&[byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        // Closed by the server (no answer: it never had a whole head) well before the
        // client would have finished its 10 s trickle.
        let mut answer = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(8), r.read_to_end(&mut answer)).await;
        assert!(
            closed.is_ok(),
            "still open after 8 s of a 1 s header-read timeout"
        );
        trickle.abort();
        let _ = stop.send(());
        assert!(server.await.unwrap_or(false));
    }

    /// A large answer its client reads slowly, for longer than the header-read timeout
    /// after the handler's body was all taken (hyper holds the rest in its buffer), is
    /// sent whole: the connection is still answering until its last byte is written.
    #[tokio::test]
    async fn a_large_answer_read_slowly_is_sent_whole() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        const SIZE: usize = 32 << 20;
        let big = || async { vec![b'x'; SIZE] };
        let router = Router::new().route("/big", axum::routing::get(big));
        let (addr, stop, server) = on_loopback(router).await;
        let mut s = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        s.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // About 1 MiB every 100 ms: some progress well within the timeout each time,
        // some 3 s in all.
        let mut got = 0usize;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(got > SIZE, "{got} bytes of a {SIZE}-byte answer");
        let _ = stop.send(());
        assert!(server.await.unwrap_or(false));
    }
    /// A socket whose bytes to read are there from the start, but which never wakes its
    /// reader: only a timer does, as when a busy machine runs a connection's task late.
    struct Unwoken {
        head: Arc<Mutex<Vec<u8>>>,
        out: Arc<Mutex<Vec<u8>>>,
    }

    impl AsyncRead for Unwoken {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let Ok(mut head) = self.head.lock() else {
                return Poll::Ready(Err(io::Error::other("poisoned")));
            };
            if head.is_empty() {
                return Poll::Pending;
            }
            let n = head.len().min(buf.remaining());
            buf.put_slice(&head[..n]);
            head.drain(..n);
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Unwoken {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if let Ok(mut out) = self.out.lock() {
                out.extend_from_slice(buf);
            }
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// A whole head that arrived in time is served even when the connection's task runs
    /// only once the timeout has passed: the head is read before the timer is looked at.
    #[tokio::test(start_paused = true)]
    async fn a_head_in_time_is_served_when_its_task_runs_late() {
        let limit = Duration::from_secs(1);
        let router = Router::new().route("/", axum::routing::get(|| async { "hi" }));
        let open = Arc::new(Open::default());
        let room = Arc::new(Semaphore::new(64));
        let (_alive_tx, alive) = watch::channel(());
        let (_stop_tx, stopping) = watch::channel(false);
        // Which of two ready branches `select!` takes first is left to chance unless
        // told: many connections, so that chance cannot pass the test.
        for n in 0..32 {
            let out = Arc::new(Mutex::new(Vec::new()));
            let head = Arc::new(Mutex::new(Vec::new()));
            let io = Unwoken {
                head: head.clone(),
                out: out.clone(),
            };
            let (id, conn) = open.add();
            let held = Held {
                _permit: room
                    .clone()
                    .try_acquire_owned()
                    .unwrap_or_else(|e| panic!("{e}")),
                open: open.clone(),
                id,
                _alive: alive.clone(),
            };
            let task = tokio::spawn(connection(
                io,
                router.clone().into(),
                conn,
                limit,
                stopping.clone(),
                held,
            ));
            // The task reads nothing yet and arms its timer; then the head comes, in
            // time, without waking it: the timer does, once it has passed.
            tokio::task::yield_now().await;
            if let Ok(mut head) = head.lock() {
                head.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            }
            let _ = task.await;
            let out = out.lock().map(|o| o.clone()).unwrap_or_default();
            let out = String::from_utf8_lossy(&out);
            assert!(out.starts_with("HTTP/1.1 200"), "connection {n}: {out:?}");
        }
    }
}
