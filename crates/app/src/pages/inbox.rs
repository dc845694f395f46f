//! `/inbox`: everything waiting for the person, in every account and region shown — callback steps waiting
//! for an answer (with the execution, how long it has waited and the outputs an approval sends) and model
//! versions waiting for approval — answered or decided right here, each form posting to its own place.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::actions::CallbackPanel;
use crate::components::decide::DecideForms;
use crate::components::error::ErrorPanel;
use crate::components::status::ApprovalBadge;
use crate::components::time::Timestamp;
use crate::registry::get_inbox;
use stepline_types::base::href_in;
use stepline_types::codec::Json;
use stepline_types::inbox::{waited, InboxPlace, PendingVersion, WaitingCallback};
use stepline_types::model::links::seg;
use stepline_types::model::{StepRun, StepStatus};

#[component]
pub fn InboxPage() -> impl IntoView {
    let query = use_query_map();
    // Read again after an answer or decision (the address then carries a new nonce).
    let data = Resource::<_, Json>::new_with_options(move || query.read().get("at"), |_| get_inbox(), false);
    let notice = move || {
        let q = query.read();
        let done = match (q.get("notice").as_deref(), q.get("decided").as_deref()) {
            (Some("approved"), _) => Some("The callback step was approved."),
            (Some("rejected"), _) => Some("The callback step was rejected."),
            (_, Some("approve")) => Some("The model version was approved."),
            (_, Some("reject")) => Some("The model version was rejected."),
            _ => None,
        };
        let error = q.get("error").and_then(|c| stepline_types::error::notice_text(&c));
        view! {
            {done.map(|n| view! { <p class="notice" role="status" data-testid="notice">{n}</p> })}
            {error.map(|e| view! { <div class="error-panel" role="alert">{e}</div> })}
        }
    };
    view! {
        <Title text="Inbox"/>
        <div class="page-head"><h1>"Inbox"</h1></div>
        <p class="muted">"What waits for you: callback steps waiting for an answer and model versions waiting for approval, in every account and region shown here."</p>
        {notice}
        <Transition fallback=|| view! { <p class="muted">"Looking for what waits…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(page) => {
                        let several = page.places.len() > 1;
                        let empty = page.count() == 0;
                        view! {
                            {empty.then(|| view! { <p class="muted" data-testid="inbox-empty">"Nothing waits for you."</p> })}
                            {page.places.into_iter().map(|p| view! { <PlaceSection place=p several/> }).collect_view()}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn PlaceSection(place: InboxPlace, several: bool) -> impl IntoView {
    let base = place.place.base.clone();
    let as_of = place.as_of;
    let heading = several.then(|| view! { <h2>{place.place.label.clone()}</h2> });
    let problem = place.problem.clone().map(|p| view! { <p class="stale-notice" role="status">{p}</p> });
    let callbacks =
        place.callbacks.into_iter().map(|c| view! { <Callback callback=c base=base.clone() as_of/> }).collect_view();
    let versions = place.versions.into_iter().map(|v| view! { <Version pending=v base=base.clone()/> }).collect_view();
    view! {
        <section class="inbox-place" data-testid="inbox-place" data-base=base.clone()>
            {heading}
            {problem}
            {callbacks}
            {versions}
            <p class="muted sub">"As of "<Timestamp at=as_of/></p>
        </section>
    }
}

#[component]
fn Callback(callback: WaitingCallback, base: String, as_of: Option<chrono::DateTime<chrono::Utc>>) -> impl IntoView {
    let c = callback;
    let href = href_in(&base, &format!("/pipelines/{}/executions/{}", seg(&c.pipeline), seg(&c.execution_id)));
    let execution = c.execution_name.clone().unwrap_or_else(|| c.execution_id.clone());
    let waiting = match (c.since, as_of) {
        (Some(since), Some(now)) => format!("waiting for {}", waited(since, now)),
        _ => "waiting".to_string(),
    };
    let outputs = (!c.outputs.is_empty()).then(|| {
        let list = c
            .outputs
            .iter()
            .map(|(name, ty)| view! { <li><code>{name.clone()}</code>" ("{ty.name()}")"</li> })
            .collect_view();
        view! { <p class="sub">"An approval sends:"</p><ul class="outputs">{list}</ul> }
    });
    let answer = if c.may_answer {
        let step = StepRun::named(&c.step, StepStatus::Executing);
        view! {
            <CallbackPanel pipeline=c.pipeline.clone() id=c.execution_id.clone() step outputs=c.outputs.clone() under=base.clone() to_inbox=true/>
        }
        .into_any()
    } else {
        view! { <p class="muted">"You may read this pipeline, not answer for it."</p> }.into_any()
    };
    view! {
        <article class="inbox-item" data-testid="inbox-callback" data-step=c.step.clone() data-pipeline=c.pipeline.clone() data-execution=c.execution_id.clone()>
            <p>
                <strong>"Callback"</strong>" · "<a href=href rel="external">{format!("{} · {execution}", c.pipeline)}</a>
                " · step "<code>{c.step_display.clone().unwrap_or_else(|| c.step.clone())}</code>" · "
                <span data-testid="waited">{waiting}</span>
            </p>
            {outputs}
            {answer}
        </article>
    }
}

#[component]
fn Version(pending: PendingVersion, base: String) -> impl IntoView {
    let v = pending;
    let group_href = href_in(&base, &format!("/models/{}", seg(&v.version.group)));
    let from = v.registered_by.clone().map(|(pipeline, id)| {
        let href = href_in(&base, &format!("/pipelines/{}/executions/{}", seg(&pipeline), seg(&id)));
        view! { " · registered by "<a href=href rel="external">{format!("{pipeline} · {id}")}</a> }
    });
    let decide = if v.may_decide {
        view! { <DecideForms group=v.version.group.clone() arn=v.version.arn.clone() under=base.clone() to_inbox=true/> }
            .into_any()
    } else {
        view! { <p class="muted">"You may see this version, not decide on it."</p> }.into_any()
    };
    view! {
        <article class="inbox-item" data-testid="inbox-version" data-group=v.version.group.clone() data-version=v.version.version>
            <p>
                <strong>"Model version"</strong>" · "<a href=group_href rel="external">{format!("{} v{}", v.version.group, v.version.version)}</a>
                " "<ApprovalBadge approval=v.version.approval/>
                {from}
                " · created "<Timestamp at=v.version.created/>
                {v.created_by.clone().map(|b| format!(" by {b}"))}
            </p>
            {v.description.clone().map(|d| view! { <p class="sub">{d}</p> })}
            {decide}
        </article>
    }
}
