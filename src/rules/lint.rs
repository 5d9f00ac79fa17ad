//! What a rules file's author should know but that does not stop the file loading:
//! warnings, each with a code (docs/rules.md lists them) and a place in the file. Also
//! the hints that make an error say how to fix it.

use std::ops::Range;

use toml::Spanned;

use super::Thresholds;
use super::raw::{RawRules, RawZone};

/// Declares the warning codes with their wire names, `ALL` and `as_str`.
macro_rules! warning_codes {
    ($( $(#[$meta:meta])* $variant:ident = $wire:literal, )+) => {
        /// Why a rules file deserves a look.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RulesWarningCode {
            $( $(#[$meta])* $variant, )+
        }

        impl RulesWarningCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [RulesWarningCode] = &[$(RulesWarningCode::$variant),+];

            /// The code as `rules check` prints it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(RulesWarningCode::$variant => $wire,)+
                }
            }
        }
    };
}

warning_codes! {
    /// A text of a notice says a number equal to one of its thresholds.
    LiteralThreshold = "literal_threshold",
    /// A window without `until`.
    UntilFurtherNotice = "until_further_notice",
    /// An adcode or prefix inside a prefix the same zone already lists.
    RedundantCode = "redundant_code",
    /// An adcode or prefix that names no place of the division table.
    CodeNotInTable = "code_not_in_table",
    /// The file has no `[[test]]`.
    NoTests = "no_tests",
}

impl std::fmt::Display for RulesWarningCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for RulesWarningCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One warning, at a 1-based line and column (0 when there is no place in the file).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RulesWarning {
    pub code: RulesWarningCode,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl RulesWarning {
    /// `origin:line:column: warning[code]: message`, as `rules check` prints it.
    pub fn describe(&self, origin: &str) -> String {
        if self.line > 0 {
            format!(
                "{origin}:{}:{}: warning[{}]: {}",
                self.line, self.column, self.code, self.message
            )
        } else {
            format!("{origin}: warning[{}]: {}", self.code, self.message)
        }
    }
}

/// A TOML syntax error's message, with a fix when the mistake is a common one: the
/// notice's "24时" written as a date-time (`T24:00:00`), which TOML cannot hold; a
/// notice written without the head of a rules file.
pub(super) fn syntax_hint(source: &str, span: Option<Range<usize>>, message: &str) -> String {
    // The value the error points at, not its whole line: a line may hold a correct
    // "2023-10-28 24:00" string beside the real mistake.
    let token = span
        .and_then(|s| {
            let rest = source.get(s.start..)?;
            rest.get(..rest.find([',', '}', ']', '\n', '#']).unwrap_or(rest.len()))
        })
        .unwrap_or_default();
    // A date-time starts with its year; a string holding "24:00" is already right.
    let datetime = token.starts_with(|c: char| c.is_ascii_digit());
    if datetime && ["T24:", "t24:", " 24:"].iter().any(|h| token.contains(h)) {
        format!(
            "{}: the end of a day (the notice's \"24时\") is no TOML time; write it as the string \"YYYY-MM-DD 24:00\" (like until = \"2023-10-28 24:00\", read in the time zone), or as the next day's T00:00:00",
            message.trim_end()
        )
    } else if ["version", "time_zone", "languages"]
        .iter()
        .any(|f| message.starts_with(&format!("missing field `{f}`")))
    {
        // A notice written alone, without the head every rules file has.
        format!(
            "{}: a rules file begins with `version`, `time_zone`, `languages`, `[labels]`, `[warnings]` and `[text_view]`, then its `[[notice]]`s; `aftersales rules init` prints a complete one to start from",
            message.trim_end()
        )
    } else {
        message.to_owned()
    }
}

/// Numbers in a text equal to one of the notice's thresholds, each once with the names
/// of every threshold of that value. A number that is part of a date, a clock time or
/// a section number (`2023-10-28`, `10月28日24时`, `24:00`, `3.1.3`) is none.
pub(super) fn literal_thresholds(text: &str, t: &Thresholds) -> Vec<(u64, Vec<&'static str>)> {
    let named = [
        (
            u64::try_from(t.stall_after.num_hours()).unwrap_or(0),
            "stall_after_hours",
        ),
        (
            u64::try_from(t.intercept_window.num_hours()).unwrap_or(0),
            "intercept_window_hours",
        ),
        (
            u64::try_from(t.return_countdown.num_hours()).unwrap_or(0),
            "return_countdown_hours",
        ),
        (t.surge_open_refund_requests, "surge_open_refund_requests"),
    ];
    let chars: Vec<char> = text.chars().collect();
    let mut found: Vec<(u64, Vec<&'static str>)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let digit_at = |k: Option<usize>| {
            k.and_then(|k| chars.get(k))
                .is_some_and(char::is_ascii_digit)
        };
        let before = start.checked_sub(1).and_then(|k| chars.get(k)).copied();
        let after = chars.get(i).copied();
        // `-`, `.` and `/` join the parts of a date or a section number only between digits
        // ("24-hour" is a duration).
        let joined_before =
            matches!(before, Some('-' | '.' | '/')) && digit_at(start.checked_sub(2));
        let joined_after = matches!(after, Some('-' | '.' | '/')) && digit_at(Some(i + 1));
        let clock = matches!(before, Some(':' | '：' | '月'))
            || matches!(
                after,
                Some(':' | '：' | '时' | '点' | '月' | '日' | '号' | '年')
            );
        if joined_before || joined_after || clock {
            continue;
        }
        let Ok(n) = chars[start..i].iter().collect::<String>().parse::<u64>() else {
            continue;
        };
        let names: Vec<&'static str> = named
            .iter()
            .filter(|(value, _)| *value == n)
            .map(|(_, name)| *name)
            .collect();
        if !names.is_empty() && !found.iter().any(|(m, _)| *m == n) {
            found.push((n, names));
        }
    }
    found
}

/// Redundant codes within a zone, and codes no place of the division table has.
pub(super) fn zone_codes(z: &RawZone) -> Vec<(&Spanned<String>, super::RulesWarningCode, String)> {
    let prefixes: Vec<&str> = z
        .adcode_prefixes
        .iter()
        .map(|p| p.get_ref().as_str())
        .filter(|p| well_formed(p, &[2, 4]))
        .collect();
    let mut out = Vec::new();
    for c in z.adcode_prefixes.iter().chain(&z.adcodes) {
        let s = c.get_ref().as_str();
        if !well_formed(s, &[2, 4, 6]) {
            continue;
        }
        if let Some(outer) = prefixes
            .iter()
            .find(|p| p.len() < s.len() && s.starts_with(**p))
        {
            out.push((
                c,
                RulesWarningCode::RedundantCode,
                format!(
                    "`{s}` is inside `{outer}`, which zone `{}` already lists: drop `{s}` (a narrower area with its own window belongs in a zone of its own)",
                    z.id.get_ref()
                ),
            ));
        }
        if !known(s) {
            out.push((
                c,
                RulesWarningCode::CodeNotInTable,
                format!(
                    "`{s}` names no {} of the 2023 division table: check the digits; only a request giving an adcode under it can match (names and addresses never resolve there)",
                    match s.len() {
                        2 => "province",
                        4 => "city",
                        _ => "county-level unit",
                    }
                ),
            ));
        }
    }
    out
}

/// Whether the division table has a place under this 2-, 4- or 6-digit code. A city
/// code counts when any of its districts is listed (Beijing's districts sit under the
/// placeholder 1101, which is no city of its own).
fn known(code: &str) -> bool {
    let g = crate::gazetteer();
    let Ok(n) = code.parse::<u32>() else {
        return false;
    };
    match code.len() {
        2 => g.area_of_adcode(n * 10_000).1,
        4 => g.area_of_adcode(n * 100).1 || (1..100).any(|d| g.area_of_adcode(n * 100 + d).1),
        6 => g.area_of_adcode(n).1,
        _ => false,
    }
}

/// The place a 6-digit city code (`330200`) names when the city has districts, which an
/// exact code in `adcodes` would never match; `None` for any other code (东莞市 441900,
/// a city without districts, is its own county-level unit).
pub(super) fn city_with_districts(code: &str) -> Option<String> {
    if !well_formed(code, &[6]) || !code.ends_with("00") || code.ends_with("0000") {
        return None;
    }
    let g = crate::gazetteer();
    let n: u32 = code.parse().ok()?;
    let has_districts = (1..100).any(|d| g.area_of_adcode(n + d).1);
    has_districts.then(|| g.describe(g.area_of_adcode(n).0))
}

fn well_formed(code: &str, lengths: &[usize]) -> bool {
    lengths.contains(&code.len())
        && code.chars().all(|c| c.is_ascii_digit())
        && !code.starts_with('0')
}

/// Codes from the file's own zones, to show in the hints of malformed ones.
#[derive(Debug, Default)]
pub(super) struct Examples {
    prefix: Option<(String, String, String)>,
    adcode: Option<(String, String, String)>,
}

impl Examples {
    /// The first well-formed prefix and adcode of the file that name known places.
    pub(super) fn from_file(raw: &RawRules) -> Examples {
        let g = crate::gazetteer();
        let mut ex = Examples::default();
        for z in raw.notice.iter().flat_map(|n| &n.zones) {
            let describe = |code: &str, pad: u32| {
                let n: u32 = code.parse().unwrap_or_default();
                (
                    z.id.get_ref().clone(),
                    code.to_owned(),
                    g.describe(g.area_of_adcode(n * pad).0),
                )
            };
            if ex.prefix.is_none()
                && let Some(p) = z
                    .adcode_prefixes
                    .iter()
                    .map(|p| p.get_ref().as_str())
                    .find(|p| well_formed(p, &[2, 4]) && known(p))
            {
                ex.prefix = Some(describe(p, if p.len() == 2 { 10_000 } else { 100 }));
            }
            if ex.adcode.is_none()
                && let Some(c) = z
                    .adcodes
                    .iter()
                    .map(|c| c.get_ref().as_str())
                    .find(|c| well_formed(c, &[6]) && known(c))
            {
                ex.adcode = Some(describe(c, 1));
            }
        }
        ex
    }

    /// ` (zone `harbin` uses `2301`, 黑龙江省哈尔滨市)`, or nothing.
    pub(super) fn prefix_hint(&self) -> String {
        match &self.prefix {
            Some((zone, code, place)) => format!(" (zone `{zone}` uses `{code}`, {place})"),
            None => String::new(),
        }
    }

    /// ` (zone `co_host_venues` uses `330225`, 浙江省宁波市象山县)`, or nothing.
    pub(super) fn adcode_hint(&self) -> String {
        match &self.adcode {
            Some((zone, code, place)) => format!(" (zone `{zone}` uses `{code}`, {place})"),
            None => String::new(),
        }
    }
}

/// Whether `c` shows as nothing: a Unicode format character (category Cf) or another
/// default-ignorable code point (the soft hyphen, zero-width spaces and joiners, word
/// joiners, the byte-order mark, variation selectors, the Hangul fillers, tags). Two
/// texts or versions differing only by one look the same to anyone reading them.
pub(super) fn invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// Whether `s` shows nothing: only whitespace and [`invisible`] characters.
pub(super) fn blank(s: &str) -> bool {
    s.chars().all(|c| c.is_whitespace() || invisible(c))
}

/// The first [`invisible`] character of a text that is not part of an emoji: the
/// zero-width joiner (U+200D) and the emoji presentation selector (U+FE0F) may follow a
/// visible character (👩‍💻, ⚠️), the joiner only with a visible character after it;
/// anything else invisible, and these anywhere else, is refused.
pub(super) fn invisible_in_text(s: &str) -> Option<char> {
    let chars: Vec<char> = s.chars().collect();
    // Whether the characters before are a visible one and joiners anchored to it.
    let mut anchored = false;
    for (i, &c) in chars.iter().enumerate() {
        if !invisible(c) {
            anchored = !c.is_whitespace();
            continue;
        }
        let joined = match c {
            '\u{200d}' => chars
                .get(i + 1)
                .is_some_and(|n| !invisible(*n) && !n.is_whitespace()),
            '\u{fe0f}' => true,
            _ => false,
        };
        if !(anchored && joined) {
            return Some(c);
        }
    }
    None
}
