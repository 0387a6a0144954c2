"""A lab in the plain prompts: its goal after the account, its checks (with their reasons)
when the wizard ends, recorded in the lab's progress."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from screens.common.classroom import LABS_VARIABLE, wizard_home
from screens.plain import wizard as plain
from tests.screens.plain.test_plain import (  # noqa: F401 (the fixtures, used by name)
    NEW_BUCKET_SSE_S3,
    Run,
    Seq,
    plain_sandbox,
    run_wizard,
    sandbox,
)
from tests.screens.tui.test_lab_class import LAB
from wizard.labs import LabProgress, read_progress, write_progress
from wizard.sandbox.server import DEMO_TRAIL


@pytest.fixture
def lab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test lab (two checks: one passes) started in the wizard's sandbox home."""
    folder = tmp_path / "labs"
    folder.mkdir()
    (folder / "class-test.yaml").write_text(LAB, encoding="utf-8")
    monkeypatch.setenv(LABS_VARIABLE, str(folder))
    monkeypatch.setenv("CLOUDTRAIL_WIZARD_SANDBOX_HOME", str(tmp_path / "home"))
    home = wizard_home()
    home.mkdir(parents=True)
    write_progress(home, LabProgress(lab="class-test", started=datetime.now(UTC)))
    return home


def test_the_goal_first_and_the_checks_at_the_end(
    run_wizard: Callable[..., Run],  # noqa: F811 (the fixture)
    lab_home: Path,
) -> None:
    run = run_wizard({**NEW_BUCKET_SSE_S3, plain.PROMPT_NEXT: Seq("dry-run", "quit")})
    assert run.code == 0, run.output
    goal = run.text.index("Lab class-test: Two checks, one that passes")
    assert "make a trail named nowhere-trail" in run.text
    checks = run.text.index("Lab class-test: 1 of 2 checks pass")
    assert goal < checks
    assert f"✓ Trail {DEMO_TRAIL} is logging:" in run.text
    assert "✗ Trail nowhere-trail is logging:" in run.text
    assert "Well done" not in run.text
    progress = read_progress(lab_home)
    assert progress.attempts == 1 and not progress.passed
    assert [c.passed for c in progress.checks] == [True, False]


def test_without_a_lab_nothing_is_said(
    run_wizard: Callable[..., Run],  # noqa: F811 (the fixture)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLOUDTRAIL_WIZARD_SANDBOX_HOME", str(tmp_path / "home"))
    run = run_wizard({**NEW_BUCKET_SSE_S3, plain.PROMPT_NEXT: Seq("dry-run", "quit")})
    assert run.code == 0, run.output
    assert "Lab " not in run.output and "checks pass" not in run.output
