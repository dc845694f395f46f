//! "Notify me": a person's own subscription to the pipeline or execution on the page — watch the pipeline,
//! or be told when this execution ends — to their e-mail or a webhook of theirs, and the ones they have here.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use crate::components::post_form::{PostError, PostForm, Posting};
use crate::subscribe::{subscription_options, Subscribe, Unsubscribe};
use stepline_types::codec::Json;
use stepline_types::subscriptions::{PersonalOptions, PersonalTarget, Subscription, Watch};

#[component]
pub fn NotifyMe(pipeline: String, #[prop(optional)] execution_id: Option<String>) -> impl IntoView {
    let query = use_query_map();
    // Read again after a subscription is made or removed (the address then carries a new nonce).
    let nonce = move || {
        let q = query.read();
        (q.get("subscribed"), q.get("unsubscribed"))
    };
    let (p, e) = (pipeline.clone(), execution_id.clone());
    let data = Resource::<_, Json>::new_with_options(nonce, move |_| subscription_options(p.clone(), e.clone()), false);
    view! {
        <Transition fallback=|| ()>
            {move || {
                let (pipeline, execution_id) = (pipeline.clone(), execution_id.clone());
                Suspend::new(async move {
                    match data.await {
                        Ok(o) if o.enabled => view! { <Options options=o pipeline=pipeline execution_id=execution_id/> }.into_any(),
                        // Notifications off, or nothing to say: the page stays as it was.
                        _ => ().into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn Options(options: PersonalOptions, pipeline: String, execution_id: Option<String>) -> impl IntoView {
    let targets = options.targets();
    let watching = !options.mine.is_empty();
    let summary = match (&execution_id, watching) {
        (None, false) => "Notify me…",
        (None, true) => "Watching this pipeline",
        (Some(_), false) => "Tell me when it ends…",
        (Some(_), true) => "You will be told when it ends",
    };
    let mine = options.mine.into_iter().map(|s| view! { <li><Mine s=s from="here"/></li> }).collect_view();
    let form = if targets.is_empty() {
        view! {
            <p class="muted">"Personal notifications are off here: the notification settings allow neither e-mail nor webhooks for them."</p>
        }
        .into_any()
    } else {
        let posting = Posting::new();
        let target_options = targets
            .iter()
            .map(|t| {
                let label = match (t, &options.email) {
                    (PersonalTarget::Email, Some(a)) => format!("my e-mail ({a})"),
                    (t, _) => t.label().to_string(),
                };
                view! { <option value=t.to_string()>{label}</option> }
            })
            .collect_view();
        let url = (!options.webhook_prefixes.is_empty()).then(|| {
            let hint = format!("Starting with {}", options.webhook_prefixes.join(" or "));
            view! {
                <label>"Webhook address "<input type="url" name="url" size="40" placeholder=options.webhook_prefixes[0].clone() title=hint.clone() data-testid="subscribe-url"/></label>
                <span class="sub">{hint}</span>
            }
        });
        let watch = match &execution_id {
            Some(_) => view! { <input type="hidden" name="watch" value=""/> }.into_any(),
            None => {
                let choices = [Watch::Failures, Watch::FailuresAndApprovals, Watch::Everything]
                    .into_iter()
                    .map(|w| view! { <option value=w.to_string() selected=w == Watch::FailuresAndApprovals>{w.label()}</option> })
                    .collect_view();
                view! { <label>"Tell me "<select name="watch" data-testid="subscribe-watch">{choices}</select></label> }
                    .into_any()
            }
        };
        let submit = if execution_id.is_some() { "Tell me when it ends" } else { "Watch this pipeline" };
        view! {
            <PostForm to=Subscribe::PATH posting=posting attr:class="subscribe" attr:data-testid="subscribe-form">
                <input type="hidden" name="pipeline" value=pipeline/>
                <input type="hidden" name="execution_id" value=execution_id.clone().unwrap_or_default()/>
                {watch}
                <label>"Send to "<select name="target" data-testid="subscribe-target">{target_options}</select></label>
                {url}
                <button type="submit" disabled=move || posting.pending.get() data-testid="subscribe">{submit}</button>
            </PostForm>
            <PostError posting=posting/>
        }
        .into_any()
    };
    view! {
        <details class="notify-me" data-testid="notify-me" open=watching>
            <summary>{summary}</summary>
            <ul class="subscriptions" data-testid="my-subscriptions-here">{mine}</ul>
            {form}
        </details>
    }
}

/// One subscription, with its signing secret for its owner and a button that removes it. `from` names the
/// page to come back to ("notifications", else the subscription's own page).
#[component]
pub fn Mine(s: Subscription, from: &'static str) -> impl IntoView {
    let posting = Posting::new();
    let what = s.what();
    let to = format!("{} · {}", s.target, s.address);
    let secret = s.secret.clone().map(|k| {
        view! { <div class="sub">"Signing secret (X-Stepline-Signature): "<code class="copyable" data-testid="subscription-secret">{k}</code></div> }
    });
    let ended = s.ended.map(|_| view! { <span class="sub">" · ended: its end was told"</span> });
    view! {
        <span data-testid="subscription">{what}" → "{to}{ended}</span>
        {secret}
        <PostForm to=Unsubscribe::PATH posting=posting attr:class="inline">
            <input type="hidden" name="id" value=s.id.to_string()/>
            <input type="hidden" name="from" value=from/>
            <button type="submit" disabled=move || posting.pending.get() data-testid="unsubscribe">"Remove"</button>
        </PostForm>
        <PostError posting=posting/>
    }
}
