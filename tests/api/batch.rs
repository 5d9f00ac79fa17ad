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

#[tokio::test]
async fn a_batch_body_is_an_object_with_only_items_and_each_key_once() {
    let app = spawn_app().await;
    let cases: [(&str, u16, &str); 15] = [
        ("[]", 422, ""),
        (r#"{"items": 5}"#, 422, "/items"),
        // Each kind of value that is not an array is read through and refused.
        (r#"{"items": null}"#, 422, "/items"),
        (r#"{"items": true}"#, 422, "/items"),
        (r#"{"items": -1.5}"#, 422, "/items"),
        (r#"{"items": "[]"}"#, 422, "/items"),
        (r#"{"items": {"a": [1, {"b": "c"}]}}"#, 422, "/items"),
        // A wrong field is named first, wherever it is.
        (r#"{"items": 5, "x": 1}"#, 422, "/x"),
        (r#"{"x": 1, "items": "[]"}"#, 422, "/x"),
        (r#"{"items": {"a": 1}, "cases": []}"#, 422, "/cases"),
        (r#"{"items": {"a": 1}, "items": []}"#, 400, "/items"),
        (r#"{"items": [], "cases": []}"#, 422, "/cases"),
        (r#"{"a/b~": 1, "items": []}"#, 422, "/a~1b~0"),
        (r#"{"items": [], "items": []}"#, 400, "/items"),
        (r#"{"items": [], "it\u0065ms": []}"#, 400, "/items"),
    ];
    let post = |raw: &'static str| {
        app.client
            .post(app.url("/v1/decisions/batch"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
    };
    for (raw, status, pointer) in cases {
        let r = post(raw).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), status, "{raw}");
        assert_eq!(content_type(&r), "application/problem+json");
        let p = body(r).await;
        let pointers: Vec<&str> = p["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["pointer"].as_str())
            .collect();
        assert_eq!(pointers, [pointer], "{raw}: {p}");
    }
    for broken in [
        r#"{"items": [1, "#,
        r#"{"x": {"y": [}, "items": []}"#,
        r#"{"items": 5, "x": [}"#,
    ] {
        let r = post(broken).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 400, "not JSON, whatever its fields: {broken}");
    }
    let r = post(" \n{\"items\": [1]}")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let v = body(r).await;
    assert_eq!(v["results"][0]["status"], 422);
    assert_eq!(
        v["results"][0]["problem"]["errors"][0]["pointer"],
        "/items/0"
    );
}

#[tokio::test]
async fn a_key_twice_in_an_item_is_placed_in_the_body_as_sent() {
    let app = spawn_app().await;
    for (raw, place) in [
        // Item 1 starts on line 2, column 3: its `"a"` twice ends at column 12.
        (
            "{\"items\":[{\"x\":0},\n  {\"a\":1,\"a\":2}]}",
            "(line 2, column 12)",
        ),
        (
            "{\"items\":[{\"x\":0}, {\"a\":1,\"a\":2}]}",
            "(line 1, column 29)",
        ),
        (
            "{\"items\":[{},\n{\n\"a\":1,\n \"a\":2}]}",
            "(line 4, column 4)",
        ),
    ] {
        let r = app.post_raw("/v1/decisions/batch", raw).await;
        assert_eq!(r.status(), 200);
        let v = body(r).await;
        let p = &v["results"][1]["problem"];
        assert_eq!(p["status"], 400, "{v}");
        assert_eq!(p["errors"][0]["pointer"], "/items/1/a", "{v}");
        for said in [&p["errors"][0]["message"], &p["detail"]] {
            assert!(
                said.as_str().is_some_and(|m| m.contains(place)),
                "{raw}: {said}"
            );
        }
    }
}
