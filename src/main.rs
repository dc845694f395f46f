#![recursion_limit = "512"]
//! The Stepline server: reads its configuration, picks the SageMaker backend and serves the dashboard.

// mimalloc instead of glibc's malloc: pages of megabytes are rendered into growing buffers, and with glibc
// every request after the first paid for it (a 2,000-step page: 98 ms for the first, 136 ms for each later
// one; with mimalloc 82 ms from the second on). The embedded emulator serves 2.2 times the requests. Figures in BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match stepline::serve::run(std::env::args().skip(1).collect()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stepline: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
