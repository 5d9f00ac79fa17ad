//! What every handler shares: the rules (swapped whole on reload), tokens, limits,
//! readiness and the metrics handle.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::PrometheusHandle;

use super::auth::TokenSet;
use crate::rules::Rules;

/// Rules as loaded, with when.
#[derive(Debug)]
pub struct Loaded {
    pub rules: Rules,
    pub loaded_at: DateTime<Utc>,
}

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    rules: ArcSwap<Loaded>,
    /// The API tokens, when auth is on. Swapped whole when the token file is re-read, and
    /// only for another non-empty set: once on, auth never turns off.
    tokens: Option<ArcSwap<TokenSet>>,
    ready: AtomicBool,
    body_limit: usize,
    batch_limit: usize,
    metrics: PrometheusHandle,
    openapi_yaml: String,
    reload: ArcSwap<Option<super::reload::ReloadStatus>>,
    decision_log: Option<super::decision_log::DecisionLog>,
    /// Bumped on every SIGHUP: whatever re-reads files on hangup (the rules, the token
    /// file, the decision log) subscribes with [`AppState::hangups`].
    hangup: tokio::sync::watch::Sender<u64>,
}

/// How the state is built.
pub struct StateConfig {
    /// The API tokens `/v1/*` requires; `None`: no auth.
    pub tokens: Option<TokenSet>,
    pub body_limit: usize,
    pub batch_limit: usize,
    pub decision_log: Option<super::decision_log::DecisionLog>,
}

impl AppState {
    /// A ready state serving `rules`.
    pub fn new(
        rules: Rules,
        config: StateConfig,
        metrics: PrometheusHandle,
        openapi_yaml: String,
    ) -> AppState {
        AppState(Arc::new(Inner {
            rules: ArcSwap::from_pointee(Loaded {
                rules,
                loaded_at: Utc::now(),
            }),
            tokens: config.tokens.map(ArcSwap::from_pointee),
            ready: AtomicBool::new(true),
            body_limit: config.body_limit,
            batch_limit: config.batch_limit,
            metrics,
            openapi_yaml,
            reload: ArcSwap::from_pointee(None),
            decision_log: config.decision_log,
            hangup: tokio::sync::watch::Sender::new(0),
        }))
    }

    /// The rules now in force; a request keeps the ones it started with.
    pub fn rules(&self) -> Arc<Loaded> {
        self.0.rules.load_full()
    }

    /// Replaces the rules for every request that starts from now on.
    pub fn swap_rules(&self, rules: Rules) {
        self.0.rules.store(Arc::new(Loaded {
            rules,
            loaded_at: Utc::now(),
        }));
    }

    /// Whether API tokens are required.
    pub fn auth_enabled(&self) -> bool {
        self.0.tokens.is_some()
    }

    /// Whether `token` is one of the configured tokens, in time independent of which.
    pub fn token_ok(&self, token: &str) -> bool {
        self.0
            .tokens
            .as_ref()
            .is_some_and(|tokens| tokens.load().contains(token))
    }

    /// Puts a re-read token set in force. Returns false, changing nothing, when auth is
    /// off: a token file cannot turn it on later, as it can never turn it off.
    pub fn replace_tokens(&self, tokens: TokenSet) -> bool {
        match &self.0.tokens {
            Some(current) => {
                current.store(Arc::new(tokens));
                true
            }
            None => false,
        }
    }

    pub fn ready(&self) -> bool {
        self.0.ready.load(Ordering::SeqCst)
    }

    /// Marks the server as draining: /readyz answers 503 from now on.
    pub fn set_draining(&self) {
        self.0.ready.store(false, Ordering::SeqCst);
    }

    pub fn body_limit(&self) -> usize {
        self.0.body_limit
    }

    pub fn batch_limit(&self) -> usize {
        self.0.batch_limit
    }

    /// The last reload's outcome, if any reload happened.
    pub fn reload_status(&self) -> Option<super::reload::ReloadStatus> {
        self.0.reload.load().as_ref().clone()
    }

    pub fn set_reload_status(&self, status: super::reload::ReloadStatus) {
        self.0.reload.store(Arc::new(Some(status)));
    }

    /// The decision log, when one is configured.
    pub fn decision_log(&self) -> Option<&super::decision_log::DecisionLog> {
        self.0.decision_log.as_ref()
    }

    /// Announces a hangup (SIGHUP) to every subscriber.
    pub fn hangup(&self) {
        self.0.hangup.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes on every hangup from now on.
    pub fn hangups(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.hangup.subscribe()
    }

    pub fn metrics(&self) -> &PrometheusHandle {
        &self.0.metrics
    }

    pub fn openapi_yaml(&self) -> &str {
        &self.0.openapi_yaml
    }
}
