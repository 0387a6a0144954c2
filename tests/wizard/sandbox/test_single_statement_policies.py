"""A policy whose ``Statement`` is one object, not a list, is valid policy grammar.

KMS accepts such a key policy, so the sandbox must too: moto's DescribeKey answered HTTP 500
for it, and the plan then called the key missing (``kms-key-not-found``). Every reader of the
wizard must take the object form as a one-statement list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_fixtures import engine_on
from tests.wizard.sandbox.conftest import Client
from wizard.aws.session import SessionSettings, open_session
from wizard.model.answers import Answers
from wizard.plan.limits import topic_statement_count
from wizard.policy.access import Principal, Request, evaluate
from wizard.policy.merge import merge, parse_policy
from wizard.sandbox.server import DEMO_ACCOUNT, Sandbox

pytestmark = pytest.mark.aws

ROOT_STATEMENT: dict[str, Any] = {
    "Sid": "EnableRootPermissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
SINGLE = json.dumps({"Version": "2012-10-17", "Statement": ROOT_STATEMENT})
ALIAS = "alias/single-statement"


def single_statement_key(aws: Client) -> str:
    kms = aws("kms")
    key_id = str(kms.create_key(Policy=SINGLE)["KeyMetadata"]["KeyId"])
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
    return key_id


def test_describe_key_answers_for_a_single_statement_key_policy(aws: Client) -> None:
    key_id = single_statement_key(aws)
    kms = aws("kms")

    described = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]

    assert described["KeyId"] == key_id
    assert described["KeyState"] == "Enabled"
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == (
        json.loads(SINGLE)
    )


def test_an_explicit_deny_in_a_single_statement_still_refuses_describe_key(aws: Client) -> None:
    kms = aws("kms")
    deny = {**ROOT_STATEMENT, "Sid": "NoDescribe", "Effect": "Deny", "Action": "kms:DescribeKey"}
    key_id = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": deny}))[
        "KeyMetadata"
    ]["KeyId"]

    with pytest.raises(kms.exceptions.ClientError) as refused:
        kms.describe_key(KeyId=key_id)

    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_the_wizard_plans_and_applies_with_a_single_statement_key(
    sandbox: Sandbox, aws: Client, tmp_path: Path
) -> None:
    key_id = single_statement_key(aws)
    session = open_session(SessionSettings(sandbox_endpoint=sandbox.endpoint_url), verify=False)
    engine = engine_on(session)
    answers = Answers.model_validate(
        {
            "trail": {"name": "single-statement-trail"},
            "bucket": {"name": f"single-statement-logs-{DEMO_ACCOUNT}"},
            "encryption": {"type": "sse-kms", "key": ALIAS},
        }
    )

    plan, found = engine.plan(answers)

    codes = {f.code for f in plan.findings}
    assert "kms-key-not-found" not in codes, [f.message for f in plan.findings]
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    assert "update-key-policy" in [s.id for s in plan.steps]
    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message
    after = json.loads(aws("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    # The owner's statement is kept first, the CloudTrail statements follow it.
    assert isinstance(after["Statement"], list)
    assert after["Statement"][0] == ROOT_STATEMENT
    assert any(
        s.get("Principal") == {"Service": "cloudtrail.amazonaws.com"} for s in after["Statement"]
    )
    trail = aws("cloudtrail").get_trail(Name="single-statement-trail")["Trail"]
    assert trail["KmsKeyId"].endswith(key_id)


def test_every_policy_reader_takes_a_single_statement_object() -> None:
    root = Request(
        principal=Principal(kind="aws", id=f"arn:aws:iam::{DEMO_ACCOUNT}:root"),
        action="kms:Decrypt",
        resource="*",
        context={},
    )
    assert evaluate(SINGLE, root).allowed
    assert parse_policy(SINGLE)["Statement"] == ROOT_STATEMENT
    # The existing single statement is found already present, so nothing is added twice.
    assert merge(SINGLE, {"Statement": [ROOT_STATEMENT]}).text == SINGLE
    assert topic_statement_count(SINGLE) == 1
    added = {**ROOT_STATEMENT, "Sid": "Another", "Action": "kms:DescribeKey"}
    merged = merge(SINGLE, {"Statement": [added]})
    assert json.loads(merged.text)["Statement"] == [ROOT_STATEMENT, added]
