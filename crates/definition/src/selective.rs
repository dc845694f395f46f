//! Selective execution: re-running some steps of a pipeline while reusing
//! the outputs of the rest from an earlier ("source") execution.
//!
//! [`check_selection`] applies the rules `StartPipelineExecution` applies to
//! `SelectiveExecutionConfig`, with the same messages, and says which steps'
//! outputs must come from the source execution. The helpers build the
//! selections a "re-run" menu offers.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::definition::Definition;
use crate::graph::Graph;

/// Most steps one selective execution may select.
pub const MAX_SELECTED_STEPS: usize = crate::limits::SELECTED_STEPS_MAX;

/// An accepted selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionPlan {
    /// Selected step indices, sorted.
    pub selected: Vec<usize>,
    /// Unselected steps the selected ones transitively depend on, sorted;
    /// their outputs are taken from the source execution.
    pub reused_from_source: Vec<usize>,
}

/// Checks a list of selected step names.
///
/// Order of checks: count (1..=50), unknown names, duplicates,
/// connectedness (no unselected step on a dependency path between two
/// selected steps), then, without a source execution, no selected step may
/// depend directly on an unselected one.
pub fn check_selection(
    def: &Definition,
    graph: &Graph,
    selected: &[String],
    has_source: bool,
) -> Result<SelectionPlan, String> {
    if selected.is_empty() || selected.len() > MAX_SELECTED_STEPS {
        return Err(format!("SelectedSteps must contain between 1 and {MAX_SELECTED_STEPS} steps"));
    }
    let mut chosen: Vec<usize> = Vec::with_capacity(selected.len());
    for name in selected {
        let i = def.index_of(name).ok_or_else(|| format!("Step '{name}' not found in the pipeline definition"))?;
        if chosen.contains(&i) {
            return Err(format!("Step '{name}' is selected more than once"));
        }
        chosen.push(i);
    }
    chosen.sort_unstable();
    let is_selected: HashSet<usize> = chosen.iter().copied().collect();
    let name = |i: usize| def.steps.get(i).map_or("?", |s| s.name.as_str());

    // Connectedness: for selected a, b with a upstream of b, every step that
    // is both a descendant of a and an ancestor of b must be selected.
    let descendants: Vec<(usize, HashSet<usize>)> =
        chosen.iter().map(|&a| (a, graph.descendants(a).into_iter().collect())).collect();
    for (a, below_a) in &descendants {
        for &b in &chosen {
            if !below_a.contains(&b) {
                continue;
            }
            let mid = graph.ancestors(b).into_iter().find(|m| below_a.contains(m) && !is_selected.contains(m));
            if let Some(m) = mid {
                return Err(format!(
                    "Selected steps are not connected: step '{}' lies between '{}' and '{}' but is not selected",
                    name(m),
                    name(*a),
                    name(b)
                ));
            }
        }
    }

    if !has_source {
        let mut needy: Vec<usize> = Vec::new();
        let mut deps: Vec<usize> = Vec::new();
        for &s in &chosen {
            let missing: Vec<usize> = graph.upstream(s).iter().copied().filter(|u| !is_selected.contains(u)).collect();
            if !missing.is_empty() {
                needy.push(s);
                deps.extend(missing);
            }
        }
        if !needy.is_empty() {
            deps.sort_unstable();
            deps.dedup();
            return Err(format!(
                "Invalid SourcePipelineExecutionArn: null. The selected steps [{}] have dependencies on [{}]",
                def.names(&needy).join(", "),
                def.names(&deps).join(", ")
            ));
        }
    }

    let mut reused: Vec<usize> =
        chosen.iter().flat_map(|&s| graph.ancestors(s)).filter(|u| !is_selected.contains(u)).collect();
    reused.sort_unstable();
    reused.dedup();
    Ok(SelectionPlan { selected: chosen, reused_from_source: reused })
}

/// "Run from here": `start` and everything downstream of it, sorted.
/// Empty for an index that is not a step.
pub fn with_downstream(graph: &Graph, start: usize) -> Vec<usize> {
    if start >= graph.len() {
        return Vec::new();
    }
    let mut out = graph.descendants(start);
    out.push(start);
    out.sort_unstable();
    out
}

/// "Re-run from failure": what to select after an execution in which
/// `failed` steps failed and `succeeded` steps succeeded. Sorted.
///
/// Chosen semantics: start from the failed steps; add every step that never
/// finished although it was due to run — neither failed nor succeeded, not
/// inside a Condition branch, and with all direct dependencies succeeded
/// (it was stopped because another step failed); then add everything
/// downstream of those. A never-run step inside a Condition branch whose
/// dependencies all succeeded is left out: it is the branch not taken, and
/// the Condition that decided so is not being re-run. Succeeded steps are
/// never included, and indices that are not steps are ignored.
pub fn from_failure(graph: &Graph, failed: &[usize], succeeded: &[usize]) -> Vec<usize> {
    let n = graph.len();
    let failed: HashSet<usize> = failed.iter().copied().filter(|&i| i < n).collect();
    let succeeded: HashSet<usize> = succeeded.iter().copied().filter(|&i| i < n).collect();
    let mut seeds: Vec<usize> = failed.iter().copied().collect();
    for i in 0..n {
        if failed.contains(&i) || succeeded.contains(&i) || graph.in_branch(i) {
            continue;
        }
        if graph.upstream(i).iter().all(|u| succeeded.contains(u)) {
            seeds.push(i);
        }
    }
    let mut out: HashSet<usize> = HashSet::new();
    for s in seeds {
        out.insert(s);
        out.extend(graph.descendants(s));
    }
    let mut out: Vec<usize> = out.into_iter().filter(|i| !succeeded.contains(i)).collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::from_value;
    use serde_json::json;

    /// A -> B -> C -> D, and A -> E (E independent of B..D); Cond after A with If [T] Else [F]
    fn def() -> Definition {
        from_value(&json!({"Version": "2020-12-01", "Steps": [
            {"Name": "A", "Type": "Processing"},
            {"Name": "B", "Type": "Training", "DependsOn": ["A"]},
            {"Name": "C", "Type": "Processing", "DependsOn": ["B"]},
            {"Name": "D", "Type": "Processing", "DependsOn": ["C"]},
            {"Name": "E", "Type": "Processing", "DependsOn": ["A"]},
            {"Name": "Cond", "Type": "Condition", "DependsOn": ["A"], "Arguments": {
                "Conditions": [], "IfSteps": [{"Name": "T", "Type": "Fail"}], "ElseSteps": [{"Name": "F", "Type": "Fail"}]}}
        ]}))
        .unwrap()
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepts_connected_selection() {
        let d = def();
        let g = d.graph();
        let plan = check_selection(&d, &g, &names(&["C", "B"]), true).unwrap();
        assert_eq!(plan.selected, [1, 2]);
        assert_eq!(plan.reused_from_source, [0]);
        let plan = check_selection(&d, &g, &names(&["A", "B", "C"]), false).unwrap();
        assert_eq!(plan.reused_from_source, Vec::<usize>::new());
    }

    #[test]
    fn rejects_bad_selections() {
        let d = def();
        let g = d.graph();
        assert_eq!(
            check_selection(&d, &g, &[], true).unwrap_err(),
            "SelectedSteps must contain between 1 and 50 steps"
        );
        assert_eq!(
            check_selection(&d, &g, &names(&["Nope"]), true).unwrap_err(),
            "Step 'Nope' not found in the pipeline definition"
        );
        assert!(check_selection(&d, &g, &names(&["A", "A"]), true)
            .unwrap_err()
            .contains("'A' is selected more than once"));
        assert_eq!(
            check_selection(&d, &g, &names(&["B", "D"]), true).unwrap_err(),
            "Selected steps are not connected: step 'C' lies between 'B' and 'D' but is not selected"
        );
        assert_eq!(
            check_selection(&d, &g, &names(&["D", "C", "E"]), false).unwrap_err(),
            "Invalid SourcePipelineExecutionArn: null. The selected steps [C, E] have dependencies on [A, B]"
        );
    }

    #[test]
    fn downstream_and_failure_helpers() {
        let d = def();
        let g = d.graph();
        assert_eq!(with_downstream(&g, 1), [1, 2, 3]);
        assert_eq!(with_downstream(&g, 0), [0, 1, 2, 3, 4, 5, 6, 7]);
        assert!(with_downstream(&g, 100).is_empty());
        // B failed; A and E succeeded; Cond and T succeeded; F skipped (branch not taken)
        let r = from_failure(&g, &[1], &[0, 4, 5, 6]);
        assert_eq!(r, [1, 2, 3]);
        // B failed while E was stopped (never ran although A succeeded)
        let r = from_failure(&g, &[1], &[0, 5, 6]);
        assert_eq!(r, [1, 2, 3, 4]);
        // Cond failed: its branches are downstream of it and re-run with it
        let r = from_failure(&g, &[5], &[0, 1, 2, 3, 4]);
        assert_eq!(r, [5, 6, 7]);
        // nothing failed and everything else finished: nothing to do
        assert!(from_failure(&g, &[], &[0, 1, 2, 3, 4, 5, 6]).is_empty());
        // bogus indices are ignored
        assert_eq!(from_failure(&g, &[1, 99], &[0, 4, 5, 6, 42]), [1, 2, 3]);
    }
}
