//! The decision log: nothing lost, nothing personal.

use serde_json::{Value, json};

use crate::helpers::*;

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect()
}

#[tokio::test]
async fn a_burst_of_decisions_all_reach_the_log_by_shutdown() {
    let dir = temp_dir("decision-log");
    let path = dir.join("decisions.jsonl");
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    // A small buffer, so the burst has to wait for the writer.
    args.decision_log_buffer = 8;
    let mut app = spawn_with(args).await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();

    let batch = json!({"items": vec![req.clone(); 2000]});
    let singles = (0..200).map(|_| app.post_json("/v1/decisions", &req));
    let (batch, singles) = tokio::join!(
        app.post_json("/v1/decisions/batch", &batch),
        futures_join(singles)
    );
    let batch = body(batch).await;
    let mut ids: Vec<String> = batch["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["decision"]["decision_id"].as_str().map(str::to_owned))
        .collect();
    for r in singles {
        ids.push(
            body(r).await["decision_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(ids.len(), 2200);

    app.stop();
    if let Some(done) = app.finished.take() {
        let _ = done.await;
    }
    let logged = lines(&path);
    assert_eq!(logged.len(), 2200, "every decision is logged");
    let mut logged_ids: Vec<String> = logged
        .iter()
        .map(|l| l["decision_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    logged_ids.sort();
    assert_eq!(logged_ids, ids);
    let from_batch = logged
        .iter()
        .filter(|l| l["batch_id"] == batch["batch_id"])
        .count();
    assert_eq!(from_batch, 2000);
    let first = &logged[0];
    for key in [
        "request_id",
        "rules_version",
        "rules_checksum",
        "as_of",
        "scenario",
        "decision",
        "sections",
    ] {
        assert!(!first[key].is_null(), "{key} missing: {first}");
    }
}

async fn futures_join<F: std::future::Future<Output = reqwest::Response>>(
    futures: impl Iterator<Item = F>,
) -> Vec<reqwest::Response> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    for f in handles {
        out.push(f.await);
    }
    out
}

#[tokio::test]
async fn the_log_keeps_the_buyers_personal_data_out() {
    let dir = temp_dir("decision-log-mask");
    let path = dir.join("decisions.jsonl");
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    let mut app = spawn_with(args).await;
    let req = json!({
        "case_id": "AS-9",
        "refund_type": "refund_only",
        "requested_at": "2023-10-11T09:00:00+08:00",
        "order": {"order_id": "KS-9"},
        "destination": {"address": "浙江省杭州市上城区解放路100号 张三 13800001111"},
        "logistics_trace": [{"at": "2023-10-10T14:00:00+08:00", "description": "派件员：王师傅 电话：13900002222 正在为您派件", "location": "杭州上城"}],
    });
    assert_eq!(app.post_json("/v1/decisions", &req).await.status(), 200);
    app.stop();
    if let Some(done) = app.finished.take() {
        let _ = done.await;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    for secret in [
        "张三",
        "13800001111",
        "13900002222",
        "王师傅",
        "解放路",
        "上城",
    ] {
        assert!(!text.contains(secret), "`{secret}` reached the log: {text}");
    }
    let line = &lines(&path)[0];
    assert_eq!(
        line["input"]["destination"],
        json!({"adcode": "330100", "name": "浙江省杭州市"})
    );
    assert_eq!(
        line["input"]["logistics_trace"][0]["status"],
        "out_for_delivery"
    );
    assert_eq!(line["case_id"], "AS-9");
}
