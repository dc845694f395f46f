//! The guard every request passes: host, cross-site posts, identity, then the security headers.

use super::headers::security_headers;
use super::*;

/// Paths served to anyone: health, metrics (no names or ids in them), the login itself, and static files
/// (nothing in them is private).
pub(super) fn public_path(path: &str) -> bool {
    path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
        || path.starts_with("/auth/")
        || path.starts_with("/pkg/")
        || path == "/favicon.svg"
        || path == "/robots.txt"
}

/// The guard every request passes (see the module's comment).
pub async fn guard(State(access): State<Arc<Access>>, mut req: Request, next: Next) -> Response {
    let request_id = crate::store::random_token(8);
    let nonce = crate::store::random_token(16);
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_string);
    // Probes and scrapes name the pod by its address (a kubelet, a load balancer's health check,
    // Prometheus): they answer for any host, since nothing in them is worth a DNS-rebinding page's while.
    // Paths as the app knows them, without the base path (see `stepline_types::base`).
    let path = stepline_types::base::unbased(req.uri().path()).to_string();
    let probe = matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics");
    let host_ok = probe || access.site.host_allowed(host.as_deref().or(req.uri().authority().map(|a| a.as_str())));
    let mut res = if !host_ok {
        plain(
            StatusCode::MISDIRECTED_REQUEST,
            "This server does not answer for that host name. Open Stepline at its own address.",
        )
    } else {
        req.extensions_mut().insert(RequestId(request_id.clone()));
        if public_path(&path) {
            next.run(req).await
        } else {
            let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
            match identify(&access, req.headers(), peer).await {
                Ok(Some(identity)) => {
                    // Left on the answer too, for the request's log line (`observe::requests`).
                    let asking = identity.clone();
                    let mut res = if let Err(why) = access.site.origin_allowed(req.method(), req.headers()) {
                        deny_cross_site(&access, &identity, &request_id, &path, why).await
                    } else {
                        req.extensions_mut().insert(identity);
                        next.run(req).await
                    };
                    res.extensions_mut().insert(asking);
                    res
                }
                Ok(None) => login_needed(&access, &req),
                Err(why) => plain(StatusCode::UNAUTHORIZED, &why),
            }
        }
    };
    security_headers(res.headers_mut(), &nonce, &request_id);
    res
}

/// The identity of a request, `None` when it has none (log in first), or why it was refused.
pub(super) async fn identify(
    access: &Access,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Result<Option<Identity>, String> {
    match access.mode {
        AuthMode::None => Ok(Some(Identity::anonymous())),
        AuthMode::Proxy => match &access.proxy {
            Some(p) => p.identify(headers, peer).await.map(Some),
            None => Err("the proxy's identity cannot be verified".into()),
        },
        AuthMode::Oidc => {
            let Some(id) = oidc::session_cookie(headers, access.secure_cookies) else { return Ok(None) };
            // Keyed by the id itself: this map never leaves the process (the database keeps only digests).
            if let Some(who) = access.sessions.get(&id) {
                return Ok(Some(who));
            }
            match access.db.session_until(&id).await {
                Ok(Some((s, expires_ms))) => {
                    let mut who = Identity::person(s.user, s.groups, true);
                    who.login = Some(SessionRef { digest: crate::store::digest(&id), expires_ms });
                    access.sessions.insert(id, who.clone());
                    Ok(Some(who))
                }
                Ok(None) => Ok(None),
                Err(e) => Err(format!("Sessions cannot be read right now ({e}); try again in a moment.")),
            }
        }
    }
}

/// Not logged in: a page opened in the browser goes to the login and comes back; anything else is told.
pub(super) fn login_needed(access: &Access, req: &Request) -> Response {
    let page = req.method() == Method::GET
        && req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if access.mode == AuthMode::Oidc && page {
        let back = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let to = stepline_types::base::href(&format!("/auth/login?next={}", stepline_types::model::links::seg(back)));
        return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
    }
    plain(StatusCode::UNAUTHORIZED, "Log in first: open Stepline in the browser and log in, then try again.")
}

pub(super) async fn deny_cross_site(
    access: &Access,
    who: &Identity,
    request_id: &str,
    path: &str,
    why: &str,
) -> Response {
    let pipeline = path.strip_prefix("/pipelines/").map(|p| p.split('/').next().unwrap_or_default());
    let _ = access
        .record(Record {
            place: None,
            user: &who.user,
            role: None,
            action: action_of_path(path),
            outcome: Outcome::Denied,
            pipeline,
            execution_arn: None,
            request_id,
            error_code: Some("CrossSite"),
            detail: serde_json::json!({ "path": stepline_types::text::clip(path, 200) }),
        })
        .await;
    plain(StatusCode::FORBIDDEN, &format!("Refused: {why}. Nothing was done."))
}

/// The action a refused post would have been, by its server function's path.
pub(super) fn action_of_path(path: &str) -> Action {
    match path.rsplit('/').next().unwrap_or_default() {
        p if p.starts_with("stop") => Action::Stop,
        p if p.starts_with("retry") => Action::Retry,
        p if p.starts_with("callback") => Action::Approve,
        p if p.starts_with("logout") => Action::Logout,
        _ => Action::Start,
    }
}
