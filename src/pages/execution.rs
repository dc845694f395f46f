use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{get_execution, ExecutionPage as PageData};
use crate::codec::Json;
use crate::components::dag::DagView;
use crate::components::gantt::GanttChart;
use crate::components::live::{use_event_source, LiveIndicator};
use crate::components::steps::{StepDetail, StepTable};
use crate::components::{error::ErrorPanel, status::StatusBadge, time::Timestamp};
use crate::layout::gantt::ZOOMS;
use crate::layout::timefmt;
use crate::model::{links, ExecutionView, Upstream};
use crate::pages::title::route_title;

/// What the execution page's URL says about the view: tab, selected step, zoom.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewState {
    pub tab: &'static str,
    pub step: Option<String>,
    pub zoom: u32,
}

impl ViewState {
    pub fn from_query(tab: Option<&str>, step: Option<&str>, zoom: Option<&str>) -> ViewState {
        ViewState {
            tab: match tab {
                Some("graph") => "graph",
                Some("steps") => "steps",
                _ => "gantt",
            },
            step: step.filter(|s| !s.is_empty() && s.len() <= 256).map(String::from),
            zoom: zoom.and_then(|z| z.parse().ok()).filter(|z| ZOOMS.contains(z)).unwrap_or(1),
        }
    }

    /// The link to this page with some of the state changed.
    pub fn href(&self, base: &str, tab: Option<&'static str>, step: Option<Option<&str>>, zoom: Option<u32>) -> String {
        let tab = tab.unwrap_or(self.tab);
        let step = match step {
            Some(s) => s.map(String::from),
            None => self.step.clone(),
        };
        let zoom = zoom.unwrap_or(self.zoom);
        let mut q = vec![format!("tab={tab}")];
        if let Some(s) = step {
            q.push(format!("step={}", links::seg(&s)));
        }
        if zoom != 1 {
            q.push(format!("zoom={zoom}"));
        }
        format!("{base}?{}", q.join("&"))
    }
}

#[component]
pub fn ExecutionPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let pipeline = move || params.read().get("pipeline").unwrap_or_default();
    let id = move || params.read().get("id").unwrap_or_default();
    // `at` changes after each action here, so the page asks again for what the action changed.
    let nonce = move || query.read().get("at");
    let data = Resource::<_, Json>::new_with_options(
        move || (pipeline(), id(), nonce()),
        |(p, i, _)| get_execution(p, i),
        false,
    );
    let state = move || {
        let q = query.read();
        ViewState::from_query(q.get_str("tab"), q.get_str("step"), q.get_str("zoom"))
    };
    view! {
        <Title text=route_title(params, |p| format!("{} · {}", p.get("id").unwrap_or_default(), p.get("pipeline").unwrap_or_default()))/>
        <nav class="crumbs">
            <a href="/">"Pipelines"</a>" / "<a href=move || links::pipeline(&pipeline())>{pipeline}</a>" / "<span>{id}</span>
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading the execution…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(page) => view! { <ExecutionBody page=page state=Signal::derive(state) query=query/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ExecutionBody(
    page: PageData,
    state: Signal<ViewState>,
    query: leptos::prelude::Memo<leptos_router::params::ParamsMap>,
) -> impl IntoView {
    let base = links::execution(&page.view.execution.pipeline_name, &page.view.execution.id);
    let view_signal = RwSignal::new(page.view.clone());
    let definition = page.definition.clone();
    // Step types and declared callback outputs, from the definition the execution runs with.
    let parsed = definition.as_ref().ok().and_then(|d| stepline_definition::parse(d).ok());
    let types: std::collections::HashMap<String, (String, Vec<(String, String)>)> = parsed
        .map(|d| {
            d.steps
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        (
                            s.step_type.clone(),
                            s.output_parameters
                                .iter()
                                .map(|o| (o.output_name.clone(), o.output_type.clone()))
                                .collect(),
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let types = std::sync::Arc::new(types);
    let step_types = {
        let types = types.clone();
        Callback::new(move |name: String| types.get(&name).map(|(t, _)| t.clone()))
    };
    let declared_outputs = {
        let types = types.clone();
        Callback::new(move |name: String| types.get(&name).map(|(_, o)| o.clone()).unwrap_or_default())
    };
    let confirm_stop = Signal::derive(move || query.read().get("confirm").as_deref() == Some("stop"));
    let selected = Signal::derive(move || state.get().step);
    let notice = move || {
        let q = query.read();
        let notice = q.get("notice").map(|n| match n.as_str() {
            "stopping" => "Stop requested.".to_string(),
            "retrying" => "Retry requested: failed steps run again.".to_string(),
            "approved" => "Callback approved.".to_string(),
            "rejected" => "Callback rejected.".to_string(),
            _ => String::new(),
        });
        let error = q.get("error");
        view! {
            {notice.filter(|n| !n.is_empty()).map(|n| view! { <p class="notice" data-testid="notice">{n}</p> })}
            {error.map(|e| view! { <div class="error-panel" role="alert" data-testid="action-error">{e.chars().take(2000).collect::<String>()}</div> })}
        }
    };
    // Live snapshots while the execution runs; a finished one never changes.
    let live = if page.view.execution.status.is_terminal() {
        RwSignal::new(crate::components::live::Link::Done)
    } else {
        use_event_source(format!("/events{base}"), &["snapshot"], move |_, data| {
            if let Ok(v) = crate::codec::from_json::<ExecutionView>(&data) {
                view_signal.set(v);
            }
        })
    };
    // Running bars grow: a clock ticks once a second while anything runs (in the browser only). It starts at
    // the snapshot's time on both sides, so the browser hydrates exactly what the server drew.
    let now = RwSignal::new(page.view.fetched_at);
    #[cfg(feature = "hydrate")]
    {
        let handle = leptos::prelude::set_interval_with_handle(
            move || {
                if !view_signal.get_untracked().execution.status.is_terminal() {
                    now.set(chrono::Utc::now());
                }
            },
            std::time::Duration::from_secs(1),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }
    let base_for_links = base.clone();
    let header = move || {
        let v = view_signal.get();
        let e = v.execution;
        let end = if e.status.is_terminal() { e.modified } else { None };
        let duration = timefmt::between(e.created, end.or(Some(now.get()))).map(timefmt::duration).unwrap_or_default();
        let selective = e.selective.clone().map(|s| {
            let source = s.source_arn.clone().map(|a| {
                let href = links::execution_arn(&a).unwrap_or_default();
                view! { " from " <a href=href>{crate::model::execution_id(&a).to_string()}</a> }
            });
            view! { <div><dt>"Selective"</dt><dd>{s.selected_steps.join(", ")}{source}</dd></div> }
        });
        let failure = e.failure_reason.clone().map(|r| {
            view! {
                <div class="failure" data-testid="failure-reason">
                    <h3>"Failure reason"</h3>
                    <pre class="copyable">{r}</pre>
                </div>
            }
        });
        view! {
            <div class="page-head">
                <div>
                    <h1><StatusBadge status=e.status.as_str().to_string() tone=e.status.tone()/>" "{e.display_name.clone().unwrap_or(e.id.clone())}</h1>
                    <p class="muted">{e.description.clone().unwrap_or_default()}</p>
                </div>
                <LiveIndicator state=live/>
            </div>
            <dl class="meta" data-testid="execution-meta">
                <div><dt>"Execution"</dt><dd class="mono copyable">{e.arn.clone()}</dd></div>
                <div><dt>"Created"</dt><dd><Timestamp at=e.created/></dd></div>
                <div><dt>"Last modified"</dt><dd><Timestamp at=e.modified/></dd></div>
                <div><dt>"Duration"</dt><dd>{duration}</dd></div>
                <div><dt>"Created by"</dt><dd>{e.created_by.clone().unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>"Modified by"</dt><dd>{e.modified_by.clone().unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>"Pipeline version"</dt><dd>{e.pipeline_version.map(|v| v.to_string()).unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>"Parallelism"</dt><dd>{e.parallelism.map(|v| format!("{v} steps at once")).unwrap_or_else(|| "pipeline default".into())}</dd></div>
                <div><dt>"Experiment"</dt><dd>{format!("{} / {}", e.experiment_name.clone().unwrap_or_default(), e.trial_name.clone().unwrap_or_default())}</dd></div>
                {e.mlflow_experiment.clone().map(|m| view! { <div><dt>"MLflow"</dt><dd>{m}" "<span class="mono sub">{e.mlflow_arn.clone().unwrap_or_default()}</span></dd></div> })}
                {selective}
            </dl>
            {failure}
        }
    };
    let parameters = {
        let defaults: Vec<(String, Option<String>)> = definition
            .as_ref()
            .ok()
            .and_then(|d| stepline_definition::parse(d).ok())
            .map(|d| d.parameters.iter().map(|p| (p.name.clone(), p.default.clone())).collect())
            .unwrap_or_default();
        move || match view_signal.get().parameters {
            Err(e) => view! { <UpstreamNote e=e what="Parameters"/> }.into_any(),
            Ok(list) if list.is_empty() => view! { <p class="muted">"This pipeline has no parameters."</p> }.into_any(),
            Ok(list) => {
                let rows = list
                    .into_iter()
                    .map(|p| {
                        let default = defaults.iter().find(|(n, _)| n == &p.name).and_then(|(_, d)| d.clone());
                        let overridden = default.as_ref().is_some_and(|d| d != &p.value);
                        view! {
                            <tr class=if overridden { "overridden" } else { "" }>
                                <th>{p.name.clone()}</th>
                                <td class="mono copyable">{p.value.clone()}</td>
                                <td class="muted">{if overridden { format!("default {}", default.unwrap_or_default()) } else { "default".into() }}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! { <table class="kv params" data-testid="parameters"><tbody>{rows}</tbody></table> }.into_any()
            }
        }
    };
    let tabs = move || {
        let s = state.get();
        let b = base_for_links.clone();
        let tab = |t: &'static str, label: &'static str| {
            let current = s.tab == t;
            view! { <a href=s.href(&b, Some(t), None, None) class=if current { "tab current" } else { "tab" } aria-current=current.then_some("page")>{label}</a> }
        };
        let zoom = (s.tab == "gantt").then(|| {
            let zooms = ZOOMS
                .iter()
                .map(|z| view! { <a href=s.href(&b, None, None, Some(*z)) class=if *z == s.zoom { "zoom current" } else { "zoom" }>{format!("{z}×")}</a> })
                .collect_view();
            view! { <span class="zooms">"Zoom "{zooms}</span> }
        });
        view! { <nav class="tabs">{tab("gantt", "Timeline")}{tab("graph", "Graph")}{tab("steps", "Steps")}{zoom}</nav> }
    };
    let base_for_tab = base.clone();
    let definition_for_tab = definition.clone();
    let tab_body = move || {
        let s = state.get();
        let v = view_signal.get();
        let b = base_for_tab.clone();
        let href_state = s.clone();
        let href_for = Callback::new(move |step: String| href_state.href(&b, None, Some(Some(&step)), None));
        let steps = match v.steps {
            Err(e) => return view! { <UpstreamNote e=e what="Steps"/> }.into_any(),
            Ok(steps) => steps,
        };
        let now_v = now.get();
        match s.tab {
            "graph" => match &definition_for_tab {
                Ok(d) => view! { <DagView definition=d.clone() steps=steps finished=v.execution.status.is_terminal() selected=s.step.clone() href_for=href_for/> }.into_any(),
                Err(e) => view! { <UpstreamNote e=e.clone() what="The definition"/> }.into_any(),
            },
            "steps" => view! { <StepTable steps=steps now=now_v selected=s.step.clone() href_for=href_for/> }.into_any(),
            _ => {
                if steps.is_empty() {
                    view! { <p class="muted">"No step has started yet."</p> }.into_any()
                } else {
                    view! { <GanttChart steps=steps now=now_v zoom=s.zoom selected=s.step.clone() href_for=href_for/> }.into_any()
                }
            }
        }
    };
    let detail = move || {
        let s = state.get();
        let name = s.step?;
        let v = view_signal.get();
        let steps = v.steps.ok()?;
        Some(match steps.into_iter().find(|st| st.name == name) {
            Some(step) => view! { <StepDetail step=step now=now.get()/> }.into_any(),
            None => view! { <section class="step-detail"><h3>{name}</h3><p class="muted">"This step has not run in this execution."</p></section> }.into_any(),
        })
    };
    let actions = view! {
        <crate::components::actions::ExecutionActions view=Signal::derive(move || view_signal.get()) step_types=step_types selected=selected
            confirm_stop=confirm_stop declared_outputs=declared_outputs/>
    };
    view! {
        {header}
        {notice}
        {actions}
        <section><h2>"Parameters"</h2>{parameters}</section>
        <section class="runs">
            {tabs}
            <div class="run-layout">
                <div class="run-main">{tab_body}</div>
                {detail}
            </div>
        </section>
    }
}

/// A part of the page that the endpoint could not give, said plainly while the rest renders.
#[component]
fn UpstreamNote(e: Upstream, what: &'static str) -> impl IntoView {
    let text = if e.code == "NotSupported" {
        format!("{what} unavailable from this endpoint ({})", e.message)
    } else {
        format!("{what} could not be loaded: {}: {}", e.code, e.message)
    };
    view! { <p class="upstream-note" role="status">{text}</p> }
}

#[cfg(test)]
mod tests {
    use super::ViewState;

    #[test]
    fn view_state_reads_and_writes_the_url() {
        let s = ViewState::from_query(Some("graph"), Some("AbaloneTrain"), Some("4"));
        assert_eq!(s.tab, "graph");
        assert_eq!(
            s.href("/pipelines/P/executions/x", None, None, None),
            "/pipelines/P/executions/x?tab=graph&step=AbaloneTrain&zoom=4"
        );
        assert_eq!(s.href("/b", Some("steps"), Some(None), Some(1)), "/b?tab=steps");
        let junk = ViewState::from_query(Some("<script>"), Some(""), Some("999"));
        assert_eq!(junk, ViewState { tab: "gantt", step: None, zoom: 1 });
    }
}
