"""A list of options to choose one from, where the arrow keys choose."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.events import Mount
from textual.widgets import RadioButton, RadioSet


class RadioList(RadioSet):
    """Textual's RadioSet, chosen the way radio buttons are chosen elsewhere: with the arrows.

    In Textual's own, the arrows move a highlight and only Space or Enter chooses, so a
    person who moved to an option and pressed Next got the old one. Here the arrows choose
    the option they move to (as in a browser's or a desktop's radio group); Space and Enter
    still choose the highlighted one, and a click chooses as before. The highlight starts on
    the chosen option, not on the first.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,right", "choose_next", "Next option", show=False),
        Binding("up,left", "choose_previous", "Previous option", show=False),
        Binding("enter,space", "toggle_button", "Choose", show=False),
    ]

    def _on_mount(self, _: Mount) -> None:
        # RadioSet's own mount handler runs after this one and highlights the first option.
        self.call_later(self._highlight_chosen)

    def _highlight_chosen(self) -> None:
        if self.pressed_index >= 0:
            self._selected = self.pressed_index

    def action_choose_next(self) -> None:
        """Move to the next option (wrapping) and choose it."""
        self.action_next_button()
        self._choose_highlighted()

    def action_choose_previous(self) -> None:
        """Move to the previous option (wrapping) and choose it."""
        self.action_previous_button()
        self._choose_highlighted()

    def _choose_highlighted(self) -> None:
        if self._selected is None:
            return
        button = self._nodes[self._selected]
        if isinstance(button, RadioButton) and not button.value:
            button.value = True
