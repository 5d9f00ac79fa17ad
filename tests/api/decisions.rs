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
async fn zones_resolve_warns_of_contradicting_names_and_places_no_zone_from_them() {
    let app = spawn_app().await;
    // A city, then another city's district (Wenzhou's co-host 鹿城区): Zhejiang only,
    // with both readings named, never Hangzhou's window silently.
    let v = body(
        app.get(
            "/v1/zones/resolve?address=浙江省杭州市鹿城区五马街&at=2023-10-20T10:00:00%2B08:00",
        )
        .await,
    )
    .await;
    assert_eq!(v["area"]["adcode"], "330000", "{v}");
    assert_eq!(v["zones"], json!([]));
    assert_eq!(v["warnings"][0]["code"], "destination_conflict", "{v}");
    let message = v["warnings"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("浙江省杭州市") && message.contains("浙江省温州市鹿城区"),
        "{message}"
    );
    // A province, then another province's city: placed nowhere.
    let v = body(
        app.get("/v1/zones/resolve?province=江西省&city=杭州市&district=西湖区")
            .await,
    )
    .await;
    assert_eq!(v["area"], Value::Null, "{v}");
    assert_eq!(v["warnings"][0]["code"], "destination_conflict", "{v}");
    // The consistent names beside them: placed, no warning.
    let v = body(
        app.get("/v1/zones/resolve?province=浙江省&city=杭州市&address=西湖区文三路")
            .await,
    )
    .await;
    assert_eq!(v["area"]["adcode"], "330106", "{v}");
    assert_eq!(v["warnings"], json!([]), "{v}");
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

/// A decision's and a batch's served lines say what they decided, in the formatter's
/// order: the fields travel from the route to the front's line (see
/// `middleware::Exchange`), and a probe's line has none.
#[tokio::test]
async fn the_served_lines_say_what_a_decision_and_a_batch_decided() {
    let (server, addr, _, logs) = spawn_binary_with_logs("", &[]);
    let mut server = KilledOnDrop(server);
    let mut req = example("03-stalled-shangcheng.json")["request"].clone();
    req["case_id"] = json!("AS-\"7\"");
    let client = reqwest::Client::new();
    let post = |path: &str, body: &Value| {
        client
            .post(format!("http://{addr}{path}"))
            .header("x-request-id", "front-1")
            .json(body)
            .send()
    };
    let decided: Value = post("/v1/decisions", &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let batch = json!({"items": [req.clone(), {"case_id": "bad"}]});
    let batch_status = post("/v1/decisions/batch", &batch)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .status();
    assert_eq!(batch_status, 200);
    let served = tokio::task::spawn_blocking(move || {
        // Bounded: lines that never come fail the test instead of hanging it.
        std::iter::from_fn(|| logs.recv_timeout(std::time::Duration::from_secs(10)).ok())
            .filter(|l| l.contains("\"served\""))
            .take(2)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let _ = server.0.kill();
    let _ = server.0.wait();
    assert_eq!(served.len(), 2, "{served:?}");
    // The line's keys in the order written (those of the span but its name, too).
    let keys = |line: &str| -> Vec<String> {
        let v: Value = serde_json::from_str(line).unwrap_or_default();
        let mut keys: Vec<(usize, String)> = v
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| {
                (
                    line.find(&format!("\"{k}\":")).unwrap_or(usize::MAX),
                    k.clone(),
                )
            })
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    };
    // Every served line's keys, around what was decided.
    let around = |decided: &[&str]| -> Vec<String> {
        let head = [
            "timestamp",
            "level",
            "message",
            "status",
            "latency_ms",
            "route",
        ];
        let tail = ["target", "span"];
        head.iter()
            .chain(decided)
            .chain(&tail)
            .map(|k| (*k).to_owned())
            .collect()
    };
    let single: Value = serde_json::from_str(&served[0]).unwrap_or_default();
    let decision_keys = [
        "decision_id",
        "case_id",
        "scenario",
        "decision",
        "applies",
        "rules_version",
    ];
    assert_eq!(keys(&served[0]), around(&decision_keys), "{}", served[0]);
    assert_eq!(single["route"], "/v1/decisions");
    assert_eq!(single["decision_id"], decided["decision_id"]);
    assert_eq!(single["case_id"], "AS-\"7\"");
    assert_eq!(single["scenario"], decided["scenario"]);
    assert_eq!(single["decision"], decided["decision"]);
    assert_eq!(single["applies"], decided["applies"]);
    assert_eq!(single["rules_version"], decided["rules_version"]);
    assert_eq!(single["span"]["request_id"], "front-1");
    let batch: Value = serde_json::from_str(&served[1]).unwrap_or_default();
    let batch_keys = ["batch_id", "items", "succeeded", "rules_version"];
    assert_eq!(keys(&served[1]), around(&batch_keys), "{}", served[1]);
    assert_eq!(batch["route"], "/v1/decisions/batch");
    assert_eq!(
        (batch["items"].as_u64(), batch["succeeded"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(batch["rules_version"], decided["rules_version"]);
}

#[tokio::test]
async fn no_view_carries_a_five_digit_year_a_time_past_the_range_is_a_422_at_its_source() {
    let app = spawn_app().await;
    let mut req = json!({
        "refund_type": "refund_only",
        "requested_at": "2023-10-03T10:00:00+08:00",
        "as_of": "2023-10-06T12:00:00+08:00",
        "order": {"order_id": "1", "shipped_at": "9999-12-30T23:59:59Z"},
        "destination": {"adcode": "330108"}
    });
    for (accept, view) in [
        ("application/json", ""),
        ("text/plain", ""),
        ("application/json", "?view=compact"),
    ] {
        let r = app
            .client
            .post(app.url(&format!("/v1/decisions{view}")))
            .header("accept", accept)
            .json(&req)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 422, "{accept} {view}");
        let text = r.text().await.unwrap_or_default();
        assert!(text.contains("/order/shipped_at"), "{text}");
        assert!(text.contains("out of range"), "{text}");
        assert!(!text.contains("10000-"), "{text}");
    }
    let batch = body(
        app.post_json("/v1/decisions/batch", &json!({"items": [req.clone()]}))
            .await,
    )
    .await;
    assert_eq!(batch["results"][0]["status"], 422, "{batch}");
    assert!(!batch.to_string().contains("10000-"), "{batch}");
    // At the end of the range (9996-12-31), the deadline (72 h later) fits in every
    // view and the case is decided.
    req["order"]["shipped_at"] = json!("9996-12-31T23:59:59Z");
    let r = app
        .client
        .post(app.url("/v1/decisions"))
        .header("accept", "text/plain")
        .json(&req)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap_or_default();
    assert!(text.contains("9997-01-04T07:59:59+08:00"), "{text}");
}
