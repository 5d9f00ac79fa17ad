//! One module per resource, and what their handlers share.

pub mod decisions;
pub mod ops;
pub mod rules;

use crate::http::extract::{Query, check_query};
use crate::http::problem::Problem;
use crate::request::FieldError;
use crate::rules::Rules;

/// The checks of the query every `/v1` endpoint makes before anything else: a parameter
/// it does not take (`takes`), or one given twice with different values, is a 400 (see
/// [`check_query`]); a `?lang=` that is not exactly one of the rules' languages a 422
/// pointing at `/lang`, so a misspelt language never silently turns into the default
/// one. Reading the language stays [`negotiate`](crate::http::extract::negotiate)'s job;
/// `Accept-Language` stays a preference, whose unknown tags fall back.
pub fn checked_query<'q>(
    query: Option<&'q str>,
    takes: &'static [&'static str],
    rules: &Rules,
) -> Result<Query<'q>, Problem> {
    let query = check_query(query, takes)?;
    known_lang(query.get("lang"), rules)?;
    Ok(query)
}

/// The check of `?lang=` against `rules`.
fn known_lang(asked: Option<&str>, rules: &Rules) -> Result<(), Problem> {
    let languages = &rules.languages;
    match asked {
        Some(v) if !languages.iter().any(|l| l == v) => Err(Problem::invalid(vec![FieldError {
            pointer: "/lang".into(),
            message: format!(
                "`{v}` is not a language of the rules: use one of {}",
                languages.join(", ")
            ),
        }])),
        _ => Ok(()),
    }
}
