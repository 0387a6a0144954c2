"""Retention and immutability of the log bucket (bucket.retention), end to end on the sandbox.

Plan -> apply -> rollback through the wizard's engine; the account is set up and read back
with plain boto3. An existing bucket's lifecycle rules are someone else's: they are kept,
and a rollback puts the exact previous configuration back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.callers import FailOn
from tests.sandbox_fixtures import ACCOUNT, REGION
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.policy.lifecycle import rule_id

NEW_BUCKET = f"retained-logs-{ACCOUNT}"
EXISTING = f"shared-archive-{ACCOUNT}"
THEIR_RULES = [
    {
        "ID": "their-reports",
        "Filter": {"Prefix": "reports/"},
        "Status": "Enabled",
        "Expiration": {"Days": 7},
    },
    {
        "ID": "their-tmp",
        "Filter": {"Prefix": "tmp/"},
        "Status": "Disabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 3},
    },
]
RETENTION = {
    "transition_days": 30,
    "storage_class": "STANDARD_IA",
    "expire_days": 400,
    "noncurrent_expire_days": 90,
}


def answers(bucket: dict[str, Any]) -> Answers:
    return Answers.model_validate(
        {
            "trail": {"name": "kept-trail", "region": REGION},
            "bucket": bucket,
            "encryption": {"type": "sse-s3"},
        }
    )


def rules_of(aws: Any, bucket: str) -> list[dict[str, Any]] | None:
    try:
        return list(aws("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"])
    except ClientError as err:
        assert err.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
        return None


def existing_bucket(aws: Any, rules: list[dict[str, Any]] | None) -> Answers:
    aws("s3").create_bucket(Bucket=EXISTING)
    if rules is not None:
        aws("s3").put_bucket_lifecycle_configuration(
            Bucket=EXISTING, LifecycleConfiguration={"Rules": rules}
        )
    return answers(
        {"name": EXISTING, "create": False, "prefix": "org/trail", "retention": RETENTION}
    )


def ours(rules: list[dict[str, Any]] | None) -> dict[str, Any]:
    found = [r for r in rules or [] if r["ID"] == rule_id("kept-trail")]
    assert len(found) == 1, rules
    return found[0]


# ------------------------------------------------------------------------------ preview


def test_a_new_bucket_previews_object_lock_and_the_lifecycle_as_steps(engine: Engine) -> None:
    plan, _found = engine.plan(
        answers(
            {
                "name": NEW_BUCKET,
                "retention": {**RETENTION, "object_lock": {"mode": "COMPLIANCE", "days": 365}},
            }
        )
    )

    assert not plan.blocked, [f.message for f in plan.findings]
    create = plan.step("create-bucket")
    assert create.call.params["ObjectLockEnabledForBucket"] is True
    assert "Object Lock enabled" in create.summary
    lock = plan.step("bucket-object-lock")
    assert lock.call.params["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}},
    }
    assert "not even the root user" in lock.summary
    life = plan.step("bucket-lifecycle")
    (rule,) = life.call.params["LifecycleConfiguration"]["Rules"]
    assert rule == {
        "ID": "cloudtrail-wizard-kept-trail",
        "Filter": {"Prefix": "AWSLogs/"},
        "Status": "Enabled",
        "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}],
        "Expiration": {"Days": 400},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
    }
    assert "to STANDARD_IA after 30 days" in life.summary
    codes = {f.code for f in plan.findings}
    assert "object-lock-compliance" in codes
    assert "object-lock-access-log-target" in codes


def test_no_retention_plans_no_lifecycle_and_no_lock(engine: Engine) -> None:
    plan, _found = engine.plan(answers({"name": NEW_BUCKET}))

    ids = {s.id for s in plan.steps}
    assert "bucket-lifecycle" not in ids and "bucket-object-lock" not in ids
    assert "ObjectLockEnabledForBucket" not in plan.step("create-bucket").call.params


def test_expiry_under_a_year_is_a_warning(engine: Engine) -> None:
    plan, _found = engine.plan(
        answers(
            {"name": NEW_BUCKET, "retention": {"expire_days": 90, "noncurrent_expire_days": 30}}
        )
    )

    warned = [f for f in plan.findings if f.code == "retention-below-cis"]
    assert len(warned) == 1 and warned[0].severity == "warning"
    assert "90 days" in warned[0].message and "30 days" in warned[0].message
    assert not plan.blocked


# ------------------------------------------------------------------------------- apply


def test_a_new_bucket_is_created_locked_with_its_lifecycle(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    wanted = answers(
        {
            "name": NEW_BUCKET,
            "retention": {**RETENTION, "object_lock": {"mode": "GOVERNANCE", "days": 30}},
        }
    )
    plan, found = engine.plan(wanted)

    outcome = engine.apply(wanted, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "applied", outcome.report.message
    lock = aws("s3").get_object_lock_configuration(Bucket=NEW_BUCKET)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    default = lock["Rule"]["DefaultRetention"]
    assert (default["Mode"], default["Days"]) == ("GOVERNANCE", 30)
    assert ours(rules_of(aws, NEW_BUCKET))["Expiration"] == {"Days": 400}
    again, _ = engine.plan(wanted)
    assert not {s.id for s in again.steps} & {"bucket-lifecycle", "bucket-object-lock"}


def test_a_failure_after_the_lock_deletes_the_new_empty_locked_bucket(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    wanted = answers(
        {"name": NEW_BUCKET, "retention": {"object_lock": {"mode": "COMPLIANCE", "days": 1}}}
    )
    plan, found = engine.plan(wanted)

    outcome = Engine(FailOn(engine.caller, "CreateTrail"), engine.ctx).apply(
        wanted, plan, found=found, journal_path=tmp_path / "journal.json"
    )

    assert outcome.report.status == "rolled-back", outcome.report.message
    names = {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}
    assert NEW_BUCKET not in names


def test_an_existing_lifecycle_keeps_their_rules(engine: Engine, aws: Any, tmp_path: Path) -> None:
    wanted = existing_bucket(aws, THEIR_RULES)
    before = rules_of(aws, EXISTING)
    plan, found = engine.plan(wanted)
    step = plan.step("bucket-lifecycle")
    assert "2 other lifecycle rules are kept" in step.summary
    assert step.undo[0].params["LifecycleConfiguration"]["Rules"] == before
    assert [s.name for s in step.settings] == [f"lifecycle rule {rule_id('kept-trail')}"]

    outcome = engine.apply(wanted, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "applied", outcome.report.message
    after = rules_of(aws, EXISTING)
    assert [r for r in after or [] if r["ID"] != rule_id("kept-trail")] == before
    assert ours(after)["Filter"] == {"Prefix": "org/trail/AWSLogs/"}
    again, _ = engine.plan(wanted)
    assert "bucket-lifecycle" not in {s.id for s in again.steps}


def test_an_existing_lifecycle_is_restored_exactly_on_rollback(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    wanted = existing_bucket(aws, THEIR_RULES)
    before = rules_of(aws, EXISTING)
    plan, found = engine.plan(wanted)

    outcome = Engine(FailOn(engine.caller, "StartLogging"), engine.ctx).apply(
        wanted, plan, found=found, journal_path=tmp_path / "journal.json"
    )

    assert outcome.report.status == "rolled-back", outcome.report.message
    assert rules_of(aws, EXISTING) == before


def test_a_bucket_without_a_lifecycle_has_none_again_after_rollback(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    wanted = existing_bucket(aws, None)
    plan, found = engine.plan(wanted)
    assert plan.step("bucket-lifecycle").undo[0].operation == "DeleteBucketLifecycle"

    outcome = Engine(FailOn(engine.caller, "StartLogging"), engine.ctx).apply(
        wanted, plan, found=found, journal_path=tmp_path / "journal.json"
    )

    assert outcome.report.status == "rolled-back", outcome.report.message
    assert rules_of(aws, EXISTING) is None


def test_a_colleagues_rule_added_after_the_plan_is_kept_by_the_write_and_the_rollback(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    wanted = existing_bucket(aws, THEIR_RULES)
    plan, found = engine.plan(wanted)
    late = {
        "ID": "added-later",
        "Filter": {"Prefix": "late/"},
        "Status": "Enabled",
        "Expiration": {"Days": 5},
    }
    # A colleague adds a rule between the plan and the write (before the bucket's steps).
    aws("s3").put_bucket_lifecycle_configuration(
        Bucket=EXISTING, LifecycleConfiguration={"Rules": [*THEIR_RULES, late]}
    )
    written: list[list[dict[str, Any]]] = []

    class Watch(FailOn):
        def call(self, service: str, region: str, operation: str, params: Any = None) -> Any:
            if operation == "StartLogging":
                written.append(list(rules_of(aws, EXISTING) or []))
            return super().call(service, region, operation, params)

    outcome = Engine(Watch(engine.caller, "StartLogging"), engine.ctx).apply(
        wanted, plan, found=found, journal_path=tmp_path / "journal.json"
    )

    assert outcome.report.status == "rolled-back", outcome.report.message
    assert [r["ID"] for r in written[0]] == [
        "their-reports",
        "their-tmp",
        "added-later",
        rule_id("kept-trail"),
    ]
    assert rules_of(aws, EXISTING) == [*THEIR_RULES, late]
    journal = (tmp_path / "journal.json").read_text()
    assert "lifecycle-merged-again" in journal and "merged into the new rules" in journal


@pytest.mark.parametrize("days", [1, 29])
def test_the_sandbox_refuses_standard_ia_sooner_than_30_days(aws: Any, days: int) -> None:
    aws("s3").create_bucket(Bucket=EXISTING)
    with pytest.raises(ClientError) as caught:
        aws("s3").put_bucket_lifecycle_configuration(
            Bucket=EXISTING,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "too-soon",
                        "Filter": {"Prefix": ""},
                        "Status": "Enabled",
                        "Transitions": [{"Days": days, "StorageClass": "STANDARD_IA"}],
                    }
                ]
            },
        )
    assert caught.value.response["Error"]["Code"] == "InvalidArgument"


# ------------------------------------------------------------------------------ status


def test_status_fails_the_retention_control_below_a_year_and_shows_the_lock(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    from wizard.health.trails import check_health, fact_rows
    from wizard.policy.controls import plan_controls

    wanted = answers(
        {
            "name": NEW_BUCKET,
            "retention": {"expire_days": 90, "object_lock": {"mode": "GOVERNANCE", "days": 7}},
        }
    )
    plan, found = engine.plan(wanted)
    planned = {c.control.id: c for c in plan_controls(plan)}
    assert planned["Retention"].status == "fail"
    assert "expire after 90 days" in planned["Retention"].reason

    outcome = engine.apply(wanted, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message

    (health,) = check_health(engine.caller, REGION, trail="kept-trail").trails
    result = health.control("Retention")
    assert result.status == "fail"
    assert "90 days" in result.reason and rule_id("kept-trail") in result.reason
    rows = dict(fact_rows(health.facts))
    assert rows["Object Lock"] == "on, default GOVERNANCE 7 days"
    assert "expire after 90 days" in rows["Lifecycle"]

    # A colleague raises the expiry to a year: the control passes and says why.
    aws("s3").put_bucket_lifecycle_configuration(
        Bucket=NEW_BUCKET,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": rule_id("kept-trail"),
                    "Filter": {"Prefix": "AWSLogs/"},
                    "Status": "Enabled",
                    "Expiration": {"Days": 365},
                }
            ]
        },
    )
    (health,) = check_health(engine.caller, REGION, trail="kept-trail").trails
    result = health.control("Retention")
    assert result.status == "pass", result.reason
    assert "Object Lock GOVERNANCE 7 days" in result.reason


def test_status_passes_a_bucket_without_lifecycle_and_says_logs_are_kept(
    engine: Engine, tmp_path: Path
) -> None:
    from wizard.health.trails import check_health

    wanted = answers({"name": NEW_BUCKET})
    plan, found = engine.plan(wanted)
    outcome = engine.apply(wanted, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message

    (health,) = check_health(engine.caller, REGION, trail="kept-trail").trails
    result = health.control("Retention")
    assert result.status == "pass"
    assert result.reason == "no lifecycle configuration: log files are kept; Object Lock off"
