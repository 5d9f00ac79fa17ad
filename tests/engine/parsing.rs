//! Reading request bodies: duplicated keys (400), unknown fields (422), nulls, times at
//! the ends of the range, traces pasted as text, and hostile bodies.

use aftersales::RequestErrorKind::{Invalid, Malformed};
use serde_json::{Value, json};

use crate::helpers::{bytes, codes, deadline, decide, decide_bytes, refusal, refused};

/// The stalled example (the README's first): Hangzhou 上城区, last news 2023-10-10 14:00.
fn stalled() -> Value {
    let example: Value = serde_json::from_str(include_str!(
        "../fixtures/examples/03-stalled-shangcheng.json"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    example["request"].clone()
}

fn return_case() -> Value {
    json!({
        "refund_type": "return_and_refund",
        "requested_at": "2023-10-03T10:00:00+08:00",
        "as_of": "2023-10-06T12:00:00+08:00",
        "order": {"order_id": "O-2"},
        "destination": {"address": "江苏省南京市鼓楼区中山路1号"},
        "return": {
            "destination": {"adcode": "330110"},
            "trace": [{"at": "2023-10-05T11:00:00+08:00", "status": "in_transit"}],
            "countdown_started_at": "2023-10-05T10:00:00+08:00"
        }
    })
}

fn kuaishou_body() -> Value {
    json!({
        "kuaishou_refund": {"refundId": 7001, "oid": "KS-1005", "status": 40, "handlingWay": 1, "submitTime": 1696298400000i64, "expireTime": 1696636800000i64, "expressNo": "YT1"},
        "as_of": "2023-10-06T12:00:00+08:00",
        "destination": {"adcode": "330102"},
        "return": {"destination": {"adcode": "330110"}, "trace": [{"at": "2023-10-05T11:00:00+08:00", "status": "in_transit"}]}
    })
}

/// Replaces the first `from` of a body's text by `to`.
fn edited(body: &Value, from: &str, to: &str) -> Vec<u8> {
    let text = body.to_string();
    assert!(text.contains(from), "{from} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}

fn malformed_at(body: &[u8]) -> String {
    let e = refusal(body);
    assert_eq!(e.kind, Malformed, "{}", String::from_utf8_lossy(body));
    assert_eq!(e.errors.len(), 1);
    e.errors[0].pointer.clone()
}

/// [`invalid`], whose errors point at `pointers`, in that order.
fn invalid_at(body: &[u8], pointers: &[&str]) -> Vec<(String, String)> {
    let errors = invalid(body);
    let at: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(at, pointers, "{errors:?}");
    errors
}

fn invalid(body: &[u8]) -> Vec<(String, String)> {
    let e = refusal(body);
    assert_eq!(e.kind, Invalid, "{:?}", e.errors);
    e.errors
        .into_iter()
        .map(|e| (e.pointer, e.message))
        .collect()
}

// Duplicated keys --------------------------------------------------------------------

#[test]
fn a_duplicated_key_at_any_level_is_malformed_with_its_pointer() {
    let s = stalled();
    let r = return_case();
    let k = kuaishou_body();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            edited(
                &s,
                r#""refund_type":"refund_only""#,
                r#""refund_type":"bogus","refund_type":"refund_only""#,
            ),
            "/refund_type",
        ),
        (
            edited(
                &s,
                r#""case_id":"AS-1003""#,
                r#""case_id":null,"case_id":null"#,
            ),
            "/case_id",
        ),
        (
            edited(
                &s,
                r#""order_id":"KS-1003""#,
                r#""order_id":"A","order_id":"B""#,
            ),
            "/order/order_id",
        ),
        (
            edited(&s, r#""address":"#, r#""address":"x","address":"#),
            "/destination/address",
        ),
        (
            edited(
                &s,
                r#""at":"2023-10-10T14:00:00+08:00""#,
                r#""at":1,"at":"2023-10-10T14:00:00+08:00""#,
            ),
            "/logistics_trace/1/at",
        ),
        (
            edited(
                &r,
                r#""status":"in_transit""#,
                r#""status":"delivered","status":"in_transit""#,
            ),
            "/return/trace/0/status",
        ),
        (
            edited(
                &r,
                r#""adcode":"330110""#,
                r#""adcode":"330110","adcode":"330110""#,
            ),
            "/return/destination/adcode",
        ),
        (
            edited(
                &s,
                r#""case_id""#,
                r#""shop":{"open_refund_requests":1,"open_refund_requests":2},"case_id""#,
            ),
            "/shop/open_refund_requests",
        ),
        // The same key spelt with an escape is the same key.
        (
            edited(
                &s,
                r#""case_id":"AS-1003""#,
                r#""case_id":"A","case\u005fid":"B""#,
            ),
            "/case_id",
        ),
        // Unknown keys, twice.
        (edited(&s, r#""case_id""#, r#""x":1,"x":2,"case_id""#), "/x"),
        (
            edited(&s, r#""case_id""#, r#""a/b~":1,"a/b~":2,"case_id""#),
            "/a~1b~0",
        ),
        // Inside values no field reads.
        (
            edited(&s, r#""case_id""#, r#""x":[{"y":{"z":1,"z":2}}],"case_id""#),
            "/x/0/y/z",
        ),
        // The Kuaishou mirrors ignore unknown fields but not duplicated ones.
        (
            edited(
                &k,
                r#""oid":"KS-1005""#,
                r#""oid":"KS-1005","oid":"KS-1006""#,
            ),
            "/kuaishou_refund/oid",
        ),
        (
            edited(&k, r#""oid""#, r#""refundFee":1,"refundFee":2,"oid""#),
            "/kuaishou_refund/refundFee",
        ),
        (
            edited(
                &k,
                r#""oid""#,
                r#""extra":{"items":[{"sku":1,"sku":2}]},"oid""#,
            ),
            "/kuaishou_refund/extra/items/0/sku",
        ),
        (
            edited(
                &k,
                r#""as_of""#,
                r#""kuaishou_order":{"sendTime":1,"sendTime":2},"as_of""#,
            ),
            "/kuaishou_order/sendTime",
        ),
        (
            edited(&k, r#""as_of""#, r#""kuaishou_refund":{},"as_of""#),
            "/kuaishou_refund",
        ),
    ];
    for (body, pointer) in cases {
        assert_eq!(
            malformed_at(&body),
            pointer,
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    let e = refusal(&edited(
        &s,
        r#""refund_type":"refund_only""#,
        r#""refund_type":"bogus","refund_type":"refund_only""#,
    ));
    assert!(
        e.errors[0].message.contains("twice") && e.errors[0].message.contains("line 1"),
        "{:?}",
        e.errors
    );
}

#[test]
fn the_same_key_in_different_objects_is_no_duplicate() {
    let mut r = return_case();
    let want = decide(&r);
    r["shop"] = json!({"open_refund_requests": 3});
    r["case_id"] = json!("C");
    r["return"]["trace"] = json!([
        {"at": "2023-10-05T11:00:00+08:00", "status": "in_transit"},
        {"at": "2023-10-05T12:00:00+08:00", "status": "in_transit"}
    ]);
    assert_eq!(decide(&r)["scenario"], want["scenario"]);
}

// Unknown fields ---------------------------------------------------------------------

#[test]
fn a_misspelt_field_is_refused_never_read_as_missing() {
    let mut r = stalled();
    let trace = r
        .as_object_mut()
        .and_then(|o| o.remove("logistics_trace"))
        .unwrap_or_default();
    r["logistics_trase"] = trace;
    let errors = invalid(&bytes(&r));
    assert_eq!(
        errors,
        [(
            "/logistics_trase".to_owned(),
            "is an unknown field; did you mean `logistics_trace`?".to_owned()
        )]
    );
}

#[test]
fn unknown_fields_are_refused_at_every_level_with_a_hint() {
    let mut r = return_case();
    r["refundType"] = json!("refund_only");
    r["order"]["shiped_at"] = json!("2023-10-01 10:00");
    r["destination"]["cty"] = json!("南京");
    r["return"]["countdown_end"] = json!(1);
    r["return"]["destination"]["a/b"] = json!(1);
    r["return"]["trace"][0]["stauts"] = json!("delivered");
    r["shop"] = json!({"open_requests": 1});
    r["buyer_phone"] = json!("13800001111");
    let errors = invalid(&bytes(&r));
    let mut got: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    got.sort();
    assert_eq!(
        got,
        [
            "/buyer_phone",
            "/destination/cty",
            "/order/shiped_at",
            "/refundType",
            "/return/countdown_end",
            "/return/destination/a~1b",
            "/return/trace/0/stauts",
            "/shop/open_requests",
        ]
    );
    let message = |p: &str| {
        errors
            .iter()
            .find(|(q, _)| q == p)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    };
    for (pointer, hint) in [
        ("/refundType", "`refund_type`"),
        ("/order/shiped_at", "`shipped_at`"),
        ("/destination/cty", "`city`"),
        ("/return/trace/0/stauts", "`status`"),
        ("/return/countdown_end", "`countdown_ends_at`"),
    ] {
        assert!(
            message(pointer).contains(hint),
            "{pointer}: {}",
            message(pointer)
        );
    }
    assert!(
        message("/buyer_phone").contains("this object takes case_id, refund_type"),
        "{}",
        message("/buyer_phone")
    );
}

#[test]
fn many_unknown_fields_are_listed_up_to_ten_and_counted() {
    let mut s = stalled();
    for i in 0..50_000 {
        s["order"][format!("k{i}")] = json!(i);
    }
    let errors = invalid(&bytes(&s));
    assert_eq!(errors.len(), 11);
    assert_eq!(
        errors[0],
        (
            "/order".to_owned(),
            "has 49990 more unknown fields".to_owned()
        )
    );
    let long = "x".repeat(100_000);
    let mut s = stalled();
    s[&long] = json!(1);
    let errors = invalid(&bytes(&s));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].1.contains("this object takes"),
        "no hint for a key that long"
    );
}

#[test]
fn the_kuaishou_details_accept_fields_they_do_not_read() {
    let mut k = kuaishou_body();
    let plain = decide(&k);
    k["kuaishou_refund"]["refundFee"] = json!(1999);
    k["kuaishou_refund"]["reason"] = json!({"code": 3, "desc": "不想要了", "tags": [1, 2]});
    k["kuaishou_refund"]["negotiateStatus"] = json!(null);
    k["kuaishou_order"] = json!({"orderBaseInfo": {"oid": "KS-1005", "payTime": 1696100000000i64, "buyerNick": "x"}, "orderAddress": {"x": [1]}});
    let v = decide(&k);
    for key in ["scenario", "decision", "deadlines", "warnings"] {
        assert_eq!(v[key], plain[key], "{key}");
    }
    k["kuaishou_order"] = json!(null);
    assert_eq!(decide(&k)["decision"], plain["decision"]);
    k["kuaishou_order"] = json!([1]);
    assert_eq!(refused(&k), ["/kuaishou_order"]);
    // The rest of a Kuaishou body is the contract's: misspelt is refused.
    k["kuaishou_order"] = json!(null);
    k["logistic_trace"] = json!([]);
    assert_eq!(refused(&k), ["/logistic_trace"]);
}

#[test]
fn a_kuaishou_order_without_the_refund_detail_is_refused() {
    let mut s = stalled();
    s["kuaishou_order"] = json!({"sendTime": 1696200000000i64});
    assert_eq!(refused(&s), ["/kuaishou_order"]);
    s["kuaishou_order"] = json!(null);
    assert_eq!(refused(&s), ["/kuaishou_order"]);
}

#[test]
fn kuaishou_problems_and_the_bodys_problems_are_reported_together() {
    let mut k = kuaishou_body();
    k["kuaishou_refund"]["handlingWay"] = json!(6);
    k["destination"] = json!({"adcode": "33010"});
    k["order"] = json!({"placed_at": "soon"});
    let mut got = refused(&k);
    got.sort();
    assert_eq!(
        got,
        [
            "/destination/adcode",
            "/kuaishou_refund/handlingWay",
            "/order/placed_at"
        ]
    );
    k["kuaishou_refund"] = json!("2123456789012");
    assert!(refused(&k).contains(&"/kuaishou_refund".to_owned()));
}

#[test]
fn a_kuaishou_body_refuses_the_contract_fields_its_detail_gives() {
    let mut k = kuaishou_body();
    k["case_id"] = json!("AS-1");
    k["refund_type"] = json!("return_and_refund");
    k["requested_at"] = json!(null);
    k["order"] = json!({"order_id": "KS-1005", "placed_at": "2023-10-01 10:00"});
    let errors = invalid(&bytes(&k));
    let pointers: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/case_id",
            "/refund_type",
            "/requested_at",
            "/order/order_id"
        ]
    );
    assert!(
        errors[0].1.contains("kuaishou_refund.refundId"),
        "{errors:?}"
    );
    assert!(errors[3].1.contains("kuaishou_refund.oid"), "{errors:?}");
    // The order's times are the body's to give.
    if let Some(o) = k.as_object_mut() {
        o.remove("case_id");
        o.remove("refund_type");
        o.remove("requested_at");
    }
    k["order"] = json!({"placed_at": "2023-10-01 10:00", "shipped_at": null});
    assert_eq!(decide(&k)["case_id"], "7001");
}

// Nulls ------------------------------------------------------------------------------

#[test]
fn null_is_accepted_for_every_optional_field() {
    let mut s = stalled();
    let want = decide(&s);
    s["case_id"] = json!(null);
    s["order"]["placed_at"] = json!(null);
    s["order"]["shipped_at"] = json!(null);
    s["logistics_text"] = json!(null);
    s["return"] = json!(null);
    s["shop"] = json!({"open_refund_requests": null});
    s["logistics_trace"][0]["location"] = json!(null);
    let v = decide(&s);
    assert_eq!(v["decision"], want["decision"]);
    assert_eq!(v["case_id"], Value::Null);
    s["shop"] = json!(null);
    s["logistics_trace"] = json!(null);
    s["logistics_text"] = json!("2023-10-10 14:00 【杭州市】快件已到达 杭州转运中心");
    assert_eq!(decide(&s)["scenario"], "stalled");

    let mut r = return_case();
    r["return"]["destination"] = json!(null);
    r["return"]["trace_text"] = json!(null);
    r["return"]["countdown_ends_at"] = json!(null);
    decide(&r);
    r["return"]["trace"] = json!(null);
    r["return"]["countdown_started_at"] = json!(null);
    assert_eq!(decide(&r)["scenario"], "return_not_shipped");
}

#[test]
fn null_is_refused_where_presence_means_something() {
    let mut s = stalled();
    s["refund_type"] = json!(null);
    s["requested_at"] = json!(null);
    s["order"]["order_id"] = json!(null);
    s["logistics_trace"][0]["status"] = json!(null);
    s["logistics_trace"][1]["at"] = json!(null);
    s["destination"]["address"] = json!(null);
    let mut got = refused(&s);
    got.sort();
    assert_eq!(
        got,
        [
            "/destination/address",
            "/logistics_trace/0/status",
            "/logistics_trace/1/at",
            "/order/order_id",
            "/refund_type",
            "/requested_at"
        ]
    );
}

#[test]
fn a_return_on_a_refund_only_case_is_refused_not_left_unread() {
    // The attack: a return whose trace shows the goods going back, on a refund-only
    // case, decided as not shipped with no word about it.
    let mut r = return_case();
    r["refund_type"] = json!("refund_only");
    r["return"]["trace"] =
        json!([{"at": "2023-10-04T11:00:00+08:00", "description": "【南京市】圆通速递 已揽收"}]);
    let errors = invalid_at(&bytes(&r), &["/return"]);
    assert!(errors[0].1.contains("return_and_refund"), "{errors:?}");
    assert!(errors[0].1.contains("refund_only"), "{errors:?}");
    // `null`, or no return at all, is a refund-only case as before.
    r["return"] = json!(null);
    assert_eq!(decide(&r)["scenario"], "not_shipped");
    if let Some(o) = r.as_object_mut() {
        o.remove("return");
    }
    assert_eq!(decide(&r)["decision"], "approve_refund");
    // The same return on a return-and-refund case is read.
    let r = return_case();
    assert_eq!(decide(&r)["scenario"], "return_countdown_expired");

    // A Kuaishou refund only (handlingWay 10) with a return: refused the same way; the
    // return-and-refund body (handlingWay 1) keeps its return.
    let mut k = kuaishou_body();
    k["kuaishou_refund"]["handlingWay"] = json!(10);
    // A refund-only status (10: waiting for the merchant), not the body's return status.
    k["kuaishou_refund"]["status"] = json!(10);
    invalid_at(&bytes(&k), &["/return"]);
    k["return"] = json!(null);
    assert_eq!(decide(&k)["scenario"], "not_shipped");
    assert_eq!(
        decide(&kuaishou_body())["scenario"],
        "return_undelivered_in_countdown"
    );
}

// Hostile bodies ---------------------------------------------------------------------

#[test]
fn broken_json_is_malformed_with_its_position() {
    let s = stalled().to_string();
    for body in [
        String::new(),
        " ".into(),
        "{".into(),
        format!("{s} x"),
        format!("{s}{s}"),
        format!("\u{feff}{s}"),
        s.replacen("AS-1003", "AS-\\ud800", 1),
        s.replacen("\"AS-1003\"", "\"AS-1003", 1),
        s.replacen("\"KS-1003\"", "1e400", 1),
        s.replacen(",", ",,", 1),
        s.replacen("refund_only", "refund\u{1}only", 1),
    ] {
        let e = refusal(body.as_bytes());
        assert_eq!(e.kind, Malformed, "{body}");
        assert!(
            e.errors[0].pointer.is_empty() && e.errors[0].message.contains("line"),
            "{:?}",
            e.errors
        );
    }
    let e = refusal(&[b'{', 0xff, b'}']);
    assert_eq!(e.kind, Malformed);
}

#[test]
fn whitespace_around_the_body_is_fine() {
    let s = format!("\n\t {} \r\n", stalled());
    assert_eq!(decide_bytes(s.as_bytes(), "en")["scenario"], "stalled");
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let s = stalled();
    for depth in [200, 100_000] {
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        for (from, to) in [
            (r#""case_id":"AS-1003""#, format!(r#""case_id":{deep}"#)),
            (r#""case_id":"AS-1003""#, format!(r#""x":{deep}"#)),
            (r#""order_id":"KS-1003""#, format!(r#""order_id":{deep}"#)),
        ] {
            assert_eq!(refusal(&edited(&s, from, &to)).kind, Malformed);
        }
        assert_eq!(refusal(deep.as_bytes()).kind, Malformed);
    }
    // Shallow nesting where a string belongs is a plain wrong kind.
    let body = edited(&s, r#""case_id":"AS-1003""#, r#""case_id":[[[{"a":[1]}]]]"#);
    assert_eq!(
        invalid(&body),
        [(
            "/case_id".to_owned(),
            "must be a string, not an array".to_owned()
        )]
    );
}

#[test]
fn odd_numbers_are_refused_with_their_pointer() {
    let s = stalled();
    for (value, pointer) in [
        ("1e300", "/as_of"),
        ("18446744073709551616", "/as_of"),
        ("-1", "/as_of"),
        ("1.5", "/as_of"),
        ("253307692800000", "/as_of"),
        ("253402214399999", "/as_of"),
        // Whole, but below 10^11: epoch seconds (or nothing) rather than milliseconds.
        ("-0", "/as_of"),
        ("1696986000.0", "/as_of"),
    ] {
        let body = edited(
            &s,
            r#""as_of":"2023-10-14T09:00:00+08:00""#,
            &format!(r#""as_of":{value}"#),
        );
        let errors = invalid(&body);
        assert_eq!(errors.len(), 1, "{value}: {errors:?}");
        assert_eq!(errors[0].0, pointer, "{value}");
    }
    // 1696986000000.0 and 1.696986E12 are whole numbers, as JSON Schema counts them.
    for value in ["1696986000000.0", "1.696986E12"] {
        let body = edited(
            &s,
            r#""as_of":"2023-10-14T09:00:00+08:00""#,
            &format!(r#""as_of":{value}"#),
        );
        decide_bytes(&body, "en");
    }
    let body = edited(
        &s,
        r#""address":"浙江省杭州市上城区解放路100号""#,
        r#""adcode":1e20"#,
    );
    assert_eq!(invalid(&body)[0].0, "/destination/adcode");
    let body = edited(
        &s,
        r#""case_id""#,
        r#""shop":{"open_refund_requests":-0.0},"case_id""#,
    );
    decide_bytes(&body, "en");
}

#[test]
fn strings_with_escapes_and_any_characters_are_read() {
    let mut s = stalled();
    s["case_id"] = json!("AS-\u{1F600}-\u{0}-\"-\\");
    let v = decide(&s);
    assert_eq!(v["case_id"], "AS-\u{1F600}-\u{0}-\"-\\");
    let body = edited(&stalled(), "AS-1003", r"AS-\ud83d\ude00\n");
    assert_eq!(decide_bytes(&body, "en")["case_id"], "AS-\u{1F600}\n");
}

// Times at the ends of the range -----------------------------------------------------

#[test]
fn times_outside_1970_to_9996_12_31_are_refused_in_every_form() {
    for as_of in [
        json!("9999-12-31T16:00:00Z"),
        json!("9999-12-30T23:59:59Z"),
        json!("9997-01-01T00:00:00Z"),
        json!("9996-12-31T23:59:59-00:01"),
        json!("9996-12-31 10:00:00"),
        json!("0000-01-01T00:00:00Z"),
        json!("1969-12-31T23:59:59Z"),
        json!("1970-01-01 10:00:00"),
        json!(-1),
        json!(253_307_692_800_000i64),
        json!(253_402_214_399_999i64),
    ] {
        let mut s = stalled();
        s["as_of"] = as_of.clone();
        let errors = invalid(&bytes(&s));
        assert_eq!(errors.len(), 1, "{as_of}");
        assert_eq!(errors[0].0, "/as_of");
        assert!(errors[0].1.contains("out of range"), "{}", errors[0].1);
        assert!(
            errors[0].1.contains("9996-12-31T23:59:59Z"),
            "{}",
            errors[0].1
        );
    }
}

#[test]
fn the_ends_of_the_range_are_decided_and_shown_with_four_digit_years() {
    for (as_of, shown) in [
        (
            json!("9996-12-31T23:59:59.999Z"),
            "9997-01-01T07:59:59.999+08:00",
        ),
        (
            json!(253_307_692_799_999i64),
            "9997-01-01T07:59:59.999+08:00",
        ),
        (json!("9996-12-30 23:59:59"), "9996-12-30T23:59:59+08:00"),
        (
            json!("9996-02-29T12:00:00+08:00"),
            "9996-02-29T12:00:00+08:00",
        ),
        (json!("2023-10-14t01:00:00z"), "2023-10-14T09:00:00+08:00"),
    ] {
        let mut s = stalled();
        s["as_of"] = as_of;
        assert_eq!(decide(&s)["as_of"], shown);
    }
    let mut s = stalled();
    s["requested_at"] = json!("1970-01-01T00:00:00Z");
    s["logistics_trace"] = json!([{"at": "1970-01-01T00:00:00Z", "status": "in_transit"}]);
    let v = decide(&s);
    assert_eq!(v["scenario"], "stalled");
    // The smallest integer read as epoch milliseconds: 1973-03-03T09:46:40Z.
    s["logistics_trace"] = json!([{"at": 100_000_000_000i64, "status": "in_transit"}]);
    assert_eq!(decide(&s)["scenario"], "stalled");
}

/// The range ends in 9996 so that what a decision counts from an accepted time (two
/// thresholds at most) is still in the year 9999: a time that would have counted past
/// it (near 9999-12-31, as accepted before) is now refused as out of range at the same
/// pointer, and every time at the new end is decided.
#[test]
fn a_deadline_counted_from_the_end_of_the_range_is_decided_and_later_times_are_refused() {
    let base = || {
        json!({
            "refund_type": "refund_only",
            "requested_at": "2023-10-03T10:00:00+08:00",
            "as_of": "2023-10-06T12:00:00+08:00",
            "order": {"order_id": "1"},
            "destination": {"adcode": "330108"}
        })
    };
    let out_of_range = |body: &Value, pointer: &str| {
        let errors = invalid_at(&bytes(body), &[pointer]);
        assert!(errors[0].1.contains("out of range"), "{errors:?}");
        assert!(!errors[0].1.contains("10000-"), "{errors:?}");
    };
    // shipped_at at the end of the range: in transit until 72 h later.
    let mut r = base();
    r["order"]["shipped_at"] = json!("9999-12-30T23:59:59Z");
    out_of_range(&r, "/order/shipped_at");
    r["order"]["shipped_at"] = json!("9996-12-31T23:59:59Z");
    assert_eq!(
        decide(&r)["deadlines"][0]["due_at"],
        "9997-01-04T07:59:59+08:00"
    );
    // A trace event with as_of at the end of the range: in transit, then stalled.
    let mut r = base();
    r["as_of"] = json!("9999-12-30T23:59:59.999Z");
    out_of_range(&r, "/as_of");
    r["as_of"] = json!("9996-12-31T23:59:59.999Z");
    r["logistics_trace"] = json!([{"at": "9999-12-30T10:00:00Z", "status": "in_transit"}]);
    out_of_range(&r, "/logistics_trace/0/at");
    r["logistics_trace"] = json!([{"at": "9996-12-31T10:00:00Z", "status": "in_transit"}]);
    decide(&r);
    r["logistics_trace"] = json!([{"at": "9996-12-27T10:00:00Z", "status": "in_transit"}]);
    assert_eq!(decide(&r)["scenario"], "stalled");
    // A pasted line: the text's pointer, and the line in the message.
    r.as_object_mut().map(|o| o.remove("logistics_trace"));
    r["logistics_text"] = json!("2023-10-02 09:00 已揽收\n9999-12-29 10:00 【杭州市】快件已到达");
    let errors = invalid_at(&bytes(&r), &["/logistics_text"]);
    assert!(errors[0].1.starts_with("line 2 "), "{errors:?}");
    assert!(errors[0].1.contains("out of range"), "{errors:?}");
    r["logistics_text"] = json!("2023-10-02 09:00 已揽收\n9996-12-30 10:00 【杭州市】快件已到达");
    decide(&r);
    r.as_object_mut().map(|o| o.remove("logistics_text"));
    // Stalled long before a request at the end of the range (the policy applies: the
    // parcel met the zone's control in 2023): the request drives the intercept window.
    r["requested_at"] = json!("9999-12-30T20:00:00Z");
    r["logistics_trace"] = json!([
        {"at": "2023-10-02T09:00:00+08:00", "status": "collected"},
        {"at": "9996-12-01T10:00:00Z", "status": "in_transit"}
    ]);
    out_of_range(&r, "/requested_at");
    r["requested_at"] = json!("9996-12-31T20:00:00Z");
    let v = decide(&r);
    assert_eq!(
        deadline(&v, "intercept_and_refund_by").map(|d| d["due_at"].clone()),
        Some(json!("9997-01-03T04:00:00+08:00"))
    );
    // A return countdown started at the end of the range.
    let mut r = base();
    r["refund_type"] = json!("return_and_refund");
    r["as_of"] = json!("9996-12-31T23:59:59.999Z");
    r["return"] = json!({
        "destination": {"adcode": "330110"},
        "trace": [{"at": "9996-12-31T20:00:00Z", "status": "in_transit"}],
        "countdown_started_at": "9999-12-30T23:00:00Z"
    });
    out_of_range(&r, "/return/countdown_started_at");
    r["return"]["countdown_started_at"] = json!("9996-12-31T23:00:00Z");
    let v = decide(&r);
    assert_eq!(
        deadline(&v, "respond_by").map(|d| d["due_at"].clone()),
        Some(json!("9997-01-02T07:00:00+08:00"))
    );
    // Its end given instead, decided before it.
    r["as_of"] = json!("9996-12-31T23:30:00Z");
    r["return"]["countdown_ends_at"] = json!("9996-12-31T23:59:59Z");
    let v = decide(&r);
    assert_eq!(
        deadline(&v, "respond_by").map(|d| d["due_at"].clone()),
        Some(json!("9997-01-01T07:59:59+08:00"))
    );
}

/// The guard behind the range: accepted input never reaches it, but a decision whose
/// deadline were past the year 9999 in the policy's time zone would be refused at the
/// time it was counted from, not shown with a five-digit year.
#[test]
fn the_guard_refuses_a_deadline_past_the_year_9999_at_its_source() {
    let mut r = json!({
        "refund_type": "refund_only",
        "requested_at": "2023-10-03T10:00:00+08:00",
        "as_of": "2023-10-06T12:00:00+08:00",
        "order": {"order_id": "1", "shipped_at": "9996-12-31T23:59:59Z"},
        "destination": {"adcode": "330108"}
    });
    let body = bytes(&r);
    let (case, mut decision) = aftersales::decide_body_at(crate::helpers::rules(), &body, || {
        crate::helpers::at("2000-01-01T00:00:00Z")
    })
    .unwrap_or_else(|e| panic!("{:?}", e.errors));
    assert_eq!(
        aftersales::engine::beyond_range(crate::helpers::rules(), &case, &decision),
        None
    );
    let Some(d) = decision.deadlines.first_mut() else {
        panic!("no deadline");
    };
    // Not a time a request can carry any more: built, not read.
    let utc = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.to_utc())
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    };
    d.due_at = utc("9999-12-31T16:00:00Z");
    let (pointer, message) =
        aftersales::engine::beyond_range(crate::helpers::rules(), &case, &decision)
            .unwrap_or_else(|| panic!("a deadline in 10000 passed the guard"));
    assert_eq!(pointer, "/order/shipped_at");
    assert!(message.contains("after the year 9999"), "{message}");
    // One that is still 9999 at +08:00 passes.
    decision.deadlines[0].due_at = utc("9999-12-31T15:59:59Z");
    assert_eq!(
        aftersales::engine::beyond_range(crate::helpers::rules(), &case, &decision),
        None
    );
    r["order"]["shipped_at"] = json!("9996-12-31T23:59:59.999Z");
    decide(&r);
}

#[test]
fn epoch_seconds_sent_for_milliseconds_are_refused_not_read_as_january_1970() {
    // 2023-10-11 09:00 and 2023-10-10 14:00 in epoch *seconds*: read as milliseconds
    // they fall in January 1970, so the request would be outside the impact period and
    // the parcel stalled for 53 years. Every integer below 10^11 (1973-03-03 in ms;
    // every second from 1970 to the year 5138) is refused with the likely mistake named.
    let mut s = stalled();
    s["requested_at"] = json!(1_696_986_000i64);
    s["logistics_trace"][1]["at"] = json!(1_696_917_600i64);
    s["as_of"] = json!(0);
    let errors = invalid_at(
        &bytes(&s),
        &["/requested_at", "/as_of", "/logistics_trace/1/at"],
    );
    for (_, m) in &errors {
        assert!(m.contains("epoch seconds"), "{m}");
    }
}

#[test]
fn a_date_written_as_eight_digits_is_refused_as_such_not_called_epoch_seconds() {
    // 20231011 is what someone types for 2023-10-11: refused (it is not a time), and
    // the message names that mistake rather than epoch seconds. 20231311 is no date.
    let mut s = stalled();
    s["requested_at"] = json!(20_231_011);
    s["as_of"] = json!("20231014");
    s["logistics_trace"][1]["at"] = json!(20_231_311);
    let errors = invalid_at(
        &bytes(&s),
        &["/requested_at", "/as_of", "/logistics_trace/1/at"],
    );
    assert!(errors[0].1.contains("without separators"), "{errors:?}");
    assert!(errors[2].1.contains("epoch seconds"), "{errors:?}");
}

// Traces pasted as text --------------------------------------------------------------

const PASTED: &str = "2023-10-10 14:00:00 【杭州市】快件已到达 杭州转运中心\n\n2023-10-09 20:00\t【义乌市】圆通速递 浙江省金华市义乌市公司 已揽收\n";

fn with_text(text: &str) -> Value {
    let mut s = stalled();
    s.as_object_mut().map(|o| o.remove("logistics_trace"));
    s["logistics_text"] = json!(text);
    s
}

#[test]
fn two_pasted_lines_at_one_time_are_ordered_by_the_parcels_progress() {
    let out = "2023-10-12 14:00 【杭州市】快件派送中，派送员 张三";
    let signed = "2023-10-12 14:00 【杭州市】快件已签收，签收人：本人";
    for text in [format!("{signed}\n{out}"), format!("{out}\n{signed}")] {
        let mut s = with_text(&text);
        s["requested_at"] = json!("2023-10-12T15:00:00+08:00");
        s["as_of"] = json!("2023-10-12T16:00:00+08:00");
        let v = decide(&s);
        assert_eq!(v["scenario"], "delivered", "{text}");
        assert_eq!(codes(&v, "warnings"), Vec::<String>::new(), "{text}");
    }
}

#[test]
fn a_pasted_trace_decides_as_its_events_do() {
    let want = decide(&stalled());
    let oldest_first = "2023-10-09 20:00:00   【义乌市】圆通速递 已揽收\r\n2023-10-10\u{3000}14:00\u{a0}【杭州市】快件已到达 杭州转运中心\r\n";
    for text in [PASTED, oldest_first, &PASTED.replace('\n', "\r")] {
        let v = decide(&with_text(text));
        for key in ["scenario", "decision", "deadlines"] {
            assert_eq!(v[key], want[key], "{key}: {text:?}");
        }
        let why = v["explanation"].to_string();
        assert!(why.contains("/logistics_text line"), "{why}");
    }
}

#[test]
fn each_line_is_read_with_the_phrase_table() {
    let text =
        "2023-10-10 14:00 【杭州市】快件已签收，签收人：本人\n2023-10-09 20:00 您的快件已被扫描";
    let v = decide(&with_text(text));
    assert_eq!(v["scenario"], "delivered");
    let warning = v["warnings"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["code"] == "unrecognized_description"))
        .cloned()
        .unwrap_or_default();
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.contains("/logistics_text line 2")),
        "{warning}"
    );
}

#[test]
fn a_line_without_a_readable_time_is_refused_with_its_number() {
    let text = "2023-10-10 14:00 【杭州市】快件已到达\n\n快件已发往 杭州\n2023-10-09 20:00\n2023-02-30 10:00 已揽收\n10-09 20:00 已揽收\n1970-01-01 09:00 已揽收";
    let errors = invalid(&bytes(&with_text(text)));
    assert!(
        errors.iter().all(|(p, _)| p == "/logistics_text"),
        "{errors:?}"
    );
    let messages: Vec<&str> = errors.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(messages.len(), 5, "{messages:?}");
    for (m, want) in messages.iter().zip([
        "line 3 (`快件已发往 杭州`) does not start with a time",
        "line 4 (`2023-10-09 20:00`) has a time but no text",
        "line 5 (`2023-02-30 10:00 已揽收`) starts with `2023-02-30 10:00`, which is not a real date",
        "line 6 (`10-09 20:00 已揽收`) starts with a date without its year",
        "line 7 (`1970-01-01 09:00 已揽收`) starts with `1970-01-01 09:00`, which is out of range",
    ]) {
        assert!(m.starts_with(want), "{m}");
    }
}

/// The explanation of the stalled case whose pasted trace is a collection at 2023-10-09
/// 20:00 and then `lines`: it states the last movement's time. Where `lines` has a time
/// alone on a line (events on two lines), the collection takes two lines too, after them
/// (a paste does not mix one-line and two-line events); line numbers stay the same.
fn read_at(lines: &str) -> Result<String, Vec<(String, String)>> {
    let timed = |l: &str| l.contains(':') || l.contains('：');
    let bare = |l: &str| l.ends_with(|c: char| c.is_ascii_digit() || c == '０');
    let two_lines = lines.lines().map(str::trim).any(|l| timed(l) && bare(l))
        && !lines.lines().map(str::trim).any(|l| timed(l) && !bare(l))
        && lines.lines().filter(|l| !l.trim().is_empty()).count() > 1;
    let text = if two_lines {
        format!("{lines}\n2023-10-09 20:00\n快件已揽收")
    } else {
        format!("2023-10-09 20:00 快件已揽收\n{lines}")
    };
    let e = aftersales::decide_json(
        crate::helpers::rules(),
        &bytes(&with_text(&text)),
        chrono::Utc::now(),
        Default::default(),
        String::new(),
    );
    match e {
        Ok(d) => {
            let v = serde_json::to_value(d.view).unwrap_or_default();
            Ok(v["explanation"].to_string())
        }
        Err(e) => Err(e
            .errors
            .into_iter()
            .map(|e| (e.pointer, e.message))
            .collect()),
    }
}

#[test]
fn pasted_times_in_the_forms_tracking_pages_give_are_read() {
    let at = "2023-10-10T14:00:00+08:00";
    for (lines, want) in [
        // An offset or zone after the time is applied; without one, Beijing time.
        (
            "2023-10-10 22:00:00 -0500 快件已到达转运中心",
            "2023-10-11T11:00:00+08:00",
        ),
        (
            "2023-10-10 22:00:00 -05:00 快件已到达转运中心",
            "2023-10-11T11:00:00+08:00",
        ),
        ("2023-10-10 06:00:00 UTC 快件已到达转运中心", at),
        ("2023-10-10 06:00:00 GMT 快件已到达转运中心", at),
        ("2023-10-10 06:00:00 +00:00 快件已到达转运中心", at),
        ("2023-10-10T06:00:00Z 快件已到达转运中心", at),
        ("2023-10-10 06:00 Z 快件已到达转运中心", at),
        ("2023-10-10 14:00:00 +0800 快件已到达转运中心", at),
        ("2023-10-10 14:00:00+08:00 快件已到达转运中心", at),
        ("2023-10-10 14:00:00+08 快件已到达转运中心", at),
        ("2023-10-10 14:00:00 GMT+8 快件已到达转运中心", at),
        ("2023-10-10 14:00:00 UTC+08:00 快件已到达转运中心", at),
        ("2023-10-10 14:00:00 (GMT+8) 快件已到达转运中心", at),
        ("2023-10-10 14:00:00（UTC+0800） 快件已到达转运中心", at),
        ("2023-10-10 14:00:00 北京时间 快件已到达转运中心", at),
        ("2023-10-10 14:00:00 快件已到达转运中心", at),
        // Other date and time forms.
        ("2023/10/10 14:00 快件已到达转运中心", at),
        ("2023.10.10 14:00:00 快件已到达转运中心", at),
        ("2023年10月10日 14:00 快件已到达转运中心", at),
        ("2023年10月10日14时00分 快件已到达转运中心", at),
        ("2023年10月10日 14时00分00秒 快件已到达转运中心", at),
        ("2023-10-10T14:00:00 快件已到达转运中心", at),
        ("2023-10-10 14:00:00.000 快件已到达转运中心", at),
        (
            "2023-10-10 14:00:00.1234567891234 快件已到达转运中心",
            "2023-10-10T14:00:00.123456789+08:00",
        ),
        (
            "2023-10-10 9:05 快件已到达转运中心",
            "2023-10-10T09:05:00+08:00",
        ),
        (
            "2023-10-9 21:05 快件已到达转运中心",
            "2023-10-09T21:05:00+08:00",
        ),
        ("Oct 10, 2023 14:00 快件已到达转运中心", at),
        ("10 October 2023 14:00:00 快件已到达转运中心", at),
        // The text right after the time, or after a comma or colon; the time in brackets.
        ("2023-10-10 14:00:00快件已到达转运中心", at),
        ("2023-10-10 14:00:00,快件已到达转运中心", at),
        ("2023-10-10 14:00:00：快件已到达转运中心", at),
        ("[2023-10-10 14:00:00] 快件已到达转运中心", at),
        ("【2023-10-10 14:00:00】快件已到达转运中心", at),
        // A weekday that is the date's; the time before the date; full-width characters.
        ("2023-10-10 星期二 14:00:00 快件已到达转运中心", at),
        ("2023-10-10 周二 14:00:00 快件已到达转运中心", at),
        ("2023-10-10（周二） 14:00 快件已到达转运中心", at),
        ("14:00 2023-10-10 快件已到达转运中心", at),
        (
            "２０２３－１０－１０　１４：００：００　快件已到达转运中心",
            at,
        ),
        ("２０２３／１０／１０ １４：００ 快件已到达转运中心", at),
        // Two-line events: the time, then its text; a date heading, then its times.
        ("2023-10-10 14:00:00\n快件已到达转运中心", at),
        ("2023-10-10 14:00:00\n\n快件已到达转运中心\n", at),
        ("2023-10-10 星期二\n14:00:00 快件已到达转运中心", at),
        ("2023-10-10\n14:00:00\n快件已到达转运中心", at),
        (
            "2023-10-10\n10:00 快件离开义乌\n14:00 快件已到达转运中心",
            at,
        ),
    ] {
        let got = read_at(lines).unwrap_or_else(|e| panic!("{lines:?}: {e:?}"));
        assert!(got.contains(want), "{lines:?}: {got}, want {want}");
    }
}

#[test]
fn pasted_times_that_cannot_be_read_are_refused_with_their_line() {
    for (lines, want) in [
        // Offset-like but unreadable: refused, never taken as the carrier's text.
        (
            "2023-10-10 14:00:00 +8 快件已到达",
            "line 2 (`2023-10-10 14:00:00 +8 快件已到达`) has `+8` after its time",
        ),
        (
            "2023-10-10 14:00:00 GMT+25 快件已到达",
            "an offset no clock keeps",
        ),
        (
            "2023-10-10 14:00:00 +15:00 快件已到达",
            "an offset no clock keeps",
        ),
        (
            "2023-10-10 14:00:00 UTC+8:0 快件已到达",
            "has `UTC+8:0` after its time",
        ),
        (
            "2023-10-10 14:00:00 GMT+ 快件已到达",
            "after its time, which is not an offset",
        ),
        (
            "2023-10-10 14:00:00 (GMT+8 快件已到达",
            "opens a bracket after its time and does not close it",
        ),
        (
            "2023-10-10T06:00:00z快件已到达转运中心",
            "has `z` straight after its time and before the text",
        ),
        (
            "2023-10-10 14:00:00 +08 快件已到达转运中心",
            "a number or an offset?",
        ),
        (
            "2023-10-10 14:00:00 CST 快件已到达",
            "has `CST` after its time",
        ),
        (
            "2023-10-10 2:00 PM 快件已到达",
            "has AM or PM after its time",
        ),
        // Not on the calendar or the clock.
        (
            "2023-02-30 10:00 快件已到达",
            "starts with `2023-02-30 10:00`, which is not a real date and time",
        ),
        (
            "2023-10-10 25:00 快件已到达",
            "starts with `2023-10-10 25:00`, which is not a real date and time",
        ),
        (
            "2023-10-10 14:60 快件已到达",
            "which is not a real date and time",
        ),
        (
            "2023-10-10 14:00:60 快件已到达",
            "which is not a real date and time",
        ),
        (
            "2023年2月30日 10:00 快件已到达",
            "which is not a real date and time",
        ),
        (
            "2023-10-10 星期三 14:00 快件已到达",
            "but 2023-10-10 is a Tue",
        ),
        (
            "2023-10-10 14:005 快件已到达",
            "starts with the date `2023-10-10` but no time of day",
        ),
        // No year, no date, no time.
        (
            "10-10 14:00 快件已到达",
            "line 2 (`10-10 14:00 快件已到达`) starts with a date without its year",
        ),
        (
            "10/10 14:00 快件已到达",
            "starts with a date without its year",
        ),
        (
            "10月10日 14:00 快件已到达",
            "starts with a date without its year",
        ),
        ("14:00 快件已到达", "has a time of day but no date"),
        (
            "2023-10-10 快件已到达",
            "starts with the date `2023-10-10` but no time of day",
        ),
        (
            "Oct 10 14:00 快件已到达",
            "line 2 (`Oct 10 14:00 快件已到达`) does not start with a time",
        ),
        // Day and month in an order that cannot be told (the US's or Europe's).
        ("10/11/2023 14:00 快件已到达", "does not start with a time"),
        (
            "2023-10-10 14:00 +08:00:00 快件已到达",
            "has `+08:00:00` after its time",
        ),
        (
            "[2023-10-10 14:00 快件已到达",
            "opens a bracket before its time",
        ),
        // Two-line events: a time without text, text without a time between events.
        (
            "2023-10-10 14:00:00\n2023-10-10 15:00:00 快件已到达",
            "line 2 (`2023-10-10 14:00:00`) has a time but no text",
        ),
        (
            "2023-10-10 14:00:00",
            "line 2 (`2023-10-10 14:00:00`) has a time but no text",
        ),
        (
            "2023-10-10\n快件已到达",
            "line 3 (`快件已到达`) does not start with a time",
        ),
        // Under a date heading with no event since: an event without its time.
        (
            "2023-10-10\n复制",
            "line 3 (`复制`) does not start with a time",
        ),
        (
            "快件已到达\n2023-10-10 14:00:00",
            "line 2 (`2023-10-10 14:00:00`) has a time but no text",
        ),
    ] {
        let errors = read_at(lines)
            .err()
            .unwrap_or_else(|| panic!("{lines:?} was read"));
        assert!(
            errors.iter().all(|(p, _)| p == "/logistics_text"),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|(_, m)| m.contains(want)),
            "{lines:?}: {errors:?}, want {want}"
        );
    }
}

#[test]
fn a_pages_heading_and_footer_lines_are_left_out_with_a_warning_never_between_events() {
    let page = "时间 地点和跟踪进度\n运单号：YT1234567890 复制\n2023-10-10 14:00:00 【杭州市】快件已到达 杭州转运中心\n2023-10-09 20:00:00 【义乌市】圆通速递 已揽收\n以上信息由物流公司提供，如有疑问请联系物流公司";
    let v = decide(&with_text(page));
    let want = decide(&with_text(PASTED));
    for key in ["scenario", "decision", "deadlines"] {
        assert_eq!(v[key], want[key], "{key}");
    }
    let skipped: Vec<String> = v["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| w["code"] == "trace_line_skipped")
        .map(|w| w["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    for (m, line) in skipped.iter().zip(["line 1", "line 2", "line 5"]) {
        assert!(m.contains(&format!("/logistics_text {line}")), "{m}");
    }
    // Between events, with something like a date or time in it, or where events take
    // two lines (a heading could be an event's text, shifted by one): refused.
    for (text, line) in [
        (
            "2023-10-10 14:00 快件已到达\n复制\n2023-10-09 20:00 已揽收",
            "line 2 (`复制`)",
        ),
        (
            "2023-10-10 14:00 快件已到达\n更新时间 2023-10-11 08:00",
            "line 2 (`更新时间 2023-10-11 08:00`)",
        ),
        (
            "2023-10-10 14:00 快件已到达\n客服电话 0571-1234567",
            "line 2 (`客服电话 0571-1234567`)",
        ),
        (
            "快件已到达\n2023-10-10 14:00:00\n快件已揽收\n2023-10-09 20:00:00\n以上信息由物流公司提供",
            "line 1 (`快件已到达`)",
        ),
        ("复制", "line 1 (`复制`)"),
        // More than ten: no page's frame (and no warning each).
        (
            &format!("{}2023-10-10 14:00 快件已到达", "复制\n".repeat(11)),
            "line 1 (`复制`) does not start with a time, and the text has too many",
        ),
        // The phrase table reads it: a carrier's words (a description wrapped onto the
        // next line), not a footer, even after the last event.
        (
            "2023-10-10 14:00 【杭州市】您的快件已由\n本人签收",
            "line 2 (`本人签收`) reads as a carrier's text",
        ),
        (
            "已签收\n2023-10-10 14:00 【杭州市】快件派送中",
            "line 1 (`已签收`) reads as a carrier's text",
        ),
    ] {
        let errors = invalid(&bytes(&with_text(text)));
        assert!(
            errors
                .iter()
                .any(|(p, m)| p == "/logistics_text" && m.starts_with(line)),
            "{text:?}: {errors:?}"
        );
    }
}

#[test]
fn the_trace_is_given_once_as_events_or_as_text() {
    let mut s = stalled();
    s["logistics_text"] = json!(PASTED);
    assert_eq!(refused(&s), ["/logistics_text"]);
    let mut r = return_case();
    r["return"]["trace_text"] = json!(PASTED);
    assert_eq!(refused(&r), ["/return/trace_text"]);
    let mut s = with_text(PASTED);
    s["logistics_text"] = json!(["2023-10-10 14:00 x"]);
    assert_eq!(refused(&s), ["/logistics_text"]);
}

#[test]
fn the_return_trace_can_be_pasted_too() {
    let mut r = return_case();
    let want = decide(&r);
    r["return"].as_object_mut().map(|o| o.remove("trace"));
    r["return"]["trace_text"] =
        json!("2023-10-05 11:00:00 【南京市】快件离开【南京转运中心】,发往【杭州转运中心】");
    let v = decide(&r);
    for key in ["scenario", "decision", "deadlines"] {
        assert_eq!(v[key], want[key], "{key}");
    }
    r["return"]["trace_text"] = json!("11:00 已揽收");
    assert_eq!(refused(&r), ["/return/trace_text"]);
}

#[test]
fn a_text_without_an_event_is_refused_not_read_as_never_shipped() {
    // A paste that came up empty would decide the case as not_shipped, and advise
    // approving the refund of a parcel that may be on its way. With no trace, leave the
    // field out (or null).
    for text in ["", "\n\n", " \t\r\n\u{3000}"] {
        let errors = invalid(&bytes(&with_text(text)));
        assert_eq!(errors.len(), 1, "{text:?}: {errors:?}");
        assert_eq!(errors[0].0, "/logistics_text");
        assert!(errors[0].1.contains("no event"), "{}", errors[0].1);
    }
    let mut r = return_case();
    r["return"].as_object_mut().map(|o| o.remove("trace"));
    r["return"]["trace_text"] = json!("\r\n");
    assert_eq!(refused(&r), ["/return/trace_text"]);
    let mut s = stalled();
    s.as_object_mut().map(|o| o.remove("logistics_trace"));
    s["logistics_text"] = json!(null);
    assert_eq!(decide(&s)["scenario"], "not_shipped");
}

#[test]
fn unicode_line_ends_split_lines_and_invisible_marks_are_blanks() {
    let want = decide(&with_text(PASTED));
    // U+2028, U+2029 and NEL end lines (a page or an editor may give them): read as
    // one line, the two events became one, the older one's words inside the newer's.
    for end in ["\u{2028}", "\u{2029}", "\u{85}"] {
        let v = decide(&with_text(&PASTED.replace('\n', end)));
        for key in ["scenario", "decision", "deadlines"] {
            assert_eq!(v[key], want[key], "{key}: {end:?}");
        }
        let why = v["explanation"].to_string();
        assert!(!why.contains("圆通速递"), "read as one line: {why}");
    }
    // A byte-order mark (a file saved by Notepad, read with jq -Rs) and zero-width
    // spaces (copied from a web page) are blanks, not part of the time.
    let marked = format!("\u{feff}{}", PASTED.replace(' ', " \u{200b}"));
    let v = decide(&with_text(&marked));
    for key in ["scenario", "decision", "deadlines"] {
        assert_eq!(v[key], want[key], "{key}");
    }
}

#[test]
fn ten_thousand_lines_are_read_and_ten_thousand_bad_ones_counted() {
    let mut text = String::new();
    for i in 0..10_000 {
        let minute = i % 60;
        let hour = (i / 60) % 24;
        text.push_str(&format!(
            "2023-10-0{} {hour:02}:{minute:02}:00 【杭州市】快件已到达 杭州转运中心\r\n",
            1 + i / 1440
        ));
    }
    let v = decide(&with_text(&text));
    assert_eq!(v["scenario"], "stalled");
    let bad = "快件已到达\n".repeat(10_000);
    let errors = invalid(&bytes(&with_text(&bad)));
    assert_eq!(errors.len(), 11, "ten lines listed, the rest counted");
    assert!(errors[10].1.contains("9990 more lines"), "{}", errors[10].1);
}

#[test]
fn a_kuaishou_receipt_joins_a_pasted_trace() {
    let mut k = kuaishou_body();
    // A refund only, as the buyer applied for it (status 10).
    k["kuaishou_refund"]["status"] = json!(10);
    k["kuaishou_refund"]["handlingWay"] = json!(10);
    k["kuaishou_refund"]["receiptStatus"] = json!(2);
    k.as_object_mut().map(|o| o.remove("return"));
    k["logistics_text"] = json!("2023-10-02 10:00 【杭州市】快件已到达 杭州转运中心");
    let v = decide(&k);
    assert_eq!(v["scenario"], "delivered");
}

#[test]
fn a_kuaishou_waybill_without_its_pasted_trace_is_warned_about() {
    let mut k = kuaishou_body();
    k["return"].as_object_mut().map(|o| o.remove("trace"));
    k["return"]["trace_text"] = json!(null);
    assert!(codes(&decide(&k), "warnings").contains(&"return_trace_missing".to_owned()));
    k["return"]["trace_text"] = json!("2023-10-05 11:00 已揽收");
    assert!(!codes(&decide(&k), "warnings").contains(&"return_trace_missing".to_owned()));
}

// Carrier text and codes that say what did not happen -------------------------------

/// The attack's case: refund only to 330102, requested 2023-10-11 09:00, decided a day
/// later, with one event at `at` given as `event`.
fn one_event(event: Value) -> Value {
    json!({
        "refund_type": "refund_only",
        "requested_at": "2023-10-11T09:00:00+08:00",
        "as_of": "2023-10-12T09:00:00+08:00",
        "order": {"order_id": "O-1"},
        "destination": {"adcode": "330102"},
        "logistics_trace": [event],
    })
}

fn described(text: &str) -> Value {
    one_event(json!({"at": "2023-10-11T08:00:00+08:00", "description": text}))
}

#[test]
fn a_delivery_that_did_not_happen_is_no_delivery() {
    for text in [
        "快件未妥投，原因：收件人不在",
        "电话无人接听，未妥投",
        "妥投失败",
        "无人签收，快件将再次派送",
        "收件人不在家，无法签收",
        "您的快件未能签收，请联系派件员",
        "没有签收",
        "不能签收，改日派送",
        "快件已到达，等待收件人签收",
        "预计今日签收",
        "【杭州市】快件派送中，派件员：王五 138xxxx，签收时请当面验货",
        "【杭州市】快件派送中，签收前请检查包裹",
        "快件已到达【滨江驿站】，请凭取件码签收",
        "派送不成功，快件已退回网点",
        "退回派送网点，明日重新派送",
    ] {
        let v = decide(&described(text));
        assert_eq!(v["scenario"], "in_transit", "{text}: {v}");
        assert_eq!(v["decision"], "intercept_and_refund", "{text}");
    }
    // Beside them, deliveries however they are put.
    for text in [
        "已签收，签收人：本人",
        "快件已签收",
        "您的快件已由【菜鸟驿站】代收",
        "已妥投",
        "客户已取件",
        "派件异常后，本人签收",
        "拦截失败，快件已签收",
        "拦截失败，已签收",
    ] {
        let v = decide(&described(text));
        assert_eq!(v["scenario"], "delivered", "{text}: {v}");
        assert_eq!(v["decision"], "standard_process", "{text}");
    }
}

#[test]
fn an_interception_that_failed_on_a_delivery_is_a_delivery() {
    let mut v = described("拦截失败，快件已签收");
    v["logistics_trace"] = json!([
        {"at": "2023-10-10T08:00:00+08:00", "status": "collected"},
        {"at": "2023-10-10T20:00:00+08:00", "status": "in_transit"},
        {"at": "2023-10-11T08:00:00+08:00", "description": "拦截失败，快件已签收"},
    ]);
    let d = decide(&v);
    assert_eq!(d["scenario"], "delivered", "{d}");
    // A failed interception that says nothing of a delivery is still one.
    v["logistics_trace"][2]["description"] = json!("拦截失败，快件派送中");
    let d = decide(&v);
    assert_eq!(d["scenario"], "in_transit");
    assert_eq!(d["decision"], "refund_after_rejection");
}

#[test]
fn a_pasted_return_trace_that_was_not_delivered_is_not_received() {
    let mut r = return_case();
    // The countdown (from 2023-10-05 10:00) is running.
    r["as_of"] = json!("2023-10-05T12:00:00+08:00");
    r["return"].as_object_mut().map(|o| o.remove("trace"));
    r["return"]["trace_text"] = json!(
        "2023-10-05 11:00 快件未妥投，原因：收件人电话无人接听，明日再投\n2023-10-04 09:00 【杭州市】快件已到达 杭州转运中心"
    );
    let v = decide(&r);
    assert_eq!(v["scenario"], "return_undelivered_in_countdown", "{v}");
    assert_eq!(v["decision"], "reject_with_evidence");
    r["return"]["trace_text"] =
        json!("2023-10-05 11:00 已妥投，签收人：本人\n2023-10-04 09:00 快件已到达 杭州转运中心");
    let v = decide(&r);
    assert_eq!(v["scenario"], "return_received");
    assert_eq!(v["decision"], "approve_refund");
}

#[test]
fn a_waybill_not_collected_yet_is_no_movement() {
    for status in ["kuaidi100:101", "kuaidi100:102", "taobao:CREATE"] {
        let v = decide(&one_event(
            json!({"at": "2023-10-11T08:00:00+08:00", "status": status}),
        ));
        assert_eq!(v["scenario"], "not_shipped", "{status}: {v}");
        assert_eq!(v["decision"], "approve_refund", "{status}");
        assert!(
            codes(&v, "warnings").contains(&"event_without_movement".to_owned()),
            "{status}: {v}"
        );
    }
    for text in [
        "待揽收",
        "快递员待揽件",
        "商家已下单成功，等待快递员上门揽收",
    ] {
        let v = decide(&described(text));
        assert_eq!(v["scenario"], "not_shipped", "{text}: {v}");
        let v = decide(&with_text(&format!("2023-10-11 08:00 {text}")));
        assert_eq!(v["scenario"], "not_shipped", "{text}: {v}");
        let warning = v["warnings"]
            .as_array()
            .and_then(|w| w.iter().find(|w| w["code"] == "event_without_movement"))
            .cloned()
            .unwrap_or_default();
        assert!(
            warning["message"]
                .as_str()
                .is_some_and(|m| m.contains("/logistics_text line 1") && m.contains(text)),
            "{warning}"
        );
    }
    // Collected is collected; a waybill event before it changes nothing.
    let mut v = one_event(json!({"at": "2023-10-11T08:00:00+08:00", "status": "kuaidi100:103"}));
    assert_eq!(decide(&v)["scenario"], "in_transit");
    v["logistics_trace"] = json!([
        {"at": "2023-10-10T08:00:00+08:00", "status": "kuaidi100:101"},
        {"at": "2023-10-11T08:00:00+08:00", "description": "快递员已揽收"},
    ]);
    let d = decide(&v);
    assert_eq!(d["scenario"], "in_transit", "{d}");
    assert!(codes(&d, "warnings").contains(&"event_without_movement".to_owned()));
}

#[test]
fn a_provider_code_of_no_movement_beside_text_of_movement_is_warned_about() {
    // The code decides (the event is left out: not shipped), and the conflict is named
    // with both readings' words.
    let v = decide(&one_event(json!({
        "at": "2023-10-11T08:00:00+08:00", "status": "kuaidi100:101",
        "description": "【义乌市】圆通速递 已揽收"
    })));
    assert_eq!(v["scenario"], "not_shipped", "{v}");
    let w = codes(&v, "warnings");
    assert!(
        w.contains(&"status_description_conflict".to_owned())
            && w.contains(&"event_without_movement".to_owned()),
        "{v}"
    );
    let conflict = v["warnings"]
        .as_array()
        .and_then(|w| {
            w.iter()
                .find(|w| w["code"] == "status_description_conflict")
        })
        .cloned()
        .unwrap_or_default();
    let message = conflict["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("awaiting pickup (not collected)")
            && message.contains("reads as collected"),
        "{conflict}"
    );
    // And the other way: a status of movement beside text of none.
    let v = decide(&one_event(json!({
        "at": "2023-10-11T08:00:00+08:00", "status": "delivered", "description": "待揽收"
    })));
    assert_eq!(v["scenario"], "delivered", "{v}");
    assert!(
        codes(&v, "warnings").contains(&"status_description_conflict".to_owned()),
        "{v}"
    );
}

#[test]
fn a_status_its_description_contradicts_is_used_and_warned_about() {
    let v = decide(&one_event(json!({
        "at": "2023-10-11T08:00:00+08:00", "status": "delivered", "description": "收件人拒收"
    })));
    assert_eq!(v["scenario"], "delivered", "the status decides");
    let warning = v["warnings"]
        .as_array()
        .and_then(|w| {
            w.iter()
                .find(|w| w["code"] == "status_description_conflict")
        })
        .cloned()
        .unwrap_or_default();
    let message = warning["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("/logistics_trace/0") && message.contains("收件人拒收"),
        "{warning}"
    );
    for (status, text) in [
        ("delivered", "快件未妥投，原因：收件人不在"),
        ("kuaidi100:3", "您的快件未能签收，请联系派件员"),
        ("out_for_delivery", "快件已签收"),
        ("in_transit", "收件人拒签，快件退回中"),
        // No movement against movement, both ways.
        ("kuaidi100:101", "【义乌市】圆通速递 已揽收"),
        ("kuaidi100:102", "快件已发往杭州"),
        ("delivered", "待揽收"),
        ("collected", "待揽收"),
        ("in_transit", "商家已下单成功，等待快递员上门揽收"),
    ] {
        let v = decide(&one_event(json!({
            "at": "2023-10-11T08:00:00+08:00", "status": status, "description": text
        })));
        assert!(
            codes(&v, "warnings").contains(&"status_description_conflict".to_owned()),
            "{status} {text}: {v}"
        );
    }
    // Agreeing, saying both, or a description that reads as nothing known: no warning.
    for (status, text) in [
        ("rejected", "收件人拒收"),
        ("kuaidi100:14", "收件人拒签，快件退回中"),
        ("delivered", "【杭州市】快件已签收，签收人：本人"),
        ("in_transit", "您的快件已被扫描"),
        (
            "kuaidi100:0",
            "包裹已到达【杭州转运中心】，正在进行过机安检",
        ),
        ("kuaidi100:0", "快件已到达【杭州滨江驿站】"),
        ("intercept_failed", "拦截失败，快件已签收"),
        ("kuaidi100:101", "待揽收"),
        ("kuaidi100:102", "商家已下单成功，等待快递员上门揽收"),
        ("collected", "快递员已揽收"),
    ] {
        let v = decide(&one_event(json!({
            "at": "2023-10-11T08:00:00+08:00", "status": status, "description": text
        })));
        assert!(
            !codes(&v, "warnings").contains(&"status_description_conflict".to_owned()),
            "{status} {text}: {v}"
        );
    }
}

#[test]
fn a_blank_order_id_is_refused_as_an_empty_one_is() {
    for blank in ["", " ", "\u{3000}", " \t"] {
        let r = json!({
            "refund_type": "refund_only",
            "requested_at": "2023-10-11T09:00:00+08:00",
            "order": {"order_id": blank},
            "destination": {"adcode": "330102"},
        });
        let errors = invalid_at(&bytes(&r), &["/order/order_id"]);
        assert!(errors[0].1.contains("blank"), "{blank:?}: {errors:?}");
    }
    let r = json!({
        "refund_type": "refund_only",
        "requested_at": "2023-10-11T09:00:00+08:00",
        "as_of": "2023-10-11T10:00:00+08:00",
        "order": {"order_id": " O-1 "},
        "destination": {"adcode": "330102"},
    });
    assert_eq!(decide(&r)["scenario"], "not_shipped");
}

/// The re-attack's case: collected, then one event with carrier text only.
fn after_collection(text: &str) -> Value {
    json!({
        "refund_type": "refund_only",
        "requested_at": "2023-10-13T09:00:00+08:00",
        "as_of": "2023-10-14T09:00:00+08:00",
        "order": {"order_id": "O-1"},
        "destination": {"adcode": "330108"},
        "logistics_trace": [
            {"at": "2023-10-09T20:00:00+08:00", "status": "collected"},
            {"at": "2023-10-12T10:00:00+08:00", "description": text},
        ],
    })
}

#[test]
fn a_failed_delivery_naming_the_consignee_is_no_delivery() {
    for text in [
        "派送失败，联系不上签收人",
        "派送不成功，签收人不在家",
        "快件异常，签收人电话无法接通",
        "快件滞留，签收人电话停机",
        "快件延误，签收人已知悉",
        "问题件：签收人信息不全",
        "派送失败，收件人要求改天签收",
        "签收异常",
        "签收延误",
        "联系不上签收人",
        "未被签收",
        "快件未被签收",
        "无法正常签收",
        "不能正常签收",
        "未能按时签收",
    ] {
        let v = decide(&after_collection(text));
        assert_ne!(v["scenario"], "delivered", "{text}: {v}");
        assert_ne!(v["decision"], "standard_process", "{text}: {v}");
    }
    // A delivery said outright stays one, whatever failed before it.
    for text in [
        "已签收，签收人：本人",
        "快件已签收，签收人：门卫",
        "他人代收",
        "已妥投",
        "派件异常后签收，签收人：门卫",
        "快件滞留，签收人：本人",
        "等待收件人签收.已签收",
        "如需帮助请联系快递员 快件已签收",
        "预计今日送达 已签收",
        "您的快件已从丰巢柜取出",
        "已从驿站取出",
    ] {
        let v = decide(&after_collection(text));
        assert_eq!(v["scenario"], "delivered", "{text}: {v}");
        assert_eq!(v["decision"], "standard_process", "{text}: {v}");
    }
}

#[test]
fn a_description_of_one_phrase_repeated_is_read_once_through() {
    // 签收人 matches the bare 签收 entry at every repeat and is ruled out only after it:
    // each match once searched everything before it for a negation, and 360 KB took two
    // seconds of a release build (a 1 MiB body, minutes of a debug one). Now a clause is
    // read in time linear in its length; this one is 1 MiB and reads as no delivery.
    let text = "签收人".repeat(120_000);
    let v = decide(&after_collection(&text));
    assert_ne!(v["scenario"], "delivered", "{}", v["scenario"]);
}

#[test]
fn descriptions_that_repeat_the_later_keys_are_read_once_through_too() {
    // negated_later (退回 … 网点), needs_earlier (取件 after 本人), the English whole-word
    // check (delivered inside undelivered), a question and an empty signer, each ~1 MiB:
    // each is found once per clause, not searched again at every match. Many one-letter
    // clauses (`a,`) and an empty signer repeated (`签收人：无：`) cost a pass over the line
    // per phrase no longer: a phrase with a character the line lacks is ruled out without
    // searching (a 1 MiB `a,` took 14 s of a debug build, searching every clause for every
    // phrase). No clock is asserted (a busy machine would flake); a quadratic reading
    // would not finish.
    for (text, not) in [
        ("退回网点".repeat(90_000), "rejected_or_returned"),
        ("本人取件码".repeat(70_000), "delivered"),
        ("undelivered ".repeat(90_000), "delivered"),
        (format!("{}?", "已签收".repeat(120_000)), "delivered"),
        ("签收人：无，".repeat(60_000), "delivered"),
        ("签收人：无：".repeat(60_000), "delivered"),
        ("a,".repeat(500_000), "delivered"),
        (format!("{}签收后", "_".repeat(1 << 20)), "delivered"),
        // The English runs of a mixed line, each read by its whole form: many short runs,
        // and one long run after a Chinese word.
        ("包裹 Delivered: No，".repeat(60_000), "delivered"),
        (
            format!("包裹 {}", "delivered by ".repeat(80_000)),
            "delivered",
        ),
    ] {
        let v = decide(&after_collection(&text));
        assert_ne!(v["scenario"], not, "{}", &text[..6]);
    }
}

/// The re-attack's lines, good and bad side by side: each is read at the time it says
/// (Beijing time unless an offset stands alone after the time), or refused at its line;
/// never read at a time shifted by the carrier's words.
#[test]
fn carriers_words_after_the_time_are_never_read_as_an_offset_or_a_date() {
    let local = Ok("2023-10-10T14:00:00+08:00");
    let cases: &[(&str, Result<&str, &str>)] = &[
        // Z, UTC, GMT: an offset only standing alone; before the carrier's words, text.
        ("2023-10-10 14:00 Z字楼 快件已签收", local),
        (
            "2023-10-10 14:00 Z 快件已签收",
            Ok("2023-10-10T22:00:00+08:00"),
        ),
        ("2023-10-10 14:00 UTC大厦 快件已签收", local),
        (
            "2023-10-10 14:00 UTC 快件已签收",
            Ok("2023-10-10T22:00:00+08:00"),
        ),
        ("2023-10-10 14:00 GMT广场驿站 快件已签收", local),
        ("2023-10-10 14:00 z栋 快件已签收", local),
        ("2023-10-10 14:00 Ｚ字楼 快件已签收", local),
        ("2023-10-10 14:00 Z1栋快递柜 快件已签收", local),
        ("2023-10-10 14:00 Z-Express picked up 快件已签收", local),
        ("2023-10-10 14:00 Z.已签收", local),
        ("2023-10-10 14:00 Z,已签收", local),
        ("2023-10-10T06:00Z 快件已签收", local),
        (
            "2023-10-10T14:00Z字楼 快件已签收",
            Err("line 2 (`2023-10-10T14:00Z字楼 快件已签收`) has `Z` straight after its time"),
        ),
        (
            "2023-10-10T06:00:00Z",
            Err("line 2 (`2023-10-10T06:00:00Z`) has a time but no text"),
        ),
        // A signed number: an offset as ±HH:MM or ±HHMM, or ±HH straight after the time.
        ("2023-10-10 14:00 -10月11日将派送", local),
        ("2023-10-10 14:00 －10月11日将派送", local),
        ("2023-10-10 14:00 -08号柜 已签收", local),
        (
            "2023-10-10 14:00 +10 快件到达杭州转运中心",
            Err("has `+10` after its time, a number or an offset?"),
        ),
        ("2023-10-10 14:00 +08:00 快件到达杭州转运中心", local),
        ("2023-10-10 14:00 +0800 快件到达杭州转运中心", local),
        ("2023-10-10 14:00:00+08 快件到达杭州转运中心", local),
        ("2023-10-10 01:00:00-05:00 快件到达杭州转运中心", local),
        (
            "2023-10-10 09:00-11:00 预约派送",
            Err(
                "line 2 (`2023-10-10 09:00-11:00 预约派送`) has `-11:00` straight after its time: a time range or an offset?",
            ),
        ),
        (
            "2023-10-10 09:00 - 11:00 预约派送",
            Err("line 2 (`2023-10-10 09:00 - 11:00 预约派送`) has a second time after its time"),
        ),
        (
            "2023-10-10 09:00~11:00 预约派送",
            Err("has a second time after its time"),
        ),
        // After a bracketed time, as without the brackets.
        ("[2023-10-10 14:00:00] 派送中", local),
        (
            "[2023-10-10 2:00] PM 派送中",
            Err("line 2 (`[2023-10-10 2:00] PM 派送中`) has AM or PM after its time"),
        ),
        ("(2023-10-10 06:00) UTC 派送中", local),
        ("[2023-10-10 01:00:00] -05:00 派送中", local),
        (
            "[2023-10-10 14:00:00] CST 派送中",
            Err("line 2 (`[2023-10-10 14:00:00] CST 派送中`) has `CST` after its time"),
        ),
        (
            "[2023-10-10 14:00 +08:00] UTC 派送中",
            Err("has two offsets after its time"),
        ),
        // Two offsets that may contradict each other: refused.
        (
            "2023-10-10 14:00 +09:00 北京时间 派送中",
            Err("line 2 (`2023-10-10 14:00 +09:00 北京时间 派…`) has two offsets"),
        ),
        (
            "2023-10-10 14:00 北京时间 +09:00 派送中",
            Err("has two offsets after its time"),
        ),
        ("2023-10-10 14:00 北京时间 派送中", local),
        // Under a date heading, a date after the time: which date cannot be told.
        ("2023-10-10\n14:00 快件已到达", local),
        (
            "2023-10-10\n14:00 2023-10-12前可取件",
            Err(
                "line 3 (`14:00 2023-10-12前可取件`) has a date after its time, under a date heading",
            ),
        ),
        (
            "2023-10-10\n14:00 2023年10月13日 派送",
            Err("line 3 (`14:00 2023年10月13日 派送`) has a date after its time"),
        ),
        (
            "2023-10-10\n14:00 Oct 12, 2023 派送",
            Err("has a date after its time, under a date heading"),
        ),
        (
            "2023-10-10\n14:00 10-10 已签收",
            Err("line 3 (`14:00 10-10 已签收`) has a time under a date heading and then a date"),
        ),
        ("2023-10-10 14:00 2023-10-12前可取件", local),
        // A time alone on its line, among one-line events: refused.
        (
            "2023-10-12 10:00\n运单号：YT1234567890\n2023-10-11 09:00 派送中",
            Err("line 2 (`2023-10-12 10:00`) has a time alone on its line while other lines"),
        ),
        (
            "2023-10-11 09:00 派送中\n2023-10-12 10:00\n以上信息由物流公司提供",
            Err("line 3 (`2023-10-12 10:00`) has a time alone on its line"),
        ),
        ("2023-10-10 14:00\n快件已到达", local),
        // An event whose time is written in words: refused, never a skipped heading.
        (
            "2023-10-10 14:00 派送中\n昨日 包裹已交给快递员",
            Err("line 3 (`昨日 包裹已交给快递员`) does not start with a time"),
        ),
        (
            "2023-10-10 14:00 派送中\n昨天下午两点 快递员送达",
            Err("line 3 (`昨天下午两点 快递员送达`)"),
        ),
        (
            "2023-10-10 14:00 派送中\n十月十二日 快递员送达",
            Err("line 3 (`十月十二日 快递员送达`)"),
        ),
        (
            "2023-10-10 14:00 派送中\n昨日 快件交接",
            Err("line 3 (`昨日 快件交接`)"),
        ),
        (
            "2023-10-10 14:00 派送中\n昨日 Item processed",
            Err("line 3 (`昨日 Item processed`)"),
        ),
        (
            "2023-10-10 14:00 派送中\n昨日 物流信息已更新",
            Err("line 3 (`昨日 物流信息已更新`)"),
        ),
        // 上午/下午 after a 24-hour time: refused.
        (
            "2023-10-11 08:00 下午 快件到达杭州转运中心",
            Err("line 2 (`2023-10-11 08:00 下午 快件到达杭州转运中心`) has `下午` after its time"),
        ),
        // Seconds only after the same colon; 分 before words is no minute's mark.
        ("2023-10-10 14:00：10月11日将派送", local),
        ("2023-10-10 14:00:00 快件已到达", local),
        (
            "2023-10-10 14点05分拣中心 已发出",
            Err("line 2 (`2023-10-10 14点05分拣中心 已发出`)"),
        ),
        ("2023-10-10 14点00分 快件已到达", local),
        // A weekday after the time must be the date's.
        (
            "2023-10-10 14:00 星期三 已签收",
            Err(
                "line 2 (`2023-10-10 14:00 星期三 已签收`) has a weekday after its time that is not 2023-10-10's (a Tue)",
            ),
        ),
        ("2023-10-10 14:00 星期二 快件已到达", local),
        (
            "2023-10-10\n14:00 周三 快件已到达",
            Err("line 3 (`14:00 周三 快件已到达`) has a weekday after its time"),
        ),
        // A heading's reach ends at a line with its own date; a heading needs an event.
        (
            "2023-10-10\n09:00 快件已到达\n2023-10-10 12:00 快件已到达\n14:00 快件已到达",
            Err(
                "line 5 (`14:00 快件已到达`) has a time of day but no date, after a line with its own date",
            ),
        ),
        (
            "2023-10-10 14:00 快件已到达\n2023-10-11",
            Err("line 3 (`2023-10-11`) is a date with no event under it"),
        ),
        (
            "2023-10-11\n2023-10-10\n14:00 快件已到达",
            Err("line 2 (`2023-10-11`) is a date with no event under it"),
        ),
        // Vertical tab and form feed end lines.
        (
            "2023-10-10 12:00 快件已到达\u{b}2023-10-10 14:00 快件已到达",
            local,
        ),
        (
            "2023-10-10 12:00 快件已到达\u{c}2023-10-10 14:00 快件已到达",
            local,
        ),
        // An unclosed bracket after the time is named as such.
        (
            "2023-10-10 14:00:00 (GMT+8 快件已到达",
            Err("opens a bracket after its time and does not close it"),
        ),
    ];
    for (lines, want) in cases {
        match (read_at(lines), want) {
            (Ok(got), Ok(want)) => assert!(got.contains(want), "{lines:?}: {got}, want {want}"),
            (Err(errors), Err(want)) => {
                assert!(
                    errors.iter().all(|(p, _)| p == "/logistics_text"),
                    "{errors:?}"
                );
                assert!(
                    errors.iter().any(|(_, m)| m.contains(want)),
                    "{lines:?}: {errors:?}, want {want}"
                );
            }
            (got, want) => panic!("{lines:?}: {got:?}, want {want:?}"),
        }
    }
}
