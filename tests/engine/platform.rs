//! policy.md §9, the platform's own state of a refund: one test per Kuaishou status and
//! per rule, on cases built directly (the request mapping that fills `Case::platform`
//! from a Kuaishou body is tested with it).

use aftersales::codes::{RefundType, Status};
use aftersales::engine::{
    Case, Event, NotCovered, Order, Place, PlatformRefund, PlatformStatus, Return,
};
use aftersales::geo::Area;
use serde_json::Value;

use crate::helpers::{at, codes, deadline, rules};

const REQUESTED: &str = "2023-10-03T10:00:00+08:00";
const EXPIRES: &str = "2023-10-04T10:00:00+08:00";

/// A place in Hangzhou: 上城区 for the buyer, 余杭区 for the merchant's returns.
fn hangzhou(code: u32) -> Place {
    Place {
        area: Some(Area::District(code)),
        label: Some(format!("{code}").into()),
        notes: vec![],
    }
}

fn event(t: &str, status: Status) -> Event {
    Event {
        at: at(t),
        status,
        pointer: "/logistics_trace/0".into(),
        raw: None,
    }
}

/// A case with no platform state yet; every case of this file starts here.
fn case(refund_type: RefundType, trace: Vec<Event>, return_: Option<Return>) -> Case {
    Case {
        case_id: Some("KS-1".into()),
        refund_type,
        requested_at: at(REQUESTED),
        order: Order {
            order_id: "O-1".into(),
            placed_at: None,
            shipped_at: None,
            shipped_at_pointer: aftersales::engine::SHIPPED_AT,
        },
        destination: hangzhou(330102),
        trace,
        return_,
        open_refund_requests: None,
        notes: vec![],
        platform: None,
    }
}

/// Refund only, parcel in transit since the morning of the request: intercept and refund.
fn refund_in_transit() -> Case {
    case(
        RefundType::RefundOnly,
        vec![
            event("2023-10-02T09:00:00+08:00", Status::Collected),
            event("2023-10-03T08:00:00+08:00", Status::InTransit),
        ],
        None,
    )
}

/// Refund only, not shipped: approve the refund at once.
fn refund_not_shipped() -> Case {
    case(RefundType::RefundOnly, vec![], None)
}

/// Return and refund whose return is in transit inside the countdown (ends at
/// `EXPIRES`): reject with evidence.
fn return_undelivered() -> Case {
    return_with(vec![event("2023-10-03T12:00:00+08:00", Status::InTransit)])
}

fn return_with(trace: Vec<Event>) -> Case {
    case(
        RefundType::ReturnAndRefund,
        vec![],
        Some(Return {
            destination: Some(hangzhou(330110)),
            trace,
            countdown_started_at: None,
            countdown_ends_at: Some(at(EXPIRES)),
        }),
    )
}

fn platform(status: PlatformStatus) -> PlatformRefund {
    PlatformRefund {
        status,
        merchant_rejected: false,
        deadline: Some(at(EXPIRES)),
        not_covered: None,
        buyer_claims_receipt: false,
    }
}

fn with(mut c: Case, p: PlatformRefund) -> Case {
    c.platform = Some(p);
    c
}

fn status(code: i64) -> PlatformStatus {
    PlatformStatus::from_code(code).unwrap_or_else(|| panic!("status {code} is documented"))
}

/// Decides at 2023-10-03 18:00 and renders in English.
fn decide(c: &Case) -> Value {
    decide_at(c, "2023-10-03T18:00:00+08:00")
}

fn decide_at(c: &Case, as_of: &str) -> Value {
    let d = aftersales::engine::decide(rules(), c, at(as_of));
    let lang = rules().language("en").unwrap_or_default();
    let view = aftersales::render::decision_view(rules(), &d, c.case_id.clone(), "t".into(), lang);
    serde_json::to_value(view).unwrap_or_else(|e| panic!("view does not serialize: {e}"))
}

fn explanation(v: &Value, code: &str) -> String {
    v["explanation"]
        .as_array()
        .and_then(|e| e.iter().find(|x| x["code"] == code))
        .and_then(|x| x["detail"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// What §9 adds, for comparing a decision with and without the platform's state.
const NINE: [&str; 3] = ["refund_closed", "platform_intervened", "already_rejected"];

fn without_nine(v: &Value) -> Vec<String> {
    codes(v, "warnings")
        .into_iter()
        .filter(|w| !NINE.contains(&w.as_str()))
        .collect()
}

/// The platform deadline is there, at `EXPIRES`, and its explanation says `expiry`.
fn assert_platform_deadline(v: &Value, expiry: &str) {
    let d = deadline(v, "platform_deadline").unwrap_or_else(|| panic!("no platform_deadline: {v}"));
    assert_eq!(d["due_at"], "2023-10-04T10:00:00+08:00");
    let text = explanation(v, "platform_deadline");
    assert!(
        text.contains("expireTime") && text.contains(expiry),
        "{text}"
    );
}

const UNKNOWN: &str = "unknown to this service";
const AUTO_REFUND: &str = "refunds the buyer by itself";

// One test per status ----------------------------------------------------------

#[test]
fn status_10_refund_only_application_decides_as_the_notice_says() {
    let plain = decide(&refund_in_transit());
    let v = decide(&with(refund_in_transit(), platform(status(10))));
    assert_eq!(v["decision"], "intercept_and_refund");
    assert_eq!(v["actions"], plain["actions"]);
    assert_eq!(codes(&v, "warnings"), without_nine(&plain));
    assert_platform_deadline(&v, UNKNOWN);
    assert!(
        explanation(&v, "platform_deadline").contains("10 (the buyer applied for a refund only)")
    );
}

#[test]
fn status_11_return_application_decides_as_the_notice_says() {
    let v = decide(&with(return_with(vec![]), platform(status(11))));
    assert_eq!(v["scenario"], "return_not_shipped");
    assert_eq!(v["decision"], "standard_process");
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
    assert_platform_deadline(&v, UNKNOWN);
}

#[test]
fn status_20_platform_intervened_on_a_refund_only_keeps_the_decision_and_warns() {
    let plain = decide(&refund_in_transit());
    let v = decide(&with(refund_in_transit(), platform(status(20))));
    assert_eq!(v["decision"], plain["decision"]);
    assert_eq!(
        v["deadlines"][0], plain["deadlines"][0],
        "the notice's deadline stays"
    );
    assert_eq!(codes(&v, "warnings"), ["platform_intervened"]);
    let mut actions = codes(&plain, "actions");
    actions.push("answer_platform_with_same_evidence".into());
    assert_eq!(codes(&v, "actions"), actions);
    assert!(
        v["warnings"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("20 ("))
    );
}

#[test]
fn status_21_platform_intervened_on_a_return_still_rejects_with_the_same_evidence() {
    let v = decide(&with(return_undelivered(), platform(status(21))));
    assert_eq!(v["decision"], "reject_with_evidence");
    assert_eq!(codes(&v, "warnings"), ["platform_intervened"]);
    assert_eq!(v["evidence"][0]["one_of"][0], "return_tracking_record");
    assert_eq!(
        codes(&v, "actions").last().map(String::as_str),
        Some("answer_platform_with_same_evidence")
    );
    assert!(codes(&v, "explanation").contains(&"never_reject_straight_away".to_owned()));
}

#[test]
fn status_22_platform_confirmed_return_received_approves_and_warns() {
    let received = return_with(vec![event("2023-10-03T15:00:00+08:00", Status::Delivered)]);
    let v = decide(&with(received, platform(status(22))));
    assert_eq!(v["scenario"], "return_received");
    assert_eq!(v["decision"], "approve_refund");
    assert_eq!(codes(&v, "warnings"), ["platform_intervened"]);
    assert!(codes(&v, "explanation").contains(&"platform_intervened".to_owned()));
}

#[test]
fn status_30_waiting_for_the_buyer_to_send_the_return_is_the_standard_process() {
    let v = decide(&with(return_with(vec![]), platform(status(30))));
    assert_eq!(v["decision"], "standard_process");
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
    assert_platform_deadline(&v, UNKNOWN);
}

#[test]
fn status_40_return_on_its_way_rejects_within_the_countdown_and_says_the_platform_refunds_at_its_end()
 {
    let v = decide(&with(return_undelivered(), platform(status(40))));
    assert_eq!(v["decision"], "reject_with_evidence");
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
    let respond_by = deadline(&v, "respond_by").unwrap_or_default();
    let platform = deadline(&v, "platform_deadline").unwrap_or_default();
    assert_eq!(respond_by["due_at"], platform["due_at"]);
    assert_platform_deadline(&v, AUTO_REFUND);
}

#[test]
fn status_45_waiting_for_the_buyer_to_confirm_receipt_decides_as_the_notice_says() {
    let plain = decide(&refund_in_transit());
    let v = decide(&with(refund_in_transit(), platform(status(45))));
    assert_eq!(v["decision"], plain["decision"]);
    assert_eq!(codes(&v, "warnings"), Vec::<String>::new());
    assert_platform_deadline(&v, UNKNOWN);
}

/// A case the notice would approve at once, closed on the platform's side.
fn assert_closed(code: i64) {
    assert_eq!(decide(&refund_not_shipped())["decision"], "approve_refund");
    let v = decide(&with(refund_not_shipped(), platform(status(code))));
    assert_eq!(v["decision"], "standard_process", "{code}");
    assert_eq!(codes(&v, "actions"), ["follow_standard_process"], "{code}");
    assert_eq!(codes(&v, "warnings"), ["refund_closed"], "{code}");
    assert_eq!(
        v["deadlines"]
            .as_array()
            .map(|d| d.iter().map(|x| x["kind"].clone()).collect::<Vec<_>>()),
        Some(vec![Value::from("platform_deadline")]),
        "{code}: only the platform's own deadline"
    );
    let why = codes(&v, "explanation");
    assert!(!why.contains(&"not_shipped".to_owned()), "{code}: {why:?}");
    assert!(why.contains(&"refund_closed".to_owned()), "{code}: {why:?}");
    assert!(
        v["warnings"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("{code} ("))),
        "{code}: {}",
        v["warnings"][0]
    );
}

#[test]
fn status_50_refund_being_paid_is_closed_never_approved_again() {
    assert_closed(50);
}

#[test]
fn status_60_refunded_is_closed_never_approved_again() {
    assert_closed(60);
}

#[test]
fn status_70_refund_failed_is_closed_never_approved_again() {
    assert_closed(70);
}

#[test]
fn only_the_documented_statuses_are_read() {
    let codes: Vec<u16> = PlatformStatus::ALL.iter().map(|s| s.code()).collect();
    assert_eq!(codes, [10, 11, 20, 21, 22, 30, 40, 45, 50, 60, 70]);
    for n in [0, 1, 12, 23, 41, 80, -10, i64::MAX] {
        assert_eq!(PlatformStatus::from_code(n), None, "{n}");
    }
}

#[test]
fn each_application_or_return_status_belongs_to_one_refund_type_and_the_rest_to_either() {
    let of = |code: i64| PlatformStatus::from_code(code).and_then(PlatformStatus::refund_type);
    // 仅退款申请, as the buyer filed it and once the platform stepped in.
    for code in [10, 20] {
        assert_eq!(of(code), Some(RefundType::RefundOnly), "{code}");
    }
    // 退货退款申请, and the return parcel's steps (商品回寄).
    for code in [11, 21, 22, 30, 40] {
        assert_eq!(of(code), Some(RefundType::ReturnAndRefund), "{code}");
    }
    // Waiting for the buyer's receipt, and the closed statuses: either way.
    for code in [45, 50, 60, 70] {
        assert_eq!(of(code), None, "{code}");
    }
}

// The rules ------------------------------------------------------------------

#[test]
fn a_rejection_already_made_is_never_advised_again_the_case_awaits_the_return() {
    let mut p = platform(status(40));
    p.merchant_rejected = true;
    let v = decide(&with(return_undelivered(), p));
    assert_eq!(v["scenario"], "return_undelivered_in_countdown");
    assert_eq!(v["decision"], "await_return");
    assert_eq!(
        codes(&v, "actions"),
        [
            "do_not_reject_again",
            "guide_buyer_contact_courier",
            "watch_return_after_rejection"
        ]
    );
    assert_eq!(codes(&v, "warnings"), ["already_rejected"]);
    assert_eq!(
        deadline(&v, "respond_by"),
        None,
        "the merchant has answered"
    );
    assert!(deadline(&v, "platform_deadline").is_some());
    assert_eq!(
        v["evidence"][0]["one_of"][0], "return_tracking_record",
        "kept for the platform"
    );
    let why = codes(&v, "explanation");
    assert!(why.contains(&"already_rejected".to_owned()), "{why:?}");
    assert!(
        !why.contains(&"never_reject_straight_away".to_owned()),
        "{why:?}"
    );
}

#[test]
fn a_rejection_already_made_leaves_other_decisions_alone_with_a_warning() {
    let received = return_with(vec![event("2023-10-03T15:00:00+08:00", Status::Delivered)]);
    let mut p = platform(status(40));
    p.merchant_rejected = true;
    let v = decide(&with(received, p));
    assert_eq!(v["decision"], "approve_refund");
    assert_eq!(codes(&v, "warnings"), ["already_rejected"]);
}

#[test]
fn a_closed_or_uncovered_request_already_rejected_is_warned_about_but_not_told_to_refund() {
    // already_rejected's explanation says to refund at once on receipt: advice for a
    // request the notice decides, not for one refunded already (status 60) or an
    // exchange (the standard process). The warning (do not reject again) stays.
    let mut closed = platform(status(60));
    closed.merchant_rejected = true;
    let mut exchange = platform(status(40));
    exchange.merchant_rejected = true;
    exchange.not_covered = Some(NotCovered::Exchange);
    for p in [closed, exchange] {
        let v = decide(&with(return_undelivered(), p.clone()));
        assert_eq!(v["decision"], "standard_process", "{p:?}");
        assert!(
            codes(&v, "warnings").contains(&"already_rejected".to_owned()),
            "{p:?}"
        );
        assert_eq!(explanation(&v, "already_rejected"), "", "{p:?}");
    }
}

#[test]
fn an_intervened_refund_already_rejected_is_neither_rejected_again_nor_left_unanswered() {
    let mut p = platform(status(21));
    p.merchant_rejected = true;
    let v = decide(&with(return_undelivered(), p));
    assert_eq!(v["decision"], "await_return");
    assert_eq!(
        codes(&v, "warnings"),
        ["platform_intervened", "already_rejected"]
    );
    assert!(!codes(&v, "actions").contains(&"reject_before_countdown_ends".to_owned()));
}

#[test]
fn requests_the_notice_does_not_cover_follow_the_standard_process_naming_their_kind() {
    for (kind, words) in [
        (NotCovered::Exchange, "an exchange (handlingWay 3)"),
        (NotCovered::Resend, "a re-send (handlingWay 4)"),
        (NotCovered::Repair, "a repair (handlingWay 5)"),
        (
            NotCovered::PriceProtection,
            "a price-protection refund (specialRefundType 1)",
        ),
        (
            NotCovered::SellerInitiated,
            "a refund the seller started (refundType 2)",
        ),
    ] {
        let mut p = platform(status(10));
        p.not_covered = Some(kind);
        let v = decide(&with(refund_in_transit(), p));
        assert_eq!(v["decision"], "standard_process", "{kind:?}");
        assert_eq!(
            codes(&v, "actions"),
            ["follow_standard_process"],
            "{kind:?}"
        );
        assert!(
            explanation(&v, "refund_not_covered").contains(words),
            "{kind:?}: {v}"
        );
        assert!(
            !codes(&v, "explanation").contains(&"in_transit".to_owned()),
            "{kind:?}: the scenario's advice is gone"
        );
        assert_eq!(
            v["deadlines"].as_array().map(Vec::len),
            Some(1),
            "{kind:?}: only the platform's deadline"
        );
    }
}

#[test]
fn the_platform_deadline_is_reported_at_every_status_even_where_the_notice_does_not_apply() {
    for s in PlatformStatus::ALL {
        let v = decide(&with(refund_in_transit(), platform(s)));
        assert!(deadline(&v, "platform_deadline").is_some(), "{s:?}");
    }
    // Requested long after the games, to Nanjing, outside any zone.
    let mut late = with(refund_in_transit(), platform(status(10)));
    late.requested_at = at("2023-12-01T10:00:00+08:00");
    late.destination.area = Some(Area::District(320106));
    let v = decide_at(&late, "2023-12-01T12:00:00+08:00");
    assert_eq!(v["applies"], false);
    assert_eq!(v["decision"], "standard_process");
    let d = deadline(&v, "platform_deadline").unwrap_or_default();
    assert_eq!(d["overdue"], true, "{d}");
}

#[test]
fn without_an_expire_time_there_is_no_platform_deadline() {
    let mut p = platform(status(40));
    p.deadline = None;
    let v = decide(&with(return_undelivered(), p));
    assert_eq!(deadline(&v, "platform_deadline"), None);
    assert!(explanation(&v, "platform_deadline").is_empty());
}

#[test]
fn the_platform_deadline_is_not_the_return_countdown_unless_the_mapping_says_so() {
    // Status 40 with expireTime, but no countdown in the case: the engine does not make
    // one up (whether expireTime is the countdown is the request mapping's call).
    let mut c = return_undelivered();
    if let Some(r) = c.return_.as_mut() {
        r.countdown_ends_at = None;
    }
    let v = decide(&with(c, platform(status(40))));
    assert_eq!(v["scenario"], "return_in_transit");
    assert_eq!(deadline(&v, "respond_by"), None);
    assert!(deadline(&v, "platform_deadline").is_some());
}

#[test]
fn the_buyers_claim_of_receipt_counts_as_delivered_and_is_explained_as_their_claim() {
    let mut p = platform(status(10));
    p.buyer_claims_receipt = true;
    let v = decide(&with(refund_not_shipped(), p));
    assert_eq!(v["scenario"], "delivered");
    assert_eq!(v["decision"], "standard_process");
    let why = explanation(&v, "buyer_claimed_receipt");
    assert!(
        why.contains("the buyer's own claim, not a carrier's delivery record")
            && why.contains("2023-10-03T10:00:00+08:00"),
        "{why}"
    );
    assert!(!codes(&v, "explanation").contains(&"status_read".to_owned()));
}

#[test]
fn a_carrier_delivery_in_the_trace_is_not_the_buyers_claim() {
    let mut c = refund_in_transit();
    c.trace
        .push(event("2023-10-03T09:00:00+08:00", Status::Delivered));
    let mut p = platform(status(10));
    p.buyer_claims_receipt = true;
    let v = decide(&with(c, p));
    assert_eq!(v["scenario"], "delivered");
    assert!(explanation(&v, "buyer_claimed_receipt").is_empty());
    assert!(explanation(&v, "delivered").contains("2023-10-03T09:00:00+08:00"));
}

#[test]
fn the_buyers_claim_of_receipt_does_not_touch_a_return() {
    let mut p = platform(status(40));
    p.buyer_claims_receipt = true;
    let v = decide(&with(return_undelivered(), p));
    assert_eq!(v["scenario"], "return_undelivered_in_countdown");
    assert!(explanation(&v, "buyer_claimed_receipt").is_empty());
}

#[test]
fn every_platform_text_renders_in_every_language_without_a_missing_value() {
    for lang in ["zh-CN", "en"] {
        let lang = rules().language(lang).unwrap_or_default();
        for s in PlatformStatus::ALL {
            let mut p = platform(s);
            p.merchant_rejected = true;
            p.buyer_claims_receipt = true;
            p.not_covered = Some(NotCovered::Repair);
            for c in [refund_not_shipped(), return_undelivered()] {
                let c = with(c, p.clone());
                let d = aftersales::engine::decide(rules(), &c, at("2023-10-03T18:00:00+08:00"));
                let v = aftersales::render::decision_view(rules(), &d, None, "t".into(), lang);
                for w in &v.warnings {
                    assert!(!w.message.contains('{'), "{}", w.message);
                }
                for e in &v.explanation {
                    assert!(!e.detail.contains('{'), "{}", e.detail);
                }
            }
        }
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    const KINDS: [Option<NotCovered>; 6] = [
        None,
        Some(NotCovered::Exchange),
        Some(NotCovered::Resend),
        Some(NotCovered::Repair),
        Some(NotCovered::PriceProtection),
        Some(NotCovered::SellerInitiated),
    ];

    prop_compose! {
        fn platform_state()(
            s in 0..PlatformStatus::ALL.len(),
            merchant_rejected in any::<bool>(),
            deadline in proptest::option::of(-200_000i64..200_000),
            kind in 0..KINDS.len(),
            buyer_claims_receipt in any::<bool>(),
        ) -> PlatformRefund {
            PlatformRefund {
                status: PlatformStatus::ALL[s],
                merchant_rejected,
                deadline: deadline.map(|d| at(REQUESTED) + chrono::Duration::seconds(d)),
                not_covered: KINDS[kind],
                buyer_claims_receipt,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_platforms_state_always_bounds_the_advice(
            p in platform_state(),
            base in 0..4usize,
            hours in 0i64..120,
        ) {
            let c = [refund_not_shipped(), refund_in_transit(), return_undelivered(), return_with(vec![])][base].clone();
            let as_of = at(REQUESTED) + chrono::Duration::hours(hours);
            let d = aftersales::engine::decide(rules(), &with(c, p.clone()), as_of);
            use aftersales::codes::{DeadlineKind, Outcome, WarningCode};
            if p.status.is_closed() {
                prop_assert_eq!(d.outcome, Outcome::StandardProcess);
                prop_assert!(d.warnings.iter().any(|w| w.code == WarningCode::RefundClosed));
            }
            if p.not_covered.is_some() {
                prop_assert_eq!(d.outcome, Outcome::StandardProcess);
            }
            if p.merchant_rejected {
                prop_assert_ne!(d.outcome, Outcome::RejectWithEvidence);
                prop_assert!(d.warnings.iter().any(|w| w.code == WarningCode::AlreadyRejected));
            }
            if p.status.is_intervened() {
                prop_assert!(d.warnings.iter().any(|w| w.code == WarningCode::PlatformIntervened));
            }
            let platform_deadlines: Vec<_> = d
                .deadlines
                .iter()
                .filter(|x| x.kind == DeadlineKind::PlatformDeadline)
                .map(|x| x.due_at)
                .collect();
            prop_assert_eq!(platform_deadlines, p.deadline.into_iter().collect::<Vec<_>>());
        }
    }
}
