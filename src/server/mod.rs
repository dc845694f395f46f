//! Everything that runs only on the server: configuration, the HTTP router and (later) the SageMaker
//! gateway, watchers and identity.

pub mod config;
pub mod router;

use config::Config;

/// Parse the command line, build the router and serve until Ctrl-C.
pub async fn run(args: Vec<String>) -> Result<(), String> {
    let config = match config::parse_args(&args)? {
        config::Parsed::Help => {
            println!("{}", config::USAGE);
            return Ok(());
        }
        config::Parsed::Run(config) => config,
    };
    serve(config).await
}

async fn serve(config: Config) -> Result<(), String> {
    let leptos_options = router::leptos_options(&config)?;
    let app = router::build(leptos_options).await;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("Stepline listening on http://{local}");
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("server error: {e}"))
}
