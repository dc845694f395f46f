//! Line diffs of pipeline definitions: what changed between the version an execution ran and the latest.
//! The definitions are pretty-printed first, so a change shows as the lines it touches, not as one line
//! of a megabyte. Computed on the server (`similar`); the page renders the lines.

use serde::{Deserialize, Serialize};

/// Whether a line is in both texts, only the new one, or only the old one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tag {
    Same,
    Added,
    Removed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub tag: Tag,
    /// Its line numbers (from 1) in the old and the new text.
    pub old: Option<usize>,
    pub new: Option<usize>,
    pub text: String,
}

/// Changed lines with a few unchanged ones around them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    /// Unchanged lines left out before this hunk.
    pub skipped: usize,
    pub lines: Vec<Line>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineDiff {
    pub hunks: Vec<Hunk>,
    pub added: usize,
    pub removed: usize,
    /// Unchanged lines left out after the last hunk.
    pub skipped_after: usize,
}

impl LineDiff {
    pub fn is_empty(&self) -> bool {
        self.added == 0 && self.removed == 0
    }
}

/// A JSON text pretty-printed (two-space indents, one member a line); a text that is not JSON as it is.
pub fn pretty_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string()),
        Err(_) => text.to_string(),
    }
}

/// How long a diff may search for the smallest set of changes before it settles for a larger one.
#[cfg(feature = "ssr")]
const DIFF_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// The lines that differ between `old` and `new`, in hunks with `context` unchanged lines around them.
#[cfg(feature = "ssr")]
pub fn lines(old: &str, new: &str, context: usize) -> LineDiff {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::configure().timeout(DIFF_TIME).diff_lines(old, new);
    let mut out = LineDiff::default();
    let mut shown_to = 0; // old lines before this index are shown or counted as skipped
    for group in diff.grouped_ops(context) {
        let Some(first) = group.first() else { continue };
        let mut hunk = Hunk { skipped: first.old_range().start - shown_to, lines: vec![] };
        for op in &group {
            for change in diff.iter_changes(op) {
                let tag = match change.tag() {
                    ChangeTag::Equal => Tag::Same,
                    ChangeTag::Insert => {
                        out.added += 1;
                        Tag::Added
                    }
                    ChangeTag::Delete => {
                        out.removed += 1;
                        Tag::Removed
                    }
                };
                hunk.lines.push(Line {
                    tag,
                    old: change.old_index().map(|i| i + 1),
                    new: change.new_index().map(|i| i + 1),
                    text: change.value().trim_end_matches(['\n', '\r']).to_string(),
                });
            }
            shown_to = op.old_range().end;
        }
        out.hunks.push(hunk);
    }
    out.skipped_after = diff.old_len().saturating_sub(shown_to);
    out
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn changed_lines_come_with_their_context_and_numbers() {
        let old = numbered(20);
        let new = old.replace("line 10\n", "line ten\n").replace("line 15\n", "");
        let d = lines(&old, &new, 2);
        assert_eq!((d.added, d.removed), (1, 2));
        assert_eq!(d.hunks.len(), 1, "{d:?}");
        let h = &d.hunks[0];
        assert_eq!(h.skipped, 7, "lines 1-7 are left out");
        let first = &h.lines[0];
        assert_eq!((first.tag, first.old, first.new, first.text.as_str()), (Tag::Same, Some(8), Some(8), "line 8"));
        let changed: Vec<(Tag, &str)> =
            h.lines.iter().filter(|l| l.tag != Tag::Same).map(|l| (l.tag, l.text.as_str())).collect();
        assert_eq!(changed, [(Tag::Removed, "line 10"), (Tag::Added, "line ten"), (Tag::Removed, "line 15")]);
        let last = h.lines.last().unwrap();
        assert_eq!((last.old, last.new), (Some(17), Some(16)));
        assert_eq!(d.skipped_after, 3, "lines 18-20");
    }

    #[test]
    fn far_apart_changes_are_separate_hunks() {
        let old = numbered(40);
        let new = old.replace("line 2\n", "line two\n").replace("line 38\n", "line thirty-eight\n");
        let d = lines(&old, &new, 3);
        assert_eq!(d.hunks.len(), 2);
        assert_eq!(d.hunks[0].skipped, 0);
        // The first hunk shows lines 1-5, the second starts at line 35.
        assert_eq!(d.hunks[1].skipped, 29);
        assert_eq!(d.skipped_after, 0);
    }

    #[test]
    fn the_same_text_has_no_hunks() {
        let d = lines("a\nb\n", "a\nb\n", 3);
        assert!(d.is_empty() && d.hunks.is_empty());
        assert_eq!(d.skipped_after, 2);
    }

    #[test]
    fn definitions_are_compared_pretty_printed() {
        let old = pretty_json(r#"{"Version":"2020-12-01","Parameters":[{"Name":"A","DefaultValue":"1"}]}"#);
        let new = pretty_json(r#"{"Version": "2020-12-01", "Parameters": [{"Name": "A", "DefaultValue": "2"}]}"#);
        assert!(old.lines().count() > 5, "{old}");
        let d = lines(&old, &new, 1);
        assert_eq!((d.added, d.removed), (1, 1));
        // (Members keep their order or are sorted, as serde_json is built: the comma after depends on it.)
        let changed: Vec<&str> = d.hunks[0]
            .lines
            .iter()
            .filter(|l| l.tag != Tag::Same)
            .map(|l| l.text.trim().trim_end_matches(','))
            .collect();
        assert_eq!(changed, [r#""DefaultValue": "1""#, r#""DefaultValue": "2""#]);
        assert_eq!(pretty_json("not json"), "not json");
    }
}
