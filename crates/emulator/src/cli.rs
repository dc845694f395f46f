//! The `stepline-emulator` command line, with `clap`: every flag is also an environment variable
//! (`STEPLINE_EMULATOR_…`) and a key of an optional TOML file (`--config FILE`). Flags win over the
//! environment, which wins over the file. Parsing is pure apart from reading the files it names, so it is
//! tested directly.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::seed::Seed;
use crate::strict::{quotas_from_flag, Latency};
use crate::{settings_file, EmulatorConfig, Scenario};

#[derive(Debug, Parser)]
#[command(
    name = "stepline-emulator",
    version,
    about = "The Amazon SageMaker Pipelines API (with CloudWatch Logs and STS) as a local server, with real \
             execution semantics.",
    after_help = "Point any AWS client at it, e.g. aws --endpoint-url http://127.0.0.1:4566 sagemaker list-pipelines"
)]
struct Args {
    /// A TOML file of settings, each key a flag's long name (`speed = 5`, `quota = ["default"]`); flags
    /// and environment variables override it
    #[arg(long, env = "STEPLINE_EMULATOR_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where to listen; port 0 picks a free one
    #[arg(long, env = "STEPLINE_EMULATOR_ADDR", value_name = "HOST:PORT", default_value = "127.0.0.1:4566")]
    addr: SocketAddr,
    /// Keep pipelines and executions in DIR so they survive restarts [default: memory only]
    #[arg(long, env = "STEPLINE_EMULATOR_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A JSON scenario: step durations, failures, property files, callback answers, faults
    #[arg(long, env = "STEPLINE_EMULATOR_SCENARIO", value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Simulated seconds per real second
    #[arg(long, env = "STEPLINE_EMULATOR_SPEED", default_value_t = 60.0, value_parser = positive)]
    speed: f64,
    /// Answer every call after MIN..MAX milliseconds, as the service does (e.g. 50..150)
    #[arg(long, env = "STEPLINE_EMULATOR_LATENCY", value_name = "MIN..MAX", value_parser = latency)]
    latency: Option<Latency>,
    /// Request quotas: 'default' (the service-like table) and/or Operation=RATE[/BURST], repeated or
    /// comma-separated; calls over a quota answer ThrottlingException
    #[arg(long, visible_alias = "quotas", env = "STEPLINE_EMULATOR_QUOTA", value_name = "SPEC")]
    quota: Vec<String>,
    /// Add a history at start: {"pipelines": N, "executions": M} (see the README)
    #[arg(long, env = "STEPLINE_EMULATOR_SEED", value_name = "FILE")]
    seed: Option<PathBuf>,
    /// The AWS account the emulator plays: in every ARN and in GetCallerIdentity
    #[arg(long, env = "STEPLINE_EMULATOR_ACCOUNT", value_name = "ID", default_value = "123456789012",
          value_parser = account_id)]
    account: String,
    /// The region the emulator plays: in every ARN
    #[arg(long, env = "STEPLINE_EMULATOR_REGION", value_name = "REGION", default_value = "us-east-1",
          value_parser = region_name)]
    region: String,
    /// A host name to answer for besides IP addresses and localhost (a container network's service name),
    /// repeated or comma-separated; requests naming any other host are refused (DNS rebinding)
    #[arg(long, env = "STEPLINE_EMULATOR_ALLOWED_HOST", value_name = "NAME", value_delimiter = ',',
          value_parser = host_name)]
    allowed_host: Vec<String>,
    /// The SQS queue the emulator sends SageMaker's EventBridge events to, created at start (without it,
    /// events go to `sagemaker-events` once a client creates that queue)
    #[arg(long, env = "STEPLINE_EMULATOR_EVENTS_QUEUE", value_name = "NAME", value_parser = queue_name)]
    events_queue: Option<String>,
}

fn queue_name(s: &str) -> Result<String, String> {
    let ok = (1..=80).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then(|| s.to_string()).ok_or_else(|| {
        format!("'{s}' is not a queue name: 1 to 80 letters, digits, hyphens or underscores (a standard queue)")
    })
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    Run(Box<EmulatorConfig>),
    /// Help or version text, to print and exit successfully.
    Print(String),
}

/// Parse the arguments (without the program's name). Errors name the flag and what is wrong with it.
pub fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let argv: Vec<String> = std::iter::once("stepline-emulator".to_string()).chain(args.iter().cloned()).collect();
    let matches = match settings_file::matches(Args::command(), &argv, "STEPLINE_EMULATOR_CONFIG")? {
        Ok(m) => m,
        Err(text) => return Ok(Parsed::Print(text)),
    };
    let a = Args::from_arg_matches(&matches).map_err(|e| settings_file::clap_message(&e))?;
    let mut config = EmulatorConfig {
        addr: a.addr,
        data_dir: a.data_dir,
        speed: a.speed,
        latency: a.latency,
        account: crate::jobs::Account { region: a.region, account: a.account },
        allowed_hosts: a.allowed_host,
        events_queue: a.events_queue,
        ..EmulatorConfig::default()
    };
    if let Some(path) = a.scenario {
        let text = read(&path, "--scenario")?;
        config.scenario = Some(Scenario::parse(&text).map_err(|e| format!("--scenario {}: {e}", path.display()))?);
    }
    for spec in &a.quota {
        quotas_from_flag(spec, config.quotas.get_or_insert_with(Default::default))
            .map_err(|e| format!("invalid value '{spec}' for '--quota': {e}"))?;
    }
    if let Some(path) = a.seed {
        let text = read(&path, "--seed")?;
        config.seed = Some(Seed::parse(&text).map_err(|e| format!("--seed {}: {e}", path.display()))?);
    }
    Ok(Parsed::Run(Box::new(config)))
}

fn read(path: &std::path::Path, flag: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{flag}: cannot read {}: {e}", path.display()))
}

fn positive(v: &str) -> Result<f64, String> {
    v.parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0).ok_or_else(|| format!("'{v}' is not a positive number"))
}

/// A DNS name: letters, digits, dots and hyphens.
fn host_name(v: &str) -> Result<String, String> {
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !v.starts_with(['.', '-']);
    if ok {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(format!("'{v}' is not a host name"))
    }
}

/// Twelve digits, as AWS account ids are.
fn account_id(v: &str) -> Result<String, String> {
    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(v.to_string())
    } else {
        Err(format!("'{v}' is not an AWS account id (12 digits)"))
    }
}

/// A region's name as ARNs carry it: lower-case letters, digits and dashes (`eu-west-1`).
fn region_name(v: &str) -> Result<String, String> {
    let ok = (4..=32).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("'{v}' is not a region name like eu-west-1"))
    }
}

fn latency(v: &str) -> Result<Latency, String> {
    Latency::parse(v).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap reads the environment on every parse: tests that set variables hold this lock meanwhile.
    static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn parse(v: &[&str]) -> Result<Parsed, String> {
        let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
        parse_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn run(v: &[&str]) -> EmulatorConfig {
        match parse(v).unwrap() {
            Parsed::Run(c) => *c,
            Parsed::Print(t) => panic!("expected a configuration, got {t}"),
        }
    }

    #[test]
    fn defaults_and_flags() {
        let c = run(&[]);
        assert_eq!(c.addr, SocketAddr::from(([127, 0, 0, 1], 4566)));
        assert_eq!(c.speed, 60.0);
        assert!(c.data_dir.is_none() && c.quotas.is_none() && c.latency.is_none());
        let c = run(&["--addr=127.0.0.1:0", "--speed", "5", "--latency", "50..150", "--quota", "default"]);
        assert_eq!(c.addr.port(), 0);
        assert_eq!(c.speed, 5.0);
        assert_eq!(c.latency.unwrap().max_ms, 150);
        assert!(c.quotas.unwrap().contains_key("ListPipelineExecutions"));
        assert_eq!(c.account.account, "123456789012");
        let c = run(&["--account", "210987654321", "--region", "eu-west-1"]);
        assert_eq!(c.account.arn("pipeline/P"), "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/p");
        let c = run(&["--allowed-host", "Emulator,stepline-emulator.svc", "--allowed-host", "emu"]);
        assert_eq!(c.allowed_hosts, ["emulator", "stepline-emulator.svc", "emu"]);
        // The old spelling still works.
        assert!(run(&["--quotas", "StopPipelineExecution=1/1"]).quotas.unwrap().contains_key("StopPipelineExecution"));
    }

    #[test]
    fn bad_values_are_refused_naming_the_flag() {
        for (args, needle) in [
            (&["--addr", "nope"][..], "--addr"),
            (&["--speed", "0"], "--speed"),
            (&["--account", "12345"], "--account"),
            (&["--region", "EU_WEST"], "--region"),
            (&["--allowed-host", "evil.example/x"], "--allowed-host"),
            (&["--latency", "9..1"], "--latency"),
            (&["--quota", "Nope=x"], "--quota"),
            (&["--scenario", "/nonexistent/s.json"], "--scenario: cannot read"),
            (&["--seed", "/nonexistent/s.json"], "--seed: cannot read"),
            (&["--frobnicate"], "'--frobnicate'"),
        ] {
            let e = parse(args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
        match parse(&["--help"]).unwrap() {
            Parsed::Print(help) => {
                for s in ["--data-dir", "STEPLINE_EMULATOR_QUOTA", "[default: 127.0.0.1:4566]", "--config"] {
                    assert!(help.contains(s), "help lists {s}: {help}");
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn file_then_environment_then_flags() {
        let dir = std::env::temp_dir().join(format!("stepline-emulator-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("emulator.toml");
        std::fs::write(&file, "speed = 7.5\nquota = [\"ListPipelines=2\"]\ndata-dir = \"/srv/emu\"\n").unwrap();
        let f = file.to_str().unwrap();
        let c = run(&["--config", f]);
        assert_eq!(c.speed, 7.5);
        assert_eq!(c.data_dir.as_deref(), Some(std::path::Path::new("/srv/emu")));
        assert!(c.quotas.unwrap().contains_key("ListPipelines"));
        assert_eq!(run(&["--config", f, "--speed", "2"]).speed, 2.0);
        {
            let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
            std::env::set_var("STEPLINE_EMULATOR_CONFIG", f);
            std::env::set_var("STEPLINE_EMULATOR_SPEED", "3");
            let got = parse_args(&[]);
            let flag_wins = parse_args(&["--speed".into(), "4".into()]);
            std::env::remove_var("STEPLINE_EMULATOR_CONFIG");
            std::env::remove_var("STEPLINE_EMULATOR_SPEED");
            match (got.unwrap(), flag_wins.unwrap()) {
                (Parsed::Run(c), Parsed::Run(d)) => {
                    assert_eq!((c.speed, c.data_dir.is_some()), (3.0, true));
                    assert_eq!(d.speed, 4.0);
                }
                other => panic!("{other:?}"),
            }
        }
        std::fs::write(&file, "sped = 3\n").unwrap();
        let e = parse(&["--config", f]).unwrap_err();
        assert!(e.contains("'sped' is not a setting"), "{e}");
        std::fs::write(&file, "speed = -3\n").unwrap();
        assert!(parse(&["--config", f]).unwrap_err().contains("--speed"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
