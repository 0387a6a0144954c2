"""Rolling back an update restores every previous setting exactly, in the sandbox over HTTP.

An applied setup is changed in many ways at once (every kind of update step), and the apply
is made to fail at each of its steps in turn (FailOn, as AWS would answer): the rollback must
leave the account exactly as it was, read back with plain boto3, setting by setting: the
trail's configuration (a topic, key or CloudWatch Logs that was absent is absent again),
its event selectors (basic ones stay basic), Insights, logging, tags, the bucket's settings,
tags and policy text byte for byte, the key's rotation and tags. The other direction too:
from a setup with everything back to one without, so that the rollback sets again what the
update removed. A cancel while the last step runs undoes every step.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.callers import FailOn
from tests.sandbox_fixtures import ACCOUNT, account_state, assert_same_state
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.plan import PLACEHOLDER, Plan, Step
from wizard.run.apply import ApplyEvent

pytestmark = pytest.mark.aws

TRAIL = "acme-audit"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL}"
BUCKET = f"acme-audit-logs-{ACCOUNT}"
ALIAS = f"alias/cloudtrail-{TRAIL}"

BASE: dict[str, Any] = {
    "trail": {"name": TRAIL, "region": "us-east-1", "tags": {"team": "security"}},
    "bucket": {"name": BUCKET},
    "encryption": {"type": "sse-kms", "rotation": False},
}
"""Applied first: SSE-KMS with a new key whose rotation is off."""

CHANGED: dict[str, Any] = {
    "trail": {
        "name": TRAIL,
        "region": "us-east-1",
        "tags": {"team": "platform", "env": "prod"},
        "log_file_validation": False,
        "multi_region": False,
    },
    "bucket": {"name": BUCKET, "prefix": "cloudtrail"},
    "encryption": {"type": "sse-kms", "rotation": True},
    "notifications": {"sns_topic": "acme-audit-files"},
    "events": {"management": "write", "insights": ["ApiCallRateInsight"]},
}
"""BASE with every kind of update: trail settings, selectors, Insights, tags, bucket policy
and tags, key rotation and tags (and a new topic)."""

FULL: dict[str, Any] = {
    "trail": {"name": TRAIL, "region": "us-east-1", "tags": {"team": "security"}},
    "bucket": {"name": BUCKET, "prefix": "ct"},
    "encryption": {"type": "sse-kms"},
    "notifications": {"sns_topic": "acme-audit-files"},
    "cloudwatch_logs": {"log_group": "acme-audit-events"},
    "events": {"insights": ["ApiCallRateInsight"]},
}
"""A setup with everything."""

STRIPPED: dict[str, Any] = {
    "trail": {"name": TRAIL, "region": "us-east-1", "tags": {"team": "security"}},
    "bucket": {"name": BUCKET},
    "encryption": {"type": "sse-s3"},
}
"""FULL without its prefix, key, topic, CloudWatch Logs and Insights: the update removes
them, the rollback sets them again."""

SCENARIOS = {"add-and-change": (BASE, CHANGED), "remove": (FULL, STRIPPED)}

STEPS = {
    "add-and-change": [
        "update-key-policy",  # the key also lets CloudTrail publish to the new topic it encrypts
        "enable-key-rotation",
        "key-tags",
        "bucket-tags",
        "update-bucket-policy",
        "create-topic",
        "update-trail",
        "put-event-selectors",
        "put-insight-selectors",
        "trail-tags",
        "tidy-bucket-policy",
    ],
    "remove": [
        "bucket-encryption",
        "update-bucket-policy",
        "update-trail",
        "put-insight-selectors",
        "tidy-bucket-policy",
    ],
}
"""Each scenario's update plan: the steps a failure is injected at, one after the other."""


def _optional(read: Callable[[], Any], *missing: str) -> Any:
    try:
        return read()
    except ClientError as err:
        if err.response["Error"]["Code"] in missing:
            return None
        raise


def _clean(response: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def settings_state(aws: Any) -> dict[str, Any]:
    """Every setting an update may change, read back with plain boto3."""
    ct = aws("cloudtrail")
    s3 = aws("s3")
    kms = aws("kms")
    state: dict[str, Any] = {
        "trail": _clean(ct.get_trail(Name=TRAIL_ARN)["Trail"]),
        "logging": ct.get_trail_status(Name=TRAIL_ARN)["IsLogging"],
        "selectors": _clean(ct.get_event_selectors(TrailName=TRAIL_ARN)),
        "insights": _optional(
            lambda: ct.get_insight_selectors(TrailName=TRAIL_ARN)["InsightSelectors"],
            "InsightNotEnabledException",
        ),
        "trail_tags": ct.list_tags(ResourceIdList=[TRAIL_ARN])["ResourceTagList"][0].get(
            "TagsList", []
        ),
        "bucket_policy": s3.get_bucket_policy(Bucket=BUCKET)["Policy"],
        "bucket_versioning": _clean(s3.get_bucket_versioning(Bucket=BUCKET)),
        "bucket_tags": _optional(
            lambda: s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"], "NoSuchTagSet"
        ),
        "bucket_encryption": _optional(
            lambda: s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"],
            "ServerSideEncryptionConfigurationNotFoundError",
        ),
        "bucket_logging": _clean(s3.get_bucket_logging(Bucket=BUCKET)),
    }
    alias = next((a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == ALIAS), None)
    if alias is not None:
        key = alias["TargetKeyId"]
        state["key"] = {
            "policy": kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"],
            "rotation": kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"],
            "tags": kms.list_resource_tags(KeyId=key)["Tags"],
        }
    return state


def snapshot(aws: Any) -> dict[str, Any]:
    """The settings, and every resource of the account (what a rollback must delete)."""
    return {"settings": settings_state(aws), "account": account_state(aws)}


def assert_restored(before: dict[str, Any], after: dict[str, Any]) -> None:
    for name, value in before["settings"].items():
        assert after["settings"].get(name) == value, name
    assert set(after["settings"]) == set(before["settings"])
    assert_same_state(before["account"], after["account"])


def apply_ok(engine: Engine, doc: dict[str, Any], journal: Path) -> None:
    chosen = Answers.model_validate(copy.deepcopy(doc))
    plan, found = engine.plan(chosen)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    outcome = engine.apply(chosen, plan, found=found, journal_path=journal)
    assert outcome.report.status == "applied", outcome.report.message


_RUN_TAGGED = frozenset({"Tags", "TagsList", "CreateBucketConfiguration"})


def matches(step: Step) -> Callable[[Mapping[str, Any]], bool]:
    """Whether a call's parameters are this step's (placeholders match anything)."""

    def check(params: Mapping[str, Any]) -> bool:
        for name, value in step.call.params.items():
            if isinstance(value, str) and PLACEHOLDER.match(value):
                continue
            if name in _RUN_TAGGED:
                continue  # carries the run's id, which each plan has its own of
            if params.get(name) != value:
                return False
        return True

    return check


def update_plan(engine: Engine, scenario: str) -> tuple[Answers, Plan]:
    _base, target = SCENARIOS[scenario]
    chosen = Answers.model_validate(copy.deepcopy(target))
    plan, _found = engine.plan(chosen)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    return chosen, plan


def _points() -> list[tuple[str, int]]:
    return [(scenario, k) for scenario, steps in STEPS.items() for k in range(len(steps))]


def test_the_scenarios_exercise_every_kind_of_update(
    engine: Engine, sandbox: Any, tmp_path: Path
) -> None:
    kinds: set[str] = set()
    for name, (base, _target) in SCENARIOS.items():
        sandbox.reset(seed=True)
        apply_ok(engine, base, tmp_path / f"{name}.json")
        _chosen, plan = update_plan(engine, name)
        assert [s.id for s in plan.steps] == STEPS[name]
        kinds |= {s.id for s in plan.steps}
    assert kinds >= {
        "update-trail",
        "put-event-selectors",
        "put-insight-selectors",
        "trail-tags",
        "update-bucket-policy",
        "bucket-tags",
        "bucket-encryption",
        "enable-key-rotation",
        "key-tags",
        "update-key-policy",
        "tidy-bucket-policy",
    }


@pytest.mark.parametrize("point", _points(), ids=[f"{s}:{k}" for s, k in _points()])
def test_a_failure_at_each_update_step_restores_every_previous_setting(
    point: tuple[str, int], engine: Engine, aws: Any, tmp_path: Path
) -> None:
    scenario, k = point
    base, _target = SCENARIOS[scenario]
    apply_ok(engine, base, tmp_path / "base.json")
    chosen, plan = update_plan(engine, scenario)
    failing = plan.step(STEPS[scenario][k])
    before = snapshot(aws)
    faulty = FailOn(
        engine.caller,
        failing.call.operation,
        service=failing.call.service,
        code="InternalFailure",
        when=matches(failing),
    )
    plan, found = Engine(faulty, engine.ctx).plan(chosen)

    outcome = Engine(faulty, engine.ctx).apply(
        chosen, plan, found=found, journal_path=tmp_path / "update.json"
    )

    assert faulty.failures == 1, f"{failing.id} was never called"
    report = outcome.report
    assert report.status == "rolled-back", report.message
    assert report.step(failing.id).status == "failed"
    undone = [r.id for r in report.steps if r.status == "rolled-back"]
    assert all(report.step(s).status in ("rolled-back", "skipped", "failed") for s in undone)
    assert_restored(before, snapshot(aws))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_cancel_while_the_last_step_runs_undoes_every_update(
    scenario: str, engine: Engine, aws: Any, tmp_path: Path
) -> None:
    base, _target = SCENARIOS[scenario]
    apply_ok(engine, base, tmp_path / "base.json")
    chosen, plan = update_plan(engine, scenario)
    plan, found = engine.plan(chosen)
    before = snapshot(aws)
    cancel = threading.Event()
    last = plan.steps[-1].id

    def progress(event: ApplyEvent) -> None:
        if event.kind == "step-started" and event.step_id == last:
            cancel.set()

    outcome = engine.apply(
        chosen,
        plan,
        found=found,
        journal_path=tmp_path / "u.json",
        cancel=cancel,
        progress=progress,
    )

    report = outcome.report
    assert report.status == "cancelled", report.message
    assert {r.status for r in report.steps} == {"rolled-back"}
    assert_restored(before, snapshot(aws))


def test_basic_selectors_come_back_basic(engine: Engine, aws: Any, tmp_path: Path) -> None:
    apply_ok(engine, STRIPPED, tmp_path / "base.json")
    ct = aws("cloudtrail")
    basic = [
        {
            "ReadWriteType": "WriteOnly",
            "IncludeManagementEvents": True,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{BUCKET}-x/"]}],
            "ExcludeManagementEventSources": [],
        }
    ]
    ct.put_event_selectors(TrailName=TRAIL_ARN, EventSelectors=basic)
    before = snapshot(aws)
    chosen = Answers.model_validate(STRIPPED)
    faulty = FailOn(engine.caller, "AddTags", service="cloudtrail")
    ct.add_tags(ResourceId=TRAIL_ARN, TagsList=[{"Key": "team", "Value": "someone"}])
    before = snapshot(aws)
    plan, found = Engine(faulty, engine.ctx).plan(chosen)
    assert [s.id for s in plan.steps] == ["put-event-selectors", "trail-tags"]

    outcome = Engine(faulty, engine.ctx).apply(
        chosen, plan, found=found, journal_path=tmp_path / "u.json"
    )

    assert outcome.report.status == "rolled-back"
    after = snapshot(aws)
    assert after["settings"]["selectors"]["EventSelectors"] == basic
    assert not after["settings"]["selectors"].get("AdvancedEventSelectors")
    assert_restored(before, after)
