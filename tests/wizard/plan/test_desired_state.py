"""Desired state: the answers compared with what exists, in the sandbox over HTTP.

Applied answers planned again plan nothing, and applying them again sends not one request
that changes anything (counted twice: by a caller wrapper in front of the wizard and by the
emulator's own request log). Every setting the answers can change on an existing trail is
changed alone, and all of them together: the plan updates only what differs, each update step
says "current -> wanted", the apply lands and verifies, and a new plan is empty again. Drift
made by someone else (a stopped trail, a suspended bucket versioning, a removed statement) is
planned back; what the answers stop naming is left alone, and said so.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.callers import CountingCaller
from tests.sandbox_fixtures import ACCOUNT, RequestLog, prepare_example
from wizard.engine import NOTHING_TO_CHANGE, Engine
from wizard.export.text import plan_to_json, plan_to_text
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.plan import Plan, Step
from wizard.policy.controls import planned_facts

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
TRAIL = "acme-audit"
BUCKET = f"acme-audit-logs-{ACCOUNT}"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL}"
CLOUDTRAIL = "cloudtrail.amazonaws.com"

BASE: dict[str, Any] = {
    "trail": {"name": TRAIL, "region": "us-east-1", "tags": {"team": "security"}},
    "bucket": {"name": BUCKET},
    "encryption": {"type": "sse-s3"},
}
"""What is applied first: a new bucket, SSE-S3, a tag (as examples/new-bucket-sse-s3.yaml)."""

FULL: dict[str, Any] = {
    "trail": {"name": TRAIL, "region": "us-east-1", "tags": {"team": "security"}},
    "bucket": {"name": BUCKET, "prefix": "ct"},
    "encryption": {"type": "sse-kms"},
    "notifications": {"sns_topic": "acme-audit-files"},
    "cloudwatch_logs": {"log_group": "acme-audit-events"},
    "events": {"insights": ["ApiCallRateInsight"]},
}
"""Everything a trail can have that BASE lacks: a prefix, a key, a topic, CloudWatch Logs,
Insights."""


def answers(base: dict[str, Any], **sections: dict[str, Any]) -> Answers:
    """``base`` with each section's values merged over it."""
    doc = copy.deepcopy(base)
    for name, values in sections.items():
        doc[name] = {**doc.get(name, {}), **values}
    return Answers.model_validate(doc)


def apply_ok(engine: Engine, chosen: Answers, journal: Path) -> Plan:
    plan, found = engine.plan(chosen)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    outcome = engine.apply(chosen, plan, found=found, journal_path=journal)
    assert outcome.report.status == "applied", outcome.report.message
    verification = outcome.verification
    assert verification is not None
    assert verification.ok, [(c.name, c.detail) for c in verification.checks if not c.ok]
    return plan


def step_ids(plan: Plan) -> list[str]:
    return [s.id for s in plan.steps]


def settings(step: Step) -> list[str]:
    return [c.name for c in step.settings]


def codes(plan: Plan, severity: str | None = None) -> list[str]:
    return [f.code for f in plan.findings if severity is None or f.severity == severity]


def counting(engine: Engine) -> tuple[Engine, CountingCaller]:
    counted = CountingCaller(engine.caller)
    return Engine(counted, engine.ctx), counted


def live_trail(aws: Any) -> dict[str, Any]:
    return dict(aws("cloudtrail").get_trail(Name=TRAIL_ARN)["Trail"])


# ------------------------------------------------------------------- re-run: nothing


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_applied_answers_plan_nothing_and_applying_them_again_changes_nothing(
    example: Path, engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    prepare_example(example, aws)
    chosen = load_answers(example)
    first = apply_ok(engine, chosen, tmp_path / "first.json")
    assert first.steps and not first.updates_trail
    again, counted = counting(engine)
    server_log.clear()

    plan, found = again.plan(chosen)

    assert plan.steps == [] and plan.unchanged, [(s.id, s.summary) for s in plan.steps]
    assert plan.updates_trail
    statuses = {r.kind: r.status for r in plan.resources}
    assert statuses["trail"] == "unchanged"
    assert set(statuses.values()) <= {"unchanged", "use"}, statuses
    assert "Nothing to change" in plan_to_text(plan)
    assert plan_to_json(plan)["unchanged"] is True

    outcome = again.apply(chosen, plan, found=found, journal_path=tmp_path / "second.json")

    assert outcome.report.status == "applied"
    assert outcome.report.message == NOTHING_TO_CHANGE
    assert outcome.verification is not None and outcome.verification.ok
    assert not (tmp_path / "second.json").exists(), "nothing changed, nothing journalled"
    assert counted.calls, "the plan read the account"
    assert counted.mutating() == []
    assert server_log.mutating() == []


# ------------------------------------------------------------- one setting at a time


@dataclass(frozen=True)
class Change:
    """Answers changed from ``base``: the steps the update plan must have, and the check."""

    id: str
    changed: dict[str, dict[str, Any]]
    steps: list[str]
    """The plan's step ids, in order."""
    trail_settings: list[str] = field(default_factory=list)
    """What update-trail says it changes (empty: no update-trail step)."""
    live: dict[str, Any] = field(default_factory=dict)
    """GetTrail fields after the apply (None: the field is absent, as AWS leaves it out)."""
    findings: tuple[str, ...] = ()
    """Codes the plan must have."""
    base: dict[str, Any] = field(default_factory=lambda: BASE)


CHANGES = [
    Change(
        "prefix",
        {"bucket": {"prefix": "cloudtrail"}},
        ["update-bucket-policy", "update-trail", "tidy-bucket-policy"],
        ["S3 key prefix"],
        {"S3KeyPrefix": "cloudtrail"},
        ("trail-destination-change",),
    ),
    Change(
        "log-file-validation-off",
        {"trail": {"log_file_validation": False}},
        ["update-trail"],
        ["log file validation"],
        {"LogFileValidationEnabled": False},
    ),
    Change(
        "single-region",
        {"trail": {"multi_region": False}},
        ["update-trail"],
        ["multi-region"],
        {"IsMultiRegionTrail": False},
        ("multi-region-off",),
    ),
    Change(
        "global-events-off",
        {"trail": {"multi_region": False, "include_global_events": False}},
        ["update-trail"],
        ["multi-region", "global service events"],
        {"IsMultiRegionTrail": False, "IncludeGlobalServiceEvents": False},
    ),
    Change(
        "sse-kms-with-a-new-key",
        {"encryption": {"type": "sse-kms"}},
        ["create-key", "create-alias", "enable-key-rotation", "bucket-encryption", "update-trail"],
        ["KMS key (SSE-KMS)"],
        findings=("trail-encryption-change",),
    ),
    Change(
        "sns-topic",
        {"notifications": {"sns_topic": "acme-audit-files"}},
        ["create-topic", "update-trail"],
        ["SNS topic"],
        {"SnsTopicARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:acme-audit-files"},
    ),
    Change(
        "cloudwatch-logs",
        {"cloudwatch_logs": {"log_group": "acme-audit-events"}},
        [
            "create-log-group",
            "log-group-retention",
            "create-role",
            "put-role-policy",
            "update-trail",
        ],
        ["CloudWatch Logs log group", "CloudWatch Logs role"],
        {
            "CloudWatchLogsLogGroupArn": (
                f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:acme-audit-events:*"
            )
        },
    ),
    Change(
        "event-selectors",
        {"events": {"management": "write", "data": [{"type": "s3", "read_write": "write"}]}},
        ["put-event-selectors"],
    ),
    Change(
        "insights-on", {"events": {"insights": ["ApiErrorRateInsight"]}}, ["put-insight-selectors"]
    ),
    Change(
        "tags",
        {"trail": {"tags": {"team": "platform", "env": "prod"}}},
        ["bucket-tags", "trail-tags"],
    ),
    Change(
        "another-bucket",
        {"bucket": {"name": f"acme-audit-logs-2-{ACCOUNT}"}},
        [
            "create-bucket",
            "block-public-access",
            "bucket-encryption",
            "bucket-versioning",
            "bucket-tags",
            "bucket-policy",
            "update-trail",
        ],
        ["S3 bucket"],
        {"S3BucketName": f"acme-audit-logs-2-{ACCOUNT}"},
        ("trail-destination-change", "previous-bucket-left-alone"),
    ),
    # From everything back to the base: each setting that was set is removed again.
    Change(
        "back-to-sse-s3",
        {"encryption": {"type": "sse-s3"}},
        ["bucket-encryption", "update-trail"],
        ["KMS key (SSE-KMS)"],
        {"KmsKeyId": None},
        ("trail-encryption-change", "previous-key-left-alone"),
        base=FULL,
    ),
    Change(
        "no-topic",
        {"notifications": {"sns_topic": None}},
        ["update-trail"],
        ["SNS topic"],
        {"SnsTopicARN": None, "SnsTopicName": None},
        ("previous-topic-left-alone",),
        base=FULL,
    ),
    Change(
        "no-cloudwatch-logs",
        {"cloudwatch_logs": {"log_group": None}},
        ["update-trail"],
        ["CloudWatch Logs log group", "CloudWatch Logs role"],
        {"CloudWatchLogsLogGroupArn": None, "CloudWatchLogsRoleArn": None},
        ("previous-log-group-left-alone", "previous-role-left-alone"),
        base=FULL,
    ),
    Change(
        "no-prefix",
        {"bucket": {"prefix": ""}},
        ["update-bucket-policy", "update-trail", "tidy-bucket-policy"],
        ["S3 key prefix"],
        {"S3KeyPrefix": None},
        base=FULL,
    ),
    Change("insights-off", {"events": {"insights": []}}, ["put-insight-selectors"], base=FULL),
]

TOGETHER = Change(
    "together",
    {
        "bucket": {"prefix": "cloudtrail"},
        "trail": {"log_file_validation": False, "tags": {"team": "platform"}},
        "encryption": {"type": "sse-kms"},
        "notifications": {"sns_topic": "acme-audit-files"},
        "events": {"management": "write", "insights": ["ApiCallRateInsight"]},
    },
    [
        "create-key",
        "create-alias",
        "enable-key-rotation",
        "bucket-encryption",
        "bucket-tags",
        "update-bucket-policy",
        "create-topic",
        "update-trail",
        "put-event-selectors",
        "put-insight-selectors",
        "trail-tags",
        "tidy-bucket-policy",
    ],
    ["S3 key prefix", "KMS key (SSE-KMS)", "SNS topic", "log file validation"],
    {"S3KeyPrefix": "cloudtrail", "LogFileValidationEnabled": False},
)


@pytest.mark.parametrize("change", [*CHANGES, TOGETHER], ids=[c.id for c in [*CHANGES, TOGETHER]])
def test_a_changed_setting_is_updated_alone_and_shown_as_current_to_wanted(
    change: Change, engine: Engine, aws: Any, tmp_path: Path
) -> None:
    apply_ok(engine, answers(change.base), tmp_path / "base.json")
    chosen = answers(change.base, **change.changed)

    plan, found = engine.plan(chosen)

    assert step_ids(plan) == change.steps
    assert plan.updates_trail
    assert {r.kind: r.status for r in plan.resources}["trail"] == "update"
    for code in change.findings:
        assert code in codes(plan), codes(plan)
    created = {s.creates for s in plan.steps if s.creates}
    updates = [s for s in plan.steps if s.creates is None and s.changes not in created]
    assert all(s.settings for s in updates), [s.id for s in updates if not s.settings]
    if change.trail_settings:
        update = plan.step("update-trail")
        assert settings(update) == change.trail_settings
        assert update.call.operation == "UpdateTrail" and update.undo
        assert set(update.call.params) == {"Name"} | set(update.undo[0].params)
    text = plan_to_text(plan)
    for step in updates:
        for c in step.settings:
            assert f"{c.name}: {c.current} → {c.wanted}" in text

    outcome = engine.apply(chosen, plan, found=found, journal_path=tmp_path / "update.json")

    assert outcome.report.status == "applied", outcome.report.message
    assert outcome.verification is not None and outcome.verification.ok
    trail = live_trail(aws)
    for name, value in change.live.items():
        assert trail.get(name) == value, (name, trail)
    again, _ = engine.plan(chosen)
    assert again.steps == [], [(s.id, s.settings) for s in again.steps]


def test_every_update_setting_has_a_case() -> None:
    shown = {s for c in [*CHANGES, TOGETHER] for s in c.trail_settings}
    assert shown >= {
        "S3 bucket",
        "S3 key prefix",
        "KMS key (SSE-KMS)",
        "SNS topic",
        "CloudWatch Logs log group",
        "CloudWatch Logs role",
        "multi-region",
        "global service events",
        "log file validation",
    }
    steps = {s for c in [*CHANGES, TOGETHER] for s in c.steps}
    assert steps >= {"put-event-selectors", "put-insight-selectors", "trail-tags", "bucket-tags"}


def test_a_new_bucket_leaves_the_old_one_and_its_files_alone(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    apply_ok(engine, answers(BASE), tmp_path / "base.json")
    s3 = aws("s3")
    s3.put_object(Bucket=BUCKET, Key="AWSLogs/old.json.gz", Body=b"{}")
    policy = s3.get_bucket_policy(Bucket=BUCKET)["Policy"]

    plan = apply_ok(
        engine, answers(BASE, bucket={"name": f"acme-audit-logs-2-{ACCOUNT}"}), tmp_path / "u.json"
    )

    left = next(f for f in plan.findings if f.code == "previous-bucket-left-alone")
    assert BUCKET in left.message and "leaves it exactly as it is" in left.message
    moved = next(f for f in plan.findings if f.code == "trail-destination-change")
    assert moved.severity == "warning" and "stay where they are" in moved.message
    assert s3.get_bucket_policy(Bucket=BUCKET)["Policy"] == policy
    assert s3.get_object(Bucket=BUCKET, Key="AWSLogs/old.json.gz")["Body"].read() == b"{}"


def test_the_organization_switch_is_updated_with_a_warning(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    prepare_example(ROOT / "examples" / "organization-trail.yaml", aws)
    apply_ok(engine, answers(BASE), tmp_path / "base.json")
    chosen = answers(BASE, trail={"organization": True})

    plan, found = engine.plan(chosen)

    assert step_ids(plan) == ["update-bucket-policy", "update-trail"]
    assert settings(plan.step("update-trail")) == ["organization trail"]
    warning = next(f for f in plan.findings if f.code == "organization-trail-change")
    assert warning.severity == "warning" and "every member account" in warning.message
    merged = plan.step("update-bucket-policy").policy
    assert merged is not None and "AWSCloudTrailOrganizationWrite" in merged.added_sids
    outcome = engine.apply(chosen, plan, found=found, journal_path=tmp_path / "org.json")
    assert outcome.report.status == "applied", outcome.report.message
    assert live_trail(aws)["IsOrganizationTrail"] is True
    assert engine.plan(chosen)[0].steps == []


# --------------------------------------------------------------- drift by someone else

Drift = Callable[[Any], None]


def stopped(aws: Any) -> None:
    aws("cloudtrail").stop_logging(Name=TRAIL_ARN)


def validation_turned_off(aws: Any) -> None:
    aws("cloudtrail").update_trail(Name=TRAIL_ARN, EnableLogFileValidation=False)


def public_access_unblocked(aws: Any) -> None:
    aws("s3").delete_public_access_block(Bucket=BUCKET)


def versioning_suspended(aws: Any) -> None:
    aws("s3").put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})


def encryption_changed(aws: Any) -> None:
    aws("s3").delete_bucket_encryption(Bucket=BUCKET)


def tls_statement_removed(aws: Any) -> None:
    s3 = aws("s3")
    document = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    document["Statement"] = [
        s for s in document["Statement"] if s["Sid"] != "DenyInsecureTransport"
    ]
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(document))


def tag_changed_and_another_added(aws: Any) -> None:
    aws("cloudtrail").add_tags(
        ResourceId=TRAIL_ARN,
        TagsList=[{"Key": "team", "Value": "someone"}, {"Key": "cost-centre", "Value": "42"}],
    )


def basic_selectors(aws: Any) -> None:
    aws("cloudtrail").put_event_selectors(
        TrailName=TRAIL_ARN,
        EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}],
    )


DRIFTS: list[tuple[Drift, list[str]]] = [
    (stopped, ["start-logging"]),
    (validation_turned_off, ["update-trail"]),
    (public_access_unblocked, ["block-public-access"]),
    (versioning_suspended, ["bucket-versioning"]),
    (encryption_changed, ["bucket-encryption"]),
    (tls_statement_removed, ["update-bucket-policy"]),
    (tag_changed_and_another_added, ["trail-tags"]),
    (basic_selectors, ["put-event-selectors"]),
]


@pytest.mark.parametrize("drift,steps", DRIFTS, ids=[d.__name__ for d, _ in DRIFTS])
def test_drift_made_by_someone_else_is_planned_back(
    drift: Drift, steps: list[str], engine: Engine, aws: Any, tmp_path: Path
) -> None:
    chosen = answers(BASE)
    apply_ok(engine, chosen, tmp_path / "base.json")
    drift(aws)

    plan = apply_ok(engine, chosen, tmp_path / "back.json")

    assert step_ids(plan) == steps
    assert engine.plan(chosen)[0].steps == []
    tags = aws("cloudtrail").list_tags(ResourceIdList=[TRAIL_ARN])["ResourceTagList"][0]
    if drift is tag_changed_and_another_added:
        # Only the tag the answers name is put back; the colleague's own tag stays.
        assert {"Key": "cost-centre", "Value": "42"} in tags["TagsList"]
        assert {"Key": "team", "Value": "security"} in tags["TagsList"]


def test_the_trails_key_found_by_its_alias_is_used_not_created_again(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    """A key made by hand that the trail already uses, named as the answers' new key would
    be: it is the answers' key (used, its policy completed), not a clash."""
    chosen = answers(BASE, encryption={"type": "sse-kms"})
    apply_ok(engine, chosen, tmp_path / "base.json")
    kms = aws("kms")
    alias = f"alias/cloudtrail-{TRAIL}"
    key_id = next(
        a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"] == alias
    )
    # Someone removes the wizard's run tag and turns rotation off: only the trail's use of the
    # key still says it is the answers' key.
    tags = kms.list_resource_tags(KeyId=key_id)["Tags"]
    kms.untag_resource(KeyId=key_id, TagKeys=[t["TagKey"] for t in tags])
    kms.disable_key_rotation(KeyId=key_id)

    plan = apply_ok(engine, chosen, tmp_path / "again.json")

    assert step_ids(plan) == ["enable-key-rotation", "key-tags"]
    assert "kms-alias-exists" not in codes(plan)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert {"TagKey": "team", "TagValue": "security"} in kms.list_resource_tags(KeyId=key_id)[
        "Tags"
    ]


def test_a_bucket_cannot_move_to_another_region(engine: Engine, aws: Any, tmp_path: Path) -> None:
    apply_ok(engine, answers(BASE), tmp_path / "base.json")

    plan, _ = engine.plan(answers(BASE, bucket={"region": "eu-west-1"}))

    assert plan.blocked
    finding = next(f for f in plan.findings if f.code == "bucket-region-differs")
    assert "us-east-1" in finding.message and "set bucket.region to us-east-1" in finding.message


def test_a_trail_whose_settings_cannot_be_read_is_not_updated(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    from tests.callers import FailOn

    apply_ok(engine, answers(BASE), tmp_path / "base.json")
    denied = FailOn(
        engine.caller, "GetEventSelectors", code="AccessDeniedException", status=400, times=99
    )

    plan, _ = Engine(denied, engine.ctx).plan(answers(BASE, trail={"log_file_validation": False}))

    assert plan.blocked
    finding = next(f for f in plan.findings if f.code == "trail-unreadable")
    assert "GetEventSelectors" in finding.message and "restore" in finding.message


# ------------------------------------------------------------------- controls of an update


def test_an_update_plan_judges_the_trail_it_leaves_not_only_what_it_sends(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    """UpdateTrail carries only what differs; the controls must still see the whole trail."""
    apply_ok(engine, answers(BASE), tmp_path / "first.json")
    plan, _ = engine.plan(answers(BASE, bucket={"prefix": "moved"}))

    assert plan.updates_trail
    assert "CreateTrail" not in [s.call.operation for s in plan.steps]
    facts = planned_facts(plan)
    assert facts.bucket == BUCKET and facts.prefix == "moved"
    assert facts.multi_region and facts.log_file_validation and facts.is_logging
    assert facts.management_events == "all"
