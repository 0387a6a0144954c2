"""The key bar at the bottom of every step: Textual's footer, rebuilt once per burst."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

ESSENTIAL_ACTIONS = frozenset({"quit_wizard", "next", "back", "close", "toggle_help"})
"""Actions whose keys are hidden last when the footer is too narrow (Quit never is)."""


def _action(key: Widget) -> str:
    """A footer key's action without its namespace (``app.quit_wizard``: ``quit_wizard``)."""
    return str(getattr(key, "action", "")).rsplit(".", 1)[-1]


def _cells(key: Widget) -> int:
    """The cells a footer key's text takes (its padding included)."""
    shown = key.render()
    return shown.cell_len if isinstance(shown, Text) else key.outer_size.width


class StepFooter(Footer):
    """Textual's footer, rebuilding its keys once for a burst of binding changes.

    Textual's footer rebuilds every key (about 10 ms) after each "bindings changed" signal.
    A step sends several at once (the screen is pushed, focus moves, a lookup starts), so
    the first frame waited for two rebuilds. Here a signal schedules a rebuild only when
    none is pending: the pending one runs after the next refresh and shows the bindings as
    they are then, so the keys shown are the same, built once.
    """

    _rebuild_pending = False

    def on_mount(self) -> None:
        # Textual sets app_focus again on the first key after a blur without saying that
        # the bindings changed; the footer, skipped while blurred, would stay stale.
        self.watch(self.app, "app_focus", self._app_focus_changed, init=False)

    def _app_focus_changed(self, focused: bool) -> None:
        if focused:
            self.bindings_changed(self.screen)

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
        self.fit_keys()

    def on_resize(self, event: events.Resize) -> None:
        self.fit_keys()

    def fit_keys(self) -> None:
        """Hide the keys least needed when they do not all fit on the line.

        Textual's footer cuts whatever passes the right edge, which on an 80-column
        terminal was the key to quit ("^q Qui"). Keys go from the right, those with a button
        or another way first; Quit stays, and so do Next, Back, Help and Esc when they can.
        """
        keys = [key for key in self.query("FooterKey") if not key.has_class("-command-palette")]
        # The palette key is docked right, after a border and before a blank.
        palette = sum(_cells(key) + 2 for key in self.query(".-command-palette"))
        widths = {key: _cells(key) + key.styles.margin.width for key in keys}
        total = sum(widths.values())
        available = self.size.width - palette
        essential = [key for key in keys if _action(key) in ESSENTIAL_ACTIONS]
        others = [key for key in keys if key not in essential]
        hidden: set[Widget] = set()
        for key in [*reversed(others), *reversed(essential)]:
            if total <= available or _action(key) == "quit_wizard":
                continue
            hidden.add(key)
            total -= widths[key]
        for key in keys:
            key.display = key not in hidden
