//! Two wrappers the accept loop ([`super::serve`]) puts around each connection, so a
//! client cannot hold one for good by not taking part:
//!
//! - [`WriteStall`] around the socket: a write (or flush) that makes no progress for the
//!   stall limit fails with `TimedOut`, and hyper then closes the connection. A client
//!   that never reads its answers would otherwise keep the connection, and the answer's
//!   memory, for as long as it likes (a slow reader makes progress and is not cut).
//! - [`Receiving`] around a request's body: counts the requests of a connection whose
//!   body is still arriving, so that at the connection cap such a connection can be
//!   chosen to make room (a body that trickles in is not work in progress: nothing has
//!   been decided yet).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// What a [`WriteStall`] tells, as its writes happen, to whoever keeps the connection.
pub trait WriteWatch: Send + Sync {
    /// Whether a write now waits for the client to take bytes.
    fn waiting(&self, waiting: bool);
    /// A write took `bytes` (flushes are not writes: hyper flushes at every poll).
    fn wrote(&self, bytes: usize) {
        let _ = bytes;
    }
    /// A flush returned: all that hyper had buffered was handed to the socket (hyper
    /// writes its whole buffer before it flushes the socket).
    fn flushed(&self) {}
}

/// Only whether a write waits.
impl WriteWatch for AtomicBool {
    fn waiting(&self, waiting: bool) {
        self.store(waiting, Ordering::SeqCst);
    }
}

/// A socket whose writes fail once they have made no progress for `limit`.
pub struct WriteStall<I, W = AtomicBool> {
    io: I,
    limit: Duration,
    /// Started when a write or flush first found the socket full; reset by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
    /// Told whether a write waits for the client, and when bytes are written.
    watch: Arc<W>,
}

impl<I, W: WriteWatch> WriteStall<I, W> {
    /// Wraps `io`; `watch` is told, at any moment, whether a write is waiting, and of
    /// every write that took bytes.
    pub fn new(io: I, limit: Duration, watch: Arc<W>) -> WriteStall<I, W> {
        WriteStall {
            io,
            limit,
            stalled: None,
            watch,
        }
    }

    /// A write's result, told to the watch when it took bytes.
    fn wrote(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(bytes @ 1..)) = &polled {
            self.watch.wrote(*bytes);
        }
        self.watch(cx, polled)
    }

    /// What a write that returned `polled` means, given how long writes have stalled.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        self.watch.waiting(polled.is_pending());
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took none of the answer in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: AsyncRead + Unpin, W> AsyncRead for WriteStall<I, W> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin, W: WriteWatch> AsyncWrite for WriteStall<I, W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        if let Poll::Ready(Ok(())) = &polled {
            self.watch.flushed();
        }
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_shutdown(cx);
        self.watch(cx, polled)
    }
}

/// A request body that counts, in `receiving`, as still arriving until it has ended,
/// failed, or been dropped.
pub struct Receiving<B> {
    body: B,
    receiving: Option<Arc<AtomicUsize>>,
}

impl<B: Body> Receiving<B> {
    pub fn new(body: B, receiving: &Arc<AtomicUsize>) -> Receiving<B> {
        let receiving = (!body.is_end_stream()).then(|| {
            receiving.fetch_add(1, Ordering::SeqCst);
            receiving.clone()
        });
        Receiving { body, receiving }
    }
}

impl<B> Receiving<B> {
    fn arrived(&mut self) {
        if let Some(receiving) = self.receiving.take() {
            receiving.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl<B> Drop for Receiving<B> {
    fn drop(&mut self) {
        self.arrived();
    }
}

impl<B: Body + Unpin> Body for Receiving<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_))))
            || self.body.is_end_stream()
        {
            self.arrived();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use tokio::io::AsyncWriteExt;

    /// A body whose next bytes never come.
    struct Never;

    impl Body for Never {
        type Data = Bytes;
        type Error = io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_makes_no_progress_fails_at_the_limit() {
        // A pipe of 64 bytes whose other end never reads.
        let (ours, _theirs) = tokio::io::duplex(64);
        let blocked = Arc::new(AtomicBool::new(false));
        let mut io = WriteStall::new(ours, Duration::from_secs(10), blocked.clone());
        let started = tokio::time::Instant::now();
        let e = io.write_all(&[b'x'; 1000]).await.err();
        assert_eq!(e.map(|e| e.kind()), Some(io::ErrorKind::TimedOut));
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert!(blocked.load(Ordering::SeqCst), "seen waiting");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_reading_is_not_cut() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 16];
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                match tokio::io::AsyncReadExt::read(&mut theirs, &mut buf).await {
                    Ok(0) | Err(_) => return got.len(),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
        });
        let blocked = Arc::new(AtomicBool::new(false));
        let mut io = WriteStall::new(ours, Duration::from_secs(10), blocked.clone());
        // 16 bytes every 5 s: far slower than the limit in total, never stalled that long.
        let written = io.write_all(&[b'x'; 400]).await;
        assert!(written.is_ok(), "{written:?}");
        assert!(
            !blocked.load(Ordering::SeqCst),
            "the last write went through"
        );
        drop(io);
        assert_eq!(reader.await.unwrap_or_default(), 400);
    }

    #[tokio::test]
    async fn a_body_counts_as_arriving_until_it_ends_or_is_dropped() {
        let receiving = Arc::new(AtomicUsize::new(0));
        let empty = Receiving::new(Full::new(Bytes::new()), &receiving);
        assert_eq!(
            receiving.load(Ordering::SeqCst),
            0,
            "an empty body never arrives"
        );
        drop(empty);

        let whole = Receiving::new(Full::new(Bytes::from_static(b"{}")), &receiving);
        assert_eq!(receiving.load(Ordering::SeqCst), 1);
        let read = whole.collect().await.map(|c| c.to_bytes());
        assert_eq!(read.ok().as_deref(), Some(&b"{}"[..]));
        assert_eq!(receiving.load(Ordering::SeqCst), 0, "read to its end");

        let stuck = Receiving::new(Never, &receiving);
        assert_eq!(receiving.load(Ordering::SeqCst), 1);
        drop(stuck);
        assert_eq!(
            receiving.load(Ordering::SeqCst),
            0,
            "dropped before its end"
        );
    }
}
