"""The sandbox judges the policies the wizard writes as AWS documents them (issue 14).

* CloudTrail assumes the CloudWatch Logs delivery role without ``aws:SourceArn`` or
  ``aws:SourceAccount`` (AWS documents the role's trust policy without a condition), so a
  trust policy that requires them is refused at CreateTrail.
* KMS refuses a key policy that names a user or role of the key's account that does not
  exist, on CreateKey and on PutKeyPolicy, with KMS's error and message.

Plain boto3 over HTTP with dummy credentials, as any client would see it.
"""

from __future__ import annotations

import json

import pytest

from tests.wizard.sandbox.conftest import Client, aws_error
from wizard.sandbox.server import (
    DEMO_ACCOUNT,
    DEMO_AUDITOR_ROLE_ARN,
    DEMO_CENTRAL_BUCKET,
    DEMO_LOG_GROUP,
)

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


# ---- KMS: principals of a key policy must exist ------------------------------------------

INVALID = "Policy contains a statement with one or more invalid principals."


def key_policy(*readers: str) -> str:
    statements: list[dict[str, object]] = [
        {
            "Sid": "EnableIAMUserPermissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if readers:
        statements.append(
            {
                "Sid": "Readers",
                "Effect": "Allow",
                "Principal": {"AWS": list(readers)},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_create_key_refuses_a_role_or_user_that_does_not_exist(aws: Client) -> None:
    kms = aws("kms")
    keys_before = kms.list_keys()["Keys"]
    for missing in (f"arn:aws:iam::{ACCT}:role/DoesNotExist", f"arn:aws:iam::{ACCT}:user/nobody"):
        with aws_error("MalformedPolicyDocumentException", message=INVALID):
            kms.create_key(Policy=key_policy(DEMO_AUDITOR_ROLE_ARN, missing))
    assert kms.list_keys()["Keys"] == keys_before


def test_put_key_policy_refuses_a_role_that_does_not_exist(aws: Client) -> None:
    kms = aws("kms")
    key_id = kms.create_key(Policy=key_policy())["KeyMetadata"]["KeyId"]
    with aws_error("MalformedPolicyDocumentException", message=INVALID):
        kms.put_key_policy(
            KeyId=key_id,
            PolicyName="default",
            Policy=key_policy(f"arn:aws:iam::{ACCT}:role/DoesNotExist"),
        )
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == key_policy()


def test_existing_principals_roots_and_other_accounts_are_accepted(aws: Client) -> None:
    kms = aws("kms")
    user = aws("iam").create_user(UserName="log-reader")["User"]["Arn"]
    readers = (DEMO_AUDITOR_ROLE_ARN, user, "arn:aws:iam::111122223333:root", "111122223333")
    key_id = kms.create_key(Policy=key_policy(*readers))["KeyMetadata"]["KeyId"]
    # Another account's roles cannot be looked up from this one: left to that account.
    other = key_policy("arn:aws:iam::111122223333:role/LogReader")
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=other)
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == other
