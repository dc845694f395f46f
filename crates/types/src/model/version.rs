//! Pipeline versions: every UpdatePipeline makes one, and an execution runs with the version it was started
//! with. What the start form offers and what the execution page says about the version it ran.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One version of a pipeline, as ListPipelineVersions lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineVersion {
    pub id: i64,
    pub created: Option<DateTime<Utc>>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// The newest execution started with this version.
    pub last_execution_arn: Option<String>,
}

/// A pipeline's definition at one version, as DescribePipeline answers with a `PipelineVersionId`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionDefinition {
    pub id: i64,
    pub definition: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
}

/// The version a start form is for, as its URL says (`?version=`): without one, a re-run takes its
/// source execution's version and a plain start the latest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pick {
    /// Whatever is latest when the execution starts.
    Latest,
    Version(i64),
}

impl Pick {
    /// `latest` or a version number; anything else is no pick.
    pub fn parse(text: &str) -> Option<Pick> {
        match text.trim() {
            "latest" => Some(Pick::Latest),
            t => t.parse::<i64>().ok().filter(|n| *n >= 1).map(Pick::Version),
        }
    }

    /// The value of `?version=` (and of the version chooser's options).
    pub fn query(self) -> String {
        match self {
            Pick::Latest => "latest".into(),
            Pick::Version(n) => n.to_string(),
        }
    }
}

/// The newest version (versions are numbered from 1 up).
pub fn latest(versions: &[PipelineVersion]) -> Option<i64> {
    versions.iter().map(|v| v.id).max()
}

/// What the execution page says of the version an execution ran: "version 3 (latest)" or "version 1,
/// older than latest (v3)". A list older than the execution (it names no newer version) says only the
/// number.
pub fn standing(version: Option<i64>, latest: Option<i64>) -> String {
    match (version, latest) {
        (None, _) => "—".into(),
        (Some(v), Some(l)) if v == l => format!("version {v} (latest)"),
        (Some(v), Some(l)) if v < l => format!("version {v}, older than latest (v{l})"),
        (Some(v), _) => format!("version {v}"),
    }
}

/// An option of the version chooser: "v2 · 2026-11-20 08:00:00 UTC · retrained — new features".
pub fn option_label(v: &PipelineVersion) -> String {
    let mut parts = vec![format!("v{}", v.id)];
    if let Some(t) = v.created {
        parts.push(crate::layout::timefmt::absolute(t));
    }
    let words: Vec<String> = [&v.display_name, &v.description]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .map(|s| crate::text::clip(s.trim(), 60))
        .collect();
    if !words.is_empty() {
        parts.push(words.join(" — "));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: i64) -> PipelineVersion {
        PipelineVersion { id, created: None, display_name: None, description: None, last_execution_arn: None }
    }

    #[test]
    fn picks_come_from_the_url() {
        assert_eq!(Pick::parse("latest"), Some(Pick::Latest));
        assert_eq!(Pick::parse(" 2 "), Some(Pick::Version(2)));
        for junk in ["", "0", "-1", "v2", "<script>"] {
            assert_eq!(Pick::parse(junk), None, "{junk}");
        }
        for p in [Pick::Latest, Pick::Version(7)] {
            assert_eq!(Pick::parse(&p.query()), Some(p));
        }
    }

    #[test]
    fn an_execution_says_whether_it_ran_the_latest_version() {
        assert_eq!(latest(&[version(1), version(3), version(2)]), Some(3));
        assert_eq!(latest(&[]), None);
        assert_eq!(standing(Some(3), Some(3)), "version 3 (latest)");
        assert_eq!(standing(Some(1), Some(3)), "version 1, older than latest (v3)");
        assert_eq!(standing(Some(4), Some(3)), "version 4");
        assert_eq!(standing(Some(2), None), "version 2");
        assert_eq!(standing(None, Some(3)), "—");
    }

    #[test]
    fn options_name_the_version_its_time_and_its_words() {
        let v = PipelineVersion {
            id: 2,
            created: DateTime::from_timestamp(1_800_000_000, 0),
            display_name: Some("retrained".into()),
            description: Some("new features".into()),
            last_execution_arn: None,
        };
        assert_eq!(option_label(&v), "v2 · 2027-01-15 08:00:00 UTC · retrained — new features");
        assert_eq!(option_label(&version(1)), "v1");
        let long = PipelineVersion { description: Some("x".repeat(100)), ..version(5) };
        assert_eq!(option_label(&long), format!("v5 · {}…", "x".repeat(59)));
    }
}
