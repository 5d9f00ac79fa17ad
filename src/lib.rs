//! aftersales: what a shop's support team does with an after-sales (refund) request
//! during a logistics disruption, and by when.
//!
//! The engine ([`engine::decide`]) is pure; rules are data ([`rules::Rules`]); requests
//! become typed cases in one place ([`request::parse`], from the body's bytes); HTTP and
//! the command line are thin shells around [`decide_json`].

pub mod carriers;
pub mod cli;
pub mod codes;
pub mod engine;
pub mod files;
pub mod geo;
pub mod http;
pub mod kuaishou;
pub mod render;
pub mod request;
pub mod rules;
pub mod telemetry;
pub mod time;

use std::sync::OnceLock;

use crate::render::DecisionView;
use crate::request::{FieldError, ParseContext};
use crate::rules::{Lang, Rules};
use crate::time::Instant;

/// The division table, built once on first use and shared.
pub fn gazetteer() -> &'static geo::Gazetteer {
    static G: OnceLock<geo::Gazetteer> = OnceLock::new();
    G.get_or_init(geo::Gazetteer::embedded)
}

/// A decision made from a request: the view to send, and the engine's own result.
#[derive(Debug, Clone)]
pub struct Decided {
    pub view: DecisionView,
    pub decision: engine::Decision,
    /// The parsed case (for the decision log).
    pub case: engine::Case,
}

/// Why a request body could not be decided: the status it earns, and every problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    pub kind: RequestErrorKind,
    pub errors: Vec<FieldError>,
}

/// 400 (the body is not JSON, or a key is duplicated) or 422 (JSON, but not a valid
/// request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestErrorKind {
    Malformed,
    Invalid,
}

/// Parses a request body (JSON bytes), decides it (at its `as_of`, else `now`) and
/// renders it in `lang`. The one entry point for HTTP, the CLI and rules-file tests.
pub fn decide_json(
    rules: &Rules,
    body: &[u8],
    now: Instant,
    lang: Lang,
    decision_id: String,
) -> Result<Decided, RequestError> {
    let (case, decision) = decide_body(rules, body, now)?;
    let view = render::decision_view(rules, &decision, case.case_id.clone(), decision_id, lang);
    Ok(Decided {
        view,
        decision,
        case,
    })
}

/// Parses a request body and decides it (at its `as_of`, else `now`), leaving the
/// wording to the caller: the served path writes the decision straight to JSON
/// ([`render::json::write_decision`]).
pub fn decide_body(
    rules: &Rules,
    body: &[u8],
    now: Instant,
) -> Result<(engine::Case, engine::Decision), RequestError> {
    decide_body_at(rules, body, || now)
}

/// [`decide_body`], reading the clock (`now`) only for a request without `as_of`.
pub fn decide_body_at(
    rules: &Rules,
    body: &[u8],
    now: impl FnOnce() -> Instant,
) -> Result<(engine::Case, engine::Decision), RequestError> {
    let ctx = ParseContext {
        rules,
        gazetteer: gazetteer(),
    };
    let parsed = request::parse(body, ctx)?;
    let decision = engine::decide(rules, &parsed.case, parsed.as_of.unwrap_or_else(now));
    // A guard (accepted input never trips it: see `beyond_range`). A deadline counted
    // past the year 9999 cannot be shown: the input it came from is
    // refused, as a time out of range is, in every view.
    if let Some((pointer, message)) = engine::beyond_range(rules, &parsed.case, &decision) {
        return Err(RequestError {
            kind: RequestErrorKind::Invalid,
            errors: vec![FieldError::new(pointer, message)],
        });
    }
    Ok((parsed.case, decision))
}

/// A new decision id: a UUIDv7, so ids sort by time.
pub fn new_decision_id() -> String {
    // Encoded into a buffer: `to_string` goes through the formatter.
    let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::now_v7()
        .hyphenated()
        .encode_lower(&mut buf)
        .to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decision_ids_are_uuids_v7_as_uuid_writes_them() {
        let id = super::new_decision_id();
        let parsed = uuid::Uuid::parse_str(&id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(parsed.get_version_num(), 7, "{id}");
        assert_eq!(id, parsed.to_string());
    }
}
