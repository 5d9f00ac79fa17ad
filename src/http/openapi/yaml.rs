//! YAML for the OpenAPI document, written so that every reader gets the same data back:
//! YAML 1.1 readers (PyYAML, which schemathesis uses) as well as YAML 1.2 ones. A string
//! is written plain only when no reader can take it for anything else (a timestamp, a
//! number, `yes`, `null`, an indicator); otherwise it is double-quoted. Keys keep the
//! document's order; texts with line breaks become literal blocks.

use std::fmt::Write;

use yaml_serde::{Mapping, Value};

/// The value as a block-style YAML document.
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Mapping(m) if !m.is_empty() => mapping(m, 0, false, &mut out),
        Value::Sequence(s) if !s.is_empty() => sequence(s, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// `inline_first`: the first key goes on the current line (after a sequence's `- `).
fn mapping(m: &Mapping, indent: usize, inline_first: bool, out: &mut String) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !inline_first {
            pad(out, indent);
        }
        out.push_str(&scalar(k));
        out.push(':');
        value(v, indent, out);
    }
}

fn sequence(s: &[Value], indent: usize, out: &mut String) {
    for v in s {
        pad(out, indent);
        out.push('-');
        match v {
            Value::Mapping(m) if !m.is_empty() => {
                out.push(' ');
                mapping(m, indent + 2, true, out);
            }
            other => value(other, indent, out),
        }
    }
}

/// What follows `key:` or `-`, at the indentation of that key or dash.
fn value(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Tagged(t) => value(&t.value, indent, out),
        Value::Mapping(m) if !m.is_empty() => {
            out.push('\n');
            mapping(m, indent + 2, false, out);
        }
        Value::Sequence(s) if !s.is_empty() => {
            out.push('\n');
            // A sequence under a key may sit at the key's indentation; under a dash it
            // must go deeper.
            sequence(s, indent + 2, out);
        }
        Value::String(s) if literal_ok(s) => {
            out.push_str(" |-\n");
            for line in s.split('\n') {
                if !line.is_empty() {
                    pad(out, indent + 2);
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if plain_ok(s) => s.clone(),
        Value::String(s) => quoted(s),
        Value::Sequence(s) if s.is_empty() => "[]".into(),
        Value::Mapping(m) if m.is_empty() => "{}".into(),
        Value::Tagged(t) => scalar(&t.value),
        // Only keys reach here with a collection, and the document has none.
        Value::Sequence(_) | Value::Mapping(_) => quoted(""),
    }
}

/// Characters YAML either forbids in a document or reads as a line break somewhere
/// (NEL and the Unicode separators in YAML 1.1), and the byte-order mark.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A plain scalar every reader takes as this very string, in a key or a value.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // Starting with a letter (or `/`, `$`, `_`) rules out every indicator, number,
    // timestamp, `.inf` and `~`; what is left to exclude are the words YAML 1.1 reads
    // as booleans or null.
    let starts_well = first.is_alphabetic() || matches!(first, '/' | '$' | '_');
    let reserved = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
        .iter()
        .any(|w| s.eq_ignore_ascii_case(w));
    starts_well
        && !reserved
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.chars().any(|c| unsafe_char(c) || c == '\n' || c == '\t')
}

/// Several lines, nothing a literal block would change or that needs an escape.
fn literal_ok(s: &str) -> bool {
    let first_text = s.split('\n').find(|l| !l.is_empty()).unwrap_or("");
    s.contains('\n')
        && !s.ends_with('\n')
        && !first_text.starts_with([' ', '\t'])
        && !s.split('\n').any(|l| !l.is_empty() && l.trim().is_empty())
        && !s.chars().any(unsafe_char)
}

/// A double-quoted scalar; escapes are the ones YAML 1.1 and 1.2 share.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: &serde_json::Value) {
        let y = to_string(&yaml_serde::to_value(v).unwrap_or(Value::Null));
        let back: serde_json::Value =
            yaml_serde::from_str(&y).unwrap_or_else(|e| panic!("{e}:\n{y}"));
        assert_eq!(&back, v, "{y}");
    }

    #[test]
    fn strings_that_look_like_something_else_are_quoted() {
        for s in [
            "2023-10-14T09:00:00+08:00",
            "2023-10-11 09:00:00",
            "2023-10-11",
            "1:20",
            "0x1f",
            "yes",
            "No",
            "ON",
            "null",
            "~",
            "200",
            "1e3",
            ".inf",
            "- item",
            "#/components/schemas/Problem",
            "*alias",
            "&anchor",
            "!tag",
            "key: value",
            "a # not a comment",
            "ends with colon:",
            "",
            " leading space",
            "=",
            "<<",
            "'quoted'",
            "\"quoted\"",
        ] {
            assert!(!plain_ok(s), "{s:?} must be quoted");
            round_trip(&serde_json::json!({ s: s, "list": [s] }));
        }
    }

    #[test]
    fn ordinary_words_paths_and_chinese_stay_plain() {
        for s in [
            "application/problem+json",
            "/v1/decisions",
            "$ref",
            "stalled_after",
            "杭州市上城区",
            "The policy's time zone, e.g. Asia/Shanghai.",
        ] {
            assert!(plain_ok(s), "{s:?} can be plain");
        }
    }

    #[test]
    fn every_shape_reads_back_as_written() {
        round_trip(&serde_json::json!({
            "openapi": "3.1.0",
            "empty": {}, "none": [], "nothing": null, "yes": true, "n": 1.5, "big": u64::MAX,
            "text": "line one\n\n- `a`: item\n  indented",
            "trailing": "ends with a break\n",
            "control": "bell \u{7} nel \u{85} ls \u{2028} tab\tend",
            "nested": [[1, [2, {}]], [], {"a": [{"b": {"c": ["d", {"e": "f\ng"}]}}]}],
            "seq of maps": [{"x": 1, "y": {"z": [1, 2]}}, {"only": "one"}],
        }));
    }

    proptest::proptest! {
        #[test]
        fn any_string_reads_back_as_written(key in "\\PC*|[\\x00-\\x7f]*", value in proptest::prelude::any::<String>()) {
            round_trip(&serde_json::json!({ key.clone(): value.clone(), "list": [&key, &value, {"k": value}] }));
        }
    }

    #[test]
    fn keys_keep_their_order() {
        let mut m = Mapping::new();
        for k in ["openapi", "info", "servers", "paths", "components"] {
            m.insert(Value::String(k.into()), Value::Null);
        }
        let y = to_string(&Value::Mapping(m));
        assert_eq!(
            y,
            "openapi: null\ninfo: null\nservers: null\npaths: null\ncomponents: null\n"
        );
    }
}
