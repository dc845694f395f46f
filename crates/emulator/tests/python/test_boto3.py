"""The emulator's contract checked with boto3, the client most SageMaker users drive pipelines with.

The test command starts `stepline-emulator` on a free loopback port and passes its URL in
STEPLINE_EMULATOR_URL; every test resets the emulator first.
"""

import json
import os
import pathlib
import time
import urllib.error
import urllib.request

import boto3
import botocore.exceptions
import pytest

URL = os.environ.get("STEPLINE_EMULATOR_URL", "http://127.0.0.1:4566")
ROOT = pathlib.Path(__file__).resolve().parents[4]
ABALONE = (ROOT / "definitions" / "abalone.json").read_text()
CONTROL_FLOW = (ROOT / "definitions" / "control-flow.json").read_text()
ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
TERMINAL = {"Succeeded", "Failed", "Stopped", "CompletedWithFailures"}


def post(path, body=b"{}"):
    req = urllib.request.Request(URL + path, data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


@pytest.fixture()
def sm():
    post("/_emulator/reset")
    return boto3.client(
        "sagemaker",
        endpoint_url=URL,
        region_name="us-east-1",
        aws_access_key_id="AKIDBOTO3TEST",
        aws_secret_access_key="secret",
    )


def wait(sm, arn, done=lambda s: s in TERMINAL, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        if done(status):
            return status
        time.sleep(0.02)
    raise AssertionError(f"{arn} did not finish")


def all_steps(sm, arn):
    paginator = sm.get_paginator("list_pipeline_execution_steps")
    return [s for page in paginator.paginate(PipelineExecutionArn=arn) for s in page["PipelineExecutionSteps"]]


def create(sm, name, definition):
    return sm.create_pipeline(PipelineName=name, PipelineDefinition=definition, RoleArn=ROLE)["PipelineArn"]


def test_abalone_from_create_to_succeeded(sm):
    arn = create(sm, "AbalonePipeline", ABALONE)
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalonepipeline"
    execution = sm.start_pipeline_execution(PipelineName="AbalonePipeline")["PipelineExecutionArn"]
    assert wait(sm, execution) == "Succeeded"
    described = sm.describe_pipeline_execution(PipelineExecutionArn=execution)
    assert described["PipelineExecutionDisplayName"].startswith("execution-")
    assert described["CreationTime"].year >= 2024  # epoch-second timestamps parse as datetimes
    steps = all_steps(sm, execution)
    names = [s["StepName"] for s in steps]
    assert names[-1] == "AbaloneProcess" and "AbaloneMSEFail" not in names
    train = next(s for s in steps if s["StepName"] == "AbaloneTrain")
    assert train["StepStatus"] == "Succeeded" and train["AttemptCount"] == 1
    assert ":training-job/pipelines-" in train["Metadata"]["TrainingJob"]["Arn"]
    condition = next(s for s in steps if s["StepName"] == "AbaloneMSECond")
    assert condition["Metadata"]["Condition"]["Outcome"] == "True"
    params = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution)["PipelineParameters"]
    assert {"Name": "MseThreshold", "Value": "6.0"} in params


def test_mse_threshold_override_takes_the_fail_branch(sm):
    create(sm, "AbalonePipeline", ABALONE)
    execution = sm.start_pipeline_execution(
        PipelineName="AbalonePipeline", PipelineParameters=[{"Name": "MseThreshold", "Value": "3.0"}]
    )["PipelineExecutionArn"]
    assert wait(sm, execution) == "Failed"
    assert sm.describe_pipeline_execution(PipelineExecutionArn=execution)["FailureReason"] == "Execution failed due to MSE > 3.0"
    fail = next(s for s in all_steps(sm, execution) if s["StepName"] == "AbaloneMSEFail")
    assert fail["Metadata"]["Fail"]["ErrorMessage"] == "Execution failed due to MSE > 3.0"


@pytest.mark.parametrize(
    "params, expected",
    [
        ([{"Name": "Nope", "Value": "1"}], "Unknown parameter 'Nope'"),
        ([{"Name": "MseThreshold", "Value": "six"}], "is not a valid Float"),
        ([{"Name": "MseThreshold", "Value": ""}], "Member must have length greater than or equal to 1"),
    ],
)
def test_bad_parameters_are_validation_errors(sm, params, expected):
    create(sm, "AbalonePipeline", ABALONE)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.start_pipeline_execution(PipelineName="AbalonePipeline", PipelineParameters=params)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert expected in err.value.response["Error"]["Message"]


def test_unknown_resources_are_resource_not_found(sm):
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.describe_pipeline(PipelineName="Missing")
    assert err.value.response["Error"]["Code"] == "ResourceNotFound"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_stop_during_callback_then_approve(sm):
    create(sm, "ControlFlow", CONTROL_FLOW)
    execution = sm.start_pipeline_execution(PipelineName="ControlFlow")["PipelineExecutionArn"]
    token = None
    for _ in range(1500):
        steps = all_steps(sm, execution)
        waiting = [s for s in steps if s["StepName"] == "ManualApproval" and s["StepStatus"] == "Executing"]
        if waiting:
            token = waiting[0]["Metadata"]["Callback"]["CallbackToken"]
            break
        time.sleep(0.02)
    assert token and len(token) == 10
    sm.stop_pipeline_execution(PipelineExecutionArn=execution)
    time.sleep(0.1)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=execution)["PipelineExecutionStatus"] == "Stopping"
    sm.send_pipeline_execution_step_success(CallbackToken=token, OutputParameters=[{"Name": "approved", "Value": "true"}])
    assert wait(sm, execution) == "Stopped"


def test_paginators_walk_every_execution_once(sm):
    create(sm, "AbalonePipeline", ABALONE)
    started = [
        sm.start_pipeline_execution(PipelineName="AbalonePipeline", PipelineExecutionDisplayName=f"run-{n}")["PipelineExecutionArn"]
        for n in range(5)
    ]
    paginator = sm.get_paginator("list_pipeline_executions")
    pages = list(paginator.paginate(PipelineName="AbalonePipeline", PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    seen = [s["PipelineExecutionArn"] for p in pages for s in p["PipelineExecutionSummaries"]]
    assert sorted(seen) == sorted(started) and len(set(seen)) == 5


def test_idempotent_start(sm):
    create(sm, "AbalonePipeline", ABALONE)
    token = "boto3-idempotency-token-0123456789abcdef"
    first = sm.start_pipeline_execution(PipelineName="AbalonePipeline", ClientRequestToken=token)["PipelineExecutionArn"]
    second = sm.start_pipeline_execution(PipelineName="AbalonePipeline", ClientRequestToken=token)["PipelineExecutionArn"]
    assert first == second
    assert len(sm.list_pipeline_executions(PipelineName="AbalonePipeline")["PipelineExecutionSummaries"]) == 1


def test_scenario_failures_retry_and_fault_injection(sm):
    scenario = {
        "pipelines": {"*": {"steps": {"AbaloneEval": {"fail": {"attempts": 1, "reason": "AlgorithmError: boom"}}}}},
        "faults": [{"operation": "ListPipelines", "code": "ThrottlingException", "times": 1}],
    }
    post("/_emulator/scenario", json.dumps(scenario).encode())
    create(sm, "AbalonePipeline", ABALONE)
    execution = sm.start_pipeline_execution(PipelineName="AbalonePipeline")["PipelineExecutionArn"]
    assert wait(sm, execution) == "Failed"
    sm.retry_pipeline_execution(PipelineExecutionArn=execution)
    assert wait(sm, execution) == "Succeeded"
    # botocore retries a throttled call by itself: the one injected throttle is absorbed.
    assert sm.list_pipelines()["PipelineSummaries"][0]["PipelineName"] == "AbalonePipeline"


def test_sts_assume_role_names_the_person_in_created_by(sm):
    sts = boto3.client(
        "sts",
        endpoint_url=URL,
        region_name="us-east-1",
        aws_access_key_id="AKIDBOTO3TEST",
        aws_secret_access_key="secret",
    )
    assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/AKIDBOTO3TEST"
    out = sts.assume_role(
        RoleArn="arn:aws:iam::123456789012:role/PipelineRunner",
        RoleSessionName="alice",
        SourceIdentity="alice@example.com",
    )
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["Expiration"].year >= 2024
    session_arn = "arn:aws:sts::123456789012:assumed-role/PipelineRunner/alice"
    assert out["AssumedRoleUser"]["Arn"] == session_arn and out["SourceIdentity"] == "alice@example.com"
    keys = dict(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    me = boto3.client("sts", endpoint_url=URL, region_name="us-east-1", **keys).get_caller_identity()
    assert me["Arn"] == session_arn and me["Account"] == "123456789012"
    alice = boto3.client("sagemaker", endpoint_url=URL, region_name="us-east-1", **keys)
    create(alice, "AbalonePipeline", ABALONE)
    execution = alice.start_pipeline_execution(PipelineName="AbalonePipeline")["PipelineExecutionArn"]
    who = sm.describe_pipeline_execution(PipelineExecutionArn=execution)["CreatedBy"]["IamIdentity"]
    assert who["Arn"] == session_arn and who["SourceIdentity"] == "alice@example.com"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sts.assume_role(RoleArn="arn:aws:iam::123456789012:user/bob", RoleSessionName="alice")
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert "'roleArn'" in err.value.response["Error"]["Message"]


TRAINING_LOGS = "/aws/sagemaker/TrainingJobs"


@pytest.fixture()
def logs():
    return boto3.client(
        "logs",
        endpoint_url=URL,
        region_name="us-east-1",
        aws_access_key_id="AKIDBOTO3TEST",
        aws_secret_access_key="secret",
    )


def wait_step(sm, execution, name, status, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for s in all_steps(sm, execution):
            if s["StepName"] == name and s["StepStatus"] == status:
                return s
        time.sleep(0.02)
    raise AssertionError(f"{name} never became {status}")


def training_job(sm, step):
    """The step's training job name in its own case (the metadata's ARN is lower-cased)."""
    lower = step["Metadata"]["TrainingJob"]["Arn"].rsplit("/", 1)[1]
    return sm.describe_training_job(TrainingJobName=lower)["TrainingJobName"]


def clock(**change):
    """Pause, resume or move on the emulator's clock: what a test sees then never depends on how fast the
    machine running it is."""
    return json.loads(post("/_emulator/clock", json.dumps(change).encode()))


def advance_until_step(sm, execution, name, status, step=0.25, most=2000):
    """Moves the paused clock on in small steps until the step reaches `status`."""
    for _ in range(most):
        for s in all_steps(sm, execution):
            if s["StepName"] == name and s["StepStatus"] == status:
                return s
        clock(advance=step)
    raise AssertionError(f"{name} never became {status}")


def test_the_clock_pauses_and_moves_on_only_when_told(sm):
    paused = clock(pause=True)
    assert paused["paused"] is True
    time.sleep(0.05)
    assert clock(advance=0)["now"] == paused["now"], "a paused clock stands still"
    assert clock(advance=2.5)["now"] == pytest.approx(paused["now"] + 2.5)
    create(sm, "AbalonePipeline", ABALONE)
    execution = sm.start_pipeline_execution(PipelineName="AbalonePipeline")["PipelineExecutionArn"]
    time.sleep(0.2)
    described = sm.describe_pipeline_execution(PipelineExecutionArn=execution)
    assert described["PipelineExecutionStatus"] == "Executing", "nothing finishes while the clock stands"
    clock(advance=3600)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=execution)["PipelineExecutionStatus"] == "Succeeded"
    for bad in [{"advance": -1}, {"pause": False}, {"speed": 2}]:
        with pytest.raises(urllib.error.HTTPError) as err:
            clock(**bad)
        assert err.value.code == 400
    post("/_emulator/reset")
    assert clock(advance=0)["paused"] is False, "a reset runs the wall clock again"


def test_job_log_tokens_repeat_at_the_end_and_carry_on_as_the_stream_grows(sm, logs):
    # The clock stands still while the log is read, so the reader always finds it part-written.
    scenario = {"pipelines": {"*": {"steps": {"AbaloneTrain": {"duration": 60000, "log_lines": 3000}}}}}
    post("/_emulator/scenario", json.dumps(scenario).encode())
    create(sm, "AbalonePipeline", ABALONE)
    clock(pause=True)
    execution = sm.start_pipeline_execution(PipelineName="AbalonePipeline")["PipelineExecutionArn"]
    job = training_job(sm, advance_until_step(sm, execution, "AbaloneTrain", "Executing"))
    # 60,000 simulated seconds are 3 s of the clock at the test's speed: one of them written.
    clock(advance=1.0)
    started = int(sm.describe_training_job(TrainingJobName=job)["TrainingStartTime"].timestamp())
    streams = logs.describe_log_streams(logGroupName=TRAINING_LOGS, logStreamNamePrefix=job)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [f"{job}/algo-1-{started}"]
    stream = streams[0]["logStreamName"]

    read, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName=TRAINING_LOGS, logStreamName=stream, startFromHead=True, limit=200, **kwargs)
        read += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert token.startswith("f/") and len(token) == 58
    assert 0 < len(read) < 3000, "still running"
    again = logs.get_log_events(logGroupName=TRAINING_LOGS, logStreamName=stream, nextToken=token)
    assert not again["events"] and again["nextForwardToken"] == token, "nothing new while the clock stands"
    clock(advance=0.5)
    later = logs.get_log_events(logGroupName=TRAINING_LOGS, logStreamName=stream, nextToken=token)
    assert later["events"], "the same token returns what was written since"

    clock(resume=True)
    assert wait(sm, execution) == "Succeeded"
    tail = logs.get_log_events(logGroupName=TRAINING_LOGS, logStreamName=stream, limit=5)
    assert tail["events"][-1]["message"].endswith("Reporting training SUCCESS")
    before = logs.get_log_events(logGroupName=TRAINING_LOGS, logStreamName=stream, limit=5, nextToken=tail["nextBackwardToken"])
    assert len(before["events"]) == 5
    assert before["events"][-1]["timestamp"] <= tail["events"][0]["timestamp"]
    everything, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName=TRAINING_LOGS, logStreamName=stream, startFromHead=True, **kwargs)
        everything += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert len(everything) == 3003 and everything[: len(read)] == read
    assert [e["message"] for e in before["events"] + tail["events"]] == everything[-10:]

    with pytest.raises(botocore.exceptions.ClientError) as err:
        logs.get_log_events(logGroupName=TRAINING_LOGS, logStreamName=stream, nextToken="f/123")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_filter_log_events_finds_the_failure_and_pages_the_whole_log(sm, logs):
    scenario = {
        "pipelines": {"*": {"steps": {"AbaloneTrain": {
            "log_lines": 20000, "fail": {"reason": "AlgorithmError: out of memory", "exception": "Step.OTHER"}}}}},
        "faults": [{"operation": "FilterLogEvents", "code": "AccessDeniedException", "times": 1}],
    }
    post("/_emulator/scenario", json.dumps(scenario).encode())
    with pytest.raises(botocore.exceptions.ClientError) as err:
        logs.filter_log_events(logGroupName=TRAINING_LOGS)
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "logs:FilterLogEvents" in err.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        logs.filter_log_events(logGroupName=TRAINING_LOGS)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.value.response["Error"]["Message"] == "The specified log group does not exist."

    create(sm, "AbalonePipeline", ABALONE)
    execution = sm.start_pipeline_execution(PipelineName="AbalonePipeline")["PipelineExecutionArn"]
    assert wait(sm, execution) == "Failed"
    train = next(s for s in all_steps(sm, execution) if s["StepName"] == "AbaloneTrain")
    job = training_job(sm, train)
    assert sm.describe_training_job(TrainingJobName=job)["FailureReason"] == "AlgorithmError: out of memory"

    found = logs.filter_log_events(logGroupName=TRAINING_LOGS, filterPattern='"AlgorithmError: out of memory"')
    assert [e["message"] for e in found["events"]] == ["AlgorithmError: out of memory"]
    assert found["events"][0]["logStreamName"].startswith(f"{job}/algo-1-")
    paginator = logs.get_paginator("filter_log_events")
    events = [e for page in paginator.paginate(logGroupName=TRAINING_LOGS, logStreamNamePrefix=job) for e in page["events"]]
    assert len(events) == 20000 + 10, "the run's lines and the failure's"
    assert len({e["eventId"] for e in events}) == len(events)
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    epochs = logs.filter_log_events(logGroupName=TRAINING_LOGS, logStreamNamePrefix=job, filterPattern='epoch "validation:rmse:"')
    assert len(epochs["events"]) == 50, "num_round 50: one summary per round"


@pytest.fixture()
def sqs(sm):
    return boto3.client(
        "sqs",
        endpoint_url=URL,
        region_name="us-east-1",
        aws_access_key_id="AKIDBOTO3TEST",
        aws_secret_access_key="secret",
    )


def test_sqs_round_trip_with_boto3(sqs):
    url = sqs.create_queue(QueueName="boto3-work", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    assert url.endswith("/123456789012/boto3-work")
    sent = sqs.send_message(QueueUrl=url, MessageBody='{"hello": "world"}')
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                              MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert [m["MessageId"] for m in got] == [sent["MessageId"]]
    assert got[0]["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "60" and attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
    out = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "ReceiptHandle": got[0]["ReceiptHandle"]},
        {"Id": "bad", "ReceiptHandle": "made-up"},
    ])
    assert [e["Id"] for e in out["Successful"]] == ["ok"]
    assert out["Failed"][0]["Code"] == "ReceiptHandleIsInvalid" and out["Failed"][0]["SenderFault"]
    # botocore's exception classes come from SQS's legacy codes.
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="nowhere")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=5)
    assert e.value.response["Error"]["Code"] in ("ReceiptHandleIsInvalid", "AWS.SimpleQueueService.MessageNotInflight")


def test_sagemaker_events_reach_a_queue_boto3_reads(sm, sqs):
    post("/_emulator/clock", b'{"pause": true}')
    try:
        url = sqs.create_queue(QueueName="sagemaker-events")["QueueUrl"]
        create(sm, "Evented", ABALONE)
        execution = sm.start_pipeline_execution(PipelineName="Evented")["PipelineExecutionArn"]
        post("/_emulator/clock", b'{"advance": 86400}')
        events = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                break
            events += [json.loads(m["Body"]) for m in got]
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
        done = [e for e in events if e["detail-type"] == "SageMaker Model Building Pipeline Execution Status Change"]
        assert [e["detail"]["currentPipelineExecutionStatus"] for e in done] == ["Executing", "Succeeded"]
        assert done[-1]["resources"] == [execution.rsplit("/execution/", 1)[0], execution]
        kinds = {e["detail-type"] for e in events}
        assert "SageMaker Model Package State Change" in kinds  # abalone registers its model by default
    finally:
        post("/_emulator/clock", b'{"wall": true}')
