//! Every file in tests/fixtures/examples (copied from shared/examples): request in,
//! expected fields out.

use serde_json::Value;

use crate::helpers::{deadline, decide, refused};

fn examples() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/examples");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
        .collect()
}

#[test]
fn every_shared_example_decides_as_expected() {
    let all = examples();
    assert!(all.len() >= 8, "examples missing: found {}", all.len());
    for (name, ex) in all {
        let request = &ex["request"];
        if let Some(err) = ex.get("expect_error") {
            let pointers = refused(request);
            assert!(
                pointers.iter().any(|p| p == &err["pointer"]),
                "{name}: expected an error at {}, got {pointers:?}",
                err["pointer"]
            );
            continue;
        }
        let expect = &ex["expect"];
        let got = decide(request);
        for key in ["applies", "scenario", "decision"] {
            if let Some(want) = expect.get(key) {
                assert_eq!(&got[key], want, "{name}: {key}");
            }
        }
        if let Some(want) = expect.get("zone_controlled") {
            assert_eq!(&got["zone"]["controlled"], want, "{name}: zone.controlled");
        }
        if let Some(want) = expect.get("phase") {
            assert_eq!(&got["event"]["phase"], want, "{name}: phase");
        }
        for (kind, due) in expect
            .get("deadlines")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let d = deadline(&got, kind).unwrap_or_else(|| panic!("{name}: no {kind} deadline"));
            assert_eq!(&d["due_at"], due, "{name}: {kind}");
        }
        for (kind, secs) in expect
            .get("remaining")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let d = deadline(&got, kind).unwrap_or_else(|| panic!("{name}: no {kind} deadline"));
            assert_eq!(&d["remaining_seconds"], secs, "{name}: {kind} remaining");
        }
        if let Some(want) = expect.get("evidence") {
            let got_evidence: Vec<&Value> = got["evidence"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| &e["one_of"])
                .collect();
            let want: Vec<&Value> = want.as_array().into_iter().flatten().collect();
            assert_eq!(got_evidence, want, "{name}: evidence");
        }
    }
}
