"""Step 7: which events the trail records, each option with its cost hint."""

from __future__ import annotations

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Label, Select, Static

from screens.tui.base import StepScreen, validation_messages
from screens.tui.state import WizardState
from wizard.guide import Choice, Draft

CHECKBOX_GROUPS = {
    "exclude-sources": "events.exclude_sources",
    "data-events": "events.data",
    "insights": "events.insights",
}
"""Container id -> the checkbox question it renders."""


def _label(choice: Choice) -> Text:
    """The choice's label, with its (cost) hint dimmed beside it."""
    if not choice.hint:
        return Text(choice.label)
    return Text.assemble(choice.label, ("  " + choice.hint, "dim"))


class EventsScreen(StepScreen):
    """Management, data and Insights events; the last input step checks all answers."""

    STEP_ID = "events"
    AUTO_FOCUS = "#management"

    DEFAULT_CSS = """
    EventsScreen #management { width: 60; }
    EventsScreen .checkboxes { height: auto; }
    """

    def compose_body(self) -> ComposeResult:
        management = self.question("events.management")
        yield Label(management.prompt, classes="field-label")
        yield Select(
            [(_label(c), c.value) for c in management.choices],
            value=self.initial("events.management"),
            allow_blank=False,
            id="management",
        )
        for group_id, key in CHECKBOX_GROUPS.items():
            q = self.question(key)
            chosen = set(self.initial(key) or [])
            yield Label(q.prompt, classes="field-label")
            with Vertical(id=group_id, classes="checkboxes"):
                for choice in q.choices:
                    yield Checkbox(
                        _label(choice),
                        value=choice.value in chosen,
                        name=choice.value,
                        compact=True,
                    )
            yield Static("", id=f"{group_id}-note", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self._apply_when()

    @on(Select.Changed, "#management")
    def _management_changed(self, event: Select.Changed) -> None:
        self._apply_when()

    def _draft(self) -> Draft:
        """The events answers as the widgets show them (for the guide's ``when`` rules)."""
        return {"events": {"management": self.query_one("#management", Select).value}}

    def _apply_when(self) -> None:
        """Disable the questions that do not apply to the chosen management events."""
        draft = self._draft()
        notes = {
            "exclude-sources": "Only with management events.",
            "insights": "Insights analyse write management events: record all or write.",
        }
        for group_id, key in CHECKBOX_GROUPS.items():
            applies = self.question(key).when(draft)
            for box in self.query_one(f"#{group_id}").query(Checkbox):
                box.disabled = not applies
            note = self.query_one(f"#{group_id}-note", Static)
            note.update("" if applies else notes.get(group_id, ""))
            note.display = not applies

    def _checked(self, group_id: str) -> list[str | None]:
        return [
            box.name
            for box in self.query_one(f"#{group_id}").query(Checkbox)
            if box.value and not box.disabled
        ]

    def collect(self) -> tuple[WizardState, list[str]]:
        state = self.state.with_answer(
            "events.management", self.query_one("#management", Select).value
        )
        for group_id, key in CHECKBOX_GROUPS.items():
            state = state.with_answer(key, self._checked(group_id))
        # The last input step: check every answer together, so cross-field problems (and
        # anything an answers file pre-filled) surface here with their field path.
        try:
            state.answers()
        except ValidationError as exc:
            return state, validation_messages(exc)
        return state, []
