//! The model registry: `/models` lists the model package groups the reader may see; `/models/{group}` shows
//! a group's versions side by side — approval, where each came from (the execution that registered it,
//! linked), its image and model data, customer metadata, the metrics reports it names and the final metrics
//! of its training job — with Approve and Reject for those who may decide.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::decide::DecideForms;
use crate::components::status::ApprovalBadge;
use crate::components::{error::ErrorPanel, time::Timestamp};
use crate::registry::{get_model_group, list_models};
use stepline_types::codec::Json;
use stepline_types::model::links;
use stepline_types::model::registry::{side_by_side, VersionView};
use stepline_types::page::ModelGroupPage;

#[component]
pub fn ModelsPage() -> impl IntoView {
    let data = Resource::<_, Json>::new_with_options(|| (), |_| list_models(), false);
    view! {
        <Title text="Models"/>
        <div class="page-head"><h1>"Models"</h1></div>
        <Transition fallback=|| view! { <p class="muted">"Loading the model registry…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(d) if d.groups.is_empty() => view! {
                        <p class="muted" data-testid="no-models">"No model package groups you may see: a group is shown to those who may read the pipeline that registered its newest version."</p>
                    }.into_any(),
                    Ok(d) => {
                        let rows = d.groups.into_iter().map(|r| {
                            let href = links::model_group(&r.group.name);
                            let newest = r.newest.map(|n| view! { "v"{n.version}" "<ApprovalBadge approval=n.approval/>" "<Timestamp at=n.created/> });
                            view! {
                                <tr data-group=r.group.name.clone()>
                                    <td><a href=href>{r.group.name.clone()}</a><div class="sub">{r.group.description.clone().unwrap_or_default()}</div></td>
                                    <td>{newest}</td>
                                    <td class="num">{r.versions}</td>
                                    <td class="num" data-testid="pending-count">{r.pending}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="data" data-testid="model-groups">
                                <thead><tr><th>"Group"</th><th>"Newest version"</th><th>"Versions"</th><th>"Pending approval"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn ModelGroupPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let name = move || params.read().get("group").unwrap_or_default();
    // Read again after a decision (the address then carries a new nonce).
    let data = Resource::<_, Json>::new_with_options(
        move || (name(), query.read().get("at")),
        |(n, _)| get_model_group(n),
        false,
    );
    let notice = move || {
        let q = query.read();
        let decided = q.get("decided").map(|d| match d.as_str() {
            "approve" => "The version was approved.",
            _ => "The version was rejected.",
        });
        let error = q.get("error").and_then(|c| stepline_types::error::notice_text(&c));
        view! {
            {decided.map(|n| view! { <p class="notice" role="status" data-testid="notice">{n}</p> })}
            {error.map(|e| view! { <div class="error-panel" role="alert">{e}</div> })}
        }
    };
    view! {
        <Title text=move || format!("{} · Models", name())/>
        <nav class="crumbs"><a href=stepline_types::base::href("/models")>"Models"</a>" / "<span>{name}</span></nav>
        {notice}
        <Transition fallback=|| view! { <p class="muted">"Loading the versions…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(d) => view! { <GroupBody page=d/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn GroupBody(page: ModelGroupPage) -> impl IntoView {
    let group = page.group.name.clone();
    // The versions side by side: their training metrics, the parameters their executions ran with and their
    // images, one row per name, rows that differ marked.
    let heads = page
        .versions
        .iter()
        .map(|v| view! { <th scope="col">"v"{v.version.summary.version}" "<ApprovalBadge approval=v.version.summary.approval/></th> })
        .collect_view();
    let metrics: Vec<Vec<(&str, String)>> = page
        .versions
        .iter()
        .map(|v| v.metrics.iter().map(|m| (m.name.as_str(), format!("{:.4}", m.value))).collect())
        .collect();
    let parameters: Vec<Vec<(&str, String)>> = page
        .versions
        .iter()
        .map(|v| {
            let mut cells: Vec<(&str, String)> =
                v.parameters.iter().map(|p| (p.name.as_str(), p.value.clone())).collect();
            if let Some(image) = &v.version.image {
                cells.push(("image", image.clone()));
            }
            cells
        })
        .collect();
    // Metrics are numbers (right-aligned, on one line); parameters and images are text that wraps anywhere, so a
    // long S3 URI or image name never pushes the table past a phone's width.
    let rows = |columns: &[Vec<(&str, String)>], kind: &'static str| {
        let cell = if kind == "metric" { "num" } else { "param" };
        side_by_side(columns)
            .into_iter()
            .map(|(name, cells, differ)| {
                let cells = cells
                    .into_iter()
                    .map(|c| view! { <td class=cell>{c.unwrap_or_else(|| "—".into())}</td> })
                    .collect_view();
                let mark = differ.then_some(view! { <span class="sub" title="differs between versions">" ≠"</span> });
                view! { <tr class=if differ { "differs" } else { "" } data-kind=kind><th scope="row">{name.to_string()}{mark}</th>{cells}</tr> }
            })
            .collect_view()
    };
    let any = metrics.iter().chain(parameters.iter()).any(|c| !c.is_empty());
    let comparison = any.then(|| {
        let (metric_rows, parameter_rows) = (rows(&metrics, "metric"), rows(&parameters, "parameter"));
        view! {
            <h2>"Side by side"</h2>
            <p class="muted">"The final metrics of the training job each version's execution ran, the parameters it ran with and the image; rows marked ≠ differ."</p>
            // Focusable: on a phone the table scrolls sideways inside its box, and a keyboard must reach it.
            <table class="data" data-testid="model-metrics" tabindex="0" aria-label="Versions side by side">
                <thead><tr><th>"Metric or parameter"</th>{heads}</tr></thead>
                <tbody>{metric_rows}</tbody>
                <tbody>{parameter_rows}</tbody>
            </table>
        }
    });
    let versions = page.versions.into_iter().map(|v| view! { <Version view=v group=group.clone()/> }).collect_view();
    let older = (!page.older.is_empty()).then(|| {
        let rows = page
            .older
            .into_iter()
            .map(|o| view! { <li>"v"{o.version}" "<ApprovalBadge approval=o.approval/>" "<Timestamp at=o.created/></li> })
            .collect_view();
        view! { <h2>"Older versions"</h2><ul>{rows}</ul> }
    });
    view! {
        <div class="page-head"><div><h1>{page.group.name.clone()}</h1><p class="muted">{page.group.description.clone().unwrap_or_default()}</p></div></div>
        <p class="muted">"Approving a version usually starts its deployment: a pipeline or rule listening for \u{201c}SageMaker Model Package State Change\u{201d} deploys what is approved."</p>
        {comparison}
        <h2>"Versions"</h2>
        <div data-testid="model-versions">{versions}</div>
        {older}
    }
}

#[component]
fn Version(view: VersionView, group: String) -> impl IntoView {
    let v = view.version;
    let s = v.summary.clone();
    let from = v.registered_by().map(|(pipeline, id)| {
        let href = links::execution(&pipeline, &id);
        view! { <a href=href data-testid="generated-by">{format!("{pipeline} · {id}")}</a> }
    });
    let metadata = v
        .customer_metadata
        .iter()
        .map(|(k, val)| view! { <li><code>{k.clone()}</code>" = "{val.clone()}</li> })
        .collect_view();
    let reports = v
        .metrics_locations
        .iter()
        .map(|(k, uri)| view! { <li>{k.clone()}": "<code class="copyable">{uri.clone()}</code></li> })
        .collect_view();
    let decide = view.may_decide.then(|| view! { <DecideForms group=group.clone() arn=s.arn.clone()/> });
    view! {
        <section class="model-version" data-testid="model-version" data-version=s.version>
            <h3>"Version "{s.version}" "<ApprovalBadge approval=s.approval/></h3>
            <dl class="meta">
                <div><dt>"Created"</dt><dd><Timestamp at=s.created/></dd></div>
                <div><dt>"Created by"</dt><dd>{v.created_by.clone().unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>"Registered by"</dt><dd>{from.map(|f| f.into_any()).unwrap_or_else(|| "not a pipeline".into_any())}</dd></div>
                <div><dt>"Status"</dt><dd>{s.status.clone()}</dd></div>
                <div><dt>"Image"</dt><dd class="mono copyable">{v.image.clone().unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>"Model data"</dt><dd class="mono copyable">{v.model_data.clone().unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>"Training job"</dt><dd class="mono">{view.training_job.clone().unwrap_or_else(|| "—".into())}</dd></div>
                {v.approval_description.clone().map(|d| view! { <div><dt>"Decision"</dt><dd data-testid="approval-description">{d}{v.modified_by.clone().map(|b| format!(" — {b}"))}</dd></div> })}
            </dl>
            {(!v.customer_metadata.is_empty()).then(|| view! { <h4>"Customer metadata"</h4><ul>{metadata}</ul> })}
            {(!v.metrics_locations.is_empty()).then(|| view! { <h4>"Metrics reports"</h4><ul>{reports}</ul> })}
            {decide}
        </section>
    }
}
