//! `?view=compact`: the decision without its rendered texts, single and in a batch.

use serde_json::{Value, json};

use crate::helpers::*;

fn stalled() -> Value {
    serde_json::from_str(include_str!("../../examples/stalled.json"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every key of `v`, at any depth, as `a.b.c` (array items as `[]`).
fn keys(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let path = format!("{at}.{k}");
                out.push(path.clone());
                keys(v, &path, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, &format!("{at}[]"), out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_compact_decision_has_ids_codes_and_times_and_no_texts() {
    let app = spawn_app().await;
    let full = app.post_json("/v1/decisions", &stalled()).await;
    assert_eq!(full.status(), 200);
    let full_bytes = full.bytes().await.unwrap_or_default();
    let compact = app
        .post_json("/v1/decisions?view=compact", &stalled())
        .await;
    assert_eq!(compact.status(), 200);
    let compact_bytes = compact.bytes().await.unwrap_or_default();
    let full: Value = serde_json::from_slice(&full_bytes).unwrap_or_default();
    let compact: Value = serde_json::from_slice(&compact_bytes).unwrap_or_default();

    let mut left = Vec::new();
    keys(&compact, "", &mut left);
    for text in [
        ".event.name",
        ".zone.name",
        ".actions[].text",
        ".explanation[].detail",
        ".deadlines[].remaining_seconds",
    ] {
        assert!(!left.contains(&text.to_owned()), "{text} in {compact}");
    }
    for kept in [
        ".decision_id",
        ".scenario",
        ".decision",
        ".event.id",
        ".zone.id",
        ".zone.controlled",
        ".deadlines[].due_at",
        ".deadlines[].overdue",
        ".actions",
        ".explanation",
    ] {
        assert!(left.contains(&kept.to_owned()), "{kept} missing: {compact}");
    }
    // Each answer names its view, the discriminator a generated client narrows on.
    assert_eq!(full["view"], "full");
    assert_eq!(compact["view"], "compact");
    for (key, value) in compact.as_object().into_iter().flatten() {
        if !matches!(value, Value::Object(_) | Value::Array(_))
            && !matches!(key.as_str(), "decision_id" | "view")
        {
            assert_eq!(full[key], *value, "{key}");
        }
    }
    // The full view's deadlines less the countdown (due_at less as_of).
    let mut deadlines = full["deadlines"].clone();
    for d in deadlines.as_array_mut().into_iter().flatten() {
        d.as_object_mut().map(|d| d.remove("remaining_seconds"));
    }
    assert_eq!(compact["deadlines"], deadlines);
    let codes = |v: &Value, key: &str| -> Vec<Value> {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| x["code"].clone())
            .collect()
    };
    assert_eq!(compact["actions"], json!(codes(&full, "actions")));
    assert_eq!(compact["explanation"], json!(codes(&full, "explanation")));
    assert!(
        full_bytes.len() >= 3 * compact_bytes.len(),
        "full {} bytes, compact {}",
        full_bytes.len(),
        compact_bytes.len()
    );
}

#[tokio::test]
async fn the_documented_compact_example_is_what_the_server_answers() {
    let app = spawn_app().await;
    let doc: Value =
        yaml_serde::from_str(&aftersales::http::openapi::yaml()).unwrap_or_else(|e| panic!("{e}"));
    let mut example = doc["components"]["schemas"]["CompactDecisionView"]["examples"][0].clone();
    let mut answer = body(
        app.post_json("/v1/decisions?view=compact", &stalled())
            .await,
    )
    .await;
    for v in [&mut example, &mut answer] {
        v["decision_id"] = Value::Null;
    }
    assert_eq!(answer, example);
}

#[tokio::test]
async fn a_compact_batch_answers_each_item_as_a_compact_decision() {
    let app = spawn_app().await;
    let mut bad = stalled();
    bad.as_object_mut().map(|m| m.remove("requested_at"));
    let batch = json!({"items": [stalled(), bad, stalled()]});
    let full = body(app.post_json("/v1/decisions/batch", &batch).await).await;
    let r = app
        .post_json("/v1/decisions/batch?view=compact&pretty", &batch)
        .await;
    assert_eq!(r.status(), 200);
    let compact = body(r).await;
    assert_eq!(compact["succeeded"], 2);
    assert_eq!(compact["failed"], 1);
    assert_eq!(
        (&full["view"], &compact["view"]),
        (&json!("full"), &json!("compact"))
    );
    assert_eq!(full["results"][0]["decision"]["view"], "full");
    assert_eq!(compact["results"][0]["decision"]["view"], "compact");
    let results = compact["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 3);
    assert_eq!(results[1], full["results"][1], "problems are the same");
    for i in [0, 2] {
        let d = &results[i]["decision"];
        assert_eq!(d["scenario"], "stalled");
        assert_eq!(
            d["actions"][0],
            full["results"][i]["decision"]["actions"][0]["code"]
        );
        assert_eq!(
            d["event"],
            json!({"id": full["results"][i]["decision"]["event"]["id"], "phase": null})
        );
    }
}

#[tokio::test]
async fn an_unknown_view_is_a_422_not_the_full_view() {
    let app = spawn_app().await;
    for path in [
        "/v1/decisions?view=short",
        "/v1/decisions/batch?view=Compact",
    ] {
        let r = app.post_json(path, &json!({"items": []})).await;
        assert_eq!(r.status(), 422, "{path}");
        let problem = body(r).await;
        assert_eq!(
            problem["errors"][0]["pointer"], "/view",
            "{path}: {problem}"
        );
    }
    let r = app.post_json("/v1/decisions?view=full", &stalled()).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn two_different_views_at_once_are_a_422_and_the_same_one_twice_is_that_view() {
    let app = spawn_app().await;
    for path in [
        "/v1/decisions?view=compact&view=full",
        "/v1/decisions?view=full&view=compact",
        "/v1/decisions/batch?view=compact&pretty&view=full",
    ] {
        let r = app.post_json(path, &json!({"items": [stalled()]})).await;
        assert_eq!(r.status(), 422, "{path}");
        let problem = body(r).await;
        assert_eq!(
            problem["errors"][0]["pointer"], "/view",
            "{path}: {problem}"
        );
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("twice"), "{path}: {message}");
    }
    let r = app
        .post_json("/v1/decisions?view=compact&view=compact", &stalled())
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["view"], "compact");
}
