use std::collections::HashMap;
use std::sync::Arc;
use stepline_types::live::StreamEvent;
use stepline_types::model::OwnCode;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use stepline_definition::{ParameterType, StepType};

use crate::api::get_execution;
use crate::components::dag::DagView;
use crate::components::gantt::GanttChart;
use crate::components::live::{use_event_source, LiveIndicator};
use crate::components::logs::StepLogs;
use crate::components::stale::StaleNotice;
use crate::components::steps::{StepDetail, StepTable};
use crate::components::{error::ErrorPanel, status::StatusBadge, time::Timestamp};
use crate::pages::title::route_title;
use stepline_types::codec::Json;
use stepline_types::layout::dag::{self, Dag};
use stepline_types::layout::gantt::ZOOMS;
use stepline_types::layout::timefmt;
use stepline_types::model::{links, ExecutionView, Freshness, Problem, StepMetadata, Upstream};
use stepline_types::page::ExecutionPage as PageData;

/// The tabs of the execution page, as they stand in the URL (`?tab=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumIter, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Tab {
    /// `gantt` is how older links named it.
    #[strum(to_string = "timeline", serialize = "gantt")]
    Timeline,
    Graph,
    Steps,
    /// The selected step's job logs.
    Logs,
}

impl Tab {
    pub fn all() -> impl Iterator<Item = Tab> {
        <Tab as strum::IntoEnumIterator>::iter()
    }

    /// Reads `?tab=`; anything unknown is the timeline, the page's default.
    pub fn parse(s: Option<&str>) -> Tab {
        s.and_then(|s| s.parse().ok()).unwrap_or(Tab::Timeline)
    }

    pub fn query(self) -> &'static str {
        self.into()
    }

    pub fn label(self) -> &'static str {
        match self {
            Tab::Timeline => "Timeline",
            Tab::Graph => "Graph",
            Tab::Steps => "Steps",
            Tab::Logs => "Logs",
        }
    }
}

/// What the execution page's URL says about the view: tab, selected step, zoom.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewState {
    pub tab: Tab,
    pub step: Option<String>,
    pub zoom: u32,
}

impl ViewState {
    pub fn from_query(tab: Option<&str>, step: Option<&str>, zoom: Option<&str>) -> ViewState {
        ViewState {
            tab: Tab::parse(tab),
            step: step.filter(|s| !s.is_empty() && s.len() <= 256).map(String::from),
            zoom: zoom.and_then(|z| z.parse().ok()).filter(|z| ZOOMS.contains(z)).unwrap_or(1),
        }
    }

    /// The link to this page with some of the state changed.
    pub fn href(&self, base: &str, tab: Option<Tab>, step: Option<Option<&str>>, zoom: Option<u32>) -> String {
        let tab = tab.unwrap_or(self.tab);
        let step = match step {
            Some(s) => s.map(String::from),
            None => self.step.clone(),
        };
        let zoom = zoom.unwrap_or(self.zoom);
        let mut q = vec![format!("tab={}", tab.query())];
        if let Some(s) = step {
            q.push(format!("step={}", links::seg(&s)));
        }
        if zoom != 1 {
            q.push(format!("zoom={zoom}"));
        }
        format!("{base}?{}", q.join("&"))
    }
}

/// What the page needs from the definition the execution runs with, read once when the page is built.
struct DefinitionFacts {
    step_types: HashMap<String, StepType>,
    /// The outputs each Callback or Lambda step declares.
    outputs: HashMap<String, Vec<(String, ParameterType)>>,
    /// Parameter defaults, to mark the values an execution overrode.
    defaults: HashMap<String, Option<String>>,
    /// The graph, laid out once (it does not change while the execution runs), or why there is none.
    graph: Result<Arc<Dag>, GraphMissing>,
}

#[derive(Clone)]
enum GraphMissing {
    /// SageMaker did not give the definition.
    Upstream(Upstream),
    /// The definition was given but cannot be read.
    Unreadable(String),
}

impl DefinitionFacts {
    fn read(definition: &Result<String, Upstream>) -> DefinitionFacts {
        let parsed = match definition {
            Err(e) => Err(GraphMissing::Upstream(e.clone())),
            Ok(text) => stepline_definition::parse(text).map_err(|e| GraphMissing::Unreadable(e.message)),
        };
        let def = match parsed {
            Ok(def) => def,
            Err(missing) => {
                return DefinitionFacts {
                    step_types: HashMap::new(),
                    outputs: HashMap::new(),
                    defaults: HashMap::new(),
                    graph: Err(missing),
                }
            }
        };
        let graph = stepline_definition::Graph::new(&def);
        DefinitionFacts {
            step_types: def.steps.iter().map(|s| (s.name.clone(), s.step_type.clone())).collect(),
            outputs: def
                .steps
                .iter()
                .filter(|s| !s.output_parameters.is_empty())
                .map(|s| {
                    (
                        s.name.clone(),
                        s.output_parameters.iter().map(|o| (o.output_name.clone(), o.output_type)).collect(),
                    )
                })
                .collect(),
            defaults: def.parameters.iter().map(|p| (p.name.clone(), p.default.clone())).collect(),
            graph: Ok(Arc::new(dag::layout(&def, &graph))),
        }
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
    // The cost estimate, made with the page (not inside its Suspend: see `components::cost_trend`).
    let cost = crate::components::cost::cost_resource(Signal::derive(move || (pipeline(), id(), nonce())));
    let state = move || {
        let q = query.read();
        ViewState::from_query(q.get_str("tab"), q.get_str("step"), q.get_str("zoom"))
    };
    view! {
        <Title text=route_title(params, |p| format!("{} · {}", p.get("id").unwrap_or_default(), p.get("pipeline").unwrap_or_default()))/>
        <nav class="crumbs">
            <a href=stepline_types::base::href("/")>"Pipelines"</a>" / "<a href=move || links::pipeline(&pipeline())>{pipeline}</a>" / "<span>{id}</span>
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading the execution…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(page) => view! { <ExecutionBody page=page state=Signal::derive(state) query=query cost=cost/> }.into_any(),
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
    cost: crate::components::cost::CostResource,
) -> impl IntoView {
    let base = links::execution(&page.view.execution.pipeline_name, &page.view.execution.id);
    let view_signal = RwSignal::new(page.view.clone());
    let facts = Arc::new(DefinitionFacts::read(&page.definition));
    let step_types = {
        let facts = facts.clone();
        Callback::new(move |name: String| facts.step_types.get(&name).cloned())
    };
    let declared_outputs = {
        let facts = facts.clone();
        Callback::new(move |name: String| facts.outputs.get(&name).cloned().unwrap_or_default())
    };
    let confirm_stop = Signal::derive(move || query.read().get("confirm").as_deref() == Some("stop"));
    let selected = Signal::derive(move || state.get().step);
    let freshness = RwSignal::new(page.freshness.clone());
    // Live snapshots while the execution runs (and word when SageMaker cannot be asked); a finished one
    // never changes.
    let live =
        // A failed execution may still be retried from elsewhere (Studio, the SDK): it stays followed.
        if page.view.execution.status.is_final()
            && page.freshness.problem.is_none()
        {
            RwSignal::new(crate::components::live::Link::Done)
        } else {
            use_event_source(stepline_types::base::events(&base), &[StreamEvent::Snapshot, StreamEvent::Problem, StreamEvent::Resumed], move |event, data| {
                match event {
                    StreamEvent::Snapshot => {
                        if let Ok(v) = stepline_types::codec::from_json::<ExecutionView>(&data) {
                            let fetched = v.fetched_at;
                            view_signal.set(v);
                            freshness.update(|f| f.as_of = Some(fetched));
                        }
                    }
                    StreamEvent::Problem => freshness.update(|f| f.problem = stepline_types::codec::from_json::<Problem>(&data).ok()),
                    _ => freshness.update(|f| f.problem = None),
                }
            })
        };
    let now = running_clock(page.view.fetched_at, view_signal);
    let view = Signal::derive(move || view_signal.get());
    let costs = RwSignal::new(None);
    view! {
        <ExecutionHeader view=view now=now live=live freshness=freshness studio=page.studio.clone() latest_version=page.latest_version/>
        <StaleNotice freshness=freshness/>
        <ActionNotice query=query/>
        {(!page.view.execution.status.is_terminal()).then(|| view! {
            <crate::components::notify_me::NotifyMe pipeline=page.view.execution.pipeline_name.clone() execution_id=page.view.execution.id.clone()/>
        })}
        <crate::components::actions::ExecutionActions view=view step_types=step_types selected=selected
            confirm_stop=confirm_stop declared_outputs=declared_outputs me=page.me.clone()/>
        <section><h2>"Parameters"</h2><ParameterTable view=view facts=facts.clone()/></section>
        <crate::components::cost::CostPanel data=cost
            status=Signal::derive(move || view_signal.with(|v| v.execution.status.as_str().to_string())) sink=costs/>
        <section class="runs">
            <RunTabs state=state base=base.clone()/>
            <div class="run-layout">
                <div class="run-main"><RunView view=view state=state now=now base=base facts=facts costs=costs/></div>
                <SelectedStep view=view state=state now=now/>
            </div>
        </section>
        <History entries=page.history.clone()/>
    }
}

/// What people did to this execution through Stepline: started by …, stopped by …, approved by ….
#[component]
fn History(entries: Vec<stepline_types::model::activity::Entry>) -> impl IntoView {
    use stepline_types::model::activity::Outcome;
    if entries.is_empty() {
        return ().into_any();
    }
    let rows = entries
        .into_iter()
        .map(|e| {
            let what = match e.outcome {
                Outcome::Done => e.action.past().to_string(),
                other => format!(
                    "tried to {} ({}{})",
                    e.action.label(),
                    other.label(),
                    e.error_code.as_deref().map(|c| format!(": {c}")).unwrap_or_default()
                ),
            };
            let detail = match &e.detail {
                serde_json::Value::Null => String::new(),
                d => stepline_types::text::clip(&d.to_string(), 200),
            };
            view! {
                <li>
                    <crate::components::time::Timestamp at=Some(e.at)/>" "
                    <strong>{e.user.clone()}</strong>" "{what}
                    {(!detail.is_empty()).then(|| view! { " " <code class="detail">{detail}</code> })}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="history" data-testid="history">
            <h2>"History"</h2>
            <ul class="history-list">{rows}</ul>
        </section>
    }
    .into_any()
}

/// Running bars grow: a clock ticks once a second while the execution runs (in the browser only). It starts
/// at the snapshot's time on both sides, so the browser hydrates exactly what the server drew.
fn running_clock(
    fetched_at: chrono::DateTime<chrono::Utc>,
    view: RwSignal<ExecutionView>,
) -> RwSignal<chrono::DateTime<chrono::Utc>> {
    let now = RwSignal::new(fetched_at);
    #[cfg(feature = "hydrate")]
    {
        let handle = leptos::prelude::set_interval_with_handle(
            move || {
                if !view.get_untracked().execution.status.is_terminal() {
                    now.set(chrono::Utc::now());
                }
            },
            std::time::Duration::from_secs(1),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = view;
    now
}

/// Status, name, every field of DescribePipelineExecution and the failure reason.
#[component]
fn ExecutionHeader(
    view: Signal<ExecutionView>,
    now: RwSignal<chrono::DateTime<chrono::Utc>>,
    live: RwSignal<crate::components::live::Link>,
    freshness: RwSignal<Freshness>,
    /// The execution in SageMaker Studio, when the server knows the team's Studio address.
    studio: Option<String>,
    /// The pipeline's newest version, when SageMaker lists them.
    latest_version: Option<i64>,
) -> impl IntoView {
    move || {
        let studio = studio.clone().map(|href| {
            view! { <p class="sub"><a href=href target="_blank" rel="noopener">"Open in SageMaker Studio"</a></p> }
        });
        let e = view.get().execution;
        let end = if e.status.is_terminal() { e.modified } else { None };
        let duration = timefmt::between(e.created, end.or(Some(now.get()))).map(timefmt::duration).unwrap_or_default();
        let selective = e.selective.clone().map(|s| {
            let source = s.source_arn.clone().map(|a| {
                let href = links::execution_arn_of(&e.pipeline_name, &a).unwrap_or_default();
                view! { " from " <a href=href>{stepline_types::model::execution_id(&a).to_string()}</a> }
            });
            view! { <div><dt>"Selective"</dt><dd>{s.selected_steps.join(", ")}{source}</dd></div> }
        });
        // SageMaker's reason for a failed execution is often only "Step failure: One or multiple steps
        // failed.": the failed steps are named with their own reasons, each a link to the step.
        let failed_steps: Vec<_> = view
            .get()
            .steps
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s.status == stepline_types::model::StepStatus::Failed)
            .map(|s| {
                let href = format!("?tab=steps&step={}", links::seg(&s.key()));
                let reason = s.failure_reason.clone().unwrap_or_else(|| "no reason given".into());
                let logs = matches!(&s.metadata, StepMetadata::Job { kind, .. } if stepline_types::model::jobs::log_group(*kind).is_some())
                    .then(|| view! { <FailureLog pipeline=e.pipeline_name.clone() id=e.id.clone() step=s.key()/> });
                view! { <li><a href=href class="strong">{s.key()}</a>": "<span class="mono">{reason}</span>{logs}</li> }
            })
            .collect();
        let failure = e.failure_reason.clone().map(|r| {
            let steps = (!failed_steps.is_empty())
                .then(|| view! { <ul class="failed-steps" data-testid="failed-steps">{failed_steps}</ul> });
            view! {
                <div class="failure" data-testid="failure-reason">
                    <h3>"Failure reason"</h3>
                    <pre class="copyable">{r}</pre>
                    {steps}
                </div>
            }
        });
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "—".into());
        view! {
            <div class="page-head">
                <div>
                    <h1><StatusBadge status=e.status.as_str().to_string() tone=e.status.tone()/>" "{e.display_name.clone().unwrap_or(e.id.clone())}</h1>
                    <p class="muted">{e.description.clone().unwrap_or_default()}</p>
                    {studio}
                    {compare_links(&e)}
                </div>
                <LiveIndicator state=live freshness=freshness/>
            </div>
            <dl class="meta" data-testid="execution-meta">
                <div><dt>"Execution"</dt><dd class="mono copyable">{e.arn.clone()}</dd></div>
                <div><dt>"Created"</dt><dd><Timestamp at=e.created/></dd></div>
                <div><dt>"Last modified"</dt><dd><Timestamp at=e.modified/></dd></div>
                <div><dt>"Duration"</dt><dd>{duration}</dd></div>
                <div><dt>"Created by"</dt><dd>{or_dash(e.created_by.clone())}</dd></div>
                <div><dt>"Modified by"</dt><dd>{or_dash(e.modified_by.clone())}</dd></div>
                <div><dt>"Pipeline version"</dt><dd data-testid="pipeline-version">{version_standing(&e, latest_version)}</dd></div>
                <div><dt>"Parallelism"</dt><dd>{e.parallelism.map(|v| format!("{v} steps at once")).unwrap_or_else(|| "pipeline default".into())}</dd></div>
                <div><dt>"Experiment"</dt><dd>{format!("{} / {}", e.experiment_name.clone().unwrap_or_default(), e.trial_name.clone().unwrap_or_default())}</dd></div>
                {e.mlflow_experiment.clone().map(|m| view! { <div><dt>"MLflow"</dt><dd>{m}" "<span class="mono sub">{e.mlflow_arn.clone().unwrap_or_default()}</span></dd></div> })}
                {selective}
            </dl>
            {failure}
        }
    }
}

/// The version an execution ran, marked latest or older, with a link to what changed since when it is not
/// known to be the latest.
fn version_standing(e: &stepline_types::model::Execution, latest: Option<i64>) -> impl IntoView {
    let text = stepline_types::model::version::standing(e.pipeline_version, latest);
    let link = e.pipeline_version.filter(|v| latest != Some(*v)).map(|_| {
        let href = links::definition(&e.pipeline_name, &e.id);
        view! { " · " <a href=href data-testid="definition-diff-link">"compare with the latest definition"</a> }
    });
    view! { {text}{link} }
}

/// Links to this execution side by side with the one before it and with the last success before it (that
/// one first when it failed: "what is different from the last good run?").
fn compare_links(e: &stepline_types::model::Execution) -> impl IntoView {
    use stepline_types::compare::Against;
    let link = |against: Against, text: &'static str, id: &'static str| {
        view! { <a href=links::compare_against(&e.pipeline_name, &e.id, against) data-testid=id>{text}</a> }
    };
    let previous = link(Against::Previous, "Compare with previous", "compare-previous");
    let success = link(Against::Success, "Compare with last success", "compare-success");
    let failed = matches!(e.status, stepline_types::model::ExecStatus::Failed);
    view! {
        <p class="compare-links">
            {if failed {
                view! { {success} " · " {previous} }.into_any()
            } else {
                view! { {previous} " · " {success} }.into_any()
            }}
        </p>
    }
}

/// What an action just did (`?notice=`) or why it was refused (`?error=`), after a plain form post.
#[component]
fn ActionNotice(query: leptos::prelude::Memo<leptos_router::params::ParamsMap>) -> impl IntoView {
    move || {
        let q = query.read();
        let notice = q.get("notice").and_then(|n| match n.as_str() {
            "stopping" => Some("Stop requested."),
            "retrying" => Some("Retry requested: failed steps run again."),
            "approved" => Some("Callback approved."),
            "rejected" => Some("Callback rejected."),
            _ => None,
        });
        // A code, shown as the page's own sentence for it: the address never puts words on the page.
        let error = q.get("error").and_then(|code| stepline_types::error::notice_text(&code));
        view! {
            {notice.map(|n| view! { <p class="notice" data-testid="notice">{n}</p> })}
            {error.map(|e| view! { <div class="error-panel" role="alert" data-testid="action-error">{e}</div> })}
        }
    }
}

/// The execution's parameters, each marked where it differs from the definition's default.
#[component]
fn ParameterTable(view: Signal<ExecutionView>, facts: Arc<DefinitionFacts>) -> impl IntoView {
    move || match view.get().parameters {
        Err(e) => view! { <UpstreamNote e=e what="Parameters"/> }.into_any(),
        Ok(list) if list.is_empty() => view! { <p class="muted">"This pipeline has no parameters."</p> }.into_any(),
        Ok(list) => {
            let rows = list
                .into_iter()
                .map(|p| {
                    let default = facts.defaults.get(&p.name).cloned().flatten();
                    let overridden = default.as_ref().is_some_and(|d| d != &p.value);
                    let note =
                        if overridden { format!("default {}", default.unwrap_or_default()) } else { "default".into() };
                    view! {
                        <tr class=if overridden { "overridden" } else { "" }>
                            <th>{p.name.clone()}</th>
                            <td class="mono copyable">{p.value.clone()}</td>
                            <td class="muted">{note}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! { <table class="kv params" data-testid="parameters"><tbody>{rows}</tbody></table> }.into_any()
        }
    }
}

/// The tab bar (timeline, graph, steps) and, on the timeline, the zoom levels.
#[component]
fn RunTabs(state: Signal<ViewState>, base: String) -> impl IntoView {
    move || {
        let s = state.get();
        let tabs = Tab::all()
            .map(|t| {
                let current = s.tab == t;
                view! { <a href=s.href(&base, Some(t), None, None) class=if current { "tab current" } else { "tab" } aria-current=current.then_some("page")>{t.label()}</a> }
            })
            .collect_view();
        let zoom = (s.tab == Tab::Timeline).then(|| {
            let zooms = ZOOMS
                .iter()
                .map(|z| view! { <a href=s.href(&base, None, None, Some(*z)) class=if *z == s.zoom { "zoom current" } else { "zoom" }>{format!("{z}×")}</a> })
                .collect_view();
            view! { <span class="zooms">"Zoom "{zooms}</span> }
        });
        view! { <nav class="tabs">{tabs}{zoom}</nav> }
    }
}

/// The body of the current tab. Only the timeline and the table follow the running clock; the graph
/// redraws when the steps change and is never laid out again.
#[component]
fn RunView(
    view: Signal<ExecutionView>,
    state: Signal<ViewState>,
    now: RwSignal<chrono::DateTime<chrono::Utc>>,
    base: String,
    facts: Arc<DefinitionFacts>,
    costs: RwSignal<Option<stepline_types::cost::ExecutionCost>>,
) -> impl IntoView {
    move || {
        let s = state.get();
        // The logs tab follows its own stream: it is not redrawn with each snapshot of the execution.
        if s.tab == Tab::Logs {
            let e = view.with_untracked(|v| (v.execution.pipeline_name.clone(), v.execution.id.clone()));
            return match s.step.clone() {
                Some(step) => view! { <StepLogs pipeline=e.0 id=e.1 step=step/> }.into_any(),
                None => {
                    let b = base.clone();
                    let state = s.clone();
                    (move || logs_hint(view.get(), &state, &b)).into_any()
                }
            };
        }
        let v = view.get();
        let href_state = s.clone();
        let b = base.clone();
        let href_for = Callback::new(move |step: String| href_state.href(&b, None, Some(Some(&step)), None));
        let steps = match v.steps {
            Err(e) => return view! { <UpstreamNote e=e what="Steps"/> }.into_any(),
            Ok(steps) => steps,
        };
        match s.tab {
            Tab::Graph => match &facts.graph {
                Ok(dag) => view! { <DagView dag=dag.clone() steps=steps finished=v.execution.status.is_terminal() selected=s.step.clone() href_for=href_for/> }.into_any(),
                Err(GraphMissing::Upstream(e)) => view! { <UpstreamNote e=e.clone() what="The definition"/> }.into_any(),
                Err(GraphMissing::Unreadable(m)) => view! { <p class="muted">{format!("The definition cannot be drawn: {m}")}</p> }.into_any(),
            },
            Tab::Steps => view! { <StepTable steps=steps now=now.get() selected=s.step.clone() href_for=href_for costs=costs/> }.into_any(),
            Tab::Timeline if steps.is_empty() => view! { <p class="muted">"No step has started yet."</p> }.into_any(),
            Tab::Timeline => view! { <GanttChart steps=steps now=now.get() zoom=s.zoom selected=s.step.clone() href_for=href_for costs=costs/> }.into_any(),
            Tab::Logs => ().into_any(),
        }
    }
}

/// The logs tab with no step chosen: the steps whose jobs write logs, each a link to its logs.
fn logs_hint(v: ExecutionView, state: &ViewState, base: &str) -> AnyView {
    let steps = v.steps.unwrap_or_default();
    let with_logs: Vec<_> = steps
        .into_iter()
        .filter(|st| matches!(&st.metadata, StepMetadata::Job { kind, .. } if stepline_types::model::jobs::log_group(*kind).is_some()))
        .map(|st| {
            let href = state.href(base, Some(Tab::Logs), Some(Some(&st.key())), None);
            view! { <li><a href=href>{st.key()}</a>" "<StatusBadge status=st.status.as_str().to_string() tone=st.status.tone()/></li> }
        })
        .collect();
    if with_logs.is_empty() {
        return view! { <p class="muted" data-testid="logs-hint">"No step of this execution has written job logs yet."</p> }.into_any();
    }
    view! { <div data-testid="logs-hint"><p>"Choose a step to read its job's logs:"</p><ul>{with_logs}</ul></div> }
        .into_any()
}

/// The panel of the step selected in the URL (`?step=`).
#[component]
fn SelectedStep(
    view: Signal<ExecutionView>,
    state: Signal<ViewState>,
    now: RwSignal<chrono::DateTime<chrono::Utc>>,
) -> impl IntoView {
    let detail = move || {
        let name = state.get().step?;
        let steps = view.get().steps.ok()?;
        Some(match steps.into_iter().find(|st| st.key() == name) {
            Some(step) => view! { <StepDetail step=step now=now.get()/> }.into_any(),
            None => view! { <section class="step-detail"><h3>{name}</h3><p class="muted">"This step has not run in this execution."</p></section> }.into_any(),
        })
    };
    // The job is asked again only when the step's status changes, not with every snapshot.
    let job_key = Memo::new(move |_| {
        let s = state.get();
        let name = s.step?;
        let v = view.get();
        let step = v.steps.ok()?.into_iter().find(|st| st.key() == name)?;
        let job =
            matches!(&step.metadata, StepMetadata::Job { kind, .. } if stepline_types::model::jobs::describable(*kind));
        let logs = matches!(&step.metadata, StepMetadata::Job { kind, .. } if stepline_types::model::jobs::log_group(*kind).is_some());
        Some((v.execution.pipeline_name, v.execution.id, name, step.status, job, logs, s.tab == Tab::Logs))
    });
    let job = move || {
        let (pipeline, id, name, status, job, logs, on_logs) = job_key.get()?;
        let logs_link = (logs && !on_logs).then(|| {
            let href = format!("{}?tab=logs&step={}", links::execution(&pipeline, &id), links::seg(&name));
            view! { <p><a class="button" href=href data-testid="step-logs-link">"Logs"</a></p> }
        });
        // A failed step shows why in its own words: the end of its log, under its failure reason.
        let failure = (logs && !on_logs && status == stepline_types::model::StepStatus::Failed).then(|| {
            view! { <FailureLog pipeline=pipeline.clone() id=id.clone() step=name.clone()/> }
        });
        let panel = job.then(|| view! { <JobSection pipeline=pipeline id=id step=name/> });
        Some(view! { <div class="step-job">{failure}{logs_link}{panel}</div> })
    };
    view! { <div class="step-side">{detail}{job}</div> }
}

/// The last lines of a failed step's log that say why (its traceback), one click from the whole log.
#[component]
fn FailureLog(pipeline: String, id: String, step: String) -> impl IntoView {
    let href = format!("{}?tab=logs&step={}", links::execution(&pipeline, &id), links::seg(&step));
    let data = Resource::<_, Json>::new_with_options(
        move || (pipeline.clone(), id.clone(), step.clone()),
        |(p, i, s)| crate::api::failure_excerpt(p, i, s),
        false,
    );
    view! {
        <Transition fallback=|| ()>
            {move || {
                let href = href.clone();
                Suspend::new(async move {
                    let lines = data.await.ok().flatten().filter(|l| !l.is_empty())?;
                    let first = lines.first().map(|l| l.n).unwrap_or(1);
                    let text: String = lines.iter().map(|l| stepline_types::model::logs::strip_ansi(&l.text) + "\n").collect();
                    Some(view! {
                        <pre class="failure-log" data-testid="failure-log">{text}</pre>
                        <a href=format!("{href}#L{first}") data-testid="failure-log-link">"Full log"</a>
                    })
                })
            }}
        </Transition>
    }
}

/// The selected step's job, described by its Describe call.
#[component]
fn JobSection(pipeline: String, id: String, step: String) -> impl IntoView {
    let data = Resource::<_, Json>::new_with_options(
        move || (pipeline.clone(), id.clone(), step.clone()),
        |(p, i, s)| crate::api::step_job(p, i, s),
        false,
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the job…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(job)) => view! { <crate::components::job::JobPanel job=job/> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <p class="upstream-note" role="status">{format!("The job could not be described: {e}")}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A part of the page that the endpoint could not give, said plainly while the rest renders.
#[component]
fn UpstreamNote(e: Upstream, what: &'static str) -> impl IntoView {
    let text = if e.is(OwnCode::NotSupported) {
        format!("{what} unavailable from this endpoint ({})", e.message)
    } else {
        format!("{what} could not be loaded: {}: {}", e.code, e.message)
    };
    view! { <p class="upstream-note" role="status">{text}</p> }
}

#[cfg(test)]
mod tests {
    use super::{Tab, ViewState};

    #[test]
    fn view_state_reads_and_writes_the_url() {
        let s = ViewState::from_query(Some("graph"), Some("AbaloneTrain"), Some("4"));
        assert_eq!(s.tab, Tab::Graph);
        assert_eq!(
            s.href("/pipelines/P/executions/x", None, None, None),
            "/pipelines/P/executions/x?tab=graph&step=AbaloneTrain&zoom=4"
        );
        assert_eq!(s.href("/b", Some(Tab::Steps), Some(None), Some(1)), "/b?tab=steps");
        let junk = ViewState::from_query(Some("<script>"), Some(""), Some("999"));
        assert_eq!(junk, ViewState { tab: Tab::Timeline, step: None, zoom: 1 });
        for t in Tab::all() {
            assert_eq!(Tab::parse(Some(t.query())), t);
        }
    }
}
