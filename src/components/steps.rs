use chrono::{DateTime, Utc};
use leptos::prelude::*;

use super::status::StatusBadge;
use super::time::Timestamp;
use crate::console;
use crate::layout::timefmt;
use crate::model::{links, JobKind, NameValue, StepMetadata, StepRun};

/// Every step run in a table, newest first as the service lists them.
#[component]
pub fn StepTable(
    steps: Vec<StepRun>,
    now: DateTime<Utc>,
    selected: Option<String>,
    href_for: Callback<String, String>,
) -> impl IntoView {
    let rows = steps
        .into_iter()
        .map(|s| {
            let end = if s.status.is_running() { Some(now) } else { s.end };
            let duration = timefmt::between(s.start, end).map(timefmt::duration).unwrap_or_default();
            let mut notes = vec![];
            if s.cache_source.is_some() {
                notes.push("from cache".to_string());
            }
            if s.selective_source.is_some() {
                notes.push("reused from source".to_string());
            }
            if s.attempts.unwrap_or(1) > 1 {
                notes.push(format!("{} attempts", s.attempts.unwrap_or(1)));
            }
            let class = if selected.as_deref() == Some(s.name.as_str()) { "selected" } else { "" };
            view! {
                <tr class=class data-step=s.name.clone()>
                    <td><a href=href_for.run(s.name.clone())>{s.display_name.clone().unwrap_or_else(|| s.name.clone())}</a></td>
                    <td><StatusBadge status=s.status.as_str().to_string() tone=s.status.tone()/></td>
                    <td><Timestamp at=s.start now=now/></td>
                    <td class="num">{duration}</td>
                    <td>{notes.join(", ")}</td>
                    <td><MetadataSummary metadata=s.metadata.clone()/></td>
                    <td class="reason">{s.failure_reason.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="data steps" data-testid="step-table">
            <thead><tr><th>"Step"</th><th>"Status"</th><th>"Started"</th><th>"Duration"</th><th>"Notes"</th><th>"Resource"</th><th>"Failure reason"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn kind_label(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Training => "Training job",
        JobKind::Processing => "Processing job",
        JobKind::Transform => "Transform job",
        JobKind::Tuning => "Tuning job",
        JobKind::AutoML => "AutoML job",
        JobKind::Model => "Model",
        JobKind::ModelPackage => "Model package",
        JobKind::Endpoint => "Endpoint",
        JobKind::EndpointConfig => "Endpoint config",
        JobKind::Other => "Resource",
    }
}

/// One line about a step's resource, for the table.
#[component]
pub fn MetadataSummary(metadata: StepMetadata) -> impl IntoView {
    match metadata {
        StepMetadata::None => view! { <span class="muted">"—"</span> }.into_any(),
        StepMetadata::Job { kind, arn, name } => {
            match console::job_console(kind, &arn, &name) {
                Some(url) => view! { <a href=url target="_blank" rel="noopener">{format!("{}: {name}", kind_label(kind))}</a> }.into_any(),
                None => view! { <span>{format!("{}: {name}", kind_label(kind))}</span> }.into_any(),
            }
        }
        StepMetadata::Condition { outcome } => view! {
            <span>{match outcome { Some(true) => "Condition: true (if branch)", Some(false) => "Condition: false (else branch)", None => "Condition" }}</span>
        }
        .into_any(),
        StepMetadata::Callback { token, .. } => view! { <span>{format!("Callback token {}", token.unwrap_or_default())}</span> }.into_any(),
        StepMetadata::Lambda { arn, .. } => view! { <span>{format!("Lambda {}", arn.as_deref().and_then(|a| a.rsplit(':').next()).unwrap_or(""))}</span> }.into_any(),
        StepMetadata::Fail { message } => view! { <span>{format!("Fail: {}", message.unwrap_or_default())}</span> }.into_any(),
        StepMetadata::Emr { cluster_id, step_id, .. } => {
            view! { <span>{format!("EMR {} / {}", cluster_id.unwrap_or_default(), step_id.unwrap_or_default())}</span> }.into_any()
        }
        StepMetadata::Check { kind, check_type, .. } => view! { <span>{format!("{kind}: {}", check_type.unwrap_or_default())}</span> }.into_any(),
        StepMetadata::Other { kind, arn } => view! { <span>{format!("{kind} {}", arn.unwrap_or_default())}</span> }.into_any(),
    }
}

fn outputs_table(outputs: Vec<NameValue>) -> impl IntoView {
    if outputs.is_empty() {
        return view! { <p class="muted">"No output parameters yet."</p> }.into_any();
    }
    let rows = outputs
        .into_iter()
        .map(|o| view! { <tr><th>{o.name}</th><td class="mono copyable">{o.value}</td></tr> })
        .collect_view();
    view! { <table class="kv"><tbody>{rows}</tbody></table> }.into_any()
}

fn row(label: &'static str, value: Option<String>) -> impl IntoView {
    value.map(|v| view! { <tr><th>{label}</th><td class="mono copyable">{v}</td></tr> })
}

/// Everything about one step run: its resource with console and log links, outputs, messages and the full
/// failure reason.
#[component]
pub fn StepDetail(step: StepRun, now: DateTime<Utc>) -> impl IntoView {
    let end = if step.status.is_running() { Some(now) } else { step.end };
    let duration = timefmt::between(step.start, end).map(timefmt::duration);
    let resource = match step.metadata.clone() {
        StepMetadata::None => view! { <p class="muted">"No resource reported for this step."</p> }.into_any(),
        StepMetadata::Job { kind, arn, name } => {
            let console_link = console::job_console(kind, &arn, &name).map(|u| view! { <a href=u target="_blank" rel="noopener">"Open in the AWS console"</a> });
            let logs = console::job_logs(kind, &arn, &name).map(|u| view! { " · " <a href=u target="_blank" rel="noopener">"CloudWatch logs"</a> });
            view! {
                <table class="kv"><tbody>
                    <tr><th>{kind_label(kind)}</th><td class="mono copyable">{arn}</td></tr>
                </tbody></table>
                <p>{console_link}{logs}</p>
            }
            .into_any()
        }
        StepMetadata::Condition { outcome } => view! {
            <p>{match outcome { Some(true) => "The condition evaluated to true: the if branch ran.", Some(false) => "The condition evaluated to false: the else branch ran.", None => "The condition has not been evaluated yet." }}</p>
        }
        .into_any(),
        StepMetadata::Callback { token, queue_url, outputs } => view! {
            <table class="kv"><tbody>
                {row("Callback token", token)}
                {row("SQS queue", queue_url)}
            </tbody></table>
            <h4>"Outputs"</h4>
            {outputs_table(outputs)}
        }
        .into_any(),
        StepMetadata::Lambda { arn, outputs } => {
            let links = arn.as_deref().and_then(console::lambda_links).map(|(page, logs)| {
                view! { <p><a href=page target="_blank" rel="noopener">"Open the function"</a>" · "<a href=logs target="_blank" rel="noopener">"CloudWatch logs"</a></p> }
            });
            view! {
                <table class="kv"><tbody>{row("Function", arn)}</tbody></table>
                {links}
                <h4>"Outputs"</h4>
                {outputs_table(outputs)}
            }
            .into_any()
        }
        StepMetadata::Fail { message } => view! { <table class="kv"><tbody>{row("Error message", message)}</tbody></table> }.into_any(),
        StepMetadata::Emr { cluster_id, step_id, step_name, log_path } => view! {
            <table class="kv"><tbody>
                {row("Cluster", cluster_id)}
                {row("EMR step id", step_id)}
                {row("EMR step name", step_name)}
                {row("Log path", log_path)}
            </tbody></table>
        }
        .into_any(),
        StepMetadata::Check { kind, check_type, job_arn, violation_report, baseline_constraints, baseline_statistics, model_package_group, skip_check, register_new_baseline } => view! {
            <table class="kv"><tbody>
                <tr><th>"Check"</th><td>{kind}</td></tr>
                {row("Check type", check_type)}
                {row("Check job", job_arn)}
                {row("Violation report", violation_report)}
                {row("Calculated constraints", baseline_constraints)}
                {row("Calculated statistics", baseline_statistics)}
                {row("Model package group", model_package_group)}
                {row("Skip check", skip_check.map(|b| b.to_string()))}
                {row("Register new baseline", register_new_baseline.map(|b| b.to_string()))}
            </tbody></table>
        }
        .into_any(),
        StepMetadata::Other { kind, arn } => view! { <table class="kv"><tbody><tr><th>{kind}</th><td class="mono">{arn.unwrap_or_default()}</td></tr></tbody></table> }.into_any(),
    };
    let source = step
        .cache_source
        .clone()
        .map(|a| ("Served from the cache of", a))
        .or_else(|| step.selective_source.clone().map(|a| ("Reused from the source execution", a)))
        .map(|(label, arn)| {
            let href = links::execution_arn(&arn).unwrap_or_default();
            view! { <p class="note">{label}" "<a href=href>{crate::model::execution_id(&arn).to_string()}</a></p> }
        });
    view! {
        <section class="step-detail" data-testid="step-detail">
            <h3>{step.display_name.clone().unwrap_or_else(|| step.name.clone())}" "<StatusBadge status=step.status.as_str().to_string() tone=step.status.tone()/></h3>
            {step.description.clone().map(|d| view! { <p class="muted">{d}</p> })}
            <table class="kv"><tbody>
                <tr><th>"Started"</th><td><Timestamp at=step.start now=now/></td></tr>
                <tr><th>"Ended"</th><td><Timestamp at=step.end now=now/></td></tr>
                <tr><th>"Duration"</th><td>{duration.unwrap_or_else(|| "—".into())}</td></tr>
                <tr><th>"Attempts"</th><td>{step.attempts.unwrap_or(0)}</td></tr>
            </tbody></table>
            {source}
            {step.failure_reason.clone().map(|r| view! { <div class="failure"><h4>"Failure reason"</h4><pre class="copyable">{r}</pre></div> })}
            {resource}
        </section>
    }
}
