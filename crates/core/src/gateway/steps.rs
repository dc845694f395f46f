//! Step runs as ListPipelineExecutionSteps answers them, turned into `stepline_types::model` types: every kind of
//! step metadata the SDK knows to its typed variant, and ForEach iterations told apart. Pure, so every kind
//! is tested with values built as the SDK builds them.

use aws_sdk_sagemaker::types as aws;

use super::{owned, time};
use stepline_types::model::{
    Association, CleanupFailure, ForEachSelection, Iteration, JobKind, NameValue, StepMetadata, StepRun, StepStatus,
};

fn outputs(list: &[aws::OutputParameter]) -> Vec<NameValue> {
    list.iter()
        .map(|o| NameValue {
            name: o.name().unwrap_or_default().to_string(),
            value: o.value().unwrap_or_default().to_string(),
        })
        .collect()
}

/// A map of the SDK (name → ARN) as a list sorted by name: a page shows it in the same order every time.
fn sorted(map: Option<&std::collections::HashMap<String, String>>) -> Vec<NameValue> {
    let mut out: Vec<NameValue> =
        map.into_iter().flatten().map(|(name, value)| NameValue { name: name.clone(), value: value.clone() }).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn job(kind: JobKind, arn: Option<&str>) -> StepMetadata {
    match arn {
        Some(a) => {
            StepMetadata::Job { kind, arn: a.to_string(), name: stepline_types::console::resource_name(a).to_string() }
        }
        None => StepMetadata::None,
    }
}

/// Quality and Clarify check metadata share their members (the SDK has a type for each).
macro_rules! check_metadata {
    ($kind:literal, $q:expr, $statistics:expr, $drift_statistics:expr) => {
        StepMetadata::Check {
            kind: $kind.into(),
            check_type: owned($q.check_type()),
            job_arn: owned($q.check_job_arn()),
            violation_report: owned($q.violation_report()),
            baseline_constraints: owned($q.calculated_baseline_constraints()),
            baseline_statistics: $statistics,
            drift_constraints: owned($q.baseline_used_for_drift_check_constraints()),
            drift_statistics: $drift_statistics,
            model_package_group: owned($q.model_package_group_name()),
            skip_check: $q.skip_check(),
            register_new_baseline: $q.register_new_baseline(),
        }
    };
}

/// The metadata of a step run, by the one member SageMaker sets for its kind of step.
pub fn metadata(m: Option<&aws::PipelineExecutionStepMetadata>) -> StepMetadata {
    let Some(m) = m else { return StepMetadata::None };
    // Steps whose metadata is the ARN of the resource they made.
    let resources = [
        (m.training_job().map(|j| j.arn()), JobKind::Training),
        (m.processing_job().map(|j| j.arn()), JobKind::Processing),
        (m.transform_job().map(|j| j.arn()), JobKind::Transform),
        (m.tuning_job().map(|j| j.arn()), JobKind::Tuning),
        (m.auto_ml_job().map(|j| j.arn()), JobKind::AutoML),
        (m.model().map(|j| j.arn()), JobKind::Model),
        (m.register_model().map(|j| j.arn()), JobKind::ModelPackage),
        (m.endpoint().map(|j| j.arn()), JobKind::Endpoint),
        (m.endpoint_config().map(|j| j.arn()), JobKind::EndpointConfig),
        (m.inference_component().map(|j| j.arn()), JobKind::InferenceComponent),
        (m.bedrock_custom_model().map(|j| j.arn()), JobKind::BedrockCustomModel),
        (m.bedrock_custom_model_deployment().map(|j| j.arn()), JobKind::BedrockCustomModelDeployment),
        (m.bedrock_provisioned_model_throughput().map(|j| j.arn()), JobKind::BedrockProvisionedThroughput),
        (m.bedrock_model_import().map(|j| j.arn()), JobKind::BedrockModelImport),
    ];
    if let Some((arn, kind)) = resources.into_iter().find_map(|(arn, kind)| arn.map(|a| (a, kind))) {
        return job(kind, arn);
    }
    // The generic Job step names only an ARN: its kind is the ARN's resource type.
    if let Some(j) = m.job() {
        return job(j.arn().map_or(JobKind::Other, JobKind::of_arn), j.arn());
    }
    if let Some(c) = m.condition() {
        return StepMetadata::Condition { outcome: c.outcome().map(|o| o.as_str() == "True") };
    }
    if let Some(c) = m.callback() {
        return StepMetadata::Callback {
            token: owned(c.callback_token()),
            queue_url: owned(c.sqs_queue_url()),
            outputs: outputs(c.output_parameters()),
        };
    }
    if let Some(l) = m.lambda() {
        return StepMetadata::Lambda { arn: owned(l.arn()), outputs: outputs(l.output_parameters()) };
    }
    if let Some(f) = m.fail() {
        return StepMetadata::Fail { message: owned(f.error_message()) };
    }
    if let Some(e) = m.emr() {
        return StepMetadata::Emr {
            cluster_id: owned(e.cluster_id()),
            step_id: owned(e.step_id()),
            step_name: owned(e.step_name()),
            log_path: owned(e.log_file_path()),
        };
    }
    if let Some(e) = m.emr_serverless() {
        return StepMetadata::EmrServerless {
            application_id: owned(e.application_id()),
            job_run_id: owned(e.job_run_id()),
            job_run_name: owned(e.job_run_name()),
            log_path: owned(e.log_file_path()),
        };
    }
    if let Some(q) = m.quality_check() {
        return check_metadata!(
            "QualityCheck",
            q,
            owned(q.calculated_baseline_statistics()),
            owned(q.baseline_used_for_drift_check_statistics())
        );
    }
    if let Some(q) = m.clarify_check() {
        // Clarify checks calculate and compare constraints only.
        return check_metadata!("ClarifyCheck", q, None, None);
    }
    if let Some(l) = m.lineage() {
        return StepMetadata::Lineage {
            actions: sorted(l.action_arns()),
            artifacts: sorted(l.artifact_arns()),
            contexts: sorted(l.context_arns()),
            associations: l
                .associations()
                .iter()
                .map(|a| Association { source: owned(a.source_arn()), destination: owned(a.destination_arn()) })
                .collect(),
        };
    }
    if let Some(a) = m.athena() {
        return StepMetadata::Athena {
            query_execution_id: owned(a.query_execution_id()),
            output_location: owned(a.s3_output_location()),
        };
    }
    if let Some(c) = m.cleanup() {
        return StepMetadata::Cleanup {
            cleaned: c.cleaned_steps().to_vec(),
            failed: c
                .failed_steps()
                .iter()
                .map(|f| CleanupFailure {
                    step: owned(f.step_name()),
                    code: f.error_code().map(|c| c.as_str().to_string()),
                    message: owned(f.error_message()),
                })
                .collect(),
            skipped: c.skipped_steps().to_vec(),
        };
    }
    if let Some(f) = m.for_each() {
        return StepMetadata::ForEach {
            status: f.status().map(|s| StepStatus::parse(s.as_str())),
            input_items: f.input_item_count(),
            total_steps: f.total_step_count(),
            succeeded_steps: f.succeeded_step_count(),
            failed_steps: f.failed_step_count(),
            stopped_steps: f.stopped_step_count(),
            selected: f.selector().map(|s| ForEachSelection { step: owned(s.step_name()), index: s.index() }),
        };
    }
    StepMetadata::None
}

pub fn step_run(s: &aws::PipelineExecutionStep) -> StepRun {
    let step_name = s.step_name().unwrap_or_default();
    let mut metadata = metadata(s.metadata());
    if let StepMetadata::Job { arn, name, .. } = &mut metadata {
        *name = stepline_types::console::job_name(arn, step_name);
    }
    StepRun {
        name: s.step_name().unwrap_or_default().to_string(),
        display_name: owned(s.step_display_name()),
        description: owned(s.step_description()),
        status: StepStatus::parse(s.step_status().map(|x| x.as_str()).unwrap_or("")),
        start: time(s.start_time()),
        end: time(s.end_time()),
        attempts: s.attempt_count(),
        failure_reason: owned(s.failure_reason()),
        cache_source: s.cache_hit_result().and_then(|c| owned(c.source_pipeline_execution_arn())),
        selective_source: s.selective_execution_result().and_then(|c| owned(c.source_pipeline_execution_arn())),
        metadata,
        iteration: s.iteration_context().map(|i| Iteration {
            parent: owned(i.parent_step_name()),
            index: i.index(),
            item: owned(i.item()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sagemaker::types::*;

    use super::{metadata, step_run};
    use stepline_types::model::{
        self, Association, ForEachSelection, Iteration, JobKind, NameValue, StepMetadata, StepRun,
    };

    const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012";

    fn of(m: PipelineExecutionStepMetadata) -> StepMetadata {
        metadata(Some(&m))
    }

    fn resource(kind: JobKind, arn: &str, name: &str) -> StepMetadata {
        StepMetadata::Job { kind, arn: arn.to_string(), name: name.to_string() }
    }

    #[test]
    fn resources_made_by_a_step_are_jobs_with_their_kind() {
        let b = PipelineExecutionStepMetadata::builder;
        let cases: Vec<(PipelineExecutionStepMetadata, JobKind, String)> = vec![
            (
                b().training_job(TrainingJobStepMetadata::builder().arn(format!("{ARN}:training-job/t1")).build())
                    .build(),
                JobKind::Training,
                format!("{ARN}:training-job/t1"),
            ),
            (
                b().processing_job(
                    ProcessingJobStepMetadata::builder().arn(format!("{ARN}:processing-job/p1")).build(),
                )
                .build(),
                JobKind::Processing,
                format!("{ARN}:processing-job/p1"),
            ),
            (
                b().transform_job(TransformJobStepMetadata::builder().arn(format!("{ARN}:transform-job/x1")).build())
                    .build(),
                JobKind::Transform,
                format!("{ARN}:transform-job/x1"),
            ),
            (
                b().tuning_job(
                    TuningJobStepMetaData::builder().arn(format!("{ARN}:hyper-parameter-tuning-job/h1")).build(),
                )
                .build(),
                JobKind::Tuning,
                format!("{ARN}:hyper-parameter-tuning-job/h1"),
            ),
            (
                b().auto_ml_job(AutoMlJobStepMetadata::builder().arn(format!("{ARN}:automl-job/a1")).build()).build(),
                JobKind::AutoML,
                format!("{ARN}:automl-job/a1"),
            ),
            (
                b().model(ModelStepMetadata::builder().arn(format!("{ARN}:model/m1")).build()).build(),
                JobKind::Model,
                format!("{ARN}:model/m1"),
            ),
            (
                b().register_model(
                    RegisterModelStepMetadata::builder().arn(format!("{ARN}:model-package/g/1")).build(),
                )
                .build(),
                JobKind::ModelPackage,
                format!("{ARN}:model-package/g/1"),
            ),
            (
                b().endpoint(EndpointStepMetadata::builder().arn(format!("{ARN}:endpoint/e1")).build()).build(),
                JobKind::Endpoint,
                format!("{ARN}:endpoint/e1"),
            ),
            (
                b().endpoint_config(
                    EndpointConfigStepMetadata::builder().arn(format!("{ARN}:endpoint-config/c1")).build(),
                )
                .build(),
                JobKind::EndpointConfig,
                format!("{ARN}:endpoint-config/c1"),
            ),
            (
                b().inference_component(
                    InferenceComponentMetadata::builder().arn(format!("{ARN}:inference-component/ic1")).build(),
                )
                .build(),
                JobKind::InferenceComponent,
                format!("{ARN}:inference-component/ic1"),
            ),
            (
                b().bedrock_custom_model(
                    BedrockCustomModelMetadata::builder().arn("arn:aws:bedrock:us-east-1:1:custom-model/cm1").build(),
                )
                .build(),
                JobKind::BedrockCustomModel,
                "arn:aws:bedrock:us-east-1:1:custom-model/cm1".into(),
            ),
            (
                b().bedrock_custom_model_deployment(
                    BedrockCustomModelDeploymentMetadata::builder()
                        .arn("arn:aws:bedrock:us-east-1:1:custom-model-deployment/d1")
                        .build(),
                )
                .build(),
                JobKind::BedrockCustomModelDeployment,
                "arn:aws:bedrock:us-east-1:1:custom-model-deployment/d1".into(),
            ),
            (
                b().bedrock_provisioned_model_throughput(
                    BedrockProvisionedModelThroughputMetadata::builder()
                        .arn("arn:aws:bedrock:us-east-1:1:provisioned-model/pm1")
                        .build(),
                )
                .build(),
                JobKind::BedrockProvisionedThroughput,
                "arn:aws:bedrock:us-east-1:1:provisioned-model/pm1".into(),
            ),
            (
                b().bedrock_model_import(
                    BedrockModelImportMetadata::builder()
                        .arn("arn:aws:bedrock:us-east-1:1:model-import-job/mi1")
                        .build(),
                )
                .build(),
                JobKind::BedrockModelImport,
                "arn:aws:bedrock:us-east-1:1:model-import-job/mi1".into(),
            ),
            // The generic Job step: the kind is read from the ARN.
            (
                b().job(JobStepMetadata::builder().arn(format!("{ARN}:training-job/j1")).build()).build(),
                JobKind::Training,
                format!("{ARN}:training-job/j1"),
            ),
            (
                b().job(JobStepMetadata::builder().arn(format!("{ARN}:something-new/j2")).build()).build(),
                JobKind::Other,
                format!("{ARN}:something-new/j2"),
            ),
        ];
        for (m, kind, arn) in cases {
            let name = arn.rsplit_once('/').map(|(_, n)| n).unwrap().to_string();
            let name = if kind == JobKind::ModelPackage { "g/1".to_string() } else { name };
            assert_eq!(of(m), resource(kind, &arn, &name), "{arn}");
        }
        // A member without its ARN says nothing.
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().model(ModelStepMetadata::builder().build()).build()),
            StepMetadata::None
        );
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().job(JobStepMetadata::builder().build()).build()),
            StepMetadata::None
        );
        assert_eq!(metadata(None), StepMetadata::None);
        assert_eq!(of(PipelineExecutionStepMetadata::builder().build()), StepMetadata::None);
    }

    #[test]
    fn control_flow_steps_keep_their_outcomes_and_outputs() {
        let cond = ConditionStepMetadata::builder().outcome(ConditionOutcome::False).build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().condition(cond).build()),
            StepMetadata::Condition { outcome: Some(false) }
        );
        let out = OutputParameter::builder().name("approved").value("true").build();
        let callback = CallbackStepMetadata::builder()
            .callback_token("tok")
            .sqs_queue_url("https://sqs/q")
            .output_parameters(out.clone())
            .build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().callback(callback).build()),
            StepMetadata::Callback {
                token: Some("tok".into()),
                queue_url: Some("https://sqs/q".into()),
                outputs: vec![NameValue { name: "approved".into(), value: "true".into() }],
            }
        );
        let lambda =
            LambdaStepMetadata::builder().arn("arn:aws:lambda:us-east-1:1:function:f").output_parameters(out).build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().lambda(lambda).build()),
            StepMetadata::Lambda {
                arn: Some("arn:aws:lambda:us-east-1:1:function:f".into()),
                outputs: vec![NameValue { name: "approved".into(), value: "true".into() }],
            }
        );
        let fail = FailStepMetadata::builder().error_message("MSE too high").build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().fail(fail).build()),
            StepMetadata::Fail { message: Some("MSE too high".into()) }
        );
    }

    #[test]
    fn emr_and_athena_steps_name_what_they_ran() {
        let emr = EmrStepMetadata::builder()
            .cluster_id("j-1")
            .step_id("s-1")
            .step_name("etl")
            .log_file_path("s3://l/")
            .build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().emr(emr).build()),
            StepMetadata::Emr {
                cluster_id: Some("j-1".into()),
                step_id: Some("s-1".into()),
                step_name: Some("etl".into()),
                log_path: Some("s3://l/".into()),
            }
        );
        let serverless = EmrServerlessStepMetadata::builder()
            .application_id("00f1")
            .job_run_id("00f2")
            .job_run_name("spark-etl")
            .log_file_path("s3://logs/run")
            .build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().emr_serverless(serverless).build()),
            StepMetadata::EmrServerless {
                application_id: Some("00f1".into()),
                job_run_id: Some("00f2".into()),
                job_run_name: Some("spark-etl".into()),
                log_path: Some("s3://logs/run".into()),
            }
        );
        let athena =
            AthenaStepMetadata::builder().query_execution_id("q-1").s3_output_location("s3://out/q-1.csv").build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().athena(athena).build()),
            StepMetadata::Athena {
                query_execution_id: Some("q-1".into()),
                output_location: Some("s3://out/q-1.csv".into())
            }
        );
    }

    #[test]
    fn checks_keep_the_baselines_they_calculated_and_compared_against() {
        let quality = QualityCheckStepMetadata::builder()
            .check_type("DATA_QUALITY")
            .baseline_used_for_drift_check_statistics("s3://b/stats.json")
            .baseline_used_for_drift_check_constraints("s3://b/constraints.json")
            .calculated_baseline_statistics("s3://c/stats.json")
            .calculated_baseline_constraints("s3://c/constraints.json")
            .model_package_group_name("group")
            .violation_report("s3://c/violations.json")
            .check_job_arn(format!("{ARN}:processing-job/check"))
            .skip_check(false)
            .register_new_baseline(true)
            .build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().quality_check(quality).build()),
            StepMetadata::Check {
                kind: "QualityCheck".into(),
                check_type: Some("DATA_QUALITY".into()),
                job_arn: Some(format!("{ARN}:processing-job/check")),
                violation_report: Some("s3://c/violations.json".into()),
                baseline_constraints: Some("s3://c/constraints.json".into()),
                baseline_statistics: Some("s3://c/stats.json".into()),
                drift_constraints: Some("s3://b/constraints.json".into()),
                drift_statistics: Some("s3://b/stats.json".into()),
                model_package_group: Some("group".into()),
                skip_check: Some(false),
                register_new_baseline: Some(true),
            }
        );
        let clarify = ClarifyCheckStepMetadata::builder()
            .check_type("MODEL_BIAS")
            .baseline_used_for_drift_check_constraints("s3://b/bias.json")
            .calculated_baseline_constraints("s3://c/bias.json")
            .skip_check(true)
            .build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().clarify_check(clarify).build()),
            StepMetadata::Check {
                kind: "ClarifyCheck".into(),
                check_type: Some("MODEL_BIAS".into()),
                job_arn: None,
                violation_report: None,
                baseline_constraints: Some("s3://c/bias.json".into()),
                baseline_statistics: None,
                drift_constraints: Some("s3://b/bias.json".into()),
                drift_statistics: None,
                model_package_group: None,
                skip_check: Some(true),
                register_new_baseline: None,
            }
        );
    }

    #[test]
    fn lineage_maps_are_sorted_by_name() {
        let lineage = LineageMetadata::builder()
            .artifact_arns("model", format!("{ARN}:artifact/m"))
            .artifact_arns("data", format!("{ARN}:artifact/d"))
            .action_arns("train", format!("{ARN}:action/t"))
            .context_arns("endpoint", format!("{ARN}:context/e"))
            .associations(
                AssociationInfo::builder()
                    .source_arn(format!("{ARN}:artifact/d"))
                    .destination_arn(format!("{ARN}:action/t"))
                    .build(),
            )
            .build();
        let nv = |n: &str, v: String| NameValue { name: n.into(), value: v };
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().lineage(lineage).build()),
            StepMetadata::Lineage {
                actions: vec![nv("train", format!("{ARN}:action/t"))],
                artifacts: vec![nv("data", format!("{ARN}:artifact/d")), nv("model", format!("{ARN}:artifact/m"))],
                contexts: vec![nv("endpoint", format!("{ARN}:context/e"))],
                associations: vec![Association {
                    source: Some(format!("{ARN}:artifact/d")),
                    destination: Some(format!("{ARN}:action/t")),
                }],
            }
        );
    }

    #[test]
    fn cleanup_says_what_it_deleted_could_not_and_skipped() {
        let cleanup = CleanupStepMetadata::builder()
            .cleaned_steps("Preprocess")
            .cleaned_steps("Train")
            .failed_steps(
                CleanupFailure::builder()
                    .step_name("Evaluate")
                    .error_code(CleanupFailureErrorCode::ClientError)
                    .error_message("Access Denied")
                    .build(),
            )
            .skipped_steps("Register")
            .build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().cleanup(cleanup).build()),
            StepMetadata::Cleanup {
                cleaned: vec!["Preprocess".into(), "Train".into()],
                failed: vec![model::CleanupFailure {
                    step: Some("Evaluate".into()),
                    code: Some("ClientError".into()),
                    message: Some("Access Denied".into()),
                }],
                skipped: vec!["Register".into()],
            }
        );
    }

    #[test]
    fn a_for_each_step_counts_its_iterations_and_each_iteration_is_its_own_run() {
        let for_each = ForEachStepMetadata::builder()
            .status(ForEachStatus::Failed)
            .input_item_count(4)
            .total_step_count(8)
            .succeeded_step_count(6)
            .failed_step_count(1)
            .stopped_step_count(1)
            .selector(ForEachSelectorResult::builder().step_name("Train").index(2).build())
            .build();
        assert_eq!(
            of(PipelineExecutionStepMetadata::builder().for_each(for_each).build()),
            StepMetadata::ForEach {
                status: Some(model::StepStatus::Failed),
                input_items: Some(4),
                total_steps: Some(8),
                succeeded_steps: Some(6),
                failed_steps: Some(1),
                stopped_steps: Some(1),
                selected: Some(ForEachSelection { step: Some("Train".into()), index: Some(2) }),
            }
        );
        let iteration = |i: i32, item: &str| {
            PipelineExecutionStep::builder()
                .step_name("Train")
                .step_status(StepStatus::Succeeded)
                .iteration_context(
                    IterationContext::builder().parent_step_name("PerRegion").index(i).item(item).build(),
                )
                .metadata(
                    PipelineExecutionStepMetadata::builder()
                        .training_job(
                            TrainingJobStepMetadata::builder()
                                .arn(format!("{ARN}:training-job/pipelines-abc123def456-train-{i}abcdefgh"))
                                .build(),
                        )
                        .build(),
                )
                .build()
        };
        let runs: Vec<StepRun> = [iteration(0, "us-east-1"), iteration(1, "eu-west-1")].iter().map(step_run).collect();
        assert_eq!(
            runs[0].iteration,
            Some(Iteration { parent: Some("PerRegion".into()), index: Some(0), item: Some("us-east-1".into()) })
        );
        assert_eq!(runs.iter().map(StepRun::key).collect::<Vec<_>>(), ["Train[0]", "Train[1]"]);
        assert_eq!(runs[1].label(), "Train [1] eu-west-1");
        // The job's name gets its case back from the step's name, as for any step.
        let StepMetadata::Job { name, .. } = &runs[0].metadata else { panic!("{:?}", runs[0].metadata) };
        assert_eq!(name, "pipelines-abc123def456-Train-0abcdefgh");
        // A step that is not an iteration has none.
        assert_eq!(step_run(&PipelineExecutionStep::builder().step_name("Train").build()).iteration, None);
    }
}
