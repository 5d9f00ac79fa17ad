//! Data tables of real-looking inputs, each run by one test: carrier trace lines (read
//! into statuses by the rules' phrase table) and addresses (placed and zoned).

use serde_json::{Value, json};

use crate::helpers::{decide, rules};

fn rows(file: &str) -> Vec<Vec<String>> {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn every_carrier_line_in_the_table_reads_as_expected() {
    let table = rows("trace-lines.tsv");
    assert!(table.len() >= 60, "the table has {} lines", table.len());
    let carriers: std::collections::BTreeSet<&str> = table.iter().map(|r| r[0].as_str()).collect();
    for c in ["yto", "zto", "sto", "yunda", "sf", "jd", "ems", "cainiao"] {
        assert!(carriers.contains(c), "no {c} lines");
    }
    let mut wrong = Vec::new();
    for row in &table {
        let [_, line, want] = &row[..] else {
            panic!("bad row {row:?}")
        };
        let got = rules()
            .read_description(line)
            .map_or("unrecognized", |s| s.as_str());
        if got != want {
            wrong.push(format!("{line}: read {got}, expected {want}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} lines misread:\n{}",
        wrong.len(),
        table.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_address_in_the_table_is_placed_and_zoned_as_expected() {
    let table = rows("addresses.tsv");
    assert!(table.len() >= 40, "the table has {} addresses", table.len());
    let mut wrong = Vec::new();
    for row in &table {
        let (address, adcode, zone, warning) = match &row[..] {
            [a, c, z] => (a, c, z, None),
            [a, c, z, w] => (a, c, z, Some(w.as_str())),
            _ => panic!("bad row {row:?}"),
        };
        // `province|city|district` (or `province|city|district|address`, or
        // `adcode|province|city|district|address`) is the structured form; anything else
        // is free text.
        let part = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let parts = address.split('|').collect::<Vec<_>>();
        let (adcode_field, parts) = match parts[..] {
            [code, ref rest @ ..] if rest.len() == 4 => (code, rest.to_vec()),
            _ => ("", parts),
        };
        let (destination, input) = match parts[..] {
            [province, city, district, ref text @ ..] if text.len() <= 1 => {
                let text = text.first().copied().unwrap_or_default();
                let mut fields = serde_json::Map::new();
                for (key, value) in [
                    ("adcode", adcode_field),
                    ("province", province),
                    ("city", city),
                    ("district", district),
                    ("address", text),
                ] {
                    if !value.is_empty() {
                        fields.insert(key.into(), json!(value));
                    }
                }
                (
                    Value::Object(fields),
                    aftersales::geo::DestinationInput {
                        adcode: part(adcode_field),
                        province: part(province),
                        city: part(city),
                        district: part(district),
                        address: part(text),
                    },
                )
            }
            _ => (
                json!({"address": address}),
                aftersales::geo::DestinationInput {
                    address: Some(address.clone()),
                    ..Default::default()
                },
            ),
        };
        let area = aftersales::gazetteer()
            .resolve(&input)
            .area
            .map(|a| format!("{:06}", a.code()));
        if area.as_deref().unwrap_or("-") != adcode {
            wrong.push(format!("{address}: placed at {area:?}, expected {adcode}"));
            continue;
        }
        let v = decide(&json!({
            "refund_type": "refund_only",
            "requested_at": "2023-09-20T10:00:00+08:00",
            "as_of": "2023-09-20T10:00:00+08:00",
            "order": {"order_id": "T"},
            "destination": destination,
        }));
        let got_zone = v["zone"]["id"].as_str().unwrap_or("-");
        if got_zone != zone {
            wrong.push(format!("{address}: zone {got_zone}, expected {zone}"));
        }
        let codes: Vec<&str> = v["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w["code"].as_str())
            .collect();
        if let Some(want) = warning
            && !codes.contains(&want)
        {
            wrong.push(format!("{address}: no {want} warning: {codes:?}"));
        }
        let place_warned = codes.iter().any(|c| {
            [
                "destination_unresolved",
                "destination_ambiguous",
                "destination_conflict",
            ]
            .contains(c)
        });
        if adcode == "-" && !place_warned {
            wrong.push(format!(
                "{address}: not placed, but no warning says so: {}",
                v["warnings"]
            ));
        }
        // A place warned about is expected only where the row says so (a conflict placed
        // as far as its readings agree).
        if adcode != "-" && place_warned && warning.is_none() {
            wrong.push(format!(
                "{address}: placed, yet warned about: {}",
                v["warnings"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} addresses wrong:\n{}",
        wrong.len(),
        table.len(),
        wrong.join("\n")
    );
}

#[test]
fn each_input_form_decides_the_same_as_its_clean_equivalent() {
    let base = |trace: Value| {
        json!({
            "refund_type": "refund_only",
            "requested_at": "2023-10-01T09:00:00+08:00",
            "as_of": "2023-10-01T09:30:00+08:00",
            "order": {"order_id": "T"},
            "destination": {"adcode": "330106"},
            "logistics_trace": trace,
        })
    };
    let clean = decide(&base(json!([
        {"at": "2023-09-28T10:00:00+08:00", "status": "collected"},
        {"at": "2023-09-30T18:00:00+08:00", "status": "rejected"}
    ])));
    let forms = [
        json!([{"at": "2023-09-28T10:00:00+08:00", "description": "【义乌市】圆通速递 已揽收"},
               {"at": "2023-09-30T18:00:00+08:00", "description": "收件人拒收,快件已安排退回"}]),
        json!([{"at": "2023-09-28T10:00:00+08:00", "status": "kuaidi100:1"},
               {"at": "2023-09-30T18:00:00+08:00", "status": "kuaidi100:14"}]),
        json!([{"at": "2023-09-28T10:00:00+08:00", "status": "cainiao:TMS_ACCEPT"},
               {"at": "2023-09-30T18:00:00+08:00", "status": "cainiao:TMS_FAILED"}]),
        json!([{"at": "2023-09-28T10:00:00+08:00", "status": "taobao:GOT"},
               {"at": "2023-09-30T18:00:00+08:00", "status": "taobao:REJECT"}]),
    ];
    for trace in forms {
        let v = decide(&base(trace.clone()));
        for key in [
            "scenario",
            "decision",
            "applies",
            "deadlines",
            "actions",
            "zone",
        ] {
            assert_eq!(v[key], clean[key], "{key} for {trace}");
        }
        let read = v["explanation"]
            .as_array()
            .and_then(|e| e.iter().find(|x| x["code"] == "status_read"))
            .cloned();
        let raw = trace[1]["status"]
            .as_str()
            .or(trace[1]["description"].as_str())
            .unwrap_or_default()
            .to_owned();
        assert!(
            read.is_some_and(|r| r["detail"].as_str().is_some_and(|d| d.contains(&raw))),
            "the raw value is explained for {trace}"
        );
    }
    let mut by_names = base(json!([]));
    by_names["destination"] = json!({"province": "浙江", "city": "杭州", "district": "西湖"});
    let mut by_text = base(json!([]));
    by_text["destination"] = json!({"address": "浙江省杭州市 西湖區 文三路"});
    let by_adcode = decide(&base(json!([])));
    for v in [decide(&by_names), decide(&by_text)] {
        assert_eq!(v["zone"], by_adcode["zone"]);
        assert_eq!(v["warnings"], json!([]));
    }
}

#[test]
fn kuaidi100_traps_decide_differently() {
    let with = |code: &str| {
        decide(&json!({
            "refund_type": "refund_only",
            "requested_at": "2023-10-01T09:00:00+08:00",
            "as_of": "2023-10-01T09:30:00+08:00",
            "order": {"order_id": "T"},
            "destination": {"adcode": "330106"},
            "logistics_trace": [{"at": "2023-09-30T18:00:00+08:00", "status": code}],
        }))["scenario"]
            .clone()
    };
    assert_eq!(
        with("kuaidi100:4"),
        "rejected_or_returned",
        "退签: back at the sender"
    );
    assert_eq!(
        with("kuaidi100:6"),
        "rejected_or_returned",
        "退回: on the way back"
    );
    assert_eq!(with("kuaidi100:5"), "in_transit", "派件: out for delivery");
    assert_eq!(with("kuaidi100:3"), "delivered");
    assert_eq!(
        with("cainiao:TMS_REJECT"),
        "in_transit",
        "a failed pickup is not a refusal"
    );
}

fn kuaishou(refund: Value, rest: Value) -> Value {
    let mut body = rest;
    body["kuaishou_refund"] = refund;
    body
}

#[test]
fn a_kuaishou_refund_detail_decides_as_its_clean_equivalent() {
    let ex: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/fixtures/examples/05-return-undelivered-in-countdown.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap_or_default(),
    )
    .unwrap_or_default();
    let clean = decide(&ex["request"]);
    let mut rest = ex["request"].clone();
    for k in ["case_id", "refund_type", "requested_at", "order"] {
        rest.as_object_mut().map(|o| o.remove(k));
    }
    rest["return"]
        .as_object_mut()
        .map(|r| r.remove("countdown_started_at"));
    let body = kuaishou(
        json!({"refundId": 7001, "oid": "KS-1005", "status": 40, "handlingWay": 1, "submitTime": 1696298400000i64, "expireTime": 1696636800000i64}),
        rest,
    );
    let mut v = decide(&body);
    // The platform's own deadline comes on top (policy.md §9), at expireTime.
    let platform = v["deadlines"]
        .as_array_mut()
        .and_then(|d| d.pop())
        .unwrap_or_default();
    assert_eq!(platform["kind"], "platform_deadline");
    assert_eq!(platform["due_at"], clean["deadlines"][0]["due_at"]);
    for key in [
        "scenario",
        "decision",
        "applies",
        "deadlines",
        "actions",
        "evidence",
        "zone",
    ] {
        assert_eq!(v[key], clean[key], "{key}");
    }
    assert_eq!(v["case_id"], "7001");
}

#[test]
fn a_kuaishou_refund_only_with_goods_received_is_delivered() {
    let body = kuaishou(
        json!({"oid": 1, "status": 10, "handlingWay": 10, "submitTime": 1696298400000i64, "receiptStatus": 2}),
        json!({"as_of": "2023-10-03T12:00:00+08:00", "destination": {"adcode": "330102"}}),
    );
    let v = decide(&body);
    assert_eq!(
        (v["scenario"].clone(), v["decision"].clone()),
        (json!("delivered"), json!("standard_process"))
    );
}

#[test]
fn a_kuaishou_return_waybill_without_its_trace_is_warned_about() {
    let body = kuaishou(
        json!({"oid": 1, "status": "11", "handlingWay": "1", "submitTime": "1696298400000", "expressNo": "YT7412345678901"}),
        json!({"as_of": "2023-10-03T12:00:00+08:00", "destination": {"adcode": "330102"}, "return": {"destination": {"adcode": "330110"}}}),
    );
    let v = decide(&body);
    assert_eq!(v["scenario"], "return_not_shipped");
    let warning = v["warnings"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["code"] == "return_trace_missing"))
        .cloned()
        .unwrap_or_default();
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.contains("YT7412345678901")),
        "{warning}"
    );
}

#[test]
fn bad_kuaishou_fields_are_refused_with_their_pointers() {
    let body = kuaishou(
        json!({"handlingWay": 2, "submitTime": -5, "receiptStatus": "02", "refundId": ""}),
        json!({"destination": {"adcode": "330102"}}),
    );
    let mut got = crate::helpers::refused(&body);
    got.sort();
    assert_eq!(
        got,
        [
            "/kuaishou_refund/handlingWay",
            "/kuaishou_refund/oid",
            "/kuaishou_refund/receiptStatus",
            "/kuaishou_refund/refundId",
            "/kuaishou_refund/status",
            "/kuaishou_refund/submitTime"
        ]
    );
}

#[test]
fn unknown_provider_codes_are_refused_with_the_events_pointer() {
    let body = json!({
        "refund_type": "refund_only",
        "requested_at": "2023-10-01T09:00:00+08:00",
        "order": {"order_id": "T"},
        "destination": {"adcode": "330106"},
        "logistics_trace": [
            {"at": "2023-09-28T10:00:00+08:00", "status": "kuaidi100:1"},
            {"at": "2023-09-29T10:00:00+08:00", "status": "kuaidi100:99"},
            {"at": "2023-09-30T10:00:00+08:00", "status": "ups:D"}
        ],
    });
    assert_eq!(
        crate::helpers::refused(&body),
        ["/logistics_trace/1/status", "/logistics_trace/2/status"]
    );
}

#[test]
fn an_unrecognised_carrier_line_is_in_transit_with_a_warning_naming_the_event() {
    let v = decide(&json!({
        "refund_type": "refund_only",
        "requested_at": "2023-10-01T09:00:00+08:00",
        "as_of": "2023-10-01T10:00:00+08:00",
        "order": {"order_id": "T"},
        "destination": {"adcode": "330106"},
        "logistics_trace": [{"at": "2023-10-01T08:00:00+08:00", "description": "您的快件已被扫描"}],
    }));
    assert_eq!(v["scenario"], "in_transit");
    let w = &v["warnings"][0];
    assert_eq!(w["code"], "unrecognized_description");
    assert!(
        w["message"]
            .as_str()
            .is_some_and(|m| m.contains("/logistics_trace/0")),
        "{w}"
    );
}
