//! The notifications page: which events of which pipelines go to which channel, and the delivery log (each
//! message, its channel, attempts, where it stands and the last error).

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::actions::NotifyTest;
use crate::api::notifications;
use crate::components::notify_me::Mine;
use crate::components::post_form::{PostError, PostForm, Posting};
use crate::components::{error::ErrorPanel, time::Timestamp};
use stepline_types::codec::Json;
use stepline_types::model::access::Role;
use stepline_types::model::links;
use stepline_types::notify::DeliveryStatus;
use stepline_types::page::{NotificationsData, WatchView};

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let query = use_query_map();
    // Read again after a subscription is removed here (the address then carries a new nonce).
    let data =
        Resource::<_, Json>::new_with_options(move || query.read().get("unsubscribed"), |_| notifications(), false);
    // After a plain form post: which channel took a test message, or the fixed sentence of what went wrong.
    let notice = move || {
        let q = query.read();
        if let Some(channel) = q.get("tested") {
            return Some(view! { <p class="notice" role="status" data-testid="tested">{format!("A test message went to {channel}.")}</p> }.into_any());
        }
        if q.get("unsubscribed").is_some() {
            return Some(view! { <p class="notice" role="status">"The subscription was removed."</p> }.into_any());
        }
        if let Some(channel) = q.get("untested") {
            let text = format!(
                "The test message to {channel} was not taken. Send it again with the page's script running to see what the receiver answered."
            );
            return Some(view! { <p class="field-error" role="alert" data-testid="untested">{text}</p> }.into_any());
        }
        q.get("error")
            .and_then(|c| stepline_types::error::notice_text(&c))
            .map(|text| view! { <p class="field-error" role="alert">{text}</p> }.into_any())
    };
    view! {
        <Title text="Notifications"/>
        <div class="page-head"><h1>"Notifications"</h1></div>
        {notice}
        <Transition fallback=|| view! { <p class="muted">"Loading the notifications…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(d) if !d.enabled => view! {
                        <p class="muted" data-testid="notifications-off">
                            "Notifications are off: start Stepline with "<code>"--notify FILE"</code>
                            " (channels and rules; see the README's \u{201c}Notifications\u{201d})."
                        </p>
                    }.into_any(),
                    Ok(d) => view! { <NotificationsBody data=d/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// How this place's executions are watched, and what the last polling round cost upstream.
#[component]
fn WatchNote(watch: Option<WatchView>, poll_seconds: u64) -> impl IntoView {
    let Some(w) = watch else {
        return view! { <p class="muted">{format!("Executions are looked at every {poll_seconds} s.")}</p> }.into_any();
    };
    let how = if w.events {
        format!(
            "SageMaker's own events (SQS) make Stepline look at a pipeline as soon as it changes; polling looks at \
             every pipeline every {} s as a safety net.",
            w.every_seconds
        )
    } else {
        format!("Executions are looked at every {} s, at most {} pipelines a second.", w.every_seconds, w.rate)
    };
    let last = w.last_round.map(|r| {
        let what = if r.elsewhere {
            "another replica polls this account and region".to_string()
        } else {
            format!(
                "{} pipelines in {:.1} s, {} upstream calls, {} new events{}",
                r.pipelines,
                r.seconds,
                r.calls,
                r.events,
                if r.errors > 0 { format!(", {} errors (see the log)", r.errors) } else { String::new() }
            )
        };
        view! { <p class="muted" data-testid="notify-round">"Last round "<Timestamp at=Some(r.at)/>": "{what}"."</p> }
    });
    view! { <p class="muted" data-testid="notify-watch">{how}</p>{last} }.into_any()
}

#[component]
fn NotificationsBody(data: NotificationsData) -> impl IntoView {
    let rules = data
        .rules
        .into_iter()
        .map(|r| {
            let events = r.events.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ");
            let pipelines = if r.pipelines.is_empty() { "every pipeline".to_string() } else { r.pipelines.join(", ") };
            let threshold = match (r.long_running_minutes, r.long_running_times) {
                (Some(m), Some(t)) => {
                    Some(format!("after {} or {t}× its usual run", stepline_types::notify::minutes(m)))
                }
                (Some(m), None) => Some(format!("after {}", stepline_types::notify::minutes(m))),
                (None, Some(t)) => Some(format!("after {t}× its usual run")),
                (None, None) => None,
            };
            let quiet = r.quiet_hours.map(|q| format!("quiet {q}"));
            let digest = r.digest_minutes.map(|m| format!("one message every {}", stepline_types::notify::minutes(m)));
            view! {
                <tr>
                    <td>
                        {events}{threshold.map(|t| view! { <div class="sub">{t}</div> })}
                        {quiet.map(|q| view! { <div class="sub">{q}</div> })}
                        {digest.map(|d| view! { <div class="sub">{d}</div> })}
                    </td>
                    <td>{pipelines}</td>
                    <td>{r.channel}</td>
                </tr>
            }
        })
        .collect_view();
    let may_test = matches!(data.me.role, Some(Role::Operator | Role::Admin));
    let channels = data
        .channels
        .into_iter()
        .map(|c| {
            let posting = Posting::new();
            let name = c.name.clone();
            let test = may_test.then(move || {
                view! {
                    <PostForm to=NotifyTest::PATH posting=posting attr:class="inline">
                        <input type="hidden" name="channel" value=name/>
                        <button type="submit" disabled=move || posting.pending.get() data-testid="send-test">"Send a test"</button>
                    </PostForm>
                    <PostError posting=posting/>
                }
            });
            view! { <li><strong>{c.name.clone()}</strong>" · "{c.kind}" "{test}</li> }
        })
        .collect_view();
    let subscriptions = view! { <Subscriptions list=data.subscriptions.clone() everything=data.everything personal=data.personal.clone()/> };
    let empty = data.deliveries.is_empty();
    let deliveries = data
        .deliveries
        .into_iter()
        .map(|d| {
            let tone = match d.status {
                DeliveryStatus::Sent => "ok",
                DeliveryStatus::Pending => "warn",
                DeliveryStatus::Dead => "bad",
            };
            let when = match d.status {
                DeliveryStatus::Sent => d.sent,
                _ => Some(d.due),
            };
            let href = links::execution(&d.pipeline, &d.execution_id);
            view! {
                <tr data-status=d.status.to_string() data-kind=d.kind.to_string()>
                    <td><Timestamp at=Some(d.created)/></td>
                    <td><a href=href>{d.title}</a><div class="sub">{d.kind.to_string()}</div></td>
                    <td>{d.channel}{d.owner.map(|o| view! { <div class="sub">{if o.is_empty() { "a removed subscription".to_string() } else { o }}</div> })}</td>
                    <td><span class=format!("outcome {tone}")>{d.status.to_string()}</span>
                        <div class="sub">{when.map(|t| view! { <Timestamp at=Some(t)/> })}</div></td>
                    <td>{d.attempts}</td>
                    <td><code class="detail">{d.last_error.unwrap_or_default()}</code></td>
                    <td class="sub mono">{d.delivery_id}</td>
                </tr>
            }
        })
        .collect_view();
    let scope = if data.everything {
        "Every message sent for this account and region."
    } else {
        "The messages about the pipelines you may read."
    };
    view! {
        <section>
            <h2>"Rules"</h2>
            <WatchNote watch=data.watch poll_seconds=data.poll_seconds/>
            <table class="data" data-testid="notify-rules">
                <thead><tr><th>"Events"</th><th>"Pipelines"</th><th>"Channel"</th></tr></thead>
                <tbody>{rules}</tbody>
            </table>
            <h2>"Channels"</h2>
            <ul data-testid="notify-channels">{channels}</ul>
        </section>
        {subscriptions}
        <section>
            <h2>"Deliveries"</h2>
            <p class="muted">{scope}</p>
            <table class="data" data-testid="notify-deliveries">
                <thead><tr><th>"Written"</th><th>"Event"</th><th>"Channel"</th><th>"Status"</th><th>"Attempts"</th><th>"Last error"</th><th>"Delivery id"</th></tr></thead>
                <tbody>{deliveries}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted">"Nothing sent yet."</p> })}
        </section>
    }
}

/// The reader's own subscriptions (everyone's, with whose, for an admin), each removable, and how to make one.
#[component]
fn Subscriptions(
    list: Vec<stepline_types::subscriptions::Subscription>,
    everything: bool,
    personal: stepline_types::subscriptions::PersonalOptions,
) -> impl IntoView {
    let title = if everything { "Subscriptions" } else { "My subscriptions" };
    let how = if personal.targets().is_empty() {
        "Personal notifications are off here: the settings' [personal] section allows neither e-mail nor webhooks."
            .to_string()
    } else {
        "Watch a pipeline from its page (\u{201c}Notify me\u{2026}\u{201d}), or ask to be told when a running execution ends from the execution's page.".to_string()
    };
    let empty = list.is_empty();
    let rows = list
        .into_iter()
        .map(|s| {
            let owner = everything.then(|| view! { <div class="sub">{s.owner.clone()}</div> });
            view! { <li>{owner}<Mine s=s from="notifications"/></li> }
        })
        .collect_view();
    view! {
        <section>
            <h2>{title}</h2>
            <p class="muted">{how}</p>
            <ul class="subscriptions" data-testid="my-subscriptions">{rows}</ul>
            {empty.then(|| view! { <p class="muted">"No subscriptions."</p> })}
        </section>
    }
}
