//! Loading rules files: every error found at once, each at its line and column.

use aftersales::rules::{EMBEDDED_SOURCE, Lang, Rules, RulesErrors, RulesWarningCode, TextWord};

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
fn a_city_code_in_adcodes_is_refused_for_its_districts_would_not_match() {
    // GB/T 2260 writes 宁波市 as 330200: as an exact code it matches a destination known
    // only as "宁波市", never 330203 海曙区, so the zone would silently miss the city.
    let (src, e) = broken("\"330225\", # 宁波市象山县", "\"330200\", # 宁波市");
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(
        (e.errors[0].line, e.errors[0].column),
        (line_of(&src, "\"330200\", # 宁波市"), 3),
        "{e}"
    );
    assert_eq!(
        e.errors[0].message,
        "`330200` is the code of 浙江省宁波市, a city with districts: in `adcodes` it matches none of them; to cover the whole city, put `3302` in `adcode_prefixes`"
    );
    // A city without districts (东莞市 441900) is its own county-level unit.
    let (_, e) = broken(
        "\"330225\", # 宁波市象山县",
        "\"441900\", # 东莞市\n  \"33022X\",",
    );
    assert_eq!(e.errors.len(), 1, "{e}");
    assert!(e.errors[0].message.contains("33022X"), "{e}");
}

#[test]
fn a_district_listed_twice_in_a_zone_is_refused() {
    let (_, e) = broken("\"330304\", # 温州市瓯海区", "\"330302\", # 温州市瓯海区");
    assert!(
        e.errors
            .iter()
            .any(|x| x.message.contains("`330302` is listed twice in this zone")),
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
fn a_misspelt_code_is_one_error_naming_the_code_meant() {
    for (from, to, what, meant) in [
        (
            "[notice.actions.approve_refund_now]",
            "[notice.actions.aprove_refund_now]",
            "actions",
            "approve_refund_now",
        ),
        (
            "[notice.explanations.stalled]",
            "[notice.explanations.stall]",
            "explanations",
            "stalled",
        ),
        (
            "further_notice = {",
            "further_notices = {",
            "labels",
            "further_notice",
        ),
        (
            "[warnings.already_rejected]",
            "[warnings.already_reject]",
            "warnings",
            "already_rejected",
        ),
    ] {
        let (src, e) = broken(from, to);
        assert_eq!(e.errors.len(), 1, "{to}: {e}");
        let typo = to
            .trim_start_matches('[')
            .trim_end_matches([']', ' ', '=', '{'])
            .rsplit('.')
            .next()
            .unwrap_or_default();
        assert_eq!(
            e.errors[0].message,
            format!("unknown code `{typo}` in `{what}`: did you mean `{meant}`?"),
            "{e}"
        );
        assert_eq!(e.errors[0].line, line_of(&src, to), "{e}");
    }
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

// Thresholds in the words (issue 10, item 1) ------------------------------------------

/// The shipped file without its `[[test]]`s, for edits that change decisions.
fn without_tests(source: &str) -> String {
    let cut = source.find("\n[[test]]").unwrap_or(source.len());
    source[..cut].to_owned()
}

fn stalled_texts(rules: &Rules, lang: &str) -> Vec<String> {
    let request = refund_only(
        "2023-10-11T09:00:00+08:00",
        "2023-10-14T09:00:00+08:00",
        &[("2023-10-10T14:00:00+08:00", "in_transit")],
    );
    let lang = rules.language(lang).unwrap_or_default();
    let body = serde_json::to_vec(&request).unwrap_or_default();
    let v = aftersales::decide_json(rules, &body, chrono::Utc::now(), lang, "t".into())
        .map(|d| serde_json::to_value(d.view).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut texts: Vec<String> = Vec::new();
    for (list, field) in [("actions", "text"), ("explanation", "detail")] {
        for x in v[list].as_array().into_iter().flatten() {
            texts.push(x[field].as_str().unwrap_or_default().to_owned());
        }
    }
    texts
}

#[test]
fn setting_the_intercept_window_to_24_hours_changes_every_word_that_said_48() {
    let shipped = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    let before = stalled_texts(&shipped, "zh-CN").join("\n");
    assert!(
        before.contains("在 48 小时内联系快递公司拦截包裹"),
        "{before}"
    );
    let edited = without_tests(EMBEDDED_SOURCE).replacen(
        "intercept_window_hours = 48",
        "intercept_window_hours = 24",
        1,
    );
    let rules = Rules::from_toml(&edited, "24.toml").unwrap_or_else(|e| panic!("{e}"));
    for lang in ["zh-CN", "en"] {
        let texts = stalled_texts(&rules, lang);
        for t in &texts {
            assert!(!t.contains("48"), "{lang}: still says 48: {t}");
        }
        let all = texts.join("\n");
        let want = if lang == "en" {
            ["Within 24 hours, contact the courier", "The 24-hour window"]
        } else {
            ["在 24 小时内联系快递公司拦截包裹", "24 小时处理时限"]
        };
        for w in want {
            assert!(all.contains(w), "{lang}: no `{w}` in\n{all}");
        }
    }
}

#[test]
fn a_changed_threshold_fails_the_shipped_files_own_tests() {
    let edited = EMBEDDED_SOURCE.replacen(
        "intercept_window_hours = 48",
        "intercept_window_hours = 24",
        1,
    );
    let e = Rules::from_toml(&edited, "24.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("test `3.1.3 stalled: intercept and refund within the window after the stall` failed: deadlines.intercept_and_refund_by: expected 2023-10-15T14:00:00+08:00, got 2023-10-14T14:00:00+08:00"),
        "{e}"
    );
}

#[test]
fn every_threshold_is_a_placeholder_in_action_texts_and_a_literal_one_is_a_warning() {
    let shipped = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shipped.load_warnings, vec![], "the shipped file is clean");
    let literal = EMBEDDED_SOURCE.replacen(
        "zh-CN = \"在 {intercept_window_hours} 小时内",
        "zh-CN = \"在 48 小时内",
        1,
    );
    let r = Rules::from_toml(&literal, "literal.toml").unwrap_or_else(|e| panic!("{e}"));
    let w: Vec<_> = r
        .load_warnings
        .iter()
        .filter(|w| w.code == RulesWarningCode::LiteralThreshold)
        .collect();
    assert_eq!(w.len(), 1, "{:?}", r.load_warnings);
    assert_eq!(w[0].line, line_of(&literal, "zh-CN = \"在 48 小时内"));
    assert!(
        w[0].message
            .contains("says 48, the notice's `intercept_window_hours`")
            && w[0].message.contains("write `{intercept_window_hours}`"),
        "{}",
        w[0].message
    );
    // An action text may name any threshold.
    let surge = EMBEDDED_SOURCE.replacen(
        "en = \"Approve the refund to the buyer promptly.\"",
        "en = \"Approve the refund promptly ({stall_after_hours}/{return_countdown_hours}/{surge_open_refund_requests}).\"",
        1,
    );
    let r = Rules::from_toml(&surge, "all.toml").unwrap_or_else(|e| panic!("{e}"));
    let lang = r.language("en").unwrap_or_default();
    let body = br#"{"refund_type":"refund_only","requested_at":"2023-10-02T10:00:00+08:00","as_of":"2023-10-02T10:05:00+08:00","order":{"order_id":"x"},"destination":{"adcode":"330108"}}"#;
    let v = aftersales::decide_json(&r, body, chrono::Utc::now(), lang, "t".into())
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        v.view.actions[0].text,
        "Approve the refund promptly (72/24/50)."
    );
}

#[test]
fn a_literal_number_is_one_warning_and_a_date_or_clock_time_is_none() {
    // A typhoon notice: a 24-hour intercept window and the 24-hour countdown.
    let typhoon = without_tests(EMBEDDED_SOURCE).replacen(
        "intercept_window_hours = 48",
        "intercept_window_hours = 24",
        1,
    );
    let literal = |zh: &str, en: &str| {
        let source = typhoon
            .replacen(
                "zh-CN = \"及时同意退款给买家。\"",
                &format!("zh-CN = \"{zh}\""),
                1,
            )
            .replacen(
                "en = \"Approve the refund to the buyer promptly.\"",
                &format!("en = \"{en}\""),
                1,
            );
        let r = Rules::from_toml(&source, "typhoon.toml").unwrap_or_else(|e| panic!("{e}"));
        r.load_warnings
            .into_iter()
            .filter(|w| w.code == RulesWarningCode::LiteralThreshold)
            .map(|w| w.message)
            .collect::<Vec<_>>()
    };
    // One number, two thresholds of that value: one warning naming both.
    assert_eq!(
        literal("24 小时内同意退款。", "Approve the refund within 24 hours."),
        [
            "the text of `approve_refund_now` says 24, the notice's `intercept_window_hours` and `return_countdown_hours`: write `{intercept_window_hours}` or `{return_countdown_hours}`, so the words follow the threshold when it changes",
            "the text of `approve_refund_now` says 24, the notice's `intercept_window_hours` and `return_countdown_hours`: write `{intercept_window_hours}` or `{return_countdown_hours}`, so the words follow the threshold when it changes",
        ]
    );
    // The notice's own dates and clock times are no thresholds.
    assert_eq!(
        literal(
            "管控至9月26日24时（2023-09-24 24:00），请同意退款。",
            "Controls last until 2023-09-24 24:00 (24:00 on 9/24); approve the refund.",
        ),
        Vec::<String>::new()
    );
    // A duration written next to its unit still is one.
    assert_eq!(
        literal(
            "24小时内同意退款。",
            "Within a 24-hour window, approve the refund."
        )
        .len(),
        2
    );
}

// One place, several windows (item 3) -------------------------------------------------

const HANGZHOU_ZONE_END: &str =
    "control = { from = 2023-09-16T00:00:00+08:00, until = 2023-10-29T00:00:00+08:00 }\n";

/// The shipped rules with a second Hangzhou zone (an early screening period) before the
/// strict one.
fn with_early_hangzhou_zone(until: &str) -> Result<Rules, RulesErrors> {
    assert!(EMBEDDED_SOURCE.contains(HANGZHOU_ZONE_END));
    let early = format!(
        "{HANGZHOU_ZONE_END}\n[[notice.zones]]\nid = \"hangzhou_early\"\nname = {{ zh-CN = \"杭州市（预安检）\", en = \"Hangzhou (early screening)\" }}\n\
         adcode_prefixes = [\"3301\"]\ncontrol = {{ from = \"2023-09-01 00:00\", until = \"{until}\" }}\n"
    );
    Rules::from_toml(
        &EMBEDDED_SOURCE.replacen(HANGZHOU_ZONE_END, &early, 1),
        "early.toml",
    )
}

fn zone_of(rules: &Rules, requested_at: &str, trace: &[(&str, &str)]) -> (String, bool) {
    let request = refund_only(requested_at, "2023-11-20T00:00:00+08:00", trace);
    let body = serde_json::to_vec(&request).unwrap_or_default();
    let v = aftersales::decide_json(rules, &body, chrono::Utc::now(), Lang(0), "t".into())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let z = v.view.zone.unwrap_or_else(|| panic!("no zone"));
    (z.id, z.controlled)
}

#[test]
fn one_prefix_may_be_in_two_zones_whose_windows_do_not_overlap() {
    let rules = with_early_hangzhou_zone("2023-09-15 24:00").unwrap_or_else(|e| panic!("{e}"));
    // The window containing the request decides…
    assert_eq!(
        zone_of(&rules, "2023-09-10T10:00:00+08:00", &[]),
        ("hangzhou_early".into(), true)
    );
    assert_eq!(
        zone_of(&rules, "2023-10-01T10:00:00+08:00", &[]),
        ("hangzhou".into(), true)
    );
    // …else the one containing the latest carrier event in any of them…
    let early_event = ("2023-09-12T10:00:00+08:00", "collected");
    let strict_event = ("2023-09-20T10:00:00+08:00", "in_transit");
    assert_eq!(
        zone_of(&rules, "2023-11-05T10:00:00+08:00", &[early_event]),
        ("hangzhou_early".into(), true)
    );
    assert_eq!(
        zone_of(
            &rules,
            "2023-11-05T10:00:00+08:00",
            &[early_event, strict_event]
        ),
        ("hangzhou".into(), true)
    );
    // …else the window nearest the request, not controlled.
    assert_eq!(
        zone_of(&rules, "2023-08-20T10:00:00+08:00", &[]),
        ("hangzhou_early".into(), false)
    );
    assert_eq!(
        zone_of(
            &rules,
            "2023-11-05T10:00:00+08:00",
            &[("2023-11-01T10:00:00+08:00", "in_transit")]
        ),
        ("hangzhou".into(), false)
    );
}

#[test]
fn one_prefix_in_two_zones_whose_windows_overlap_is_refused() {
    let e = with_early_hangzhou_zone("2023-09-16 00:01")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("`3301` is already covered by zone `hangzhou`, whose control window overlaps this zone's"),
        "{e}"
    );
}

#[test]
fn a_zone_whose_window_overlaps_another_with_the_same_codes_is_one_error_per_zone() {
    // One mistake (the window, or the copied codes): one error for each zone it clashes
    // with, naming every code they share, not one error per code.
    let venues_end =
        "control = { from = 2023-09-16T00:00:00+08:00, until = 2023-10-09T00:00:00+08:00 }\n";
    let again = format!(
        "{venues_end}\n[[notice.zones]]\nid = \"again\"\nname = {{ zh-CN = \"再次\", en = \"Again\" }}\n\
         adcode_prefixes = [\"3301\"]\nadcodes = [\"330225\", \"330304\", \"330302\"]\n\
         control = {{ from = \"2023-09-20 00:00\", until = \"2023-09-30 24:00\" }}\n"
    );
    assert!(EMBEDDED_SOURCE.contains(venues_end));
    let source = EMBEDDED_SOURCE.replacen(venues_end, &again, 1);
    let e = Rules::from_toml(&source, "again.toml")
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    let all = e.to_string();
    assert_eq!(e.errors.len(), 2, "{all}");
    assert_eq!(
        (e.errors[0].line, e.errors[0].message.as_str()),
        (
            line_of(&source, "adcode_prefixes = [\"3301\"]\nadcodes"),
            "`3301` is already covered by zone `hangzhou`, whose control window overlaps this zone's: one place may be in two zones of a notice only when their windows do not overlap"
        ),
        "{all}"
    );
    assert_eq!(
        e.errors[1].line,
        line_of(&source, "adcodes = [\"330225\", \"330304\""),
        "{all}"
    );
    assert!(
        e.errors[1].message.starts_with(
            "`330225`, `330304` and `330302` are already covered by zone `co_host_venues`, whose control window overlaps this zone's"
        ),
        "{all}"
    );
}

// Until further notice (item 4) -------------------------------------------------------

#[test]
fn a_window_without_until_lasts_until_further_notice_and_says_so() {
    let open = EMBEDDED_SOURCE
        .replacen(
            "impact_period = { from = 2023-09-11T00:00:00+08:00, until = 2023-10-29T00:00:00+08:00 }",
            "impact_period = { from = 2023-09-11T00:00:00+08:00 }",
            1,
        )
        .replacen(HANGZHOU_ZONE_END, "control = { from = 2023-09-16T00:00:00+08:00 }\n", 1);
    let open = without_tests(&open);
    let rules = Rules::from_toml(&open, "open.toml").unwrap_or_else(|e| panic!("{e}"));
    let n = &rules.notices[0];
    assert_eq!(n.impact_period.until, None);
    assert_eq!(n.zones[0].control.until, None);
    let warned: Vec<usize> = rules
        .load_warnings
        .iter()
        .filter(|w| w.code == RulesWarningCode::UntilFurtherNotice)
        .map(|w| w.line)
        .collect();
    assert_eq!(
        warned,
        [
            line_of(&open, "impact_period = { from"),
            line_of(&open, "control = { from = 2023-09-16T00:00:00+08:00 }")
        ]
    );
    // Years later, still in force.
    let request = refund_only(
        "2026-01-05T10:00:00+08:00",
        "2026-01-05T11:00:00+08:00",
        &[("2026-01-04T10:00:00+08:00", "in_transit")],
    );
    let body = serde_json::to_vec(&request).unwrap_or_default();
    for (lang, words) in [("zh-CN", "至 另行通知"), ("en", "until further notice")] {
        let lang = rules.language(lang).unwrap_or_default();
        let d = aftersales::decide_json(&rules, &body, chrono::Utc::now(), lang, "t".into())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(d.view.applies);
        let z = d.view.zone.clone().unwrap_or_else(|| panic!("no zone"));
        assert_eq!(
            (z.control_until, z.control_until_further_notice),
            (None, true)
        );
        let why: Vec<&str> = d
            .view
            .explanation
            .iter()
            .map(|e| e.detail.as_str())
            .collect();
        assert_eq!(
            why.iter().filter(|t| t.contains(words)).count(),
            2,
            "the impact period and the zone: {why:?}"
        );
        let text = aftersales::render::summary(&d.view, &rules, lang);
        let zone = if lang == Lang(0) {
            "（管控中，2023-09-16T00:00:00+08:00 起，至另行通知）"
        } else {
            "(controlled, 2023-09-16T00:00:00+08:00 until further notice)"
        };
        assert!(text.contains(zone), "{text}");
    }
}

#[test]
fn a_phase_until_further_notice_cannot_outlast_a_closed_impact_period() {
    let open_phase = EMBEDDED_SOURCE.replacen(
        "from = 2023-10-22T00:00:00+08:00\nuntil = 2023-10-29T00:00:00+08:00\n",
        "from = 2023-10-22T00:00:00+08:00\n",
        1,
    );
    assert_ne!(open_phase, EMBEDDED_SOURCE);
    let e = Rules::from_toml(&open_phase, "x.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("phase `para_games` reaches outside the impact period"),
        "{e}"
    );
}

// Tests inside the rules file (item 5) ------------------------------------------------

const A_TEST: &str = r#"
[[test]]
name = "my stalled case"
[test.request]
refund_type = "refund_only"
requested_at = 2023-10-11T09:00:00+08:00
as_of = 2023-10-14T09:00:00+08:00
order = { order_id = "X" }
destination = { adcode = "330105" }
logistics_trace = [{ at = 2023-10-10T14:00:00+08:00, status = "in_transit" }]
[test.expect]
"#;

#[test]
fn the_shipped_file_carries_a_test_for_every_row_of_policy_5_and_6() {
    let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    let raw: toml::Table = toml::from_str(EMBEDDED_SOURCE).unwrap_or_default();
    let scenarios: Vec<&str> = raw["test"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["expect"].get("scenario")?.as_str())
        .collect();
    for s in aftersales::codes::Scenario::ALL {
        assert!(scenarios.contains(&s.as_str()), "no [[test]] for {s}");
    }
    let decisions: Vec<&str> = raw["test"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["expect"].get("decision")?.as_str())
        .collect();
    for d in aftersales::codes::Outcome::ALL {
        assert!(decisions.contains(&d.as_str()), "no [[test]] decides {d}");
    }
    let written = raw["test"].as_array().map_or(0, Vec::len);
    assert_eq!(rules.tests.len(), written, "every test ran and passed");
}

#[test]
fn a_failing_test_refuses_the_file_naming_the_test_and_what_differed() {
    let source = format!(
        "{EMBEDDED_SOURCE}{A_TEST}scenario = \"in_transit\"\ndecision = \"intercept_and_refund\"\ndeadlines = {{ intercept_and_refund_by = 2023-10-15T15:00:00+08:00 }}\n"
    );
    let e = Rules::from_toml(&source, "t.toml")
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(e.errors.len(), 1, "{e}");
    let x = &e.errors[0];
    assert_eq!(x.line, line_of(&source, "name = \"my stalled case\""));
    assert_eq!(
        x.message,
        "test `my stalled case` failed: scenario: expected `in_transit`, got `stalled`; \
         deadlines.intercept_and_refund_by: expected 2023-10-15T15:00:00+08:00, got 2023-10-15T14:00:00+08:00"
    );
    let passing = format!(
        "{EMBEDDED_SOURCE}{A_TEST}scenario = \"stalled\"\ndeadlines = {{ intercept_and_refund_by = \"2023-10-15 14:00\" }}\n"
    );
    let r = Rules::from_toml(&passing, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert!(r.tests.contains(&"my stalled case".to_owned()));
}

#[test]
fn a_test_must_fix_its_instant_and_expect_something_known() {
    let no_as_of = format!("{EMBEDDED_SOURCE}{A_TEST}scenario = \"stalled\"\n").replacen(
        "as_of = 2023-10-14T09:00:00+08:00\norder = { order_id = \"X\" }",
        "order = { order_id = \"X\" }",
        1,
    );
    let e = Rules::from_toml(&no_as_of, "t.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("test `my stalled case`: `request.as_of` is required, so that the test decides at a fixed instant rather than on the day it runs"),
        "{e}"
    );
    let unknown = format!(
        "{EMBEDDED_SOURCE}{A_TEST}scenario = \"stuck\"\ndecision = \"refund\"\nnotice = \"nope\"\ndeadlines = {{ reply_by = 2023-10-15T15:00:00+08:00 }}\n"
    );
    let e = Rules::from_toml(&unknown, "t.toml")
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    let all = e.to_string();
    assert_eq!(e.errors.len(), 4, "{all}");
    for want in [
        "`stuck` is not a scenario",
        "`refund` is not a decision",
        "`nope` is not a notice id of this file",
        "`reply_by` is not a deadline kind",
    ] {
        assert!(all.contains(want), "{want}: {all}");
    }
    let nothing = format!("{EMBEDDED_SOURCE}{A_TEST}");
    let e = Rules::from_toml(&nothing, "t.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("test `my stalled case` expects nothing"), "{e}");
    let refused = format!("{EMBEDDED_SOURCE}{A_TEST}scenario = \"stalled\"\n").replacen(
        "destination = { adcode = \"330105\" }",
        "destination = { adcode = \"3301\" }",
        1,
    );
    let e = Rules::from_toml(&refused, "t.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains(
            "test `my stalled case` failed: the request is refused: request/destination/adcode"
        ),
        "{e}"
    );
}

#[test]
fn a_test_request_the_api_refuses_is_one_error_at_the_refused_field() {
    // In the test added after the shipped file.
    let line_col = |source: &str, needle: &str| {
        let i = EMBEDDED_SOURCE.len()
            + source[EMBEDDED_SOURCE.len()..]
                .find(needle)
                .unwrap_or_else(|| panic!("{needle}"));
        let before = &source[..i];
        (
            before.matches('\n').count() + 1,
            before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1,
        )
    };
    for (from, to, at, refused) in [
        // A misspelt field of the request: at the misspelt key.
        (
            "destination = { adcode = \"330105\" }",
            "destinaton = { adcode = \"330105\" }",
            "destinaton =",
            "request/destinaton is an unknown field",
        ),
        // Inside an event of the trace, written as an inline table: at that key.
        (
            "status = \"in_transit\" }]",
            "staus = \"in_transit\" }]",
            "staus =",
            "request/logistics_trace/0/staus is an unknown field",
        ),
        // A value the API cannot read: at that value's key.
        (
            "requested_at = 2023-10-11T09:00:00+08:00",
            "requested_at = 2023-10-11",
            "requested_at = 2023-10-11\n",
            "request/requested_at `2023-10-11` is not a time",
        ),
    ] {
        let test = A_TEST.replacen(from, to, 1);
        let source = format!("{EMBEDDED_SOURCE}{test}scenario = \"stalled\"\n");
        let e = Rules::from_toml(&source, "t.toml")
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(e.errors.len(), 1, "{e}");
        assert_eq!(
            (e.errors[0].line, e.errors[0].column),
            line_col(&source, at),
            "{e}"
        );
        assert!(
            e.errors[0].message.starts_with(&format!(
                "test `my stalled case` failed: the request is refused: {refused}"
            )),
            "{e}"
        );
    }
}

#[test]
fn a_file_without_tests_loads_with_a_warning() {
    let r = Rules::from_toml(&without_tests(EMBEDDED_SOURCE), "bare.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.tests.is_empty());
    assert_eq!(
        r.load_warnings.iter().map(|w| w.code).collect::<Vec<_>>(),
        [RulesWarningCode::NoTests]
    );
}

// One mistake, one error (item 7) -----------------------------------------------------

#[test]
fn an_unknown_placeholder_is_one_error_not_also_a_missing_explanation() {
    let (src, e) = broken(
        "{hours} 小时，超过 {stall_after_hours} 小时",
        "{hours} 小时，超过 {stall_hourz} 小时",
    );
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(e.errors[0].line, line_of(&src, "{stall_hourz}"));
    assert!(
        e.errors[0]
            .message
            .starts_with("explanations.stalled (zh-CN): unknown placeholder `{stall_hourz}`: this text takes {status}, {at}, {hours}, {stall_hours}, {stall_after_hours},"),
        "{e}"
    );
}

#[test]
fn a_misspelt_language_is_one_error_not_also_a_missing_translation() {
    let text = "en = \"Approve the refund to the buyer promptly.\"\n";
    let (src, e) = broken(text, &text.replacen("en", "En", 1));
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(
        (e.errors[0].line, e.errors[0].column),
        (line_of(&src, "En = \"Approve"), 1),
        "{e}"
    );
    assert_eq!(
        e.errors[0].message,
        "`En` in actions.approve_refund_now is not one of `languages` (zh-CN, en): write `en`"
    );
    // A language the file does not have, in place of one it needs: still one error.
    let (_, e) = broken(text, &text.replacen("en", "fr", 1));
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(
        e.errors[0].message,
        "`fr` in actions.approve_refund_now is not one of `languages` (zh-CN, en), and the text has no en translation"
    );
}

#[test]
fn a_missing_translation_is_one_error_not_also_a_missing_action() {
    let (_, e) = broken(
        "[notice.actions.approve_refund_now]\nzh-CN = \"及时同意退款给买家。\"\nen = \"Approve the refund to the buyer promptly.\"\n",
        "[notice.actions.approve_refund_now]\nzh-CN = \"及时同意退款给买家。\"\n",
    );
    assert_eq!(e.errors.len(), 1, "{e}");
    assert!(e.errors[0].message.contains("no en translation"), "{e}");
}

#[test]
fn an_hour_of_24_in_a_toml_date_time_suggests_the_string_form() {
    let (_, e) = broken(
        "until = 2023-10-29T00:00:00+08:00 }\n\n# ……自9月16日0时",
        "until = 2023-10-28T24:00:00+08:00 }\n\n# ……自9月16日0时",
    );
    assert_eq!(e.errors.len(), 1, "{e}");
    assert!(
        e.errors[0].message.contains("\"YYYY-MM-DD 24:00\"")
            && e.errors[0].message.contains("until = \"2023-10-28 24:00\""),
        "{e}"
    );
}

#[test]
fn a_syntax_error_beside_a_correct_24_00_gets_no_24_00_hint() {
    // The line holds the recommended "2023-10-28 24:00"; the mistake is elsewhere on it.
    let fine_end = "control = { from = 2023-09-16T00:00:00+08:00, until = \"2023-10-08 24:00\" }";
    let line = "control = { from = 2023-09-16T00:00:00+08:00, until = 2023-10-09T00:00:00+08:00 }";
    for (mistake, what) in [
        (
            fine_end.replace("+08:00", "+08:60"),
            "an offset out of range",
        ),
        (fine_end.replace(", until", " until"), "a missing comma"),
    ] {
        let (_, e) = broken(line, &mistake);
        assert_eq!(e.errors.len(), 1, "{what}: {e}");
        assert!(
            !e.errors[0].message.contains("24时"),
            "{what} is not an hour of 24: {e}"
        );
    }
    // A missing `]` on the line before one with "24:00": the error sits on that line.
    let (_, e) = broken(
        "  \"330702\", # 金华市婺城区\n]\ncontrol = { from = 2023-09-16T00:00:00+08:00, until = 2023-10-09T00:00:00+08:00 }",
        "  \"330702\", # 金华市婺城区\ncontrol = { from = 2023-09-16T00:00:00+08:00, until = \"2023-10-08 24:00\" }",
    );
    assert!(!e.to_string().contains("24时"), "{e}");
}
#[test]
fn the_adcode_hints_name_the_files_own_zones() {
    let harbin = include_str!("../fixtures/rules/harbin-2025.toml");
    let common = &EMBEDDED_SOURCE[..EMBEDDED_SOURCE.find("[[notice]]").unwrap_or(0)];
    let broken = format!("{common}{harbin}").replacen(
        "adcode_prefixes = [\"2301\"]",
        "adcode_prefixes = [\"2301\", \"230\"]\nadcodes = [\"23010\"]",
        1,
    );
    let e = Rules::from_toml(&broken, "harbin.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("`230` is not an adcode prefix: use 2 digits for a province or 4 for a city (zone `harbin` uses `2301`, 黑龙江省哈尔滨市)"),
        "{e}"
    );
    assert!(e.contains("`23010` is not a county-level adcode"), "{e}");
    assert!(
        !e.contains("Hangzhou") && !e.contains("杭州") && !e.contains("滨江"),
        "{e}"
    );
}

#[test]
fn redundant_codes_and_codes_outside_the_division_table_are_warnings() {
    let source = EMBEDDED_SOURCE.replacen(
        "adcode_prefixes = [\"3301\"]",
        "adcode_prefixes = [\"3301\", \"33\", \"3399\"]\nadcodes = [\"339901\"]",
        1,
    );
    let r = Rules::from_toml(&source, "w.toml").unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(RulesWarningCode, String)> = r
        .load_warnings
        .iter()
        .map(|w| {
            (
                w.code,
                w.message.split(' ').next().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    use RulesWarningCode::{CodeNotInTable, RedundantCode};
    assert_eq!(
        got,
        [
            (RedundantCode, "`3301`".to_owned()),
            (RedundantCode, "`3399`".to_owned()),
            (CodeNotInTable, "`3399`".to_owned()),
            (RedundantCode, "`339901`".to_owned()),
            (CodeNotInTable, "`339901`".to_owned()),
        ],
        "{:?}",
        r.load_warnings
    );
    // Beijing's districts sit under the placeholder 1101: a real place.
    let beijing = EMBEDDED_SOURCE.replacen(
        "adcode_prefixes = [\"3301\"]",
        "adcode_prefixes = [\"3301\", \"1101\"]",
        1,
    );
    let r = Rules::from_toml(&beijing, "b.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.load_warnings, vec![]);
}

// Rules init and the authoring guide (item 6) ------------------------------------------

#[test]
fn the_authoring_guide_documents_every_code_with_its_placeholders() {
    use aftersales::codes::{Action, Finding, WarningCode};
    use aftersales::rules::THRESHOLD_ARGS;
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md"))
        .unwrap_or_default();
    // A table row: | `code` | when | placeholders |
    let row = |code: &str| -> Option<String> {
        guide
            .lines()
            .find(|l| l.starts_with(&format!("| `{code}` |")))
            .map(str::to_owned)
    };
    let placeholders = |row: &str| -> Vec<String> {
        let last = row
            .trim_end_matches('|')
            .rsplit('|')
            .next()
            .unwrap_or_default();
        let mut out: Vec<String> = last
            .split('`')
            .filter(|p| p.starts_with('{') && p.ends_with('}'))
            .map(|p| p.trim_matches(['{', '}']).to_owned())
            .collect();
        out.sort();
        out
    };
    let mut wrong = Vec::new();
    let mut check = |code: &str, args: &[&str]| match row(code) {
        None => wrong.push(format!("no row for `{code}`")),
        Some(r) => {
            let mut want: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            want.sort();
            let got = placeholders(&r);
            if got != want {
                wrong.push(format!("`{code}`: documents {got:?}, takes {want:?}"));
            }
        }
    };
    for a in Action::ALL {
        check(a.as_str(), &[]);
    }
    for f in Finding::ALL {
        check(f.as_str(), aftersales::rules::finding_args(f));
    }
    for w in WarningCode::ALL {
        check(
            &format!("warnings.{w}"),
            aftersales::rules::warning_args(*w),
        );
    }
    for w in RulesWarningCode::ALL {
        check(w.as_str(), &[]);
    }
    assert!(
        wrong.is_empty(),
        "docs/rules.md is out of date:\n{}",
        wrong.join("\n")
    );
    for t in THRESHOLD_ARGS {
        assert!(guide.contains(&format!("`{{{t}}}`")), "{t}");
    }
    // Every label the file must give, in the labels section.
    let labels = guide
        .split("### Labels")
        .nth(1)
        .and_then(|s| s.split("\n#").next())
        .unwrap_or_default();
    let missing: Vec<&str> = aftersales::codes::Label::ALL
        .iter()
        .map(|l| l.as_str())
        .chain(aftersales::codes::Status::ALL.iter().map(|s| s.as_str()))
        .filter(|l| !labels.contains(&format!("`{l}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/rules.md's labels section lacks {missing:?}"
    );
    // Every word of the text view, with its placeholders, in its section.
    let text_view = guide
        .split("### The text view")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_default();
    for w in TextWord::ALL {
        assert!(
            text_view.contains(&format!("`{}`", w.as_str())),
            "docs/rules.md's text view section lacks `{}`",
            w.as_str()
        );
        for a in w.args() {
            assert!(text_view.contains(&format!("`{{{a}}}`")), "{a}");
        }
    }
}

#[test]
fn a_text_view_word_missing_in_one_language_or_at_all_is_refused_by_name() {
    let (src, e) = broken(
        "overdue = { zh-CN = \"已超时 {duration}\", en = ",
        "overdue = { en = ",
    );
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(
        e.errors[0].message, "text_view.overdue has no zh-CN translation",
        "{e}"
    );
    assert_eq!(e.errors[0].line, line_of(&src, "overdue = { en = "), "{e}");
    let line = EMBEDDED_SOURCE
        .lines()
        .find(|l| l.starts_with("decision_id = {"))
        .unwrap_or_else(|| panic!("no decision_id in [text_view]"));
    let (_, e) = broken(&format!("{line}\n"), "");
    assert_eq!(e.errors.len(), 1, "{e}");
    assert!(
        e.errors[0]
            .message
            .starts_with("`text_view` lacks `decision_id`"),
        "{e}"
    );
    // A placeholder the view does not supply is named, with the ones it does.
    let (_, e) = broken("剩余 {duration}", "剩余 {hours}");
    assert!(
        e.to_string().contains(
            "text_view.left (zh-CN): unknown placeholder `{hours}`: this text takes {duration}"
        ),
        "{e}"
    );
}

/// The text view's entries carry the decision's values: one that leaves out a
/// placeholder would silently drop that value (a deadline without its time, a first line
/// without the decision), so it is refused, naming what it lacks.
#[test]
fn a_text_view_word_leaving_out_a_value_is_refused_by_name() {
    let (src, e) = broken(
        "en = \"{kind}: {due_at} ({left})\"",
        "en = \"{kind} ({left})\"",
    );
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(
        e.errors[0].message,
        "text_view.deadline (en) leaves out `{due_at}`: the text view would not show it",
        "{e}"
    );
    assert_eq!(
        e.errors[0].line,
        line_of(&src, "en = \"{kind} ({left})\""),
        "{e}"
    );
    let (_, e) = broken(
        "zh-CN = \"售后单 {case_id}：{scenario} → {decision}\"",
        "zh-CN = \"售后单 {case_id}\"",
    );
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(
        e.errors[0].message,
        "text_view.case (zh-CN) leaves out `{scenario}`, `{decision}`: the text view would not show them",
        "{e}"
    );
}

/// The text view is one line per item: a line break, a control or a bidirectional
/// character in its words can only be shown escaped (`\\n`, `\\u{202e}`), never as the
/// author meant, so the file is refused, naming the character.
#[test]
fn a_text_view_word_with_a_line_break_or_control_character_is_refused() {
    for (written, named) in [
        ("\\n", "U+000A"),
        ("\\r", "U+000D"),
        ("\\t", "U+0009"),
        ("\\u001b[31m", "U+001B"),
        ("\\u0085", "U+0085"),
        ("\\u2028", "U+2028"),
        ("\\u202e", "U+202E"),
        ("\\u2066", "U+2066"),
    ] {
        let (src, e) = broken(
            "en = \"{duration} left\"",
            &format!("en = \"{{duration}}{written} left\""),
        );
        assert_eq!(e.errors.len(), 1, "{written}: {e}");
        assert!(
            e.errors[0].message.starts_with(&format!(
                "text_view.left (en) holds {named}, which the text view cannot show on its line"
            )),
            "{written}: {e}"
        );
        assert_eq!(
            e.errors[0].line,
            line_of(&src, &format!("{{duration}}{written} left")),
            "{e}"
        );
    }
}

/// `{{` reads as an escape in many template languages; here it is not one, and the
/// error says so rather than naming a placeholder `{{duration}`.
#[test]
fn a_doubled_brace_is_refused_as_no_escape() {
    let (_, e) = broken("en = \"{duration} left\"", "en = \"{{duration}} left\"");
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(
        e.errors[0].message,
        "text_view.left (en): `{{` is not an escape: a text cannot hold a literal `{` or `}`",
        "{e}"
    );
}

#[test]
fn an_empty_or_partial_file_points_to_rules_init() {
    let message = |source: &str| {
        Rules::from_toml(source, "mine.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("accepted"))
    };
    let empty = message("");
    assert_eq!(
        empty,
        "mine.toml: the file is empty: `aftersales rules init` prints a complete rules file to start from"
    );
    assert_eq!(message("# my notice\n\n"), empty, "comments only");
    // A notice alone (as the fixtures are, to be appended to a complete file).
    let harbin = include_str!("../fixtures/rules/harbin-2025.toml");
    let alone = message(harbin);
    assert!(
        alone.contains("missing field `version`")
            && alone.contains(
                "`version`, `time_zone`, `languages`, `[labels]`, `[warnings]` and `[text_view]`"
            )
            && alone.contains("`aftersales rules init`"),
        "{alone}"
    );
    // The head without the words: one error per table, saying where they are.
    let head = format!(
        "version = \"x\"\ntime_zone = \"Asia/Shanghai\"\nlanguages = [\"zh-CN\", \"en\"]\n{harbin}"
    );
    let e = Rules::from_toml(&head, "mine.toml")
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(e.errors.len(), 3, "labels, warnings, text_view: {e}");
    assert!(
        e.to_string().contains("`text_view` lacks `case`, `notice`"),
        "{e}"
    );
    for x in &e.errors {
        assert!(
            x.message
                .ends_with("(`aftersales rules init` prints every one)"),
            "{e}"
        );
    }
}

#[test]
fn the_phrase_tables_negations_and_precedence_are_checked() {
    use aftersales::carriers::Reading;
    use aftersales::codes::Status;
    let (_, e) = broken(
        "wins_over = [\"intercept_failed\", \"intercept_requested\"]",
        "wins_over = [\"signed\", \"delivered\"]",
    );
    let all = e.to_string();
    assert!(all.contains("`signed` is not a carrier status"), "{all}");
    assert!(all.contains("cannot win over its own status"), "{all}");
    let (_, e) = broken("any = [\"拦截失败\",", "any = [\"拦截失败，已签收\",");
    assert!(e.to_string().contains("within one clause"), "{e}");
    // A `.` not between digits ends a clause too; between digits it does not.
    let (_, e) = broken("any = [\"拦截失败\",", "any = [\"拦截失败.已签收\",");
    assert!(e.to_string().contains("within one clause"), "{e}");
    let digits = EMBEDDED_SOURCE.replacen(
        "any = [\"拦截失败\",",
        "any = [\"拦截失败\", \"拦截3.5\",",
        1,
    );
    assert!(
        Rules::from_toml(&digits, "test.toml").is_ok(),
        "a `.` between digits is within a clause"
    );
    let (_, e) = broken(
        "whole_clause = [\"签收人\",",
        "whole_clause = [\"签收人：\",",
    );
    assert!(e.to_string().contains("within one clause"), "{e}");
    let (_, e) = broken(
        "negated_before = [\"待\", \"未\", \"等待\", \"等候\", \"准备\"]\n",
        "",
    );
    assert!(e.to_string().contains("need `negated_before`"), "{e}");
    let (_, e) = broken(
        "negated_after = [\"失败\",",
        "negated_after = [\" \", \"失败\",",
    );
    assert!(e.to_string().contains("must not be empty"), "{e}");
    let (_, e) = broken("status = \"no_movement\"", "status = \"not_moved\"");
    assert!(e.to_string().contains("no_movement"), "{e}");
    // The old `yields_to` is refused by name, not ignored.
    let (_, e) = broken(
        "wins_over = [\"intercept_failed\", \"intercept_requested\"]",
        "yields_to = [\"delivered\"]",
    );
    assert!(e.to_string().contains("yields_to"), "{e}");
    // A phrase stands negated only where the negation is: 未 before it (perhaps with a
    // filler: 未被), 失败 after it.
    let read = |source: &str, text: &str| {
        Rules::from_toml(source, "t.toml")
            .map(|r| r.read_description(text))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let delivered = Some(Reading::Status(Status::Delivered));
    let exception = Some(Reading::Status(Status::Exception));
    assert_eq!(read(EMBEDDED_SOURCE, "快件已签收"), delivered);
    assert_ne!(read(EMBEDDED_SOURCE, "快件未签收"), delivered);
    assert_eq!(read(EMBEDDED_SOURCE, "快件未到达，已签收"), delivered);
    assert_eq!(read(EMBEDDED_SOURCE, "快件未被及时签收"), None);
    assert_eq!(read(EMBEDDED_SOURCE, "签收人不在家"), None);
    assert_eq!(read(EMBEDDED_SOURCE, "快件滞留，签收人电话停机"), exception);
    assert_eq!(read(EMBEDDED_SOURCE, "快件滞留，签收人：本人"), delivered);
    // Without its negations the table reads them as deliveries again: the negations are
    // data.
    let weak = "negated_before = [\"未\", \"没\", \"没有\", \"没能\", \"不\", \"不能\", \"不可\", \"不得\", \"不要\", \"勿\", \"禁止\", \"无\", \"无人\", \"没人\", \"无法\", \"未能\", \"待\", \"拒绝\", \"准备\", \"如\", \"若\", \"如已\", \"若已\", \"改天\", \"改日\", \"取消\", \"撤销\", \"申请\", \"将\", \"即将\", \"将会\"]\nfillers = [\"被\", \"正常\", \"按时\", \"及时\", \"成功\"]\n";
    let weak_after = "negated_after = [\"失败\", \"不成功\", \"未成功\", \"异常\", \"延误\", \"延迟\", \"人\", \"时\", \"前\", \"后\", \"码\", \"点\", \"货款\", \"状态\", \"结果\", \"情况\"]\n\n[[carrier_phrases]]\nstatus = \"out_for_delivery\"";
    assert!(EMBEDDED_SOURCE.contains(weak_after), "test fixture drifted");
    let unnegated = EMBEDDED_SOURCE.replacen(weak, "", 1).replacen(
        weak_after,
        "negated_after = [\"失败\"]\n\n[[carrier_phrases]]\nstatus = \"out_for_delivery\"",
        1,
    );
    assert_ne!(unnegated, EMBEDDED_SOURCE);
    let unnegated = without_tests(&unnegated);
    assert_eq!(read(&unnegated, "快件未被及时签收"), delivered);
    assert_eq!(read(&unnegated, "签收人不在家"), delivered);
    // The weak delivery comes after the failures, whatever its negations.
    assert_eq!(read(&unnegated, "快件滞留，签收人电话停机"), exception);
}

/// The phrase table's later keys: `negated_later`, `needs_earlier`, `needs_later`,
/// `only_with`, `empty_values`, the `unclear` status, questions and English text. Each is data: without it the shipped
/// table reads the line the old, wrong way.
#[test]
fn the_phrase_tables_later_keys_are_checked_and_read_as_documented() {
    use aftersales::carriers::Reading;
    use aftersales::codes::Status;
    let (_, e) = broken(
        "status = \"security_check\"\nany = [\"安检\", \"过机\"]",
        "status = \"security_check\"\nany = [\"安检\", \"过机\"]\nempty_values = [\"无\"]",
    );
    assert!(e.to_string().contains("need `whole_clause`"), "{e}");
    // needs_earlier and needs_later are looked for within a clause, like the phrases.
    let (_, e) = broken(
        "needs_later = [\"网点\", \"站点\"",
        "needs_later = [\"网点，\", \"站点\"",
    );
    assert!(
        e.to_string().contains("cannot hold what ends a clause"),
        "{e}"
    );
    let (_, e) = broken(
        "needs_earlier = [\"已由\"",
        "needs_earlier = [\" \", \"已由\"",
    );
    assert!(e.to_string().contains("must not be empty"), "{e}");
    let (_, e) = broken("status = \"no_movement\"", "status = \"unclear_ish\"");
    assert!(e.to_string().contains("or unclear"), "{e}");
    let (_, e) = broken(
        "wins_over = [\"intercept_failed\", \"intercept_requested\"]",
        "wins_over = [\"unclear\"]",
    );
    assert!(
        e.to_string().contains("`unclear` is not a carrier status"),
        "{e}"
    );
    let read = |source: &str, text: &str| {
        Rules::from_toml(source, "t.toml")
            .map(|r| r.read_description(text))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let status = |s| Some(Reading::Status(s));
    let shipped = EMBEDDED_SOURCE;
    let without = |from: &str| {
        assert!(shipped.contains(from), "test fixture drifted: {from}");
        without_tests(&shipped.replacen(from, "", 1))
    };
    // needs_later: a return to a station named in between is no return to the sender, but
    // a failed delivery; to the sender's own station, a person reads it.
    assert_eq!(
        read(shipped, "快件已退回至杭州上城网点"),
        status(Status::Exception)
    );
    assert_eq!(read(shipped, "快件已退回至寄件人网点"), None);
    assert_eq!(
        read(shipped, "快件已退回至寄件人"),
        status(Status::Returned)
    );
    let station = "needs_later = [\"网点\", \"站点\", \"营业部\", \"营业点\", \"分部\"]\n";
    assert_eq!(
        read(shipped, "快件已退回至杭州上城"),
        status(Status::Returned)
    );
    assert_eq!(
        read(&without(station), "快件已退回至杭州上城"),
        status(Status::Exception)
    );
    // A failure or a station later in a return's clause is the return's story.
    assert_eq!(
        read(shipped, "快件已退回寄件人（派送失败）"),
        status(Status::Returned)
    );
    assert_eq!(
        read(shipped, "快件退回中 已到达义乌营业部"),
        status(Status::Returning)
    );
    // negated_later: a refusal taken back is none.
    assert_eq!(
        read(shipped, "Refused delivery rescinded, will be redelivered"),
        None
    );
    let taken_back = "negated_later = [\"同意签收\", \"又签收\", \"重新签收\"]\n";
    assert_ne!(
        read(shipped, "收件人拒收后又同意签收"),
        status(Status::Rejected)
    );
    assert_eq!(
        read(&without(taken_back), "收件人拒收后又同意签收"),
        status(Status::Rejected)
    );
    // needs_earlier: a pickup is the consignee's where the consignee, or taking it out of a
    // station or a locker, stands before it in its clause; a courier's pickup with the
    // consignee named elsewhere is a collection, a station's notice out for delivery.
    assert_eq!(read(shipped, "快件已被本人取走"), status(Status::Delivered));
    assert_eq!(
        read(shipped, "拦截失败，您已在菜鸟驿站取件"),
        status(Status::Delivered)
    );
    assert_eq!(
        read(shipped, "闪送员已取件，正在前往收件人地址"),
        status(Status::Collected)
    );
    assert_eq!(
        read(shipped, "快件已到达菜鸟驿站，取件号：8-2-3012"),
        status(Status::OutForDelivery)
    );
    assert_eq!(read(shipped, "快递员已取件"), status(Status::Collected));
    let consignee = "needs_earlier = [\"您已\", \"您在\", \"被您\", \"您本人\", \"本人\", \"收件人已\", \"收件人在\", \"收件人从\", \"被收件人\", \"客户已\", \"客户在\", \"客户从\", \"被客户\", \"在驿站\", \"在菜鸟驿站\", \"在丰巢\", \"在快递柜\", \"在智能柜\", \"在自提柜\", \"在自提点\", \"在代收点\"]\n";
    assert_eq!(
        read(&without(consignee), "闪送员已取件，正在前往收件人地址"),
        status(Status::Delivered)
    );
    // only_with: a pickup a station thanks for is the consignee's; with nobody named it is
    // unclear (read as nothing).
    assert_eq!(
        read(shipped, "包裹已取走，感谢使用菜鸟驿站"),
        status(Status::Delivered)
    );
    assert_eq!(read(shipped, "已取件，感谢使用"), None);
    let thanks = "only_with = [\"感谢使用菜鸟驿站\", \"感谢使用驿站\", \"感谢使用丰巢\", \"感谢您使用菜鸟驿站\", \"感谢您使用丰巢\", \"【丰巢】\", \"【菜鸟驿站】\"]\n";
    assert_eq!(
        read(&without(thanks), "已取件，感谢使用"),
        status(Status::Delivered)
    );
    // empty_values: 签收人：无 names nobody, nor a dash, a placeholder or a field with no
    // value before a clause break; 签收人：门卫 names the doorman.
    assert_eq!(read(shipped, "签收人：无"), None);
    assert_eq!(read(shipped, "签收人:--"), None);
    assert_eq!(read(shipped, "签收人：(空)"), None);
    assert_eq!(read(shipped, "签收人：--，请联系快递员"), None);
    assert_eq!(read(shipped, "签收人，请联系快递员"), None);
    assert_eq!(read(shipped, "签收人：门卫"), status(Status::Delivered));
    let empty = "empty_values = [\"无\", \"暂无\", \"空\", \"(空)\", \"（空）\", \"待定\", \"未知\", \"不详\", \"无人\", \"未签收\", \"待签收\", \"无签收人\", \"无人签收\", \"未填写\", \"null\", \"none\", \"na\"]\n";
    assert_eq!(
        read(&without(empty), "签收人：无"),
        status(Status::Delivered)
    );
    // A question says nothing; the same words as a statement do.
    assert_eq!(read(shipped, "已签收？请确认"), None);
    assert_eq!(read(shipped, "已签收?"), None);
    assert_eq!(read(shipped, "已签收，请确认"), status(Status::Delivered));
    // English: case-insensitive, whole words only.
    assert_eq!(read(shipped, "DELIVERED"), status(Status::Delivered));
    assert_eq!(
        read(shipped, "Your package was delivered."),
        status(Status::Delivered)
    );
    assert_eq!(read(shipped, "Undelivered"), None);
    assert_eq!(read(shipped, "Not  delivered"), None);
    // An English negation looks through yet, been, successfully, as 未被 does.
    assert_eq!(read(shipped, "Package has not yet been delivered"), None);
    assert_eq!(read(shipped, "Package wasn't delivered"), None);
    assert_eq!(
        read(shipped, "Package has been delivered"),
        status(Status::Delivered)
    );
    // English is read only as a whole line of the unambiguous forms: a delivery with a
    // damage beside it, a time to come, a hand-over to another carrier, a field saying no,
    // a negation behind an invisible character are not recognised (warned); delivered to
    // the sender is a return.
    for line in [
        "Delivered, package damaged",
        "Delivered by 8pm",
        "Delivered to customs",
        "Return delivered",
        "Delivered: No",
        "Not\u{200B} delivered",
        "\u{FF2E}\u{FF4F}\u{FF54} delivered",
        "Shipment picked up at the post office by courier",
    ] {
        assert_eq!(read(shipped, line), None, "{line}");
    }
    assert_eq!(
        read(shipped, "Delivered, Front Door"),
        status(Status::Delivered)
    );
    assert_eq!(
        read(shipped, "Consignee picked up"),
        status(Status::Delivered)
    );
    assert_eq!(
        read(shipped, "Delivered, To Original Sender"),
        status(Status::Returned)
    );
    assert_eq!(
        read(shipped, "Picked up by customer at Post Office"),
        status(Status::Delivered)
    );
    assert_eq!(
        read(shipped, "out for delivery"),
        status(Status::OutForDelivery)
    );
    assert_eq!(
        read(shipped, "Returned to Sender"),
        status(Status::Returned)
    );
    assert_eq!(
        read(shipped, "Return to sender in transit"),
        status(Status::Returning)
    );
}

/// The range of request times ends at 9996-12-31T23:59:59.999Z so that whatever a
/// decision counts from them fits in the year 9999 in any time zone: with every
/// threshold at its largest (366 days) and the policy at +14:00, times at the end of the
/// range are decided, every deadline shown with a four-digit year.
#[test]
fn the_largest_thresholds_from_the_end_of_the_range_stay_in_the_year_9999_at_plus_14() {
    let mut source = without_tests(EMBEDDED_SOURCE);
    for (from, to) in [
        (
            "time_zone = \"Asia/Shanghai\"",
            "time_zone = \"Pacific/Kiritimati\"",
        ),
        ("stall_after_hours = 72", "stall_after_hours = 8784"),
        (
            "intercept_window_hours = 48",
            "intercept_window_hours = 8784",
        ),
        (
            "return_countdown_hours = 24",
            "return_countdown_hours = 8784",
        ),
    ] {
        assert!(source.contains(from), "test fixture drifted: {from}");
        source = source.replacen(from, to, 1);
    }
    let rules = Rules::from_toml(&source, "largest.toml").unwrap_or_else(|e| panic!("{e}"));
    let last = "9996-12-31T23:59:59.999Z";
    let stalled = serde_json::json!({
        "refund_type": "refund_only",
        "requested_at": last,
        "as_of": last,
        "order": {"order_id": "1"},
        "destination": {"adcode": "330108"},
        "logistics_trace": [
            {"at": "2023-10-02T09:00:00+08:00", "status": "collected"},
            {"at": "9995-12-01T00:00:00Z", "status": "in_transit"}
        ]
    });
    // In transit since the end of the range: stalled after 366 days more.
    let moving = serde_json::json!({
        "refund_type": "refund_only",
        "requested_at": last,
        "as_of": last,
        "order": {"order_id": "1"},
        "destination": {"adcode": "330108"},
        "logistics_trace": [
            {"at": "2023-10-02T09:00:00+08:00", "status": "collected"},
            {"at": last, "status": "in_transit"}
        ]
    });
    let countdown = serde_json::json!({
        "refund_type": "return_and_refund",
        "requested_at": "2023-10-03T10:00:00+08:00",
        "as_of": last,
        "order": {"order_id": "1"},
        "destination": {"adcode": "330108"},
        "return": {
            "destination": {"adcode": "330110"},
            "trace": [{"at": last, "status": "in_transit"}],
            "countdown_started_at": last
        }
    });
    for (name, body, kind, due) in [
        (
            "stalled",
            &stalled,
            "intercept_and_refund_by",
            "9998-01-02T13:59:59.999+14:00",
        ),
        ("moving", &moving, "", "9998-01-02T13:59:59.999+14:00"),
        (
            "countdown",
            &countdown,
            "respond_by",
            "9998-01-02T13:59:59.999+14:00",
        ),
    ] {
        let body = serde_json::to_vec(body).unwrap_or_default();
        let v = aftersales::decide_json(&rules, &body, chrono::Utc::now(), Lang(1), "t".into())
            .map(|d| serde_json::to_value(d.view).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{name}: {:?}", e.errors));
        let text = v.to_string();
        assert!(!text.contains("10000-"), "{name}: {text}");
        if kind.is_empty() {
            assert_eq!(v["scenario"], "in_transit", "{name}: {text}");
            assert!(text.contains(due), "{name}: {text}");
            continue;
        }
        let deadlines = v["deadlines"].as_array().cloned().unwrap_or_default();
        let found = deadlines.iter().find(|d| d["kind"] == kind);
        assert_eq!(
            found.map(|d| d["due_at"].clone()),
            Some(serde_json::json!(due)),
            "{name}: {text}"
        );
    }
}

/// The co-host zone's control window line of the shipped file.
const CO_HOST_CONTROL: &str =
    "control = { from = 2023-09-16T00:00:00+08:00, until = 2023-10-09T00:00:00+08:00 }";

#[test]
fn a_window_end_outside_the_times_requests_accept_is_refused_naming_its_key() {
    // The last time requests accept loads, and a case in the zone is decided.
    let last = CO_HOST_CONTROL.replace("2023-10-09T00:00:00+08:00", "9996-12-31T23:59:59.999Z");
    let source = EMBEDDED_SOURCE.replacen(CO_HOST_CONTROL, &last, 1);
    let rules = Rules::from_toml(&source, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    let mut request = refund_only(
        "2023-10-02T10:00:00+08:00",
        "2023-10-02T11:00:00+08:00",
        &[],
    );
    request["destination"] = serde_json::json!({"adcode": "330302"});
    let v = crate::notices::decide_with(&rules, &request);
    assert_eq!(v["zone"]["id"], "co_host_venues", "{v}");
    assert_eq!(
        v["zone"]["control_until"], "9997-01-01T07:59:59.999+08:00",
        "{v}"
    );
    // After it (in any form), or before 1970: refused at its line, naming the key.
    for (end, key, shown) in [
        (
            "until = 9999-12-31T23:59:59Z",
            "until",
            "9999-12-31T23:59:59Z",
        ),
        (
            "until = 9997-01-01T00:00:00Z",
            "until",
            "9997-01-01T00:00:00Z",
        ),
        ("until = \"9999-12-31 24:00\"", "until", "9999-12-31 24:00"),
        ("until = \"9996-12-31 23:00\"", "until", "9996-12-31 23:00"),
    ] {
        let line = CO_HOST_CONTROL.replace("until = 2023-10-09T00:00:00+08:00", end);
        let (src, e) = broken(CO_HOST_CONTROL, &line);
        assert_eq!(e.errors.len(), 1, "{e}");
        let at = line_of(&src, &line);
        let message = format!(
            "test.toml:{at}:55: `{key}` of the control window of zone `co_host_venues`: {shown} is outside the times requests accept"
        );
        assert!(e.to_string().starts_with(&message), "{e}");
        assert!(e.to_string().contains("leave `until` out"), "{e}");
    }
    let early = CO_HOST_CONTROL.replace("2023-09-16T00:00:00+08:00", "\"1969-12-31 23:00\"");
    let (src, e) = broken(CO_HOST_CONTROL, &early);
    assert!(
        e.to_string().starts_with(&format!(
            "test.toml:{}:20: `from` of the control window of zone `co_host_venues`: 1969-12-31 23:00 is outside",
            line_of(&src, &early)
        )),
        "{e}"
    );
    // The impact period's end too.
    let (_, e) = broken(
        "until = 2023-10-29T00:00:00+08:00 }",
        "until = 9999-12-31T23:59:59Z }",
    );
    assert!(
        e.errors.iter().any(|x| x.message.starts_with(
            "`until` of the impact period of notice `hangzhou-2023-asian-games`: 9999-12-31T23:59:59Z is outside"
        )),
        "{e}"
    );
}

/// The shipped file with the Harbin fixture notice after it, in `time_zone`, its impact
/// period from `from` until `until`.
fn harbin_in(time_zone: &str, from: &str, until: &str) -> Result<Rules, RulesErrors> {
    let harbin = include_str!("../fixtures/rules/harbin-2025.toml")
        .replacen(
            "scope = \"zones\"\n",
            &format!("scope = \"zones\"\ntime_zone = \"{time_zone}\"\n"),
            1,
        )
        .replacen(
            "impact_period = { from = \"2025-02-01 00:00\", until = \"2025-02-15 24:00\" }",
            &format!("impact_period = {{ from = {from}, until = {until} }}"),
            1,
        );
    // Its phase and its tests are for Harbin's dates.
    let phase = "[[notice.phases]]\nid = \"asian_winter_games\"\nname.zh-CN = \"亚冬会\"\nname.en = \"Asian Winter Games\"\nfrom = \"2025-02-07 00:00\"\nuntil = \"2025-02-14 24:00\"\n";
    assert!(harbin.contains(phase), "test fixture drifted");
    let harbin = harbin.replacen(phase, "", 1);
    let harbin = harbin
        .split("[[test]]")
        .next()
        .unwrap_or_default()
        .to_owned();
    Rules::from_toml(&format!("{EMBEDDED_SOURCE}{harbin}"), "test.toml")
}

#[test]
fn a_local_time_a_clock_change_skips_or_repeats_is_refused_with_its_offsets() {
    let ny = "America/New_York";
    // Times that exist once, and ones with an offset, load.
    for (from, until) in [
        ("\"2025-03-09 01:30\"", "\"2025-11-02 02:30\""),
        ("\"2025-03-09 03:30\"", "2025-11-02T01:30:00-05:00"),
        ("2025-03-09T02:30:00-05:00", "\"2025-11-02T01:30:00-04:00\""),
    ] {
        if let Err(e) = harbin_in(ny, from, until) {
            panic!("{from} .. {until}: {e}");
        }
    }
    for (from, until) in [
        ("\"2025-03-09 02:30\"", "\"2025-11-02 01:30\""),
        ("2025-03-09T02:30:00", "2025-11-02T01:30:00"),
    ] {
        let e = match harbin_in(ny, from, until) {
            Ok(_) => panic!("accepted {from} .. {until}"),
            Err(e) => e,
        };
        assert_eq!(e.errors.len(), 2, "{e}");
        let what = "of the impact period of notice `harbin-2025-asian-winter-games`";
        let skipped = &e.errors[0];
        assert!(
            skipped
                .message
                .starts_with(&format!("`from` {what}: 2025-03-09")),
            "{e}"
        );
        assert!(
            skipped
                .message
                .contains("does not exist in America/New_York")
                && skipped.message.contains("from -05:00 to -04:00")
                && skipped.message.contains("2025-03-09T02:30:00-05:00"),
            "{e}"
        );
        let twice = &e.errors[1];
        assert_eq!(twice.line, skipped.line, "{e}");
        assert!(
            twice
                .message
                .starts_with(&format!("`until` {what}: 2025-11-02")),
            "{e}"
        );
        assert!(
            twice.message.contains("happens twice in America/New_York")
                && twice
                    .message
                    .contains("2025-11-02T01:30:00-04:00 for the first")
                && twice
                    .message
                    .contains("2025-11-02T01:30:00-05:00 for the second"),
            "{e}"
        );
    }
}

#[test]
fn a_time_zone_whose_offset_is_not_whole_minutes_from_1970_on_is_refused_naming_its_key() {
    // Liberia kept -00:44:30 until 1972-01-07: request times then would be shown in it
    // 30 s off (as_of 1971-06-02T09:15:30-00:45), so the zone is refused, whatever the
    // windows (it was refused only for a window end in those years).
    for (from, until) in [
        ("\"1971-06-01 00:00\"", "\"1972-06-01 00:00\""),
        ("\"1972-06-01 00:00\"", "\"1973-06-01 00:00\""),
    ] {
        let e = match harbin_in("Africa/Monrovia", from, until) {
            Ok(_) => panic!("accepted a zone at -00:44:30 in 1970"),
            Err(e) => e,
        };
        assert_eq!(e.errors.len(), 1, "{e}");
        assert!(
            e.errors[0].message.starts_with(
                "`time_zone` Africa/Monrovia is at -00:44:30 on 1970-01-01 (local mean time)"
            ),
            "{e}"
        );
        assert!(e.errors[0].line > 0, "{e}");
    }
    // The file's own time_zone too.
    let (src, e) = broken(
        "time_zone = \"Asia/Shanghai\"",
        "time_zone = \"Africa/Monrovia\"",
    );
    assert!(
        e.errors[0]
            .message
            .starts_with("`time_zone` Africa/Monrovia is at -00:44:30"),
        "{e}"
    );
    assert_eq!(
        e.errors[0].line,
        line_of(&src, "time_zone = \"Africa/Monrovia\""),
        "{e}"
    );
    // Zones whose local mean time ended before 1970 load (Shanghai's +08:05:43 ended in
    // 1901; Abidjan's -00:16:08 in 1912).
    for zone in ["Asia/Shanghai", "Africa/Abidjan", "America/New_York"] {
        if let Err(e) = harbin_in(zone, "\"1972-06-01 00:00\"", "\"1973-06-01 00:00\"") {
            panic!("{zone}: {e}");
        }
    }
}

#[test]
fn a_control_or_bidirectional_character_is_refused_in_every_text_and_in_version() {
    // The shipped file and the fixtures have none.
    Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    let line = "version = \"2023-hangzhou-1\"";
    for (written, named) in [
        ("\\n", "U+000A"),
        ("\\t", "U+0009"),
        ("\\u001b[2J", "U+001B"),
        ("\\u0085", "U+0085"),
        ("\\u202e", "U+202E"),
        ("\\u2069", "U+2069"),
    ] {
        for (from, to, message) in [
            (
                line.to_owned(),
                format!("version = \"2023{written}hangzhou-1\""),
                "`version`".to_owned(),
            ),
            (
                "en = \"Approve the refund to the buyer promptly.\"".to_owned(),
                format!("en = \"Approve the refund{written} to the buyer promptly.\""),
                "actions.approve_refund_now (en)".to_owned(),
            ),
            (
                "name.en = \"Asian Games\"".to_owned(),
                format!("name.en = \"Asian{written} Games\""),
                "phase name (en)".to_owned(),
            ),
            (
                "source = \"快手小店".to_owned(),
                format!("source = \"{written}快手小店"),
                "the `source` of notice `hangzhou-2023-asian-games`".to_owned(),
            ),
            (
                "name = \"3.1.1 not shipped: approve the refund\"".to_owned(),
                format!("name = \"3.1.1 not shipped{written}: approve the refund\""),
                "the name of test `3.1.1 not shipped".to_owned(),
            ),
        ] {
            let (src, e) = broken(&from, &to);
            assert_eq!(e.errors.len(), 1, "{to}: {e}");
            assert!(
                e.errors[0].message.starts_with(&message)
                    && e.errors[0].message.contains(&format!("holds {named}: a line break, a control character or a bidirectional control")),
                "{to}: {e}"
            );
            assert_eq!(e.errors[0].line, line_of(&src, &to), "{e}");
        }
    }
    // A warning's text too.
    let (_, e) = broken(
        "en = \"The request time {requested_at} is later than the decision time {as_of}.\"",
        "en = \"The request time {requested_at} is later than\\u202e the decision time {as_of}.\"",
    );
    assert!(
        e.errors[0]
            .message
            .starts_with("warnings.requested_after_as_of (en) holds U+202E"),
        "{e}"
    );
}

#[test]
fn a_warning_text_leaving_out_a_value_is_refused_by_name() {
    let text =
        "en = \"The carrier event {pointer} at {at} is later than the decision time {as_of}.\"";
    for (changed, named) in [
        (
            "en = \"A carrier event is later than the decision time.\"",
            "`{pointer}`, `{at}`, `{as_of}`: the warning would not say them",
        ),
        (
            "en = \"The carrier event {pointer} is later than the decision time {as_of}.\"",
            "`{at}`: the warning would not say it",
        ),
    ] {
        let (src, e) = broken(text, changed);
        assert_eq!(e.errors.len(), 1, "{e}");
        assert_eq!(
            e.errors[0].message,
            format!("warnings.event_after_as_of (en) leaves out {named}"),
            "{e}"
        );
        assert_eq!(e.errors[0].line, line_of(&src, changed), "{e}");
    }
    // Every value once, in another order, is fine.
    let reordered =
        "en = \"At {at}, later than the decision time {as_of}: the carrier event {pointer}.\"";
    let source = EMBEDDED_SOURCE.replacen(text, reordered, 1);
    Rules::from_toml(&source, "test.toml").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn an_invisible_character_is_refused_in_version_ids_sources_test_names_and_texts() {
    let line = "version = \"2023-hangzhou-1\"";
    for (written, named) in [
        ("\\u200b", "U+200B"),
        ("\\u200d", "U+200D"),
        ("\\u2060", "U+2060"),
        ("\\ufeff", "U+FEFF"),
        ("\\u00ad", "U+00AD"),
        ("\\U000e0041", "U+E0041"),
        ("\\u3164", "U+3164"),
        ("\\ufe0f", "U+FE0F"),
    ] {
        for (from, to, message) in [
            (
                line.to_owned(),
                format!("version = \"2023-hangzhou-1{written}\""),
                "`version`".to_owned(),
            ),
            (
                "source = \"快手小店".to_owned(),
                format!("source = \"{written}快手小店"),
                "the `source` of notice `hangzhou-2023-asian-games`".to_owned(),
            ),
            (
                "name = \"3.1.1 not shipped: approve the refund\"".to_owned(),
                format!("name = \"3.1.1 not shipped{written}: approve the refund\""),
                "the name of test `3.1.1 not shipped".to_owned(),
            ),
            // In a text, at its start or after a space: no emoji's part.
            (
                "name.en = \"Asian Games\"".to_owned(),
                format!("name.en = \"Asian {written}Games\""),
                "phase name (en)".to_owned(),
            ),
            (
                "delivered = { zh-CN = \"签收\", en = \"delivered\" }".to_owned(),
                format!("delivered = {{ zh-CN = \"签收\", en = \"{written}delivered\" }}"),
                "labels.delivered (en)".to_owned(),
            ),
        ] {
            let (src, e) = broken(&from, &to);
            assert_eq!(e.errors.len(), 1, "{to}: {e}");
            assert!(
                e.errors[0].message.starts_with(&message)
                    && e.errors[0]
                        .message
                        .contains(&format!("holds {named}: an invisible character")),
                "{to}: {e}"
            );
            assert_eq!(e.errors[0].line, line_of(&src, &to), "{e}");
        }
    }
    // A text of nothing visible is empty.
    for only in ["\\u200b", "\\u00ad", "\\ufeff", " \\u200d "] {
        let (_, e) = broken(
            "delivered = { zh-CN = \"签收\", en = \"delivered\" }",
            &format!("delivered = {{ zh-CN = \"签收\", en = \"{only}\" }}"),
        );
        assert_eq!(e.errors.len(), 1, "{only}: {e}");
        assert!(e.errors[0].message.contains("is empty"), "{only}: {e}");
    }
    let (_, e) = broken(line, "version = \"\\u200b\"");
    assert!(
        e.errors[0]
            .message
            .starts_with("`version` must not be empty"),
        "{e}"
    );
    // A version beginning or ending with a space looks like the one without.
    for spaced in [
        "\"2023-hangzhou-1 \"",
        "\"2023-hangzhou-1\\u00a0\"",
        "\" 2023-hangzhou-1\"",
    ] {
        let (_, e) = broken(line, &format!("version = {spaced}"));
        assert_eq!(e.errors.len(), 1, "{spaced}: {e}");
        assert!(
            e.errors[0].message.contains("begins or ends with a space"),
            "{spaced}: {e}"
        );
    }
    // An emoji's joiner and presentation selector after a visible character load
    // (👩‍💻, ⚠️), as does a space inside the version.
    for (from, to) in [
        (
            "delivered = { zh-CN = \"签收\", en = \"delivered\" }",
            "delivered = { zh-CN = \"签收\", en = \"delivered \\u26a0\\ufe0f \\U0001f469\\u200d\\U0001f4bb\" }",
        ),
        (line, "version = \"2023 hangzhou 1\""),
    ] {
        let source = EMBEDDED_SOURCE.replacen(from, to, 1);
        assert_ne!(source, EMBEDDED_SOURCE);
        Rules::from_toml(&source, "test.toml").unwrap_or_else(|e| panic!("{to}: {e}"));
    }
}
