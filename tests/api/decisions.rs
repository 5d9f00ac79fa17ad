use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn every_shared_example_decides_over_http() {
    let app = spawn_app().await;
    for (name, ex) in examples() {
        let r = app.post_json("/v1/decisions", &ex["request"]).await;
        if let Some(err) = ex.get("expect_error") {
            assert_eq!(
                r.status().as_u16(),
                err["status"].as_u64().unwrap_or(0) as u16,
                "{name}"
            );
            assert_eq!(content_type(&r), "application/problem+json", "{name}");
            let p = body(r).await;
            let pointers: Vec<&Value> = p["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| &e["pointer"])
                .collect();
            assert!(pointers.contains(&&err["pointer"]), "{name}: {p}");
            continue;
        }
        assert_eq!(r.status(), 200, "{name}");
        let v = body(r).await;
        let expect = &ex["expect"];
        for key in ["applies", "scenario", "decision"] {
            if let Some(want) = expect.get(key) {
                assert_eq!(&v[key], want, "{name}: {key}");
            }
        }
        if let Some(want) = expect.get("zone_controlled") {
            assert_eq!(&v["zone"]["controlled"], want, "{name}");
        }
        for (kind, due) in expect
            .get("deadlines")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let d = v["deadlines"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|d| d["kind"] == kind.as_str())
                .cloned()
                .unwrap_or_default();
            assert_eq!(&d["due_at"], due, "{name}: {kind}");
        }
        assert_eq!(
            v["case_id"], ex["request"]["case_id"],
            "{name}: case id echoed"
        );
        assert_eq!(v["rules_version"], "2023-hangzhou-1");
        assert!(
            v["decision_id"].as_str().is_some_and(|id| id.len() == 36),
            "{name}"
        );
    }
}

#[tokio::test]
async fn decision_ids_are_unique() {
    let app = spawn_app().await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let a = body(app.post_json("/v1/decisions", &req).await).await;
    let b = body(app.post_json("/v1/decisions", &req).await).await;
    assert_ne!(a["decision_id"], b["decision_id"]);
}

#[tokio::test]
async fn without_as_of_the_server_clock_decides() {
    let app = spawn_app().await;
    let mut req = example("03-stalled-shangcheng.json")["request"].clone();
    req.as_object_mut().map(|o| o.remove("as_of"));
    let v = body(app.post_json("/v1/decisions", &req).await).await;
    let as_of = chrono::DateTime::parse_from_rfc3339(v["as_of"].as_str().unwrap_or_default())
        .map(|t| t.timestamp())
        .unwrap_or(0);
    assert!(
        (chrono::Utc::now().timestamp() - as_of).abs() < 60,
        "{}",
        v["as_of"]
    );
    assert!(v["as_of"].as_str().is_some_and(|s| s.ends_with("+08:00")));
    // Long past: the deadline is overdue.
    assert_eq!(v["deadlines"][0]["overdue"], true);
}

#[tokio::test]
async fn the_rules_endpoint_shows_what_decides() {
    let app = spawn_app().await;
    let v = body(app.get("/v1/rules").await).await;
    assert_eq!(v["version"], "2023-hangzhou-1");
    assert!(
        v["checksum"]
            .as_str()
            .is_some_and(|c| c.starts_with("sha256:"))
    );
    assert_eq!(v["source"], "embedded");
    assert!(v["loaded_at"].as_str().is_some());
    let n = &v["notices"][0];
    assert_eq!(
        n["impact_period"],
        json!({"from": "2023-09-11T00:00:00+08:00", "until": "2023-10-29T00:00:00+08:00", "until_further_notice": false})
    );
    assert_eq!(n["thresholds"]["stall_after_hours"], 72);
    assert_eq!(n["zones"][0]["adcode_prefixes"], json!(["3301"]));
    assert_eq!(n["zones"][1]["adcodes"].as_array().map(Vec::len), Some(9));
}

#[tokio::test]
async fn zones_resolve_reads_a_destination_and_its_control_window() {
    let app = spawn_app().await;
    let v = body(app.get("/v1/zones/resolve?province=浙江省&city=金华市&district=婺城区&at=2023-10-08T23:59:59%2B08:00").await).await;
    assert_eq!(v["area"]["adcode"], "330702");
    assert_eq!(v["zones"][0]["zone"], "co_host_venues");
    assert_eq!(v["zones"][0]["controlled"], true);
    let v = body(
        app.get("/v1/zones/resolve?adcode=330702&at=2023-10-09%2000:00:00")
            .await,
    )
    .await;
    assert_eq!(
        v["zones"][0]["controlled"], false,
        "the window is half-open"
    );
    let v = body(
        app.get("/v1/zones/resolve?address=浙江省宁波市杭州湾新区")
            .await,
    )
    .await;
    assert_eq!(v["area"]["adcode"], "330200");
    assert_eq!(v["zones"], json!([]));
    let r = app.get("/v1/zones/resolve?adcode=12345&at=tomorrow").await;
    assert_eq!(r.status(), 422);
    let p = body(r).await;
    assert_eq!(p["errors"].as_array().map(Vec::len), Some(2), "{p}");
}

#[tokio::test]
async fn carrier_text_provider_codes_and_kuaishou_bodies_decide_over_http() {
    let app = spawn_app().await;
    let base = json!({
        "refund_type": "refund_only",
        "requested_at": "2023-10-01T09:00:00+08:00",
        "as_of": "2023-10-01T09:30:00+08:00",
        "order": {"order_id": "T"},
        "destination": {"address": "浙江省杭州市西湖區文三路"},
    });
    for trace in [
        json!([{"at": "2023-09-30T18:00:00+08:00", "description": "收件人拒收,快件已安排退回"}]),
        json!([{"at": "2023-09-30T18:00:00+08:00", "status": "kuaidi100:14"}]),
        json!([{"at": "2023-09-30T18:00:00+08:00", "status": "cainiao:TMS_FAILED"}]),
    ] {
        let mut req = base.clone();
        req["logistics_trace"] = trace;
        let v = body(app.post_json("/v1/decisions", &req).await).await;
        assert_eq!(v["scenario"], "rejected_or_returned", "{req}");
        assert_eq!(v["zone"]["id"], "hangzhou");
    }
    let ks = json!({
        "kuaishou_refund": {"oid": 42, "status": 10, "handlingWay": 10, "submitTime": 1696122000000i64},
        "as_of": "2023-10-01T09:30:00+08:00",
        "destination": {"adcode": "330108"},
    });
    let v = body(app.post_json("/v1/decisions", &ks).await).await;
    assert_eq!(
        (v["scenario"].clone(), v["decision"].clone()),
        (json!("not_shipped"), json!("approve_refund"))
    );

    let mut bad = base.clone();
    bad["logistics_trace"] = json!([{"at": "2023-09-30T18:00:00+08:00", "status": "kuaidi100:99"}]);
    let r = app.post_json("/v1/decisions", &bad).await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        body(r).await["errors"][0]["pointer"],
        "/logistics_trace/0/status"
    );
    let r = app.post_json("/v1/decisions", &json!({"kuaishou_refund": {"oid": 1, "status": 10, "handlingWay": 2, "submitTime": 1}, "destination": {"adcode": "330108"}})).await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        body(r).await["errors"][0]["pointer"],
        "/kuaishou_refund/handlingWay"
    );
}
