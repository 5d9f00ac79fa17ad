//! policy.md, row by row and boundary by boundary.

use serde_json::{Value, json};

use crate::helpers::*;

const IN_TRANSIT_AT: &str = "2023-10-10T14:00:00+08:00";

fn stalled_case(as_of: &str) -> Value {
    refund_only(
        "2023-10-11T09:00:00+08:00",
        as_of,
        &[
            ("2023-10-09T20:00:00+08:00", "collected"),
            (IN_TRANSIT_AT, "in_transit"),
        ],
    )
}

// §5 refund only ---------------------------------------------------------------

#[test]
fn not_shipped_approves_the_refund_first() {
    let v = decide(&refund_only(
        "2023-10-02T10:00:00+08:00",
        "2023-10-02T10:05:00+08:00",
        &[],
    ));
    assert_eq!(v["scenario"], "not_shipped");
    assert_eq!(v["decision"], "approve_refund");
    assert_eq!(codes(&v, "actions"), ["approve_refund_now"]);
    assert_eq!(
        v["explanation"]
            .as_array()
            .map(|e| e.iter().any(|x| x["rule"] == "3.1.1")),
        Some(true)
    );
}

#[test]
fn atom_hint_appears_at_the_surge_level_and_not_below() {
    let mut at_level = refund_only(
        "2023-10-02T10:00:00+08:00",
        "2023-10-02T10:05:00+08:00",
        &[],
    );
    at_level["shop"] = json!({"open_refund_requests": 50});
    let v = decide(&at_level);
    assert_eq!(
        codes(&v, "actions"),
        ["approve_refund_now", "enable_atom_pre_shipment_refund"]
    );

    let mut below = at_level.clone();
    below["shop"] = json!({"open_refund_requests": 49});
    assert_eq!(codes(&decide(&below), "actions"), ["approve_refund_now"]);
}

#[test]
fn shipped_at_without_trace_counts_as_a_collection() {
    let mut r = refund_only(
        "2023-10-02T10:00:00+08:00",
        "2023-10-02T12:00:00+08:00",
        &[],
    );
    r["order"]["shipped_at"] = json!("2023-10-01T10:00:00+08:00");
    let v = decide(&r);
    assert_eq!(v["scenario"], "in_transit");
    assert_eq!(
        deadline(&v, "stalled_after").map(|d| d["due_at"].clone()),
        Some(json!("2023-10-04T10:00:00+08:00"))
    );
}

/// The warnings of a decision with the given code, as (pointer, at).
fn later_than_as_of(v: &Value, code: &str) -> Vec<(String, String)> {
    v["warnings"]
        .as_array()
        .map(|ws| {
            ws.iter()
                .filter(|w| w["code"] == code)
                .map(|w| {
                    let text = w["message"].as_str().unwrap_or_default();
                    let pointer = text.split_whitespace().find(|t| t.starts_with('/'));
                    (pointer.unwrap_or_default().to_owned(), text.to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn shipped_at_after_as_of_is_used_as_a_late_event_is_and_warned_about_at_its_pointer() {
    // As a trace event after as_of: used, and warned about with its pointer.
    let mut r = refund_only(
        "2023-10-02T10:00:00+08:00",
        "2023-10-02T12:00:00+08:00",
        &[],
    );
    r["order"]["shipped_at"] = json!("2023-10-05T10:00:00+08:00");
    let v = decide(&r);
    let late = later_than_as_of(&v, "event_after_as_of");
    assert_eq!(late.len(), 1, "{v}");
    assert_eq!(late[0].0, "/order/shipped_at", "{late:?}");
    assert!(late[0].1.contains("2023-10-05T10:00:00+08:00"), "{late:?}");
    // The same time as a trace event is treated the same way.
    let t = refund_only(
        "2023-10-02T10:00:00+08:00",
        "2023-10-02T12:00:00+08:00",
        &[("2023-10-05T10:00:00+08:00", "collected")],
    );
    let e = decide(&t);
    assert_eq!(
        later_than_as_of(&e, "event_after_as_of")[0].0,
        "/logistics_trace/0"
    );
    assert_eq!(e["scenario"], v["scenario"]);
    assert_eq!(e["decision"], v["decision"]);
    // shipped_at before as_of: no warning.
    r["order"]["shipped_at"] = json!("2023-10-01T10:00:00+08:00");
    assert_eq!(codes(&decide(&r), "warnings"), Vec::<String>::new());
}

#[test]
fn a_countdown_starting_after_as_of_does_not_run_and_is_warned_about() {
    let r = return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[("2023-10-05T11:00:00+08:00", "in_transit")],
        Some("2023-10-07T10:00:00+08:00"),
    );
    let v = decide(&r);
    assert_eq!(v["scenario"], "return_in_transit", "{v}");
    assert_eq!(deadline(&v, "respond_by"), None);
    let late = later_than_as_of(&v, "countdown_after_as_of");
    assert_eq!(late.len(), 1, "{v}");
    assert_eq!(late[0].0, "/return/countdown_started_at");
    // Started before as_of: it runs, without the warning.
    let r = return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[("2023-10-05T11:00:00+08:00", "in_transit")],
        Some("2023-10-06T10:00:00+08:00"),
    );
    let v = decide(&r);
    assert_eq!(v["scenario"], "return_undelivered_in_countdown");
    assert!(!codes(&v, "warnings").contains(&"countdown_after_as_of".to_owned()));
}

#[test]
fn a_countdown_starting_after_as_of_has_not_expired_even_when_its_given_end_is_earlier() {
    // Started 12:00, ends (as given) 10:30, decided at 11:00: it had not started, so it is
    // neither running nor over; the end before the start is warned about.
    let mut r = return_and_refund(
        "2023-10-06T11:00:00+08:00",
        &[("2023-10-05T11:00:00+08:00", "in_transit")],
        Some("2023-10-06T12:00:00+08:00"),
    );
    r["return"]["countdown_ends_at"] = json!("2023-10-06T10:30:00+08:00");
    let v = decide(&r);
    assert_eq!(v["scenario"], "return_in_transit", "{v}");
    assert_eq!(v["decision"], "await_return", "{v}");
    assert_eq!(deadline(&v, "respond_by"), None);
    let warned = codes(&v, "warnings");
    assert!(warned.contains(&"countdown_after_as_of".to_owned()), "{v}");
    assert!(warned.contains(&"countdown_inconsistent".to_owned()), "{v}");
    assert!(
        !warned.contains(&"return_countdown_expired".to_owned()),
        "{v}"
    );
    // Started before as_of with the same end: expired.
    r["return"]["countdown_started_at"] = json!("2023-10-06T09:00:00+08:00");
    let v = decide(&r);
    assert_eq!(v["scenario"], "return_countdown_expired", "{v}");
}

#[test]
fn a_rejection_return_or_interception_at_the_head_approves_the_refund() {
    for status in ["rejected", "returning", "returned", "intercepted"] {
        let v = decide(&refund_only(
            "2023-10-01T09:00:00+08:00",
            "2023-10-01T09:30:00+08:00",
            &[
                ("2023-09-28T10:00:00+08:00", "collected"),
                ("2023-09-30T18:00:00+08:00", status),
            ],
        ));
        assert_eq!(v["scenario"], "rejected_or_returned", "{status}");
        assert_eq!(v["decision"], "approve_refund", "{status}");
        assert_eq!(
            codes(&v, "actions")[0],
            "approve_refund_now",
            "{status}: the refund comes first"
        );
    }
}

#[test]
fn delivered_goods_follow_the_standard_process_after_contacting_the_buyer() {
    let v = decide(&refund_only(
        "2023-10-01T09:00:00+08:00",
        "2023-10-01T09:30:00+08:00",
        &[
            ("2023-09-28T10:00:00+08:00", "collected"),
            ("2023-09-30T18:00:00+08:00", "delivered"),
        ],
    ));
    assert_eq!(v["scenario"], "delivered");
    assert_eq!(v["decision"], "standard_process");
    assert_eq!(
        codes(&v, "actions"),
        ["contact_buyer_security_checks", "follow_standard_process"]
    );
    assert_eq!(v["deadlines"], json!([]));
}

#[test]
fn exactly_72_hours_without_news_is_still_in_transit() {
    let v = decide(&stalled_case("2023-10-13T14:00:00+08:00"));
    assert_eq!(v["scenario"], "in_transit");
    let d = deadline(&v, "stalled_after").unwrap_or_default();
    assert_eq!(d["due_at"], "2023-10-13T14:00:00+08:00");
    assert_eq!(d["remaining_seconds"], 0);
    assert_eq!(d["overdue"], false);
}

#[test]
fn one_second_past_72_hours_is_stalled() {
    let v = decide(&stalled_case("2023-10-13T14:00:01+08:00"));
    assert_eq!(v["scenario"], "stalled");
    assert_eq!(v["decision"], "intercept_and_refund");
    assert_eq!(
        codes(&v, "actions"),
        [
            "contact_buyer_security_checks",
            "intercept_and_refund_within_window"
        ]
    );
}

#[test]
fn the_48_hour_clock_starts_at_the_stall_when_the_request_came_first() {
    let v = decide(&stalled_case("2023-10-14T09:00:00+08:00"));
    let d = deadline(&v, "intercept_and_refund_by").unwrap_or_default();
    assert_eq!(d["due_at"], "2023-10-15T14:00:00+08:00");
    assert_eq!(d["remaining_seconds"], 104_400);
}

#[test]
fn the_48_hour_clock_starts_at_the_request_when_the_stall_came_first() {
    let v = decide(&refund_only(
        "2023-10-16T08:00:00+08:00",
        "2023-10-16T09:00:00+08:00",
        &[(IN_TRANSIT_AT, "in_transit")],
    ));
    assert_eq!(v["scenario"], "stalled");
    let d = deadline(&v, "intercept_and_refund_by").unwrap_or_default();
    assert_eq!(d["due_at"], "2023-10-18T08:00:00+08:00");
}

#[test]
fn a_passed_deadline_is_negative_and_overdue() {
    let v = decide(&stalled_case("2023-10-15T15:00:00+08:00"));
    let d = deadline(&v, "intercept_and_refund_by").unwrap_or_default();
    assert_eq!(d["remaining_seconds"], -3600);
    assert_eq!(d["overdue"], true);
}

#[test]
fn a_passed_intercept_window_is_warned_about_as_a_missed_countdown_is() {
    // Past the window: the advice and `overdue` stay, and a warning names the deadline.
    let v = decide(&stalled_case("2023-10-20T09:00:00+08:00"));
    assert_eq!(v["decision"], "intercept_and_refund");
    let d = deadline(&v, "intercept_and_refund_by").unwrap_or_default();
    assert_eq!(d["overdue"], true);
    assert_eq!(codes(&v, "warnings"), ["deadline_passed"]);
    let message = v["warnings"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("intercept_and_refund_by"), "{message}");
    assert!(message.contains("2023-10-15T14:00:00+08:00"), "{message}");
    // At its end the window is still open: no warning.
    let v = decide(&stalled_case("2023-10-15T14:00:00+08:00"));
    assert_eq!(
        deadline(&v, "intercept_and_refund_by").map(|d| d["overdue"].clone()),
        Some(json!(false))
    );
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
    // A failed interception: the approval with proof is within the window too.
    let mut r = stalled_case("2023-10-20T09:00:00+08:00");
    r["logistics_trace"] = events(&[
        (IN_TRANSIT_AT, "in_transit"),
        ("2023-10-14T10:00:00+08:00", "intercept_failed"),
    ]);
    let v = decide(&r);
    assert_eq!(v["decision"], "approve_refund");
    assert_eq!(codes(&v, "warnings"), ["deadline_passed"]);
    // stalled_after is no limit of the merchant's: in transit never warns.
    let v = decide(&stalled_case("2023-10-12T09:00:00+08:00"));
    assert_eq!(v["scenario"], "in_transit");
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
}

#[test]
fn a_failed_interception_of_a_stalled_parcel_approves_with_proof() {
    let mut r = stalled_case("2023-10-14T09:00:00+08:00");
    r["logistics_trace"] = events(&[
        (IN_TRANSIT_AT, "in_transit"),
        ("2023-10-14T08:00:00+08:00", "intercept_requested"),
        ("2023-10-14T08:30:00+08:00", "intercept_failed"),
    ]);
    let v = decide(&r);
    assert_eq!(
        v["scenario"], "stalled",
        "interception events are not movements"
    );
    assert_eq!(v["decision"], "approve_refund");
    assert_eq!(
        codes(&v, "actions")[1],
        "approve_refund_with_intercept_failure_proof"
    );
    assert_eq!(
        v["evidence"],
        json!([{"one_of": ["courier_site_screenshot", "logistics_red_stamp_certificate"]}])
    );
    assert!(deadline(&v, "intercept_and_refund_by").is_some());
}

#[test]
fn a_new_interception_request_after_a_failure_intercepts_again() {
    let mut r = stalled_case("2023-10-14T09:00:00+08:00");
    r["logistics_trace"] = events(&[
        (IN_TRANSIT_AT, "in_transit"),
        ("2023-10-14T08:00:00+08:00", "intercept_failed"),
        ("2023-10-14T08:30:00+08:00", "intercept_requested"),
    ]);
    assert_eq!(decide(&r)["decision"], "intercept_and_refund");
}

#[test]
fn in_transit_intercepts_and_after_a_failed_interception_refunds_after_rejection() {
    let r = refund_only(
        "2023-10-11T09:00:00+08:00",
        "2023-10-11T10:00:00+08:00",
        &[(IN_TRANSIT_AT, "in_transit")],
    );
    let v = decide(&r);
    assert_eq!(
        (v["scenario"].clone(), v["decision"].clone()),
        (json!("in_transit"), json!("intercept_and_refund"))
    );
    assert_eq!(
        codes(&v, "actions"),
        ["contact_buyer_security_checks", "intercept_and_refund"]
    );

    let mut failed = r.clone();
    failed["logistics_trace"] = events(&[
        (IN_TRANSIT_AT, "in_transit"),
        ("2023-10-11T09:30:00+08:00", "intercept_failed"),
    ]);
    let v = decide(&failed);
    assert_eq!(v["decision"], "refund_after_rejection");
    assert_eq!(
        codes(&v, "actions"),
        [
            "contact_buyer_security_checks",
            "guide_buyer_to_reject",
            "refund_after_rejection"
        ]
    );
}

#[test]
fn events_are_sorted_by_time_before_the_head_is_taken() {
    let v = decide(&refund_only(
        "2023-10-01T09:00:00+08:00",
        "2023-10-01T09:30:00+08:00",
        &[
            ("2023-09-30T18:00:00+08:00", "rejected"),
            ("2023-09-28T10:00:00+08:00", "collected"),
        ],
    ));
    assert_eq!(v["scenario"], "rejected_or_returned");
}

#[test]
fn events_at_one_instant_are_ordered_by_the_parcels_progress_not_their_place() {
    const T: &str = "2023-10-12T14:00:00+08:00";
    let case = |trace: &[(&str, &str)]| {
        refund_only(
            "2023-10-12T15:00:00+08:00",
            "2023-10-12T16:00:00+08:00",
            trace,
        )
    };
    // Delivered listed first (newest first) or last: delivered either way, no warning.
    for trace in [
        [(T, "delivered"), (T, "out_for_delivery")],
        [(T, "out_for_delivery"), (T, "delivered")],
    ] {
        let v = decide(&case(&trace));
        assert_eq!(v["scenario"], "delivered", "{trace:?}");
        assert_eq!(codes(&v, "warnings"), Vec::<String>::new(), "{trace:?}");
    }
    for trace in [
        [(T, "returned"), (T, "returning")],
        [(T, "returning"), (T, "rejected")],
    ] {
        let v = decide(&case(&trace));
        assert_eq!(v["scenario"], "rejected_or_returned", "{trace:?}");
        assert_eq!(codes(&v, "warnings"), Vec::<String>::new(), "{trace:?}");
    }
    // An interception's failure comes after its request, whichever is listed first.
    let stalled_at = |trace: &[(&str, &str)]| {
        refund_only(
            "2023-10-12T15:00:00+08:00",
            "2023-10-16T16:00:00+08:00",
            trace,
        )
    };
    for trace in [
        [
            (T, "in_transit"),
            (T, "intercept_failed"),
            (T, "intercept_requested"),
        ],
        [
            (T, "in_transit"),
            (T, "intercept_requested"),
            (T, "intercept_failed"),
        ],
    ] {
        let v = decide(&stalled_at(&trace));
        assert_eq!(v["decision"], "approve_refund", "{trace:?}");
    }
    // Moving statuses decide alike: no conflict.
    let v = decide(&case(&[(T, "security_check"), (T, "in_transit")]));
    assert_eq!(v["scenario"], "in_transit");
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
}

#[test]
fn contradicting_statuses_at_one_instant_are_warned_about_with_their_pointers() {
    const T: &str = "2023-10-12T14:00:00+08:00";
    let r = refund_only(
        "2023-10-12T15:00:00+08:00",
        "2023-10-12T16:00:00+08:00",
        &[
            ("2023-10-12T09:00:00+08:00", "out_for_delivery"),
            (T, "delivered"),
            (T, "rejected"),
        ],
    );
    let v = decide(&r);
    assert_eq!(codes(&v, "warnings"), ["simultaneous_events_conflict"]);
    let message = v["warnings"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("/logistics_trace/1, /logistics_trace/2"),
        "{message}"
    );
    assert!(message.contains(T), "{message}");
    // An earlier instant's events are not the ones that decide: no warning.
    let r = refund_only(
        "2023-10-12T15:00:00+08:00",
        "2023-10-12T16:00:00+08:00",
        &[(T, "delivered"), (T, "delivered")],
    );
    assert_eq!(codes(&decide(&r), "warnings"), Vec::<String>::new());
}

#[test]
fn an_uncontrolled_destination_explains_the_event_instead_of_security_checks() {
    let mut r = stalled_case("2023-10-14T09:00:00+08:00");
    r["destination"] = json!({"address": "江苏省南京市鼓楼区中山路1号"});
    let v = decide(&r);
    assert_eq!(v["applies"], true, "inside the impact period");
    assert_eq!(v["zone"], Value::Null);
    assert_eq!(codes(&v, "actions")[0], "contact_buyer_event_delay");
}

// §4 applies, zones, phases ----------------------------------------------------------

#[test]
fn outside_the_impact_period_and_control_windows_the_standard_process_applies() {
    let v = decide(&refund_only(
        "2023-12-01T10:00:00+08:00",
        "2023-12-10T10:00:00+08:00",
        &[("2023-12-01T11:00:00+08:00", "in_transit")],
    ));
    assert_eq!(v["applies"], false);
    assert_eq!(v["scenario"], "stalled", "the scenario is still classified");
    assert_eq!(v["decision"], "standard_process");
    assert_eq!(v["deadlines"], json!([]));
    assert_eq!(codes(&v, "actions"), ["follow_standard_process"]);
    assert_eq!(
        codes(&v, "explanation").last().map(String::as_str),
        Some("not_applicable")
    );
}

#[test]
fn the_impact_period_is_half_open() {
    let inside = decide(&refund_only(
        "2023-10-28T23:59:59+08:00",
        "2023-10-29T00:00:00+08:00",
        &[],
    ));
    assert_eq!(inside["event"]["in_impact_period"], true);
    let start = decide(&refund_only(
        "2023-09-11T00:00:00+08:00",
        "2023-09-11T00:00:00+08:00",
        &[],
    ));
    assert_eq!(start["event"]["in_impact_period"], true);
    let mut after = refund_only(
        "2023-10-29T00:00:00+08:00",
        "2023-10-29T00:00:00+08:00",
        &[],
    );
    after["destination"] = json!({"adcode": "320106"});
    let after = decide(&after);
    assert_eq!(after["event"]["in_impact_period"], false);
    assert_eq!(after["applies"], false);
}

#[test]
fn a_carrier_event_in_the_control_window_applies_the_policy_after_the_impact_period() {
    let v = decide(&refund_only(
        "2023-10-29T10:00:00+08:00",
        "2023-10-29T12:00:00+08:00",
        &[("2023-10-28T20:00:00+08:00", "in_transit")],
    ));
    assert_eq!(v["event"]["in_impact_period"], false);
    assert_eq!(v["zone"]["controlled"], true);
    assert_eq!(v["applies"], true);
    assert_eq!(v["decision"], "intercept_and_refund");
}

#[test]
fn co_host_control_ends_at_the_end_of_october_8() {
    let mut r = refund_only(
        "2023-10-09T00:00:00+08:00",
        "2023-10-09T01:00:00+08:00",
        &[("2023-10-09T00:30:00+08:00", "in_transit")],
    );
    r["destination"] = json!({"province": "浙江省", "city": "金华市", "district": "婺城区"});
    let v = decide(&r);
    assert_eq!(v["zone"]["id"], "co_host_venues");
    assert_eq!(v["zone"]["controlled"], false);
    assert_eq!(v["zone"]["control_until"], "2023-10-09T00:00:00+08:00");
    assert_eq!(v["applies"], true, "still inside the impact period");
    assert_eq!(codes(&v, "actions")[0], "contact_buyer_event_delay");

    r["logistics_trace"] = events(&[("2023-10-08T23:59:59+08:00", "in_transit")]);
    assert_eq!(decide(&r)["zone"]["controlled"], true);
}

#[test]
fn phases_follow_requested_at_with_half_open_ends() {
    let phase = |t: &str| decide(&refund_only(t, t, &[]))["event"]["phase"].clone();
    assert_eq!(phase("2023-09-22T23:59:59+08:00"), Value::Null);
    assert_eq!(phase("2023-09-23T00:00:00+08:00"), "asian_games");
    assert_eq!(phase("2023-10-08T23:59:59+08:00"), "asian_games");
    assert_eq!(phase("2023-10-09T00:00:00+08:00"), Value::Null);
    assert_eq!(phase("2023-10-22T00:00:00+08:00"), "para_games");
    assert_eq!(phase("2023-10-28T23:59:59+08:00"), "para_games");
}

#[test]
fn every_co_host_district_is_in_the_co_host_zone_and_its_neighbours_are_not() {
    let zone = |adcode: &str| {
        let mut r = refund_only(
            "2023-09-20T10:00:00+08:00",
            "2023-09-20T10:00:00+08:00",
            &[],
        );
        r["destination"] = json!({"adcode": adcode});
        decide(&r)["zone"]["id"].clone()
    };
    for code in [
        "330225", "330304", "330302", "330303", "330521", "330602", "330603", "330703", "330702",
    ] {
        assert_eq!(zone(code), "co_host_venues", "{code}");
    }
    for code in ["330212", "330305", "330522", "330604", "330782"] {
        assert_eq!(zone(code), Value::Null, "{code}");
    }
    for code in ["330102", "330103", "330104", "330182", "330127"] {
        assert_eq!(zone(code), "hangzhou", "{code}");
    }
}

/// The decision on a refund-only case (ordered and asked on one day in the notice) sent to
/// `dest`.
fn decided_to(dest: Value) -> Value {
    let mut r = refund_only(
        "2023-09-20T10:00:00+08:00",
        "2023-09-20T10:00:00+08:00",
        &[],
    );
    r["destination"] = dest;
    decide(&r)
}

#[test]
fn destinations_by_names_and_free_text_find_their_zone() {
    let zone = decided_to;
    assert_eq!(zone(json!({"city": "杭州市"}))["zone"]["id"], "hangzhou");
    assert_eq!(
        zone(json!({"province": "浙江", "city": "温州", "district": "鹿城区"}))["zone"]["id"],
        "co_host_venues"
    );
    assert_eq!(
        zone(json!({"address": "浙江省湖州市德清县武康街道"}))["zone"]["id"],
        "co_host_venues"
    );
    // Ningbo's Hangzhou Bay New Area is not Hangzhou.
    assert_eq!(
        zone(json!({"address": "浙江省宁波市杭州湾新区滨海二路"}))["zone"],
        Value::Null
    );
    // A city with only some districts controlled, named without its district.
    let coarse = zone(json!({"city": "温州市"}));
    assert_eq!(coarse["zone"], Value::Null);
    assert_eq!(codes(&coarse, "warnings"), ["destination_too_coarse"]);
}

#[test]
fn an_adcode_that_disagrees_with_the_names_wins_with_a_warning() {
    let mut r = refund_only(
        "2023-09-20T10:00:00+08:00",
        "2023-09-20T10:00:00+08:00",
        &[],
    );
    r["destination"] = json!({"adcode": "330108", "province": "江苏省", "city": "南京市"});
    let v = decide(&r);
    assert_eq!(v["zone"]["id"], "hangzhou");
    assert_eq!(codes(&v, "warnings"), ["destination_mismatch"]);
}

#[test]
fn names_that_contradict_each_other_are_warned_about_and_decide_no_zone() {
    let zone = decided_to;
    // Province and city disagree: neither reading is kept.
    let v = zone(json!({"province": "江西省", "city": "杭州市", "district": "西湖区"}));
    assert_eq!(v["zone"], Value::Null);
    assert_eq!(codes(&v, "warnings"), ["destination_conflict"]);
    let message = v["warnings"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("江西省") && message.contains("浙江省杭州市西湖区"),
        "{message}"
    );
    // Hangzhou, then Wenzhou's co-host district: Zhejiang only, which is too coarse.
    let v = zone(json!({"address": "杭州市鹿城区五马街1号"}));
    assert_eq!(v["zone"], Value::Null);
    assert_eq!(
        codes(&v, "warnings"),
        ["destination_conflict", "destination_too_coarse"]
    );
    // The same district after its own city decides.
    let v = zone(json!({"address": "温州市鹿城区五马街1号"}));
    assert_eq!(v["zone"]["id"], "co_host_venues");
    assert!(codes(&v, "warnings").is_empty());
}

#[test]
fn an_adcode_not_in_the_table_stands_for_its_city() {
    let mut r = refund_only(
        "2023-09-20T10:00:00+08:00",
        "2023-09-20T10:00:00+08:00",
        &[],
    );
    // 绍兴县, now 柯桥区 (a co-host district): Shaoxing, only partly in a zone.
    r["destination"] = json!({"adcode": "330621"});
    let v = decide(&r);
    assert_eq!(v["zone"], Value::Null);
    assert_eq!(
        codes(&v, "warnings"),
        ["unknown_adcode", "destination_too_coarse"]
    );
}

// §6 return and refund ----------------------------------------------------------

const COUNTDOWN: Option<&str> = Some("2023-10-06T08:00:00+08:00");

#[test]
fn a_return_without_movement_follows_the_standard_process() {
    let v = decide(&return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[],
        COUNTDOWN,
    ));
    assert_eq!(
        (v["scenario"].clone(), v["decision"].clone()),
        (json!("return_not_shipped"), json!("standard_process"))
    );
}

#[test]
fn a_received_return_is_refunded_at_once() {
    let v = decide(&return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[
            ("2023-10-04T11:00:00+08:00", "collected"),
            ("2023-10-06T10:00:00+08:00", "delivered"),
        ],
        COUNTDOWN,
    ));
    assert_eq!(
        (v["scenario"].clone(), v["decision"].clone()),
        (json!("return_received"), json!("approve_refund"))
    );
    assert_eq!(codes(&v, "actions"), ["approve_refund_on_receipt"]);
}

#[test]
fn a_failed_return_follows_the_standard_process() {
    for status in ["rejected", "returning", "returned"] {
        let v = decide(&return_and_refund(
            "2023-10-06T12:00:00+08:00",
            &[("2023-10-05T11:00:00+08:00", status)],
            COUNTDOWN,
        ));
        assert_eq!(
            (v["scenario"].clone(), v["decision"].clone()),
            (json!("return_failed"), json!("standard_process")),
            "{status}"
        );
    }
}

#[test]
fn an_expired_countdown_follows_the_standard_process_with_a_warning() {
    let v = decide(&return_and_refund(
        "2023-10-07T08:00:00+08:00",
        &[("2023-10-05T11:00:00+08:00", "in_transit")],
        COUNTDOWN,
    ));
    assert_eq!(v["scenario"], "return_countdown_expired");
    assert_eq!(v["decision"], "standard_process");
    assert_eq!(codes(&v, "warnings"), ["return_countdown_expired"]);
    assert_eq!(v["deadlines"], json!([]));
}

#[test]
fn an_undelivered_return_in_the_countdown_is_rejected_with_evidence_after_contact() {
    let v = decide(&return_and_refund(
        "2023-10-07T07:59:59+08:00",
        &[("2023-10-05T11:00:00+08:00", "security_check")],
        COUNTDOWN,
    ));
    assert_eq!(v["scenario"], "return_undelivered_in_countdown");
    assert_eq!(v["decision"], "reject_with_evidence");
    let actions = codes(&v, "actions");
    assert_eq!(
        actions.first().map(String::as_str),
        Some("contact_buyer_return_not_arrived"),
        "contact comes first"
    );
    assert!(actions.contains(&"upload_return_tracking_evidence".to_owned()));
    assert_eq!(
        v["evidence"],
        json!([{"one_of": ["return_tracking_record"]}])
    );
    assert!(codes(&v, "explanation").contains(&"never_reject_straight_away".to_owned()));
    assert_eq!(
        deadline(&v, "respond_by").map(|d| d["remaining_seconds"].clone()),
        Some(json!(1))
    );
}

#[test]
fn a_return_out_for_delivery_in_the_countdown_is_awaited_with_a_deadline() {
    let v = decide(&return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[("2023-10-06T09:00:00+08:00", "out_for_delivery")],
        COUNTDOWN,
    ));
    assert_eq!(
        (v["scenario"].clone(), v["decision"].clone()),
        (json!("return_in_transit"), json!("await_return"))
    );
    assert_eq!(
        deadline(&v, "respond_by").map(|d| d["due_at"].clone()),
        Some(json!("2023-10-07T08:00:00+08:00"))
    );
    assert_eq!(
        codes(&v, "actions"),
        [
            "reassure_buyer_return_delayed",
            "guide_buyer_contact_courier",
            "promise_processing_on_receipt"
        ]
    );
}

#[test]
fn a_return_without_a_countdown_is_awaited_without_a_deadline() {
    let v = decide(&return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[("2023-10-05T11:00:00+08:00", "in_transit")],
        None,
    ));
    assert_eq!(v["decision"], "await_return");
    assert_eq!(v["deadlines"], json!([]));
}

#[test]
fn countdown_ends_at_overrides_the_24_hour_default() {
    let mut r = return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[("2023-10-05T11:00:00+08:00", "in_transit")],
        COUNTDOWN,
    );
    r["return"]["countdown_ends_at"] = json!("2023-10-08T20:00:00+08:00");
    let v = decide(&r);
    assert_eq!(
        deadline(&v, "respond_by").map(|d| d["due_at"].clone()),
        Some(json!("2023-10-08T20:00:00+08:00"))
    );
}

#[test]
fn the_return_address_not_the_buyer_decides_the_zone() {
    let v = decide(&return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[("2023-10-05T11:00:00+08:00", "in_transit")],
        COUNTDOWN,
    ));
    assert_eq!(v["zone"]["id"], "hangzhou");
    let mut r = return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[("2023-10-05T11:00:00+08:00", "in_transit")],
        COUNTDOWN,
    );
    r["destination"] = json!({"adcode": "330102"});
    r["return"]["destination"] = json!({"adcode": "320106"});
    assert_eq!(decide(&r)["zone"], Value::Null);
}

// Times and validation ---------------------------------------------------------------

#[test]
fn the_three_time_forms_give_the_same_decision() {
    let rfc = stalled_case("2023-10-14T09:00:00+08:00");
    let mut local = rfc.clone();
    local["requested_at"] = json!("2023-10-11 09:00:00");
    local["as_of"] = json!("2023-10-14T09:00:00");
    let mut epoch = rfc.clone();
    epoch["requested_at"] = json!(at("2023-10-11T09:00:00+08:00").timestamp_millis());
    epoch["as_of"] = json!(at("2023-10-14T09:00:00+08:00").timestamp_millis());
    epoch["logistics_trace"][1]["at"] = json!(at(IN_TRANSIT_AT).timestamp_millis());
    let want = decide(&rfc);
    for v in [decide(&local), decide(&epoch)] {
        assert_eq!(v["deadlines"], want["deadlines"]);
        assert_eq!(v["scenario"], want["scenario"]);
    }
}

#[test]
fn times_come_back_with_the_policy_offset() {
    let mut r = stalled_case("2023-10-14T01:00:00Z");
    r["requested_at"] = json!("2023-10-11T01:00:00Z");
    let v = decide(&r);
    assert_eq!(v["as_of"], "2023-10-14T09:00:00+08:00");
}

#[test]
fn every_problem_is_reported_at_once_with_its_pointer() {
    let r = json!({
        "refund_type": "refund",
        "requested_at": "soon",
        "order": {"placed_at": true},
        "destination": {"adcode": "33010"},
        "logistics_trace": [
            {"at": "2023-10-10T14:00:00+08:00", "status": "lost"},
            {"status": "in_transit"},
            {"at": "2023-10-10T14:00:00+08:00"},
        ],
        "shop": {"open_refund_requests": -1},
    });
    let mut got = refused(&r);
    got.sort();
    assert_eq!(
        got,
        [
            "/destination/adcode",
            "/logistics_trace/0/status",
            "/logistics_trace/1/at",
            "/logistics_trace/2",
            "/order/order_id",
            "/order/placed_at",
            "/refund_type",
            "/requested_at",
            "/shop/open_refund_requests",
        ]
    );
}

#[test]
fn a_return_case_needs_its_return() {
    let mut r = return_and_refund("2023-10-06T12:00:00+08:00", &[], COUNTDOWN);
    r.as_object_mut().map(|o| o.remove("return"));
    assert_eq!(refused(&r), ["/return"]);
}

#[test]
fn a_countdown_ending_before_it_starts_uses_the_end_with_a_warning() {
    let mut r = return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[("2023-10-05T11:00:00+08:00", "in_transit")],
        COUNTDOWN,
    );
    r["return"]["countdown_ends_at"] = json!("2023-10-06T07:00:00+08:00");
    let v = decide(&r);
    assert_eq!(v["scenario"], "return_countdown_expired");
    assert!(codes(&v, "warnings").contains(&"countdown_inconsistent".to_owned()));
}

#[test]
fn a_destination_needs_something_to_go_on() {
    let mut r = refund_only(
        "2023-10-02T10:00:00+08:00",
        "2023-10-02T10:05:00+08:00",
        &[],
    );
    r["destination"] = json!({});
    assert_eq!(refused(&r), ["/destination"]);
    r["destination"] = json!({"adcode": null});
    assert_eq!(
        refused(&r),
        ["/destination/adcode"],
        "presence matters, so null is refused"
    );
    r["destination"] = json!({"adcode": " 330108"});
    assert_eq!(refused(&r), ["/destination/adcode"]);
    r["destination"] = json!("杭州");
    assert_eq!(refused(&r), ["/destination"]);
    r["destination"] = json!({"adcode": 330108});
    assert_eq!(
        decide(&r)["zone"]["id"],
        "hangzhou",
        "a numeric adcode is fine"
    );
}

#[test]
fn a_blank_destination_is_warned_about_as_an_unreadable_one_is() {
    let mut r = refund_only(
        "2023-10-02T10:00:00+08:00",
        "2023-10-02T10:05:00+08:00",
        &[],
    );
    for blank in [
        json!({"address": ""}),
        json!({"address": "  "}),
        json!({"address": "\u{3000}"}),
        json!({"address": "-"}),
        json!({"address": "\u{200b}"}),
        json!({"address": "——，。"}),
        json!({"province": "", "city": " ", "district": ""}),
        // As the words a person writes for "none".
        json!({"address": "无"}),
        json!({"address": "null"}),
    ] {
        r["destination"] = blank.clone();
        let v = decide(&r);
        assert_eq!(codes(&v, "warnings"), ["destination_unresolved"], "{blank}");
        assert_eq!(v["zone"], Value::Null, "{blank}");
    }
    // Blank fields beside a readable one, or beside an adcode, are left out quietly.
    r["destination"] = json!({"adcode": "330102", "address": ""});
    let v = decide(&r);
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
    assert_eq!(v["zone"]["id"], "hangzhou");
    r["destination"] =
        json!({"province": "", "city": " ", "address": "浙江省杭州市上城区解放路100号"});
    let v = decide(&r);
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
    assert_eq!(v["zone"]["id"], "hangzhou");
}

#[test]
fn a_blank_return_address_is_a_missing_one() {
    let mut r = return_and_refund(
        "2023-10-06T12:00:00+08:00",
        &[("2023-10-05T11:00:00+08:00", "in_transit")],
        COUNTDOWN,
    );
    for blank in [
        json!({"address": ""}),
        json!({"address": "\u{3000}"}),
        json!({"province": "", "city": "-"}),
    ] {
        r["return"]["destination"] = blank.clone();
        let v = decide(&r);
        assert_eq!(
            codes(&v, "warnings"),
            ["return_destination_missing"],
            "{blank}"
        );
        assert_eq!(v["zone"], Value::Null, "{blank}");
    }
    r["return"]["destination"] = json!({"address": "浙江省杭州市余杭区文一西路969号"});
    let v = decide(&r);
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
    assert_eq!(v["zone"]["id"], "hangzhou");
}

#[test]
fn texts_follow_the_requested_language() {
    let zh = decide_in(&stalled_case("2023-10-14T09:00:00+08:00"), "zh-CN");
    let en = decide_in(&stalled_case("2023-10-14T09:00:00+08:00"), "en");
    assert!(
        zh["actions"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("二次安检"))
    );
    assert!(
        en["actions"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("second security check"))
    );
    assert_eq!(zh["zone"]["name"], "杭州市");
    for v in [&zh, &en] {
        let all = v.to_string();
        assert!(
            !all.contains('{') || !all.contains("{at}"),
            "an unfilled placeholder: {all}"
        );
    }
}

/// Signed for and refused at the latest instant: the last given in the trace's own
/// direction decides, the same for an array and a pasted text, newest or oldest first.
#[test]
fn a_conflict_at_one_instant_is_settled_alike_by_array_and_text_in_either_direction() {
    // Oldest first: refused is given last (newest).
    let oldest_first = [
        ("2023-10-09T20:00:00+08:00", "已揽收"),
        ("2023-10-10T09:00:00+08:00", "派送中"),
        ("2023-10-10T14:00:00+08:00", "快件已签收"),
        ("2023-10-10T14:00:00+08:00", "收件人拒收"),
    ];
    let mut newest_first = oldest_first;
    newest_first.reverse();
    let as_array = |trace: &[(&str, &str)]| {
        let events: Vec<Value> = trace
            .iter()
            .map(|(at, text)| json!({"at": at, "description": text}))
            .collect();
        let mut r = refund_only(
            "2023-10-11T09:00:00+08:00",
            "2023-10-11T10:00:00+08:00",
            &[],
        );
        r["logistics_trace"] = Value::Array(events);
        r
    };
    let as_text = |trace: &[(&str, &str)]| {
        let text: Vec<String> = trace
            .iter()
            .map(|(at, line)| format!("{} {}  {line}", &at[..10], &at[11..16]))
            .collect();
        let mut r = refund_only(
            "2023-10-11T09:00:00+08:00",
            "2023-10-11T10:00:00+08:00",
            &[],
        );
        r.as_object_mut().map(|o| o.remove("logistics_trace"));
        r["logistics_text"] = json!(text.join("\n"));
        r
    };
    for (name, r) in [
        ("array, oldest first", as_array(&oldest_first)),
        ("array, newest first", as_array(&newest_first)),
        ("text, oldest first", as_text(&oldest_first)),
        ("text, newest first", as_text(&newest_first)),
    ] {
        let v = decide(&r);
        assert_eq!(v["scenario"], "rejected_or_returned", "{name}: {v}");
        assert_eq!(v["decision"], "approve_refund", "{name}: {v}");
        assert_eq!(
            codes(&v, "warnings"),
            ["simultaneous_events_conflict"],
            "{name}: {v}"
        );
    }
    // The array newest first names its own items: the refusal is /logistics_trace/0.
    let v = decide(&as_array(&newest_first));
    let message = v["warnings"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("/logistics_trace/0"), "{message}");
}
