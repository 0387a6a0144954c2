"""The pickers stream: rows on screen before their details are read, Esc stops the listing.

The per-row reads (a bucket's policy, a key's DescribeKey) are held at a gate, so what the
screen shows while a listing is under way can be looked at without racing it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from textual.worker import WorkerState

from screens.tui.app import WizardApp
from screens.tui.steps.encryption import EncryptionScreen
from screens.tui.steps.storage import StorageScreen
from screens.tui.widgets.choice_table import ChoiceTable
from tests.screens.tui.test_steps import (
    APP_BUCKET,
    CENTRAL_BUCKET,
    LEGACY_BUCKET,
    SIZE,
    answers,
    connected,
    text,
    until,
)
from wizard.account import inventory

pytestmark = [pytest.mark.tui, pytest.mark.aws]

ROUNDS = 400


async def soon(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let messages run until ``condition()`` holds, without waiting for workers to end
    (the listing's worker is held at the gate on purpose)."""
    for _ in range(ROUNDS):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Every bucket policy read and key description waits until the event is set."""
    release = threading.Event()
    check_bucket, check_key = inventory.check_bucket, inventory.check_key

    def held_bucket(*args: Any) -> Any:
        release.wait(timeout=30)
        return check_bucket(*args)

    def held_key(*args: Any) -> Any:
        release.wait(timeout=30)
        return check_key(*args)

    monkeypatch.setattr(inventory, "check_bucket", held_bucket)
    monkeypatch.setattr(inventory, "check_key", held_key)
    yield release
    release.set()


def policy_cells(table: ChoiceTable) -> dict[str, str]:
    return {key: str(table.table.get_row(key)[2]) for key in table.keys}


async def test_bucket_rows_come_first_and_policies_follow(
    app_factory: Any, gate: threading.Event
) -> None:
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("storage", app.state)
        await pilot.pause()
        await pilot.click("#mode-existing")
        table = app.screen.query_one("#buckets", ChoiceTable)
        await soon(pilot, lambda: len(table.keys) == 3, "the bucket rows")

        # Rows with their regions while every policy is still being read, and the progress.
        assert table.table.display
        assert set(policy_cells(table).values()) == {"…"}
        assert app.screen.query_one("#buckets .choice-loading").display
        assert "reading their policies: 0 of 3" in text(app, "#buckets .choice-loading-label")
        rows = {key: [str(c) for c in table.table.get_row(key)] for key in table.keys}
        assert rows[CENTRAL_BUCKET][1] == "eu-west-1"
        # Usable meanwhile: the filter works on the rows there are.
        await pilot.click("#buckets Input")
        await pilot.press(*"legacy")
        await soon(pilot, lambda: table.keys == [LEGACY_BUCKET], "the filtered rows")

        gate.set()
        await until(pilot, lambda: "…" not in policy_cells(table).values(), "the policies")
        assert not app.screen.query_one("#buckets .choice-loading").display
        assert "needs CloudTrail" in policy_cells(table)[LEGACY_BUCKET]
        await pilot.press(*["backspace"] * 6)
        await soon(pilot, lambda: len(table.keys) == 3, "all rows again")
        assert "allows CloudTrail" in policy_cells(table)[CENTRAL_BUCKET]
        assert "Enter or a click chooses a bucket." in text(app, "#buckets .choice-note")


async def test_escape_stops_a_listing_and_keeps_its_rows(
    app_factory: Any, gate: threading.Event
) -> None:
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("storage", app.state)
        await pilot.pause()
        await pilot.click("#mode-existing")
        table = app.screen.query_one("#buckets", ChoiceTable)
        await soon(pilot, lambda: len(table.keys) == 3, "the bucket rows")
        worker = next(w for w in app.workers if w.group == "buckets")
        assert worker.state == WorkerState.RUNNING

        await pilot.press("escape")
        await soon(pilot, lambda: worker.state == WorkerState.CANCELLED, "the cancellation")
        await soon(pilot, lambda: "Listing stopped" in text(app, "#buckets .choice-note"), "note")
        assert "3 buckets shown" in text(app, "#buckets .choice-note")
        assert table.keys == [APP_BUCKET, CENTRAL_BUCKET, LEGACY_BUCKET]
        assert app.screen.query_one("#reload-buckets").display
        gate.set()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert set(policy_cells(table).values()) == {"…"}  # a stopped listing stays stopped

        # A row of a stopped listing can be chosen.
        table.table.focus()
        table.table.move_cursor(row=1)
        await pilot.press("enter")
        await pilot.pause()
        assert f"Chosen: {CENTRAL_BUCKET} (eu-west-1): its policy is being read" in text(
            app, "#chosen"
        )


async def test_escape_says_the_bucket_listing_stopped_at_once_and_stops_its_reads(
    app_factory: Any, gate: threading.Event
) -> None:
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("storage", app.state)
        await pilot.pause()
        await pilot.click("#mode-existing")
        table = app.screen.query_one("#buckets", ChoiceTable)
        await soon(pilot, lambda: len(table.keys) == 3, "the bucket rows")
        screen = app.screen
        assert isinstance(screen, StorageScreen)
        listing = screen.bucket_listing
        assert listing is not None

        # What Esc runs: the note is there before any message is handled (the worker's
        # cancellation comes as one, behind the batches already posted), and the policy
        # reads still waiting are dropped.
        screen.action_cancel_lookup()
        note = app.screen.query_one("#buckets .choice-note", Static)
        assert "Listing stopped (3 buckets shown" in str(note.render())
        assert listing.cancelled
        worker = next(w for w in app.workers if w.group == "buckets")
        await soon(pilot, lambda: worker.state == WorkerState.CANCELLED, "the cancellation")
        gate.set()
        await soon(pilot, lambda: listing.finished, "the reads under way to end")
        # Said once, and the listing stays stopped.
        assert "Listing stopped (3 buckets shown" in text(app, "#buckets .choice-note")
        assert set(policy_cells(table).values()) == {"…"}
        assert app.screen.query_one("#reload-buckets").display


async def test_key_rows_come_before_they_are_described(
    app_factory: Any, gate: threading.Event
) -> None:
    app: WizardApp = app_factory(answers=answers(encryption={"type": "sse-kms"}))
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("encryption", app.state)
        await pilot.pause()
        await pilot.click("#key-mode-existing")
        table = app.screen.query_one("#keys", ChoiceTable)
        await soon(pilot, lambda: len(table.keys) == 5, "the key rows")

        usable = {
            str(table.table.get_row(k)[0]): str(table.table.get_row(k)[2]) for k in table.keys
        }
        # The bucket's region's keys wait for DescribeKey; the others are refused at once.
        assert usable["alias/cloudtrail-ready"] == "…"
        assert usable["alias/app-data-eu"].startswith("✗ in eu-west-1")
        assert "checking them: 2 of 5" in text(app, "#keys .choice-loading-label")

        gate.set()
        await until(
            pilot,
            lambda: all(str(table.table.get_row(k)[2]) != "…" for k in table.keys),
            "every key described",
        )
        usable = {
            str(table.table.get_row(k)[0]): str(table.table.get_row(k)[2]) for k in table.keys
        }
        assert usable["alias/cloudtrail-ready"] == "✓ yes"
        assert usable["alias/retired-key"].startswith("✗ Disabled")
        assert "Enter or a click chooses a key." in text(app, "#keys .choice-note")


async def test_escape_says_the_key_listing_stopped_at_once_and_stops_its_reads(
    app_factory: Any, gate: threading.Event
) -> None:
    app: WizardApp = app_factory(answers=answers(encryption={"type": "sse-kms"}))
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("encryption", app.state)
        await pilot.pause()
        await pilot.click("#key-mode-existing")
        table = app.screen.query_one("#keys", ChoiceTable)
        await soon(pilot, lambda: len(table.keys) == 5, "the key rows")
        screen = app.screen
        assert isinstance(screen, EncryptionScreen)
        listing = screen.key_listing
        assert listing is not None

        screen.action_cancel_lookup()
        note = app.screen.query_one("#keys .choice-note", Static)
        assert "Listing stopped: choose one of the keys shown" in str(note.render())
        assert listing.cancelled
        worker = next(w for w in app.workers if w.group == "keys")
        await soon(pilot, lambda: worker.state == WorkerState.CANCELLED, "the cancellation")
        gate.set()
        await soon(pilot, lambda: listing.finished, "the reads under way to end")
        assert "Listing stopped: choose one of the keys shown" in str(note.render())
        assert str(table.table.get_row(table.keys[0])[2]) == "…"  # still not described
        assert app.screen.query_one("#reload-keys").display
