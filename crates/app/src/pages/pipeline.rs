use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use stepline_types::live::StreamEvent;

use crate::api::list_executions;
use crate::components::live::{use_event_source, LiveIndicator};
use crate::components::notify_me::NotifyMe;
use crate::components::stale::StaleNotice;
use crate::components::{error::ErrorPanel, status::StatusBadge, time::Timestamp};
use crate::pages::title::route_title;
use stepline_types::codec::Json;
use stepline_types::layout::timefmt;
use stepline_types::model::{links, ExecStatus, Problem};
use stepline_types::page::{ExecutionsPage, ListQuery, PAGE_SIZES};

/// A pipeline's executions: filtered by status and time on the server, sorted, paged with a cursor, with
/// chosen parameters as columns. Everything is in the URL, so Back and shared links restore the view.
#[component]
pub fn PipelinePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let pipeline = move || params.read().get("pipeline").unwrap_or_default();
    // Made here, with the page, not inside the list's Suspend: a resource made when another resolves gets
    // its id in the order the server happened to resolve them, which the browser need not repeat.
    let costs = crate::components::cost_trend::trend_resource(Signal::derive(pipeline));
    let list_query = move || {
        let q = query.read();
        let pairs: Vec<(String, String)> = (&*q).into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ListQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    };
    // Live: the server says when the list changed; the page asks for its view again.
    // The first event only tells the version the rendered page already shows.
    let version = RwSignal::new(0u64);
    let baseline = StoredValue::new(None::<u64>);
    // While the server cannot refresh the list, the stream says why; when it recovers, the page asks again.
    let live_problem = RwSignal::new(None::<Problem>);
    let recovered = RwSignal::new(0u32);
    let live = use_event_source(
        stepline_types::base::href(&format!("/events/pipelines/{}/executions", links::seg(&pipeline()))),
        &[StreamEvent::Changed, StreamEvent::Problem, StreamEvent::Resumed],
        move |event, data| match event {
            StreamEvent::Changed => {
                if let Ok(v) = data.parse::<u64>() {
                    match baseline.get_value() {
                        None => baseline.set_value(Some(v)),
                        Some(b) if b != v => {
                            baseline.set_value(Some(v));
                            version.set(v);
                        }
                        Some(_) => {}
                    }
                }
            }
            StreamEvent::Problem => live_problem.set(stepline_types::codec::from_json::<Problem>(&data).ok()),
            _ => {
                live_problem.set(None);
                recovered.update(|n| *n += 1);
            }
        },
    );
    let data = Resource::<_, Json>::new_with_options(
        move || (pipeline(), list_query(), version.get(), recovered.get()),
        |(p, q, _, _)| list_executions(p, q),
        false,
    );
    view! {
        <Title text=route_title(params, |p| p.get("pipeline").unwrap_or_default())/>
        <nav class="crumbs"><a href=stepline_types::base::href("/")>"Pipelines"</a>" / "<span>{pipeline}</span></nav>
        {move || view! { <NotifyMe pipeline=pipeline()/> }}
        <Transition fallback=|| view! { <p class="muted">"Loading executions…"</p> }>
            {move || Suspend::new(async move {
                let q = list_query();
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(page) => {
                        let name = page.pipeline.name.clone();
                        let freshness = {
                            let base = page.freshness.clone();
                            Signal::derive(move || {
                                let mut f = base.clone();
                                if let Some(p) = live_problem.get() {
                                    f.problem = Some(p);
                                }
                                f
                            })
                        };
                        let columns: Vec<String> = q.params.iter().filter(|p| page.parameter_names.contains(p)).cloned().collect();
                        let status_boxes = ExecStatus::ALL
                            .iter()
                            .map(|s| {
                                let checked = q.statuses.iter().any(|x| x == s.as_str());
                                view! { <label class="check"><input type="checkbox" name="status" value=s.as_str().to_string() checked=checked/>{s.as_str().to_string()}</label> }
                            })
                            .collect_view();
                        let column_boxes = page
                            .parameter_names
                            .iter()
                            .map(|p| {
                                let checked = q.params.contains(p);
                                view! { <label class="check"><input type="checkbox" name="cols" value=p.clone() checked=checked/>{p.clone()}</label> }
                            })
                            .collect_view();
                        let size_options = PAGE_SIZES
                            .iter()
                            .map(|s| view! { <option value=s.to_string() selected=q.size.unwrap_or(50) == *s>{s.to_string()}</option> })
                            .collect_view();
                        let header_cols = columns.iter().map(|c| view! { <th class="param">{c.clone()}</th> }).collect_view();
                        let rows = page
                            .rows
                            .iter()
                            .map(|r| {
                                let e = &r.summary;
                                let href = links::execution(&name, &e.id);
                                let duration = timefmt::between(e.start, r.end).map(timefmt::duration).unwrap_or_else(|| if e.status.is_terminal() { String::new() } else { "running".into() });
                                let reason = e.failure_reason.clone().map(|f| {
                                    view! { <span title=f.clone()>{stepline_types::text::clip(&f, 140)}</span> }
                                });
                                // Each value names its column: on a phone the rows become cards without the header.
                                let params = r
                                    .params
                                    .iter()
                                    .zip(&columns)
                                    .map(|(v, c)| view! { <td class="param mono" data-label=c.clone()>{v.clone().unwrap_or_default()}</td> })
                                    .collect_view();
                                let pick = format!("Compare {}", e.display_name.clone().unwrap_or_else(|| e.id.clone()));
                                view! {
                                    <tr data-execution=e.id.clone()>
                                        <td class="pick" data-label="Compare"><input type="checkbox" name="e" value=e.id.clone() form="compare-form" aria-label=pick data-testid="compare-pick"/></td>
                                        <td><StatusBadge status=e.status.as_str().to_string() tone=e.status.tone()/></td>
                                        <td><a href=href class="strong">{e.display_name.clone().unwrap_or_else(|| e.id.clone())}</a><div class="sub mono">{e.id.clone()}</div></td>
                                        <td><Timestamp at=e.start/></td>
                                        <td><Timestamp at=r.end/></td>
                                        <td class="num">{duration}</td>
                                        <td class="by" data-testid="started-by" data-label="Started by">{r.started_by.clone().unwrap_or_default()}</td>
                                        {params}
                                        <td class="reason">{reason}</td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        let next = page.next_cursor.clone().map(|c| {
                            let href = q.href(&name, Some(&c));
                            view! { <a class="button" href=href rel="next">"Next page →"</a> }
                        });
                        let first = q.cursor.is_some().then(|| view! { <a class="button" href=q.href(&name, None)>"← First page"</a> });
                        view! {
                            <div class="page-head">
                                <div>
                                    <h1>{name.clone()}</h1>
                                    <p class="muted">{page.pipeline.description.clone().unwrap_or_default()}</p>
                                </div>
                                <a class="button primary" href=format!("{}/start", links::pipeline(&name)) data-testid="start-link">"Start execution…"</a>
                            </div>
                            <form method="get" class="filters" aria-label="Filter executions">
                                <fieldset><legend>"Status"</legend>{status_boxes}</fieldset>
                                <fieldset><legend>"Started"</legend>
                                    <label>"from "<input type="text" name="from" value=q.after.clone().unwrap_or_default() placeholder="2026-11-23" size="16"/></label>
                                    <label>" to "<input type="text" name="to" value=q.before.clone().unwrap_or_default() placeholder="2026-11-24T08:00" size="16"/></label>
                                </fieldset>
                                <fieldset><legend>"Order"</legend>
                                    <select name="order" aria-label="Order"><option value="newest" selected=!q.oldest_first>"Newest first"</option><option value="oldest" selected=q.oldest_first>"Oldest first"</option></select>
                                    <select name="size" aria-label="Page size">{size_options}</select>
                                </fieldset>
                                <fieldset><legend>"Parameter columns"</legend>{column_boxes}</fieldset>
                                <button type="submit" class="primary">"Apply"</button>
                            </form>
                            <p class="summary">
                                {summary_line(&page)}
                                " · "<LiveIndicator state=live freshness=freshness/>
                            </p>
                            {coverage_note(&page, q.oldest_first).map(|n| view! { <p class="note" data-testid="coverage">{n}</p> })}
                            <StaleNotice freshness=freshness/>
                            <table class="data" data-testid="executions">
                                <thead><tr><th><span class="sub">"Compare"</span></th><th>"Status"</th><th>"Execution"</th><th>"Started"</th><th>"Ended"</th><th>"Duration"</th><th>"Started by"</th>{header_cols}<th>"Failure reason"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            // The rows' checkboxes belong to this form (a form cannot hold the table's other forms).
                            <form method="get" action=format!("{}/compare", links::pipeline(&name)) id="compare-form" class="compare-form">
                                <button type="submit" data-testid="compare-selected">"Compare selected"</button>
                                <span class="sub">" Tick two to eight executions."</span>
                            </form>
                            <nav class="pager">{first}{next}</nav>
                            <crate::components::cost_trend::CostTrend data=costs/>
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// "12 of 1,000 executions match", said as partial when the listing did not cover the whole history.
fn summary_line(page: &ExecutionsPage) -> String {
    let (matching, total) =
        (stepline_types::text::thousands(page.total_matching), stepline_types::text::thousands(page.total));
    if page.coverage.complete {
        format!("{matching} of {total} executions match")
    } else {
        format!("{matching} of the {total} executions scanned so far match")
    }
}

/// How far the listing behind the page got, when not to the end.
fn coverage_note(page: &ExecutionsPage, oldest_first: bool) -> Option<String> {
    page.coverage.note(if oldest_first { "Oldest" } else { "Newest" })
}
