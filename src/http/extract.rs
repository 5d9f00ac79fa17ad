//! Reading requests: a JSON body whose every failure is a problem, and what the caller
//! wants back (language, format).

use std::future::Future;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use http_body::Body as _;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::problem::Problem;
use super::state::AppState;
use crate::render::View;
use crate::rules::{Lang, Rules};

/// The body of a request that must be JSON: 415 without a JSON content type, 413 over the
/// limit, 400 when it cannot be read.
///
/// The content type is looked at now; the future returned holds the body alone (an
/// `async fn`'s would hold the whole request, twice, in a future boxed for every
/// request), the rare refusal boxed.
pub fn json_body(
    req: Request,
    state: &AppState,
) -> impl Future<Output = Result<Bytes, Problem>> + use<> {
    // A singleton field (RFC 9110 §8.3): given on two lines with different values, the
    // body's type is in doubt, whichever line a reader would take. The same value twice
    // (in any case: media types and the charset are case-insensitive) is that value.
    let mut lines = req.headers().get_all(header::CONTENT_TYPE).iter();
    let content_type = lines.next();
    let same = |a: &axum::http::HeaderValue, b: &axum::http::HeaderValue| {
        a.as_bytes()
            .trim_ascii()
            .eq_ignore_ascii_case(b.as_bytes().trim_ascii())
    };
    let other = lines.find(|v| content_type.is_none_or(|first| !same(first, v)));
    let shown = |v: &axum::http::HeaderValue| v.to_str().unwrap_or("(not text)").to_owned();
    let refused = match (content_type.map(|v| v.to_str()), other) {
        (Some(_), Some(other)) => Some(Box::new(Problem::content_type_twice(
            &content_type.map(shown).unwrap_or_default(),
            &shown(other),
        ))),
        (Some(Ok(ct)), None) if is_json(ct) => {
            foreign_charset(ct).map(|charset| Box::new(Problem::not_utf8(ct, charset)))
        }
        (shown, _) => Some(Box::new(Problem::unsupported_media_type(
            shown.map(|v| v.unwrap_or("(not text)")),
        ))),
    };
    let limit = state.body_limit();
    let body = req.into_body();
    async move {
        if let Some(refused) = refused {
            return Err(*refused);
        }
        let unread = |e: BoxError| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                Problem::too_large(limit)
            } else {
                Problem::body_framing()
            }
        };
        let mut body = Limited::new(body, limit);
        // The /v1 guard has read the body whole: it comes in one piece, taken as it is.
        let first = match body.frame().await {
            None => return Ok(Bytes::new()),
            Some(frame) => frame.map_err(unread)?.into_data().unwrap_or_default(),
        };
        if body.is_end_stream() {
            return Ok(first);
        }
        let rest = body.collect().await.map_err(unread)?.to_bytes();
        Ok([first, rest].concat().into())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `application/json` or any `application/*+json`, parameters allowed, in any case.
fn is_json(content_type: &str) -> bool {
    // What nearly every caller sends, without taking it apart.
    if content_type == "application/json" {
        return true;
    }
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .as_bytes();
    let (kind, suffix) = (b"application/", b"+json");
    essence.eq_ignore_ascii_case(b"application/json")
        || (essence.len() >= kind.len() + suffix.len()
            && essence[..kind.len()].eq_ignore_ascii_case(kind)
            && essence[essence.len() - suffix.len()..].eq_ignore_ascii_case(suffix))
}

/// The `charset` of a JSON content type when it is not UTF-8 (in any case, quoted or
/// not): JSON is UTF-8 (RFC 8259 §8.1), and a body in GBK or Latin-1 read as UTF-8 would
/// be refused for a character, or worse, read as other characters.
fn foreign_charset(content_type: &str) -> Option<&str> {
    named(content_type.split(';').skip(1))
        .find(|&(name, value)| {
            name.eq_ignore_ascii_case("charset") && !unquoted(value).eq_ignore_ascii_case("utf-8")
        })
        .map(|(_, value)| value)
}

/// The `name=value` parameters among the `;`-separated pieces of a media type or of an
/// `Accept` range, both trimmed (a piece without `=` is skipped).
fn named<'a>(params: impl Iterator<Item = &'a str>) -> impl Iterator<Item = (&'a str, &'a str)> {
    params.filter_map(|param| {
        let (name, value) = param.split_once('=')?;
        Some((name.trim(), value.trim()))
    })
}

/// A parameter's value without the quotes of a quoted string.
fn unquoted(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// The query parameters of the decision endpoints (`POST /v1/decisions`, `…/batch`).
pub const DECISION_PARAMS: &[&str] = &["view", "lang", "pretty"];
/// The query parameters of `GET /v1/rules`.
pub const RULES_PARAMS: &[&str] = &["lang", "pretty"];
/// The query parameters of `GET /v1/zones/resolve`.
pub const RESOLVE_PARAMS: &[&str] = &[
    "adcode", "province", "city", "district", "address", "at", "lang", "pretty",
];
/// Names a caller plausibly uses for a parameter of another name, which [`nearest`]
/// would not find: `as_of` is what a decision's body calls the instant `at` names.
///
/// [`nearest`]: crate::request::nearest
const ALSO_CALLED: &[(&str, &str)] = &[("as_of", "at"), ("asof", "at"), ("time", "at")];

/// The most parameters a refusal of a query lists.
const MAX_QUERY_ERRORS: usize = 16;

/// Refuses a query that names a parameter the endpoint does not take (`takes`), or
/// gives one of its parameters twice with different values: a 400 (`bad-query`) with
/// each such parameter's pointer (`/veiw`), the parameter it was probably meant to be,
/// and the ones the endpoint takes. A misspelt parameter is never silently ignored (a
/// `?veiw=compact` answered in full, an `?as_of=` answered for now). The same value
/// twice is that value. No query: nothing is read; a query taken allocates nothing (but
/// a parameter percent-encoded).
pub fn check_query<'q>(
    query: Option<&'q str>,
    takes: &'static [&'static str],
) -> Result<Query<'q>, Problem> {
    let Some(query) = query else {
        return Ok(Query::none());
    };
    // The first value of each parameter taken, in `takes`' order.
    let mut first: smallvec::SmallVec<[Option<std::borrow::Cow<'_, str>>; 8]> =
        smallvec::smallvec![None; takes.len()];
    let mut errors: Vec<crate::request::FieldError> = Vec::new();
    // The parameters refused, each once (their pointers are built for the answer only).
    let mut refused: Vec<std::borrow::Cow<'_, str>> = Vec::new();
    let pointer = |key: &str| {
        let mut p = String::new();
        crate::request::json::push_key(&mut p, key);
        p
    };
    let mut more = false;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        // Enough to fix a query by; a query of thousands of names is not read through.
        if refused.len() == MAX_QUERY_ERRORS {
            more = true;
            break;
        }
        if refused.contains(&key) {
            continue;
        }
        let Some(i) = takes.iter().position(|t| *t == key) else {
            let meant = ALSO_CALLED
                .iter()
                .find(|(alias, to)| key.eq_ignore_ascii_case(alias) && takes.contains(to))
                .map(|(_, to)| *to)
                .or_else(|| crate::request::nearest(&key, takes));
            let message = match meant {
                Some(m) => format!(
                    "is not a parameter of this endpoint; did you mean `{m}`? It takes {}",
                    listed(takes)
                ),
                None => format!(
                    "is not a parameter of this endpoint, which takes {}",
                    listed(takes)
                ),
            };
            errors.push(crate::request::FieldError {
                pointer: pointer(&key),
                message,
            });
            refused.push(key);
            continue;
        };
        match &first[i] {
            None => first[i] = Some(value),
            Some(v) if *v == value => {}
            Some(v) => {
                errors.push(crate::request::FieldError {
                    pointer: pointer(&key),
                    message: format!(
                        "is given twice with different values (`{v}`, `{value}`): give it once"
                    ),
                });
                refused.push(key);
            }
        }
    }
    if let Some(first) = refused.first() {
        return Err(Problem::bad_query_params(errors, first, more));
    }
    let query = Query { takes, first };
    // `pretty` takes its documented values only: a misspelling is not read as yes.
    if let Some(v) = query.get("pretty")
        && !PRETTY_VALUES.contains(&v)
    {
        return Err(Problem::invalid(vec![crate::request::FieldError {
            pointer: "/pretty".into(),
            message: format!(
                "`{v}` is not a value of `pretty`: `?pretty`, `true` or `1` indent the JSON, `false` or `0` do not"
            ),
        }]));
    }
    Ok(query)
}

/// A query [`check_query`] let through: the value of each parameter the endpoint takes
/// (given once, or twice the same), read once for every later use of the query.
#[derive(Debug, Default)]
pub struct Query<'q> {
    takes: &'static [&'static str],
    first: smallvec::SmallVec<[Option<std::borrow::Cow<'q, str>>; 8]>,
}

impl<'q> Query<'q> {
    /// No query at all.
    pub fn none() -> Query<'q> {
        Query::default()
    }

    /// The value of the parameter `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.takes.iter().position(|t| *t == name)?;
        self.first.get(i)?.as_deref()
    }

    /// `?pretty` (its values checked by [`check_query`]): indented but for `false`, `0`.
    pub fn pretty(&self) -> bool {
        self.get("pretty").is_some_and(|v| !PRETTY_OFF.contains(&v))
    }
}

/// The values `?pretty` takes: nothing (`?pretty`, `?pretty=`), `true` or `1` (indented),
/// or one of [`PRETTY_OFF`].
pub(crate) const PRETTY_VALUES: &[&str] = &["", "true", "1", "false", "0"];
/// The values of `?pretty` that do not indent.
const PRETTY_OFF: &[&str] = &["false", "0"];

/// `a`, `b` and `c`, each in backticks.
fn listed(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => "no parameters".to_owned(),
    }
}

/// The query parameters every JSON endpoint takes (for the OpenAPI description; they
/// are checked by [`check_query`]: an unknown `lang` or `pretty` value is a 422, and read
/// by [`negotiate`]).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutputParams {
    /// Language of the texts (zh-CN or en); overrides Accept-Language.
    pub lang: Option<String>,
    /// `?pretty` (or `=true`, `=1`): indented JSON; `false` or `0`: not. Any other value
    /// is a 422.
    pub pretty: Option<String>,
}

/// `?view=`, which the decision endpoints take besides [`OutputParams`].
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViewParams {
    /// `compact`: ids, codes, times and flags without the rendered texts (names,
    /// `actions[].text`, `explanation[].detail`, `warnings[].message`), for backends that
    /// keep their own words; `full` (the default): everything. Anything else is a 422,
    /// two different views at once a 400. The compact view is JSON only: asked with an
    /// `Accept` that admits `text/plain` but not JSON, it is a 406.
    pub view: Option<String>,
}

/// The view `?view=` asks for (`query`'s value, given once: see [`check_query`]): 422
/// pointing at `/view` for anything but `full` or `compact`, never a silent default.
pub fn requested_view(query: &Query<'_>) -> Result<View, Problem> {
    match query.get("view") {
        None | Some("full") => Ok(View::Full),
        Some("compact") => Ok(View::Compact),
        Some(other) => Err(Problem::invalid(vec![crate::request::FieldError {
            pointer: "/view".into(),
            message: format!("`{other}` is not a view: use `full` or `compact`"),
        }])),
    }
}

/// How to answer: language of the texts, and JSON (pretty or not) or plain text.
#[derive(Debug, Clone, Copy)]
pub struct Negotiated {
    pub lang: Lang,
    /// Plain text preferred to JSON (`Accept`).
    pub text: bool,
    pub pretty: bool,
    /// Whether `Accept` admits `application/json` (no `Accept`, `*/*`, `application/*`
    /// do) and `text/plain`: an endpoint answering neither of those it can is a 406.
    pub json_ok: bool,
    pub text_ok: bool,
}

impl Default for Negotiated {
    fn default() -> Negotiated {
        Negotiated {
            lang: Lang::default(),
            text: false,
            pretty: false,
            json_ok: true,
            text_ok: true,
        }
    }
}

impl Negotiated {
    /// A 406 listing the types an endpoint answers, when `Accept` admits none of them
    /// (`text`: whether the endpoint answers `text/plain` besides JSON).
    pub fn unacceptable(&self, text: bool) -> Option<Problem> {
        match (self.json_ok, self.text_ok && text) {
            (false, false) => Some(Problem::not_acceptable(if text {
                &["application/json", "text/plain"]
            } else {
                &["application/json"]
            })),
            _ => None,
        }
    }
}

/// Reads `?lang=`, `?pretty`, `Accept-Language` and `Accept`.
pub fn negotiate(headers: &HeaderMap, query: &Query<'_>, rules: &Rules) -> Negotiated {
    let pretty = query.pretty();
    let lang = query
        .get("lang")
        .and_then(|l| rules.language(l))
        .or_else(|| {
            ranked(elements(headers, header::ACCEPT_LANGUAGE)).find_map(|tag| {
                if tag == "*" {
                    Some(Lang(0))
                } else {
                    rules.language(tag)
                }
            })
        })
        .unwrap_or_default();
    // An absent header (or lines not text, or empty) admits everything.
    let Some([json, text]) = qualities(
        elements(headers, header::ACCEPT),
        [("application", "json"), ("text", "plain")],
    ) else {
        return Negotiated {
            lang,
            pretty,
            ..Negotiated::default()
        };
    };
    Negotiated {
        lang,
        // Ties go to the range named first, then to JSON.
        text: text.0 > 0.0 && (text.0 > json.0 || (text.0 == json.0 && text.1 < json.1)),
        pretty,
        json_ok: json.0 > 0.0,
        text_ok: text.0 > 0.0,
    }
}

/// The elements of a list header (`Accept`, `Accept-Language`) over all its lines, in
/// order: lines of a list field combine into one list (RFC 9110 §5.3), so `Accept:
/// text/html` and `Accept: text/plain` on two lines are `text/html, text/plain`. A line
/// that is not text is skipped.
fn elements(headers: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
}

/// The weight (`q`) among an element's parameters (RFC 9110 §12.4.2: the name in any
/// case; `0` to `1` with at most three decimals), 1 without one; None when it is not
/// such a number (`q=NaN`, `q=2`, `q=.5`): the element is then ignored, as if absent,
/// whatever its place (a weight that cannot be read is neither taken as 1, which could
/// answer in a type meant to be excluded, nor as 0).
fn weight<'a>(params: impl Iterator<Item = &'a str>) -> Option<f32> {
    let mut q = 1.0;
    for (name, value) in named(params) {
        if name.eq_ignore_ascii_case("q") {
            q = qvalue(value)?;
        }
    }
    Some(q)
}

/// `0`, `0.5`, `0.125`, `1`, `1.000`: a qvalue (RFC 9110 §12.4.2), or None.
fn qvalue(value: &str) -> Option<f32> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match int {
        "0" => Some(
            frac.bytes()
                .rev()
                .fold(0.0, |q, d| (q + f32::from(d - b'0')) / 10.0),
        ),
        "1" if frac.bytes().all(|b| b == b'0') => Some(1.0),
        _ => None,
    }
}

/// The quality an `Accept` header gives each `kind/sub` of `types` (RFC 9110 §12.5.1: the
/// most specific range matching it decides, `q=0` excluding it; none: 0), and the place
/// of that range in the header, in one pass over it; None when the header has no range
/// at all (absent or empty: it admits everything). A range with a weight that cannot be
/// read is ignored, and so is one whose `charset` is not UTF-8 (`text/plain;charset=gbk`):
/// every answer is UTF-8. A range naming `charset=utf-8` is more specific than the same
/// range without it.
fn qualities<'a, const N: usize>(
    header: impl Iterator<Item = &'a str>,
    types: [(&str, &str); N],
) -> Option<[(f32, usize); N]> {
    let mut best: [(u8, f32, usize); N] = [(0, 0.0, usize::MAX); N];
    let mut any = false;
    for (i, part) in header.enumerate() {
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or("").trim();
        any |= !part.trim().is_empty();
        let Some((k, s)) = range.split_once('/') else {
            continue;
        };
        let (k, s) = (k.trim(), s.trim());
        for ((kind, sub), best) in types.iter().zip(best.iter_mut()) {
            let specific = match (k, s) {
                ("*", "*") => 2,
                (k, "*") if k.eq_ignore_ascii_case(kind) => 4,
                (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(sub) => 6,
                _ => continue,
            };
            let Some(charset) = charset(pieces.clone()) else {
                continue;
            };
            let specific = specific + u8::from(charset);
            if specific > best.0 {
                let Some(q) = weight(pieces.clone()) else {
                    continue;
                };
                *best = (specific, q, i);
            }
        }
    }
    any.then(|| best.map(|(_, q, at)| (q, at)))
}

/// Whether a range's parameters name a charset: Some(true) for `utf-8` (in any case,
/// quoted or not), Some(false) for none, None for another (the range does not match).
fn charset<'a>(params: impl Iterator<Item = &'a str>) -> Option<bool> {
    let mut utf8 = false;
    for (name, value) in named(params) {
        if !name.eq_ignore_ascii_case("charset") {
            continue;
        }
        if !unquoted(value).eq_ignore_ascii_case("utf-8") {
            return None;
        }
        utf8 = true;
    }
    Some(utf8)
}

/// The entries of an `Accept`-style header, best first (by `q`, then by order); those
/// with `q=0` or a weight that cannot be read left out.
fn ranked<'a>(header: impl Iterator<Item = &'a str>) -> impl Iterator<Item = &'a str> {
    let mut entries: Vec<(&str, f32, usize)> = header
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let value = pieces.next()?.trim();
            let q = weight(pieces)?;
            (!value.is_empty() && q > 0.0).then_some((value, q, i))
        })
        .collect();
    entries.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    entries.into_iter().map(|(v, _, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_are_ranked_by_quality_then_order() {
        let ranked = |h: &'static str| ranked(h.split(',')).collect::<Vec<_>>();
        assert_eq!(ranked("en;q=0.5, zh-CN, fr;q=0.9"), ["zh-CN", "fr", "en"]);
        assert_eq!(
            ranked("text/plain;q=0, application/json"),
            ["application/json"]
        );
        assert!(ranked("").is_empty());
        // The weight's name in any case; one that cannot be read: the entry is ignored.
        assert_eq!(ranked("en;Q=0, zh-CN;q=0.5"), ["zh-CN"]);
        assert_eq!(ranked("fr;q=NaN, en;q=0.5"), ["en"]);
    }

    #[test]
    fn weights_are_qvalues() {
        for (q, read) in [
            ("0", Some(0.0)),
            ("0.", Some(0.0)),
            ("0.5", Some(0.5)),
            ("0.125", Some(0.125)),
            ("0.001", Some(0.001)),
            ("1", Some(1.0)),
            ("1.000", Some(1.0)),
            ("1.001", None),
            ("0.1234", None),
            ("NaN", None),
            ("inf", None),
            ("-0", None),
            ("2", None),
            (".5", None),
            ("", None),
            ("0.5x", None),
        ] {
            let got = qvalue(q);
            assert!(
                got.zip(read).is_some_and(|(g, r)| (g - r).abs() < 1e-6)
                    || (got.is_none() && read.is_none()),
                "{q}: {got:?}"
            );
        }
    }

    fn state(body_limit: usize) -> AppState {
        let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        let config = crate::http::state::StateConfig {
            tokens: None,
            body_limit,
            batch_limit: 10,
            decision_log: None,
        };
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle();
        AppState::new(rules, config, metrics, String::new())
    }

    fn request(body: axum::body::Body) -> Request {
        let mut req = Request::new(body);
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        req
    }

    /// A body in pieces, as a client sending it chunked does.
    fn in_pieces(pieces: &[&'static str]) -> axum::body::Body {
        let pieces: Vec<Result<Bytes, std::io::Error>> = pieces
            .iter()
            .map(|p| Ok(Bytes::from_static(p.as_bytes())))
            .collect();
        axum::body::Body::from_stream(futures_util::stream::iter(pieces))
    }

    #[tokio::test]
    async fn a_body_in_one_piece_is_taken_as_it_is_and_pieces_are_gathered_within_the_limit() {
        let state = state(7);
        let whole = Bytes::from_static(b"{\"a\":1}");
        let read = json_body(request(whole.clone().into()), &state).await;
        assert!(
            read.as_ref().is_ok_and(|b| b.as_ptr() == whole.as_ptr()),
            "{read:?}"
        );
        let read = json_body(request(in_pieces(&["{\"a", "\":", "1}"])), &state).await;
        assert_eq!(read.ok().as_deref(), Some(&b"{\"a\":1}"[..]));
        let read = json_body(request(axum::body::Body::empty()), &state).await;
        assert_eq!(read.ok().as_deref(), Some(&b""[..]));
        for over in [
            &["{\"a\":1} "][..],
            &["{\"a\"", ":1} "],
            &["{\"a\":1}", " "],
        ] {
            let refused = json_body(request(in_pieces(over)), &state).await;
            assert_eq!(refused.err().map(|p| p.status), Some(413), "{over:?}");
        }
    }

    #[test]
    fn accept_and_accept_language_choose_the_format_and_language_in_any_case() {
        let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        let with = |pairs: &[(header::HeaderName, &[u8])]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                let value =
                    header::HeaderValue::from_bytes(value).unwrap_or_else(|e| panic!("{e}"));
                headers.append(name.clone(), value);
            }
            negotiate(&headers, &Query::none(), &rules)
        };
        let none = with(&[]);
        assert!(!none.text && !none.pretty && none.lang == Lang::default());
        let text = with(&[(header::ACCEPT, b"application/json;q=0.5, TEXT/Plain;q=0.9")]);
        assert!(text.text);
        assert!(!with(&[(header::ACCEPT, b"*/*")]).text);
        assert!(!with(&[(header::ACCEPT, b"image/png, Text/*;q=0")]).text);
        // Not text: as if absent.
        assert!(!with(&[(header::ACCEPT, b"text/plain\xff")]).text);
        let admits = |accept: &[u8]| {
            let n = with(&[(header::ACCEPT, accept)]);
            (n.json_ok, n.text_ok, n.text)
        };
        assert_eq!(admits(b"text/plain\xff"), (true, true, false));
        assert_eq!(admits(b" "), (true, true, false));
        assert_eq!(admits(b"*/*"), (true, true, false));
        assert_eq!(admits(b"application/xml"), (false, false, false));
        assert_eq!(admits(b"application/problem+json"), (false, false, false));
        assert_eq!(admits(b"image/png, Text/*;q=0"), (false, false, false));
        assert_eq!(admits(b"text/*"), (false, true, true));
        assert_eq!(admits(b"APPLICATION/*"), (true, false, false));
        // The most specific range decides: JSON excluded, `*/*` gives text.
        assert_eq!(admits(b"application/json;q=0, */*"), (false, true, true));
        assert_eq!(admits(b"text/plain;q=0, */*"), (true, false, false));
        // Equal qualities: the range named first, then JSON.
        assert_eq!(admits(b"text/plain, application/json"), (true, true, true));
        assert_eq!(admits(b"application/json, text/plain"), (true, true, false));
        assert_eq!(admits(b"text/html,*/*;q=0.8"), (true, true, false));
        // `q` in any case; a weight that cannot be read: the range is ignored.
        assert_eq!(admits(b"application/json;Q=0, */*"), (false, true, true));
        assert_eq!(admits(b"application/json;q=NaN"), (false, false, false));
        assert_eq!(
            admits(b"text/plain;q=0.5, application/json;q=NaN"),
            (false, true, true)
        );
        assert_eq!(
            admits(b"application/json;q=2, */*;q=0.1"),
            (true, true, false)
        );
        // A charset other than UTF-8 does not match; `utf-8` is more specific.
        assert_eq!(admits(b"text/plain;charset=gbk"), (false, false, false));
        assert_eq!(
            admits(b"text/plain;charset=\"UTF-8\", application/json"),
            (true, true, true)
        );
        assert_eq!(
            admits(b"text/plain;q=0, text/plain;charset=utf-8"),
            (false, true, true)
        );
        // Lines of a list header combine, in order.
        let lines = |values: &[&[u8]]| {
            let pairs: Vec<_> = values.iter().map(|v| (header::ACCEPT, *v)).collect();
            let n = with(&pairs);
            (n.json_ok, n.text_ok, n.text)
        };
        assert_eq!(lines(&[b"text/html", b"text/plain"]), (false, true, true));
        assert_eq!(lines(&[b"text/plain;q=0", b"*/*"]), (true, false, false));
        assert_eq!(
            lines(&[b"text/plain", b"application/json"]),
            (true, true, true)
        );
        assert_eq!(lines(&[b"", b" "]), (true, true, false));
        assert_eq!(
            lines(&[b"text/plain\xff", b"text/plain"]),
            (false, true, true)
        );
        let json_only = |accept: &[u8]| with(&[(header::ACCEPT, accept)]).unacceptable(false);
        assert_eq!(json_only(b"text/plain").map(|p| p.status), Some(406));
        assert!(json_only(b"text/plain, application/json;q=0.1").is_none());
        let en = rules.language("en");
        assert!(en.is_some());
        assert_eq!(
            Some(with(&[(header::ACCEPT_LANGUAGE, b"fr, EN;q=0.8")]).lang),
            en
        );
        assert_eq!(
            with(&[(header::ACCEPT_LANGUAGE, b"fr")]).lang,
            Lang::default()
        );
    }

    #[test]
    fn a_query_is_checked_against_the_parameters_taken() {
        let takes = DECISION_PARAMS;
        for fine in [
            None,
            Some(""),
            Some("&&"),
            Some("view=compact&pretty&lang=en"),
        ] {
            assert!(check_query(fine, takes).is_ok(), "{fine:?}");
        }
        assert!(check_query(Some("view=full&view=full"), takes).is_ok());
        let refused = |q: &str| {
            check_query(Some(q), takes)
                .err()
                .map(|p| (p.status, p.errors))
        };
        let Some((400, errors)) = refused("veiw=compact&x&veiw=full&view=full&view=compact") else {
            panic!("not refused");
        };
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/veiw", "/x", "/view"]);
        assert!(
            errors[0].message.contains("did you mean `view`?"),
            "{errors:?}"
        );
        assert!(
            errors[1]
                .message
                .contains(", which takes `view`, `lang` and `pretty`")
        );
        // Keys are read percent-decoded, and pointed at as JSON pointers.
        let errors = refused("%76iew=full&a%2Fb~")
            .map(|(_, e)| e)
            .unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "/a~1b~0");
        // Thousands of names: the first 16 refused.
        let many: Vec<String> = (0..5000).map(|i| format!("p{i}=1")).collect();
        let errors = refused(&many.join("&")).map(|(_, e)| e).unwrap_or_default();
        assert_eq!(errors.len(), 16);
        assert_eq!(errors[15].pointer, "/p15");
    }

    #[test]
    fn a_json_body_is_utf_8_whatever_its_charset_says_in_whatever_case() {
        for utf8 in [
            "application/json",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
            "application/json; Charset=\"utf-8\"",
            "application/problem+json; q=1",
        ] {
            assert_eq!(foreign_charset(utf8), None, "{utf8}");
        }
        assert_eq!(
            foreign_charset("application/json; charset=gbk"),
            Some("gbk")
        );
        assert_eq!(
            foreign_charset("application/json; charset=\"latin1\""),
            Some("\"latin1\"")
        );
        assert_eq!(foreign_charset("application/json; charset="), Some(""));
        assert_eq!(
            foreign_charset("application/json;charset=utf8"),
            Some("utf8")
        );
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(is_json(" APPLICATION/VND.API+JSON ;q=1"));
        assert!(!is_json("application/json5"));
        assert!(!is_json("text/x+json"));
        assert!(!is_json("application+json"));
    }
}
