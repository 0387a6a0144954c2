"""Messages that must match the screen they are on (issue 13, item 5).

Each test drives the wizard against the seeded sandbox and asserts what a person reads: no
"not connected" once the account is shown, no refusal beside a different choice, a typed key
judged as the table judges it, placeholders that read as hints, the sandbox's permission note
in words, next steps that name our own commands, Trail health on the trail just made, a log
browser header that names where its files are read from, and a screenshot that is saved.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Input, Markdown, Static

from screens.common.backend import Backend
from screens.tui.app import WizardApp
from screens.tui.logs import LogBrowserScreen
from screens.tui.status import StatusScreen
from screens.tui.steps.done import DoneScreen
from screens.tui.steps.encryption import EncryptionScreen
from screens.tui.widgets.choice_table import ChoiceTable
from screens.tui.widgets.findings import FindingsList
from tests.screens.tui.test_review_apply import (
    answers,
    apply_from_review,
    client,
    continue_to_done,
    open_review,
)
from tests.screens.tui.test_steps import SIZE, connected, paste_into, text, until
from wizard.aws.basics import CredentialsProblem

pytestmark = [pytest.mark.tui, pytest.mark.aws]

ACCOUNT = "123456789012"


def errors_shown(app: WizardApp) -> str:
    """The step's error summary under the form, as shown, on one line (empty when none)."""
    box = app.screen.query_one("#errors", Static)
    return " ".join(text(app, "#errors").split()) if box.size.area else ""


# ---------------------------------------------------------------------------- 1: connection


async def test_not_connected_goes_once_the_account_has_loaded(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    connect = Backend.connect

    def slow_connect(self: Backend) -> Any:
        release.wait(timeout=30)
        return connect(self)

    monkeypatch.setattr(Backend, "connect", slow_connect)
    app: WizardApp = app_factory()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot, lambda: bool(app.screen.query("#account")), "the welcome screen's blocks"
            )
            await pilot.press("ctrl+n")  # too early: still connecting
            await pilot.pause()
            assert app.current_step == "welcome"
            said = errors_shown(app)
            assert "still connecting to the sandbox" in said
            assert "continue on the sandbox" not in said.lower()  # it is the sandbox already

            release.set()
            await connected(pilot)
            assert "123456789012" in text(app, "#whoami")
            assert errors_shown(app) == ""
            assert "Not connected" not in errors_shown(app)
    finally:
        release.set()


async def test_not_connected_says_what_failed(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(self: Backend) -> Any:
        raise CredentialsProblem(
            "The session token has expired: sign in again (aws sso login).", kind="expired"
        )

    monkeypatch.setattr(Backend, "connect", refused)
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        # query(): the failure block is mounted after the first frame, with the connection.
        failed = app.screen.query
        await until(pilot, lambda: any(w.display for w in failed("#failed")), "the failure")
        await pilot.press("ctrl+n")
        await pilot.pause()
        said = errors_shown(app)
        assert said.startswith("✗ Not connected to the sandbox: The AWS credentials have expired.")
        assert "sign in again (aws sso login)" in said
        assert "Try again" in said
        assert "still connecting" not in said


# ---------------------------------------------------------------------------- 2, 3: keys


async def at_existing_keys(pilot: Pilot[Any]) -> ChoiceTable:
    """The encryption step with "an existing key" chosen and the key list shown."""
    app = await connected(pilot)
    app.go_to("encryption", app.state)
    await pilot.pause()
    await pilot.click("#key-mode-existing")
    table = app.screen.query_one("#keys", ChoiceTable)
    await until(pilot, lambda: bool(table.keys), "the key list")
    return table


def row_of(table: ChoiceTable, label: str) -> int:
    """The row index of the key labelled ``label``."""
    labels = [str(table.table.get_row(key)[0]) for key in table.keys]
    return labels.index(label)


async def test_choosing_another_key_replaces_the_refusal_of_the_first(app_factory: Any) -> None:
    app: WizardApp = app_factory(answers=answers(encryption={"type": "sse-kms"}))
    async with app.run_test(size=SIZE) as pilot:
        table = await at_existing_keys(pilot)
        # Chosen with the keyboard in the table (no filter typed, which would clear it too).
        table.table.focus()
        table.table.move_cursor(row=row_of(table, "alias/app-data-eu"))
        await pilot.press("enter")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, EncryptionScreen)
        assert "alias/app-data-eu cannot be used" in errors_shown(app)

        table.table.focus()
        table.table.move_cursor(row=row_of(table, "alias/cloudtrail-ready"))
        await pilot.press("enter")
        await pilot.pause()

        assert "Chosen: alias/cloudtrail-ready (us-east-1)" in text(app, "#key-chosen")
        assert "app-data-eu" not in errors_shown(app)
        assert errors_shown(app) == ""


async def test_a_typed_key_the_table_refuses_says_why(app_factory: Any) -> None:
    app: WizardApp = app_factory(answers=answers(encryption={"type": "sse-kms"}))
    async with app.run_test(size=SIZE) as pilot:
        await at_existing_keys(pilot)

        await paste_into(pilot, "#key-ref", "alias/app-data-eu")
        shown = text(app, "#key-chosen")
        assert shown.startswith("✗ alias/app-data-eu cannot be used: in eu-west-1")
        assert "the bucket is in us-east-1" in shown
        assert "checked on the review screen" not in shown
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.current_step == "encryption"
        assert "alias/app-data-eu cannot be used" in errors_shown(app)

        await paste_into(pilot, "#key-ref", "alias/cloudtrail-ready")
        assert text(app, "#key-chosen").startswith("Chosen: alias/cloudtrail-ready (us-east-1)")

        # Only a key the list does not have is left to the review.
        await paste_into(pilot, "#key-ref", "alias/from-another-account")
        shown = text(app, "#key-chosen")
        assert "alias/from-another-account" in shown
        assert "not in the list above: checked on the review screen" in shown


# ---------------------------------------------------------------------------- 4: placeholders


async def test_example_placeholders_read_as_hints(app_factory: Any) -> None:
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("delivery", app.state)
        await pilot.pause()
        await pilot.click("#sns-new")
        await pilot.pause()
        topic = app.screen.query_one("#topic-name", Input)
        assert topic.value == ""
        assert topic.placeholder == "e.g. cloudtrail-log-files"
        for selector in ("#topic-arn", "#role-arn"):
            assert app.screen.query_one(selector, Input).placeholder.startswith("e.g. ")
        # Empty means no topic, so Next asks for one; the placeholder never stood in for it.
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.current_step == "delivery"
        assert "Name the new SNS topic." in errors_shown(app)

        app.go_to("prefix", app.state)
        await pilot.pause()
        prefix = app.screen.query_one("#prefix", Input)
        assert prefix.placeholder == "empty = no prefix (e.g. cloudtrail)"


# ---------------------------------------------------------------------------- 5: permissions


async def test_the_review_has_no_permission_note_for_the_sandboxs_administrator(
    app_factory: Any,
) -> None:
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        shown = "\n".join(
            static.content.plain if isinstance(static.content, Text) else str(static.content)
            for static in review.query_one(FindingsList).query(Static).results(Static)
        )
        # The sandbox answers IAM's policy simulator: the administrator lacks nothing.
        assert "operator's permissions" not in shown
        assert "ResponseParserError" not in shown
        assert "Unable to parse response" not in shown


# ---------------------------------------------------------------------------- 6, 7: done


async def test_done_points_to_our_commands_and_trail_health_opens_on_the_new_trail(
    app_factory: Any,
) -> None:
    # "zeta" sorts after the seeded legacy-trail: the first row is not the new trail.
    app: WizardApp = app_factory(answers=answers(trail={"name": "zeta"}))
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot)
        await apply_from_review(pilot)
        done = await continue_to_done(pilot)

        steps = done.query_one("#next-steps", Markdown).source
        assert "cloudtrail-wizard --sandbox logs zeta" in steps
        assert "cloudtrail-wizard --sandbox validate zeta" in steps
        assert "Open Trail health (Ctrl+T)" in steps
        assert "within about half a minute" in steps
        assert "validate-logs" not in steps
        assert "15 minutes" not in steps

        await pilot.press("ctrl+t")
        await until(
            pilot,
            lambda: isinstance(app.screen, StatusScreen) and app.screen.report is not None,
            "the trail health report",
        )
        status = app.screen
        assert isinstance(status, StatusScreen)
        names = [t.name for t in status.report.trails] if status.report else []
        assert names.index("zeta") > 0  # not simply the first row
        assert status.selected == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/zeta"
        assert "zeta" in text(app, "#status-verdict")

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DoneScreen), "the done screen")


# ---------------------------------------------------------------------------- 8: log browser


async def test_log_browser_header_names_the_bucket_region_and_the_files_regions(
    app_factory: Any, sandbox: Any
) -> None:
    # A trail homed in us-west-2 whose bucket is in eu-west-1: the two regions differ.
    app: WizardApp = app_factory(
        answers=answers(
            trail={"name": "west", "region": "us-west-2", "multi_region": False},
            bucket={"name": "west-logs-5k2", "create": True, "region": "eu-west-1"},
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot)
        await apply_from_review(pilot)
        await continue_to_done(pilot)
        await pilot.press("ctrl+t")
        await until(
            pilot,
            lambda: isinstance(app.screen, StatusScreen) and app.screen.report is not None,
            "the trail health report",
        )
        sandbox.deliver_now()
        await pilot.press("l")
        await until(
            pilot,
            lambda: isinstance(app.screen, LogBrowserScreen) and bool(app.screen.files),
            "the log files",
        )
        browser = app.screen
        assert isinstance(browser, LogBrowserScreen)
        assert {f.region for f in browser.files} == {"us-west-2"}
        header = " ".join(text(app, "#logs-where").split())
        assert "s3://west-logs-5k2/AWSLogs/123456789012/CloudTrail/" in header
        assert "the bucket is in eu-west-1" in header
        assert "the events of us-west-2" in header
        # The region named for the bucket is the one S3 reports for it.
        located = client(sandbox, "s3").get_bucket_location(Bucket="west-logs-5k2")
        assert located["LocationConstraint"] == "eu-west-1"


# ---------------------------------------------------------------------------- 9: screenshot


async def test_screenshot_is_saved_where_it_can_be_and_says_where(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"  # no Downloads folder, as on many servers
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    app: WizardApp = app_factory()
    notes: list[str] = []
    notify = app.notify

    def noted(message: str, **options: Any) -> None:
        notes.append(message)
        notify(message, **options)

    monkeypatch.setattr(app, "notify", noted)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        shot = next(c for c in app.get_system_commands(app.screen) if c.title == "Screenshot")
        shot.callback()
        await until(pilot, lambda: bool(notes), "the screenshot's notification")
        saved = list(work.glob("*.svg"))
        assert len(saved) == 1 and "<svg" in saved[0].read_text(encoding="utf-8")
        assert notes == [f"Screenshot saved to {saved[0]}"]
        assert not (home / "Downloads").exists()

        # A current directory that is gone: the state directory takes it.
        gone = tmp_path / "gone"
        gone.mkdir()
        monkeypatch.chdir(gone)
        gone.rmdir()
        notes.clear()
        app.deliver_screenshot()
        shots = tmp_path / "state" / "cloudtrail-wizard" / "screenshots"
        saved = list(shots.glob("*.svg"))
        assert len(saved) == 1
        assert notes == [f"Screenshot saved to {saved[0]}"]
