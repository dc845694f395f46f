//! The site's static files under content-hashed names: pages name the hashed JS, wasm and CSS; those are
//! sent `immutable`, fixed names are revalidated, and a binary whose hash file does not match its site
//! refuses to start.

use std::path::PathBuf;
use std::sync::Arc;

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::{get, options};
use leptos::prelude::LeptosOptions;
use stepline::{demo, router};
use stepline_core::{assets, gateway::Gateway, state::AppState};
use tower::ServiceExt;

const JS: &str = "JsJsJsJsJsJsJsJsJsJs_-";
const WASM: &str = "WaWaWaWaWaWaWaWaWaWa_-";
const CSS: &str = "CsCsCsCsCsCsCsCsCsCs_-";

/// A site of hashed files and its hash file, in a directory of their own (the hash file by its absolute
/// path, which Leptos takes as it is).
fn hashed_site(tag: &str) -> (PathBuf, LeptosOptions) {
    let dir = std::env::temp_dir().join(format!("stepline-assets-{tag}-{}", std::process::id()));
    let pkg = dir.join("site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for (hash, ext) in [(JS, "js"), (WASM, "wasm"), (CSS, "css")] {
        std::fs::write(pkg.join(format!("stepline.{hash}.{ext}")), format!("/* {ext} */")).unwrap();
    }
    std::fs::write(pkg.join("stepline.css"), "/* unhashed */").unwrap();
    std::fs::write(dir.join("hash.txt"), format!("js: {JS}\nwasm: {WASM}\ncss: {CSS}\n")).unwrap();
    let mut o = options();
    o.site_root = dir.join("site").to_string_lossy().into_owned().into();
    o.hash_files = true;
    o.hash_file = dir.join("hash.txt").to_string_lossy().into_owned().into();
    (dir, o)
}

async fn app(options: LeptosOptions) -> Router {
    let emulator = Box::leak(Box::new(demo::start_emulator().await.unwrap()));
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    router::build(AppState::new(options, Arc::new(Gateway::new(client, "test"))).await).await
}

async fn cache_control(app: &Router, path: &str) -> (StatusCode, Option<String>) {
    let res = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let cc = res.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
    (res.status(), cc)
}

#[tokio::test]
async fn pages_name_hashed_files_and_those_are_kept_a_year() {
    let (dir, o) = hashed_site("pages");
    assets::check(&o).unwrap();
    assert_eq!(assets::stylesheet_path(&o), format!("/pkg/stepline.{CSS}.css"));
    let app = app(o).await;
    let (status, page) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    for name in
        [format!("/pkg/stepline.{JS}.js"), format!("/pkg/stepline.{WASM}.wasm"), format!("/pkg/stepline.{CSS}.css")]
    {
        assert!(page.contains(&name), "the page names {name}");
        let (status, cc) = cache_control(&app, &name).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(cc.as_deref(), Some("public, max-age=31536000, immutable"), "{name}");
    }
    assert!(!page.contains("/pkg/stepline.css"), "no unhashed stylesheet is named");
    // A page itself is never kept; an unhashed file is revalidated; a missing hashed file is a 404 that no
    // cache keeps for a year.
    assert_eq!(cache_control(&app, "/").await.1, None);
    assert_eq!(cache_control(&app, "/pkg/stepline.css").await, (StatusCode::OK, Some("no-cache".into())));
    let gone = cache_control(&app, "/pkg/stepline.GoneGoneGoneGoneGone_-.wasm").await;
    assert_eq!(gone, (StatusCode::NOT_FOUND, None));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_hash_file_from_another_build_stops_the_start() {
    let (dir, o) = hashed_site("mismatch");
    std::fs::write(dir.join("hash.txt"), format!("js: {JS}\nwasm: OtherOtherOtherOther_-\ncss: {CSS}\n")).unwrap();
    let e = assets::check(&o).unwrap_err();
    assert!(e.contains("stepline.OtherOtherOtherOther_-.wasm") && e.contains("different builds"), "{e}");
    std::fs::remove_file(dir.join("hash.txt")).unwrap();
    let e = assets::check(&o).unwrap_err();
    assert!(e.contains("hash.txt") && e.contains("cannot be read"), "{e}");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn without_hashing_the_plain_names_are_served() {
    let o = options();
    assert_eq!(assets::stylesheet_path(&o), "/pkg/stepline.css");
    let (_, page) = get(&app(o).await, "/").await;
    assert!(page.contains("/pkg/stepline.css") && page.contains("/pkg/stepline.js"), "plain names");
}
