"""kill -9 at every step of every example, then `recover --rollback`: the account is as before.

The apply runs as a child process of the real command line, through the fault proxy. When
the k-th change reaches the proxy, a hook kills the child with SIGKILL and then lets the
request through: the change acts, and nobody hears its answer. That is the worst moment to
die (the journal holds the call's intent and no outcome), so recovery has to look the
resource up by the run's tag. `recover` must then list the run (exit 1), and
`recover --rollback --yes` must leave the account as it was before the apply.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import (
    EXAMPLES,
    PlannedStep,
    account_state,
    assert_same_state,
    direct,
    example_plans,
    kill_once_the_level_is_sent,
    prepare,
)
from tests.faults.proxy import FaultProxy
from wizard.run.journal import load_journal

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "screens.cli"]
EXAMPLE_BY_STEM = {p.stem: p for p in EXAMPLES}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """(example, k) for every mutating step of every example's real plan."""
    if "kill_point" in metafunc.fixturenames:
        points = [
            (stem, k, step)
            for stem, steps in example_plans().items()
            for k, step in enumerate(steps, start=1)
        ]
        metafunc.parametrize(
            "kill_point", points, ids=[f"{stem}:{k}:{step.id}" for stem, k, step in points]
        )


def _run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def empty_bucket(bucket: str) -> None:
    """Delete every object version of ``bucket`` (what the person is told to do by hand)."""
    s3 = direct("s3")
    versions = s3.list_object_versions(Bucket=bucket)
    for item in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]:
        s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])


def test_kill_9_at_each_step_then_recover_rollback_restores_the_account(
    kill_point: tuple[str, int, PlannedStep],
    sandbox: Any,
    proxy: FaultProxy,
    isolated_env: dict[str, str],
) -> None:
    stem, k, step = kill_point
    example = EXAMPLE_BY_STEM[stem]
    prepare(example)
    before = account_state()
    env = {**isolated_env, "AWS_ENDPOINT_URL": proxy.url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [*CLI, "apply", str(example), "--yes", "--output", "json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The k-th change of the plan is this step's call: count the earlier calls of the same
    # operation so the hook fires on the right one.
    same_before = sum(1 for s in example_plans()[stem][: k - 1] if s.target == step.target)
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
    assert process.returncode == -signal.SIGKILL, "the apply was not killed at that step"
    assert waited == [True], "calls the journal says were sent never reached the proxy"
    # The calls sent beside the killed one (a dependency level goes out together) land now.
    assert proxy.settle(), "requests sent before the kill were never answered"
    proxy.reset()

    listed = _run(env, "recover", "--output", "json")
    assert listed.returncode == 1, listed.stderr
    (run,) = json.loads(listed.stdout)["unfinished"]
    assert run["reason"] == "interrupted"
    assert step.id in run["in_flight"], run

    recovered = _run(env, "recover", "--rollback", "--yes")
    if step.id == "bucket-access-logging" and recovered.returncode == 1:
        # Once access logging was on, the emulator wrote access logs into the new
        # access-log bucket at once (AWS takes hours), so it cannot be deleted: the run
        # ends in a known state that names the bucket, and after the person empties it,
        # the same command finishes the rollback.
        assert "BucketNotEmpty" in recovered.stdout and "Undo by hand" in recovered.stdout
        assert "recover --rollback" in recovered.stdout
        target = json.loads(listed.stdout)["unfinished"][0]["journal"]
        bucket = next(
            e["params"]["Bucket"]
            for e in load_journal(target)["entries"]
            if e.get("step_id") == "create-access-log-bucket" and e["kind"] == "call"
        )
        empty_bucket(bucket)
        still = _run(env, "recover", "--output", "json")
        assert still.returncode == 1, "a rollback-incomplete run is still listed"
        assert json.loads(still.stdout)["unfinished"][0]["reason"] == "rollback-incomplete"
        recovered = _run(env, "recover", "--rollback", "--yes")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "rolled-back" in recovered.stdout
    assert_same_state(before, account_state())

    # The journal now ends the run: recover has nothing left to list.
    assert load_journal(run["journal"])["summary"]["status"] == "rolled-back"
    again = _run(env, "recover")
    assert again.returncode == 0 and "No unfinished run" in again.stdout
