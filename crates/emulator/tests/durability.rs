//! `--data-dir` survives `kill -9`: the standalone binary is killed with SIGKILL right after it
//! acknowledged writes, restarted on the same directory, and everything acknowledged is still there;
//! running executions carry on.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use aws_sdk_sagemaker::types::{ModelApprovalStatus, OutputParameter, PipelineExecutionStatus, StepStatus};
use common::*;

struct Emulator {
    child: Child,
    url: String,
}

fn spawn(dir: &std::path::Path, speed: &str) -> Emulator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepline-emulator"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(["--speed", speed])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the emulator binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    Emulator { child, url }
}

impl Emulator {
    fn kill9(mut self) {
        // Child::kill sends SIGKILL on Unix: no shutdown code runs.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

#[tokio::test]
async fn everything_acknowledged_survives_kill_9_and_running_executions_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let emu = spawn(dir.path(), "400");
    let client = client_for(&emu.url);
    create(&client, "AbalonePipeline", ABALONE).await;
    create(&client, "ControlFlow", CONTROL_FLOW).await;
    let token = "survives-kill-9-0123456789abcdef01234567";
    let running = client
        .start_pipeline_execution()
        .pipeline_name("AbalonePipeline")
        .client_request_token(token)
        .pipeline_parameters(param("MseThreshold", "7.5"))
        .send()
        .await
        .unwrap()
        .pipeline_execution_arn
        .unwrap();
    let waiting = start_execution(&client, "ControlFlow", &[]).await;
    let listed = wait_for_step(&client, &waiting, "ManualApproval", "Executing").await;
    let cb_token =
        step(&listed, "ManualApproval").metadata().unwrap().callback().unwrap().callback_token().unwrap().to_string();
    client
        .send_pipeline_execution_step_success()
        .callback_token(&cb_token)
        .output_parameters(OutputParameter::builder().name("approved").value("true").build())
        .send()
        .await
        .unwrap();
    // The registry: a group, a version made through the API, and its rejection.
    client.create_model_package_group().model_package_group_name("fraud").send().await.unwrap();
    let fraud = client
        .create_model_package()
        .model_package_group_name("fraud")
        .send()
        .await
        .unwrap()
        .model_package_arn
        .unwrap();
    client
        .update_model_package()
        .model_package_arn(&fraud)
        .model_approval_status(ModelApprovalStatus::Rejected)
        .approval_description("worse recall")
        .send()
        .await
        .unwrap();
    emu.kill9();

    let emu = spawn(dir.path(), "400");
    let client = client_for(&emu.url);
    let names: Vec<String> = client
        .list_pipelines()
        .send()
        .await
        .unwrap()
        .pipeline_summaries()
        .iter()
        .filter_map(|p| p.pipeline_name().map(String::from))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // The idempotency token still answers with the first execution.
    assert_eq!(start_with_token(&client, "AbalonePipeline", token).await, running);
    // The running execution carries on to its end, with its parameters.
    assert_eq!(wait_for(&client, &running, terminal).await, PipelineExecutionStatus::Succeeded);
    let params = client.list_pipeline_parameters_for_execution().pipeline_execution_arn(&running).send().await.unwrap();
    assert!(params.pipeline_parameters().iter().any(|p| p.name() == Some("MseThreshold") && p.value() == Some("7.5")));
    // The callback answer acknowledged before the kill was applied.
    assert_eq!(wait_for(&client, &waiting, terminal).await, PipelineExecutionStatus::Succeeded);
    let listed = steps(&client, &waiting).await;
    assert_eq!(step(&listed, "ManualApproval").step_status(), Some(&StepStatus::Succeeded));
    // The jobs are still described and their logs read; model package versions carry on from the records.
    let train = training_job_name(&client, &running, "AbaloneTrain").await;
    let d = client.describe_training_job().training_job_name(&train).send().await.unwrap();
    assert_eq!(d.training_job_status().map(|s| s.as_str()), Some("Completed"));
    let logs = logs_client_for(&emu.url, true);
    let streams = logs
        .describe_log_streams()
        .log_group_name("/aws/sagemaker/TrainingJobs")
        .log_stream_name_prefix(&train)
        .send()
        .await
        .unwrap();
    assert_eq!(streams.log_streams().len(), 1);
    let again = start_execution(&client, "AbalonePipeline", &[]).await;
    assert_eq!(wait_for(&client, &again, terminal).await, PipelineExecutionStatus::Succeeded);
    let listed = steps(&client, &again).await;
    let package =
        step(&listed, "AbaloneRegisterModel-RegisterModel").metadata().unwrap().register_model().unwrap().arn();
    assert!(package.unwrap().ends_with(":model-package/abalonemodelpackagegroupname/2"), "{package:?}");
    // The registry's records too: the rejection stands, and the group's next version is 2.
    let v1 = client.describe_model_package().model_package_name(&fraud).send().await.unwrap();
    assert_eq!(v1.model_approval_status(), Some(&ModelApprovalStatus::Rejected));
    assert_eq!(v1.approval_description(), Some("worse recall"));
    let v2 = client.create_model_package().model_package_group_name("fraud").send().await.unwrap();
    assert!(v2.model_package_arn().unwrap().ends_with(":model-package/fraud/2"));
    emu.kill9();
}
