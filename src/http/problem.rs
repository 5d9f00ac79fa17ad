//! Every error as `application/problem+json` (RFC 9457), with no internals in it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::request::FieldError;

/// The media type of every error.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem: every error of this API, 404 and 405 included, in
/// `application/problem+json`. Nothing internal (paths, panics) is ever in it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:aftersales:problem:` and a slug); stable,
    /// for code.
    #[serde(rename = "type")]
    #[schema(example = "urn:aftersales:problem:invalid-request")]
    pub type_: String,
    /// Short, the same for every problem of this type.
    #[schema(example = "The request is invalid")]
    pub title: String,
    /// The HTTP status.
    #[schema(example = 422)]
    pub status: u16,
    /// What went wrong here, in words a support person understands.
    #[schema(example = "/requested_at is required: when the buyer filed the after-sales request")]
    pub detail: String,
    /// For invalid input: every problem, each with a JSON pointer into the request;
    /// absent otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    retry_after: Option<u64>,
    #[serde(skip)]
    challenge: bool,
}

impl Problem {
    fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            type_: format!("urn:aftersales:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            challenge: false,
        }
    }

    /// 400: the body is not JSON.
    pub fn malformed_json(detail: impl std::fmt::Display) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "The body is not valid JSON",
            format!("The request body is not valid JSON: {detail}."),
        )
    }

    /// 400: the body could not be read for its framing (hyper refused a chunk size, a
    /// chunk extension or trailers, or the body ended before its length): not a JSON
    /// problem, as nothing of it was read as JSON.
    pub fn body_framing() -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "body-framing",
            "The body could not be read",
            "The request body's chunked framing is invalid (a chunk size that is not hex or overflows, a chunk extension or trailers too long), or the body ended before its declared end; nothing was decided.",
        )
    }

    /// 400: a query string naming a parameter the endpoint does not take, or one of its
    /// parameters twice with different values; `errors` points at each (`/veiw`).
    ///
    /// `first` is the first refused parameter's name as sent (its pointer escapes `/` and
    /// `~`); `more`: the query was not read through, so there may be more problems than
    /// those listed.
    pub fn bad_query_params(errors: Vec<FieldError>, first: &str, more: bool) -> Problem {
        let detail = match errors.as_slice() {
            [one] if !more => format!("The query parameter `{first}` {}", one.message),
            many if more => format!(
                "The query string has at least {n} problems; the first {n} are listed in `errors`, each with its parameter's pointer.",
                n = many.len()
            ),
            many => format!(
                "The query string has {} problems; each is listed in `errors` with its parameter's pointer.",
                many.len()
            ),
        };
        Problem {
            errors,
            ..Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-query",
                "The query string is refused",
                detail,
            )
        }
    }

    /// 422: well-formed but invalid; every problem listed.
    pub fn invalid(errors: Vec<FieldError>) -> Problem {
        let detail = match errors.as_slice() {
            [one] => format!(
                "{} {}",
                if one.pointer.is_empty() {
                    "The request"
                } else {
                    &one.pointer
                },
                one.message
            ),
            many => format!(
                "The request has {} problems; each is listed in `errors` with its JSON pointer.",
                many.len()
            ),
        };
        Problem {
            errors,
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-request",
                "The request is invalid",
                detail,
            )
        }
    }

    /// 413.
    pub fn too_large(limit: usize) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "The body is too large",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    }

    /// 408: the body did not arrive in full in time.
    pub fn body_timeout(seconds: u64) -> Problem {
        Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "body-timeout",
            "The body arrived too slowly",
            format!(
                "The request body did not arrive in full within {seconds} s; nothing was decided."
            ),
        )
    }

    /// 400 or 501: a body framed in a way this service does not read (see
    /// [`super::framing`]).
    pub fn transfer_coding(status: StatusCode, detail: String) -> Problem {
        Problem::new(
            status,
            "transfer-coding",
            "The body's transfer coding is refused",
            detail,
        )
    }

    /// 415.
    pub fn unsupported_media_type(got: Option<&str>) -> Problem {
        let detail = match got {
            Some(ct) => format!(
                "Content-Type `{ct}` is not accepted: send `Content-Type: application/json`."
            ),
            None => {
                "The request has no Content-Type: send `Content-Type: application/json`.".to_owned()
            }
        };
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Send JSON",
            detail,
        )
    }

    /// 415: `Content-Type` given twice with different values (a singleton field, RFC 9110
    /// §8.3): which one the body is in is in doubt.
    pub fn content_type_twice(first: &str, second: &str) -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Send JSON",
            format!(
                "Content-Type is given twice with different values (`{first}`, `{second}`): a body has one media type; send `Content-Type: application/json` once."
            ),
        )
    }

    /// 415: a JSON body said to be in another charset than UTF-8.
    pub fn not_utf8(content_type: &str, charset: &str) -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Send JSON",
            format!(
                "Content-Type `{content_type}`: the charset `{charset}` is not accepted: JSON is UTF-8 (RFC 8259); send the body in UTF-8, with `Content-Type: application/json` (or `; charset=utf-8`)."
            ),
        )
    }

    /// 406: the request's `Accept` admits none of the types the endpoint answers in.
    pub fn not_acceptable(produces: &[&str]) -> Problem {
        let listed: Vec<String> = produces.iter().map(|t| format!("`{t}`")).collect();
        Problem::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "No acceptable answer",
            format!(
                "The Accept header admits none of the types this endpoint answers in: {} (errors come as `application/problem+json`); accept one of them, or send no Accept header.",
                listed.join(", ")
            ),
        )
    }

    /// 401, with a `WWW-Authenticate: Bearer` challenge.
    pub fn unauthorized() -> Problem {
        Problem {
            challenge: true,
            ..Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "A valid API token is needed",
                "Send `Authorization: Bearer <token>` with one of the service's API tokens.",
            )
        }
    }

    /// 503 with `Retry-After`.
    pub fn unavailable(
        slug: &str,
        title: &str,
        detail: impl Into<String>,
        retry_after: u64,
    ) -> Problem {
        Problem {
            retry_after: Some(retry_after),
            ..Problem::new(StatusCode::SERVICE_UNAVAILABLE, slug, title, detail)
        }
    }

    /// 500: never says what broke.
    pub fn internal() -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side",
            "The request could not be completed; it has been logged with its request id.",
        )
    }

    /// A problem for an error status produced without a body (by routing or a layer).
    pub fn for_status(status: StatusCode, path: &str) -> Problem {
        match status {
            StatusCode::NOT_FOUND => Problem::new(
                status,
                "not-found",
                "No such endpoint",
                format!("There is no endpoint at `{path}`; GET /openapi.yaml lists them."),
            ),
            StatusCode::METHOD_NOT_ALLOWED => Problem::new(
                status,
                "method-not-allowed",
                "Method not allowed",
                format!(
                    "`{path}` does not take this method; the Allow header lists the ones it takes."
                ),
            ),
            StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
                status,
                "too-large",
                "The body is too large",
                "The request body is larger than the service accepts.",
            ),
            StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::REQUEST_TIMEOUT
            | StatusCode::GATEWAY_TIMEOUT => Problem::unavailable(
                "timeout",
                "The request took too long",
                "The request did not finish in time; try again shortly.",
                1,
            ),
            s if s.is_server_error() => Problem::internal(),
            s => Problem::new(
                s,
                "http",
                s.canonical_reason().unwrap_or("Error"),
                s.canonical_reason().unwrap_or("The request failed."),
            ),
        }
    }
}

impl From<crate::RequestError> for Problem {
    fn from(e: crate::RequestError) -> Problem {
        match e.kind {
            crate::RequestErrorKind::Invalid => Problem::invalid(e.errors),
            crate::RequestErrorKind::Malformed => {
                let detail = match e.errors.as_slice() {
                    [one] if one.pointer.is_empty() => one.message.clone(),
                    [one] => format!("{} {}", one.pointer, one.message),
                    many => format!("{} problems, each listed in `errors`", many.len()),
                };
                let errors = e
                    .errors
                    .into_iter()
                    .filter(|e| !e.pointer.is_empty())
                    .collect();
                Problem {
                    errors,
                    ..Problem::malformed_json(detail)
                }
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"aftersales\""),
            );
        }
        response
    }
}
