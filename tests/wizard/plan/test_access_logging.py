"""Server access logging of the log bucket (bucket.access_logs), end to end on the sandbox.

Plan -> apply -> verify through the wizard's engine, with the account set up and read back
with plain boto3; failures are injected at single steps to check that the access log bucket,
its policy and the log bucket's logging setting are undone exactly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.callers import FailOn
from tests.sandbox_fixtures import ACCOUNT, REGION
from wizard.engine import Engine
from wizard.health.trails import check_health
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.plan import Call, Step

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "access-logging.yaml"
LOG_BUCKET = f"acme-audit-logs-{ACCOUNT}"
TARGET = f"acme-audit-logs-{ACCOUNT}-access-logs"
EXISTING_LOG_BUCKET = f"existing-trail-logs-{ACCOUNT}"
EXISTING_TARGET = f"existing-access-logs-{ACCOUNT}"
# Hand-written on purpose (odd spacing, key order): a rollback must restore it byte for byte.
TARGET_POLICY = (
    '{"Version":"2012-10-17",  "Statement":[ {"Sid":"KeepMe","Effect":"Deny",'
    '"Principal":"*","Action":"s3:DeleteBucket",'
    f'"Resource":"arn:aws:s3:::{EXISTING_TARGET}"}},\n'
    '  {"Sid":"OldLogs","Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},'
    f'"Action":"s3:PutObject","Resource":"arn:aws:s3:::{EXISTING_TARGET}/old/*"}}]}}'
)
PREVIOUS_LOGGING = {"TargetBucket": EXISTING_TARGET, "TargetPrefix": "old/"}


def bucket_names(aws: Any) -> set[str]:
    return {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}


def logging_of(aws: Any, bucket: str) -> dict[str, Any] | None:
    enabled = aws("s3").get_bucket_logging(Bucket=bucket).get("LoggingEnabled")
    return dict(enabled) if enabled else None


def existing_setup(aws: Any, *, target_policy: str | None = TARGET_POLICY) -> Answers:
    """An existing log bucket already logging to an existing target (prefix old/)."""
    s3 = aws("s3")
    for bucket in (EXISTING_LOG_BUCKET, EXISTING_TARGET):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=EXISTING_TARGET, Policy=TARGET_POLICY)
    s3.put_bucket_logging(
        Bucket=EXISTING_LOG_BUCKET, BucketLoggingStatus={"LoggingEnabled": PREVIOUS_LOGGING}
    )
    if target_policy is None:
        s3.delete_bucket_policy(Bucket=EXISTING_TARGET)
    return Answers.model_validate(
        {
            "trail": {"name": "acme-audit", "region": REGION},
            "bucket": {
                "name": EXISTING_LOG_BUCKET,
                "create": False,
                "access_logs": {
                    "bucket": EXISTING_TARGET,
                    "prefix": "trail-logs/",
                    "create": False,
                },
            },
            "encryption": {"type": "sse-s3"},
        }
    )


# --------------------------------------------------------------------------- applying


def test_a_new_access_log_bucket_is_created_hardened_and_receives_the_logs(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    answers = load_answers(EXAMPLE)
    plan, found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "applied", outcome.report.message
    assert outcome.verification is not None and outcome.verification.ok
    checks = {c.name: c for c in outcome.verification.checks}
    assert checks["server access logging of the log bucket"].ok
    s3 = aws("s3")
    assert logging_of(aws, LOG_BUCKET) == {
        "TargetBucket": TARGET,
        "TargetPrefix": "cloudtrail-bucket/",
    }
    assert set(
        s3.get_public_access_block(Bucket=TARGET)["PublicAccessBlockConfiguration"].values()
    ) == {True}
    rule = s3.get_bucket_encryption(Bucket=TARGET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=TARGET)["Status"] == "Enabled"
    policy = json.loads(s3.get_bucket_policy(Bucket=TARGET)["Policy"])
    (grant,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert grant["Resource"] == f"arn:aws:s3:::{TARGET}/cloudtrail-bucket/*"
    assert grant["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{LOG_BUCKET}"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )
    # `status` right after the apply: the log bucket passes CloudTrail.7 (CIS 4.4).
    (health,) = check_health(engine.caller, REGION, trail="acme-audit").trails
    assert health.control("CloudTrail.7").status == "pass"


@pytest.mark.parametrize(
    ("operation", "bucket"),
    [
        ("CreateBucket", TARGET),
        ("PutBucketPolicy", TARGET),
        ("PutBucketLogging", LOG_BUCKET),
        ("StartLogging", None),
    ],
)
def test_a_failure_removes_the_new_access_log_bucket_and_the_logging_setting(
    operation: str, bucket: str | None, engine: Engine, aws: Any, tmp_path: Path
) -> None:
    answers = load_answers(EXAMPLE)
    plan, found = engine.plan(answers)
    before = bucket_names(aws)
    failing = FailOn(
        engine.caller,
        operation,
        when=lambda params: bucket is None or params.get("Bucket") == bucket,
    )

    outcome = Engine(failing, engine.ctx).apply(
        answers, plan, found=found, journal_path=tmp_path / "journal.json"
    )

    assert failing.failures == 1
    assert outcome.report.status == "rolled-back", outcome.report.message
    assert bucket_names(aws) == before  # neither the log bucket nor the access log bucket


def test_an_existing_target_policy_and_logging_setting_are_restored_exactly(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    answers = existing_setup(aws)
    plan, found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    step = plan.step("update-access-log-bucket-policy")
    assert step.policy is not None and step.policy.before == TARGET_POLICY
    assert [u.params for u in plan.step("bucket-access-logging").undo] == [
        {"Bucket": EXISTING_LOG_BUCKET, "BucketLoggingStatus": {"LoggingEnabled": PREVIOUS_LOGGING}}
    ]
    seen: list[str] = []

    class Spy(FailOn):
        def call(
            self,
            service: str,
            region: str,
            operation: str,
            params: Mapping[str, Any] | None = None,
        ) -> dict[str, Any]:
            if operation == "StartLogging":
                # The merge is on another chain than the trail's: it may still be in flight
                # when StartLogging goes out (a busy machine). Wait for it to land.
                deadline = time.monotonic() + 20
                policy = TARGET_POLICY
                while policy == TARGET_POLICY and time.monotonic() < deadline:
                    policy = aws("s3").get_bucket_policy(Bucket=EXISTING_TARGET)["Policy"]
                seen.append(policy)
            return super().call(service, region, operation, params)

    outcome = Engine(Spy(engine.caller, "StartLogging"), engine.ctx).apply(
        answers, plan, found=found, journal_path=tmp_path / "journal.json"
    )

    assert outcome.report.status == "rolled-back", outcome.report.message
    # The merge really happened before the failure ...
    assert len(seen) == 1 and seen[0] != TARGET_POLICY
    assert "S3ServerAccessLogsDelivery" in seen[0] and "KeepMe" in seen[0]
    # ... and was undone byte for byte; logging is switched last, so it never changed.
    assert aws("s3").get_bucket_policy(Bucket=EXISTING_TARGET)["Policy"] == TARGET_POLICY
    assert logging_of(aws, EXISTING_LOG_BUCKET) == PREVIOUS_LOGGING


def test_the_previous_logging_setting_is_restored_when_a_later_step_fails(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    answers = existing_setup(aws)
    plan, found = engine.plan(answers)
    # Access logging is switched last; a step after it (here: a tag on the log bucket that
    # fails) shows that its undo puts the previous setting back.
    later = Step(
        id="later-step",
        call=Call(
            service="s3",
            region=REGION,
            operation="PutBucketTagging",
            params={"Bucket": EXISTING_LOG_BUCKET, "Tagging": {"TagSet": []}},
        ),
        summary="A later step that fails",
        chain="bucket",
        depends_on=["bucket-access-logging"],
    )
    steps = [s for s in plan.steps if s.chain == "bucket" and s.id != "bucket-access-logging"]
    assert "update-access-log-bucket-policy" in [s.id for s in steps]
    logging_step = plan.step("bucket-access-logging").model_copy(
        update={"depends_on": [s.id for s in steps]}
    )
    small = plan.model_copy(update={"steps": [*steps, logging_step, later]})
    seen: list[Any] = []

    class Spy(FailOn):
        def call(
            self,
            service: str,
            region: str,
            operation: str,
            params: Mapping[str, Any] | None = None,
        ) -> dict[str, Any]:
            if operation == "PutBucketTagging":
                seen.append(logging_of(aws, EXISTING_LOG_BUCKET))
            return super().call(service, region, operation, params)

    outcome = Engine(Spy(engine.caller, "PutBucketTagging"), engine.ctx).apply(
        answers, small, found=found, journal_path=tmp_path / "journal.json"
    )

    assert outcome.report.status == "rolled-back", outcome.report.message
    assert seen == [{"TargetBucket": EXISTING_TARGET, "TargetPrefix": "trail-logs/"}], [
        (r.id, r.status, r.error) for r in outcome.report.steps
    ]
    assert logging_of(aws, EXISTING_LOG_BUCKET) == PREVIOUS_LOGGING
    assert aws("s3").get_bucket_policy(Bucket=EXISTING_TARGET)["Policy"] == TARGET_POLICY


@pytest.mark.parametrize("change", ["target-policy", "logging"])
def test_a_change_to_the_target_or_the_logging_setting_after_planning_is_stale(
    change: str, engine: Engine, aws: Any, tmp_path: Path
) -> None:
    answers = existing_setup(aws)
    plan, found = engine.plan(answers)
    assert not plan.blocked
    s3 = aws("s3")
    if change == "target-policy":
        # The merged policy was computed from the old text: writing it would drop this.
        changed = TARGET_POLICY.replace('"KeepMe"', '"KeepMeToo"')
        s3.put_bucket_policy(Bucket=EXISTING_TARGET, Policy=changed)
    else:
        # Someone turns the old logging off: a rollback would restore a stale setting.
        s3.put_bucket_logging(Bucket=EXISTING_LOG_BUCKET, BucketLoggingStatus={})

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "stale"
    assert outcome.report.changed == ["access_logs"]
    if change == "target-policy":
        assert s3.get_bucket_policy(Bucket=EXISTING_TARGET)["Policy"] == changed


def test_an_unchanged_account_is_not_stale(engine: Engine, aws: Any, tmp_path: Path) -> None:
    answers = existing_setup(aws)
    plan, found = engine.plan(answers)
    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message
    assert logging_of(aws, EXISTING_LOG_BUCKET) == {
        "TargetBucket": EXISTING_TARGET,
        "TargetPrefix": "trail-logs/",
    }


def test_a_target_without_a_policy_gets_it_deleted_again_on_rollback(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    answers = existing_setup(aws, target_policy=None)
    plan, found = engine.plan(answers)
    assert plan.step("update-access-log-bucket-policy").undo[0].operation == "DeleteBucketPolicy"

    outcome = Engine(FailOn(engine.caller, "StartLogging"), engine.ctx).apply(
        answers, plan, found=found, journal_path=tmp_path / "journal.json"
    )

    assert outcome.report.status == "rolled-back"
    with pytest.raises(ClientError) as err:
        aws("s3").get_bucket_policy(Bucket=EXISTING_TARGET)
    assert err.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    assert logging_of(aws, EXISTING_LOG_BUCKET) == PREVIOUS_LOGGING


# --------------------------------------------------------------------------- preflight


def _codes(plan: Any) -> set[str]:
    return {f.code for f in plan.findings if f.severity == "error"}


def test_preflight_refuses_a_target_in_another_region(engine: Engine, aws: Any) -> None:
    aws("s3", "eu-west-1").create_bucket(
        Bucket=EXISTING_TARGET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    answers = load_answers(EXAMPLE).model_copy(deep=True)
    data = answers.model_dump(mode="json")
    data["bucket"]["access_logs"] = {"bucket": EXISTING_TARGET, "create": False}
    plan, _found = engine.plan(Answers.model_validate(data))
    assert "access-log-region-mismatch" in _codes(plan)
    assert plan.blocked


def test_preflight_refuses_an_sse_kms_target(engine: Engine, aws: Any) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=EXISTING_TARGET)
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(
        Bucket=EXISTING_TARGET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key,
                    }
                }
            ]
        },
    )
    data = load_answers(EXAMPLE).model_dump(mode="json")
    data["bucket"]["access_logs"] = {"bucket": EXISTING_TARGET, "create": False}
    plan, _found = engine.plan(Answers.model_validate(data))
    assert "access-log-bucket-kms" in _codes(plan)


def test_preflight_refuses_an_object_lock_target_and_so_does_the_sandbox(
    engine: Engine, aws: Any
) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=EXISTING_TARGET, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=EXISTING_TARGET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    data = load_answers(EXAMPLE).model_dump(mode="json")
    data["bucket"]["access_logs"] = {"bucket": EXISTING_TARGET, "create": False}
    plan, _found = engine.plan(Answers.model_validate(data))
    assert "access-log-bucket-object-lock" in _codes(plan)
    # The strict sandbox refuses such a target as AWS does (moto alone accepts it).
    s3.create_bucket(Bucket=EXISTING_LOG_BUCKET)
    s3.put_bucket_policy(
        Bucket=EXISTING_TARGET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Logs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{EXISTING_TARGET}/*",
                    }
                ],
            }
        ),
    )
    with pytest.raises(ClientError) as err:
        s3.put_bucket_logging(
            Bucket=EXISTING_LOG_BUCKET,
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": EXISTING_TARGET, "TargetPrefix": ""}
            },
        )
    assert err.value.response["Error"]["Code"] == "InvalidTargetBucketForLogging"


def test_preflight_refuses_creating_a_target_that_exists(engine: Engine, aws: Any) -> None:
    aws("s3").create_bucket(Bucket=TARGET)
    plan, _found = engine.plan(load_answers(EXAMPLE))
    assert "access-log-bucket-exists" in _codes(plan)


def test_preflight_refuses_a_missing_existing_target(engine: Engine) -> None:
    data = load_answers(EXAMPLE).model_dump(mode="json")
    data["bucket"]["access_logs"] = {"bucket": EXISTING_TARGET, "create": False}
    plan, _found = engine.plan(Answers.model_validate(data))
    assert "access-log-bucket-missing" in _codes(plan)
