"""A name the plan would create that is already taken: refused before any change.

For every name a plan creates (the new key's alias, the topic, the role, the log bucket,
the access log bucket, the trail, in its home region and, for a multi-region trail, in the
other regions its copies go to), a resource of that name that cannot be the answers' own is
set up with plain boto3 on the seeded sandbox; planning must give the clash's error finding
(saying what exists and which answers field to change) and a blocked plan, and apply must
then send not one mutating request. (A resource that *is* the answers' own, such as the trail
of that name in the home region, is updated instead: tests/wizard/plan/test_desired_state.py.)
The same names taken *between* plan and apply make apply refuse the plan as stale, again
without a change. The log group is the one name that may exist: the answers say
"created when missing", so an existing group is used as it is, never created or deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_fixtures import ACCOUNT, RequestLog
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.plan import Finding, Plan

pytestmark = pytest.mark.aws

TRAIL = "clash-trail"
BUCKET = f"clash-trail-logs-{ACCOUNT}"
TARGET = f"{BUCKET}-access"
CENTRAL_BUCKET = f"demo-central-logs-{ACCOUNT}"
"""Seeded in eu-west-1; its policy lets any trail of the account deliver."""
CLOUDTRAIL = "cloudtrail.amazonaws.com"
DEFAULT_ALIAS = f"alias/cloudtrail-{TRAIL}"
DEFAULT_ROLE = f"CloudTrailToCloudWatchLogs-{TRAIL}"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": CLOUDTRAIL}, "Action": "sts:AssumeRole"}
        ],
    }
)

Setup = Callable[[Any], None]
"""aws -> None: takes the name, with plain boto3."""


def answers(**sections: dict[str, Any]) -> Answers:
    """A small valid answers document (new bucket, SSE-S3) with ``sections`` merged in."""
    doc: dict[str, Any] = {
        "trail": {"name": TRAIL, "region": "us-east-1"},
        "bucket": {"name": BUCKET},
        "encryption": {"type": "sse-s3"},
    }
    for name, values in sections.items():
        doc[name] = {**doc.get(name, {}), **values}
    return Answers.model_validate(doc)


# --------------------------------------------------------------------------- setups


def alias_taken(alias: str, region: str = "us-east-1") -> Setup:
    def setup(aws: Any) -> None:
        kms = aws("kms", region)
        key_id = kms.create_key(Description="another trail's key")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)

    return setup


def topic_taken(aws: Any) -> None:
    aws("sns").create_topic(Name="clash-files")


def role_taken(name: str) -> Setup:
    def setup(aws: Any) -> None:
        aws("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)

    return setup


def bucket_taken(name: str) -> Setup:
    def setup(aws: Any) -> None:
        aws("s3").create_bucket(Bucket=name)

    return setup


def trail_taken(region: str, *, multi_region: bool = False) -> Setup:
    def setup(aws: Any) -> None:
        aws("cloudtrail", region).create_trail(
            Name=TRAIL, S3BucketName=CENTRAL_BUCKET, IsMultiRegionTrail=multi_region
        )

    return setup


def trails_taken(*regions: str) -> Setup:
    """Single-region trails of the name in several regions."""

    def setup(aws: Any) -> None:
        for region in regions:
            trail_taken(region)(aws)

    return setup


def group_taken(aws: Any) -> None:
    aws("logs").create_log_group(logGroupName="clash-events")


# ---------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Clash:
    """A name the plan creates, taken before planning."""

    id: str
    answers: Answers
    setup: Setup
    code: str
    mentions: tuple[str, ...]
    """Substrings of the message: what exists, and the answers field that fixes it."""
    stale_key: str
    """The fingerprint key that changes when the name is taken after planning."""


NEW_KEY = {"type": "sse-kms", "key": "new"}

CLASHES = [
    Clash(
        "default-alias",
        answers(encryption=NEW_KEY),
        alias_taken(DEFAULT_ALIAS),
        "kms-alias-exists",
        (DEFAULT_ALIAS, "points at key arn:aws:kms:us-east-1:", "encryption.alias"),
        "alias",
    ),
    Clash(
        "chosen-alias-in-the-bucket-region",
        answers(
            bucket={"region": "eu-west-1"},
            encryption={**NEW_KEY, "alias": "alias/audit-key-eu"},
        ),
        alias_taken("alias/audit-key-eu", "eu-west-1"),  # where the new key would go
        "kms-alias-exists",
        ("alias/audit-key-eu", "eu-west-1", "encryption.alias", "encryption.key"),
        "alias",
    ),
    Clash(
        "topic",
        answers(notifications={"sns_topic": "clash-files"}),
        topic_taken,
        "sns-topic-exists",
        (
            f"arn:aws:sns:us-east-1:{ACCOUNT}:clash-files",
            "give its ARN in notifications.sns_topic",
        ),
        "topic",
    ),
    Clash(
        "default-role",
        answers(cloudwatch_logs={"log_group": "clash-events"}),
        role_taken(DEFAULT_ROLE),
        "iam-role-exists",
        (f"arn:aws:iam::{ACCOUNT}:role/{DEFAULT_ROLE}", "cloudwatch_logs.role"),
        "logs",
    ),
    Clash(
        "named-role",
        answers(cloudwatch_logs={"log_group": "clash-events", "role": "ClashDelivery"}),
        role_taken("ClashDelivery"),
        "iam-role-exists",
        (f"arn:aws:iam::{ACCOUNT}:role/ClashDelivery", "cloudwatch_logs.role"),
        "logs",
    ),
    Clash(
        "log-bucket",
        answers(),
        bucket_taken(BUCKET),
        "bucket-exists",
        (BUCKET, "bucket.create"),
        "bucket",
    ),
    Clash(
        "access-log-bucket",
        answers(bucket={"access_logs": {"bucket": TARGET}}),
        bucket_taken(TARGET),
        "access-log-bucket-exists",
        (TARGET, "bucket.access_logs.create"),
        "access_logs",
    ),
    Clash(
        # The trail in the home region is the answers' own (it is updated), but making it
        # multi-region would copy it into us-west-2, where the name is taken.
        "trail-made-multi-region-whose-copy-would-collide",
        answers(),  # multi-region by default
        trails_taken("us-east-1", "us-west-2"),
        "trail-exists",
        (
            f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/{TRAIL}",
            "copied into every region",
            "trail.multi_region",
        ),
        "trails",
    ),
    Clash(
        "trail-copy-of-a-multi-region-trail-homed-elsewhere",
        answers(trail={"multi_region": False, "include_global_events": False}),
        trail_taken("us-west-2", multi_region=True),
        "trail-home-region",
        (
            f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/{TRAIL}",
            "cannot change a trail's home region",
            "trail.region to us-west-2",
            "trail.name",
        ),
        "trails",
    ),
    Clash(
        "multi-region-trail-whose-copy-would-collide",
        answers(),  # multi-region by default
        trail_taken("us-west-2"),
        "trail-home-region",
        (
            f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/{TRAIL}",
            "copied into every region",
            "trail.region to us-west-2",
            "trail.name",
        ),
        "trail_names",
    ),
]


def codes(plan: Plan, severity: str = "error") -> list[str]:
    return [f.code for f in plan.findings if f.severity == severity]


def the_finding(plan: Plan, code: str) -> Finding:
    found = [f for f in plan.findings if f.code == code]
    assert len(found) == 1, [f.code for f in plan.findings]
    return found[0]


def test_every_created_name_has_a_clash_case() -> None:
    assert len({c.id for c in CLASHES}) == len(CLASHES)
    assert {c.code for c in CLASHES} >= {
        "kms-alias-exists",
        "sns-topic-exists",
        "iam-role-exists",
        "bucket-exists",
        "access-log-bucket-exists",
        "trail-exists",
        "trail-home-region",
    }


@pytest.mark.parametrize("clash", CLASHES, ids=[c.id for c in CLASHES])
def test_a_taken_name_is_refused_before_any_change(
    clash: Clash, engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    clash.setup(aws)
    server_log.clear()

    plan, found = engine.plan(clash.answers)

    finding = the_finding(plan, clash.code)
    assert finding.severity == "error"
    for text in clash.mentions:
        assert text in finding.message, f"{text!r} not in: {finding.message}"
    assert plan.blocked
    assert server_log.mutating() == []

    outcome = engine.apply(clash.answers, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "blocked"
    assert clash.code in outcome.report.message or finding.message in outcome.report.message
    assert server_log.mutating() == []


@pytest.mark.parametrize("clash", CLASHES, ids=[c.id for c in CLASHES])
def test_the_free_name_plans_cleanly(clash: Clash, engine: Engine) -> None:
    """The same answers on an account where the name is free: no clash, nothing blocks."""
    plan, _ = engine.plan(clash.answers)
    assert clash.code not in codes(plan)
    assert not plan.blocked, codes(plan)


@pytest.mark.parametrize("clash", CLASHES, ids=[c.id for c in CLASHES])
def test_a_name_taken_between_plan_and_apply_makes_the_plan_stale(
    clash: Clash, engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    plan, found = engine.plan(clash.answers)
    assert not plan.blocked, codes(plan)
    clash.setup(aws)  # someone takes the name after the plan was reviewed
    server_log.clear()

    outcome = engine.apply(clash.answers, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "stale", outcome.report.message
    assert clash.stale_key in (outcome.report.changed or []), outcome.report.changed
    assert server_log.mutating() == []


# ------------------------------------------------------------------------ log group


def test_an_existing_log_group_is_used_not_created(engine: Engine, aws: Any) -> None:
    group_taken(aws)
    chosen = answers(cloudwatch_logs={"log_group": "clash-events", "retention_days": 731})

    plan, _ = engine.plan(chosen)

    finding = the_finding(plan, "log-group-exists")
    assert finding.severity == "info"
    for text in (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:clash-events",
        "keeps events forever",
        "never deletes it on rollback",
        "cloudwatch_logs.log_group",
    ):
        assert text in finding.message, finding.message
    assert not plan.blocked, codes(plan)
    operations = [s.call.operation for s in plan.steps]
    assert "CreateLogGroup" not in operations and "PutRetentionPolicy" not in operations
    assert not [s for s in plan.steps for u in s.undo if u.operation == "DeleteLogGroup"]


def test_a_log_group_created_between_plan_and_apply_makes_the_plan_stale(
    engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    chosen = answers(cloudwatch_logs={"log_group": "clash-events"})
    plan, found = engine.plan(chosen)
    assert "create-log-group" in [s.id for s in plan.steps]
    assert "log-group-exists" not in [f.code for f in plan.findings]
    group_taken(aws)
    server_log.clear()

    outcome = engine.apply(chosen, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "stale", outcome.report.message
    assert outcome.report.changed == ["logs"]
    assert server_log.mutating() == []
    # The group that appeared is not this run's: it is still there, untouched.
    groups = aws("logs").describe_log_groups(logGroupNamePrefix="clash-events")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["clash-events"]
