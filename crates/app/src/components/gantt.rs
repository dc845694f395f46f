use chrono::{DateTime, Utc};
use leptos::prelude::*;

use stepline_types::layout::gantt::{self, AXIS_HEIGHT, LABEL_WIDTH, ROW_HEIGHT};
use stepline_types::layout::timefmt;
use stepline_types::model::StepRun;

/// The step Gantt chart as SVG: a row per step run, status colours, running bars to `now`, cache hits,
/// retries and condition outcomes marked. Each row links to the step (`href_for(step)`).
#[component]
pub fn GanttChart(
    steps: Vec<StepRun>,
    now: DateTime<Utc>,
    zoom: u32,
    selected: Option<String>,
    href_for: Callback<String, String>,
    /// Each step's estimated cost, filled in the browser once estimated (see `super::cost`).
    #[prop(optional)]
    costs: Option<RwSignal<Option<stepline_types::cost::ExecutionCost>>>,
) -> impl IntoView {
    let g = gantt::layout(&steps, now, zoom);
    // Room after the longest bar for its marks ("3 attempts · → else"), so no label is cut at the edge.
    let marks_end =
        g.bars.iter().map(|b| b.x + b.w + 6.0 + gantt::text_width(&marks_of(b).join(" · "))).fold(g.width, f64::max);
    let total_w = LABEL_WIDTH + marks_end + 12.0;
    let height = g.height + 4.0;
    let rows = g
        .bars
        .iter()
        .map(|b| {
            let y = AXIS_HEIGHT + b.row as f64 * ROW_HEIGHT;
            let marks = marks_of(b);
            let title = format!(
                "{} · {}{}",
                b.label,
                b.duration.map(timefmt::duration).unwrap_or_default(),
                if marks.is_empty() { String::new() } else { format!(" · {}", marks.join(", ")) }
            );
            let class = format!(
                "gantt-row{}{}",
                if selected.as_deref() == Some(b.name.as_str()) { " selected" } else { "" },
                if b.running { " running" } else { "" }
            );
            let bar_class = format!("bar tone-{}{}", b.tone, if b.cached || b.reused { " reused" } else { "" });
            let label = stepline_types::text::clip(&b.label, 30);
            let mark_text = marks.join(" · ");
            let mark_x = LABEL_WIDTH + b.x + b.w + 6.0;
            view! {
                <a href=href_for.run(b.name.clone()) class=class data-step=b.name.clone()>
                    <title>{title}{step_cost(costs, b.name.clone())}</title>
                    <rect class="row-bg" x="0" y=y width=total_w height=ROW_HEIGHT></rect>
                    <text class="row-label" x="8" y=y + 17.0>{label}</text>
                    <rect class=bar_class x=LABEL_WIDTH + b.x y=y + 5.0 width=b.w height=ROW_HEIGHT - 10.0 rx="3"></rect>
                    <text class="row-mark" x=mark_x y=y + 17.0>{mark_text}</text>
                </a>
            }
        })
        .collect_view();
    let ticks = g
        .ticks
        .iter()
        .map(|t| {
            let x = LABEL_WIDTH + t.x;
            view! {
                <line class="tick" x1=x x2=x y1=AXIS_HEIGHT - 6.0 y2=AXIS_HEIGHT></line>
                <text class="tick-label" x=x + 3.0 y="16">{t.label.clone()}</text>
            }
        })
        .collect_view();
    let grid = g
        .ticks
        .iter()
        .map(|t| {
            let x = LABEL_WIDTH + t.x;
            view! { <line class="tick" x1=x x2=x y1=AXIS_HEIGHT y2=height></line> }
        })
        .collect_view();
    // The axis is its own SVG, sticky at the top of the scroll box, so it stays in view over long runs.
    let rows_h = height - AXIS_HEIGHT;
    view! {
        <div class="gantt-scroll" data-testid="gantt">
            <svg class="gantt gantt-axis" width=total_w height=AXIS_HEIGHT viewBox=format!("0 0 {total_w} {AXIS_HEIGHT}") aria-hidden="true">
                <g class="axis">{ticks}</g>
            </svg>
            <svg class="gantt" width=total_w height=rows_h viewBox=format!("0 {AXIS_HEIGHT} {total_w} {rows_h}") role="group"
                aria-label=format!("Timeline of {} steps", g.bars.len())>
                <g class="grid">{grid}</g>
                <g class="rows">{rows}</g>
            </svg>
        </div>
    }
}

/// What a bar says after it: cache hits, reuse, retries, a condition's branch.
fn marks_of(b: &gantt::Bar) -> Vec<String> {
    let mut marks = vec![];
    if b.cached {
        marks.push("from cache".to_string());
    }
    if b.reused {
        marks.push("reused".to_string());
    }
    if b.attempts > 1 {
        marks.push(format!("{} attempts", b.attempts));
    }
    if let Some(o) = b.outcome {
        marks.push(if o { "→ if".into() } else { "→ else".into() });
    }
    marks
}

/// " · $0.42 (estimated)" for a step once its cost is known in the browser.
fn step_cost(costs: Option<RwSignal<Option<stepline_types::cost::ExecutionCost>>>, step: String) -> impl IntoView {
    move || {
        costs.and_then(|c| {
            c.with(|c| c.as_ref().and_then(|c| c.step(&step)).map(|l| format!(" · {} (estimated)", l.short())))
        })
    }
}
