"""A lab and a class in the full-screen wizard: the help panel shows the lab's goal and the
hints revealed (the hint key reveals the next, noted in the progress), the Done step runs
the lab's checks and records them, the trainer's message arrives once, and every step shown
is written for the trainer's dashboard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from screens.common.classroom import (
    LABS_VARIABLE,
    Broadcast,
    read_position,
    seen_broadcasts,
    wizard_home,
    write_broadcast,
)
from screens.tui import keys
from screens.tui.app import WizardApp
from screens.tui.lab import LabChecks, LabPanel
from tests.screens.tui.test_keys import record_notifications
from wizard import guide
from wizard.labs import LabProgress, read_progress, write_progress
from wizard.sandbox.server import DEMO_TRAIL

pytestmark = pytest.mark.tui

ROUNDS = 200
"""Upper bound of pause rounds while waiting for a condition (never reached when healthy)."""

LAB = f"""\
id: class-test
title: "Two checks, one that passes"
summary: "A lab for the wizard's tests."
goal: |
  Keep the trail {DEMO_TRAIL} logging, and make a trail named nowhere-trail.
hints:
  - "The first hint: open the Trail step."
  - "The second hint: name it nowhere-trail."
explanation: "Well done: both trails log."
checks:
  - id: legacy-logging
    title: "Trail {DEMO_TRAIL} is logging"
    kind: trail_logging
    trail: {DEMO_TRAIL}
  - id: nowhere-logging
    title: "Trail nowhere-trail is logging"
    kind: trail_logging
    trail: nowhere-trail
"""


async def until(pilot: Pilot[Any], condition: Callable[[], Any], what: str) -> None:
    """Let workers and messages run until ``condition()`` holds (no sleeping)."""
    for _ in range(ROUNDS):
        if condition():
            await pilot.pause()
            return
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError(f"timed out waiting for {what}")


def shown(widget: Widget) -> str:
    """What a widget shows on screen, its lines joined and blanks collapsed (text wraps)."""
    size = widget.size
    lines = widget.render_lines(Region(0, 0, size.width, size.height))
    return " ".join(" ".join(s.text for s in lines).split())


@pytest.fixture
def lab_home(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The wizard's sandbox home with the test lab started in it (the trainer's folder)."""
    folder = tmp_path / "labs"
    folder.mkdir()
    (folder / "class-test.yaml").write_text(LAB, encoding="utf-8")
    monkeypatch.setenv(LABS_VARIABLE, str(folder))
    monkeypatch.setenv("CLOUDTRAIL_WIZARD_SANDBOX_HOME", str(tmp_path / "home"))
    home = wizard_home()
    home.mkdir(parents=True)
    write_progress(home, LabProgress(lab="class-test", started=datetime.now(UTC)))
    return home


async def test_the_help_panel_shows_the_goal_and_reveals_hints(
    app_factory: Callable[..., WizardApp], lab_home: Path
) -> None:
    app = app_factory(show_help=True)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.class_link and app.class_link.lab, "the lab to be read")
        panel = app.screen.query_one(LabPanel)
        await until(pilot, lambda: panel.display and "class-test" in shown(panel), "the panel")
        text = shown(panel)
        assert "Two checks, one that passes" in text
        assert "make a trail named nowhere-trail" in text
        assert "The first hint" not in text
        assert f"{keys.label(keys.HINT)}: show a hint (2 left)" in text

        await pilot.press(keys.HINT)
        await until(pilot, lambda: "The first hint" in shown(panel), "the first hint")
        assert "The second hint" not in shown(panel)
        assert read_progress(lab_home).hints_shown == 1
        assert "(1 left)" in shown(panel)

        await pilot.press(keys.HINT)
        await until(pilot, lambda: "The second hint" in shown(panel), "the second hint")
        assert read_progress(lab_home).hints_shown == 2
        assert "Every hint is shown" in shown(panel)
        # None left: the key is no longer offered (and revealing more changes nothing).
        assert app.check_action("lab_hint", ()) is False
        await pilot.press(keys.HINT)
        await pilot.pause()
        assert read_progress(lab_home).hints_shown == 2


async def test_the_hint_opens_a_closed_help_panel(
    app_factory: Callable[..., WizardApp], lab_home: Path
) -> None:
    app = app_factory(show_help=False)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.class_link and app.class_link.lab, "the lab to be read")
        assert not app.screen.query_one("#help-panel").display
        await pilot.press(keys.HINT)
        panel = app.screen.query_one(LabPanel)
        await until(pilot, lambda: "The first hint" in shown(panel), "the first hint")
        assert app.screen.query_one("#help-panel").display


async def test_without_a_lab_nothing_is_added(
    app_factory: Callable[..., WizardApp], sandbox: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("CLOUDTRAIL_WIZARD_SANDBOX_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    app = app_factory(show_help=True)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.class_link is not None, "the class link")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.class_link is not None and app.class_link.lab is None
        assert not app.screen.query_one(LabPanel).display
        assert app.check_action("lab_hint", ()) is False
        # The position is written all the same (a served wizard without a lab).
        position = read_position(tmp_path / "home")
        assert position is not None and position.step == "welcome"


async def test_the_done_step_runs_the_checks_and_records_them(
    app_factory: Callable[..., WizardApp], lab_home: Path
) -> None:
    app = app_factory()
    app.backend.connect()
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.class_link and app.class_link.lab, "the lab to be read")
        app.go_to("done")
        await until(pilot, lambda: app.screen.query(LabChecks), "the Done step")
        checks = app.screen.query_one(LabChecks)
        await until(pilot, lambda: checks.results is not None, "the lab's checks")
        assert checks.results is not None
        passed = {r.id: r.passed for r in checks.results}
        assert passed == {"legacy-logging": True, "nowhere-logging": False}
        text = shown(checks)
        assert "1 of 2 checks pass" in text
        assert f"✓ Trail {DEMO_TRAIL} is logging" in text
        assert "✗ Trail nowhere-trail is logging" in text
        failed = next(r for r in checks.results if not r.passed)
        assert failed.reason.split()[0] in text  # each check with its reason
        assert "Well done" not in text  # the explanation only once every check passes

        progress = read_progress(lab_home)
        assert progress.attempts == 1 and not progress.passed
        assert [c.id for c in progress.checks] == ["legacy-logging", "nowhere-logging"]
        position = read_position(lab_home)
        assert position is not None and position.step == "done"


async def test_a_trainers_message_is_shown_once_and_kept_in_the_help_panel(
    app_factory: Callable[..., WizardApp],
    lab_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(show_help=True)
    async with app.run_test(size=(140, 45)) as pilot:
        notes = record_notifications(app, monkeypatch)
        await until(pilot, lambda: app.class_link and app.class_link.lab, "the lab to be read")
        message = Broadcast(id="0123456789abcdef", text="Break in [5] minutes", time="now")
        write_broadcast(lab_home, message)
        app.watch_class()
        panel = app.screen.query_one(LabPanel)
        await until(pilot, lambda: "Break in [5] minutes" in shown(panel), "the message")
        assert "From the trainer" in shown(panel)
        assert notes == ["From the trainer: Break in [5] minutes"]
        assert seen_broadcasts(lab_home) == ["0123456789abcdef"]

        # Read again (the same message): not shown a second time.
        app.class_link.stamps.clear()  # type: ignore[union-attr]
        app.watch_class()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert notes == ["From the trainer: Break in [5] minutes"]


async def test_every_step_shown_is_written_for_the_dashboard(
    app_factory: Callable[..., WizardApp], lab_home: Path
) -> None:
    app = app_factory()
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.class_link is not None, "the class link")
        app.go_to("storage")
        await pilot.pause()
        position = read_position(lab_home)
        assert position is not None
        assert (position.step, position.title) == ("storage", guide.step_title("storage"))
        assert position.trail_arn is None
