//! How a request's body is framed, checked before anything else reads the request
//! (request smuggling, RFC 9112 §6.1 and §6.3).
//!
//! hyper already refuses, with a bare 400 and the connection closed, before the service
//! sees them: two different `Content-Length`s (or a list, `2, 2`), a `Content-Length`
//! that is not digits, a `Transfer-Encoding` whose last coding is not `chunked`, and any
//! `Transfer-Encoding` on HTTP/1.0. A request with both `Content-Length` and
//! `Transfer-Encoding: chunked` it reads as chunked, drops the `Content-Length`, and
//! closes the connection after answering (the MUST of §6.3): nothing sent after it is
//! read as a request.
//!
//! What hyper lets through and this checks: a `Transfer-Encoding` that is more than one
//! `chunked`. hyper decodes the chunks and hands on the rest as it is, so `gzip, chunked`
//! would reach the JSON reader still compressed (and a body that happens to read as
//! JSON would be decided on, a silent guess), and `chunked, chunked` (chunked applied
//! twice, which no sender may do) would be read as one layer. Such a request is refused
//! before its body is read, and its connection closed, since where its body ends is in
//! doubt: 501 for a coding this service does not implement (as §6.1 asks), 400 for
//! `chunked` given more than once.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::problem::Problem;

/// The answer to a request whose framing is refused, or None: the front layer
/// ([`super::middleware`]) asks first, before any layer or handler reads the body, so the
/// refusal carries its `x-request-id` and is counted and logged once, like every answer,
/// and its connection is closed (`Connection: close`), since where its body ends is in
/// doubt.
///
/// Then a body sent with a content coding (`Content-Encoding: gzip`, `br`, ...), which
/// this service does not decode: 415 (RFC 9110 §15.5.16), with `Accept-Encoding:
/// identity`, rather than compressed bytes read as JSON (a 400 that names no cause).
/// Its framing is not in doubt, so its connection is not closed for it.
pub fn refused(headers: &HeaderMap) -> Option<Response> {
    if let Some(problem) = refusal(headers) {
        // The one `served` line says the status; this says why, at debug.
        tracing::debug!(detail = %problem.detail, "request framing refused");
        let mut r = problem.into_response();
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Some(r);
    }
    let problem = content_coding_refusal(headers)?;
    tracing::debug!(detail = %problem.detail, "request content coding refused");
    let mut r = problem.into_response();
    r.headers_mut().insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    Some(r)
}

/// Why a request with a body and these headers is refused for its `Content-Encoding`, if
/// it is: any coding but `identity` (the body is never decoded here). A request without a
/// body (no `Transfer-Encoding`, no `Content-Length` or one of 0) has nothing to decode
/// and passes.
pub fn content_coding_refusal(headers: &HeaderMap) -> Option<Problem> {
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get_all(header::CONTENT_LENGTH)
            .iter()
            .any(|v| v.as_bytes() != b"0");
    if !has_body {
        return None;
    }
    let mut codings = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let Ok(value) = value.to_str() else {
            return Some(coding_problem(
                "The Content-Encoding header is not readable text; this service reads bodies without a content coding: send the JSON as it is, without Content-Encoding.".to_owned(),
            ));
        };
        codings.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
                .map(str::to_owned),
        );
    }
    if codings.is_empty() {
        return None;
    }
    Some(coding_problem(format!(
        "Content-Encoding `{}` is not decoded by this service: send the JSON body as it is, without Content-Encoding (or with `identity`).",
        codings.join(", ")
    )))
}

/// 415 for a content coding: the unsupported-media-type problem (RFC 9110 §15.5.16 gives
/// a content coding the same status), its detail naming the coding.
fn coding_problem(detail: String) -> Problem {
    let mut problem = Problem::unsupported_media_type(None);
    problem.detail = detail;
    problem
}

/// Why a request with these headers is refused, if it is.
pub fn refusal(headers: &HeaderMap) -> Option<Problem> {
    let mut codings = Vec::new();
    for value in headers.get_all(header::TRANSFER_ENCODING) {
        let Ok(value) = value.to_str() else {
            return Some(Problem::transfer_coding(
                StatusCode::BAD_REQUEST,
                "The Transfer-Encoding header is not readable text.".to_owned(),
            ));
        };
        codings.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_ascii_lowercase),
        );
    }
    let foreign: Vec<&str> = codings
        .iter()
        .map(String::as_str)
        .filter(|c| *c != "chunked")
        .collect();
    if !foreign.is_empty() {
        return Some(Problem::transfer_coding(
            StatusCode::NOT_IMPLEMENTED,
            format!(
                "Transfer-Encoding `{}` is not implemented: send the body as it is, with Content-Length or Transfer-Encoding: chunked alone.",
                foreign.join(", ")
            ),
        ));
    }
    if codings.len() > 1 {
        return Some(Problem::transfer_coding(
            StatusCode::BAD_REQUEST,
            "Transfer-Encoding names `chunked` more than once: a body is chunked once.".to_owned(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::refusal;
    use axum::http::{HeaderMap, HeaderValue, header};

    fn with(values: &[&str]) -> Option<u16> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                header::TRANSFER_ENCODING,
                HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        refusal(&h).map(|p| p.status)
    }

    fn coded(encoding: &[&str], length: &str) -> Option<u16> {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from_str(length).unwrap_or_else(|e| panic!("{e}")),
        );
        for v in encoding {
            h.append(
                header::CONTENT_ENCODING,
                HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        super::content_coding_refusal(&h).map(|p| p.status)
    }

    #[test]
    fn only_identity_passes_as_a_bodys_content_coding() {
        assert_eq!(coded(&[], "2"), None);
        assert_eq!(coded(&["identity"], "2"), None);
        assert_eq!(coded(&["Identity, "], "2"), None);
        assert_eq!(coded(&["gzip"], "2"), Some(415));
        assert_eq!(coded(&["br"], "2"), Some(415));
        assert_eq!(coded(&["identity", "deflate"], "2"), Some(415));
        assert_eq!(coded(&["x-anything"], "2"), Some(415));
        // No body, nothing to decode.
        assert_eq!(coded(&["gzip"], "0"), None);
    }

    #[test]
    fn only_one_chunked_coding_passes() {
        assert_eq!(with(&[]), None);
        assert_eq!(with(&["chunked"]), None);
        assert_eq!(with(&["Chunked "]), None);
        assert_eq!(with(&["gzip, chunked"]), Some(501));
        assert_eq!(with(&["x-custom, chunked"]), Some(501));
        assert_eq!(with(&["gzip", "chunked"]), Some(501));
        assert_eq!(with(&["chunked, chunked"]), Some(400));
        assert_eq!(with(&["chunked", "chunked"]), Some(400));
    }
}
