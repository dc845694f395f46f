//! The actions of an execution page: stop (confirmed, saying what follows), retry, the re-run menu, and
//! the answers to waiting callback steps. Every action is a form that works without JavaScript.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::actions::{new_token, AnswerCallback, RetryExecution, StopExecution};
use crate::components::post_form::{PostError, PostForm, Posting};
use stepline_definition::{ParameterType, StepType};
use stepline_types::forms::RerunMode;
use stepline_types::model::{links, ExecStatus, ExecutionView, StepMetadata, StepRun, StepStatus};

/// What stopping this execution will do, in words: callback steps hold it in Stopping until answered,
/// Lambda steps run to their end or their timeout.
pub fn stop_consequences(steps: &[StepRun], step_types: &dyn Fn(&str) -> Option<StepType>) -> Vec<String> {
    let mut out = vec![];
    for s in steps.iter().filter(|s| s.status.is_running()) {
        match step_types(&s.name) {
            Some(StepType::Callback) => out.push(format!(
                "Callback step {} is waiting for an answer: the execution stays Stopping until it is approved or rejected.",
                s.name
            )),
            Some(StepType::Lambda) => out.push(format!("Lambda step {} is not interrupted: it runs to its end or its timeout.", s.name)),
            _ => {}
        }
    }
    if out.is_empty() {
        out.push("Running jobs are stopped; no new step starts.".into());
    }
    out
}

/// Why a re-run mode is not available, if it is not.
pub fn rerun_disabled(status: &ExecStatus, mode: RerunMode, selected_step: Option<&str>) -> Option<&'static str> {
    let finished = matches!(status, ExecStatus::Succeeded | ExecStatus::Failed | ExecStatus::Stopped);
    match mode {
        RerunMode::Same => None,
        RerunMode::Selected | RerunMode::Downstream | RerunMode::FromFailure if !finished => {
            Some("Selective runs reuse outputs of a Succeeded, Failed or Stopped execution; this one is not finished.")
        }
        RerunMode::Downstream if selected_step.is_none() => {
            Some("Select a step first (click it in the timeline, the graph or the table).")
        }
        RerunMode::FromFailure if *status != ExecStatus::Failed => {
            Some("Only a failed execution can be re-run from its failure.")
        }
        _ => None,
    }
}

#[component]
pub fn ExecutionActions(
    view: Signal<ExecutionView>,
    step_types: Callback<String, Option<StepType>>,
    selected: Signal<Option<String>>,
    confirm_stop: Signal<bool>,
    declared_outputs: Callback<String, Vec<(String, ParameterType)>>,
    /// Who is looking: a viewer sees the actions disabled, with the reason.
    me: stepline_types::model::access::Me,
) -> impl IntoView {
    let (stop, retry) = (Posting::new(), Posting::new());
    // Focus follows the confirmation: onto its Stop button when it opens, back to the "Stop…" link when it
    // is cancelled (a page loaded with it open focuses the button through `autofocus`).
    #[cfg(feature = "hydrate")]
    {
        let was_open = StoredValue::new(confirm_stop.get_untracked());
        Effect::new(move |_| {
            let open = confirm_stop.get();
            if open != was_open.get_value() {
                was_open.set_value(open);
                let target =
                    if open { "[data-testid=stop-confirm] button[type=submit]" } else { "[data-testid=stop-link]" };
                request_animation_frame(move || {
                    use wasm_bindgen::JsCast;
                    if let Some(el) = document()
                        .query_selector(target)
                        .ok()
                        .flatten()
                        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        let _ = el.focus();
                    }
                });
            }
        });
    }
    let denied = me.cannot_operate();
    move || {
        let v = view.get();
        let e = v.execution.clone();
        let steps = v.steps.clone().unwrap_or_default();
        if let Some(why) = denied.clone() {
            return viewer_actions(&e.status, &steps, why).into_any();
        }
        let base = links::execution(&e.pipeline_name, &e.id);
        let sel = selected.get();
        let menu_item = |mode: RerunMode, label: String| {
            let href = mode.href(&e.pipeline_name, &e.id, sel.as_deref());
            match rerun_disabled(&e.status, mode, sel.as_deref()) {
                Some(why) => view! { <span class="menu-item disabled" title=why aria-disabled="true">{label}<span class="why">{why}</span></span> }.into_any(),
                None => view! { <a class="menu-item" href=href>{label}</a> }.into_any(),
            }
        };
        let rerun = view! {
            <details class="rerun" data-testid="rerun-menu">
                <summary>"Re-run…"</summary>
                <div class="menu">
                    {menu_item(RerunMode::Same, "Start again with these parameters".into())}
                    {menu_item(RerunMode::Selected, "Run selected steps…".into())}
                    {menu_item(RerunMode::Downstream, format!("From {} and everything downstream", sel.clone().unwrap_or_else(|| "a step".into())))}
                    {menu_item(RerunMode::FromFailure, "From failure".into())}
                </div>
            </details>
        };
        let (stop_p, stop_i) = (e.pipeline_name.clone(), e.id.clone());
        let (retry_p, retry_i) = (e.pipeline_name.clone(), e.id.clone());
        let (cb_p, cb_i) = (e.pipeline_name.clone(), e.id.clone());
        let consequences = stop_consequences(&steps, &|n| step_types.run(n.to_string()));
        let stop_part = (e.status == ExecStatus::Executing).then(move || {
            if confirm_stop.get() {
                view! {
                    <div class="confirm" data-testid="stop-confirm">
                        <strong>"Stop this execution?"</strong>
                        <ul>{consequences.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul>
                        <PostForm to=StopExecution::PATH posting=stop attr:class="inline">
                            <input type="hidden" name="pipeline" value=stop_p/>
                            <input type="hidden" name="id" value=stop_i/>
                            <input type="hidden" name="token" value=new_token()/>
                            <button type="submit" class="danger" autofocus disabled=move || stop.pending.get()>"Stop"</button>
                        </PostForm>
                        <a class="button" href=base.clone()>"Cancel"</a>
                        <PostError posting=stop/>
                    </div>
                }
                .into_any()
            } else {
                view! { <a class="button danger" href=format!("{base}?confirm=stop") data-testid="stop-link">"Stop…"</a> }.into_any()
            }
        });
        let retry_part = (e.status == ExecStatus::Failed).then(move || {
            view! {
                <PostForm to=RetryExecution::PATH posting=retry attr:class="inline retry" attr:data-testid="retry-form">
                    <input type="hidden" name="pipeline" value=retry_p/>
                    <input type="hidden" name="id" value=retry_i/>
                    <input type="hidden" name="token" value=new_token()/>
                    <label>"Parallel steps "<input type="number" name="max_parallel" min="1" step="1" placeholder="unchanged" size="6"/></label>
                    <button type="submit" class="primary" disabled=move || retry.pending.get()>"Retry"</button>
                </PostForm>
                <PostError posting=retry/>
            }
        });
        let waiting: Vec<StepRun> = steps
            .iter()
            .filter(|s| s.status == StepStatus::Executing && matches!(&s.metadata, StepMetadata::Callback { .. }))
            .cloned()
            .collect();
        let callbacks = waiting
            .into_iter()
            .map(|s| {
                let outputs = declared_outputs.run(s.name.clone());
                view! { <CallbackPanel pipeline=cb_p.clone() id=cb_i.clone() step=s outputs=outputs/> }
            })
            .collect_view();
        let stopping_note = (e.status == ExecStatus::Stopping).then(|| {
            let waiting: Vec<String> = steps
                .iter()
                .filter(|s| s.status.is_running() && step_types.run(s.name.clone()) == Some(StepType::Callback))
                .map(|s| s.name.clone())
                .collect();
            let text = if waiting.is_empty() {
                "Stopping: running steps are finishing.".to_string()
            } else {
                format!("Stopping — waiting on callback step {}: answer it below.", waiting.join(", "))
            };
            view! { <p class="notice" data-testid="stopping-note">{text}</p> }
        });
        view! {
            <div class="actions" data-testid="actions">
                {stop_part}
                {retry_part}
                {rerun}
            </div>
            {stopping_note}
            {callbacks}
        }
        .into_any()
    }
}

/// The actions as a viewer sees them: there, disabled, with the reason (the server refuses them anyway).
fn viewer_actions(status: &ExecStatus, steps: &[StepRun], why: String) -> impl IntoView {
    let waiting: Vec<String> = steps
        .iter()
        .filter(|s| s.status == StepStatus::Executing && matches!(&s.metadata, StepMetadata::Callback { .. }))
        .map(|s| s.name.clone())
        .collect();
    let (w1, w2, w3) = (why.clone(), why.clone(), why.clone());
    view! {
        <div class="actions" data-testid="actions">
            {(*status == ExecStatus::Executing).then(|| view! {
                <button type="button" class="danger" disabled title=w1 data-testid="stop-link">"Stop…"</button>
            })}
            {(*status == ExecStatus::Failed).then(|| view! {
                <button type="button" class="primary" disabled title=w2>"Retry"</button>
            })}
            <button type="button" disabled title=w3>"Re-run…"</button>
        </div>
        <p class="why-disabled" data-testid="no-operate">{why.clone()}</p>
        {waiting.into_iter().map(|name| view! {
            <section class="callback" data-testid="callback-panel" data-step=name.clone()>
                <h3>{format!("Callback step {name} is waiting for an answer")}</h3>
                <button type="button" class="primary" disabled title=why.clone()>"Approve"</button>
                " "
                <button type="button" class="danger" disabled title=why.clone()>"Reject"</button>
            </section>
        }).collect_view()}
    }
}

/// Approve a waiting callback step with the outputs it declares, or reject it with a reason.
#[component]
pub fn CallbackPanel(
    pipeline: String,
    id: String,
    step: StepRun,
    outputs: Vec<(String, ParameterType)>,
    /// The place whose server function answers (the inbox's other places); this page's by default.
    #[prop(optional, into)]
    under: Option<String>,
    /// Back to the inbox after answering, rather than to the execution's page.
    #[prop(optional)]
    to_inbox: bool,
) -> impl IntoView {
    let (approve, reject) = (Posting::new(), Posting::new());
    let fields = outputs
        .iter()
        .map(|(name, ty)| {
            let field = format!("form[outputs][{name}]");
            let input = if *ty == ParameterType::Boolean {
                view! { <select name=field><option value="true">"true"</option><option value="false">"false"</option></select> }.into_any()
            } else {
                view! { <input type="text" name=field placeholder=ty.name()/> }.into_any()
            };
            view! { <label class="output">{name.clone()}" "{input}</label> }
        })
        .collect_view();
    let hidden = {
        let (pipeline, id, step_name) = (pipeline.clone(), id.clone(), step.name.clone());
        move |decision: stepline_types::forms::Decision| {
            let (p, i, s) = (pipeline.clone(), id.clone(), step_name.clone());
            view! {
                <input type="hidden" name="form[pipeline]" value=p/>
                <input type="hidden" name="form[id]" value=i/>
                <input type="hidden" name="form[step]" value=s/>
                <input type="hidden" name="form[token]" value=new_token()/>
                <input type="hidden" name="form[decision]" value=decision.as_str()/>
                {to_inbox.then(|| view! { <input type="hidden" name="form[back]" value=stepline_types::inbox::Back::Inbox.as_str()/> })}
            }
        }
    };
    use stepline_types::forms::Decision;
    let (approve_hidden, reject_hidden) = (hidden(Decision::Approve), hidden(Decision::Reject));
    view! {
        <section class="callback" data-testid="callback-panel" data-step=step.name.clone()>
            <h3>{format!("Callback step {} is waiting for an answer", step.name)}</h3>
            <div class="callback-forms">
                <PostForm to=AnswerCallback::PATH posting=approve under=under.clone() attr:class="inline">
                    {approve_hidden}
                    {fields}
                    <button type="submit" class="primary" disabled=move || approve.pending.get()>"Approve"</button>
                </PostForm>
                <PostForm to=AnswerCallback::PATH posting=reject under=under attr:class="inline">
                    {reject_hidden}
                    <label>"Reason "<input type="text" name="form[reason]" maxlength=stepline_definition::limits::FAILURE_REASON_MAX size="40" placeholder="why it is rejected"/></label>
                    <button type="submit" class="danger" disabled=move || reject.pending.get()>"Reject"</button>
                </PostForm>
            </div>
            <PostError posting=approve/>
            <PostError posting=reject/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stepline_types::model::{StepRun, StepStatus};

    fn running(name: &str) -> StepRun {
        StepRun::named(name, StepStatus::Executing)
    }

    #[test]
    fn stopping_explains_callbacks_and_lambdas() {
        let steps = vec![running("ManualApproval"), running("ScoreBatch"), running("Train")];
        let types = |n: &str| {
            Some(match n {
                "ManualApproval" => StepType::Callback,
                "ScoreBatch" => StepType::Lambda,
                _ => StepType::Training,
            })
        };
        let c = stop_consequences(&steps, &types);
        assert_eq!(c.len(), 2);
        assert!(c[0].contains("stays Stopping until it is approved or rejected"));
        assert!(c[1].contains("runs to its end or its timeout"));
        assert_eq!(
            stop_consequences(&[running("Train")], &types),
            vec!["Running jobs are stopped; no new step starts."]
        );
    }

    #[test]
    fn rerun_modes_say_why_they_are_off() {
        assert!(rerun_disabled(&ExecStatus::Executing, RerunMode::Selected, None).unwrap().contains("not finished"));
        assert!(rerun_disabled(&ExecStatus::Succeeded, RerunMode::FromFailure, None)
            .unwrap()
            .contains("Only a failed execution"));
        assert!(rerun_disabled(&ExecStatus::Failed, RerunMode::Downstream, None)
            .unwrap()
            .contains("Select a step first"));
        assert_eq!(rerun_disabled(&ExecStatus::Failed, RerunMode::Downstream, Some("A")), None);
        assert_eq!(rerun_disabled(&ExecStatus::Executing, RerunMode::Same, None), None);
    }

    #[test]
    fn rerun_links_carry_their_mode() {
        assert_eq!(RerunMode::Same.href("P", "abc", Some("S")), "/pipelines/P/start?from=abc");
        assert_eq!(RerunMode::FromFailure.href("P", "abc", None), "/pipelines/P/start?from=abc&mode=failure");
        assert_eq!(
            RerunMode::Downstream.href("P", "abc", Some("Train step")),
            "/pipelines/P/start?from=abc&mode=downstream&step=Train%20step"
        );
        for mode in [RerunMode::Selected, RerunMode::Downstream, RerunMode::FromFailure] {
            let href = mode.href("P", "abc", None);
            let q = href.split_once("mode=").unwrap().1;
            assert_eq!(RerunMode::parse(q.split('&').next().unwrap()), Some(mode));
        }
    }
}
