//! Several notices at once (policy.md §10): which decides, which also apply, and the
//! overlaps loading refuses because nothing would settle them. The Harbin 2025 and the
//! nationwide 2025 fixtures (tests/fixtures/rules/) are NOT platform texts.

use aftersales::rules::{EMBEDDED_SOURCE, Rules, RulesErrors};
use serde_json::{Value, json};

const HARBIN: &str = include_str!("../fixtures/rules/harbin-2025.toml");
const NATIONWIDE: &str = include_str!("../fixtures/rules/nationwide-2025.toml");

const HARBIN_ID: &str = "harbin-2025-asian-winter-games";
const NATIONWIDE_ID: &str = "nationwide-2025-spring-festival";
const HANGZHOU_ID: &str = "hangzhou-2023-asian-games";

pub fn load(parts: &[&str]) -> Rules {
    Rules::from_toml(&parts.concat(), "several.toml").unwrap_or_else(|e| panic!("{e}"))
}

pub fn refused(parts: &[&str]) -> RulesErrors {
    match Rules::from_toml(&parts.concat(), "several.toml") {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    }
}

/// Decides through the one entry point, in English.
pub fn decide_with(rules: &Rules, request: &Value) -> Value {
    let lang = rules.language("en").unwrap_or_default();
    let body = serde_json::to_vec(request).unwrap_or_default();
    let now = aftersales::time::parse("2000-01-01T00:00:00Z", chrono_tz::UTC)
        .unwrap_or_else(|e| panic!("{e}"));
    match aftersales::decide_json(rules, &body, now, lang, "test".into()) {
        Ok(d) => serde_json::to_value(&d.view).unwrap_or_default(),
        Err(e) => panic!("refused: {e:?}"),
    }
}

fn on_2025_02_03(destination: Value) -> Value {
    json!({
        "refund_type": "refund_only",
        "requested_at": "2025-02-03T10:00:00+08:00",
        "as_of": "2025-02-03T12:00:00+08:00",
        "order": {"order_id": "O"},
        "destination": destination,
        "logistics_trace": [{"at": "2025-02-02T18:00:00+08:00", "status": "in_transit"}],
    })
}

fn ids(v: &Value) -> Vec<String> {
    v["also_applies"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| n["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_harbin_destination_is_decided_by_the_harbin_notice_with_the_nationwide_one_also_applying() {
    let rules = load(&[EMBEDDED_SOURCE, HARBIN, NATIONWIDE]);
    let v = decide_with(
        &rules,
        &on_2025_02_03(json!({"address": "黑龙江省哈尔滨市南岗区西大直街92号"})),
    );
    assert_eq!(v["event"]["id"], HARBIN_ID);
    assert_eq!(v["applies"], true);
    assert_eq!(v["zone"]["id"], "harbin");
    assert_eq!(v["zone"]["controlled"], true);
    assert_eq!(ids(&v), [NATIONWIDE_ID]);
    assert_eq!(
        v["also_applies"][0]["name"],
        "2025 Spring Festival nationwide logistics notice (test fixture)"
    );
    // The deciding notice's own thresholds and words.
    assert_eq!(v["deadlines"][0]["due_at"], "2025-02-05T18:00:00+08:00");
    assert_eq!(v["actions"][0]["code"], "contact_buyer_security_checks");
    // Each fixture's own [[test]]s ran and passed while loading.
    assert!(rules.tests.iter().any(|t| t.starts_with("harbin:")));
    assert!(rules.tests.iter().any(|t| t.starts_with("nationwide:")));
}

#[test]
fn a_beijing_destination_is_decided_by_the_nationwide_notice_alone() {
    let rules = load(&[EMBEDDED_SOURCE, HARBIN, NATIONWIDE]);
    let v = decide_with(&rules, &on_2025_02_03(json!({"adcode": "110105"})));
    assert_eq!(v["event"]["id"], NATIONWIDE_ID);
    assert_eq!(v["applies"], true);
    assert_eq!(ids(&v), Vec::<String>::new());
    assert_eq!(v["zone"], Value::Null);
    // The nationwide notice waits 96 h before a parcel counts as stalled.
    assert_eq!(v["deadlines"][0]["due_at"], "2025-02-06T18:00:00+08:00");
}

#[test]
fn without_a_nationwide_notice_a_shanghai_destination_is_under_no_notice() {
    let rules = load(&[EMBEDDED_SOURCE, HARBIN]);
    let v = decide_with(&rules, &on_2025_02_03(json!({"adcode": "310101"})));
    assert_eq!(v["applies"], false);
    assert_eq!(v["decision"], "standard_process");
    assert_eq!(v["deadlines"], json!([]));
    assert_eq!(ids(&v), Vec::<String>::new());
    // The nearest notice in time says why it does not apply: it covers only its zones.
    assert_eq!(v["event"]["id"], HARBIN_ID);
    let codes: Vec<&str> = v["explanation"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["code"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        codes.contains(&"outside_scope") && codes.contains(&"not_applicable"),
        "{codes:?}"
    );
}

#[test]
fn a_destination_known_only_to_its_province_is_too_coarse_for_a_city_notice() {
    let rules = load(&[EMBEDDED_SOURCE, HARBIN]);
    let v = decide_with(&rules, &on_2025_02_03(json!({"province": "黑龙江省"})));
    assert_eq!(v["applies"], false);
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .map(|w| w.iter().filter_map(|x| x["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(warnings, ["destination_too_coarse"], "never a silent guess");
}

fn warning_messages(v: &Value) -> Vec<(String, String)> {
    v["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .map(|x| {
                    let s = |k: &str| x[k].as_str().unwrap_or_default().to_owned();
                    (s("code"), s("message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_too_coarse_destination_is_warned_about_when_another_notice_decides() {
    // The nationwide notice decides a province-only destination; were the parcel going
    // to Harbin, the Harbin notice (controlled, 72 h) would: never a silent "not Harbin".
    let rules = load(&[EMBEDDED_SOURCE, HARBIN, NATIONWIDE]);
    let v = decide_with(&rules, &on_2025_02_03(json!({"province": "黑龙江省"})));
    assert_eq!(v["event"]["id"], NATIONWIDE_ID);
    let warnings = warning_messages(&v);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].0, "destination_too_coarse");
    // It names the zone and the notice it belongs to.
    assert!(
        warnings[0]
            .1
            .contains("Harbin (Harbin Asian Winter Games express control (test fixture))"),
        "{warnings:?}"
    );
    // The district given: the Harbin notice decides, and nothing is too coarse.
    let v = decide_with(&rules, &on_2025_02_03(json!({"adcode": "230102"})));
    assert_eq!(v["event"]["id"], HARBIN_ID);
    assert_eq!(warning_messages(&v), Vec::<(String, String)>::new());
}

#[test]
fn a_zone_whose_notice_could_not_apply_is_no_reason_to_warn() {
    // Before the Harbin notice's period and control window: whether or not the parcel
    // goes to Harbin, the nationwide notice decides.
    let rules = load(&[EMBEDDED_SOURCE, HARBIN, NATIONWIDE]);
    let request = json!({
        "refund_type": "refund_only",
        "requested_at": "2025-01-25T10:00:00+08:00",
        "as_of": "2025-01-25T12:00:00+08:00",
        "order": {"order_id": "O"},
        "destination": {"province": "黑龙江省"},
        "logistics_trace": [{"at": "2025-01-24T18:00:00+08:00", "status": "in_transit"}],
    });
    let v = decide_with(&rules, &request);
    assert_eq!(v["event"]["id"], NATIONWIDE_ID);
    assert_eq!(warning_messages(&v), Vec::<(String, String)>::new());
}

#[test]
fn with_one_notice_also_applies_is_empty() {
    let rules = load(&[EMBEDDED_SOURCE]);
    let v = decide_with(
        &rules,
        &json!({
            "refund_type": "refund_only",
            "requested_at": "2023-10-02T10:00:00+08:00",
            "as_of": "2023-10-02T10:05:00+08:00",
            "order": {"order_id": "O"},
            "destination": {"adcode": "330108"},
        }),
    );
    assert_eq!(v["event"]["id"], HANGZHOU_ID);
    assert_eq!(v["also_applies"], json!([]));
}

/// A nationwide notice in the file's common part: `id`, `priority`, impact period and
/// zones given, its words borrowed from the nationwide fixture.
fn nationwide(id: &str, priority: i64, from: &str, until: &str, zones: &str) -> String {
    let words = &NATIONWIDE[NATIONWIDE
        .find("[notice.thresholds]")
        .unwrap_or_else(|| panic!("fixture drifted"))..];
    let words = &words[..words.find("\n[[test]]").unwrap_or(words.len())];
    format!(
        "\n[[notice]]\nid = \"{id}\"\nname = {{ zh-CN = \"{id}\", en = \"{id}\" }}\npriority = {priority}\n\
         impact_period = {{ from = \"{from}\", until = \"{until}\" }}\n{zones}\n{words}\n"
    )
}

fn zone(id: &str, prefix: &str, from: &str, until: &str) -> String {
    format!(
        "[[notice.zones]]\nid = \"{id}\"\nname = {{ zh-CN = \"{id}\", en = \"{id}\" }}\n\
         adcode_prefixes = [\"{prefix}\"]\ncontrol = {{ from = \"{from}\", until = \"{until}\" }}\n"
    )
}

#[test]
fn a_controlled_zone_beats_a_higher_priority_and_a_higher_priority_beats_a_later_start() {
    // A: Jan 20 – Feb 12, priority 5, no zones. B: Jan 25 – Feb 12, priority 0, no zones.
    // C: Jan 10 – Feb 12, priority 0, Shanghai controlled.
    let a = nationwide("a", 5, "2025-01-20 00:00", "2025-02-12 24:00", "");
    let b = nationwide("b", 0, "2025-01-25 00:00", "2025-02-12 24:00", "");
    let c = nationwide(
        "c",
        0,
        "2025-01-10 00:00",
        "2025-02-12 24:00",
        &zone("shanghai", "3101", "2025-01-10 00:00", "2025-02-12 24:00"),
    );
    let rules = load(&[EMBEDDED_SOURCE, &a, &b, &c]);
    let shanghai = decide_with(&rules, &on_2025_02_03(json!({"adcode": "310101"})));
    assert_eq!(shanghai["event"]["id"], "c", "controlled beats priority");
    assert_eq!(ids(&shanghai), ["a", "b"], "then by priority");
    let beijing = decide_with(&rules, &on_2025_02_03(json!({"adcode": "110105"})));
    assert_eq!(
        beijing["event"]["id"], "a",
        "priority beats the later start"
    );
    assert_eq!(ids(&beijing), ["b", "c"], "then the later start");
}

#[test]
fn two_nationwide_notices_with_the_same_priority_and_start_are_refused() {
    let a = nationwide("a", 0, "2025-01-20 00:00", "2025-02-12 24:00", "");
    let b = nationwide("b", 0, "2025-01-20 00:00", "2025-03-01 24:00", "");
    let e = refused(&[EMBEDDED_SOURCE, &a, &b]);
    let all = e.to_string();
    assert_eq!(e.errors.len(), 1, "{all}");
    assert!(
        all.contains("notices `a` and `b` can both apply to one case")
            && all.contains(
                "a destination in none of their zones with a request at 2025-01-20T00:00:00+08:00"
            )
            && all.contains("give the one that should decide a higher `priority`"),
        "{all}"
    );
    // Settled by a priority.
    let b = nationwide("b", 1, "2025-01-20 00:00", "2025-03-01 24:00", "");
    load(&[EMBEDDED_SOURCE, &a, &b]);
}

#[test]
fn a_city_notice_next_to_a_nationwide_one_with_the_same_start_is_settled_only_if_its_zone_is_always_controlled()
 {
    let a = nationwide("a", 0, "2025-02-01 00:00", "2025-02-12 24:00", "");
    // The zone's window covers the impact period: wherever both apply, b is controlled
    // and a is not, so b decides.
    let b = |control_from: &str| {
        nationwide(
            "b",
            0,
            "2025-02-01 00:00",
            "2025-02-15 24:00",
            &zone("harbin", "2301", control_from, "2025-02-15 24:00"),
        )
        .replacen("priority = 0", "scope = \"zones\"\npriority = 0", 1)
    };
    load(&[EMBEDDED_SOURCE, &a, &b("2025-02-01 00:00")]);
    // A control window that starts later leaves Feb 1–3 with neither controlled.
    let e = refused(&[EMBEDDED_SOURCE, &a, &b("2025-02-04 00:00")]);
    assert!(
        e.to_string().contains(
            "a destination in 黑龙江省哈尔滨市 with a request at 2025-02-01T00:00:00+08:00"
        ),
        "{e}"
    );
}

#[test]
fn two_city_notices_with_the_same_priority_and_start_clash_only_where_their_zones_meet() {
    let city = |id: &str, prefix: &str| {
        nationwide(
            id,
            0,
            "2025-02-01 00:00",
            "2025-02-15 24:00",
            &zone(id, prefix, "2025-02-01 00:00", "2025-02-15 24:00"),
        )
        .replacen("priority = 0", "scope = \"zones\"\npriority = 0", 1)
    };
    load(&[
        EMBEDDED_SOURCE,
        &city("harbin", "2301"),
        &city("beijing", "1101"),
    ]);
    // A province prefix meets the city: events may fall in both windows.
    let e = refused(&[
        EMBEDDED_SOURCE,
        &city("harbin", "2301"),
        &city("heilongjiang", "23"),
    ]);
    assert!(
        e.to_string().contains("a destination in 黑龙江省哈尔滨市 whose request or carrier events fall in a control window of each"),
        "{e}"
    );
}

#[test]
fn a_carrier_event_in_a_city_notices_window_applies_it_after_its_impact_period_and_it_decides() {
    // policy.md §4 and §10: a nationwide notice of higher priority in its impact period,
    // and a city notice whose impact period is over but whose window the parcel met.
    let a = nationwide("a", 5, "2025-02-01 00:00", "2025-02-28 24:00", "");
    let b = nationwide(
        "b",
        0,
        "2025-02-01 00:00",
        "2025-02-15 24:00",
        &zone("harbin", "2301", "2025-02-01 00:00", "2025-02-15 24:00"),
    )
    .replacen("priority = 0", "scope = \"zones\"\npriority = 0", 1);
    let rules = load(&[EMBEDDED_SOURCE, &a, &b]);
    let case = |event_at: &str| {
        json!({
            "refund_type": "refund_only",
            "requested_at": "2025-02-20T10:00:00+08:00",
            "as_of": "2025-02-20T12:00:00+08:00",
            "order": {"order_id": "O"},
            "destination": {"adcode": "230102"},
            "logistics_trace": [{"at": event_at, "status": "security_check"}],
        })
    };
    let met = decide_with(&rules, &case("2025-02-15T23:59:59+08:00"));
    assert_eq!(met["event"]["id"], "b", "controlled beats the priority");
    assert_eq!(met["event"]["in_impact_period"], false);
    assert_eq!(met["zone"]["controlled"], true);
    assert_eq!(ids(&met), ["a"]);
    // The window is half-open: an event at its end is outside it.
    let after = decide_with(&rules, &case("2025-02-16T00:00:00+08:00"));
    assert_eq!(after["event"]["id"], "a");
    assert_eq!(ids(&after), Vec::<String>::new());
}
