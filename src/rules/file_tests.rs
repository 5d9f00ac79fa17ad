//! `[[test]]`: cases inside a rules file with their expected decisions. They run each
//! time the file loads (startup, `rules check`, `rules test`, every reload), through the
//! same entry point as HTTP requests, so a file whose tests fail is refused and the last
//! good rules keep serving.

use std::ops::Range;

use chrono_tz::Tz;
use serde_json::Value;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::raw::RawTest;
use super::{Lang, Rules};
use crate::codes::{Action, DeadlineKind, Outcome, Scenario, WarningCode};
use crate::time::{self, Instant};

type Problems = Vec<(Option<Range<usize>>, String)>;

/// A test whose expectations have been read; ready to run once the rules are built.
#[derive(Debug, Clone)]
pub(super) struct FileTest {
    pub(super) name: String,
    span: Range<usize>,
    /// Its position among the file's `[[test]]`s, to find its request's fields.
    index: usize,
    /// The request, as the JSON body a caller would send.
    request: Value,
    expect: Expect,
}

#[derive(Debug, Clone, Default)]
struct Expect {
    notice: Option<String>,
    applies: Option<bool>,
    also_applies: Option<Vec<String>>,
    scenario: Option<Scenario>,
    decision: Option<Outcome>,
    actions: Option<Vec<String>>,
    warnings: Option<Vec<String>>,
    /// Exactly these deadlines, when given.
    deadlines: Option<Vec<(DeadlineKind, Instant)>>,
}

impl FileTest {
    /// Reads a `[[test]]` table; every problem at its place.
    pub(super) fn check(
        t: &RawTest,
        index: usize,
        tz: Tz,
        notice_ids: &[&str],
    ) -> Result<FileTest, Problems> {
        let mut problems: Problems = Vec::new();
        let mut err = |at: Range<usize>, m: String| problems.push((Some(at), m));
        let name = t.name.get_ref().trim().to_owned();
        if name.is_empty() {
            err(t.name.span(), "a test needs a `name`".into());
        }
        let request = t.request.get_ref();
        if !request.contains_key("as_of") {
            err(
                t.request.span(),
                format!(
                    "test `{name}`: `request.as_of` is required, so that the test decides at a fixed instant rather than on the day it runs"
                ),
            );
        }
        let json = match to_json(&toml::Value::Table(request.clone()), "request") {
            Ok(v) => Some(v),
            Err(m) => {
                err(t.request.span(), format!("test `{name}`: {m}"));
                None
            }
        };

        let raw = t.expect.get_ref();
        let mut expect = Expect::default();
        let parsed = |v: &Spanned<String>,
                      what: &str,
                      known: &[&str]|
         -> Result<String, (Range<usize>, String)> {
            if known.contains(&v.get_ref().as_str()) {
                Ok(v.get_ref().clone())
            } else {
                Err((
                    v.span(),
                    format!(
                        "test `{name}`: `{}` is not a {what}: use one of {}",
                        v.get_ref(),
                        known.join(", ")
                    ),
                ))
            }
        };
        let scenarios: Vec<&str> = Scenario::ALL.iter().map(|s| s.as_str()).collect();
        let outcomes: Vec<&str> = Outcome::ALL.iter().map(|s| s.as_str()).collect();
        let kinds: Vec<&str> = DeadlineKind::ALL.iter().map(|s| s.as_str()).collect();
        let actions: Vec<&str> = Action::ALL.iter().map(|s| s.as_str()).collect();
        let warnings: Vec<&str> = WarningCode::ALL.iter().map(|s| s.as_str()).collect();
        let mut bad = Vec::new();
        if let Some(n) = &raw.notice {
            match parsed(n, "notice id of this file", notice_ids) {
                Ok(id) => expect.notice = Some(id),
                Err(e) => bad.push(e),
            }
        }
        let mut list =
            |given: &Option<Spanned<Vec<Spanned<String>>>>, what: &str, known: &[&str]| {
                let given = given.as_ref()?;
                let mut list = Vec::new();
                for code in given.get_ref() {
                    match parsed(code, what, known) {
                        Ok(c) => list.push(c),
                        Err(e) => bad.push(e),
                    }
                }
                Some(list)
            };
        expect.also_applies = list(&raw.also_applies, "notice id of this file", notice_ids);
        expect.actions = list(&raw.actions, "action code", &actions);
        expect.warnings = list(&raw.warnings, "warning code", &warnings);
        if let Some(s) = &raw.scenario {
            match parsed(s, "scenario", &scenarios) {
                Ok(s) => expect.scenario = Scenario::parse(&s),
                Err(e) => bad.push(e),
            }
        }
        if let Some(d) = &raw.decision {
            match parsed(d, "decision", &outcomes) {
                Ok(d) => expect.decision = Outcome::parse(&d),
                Err(e) => bad.push(e),
            }
        }
        expect.applies = raw.applies.as_ref().map(|a| *a.get_ref());
        if let Some(deadlines) = &raw.deadlines {
            let mut list = Vec::new();
            for (kind, due) in deadlines.get_ref() {
                let kind = match parsed(kind, "deadline kind", &kinds) {
                    Ok(k) => DeadlineKind::parse(&k),
                    Err(e) => {
                        bad.push(e);
                        None
                    }
                };
                match super::instant(due.get_ref(), tz) {
                    Some(at) => list.extend(kind.map(|k| (k, at))),
                    None => bad.push((
                        due.span(),
                        format!("test `{name}`: not a date-time: write 2023-10-15T14:00:00+08:00"),
                    )),
                }
            }
            expect.deadlines = Some(list);
        }
        let expects_nothing = raw.notice.is_none()
            && raw.applies.is_none()
            && raw.also_applies.is_none()
            && raw.scenario.is_none()
            && raw.decision.is_none()
            && raw.actions.is_none()
            && raw.warnings.is_none()
            && raw.deadlines.is_none();
        if expects_nothing {
            bad.push((
                t.expect.span(),
                format!("test `{name}` expects nothing: give `notice`, `applies`, `also_applies`, `scenario`, `decision`, `actions`, `warnings` or `deadlines`"),
            ));
        }
        for (at, m) in bad {
            err(at, m);
        }
        match json {
            Some(request) if problems.is_empty() => Ok(FileTest {
                name,
                span: t.name.span(),
                index,
                request,
                expect,
            }),
            _ => Err(problems),
        }
    }
}

/// Runs every test against `rules` (loaded from `source`); one error per failing test,
/// naming it and what differed, at its name, or at the first field of its request the
/// API refused.
pub(super) fn run(rules: &Rules, tests: &[FileTest], source: &str) -> Problems {
    let mut document = None;
    tests
        .iter()
        .filter_map(|t| {
            let (failure, refused_at) = match differences(rules, t) {
                Ok(diffs) => (diffs.join("; "), None),
                Err((refused, pointer)) => (refused, Some(pointer)),
            };
            if failure.is_empty() {
                return None;
            }
            let span = refused_at
                .and_then(|p| {
                    let document = document.get_or_insert_with(|| DeTable::parse(source).ok());
                    field_span(document.as_ref()?, t.index, &p)
                })
                .unwrap_or_else(|| t.span.clone());
            Some((Some(span), format!("test `{}` failed: {failure}", t.name)))
        })
        .collect()
}

/// Where in the file the field at a JSON pointer of the `index`th test's request is
/// written: its key, or the nearest enclosing value the file has.
fn field_span(
    document: &Spanned<DeTable<'_>>,
    index: usize,
    pointer: &str,
) -> Option<Range<usize>> {
    let tests = document
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref() == "test")?
        .1;
    let DeValue::Array(tests) = tests.get_ref() else {
        return None;
    };
    let DeValue::Table(test) = tests.get(index)?.get_ref() else {
        return None;
    };
    let (key, mut value) = test.iter().find(|(k, _)| k.get_ref() == "request")?;
    let mut span = key.span();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        let next = match value.get_ref() {
            DeValue::Table(t) => t
                .iter()
                .find(|(k, _)| k.get_ref() == segment.as_str())
                .map(|(k, v)| (k.span(), v)),
            DeValue::Array(a) => segment
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i))
                .map(|v| (v.span(), v)),
            _ => None,
        };
        let Some((at, v)) = next else { break };
        span = at;
        value = v;
    }
    Some(span)
}

/// What differs from the test's expectations; or, when the API refuses its request,
/// what the API says and the first field it refused (a JSON pointer).
fn differences(rules: &Rules, t: &FileTest) -> Result<Vec<String>, (String, String)> {
    let body = match serde_json::to_vec(&t.request) {
        Ok(b) => b,
        Err(e) => return Ok(vec![format!("the request cannot be written as JSON: {e}")]),
    };
    // `as_of` is required, so the clock passed here is never read.
    let now = Instant::UNIX_EPOCH;
    let v = match crate::decide_json(rules, &body, now, Lang(0), format!("test:{}", t.name)) {
        Ok(d) => d.view,
        Err(e) => {
            let problems: Vec<String> = e
                .errors
                .iter()
                .map(|p| format!("{} {}", pointer(&p.pointer), p.message))
                .collect();
            let first = e
                .errors
                .first()
                .map(|p| p.pointer.clone())
                .unwrap_or_default();
            return Err((
                format!("the request is refused: {}", problems.join(", ")),
                first,
            ));
        }
    };
    let mut diffs = Vec::new();
    let mut differ = |what: &str, want: String, got: String| {
        if want != got {
            diffs.push(format!("{what}: expected {want}, got {got}"));
        }
    };
    let e = &t.expect;
    let tick = |s: &str| format!("`{s}`");
    if let Some(n) = &e.notice {
        differ("notice", tick(n), tick(&v.event.id));
    }
    if let Some(a) = e.applies {
        differ("applies", a.to_string(), v.applies.to_string());
    }
    let list = |ids: &mut dyn Iterator<Item = &str>| {
        format!("[{}]", ids.map(tick).collect::<Vec<_>>().join(", "))
    };
    if let Some(also) = &e.also_applies {
        differ(
            "also_applies",
            list(&mut also.iter().map(String::as_str)),
            list(&mut v.also_applies.iter().map(|n| n.id.as_str())),
        );
    }
    if let Some(actions) = &e.actions {
        differ(
            "actions",
            list(&mut actions.iter().map(String::as_str)),
            list(&mut v.actions.iter().map(|a| a.code.as_str())),
        );
    }
    if let Some(warnings) = &e.warnings {
        differ(
            "warnings",
            list(&mut warnings.iter().map(String::as_str)),
            list(&mut v.warnings.iter().map(|w| w.code.as_str())),
        );
    }
    if let Some(s) = e.scenario {
        differ("scenario", tick(s.as_str()), tick(v.scenario.as_str()));
    }
    if let Some(d) = e.decision {
        differ("decision", tick(d.as_str()), tick(v.decision.as_str()));
    }
    if let Some(want) = &e.deadlines {
        let got: Vec<(DeadlineKind, Option<Instant>)> = v
            .deadlines
            .iter()
            .map(|d| {
                let at = chrono::DateTime::parse_from_rfc3339(&d.due_at)
                    .ok()
                    .map(|t| t.to_utc());
                (d.kind, at)
            })
            .collect();
        let show = |t: Option<Instant>| {
            t.map_or_else(|| "none".to_owned(), |t| time::format(t, rules.time_zone))
        };
        for (kind, at) in want {
            let found = got.iter().find(|(k, _)| k == kind).and_then(|(_, t)| *t);
            differ(&format!("deadlines.{kind}"), show(Some(*at)), show(found));
        }
        for (kind, at) in &got {
            if !want.iter().any(|(k, _)| k == kind) {
                differ(&format!("deadlines.{kind}"), show(None), show(*at));
            }
        }
    }
    Ok(diffs)
}

fn pointer(p: &str) -> String {
    if p.is_empty() {
        "(the request)".to_owned()
    } else {
        format!("request{p}")
    }
}

/// A TOML value as the JSON a caller would send: date-times become strings (read as
/// the contract reads times), everything else maps one to one.
fn to_json(v: &toml::Value, at: &str) -> Result<Value, String> {
    Ok(match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| format!("`{at}` is {f}, which JSON cannot hold"))?,
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| to_json(x, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, x)| Ok((k.clone(), to_json(x, &format!("{at}.{k}"))?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}
