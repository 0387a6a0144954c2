"""The Status screen and the log browser, driven through the TUI against the seeded sandbox.

The account is changed and checked with plain boto3 clients; the screens are driven with
keys and clicks, and their state (the report, the rows shown) is what is asserted.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from screens.tui.app import WizardApp
from screens.tui.logs import LogBrowserScreen
from screens.tui.status import StatusScreen
from screens.tui.steps.done import DoneScreen
from screens.tui.steps.welcome import WelcomeScreen
from tests.screens.tui.test_review_apply import (
    answers,
    apply_from_review,
    client,
    continue_to_done,
    open_review,
    text_of,
    until,
)
from tests.screens.tui.test_steps import connected
from tests.wizard.health.test_logfiles import SAMPLE_RECORDS, at, log_key, put_log_file

pytestmark = [pytest.mark.tui, pytest.mark.aws]

SIZE = (120, 40)
ACCOUNT = "123456789012"
LEGACY = "legacy-trail"
LEGACY_ARN = f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/{LEGACY}"
LEGACY_BUCKET = f"demo-legacy-trail-logs-{ACCOUNT}"


async def open_status(pilot: Pilot[Any], key: str = "ctrl+t") -> StatusScreen:
    """Press ``key`` and wait for the Status screen's first check to finish."""
    app = pilot.app
    await pilot.press(key)
    await until(
        pilot,
        lambda: isinstance(app.screen, StatusScreen) and app.screen.report is not None,
        "the trail health report",
    )
    screen = app.screen
    assert isinstance(screen, StatusScreen)
    return screen


def table_rows(screen: Any, selector: str) -> list[list[str]]:
    """The cells of a DataTable as plain strings, top to bottom."""
    table = screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row(key)] for key in table.rows]


async def test_status_opens_from_welcome_and_shows_the_trails(app_factory: Any) -> None:
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)

        screen = await open_status(pilot)

        assert table_rows(screen, "#status-trails") == [
            [LEGACY, "us-west-2", "⚠ warning", "yes", "2 of 9 passed", "8"]
        ]
        assert screen.selected == LEGACY_ARN
        assert text_of(screen, "#status-verdict") == f"⚠ WARNING  {LEGACY} (us-west-2)"
        lines = text_of(screen, "#status-controls").splitlines()
        marks = {line.split()[1]: line.split()[0] for line in lines if line[:1] in "✓✗–?"}
        assert marks == {
            "CloudTrail.1": "✗",
            "CloudTrail.4": "✗",
            "CloudTrail.2": "✗",
            "KMS.4": "–",
            "CloudTrail.6": "✓",
            "CloudTrail.7": "✗",
            "Retention": "✓",
            "S3.22": "✗",
            "S3.23": "✗",
            "CloudTrail.5": "✗",
        }
        validation = next(i for i, line in enumerate(lines) if "CloudTrail.4" in line)
        assert lines[validation + 1].strip() == "CIS 3.2 (v1.4.0, v3.0.0), 4.2 (v7.0)"
        facts = text_of(screen, "#status-facts")
        assert "Bucket policy allows CloudTrail  yes" in facts
        # Sandbox mode offers delivery on demand.
        assert screen.query_one("#status-deliver").display

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen), "the welcome screen")


async def test_the_welcome_button_opens_status_and_a_stopped_trail_is_failing(
    app_factory: Any, sandbox: Any
) -> None:
    client(sandbox, "cloudtrail", "us-west-2").stop_logging(Name=LEGACY)
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.click("#trail-health")
        await until(
            pilot,
            lambda: isinstance(app.screen, StatusScreen) and app.screen.report is not None,
            "the trail health report",
        )
        screen = app.screen
        assert isinstance(screen, StatusScreen)

        (row,) = table_rows(screen, "#status-trails")
        assert row[2:4] == ["✗ failing", "NO"]
        problems = text_of(screen, "#status-problems")
        assert problems.startswith(f"✗ Trail {LEGACY} is not logging")
        assert "aws cloudtrail start-logging --name" in problems


async def test_status_opens_from_done_and_shows_the_new_trail(app_factory: Any) -> None:
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot)
        await apply_from_review(pilot)
        await continue_to_done(pilot)

        screen = await open_status(pilot)

        names = [row[0] for row in table_rows(screen, "#status-trails")]
        assert names == ["acme", LEGACY]
        acme = screen.trail(f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/acme")
        assert acme is not None
        assert acme.facts.is_logging is True and acme.facts.bucket_policy_allows is True
        assert acme.control("CloudTrail.1").status == "pass"
        assert acme.control("CloudTrail.2").status == "fail"  # the answers chose SSE-S3
        # The cursor starts on the first trail: the new one.
        assert screen.selected == acme.facts.arn

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DoneScreen), "the done screen")


async def test_the_log_browser_opens_a_file_and_filters_its_rows(
    app_factory: Any, sandbox: Any
) -> None:
    # Dated far ahead, so it is the newest file whatever the sandbox delivers meanwhile.
    key = put_log_file(
        client(sandbox, "s3", "us-west-2"),
        log_key("us-west-2", at("2099-01-02T10:05")),
        SAMPLE_RECORDS,
        bucket=LEGACY_BUCKET,
    )
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await open_status(pilot)
        await pilot.press("l")
        await until(
            pilot,
            lambda: isinstance(app.screen, LogBrowserScreen) and bool(app.screen.files),
            "the newest log files",
        )
        browser = app.screen
        assert isinstance(browser, LogBrowserScreen)
        assert browser.files[0].key == key
        first = table_rows(browser, "#logs-files")[0]
        assert first[:3] == ["2099-01-02 10:05Z", "us-west-2", f"{browser.files[0].size:,} B"]

        await pilot.press("enter")
        await until(pilot, lambda: len(browser.rows) == 5, "the file's events")
        assert browser.opened == key
        assert [r[2] for r in table_rows(browser, "#logs-records")] == [
            "ListBuckets",
            "PutBucketPolicy",
            "ConsoleLogin",
            "GenerateDataKey",
            "DescribeInstances",
        ]
        assert '"eventName": "ListBuckets"' in text_of(browser, "#logs-record-json")

        await pilot.press("slash")
        assert browser.query_one("#logs-filter", Input).has_focus
        await pilot.press(*"error:*")
        await until(pilot, lambda: len(browser.shown) == 1, "the filter")
        (row,) = table_rows(browser, "#logs-records")
        assert row[2:4] == ["PutBucketPolicy", "Deployer/deploy-session"]
        assert row[5] == "AccessDenied: User is not authorized to perform s3:PutBucketPolicy"
        assert text_of(browser, "#logs-file-title").endswith(": 1 of 5")

        filter_box = browser.query_one("#logs-filter", Input)
        filter_box.value = "who:alice"
        await until(pilot, lambda: len(browser.shown) == 2, "the second filter")
        assert [r[2] for r in table_rows(browser, "#logs-records")] == [
            "ListBuckets",
            "DescribeInstances",
        ]

        await pilot.press("escape")  # leaves the filter box
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, StatusScreen), "the status screen")


async def test_a_file_that_is_not_a_log_file_is_explained(app_factory: Any, sandbox: Any) -> None:
    key = f"AWSLogs/{ACCOUNT}/CloudTrail/us-west-2/2099/01/03/notes.json.gz"
    client(sandbox, "s3", "us-west-2").put_object(Bucket=LEGACY_BUCKET, Key=key, Body=b"hello")
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await open_status(pilot)
        await pilot.press("l")
        await until(
            pilot,
            lambda: isinstance(app.screen, LogBrowserScreen) and bool(app.screen.files),
            "the newest log files",
        )
        browser = app.screen
        assert isinstance(browser, LogBrowserScreen)
        browser.open_file(key)
        await until(
            pilot, lambda: bool(browser.query_one("#logs-error").display), "the error message"
        )
        assert text_of(browser, "#logs-error").startswith(f"{key} is not gzip-compressed")
        assert not browser.query_one("#logs-records").display


async def test_deliver_logs_now_writes_files_the_browser_can_open(app_factory: Any) -> None:
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = await open_status(pilot)
        before = screen.report

        await pilot.press("d")
        await until(
            pilot,
            lambda: screen.report is not before and screen.report is not None,
            "the delivery and the new check",
        )
        health = screen.trail(LEGACY_ARN)
        assert health is not None
        assert health.facts.latest_delivery_time is not None
        assert health.facts.latest_delivery_error is None

        await pilot.press("l")
        await until(
            pilot,
            lambda: isinstance(app.screen, LogBrowserScreen) and bool(app.screen.files),
            "the delivered log files",
        )
        browser = app.screen
        assert isinstance(browser, LogBrowserScreen)
        assert browser.files[0].region == "us-west-2"
        await pilot.press("enter")
        await until(pilot, lambda: bool(browser.rows), "the delivered file's events")
        # The legacy trail records its region's calls, such as the status check's own reads.
        assert "GetTrailStatus" in {r.action for r in browser.rows}


async def test_validate_log_integrity_explains_a_trail_without_validation(
    app_factory: Any,
) -> None:
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = await open_status(pilot)
        assert not screen.query_one("#status-integrity").display

        await pilot.press("v")
        await until(pilot, lambda: LEGACY_ARN in screen.integrity, "the integrity report")

        report = screen.integrity[LEGACY_ARN]
        assert report.problem_kind == "validation-off"
        shown = text_of(screen, "#status-integrity")
        assert shown.startswith(f"? Log file validation is off for trail {LEGACY}")


async def test_validate_log_integrity_of_delivered_digests(app_factory: Any, sandbox: Any) -> None:
    trails = client(sandbox, "cloudtrail")
    trails.create_trail(
        Name="checked",
        S3BucketName=f"demo-central-logs-{ACCOUNT}",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
    )
    trails.start_logging(Name="checked")
    arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/checked"
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        screen = await open_status(pilot)
        await pilot.press("d")  # the sandbox writes log files and signed digests
        await until(
            pilot,
            lambda: (
                (health := screen.trail(arn)) is not None
                and health.facts.latest_digest_delivery_time is not None
            ),
            "the delivered digests",
        )
        assert screen.selected == arn  # "checked" sorts first

        await pilot.press("v")
        await until(pilot, lambda: arn in screen.integrity, "the integrity report")

        report = screen.integrity[arn]
        assert report.ok, report
        shown = text_of(screen, "#status-integrity")
        assert shown.startswith("✓ ") and " log file" in shown and "valid" in shown
