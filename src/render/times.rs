//! Times as responses show them, written without a formatter: a decision shows a dozen,
//! and chrono's general RFC 3339 writer cost ~550 instructions each.

use chrono::{Datelike, Offset, TimeZone, Timelike};
use chrono_tz::Tz;

use crate::time::{self, Instant};

/// An instant in RFC 3339, as [`time::format`] writes it (seconds, then as many
/// fractional digits as needed: 3, 6 or 9; the zone's offset, `+00:00` for UTC), held
/// on the stack.
#[derive(Debug, Clone)]
pub struct Rfc3339 {
    bytes: [u8; Rfc3339::MOST],
    len: usize,
    /// What chrono wrote, for what the fast path leaves to it.
    other: Option<String>,
}

// The longest written by hand: a date and time (19), nine fractional digits with their
// dot (10) and an offset (6). The writers index the buffer up to it.
const _: () = assert!(Rfc3339::MOST >= 19 + 10 + 6);

/// The length of the usual text: `2023-10-14T09:00:00+08:00`.
const USUAL: usize = 25;

impl Rfc3339 {
    /// `2023-10-14T09:00:00.123456789+05:45`
    const MOST: usize = 35;

    /// `t` in `tz`.
    pub fn new(t: Instant, tz: Tz) -> Rfc3339 {
        let offset = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
        let seconds = offset.local_minus_utc();
        let local = t.naive_utc() + offset;
        let nanos = local.nanosecond();
        let year = local.year();
        // A leap second, an offset in seconds (historic local mean times) or a year of
        // other than four digits: chrono's writer decides how those look.
        if nanos >= 1_000_000_000 || seconds % 60 != 0 || !(0..=9999).contains(&year) {
            return Rfc3339 {
                bytes: [0; Rfc3339::MOST],
                len: 0,
                other: Some(time::format(t, tz)),
            };
        }
        let mut bytes = [0; Rfc3339::MOST];
        let (date_time, rest) = bytes.split_at_mut(19);
        write_date_time(date_time, &local);
        let fraction: &mut [u8] = if nanos == 0 {
            &mut []
        } else if nanos.is_multiple_of(1_000_000) {
            write_digits(&mut rest[1..4], nanos / 1_000_000);
            &mut rest[..4]
        } else if nanos.is_multiple_of(1_000) {
            write_digits(&mut rest[1..7], nanos / 1_000);
            &mut rest[..7]
        } else {
            write_digits(&mut rest[1..10], nanos);
            &mut rest[..10]
        };
        if let Some(dot) = fraction.first_mut() {
            *dot = b'.';
        }
        let len = 19 + fraction.len();
        // `+08:00`
        let zone = &mut bytes[len..len + 6];
        zone[0] = if seconds < 0 { b'-' } else { b'+' };
        let minutes = seconds.unsigned_abs() / 60;
        write_digits(&mut zone[1..3], minutes / 60);
        zone[3] = b':';
        write_digits(&mut zone[4..6], minutes % 60);
        Rfc3339 {
            bytes,
            len: len + 6,
            other: None,
        }
    }

    /// `t` as the service log's JSON formatter writes its timestamps: in UTC, to the
    /// microsecond, with `Z` (`2023-10-14T01:00:00.123456Z`).
    pub fn utc_micros(t: chrono::DateTime<chrono::Utc>) -> Rfc3339 {
        let year = t.year();
        // A leap second, or a year of other than four digits: chrono's own way.
        if t.nanosecond() >= 1_000_000_000 || !(0..=9999).contains(&year) {
            return Rfc3339 {
                bytes: [0; Rfc3339::MOST],
                len: 0,
                other: Some(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            };
        }
        let mut bytes = [0; Rfc3339::MOST];
        let (date_time, rest) = bytes.split_at_mut(19);
        write_date_time(date_time, &t.naive_utc());
        // `.123456Z`
        rest[0] = b'.';
        write_digits(&mut rest[1..7], t.nanosecond() / 1000);
        rest[7] = b'Z';
        Rfc3339 {
            bytes,
            len: 27,
            other: None,
        }
    }

    /// The text's bytes (ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.other {
            Some(s) => s.as_bytes(),
            None => &self.bytes[..self.len],
        }
    }

    /// Appends the text to `out`. Most are 25 bytes (to the second, with an offset):
    /// copied as one piece of that known length, a few moves rather than a call to
    /// `memcpy` (a decision writes a dozen times).
    #[inline(always)]
    pub fn append_to(&self, out: &mut Vec<u8>) {
        match (&self.other, self.bytes.first_chunk::<USUAL>()) {
            (None, Some(usual)) if self.len == USUAL => out.extend_from_slice(usual),
            _ => out.extend_from_slice(self.as_bytes()),
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.other {
            Some(s) => s,
            // Only ASCII digits and punctuation are written.
            None => std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default(),
        }
    }
}

impl serde::Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `2023-10-14T09:00:00`: `t`'s date and time to the second into `out`'s 19 bytes (the
/// year has four digits: the callers leave other years to chrono).
fn write_date_time(out: &mut [u8], t: &chrono::NaiveDateTime) {
    let Some(out) = out.first_chunk_mut::<19>() else {
        return;
    };
    *out = *b"0000-00-00T00:00:00";
    write_digits(&mut out[0..4], t.year().unsigned_abs());
    write_digits(&mut out[5..7], t.month());
    write_digits(&mut out[8..10], t.day());
    write_digits(&mut out[11..13], t.hour());
    write_digits(&mut out[14..16], t.minute());
    write_digits(&mut out[17..19], t.second());
}

/// `n` in exactly as many decimal digits as `slots` has bytes (zero-padded; the digits
/// above are dropped), two at a time.
#[inline]
pub fn write_digits(slots: &mut [u8], mut n: u32) {
    let mut slots = slots.rchunks_exact_mut(2);
    for pair in slots.by_ref() {
        let i = (n % 100) as usize * 2;
        pair.copy_from_slice(&TWO_DIGITS[i..i + 2]);
        n /= 100;
    }
    if let [slot] = slots.into_remainder() {
        *slot = b'0' + (n % 10) as u8;
    }
}

/// `00` to `99`.
const TWO_DIGITS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Timelike, Utc};
    use proptest::prelude::*;

    use super::*;

    const ZONES: [Tz; 7] = [
        chrono_tz::Asia::Shanghai,
        chrono_tz::UTC,
        chrono_tz::America::New_York,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::Pacific::Chatham,
        chrono_tz::America::St_Johns,
    ];

    #[test]
    fn times_read_as_chrono_writes_them() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let sh = chrono_tz::Asia::Shanghai;
        for (t, want) in [
            ("2023-10-14T01:00:00Z", "2023-10-14T09:00:00+08:00"),
            ("2023-10-14T01:00:00.5Z", "2023-10-14T09:00:00.500+08:00"),
            (
                "2023-10-14T01:00:00.000001Z",
                "2023-10-14T09:00:00.000001+08:00",
            ),
            (
                "2023-10-14T01:00:00.000000001Z",
                "2023-10-14T09:00:00.000000001+08:00",
            ),
            ("1970-01-01T00:00:00Z", "1970-01-01T08:00:00+08:00"),
            ("9999-12-30T23:59:59.999Z", "9999-12-31T07:59:59.999+08:00"),
        ] {
            assert_eq!(Rfc3339::new(at(t), sh).as_str(), want);
            assert_eq!(Rfc3339::new(at(t), sh).as_str(), time::format(at(t), sh));
            let mut appended = Vec::new();
            Rfc3339::new(at(t), sh).append_to(&mut appended);
            assert_eq!(appended, want.as_bytes());
        }
        // Before 1901 Shanghai kept local mean time, +08:05:43: chrono writes that.
        let lmt = at("1900-01-01T00:00:00Z");
        assert_eq!(Rfc3339::new(lmt, sh).as_str(), time::format(lmt, sh));
    }

    #[test]
    fn edge_years_and_leap_days_read_as_chrono_writes_them() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|e| panic!("{s}: {e}"))
        };
        for t in [
            "0000-01-01T00:00:00Z",
            "0000-02-29T12:00:00Z",
            "0001-01-01T00:00:00.001Z",
            "1899-12-31T23:59:59Z",
            "1900-02-28T23:59:59Z",
            "1900-03-01T00:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2023-12-31T16:00:00Z",
            "2100-02-28T23:59:59Z",
            "2100-03-01T00:00:00Z",
            "9999-12-31T23:59:59.999Z",
        ] {
            for tz in ZONES {
                assert_eq!(
                    Rfc3339::new(at(t), tz).as_str(),
                    time::format(at(t), tz),
                    "{t} in {tz}"
                );
            }
        }
    }

    #[test]
    fn log_timestamps_read_as_chrono_writes_them() {
        for t in [
            "0000-02-29T12:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
            "1970-01-01T00:00:00Z",
            "2023-10-14T01:00:00.000001Z",
            "2026-11-26T18:44:39.123456789Z",
            "9999-12-31T23:59:59.999999Z",
        ] {
            let at = DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|e| panic!("{t}: {e}"));
            assert_eq!(
                Rfc3339::utc_micros(at).as_str(),
                at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "{t}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_instant_in_any_zone_reads_as_chrono_writes_it(
            ms in -2_208_988_800_000i64..253_402_300_799_999,
            nanos in prop::sample::select(vec![0u32, 1, 1_000, 1_000_000, 123_456_789, 999_999_999]),
            zone in 0..ZONES.len(),
        ) {
            let t = DateTime::from_timestamp_millis(ms).unwrap_or_default();
            let t = t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000 + nanos % 1_000_000)
                .unwrap_or(t);
            let tz = ZONES[zone];
            let fast = Rfc3339::new(t, tz);
            prop_assert_eq!(fast.as_str(), time::format(t, tz));
            let mut appended = b"x".to_vec();
            fast.append_to(&mut appended);
            prop_assert_eq!(&appended[1..], fast.as_str().as_bytes());
        }
    }
}
