//! The axum router: Leptos pages, server functions and static files. Built by a function so tests can
//! drive it with `tower::ServiceExt::oneshot` without opening a socket.

use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

use super::config::Config;
use crate::app::{shell, App};

/// Leptos settings: from cargo-leptos's environment when it launched us, else sensible defaults that match
/// `[package.metadata.leptos]` so the binary also runs on its own.
pub fn leptos_options(config: &Config) -> Result<LeptosOptions, String> {
    let conf = get_configuration(None).map_err(|e| format!("leptos configuration: {e}"))?;
    let mut options = conf.leptos_options;
    options.site_addr = config.addr;
    Ok(options)
}

pub async fn build(leptos_options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .leptos_routes(&leptos_options, routes, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(leptos_options)
}

#[cfg(test)]
mod tests {
    use axum::body::{to_bytes, Body};
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    fn options() -> LeptosOptions {
        LeptosOptions::builder().output_name("stepline").site_root("target/site").build()
    }

    async fn get(path: &str) -> (StatusCode, String) {
        let app = build(options()).await;
        let res = app.oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = res.status();
        let body = to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn the_first_page_renders_on_the_server_with_its_hydration_scripts() {
        let (status, html) = get("/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<h1>Pipelines"), "{html}");
        assert!(html.contains("/pkg/stepline.js") && html.contains("application/wasm"), "{html}");
        assert!(html.contains("data-testid=\"theme-toggle\""));
    }

    #[tokio::test]
    async fn unknown_paths_answer_404() {
        let (status, html) = get("/nowhere/at/all").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("Not found"));
    }
}
