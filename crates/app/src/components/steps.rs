use chrono::{DateTime, Utc};
use leptos::prelude::*;

use super::status::StatusBadge;
use super::time::Timestamp;
use stepline_types::console;
use stepline_types::layout::timefmt;
use stepline_types::model::{links, JobKind, NameValue, StepMetadata, StepRun};

/// Every step run in a table, newest first as the service lists them.
#[component]
pub fn StepTable(
    steps: Vec<StepRun>,
    now: DateTime<Utc>,
    selected: Option<String>,
    href_for: Callback<String, String>,
    /// Each step's estimated cost, filled in the browser once estimated (see `super::cost`); the cost panel
    /// has the same figures without JavaScript.
    #[prop(optional)]
    costs: Option<RwSignal<Option<stepline_types::cost::ExecutionCost>>>,
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
            if let Some(note) = iteration_note(&s) {
                notes.push(note);
            }
            let key = s.key();
            let key_for_cost = key.clone();
            let class = if selected.as_deref() == Some(key.as_str()) { "selected" } else { "" };
            let href = href_for.run(key.clone());
            view! {
                <tr class=class data-step=key>
                    <td><a href=href>{s.label()}</a></td>
                    <td><StatusBadge status=s.status.as_str().to_string() tone=s.status.tone()/></td>
                    <td><Timestamp at=s.start now=now/></td>
                    <td class="num">{duration}</td>
                    <td>{notes.join(", ")}</td>
                    <td><MetadataSummary metadata=s.metadata.clone()/></td>
                    <td class="reason">{s.failure_reason.clone().unwrap_or_default()}</td>
                    <td class="num by" data-label="Cost" data-testid="step-cost">{cost_cell(costs, key_for_cost)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="data steps" data-testid="step-table">
            <thead><tr><th>"Step"</th><th>"Status"</th><th>"Started"</th><th>"Duration"</th><th>"Notes"</th><th>"Resource"</th><th>"Failure reason"</th><th title=stepline_types::cost::ESTIMATE_NOTE>"Cost"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// A step's estimated cost once known in the browser (empty before, and for steps without a job).
fn cost_cell(costs: Option<RwSignal<Option<stepline_types::cost::ExecutionCost>>>, step: String) -> impl IntoView {
    move || costs.and_then(|c| c.with(|c| c.as_ref().and_then(|c| c.step(&step)).map(|l| l.short())))
}

/// Which ForEach step an iteration belongs to: "iteration of PerRegion".
fn iteration_note(s: &StepRun) -> Option<String> {
    let i = s.iteration.as_ref()?;
    Some(match &i.parent {
        Some(parent) => format!("iteration of {parent}"),
        None => "iteration".to_string(),
    })
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
        JobKind::InferenceComponent => "Inference component",
        JobKind::BedrockCustomModel => "Bedrock custom model",
        JobKind::BedrockCustomModelDeployment => "Bedrock custom model deployment",
        JobKind::BedrockProvisionedThroughput => "Bedrock provisioned throughput",
        JobKind::BedrockModelImport => "Bedrock model import",
        JobKind::Other => "Resource",
    }
}

/// "3 items", "1 item": a count of things in words, or nothing when SageMaker did not say.
fn count(n: Option<i32>, one: &str, many: &str) -> Option<String> {
    n.map(|n| format!("{n} {}", if n == 1 { one } else { many }))
}

/// A ForEach step's progress in words: "Succeeded: 4 items, 8 steps (6 succeeded, 1 failed, 1 stopped)".
pub fn for_each_progress(
    status: Option<&stepline_types::model::StepStatus>,
    items: Option<i32>,
    total: Option<i32>,
    succeeded: Option<i32>,
    failed: Option<i32>,
    stopped: Option<i32>,
) -> String {
    let counts: Vec<String> =
        [count(items, "item", "items"), count(total, "step", "steps")].into_iter().flatten().collect();
    let outcomes: Vec<String> = [(succeeded, "succeeded"), (failed, "failed"), (stopped, "stopped")]
        .into_iter()
        .filter_map(|(n, what)| n.filter(|n| *n > 0).map(|n| format!("{n} {what}")))
        .collect();
    let mut out = status.map(|s| s.as_str().to_string()).unwrap_or_else(|| "Running".into());
    if !counts.is_empty() {
        out.push_str(&format!(": {}", counts.join(", ")));
    }
    if !outcomes.is_empty() {
        out.push_str(&format!(" ({})", outcomes.join(", ")));
    }
    out
}

/// A selector's pick: "Train [2]".
fn selection_text(s: &stepline_types::model::ForEachSelection) -> String {
    match (&s.step, s.index) {
        (Some(step), Some(i)) => format!("{step} [{i}]"),
        (Some(step), None) => step.clone(),
        (None, Some(i)) => format!("iteration {i}"),
        (None, None) => "—".into(),
    }
}

/// The last part of an ARN or path, for a short mention: "…:function:score" → "score".
fn tail(s: &str) -> &str {
    s.rsplit([':', '/']).find(|p| !p.is_empty()).unwrap_or(s)
}

/// One line about a step's resource, in words, for the table (a job's line is a console link, made by
/// [`MetadataSummary`]).
pub fn summary_text(metadata: &StepMetadata) -> String {
    let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
    match metadata {
        StepMetadata::None => "—".into(),
        StepMetadata::Job { kind, name, .. } => format!("{}: {name}", kind_label(*kind)),
        StepMetadata::Condition { outcome } => match outcome {
            Some(true) => "Condition: true (if branch)".into(),
            Some(false) => "Condition: false (else branch)".into(),
            None => "Condition".into(),
        },
        StepMetadata::Callback { token, .. } => format!("Callback token {}", or_empty(token)),
        StepMetadata::Lambda { arn, .. } => format!("Lambda {}", arn.as_deref().map(tail).unwrap_or("")),
        StepMetadata::Fail { message } => format!("Fail: {}", or_empty(message)),
        StepMetadata::Emr { cluster_id, step_id, .. } => {
            format!("EMR {} / {}", or_empty(cluster_id), or_empty(step_id))
        }
        StepMetadata::EmrServerless { application_id, job_run_id, job_run_name, .. } => match job_run_name {
            Some(name) => format!("EMR Serverless {name} ({})", or_empty(job_run_id)),
            None => format!("EMR Serverless {} / {}", or_empty(application_id), or_empty(job_run_id)),
        },
        StepMetadata::Check { kind, check_type, .. } => format!("{kind}: {}", or_empty(check_type)),
        StepMetadata::Lineage { actions, artifacts, contexts, associations } => format!(
            "Lineage: {} artifacts, {} actions, {} contexts, {} associations",
            artifacts.len(),
            actions.len(),
            contexts.len(),
            associations.len()
        ),
        StepMetadata::Athena { query_execution_id, .. } => format!("Athena query {}", or_empty(query_execution_id)),
        StepMetadata::Cleanup { cleaned, failed, skipped } => {
            let mut parts = vec![format!("{} cleaned", cleaned.len())];
            if !failed.is_empty() {
                parts.push(format!("{} failed", failed.len()));
            }
            if !skipped.is_empty() {
                parts.push(format!("{} skipped", skipped.len()));
            }
            format!("Cleanup: {}", parts.join(", "))
        }
        StepMetadata::ForEach {
            status,
            input_items,
            total_steps,
            succeeded_steps,
            failed_steps,
            stopped_steps,
            selected,
        } => {
            let progress = for_each_progress(
                status.as_ref(),
                *input_items,
                *total_steps,
                *succeeded_steps,
                *failed_steps,
                *stopped_steps,
            );
            match selected {
                Some(s) => format!("ForEach {progress}; selected {}", selection_text(s)),
                None => format!("ForEach {progress}"),
            }
        }
        StepMetadata::Other { kind, arn } => format!("{kind} {}", or_empty(arn)),
    }
}

/// One line about a step's resource, for the table: a link to the console where there is a page.
#[component]
pub fn MetadataSummary(metadata: StepMetadata) -> impl IntoView {
    let text = summary_text(&metadata);
    match metadata {
        StepMetadata::None => view! { <span class="muted">{text}</span> }.into_any(),
        StepMetadata::Job { kind, arn, name } => match console::job_console(kind, &arn, &name) {
            Some(url) => view! { <a href=url target="_blank" rel="noopener">{text}</a> }.into_any(),
            None => view! { <span>{text}</span> }.into_any(),
        },
        _ => view! { <span>{text}</span> }.into_any(),
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
        StepMetadata::Check { kind, check_type, job_arn, violation_report, baseline_constraints, baseline_statistics, drift_constraints, drift_statistics, model_package_group, skip_check, register_new_baseline } => view! {
            <table class="kv"><tbody>
                <tr><th>"Check"</th><td>{kind}</td></tr>
                {row("Check type", check_type)}
                {row("Check job", job_arn)}
                {row("Violation report", violation_report)}
                {row("Calculated constraints", baseline_constraints)}
                {row("Calculated statistics", baseline_statistics)}
                {row("Drift check constraints", drift_constraints)}
                {row("Drift check statistics", drift_statistics)}
                {row("Model package group", model_package_group)}
                {row("Skip check", skip_check.map(|b| b.to_string()))}
                {row("Register new baseline", register_new_baseline.map(|b| b.to_string()))}
            </tbody></table>
        }
        .into_any(),
        StepMetadata::EmrServerless { application_id, job_run_id, job_run_name, log_path } => view! {
            <table class="kv"><tbody>
                {row("Application", application_id)}
                {row("Job run id", job_run_id)}
                {row("Job run name", job_run_name)}
                {row("Log path", log_path)}
            </tbody></table>
        }
        .into_any(),
        StepMetadata::Lineage { actions, artifacts, contexts, associations } => {
            let group = |title: &'static str, list: Vec<NameValue>| {
                (!list.is_empty()).then(|| view! { <h4>{title}</h4>{outputs_table(list)} })
            };
            let edges = (!associations.is_empty()).then(|| {
                let rows = associations
                    .into_iter()
                    .map(|a| view! { <tr><td class="mono copyable">{a.source.unwrap_or_default()}</td><td>"→"</td><td class="mono copyable">{a.destination.unwrap_or_default()}</td></tr> })
                    .collect_view();
                view! { <h4>"Associations"</h4><table class="kv"><tbody>{rows}</tbody></table> }
            });
            view! {
                {group("Artifacts", artifacts)}
                {group("Actions", actions)}
                {group("Contexts", contexts)}
                {edges}
            }
            .into_any()
        }
        StepMetadata::Athena { query_execution_id, output_location } => view! {
            <table class="kv"><tbody>
                {row("Query execution id", query_execution_id)}
                {row("Output location", output_location)}
            </tbody></table>
        }
        .into_any(),
        StepMetadata::Cleanup { cleaned, failed, skipped } => {
            let names = |list: Vec<String>| (!list.is_empty()).then(|| list.join(", "));
            let failures = failed
                .into_iter()
                .map(|f| {
                    let why = [f.code, f.message].into_iter().flatten().collect::<Vec<_>>().join(": ");
                    view! { <tr><th>{f.step.unwrap_or_default()}</th><td class="mono">{why}</td></tr> }
                })
                .collect_view();
            view! {
                <table class="kv"><tbody>
                    {row("Cleaned up", names(cleaned))}
                    {row("Skipped", names(skipped))}
                    {failures}
                </tbody></table>
            }
            .into_any()
        }
        StepMetadata::ForEach { status, input_items, total_steps, succeeded_steps, failed_steps, stopped_steps, selected } => {
            let n = |v: Option<i32>| v.map(|v| v.to_string());
            view! {
                <table class="kv"><tbody>
                    {row("Status", status.map(|s| s.as_str().to_string()))}
                    {row("Input items", n(input_items))}
                    {row("Iteration steps", n(total_steps))}
                    {row("Succeeded", n(succeeded_steps))}
                    {row("Failed", n(failed_steps))}
                    {row("Stopped", n(stopped_steps))}
                    {row("Selected", selected.as_ref().map(selection_text))}
                </tbody></table>
            }
            .into_any()
        }
        StepMetadata::Other { kind, arn } => view! { <table class="kv"><tbody><tr><th>{kind}</th><td class="mono">{arn.unwrap_or_default()}</td></tr></tbody></table> }.into_any(),
    };
    let iteration = step.iteration.clone().map(|i| {
        view! {
            <table class="kv" data-testid="iteration"><tbody>
                {row("Iteration of", i.parent)}
                {row("Index", i.index.map(|n| n.to_string()))}
                {row("Item", i.item)}
            </tbody></table>
        }
    });
    let source = step
        .cache_source
        .clone()
        .map(|a| ("Served from the cache of", a))
        .or_else(|| step.selective_source.clone().map(|a| ("Reused from the source execution", a)))
        .map(|(label, arn)| {
            let href = links::execution_arn(&arn).unwrap_or_default();
            view! { <p class="note">{label}" "<a href=href>{stepline_types::model::execution_id(&arn).to_string()}</a></p> }
        });
    view! {
        <section class="step-detail" data-testid="step-detail">
            <h3>{step.label()}" "<StatusBadge status=step.status.as_str().to_string() tone=step.status.tone()/></h3>
            {step.description.clone().map(|d| view! { <p class="muted">{d}</p> })}
            <table class="kv"><tbody>
                <tr><th>"Started"</th><td><Timestamp at=step.start now=now/></td></tr>
                <tr><th>"Ended"</th><td><Timestamp at=step.end now=now/></td></tr>
                <tr><th>"Duration"</th><td>{duration.unwrap_or_else(|| "—".into())}</td></tr>
                <tr><th>"Attempts"</th><td>{step.attempts.unwrap_or(0)}</td></tr>
            </tbody></table>
            {iteration}
            {source}
            {step.failure_reason.clone().map(|r| view! { <div class="failure"><h4>"Failure reason"</h4><pre class="copyable">{r}</pre></div> })}
            {resource}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stepline_types::model::{Association, ForEachSelection, Iteration, StepStatus};

    fn run(metadata: StepMetadata) -> StepRun {
        StepRun { metadata, ..StepRun::named("Step", StepStatus::Succeeded) }
    }

    fn detail(step: StepRun) -> String {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        view! { <StepDetail step=step now=now/> }.to_html()
    }

    #[test]
    fn one_line_summaries_say_what_each_kind_did() {
        let some = |s: &str| Some(s.to_string());
        let cases = [
            (
                StepMetadata::Job {
                    kind: JobKind::BedrockProvisionedThroughput,
                    arn: "arn:aws:bedrock:us-east-1:1:provisioned-model/pm".into(),
                    name: "pm".into(),
                },
                "Bedrock provisioned throughput: pm",
            ),
            (
                StepMetadata::EmrServerless {
                    application_id: some("app"),
                    job_run_id: some("run1"),
                    job_run_name: some("etl"),
                    log_path: None,
                },
                "EMR Serverless etl (run1)",
            ),
            (StepMetadata::Athena { query_execution_id: some("q-1"), output_location: None }, "Athena query q-1"),
            (
                StepMetadata::Cleanup {
                    cleaned: vec!["A".into(), "B".into()],
                    failed: vec![],
                    skipped: vec!["C".into()],
                },
                "Cleanup: 2 cleaned, 1 skipped",
            ),
            (
                StepMetadata::Lineage {
                    actions: vec![],
                    artifacts: vec![NameValue { name: "m".into(), value: "arn".into() }],
                    contexts: vec![],
                    associations: vec![Association { source: None, destination: None }],
                },
                "Lineage: 1 artifacts, 0 actions, 0 contexts, 1 associations",
            ),
            (
                StepMetadata::ForEach {
                    status: Some(StepStatus::Failed),
                    input_items: Some(4),
                    total_steps: Some(8),
                    succeeded_steps: Some(6),
                    failed_steps: Some(2),
                    stopped_steps: Some(0),
                    selected: Some(ForEachSelection { step: some("Train"), index: Some(2) }),
                },
                "ForEach Failed: 4 items, 8 steps (6 succeeded, 2 failed); selected Train [2]",
            ),
            (
                StepMetadata::ForEach {
                    status: None,
                    input_items: Some(1),
                    total_steps: None,
                    succeeded_steps: None,
                    failed_steps: None,
                    stopped_steps: None,
                    selected: None,
                },
                "ForEach Running: 1 item",
            ),
            (
                StepMetadata::Lambda { arn: some("arn:aws:lambda:us-east-1:1:function:score"), outputs: vec![] },
                "Lambda score",
            ),
            (StepMetadata::None, "—"),
        ];
        for (m, want) in cases {
            assert_eq!(summary_text(&m), want);
        }
    }

    #[test]
    fn job_summaries_link_to_the_console_when_it_has_a_page() {
        let arn = "arn:aws:sagemaker:us-east-1:1:training-job/t1";
        let html = view! { <MetadataSummary metadata=StepMetadata::Job { kind: JobKind::Training, arn: arn.into(), name: "t1".into() }/> }.to_html();
        assert!(
            html.contains("href=\"https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/t1\""),
            "{html}"
        );
        assert!(html.contains("Training job: t1"), "{html}");
        let arn = "arn:aws:sagemaker:us-east-1:1:inference-component/ic";
        let html = view! { <MetadataSummary metadata=StepMetadata::Job { kind: JobKind::InferenceComponent, arn: arn.into(), name: "ic".into() }/> }.to_html();
        assert!(!html.contains("href"), "{html}");
        assert!(html.contains("Inference component: ic"), "{html}");
    }

    #[test]
    fn the_detail_panel_lists_every_field_of_a_kind() {
        let html = detail(run(StepMetadata::Cleanup {
            cleaned: vec!["Preprocess".into(), "Train".into()],
            failed: vec![stepline_types::model::CleanupFailure {
                step: Some("Evaluate".into()),
                code: Some("ClientError".into()),
                message: Some("Access Denied".into()),
            }],
            skipped: vec![],
        }));
        assert!(html.contains("Preprocess, Train"), "{html}");
        assert!(html.contains("Evaluate") && html.contains("ClientError: Access Denied"), "{html}");
        assert!(!html.contains("Skipped"), "empty lists are left out: {html}");

        let html = detail(run(StepMetadata::Athena {
            query_execution_id: Some("q-1".into()),
            output_location: Some("s3://out/q-1.csv".into()),
        }));
        assert!(html.contains("Query execution id") && html.contains("s3://out/q-1.csv"), "{html}");

        let html = detail(run(StepMetadata::ForEach {
            status: Some(StepStatus::Succeeded),
            input_items: Some(3),
            total_steps: Some(3),
            succeeded_steps: Some(3),
            failed_steps: None,
            stopped_steps: None,
            selected: Some(ForEachSelection { step: Some("Train".into()), index: Some(1) }),
        }));
        assert!(html.contains("Input items") && html.contains("Train [1]"), "{html}");
    }

    #[test]
    fn an_iteration_is_named_with_its_index_and_item() {
        let step = StepRun {
            iteration: Some(Iteration {
                parent: Some("PerRegion".into()),
                index: Some(2),
                item: Some("eu-west-1".into()),
            }),
            ..StepRun::named("Train", StepStatus::Failed)
        };
        let html = detail(step.clone());
        assert!(html.contains("Train [2] eu-west-1"), "{html}");
        assert!(html.contains("Iteration of") && html.contains("PerRegion"), "{html}");
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        // A callback lives in a reactive owner, as on a page.
        let table = Owner::new().with(|| {
            let href_for = Callback::new(|key: String| format!("?step={key}"));
            view! { <StepTable steps=vec![step] now=now selected=Some("Train[2]".into()) href_for=href_for/> }.to_html()
        });
        assert!(table.contains("data-step=\"Train[2]\""), "{table}");
        assert!(table.contains("href=\"?step=Train[2]\""), "{table}");
        assert!(table.contains("class=\"selected\""), "{table}");
        assert!(table.contains("iteration of PerRegion"), "{table}");
    }
}
