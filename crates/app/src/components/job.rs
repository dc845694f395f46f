//! The job behind a step, as its Describe call tells it: status with its transitions on a small
//! timeline, resources, times, metrics, hyperparameters, data locations and the image.

use leptos::prelude::*;

use super::time::Timestamp;
use stepline_types::layout::timefmt;
use stepline_types::model::jobs::{JobDetail, Transition};
use stepline_types::model::NameValue;

fn kv(label: &'static str, value: Option<String>) -> impl IntoView {
    value.map(|v| view! { <tr><th>{label}</th><td class="mono copyable">{v}</td></tr> })
}

fn pairs(title: &'static str, items: Vec<NameValue>, testid: &'static str) -> impl IntoView {
    (!items.is_empty()).then(|| {
        let rows = items
            .into_iter()
            .map(|p| view! { <tr><th>{p.name}</th><td class="mono copyable">{p.value}</td></tr> })
            .collect_view();
        view! { <h4>{title}</h4><table class="kv" data-testid=testid><tbody>{rows}</tbody></table> }
    })
}

/// The secondary statuses as bars along the job's run, each as long as it lasted.
fn transitions(list: Vec<Transition>, end: Option<chrono::DateTime<chrono::Utc>>) -> impl IntoView {
    let first = list.first().and_then(|t| t.start);
    let last = list.iter().filter_map(|t| t.end.or(end)).max();
    let span = timefmt::between(first, last).filter(|s| *s > 0.0);
    (!list.is_empty()).then(|| {
        let items = list
            .into_iter()
            .map(|t| {
                let secs = timefmt::between(t.start, t.end.or(end));
                let width = match (span, secs) {
                    (Some(span), Some(s)) => (s / span * 100.0).clamp(2.0, 100.0),
                    _ => 2.0,
                };
                let label =
                    format!("{}{}", t.status, secs.map(|s| format!(" · {}", timefmt::duration(s))).unwrap_or_default());
                let title = t.message.clone().unwrap_or_default();
                view! {
                    <li class="transition" title=title>
                        <span class="bar" style=format!("width:{width:.1}%")></span>
                        <span class="label">{label}</span>
                        {t.message.map(|m| view! { <span class="muted">" — "{m}</span> })}
                    </li>
                }
            })
            .collect_view();
        view! { <h4>"Status history"</h4><ol class="transitions" data-testid="transitions">{items}</ol> }
    })
}

#[component]
pub fn JobPanel(job: JobDetail) -> impl IntoView {
    let instances = match (&job.instance_type, job.instance_count) {
        (Some(t), Some(n)) => Some(format!("{t} × {n}")),
        (Some(t), None) => Some(t.clone()),
        _ => None,
    };
    let seconds = job.training_seconds.map(|t| {
        let billable =
            job.billable_seconds.map(|b| format!(", billable {}", timefmt::duration(b as f64))).unwrap_or_default();
        let saving = job.spot_saving().map(|p| format!(" (managed spot: {p}% saved)")).unwrap_or_default();
        format!("{}{billable}{saving}", timefmt::duration(t as f64))
    });
    let metrics = (!job.metrics.is_empty()).then(|| {
        let rows = job
            .metrics
            .iter()
            .map(|m| view! { <tr><th>{m.name.clone()}</th><td class="num">{format!("{:.4}", m.value)}</td></tr> })
            .collect_view();
        view! { <h4>"Final metrics"</h4><table class="kv" data-testid="metrics"><tbody>{rows}</tbody></table> }
    });
    let status = match &job.secondary {
        Some(s) if s != job.status.as_str() => format!("{} ({s})", job.status),
        _ => job.status.to_string(),
    };
    view! {
        <div class="job" data-testid="job-detail">
            <h4>"Job"</h4>
            <table class="kv"><tbody>
                <tr><th>"Name"</th><td class="mono copyable">{job.name.clone()}</td></tr>
                <tr><th>"Status"</th><td data-testid="job-status">{status}</td></tr>
                {kv("Approval", job.approval.clone())}
                {kv("Failure reason", job.failure_reason.clone())}
                {kv("Exit message", job.exit_message.clone())}
                {kv("Instances", instances)}
                {kv("Training time", seconds)}
                {kv("Best training job", job.best_training_job.clone())}
                {kv("Image", job.image.clone())}
                {kv("Model artifacts", job.model_artifacts.clone())}
                <tr><th>"Created"</th><td><Timestamp at=job.created/></td></tr>
                {job.started.map(|t| view! { <tr><th>"Started"</th><td><Timestamp at=Some(t)/></td></tr> })}
                {job.ended.map(|t| view! { <tr><th>"Ended"</th><td><Timestamp at=Some(t)/></td></tr> })}
            </tbody></table>
            {transitions(job.transitions.clone(), job.ended)}
            {metrics}
            {pairs("Hyperparameters", job.hyperparameters.clone(), "hyperparameters")}
            {pairs("Inputs", job.inputs.clone(), "inputs")}
            {pairs("Outputs", job.outputs.clone(), "outputs")}
        </div>
    }
}
