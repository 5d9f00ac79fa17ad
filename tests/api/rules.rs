//! `GET /v1/rules` and decisions with rules files beyond the shipped one: tests inside the
//! file guarding reloads, several notices, windows until further notice.

use serde_json::{Value, json};

use crate::helpers::*;

const EMBEDDED: &str = aftersales::rules::EMBEDDED_SOURCE;
const HARBIN: &str = include_str!("../fixtures/rules/harbin-2025.toml");
const NATIONWIDE: &str = include_str!("../fixtures/rules/nationwide-2025.toml");

async fn rules_view(app: &TestApp) -> Value {
    body(app.get("/v1/rules").await).await
}

fn with_version(source: &str, v: &str) -> String {
    source.replacen(
        "version = \"2023-hangzhou-1\"",
        &format!("version = \"{v}\""),
        1,
    )
}

#[tokio::test]
async fn a_reload_whose_tests_fail_is_refused_and_the_last_good_rules_keep_serving() {
    let dir = temp_dir("reload-tests");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, with_version(EMBEDDED, "good")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    let v = rules_view(&app).await;
    assert_eq!(v["version"], "good");
    assert_eq!(v["tests"].as_array().map(Vec::len), Some(17));
    assert_eq!(v["warnings"], json!([]));

    // A valid file whose own tests no longer hold: the window edited, the tests not.
    let drifted = with_version(EMBEDDED, "drifted").replacen(
        "intercept_window_hours = 48",
        "intercept_window_hours = 24",
        1,
    );
    std::fs::write(&path, drifted).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eventually(|| async { rules_view(&app).await["reload"]["result"] == "failed" }).await,
        "the failure is never shown"
    );
    let v = rules_view(&app).await;
    assert_eq!(v["version"], "good", "the last good rules keep serving");
    let error = v["reload"]["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error.starts_with("rules.toml:")
            && error.contains("test `3.1.3 stalled: intercept and refund within the window after the stall` failed: deadlines.intercept_and_refund_by: expected 2023-10-15T14:00:00+08:00, got 2023-10-14T14:00:00+08:00"),
        "{error}"
    );
    let d = body(
        app.post_json(
            "/v1/decisions",
            &example("03-stalled-shangcheng.json")["request"],
        )
        .await,
    )
    .await;
    assert_eq!(d["rules_version"], "good");
    assert_eq!(d["deadlines"][0]["due_at"], "2023-10-15T14:00:00+08:00");
}

#[tokio::test]
async fn several_notices_are_listed_and_a_decision_names_the_others_that_apply() {
    let dir = temp_dir("several");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, format!("{EMBEDDED}{HARBIN}{NATIONWIDE}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path).await;
    let v = rules_view(&app).await;
    let scopes: Vec<(Value, Value)> = v["notices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| (n["scope"].clone(), n["priority"].clone()))
        .collect();
    assert_eq!(
        scopes,
        [
            (json!("nationwide"), json!(0)),
            (json!("zones"), json!(0)),
            (json!("nationwide"), json!(0))
        ]
    );
    let d = body(
        app.post_json(
            "/v1/decisions",
            &json!({
                "refund_type": "refund_only",
                "requested_at": "2025-02-03T10:00:00+08:00",
                "as_of": "2025-02-03T12:00:00+08:00",
                "order": {"order_id": "O"},
                "destination": {"city": "哈尔滨市", "district": "道里区"},
            }),
        )
        .await,
    )
    .await;
    assert_eq!(d["event"]["id"], "harbin-2025-asian-winter-games");
    assert_eq!(
        d["also_applies"],
        json!([{"id": "nationwide-2025-spring-festival", "name": "2025 年春节全国物流时效公告（测试用）"}])
    );
}

#[tokio::test]
async fn a_window_until_further_notice_is_null_with_a_flag() {
    // Without the shipped tests: the §4 case after the impact period now applies.
    let open = EMBEDDED[..EMBEDDED.find("\n[[test]]").unwrap_or(EMBEDDED.len())]
        .replacen(
            "impact_period = { from = 2023-09-11T00:00:00+08:00, until = 2023-10-29T00:00:00+08:00 }",
            "impact_period = { from = 2023-09-11T00:00:00+08:00 }",
            1,
        )
        .replacen(
            "control = { from = 2023-09-16T00:00:00+08:00, until = 2023-10-29T00:00:00+08:00 }",
            "control = { from = 2023-09-16T00:00:00+08:00 }",
            1,
        );
    let dir = temp_dir("open");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, &open).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path).await;
    let v = rules_view(&app).await;
    let n = &v["notices"][0];
    assert_eq!(
        n["impact_period"],
        json!({"from": "2023-09-11T00:00:00+08:00", "until": null, "until_further_notice": true})
    );
    assert_eq!(n["zones"][0]["control"]["until"], Value::Null);
    assert_eq!(n["zones"][1]["control"]["until_further_notice"], false);
    let codes: Vec<&str> = v["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        ["until_further_notice", "until_further_notice", "no_tests"]
    );

    let r = body(
        app.get("/v1/zones/resolve?adcode=330102&at=2030-01-01T00:00:00%2B08:00")
            .await,
    )
    .await;
    assert_eq!(r["zones"][0]["controlled"], true);
    assert_eq!(r["zones"][0]["control_until"], Value::Null);
    assert_eq!(r["zones"][0]["control_until_further_notice"], true);
}

#[tokio::test]
async fn the_rules_name_events_zones_and_thresholds_as_the_contract_does_for_every_notice() {
    let dir = temp_dir("contract-names");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, format!("{EMBEDDED}{HARBIN}{NATIONWIDE}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path).await;
    let v = body(app.get("/v1/rules?lang=en").await).await;
    let notices = v["notices"].as_array().cloned().unwrap_or_default();
    assert_eq!(notices.len(), 3);
    // `events`: each notice's event, in order, as a decision's `event.id` names it.
    let events = v["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), notices.len(), "{v}");
    for (e, n) in events.iter().zip(&notices) {
        for key in ["id", "name", "impact_period", "phases"] {
            assert_eq!(e[key], n[key], "{key}");
        }
    }
    assert_eq!(events[0]["phases"][0]["id"], "asian_games");
    // `zones`: every zone of every notice, each with its notice.
    let zones: Vec<(Value, Value)> = v["zones"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|z| (z["notice"].clone(), z["id"].clone()))
        .collect();
    let expected: Vec<(Value, Value)> = notices
        .iter()
        .flat_map(|n| {
            n["zones"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|z| (n["id"].clone(), z["id"].clone()))
        })
        .collect();
    assert!(!zones.is_empty());
    assert_eq!(zones, expected);
    assert_eq!(v["zones"][0]["control"], notices[0]["zones"][0]["control"]);
    // `thresholds`: by notice id.
    for n in &notices {
        let id = n["id"].as_str().unwrap_or_default();
        assert_eq!(v["thresholds"][id], n["thresholds"], "{id}");
    }
    assert_eq!(
        v["thresholds"]["hangzhou-2023-asian-games"]["stall_after_hours"],
        72
    );
    // One notice: the same names.
    let app = spawn_app().await;
    let v = rules_view(&app).await;
    assert_eq!(v["events"].as_array().map(Vec::len), Some(1));
    assert!(v["zones"].as_array().is_some_and(|z| !z.is_empty()));
    assert!(v["thresholds"]["hangzhou-2023-asian-games"].is_object());
}
