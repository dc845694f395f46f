//! `stepline-emulator`: the SageMaker Pipelines emulator as a standalone server (flags in `cli`).

use stepline_emulator::cli::{parse_args, Parsed};
use stepline_emulator::start;

// mimalloc instead of glibc's malloc: many small allocations from two worker threads at once (JSON in and
// out of every request) are cheaper with per-thread free lists. Measured in BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&args) {
        Ok(Parsed::Run(c)) => *c,
        Ok(Parsed::Print(text)) => {
            println!("{}", text.trim_end());
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("stepline-emulator: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match start(config).await {
        Ok(running) => {
            println!("stepline-emulator listening on {}", running.endpoint_url());
            stepline_emulator::signals::stop_asked().await;
            running.shutdown().await;
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stepline-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
