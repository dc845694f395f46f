//! Gantt chart geometry: one row per step run, bars placed on a shared time axis.

use chrono::{DateTime, Utc};

use crate::model::{StepMetadata, StepRun};

pub const ROW_HEIGHT: f64 = 26.0;
pub const LABEL_WIDTH: f64 = 240.0;
pub const AXIS_HEIGHT: f64 = 28.0;
/// Width of the time area at zoom 1.
pub const BASE_WIDTH: f64 = 900.0;
pub const ZOOMS: [u32; 6] = [1, 2, 4, 8, 16, 32];

#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The run's key (`StepRun::key`): what its link selects.
    pub name: String,
    /// What its row says (`StepRun::label`).
    pub label: String,
    pub row: usize,
    /// Left edge and width inside the time area, in pixels.
    pub x: f64,
    pub w: f64,
    pub tone: &'static str,
    pub running: bool,
    pub cached: bool,
    pub reused: bool,
    pub attempts: i32,
    /// The outcome of a Condition step.
    pub outcome: Option<bool>,
    pub duration: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub x: f64,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Gantt {
    pub t0: Option<DateTime<Utc>>,
    pub span_secs: f64,
    pub width: f64,
    pub height: f64,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
}

/// Lay out step runs in start order. Running steps extend to `now`; `zoom` widens the time area.
pub fn layout(steps: &[StepRun], now: DateTime<Utc>, zoom: u32) -> Gantt {
    let zoom = f64::from(zoom.clamp(1, 64));
    let width = BASE_WIDTH * zoom;
    let mut runs: Vec<&StepRun> = steps.iter().filter(|s| s.start.is_some()).collect();
    // Iterations of a ForEach step share a name and often a start: their index orders them.
    let index = |s: &StepRun| s.iteration.as_ref().and_then(|i| i.index);
    runs.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.name.cmp(&b.name)).then_with(|| index(a).cmp(&index(b))));
    let t0 = runs.first().and_then(|s| s.start);
    let end_of = |s: &StepRun| if s.status.is_running() { Some(now) } else { s.end.or(s.start) };
    let t1 = runs.iter().filter_map(|s| end_of(s)).max();
    let span_secs = match (t0, t1) {
        (Some(a), Some(b)) => ((b - a).num_milliseconds() as f64 / 1000.0).max(1.0),
        _ => 1.0,
    };
    let scale = width / span_secs;
    let secs_from_t0 = |t: DateTime<Utc>| t0.map(|a| (t - a).num_milliseconds() as f64 / 1000.0).unwrap_or(0.0);
    let bars = runs
        .iter()
        .enumerate()
        .map(|(row, s)| {
            let start = s.start.map(secs_from_t0).unwrap_or(0.0);
            let end = end_of(s).map(secs_from_t0).unwrap_or(start);
            Bar {
                name: s.key(),
                label: s.label(),
                row,
                x: start * scale,
                w: ((end - start) * scale).max(2.0),
                tone: s.status.tone(),
                running: s.status.is_running(),
                cached: s.cache_source.is_some(),
                reused: s.selective_source.is_some(),
                attempts: s.attempts.unwrap_or(1),
                outcome: match &s.metadata {
                    StepMetadata::Condition { outcome } => *outcome,
                    _ => None,
                },
                duration: Some(end - start).filter(|d| *d >= 0.0),
            }
        })
        .collect::<Vec<_>>();
    let ticks = ticks(span_secs, scale);
    Gantt { t0, span_secs, width, height: AXIS_HEIGHT + ROW_HEIGHT * bars.len() as f64, bars, ticks }
}

/// Ticks at a round interval, about one per 110 pixels.
/// About how wide a row's text is drawn (11 px sans-serif: 6.5 px a character on average), to leave room
/// for it after a bar.
pub fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.5
}

fn ticks(span_secs: f64, scale: f64) -> Vec<Tick> {
    const STEPS: [f64; 16] =
        [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0];
    let want = 110.0 / scale.max(1e-9);
    let step = STEPS.iter().copied().find(|s| *s >= want).unwrap_or_else(|| (want / 3600.0).ceil() * 3600.0);
    let mut out = vec![];
    let mut t = 0.0;
    while t <= span_secs + 1e-9 && out.len() < 2000 {
        out.push(Tick { x: t * scale, label: offset_label(t) });
        t += step;
    }
    out
}

fn offset_label(t: f64) -> String {
    if t < 60.0 {
        if t.fract().abs() < 1e-9 {
            format!("{t:.0}s")
        } else {
            format!("{t:.1}s")
        }
    } else if t < 3600.0 {
        let s = t.round() as u64;
        if s.is_multiple_of(60) {
            format!("{}m", s / 60)
        } else {
            format!("{}m{:02}s", s / 60, s % 60)
        }
    } else {
        let s = t.round() as u64;
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StepStatus;

    fn run(name: &str, start: i64, end: Option<i64>, status: StepStatus) -> StepRun {
        StepRun {
            start: DateTime::from_timestamp(1_800_000_000 + start, 0),
            end: end.and_then(|e| DateTime::from_timestamp(1_800_000_000 + e, 0)),
            attempts: Some(1),
            ..StepRun::named(name, status)
        }
    }

    #[test]
    fn bars_sit_on_a_shared_axis_in_start_order() {
        let steps = vec![run("B", 60, Some(120), StepStatus::Succeeded), run("A", 0, Some(60), StepStatus::Succeeded)];
        let now = DateTime::from_timestamp(1_800_000_500, 0).unwrap();
        let g = layout(&steps, now, 1);
        assert_eq!(g.bars[0].name, "A");
        assert_eq!(g.bars[0].x, 0.0);
        assert!((g.bars[0].w - BASE_WIDTH / 2.0).abs() < 1e-6);
        assert!((g.bars[1].x - BASE_WIDTH / 2.0).abs() < 1e-6);
        assert_eq!(g.span_secs, 120.0);
        assert_eq!(g.height, AXIS_HEIGHT + 2.0 * ROW_HEIGHT);
    }

    #[test]
    fn running_bars_grow_to_now_and_zoom_widens() {
        let steps = vec![run("A", 0, Some(10), StepStatus::Succeeded), run("B", 10, None, StepStatus::Executing)];
        let early = layout(&steps, DateTime::from_timestamp(1_800_000_020, 0).unwrap(), 1);
        let later = layout(&steps, DateTime::from_timestamp(1_800_000_040, 0).unwrap(), 1);
        assert!(early.bars[1].running);
        assert_eq!(early.span_secs, 20.0);
        assert_eq!(later.span_secs, 40.0);
        let zoomed = layout(&steps, DateTime::from_timestamp(1_800_000_040, 0).unwrap(), 4);
        assert_eq!(zoomed.width, 4.0 * BASE_WIDTH);
        assert!((zoomed.bars[1].w - 4.0 * later.bars[1].w).abs() < 1e-6);
    }

    #[test]
    fn tiny_steps_stay_visible_and_ticks_are_round() {
        let steps = vec![run("A", 0, Some(0), StepStatus::Succeeded), run("B", 0, Some(3600), StepStatus::Failed)];
        let g = layout(&steps, DateTime::from_timestamp(1_800_010_000, 0).unwrap(), 1);
        assert_eq!(g.bars[0].w, 2.0);
        assert_eq!(g.bars[1].tone, "fail");
        let labels: Vec<&str> = g.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels.first(), Some(&"0s"));
        assert!(labels.contains(&"10m"), "{labels:?}");
        assert!(g.ticks.windows(2).all(|w| w[1].x - w[0].x >= 100.0));
    }

    #[test]
    fn text_is_given_room_by_its_length() {
        assert_eq!(text_width(""), 0.0);
        assert!(text_width("3 attempts · → else") > text_width("→ if"));
    }

    #[test]
    fn iterations_of_a_for_each_step_are_rows_of_their_own() {
        let iteration = |i: i32| StepRun {
            iteration: Some(crate::model::Iteration { parent: Some("PerRegion".into()), index: Some(i), item: None }),
            ..run("Train", 10, Some(20), StepStatus::Succeeded)
        };
        let steps = vec![iteration(1), run("PerRegion", 0, Some(30), StepStatus::Succeeded), iteration(0)];
        let g = layout(&steps, DateTime::from_timestamp(1_800_000_100, 0).unwrap(), 1);
        let rows: Vec<(&str, &str)> = g.bars.iter().map(|b| (b.name.as_str(), b.label.as_str())).collect();
        assert_eq!(rows, [("PerRegion", "PerRegion"), ("Train[0]", "Train [0]"), ("Train[1]", "Train [1]")]);
    }

    #[test]
    fn thousands_of_steps_lay_out() {
        let steps: Vec<StepRun> =
            (0..2000).map(|i| run(&format!("S{i}"), i, Some(i + 30), StepStatus::Succeeded)).collect();
        let g = layout(&steps, DateTime::from_timestamp(1_800_010_000, 0).unwrap(), 1);
        assert_eq!(g.bars.len(), 2000);
        assert_eq!(g.bars[1999].row, 1999);
    }
}
