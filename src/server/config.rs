//! Command-line configuration. Kept as a pure function of the arguments so it is tested directly.

use std::net::SocketAddr;

use super::limiter::Rate;

pub const USAGE: &str = "\
Usage: stepline [--addr HOST:PORT] [--endpoint-url URL | --aws] [--region REGION] [--demo-speed N]

  --addr HOST:PORT     where the dashboard listens (default: LEPTOS_SITE_ADDR, else 127.0.0.1:3000)
  (no backend flag)    demo mode: the built-in SageMaker emulator on a loopback port, seeded with example
                       pipelines and a history of executions
  --endpoint-url URL   any SageMaker-compatible endpoint (the standalone stepline-emulator, moto's server)
  --aws                real SageMaker through the standard AWS credential chain and region
  --region REGION      the AWS region (default: from the AWS configuration, else us-east-1)
  --demo-speed N       simulated seconds per real second for the demo's live executions (default 20)
  --demo-latency MIN..MAX
                       make the demo's emulator answer after MIN..MAX ms, as SageMaker does (e.g. 50..150)
  --demo-quota SPEC    request quotas of the demo's emulator: 'default' (service-like) or Op=RATE[/BURST],…
  --upstream-concurrency N
                       SageMaker requests in flight at most (default 8)
  --upstream-rate Op=RATE[/BURST]
                       requests a second the dashboard allows itself per operation (repeatable; '*' for the
                       rest); the defaults sit under SageMaker's usual quotas and halve on throttling
  --studio-link TEMPLATE
                       link each execution to SageMaker Studio: an https URL with {pipeline} and {id},
                       e.g. https://studio-d-xxxx.studio.us-east-1.sagemaker.aws/pipelines/view/{pipeline}/executions/{id}/graph
  -h, --help           show this help";

#[derive(Clone, Debug, PartialEq)]
pub enum Backend {
    /// The built-in emulator, seeded with example data.
    Demo { speed: f64 },
    /// A SageMaker-compatible endpoint at this URL.
    Endpoint(String),
    /// Real SageMaker.
    Aws,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub addr: SocketAddr,
    pub backend: Backend,
    pub region: Option<String>,
    /// How strict the demo's emulator is: latency and request quotas (`--demo-latency`, `--demo-quota`).
    pub demo_latency: Option<stepline_emulator::strict::Latency>,
    pub demo_quotas: Option<stepline_emulator::strict::Quotas>,
    /// The gateway's own request limits.
    pub upstream_concurrency: Option<usize>,
    pub upstream_rates: Vec<(String, Rate)>,
    pub studio_link: Option<String>,
}

#[derive(Debug, PartialEq)]
pub enum Parsed {
    Run(Config),
    Help,
}

fn default_addr() -> SocketAddr {
    std::env::var("LEPTOS_SITE_ADDR")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)))
}

pub fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let mut addr = default_addr();
    let mut endpoint = None;
    let mut aws = false;
    let mut region = None;
    let mut speed = 20.0;
    let mut demo_latency = None;
    let mut demo_quotas: Option<stepline_emulator::strict::Quotas> = None;
    let mut upstream_concurrency = None;
    let mut upstream_rates = vec![];
    let mut studio_link = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline.clone().or_else(|| it.next().cloned()).ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match flag {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--addr" => {
                let v = value("--addr")?;
                addr =
                    v.parse().map_err(|_| format!("--addr: '{v}' is not a HOST:PORT address like 127.0.0.1:3000"))?;
            }
            "--endpoint-url" => {
                let v = value("--endpoint-url")?;
                if !(v.starts_with("http://") || v.starts_with("https://")) {
                    return Err(format!("--endpoint-url: '{v}' is not an http:// or https:// URL"));
                }
                endpoint = Some(v.trim_end_matches('/').to_string());
            }
            "--aws" => aws = true,
            "--region" => region = Some(value("--region")?),
            "--demo-speed" => {
                let v = value("--demo-speed")?;
                speed = v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--demo-speed: '{v}' is not a positive number"))?;
            }
            "--demo-latency" => {
                let v = value("--demo-latency")?;
                let l = stepline_emulator::strict::Latency::parse(&v).map_err(|e| format!("--demo-latency: {e}"))?;
                demo_latency = Some(l);
            }
            "--demo-quota" => {
                let v = value("--demo-quota")?;
                stepline_emulator::strict::quotas_from_flag(&v, demo_quotas.get_or_insert_with(Default::default))
                    .map_err(|e| format!("--demo-quota: {e}"))?;
            }
            "--upstream-concurrency" => {
                let v = value("--upstream-concurrency")?;
                let n = v.parse::<usize>().ok().filter(|n| (1..=256).contains(n));
                upstream_concurrency =
                    Some(n.ok_or_else(|| format!("--upstream-concurrency: '{v}' is not a number from 1 to 256"))?);
            }
            "--studio-link" => {
                let v = value("--studio-link")?;
                if !v.starts_with("https://") || !v.contains("{id}") {
                    return Err(format!(
                        "--studio-link: '{v}' is not an https:// URL with {{pipeline}} and {{id}} in it"
                    ));
                }
                studio_link = Some(v);
            }
            "--upstream-rate" => {
                let v = value("--upstream-rate")?;
                upstream_rates.push(parse_rate(&v)?);
            }
            other => return Err(format!("unknown argument '{other}'\n\n{USAGE}")),
        }
    }
    let backend = match (endpoint, aws) {
        (Some(_), true) => return Err("--endpoint-url and --aws exclude each other: choose one backend".into()),
        (Some(url), false) => Backend::Endpoint(url),
        (None, true) => Backend::Aws,
        (None, false) => Backend::Demo { speed },
    };
    Ok(Parsed::Run(Config {
        addr,
        backend,
        region,
        demo_latency,
        demo_quotas,
        upstream_concurrency,
        upstream_rates,
        studio_link,
    }))
}

/// `Operation=RATE[/BURST]`: requests a second, and at once.
fn parse_rate(v: &str) -> Result<(String, Rate), String> {
    let bad =
        || format!("--upstream-rate: '{v}' is not Operation=RATE[/BURST] with RATE above 0 (e.g. ListPipelines=2/4)");
    let (op, spec) = v.split_once('=').ok_or_else(bad)?;
    let (rate, burst) = match spec.split_once('/') {
        Some((r, b)) => (r.parse::<f64>().map_err(|_| bad())?, b.parse::<f64>().map_err(|_| bad())?),
        None => {
            let r = spec.parse::<f64>().map_err(|_| bad())?;
            (r, r.max(1.0))
        }
    };
    let valid_op = op == "*" || (!op.is_empty() && op.chars().all(|c| c.is_ascii_alphanumeric()));
    if !(valid_op && rate.is_finite() && rate > 0.0 && burst.is_finite() && burst >= 1.0) {
        return Err(bad());
    }
    Ok((op.to_string(), Rate { per_second: rate, burst }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn run(v: &[&str]) -> Config {
        match parse_args(&args(v)).unwrap() {
            Parsed::Run(c) => c,
            Parsed::Help => panic!("expected a run configuration"),
        }
    }

    #[test]
    fn addr_flag_in_both_spellings() {
        assert_eq!(run(&["--addr", "127.0.0.1:4000"]).addr.port(), 4000);
        assert_eq!(run(&["--addr=127.0.0.1:4001"]).addr.port(), 4001);
    }

    #[test]
    fn backends() {
        assert_eq!(run(&[]).backend, Backend::Demo { speed: 20.0 });
        assert_eq!(run(&["--demo-speed", "5"]).backend, Backend::Demo { speed: 5.0 });
        assert_eq!(
            run(&["--endpoint-url", "http://127.0.0.1:5000/"]).backend,
            Backend::Endpoint("http://127.0.0.1:5000".into())
        );
        let c = run(&["--aws", "--region", "eu-west-1"]);
        assert_eq!(c.backend, Backend::Aws);
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn bad_input_is_named() {
        let e = parse_args(&args(&["--addr", "nope"])).unwrap_err();
        assert!(e.contains("'nope' is not a HOST:PORT"), "{e}");
        let e = parse_args(&args(&["--frobnicate"])).unwrap_err();
        assert!(e.contains("unknown argument '--frobnicate'"), "{e}");
        let e = parse_args(&args(&["--addr"])).unwrap_err();
        assert!(e.contains("--addr needs a value"), "{e}");
        let e = parse_args(&args(&["--aws", "--endpoint-url", "http://x"])).unwrap_err();
        assert!(e.contains("exclude each other"), "{e}");
        let e = parse_args(&args(&["--endpoint-url", "localhost:5000"])).unwrap_err();
        assert!(e.contains("not an http"), "{e}");
        let e = parse_args(&args(&["--upstream-rate", "ListPipelines=0"])).unwrap_err();
        assert!(e.contains("--upstream-rate: 'ListPipelines=0'"), "{e}");
        let e = parse_args(&args(&["--demo-latency", "9..1"])).unwrap_err();
        assert!(e.contains("--demo-latency"), "{e}");
        let e = parse_args(&args(&["--upstream-concurrency", "0"])).unwrap_err();
        assert!(e.contains("from 1 to 256"), "{e}");
        let c = run(&["--upstream-rate", "ListPipelines=2/4", "--demo-quota", "default", "--demo-latency", "50..150"]);
        assert_eq!(c.upstream_rates, vec![("ListPipelines".to_string(), Rate { per_second: 2.0, burst: 4.0 })]);
        assert!(c.demo_quotas.unwrap().contains_key("ListPipelineExecutions"));
        assert_eq!(c.demo_latency.unwrap().max_ms, 150);
        let e = parse_args(&args(&["--studio-link", "http://x/{id}"])).unwrap_err();
        assert!(e.contains("--studio-link"), "{e}");
        let e = parse_args(&args(&["--demo-speed", "-1"])).unwrap_err();
        assert!(e.contains("not a positive number"), "{e}");
        assert_eq!(parse_args(&args(&["-h"])).unwrap(), Parsed::Help);
    }
}
