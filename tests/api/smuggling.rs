//! Request smuggling (RFC 9112 §6.3): a request whose length can be read two ways is
//! refused or ends its connection, so nothing after it on the connection is read as a
//! request of its own.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::helpers::*;

/// Sends `head` (a request's head, without its blank line), `body` and then, on the
/// same connection, a second request; returns all the server sent until it closed.
fn send_then_another(addr: SocketAddr, head: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    // It asks to close, so that every exchange ends with the server closing.
    let next = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let all = format!("{head}\r\n\r\n{body}{next}");
    s.write_all(all.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

async fn exchange(addr: SocketAddr, head: &str, body: &str) -> String {
    let (head, body) = (head.to_owned(), body.to_owned());
    tokio::task::spawn_blocking(move || send_then_another(addr, &head, &body))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

const POST: &str = "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json";

/// The answers' status lines, in order.
fn statuses(got: &str) -> Vec<&str> {
    got.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| got[i..].split("\r\n").next())
        .collect()
}

/// The answer's head lines, lowercased, for header checks.
fn has_header(got: &str, line: &str) -> bool {
    got.split("\r\n").any(|l| l.eq_ignore_ascii_case(line))
}

#[tokio::test]
async fn content_length_with_chunked_is_answered_once_and_the_connection_closed() {
    let app = spawn_app().await;
    // The length says 4 bytes (`0\r\n\r`), the chunks say the body is empty: read either
    // way, what follows must never be answered as a request of its own. hyper reads it as
    // chunked, drops the Content-Length and closes after answering (RFC 9112 §6.3).
    for head in [
        format!("{POST}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked"),
        format!("{POST}\r\nTransfer-Encoding: chunked\r\nContent-Length: 4"),
    ] {
        let got = exchange(app.addr, &head, "0\r\n\r\n").await;
        assert_eq!(
            statuses(&got),
            ["HTTP/1.1 400 Bad Request"],
            "{head}\n{got}"
        );
        assert!(has_header(&got, "connection: close"), "{got}");
        assert!(
            got.contains("malformed-json"),
            "the empty chunked body: {got}"
        );
    }
}

#[tokio::test]
async fn a_transfer_coding_besides_chunked_is_refused_unread_and_the_connection_closed() {
    let app = spawn_app().await;
    // hyper decodes the chunks and passes `gzip` on: `{}` would be read as JSON.
    for (te, status, detail) in [
        (
            "Transfer-Encoding: gzip, chunked",
            "HTTP/1.1 501 Not Implemented",
            "Transfer-Encoding `gzip` is not implemented",
        ),
        (
            "Transfer-Encoding: x-custom\r\nTransfer-Encoding: chunked",
            "HTTP/1.1 501 Not Implemented",
            "Transfer-Encoding `x-custom` is not implemented",
        ),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
            "HTTP/1.1 400 Bad Request",
            "names `chunked` more than once",
        ),
        (
            "Transfer-Encoding: chunked, chunked",
            "HTTP/1.1 400 Bad Request",
            "names `chunked` more than once",
        ),
    ] {
        let head = format!("{POST}\r\n{te}");
        let got = exchange(app.addr, &head, "2\r\n{}\r\n0\r\n\r\n").await;
        assert_eq!(statuses(&got), [status], "{te}\n{got}");
        assert!(has_header(&got, "connection: close"), "{got}");
        assert!(
            has_header(&got, "content-type: application/problem+json"),
            "{got}"
        );
        assert!(
            got.contains("urn:aftersales:problem:transfer-coding"),
            "{got}"
        );
        assert!(got.contains(detail), "{got}");
    }
    // Chunked alone is read as ever, and the connection kept.
    let head = format!("{POST}\r\nTransfer-Encoding: chunked");
    let got = exchange(app.addr, &head, "2\r\n{}\r\n0\r\n\r\n").await;
    assert_eq!(
        statuses(&got),
        ["HTTP/1.1 422 Unprocessable Entity", "HTTP/1.1 200 OK"],
        "{got}"
    );
}

/// A refused framing is still a request the service answered: it passes the front layer
/// like any other, so it carries its `x-request-id` (the caller's, echoed) and is counted
/// and logged once, and the connection is still closed.
#[tokio::test]
async fn a_refused_framing_is_answered_with_its_request_id_through_the_front_layer() {
    let app = spawn_app().await;
    for (te, status) in [
        (
            "Transfer-Encoding: gzip, chunked",
            "HTTP/1.1 501 Not Implemented",
        ),
        (
            "Transfer-Encoding: chunked, chunked",
            "HTTP/1.1 400 Bad Request",
        ),
    ] {
        let head = format!("{POST}\r\nX-Request-Id: framing-probe-1\r\n{te}");
        let got = exchange(app.addr, &head, "2\r\n{}\r\n0\r\n\r\n").await;
        assert_eq!(statuses(&got), [status], "{te}\n{got}");
        assert!(
            has_header(&got, "x-request-id: framing-probe-1"),
            "{te}\n{got}"
        );
        assert!(has_header(&got, "connection: close"), "{te}\n{got}");
        // On a path no route matches, too (the fallback is behind the same check).
        let head =
            format!("POST /nowhere HTTP/1.1\r\nHost: x\r\nX-Request-Id: framing-probe-2\r\n{te}");
        let got = exchange(app.addr, &head, "2\r\n{}\r\n0\r\n\r\n").await;
        assert_eq!(statuses(&got), [status], "{te}\n{got}");
        assert!(
            has_header(&got, "x-request-id: framing-probe-2"),
            "{te}\n{got}"
        );
        assert!(has_header(&got, "connection: close"), "{te}\n{got}");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap_or_default();
    assert!(
        metrics.lines().any(
            |l| l.starts_with("aftersales_http_requests_total") && l.contains("status=\"501\"")
        ),
        "the refusal is not counted:\n{metrics}"
    );
}

/// What hyper refuses itself, before the service sees the request: a bare 400 (no
/// problem+json: the service never runs), and the connection closed.
#[tokio::test]
async fn hyper_refuses_conflicting_lengths_and_unchunked_codings_itself() {
    let app = spawn_app().await;
    for (framing, body) in [
        ("Content-Length: 2\r\nContent-Length: 3", "{}"),
        ("Content-Length: 2, 3", "{}"),
        ("Content-Length: 2, 2", "{}"),
        ("Content-Length: +2", "{}"),
        ("Transfer-Encoding: gzip", "{}"),
        ("Transfer-Encoding: identity", "{}"),
        ("Transfer-Encoding: chunked, gzip", "2\r\n{}\r\n0\r\n\r\n"),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip",
            "2\r\n{}\r\n0\r\n\r\n",
        ),
    ] {
        let head = format!("{POST}\r\n{framing}");
        let got = exchange(app.addr, &head, body).await;
        assert_eq!(
            statuses(&got),
            ["HTTP/1.1 400 Bad Request"],
            "{framing}\n{got}"
        );
        assert!(has_header(&got, "connection: close"), "{framing}\n{got}");
    }
    // HTTP/1.0 has no chunked coding.
    let head = "POST /v1/decisions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked";
    let got = exchange(app.addr, head, "2\r\n{}\r\n0\r\n\r\n").await;
    assert_eq!(statuses(&got), ["HTTP/1.1 400 Bad Request"], "{got}");
    // The same length twice is one length (RFC 9112 §6.3 allows it): read, and kept open.
    let head = format!("{POST}\r\nContent-Length: 2\r\nContent-Length: 2");
    let got = exchange(app.addr, &head, "{}").await;
    assert_eq!(
        statuses(&got),
        ["HTTP/1.1 422 Unprocessable Entity", "HTTP/1.1 200 OK"],
        "{got}"
    );
}

/// A body sent with a content coding (`gzip`, `br`, ...) is not decoded here: 415 naming
/// the coding (RFC 9110 §15.5.16), with `Accept-Encoding: identity`, on every route that
/// reads a body, where the compressed bytes were read as JSON (400 malformed JSON, or a
/// decision on whatever they happened to parse as). `identity` is no coding: decided.
#[tokio::test]
async fn a_body_with_a_content_coding_is_refused_415_naming_it() {
    let app = spawn_app().await;
    let case = example("03-stalled-shangcheng.json")["request"].clone();
    let batch = serde_json::json!({"items": [case.clone()]});
    // A gzip member's first bytes: refused before anything reads them.
    let gzip = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\xae\x05\x00".to_vec();
    let json = serde_json::to_vec(&case).unwrap_or_default();
    for (path, coding, bytes) in [
        ("/v1/decisions", "gzip", gzip.clone()),
        ("/v1/decisions", "br", json.clone()),
        ("/v1/decisions", "deflate", json.clone()),
        ("/v1/decisions", "identity, gzip", json.clone()),
        (
            "/v1/decisions/batch",
            "gzip",
            serde_json::to_vec(&batch).unwrap_or_default(),
        ),
    ] {
        let r = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .body(bytes)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 415, "{path} {coding}");
        assert_eq!(
            r.headers()
                .get("accept-encoding")
                .and_then(|v| v.to_str().ok()),
            Some("identity")
        );
        assert_eq!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let v = body(r).await;
        assert_eq!(v["type"], "urn:aftersales:problem:unsupported-media-type");
        let named = coding.trim_start_matches("identity, ");
        assert!(
            v["detail"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("Content-Encoding `{named}`"))),
            "{v}"
        );
    }
    for coding in ["identity", "Identity"] {
        let r = app
            .client
            .post(app.url("/v1/decisions"))
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .body(json.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "{coding}");
    }
    // Over a raw connection, chunked: refused as well.
    let head = format!(
        "{POST}\r\nContent-Encoding: br\r\nTransfer-Encoding: chunked\r\nConnection: close"
    );
    let got = exchange(app.addr, &head, "2\r\n{}\r\n0\r\n\r\n").await;
    assert_eq!(
        statuses(&got)[0],
        "HTTP/1.1 415 Unsupported Media Type",
        "{got}"
    );
}

/// The value of the counter `series` (a whole line's name and labels) in `/metrics`, 0
/// when absent.
async fn counter(app: &TestApp, series: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Heads hyper's parser refuses are answered by hyper itself, before any layer of the
/// service: the status only, an empty body (no problem+json: hyper 1.x has no hook for
/// its own answers; README says so), the connection closed. There is no request, so no
/// `served` line: `aftersales_http_parse_errors_total{kind}` counts them.
#[tokio::test]
async fn heads_the_http_parser_refuses_are_bare_and_counted() {
    let app = spawn_app().await;
    let too_large = r#"aftersales_http_parse_errors_total{kind="too_large"}"#;
    let malformed = r#"aftersales_http_parse_errors_total{kind="malformed"}"#;
    let (large_before, malformed_before) = (
        counter(&app, too_large).await,
        counter(&app, malformed).await,
    );
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}",
        "a".repeat(17_000)
    );
    let many: String = (0..120).map(|i| format!("\r\nX-H{i}: 1")).collect();
    let many = format!("GET /healthz HTTP/1.1\r\nHost: x{many}");
    for (head, status) in [
        (big.as_str(), "431 Request Header Fields Too Large"),
        (many.as_str(), "431 Request Header Fields Too Large"),
        (
            &format!("{POST}\r\nContent-Length: -1") as &str,
            "400 Bad Request",
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u{1}b",
            "400 Bad Request",
        ),
        ("GET /healthz HTTP/2.7\r\nHost: x", "400 Bad Request"),
    ] {
        let got = exchange(app.addr, head, "").await;
        let first = got.split("\r\n").next().unwrap_or_default();
        assert_eq!(first, format!("HTTP/1.1 {status}"), "{got}");
        assert!(has_header(&got, "content-length: 0"), "{got}");
        assert!(has_header(&got, "connection: close"), "{got}");
        assert_eq!(statuses(&got).len(), 1, "nothing after it is read: {got}");
    }
    assert!(
        eventually(|| async { counter(&app, too_large).await >= large_before + 2.0 }).await,
        "431s not counted"
    );
    assert!(
        eventually(|| async { counter(&app, malformed).await >= malformed_before + 3.0 }).await,
        "400s not counted"
    );
}

/// A chunked body whose framing cannot be read (a chunk size past 64 bits, a chunk
/// extension of 100 KB, 200 KB of trailers) is a 400 of its own, `body-framing`, not a
/// JSON problem: nothing of it was read as JSON. The same body framed well is decided,
/// and one framed well that is not JSON stays `malformed-json`.
#[tokio::test]
async fn a_chunked_body_whose_framing_cannot_be_read_is_a_framing_problem_not_bad_json() {
    let app = spawn_app().await;
    let head = format!("{POST}\r\nTransfer-Encoding: chunked");
    let json = example("03-stalled-shangcheng.json")["request"].to_string();
    let chunk = format!("{:x}\r\n{json}\r\n", json.len());
    let broken = [
        format!("1ffffffffffffffff\r\n{json}\r\n0\r\n\r\n"),
        format!(
            "{:x};{}\r\n{json}\r\n0\r\n\r\n",
            json.len(),
            "e".repeat(100_000)
        ),
        format!("{chunk}0\r\n{}\r\n", "X-T: aaaaaaaaaa\r\n".repeat(12_000)),
    ];
    for body in &broken {
        let got = exchange(app.addr, &head, body).await;
        let shown = &got[..got.len().min(600)];
        assert_eq!(
            statuses(&got).first().copied(),
            Some("HTTP/1.1 400 Bad Request"),
            "{shown}"
        );
        assert!(
            got.contains("urn:aftersales:problem:body-framing"),
            "{shown}"
        );
        assert!(got.contains("chunked framing is invalid"), "{shown}");
        assert!(!got.contains("malformed-json"), "{shown}");
    }
    let got = exchange(app.addr, &head, &format!("{chunk}0\r\n\r\n")).await;
    assert_eq!(
        statuses(&got).first().copied(),
        Some("HTTP/1.1 200 OK"),
        "{got}"
    );
    let got = exchange(app.addr, &head, "3\r\n{x}\r\n0\r\n\r\n").await;
    assert!(got.contains("malformed-json"), "{got}");
}
