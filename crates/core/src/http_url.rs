//! An http(s) URL from the configuration, parsed once so that what uses it reads parts, not text.

use std::fmt;

/// An `http://` or `https://` URL with a host and no credentials, query or fragment: an endpoint, the
/// public address, a key server. Shown and joined without a trailing slash (`{url}/auth/callback`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl(url::Url);

impl HttpUrl {
    pub fn parse(text: &str) -> Result<HttpUrl, String> {
        let url = url::Url::parse(text.trim()).map_err(|e| format!("'{text}' is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("'{text}' is not an http:// or https:// URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("'{text}' has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("'{text}' carries credentials: give them another way"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("'{text}' has a query or fragment, which would be lost"));
        }
        Ok(HttpUrl(url))
    }

    /// The URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// `scheme://host[:port]`, as browsers send it in `Origin` (lower-cased, the default port left out).
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// `host[:port]`, as browsers send it in `Host` (the default port left out).
    pub fn host_and_port(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// The path, `/` for none.
    pub fn path(&self) -> &str {
        self.0.path()
    }

    /// The same URL with `path` (a base path such as `/stepline`) appended.
    pub fn with_path(&self, path: &str) -> HttpUrl {
        let mut url = self.0.clone();
        url.set_path(&format!("{}{path}", url.path().trim_end_matches('/')));
        HttpUrl(url)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for HttpUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<HttpUrl, String> {
        HttpUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_a_url_as_browsers_send_them() {
        let u = HttpUrl::parse("https://Tools.Example.com:443/stepline/").unwrap();
        assert_eq!(u.as_str(), "https://tools.example.com/stepline");
        assert_eq!(u.origin(), "https://tools.example.com");
        assert_eq!(u.host_and_port(), "tools.example.com");
        assert_eq!(u.path(), "/stepline/");
        assert!(u.is_https());
        let local = HttpUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((local.as_str(), local.host_and_port().as_str()), ("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert_eq!(local.with_path("/stepline").as_str(), "http://127.0.0.1:8080/stepline");
        assert_eq!(HttpUrl::parse("http://[::1]:3000/").unwrap().host_and_port(), "[::1]:3000");
    }

    #[test]
    fn what_is_not_an_http_url_is_named() {
        for (bad, says) in [
            ("ftp://example.com", "not an http"),
            ("example.com", "not a URL"),
            ("http://", "not a URL"),
            ("https://user:pw@example.com", "credentials"),
            ("https://example.com/?a=1", "query"),
            ("https://example.com/#x", "fragment"),
            ("http://exa mple.com", "not a URL"),
        ] {
            let e = HttpUrl::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
