//! Properties over arbitrary well-formed cases: nothing panics, every text is filled,
//! and deadlines agree with their inputs.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{at, decide, rules};

const STATUSES: [&str; 12] = [
    "collected",
    "in_transit",
    "security_check",
    "out_for_delivery",
    "delivered",
    "rejected",
    "returning",
    "returned",
    "exception",
    "intercept_requested",
    "intercepted",
    "intercept_failed",
];
const ADCODES: [&str; 8] = [
    "330102", "330104", "330702", "330225", "320106", "110105", "330199", "999999",
];

/// Instants from August to December 2023, in seconds since the 2023 impact period began.
fn instant() -> impl Strategy<Value = i64> {
    -30 * 86_400i64..100 * 86_400
}

fn time(offset: i64) -> Value {
    json!(at("2023-09-11T00:00:00+08:00").timestamp_millis() + offset * 1000)
}

prop_compose! {
    fn event()(t in instant(), s in 0..STATUSES.len()) -> Value {
        json!({"at": time(t), "status": STATUSES[s]})
    }
}

prop_compose! {
    fn case()(
        refund_only in any::<bool>(),
        requested in instant(),
        as_of in instant(),
        shipped in proptest::option::of(instant()),
        dest in 0..ADCODES.len(),
        ret_dest in proptest::option::of(0..ADCODES.len()),
        trace in proptest::collection::vec(event(), 0..6),
        countdown in proptest::option::of(instant()),
        countdown_end in proptest::option::of(0i64..200_000),
        open in proptest::option::of(0u64..200),
    ) -> Value {
        let mut r = json!({
            "refund_type": if refund_only { "refund_only" } else { "return_and_refund" },
            "requested_at": time(requested),
            "as_of": time(as_of),
            "order": {"order_id": "P", "shipped_at": shipped.map(time)},
            "destination": {"adcode": ADCODES[dest]},
            "logistics_trace": trace.clone(),
            "shop": {"open_refund_requests": open},
        });
        if !refund_only {
            r["return"] = json!({
                "destination": ret_dest.map(|d| json!({"adcode": ADCODES[d]})),
                "trace": trace,
                "countdown_started_at": countdown.map(time),
                "countdown_ends_at": countdown.zip(countdown_end).map(|(c, e)| time(c + 1 + e)),
            });
        }
        r
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_well_formed_case_gets_a_complete_decision(r in case()) {
        for lang in ["zh-CN", "en"] {
            let v = crate::helpers::decide_in(&r, lang);
            prop_assert!(v["scenario"].is_string() && v["decision"].is_string());
            prop_assert!(!v["actions"].as_array().is_none_or(Vec::is_empty), "no actions");
            for list in ["actions", "explanation", "warnings"] {
                for item in v[list].as_array().into_iter().flatten() {
                    let text = item["text"].as_str().or(item["detail"].as_str()).or(item["message"].as_str()).unwrap_or("");
                    prop_assert!(!text.is_empty() && !text.contains('{'), "{list}: unfilled text {text:?}");
                }
            }
        }
    }

    #[test]
    fn deadlines_are_consistent_with_their_inputs(r in case()) {
        let v = decide(&r);
        let as_of = at(v["as_of"].as_str().unwrap_or_default());
        if v["applies"] == false || v["decision"] == "standard_process" && v["scenario"] != "delivered" {
            prop_assert_eq!(v["deadlines"].as_array().map(Vec::len), Some(0));
        }
        for d in v["deadlines"].as_array().into_iter().flatten() {
            let due = at(d["due_at"].as_str().unwrap_or_default());
            let remaining = d["remaining_seconds"].as_i64().unwrap_or_default();
            prop_assert_eq!(remaining, (due - as_of).num_seconds());
            prop_assert_eq!(d["overdue"].as_bool(), Some(due < as_of));
            if d["kind"] == "intercept_and_refund_by" {
                let requested = at(&serde_json::from_value::<i64>(r["requested_at"].clone()).map(|ms| {
                    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339()
                }).unwrap_or_default());
                let window = rules().notices[0].thresholds.intercept_window;
                prop_assert!(due >= requested + window, "the 48 h never start before the request");
            }
        }
        let stalled = v["scenario"] == "stalled";
        let in_transit = v["scenario"] == "in_transit";
        prop_assert_eq!(stalled && v["applies"] == true, v["deadlines"].as_array().into_iter().flatten().any(|d| d["kind"] == "intercept_and_refund_by"));
        prop_assert_eq!(in_transit && v["applies"] == true, v["deadlines"].as_array().into_iter().flatten().any(|d| d["kind"] == "stalled_after"));
    }

    #[test]
    fn mangled_bodies_are_refused_or_decided_without_panicking(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<bool>()), 1..6)) {
        let mut body = crate::helpers::bytes(&crate::helpers::refund_only(
            "2023-10-11T09:00:00+08:00",
            "2023-10-14T09:00:00+08:00",
            &[("2023-10-10T14:00:00+08:00", "in_transit")],
        ));
        for (at, byte, insert) in edits {
            let i = at % body.len();
            if insert { body.insert(i, byte) } else { body[i] = byte }
        }
        if let Err(e) = aftersales::decide_json(rules(), &body, chrono::Utc::now(), Default::default(), "x".into()) {
            prop_assert!(!e.errors.is_empty() && e.errors.iter().all(|e| !e.message.is_empty()));
        }
    }

    #[test]
    fn arbitrary_json_is_refused_or_decided_without_panicking(v in arbitrary_json()) {
        let body = crate::helpers::bytes(&v);
        let _ = aftersales::decide_json(rules(), &body, chrono::Utc::now(), Default::default(), "x".into());
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z_0-9:+ -]{0,24}".prop_map(Value::from),
        Just(json!("2023-10-01T10:00:00+08:00")),
        Just(json!("refund_only")),
        Just(json!("return_and_refund")),
        Just(json!("330102")),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let keys = prop_oneof![
            Just("refund_type".to_owned()),
            Just("requested_at".to_owned()),
            Just("as_of".to_owned()),
            Just("order".to_owned()),
            Just("order_id".to_owned()),
            Just("destination".to_owned()),
            Just("adcode".to_owned()),
            Just("address".to_owned()),
            Just("logistics_trace".to_owned()),
            Just("at".to_owned()),
            Just("status".to_owned()),
            Just("return".to_owned()),
            Just("trace".to_owned()),
            Just("countdown_started_at".to_owned()),
            Just("shop".to_owned()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The OpenAPI schema's time pattern and the parser accept the same strings, so
/// schemathesis's positive and negative data agree with the server.
mod time_pattern {
    use proptest::prelude::*;

    fn pattern() -> regex::Regex {
        regex::Regex::new(aftersales::time::TIME_PATTERN).unwrap_or_else(|e| panic!("{e}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_string_the_pattern_generates_parses(s in aftersales::time::TIME_PATTERN.trim_start_matches('^').trim_end_matches('$')) {
            prop_assert!(aftersales::time::parse(&s, chrono_tz::Asia::Shanghai).is_ok(), "{s}");
        }

        #[test]
        fn whatever_parses_matches_the_pattern(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T t][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,10})?)?(Z|z|[+-][0-9]{2}:[0-9]{2})?") {
            let parsed = aftersales::time::parse(&s, chrono_tz::Asia::Shanghai).is_ok();
            prop_assert_eq!(parsed, pattern().is_match(&s), "{}", s);
        }
    }
}

/// At the ends of the accepted range (1970-01-01 and 9996-12-31, only in UTC), the
/// pattern and the parser agree too; around the old end (9999-12-30) both refuse.
mod time_range {
    use proptest::prelude::*;

    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(aftersales::time::TIME_PATTERN).unwrap_or_else(|e| panic!("{e}"))
    });

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn near_the_ends_of_the_range_the_pattern_and_the_parser_agree(s in "(1969|1970|1971|9995|9996|9997|9998|9999|0000)-(01|02|12)-(01|02|28|29|30|31)[Tt ](00|07|08|15|16|23):(00|59)(:59(\\.999)?)?(Z|z|[+-](00|08|14|23):(00|59))?") {
            let parsed = aftersales::time::parse(&s, chrono_tz::Asia::Shanghai);
            prop_assert_eq!(parsed.is_ok(), PATTERN.is_match(&s), "{}: {:?}", s, parsed);
            if let Ok(t) = parsed {
                let first = chrono::DateTime::from_timestamp_millis(0).unwrap_or_default();
                let last = chrono::DateTime::from_timestamp_millis(aftersales::time::EPOCH_MS_MAX).unwrap_or_default();
                prop_assert!(t >= first && t < last + chrono::Duration::milliseconds(1), "{}", s);
            }
        }
    }
}

/// Every pasted trace of the plain form (a time, then text, on each line) is read: the
/// pattern leaves out texts starting with what the parser reads or refuses as part of
/// the time (`Z字楼` is read, `Z 快件` is UTC, `+10 快件` refused).
mod trace_text_pattern {
    use proptest::prelude::*;
    use serde_json::json;

    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(aftersales::request::TRACE_TEXT_PATTERN).unwrap_or_else(|e| panic!("{e}"))
    });

    /// Whether the stalled case with this trace text is decided: `Err` with the messages
    /// when not, refused only ever at the text. Every text the pattern admits is decided,
    /// even at the end of the range: nothing counted from it passes the year 9999.
    fn read(text: &str) -> Result<(), Vec<String>> {
        let body = json!({
            "refund_type": "refund_only",
            "requested_at": "2023-10-11T09:00:00+08:00",
            "as_of": "2023-10-14T09:00:00+08:00",
            "order": {"order_id": "KS-1003"},
            "destination": {"adcode": "330102"},
            "logistics_text": text,
        });
        match aftersales::decide_json(
            crate::helpers::rules(),
            &crate::helpers::bytes(&body),
            chrono::Utc::now(),
            Default::default(),
            String::new(),
        ) {
            Ok(_) => Ok(()),
            Err(e) => {
                assert!(
                    e.errors.iter().all(|e| e.pointer == "/logistics_text"),
                    "{:?}",
                    e.errors
                );
                Err(e.errors.into_iter().map(|e| e.message).collect())
            }
        }
    }

    fn line() -> impl Strategy<Value = String> {
        "[ \t\u{a0}\u{feff}]{0,2}((1970|2023|9996|9997|9999)-(0[1-9]|1[0-3])-(0[1-9]|[23][0-9])|10-10)?[ \t\u{3000}\u{200b}T]{0,2}(([01][0-9]|2[0-5]):[0-5][0-9](:[0-6][0-9])?)?[ \t]{0,2}(【杭州市】快件已到达|已揽收|x|:00|Z字楼|Z|z|UTC|GMT大厦|-10月|-08号柜|\\+10|\\+08:00|-11:00|下午|星期二|\\(UTC\\)|Items|AM|北京时间|~11:00)?[ \t]{0,1}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn every_text_the_pattern_generates_is_read(s in aftersales::request::TRACE_TEXT_PATTERN.trim_start_matches('^').trim_end_matches('$')) {
            let read = read(&s);
            prop_assert!(read.is_ok(), "{:?}: {:?}", s, read);
        }

        /// The parser reads more than the plain form (other separators, offsets, two-line
        /// events): whatever the pattern matches is read, and anything else is read or
        /// refused at the text, never a panic or an error elsewhere (see `read`).
        #[test]
        fn whatever_the_pattern_matches_is_read(lines in proptest::collection::vec((line(), prop_oneof![Just("\n"), Just("\r\n"), Just("\r"), Just("\n\n"), Just("\u{2028}"), Just("\u{85}")]), 1..4)) {
            let text: String = lines.iter().flat_map(|(l, end)| [l.as_str(), end]).collect();
            let read = read(&text);
            prop_assert!(read.is_ok() || !PATTERN.is_match(&text), "{:?}: {:?}", text, read);
        }
    }
}
