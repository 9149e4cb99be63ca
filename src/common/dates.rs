//! Calendar helpers. Dates are `chrono::NaiveDate`; inside frames they are days since
//! 1970-01-01 (`i32`), the representation polars uses for its `Date` type.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime};

/// 1970-01-01, day 0 of the epoch-day representation.
pub fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Days since 1970-01-01.
pub fn to_days(d: NaiveDate) -> i32 {
    (d - epoch()).num_days() as i32
}

/// Inverse of [`to_days`].
pub fn from_days(days: i32) -> NaiveDate {
    // Saturates at chrono's range (a Parquet date32 reaches further).
    epoch()
        .checked_add_signed(Duration::days(days as i64))
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// First day of the month `months` after the month of `d` (negative goes back).
pub fn add_months(d: NaiveDate, months: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + months;
    let (y, m0) = (total.div_euclid(12), total.rem_euclid(12));
    let day = d.day().min(month_length(y, m0 as u32 + 1));
    NaiveDate::from_ymd_opt(y, m0 as u32 + 1, day).unwrap_or(d)
}

/// First day of the month containing `d`.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// First day of the calendar quarter containing `d`.
pub fn quarter_start(d: NaiveDate) -> NaiveDate {
    let m = (d.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(d.year(), m, 1).unwrap_or(d)
}

pub fn days_in_month(d: NaiveDate) -> u32 {
    month_length(d.year(), d.month())
}

fn month_length(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Parses an ISO-8601 date (`2025-03-31`). A timestamp is accepted too and truncated to
/// its (UTC) date, since teams often export dates as midnight timestamps.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    // The common shape, `dddd-dd-dd`, without chrono's format interpreter (the loader
    // parses every date cell of every table); anything else goes the general way.
    if let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *s.as_bytes() {
        let digits = [y0, y1, y2, y3, m0, m1, d0, d1];
        if digits.iter().all(u8::is_ascii_digit) {
            let n = |d: &[u8]| {
                d.iter()
                    .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
            };
            return NaiveDate::from_ymd_opt(
                n(&digits[..4]) as i32,
                n(&digits[4..6]),
                n(&digits[6..]),
            )
            .or_else(|| {
                parse_timestamp_ms(s)
                    .and_then(DateTime::from_timestamp_millis)
                    .map(|t| t.date_naive())
            });
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    parse_timestamp_ms(s).map(|ms| {
        DateTime::from_timestamp_millis(ms)
            .map(|t| t.date_naive())
            .unwrap_or(NaiveDate::MIN)
    })
}

/// Parses an ISO-8601 timestamp with or without a time zone into milliseconds since the
/// epoch (UTC; a timestamp without a zone is taken as UTC). A bare date is midnight.
pub fn parse_timestamp_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.timestamp_millis());
        }
    }
    let s_naive = s.strip_suffix('Z').unwrap_or(s);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s_naive, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_timestamp_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

pub const MS_PER_DAY: i64 = 86_400_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_date_path_agrees_with_chrono() {
        for s in [
            "2025-03-31",
            "2024-02-29",
            "2023-02-29",
            "2024-02-30",
            "0025-11-26",
            "9999-12-31",
            "2025-13-01",
            "2025-00-10",
            " 2025-03-31 ",
            "25-08-28",
            "2025-3-31",
            "2025-03-31T10:00:00Z",
        ] {
            let chrono = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .ok()
                .or_else(|| {
                    parse_timestamp_ms(s)
                        .and_then(DateTime::from_timestamp_millis)
                        .map(|t| t.date_naive())
                });
            assert_eq!(parse_date(s), chrono, "{s}");
        }
        assert_eq!(from_days(i32::MAX), NaiveDate::MAX);
        assert_eq!(from_days(i32::MIN), NaiveDate::MIN);
    }

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn months_clamp_to_month_end() {
        assert_eq!(add_months(d("2025-01-31"), 1), d("2025-02-28"));
        assert_eq!(add_months(d("2024-01-31"), 1), d("2024-02-29"));
        assert_eq!(add_months(d("2025-03-15"), -3), d("2024-12-15"));
        assert_eq!(add_months(d("2025-12-01"), 1), d("2026-01-01"));
        assert_eq!(quarter_start(d("2025-08-19")), d("2025-07-01"));
        assert_eq!(days_in_month(d("2024-02-10")), 29);
    }

    #[test]
    fn timestamps_with_and_without_zone() {
        let utc = parse_timestamp_ms("2025-03-31T10:00:00Z").unwrap();
        assert_eq!(parse_timestamp_ms("2025-03-31T12:00:00+02:00"), Some(utc));
        assert_eq!(parse_timestamp_ms("2025-03-31 10:00:00"), Some(utc));
        assert_eq!(parse_timestamp_ms("2025-03-31T10:00"), Some(utc));
        assert_eq!(parse_timestamp_ms("2025-03-31"), Some(utc - 10 * 3_600_000));
        assert_eq!(parse_date("2025-03-31T23:30:00Z"), Some(d("2025-03-31")));
        assert_eq!(parse_date("31/03/2025"), None);
        assert_eq!(to_days(d("1970-01-02")), 1);
        assert_eq!(from_days(to_days(d("2026-11-01"))), d("2026-11-01"));
    }
}
