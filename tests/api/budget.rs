//! The body budget: bodies held in memory at once are bounded, whatever the number of
//! connections sending them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::helpers::*;

/// Sends the head of a POST announcing `length` bytes and `sent` bytes of it.
fn start_body(addr: std::net::SocketAddr, length: usize, sent: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    s.write_all(head.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    s.write_all(&vec![b' '; sent])
        .unwrap_or_else(|e| panic!("{e}"));
    s
}

fn status_of(mut s: TcpStream) -> String {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_body_that_finds_the_budget_full_is_answered_503_and_one_that_finds_room_is_read() {
    let mut args = args();
    args.body_limit = 64 * 1024;
    args.body_budget = 100 * 1024;
    let app = spawn_with(args).await;
    let addr = app.addr;
    // 60 KiB announced and 50 KiB sent: the budget holds 60 KiB for it (the buffer grows
    // to the declared length), and has room for 40 KiB more.
    let holding = tokio::task::spawn_blocking(move || start_body(addr, 60 * 1024, 50 * 1024))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused =
        tokio::task::spawn_blocking(move || status_of(start_body(addr, 60 * 1024, 60 * 1024)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    // A small one still fits beside the held one.
    let small = app
        .post_json(
            "/v1/decisions",
            &serde_json::json!({"refund_type": "refund_only"}),
        )
        .await;
    assert_eq!(small.status(), 422);
    drop(holding);
    // Once the held body's connection is gone, its share is free again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after =
        tokio::task::spawn_blocking(move || status_of(start_body(addr, 60 * 1024, 60 * 1024)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        after.starts_with("HTTP/1.1 400"),
        "blank body: 400, got {after}"
    );
}

#[tokio::test]
async fn bodies_announced_but_not_sent_hold_only_a_first_piece_of_the_budget() {
    let mut args = args();
    args.body_limit = 64 * 1024;
    args.body_budget = 100 * 1024;
    let app = spawn_with(args).await;
    let addr = app.addr;
    // Two heads announcing the limit, and nothing after them. Were the announced length
    // taken from the budget, the first would hold 64 KiB and the 40 KiB body below
    // would find only 36 KiB free.
    let mut heads = Vec::new();
    for _ in 0..2 {
        heads.push(
            tokio::task::spawn_blocking(move || start_body(addr, 64 * 1024, 0))
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut case: serde_json::Value =
        serde_json::from_str(include_str!("../../examples/stalled.json")).unwrap_or_default();
    case["case_id"] = serde_json::json!("x".repeat(40 * 1024));
    let res = app.post_json("/v1/decisions", &case).await;
    assert_eq!(res.status(), 200);
    drop(heads);
}

/// A batch whose answer is about `items` × 2 KB.
fn batch(items: usize) -> String {
    let item: serde_json::Value =
        serde_json::from_str(include_str!("../../examples/stalled.json")).unwrap_or_default();
    serde_json::json!({"items": vec![item; items]}).to_string()
}

#[tokio::test]
async fn an_answer_not_yet_taken_holds_its_room_and_the_next_large_answer_waits_for_it() {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let mut args = args();
    args.body_limit = 64 * 1024;
    args.body_budget = 64 * 1024;
    args.request_timeout = 1;
    let rules = aftersales::rules::Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    let server = aftersales::http::Server::bind(rules, None, &args)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let router = server.router();
    let body = batch(40);
    let call = |router: axum::Router| {
        let body = body.clone();
        async move {
            let req = axum::http::Request::post("/v1/decisions/batch")
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap_or_else(|e| panic!("{e}"));
            router.oneshot(req).await.unwrap_or_else(|e| match e {})
        }
    };
    // Answered, but its ~80 KB not read: it holds all of the 64 KiB answer budget.
    let unread = call(router.clone()).await;
    assert_eq!(unread.status(), 200);
    let waiting = call(router.clone()).await;
    assert_eq!(
        waiting.status(),
        503,
        "no room until the first answer is sent"
    );
    let problem = waiting
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    assert!(String::from_utf8_lossy(&problem).contains("timeout"));
    // Read to its end, the first answer frees its room.
    let taken = unread
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    assert!(taken.len() > 64 * 1024, "{} bytes", taken.len());
    assert_eq!(call(router).await.status(), 200);
}
