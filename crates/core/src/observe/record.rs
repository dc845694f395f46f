//! What the gateway's limiter and the activity log report: one log line and its metrics for each upstream
//! call, the limiter's waits and refusals, and each record appended.

use std::time::Duration;
use stepline_types::model::OwnCode;

use super::{ACTIVITY_WRITES, LIMITER_WAIT, UPSTREAM_CALLS, UPSTREAM_DURATION, UPSTREAM_HELD_BACK, UPSTREAM_THROTTLES};
use stepline_types::model::{Upstream, UpstreamKind};

/// Milliseconds with three decimals, as log lines show latencies.
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// An answer's outcome as a label: `ok`, or its code when it looks like one (codes are the service's own,
/// or the gateway's for failures where no service answered); anything else an endpoint might send is
/// `other`, so a label never grows without bound.
pub fn outcome(answer: Result<(), &Upstream>) -> &str {
    match answer {
        Ok(()) => "ok",
        Err(e) if is_code(&e.code) => &e.code,
        Err(_) => "other",
    }
}

fn is_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
}

/// One upstream call answered (the limiter's `Turn::finish`): `took` from its turn to its answer, `waited`
/// for the turn itself, `throttled` when upstream said to slow down. Failures that mean Stepline cannot
/// work (throttled, no credentials, no answer) are warnings; answers such as "not found" are information.
/// `place` names the account and region when several are shown (empty otherwise: no label).
pub fn upstream_call(
    place: &'static str,
    operation: &'static str,
    answer: Result<(), &Upstream>,
    took: Duration,
    waited: Duration,
) {
    let outcome = outcome(answer);
    let throttled = matches!(answer, Err(e) if e.is_throttling() && !e.is(OwnCode::HeldBack));
    let warn = matches!(
        answer.map_err(Upstream::kind),
        Err(UpstreamKind::Throttled
            | UpstreamKind::Credentials
            | UpstreamKind::Unreachable
            | UpstreamKind::Timeout
            | UpstreamKind::AccessDenied)
    );
    let (latency_ms, wait_ms) = (millis(took), millis(waited));
    match (warn, place.is_empty()) {
        (true, true) => {
            tracing::warn!(target: "stepline::upstream", operation, outcome, latency_ms, wait_ms, throttled, "upstream call")
        }
        (true, false) => tracing::warn!(
            target: "stepline::upstream", place, operation, outcome, latency_ms, wait_ms, throttled, "upstream call"
        ),
        (false, true) => {
            tracing::info!(target: "stepline::upstream", operation, outcome, latency_ms, wait_ms, throttled, "upstream call")
        }
        (false, false) => tracing::info!(
            target: "stepline::upstream", place, operation, outcome, latency_ms, wait_ms, throttled, "upstream call"
        ),
    }
    if place.is_empty() {
        metrics::counter!(UPSTREAM_CALLS, "operation" => operation, "outcome" => outcome.to_string()).increment(1);
        metrics::histogram!(UPSTREAM_DURATION, "operation" => operation).record(took.as_secs_f64());
        if throttled {
            metrics::counter!(UPSTREAM_THROTTLES, "operation" => operation).increment(1);
        }
    } else {
        metrics::counter!(UPSTREAM_CALLS, "place" => place, "operation" => operation, "outcome" => outcome.to_string())
            .increment(1);
        metrics::histogram!(UPSTREAM_DURATION, "place" => place, "operation" => operation).record(took.as_secs_f64());
        if throttled {
            metrics::counter!(UPSTREAM_THROTTLES, "place" => place, "operation" => operation).increment(1);
        }
    }
}

/// A turn given after `waited` (for the token bucket and a free slot).
pub fn limiter_wait(operation: &'static str, waited: Duration) {
    metrics::histogram!(LIMITER_WAIT, "operation" => operation).record(waited.as_secs_f64());
}

/// A call the limiter refused to send: its turn was too far away.
pub fn held_back(place: &'static str, operation: &'static str) {
    let outcome = stepline_types::model::HELD_BACK;
    if place.is_empty() {
        tracing::info!(target: "stepline::upstream", operation, outcome, "upstream call held back");
        metrics::counter!(UPSTREAM_HELD_BACK, "operation" => operation).increment(1);
    } else {
        tracing::info!(target: "stepline::upstream", place, operation, outcome, "upstream call held back");
        metrics::counter!(UPSTREAM_HELD_BACK, "place" => place, "operation" => operation).increment(1);
    }
}

/// A record appended to the activity log, or not.
pub fn activity_write(action: &'static str, written: bool) {
    let result = if written { "ok" } else { "error" };
    metrics::counter!(ACTIVITY_WRITES, "action" => action, "result" => result).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_ok_or_a_code_and_never_free_text() {
        assert_eq!(outcome(Ok(())), "ok");
        let e = Upstream::new("ThrottlingException", "Rate exceeded");
        assert_eq!(outcome(Err(&e)), "ThrottlingException");
        let e = Upstream::new("Value 'tok-123' at 'callbackToken' failed", "x");
        assert_eq!(outcome(Err(&e)), "other");
        let e = Upstream::new("", "x");
        assert_eq!(outcome(Err(&e)), "other");
    }

    #[test]
    fn milliseconds_keep_three_decimals() {
        assert_eq!(millis(Duration::from_micros(1234)), 1.234);
        assert_eq!(millis(Duration::from_nanos(1_234_567)), 1.235);
    }
}
