//! `/pipelines/{name}/compare?e=ID&e=ID…`: executions side by side — a one-line summary of what differs,
//! their parameters (only those that differ unless `all=1`), what changed in the definition between the
//! versions they ran, and their steps aligned by name with their durations as bars on one time scale.
//! `?e=ID&against=previous|success` compares an execution with the one before it or the last success.
//! Everything is in the address and renders on the server; while one runs, the page reads again.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::compare::get_compare;
use crate::components::error::ErrorPanel;
use crate::components::status::StatusBadge;
use crate::components::time::Timestamp;
use stepline_types::codec::Json;
use stepline_types::compare::logs::LogsSideBySide;
use stepline_types::compare::{short, Better, Column, ComparePage, JobCell, StepCell};
use stepline_types::layout::timefmt::duration;
use stepline_types::model::links;

/// How often a comparison with a running execution is read again.
#[cfg(feature = "hydrate")]
const LIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

#[component]
pub fn ComparePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let pipeline = move || params.read().get("pipeline").unwrap_or_default();
    let asked = move || {
        let q = query.read();
        let logs_of = q.get("step").filter(|_| q.get("tab").as_deref() == Some("logs"));
        (q.get_all("e").unwrap_or_default(), q.get("against"), logs_of, q.get("at"))
    };
    let data = Resource::<_, Json>::new_with_options(
        move || (pipeline(), asked()),
        |(p, (ids, against, logs_of, _))| get_compare(p, ids, against, logs_of),
        false,
    );
    // Live: while any of them runs, read again every few seconds.
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if data.get_untracked().is_some_and(|d| d.is_ok_and(|p| p.running)) {
                    data.refetch();
                }
            },
            LIVE_EVERY,
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }
    let all = move || query.read().get("all").as_deref() == Some("1");
    view! {
        <Title text=move || format!("Compare · {}", pipeline())/>
        <nav class="crumbs">
            <a href=stepline_types::base::href("/")>"Pipelines"</a>" / "
            <a href=move || links::pipeline(&pipeline())>{pipeline}</a>" / "<span>"Compare"</span>
        </nav>
        <div class="page-head"><h1>"Compare executions"</h1></div>
        <Transition fallback=|| view! { <p class="muted">"Reading the executions…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(page) => view! { <CompareBody page all=all()/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CompareBody(page: ComparePage, all: bool) -> impl IntoView {
    let ids: Vec<&str> = page.columns.iter().map(|c| c.id.as_str()).collect();
    let here = links::compare(&page.pipeline, &ids);
    let toggle = if all {
        view! { <a href=here.clone() data-testid="diff-only">"Show only what differs"</a> }.into_any()
    } else {
        view! { <a href=format!("{here}&all=1") data-testid="show-all">"Show all parameters"</a> }.into_any()
    };
    let pipeline = page.pipeline.clone();
    let columns = page.columns.clone();
    let heads = move || {
        columns
        .iter()
        .map(|c| {
            let href = links::execution(&pipeline, &c.id);
            let took = match (c.start, c.end) {
                (Some(s), Some(e)) => duration((e - s).num_milliseconds() as f64 / 1000.0),
                _ => "running".to_string(),
            };
            view! {
                <th scope="col" data-execution=c.id.clone()>
                    <a href=href>{c.label()}</a><br/>
                    <StatusBadge status=c.status.as_str().to_string() tone=c.status.tone()/>
                    <div class="sub"><Timestamp at=c.start/>" · "{took}{c.pipeline_version.map(|v| format!(" · v{v}"))}</div>
                </th>
            }
        })
        .collect_view()
    };
    // Each cell names its execution: at a phone's width the rows become cards and the heads are hidden.
    let labels: Vec<String> = page.columns.iter().map(Column::label).collect();
    let col = move |i: usize| labels.get(i).cloned().unwrap_or_default();
    let parameters: Vec<_> = page.parameters.iter().filter(|p| all || p.differs).cloned().collect();
    let parameter_rows = parameters
        .into_iter()
        .map(|p| {
            let cells = p
                .values
                .iter()
                .zip(&p.defaults)
                .enumerate()
                .map(|(i, (v, d))| {
                    let mark = d.then_some(view! { <span class="sub" title="the definition's default">" (default)"</span> });
                    view! { <td class="param" data-label=col(i)>{v.clone().unwrap_or_else(|| "—".into())}{mark}</td> }
                })
                .collect_view();
            view! { <tr class=if p.differs { "differs" } else { "" } data-parameter=p.name.clone()><th scope="row">{p.name.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    let none_differ = page.parameters.iter().all(|p| !p.differs);
    let base = page.columns.first().map(|c| c.id.clone()).unwrap_or_default();
    let structure = page
        .structures
        .iter()
        .zip(&page.columns)
        .filter_map(|(s, c)| s.as_ref().map(|s| (s.clone(), c.label(), c.id.clone())))
        .map(|(s, label, id)| {
            let line_diff = links::definition_against(&page.pipeline, &base, &id);
            let changed = s
                .changed
                .iter()
                .map(|(step, props)| view! { <li><code>{step.clone()}</code>": "{props.join(", ")}</li> })
                .collect_view();
            view! {
                <section class="cmp-structure" data-testid="structure">
                    <h3>{format!("In {label}'s definition")}</h3>
                    {(!s.added.is_empty()).then(|| view! { <p>"Steps added: "{s.added.join(", ")}</p> })}
                    {(!s.removed.is_empty()).then(|| view! { <p>"Steps removed: "{s.removed.join(", ")}</p> })}
                    {(!s.changed.is_empty()).then(|| view! { <p>"Steps changed:"</p><ul>{changed}</ul> })}
                    {(!s.parameters.is_empty()).then(|| view! { <p>"Parameters: "{s.parameters.join("; ")}</p> })}
                    <p><a href=line_diff data-testid="line-diff">"Line by line"</a></p>
                </section>
            }
        })
        .collect_view();
    // One time scale for every bar: the longest of them.
    let span = page
        .steps
        .iter()
        .flat_map(|r| r.cells.iter().flatten())
        .filter_map(|c| Some(c.offset? + c.duration?))
        .fold(1.0_f64, f64::max);
    let step_rows = page
        .steps
        .iter()
        .map(|r| {
            let cells = r
                .cells
                .iter()
                .enumerate()
                .map(|(i, c)| view! { <td data-label=col(i)>{c.clone().map(|c| step_cell(c, span))}</td> })
                .collect_view();
            view! { <tr class=if r.differs { "differs" } else { "" } data-step=r.name.clone()><th scope="row">{r.name.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    let charted = page.columns.len() >= 3;
    let chart_head = charted.then(|| view! { <th scope="col">"Across them"</th> });
    let metric_rows = page
        .metrics
        .iter()
        .map(|m| {
            let cells = m
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let best = m.best == Some(i);
                    view! {
                        <td class="num" data-best=best.then_some("true") data-label=col(i)>
                            {v.map(short).unwrap_or_else(|| "—".into())}
                            {best.then(|| view! { " "<span title="the best of them">"★"</span> })}
                        </td>
                    }
                })
                .collect_view();
            let chart = charted.then(|| view! { <td>{metric_chart(&m.values, &m.metric)}</td> });
            let direction = match m.better {
                Some(Better::Lower) => " (lower is better)",
                Some(Better::Higher) => " (higher is better)",
                None => "",
            };
            view! {
                <tr data-metric=m.metric.clone()>
                    <th scope="row"><code>{m.metric.clone()}</code><div class="sub">{m.step.clone()}{direction}</div></th>
                    {cells}{chart}
                </tr>
            }
        })
        .collect_view();
    let job_rows = page
        .jobs
        .iter()
        .map(|r| {
            let cells = r
                .cells
                .iter()
                .enumerate()
                .map(|(i, c)| view! { <td data-label=col(i)>{c.clone().map(|c| job_cell(c, &r.differs))}</td> })
                .collect_view();
            let differs =
                (!r.differs.is_empty()).then(|| view! { <div class="sub">"Differs: "{r.differs.join(", ")}</div> });
            view! {
                <tr class=if r.differs.is_empty() { "" } else { "differs" } data-job-step=r.step.clone()>
                    <th scope="row">{r.step.clone()}{differs}</th>{cells}
                </tr>
            }
        })
        .collect_view();
    let logs_section = (!page.log_steps.is_empty()).then(|| {
        let hidden = ids.iter().map(|id| view! { <input type="hidden" name="e" value=id.to_string()/> }).collect_view();
        let chosen = page.logs.as_ref().map(|l| l.step.clone());
        let options = page
            .log_steps
            .iter()
            .map(|s| view! { <option value=s.clone() selected=chosen.as_deref() == Some(s.as_str())>{s.clone()}</option> })
            .collect_view();
        let shown = page.logs.clone().map(|l| logs_side_by_side(l, &page.columns));
        view! {
            <h2>"Logs side by side"</h2>
            <form method="get" class="inline" data-testid="logs-pick">
                {hidden}
                <input type="hidden" name="tab" value="logs"/>
                <label>"Step "<select name="step">{options}</select></label>
                " "<button type="submit">"Show logs"</button>
            </form>
            {shown}
        }
    });
    // In the browser, each log box opens at its first error (a few lines above it in view).
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| request_animation_frame(scroll_logs_to_first_error));
    view! {
        <p class="cmp-summary" data-testid="compare-summary">{page.summary.clone()}</p>
        {page.running.then(|| view! { <p class="muted" data-testid="compare-live">"One of them is running: this page reads them again every few seconds."</p> })}
        <h2>"Parameters"</h2>
        <p class="muted">{toggle}</p>
        {(none_differ && !all).then(|| view! { <p class="muted" data-testid="same-parameters">"They ran with the same parameters."</p> })}
        <div class="scroll-box" tabindex="0" role="region" aria-label="Parameters side by side">
            <table class="data cmp" data-testid="compare-parameters">
                <thead><tr><th scope="col">"Parameter"</th>{heads()}</tr></thead>
                <tbody>{parameter_rows}</tbody>
            </table>
        </div>
        <h2>"Definition"</h2>
        {if page.structures.iter().all(Option::is_none) {
            view! { <p class="muted" data-testid="same-definition">"They ran the same definition."</p> }.into_any()
        } else {
            structure.into_any()
        }}
        {cost_table(&page, heads())}
        {(!page.metrics.is_empty()).then(|| view! {
            <h2>"Metrics"</h2>
            <p class="muted">"The final metrics of each step's job; ★ marks the best where the metric's name says which way is better."</p>
            <div class="scroll-box" tabindex="0" role="region" aria-label="Metrics side by side">
                <table class="data cmp" data-testid="compare-metrics">
                    <thead><tr><th scope="col">"Metric"</th>{heads()}{chart_head}</tr></thead>
                    <tbody>{metric_rows}</tbody>
                </table>
            </div>
        })}
        {(!page.jobs.is_empty()).then(|| view! {
            <h2>"Jobs"</h2>
            <div class="scroll-box" tabindex="0" role="region" aria-label="Jobs side by side">
                <table class="data cmp" data-testid="compare-jobs">
                    <thead><tr><th scope="col">"Step"</th>{heads()}</tr></thead>
                    <tbody>{job_rows}</tbody>
                </table>
            </div>
        })}
        {logs_section}
        <h2>"Steps"</h2>
        <p class="muted">"Aligned by name; the bars share one time scale from each execution's start. Rows marked differ in status, cache use or attempts."</p>
        <div class="scroll-box" tabindex="0" role="region" aria-label="Steps side by side">
            <table class="data cmp" data-testid="compare-steps">
                <thead><tr><th scope="col">"Step"</th>{heads()}</tr></thead>
                <tbody>{step_rows}</tbody>
            </table>
        </div>
    }
}

/// Each execution's estimated cost in a row, the cheapest marked.
fn cost_table(page: &ComparePage, heads: impl IntoView) -> impl IntoView {
    use stepline_types::cost::{usd, ESTIMATE_NOTE};
    let costs = page.costs.clone();
    (costs.len() == page.columns.len() && costs.iter().any(|c| c.usd > 0.0 || !c.missing.is_empty() || c.unread > 0))
        .then(|| {
            let cheapest = costs
                .iter()
                .enumerate()
                .filter(|(_, c)| c.missing.is_empty() && c.unread == 0 && !c.running)
                .min_by(|a, b| a.1.usd.total_cmp(&b.1.usd))
                .map(|(i, _)| i);
            let cells = costs
                .into_iter()
                .zip(&page.columns)
                .enumerate()
                .map(|(i, (c, col))| {
                    let mut notes = vec![];
                    if c.running {
                        notes.push("so far".to_string());
                    }
                    if c.cache_saved > 0.0 {
                        notes.push(format!("cache saved {}", usd(c.cache_saved)));
                    }
                    if c.spot_saved > 0.0 {
                        notes.push(format!("spot saved {}", usd(c.spot_saved)));
                    }
                    if !c.missing.is_empty() {
                        notes.push(format!("no price for {}", c.missing.join(", ")));
                    }
                    if c.unread > 0 {
                        notes.push(format!("{} job steps not estimated yet: its own page estimates them", c.unread));
                    }
                    let best = cheapest == Some(i) && page.columns.len() > 1;
                    view! {
                        <td class="num" data-label=col.label() data-best=best.then_some("true")>
                            {usd(c.usd)}{best.then(|| view! { " "<span title="the cheapest of them">"★"</span> })}
                            {(!notes.is_empty()).then(|| view! { <div class="sub">{notes.join(" · ")}</div> })}
                        </td>
                    }
                })
                .collect_view();
            view! {
                <h2>"Cost"</h2>
                <p class="muted">{ESTIMATE_NOTE}</p>
                <div class="scroll-box" tabindex="0" role="region" aria-label="Cost side by side">
                    <table class="data cmp" data-testid="compare-cost">
                        <thead><tr><th scope="col">"Cost"</th>{heads}</tr></thead>
                        <tbody><tr><th scope="row">"Estimated cost"</th>{cells}</tr></tbody>
                    </table>
                </div>
            }
        })
}

/// A step's status, duration, cache use and attempts, with its bar on the shared scale (`span` seconds).
fn step_cell(c: StepCell, span: f64) -> impl IntoView {
    let pct = |s: f64| (s / span * 100.0).clamp(0.0, 100.0);
    let bar = match (c.offset, c.duration) {
        (Some(o), Some(d)) => Some(format!("margin-left:{:.2}%;width:{:.2}%", pct(o), pct(d).max(0.5))),
        _ => None,
    };
    let tone = c.status.tone();
    view! {
        <StatusBadge status=c.status.as_str().to_string() tone=tone/>
        " "{c.duration.map(duration)}
        {c.cached_from.as_ref().map(|_| view! { " · "<span class="sub" title="reused a cached result">"cached"</span> })}
        {c.attempts.filter(|a| *a > 1).map(|a| format!(" · {a} attempts"))}
        {bar.map(|style| view! { <div class="cmp-track" aria-hidden="true"><div class=format!("cmp-bar {tone}") style=style></div></div> })}
        {c.failure_reason.map(|r| view! { <div class="sub failure">{r}</div> })}
    }
}

/// A job's configuration as compared: its instances, image, spot and billed time, and the hyperparameters
/// and inputs that differ between the executions.
fn job_cell(c: JobCell, differs: &[String]) -> impl IntoView {
    let differing = |prefix: &str, list: &[stepline_types::model::NameValue]| {
        list.iter()
            .filter(|p| differs.iter().any(|d| d.strip_prefix(prefix) == Some(p.name.as_str())))
            .map(|p| view! { <li><code>{p.name.clone()}</code>" = "{p.value.clone()}</li> })
            .collect_view()
    };
    let hyper = differing("hyperparameter ", &c.hyperparameters);
    let inputs = differing("input ", &c.inputs);
    view! {
        <div class="mono sub">{c.name.clone()}</div>
        <div>{c.instances.clone().unwrap_or_else(|| "—".into())}{c.spot.then_some(" · spot")}</div>
        {c.billable_seconds.map(|b| view! { <div class="sub">{format!("billed {}", duration(b as f64))}</div> })}
        {c.image.clone().map(|i| view! { <div class="sub param">{i}</div> })}
        <ul class="plain">{hyper}{inputs}</ul>
    }
}

/// A metric's values across the executions as dots on a line, in an SVG drawn on the server.
fn metric_chart(values: &[Option<f64>], metric: &str) -> impl IntoView {
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let (lo, hi) = known.iter().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    let (w, h) = (120.0, 32.0);
    let step = if values.len() > 1 { (w - 8.0) / (values.len() - 1) as f64 } else { 0.0 };
    let y = |v: f64| if hi > lo { 4.0 + (h - 8.0) * (1.0 - (v - lo) / (hi - lo)) } else { h / 2.0 };
    let points: Vec<(f64, f64)> =
        values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (4.0 + i as f64 * step, y(v)))).collect();
    let line = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let dots = points
        .iter()
        .map(|(x, y)| view! { <circle cx=format!("{x:.1}") cy=format!("{y:.1}") r="2.5"/> })
        .collect_view();
    let label = format!(
        "{metric} across the executions: {}",
        values.iter().map(|v| v.map(short).unwrap_or_else(|| "none".into())).collect::<Vec<_>>().join(", ")
    );
    view! {
        <svg class="cmp-chart" width=w height=h viewBox=format!("0 0 {w} {h}") role="img" aria-label=label>
            <polyline points=line fill="none"/>
            {dots}
        </svg>
    }
}

/// Each execution's log of one step in a column, from a little before its first error, lines found in no
/// other execution's log marked.
fn logs_side_by_side(logs: LogsSideBySide, columns: &[Column]) -> impl IntoView {
    let boxes = logs
        .columns
        .into_iter()
        .zip(columns)
        .map(|(c, col)| {
            let label = format!("{} log of {}", logs.step, col.label());
            let body = match c.missing {
                Some(why) => view! { <p class="muted">{why}</p> }.into_any(),
                None => {
                    let lines = c
                        .lines
                        .into_iter()
                        .zip(c.only_here)
                        .map(|(l, only)| {
                            let class = match (only, c.first_error == Some(l.n)) {
                                (_, true) => "cl first-error",
                                (true, false) => "cl only-here",
                                _ => "cl",
                            };
                            let text = stepline_types::model::logs::strip_ansi(&l.text);
                            view! { <div class=class data-only=only.then_some("true")><span class="ln">{l.n}</span>{text}</div> }
                        })
                        .collect_view();
                    view! { <div class="cmp-log" tabindex="0" role="region" aria-label=label.clone()>{lines}</div> }.into_any()
                }
            };
            view! { <section class="cmp-log-col" data-execution=col.id.clone()><h3>{col.label()}</h3>{body}</section> }
        })
        .collect_view();
    view! {
        <p class="muted">"Marked lines appear in no other execution's log (numbers aside); the first error is outlined."</p>
        <div class="cmp-logs" data-testid="compare-logs">{boxes}</div>
    }
}

/// Scroll each side-by-side log box so its first error shows, with a few lines of context above it.
#[cfg(feature = "hydrate")]
fn scroll_logs_to_first_error() {
    use wasm_bindgen::JsCast;
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(errors) = doc.query_selector_all(".cmp-log .first-error") else { return };
    for i in 0..errors.length() {
        let Some(line) = errors.item(i).and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) else { continue };
        // The box is positioned (see .cmp-log), so the line's offset is from the box's top.
        if let Some(list) = line.parent_element() {
            list.set_scroll_top((line.offset_top() - 48).max(0));
        }
    }
}
