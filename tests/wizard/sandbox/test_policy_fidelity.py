"""The sandbox judges the policies the wizard writes as AWS documents them (issue 14).

* CloudTrail assumes the CloudWatch Logs delivery role without ``aws:SourceArn`` or
  ``aws:SourceAccount`` (AWS documents the role's trust policy without a condition), so a
  trust policy that requires them is refused at CreateTrail.

Plain boto3 over HTTP with dummy credentials, as any client would see it.
"""

from __future__ import annotations

import json

import pytest

from tests.wizard.sandbox.conftest import Client, aws_error
from wizard.sandbox.server import DEMO_ACCOUNT, DEMO_CENTRAL_BUCKET, DEMO_LOG_GROUP

pytestmark = pytest.mark.aws

ACCT = DEMO_ACCOUNT
CLOUDTRAIL = "cloudtrail.amazonaws.com"
GROUP_ARN = f"arn:aws:logs:us-east-1:{ACCT}:log-group:{DEMO_LOG_GROUP}:*"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/audit"


def _role(aws: Client, name: str, condition: dict[str, object] | None) -> str:
    statement: dict[str, object] = {
        "Effect": "Allow",
        "Principal": {"Service": CLOUDTRAIL},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    role = aws("iam").create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    return str(role["Role"]["Arn"])


def _trail(aws: Client, role_arn: str) -> dict[str, object]:
    created: dict[str, object] = aws("cloudtrail").create_trail(
        Name="audit",
        S3BucketName=DEMO_CENTRAL_BUCKET,
        CloudWatchLogsLogGroupArn=GROUP_ARN,
        CloudWatchLogsRoleArn=role_arn,
    )
    return created


def test_a_trust_policy_conditioned_on_the_source_is_refused(aws: Client) -> None:
    for name, key, value in (
        ("SourceArnOnly", "aws:SourceArn", TRAIL_ARN),
        ("SourceAccountOnly", "aws:SourceAccount", ACCT),
    ):
        role_arn = _role(aws, name, {"StringEquals": {key: value}})
        with aws_error("InvalidCloudWatchLogsRoleArnException", message="trust policy"):
            _trail(aws, role_arn)
    assert aws("cloudtrail").describe_trails(trailNameList=["audit"])["trailList"] == []


def test_the_trust_policy_aws_documents_is_accepted(aws: Client) -> None:
    role_arn = _role(aws, "Documented", None)

    created = _trail(aws, role_arn)

    assert created["CloudWatchLogsRoleArn"] == role_arn
