//! The `/v1` slots and the request timeout: shed at once when full, 503 at the deadline
//! unless the work has committed, and what is answered 503 leaves nothing behind.

use std::time::{Duration, Instant};

use aftersales::http::middleware::{Limits, Slot, api_layers};
use aftersales::http::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::routing::MethodRouter;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::*;

/// The `/v1` layers around `route` at `/v1/test`, to drive in process.
fn layered(route: MethodRouter<AppState>, concurrency: usize, timeout_seconds: u64) -> Router {
    let state = state_in_process();
    let limits = Limits {
        concurrency,
        timeout: Duration::from_secs(timeout_seconds),
        ..Limits::from_args(&aftersales::cli::ServeArgs::default())
    };
    api_layers(Router::new().route("/v1/test", route), &state, limits).with_state(state)
}

async fn call(app: &Router) -> (u16, Value, Option<String>) {
    let res = app
        .clone()
        .oneshot(
            axum::http::Request::get("/v1/test")
                .body(Body::empty())
                .unwrap_or_default(),
        )
        .await
        .unwrap_or_else(|e| match e {});
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        retry,
    )
}

#[tokio::test]
async fn over_the_concurrency_limit_requests_are_shed_with_503_and_retry_after() {
    let (entered, mut inside) = tokio::sync::mpsc::unbounded_channel::<()>();
    let hold = axum::routing::get(move || {
        let entered = entered.clone();
        async move {
            let _ = entered.send(());
            std::future::pending::<()>().await;
        }
    });
    let app = layered(hold, 1, 60);
    let first = {
        let app = app.clone();
        tokio::spawn(async move { call(&app).await })
    };
    inside.recv().await;
    let (status, problem, retry) = call(&app).await;
    assert_eq!(status, 503);
    assert_eq!(problem["type"], "urn:aftersales:problem:overloaded");
    assert_eq!(retry.as_deref(), Some("1"));
    first.abort();
}

#[tokio::test]
async fn work_outlasting_the_timeout_is_answered_503_with_retry_after() {
    let never = axum::routing::get(std::future::pending::<()>);
    let app = layered(never, 4, 1);
    let (status, problem, retry) = call(&app).await;
    assert_eq!(status, 503);
    assert_eq!(problem["type"], "urn:aftersales:problem:timeout");
    assert_eq!(retry.as_deref(), Some("1"));
}

#[tokio::test]
async fn work_committed_before_the_deadline_is_answered_even_after_it() {
    let committed = axum::routing::get(|slot: Slot| async move {
        assert!(slot.commit(), "commits before the deadline");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        "done"
    });
    let app = layered(committed, 4, 1);
    let (status, _, _) = call(&app).await;
    assert_eq!(
        status, 200,
        "the timeout never fires after the commit point"
    );
}

#[tokio::test]
async fn work_whose_caller_is_gone_can_no_longer_commit() {
    let (entered, mut inside) = tokio::sync::mpsc::unbounded_channel::<Slot>();
    let hold = axum::routing::get(move |slot: Slot| {
        let entered = entered.clone();
        async move {
            let _ = entered.send(slot);
            std::future::pending::<()>().await;
        }
    });
    let app = layered(hold, 4, 60);
    let call = tokio::spawn(async move { call(&app).await });
    let slot = inside
        .recv()
        .await
        .unwrap_or_else(|| panic!("never entered"));
    assert!(slot.live());
    call.abort();
    let _ = call.await;
    assert!(!slot.live(), "the caller is gone");
    assert!(!slot.commit(), "so nothing may be logged for it");
}

#[tokio::test]
async fn past_its_deadline_work_can_no_longer_commit() {
    let slot = Slot::new(Duration::from_millis(1), None);
    std::thread::sleep(Duration::from_millis(5));
    assert!(!slot.live());
    assert!(!slot.commit());
    assert!(slot.expire());
    let slot = Slot::new(Duration::from_secs(60), None);
    assert!(slot.commit());
    assert!(!slot.expire(), "committed work is not given up");
    assert!(slot.live());
}

/// A batch of `items` cases, each with a trace of `events` carrier lines to read.
pub fn heavy_batch(items: usize, events: usize) -> Vec<u8> {
    let mut item = example("03-stalled-shangcheng.json")["request"].clone();
    let trace: Vec<Value> = (0..events)
        .map(|i| {
            json!({
                "at": format!("2023-10-{:02}T{:02}:{:02}:00+08:00", 1 + i / 1440 % 9, i / 60 % 24, i % 60),
                "description": "【杭州市】快件已到达 杭州转运中心，正发往下一站"
            })
        })
        .collect();
    item["logistics_trace"] = Value::Array(trace);
    serde_json::to_vec(&json!({"items": vec![item; items]})).unwrap_or_default()
}

#[tokio::test]
async fn a_batch_outlasting_the_timeout_is_answered_503_leaves_no_log_line_and_stops() {
    let dir = temp_dir("timeout-batch");
    let path = dir.path().join("decisions.jsonl");
    let mut args = args();
    args.request_timeout = 1;
    args.concurrency_limit = 1;
    args.body_limit = 64 << 20;
    args.decision_log = Some(path.to_string_lossy().into_owned());
    let mut app = spawn_with(args).await;
    // Several seconds of work even in an optimised build; many more in a debug one.
    let batch = heavy_batch(1000, 100);

    let started = Instant::now();
    let r = app.post_raw("/v1/decisions/batch", batch).await;
    let took = started.elapsed();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(
        body(r).await["type"],
        "urn:aftersales:problem:timeout",
        "after {took:?}"
    );
    assert!(took < Duration::from_secs(4), "answered after {took:?}");

    // The work stops: its slot (the only one) is soon free again.
    let small = example("01-not-shipped-binjiang.json")["request"].clone();
    assert!(
        eventually(|| async { app.post_json("/v1/decisions", &small).await.status() == 200 }).await,
        "the batch's work kept its slot"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    app.stop();
    if let Some(done) = app.finished.take() {
        let _ = done.await;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    assert_eq!(lines.len(), 1, "only the small decision is logged");
    assert!(lines[0]["batch_id"].is_null(), "{}", lines[0]);
}

#[tokio::test]
async fn a_large_single_request_is_decided_as_a_small_one_is() {
    let mut args = args();
    args.body_limit = 4 << 20;
    let app = spawn_with(args).await;
    let batch: Value = serde_json::from_slice(&heavy_batch(1, 400)).unwrap_or_default();
    let large = batch["items"][0].clone();
    assert!(
        large.to_string().len() > 32 * 1024,
        "decided off the async workers"
    );
    let mut small = large.clone();
    small["logistics_trace"] = json!([large["logistics_trace"][399].clone()]);
    let large = body(app.post_json("/v1/decisions", &large).await).await;
    let small = body(app.post_json("/v1/decisions", &small).await).await;
    assert_eq!(large["scenario"], small["scenario"], "{large}");
    assert_eq!(large["decision"], small["decision"]);
    assert!(large["decision_id"].is_string());
}

/// A route that takes a slot but runs outside the `/v1` guard is a wiring fault: refused
/// with a 500, never run without its deadline and its bound.
#[tokio::test]
async fn a_route_outside_the_guard_gets_no_slot_and_is_refused() {
    let unguarded = axum::routing::get(|_: Slot| async { "ran without a deadline" });
    let app = Router::new()
        .route("/v1/test", unguarded)
        .with_state(state_in_process());
    let (status, problem, _) = call(&app).await;
    assert_eq!(status, 500, "{problem}");
}
