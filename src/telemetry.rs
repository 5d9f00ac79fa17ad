//! Logging: JSON lines (default) or human-readable, filtered by `RUST_LOG`.
//!
//! Lines go to stderr from a thread of their own. A request's line is handed over, not
//! written, on the request's path: a `write(2)` per line cost more than the rest of a
//! `/healthz`. The thread writes every line waiting in one call, in order. At most
//! [`QUEUE`] lines wait; past that a request waits for room (nothing is dropped).
//! [`flush`] returns once every line logged before it is written.

use std::io::Write;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::cli::LogFormat;

/// Lines waiting for the writer thread at most.
const QUEUE: usize = 16 * 1024;
/// Bytes gathered into one write at most.
const BATCH_BYTES: usize = 64 * 1024;

/// Installs the global subscriber; logs go to stderr.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal, never into files or log collectors.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Stderr)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Waits (a second at most) until every line logged so far is on stderr: before the
/// process exits.
pub fn flush() {
    let Some(queue) = QUEUE_TX.get() else {
        return;
    };
    let (done, written) = mpsc::sync_channel(1);
    if queue.send(Msg::Flush(done)).is_ok() {
        let _ = written.recv_timeout(Duration::from_secs(1));
    }
}

enum Msg {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
}

static QUEUE_TX: OnceLock<SyncSender<Msg>> = OnceLock::new();

/// The queue to the writer thread, started on first use; None if no thread can start
/// (then lines are written on the spot).
fn queue() -> Option<&'static SyncSender<Msg>> {
    static STARTED: Mutex<bool> = Mutex::new(false);
    if let Some(q) = QUEUE_TX.get() {
        return Some(q);
    }
    let mut started = STARTED.lock().ok()?;
    if !*started {
        *started = true;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_lines(rx, std::io::stderr()));
        if spawned.is_ok() {
            let _ = QUEUE_TX.set(tx);
        }
    }
    QUEUE_TX.get()
}

fn write_lines(rx: Receiver<Msg>, mut out: impl Write) {
    let mut batch = Vec::new();
    let mut flushed = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Line(line) => batch.extend_from_slice(&line),
                Msg::Flush(done) => flushed.push(done),
            }
            next = if batch.len() < BATCH_BYTES {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        // Nowhere to report a failed write of the logs to.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
}

/// What the subscriber writes each event with.
struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(Vec::new())
    }
}

/// One event's text, handed to the writer thread when complete.
struct Line(Vec<u8>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.0);
        match queue() {
            Some(q) => {
                if let Err(mpsc::SendError(Msg::Line(line))) = q.send(Msg::Line(line)) {
                    let _ = std::io::stderr().write_all(&line);
                }
            }
            None => {
                let _ = std::io::stderr().write_all(&line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A sink that records every write call.
    #[derive(Clone, Default)]
    struct Calls(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Calls {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut calls) = self.0.lock() {
                calls.push(buf.to_vec());
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn waiting_lines_are_written_in_order_in_one_call_and_a_flush_waits_for_them() {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        for i in 0..100 {
            let _ = tx.send(Msg::Line(format!("line {i}\n").into_bytes()));
        }
        let (done, written) = mpsc::sync_channel(1);
        let _ = tx.send(Msg::Flush(done));
        let calls = Calls::default();
        let sink = calls.clone();
        let writer = std::thread::spawn(move || write_lines(rx, sink));
        assert!(written.recv_timeout(Duration::from_secs(5)).is_ok());
        drop(tx);
        let _ = writer.join();
        let calls = calls.0.lock().map(|c| c.clone()).unwrap_or_default();
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        assert_eq!(calls, vec![text.into_bytes()]);
    }
}
