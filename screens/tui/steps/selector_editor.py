"""The selector editor of the Events step: one data or network activity event selector.

A ``ModalScreen`` that returns the selector as the answers file writes it (a dict), or None
when cancelled. It asks the guide's :data:`wizard.guide.SELECTOR_QUESTIONS`, the same questions
plain mode asks, and checks the selector as it is written with
:func:`screens.common.selector_check.item_problems` (the answers' rules and preflight's guards):
Save stays refused while the selector has an error, and says why.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from screens.common.selector_check import item_problems
from wizard import guide
from wizard.guide import Draft
from wizard.model.event_types import DATA_RESOURCE_TYPES, DATA_TYPE_ALIASES, NETWORK_EVENT_SOURCES

Q = guide.SELECTOR_QUESTIONS


class SelectorEditor(ModalScreen[dict[str, Any] | None]):
    """Write one selector: a data event selector, or one service's network activity events."""

    DEFAULT_CSS = """
    SelectorEditor { align: center middle; }
    SelectorEditor > #dialog {
        width: 92; max-width: 96%; height: 90%; padding: 0 1;
        border: thick $primary; background: $surface;
    }
    SelectorEditor #form { height: 1fr; }
    SelectorEditor .field-label { margin-top: 1; }
    SelectorEditor #condition-row { height: auto; }
    SelectorEditor #condition-row Select { width: 30; }
    SelectorEditor #condition-row Input { width: 1fr; }
    SelectorEditor #problems { color: $error; height: auto; }
    SelectorEditor #buttons { height: auto; align-horizontal: right; }
    SelectorEditor #buttons Button { margin-left: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, item: dict[str, Any], draft: Draft, *, partition: str = "aws") -> None:
        """Edit ``item`` (``{"type": ...}`` for data, ``{"source": ...}`` for network).

        Args:
            item: The selector as it is (a new one: only its kind's key).
            draft: The wizard's draft (its log buckets decide the loop guard).
            partition: The session's ARN partition.
        """
        super().__init__()
        self.item = dict(item)
        self.draft = draft
        self.partition = partition
        self.network = "source" in item
        self.conditions: list[dict[str, Any]] = [dict(c) for c in item.get("conditions") or []]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            title = "Network activity events" if self.network else "Data event selector"
            yield Label(title, id="editor-title")
            with VerticalScroll(id="form"):
                if self.network:
                    yield from self.compose_network()
                else:
                    yield from self.compose_data()
                yield Label(Q["name"].prompt, classes="field-label")
                yield Input(str(self.item.get("name") or ""), id="selector-name")
            yield Static("", id="problems")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def compose_network(self) -> ComposeResult:
        q = Q["source"]
        yield Label(q.prompt, classes="field-label")
        yield Static(q.help, classes="hint")
        yield Input(
            str(self.item.get("source") or q.default({})),
            id="selector-source",
            suggester=SuggestFromList(NETWORK_EVENT_SOURCES, case_sensitive=False),
        )
        yield Checkbox(
            Q["denied_only"].prompt,
            value=bool(self.item.get("denied_only", Q["denied_only"].default({}))),
            id="selector-denied",
        )

    def compose_data(self) -> ComposeResult:
        q = Q["type"]
        yield Label(q.prompt, classes="field-label")
        yield Static(q.help.replace("'?' lists", "type to search"), classes="hint")
        names = [*DATA_TYPE_ALIASES, *(t.type for t in DATA_RESOURCE_TYPES)]
        yield Input(
            str(self.item.get("type") or q.default({})),
            id="selector-type",
            suggester=SuggestFromList(names, case_sensitive=False),
        )
        rw = Q["read_write"]
        yield Label(rw.prompt, classes="field-label")
        yield Select(
            [(c.label, c.value) for c in rw.choices],
            value=self.item.get("read_write", "all"),
            allow_blank=False,
            id="selector-read-write",
        )
        res = Q["resources"]
        yield Label(res.prompt, classes="field-label")
        yield Static(res.help, classes="hint")
        resources = self.item.get("resources", "all")
        yield Input("all" if resources == "all" else " ".join(resources), id="selector-resources")
        yield Label("Conditions (all must hold)", classes="field-label")
        yield Static(Q["add_condition"].help, classes="hint")
        yield Static(self.conditions_text(), id="conditions")
        field = Q["field"]
        with Horizontal(id="condition-row"):
            yield Select(
                [(c.label, c.value) for c in field.choices],
                value=field.default({}),
                allow_blank=False,
                id="condition-field",
            )
            yield Select(
                [(c.label, c.value) for c in guide.operator_choices(field.default({}))],
                value="Equals",
                allow_blank=False,
                id="condition-operator",
            )
            yield Input(placeholder=Q["values"].prompt, id="condition-values")
        with Horizontal(id="condition-buttons"):
            yield Button("Add condition", id="add-condition")
            yield Button("Remove last condition", id="remove-condition")

    def conditions_text(self) -> str:
        if not self.conditions:
            return "(none)"
        return "\n".join(
            f"{c['field']} {c['operator']} {', '.join(c['values'])}" for c in self.conditions
        )

    def on_mount(self) -> None:
        first = "#selector-source" if self.network else "#selector-type"
        self.query_one(first, Input).focus()
        self.show_problems()

    @on(Select.Changed, "#condition-field")
    def _field_changed(self, event: Select.Changed) -> None:
        operators = guide.operator_choices(str(event.value))
        select = self.query_one("#condition-operator", Select)
        select.set_options([(c.label, c.value) for c in operators])
        select.value = operators[0].value

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self.show_problems()

    def built(self) -> dict[str, Any]:
        """The selector as the widgets show it, as the answers file writes it."""
        name = self.query_one("#selector-name", Input).value.strip() or None
        if self.network:
            item: dict[str, Any] = {
                "source": self.query_one("#selector-source", Input).value.strip(),
                "denied_only": self.query_one("#selector-denied", Checkbox).value,
            }
        else:
            resources = self.query_one("#selector-resources", Input).value.strip()
            item = {
                "type": self.query_one("#selector-type", Input).value.strip(),
                "resources": "all" if resources in ("", "all") else guide.split_values(resources),
                "read_write": self.query_one("#selector-read-write", Select).value,
            }
            if self.conditions:
                item["conditions"] = [dict(c) for c in self.conditions]
        if name:
            item["name"] = name
        return item

    def problems(self) -> list[str]:
        """What is wrong with the selector as written (errors first)."""
        if self.network:
            problem = guide.check_event_source(self.query_one("#selector-source", Input).value)
        else:
            problem = guide.check_data_type(
                self.query_one("#selector-type", Input).value
            ) or guide.check_resources(self.query_one("#selector-resources", Input).value)
        if problem:
            return [f"Refused: {problem}"]
        return item_problems(self.built(), self.draft, self.partition)

    def show_problems(self) -> None:
        problems = self.problems()
        self.query_one("#problems", Static).update("\n".join(problems))
        refused = any(p.startswith("Refused") for p in problems)
        self.query_one("#save", Button).disabled = refused

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button.id
        if button == "cancel":
            self.dismiss(None)
        elif button == "save":
            if not any(p.startswith("Refused") for p in self.problems()):
                self.dismiss(self.built())
        elif button == "add-condition":
            self.add_condition()
        elif button == "remove-condition" and self.conditions:
            self.conditions.pop()
            self.query_one("#conditions", Static).update(self.conditions_text())
            self.show_problems()

    def add_condition(self) -> None:
        values_input = self.query_one("#condition-values", Input)
        problem = guide.check_values(values_input.value)
        if problem:
            self.query_one("#problems", Static).update(f"Refused: {problem}")
            return
        self.conditions.append(
            {
                "field": self.query_one("#condition-field", Select).value,
                "operator": self.query_one("#condition-operator", Select).value,
                "values": guide.split_values(values_input.value),
            }
        )
        values_input.value = ""
        self.query_one("#conditions", Static).update(self.conditions_text())
        self.show_problems()

    def action_cancel(self) -> None:
        self.dismiss(None)
