//! Logging: JSON lines (default) or human-readable, filtered by `RUST_LOG`.
//!
//! Lines go to stderr through one shared buffer: a request appends its line (a copy under
//! a lock), and the buffer is written out when it holds [`BATCH_BYTES`], by whoever filled
//! it, or every [`EVERY`] by a thread of its own, so a quiet server's lines still appear at
//! once. A `write(2)` per line cost more than the rest of a `/healthz`; handing each line
//! to a thread cost a wake-up each. [`flush`] writes out what is buffered (before the
//! process exits).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::cli::LogFormat;

/// Bytes buffered before they are written out by the request that filled the buffer.
const BATCH_BYTES: usize = 32 * 1024;
/// How often the buffer is written out anyway.
const EVERY: Duration = Duration::from_millis(20);

/// Whether the installed subscriber writes JSON lines (see [`json`]).
static JSON: AtomicBool = AtomicBool::new(false);

/// Whether the logs are JSON lines, written by the subscriber this module installed:
/// then a line written with [`write_line`] joins them, in the same buffer.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Installs the global subscriber; logs go to stderr.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal, never into files or log collectors.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => {
            let installed = builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .try_init();
            JSON.store(installed.is_ok(), Ordering::Relaxed);
        }
        LogFormat::Pretty => {
            let _ = builder.try_init();
        }
    }
}

/// Adds one whole line (ending in a newline) to the logs, as the subscriber adds its own.
pub fn write_line(line: &[u8]) {
    let buffer = buffer();
    let full = match buffer.lock() {
        Ok(mut lines) => {
            lines.extend_from_slice(line);
            lines.len() >= BATCH_BYTES
        }
        Err(_) => return,
    };
    if full {
        write_out(buffer, BATCH_BYTES - 1);
    }
}

/// Writes out every line logged so far (before the process exits).
pub fn flush() {
    write_out(buffer(), 0);
}

/// The shared buffer, and the thread that writes it out every [`EVERY`], started on
/// first use.
fn buffer() -> &'static Mutex<Vec<u8>> {
    static BUFFER: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        // Without the thread (none could start), lines wait for the next full buffer
        // or `flush`.
        let _ = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(EVERY);
                    write_out(buffer(), 0);
                }
            });
        Mutex::new(Vec::with_capacity(BATCH_BYTES * 2))
    })
}

/// Writes the buffer out if it holds more than `above` bytes.
fn write_out(buffer: &Mutex<Vec<u8>>, above: usize) {
    let Ok(mut lines) = buffer.lock() else {
        return;
    };
    if lines.len() > above {
        // Nowhere to report a failed write of the logs to.
        let _ = std::io::stderr().write_all(&lines);
        lines.clear();
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

/// One event's text, put in the shared buffer when complete.
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
        if !self.0.is_empty() {
            write_line(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_waits_in_the_buffer_whole_until_it_is_written_out() {
        let buffer = Mutex::new(Vec::new());
        if let Ok(mut b) = buffer.lock() {
            b.extend_from_slice(b"one line\n");
        }
        // Not above the threshold: it stays.
        write_out(&buffer, 100);
        assert_eq!(buffer.lock().map(|b| b.len()).unwrap_or(0), 9);
        write_out(&buffer, 0);
        assert_eq!(buffer.lock().map(|b| b.len()).unwrap_or(1), 0);
    }
}
