//! The step dependency graph: who waits for whom, in which order steps can
//! run, and in which layer the dashboard draws each step.
//!
//! A step depends on the steps in its `DependsOn`, on every step its `Get`
//! expressions read from, and on the Condition step whose branch holds it.
//! Nodes are indices into [`Definition::steps`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::definition::Definition;
use crate::step::StepDef;

/// Step dependencies by index; every list is sorted and deduplicated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graph {
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
    /// Whether each step sits in a Condition branch.
    branch: Vec<bool>,
}

impl Graph {
    /// Builds the graph of a definition.
    pub fn new(def: &Definition) -> Graph {
        Graph::from_steps(&def.steps)
    }

    /// Builds the graph of a flattened step list. Names that match no step
    /// are ignored (a checked [`Definition`] has none).
    pub fn from_steps(steps: &[StepDef]) -> Graph {
        let index: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
        let mut up: Vec<Vec<usize>> = Vec::with_capacity(steps.len());
        for step in steps {
            let mut deps: Vec<usize> = step
                .depends_on
                .iter()
                .map(String::as_str)
                .chain(step.referenced_steps())
                .chain(step.branch.iter().map(|b| b.condition.as_str()))
                .filter_map(|n| index.get(n).copied())
                .collect();
            deps.sort_unstable();
            deps.dedup();
            up.push(deps);
        }
        let mut down: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
        for (i, deps) in up.iter().enumerate() {
            for &d in deps {
                if let Some(list) = down.get_mut(d) {
                    list.push(i);
                }
            }
        }
        // `i` ascends, so every downstream list is already sorted and unique.
        let branch = steps.iter().map(|s| s.branch.is_some()).collect();
        Graph { up, down, branch }
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.up.len()
    }

    pub fn is_empty(&self) -> bool {
        self.up.is_empty()
    }

    /// Whether step `i` sits in a Condition's `IfSteps` / `ElseSteps`.
    pub fn in_branch(&self, i: usize) -> bool {
        self.branch.get(i).copied().unwrap_or(false)
    }

    /// Direct dependencies of step `i` (empty for an unknown index).
    pub fn upstream(&self, i: usize) -> &[usize] {
        self.up.get(i).map_or(&[], Vec::as_slice)
    }

    /// Steps that directly depend on step `i`.
    pub fn downstream(&self, i: usize) -> &[usize] {
        self.down.get(i).map_or(&[], Vec::as_slice)
    }

    /// All steps `i` transitively depends on, sorted, without `i`.
    pub fn ancestors(&self, i: usize) -> Vec<usize> {
        self.reach(i, &self.up)
    }

    /// All steps that transitively depend on `i`, sorted, without `i`.
    pub fn descendants(&self, i: usize) -> Vec<usize> {
        self.reach(i, &self.down)
    }

    fn reach(&self, start: usize, edges: &[Vec<usize>]) -> Vec<usize> {
        let mut seen = vec![false; edges.len()];
        let mut stack: Vec<usize> = edges.get(start).cloned().unwrap_or_default();
        while let Some(n) = stack.pop() {
            if let Some(flag) = seen.get_mut(n) {
                if !*flag {
                    *flag = true;
                    if let Some(next) = edges.get(n) {
                        stack.extend(next.iter().copied());
                    }
                }
            }
        }
        if let Some(flag) = seen.get_mut(start) {
            *flag = false;
        }
        seen.iter().enumerate().filter_map(|(i, s)| s.then_some(i)).collect()
    }

    /// A run order: every step after its dependencies, ties broken by
    /// document order. Steps on a cycle (impossible in a checked definition)
    /// come last in document order.
    pub fn topo_order(&self) -> Vec<usize> {
        let n = self.len();
        let mut indegree: Vec<usize> = self.up.iter().map(Vec::len).collect();
        let mut ready: BinaryHeap<Reverse<usize>> =
            indegree.iter().enumerate().filter_map(|(i, d)| (*d == 0).then_some(Reverse(i))).collect();
        let mut placed = vec![false; n];
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(i)) = ready.pop() {
            order.push(i);
            if let Some(p) = placed.get_mut(i) {
                *p = true;
            }
            for &d in self.downstream(i) {
                if let Some(deg) = indegree.get_mut(d) {
                    *deg = deg.saturating_sub(1);
                    if *deg == 0 {
                        ready.push(Reverse(d));
                    }
                }
            }
        }
        order.extend((0..n).filter(|i| !placed.get(*i).copied().unwrap_or(true)));
        order
    }

    /// For each step, the length of the longest dependency chain leading to
    /// it (0 for steps with no dependencies): the column of a layered
    /// left-to-right drawing.
    pub fn layers(&self) -> Vec<usize> {
        let mut layer = vec![0usize; self.len()];
        for i in self.topo_order() {
            let l = self
                .upstream(i)
                .iter()
                .filter(|&&u| u != i)
                .map(|&u| layer.get(u).copied().unwrap_or(0) + 1)
                .max()
                .unwrap_or(0);
            if let Some(slot) = layer.get_mut(i) {
                *slot = l;
            }
        }
        layer
    }

    /// A dependency cycle, if there is one: `[a, b, ..., a]` where each step
    /// depends on the next. The search starts from the first step in
    /// document order, so the answer is deterministic.
    pub fn find_cycle(&self) -> Option<Vec<usize>> {
        // 0 = unvisited, 1 = on the current path, 2 = done
        let mut state = vec![0u8; self.len()];
        for root in 0..self.len() {
            if state.get(root) != Some(&0) {
                continue;
            }
            // (node, index of next upstream edge to follow)
            let mut path: Vec<(usize, usize)> = vec![(root, 0)];
            if let Some(s) = state.get_mut(root) {
                *s = 1;
            }
            while let Some(&(node, next)) = path.last() {
                if let Some(&dep) = self.upstream(node).get(next) {
                    if let Some(top) = path.last_mut() {
                        top.1 += 1;
                    }
                    match state.get(dep).copied() {
                        Some(0) => {
                            if let Some(s) = state.get_mut(dep) {
                                *s = 1;
                            }
                            path.push((dep, 0));
                        }
                        Some(1) => {
                            let start = path.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                            let mut cycle: Vec<usize> = path.iter().skip(start).map(|(n, _)| *n).collect();
                            cycle.push(dep);
                            return Some(cycle);
                        }
                        _ => {}
                    }
                } else {
                    if let Some(s) = state.get_mut(node) {
                        *s = 2;
                    }
                    path.pop();
                }
            }
        }
        None
    }
}

impl Definition {
    /// The dependency graph of the steps (here, beside the graph, so that a definition knows nothing of it).
    pub fn graph(&self) -> Graph {
        Graph::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::BranchOf;
    use serde_json::json;

    fn step(name: &str, deps: &[&str]) -> StepDef {
        StepDef::from_json(&json!({"Name": name, "Type": "Fail", "DependsOn": deps}), None).unwrap()
    }

    #[test]
    fn edges_from_depends_on_gets_and_branches() {
        let mut c = step("C", &[]);
        c.branch = Some(BranchOf { condition: "A".into(), outcome: true });
        let steps = vec![
            step("A", &[]),
            StepDef::from_json(&json!({"Name": "B", "Type": "Fail", "Arguments": {"x": {"Get": "Steps.A.Foo"}}, "DependsOn": ["A", "Missing"]}), None).unwrap(),
            c,
            step("D", &["B", "C"]),
        ];
        let g = Graph::from_steps(&steps);
        assert_eq!(g.upstream(1), [0], "deduplicated, unknown ignored");
        assert_eq!(g.upstream(2), [0]);
        assert_eq!(g.upstream(3), [1, 2]);
        assert_eq!(g.downstream(0), [1, 2]);
        assert_eq!(g.ancestors(3), [0, 1, 2]);
        assert_eq!(g.descendants(0), [1, 2, 3]);
        assert_eq!(g.descendants(3), Vec::<usize>::new());
        assert_eq!(g.topo_order(), [0, 1, 2, 3]);
        assert_eq!(g.layers(), [0, 1, 1, 2]);
        assert_eq!(g.find_cycle(), None);
        assert_eq!(g.upstream(99), [] as [usize; 0]);
        assert!(g.ancestors(99).is_empty());
    }

    #[test]
    fn topo_prefers_document_order_and_layers_use_longest_path() {
        // E depends on A directly and via B -> C
        let steps = vec![step("E", &["A", "C"]), step("C", &["B"]), step("B", &["A"]), step("A", &[])];
        let g = Graph::from_steps(&steps);
        assert_eq!(g.topo_order(), [3, 2, 1, 0]);
        assert_eq!(g.layers(), [3, 2, 1, 0]);
    }

    #[test]
    fn finds_cycles() {
        let steps = vec![step("A", &["C"]), step("B", &["A"]), step("C", &["B"]), step("D", &[])];
        let g = Graph::from_steps(&steps);
        assert_eq!(g.find_cycle(), Some(vec![0, 2, 1, 0]));
        let order = g.topo_order();
        assert_eq!(order, [3, 0, 1, 2], "cycle members come last");
        assert_eq!(g.layers().len(), 4);
        let g = Graph::from_steps(&[step("S", &["S"])]);
        assert_eq!(g.find_cycle(), Some(vec![0, 0]));
        assert!(g.ancestors(0).is_empty());
    }
}
