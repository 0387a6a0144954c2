"""Step 7: which events the trail records, each option with its cost hint.

Management events and the sources to leave out; presets of data and network activity events
to start from; the selectors themselves, listed, each added or changed in the selector editor
(:mod:`screens.tui.steps.selector_editor`); Insights on management and data events together;
and data event aggregation. Every choice is the guide's (:mod:`wizard.guide`), as in plain mode.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Label, ListItem, ListView, Select, Static

from screens.common.selector_check import item_problems
from screens.tui.base import StepScreen, validation_messages
from screens.tui.state import WizardState
from screens.tui.steps.selector_editor import SelectorEditor
from wizard import guide
from wizard.guide import Choice, Draft

CHECKBOX_GROUPS = {
    "exclude-sources": "events.exclude_sources",
    "presets": guide.PRESETS_KEY,
    "insights": "events.insights",
    "aggregation": "events.aggregation",
}
"""Container id -> the checkbox question it renders."""


def _label(choice: Choice) -> Text:
    """The choice's label, with its (cost) hint dimmed beside it."""
    if not choice.hint:
        return Text(choice.label)
    return Text.assemble(choice.label, ("  " + choice.hint, "dim"))


class EventsScreen(StepScreen):
    """Management, data, network activity and Insights events; the last input step checks
    all answers."""

    STEP_ID = "events"
    AUTO_FOCUS = "#management"

    DEFAULT_CSS = """
    EventsScreen #management { width: 60; }
    EventsScreen .checkboxes { height: auto; }
    EventsScreen #selectors { height: auto; max-height: 14; border: round $panel; }
    EventsScreen #selectors > ListItem { height: auto; }
    EventsScreen #selector-buttons { height: auto; }
    EventsScreen #selector-buttons Button { margin-right: 1; }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data_items: list[dict[str, Any]] = []
        """The data event selectors as shown (answers-file items)."""
        self.network_items: list[dict[str, Any]] = []
        """The network activity selectors as shown."""

    def compose_body(self) -> ComposeResult:
        draft = self.state.draft
        self.data_items = [dict(i) for i in guide.get(draft, "events.data") or []]
        self.network_items = [dict(i) for i in guide.get(draft, "events.network") or []]
        management = self.question("events.management")
        yield Label(management.prompt, classes="field-label")
        yield Select(
            [(_label(c), c.value) for c in management.choices],
            value=self.initial("events.management"),
            allow_blank=False,
            id="management",
        )
        yield from self.compose_group("exclude-sources")
        yield from self.compose_group("presets")
        selectors = self.question(guide.SELECTORS_KEY)
        yield Label(selectors.prompt, classes="field-label")
        yield Static(selectors.help, classes="hint")
        yield ListView(id="selectors")
        actions = {c.value: c.label for c in selectors.choices}
        with Horizontal(id="selector-buttons"):
            yield Button(actions["add-data"], id="add-data")
            yield Button(actions["add-network"], id="add-network")
            yield Button(actions["change"], id="change-selector")
            yield Button(actions["remove"], id="remove-selector")
        yield Static("", id="selector-notes", classes="hint")
        yield from self.compose_group("insights")
        yield from self.compose_group("aggregation")

    def compose_group(self, group_id: str) -> ComposeResult:
        """A checkbox question of the guide: its prompt, one checkbox per choice, a note."""
        q = self.question(CHECKBOX_GROUPS[group_id])
        chosen = set(self.initial(q.key) or [])
        yield Label(q.prompt, classes="field-label")
        if q.help:
            yield Static(q.help, classes="hint")
        with Vertical(id=group_id, classes="checkboxes"):
            for choice in q.choices:
                yield Checkbox(
                    _label(choice), value=choice.value in chosen, name=choice.value, compact=True
                )
        yield Static("", id=f"{group_id}-note", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_selectors()
        self._apply_when()

    # ------------------------------------------------------------------ the selectors

    def items(self) -> list[dict[str, Any]]:
        """Data selectors, then network activity ones, as listed."""
        return [*self.data_items, *self.network_items]

    def refresh_selectors(self) -> None:
        """List the selectors, and what the guards say about them."""
        listing = self.query_one("#selectors", ListView)
        index = listing.index
        listing.clear()
        for item in self.items():
            listing.append(ListItem(Label(guide.describe_item(item))))
        if not self.items():
            listing.append(ListItem(Label("(none: management events only)"), disabled=True))
        if index is not None and self.items():
            listing.index = min(index, len(self.items()) - 1)
        notes: list[str] = []
        for number, item in enumerate(self.items(), 1):
            notes += [
                f"{number}. {p}" for p in item_problems(item, self.draft_now(), self.partition())
            ]
        note = self.query_one("#selector-notes", Static)
        note.update("\n".join(notes))
        note.display = bool(notes)
        self._apply_when()

    def draft_now(self) -> Draft:
        """The draft with this step's selectors (for the guards: the log buckets)."""
        draft = {k: dict(v) for k, v in self.state.draft.items()}
        draft.setdefault("events", {})
        draft["events"]["data"] = self.data_items
        draft["events"]["network"] = self.network_items
        return draft

    def _selected(self) -> int | None:
        index = self.query_one("#selectors", ListView).index
        return index if index is not None and index < len(self.items()) else None

    @on(Button.Pressed, "#add-data")
    def _add_data(self, event: Button.Pressed) -> None:
        event.stop()
        self.edit(None, {"type": "s3", "resources": "all", "read_write": "all"})

    @on(Button.Pressed, "#add-network")
    def _add_network(self, event: Button.Pressed) -> None:
        event.stop()
        self.edit(None, {"source": "s3.amazonaws.com", "denied_only": True})

    @on(Button.Pressed, "#change-selector")
    def _change(self, event: Button.Pressed) -> None:
        event.stop()
        index = self._selected()
        if index is not None:
            self.edit(index, self.items()[index])

    @on(ListView.Selected, "#selectors")
    def _chosen(self, event: ListView.Selected) -> None:
        index = self._selected()
        if index is not None:
            self.edit(index, self.items()[index])

    @on(Button.Pressed, "#remove-selector")
    def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        index = self._selected()
        if index is None:
            return
        if index < len(self.data_items):
            del self.data_items[index]
        else:
            del self.network_items[index - len(self.data_items)]
        self.sync_presets()
        self.refresh_selectors()

    def edit(self, index: int | None, item: dict[str, Any]) -> None:
        """Open the selector editor; a saved selector replaces ``index`` or is added."""

        def done(result: dict[str, Any] | None) -> None:
            if result is None:
                return
            network = "source" in result
            items = self.network_items if network else self.data_items
            offset = len(self.data_items) if network else 0
            if index is None:
                items.append(result)
            else:
                items[index - offset] = result
            self.sync_presets()
            self.refresh_selectors()

        self.app.push_screen(
            SelectorEditor(item, self.draft_now(), partition=self.partition()), done
        )

    def partition(self) -> str:
        """The session's ARN partition ("aws" before a session is open)."""
        info = self.wizard.backend.info
        return info.partition if info is not None else "aws"

    def sync_presets(self) -> None:
        """Tick exactly the presets whose selectors are all listed."""
        present = set(guide.presets_in(self.draft_now()))
        for box in self.query_one("#presets").query(Checkbox):
            with box.prevent(Checkbox.Changed):
                box.value = box.name in present

    @on(Checkbox.Changed, "#presets Checkbox")
    def _preset_changed(self, event: Checkbox.Changed) -> None:
        draft = self.draft_now()
        guide.apply_presets(draft, self._checked("presets"))
        self.data_items = list(draft["events"]["data"])
        self.network_items = list(draft["events"]["network"])
        self.refresh_selectors()

    # ------------------------------------------------------------------ the rules

    @on(Select.Changed, "#management")
    def _management_changed(self, event: Select.Changed) -> None:
        self._apply_when()

    def _apply_when(self) -> None:
        """Disable what does not apply to the management events and selectors chosen."""
        management = self.query_one("#management", Select).value
        has_data = bool(self.data_items)
        off = {
            "exclude-sources": (
                management == "none",
                "Only with management events.",
            ),
            "aggregation": (not has_data, "Aggregation summarises data events: add some."),
        }
        for group_id, (disabled, why) in off.items():
            for box in self.query_one(f"#{group_id}").query(Checkbox):
                box.disabled = disabled
            note = self.query_one(f"#{group_id}-note", Static)
            note.update(why if disabled else "")
            note.display = disabled
        notes = []
        for box in self.query_one("#insights").query(Checkbox):
            value = str(box.name)
            if value.startswith(guide.DATA_INSIGHT):
                box.disabled = not has_data
            elif value == "ApiCallRateInsight":
                box.disabled = management not in ("all", "write")
            else:
                box.disabled = management == "none"
        if management not in ("all", "write"):
            notes.append("The API call rate of management events needs write management events.")
        if not has_data:
            notes.append("Insights on data events need data events.")
        note = self.query_one("#insights-note", Static)
        note.update(" ".join(notes))
        note.display = bool(notes)

    def _checked(self, group_id: str) -> list[str]:
        return [
            str(box.name)
            for box in self.query_one(f"#{group_id}").query(Checkbox)
            if box.value and not box.disabled
        ]

    def collect(self) -> tuple[WizardState, list[str]]:
        state = self.state.with_answer(
            "events.management", self.query_one("#management", Select).value
        )
        for group_id, key in CHECKBOX_GROUPS.items():
            state = state.with_answer(key, self._checked(group_id))
        state = state.with_answer("events.data", [dict(i) for i in self.data_items])
        state = state.with_answer("events.network", [dict(i) for i in self.network_items])
        # The last input step: check every answer together, so cross-field problems (and
        # anything an answers file pre-filled) surface here with their field path.
        try:
            state.answers()
        except ValidationError as exc:
            return state, validation_messages(exc)
        return state, []
