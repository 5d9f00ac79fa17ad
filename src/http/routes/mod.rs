//! One module per resource, and what their handlers share.

pub mod decisions;
pub mod ops;
pub mod rules;

use crate::http::extract::check_query;
use crate::http::problem::Problem;
use crate::request::FieldError;
use crate::rules::Rules;

/// The checks of the query every `/v1` endpoint makes before anything else: a parameter
/// it does not take (`takes`), or one given twice with different values, is a 400 (see
/// [`check_query`]); a `?lang=` that is not exactly one of the rules' languages a 422
/// pointing at `/lang`, so a misspelt language never silently turns into the default
/// one. Reading the language stays [`negotiate`](crate::http::extract::negotiate)'s job;
/// `Accept-Language` stays a preference, whose unknown tags fall back.
pub fn checked_query(query: Option<&str>, takes: &[&str], rules: &Rules) -> Result<(), Problem> {
    check_query(query, takes)?;
    known_lang(query, rules)
}

/// The check of `?lang=` against `rules` (given once, or twice the same: see
/// [`check_query`]).
fn known_lang(query: Option<&str>, rules: &Rules) -> Result<(), Problem> {
    let languages = &rules.languages;
    let asked: Vec<_> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "lang")
        .map(|(_, v)| v)
        .collect();
    let errors: Vec<FieldError> = asked
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
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::invalid(errors))
    }
}
