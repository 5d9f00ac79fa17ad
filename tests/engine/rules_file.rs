//! Loading rules files: every error found at once, each at its line and column.

use aftersales::rules::{EMBEDDED_SOURCE, Rules, RulesErrors};

use crate::helpers::{decide, refund_only};

fn broken(from: &str, to: &str) -> (String, RulesErrors) {
    assert!(
        EMBEDDED_SOURCE.contains(from),
        "test fixture drifted: {from}"
    );
    let source = EMBEDDED_SOURCE.replacen(from, to, 1);
    match Rules::from_toml(&source, "test.toml") {
        Ok(_) => panic!("accepted a broken file ({from} → {to})"),
        Err(e) => (source, e),
    }
}

/// The 1-based line of the first occurrence of `needle`.
fn line_of(source: &str, needle: &str) -> usize {
    source
        .find(needle)
        .map(|i| source[..i].matches('\n').count() + 1)
        .unwrap_or(0)
}

#[test]
fn the_embedded_rules_load() {
    let r = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.notices.len(), 1);
    assert_eq!(r.notices[0].zones.len(), 2);
    assert!(r.checksum.starts_with("sha256:") && r.checksum.len() == 7 + 64);
}

#[test]
fn an_inverted_window_is_named_at_its_line_and_column() {
    let (src, e) = broken(
        "until = 2023-10-09T00:00:00+08:00\n\n# 残奥会",
        "until = 2023-09-01T00:00:00+08:00\n\n# 残奥会",
    );
    let line = line_of(&src, "until = 2023-09-01");
    assert!(
        e.errors
            .iter()
            .any(|x| x.line == line && x.column == 9 && x.message.contains("inverted")),
        "{e}"
    );
    assert!(
        e.to_string().starts_with(&format!("test.toml:{line}:9: ")),
        "{e}"
    );
}

#[test]
fn an_empty_window_is_refused() {
    let (_, e) = broken(
        "impact_period = { from = 2023-09-11T00:00:00+08:00, until = 2023-10-29T00:00:00+08:00 }",
        "impact_period = { from = 2023-09-11T00:00:00+08:00, until = 2023-09-11T00:00:00+08:00 }",
    );
    assert!(e.errors.iter().any(|x| x.message.contains("empty")), "{e}");
}

#[test]
fn a_phase_outside_the_impact_period_is_refused() {
    let (src, e) = broken(
        "from = 2023-10-22T00:00:00+08:00",
        "from = 2023-09-01T00:00:00+08:00",
    );
    let line = line_of(&src, "from = 2023-09-01");
    assert!(
        e.errors
            .iter()
            .any(|x| x.line == line && x.message.contains("outside the impact period")),
        "{e}"
    );
}

#[test]
fn malformed_adcodes_are_refused() {
    let (src, e) = broken("\"330225\", # 宁波市象山县", "\"33022X\", # 宁波市象山县");
    let line = line_of(&src, "33022X");
    assert!(
        e.errors
            .iter()
            .any(|x| x.line == line && x.column == 3 && x.message.contains("33022X")),
        "{e}"
    );
    let (_, e) = broken(
        "adcode_prefixes = [\"3301\"]",
        "adcode_prefixes = [\"330\"]",
    );
    assert!(
        e.errors
            .iter()
            .any(|x| x.message.contains("not an adcode prefix")),
        "{e}"
    );
}

#[test]
fn a_district_claimed_twice_is_refused() {
    let (_, e) = broken("\"330304\", # 温州市瓯海区", "\"330302\", # 温州市瓯海区");
    assert!(
        e.errors
            .iter()
            .any(|x| x.message.contains("already covered")),
        "{e}"
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let (_, e) = broken("id = \"co_host_venues\"", "id = \"hangzhou\"");
    assert!(
        e.errors
            .iter()
            .any(|x| x.message.contains("zone id `hangzhou` is used twice")),
        "{e}"
    );
    let twice = format!(
        "{EMBEDDED_SOURCE}\n{}",
        &EMBEDDED_SOURCE[EMBEDDED_SOURCE.find("[[notice]]").unwrap_or(0)..]
    );
    let e = Rules::from_toml(&twice, "twice.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("notice id `hangzhou-2023-asian-games` is used twice"),
        "{e}"
    );
}

#[test]
fn a_missing_translation_is_refused() {
    let (src, e) = broken(
        "[notice.actions.approve_refund_now]\nzh-CN = \"及时同意退款给买家。\"\nen = \"Approve the refund to the buyer promptly.\"\n",
        "[notice.actions.approve_refund_now]\nzh-CN = \"及时同意退款给买家。\"\n",
    );
    let line = line_of(&src, "[notice.actions.approve_refund_now]");
    assert!(
        e.errors
            .iter()
            .any(|x| x.line == line && x.message.contains("no en translation")),
        "{e}"
    );
}

#[test]
fn unknown_codes_and_placeholders_are_refused() {
    let (_, e) = broken(
        "[notice.actions.approve_refund_now]",
        "[notice.actions.approve_refund_later]",
    );
    let all = e.to_string();
    assert!(all.contains("unknown code `approve_refund_later`"), "{all}");
    assert!(all.contains("lacks `approve_refund_now`"), "{all}");
    let (_, e) = broken("截止 {due_at}", "截止 {due}");
    assert!(e.to_string().contains("unknown placeholder `{due}`"), "{e}");
}

#[test]
fn unknown_fields_and_bad_syntax_name_their_place() {
    let (src, e) = broken("stall_after_hours = 72", "stall_after_hour = 72");
    let line = line_of(&src, "stall_after_hour =");
    assert_eq!(e.errors.len(), 1);
    assert_eq!((e.errors[0].line, e.errors[0].column), (line, 1), "{e}");
    let (src, e) = broken("return_countdown_hours = 24", "return_countdown_hours = ");
    assert_eq!(
        e.errors[0].line,
        line_of(&src, "return_countdown_hours ="),
        "{e}"
    );
}

#[test]
fn several_problems_are_reported_together() {
    let source = EMBEDDED_SOURCE
        .replacen("stall_after_hours = 72", "stall_after_hours = 0", 1)
        .replacen(
            "time_zone = \"Asia/Shanghai\"",
            "time_zone = \"Asia/Hangzhou\"",
            1,
        )
        .replacen(
            "surge_open_refund_requests = 50",
            "surge_open_refund_requests = -3",
            1,
        );
    let e = Rules::from_toml(&source, "x.toml")
        .err()
        .map(|e| e.errors)
        .unwrap_or_default();
    assert!(e.len() >= 3, "{e:?}");
}

#[test]
fn the_notices_24_00_is_accepted_as_the_end_of_that_day() {
    let source = EMBEDDED_SOURCE.replacen(
        "control = { from = 2023-09-16T00:00:00+08:00, until = 2023-10-29T00:00:00+08:00 }",
        "control = { from = \"2023-09-16 00:00\", until = \"2023-10-28 24:00\" }",
        1,
    );
    let r = Rules::from_toml(&source, "x.toml").unwrap_or_else(|e| panic!("{e}"));
    let embedded = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.notices[0].zones[0].control,
        embedded.notices[0].zones[0].control
    );
    assert_ne!(r.checksum, embedded.checksum);
}

#[test]
fn rules_show_prints_rules_that_load_again_and_decide_the_same() {
    let embedded = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    let shown = embedded.to_toml().unwrap_or_else(|e| panic!("{e}"));
    let again = Rules::from_toml(&shown, "shown.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.to_toml().ok(), Some(shown), "show is a fixpoint");
    let request = refund_only(
        "2023-10-11T09:00:00+08:00",
        "2023-10-14T09:00:00+08:00",
        &[("2023-10-10T14:00:00+08:00", "in_transit")],
    );
    let lang = again.language("en").unwrap_or_default();
    let from_shown = aftersales::decide_json(
        &again,
        &crate::helpers::bytes(&request),
        chrono::Utc::now(),
        lang,
        "x".into(),
    )
    .map(|d| serde_json::to_value(d.view).unwrap_or_default())
    .unwrap_or_default();
    let original = decide(&request);
    for key in [
        "scenario",
        "decision",
        "deadlines",
        "actions",
        "explanation",
        "zone",
    ] {
        assert_eq!(from_shown[key], original[key], "{key}");
    }
}

#[test]
fn the_kubernetes_configmap_holds_the_embedded_rules() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/k8s/configmap.yaml"
    ))
    .unwrap_or_default();
    let doc: serde_json::Value = yaml_serde::from_str(&text).unwrap_or_default();
    let rules = doc["data"]["rules.toml"].as_str().unwrap_or_default();
    assert_eq!(
        rules, EMBEDDED_SOURCE,
        "deploy/k8s/configmap.yaml drifted from rules/hangzhou-2023.toml"
    );
    assert!(Rules::from_toml(rules, "configmap").is_ok());
}

mod never_panics {
    use aftersales::rules::{EMBEDDED_SOURCE, Rules};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// A rules file mangled anywhere loads or is refused with errors; it never panics.
        #[test]
        fn a_mangled_rules_file_is_refused_or_loaded(cut in 0usize..EMBEDDED_SOURCE.len(), len in 0usize..40, insert in "[\\[\\]{}=\",.#a-z0-9 \n:+-]{0,12}") {
            let mut s = EMBEDDED_SOURCE.to_owned();
            let start = (0..=cut).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            let end = (start + len..=s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(s.len());
            s.replace_range(start..end, &insert);
            match Rules::from_toml(&s, "mangled.toml") {
                Ok(r) => prop_assert!(!r.notices.is_empty()),
                Err(e) => prop_assert!(!e.errors.is_empty() && e.errors.iter().all(|x| !x.message.is_empty())),
            }
        }
    }
}
