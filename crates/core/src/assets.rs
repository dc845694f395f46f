//! The site's static files: where they are, their content-hashed names and how long browsers keep them.
//!
//! `cargo leptos build` (with `hash-files = true`) names the JS, wasm and CSS after their content
//! (`stepline.<hash>.wasm`) and writes the hashes to `hash.txt` next to the server binary. A hashed file
//! never changes, so it is sent `immutable` for a year and a repeat visit fetches only the page. Without a
//! hash file (tests, `cargo run`) the plain names are served as before, revalidated on each visit.

use std::path::{Path, PathBuf};

use axum::http::{header::CACHE_CONTROL, HeaderValue};
use leptos::prelude::LeptosOptions;

/// The hashes `hash.txt` names: `js: …`, `wasm: …`, `css: …` (other lines are ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hashes {
    pub js: Option<String>,
    pub wasm: Option<String>,
    pub css: Option<String>,
}

impl Hashes {
    pub fn parse(text: &str) -> Hashes {
        let mut h = Hashes::default();
        for line in text.lines() {
            if let Some((kind, hash)) = line.split_once(':') {
                let hash = Some(hash.trim().to_string()).filter(|v| !v.is_empty());
                match kind.trim() {
                    "js" => h.js = hash,
                    "wasm" => h.wasm = hash,
                    "css" => h.css = hash,
                    _ => {}
                }
            }
        }
        h
    }
}

/// The directory of the running binary: where cargo-leptos puts `hash.txt`, and where a release bundle
/// keeps it (`bin/`), with the site beside (`../site`).
fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe().ok()?.parent().map(Path::to_path_buf)
}

/// The hash file as Leptos reads it: `hash_file` relative to the binary's directory (or absolute).
pub fn hash_file(options: &LeptosOptions) -> PathBuf {
    exe_dir().unwrap_or_default().join(options.hash_file.as_ref())
}

/// Settle where the site is and whether its files are hashed, before anything is served, so a binary and
/// a site from different builds stop the start with a message instead of failing each page.
///
/// - The site root: `LEPTOS_SITE_ROOT` when set; else `../site` beside the binary when it exists (a release
///   bundle); else Leptos's default (`target/site`, from the working directory).
/// - Hashing: `LEPTOS_HASH_FILES` when set; else on when `hash.txt` is beside the binary.
pub fn settle(options: &mut LeptosOptions) -> Result<(), String> {
    if std::env::var_os("LEPTOS_SITE_ROOT").is_none() {
        if let Some(site) =
            exe_dir().map(|d| d.join("../site")).filter(|s| s.join(options.site_pkg_dir.as_ref()).is_dir())
        {
            options.site_root = site.to_string_lossy().into_owned().into();
        }
    }
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        options.hash_files = hash_file(options).is_file();
    }
    check(options)
}

/// With hashing on, the hash file must exist and every file it names must be in the site.
pub fn check(options: &LeptosOptions) -> Result<(), String> {
    if !options.hash_files {
        return Ok(());
    }
    let file = hash_file(options);
    let text = std::fs::read_to_string(&file).map_err(|e| {
        format!("hashed file names are on but {} cannot be read ({e}): build with `cargo leptos build`", file.display())
    })?;
    let hashes = Hashes::parse(&text);
    let pkg = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    for (hash, ext) in [(&hashes.js, "js"), (&hashes.wasm, "wasm"), (&hashes.css, "css")] {
        let Some(hash) = hash else {
            return Err(format!("{} names no {ext} file", file.display()));
        };
        let name = pkg.join(format!("{}.{hash}.{ext}", options.output_name));
        if !name.is_file() {
            return Err(format!(
                "{} names {}, which is not in the site: the binary and the site come from different builds",
                file.display(),
                name.display()
            ));
        }
    }
    Ok(())
}

/// The stylesheet's URL path (under the base path), hashed when the site is.
pub fn stylesheet_path(options: &LeptosOptions) -> String {
    let hash = options
        .hash_files
        .then(|| std::fs::read_to_string(hash_file(options)).ok())
        .flatten()
        .and_then(|t| Hashes::parse(&t).css);
    let path = match hash {
        Some(h) => format!("/{}/{}.{h}.css", options.site_pkg_dir, options.output_name),
        None => format!("/{}/{}.css", options.site_pkg_dir, options.output_name),
    };
    stepline_types::base::href(&path)
}

/// Whether a request path is a content-hashed file of the site: `/pkg/<name>.<hash>.<ext>`, the hash
/// cargo-leptos writes (22 characters of URL-safe base64).
pub fn is_hashed(path: &str, pkg_dir: &str) -> bool {
    let Some(name) = path.strip_prefix('/').and_then(|p| p.strip_prefix(pkg_dir)).and_then(|p| p.strip_prefix('/'))
    else {
        return false;
    };
    !name.contains('/')
        && name
            .split('.')
            .any(|s| s.len() == 22 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// A year, never revalidated: the name changes when the content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Files with fixed names in unhashed builds are revalidated on every use (cheap: `Last-Modified`).
const REVALIDATE: &str = "no-cache";
/// The icon keeps its name across builds and rarely changes: a day.
const ICON: &str = "public, max-age=86400";

/// The caching header of a static file's answer, by its path. `None` for everything else (pages, APIs).
pub fn cache_control(path: &str, pkg_dir: &str) -> Option<HeaderValue> {
    if is_hashed(path, pkg_dir) {
        Some(HeaderValue::from_static(IMMUTABLE))
    } else if path.starts_with(&format!("/{pkg_dir}/")) {
        Some(HeaderValue::from_static(REVALIDATE))
    } else if path == "/favicon.svg" {
        Some(HeaderValue::from_static(ICON))
    } else {
        None
    }
}

/// Middleware: static files get their caching header when served (2xx and 304; never a 404 page).
pub async fn caching(
    axum::extract::State(pkg_dir): axum::extract::State<std::sync::Arc<str>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let header = cache_control(stepline_types::base::unbased(req.uri().path()), &pkg_dir);
    let mut res = next.run(req).await;
    let served = res.status().is_success() || res.status() == axum::http::StatusCode::NOT_MODIFIED;
    if let (Some(v), true) = (header, served) {
        res.headers_mut().insert(CACHE_CONTROL, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_file_lines() {
        let h = Hashes::parse("js: AbC\nwasm: DeF_-\ncss: GhI\nmanifest: x\n\n");
        assert_eq!(h, Hashes { js: Some("AbC".into()), wasm: Some("DeF_-".into()), css: Some("GhI".into()) });
        assert_eq!(Hashes::parse("js:\n"), Hashes::default());
    }

    #[test]
    fn only_hashed_pkg_files_are_immutable() {
        let hashed = "/pkg/stepline.AbCdEfGhIjKlMnOpQrSt_-.wasm";
        assert!(is_hashed(hashed, "pkg"));
        assert_eq!(cache_control(hashed, "pkg").unwrap(), IMMUTABLE);
        assert_eq!(cache_control("/pkg/stepline.wasm", "pkg").unwrap(), REVALIDATE);
        assert_eq!(cache_control("/favicon.svg", "pkg").unwrap(), ICON);
        for other in ["/", "/pipelines/x", "/api/start", "/pkgx/stepline.AbCdEfGhIjKlMnOpQrSt_-.js"] {
            assert_eq!(cache_control(other, "pkg"), None, "{other}");
        }
        // A 21- or 23-character segment is no hash; nor is a hash in a sub-directory's name.
        assert!(!is_hashed("/pkg/stepline.AbCdEfGhIjKlMnOpQrSt_.js", "pkg"));
        assert!(!is_hashed("/pkg/stepline.AbCdEfGhIjKlMnOpQrSt_-x.js", "pkg"));
        assert!(!is_hashed("/pkg/AbCdEfGhIjKlMnOpQrSt_-/x.js", "pkg"));
    }
}
