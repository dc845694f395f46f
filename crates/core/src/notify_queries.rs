//! What the notifications page answers: the rules in force, their channels (names and kinds only: their
//! URLs and secrets never leave the server), and the delivery log of this place, scoped like the activity
//! log (admins see every delivery; the others those of the pipelines they may read).

use std::collections::HashMap;

use crate::state::enter;
use stepline_types::error::AppError;
use stepline_types::model::access::Role;
use stepline_types::model::activity::Action;
use stepline_types::page::{ChannelView, NotificationsData, RuleView};

/// The most deliveries the page lists.
const SHOWN: i64 = 200;

pub async fn notifications() -> Result<NotificationsData, AppError> {
    let (state, who) = enter().await?;
    let (everywhere, _) = who.everywhere();
    let everything = everywhere == Some(Role::Admin);
    let me = who.me(everywhere);
    let watch = state.notify.as_ref().and_then(|n| n.watches.get(&state.place.key()));
    let Some(settings) = state.notify.as_ref().map(|n| n.settings.get()) else {
        return Ok(NotificationsData {
            enabled: false,
            poll_seconds: 0,
            channels: vec![],
            rules: vec![],
            deliveries: vec![],
            everything,
            me,
            watch: None,
            subscriptions: vec![],
            personal: Default::default(),
        });
    };
    let place = state.place.key();
    let user = &who.identity.user;
    // The reader's own subscriptions, everywhere (one list for the person); an admin sees everyone's.
    let subscriptions = state
        .access
        .db
        .subscriptions_of((!everything).then_some(user.as_str()), SHOWN)
        .await
        .map_err(AppError::Server)?
        .into_iter()
        .map(|s| {
            let own = s.owner == *user;
            s.view(own)
        })
        .collect();
    let personal = stepline_types::subscriptions::PersonalOptions {
        enabled: true,
        email: settings.personal.mail_channel.as_ref().and_then(|_| crate::notify::personal::email_of(user)),
        webhook_prefixes: settings.personal.webhook_prefixes.clone(),
        mine: vec![],
    };
    let mut deliveries = state.access.db.deliveries(Some(&place), SHOWN).await.map_err(AppError::Server)?;
    if !everything {
        // One question per pipeline, however many of its deliveries are listed.
        let mut readable: HashMap<String, bool> = HashMap::new();
        let mut kept = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            // A personal delivery is its owner's business (and an admin's).
            if d.owner.as_ref().is_some_and(|o| *o != who.identity.user) {
                continue;
            }
            let may = match readable.get(&d.pipeline) {
                Some(may) => *may,
                None => {
                    let may = who.role(&d.pipeline).await.is_some();
                    readable.insert(d.pipeline.clone(), may);
                    may
                }
            };
            if may {
                kept.push(d);
            }
        }
        deliveries = kept;
    }
    Ok(NotificationsData {
        enabled: true,
        poll_seconds: settings.poll_seconds,
        channels: settings
            .channels
            .values()
            .map(|c| ChannelView { name: c.name.clone(), kind: c.kind.to_string() })
            .collect(),
        rules: settings
            .rules
            .iter()
            .map(|r| RuleView {
                events: r.events.clone(),
                pipelines: r.patterns.clone(),
                channel: r.channel.clone(),
                long_running_minutes: r.long_running_minutes,
                long_running_times: r.long_running_times,
                quiet_hours: r.quiet.as_ref().map(|q| q.text.clone()),
                digest_minutes: r.digest_minutes,
            })
            .collect(),
        deliveries,
        everything,
        me,
        watch,
        subscriptions,
        personal,
    })
}

/// Send a test message to a channel now (operators and admins everywhere: it reaches people), on record.
pub async fn send_test(channel: &str) -> Result<(), AppError> {
    let (state, who) = enter().await?;
    let (role, _) = who.everywhere();
    if !matches!(role, Some(Role::Operator | Role::Admin)) {
        return Err(AppError::Forbidden(
            "Sending a test notification needs the operator role on every pipeline: ask an admin.".into(),
        ));
    }
    let notifier = state.notify.clone().ok_or_else(|| AppError::NotFound("Notifications are off.".into()))?;
    if !notifier.settings.get().channels.contains_key(channel) {
        return Err(AppError::Invalid(format!("There is no channel '{}'.", stepline_types::text::clip(channel, 60))));
    }
    let sent = notifier
        .test(state.access.db.clone(), channel, state.place.base)
        .await
        .map_err(|e| AppError::Server(format!("The test message to '{channel}' was not taken: {e}")));
    let detail = serde_json::json!({ "channel": channel });
    who.record(role, Action::Notify, None, None, sent.as_ref().map(|_| ()), detail).await?;
    sent
}
