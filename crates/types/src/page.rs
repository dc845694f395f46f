//! What each page shows, as the server functions answer it: the data types of the pages, shared by the
//! server (which fills them) and the browser (which renders them).

use serde::{Deserialize, Serialize};

use crate::model::{ExecutionSummary, ExecutionView, Freshness, PipelineDetail, PipelineSummary};

/// A row of the pipelines page: the pipeline and its newest execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineRow {
    pub pipeline: PipelineSummary,
    pub newest: Newest,
}

/// What is known of a pipeline's newest execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Newest {
    /// The pipeline has never run.
    Never,
    Run(ExecutionSummary),
    /// SageMaker did not say (and nothing was known before): never shown as "never run".
    Unknown(crate::model::Upstream),
    /// Not asked yet: with many pipelines the newest executions are asked a few at a time, within the
    /// request quota.
    Pending,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelinesPage {
    /// The pipelines the person may read.
    pub rows: Vec<PipelineRow>,
    pub backend: String,
    pub freshness: Freshness,
    pub me: crate::model::access::Me,
    /// The person has no grant at all: the page says so and whom to ask.
    pub no_grant: bool,
}

/// The query of an executions list, as it stands in the URL.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub statuses: Vec<String>,
    /// RFC 3339 or `YYYY-MM-DD`.
    pub after: Option<String>,
    pub before: Option<String>,
    pub oldest_first: bool,
    pub size: Option<usize>,
    pub cursor: Option<String>,
    /// Parameters to show as columns.
    pub params: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRow {
    pub summary: ExecutionSummary,
    /// When it finished (the last modification of a finished execution).
    pub end: Option<chrono::DateTime<chrono::Utc>>,
    /// Values of the chosen parameter columns, in the order asked.
    pub params: Vec<Option<String>>,
    /// Who started it: the person, when started through Stepline; else SageMaker's `CreatedBy` when
    /// known (it is not in the list's answer).
    pub started_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionsPage {
    /// The pipeline's summary: the list refreshes often and never needs the definition (up to 1 MB).
    pub pipeline: PipelineSummary,
    pub rows: Vec<ExecutionRow>,
    pub next_cursor: Option<String>,
    pub total_matching: usize,
    pub total: usize,
    /// Parameter names of the pipeline's definition, for the column chooser.
    pub parameter_names: Vec<String>,
    pub freshness: Freshness,
    /// How much of the pipeline's history the counts and the filter saw.
    pub coverage: Coverage,
    pub me: crate::model::access::Me,
}

/// How far a listing of executions got: counts and filters are over the `scanned` newest (or oldest, or
/// in range) unless `complete`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub scanned: usize,
    pub complete: bool,
    /// Stopped at the most Stepline keeps of one listing.
    pub capped: bool,
    /// Listing further is under way (within the request quota).
    pub scanning: bool,
}

impl Coverage {
    /// "newest 20,000 of this pipeline scanned; scanning…", or nothing when the listing is complete.
    pub fn note(&self, what: &str) -> Option<String> {
        if self.complete {
            return None;
        }
        let n = crate::text::thousands(self.scanned);
        Some(if self.capped {
            format!("{what} {n} executions scanned, the most Stepline keeps of one listing")
        } else if self.scanning {
            format!("{what} {n} executions scanned; scanning further…")
        } else {
            format!("{what} {n} executions scanned; more exist")
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionPage {
    pub view: ExecutionView,
    /// The definition the execution ran with, for the DAG and parameter defaults.
    pub definition: Result<String, crate::model::Upstream>,
    pub freshness: Freshness,
    /// The execution in SageMaker Studio (`--studio-link`).
    pub studio: Option<String>,
    pub me: crate::model::access::Me,
    /// What people did to it through Stepline, oldest first.
    pub history: Vec<crate::model::activity::Entry>,
    /// Callback tokens are shown only to operators; for others they are removed from `view`.
    pub tokens_hidden: bool,
    /// The pipeline's newest version, when SageMaker lists them: the header says whether the execution
    /// ran it.
    pub latest_version: Option<i64>,
}

pub const PAGE_SIZES: [usize; 4] = [25, 50, 100, 200];

impl ListQuery {
    /// Read the query from URL pairs; repeated `status` and comma-separated values both work.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> ListQuery {
        let mut q = ListQuery::default();
        let split =
            |v: &str| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect::<Vec<_>>();
        for (k, v) in pairs {
            match k {
                "status" => q.statuses.extend(split(v)),
                "from" => q.after = Some(v.to_string()).filter(|s| !s.is_empty()),
                "to" => q.before = Some(v.to_string()).filter(|s| !s.is_empty()),
                "order" => q.oldest_first = v == "oldest",
                "size" => q.size = v.parse().ok(),
                "after" => q.cursor = Some(v.to_string()).filter(|s| !s.is_empty()),
                "cols" => q.params.extend(split(v)),
                _ => {}
            }
        }
        q.statuses.dedup();
        q.params.dedup();
        q
    }

    /// The URL of this view of `pipeline`'s executions, starting after `cursor`.
    pub fn href(&self, pipeline: &str, cursor: Option<&str>) -> String {
        let mut parts: Vec<String> = vec![];
        let enc = |s: &str| crate::model::links::seg(s);
        if !self.statuses.is_empty() {
            parts.push(format!("status={}", self.statuses.iter().map(|s| enc(s)).collect::<Vec<_>>().join(",")));
        }
        if let Some(a) = &self.after {
            parts.push(format!("from={}", enc(a)));
        }
        if let Some(b) = &self.before {
            parts.push(format!("to={}", enc(b)));
        }
        if self.oldest_first {
            parts.push("order=oldest".into());
        }
        if let Some(s) = self.size {
            parts.push(format!("size={s}"));
        }
        if !self.params.is_empty() {
            parts.push(format!("cols={}", self.params.iter().map(|s| enc(s)).collect::<Vec<_>>().join(",")));
        }
        if let Some(c) = cursor {
            parts.push(format!("after={}", enc(c)));
        }
        let base = crate::model::links::pipeline(pipeline);
        if parts.is_empty() {
            base
        } else {
            format!("{base}?{}", parts.join("&"))
        }
    }
}

/// What the start form needs: the pipeline (its definition) and, when starting again from an execution,
/// that execution's parameters and step outcomes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartPageData {
    /// The pipeline; its definition is the chosen version's (`version`).
    pub pipeline: PipelineDetail,
    pub source: Option<SourceExecution>,
    pub freshness: Freshness,
    pub me: crate::model::access::Me,
    /// Every version of the pipeline, newest first, or why SageMaker did not list them (the form then
    /// takes a version number).
    pub versions: Result<Vec<crate::model::version::PipelineVersion>, crate::model::Upstream>,
    /// The version the form is for: its parameters and steps are that version's. `None` is the latest.
    pub version: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceExecution {
    pub id: String,
    pub arn: String,
    pub display_name: Option<String>,
    pub status: crate::model::ExecStatus,
    pub parameters: Vec<crate::model::NameValue>,
    pub failed_steps: Vec<String>,
    pub succeeded_steps: Vec<String>,
    /// The version it ran: a re-run's form is for it unless another is chosen.
    pub pipeline_version: Option<i64>,
}

/// The definition an execution ran with against the pipeline's latest, line by line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DefinitionDiffPage {
    /// The pipeline's name as it was created, and the execution's id and display name.
    pub pipeline: String,
    pub id: String,
    pub display_name: Option<String>,
    /// The version the execution ran, and the newest (when SageMaker lists the versions).
    pub version: Option<i64>,
    pub latest: Option<i64>,
    /// The other execution it is compared with, when not the pipeline's latest definition.
    pub against: Option<DiffAgainst>,
    /// From the execution's definition to the latest (or the other execution's), both pretty-printed.
    pub diff: crate::diff::LineDiff,
    pub freshness: Freshness,
    pub me: crate::model::access::Me,
}

/// The execution whose definition another's is compared with (`?against=ID`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffAgainst {
    pub id: String,
    pub display_name: Option<String>,
    pub version: Option<i64>,
}

/// The activity page: a page of records, the filter it answers and who reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityData {
    pub page: crate::model::activity::Page,
    pub me: crate::model::access::Me,
}

/// The notifications page: the rules in force, their channels, and the delivery log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationsData {
    /// Whether Stepline was started with notification settings (`--notify`).
    pub enabled: bool,
    pub poll_seconds: u64,
    pub channels: Vec<ChannelView>,
    pub rules: Vec<RuleView>,
    /// Newest first: every delivery for admins, those of the pipelines the reader may read for the others.
    pub deliveries: Vec<crate::notify::Delivery>,
    pub everything: bool,
    pub me: crate::model::access::Me,
    /// How this place's executions are watched, and what the last look cost.
    #[serde(default)]
    pub watch: Option<WatchView>,
    /// The reader's own subscriptions (all of them for an admin), and what they may subscribe with.
    #[serde(default)]
    pub subscriptions: Vec<crate::subscriptions::Subscription>,
    #[serde(default)]
    pub personal: crate::subscriptions::PersonalOptions,
}

/// How notifications learn of changes in one account and region: SageMaker's events from SQS or polling
/// alone, how often polling looks, and its last round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatchView {
    /// Events are read from SQS (`--events-queue`); polling is the safety net.
    pub events: bool,
    pub every_seconds: u64,
    /// The most pipelines polling looks at a second.
    pub rate: f64,
    pub last_round: Option<RoundView>,
}

/// One polling round: when it began, what it looked at, what it cost upstream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundView {
    pub at: chrono::DateTime<chrono::Utc>,
    pub pipelines: usize,
    pub seconds: f64,
    /// Upstream calls the gateway made while the round ran (the pages' included, if any were open).
    pub calls: u64,
    pub events: usize,
    pub errors: usize,
    /// Another replica holds the poller's lease and looks instead.
    pub elsewhere: bool,
}

/// A channel as the page shows it: its name and kind, never its URL or secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelView {
    pub name: String,
    pub kind: String,
}

/// A rule as the settings file gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleView {
    pub events: Vec<crate::notify::EventKind>,
    /// Empty: every pipeline.
    pub pipelines: Vec<String>,
    pub channel: String,
    pub long_running_minutes: Option<i64>,
    /// Long-running past this multiple of the pipeline's usual (median) run.
    #[serde(default)]
    pub long_running_times: Option<f64>,
    /// Quiet hours with their time zone ("22:00-07:00 Europe/Berlin"): messages wait until they end.
    #[serde(default)]
    pub quiet_hours: Option<String>,
    /// What it sends goes as one message every so many minutes.
    #[serde(default)]
    pub digest_minutes: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries_round_trip_through_the_url() {
        let q = ListQuery::from_pairs([
            ("status", "Failed"),
            ("status", "Stopped,Executing"),
            ("order", "oldest"),
            ("size", "25"),
            ("cols", "MseThreshold"),
        ]);
        assert_eq!(q.statuses, vec!["Failed", "Stopped", "Executing"]);
        assert!(q.oldest_first);
        let href = q.href("AbalonePipeline", Some("abc123def456"));
        assert_eq!(href, "/pipelines/AbalonePipeline?status=Failed,Stopped,Executing&order=oldest&size=25&cols=MseThreshold&after=abc123def456");
        let back =
            ListQuery::from_pairs(href.split_once('?').unwrap().1.split('&').map(|kv| kv.split_once('=').unwrap()));
        assert_eq!(back.statuses, q.statuses);
        assert_eq!(back.cursor.as_deref(), Some("abc123def456"));
    }
}

/// `/models`: the model package groups the reader may see, each with its newest version and how many wait.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelsPage {
    pub groups: Vec<ModelGroupRow>,
    pub me: crate::model::access::Me,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelGroupRow {
    pub group: crate::model::registry::ModelGroup,
    pub newest: Option<crate::model::registry::VersionSummary>,
    pub versions: usize,
    pub pending: usize,
}

/// `/models/{group}`: its versions, newest first, the newest described with where they came from and their
/// training job's metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelGroupPage {
    pub group: crate::model::registry::ModelGroup,
    pub versions: Vec<crate::model::registry::VersionView>,
    /// Older versions listed but not described (the page describes the newest few).
    pub older: Vec<crate::model::registry::VersionSummary>,
    pub me: crate::model::access::Me,
}
