use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_batch_of_1000_keeps_order_and_one_bad_item_fails_alone() {
    let app = spawn_app().await;
    let good = example("03-stalled-shangcheng.json")["request"].clone();
    let mut items: Vec<Value> = (0..1000)
        .map(|i| {
            let mut item = good.clone();
            item["case_id"] = json!(format!("C-{i}"));
            item
        })
        .collect();
    items[500] = json!({"refund_type": "refund_only", "order": {"order_id": "bad"}, "destination": {"adcode": "330102"}});
    let r = app
        .post_json("/v1/decisions/batch", &json!({"items": items}))
        .await;
    assert_eq!(r.status(), 200);
    let v = body(r).await;
    assert!(v["batch_id"].as_str().is_some_and(|id| id.len() == 36));
    assert_eq!(
        (v["succeeded"].clone(), v["failed"].clone()),
        (json!(999), json!(1))
    );
    let results = v["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 1000);
    assert_eq!(results[0]["decision"]["case_id"], "C-0");
    assert_eq!(results[999]["decision"]["case_id"], "C-999");
    assert_eq!(results[500]["status"], 422);
    assert_eq!(
        results[500]["problem"]["errors"][0]["pointer"],
        "/items/500/requested_at"
    );
    assert!(results[500].get("decision").is_none());
    let mut ids: Vec<&str> = results
        .iter()
        .filter_map(|r| r["decision"]["decision_id"].as_str())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 999, "every decision has its own id");
}

#[tokio::test]
async fn a_batch_over_the_limit_or_without_items_is_422() {
    let mut args = args();
    args.batch_limit = 3;
    let app = spawn_with(args).await;
    let item = example("03-stalled-shangcheng.json")["request"].clone();
    let r = app
        .post_json(
            "/v1/decisions/batch",
            &json!({"items": [item.clone(), item.clone(), item.clone(), item]}),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(body(r).await["errors"][0]["pointer"], "/items");
    let r = app
        .post_json("/v1/decisions/batch", &json!({"cases": []}))
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .post_json("/v1/decisions/batch", &json!({"items": []}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["results"], json!([]));
}
