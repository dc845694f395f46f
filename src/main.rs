#![recursion_limit = "512"]
//! The Stepline server: reads its configuration, picks the SageMaker backend and serves the dashboard.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match stepline::server::run(std::env::args().skip(1).collect()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stepline: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
pub fn main() {
    // The browser build has no server entry point; `hydrate()` in lib.rs is its entry.
}
