"""Snapshots of review, confirm, apply and done: they guard the layout, Pilot tests the behaviour.

What changes from run to run is kept off the screen: the journal file name (a timestamp) is
fixed and shown under a fixed home directory, and the apply runs one step at a time so the
event log is always in the same order.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from screens.tui.confirm import ConfirmScreen
from screens.tui.steps.done import DoneScreen
from tests.screens.tui.test_review_apply import (
    APP_BUCKET,
    answers,
    apply_from_review,
    continue_to_done,
    open_review,
    until,
)

pytestmark = [pytest.mark.tui, pytest.mark.aws]


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fixed journal name under a fixed-looking home; one apply step at a time."""
    import wizard.engine
    import wizard.run.apply

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(
        "screens.tui.steps.apply.new_journal_path",
        lambda label="apply": tmp_path / "journal" / f"20250101T000000Z-{label}-snapshot.json",
    )
    monkeypatch.setattr(
        wizard.engine, "apply_plan", functools.partial(wizard.run.apply.apply_plan, max_workers=1)
    )
    monkeypatch.delenv("NO_COLOR", raising=False)


async def to_review(pilot: Pilot[Any]) -> None:
    await open_review(pilot)


def test_review_new_bucket(snap_compare: Any, app_factory: Any) -> None:
    """Review, new bucket with SSE-S3: a warning (sse-s3-not-cis) and a note, the Plan tab
    with 8 steps and their undo, tabs Plan / Controls / Bucket policy / Your IAM policy /
    AWS CLI, and Back, Dry-run, Apply… enabled."""
    app = app_factory(answers=answers())
    assert snap_compare(app, terminal_size=(120, 40), run_before=to_review)


def test_review_existing_bucket_diff(snap_compare: Any, app_factory: Any) -> None:
    """Review, existing bucket with a prefix, on the "Bucket policy changes" tab: the headline
    "✓ 2 statements added, nothing removed", the existing text dim and the new statements
    green behind "+"."""
    app = app_factory(
        answers=answers(bucket={"name": APP_BUCKET, "create": False, "prefix": "trail"})
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        review = await open_review(pilot)
        review.query_one("#tabs", TabbedContent).active = "bucket-policy-diff"

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_review_controls_tab(snap_compare: Any, app_factory: Any) -> None:
    """Review, new bucket with SSE-S3, on the Controls tab: CloudTrail.2, .7 and .5 fail in
    red with how to pass, KMS.4 is n/a, the rest pass in green."""

    async def run_before(pilot: Pilot[Any]) -> None:
        review = await open_review(pilot)
        review.query_one("#tabs", TabbedContent).active = "controls"

    app = app_factory(answers=answers())
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_review_small_terminal(snap_compare: Any, app_factory: Any) -> None:
    """Review at 80x24: the findings box scrolls, the tabs still show, the nav fits."""
    app = app_factory(answers=answers())
    assert snap_compare(app, terminal_size=(80, 24), run_before=to_review)


def test_confirm_apply(snap_compare: Any, app_factory: Any) -> None:
    """The confirmation over the review: "Apply 8 changes to account 123456789012 in region
    us-east-1?", Cancel focused, Apply in warning colour."""
    app = app_factory(answers=answers())

    async def run_before(pilot: Pilot[Any]) -> None:
        await open_review(pilot)
        # By key, not a click: a click leaves the pointer over the nav bar, and whether its
        # button is drawn hovered in the picture depended on when the pointer's event came.
        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the modal")

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_apply_finished(snap_compare: Any, app_factory: Any) -> None:
    """Apply finished: every row "✓ done", progress 100%, the event log in plan order, the
    journal as ~/journal/…-snapshot.json, Stop gone and Continue focused."""
    app = app_factory(answers=answers())

    async def run_before(pilot: Pilot[Any]) -> None:
        await open_review(pilot)
        await apply_from_review(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_done_applied(snap_compare: Any, app_factory: Any) -> None:
    """Done after a successful apply: the green headline, the trail ARN, where logs appear,
    every verification check ✓, the journal, next steps; Save answers and Quit."""
    app = app_factory(answers=answers())

    async def run_before(pilot: Pilot[Any]) -> None:
        await open_review(pilot)
        await apply_from_review(pilot)
        await continue_to_done(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_done_dry_run(snap_compare: Any, app_factory: Any) -> None:
    """Done after a dry-run: "DRY RUN — NOTHING WAS CHANGED", "8 changes recorded, none
    sent", the recorded calls in order; Back to review, Save answers, Quit."""
    app = app_factory(answers=answers())

    async def run_before(pilot: Pilot[Any]) -> None:
        await open_review(pilot)
        await pilot.click("#dry-run")
        await until(pilot, lambda: isinstance(pilot.app.screen, DoneScreen), "the dry-run")

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
