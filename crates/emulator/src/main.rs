//! `stepline-emulator`: the SageMaker Pipelines emulator as a standalone server.

use std::path::PathBuf;

use stepline_emulator::seed::Seed;
use stepline_emulator::strict::{quotas_from_flag, Latency};
use stepline_emulator::{start, EmulatorConfig, Scenario};

// mimalloc instead of glibc's malloc: many small allocations from two worker threads at once (JSON in and
// out of every request) are cheaper with per-thread free lists. Measured in BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
Usage: stepline-emulator [--addr HOST:PORT] [--data-dir DIR] [--scenario FILE] [--speed N]
                         [--latency MIN..MAX] [--quota SPEC] [--seed FILE]

  --addr HOST:PORT   where to listen (default 127.0.0.1:4566; port 0 picks a free one)
  --data-dir DIR     keep pipelines and executions in DIR so they survive restarts (default: memory only)
  --scenario FILE    a JSON scenario: step durations, failures, property files, callback answers, faults
  --speed N          simulated seconds per real second (default 60)
  --latency MIN..MAX answer every call after MIN..MAX milliseconds, as the service does (e.g. 50..150)
  --quota SPEC       request quotas: 'default' (the service-like table) and/or Operation=RATE[/BURST],
                     comma-separated or repeated; calls over a quota answer ThrottlingException
  --seed FILE        add a history at start: {\"pipelines\": N, \"executions\": M} (see the README)

Point any AWS client at it, e.g. aws --endpoint-url http://127.0.0.1:4566 sagemaker list-pipelines";

fn parse(args: &[String]) -> Result<Option<EmulatorConfig>, String> {
    let mut config = EmulatorConfig { addr: ([127, 0, 0, 1], 4566).into(), ..EmulatorConfig::default() };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value =
            || inline.clone().or_else(|| it.next().cloned()).ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"));
        match flag {
            "-h" | "--help" => return Ok(None),
            "--addr" => {
                let v = value()?;
                config.addr = v.parse().map_err(|_| format!("--addr: '{v}' is not a HOST:PORT address"))?;
            }
            "--data-dir" => config.data_dir = Some(PathBuf::from(value()?)),
            "--scenario" => {
                let path = value()?;
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("--scenario: cannot read {path}: {e}"))?;
                config.scenario = Some(Scenario::parse(&text).map_err(|e| format!("--scenario {path}: {e}"))?);
            }
            "--latency" => {
                let v = value()?;
                config.latency = Some(Latency::parse(&v).map_err(|e| format!("--latency: {e}"))?);
            }
            "--quota" | "--quotas" => {
                let v = value()?;
                quotas_from_flag(&v, config.quotas.get_or_insert_with(Default::default)).map_err(|e| e.to_string())?;
            }
            "--seed" => {
                let path = value()?;
                let text = std::fs::read_to_string(&path).map_err(|e| format!("--seed: cannot read {path}: {e}"))?;
                config.seed = Some(Seed::parse(&text).map_err(|e| format!("--seed {path}: {e}"))?);
            }
            "--speed" => {
                let v = value()?;
                config.speed = v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--speed: '{v}' is not a positive number"))?;
            }
            other => return Err(format!("unknown argument '{other}'\n\n{USAGE}")),
        }
    }
    Ok(Some(config))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args) {
        Ok(Some(c)) => c,
        Ok(None) => {
            println!("{USAGE}");
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
            let _ = tokio::signal::ctrl_c().await;
            running.shutdown().await;
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stepline-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
