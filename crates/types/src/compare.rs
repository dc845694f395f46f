//! Comparing executions of one pipeline: what differs in their parameters, their definitions and how their
//! steps ran, lined up one column per execution, and the one-line summary of it. Pure: the server gathers
//! the executions (`stepline_core::compare_queries`), the page renders what this computes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stepline_definition::Definition;

use crate::model::{ExecStatus, NameValue, StepRun, StepStatus};

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

/// The key a step run is aligned by.
fn key(s: &StepRun) -> String {
    match s.iteration.as_ref().and_then(|i| i.index) {
        Some(i) => format!("{} [{i}]", s.name),
        None => s.name.clone(),
    }
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
pub fn summary(columns: &[Column], params: &[ParamRow], steps: &[StepRow], structures: &[Structure]) -> String {
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
    pub structures: Vec<Option<Structure>>,
    /// Any of them still runs (the page reads again while it does).
    pub running: bool,
    pub me: crate::model::access::Me,
}

/// Ids from the address (`e=…&e=…`): trimmed, without repeats, at most [`MOST`]; why not when fewer than
/// two remain or an id is not one.
pub fn ids(asked: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = vec![];
    for id in asked.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !crate::model::links::valid_id(id) {
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
