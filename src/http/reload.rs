//! Rules changed while serving: SIGHUP, or a change to the rules file (including a
//! Kubernetes ConfigMap update, which swaps a symlinked directory under it). A new file
//! is validated first, then swapped in whole; requests in flight finish on the rules they
//! started with. A broken file keeps the last good rules serving and is reported in
//! `/v1/rules`, the logs and `aftersales_rules_reloads_total{result="error"}`.
//!
//! A SIGHUP does not kill the server while it starts: `main` takes it first thing
//! ([`catch_early_hangups`], before the command line is read and the rules load; only the
//! dynamic loader and Rust's own start-up come before), and one that came before
//! the server listens for SIGHUP itself is replayed as one hangup once it does
//! ([`replay_early_hangup`]): the files are re-read then, so a file changed between the
//! first read and the start of the watch is not missed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::Utc;
use notify::{RecursiveMode, Watcher};

use super::state::AppState;
use crate::rules::Rules;

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
    /// The checksum of the last file that failed, so one broken file is reported once.
    last_failed: Arc<Mutex<Option<String>>>,
}

impl Reloader {
    pub fn new(path: PathBuf, state: AppState) -> Reloader {
        Reloader {
            path,
            state,
            last_failed: Arc::new(Mutex::new(None)),
        }
    }

    /// Reloads now. A file-change trigger skips content already loaded or already failed.
    pub fn reload(&self, trigger: Trigger) -> bool {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Read exactly as at startup and by `rules check`: never lossily, never blocking.
        let text = match Rules::read_source(&self.path) {
            Ok(text) => text,
            Err(errors) => {
                self.fail(describe(&errors, &name), None);
                return false;
            }
        };
        let checksum = crate::rules::checksum(&text);
        if trigger == Trigger::FileChanged {
            let failed = self
                .last_failed
                .lock()
                .map(|f| f.clone())
                .unwrap_or_default();
            if checksum == self.state.rules().rules.checksum {
                // The file is back to the rules already serving (a broken edit undone by
                // putting the served file back): nothing to swap, but a failure shown
                // since is over, or `/v1/rules` and the failing gauge would stay failed
                // until a SIGHUP.
                return self.back_to_served(trigger, &checksum);
            }
            if failed.as_deref() == Some(checksum.as_str()) {
                return false;
            }
        }
        match Rules::from_toml(&text, &name) {
            Ok(rules) => {
                rules.log_warnings();
                let (old, new) = (
                    self.state.rules().rules.version.clone(),
                    rules.version.clone(),
                );
                self.state.swap_rules(rules);
                self.record_ok();
                tracing::info!(?trigger, from_version = %old, to_version = %new, %checksum, "rules reloaded");
                true
            }
            Err(errors) => {
                self.fail(describe(&errors, &name), Some(checksum));
                false
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

    fn fail(&self, error: String, checksum: Option<String>) {
        if let Ok(mut f) = self.last_failed.lock() {
            *f = checksum;
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
        });
    }

    /// Reloads on every hangup (SIGHUP, see [`AppState::hangups`]) and on changes in the rules file's directory, until the
    /// process ends. Returns the watcher, which must be kept alive.
    pub fn spawn(self) -> Option<notify::RecommendedWatcher> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Trigger>(16);
        let watcher = watch(&self.path, tx.clone());
        {
            let tx = tx.clone();
            let mut hangups = self.state.hangups();
            // A hangup before this watch began (one taken while starting and replayed,
            // see [`replay_early_hangup`]) still reloads.
            if *hangups.borrow_and_update() != 0 {
                let _ = tx.try_send(Trigger::Signal);
            }
            tokio::spawn(async move {
                while hangups.changed().await.is_ok() {
                    if tx.send(Trigger::Signal).await.is_err() {
                        break;
                    }
                }
            });
        }
        tokio::spawn(async move {
            while let Some(mut trigger) = rx.recv().await {
                // Editors and ConfigMap updates come as bursts of events: settle first.
                tokio::time::sleep(Duration::from_millis(200)).await;
                while let Ok(more) = rx.try_recv() {
                    if more == Trigger::Signal {
                        trigger = Trigger::Signal;
                    }
                }
                let this = self.clone();
                let _ = tokio::task::spawn_blocking(move || this.reload(trigger)).await;
            }
        });
        watcher
    }
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

/// Watches the file's directory: a ConfigMap update replaces the `..data` symlink there,
/// which a watch on the file alone would not see.
fn watch(
    path: &Path,
    tx: tokio::sync::mpsc::Sender<Trigger>,
) -> Option<notify::RecommendedWatcher> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = tx.try_send(Trigger::FileChanged);
        }
    })
    .map_err(|e| tracing::warn!(error = %e, "cannot watch the rules file; SIGHUP still reloads"))
    .ok()?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|e| tracing::warn!(error = %e, "cannot watch the rules directory; SIGHUP still reloads"))
        .ok()?;
    Some(watcher)
}
