//! `/inbox` for the person asking: what waits in every place (see `crate::inbox`), filtered by the policy.
//! A waiting callback is shown to whoever may read its pipeline and answerable by its operators; a pending
//! model version follows the registry's rule (`crate::registry_queries`): the registering pipeline's
//! readers see it, its operators decide, admins see and decide everything.

use std::sync::Arc;

use futures::future::join_all;
use stepline_types::error::AppError;
use stepline_types::inbox::{InboxPage, InboxPlace, PendingVersion, WaitingCallback};
use stepline_types::model::access::Role;

use crate::access::Who;
use crate::inbox::Waiting;
use crate::registry_queries::{is_admin, role_on};
use crate::stale::Known;
use crate::state::{enter, AppState};

/// Every place's waiting work the person may see, the page's own place first. Each place is read when
/// what is kept of it is older than `crate::inbox::FRESH`.
pub async fn inbox() -> Result<InboxPage, AppError> {
    let (state, who) = enter().await?;
    let places = state.everywhere.all(&state);
    let sections = join_all(places.iter().map(|p| {
        let who = who.clone().in_place(p.tag_source());
        async move {
            let read = p.inbox.read(&p.gateway, &p.watchers).await;
            section(p, &who, read).await
        }
    }))
    .await;
    let (everywhere, _) = who.everywhere();
    Ok(InboxPage { places: sections, me: who.me(everywhere) })
}

/// How many things wait for the person, from what is kept (`None` while nothing is known yet); never
/// waits for SageMaker: the top bar of every page shows it.
pub async fn count() -> Result<Option<usize>, AppError> {
    let (state, who) = enter().await?;
    let mut total = None;
    for p in state.everywhere.all(&state) {
        let Some(known) = p.inbox.peek(&p.gateway, &p.watchers) else { continue };
        let who = who.clone().in_place(p.tag_source());
        let mine = section(&p, &who, Ok(known)).await.count();
        total = Some(total.unwrap_or(0) + mine);
    }
    Ok(total)
}

/// One place's section: what of `read` the person may see.
async fn section(
    state: &AppState,
    who: &Who,
    read: Result<Known<Arc<Waiting>>, stepline_types::model::Upstream>,
) -> InboxPlace {
    let place = state.place.link();
    let known = match read {
        Ok(k) => k,
        Err(e) => {
            return InboxPlace {
                place,
                callbacks: vec![],
                versions: vec![],
                as_of: None,
                problem: Some(format!("SageMaker could not be read: {e}")),
            }
        }
    };
    let admin = is_admin(who);
    let mut callbacks = vec![];
    for c in &known.value.callbacks {
        if let Some(role) = who.role(&c.pipeline).await {
            callbacks.push(WaitingCallback { may_answer: role >= Role::Operator, ..c.clone() });
        }
    }
    let mut versions = vec![];
    for v in &known.value.versions {
        let Some(role) = role_on(who, admin, v).await else { continue };
        let registered_by = v.registered_by().map(|(p, id)| (state.gateway.echoed_name(&p).unwrap_or(p), id));
        versions.push(PendingVersion {
            version: v.summary.clone(),
            description: v.description.clone(),
            created_by: v.created_by.clone(),
            registered_by,
            may_decide: role >= Role::Operator,
        });
    }
    let mut problems: Vec<String> = known.value.problems.clone();
    if let Some(p) = &known.problem {
        problems.push(p.error.to_string());
    }
    InboxPlace {
        place,
        callbacks,
        versions,
        as_of: Some(known.as_of),
        problem: (!problems.is_empty()).then(|| problems.join(" ")),
    }
}
