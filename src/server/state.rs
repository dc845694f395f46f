//! The state every handler and server function shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use super::gateway::Gateway;
use super::watch::Watchers;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub gateway: Arc<Gateway>,
    pub watchers: Arc<Watchers>,
    /// Open live streams, in all and by client.
    pub streams: Arc<super::events::StreamSlots>,
    /// The template of links to executions in SageMaker Studio (`--studio-link`).
    pub studio_link: Option<String>,
    /// Who may do what, the activity log and sessions.
    pub access: Arc<super::access::Access>,
    /// The last readiness check (`/readyz`).
    pub ready: Arc<super::health::Readiness>,
    /// Steps' jobs and logs, shared by every viewer.
    pub books: Arc<super::step_views::StepBooks>,
    /// The account and region this state's gateway, pollers and pages are of (see `super::places`).
    pub place: Arc<super::places::Place>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Without login (everyone operates everything), the activity log in memory: tests and benchmarks.
    pub async fn new(leptos_options: LeptosOptions, gateway: Arc<Gateway>) -> AppState {
        AppState::with_bounds(leptos_options, gateway, Default::default()).await
    }

    /// With other cache bounds (tests of the bounds).
    pub async fn with_bounds(
        leptos_options: LeptosOptions,
        gateway: Arc<Gateway>,
        bounds: super::watch::Bounds,
    ) -> AppState {
        let db = super::store::Db::memory().await.expect("an in-memory SQLite database opens");
        let access = super::access::Access::local(db);
        AppState::with_access(leptos_options, gateway, Arc::new(access), bounds)
    }

    pub fn with_access(
        leptos_options: LeptosOptions,
        gateway: Arc<Gateway>,
        access: Arc<super::access::Access>,
        bounds: super::watch::Bounds,
    ) -> AppState {
        let watchers = Watchers::with_bounds(gateway.clone(), bounds);
        let place = super::places::Place::single(gateway.backend.clone(), None, "");
        AppState {
            leptos_options,
            gateway,
            watchers,
            streams: Default::default(),
            studio_link: None,
            access,
            ready: Default::default(),
            books: Default::default(),
            place: Arc::new(place),
        }
    }

    /// Where the tags of this place's pipelines are asked, for grants that name tags.
    pub fn tag_source(&self) -> super::access::TagSource {
        super::access::TagSource { key: self.place.key(), source: self.gateway.clone() }
    }
}

/// The state inside a server function or during server rendering.
pub fn app_state() -> Result<AppState, crate::error::AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| crate::error::AppError::Server("server state is missing".into()))
}

/// The one door of every server function and page: the shared state, and who is asking (as the access
/// guard identified them; without that identity nothing is served).
pub async fn enter() -> Result<(AppState, super::access::Who), crate::error::AppError> {
    let state = app_state()?;
    let who = super::access::Who::current(state.access.clone()).await?.in_place(state.tag_source());
    Ok((state, who))
}
