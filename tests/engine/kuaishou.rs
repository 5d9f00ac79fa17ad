//! The Kuaishou refund detail mapped onto a case (issue 9, items 5–12), through
//! `aftersales::decide_json` on bodies as a shop backend sends them: one test per refund
//! `status`, one per mapping rule, and hostile values.

use serde_json::{Value, json};

use crate::helpers::{bytes, codes, deadline, decide, decide_in, refusal, refused};

/// `submitTime`: 2023-10-03T10:00:00+08:00.
const SUBMIT: i64 = 1_696_298_400_000;
/// `expireTime`: 2023-10-04T12:30:00+08:00.
const EXPIRE: i64 = 1_696_393_800_000;
const EXPIRE_AT: &str = "2023-10-04T12:30:00+08:00";
/// The merchant's return address, in Hangzhou (a control zone).
const RETURN_ADDRESS: &str = "浙江省杭州市余杭区五常街道文一西路969号 退货组";

/// A refund only (handlingWay 10) to Hangzhou 上城区 whose parcel has been in transit
/// since the morning of the request: the notice says intercept and refund.
fn refund_only(status: Value) -> Value {
    json!({
        "kuaishou_refund": {
            "refundId": 2_150_361_234_567_890i64,
            "oid": 2_309_281_234_567_890i64,
            "status": status,
            "handlingWay": 10,
            "submitTime": SUBMIT,
            "expireTime": EXPIRE,
        },
        "as_of": "2023-10-03T18:00:00+08:00",
        "destination": {"adcode": "330102"},
        "logistics_trace": [
            {"at": "2023-10-02T09:00:00+08:00", "status": "collected"},
            {"at": "2023-10-03T08:00:00+08:00", "status": "in_transit"}
        ],
    })
}

/// A return and refund (handlingWay 1) from Nanjing to the detail's return address, with
/// the return parcel's `trace`.
fn return_and_refund(status: Value, trace: Value) -> Value {
    json!({
        "kuaishou_refund": {
            "refundId": "2150361234567890",
            "oid": "2309281234567890",
            "status": status,
            "handlingWay": 1,
            "submitTime": SUBMIT,
            "expireTime": EXPIRE,
            "address": RETURN_ADDRESS,
            "logisticsInfo": {"expressNo": "YT7412345678901", "expressCode": 4},
        },
        "as_of": "2023-10-04T09:00:00+08:00",
        "destination": {"address": "江苏省南京市鼓楼区中山路1号"},
        "return": {"trace": trace},
    })
}

/// The return collected and on its way, not yet out for delivery.
fn on_its_way() -> Value {
    json!([
        {"at": "2023-10-03T12:00:00+08:00", "status": "collected"},
        {"at": "2023-10-04T02:00:00+08:00", "status": "in_transit"}
    ])
}

fn delivered() -> Value {
    json!([
        {"at": "2023-10-03T12:00:00+08:00", "status": "collected"},
        {"at": "2023-10-04T08:00:00+08:00", "status": "delivered"}
    ])
}

/// The same request as a clean contract body (no platform state at all).
fn clean(body: &Value) -> Value {
    let detail = &body["kuaishou_refund"];
    let refund_type = if detail["handlingWay"] == 1 {
        "return_and_refund"
    } else {
        "refund_only"
    };
    let mut c = body.clone();
    if let Some(o) = c.as_object_mut() {
        o.remove("kuaishou_refund");
        o.insert("refund_type".into(), json!(refund_type));
        o.insert("requested_at".into(), json!(SUBMIT));
        o.insert("order".into(), json!({"order_id": "O-1"}));
    }
    if refund_type == "return_and_refund" {
        c["return"]["destination"] = json!({"address": RETURN_ADDRESS});
    }
    c
}

/// The kinds of a decision's deadlines, in order.
fn deadline_kinds(v: &Value) -> Vec<String> {
    v["deadlines"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|x| x["kind"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The pieces of a decision §9 may change: scenario, decision, deadlines.
#[track_caller]
fn assert_outcome(v: &Value, scenario: &str, decision: &str, deadlines: &[&str]) {
    assert_eq!(
        (
            v["scenario"].as_str(),
            v["decision"].as_str(),
            deadline_kinds(v)
        ),
        (
            Some(scenario),
            Some(decision),
            deadlines.iter().map(|k| k.to_string()).collect()
        ),
        "{v}"
    );
}

fn explanation(v: &Value, code: &str) -> String {
    v["explanation"]
        .as_array()
        .and_then(|e| e.iter().find(|x| x["code"] == code))
        .and_then(|x| x["detail"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn due(v: &Value, kind: &str) -> Value {
    deadline(v, kind)
        .map(|d| d["due_at"].clone())
        .unwrap_or_default()
}

/// The messages of a refused body, by pointer.
fn problems(body: &Value) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = refusal(&bytes(body))
        .errors
        .into_iter()
        .map(|e| (e.pointer, e.message))
        .collect();
    p.sort();
    p
}

fn message_at(body: &Value, pointer: &str) -> String {
    problems(body)
        .into_iter()
        .find(|(p, _)| p == pointer)
        .map(|(_, m)| m)
        .unwrap_or_else(|| panic!("no problem at {pointer}: {:?}", problems(body)))
}

// One test per status (item 6) -----------------------------------------------------

#[test]
fn status_10_a_refund_only_application_decides_as_its_clean_equivalent() {
    let body = refund_only(json!(10));
    let v = decide(&body);
    let plain = decide(&clean(&body));
    assert_eq!(v["decision"], "intercept_and_refund");
    assert_eq!(v["decision"], plain["decision"]);
    assert_eq!(v["actions"], plain["actions"]);
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
    assert_eq!(
        deadline_kinds(&v),
        ["stalled_after", "platform_deadline"],
        "the notice's deadline, then the platform's"
    );
}

#[test]
fn status_11_a_return_application_with_nothing_sent_is_the_standard_process() {
    let v = decide(&return_and_refund(json!(11), json!([])));
    assert_outcome(
        &v,
        "return_not_shipped",
        "standard_process",
        &["platform_deadline"],
    );
    // The buyer has not sent it: expireTime is no return countdown yet.
    assert_eq!(deadline(&v, "respond_by"), None);
}

#[test]
fn status_20_the_platform_stepped_into_a_refund_only_the_decision_stands_with_a_warning() {
    let v = decide(&refund_only(json!(20)));
    let plain = decide(&refund_only(json!(10)));
    assert_eq!(v["decision"], plain["decision"]);
    assert_eq!(codes(&v, "warnings"), ["platform_intervened"]);
    assert_eq!(
        codes(&v, "actions").last().map(String::as_str),
        Some("answer_platform_with_same_evidence")
    );
}

#[test]
fn status_21_the_platform_stepped_into_a_return_expire_time_is_not_the_countdown() {
    let v = decide(&return_and_refund(json!(21), on_its_way()));
    assert_outcome(
        &v,
        "return_in_transit",
        "await_return",
        &["platform_deadline"],
    );
    assert_eq!(codes(&v, "warnings"), ["platform_intervened"]);
    // With the countdown in the body, the rejection stands, answered to the platform.
    let mut body = return_and_refund(json!(21), on_its_way());
    body["return"]["countdown_ends_at"] = json!("2023-10-04T12:00:00+08:00");
    let v = decide(&body);
    assert_eq!(v["decision"], "reject_with_evidence");
    assert_eq!(due(&v, "respond_by"), "2023-10-04T12:00:00+08:00");
    assert_eq!(due(&v, "platform_deadline"), EXPIRE_AT);
    assert!(codes(&v, "actions").contains(&"answer_platform_with_same_evidence".to_owned()));
}

#[test]
fn status_22_the_platform_confirmed_the_return_received_goods_are_refunded_with_a_warning() {
    let v = decide(&return_and_refund(json!(22), delivered()));
    assert_outcome(
        &v,
        "return_received",
        "approve_refund",
        &["platform_deadline"],
    );
    assert_eq!(codes(&v, "warnings"), ["platform_intervened"]);
}

#[test]
fn status_30_waiting_for_the_buyer_to_send_the_return_is_the_standard_process() {
    let mut body = return_and_refund(json!(30), json!([]));
    // Nothing sent yet: the platform has no waybill to give.
    body["kuaishou_refund"]["logisticsInfo"] = json!({"expressNo": "", "expressCode": 0});
    let v = decide(&body);
    assert_outcome(
        &v,
        "return_not_shipped",
        "standard_process",
        &["platform_deadline"],
    );
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
}

#[test]
fn status_40_the_return_on_its_way_expire_time_is_the_countdown_and_the_platform_deadline() {
    let v = decide(&return_and_refund(json!(40), on_its_way()));
    assert_outcome(
        &v,
        "return_undelivered_in_countdown",
        "reject_with_evidence",
        &["respond_by", "platform_deadline"],
    );
    assert_eq!(due(&v, "respond_by"), EXPIRE_AT);
    assert_eq!(due(&v, "platform_deadline"), EXPIRE_AT);
    assert!(
        explanation(&v, "platform_deadline").contains("the platform refunds the buyer by itself"),
        "{v}"
    );
    // Decided exactly as the clean body with that countdown.
    let mut c = clean(&return_and_refund(json!(40), on_its_way()));
    c["return"]["countdown_ends_at"] = json!(EXPIRE);
    let plain = decide(&c);
    assert_eq!(v["actions"], plain["actions"]);
    assert_eq!(v["evidence"], plain["evidence"]);
    assert_eq!(v["zone"], plain["zone"]);
}

#[test]
fn status_45_waiting_for_the_buyer_to_confirm_receipt_decides_as_the_notice_says() {
    let v = decide(&refund_only(json!(45)));
    let plain = decide(&clean(&refund_only(json!(45))));
    assert_eq!(v["decision"], plain["decision"]);
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
    assert!(
        explanation(&v, "platform_deadline").contains("unknown to this service"),
        "{v}"
    );
}

/// A refund the notice would approve at once (not shipped), closed on the platform.
fn assert_closed(code: i64) {
    let mut body = refund_only(json!(code));
    body.as_object_mut().map(|o| o.remove("logistics_trace"));
    assert_eq!(decide(&clean(&body))["decision"], "approve_refund");
    let v = decide(&body);
    assert_outcome(
        &v,
        "not_shipped",
        "standard_process",
        &["platform_deadline"],
    );
    assert_eq!(codes(&v, "warnings"), ["refund_closed"], "{code}");
    assert_eq!(codes(&v, "actions"), ["follow_standard_process"], "{code}");
}

#[test]
fn status_50_a_refund_being_paid_is_closed_never_approved_again() {
    assert_closed(50);
}

#[test]
fn status_60_a_refunded_request_is_closed_never_approved_again() {
    assert_closed(60);
}

#[test]
fn status_70_a_failed_refund_is_closed_never_approved_again() {
    assert_closed(70);
}

#[test]
fn status_is_required_and_an_undocumented_one_is_refused_with_its_pointer() {
    for bad in [
        json!(0),
        json!(12),
        json!(23),
        json!(41),
        json!(80),
        json!(-40),
        json!(1e3),
        json!(40.5),
        json!(i64::MAX),
        json!("040"),
        json!("40 "),
        json!("4e1"),
        json!("+40"),
        json!(""),
        json!(true),
        json!([40]),
        json!({"code": 40}),
    ] {
        let body = refund_only(bad.clone());
        assert_eq!(refused(&body), ["/kuaishou_refund/status"], "{bad}");
        let m = message_at(&body, "/kuaishou_refund/status");
        assert!(m.contains("10 (") && m.contains("70 ("), "{bad}: {m}");
    }
    // Without it, §9 could not bound the advice (a refunded request approved again).
    let mut body = refund_only(json!(null));
    assert!(message_at(&body, "/kuaishou_refund/status").starts_with("is required"));
    body["kuaishou_refund"]
        .as_object_mut()
        .map(|o| o.remove("status"));
    assert!(message_at(&body, "/kuaishou_refund/status").starts_with("is required"));
}

#[test]
fn status_as_its_digits_or_a_whole_float_reads_as_the_number() {
    let want = decide(&return_and_refund(json!(40), on_its_way()));
    for same in [json!("40"), json!(40.0), json!(4e1)] {
        let v = decide(&return_and_refund(same.clone(), on_its_way()));
        assert_eq!(v["explanation"], want["explanation"], "{same}");
    }
}

// Item 5: the return waybill ------------------------------------------------------

fn waybill_warning(v: &Value) -> Option<String> {
    v["warnings"]
        .as_array()?
        .iter()
        .find(|w| w["code"] == "return_trace_missing")
        .and_then(|w| w["message"].as_str())
        .map(str::to_owned)
}

#[test]
fn the_return_waybill_is_read_from_logistics_info_or_a_flattened_express_no() {
    let nested = return_and_refund(json!(40), json!([]));
    let m = waybill_warning(&decide(&nested)).unwrap_or_default();
    assert!(m.contains("YT7412345678901"), "{m}");

    let mut flat = nested.clone();
    flat["kuaishou_refund"]
        .as_object_mut()
        .map(|o| o.remove("logisticsInfo"));
    flat["kuaishou_refund"]["expressNo"] = json!("YT0000000000002");
    let m = waybill_warning(&decide(&flat)).unwrap_or_default();
    assert!(m.contains("YT0000000000002"), "{m}");

    // Both, the same: one waybill.
    let mut both = nested.clone();
    both["kuaishou_refund"]["expressNo"] = json!("YT7412345678901");
    assert_eq!(
        waybill_warning(&decide(&both)),
        waybill_warning(&decide(&nested))
    );

    // With its trace, no warning.
    let v = decide(&return_and_refund(json!(40), on_its_way()));
    assert_eq!(waybill_warning(&v), None);
}

#[test]
fn a_return_sent_at_status_40_without_waybill_or_trace_is_flagged_not_read_silently() {
    let sent_warning =
        |v: &Value| codes(v, "warnings").contains(&"return_sent_without_trace".to_owned());
    let mut bare = return_and_refund(json!(40), json!([]));
    bare["kuaishou_refund"]
        .as_object_mut()
        .map(|o| o.remove("logisticsInfo"));
    bare.as_object_mut().map(|o| o.remove("return"));
    let v = decide(&bare);
    // The policy's row stands (no movement: the standard process), but the caller is told
    // that the platform says the return is sent.
    assert_eq!(v["scenario"], "return_not_shipped", "{v}");
    assert!(sent_warning(&v), "{v}");
    assert_eq!(waybill_warning(&v), None);
    let zh = decide_in(&bare, "zh-CN");
    assert!(sent_warning(&zh), "{zh}");

    // With the waybill, the waybill's own warning instead; with a trace, neither.
    let nested = return_and_refund(json!(40), json!([]));
    let v = decide(&nested);
    assert!(!sent_warning(&v) && waybill_warning(&v).is_some(), "{v}");
    let mut traced = return_and_refund(json!(40), on_its_way());
    traced["kuaishou_refund"]
        .as_object_mut()
        .map(|o| o.remove("logisticsInfo"));
    assert!(!sent_warning(&decide(&traced)));
    // Before the buyer sends it (status 30), no trace is what is expected.
    let mut waiting = bare.clone();
    waiting["kuaishou_refund"]["status"] = json!(30);
    assert!(!sent_warning(&decide(&waiting)));
}

#[test]
fn two_different_return_waybills_are_refused_rather_than_one_picked() {
    let mut body = return_and_refund(json!(40), json!([]));
    body["kuaishou_refund"]["expressNo"] = json!("SF1000000000001");
    assert_eq!(refused(&body), ["/kuaishou_refund/expressNo"]);
    let m = message_at(&body, "/kuaishou_refund/expressNo");
    assert!(
        m.contains("SF1000000000001") && m.contains("YT7412345678901"),
        "{m}"
    );
}

#[test]
fn an_empty_waybill_is_none_and_a_waybill_of_another_kind_is_refused() {
    let mut body = return_and_refund(json!(30), json!([]));
    body["kuaishou_refund"]["logisticsInfo"] = json!({"expressNo": "", "expressCode": 0});
    body["kuaishou_refund"]["expressNo"] = json!("");
    assert_eq!(waybill_warning(&decide(&body)), None);
    body["kuaishou_refund"]["logisticsInfo"] = json!(null);
    body["kuaishou_refund"]["expressNo"] = json!(null);
    assert_eq!(waybill_warning(&decide(&body)), None);

    body["kuaishou_refund"]["logisticsInfo"] = json!("YT1");
    body["kuaishou_refund"]["expressNo"] = json!(74_123_456_789i64);
    assert_eq!(
        refused(&body),
        [
            "/kuaishou_refund/logisticsInfo",
            "/kuaishou_refund/expressNo"
        ]
    );
    body["kuaishou_refund"]["logisticsInfo"] = json!({"expressNo": ["YT1"]});
    body["kuaishou_refund"]["expressNo"] = json!(null);
    assert_eq!(refused(&body), ["/kuaishou_refund/logisticsInfo/expressNo"]);
}

// Item 7: expireTime ----------------------------------------------------------------

#[test]
fn expire_time_is_the_platform_deadline_at_every_status_and_the_countdown_only_at_40() {
    // Each status with the ways it goes with (10 and 20 are refunds only; 11 to 40
    // returns; 45 and the closed ones either).
    for code in [11, 21, 22, 30, 40, 45, 50, 60, 70] {
        let v = decide(&return_and_refund(json!(code), on_its_way()));
        assert_eq!(due(&v, "platform_deadline"), EXPIRE_AT, "{code}");
        let countdown = explanation(&v, "return_undelivered_in_countdown");
        if code == 40 {
            assert_eq!(due(&v, "respond_by"), EXPIRE_AT);
            assert!(countdown.contains(EXPIRE_AT), "{countdown}");
        } else {
            assert_eq!(deadline(&v, "respond_by"), None, "{code}");
            assert_eq!(countdown, "", "{code}");
        }
    }
    for code in [10, 20, 45, 50, 60, 70] {
        let v = decide(&refund_only(json!(code)));
        assert_eq!(due(&v, "platform_deadline"), EXPIRE_AT, "{code}");
    }
}

#[test]
fn at_status_40_the_bodys_own_countdown_wins_over_expire_time() {
    let mut body = return_and_refund(json!(40), on_its_way());
    body["return"]["countdown_started_at"] = json!("2023-10-03T11:00:00+08:00");
    let v = decide(&body);
    assert_eq!(
        due(&v, "respond_by"),
        EXPIRE_AT,
        "started_at alone: expireTime ends it"
    );
    body["return"]["countdown_ends_at"] = json!("2023-10-04T11:00:00+08:00");
    let v = decide(&body);
    assert_eq!(due(&v, "respond_by"), "2023-10-04T11:00:00+08:00");
    assert_eq!(due(&v, "platform_deadline"), EXPIRE_AT);
}

#[test]
fn at_status_40_a_body_countdown_ending_after_expire_time_is_cut_to_it() {
    // At 40 the platform refunds by itself at expireTime: a respond_by a day later would
    // have the merchant reject after the refund is gone.
    let mut body = return_and_refund(json!(40), on_its_way());
    body["return"]["countdown_ends_at"] = json!("2023-10-05T12:00:00+08:00");
    let v = decide(&body);
    assert_eq!(v["decision"], "reject_with_evidence");
    assert_eq!(due(&v, "respond_by"), EXPIRE_AT, "{v}");
    // Past expireTime the countdown is over, whatever the body says.
    body["as_of"] = json!("2023-10-04T13:00:00+08:00");
    let v = decide(&body);
    assert_eq!(v["scenario"], "return_countdown_expired", "{v}");
    // At other statuses expireTime is not the countdown: the body's stands.
    let mut body = return_and_refund(json!(30), on_its_way());
    body["return"]["countdown_ends_at"] = json!("2023-10-05T12:00:00+08:00");
    assert_eq!(
        due(&decide(&body), "respond_by"),
        "2023-10-05T12:00:00+08:00"
    );
}

#[test]
fn expire_time_zero_or_null_is_no_deadline_and_a_bad_one_is_refused() {
    for none in [json!(0), json!("0"), json!(null)] {
        let mut body = return_and_refund(json!(40), on_its_way());
        body["kuaishou_refund"]["expireTime"] = none.clone();
        let v = decide(&body);
        assert_eq!(deadline_kinds(&v), Vec::<String>::new(), "{none}");
        assert_eq!(v["scenario"], "return_in_transit", "{none}: no countdown");
    }
    let mut body = return_and_refund(json!(40), on_its_way());
    body["kuaishou_refund"]["expireTime"] = json!(EXPIRE.to_string());
    assert_eq!(due(&decide(&body), "respond_by"), EXPIRE_AT);
    for bad in [
        json!(-1),
        json!(253_402_300_800_000i64),
        json!(253_307_692_800_000i64),
        json!("2023-10-04"),
        json!(1.5),
    ] {
        body["kuaishou_refund"]["expireTime"] = bad.clone();
        assert_eq!(refused(&body), ["/kuaishou_refund/expireTime"], "{bad}");
    }
}

// Item 8: negotiateStatus ---------------------------------------------------------

#[test]
fn platform_times_in_epoch_seconds_are_refused_not_read_as_january_1970() {
    // expireTime in seconds would be a deadline in January 1970: at status 40 the return
    // countdown long over, and the answer standard_process instead of reject_with_evidence.
    let mut body = return_and_refund(json!(40), on_its_way());
    body["kuaishou_refund"]["expireTime"] = json!(EXPIRE / 1000);
    assert!(
        message_at(&body, "/kuaishou_refund/expireTime").contains("epoch seconds"),
        "{:?}",
        problems(&body)
    );
    body["kuaishou_refund"]["expireTime"] = json!((EXPIRE / 1000).to_string());
    assert_eq!(refused(&body), ["/kuaishou_refund/expireTime"]);
    let mut body = return_and_refund(json!(40), on_its_way());
    body["kuaishou_refund"]["submitTime"] = json!(SUBMIT / 1000);
    assert_eq!(refused(&body), ["/kuaishou_refund/submitTime"]);
    // sendTime in seconds would make a parcel shipped yesterday stalled since 1970.
    let mut body = refund_only(json!(10));
    body["kuaishou_order"] = order_detail(1_696_150_000, 0);
    assert_eq!(refused(&body), ["/kuaishou_order/orderBaseInfo/sendTime"]);
    // 0 stays the platform's "none".
    body["kuaishou_order"] = order_detail(0, 0);
    body["kuaishou_refund"]["expireTime"] = json!(0);
    assert_eq!(decide(&body)["scenario"], "in_transit");
}

#[test]
fn negotiate_status_3_never_advises_rejecting_again() {
    let mut body = return_and_refund(json!(40), on_its_way());
    assert_eq!(decide(&body)["decision"], "reject_with_evidence");
    body["kuaishou_refund"]["negotiateStatus"] = json!(3);
    let v = decide(&body);
    assert_eq!(v["decision"], "await_return");
    assert_eq!(codes(&v, "warnings"), ["already_rejected"]);
    assert_eq!(deadline(&v, "respond_by"), None);
    assert_eq!(due(&v, "platform_deadline"), EXPIRE_AT);
    assert!(codes(&v, "actions").contains(&"do_not_reject_again".to_owned()));
    for other in [json!(0), json!(1), json!(2), json!("2"), json!(null)] {
        body["kuaishou_refund"]["negotiateStatus"] = other.clone();
        assert_eq!(decide(&body)["decision"], "reject_with_evidence", "{other}");
    }
    for bad in [json!(4), json!(-3), json!("3a"), json!(true)] {
        body["kuaishou_refund"]["negotiateStatus"] = bad.clone();
        assert_eq!(
            refused(&body),
            ["/kuaishou_refund/negotiateStatus"],
            "{bad}"
        );
    }
}

// Item 9: address -----------------------------------------------------------------

#[test]
fn the_return_address_fills_the_return_destination_when_the_body_gives_none() {
    let body = return_and_refund(json!(40), on_its_way());
    let v = decide(&body);
    assert_eq!(v["zone"]["id"], "hangzhou", "{v}");
    // Without the address, the return has no destination: no zone.
    let mut without = body.clone();
    without["kuaishou_refund"]
        .as_object_mut()
        .map(|o| o.remove("address"));
    assert_eq!(decide(&without)["zone"], Value::Null);
    // An empty address is none.
    without["kuaishou_refund"]["address"] = json!("  ");
    assert_eq!(decide(&without)["zone"], Value::Null);
    // The body's own return destination wins.
    let mut own = body.clone();
    own["return"]["destination"] = json!({"address": "江苏省南京市玄武区"});
    assert_eq!(decide(&own)["zone"], Value::Null);
    // A body with no return at all gets one from the detail.
    let mut no_return = body.clone();
    no_return.as_object_mut().map(|o| o.remove("return"));
    let v = decide(&no_return);
    assert_eq!(v["zone"]["id"], "hangzhou");
    assert_eq!(v["scenario"], "return_not_shipped");
    // An address that cannot be placed is warned about, as any destination.
    let mut vague = body.clone();
    vague["kuaishou_refund"]["address"] = json!("退货组 仓库3号门");
    assert!(codes(&decide(&vague), "warnings").contains(&"destination_unresolved".to_owned()));
    vague["kuaishou_refund"]["address"] = json!({"province": "浙江省"});
    assert_eq!(refused(&vague), ["/kuaishou_refund/address"]);
}

// Item 10: requests the notice does not cover --------------------------------------

#[test]
fn exchanges_re_sends_repairs_price_protection_and_seller_refunds_are_the_standard_process() {
    for (field, value, words) in [
        ("handlingWay", json!(3), "an exchange (handlingWay 3)"),
        ("handlingWay", json!(4), "a re-send (handlingWay 4)"),
        ("handlingWay", json!("5"), "a repair (handlingWay 5)"),
        (
            "specialRefundType",
            json!(1),
            "a price-protection refund (specialRefundType 1)",
        ),
        (
            "refundType",
            json!(2),
            "a refund the seller started (refundType 2)",
        ),
    ] {
        for mut body in [
            refund_only(json!(10)),
            return_and_refund(json!(40), on_its_way()),
        ] {
            body["kuaishou_refund"][field] = value.clone();
            let v = decide(&body);
            assert_eq!(v["decision"], "standard_process", "{field} {value}");
            assert_eq!(codes(&v, "actions"), ["follow_standard_process"]);
            assert!(
                explanation(&v, "refund_not_covered").contains(words),
                "{field} {value}: {v}"
            );
            assert_eq!(deadline_kinds(&v), ["platform_deadline"], "{field} {value}");
        }
    }
}

#[test]
fn handling_way_1_and_10_choose_the_refund_type_and_the_others_are_refused() {
    let v = decide(&refund_only(json!(10)));
    assert_eq!(v["scenario"], "in_transit");
    let mut body = refund_only(json!(10));
    body["kuaishou_refund"]["refundType"] = json!(1);
    body["kuaishou_refund"]["specialRefundType"] = json!(0);
    assert_eq!(decide(&body)["decision"], "intercept_and_refund");
    body["kuaishou_refund"]["handlingWay"] = json!("10");
    assert_eq!(decide(&body)["decision"], "intercept_and_refund");
    let v = decide(&return_and_refund(json!(40), on_its_way()));
    assert_eq!(v["scenario"], "return_undelivered_in_countdown");
    for bad in [
        json!(2),
        json!(0),
        json!(6),
        json!("退货退款"),
        json!(1.5),
        json!(null),
    ] {
        body["kuaishou_refund"]["handlingWay"] = bad.clone();
        assert_eq!(refused(&body), ["/kuaishou_refund/handlingWay"], "{bad}");
    }
    body["kuaishou_refund"]["handlingWay"] = json!(10);
    body["kuaishou_refund"]["specialRefundType"] = json!(2);
    body["kuaishou_refund"]["refundType"] = json!(3);
    assert_eq!(
        refused(&body),
        [
            "/kuaishou_refund/specialRefundType",
            "/kuaishou_refund/refundType"
        ]
    );
}

#[test]
fn a_status_that_contradicts_the_handling_way_is_refused_at_both_never_settled_by_the_way() {
    let pointers = ["/kuaishou_refund/status", "/kuaishou_refund/handlingWay"];
    // A return status with handlingWay 10: read by the way, a return parcel on its way
    // would be a refund only never shipped, and the refund approved at once.
    for status in [11, 21, 22, 30, 40] {
        let mut body = return_and_refund(json!(status), on_its_way());
        assert!(
            decide(&body)["scenario"]
                .as_str()
                .is_some_and(|s| s.starts_with("return_"))
        );
        body["kuaishou_refund"]["handlingWay"] = json!(10);
        assert_eq!(refused(&body), pointers, "{status}");
        for pointer in pointers {
            let m = message_at(&body, pointer);
            assert!(
                m.contains(&format!("{status} (")) && m.contains("10 (仅退款, refund only)"),
                "{status} {pointer}: {m}"
            );
            assert!(m.contains("contradicts itself"), "{m}");
        }
        // The same as digits.
        body["kuaishou_refund"]["status"] = json!(status.to_string());
        body["kuaishou_refund"]["handlingWay"] = json!("10");
        assert_eq!(refused(&body), pointers, "{status}");
    }
    // A refund-only status with handlingWay 1: decided under §6, as a return.
    for status in [10, 20] {
        let mut body = refund_only(json!(status));
        assert_eq!(decide(&body)["scenario"], "in_transit");
        body["kuaishou_refund"]["handlingWay"] = json!(1);
        assert_eq!(refused(&body), pointers, "{status}");
        let m = message_at(&body, "/kuaishou_refund/handlingWay");
        assert!(
            m.contains("1 (退货退款, return and refund)")
                && m.contains(&format!("status is {status} (")),
            "{m}"
        );
        // With a return beside it, just the same.
        body["return"] = json!({"trace": on_its_way()});
        assert_eq!(refused(&body), pointers, "{status}");
    }
    // Waiting for the buyer's receipt, and the closed statuses, go with either way.
    for status in [45, 50, 60, 70] {
        let v = decide(&return_and_refund(json!(status), on_its_way()));
        assert_eq!(v["scenario"], "return_in_transit", "{status}");
        let v = decide(&refund_only(json!(status)));
        assert_eq!(v["scenario"], "in_transit", "{status}");
    }
    // Exchanges, re-sends and repairs are not checked (no source says which statuses
    // they pass through): the standard process, whatever the status.
    for status in [10, 11, 20, 40] {
        for way in [3, 4, 5] {
            let mut body = refund_only(json!(status));
            body["kuaishou_refund"]["handlingWay"] = json!(way);
            assert_eq!(
                decide(&body)["decision"],
                "standard_process",
                "{status} {way}"
            );
        }
    }
}

#[test]
fn a_refund_type_beside_the_detail_is_refused_whether_or_not_it_agrees_with_the_way() {
    for (mut body, refund_type) in [
        (refund_only(json!(10)), "refund_only"),
        (refund_only(json!(10)), "return_and_refund"),
        (
            return_and_refund(json!(40), on_its_way()),
            "return_and_refund",
        ),
        (return_and_refund(json!(40), on_its_way()), "refund_only"),
    ] {
        body["refund_type"] = json!(refund_type);
        assert_eq!(refused(&body), ["/refund_type"], "{refund_type}");
        let m = message_at(&body, "/refund_type");
        assert!(m.contains("kuaishou_refund.handlingWay"), "{m}");
    }
}

// Item 11: orderId ----------------------------------------------------------------

#[test]
fn order_id_from_a_push_message_is_the_order_id_and_is_given_once() {
    let mut body = refund_only(json!(10));
    body["kuaishou_refund"]
        .as_object_mut()
        .map(|o| o.remove("oid"));
    body["kuaishou_refund"]["orderId"] = json!(2_309_281_234_567_890i64);
    let v = decide(&body);
    assert_eq!(v["decision"], "intercept_and_refund");
    // Beside oid, even the same id: the id is given once (so that a body the schema
    // admits is never refused, the schema says "not both", and the server does too).
    body["kuaishou_refund"]["oid"] = json!("2309281234567890");
    assert_eq!(refused(&body), ["/kuaishou_refund/orderId"]);
    let m = message_at(&body, "/kuaishou_refund/orderId");
    assert!(m.contains("the same id") && m.contains("once"), "{m}");
    body["kuaishou_refund"]["oid"] = json!("2309281234567891");
    assert_eq!(refused(&body), ["/kuaishou_refund/orderId"]);
    let m = message_at(&body, "/kuaishou_refund/orderId");
    assert!(
        m.contains("2309281234567891") && m.contains("2309281234567890"),
        "{m}"
    );
    // oid null beside orderId: orderId alone.
    body["kuaishou_refund"]["oid"] = Value::Null;
    assert_eq!(decide(&body)["decision"], "intercept_and_refund");
    // Neither: the order id is required.
    if let Some(o) = body["kuaishou_refund"].as_object_mut() {
        o.remove("oid");
        o.remove("orderId");
    }
    assert!(message_at(&body, "/kuaishou_refund/oid").starts_with("is required"));
    assert_eq!(refused(&body), ["/kuaishou_refund/oid"]);
    // Both null: the same as neither.
    body["kuaishou_refund"]["oid"] = Value::Null;
    body["kuaishou_refund"]["orderId"] = Value::Null;
    assert_eq!(refused(&body), ["/kuaishou_refund/oid"]);
    // orderId alone, as a string: what a body built from a push message carries.
    body["kuaishou_refund"]["orderId"] = json!("2309281234567890");
    assert_eq!(decide(&body)["decision"], "intercept_and_refund");
}

// Item 12: receiptStatus, and the order detail ------------------------------------

#[test]
fn receipt_status_2_is_the_buyers_claim_read_by_the_engine_not_a_synthetic_event() {
    let mut body = refund_only(json!(10));
    body["kuaishou_refund"]["receiptStatus"] = json!(2);
    let v = decide(&body);
    assert_eq!(v["scenario"], "delivered");
    assert_eq!(v["decision"], "standard_process");
    let why = explanation(&v, "buyer_claimed_receipt");
    assert!(why.contains("the buyer's own claim"), "{v}");
    assert!(
        !codes(&v, "explanation").contains(&"status_read".to_owned()),
        "no carrier event stands for the claim"
    );
    for not_received in [json!(0), json!(1), json!("1"), json!(null)] {
        body["kuaishou_refund"]["receiptStatus"] = not_received.clone();
        assert_eq!(decide(&body)["scenario"], "in_transit", "{not_received}");
    }
    for bad in [json!(3), json!(-2), json!("02"), json!(false)] {
        body["kuaishou_refund"]["receiptStatus"] = bad.clone();
        assert_eq!(refused(&body), ["/kuaishou_refund/receiptStatus"], "{bad}");
    }
}

/// An order detail as `open.order.detail` returns it (its `data`).
fn order_detail(send: i64, recv: i64) -> Value {
    json!({
        "orderBaseInfo": {
            "oid": 2_309_281_234_567_890i64,
            "status": 40,
            "payTime": 1_696_100_000_000i64,
            "sendTime": send,
            "recvTime": recv,
            "buyerNick": "买家",
        },
        "orderLogisticsInfo": [{"expressNo": "YT1", "expressCode": 4}],
        "orderRefundList": [],
    })
}

#[test]
fn the_order_details_send_time_is_shipped_at_unless_the_body_gives_one() {
    // No trace at all: without the order detail the parcel was never shipped.
    let mut body = refund_only(json!(10));
    body.as_object_mut().map(|o| o.remove("logistics_trace"));
    assert_eq!(decide(&body)["scenario"], "not_shipped");
    // Shipped 2023-09-29 16:00, nothing since: stalled by the request.
    body["kuaishou_order"] = order_detail(1_695_974_400_000, 0);
    let v = decide(&body);
    assert_eq!(v["scenario"], "stalled", "{v}");
    // The body's own shipped_at wins.
    body["order"] = json!({"shipped_at": "2023-10-03T09:00:00+08:00"});
    assert_eq!(decide(&body)["scenario"], "in_transit");
    // A sendTime after as_of (2023-10-03 18:00) is used, with a warning naming it.
    body.as_object_mut().map(|o| o.remove("order"));
    body["kuaishou_order"] = order_detail(1_696_338_000_000, 0);
    let v = decide(&body);
    assert_eq!(v["scenario"], "in_transit", "{v}");
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("event_after_as_of"), "{v}");
    assert!(
        warnings.contains("/kuaishou_order/orderBaseInfo/sendTime"),
        "{v}"
    );
    // 0 is the platform's "not yet".
    body["kuaishou_order"] = order_detail(0, 0);
    assert_eq!(decide(&body)["scenario"], "not_shipped");
}

#[test]
fn a_send_time_at_the_end_of_the_range_is_decided_and_a_later_one_refused() {
    // The range ends at 9996-12-31T23:59:59.999Z (253307692799999) so that a deadline
    // counted from it is still in the year 9999; the old end (9999-12-30) is refused.
    let mut body = refund_only(json!(10));
    body.as_object_mut().map(|o| o.remove("logistics_trace"));
    for late in [253_402_214_399_999i64, 253_307_692_800_000] {
        body["kuaishou_order"] = order_detail(late, 0);
        let errors = problems(&body);
        assert_eq!(
            errors.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["/kuaishou_order/orderBaseInfo/sendTime"],
            "{errors:?}"
        );
        assert!(errors[0].1.contains("9996-12-31"), "{errors:?}");
    }
    body["kuaishou_order"] = order_detail(253_307_692_799_999, 0);
    decide(&body);
    // The refund's submitTime, at the end of the range, with a parcel stalled long before.
    let mut body = refund_only(json!(10));
    body["as_of"] = json!(253_307_692_799_999i64);
    body["kuaishou_refund"]["submitTime"] = json!(253_402_214_399_999i64);
    let errors = problems(&body);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "/kuaishou_refund/submitTime", "{errors:?}");
    body["kuaishou_refund"]["submitTime"] = json!(253_307_692_799_999i64);
    let v = decide(&body);
    assert_eq!(
        due(&v, "intercept_and_refund_by"),
        "9997-01-03T07:59:59.999+08:00"
    );
}

#[test]
fn a_passed_platform_deadline_is_warned_about_only_beside_the_notices_advice() {
    // expireTime 2023-10-04 12:30; decided the day after: intercept and refund, late.
    let mut body = refund_only(json!(10));
    body["as_of"] = json!("2023-10-05T09:00:00+08:00");
    let v = decide(&body);
    assert_eq!(v["decision"], "intercept_and_refund", "{v}");
    assert_eq!(codes(&v, "warnings"), ["deadline_passed"], "{v}");
    assert!(
        v["warnings"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("platform_deadline"),
        "{v}"
    );
    // Before it: no warning.
    body["as_of"] = json!("2023-10-04T12:00:00+08:00");
    assert_eq!(codes(&decide(&body), "warnings"), Vec::<String>::new());
    // A closed refund follows the standard process: its passed deadline binds nothing.
    let mut closed = refund_only(json!(60));
    closed["as_of"] = json!("2023-10-05T09:00:00+08:00");
    let v = decide(&closed);
    assert_eq!(codes(&v, "warnings"), ["refund_closed"], "{v}");
}

#[test]
fn the_order_details_recv_time_is_a_delivered_event_of_the_forward_trace() {
    let mut body = refund_only(json!(10));
    // Signed for on 2023-10-03 09:00, after the trace's last event.
    body["kuaishou_order"] = order_detail(1_696_150_000_000, 1_696_294_800_000);
    let v = decide(&body);
    assert_eq!(v["scenario"], "delivered");
    let why = explanation(&v, "status_read");
    assert!(
        why.contains("/kuaishou_order/orderBaseInfo/recvTime") && why.contains("recvTime"),
        "{v}"
    );
    // With the buyer's claim too, the platform's record is what counts.
    body["kuaishou_refund"]["receiptStatus"] = json!(2);
    let v = decide(&body);
    assert_eq!(v["scenario"], "delivered");
    assert_eq!(explanation(&v, "buyer_claimed_receipt"), "");
    // Joins a pasted trace as well.
    body.as_object_mut().map(|o| o.remove("logistics_trace"));
    body["logistics_text"] = json!("2023-10-02 09:00 【义乌市】圆通速递 已揽收");
    assert_eq!(decide(&body)["scenario"], "delivered");
}

#[test]
fn the_order_detail_must_be_the_refunds_order_and_shaped_as_the_platform_returns_it() {
    let mut body = refund_only(json!(10));
    let mut order = order_detail(1_695_974_400_000, 0);
    order["orderBaseInfo"]["oid"] = json!("2309281234567899");
    body["kuaishou_order"] = order;
    assert_eq!(refused(&body), ["/kuaishou_order/orderBaseInfo/oid"]);
    // orderBaseInfo alone (or flattened): its times would go unread, so it is refused.
    body["kuaishou_order"] = order_detail(1_695_974_400_000, 0)["orderBaseInfo"].clone();
    assert_eq!(
        refused(&body),
        ["/kuaishou_order/sendTime", "/kuaishou_order/recvTime"]
    );
    for (bad, pointer) in [
        (
            json!({"orderBaseInfo": [1]}),
            "/kuaishou_order/orderBaseInfo",
        ),
        (
            json!({"orderBaseInfo": {"sendTime": "yesterday"}}),
            "/kuaishou_order/orderBaseInfo/sendTime",
        ),
        (
            json!({"orderBaseInfo": {"recvTime": -1}}),
            "/kuaishou_order/orderBaseInfo/recvTime",
        ),
        (json!("2309281234567890"), "/kuaishou_order"),
    ] {
        body["kuaishou_order"] = bad.clone();
        assert_eq!(refused(&body), [pointer], "{bad}");
    }
    // What it does not read, it accepts.
    body["kuaishou_order"] = json!({
        "orderBaseInfo": {"oid": 2_309_281_234_567_890i64, "remark": ""},
        "orderItemInfo": {"x": [1, {"y": null}]}
    });
    assert_eq!(decide(&body)["decision"], "intercept_and_refund");
}

#[test]
fn an_order_detail_signed_for_before_it_was_shipped_is_warned_about() {
    // 2023-10-03T12:00 and 2023-10-03T09:00 (+08:00), after the trace's last event.
    const OCT_3_1200: i64 = 1_696_305_600_000;
    const OCT_3_0900: i64 = 1_696_294_800_000;
    let mut body = refund_only(json!(10));
    body["kuaishou_order"] = order_detail(OCT_3_1200, OCT_3_0900);
    let v = decide(&body);
    assert_eq!(codes(&v, "warnings"), ["received_before_shipped"], "{v}");
    let m = v["warnings"][0]["message"].as_str().unwrap_or_default();
    assert!(
        m.contains("/kuaishou_order/orderBaseInfo/recvTime")
            && m.contains("2023-10-03T09:00:00+08:00")
            && m.contains("2023-10-03T12:00:00+08:00"),
        "{m}"
    );
    // Both are used as given: the platform's signature is still a delivery.
    assert_eq!(v["scenario"], "delivered");
    let zh = decide_in(&body, "zh-CN");
    assert!(
        zh["warnings"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("早于发货时间")),
        "{zh}"
    );
    // The warning names the shipping time used: sendTime here.
    assert!(m.contains("/kuaishou_order/orderBaseInfo/sendTime"), "{m}");
    // The body's shipped_at wins over sendTime: it is the one compared. Shipped before
    // the signature, no warning (sendTime, unused, is later than recvTime).
    body["order"] = json!({"shipped_at": "2023-10-03T08:30:00+08:00"});
    let v = decide(&body);
    assert!(
        !codes(&v, "warnings").contains(&"received_before_shipped".to_owned()),
        "{v}"
    );
    // Shipped after the signature by the body's own time, while sendTime is earlier: warned,
    // naming /order/shipped_at.
    body["kuaishou_order"] = order_detail(OCT_3_0900 - 3_600_000, OCT_3_0900);
    body["order"] = json!({"shipped_at": "2023-10-03T12:00:00+08:00"});
    let v = decide(&body);
    assert_eq!(codes(&v, "warnings"), ["received_before_shipped"], "{v}");
    let m = v["warnings"][0]["message"].as_str().unwrap_or_default();
    assert!(
        m.contains("/order/shipped_at") && !m.contains("sendTime"),
        "{m}"
    );
    body.as_object_mut().map(|o| o.remove("order"));
    // Signed for after the shipment, at its very instant, or either one not yet: no warning.
    for (send, recv) in [
        (OCT_3_0900, OCT_3_1200),
        (OCT_3_0900, OCT_3_0900),
        (OCT_3_1200, 0),
        (0, OCT_3_0900),
    ] {
        body["kuaishou_order"] = order_detail(send, recv);
        let v = decide(&body);
        assert!(
            !codes(&v, "warnings").contains(&"received_before_shipped".to_owned()),
            "{send} {recv}: {v}"
        );
    }
}

#[test]
fn an_order_detail_without_its_base_info_is_refused_not_read_as_never_shipped() {
    // No trace: only the order detail says the parcel left (stalled since 09-29).
    let mut body = refund_only(json!(10));
    body.as_object_mut().map(|o| o.remove("logistics_trace"));
    body["kuaishou_order"] = order_detail(1_695_974_400_000, 0);
    assert_eq!(decide(&body)["scenario"], "stalled");
    // The whole API response (`data` inside), a misspelt key, an empty object or a null
    // `orderBaseInfo`: nothing would be read, so the case would be `not_shipped` and
    // the answer `approve_refund`. Refused instead, at the field that is missing.
    for bad in [
        json!({"result": 1, "data": order_detail(1_695_974_400_000, 0)}),
        json!({"orderbaseinfo": order_detail(1_695_974_400_000, 0)["orderBaseInfo"]}),
        json!({}),
        json!({"orderBaseInfo": null, "orderLogisticsInfo": []}),
    ] {
        body["kuaishou_order"] = bad.clone();
        assert_eq!(refused(&body), ["/kuaishou_order/orderBaseInfo"], "{bad}");
    }
    let why = message_at(&body, "/kuaishou_order/orderBaseInfo");
    assert!(why.contains("data"), "{why}");
    // `kuaishou_order` itself may still be null: no order detail at all.
    body["kuaishou_order"] = Value::Null;
    assert_eq!(decide(&body)["scenario"], "not_shipped");
}

// Hostile values ------------------------------------------------------------------

#[test]
fn ids_of_any_size_either_read_exactly_or_are_refused() {
    let mut body = refund_only(json!(10));
    for (id, want) in [
        (json!(u64::MAX), Some("18446744073709551615")),
        (json!(9_007_199_254_740_993u64), Some("9007199254740993")),
        (json!("00000123"), Some("00000123")),
        (json!(2.150_361_234_567_89e15), Some("2150361234567890")),
        (json!(1.8446744073709552e19), None),
        (json!(1e30), None),
        (json!(-1), None),
        (json!(0.5), None),
        (json!(""), None),
        (json!([1]), None),
    ] {
        body["kuaishou_refund"]["refundId"] = id.clone();
        match want {
            Some(text) => assert_eq!(decide(&body)["case_id"], text, "{id}"),
            None => assert_eq!(refused(&body), ["/kuaishou_refund/refundId"], "{id}"),
        }
    }
    // A number past u64 in the body's text is read as a float, and refused.
    let text = String::from_utf8(bytes(&refund_only(json!(10))))
        .unwrap_or_default()
        .replace("2150361234567890", "99999999999999999999999");
    let e = refusal(text.as_bytes());
    assert_eq!(e.errors[0].pointer, "/kuaishou_refund/refundId", "{e:?}");
    // So is a float from 2^53 up: 9007199254740993.0 reads as ...992, another order.
    let plain = String::from_utf8(bytes(&refund_only(json!(10)))).unwrap_or_default();
    for (id, pointer) in [
        ("9007199254740993.0", "/kuaishou_refund/refundId"),
        ("9.007199254740993e15", "/kuaishou_refund/refundId"),
    ] {
        let text = plain.replace("2150361234567890", id);
        let e = refusal(text.as_bytes());
        assert_eq!(e.errors.len(), 1, "{id}: {e:?}");
        assert_eq!(e.errors[0].pointer, pointer, "{id}");
    }
    let text = plain.replace("2309281234567890", "2.30928123456789e16");
    let e = refusal(text.as_bytes());
    assert_eq!(e.errors[0].pointer, "/kuaishou_refund/oid", "{e:?}");
    // Below 2^53 a float is still exactly its integer.
    let text = plain.replace("2150361234567890", "9007199254740991.0");
    assert_eq!(
        crate::helpers::decide_bytes(text.as_bytes(), "en")["case_id"],
        "9007199254740991"
    );
}

#[test]
fn mixed_types_are_read_when_they_mean_one_thing_and_refused_otherwise() {
    // Numbers as digit strings, as shop systems often hold them.
    let body = json!({
        "kuaishou_refund": {
            "refundId": "2150361234567890", "orderId": "2309281234567890", "status": "40",
            "handlingWay": "1", "submitTime": SUBMIT.to_string(), "expireTime": EXPIRE.to_string(),
            "negotiateStatus": "1", "receiptStatus": "1", "refundType": "1", "specialRefundType": "0",
            "address": RETURN_ADDRESS, "logisticsInfo": {"expressNo": "YT7412345678901", "expressCode": "4"},
        },
        "as_of": "2023-10-04T09:00:00+08:00",
        "destination": {"address": "江苏省南京市鼓楼区中山路1号"},
        "return": {"trace": on_its_way()},
    });
    let want = decide(&return_and_refund(json!(40), on_its_way()));
    let v = decide(&body);
    for key in ["scenario", "decision", "deadlines", "zone", "warnings"] {
        assert_eq!(v[key], want[key], "{key}");
    }
    // Every field wrong at once: every problem reported, each at its pointer.
    let bad = json!({
        "kuaishou_refund": {
            "refundId": {}, "oid": true, "status": "forty", "handlingWay": [1],
            "submitTime": "2023-10-03", "expireTime": {}, "negotiateStatus": 3.5,
            "receiptStatus": "yes", "refundType": -1, "specialRefundType": "1.0",
            "address": 1, "logisticsInfo": [], "expressNo": 5,
        },
        "destination": {"adcode": "330102"},
    });
    let got: Vec<String> = problems(&bad).into_iter().map(|(p, _)| p).collect();
    let mut want: Vec<String> = [
        "address",
        "expireTime",
        "expressNo",
        "handlingWay",
        "logisticsInfo",
        "negotiateStatus",
        "oid",
        "receiptStatus",
        "refundId",
        "refundType",
        "specialRefundType",
        "status",
        "submitTime",
    ]
    .iter()
    .map(|f| format!("/kuaishou_refund/{f}"))
    .collect();
    want.sort();
    assert_eq!(got, want);
}

// The examples ---------------------------------------------------------------------

fn example(name: &str) -> Value {
    let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_full_shaped_example_carries_the_whole_detail_and_decides_at_status_40() {
    let body = example("kuaishou-refund-full.json");
    assert_eq!(
        body["kuaishou_refund"],
        example("kuaishou-refund-full-detail.json"),
        "the request carries the full detail exactly"
    );
    let v = decide(&body);
    assert_eq!(v["case_id"], "2150361234567890");
    assert_outcome(
        &v,
        "return_undelivered_in_countdown",
        "reject_with_evidence",
        &["respond_by", "platform_deadline"],
    );
    assert_eq!(due(&v, "respond_by"), EXPIRE_AT);
    assert_eq!(
        v["zone"]["id"], "hangzhou",
        "the detail's address placed the return"
    );
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
}

#[test]
fn the_readme_example_still_decides_as_before() {
    let v = decide(&example("kuaishou-refund.json"));
    assert_eq!(v["decision"], "reject_with_evidence");
    assert_eq!(due(&v, "respond_by"), "2023-10-07T08:00:00+08:00");
    assert_eq!(due(&v, "platform_deadline"), "2023-10-07T08:00:00+08:00");
}

// Any detail at all ------------------------------------------------------------------

mod any_detail {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use crate::helpers::{bytes, rules};

    /// Values a shop system might put anywhere: right, wrong, of every kind.
    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!(null)),
            Just(json!(true)),
            Just(json!(-1)),
            Just(json!(0)),
            Just(json!("0")),
            Just(json!(1)),
            Just(json!(2)),
            Just(json!(3)),
            Just(json!(10)),
            Just(json!("10")),
            Just(json!(40)),
            Just(json!("40")),
            Just(json!(50)),
            Just(json!(60)),
            Just(json!(70)),
            Just(json!(1e3)),
            Just(json!(40.5)),
            Just(json!(u64::MAX)),
            Just(json!(super::SUBMIT)),
            Just(json!(super::EXPIRE)),
            Just(json!("")),
            Just(json!("YT1")),
            Just(json!(super::RETURN_ADDRESS)),
            Just(json!({})),
            Just(json!({"expressNo": "YT2", "sendTime": 1, "recvTime": super::EXPIRE})),
            Just(json!([])),
        ]
    }

    fn key() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "refundId",
            "oid",
            "orderId",
            "status",
            "handlingWay",
            "refundType",
            "specialRefundType",
            "negotiateStatus",
            "submitTime",
            "expireTime",
            "receiptStatus",
            "address",
            "logisticsInfo",
            "expressNo",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_detail_is_refused_at_its_pointers_or_decided_within_the_platforms_bounds(
            edits in proptest::collection::vec((key(), value()), 1..8),
            order in proptest::option::of(value()),
        ) {
            let mut body = super::return_and_refund(json!(40), super::on_its_way());
            for (k, v) in &edits {
                body["kuaishou_refund"][*k] = v.clone();
            }
            if let Some(o) = &order {
                body["kuaishou_order"] = json!({"orderBaseInfo": o});
            }
            let detail = body["kuaishou_refund"].clone();
            match aftersales::decide_json(rules(), &bytes(&body), chrono::Utc::now(), Default::default(), "x".into()) {
                Err(e) => {
                    prop_assert!(!e.errors.is_empty());
                    for f in &e.errors {
                        prop_assert!(!f.message.is_empty());
                        // The body's return, once a handlingWay makes the case a refund only.
                        prop_assert!(f.pointer.starts_with("/kuaishou_") || f.pointer == "/return", "{}: {}", f.pointer, f.message);
                    }
                }
                Ok(d) => {
                    let v = serde_json::to_value(&d.view).unwrap_or_default();
                    let status = d.case.platform.as_ref().map(|p| p.status.code());
                    prop_assert_eq!(status.map(i64::from), detail["status"].as_i64().or_else(|| detail["status"].as_str()?.parse().ok()));
                    // A covered way never decides against its status's type.
                    let way = detail["handlingWay"].as_i64().or_else(|| detail["handlingWay"].as_str()?.parse().ok());
                    if matches!(way, Some(1 | 10)) {
                        let of_status = d.case.platform.as_ref().and_then(|p| p.status.refund_type());
                        prop_assert!(of_status.is_none_or(|t| t == d.case.refund_type), "{}", detail);
                    }
                    if matches!(status, Some(50 | 60 | 70)) {
                        prop_assert_eq!(&v["decision"], "standard_process");
                    }
                    if d.case.platform.as_ref().is_some_and(|p| p.merchant_rejected) {
                        prop_assert_ne!(&v["decision"], "reject_with_evidence");
                    }
                }
            }
        }
    }
}

#[test]
fn a_blank_order_id_is_refused_as_an_empty_one_is() {
    for blank in [json!(""), json!(" "), json!("\u{3000}"), json!("\t \n")] {
        let mut body = refund_only(json!(10));
        body["kuaishou_refund"]["oid"] = blank.clone();
        assert_eq!(refused(&body), ["/kuaishou_refund/oid"], "{blank}");
        let mut body = refund_only(json!(10));
        body["kuaishou_refund"]
            .as_object_mut()
            .map(|o| o.remove("oid"));
        body["kuaishou_refund"]["orderId"] = blank.clone();
        assert_eq!(refused(&body), ["/kuaishou_refund/orderId"], "{blank}");
    }
    // An id with spaces around it is still an id.
    let mut body = refund_only(json!(10));
    body["kuaishou_refund"]["oid"] = json!(" 2309281234567890 ");
    assert_eq!(decide(&body)["decision"], "intercept_and_refund");
}

#[test]
fn a_return_waybill_on_a_refund_only_detail_is_warned_about_not_silently_ignored() {
    // Without a waybill: no warning, the usual decision.
    let plain = decide(&refund_only(json!(10)));
    assert_eq!(codes(&plain, "warnings"), Vec::<String>::new(), "{plain}");
    for (field, pointer) in [
        ("logisticsInfo", "/kuaishou_refund/logisticsInfo/expressNo"),
        ("expressNo", "/kuaishou_refund/expressNo"),
    ] {
        let mut body = refund_only(json!(10));
        body["kuaishou_refund"][field] = match field {
            "logisticsInfo" => json!({"expressNo": "YT7412345678901", "expressCode": 4}),
            _ => json!("YT7412345678901"),
        };
        let v = decide(&body);
        assert_eq!(codes(&v, "warnings"), ["return_waybill_ignored"], "{v}");
        assert_eq!(v["warnings"][0]["pointer"], pointer, "{v}");
        let m = v["warnings"][0]["message"].as_str().unwrap_or_default();
        assert!(m.contains("YT7412345678901"), "{m}");
        // The decision is the one without the waybill.
        assert_eq!(v["decision"], plain["decision"], "{v}");
        assert_eq!(v["scenario"], plain["scenario"], "{v}");
    }
    // A blank waybill is none: no warning.
    let mut body = refund_only(json!(10));
    body["kuaishou_refund"]["logisticsInfo"] = json!({"expressNo": "", "expressCode": 0});
    assert_eq!(codes(&decide(&body), "warnings"), Vec::<String>::new());
}
