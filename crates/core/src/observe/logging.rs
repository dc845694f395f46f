//! Where log lines go and how they look: `tracing`'s events written to standard output, one line each,
//! human-readable (`--log-format text`, coloured only on a terminal) or one JSON object a line
//! (`--log-format json`, every field at the top level, as collectors index them), kept or dropped as the
//! `RUST_LOG` filter says (`info` when it is unset).

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The filter when `RUST_LOG` says nothing: Stepline's lines and every library's notices and warnings.
pub const DEFAULT_FILTER: &str = "info";

/// Send this process's log lines to standard output. A `RUST_LOG` that is not a filter is refused (silently
/// dropping a directive would hide the lines someone asked for). Installing twice in one process keeps the
/// first (tests that serve more than once).
pub fn init(format: LogFormat) -> Result<(), String> {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref())?;
    let ansi = std::io::stdout().is_terminal();
    let _ = subscriber(format, filter, std::io::stdout, ansi).try_init();
    Ok(())
}

/// The filter `RUST_LOG` names (`info`, `warn,stepline_core=debug`, `stepline::upstream=off`), or the default.
pub fn filter(directives: Option<&str>) -> Result<EnvFilter, String> {
    match directives.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(EnvFilter::new(DEFAULT_FILTER)),
        Some(d) => EnvFilter::try_new(d).map_err(|e| format!("RUST_LOG='{d}' is not a log filter: {e}")),
    }
}

/// The subscriber, writing to `writer`: standard output in the server, a buffer in tests, `/dev/null` in
/// the benchmark.
pub fn subscriber<W>(format: LogFormat, filter: EnvFilter, writer: W, ansi: bool) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let base = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Text => Box::new(base.with_ansi(ansi).finish()),
        LogFormat::Json => {
            Box::new(base.json().flatten_event(true).with_current_span(false).with_span_list(false).finish())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Lines written into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(format: LogFormat, rust_log: Option<&str>, emit: impl FnOnce()) -> String {
        let buf = Buffer::default();
        let out = buf.clone();
        let sub = subscriber(format, filter(rust_log).unwrap(), move || out.clone(), false);
        tracing::subscriber::with_default(sub, emit);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        text
    }

    #[test]
    fn json_lines_carry_every_field_at_the_top_level() {
        let out = lines(
            LogFormat::Json,
            None,
            || tracing::info!(target: "stepline::request", route = "/pipelines/{pipeline}", status = 200u16, "request"),
        );
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["route"], "/pipelines/{pipeline}");
        assert_eq!(v["status"], 200);
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "stepline::request");
        assert!(v["timestamp"].is_string(), "{v}");
    }

    #[test]
    fn the_default_keeps_info_and_rust_log_narrows_it() {
        let emit = || {
            tracing::debug!(target: "stepline::upstream", "a debug line");
            tracing::info!(target: "stepline::upstream", "an upstream line");
            tracing::info!(target: "stepline::request", "a request line");
        };
        let all = lines(LogFormat::Text, None, emit);
        assert!(all.contains("an upstream line") && all.contains("a request line"), "{all}");
        assert!(!all.contains("a debug line"), "{all}");
        let some = lines(LogFormat::Text, Some("info,stepline::upstream=off"), emit);
        assert!(!some.contains("an upstream line") && some.contains("a request line"), "{some}");
        assert!(filter(Some("info,stepline=loud")).unwrap_err().contains("RUST_LOG='info,stepline=loud'"));
    }
}
