//! A pipeline's cost trend on its page: each of its newest finished runs' estimate as a bar (drawn on the
//! server as SVG, every bar named), and the sums by day and by week.

use leptos::prelude::*;

use crate::components::error::ErrorPanel;
use stepline_types::codec::Json;
use stepline_types::cost::trend::{against_median, PipelineCosts};
use stepline_types::cost::{usd, ESTIMATE_NOTE};
use stepline_types::model::links;

/// The trend of `pipeline`, read as the page is made (see the pipeline page).
pub fn trend_resource(
    pipeline: Signal<String>,
) -> Resource<Result<PipelineCosts, stepline_types::error::AppError>, Json> {
    Resource::<_, Json>::new_with_options(move || pipeline.get(), crate::cost::get_pipeline_costs, false)
}

#[component]
pub fn CostTrend(data: Resource<Result<PipelineCosts, stepline_types::error::AppError>, Json>) -> impl IntoView {
    view! {
        <section class="cost-trend" data-testid="cost-trend">
            <h2>"Cost "<span class="sub" title=ESTIMATE_NOTE>"(estimated)"</span></h2>
            <Transition fallback=|| view! { <p class="muted">"Estimating…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                        Ok(c) => trend_body(c).into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn trend_body(c: PipelineCosts) -> impl IntoView {
    let pending = (c.pending > 0).then(|| {
        view! { <p class="muted" data-testid="cost-pending">{format!("{} finished runs not estimated yet: a few more at each visit.", c.pending)}</p> }
    });
    if c.runs.is_empty() {
        return view! { <p class="muted">"No finished run has an estimate yet."</p>{pending} }.into_any();
    }
    let (w, h, gap) = (16.0_f64, 48.0_f64, 4.0_f64);
    let top = c.runs.iter().map(|r| r.usd).fold(0.0_f64, f64::max).max(0.000_001);
    let bars = c
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let bh = (r.usd / top * (h - 2.0)).max(1.0);
            let x = i as f64 * (w + gap);
            let note = against_median(r.usd, c.median).map(|m| format!(", {m}")).unwrap_or_default();
            let partial = if r.partial { ", some instances without a price" } else { "" };
            let title = format!("{}: {}{note}{partial}", r.label, usd(r.usd));
            let class = if note.is_empty() { "cost-bar" } else { "cost-bar high" };
            let label = title.clone();
            view! {
                <a href=links::execution(&c.pipeline, &r.id) aria-label=label>
                    <rect class=class x=format!("{x:.1}") y=format!("{:.1}", h - bh) width=w height=format!("{bh:.1}")><title>{title}</title></rect>
                </a>
            }
        })
        .collect_view();
    let width = c.runs.len() as f64 * (w + gap);
    let median = c.median.map(|m| format!("median {} per run", usd(m))).unwrap_or_default();
    let sums = |rows: &[(String, f64)]| {
        rows.iter()
            .map(|(k, v)| view! { <tr><th scope="row">{k.clone()}</th><td class="num">{usd(*v)}</td></tr> })
            .collect_view()
    };
    view! {
        <p class="muted">{format!("The newest {} finished runs, oldest first; ", c.runs.len())}{median}"."</p>
        <svg class="cost-chart" width=format!("{width:.0}") height=h viewBox=format!("0 0 {width:.0} {h}") role="group" aria-label="Cost of each run" data-testid="cost-chart">
            {bars}
        </svg>
        {pending}
        <p><a href=stepline_types::base::href(&format!("/costs.csv?pipeline={}", links::seg(&c.pipeline))) data-testid="costs-csv" download>"Download the estimates (CSV)"</a></p>
        <div class="cost-sums">
            <table class="data" data-testid="cost-days"><caption>"By day (last 14 days)"</caption><tbody>{sums(&c.days)}</tbody></table>
            <table class="data" data-testid="cost-weeks"><caption>"By week (last 8 weeks)"</caption><tbody>{sums(&c.weeks)}</tbody></table>
        </div>
    }
    .into_any()
}
