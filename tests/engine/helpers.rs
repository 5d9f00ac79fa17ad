//! Building requests and deciding them.

use std::sync::OnceLock;

use aftersales::rules::{Lang, Rules};
use aftersales::time::Instant;
use serde_json::{Value, json};

pub fn rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| match Rules::embedded() {
        Ok(r) => r,
        Err(e) => panic!("embedded rules fail to load: {e}"),
    })
}

pub fn at(s: &str) -> Instant {
    match aftersales::time::parse(s, chrono_tz::Asia::Shanghai) {
        Ok(t) => t,
        Err(e) => panic!("bad test time {s}: {e}"),
    }
}

/// Decides a request, or fails the test with the request's errors.
pub fn decide(request: &Value) -> Value {
    decide_in(request, "en")
}

pub fn decide_in(request: &Value, lang: &str) -> Value {
    decide_bytes(&bytes(request), lang)
}

/// A request's JSON text, as a caller sends it.
pub fn bytes(request: &Value) -> Vec<u8> {
    serde_json::to_vec(request).unwrap_or_else(|e| panic!("{e}"))
}

/// Decides a body, or fails the test with its errors.
pub fn decide_bytes(body: &[u8], lang: &str) -> Value {
    let lang = rules().language(lang).unwrap_or(Lang(0));
    match aftersales::decide_json(
        rules(),
        body,
        at("2000-01-01T00:00:00Z"),
        lang,
        "test".into(),
    ) {
        Ok(d) => match serde_json::to_value(&d.view) {
            Ok(v) => v,
            Err(e) => panic!("view does not serialize: {e}"),
        },
        Err(e) => panic!(
            "request refused: {:?}\n{}",
            e.errors,
            String::from_utf8_lossy(body)
        ),
    }
}

/// The pointers of a refused request's errors.
pub fn refused(request: &Value) -> Vec<String> {
    refusal(&bytes(request))
        .errors
        .into_iter()
        .map(|e| e.pointer)
        .collect()
}

/// Why a body is refused; fails the test when it is decided.
pub fn refusal(body: &[u8]) -> aftersales::RequestError {
    match aftersales::decide_json(
        rules(),
        body,
        at("2000-01-01T00:00:00Z"),
        Lang(0),
        "test".into(),
    ) {
        Ok(d) => panic!(
            "request accepted: {:?}\n{}",
            d.view.scenario,
            String::from_utf8_lossy(body)
        ),
        Err(e) => e,
    }
}

/// A refund-only request to Hangzhou 上城区; `trace` is `[(time, status)]`.
pub fn refund_only(requested_at: &str, as_of: &str, trace: &[(&str, &str)]) -> Value {
    json!({
        "case_id": "T-1",
        "refund_type": "refund_only",
        "requested_at": requested_at,
        "as_of": as_of,
        "order": {"order_id": "O-1"},
        "destination": {"adcode": "330102"},
        "logistics_trace": events(trace),
    })
}

/// A return-and-refund request whose return goes to Hangzhou 余杭区.
pub fn return_and_refund(
    as_of: &str,
    trace: &[(&str, &str)],
    countdown_started_at: Option<&str>,
) -> Value {
    json!({
        "refund_type": "return_and_refund",
        "requested_at": "2023-10-03T10:00:00+08:00",
        "as_of": as_of,
        "order": {"order_id": "O-2"},
        "destination": {"address": "江苏省南京市鼓楼区中山路1号"},
        "return": {
            "destination": {"adcode": "330110"},
            "trace": events(trace),
            "countdown_started_at": countdown_started_at,
        },
    })
}

pub fn events(trace: &[(&str, &str)]) -> Value {
    Value::Array(
        trace
            .iter()
            .map(|(at, status)| json!({"at": at, "status": status}))
            .collect(),
    )
}

pub fn deadline(v: &Value, kind: &str) -> Option<Value> {
    v["deadlines"]
        .as_array()?
        .iter()
        .find(|d| d["kind"] == kind)
        .cloned()
}

pub fn codes(v: &Value, list: &str) -> Vec<String> {
    v[list]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["code"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}
