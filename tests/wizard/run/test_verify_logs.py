"""Verification after apply covers CloudWatch Logs and the SNS topic, not only S3 and KMS.

The cloudwatch-and-sns example is applied on the sandbox; then the account is changed behind
the wizard's back, with plain boto3, the way a colleague or a drifted setup would, and
verification must say which check fails and why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_fixtures import ACCOUNT, REGION
from wizard.engine import Engine, Outcome, log_group_key
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.run.verify import Verification, verify

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "cloudwatch-and-sns.yaml"
GROUP = "aws-cloudtrail-logs-acme"
TRAIL = "acme-monitored"


def check(verification: Verification, name: str) -> Any:
    (found,) = [c for c in verification.checks if c.name == name]
    return found


@pytest.fixture
def applied(engine: Engine, tmp_path: Path) -> tuple[Answers, Outcome, str | None]:
    answers = load_answers(EXAMPLE)
    plan, found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message
    return answers, outcome, log_group_key(plan, outcome.report.outputs)


def again(engine: Engine, answers: Answers, group_key: str | None) -> Verification:
    return verify(
        answers,
        engine.context_for(answers, None),
        engine.caller,
        bucket_region=REGION,
        expected_group_key=group_key,
    )


def test_a_fresh_apply_verifies_the_log_group_its_key_the_role_and_the_topic(
    applied: tuple[Answers, Outcome, str | None], aws: Any
) -> None:
    _answers, outcome, group_key = applied
    assert outcome.verification is not None and outcome.verification.ok, outcome.verification
    names = [c.name for c in outcome.verification.checks]
    for expected in (
        "log group exists",
        "log group encrypted with the trail's key",
        "delivery role trusts CloudTrail",
        "no CloudWatch Logs delivery error",
        "no notification error",
    ):
        assert expected in names
    # The key the plan created the group with is the trail's, as AWS reports both.
    trail = aws("cloudtrail").get_trail(Name=TRAIL)["Trail"]
    assert group_key is not None and group_key == trail["KmsKeyId"]
    (group,) = aws("logs").describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    assert group["kmsKeyId"] == group_key
    assert check(outcome.verification, "log group encrypted with the trail's key").detail == (
        f"kmsKeyId {group_key}"
    )
    settings = check(outcome.verification, "trail settings match the plan")
    assert "topic, log group and role as planned" in settings.detail


def test_a_group_made_again_without_the_key_fails_its_check(
    applied: tuple[Answers, Outcome, str | None], engine: Engine, aws: Any
) -> None:
    answers, _outcome, group_key = applied
    # A colleague deletes the group and makes it again, unencrypted (the sandbox, like
    # moto, has no DisassociateKmsKey).
    aws("logs").delete_log_group(logGroupName=GROUP)
    aws("logs").create_log_group(logGroupName=GROUP)

    result = again(engine, answers, group_key)

    failed = check(result, "log group encrypted with the trail's key")
    assert not failed.ok and "no kmsKeyId" in failed.detail
    assert not result.ok
    assert check(result, "log group exists").ok


def test_a_trail_sent_elsewhere_and_a_role_that_no_longer_trusts_cloudtrail_fail(
    applied: tuple[Answers, Outcome, str | None], engine: Engine, aws: Any
) -> None:
    answers, _outcome, group_key = applied
    logs = aws("logs")
    logs.create_log_group(logGroupName="somewhere-else")
    other = logs.describe_log_groups(logGroupNamePrefix="somewhere-else")["logGroups"][0]["arn"]
    trail = aws("cloudtrail").get_trail(Name=TRAIL)["Trail"]
    aws("cloudtrail").update_trail(
        Name=TRAIL,
        CloudWatchLogsLogGroupArn=other,
        CloudWatchLogsRoleArn=trail["CloudWatchLogsRoleArn"],
    )
    role = trail["CloudWatchLogsRoleArn"].rsplit("/", 1)[-1]
    ec2_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    aws("iam").update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(ec2_only))

    result = again(engine, answers, group_key)

    settings = check(result, "trail settings match the plan")
    assert not settings.ok
    assert f"CloudWatchLogsLogGroupArn: expected 'arn:aws:logs:{REGION}:{ACCOUNT}" in (
        settings.detail
    )
    trust = check(result, "delivery role trusts CloudTrail")
    assert not trust.ok and "sts:AssumeRole" in trust.detail
    # The group itself is untouched: its checks still pass.
    assert check(result, "log group exists").ok
    assert check(result, "log group encrypted with the trail's key").ok


def test_a_deleted_group_fails_and_nothing_is_claimed_about_its_key(
    applied: tuple[Answers, Outcome, str | None], engine: Engine, aws: Any
) -> None:
    answers, _outcome, group_key = applied
    aws("logs").delete_log_group(logGroupName=GROUP)

    result = again(engine, answers, group_key)

    missing = check(result, "log group exists")
    assert not missing.ok and missing.detail == f"no log group {GROUP}"
    assert "log group encrypted with the trail's key" not in [c.name for c in result.checks]


def test_without_a_key_of_the_runs_the_group_s_encryption_is_not_judged(
    applied: tuple[Answers, Outcome, str | None], engine: Engine
) -> None:
    answers, _outcome, _group_key = applied

    result = again(engine, answers, None)

    assert result.ok, result
    assert "log group encrypted with the trail's key" not in [c.name for c in result.checks]
