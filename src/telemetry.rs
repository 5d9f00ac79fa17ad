//! Logging: JSON lines (default) or human-readable, filtered by `RUST_LOG`.
//!
//! Lines go to stderr through one shared buffer: a request appends its line (a copy under
//! a lock), and a thread of its own writes the buffer out every [`EVERY`], or at once when
//! it holds [`BATCH_BYTES`], so a quiet server's lines still appear at once. A `write(2)`
//! per line cost more than the rest of a `/healthz`; handing each line to a thread cost a
//! wake-up each. No request ever writes to stderr itself: when nothing reads stderr (a
//! stuck log collector), the buffer fills to [`MAX_PENDING`] and later lines are dropped,
//! counted in `aftersales_log_lines_dropped_total` and reported in a warning once stderr
//! takes lines again, instead of every request (probes included) waiting on a pipe.
//! [`flush`] writes out what is buffered (before the process exits).

use std::cell::Cell;
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::borrow::Cow;
use std::fmt;

use axum::http::{HeaderValue, Method, Uri};
use futures_util::future::Either;
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing::{Event, Instrument, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{Format, Json, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::LogFormat;
use crate::render::json::escape_into;
use crate::render::times::{Rfc3339, write_digits};

/// Bytes buffered before the writer is woken.
const BATCH_BYTES: usize = 32 * 1024;
/// Bytes buffered at most while stderr takes nothing; lines past it are dropped.
const MAX_PENDING: usize = 4 * 1024 * 1024;
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
                .fmt_fields(SpanFields)
                .event_format(WithRequest(json_format()))
                .try_init();
            JSON.store(installed.is_ok(), Ordering::Relaxed);
        }
        LogFormat::Pretty => {
            let _ = builder.try_init();
        }
    }
}

/// The JSON lines' format: the event's fields flattened, then its target and its span.
fn json_format() -> Format<Json> {
    tracing_subscriber::fmt::format()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
}

/// A request being served, as every line logged while it is served shows it: its
/// `span`, as a tracing span named `request` with these fields would appear.
pub struct RequestFields {
    pub method: Method,
    pub uri: Uri,
    /// Visible ASCII (see `http::middleware`).
    pub id: HeaderValue,
}

impl RequestFields {
    pub fn id(&self) -> &str {
        self.id.to_str().unwrap_or("")
    }

    /// The request's tracing span (the human-readable format shows it on each line).
    pub fn span(&self) -> tracing::Span {
        // Nothing is recorded on the span later: the JSON formatter parses and rewrites a
        // span's fields at every record.
        // Its target is the one the span had when the front made it: `RUST_LOG` filters
        // naming `aftersales::http` keep enabling it.
        tracing::info_span!(target: "aftersales::http::middleware", "request", method = %self.method, path = %self.uri.path(), request_id = %self.id())
    }

    /// Writes `"span":{..}`, as the JSON formatter writes [`RequestFields::span`] (its fields
    /// as [`SpanFields`] writes them, then its name).
    pub fn write_span(&self, out: &mut Vec<u8>) {
        // A method is a token (RFC 9110): nothing in it to escape.
        out.extend_from_slice(b"\"span\":{\"method\":\"");
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.extend_from_slice(b"\",\"path\":");
        json_string(out, self.uri.path());
        out.extend_from_slice(b",\"request_id\":");
        json_string(out, self.id());
        out.extend_from_slice(b",\"name\":\"request\"}");
    }
}

tokio::task_local! {
    /// The request the current task serves, with JSON logs (see [`Scope`]).
    static SERVING: Arc<RequestFields>;
}

/// Where the lines logged while a request is served get its fields from. With JSON logs,
/// a task-local that the line's formatter reads ([`WithRequest`]); with the human format,
/// the request's tracing span. A span per request cost a sixth of a `/healthz`: made, its
/// fields formatted into a String, entered and left at every poll, closed, all of it for
/// the rare line logged inside a request.
pub enum Scope {
    Local(Arc<RequestFields>),
    Span(tracing::Span),
}

impl Scope {
    pub fn new(request: &Arc<RequestFields>) -> Scope {
        if json() {
            Scope::Local(request.clone())
        } else {
            Scope::Span(request.span())
        }
    }

    /// `work`, with the request's fields on every line logged while it runs.
    pub fn wrap<F: Future>(&self, work: F) -> impl Future<Output = F::Output> + use<F> {
        match self {
            Scope::Local(request) => Either::Left(SERVING.scope(request.clone(), work)),
            Scope::Span(span) => Either::Right(work.instrument(span.clone())),
        }
    }

    /// `f`, with the request's fields on every line logged while it runs.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        match self {
            Scope::Local(request) => SERVING.sync_scope(request.clone(), f),
            Scope::Span(span) => span.in_scope(f),
        }
    }
}

/// The JSON formatter, and the request being served ([`Scope`]) as the line's `span`
/// when no tracing span is current: the line is the one it would be inside the
/// request's span.
struct WithRequest(Format<Json>);

impl<S, N> FormatEvent<S, N> for WithRequest
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // As the formatter picks the span it shows: the event's parent, else the current.
        let serving = match event.parent().is_none() && ctx.lookup_current().is_none() {
            true => SERVING.try_with(Arc::clone).ok(),
            false => None,
        };
        let Some(request) = serving else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        // The formatter ends a line with `}` and a newline: the span goes last inside.
        let Some(fields) = line.strip_suffix("}\n") else {
            return writer.write_str(&line);
        };
        let mut span = Vec::with_capacity(128);
        request.write_span(&mut span);
        writer.write_str(fields)?;
        writer.write_char(',')?;
        writer.write_str(std::str::from_utf8(&span).map_err(|_| fmt::Error)?)?;
        writer.write_str("}\n")
    }
}

/// Adds one whole line (ending in a newline) to the logs, as the subscriber adds its own.
pub fn write_line(line: &[u8]) {
    let logs = logs();
    let full = match logs.pending.lock() {
        Ok(mut lines) if lines.len() + line.len() <= MAX_PENDING => {
            lines.extend_from_slice(line);
            lines.len() >= BATCH_BYTES
        }
        Ok(_) => {
            logs.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("aftersales_log_lines_dropped_total").increment(1);
            return;
        }
        Err(_) => return,
    };
    if full {
        match &logs.writer {
            Some(writer) => writer.unpark(),
            // No thread could start: the request that filled the buffer writes it.
            None => write_out(logs),
        }
    }
}

/// Writes out every line logged so far (before the process exits); false when that
/// failed ([`flushed`]).
pub fn flush() -> bool {
    write_out(logs());
    flushed()
}

/// Whether the last write of the logs to stderr did not fail (an error such as EPIPE,
/// EIO or a full disk lost its lines; lines dropped while stderr took nothing are not
/// counted here). At exit, false means the last lines are lost: the exit says so.
pub fn flushed() -> bool {
    !WRITE_FAILED.load(Ordering::SeqCst)
}

/// Whether the last write to stderr failed (see [`flushed`]); apart from [`Logs`] so that
/// asking does not start the writer.
static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

/// The shared buffer and what writes it out.
struct Logs {
    /// Lines not yet written.
    pending: Mutex<Vec<u8>>,
    /// Held while writing to stderr, so two writes never interleave (the writer and
    /// [`flush`]); never held with `pending`'s lock waiting on it.
    output: Mutex<()>,
    /// Lines dropped since the last report.
    dropped: AtomicU64,
    /// Lines lost to failed writes (an error from stderr) since the last report.
    lost: AtomicU64,
    /// A write failed part way: its line is ended before anything else is written, so the
    /// next line is not joined to it. Under `output`'s lock.
    torn: AtomicBool,
    /// The thread that writes `pending` out every [`EVERY`], or when woken.
    writer: Option<std::thread::Thread>,
}

/// The logs, and their writer thread, started on first use.
fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let writer = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(|| {
                loop {
                    std::thread::park_timeout(EVERY);
                    write_out(logs());
                }
            })
            .ok()
            .map(|handle| handle.thread().clone());
        Logs {
            pending: Mutex::new(Vec::with_capacity(BATCH_BYTES * 2)),
            output: Mutex::new(()),
            dropped: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            torn: AtomicBool::new(false),
            writer,
        }
    })
}

/// Writes out what is pending: taken from the buffer under its lock, written without it,
/// so requests keep logging (into the buffer) while stderr is slow.
fn write_out(logs: &Logs) {
    let Ok(writing) = logs.output.lock() else {
        return;
    };
    let lines = match logs.pending.lock() {
        Ok(mut pending) if !pending.is_empty() => {
            std::mem::replace(&mut *pending, Vec::with_capacity(BATCH_BYTES * 2))
        }
        _ => Vec::new(),
    };
    let mut lost = 0;
    if !lines.is_empty() {
        let torn = logs.torn.swap(false, Ordering::SeqCst);
        let (written, result) = write_all(&mut std::io::stderr(), torn, &lines);
        WRITE_FAILED.store(result.is_err(), Ordering::SeqCst);
        if result.is_err() {
            // Counted (the lines the write did not finish), and said once stderr takes
            // lines again; the exit code says it if no write works after this one.
            let rest = lines.get(written..).unwrap_or_default();
            lost = memchr::memchr_iter(b'\n', rest).count() as u64;
            // Nothing written: still as torn as before (at worst an empty line follows).
            let torn_now = match written.checked_sub(1) {
                Some(last) => lines.get(last) != Some(&b'\n'),
                None => torn,
            };
            logs.torn.store(torn_now, Ordering::SeqCst);
            logs.lost.fetch_add(lost, Ordering::Relaxed);
            metrics::counter!("aftersales_log_lines_dropped_total").increment(lost);
        }
    }
    drop(writing);
    // Reported once stderr took lines again, outside the lock (the warning is a line).
    if lost > 0 || !flushed() {
        return;
    }
    let dropped = logs.dropped.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "log lines dropped: stderr took none while the buffer was full"
        );
    }
    let lost = logs.lost.swap(0, Ordering::Relaxed);
    if lost > 0 {
        tracing::warn!(lost, "log lines lost: writing them to stderr failed");
    }
}

/// Writes `lines` to `out`, after a newline that ends a line torn before when `torn`:
/// how many bytes of `lines` were written, and whether all were.
fn write_all(out: &mut impl Write, torn: bool, lines: &[u8]) -> (usize, std::io::Result<()>) {
    if torn && let Err(e) = out.write_all(b"\n") {
        return (0, Err(e));
    }
    let mut written = 0;
    while written < lines.len() {
        match out.write(&lines[written..]) {
            Ok(0) => return (written, Err(std::io::ErrorKind::WriteZero.into())),
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (written, Err(e)),
        }
    }
    (written, Ok(()))
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

/// A span's fields for the JSON logs, as the formatter's own `JsonFields` writes them (a
/// JSON object, keys in order, the last value of a key kept: a line's `span` is the
/// same), but in one write: `JsonFields` builds a map and writes it to the span's text
/// token by token, which cost more than the rest of a `/healthz` on every request.
pub struct SpanFields;

/// A span's fields, as recorded.
#[derive(Default)]
struct Fields(Vec<(Cow<'static, str>, Value)>);

impl Fields {
    fn add(&mut self, field: &Field, value: Value) {
        self.0.push((Cow::Borrowed(field.name()), value));
    }

    /// The JSON object, keys in order, the last value of each.
    fn write(mut self, writer: &mut Writer<'_>) -> fmt::Result {
        // Stable: of a key's values, the last recorded stays last.
        self.0.sort_by(|a, b| a.0.cmp(&b.0));
        let mut text = Vec::with_capacity(128);
        text.push(b'{');
        let mut fields = self.0.iter().peekable();
        while let Some((key, value)) = fields.next() {
            if fields.peek().is_some_and(|(next, _)| next == key) {
                continue;
            }
            if text.len() > 1 {
                text.push(b',');
            }
            serde_json::to_writer(&mut text, key).map_err(|_| fmt::Error)?;
            text.push(b':');
            serde_json::to_writer(&mut text, value).map_err(|_| fmt::Error)?;
        }
        text.push(b'}');
        writer.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.add(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.add(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.add(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.add(field, Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, Value::from(value));
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.add(field, Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // As `JsonFields`: fields of the `log` bridge are left out, `r#` taken off.
        let name = field.name();
        if name.starts_with("log.") {
            return;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.0
            .push((Cow::Borrowed(name), Value::from(format!("{value:?}"))));
    }
}

impl<'a> FormatFields<'a> for SpanFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'_>, fields: R) -> fmt::Result {
        // A request's span has a few text fields, named in order: written as recorded.
        let mut in_order = InOrder::default();
        fields.record(&mut in_order);
        if let Some(text) = in_order.finish() {
            return writer.write_str(&text);
        }
        let mut recorded = Fields::default();
        fields.record(&mut recorded);
        recorded.write(&mut writer)
    }

    fn add_fields(
        &self,
        current: &'a mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        let mut recorded = Fields::default();
        if !current.is_empty() {
            let before: serde_json::Map<String, Value> =
                serde_json::from_str(current).map_err(|_| fmt::Error)?;
            recorded.0 = before
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k), v))
                .collect();
        }
        fields.record(&mut recorded);
        let mut text = String::new();
        recorded.write(&mut Writer::new(&mut text))?;
        current.fields = text;
        Ok(())
    }
}

/// A span's fields written as they are recorded, as [`Fields::write`] would write them,
/// while they are all text and come in order of their names, each once; else nothing
/// ([`InOrder::finish`] is `None`), and [`Fields`] sorts them.
struct InOrder {
    text: Vec<u8>,
    last: Option<&'static str>,
    ok: bool,
}

impl Default for InOrder {
    fn default() -> InOrder {
        InOrder {
            text: Vec::with_capacity(128),
            last: None,
            ok: true,
        }
    }
}

impl InOrder {
    /// Starts the field `name`: false when it does not come after the last one.
    fn key(&mut self, name: &'static str) -> bool {
        self.ok &= self.last.is_none_or(|last| last < name);
        if !self.ok {
            return false;
        }
        self.text
            .push(if self.last.is_none() { b'{' } else { b',' });
        self.last = Some(name);
        json_string(&mut self.text, name);
        self.text.push(b':');
        true
    }

    fn finish(mut self) -> Option<String> {
        if !self.ok {
            return None;
        }
        if self.last.is_none() {
            self.text.push(b'{');
        }
        self.text.push(b'}');
        String::from_utf8(self.text).ok()
    }
}

impl Visit for InOrder {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.key(field.name()) {
            json_string(&mut self.text, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // As `Fields::record_debug`.
        let name = field.name();
        if name.starts_with("log.") {
            return;
        }
        if self.key(name.strip_prefix("r#").unwrap_or(name)) {
            self.text.push(b'"');
            // Writing to a Vec cannot fail.
            let _ = fmt::Write::write_fmt(&mut Escaping(&mut self.text), format_args!("{value:?}"));
            self.text.push(b'"');
        }
    }

    fn record_f64(&mut self, _: &Field, _: f64) {
        self.ok = false;
    }

    fn record_i64(&mut self, _: &Field, _: i64) {
        self.ok = false;
    }

    fn record_u64(&mut self, _: &Field, _: u64) {
        self.ok = false;
    }

    fn record_bool(&mut self, _: &Field, _: bool) {
        self.ok = false;
    }

    fn record_bytes(&mut self, _: &Field, _: &[u8]) {
        self.ok = false;
    }
}

/// Writes `text` as a JSON string, escaped as serde_json escapes it (see
/// [`escape_into`]).
pub fn json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    escape_into(out, text);
    out.push(b'"');
}

/// Writes `now` as the JSON formatter writes its timestamps, in UTC to the microsecond
/// with `Z` (as [`Rfc3339::utc_micros`]): `2023-10-14T01:00:00.123456Z`. The text up to
/// the second is made once a second on each thread, and only the microseconds written
/// into it the other times: made whole each time, it cost more than the rest of the line.
pub fn write_timestamp(out: &mut Vec<u8>, now: SystemTime) {
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`: where the microseconds are in it.
    const MICROS: std::ops::Range<usize> = 20..26;
    thread_local! {
        /// The last second written on this thread (seconds since the epoch), as text.
        static LAST: Cell<(u64, [u8; 27])> = const { Cell::new((u64::MAX, [0; 27])) };
    }
    let Ok(since) = now.duration_since(UNIX_EPOCH) else {
        out.extend_from_slice(Rfc3339::utc_micros(now.into()).as_bytes());
        return;
    };
    let (second, mut text) = LAST.get();
    if second != since.as_secs() {
        let whole = Rfc3339::utc_micros(now.into());
        out.extend_from_slice(whole.as_bytes());
        // Years of other than four digits are not kept: chrono writes those.
        if let Ok(text) = whole.as_bytes().try_into() {
            LAST.set((since.as_secs(), text));
        }
        return;
    }
    write_digits(&mut text[MICROS], since.subsec_micros());
    out.extend_from_slice(&text);
}

/// Text written through it is escaped as inside a JSON string.
struct Escaping<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.0, s);
        Ok(())
    }
}

/// A writer that keeps what a subscriber writes, for tests of log lines.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Capture(pub(crate) std::sync::Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Capture {
    /// The JSON lines written so far, each without its timestamp (what comes before
    /// `,"level"`).
    pub(crate) fn lines_without_timestamps(&self) -> String {
        let text = self.0.lock().map(|t| t.clone()).unwrap_or_default();
        String::from_utf8(text)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                l.split_once(",\"level\"")
                    .map_or(l, |(_, rest)| rest)
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut text) = self.0.lock() {
            text.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_out_takes_every_pending_line_and_leaves_the_buffer_usable() {
        let logs = Logs {
            pending: Mutex::new(b"one line\n".to_vec()),
            output: Mutex::new(()),
            dropped: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            torn: AtomicBool::new(false),
            writer: None,
        };
        write_out(&logs);
        assert_eq!(logs.pending.lock().map(|b| b.len()).unwrap_or(1), 0);
        assert!(
            logs.output.try_lock().is_ok(),
            "the output lock is released"
        );
    }

    /// Takes `room` bytes, then fails (EPIPE).
    struct Closing(Vec<u8>, usize);

    impl Write for Closing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.1.saturating_sub(self.0.len()));
            if n == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_says_how_far_it_got_and_a_torn_line_is_ended_first() {
        let mut out = Closing(Vec::new(), 12);
        let (written, result) = write_all(&mut out, false, b"one line\ntwo line\n");
        assert_eq!(written, 12);
        assert!(result.is_err(), "a failure is not a success");
        out.1 = 64;
        let (written, result) = write_all(&mut out, true, b"three\n");
        assert_eq!((written, result.is_ok()), (6, true));
        assert_eq!(
            out.0, b"one line\ntwo\nthree\n",
            "not joined to the torn one"
        );
    }

    /// Timestamps written from the second kept are the ones written whole: within a
    /// second, across seconds, back in time, before the epoch, past year 9999.
    #[test]
    fn timestamps_are_written_as_whole_ones_are() {
        let at = |secs: u64, micros: u64| {
            UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros)
        };
        let day = 1_697_245_200; // 2023-10-14T01:00:00Z
        let mut times = vec![
            at(day, 0),
            at(day, 1),
            at(day, 999_999),
            at(day, 123_456),
            at(day + 1, 7),
            at(day + 1, 7),
            at(day, 500_000),
            at(day + 86_399, 999_999),
            at(day + 86_400, 0),
            at(0, 0),
            at(0, 10),
            at(253_402_300_799, 999_999), // 9999-12-31T23:59:59
            at(253_402_300_800, 1),       // 10000-01-01
            at(253_402_300_800, 2),
            UNIX_EPOCH - Duration::from_micros(1_500_001),
            UNIX_EPOCH - Duration::from_micros(1_500_000),
            at(day, 42),
            UNIX_EPOCH + Duration::from_nanos(day * 1_000_000_000 + 1_999),
        ];
        times.push(SystemTime::now());
        for t in times {
            let mut ours = Vec::new();
            write_timestamp(&mut ours, t);
            let whole = Rfc3339::utc_micros(t.into());
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(whole.as_bytes()),
                "{t:?}"
            );
        }
    }

    /// Spans with every kind of field, recorded late, repeated, out of order.
    fn events() {
        let span = tracing::info_span!(
            "request",
            path = %"/a\"b\\c\u{1}\u{2028}",
            method = %"POST",
            r#type = "raw",
            request_id = %"id\"\\",
            late = tracing::field::Empty,
            count = 3u64,
            delta = -2i64,
            ratio = 0.1f64,
            on = true,
            list = ?vec!["a\"", "b"],
        );
        span.in_scope(|| tracing::info!(status = 200u16, "served"));
        span.record("late", "now");
        span.record("count", 4u64);
        span.in_scope(|| {
            tracing::warn!(what = "after records", "again");
            tracing::info_span!("inner", b = 1, a = %"x").in_scope(|| tracing::error!("inside"));
        });
        tracing::info_span!("empty").in_scope(|| tracing::info!("no fields"));
    }

    fn written(fields: bool) -> String {
        written_by(fields, events)
    }

    fn written_by(fields: bool, events: fn()) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let builder = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false);
        match fields {
            true => {
                tracing::subscriber::with_default(builder.fmt_fields(SpanFields).finish(), events)
            }
            false => tracing::subscriber::with_default(builder.finish(), events),
        }
        capture.lines_without_timestamps()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_ascii: String = (0u8..=0x7f).map(char::from).collect();
        for text in [
            every_ascii.as_str(),
            "",
            "plain",
            "AS-1\"\\\u{1}\t\u{2028}\u{9b}31m\u{202e}evom\u{7f}\u{feff}令",
        ] {
            let mut ours = Vec::new();
            json_string(&mut ours, text);
            let theirs = serde_json::to_vec(text).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
        }
    }

    /// Spans whose fields all come in order, as a request's does.
    fn in_order_events() {
        let span = tracing::info_span!(
            "request",
            method = %"POST",
            path = %"/a\"b\\c\u{1}\u{2028}",
            request_id = %"id\"\\",
        );
        span.in_scope(|| tracing::info!(status = 200u16, "served"));
        tracing::info_span!("typed", r#type = "raw", zone = ?Some("x\"y"))
            .in_scope(|| tracing::info!("in order, once each"));
        tracing::info_span!("twice", a = %"one", a = %"two")
            .in_scope(|| tracing::info!("repeated"));
        tracing::info_span!("numbers", a = %"x", b = 1u64).in_scope(|| tracing::info!("not text"));
    }

    #[test]
    fn span_fields_in_order_are_written_as_the_json_formatter_writes_them() {
        let theirs = written_by(false, in_order_events);
        assert_eq!(theirs.lines().count(), 4, "{theirs}");
        assert!(theirs.contains(r#""request_id":"id\"\\""#), "{theirs}");
        assert_eq!(written_by(true, in_order_events), theirs);
    }

    #[test]
    fn span_fields_are_written_as_the_json_formatter_writes_them() {
        let theirs = written(false);
        assert_eq!(theirs.lines().count(), 4, "{theirs}");
        assert!(theirs.contains("\"late\":\"now\""), "{theirs}");
        assert_eq!(written(true), theirs);
    }

    fn request() -> Arc<RequestFields> {
        Arc::new(RequestFields {
            method: Method::from_bytes(b"PURGE").unwrap_or_else(|e| panic!("{e}")),
            uri: "/a%22b/\u{7e}c?x=1"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            id: HeaderValue::from_static("id\"\\{}"),
        })
    }

    /// What a request's handler might log: lines, a line in a span of its own, a line
    /// with no parent (the formatter shows the current span all the same).
    fn logged_by_a_handler() {
        tracing::info!(status = 200u16, "served");
        tracing::warn!(what = "x\"y", n = 3u64, "again");
        tracing::info_span!("inner", b = 1, a = %"x").in_scope(|| tracing::error!("inside"));
        tracing::info!(parent: None, "no parent");
    }

    /// The lines `logged_by_a_handler` writes, timestamps left out: inside the request's
    /// [`Scope`] with the service's formatter (`ours`), or inside its tracing span with
    /// the JSON formatter as it is.
    fn logged_in_a_request(ours: bool) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let builder = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .fmt_fields(SpanFields);
        let request = request();
        if ours {
            let subscriber = builder.event_format(WithRequest(json_format())).finish();
            let scope = Scope::Local(request);
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            tracing::subscriber::with_default(subscriber, || {
                scope.in_scope(logged_by_a_handler);
                rt.block_on(scope.wrap(async {
                    tokio::task::yield_now().await;
                    logged_by_a_handler();
                }));
                tracing::info!("after the request");
            });
        } else {
            let subscriber = builder.event_format(json_format()).finish();
            tracing::subscriber::with_default(subscriber, || {
                let span = request.span();
                span.in_scope(logged_by_a_handler);
                span.in_scope(logged_by_a_handler);
                tracing::info!("after the request");
            });
        }
        capture.lines_without_timestamps()
    }

    /// With the human format, the request's fields come from its span: a filter that
    /// enables the HTTP front at info (and little else) still shows them on a warning.
    #[test]
    fn the_request_span_is_enabled_by_filters_naming_the_http_front() {
        for filter in ["info", "aftersales=debug", "warn,aftersales::http=info"] {
            let capture = Capture::default();
            let writer = capture.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_env_filter(EnvFilter::new(filter))
                .finish();
            tracing::subscriber::with_default(subscriber, || {
                request().span().in_scope(|| tracing::warn!("careful"));
            });
            let text = capture.0.lock().map(|t| t.clone()).unwrap_or_default();
            let text = String::from_utf8(text).unwrap_or_default();
            assert!(
                text.contains("request{method=PURGE path=/a%22b/~c") && text.contains("careful"),
                "{filter}: {text}"
            );
        }
    }

    #[test]
    fn lines_logged_in_a_request_carry_its_fields_as_inside_its_span() {
        let theirs = logged_in_a_request(false);
        assert_eq!(theirs.lines().count(), 9, "{theirs}");
        assert_eq!(
            theirs.matches(r#""span":{"method":"PURGE","path":"/a%22b/~c","request_id":"id\"\\{}","name":"request"}"#).count(),
            6,
            "{theirs}"
        );
        assert_eq!(logged_in_a_request(true), theirs);
    }
}
