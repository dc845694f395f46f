"""The emulator's Price List checked with boto3: GetProducts with the filters a cost estimate uses, product
documents as JSON strings in the real service's shape, paging with boto3's paginator, and its errors."""

import json

import boto3
import botocore.exceptions
import pytest

from test_boto3 import TERMINAL, URL, clock, create, post, sm  # noqa: F401 (fixtures)


@pytest.fixture()
def pricing():
    return boto3.client(
        "pricing",
        endpoint_url=URL,
        region_name="us-east-1",
        aws_access_key_id="AKIDBOTO3TEST",
        aws_secret_access_key="secret",
    )


def term(field, value):
    return {"Type": "TERM_MATCH", "Field": field, "Value": value}


def on_demand_usd(doc):
    (offer,) = doc["terms"]["OnDemand"].values()
    (dim,) = offer["priceDimensions"].values()
    assert dim["unit"] == "Hrs"
    return float(dim["pricePerUnit"]["USD"])


def test_one_region_and_instance_give_each_component_with_its_hourly_price(pricing):
    out = pricing.get_products(ServiceCode="AmazonSageMaker", FormatVersion="aws_v1",
                               Filters=[term("regionCode", "us-east-1"), term("instanceName", "ml.m5.xlarge")])
    assert out["FormatVersion"] == "aws_v1"
    docs = [json.loads(p) for p in out["PriceList"]]
    by_component = {d["product"]["attributes"]["component"]: on_demand_usd(d) for d in docs}
    assert by_component["Training"] == pytest.approx(0.23)
    assert {"Training", "Processing", "Batch Transform", "Hosting"} <= set(by_component)
    attrs = docs[0]["product"]["attributes"]
    assert attrs["regionCode"] == "us-east-1" and attrs["instanceName"] == "ml.m5.xlarge"
    assert attrs["usagetype"].startswith("USE1-") and docs[0]["serviceCode"] == "AmazonSageMaker"
    # Another region costs what its factor says; a filter on the component narrows to one product.
    eu = pricing.get_products(ServiceCode="AmazonSageMaker", Filters=[
        term("regionCode", "eu-west-1"), term("instanceName", "ml.m5.xlarge"), term("component", "Training")])
    assert [on_demand_usd(json.loads(p)) for p in eu["PriceList"]] == [pytest.approx(0.2576)]
    # An instance type the table does not have: no product (a cost estimate then says "no price").
    none = pricing.get_products(ServiceCode="AmazonSageMaker", Filters=[term("instanceName", "ml.r5.xlarge")])
    assert none["PriceList"] == []


def test_the_paginator_reads_every_product_once(pricing):
    pages = pricing.get_paginator("get_products").paginate(ServiceCode="AmazonSageMaker",
                                                            PaginationConfig={"PageSize": 40})
    skus = [json.loads(p)["product"]["sku"] for page in pages for p in page["PriceList"]]
    assert len(skus) == 9 * 5 * 6 and len(set(skus)) == len(skus)


def test_bad_requests_are_named(pricing):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        pricing.get_products(ServiceCode="AmazonSageMaker", NextToken="not-a-token")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        pricing.get_products(ServiceCode="AmazonSageMaker", FormatVersion="aws_v2")
    assert "aws_v1" in e.value.response["Error"]["Message"]


def test_training_reports_billable_time_with_managed_spot(sm):  # noqa: F811
    steps = [{"Name": "Train", "Type": "Training", "Arguments": {
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "img"},
        "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        "ResourceConfig": {"VolumeSizeInGB": 30, "InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
        "EnableManagedSpotTraining": True, "RoleArn": "arn:aws:iam::123456789012:role/R"}}]
    # 200,000 simulated seconds are 10 s of the paused clock at the test's speed, moved on by hand.
    post("/_emulator/scenario", json.dumps({"pipelines": {"*": {"steps": {"Train": {"duration": 200000}}}}}).encode())
    create(sm, "SpotPipeline", json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": steps}))
    clock(pause=True)
    arn = sm.start_pipeline_execution(PipelineName="SpotPipeline", ClientRequestToken="spot-0123456789abcdef0123456789abcdef")[
        "PipelineExecutionArn"]
    for _ in range(200):
        if sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] in TERMINAL:
            break
        clock(advance=1.0)
    (step,) = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    job = sm.describe_training_job(TrainingJobName=step["Metadata"]["TrainingJob"]["Arn"].split("/")[-1])
    assert job["EnableManagedSpotTraining"] is True
    assert 0 < job["BillableTimeInSeconds"] < job["TrainingTimeInSeconds"]
