//! A carrier's trace as a person copies it from a tracking page (`logistics_text`,
//! `return.trace_text`): one event a line, its time first, then the carrier's text, read
//! with the rules' phrase table as an event's `description` is:
//!
//! ```text
//! 2023-10-10 14:00:00 【杭州市】快件已到达 杭州转运中心
//!
//! 2023-10-09 20:00  【义乌市】圆通速递 已揽收
//! ```
//!
//! The time, as pages and people write it: a date with its year (`2023-10-10`,
//! `2023/10/10`, `2023.10.10`, `2023年10月10日`, one-digit months and days too; in
//! English `Oct 10, 2023` or `10 Oct 2023`, never `10/11/2023`), perhaps a
//! weekday that must be the date's (`星期二`, `周二`), then a time of day (`14:00`, `9:05`,
//! `14:00:00`, `14:00:00.123`, `14时00分`) after a space or `T`, or the time first and the
//! date after it; the rules' time zone, unless an offset follows the time (`+08:00`,
//! `+0800`, `-05:00`, `Z`, `UTC`, `GMT+8`, `(UTC+08:00)`, `北京时间`); the whole in
//! brackets or not (`[…]`, `【…】`); full-width digits and marks as ASCII. The text
//! follows after spaces, a comma or a colon, or straight after the time. Something that
//! looks like an offset and cannot be read (`+8`, `GMT+25`, `CST`, `PM`), a date without
//! its year and a time not on the calendar are errors naming the line, never guessed.
//!
//! An event may take two lines (its time alone, then its text), and a date alone on a
//! line dates the times under it (as Taobao and Cainiao show them). A line of text with
//! no time and nothing like a date or a time in it, before the first event or after the
//! last, that the phrase table does not read, is a page's heading or footer (`运单号：…`,
//! `复制`): left out, with a warning.
//!
//! Newest or oldest first; spaces or tabs (also the no-break and ideographic spaces a web
//! page gives, and the invisible zero-width space and byte-order mark) between the parts;
//! blank lines anywhere; `\n`, `\r\n`, `\r` or Unicode's own line ends (U+0085, U+2028,
//! U+2029). A text needs at least one event: an empty paste is a mistake, not a parcel
//! that never left (with no trace, the field is left out). One pass over the text.

use super::FieldError;
use crate::engine::{Arg, Event, Warning};
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
        "[\\r\\n\\x0b\\x0c\\u0085\\u2028\\u2029]"
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
            // The text: not starting with what is read as part of the time (an offset
            // or zone, AM/PM, 上午/下午, a weekday, a second time) or refused as such,
            // so that it always reads as Beijing time and this text.
            "+(?:[^ \\t\\u00a0\\u3000\\u200b\\ufeff\\r\\n\\x0b\\x0c\\u0085\\u2028\\u2029",
            "A-Za-z0-9\\uff10-\\uff19\\uff21-\\uff3a\\uff41-\\uff5a+\\-\\u2212\\uff0b\\uff0d(\\uff08~\\uff5e\\u2014",
            "北上下中晚凌早傍夜深星周礼]",
            // An English word of five letters or more: no zone's or AM/PM's.
            "|[A-FH-TV-Za-fh-tv-z][A-Za-z]{4})",
            "[^\\r\\n\\x0b\\x0c\\u0085\\u2028\\u2029]*"
        )
    };
}

/// The plain form of a trace text, as a regular expression: lines, each blank or a
/// local time (a date from 1970-01-02 to 9996-12-30, hours, minutes, optional seconds),
/// spaces and text, at least one of them an event; the text not starting with what the
/// parser reads as part of the time or refuses as such (a letter or digit, a sign, a
/// bracket, `北京时间`, `上午`/`下午`, a weekday: see the class in `event_pattern`), but
/// for an English word of five letters or more. `events` reads every such string as
/// Beijing times and these texts (the property tests check this); it reads more (see the
/// module's documentation), which the schema describes in words.
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
const LINE_ENDS: [char; 7] = [
    '\r', '\n', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}',
];

/// At most this many bad lines are listed one by one; the rest are counted.
const MAX_LINE_ERRORS: usize = 10;

/// What is wrong with a line that is not an event.
const NO_TIME: &str = "does not start with a time like 2023-10-10 14:00:00";

/// What is wrong with a time alone on its line with no text under it.
const NO_TEXT: &str = "has a time but no text: each event is its time and then the carrier's text";

/// What is wrong with a date heading that dates no event.
const NO_EVENT_UNDER: &str =
    "is a date with no event under it: give the times under it, or remove it";

/// At most this many lines around the events are left out as a page's heading or footer
/// (each with a warning); more are errors.
const MAX_SKIPPED_LINES: usize = 10;

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

/// A character as the time reader sees it: full-width digits, letters and the marks a
/// time is written with (`：`, `／`, `－`, `．`, `＋`, brackets) folded to ASCII, a minus
/// sign to `-`, and every blank to a space. The carrier's text keeps its own characters.
fn fold(c: char) -> char {
    match c {
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(u32::from(c) - 0xfee0).unwrap_or(c),
        '\u{2212}' => '-',
        c if is_blank(c) => ' ',
        c => c,
    }
}

/// A position in a line, read a folded character at a time (see [`fold`]); no copy of
/// the line, so a long line costs one pass.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.line[self.at..].chars().next().map(fold)
    }

    /// The folded character `k` places on.
    fn ahead(&self, k: usize) -> Option<char> {
        self.line[self.at..].chars().nth(k).map(fold)
    }

    fn bump(&mut self) {
        self.at += self.line[self.at..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
    }

    /// Takes the next character if `want` accepts it.
    fn eat(&mut self, want: impl Fn(char) -> bool) -> Option<char> {
        let c = self.peek().filter(|&c| want(c))?;
        self.bump();
        Some(c)
    }

    /// Takes `s` (folded characters, ASCII letters in either case).
    fn eat_str(&mut self, s: &str) -> bool {
        let mut c = *self;
        for want in s.chars() {
            if c.eat(|got| got.eq_ignore_ascii_case(&want)).is_none() {
                return false;
            }
        }
        *self = c;
        true
    }

    /// Takes spaces; whether there were any.
    fn blanks(&mut self) -> bool {
        let from = self.at;
        while self.eat(|c| c == ' ').is_some() {}
        self.at > from
    }

    /// Takes 1 to `max` digits: their value and how many there were.
    fn number(&mut self, max: usize) -> Option<(u32, usize)> {
        let mut n = 0;
        let mut count = 0;
        while count < max
            && let Some(d) = self.eat(|c| c.is_ascii_digit())
        {
            n = n * 10 + d.to_digit(10).unwrap_or(0);
            count += 1;
        }
        (count > 0).then_some((n, count))
    }

    fn digit_next(&self) -> bool {
        self.peek().is_some_and(|c| c.is_ascii_digit())
    }

    /// The rest of the line, as written.
    fn rest(&self) -> &'a str {
        &self.line[self.at..]
    }
}

/// Runs `read` from `c`; on `None`, `c` stays where it was.
fn attempt<'a, T>(
    c: &mut Cursor<'a>,
    read: impl FnOnce(&mut Cursor<'a>) -> Option<T>,
) -> Option<T> {
    let mut tried = *c;
    let got = read(&mut tried)?;
    *c = tried;
    Some(got)
}

/// A date as written: year, month, day, not yet checked against the calendar.
type Ymd = (i32, u32, u32);

/// English months, each read from its first three letters on (`Oct`, `Sept`, `October`).
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// An English month's name (1 to 12), perhaps with a full stop (`Oct.`).
fn month_name(c: &mut Cursor<'_>) -> Option<u32> {
    attempt(c, |c| {
        let from = c.at;
        let mut letters = 0;
        while c.eat(|c| c.is_ascii_alphabetic()).is_some() {
            letters += 1;
        }
        if !(3..=9).contains(&letters) {
            return None;
        }
        let word = c.line[from..c.at].to_ascii_lowercase();
        let month = MONTHS.iter().position(|m| m.starts_with(&word))?;
        c.eat(|c| c == '.');
        u32::try_from(month + 1).ok()
    })
}

/// A four-digit year not followed by another digit.
fn year(c: &mut Cursor<'_>) -> Option<i32> {
    attempt(c, |c| {
        let (year, 4) = c.number(4)? else {
            return None;
        };
        if c.digit_next() {
            return None;
        }
        i32::try_from(year).ok()
    })
}

/// A date with its year: `2023-10-10`, `2023/10/10`, `2023.10.10`, `2023年10月10日`
/// (or `号`); one-digit months and days too; in English `Oct 10, 2023` or `10 Oct 2023`.
fn date(c: &mut Cursor<'_>) -> Option<Ymd> {
    numeric_date(c).or_else(|| english_date(c))
}

/// `Oct 10, 2023`, `October 10 2023`, `10 Oct 2023`: the month by its name, so that no
/// order of day and month is guessed (`10/11/2023` is refused).
fn english_date(c: &mut Cursor<'_>) -> Option<Ymd> {
    attempt(c, |c| {
        let (month, day) = match month_name(c) {
            Some(month) => {
                c.blanks();
                let (day, _) = c.number(2)?;
                c.eat(|c| c == ',');
                (month, day)
            }
            None => {
                let (day, _) = c.number(2)?;
                c.blanks();
                (month_name(c)?, day)
            }
        };
        if !c.blanks() && !c.line[..c.at].ends_with(',') {
            return None;
        }
        Some((year(c)?, month, day))
    })
}

/// The dates written with digits (see [`date`]).
fn numeric_date(c: &mut Cursor<'_>) -> Option<Ymd> {
    attempt(c, |c| {
        let (year, 4) = c.number(4)? else {
            return None;
        };
        let sep = c.eat(|c| matches!(c, '-' | '/' | '.' | '年'))?;
        let (month, _) = c.number(2)?;
        c.eat(|c| c == if sep == '年' { '月' } else { sep })?;
        let (day, _) = c.number(2)?;
        if sep == '年' {
            c.eat(|c| matches!(c, '日' | '号'))?;
        } else if c.digit_next() {
            return None;
        }
        Some((i32::try_from(year).ok()?, month, day))
    })
}

/// A date written without its year (`10-10`, `10/10`, `10月10日`) where a line's time
/// starts: refused, not guessed.
fn yearless_date(c: &Cursor<'_>) -> bool {
    let mut c = *c;
    attempt(&mut c, |c| {
        c.number(2)?;
        let sep = c.eat(|c| matches!(c, '-' | '/' | '.' | '月'))?;
        c.number(2)?;
        if sep == '月' {
            c.eat(|c| matches!(c, '日' | '号'))?;
            return Some(());
        }
        (!c.digit_next() && !c.peek().is_some_and(|c| matches!(c, '-' | '/' | '.'))).then_some(())
    })
    .is_some()
}

/// A weekday after a date (`星期二`, `周二`, `礼拜二`, in brackets or not): 0 for Monday.
fn weekday(c: &mut Cursor<'_>) -> Option<u32> {
    // Most lines have none: a look at the next character first.
    let mut t = *c;
    t.blanks();
    if !t
        .peek()
        .is_some_and(|p| matches!(p, '(' | '星' | '礼' | '周'))
    {
        return None;
    }
    attempt(c, |c| {
        c.blanks();
        let bracket = c.eat(|c| c == '(').is_some();
        if !(c.eat_str("星期") || c.eat_str("礼拜") || c.eat_str("周")) {
            return None;
        }
        let day = match c.eat(|_| true)? {
            '一' => 0,
            '二' => 1,
            '三' => 2,
            '四' => 3,
            '五' => 4,
            '六' => 5,
            '日' | '天' => 6,
            _ => return None,
        };
        if bracket {
            c.eat(|c| c == ')')?;
        }
        Some(day)
    })
}

/// A time of day as written: hours, minutes, seconds, nanoseconds (not yet checked).
type Hms = (u32, u32, u32, u32);

/// A time of day: `14:00`, `9:05`, `14:00:00`, `14:00:00.123` (any number of fraction
/// digits, cut to nanoseconds), `14时00分`, `14时00分00秒`, `14点00分`.
fn clock(c: &mut Cursor<'_>) -> Option<Hms> {
    attempt(c, |c| {
        let (hour, _) = c.number(2)?;
        // The colon as written: seconds only after the same one (`14:00：10月` is 14:00).
        let colon = c.rest().chars().next();
        let sep = c.eat(|c| matches!(c, ':' | '时' | '点'))?;
        let (minute, n) = c.number(2)?;
        let mut second = 0;
        let mut nano = 0;
        if sep == ':' {
            if n != 2 {
                return None;
            }
            if let Some((s, f)) = attempt(c, |c| {
                if c.rest().chars().next() != colon {
                    return None;
                }
                c.bump();
                let (s, 2) = c.number(2)? else {
                    return None;
                };
                let mut f = 0;
                if c.peek() == Some('.') && c.ahead(1).is_some_and(|c| c.is_ascii_digit()) {
                    c.bump();
                    let mut digits = 0;
                    while let Some(d) = c.eat(|c| c.is_ascii_digit()) {
                        if digits < 9 {
                            f = f * 10 + d.to_digit(10).unwrap_or(0);
                            digits += 1;
                        }
                    }
                    f *= 10u32.pow(9 - digits);
                }
                Some((s, f))
            }) {
                (second, nano) = (s, f);
            }
        } else {
            // `14点05分拣中心`: 分 starts the text, or ends the minutes? Refused below
            // (a character of words straight after it).
            if c.eat(|c| c == '分').is_some()
                && c.peek()
                    .is_some_and(|p| ('\u{4e00}'..='\u{9fff}').contains(&p) && p != '秒')
            {
                return None;
            }
            if let Some(s) = attempt(c, |c| {
                let (s, _) = c.number(2)?;
                c.eat(|c| c == '秒')?;
                Some(s)
            }) {
                second = s;
            }
        }
        if c.digit_next() {
            return None;
        }
        Some((hour, minute, second, nano))
    })
}

/// Zone abbreviations that name no one offset (`CST` is China's, Cuba's and the US
/// Central's), or that a paste should not leave to be guessed: refused.
const ZONE_NAMES: [&str; 16] = [
    "CST", "CDT", "EST", "EDT", "PST", "PDT", "MST", "MDT", "BST", "IST", "CET", "CEST", "JST",
    "KST", "HKT", "SGT",
];

/// An offset of hours (and minutes) after a sign: `+08:00`, `+0800`, `+08`; after `UTC`
/// or `GMT` also `+8` and `+8:00`. In minutes east of UTC.
fn signed_offset(c: &mut Cursor<'_>, loose: bool) -> Option<i32> {
    attempt(c, |c| {
        let sign = c.eat(|c| matches!(c, '+' | '-'))?;
        let (h, n) = c.number(2)?;
        if n == 1 && !loose {
            return None;
        }
        // Minutes after a colon, or straight after the hours (`+0800`); none (`+08`).
        let colon = c.eat(|c| c == ':').is_some();
        let m = if colon || c.digit_next() {
            let (m, 2) = c.number(2)? else {
                return None;
            };
            m
        } else {
            0
        };
        // More digits, or seconds (`+08:00:00`): not an offset this reads.
        let more = c.peek().is_some_and(|p| matches!(p, ':' | '.'))
            && c.ahead(1).is_some_and(|d| d.is_ascii_digit());
        if c.digit_next() || more || m > 59 {
            return None;
        }
        let minutes = i32::try_from(h * 60 + m).ok()?;
        Some(if sign == '-' { -minutes } else { minutes })
    })
}

/// The offsets clocks keep, in minutes: UTC−12:00 to UTC+14:00.
const OFFSETS: std::ops::RangeInclusive<i32> = -12 * 60..=14 * 60;

/// Whether a token after a time ends there: the line's end, a space or a closing bracket.
fn at_boundary(c: &Cursor<'_>) -> bool {
    c.peek()
        .is_none_or(|p| matches!(p, ' ' | ')' | ']' | '】' | '〕'))
}

/// An offset or zone after a time: `Z`, `+08:00`, `+0800`, `-05:00`, `UTC`, `GMT`,
/// `GMT+8`, `UTC+08:00`, `北京时间`, bare or in brackets; `None` when nothing offset-like
/// follows. A zone is a word standing alone (a space, a closing bracket or the line's end
/// after it): `Z字楼`, `UTC大厦`, `-10月11日` after a space are the carrier's text. A word
/// that stands alone and looks like an offset but cannot be read (`+8`, `GMT+25`, `CST`,
/// `PM`), a bare `+08` after a space, a `-11:00` straight after a time with no seconds
/// (a time range: `09:00-11:00`), and an offset-like word written straight against the
/// time and the text (`14:00Z字楼`) are errors: which was meant cannot be told.
/// `seconds`: whether the time had its seconds.
fn zone(c: &mut Cursor<'_>, seconds: bool) -> Result<Option<i32>, String> {
    let from = *c;
    let spaced = c.blanks();
    if c.eat_str("北京时间") {
        return Ok(Some(8 * 60));
    }
    let bracket = c.eat(|c| c == '(').is_some();
    if bracket {
        c.blanks();
    }
    let attached = !spaced && !bracket;
    let start = *c;
    // The word: ASCII letters, digits and the marks of an offset, at most a few.
    let mut word = String::new();
    while let Some(ch) = c.eat(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | ':' | '.'))
    {
        if word.len() > 16 {
            break;
        }
        word.push(ch.to_ascii_uppercase());
    }
    let unreadable = |end: &Cursor<'_>| {
        format!(
            "has `{}` after its time, which is not an offset this reads: write one like +08:00, -05:00, Z, UTC or GMT+8, or leave it out for Beijing time",
            shown(&start.line[start.at..end.at])
        )
    };
    let signed =
        word.starts_with(['+', '-']) && word[1..].starts_with(|d: char| d.is_ascii_digit());
    let named = word.starts_with("UTC") || word.starts_with("GMT") || word == "Z";
    let refused = ["AM", "PM", "A.M.", "P.M."].contains(&word.as_str());
    let abbreviation = ZONE_NAMES.contains(&word.as_str());
    if !(signed || named || refused || abbreviation) {
        *c = from;
        return Ok(None);
    }
    if !at_boundary(c) {
        if attached {
            return Err(format!(
                "has `{}` straight after its time and before the text: an offset, or the carrier's text? Put a space after the offset, or before the text",
                shown(&start.line[start.at..c.at])
            ));
        }
        // The carrier's own words (`Z字楼`, `-08号柜`, `UTC大厦`).
        *c = from;
        return Ok(None);
    }
    let end = *c;
    if refused {
        return Err(
            "has AM or PM after its time: write the time on the 24-hour clock (14:00, not 2:00 PM)"
                .into(),
        );
    }
    let minutes = if word == "Z" || word == "UTC" || word == "GMT" {
        0
    } else if abbreviation {
        return Err(unreadable(&end));
    } else if let Some(rest) = word
        .strip_prefix("UTC")
        .or_else(|| word.strip_prefix("GMT"))
    {
        let mut t = Cursor { line: rest, at: 0 };
        signed_offset(&mut t, true)
            .filter(|_| t.peek().is_none())
            .ok_or_else(|| unreadable(&end))?
    } else {
        let mut t = Cursor { line: &word, at: 0 };
        let m = signed_offset(&mut t, false)
            .filter(|_| t.peek().is_none())
            .ok_or_else(|| unreadable(&end))?;
        let digits = word.bytes().filter(u8::is_ascii_digit).count();
        if digits == 2 && !attached {
            return Err(format!(
                "has `{word}` after its time, a number or an offset? Write an offset as +08:00, or put the text after a space"
            ));
        }
        if word.starts_with('-') && attached && !seconds && word.contains(':') {
            return Err(format!(
                "has `{}` straight after its time: a time range or an offset? Write one time, and an offset with seconds (14:00:00-05:00) or after a space",
                shown(&from.line[from.at..end.at])
            ));
        }
        m
    };
    if bracket {
        c.blanks();
        if c.eat(|c| c == ')').is_none() {
            return Err(format!(
                "opens a bracket after its time and does not close it after `{}`",
                shown(&start.line[start.at..end.at])
            ));
        }
    }
    if !OFFSETS.contains(&minutes) {
        return Err(format!(
            "has `{}` after its time, an offset no clock keeps (they run from -12:00 to +14:00)",
            shown(&start.line[start.at..end.at])
        ));
    }
    Ok(Some(minutes))
}

/// Words naming a day or a part of it relative to the paste (`昨日 包裹已交给快递员`):
/// an event whose time was written in words, never a page's heading to skip.
const DAY_WORDS: [&str; 17] = [
    "今天", "今日", "昨天", "昨日", "前天", "明天", "明日", "后天", "上午", "下午", "中午", "晚上",
    "凌晨", "早上", "傍晚", "昨晚", "今晚",
];

/// Whether a line holds anything like a date or a time: a digit first, or a digit, one
/// of `:-/.年月时点` and a digit anywhere, a day word ([`DAY_WORDS`]), or a date or time
/// in Chinese numerals (`十月十二日`, `两点`). Such a line without a readable time is an
/// error, never a page's heading to skip.
fn dated(line: &str) -> bool {
    if DAY_WORDS.iter().any(|w| line.contains(w)) {
        return true;
    }
    let mut before = ' ';
    for c in line.chars() {
        if matches!(
            before,
            '一' | '二'
                | '三'
                | '四'
                | '五'
                | '六'
                | '七'
                | '八'
                | '九'
                | '十'
                | '廿'
                | '卅'
                | '〇'
                | '零'
                | '两'
        ) && matches!(c, '月' | '日' | '号' | '点' | '时')
        {
            return true;
        }
        before = c;
    }
    let mut folded = line.chars().map(fold).filter(|&c| c != ' ');
    if folded.next().is_some_and(|c| c.is_ascii_digit()) {
        return true;
    }
    let (mut before, mut mark) = (' ', ' ');
    for c in line.chars().map(fold) {
        if before.is_ascii_digit()
            && matches!(mark, ':' | '-' | '/' | '.' | '年' | '月' | '时' | '点')
            && c.is_ascii_digit()
        {
            return true;
        }
        (before, mark) = (mark, c);
    }
    false
}

/// A line read: blank, a date heading (the events under it give only their time), a
/// time (with or without its date and text), or text with no time at its start.
#[derive(Debug, PartialEq)]
enum Read<'a> {
    Blank,
    Heading(chrono::NaiveDate),
    Timed(Stamp<'a>, &'a str),
    Text,
}

/// A line's time as written: the date if the line has one, the time of day, the offset
/// if it names one, and the words they were written with (for messages).
#[derive(Debug, PartialEq)]
struct Stamp<'a> {
    date: Option<chrono::NaiveDate>,
    /// Whether the date came after the time (`14:00 2023-10-10`).
    date_after: bool,
    /// A weekday written after the time (`14:00 星期二`), to be the date's.
    day_after: Option<u32>,
    /// Whether the text starts with a date (`14:00 2023-10-12前可取件`).
    text_dated: bool,
    time: chrono::NaiveTime,
    offset: Option<i32>,
    written: &'a str,
}

/// The text of an error for a time that is not on the calendar or the clock.
fn not_real(written: &str) -> String {
    format!("starts with `{written}`, which is not a real date and time")
}

/// One line's time and text; `Err` says what is wrong.
fn read_line(line: &str) -> Result<Read<'_>, String> {
    let mut c = Cursor { line, at: 0 };
    c.blanks();
    if c.peek().is_none() {
        return Ok(Read::Blank);
    }
    // `[2023-10-10 14:00:00]`, `【…】`, `(…)`: the bracket closes after the time.
    let close = attempt(&mut c, |c| {
        let close = match c.eat(|c| matches!(c, '[' | '【' | '(' | '〔'))? {
            '[' => ']',
            '【' => '】',
            '(' => ')',
            _ => '〕',
        };
        c.blanks();
        c.digit_next().then_some(close)
    });
    let start = c;
    let mut ymd = date(&mut c);
    let mut day_of_week = ymd.and_then(|_| weekday(&mut c));
    let hms = match ymd {
        None => clock(&mut c),
        Some(_) => attempt(&mut c, |c| {
            let joined = c.eat(|c| matches!(c, 'T' | 't')).is_some();
            if !joined && !c.blanks() && !c.line[..c.at].ends_with(['日', '号']) {
                return None;
            }
            clock(c)
        }),
    };
    let mut time_first = false;
    if hms.is_some() && ymd.is_none() {
        // `14:00 2023-10-10`: the time first.
        if let Some(d) = attempt(&mut c, |c| {
            c.blanks();
            date(c)
        }) {
            ymd = Some(d);
            day_of_week = weekday(&mut c);
            time_first = true;
        }
    }
    let raw = &line[start.at..c.at];
    let Some((h, mi, s, nano)) = hms else {
        if let Some((y, m, d)) = ymd {
            let mut heading = c;
            heading.blanks();
            if let Some(close) = close {
                heading.eat(|c| c == close);
                heading.blanks();
            }
            let written = shown(raw);
            if heading.peek().is_some() {
                return Err(format!(
                    "starts with the date `{written}` but no time of day after it (like 2023-10-10 14:00:00)"
                ));
            }
            // A date alone: the heading of the events under it.
            let date = chrono::NaiveDate::from_ymd_opt(y, m, d)
                .ok_or_else(|| format!("starts with `{written}`, which is not a real date"))?;
            check_weekday(date, day_of_week, &written)?;
            return Ok(Read::Heading(date));
        }
        if yearless_date(&start) {
            return Err(
                "starts with a date without its year: write the year too (2023-10-10 14:00:00)"
                    .into(),
            );
        }
        if start.digit_next() {
            return Err(NO_TIME.into());
        }
        return Ok(Read::Text);
    };
    let seconds = {
        let t = &line[start.at..c.at];
        t.matches([':', '：']).count() >= 2 || t.contains('秒')
    };
    let mut offset = zone(&mut c, seconds)?;
    let written = &line[start.at..c.at];
    let time = chrono::NaiveTime::from_hms_nano_opt(h, mi, s, nano)
        .filter(|_| s < 60)
        .ok_or_else(|| not_real(&shown(written)))?;
    let date = match ymd {
        Some((y, m, d)) => {
            let date = chrono::NaiveDate::from_ymd_opt(y, m, d)
                .ok_or_else(|| not_real(&shown(written)))?;
            check_weekday(date, day_of_week, &shown(written))?;
            Some(date)
        }
        None => None,
    };
    if let Some(close) = close {
        c.blanks();
        if c.eat(|c| c == close).is_none() {
            return Err(format!(
                "opens a bracket before its time `{}` and does not close it after",
                shown(written)
            ));
        }
    }
    // After the closing bracket, an offset or AM/PM is read or refused as without it;
    // a second offset after the first is a contradiction or a repetition: refused.
    if (close.is_some() || offset.is_some())
        && let Some(more) = zone(&mut c, true)?
    {
        if offset.is_some() {
            return Err(format!(
                "has two offsets after its time (`{}`): keep one",
                shown(&line[start.at..c.at])
            ));
        }
        offset = Some(more);
    }
    // 上午/下午 after the time: which clock is meant cannot be told.
    let mut t = c;
    t.blanks();
    if let Some(w) = DAY_PARTS
        .iter()
        .find(|w| !t.rest().starts_with(|c: char| c.is_ascii()) && t.rest().starts_with(*w))
    {
        return Err(format!(
            "has `{w}` after its time: write the time on the 24-hour clock (14:00) without it"
        ));
    }
    // A weekday after the time must be the date's (checked once the date is known).
    let day_after = weekday(&mut c);
    // A second time (`09:00-11:00`, `09:00 ~ 11:00`): which one is meant cannot be told.
    let mut t = c;
    t.blanks();
    t.eat(|c| matches!(c, '-' | '~' | '—'));
    t.blanks();
    if clock(&mut t).is_some() {
        return Err(
            "has a second time after its time (a time range?): write the one time of the event"
                .into(),
        );
    }
    // The text: after spaces, or a comma, colon or dash the page put between.
    let after_time = c;
    c.blanks();
    while c
        .eat(|c| matches!(c, ',' | '，' | ':' | '、' | ';' | '|' | '-' | '—'))
        .is_some()
    {
        c.blanks();
    }
    let text_dated = ymd.is_none() && starts_dated(&c);
    let mut text = c.rest().trim_end_matches(is_blank);
    if text.is_empty() {
        // Nothing after the marks: they are the text (`14:00 -`), not between.
        text = after_time.rest().trim_matches(is_blank);
    }
    Ok(Read::Timed(
        Stamp {
            date,
            date_after: time_first,
            day_after,
            text_dated,
            time,
            offset,
            written,
        },
        text,
    ))
}

/// Whether a line's text starts with a date, with or without its year.
fn starts_dated(c: &Cursor<'_>) -> bool {
    let mut t = *c;
    date(&mut t).is_some() || yearless_date(c)
}

/// Words for a part of the day: after a time, they leave its clock unclear (`08:00 下午`).
const DAY_PARTS: [&str; 11] = [
    "上午", "下午", "中午", "晚上", "凌晨", "早上", "早晨", "傍晚", "夜里", "夜间", "深夜",
];

/// A weekday written beside a date must be that date's.
fn check_weekday(date: chrono::NaiveDate, day: Option<u32>, written: &str) -> Result<(), String> {
    use chrono::Datelike;
    match day {
        Some(day) if day != date.weekday().num_days_from_monday() => Err(format!(
            "starts with `{written}`, but {date} is a {}: check the date",
            date.weekday()
        )),
        _ => Ok(()),
    }
}

/// The beginning of a line, for a message.
fn shown(line: &str) -> String {
    let line = line.trim_matches(is_blank);
    match line.char_indices().nth(30) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

/// The bad lines of a text: the first [`MAX_LINE_ERRORS`] by line number, named, and
/// how many there are in all (a megabyte of bad lines keeps a few messages, not all).
#[derive(Default)]
struct Bad {
    named: Vec<(usize, String)>,
    count: usize,
}

/// Notes a bad line: its number and what is wrong with it. Lines are found bad almost
/// in order (a time waiting for its text, or a line of text between events, a few lines
/// later): the earliest are kept, in order, and only they are put into words.
fn refuse(bad: &mut Bad, number: usize, line: &str, problem: &str) {
    bad.count += 1;
    let at = bad.named.partition_point(|b| b.0 < number);
    if at < MAX_LINE_ERRORS {
        let message = format!("line {number} (`{}`) {problem}", shown(line));
        bad.named.insert(at, (number, message));
        bad.named.truncate(MAX_LINE_ERRORS);
    }
}

/// The events of a trace text at `pointer`, oldest first; `None` when a line cannot be
/// read (each such line is an error naming its number).
///
/// An event is one line (its time, then its text), or two: a time alone, then its text
/// on the next line that is not blank. A date alone on a line is the date of the times
/// under it that have none. A line of text before the first event or after the last,
/// with nothing like a date or a time in it (a page's heading or footer), is left out
/// with the warning `trace_line_skipped`; between events, under a date heading, when the
/// phrase table reads it (a carrier's words without their time), or in a trace whose
/// events take two lines (where a heading could be some event's text), it is an error.
pub fn events(
    text: &str,
    pointer: &str,
    rules: &Rules,
    errors: &mut Vec<FieldError>,
    notes: &mut Vec<Warning>,
) -> Option<Vec<Event>> {
    let mut read: Vec<(usize, Instant, &str)> = Vec::new();
    let mut bad = Bad::default();
    let mut heading = None;
    // A time alone on its line, waiting for its text: its line number and the line.
    let mut waiting: Option<(usize, &str, Instant)> = None;
    let mut two_lines = false;
    // Lines of text with no time, and whether a date heading stood above them with no
    // event since (a time missing under its date, not a page's footer).
    let mut loose: Vec<(usize, &str, bool)> = Vec::new();
    let mut under_heading = false;
    // The date heading's line, and whether a line with its own date ended its reach.
    let mut heading_line: Option<(usize, &str)> = None;
    let mut heading_ended = false;
    // Events on one line, and the times alone on theirs whose text came on the next.
    let mut one_line = false;
    let mut two_line_times: Vec<(usize, &str)> = Vec::new();
    for (i, line) in lines(text).enumerate() {
        let number = i + 1;
        let reading = read_line(line);
        if let Some((n, l, _)) = waiting
            && matches!(reading, Ok(Read::Heading(_) | Read::Timed(..)) | Err(_))
        {
            waiting = None;
            refuse(&mut bad, n, l, NO_TEXT);
        }
        match reading {
            Err(problem) => refuse(&mut bad, number, line, &problem),
            Ok(Read::Blank) => {}
            Ok(Read::Heading(date)) => {
                if let Some((n, l)) = heading_line.filter(|_| under_heading) {
                    refuse(&mut bad, n, l, NO_EVENT_UNDER);
                }
                heading = Some(date);
                heading_line = Some((number, line));
                heading_ended = false;
                under_heading = true;
            }
            Ok(Read::Text) => match waiting.take() {
                Some((n, l, at)) => {
                    two_line_times.push((n, l));
                    read.push((n, at, line.trim_matches(is_blank)));
                }
                None => loose.push((number, line, under_heading)),
            },
            Ok(Read::Timed(stamp, text)) => {
                under_heading = false;
                if stamp.date.is_some() {
                    if heading.is_some() && stamp.date_after {
                        refuse(
                            &mut bad,
                            number,
                            line,
                            "has a date after its time, under a date heading: which date is the event's cannot be told; write the date before the time (2023-10-10 14:00:00)",
                        );
                        continue;
                    }
                    // A line with its own date ends the heading's reach: a bare time
                    // after it could be under either date.
                    heading_ended |= heading.take().is_some();
                } else if stamp.text_dated {
                    refuse(
                        &mut bad,
                        number,
                        line,
                        "has a time under a date heading and then a date: which date is the event's cannot be told; write the date before the time (2023-10-10 14:00:00)",
                    );
                    continue;
                }
                let Some(date) = stamp.date.or(heading) else {
                    refuse(
                        &mut bad,
                        number,
                        line,
                        if heading_ended {
                            "has a time of day but no date, after a line with its own date: whether the date above or the heading's is meant cannot be told; write the date before it (2023-10-10 14:00:00)"
                        } else {
                            "has a time of day but no date: write the date before it (2023-10-10 14:00:00), or alone on a line above"
                        },
                    );
                    continue;
                };
                if check_weekday(date, stamp.day_after, "").is_err() {
                    use chrono::Datelike;
                    refuse(
                        &mut bad,
                        number,
                        line,
                        &format!(
                            "has a weekday after its time that is not {date}'s (a {}): check the date, or put the text after the time without it",
                            date.weekday()
                        ),
                    );
                    continue;
                }
                match time::from_wall_clock(
                    date.and_time(stamp.time),
                    stamp.offset,
                    rules.time_zone,
                ) {
                    Err(e) => {
                        let written = match stamp.date {
                            Some(_) => shown(stamp.written),
                            None => format!("{date} {}", shown(stamp.written)),
                        };
                        let problem = match e {
                            time::TimeError::Malformed => not_real(&written),
                            e => format!("starts with `{written}`, which {e}"),
                        };
                        refuse(&mut bad, number, line, &problem);
                    }
                    Ok(at) if text.is_empty() => {
                        waiting = Some((number, line, at));
                        two_lines = true;
                    }
                    Ok(at) => {
                        one_line = true;
                        read.push((number, at, text));
                    }
                }
            }
        }
    }
    if let Some((n, l, _)) = waiting {
        refuse(&mut bad, n, l, NO_TEXT);
    }
    if let Some((n, l)) = heading_line.filter(|_| under_heading) {
        refuse(&mut bad, n, l, NO_EVENT_UNDER);
    }
    // Events on one line and events on two in one paste: the line under a time alone
    // could be a heading or footer rather than its text.
    if one_line {
        for (n, l) in two_line_times {
            refuse(
                &mut bad,
                n,
                l,
                "has a time alone on its line while other lines give their text beside their time: put this event's text on its time's line",
            );
        }
    }
    let first = read.iter().map(|r| r.0).min().unwrap_or(usize::MAX);
    let last = read.iter().map(|r| r.0).max().unwrap_or(0);
    let mut around = Vec::new();
    for (number, line, under_heading) in loose {
        if dated(line) {
            refuse(&mut bad, number, line, NO_TIME);
        } else if two_lines {
            refuse(
                &mut bad,
                number,
                line,
                "does not start with a time, and is no event's text (each time alone on its line is followed by its text): remove it",
            );
        } else if under_heading || (first..=last).contains(&number) || read.is_empty() {
            refuse(&mut bad, number, line, NO_TIME);
        } else {
            around.push((number, line));
        }
    }
    // A heading and a footer are a few lines: many lines of text around the events are
    // no page's frame, and a warning each would swell the response.
    let many = around.len() > MAX_SKIPPED_LINES;
    let mut skipped = Vec::new();
    for (number, line) in around {
        if many {
            refuse(
                &mut bad,
                number,
                line,
                "does not start with a time, and the text has too many such lines around its events to leave them out as a page's heading or footer",
            );
        } else if rules.read_description(line).is_some() {
            // A carrier's words without their time (a description wrapped onto the next
            // line, an event whose time was not copied): left out, it could change the
            // decision.
            refuse(
                &mut bad,
                number,
                line,
                "reads as a carrier's text but has no time: put its time before it",
            );
        } else {
            skipped.push((number, line));
        }
    }
    if bad.count > 0 {
        for (_, message) in bad.named {
            errors.push(FieldError::new(pointer, message));
        }
        if bad.count > MAX_LINE_ERRORS {
            errors.push(FieldError::new(
                pointer,
                format!(
                    "has {} more lines without a readable time",
                    bad.count - MAX_LINE_ERRORS
                ),
            ));
        }
        return None;
    }
    if read.is_empty() {
        errors.push(FieldError::new(
            pointer,
            "has no event: paste the trace's lines (each its time, then the carrier's text), or leave the field out when there is no trace",
        ));
        return None;
    }
    for (number, line) in skipped {
        notes.push(Warning {
            code: crate::codes::WarningCode::TraceLineSkipped,
            args: vec![
                ("pointer", Arg::Text(format!("{pointer} line {number}"))),
                ("line", Arg::Text(shown(line))),
            ],
        });
    }
    // Tracking pages list the newest event first; events keep their page order among
    // equal times once oldest first.
    super::oldest_first(&mut read, |r| r.1);
    // A line that records no movement (a waybill created, not collected yet) is left
    // out, with a warning; the text still had events, so it is no empty paste.
    Some(
        read.into_iter()
            .filter_map(|(line, at, text)| {
                let pointer = format!("{pointer} line {line}");
                let reading = super::read_description(rules, text, &pointer, notes);
                let status = super::moved(reading, &pointer, Some(text), notes)?;
                Some(Event {
                    at,
                    status,
                    pointer: pointer.into(),
                    raw: Some(text.to_owned()),
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
    fn dates_times_and_offsets_are_taken_apart() {
        fn at(s: &str) -> Cursor<'_> {
            Cursor { line: s, at: 0 }
        }
        assert_eq!(date(&mut at("2023-10-10")), Some((2023, 10, 10)));
        assert_eq!(date(&mut at("2023/1/2 ")), Some((2023, 1, 2)));
        assert_eq!(date(&mut at("２０２３．１０．１０")), Some((2023, 10, 10)));
        assert_eq!(date(&mut at("2023年10月10日14时")), Some((2023, 10, 10)));
        assert_eq!(date(&mut at("2023-10/10")), None);
        assert_eq!(date(&mut at("2023-10-100")), None);
        assert_eq!(date(&mut at("20231010")), None);
        assert_eq!(date(&mut at("Oct 10, 2023 14:00")), Some((2023, 10, 10)));
        assert_eq!(date(&mut at("october 9 2023")), Some((2023, 10, 9)));
        assert_eq!(date(&mut at("10 Sept. 2023")), Some((2023, 9, 10)));
        assert_eq!(date(&mut at("Oc 10, 2023")), None);
        assert_eq!(date(&mut at("Oct 10, 20231")), None);
        assert_eq!(date(&mut at("10/11/2023")), None);
        assert_eq!(clock(&mut at("9:05")), Some((9, 5, 0, 0)));
        assert_eq!(clock(&mut at("14:00:00.5")), Some((14, 0, 0, 500_000_000)));
        assert_eq!(
            clock(&mut at("14:00:00.1234567891")),
            Some((14, 0, 0, 123_456_789))
        );
        assert_eq!(clock(&mut at("14时05分30秒")), Some((14, 5, 30, 0)));
        assert_eq!(clock(&mut at("14:5")), None);
        assert_eq!(clock(&mut at("14:000")), None);
        let mut c = at("14:00:快件");
        assert_eq!(clock(&mut c), Some((14, 0, 0, 0)));
        assert_eq!(c.rest(), ":快件");
        for (s, want) in [
            ("Z", Ok(Some(0))),
            (" +08:00", Ok(Some(480))),
            (" -0500", Ok(Some(-300))),
            (" UTC", Ok(Some(0))),
            (" gmt+8", Ok(Some(480))),
            (" (UTC+05:30)", Ok(Some(330))),
            (" 快件", Ok(None)),
            (" Zhejiang", Ok(None)),
            (" Z 快件", Ok(Some(0))),
            (" (快件)", Ok(None)),
            (" Z字楼", Ok(None)),
            (" UTC大厦", Ok(None)),
            (" -10月11日", Ok(None)),
            (" -08号柜", Ok(None)),
            ("+08 快件", Ok(Some(480))),
        ] {
            assert_eq!(zone(&mut at(s), true), want, "{s:?}");
        }
        for s in [
            " +8",
            " +8:00",
            " UTC+",
            " GMT+14:01",
            " -13",
            " EST",
            " pm",
            " (GMT+8",
            " +08:00:00",
            " +0800.5",
            " +10 快件",
            "Z字楼",
        ] {
            assert!(zone(&mut at(s), true).is_err(), "{s:?}");
        }
        // `09:00-11:00`: a range or an offset? Refused; with seconds, an offset.
        assert!(zone(&mut at("-11:00 预约"), false).is_err());
        assert_eq!(zone(&mut at("-05:00 快件"), true), Ok(Some(-300)));
        assert_eq!(weekday(&mut at(" 星期日")), Some(6));
        assert_eq!(weekday(&mut at("(周一)")), Some(0));
        assert!(yearless_date(&at("10-10 14:00")) && yearless_date(&at("10月10日")));
        assert!(!yearless_date(&at("10-10-10")));
    }

    #[test]
    fn lines_with_dates_or_times_are_never_skipped() {
        for line in [
            "更新时间 2023-10-11",
            "客服 0571-1234567",
            "12点前",
            "1号仓",
            " ２:３",
        ] {
            assert!(dated(line), "{line}");
        }
        for line in [
            "时间 地点和跟踪进度",
            "运单号：YT1234567890",
            "复制",
            "以上信息由物流公司提供",
        ] {
            assert!(!dated(line), "{line}");
        }
    }

    #[test]
    fn a_long_line_is_shown_shortened() {
        assert_eq!(shown(&"快".repeat(100)), format!("{}…", "快".repeat(30)));
        assert_eq!(shown(" ab "), "ab");
    }
}
