//! A pipeline's cost over its recent executions: each run's estimate, and sums by day and by week.

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};

/// One execution's estimate, as the trend shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunCost {
    pub id: String,
    pub label: String,
    pub started: Option<DateTime<Utc>>,
    pub usd: f64,
    /// Some instance had no price: the amount is short of it.
    pub partial: bool,
}

/// A pipeline's costs: its newest finished runs (oldest first), the sums by day and week over the kept
/// estimates, and the runs not estimated yet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineCosts {
    pub pipeline: String,
    pub runs: Vec<RunCost>,
    /// ("2026-12-08", USD), oldest first.
    pub days: Vec<(String, f64)>,
    /// ("2026-W50", USD), oldest first.
    pub weeks: Vec<(String, f64)>,
    pub median: Option<f64>,
    /// Finished runs among the newest not estimated yet (they are, a few at each read).
    pub pending: usize,
}

/// The median of `values` (None for none).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 })
}

/// Sums by UTC day of start, over runs started in the `days` days up to `now`, oldest first (days without
/// a run are left out).
pub fn by_day(runs: &[RunCost], now: DateTime<Utc>, days: i64) -> Vec<(String, f64)> {
    sums(runs, now - Duration::days(days), |t| t.format("%Y-%m-%d").to_string())
}

/// Sums by ISO week of start ("2026-W50"), over runs started in the `weeks` weeks up to `now`.
pub fn by_week(runs: &[RunCost], now: DateTime<Utc>, weeks: i64) -> Vec<(String, f64)> {
    sums(runs, now - Duration::weeks(weeks), |t| {
        let w = t.iso_week();
        format!("{}-W{:02}", w.year(), w.week())
    })
}

fn sums(runs: &[RunCost], since: DateTime<Utc>, key: impl Fn(DateTime<Utc>) -> String) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = vec![];
    let mut dated: Vec<(DateTime<Utc>, f64)> =
        runs.iter().filter_map(|r| Some((r.started?, r.usd))).filter(|(t, _)| *t >= since).collect();
    dated.sort_by_key(|(t, _)| *t);
    for (t, usd) in dated {
        let k = key(t);
        match out.last_mut() {
            Some((last, sum)) if *last == k => *sum += usd,
            _ => out.push((k, usd)),
        }
    }
    out
}

/// "3.1× the median" when a run cost at least twice the median of the others, for messages and badges.
pub fn against_median(usd: f64, median: Option<f64>) -> Option<String> {
    let m = median.filter(|m| *m > 0.0)?;
    let ratio = usd / m;
    (ratio >= 2.0).then(|| format!("{ratio:.1}× the median"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn run(day: u32, hour: u32, usd: f64) -> RunCost {
        RunCost {
            id: format!("{day}-{hour}"),
            label: String::new(),
            started: Some(Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()),
            usd,
            partial: false,
        }
    }

    #[test]
    fn sums_by_day_and_week_and_the_median() {
        let now = Utc.with_ymd_and_hms(2026, 12, 8, 12, 0, 0).unwrap();
        let runs = [run(7, 23, 1.0), run(8, 1, 2.0), run(8, 3, 4.0), run(1, 0, 8.0), run(30 - 29, 0, 0.5)];
        assert_eq!(by_day(&runs, now, 2), vec![("2026-12-07".into(), 1.0), ("2026-12-08".into(), 6.0)]);
        // 2026-12-01 is in ISO week 49, 12-07 and 12-08 in week 50.
        assert_eq!(by_week(&runs, now, 4), vec![("2026-W49".into(), 8.5), ("2026-W50".into(), 7.0)]);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(against_median(6.2, Some(2.0)).as_deref(), Some("3.1× the median"));
        assert_eq!(against_median(3.0, Some(2.0)), None);
        assert_eq!(against_median(3.0, Some(0.0)), None);
    }
}
