//! Personal subscriptions from the pages: what a person may subscribe with, subscribing to a pipeline or to
//! an execution's end, and removing one. Anyone who may read the pipeline may subscribe to it; each change is
//! on record in the activity log.

use stepline_types::error::{AppError, Subject};
use stepline_types::model::access::Role;
use stepline_types::model::activity::Action;
use stepline_types::subscriptions::{end_events, shown_url, PersonalOptions, PersonalTarget, Subscription, Watch};

use crate::notify::personal;
use crate::state::enter;
use crate::store::NewSubscription;

/// The most open subscriptions one person may have: enough for anyone, and a bound on what one account can
/// make the server send.
const MOST: usize = 100;

/// What the person may subscribe with here, and their subscriptions to this pipeline (or execution).
pub async fn options(pipeline: &str, execution_id: Option<&str>) -> Result<PersonalOptions, AppError> {
    let (state, who) = enter().await?;
    who.read(pipeline).await?;
    let Some(notifier) = &state.notify else { return Ok(PersonalOptions::default()) };
    let settings = notifier.settings.get();
    let user = &who.identity.user;
    let place = state.place.key();
    let mine = state
        .access
        .db
        .subscriptions_of(Some(user), MOST as i64)
        .await
        .map_err(AppError::Server)?
        .into_iter()
        .filter(|s| {
            s.place == place
                && s.ended_ms.is_none()
                && s.pipeline.eq_ignore_ascii_case(pipeline)
                && s.execution_id.as_deref() == execution_id
        })
        .map(|s| s.view(true))
        .collect();
    Ok(PersonalOptions {
        enabled: true,
        email: settings.personal.mail_channel.as_ref().and_then(|_| personal::email_of(user)),
        webhook_prefixes: settings.personal.webhook_prefixes.clone(),
        mine,
    })
}

/// What a subscribe form sends, as typed.
#[derive(Clone, Debug, Default)]
pub struct Asked<'a> {
    pub pipeline: &'a str,
    /// Empty: the whole pipeline.
    pub execution_id: &'a str,
    pub target: &'a str,
    pub url: &'a str,
    /// Empty for an execution's end.
    pub watch: &'a str,
}

/// Subscribe the person; on record either way.
pub async fn subscribe(asked: &Asked<'_>) -> Result<Subscription, AppError> {
    let (state, who) = enter().await?;
    // Authorization first: nothing is looked up for someone who may not read the pipeline.
    let role = who.read(asked.pipeline).await?;
    let result = async {
        let notifier = state.notify.as_ref().ok_or_else(|| AppError::NotFound("Notifications are off.".into()))?;
        let settings = notifier.settings.get();
        let target: PersonalTarget = asked.target.parse().map_err(|_| {
            AppError::Invalid(format!("'{}' is not a way to be told.", stepline_types::text::clip(asked.target, 40)))
        })?;
        let (address, secret) =
            personal::check_target(&settings, &who.identity.user, target, asked.url).map_err(AppError::Invalid)?;
        let (events, execution) = match asked.execution_id.trim() {
            "" => {
                let watch: Watch = asked.watch.parse().map_err(|_| {
                    AppError::Invalid(format!(
                        "'{}' is not something to watch for.",
                        stepline_types::text::clip(asked.watch, 40)
                    ))
                })?;
                (watch.events(), None)
            }
            id => {
                let arn = crate::queries::execution_arn(&state, asked.pipeline, id).await?;
                let what = Subject::Execution { pipeline: asked.pipeline, id };
                let e = state.gateway.describe_execution(&arn).await.map_err(|e| AppError::from_upstream(e, what))?;
                if e.status.is_terminal() {
                    return Err(AppError::Invalid(format!(
                        "Execution {id} has already ended ({}): there is no end to wait for.",
                        e.status.as_str()
                    )));
                }
                (end_events(), Some((arn, id.to_string())))
            }
        };
        let db = &state.access.db;
        let open = db.subscriptions_of(Some(&who.identity.user), MOST as i64 + 1).await.map_err(AppError::Server)?;
        if open.iter().filter(|s| s.ended_ms.is_none()).count() >= MOST {
            return Err(AppError::Invalid(format!(
                "You have {MOST} subscriptions: remove some on the Notifications page first."
            )));
        }
        let new = NewSubscription {
            owner: who.identity.user.clone(),
            groups: who.identity.groups.clone(),
            place: state.place.key(),
            pipeline: asked.pipeline.to_string(),
            execution,
            events,
            target,
            address,
            secret,
        };
        let id = db.subscribe(&new, crate::store::now_ms()).await.map_err(AppError::Server)?;
        let made = db.subscriber(id).await.map_err(AppError::Server)?;
        made.map(|s| s.view(true)).ok_or_else(|| AppError::Server("the subscription was not kept".into()))
    }
    .await;
    // On record without the webhook's path (it may be its token) or secret.
    let detail = serde_json::json!({
        "target": asked.target,
        "address": result.as_ref().ok().map(|s| s.address.clone()).unwrap_or_else(|| shown_url(asked.url)),
        "execution": Some(asked.execution_id).filter(|i| !i.is_empty()),
        "watch": Some(asked.watch).filter(|w| !w.is_empty()),
    });
    who.record(Some(role), Action::Subscribe, Some(asked.pipeline), None, result.as_ref().map(|_| ()), detail).await?;
    result
}

/// Remove a subscription: its owner, or an admin everywhere. Someone else's answers as unknown.
pub async fn unsubscribe(id: i64) -> Result<Subscription, AppError> {
    let (state, who) = enter().await?;
    let db = &state.access.db;
    let found = db.subscriber(id).await.map_err(AppError::Server)?;
    let (everywhere, _) = who.everywhere();
    let admin = everywhere == Some(Role::Admin);
    let Some(s) = found.filter(|s| admin || s.owner == who.identity.user) else {
        return Err(AppError::NotFound(format!("There is no subscription {id} of yours.")));
    };
    let done = db.unsubscribe(id).await.map_err(AppError::Server);
    let detail = serde_json::json!({ "subscription": id, "owner": s.owner, "target": s.target });
    who.record(
        everywhere,
        Action::Unsubscribe,
        Some(&s.pipeline),
        s.execution_arn.as_deref(),
        done.as_ref().map(|_| ()),
        detail,
    )
    .await?;
    done.map(|_| s.view(s.owner == who.identity.user))
}
