"""kill -9 at every step of an update, then `recover --rollback`: every setting is as before.

An applied setup is updated in several ways at once (the bucket's tags and policy, the
trail's prefix and validation, its event and Insights selectors, its tags, and the wizard's
superseded statement taken out of the bucket policy last). The update runs as a child
process of the real command line, through the fault proxy; when the k-th change reaches the
proxy, a hook kills the child with SIGKILL and then lets the request through (the change
acts, and nobody hears its answer). `recover --rollback` must then leave every setting as it
was before the update: an update whose outcome is unknown is undone by writing the previous
value back, and a policy by reading it first (the policy guard).
"""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from tests.faults.conftest import (
    ACCOUNT,
    REGION,
    PlannedStep,
    account_state,
    assert_same_state,
    direct,
    kill_once_the_level_is_sent,
    shared_sandbox,
)
from tests.faults.proxy import FaultProxy
from wizard.model.answers import Answers

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "screens.cli"]
TRAIL = "acme-audit"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
BUCKET = f"acme-audit-logs-{ACCOUNT}"

BASE: dict[str, Any] = {
    "trail": {"name": TRAIL, "region": REGION, "tags": {"team": "security"}},
    "bucket": {"name": BUCKET},
    "encryption": {"type": "sse-s3"},
}
UPDATED: dict[str, Any] = {
    "trail": {
        "name": TRAIL,
        "region": REGION,
        "tags": {"team": "platform"},
        "log_file_validation": False,
    },
    "bucket": {"name": BUCKET, "prefix": "cloudtrail"},
    "encryption": {"type": "sse-s3"},
    "events": {"management": "write", "insights": ["ApiCallRateInsight"]},
}


def _apply_base() -> None:
    """BASE applied on the shared sandbox with the wizard's own session (no proxy)."""
    from wizard.aws.session import SessionSettings, open_session
    from wizard.engine import Engine

    session = open_session(
        SessionSettings(sandbox_endpoint=shared_sandbox().endpoint_url), verify=False
    )
    engine = Engine.connect(session.caller, REGION)
    chosen = Answers.model_validate(BASE)
    plan, found = engine.plan(chosen)
    with tempfile.TemporaryDirectory() as scratch:
        journal = Path(scratch) / "base.json"
        outcome = engine.apply(chosen, plan, found=found, journal_path=journal)
    if outcome.report.status != "applied":
        raise RuntimeError(f"the base setup did not apply: {outcome.report.message}")


@functools.cache
def update_steps() -> list[PlannedStep]:
    """The update plan's mutating steps, planned once against the freshly set up base."""
    from wizard.aws.session import SessionSettings, open_session
    from wizard.engine import Engine

    sandbox = shared_sandbox()
    sandbox.reset(seed=True)
    _apply_base()
    session = open_session(SessionSettings(sandbox_endpoint=sandbox.endpoint_url), verify=False)
    plan, _found = Engine.connect(session.caller, REGION).plan(Answers.model_validate(UPDATED))
    if plan.blocked or not plan.updates_trail:
        raise RuntimeError(f"the update is not an update of the trail: {plan.findings}")
    return [
        PlannedStep(
            id=s.id,
            service=s.call.service,
            operation=s.call.operation,
            creates=s.creates,
            has_policy_before=bool(s.policy and s.policy.before),
            has_undo=bool(s.undo),
        )
        for s in plan.steps
        if s.mutating
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """k for every mutating step of the update's real plan."""
    if "update_point" in metafunc.fixturenames:
        points = list(enumerate(update_steps(), start=1))
        metafunc.parametrize("update_point", points, ids=[f"{k}:{s.id}" for k, s in points])


def settings() -> dict[str, Any]:
    """The settings the update changes, read back with plain boto3 (bypassing the proxy)."""
    ct = direct("cloudtrail")
    s3 = direct("s3")

    def insights() -> Any:
        try:
            return ct.get_insight_selectors(TrailName=TRAIL_ARN)["InsightSelectors"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "InsightNotEnabledException":
                return None
            raise

    selectors = ct.get_event_selectors(TrailName=TRAIL_ARN)
    selectors.pop("ResponseMetadata", None)
    return {
        "trail": {
            k: v for k, v in ct.get_trail(Name=TRAIL_ARN)["Trail"].items() if k != "HomeRegion"
        },
        "logging": ct.get_trail_status(Name=TRAIL_ARN)["IsLogging"],
        "selectors": selectors,
        "insights": insights(),
        "tags": ct.list_tags(ResourceIdList=[TRAIL_ARN])["ResourceTagList"][0]["TagsList"],
        "bucket_policy": s3.get_bucket_policy(Bucket=BUCKET)["Policy"],
        "bucket_tags": s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"],
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_update_covers_every_kind_of_update_step() -> None:
    ids = [s.id for s in update_steps()]
    assert ids == [
        "bucket-tags",
        "update-bucket-policy",
        "update-trail",
        "put-event-selectors",
        "put-insight-selectors",
        "trail-tags",
        "tidy-bucket-policy",
    ]


def test_kill_9_at_each_update_step_then_recover_rollback_restores_every_setting(
    update_point: tuple[int, PlannedStep],
    sandbox: Any,
    proxy: FaultProxy,
    isolated_env: dict[str, str],
    tmp_path: Path,
) -> None:
    k, step = update_point
    _apply_base()
    before = {"settings": settings(), "account": account_state()}
    updated = tmp_path / "updated.yaml"
    updated.write_text(yaml.safe_dump(UPDATED))
    env = {**isolated_env, "AWS_ENDPOINT_URL": proxy.url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [*CLI, "apply", str(updated), "--yes", "--output", "json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    same_before = sum(1 for s in update_steps()[: k - 1] if s.target == step.target)
    hook, waited = kill_once_the_level_is_sent(
        proxy, Path(isolated_env["XDG_STATE_HOME"]), process.pid
    )
    proxy.before(step.target, hook, nth=same_before + 1)
    try:
        process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL, "the update was not killed at that step"
    assert waited == [True], "calls the journal says were sent never reached the proxy"
    # The calls sent beside the killed one land now (see kill_once_the_level_is_sent).
    assert proxy.settle(), "requests sent before the kill were never answered"
    proxy.reset()

    listed = _run(env, "recover", "--output", "json")
    assert listed.returncode == 1, listed.stderr
    (run,) = json.loads(listed.stdout)["unfinished"]
    assert step.id in run["in_flight"], run

    recovered = _run(env, "recover", "--rollback", "--yes")

    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "rolled-back" in recovered.stdout
    after = {"settings": settings(), "account": account_state()}
    for name, value in before["settings"].items():
        assert after["settings"][name] == value, name
    assert_same_state(before["account"], after["account"])
