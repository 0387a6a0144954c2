"""The sandbox answers creates of taken names as AWS does, and keeps tags given at creation.

What a run may later delete is decided by what it created: a create that quietly answers
with someone else's resource (moto's CreateTopic, CreateTrail) would make a rollback delete
it. Each test here is plain boto3 over HTTP, as any client (the AWS CLI included) sees it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.wizard.sandbox.conftest import Client, aws_error
from wizard.sandbox.server import (
    DEMO_ACCOUNT,
    DEMO_CENTRAL_BUCKET,
    DEMO_KEY_READY,
    DEMO_LOG_GROUP,
    DEMO_ROLE,
    DEMO_TOPIC,
    DEMO_TRAIL,
    DEMO_TRAIL_REGION,
)

pytestmark = pytest.mark.aws

RUN_TAG = "cloudtrail-wizard:run"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def tag_set(aws: Client, bucket: str, region: str = "us-east-1") -> dict[str, str]:
    tags = aws("s3", region).get_bucket_tagging(Bucket=bucket)["TagSet"]
    return {t["Key"]: t["Value"] for t in tags}


# ---- S3: tags given to CreateBucket ---------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_create_bucket_keeps_the_tags_of_its_configuration(aws: Client, region: str) -> None:
    configuration: dict[str, Any] = {
        "Tags": [{"Key": RUN_TAG, "Value": "run-1"}, {"Key": "team", "Value": "a & <b>"}]
    }
    if region != "us-east-1":
        configuration["LocationConstraint"] = region
    aws("s3", region).create_bucket(
        Bucket="tagged-at-birth", CreateBucketConfiguration=configuration
    )

    assert tag_set(aws, "tagged-at-birth", region) == {RUN_TAG: "run-1", "team": "a & <b>"}
    location = aws("s3", region).get_bucket_location(Bucket="tagged-at-birth")
    assert (location["LocationConstraint"] or "us-east-1") == region


def test_create_bucket_without_tags_has_none(aws: Client) -> None:
    aws("s3").create_bucket(Bucket="untagged-bucket")
    with aws_error("NoSuchTagSet"):
        aws("s3").get_bucket_tagging(Bucket="untagged-bucket")


def test_recreating_a_bucket_never_retags_it(aws: Client) -> None:
    """A CreateBucket that creates nothing (us-east-1 answers 200 to its owner; elsewhere
    BucketAlreadyOwnedByYou) leaves the bucket's tags as they were."""
    first = {"Tags": [{"Key": RUN_TAG, "Value": "first-run"}]}
    aws("s3").create_bucket(Bucket="owned-east", CreateBucketConfiguration=first)
    aws("s3").create_bucket(
        Bucket="owned-east", CreateBucketConfiguration={"Tags": [{"Key": RUN_TAG, "Value": "x"}]}
    )
    assert tag_set(aws, "owned-east") == {RUN_TAG: "first-run"}

    west = aws("s3", "eu-west-1")
    west.create_bucket(
        Bucket="owned-west",
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1", **first},
    )
    with aws_error("BucketAlreadyOwnedByYou"):
        west.create_bucket(
            Bucket="owned-west",
            CreateBucketConfiguration={
                "LocationConstraint": "eu-west-1",
                "Tags": [{"Key": RUN_TAG, "Value": "second-run"}],
            },
        )
    assert tag_set(aws, "owned-west", "eu-west-1") == {RUN_TAG: "first-run"}


# ---- CloudTrail ------------------------------------------------------------------------


def test_create_trail_refuses_a_name_taken_in_its_region(aws: Client) -> None:
    cloudtrail = aws("cloudtrail", DEMO_TRAIL_REGION)
    before = cloudtrail.get_trail(Name=DEMO_TRAIL)["Trail"]
    with aws_error("TrailAlreadyExistsException", message=DEMO_TRAIL):
        cloudtrail.create_trail(Name=DEMO_TRAIL, S3BucketName=DEMO_CENTRAL_BUCKET)
    # moto alone would have replaced the seeded trail with this one.
    assert cloudtrail.get_trail(Name=DEMO_TRAIL)["Trail"] == before


def test_create_trail_refuses_a_multi_region_trail_whose_copy_would_collide(
    aws: Client,
) -> None:
    with aws_error("TrailAlreadyExistsException", message=DEMO_TRAIL):
        aws("cloudtrail").create_trail(
            Name=DEMO_TRAIL, S3BucketName=DEMO_CENTRAL_BUCKET, IsMultiRegionTrail=True
        )
    assert aws("cloudtrail").describe_trails(includeShadowTrails=False)["trailList"] == []


# ---- SNS: CreateTopic is idempotent only for the same request ----------------------------


def test_create_topic_returns_the_same_topic_for_the_same_request(aws: Client) -> None:
    sns = aws("sns")
    tags = [{"Key": RUN_TAG, "Value": "run-1"}]
    arn = sns.create_topic(Name="files", Attributes={"DisplayName": "Files"}, Tags=tags)["TopicArn"]
    again = sns.create_topic(Name="files", Attributes={"DisplayName": "Files"}, Tags=tags)
    assert again["TopicArn"] == arn
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]].count(arn) == 1


def test_create_topic_refuses_a_taken_name_with_other_tags(aws: Client) -> None:
    sns = aws("sns")
    arn = f"arn:aws:sns:us-east-1:{DEMO_ACCOUNT}:{DEMO_TOPIC}"
    with aws_error("InvalidParameter", message="Topic already exists with different tags"):
        sns.create_topic(Name=DEMO_TOPIC, Tags=[{"Key": RUN_TAG, "Value": "someone-else"}])
    # The seeded topic was not tagged as if the request had made it.
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == []


def test_create_topic_refuses_a_taken_name_with_other_attributes(aws: Client) -> None:
    sns = aws("sns")
    arn = f"arn:aws:sns:us-east-1:{DEMO_ACCOUNT}:{DEMO_TOPIC}"
    policy_before = sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"]
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "SNS:Publish",
                    "Resource": arn,
                }
            ],
        }
    )
    with aws_error("InvalidParameter", message="Topic already exists with different attributes"):
        sns.create_topic(Name=DEMO_TOPIC, Attributes={"Policy": policy})
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"] == policy_before


def test_create_topic_with_its_current_policy_is_the_same_request(aws: Client) -> None:
    sns = aws("sns")
    arn = f"arn:aws:sns:us-east-1:{DEMO_ACCOUNT}:{DEMO_TOPIC}"
    current = sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"]
    # The same document, laid out differently, is the same attribute value.
    relaid = json.dumps(json.loads(current), indent=2)
    assert sns.create_topic(Name=DEMO_TOPIC, Attributes={"Policy": relaid})["TopicArn"] == arn


# ---- CloudWatch Logs, IAM, KMS -----------------------------------------------------------


def test_create_log_group_refuses_a_taken_name(aws: Client) -> None:
    logs = aws("logs")
    with aws_error("ResourceAlreadyExistsException"):
        logs.create_log_group(logGroupName=DEMO_LOG_GROUP, tags={RUN_TAG: "run-1"})
    assert logs.list_tags_log_group(logGroupName=DEMO_LOG_GROUP)["tags"] == {}


def test_create_role_refuses_a_taken_name(aws: Client) -> None:
    iam = aws("iam")
    before = iam.get_role(RoleName=DEMO_ROLE)["Role"]["AssumeRolePolicyDocument"]
    with aws_error("EntityAlreadyExists", message=DEMO_ROLE):
        iam.create_role(
            RoleName=DEMO_ROLE,
            AssumeRolePolicyDocument=TRUST,
            Tags=[{"Key": RUN_TAG, "Value": "run-1"}],
        )
    assert iam.get_role(RoleName=DEMO_ROLE)["Role"]["AssumeRolePolicyDocument"] == before
    assert iam.list_role_tags(RoleName=DEMO_ROLE)["Tags"] == []


def test_create_alias_refuses_a_taken_name(aws: Client) -> None:
    kms = aws("kms")
    target = kms.describe_key(KeyId=DEMO_KEY_READY)["KeyMetadata"]["KeyId"]
    new_key = kms.create_key(Description="a second key")["KeyMetadata"]["KeyId"]
    with aws_error("AlreadyExistsException", message=DEMO_KEY_READY):
        kms.create_alias(AliasName=DEMO_KEY_READY, TargetKeyId=new_key)
    # The alias still names the key it named.
    assert kms.describe_key(KeyId=DEMO_KEY_READY)["KeyMetadata"]["KeyId"] == target
