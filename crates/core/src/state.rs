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
    pub streams: Arc<super::streams::StreamSlots>,
    /// The template of links to executions in SageMaker Studio (`--studio-link`).
    pub studio_link: Option<String>,
    /// Who may do what, the activity log and sessions.
    pub access: Arc<super::access::Access>,
    /// The last readiness check (`/readyz`).
    pub ready: Arc<super::health::Readiness>,
    /// Steps' jobs and logs, shared by every viewer.
    pub books: Arc<super::step_books::StepBooks>,
    /// The account and region this state's gateway, pollers and pages are of (see `super::places`).
    pub place: Arc<super::places::Place>,
    /// The notification settings (`--notify`), for the notifications page.
    pub notify: Option<Arc<super::notify::Notifier>>,
    /// What waits for people here (callbacks, model versions), kept for every reader.
    pub inbox: Arc<super::inbox::Inbox>,
    /// Every place the router serves, this one among them (the inbox reads them all).
    pub everywhere: Everywhere,
    /// Instance prices for cost estimates, one book for every place.
    pub prices: Arc<super::prices::Prices>,
}

/// The places a router serves, as each of their states sees them: set once the router holds them all.
/// Weak, so the states do not keep each other alive in a cycle.
#[derive(Clone, Default)]
pub struct Everywhere(Arc<std::sync::OnceLock<std::sync::Weak<Vec<AppState>>>>);

impl Everywhere {
    /// Called by the router for each of its places.
    pub fn set(&self, places: &Places) {
        let _ = self.0.set(Arc::downgrade(places));
    }

    /// Every place, `here` first; `here` alone before the router was built (tests of one state).
    pub fn all(&self, here: &AppState) -> Vec<AppState> {
        let Some(places) = self.0.get().and_then(std::sync::Weak::upgrade) else { return vec![here.clone()] };
        let mut out = vec![here.clone()];
        out.extend(places.iter().filter(|p| p.place.base != here.place.base).cloned());
        out
    }
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
        let prices = super::prices::Prices::new(access.db.clone(), Default::default());
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
            notify: None,
            inbox: Default::default(),
            everywhere: Default::default(),
            prices: Arc::new(prices),
        }
    }

    /// Where the tags of this place's pipelines are asked, for grants that name tags.
    pub fn tag_source(&self) -> super::access::TagSource {
        super::access::TagSource { key: self.place.key(), source: self.gateway.clone() }
    }
}

/// The state inside a server function or during server rendering.
pub fn app_state() -> Result<AppState, stepline_types::error::AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| stepline_types::error::AppError::Server("server state is missing".into()))
}

/// The one door of every server function and page: the shared state, and who is asking (as the access
/// guard identified them; without that identity nothing is served).
pub async fn enter() -> Result<(AppState, super::access::Who), stepline_types::error::AppError> {
    let state = app_state()?;
    let who = super::access::Who::current(state.access.clone()).await?.in_place(state.tag_source());
    Ok((state, who))
}

/// The places a router serves, for the handlers that pick one by the request (see `super::places`).
pub type Places = std::sync::Arc<Vec<AppState>>;

/// Handlers outside Leptos (streams, exports) take `Who` as an extractor: a request without the guard's
/// identity is refused.
impl axum::extract::FromRequestParts<AppState> for super::access::Who {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<super::access::Who, axum::response::Response> {
        super::access::Who::from_parts(&parts.extensions, state.access.clone())
            .map(|w| w.in_place(state.tag_source()))
            .map_err(|e| super::access::plain(axum::http::StatusCode::UNAUTHORIZED, &e.to_string()))
    }
}

impl axum::extract::FromRef<AppState> for super::access::oidc::LoginSite {
    fn from_ref(state: &AppState) -> Self {
        super::access::oidc::LoginSite { access: state.access.clone(), leptos_options: state.leptos_options.clone() }
    }
}
