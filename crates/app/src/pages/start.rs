#[cfg(feature = "hydrate")]
use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::actions::{new_token, StartExecution, StartState};
use crate::api::start_context;
use crate::components::error::ErrorPanel;
use crate::components::post_form::{PostForm, Posting};
use crate::components::stale::StaleNotice;
use crate::pages::title::route_title;
use stepline_definition::{limits, Definition, Graph, ParameterType};
use stepline_types::codec::Json;
use stepline_types::forms::{check_start, initial_selection, FieldError, RerunMode, StartForm};
use stepline_types::model::links;
use stepline_types::model::version::{self, Pick};
use stepline_types::page::StartPageData;

/// The start form, built from the pipeline's definition: typed inputs for every parameter, defaults shown
/// and changes marked, checked as it is typed with the server's own rules, and a re-run mode that picks
/// steps (by checkbox or by clicking the graph) with a source execution.
#[component]
pub fn StartPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let pipeline = move || params.read().get("pipeline").unwrap_or_default();
    let from = move || query.read().get("from").filter(|f| !f.is_empty());
    // The version the form is for: the URL's pick, else the one a refused submission was for.
    let pick = move || {
        let q = query.read();
        q.get("version").and_then(|v| Pick::parse(&v)).or_else(|| {
            let refused = q.get("state").and_then(|s| stepline_types::codec::from_json::<StartState>(&s).ok())?;
            Some(Pick::parse(&refused.form.version).unwrap_or(Pick::Latest))
        })
    };
    let data = Resource::<_, Json>::new_with_options(
        move || (pipeline(), from(), pick()),
        |(p, f, v)| start_context(p, f, v),
        false,
    );
    view! {
        <Title text=route_title(params, |p| format!("Start {}", p.get("pipeline").unwrap_or_default()))/>
        <nav class="crumbs"><a href=stepline_types::base::href("/")>"Pipelines"</a>" / "<a href=move || links::pipeline(&pipeline())>{pipeline}</a>" / "<span>"Start"</span></nav>
        <Transition fallback=|| view! { <p class="muted">"Loading the pipeline…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(ctx) => {
                        let q = query.read_untracked();
                        let state: Option<StartState> = q.get("state").and_then(|s| stepline_types::codec::from_json(&s).ok());
                        let mode = q.get("mode").and_then(|m| RerunMode::parse(&m));
                        let step = q.get("step");
                        let picked: Vec<String> = q.get("steps").map(|s| s.split(',').filter(|x| !x.is_empty()).map(String::from).collect()).unwrap_or_default();
                        // What choosing another version keeps of this address.
                        let keep: Vec<(String, String)> = ["from", "mode", "step", "steps"]
                            .into_iter()
                            .filter_map(|k| q.get(k).filter(|v| !v.is_empty()).map(|v| (k.to_string(), v)))
                            .collect();
                        view! { <StartBody ctx=ctx state=state mode=mode step=step picked=picked keep=keep/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn StartBody(
    ctx: StartPageData,
    state: Option<StartState>,
    mode: Option<RerunMode>,
    step: Option<String>,
    picked: Vec<String>,
    /// Query parameters a change of version keeps (the re-run's source, mode and steps).
    keep: Vec<(String, String)>,
) -> impl IntoView {
    let def = match stepline_definition::parse(&ctx.pipeline.definition) {
        Ok(d) => d,
        Err(e) => return view! { <div class="error-panel">{format!("The pipeline's definition cannot be read: {}", e.message)}</div> }.into_any(),
    };
    let graph = Graph::new(&def);
    let name = ctx.pipeline.summary.name.clone();
    let initial = initial_form(&ctx, &def, &graph, state.as_ref(), mode, step.as_deref(), &picked);
    #[cfg(feature = "hydrate")]
    let came_with_values = state.is_some() || mode.is_some() || ctx.source.is_some();
    let server_errors: Vec<FieldError> = state.map(|s| s.errors).unwrap_or_default();
    let selective = mode.is_some() || !initial.steps.is_empty();
    let form_state = RwSignal::new(initial.clone());
    let touched = RwSignal::new(false);
    let def_for_check = def.clone();
    let graph_for_check = graph.clone();
    // The same check the server runs, as the form is typed.
    let live_errors = Memo::new(move |_| {
        if !touched.get() {
            return vec![];
        }
        check_start(&form_state.get(), &def_for_check, &graph_for_check).err().unwrap_or_default()
    });
    let posting = Posting::new();
    let action_errors = move || match posting.error() {
        Some(stepline_types::error::AppError::Form(errs)) => errs,
        Some(other) => vec![FieldError { field: "form".into(), message: other.to_string() }],
        None => vec![],
    };
    let all_errors = {
        let server_errors = server_errors.clone();
        move || {
            let mut e = live_errors.get();
            e.extend(action_errors());
            if e.is_empty() && !touched.get() {
                e.extend(server_errors.clone());
            }
            e
        }
    };
    let field_error = {
        let all_errors = all_errors.clone();
        move |field: String| {
            let all_errors = all_errors.clone();
            move || {
                all_errors()
                    .into_iter()
                    .find(|e| e.field == field)
                    .map(|e| view! { <span class="field-error" role="alert">{e.message}</span> }.into_any())
            }
        }
    };
    // Every change: read the whole form back, keep it for a reload, check it.
    let on_input = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(form) =
                document().get_element_by_id("start-form").and_then(|e| e.dyn_into::<web_sys::HtmlFormElement>().ok())
            else {
                return;
            };
            let pairs = form_pairs(&form);
            let f = StartForm::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            if let Some(storage) = window().session_storage().ok().flatten() {
                let _ = storage.set_item(
                    &format!("stepline-start-{}", f.pipeline),
                    &serde_json::to_string(&f).unwrap_or_default(),
                );
            }
            form_state.set(f);
            touched.set(true);
        }
    };
    let parameter_rows = def
        .parameters
        .iter()
        .map(|p| {
            let field = format!("form[params][{}]", p.name);
            let value = initial.params.get(&p.name).cloned().unwrap_or_default();
            let default = p.default.clone();
            let name = p.name.clone();
            let changed = move || {
                let v = form_state.with(|f| f.params.get(&name).cloned().unwrap_or_default());
                default.as_deref().is_some_and(|d| d != v.trim()) && !v.trim().is_empty()
            };
            let hint = match &p.default {
                Some(d) => format!("{} · default {}", p.ty.name(), d),
                None => format!("{} · required", p.ty.name()),
            };
            view! {
                <div class="field" class:changed=changed>
                    <label for=format!("param-{}", p.name)>{p.name.clone()}</label>
                    {parameter_input(p, &value)}
                    <span class="hint">{hint}</span>
                    {field_error(field)}
                </div>
            }
        })
        .collect_view();
    let selection = selective.then(|| {
        selection_view(
            &def,
            &graph,
            &initial,
            &name,
            ctx.source.as_ref().map(|s| s.id.clone()),
            field_error("steps".into()),
            field_error("source".into()),
        )
    });
    let title = start_title(&ctx, mode, &name);
    let top_errors = move || {
        let errs: Vec<FieldError> =
            all_errors().into_iter().filter(|e| e.field == "form" || e.field == "token").collect();
        (!errs.is_empty()).then(|| view! { <div class="error-panel" role="alert" data-testid="form-error">{errs.into_iter().map(|e| view! { <p>{e.message}</p> }).collect_view()}</div> })
    };
    let pending = posting.pending;
    #[cfg(feature = "hydrate")]
    keep_across_reloads(&name, &initial, came_with_values, form_state, posting);
    let chooser = version_chooser(&ctx, &name, &keep, field_error("version".into()));
    view! {
        <h1>{title}</h1>
        <StaleNotice freshness=ctx.freshness.clone()/>
        {chooser}
        <div on:input=on_input on:change=on_input>
            <PostForm to=StartExecution::PATH posting=posting attr:id="start-form" attr:class="start-form" attr:data-testid="start-form">
                <input type="hidden" name="form[pipeline]" value=name.clone()/>
                <input type="hidden" name="form[token]" value=initial.token.clone()/>
                <input type="hidden" name="form[version]" value=initial.version.clone()/>
                {top_errors}
                <section>
                    <h2>"Parameters"</h2>
                    {if def.parameters.is_empty() { Some(view! { <p class="muted">"This pipeline has no parameters."</p> }) } else { None }}
                    {parameter_rows}
                </section>
                {selection}
                <section>
                    <h2>"Execution"</h2>
                    <div class="field"><label for="display_name">"Display name"</label>
                        <input id="display_name" name="form[display_name]" type="text" value=initial.display_name.clone() maxlength=limits::DISPLAY_NAME_MAX placeholder="execution-<time>"/>
                        {field_error("display_name".into())}</div>
                    <div class="field"><label for="description">"Description"</label>
                        <textarea id="description" name="form[description]" maxlength=limits::DESCRIPTION_MAX rows="2">{initial.description.clone()}</textarea>
                        {field_error("description".into())}</div>
                    <div class="field"><label for="max_parallel">"Parallel steps"</label>
                        <input id="max_parallel" name="form[max_parallel]" type="number" min="1" step="1" value=initial.max_parallel.clone() placeholder=ctx.pipeline.parallelism.map(|p| p.to_string()).unwrap_or_else(|| "pipeline default".into())/>
                        {field_error("max_parallel".into())}</div>
                    <div class="field"><label for="mlflow">"MLflow experiment"</label>
                        <input id="mlflow" name="form[mlflow_experiment]" type="text" maxlength=limits::MLFLOW_EXPERIMENT_MAX value=initial.mlflow_experiment.clone()/>
                        {field_error("mlflow_experiment".into())}</div>
                </section>
                <button type="submit" class="primary" disabled=move || pending.get()>{move || if pending.get() { "Starting…" } else { "Start" }}</button>
            </PostForm>
        </div>
    }
    .into_any()
}

/// The form's first values: a refused submission's, else the source execution's (with the steps its
/// re-run mode picks), else the definition's defaults.
fn initial_form(
    ctx: &StartPageData,
    def: &Definition,
    graph: &Graph,
    refused: Option<&StartState>,
    mode: Option<RerunMode>,
    step: Option<&str>,
    picked: &[String],
) -> StartForm {
    let version = ctx.version.map(|v| v.to_string()).unwrap_or_default();
    if let Some(s) = refused {
        // The form is the refused one, for the version this page shows.
        return StartForm { version, ..s.form.clone() };
    }
    let mut f =
        StartForm { pipeline: ctx.pipeline.summary.name.clone(), token: new_token(), version, ..Default::default() };
    for p in &def.parameters {
        let from_source =
            ctx.source.as_ref().and_then(|s| s.parameters.iter().find(|x| x.name == p.name)).map(|x| x.value.clone());
        f.params.insert(p.name.clone(), from_source.or_else(|| p.default.clone()).unwrap_or_default());
    }
    if let (Some(mode), Some(src)) = (mode, &ctx.source) {
        f.source = src.id.clone();
        for s in initial_selection(def, graph, mode, step, picked, &src.failed_steps, &src.succeeded_steps) {
            f.steps.insert(s, "on".into());
        }
    } else {
        for s in picked.iter().filter(|s| def.index_of(s).is_some()) {
            f.steps.insert(s.clone(), "on".into());
        }
    }
    f
}

/// The version the form is for, chosen by a form of its own (a GET of this page with `?version=`): the
/// parameters and steps follow the chosen version's definition, with or without JavaScript (with it, a
/// choice goes there at once). An endpoint that does not list versions leaves a number to type.
fn version_chooser(
    ctx: &StartPageData,
    pipeline: &str,
    keep: &[(String, String)],
    error: impl Fn() -> Option<AnyView> + Send + Sync + 'static,
) -> impl IntoView {
    let action = format!("{}/start", links::pipeline(pipeline));
    let chosen = ctx.version;
    let control = match &ctx.versions {
        Ok(versions) => {
            let latest = version::latest(versions);
            let mut options = vec![(
                Pick::Latest.query(),
                latest.map(|n| format!("latest (v{n})")).unwrap_or_else(|| "latest".into()),
                chosen.is_none(),
            )];
            // A version the list does not have yet (it is a few seconds old) is still offered when chosen.
            if let Some(n) = chosen.filter(|n| !versions.iter().any(|v| v.id == *n)) {
                options.push((n.to_string(), format!("v{n}"), true));
            }
            options.extend(versions.iter().map(|v| (v.id.to_string(), version::option_label(v), chosen == Some(v.id))));
            let options = options
                .into_iter()
                .map(|(value, label, selected)| view! { <option value=value selected=selected>{label}</option> })
                .collect_view();
            let navigate = leptos_router::hooks::use_navigate();
            let base = chooser_href(&action, keep);
            let on_change = move |ev: leptos::ev::Event| {
                let value = event_target_value(&ev);
                // The href is under the base already: the router must not add it again.
                let whole = leptos_router::NavigateOptions { resolve: false, ..Default::default() };
                navigate(&format!("{base}version={}", links::seg(&value)), whole);
            };
            view! { <select id="version" name="version" on:change=on_change>{options}</select> }.into_any()
        }
        Err(e) => view! {
            <input id="version" name="version" type="number" min="1" step="1" value=chosen.map(|n| n.to_string()).unwrap_or_default() placeholder="latest"/>
            <span class="hint">{format!("SageMaker did not list the versions ({}): type a version number, or leave it empty for the latest.", e.code)}</span>
        }
        .into_any(),
    };
    let hidden =
        keep.iter().map(|(k, v)| view! { <input type="hidden" name=k.clone() value=v.clone()/> }).collect_view();
    view! {
        <form method="get" action=action class="version-form" data-testid="version-form">
            {hidden}
            <div class="field">
                <label for="version">"Pipeline version"</label>
                {control}
                <button type="submit">"Use this version"</button>
                <span class="hint">"The parameters and steps below are this version's."</span>
                {error}
            </div>
        </form>
    }
}

/// The start page's address with the kept query parameters, ready for one more: `…/start?from=x&`.
fn chooser_href(action: &str, keep: &[(String, String)]) -> String {
    let mut href = format!("{action}?");
    for (k, v) in keep {
        href.push_str(&format!("{k}={}&", links::seg(v)));
    }
    href
}

/// The page's heading: what this start will do.
fn start_title(ctx: &StartPageData, mode: Option<RerunMode>, pipeline: &str) -> String {
    let Some(s) = &ctx.source else { return format!("Start {pipeline}") };
    let source = s.display_name.clone().unwrap_or(s.id.clone());
    match mode {
        Some(RerunMode::FromFailure) => format!("Re-run {source} from its failure"),
        Some(_) => format!("Re-run steps of {source}"),
        None => format!("Start again with the parameters of {source}"),
    }
}

/// A parameter's input, typed by its declaration: a choice for enums and booleans, a number field for
/// numbers, text otherwise.
fn parameter_input(p: &stepline_definition::ParameterDef, value: &str) -> AnyView {
    let (id, field) = (format!("param-{}", p.name), format!("form[params][{}]", p.name));
    let value = value.to_string();
    match (&p.ty, &p.enum_values) {
        (_, Some(values)) if !values.is_empty() => {
            let options = values
                .iter()
                .map(|v| view! { <option value=v.clone() selected=*v == value>{v.clone()}</option> })
                .collect_view();
            view! { <select id=id name=field>{options}</select> }.into_any()
        }
        (ParameterType::Boolean, _) => {
            let is_true = value.eq_ignore_ascii_case("true");
            view! {
                <select id=id name=field>
                    <option value="true" selected=is_true>"true"</option>
                    <option value="false" selected=!is_true>"false"</option>
                </select>
            }
            .into_any()
        }
        (ParameterType::Integer, _) => {
            view! { <input id=id name=field type="number" step="1" value=value/> }.into_any()
        }
        (ParameterType::Float, _) => {
            view! { <input id=id name=field type="number" step="any" value=value/> }.into_any()
        }
        (ParameterType::String, _) => view! { <input id=id name=field type="text" value=value size="60"/> }.into_any(),
    }
}

/// A reload (or coming back to this tab later) brings back what was typed, unless the page came with
/// values of its own (a refused submission, a re-run link). A successful start forgets it.
#[cfg(feature = "hydrate")]
fn keep_across_reloads(
    pipeline: &str,
    initial: &StartForm,
    came_with_values: bool,
    form_state: RwSignal<StartForm>,
    posting: Posting,
) {
    let key = format!("stepline-start-{pipeline}");
    let fresh = initial.token.clone();
    let version = initial.version.clone();
    let key_for_restore = key.clone();
    Effect::new(move |_| {
        use wasm_bindgen::JsCast;
        if came_with_values {
            return;
        }
        let saved = window().session_storage().ok().flatten().and_then(|s| s.get_item(&key_for_restore).ok().flatten());
        let Some(mut saved) = saved.and_then(|s| stepline_types::codec::from_json::<StartForm>(&s).ok()) else {
            return;
        };
        // Values typed for another version's parameters are not this form's.
        if saved.version != version {
            return;
        }
        saved.token = fresh.clone();
        if let Some(form) =
            document().get_element_by_id("start-form").and_then(|e| e.dyn_into::<web_sys::HtmlFormElement>().ok())
        {
            fill_form(&form, &saved);
            form_state.set(saved);
        }
    });
    Effect::new(move |_| {
        if posting.succeeded() {
            if let Some(storage) = window().session_storage().ok().flatten() {
                let _ = storage.remove_item(&key);
            }
        }
    });
}

/// The steps of a selective run: checkboxes, and the graph whose nodes toggle them (plain links, so it
/// works without JavaScript too).
fn selection_view(
    def: &Definition,
    graph: &Graph,
    form: &StartForm,
    pipeline: &str,
    from: Option<String>,
    steps_error: impl Fn() -> Option<AnyView> + Send + Sync + 'static,
    source_error: impl Fn() -> Option<AnyView> + Send + Sync + 'static,
) -> impl IntoView {
    let chosen: Vec<String> = form.steps.iter().filter(|(_, v)| v.as_str() == "on").map(|(k, _)| k.clone()).collect();
    let toggle_href = {
        let chosen = chosen.clone();
        let pipeline = pipeline.to_string();
        let from = from.clone();
        Callback::new(move |step: String| {
            let mut next: Vec<String> = chosen.iter().filter(|s| **s != step).cloned().collect();
            if !chosen.contains(&step) {
                next.push(step);
            }
            let mut q = vec![
                "mode=selected".to_string(),
                format!("steps={}", next.iter().map(|s| links::seg(s)).collect::<Vec<_>>().join(",")),
            ];
            if let Some(f) = &from {
                q.push(format!("from={}", links::seg(f)));
            }
            format!("{}/start?{}", links::pipeline(&pipeline), q.join("&"))
        })
    };
    let boxes = def
        .steps
        .iter()
        .map(|s| {
            let checked = chosen.contains(&s.name);
            view! {
                <label class="check step-check">
                    <input type="checkbox" name=format!("form[steps][{}]", s.name) value="on" checked=checked/>
                    {s.name.clone()}<span class="hint">{format!(" {}", s.step_type)}</span>
                </label>
            }
        })
        .collect_view();
    let dag = std::sync::Arc::new(stepline_types::layout::dag::layout(def, graph));
    let selected_runs: Vec<stepline_types::model::StepRun> = chosen
        .iter()
        .map(|n| stepline_types::model::StepRun::named(n, stepline_types::model::StepStatus::Executing))
        .collect();
    view! {
        <section class="selection" data-testid="selection">
            <h2>"Steps to run"</h2>
            <p class="muted">"Tick the steps to run, or click them in the graph. Steps that are not selected are not run; what the selected steps need from them is reused from the source execution."</p>
            {steps_error}
            <div class="field"><label for="source">"Source execution"</label>
                <input id="source" name="form[source]" type="text" value=form.source.clone() placeholder="execution id or ARN" size="40"/>
                {source_error}</div>
            <div class="step-checks">{boxes}</div>
            <crate::components::dag::DagView dag=dag steps=selected_runs finished=false selected=None href_for=toggle_href/>
        </section>
    }
}

#[cfg(feature = "hydrate")]
fn form_pairs(form: &web_sys::HtmlFormElement) -> Vec<(String, String)> {
    use wasm_bindgen::JsCast;
    let mut out = vec![];
    let elements = form.elements();
    for i in 0..elements.length() {
        let Some(el) = elements.item(i) else { continue };
        if let Some(input) = el.dyn_ref::<web_sys::HtmlInputElement>() {
            if input.type_() == "checkbox" && !input.checked() {
                continue;
            }
            out.push((input.name(), input.value()));
        } else if let Some(select) = el.dyn_ref::<web_sys::HtmlSelectElement>() {
            out.push((select.name(), select.value()));
        } else if let Some(area) = el.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            out.push((area.name(), area.value()));
        }
    }
    out
}

/// Put saved values back into the form's fields (after a reload), leaving the fresh token alone.
#[cfg(feature = "hydrate")]
fn fill_form(form: &web_sys::HtmlFormElement, saved: &StartForm) {
    use wasm_bindgen::JsCast;
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &saved.params {
        values.insert(format!("form[params][{k}]"), v.clone());
    }
    for (k, v) in [
        ("form[display_name]", &saved.display_name),
        ("form[description]", &saved.description),
        ("form[max_parallel]", &saved.max_parallel),
        ("form[version]", &saved.version),
        ("form[mlflow_experiment]", &saved.mlflow_experiment),
        ("form[source]", &saved.source),
    ] {
        values.insert(k.to_string(), v.clone());
    }
    let elements = form.elements();
    for i in 0..elements.length() {
        let Some(el) = elements.item(i) else { continue };
        if let Some(input) = el.dyn_ref::<web_sys::HtmlInputElement>() {
            let name = input.name();
            if let Some(step) = name.strip_prefix("form[steps][").and_then(|r| r.strip_suffix(']')) {
                input.set_checked(saved.steps.get(step).is_some_and(|v| v == "on"));
            } else if let Some(v) = values.get(&name) {
                input.set_value(v);
            }
        } else if let Some(select) = el.dyn_ref::<web_sys::HtmlSelectElement>() {
            if let Some(v) = values.get(&select.name()) {
                select.set_value(v);
            }
        } else if let Some(area) = el.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            if let Some(v) = values.get(&area.name()) {
                area.set_value(v);
            }
        }
    }
}
