"""The key bar at the bottom of every step: Textual's footer, rebuilt once per burst."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

# Textual (pinned) does not export its footer key class; the footer is built from it.
from textual.widgets._footer import FooterKey

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
    """Textual's footer, with its keys from the start and rebuilt only when they change.

    Textual's footer starts empty and builds every key (about 10 ms) after each "bindings
    changed" signal. A step sends several at once (the screen is pushed, focus moves, a
    lookup starts), so the first frame waited for two rebuilds. Here the keys are built
    with the screen, and a signal schedules a rebuild only when none is pending: the
    pending one runs after the next refresh, and only if the keys to show are not those
    shown already (the signal that follows a screen's start usually changes nothing).
    """

    _rebuild_pending = False

    def __init__(self, *children: Widget, **options: Any) -> None:
        super().__init__(*children, **options)
        # The screen's bindings are known when it is composed: no empty first frame.
        self.set_reactive(Footer._bindings_ready, True)
        self._shown: tuple[object, ...] | None = None
        """What the keys on show were built from (see :meth:`_keys_to_show`)."""

    def compose(self) -> ComposeResult:
        self._shown = self._keys_to_show()
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                # A key is made compact (Textual's default), and all but the palette's are
                # bound to the footer's own (not compact): as it was mounted, each took the
                # class "-compact" and most lost it again, each time restyled (4-12 ms of a
                # step's build). Made as it ends up, with its class.
                compact = widget.compact if widget.has_class("-command-palette") else self.compact
                widget.set_reactive(FooterKey.compact, compact)
                widget.set_class(compact, "-compact", update=False)
            yield widget

    def _keys_to_show(self) -> tuple[object, ...]:
        """Everything Textual's ``Footer.compose`` builds the keys from, to compare."""
        app = self.app
        shown = tuple(
            (binding, enabled, tooltip, app.get_key_display(binding))
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )
        palette = self.show_command_palette and app.ENABLE_COMMAND_PALETTE
        return (shown, palette, app.COMMAND_PALETTE_BINDING)

    def app_focus_changed(self, focused: bool) -> None:
        """The app got (or lost) the focus: rebuild the keys if they changed meanwhile.

        Textual sets app_focus again on the first key after a blur without saying that the
        bindings changed; the footer, skipped while blurred, would stay stale. The app calls
        this for the footers of its screens (``WizardApp.watch_app_focus``): a footer that
        watched ``app_focus`` itself stayed in the app's list of watchers after its screen
        had gone (Textual prunes that list only when the value changes), so every step
        shown kept its footer and keys alive.
        """
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
        if not self.is_attached or self._keys_to_show() == self._shown:
            return  # gone with its screen, or the same keys: nothing to rebuild
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
