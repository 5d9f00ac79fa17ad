//! A decision written straight to JSON bytes, its texts rendered into the same buffer:
//! what `serde_json::to_vec(&DecisionView)` gives, byte for byte (a test holds them
//! together), without building the view's strings first. The served path's costs were
//! the view's allocations and serde's escaping loop over two kilobytes of text, one byte
//! at a time; here text is copied eight bytes at a time, and nothing is allocated but
//! the buffer.

use crate::codes::{Action, Finding};
use crate::engine::Decision;
use crate::rules::{ControlZone, DisruptionNotice, Lang, Rules};

use super::{Renderer, Sink, View, times::Rfc3339};

/// Appends `text` as the inside of a JSON string, escaped exactly as serde_json does:
/// `"` and `\` with a backslash, `\b \t \n \f \r` by name, other control characters as
/// `\u00XX`; everything else (DEL and all of Unicode included) as it is.
pub fn escape_into(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    // Mostly nothing to escape: one look and one copy, with no loop to set up.
    match next_escape(bytes, 0) {
        None => out.extend_from_slice(bytes),
        Some(at) => escape_from(out, bytes, at),
    }
}

/// [`escape_into`] for `bytes` with something to escape at `at`.
#[inline(never)]
fn escape_from(out: &mut Vec<u8>, bytes: &[u8], first: usize) {
    let (mut start, mut next) = (0, Some(first));
    while let Some(at) = next {
        out.extend_from_slice(&bytes[start..at]);
        let b = bytes[at];
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        start = at + 1;
        next = next_escape(bytes, start);
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The first byte at or after `from` that JSON escapes: `"`, `\\` or below 0x20. Eight
/// bytes per step; the few left at the end are checked in the last eight bytes (some
/// again: they had none), or, in a string shorter than eight, padded with spaces (which
/// need no escape), so that the end or a short string (a case id) is one step too.
#[inline(always)]
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let mut words = rest.chunks_exact(8);
    let mut at = from;
    for word in words.by_ref() {
        if let Some(i) = first_escape(u64::from_le_bytes(word.try_into().unwrap_or([0; 8]))) {
            return Some(at + i);
        }
        at += 8;
    }
    let tail = words.remainder();
    if tail.is_empty() {
        return None;
    }
    let (last, starts) = match rest.last_chunk::<8>() {
        Some(last) => (*last, from + rest.len() - 8),
        None => {
            let mut last = [b' '; 8];
            last[..tail.len()].copy_from_slice(tail);
            (last, at)
        }
    };
    first_escape(u64::from_le_bytes(last)).map(|i| starts + i)
}

/// Which of the eight bytes of `x` (little-endian: the first is the lowest) comes first
/// among those JSON escapes. In a word `x`, `(x - 0x0101..) & !x & 0x8080..` has the top
/// bit of each byte that is zero set, and none below the first of them (a borrow only
/// runs upwards from a zero byte); xor-ing with the quote and the backslash finds them,
/// and subtracting 0x20 instead of 0x01 finds the control characters. Bytes of 0x80 and
/// above (all of UTF-8's multi-byte characters) never match: `!x` clears their top bit.
#[inline(always)]
fn first_escape(x: u64) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTE: u64 = ONES * b'"' as u64;
    const BACKSLASH: u64 = ONES * b'\\' as u64;
    let (q, b) = (x ^ QUOTE, x ^ BACKSLASH);
    // `!x` stands for `!q` and `!b` too: their top bits are x's.
    let hits =
        (x.wrapping_sub(ONES * 0x20) | q.wrapping_sub(ONES) | b.wrapping_sub(ONES)) & !x & HIGH;
    (hits != 0).then(|| hits.trailing_zeros() as usize / 8)
}

/// Compact JSON (as written here or by serde_json) indented as
/// `serde_json::to_vec_pretty` indents it: two spaces a level, `"key": value`, `[]` and
/// `{}` when empty.
pub fn pretty(compact: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(compact.len() + compact.len() / 2);
    let mut depth = 0usize;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 2));
    };
    let (mut in_string, mut escaped) = (false, false);
    let mut bytes = compact.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                out.push(b);
                let close = if b == b'{' { b'}' } else { b']' };
                if bytes.peek() == Some(&close) {
                    bytes.next();
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
    }
    out
}

/// Text appended into a JSON string (the caller writes the quotes).
pub struct JsonText<'a>(pub &'a mut Vec<u8>);

impl Sink for JsonText<'_> {
    fn push(&mut self, text: &str) {
        escape_into(self.0, text);
    }

    fn push_unescaped(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    #[inline(always)]
    fn push_time(&mut self, t: &Rfc3339) {
        t.append_to(self.0);
    }
}

/// A field's name as written after another field: `,"name":`, one piece (see
/// [`Object::key`], which leaves out the comma for the first).
macro_rules! key {
    ($name:literal) => {
        concat!(",\"", $name, "\":")
    };
}

/// A JSON object written field by field, its keys plain (no escaping needed). Its
/// writers are inlined: a key's length is then a constant at each field, and copying it
/// a few moves rather than a call.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    fn begin(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, first: true }
    }

    /// An object begun with the fields that loading wrote into `written` (see
    /// [`NoticeJson`]), copied; without them, begun and written by `head`, the writer
    /// that wrote them.
    fn begin_with(
        out: &'a mut Vec<u8>,
        written: Option<&[u8]>,
        head: impl FnOnce(&mut Object),
    ) -> Object<'a> {
        match written {
            Some(written) => {
                out.extend_from_slice(written);
                Object { out, first: false }
            }
            None => {
                let mut o = Object::begin(out);
                head(&mut o);
                o
            }
        }
    }

    /// Ends the object with the fields (and the `}`) that loading wrote into `written`,
    /// copied; without them, with those that `tail` writes.
    fn end_with(self, written: Option<&[u8]>, tail: impl FnOnce(Object)) {
        match written {
            Some(written) => self.out.extend_from_slice(written),
            None => tail(self),
        }
    }

    /// Starts a field, `key` written by [`key!`] (without its comma for the first
    /// field), returning the buffer for its value. One copy, of a length known where
    /// the field is written.
    #[inline(always)]
    fn key(&mut self, key: &'static str) -> &mut Vec<u8> {
        let key = key.as_bytes();
        debug_assert!(key.starts_with(b",\""), "a key made by key!: {key:?}");
        if std::mem::take(&mut self.first) {
            self.out.extend_from_slice(&key[1..]);
        } else {
            self.out.extend_from_slice(key);
        }
        self.out
    }

    #[inline(always)]
    fn str(&mut self, key: &'static str, value: &str) {
        string(self.key(key), value);
    }

    /// A code's wire name (letters, digits and `_`: nothing to escape).
    #[inline(always)]
    fn code(&mut self, key: &'static str, code: &'static str) {
        unescaped(self.key(key), code);
    }

    /// An id or a section number of the rules: loading refuses any with a character
    /// to escape (ids are lowercase letters, digits, `_` and `-`; sections, digits and
    /// dots).
    #[inline(always)]
    fn id(&mut self, key: &'static str, id: &str) {
        unescaped(self.key(key), id);
    }

    #[inline(always)]
    fn opt_str(&mut self, key: &'static str, value: Option<&str>) {
        match value {
            Some(v) => self.str(key, v),
            None => self.key(key).extend_from_slice(b"null"),
        }
    }

    #[inline(always)]
    fn bool(&mut self, key: &'static str, value: bool) {
        let v: &[u8] = if value { b"true" } else { b"false" };
        self.key(key).extend_from_slice(v);
    }

    #[inline(always)]
    fn time(&mut self, key: &'static str, t: &Rfc3339) {
        // Digits and punctuation: nothing to escape.
        let out = self.key(key);
        out.push(b'"');
        t.append_to(out);
        out.push(b'"');
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

/// `text` as a JSON string, known to hold nothing to escape: a code's wire name (every
/// one is a fixed lowercase identifier, see `codes.rs`; the test against serde's output
/// covers each one used), or an id of the rules (see [`Object::id`]).
#[inline(always)]
fn unescaped(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

fn string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    escape_into(out, value);
    out.push(b'"');
}

/// `items` as a JSON array, each written by `write`.
fn array<T>(out: &mut Vec<u8>, items: &[T], mut write: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// A text of the rules or of the case, rendered into the buffer as a JSON string.
#[inline(always)]
fn text(o: &mut Object, key: &'static str, render: impl FnOnce(&mut JsonText)) {
    let out = o.key(key);
    out.push(b'"');
    render(&mut JsonText(out));
    out.push(b'"');
}

/// JSON written at load, for answers to copy.
type Piece = Box<[u8]>;

/// What a notice's answers hold that depends only on the notice and the language:
/// written once, when the rules load, by the writers an answer would use
/// ([`event_head`], [`zone_head`], [`zone_window`], [`action`], [`explanation_head`]),
/// and copied into each answer.
#[derive(Debug, Clone, Default)]
pub struct NoticeJson {
    /// By language ([`Lang`]).
    langs: Vec<LangJson>,
    /// By finding ([`Finding::index`]): [`explanation_head`].
    explanations: Vec<Piece>,
}

#[derive(Debug, Clone, Default)]
struct LangJson {
    event: Piece,
    /// By zone: [`zone_head`] and [`zone_window`].
    zones: Vec<(Piece, Piece)>,
    /// By action ([`Action::index`]).
    actions: Vec<Piece>,
}

impl NoticeJson {
    /// Writes the pieces of `notice` (one of `rules`' notices) in each language.
    pub fn new(rules: &Rules, notice: &DisruptionNotice) -> NoticeJson {
        fn piece(write: impl FnOnce(&mut Vec<u8>)) -> Piece {
            let mut out = Vec::new();
            write(&mut out);
            out.into()
        }
        let langs = (0..rules.languages.len())
            .map(|lang| {
                let r = Renderer::with_notice(rules, notice, Lang(lang));
                LangJson {
                    event: piece(|out| event_head(&mut Object::begin(out), &r, true)),
                    zones: notice
                        .zones
                        .iter()
                        .map(|zone| {
                            let head =
                                piece(|out| zone_head(&mut Object::begin(out), &r, zone, true));
                            let window =
                                piece(|out| zone_window(Object { out, first: false }, &r, zone));
                            (head, window)
                        })
                        .collect(),
                    actions: Action::ALL
                        .iter()
                        .map(|&a| piece(|out| action(out, &r, a, true)))
                        .collect(),
                }
            })
            .collect();
        let explanations = Finding::ALL
            .iter()
            .map(|&f| piece(|out| explanation_head(&mut Object::begin(out), notice, f)))
            .collect();
        NoticeJson {
            langs,
            explanations,
        }
    }

    /// In `lang`, or in the default language (as [`crate::rules::Localized::get`]).
    fn lang(&self, lang: Lang) -> Option<&LangJson> {
        self.langs.get(lang.0).or(self.langs.first())
    }

    fn event(&self, lang: Lang) -> Option<&[u8]> {
        Some(&self.lang(lang)?.event)
    }

    fn zone(&self, lang: Lang, zone: usize) -> Option<(&[u8], &[u8])> {
        let (head, window) = self.lang(lang)?.zones.get(zone)?;
        Some((head, window))
    }

    fn action(&self, lang: Lang, a: Action) -> Option<&[u8]> {
        self.lang(lang)?.actions.get(a.index()).map(|a| &a[..])
    }

    fn explanation(&self, f: Finding) -> Option<&[u8]> {
        self.explanations.get(f.index()).map(|x| &x[..])
    }
}

/// The deciding notice's id, and its name when `texts`.
fn event_head(e: &mut Object, r: &Renderer, texts: bool) {
    e.id(key!("id"), &r.notice.id);
    if texts {
        text(e, key!("name"), |s| r.plain(s, r.notice.name.get(r.lang)));
    }
}

/// A zone's id, and its name when `texts`.
fn zone_head(z: &mut Object, r: &Renderer, zone: &ControlZone, texts: bool) {
    z.id(key!("id"), &zone.id);
    if texts {
        text(z, key!("name"), |s| r.plain(s, zone.name.get(r.lang)));
    }
}

/// A zone's control window, the fields after `controlled` (both views: no text), and
/// the end.
fn zone_window(mut z: Object, r: &Renderer, zone: &ControlZone) {
    r.with_notice_time(zone.control.from, |t| z.time(key!("control_from"), t));
    match zone.control.until {
        Some(until) => r.with_notice_time(until, |t| z.time(key!("control_until"), t)),
        None => z.opt_str(key!("control_until"), None),
    }
    z.bool(
        key!("control_until_further_notice"),
        zone.control.until.is_none(),
    );
    z.end();
}

/// An action: its code, and its text when `texts`.
fn action(out: &mut Vec<u8>, r: &Renderer, a: Action, texts: bool) {
    let mut x = Object::begin(out);
    x.code(key!("code"), a.as_str());
    if texts {
        text(&mut x, key!("text"), |s| {
            r.text(s, r.notice.action_text(a, r.lang), &[])
        });
    }
    x.end();
}

/// An explanation's section and code: the same in every language and both views.
fn explanation_head(x: &mut Object, notice: &DisruptionNotice, f: Finding) {
    let (section, _) = notice.explanation(f, Lang::default());
    x.id(key!("rule"), section);
    x.code(key!("code"), f.as_str());
}

/// Appends the decision `d` as JSON: the `DecisionView` (or `CompactDecisionView`) that
/// [`super::decision_view`] would build, as serde_json would write it. Both views are
/// written here, field by field alike: the compact one leaves out each rendered text
/// (the names, `actions[].text`, `explanation[].detail`, `warnings[].message`) and
/// nothing else.
pub fn write_decision(
    out: &mut Vec<u8>,
    rules: &Rules,
    d: &Decision,
    case_id: Option<&str>,
    decision_id: &str,
    lang: Lang,
    view: View,
) {
    let r = Renderer::new(rules, d, lang);
    let notice = r.notice;
    let written = &notice.json;
    // Whether the texts are written; the pieces written at load that hold texts (the
    // notice's and a zone's head, the actions) are copied only then.
    let texts = view == View::Full;
    fn with_texts(texts: bool, piece: Option<&[u8]>) -> Option<&[u8]> {
        piece.filter(|_| texts)
    }
    let also: Vec<_> = d
        .also_applies
        .iter()
        .filter_map(|&i| rules.notices.get(i))
        .collect();
    let zone = d
        .zone
        .and_then(|z| Some((z.zone, notice.zones.get(z.zone)?, z.controlled)));
    let phase = d
        .phase
        .and_then(|p| notice.phases.get(p))
        .map(|p| p.id.as_str());

    let mut o = Object::begin(out);
    o.str(key!("decision_id"), decision_id);
    o.opt_str(key!("case_id"), case_id);
    o.str(key!("rules_version"), &rules.version);
    r.with_time(d.as_of, |t| o.time(key!("as_of"), t));
    o.bool(key!("applies"), d.applies);
    o.code(key!("scenario"), d.scenario.as_str());
    o.code(key!("decision"), d.outcome.as_str());
    let out = o.key(key!("event"));
    let mut e = Object::begin_with(out, with_texts(texts, written.event(lang)), |e| {
        event_head(e, &r, texts)
    });
    e.bool(key!("in_impact_period"), d.in_impact_period);
    match phase {
        Some(phase) => e.id(key!("phase"), phase),
        None => e.opt_str(key!("phase"), None),
    }
    e.end();
    array(o.key(key!("also_applies")), &also, |out, n| {
        let mut a = Object::begin(out);
        a.id(key!("id"), &n.id);
        if texts {
            text(&mut a, key!("name"), |s| r.plain(s, n.name.get(lang)));
        }
        a.end();
    });
    match zone {
        None => o.key(key!("zone")).extend_from_slice(b"null"),
        Some((at, zone, controlled)) => {
            let out = o.key(key!("zone"));
            let (head, window) = written.zone(lang, at).unzip();
            let mut z = Object::begin_with(out, with_texts(texts, head), |z| {
                zone_head(z, &r, zone, texts)
            });
            z.bool(key!("controlled"), controlled);
            z.end_with(window, |z| zone_window(z, &r, zone));
        }
    }
    array(o.key(key!("deadlines")), &d.deadlines, |out, dl| {
        let mut x = Object::begin(out);
        x.code(key!("kind"), dl.kind.as_str());
        r.with_time(dl.due_at, |t| x.time(key!("due_at"), t));
        out_int(x.key(key!("remaining_seconds")), dl.remaining_seconds);
        x.bool(key!("overdue"), dl.overdue);
        x.end();
    });
    array(
        o.key(key!("actions")),
        &d.actions,
        |out, &a| match with_texts(texts, written.action(lang, a)) {
            Some(written) => out.extend_from_slice(written),
            None => action(out, &r, a, texts),
        },
    );
    array(o.key(key!("evidence")), &d.evidence, |out, any| {
        let mut x = Object::begin(out);
        array(x.key(key!("one_of")), any, |out, e| {
            unescaped(out, e.as_str())
        });
        x.end();
    });
    array(o.key(key!("explanation")), &d.explanation, |out, e| {
        let mut x = Object::begin_with(out, written.explanation(e.finding), |x| {
            explanation_head(x, notice, e.finding)
        });
        if texts {
            let (_, template) = notice.explanation(e.finding, lang);
            text(&mut x, key!("detail"), |s| r.text(s, template, &e.args));
        }
        x.end();
    });
    array(o.key(key!("warnings")), &d.warnings, |out, w| {
        let mut x = Object::begin(out);
        x.code(key!("code"), w.code.as_str());
        if texts {
            text(&mut x, key!("message"), |s| {
                r.text(s, rules.warning_text(w.code, lang), &w.args)
            });
        }
        x.opt_str(key!("pointer"), w.pointer());
        x.end();
    });
    o.code(key!("view"), view.as_str());
    o.end();
}

/// An integer in decimal.
fn out_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::render::CompactDecisionView;
    use crate::rules::{EMBEDDED_SOURCE, finding_args, warning_args};

    /// Every request of the rules' own tests (a row of policy §5 and §6 each), the
    /// example files, and requests whose strings need escaping.
    fn requests(source: &str) -> Vec<Value> {
        let file: toml::Table = toml::from_str(source).unwrap_or_default();
        let mut all: Vec<Value> = file
            .get("test")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
            .filter_map(|t| Some(from_toml(t.get("request")?)))
            .collect();
        for example in [
            include_str!("../../tests/fixtures/examples/01-not-shipped-binjiang.json"),
            include_str!("../../tests/fixtures/examples/02-in-transit-wucheng.json"),
            include_str!("../../tests/fixtures/examples/03-stalled-shangcheng.json"),
            include_str!("../../tests/fixtures/examples/04-rejected.json"),
            include_str!("../../tests/fixtures/examples/05-return-undelivered-in-countdown.json"),
            include_str!("../../tests/fixtures/examples/06-return-received.json"),
            include_str!("../../tests/fixtures/examples/07-outside-impact-period.json"),
        ] {
            let v: Value = serde_json::from_str(example).unwrap_or_default();
            all.push(v["request"].clone());
        }
        for example in [
            include_str!("../../examples/kuaishou-refund.json"),
            include_str!("../../examples/kuaishou-refund-full-detail.json"),
            include_str!("../../examples/return-in-countdown.json"),
            include_str!("../../examples/not-shipped.json"),
        ] {
            all.push(serde_json::from_str(example).unwrap_or_default());
        }
        let stalled = all.iter().find(|r| r["case_id"] == "AS-1003").cloned();
        if let Some(mut hostile) = stalled {
            hostile["case_id"] = json!("a\"b\\c\u{1}\u{7f}\n\u{2028}🙂");
            hostile["destination"] = json!({"address": "浙江\"省\"杭州市\t上城区\r\n"});
            hostile["logistics_trace"][1] = json!({"at": "2023-10-10T14:00:00.123+08:00", "description": "【杭州市】\"到达\"\u{1b}[31m"});
            all.push(hostile);
        }
        all
    }

    /// A TOML value as JSON, its date-times as strings.
    fn from_toml(v: &toml::Value) -> Value {
        match v {
            toml::Value::String(s) => json!(s),
            toml::Value::Integer(n) => json!(n),
            toml::Value::Float(f) => json!(f),
            toml::Value::Boolean(b) => json!(b),
            toml::Value::Datetime(d) => json!(d.to_string()),
            toml::Value::Array(a) => Value::Array(a.iter().map(from_toml).collect()),
            toml::Value::Table(t) => {
                Value::Object(t.iter().map(|(k, v)| (k.clone(), from_toml(v))).collect())
            }
        }
    }

    /// How many decisions were compared, and whether one had a control character to escape.
    fn same_bytes_as_the_views(rules: &Rules, requests: &[Value]) -> (usize, bool) {
        let mut checked = 0;
        let mut escaped = false;
        let mut bare = rules.clone();
        for n in &mut bare.notices {
            n.json = NoticeJson::default();
        }
        for request in requests {
            let body = serde_json::to_vec(request).unwrap_or_default();
            for lang in 0..rules.languages.len() {
                let lang = Lang(lang);
                let Ok(d) =
                    crate::decide_json(rules, &body, chrono::Utc::now(), lang, "id\"1".into())
                else {
                    continue;
                };
                // Each value where its text looks first (see `Placeholder::Arg`).
                for e in &d.decision.explanation {
                    let names: Vec<&str> = e.args.iter().map(|(n, _)| *n).collect();
                    assert_eq!(names, finding_args(&e.finding), "{request}");
                }
                for w in &d.decision.warnings {
                    let names: Vec<&str> = w.args.iter().map(|(n, _)| *n).collect();
                    assert_eq!(names, warning_args(w.code), "{request}");
                }
                for view in [View::Full, View::Compact] {
                    let mut written = Vec::new();
                    write_decision(
                        &mut written,
                        rules,
                        &d.decision,
                        d.view.case_id.as_deref(),
                        &d.view.decision_id,
                        lang,
                        view,
                    );
                    // Without the pieces written at load: each written now, the same.
                    let mut unwritten = Vec::new();
                    write_decision(
                        &mut unwritten,
                        &bare,
                        &d.decision,
                        d.view.case_id.as_deref(),
                        &d.view.decision_id,
                        lang,
                        view,
                    );
                    assert_eq!(
                        String::from_utf8_lossy(&written),
                        String::from_utf8_lossy(&unwritten),
                        "{view:?} without the pieces {request}"
                    );
                    let serde = match view {
                        View::Full => serde_json::to_vec(&d.view),
                        View::Compact => serde_json::to_vec(&CompactDecisionView::from(&d.view)),
                    }
                    .unwrap_or_default();
                    assert_eq!(
                        String::from_utf8_lossy(&written),
                        String::from_utf8_lossy(&serde),
                        "{view:?} {request}"
                    );
                    let serde_pretty = match view {
                        View::Full => serde_json::to_vec_pretty(&d.view),
                        View::Compact => {
                            serde_json::to_vec_pretty(&CompactDecisionView::from(&d.view))
                        }
                    }
                    .unwrap_or_default();
                    assert_eq!(
                        String::from_utf8_lossy(&pretty(&written)),
                        String::from_utf8_lossy(&serde_pretty),
                        "pretty {view:?} {request}"
                    );
                    checked += 1;
                    escaped |= written.windows(6).any(|w| w == b"\\u0001");
                }
            }
        }
        (checked, escaped)
    }

    #[test]
    fn a_decision_is_written_exactly_as_serde_writes_its_view() {
        let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        let (checked, escaped) = same_bytes_as_the_views(&rules, &requests(EMBEDDED_SOURCE));
        assert!(
            checked >= 100 && escaped,
            "only {checked}, escaped: {escaped}"
        );
    }

    #[test]
    fn with_several_notices_too() {
        let harbin = include_str!("../../tests/fixtures/rules/harbin-2025.toml");
        let nationwide = include_str!("../../tests/fixtures/rules/nationwide-2025.toml");
        let source = [EMBEDDED_SOURCE, harbin, nationwide].concat();
        let rules = Rules::from_toml(&source, "several.toml").unwrap_or_else(|e| panic!("{e}"));
        let (checked, _) = same_bytes_as_the_views(&rules, &requests(&source));
        assert!(checked >= 100, "only {checked}");
    }

    fn escaped(text: &str) -> String {
        let mut out = Vec::new();
        escape_into(&mut out, text);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for text in [
            "",
            "plain",
            "杭州市上城区解放路100号",
            "a\"b\\c",
            "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}\u{85}\u{2028}🙂",
            "seven b\"",
            "eight by\"",
            "sixteen bytes..\"",
            "\"\"\"\"\"\"\"\"\"\"",
            "x\\y\\z\\0123456789abcdef\n",
        ] {
            let serde = serde_json::to_string(text).unwrap_or_default();
            assert_eq!(format!("\"{}\"", escaped(text)), serde, "{text:?}");
        }
    }

    #[test]
    fn each_ascii_byte_at_each_place_of_a_word_and_its_tail_is_escaped_as_serde_does() {
        // Lengths across two words and a tail; the byte among plain letters, and after
        // a quote (a second byte to escape in the same word).
        for len in 1..=19 {
            for at in 0..len {
                for b in 0u8..0x80 {
                    let mut text = vec![b'a'; len];
                    text[at] = b;
                    let mut quoted = text.clone();
                    quoted[0] = b'"';
                    for text in [text, quoted] {
                        let text = String::from_utf8(text).unwrap_or_default();
                        let serde = serde_json::to_string(&text).unwrap_or_default();
                        assert_eq!(format!("\"{}\"", escaped(&text)), serde, "{text:?}");
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(text in ".{0,40}|[\\x00-\\x7f]{0,40}") {
            let serde = serde_json::to_string(&text).unwrap_or_default();
            proptest::prop_assert_eq!(format!("\"{}\"", escaped(&text)), serde);
        }
    }
}
