"""CreateLogGroup with a KMS key, as CloudWatch Logs answers it (moto stores any kmsKeyId).

AWS creates an encrypted log group only with an enabled symmetric key of the group's region,
named by its ARN, whose policy lets ``logs.<region>.amazonaws.com`` use it for that group
(the encryption context ``aws:logs:arn``). Otherwise it refuses, and no group is made. The
sandbox must refuse too, or an apply whose key policy lacks the statement would pass here
and fail on AWS.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.wizard.sandbox.conftest import Client, aws_error
from wizard.policy.policies import key_logs_statement
from wizard.sandbox.server import DEMO_ACCOUNT

pytestmark = pytest.mark.aws

GROUP = "encrypted-group"
GROUP_ARN = f"arn:aws:logs:us-east-1:{DEMO_ACCOUNT}:log-group:{GROUP}"
REFUSED = (
    f"The specified KMS key does not exist or is not allowed to be used with Arn '{GROUP_ARN}'"
)
ROOT: dict[str, Any] = {
    "Sid": "EnableRootPermissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def key(aws: Client, *statements: dict[str, Any], region: str = "us-east-1") -> str:
    """A new key with the root statement and ``statements``; its ARN."""
    policy = {"Version": "2012-10-17", "Statement": [ROOT, *statements]}
    made = aws("kms", region).create_key(Policy=json.dumps(policy))
    return str(made["KeyMetadata"]["Arn"])


def groups(aws: Client) -> list[dict[str, Any]]:
    found = aws("logs").describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    return [g for g in found if g["logGroupName"] == GROUP]


def test_a_key_whose_policy_lets_cloudwatch_logs_use_it_encrypts_the_group(aws: Client) -> None:
    arn = key(aws, key_logs_statement("logs.us-east-1.amazonaws.com", GROUP_ARN))

    aws("logs").create_log_group(logGroupName=GROUP, kmsKeyId=arn)

    assert [g["kmsKeyId"] for g in groups(aws)] == [arn]


@pytest.mark.parametrize(
    "statements",
    [
        pytest.param([], id="no statement for CloudWatch Logs"),
        pytest.param(
            [key_logs_statement("logs.us-east-1.amazonaws.com", GROUP_ARN + "-other")],
            id="the statement names another group",
        ),
        pytest.param(
            [key_logs_statement("logs.eu-west-1.amazonaws.com", GROUP_ARN)],
            id="the statement names another region's CloudWatch Logs",
        ),
    ],
)
def test_a_key_cloudwatch_logs_may_not_use_is_refused(
    aws: Client, statements: list[dict[str, Any]]
) -> None:
    arn = key(aws, *statements)

    with aws_error("AccessDeniedException", message=REFUSED):
        aws("logs").create_log_group(logGroupName=GROUP, kmsKeyId=arn)
    assert groups(aws) == []


def test_a_key_of_another_region_is_refused(aws: Client) -> None:
    arn = key(
        aws, key_logs_statement("logs.us-east-1.amazonaws.com", GROUP_ARN), region="eu-west-1"
    )

    with aws_error("AccessDeniedException", message=REFUSED):
        aws("logs").create_log_group(logGroupName=GROUP, kmsKeyId=arn)
    assert groups(aws) == []


def test_a_key_id_instead_of_its_arn_is_refused(aws: Client) -> None:
    arn = key(aws, key_logs_statement("logs.us-east-1.amazonaws.com", GROUP_ARN))

    with aws_error("InvalidParameterException", message="is not the ARN of a KMS key"):
        aws("logs").create_log_group(logGroupName=GROUP, kmsKeyId=arn.rsplit("/", 1)[1])
    assert groups(aws) == []


def test_a_disabled_key_is_refused(aws: Client) -> None:
    arn = key(aws, key_logs_statement("logs.us-east-1.amazonaws.com", GROUP_ARN))
    aws("kms").disable_key(KeyId=arn.rsplit("/", 1)[1])  # moto answers 500 for an ARN here

    with aws_error("InvalidParameterException", message="needs an enabled symmetric"):
        aws("logs").create_log_group(logGroupName=GROUP, kmsKeyId=arn)
    assert groups(aws) == []


def test_a_group_without_a_key_is_created_as_before(aws: Client) -> None:
    aws("logs").create_log_group(logGroupName=GROUP)

    assert [g.get("kmsKeyId") for g in groups(aws)] == [None]
