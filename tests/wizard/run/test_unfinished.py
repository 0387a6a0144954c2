"""An earlier run that died half-way is found in the journals and warned about everywhere.

The journals here are written as a dead run leaves them: an ``apply-started`` entry with the
plan, some outcomes, an intent without an outcome, no summary, and no live lock.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from wizard.engine import Engine
from wizard.model.answers_file import load_answers
from wizard.model.plan import Plan
from wizard.run.journal import journal_dir
from wizard.run.recover import RecoveryError, find_run, read_run, unfinished_runs

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "new-bucket-sse-s3.yaml"


def dead_run_journal(plan: Plan, name: str, *, done: int, summary: Any = None) -> Path:
    """A journal as a killed run leaves it: ``done`` steps answered, the next in flight."""
    entries: list[dict[str, Any]] = [
        {"kind": "apply-started", "result": {"plan": plan.model_dump(mode="json")}}
    ]
    for step in plan.steps[: done + 1]:
        call = {
            "step_id": step.id,
            "service": step.call.service,
            "region": step.call.region,
            "operation": step.call.operation,
            "params": step.call.params,
            "rollback": False,
        }
        entries.append({"kind": "intent", **call})
        if len(entries) <= 2 * done:
            entries.append({"kind": "call", **call, "result": {}})
    for seq, entry in enumerate(entries, start=1):
        entry["seq"] = seq
    path = journal_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "version": 2,
        "started": "2026-12-07T08:00:00.000+00:00",
        "meta": {"pid": 1, "host": "elsewhere"},
        "entries": entries,
        "summary": summary,
    }
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def plan(engine: Engine) -> Plan:
    made, _found = engine.plan(load_answers(EXAMPLE))
    return made


def test_a_dead_run_is_listed_with_what_is_in_place_and_in_flight(plan: Plan) -> None:
    path = dead_run_journal(plan, "20261207T080000Z-acme-dead.json", done=2)
    (run,) = unfinished_runs()
    assert run.journal == str(path) and run.run_id == plan.run_id
    assert run.reason == "interrupted"
    assert run.done == [s.id for s in plan.steps[:2]]
    assert run.in_flight == [plan.steps[2].id]
    assert run.pending == [s.id for s in plan.steps[3:]]
    state = read_run(path)
    assert state.plan == plan and not state.finished
    assert find_run(plan.run_id[:8] if plan.run_id else None).journal == str(path)


def test_finished_and_live_runs_are_not_listed(plan: Plan, tmp_path: Path) -> None:
    dead_run_journal(plan, "finished.json", done=1, summary={"status": "rolled-back"})
    live = dead_run_journal(plan, "live.json", done=1)
    # A live run holds its journal's lock: another process, as a running apply would be.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
            "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()",
            f"{live}.lock",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert unfinished_runs() == []
        with pytest.raises(RecoveryError, match="no unfinished run"):
            find_run(None)
    finally:
        holder.communicate("")
    # The holder died: the same journal is now an unfinished run.
    deadline = time.monotonic() + 10
    while not unfinished_runs() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.journal for r in unfinished_runs()] == [str(live)]


def test_a_rollback_that_left_changes_is_listed(plan: Plan) -> None:
    dead_run_journal(plan, "incomplete.json", done=3, summary={"status": "rollback-incomplete"})
    (run,) = unfinished_runs()
    assert run.reason == "rollback-incomplete"


def test_plan_warns_about_an_unfinished_run(engine: Engine, plan: Plan) -> None:
    dead_run_journal(plan, "dead.json", done=1)
    again, _found = engine.plan(load_answers(EXAMPLE))
    (finding,) = [f for f in again.findings if f.code == "unfinished-run"]
    assert finding.severity == "warning"
    assert plan.run_id is not None and plan.run_id[:12] in finding.message
    assert "cloudtrail-wizard recover --rollback" in finding.message
    assert not again.blocked


def test_the_recover_command_lists_and_exits_1(plan: Plan) -> None:
    from screens.cli.main import main

    dead_run_journal(plan, "dead.json", done=1)
    out = io.StringIO()
    sys_stdout = sys.stdout
    try:
        sys.stdout = out
        code = main(["recover", "--output", "json"])
    finally:
        sys.stdout = sys_stdout
    assert code == 1
    (run,) = json.loads(out.getvalue())["unfinished"]
    assert run["run_id"] == plan.run_id and run["in_flight"] == [plan.steps[1].id]


def test_ambiguous_and_missing_runs_are_refused(plan: Plan) -> None:
    with pytest.raises(RecoveryError, match="no unfinished run"):
        find_run(None)
    dead_run_journal(plan, "a.json", done=1)
    dead_run_journal(plan.model_copy(update={"run_id": "f" * 32}), "b.json", done=1)
    with pytest.raises(RecoveryError, match="2 unfinished runs"):
        find_run(None)
    with pytest.raises(RecoveryError, match="No unfinished run matches"):
        find_run("nothing-like-it")
