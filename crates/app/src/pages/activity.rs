//! The activity page: who did what, when, to which pipeline and execution, and how it ended. Filtered by
//! user, pipeline, action, outcome and time, all in the URL; exported as CSV and JSON Lines.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::activity_log;
use crate::components::{error::ErrorPanel, time::Timestamp};
use stepline_types::codec::Json;
use stepline_types::model::activity::{Action, Filter, Outcome};
use stepline_types::model::links;

#[component]
pub fn ActivityPage() -> impl IntoView {
    let query = use_query_map();
    let parsed = Memo::new(move |_| {
        let q = query.get();
        let pairs: Vec<(String, String)> = q.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        Filter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    });
    let data = Resource::<_, Json>::new_with_options(move || parsed.get().0, activity_log, false);
    view! {
        <Title text="Activity"/>
        <div class="page-head"><h1>"Activity"</h1></div>
        {move || {
            let (f, problems) = parsed.get();
            view! {
                <ActivityFilter filter=f.clone()/>
                {(!problems.is_empty()).then(|| view! {
                    <div class="error-panel" role="alert">
                        <strong class="error-code">"Invalid filter"</strong>
                        <ul>{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                    </div>
                })}
            }
        }}
        <Transition fallback=|| view! { <p class="muted">"Loading the activity log…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(d) => {
                        let filter = parsed.get_untracked().0;
                        let exports = filter.query();
                        let sep = if exports.is_empty() { "" } else { "?" };
                        let scope = if d.page.everything {
                            "Everything done through Stepline."
                        } else {
                            "What you did, and what was done to the pipelines you may read."
                        };
                        let next = d.page.next.map(|n| {
                            let q = filter.query();
                            stepline_types::base::href(&format!("/activity?{q}{}before={n}", if q.is_empty() { "" } else { "&" }))
                        });
                        let empty = d.page.entries.is_empty();
                        let rows = d.page.entries.into_iter().map(|e| {
                            // The log is shared by every account and region shown: links go to the execution's own.
                            let execution = match (&e.pipeline, e.execution_id(), &e.execution_arn) {
                                (Some(p), Some(id), Some(arn)) => {
                                    let href = links::execution_arn_of(p, arn).unwrap_or_else(|| links::execution(p, id));
                                    view! { <a href=href>{id.to_string()}</a> }.into_any()
                                }
                                _ => view! { <span class="muted">"—"</span> }.into_any(),
                            };
                            let pipeline = e.pipeline.clone().map(|p| {
                                let href = match &e.execution_arn {
                                    Some(arn) => links::pipeline_in_place_of(arn, &p),
                                    None => links::pipeline(&p),
                                };
                                view! { <a href=href>{p.clone()}</a> }
                            });
                            let detail = if e.detail.is_null() { String::new() } else { stepline_types::text::clip(&e.detail.to_string(), 160) };
                            let tone = match e.outcome { Outcome::Done => "ok", Outcome::Refused => "warn", _ => "bad" };
                            view! {
                                <tr data-action=e.action.label() data-outcome=e.outcome.label()>
                                    <td><Timestamp at=Some(e.at)/></td>
                                    <td>{e.user.clone()}<div class="sub">{e.role.clone()}</div></td>
                                    <td>{e.action.label()}</td>
                                    <td><span class=format!("outcome {tone}")>{e.outcome.label()}</span>
                                        {e.error_code.clone().map(|c| view! { <div class="sub">{c}</div> })}</td>
                                    <td>{pipeline}</td>
                                    <td>{execution}</td>
                                    <td><code class="detail">{detail}</code></td>
                                    <td class="sub mono">{e.request_id.clone()}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <p class="muted">{scope}" "
                                <a href=stepline_types::base::root_href(&format!("/activity.csv{sep}{exports}")) data-testid="export-csv" rel="external">"Export CSV"</a>" · "
                                <a href=stepline_types::base::root_href(&format!("/activity.jsonl{sep}{exports}")) data-testid="export-jsonl" rel="external">"Export JSON Lines"</a>
                            </p>
                            <table class="data" data-testid="activity">
                                <thead><tr><th>"Time"</th><th>"User"</th><th>"Action"</th><th>"Outcome"</th><th>"Pipeline"</th><th>"Execution"</th><th>"Detail"</th><th>"Request"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            {empty.then(|| view! { <p class="muted">"Nothing matches."</p> })}
                            {next.map(|n| view! { <p><a href=n data-testid="older">"Older records"</a></p> })}
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The filter form: a plain GET form, so every filter is a link.
#[component]
fn ActivityFilter(filter: Filter) -> impl IntoView {
    let day = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
    };
    let action = filter.action;
    let outcome = filter.outcome;
    view! {
        <form method="get" action=stepline_types::base::href("/activity") class="filters" data-testid="activity-filter">
            <label>"User "<input type="text" name="user" value=filter.user.clone().unwrap_or_default() size="20"/></label>
            <label>"Pipeline "<input type="text" name="pipeline" value=filter.pipeline.clone().unwrap_or_default() size="20"/></label>
            <label>"Action "
                <select name="action">
                    <option value="" selected=action.is_none()>"any"</option>
                    {Action::all().map(|a| view! { <option value=a.label() selected=action == Some(a)>{a.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Outcome "
                <select name="outcome">
                    <option value="" selected=outcome.is_none()>"any"</option>
                    {Outcome::all().map(|o| view! { <option value=o.label() selected=outcome == Some(o)>{o.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>"From "<input type="text" name="from" value=day(filter.from) placeholder="2026-11-01" size="16"/></label>
            <label>"To "<input type="text" name="to" value=day(filter.to) placeholder="2026-11-30" size="16"/></label>
            <button type="submit">"Filter"</button>
            <a href=stepline_types::base::href("/activity")>"Clear"</a>
        </form>
    }
}
