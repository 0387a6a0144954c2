"""The embedded sandbox: its seed, and that it refuses what AWS refuses, with AWS's errors.

Every client here is plain boto3 over HTTP with dummy credentials from the environment, so
each refusal is the one any client (the AWS CLI included) would see.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.wizard.sandbox.conftest import Client, aws_error
from wizard.sandbox import server as sandbox_module
from wizard.sandbox.server import (
    DEMO_ACCOUNT,
    DEMO_APP_BUCKET,
    DEMO_BUCKETS,
    DEMO_CENTRAL_BUCKET,
    DEMO_KEY_APP_EU,
    DEMO_KEY_READY,
    DEMO_KEY_READY_EU,
    DEMO_KEY_RETIRED,
    DEMO_KEY_SIGNING,
    DEMO_KEYS,
    DEMO_LEGACY_BUCKET,
    DEMO_LOG_GROUP,
    DEMO_ROLE,
    DEMO_ROLE_ARN,
    DEMO_TOPIC,
    DEMO_TRAIL,
    DEMO_TRAIL_REGION,
    Sandbox,
    install_strict_patches,
    start_sandbox,
)

pytestmark = pytest.mark.aws

ACCT = DEMO_ACCOUNT
CLOUDTRAIL = "cloudtrail.amazonaws.com"


# ---- helpers -------------------------------------------------------------------------


def trail_arn(name: str, region: str = "us-east-1", account: str = ACCT) -> str:
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"


def bucket_policy(
    bucket: str,
    trail_arns: list[str],
    *,
    prefix: str = "",
    org_id: str | None = None,
    account: str = ACCT,
) -> str:
    """CloudTrail's documented bucket policy (User Guide, create-s3-bucket-policy...)."""
    lead = f"{prefix}/" if prefix else ""
    source = {"aws:SourceArn": trail_arns if len(trail_arns) > 1 else trail_arns[0]}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AWSCloudTrailAclCheck20150319",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:GetBucketAcl",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringEquals": source},
        },
        {
            "Sid": "AWSCloudTrailWrite20150319",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/{lead}AWSLogs/{account}/*",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}},
        },
    ]
    if org_id:
        statements.append(
            {
                "Sid": "AWSCloudTrailOrganizationWrite20150319",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/{lead}AWSLogs/{org_id}/*",
                "Condition": {
                    "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}
                },
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def make_bucket(
    aws: Client, name: str, region: str = "us-east-1", policy: str | None = None
) -> None:
    s3 = aws("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if policy is not None:
        s3.put_bucket_policy(Bucket=name, Policy=policy)


def ready_bucket(aws: Client, name: str, trail: str, region: str = "us-east-1", **kw: Any) -> str:
    """A new bucket whose policy lets exactly ``trail`` (home us-east-1) deliver."""
    make_bucket(aws, name, region, bucket_policy(name, [trail_arn(trail)], **kw))
    return name


def topic_policy(topic_arn: str, trail: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailSNSPolicy20131101",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL},
                    "Action": "SNS:Publish",
                    "Resource": topic_arn,
                    "Condition": {"StringEquals": {"aws:SourceArn": trail_arn(trail)}},
                }
            ],
        }
    )


def trust_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def log_group_arn(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:logs:{region}:{ACCT}:log-group:{name}:*"


# ---- the seed ------------------------------------------------------------------------


def test_seed_buckets_exist_in_their_regions_with_their_policies(aws: Client) -> None:
    s3 = aws("s3")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert set(DEMO_BUCKETS) <= names
    for bucket, region in DEMO_BUCKETS.items():
        location = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
        assert (location or "us-east-1") == region
    app = json.loads(s3.get_bucket_policy(Bucket=DEMO_APP_BUCKET)["Policy"])
    assert {s["Effect"] for s in app["Statement"]} == {"Allow", "Deny"}
    assert any(s.get("Principal") == {"AWS": DEMO_ROLE_ARN} for s in app["Statement"])
    central = json.loads(s3.get_bucket_policy(Bucket=DEMO_CENTRAL_BUCKET)["Policy"])
    assert {s["Action"] for s in central["Statement"]} == {"s3:GetBucketAcl", "s3:PutObject"}
    assert f"/AWSLogs/{ACCT}/*" in json.dumps(central)
    assert aws("iam").get_role(RoleName=DEMO_ROLE)["Role"]["Arn"] == DEMO_ROLE_ARN


def test_seed_keys_have_their_region_spec_and_state(aws: Client) -> None:
    expected = {
        DEMO_KEY_READY: ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled", True),
        DEMO_KEY_APP_EU: ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled", False),
        DEMO_KEY_READY_EU: ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled", True),
        DEMO_KEY_SIGNING: ("RSA_2048", "SIGN_VERIFY", "Enabled", True),
        DEMO_KEY_RETIRED: ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Disabled", True),
    }
    assert set(expected) == set(DEMO_KEYS)
    for alias, region in DEMO_KEYS.items():
        kms = aws("kms", region)
        meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
        spec, usage, state, cloudtrail_ready = expected[alias]
        assert meta["Arn"].startswith(f"arn:aws:kms:{region}:{ACCT}:key/")
        assert (meta["KeySpec"], meta["KeyUsage"], meta["KeyState"]) == (spec, usage, state)
        policy = kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"]
        assert (CLOUDTRAIL in policy) is cloudtrail_ready, alias
        other = "eu-west-1" if region == "us-east-1" else "us-east-1"
        aliases = {a["AliasName"] for a in aws("kms", other).list_aliases()["Aliases"]}
        assert alias not in aliases


def test_seed_topic_log_group_and_logging_legacy_trail(aws: Client) -> None:
    topics = [t["TopicArn"] for t in aws("sns").list_topics()["Topics"]]
    assert topics == [f"arn:aws:sns:us-east-1:{ACCT}:{DEMO_TOPIC}"]
    groups = aws("logs").describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups] == [DEMO_LOG_GROUP]
    cloudtrail = aws("cloudtrail", DEMO_TRAIL_REGION)
    trail = cloudtrail.get_trail(Name=DEMO_TRAIL)["Trail"]
    assert trail["S3BucketName"] == DEMO_LEGACY_BUCKET
    assert trail["IsMultiRegionTrail"] is False
    assert trail["TrailARN"] == trail_arn(DEMO_TRAIL, DEMO_TRAIL_REGION)
    assert cloudtrail.get_trail_status(Name=DEMO_TRAIL)["IsLogging"] is True
    assert aws("cloudtrail").describe_trails()["trailList"] == []


def test_reset_forgets_new_resources_and_reseeds(sandbox: Sandbox, aws: Client) -> None:
    make_bucket(aws, "scratch-bucket-for-reset")
    sandbox.reset(seed=False)
    assert aws("s3").list_buckets()["Buckets"] == []
    sandbox.reset()
    names = {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}
    assert names == set(DEMO_BUCKETS)


# ---- CloudTrail: names, duplicates, limits, prefix ----------------------------------


@pytest.mark.parametrize("name", ["my--trail", "a_-b", "192.168.5.4", "-trail", "ab"])
def test_create_trail_refuses_invalid_names(aws: Client, name: str) -> None:
    with aws_error("InvalidTrailNameException"):
        aws("cloudtrail").create_trail(Name=name, S3BucketName=DEMO_CENTRAL_BUCKET)


def test_create_trail_accepts_valid_name_with_a_ready_bucket(aws: Client) -> None:
    created = aws("cloudtrail").create_trail(Name="acme.audit_1", S3BucketName=DEMO_CENTRAL_BUCKET)
    assert created["TrailARN"] == trail_arn("acme.audit_1")


def test_create_trail_refuses_a_duplicate_name(aws: Client) -> None:
    cloudtrail = aws("cloudtrail")
    cloudtrail.create_trail(Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET)
    with aws_error(
        "TrailAlreadyExistsException", message=f"Trail audit already exists for customer: {ACCT}"
    ):
        cloudtrail.create_trail(Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET)
    assert [t["Name"] for t in cloudtrail.describe_trails()["trailList"]] == ["audit"]


def test_create_trail_refuses_a_sixth_trail_in_a_region(aws: Client) -> None:
    cloudtrail = aws("cloudtrail")
    for i in range(5):
        cloudtrail.create_trail(Name=f"audit-{i}", S3BucketName=DEMO_CENTRAL_BUCKET)
    with aws_error("MaximumNumberOfTrailsExceededException"):
        cloudtrail.create_trail(Name="audit-5", S3BucketName=DEMO_CENTRAL_BUCKET)
    # Other regions have their own limit.
    aws("cloudtrail", "eu-west-1").create_trail(Name="audit-5", S3BucketName=DEMO_CENTRAL_BUCKET)


@pytest.mark.parametrize("prefix", ["AWSLogs/x", "AWSLogs", "p" * 201])
def test_create_trail_refuses_invalid_prefix(aws: Client, prefix: str) -> None:
    with aws_error("InvalidS3PrefixException"):
        aws("cloudtrail").create_trail(
            Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, S3KeyPrefix=prefix
        )


def test_create_trail_with_prefix_needs_the_prefixed_policy_path(aws: Client) -> None:
    ready_bucket(aws, "acme-prefixed-logs", "audit", prefix="org/security")
    cloudtrail = aws("cloudtrail")
    # Without the prefix, CloudTrail would write outside the path the policy allows.
    with aws_error("InsufficientS3BucketPolicyException"):
        cloudtrail.create_trail(Name="audit", S3BucketName="acme-prefixed-logs")
    with aws_error("InsufficientS3BucketPolicyException"):
        cloudtrail.create_trail(
            Name="audit", S3BucketName="acme-prefixed-logs", S3KeyPrefix="other"
        )
    trail = cloudtrail.create_trail(
        Name="audit", S3BucketName="acme-prefixed-logs", S3KeyPrefix="org/security"
    )
    assert trail["S3KeyPrefix"] == "org/security"


# ---- CloudTrail: bucket policy and Requester Pays ------------------------------------


def test_create_trail_refuses_bucket_without_policy(aws: Client) -> None:
    make_bucket(aws, "acme-no-policy")
    with aws_error(
        "InsufficientS3BucketPolicyException",
        message="Incorrect S3 bucket policy is detected for bucket: acme-no-policy",
    ):
        aws("cloudtrail").create_trail(Name="audit", S3BucketName="acme-no-policy")


def test_create_trail_refuses_bucket_with_unrelated_policy(aws: Client) -> None:
    with aws_error("InsufficientS3BucketPolicyException"):
        aws("cloudtrail").create_trail(Name="audit", S3BucketName=DEMO_APP_BUCKET)


def test_create_trail_refuses_policy_for_another_trail(aws: Client) -> None:
    ready_bucket(aws, "acme-other-trail", "someone-else")
    with aws_error("InsufficientS3BucketPolicyException"):
        aws("cloudtrail").create_trail(Name="audit", S3BucketName="acme-other-trail")


def test_create_trail_refuses_a_stored_malformed_policy(aws: Client) -> None:
    # Strict PutBucketPolicy refuses such a policy, so plant it the way a lenient emulator
    # (or an old bucket) would have stored it.
    from moto.s3.models import s3_backends

    ready_bucket(aws, "acme-garbled-logs", "audit")
    s3_backends[ACCT]["aws"].get_bucket("acme-garbled-logs").policy = b'{"Statement": 7}'
    with aws_error("InsufficientS3BucketPolicyException"):
        aws("cloudtrail").create_trail(Name="audit", S3BucketName="acme-garbled-logs")


def test_create_trail_accepts_the_documented_bucket_policy(aws: Client) -> None:
    ready_bucket(aws, "acme-ready-logs", "audit")
    trail = aws("cloudtrail").create_trail(Name="audit", S3BucketName="acme-ready-logs")
    assert trail["S3BucketName"] == "acme-ready-logs"


def test_create_trail_refuses_missing_bucket(aws: Client) -> None:
    with aws_error("S3BucketDoesNotExistException"):
        aws("cloudtrail").create_trail(Name="audit", S3BucketName="acme-not-there")


def test_create_trail_refuses_requester_pays_bucket(aws: Client) -> None:
    ready_bucket(aws, "acme-payer-logs", "audit")
    s3 = aws("s3")
    s3.put_bucket_request_payment(
        Bucket="acme-payer-logs", RequestPaymentConfiguration={"Payer": "Requester"}
    )
    assert s3.get_bucket_request_payment(Bucket="acme-payer-logs")["Payer"] == "Requester"
    with aws_error("InsufficientS3BucketPolicyException", message="Requester Pays"):
        aws("cloudtrail").create_trail(Name="audit", S3BucketName="acme-payer-logs")
    s3.put_bucket_request_payment(
        Bucket="acme-payer-logs", RequestPaymentConfiguration={"Payer": "BucketOwner"}
    )
    aws("cloudtrail").create_trail(Name="audit", S3BucketName="acme-payer-logs")


# ---- CloudTrail: KMS -----------------------------------------------------------------


def _key_arn(aws: Client, alias: str, region: str) -> str:
    return str(aws("kms", region).describe_key(KeyId=alias)["KeyMetadata"]["Arn"])


@pytest.mark.parametrize("form", ["alias", "alias-arn", "key-id", "key-arn"])
def test_create_trail_accepts_ready_key_in_bucket_region(aws: Client, form: str) -> None:
    arn = _key_arn(aws, DEMO_KEY_READY_EU, "eu-west-1")
    ref = {
        "alias": DEMO_KEY_READY_EU,
        "alias-arn": f"arn:aws:kms:eu-west-1:{ACCT}:{DEMO_KEY_READY_EU}",
        "key-id": arn.split("/")[-1],
        "key-arn": arn,
    }[form]
    trail = aws("cloudtrail").create_trail(
        Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, KmsKeyId=ref
    )
    assert trail["KmsKeyId"] == ref


def test_create_trail_refuses_key_from_another_region(aws: Client) -> None:
    # alias/cloudtrail-ready is a fine key, but in us-east-1; the central bucket is in eu-west-1.
    arn = _key_arn(aws, DEMO_KEY_READY, "us-east-1")
    cloudtrail = aws("cloudtrail")
    with aws_error("KmsKeyNotFoundException", message="same region"):
        cloudtrail.create_trail(Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, KmsKeyId=arn)
    with aws_error("KmsKeyNotFoundException"):
        cloudtrail.create_trail(
            Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, KmsKeyId=DEMO_KEY_READY
        )


def test_create_trail_refuses_unknown_key(aws: Client) -> None:
    with aws_error("KmsKeyNotFoundException"):
        aws("cloudtrail").create_trail(
            Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, KmsKeyId="alias/does-not-exist"
        )
    with aws_error("InvalidKmsKeyIdException"):
        aws("cloudtrail").create_trail(
            Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, KmsKeyId="not a key"
        )


def test_create_trail_refuses_asymmetric_key(aws: Client) -> None:
    ready_bucket(aws, "acme-east-logs", "audit")
    with aws_error("InvalidKmsKeyIdException", message="RSA_2048"):
        aws("cloudtrail").create_trail(
            Name="audit", S3BucketName="acme-east-logs", KmsKeyId=DEMO_KEY_SIGNING
        )


def test_create_trail_refuses_disabled_and_pending_deletion_keys(aws: Client) -> None:
    ready_bucket(aws, "acme-east-logs", "audit")
    cloudtrail = aws("cloudtrail")
    with aws_error("KmsException", message="Disabled"):
        cloudtrail.create_trail(
            Name="audit", S3BucketName="acme-east-logs", KmsKeyId=DEMO_KEY_RETIRED
        )
    kms = aws("kms")
    key_id = kms.describe_key(KeyId=DEMO_KEY_READY)["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with aws_error("KmsException", message="PendingDeletion"):
        cloudtrail.create_trail(Name="audit", S3BucketName="acme-east-logs", KmsKeyId=key_id)
    kms.cancel_key_deletion(KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    cloudtrail.create_trail(Name="audit", S3BucketName="acme-east-logs", KmsKeyId=key_id)


def test_create_trail_refuses_key_whose_policy_does_not_allow_cloudtrail(aws: Client) -> None:
    arn = _key_arn(aws, DEMO_KEY_APP_EU, "eu-west-1")
    with aws_error(
        "InsufficientEncryptionPolicyException",
        message=f"Insufficient permissions to access S3 bucket {DEMO_CENTRAL_BUCKET} or KMS "
        f"key {arn}.",
    ):
        aws("cloudtrail").create_trail(
            Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, KmsKeyId=DEMO_KEY_APP_EU
        )


def test_create_trail_refuses_key_policy_pinned_to_another_trail(aws: Client) -> None:
    kms = aws("kms", "eu-west-1")
    key_id = kms.describe_key(KeyId=DEMO_KEY_READY_EU)["KeyMetadata"]["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    policy["Statement"][1]["Condition"]["StringEquals"] = {"aws:SourceArn": trail_arn("other")}
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
    with aws_error("InsufficientEncryptionPolicyException"):
        aws("cloudtrail").create_trail(
            Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, KmsKeyId=key_id
        )
    policy["Statement"][1]["Condition"]["StringEquals"] = {"aws:SourceArn": trail_arn("audit")}
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
    aws("cloudtrail").create_trail(Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, KmsKeyId=key_id)


# ---- CloudTrail: SNS -----------------------------------------------------------------


def test_create_trail_refuses_topic_with_default_policy(aws: Client) -> None:
    with aws_error("InsufficientSnsTopicPolicyException"):
        aws("cloudtrail").create_trail(
            Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, SnsTopicName=DEMO_TOPIC
        )
    with aws_error("InsufficientSnsTopicPolicyException"):
        aws("cloudtrail").create_trail(
            Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, SnsTopicName="no-such-topic"
        )


@pytest.mark.parametrize("by_arn", [False, True])
def test_create_trail_accepts_topic_allowing_cloudtrail(aws: Client, by_arn: bool) -> None:
    sns = aws("sns")
    arn = sns.create_topic(Name="acme-trail-topic")["TopicArn"]
    sns.set_topic_attributes(
        TopicArn=arn, AttributeName="Policy", AttributeValue=topic_policy(arn, "audit")
    )
    trail = aws("cloudtrail").create_trail(
        Name="audit",
        S3BucketName=DEMO_CENTRAL_BUCKET,
        SnsTopicName=arn if by_arn else "acme-trail-topic",
    )
    assert trail["SnsTopicARN"] == arn


# ---- CloudTrail: CloudWatch Logs -----------------------------------------------------


def _cw_role(aws: Client, service: str = CLOUDTRAIL) -> str:
    role = aws("iam").create_role(
        RoleName="TrailToLogs", AssumeRolePolicyDocument=trust_policy(service)
    )
    return str(role["Role"]["Arn"])


def test_create_trail_refuses_log_group_without_role(aws: Client) -> None:
    with aws_error("InvalidCloudWatchLogsLogGroupArnException"):
        aws("cloudtrail").create_trail(
            Name="audit",
            S3BucketName=DEMO_CENTRAL_BUCKET,
            CloudWatchLogsLogGroupArn=log_group_arn(DEMO_LOG_GROUP),
        )


def test_create_trail_refuses_bad_or_missing_log_group(aws: Client) -> None:
    role = _cw_role(aws)
    cloudtrail = aws("cloudtrail")
    for group in (log_group_arn(DEMO_LOG_GROUP)[:-2], log_group_arn("no-such-group")):
        with aws_error("InvalidCloudWatchLogsLogGroupArnException"):
            cloudtrail.create_trail(
                Name="audit",
                S3BucketName=DEMO_CENTRAL_BUCKET,
                CloudWatchLogsLogGroupArn=group,
                CloudWatchLogsRoleArn=role,
            )


def test_create_trail_refuses_missing_or_untrusting_role(aws: Client) -> None:
    cloudtrail = aws("cloudtrail")
    with aws_error("InvalidCloudWatchLogsRoleArnException"):
        cloudtrail.create_trail(
            Name="audit",
            S3BucketName=DEMO_CENTRAL_BUCKET,
            CloudWatchLogsLogGroupArn=log_group_arn(DEMO_LOG_GROUP),
            CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCT}:role/NoSuchRole",
        )
    with aws_error("InvalidCloudWatchLogsRoleArnException"):
        cloudtrail.create_trail(
            Name="audit",
            S3BucketName=DEMO_CENTRAL_BUCKET,
            CloudWatchLogsLogGroupArn=log_group_arn(DEMO_LOG_GROUP),
            CloudWatchLogsRoleArn=DEMO_ROLE_ARN,  # trusts ec2, not CloudTrail
        )


def test_create_trail_accepts_log_group_with_trusting_role(aws: Client) -> None:
    role = _cw_role(aws)
    trail = aws("cloudtrail").create_trail(
        Name="audit",
        S3BucketName=DEMO_CENTRAL_BUCKET,
        CloudWatchLogsLogGroupArn=log_group_arn(DEMO_LOG_GROUP),
        CloudWatchLogsRoleArn=role,
    )
    assert trail["CloudWatchLogsRoleArn"] == role


# ---- CloudTrail: multi-region --------------------------------------------------------


def test_multi_region_trail_must_include_global_events_on_create_and_update(
    aws: Client,
) -> None:
    cloudtrail = aws("cloudtrail")
    message = "Multi-Region trail must include global service events."
    with aws_error("InvalidParameterCombinationException", message=message):
        cloudtrail.create_trail(
            Name="audit",
            S3BucketName=DEMO_CENTRAL_BUCKET,
            IsMultiRegionTrail=True,
            IncludeGlobalServiceEvents=False,
        )
    cloudtrail.create_trail(Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET, IsMultiRegionTrail=True)
    with aws_error("InvalidParameterCombinationException", message=message):
        cloudtrail.update_trail(Name="audit", IncludeGlobalServiceEvents=False)
    updated = cloudtrail.update_trail(Name="audit", IsMultiRegionTrail=False)
    assert updated["IsMultiRegionTrail"] is False
    assert (
        cloudtrail.update_trail(Name="audit", IncludeGlobalServiceEvents=False)[
            "IncludeGlobalServiceEvents"
        ]
        is False
    )


# ---- CloudTrail: organization trails -------------------------------------------------


def test_organization_trail_needs_an_organization(aws: Client) -> None:
    with aws_error("OrganizationsNotInUseException"):
        aws("cloudtrail").create_trail(
            Name="org-audit", S3BucketName=DEMO_CENTRAL_BUCKET, IsOrganizationTrail=True
        )


def _organization(aws: Client, *, trusted: bool = True) -> str:
    org = aws("organizations").create_organization(FeatureSet="ALL")["Organization"]
    if trusted:
        aws("organizations").enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
    return str(org["Id"])


def test_organization_trail_refused_for_member_account(
    aws: Client, sandbox: Sandbox, boto_session: boto3.session.Session
) -> None:
    _organization(aws)
    status = aws("organizations").create_account(AccountName="member", Email="m@example.com")
    member = status["CreateAccountStatus"]["AccountId"]
    creds = aws("sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
        RoleSessionName="member-test",
    )["Credentials"]
    factory: Any = boto_session.client
    cloudtrail = factory(
        "cloudtrail",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    with aws_error("NotOrganizationMasterAccountException"):
        cloudtrail.create_trail(
            Name="org-audit", S3BucketName=DEMO_CENTRAL_BUCKET, IsOrganizationTrail=True
        )


def test_organization_trail_needs_trusted_access_and_org_path(aws: Client) -> None:
    org_id = _organization(aws, trusted=False)
    arn = trail_arn("org-audit")
    make_bucket(aws, "acme-org-logs", policy=bucket_policy("acme-org-logs", [arn]))
    cloudtrail = aws("cloudtrail")
    with aws_error("CloudTrailAccessNotEnabledException"):
        cloudtrail.create_trail(
            Name="org-audit", S3BucketName="acme-org-logs", IsOrganizationTrail=True
        )
    aws("organizations").enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
    with aws_error("InsufficientS3BucketPolicyException"):  # no AWSLogs/<org-id>/ statement
        cloudtrail.create_trail(
            Name="org-audit", S3BucketName="acme-org-logs", IsOrganizationTrail=True
        )
    aws("s3").put_bucket_policy(
        Bucket="acme-org-logs", Policy=bucket_policy("acme-org-logs", [arn], org_id=org_id)
    )
    trail = cloudtrail.create_trail(
        Name="org-audit", S3BucketName="acme-org-logs", IsOrganizationTrail=True
    )
    assert trail["IsOrganizationTrail"] is True


# ---- CloudTrail: UpdateTrail validates what it changes -------------------------------


def test_update_trail_validates_bucket_prefix_key_and_name(aws: Client) -> None:
    cloudtrail = aws("cloudtrail")
    cloudtrail.create_trail(Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET)
    with aws_error("S3BucketDoesNotExistException"):
        cloudtrail.update_trail(Name="audit", S3BucketName="acme-not-there")
    with aws_error("InsufficientS3BucketPolicyException"):
        cloudtrail.update_trail(Name="audit", S3BucketName=DEMO_APP_BUCKET)
    with aws_error("InvalidS3PrefixException"):
        cloudtrail.update_trail(Name="audit", S3KeyPrefix="AWSLogs/x")
    with aws_error("InsufficientS3BucketPolicyException"):  # the policy has no prefix path
        cloudtrail.update_trail(Name="audit", S3KeyPrefix="logs")
    with aws_error("KmsKeyNotFoundException"):
        cloudtrail.update_trail(Name="audit", KmsKeyId=DEMO_KEY_READY)
    with aws_error("InsufficientSnsTopicPolicyException"):
        cloudtrail.update_trail(Name="audit", SnsTopicName=DEMO_TOPIC)
    with aws_error("TrailNotFoundException"):
        cloudtrail.update_trail(Name="no-such-trail", S3BucketName=DEMO_CENTRAL_BUCKET)
    trail = cloudtrail.get_trail(Name="audit")["Trail"]
    assert trail["S3BucketName"] == DEMO_CENTRAL_BUCKET
    assert not trail.get("KmsKeyId")


def test_update_trail_accepts_valid_changes(aws: Client) -> None:
    cloudtrail = aws("cloudtrail")
    cloudtrail.create_trail(Name="audit", S3BucketName=DEMO_CENTRAL_BUCKET)
    ready_bucket(aws, "acme-east-logs", "audit", prefix="ct")
    updated = cloudtrail.update_trail(Name="audit", S3BucketName="acme-east-logs", S3KeyPrefix="ct")
    assert (updated["S3BucketName"], updated["S3KeyPrefix"]) == ("acme-east-logs", "ct")
    updated = cloudtrail.update_trail(
        Name=trail_arn("audit"),
        S3BucketName=DEMO_CENTRAL_BUCKET,
        S3KeyPrefix="",
        KmsKeyId=DEMO_KEY_READY_EU,
    )
    assert updated["KmsKeyId"] == DEMO_KEY_READY_EU


# ---- CloudTrail: unknown trails, home region, event selectors -------------------------


def test_unknown_trail_is_trail_not_found(aws: Client) -> None:
    cloudtrail = aws("cloudtrail")
    calls: list[Callable[[], Any]] = [
        lambda: cloudtrail.start_logging(Name="ghost-trail"),
        lambda: cloudtrail.stop_logging(Name="ghost-trail"),
        lambda: cloudtrail.get_trail_status(Name="ghost-trail"),
        lambda: cloudtrail.put_event_selectors(
            TrailName="ghost-trail", EventSelectors=[{"ReadWriteType": "All"}]
        ),
        lambda: cloudtrail.delete_trail(Name="ghost-trail"),
    ]
    for call in calls:
        with aws_error("TrailNotFoundException"):
            call()
    # A single-region trail of another region is invisible by name.
    with aws_error("TrailNotFoundException"):
        cloudtrail.start_logging(Name=DEMO_TRAIL)


def test_changes_outside_the_home_region_are_refused(aws: Client) -> None:
    arn = trail_arn(DEMO_TRAIL, DEMO_TRAIL_REGION)
    away = aws("cloudtrail", "us-east-1")
    calls: list[Callable[[], Any]] = [
        lambda: away.start_logging(Name=arn),
        lambda: away.stop_logging(Name=arn),
        lambda: away.update_trail(Name=arn, EnableLogFileValidation=True),
        lambda: away.put_event_selectors(TrailName=arn, EventSelectors=[{"ReadWriteType": "All"}]),
        lambda: away.put_insight_selectors(
            TrailName=arn, InsightSelectors=[{"InsightType": "ApiCallRateInsight"}]
        ),
        lambda: away.delete_trail(Name=arn),
    ]
    for call in calls:
        with aws_error("InvalidHomeRegionException"):
            call()
    home = aws("cloudtrail", DEMO_TRAIL_REGION)
    home.stop_logging(Name=arn)
    assert home.get_trail_status(Name=DEMO_TRAIL)["IsLogging"] is False
    home.put_event_selectors(TrailName=arn, EventSelectors=[{"ReadWriteType": "WriteOnly"}])
    home.delete_trail(Name=arn)
    assert home.describe_trails()["trailList"] == []


def test_multi_region_trail_is_changed_only_in_its_home_region(aws: Client) -> None:
    aws("cloudtrail").create_trail(
        Name="everywhere", S3BucketName=DEMO_CENTRAL_BUCKET, IsMultiRegionTrail=True
    )
    with aws_error("InvalidHomeRegionException"):
        aws("cloudtrail", "eu-west-1").start_logging(Name="everywhere")
    aws("cloudtrail").start_logging(Name="everywhere")
    # Status can be read from any region, as in AWS.
    assert aws("cloudtrail", "eu-west-1").get_trail_status(Name="everywhere")["IsLogging"]


def test_put_event_selectors_refuses_both_kinds(aws: Client) -> None:
    home = aws("cloudtrail", DEMO_TRAIL_REGION)
    advanced = [
        {
            "Name": "management",
            "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
        }
    ]
    with aws_error("InvalidParameterCombinationException"):
        home.put_event_selectors(
            TrailName=DEMO_TRAIL,
            EventSelectors=[{"ReadWriteType": "All"}],
            AdvancedEventSelectors=advanced,
        )
    result = home.put_event_selectors(TrailName=DEMO_TRAIL, AdvancedEventSelectors=advanced)
    assert result["AdvancedEventSelectors"] == advanced


# ---- S3 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "My_Bucket",
        "bad..name",
        "192.168.5.4",
        "xn--abc",
        "sthree-abc",
        "abc-s3alias",
        "abc--ol-s3",
        "-abc",
        "abc-",
        "a.-b",
    ],
)
def test_create_bucket_refuses_invalid_names(aws: Client, name: str) -> None:
    with aws_error("InvalidBucketName", message="The specified bucket is not valid."):
        aws("s3").create_bucket(Bucket=name)


def test_create_bucket_accepts_valid_name(aws: Client) -> None:
    make_bucket(aws, "acme.logs-2024", "eu-west-1")
    assert aws("s3").head_bucket(Bucket="acme.logs-2024")["BucketRegion"] == "eu-west-1"


@pytest.mark.parametrize(
    ("policy", "why"),
    [
        ("not json", "first byte must be '{'"),
        ("[]", "first byte must be '{'"),
        ('{"Version": "2012-10-17"}', "Statement"),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",'
            ' "Resource": "arn:aws:s3:::acme-policy-test/*"}]}',
            "Principal",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",'
            ' "Resource": "arn:aws:s3:::someone-elses-bucket/*"}]}',
            "invalid resource",
        ),
    ],
)
def test_put_bucket_policy_refuses_malformed_policy(aws: Client, policy: str, why: str) -> None:
    make_bucket(aws, "acme-policy-test")
    with aws_error("MalformedPolicy", message=why):
        aws("s3").put_bucket_policy(Bucket="acme-policy-test", Policy=policy)
    with aws_error("NoSuchBucketPolicy"):
        aws("s3").get_bucket_policy(Bucket="acme-policy-test")


def test_put_bucket_policy_accepts_valid_policy(aws: Client) -> None:
    policy = bucket_policy("acme-policy-test", [trail_arn("audit")])
    make_bucket(aws, "acme-policy-test", policy=policy)
    assert aws("s3").get_bucket_policy(Bucket="acme-policy-test")["Policy"] == policy


def _object_policy(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_tls_only_deny_does_not_block_reads_as_aws_reaches_over_https(aws: Client) -> None:
    # moto ignores conditions, so the Deny for aws:SecureTransport=false that every new
    # bucket of the wizard carries would refuse every object read over the sandbox's HTTP.
    s3 = aws("s3")
    make_bucket(aws, "acme-tls-only")
    deny_insecure = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::acme-tls-only", "arn:aws:s3:::acme-tls-only/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(Bucket="acme-tls-only", Policy=_object_policy(deny_insecure))
    s3.put_object(Bucket="acme-tls-only", Key="a.txt", Body=b"hello")
    assert s3.get_object(Bucket="acme-tls-only", Key="a.txt")["Body"].read() == b"hello"


def test_unconditional_deny_still_blocks_object_reads(aws: Client) -> None:
    s3 = aws("s3")
    make_bucket(aws, "acme-deny-reads")
    s3.put_object(Bucket="acme-deny-reads", Key="a.txt", Body=b"hello")
    deny = {
        "Sid": "DenyReads",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::acme-deny-reads/*",
    }
    s3.put_bucket_policy(Bucket="acme-deny-reads", Policy=_object_policy(deny))
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="acme-deny-reads", Key="a.txt")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


# ---- KMS -----------------------------------------------------------------------------


def test_key_policies_must_be_valid_json(aws: Client) -> None:
    kms = aws("kms")
    with aws_error("MalformedPolicyDocumentException"):
        kms.create_key(Policy="garbage")
    key_id = kms.describe_key(KeyId=DEMO_KEY_READY)["KeyMetadata"]["KeyId"]
    with aws_error("MalformedPolicyDocumentException"):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy="garbage")
    with aws_error("MalformedPolicyDocumentException"):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy='{"Statement": []}')
    assert CLOUDTRAIL in kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]


def test_key_policies_accept_valid_json(aws: Client) -> None:
    kms = aws("kms")
    ready = kms.describe_key(KeyId=DEMO_KEY_READY)["KeyMetadata"]["KeyId"]
    policy = kms.get_key_policy(KeyId=ready, PolicyName="default")["Policy"]
    new_key = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=new_key, PolicyName="default", Policy=policy)
    assert kms.get_key_policy(KeyId=new_key, PolicyName="default")["Policy"] == policy


def test_create_alias_refuses_reserved_prefix(aws: Client) -> None:
    kms = aws("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with aws_error("InvalidAliasNameException"):
        kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=key_id)
    kms.create_alias(AliasName="alias/acme-cloudtrail", TargetKeyId=key_id)
    assert kms.describe_key(KeyId="alias/acme-cloudtrail")["KeyMetadata"]["KeyId"] == key_id


# ---- SNS and IAM ---------------------------------------------------------------------


def test_topic_policy_must_be_valid_json(aws: Client) -> None:
    sns = aws("sns")
    arn = f"arn:aws:sns:us-east-1:{ACCT}:{DEMO_TOPIC}"
    with pytest.raises(ClientError) as caught:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue="garbage")
    assert caught.value.response["Error"]["Code"] == "InvalidParameter"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with aws_error("InvalidParameter"):
        sns.create_topic(Name="acme-bad-policy", Attributes={"Policy": "garbage"})


def test_topic_policy_accepts_valid_json(aws: Client) -> None:
    sns = aws("sns")
    arn = f"arn:aws:sns:us-east-1:{ACCT}:{DEMO_TOPIC}"
    policy = topic_policy(arn, "audit")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy)
    stored = sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"]
    assert json.loads(stored) == json.loads(policy)


def test_create_role_refuses_invalid_trust_policy(aws: Client) -> None:
    with aws_error("MalformedPolicyDocument"):
        aws("iam").create_role(RoleName="Broken", AssumeRolePolicyDocument="garbage")
    with aws_error("NoSuchEntity"):
        aws("iam").get_role(RoleName="Broken")


def test_create_role_accepts_valid_trust_policy(aws: Client) -> None:
    arn = _cw_role(aws)
    assert arn == f"arn:aws:iam::{ACCT}:role/TrailToLogs"


# ---- what other clients see ----------------------------------------------------------


def test_aws_cli_sees_the_strict_error(sandbox: Sandbox, aws_cli: Path) -> None:
    result = subprocess.run(
        [
            str(aws_cli),
            "cloudtrail",
            "create-trail",
            "--name",
            "cli-trail",
            "--s3-bucket-name",
            DEMO_APP_BUCKET,
            "--endpoint-url",
            sandbox.endpoint_url,
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "InsufficientS3BucketPolicyException" in result.stderr, result.stderr


def test_raw_json_request_sees_the_strict_error(sandbox: Sandbox) -> None:
    # What any non-boto client sends: AWS JSON 1.1 with an (unverified) SigV4 header.
    body = json.dumps({"Name": "raw-trail", "S3BucketName": DEMO_APP_BUCKET}).encode()
    request = urllib.request.Request(
        sandbox.endpoint_url + "/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail",
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/cloudtrail/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=0"
            ),
            "X-Amz-Date": "20240101T000000Z",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 400
    answer = json.loads(caught.value.read())
    assert answer["__type"] == "InsufficientS3BucketPolicyException"
    assert DEMO_APP_BUCKET in answer["message"]


# ---- server lifecycle ----------------------------------------------------------------


def _non_loopback_address() -> str | None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # UDP: picks a route, sends nothing
        address = str(probe.getsockname()[0])
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def test_sandbox_binds_to_loopback_only() -> None:
    with start_sandbox(seed=False) as sandbox:
        assert sandbox.host == "127.0.0.1"
        assert sandbox.endpoint_url == f"http://127.0.0.1:{sandbox.port}"
        with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5):
            pass
        other = _non_loopback_address()
        if other is not None:
            with pytest.raises(OSError):
                socket.create_connection((other, sandbox.port), timeout=5).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sandbox.port), timeout=5).close()
    assert not sandbox.running
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            start_sandbox(seed=False, host=host)


def test_python_m_sandbox_prints_a_loopback_endpoint() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "wizard.sandbox.server", "--no-seed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        endpoint = process.stdout.readline().strip()  # blocks until the server is up
        assert endpoint.startswith("http://127.0.0.1:"), endpoint
        with urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=30) as reply:
            assert reply.status == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_strict_patches_are_installed_once(sandbox: Sandbox) -> None:
    from moto.cloudtrail.models import CloudTrailBackend

    wrapper = CloudTrailBackend.create_trail
    install_strict_patches()
    assert CloudTrailBackend.create_trail is wrapper
    assert sandbox_module.strict_patches_installed()
    assert wrapper.__wrapped__ is not wrapper  # type: ignore[attr-defined]
