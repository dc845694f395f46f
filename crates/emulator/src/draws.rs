//! Stable draws: what the simulated jobs take their "random" details from (durations, metrics, log lines),
//! so that the same job always looks the same; and the plausible value of a metric nobody gave a value for.

/// A stable 64-bit fingerprint of some text (FNV-1a, then mixed): what the simulated jobs draw their
/// "random" details from, so that the same job always looks the same.
pub fn fingerprint(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h, 0)
}

/// Two numbers into one well-spread one (splitmix64's finaliser).
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A number in [0, 1) drawn from a fingerprint.
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether a smaller value of the metric is the better one (losses and errors), by its name.
pub fn lower_is_better(metric: &str) -> bool {
    let m = metric.to_ascii_lowercase();
    ["loss", "rmse", "mse", "mae", "mape", "error", "perplexity", "logloss"].iter().any(|k| m.contains(k))
}

/// A plausible final value of a metric nobody gave a value for, by its name: abalone-like regression errors
/// (`validation:rmse` 2.1, `mse` 4.6 as the evaluation report's default), small losses, scores near 0.9.
pub fn default_metric_value(metric: &str) -> f64 {
    let m = metric.to_ascii_lowercase();
    let value = if m.contains("rmse") {
        2.1
    } else if m.contains("mse") {
        4.6
    } else if m.contains("mae") {
        1.6
    } else if m.contains("loss") {
        0.35
    } else if m.contains("error") {
        0.12
    } else if m.contains("auc") {
        0.93
    } else if m.contains("recall") {
        0.87
    } else if m.contains("f1") {
        0.88
    } else {
        0.91
    };
    // What a model scores on its training data is a little better than on held-out data.
    match (m.starts_with("train"), lower_is_better(&m)) {
        (true, true) => value * 0.9,
        (true, false) => (value * 1.03).min(0.999),
        _ => value,
    }
}
