"""Object Lock and a bucket that already exists (issue 18).

AWS turns Object Lock on for an existing bucket with versioning Enabled, objects and all
(PutObjectLockConfiguration, since late 2023), and refuses it without versioning; the sandbox
does the same. The wizard locks only buckets it creates: for a bucket in use it says why and
how its owner can do it; once the owner has, the wizard sets the default retention answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from tests.sandbox_fixtures import ACCOUNT, REGION
from wizard.engine import Engine
from wizard.model.answers import Answers

BUCKET = f"locked-later-{ACCOUNT}"
LOCK = {"ObjectLockEnabled": "Enabled"}
RULE = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}


def retention(config: dict[str, Any]) -> tuple[str, str, int]:
    """Whether the lock is on, and the default retention's mode and days."""
    default = config.get("Rule", {}).get("DefaultRetention", {})
    return config["ObjectLockEnabled"], default.get("Mode"), default.get("Days")


def answers(bucket: dict[str, Any]) -> Answers:
    return Answers.model_validate(
        {
            "trail": {"name": "locked-trail", "region": REGION},
            "bucket": {"name": BUCKET, **bucket},
            "encryption": {"type": "sse-s3"},
        }
    )


def test_the_sandbox_locks_an_existing_versioned_bucket_that_holds_objects(aws: Any) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key="before.txt", Body=b"written before the lock")

    s3.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration={**LOCK, "Rule": RULE})

    config = s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]
    assert retention(config) == ("Enabled", "GOVERNANCE", 30)
    # Objects written before keep no retention; new ones get the default, as in AWS.
    before = s3.head_object(Bucket=BUCKET, Key="before.txt")
    assert "ObjectLockMode" not in before
    s3.put_object(Bucket=BUCKET, Key="after.txt", Body=b"written after")
    after = s3.head_object(Bucket=BUCKET, Key="after.txt")
    assert after["ObjectLockMode"] == "GOVERNANCE"


@pytest.mark.parametrize("versioning", [None, "Suspended"])
def test_the_sandbox_refuses_without_versioning_as_aws_does(
    aws: Any, versioning: str | None
) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET)
    if versioning:
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": versioning})
    s3.put_object(Bucket=BUCKET, Key="some.txt", Body=b"x")

    with pytest.raises(ClientError) as caught:
        s3.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration=LOCK)

    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidBucketState"
    assert error["Message"] == (
        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
    )


def test_answers_asking_to_lock_an_existing_bucket_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError) as caught:
        answers({"create": False, "retention": {"object_lock": {"days": 30}}})

    message = str(caught.value)
    assert "only for a new bucket (create: true)" in message
    assert "never off again" in message and "put-object-lock-configuration" in message


def test_the_wizards_bucket_in_use_is_locked_only_once_its_owner_turned_it_on(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    plain = answers({})
    plan, found = engine.plan(plain)
    outcome = engine.apply(plain, plan, found=found, journal_path=tmp_path / "first.json")
    assert outcome.report.status == "applied", outcome.report.message
    aws("s3").put_object(Bucket=BUCKET, Key="AWSLogs/delivered.json.gz", Body=b"{}")
    locked = answers({"retention": {"object_lock": {"mode": "GOVERNANCE", "days": 30}}})

    plan, _ = engine.plan(locked)

    # Left unlocked, with the reason and the owner's command; nothing planned for it.
    assert "bucket-object-lock" not in {s.id for s in plan.steps}
    finding = next(f for f in plan.findings if f.code == "object-lock-not-enabled")
    assert f"aws s3api put-object-lock-configuration --bucket {BUCKET}" in finding.message

    # The owner runs that command: now the wizard sets the default retention answered.
    aws("s3").put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration=LOCK)
    plan, found = engine.plan(locked)
    assert "object-lock-not-enabled" not in {f.code for f in plan.findings}
    step = plan.step("bucket-object-lock")
    assert step.call.params["ObjectLockConfiguration"] == {**LOCK, "Rule": RULE}
    outcome = engine.apply(locked, plan, found=found, journal_path=tmp_path / "second.json")
    assert outcome.report.status == "applied", outcome.report.message
    config = aws("s3").get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]
    assert retention(config) == ("Enabled", "GOVERNANCE", 30)
