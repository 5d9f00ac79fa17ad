//! A carrier's trace as a person copies it from a tracking page (`logistics_text`,
//! `return.trace_text`): one event a line, its local time (in the rules' time zone, with
//! or without seconds) first, then the carrier's text, read with the rules' phrase table
//! as an event's `description` is:
//!
//! ```text
//! 2023-10-10 14:00:00 【杭州市】快件已到达 杭州转运中心
//!
//! 2023-10-09 20:00  【义乌市】圆通速递 已揽收
//! ```
//!
//! Newest or oldest first; spaces or tabs (also the no-break and ideographic spaces a web
//! page gives, and the invisible zero-width space and byte-order mark) between the parts;
//! blank lines anywhere; `\n`, `\r\n`, `\r` or Unicode's own line ends (U+0085, U+2028,
//! U+2029). A text needs at least one event: an empty paste is a mistake, not a parcel
//! that never left (with no trace, the field is left out).

use super::FieldError;
use crate::engine::{Event, Warning};
use crate::rules::Rules;
use crate::time::{self, Instant, hour_minute_pattern, inner_date_pattern};

/// Spaces between a line's parts, as a regex class (see [`is_blank`]).
macro_rules! blank_pattern {
    () => {
        "[ \\t\\u00a0\\u3000\\u200b\\ufeff]"
    };
}

/// The characters that end a line, as a regex class (see [`LINE_ENDS`]).
macro_rules! line_end_pattern {
    () => {
        "[\\r\\n\\u0085\\u2028\\u2029]"
    };
}

/// An event on a line: a local time, spaces, text.
macro_rules! event_pattern {
    () => {
        concat!(
            inner_date_pattern!(),
            blank_pattern!(),
            "+",
            hour_minute_pattern!(),
            "(?::[0-5][0-9])?",
            blank_pattern!(),
            "+[^ \\t\\u00a0\\u3000\\u200b\\ufeff\\r\\n\\u0085\\u2028\\u2029]",
            "[^\\r\\n\\u0085\\u2028\\u2029]*"
        )
    };
}

/// The exact grammar of a trace text, as a regular expression for the OpenAPI schema:
/// lines, each blank or a local time (a date from 1970-01-02 to 9996-12-30, hours,
/// minutes, optional seconds) and text, at least one of them an event. `events` accepts
/// exactly these strings.
pub const TRACE_TEXT_PATTERN: &str = concat!(
    "^(?:",
    blank_pattern!(),
    "*",
    line_end_pattern!(),
    ")*",
    blank_pattern!(),
    "*",
    event_pattern!(),
    "(?:",
    line_end_pattern!(),
    blank_pattern!(),
    "*(?:",
    event_pattern!(),
    ")?)*$"
);

/// The characters that end a line (`\r\n` is one end).
const LINE_ENDS: [char; 5] = ['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}'];

/// At most this many bad lines are listed one by one; the rest are counted.
const MAX_LINE_ERRORS: usize = 10;

/// A space between a line's parts: also the zero-width space a web page may hold and the
/// byte-order mark a file saved by Notepad starts with, both invisible.
fn is_blank(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{a0}' | '\u{3000}' | '\u{200b}' | '\u{feff}'
    )
}

/// The lines of a text, split at `\r\n` or any of [`LINE_ENDS`].
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.find(LINE_ENDS) {
            Some(i) => {
                let end = if r[i..].starts_with("\r\n") {
                    i + 2
                } else {
                    i + r[i..].chars().next().map_or(1, char::len_utf8)
                };
                rest = Some(&r[end..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Whether `s` has the shape of `like`: a digit for each `9`, the same character
/// elsewhere.
fn shaped_like(s: &str, like: &str) -> bool {
    s.len() == like.len()
        && s.bytes().zip(like.bytes()).all(|(c, l)| {
            if l == b'9' {
                c.is_ascii_digit()
            } else {
                c == l
            }
        })
}

/// One line's time and text; `None` for a blank line; `Err` says what is wrong.
fn read_line(line: &str, rules: &Rules) -> Result<Option<(Instant, String)>, String> {
    let line = line.trim_matches(is_blank);
    if line.is_empty() {
        return Ok(None);
    }
    let (date, rest) = line.split_once(is_blank).unwrap_or((line, ""));
    let rest = rest.trim_start_matches(is_blank);
    let (clock, text) = rest.split_once(is_blank).unwrap_or((rest, ""));
    let text = text.trim_start_matches(is_blank);
    let shaped = shaped_like(date, "9999-99-99")
        && (shaped_like(clock, "99:99") || shaped_like(clock, "99:99:99"));
    if !shaped {
        return Err("does not start with a time like 2023-10-10 14:00:00".into());
    }
    let at = time::parse(&format!("{date} {clock}"), rules.time_zone).map_err(|e| match e {
        time::TimeError::Malformed => {
            format!("starts with `{date} {clock}`, which is not a real date and time")
        }
        e => format!("starts with `{date} {clock}`, which {e}"),
    })?;
    if text.is_empty() {
        return Err(
            "has a time but no text: each line is one event, its time and then the carrier's text"
                .into(),
        );
    }
    Ok(Some((at, text.to_owned())))
}

/// The beginning of a line, for a message.
fn shown(line: &str) -> String {
    let line = line.trim_matches(is_blank);
    match line.char_indices().nth(30) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

/// The events of a trace text at `pointer`, oldest first; `None` when a line has no
/// readable time (each such line is an error naming its number).
pub fn events(
    text: &str,
    pointer: &str,
    rules: &Rules,
    errors: &mut Vec<FieldError>,
    notes: &mut Vec<Warning>,
) -> Option<Vec<Event>> {
    let mut read = Vec::new();
    let mut bad = 0;
    for (i, line) in lines(text).enumerate() {
        match read_line(line, rules) {
            Ok(Some((at, text))) => read.push((i + 1, at, text)),
            Ok(None) => {}
            Err(problem) => {
                bad += 1;
                if bad <= MAX_LINE_ERRORS {
                    errors.push(FieldError::new(
                        pointer,
                        format!("line {} (`{}`) {problem}", i + 1, shown(line)),
                    ));
                }
            }
        }
    }
    if bad > MAX_LINE_ERRORS {
        errors.push(FieldError::new(
            pointer,
            format!(
                "has {} more lines without a readable time",
                bad - MAX_LINE_ERRORS
            ),
        ));
    }
    if bad > 0 {
        return None;
    }
    if read.is_empty() {
        errors.push(FieldError::new(
            pointer,
            "has no event: paste the trace's lines (each its time, then the carrier's text), or leave the field out when there is no trace",
        ));
        return None;
    }
    // Tracking pages list the newest event first; events keep their page order among
    // equal times once oldest first.
    if read.first().map(|r| r.1) > read.last().map(|r| r.1) {
        read.reverse();
    }
    // A line that records no movement (a waybill created, not collected yet) is left
    // out, with a warning; the text still had events, so it is no empty paste.
    Some(
        read.into_iter()
            .filter_map(|(line, at, text)| {
                let pointer = format!("{pointer} line {line}");
                let reading = super::read_description(rules, &text, &pointer, notes);
                let status = super::moved(reading, &pointer, Some(&text), notes)?;
                Some(Event {
                    at,
                    status,
                    pointer: pointer.into(),
                    raw: Some(text),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_at_every_line_end() {
        let got: Vec<&str> = lines("a\r\nb\nc\rd\n").collect();
        assert_eq!(got, ["a", "b", "c", "d", ""]);
        let got: Vec<&str> = lines("a\u{2028}b\u{85}c\u{2029}").collect();
        assert_eq!(got, ["a", "b", "c", ""]);
        assert_eq!(lines("").collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn shapes_compare_digits_and_separators() {
        assert!(shaped_like("2023-10-10", "9999-99-99"));
        assert!(!shaped_like("2023/10/10", "9999-99-99"));
        assert!(!shaped_like("２０２３-10-10", "9999-99-99"));
        assert!(shaped_like("14:00", "99:99") && !shaped_like("14:00:00", "99:99"));
    }

    #[test]
    fn a_long_line_is_shown_shortened() {
        assert_eq!(shown(&"快".repeat(100)), format!("{}…", "快".repeat(30)));
        assert_eq!(shown(" ab "), "ab");
    }
}
