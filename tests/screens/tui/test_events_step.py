"""The Events step: the guide's choices, presets that become selectors, and the selector editor.

Driven with clicks and keys against the seeded sandbox. The step offers exactly the guide's
choices (plain mode's tests check the same of its prompts), a preset's selectors are listed
and removed with it, and the editor refuses a selector that would record the trail's own log
bucket, saying why, until it is fixed.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Button, Checkbox, Input, Label, ListView, Select

from screens.tui.steps.selector_editor import SelectorEditor
from tests.screens.tui.test_steps import SIZE, answers, connected, paste_into, text, until
from wizard import guide

pytestmark = [pytest.mark.tui, pytest.mark.aws]

QUESTIONS = {q.key: q for q in guide.step("events").questions}
GROUPS = {
    "#exclude-sources": "events.exclude_sources",
    "#presets": guide.PRESETS_KEY,
    "#insights": "events.insights",
    "#aggregation": "events.aggregation",
}


async def test_the_step_offers_exactly_the_guides_choices(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("events", app.state)
        await pilot.pause()
        for group, key in GROUPS.items():
            boxes = list(app.screen.query(f"{group} Checkbox").results(Checkbox))
            choices = QUESTIONS[key].choices
            assert [b.name for b in boxes] == [c.value for c in choices], key
            for box, choice in zip(boxes, choices, strict=True):
                assert str(box.label) == (
                    f"{choice.label}  {choice.hint}" if choice.hint else choice.label
                )
        management = app.screen.query_one("#management", Select)
        assert [value for _label, value in management._options if value is not Select.BLANK] == [
            c.value for c in QUESTIONS["events.management"].choices
        ]
        actions = {c.value: c.label for c in QUESTIONS[guide.SELECTORS_KEY].choices}
        for button_id, action in (
            ("#add-data", "add-data"),
            ("#add-network", "add-network"),
            ("#change-selector", "change"),
            ("#remove-selector", "remove"),
        ):
            assert str(app.screen.query_one(button_id, Button).label) == actions[action]


async def test_presets_become_selectors_and_leave_with_them(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("events", app.state)
        await pilot.pause()
        boxes = {b.name: b for b in app.screen.query("#presets Checkbox").results(Checkbox)}
        await pilot.click(boxes["s3-writes"])
        await pilot.click(boxes["vpce-denied"])
        listing = app.screen.query_one("#selectors", ListView)
        assert len(listing.children) == 6  # S3 writes and five services' denials
        shown = [str(label.render()) for label in listing.query(Label)]
        assert shown[0] == "S3 writes, every resource"
        assert shown[1] == "Network activity of cloudtrail.amazonaws.com: VPC endpoint denials"
        await pilot.click(boxes["vpce-denied"])
        assert len(listing.children) == 1
        state, errors = app.screen.collect()
        assert errors == []
        assert state.answers().events.data[0].read_write == "write"
        assert state.answers().events.network == []


async def test_the_editor_refuses_a_selector_recording_the_log_bucket(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("events", app.state)
        await pilot.pause()
        await pilot.click("#add-data")
        await until(pilot, lambda: isinstance(app.screen, SelectorEditor), "the editor")
        editor = app.screen
        assert isinstance(editor, SelectorEditor)
        editor.query_one("#selector-read-write", Select).value = "write"
        await paste_into(pilot, "#selector-resources", "arn:aws:s3:::acme-trail-logs-5k2/")
        assert editor.query_one("#save", Button).disabled
        assert "a loop that grows the bill" in text(app, "#problems")

        # A wildcard is refused too, with the way to say it.
        await paste_into(pilot, "#selector-resources", "arn:aws:s3:::app-*/")
        assert "no wildcards" in text(app, "#problems")

        await paste_into(pilot, "#selector-resources", "arn:aws:s3:::app-data/")
        editor.query_one("#condition-field", Select).value = "eventName"
        await pilot.pause()
        await paste_into(pilot, "#condition-values", "PutObject DeleteObject")
        await pilot.click("#add-condition")
        assert "eventName Equals PutObject, DeleteObject" in text(app, "#conditions")
        assert not editor.query_one("#save", Button).disabled
        await pilot.click("#save")
        await until(pilot, lambda: not isinstance(app.screen, SelectorEditor), "the step")

        state, errors = app.screen.collect()
        assert errors == []
        (data,) = state.answers().events.data
        assert data.resources == ["arn:aws:s3:::app-data/"]
        assert [(c.field, c.operator, c.values) for c in data.conditions] == [
            ("eventName", "Equals", ["PutObject", "DeleteObject"])
        ]


async def test_network_activity_events_are_added_in_the_editor(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("events", app.state)
        await pilot.pause()
        await pilot.click("#add-network")
        await until(pilot, lambda: isinstance(app.screen, SelectorEditor), "the editor")
        await paste_into(pilot, "#selector-source", "secretsmanager")
        assert "is not an event source" in text(app, "#problems")
        await paste_into(pilot, "#selector-source", "secretsmanager.amazonaws.com")
        assert app.screen.query_one("#selector-source", Input).value.endswith(".amazonaws.com")
        await pilot.click("#save")
        await until(pilot, lambda: not isinstance(app.screen, SelectorEditor), "the step")
        state, errors = app.screen.collect()
        assert errors == []
        (network,) = state.answers().events.network
        assert (network.source, network.denied_only) == ("secretsmanager.amazonaws.com", True)
