//! Live streams outlive the request that opened them: the guard identified the person once, when the stream
//! opened. So every stream also ends when that no longer holds:
//! - at once, when the person's session is logged out (here or on another replica: `Access::logouts`);
//! - within `RECHECK`, when the session expires, or the policy (or a pipeline's tags) no longer lets them
//!   read the pipeline, or lowers their role below the one the stream was opened with (an operator's stream
//!   carries callback tokens a viewer may not see).
//!
//! The stream then says why in a last `revoked` event and closes; the browser's reconnection meets the guard
//! again, which answers as it answers any request of that person now.

use std::convert::Infallible;
use std::time::Duration;
use stepline_types::live::StreamEvent;

use axum::response::sse::Event;
use futures::stream::{Stream, StreamExt};

use super::access::Who;
use stepline_types::model::access::Role;

/// How often an open stream checks that its person may still see it.
pub const RECHECK: Duration = Duration::from_secs(5);

/// `inner`, for as long as `who` may read `pipeline` with at least the role `opened_as`.
pub fn guarded<S>(
    inner: S,
    who: Who,
    pipeline: String,
    opened_as: Role,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    async_stream::stream! {
        let mut inner = Box::pin(inner);
        let mut logouts = who.access().logouts();
        let mut tick = tokio::time::interval(RECHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mine = who.identity.login.as_ref().map(|s| s.digest.clone());
        loop {
            let check = tokio::select! {
                item = inner.next() => match item {
                    Some(event) => {
                        yield event;
                        continue;
                    }
                    None => break,
                },
                _ = tick.tick() => true,
                logout = logouts.recv() => match logout {
                    Ok(digest) => mine.as_deref() == Some(digest.as_str()),
                    // Missed some: check this one's own session.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => false,
                },
            };
            if !check {
                continue;
            }
            if let Err(why) = still_allowed(&who, &pipeline, opened_as).await {
                yield Ok(Event::default().event(StreamEvent::Revoked.name()).data(why));
                break;
            }
        }
    }
}

/// Why `who` may no longer follow `pipeline` with `opened_as`, if so.
async fn still_allowed(who: &Who, pipeline: &str, opened_as: Role) -> Result<(), &'static str> {
    who.access().session_holds(&who.identity)?;
    match who.role(pipeline).await {
        Some(r) if r >= opened_as => Ok(()),
        _ => Err("access-changed"),
    }
}
