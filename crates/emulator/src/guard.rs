//! Who may talk to the emulator. It has no authentication (any AWS client may call it) and its control
//! routes can wipe or rewrite its state, so a web page must not reach it through a visitor's browser:
//!
//! - **DNS rebinding**: a page on `evil.example` whose name later resolves to 127.0.0.1 sends requests with
//!   `Host: evil.example`. Only hosts that cannot be rebound are answered: IP literals, `localhost` (and
//!   `*.localhost`, which browsers keep on loopback), AWS's own service names (`*.amazonaws.com`, for a client
//!   whose DNS or proxy sends the real endpoints here; no attacker controls those names), and the names given
//!   with `--allowed-host` (a container network's service name, say).
//! - **Cross-site requests**: a `no-cors` fetch or a form from any page can still POST. Browsers mark those
//!   (`Origin`, `Sec-Fetch-Site`); AWS clients send neither. A request a browser marks as coming from another
//!   site or origin is refused.
//!
//! Pure functions of the headers, so each rule is tested alone; `check` is the one the router calls.

use axum::http::{header, HeaderMap, StatusCode};

/// Why a request is refused, with the answer's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The Host header names a host this emulator does not answer for.
    ForeignHost(String),
    /// A browser says the request comes from another site or origin.
    CrossSite(String),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::ForeignHost(_) => StatusCode::MISDIRECTED_REQUEST,
            Refusal::CrossSite(_) => StatusCode::FORBIDDEN,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::ForeignHost(host) => format!(
                "This emulator does not answer for the host '{}': use an IP address or localhost, or start it \
                 with --allowed-host",
                printable(host)
            ),
            Refusal::CrossSite(why) => format!("Cross-site requests are refused ({why})"),
        }
    }
}

/// Hostile header values are echoed only as printable ASCII, at most 100 characters.
fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(100).collect()
}

/// The host part of a Host header or an origin's authority, lower-cased, without its port.
fn host_part(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if let Some(rest) = a.strip_prefix('[') {
        // An IPv6 literal: `[::1]:4566`.
        return rest.split(']').next().unwrap_or_default().to_string();
    }
    match a.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.to_string(),
        _ => a,
    }
}

/// Whether a Host header may be answered: an IP literal, localhost, or one of `allowed` (names, any case).
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let h = host_part(host);
    if h.is_empty() {
        return false;
    }
    h.parse::<std::net::IpAddr>().is_ok()
        || h == "localhost"
        || h.ends_with(".localhost")
        || h.ends_with(".amazonaws.com")
        || h.ends_with(".amazonaws.com.cn")
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(&h))
}

/// Why a browser's request is cross-site, if it is: `Sec-Fetch-Site` other than `same-origin` or `none`, or
/// an `Origin` whose authority is not the request's Host (`null` included).
pub fn cross_site(headers: &HeaderMap) -> Option<String> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("?");
        if !matches!(site, "same-origin" | "none") {
            return Some(format!("Sec-Fetch-Site: {}", printable(site)));
        }
    }
    let origin = headers.get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or("null");
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or_default();
    if authority.is_empty() || !authority.eq_ignore_ascii_case(host.trim()) {
        return Some(format!("Origin: {}", printable(origin)));
    }
    None
}

/// The rules in order: the Host first (a rebound name is refused whatever else it sends), then cross-site.
/// A request without a Host header (HTTP/1.0 clients, health probes) is not from a browser.
pub fn check(headers: &HeaderMap, allowed: &[String]) -> Result<(), Refusal> {
    if let Some(host) = headers.get(header::HOST) {
        let host = String::from_utf8_lossy(host.as_bytes());
        if !host_allowed(&host, allowed) {
            return Err(Refusal::ForeignHost(host.into_owned()));
        }
    }
    match cross_site(headers) {
        Some(why) => Err(Refusal::CrossSite(why)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn hosts_that_cannot_be_rebound_are_answered() {
        let extra = vec!["emulator".to_string()];
        for ok in [
            "127.0.0.1:4566",
            "localhost:4566",
            "LOCALHOST",
            "[::1]:4566",
            "10.0.0.7",
            "app.localhost:1",
            "emulator:4566",
            "Emulator",
        ] {
            assert!(host_allowed(ok, &extra), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:4566",
            "localhost.evil.example",
            "",
            "127.0.0.1.nip.io:4566",
            "emulator.evil.example",
        ] {
            assert!(!host_allowed(bad, &extra), "{bad}");
        }
    }

    #[test]
    fn browsers_cross_site_requests_are_refused_and_sdk_requests_pass() {
        let sdk = headers(&[("host", "127.0.0.1:4566"), ("x-amz-target", "SageMaker.ListPipelines")]);
        assert_eq!(check(&sdk, &[]), Ok(()));
        let same = headers(&[("host", "127.0.0.1:4566"), ("origin", "http://127.0.0.1:4566")]);
        assert_eq!(check(&same, &[]), Ok(()));
        let typed = headers(&[("host", "localhost:4566"), ("sec-fetch-site", "none")]);
        assert_eq!(check(&typed, &[]), Ok(()));
        for bad in [
            headers(&[("host", "127.0.0.1:4566"), ("origin", "https://evil.example")]),
            headers(&[("host", "127.0.0.1:4566"), ("origin", "null")]),
            headers(&[("host", "127.0.0.1:4566"), ("origin", "http://127.0.0.1:4567")]),
            headers(&[("host", "127.0.0.1:4566"), ("sec-fetch-site", "cross-site")]),
            headers(&[("host", "127.0.0.1:4566"), ("sec-fetch-site", "same-site")]),
        ] {
            assert!(matches!(check(&bad, &[]), Err(Refusal::CrossSite(_))), "{bad:?}");
        }
        let rebound = headers(&[("host", "evil.example:4566"), ("origin", "http://evil.example:4566")]);
        assert_eq!(check(&rebound, &[]).unwrap_err().status(), StatusCode::MISDIRECTED_REQUEST);
    }
}
