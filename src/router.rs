//! The axum router: Leptos pages, server functions, live streams and static files. Built by a function so
//! tests drive it with `tower::ServiceExt::oneshot` without opening a socket.

use axum::handler::Handler;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use stepline_types::base::unbased;

use crate::{events, health, step_streams};
use stepline_app::app::{shell, App};
use stepline_core::config::Config;
use stepline_core::state::AppState;
use stepline_core::state::Places;
use stepline_core::{access, assets, exports, observe};

/// Leptos settings: from cargo-leptos's environment when it launched us, else defaults that match
/// `[[workspace.metadata.leptos]]` so the binary also runs on its own.
pub fn leptos_options(config: &Config) -> Result<LeptosOptions, String> {
    let conf = get_configuration(None).map_err(|e| format!("leptos configuration: {e}"))?;
    let mut options = conf.leptos_options;
    options.site_addr = config.addr;
    stepline_core::assets::settle(&mut options)?;
    Ok(options)
}

/// The page routes' paths under a page base (`{base}/pipelines/{pipeline}`; the home page is the base itself).
///
/// Leptos makes the route list by rendering the app once with resource loading suppressed, and that
/// suppression is one flag for the whole process: a page whose data starts loading elsewhere in the process
/// meanwhile waits forever. So the list is made once, at the root, before the first router exists (no page
/// can be rendering yet), and every place's paths are that list under its base.
fn page_paths(base: &str) -> Vec<String> {
    static AT_ROOT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let at_root = AT_ROOT.get_or_init(|| {
        let (routes, _) = leptos_axum::generate_route_list_with_exclusions_and_ssg_and_context(App, None, || {
            provide_context(stepline_types::base::PageBase(""))
        });
        routes.iter().map(|r| r.path().to_string()).collect()
    });
    at_root.iter().map(|p| under_base(base, p)).collect()
}

/// A root path under a page base, as the app's `<Router base>` makes it.
fn under_base(base: &str, path: &str) -> String {
    match path {
        "/" if !base.is_empty() => base.to_string(),
        _ => format!("{base}{path}"),
    }
}

/// One place (see `stepline_core::places`): the router of tests and of a single account and region.
pub async fn build(state: AppState) -> Router {
    build_places(vec![state]).await
}

/// Every place's pages, server functions and streams under its page base, and what they share (probes,
/// metrics, login, exports, static files) under the root. `places` holds at least one.
pub async fn build_places(places: Vec<AppState>) -> Router {
    let places = std::sync::Arc::new(places);
    for state in places.iter() {
        state.everywhere.set(&places);
    }
    let first = places[0].clone();
    // Everything is served under the base path (see `stepline_types::base`): the pages' routes carry it already
    // (the app's `<Router base>`); the others are registered with it, and the server functions and static
    // files, which Leptos looks up by the path alone, are handed the request without it.
    let root = stepline_types::base::root();
    let at = |path: &str| format!("{root}{path}");
    let mut labels = Vec::new();
    let mut router: Router = Router::new()
        .route(&at("/healthz"), get(health::healthz))
        .route(&at("/readyz"), get(health::readyz).with_state(places.clone()))
        .route(&at("/metrics"), get(observe::prometheus::metrics).with_state(places.clone()))
        .route(&at("/auth/login"), get(access::oidc::login))
        .route(&at("/auth/callback"), get(access::oidc::callback))
        .route(&at("/auth/logout"), post(access::oidc::logout))
        .route(&at("/auth/logged-out"), get(access::oidc::logged_out))
        .route(&at("/activity.csv"), get(exports::csv).with_state(places.clone()))
        .route(&at("/activity.jsonl"), get(exports::json_lines).with_state(places.clone()))
        .route(&at("/costs.csv"), get(stepline_core::cost_export::csv).with_state(places.clone()))
        .with_state(first.clone());
    for state in places.iter() {
        let base = state.place.base;
        let pat = |path: &str| format!("{base}{path}");
        let routes = page_paths(base);
        labels.extend(routes.iter().map(|p| unbased(p).to_string()));
        let mut place = Router::new()
            .route(&pat("/events/pipelines/{pipeline}/executions"), get(events::list))
            .route(&pat("/events/pipelines/{pipeline}/executions/{id}"), get(events::execution))
            .route(&pat("/events/pipelines/{pipeline}/executions/{id}/steps/{step}/logs"), get(step_streams::tail))
            .route(&pat("/pipelines/{pipeline}/executions/{id}/steps/{step}/logs.txt"), get(step_streams::download))
            // Server functions are registered by name once for the process; each place answers them
            // under its own base, with its own state.
            .route(&pat("/api/{*name}"), get(server_fn_under_base).post(server_fn_under_base));
        // Every page renders whole before its first byte (`SsrMode::Async`, see `stepline_app::app`).
        let options = state.leptos_options.clone();
        let app = move || shell(options.clone());
        for path in &routes {
            let context = page_context(state.clone());
            let render = leptos_axum::render_app_async_with_context(
                move || {
                    provide_context(leptos_router::Method::Get);
                    context();
                },
                app.clone(),
            );
            place = place.route(path, get(render));
        }
        if !base.is_empty() {
            // The home page's address is the base itself; with a slash it is sent there.
            place = place.route(&pat("/"), get(move || async move { axum::response::Redirect::permanent(base) }));
        }
        router = router.merge(place.with_state(state.clone()));
    }
    // Several places: the root is the first's home (a pasted ARN there goes to its own, see below).
    if first.place.base != root {
        let home = first.place.base;
        let to_first = get(move || async move { axum::response::Redirect::temporary(home) });
        router = router.route(&at("/"), to_first.clone());
        if !root.is_empty() {
            router = router.route(root, to_first);
        }
    }
    let pages = observe::requests::Routes::new(labels);
    router = if root.is_empty() && first.place.base.is_empty() {
        router.fallback_service(
            leptos_axum::file_and_error_handler_with_context::<AppState, _>(page_context(first.clone()), shell)
                .with_state(first.clone()),
        )
    } else {
        router.fallback_service(file_or_error_under_base.with_state(places.clone()))
    };
    router
        // Content-hashed files are kept by browsers for a year (see `assets`).
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::<str>::from(first.leptos_options.site_pkg_dir.as_ref()),
            assets::caching,
        ))
        .layer(axum::middleware::from_fn_with_state(places.clone(), pasted_arn_redirect))
        // Before everything else: who is asking, from where, for which host (see `access`).
        .layer(axum::middleware::from_fn_with_state(first.access.clone(), access::guard))
        // Right outside it: one log line and the metrics of every request, refused ones too.
        .layer(axum::middleware::from_fn_with_state(pages, observe::requests::layer))
        // gzip or brotli for pages, JS, CSS and wasm; the default predicate leaves event streams alone.
        .layer(tower_http::compression::CompressionLayer::new())
}

/// The request with `base` taken off its URI, for the handlers that look up what to serve by the path
/// alone. `None` when the request is not under it.
fn without_base(mut req: axum::extract::Request, base: &str) -> Option<axum::extract::Request> {
    let path = stepline_types::base::strip_from(base, req.uri().path())?;
    let rest = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    *req.uri_mut() = rest.parse().ok()?;
    Some(req)
}

/// A server function under a page base (`/stepline/api/start`), answered as `/api/start` for its place.
async fn server_fn_under_base(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match without_base(req, state.place.base) {
        Some(req) => leptos_axum::handle_server_fns_with_context(page_context(state), req).await.into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// A static file or the not-found page, under the root; outside it, a plain 404. A path of a place this
/// Stepline does not show (a link shared from another deployment) says so.
async fn file_or_error_under_base(
    axum::extract::State(places): axum::extract::State<Places>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(req) = without_base(req, stepline_types::base::root()) else {
        return (axum::http::StatusCode::NOT_FOUND, "Not found: Stepline is served under its base path.")
            .into_response();
    };
    if !stepline_types::base::places().is_empty() {
        let path = req.uri().path();
        if let Some((place, _)) = stepline_types::base::split_place(path) {
            if !places.iter().any(|s| s.place.base.ends_with(place)) {
                // Which accounts are shown is told only to a person the guard identified.
                if req.extensions().get::<stepline_core::access::Identity>().is_none() {
                    return (axum::http::StatusCode::NOT_FOUND, "Not found.").into_response();
                }
                let (account, region) = place.trim_start_matches('/').split_once('/').unwrap_or_default();
                let why =
                    stepline_core::places::Unconfigured { account: Some(account.into()), region: Some(region.into()) };
                return unconfigured(&places, &why);
            }
        } else if path == "/activity" || path.starts_with("/pipelines/") {
            // A page's address without its place (a link from before several were shown): the same page
            // in each place, for the person to choose.
            let message = "This address names no account and region, and Stepline shows several: open it in one.";
            return not_here(&places, message, path);
        }
    }
    let first = places[0].clone();
    let uri = req.uri().clone();
    let serve = leptos_axum::file_and_error_handler_with_context::<AppState, _>(page_context(first.clone()), shell);
    serve(uri, axum::extract::State(first), req).await
}

/// The answer for an ARN or address of an account and region this Stepline does not show: 404, saying
/// which it does show, with links to them.
fn unconfigured(places: &Places, why: &stepline_core::places::Unconfigured) -> axum::response::Response {
    let shown: Vec<&stepline_core::places::Place> = places.iter().map(|s| s.place.as_ref()).collect();
    not_here(places, &why.message(&shown), "")
}

/// A 404 page of its own (outside the app: no place to render it in) saying `message`, with a link to
/// `path` in each place.
fn not_here(places: &Places, message: &str, path: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    use stepline_types::text::escape_html;
    let links: String = places
        .iter()
        .map(|s| {
            let to = stepline_types::base::href_in(s.place.base, if path.is_empty() { "/" } else { path });
            format!("<li><a href=\"{}\">{}</a></li>", escape_html(&to), escape_html(&s.place.link().label))
        })
        .collect();
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not shown here · Stepline</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem\">\
         <h1>Not shown here</h1><p data-testid=\"unconfigured\">{}</p><ul>{links}</ul></body></html>",
        escape_html(message)
    );
    (axum::http::StatusCode::NOT_FOUND, axum::response::Html(body)).into_response()
}

/// What every rendered page has in context: the shared state; and the page's Content-Security-Policy,
/// which names the per-request nonce Leptos gives the page's inline scripts.
fn page_context(state: AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        // Links, forms and the router's base are this place's (see `stepline_types::base`).
        provide_context(stepline_types::base::PageBase(state.place.base));
        provide_context(state.clone());
        if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
            if let Ok(v) = axum::http::HeaderValue::from_str(&access::csp(&nonce)) {
                res.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, v);
            }
        }
    }
}

/// A pipeline or execution ARN pasted into the search box of a home page is answered with a redirect to its
/// page, in its own account and region, before anything renders, so the search works without JavaScript
/// (with it, the page navigates itself). An ARN of an account and region not shown here says so. ARNs
/// carry pipeline names lower-cased: a page addressed by a name in another case than the pipeline's own is
/// redirected to the name as created (asked once when it is not known), so links and titles match.
async fn pasted_arn_redirect(
    axum::extract::State(places): axum::extract::State<Places>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header::LOCATION, HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    let Some(path) = stepline_types::base::strip_root(req.uri().path()).map(str::to_string) else {
        return next.run(req).await;
    };
    // The place the request is in (the first at the root), and the path inside it.
    let (state, inside) = match places.iter().find_map(|s| {
        let p = stepline_types::base::strip_from(s.place.base, req.uri().path())?;
        Some((s, p.to_string()))
    }) {
        Some(found) => found,
        None => (&places[0], path.clone()),
    };
    let who = req.extensions().get::<access::Identity>().cloned();
    let mut to = None;
    if inside == "/" {
        let query = axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(req.uri()).ok();
        if let Some(q) = query.and_then(|q| q.0.get("q").cloned()) {
            if stepline_app::pages::home::redirect_for(&q).is_some() {
                // Several execution ARNs of one pipeline open side by side, where the first is.
                let several = stepline_types::compare::pasted(&q);
                let arn = several.as_ref().map_or(q.trim(), |(first, _, _)| first.as_str());
                let target = match stepline_core::places::for_arn(&places, |s| &s.place, arn) {
                    Ok(target) => target,
                    // Not an ARN of any account (`…:1:pipeline/x`): with one place, its pipeline of that name.
                    Err(why) if why.account.is_none() && places.len() == 1 => &places[0],
                    Err(why) => return unconfigured(&places, &why),
                };
                let seg = stepline_types::model::links::seg;
                let (path, query) = match &several {
                    Some((_, pipeline, ids)) => {
                        let ids: Vec<String> = ids.iter().map(|id| format!("e={}", seg(id))).collect();
                        (format!("/pipelines/{}/compare", seg(pipeline)), format!("?{}", ids.join("&")))
                    }
                    None => (arn_path(arn), String::new()),
                };
                let pasted = stepline_types::base::href_in(target.place.base, &path);
                let page = with_echoed_name(target, who.as_ref(), &path, true).await.unwrap_or(pasted);
                to = Some(format!("{page}{query}"));
            }
        }
    } else if req.method() == axum::http::Method::GET {
        if let Some(canonical) = with_echoed_name(state, who.as_ref(), &inside, false).await {
            let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
            to = Some(format!("{canonical}{query}"));
        }
    }
    if let Some(location) = to.and_then(|to| HeaderValue::from_str(&to).ok()) {
        return (StatusCode::FOUND, [(LOCATION, location)]).into_response();
    }
    next.run(req).await
}

/// The app path of a pipeline or execution ARN (empty for anything else).
fn arn_path(arn: &str) -> String {
    match stepline_types::model::classify(arn) {
        stepline_types::model::Lookup::Execution { pipeline, id } => {
            format!(
                "/pipelines/{}/executions/{}",
                stepline_types::model::links::seg(&pipeline),
                stepline_types::model::links::seg(&id)
            )
        }
        stepline_types::model::Lookup::Pipeline(p) => {
            format!("/pipelines/{}", stepline_types::model::links::seg(&p))
        }
        stepline_types::model::Lookup::Search(_) => String::new(),
    }
}

/// `path` (`/pipelines/{name}…`) with the pipeline's name as created, when that differs from the one in
/// the path, under the place's base. Only from what the gateway knows, unless `ask` (a pasted ARN: one
/// DescribePipeline).
async fn with_echoed_name(state: &AppState, who: Option<&access::Identity>, path: &str, ask: bool) -> Option<String> {
    let rest = path.strip_prefix("/pipelines/")?;
    let (name, tail) = rest.split_once('/').map_or((rest, ""), |(n, t)| (n, t));
    if !stepline_types::model::links::valid_name(name) {
        return None;
    }
    // A pipeline the person may not read is not even told apart from one that does not exist.
    state.access.role(who?, name, Some(&state.tag_source())).await?;
    let mut echoed = state.gateway.echoed_name(name);
    if echoed.is_none() && ask {
        echoed = state.watchers.pipeline(name).await.ok().map(|k| k.value.summary.name);
    }
    let echoed = echoed.filter(|e| e != name)?;
    let tail = if tail.is_empty() { String::new() } else { format!("/{tail}") };
    Some(stepline_types::base::href_in(
        state.place.base,
        &format!("/pipelines/{}{tail}", stepline_types::model::links::seg(&echoed)),
    ))
}
