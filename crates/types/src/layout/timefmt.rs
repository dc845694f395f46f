//! Durations and timestamps as people read them.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};

/// `2h 5m`, `3m 07s`, `42s`, `0.4s`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "—".into();
    }
    if secs < 10.0 {
        return format!("{:.1}s", secs);
    }
    let s = secs.round() as u64;
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

pub fn between(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<f64> {
    Some((b? - a?).num_milliseconds() as f64 / 1000.0)
}

/// Absolute time in UTC, to the second: `2026-11-23 08:01:30 UTC`.
pub fn absolute(t: DateTime<Utc>) -> String {
    format!("{} UTC", date_time(&t))
}

/// A time at a UTC offset, to the second: `2026-11-23 13:31:30 +05:30`.
pub fn at_offset(t: DateTime<Utc>, offset: chrono::FixedOffset) -> String {
    let secs = offset.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let mins = secs.unsigned_abs() / 60;
    format!("{} {sign}{:02}:{:02}", date_time(&t.with_timezone(&offset)), mins / 60, mins % 60)
}

// Times are written and read by hand, not with chrono's format strings: those bring chrono's whole
// strftime formatter and parser into the browser bundle for two fixed layouts.
fn date_time<Tz: TimeZone>(t: &DateTime<Tz>) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second())
}

/// `2026-11-23` or `2026-11-23T08:00` (a date-time input's value), in UTC.
pub fn parse_plain(text: &str) -> Option<DateTime<Utc>> {
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let number = |s: &str, digits: usize| {
        (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok()).flatten()
    };
    let mut ymd = date.split('-');
    let (y, m, d) = (number(ymd.next()?, 4)?, number(ymd.next()?, 2)?, number(ymd.next()?, 2)?);
    if ymd.next().is_some() {
        return None;
    }
    let day = NaiveDate::from_ymd_opt(y as i32, m, d)?;
    let (h, min) = match time {
        None => (0, 0),
        Some(t) => {
            let (h, min) = t.split_once(':')?;
            (number(h, 2)?, number(min, 2)?)
        }
    };
    Some(day.and_hms_opt(h, min, 0)?.and_utc())
}

/// A relative hint next to an absolute time: `3 min ago`, `in 2 h`, `just now`.
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (n, future) = if secs < 0 { (-secs, true) } else { (secs, false) };
    let text = match n {
        0..=9 => return "just now".into(),
        10..=59 => format!("{n} s"),
        60..=3599 => format!("{} min", n / 60),
        3600..=86_399 => format!("{} h", n / 3600),
        _ => format!("{} d", n / 86_400),
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// Parse a date or timestamp from a filter field; the message names the field.
pub fn parse_when(field: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let t = text.trim();
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&chrono::Utc));
    }
    if let Some(d) = parse_plain(t) {
        return Ok(d);
    }
    Err(format!("{field}: '{}' is not a date like 2026-11-23 or 2026-11-23T08:00", crate::text::clip(t, 40)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_or_name_the_field() {
        assert!(parse_when("from", "2026-11-23").is_ok());
        assert!(parse_when("from", "2026-11-23T08:30").is_ok());
        assert!(parse_when("to", "2026-11-23T08:30:00Z").is_ok());
        let e = parse_when("to", "yesterday").unwrap_err();
        assert!(e.starts_with("to: 'yesterday' is not a date"), "{e}");
    }

    #[test]
    fn times_are_written_in_fixed_layouts() {
        let t = DateTime::from_timestamp(1_795_420_890, 0).unwrap();
        assert_eq!(absolute(t), "2026-11-23 08:01:30 UTC");
        assert_eq!(at_offset(t, chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap()), "2026-11-23 13:31:30 +05:30");
        assert_eq!(at_offset(t, chrono::FixedOffset::west_opt(8 * 3600).unwrap()), "2026-11-23 00:01:30 -08:00");
        assert_eq!(at_offset(t, chrono::FixedOffset::east_opt(0).unwrap()), "2026-11-23 08:01:30 +00:00");
    }

    #[test]
    fn plain_dates_and_date_times_are_read() {
        let at = |s: &str| parse_plain(s).map(|t| t.to_rfc3339());
        assert_eq!(at("2026-11-23"), Some("2026-11-23T00:00:00+00:00".into()));
        assert_eq!(at("2026-11-23T08:05"), Some("2026-11-23T08:05:00+00:00".into()));
        for bad in [
            "",
            "2026-11",
            "2026-13-01",
            "2026-02-30",
            "2026-11-23T25:00",
            "2026-11-23T08",
            "26-11-23",
            "2026-11-23-1",
            "2026-1-23",
            "+026-11-23",
            "2026-11-23T08:05:00",
            "２０２６-11-23",
        ] {
            assert_eq!(parse_plain(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0.42), "0.4s");
        assert_eq!(duration(42.0), "42s");
        assert_eq!(duration(187.0), "3m 07s");
        assert_eq!(duration(7500.0), "2h 5m");
        assert_eq!(duration(-1.0), "—");
    }

    #[test]
    fn relative_hints() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(now - chrono::Duration::minutes(3), now), "3 min ago");
        assert_eq!(relative(now + chrono::Duration::hours(2), now), "in 2 h");
        assert_eq!(absolute(now), "2027-01-15 08:00:00 UTC");
    }
}
