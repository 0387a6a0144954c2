"""Scrolling a focused field into view runs after a refresh: the screen may be gone by then.

The form scrolls so a focused field's label stays in view, one refresh after the focus
moved. By then the person may have pressed Next or Back, or the screen may have no form at
all any more: the scroll must then do nothing, not stop the app (it did, with NoMatches on
``#body``, in about half of the picker bench's runs).
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from screens.tui.app import WizardApp
from screens.tui.base import StepScreen
from screens.tui.steps.storage import StorageScreen
from screens.tui.steps.trail import TrailScreen
from tests.screens.tui.test_steps import SIZE, connected

pytestmark = [pytest.mark.tui, pytest.mark.aws]


async def test_a_late_scroll_after_the_screen_changed_does_nothing(app_factory: Any) -> None:
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("trail", app.state)
        await pilot.pause()
        trail = app.screen
        assert isinstance(trail, TrailScreen)
        name = trail.query(Input).first()

        app.go_to("storage", app.state)
        await pilot.pause()
        assert isinstance(app.screen, StorageScreen)
        assert not trail.is_attached
        trail.scroll_field_into_view(name)  # the callback as it runs one refresh too late

        # And a screen whose form is not there (yet, or any more).
        storage = app.screen
        assert isinstance(storage, StepScreen)
        field = storage.query(Input).first()
        await storage.query_one("#body").remove()
        storage.scroll_field_into_view(field)
        await pilot.pause()
        assert app.is_running and app.screen is storage
