//! The built-in OpenID Connect login: authorization code with PKCE and a nonce, against any provider
//! (Okta, Entra ID, Google, Cognito, Keycloak). `/auth/login?next=…` leaves for the provider, which comes
//! back to `/auth/callback`; the ID token is verified (issuer, audience, signature, expiry, nonce), a
//! server-side session is made and its id set in an HttpOnly cookie, and the browser returns where it
//! was going. `/auth/logout` (a form post) ends the session.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

use super::claims::{clean, user_from_claims, UserClaim};
use super::login_state;
use super::{Access, RequestId};
use crate::config::OidcConfig;
use crate::http_url::HttpUrl;
use crate::store::Record;
use crate::store::{LoginState, SessionUser};
use stepline_types::model::activity::{Action, Outcome};

/// The session cookie. `__Host-` over https: only this host, path `/`, `Secure` (browsers enforce it).
/// What the login pages need of the server's state (taken from it by `FromRef`, see `crate::state`).
#[derive(Clone)]
pub struct LoginSite {
    pub access: Arc<Access>,
    pub leptos_options: leptos::prelude::LeptosOptions,
}

const COOKIE: &str = "stepline_session";
const COOKIE_SECURE: &str = "__Host-stepline_session";

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

pub struct Oidc {
    client: Client,
    http: reqwest::Client,
    groups_claim: String,
    user_claim: UserClaim,
}

impl Oidc {
    /// Read the provider's discovery document (at start: a wrong issuer is found at once).
    pub async fn discover(
        config: &OidcConfig,
        user_claim: &UserClaim,
        public_url: Option<&HttpUrl>,
    ) -> Result<Oidc, String> {
        let public_url = public_url.ok_or("--auth oidc needs --public-url URL")?;
        let http = reqwest::Client::builder()
            // Following redirects would open the door to SSRF through the provider's answers.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("the HTTP client for the login: {e}"))?;
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| format!("--oidc-issuer: {e}"))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| format!("--oidc-issuer {}: the provider's discovery document: {e}", config.issuer))?;
        let redirect =
            RedirectUrl::new(format!("{public_url}/auth/callback")).map_err(|e| format!("--public-url: {e}"))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        Ok(Oidc { client, http, groups_claim: config.groups_claim.clone(), user_claim: user_claim.clone() })
    }
}

/// The request's cookies, as (name, value) pairs.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
}

/// The session id from the request's cookie, if any. Over https only the `__Host-` cookie counts: a plain
/// one can be planted by a sibling subdomain (`Domain=.example.com`) or over http, and would fix the session.
pub fn session_cookie(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name_for(secure);
    cookies(headers)
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
}

fn cookie_name_for(secure: bool) -> &'static str {
    if secure {
        COOKIE_SECURE
    } else {
        COOKIE
    }
}

fn cookie_name(access: &Access) -> &'static str {
    cookie_name_for(access.secure_cookies)
}

fn set_cookie(access: &Access, value: &str, max_age: i64) -> HeaderValue {
    let secure = if access.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        // `Path=/` under any base path: a `__Host-` cookie must have it (and a path is no boundary anyway).
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(access)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Where to return after login: a path of this site, under its base path, never another host. The address
/// is read as a browser reads it (the WHATWG URL parser: tabs and newlines dropped, `\\` as `/`, percent
/// escapes kept) relative to this site, and sent back as the parser wrote it, so what is checked is what the
/// browser follows. Anything else, or one longer than the login cookie keeps, returns to the home page.
pub fn safe_return(next: Option<&str>) -> String {
    let home = stepline_types::base::href("/");
    let Some(next) = next.filter(|n| n.starts_with('/') && n.len() <= login_state::MAX_RETURN) else {
        return home;
    };
    let Ok(site) = url::Url::parse("http://stepline.invalid/") else { return home };
    let Ok(target) = site.join(next) else { return home };
    let base = stepline_types::base::get();
    let under_base = base.is_empty()
        || target.path() == base
        || target.path().strip_prefix(base).is_some_and(|rest| rest.starts_with('/'));
    if target.origin() != site.origin() || !under_base {
        return home;
    }
    target[url::Position::BeforePath..].to_string()
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `/auth/login`: leave for the provider with a fresh state, nonce and PKCE challenge.
pub async fn login(State(state): State<LoginSite>, Query(q): Query<LoginQuery>) -> Response {
    let access = state.access.clone();
    let Some(oidc) = &access.oidc else {
        return (StatusCode::NOT_FOUND, "This Stepline has no login of its own.").into_response();
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = oidc
        .client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let login = LoginState {
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        return_to: safe_return(q.next.as_deref()),
    };
    // Nothing is written anywhere: the login under way is the signed cookie (see `login_state`). It binds the
    // login to this browser: an answer carrying a state made in another browser (an attacker's own login,
    // replayed to log the victim into the attacker's account) is refused.
    let sealed = access.login_seal.seal(csrf.secret(), &login, now_ms() + login_state::LOGIN_SECONDS * 1000);
    let mut res = (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response();
    res.headers_mut().append(header::SET_COOKIE, login_cookie(&access, &sealed, login_state::LOGIN_SECONDS));
    res
}

const LOGIN_COOKIE: &str = "stepline_login";

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn login_cookie(access: &Access, value: &str, max_age: i64) -> HeaderValue {
    let secure = if access.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={value}; Path={}/auth/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        stepline_types::base::get()
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The login under way that this browser started with `state`, once: a replayed answer finds it used.
fn take_login(access: &Access, headers: &HeaderMap, state: &str) -> Result<LoginState, String> {
    let cookie = cookies(headers).find(|(k, _)| *k == LOGIN_COOKIE).map(|(_, v)| v);
    let login = access.login_seal.open(cookie, state, now_ms()).map_err(|e| e.message().to_string())?;
    let used = crate::store::digest(state);
    if access.used_logins.contains_key(&used) {
        return Err("This login was already used; start again.".into());
    }
    access.used_logins.insert(used, ());
    Ok(login)
}

#[derive(serde::Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `/auth/callback`: check the answer against the login under way, verify the ID token, open a session.
pub async fn callback(
    State(state): State<LoginSite>,
    axum::Extension(request_id): axum::Extension<RequestId>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let access = state.access.clone();
    match finish_login(&access, &headers, &q).await {
        Ok((who, return_to)) => {
            let session = match access.db.create_session(&who, access.session_hours).await {
                Ok(id) => id,
                Err(e) => return failed_login(&state, &format!("{e}; try again in a moment.")),
            };
            let _ = access
                .record(Record {
                    place: None,
                    user: &who.user,
                    role: None,
                    action: Action::Login,
                    outcome: Outcome::Done,
                    pipeline: None,
                    execution_arn: None,
                    request_id: &request_id.0,
                    error_code: None,
                    detail: serde_json::json!({ "groups": who.groups }),
                })
                .await;
            let mut res = (StatusCode::FOUND, [(header::LOCATION, return_to)]).into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, set_cookie(&access, &session, i64::from(access.session_hours) * 3600));
            res.headers_mut().append(header::SET_COOKIE, login_cookie(&access, "", 0));
            res
        }
        Err(why) => failed_login(&state, &why),
    }
}

async fn finish_login(
    access: &Access,
    headers: &HeaderMap,
    q: &CallbackQuery,
) -> Result<(SessionUser, String), String> {
    let oidc = access.oidc.as_ref().ok_or("This Stepline has no login of its own.")?;
    if let Some(e) = &q.error {
        let detail = q.error_description.as_deref().unwrap_or_default();
        return Err(format!(
            "The identity provider refused the login: {} {}",
            stepline_types::text::clip(e, 100),
            stepline_types::text::clip(detail, 300)
        ));
    }
    let (Some(code), Some(csrf)) = (&q.code, &q.state) else {
        return Err("The identity provider's answer has no code or state.".into());
    };
    // Started in this browser, unexpired, and good once: a replayed or forged answer is refused.
    let login = take_login(access, headers, csrf)?;
    let token = oidc
        .client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .map_err(|e| format!("The provider has no token endpoint: {e}"))?
        .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()))
        .request_async(&oidc.http)
        .await
        .map_err(|e| format!("The provider did not accept the login code: {e}"))?;
    let id_token = token.id_token().ok_or("The provider answered without an ID token.")?;
    let verifier = oidc.client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &Nonce::new(login.nonce.clone()))
        .map_err(|e| format!("The ID token does not verify: {e}"))?;
    // The token has verified (signature, issuer, audience, nonce, expiry): its payload is read from the same
    // bytes for the claims the provider names as it likes (the groups) and the one chosen as the user's name.
    let payload = payload_of(&id_token.to_string());
    let subject = serde_json::json!(claims.subject().as_str());
    let payload = match payload {
        serde_json::Value::Object(mut m) => {
            m.insert("sub".into(), subject);
            serde_json::Value::Object(m)
        }
        _ => serde_json::json!({ "sub": subject }),
    };
    let user = user_from_claims(&payload, &oidc.user_claim).ok_or("The ID token names no user.")?;
    let groups = groups_of(&payload, &oidc.groups_claim);
    Ok((SessionUser { user, groups }, login.return_to))
}

/// A (verified) JWT's payload as JSON; null when it cannot be read.
fn payload_of(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// The groups claim of a token's payload: an array of strings, or one comma-separated string.
fn groups_of(value: &serde_json::Value, claim: &str) -> Vec<String> {
    match value.get(claim) {
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|g| g.as_str()).map(clean).take(256).collect(),
        Some(serde_json::Value::String(s)) => s.split(',').map(clean).filter(|g| !g.is_empty()).collect(),
        _ => vec![],
    }
}

fn failed_login(state: &LoginSite, why: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Login failed · Stepline</title>\
         <link rel=\"stylesheet\" href=\"{}\"></head><body><main class=\"content\"><h1>Login failed</h1>\
         <p class=\"error-message\" data-testid=\"login-error\">{}</p><p><a href=\"{}\">Log in again</a></p>\
         </main></body></html>",
        crate::assets::stylesheet_path(&state.leptos_options),
        stepline_types::text::escape_html(why),
        stepline_types::base::href("/auth/login")
    );
    (StatusCode::UNAUTHORIZED, Html(body)).into_response()
}

/// `POST /auth/logout`: end the session (the guard has checked the post is not cross-site).
pub async fn logout(
    State(state): State<LoginSite>,
    axum::Extension(request_id): axum::Extension<RequestId>,
    headers: HeaderMap,
) -> Response {
    let access: Arc<Access> = state.access.clone();
    if let Err(why) = access.site.origin_allowed(&axum::http::Method::POST, &headers) {
        return (StatusCode::FORBIDDEN, format!("Refused: {why}.")).into_response();
    }
    if let Some(id) = session_cookie(&headers, access.secure_cookies) {
        if let Ok(Some(who)) = access.db.session(&id).await {
            let _ = access
                .record(Record {
                    place: None,
                    user: &who.user,
                    role: None,
                    action: Action::Logout,
                    outcome: Outcome::Done,
                    pipeline: None,
                    execution_arn: None,
                    request_id: &request_id.0,
                    error_code: None,
                    detail: serde_json::Value::Null,
                })
                .await;
        }
        // Deleted first, then forgotten and announced: another replica told of the logout must not find the
        // session still in the database and keep it for seconds more.
        let _ = access.db.end_session(&id).await;
        access.forget_session(&id).await;
    }
    let mut res =
        (StatusCode::SEE_OTHER, [(header::LOCATION, stepline_types::base::href("/auth/logged-out"))]).into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(&access, "", 0));
    res
}

/// `/auth/logged-out`: said plainly, with the way back.
pub async fn logged_out(State(state): State<LoginSite>) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Logged out · Stepline</title>\
         <link rel=\"stylesheet\" href=\"{}\"></head><body><main class=\"content\"><h1>You are logged out</h1>\
         <p><a href=\"{}\" data-testid=\"login-again\">Log in again</a></p></main></body></html>",
        crate::assets::stylesheet_path(&state.leptos_options),
        stepline_types::base::href("/auth/login")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_return(Some("/pipelines/A?x=1#f")), "/pipelines/A?x=1#f");
        assert_eq!(safe_return(Some("/pipelines/a%2Fb?q=%20")), "/pipelines/a%2Fb?q=%20");
        // Every form a browser would follow to another host: tabs and newlines it strips, backslashes it
        // reads as slashes, encoded and scheme variants. Whatever comes back, a browser reading it as a
        // Location on this site stays on this site.
        let site = url::Url::parse("https://stepline.example/").unwrap();
        for bad in [
            "//evil.example/",
            "https://evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "/\t/evil.example",
            "/\t\\evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            "/\\/evil.example",
            "/%09/evil.example",
            "/ /evil.example",
            "http:evil.example",
            "/\u{0}/evil.example",
        ] {
            let got = safe_return(Some(bad));
            let followed = site.join(&got).unwrap();
            assert_eq!(followed.host_str(), Some("stepline.example"), "{bad:?} returned {got:?}");
            assert!(!got.contains(['\t', '\r', '\n', '\\']), "{bad:?} returned {got:?}");
        }
        // Encoded slashes stay encoded: a path, not a host.
        assert_eq!(safe_return(Some("/%2F%2Fevil.example")), "/%2F%2Fevil.example");
        assert_eq!(safe_return(Some(&format!("/{}", "a".repeat(2000)))), "/", "longer than the cookie keeps");
        assert_eq!(safe_return(None), "/");
    }

    #[test]
    fn session_cookies_are_read_only_in_their_shape_and_over_https_only_the_host_cookie() {
        let id = "a".repeat(64);
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, format!("theme=dark; stepline_session={id}").parse().unwrap());
        assert_eq!(session_cookie(&h, false), Some(id.clone()));
        assert_eq!(
            session_cookie(&h, true),
            None,
            "a plain cookie a sibling subdomain can set is no session over https"
        );
        h.insert(header::COOKIE, "stepline_session=../../etc".parse().unwrap());
        assert_eq!(session_cookie(&h, false), None);
        h.insert(header::COOKIE, format!("__Host-stepline_session={id}").parse().unwrap());
        assert_eq!(session_cookie(&h, true), Some(id.clone()));
        assert_eq!(session_cookie(&h, false), None);
    }

    #[test]
    fn groups_come_from_the_named_claim() {
        let enc = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let jwt = format!("x.{}.y", enc(&serde_json::json!({"groups": ["a", "b"], "roles": "r1, r2"})));
        assert_eq!(groups_of(&payload_of(&jwt), "groups"), vec!["a", "b"]);
        assert_eq!(groups_of(&payload_of(&jwt), "roles"), vec!["r1", "r2"]);
        assert!(groups_of(&payload_of(&jwt), "cognito:groups").is_empty());
        assert!(groups_of(&payload_of("garbage"), "groups").is_empty());
    }
}
