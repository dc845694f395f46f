use std::collections::HashMap;
use std::sync::Arc;

use leptos::prelude::*;

use stepline_types::layout::dag::{Dag, NODE_H, NODE_W};
use stepline_types::model::StepRun;

/// The pipeline definition as a graph (SVG), each node coloured by its run's status. Steps that never ran
/// in a finished execution (a branch not taken, or after a failure) are drawn as skipped. The layout is made
/// once by the page ([`stepline_types::layout::dag::layout`]); this only paints it with the runs.
#[component]
pub fn DagView(
    dag: Arc<Dag>,
    steps: Vec<StepRun>,
    finished: bool,
    selected: Option<String>,
    href_for: Callback<String, String>,
) -> impl IntoView {
    let d = &dag;
    // A node is a step of the definition: the iterations of a ForEach body are not nodes of their own.
    let runs: HashMap<&str, &StepRun> =
        steps.iter().filter(|s| s.iteration.is_none()).map(|s| (s.name.as_str(), s)).collect();
    let edges = d
        .edges
        .iter()
        .map(|e| {
            let (class, arrow) = match e.branch {
                Some(true) => ("edge branch-if", "url(#arrow-if)"),
                Some(false) => ("edge branch-else", "url(#arrow-else)"),
                None => ("edge", "url(#arrow)"),
            };
            view! { <path class=class d=e.path.clone() marker-end=arrow></path> }
        })
        .collect_view();
    let nodes = d
        .nodes
        .iter()
        .map(|n| {
            let (tone, state) = match runs.get(n.name.as_str()) {
                Some(r) => (r.status.tone(), r.status.as_str().to_string()),
                None if finished => ("skipped", "Not run".to_string()),
                None => ("pending", "Pending".to_string()),
            };
            let class = format!(
                "node tone-{tone}{}",
                if selected.as_deref() == Some(n.name.as_str()) { " selected" } else { "" }
            );
            let label = stepline_types::text::clip(&n.name, 24);
            view! {
                <a href=href_for.run(n.name.clone()) class=class data-step=n.name.clone() data-state=state.clone()>
                    <title>{format!("{} ({}) · {}", n.name, n.step_type, state)}</title>
                    <rect x=n.x y=n.y width=NODE_W height=NODE_H rx="6"></rect>
                    <text x=n.x + 10.0 y=n.y + 15.0 class="node-name">{label}</text>
                    <text x=n.x + 10.0 y=n.y + 28.0 class="node-type">{format!("{} · {}", n.step_type, state)}</text>
                </a>
            }
        })
        .collect_view();
    view! {
        <div class="dag-scroll" data-testid="dag">
            <svg class="dag" width=d.width height=d.height viewBox=format!("0 0 {} {}", d.width, d.height) role="group"
                aria-label=format!("Graph of {} steps", d.nodes.len())>
                // Arrowheads say which way each dependency goes; a marker takes its colour from itself.
                <defs>
                    <marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">
                        <path d="M0,0 L8,4 L0,8 z" class="arrow"></path>
                    </marker>
                    <marker id="arrow-if" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">
                        <path d="M0,0 L8,4 L0,8 z" class="arrow arrow-if"></path>
                    </marker>
                    <marker id="arrow-else" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">
                        <path d="M0,0 L8,4 L0,8 z" class="arrow arrow-else"></path>
                    </marker>
                </defs>
                <g class="edges">{edges}</g>
                <g class="nodes">{nodes}</g>
            </svg>
        </div>
    }
}
