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
    let content_type = req.headers().get(header::CONTENT_TYPE);
    let refused = match content_type.map(|v| v.to_str()) {
        Some(Ok(ct)) if is_json(ct) => {
            foreign_charset(ct).map(|charset| Box::new(Problem::not_utf8(ct, charset)))
        }
        shown => Some(Box::new(Problem::unsupported_media_type(
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
                Problem::malformed_json("the body could not be read")
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
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim();
        let unquoted = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!unquoted.eq_ignore_ascii_case("utf-8")).then_some(value)
    })
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
pub fn check_query(query: Option<&str>, takes: &[&str]) -> Result<(), Problem> {
    let Some(query) = query else {
        return Ok(());
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
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        // Enough to fix a query by; a query of thousands of names is not read through.
        if refused.len() == MAX_QUERY_ERRORS {
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
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::bad_query_params(errors))
    }
}

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
/// are read by [`negotiate`], which never rejects a request over them).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutputParams {
    /// Language of the texts (zh-CN or en); overrides Accept-Language.
    pub lang: Option<String>,
    /// Present (and not `false`): indented JSON.
    pub pretty: Option<String>,
}

/// `?view=`, which the decision endpoints take besides [`OutputParams`].
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViewParams {
    /// `compact`: ids, codes, times and flags without the rendered texts (names,
    /// `actions[].text`, `explanation[].detail`, `warnings[].message`), for backends that
    /// keep their own words; `full` (the default): everything. Anything else is a 422,
    /// two different views at once a 400.
    pub view: Option<String>,
}

/// The view `?view=` asks for: 422 pointing at `/view` for anything but `full` or
/// `compact`, or for two different views asked at once, never a silent default.
pub fn requested_view(query: Option<&str>) -> Result<View, Problem> {
    let mut asked: Option<View> = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if k != "view" {
            continue;
        }
        let view = match v.as_ref() {
            "full" => View::Full,
            "compact" => View::Compact,
            other => {
                return Err(Problem::invalid(vec![crate::request::FieldError {
                    pointer: "/view".into(),
                    message: format!("`{other}` is not a view: use `full` or `compact`"),
                }]));
            }
        };
        if asked.is_some_and(|a| a != view) {
            return Err(Problem::invalid(vec![crate::request::FieldError::new(
                "/view",
                "is given twice with different views: give it once",
            )]));
        }
        asked = Some(view);
    }
    Ok(asked.unwrap_or(View::Full))
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
pub fn negotiate(headers: &HeaderMap, query: Option<&str>, rules: &Rules) -> Negotiated {
    let params: Vec<(String, String)> = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let pretty = param("pretty").is_some_and(|v| !matches!(v, "false" | "0" | "no"));
    let lang = param("lang")
        .and_then(|l| rules.language(l))
        .or_else(|| {
            let header = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
            ranked(header).into_iter().find_map(|tag| {
                if tag == "*" {
                    Some(Lang(0))
                } else {
                    rules.language(tag)
                }
            })
        })
        .unwrap_or_default();
    // An absent header (or one that is not text, or empty) admits everything: not parsed.
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    let (json, text) = match accept {
        None => {
            return Negotiated {
                lang,
                pretty,
                ..Negotiated::default()
            };
        }
        Some(accept) => (
            quality(accept, "application", "json"),
            quality(accept, "text", "plain"),
        ),
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

/// The quality an `Accept` header gives `kind/sub` (RFC 9110 §12.5.1: the most specific
/// range matching it decides, `q=0` excluding it; none: 0), and the place of that range
/// in the header.
fn quality(header: &str, kind: &str, sub: &str) -> (f32, usize) {
    let mut best: (u8, f32, usize) = (0, 0.0, usize::MAX);
    for (i, part) in header.split(',').enumerate() {
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or("").trim();
        let Some((k, s)) = range.split_once('/') else {
            continue;
        };
        let specific = match (k.trim(), s.trim()) {
            ("*", "*") => 1,
            (k, "*") if k.eq_ignore_ascii_case(kind) => 2,
            (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(sub) => 3,
            _ => continue,
        };
        if specific > best.0 {
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            best = (specific, q, i);
        }
    }
    (best.1, best.2)
}

/// The entries of an `Accept`-style header, best first (by `q`, then by order).
fn ranked(header: &str) -> Vec<&str> {
    let mut entries: Vec<(&str, f32, usize)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let value = pieces.next()?.trim();
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!value.is_empty() && q > 0.0).then_some((value, q, i))
        })
        .collect();
    entries.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    entries.into_iter().map(|(v, _, _)| v).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_are_ranked_by_quality_then_order() {
        assert_eq!(ranked("en;q=0.5, zh-CN, fr;q=0.9"), ["zh-CN", "fr", "en"]);
        assert_eq!(
            ranked("text/plain;q=0, application/json"),
            ["application/json"]
        );
        assert!(ranked("").is_empty());
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
            negotiate(&headers, None, &rules)
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
