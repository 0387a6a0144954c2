"""Plain mode's selector editor: the Events step's data and network activity event selectors.

The TUI lists the selectors and edits one in a dialog; plain mode lists them and asks, in a
loop, what to do next (keep them, add one, change one, remove one), with the guide's menu
(:data:`wizard.guide.SELECTOR_ACTIONS`) and its questions for one selector
(:data:`wizard.guide.SELECTOR_QUESTIONS`). Each selector is checked as soon as it is written
(:func:`screens.common.selector_check.item_problems`): one that would be refused is asked
again, starting from what was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from screens.common.selector_check import item_problems
from screens.plain.prompts import Prompter
from wizard import guide
from wizard.guide import Choice, Draft

__all__ = ["edit_selectors"]

Q = guide.SELECTOR_QUESTIONS


class Asker(Protocol):
    """What the editor needs from the plain wizard (:class:`screens.plain.wizard.PlainWizard`)."""

    @property
    def ask(self) -> Prompter:
        """The prompter."""
        ...

    def line(self, text: str = "") -> None:
        """Write a line."""

    def para(
        self, text: str, indent: str = "", *, hang: str | None = None, blank: bool = True
    ) -> None:
        """Write wrapped text."""

    def choose(self, prompt: str, choices: Iterable[Choice], default: Any) -> Any:
        """Ask for one of the choices."""

    def confirm(self, prompt: str, default: bool) -> bool:
        """Ask yes or no."""


def _validator(check: Callable[[Any], str | None]) -> Callable[[str], bool | str]:
    def validate(text: str) -> bool | str:
        if text.strip() == "?":
            return True  # lists the catalogue, then asks again
        problem = check(text.strip())
        return True if problem is None else problem

    return validate


def _text(w: Asker, q: guide.Question, default: str, listing: Iterable[str] = ()) -> str:
    """Ask a text question; ``?`` prints ``listing`` and asks again."""
    lines = list(listing)
    while True:
        answer = w.ask.text(q.prompt, default=default, validate=_validator(q.validate)).strip()
        if answer == "?" and lines:
            for text in lines:
                w.line(f"  {text}")
            continue
        return answer


def _ask_data(w: Asker, item: dict[str, Any]) -> dict[str, Any]:
    """Ask one data event selector, starting from ``item``."""
    w.para(Q["type"].help, indent="  ", blank=False)
    kind = _text(w, Q["type"], str(item.get("type") or "s3"), guide.data_type_lines())
    read_write = w.choose(
        Q["read_write"].prompt, Q["read_write"].choices, item.get("read_write", "all")
    )
    resources = item.get("resources", "all")
    w.para(Q["resources"].help, indent="  ", blank=False)
    typed = _text(w, Q["resources"], "all" if resources == "all" else " ".join(resources))
    built: dict[str, Any] = {
        "type": kind,
        "resources": "all" if typed in ("", "all") else guide.split_values(typed),
        "read_write": read_write,
    }
    conditions = [dict(c) for c in item.get("conditions") or []]
    if conditions:
        w.line("  Conditions: " + "; ".join(_condition(c) for c in conditions))
        if not w.confirm(guide.KEEP_CONDITIONS_PROMPT, True):
            conditions = []
    w.para(Q["add_condition"].help, indent="  ", blank=False)
    while w.confirm(Q["add_condition"].prompt, False):
        field = w.choose(Q["field"].prompt, Q["field"].choices, "eventName")
        operators = guide.operator_choices(str(field))
        operator = w.choose(guide.OPERATOR_PROMPT, operators, operators[0].value)
        w.para(Q["values"].help, indent="  ", blank=False)
        values = _text(w, Q["values"], "")
        conditions.append(
            {"field": field, "operator": operator, "values": guide.split_values(values)}
        )
    if conditions:
        built["conditions"] = conditions
    return built


def _ask_network(w: Asker, item: dict[str, Any]) -> dict[str, Any]:
    """Ask one service's network activity events, starting from ``item``."""
    w.para(Q["source"].help, indent="  ", blank=False)
    source = _text(
        w, Q["source"], str(item.get("source") or "s3.amazonaws.com"), guide.NETWORK_SOURCE_LINES
    )
    denied = w.confirm(Q["denied_only"].prompt, bool(item.get("denied_only", True)))
    return {"source": source, "denied_only": denied}


def _condition(c: dict[str, Any]) -> str:
    return f"{c.get('field')} {c.get('operator')} {', '.join(c.get('values') or [])}"


def _ask_one(w: Asker, item: dict[str, Any], draft: Draft, partition: str) -> dict[str, Any]:
    """Ask a selector until it is one the guards accept; returns it."""
    while True:
        built = _ask_network(w, item) if "source" in item else _ask_data(w, item)
        name = w.ask.text(Q["name"].prompt, default=str(item.get("name") or "")).strip()
        if name:
            built["name"] = name
        problems = item_problems(built, draft, partition)
        for problem in problems:
            w.para(problem, indent="  ", blank=False)
        if not any(p.startswith("Refused") for p in problems):
            return built
        w.line("  Asking for this selector again, from what you typed.")
        item = built


def _listing(w: Asker, items: list[dict[str, Any]], draft: Draft, partition: str) -> None:
    if not items:
        w.line("  No data or network activity event selectors: management events only.")
        return
    for number, item in enumerate(items, 1):
        w.line(f"  {number}. {guide.describe_item(item)}")
        for problem in item_problems(item, draft, partition):
            w.para(problem, indent="     ", blank=False)


def edit_selectors(w: Asker, draft: Draft, partition: str = "aws") -> None:
    """The selectors question: list them, then add, change or remove until kept.

    Args:
        w: The plain wizard (its prompter and output).
        draft: The draft; ``events.data`` and ``events.network`` are changed in place.
        partition: The session's ARN partition.
    """
    q = next(q for q in guide.step("events").questions if q.key == guide.SELECTORS_KEY)
    events = draft.setdefault("events", {})
    data = [dict(i) for i in events.get("data") or []]
    network = [dict(i) for i in events.get("network") or []]
    w.para(q.help, indent="  ", blank=False)
    while True:
        events["data"], events["network"] = data, network
        items = [*data, *network]
        _listing(w, items, draft, partition)
        offered = [c for c in q.choices if items or c.value not in ("change", "remove")]
        action = w.choose(q.prompt, offered, "done")
        if action == "done":
            return
        if action in ("add-data", "add-network"):
            start: dict[str, Any] = (
                {"type": "s3"} if action == "add-data" else {"source": "s3.amazonaws.com"}
            )
            built = _ask_one(w, start, draft, partition)
            (network if "source" in built else data).append(built)
            continue
        picks = [Choice(n, guide.describe_item(i)) for n, i in enumerate(items)]
        index = int(w.choose(guide.PICK_PROMPT, picks, 0))
        target, offset = (data, 0) if index < len(data) else (network, len(data))
        if action == "remove":
            del target[index - offset]
        else:
            target[index - offset] = _ask_one(w, items[index], draft, partition)
