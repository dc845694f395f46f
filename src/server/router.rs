//! The axum router: Leptos pages, server functions, live streams and static files. Built by a function so
//! tests drive it with `tower::ServiceExt::oneshot` without opening a socket.

use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

use super::config::Config;
use super::state::AppState;
use super::{access, assets, events, exports, health, observe, step_views};
use crate::app::{shell, App};

/// Leptos settings: from cargo-leptos's environment when it launched us, else defaults that match
/// `[package.metadata.leptos]` so the binary also runs on its own.
pub fn leptos_options(config: &Config) -> Result<LeptosOptions, String> {
    let conf = get_configuration(None).map_err(|e| format!("leptos configuration: {e}"))?;
    let mut options = conf.leptos_options;
    options.site_addr = config.addr;
    super::assets::settle(&mut options)?;
    Ok(options)
}

pub async fn build(state: AppState) -> Router {
    let routes = generate_route_list(App);
    // Route labels in logs and metrics are the same under any base path.
    let pages = observe::requests::Routes::new(routes.iter().map(|r| unbased(r.path()).to_string()));
    // Everything is served under the base path (see `crate::base`): the pages' routes carry it already
    // (the app's `<Router base>`); the others are registered with it, and the server functions and static
    // files, which Leptos looks up by the path alone, are handed the request without it.
    let base = crate::base::get();
    let at = |path: &str| format!("{base}{path}");
    let mut router = Router::new()
        .route(&at("/events/pipelines/{pipeline}/executions"), get(events::list))
        .route(&at("/events/pipelines/{pipeline}/executions/{id}"), get(events::execution))
        .route(&at("/events/pipelines/{pipeline}/executions/{id}/steps/{step}/logs"), get(step_views::tail))
        .route(&at("/pipelines/{pipeline}/executions/{id}/steps/{step}/logs.txt"), get(step_views::download))
        .route(&at("/healthz"), get(health::healthz))
        .route(&at("/readyz"), get(health::readyz))
        .route(&at("/metrics"), get(observe::prometheus::metrics))
        .route(&at("/auth/login"), get(access::oidc::login))
        .route(&at("/auth/callback"), get(access::oidc::callback))
        .route(&at("/auth/logout"), post(access::oidc::logout))
        .route(&at("/auth/logged-out"), get(access::oidc::logged_out))
        .route(&at("/activity.csv"), get(exports::csv))
        .route(&at("/activity.jsonl"), get(exports::json_lines))
        .leptos_routes_with_context(&state, routes, page_context(state.clone()), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        });
    if base.is_empty() {
        router = router.fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            page_context(state.clone()),
            shell,
        ));
    } else {
        router = router
            .route(&at("/api/{*name}"), get(server_fn_under_base).post(server_fn_under_base))
            // The home page's address is the base itself; with a slash it is sent there.
            .route(&at("/"), get(move || async move { axum::response::Redirect::permanent(base) }))
            .fallback(file_or_error_under_base);
    }
    router
        // Content-hashed files are kept by browsers for a year (see `assets`).
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::<str>::from(state.leptos_options.site_pkg_dir.as_ref()),
            assets::caching,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), pasted_arn_redirect))
        // Before everything else: who is asking, from where, for which host (see `access`).
        .layer(axum::middleware::from_fn_with_state(state.access.clone(), access::guard))
        // Right outside it: one log line and the metrics of every request, refused ones too.
        .layer(axum::middleware::from_fn_with_state(pages, observe::requests::layer))
        // gzip or brotli for pages, JS, CSS and wasm; the default predicate leaves event streams alone.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// A path (a request's, a route's) without the base path; as it is when outside it.
pub fn unbased(path: &str) -> &str {
    crate::base::strip(path).unwrap_or(path)
}

/// The request with the base path taken off its URI, for the handlers that look up what to serve by the
/// path alone. `None` when the request is not under the base.
fn without_base(mut req: axum::extract::Request) -> Option<axum::extract::Request> {
    let path = crate::base::strip(req.uri().path())?;
    let rest = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    *req.uri_mut() = rest.parse().ok()?;
    Some(req)
}

/// A server function under the base path (`/stepline/api/start`), answered as `/api/start`.
async fn server_fn_under_base(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match without_base(req) {
        Some(req) => leptos_axum::handle_server_fns_with_context(page_context(state), req).await.into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// A static file or the not-found page, under the base path; outside it, a plain 404.
async fn file_or_error_under_base(
    state: axum::extract::State<AppState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(req) = without_base(req) else {
        return (axum::http::StatusCode::NOT_FOUND, "Not found: Stepline is served under its base path.")
            .into_response();
    };
    let uri = req.uri().clone();
    let serve = leptos_axum::file_and_error_handler_with_context::<AppState, _>(page_context(state.0.clone()), shell);
    serve(uri, state, req).await
}

/// What every rendered page has in context: the shared state; and the page's Content-Security-Policy,
/// which names the per-request nonce Leptos gives the page's inline scripts.
fn page_context(state: AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(state.clone());
        if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
            if let Ok(v) = axum::http::HeaderValue::from_str(&access::csp(&nonce)) {
                res.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, v);
            }
        }
    }
}

/// A pipeline or execution ARN pasted into the search box of `/` is answered with a redirect to its page
/// before anything renders, so the search works without JavaScript (with it, the page navigates itself).
/// ARNs carry pipeline names lower-cased: a page addressed by a name in another case than the pipeline's
/// own is redirected to the name as created (asked once when it is not known), so links and titles match.
async fn pasted_arn_redirect(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header::LOCATION, HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    let Some(path) = crate::base::strip(req.uri().path()).map(str::to_string) else {
        return next.run(req).await;
    };
    let who = req.extensions().get::<access::Identity>().cloned();
    let mut to = None;
    if path == "/" {
        let query = axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(req.uri()).ok();
        to = query.and_then(|q| q.0.get("q").and_then(|q| crate::pages::home::redirect_for(q)));
        if let Some(pasted) = to.clone() {
            to = Some(with_echoed_name(&state, who.as_ref(), unbased(&pasted), true).await.unwrap_or(pasted));
        }
    } else if req.method() == axum::http::Method::GET {
        if let Some(canonical) = with_echoed_name(&state, who.as_ref(), &path, false).await {
            let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
            to = Some(format!("{canonical}{query}"));
        }
    }
    if let Some(location) = to.and_then(|to| HeaderValue::from_str(&to).ok()) {
        return (StatusCode::FOUND, [(LOCATION, location)]).into_response();
    }
    next.run(req).await
}

/// `path` (`/pipelines/{name}…`) with the pipeline's name as created, when that differs from the one in
/// the path. Only from what the gateway knows, unless `ask` (a pasted ARN: one DescribePipeline).
async fn with_echoed_name(state: &AppState, who: Option<&access::Identity>, path: &str, ask: bool) -> Option<String> {
    let rest = path.strip_prefix("/pipelines/")?;
    let (name, tail) = rest.split_once('/').map_or((rest, ""), |(n, t)| (n, t));
    if !super::events::valid_name(name) {
        return None;
    }
    // A pipeline the person may not read is not even told apart from one that does not exist.
    state.access.role(who?, name).await?;
    let mut echoed = state.gateway.echoed_name(name);
    if echoed.is_none() && ask {
        echoed = state.watchers.pipeline(name).await.ok().map(|k| k.value.summary.name);
    }
    let echoed = echoed.filter(|e| e != name)?;
    let tail = if tail.is_empty() { String::new() } else { format!("/{tail}") };
    Some(format!("{}{tail}", crate::model::links::pipeline(&echoed)))
}
