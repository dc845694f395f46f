"""The emulator's model registry checked with boto3: groups and versions made through the API, versions a
pipeline's RegisterModel step registered, approvals, and the event an approval sends."""

import json

import botocore.exceptions
import pytest

from test_boto3 import ABALONE, create, post, sm, sqs, wait  # noqa: F401 (fixtures)

SPEC = {
    "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:3", "ModelDataUrl": "s3://m/fraud.tar.gz"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def error(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kwargs)
    return e.value.response["Error"]


def test_groups_and_versions_made_through_the_api(sm):
    arn = sm.create_model_package_group(ModelPackageGroupName="fraud", ModelPackageGroupDescription="Fraud models",
                                        Tags=[{"Key": "team", "Value": "fraud"}])["ModelPackageGroupArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud"
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "fraud"}]
    assert error(sm.list_tags, ResourceArn=arn + "-gone")["Code"] == "ValidationException"
    e = error(sm.create_model_package_group, ModelPackageGroupName="Fraud")
    assert e["Code"] == "ValidationException" and "already exists" in e["Message"]
    group = sm.describe_model_package_group(ModelPackageGroupName="fraud")
    assert group["ModelPackageGroupStatus"] == "Completed" and group["ModelPackageGroupDescription"] == "Fraud models"
    assert group["CreatedBy"]["IamIdentity"]["Arn"].endswith(":user/AKIDBOTO3TEST")
    assert error(sm.describe_model_package_group, ModelPackageGroupName="nope")["Code"] == "ValidationException"

    first = sm.create_model_package(ModelPackageGroupName="fraud", InferenceSpecification=SPEC,
                                    CustomerMetadataProperties={"team": "fraud"}, ClientToken="tok-1")["ModelPackageArn"]
    assert first.endswith(":model-package/fraud/1")
    again = sm.create_model_package(ModelPackageGroupName="fraud", InferenceSpecification=SPEC, ClientToken="tok-1")
    assert again["ModelPackageArn"] == first, "the same ClientToken is the same version"
    second = sm.create_model_package(ModelPackageGroupName="fraud", InferenceSpecification=SPEC,
                                     ModelApprovalStatus="Approved")["ModelPackageArn"]
    assert second.endswith("/fraud/2")
    assert error(sm.create_model_package, ModelPackageGroupName="ghosts", InferenceSpecification=SPEC)[
        "Message"] == "Model Package Group ghosts does not exist."
    bad = error(sm.create_model_package, ModelPackageGroupName="fraud", ModelApprovalStatus="Maybe")
    assert bad["Code"] == "ValidationException" and "'modelApprovalStatus'" in bad["Message"]

    v1 = sm.describe_model_package(ModelPackageName=first)
    assert (v1["ModelApprovalStatus"], v1["ModelPackageStatus"], v1["ModelPackageVersion"]) == (
        "PendingManualApproval", "Completed", 1)
    assert v1["InferenceSpecification"]["Containers"][0]["Image"].endswith("/fraud:3")
    assert v1["CustomerMetadataProperties"] == {"team": "fraud"}
    listed = sm.list_model_packages(ModelPackageGroupName="fraud", SortBy="CreationTime", SortOrder="Ascending")
    assert [p["ModelPackageVersion"] for p in listed["ModelPackageSummaryList"]] == [1, 2]
    pending = sm.list_model_packages(ModelPackageGroupName="fraud", ModelApprovalStatus="PendingManualApproval")
    assert [p["ModelPackageArn"] for p in pending["ModelPackageSummaryList"]] == [first]
    # Without a group the listing is of unversioned packages unless a type is named, as SageMaker has it.
    assert sm.list_model_packages()["ModelPackageSummaryList"] == []
    across = sm.list_model_packages(ModelPackageType="Versioned", ModelApprovalStatus="PendingManualApproval")
    assert first in [p["ModelPackageArn"] for p in across["ModelPackageSummaryList"]]
    assert error(sm.list_model_packages, ModelPackageType="Sometimes")["Code"] == "ValidationException"

    sm.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Rejected",
                            ApprovalDescription="worse recall than v0", CustomerMetadataPropertiesToRemove=["team"])
    v1 = sm.describe_model_package(ModelPackageName=first)
    assert (v1["ModelApprovalStatus"], v1["ApprovalDescription"]) == ("Rejected", "worse recall than v0")
    assert "CustomerMetadataProperties" not in v1
    assert v1["LastModifiedBy"]["IamIdentity"]["Arn"].endswith(":user/AKIDBOTO3TEST")
    assert v1["LastModifiedTime"] >= v1["CreationTime"]
    missing = error(sm.update_model_package, ModelPackageArn=first.replace("/1", "/9"), ModelApprovalStatus="Approved")
    assert "does not exist" in missing["Message"]

    for name in ["alpha", "beta", "gamma"]:
        sm.create_model_package_group(ModelPackageGroupName=name)
    pages = sm.get_paginator("list_model_package_groups").paginate(SortBy="Name", SortOrder="Ascending",
                                                                   PaginationConfig={"PageSize": 2})
    names = [g["ModelPackageGroupName"] for page in pages for g in page["ModelPackageGroupSummaryList"]]
    assert names == ["alpha", "beta", "fraud", "gamma"], "every group once, in order, across pages"


def test_a_pipeline_registers_versions_that_wait_for_a_person_and_an_approval_is_an_event(sm, sqs):
    url = sqs.create_queue(QueueName="sagemaker-events")["QueueUrl"]
    create(sm, "AbalonePipeline", ABALONE)
    first = sm.start_pipeline_execution(PipelineName="AbalonePipeline")["PipelineExecutionArn"]
    assert wait(sm, first) == "Succeeded"
    groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == ["AbaloneModelPackageGroupName"], "the step made it"
    second = sm.start_pipeline_execution(
        PipelineName="AbalonePipeline", PipelineParameters=[{"Name": "ModelApprovalStatus", "Value": "Approved"}]
    )["PipelineExecutionArn"]
    assert wait(sm, second) == "Succeeded"
    versions = sm.list_model_packages(ModelPackageGroupName="AbaloneModelPackageGroupName", SortOrder="Ascending")[
        "ModelPackageSummaryList"]
    assert [(p["ModelPackageVersion"], p["ModelApprovalStatus"]) for p in versions] == [
        (1, "PendingManualApproval"), (2, "Approved")]
    v1 = sm.describe_model_package(ModelPackageName=versions[0]["ModelPackageArn"])
    assert v1["MetadataProperties"]["GeneratedBy"] == first
    assert v1["InferenceSpecification"]["Containers"][0]["ModelDataUrl"].startswith("s3://"), "evaluated"
    assert v1["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith("evaluation.json")

    drain = lambda: [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]
    while drain():
        pass
    sm.update_model_package(ModelPackageArn=versions[0]["ModelPackageArn"], ModelApprovalStatus="Approved",
                            ApprovalDescription="looks good")
    assert sm.describe_model_package(ModelPackageName=versions[0]["ModelPackageArn"])["ModelApprovalStatus"] == "Approved"
    events = [e for e in drain() if e["detail-type"] == "SageMaker Model Package State Change"]
    assert len(events) == 1, events
    assert events[0]["detail"]["ModelApprovalStatus"] == "Approved"
    assert events[0]["resources"] == [versions[0]["ModelPackageArn"]]
