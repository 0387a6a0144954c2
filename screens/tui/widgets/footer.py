"""The key bar at the bottom of every step: Textual's footer, rebuilt once per burst."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class StepFooter(Footer):
    """Textual's footer, rebuilding its keys once for a burst of binding changes.

    Textual's footer rebuilds every key (about 10 ms) after each "bindings changed" signal.
    A step sends several at once (the screen is pushed, focus moves, a lookup starts), so
    the first frame waited for two rebuilds. Here a signal schedules a rebuild only when
    none is pending: the pending one runs after the next refresh and shows the bindings as
    they are then, so the keys shown are the same, built once.
    """

    _rebuild_pending = False

    def bindings_changed(self, screen: Screen[Any]) -> None:
        # Textual 8's Footer.bindings_changed (any screen, whatever it dismisses with), with
        # the duplicate rebuilds left out.
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_pending = False
        await self.recompose()
