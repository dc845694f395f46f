//! Who is asking. Every server function and stream calls [`current`] — the one place identity is learned,
//! so that team access (a trusted proxy header or a built-in login, viewer and operator roles) is added
//! here and nowhere else.

use axum::http::HeaderMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user's name as the authenticating proxy gave it, or "anonymous".
    pub user: String,
}

/// Headers set by common authenticating proxies (oauth2-proxy, AWS ALB with OIDC, Pomerium).
const USER_HEADERS: [&str; 3] = ["x-forwarded-user", "x-auth-request-user", "x-forwarded-email"];

pub fn from_headers(headers: &HeaderMap) -> Identity {
    let user = USER_HEADERS
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(|v| v.trim().chars().filter(|c| !c.is_control()).take(128).collect::<String>())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "anonymous".to_string());
    Identity { user }
}

/// The identity of the request being served (inside a server function or during SSR).
pub async fn current() -> Identity {
    match leptos_axum::extract::<HeaderMap>().await {
        Ok(headers) => from_headers(&headers),
        Err(_) => Identity { user: "anonymous".into() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_headers_name_the_user_and_hostile_values_are_cleaned() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h).user, "anonymous");
        h.insert("x-forwarded-email", "ana@example.com".parse().unwrap());
        assert_eq!(from_headers(&h).user, "ana@example.com");
        h.insert("x-forwarded-user", "ana".parse().unwrap());
        assert_eq!(from_headers(&h).user, "ana", "the user header wins over the email");
        h.insert("x-forwarded-user", "x".repeat(500).parse().unwrap());
        assert_eq!(from_headers(&h).user.len(), 128);
    }
}
