//! Comparing executions of one pipeline: what differs in their parameters, their definitions and how their
//! steps ran, lined up one column per execution, and the one-line summary of it. Pure: the server gathers
//! the executions (`stepline_core::compare_queries`), the page renders what this computes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stepline_definition::Definition;

use crate::model::jobs::{JobDetail, Metric};
use crate::model::{ExecStatus, NameValue, StepRun, StepStatus};

pub mod logs;

/// The most executions one comparison holds.
pub const MOST: usize = 8;

/// One execution's column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub id: String,
    pub display_name: Option<String>,
    pub status: ExecStatus,
    pub start: Option<DateTime<Utc>>,
    /// When it ended (its last step's end), or the comparison's time while it runs.
    pub end: Option<DateTime<Utc>>,
    pub pipeline_version: Option<i64>,
    pub failure_reason: Option<String>,
}

impl Column {
    pub fn label(&self) -> String {
        self.display_name.clone().unwrap_or_else(|| self.id.clone())
    }
}

/// A parameter across the executions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamRow {
    pub name: String,
    /// Each execution's value (`None`: it ran without this parameter).
    pub values: Vec<Option<String>>,
    /// Whether each value is the definition's default.
    pub defaults: Vec<bool>,
    pub differs: bool,
}

/// Every parameter any of the executions ran with, in the order first seen; `defaults[i]` is execution i's
/// definition's parameter defaults.
pub fn parameters(runs: &[Vec<NameValue>], defaults: &[Vec<(String, Option<String>)>]) -> Vec<ParamRow> {
    let mut names: Vec<String> = vec![];
    for run in runs {
        for p in run {
            if !names.contains(&p.name) {
                names.push(p.name.clone());
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            let values: Vec<Option<String>> =
                runs.iter().map(|r| r.iter().find(|p| p.name == name).map(|p| p.value.clone())).collect();
            let defaults = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let default =
                        defaults.get(i).and_then(|d| d.iter().find(|(n, _)| *n == name)).and_then(|d| d.1.clone());
                    v.is_some() && *v == default
                })
                .collect();
            let differs = values.windows(2).any(|w| w[0] != w[1]);
            ParamRow { name, values, defaults, differs }
        })
        .collect()
}

/// How one step ran in one execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepCell {
    pub status: StepStatus,
    /// Seconds from the execution's start to the step's.
    pub offset: Option<f64>,
    pub duration: Option<f64>,
    pub attempts: Option<i32>,
    /// The execution whose result it reused (a cache hit).
    pub cached_from: Option<String>,
    pub failure_reason: Option<String>,
}

/// A step across the executions, aligned by name (a ForEach iteration by its step and index).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    pub name: String,
    pub cells: Vec<Option<StepCell>>,
    /// Its status, cache use or attempts differ between the executions.
    pub differs: bool,
}

/// The key a step run is aligned by: its name, a ForEach iteration's with its index (`Score[1]`).
fn key(s: &StepRun) -> String {
    s.key()
}

/// Every step any execution ran, in order of its first start across them; `now` ends the running ones.
pub fn steps(runs: &[(Option<DateTime<Utc>>, Vec<StepRun>)], now: DateTime<Utc>) -> Vec<StepRow> {
    let mut order: Vec<(String, Option<f64>)> = vec![];
    for (start, run) in runs {
        for s in run {
            let k = key(s);
            let offset = offset_of(*start, s.start);
            match order.iter_mut().find(|(n, _)| *n == k) {
                Some((_, o)) => *o = min_opt(*o, offset),
                None => order.push((k, offset)),
            }
        }
    }
    order.sort_by(|a, b| a.1.unwrap_or(f64::MAX).total_cmp(&b.1.unwrap_or(f64::MAX)));
    order
        .into_iter()
        .map(|(name, _)| {
            let cells: Vec<Option<StepCell>> = runs
                .iter()
                .map(|(start, run)| {
                    run.iter().find(|s| key(s) == name).map(|s| StepCell {
                        status: s.status.clone(),
                        offset: offset_of(*start, s.start),
                        duration: s.start.map(|b| (s.end.unwrap_or(now) - b).num_milliseconds() as f64 / 1000.0),
                        attempts: s.attempts,
                        cached_from: s.cache_source.clone(),
                        failure_reason: s.failure_reason.clone(),
                    })
                })
                .collect();
            let shape = |c: &Option<StepCell>| {
                c.as_ref().map(|c| (c.status.clone(), c.cached_from.is_some(), c.attempts.unwrap_or(1)))
            };
            let differs = cells.windows(2).any(|w| shape(&w[0]) != shape(&w[1]));
            StepRow { name, cells, differs }
        })
        .collect()
}

fn offset_of(start: Option<DateTime<Utc>>, at: Option<DateTime<Utc>>) -> Option<f64> {
    Some((at? - start?).num_milliseconds() as f64 / 1000.0)
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What changed in a pipeline's definition from one execution's to another's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Structure {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Steps in both whose definition differs, with the properties that do (`Arguments.HyperParameters.eta`,
    /// `RetryPolicies`, `CacheConfig`…).
    pub changed: Vec<(String, Vec<String>)>,
    /// Parameters added or removed, or whose default or type changed.
    pub parameters: Vec<String>,
}

impl Structure {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty() && self.parameters.is_empty()
    }
}

/// The structural difference from `base` to `other`: steps matched by name.
pub fn structure(base: &Definition, other: &Definition) -> Structure {
    let mut out = Structure::default();
    for s in &other.steps {
        match base.step(&s.name) {
            None => out.added.push(s.name.clone()),
            Some(b) => {
                let mut paths = vec![];
                changed_paths(&b.raw, &s.raw, "", 0, &mut paths);
                if !paths.is_empty() {
                    out.changed.push((s.name.clone(), paths));
                }
            }
        }
    }
    out.removed = base.steps.iter().filter(|s| other.step(&s.name).is_none()).map(|s| s.name.clone()).collect();
    for p in &other.parameters {
        match base.parameter(&p.name) {
            None => out.parameters.push(format!("{} added", p.name)),
            Some(b) if b.ty != p.ty => out.parameters.push(format!("{} is now {}", p.name, p.ty.name())),
            Some(b) if b.default != p.default => out.parameters.push(format!(
                "{} default {} → {}",
                p.name,
                b.default.as_deref().unwrap_or("none"),
                p.default.as_deref().unwrap_or("none")
            )),
            Some(_) => {}
        }
    }
    for p in &base.parameters {
        if other.parameter(&p.name).is_none() {
            out.parameters.push(format!("{} removed", p.name));
        }
    }
    out
}

/// How deep property paths go before a whole subtree is named as one change.
const PATH_DEPTH: usize = 4;

/// The paths under which `a` and `b` differ (object keys joined by `.`, `[]` for a list that differs).
fn changed_paths(a: &Value, b: &Value, at: &str, depth: usize, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    let join = |k: &str| if at.is_empty() { k.to_string() } else { format!("{at}.{k}") };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if depth < PATH_DEPTH => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                // Condition steps' branches are steps of their own, compared as such.
                if depth == 0 && (k == "IfSteps" || k == "ElseSteps") && at.is_empty() {
                    continue;
                }
                let (va, vb) = (x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
                changed_paths(va, vb, &join(k), depth + 1, out);
            }
        }
        _ => out.push(if at.is_empty() { "(the whole step)".into() } else { at.to_string() }),
    }
}

/// The comparison's one-line summary, from the first execution to each other: parameters that differ, the
/// definition's changes, steps cached in one and run in the other, the slowest step's change, status.
pub fn summary(
    columns: &[Column],
    params: &[ParamRow],
    steps: &[StepRow],
    structures: &[Structure],
    metrics: &[MetricRow],
) -> String {
    let mut parts = vec![];
    let differing = params.iter().filter(|p| p.differs).count();
    if differing > 0 {
        parts.push(format!(
            "{differing} parameter{} differ{}",
            plural(differing),
            if differing == 1 { "s" } else { "" }
        ));
    } else if !params.is_empty() {
        parts.push("same parameters".into());
    }
    let (added, removed, changed): (usize, usize, usize) =
        structures.iter().fold((0, 0, 0), |(a, r, c), s| (a + s.added.len(), r + s.removed.len(), c + s.changed.len()));
    if structures.iter().any(|s| !s.is_empty()) {
        let mut what = vec![];
        if added > 0 {
            what.push(format!("{added} step{} added", plural(added)));
        }
        if removed > 0 {
            what.push(format!("{removed} removed"));
        }
        if changed > 0 {
            what.push(format!("{changed} changed"));
        }
        let params_changed = structures.iter().map(|s| s.parameters.len()).sum::<usize>();
        if params_changed > 0 {
            what.push(format!("{params_changed} parameter change{}", plural(params_changed)));
        }
        parts.push(format!("definition changed ({})", what.join(", ")));
    }
    let reran = steps
        .iter()
        .filter(|r| {
            let cached = r.cells.iter().any(|c| c.as_ref().is_some_and(|c| c.cached_from.is_some()));
            let ran = r.cells.iter().any(|c| c.as_ref().is_some_and(|c| c.cached_from.is_none()));
            cached && ran
        })
        .count();
    if reran > 0 {
        parts.push(format!("{reran} step{} ran where another execution reused a cached result", plural(reran)));
    }
    if let Some((name, ratio)) = slowest_change(steps) {
        let word = if ratio >= 1.0 { "slower" } else { "faster" };
        let shown = if ratio >= 1.0 { ratio } else { 1.0 / ratio };
        parts.push(format!("{name} {shown:.1}× {word}"));
    }
    if let Some(change) = metric_change(metrics) {
        parts.push(change);
    }
    let statuses: Vec<&str> = columns.iter().map(|c| c.status.as_str()).collect();
    if statuses.windows(2).any(|w| w[0] != w[1]) {
        parts.push(statuses.join(" → "));
    }
    if parts.is_empty() {
        "No differences.".into()
    } else {
        parts.join(", ")
    }
}

/// The step whose duration changed most from the first execution to the last (both ran it for at least
/// 10 s, and it changed by at least 1.5×): its name and the ratio.
fn slowest_change(steps: &[StepRow]) -> Option<(String, f64)> {
    steps
        .iter()
        .filter_map(|r| {
            let first = r.cells.first()?.as_ref()?.duration?;
            let last = r.cells.last()?.as_ref()?.duration?;
            (first >= 10.0 && last >= 10.0).then(|| (r.name.clone(), last / first))
        })
        .filter(|(_, ratio)| *ratio >= 1.5 || *ratio <= 1.0 / 1.5)
        .max_by(|a, b| a.1.max(1.0 / a.1).total_cmp(&b.1.max(1.0 / b.1)))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Which execution to compare one with, when the address names only it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Against {
    /// The execution that started just before it.
    Previous,
    /// The newest execution before it that succeeded.
    Success,
}

/// `/pipelines/{name}/compare`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparePage {
    pub pipeline: String,
    /// The first is what the others are compared with.
    pub columns: Vec<Column>,
    pub summary: String,
    pub parameters: Vec<ParamRow>,
    pub steps: Vec<StepRow>,
    /// From the first execution's definition to each other's; `None` for the first and where the same
    /// definition ran.
    /// Each execution's estimated cost, in column order.
    #[serde(default)]
    pub costs: Vec<crate::cost::CostTotal>,
    pub structures: Vec<Option<Structure>>,
    /// The job steps (training and tuning jobs, and other jobs whose step differs), with what differs.
    pub jobs: Vec<JobRow>,
    /// Their final metrics, the best marked where the direction is known.
    pub metrics: Vec<MetricRow>,
    /// The steps whose job logs can be put side by side (`&step=NAME&tab=logs`).
    pub log_steps: Vec<String>,
    /// The chosen step's logs side by side.
    pub logs: Option<logs::LogsSideBySide>,
    /// Any of them still runs (the page reads again while it does).
    pub running: bool,
    pub me: crate::model::access::Me,
}

/// The job behind a step in one execution, as far as a comparison shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobCell {
    pub name: String,
    /// The execution it ran in: its id in input paths is not a difference (each run writes under its own).
    pub execution: String,
    /// Instance type × count.
    pub instances: Option<String>,
    pub image: Option<String>,
    pub spot: bool,
    pub billable_seconds: Option<i32>,
    pub hyperparameters: Vec<NameValue>,
    pub inputs: Vec<NameValue>,
    pub metrics: Vec<Metric>,
}

impl JobCell {
    pub fn of(j: &JobDetail, execution: &str) -> JobCell {
        let instances = j.instance_type.as_ref().map(|t| format!("{t} × {}", j.instance_count.unwrap_or(1)));
        JobCell {
            name: j.name.clone(),
            execution: execution.to_string(),
            instances,
            image: j.image.clone(),
            spot: j.spot,
            billable_seconds: j.billable_seconds,
            hyperparameters: j.hyperparameters.clone(),
            inputs: j.inputs.clone(),
            metrics: j.metrics.clone(),
        }
    }
}

/// A job step across the executions, with what differs in its configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    pub step: String,
    pub cells: Vec<Option<JobCell>>,
    /// "instance type and count", "image", "hyperparameter eta", "input train", "spot".
    pub differs: Vec<String>,
}

/// Whether a higher or a lower value of a metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Better {
    Higher,
    Lower,
}

/// What a metric's name says of its direction, where it says something: losses and errors go down,
/// accuracies and areas up.
pub fn direction(metric: &str) -> Option<Better> {
    let m = metric.to_ascii_lowercase();
    let words: Vec<&str> = m.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let any = |names: &[&str]| words.iter().any(|w| names.contains(w));
    if any(&["loss", "error", "mse", "rmse", "mae", "mape", "logloss", "perplexity", "wer"]) {
        Some(Better::Lower)
    } else if any(&["accuracy", "acc", "auc", "f1", "precision", "recall", "r2", "ndcg", "map", "bleu"]) {
        Some(Better::Higher)
    } else {
        None
    }
}

/// A final metric of a job step across the executions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub step: String,
    pub metric: String,
    pub values: Vec<Option<f64>>,
    pub better: Option<Better>,
    /// Which value is the best, when the direction is known and they differ.
    pub best: Option<usize>,
}

/// The job rows (what differs in each job step's configuration) and the metric rows of `jobs`: per step,
/// each execution's job.
pub fn jobs(jobs: &[(String, Vec<Option<JobCell>>)]) -> (Vec<JobRow>, Vec<MetricRow>) {
    let mut rows = vec![];
    let mut metrics = vec![];
    for (step, cells) in jobs {
        let present: Vec<&JobCell> = cells.iter().flatten().collect();
        let mut differs = vec![];
        let mut check = |what: String, f: &dyn Fn(&JobCell) -> Option<String>| {
            let values: Vec<Option<String>> = present.iter().map(|c| f(c)).collect();
            if values.windows(2).any(|w| w[0] != w[1]) {
                differs.push(what);
            }
        };
        check("instance type and count".into(), &|c| c.instances.clone());
        check("image".into(), &|c| c.image.clone());
        check("spot".into(), &|c| Some(c.spot.to_string()));
        for name in names(present.iter().map(|c| &c.hyperparameters)) {
            check(format!("hyperparameter {name}"), &|c| value_of(&c.hyperparameters, &name));
        }
        for name in names(present.iter().map(|c| &c.inputs)) {
            let own = |c: &JobCell| value_of(&c.inputs, &name).map(|v| v.replace(&c.execution, "{execution}"));
            check(format!("input {name}"), &own);
        }
        let mut metric_names: Vec<String> = vec![];
        for c in &present {
            for m in &c.metrics {
                if !metric_names.contains(&m.name) {
                    metric_names.push(m.name.clone());
                }
            }
        }
        for metric in metric_names {
            let values: Vec<Option<f64>> = cells
                .iter()
                .map(|c| c.as_ref().and_then(|c| c.metrics.iter().find(|m| m.name == metric)).map(|m| m.value))
                .collect();
            let better = direction(&metric);
            let known: Vec<(usize, f64)> = values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i, v))).collect();
            let differ = known.windows(2).any(|w| w[0].1 != w[1].1);
            let best = match better {
                Some(Better::Lower) if differ => known.iter().min_by(|a, b| a.1.total_cmp(&b.1)).map(|b| b.0),
                Some(Better::Higher) if differ => known.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|b| b.0),
                _ => None,
            };
            metrics.push(MetricRow { step: step.clone(), metric, values, better, best });
        }
        rows.push(JobRow { step: step.clone(), cells: cells.clone(), differs });
    }
    (rows, metrics)
}

/// Every name in the lists, in order of first appearance.
fn names<'a>(lists: impl Iterator<Item = &'a Vec<NameValue>>) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for list in lists {
        for p in list {
            if !out.contains(&p.name) {
                out.push(p.name.clone());
            }
        }
    }
    out
}

fn value_of(list: &[NameValue], name: &str) -> Option<String> {
    list.iter().find(|p| p.name == name).map(|p| p.value.clone())
}

/// The first metric whose value moved from the first execution to the last, said as "`mse` 0.41 → 0.57".
pub fn metric_change(metrics: &[MetricRow]) -> Option<String> {
    metrics.iter().find_map(|m| {
        let (first, last) = (m.values.first().copied().flatten()?, m.values.last().copied().flatten()?);
        let moved = (last - first).abs() > f64::EPSILON.max(first.abs() * 1e-3);
        moved.then(|| format!("{} {} → {}", m.metric, short(first), short(last)))
    })
}

/// A metric's value, briefly: four significant digits.
pub fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (4 - 1 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{v:.digits$}")
}

/// Two or more execution ARNs pasted together (spaces, commas or new lines between), all of one pipeline:
/// the first ARN (its account and region say where to open them), the pipeline as the ARNs name it
/// (lower-cased) and the ids.
pub fn pasted(text: &str) -> Option<(String, String, Vec<String>)> {
    let parts: Vec<&str> = text.split(|c: char| c.is_whitespace() || c == ',').filter(|p| !p.is_empty()).collect();
    if parts.len() < 2 || parts.len() > MOST {
        return None;
    }
    let mut pipeline: Option<String> = None;
    let mut ids = vec![];
    for part in &parts {
        let crate::model::Lookup::Execution { pipeline: p, id } = crate::model::classify(part) else { return None };
        if !pipeline.get_or_insert_with(|| p.clone()).eq_ignore_ascii_case(&p) || !crate::model::valid_id(&id) {
            return None;
        }
        ids.push(id);
    }
    Some((parts[0].to_string(), pipeline?, ids))
}

/// Ids from the address (`e=…&e=…`): trimmed, without repeats, at most [`MOST`]; why not when fewer than
/// two remain or an id is not one.
pub fn ids(asked: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = vec![];
    for id in asked.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !crate::model::valid_id(id) {
            return Err(format!("'{}' is not an execution id.", crate::text::clip(id, 40)));
        }
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    if out.len() < 2 {
        return Err("Choose two executions or more to compare.".into());
    }
    if out.len() > MOST {
        return Err(format!("At most {MOST} executions can be compared at once."));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
