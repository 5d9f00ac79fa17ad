//! Rules changed while serving: SIGHUP, or a change to what the rules path names
//! (including a Kubernetes ConfigMap update, which swaps a symlinked directory under it,
//! a symlinked release directory switched, a directory replaced: the watches follow the
//! path, and a look at it every [`POLL`] catches what they miss). A file is read once it
//! has settled ([`SETTLE`]: not half-written), validated, then swapped in whole; requests
//! in flight finish on the rules they started with. A broken file, different rules
//! under a version this process has served, or a file held open for writing past
//! [`OPEN_WRITER_LIMIT`], keeps the last good rules serving and is reported once in
//! `/v1/rules`, the logs and `aftersales_rules_reloads_total{result="error"}`. A file
//! that has not settled after [`PENDING_AFTER`] shows as `reload.pending_since`.
//!
//! A SIGHUP does not kill the server while it starts: `main` takes it first thing
//! ([`catch_early_hangups`], before the command line is read and the rules load; only the
//! dynamic loader and Rust's own start-up come before), and one that came before
//! the server listens for SIGHUP itself is replayed as one hangup once it does
//! ([`replay_early_hangup`]): the files are re-read then, so a file changed between the
//! first read and the start of the watch is not missed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::Utc;
use notify::{RecursiveMode, Watcher};

use super::state::AppState;
use crate::rules::Rules;

/// How long the rules file must stay unchanged (the same device, inode, size, modification
/// and change times), and not be held open by a writer, before a reload reads it. A file
/// written in place is read only once its writer has been quiet this long, not 200 ms
/// after its first bytes: a half-written file can be valid rules on its own (the first
/// notices of several, the last one still to come) and would decide cases. One second is
/// longer than an editor's save or a `cp` of a 16 MiB file takes, and short beside how
/// long a rules change takes to roll out; it delays every reload by that much.
pub const SETTLE: Duration = Duration::from_millis(1000);
/// How often a settling file is looked at.
const SETTLE_STEP: Duration = Duration::from_millis(100);
/// How often the path is looked at as a safety net for changes no watch reports (a
/// symlinked directory swapped above the watched one, a directory renamed away).
pub const POLL: Duration = Duration::from_secs(1);
/// How long a writer holding the file open (written to, not yet closed) holds a reload
/// back before the reload is reported failed (the file is not read: a half file could be
/// valid rules); it is read once its writer closes it.
const OPEN_WRITER_LIMIT: Duration = Duration::from_secs(30);
/// How long a file may go on changing (or stay held open for writing) before the wait
/// is shown: `reload.pending_since` in `/v1/rules`, `aftersales_rules_reload_pending` 1
/// and a WARN line. A SIGHUP while waiting shows it at once.
pub const PENDING_AFTER: Duration = Duration::from_secs(5);

/// What the path names now (following symlinks): a change in any of it is a new file or
/// a write; the same fingerprint twice, a settle period apart, is a quiet file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fingerprint {
    Present {
        dev: u64,
        ino: u64,
        len: u64,
        modified: (i64, i64),
        changed: (i64, i64),
    },
    Absent(std::io::ErrorKind),
}

fn fingerprint(path: &Path) -> Fingerprint {
    match std::fs::metadata(path) {
        #[cfg(unix)]
        Ok(m) => {
            use std::os::unix::fs::MetadataExt;
            Fingerprint::Present {
                dev: m.dev(),
                ino: m.ino(),
                len: m.len(),
                modified: (m.mtime(), m.mtime_nsec()),
                changed: (m.ctime(), m.ctime_nsec()),
            }
        }
        #[cfg(not(unix))]
        Ok(m) => {
            let nanos = |t: std::io::Result<std::time::SystemTime>| {
                t.ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or((0, 0), |d| {
                        (
                            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                            i64::from(d.subsec_nanos()),
                        )
                    })
            };
            Fingerprint::Present {
                dev: 0,
                ino: 0,
                len: m.len(),
                modified: nanos(m.modified()),
                changed: nanos(m.created()),
            }
        }
        Err(e) => Fingerprint::Absent(e.kind()),
    }
}

/// The fingerprint, off the async workers (a stat on a hung network mount blocks).
async fn fingerprint_of(path: &Path) -> Fingerprint {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || fingerprint(&path))
        .await
        .unwrap_or(Fingerprint::Absent(std::io::ErrorKind::Other))
}

/// The outcome of the last reload, for `/v1/rules`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReloadStatus {
    /// How it went.
    pub result: crate::codes::ReloadResult,
    /// When it was tried.
    #[schema(format = DateTime)]
    pub at: String,
    /// What was wrong with the file, each problem at its line and column.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
    /// Since when the last good rules have served despite a broken file.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub serving_since: Option<String>,
    /// Since when a change to the rules file has been waiting to be read: the file keeps
    /// changing, or a writer holds it open, so it has not settled (and is not read yet).
    /// `result` and `at` are still the last reload's (before any reload: the load at
    /// startup, ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = DateTime)]
    pub pending_since: Option<String>,
}

/// What triggered a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Signal,
    FileChanged,
}

/// Reloads one rules file into a state.
#[derive(Clone)]
pub struct Reloader {
    path: PathBuf,
    state: AppState,
    /// What the last failure was (the checksum of a file that did not load, or the error
    /// of one that could not be read), so one failure is reported once, not on every
    /// event in the directory until the file changes.
    last_failed: Arc<Mutex<Option<String>>>,
    /// Every version this process has served, with the checksum it served under it: a
    /// version served again must be the same file (decisions name only the version).
    /// Only rules actually served count: a file refused does not claim its version.
    served: Arc<Mutex<HashMap<String, String>>>,
}

/// How one reload went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Done: true when the rules were swapped or a failure cleared.
    Done(bool),
    /// The file changed while it was read: settle again, read again.
    ChangedWhileReading,
}

impl Reloader {
    pub fn new(path: PathBuf, state: AppState) -> Reloader {
        let first = state.rules();
        let served = HashMap::from([(first.rules.version.clone(), first.rules.checksum.clone())]);
        Reloader {
            path,
            state,
            last_failed: Arc::new(Mutex::new(None)),
            served: Arc::new(Mutex::new(served)),
        }
    }

    /// The rules file's name, as errors about it say it.
    fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The checksum served under `version` before, when it is not `checksum`.
    fn served_under(&self, version: &str, checksum: &str) -> Option<String> {
        let served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        served.get(version).filter(|c| *c != checksum).cloned()
    }

    fn already_failed(&self, key: &str) -> bool {
        self.last_failed
            .lock()
            .is_ok_and(|f| f.as_deref() == Some(key))
    }

    /// Reloads now, from a file that has settled with fingerprint `settled`; if what the
    /// path names no longer has that fingerprint once read, nothing is decided and the
    /// caller settles again. A file-change trigger skips content already loaded and
    /// failures already reported.
    fn reload(&self, trigger: Trigger, settled: &Fingerprint) -> Outcome {
        let name = self.file_name();
        // Read exactly as at startup and by `rules check`: never lossily, never blocking.
        let read = Rules::read_source(&self.path);
        if fingerprint(&self.path) != *settled {
            return Outcome::ChangedWhileReading;
        }
        let text = match read {
            Ok(text) => text,
            Err(errors) => {
                let error = describe(&errors, &name);
                // A missing or unreadable file is one failure until it changes, as a
                // broken one is: not one more error per event in its directory.
                let key = format!("unreadable: {error}");
                if trigger == Trigger::FileChanged && self.already_failed(&key) {
                    return Outcome::Done(false);
                }
                self.fail(error, Some(key));
                return Outcome::Done(false);
            }
        };
        let checksum = crate::rules::checksum(&text);
        let served = self.state.rules();
        if checksum == served.rules.checksum {
            if trigger == Trigger::FileChanged {
                // The file is back to the rules already serving (a broken edit undone by
                // putting the served file back): nothing to swap, but a failure shown
                // since is over, or `/v1/rules` and the failing gauge would stay failed
                // until a SIGHUP.
                return Outcome::Done(self.back_to_served(trigger, &checksum));
            }
            // A SIGHUP with the file unchanged: nothing to swap, and it went well.
            self.record_ok();
            let version = served.rules.version.clone();
            tracing::info!(?trigger, %version, %checksum, "rules file unchanged; nothing to swap");
            return Outcome::Done(true);
        }
        if trigger == Trigger::FileChanged && self.already_failed(&checksum) {
            return Outcome::Done(false);
        }
        match Rules::from_toml(&text, &name) {
            Ok(rules) if let Some(before) = self.served_under(&rules.version, &checksum) => {
                // Decisions name only the rules' version: two different policies under
                // one version could not be told apart by anyone reading a decision.
                let at =
                    version_line(&text).map_or_else(|| name.clone(), |l| format!("{name}:{l}:1"));
                let error = if rules.version == served.rules.version {
                    format!(
                        "{at}: version \"{}\" is the version already serving, but the rules differ ({checksum}, serving {before}): give the new rules a new version, so that decisions say which rules made them",
                        rules.version
                    )
                } else {
                    format!(
                        "{at}: version \"{}\" was served before with other rules ({before}; this file is {checksum}): give the new rules a new version, so that decisions say which rules made them",
                        rules.version
                    )
                };
                self.fail(error, Some(checksum));
                Outcome::Done(false)
            }
            Ok(rules) => {
                rules.log_warnings();
                let (old, new) = (served.rules.version.clone(), rules.version.clone());
                self.served
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(new.clone(), checksum.clone());
                self.state.swap_rules(rules);
                self.record_ok();
                tracing::info!(?trigger, from_version = %old, to_version = %new, %checksum, "rules reloaded");
                Outcome::Done(true)
            }
            Err(errors) => {
                self.fail(describe(&errors, &name), Some(checksum));
                Outcome::Done(false)
            }
        }
    }

    /// A reload that worked: no failure remembered, counted and shown as ok.
    fn record_ok(&self) {
        if let Ok(mut f) = self.last_failed.lock() {
            *f = None;
        }
        metrics::counter!("aftersales_rules_reloads_total", "result" => "ok").increment(1);
        metrics::gauge!("aftersales_rules_reload_failing").set(0.0);
        self.state.set_reload_status(ReloadStatus {
            result: crate::codes::ReloadResult::Ok,
            at: self.now(),
            error: None,
            serving_since: None,
            pending_since: None,
        });
    }

    /// The file reads as the rules already serving (the same checksum): if the last reload
    /// failed, that failure is over, recorded as a successful reload with nothing swapped
    /// (`/v1/rules` `reload.result` ok, `aftersales_rules_reload_failing` 0, a log line);
    /// otherwise nothing changed and nothing is said. True when a failure was cleared.
    fn back_to_served(&self, trigger: Trigger, checksum: &str) -> bool {
        let failing = self
            .state
            .reload_status()
            .is_some_and(|s| s.result == crate::codes::ReloadResult::Failed);
        if !failing {
            return false;
        }
        self.record_ok();
        let version = self.state.rules().rules.version.clone();
        tracing::info!(?trigger, %version, %checksum, "rules file is back to the served version; the failed reload is over (nothing to swap)");
        true
    }

    /// Now, with the rules' offset, as every time in a response is.
    fn now(&self) -> String {
        crate::time::format(Utc::now(), self.state.rules().rules.time_zone)
    }

    fn fail(&self, error: String, key: Option<String>) {
        if let Ok(mut f) = self.last_failed.lock() {
            *f = key;
        }
        metrics::counter!("aftersales_rules_reloads_total", "result" => "error").increment(1);
        metrics::gauge!("aftersales_rules_reload_failing").set(1.0);
        let loaded = self.state.rules();
        tracing::error!(%error, serving_version = %loaded.rules.version, "rules reload failed; the last good rules keep serving");
        self.state.set_reload_status(ReloadStatus {
            result: crate::codes::ReloadResult::Failed,
            at: self.now(),
            error: Some(error),
            serving_since: Some(crate::time::format(
                loaded.loaded_at,
                loaded.rules.time_zone,
            )),
            pending_since: None,
        });
    }

    /// Shows (`Some`: since when) or ends (`None`) the wait for a file that has not
    /// settled: `reload.pending_since` in `/v1/rules` and the
    /// `aftersales_rules_reload_pending` gauge.
    fn set_pending(&self, since: Option<chrono::DateTime<Utc>>) {
        metrics::gauge!("aftersales_rules_reload_pending").set(if since.is_some() {
            1.0
        } else {
            0.0
        });
        let loaded = self.state.rules();
        let tz = loaded.rules.time_zone;
        let pending_since = since.map(|t| crate::time::format(t, tz));
        let status = match self.state.reload_status() {
            Some(s) if s.pending_since == pending_since => return,
            Some(s) => ReloadStatus { pending_since, ..s },
            None if pending_since.is_none() => return,
            // No reload yet: the last load is the one at startup.
            None => ReloadStatus {
                result: crate::codes::ReloadResult::Ok,
                at: crate::time::format(loaded.loaded_at, tz),
                error: None,
                serving_since: None,
                pending_since,
            },
        };
        self.state.set_reload_status(status);
    }

    /// Waits until the file has settled: the same fingerprint for [`SETTLE`], and no
    /// writer holding it open (Linux: written to and not yet closed). Triggers coming
    /// meanwhile are taken in (a SIGHUP among them makes the reload a SIGHUP's; it is
    /// deferred, not forced: the file is read once settled, as a half file could be
    /// valid rules). A wait longer than [`PENDING_AFTER`], or a SIGHUP during it, is
    /// shown ([`Reloader::set_pending`], a WARN line); a writer holding the file open
    /// longer than [`OPEN_WRITER_LIMIT`] fails the reload (the last good rules keep
    /// serving) until it closes the file. Returns the settled fingerprint.
    async fn settle(
        &self,
        rx: &mut tokio::sync::mpsc::Receiver<Trigger>,
        trigger: &mut Trigger,
        writing: &AtomicBool,
    ) -> Fingerprint {
        let began = tokio::time::Instant::now();
        let began_at = Utc::now();
        let since = || crate::time::format(began_at, self.state.rules().rules.time_zone);
        let mut shown = false;
        let mut limit_reported = false;
        // Whether the file changed during this wait: a SIGHUP while it is quiet just
        // joins the read a second away.
        let mut changed = false;
        let mut seen = fingerprint_of(&self.path).await;
        let mut quiet_since = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(SETTLE_STEP).await;
            if take_pending(rx, trigger) && (changed || writing.load(Ordering::SeqCst)) {
                tracing::warn!(
                    since = %since(),
                    "SIGHUP while the rules file is still changing or open for writing: deferred, the file is read once it has settled (unchanged for a second, no writer)"
                );
                self.set_pending(Some(began_at));
                shown = true;
            }
            if !shown && began.elapsed() >= PENDING_AFTER {
                tracing::warn!(
                    since = %since(),
                    "rules file still changing since {}; not read yet (the last good rules keep serving)",
                    since()
                );
                self.set_pending(Some(began_at));
                shown = true;
            }
            let now = fingerprint_of(&self.path).await;
            if now != seen {
                seen = now;
                changed = true;
                quiet_since = tokio::time::Instant::now();
                continue;
            }
            if quiet_since.elapsed() < SETTLE {
                continue;
            }
            if writing.load(Ordering::SeqCst) {
                if began.elapsed() >= OPEN_WRITER_LIMIT && !limit_reported {
                    limit_reported = true;
                    let name = self.file_name();
                    self.fail(
                        format!(
                            "{name}: still open for writing after {} s; not read (a half-written file could be valid rules): it is read once its writer closes it",
                            OPEN_WRITER_LIMIT.as_secs()
                        ),
                        Some("open for writing".to_owned()),
                    );
                    self.set_pending(Some(began_at));
                    shown = true;
                }
                continue;
            }
            return seen;
        }
    }

    /// Reloads on every hangup (SIGHUP, see [`AppState::hangups`]), on changes in the
    /// directories the rules path goes through, and on any change a look at the path
    /// every [`POLL`] finds (following symlinks: a swapped symlinked directory, a
    /// directory renamed away and another put in its place, whose watches are then
    /// re-armed). Each reload waits for the file to settle first. The tasks end when the
    /// returned value is dropped.
    pub fn spawn(self) -> ReloadTasks {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Trigger>(16);
        metrics::gauge!("aftersales_rules_reload_pending").set(0.0);
        let writing = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        {
            let tx = tx.clone();
            let mut hangups = self.state.hangups();
            // A hangup before this watch began (one taken while starting and replayed,
            // see [`replay_early_hangup`]) still reloads.
            if *hangups.borrow_and_update() != 0 {
                let _ = tx.try_send(Trigger::Signal);
            }
            tasks.push(tokio::spawn(async move {
                while hangups.changed().await.is_ok() {
                    if tx.send(Trigger::Signal).await.is_err() {
                        break;
                    }
                }
            }));
        }
        {
            // The watches, and the safety net: what the path names, looked at every
            // second. The first look always counts as a change, so a file changed
            // between the startup read and this watch is not missed.
            let path = self.path.clone();
            let writing = writing.clone();
            // Armed before serving goes on, so no write after this returns is missed.
            let mut watch = Watch::default();
            watch.arm(&path, watched(&path), &tx, &writing);
            tasks.push(tokio::spawn(async move {
                let mut last: Option<Fingerprint> = None;
                let mut ticks = tokio::time::interval(POLL);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let p = path.clone();
                    let Ok((now, wanted)) =
                        tokio::task::spawn_blocking(move || (fingerprint(&p), watched(&p))).await
                    else {
                        continue;
                    };
                    if wanted != watch.dirs {
                        watch.arm(&path, wanted, &tx, &writing);
                    }
                    if last.as_ref() != Some(&now) {
                        last = Some(now);
                        if tx.try_send(Trigger::FileChanged).is_err() && tx.is_closed() {
                            break;
                        }
                    }
                }
            }));
        }
        tasks.push(tokio::spawn(async move {
            // The fingerprint of the last file handled: an event that changed nothing
            // about the rules path (another file in its directory, such as the service's
            // own log) costs a stat, not a reload.
            let mut handled: Option<Fingerprint> = None;
            while let Some(mut trigger) = rx.recv().await {
                let _ = take_pending(&mut rx, &mut trigger);
                if trigger == Trigger::FileChanged
                    && !writing.load(Ordering::SeqCst)
                    && handled.as_ref() == Some(&fingerprint_of(&self.path).await)
                {
                    continue;
                }
                loop {
                    let settled = self.settle(&mut rx, &mut trigger, &writing).await;
                    let this = self.clone();
                    let fp = settled.clone();
                    let outcome =
                        tokio::task::spawn_blocking(move || this.reload(trigger, &fp)).await;
                    // Read (or about to be read again): no longer waiting.
                    self.set_pending(None);
                    if outcome.is_ok_and(|o| o == Outcome::ChangedWhileReading) {
                        continue;
                    }
                    handled = Some(settled);
                    break;
                }
            }
        }));
        ReloadTasks(tasks)
    }
}

/// The reload's tasks (the watch, the look at the path every second, the reloads):
/// aborted when dropped.
pub struct ReloadTasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for ReloadTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Takes every trigger already waiting: a SIGHUP among them makes it a SIGHUP. True
/// when there was a SIGHUP among them.
fn take_pending(rx: &mut tokio::sync::mpsc::Receiver<Trigger>, trigger: &mut Trigger) -> bool {
    let mut hangup = false;
    while let Ok(more) = rx.try_recv() {
        if more == Trigger::Signal {
            *trigger = Trigger::Signal;
            hangup = true;
        }
    }
    hangup
}

/// The 1-based line of the top-level `version = ...`, for the error that names it.
fn version_line(text: &str) -> Option<usize> {
    text.lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .position(|l| {
            l.trim_start()
                .strip_prefix("version")
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

/// Set by every SIGHUP from [`catch_early_hangups`] on.
static EARLY_HANGUP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Takes SIGHUP from now on, so that one arriving before the server listens for it (while
/// the rules load and are tested, the port is bound, the logs are opened) does not end
/// the process, as its default action would: `serve` calls it first. It only notes the
/// signal, for [`replay_early_hangup`]; the server's own handler, installed later beside
/// it, does the rest.
pub fn catch_early_hangups() {
    #[cfg(unix)]
    {
        let flag = EARLY_HANGUP.get_or_init(|| Arc::new(AtomicBool::new(false)));
        if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGHUP, flag.clone()) {
            // Logging is not set up yet.
            eprintln!(
                "cannot take SIGHUP at startup ({e}): one before serving would stop the process"
            );
        }
    }
}

/// For the commands other than `serve`, which [`catch_early_hangups`] also covers (it
/// runs before the command line is read): SIGHUP ends the process, as by default.
pub fn hangup_ends_the_process() {
    #[cfg(unix)]
    {
        let always = Arc::new(AtomicBool::new(true));
        if let Err(e) =
            signal_hook::flag::register_conditional_default(signal_hook::consts::SIGHUP, always)
        {
            eprintln!("cannot restore SIGHUP's default action ({e}): a SIGHUP is ignored");
        }
    }
}

/// Once the server's SIGHUP handler is installed: a SIGHUP taken before it (see
/// [`catch_early_hangups`]) becomes one hangup of `state`, so files are re-read.
pub fn replay_early_hangup(state: &AppState) {
    if EARLY_HANGUP
        .get()
        .is_some_and(|f| f.swap(false, Ordering::SeqCst))
    {
        tracing::info!("SIGHUP received while starting: re-reading files now");
        state.hangup();
    }
}

/// Every problem, at the file's name, line and column: the path is an operator's detail,
/// not an API's.
fn describe(errors: &crate::rules::RulesErrors, name: &str) -> String {
    errors
        .errors
        .iter()
        .map(|e| match e.line {
            0 => format!("{name}: {}", e.message),
            line => format!("{name}:{line}:{}: {}", e.column, e.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A directory watched, by the path it was reached by and what it was then (device and
/// inode): when the path names another directory (replaced, or a symlink swapped), the
/// watch, which follows the old one, is re-armed.
type WatchedDir = (PathBuf, Option<(u64, u64)>);

/// The directories to watch for `path`: its directory as given (a ConfigMap update swaps
/// the `..data` symlink there, which a watch on the file alone would not see), that
/// directory's own directory when it is a symlink (`current -> releases/1` swapped for
/// `releases/2`), and the directory of the file the path resolves to (where an in-place
/// write happens). The same directory reached twice is watched once.
fn watched(path: &Path) -> Vec<WatchedDir> {
    fn parent(p: &Path) -> PathBuf {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned()
    }
    fn identity(p: &Path) -> Option<(u64, u64)> {
        let m = std::fs::metadata(p).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some((m.dev(), m.ino()))
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            Some((0, 0))
        }
    }
    let given = parent(path);
    let mut candidates = vec![given.clone()];
    if given
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        candidates.push(parent(&given));
    }
    if let Ok(real) = std::fs::canonicalize(path) {
        candidates.push(parent(&real));
    }
    let mut dirs: Vec<WatchedDir> = Vec::new();
    for dir in candidates {
        let id = identity(&dir);
        if id.is_none() || !dirs.iter().any(|(_, seen)| *seen == id) {
            dirs.push((dir, id));
        }
    }
    dirs
}

/// The watcher and what it watches.
#[derive(Default)]
struct Watch {
    watcher: Option<notify::RecommendedWatcher>,
    dirs: Vec<WatchedDir>,
}

impl Watch {
    /// Watches `dirs` from now on, with a new watcher (the old one is dropped). Events
    /// trigger a reload, except opening and reading (a reload's own read). On Linux,
    /// `writing` is set while the rules file has been written to and not yet closed.
    fn arm(
        &mut self,
        path: &Path,
        dirs: Vec<WatchedDir>,
        tx: &tokio::sync::mpsc::Sender<Trigger>,
        writing: &Arc<AtomicBool>,
    ) {
        if !self.dirs.is_empty() {
            tracing::info!("the rules path now goes through other directories; watching those");
        }
        self.watcher = None;
        self.dirs = dirs;
        // Writes are noticed on the file's names: as given, and as resolved.
        let mut names: Vec<std::ffi::OsString> =
            path.file_name().map(|n| n.to_owned()).into_iter().collect();
        if let Some(n) = std::fs::canonicalize(path)
            .ok()
            .and_then(|r| r.file_name().map(|n| n.to_owned()))
        {
            names.push(n);
        }
        writing.store(false, Ordering::SeqCst);
        let (tx, writing) = (tx.clone(), writing.clone());
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
            let Ok(event) = event else {
                let _ = tx.try_send(Trigger::FileChanged);
                return;
            };
            let ours = event
                .paths
                .iter()
                .any(|p| p.file_name().is_some_and(|n| names.iter().any(|m| m == n)));
            match event.kind {
                EventKind::Access(AccessKind::Close(AccessMode::Write)) if ours => {
                    writing.store(false, Ordering::SeqCst);
                }
                EventKind::Access(_) => return,
                EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) if ours => {
                    if cfg!(target_os = "linux") {
                        writing.store(true, Ordering::SeqCst);
                    }
                }
                EventKind::Modify(ModifyKind::Name(_)) | EventKind::Remove(_) if ours => {
                    writing.store(false, Ordering::SeqCst);
                }
                _ => {}
            }
            let _ = tx.try_send(Trigger::FileChanged);
        });
        let mut watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the rules file; a change is seen within a second, and SIGHUP reloads");
                return;
            }
        };
        for (dir, _) in &self.dirs {
            if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                tracing::warn!(error = %e, "cannot watch a directory of the rules path; a change is seen within a second, and SIGHUP reloads");
            }
        }
        self.watcher = Some(watcher);
    }
}
