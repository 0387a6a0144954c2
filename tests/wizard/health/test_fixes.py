"""Fixing failed controls: the seeded legacy trail's fixes, and each rule on its own.

The legacy trail of the sandbox fails CloudTrail.1 (one region), .4 (no validation), .2
(SSE-S3), .7 (no access logging) and .5 (no CloudWatch Logs): each gets a removable answer
change, and the answers with all of them made are valid answers for the same trail.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tests.sandbox_fixtures import ACCOUNT
from wizard.engine import Engine
from wizard.health.fixes import ACCESS_LOG_PREFIX, apply_fixes, fix_choices, read_fixes
from wizard.health.trails import HealthFacts, check_health, judge
from wizard.model.answers import Answers

pytestmark = pytest.mark.aws

LEGACY = "legacy-trail"
LEGACY_BUCKET = f"demo-legacy-trail-logs-{ACCOUNT}"
ARN = f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/{LEGACY}"


def test_the_legacy_trail_gets_one_fix_per_failed_reason(sandbox: Any, engine: Engine) -> None:
    found = read_fixes(engine.caller, engine.ctx, LEGACY)

    fixes = found.fixes
    assert [(c.id, c.control) for c in fixes.choices] == [
        ("multi-region", "CloudTrail.1"),
        ("log-file-validation", "CloudTrail.4"),
        ("sse-kms", "CloudTrail.2"),
        ("access-logging", "CloudTrail.7"),
        ("s3-object-events", "S3.22"),
        ("cloudwatch-logs", "CloudTrail.5"),
    ]
    failed = {c.control.id for c in found.health.controls if c.status == "fail"}
    # One S3 selector for reads and writes passes S3.22 and S3.23 (two fixes would each
    # replace events.data without the other's selector).
    assert {c.control for c in fixes.choices} | {"S3.23"} == failed
    assert fixes.manual == [] and fixes.notes == []
    by_id = {c.id: c for c in fixes.choices}
    # Each says why, with the control's own reason, and what the change means.
    assert "records only us-west-2" in by_id["multi-region"].why
    assert "us-west-2, the bucket's region" in by_id["sse-kms"].detail
    assert "Only files delivered from now on" in by_id["sse-kms"].detail
    assert by_id["access-logging"].edits == {
        "bucket.access_logs": {
            "bucket": f"{LEGACY_BUCKET}-access-logs",
            "prefix": ACCESS_LOG_PREFIX,
            "create": True,
        }
    }


def test_every_fix_made_gives_valid_answers_for_the_same_trail(
    sandbox: Any, engine: Engine
) -> None:
    found = read_fixes(engine.caller, engine.ctx, LEGACY)

    fixed = found.fixed()

    before = found.adopted.answers
    assert fixed.trail.name == before.trail.name and fixed.trail.region == "us-west-2"
    assert fixed.bucket.name == LEGACY_BUCKET and fixed.bucket.create is False
    assert fixed.trail.multi_region and fixed.trail.log_file_validation
    assert fixed.encryption.new_key and fixed.encryption.rotation
    assert fixed.bucket.access_logs is not None and fixed.bucket.access_logs.create
    assert fixed.cloudwatch_logs.log_group == f"aws-cloudtrail-logs-{LEGACY}"
    # S3.22 and S3.23: one selector for every bucket's object reads and writes.
    assert [d.model_dump(mode="json") for d in fixed.events.data] == [
        *(d.model_dump(mode="json") for d in before.events.data),
        {"type": "s3", "resources": "all", "read_write": "all", "conditions": [], "name": None},
    ]
    # Everything the fixes do not touch stays as adopted.
    assert fixed.events.management == before.events.management
    assert fixed.trail.tags == before.trail.tags


def test_a_removed_fix_leaves_its_setting_as_it_is(sandbox: Any, engine: Engine) -> None:
    found = read_fixes(engine.caller, engine.ctx, LEGACY)
    kept = [c.id for c in found.fixes.choices if c.id != "sse-kms"]

    fixed = found.fixed(kept)

    assert fixed.encryption.type == "sse-s3"
    assert fixed.trail.log_file_validation is True


def test_an_existing_access_log_bucket_by_that_name_is_used(
    sandbox: Any, aws: Any, engine: Engine
) -> None:
    target = f"{LEGACY_BUCKET}-access-logs"
    aws("s3", "us-west-2").create_bucket(
        Bucket=target, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )

    found = read_fixes(engine.caller, engine.ctx, LEGACY)

    [choice] = [c for c in found.fixes.choices if c.id == "access-logging"]
    assert choice.edits["bucket.access_logs"]["create"] is False
    assert f"the existing bucket {target}" in choice.change


# ------------------------------------------------------------------ the rules, pure


def _health(**facts: Any) -> Any:
    base: dict[str, Any] = {
        "name": LEGACY,
        "arn": ARN,
        "home_region": "us-west-2",
        "owner_account": ACCOUNT,
        "multi_region": True,
        "include_global_events": True,
        "log_file_validation": True,
        "bucket": LEGACY_BUCKET,
        "bucket_exists": True,
        "bucket_region": "us-west-2",
        "bucket_public": False,
        "access_logging": True,
        "access_logging_target": "elsewhere/x/",
        "lifecycle_rules": [],
        "object_lock_read": True,
        "kms_key_arn": f"arn:aws:kms:us-west-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "key_manager": "CUSTOMER",
        "key_spec": "SYMMETRIC_DEFAULT",
        "key_rotation": True,
        "is_logging": True,
        "management_events": "all",
        "s3_writes": "all",
        "s3_reads": "all",
        "log_group_arn": f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:g:*",
        "cw_role_arn": f"arn:aws:iam::{ACCOUNT}:role/r",
    }
    base.update(facts)
    return judge(HealthFacts(**base))


ANSWERS = Answers.model_validate(
    {
        "trail": {"name": LEGACY, "region": "us-west-2"},
        "bucket": {"name": LEGACY_BUCKET, "create": False},
        "encryption": {
            "type": "sse-kms",
            "key": f"arn:aws:kms:us-west-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        },
        "cloudwatch_logs": {"log_group": "g", "role": f"arn:aws:iam::{ACCOUNT}:role/r"},
    }
)


def test_a_trail_passing_everything_needs_no_fix() -> None:
    plan = fix_choices(ANSWERS, _health())
    assert plan.empty and plan.notes == []


def test_management_events_and_exclusions_are_separate_choices() -> None:
    health = _health(management_events="write", excluded_sources=["kms.amazonaws.com"])

    plan = fix_choices(ANSWERS, health)

    assert [c.id for c in plan.choices] == ["management-events", "excluded-sources"]
    fixed = apply_fixes(ANSWERS, plan.choices)
    assert fixed.events.management == "all" and fixed.events.exclude_sources == []
    assert "kms.amazonaws.com" in plan.choices[1].change


@pytest.mark.parametrize(
    ("writes", "reads", "side"),
    [("none", "all", "write"), ("all", "some", "read"), ("none", "none", "all")],
)
def test_s3_object_events_are_one_more_selector_of_every_bucket(
    writes: str, reads: str, side: str
) -> None:
    """CIS 4.8/4.9: a selector for the missing side; one for both when both fail."""
    plan = fix_choices(ANSWERS, _health(s3_writes=writes, s3_reads=reads))

    assert [(c.id, c.control) for c in plan.choices] == [
        ("s3-object-events", "S3.22" if side != "read" else "S3.23")
    ]
    fixed = apply_fixes(ANSWERS, plan.choices)
    assert [(d.type, d.resources, d.read_write) for d in fixed.events.data] == [("s3", "all", side)]
    assert "leaving out the trail's own log buckets" in plan.choices[0].detail


def test_what_answers_cannot_change_is_a_manual_fix_with_its_command() -> None:
    health = _health(
        key_rotation=False,
        bucket_public=True,
        bucket_public_reason="its ACL grants READ to everyone (AllUsers)",
        cw_role_allows=False,
        cw_problem="the role's trust policy does not trust CloudTrail",
    )

    plan = fix_choices(ANSWERS, health)

    assert plan.choices == []
    manual = {m.control: m.how for m in plan.manual}
    assert set(manual) == {"KMS.4", "CloudTrail.6"}
    assert "aws kms enable-key-rotation --key-id arn:aws:kms:us-west-2:" in manual["KMS.4"]
    assert f"--bucket {LEGACY_BUCKET}" in manual["CloudTrail.6"]


def test_a_broken_cloudwatch_delivery_is_manual_and_a_stopped_trail_is_noted() -> None:
    health = _health(
        is_logging=False,
        latest_cloudwatch_logs_delivery_error="AccessDenied",
    )

    plan = fix_choices(ANSWERS, health)

    assert [m.control for m in plan.manual] == ["CloudTrail.5"]
    assert "Fix the delivery role" in plan.manual[0].how
    assert any("not logging" in n and "starts it" in n for n in plan.notes)


def test_another_accounts_bucket_gets_no_access_logging_choice() -> None:
    central = ANSWERS.model_copy(
        update={"bucket": ANSWERS.bucket.model_copy(update={"account": "777788889999"})}
    )

    plan = fix_choices(central, _health(access_logging=False, access_logging_target=None))

    assert plan.choices == []
    [manual] = plan.manual
    assert manual.control == "CloudTrail.7" and "belongs to account 777788889999" in manual.how


def test_unknown_controls_are_noted_not_fixed() -> None:
    plan = fix_choices(ANSWERS, _health(access_logging=None, access_logging_target=None))

    assert plan.empty
    assert any("CloudTrail.7" in n and "could not be checked" in n for n in plan.notes)


def test_an_edit_that_contradicts_the_answers_names_the_field() -> None:
    reads = ANSWERS.model_copy(
        update={"events": ANSWERS.events.model_copy(update={"insights": ["ApiCallRateInsight"]})}
    )
    plan = fix_choices(reads, _health(management_events="read"))
    broken = plan.choices[0].model_copy(update={"edits": {"events.management": "read"}})

    with pytest.raises(ValidationError, match="Insights"):
        apply_fixes(reads, [broken])


def test_applying_every_fix_makes_the_legacy_trails_controls_pass(
    sandbox: Any, engine: Engine, tmp_path: Any
) -> None:
    found = read_fixes(engine.caller, engine.ctx, LEGACY)
    fixed = found.fixed()
    plan, discovered = engine.plan(fixed)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]

    outcome = engine.apply(fixed, plan, found=discovered, journal_path=tmp_path / "fix.json")

    assert outcome.report.status == "applied", outcome.report.message
    after = check_health(engine.caller, engine.ctx.region, trail=LEGACY).trails[0]
    assert {c.control.id: c.status for c in after.controls} == {
        c.control.id: "pass" for c in after.controls
    }, [(c.control.id, c.reason) for c in after.controls if c.status != "pass"]
    # Nothing is left to fix, and the trail's answers now plan no change.
    again = read_fixes(engine.caller, engine.ctx, LEGACY)
    assert again.fixes.empty
    replanned, _found = engine.plan(again.adopted.answers)
    assert replanned.steps == [], [(s.id, s.summary) for s in replanned.steps]
