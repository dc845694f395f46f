//! One step's logs side by side: each execution's job log from a little before its first error (else its
//! end), with the lines that appear in no other execution's log marked.

use serde::{Deserialize, Serialize};

use crate::model::logs::LogLine;

/// Lines shown per execution.
pub const SHOWN: usize = 200;
/// Lines shown before the first error.
const BEFORE_ERROR: u64 = 20;

/// One execution's log of the chosen step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogColumn {
    pub lines: Vec<LogLine>,
    /// Of each line: it appears in no other execution's log (numbers aside).
    pub only_here: Vec<bool>,
    /// The number of the log's first error line, when there is one.
    pub first_error: Option<u64>,
    /// Why there is no log (not a job step, not started, no stream…).
    pub missing: Option<String>,
}

/// The chosen step's logs side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogsSideBySide {
    pub step: String,
    pub columns: Vec<LogColumn>,
}

/// The lines worth showing of a log: from `BEFORE_ERROR` lines before its first error, else its last
/// `SHOWN` lines.
pub fn window(lines: Vec<LogLine>, first_error: Option<u64>) -> Vec<LogLine> {
    match first_error {
        Some(at) => {
            let from = at.saturating_sub(BEFORE_ERROR);
            lines.into_iter().filter(|l| l.n >= from).take(SHOWN).collect()
        }
        None => {
            let skip = lines.len().saturating_sub(SHOWN);
            lines.into_iter().skip(skip).collect()
        }
    }
}

/// A line as compared: digits folded, so timestamps, counters and ids do not make every line unique.
fn shape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// Of each line of each column: whether no other column has a line of its shape. With one column,
/// nothing is marked.
pub fn only_here(columns: &[Vec<LogLine>]) -> Vec<Vec<bool>> {
    let shapes: Vec<std::collections::HashSet<String>> =
        columns.iter().map(|c| c.iter().map(|l| shape(&l.text)).collect()).collect();
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.iter()
                .map(|l| {
                    let s = shape(&l.text);
                    columns.len() > 1 && shapes.iter().enumerate().all(|(j, other)| j == i || !other.contains(&s))
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<LogLine> {
        texts.iter().enumerate().map(|(i, t)| LogLine { n: i as u64 + 1, at: 0, text: t.to_string() }).collect()
    }

    #[test]
    fn lines_in_one_log_only_are_marked_numbers_aside() {
        let a = lines(&["epoch 1 loss 0.5", "epoch 2 loss 0.4", "done"]);
        let b = lines(&["epoch 1 loss 0.7", "Traceback (most recent call last):", "MemoryError"]);
        let marks = only_here(&[a.clone(), b]);
        assert_eq!(marks[0], [false, false, true], "an epoch line is in both, whatever its numbers");
        assert_eq!(marks[1], [false, true, true]);
        assert_eq!(only_here(&[a]), [vec![false, false, false]], "alone, nothing is different");
    }

    #[test]
    fn the_window_starts_before_the_first_error_else_at_the_end() {
        let many: Vec<String> = (1..=500).map(|i| format!("line {i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let w = window(lines(&refs), Some(300));
        assert_eq!((w.first().unwrap().n, w.len()), (280, SHOWN));
        let w = window(lines(&refs), None);
        assert_eq!((w.first().unwrap().n, w.last().unwrap().n), (301, 500));
    }
}
