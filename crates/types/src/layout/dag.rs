//! DAG geometry: steps in layers from left to right by their longest path from a start step, ordered within
//! a layer to keep edges short (two barycentre sweeps), edges as smooth curves.

use std::collections::HashMap;

use stepline_definition::{Definition, Graph, StepType};

pub const NODE_W: f64 = 190.0;
pub const NODE_H: f64 = 34.0;
pub const GAP_X: f64 = 70.0;
pub const GAP_Y: f64 = 14.0;
pub const MARGIN: f64 = 16.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub step_type: StepType,
    pub x: f64,
    pub y: f64,
    pub layer: usize,
    /// Inside a Condition's IfSteps (`Some(true)`) or ElseSteps (`Some(false)`).
    pub branch: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// An SVG path from the right edge of `from` to the left edge of `to`.
    pub path: String,
    /// The edge from a Condition into one of its branches, and which.
    pub branch: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dag {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub width: f64,
    pub height: f64,
}

pub fn layout(def: &Definition, graph: &Graph) -> Dag {
    let n = def.steps.len();
    let layers = graph.layers();
    let depth = layers.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut columns: Vec<Vec<usize>> = vec![vec![]; depth];
    for i in 0..n {
        if let Some(&l) = layers.get(i) {
            columns[l].push(i);
        }
    }
    // Position of each step within its column, refined by the mean position of its neighbours.
    let mut pos: Vec<f64> = vec![0.0; n];
    for col in &columns {
        for (k, &i) in col.iter().enumerate() {
            pos[i] = k as f64;
        }
    }
    for sweep in 0..4 {
        let forward = sweep % 2 == 0;
        let order: Vec<usize> =
            if forward { (1..depth).collect() } else { (0..depth.saturating_sub(1)).rev().collect() };
        for l in order {
            let mut keyed: Vec<(f64, usize)> = columns[l]
                .iter()
                .map(|&i| {
                    let neigh = if forward { graph.upstream(i) } else { graph.downstream(i) };
                    let key = if neigh.is_empty() {
                        pos[i]
                    } else {
                        neigh.iter().map(|&j| pos[j]).sum::<f64>() / neigh.len() as f64
                    };
                    (key, i)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            columns[l] = keyed.into_iter().map(|(_, i)| i).collect();
            for (k, &i) in columns[l].iter().enumerate() {
                pos[i] = k as f64;
            }
        }
    }
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(0) as f64;
    let height = MARGIN * 2.0 + tallest * (NODE_H + GAP_Y) - if tallest > 0.0 { GAP_Y } else { 0.0 };
    let mut xy: HashMap<usize, (f64, f64)> = HashMap::new();
    let mut nodes = Vec::with_capacity(n);
    for (l, col) in columns.iter().enumerate() {
        // Centre short columns against the tallest.
        let offset = (tallest - col.len() as f64) * (NODE_H + GAP_Y) / 2.0;
        for (k, &i) in col.iter().enumerate() {
            let x = MARGIN + l as f64 * (NODE_W + GAP_X);
            let y = MARGIN + offset + k as f64 * (NODE_H + GAP_Y);
            xy.insert(i, (x, y));
            let sd = &def.steps[i];
            nodes.push(Node {
                name: sd.name.clone(),
                step_type: sd.step_type.clone(),
                x,
                y,
                layer: l,
                branch: sd.branch.as_ref().map(|b| b.outcome),
            });
        }
    }
    let mut edges = vec![];
    for to in 0..n {
        for &from in graph.upstream(to) {
            let (Some(&(x1, y1)), Some(&(x2, y2))) = (xy.get(&from), xy.get(&to)) else { continue };
            let (sx, sy) = (x1 + NODE_W, y1 + NODE_H / 2.0);
            let (ex, ey) = (x2, y2 + NODE_H / 2.0);
            let mid = (sx + ex) / 2.0;
            let branch =
                def.steps[to].branch.as_ref().filter(|b| b.condition == def.steps[from].name).map(|b| b.outcome);
            edges.push(Edge {
                from: def.steps[from].name.clone(),
                to: def.steps[to].name.clone(),
                path: format!("M{sx:.1},{sy:.1} C{mid:.1},{sy:.1} {mid:.1},{ey:.1} {ex:.1},{ey:.1}"),
                branch,
            });
        }
    }
    let width = MARGIN * 2.0 + depth as f64 * (NODE_W + GAP_X) - if depth > 0 { GAP_X } else { 0.0 };
    Dag { nodes, edges, width: width.max(0.0), height: height.max(0.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABALONE: &str = include_str!("../../../../definitions/abalone.json");

    fn node<'a>(d: &'a Dag, name: &str) -> &'a Node {
        d.nodes.iter().find(|n| n.name == name).unwrap()
    }

    #[test]
    fn abalone_flows_left_to_right_with_its_branches_marked() {
        let def = stepline_definition::parse(ABALONE).unwrap();
        let g = Graph::new(&def);
        let d = layout(&def, &g);
        assert_eq!(d.nodes.len(), 8);
        assert!(node(&d, "AbaloneProcess").x < node(&d, "AbaloneTrain").x);
        assert!(node(&d, "AbaloneEval").x < node(&d, "AbaloneMSECond").x);
        assert_eq!(node(&d, "AbaloneMSEFail").branch, Some(false));
        assert_eq!(node(&d, "AbaloneTransform").branch, Some(true));
        let into_fail = d.edges.iter().find(|e| e.to == "AbaloneMSEFail").unwrap();
        assert_eq!(into_fail.from, "AbaloneMSECond");
        assert_eq!(into_fail.branch, Some(false));
        // No two nodes overlap.
        for a in &d.nodes {
            for b in &d.nodes {
                if a.name != b.name {
                    let apart = (a.x - b.x).abs() >= NODE_W || (a.y - b.y).abs() >= NODE_H;
                    assert!(apart, "{} overlaps {}", a.name, b.name);
                }
            }
        }
        assert!(d.width >= node(&d, "AbaloneTransform").x + NODE_W);
    }

    #[test]
    fn wide_graphs_stack_within_a_layer() {
        let mut steps = vec![r#"{"Name": "Root", "Type": "Processing", "Arguments": {}}"#.to_string()];
        for i in 0..50 {
            steps.push(format!(
                r#"{{"Name": "Leaf{i}", "Type": "Processing", "Arguments": {{}}, "DependsOn": ["Root"]}}"#
            ));
        }
        let text = format!(r#"{{"Version": "2020-12-01", "Steps": [{}]}}"#, steps.join(","));
        let def = stepline_definition::parse(&text).unwrap();
        let d = layout(&def, &Graph::new(&def));
        let leaves: Vec<&Node> = d.nodes.iter().filter(|n| n.layer == 1).collect();
        assert_eq!(leaves.len(), 50);
        assert!(d.height >= 50.0 * NODE_H);
        assert_eq!(d.edges.len(), 50);
    }
}
