"""Adopt -> plan round trip: every example, applied, then adopted, plans no change.

Each example is applied by the wizard in the seeded sandbox; the trail it made is read back
with adopt, and the adopted answers (and the answers file adopt writes) are planned. The plan
must be empty: adopting reads exactly what the desired-state comparison compares, so a
person who adopts a trail and changes nothing changes nothing. The seeded legacy trail,
which the wizard did not make, round-trips too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.callers import CountingCaller
from tests.sandbox_fixtures import RequestLog, prepare_example
from wizard.account.adopt import adopt_trail, adopted_text
from wizard.engine import Engine
from wizard.model.answers_file import load_answers, parse_answers

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _steps(plan: Any) -> list[tuple[str, str]]:
    return [(s.id, s.summary) for s in plan.steps]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_an_applied_example_adopted_plans_no_change(
    example: Path, engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    prepare_example(example, aws)
    chosen = load_answers(example)
    plan, found = engine.plan(chosen)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    outcome = engine.apply(chosen, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message
    counted = CountingCaller(engine.caller)
    server_log.clear()

    adopted = adopt_trail(counted, engine.ctx, chosen.trail.name)

    assert counted.mutating() == [] and server_log.mutating() == []
    assert adopted.answers.trail.name == chosen.trail.name
    assert adopted.answers.bucket.create is False
    # The file adopt writes says the same as the answers it read.
    written = parse_answers(adopted_text(adopted))
    assert written == adopted.answers

    again, _found = engine.plan(written)

    assert not again.blocked, [f.message for f in again.findings if f.severity == "error"]
    assert again.steps == [] and again.unchanged, _steps(again)
    assert server_log.mutating() == []


def test_the_seeded_legacy_trail_adopted_plans_no_change(sandbox: Any, engine: Engine) -> None:
    adopted = adopt_trail(engine.caller, engine.ctx, "legacy-trail")

    plan, _found = engine.plan(adopted.answers)

    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    assert plan.steps == [] and plan.unchanged, _steps(plan)
