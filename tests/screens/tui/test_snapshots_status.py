"""Snapshots of the Status screen and the log browser: they guard the layout.

What changes from run to run is kept off the screen: the times CloudTrail reports (logging
started, latest delivery) are replaced by fixed ones before the report is shown, and the log
browser looks at a bucket no trail delivers to, holding only the test's own file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from screens.tui.logs import LogBrowserScreen
from screens.tui.status import StatusScreen
from tests.screens.tui.test_review_apply import client, until
from tests.screens.tui.test_steps import connected
from tests.wizard.health.test_logfiles import SAMPLE_RECORDS, at, log_key, put_log_file
from wizard.health.logfiles import LogLocation, log_root

pytestmark = [pytest.mark.tui, pytest.mark.aws]

ACCOUNT = "123456789012"
BROWSE_BUCKET = f"browse-logs-{ACCOUNT}"
FIXED = "2026-01-01T12:00:00Z"
NOW = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)
_TIMES = (
    "time_logging_started",
    "time_logging_stopped",
    "latest_delivery_time",
    "latest_digest_delivery_time",
    "latest_cloudwatch_logs_delivery_time",
)


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed times in the health report; colours on."""
    import wizard.health.trails

    real = wizard.health.trails.check_health

    def fixed_times(*args: Any, **kwargs: Any) -> Any:
        report = real(*args, **kwargs)
        trails = []
        for health in report.trails:
            update = {name: FIXED for name in _TIMES if getattr(health.facts, name)}
            facts = health.facts.model_copy(update=update)
            trails.append(wizard.health.trails.judge(facts, now=NOW))
        return report.model_copy(update={"trails": trails, "checked_at": FIXED})

    monkeypatch.setattr(wizard.health.trails, "check_health", fixed_times)
    monkeypatch.delenv("NO_COLOR", raising=False)


async def show_status(pilot: Pilot[Any]) -> None:
    app = await connected(pilot)
    await pilot.app.workers.wait_for_complete()
    await pilot.press("ctrl+t")
    await until(
        pilot,
        lambda: isinstance(app.screen, StatusScreen) and app.screen.report is not None,
        "the trail health report",
    )
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_status_legacy_trail(snap_compare: Any, app_factory: Any) -> None:
    """Status in the sandbox: one row, legacy-trail (us-west-2) "⚠ warning", logging yes,
    "1 of 6 passed"; below, WARNING with the Block Public Access warning, the controls with
    their CIS numbers dim under each (✗ ✗ ✗ – ✓ ✗ ✗), then "To pass the failed controls" and
    the facts (scrolled); buttons Back, Deliver logs now, Validate logs, Log files, Refresh;
    the footer's Back / Refresh / Log files / Deliver logs now / Validate log integrity."""
    assert snap_compare(app_factory(), terminal_size=(120, 40), run_before=show_status)


def test_status_small_terminal(snap_compare: Any, app_factory: Any) -> None:
    """Status at 80x24: the table, the verdict and the first reasons; the details scroll and
    the buttons still fit."""
    assert snap_compare(app_factory(), terminal_size=(80, 24), run_before=show_status)


def test_log_browser_filtered(snap_compare: Any, app_factory: Any, sandbox: Any) -> None:
    """The log browser on a bucket holding one file: the files table (2025-01-02 10:05Z,
    us-west-2, its size and name), "Events in ...: 1 of 5" after typing error:* in the
    filter, the one refused call (PutBucketPolicy by Deployer/deploy-session, the error in
    red) and its full JSON record below."""
    s3 = client(sandbox, "s3", "us-west-2")
    s3.create_bucket(
        Bucket=BROWSE_BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    put_log_file(
        s3, log_key("us-west-2", at("2025-01-02T10:05")), SAMPLE_RECORDS, bucket=BROWSE_BUCKET
    )
    location = LogLocation(
        trail="legacy-trail",
        bucket=BROWSE_BUCKET,
        bucket_region="us-west-2",
        root=log_root("", ACCOUNT),
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await connected(pilot)
        await pilot.app.workers.wait_for_complete()
        browser = LogBrowserScreen(location)
        app.push_screen(browser)
        await until(pilot, lambda: bool(browser.files), "the log files")
        await pilot.press("enter")
        await until(pilot, lambda: len(browser.rows) == 5, "the file's events")
        await pilot.press("slash", *"error:*")
        await until(pilot, lambda: len(browser.shown) == 1, "the filter")
        browser.query_one("#logs-filter", Input).cursor_blink = False
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=(120, 40), run_before=run_before)
