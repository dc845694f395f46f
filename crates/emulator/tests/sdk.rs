//! The contract over real HTTP on 127.0.0.1, with `aws-sdk-sagemaker` as the client.

mod common;

use stepline_emulator::runtime::ClockChange;

use aws_sdk_sagemaker::types::{
    OutputParameter, ParallelismConfiguration, PipelineExecutionStatus, SelectedStep, SelectiveExecutionConfig,
    SortOrder, StepStatus,
};
use common::*;

#[tokio::test]
async fn abalone_runs_from_create_to_succeeded_with_steps_listed_as_the_service_lists_them() {
    let (emu, client) = emulator(20_000.0, None).await;
    let pipeline_arn = create(&client, "AbalonePipeline", ABALONE).await;
    assert_eq!(
        pipeline_arn, "arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalonepipeline",
        "lower-cased as the service does"
    );

    let d = client.describe_pipeline().pipeline_name("abalonepipeline").send().await.unwrap();
    assert_eq!(d.pipeline_name(), Some("AbalonePipeline"), "names compare case-insensitively, echoed as created");
    assert_eq!(d.pipeline_definition(), Some(ABALONE));
    assert_eq!(d.pipeline_status().map(|s| s.as_str()), Some("Active"));

    let arn = start_execution(&client, &pipeline_arn, &[]).await;
    let id = arn.rsplit('/').next().unwrap();
    assert_eq!(id.len(), 12);
    assert!(id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    assert_eq!(wait_for(&client, &arn, terminal).await, PipelineExecutionStatus::Succeeded);

    let d = client.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    assert!(d.pipeline_execution_display_name().unwrap().starts_with("execution-"));
    assert_eq!(d.pipeline_version_id(), Some(1));
    let exp = d.pipeline_experiment_config().unwrap();
    assert_eq!(exp.experiment_name(), Some("abalonepipeline"));
    assert_eq!(exp.trial_name(), Some(id));
    assert!(d.creation_time().is_some() && d.last_modified_time().is_some() && d.failure_reason().is_none());
    assert!(d.created_by().unwrap().iam_identity().unwrap().arn().unwrap().ends_with("AKIDSTEPLINETEST"));

    let listed = steps(&client, &arn).await;
    let names: Vec<&str> = listed.iter().filter_map(|s| s.step_name()).collect();
    // Newest first; the Fail step of the branch not taken is never listed.
    assert_eq!(names.len(), 7, "{names:?}");
    assert!(!names.contains(&"AbaloneMSEFail"));
    assert_eq!(names.last(), Some(&"AbaloneProcess"));
    let starts: Vec<f64> = listed.iter().map(|s| s.start_time().unwrap().as_secs_f64()).collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first: {starts:?}");
    let train = step(&listed, "AbaloneTrain");
    assert_eq!(train.step_status(), Some(&StepStatus::Succeeded));
    assert_eq!(train.attempt_count(), Some(1));
    assert!(train
        .metadata()
        .unwrap()
        .training_job()
        .unwrap()
        .arn()
        .unwrap()
        .contains(&format!(":training-job/pipelines-{id}-abalonetrain-")));
    assert!(step(&listed, "AbaloneProcess").metadata().unwrap().processing_job().is_some());
    assert!(step(&listed, "AbaloneTransform").metadata().unwrap().transform_job().is_some());
    assert_eq!(
        step(&listed, "AbaloneMSECond").metadata().unwrap().condition().unwrap().outcome().map(|o| o.as_str()),
        Some("True")
    );
    assert!(step(&listed, "AbaloneRegisterModel-RegisterModel").metadata().unwrap().register_model().is_some());
    assert!(step(&listed, "AbaloneCreateModel-CreateModel").metadata().unwrap().model().is_some());

    let asc = client
        .list_pipeline_execution_steps()
        .pipeline_execution_arn(&arn)
        .sort_order(SortOrder::Ascending)
        .send()
        .await
        .unwrap();
    assert_eq!(asc.pipeline_execution_steps()[0].step_name(), Some("AbaloneProcess"));

    let params = client.list_pipeline_parameters_for_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    let threshold = params.pipeline_parameters().iter().find(|p| p.name() == Some("MseThreshold")).unwrap();
    assert_eq!(threshold.value(), Some("6.0"), "every parameter, defaults merged, as strings");
    assert_eq!(params.pipeline_parameters().len(), 6);
    emu.shutdown().await;
}

#[tokio::test]
async fn overriding_mse_threshold_takes_the_fail_branch() {
    let (emu, client) = emulator(20_000.0, None).await;
    create(&client, "AbalonePipeline", ABALONE).await;
    let arn = start_execution(&client, "AbalonePipeline", &[("MseThreshold", "3.0")]).await;
    assert_eq!(wait_for(&client, &arn, terminal).await, PipelineExecutionStatus::Failed);
    let d = client.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    assert_eq!(d.failure_reason(), Some("Execution failed due to MSE > 3.0"));
    let listed = steps(&client, &arn).await;
    let fail = step(&listed, "AbaloneMSEFail");
    assert_eq!(fail.step_status(), Some(&StepStatus::Failed));
    assert_eq!(fail.metadata().unwrap().fail().unwrap().error_message(), Some("Execution failed due to MSE > 3.0"));
    assert!(listed.iter().all(|s| s.step_name() != Some("AbaloneTransform")));
    let summaries = client.list_pipeline_executions().pipeline_name("AbalonePipeline").send().await.unwrap();
    let s = &summaries.pipeline_execution_summaries()[0];
    assert_eq!(s.pipeline_execution_failure_reason(), Some("Execution failed due to MSE > 3.0"));
    emu.shutdown().await;
}

#[tokio::test]
async fn parameters_are_checked_at_start() {
    let (emu, client) = emulator(20_000.0, None).await;
    create(&client, "AbalonePipeline", ABALONE).await;
    let mut required: serde_json::Value = serde_json::from_str(ABALONE).unwrap();
    let threshold =
        required["Parameters"].as_array_mut().unwrap().iter_mut().find(|p| p["Name"] == "MseThreshold").unwrap();
    threshold.as_object_mut().unwrap().remove("DefaultValue");
    let required = required.to_string();
    create(&client, "NeedsThreshold", &required).await;
    // Pipeline, parameters given, what the refusal says.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        ("AbalonePipeline", vec![("Nope", "1")], "Unknown parameter 'Nope'"),
        ("NeedsThreshold", vec![], "Parameter 'MseThreshold' is undefined."),
        ("AbalonePipeline", vec![("MseThreshold", "")], "Member must have length greater than or equal to 1"),
        ("AbalonePipeline", vec![("MseThreshold", "six")], "is not a valid Float"),
        ("AbalonePipeline", vec![("ProcessingInstanceCount", "1.5")], "is not a valid Integer"),
    ];
    for (pipeline, params, expected) in cases {
        let mut req = client.start_pipeline_execution().pipeline_name(pipeline);
        for (n, v) in &params {
            req = req.pipeline_parameters(param(n, v));
        }
        let e = req.send().await.expect_err("rejected");
        let (c, m) = code(&e);
        assert_eq!(c, "ValidationException", "{params:?}");
        assert!(m.contains(expected), "{params:?}: {m}");
    }
    let listed = client.list_pipeline_executions().pipeline_name("AbalonePipeline").send().await.unwrap();
    assert!(listed.pipeline_execution_summaries().is_empty(), "no rejected start made an execution");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_repeated_token_starts_one_execution() {
    let (emu, client) = emulator(100.0, None).await;
    create(&client, "AbalonePipeline", ABALONE).await;
    let token = "double-click-0123456789abcdef0123456789";
    let mut arns = vec![];
    for _ in 0..3 {
        arns.push(start_with_token(&client, "AbalonePipeline", token).await);
    }
    assert!(arns.iter().all(|a| a == &arns[0]));
    let listed = client.list_pipeline_executions().pipeline_name("AbalonePipeline").send().await.unwrap();
    assert_eq!(listed.pipeline_execution_summaries().len(), 1);
    // Stop is idempotent on its token too; a second stop with a new token of a stopping execution is harmless.
    let stop_token = "stop-token-0123456789abcdef0123456789ab";
    for _ in 0..2 {
        client
            .stop_pipeline_execution()
            .pipeline_execution_arn(&arns[0])
            .client_request_token(stop_token)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(wait_for(&client, &arns[0], terminal).await, PipelineExecutionStatus::Stopped);
    let e = client.stop_pipeline_execution().pipeline_execution_arn(&arns[0]).send().await.unwrap_err();
    assert_eq!(code(&e).0, "ConflictException");
    emu.shutdown().await;
}

#[tokio::test]
async fn executions_page_newest_first_with_opaque_tokens() {
    let (emu, client) = emulator(1.0, None).await;
    create(&client, "AbalonePipeline", ABALONE).await;
    let mut started = vec![];
    for n in 0..7 {
        let r = client
            .start_pipeline_execution()
            .pipeline_name("AbalonePipeline")
            .pipeline_execution_display_name(format!("run-{n}"))
            .send()
            .await
            .unwrap();
        started.push(r.pipeline_execution_arn.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let mut seen = vec![];
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = client
            .list_pipeline_executions()
            .pipeline_name("AbalonePipeline")
            .max_results(3)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.pipeline_execution_summaries().len() <= 3);
        seen.extend(
            page.pipeline_execution_summaries().iter().map(|s| s.pipeline_execution_arn().unwrap().to_string()),
        );
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    started.reverse();
    assert_eq!(seen, started, "every execution once, newest first");
    let e = client
        .list_pipeline_executions()
        .pipeline_name("AbalonePipeline")
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).0, "ValidationException");
    let e =
        client.list_pipeline_executions().pipeline_name("AbalonePipeline").max_results(101).send().await.unwrap_err();
    assert!(code(&e).1.contains("Member must have value less than or equal to 100"), "{:?}", code(&e));
    // Deleting a pipeline with running executions is refused.
    let e = client
        .delete_pipeline()
        .pipeline_name("AbalonePipeline")
        .client_request_token("d".repeat(32))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).0, "ConflictException");
    emu.shutdown().await;
}

#[tokio::test]
async fn stop_during_a_callback_waits_for_the_answer_then_stops() {
    let (emu, client) = emulator(1_000.0, None).await;
    create(&client, "ControlFlow", CONTROL_FLOW).await;
    let arn = start_execution(&client, "ControlFlow", &[]).await;
    let listed = wait_for_step(&client, &arn, "ManualApproval", "Executing").await;
    let callback = step(&listed, "ManualApproval").metadata().unwrap().callback().unwrap().clone();
    let token = callback.callback_token().unwrap().to_string();
    assert_eq!(token.len(), 10);
    assert_eq!(callback.sqs_queue_url(), Some("https://sqs.us-east-1.amazonaws.com/123456789012/approvals"));
    let lambda = step(&listed, "ScoreBatch").metadata().unwrap().lambda().unwrap().clone();
    assert_eq!(lambda.arn(), Some("arn:aws:lambda:us-east-1:123456789012:function:score-batch"));
    assert_eq!(
        lambda.output_parameters().iter().find(|o| o.name() == Some("score")).and_then(|o| o.value()),
        Some("0.87")
    );

    client.stop_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let d = client.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    assert_eq!(d.pipeline_execution_status(), Some(&PipelineExecutionStatus::Stopping));

    let answer = client
        .send_pipeline_execution_step_success()
        .callback_token(&token)
        .output_parameters(OutputParameter::builder().name("approved").value("true").build())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.pipeline_execution_arn(), Some(arn.as_str()));
    assert_eq!(wait_for(&client, &arn, terminal).await, PipelineExecutionStatus::Stopped);
    let listed = steps(&client, &arn).await;
    let cb = step(&listed, "ManualApproval");
    assert_eq!(cb.step_status(), Some(&StepStatus::Succeeded));
    assert_eq!(cb.metadata().unwrap().callback().unwrap().output_parameters()[0].value(), Some("true"));
    // The token is spent.
    let e = client
        .send_pipeline_execution_step_failure()
        .callback_token(&token)
        .failure_reason("late")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).0, "ConflictException");
    let e = client.send_pipeline_execution_step_success().callback_token("ZZZZZZZZZZ").send().await.unwrap_err();
    assert_eq!(code(&e).0, "ResourceNotFound");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_failed_execution_is_retried_in_place_to_success() {
    let scenario = r#"{"pipelines": {"*": {"steps": {"AbaloneEval": {"fail": {"attempts": 1, "reason": "AlgorithmError: out of memory"}}}}}}"#;
    let (emu, client) = emulator(20_000.0, Some(scenario)).await;
    create(&client, "AbalonePipeline", ABALONE).await;
    let arn = start_execution(&client, "AbalonePipeline", &[]).await;
    assert_eq!(wait_for(&client, &arn, terminal).await, PipelineExecutionStatus::Failed);
    let d = client.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    assert_eq!(d.failure_reason(), Some("Step failure: One or multiple steps failed."));
    let before = steps(&client, &arn).await;
    assert_eq!(step(&before, "AbaloneEval").failure_reason(), Some("AlgorithmError: out of memory"));
    let train_end = step(&before, "AbaloneTrain").end_time().cloned();

    let e = client.retry_pipeline_execution().pipeline_execution_arn(format!("{arn}x")).send().await.unwrap_err();
    assert_eq!(code(&e).0, "ResourceNotFound");
    let r = client
        .retry_pipeline_execution()
        .pipeline_execution_arn(&arn)
        .parallelism_configuration(ParallelismConfiguration::builder().max_parallel_execution_steps(1).build())
        .send()
        .await
        .unwrap();
    assert_eq!(r.pipeline_execution_arn(), Some(arn.as_str()));
    assert_eq!(wait_for(&client, &arn, terminal).await, PipelineExecutionStatus::Succeeded);
    let after = steps(&client, &arn).await;
    assert_eq!(step(&after, "AbaloneTrain").end_time().cloned(), train_end, "succeeded steps are kept");
    assert_eq!(step(&after, "AbaloneEval").step_status(), Some(&StepStatus::Succeeded));
    let e = client.retry_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap_err();
    assert_eq!(code(&e).0, "ConflictException", "only failed executions retry");
    emu.shutdown().await;
}

#[tokio::test]
async fn selective_execution_runs_only_the_selected_steps_and_reuses_the_rest() {
    let (emu, client) = emulator(20_000.0, None).await;
    create(&client, "AbalonePipeline", ABALONE).await;
    let source = start_execution(&client, "AbalonePipeline", &[]).await;
    wait_for(&client, &source, terminal).await;

    let select = |names: &[&str], src: Option<&str>| {
        let mut b = SelectiveExecutionConfig::builder();
        for n in names {
            b = b.selected_steps(SelectedStep::builder().step_name(*n).build());
        }
        b.set_source_pipeline_execution_arn(src.map(String::from)).build()
    };
    let arn = client
        .start_pipeline_execution()
        .pipeline_name("AbalonePipeline")
        .selective_execution_config(select(&["AbaloneTrain", "AbaloneEval"], Some(&source)))
        .send()
        .await
        .unwrap()
        .pipeline_execution_arn
        .unwrap();
    assert_eq!(wait_for(&client, &arn, terminal).await, PipelineExecutionStatus::Succeeded);
    let listed = steps(&client, &arn).await;
    let mut names: Vec<&str> = listed.iter().filter_map(|s| s.step_name()).collect();
    names.sort();
    assert_eq!(names, vec!["AbaloneEval", "AbaloneProcess", "AbaloneTrain"]);
    let reused = step(&listed, "AbaloneProcess");
    assert_eq!(reused.selective_execution_result().unwrap().source_pipeline_execution_arn(), Some(source.as_str()));
    assert!(step(&listed, "AbaloneTrain").selective_execution_result().is_none());
    let d = client.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    let cfg = d.selective_execution_config().unwrap();
    assert_eq!(cfg.source_pipeline_execution_arn(), Some(source.as_str()));
    assert_eq!(cfg.selected_steps().len(), 2);

    // Not connected: AbaloneTrain lies between the two.
    let e = client
        .start_pipeline_execution()
        .pipeline_name("AbalonePipeline")
        .selective_execution_config(select(&["AbaloneProcess", "AbaloneEval"], Some(&source)))
        .send()
        .await
        .unwrap_err();
    let (c, m) = code(&e);
    assert_eq!(c, "ValidationException");
    assert!(m.contains("AbaloneTrain"), "{m}");
    // A selected step that needs an unselected one, and no source.
    let e = client
        .start_pipeline_execution()
        .pipeline_name("AbalonePipeline")
        .selective_execution_config(select(&["AbaloneEval"], None))
        .send()
        .await
        .unwrap_err();
    assert!(
        code(&e).1.starts_with(
            "Invalid SourcePipelineExecutionArn: null. The selected steps [AbaloneEval] have dependencies on ["
        ),
        "{:?}",
        code(&e)
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn executions_stay_pinned_to_the_version_they_started_with() {
    let (emu, client) = emulator(1.0, None).await;
    create(&client, "AbalonePipeline", ABALONE).await;
    let old = start_execution(&client, "AbalonePipeline", &[]).await;
    let v2 = CONTROL_FLOW;
    let u = client.update_pipeline().pipeline_name("AbalonePipeline").pipeline_definition(v2).send().await.unwrap();
    assert_eq!(u.pipeline_version_id(), Some(2));
    let pinned = client.describe_pipeline_definition_for_execution().pipeline_execution_arn(&old).send().await.unwrap();
    assert_eq!(pinned.pipeline_definition(), Some(ABALONE));
    let latest = client.describe_pipeline().pipeline_name("AbalonePipeline").send().await.unwrap();
    assert_eq!(latest.pipeline_definition(), Some(v2));
    let v1 = client.describe_pipeline().pipeline_name("AbalonePipeline").pipeline_version_id(1).send().await.unwrap();
    assert_eq!(v1.pipeline_definition(), Some(ABALONE));
    let new =
        client.start_pipeline_execution().pipeline_name("AbalonePipeline").pipeline_version_id(1).send().await.unwrap();
    let d = client
        .describe_pipeline_execution()
        .pipeline_execution_arn(new.pipeline_execution_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(d.pipeline_version_id(), Some(1));
    let e = client
        .start_pipeline_execution()
        .pipeline_name("AbalonePipeline")
        .pipeline_version_id(9)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).0, "ResourceNotFound");
    emu.shutdown().await;
}

#[tokio::test]
async fn bad_definitions_and_unknown_resources_are_named() {
    let (emu, client) = emulator(1.0, None).await;
    let bad = [
        ("not json", "Invalid pipeline definition"),
        (
            r#"{"Version": "2020-12-01", "Steps": [{"Name": "A", "Type": "Processing", "Arguments": {}, "DependsOn": ["Ghost"]}]}"#,
            "Ghost",
        ),
        (
            r#"{"Version": "2020-12-01", "Steps": [{"Name": "A", "Type": "Processing", "Arguments": {}}, {"Name": "A", "Type": "Training", "Arguments": {}}]}"#,
            "A",
        ),
    ];
    for (n, (definition, expected)) in bad.iter().enumerate() {
        let e = client
            .create_pipeline()
            .pipeline_name(format!("Bad{n}"))
            .pipeline_definition(*definition)
            .role_arn(ROLE)
            .send()
            .await
            .unwrap_err();
        let (c, m) = code(&e);
        assert_eq!(c, "ValidationException");
        assert!(m.contains(expected), "{m}");
    }
    let e = client.describe_pipeline().pipeline_name("Nope").send().await.unwrap_err();
    assert_eq!(code(&e).0, "ResourceNotFound");
    let e = client.describe_pipeline().pipeline_name("bad_name").send().await.unwrap_err();
    assert!(
        code(&e).1.starts_with("1 validation error detected: Value 'bad_name' at 'pipelineName'"),
        "{:?}",
        code(&e)
    );
    let e = client
        .describe_pipeline_execution()
        .pipeline_execution_arn("arn:aws:sagemaker:us-east-1:123456789012:pipeline/Nope/execution/abcdefabcdef")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).0, "ResourceNotFound");
    create(&client, "Twice", ABALONE).await;
    let e = client
        .create_pipeline()
        .pipeline_name("TWICE")
        .pipeline_definition(ABALONE)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).1.contains("already exists"), "{:?}", code(&e));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_second_run_with_the_same_arguments_is_served_from_the_cache() {
    let definition = r#"{"Version": "2020-12-01",
      "Parameters": [{"Name": "Source", "Type": "String", "DefaultValue": "s3://bucket/raw"}],
      "Steps": [
        {"Name": "Prep", "Type": "Processing", "CacheConfig": {"Enabled": true, "ExpireAfter": "PT1H"},
         "Arguments": {"Input": {"Get": "Parameters.Source"}}},
        {"Name": "Train", "Type": "Training", "CacheConfig": {"Enabled": true, "ExpireAfter": "PT1H"},
         "Arguments": {"In": {"Get": "Steps.Prep.ProcessingJobName"}, "OutputDataConfig": {"S3OutputPath": "s3://bucket/models"}}}]}"#;
    let (emu, client) = emulator(20_000.0, None).await;
    create(&client, "Cached", definition).await;
    let first = start_execution(&client, "Cached", &[]).await;
    wait_for(&client, &first, terminal).await;
    let second = start_execution(&client, "Cached", &[]).await;
    assert_eq!(wait_for(&client, &second, terminal).await, PipelineExecutionStatus::Succeeded);
    let listed = steps(&client, &second).await;
    let original = steps(&client, &first).await;
    for name in ["Prep", "Train"] {
        let s = step(&listed, name);
        assert_eq!(
            s.cache_hit_result().and_then(|c| c.source_pipeline_execution_arn()),
            Some(first.as_str()),
            "{name}"
        );
        assert_eq!(s.metadata(), step(&original, name).metadata(), "{name} points at the original job");
    }
    // Other arguments miss the cache.
    let third = start_execution(&client, "Cached", &[("Source", "s3://bucket/other")]).await;
    wait_for(&client, &third, terminal).await;
    assert!(step(&steps(&client, &third).await, "Prep").cache_hit_result().is_none());
    emu.shutdown().await;
}

#[tokio::test]
async fn stop_during_a_lambda_step_lets_it_finish_then_stops() {
    // The Lambda step takes 60 simulated seconds (0.6 s here) and is not interrupted by the stop.
    let (emu, client) =
        emulator(100.0, Some(r#"{"pipelines": {"*": {"steps": {"ScoreBatch": {"duration": 60}}}}}"#)).await;
    create(&client, "ControlFlow", CONTROL_FLOW).await;
    // The clock stands still from the step's start to the checks after the stop.
    let core = emu.core();
    core.change_clock(ClockChange::Pause);
    let arn = start_execution(&client, "ControlFlow", &[]).await;
    advance_until_step(&core, &client, &arn, "ScoreBatch", "Executing").await;
    client.stop_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    let d = client.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    assert_eq!(d.pipeline_execution_status(), Some(&PipelineExecutionStatus::Stopping));
    assert_eq!(step(&steps(&client, &arn).await, "ScoreBatch").step_status(), Some(&StepStatus::Executing));
    core.change_clock(ClockChange::Resume);
    assert_eq!(wait_for(&client, &arn, terminal).await, PipelineExecutionStatus::Stopped);
    let listed = steps(&client, &arn).await;
    assert_eq!(step(&listed, "ScoreBatch").step_status(), Some(&StepStatus::Succeeded));
    assert!(listed.iter().all(|s| s.step_name() != Some("ManualApproval")), "nothing starts after a stop");
    emu.shutdown().await;
}

/// The name of a step's job, from the ARN in its metadata (lower-cased) through the job's Describe, which
/// answers it in its own case.
async fn processing_job_name(client: &aws_sdk_sagemaker::Client, arn: &str, step_name: &str) -> String {
    let listed = steps(client, arn).await;
    let job_arn = step(&listed, step_name).metadata().unwrap().processing_job().unwrap().arn().unwrap().to_string();
    let lower = job_arn.rsplit('/').next().unwrap();
    let d = client.describe_processing_job().processing_job_name(lower).send().await.unwrap();
    d.processing_job_name().unwrap().to_string()
}

#[tokio::test]
async fn the_jobs_of_every_kind_describe_while_running_and_after_completion() {
    let scenario = r#"{"pipelines": {"*": {"steps": {
        "Prep": {"duration": 100}, "Train": {"duration": 1200, "metrics": {"validation:auc": 0.93}},
        "Tune": {"duration": 60}, "Score": {"duration": 30}, "Register": {"duration": 5}}}}}"#;
    let (emu, client) = emulator(300.0, Some(scenario)).await;
    create(&client, "Jobs", JOBS).await;
    let core = emu.core();
    core.change_clock(ClockChange::Pause);
    let arn = start_execution(&client, "Jobs", &[]).await;
    let id = arn.rsplit('/').next().unwrap().to_string();
    advance_until_step(&core, &client, &arn, "Train", "Executing").await;
    // Into its training phase, a second of the clock's four.
    core.change_clock(ClockChange::Advance(1.0));

    // A training job while it runs.
    let name = training_job_name(&client, &arn, "Train").await;
    assert!(name.starts_with(&format!("pipelines-{id}-Train-")), "{name}");
    let d = client.describe_training_job().training_job_name(&name).send().await.unwrap();
    assert_eq!(d.training_job_status().unwrap().as_str(), "InProgress");
    assert!(
        ["Downloading", "Training"].contains(&d.secondary_status().unwrap().as_str()),
        "{:?}",
        d.secondary_status()
    );
    let transitions = d.secondary_status_transitions();
    assert_eq!(transitions[0].status().unwrap().as_str(), "Starting");
    assert!(transitions[0].end_time().is_some() && transitions.last().unwrap().end_time().is_none());
    assert!(d.final_metric_data_list().is_empty(), "final metrics come at the end");
    assert!(
        d.training_start_time().is_some() && d.training_end_time().is_none() && d.training_time_in_seconds().is_none()
    );
    assert_eq!(
        d.training_job_arn().unwrap(),
        format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{}", name.to_lowercase())
    );
    let resources = d.resource_config().unwrap();
    assert_eq!((resources.instance_type().unwrap().as_str(), resources.instance_count()), ("ml.m5.2xlarge", Some(2)));
    assert_eq!(d.hyper_parameters().unwrap()["eta"], "0.2");
    assert_eq!(
        d.algorithm_specification().unwrap().training_image(),
        Some("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")
    );
    assert_eq!(
        d.input_data_config()[0].data_source().unwrap().s3_data_source().unwrap().s3_uri(),
        Some("s3://bucket/train")
    );
    assert_eq!(
        d.model_artifacts().unwrap().s3_model_artifacts(),
        Some(format!("s3://bucket/models/{name}/output/model.tar.gz").as_str())
    );
    assert_eq!(d.stopping_condition().unwrap().max_runtime_in_seconds(), Some(3600));

    // The processing job before it has finished by now.
    let prep = processing_job_name(&client, &arn, "Prep").await;
    let p = client.describe_processing_job().processing_job_name(&prep).send().await.unwrap();
    assert_eq!(p.processing_job_status().unwrap().as_str(), "Completed");
    assert!(p.processing_end_time().unwrap().as_secs_f64() > p.processing_start_time().unwrap().as_secs_f64());
    assert!(p.processing_start_time().unwrap().as_secs_f64() > p.creation_time().unwrap().as_secs_f64());
    assert_eq!(p.processing_resources().unwrap().cluster_config().unwrap().instance_count(), Some(1));
    assert_eq!(p.processing_inputs()[0].s3_input().unwrap().s3_uri(), Some("s3://bucket/raw"));
    assert!(p.app_specification().unwrap().image_uri().unwrap().contains("sagemaker-scikit-learn"));
    assert!(p.exit_message().is_none() && p.failure_reason().is_none());

    core.change_clock(ClockChange::Resume);
    assert_eq!(wait_for(&client, &arn, terminal).await, PipelineExecutionStatus::Succeeded);
    let d = client.describe_training_job().training_job_name(&name).send().await.unwrap();
    assert_eq!(d.training_job_status().unwrap().as_str(), "Completed");
    assert_eq!(d.secondary_status().unwrap().as_str(), "Completed");
    let statuses: Vec<&str> = d.secondary_status_transitions().iter().map(|t| t.status().unwrap().as_str()).collect();
    assert_eq!(statuses, ["Starting", "Downloading", "Training", "Uploading", "Completed"]);
    assert!(d.secondary_status_transitions().iter().all(|t| t.end_time().is_some() && t.status_message().is_some()));
    let metrics: Vec<(&str, f32)> =
        d.final_metric_data_list().iter().map(|m| (m.metric_name().unwrap(), m.value().unwrap())).collect();
    assert_eq!(metrics[0], ("validation:auc", 0.93));
    assert_eq!(metrics[1].0, "train:loss");
    let trained = d.training_time_in_seconds().unwrap();
    assert!((3..=6).contains(&trained), "1200 simulated seconds at 300 per second: {trained}");
    assert!(d.billable_time_in_seconds().unwrap() < trained, "managed spot training bills less");
    assert!(d.training_end_time().unwrap().as_secs_f64() > d.training_start_time().unwrap().as_secs_f64());

    // The tuning job, its best training job, and that training job itself.
    let listed = steps(&client, &arn).await;
    let tuning_arn = step(&listed, "Tune").metadata().unwrap().tuning_job().unwrap().arn().unwrap().to_string();
    let tuning_name = tuning_arn.rsplit('/').next().unwrap();
    assert!(tuning_name.len() <= 32, "{tuning_name}");
    let t =
        client.describe_hyper_parameter_tuning_job().hyper_parameter_tuning_job_name(tuning_name).send().await.unwrap();
    assert_eq!(t.hyper_parameter_tuning_job_status().unwrap().as_str(), "Completed");
    assert_eq!(t.training_job_status_counters().unwrap().completed(), Some(4));
    let best = t.best_training_job().unwrap();
    let objective = best.final_hyper_parameter_tuning_job_objective_metric().unwrap();
    assert_eq!(objective.metric_name(), Some("validation:auc"));
    let b = client.describe_training_job().training_job_name(best.training_job_name().unwrap()).send().await.unwrap();
    assert_eq!(b.tuning_job_arn(), Some(tuning_arn.as_str()));
    assert_eq!(b.training_job_status().unwrap().as_str(), "Completed");
    let tuned = b.hyper_parameters().unwrap();
    assert_eq!(tuned["epochs"], "4");
    assert_eq!(Some(&tuned["eta"]), best.tuned_hyper_parameters().unwrap().get("eta"));
    let value = b.final_metric_data_list().iter().find(|m| m.metric_name() == Some("validation:auc")).unwrap().value();
    assert_eq!(value, objective.value());

    // The transform job and the registered model package.
    let score_arn = step(&listed, "Score").metadata().unwrap().transform_job().unwrap().arn().unwrap().to_string();
    let s =
        client.describe_transform_job().transform_job_name(score_arn.rsplit('/').next().unwrap()).send().await.unwrap();
    assert_eq!(s.transform_job_status().unwrap().as_str(), "Completed");
    assert_eq!(s.model_name(), Some("scoring-model"));
    assert_eq!(s.transform_resources().unwrap().instance_count(), Some(1));
    assert_eq!(
        s.transform_input().unwrap().data_source().unwrap().s3_data_source().unwrap().s3_uri(),
        Some("s3://bucket/batch")
    );
    let package_arn =
        step(&listed, "Register").metadata().unwrap().register_model().unwrap().arn().unwrap().to_string();
    assert_eq!(package_arn, "arn:aws:sagemaker:us-east-1:123456789012:model-package/scoringmodels/1");
    let m = client.describe_model_package().model_package_name(&package_arn).send().await.unwrap();
    assert_eq!(m.model_approval_status().unwrap().as_str(), "Approved", "from the step's arguments");
    assert_eq!((m.model_package_group_name(), m.model_package_version()), (Some("ScoringModels"), Some(1)));
    assert_eq!(m.model_package_status().unwrap().as_str(), "Completed");
    assert_eq!(
        m.inference_specification().unwrap().containers()[0].model_data_url(),
        Some(format!("s3://bucket/models/{name}/output/model.tar.gz").as_str())
    );
    assert_eq!(m.metadata_properties().unwrap().generated_by(), Some(arn.as_str()));

    // Jobs that do not exist, in the service's words.
    let e = client.describe_training_job().training_job_name("nope").send().await.unwrap_err();
    assert_eq!(code(&e), ("ValidationException".into(), "Requested resource not found.".into()));
    let e = client.describe_processing_job().processing_job_name("nope").send().await.unwrap_err();
    assert_eq!(code(&e), ("ValidationException".into(), "Could not find requested job with name nope".into()));
    let e = client.describe_transform_job().transform_job_name("nope").send().await.unwrap_err();
    assert_eq!(code(&e).0, "ValidationException");
    let e =
        client.describe_hyper_parameter_tuning_job().hyper_parameter_tuning_job_name("nope").send().await.unwrap_err();
    assert_eq!(code(&e), ("ResourceNotFound".into(), "Amazon SageMaker can't find a tuning job with name nope".into()));
    let e = client.describe_model_package().model_package_name("ScoringModels/9").send().await.unwrap_err();
    assert_eq!(code(&e).0, "ValidationException");
    // A training job by the name of a processing job is not one.
    let e = client.describe_training_job().training_job_name(&prep).send().await.unwrap_err();
    assert_eq!(code(&e).0, "ValidationException");
    emu.shutdown().await;
}

#[tokio::test]
async fn failed_jobs_describe_their_failure() {
    let scenario = r#"{"pipelines": {
        "TrainFails": {"steps": {"Train": {"fail": {"reason": "AlgorithmError: loss diverged", "exception": "Step.OTHER"}}}},
        "PrepFails": {"steps": {"Prep": {"fail": {"reason": "disk full"}}}}}}"#;
    let (emu, client) = emulator(20_000.0, Some(scenario)).await;
    create(&client, "TrainFails", JOBS).await;
    create(&client, "PrepFails", JOBS).await;
    let a = start_execution(&client, "TrainFails", &[]).await;
    let b = start_execution(&client, "PrepFails", &[]).await;
    assert_eq!(wait_for(&client, &a, terminal).await, PipelineExecutionStatus::Failed);
    assert_eq!(wait_for(&client, &b, terminal).await, PipelineExecutionStatus::Failed);
    let name = training_job_name(&client, &a, "Train").await;
    let d = client.describe_training_job().training_job_name(&name).send().await.unwrap();
    assert_eq!(d.training_job_status().unwrap().as_str(), "Failed");
    assert_eq!(d.failure_reason(), Some("AlgorithmError: loss diverged"));
    assert_eq!(d.secondary_status().unwrap().as_str(), "Failed");
    let last = d.secondary_status_transitions().last().unwrap();
    assert_eq!(last.status_message(), Some("AlgorithmError: loss diverged"));
    let statuses: Vec<&str> = d.secondary_status_transitions().iter().map(|t| t.status().unwrap().as_str()).collect();
    assert_eq!(statuses, ["Starting", "Downloading", "Training", "Failed"], "a failed job uploads nothing");
    assert!(d.final_metric_data_list().is_empty());
    assert!(d.training_time_in_seconds().is_some() && d.training_end_time().is_some());

    let listed = steps(&client, &b).await;
    let prep_arn = step(&listed, "Prep").metadata().unwrap().processing_job().unwrap().arn().unwrap().to_string();
    let p = client
        .describe_processing_job()
        .processing_job_name(prep_arn.rsplit('/').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(p.processing_job_status().unwrap().as_str(), "Failed");
    assert_eq!(p.failure_reason(), Some("disk full"));
    assert_eq!(p.exit_message(), Some("RuntimeError: disk full"), "the last line of the job's traceback");
    emu.shutdown().await;
}

#[tokio::test]
async fn pipeline_versions_list_with_their_last_execution_and_model_packages_count_up() {
    let (emu, client) = emulator(20_000.0, None).await;
    let pipeline_arn = create(&client, "Jobs", JOBS).await;
    for _ in 0..2 {
        // Versions a few milliseconds apart, as edits are.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        client.update_pipeline().pipeline_name("Jobs").pipeline_definition(JOBS).send().await.unwrap();
    }
    let on_first = client
        .start_pipeline_execution()
        .pipeline_name("Jobs")
        .pipeline_version_id(1)
        .send()
        .await
        .unwrap()
        .pipeline_execution_arn
        .unwrap();
    wait_for(&client, &on_first, terminal).await;
    let pending = start_execution(&client, "Jobs", &[("ApprovalStatus", "PendingManualApproval")]).await;
    wait_for(&client, &pending, terminal).await;

    let v = client.list_pipeline_versions().pipeline_name("Jobs").send().await.unwrap();
    let ids: Vec<i64> = v.pipeline_version_summaries().iter().map(|s| s.pipeline_version_id().unwrap()).collect();
    assert_eq!(ids, [3, 2, 1], "newest first");
    let summaries = v.pipeline_version_summaries();
    assert_eq!(summaries[0].last_execution_pipeline_execution_arn(), Some(pending.as_str()));
    assert_eq!(summaries[1].last_execution_pipeline_execution_arn(), None);
    assert_eq!(summaries[2].last_execution_pipeline_execution_arn(), Some(on_first.as_str()));
    assert!(summaries.iter().all(|s| s.pipeline_arn() == Some(pipeline_arn.as_str()) && s.creation_time().is_some()));
    let asc = client
        .list_pipeline_versions()
        .pipeline_name("Jobs")
        .sort_order(SortOrder::Ascending)
        .max_results(2)
        .send()
        .await
        .unwrap();
    let first: Vec<i64> = asc.pipeline_version_summaries().iter().map(|s| s.pipeline_version_id().unwrap()).collect();
    assert_eq!(first, [1, 2]);
    let rest = client
        .list_pipeline_versions()
        .pipeline_name("Jobs")
        .sort_order(SortOrder::Ascending)
        .max_results(2)
        .next_token(asc.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.pipeline_version_summaries()[0].pipeline_version_id(), Some(3));
    assert!(rest.next_token().is_none());
    let after = client
        .list_pipeline_versions()
        .pipeline_name("Jobs")
        .created_after(*summaries[2].creation_time().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(after.pipeline_version_summaries().len(), 2);
    let e = client.list_pipeline_versions().pipeline_name("Nope").send().await.unwrap_err();
    assert_eq!(code(&e).0, "ResourceNotFound");

    // Each registration is the next version of its group; its approval status is the step's argument.
    let m = client.describe_model_package().model_package_name("ScoringModels/2").send().await.unwrap();
    assert_eq!(m.model_approval_status().unwrap().as_str(), "PendingManualApproval");
    assert_eq!(m.model_package_arn(), Some("arn:aws:sagemaker:us-east-1:123456789012:model-package/scoringmodels/2"));

    // Tags added to a pipeline replace those of the same key.
    client.add_tags().resource_arn(&pipeline_arn).tags(tag("team", "ml")).send().await.unwrap();
    let added = client
        .add_tags()
        .resource_arn(&pipeline_arn)
        .tags(tag("team", "data"))
        .tags(tag("env", "dev"))
        .send()
        .await
        .unwrap();
    assert_eq!(added.tags().len(), 2);
    let listed = client.list_tags().resource_arn(&pipeline_arn).send().await.unwrap();
    let tags: Vec<(&str, &str)> = listed.tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    assert_eq!(tags, [("team", "data"), ("env", "dev")]);
    emu.shutdown().await;
}

fn tag(key: &str, value: &str) -> aws_sdk_sagemaker::types::Tag {
    aws_sdk_sagemaker::types::Tag::builder().key(key).value(value).build()
}
