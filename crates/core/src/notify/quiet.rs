//! Quiet hours of a rule (`quiet-hours = "22:00-07:00"`, `timezone = "Europe/Berlin"`): what the rule sends
//! during them waits until they end, in the rule's time zone (its daylight saving included).

use chrono::{DateTime, Utc};
use jiff::civil::Time;
use jiff::tz::TimeZone;

#[derive(Clone, Debug)]
pub struct Quiet {
    pub start: Time,
    pub end: Time,
    pub zone: TimeZone,
    /// As written, for the page.
    pub text: String,
}

fn time_of(s: &str) -> Option<Time> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    Time::new(h, m, 0, 0).ok()
}

impl Quiet {
    /// `HH:MM-HH:MM` in `zone` (an IANA name; UTC when none).
    pub fn parse(hours: &str, zone: Option<&str>) -> Result<Quiet, String> {
        let bad = || format!("quiet-hours '{hours}' is not HH:MM-HH:MM (as \"22:00-07:00\")");
        let (a, b) = hours.split_once('-').ok_or_else(bad)?;
        let (start, end) = (time_of(a).ok_or_else(bad)?, time_of(b).ok_or_else(bad)?);
        if start == end {
            return Err(format!("quiet-hours '{hours}' start and end at the same time"));
        }
        let zone = match zone {
            None => TimeZone::UTC,
            Some(name) => TimeZone::get(name)
                .map_err(|_| format!("timezone '{name}' is not a known time zone (as \"Europe/Berlin\")"))?,
        };
        let text = match zone.iana_name() {
            Some(n) => format!("{hours} {n}"),
            None => format!("{hours} UTC"),
        };
        Ok(Quiet { start, end, zone, text })
    }

    /// When what is raised at `now` may be sent: `None` outside quiet hours (now), else when they end.
    pub fn release(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let ts = jiff::Timestamp::from_millisecond(now.timestamp_millis()).ok()?;
        let local = ts.to_zoned(self.zone.clone());
        let t = local.time();
        let quiet =
            if self.start < self.end { t >= self.start && t < self.end } else { t >= self.start || t < self.end };
        if !quiet {
            return None;
        }
        // The end today, or tomorrow when the quiet hours cross midnight and it is evening.
        let mut date = local.date();
        if t >= self.end {
            date = date.tomorrow().ok()?;
        }
        let end = date.to_datetime(self.end).to_zoned(self.zone.clone()).ok()?;
        DateTime::from_timestamp_millis(end.timestamp().as_millisecond())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn quiet_hours_across_midnight_hold_until_their_end_in_their_zone() {
        let q = Quiet::parse("22:00-07:00", Some("Europe/Berlin")).unwrap();
        // Winter: Berlin is UTC+1. 20:30 UTC is 21:30 there: not quiet.
        assert_eq!(q.release(at("2026-12-07T20:30:00Z")), None);
        // 21:30 UTC is 22:30 there: held until 07:00 Berlin, 06:00 UTC, the next day.
        assert_eq!(q.release(at("2026-12-07T21:30:00Z")), Some(at("2026-12-08T06:00:00Z")));
        // 03:00 UTC is 04:00 there: held until 06:00 UTC the same day.
        assert_eq!(q.release(at("2026-12-08T03:00:00Z")), Some(at("2026-12-08T06:00:00Z")));
        // Summer: UTC+2, so the end is 05:00 UTC.
        assert_eq!(q.release(at("2026-07-01T01:00:00Z")), Some(at("2026-07-01T05:00:00Z")));
        assert_eq!(q.text, "22:00-07:00 Europe/Berlin");
    }

    #[test]
    fn quiet_hours_within_a_day_and_mistakes() {
        let lunch = Quiet::parse("12:00-13:30", None).unwrap();
        assert_eq!(lunch.release(at("2026-12-07T12:15:00Z")), Some(at("2026-12-07T13:30:00Z")));
        assert_eq!(lunch.release(at("2026-12-07T13:30:00Z")), None);
        assert!(Quiet::parse("22-07", None).unwrap_err().contains("HH:MM-HH:MM"));
        assert!(Quiet::parse("25:00-07:00", None).is_err());
        assert!(Quiet::parse("07:00-07:00", None).unwrap_err().contains("same time"));
        assert!(Quiet::parse("22:00-07:00", Some("Mars/Olympus")).unwrap_err().contains("Mars/Olympus"));
    }
}
