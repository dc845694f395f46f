//! Cross-site and DNS-rebinding protection, as pure checks of a request's method and headers.
//!
//! The origin check follows Go's `http.CrossOriginProtection`: safe methods pass; an `Origin` equal to the
//! public URL's passes; otherwise a browser's `Sec-Fetch-Site` must say `same-origin` or `none`; without
//! it, an `Origin` must name the request's own host, and a request with neither header is not from a
//! browser (curl, the AWS CLI) and passes — no browser can be made to send such a request cross-site.

use axum::http::{HeaderMap, Method};

use crate::http_url::HttpUrl;

/// Where people open Stepline, for the host and origin checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Site {
    /// `--public-url`: its scheme, host and port.
    Public { origin: String, host: String },
    /// No public URL (no login on a loopback address): any loopback name.
    Loopback,
}

impl Site {
    pub fn from_public_url(url: &HttpUrl) -> Site {
        Site::Public { origin: url.origin(), host: url.host_and_port() }
    }

    /// A `Host` this site answers to. Others are refused with 421 (a DNS-rebinding page names its own).
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        let Some(host) = host else {
            // HTTP/1.1 browsers always send Host; only in-process requests (tests) have none.
            return true;
        };
        let host = host.to_ascii_lowercase();
        match self {
            Site::Public { host: mine, .. } => host == *mine || strip_default_port(&host) == strip_default_port(mine),
            Site::Loopback => {
                let name = match host.strip_prefix('[') {
                    Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
                    None => host.rsplit_once(':').map_or(host.clone(), |(n, _)| n.to_string()),
                };
                name == "localhost"
                    || name.ends_with(".localhost")
                    || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
        }
    }

    /// Whether a state-changing request may proceed (see the module's comment).
    pub fn origin_allowed(&self, method: &Method, headers: &HeaderMap) -> Result<(), &'static str> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let origin = headers.get("origin").and_then(|v| v.to_str().ok());
        if let (Site::Public { origin: mine, .. }, Some(o)) = (self, origin) {
            if o.eq_ignore_ascii_case(mine) {
                return Ok(());
            }
        }
        match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some("same-origin") | Some("none") => return Ok(()),
            Some(_) => return Err("a cross-site request (Sec-Fetch-Site) may not change anything here"),
            None => {}
        }
        let Some(origin) = origin else { return Ok(()) };
        let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or_default();
        if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
            Ok(())
        } else {
            Err("a request from another origin may not change anything here")
        }
    }
}

fn strip_default_port(host: &str) -> &str {
    host.strip_suffix(":443").or_else(|| host.strip_suffix(":80")).unwrap_or(host)
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

    // The cases of Go's CrossOriginProtection tests, with our public URL as the trusted origin.
    #[test]
    fn cross_origin_protection() {
        let site = Site::from_public_url(&HttpUrl::parse("https://stepline.example.com").unwrap());
        let post = Method::POST;
        let ok = |h: &[(&'static str, &str)]| site.origin_allowed(&post, &headers(h)).is_ok();
        assert!(ok(&[("sec-fetch-site", "same-origin")]), "same origin");
        assert!(ok(&[("sec-fetch-site", "none")]), "typed or bookmarked by the user");
        assert!(!ok(&[("sec-fetch-site", "cross-site")]), "cross-site");
        assert!(!ok(&[("sec-fetch-site", "same-site")]), "same-site (a sibling subdomain) is not same-origin");
        assert!(ok(&[]), "no browser headers: not a browser");
        assert!(ok(&[("origin", "https://stepline.example.com"), ("host", "stepline.example.com")]));
        assert!(ok(&[("origin", "https://stepline.example.com"), ("sec-fetch-site", "cross-site")]), "trusted origin");
        assert!(
            !ok(&[("origin", "https://evil.example"), ("host", "stepline.example.com")]),
            "old browser, other origin"
        );
        assert!(!ok(&[("origin", "null"), ("host", "stepline.example.com")]), "opaque origin");
        assert!(!ok(&[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")]));
        // Safe methods always pass: they change nothing.
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(site.origin_allowed(&m, &headers(&[("sec-fetch-site", "cross-site")])).is_ok());
        }
        for m in [Method::PUT, Method::DELETE, Method::PATCH] {
            assert!(site.origin_allowed(&m, &headers(&[("sec-fetch-site", "cross-site")])).is_err());
        }
        // On loopback without a public URL: the request's own host.
        let lo = Site::Loopback;
        let h = headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]);
        assert!(lo.origin_allowed(&post, &h).is_ok());
        let h = headers(&[("origin", "http://127.0.0.1:3001"), ("host", "127.0.0.1:3000")]);
        assert!(lo.origin_allowed(&post, &h).is_err(), "another port is another origin");
    }

    #[test]
    fn hosts() {
        let site = Site::from_public_url(&HttpUrl::parse("https://Stepline.example.com/").unwrap());
        assert!(site.host_allowed(Some("stepline.example.com")));
        assert!(site.host_allowed(Some("stepline.example.com:443")));
        assert!(!site.host_allowed(Some("attacker.example")), "DNS rebinding names the attacker's host");
        assert!(!site.host_allowed(Some("stepline.example.com.attacker.example")));
        let lo = Site::Loopback;
        for ok in ["127.0.0.1:3000", "localhost:3000", "[::1]:3000", "127.0.0.2", "app.localhost:1"] {
            assert!(lo.host_allowed(Some(ok)), "{ok}");
        }
        for bad in ["attacker.example:3000", "10.0.0.1:3000", "localhost.attacker.example", "[::2]:3000"] {
            assert!(!lo.host_allowed(Some(bad)), "{bad}");
        }
    }
}
