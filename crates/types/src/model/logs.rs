//! A step's job logs as the execution page shows them: streams, numbered lines, what is known about
//! where the logs are, and the pure text work on lines (ANSI colours, finding the first error).

use serde::{Deserialize, Serialize};

/// Lines the logs tab shows at first (the newest), and the size of each "load earlier" page.
pub const TAIL_LINES: usize = 1_000;

/// A line of a stream: its number from the stream's first event (1-based), its time (ms since the
/// epoch) and its text as the container wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub n: u64,
    pub at: i64,
    pub text: String,
}

/// A log stream of a job, with the short label its tab shows (`algo-1`, `algo-2`, `…/data-log`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRef {
    pub name: String,
    pub label: String,
}

impl StreamRef {
    /// A stream named `<job>/<instance>-<epoch seconds>[/data-log]`, labelled by its instance.
    pub fn new(name: &str, prefix: &str) -> StreamRef {
        let rest = name.strip_prefix(prefix).unwrap_or(name).trim_start_matches('/');
        let (instance, tail) = rest.split_once('/').map_or((rest, None), |(a, b)| (a, Some(b)));
        // The instance part ends with the time the stream was made; the tab does not need it.
        let instance = match instance.rsplit_once('-') {
            Some((head, epoch))
                if !head.is_empty() && epoch.len() >= 9 && epoch.bytes().all(|b| b.is_ascii_digit()) =>
            {
                head
            }
            _ => instance,
        };
        let label = match tail {
            Some(t) => format!("{instance} {t}"),
            None => instance.to_string(),
        };
        StreamRef { name: name.to_string(), label }
    }
}

/// Where a step's logs are, when they cannot be shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LogsState {
    /// Lines are shown.
    Ready,
    /// The step has not started a job yet.
    NotStarted,
    /// This kind of step writes no CloudWatch logs of its own (named: "Condition step", "Model step"…).
    NoLogs(String),
    /// The job runs but has made no stream yet (its instances are starting).
    NoStreams,
    /// The log group does not exist in this account and region.
    GroupMissing(String),
    /// CloudWatch refused: the IAM action the dashboard's role needs, and CloudWatch's message.
    Denied { action: String, message: String },
    /// CloudWatch failed otherwise.
    Failed(crate::model::Upstream),
}

/// The logs tab of a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogsPage {
    pub pipeline: String,
    pub id: String,
    pub step: String,
    pub job: Option<String>,
    pub group: Option<String>,
    pub streams: Vec<StreamRef>,
    /// The stream shown (one of `streams`).
    pub stream: Option<String>,
    pub state: LogsState,
    /// The lines shown, oldest first.
    pub lines: Vec<LogLine>,
    /// Lines in the stream so far.
    pub total: u64,
    /// The job still runs: the stream may grow.
    pub running: bool,
    /// The first line that looks like an error, in the whole stream.
    pub first_error: Option<u64>,
    pub search: Option<Search>,
}

impl LogsPage {
    pub fn empty(pipeline: &str, id: &str, step: &str, state: LogsState) -> LogsPage {
        LogsPage {
            pipeline: pipeline.to_string(),
            id: id.to_string(),
            step: step.to_string(),
            job: None,
            group: None,
            streams: vec![],
            stream: None,
            state,
            lines: vec![],
            total: 0,
            running: false,
            first_error: None,
            search: None,
        }
    }

    /// The number of the first line shown, when there are earlier ones to load.
    pub fn earlier(&self) -> Option<u64> {
        self.lines.first().map(|l| l.n).filter(|n| *n > 1)
    }
}

/// A search within a stream: the terms and the matching lines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Search {
    pub query: String,
    pub matches: Vec<LogLine>,
    /// More lines matched than are shown.
    pub more: bool,
}

/// The IAM action a failed CloudWatch Logs operation needs.
pub fn iam_action(operation: &str) -> String {
    format!("logs:{operation}")
}

/// Whether a line starts or reports an error: a Python traceback, an `Error:`/`Exception` or an
/// `ERROR` level.
pub fn looks_like_error(text: &str) -> bool {
    let plain = strip_ansi(text);
    plain.starts_with("Traceback (most recent call last)")
        || plain.contains("ERROR")
        || plain.contains("Error:")
        || plain.contains("Exception:")
        || plain.contains("FATAL")
}

/// The terms a search highlights: what CloudWatch's plain-term filter matches (quoted phrases kept
/// whole, `?`-alternatives without the `?`).
pub fn search_terms(query: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut rest = query.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            let (phrase, tail) = after.split_once('"').unwrap_or((after, ""));
            if !phrase.is_empty() {
                terms.push(phrase.to_string());
            }
            rest = tail.trim_start();
        } else {
            let (word, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let word = word.trim_start_matches('?');
            if !word.is_empty() {
                terms.push(word.to_string());
            }
            rest = tail.trim_start();
        }
    }
    terms
}

/// A run of text in one style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Styled {
    pub text: String,
    /// The SGR foreground colour 30–37 or 90–97, as its number.
    pub fg: Option<u8>,
    pub bold: bool,
    /// Part of a search match.
    pub mark: bool,
}

/// A line's text without its ANSI escape sequences.
pub fn strip_ansi(text: &str) -> String {
    ansi(text).into_iter().map(|s| s.text).collect()
}

/// The runs of a line as its ANSI SGR codes style them (colours and bold; every other escape sequence
/// is dropped, never shown as garbage).
pub fn ansi(text: &str) -> Vec<Styled> {
    let mut out: Vec<Styled> = Vec::new();
    let (mut fg, mut bold) = (None, false);
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let flush = |out: &mut Vec<Styled>, cur: &mut String, fg: Option<u8>, bold: bool| {
        if !cur.is_empty() {
            out.push(Styled { text: std::mem::take(cur), fg, bold, mark: false });
        }
    };
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            cur.push(c);
            continue;
        }
        // ESC [ params final-byte: a CSI sequence; only `m` (SGR) changes the style.
        if chars.peek() != Some(&'[') {
            chars.next();
            continue;
        }
        chars.next();
        let mut params = String::new();
        let mut fin = None;
        for d in chars.by_ref() {
            if ('\u{40}'..='\u{7e}').contains(&d) {
                fin = Some(d);
                break;
            }
            params.push(d);
        }
        if fin != Some('m') {
            continue;
        }
        flush(&mut out, &mut cur, fg, bold);
        let codes: Vec<u32> = if params.is_empty() {
            vec![0]
        } else {
            params.split(';').map(|p| p.parse().unwrap_or(u32::MAX)).collect()
        };
        for code in codes {
            match code {
                0 => (fg, bold) = (None, false),
                1 => bold = true,
                22 => bold = false,
                39 => fg = None,
                30..=37 | 90..=97 => fg = Some(code as u8),
                _ => {}
            }
        }
    }
    flush(&mut out, &mut cur, fg, bold);
    out
}

/// The runs of a line with the occurrences of `terms` marked (split where a match starts or ends).
pub fn highlight(runs: Vec<Styled>, terms: &[String]) -> Vec<Styled> {
    if terms.is_empty() {
        return runs;
    }
    let plain: String = runs.iter().map(|r| r.text.as_str()).collect();
    let mut marked = vec![false; plain.len()];
    for t in terms.iter().filter(|t| !t.is_empty()) {
        for (i, _) in plain.match_indices(t.as_str()) {
            marked[i..i + t.len()].iter_mut().for_each(|m| *m = true);
        }
    }
    let mut out: Vec<Styled> = Vec::new();
    let mut at = 0;
    for r in runs {
        let mut start = 0;
        let bytes: Vec<(usize, char)> = r.text.char_indices().collect();
        for (k, (i, _)) in bytes.iter().enumerate() {
            let m = marked[at + i];
            let next_m = bytes.get(k + 1).map(|(j, _)| marked[at + j]);
            if next_m != Some(m) {
                let end = bytes.get(k + 1).map_or(r.text.len(), |(j, _)| *j);
                out.push(Styled { text: r.text[start..end].to_string(), fg: r.fg, bold: r.bold, mark: m });
                start = end;
            }
        }
        at += r.text.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_labelled_by_instance() {
        let s = StreamRef::new("pipelines-abc-Train-x1/algo-1-1700000000", "pipelines-abc-Train-x1/");
        assert_eq!(s.label, "algo-1");
        let s = StreamRef::new("job/i-0abc-1700000000/data-log", "job/");
        assert_eq!(s.label, "i-0abc data-log");
        // A name that does not end with a time keeps its whole instance part.
        assert_eq!(StreamRef::new("job/custom", "job/").label, "custom");
    }

    #[test]
    fn ansi_colours_become_runs_and_other_escapes_vanish() {
        let runs = ansi("\u{1b}[32mINFO\u{1b}[0m ready \u{1b}[1;31mbad\u{1b}[0m\u{1b}[2K");
        assert_eq!(
            runs,
            vec![
                Styled { text: "INFO".into(), fg: Some(32), bold: false, mark: false },
                Styled { text: " ready ".into(), fg: None, bold: false, mark: false },
                Styled { text: "bad".into(), fg: Some(31), bold: true, mark: false },
            ]
        );
        assert_eq!(strip_ansi("a\u{1b}[999;12mb\u{1b}"), "ab");
        // Markup is text: nothing here interprets it.
        assert_eq!(strip_ansi("<b>&amp;</b>"), "<b>&amp;</b>");
    }

    #[test]
    fn highlights_split_runs_at_matches() {
        let runs = highlight(ansi("loss: 0.5 \u{1b}[31mloss\u{1b}[0m"), &["loss".into()]);
        let marked: Vec<(&str, bool)> = runs.iter().map(|r| (r.text.as_str(), r.mark)).collect();
        assert_eq!(marked, vec![("loss", true), (": 0.5 ", false), ("loss", true)]);
        assert_eq!(runs[2].fg, Some(31));
        // Multi-byte text is never split inside a character.
        let runs = highlight(ansi("é-loss-é"), &["loss".into()]);
        assert_eq!(runs.iter().map(|r| r.text.as_str()).collect::<String>(), "é-loss-é");
    }

    #[test]
    fn search_terms_follow_cloudwatch_plain_terms() {
        assert_eq!(search_terms(r#"ERROR "out of memory" ?oom"#), vec!["ERROR", "out of memory", "oom"]);
        assert!(search_terms("   ").is_empty());
    }

    #[test]
    fn errors_are_recognised() {
        assert!(looks_like_error("Traceback (most recent call last):"));
        assert!(looks_like_error("\u{1b}[31mERROR\u{1b}[0m disk full"));
        assert!(looks_like_error("ValueError: bad input"));
        assert!(!looks_like_error("epoch 3/20 - loss: 0.43"));
    }
}
