//! One module per resource, and what their handlers share.

pub mod decisions;
pub mod ops;
pub mod rules;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::http::problem::Problem;
use crate::http::state::AppState;
use crate::request::FieldError;
use crate::rules::Rules;

/// Refuses a `?lang=` that is not exactly one of the rules' languages (422 pointing at
/// `/lang`), so a misspelt language never silently turns into the default one. Reading
/// the language stays [`negotiate`](crate::http::extract::negotiate)'s job;
/// `Accept-Language` stays a preference, whose unknown tags fall back.
pub struct KnownLang;

impl FromRequestParts<AppState> for KnownLang {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        known_lang(parts.uri.query(), &state.rules().rules).map(|()| KnownLang)
    }
}

/// [`KnownLang`]'s check of a query against `rules`.
pub fn known_lang(query: Option<&str>, rules: &Rules) -> Result<(), Problem> {
    let languages = &rules.languages;
    let asked: Vec<_> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "lang")
        .map(|(_, v)| v)
        .collect();
    let mut errors: Vec<FieldError> = asked
        .iter()
        .filter(|v| !languages.iter().any(|l| l == v.as_ref()))
        .map(|v| FieldError {
            pointer: "/lang".into(),
            message: format!(
                "`{v}` is not a language of the rules: use one of {}",
                languages.join(", ")
            ),
        })
        .collect();
    // Two different languages: which one was meant is not for the service to guess.
    if errors.is_empty() && asked.first().is_some_and(|f| asked.iter().any(|v| v != f)) {
        errors.push(FieldError {
            pointer: "/lang".into(),
            message: format!(
                "is given twice with different languages ({}): give it once",
                asked.join(", ")
            ),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::invalid(errors))
    }
}
