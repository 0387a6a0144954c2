"""The command palette offers the wizard's main actions."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.tui, pytest.mark.aws]


async def test_palette_lists_the_main_actions(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Quit wizard", "Save answers", "Toggle help panel", "Next step"} <= set(titles)
        # Textual's own Quit would skip the "nothing changed / roll back?" question.
        assert "Quit" not in titles
        assert "Theme" in titles  # light and dark themes stay one command away


async def test_palette_help_toggle_runs_the_screen_action(app_factory: Any) -> None:
    app = app_factory(show_help=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        toggle = next(
            c for c in app.get_system_commands(app.screen) if c.title == "Toggle help panel"
        )
        toggle.callback()
        await pilot.pause()
        assert app.show_help is True
        assert app.screen.query_one("#help-panel").display is True
