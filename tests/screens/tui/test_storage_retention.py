"""The storage step offers retention: colder storage, expiry, and Object Lock for a new bucket."""

from __future__ import annotations

from typing import Any

from textual.widgets import RadioButton, Select

from tests.screens.tui.test_steps import SIZE, answers, connected, next_step, paste_into, text


async def test_storage_sets_the_lifecycle_and_object_lock_of_a_new_bucket(
    app_factory: Any,
) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("storage", app.state)
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        screen = app.screen
        assert screen.query_one("#object-lock-group").display  # a new bucket
        assert not screen.query_one("#object-lock-days-row").display  # off by default
        # Standard-IA sooner than 30 days is refused, with the fix.
        await paste_into(pilot, "#retention-move", "10")
        screen.query_one("#retention-class", Select).value = "STANDARD_IA"
        await paste_into(pilot, "#retention-expire", "400")
        screen.query_one("#object-lock-COMPLIANCE", RadioButton).value = True
        await pilot.pause()
        assert screen.query_one("#object-lock-days-row").display
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.current_step == "storage"
        assert "no sooner than 30 days" in text(app, "#errors")
        await paste_into(pilot, "#retention-move", "30")
        await paste_into(pilot, "#object-lock-days", "90")
        await next_step(pilot, "prefix")

        retention = app.state.answers().bucket.retention
        assert retention is not None
        assert (retention.transition_days, retention.storage_class) == (30, "STANDARD_IA")
        assert (retention.expire_days, retention.noncurrent_expire_days) == (400, None)
        assert retention.object_lock is not None
        assert (retention.object_lock.mode, retention.object_lock.days) == ("COMPLIANCE", 90)


async def test_storage_offers_no_object_lock_for_an_existing_bucket(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("storage", app.state)
        await pilot.pause()
        await pilot.click("#mode-existing")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.screen.query_one("#object-lock-group").display
