//! One module per resource, and what their handlers share.

pub mod decisions;
pub mod ops;
pub mod rules;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::http::problem::Problem;
use crate::http::state::AppState;
use crate::request::FieldError;

/// Refuses a `?lang=` that is not exactly one of the rules' languages (422 pointing at
/// `/lang`), so a misspelt language never silently turns into the default one. Reading
/// the language stays [`negotiate`](crate::http::extract::negotiate)'s job;
/// `Accept-Language` stays a preference, whose unknown tags fall back.
pub struct KnownLang;

impl FromRequestParts<AppState> for KnownLang {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let query = parts.uri.query().unwrap_or_default();
        let loaded = state.rules();
        let languages = &loaded.rules.languages;
        let errors: Vec<FieldError> = form_urlencoded::parse(query.as_bytes())
            .filter(|(k, v)| k == "lang" && !languages.iter().any(|l| l == v))
            .map(|(_, v)| FieldError {
                pointer: "/lang".into(),
                message: format!(
                    "`{v}` is not a language of the rules: use one of {}",
                    languages.join(", ")
                ),
            })
            .collect();
        if errors.is_empty() {
            Ok(KnownLang)
        } else {
            Err(Problem::invalid(errors))
        }
    }
}
