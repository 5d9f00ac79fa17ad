//! The decision log: the audit trail, one JSON line per decision delivered.
//!
//! Nothing lost. A decision is answered 200 only after its line is written (the write
//! system call returned); a decision whose line cannot be written is not delivered (503
//! `decision-log-unavailable` with `Retry-After`), and a batch's lines are written in one
//! piece, all or none. The writer takes every request queued while it was busy and writes
//! their lines with one call, then answers each (group commit), so waiting costs little.
//!
//! Bounded waits. A request waits for its lines' write at most until its deadline (the
//! slot's, else [`WAIT_WITHOUT_DEADLINE`]); a write that has not returned by then (a pipe
//! nobody reads, a hung disk) is refused with the same 503, and the decision is not
//! delivered. A write cannot be taken back, so its lines may still reach the log later:
//! when such a write returns, one error event gives the count of *late* lines and the
//! request and decision (or batch) ids of the requests refused, and
//! `aftersales_decision_log_late_total` counts the lines. Late too: the lines of a
//! request whose caller hangs up while they are in the write, or after the write but
//! before the handler returned its answer (a warning of its own, without ids), and whole
//! lines a short write on a stream left before it failed. The rule for an auditor: a line
//! is a delivered decision when its `decision_id` (or `batch_id`) is on a `served` line
//! with status 200 (ids this service makes; a caller may reuse a request id).
//!
//! A request that gives up before the writer took its lines takes them back: they are
//! never written, and its memory and concurrency slot are freed at once; their room in
//! the queue is held until the writer lets go of them. At shutdown
//! [`DecisionLog::close_by`] closes the log (lines sent later are refused) and waits for
//! the lines queued until a deadline, then says how many were not confirmed written.

//! Whole lines only. In a file, a failed or short write is cut back to the length before
//! it, so no torn or joined line remains. While writing fails, `/readyz` answers 503 and
//! the writer probes every second (a write, then a cut back: nothing stays in the file),
//! so readiness comes back without traffic. On hangup (SIGHUP) the file is reopened at its
//! path, as logrotate expects, and a cut back still owed is not forgotten (see
//! `FileOut::switch`); a file deleted under the writer is made again at its path before
//! the next write. A torn line found at the end of a file when it is opened (a process
//! stopped in a write) is ended with a newline by the first write.
//!
//! A cut back never makes a file longer: one found shorter than the cut was truncated
//! under the writer (copytruncate), so the cut is dropped and said. A cut back that fails
//! is said once per error, and one still owed when the log closes makes the process's
//! exit code 1. A file whose last byte cannot be read, if not empty, gets the newline
//! anyway. A reopen that fails keeps the file opened before and is tried again before
//! each write and probe until it works.
//!
//! Opening never waits: a FIFO with no reader is an error (at startup, the service does
//! not start), not an open that waits for a reader for good. One file, one writer: a
//! regular file is locked (`flock`, exclusive, non-blocking) when opened and reopened (so
//! is standard output that is a regular file), and a second process on it does not start.
//! A target is a regular file, a FIFO, a socket or a terminal: any other device
//! (`/dev/null`, a path or standard output there) is refused at start and at reopen, as
//! lines there may be lost while decisions are answered 200 (`/dev/full` is let through:
//! its writes fail visibly), and so is a file on a kernel pseudo filesystem (procfs,
//! sysfs, cgroup, ...: `stat` calls it regular, but it keeps no lines). So is the regular file standard error goes to, and the
//! very pipe or socket it goes to (lines would interleave mid-line), at start and at
//! reopen (a symlink to `/dev/stderr` or a hard link to its file put at the path); a
//! terminal shared with it is allowed. A refused or failed reopen is counted
//! (`aftersales_decision_log_reopen_errors_total`).
//!
//! Standard output (`-`), and a target that is not a regular file (a pipe, a device),
//! cannot be cut back (standard output that is a regular file is set to append, and has
//! its end looked at as a path's is, when opened and whenever its length is not where the
//! last write ended): after a short write the torn line is ended with a newline before
//! anything else is written (a reader sees one unparsable line, never two lines joined),
//! and the probe writes an empty line. Whole lines a short write left before it failed
//! are of requests answered 503: they are counted late, as above. Standard output is
//! written without std's line buffer, which would keep a torn line's rest and complete it
//! later.
//!
//! The buyer's personal data stays out: the input is logged as a fixed projection of the
//! parsed case (times, statuses, ids, the platform's refund state as codes), destinations
//! cut to city level, and no free text (addresses, carrier lines, names, phone numbers,
//! waybills, unknown fields).

use std::fs::File;
use std::future::Future;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::middleware::Slot;
use super::problem::Problem;
use crate::codes::{Outcome, RefundType, Scenario, Status};
use crate::engine::{Case, Decision, Event, Place};
use crate::geo::Area;
use crate::render::times::Rfc3339;
use crate::rules::{Lang, Rules};
use crate::time;

/// How often a failing log is probed.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// The `Retry-After` of a decision the log could not take.
const RETRY_AFTER_SECONDS: u64 = 5;
/// The probe's size: a write this big must succeed for the log to count as writable.
const PROBE_BYTES: usize = 4096;
/// At most this many bytes are gathered into one write.
const GROUP_BYTES: usize = 4 << 20;
/// A write (or reopen) that has not returned after this long counts as failing until it
/// returns: a pipe nobody reads, a hung disk.
const STUCK_AFTER: Duration = Duration::from_secs(1);
/// How long a request whose slot has no deadline (a route driven without the `/v1`
/// layers, a `--request-timeout` past what a clock can hold) waits for its lines' write:
/// the longest `--request-timeout` one would sensibly set.
pub const WAIT_WITHOUT_DEADLINE: Duration = Duration::from_secs(30);
/// At most this many request ids are named in the event about late lines.
const LATE_IDS_NAMED: usize = 32;

/// Why lines were not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotWritten {
    /// The log cannot be written (a full disk, a closed pipe, the writer gone).
    Unavailable,
    /// The request's deadline came first: it has been answered 503 already.
    Expired,
    /// The writer took the lines but the write had not returned by the request's
    /// deadline: refused, though the lines may still reach the log (late).
    NotReturned,
}

impl NotWritten {
    /// The answer for a request whose lines were not written.
    pub fn problem(self, slot: &Slot) -> Problem {
        match self {
            NotWritten::Unavailable => unavailable(),
            NotWritten::Expired => slot.timed_out(),
            NotWritten::NotReturned => not_returned(),
        }
    }
}

/// 503: the decision log's write did not return in time, so nothing is delivered.
fn not_returned() -> Problem {
    Problem::unavailable(
        "decision-log-unavailable",
        "The decision log cannot be written",
        "The decision log's write did not return within the request's time, so the decision is not delivered. Its line may still reach the log later, with this request's id; it is not a delivered decision. Try again later.",
        RETRY_AFTER_SECONDS,
    )
}

/// 503: the decision log cannot be written, so nothing is delivered.
pub fn unavailable() -> Problem {
    Problem::unavailable(
        "decision-log-unavailable",
        "The decision log cannot be written",
        "The decision could not be recorded in the audit log, so it is not delivered. Try again later.",
        RETRY_AFTER_SECONDS,
    )
}

enum Msg {
    Lines {
        count: usize,
        answer: Answer,
    },
    /// Answered once the lines queued before it are handled; with `close`, nothing more is
    /// written after it (lines sent later are refused).
    Flush {
        ack: oneshot::Sender<()>,
        close: bool,
    },
    Reopen,
}

/// How a request waiting for its lines is answered: by the writer once the write
/// returned, or by the request itself at its deadline, whichever comes first.
struct Answer {
    done: oneshot::Sender<Result<(), NotWritten>>,
    pending: Arc<Pending>,
    /// The request's room in the queue, held until its lines are written or given up,
    /// not only while the request waits: a refused request's lines still queued behind a
    /// stuck write count against `--decision-log-buffer`, so memory stays bounded.
    _room: OwnedSemaphorePermit,
}

const WAITING: u8 = 0;
const WRITTEN: u8 = 1;
const FAILED: u8 = 2;
const REFUSED: u8 = 3;

/// What a request and the writer share about its lines.
struct Pending {
    /// [`WAITING`] until the writer answers ([`WRITTEN`] or [`FAILED`]) or the request
    /// stops waiting for a write it is in ([`REFUSED`]: its deadline passed, or its
    /// caller hung up).
    state: AtomicU8,
    /// The lines and the request's slot until the writer takes them, or the request takes
    /// them back when it gives up first: then its memory and its slot (the concurrency
    /// permit) are freed at once, not when a stuck writer comes to them.
    lines: std::sync::Mutex<Option<(Vec<u8>, Slot)>>,
}

impl Pending {
    fn take(&self) -> Option<(Vec<u8>, Slot)> {
        // A lock poisoned by a panic elsewhere: the lines are still there to take.
        match self.lines.lock() {
            Ok(mut lines) => lines.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }
}

/// A request waiting for its lines; if it stops waiting before the writer answered (its
/// deadline, or its caller hung up and the future was dropped), it gives them up: lines
/// not yet taken are never written, lines in a write count as late when it returns. If
/// the caller hangs up after the write and before the answer went out, the lines are
/// counted late at once.
struct Waiting<'a> {
    pending: &'a Pending,
    slot: &'a Slot,
    count: usize,
    counts: &'a Counts,
    /// The request returned its answer (or its refusal): nothing left to give up.
    settled: bool,
}

/// How a request that stopped waiting left its lines.
enum GaveUp {
    /// Not taken by the writer (it will not write them).
    Expired,
    /// In a write that has not returned (late if it does).
    Refused,
    /// Answered by the writer just now.
    Answered,
}

impl Waiting<'_> {
    fn give_up(&mut self) -> GaveUp {
        if self.slot.expire() {
            if self.pending.take().is_some() {
                self.counts
                    .unconfirmed
                    .fetch_sub(self.count, Ordering::SeqCst);
            }
            return GaveUp::Expired;
        }
        match self.pending.state.compare_exchange(
            WAITING,
            REFUSED,
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(_) => GaveUp::Refused,
            Err(_) => GaveUp::Answered,
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let gave_up = self.give_up();
        if matches!(gave_up, GaveUp::Answered)
            && self.pending.state.load(Ordering::SeqCst) == WRITTEN
        {
            // Written, and the caller hung up before its answer went out: in the log, not
            // delivered, and without a `served` line.
            self.counts.add_late(self.count);
            // A warning: the caller's doing, not a fault of the log.
            tracing::warn!(
                lines = self.count,
                requests = 1,
                "decision log lines written for a request whose caller hung up before its answer went out: not a delivered decision; its request has no served line"
            );
        }
    }
}

impl Answer {
    /// The writer's answer; false when the request was refused first (its lines are late).
    fn give(self, outcome: Result<(), NotWritten>) -> bool {
        let answered = if outcome.is_ok() { WRITTEN } else { FAILED };
        if self
            .pending
            .state
            .compare_exchange(WAITING, answered, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        let _ = self.done.send(outcome);
        true
    }
}

/// Lines handed to the writer and not yet written or given up (for the shutdown report).
#[derive(Default)]
struct Counts {
    /// Queued or being written.
    unconfirmed: AtomicUsize,
    /// In the write under way.
    writing: AtomicUsize,
    /// Written after their requests were refused.
    late: AtomicUsize,
    /// Closed with torn bytes owed a cut back still in the file.
    torn_left: AtomicBool,
}

impl Counts {
    /// Lines in the log that are not delivered decisions.
    fn add_late(&self, lines: usize) {
        self.late.fetch_add(lines, Ordering::SeqCst);
        metrics::counter!("aftersales_decision_log_late_total").increment(lines as u64);
    }
}

/// Lines not confirmed written when the flush's deadline came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unconfirmed {
    /// Lines queued or in the write (each refused, or to be refused, with a 503).
    pub lines: usize,
    /// Of those, the lines in a write that has not returned (they may still reach the log).
    pub writing: usize,
}

/// A handle to the writer; cheap to clone.
#[derive(Clone)]
pub struct DecisionLog {
    tx: mpsc::UnboundedSender<Msg>,
    /// Lines queued for the writer (backpressure).
    room: Arc<Semaphore>,
    room_lines: u32,
    writable: Arc<AtomicBool>,
    counts: Arc<Counts>,
    /// How long a request without a deadline waits for its write.
    wait_without_deadline: Duration,
}

impl DecisionLog {
    /// Opens `target` (a file, appended to, or `-` for stdout) with room for `capacity`
    /// lines queued, and starts the writer.
    pub async fn open(target: &str, capacity: usize) -> io::Result<DecisionLog> {
        let out: Box<dyn Out> = if target == "-" {
            let stdout = unbuffered_stdout()?;
            refuse_unfit(&stdout)?;
            // One file, one writer: as for a path (another's cut back would remove this
            // one's lines).
            #[cfg(unix)]
            if stdout.metadata()?.is_file() {
                stdout.lock_writer()?;
                append_always(&stdout)?;
            }
            let torn = stdout_ends_torn(&stdout);
            let tail = stdout_tail(&stdout);
            let out = StreamOut::new(stdout, None);
            let out = match tail {
                Some((tail, len)) => out.watching_end(tail, len),
                None => out,
            };
            Box::new(if torn { out.ending_torn() } else { out })
        } else {
            let path = PathBuf::from(target);
            let file = open_append(path.clone()).await?;
            refuse_unfit(&file)?;
            let regular = file.metadata()?.is_file();
            if regular {
                file.lock_writer()?;
            }
            let reopen: Reopen<File> = Box::new(move || reopen_at(&path, regular));
            if regular {
                Box::new(FileOut::new(file, Some(reopen)).at(target))
            } else {
                // A FIFO (with a reader), a device: written as a stream, which begins with
                // a newline: a line another process left torn in it (stopped while its
                // write was stuck) is ended, never joined to the first one here.
                Box::new(StreamOut::new(file, Some(reopen)).ending_torn().at(target))
            }
        };
        Ok(DecisionLog::start(out, capacity, PROBE_EVERY))
    }

    /// Starts a writer on `out`.
    fn start(out: Box<dyn Out>, capacity: usize, probe_every: Duration) -> DecisionLog {
        let (tx, rx) = mpsc::unbounded_channel();
        let writable = Arc::new(AtomicBool::new(true));
        let counts = Arc::new(Counts::default());
        metrics::gauge!("aftersales_decision_log_failing").set(0.0);
        // Its counters are shown at 0 from the start by `super::counters_at_zero`, run
        // when the recorder is installed (before the log opens).
        tokio::spawn(write_lines(
            out,
            rx,
            Health {
                writable: writable.clone(),
                counts: counts.clone(),
            },
            probe_every,
        ));
        let room_lines =
            u32::try_from(capacity.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        DecisionLog {
            tx,
            room: Arc::new(Semaphore::new(room_lines as usize)),
            room_lines,
            writable,
            counts,
            wait_without_deadline: WAIT_WITHOUT_DEADLINE,
        }
    }

    /// Reopens the file at its path on every hangup from `hangups`.
    pub fn reopen_on(&self, mut hangups: watch::Receiver<u64>) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            while hangups.changed().await.is_ok() {
                if tx.send(Msg::Reopen).is_err() {
                    break;
                }
            }
        });
    }

    /// Whether the last write (or probe) succeeded.
    pub fn writable(&self) -> bool {
        self.writable.load(Ordering::SeqCst)
    }

    /// Whether the log was closed with the torn bytes of a failed write still in its file
    /// (cutting them back failed): the process should exit non-zero.
    pub fn closed_torn(&self) -> bool {
        self.counts.torn_left.load(Ordering::SeqCst)
    }

    /// Lines written after their requests were refused, since the start.
    pub fn late_lines(&self) -> usize {
        self.counts.late.load(Ordering::SeqCst)
    }

    /// Writes `count` lines (`bytes`, each ending in a newline) in one piece, committing
    /// `slot` first; returns once they are written, or why they were not. Waits at most
    /// until the slot's deadline (or [`WAIT_WITHOUT_DEADLINE`]): a write that has not
    /// returned by then is [`NotWritten::NotReturned`].
    pub async fn commit(
        &self,
        bytes: Vec<u8>,
        count: usize,
        slot: &Slot,
    ) -> Result<(), NotWritten> {
        let until = slot
            .deadline()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + self.wait_without_deadline);
        let wanted = u32::try_from(count)
            .unwrap_or(u32::MAX)
            .clamp(1, self.room_lines);
        let room =
            tokio::time::timeout_at(until, self.room.clone().acquire_many_owned(wanted)).await;
        let Ok(Ok(room)) = room else {
            // No room by the deadline: the writer never took these lines.
            return Err(match room {
                Err(_) if slot.expire() => NotWritten::Expired,
                _ => NotWritten::Unavailable,
            });
        };
        let (done, written) = oneshot::channel();
        let pending = Arc::new(Pending {
            state: AtomicU8::new(WAITING),
            lines: std::sync::Mutex::new(Some((bytes, slot.clone()))),
        });
        let msg = Msg::Lines {
            count,
            answer: Answer {
                done,
                pending: pending.clone(),
                _room: room,
            },
        };
        self.counts.unconfirmed.fetch_add(count, Ordering::SeqCst);
        if self.tx.send(msg).is_err() {
            self.counts.unconfirmed.fetch_sub(count, Ordering::SeqCst);
            count_failed(count);
            return Err(NotWritten::Unavailable);
        }
        let mut waiting = Waiting {
            pending: &pending,
            slot,
            count,
            counts: &self.counts,
            settled: false,
        };
        tokio::pin!(written);
        if let Ok(answer) = tokio::time::timeout_at(until, &mut written).await {
            waiting.settled = true;
            return answer.unwrap_or(Err(NotWritten::Unavailable));
        }
        // The deadline. Lines the writer has not taken yet are given up with the slot
        // (it will not write them); taken ones are refused unless answered meanwhile.
        let answer = match waiting.give_up() {
            GaveUp::Expired => Err(NotWritten::Expired),
            GaveUp::Refused => Err(NotWritten::NotReturned),
            // Answered just now: the answer is on its way.
            GaveUp::Answered => written.await.unwrap_or(Err(NotWritten::Unavailable)),
        };
        waiting.settled = true;
        answer
    }

    /// Returns once every line queued before it has been handled.
    pub async fn flush(&self) {
        self.flushed(false).await;
    }

    /// [`DecisionLog::flush`], closing the log with it if `close`; false when the writer is
    /// gone.
    async fn flushed(&self, close: bool) -> bool {
        let (ack, done) = oneshot::channel();
        self.tx.send(Msg::Flush { ack, close }).is_ok() && done.await.is_ok()
    }

    /// Closes the log (at shutdown): the lines queued before are written, lines sent later
    /// are refused (503 `decision-log-unavailable`), so none is queued behind the final
    /// flush. Waits no later than `deadline`: then the lines not confirmed written (queued
    /// behind a write that has not returned, or in it; not those taken back).
    pub async fn close_by(&self, deadline: std::time::Instant) -> Result<(), Unconfirmed> {
        let flushed =
            tokio::time::timeout_at(Instant::from_std(deadline), self.flushed(true)).await;
        match flushed {
            Ok(true) => Ok(()),
            // The deadline came first, or the writer is gone (the lines it held are lost).
            _ => Err(Unconfirmed {
                lines: self.counts.unconfirmed.load(Ordering::SeqCst),
                writing: self.counts.writing.load(Ordering::SeqCst),
            }),
        }
    }
}

fn count_failed(lines: usize) {
    metrics::counter!("aftersales_decision_log_errors_total").increment(lines as u64);
}

/// A torn line stays in a log file: left in a file rotated away (cutting it back failed),
/// or found at its end when it was opened (a process stopped in a write).
fn count_torn() {
    metrics::counter!("aftersales_decision_log_torn_total").increment(1);
}

/// Standard output without std's line buffer: after a short write that buffer keeps the
/// rest of the line and writes it out before anything else, completing a line the writer
/// counted as torn (so a refused request's line would appear whole). Writes to this
/// handle go straight to the descriptor; what is not written is not written.
#[cfg(unix)]
fn unbuffered_stdout() -> io::Result<File> {
    use std::os::fd::AsFd;
    Ok(File::from(io::stdout().as_fd().try_clone_to_owned()?))
}

#[cfg(not(unix))]
fn unbuffered_stdout() -> io::Result<io::Stdout> {
    Ok(io::stdout())
}

/// Refuses a target of a kind that may lose or cut lines while decisions are answered
/// 200: a regular file, a FIFO, a socket or a terminal is accepted; any other character
/// or block device (`/dev/null`, `/dev/zero`, `/dev/kmsg`, a disk) is refused, at start
/// and at reopen alike. `/dev/full` is the one device let through: every write to it
/// fails, which the writer sees (503), so no line is lost silently. A caller who wants no
/// decision log leaves out `--decision-log`.
#[cfg(unix)]
fn refuse_device(file: &File) -> io::Result<()> {
    use std::io::IsTerminal;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    refuse_pseudo_fs(file)?;
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if kind.is_file() || kind.is_fifo() || kind.is_socket() {
        return Ok(());
    }
    let device_at = |path: &str| {
        std::fs::metadata(path).is_ok_and(|n| {
            n.file_type().is_char_device() == kind.is_char_device() && n.rdev() == meta.rdev()
        })
    };
    if kind.is_char_device() && (file.is_terminal() || device_at("/dev/full")) {
        return Ok(());
    }
    let named = [
        "/dev/null",
        "/dev/zero",
        "/dev/random",
        "/dev/urandom",
        "/dev/kmsg",
    ]
    .into_iter()
    .find(|sink| device_at(sink))
    .map(|sink| format!("{sink}, a device"))
    .unwrap_or_else(|| "a /dev/ device".to_owned());
    Err(io::Error::other(format!(
        "it is {named} (not a regular file, a FIFO, a socket or a terminal), where lines may be lost or cut while decisions are answered 200; to run without a decision log, leave out --decision-log"
    )))
}

#[cfg(not(unix))]
fn refuse_device<T>(_: &T) -> io::Result<()> {
    Ok(())
}

/// The checks a decision-log target passes, at start and at every reopen alike: no device
/// ([`refuse_device`]) and not standard error's own file or stream ([`refuse_stderr`]).
#[cfg(unix)]
fn refuse_unfit(file: &File) -> io::Result<()> {
    refuse_device(file)?;
    refuse_stderr(file)
}

#[cfg(not(unix))]
fn refuse_unfit<T>(_: &T) -> io::Result<()> {
    Ok(())
}

/// The kernel's pseudo filesystems (`statfs`'s `f_type`, from `linux/magic.h`), with the
/// name each goes by. Their files call themselves regular files, but a write there is an
/// order to the kernel, not data kept: `/proc/self/comm` keeps 15 bytes of a line, a
/// cgroup or sysfs file takes one value, and the rest is lost while decisions are
/// answered 200.
#[cfg(target_os = "linux")]
const PSEUDO_FILESYSTEMS: &[(u32, &str)] = &[
    (0x9fa0, "proc"),
    (0x6265_6572, "sysfs"),
    (0x0027_e0eb, "cgroup"),
    (0x6367_7270, "cgroup2"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0x7363_6673, "securityfs"),
    (0x6265_6570, "configfs"),
    (0x6165_676c, "pstore"),
    (0xcafe_4a11, "bpf"),
    (0xde5e_81e4, "efivarfs"),
    (0xf97c_ff8c, "selinuxfs"),
    (0x4341_5d53, "smackfs"),
    (0x6573_5543, "fusectl"),
    (0x4249_4e4d, "binfmt_misc"),
    (0x1980_0202, "mqueue"),
    (0x6e73_6673, "nsfs"),
    (0x0904_1934, "anon_inode"),
];

/// Refuses a target on a kernel pseudo filesystem (procfs, sysfs, cgroup, debugfs, ...):
/// `stat` calls its files regular, but what is written there is not kept as written
/// (see [`PSEUDO_FILESYSTEMS`]). Looked at on the opened descriptor (`fstatfs`), at
/// start and at reopen alike, as a device is.
#[cfg(target_os = "linux")]
fn refuse_pseudo_fs(file: &File) -> io::Result<()> {
    // The magic is 32 bits, in a field that is signed on some targets (a 32-bit `long`:
    // 0xcafe4a11 reads negative there): its low 32 bits are compared.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let kind = rustix::fs::fstatfs(file)?.f_type as u32;
    let Some(name) = PSEUDO_FILESYSTEMS
        .iter()
        .find(|(magic, _)| *magic == kind)
        .map(|(_, name)| *name)
    else {
        return Ok(());
    };
    Err(io::Error::other(format!(
        "it is on {name}, a kernel pseudo filesystem whose files keep no lines (a write there is an order to the kernel, cut or dropped), where lines may be lost or cut while decisions are answered 200; give it a file on a disk, a FIFO or a socket; to run without a decision log, leave out --decision-log"
    )))
}

#[cfg(all(unix, not(target_os = "linux")))]
fn refuse_pseudo_fs(_: &File) -> io::Result<()> {
    Ok(())
}

/// Refuses a target that is the very file standard error is (`/dev/stderr`, `2>&1`):
/// - a regular file: cutting back a failed write would erase the events written after
///   it, and events would sit between the lines;
/// - a pipe or a socket (`2>&1 | x`, systemd's `StandardError=inherit` into the journal's
///   socket): a reader slower than the writers lets a decision line and the service log's
///   batched writes (each longer than `PIPE_BUF`) interleave mid-line, so lines are cut
///   and joined.
///
/// A terminal shared with stderr stays allowed (someone watching).
#[cfg(unix)]
fn refuse_stderr(file: &File) -> io::Result<()> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    let Ok(stderr) = io::stderr().as_fd().try_clone_to_owned().map(File::from) else {
        return Ok(());
    };
    if !file.same_file(&stderr).unwrap_or(false) {
        return Ok(());
    }
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Err(io::Error::other(
            "it is the file standard error is written to (a regular file): cutting back a failed write would erase the events after it; give the decision log a file of its own",
        ));
    }
    if kind.is_fifo() || kind.is_socket() {
        let what = if kind.is_fifo() { "pipe" } else { "socket" };
        return Err(io::Error::other(format!(
            "it is the {what} standard error is written to (`2>&1 | ...`, or systemd's StandardError=inherit into the journal): its lines and the service log's would interleave mid-line under a slow reader; give the decision log a stream of its own (a path: --decision-log FILE, or stdout to a file), or send standard error elsewhere"
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_stderr<T>(_: &T) -> io::Result<()> {
    Ok(())
}

/// Sets `O_APPEND` on standard output that is a regular file opened without it (systemd's
/// `StandardOutput=file:`, a shell's `1<>f`): each write then goes to the file's end,
/// never over the lines already in it from the descriptor's offset (0 when opened).
#[cfg(unix)]
fn append_always(stdout: &File) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(stdout)?;
    if !flags.contains(rustix::fs::OFlags::APPEND) {
        rustix::fs::fcntl_setfl(stdout, flags | rustix::fs::OFlags::APPEND)?;
    }
    Ok(())
}

/// Whether standard output is a regular file (`>> file`, systemd's `append:`) that may
/// end in a torn line a stopped process left: its last byte is not a newline, or it
/// cannot be read (stdout is mostly write-only: it is read through a read-only open of
/// `/proc/self/fd/N` first) and the file is not empty. Then the first
/// write begins with a newline, so no line is joined to a torn one.
#[cfg(unix)]
fn stdout_ends_torn(stdout: &File) -> bool {
    match stdout.metadata() {
        Ok(meta) if meta.is_file() => stdout
            .ends_torn(meta.len())
            .or_else(|_| {
                // Write-only (`>>`): read through a read-only open of the same file.
                use std::os::fd::AsRawFd;
                let reader = File::open(format!("/proc/self/fd/{}", stdout.as_raw_fd()))?;
                if !reader.same_file(stdout)? {
                    return Err(io::Error::other("another file"));
                }
                reader.ends_torn(meta.len())
            })
            .unwrap_or(meta.len() > 0),
        _ => false,
    }
}

#[cfg(not(unix))]
fn stdout_ends_torn<W>(_: &W) -> bool {
    false
}

/// For standard output that is a regular file: a handle to read its end through (a
/// read-only open of `/proc/self/fd/N`, or the descriptor itself, whose reads may fail:
/// then a file not empty is given a newline), and its length now.
#[cfg(unix)]
fn stdout_tail(stdout: &File) -> Option<(Box<dyn Tail>, u64)> {
    use std::os::fd::AsRawFd;
    let meta = stdout.metadata().ok().filter(|m| m.is_file())?;
    let reader = File::open(format!("/proc/self/fd/{}", stdout.as_raw_fd()))
        .ok()
        .filter(|reader| reader.same_file(stdout).unwrap_or(false))
        .or_else(|| stdout.try_clone().ok())?;
    Some((Box::new(reader), meta.len()))
}

#[cfg(not(unix))]
fn stdout_tail<W>(_: &W) -> Option<(Box<dyn Tail>, u64)> {
    None
}

async fn open_append(path: PathBuf) -> io::Result<File> {
    tokio::task::spawn_blocking(move || open_append_now(&path, true))
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

/// Opens `path` for appending (a regular file is made if nothing is there), never waiting:
/// a FIFO nobody has open for reading is an error ("no reader"), at startup and on reopen
/// alike, where a plain open would wait for a reader for good. The file is opened
/// non-blocking, then made blocking again: a write to a pipe whose reader is slow waits,
/// as one to stdout does (watched, and bounded for each request by its deadline).
/// With `create` false, nothing is made where nothing is.
fn open_append_now(path: &std::path::Path, create: bool) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(create).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        // A regular file (or none yet) is opened for reading too, so that a torn end a
        // stopped process left can be seen ([`LogFile::ends_torn`]); never a FIFO, which
        // would then have a reader (this process), so one with none could not be told.
        let regular = match std::fs::metadata(path) {
            Ok(meta) => meta.is_file(),
            Err(e) => e.kind() == io::ErrorKind::NotFound,
        };
        // O_NOCTTY: a terminal at the path never becomes the process's terminal.
        options
            .read(regular)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
        let opened = match options.open(path) {
            // A file this process may write but not read: written without the look.
            Err(e) if regular && e.kind() == io::ErrorKind::PermissionDenied => {
                options.read(false).open(path)
            }
            opened => opened,
        };
        let file = match opened {
            Err(e)
                if e.raw_os_error() == Some(libc::ENXIO)
                    && std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo()) =>
            {
                return Err(io::Error::new(
                    e.kind(),
                    "it is a FIFO with no reader (start its reader first)",
                ));
            }
            opened => opened?,
        };
        if regular && !file.metadata()?.is_file() {
            return Err(io::Error::other(
                "it was replaced by a FIFO or a device while it was being opened",
            ));
        }
        let flags = rustix::fs::fcntl_getfl(&file)?;
        rustix::fs::fcntl_setfl(&file, flags - rustix::fs::OFlags::NONBLOCK)?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

/// Opens the log at `path` again (on hangup, or once its file was deleted), as the kind
/// it was when it opened: a regular file, cut back after a failed write, or a stream. A
/// FIFO or a device put where a regular file was (or the other way round) is refused, and
/// the one opened before is kept, as is one on a device refused at start
/// ([`refuse_device`]). A log that was not a regular file is never made a regular file at
/// its path (a FIFO deleted stays missing until one is made there again).
fn reopen_at(path: &std::path::Path, regular: bool) -> io::Result<File> {
    let file = open_append_now(path, regular)?;
    // Every check of the start, again: a device, a pseudo filesystem, and the very file
    // (or pipe, or socket) standard error is written to (a symlink to `/dev/stderr`, a
    // hard link to its file put at the path before the hangup).
    refuse_unfit(&file).map_err(|e| {
        io::Error::other(format!(
            "{}: {e}; the one opened before is kept",
            path.display()
        ))
    })?;
    if file.metadata()?.is_file() != regular {
        let was = if regular {
            "a regular file"
        } else {
            "not a regular file"
        };
        return Err(io::Error::other(format!(
            "{} is now of another kind than when the log opened ({was}); the one opened before is kept",
            path.display()
        )));
    }
    Ok(file)
}

/// The writer: takes what is queued, writes it in one call, answers each request.
async fn write_lines(
    mut out: Box<dyn Out>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    mut health: Health,
    probe_every: Duration,
) {
    // After a close (the final flush at shutdown), lines sent later are refused.
    let mut closed = false;
    loop {
        let first = if health.ok() {
            rx.recv().await
        } else {
            match tokio::time::timeout(probe_every, rx.recv()).await {
                Ok(msg) => msg,
                Err(_) => {
                    let Some((back, probed)) = blocking(out, |o| o.probe()).await else {
                        return health.gone();
                    };
                    out = back;
                    health.after(&probed, "probe");
                    continue;
                }
            }
        };
        let Some(first) = first else { return };
        let mut group = Group::default();
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Lines { count, answer } => {
                    // The commit point: from here the request is answered once the write
                    // returns, or refused at its deadline if it has not (its lines late).
                    // Lines their request took back were given up (their slot expired).
                    // Whoever takes the lines (the writer here, or the request giving up)
                    // takes them off the unconfirmed count.
                    match answer.pending.take() {
                        Some((bytes, slot)) if !closed && slot.commit() => {
                            group.add(bytes, count, answer);
                        }
                        Some(_) => {
                            health.counts.unconfirmed.fetch_sub(count, Ordering::SeqCst);
                            // Closed: nothing more is written (the log is unavailable).
                            // Else the slot's deadline came first.
                            let refused = if closed {
                                NotWritten::Unavailable
                            } else {
                                NotWritten::Expired
                            };
                            answer.give(Err(refused));
                        }
                        None => {
                            answer.give(Err(NotWritten::Expired));
                        }
                    }
                }
                Msg::Flush { ack, close } => {
                    let Some(mut back) = group.write(out, &mut health).await else {
                        return health.gone();
                    };
                    if close && !closed {
                        let Some((again, owed)) = blocking(back, |o| o.owed_cut()).await else {
                            return health.gone();
                        };
                        back = again;
                        if let Some((path, length)) = owed {
                            health.counts.torn_left.store(true, Ordering::SeqCst);
                            tracing::error!(
                                path = %path,
                                length = length,
                                "decision log closed with the torn bytes of a failed write still in its file past this length: cutting them back failed; the lines before are whole, the bytes after are no line"
                            );
                        }
                    }
                    out = back;
                    closed |= close;
                    let _ = ack.send(());
                }
                Msg::Reopen => {
                    let Some(back) = group.write(out, &mut health).await else {
                        return health.gone();
                    };
                    let Some((back, reopened)) =
                        watched(blocking(back, |o| o.reopen()), &mut health).await
                    else {
                        return health.gone();
                    };
                    out = back;
                    match reopened {
                        Ok(Reopened::Clean) => tracing::info!("decision log reopened"),
                        Ok(Reopened::Unchanged) => {
                            tracing::debug!("decision log on standard output: nothing to reopen")
                        }
                        // Said by the target (which knows its path); not ready until a
                        // write or a probe works.
                        Ok(Reopened::Failing) => health.failed(),
                        Err(e) => {
                            health.failed();
                            metrics::counter!("aftersales_decision_log_reopen_errors_total")
                                .increment(1);
                            tracing::error!(
                                path = %out.path(),
                                error = %e,
                                "decision log cannot be reopened at its path: lines go on to the file opened before (renamed or not, they are kept), and the reopen is tried again before each write and probe until it works"
                            );
                        }
                    }
                }
            }
            next = if group.bytes.len() < GROUP_BYTES {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        let Some(back) = group.write(out, &mut health).await else {
            return health.gone();
        };
        out = back;
    }
}

/// Lines of several requests, written in one call.
#[derive(Default)]
struct Group {
    bytes: Vec<u8>,
    lines: usize,
    /// Each request's answer, its line count and where its lines begin in `bytes`.
    waiting: Vec<(Answer, usize, usize)>,
}

impl Group {
    fn add(&mut self, bytes: Vec<u8>, count: usize, answer: Answer) {
        let start = self.bytes.len();
        if self.bytes.is_empty() {
            self.bytes = bytes;
        } else {
            self.bytes.extend_from_slice(&bytes);
        }
        self.lines += count;
        self.waiting.push((answer, count, start));
    }

    /// Writes and answers the group; None when the writer is lost.
    async fn write(&mut self, out: Box<dyn Out>, health: &mut Health) -> Option<Box<dyn Out>> {
        if self.waiting.is_empty() {
            return Some(out);
        }
        let Group {
            bytes,
            lines,
            waiting,
        } = std::mem::take(self);
        health.counts.writing.store(lines, Ordering::SeqCst);
        let result = watched(
            blocking(out, move |o| {
                let appended = o.append(&bytes);
                let kept = if appended.is_err() { o.kept() } else { 0 };
                (appended, kept, bytes)
            }),
            health,
        )
        .await;
        health.counts.writing.store(0, Ordering::SeqCst);
        health.counts.unconfirmed.fetch_sub(lines, Ordering::SeqCst);
        let written = result.as_ref().is_some_and(|(_, (r, _, _))| r.is_ok());
        let outcome = if written {
            Ok(())
        } else {
            Err(NotWritten::Unavailable)
        };
        // What reached the log: all of it, or (a stream's short write) what it kept.
        let (logged, kept) = match &result {
            Some((_, (_, kept, bytes))) => {
                (bytes.as_slice(), if written { bytes.len() } else { *kept })
            }
            None => (&[][..], 0),
        };
        let mut late = Late::default();
        for (answer, count, start) in waiting {
            let answered = answer.give(outcome);
            let mine = logged.get(start..).unwrap_or_default();
            if written && !answered {
                late.add(count, mine);
            } else if !written {
                // Refused, yet whole lines of it stayed in the log before the write failed.
                let kept_here = logged.get(start..kept.max(start)).unwrap_or_default();
                let whole = kept_here.iter().filter(|&&b| b == b'\n').count().min(count);
                if whole > 0 {
                    late.add(whole, mine);
                }
            }
        }
        // Lines in the log count as records (late ones too), the others as errors.
        let recorded = if written { lines } else { late.lines };
        metrics::counter!("aftersales_decision_log_records_total").increment(recorded as u64);
        if recorded < lines {
            count_failed(lines - recorded);
        }
        late.report(health);
        let (out, (appended, _, _)) = result?;
        health.after(&appended, "write");
        Some(out)
    }
}

/// Lines written after their requests stopped waiting for them (the write returned past
/// their deadline, so they were refused 503, or their callers hung up meanwhile): in the
/// log, yet not delivered decisions.
#[derive(Default)]
struct Late {
    lines: usize,
    requests: usize,
    request_ids: Vec<String>,
    /// Each request's `batch_id`, or its `decision_id`: ids this service made, which the
    /// `served` line of a delivered request carries (a caller may reuse a request id).
    decision_ids: Vec<String>,
}

impl Late {
    /// A refused request's `count` lines, which begin `bytes`.
    fn add(&mut self, count: usize, bytes: &[u8]) {
        self.lines += count;
        self.requests += 1;
        if self.requests <= LATE_IDS_NAMED {
            let ids = ids_of(bytes);
            self.request_ids
                .extend(ids.request_id.as_deref().map(shown_id));
            self.decision_ids
                .extend(ids.batch_id.or(ids.decision_id).as_deref().map(shown_id));
        }
    }

    fn report(self, health: &Health) {
        if self.lines == 0 {
            return;
        }
        health.counts.add_late(self.lines);
        tracing::error!(
            lines = self.lines,
            requests = self.requests,
            request_ids = ?self.request_ids,
            decision_ids = ?self.decision_ids,
            "decision log lines written after their requests were refused 503 (the write returned past their deadline, or failed after a short write) or their callers hung up: they are not delivered decisions; a line is delivered when its decision_id (or batch_id) is on a served line with status 200"
        );
    }
}

/// The ids of a request's lines (all its lines share them).
#[derive(Deserialize, Default)]
struct Ids {
    request_id: Option<String>,
    decision_id: Option<String>,
    batch_id: Option<String>,
}

/// The ids on the first line of `bytes`.
fn ids_of(bytes: &[u8]) -> Ids {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice(line).unwrap_or_default()
}

fn shown_id(id: &str) -> String {
    shown(id).into_owned()
}

/// Whether the log is writable, for `/readyz` and the metrics; logs each change once.
struct Health {
    writable: Arc<AtomicBool>,
    counts: Arc<Counts>,
}

impl Health {
    fn ok(&self) -> bool {
        self.writable.load(Ordering::SeqCst)
    }

    fn after(&mut self, result: &io::Result<()>, what: &str) {
        match result {
            Ok(()) if !self.ok() => {
                self.writable.store(true, Ordering::SeqCst);
                metrics::gauge!("aftersales_decision_log_failing").set(0.0);
                tracing::info!(after = what, "decision log writable again");
            }
            Ok(()) => {}
            Err(e) => {
                if self.ok() {
                    tracing::error!(error = %e, "decision log write failed; decisions are refused until it works again");
                }
                self.failed();
            }
        }
    }

    fn failed(&mut self) {
        self.writable.store(false, Ordering::SeqCst);
        metrics::gauge!("aftersales_decision_log_failing").set(1.0);
    }

    /// A write has not returned for [`STUCK_AFTER`]: not ready until one succeeds.
    fn stuck(&mut self) {
        if self.ok() {
            tracing::error!(
                after_ms = STUCK_AFTER.as_millis() as u64,
                "decision log write has not returned; /readyz is 503 until it does, and decisions waiting for it are refused 503 at their deadline"
            );
        }
        self.failed();
    }

    /// The writer is lost (a panic in a write): the log stays unwritable.
    fn gone(mut self) {
        tracing::error!("decision log writer stopped; decisions are refused");
        self.failed();
    }
}

/// Awaits `work` (a write), marking the log failing while it takes longer than
/// [`STUCK_AFTER`], so a write that never returns is seen in `/readyz`.
async fn watched<T>(work: impl Future<Output = T>, health: &mut Health) -> T {
    tokio::pin!(work);
    tokio::select! {
        done = &mut work => return done,
        () = tokio::time::sleep(STUCK_AFTER) => {}
    }
    health.stuck();
    work.await
}

/// Runs `f` on `out` off the async workers; None if it panicked (and `out` is lost).
async fn blocking<T: Send + 'static>(
    mut out: Box<dyn Out>,
    f: impl FnOnce(&mut dyn Out) -> T + Send + 'static,
) -> Option<(Box<dyn Out>, T)> {
    tokio::task::spawn_blocking(move || {
        let result = f(out.as_mut());
        (out, result)
    })
    .await
    .ok()
}

/// Where the lines go.
trait Out: Send + 'static {
    /// Writes `bytes` (whole lines), or fails leaving none of them behind where it can.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// After a failed [`Out::append`]: how many of its bytes stayed where nothing can
    /// take them back (a stream after a short write; a file is cut back, so none).
    fn kept(&self) -> usize {
        0
    }
    /// Checks that writing works, leaving nothing behind where it can.
    fn probe(&mut self) -> io::Result<()>;
    /// Opens the target again at its path (after the file was rotated away).
    fn reopen(&mut self) -> io::Result<Reopened>;
    /// At the close: tries a cut back still owed once more; the length the file was to be
    /// cut back to if it is still owed (torn bytes are left past it), with the path.
    fn owed_cut(&mut self) -> Option<(String, u64)> {
        None
    }
    /// The path the target was opened at, for events (`-` for standard output).
    fn path(&self) -> &str {
        "-"
    }
}

/// How a reopen left the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reopened {
    Clean,
    /// Nothing to reopen (standard output): nothing is said.
    Unchanged,
    /// Reopened, but a failed write's torn end is still in a file (owed a cut back before
    /// the next write, or left in the file rotated away): an error event said where, and
    /// the log counts as failing until a write or a probe works.
    Failing,
}

/// Opens the target again.
type Reopen<F> = Box<dyn Fn() -> io::Result<F> + Send>;

/// A file that can be measured and cut back.
trait LogFile: Write + Send + 'static {
    /// The length, and whether the file has been deleted (no name is left to it).
    fn measure(&self) -> io::Result<(u64, bool)>;
    fn cut(&self, len: u64) -> io::Result<()>;
    /// Whether `other` is this very file (on one device, one inode).
    fn same_file(&self, other: &Self) -> io::Result<bool>;
    /// Whether the file, `len` bytes long, ends in a torn line (not in a newline).
    fn ends_torn(&self, len: u64) -> io::Result<bool>;
    /// Takes the advisory lock that says this process writes the file (one file, one
    /// writer: another's cut back would remove this one's lines); an error if another
    /// process holds it.
    fn lock_writer(&self) -> io::Result<()>;
    /// The file's device and inode (`dev:ino`), to name a file that has no path any more.
    fn identity(&self) -> String;
}

impl LogFile for File {
    fn measure(&self) -> io::Result<(u64, bool)> {
        let meta = self.metadata()?;
        #[cfg(unix)]
        let deleted = std::os::unix::fs::MetadataExt::nlink(&meta) == 0;
        #[cfg(not(unix))]
        let deleted = false;
        Ok((meta.len(), deleted))
    }

    fn cut(&self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }

    #[cfg(unix)]
    fn same_file(&self, other: &File) -> io::Result<bool> {
        use std::os::unix::fs::MetadataExt;
        let (mine, theirs) = (self.metadata()?, other.metadata()?);
        Ok(mine.dev() == theirs.dev() && mine.ino() == theirs.ino())
    }

    #[cfg(not(unix))]
    fn same_file(&self, _: &File) -> io::Result<bool> {
        Err(io::Error::other("cannot tell whether two files are one"))
    }

    #[cfg(unix)]
    fn ends_torn(&self, len: u64) -> io::Result<bool> {
        let Some(last) = len.checked_sub(1) else {
            return Ok(false);
        };
        let mut byte = [0u8];
        std::os::unix::fs::FileExt::read_exact_at(self, &mut byte, last)?;
        Ok(byte[0] != b'\n')
    }

    #[cfg(not(unix))]
    fn ends_torn(&self, _: u64) -> io::Result<bool> {
        Ok(false)
    }

    #[cfg(unix)]
    fn lock_writer(&self) -> io::Result<()> {
        use rustix::fs::{FlockOperation, flock};
        match flock(self, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(()),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "another process writes it (it holds the file's lock): one file, one writer",
            )),
            Err(e) => Err(e.into()),
        }
    }

    #[cfg(not(unix))]
    fn lock_writer(&self) -> io::Result<()> {
        Ok(())
    }

    #[cfg(unix)]
    fn identity(&self) -> String {
        use std::os::unix::fs::MetadataExt;
        self.metadata()
            .map(|m| format!("{}:{}", m.dev(), m.ino()))
            .unwrap_or_default()
    }

    #[cfg(not(unix))]
    fn identity(&self) -> String {
        String::new()
    }
}

/// A regular file: a failed write is cut back to where it began.
struct FileOut<F: LogFile> {
    file: F,
    reopen: Option<Reopen<F>>,
    /// Set after a write failed and cutting back failed too: nothing is written until the
    /// file is cut back to this length.
    cut_to: Option<u64>,
    /// The file's path, for the events that name it.
    path: String,
    /// The file was opened (or cut back after a probe) since its end was last looked at:
    /// a torn line at its end (a process stopped in a write) is ended by the next write.
    look_at_end: bool,
    /// The error of the last cut back that failed (said once per change).
    cut_error: Option<String>,
    /// The file was found truncated under the writer since its end was last looked at.
    truncated: bool,
    /// Reopens at the path that failed since the last one that worked (on hangup): the
    /// file opened before is written meanwhile, and the reopen tried again before each
    /// write and probe.
    reopen_failures: u64,
    /// Where the last write here ended (the file's length then; after a cut back, the
    /// length cut to): a file found shorter was truncated under the writer.
    ended: Option<u64>,
}

impl<F: LogFile> FileOut<F> {
    fn new(file: F, reopen: Option<Reopen<F>>) -> FileOut<F> {
        FileOut {
            file,
            reopen,
            cut_to: None,
            path: String::new(),
            look_at_end: true,
            cut_error: None,
            truncated: false,
            reopen_failures: 0,
            ended: None,
        }
    }

    /// Named `path` in the events about it.
    fn at(self, path: &str) -> FileOut<F> {
        FileOut {
            path: path.to_owned(),
            ..self
        }
    }

    /// Cuts back what a failed write left, if an earlier cut failed.
    fn repair(&mut self) -> io::Result<()> {
        if let Some(len) = self.cut_to {
            self.cut_back(len)?;
            self.cut_to = None;
        }
        Ok(())
    }

    /// Cuts the file back to `len`, never longer: a file already shorter was truncated
    /// under the writer (`copytruncate`, or an operator): nothing of it is ours to cut,
    /// and extending it would fill it with NUL bytes. Then the cut is dropped and said,
    /// and the next write looks at the end again (a torn piece of the failed write may
    /// be all that is in it). A cut that fails is said once per change of its error.
    fn cut_back(&mut self, len: u64) -> io::Result<()> {
        let cut = self.file.measure().and_then(|(now, _)| {
            self.ended = Some(now.min(len));
            if now > len {
                self.file.cut(len)
            } else {
                if now < len {
                    self.look_at_end = true;
                    self.truncated = true;
                    // Nothing was cut: the recovery is not said as a cut back.
                    self.cut_error = None;
                    tracing::warn!(
                        path = %self.path,
                        cut_length = len,
                        length = now,
                        "the decision log file was truncated under the writer (copytruncate?): it is shorter than the length a failed write was to be cut back to; the cut is dropped, the file is not extended, and a torn piece of the failed write may be at its end (the next line begins with a newline)"
                    );
                }
                Ok(())
            }
        });
        match &cut {
            Ok(()) if self.cut_error.take().is_some() => {
                tracing::info!(path = %self.path, length = len, "decision log file cut back after a failed write: it ends in whole lines again");
            }
            Ok(()) => {}
            Err(e) => {
                let error = e.to_string();
                if self.cut_error.as_deref() != Some(error.as_str()) {
                    tracing::error!(
                        path = %self.path,
                        length = len,
                        error = %error,
                        "decision log file cannot be cut back after a failed write: the bytes past this length are torn (no line); nothing is written, and decisions are refused 503, until the cut works"
                    );
                    self.cut_error = Some(error);
                }
            }
        }
        cut
    }

    /// Writes `bytes` whole, or cuts the file back to where it was; returns the length
    /// before the write. A torn line the file was found to end in (its last byte is not a
    /// newline) is ended first, in the same whole-or-nothing way.
    fn write_whole(&mut self, bytes: &[u8], probing: bool) -> io::Result<u64> {
        self.retry_reopen();
        let (mut len, deleted) = self.file.measure()?;
        if deleted && self.reopen.is_some() {
            // Deleted under us: a new file at the path rather than lines into the void (a
            // cut back the deleted file still owed goes with it).
            self.switch()?;
            tracing::warn!("the decision log file was deleted; reopened at its path");
            len = self.file.measure()?.0;
        }
        if self.cut_to.is_some() {
            self.repair()?;
            // Measured again: a file truncated under the writer is shorter than the cut.
            len = self.file.measure()?.0;
        }
        // Longer than where the last write here ended: someone else appended to it (a
        // `printf partial >> f`): its end is looked at, so a partial line is ended first.
        if self.ended.is_some_and(|ended| len > ended) {
            self.look_at_end = true;
        }
        // Shorter than where the last write here ended: truncated under the writer
        // (someone else's `truncate`, with no cut owed); a torn piece may be at its end.
        if self.ended.is_some_and(|ended| len < ended) {
            tracing::warn!(
                path = %self.path,
                length = len,
                ended_at = self.ended.unwrap_or_default(),
                "the decision log file was truncated under the writer: it is shorter than where the last line written here ended; if it ends in a torn piece, the next line begins with a newline"
            );
            self.look_at_end = true;
            self.truncated = true;
        }
        // A file whose last byte cannot be read (opened write-only, a read error) and
        // that is not empty may end torn: it is given the newline anyway (at worst an
        // empty line, which readers skip), so no line is ever joined to a torn one. That
        // is said as a warning, not counted as torn: nothing is known to be.
        let looked = std::mem::take(&mut self.look_at_end).then(|| self.file.ends_torn(len));
        let unread = len > 0 && matches!(looked, Some(Err(_)));
        let end_torn = unread || matches!(looked, Some(Ok(true)));
        let ended = if end_torn {
            self.file.write_all(b"\n")
        } else {
            Ok(())
        };
        let written = ended
            .and_then(|()| self.file.write_all(bytes))
            .and_then(|()| self.file.flush());
        if let Err(e) = written {
            if self.cut_back(len).is_err() {
                self.cut_to = Some(len);
            }
            self.look_at_end |= end_torn;
            return Err(e);
        }
        self.ended = Some(len + u64::from(end_torn) + bytes.len() as u64);
        // Said once, by the write that stays (a probe's is cut back).
        if unread && !probing {
            self.truncated = false;
            tracing::warn!(
                path = %self.path,
                length = len,
                "the end of the decision log file cannot be read; a newline was written first"
            );
        } else if end_torn && !probing && std::mem::take(&mut self.truncated) {
            count_torn();
            tracing::error!(
                path = %self.path,
                length = len,
                "the decision log file, truncated under the writer (copytruncate?), ends in a torn line; it is ended with a newline before the next line, so none is joined to it. The torn line is no delivered decision"
            );
        } else if end_torn && !probing {
            count_torn();
            tracing::error!(
                path = %self.path,
                length = len,
                "the decision log file ended in a torn line (a write cut short: a process stopped while its write was stuck, or killed in it; or a partial line another writer appended); it is ended with a newline before the next line, so none is joined to it. The torn line is no delivered decision"
            );
        }
        if !probing {
            self.truncated = false;
        }
        Ok(len)
    }
}

impl<F: LogFile> Out for FileOut<F> {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_whole(bytes, false).map(|_| ())
    }

    fn probe(&mut self) -> io::Result<()> {
        let len = self.write_whole(&[b'\n'; PROBE_BYTES], true)?;
        if let Err(e) = self.cut_back(len) {
            self.cut_to = Some(len);
            return Err(e);
        }
        // A torn end the probe's write ended is back: the next write ends it again.
        self.look_at_end = true;
        Ok(())
    }

    fn reopen(&mut self) -> io::Result<Reopened> {
        let reopened = self.switch();
        match &reopened {
            Ok(_) => self.reopen_failures = 0,
            Err(_) => self.reopen_failures += 1,
        }
        reopened
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn owed_cut(&mut self) -> Option<(String, u64)> {
        let _ = self.repair();
        self.cut_to.map(|len| (self.path.clone(), len))
    }
}

impl<F: LogFile> FileOut<F> {
    /// After a reopen on hangup failed: tries it again (the file opened before is written
    /// until it works); one event when it does.
    fn retry_reopen(&mut self) {
        if self.reopen_failures == 0 {
            return;
        }
        match self.switch() {
            Ok(_) => {
                tracing::info!(
                    path = %self.path,
                    failed_tries = self.reopen_failures,
                    "decision log reopened at its path after its reopen failed; lines go to the file at the path again"
                );
                self.reopen_failures = 0;
            }
            Err(_) => self.reopen_failures += 1,
        }
    }

    /// Opens the file at its path again and writes there from now on. A cut back still
    /// owed (a write failed and cutting it back failed too) is tried on the old file first.
    /// If it fails again: when the path names the same file (no rotation), it stays owed,
    /// so nothing is written after the torn end until it is cut; when the old file was
    /// rotated away, its torn end stays there, and an error event names the file and
    /// where the torn end begins. Either way the log counts as failing until a write or a
    /// probe works. When it cannot be told whether the two are one file, nothing changes
    /// (an error: the old file is kept, and its cut still owed).
    fn switch(&mut self) -> io::Result<Reopened> {
        if self.reopen.is_none() {
            return Ok(Reopened::Clean);
        }
        let repaired = self.repair();
        let Some(reopen) = &self.reopen else {
            return Ok(Reopened::Clean);
        };
        let file = reopen()?;
        let same = self.file.same_file(&file)?;
        if same {
            // No rotation: the file opened before (which holds the lock) is kept.
            drop(file);
            self.look_at_end = true;
            return match (repaired, self.cut_to) {
                (Err(error), Some(len)) => {
                    tracing::error!(
                        path = %self.path,
                        length = len,
                        error = %error,
                        "decision log reopened, but the torn end of a failed write is still in it past this length and cannot be cut back: nothing is written until it is"
                    );
                    Ok(Reopened::Failing)
                }
                _ => Ok(Reopened::Clean),
            };
        }
        file.lock_writer()?;
        let (Err(error), Some(len)) = (repaired, self.cut_to) else {
            self.file = file;
            self.look_at_end = true;
            self.ended = None;
            return Ok(Reopened::Clean);
        };
        // A deleted file's torn end is gone with it.
        let deleted = self.file.measure().is_ok_and(|(_, deleted)| deleted);
        let old = std::mem::replace(&mut self.file, file);
        self.look_at_end = true;
        self.ended = None;
        self.cut_to = None;
        self.cut_error = None;
        if deleted {
            return Ok(Reopened::Clean);
        }
        count_torn();
        // Named as the file rotated away from the path (and by device and inode): the
        // path names the new file now, which holds no torn bytes.
        tracing::error!(
            rotated_from = %self.path,
            file = %old.identity(),
            torn_from = len,
            error = %error,
            "decision log reopened, but the file rotated away from its path (the old file, named by device:inode) keeps the torn end of a failed write past torn_from bytes: cutting it back failed; the lines before it are whole, the bytes after it are no line. The new file at the path is whole"
        );
        Ok(Reopened::Failing)
    }
}

/// Standard output, a pipe or a device: cannot be cut back.
struct StreamOut<W: Write + Send + 'static> {
    out: W,
    reopen: Option<Reopen<W>>,
    /// A line was written in part: it is ended before anything else is written.
    torn: bool,
    /// Bytes of the last failed write that were written (they stay).
    kept: usize,
    /// The path it was opened at, for events (`-` for standard output).
    path: String,
    /// Reopens that failed since the last one that worked: tried again before each write
    /// and probe (the stream opened before is written meanwhile).
    reopen_failures: u64,
    /// Standard output that is a regular file: its end, watched between writes.
    end: Option<EndWatch>,
}

/// The length and the last byte of a regular file written as a stream (standard output
/// to a file), read through a handle of its own.
trait Tail: Send + 'static {
    fn length(&self) -> io::Result<u64>;
    fn torn_at(&self, len: u64) -> io::Result<bool>;
}

impl<F: LogFile> Tail for F {
    fn length(&self) -> io::Result<u64> {
        self.measure().map(|(len, _)| len)
    }

    fn torn_at(&self, len: u64) -> io::Result<bool> {
        self.ends_torn(len)
    }
}

/// Where the last write to standard output (a regular file) ended: a file found shorter
/// (truncated mid-line) or longer (someone appended a partial line) has its end looked
/// at before the next write, as a path's is.
struct EndWatch {
    tail: Box<dyn Tail>,
    ended: Option<u64>,
}

impl<W: Write + Send + 'static> StreamOut<W> {
    fn new(out: W, reopen: Option<Reopen<W>>) -> StreamOut<W> {
        StreamOut {
            out,
            reopen,
            torn: false,
            kept: 0,
            path: "-".to_owned(),
            reopen_failures: 0,
            end: None,
        }
    }

    /// Watches the end of the regular file written (through `tail`), `len` bytes long now.
    fn watching_end(self, tail: Box<dyn Tail>, len: u64) -> StreamOut<W> {
        StreamOut {
            end: Some(EndWatch {
                tail,
                ended: Some(len),
            }),
            ..self
        }
    }

    /// Before a write to a watched file: if its length is not where the last write here
    /// ended, the torn-end rule: a last byte that is not a newline, or one that cannot be
    /// read in a file that is not empty, is ended with a newline first.
    fn look_at_end(&mut self) {
        let Some(end) = &self.end else { return };
        let (Ok(len), Some(ended)) = (end.tail.length(), end.ended) else {
            return;
        };
        if len == ended {
            return;
        }
        if len < ended {
            tracing::warn!(
                path = %self.path,
                length = len,
                ended_at = ended,
                "the decision log file was truncated under the writer: it is shorter than where the last line written here ended; if it ends in a torn piece, the next line begins with a newline"
            );
        }
        match end.tail.torn_at(len) {
            Ok(true) => {
                count_torn();
                tracing::error!(
                    path = %self.path,
                    length = len,
                    "the decision log file ended in a torn line (truncated mid-line under the writer, or a partial line another writer appended); it is ended with a newline before the next line, so none is joined to it. The torn line is no delivered decision"
                );
                self.torn = true;
            }
            Err(_) if len > 0 => {
                tracing::warn!(
                    path = %self.path,
                    length = len,
                    "the end of the decision log file cannot be read; a newline was written first"
                );
                self.torn = true;
            }
            _ => {}
        }
    }

    /// After a reopen on hangup failed: tries it again; one event when it works.
    fn retry_reopen(&mut self) {
        if self.reopen_failures == 0 {
            return;
        }
        let failures = self.reopen_failures;
        if self.reopen().is_ok() {
            tracing::info!(
                path = %self.path,
                failed_tries = failures,
                "decision log reopened at its path after its reopen failed; lines go to the file at the path again"
            );
        }
    }

    /// Named `path` in the events about it.
    fn at(self, path: &str) -> StreamOut<W> {
        StreamOut {
            path: path.to_owned(),
            ..self
        }
    }

    /// Begins with a newline (the stream may end in a line torn by another writer).
    fn ending_torn(self) -> StreamOut<W> {
        StreamOut { torn: true, ..self }
    }

    fn write_whole(&mut self, bytes: &[u8]) -> io::Result<()> {
        let before = self.end.as_ref().map(|end| end.tail.length().ok());
        let mut written = 0;
        self.kept = 0;
        let result = loop {
            if written == bytes.len() {
                break self.out.flush();
            }
            match self.out.write(&bytes[written..]) {
                Ok(0) => {
                    self.torn |= written > 0;
                    self.kept = written;
                    break Err(io::ErrorKind::WriteZero.into());
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.torn |= written > 0;
                    self.kept = written;
                    break Err(e);
                }
            }
        };
        if let (Some(end), Some(before)) = (&mut self.end, before) {
            end.ended = before.map(|len| len + written as u64);
        }
        result
    }
}

impl<W: Write + Send + 'static> Out for StreamOut<W> {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.retry_reopen();
        self.look_at_end();
        if self.torn {
            self.probe()?;
        }
        self.write_whole(bytes)
    }

    fn kept(&self) -> usize {
        self.kept
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn probe(&mut self) -> io::Result<()> {
        self.retry_reopen();
        // An empty line (which also ends a torn one): JSON-lines readers skip it.
        let torn = std::mem::take(&mut self.torn);
        let ended = self.write_whole(b"\n");
        self.torn |= torn && ended.is_err();
        ended
    }

    fn reopen(&mut self) -> io::Result<Reopened> {
        if let Some(reopen) = &self.reopen {
            self.out = reopen().inspect_err(|_| self.reopen_failures += 1)?;
            self.reopen_failures = 0;
            // The same FIFO (the reader kept), or one another process wrote to: a torn
            // line, ours or its, is ended first (at worst, an empty line).
            self.torn = true;
            return Ok(Reopened::Clean);
        }
        Ok(Reopened::Unchanged)
    }
}

/// Where a decision came from, for its line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    pub request_id: Option<&'a str>,
    pub batch_id: Option<&'a str>,
}

/// Appends one decision's line (and its newline) to `out`. Keys in alphabetical order.
pub fn push_line(
    out: &mut Vec<u8>,
    rules: &Rules,
    decision_id: &str,
    case: &Case,
    d: &Decision,
    origin: Origin,
) {
    let notice = &rules.notices[d.notice.min(rules.notices.len().saturating_sub(1))];
    let tz = rules.time_zone;
    let t = |i: time::Instant| Rfc3339::new(i, tz);
    let events = |trace: &[Event]| -> Vec<LoggedEvent> {
        trace
            .iter()
            .map(|e| LoggedEvent {
                at: t(e.at),
                status: e.status,
            })
            .collect()
    };
    let mut sections: Vec<&str> = d
        .explanation
        .iter()
        .map(|e| notice.explanation(e.finding, Lang::default()).0)
        .collect();
    sections.dedup();
    let line = Line {
        applies: d.applies,
        as_of: Rfc3339::new(d.as_of, notice.time_zone),
        batch_id: origin.batch_id,
        case_id: case.case_id.as_deref(),
        decision: d.outcome,
        decision_id,
        input: Input {
            destination: city_level(&case.destination),
            logistics_trace: events(&case.trace),
            open_refund_requests: case.open_refund_requests,
            order_id: &case.order.order_id,
            // policy.md §9: the platform's state changes decisions, so it is on record
            // (codes and a time only; nothing the buyer wrote).
            platform: case.platform.as_ref().map(|p| LoggedPlatform {
                buyer_claims_receipt: p.buyer_claims_receipt,
                deadline: p.deadline.map(t),
                merchant_rejected: p.merchant_rejected,
                not_covered: p.not_covered.map(|k| k.label().as_str()),
                status: p.status.code(),
            }),
            refund_type: case.refund_type,
            requested_at: t(case.requested_at),
            r#return: case.return_.as_ref().map(|r| LoggedReturn {
                countdown_ends_at: r.countdown_ends_at.map(t),
                countdown_started_at: r.countdown_started_at.map(t),
                destination: r.destination.as_ref().and_then(city_level),
                trace: events(&r.trace),
            }),
            shipped_at: case.order.shipped_at.map(t),
        },
        request_id: origin.request_id,
        rules_checksum: &rules.checksum,
        rules_version: &rules.version,
        scenario: d.scenario,
        sections,
    };
    // Only strings, numbers and codes: serialising cannot fail.
    let start = out.len();
    let _ = serde_json::to_writer(&mut *out, &line);
    // A caller's string (a case id) must not break or disguise the line.
    if let Some(written) = out.get(start..)
        && let Ok(text) = std::str::from_utf8(written)
        && text.chars().any(invisible)
    {
        let escaped = escape_invisible(text.to_owned());
        out.truncate(start);
        out.extend_from_slice(escaped.as_bytes());
    }
    out.push(b'\n');
}

/// Writes, in serialized JSON, the characters JSON leaves as they are but readers act on
/// as `\u` escapes: DEL and the C1 controls (CSI drives some terminals), the line and
/// paragraph separators (a line break to many readers), the bidirectional controls
/// (they reorder what `tail` shows) and the BOM. A caller's string (a case id) then cannot
/// break a log line or disguise one, and parses to the same value. Such characters can
/// only be inside the JSON's strings, where an escape means the same.
fn escape_invisible(json: String) -> String {
    if !json.chars().any(invisible) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 32);
    for c in json.chars() {
        if invisible(c) {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// The characters [`escape_invisible`] escapes.
fn invisible(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{200e}'
        | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A caller's string for the service log (whose JSON leaves those characters raw): each
/// of them written as `\u{…}`, as the text view does.
pub fn shown(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(invisible) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if invisible(c) {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[derive(Serialize)]
struct Line<'a> {
    applies: bool,
    as_of: Rfc3339,
    batch_id: Option<&'a str>,
    case_id: Option<&'a str>,
    decision: Outcome,
    decision_id: &'a str,
    input: Input<'a>,
    request_id: Option<&'a str>,
    rules_checksum: &'a str,
    rules_version: &'a str,
    scenario: Scenario,
    sections: Vec<&'a str>,
}

#[derive(Serialize)]
struct Input<'a> {
    destination: Option<CityLevel>,
    logistics_trace: Vec<LoggedEvent>,
    open_refund_requests: Option<u64>,
    order_id: &'a str,
    platform: Option<LoggedPlatform>,
    refund_type: RefundType,
    requested_at: Rfc3339,
    r#return: Option<LoggedReturn>,
    shipped_at: Option<Rfc3339>,
}

#[derive(Serialize)]
struct LoggedPlatform {
    buyer_claims_receipt: bool,
    deadline: Option<Rfc3339>,
    merchant_rejected: bool,
    not_covered: Option<&'static str>,
    status: u16,
}

#[derive(Serialize)]
struct LoggedEvent {
    at: Rfc3339,
    status: Status,
}

#[derive(Serialize)]
struct LoggedReturn {
    countdown_ends_at: Option<Rfc3339>,
    countdown_started_at: Option<Rfc3339>,
    destination: Option<CityLevel>,
    trace: Vec<LoggedEvent>,
}

/// A destination no finer than its city: `{"adcode": "330100", "name": "浙江省杭州市"}`.
#[derive(Serialize)]
struct CityLevel {
    adcode: String,
    name: String,
}

fn city_level(place: &Place) -> Option<CityLevel> {
    let g = crate::gazetteer();
    let area = place.area.map(|a| match a {
        Area::District(code) => match g.area_of_adcode(code / 100 * 100) {
            (city, true) => city,
            // A municipality's districts sit under no named city: keep the province.
            (_, false) => Area::Province(code / 10_000 * 10_000),
        },
        other => other,
    })?;
    Some(CityLevel {
        adcode: format!("{:06}", area.code()),
        name: g.describe(area),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use serde_json::Value;

    use super::*;

    /// A disk of `room` bytes, in memory: a write past it is short, the next one fails
    /// with ENOSPC, as on a full filesystem.
    #[derive(Clone, Default)]
    struct Disk {
        data: Arc<Mutex<Vec<u8>>>,
        room: Arc<AtomicUsize>,
        cut_fails: Arc<AtomicBool>,
        deleted: Arc<AtomicBool>,
        /// Opened write-only: its last byte cannot be read.
        unreadable: Arc<AtomicBool>,
    }

    impl Disk {
        fn with_room(room: usize) -> Disk {
            let disk = Disk::default();
            disk.room.store(room, Ordering::SeqCst);
            disk
        }

        fn text(&self) -> String {
            String::from_utf8_lossy(&self.data.lock().map(|d| d.clone()).unwrap_or_default())
                .into_owned()
        }

        /// `bytes` added at the end by someone other than the log (`printf .. >> f`).
        fn append_outside(&self, bytes: &[u8]) {
            if let Ok(mut data) = self.data.lock() {
                data.extend_from_slice(bytes);
            }
        }

        /// A disk with room to spare that holds `bytes` already.
        fn holding(bytes: &[u8]) -> Disk {
            let disk = Disk::with_room(1 << 20);
            disk.append_outside(bytes);
            disk
        }

        fn fill(&self) {
            let used = self.data.lock().map(|d| d.len()).unwrap_or(0);
            self.room.store(used, Ordering::SeqCst);
        }
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut data = self.data.lock().map_err(|_| io::Error::other("poisoned"))?;
            let free = self.room.load(Ordering::SeqCst).saturating_sub(data.len());
            if free == 0 {
                return Err(io::Error::from_raw_os_error(28));
            }
            let n = free.min(buf.len());
            data.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl LogFile for Disk {
        fn measure(&self) -> io::Result<(u64, bool)> {
            let len = self.data.lock().map(|d| d.len()).unwrap_or(0) as u64;
            Ok((len, self.deleted.load(Ordering::SeqCst)))
        }

        fn cut(&self, len: u64) -> io::Result<()> {
            if self.cut_fails.load(Ordering::SeqCst) {
                return Err(io::Error::other("cannot cut"));
            }
            let mut data = self.data.lock().map_err(|_| io::Error::other("poisoned"))?;
            // As ftruncate: a longer length extends the file with NUL bytes.
            data.resize(len as usize, 0);
            Ok(())
        }

        fn same_file(&self, other: &Disk) -> io::Result<bool> {
            Ok(Arc::ptr_eq(&self.data, &other.data))
        }

        fn lock_writer(&self) -> io::Result<()> {
            Ok(())
        }

        fn identity(&self) -> String {
            "disk".to_owned()
        }

        fn ends_torn(&self, len: u64) -> io::Result<bool> {
            if self.unreadable.load(Ordering::SeqCst) {
                return Err(io::Error::from_raw_os_error(libc::EBADF));
            }
            let data = self.data.lock().map_err(|_| io::Error::other("poisoned"))?;
            let last = usize::try_from(len).ok().and_then(|l| l.checked_sub(1));
            Ok(last
                .and_then(|at| data.get(at))
                .is_some_and(|&b| b != b'\n'))
        }
    }

    fn line(n: usize) -> Vec<u8> {
        format!("{{\"decision_id\":\"{n:032}\"}}\n").into_bytes()
    }

    fn parsed(text: &str) -> Vec<Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("`{l}`: {e}")))
            .collect()
    }

    #[test]
    fn a_failed_write_to_a_file_is_cut_back_so_lines_are_whole_or_absent() {
        let disk = Disk::with_room(120);
        let mut out = FileOut::new(disk.clone(), None);
        assert!(out.append(&line(1)).is_ok());
        assert!(out.append(&line(2)).is_ok());
        let before = disk.text();
        // Room for half of it: a short write, then ENOSPC.
        let failed = out.append(&line(3));
        assert_eq!(failed.map_err(|e| e.raw_os_error()), Err(Some(28)));
        assert_eq!(disk.text(), before, "no torn line");
        assert!(out.probe().is_err(), "still full");
        assert_eq!(disk.text(), before);

        disk.room.store(1 << 20, Ordering::SeqCst);
        assert!(out.probe().is_ok());
        assert_eq!(disk.text(), before, "the probe leaves nothing");
        assert!(out.append(&line(3)).is_ok());
        assert_eq!(parsed(&disk.text()).len(), 3);
    }

    #[test]
    fn when_cutting_back_fails_nothing_is_written_until_it_succeeds() {
        let disk = Disk::with_room(120);
        let mut out = FileOut::new(disk.clone(), None);
        assert!(out.append(&line(1)).is_ok());
        assert!(out.append(&line(2)).is_ok());
        disk.cut_fails.store(true, Ordering::SeqCst);
        assert!(out.append(&line(3)).is_err());
        let torn = disk.text();
        disk.room.store(1 << 20, Ordering::SeqCst);
        assert!(out.append(&line(4)).is_err(), "never after a torn line");
        assert!(out.probe().is_err());
        assert_eq!(disk.text(), torn);

        disk.cut_fails.store(false, Ordering::SeqCst);
        assert!(out.append(&line(4)).is_ok());
        let ids: Vec<Value> = parsed(&disk.text())
            .into_iter()
            .map(|l| l["decision_id"].clone())
            .collect();
        assert_eq!(ids, [line_id(1), line_id(2), line_id(4)]);
    }

    fn line_id(n: usize) -> Value {
        Value::String(format!("{n:032}"))
    }

    #[test]
    fn a_torn_line_in_a_stream_is_ended_before_the_next_one() {
        let disk = Disk::with_room(120);
        let mut out = StreamOut::new(disk.clone(), None);
        assert!(out.append(&line(1)).is_ok());
        assert!(out.append(&line(2)).is_ok());
        assert!(out.append(&line(3)).is_err());
        disk.room.store(1 << 20, Ordering::SeqCst);
        assert!(out.append(&line(4)).is_ok());
        let text = disk.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            serde_json::from_str::<Value>(lines[2]).is_err(),
            "the torn one"
        );
        assert_eq!(
            serde_json::from_str::<Value>(lines[3]).unwrap_or_default()["decision_id"],
            line_id(4),
            "not joined to the torn one"
        );
    }

    #[tokio::test]
    async fn the_writer_refuses_while_full_recovers_by_itself_and_keeps_batches_whole() {
        let disk = Disk::with_room(1 << 20);
        let log = DecisionLog::start(
            Box::new(FileOut::new(disk.clone(), None)),
            8,
            Duration::from_millis(20),
        );
        let slot = Slot::unbounded();
        assert_eq!(log.commit(line(1), 1, &slot).await, Ok(()));
        assert!(
            disk.text().contains(&format!("{:032}", 1)),
            "written before the answer"
        );
        assert!(log.writable());

        disk.fill();
        let batch = [line(2), line(3), line(4)].concat();
        assert_eq!(
            log.commit(batch.clone(), 3, &slot).await,
            Err(NotWritten::Unavailable)
        );
        assert!(!log.writable());
        assert_eq!(parsed(&disk.text()).len(), 1, "all or nothing");

        disk.room.store(1 << 20, Ordering::SeqCst);
        let mut recovered = false;
        for _ in 0..200 {
            if log.writable() {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(recovered, "the probe never saw the room");
        assert_eq!(parsed(&disk.text()).len(), 1, "the probe leaves nothing");
        assert_eq!(log.commit(batch, 3, &slot).await, Ok(()));
        assert_eq!(parsed(&disk.text()).len(), 4);

        let expired = Slot::unbounded();
        assert!(expired.expire());
        assert_eq!(
            log.commit(line(5), 1, &expired).await,
            Err(NotWritten::Expired)
        );
        log.flush().await;
        assert_eq!(
            parsed(&disk.text()).len(),
            4,
            "nothing of an expired request"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_commits_are_grouped_and_each_line_is_written_once() {
        let disk = Disk::with_room(1 << 24);
        let log = DecisionLog::start(Box::new(FileOut::new(disk.clone(), None)), 64, PROBE_EVERY);
        let commits: Vec<_> = (0..500)
            .map(|n| {
                let log = log.clone();
                tokio::spawn(async move { log.commit(line(n), 1, &Slot::unbounded()).await })
            })
            .collect();
        for c in commits {
            assert_eq!(c.await.ok(), Some(Ok(())));
        }
        let mut ids: Vec<String> = parsed(&disk.text())
            .into_iter()
            .map(|l| l["decision_id"].as_str().unwrap_or_default().to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 500);
    }

    /// A target whose writes do not return until it opens (a pipe nobody reads), then
    /// land on a disk.
    #[derive(Clone, Default)]
    struct Gate {
        open: Arc<(Mutex<bool>, std::sync::Condvar)>,
        entered: Arc<AtomicBool>,
        disk: Disk,
    }

    impl Gate {
        fn new() -> Gate {
            Gate {
                disk: Disk::with_room(1 << 20),
                ..Gate::default()
            }
        }

        fn open(&self) {
            let (open, changed) = &*self.open;
            if let Ok(mut open) = open.lock() {
                *open = true;
            }
            changed.notify_all();
        }

        fn pass(&self) {
            self.entered.store(true, Ordering::SeqCst);
            let (open, changed) = &*self.open;
            let Ok(mut guard) = open.lock() else { return };
            while !*guard {
                match changed.wait(guard) {
                    Ok(g) => guard = g,
                    Err(_) => return,
                }
            }
        }

        /// Waits (up to 10 s) until a write is blocked in it.
        async fn entered(&self) -> bool {
            for _ in 0..1000 {
                if self.entered.load(Ordering::SeqCst) {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            false
        }
    }

    impl Out for Gate {
        fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.pass();
            self.disk.write_all(bytes)
        }

        fn probe(&mut self) -> io::Result<()> {
            self.pass();
            Ok(())
        }

        fn reopen(&mut self) -> io::Result<Reopened> {
            Ok(Reopened::Clean)
        }
    }

    /// Opens the gate when the test ends, failed or not: the runtime's drop waits for the
    /// blocked write.
    struct OpensAtEnd(Gate);

    impl Drop for OpensAtEnd {
        fn drop(&mut self) {
            self.0.open();
        }
    }

    fn line_of(request_id: &str, n: usize) -> Vec<u8> {
        format!("{{\"decision_id\":\"{n:032}\",\"request_id\":\"{request_id}\"}}\n").into_bytes()
    }

    /// A log whose writer is stuck in the write of `id`'s line (a request with 60 s to
    /// wait), with that request's task; the gate opens when the test ends.
    async fn stuck_in_write(
        id: &'static str,
    ) -> (
        Gate,
        OpensAtEnd,
        DecisionLog,
        tokio::task::JoinHandle<Result<(), NotWritten>>,
    ) {
        let gate = Gate::new();
        let opens = OpensAtEnd(gate.clone());
        let log = DecisionLog::start(Box::new(gate.clone()), 8, PROBE_EVERY);
        let in_write = {
            let log = log.clone();
            tokio::spawn(async move {
                let slot = Slot::new(Duration::from_secs(60), None);
                log.commit(line_of(id, 1), 1, &slot).await
            })
        };
        assert!(gate.entered().await, "the write never began");
        (gate, opens, log, in_write)
    }

    /// `commit`, failing the test rather than hanging it.
    async fn bounded_commit(
        log: &DecisionLog,
        bytes: Vec<u8>,
        count: usize,
        slot: &Slot,
    ) -> Option<Result<(), NotWritten>> {
        tokio::time::timeout(Duration::from_secs(20), log.commit(bytes, count, slot))
            .await
            .ok()
    }

    #[tokio::test]
    async fn a_committed_request_whose_write_does_not_return_is_refused_at_its_deadline_and_its_line_counted_late()
     {
        let gate = Gate::new();
        let _opens = OpensAtEnd(gate.clone());
        let log = DecisionLog::start(Box::new(gate.clone()), 8, PROBE_EVERY);
        let slot = Slot::new(Duration::from_millis(300), None);
        let refused = bounded_commit(&log, line_of("req-1", 1), 1, &slot).await;
        assert_eq!(
            refused,
            Some(Err(NotWritten::NotReturned)),
            "refused at its deadline, not left waiting for the write"
        );
        assert!(!slot.expire(), "the writer had taken its line");
        assert_eq!(log.late_lines(), 0);
        assert!(gate.disk.text().is_empty());

        // The reader is back: the write returns, after its request was refused.
        gate.open();
        log.flush().await;
        assert_eq!(log.late_lines(), 1, "counted late");
        let logged = parsed(&gate.disk.text());
        assert_eq!(logged.len(), 1, "the line is in the log");
        assert_eq!(logged[0]["request_id"], "req-1", "to match with the 503");

        let healthy = Slot::new(Duration::from_secs(60), None);
        assert_eq!(
            bounded_commit(&log, line_of("req-2", 2), 1, &healthy).await,
            Some(Ok(()))
        );
        assert_eq!(log.late_lines(), 1, "a line written in time is not late");
    }

    #[tokio::test]
    async fn a_request_whose_caller_hangs_up_during_its_write_is_counted_late_and_named() {
        let (gate, _opens, log, in_write) = stuck_in_write("gone").await;
        // The caller hangs up: hyper drops the request's future, mid-wait.
        in_write.abort();
        assert!(in_write.await.is_err_and(|e| e.is_cancelled()));
        gate.open();
        log.flush().await;
        let logged = parsed(&gate.disk.text());
        assert_eq!(logged.len(), 1, "a write cannot be taken back");
        assert_eq!(log.late_lines(), 1, "in the log but never delivered: late");
    }

    #[tokio::test]
    async fn a_request_whose_caller_hangs_up_after_its_write_before_its_answer_is_counted_late() {
        let gate = Gate::new();
        let _opens = OpensAtEnd(gate.clone());
        let log = DecisionLog::start(Box::new(gate.clone()), 8, PROBE_EVERY);
        let slot = Slot::new(Duration::from_secs(60), None);
        let mut commit = Box::pin(log.commit(line_of("gone-after", 1), 1, &slot));
        // Polled once: the lines are queued; the write begins and blocks.
        let first =
            std::future::poll_fn(|cx| std::task::Poll::Ready(commit.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        assert!(gate.entered().await, "the write never began");
        gate.open();
        // The writer has written and answered once the flush behind it is done; the
        // request has not run since, and its caller hangs up now.
        log.flush().await;
        assert_eq!(log.late_lines(), 0);
        drop(commit);
        assert_eq!(parsed(&gate.disk.text()).len(), 1, "the line is in the log");
        assert_eq!(log.late_lines(), 1, "in the log, never delivered: late");

        // One that returns its answer is not late.
        let healthy = Slot::new(Duration::from_secs(60), None);
        let answered = bounded_commit(&log, line_of("kept", 2), 1, &healthy).await;
        assert_eq!(answered, Some(Ok(())));
        assert_eq!(log.late_lines(), 1);
    }

    #[tokio::test]
    async fn a_request_that_gives_up_before_the_writer_takes_its_lines_frees_its_slot_at_once() {
        let gate = Gate::new();
        let _opens = OpensAtEnd(gate.clone());
        let log = DecisionLog::start(Box::new(gate.clone()), 8, PROBE_EVERY);
        let first = Slot::new(Duration::from_millis(300), None);
        assert_eq!(
            bounded_commit(&log, line_of("in-write", 1), 1, &first).await,
            Some(Err(NotWritten::NotReturned))
        );
        // The concurrency limit's permit lives in the slot.
        let limit = Arc::new(Semaphore::new(2));
        let permit = limit.clone().try_acquire_owned().ok();
        let queued = Slot::new(Duration::from_millis(200), permit);
        assert_eq!(
            bounded_commit(&log, line_of("queued", 2), 1, &queued).await,
            Some(Err(NotWritten::Expired))
        );
        drop(queued);
        assert_eq!(
            limit.available_permits(),
            2,
            "the slot is freed at its deadline, not when the stuck writer comes to its lines"
        );
        let hung_up = {
            let log = log.clone();
            let permit = limit.clone().try_acquire_owned().ok();
            tokio::spawn(async move {
                let slot = Slot::new(Duration::from_secs(60), permit);
                log.commit(line_of("hung-up", 3), 1, &slot).await
            })
        };
        while limit.available_permits() == 2 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        hung_up.abort();
        let _ = hung_up.await;
        assert_eq!(
            limit.available_permits(),
            2,
            "freed when its caller hung up"
        );
        gate.open();
        log.flush().await;
        let ids: Vec<_> = parsed(&gate.disk.text())
            .iter()
            .map(|l| l["request_id"].clone())
            .collect();
        assert_eq!(ids, ["in-write"], "lines given up are never written");
        assert_eq!(log.late_lines(), 1);
    }

    #[tokio::test]
    async fn refused_requests_keep_their_room_until_the_writer_lets_go_of_their_lines() {
        let gate = Gate::new();
        let _opens = OpensAtEnd(gate.clone());
        let log = DecisionLog::start(Box::new(gate.clone()), 2, PROBE_EVERY);
        let in_write = Slot::new(Duration::from_millis(300), None);
        assert_eq!(
            bounded_commit(&log, line_of("in-write", 1), 1, &in_write).await,
            Some(Err(NotWritten::NotReturned))
        );
        let queued = Slot::new(Duration::from_millis(300), None);
        assert_eq!(
            bounded_commit(&log, line_of("queued", 2), 1, &queued).await,
            Some(Err(NotWritten::Expired))
        );
        // Both requests were answered, but their lines are still held (one in the stuck
        // write, one queued behind it): the queue stays full, so refused requests cannot
        // pile up lines in memory while the write does not return.
        assert_eq!(log.room.available_permits(), 0, "room given back too early");
        let third = Slot::new(Duration::from_millis(200), None);
        assert_eq!(
            bounded_commit(&log, line_of("third", 3), 1, &third).await,
            Some(Err(NotWritten::Expired)),
            "no room: refused at its deadline"
        );
        gate.open();
        log.flush().await;
        assert_eq!(
            log.room.available_permits(),
            2,
            "room back once the write returned"
        );
    }

    #[tokio::test]
    async fn behind_a_write_that_does_not_return_lines_are_given_up_and_the_flush_says_how_many_are_unconfirmed()
     {
        let gate = Gate::new();
        let _opens = OpensAtEnd(gate.clone());
        let log = DecisionLog::start(Box::new(gate.clone()), 8, PROBE_EVERY);
        let batch = [
            line_of("batch", 1),
            line_of("batch", 2),
            line_of("batch", 3),
        ]
        .concat();
        let in_write = {
            let log = log.clone();
            tokio::spawn(async move {
                let slot = Slot::new(Duration::from_millis(500), None);
                bounded_commit(&log, batch, 3, &slot).await
            })
        };
        assert!(gate.entered().await, "the batch's write never began");
        let queued = Slot::new(Duration::from_millis(300), None);
        assert_eq!(
            bounded_commit(&log, line_of("queued", 4), 1, &queued).await,
            Some(Err(NotWritten::Expired)),
            "never taken by the writer: a timeout, nothing to be logged"
        );
        assert_eq!(
            in_write.await.ok().flatten(),
            Some(Err(NotWritten::NotReturned))
        );
        let by = std::time::Instant::now() + Duration::from_millis(200);
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(20), log.close_by(by))
                .await
                .ok(),
            // The batch in the write; not the line its request took back.
            Some(Err(Unconfirmed {
                lines: 3,
                writing: 3
            })),
            "the flush gives up at its deadline"
        );

        gate.open();
        log.flush().await;
        assert_eq!(log.late_lines(), 3, "the batch, all of it, late");
        let ids: Vec<Value> = parsed(&gate.disk.text())
            .into_iter()
            .map(|l| l["request_id"].clone())
            .collect();
        assert_eq!(
            ids,
            ["batch", "batch", "batch"],
            "nothing of the given-up line"
        );
        let by = std::time::Instant::now() + Duration::from_secs(20);
        assert_eq!(log.close_by(by).await, Ok(()), "all handled");
    }

    #[tokio::test]
    async fn without_a_deadline_a_request_waits_for_its_write_a_bounded_time() {
        let gate = Gate::new();
        let _opens = OpensAtEnd(gate.clone());
        let log = DecisionLog {
            wait_without_deadline: Duration::from_millis(300),
            ..DecisionLog::start(Box::new(gate.clone()), 8, PROBE_EVERY)
        };
        let slot = Slot::unbounded();
        assert_eq!(
            bounded_commit(&log, line_of("unbounded", 1), 1, &slot).await,
            Some(Err(NotWritten::NotReturned))
        );
        gate.open();
        log.flush().await;
        assert_eq!(log.late_lines(), 1);
    }

    #[tokio::test]
    async fn a_healthy_writer_is_flushed_by_the_deadline() {
        let disk = Disk::with_room(1 << 20);
        let log = DecisionLog::start(Box::new(FileOut::new(disk.clone(), None)), 8, PROBE_EVERY);
        for n in 0..5 {
            let slot = Slot::new(Duration::from_secs(60), None);
            assert_eq!(log.commit(line(n), 1, &slot).await, Ok(()));
        }
        let by = std::time::Instant::now() + Duration::from_secs(20);
        assert_eq!(log.close_by(by).await, Ok(()));
        assert_eq!(parsed(&disk.text()).len(), 5);
        assert_eq!(log.late_lines(), 0);
    }

    #[test]
    fn the_late_event_names_the_request_and_the_decision_of_the_first_line() {
        let lines = [line_of("req-7", 1), line_of("req-7", 2)].concat();
        let mut late = Late::default();
        late.add(2, &lines);
        assert_eq!(late.request_ids, ["req-7"]);
        assert_eq!(late.decision_ids, [format!("{:032}", 1)]);
        let batch = b"{\"batch_id\":\"b-1\",\"decision_id\":\"d-1\",\"request_id\":\"r\"}\n";
        late.add(1, batch);
        assert_eq!(
            late.decision_ids[1], "b-1",
            "a batch is named by its batch id"
        );
        late.add(1, b"not json\n");
        assert_eq!(
            (late.lines, late.requests, late.request_ids.len()),
            (4, 3, 2)
        );
        assert!(ids_of(&line(1)).request_id.is_none(), "a line without one");
    }

    #[tokio::test]
    async fn once_closed_the_log_refuses_lines_and_counts_no_line_taken_back() {
        let (gate, _opens, log, in_write) = stuck_in_write("in-write").await;
        // Queued behind the stuck write, and taken back at its deadline.
        let queued = Slot::new(Duration::from_millis(200), None);
        assert_eq!(
            bounded_commit(&log, line_of("queued", 2), 1, &queued).await,
            Some(Err(NotWritten::Expired))
        );
        let by = std::time::Instant::now() + Duration::from_millis(300);
        assert_eq!(
            log.close_by(by).await,
            Err(Unconfirmed {
                lines: 1,
                writing: 1
            }),
            "the line taken back is not one that may still be written"
        );
        gate.open();
        assert_eq!(in_write.await.ok(), Some(Ok(())));
        log.flush().await;
        // Closed: a line sent now is refused, never written.
        let late_comer = Slot::new(Duration::from_secs(60), None);
        assert_eq!(
            bounded_commit(&log, line_of("after-close", 3), 1, &late_comer).await,
            Some(Err(NotWritten::Unavailable))
        );
        log.flush().await;
        assert_eq!(values_of(&gate.disk.text(), "request_id"), ["in-write"]);
    }

    #[test]
    fn a_file_deleted_under_the_writer_is_reopened_at_its_path_before_writing() {
        let (old, new, mut out) = rotating();
        assert!(out.append(&line(1)).is_ok());
        old.deleted.store(true, Ordering::SeqCst);
        assert!(out.append(&line(2)).is_ok());
        assert_eq!(parsed(&old.text()).len(), 1);
        assert_eq!(
            parsed(&new.text()).len(),
            1,
            "the new line is in the new file"
        );
    }

    /// A file whose write failed and whose cut back failed too: its torn end is owed a cut.
    fn torn(disk: &Disk, out: &mut FileOut<Disk>) -> String {
        assert!(out.append(&line(1)).is_ok());
        let whole = disk.text();
        disk.room.store(whole.len() + 10, Ordering::SeqCst);
        disk.cut_fails.store(true, Ordering::SeqCst);
        assert!(out.append(&line(2)).is_err());
        assert_ne!(disk.text(), whole, "a torn end");
        disk.room.store(1 << 20, Ordering::SeqCst);
        whole
    }

    #[test]
    fn a_reopen_onto_the_same_file_keeps_the_cut_back_a_failed_write_owes() {
        let disk = Disk::with_room(1 << 20);
        let mut out = FileOut::new(disk.clone(), Some(reopening(&disk)));
        let whole = torn(&disk, &mut out);
        // A hangup with no rotation: the path names the same file.
        assert_eq!(
            out.reopen().ok(),
            Some(Reopened::Failing),
            "said, not silent"
        );
        assert!(out.append(&line(3)).is_err(), "never after a torn end");
        assert_eq!(disk.text(), whole.clone() + &disk.text()[whole.len()..]);
        disk.cut_fails.store(false, Ordering::SeqCst);
        assert!(out.append(&line(3)).is_ok());
        assert_eq!(
            values_of(&disk.text(), "decision_id"),
            [line_id(1), line_id(3)],
            "no torn or joined line"
        );
    }

    #[test]
    fn a_reopen_after_a_rotation_cuts_the_old_file_back_first() {
        let (old, new, mut out) = rotating();
        let whole = torn(&old, &mut out);
        // Cutting back works again by the time of the hangup (after logrotate's rename).
        old.cut_fails.store(false, Ordering::SeqCst);
        assert_eq!(out.reopen().ok(), Some(Reopened::Clean));
        assert_eq!(old.text(), whole, "the rotated file ends with whole lines");
        assert!(out.append(&line(3)).is_ok());
        assert_eq!(parsed(&new.text()).len(), 1);
    }

    #[test]
    fn a_torn_end_left_in_the_rotated_file_is_reported_and_the_new_file_is_written() {
        let (old, new, out) = rotating();
        let mut out = out.at("decisions.jsonl");
        let _ = torn(&old, &mut out);
        assert_eq!(
            out.reopen().ok(),
            Some(Reopened::Failing),
            "the torn end it could not cut back is said, not forgotten"
        );
        // The new file owes no cut (cutting it to the old file's length would destroy it).
        assert!(out.append(&line(3)).is_ok());
        assert_eq!(parsed(&new.text()).len(), 1);
    }

    #[test]
    fn a_deleted_file_that_owes_a_cut_back_is_replaced_and_written_again() {
        let (old, new, mut out) = rotating();
        let _ = torn(&old, &mut out);
        old.deleted.store(true, Ordering::SeqCst);
        assert!(out.append(&line(3)).is_ok(), "its torn end went with it");
        assert_eq!(parsed(&new.text()).len(), 1);
        assert_eq!(out.reopen().ok(), Some(Reopened::Clean));
    }

    #[tokio::test]
    async fn a_hangup_that_leaves_a_torn_end_behind_turns_the_log_not_ready() {
        let (old, new, out) = rotating();
        // Probes an hour apart: the state after the hangup is the hangup's.
        let (log, slot, _) = torn_log(&old, out).await;
        // A write to the new file would make it ready again; a hangup alone does not.
        let (hangup, hangups) = watch::channel(0u64);
        log.reopen_on(hangups);
        assert!(!log.writable());
        let _ = hangup.send(1);
        let mut reopened = false;
        for _ in 0..500 {
            // Held by the reopen, the test, and now the writer.
            if Arc::strong_count(&new.data) > 2 {
                reopened = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(reopened, "never reopened");
        log.flush().await;
        assert!(!log.writable(), "the torn end left behind is not healthy");
        assert_eq!(log.commit(line(3), 1, &slot).await, Ok(()));
        assert!(log.writable());
        assert_eq!(parsed(&new.text()).len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_opened_without_waiting_and_written_blocking_once_it_has_a_reader() {
        use std::os::unix::fs::OpenOptionsExt;
        let temp = temp_dir("fifo");
        let dir = temp.path().to_owned();
        let fifo = dir.join("decisions.fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let refused = open_append_now(&fifo, true).err().map(|e| e.to_string());
        assert_eq!(
            refused.as_deref(),
            Some("it is a FIFO with no reader (start its reader first)")
        );
        let _reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap_or_else(|e| panic!("{e}"));
        let file = open_append_now(&fifo, true).unwrap_or_else(|e| panic!("{e}"));
        let flags = rustix::fs::fcntl_getfl(&file).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !flags.contains(rustix::fs::OFlags::NONBLOCK),
            "a slow reader must make a write wait, not fail"
        );
        // On reopen, a FIFO where a regular file was (or the other way round) is refused.
        assert!(reopen_at(&fifo, false).is_ok());
        let refused = reopen_at(&fifo, true).err().map(|e| e.to_string());
        assert!(
            refused.is_some_and(|e| e.contains("of another kind")),
            "a FIFO cannot be cut back"
        );
        let regular = dir.join("decisions.jsonl");
        assert!(reopen_at(&regular, true).is_ok());
        assert!(reopen_at(&regular, false).is_err());
    }

    /// A log that was a FIFO (not a regular file) reopened on a device that keeps
    /// nothing: refused as at start, the stream opened before kept.
    #[cfg(unix)]
    #[test]
    fn a_reopen_refuses_the_devices_refused_at_start() {
        for device in ["/dev/null", "/dev/zero"] {
            let refused = reopen_at(std::path::Path::new(device), false)
                .err()
                .map(|e| e.to_string());
            assert!(
                refused.is_some_and(|e| e.contains(device) && e.contains("kept")),
                "{device}"
            );
        }
    }

    /// Refused by kind, not by a list of names: any device other than a terminal (and
    /// `/dev/full`, whose writes all fail visibly) is refused.
    #[cfg(target_os = "linux")]
    #[test]
    fn devices_are_refused_by_kind_with_dev_full_let_through() {
        let kmsg = std::fs::OpenOptions::new().append(true).open("/dev/kmsg");
        if let Ok(kmsg) = kmsg {
            let refused = refuse_device(&kmsg).err().map(|e| e.to_string());
            assert!(refused.is_some_and(|e| e.contains("/dev/kmsg")));
        }
        let full = std::fs::OpenOptions::new()
            .append(true)
            .open("/dev/full")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(refuse_device(&full).is_ok());
    }

    /// A FIFO deleted from the path: the reopen fails (retried), and makes no regular
    /// file there, which would then be refused as another kind and block a new FIFO.
    #[cfg(unix)]
    #[test]
    fn a_reopen_of_a_log_that_was_no_regular_file_makes_no_file() {
        let temp = temp_dir("fifo-gone");
        let missing = temp.path().join("decisions.fifo");
        assert!(reopen_at(&missing, false).is_err());
        assert!(!missing.exists(), "a regular file was made at the path");
        assert!(
            reopen_at(&missing, true).is_ok(),
            "a regular file is made again"
        );
    }

    #[test]
    fn a_torn_end_a_stopped_process_left_is_ended_before_the_first_line_whole_or_not_at_all() {
        // The previous process stopped in a write: half a line at the end of the file.
        let half = &line(1)[..20];
        let mut before = line(0);
        before.extend_from_slice(half);
        let disk = Disk::holding(&before);
        let healthy = Disk::holding(&before);
        let mut first = FileOut::new(healthy.clone(), None);
        assert!(first.append(&line(2)).is_ok());
        let text = healthy.text();
        assert_eq!(
            text.lines()
                .last()
                .map(|l| serde_json::from_str::<Value>(l).is_ok()),
            Some(true),
            "the first line is not joined to the torn one: {text}"
        );
        let mut out = FileOut::new(disk.clone(), None);
        // The disk is full: neither the newline nor the line stays.
        disk.fill();
        assert!(out.append(&line(2)).is_err());
        assert!(out.probe().is_err());
        assert_eq!(disk.text().as_bytes(), before.as_slice());
        disk.room.store(1 << 20, Ordering::SeqCst);
        assert!(out.probe().is_ok());
        assert_eq!(
            disk.text().as_bytes(),
            before.as_slice(),
            "the probe leaves nothing"
        );
        assert!(out.append(&line(2)).is_ok());
        assert!(out.append(&line(3)).is_ok());
        let text = disk.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            serde_json::from_str::<Value>(lines[1]).is_err(),
            "the torn one"
        );
        let ids: Vec<Value> = [lines[0], lines[2], lines[3]]
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_default()["decision_id"].clone())
            .collect();
        assert_eq!(
            ids,
            [line_id(0), line_id(2), line_id(3)],
            "none joined to it"
        );
    }

    #[test]
    fn a_stream_reopened_ends_a_torn_line_before_its_next_one() {
        // A FIFO whose reader stays: the reopened end writes into the same pipe.
        let disk = Disk::with_room(120);
        let mut out = StreamOut::new(disk.clone(), Some(reopening(&disk)));
        assert!(out.append(&line(1)).is_ok());
        assert!(out.append(&line(2)).is_ok());
        assert!(out.append(&line(3)).is_err(), "a short write: a torn line");
        disk.room.store(1 << 20, Ordering::SeqCst);
        assert_eq!(out.reopen().ok(), Some(Reopened::Clean));
        assert!(out.append(&line(4)).is_ok());
        let text = disk.text();
        assert_eq!(
            last_id(&text),
            line_id(4),
            "not joined to the torn one: {text}"
        );
    }

    #[test]
    fn an_owed_cut_never_extends_a_file_truncated_under_the_writer() {
        let disk = Disk::with_room(1 << 20);
        let mut out = FileOut::new(disk.clone(), None).at("decisions.jsonl");
        let _ = torn(&disk, &mut out);
        // copytruncate: the file is emptied under the writer while the cut is owed.
        disk.data.lock().map(|mut d| d.clear()).ok();
        disk.cut_fails.store(false, Ordering::SeqCst);
        // The probe (once space is freed) comes first, and leaves nothing.
        assert!(out.probe().is_ok());
        assert_eq!(
            disk.text(),
            "",
            "the probe is cut back to the file's real length"
        );
        assert!(out.append(&line(3)).is_ok());
        let text = disk.text();
        assert!(
            !text.contains('\0'),
            "never extended with NUL bytes: {text:?}"
        );
        assert_eq!(parsed(&text).len(), 1, "{text:?}");
        assert_eq!(out.cut_to, None, "the owed cut is dropped");
    }

    #[tokio::test]
    async fn a_log_closed_with_a_cut_still_owed_says_so() {
        let disk = Disk::with_room(1 << 20);
        let out = FileOut::new(disk.clone(), None).at("decisions.jsonl");
        let (log, _, _) = torn_log(&disk, out).await;
        let by = std::time::Instant::now() + Duration::from_secs(20);
        assert_eq!(log.close_by(by).await, Ok(()));
        assert!(log.closed_torn(), "torn bytes left: the exit must say so");
    }

    #[tokio::test]
    async fn a_cut_that_works_at_the_close_leaves_nothing_owed() {
        let disk = Disk::with_room(1 << 20);
        let out = FileOut::new(disk.clone(), None);
        let (log, _, whole) = torn_log(&disk, out).await;
        disk.cut_fails.store(false, Ordering::SeqCst);
        let by = std::time::Instant::now() + Duration::from_secs(20);
        assert_eq!(log.close_by(by).await, Ok(()));
        assert!(!log.closed_torn());
        assert_eq!(disk.text(), whole);
    }

    #[test]
    fn a_file_whose_end_cannot_be_read_is_given_a_newline_before_the_first_line() {
        let mut torn = line(0);
        torn.extend_from_slice(&line(1)[..20]);
        let disk = Disk::holding(&torn);
        disk.unreadable.store(true, Ordering::SeqCst);
        let mut out = FileOut::new(disk.clone(), None);
        assert!(out.append(&line(2)).is_ok());
        let text = disk.text();
        assert_eq!(
            last_id(&text),
            line_id(2),
            "not joined to the torn line: {text}"
        );
        // An empty file needs no newline.
        let empty = Disk::with_room(1 << 20);
        empty.unreadable.store(true, Ordering::SeqCst);
        let mut out = FileOut::new(empty.clone(), None);
        assert!(out.append(&line(2)).is_ok());
        assert_eq!(empty.text().as_bytes(), line(2).as_slice());
    }

    /// A file whose end cannot be read (mode 200) is not known to be torn: a warning, not
    /// the error (nor the count) of a torn line.
    #[test]
    fn an_unreadable_end_is_warned_of_not_said_torn() {
        let disk = Disk::holding(&line(0));
        disk.unreadable.store(true, Ordering::SeqCst);
        let mut out = FileOut::new(disk.clone(), None).at("decisions.jsonl");
        let events = events_of(|| assert!(out.append(&line(1)).is_ok()));
        assert!(saying(&events, "torn").is_empty(), "{events:?}");
        let said = first_saying(&events, "cannot be read; a newline was written first");
        assert_eq!(said["level"], "WARN");
        assert_eq!(last_id(&disk.text()), line_id(1));
    }

    /// Someone else truncates the file mid-line with no cut owed: said, and the next line
    /// begins with a newline, never joined to the torn piece.
    #[test]
    fn a_file_truncated_mid_line_under_the_writer_is_ended_before_the_next_line() {
        let disk = Disk::with_room(1 << 20);
        let mut out = FileOut::new(disk.clone(), None).at("decisions.jsonl");
        assert!(out.append(&line(0)).is_ok());
        assert!(out.append(&line(1)).is_ok());
        let mid = (line(0).len() + 10) as u64;
        assert!(disk.cut(mid).is_ok());
        let events = events_of(|| assert!(out.append(&line(2)).is_ok()));
        let said = first_saying(&events, "truncated under the writer");
        assert_eq!(said["length"], mid);
        assert_eq!(said["ended_at"], (2 * line(0).len()) as u64);
        let text = disk.text();
        assert_eq!(last_id(&text), line_id(2), "{text}");
        let whole = text
            .lines()
            .filter(|l| serde_json::from_str::<Value>(l).is_ok());
        assert_eq!(whole.count(), 2, "{text}");
        // A file cut back to whole lines needs no newline.
        assert!(disk.cut(0).is_ok());
        assert!(out.append(&line(3)).is_ok());
        assert_eq!(disk.text().as_bytes(), line(3).as_slice());
    }

    /// Someone else appends a partial line (`printf partial >> f`) after our last write:
    /// the next line begins with a newline, never joined to it; whole lines appended by
    /// someone else need none (no empty line, no torn count).
    #[test]
    fn a_partial_line_appended_by_someone_else_is_ended_before_the_next_line() {
        let disk = Disk::with_room(1 << 20);
        let mut out = FileOut::new(disk.clone(), None).at("decisions.jsonl");
        assert!(out.append(&line(0)).is_ok());
        disk.append_outside(b"partial");
        let events = events_of(|| assert!(out.append(&line(1)).is_ok()));
        assert_eq!(first_saying(&events, "torn line")["level"], "ERROR");
        let text = disk.text();
        assert_eq!(last_id(&text), line_id(1), "{text}");
        assert_eq!(text.lines().nth(1), Some("partial"), "{text}");

        disk.append_outside(&line(7));
        let events = events_of(|| assert!(out.append(&line(2)).is_ok()));
        assert!(events.is_empty(), "{events:?}");
        let text = disk.text();
        assert!(text.lines().all(|l| !l.is_empty()), "{text}");
        assert_eq!(last_id(&text), line_id(2), "{text}");
    }

    /// Standard output that is a regular file (`>> f`), its end watched: a partial line
    /// someone appended, or a truncation mid-line, is ended before the next line; whole
    /// lines appended by someone else need no newline.
    #[test]
    fn stdout_to_a_file_ends_a_partial_line_appended_or_left_by_a_truncation() {
        let disk = Disk::with_room(1 << 20);
        let mut out = StreamOut::new(disk.clone(), None).watching_end(Box::new(disk.clone()), 0);
        assert!(out.append(&line(0)).is_ok());
        disk.append_outside(b"partial");
        let events = events_of(|| assert!(out.append(&line(1)).is_ok()));
        assert_eq!(first_saying(&events, "torn line")["level"], "ERROR");
        let text = disk.text();
        assert_eq!(text.lines().nth(1), Some("partial"), "{text}");
        assert_eq!(last_id(&text), line_id(1), "{text}");

        disk.append_outside(&line(7));
        let events = events_of(|| assert!(out.append(&line(2)).is_ok()));
        assert!(events.is_empty(), "{events:?}");
        assert!(
            disk.text().lines().all(|l| !l.is_empty()),
            "{}",
            disk.text()
        );

        let mid = (line(0).len() + 10) as u64;
        assert!(disk.cut(mid).is_ok());
        let events = events_of(|| assert!(out.append(&line(3)).is_ok()));
        assert_eq!(
            first_saying(&events, "truncated under the writer")["length"],
            mid
        );
        let text = disk.text();
        assert_eq!(last_id(&text), line_id(3), "{text}");
        let whole = text
            .lines()
            .filter(|l| serde_json::from_str::<Value>(l).is_ok());
        assert_eq!(whole.count(), 2, "{text}");

        // Unreadable and longer: a newline anyway, said as a warning.
        disk.unreadable.store(true, Ordering::SeqCst);
        disk.data.lock().map(|mut d| d.extend_from_slice(b"x")).ok();
        let events = events_of(|| assert!(out.append(&line(4)).is_ok()));
        assert_eq!(first_saying(&events, "cannot be read")["level"], "WARN");
        assert_eq!(last_id(&disk.text()), line_id(4));
    }

    /// A SIGHUP with the decision log on standard output reopens nothing: it says
    /// nothing of a reopen, and lines go on.
    #[test]
    fn a_hangup_on_standard_output_says_no_reopen() {
        let disk = Disk::with_room(1 << 20);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let events = events_of(|| {
            runtime.block_on(async {
                let out = StreamOut::new(disk.clone(), None);
                let log = DecisionLog::start(Box::new(out), 8, Duration::from_secs(3600));
                let (hangup, hangups) = watch::channel(0u64);
                log.reopen_on(hangups);
                let _ = hangup.send(1);
                tokio::time::sleep(Duration::from_millis(50)).await;
                let slot = Slot::new(Duration::from_secs(60), None);
                assert_eq!(log.commit(line(1), 1, &slot).await, Ok(()));
            })
        });
        assert!(saying(&events, "reopened").is_empty(), "{events:?}");
        assert_eq!(last_id(&disk.text()), line_id(1));
    }

    /// The events `f` emits, as JSON objects (fields flattened).
    fn events_of(f: impl FnOnce()) -> Vec<Value> {
        let capture = crate::telemetry::Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .json()
            .flatten_event(true)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = capture.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&text)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_default())
            .collect()
    }

    #[test]
    fn a_cut_dropped_because_the_file_was_truncated_is_said_with_its_lengths() {
        let disk = Disk::with_room(1 << 20);
        let mut out = FileOut::new(disk.clone(), None).at("decisions.jsonl");
        let _ = torn(&disk, &mut out);
        disk.data.lock().map(|mut d| d.truncate(3)).ok();
        disk.cut_fails.store(false, Ordering::SeqCst);
        let events = events_of(|| assert!(out.append(&line(3)).is_ok()));
        let said = first_saying(&events, "truncated");
        assert_eq!(said["path"], "decisions.jsonl");
        assert_eq!(said["length"], 3);
        assert!(said["cut_length"].as_u64().is_some_and(|l| l > 3), "{said}");
        assert!(
            saying(&events, "stopped").is_empty(),
            "no process is blamed: {events:?}"
        );
    }

    #[test]
    fn a_failed_cut_back_is_said_once_per_error_with_the_path_and_length() {
        let disk = Disk::with_room(1 << 20);
        let mut out = FileOut::new(disk.clone(), None).at("decisions.jsonl");
        let events = events_of(|| {
            let _ = torn(&disk, &mut out);
            for _ in 0..5 {
                assert!(out.probe().is_err());
                assert!(out.append(&line(3)).is_err());
            }
            disk.cut_fails.store(false, Ordering::SeqCst);
            assert!(out.append(&line(3)).is_ok());
        });
        let failed = saying(&events, "cannot be cut back");
        assert_eq!(failed.len(), 1, "{events:?}");
        assert_eq!(failed[0]["path"], "decisions.jsonl");
        assert_eq!(failed[0]["error"], "cannot cut");
        assert!(failed[0]["length"].as_u64().is_some());
        assert!(
            !saying(&events, "cut back after").is_empty(),
            "the recovery is said: {events:?}"
        );
    }

    #[test]
    fn the_torn_end_left_in_a_rotated_file_is_named_by_what_it_was_rotated_from() {
        let (old, _new, out) = rotating();
        let mut out = out.at("decisions.jsonl");
        let _ = torn(&old, &mut out);
        let events = events_of(|| assert_eq!(out.reopen().ok(), Some(Reopened::Failing)));
        let said = first_saying(&events, "rotated away");
        assert_eq!(said["rotated_from"], "decisions.jsonl");
        assert_eq!(said["file"], "disk");
        assert!(
            said.get("path").is_none(),
            "the path names the new file: {said}"
        );
    }

    #[test]
    fn a_failed_reopen_keeps_the_old_file_and_is_retried_until_it_works() {
        let old = Disk::with_room(1 << 20);
        let new = Disk::with_room(1 << 20);
        let fails = Arc::new(AtomicBool::new(true));
        let mut out =
            FileOut::new(old.clone(), Some(failing_while(&fails, &new))).at("decisions.jsonl");
        assert!(out.reopen().is_err());
        assert!(out.append(&line(1)).is_ok(), "the old file is written");
        assert!(out.probe().is_ok());
        assert_eq!(parsed(&old.text()).len(), 1);
        fails.store(false, Ordering::SeqCst);
        let events = events_of(|| assert!(out.append(&line(2)).is_ok()));
        assert_eq!(parsed(&new.text()).len(), 1, "reopened before the write");
        assert_eq!(parsed(&old.text()).len(), 1);
        let said = saying(&events, "reopened at its path");
        assert_eq!(said.len(), 1, "{events:?}");
        assert_eq!(said[0]["path"], "decisions.jsonl");
        assert_eq!(said[0]["failed_tries"], 3);
        let events = events_of(|| assert!(out.append(&line(3)).is_ok()));
        assert!(events.is_empty(), "said once: {events:?}");
    }

    /// The events among `events` whose message says `words`.
    fn saying<'a>(events: &'a [Value], words: &str) -> Vec<&'a Value> {
        events
            .iter()
            .filter(|e| e["message"].as_str().is_some_and(|m| m.contains(words)))
            .collect()
    }

    /// A reopen that fails while `fails` is set, then opens `new`.
    fn failing_while(fails: &Arc<AtomicBool>, new: &Disk) -> Reopen<Disk> {
        let (fails, new) = (fails.clone(), new.clone());
        Box::new(move || {
            if fails.load(Ordering::SeqCst) {
                Err(io::Error::other("no new file at the path"))
            } else {
                Ok(new.clone())
            }
        })
    }

    /// The first event among `events` whose message says `words`.
    fn first_saying<'a>(events: &'a [Value], words: &str) -> &'a Value {
        saying(events, words)
            .first()
            .copied()
            .unwrap_or_else(|| panic!("not said: {events:?}"))
    }

    /// A reopen that opens `to` (the same file, or what now stands at its path).
    fn reopening(to: &Disk) -> Reopen<Disk> {
        let to = to.clone();
        Box::new(move || Ok(to.clone()))
    }

    /// An old file, the new one logrotate leaves at its path, and a writer of the old one
    /// that reopens onto the new one.
    fn rotating() -> (Disk, Disk, FileOut<Disk>) {
        let old = Disk::with_room(1 << 20);
        let new = Disk::with_room(1 << 20);
        let out = FileOut::new(old.clone(), Some(reopening(&new)));
        (old, new, out)
    }

    /// A log writing `out` (onto `disk`), probing an hour apart, whose first line is
    /// written and whose second tore and could not be cut back; with the text before it.
    async fn torn_log(disk: &Disk, out: FileOut<Disk>) -> (DecisionLog, Slot, String) {
        let log = DecisionLog::start(Box::new(out), 8, Duration::from_secs(3600));
        let slot = Slot::new(Duration::from_secs(60), None);
        assert_eq!(log.commit(line(1), 1, &slot).await, Ok(()));
        let whole = disk.text();
        disk.room.store(whole.len() + 10, Ordering::SeqCst);
        disk.cut_fails.store(true, Ordering::SeqCst);
        assert_eq!(
            log.commit(line(2), 1, &slot).await,
            Err(NotWritten::Unavailable)
        );
        (log, slot, whole)
    }

    /// The `field` of each line of `text`.
    fn values_of(text: &str, field: &str) -> Vec<Value> {
        parsed(text).into_iter().map(|l| l[field].clone()).collect()
    }

    /// The decision id of the last line of `text` (null when it is not JSON).
    fn last_id(text: &str) -> Value {
        let last = text.lines().last().unwrap_or_default();
        serde_json::from_str::<Value>(last).unwrap_or_default()["decision_id"].clone()
    }

    /// A fresh directory, removed with what it holds when the guard drops.
    fn temp_dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("aftersales-dl-{name}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[cfg(unix)]
    #[test]
    fn one_file_has_one_writer_and_a_reopen_onto_the_same_file_keeps_the_lock() {
        let dir = temp_dir("lock");
        let path = dir.path().join("decisions.jsonl");
        let first = open_append_now(&path, true).unwrap_or_else(|e| panic!("{e}"));
        assert!(first.lock_writer().is_ok());
        let second = open_append_now(&path, true).unwrap_or_else(|e| panic!("{e}"));
        let refused = second.lock_writer().err().map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|e| e.contains("another process writes it")),
            "{refused:?}"
        );
        // A hangup without a rotation: the path names the locked file; it is kept.
        let at = path.clone();
        let mut out = FileOut::new(first, Some(Box::new(move || reopen_at(&at, true))));
        assert_eq!(out.reopen().ok(), Some(Reopened::Clean));
        assert!(out.append(&line(1)).is_ok());
        // Rotated: the new file is locked by this writer, and nobody else can take it.
        let rotated = dir.path().join("decisions.jsonl.1");
        std::fs::rename(&path, &rotated).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.reopen().ok(), Some(Reopened::Clean));
        let other = open_append_now(&path, true).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            other.lock_writer().is_err(),
            "the new file is this writer's"
        );
        // Another process holds the new file: the reopen fails, the old file is written.
        drop(other);
        drop(out);
        let mut out = FileOut::new(
            open_append_now(&rotated, true).unwrap_or_else(|e| panic!("{e}")),
            Some(Box::new({
                let at = path.clone();
                move || reopen_at(&at, true)
            })),
        );
        let holder = open_append_now(&path, true).unwrap_or_else(|e| panic!("{e}"));
        assert!(holder.lock_writer().is_ok());
        assert!(out.reopen().is_err(), "held by another");
        assert!(out.append(&line(2)).is_ok());
        assert_eq!(
            std::fs::read_to_string(&rotated)
                .map(|t| t.lines().count())
                .ok(),
            Some(2)
        );
    }

    #[test]
    fn a_stream_whose_reopen_failed_is_reopened_at_the_next_write() {
        let old = Disk::with_room(1 << 20);
        let new = Disk::with_room(1 << 20);
        let fails = Arc::new(AtomicBool::new(true));
        let mut out = StreamOut::new(old.clone(), Some(failing_while(&fails, &new)));
        assert!(out.reopen().is_err());
        assert!(out.append(&line(1)).is_ok(), "the stream opened before");
        fails.store(false, Ordering::SeqCst);
        assert!(out.append(&line(2)).is_ok());
        assert_eq!(parsed(&old.text()).len(), 1);
        assert_eq!(
            new.text().lines().filter(|l| !l.is_empty()).count(),
            1,
            "reopened before the write: {:?}",
            new.text()
        );
    }
}
