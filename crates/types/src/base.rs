//! The path Stepline is served under: `--base-path /stepline` behind a proxy that forwards
//! `https://tools.example.com/stepline/…` as it is, or nothing (served at `/`).
//!
//! Set once at start, on the server from the configuration and in the browser from the page's
//! `<meta name="stepline-base">`, and read wherever a URL is made: every link, form, server function,
//! stream and asset goes through [`href`]. Inside the app, paths are written as at the root
//! (`/pipelines/x`); the base is added when they become URLs, and taken off requests by [`strip`].
//!
//! With several accounts and regions (`--aws a@eu-west-1,b@us-east-1`), each has its pages under the base
//! and its place, `/{account}/{region}` (`/stepline/123456789012/eu-west-1/pipelines/x`): the *page base*
//! ([`get`], [`href`]) is that, while the *root* ([`root`], [`root_href`]) stays what is shared: assets,
//! login, health, exports. On the server the page base of a request is in its context ([`PageBase`]); in
//! the browser it is the page's meta.

use std::sync::OnceLock;

static BASE: OnceLock<String> = OnceLock::new();
static ROOT: OnceLock<String> = OnceLock::new();

/// The name of the page's `<meta>` that carries the page base to the browser.
pub const META: &str = "stepline-base";
/// The name of the page's `<meta>` that carries the root to the browser.
pub const ROOT_META: &str = "stepline-root";

/// The name of the page's `<meta>` that lists the places (JSON), when there are several.
pub const PLACES_META: &str = "stepline-places";

/// One account and region of several, as the page header offers them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlaceLink {
    /// What people call it: the profile and region it was configured with, and its account.
    pub label: String,
    /// Its page base (`/stepline/123456789012/eu-west-1`).
    pub base: String,
}

static PLACES: OnceLock<Vec<PlaceLink>> = OnceLock::new();

/// Set the places (server: at start, when there are several; browser: from the page's meta).
pub fn set_places(places: Vec<PlaceLink>) {
    let _ = PLACES.set(places);
}

/// The places, when pages carry them; empty otherwise.
pub fn places() -> &'static [PlaceLink] {
    PLACES.get().map(Vec::as_slice).unwrap_or(&[])
}

/// A request's page base, in the context of a page or server function of one place (server only).
#[derive(Clone, Copy, Debug)]
pub struct PageBase(pub &'static str);

/// An ARN's account and region, when it is `arn:PARTITION:sagemaker:REGION:ACCOUNT:…` with a real-looking
/// account and region.
pub fn arn_place(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    let (Some("arn"), Some(_), Some("sagemaker"), Some(region), Some(account)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    is_place(account, region).then_some((account, region))
}

/// Whether these are an account id (12 digits) and a region's name.
pub fn is_place(account: &str, region: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && is_region(region)
}

/// A region's name as ARNs carry it: lower-case letters, digits and dashes (`eu-west-1`).
pub fn is_region(r: &str) -> bool {
    (4..=32).contains(&r.len())
        && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !r.starts_with('-')
        && !r.ends_with('-')
}

/// The place (`/{account}/{region}`) of an ARN's pages, when pages carry places.
pub fn place_of_arn(arn: &str) -> Option<String> {
    arn_place(arn).map(|(account, region)| format!("/{account}/{region}"))
}

/// Whether pages carry their place (several accounts or regions are configured).
pub fn placed() -> bool {
    get() != root()
}

/// The page base of an ARN's pages: its place under the root when pages carry places, else this page's.
pub fn for_arn(arn: &str) -> String {
    match place_of_arn(arn) {
        Some(place) if placed() => format!("{}{place}", root()),
        _ => get().to_string(),
    }
}

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

/// Set the root for this process and, in the browser, the page base (the first call wins).
pub fn set(root: &str, page: &str) {
    let _ = ROOT.set(root.to_string());
    let _ = BASE.set(page.to_string());
}

/// The root: `""` at `/`, else like `/stepline`.
pub fn root() -> &'static str {
    ROOT.get().map(String::as_str).unwrap_or("")
}

/// The page base: the root, and the place when pages carry places (`/stepline/123456789012/eu-west-1`).
pub fn get() -> &'static str {
    #[cfg(feature = "ssr")]
    if let Some(PageBase(b)) = leptos::prelude::use_context::<PageBase>() {
        return b;
    }
    BASE.get().map(String::as_str).unwrap_or("")
}

/// A path of the app (`/pipelines/x?tab=logs`) as a URL path under the page base. The root under a base
/// is the base itself (`/stepline`), the one address the router gives the home page.
pub fn href(path: &str) -> String {
    join(get(), path)
}

/// A path shared by every place (`/auth/login`, `/activity.csv`) as a URL path under the root.
pub fn root_href(path: &str) -> String {
    join(root(), path)
}

/// A path of the app under another page base (an ARN's, see [`for_arn`]).
pub fn href_in(base: &str, path: &str) -> String {
    join(base, path)
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

/// A request's path without the page base (`/stepline/pipelines/x` → `/pipelines/x`, `/stepline` → `/`);
/// `None` when it is not under the base.
pub fn strip(path: &str) -> Option<&str> {
    strip_from(get(), path)
}

/// A request's path without the root; `None` when it is not under it.
pub fn strip_root(path: &str) -> Option<&str> {
    strip_from(root(), path)
}

pub fn strip_from<'a>(base: &str, path: &'a str) -> Option<&'a str> {
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

/// A path (a request's, a route's) without the root and, with several places, without the place
/// (`/stepline/123456789012/eu-west-1/pipelines/x` → `/pipelines/x`): route labels are the same in every
/// place. As it is when outside the root.
pub fn unbased(path: &str) -> &str {
    let rest = strip_root(path).unwrap_or(path);
    if places().is_empty() {
        return rest;
    }
    // Only a place this Stepline shows is taken off: any other place-shaped prefix stays, so the guard never
    // reads `/999999999999/us-east-1/healthz` as the public `/healthz` (no Host check, no login).
    match split_place(rest).filter(|(place, _)| places().iter().any(|p| p.base.ends_with(place))) {
        Some((_, "")) => "/",
        Some((_, tail)) => tail,
        None => rest,
    }
}

/// A path under the root that starts with a place (`/123456789012/eu-west-1/…`): the place and the rest.
pub fn split_place(path: &str) -> Option<(&str, &str)> {
    let mut segs = path.splitn(4, '/');
    let (Some(""), Some(account), Some(region)) = (segs.next(), segs.next(), segs.next()) else {
        return None;
    };
    if !is_place(account, region) {
        return None;
    }
    let end = 1 + account.len() + 1 + region.len();
    Some((&path[..end], &path[end..]))
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

    #[test]
    fn arns_name_their_place() {
        assert_eq!(
            place_of_arn("arn:aws:sagemaker:eu-west-1:123456789012:pipeline/p/execution/x").as_deref(),
            Some("/123456789012/eu-west-1")
        );
        assert_eq!(
            place_of_arn("arn:aws-cn:sagemaker:cn-north-1:123456789012:pipeline/p").as_deref(),
            Some("/123456789012/cn-north-1")
        );
        for bad in [
            "arn:aws:sagemaker:eu-west-1:1234:pipeline/p",
            "arn:aws:iam::123456789012:role/r",
            "P",
            "arn:aws:sagemaker:EU/x:123456789012:pipeline/p",
        ] {
            assert_eq!(place_of_arn(bad), None, "{bad}");
        }
    }
}
