//! Instants as callers and rules authors write them, and as responses show them.
//!
//! Accepted forms: RFC 3339 with an offset or `Z`; a local date-time without offset
//! (`2023-09-25 10:00:00`, `2023-09-25T10:00:00`, seconds optional) read in the policy's
//! time zone; an integer of Unix epoch milliseconds.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

/// An instant on the UTC time line.
pub type Instant = DateTime<Utc>;

/// The earliest and latest epoch milliseconds accepted (years 1970 to 9999): anything
/// outside is a mistake in the caller's units, not a real after-sales time.
pub const EPOCH_MS_MIN: i64 = 0;
/// See [`EPOCH_MS_MIN`].
pub const EPOCH_MS_MAX: i64 = 253_402_300_799_999;

/// Why a time could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// Not one of the accepted shapes.
    Malformed,
    /// The local time does not exist in the time zone (a gap at a clock change).
    NonexistentLocal,
    /// Epoch milliseconds outside 1970..=9999.
    OutOfRange,
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeError::Malformed => {
                "is not a time: use RFC 3339 (2023-09-25T10:00:00+08:00), a local time \
                 (2023-09-25 10:00:00) or Unix epoch milliseconds"
            }
            TimeError::NonexistentLocal => "is a local time that does not exist in the policy's time zone",
            TimeError::OutOfRange => {
                "is out of range: epoch milliseconds must be between 0 and 253402300799999 (years 1970 to 9999)"
            }
        })
    }
}

/// Reads epoch milliseconds.
pub fn from_epoch_millis(ms: i64) -> Result<Instant, TimeError> {
    if !(EPOCH_MS_MIN..=EPOCH_MS_MAX).contains(&ms) {
        return Err(TimeError::OutOfRange);
    }
    DateTime::from_timestamp_millis(ms).ok_or(TimeError::OutOfRange)
}

/// The exact grammar of a time string, as a regular expression for the OpenAPI schema:
/// a calendar-valid date (leap years included), `T` or a space, hours and minutes,
/// optional seconds and fraction, and an optional `Z` or `±HH:MM` offset. [`parse`]
/// accepts exactly these strings.
pub const TIME_PATTERN: &str = concat!(
    r"^(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)",
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)",
    r"[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$",
);

/// Reads a time string: `2023-09-25T10:00:00+08:00`, `…Z`, or a local time
/// (`2023-09-25 10:00:00`, `2023-09-25T10:00`) in `tz`. Strict: exactly
/// [`TIME_PATTERN`], nothing trimmed.
pub fn parse(s: &str, tz: Tz) -> Result<Instant, TimeError> {
    let (naive, offset) = parse_parts(s).ok_or(TimeError::Malformed)?;
    match offset {
        Some(minutes) => {
            let offset = chrono::FixedOffset::east_opt(minutes * 60).ok_or(TimeError::Malformed)?;
            offset
                .from_local_datetime(&naive)
                .single()
                .map(|t| t.with_timezone(&Utc))
                .ok_or(TimeError::Malformed)
        }
        None => local_to_instant(naive, tz),
    }
}

/// Splits a time string into its wall-clock part and its offset in minutes.
fn parse_parts(s: &str) -> Option<(NaiveDateTime, Option<i32>)> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(at(4, b'-') && at(7, b'-') && (at(10, b'T') || at(10, b' ')) && at(13, b':')) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 2)?, num(8, 2)?)?;
    let (hour, minute) = (num(11, 2)?, num(14, 2)?);
    let mut i = 16;
    let (mut second, mut nano) = (0, 0);
    if at(i, b':') {
        second = num(i + 1, 2)?;
        i += 3;
        if at(i, b'.') {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=9).contains(&digits) {
                return None;
            }
            nano = num(i + 1, digits)? * 10u32.pow(9 - u32::try_from(digits).ok()?);
            i += 1 + digits;
        }
    }
    // No leap seconds: the schema's pattern allows seconds up to 59.
    if second > 59 {
        return None;
    }
    let time = chrono::NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?;
    let offset = match &b[i..] {
        [] => None,
        [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i32::try_from(h * 60 + m).ok()?;
            Some(if *sign == b'-' { -minutes } else { minutes })
        }
        _ => return None,
    };
    Some((date.and_time(time), offset))
}

/// Like [`parse`], but also accepts the notices' "24:00" (the end of that day), as in
/// `2023-10-28 24:00`. Used for rules files, never for requests.
pub fn parse_with_end_of_day(s: &str, tz: Tz) -> Result<Instant, TimeError> {
    let t = s.trim();
    for sep in [" 24:00", "T24:00"] {
        if let Some(date) = t
            .strip_suffix(sep)
            .or_else(|| t.strip_suffix(&format!("{sep}:00")[..]))
            && let Ok(d) = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        {
            let next = d.succ_opt().ok_or(TimeError::OutOfRange)?;
            return local_to_instant(next.and_time(chrono::NaiveTime::MIN), tz);
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
        assert_eq!(parse("2023-09-25t10:00:00z", SH), Err(TimeError::Malformed));
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
