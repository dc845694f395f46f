use leptos::prelude::*;

/// A coloured badge for an execution or step status.
#[component]
pub fn StatusBadge(#[prop(into)] status: String, tone: &'static str) -> impl IntoView {
    let label = status.clone();
    view! { <span class=format!("badge badge-{tone}") data-status=status>{label}</span> }
}

/// A model version's approval status.
#[component]
pub fn ApprovalBadge(approval: stepline_types::model::registry::Approval) -> impl IntoView {
    view! { <span class=format!("outcome {}", approval.tone()) data-approval=approval.to_string()>{approval.label()}</span> }
}
