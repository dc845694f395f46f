//! One log line and the metrics of every request, from a layer just outside the access guard: it sees the
//! route the router matched, the answer, the request id the guard gave it (the `x-request-id` header) and
//! who the guard found was asking (the [`Identity`] it leaves on the response). Requests the guard refuses
//! are counted too.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::record::millis;
use super::{HTTP_DURATION, HTTP_REQUESTS};
use crate::access::Identity;

/// What a route serves, for the latency histograms (its label: `page`, `server_fn`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Kind {
    /// A server-rendered page (a Leptos route).
    Page,
    /// A server function (`/api/…`).
    ServerFn,
    /// A live stream (`/events/…`): its latency is the time to its first bytes.
    Stream,
    /// What no route matched: static files and the not-found page.
    Static,
    /// Health, metrics, the login, exports.
    Other,
}

impl Kind {
    pub fn label(self) -> &'static str {
        self.into()
    }
}

/// A registered server function's path (`/api/execution`), as a label.
fn server_fn_label(path: &str) -> Option<&'static str> {
    static PATHS: std::sync::OnceLock<HashSet<&'static str>> = std::sync::OnceLock::new();
    PATHS.get_or_init(|| leptos::server_fn::axum::server_fn_paths().map(|(p, _)| p).collect()).get(path).copied()
}

/// The route label of requests no route matched.
pub const FALLBACK: &str = "(fallback)";

/// The pages' route templates, to tell pages from everything else the router serves.
#[derive(Clone, Default)]
pub struct Routes {
    pages: Arc<HashSet<String>>,
}

impl Routes {
    pub fn new(pages: impl IntoIterator<Item = String>) -> Routes {
        Routes { pages: Arc::new(pages.into_iter().collect()) }
    }

    /// A request's route label and kind, from the template the router matched (none: the fallback). Server
    /// functions are all answered by one route per place (`/api/{*name}`): they are labelled by their own
    /// path when it is one that is registered, so labels stay few whatever is asked.
    pub fn classify<'a>(&self, matched: Option<&'a str>, path: &str) -> (&'a str, Kind) {
        if matched.map(stepline_types::base::unbased) == Some("/api/{*name}") {
            return (server_fn_label(stepline_types::base::unbased(path)).unwrap_or("/api/{*name}"), Kind::ServerFn);
        }
        match matched.map(stepline_types::base::unbased) {
            None => (FALLBACK, Kind::Static),
            Some(t) if self.pages.contains(t) => (t, Kind::Page),
            Some(t) if t.starts_with("/api/") => (t, Kind::ServerFn),
            Some(t) if t.starts_with("/events/") => (t, Kind::Stream),
            Some(t) => (t, Kind::Other),
        }
    }
}

/// A request answered, as its log line and metrics say it. Only these fields are ever logged.
#[derive(Debug)]
pub struct Line<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub kind: Kind,
    pub status: u16,
    pub took: Duration,
    pub user: &'a str,
    pub request_id: &'a str,
    /// The path of a request no route matched (a static file, a mistyped address), without its query.
    pub path: Option<&'a str>,
}

impl Line<'_> {
    pub fn emit(&self) {
        let latency_ms = millis(self.took);
        let Line { method, route, status, user, request_id, .. } = *self;
        match self.path {
            None => {
                tracing::info!(target: "stepline::request", method, route, status, latency_ms, user, request_id, "request")
            }
            Some(path) => {
                tracing::info!(target: "stepline::request", method, route, path, status, latency_ms, user, request_id, "request")
            }
        }
        let kind = self.kind.label();
        let route = metrics::SharedString::from_shared(Arc::<str>::from(route));
        metrics::counter!(HTTP_REQUESTS, "kind" => kind, "route" => route.clone(), "method" => method_label(method),
            "status" => status.to_string())
        .increment(1);
        metrics::histogram!(HTTP_DURATION, "kind" => kind, "route" => route).record(self.took.as_secs_f64());
    }
}

/// A method as a label: any client may send any method token, and a label must not grow without bound.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The layer (`axum::middleware::from_fn_with_state`), placed just outside the access guard.
pub async fn layer(State(routes): State<Routes>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let full_path = req.uri().path().to_string();
    let path = matched.is_none().then(|| stepline_types::text::clip(&full_path, 200));
    let res = next.run(req).await;
    let (route, kind) = routes.classify(matched.as_ref().map(MatchedPath::as_str), &full_path);
    Line {
        method: method.as_str(),
        route,
        kind,
        status: res.status().as_u16(),
        took: start.elapsed(),
        user: res.extensions().get::<Identity>().map_or("-", |i| i.user.as_str()),
        request_id: res.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-"),
        path: path.as_deref(),
    }
    .emit();
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_labelled_by_template_and_kind() {
        let r = Routes::new(["/".to_string(), "/pipelines/{pipeline}".to_string()]);
        assert_eq!(r.classify(Some("/pipelines/{pipeline}"), "/pipelines/x"), ("/pipelines/{pipeline}", Kind::Page));
        assert_eq!(r.classify(Some("/"), "/"), ("/", Kind::Page));
        // A name no server function has does not make a label of its own. (A registered one's own label is
        // checked through the router in tests/observe.rs: the server functions are in stepline-app, above.)
        assert_eq!(r.classify(Some("/api/{*name}"), "/api/no-such-thing"), ("/api/{*name}", Kind::ServerFn));
        assert_eq!(
            r.classify(Some("/events/pipelines/{pipeline}/executions"), "/events/pipelines/x/executions"),
            ("/events/pipelines/{pipeline}/executions", Kind::Stream)
        );
        assert_eq!(r.classify(Some("/healthz"), "/healthz"), ("/healthz", Kind::Other));
        assert_eq!(r.classify(None, "/x.css"), (FALLBACK, Kind::Static));
    }

    #[test]
    fn methods_beyond_the_usual_ones_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("PROPFIND"), "other");
        assert_eq!(method_label("get"), "other");
    }
}
