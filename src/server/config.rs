//! Command-line configuration. Kept as a pure function of the arguments so it is tested directly.

use std::net::SocketAddr;

pub const USAGE: &str = "\
Usage: stepline [--addr HOST:PORT]

  --addr HOST:PORT   where the dashboard listens (default: LEPTOS_SITE_ADDR, else 127.0.0.1:3000)
  -h, --help         show this help";

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub addr: SocketAddr,
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
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match flag {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--addr" => {
                let v = value("--addr")?;
                addr = v
                    .parse()
                    .map_err(|_| format!("--addr: '{v}' is not a HOST:PORT address like 127.0.0.1:3000"))?;
            }
            other => return Err(format!("unknown argument '{other}'\n\n{USAGE}")),
        }
    }
    Ok(Parsed::Run(Config { addr }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn addr_flag_in_both_spellings() {
        for a in [args(&["--addr", "127.0.0.1:4000"]), args(&["--addr=127.0.0.1:4000"])] {
            match parse_args(&a).unwrap() {
                Parsed::Run(c) => assert_eq!(c.addr.port(), 4000),
                Parsed::Help => panic!("expected a run configuration"),
            }
        }
    }

    #[test]
    fn bad_input_is_named() {
        let e = parse_args(&args(&["--addr", "nope"])).unwrap_err();
        assert!(e.contains("'nope' is not a HOST:PORT"), "{e}");
        let e = parse_args(&args(&["--frobnicate"])).unwrap_err();
        assert!(e.contains("unknown argument '--frobnicate'"), "{e}");
        let e = parse_args(&args(&["--addr"])).unwrap_err();
        assert!(e.contains("--addr needs a value"), "{e}");
        assert_eq!(parse_args(&args(&["-h"])).unwrap(), Parsed::Help);
    }
}
