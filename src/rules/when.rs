//! The times a rules file states (the ends of windows), read strictly: every one must
//! be a time a request could carry, and a wall-clock time must name one instant.

use chrono::{NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

use crate::time::{self, EPOCH_MS_MAX, Instant, TimeError};

/// A TOML date-time, or a string (`"2023-10-28 24:00"` included), read in `tz`; or why
/// not, in words that name the value (the caller names the key).
///
/// Refused besides what is no date-time: an instant outside the range requests accept
/// (1970-01-01T00:00:00Z to 9996-12-31T23:59:59.999Z: a window's end past it would make
/// every case it touches a 422 blaming the request); a wall-clock time without offset
/// that the time zone skips or repeats at a clock change (which instant is meant is a
/// guess); an instant at which the time zone's offset is not whole minutes (local mean
/// time, which RFC 3339 cannot write).
pub(super) fn read(v: &toml::Value, tz: Tz) -> Result<Instant, String> {
    let (shown, t, local) = match v {
        toml::Value::Datetime(d) => {
            let shown = d.to_string();
            let naive = naive(d).ok_or_else(|| malformed(v))?;
            let t = match d.offset {
                None => time::local_to_instant(naive, tz).ok(),
                Some(toml::value::Offset::Z) => Some(naive.and_utc()),
                Some(toml::value::Offset::Custom { minutes }) => {
                    chrono::FixedOffset::east_opt(i32::from(minutes) * 60)
                        .and_then(|offset| naive.checked_sub_offset(offset))
                        .map(|utc| utc.and_utc())
                }
            };
            let t = t.ok_or_else(|| out_of_range(&shown))?;
            (shown, t, d.offset.is_none().then_some(naive))
        }
        toml::Value::String(s) => {
            let t = match time::parse_with_end_of_day(s, tz) {
                Ok(t) => t,
                Err(TimeError::OutOfRange) => return Err(out_of_range(s)),
                Err(_) => return Err(malformed(v)),
            };
            (s.clone(), t, local_wall_clock(s.trim()))
        }
        _ => return Err(malformed(v)),
    };
    if !(0..=EPOCH_MS_MAX).contains(&t.timestamp_millis()) {
        return Err(out_of_range(&shown));
    }
    if let Some(naive) = local {
        one_instant(&shown, naive, tz)?;
    }
    let offset = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    let seconds = offset.local_minus_utc();
    if seconds % 60 != 0 {
        return Err(format!(
            "{shown} is at {offset} in {tz}, an offset of seconds (local mean time) that RFC 3339 times cannot write: use a time after the zone took a standard offset",
            tz = tz.name()
        ));
    }
    Ok(t)
}

fn malformed(v: &toml::Value) -> String {
    let hint = match v {
        toml::Value::String(s) if s.contains("24:00") => {
            " (the end of a day is written without an offset, like \"2023-10-28 24:00\", and read in the time zone)"
        }
        _ => "",
    };
    format!(
        "not a date-time: write 2023-09-16T00:00:00+08:00, or a string like \"2023-10-28 24:00\"{hint}"
    )
}

/// Why `shown` is refused, past the range's end or before its start.
fn out_of_range(shown: &str) -> String {
    // Its year: a string read out of range has one before its first `-`.
    let late = shown
        .trim()
        .split('-')
        .next()
        .and_then(|y| y.parse::<i64>().ok())
        .is_some_and(|y| y > 5000);
    let hint = if late {
        "; for a window with no end yet, leave `until` out (until further notice)"
    } else {
        ""
    };
    format!(
        "{shown} is outside the times requests accept (1970-01-01T00:00:00Z to 9996-12-31T23:59:59.999Z, so that every time a decision shows or counts has a four-digit year): every case it touched would be refused{hint}"
    )
}

/// The wall clock of a TOML date-time.
pub(super) fn naive(d: &toml::value::Datetime) -> Option<NaiveDateTime> {
    let (date, t) = (d.date?, d.time?);
    NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )?
    .and_hms_nano_opt(
        u32::from(t.hour),
        u32::from(t.minute),
        u32::from(t.second.unwrap_or(0)),
        t.nanosecond.unwrap_or(0),
    )
}

/// The wall clock a time string without offset names (`"2023-10-28 24:00"`: the next
/// day's midnight); `None` for one with an offset. Only for strings
/// [`time::parse_with_end_of_day`] read.
fn local_wall_clock(s: &str) -> Option<NaiveDateTime> {
    for end in [" 24:00", "T24:00", " 24:00:00", "T24:00:00"] {
        if let Some(date) = s.strip_suffix(end)
            && let Ok(d) = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        {
            return Some(d.succ_opt()?.and_time(chrono::NaiveTime::MIN));
        }
    }
    // `t` and a space separate the date and time as `T` does.
    let s: String = s
        .char_indices()
        .map(|(i, c)| if i == 10 { 'T' } else { c })
        .collect();
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
}

/// Refuses a wall-clock time that `tz` skips or repeats, saying which offsets there are.
fn one_instant(shown: &str, naive: NaiveDateTime, tz: Tz) -> Result<(), String> {
    let zone = tz.name();
    let wall = naive.format("%Y-%m-%dT%H:%M:%S");
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(_) => Ok(()),
        chrono::LocalResult::Ambiguous(first, second) => Err(format!(
            "{shown} happens twice in {zone} (the clocks go back that day, from {} to {}): write it with the offset meant, {wall}{} for the first or {wall}{} for the second",
            first.offset().fix(),
            second.offset().fix(),
            first.offset().fix(),
            second.offset().fix(),
        )),
        chrono::LocalResult::None => {
            let day = chrono::Duration::days(1);
            let offset = |at: NaiveDateTime| {
                tz.offset_from_local_datetime(&at)
                    .earliest()
                    .map(|o| o.fix().to_string())
                    .unwrap_or_default()
            };
            let (before, after) = (offset(naive - day), offset(naive + day));
            Err(format!(
                "{shown} does not exist in {zone}: the clocks jump over it that day (from {before} to {after}); write the instant meant with its offset (like {wall}{before}) or a time the clocks show"
            ))
        }
    }
}

/// The first instant from 1970 on (looked at weekly to 2100, the range where times of
/// requests fall and the time zone data changes) at which `tz`'s offset is not whole
/// minutes, with that offset: local mean time (Africa/Monrovia until 1972, -00:44:30),
/// which RFC 3339 cannot write, so every time shown in it would be off by seconds.
pub(super) fn seconds_offset(tz: Tz) -> Option<(Instant, chrono::FixedOffset)> {
    type Found = Option<(Instant, chrono::FixedOffset)>;
    // Looked up once per zone: a reload or a test suite loads the same zones again.
    static SEEN: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<Tz, Found>>> =
        std::sync::OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(found) = seen.lock().unwrap_or_else(|e| e.into_inner()).get(&tz) {
        return *found;
    }
    let found = look_for_seconds_offset(tz);
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(tz, found);
    found
}

fn look_for_seconds_offset(tz: Tz) -> Option<(Instant, chrono::FixedOffset)> {
    let start = chrono::DateTime::UNIX_EPOCH;
    let week = chrono::Duration::weeks(1);
    // 1970 to 2100: 131 years of 53 weeks at most.
    (0..131 * 53)
        .map(|w| start + week * w)
        .map(|t| (t, tz.offset_from_utc_datetime(&t.naive_utc()).fix()))
        .find(|(_, o)| o.local_minus_utc() % 60 != 0)
}
