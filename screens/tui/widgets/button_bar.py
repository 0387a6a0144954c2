"""A row of buttons that keeps every button on screen: short labels when the long ones do not fit.

A Horizontal row of buttons aligned right pushes its first buttons off the left edge when
they are wider than the screen (Trail health's six buttons at 80 columns). A
:class:`ButtonBar` measures its buttons once laid out and, when they do not fit, gives those
named in ``short`` their short labels; back to the long ones once there is room again.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual import events
from textual.containers import Horizontal
from textual.widgets import Button


class ButtonBar(Horizontal):
    """A row of buttons; those named in ``short`` (by id) have a shorter label for narrow rows."""

    def __init__(self, *, short: Mapping[str, str], id: str | None = None) -> None:  # noqa: A002
        """Create the row (its buttons are composed into it as usual).

        Args:
            short: The short label of a button, by the button's id.
            id: Widget id.
        """
        super().__init__(id=id)
        self.short = dict(short)
        """Short labels by button id."""
        self.long: dict[str, str] = {}
        """The buttons' own labels, by id, while the short ones are shown."""
        self._long_width = 0
        """The width the buttons took with their long labels (0: not measured yet)."""

    @property
    def shortened(self) -> bool:
        """The short labels are shown."""
        return bool(self.long)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.fit)

    def on_mount(self) -> None:
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """Short labels when the buttons overflow the row, long ones when they fit again."""
        buttons = [b for b in self.query(Button) if b.display]
        room = self.content_region.width
        if not self.shortened:
            needed = sum(b.outer_size.width for b in buttons)
            if needed > room:
                self._long_width = needed
                for button in buttons:
                    if button.id is not None and button.id in self.short:
                        self.long[button.id] = str(button.label)
                        button.label = self.short[button.id]
        elif room >= self._long_width:
            for button in self.query(Button):
                if button.id is not None and button.id in self.long:
                    button.label = self.long[button.id]
            self.long.clear()
