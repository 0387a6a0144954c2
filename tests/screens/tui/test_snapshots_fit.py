"""Snapshots of the main screens at 80x24 and at 120x40, help asked for: they guard the fit.

One test over the screens and the two sizes. What a reviewer should see in every picture:
no label above the top edge, no table column or tab label cut at the right, the footer's
Quit whole. At 80x24 the help panel is hidden (the terminal is too narrow for it beside the
form) and buttons take one line; at 120x40 it is beside the form, and long paths and ARNs
break after a "/" or lose their middle, never a word cut at the edge.

Per screen:

* welcome: the account and the trails table (legacy-trail, its bucket on one line).
* storage: "An existing bucket", the three buckets; the Policy column wraps its note.
* encryption: "An existing key", the keys; "in eu-west-1, but the bucket is in us-east-1"
  wraps in the "Can be used?" column.
* review: a new KMS key (eleven steps): at 80x24 three findings on one line each and the
  first steps of the plan, each API call on its change's line; at 120x40 the findings box
  bounded and the tabs whole.
* review-diff: an existing bucket on the "Bucket diff" tab: the diff takes the room.
* done: after applying (SSE-S3): the trail ARN, the log path broken after a "/".
* status: legacy-trail with fixed times, its problems and controls; one-line buttons at 80x24.
* logs: one file opened: its name's middle elided in the title, the events table and the
  record.

Nothing that changes per run is on screen: the journal's name is fixed, the apply runs one
step at a time, the health report's times are fixed, and the log browser looks at a bucket
holding only the test's own file.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent

from screens.tui.app import WizardApp
from screens.tui.logs import LogBrowserScreen
from screens.tui.status import StatusScreen
from screens.tui.widgets.choice_table import ChoiceTable
from tests.screens.tui.test_review_apply import (
    APP_BUCKET,
    apply_from_review,
    client,
    continue_to_done,
    open_review,
)
from tests.screens.tui.test_review_apply import answers as review_answers
from tests.screens.tui.test_snapshots_status import FIXED, NOW
from tests.screens.tui.test_steps import answers, connected, until
from tests.wizard.health.test_logfiles import SAMPLE_RECORDS, at, log_key, put_log_file
from wizard.health.logfiles import LogLocation, log_root
from wizard.model.answers import Answers

pytestmark = [pytest.mark.tui, pytest.mark.aws]

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
"""The two terminals every main screen must suit."""

ACCOUNT = "123456789012"
BROWSE_BUCKET = f"fit-logs-{ACCOUNT}"

HEALTH_TIMES = (
    "time_logging_started",
    "time_logging_stopped",
    "latest_delivery_time",
    "latest_digest_delivery_time",
    "latest_cloudwatch_logs_delivery_time",
)
"""The times in a health report that change from run to run."""

Show = Callable[[Pilot[Any]], Awaitable[None]]


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fixed journal name under a fixed-looking home; one apply step at a time; fixed times."""
    import wizard.engine
    import wizard.health.trails
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
    real = wizard.health.trails.check_health

    def fixed_times(*args: Any, **kwargs: Any) -> Any:
        """The health report with the times CloudTrail reports replaced by fixed ones."""
        report = real(*args, **kwargs)
        trails = []
        for health in report.trails:
            update = {name: FIXED for name in HEALTH_TIMES if getattr(health.facts, name)}
            facts = health.facts.model_copy(update=update)
            trails.append(wizard.health.trails.judge(facts, now=NOW))
        return report.model_copy(update={"trails": trails, "checked_at": FIXED})

    monkeypatch.setattr(wizard.health.trails, "check_health", fixed_times)


async def freeze(pilot: Pilot[Any]) -> None:
    """Stop the cursors blinking (a blink would make the picture flaky) and settle."""
    await pilot.app.workers.wait_for_complete()
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


async def step(pilot: Pilot[Any], step_id: str) -> WizardApp:
    app: WizardApp = await connected(pilot)
    await pilot.app.workers.wait_for_complete()
    app.go_to(step_id, app.state)
    await until(pilot, lambda: app.current_step == step_id, step_id)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return app


async def show_welcome(pilot: Pilot[Any]) -> None:
    await connected(pilot)
    await freeze(pilot)


async def show_storage(pilot: Pilot[Any]) -> None:
    await step(pilot, "storage")
    await pilot.click("#mode-existing")
    table = pilot.app.screen.query_one("#buckets", ChoiceTable)
    await until(pilot, lambda: bool(table.keys), "the buckets")
    await freeze(pilot)


async def show_encryption(pilot: Pilot[Any]) -> None:
    await step(pilot, "encryption")
    await pilot.click("#key-mode-existing")
    table = pilot.app.screen.query_one("#keys", ChoiceTable)
    await until(pilot, lambda: bool(table.keys), "the keys")
    await freeze(pilot)


async def show_review(pilot: Pilot[Any]) -> None:
    await open_review(pilot)
    await freeze(pilot)


async def show_review_diff(pilot: Pilot[Any]) -> None:
    review = await open_review(pilot)
    review.query_one("#tabs", TabbedContent).active = "bucket-policy-diff"
    await freeze(pilot)


async def show_done(pilot: Pilot[Any]) -> None:
    await open_review(pilot)
    await apply_from_review(pilot)
    await continue_to_done(pilot)
    await freeze(pilot)


async def show_status(pilot: Pilot[Any]) -> None:
    app = await connected(pilot)
    await pilot.app.workers.wait_for_complete()
    app.push_screen(StatusScreen())
    await until(
        pilot,
        lambda: isinstance(app.screen, StatusScreen) and app.screen.report is not None,
        "the trail health report",
    )
    await freeze(pilot)


async def show_logs(pilot: Pilot[Any]) -> None:
    app = await connected(pilot)
    await pilot.app.workers.wait_for_complete()
    location = LogLocation(
        trail="legacy-trail",
        bucket=BROWSE_BUCKET,
        bucket_region="us-west-2",
        root=log_root("", ACCOUNT),
    )
    browser = LogBrowserScreen(location)
    app.push_screen(browser)
    await until(pilot, lambda: bool(browser.files), "the log files")
    await pilot.press("enter")
    await until(pilot, lambda: len(browser.rows) == len(SAMPLE_RECORDS), "the file's events")
    await freeze(pilot)


def kms_review() -> Answers:
    return review_answers(encryption={"type": "sse-kms"})


def diff_review() -> Answers:
    return review_answers(bucket={"name": APP_BUCKET, "create": False, "prefix": "trail"})


SCREENS: dict[str, tuple[Callable[[], Answers | None], Show]] = {
    "welcome": (lambda: None, show_welcome),
    "storage": (answers, show_storage),
    "encryption": (answers, show_encryption),
    "review": (kms_review, show_review),
    "review-diff": (diff_review, show_review_diff),
    "done": (review_answers, show_done),
    "status": (lambda: None, show_status),
    "logs": (lambda: None, show_logs),
}
"""Each main screen: the answers it starts from, and how to reach it."""


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("screen", list(SCREENS))
def test_main_screens_fit(
    snap_compare: Any, app_factory: Any, sandbox: Any, screen: str, size: str
) -> None:
    """See the module docstring for what each picture shows."""
    if screen == "logs":
        s3 = client(sandbox, "s3", "us-west-2")
        s3.create_bucket(
            Bucket=BROWSE_BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
        key = log_key("us-west-2", at("2025-01-02T10:05"))
        put_log_file(s3, key, SAMPLE_RECORDS, bucket=BROWSE_BUCKET)
    starting, show = SCREENS[screen]
    app = app_factory(answers=starting(), show_help=True)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=show)
