//! Instants as callers and rules authors write them, and as responses show them.
//!
//! Accepted forms: RFC 3339 with an offset or `Z` (`T` and `Z` in either case); a local
//! date-time without offset (`2023-09-25 10:00:00`, `2023-09-25T10:00:00`, seconds
//! optional) read in the policy's time zone; an integer of Unix epoch milliseconds.
//! Every form names an instant from 1970-01-01T00:00:00Z to 9996-12-31T23:59:59.999Z,
//! so that every time a response shows, and every deadline counted from them (at most
//! two thresholds of at most 366 days each: 732 days), is RFC 3339 with a four-digit
//! year in any time zone; an integer
//! from 1973-03-03T09:46:40Z (10^11 ms) on, because a smaller one is epoch seconds sent
//! by mistake.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

/// An instant on the UTC time line.
pub type Instant = DateTime<Utc>;

/// The earliest epoch milliseconds accepted: 1973-03-03T09:46:40Z (10^11). Every epoch
/// *second* from 1970 to the year 5138 is below it, and read as milliseconds would put
/// the time in January 1970 (a countdown long over, a parcel stalled for decades): a
/// smaller integer is that mistake in the caller's units, refused as
/// [`TimeError::EpochSeconds`], not a real after-sales time.
pub const EPOCH_MS_MIN: i64 = 100_000_000_000;
/// The latest epoch milliseconds accepted: 9996-12-31T23:59:59.999Z. A deadline chains
/// at most two thresholds of a rules file onto an input (at most 366 days each), so the
/// latest one is 9999-01-02T23:59:59.999Z, 9999-01-03T13:59:59.999 at +14:00 (the
/// largest offset): every time a response carries, counted or read, has a four-digit
/// year in any time zone and is valid RFC 3339. The end of 9997 would not do: 732 days
/// after it is 10000-01-02.
pub const EPOCH_MS_MAX: i64 = 253_307_692_799_999;

/// Why a time could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// Not one of the accepted shapes.
    Malformed,
    /// The local time does not exist in the time zone (a gap at a clock change).
    NonexistentLocal,
    /// Outside 1970-01-01T00:00:00Z ..= 9996-12-31T23:59:59.999Z (see [`parse`]).
    OutOfRange,
    /// An integer from 0 to below [`EPOCH_MS_MIN`]: epoch seconds, not milliseconds.
    EpochSeconds,
    /// An integer below [`EPOCH_MS_MIN`] that reads as a date written without separators
    /// (20231001): more likely that than epoch seconds of 1970-08, so said as such.
    CompactDate,
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeError::Malformed => {
                "is not a time: use RFC 3339 (2023-09-25T10:00:00+08:00), a local time \
                 (2023-09-25 10:00:00) or Unix epoch milliseconds"
            }
            TimeError::NonexistentLocal => {
                "is a local time that does not exist in the policy's time zone"
            }
            TimeError::OutOfRange => {
                "is out of range: times run from 1970-01-01T00:00:00Z to 9996-12-31T23:59:59Z \
                 (epoch milliseconds 100000000000 to 253307692799999, from 1973-03-03); on \
                 those two days, write the time in UTC (with Z)"
            }
            TimeError::EpochSeconds => {
                "is below 100000000000, before 1973-03-03 as epoch milliseconds: it looks like \
                 epoch seconds (multiply by 1000)"
            }
            TimeError::CompactDate => {
                "is below 100000000000, before 1973-03-03 as epoch milliseconds: it looks like \
                 a date written without separators; write a local time (2023-09-25 10:00:00) \
                 or RFC 3339 (2023-09-25T10:00:00+08:00)"
            }
        })
    }
}

/// Whether `n` reads as a calendar date written as YYYYMMDD, from 1970 on.
fn compact_date(n: i64) -> bool {
    (19_700_101..=99_991_231).contains(&n)
        && NaiveDate::from_ymd_opt(
            (n / 10_000) as i32,
            (n / 100 % 100) as u32,
            (n % 100) as u32,
        )
        .is_some()
}

/// Reads epoch milliseconds.
pub fn from_epoch_millis(ms: i64) -> Result<Instant, TimeError> {
    if (0..EPOCH_MS_MIN).contains(&ms) {
        return Err(if compact_date(ms) {
            TimeError::CompactDate
        } else {
            TimeError::EpochSeconds
        });
    }
    if !(EPOCH_MS_MIN..=EPOCH_MS_MAX).contains(&ms) {
        return Err(TimeError::OutOfRange);
    }
    DateTime::from_timestamp_millis(ms).ok_or(TimeError::OutOfRange)
}

// The grammar of time strings as regular-expression pieces, string literals so that
// `concat!` can build the public patterns from them. A regular expression can only
// compare digits, hence the enumerations; the property tests in tests/engine check that
// the patterns and the parsers accept exactly the same strings.

/// A calendar-valid date from 1970-01-02 to 9996-12-30: any year from 1971 to 9995,
/// 1970 but its first day, 9996 but its last day, and the leap days (9996-02-29 the
/// last of them).
macro_rules! inner_date_pattern {
    () => {
        concat!(
            "(?:(?:197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-5])-",
            "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))",
            "|1970-(?:01-(?:0[2-9]|[12][0-9]|3[01])|(?:0[3578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])",
            "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))",
            "|9996-(?:(?:0[13578]|10)-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)",
            "|02-(?:0[1-9]|1[0-9]|2[0-8])|12-(?:0[1-9]|[12][0-9]|30))",
            "|(?:19(?:7[26]|8[048]|9[26])|[2-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)-02-29)",
        )
    };
}
pub(crate) use inner_date_pattern;

/// Hours and minutes (a wall clock, no leap seconds).
macro_rules! hour_minute_pattern {
    () => {
        "(?:[01][0-9]|2[0-3]):[0-5][0-9]"
    };
}
pub(crate) use hour_minute_pattern;

/// The exact grammar of a time string, as a regular expression for the OpenAPI schema:
/// a calendar-valid date, `T`, `t` or a space, hours and minutes, optional seconds and
/// fraction, and an optional `Z`, `z` or `±HH:MM` offset. Dates run from 1970-01-02 to
/// 9996-12-30; 1970-01-01 and 9996-12-31 only in UTC (`Z` or `±00:00`), so that every
/// accepted string is inside the accepted range of instants whatever its offset or the
/// policy's time zone. [`parse`] accepts exactly these strings.
pub const TIME_PATTERN: &str = concat!(
    "^(?:",
    inner_date_pattern!(),
    "[Tt ]",
    hour_minute_pattern!(),
    r"(?::[0-5][0-9](?:\.[0-9]{1,9})?)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?",
    "|(?:1970-01-01|9996-12-31)[Tt ]",
    hour_minute_pattern!(),
    r"(?::[0-5][0-9](?:\.[0-9]{1,9})?)?(?:[Zz]|[+-]00:00))$",
);

/// The first and the last day, accepted only in UTC (see [`TIME_PATTERN`]); constants,
/// not dates built for every time read.
const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
const LAST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(9996, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// Whether a wall-clock date with this offset (`None`: local) is inside the range: see
/// [`TIME_PATTERN`]. Any offset (up to ±23:59) or time zone keeps a date strictly
/// between the first and the last day inside 1970-01-01T00:00Z ..= 9996-12-31T23:59Z.
fn in_range(date: NaiveDate, offset: Option<i32>) -> bool {
    let (first, last) = (FIRST_DAY, LAST_DAY);
    (date > first && date < last) || ((date == first || date == last) && offset == Some(0))
}

/// Reads a time string: `2023-09-25T10:00:00+08:00`, `…Z`, or a local time
/// (`2023-09-25 10:00:00`, `2023-09-25T10:00`) in `tz`. Strict: exactly
/// [`TIME_PATTERN`], nothing trimmed. Instants run from 1970-01-01T00:00:00Z to
/// 9996-12-31T23:59:59.999999999Z.
pub fn parse(s: &str, tz: Tz) -> Result<Instant, TimeError> {
    let (naive, offset) = parse_parts(s).ok_or(TimeError::Malformed)?;
    from_wall_clock(naive, offset, tz)
}

/// A wall-clock date and time with its offset in minutes east of UTC (`None`: local, in
/// `tz`), read as [`parse`] reads the string it came from: the same range (the first
/// and the last day only in UTC) and the same rules at clock changes. For times other
/// parsers have taken apart (a pasted trace's lines).
pub fn from_wall_clock(
    naive: NaiveDateTime,
    offset: Option<i32>,
    tz: Tz,
) -> Result<Instant, TimeError> {
    if !in_range(naive.date(), offset) {
        return Err(TimeError::OutOfRange);
    }
    match offset {
        // The wall clock less its offset (at most 23:59, so a valid fixed offset): UTC.
        // As an offset, not a duration: seconds within a day, and the day's neighbour
        // when it wraps (a duration goes through nanoseconds and days).
        Some(minutes) => chrono::FixedOffset::east_opt(minutes * 60)
            .and_then(|offset| naive.checked_sub_offset(offset))
            .map(|utc| utc.and_utc())
            .ok_or(TimeError::Malformed),
        None => local_to_instant(naive, tz),
    }
}

/// Splits a time string into its wall-clock part and its offset in minutes. Each part is
/// matched against its shape whole (one length check, no index beyond it): the date,
/// the hour and minute, the optional seconds and fraction, the optional offset.
fn parse_parts(s: &str) -> Option<(NaiveDateTime, Option<i32>)> {
    let (date, rest) = s.as_bytes().split_first_chunk::<10>()?;
    let [y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1] = *date else {
        return None;
    };
    let (clock, rest) = rest.split_first_chunk::<6>()?;
    let [b'T' | b't' | b' ', h0, h1, b':', mi0, mi1] = *clock else {
        return None;
    };
    let year = i32::try_from(number([y0, y1, y2, y3])?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number([mo0, mo1])?, number([d0, d1])?)?;
    let (hour, minute) = (number([h0, h1])?, number([mi0, mi1])?);
    let (second, nano, rest) = match *rest {
        [b':', s0, s1, b'.', ref rest @ ..] => {
            let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=9).contains(&digits) {
                return None;
            }
            let (fraction, rest) = rest.split_at(digits);
            let fraction = fraction.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'));
            let nano = fraction * 10u32.pow(9 - u32::try_from(digits).ok()?);
            (number([s0, s1])?, nano, rest)
        }
        [b':', s0, s1, ref rest @ ..] => (number([s0, s1])?, 0, rest),
        ref rest => (0, 0, rest),
    };
    // No leap seconds: the schema's pattern allows seconds up to 59.
    if second > 59 {
        return None;
    }
    let time = chrono::NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?;
    let offset = match *rest {
        [] => None,
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), h0, h1, b':', m0, m1] => {
            let (h, m) = (number([h0, h1])?, number([m0, m1])?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i32::try_from(h * 60 + m).ok()?;
            Some(if sign == b'-' { -minutes } else { minutes })
        }
        _ => return None,
    };
    Some((date.and_time(time), offset))
}

/// The number the ASCII digits spell (each field of a time: 2 or 4 digits, no loop
/// left after inlining). Always inlined: a call costs more than its few instructions.
#[inline(always)]
fn number<const N: usize>(digits: [u8; N]) -> Option<u32> {
    digits.iter().try_fold(0, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// Like [`parse`], but also accepts the notices' "24:00" (the end of that day), as in
/// `2023-10-28 24:00`. Used for rules files, never for requests. The end of a day is
/// the next day's start in `tz`, so it is checked against the range as an instant (the
/// end of the last day, 9996-12-31, is past it in a time zone behind UTC).
pub fn parse_with_end_of_day(s: &str, tz: Tz) -> Result<Instant, TimeError> {
    let t = s.trim();
    for sep in [" 24:00", "T24:00"] {
        if let Some(date) = t
            .strip_suffix(sep)
            .or_else(|| t.strip_suffix(&format!("{sep}:00")[..]))
            && let Ok(d) = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        {
            let next = d.succ_opt().ok_or(TimeError::OutOfRange)?;
            let t = local_to_instant(next.and_time(chrono::NaiveTime::MIN), tz)?;
            return if (0..=EPOCH_MS_MAX).contains(&t.timestamp_millis()) {
                Ok(t)
            } else {
                Err(TimeError::OutOfRange)
            };
        }
    }
    parse(t, tz)
}

/// A wall-clock time in `tz`. An ambiguous time (a repeated hour at a clock change)
/// takes the earlier instant; a time skipped by a clock change (China's summer time of
/// 1986–1991) is read with the offset in force before the change, as clocks do.
pub fn local_to_instant(naive: NaiveDateTime, tz: Tz) -> Result<Instant, TimeError> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(early, _) => Ok(early.with_timezone(&Utc)),
        LocalResult::None => {
            let before = naive - chrono::Duration::hours(3);
            let offset = tz
                .offset_from_local_datetime(&before)
                .earliest()
                .ok_or(TimeError::NonexistentLocal)?;
            let secs = chrono::Offset::fix(&offset).local_minus_utc();
            Ok((naive - chrono::Duration::seconds(i64::from(secs))).and_utc())
        }
    }
}

/// RFC 3339 in `tz`, whole seconds unless the instant has a fraction.
pub fn format(t: Instant, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// Whole seconds from `from` to `to`, rounded towards the past, so that a deadline a
/// fraction of a second ago already reads as negative.
pub fn seconds_between(from: Instant, to: Instant) -> i64 {
    (to - from).num_milliseconds().div_euclid(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SH: Tz = chrono_tz::Asia::Shanghai;

    fn at(s: &str) -> Instant {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn the_three_time_forms_name_the_same_instant() {
        let want = at("2023-09-25T02:00:00Z");
        assert_eq!(parse("2023-09-25T10:00:00+08:00", SH), Ok(want));
        assert_eq!(parse("2023-09-25T02:00:00Z", SH), Ok(want));
        assert_eq!(parse("2023-09-25 10:00:00", SH), Ok(want));
        assert_eq!(parse("2023-09-25T10:00:00", SH), Ok(want));
        assert_eq!(parse("2023-09-25 10:00", SH), Ok(want));
        assert_eq!(from_epoch_millis(want.timestamp_millis()), Ok(want));
    }

    #[test]
    fn nonsense_and_out_of_range_times_are_refused() {
        assert_eq!(parse("yesterday", SH), Err(TimeError::Malformed));
        assert_eq!(parse("2023-02-30 10:00:00", SH), Err(TimeError::Malformed));
        assert_eq!(parse("2023-09-25", SH), Err(TimeError::Malformed));
        assert_eq!(parse(" 2023-09-25 10:00:00", SH), Err(TimeError::Malformed));
        assert_eq!(parse("2023-09-25x10:00:00Z", SH), Err(TimeError::Malformed));
        assert_eq!(
            parse("2023-09-25T10:00:00Zz", SH),
            Err(TimeError::Malformed)
        );
        assert_eq!(parse("2023-09-25T10:00:60", SH), Err(TimeError::Malformed));
        assert_eq!(
            parse("2023-09-25T10:00:00+24:00", SH),
            Err(TimeError::Malformed)
        );
        assert_eq!(parse("2023-09-25T10:00:00.", SH), Err(TimeError::Malformed));
        assert_eq!(from_epoch_millis(-1), Err(TimeError::OutOfRange));
        assert_eq!(from_epoch_millis(i64::MAX), Err(TimeError::OutOfRange));
    }

    #[test]
    fn a_time_with_any_digit_replaced_by_another_character_is_refused() {
        let good = "2023-09-25T10:00:00.125+08:00";
        assert!(parse(good, SH).is_ok());
        for (i, c) in good.char_indices().filter(|(_, c)| c.is_ascii_digit()) {
            for other in ['a', '/', ':', ' ', '\u{0660}'] {
                let bad = format!("{}{other}{}", &good[..i], &good[i + c.len_utf8()..]);
                assert_eq!(parse(&bad, SH), Err(TimeError::Malformed), "{bad}");
            }
        }
    }

    #[test]
    fn every_cut_and_every_one_character_change_of_a_time_reads_as_the_pattern_says() {
        let pattern = regex::Regex::new(TIME_PATTERN).unwrap_or_else(|e| panic!("{e}"));
        let mut strings = Vec::new();
        for good in [
            "2023-09-25T10:00:00+08:00",
            "2023-09-25 10:00:00",
            "2023-09-25t10:00z",
            "2024-02-29T23:59:59.123456789-23:59",
            "1970-01-01T00:00:00.5Z",
        ] {
            let chars: Vec<char> = good.chars().collect();
            for i in 0..=chars.len() {
                strings.push(chars[..i].iter().collect::<String>());
                for other in "09:-+.TtZz x\u{0660}\u{FF10}中".chars() {
                    let mut changed = chars.clone();
                    changed.insert(i, other);
                    strings.push(changed.iter().collect());
                    if i < chars.len() {
                        changed.remove(i + 1);
                        strings.push(changed.iter().collect());
                    }
                }
            }
        }
        // Leap seconds, ten fraction digits, offsets past a day or an hour.
        strings.extend(
            [
                "2023-09-25T23:59:60Z",
                "2023-09-25T10:00:00.1234567890Z",
                "2023-09-25T10:00:00+24:00",
                "2023-09-25T10:00:00+08:60",
                "2023-09-25T10:00:00+0800",
                "2023-09-25T24:00:00Z",
            ]
            .map(String::from),
        );
        for s in strings {
            assert_eq!(parse(&s, SH).is_ok(), pattern.is_match(&s), "{s:?}");
        }
    }

    #[test]
    fn a_lowercase_t_and_z_are_rfc_3339_too() {
        let want = at("2023-09-25T02:00:00Z");
        assert_eq!(parse("2023-09-25t02:00:00z", SH), Ok(want));
        assert_eq!(parse("2023-09-25t10:00:00+08:00", SH), Ok(want));
        assert_eq!(parse("2023-09-25t10:00", SH), Ok(want));
    }

    #[test]
    fn instants_run_from_1970_to_9996_12_31_in_every_form() {
        let first = at("1970-01-01T00:00:00Z");
        let last = at("9996-12-31T23:59:59.999Z");
        assert_eq!(parse("1970-01-01T00:00:00Z", SH), Ok(first));
        assert_eq!(parse("1970-01-01T00:00:00+00:00", SH), Ok(first));
        assert_eq!(from_epoch_millis(0), Err(TimeError::EpochSeconds));
        assert_eq!(
            from_epoch_millis(EPOCH_MS_MIN - 1),
            Err(TimeError::EpochSeconds)
        );
        // Eight digits that are a date: said as a date without separators, not seconds.
        assert_eq!(from_epoch_millis(20231001), Err(TimeError::CompactDate));
        assert_eq!(from_epoch_millis(19700101), Err(TimeError::CompactDate));
        assert_eq!(from_epoch_millis(20230229), Err(TimeError::EpochSeconds));
        assert_eq!(from_epoch_millis(20231301), Err(TimeError::EpochSeconds));
        assert_eq!(from_epoch_millis(19691231), Err(TimeError::EpochSeconds));
        assert_eq!(from_epoch_millis(1696000000), Err(TimeError::EpochSeconds));
        assert_eq!(
            from_epoch_millis(EPOCH_MS_MIN),
            Ok(at("1973-03-03T09:46:40Z"))
        );
        assert_eq!(parse("9996-12-31T23:59:59.999Z", SH), Ok(last));
        assert_eq!(parse("9996-12-31T23:59:59.999+00:00", SH), Ok(last));
        assert_eq!(from_epoch_millis(EPOCH_MS_MAX), Ok(last));
        assert_eq!(
            from_epoch_millis(EPOCH_MS_MAX + 1),
            Err(TimeError::OutOfRange)
        );
        assert_eq!(from_epoch_millis(-1), Err(TimeError::OutOfRange));
        for outside in [
            "9999-12-30T23:59:59Z",
            "9999-12-31T16:00:00Z",
            "9997-01-01T00:00:00Z",
            "9997-01-01T00:00:00+23:59",
            "9997-12-31T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "9999-12-31T00:00:00Z",
            "1970-01-01T07:59:59+08:00",
            // Inside the range as instants, but written on the first or last day with an
            // offset or as a local time: the pattern cannot compare times with offsets.
            "1970-01-01T10:00:00+08:00",
            "1970-01-01 10:00:00",
            "9996-12-31T10:00:00+08:00",
            "9996-12-31T10:00:00-08:00",
            "9996-12-31 10:00",
        ] {
            assert_eq!(parse(outside, SH), Err(TimeError::OutOfRange), "{outside}");
        }
        for inside in [
            "1970-01-02T00:00:00+23:59",
            "9996-12-30T23:59:59.999999999-23:59",
            "9996-02-29T12:00:00+08:00",
            "1970-01-02 00:00",
            "9996-12-30 23:59:59",
        ] {
            let t = parse(inside, SH).unwrap_or_else(|e| panic!("{inside}: {e}"));
            assert!(
                t >= first && t <= at("9996-12-31T23:59:59.999999999Z"),
                "{inside}"
            );
        }
    }

    #[test]
    fn every_accepted_instant_shows_with_four_digits_and_a_whole_minute_offset() {
        let last = at("9996-12-31T23:59:59.999999999Z");
        // The latest deadline: two thresholds of 366 days after the last instant.
        let latest = last + chrono::Duration::days(2 * 366);
        for tz in [
            SH,
            chrono_tz::Pacific::Kiritimati,
            chrono_tz::Etc::GMTPlus12,
        ] {
            for t in [at("1970-01-01T00:00:00Z"), last, latest] {
                let shown = format(t, tz);
                assert!(DateTime::parse_from_rfc3339(&shown).is_ok(), "{shown}");
                assert!(shown.len() >= 25 && shown.as_bytes()[4] == b'-', "{shown}");
            }
        }
        assert_eq!(format(last, SH), "9997-01-01T07:59:59.999999999+08:00");
        assert_eq!(
            format(latest, chrono_tz::Pacific::Kiritimati),
            "9999-01-03T13:59:59.999999999+14:00"
        );
    }

    #[test]
    fn fractions_offsets_and_leap_days_are_read() {
        assert_eq!(
            parse("2023-09-25T10:00:00.5+08:00", SH),
            Ok(at("2023-09-25T02:00:00.5Z"))
        );
        assert_eq!(
            parse("2023-09-25T10:00-02:30", SH),
            Ok(at("2023-09-25T12:30:00Z"))
        );
        assert!(parse("2024-02-29 00:00", SH).is_ok());
        assert_eq!(parse("2023-02-29 00:00", SH), Err(TimeError::Malformed));
        // Skipped by China's 1988 summer-time change: read with the offset before it.
        assert_eq!(
            parse("1988-04-10 02:30:00", SH),
            Ok(at("1988-04-09T18:30:00Z"))
        );
    }

    #[test]
    fn twenty_four_hundred_is_the_end_of_that_day_in_rules_only() {
        let want = at("2023-10-28T16:00:00Z");
        assert_eq!(parse_with_end_of_day("2023-10-28 24:00", SH), Ok(want));
        assert_eq!(parse_with_end_of_day("2023-10-28T24:00:00", SH), Ok(want));
        assert_eq!(parse("2023-10-28 24:00", SH), Err(TimeError::Malformed));
        // The end of the last day is in range where it is 9996-12-31 in UTC, not after.
        assert_eq!(
            parse_with_end_of_day("9996-12-31 24:00", SH),
            Ok(at("9996-12-31T16:00:00Z"))
        );
        assert_eq!(
            parse_with_end_of_day("9996-12-31 24:00", chrono_tz::America::New_York),
            Err(TimeError::OutOfRange)
        );
        assert_eq!(
            parse_with_end_of_day("9999-12-31 24:00", SH),
            Err(TimeError::OutOfRange)
        );
    }

    #[test]
    fn responses_show_the_policy_offset() {
        assert_eq!(
            format(at("2023-09-25T02:00:00Z"), SH),
            "2023-09-25T10:00:00+08:00"
        );
    }

    #[test]
    fn seconds_between_rounds_towards_the_past() {
        let t = at("2023-09-25T02:00:00Z");
        assert_eq!(
            seconds_between(t, t + chrono::Duration::milliseconds(1500)),
            1
        );
        assert_eq!(
            seconds_between(t, t - chrono::Duration::milliseconds(500)),
            -1
        );
        assert_eq!(seconds_between(t, t), 0);
    }
}
