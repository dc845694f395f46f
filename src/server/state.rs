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
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, gateway: Arc<Gateway>) -> AppState {
        AppState::with_bounds(leptos_options, gateway, Default::default())
    }

    /// With other cache bounds (tests of the bounds).
    pub fn with_bounds(leptos_options: LeptosOptions, gateway: Arc<Gateway>, bounds: super::watch::Bounds) -> AppState {
        let watchers = Watchers::with_bounds(gateway.clone(), bounds);
        AppState { leptos_options, gateway, watchers, streams: Default::default(), studio_link: None }
    }
}

/// The state inside a server function or during server rendering.
pub fn app_state() -> Result<AppState, crate::error::AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| crate::error::AppError::Server("server state is missing".into()))
}

/// The one door of every server function and page: the shared state, and who is asking.
pub async fn enter() -> Result<(AppState, super::identity::Identity), crate::error::AppError> {
    let who = super::identity::current().await;
    Ok((app_state()?, who))
}
