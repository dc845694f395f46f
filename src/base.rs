//! The path Stepline is served under: `--base-path /stepline` behind a proxy that forwards
//! `https://tools.example.com/stepline/…` as it is, or nothing (served at `/`).
//!
//! Set once at start, on the server from the configuration and in the browser from the page's
//! `<meta name="stepline-base">`, and read wherever a URL is made: every link, form, server function,
//! stream and asset goes through [`href`]. Inside the app, paths are written as at the root
//! (`/pipelines/x`); the base is added when they become URLs, and taken off requests by [`strip`].

use std::sync::OnceLock;

static BASE: OnceLock<String> = OnceLock::new();

/// The name of the page's `<meta>` that carries the base to the browser.
pub const META: &str = "stepline-base";

/// A `--base-path` value: empty, or `/` and segments of letters, digits and `-._~`, without a trailing `/`
/// (`/` alone is the root).
pub fn parse(v: &str) -> Result<String, String> {
    let v = v.trim_end_matches('/');
    if v.is_empty() {
        return Ok(String::new());
    }
    let ok = v.starts_with('/')
        && v[1..].split('/').all(|s| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        });
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("'{v}' is not a path like /stepline (segments of letters, digits and -._~)"))
    }
}

/// Set the base for this process (the first call wins; later ones are ignored).
pub fn set(base: &str) {
    let _ = BASE.set(base.to_string());
}

/// The base: `""` at the root, else like `/stepline`.
pub fn get() -> &'static str {
    BASE.get().map(String::as_str).unwrap_or("")
}

/// A path of the app (`/pipelines/x?tab=logs`) as a URL path under the base. The root under a base is
/// the base itself (`/stepline`), the one address the router gives the home page.
pub fn href(path: &str) -> String {
    join(get(), path)
}

fn join(base: &str, path: &str) -> String {
    if base.is_empty() {
        return path.to_string();
    }
    match path {
        "/" => base.to_string(),
        p if p.starts_with("/?") => format!("{base}{}", &p[1..]),
        p => format!("{base}{p}"),
    }
}

/// A request's path without the base (`/stepline/pipelines/x` → `/pipelines/x`, `/stepline` → `/`);
/// `None` when it is not under the base.
pub fn strip(path: &str) -> Option<&str> {
    strip_from(get(), path)
}

fn strip_from<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    if base.is_empty() {
        return Some(path);
    }
    match path.strip_prefix(base)? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// The live stream of a page, from the page's URL (`/stepline/pipelines/x` → `/stepline/events/pipelines/x`).
pub fn events(page_href: &str) -> String {
    href(&format!("/events{}", strip(page_href).unwrap_or(page_href)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_checked() {
        assert_eq!(parse("").unwrap(), "");
        assert_eq!(parse("/").unwrap(), "");
        assert_eq!(parse("/stepline/").unwrap(), "/stepline");
        assert_eq!(parse("/tools/stepline-1.0").unwrap(), "/tools/stepline-1.0");
        for bad in ["stepline", "/a//b", "/a/../b", "/a b", "/a?b", "/<x>", "/%2e"] {
            assert!(parse(bad).unwrap_err().contains("is not a path"), "{bad}");
        }
    }

    #[test]
    fn paths_join_and_strip() {
        assert_eq!(join("", "/pipelines/x"), "/pipelines/x");
        assert_eq!(join("/s", "/pipelines/x?tab=logs"), "/s/pipelines/x?tab=logs");
        assert_eq!(join("/s", "/"), "/s");
        assert_eq!(join("/s", "/?q=a"), "/s?q=a");
        assert_eq!(strip_from("/s", "/s/pipelines/x"), Some("/pipelines/x"));
        assert_eq!(strip_from("/s", "/s"), Some("/"));
        assert_eq!(strip_from("/s", "/sx/pipelines"), None);
        assert_eq!(strip_from("/s", "/pipelines"), None);
        assert_eq!(strip_from("", "/pipelines"), Some("/pipelines"));
    }
}
