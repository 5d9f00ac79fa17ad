//! Bearer tokens for `/v1/*`: where they come from (`--api-tokens` or
//! `--api-tokens-file`), the check on each request, and the token file re-read on SIGHUP.
//!
//! Auth fails closed. A token setting that yields no token (`--api-tokens ","`, a blank
//! variable, an empty Kubernetes secret, a file of comments) stops the service at startup
//! instead of serving `/v1` to anyone; a re-read that yields no token, or fails, keeps the
//! tokens in force. Once on, auth never turns off while the process runs.

use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::state::AppState;
use crate::cli::ServeArgs;

/// The largest token file read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

const LIST: &str = "--api-tokens (AFTERSALES_API_TOKENS)";
const FILE: &str = "--api-tokens-file (AFTERSALES_API_TOKENS_FILE)";

/// A non-empty set of API tokens, each kept as its SHA-256 only: compared in constant
/// time, never held in clear.
#[derive(Clone)]
pub struct TokenSet(Vec<[u8; 32]>);

impl TokenSet {
    /// Whether `token` is in the set, in time independent of which one it matches.
    pub fn contains(&self, token: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut ok = subtle::Choice::from(0);
        for known in &self.0 {
            ok |= known.ct_eq(&digest);
        }
        ok.into()
    }

    /// How many tokens (duplicates counted once each time they are given).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: an empty set is not a `TokenSet`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn of(tokens: &[&str]) -> Option<TokenSet> {
        let digests: Vec<[u8; 32]> = tokens
            .iter()
            .map(|t| Sha256::digest(t.as_bytes()).into())
            .collect();
        (!digests.is_empty()).then_some(TokenSet(digests))
    }
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenSet({} tokens)", self.0.len())
    }
}

/// Why the token settings were refused. Messages name the setting, never a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError(String);

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TokenError {}

/// The tokens the settings give: `None` when neither `--api-tokens` nor
/// `--api-tokens-file` is set (no auth). Both at once are refused: with two sources, a
/// token removed from the file would still be let in by the other.
pub fn from_args(args: &ServeArgs) -> Result<Option<TokenSet>, TokenError> {
    match (args.api_tokens.is_empty(), &args.api_tokens_file) {
        (true, None) => Ok(None),
        (false, Some(_)) => Err(TokenError(format!(
            "{LIST} and {FILE} are both set: give the tokens one way only"
        ))),
        (false, None) => from_list(&args.api_tokens).map(Some),
        (true, Some(path)) => read_file(path).map(Some),
    }
}

/// The tokens of `--api-tokens`: blank entries (`a,,b`, a trailing comma) are skipped,
/// but a list with no token at all is refused.
fn from_list(list: &[String]) -> Result<TokenSet, TokenError> {
    let tokens: Vec<&str> = list
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .collect();
    if let Some(n) = tokens.iter().position(|t| !is_bearer_token(t)) {
        return Err(TokenError(format!(
            "{LIST}: token {} is not a bearer token ({SHAPE})",
            n + 1
        )));
    }
    TokenSet::of(&tokens).ok_or_else(|| {
        TokenError(format!(
            "{LIST} is set but holds no token: refusing to serve /v1 without authentication \
             (unset it to run without tokens)"
        ))
    })
}

/// Reads a token file: one token per line; blank lines and lines starting with `#` are
/// skipped. A file that cannot be read, has a line that is not a token, or holds no
/// token is refused.
pub fn read_file(path: &Path) -> Result<TokenSet, TokenError> {
    let at = |what: String| TokenError(format!("{FILE} {}: {what}", path.display()));
    let bytes = crate::files::read_regular(path, MAX_FILE_BYTES)
        .map_err(|e| at(format!("cannot read the token file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| at("the token file is not UTF-8".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut tokens = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !is_bearer_token(line) {
            // The line itself is not shown: it may be a token with a typo.
            return Err(at(format!(
                "line {} is not a bearer token ({SHAPE}; one token per line, # starts a comment)",
                n + 1
            )));
        }
        tokens.push(line);
    }
    TokenSet::of(&tokens).ok_or_else(|| {
        at("the token file holds no token: refusing to serve /v1 without authentication".into())
    })
}

const SHAPE: &str = "letters, digits and - . _ ~ + / with = only at the end";

/// RFC 6750's `b64token`: what can follow `Bearer ` in a header.
fn is_bearer_token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Re-reads the token file on every hangup (SIGHUP) until the process ends. A file that
/// cannot be read, or yields no token, changes nothing: the tokens in force stay, and the
/// failure is logged and counted in `aftersales_api_token_reloads_total{result="error"}`.
pub fn reload_on_hangup(state: &AppState, path: PathBuf) {
    let state = state.clone();
    let mut hangups = state.hangups();
    tokio::spawn(async move {
        while hangups.changed().await.is_ok() {
            let file = path.clone();
            let read = match tokio::task::spawn_blocking(move || read_file(&file)).await {
                Ok(read) => read,
                Err(e) => Err(TokenError(format!("the re-read stopped: {e}"))),
            };
            match read {
                Ok(tokens) => {
                    let count = tokens.len();
                    if state.replace_tokens(tokens) {
                        metrics::counter!("aftersales_api_token_reloads_total", "result" => "ok")
                            .increment(1);
                        tracing::info!(tokens = count, "API tokens re-read");
                    }
                }
                Err(e) => {
                    metrics::counter!("aftersales_api_token_reloads_total", "result" => "error")
                        .increment(1);
                    tracing::error!(error = %e, "API tokens not re-read; the tokens in force stay");
                }
            }
        }
    });
}

/// Whether a `/v1/*` request may go on: with tokens configured, it needs a valid bearer
/// token, in one `Authorization` header (else 401, see [`super::middleware`]).
pub fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    if !state.auth_enabled() {
        return true;
    }
    // Exactly one header: with two, a proxy in front may have checked the other one.
    let mut given = headers.get_all(header::AUTHORIZATION).iter();
    let token = match (given.next(), given.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    };
    let token = token.and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    token.is_some_and(|t| state.token_ok(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Result<TokenSet, TokenError> {
        from_list(&items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn a_list_without_a_token_is_refused_naming_the_flag_and_the_variable() {
        for blank in [&["", ""][..], &[" "], &["", " ", "\t"]] {
            let e = list(blank).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                e.contains("--api-tokens") && e.contains("AFTERSALES_API_TOKENS"),
                "{blank:?}: {e}"
            );
        }
    }

    #[test]
    fn blank_entries_are_skipped_and_tokens_trimmed() {
        let set = list(&["", " s3cret ", "other=="]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.len(), 2);
        assert!(set.contains("s3cret") && set.contains("other=="));
        assert!(!set.contains(" s3cret ") && !set.contains(""));
    }

    #[test]
    fn what_cannot_follow_bearer_is_not_a_token_and_is_not_echoed() {
        for bad in ["two words", "a,b", "tokens=abc", "=", "令牌", "a\u{1b}b"] {
            let e = list(&["fine", bad]).err().map(|e| e.to_string());
            assert_eq!(
                e.as_deref(),
                Some(
                    "--api-tokens (AFTERSALES_API_TOKENS): token 2 is not a bearer token \
                     (letters, digits and - . _ ~ + / with = only at the end)"
                ),
                "{bad}"
            );
        }
    }
}
