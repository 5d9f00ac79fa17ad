//! `?view=compact`: the decision without its rendered texts, single and in a batch: the
//! full view's fields and shape, less the texts (names, `text`, `detail`, `message`).

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

/// The rendered texts of a decision (api-contract.md: what `?view=compact` leaves out),
/// by where they are.
const TEXTS: [&str; 6] = [
    ".event.name",
    ".also_applies[].name",
    ".zone.name",
    ".actions[].text",
    ".explanation[].detail",
    ".warnings[].message",
];

/// The full view `full` as the compact view must be: every field and the shape kept,
/// the rendered texts left out, `view` saying `compact`, the decision id left to each.
fn without_texts(full: &Value) -> Value {
    let mut v = full.clone();
    let drop = |o: &mut Value, key: &str| {
        o.as_object_mut().map(|o| o.remove(key));
    };
    drop(&mut v["event"], "name");
    if v["zone"].is_object() {
        drop(&mut v["zone"], "name");
    }
    for (list, key) in [
        ("also_applies", "name"),
        ("actions", "text"),
        ("explanation", "detail"),
        ("warnings", "message"),
    ] {
        for item in v[list].as_array_mut().into_iter().flatten() {
            drop(item, key);
        }
    }
    v["view"] = json!("compact");
    v["decision_id"] = Value::Null;
    v
}

/// `compact` against `full`: the same decision, the texts left out and nothing else.
fn assert_compact_of(compact: &Value, full: &Value, what: &str) {
    let mut compact = compact.clone();
    assert!(
        compact["decision_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{what}: {compact}"
    );
    compact["decision_id"] = Value::Null;
    assert_eq!(compact, without_texts(full), "{what}");
    let mut left = Vec::new();
    keys(&compact, "", &mut left);
    for text in TEXTS {
        assert!(
            !left.contains(&text.to_owned()),
            "{what}: {text} in {compact}"
        );
    }
}

#[tokio::test]
async fn a_compact_decision_is_the_full_one_less_its_texts_field_for_field() {
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
    assert_compact_of(&compact, &full, "stalled");

    // What a backend written to the contract reads, the same in both views.
    let mut left = Vec::new();
    keys(&compact, "", &mut left);
    for kept in [
        ".decision_id",
        ".scenario",
        ".decision",
        ".event.id",
        ".event.in_impact_period",
        ".event.phase",
        ".zone.id",
        ".zone.controlled",
        ".zone.control_from",
        ".zone.control_until",
        ".zone.control_until_further_notice",
        ".deadlines[].kind",
        ".deadlines[].due_at",
        ".deadlines[].remaining_seconds",
        ".deadlines[].overdue",
        ".actions[].code",
        ".explanation[].rule",
        ".explanation[].code",
    ] {
        assert!(left.contains(&kept.to_owned()), "{kept} missing: {compact}");
    }
    let codes = |v: &Value, key: &str| -> Vec<Value> {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| x["code"].clone())
            .collect()
    };
    for list in ["actions", "explanation"] {
        assert_eq!(codes(&compact, list), codes(&full, list), "{list}");
        assert!(!codes(&compact, list).contains(&Value::Null), "{list}");
    }
    assert_eq!(compact["explanation"][2]["rule"], "3.1.3");
    // Each answer names its view, the discriminator a generated client narrows on.
    assert_eq!(full["view"], "full");
    assert_eq!(compact["view"], "compact");
    assert!(
        compact_bytes.len() < full_bytes.len(),
        "full {} bytes, compact {}",
        full_bytes.len(),
        compact_bytes.len()
    );
}

#[tokio::test]
async fn every_example_in_each_language_compacts_to_the_full_view_less_its_texts() {
    let app = spawn_app().await;
    let mut decided = 0;
    for (name, example) in examples() {
        let request = &example["request"];
        for lang in ["zh-CN", "en"] {
            let full = app
                .post_json(&format!("/v1/decisions?lang={lang}"), request)
                .await;
            let status = full.status();
            let full = body(full).await;
            let compact = app
                .post_json(&format!("/v1/decisions?view=compact&lang={lang}"), request)
                .await;
            assert_eq!(compact.status(), status, "{name}");
            let compact = body(compact).await;
            if status != 200 {
                assert_eq!(compact, full, "{name}: the same problem");
                continue;
            }
            assert_compact_of(&compact, &full, &format!("{name} {lang}"));
            decided += 1;
        }
    }
    assert!(decided >= 14, "only {decided} decided");
}

#[tokio::test]
async fn a_warning_keeps_its_code_and_loses_its_message() {
    let app = spawn_app().await;
    let mut mismatch = stalled();
    mismatch["destination"] =
        json!({"adcode": "330106", "address": "浙江省杭州市上城区解放路100号"});
    let full = body(app.post_json("/v1/decisions", &mismatch).await).await;
    let compact = body(app.post_json("/v1/decisions?view=compact", &mismatch).await).await;
    assert_eq!(
        full["warnings"][0]["code"], "destination_mismatch",
        "{full}"
    );
    assert_eq!(
        compact["warnings"],
        json!([{"code": "destination_mismatch", "pointer": null}])
    );
    assert_compact_of(&compact, &full, "mismatch");
}

#[tokio::test]
async fn a_warning_about_one_input_names_its_pointer_in_both_views() {
    let app = spawn_app().await;
    let mut case = stalled();
    // Signed for and refused at one instant after as_of (the refusal, given last,
    // decides): each event is late, and the two conflict.
    case["logistics_trace"] = json!([
        {"at": "2023-10-09T20:00:00+08:00", "status": "collected"},
        {"at": "2023-10-15T09:00:00+08:00", "status": "delivered"},
        {"at": "2023-10-15T09:00:00+08:00", "status": "rejected"},
    ]);
    let full = body(app.post_json("/v1/decisions", &case).await).await;
    let compact = body(app.post_json("/v1/decisions?view=compact", &case).await).await;
    let pointers = |v: &Value| -> Vec<(String, Value)> {
        v["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                (
                    w["code"].as_str().unwrap_or("").to_owned(),
                    w["pointer"].clone(),
                )
            })
            .collect()
    };
    let got = pointers(&compact);
    for (code, pointer) in [
        ("event_after_as_of", "/logistics_trace/1"),
        ("event_after_as_of", "/logistics_trace/2"),
        ("simultaneous_events_conflict", "/logistics_trace/2"),
    ] {
        assert!(
            got.contains(&(code.to_owned(), json!(pointer))),
            "{code} {pointer}: {compact}"
        );
    }
    assert_eq!(pointers(&full), got, "{full}");
    assert_compact_of(&compact, &full, "pointers");
    // A pasted trace's line points at the text field (the line is in the message).
    let mut pasted = stalled();
    pasted.as_object_mut().map(|o| o.remove("logistics_trace"));
    pasted["logistics_text"] = json!("2023-10-09 20:00  已揽收\n2023-10-10 14:00  天气晴朗");
    let compact = body(app.post_json("/v1/decisions?view=compact", &pasted).await).await;
    assert_eq!(
        compact["warnings"],
        json!([{"code": "unrecognized_description", "pointer": "/logistics_text"}]),
        "{compact}"
    );
}

#[tokio::test]
async fn with_several_notices_the_others_are_listed_by_id() {
    let dir = temp_dir("compact-several");
    let path = dir.path().join("rules.toml");
    let several = [
        aftersales::rules::EMBEDDED_SOURCE,
        include_str!("../fixtures/rules/harbin-2025.toml"),
        include_str!("../fixtures/rules/nationwide-2025.toml"),
    ]
    .concat();
    std::fs::write(&path, several).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path).await;
    let harbin = json!({
        "refund_type": "refund_only",
        "requested_at": "2025-02-03T10:00:00+08:00",
        "as_of": "2025-02-03T12:00:00+08:00",
        "order": {"order_id": "O"},
        "destination": {"city": "哈尔滨市", "district": "道里区"},
    });
    let full = body(app.post_json("/v1/decisions", &harbin).await).await;
    let compact = body(app.post_json("/v1/decisions?view=compact", &harbin).await).await;
    assert_eq!(
        compact["also_applies"],
        json!([{"id": "nationwide-2025-spring-festival"}])
    );
    assert_compact_of(&compact, &full, "harbin");
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
    // The schema names the fields the answer has, each object's required ones too.
    let schemas = &doc["components"]["schemas"];
    let required = |name: &str| -> Vec<String> {
        schemas[name]["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect()
    };
    let fields = |v: &Value| -> Vec<String> {
        v.as_object()
            .into_iter()
            .flat_map(|o| o.keys().cloned())
            .collect()
    };
    for (name, value) in [
        ("CompactDecisionView", &answer),
        ("CompactEventView", &answer["event"]),
        ("CompactZoneView", &answer["zone"]),
        ("DeadlineView", &answer["deadlines"][0]),
        ("CompactActionView", &answer["actions"][0]),
        ("CompactExplanationView", &answer["explanation"][0]),
    ] {
        let mut want = required(name);
        let mut got = fields(value);
        want.sort();
        got.sort();
        assert_eq!(got, want, "{name}");
    }
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
        assert_eq!(results[i]["status"], 200);
        assert_eq!(d["scenario"], "stalled");
        assert_compact_of(d, &full["results"][i]["decision"], &format!("item {i}"));
    }
    // As the single endpoint answers the same item.
    let single = body(
        app.post_json("/v1/decisions?view=compact", &stalled())
            .await,
    )
    .await;
    let mut item = results[0]["decision"].clone();
    let mut single = single;
    for v in [&mut item, &mut single] {
        v["decision_id"] = Value::Null;
    }
    assert_eq!(item, single);
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
async fn two_different_views_at_once_are_a_400_and_the_same_one_twice_is_that_view() {
    let app = spawn_app().await;
    for path in [
        "/v1/decisions?view=compact&view=full",
        "/v1/decisions?view=full&view=compact",
        "/v1/decisions/batch?view=compact&pretty&view=full",
    ] {
        let r = app.post_json(path, &json!({"items": [stalled()]})).await;
        // As a key given twice in a body: which one was meant is not for us to guess.
        assert_eq!(r.status(), 400, "{path}");
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
