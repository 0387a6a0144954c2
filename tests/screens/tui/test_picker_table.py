"""The picker's table keeps what it drew and measured while rows stream in, and shows the
same as a table drawn from scratch.

Rows added below the others keep the lines already drawn (DataTable would draw them all
again), and the columns' measurements are kept as cells come and go (refitting would
measure every cell): both are checked against what the table draws, or measures, from
nothing.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widgets import Input

from screens.tui.widgets.choice_table import ChoiceTable, PickerTable, Row
from screens.tui.widgets.fit_table import FitTable
from screens.tui.widgets.wrap import Elided

pytestmark = [pytest.mark.tui]

SIZE = (100, 30)
ROUNDS = 500
"""Upper bound of pause rounds while waiting for a condition (never reached when healthy)."""


class Picker(App[None]):
    """One picker with a bucket picker's columns."""

    def compose(self) -> ComposeResult:
        yield ChoiceTable(
            ("Bucket", "Region", "Policy"),
            fit={"Bucket": "elide", "Policy": "wrap"},
            reserve={"Policy": len("needs CloudTrail's statements")},
            id="picker",
        )


def name(i: int) -> str:
    return f"bucket-{i:04d}-123456789012"


def row(i: int, verdict: str | None = None) -> Row:
    policy = Text("…", style="dim") if verdict is None else Text(verdict)
    region = ("us-east-1", "eu-west-1", "ap-southeast-2")[i % 3]
    return (name(i), (Elided(name(i)), region, policy))


async def settle(pilot: Pilot[Any], picker: ChoiceTable, rows: int) -> None:
    """Let screen updates run until ``rows`` rows are in the table and drawn."""
    for _ in range(ROUNDS):
        if len(picker.keys) == rows:
            await pilot.pause()
            await pilot.pause()
            return
        await pilot.pause()
    raise AssertionError(f"timed out waiting for {rows} rows")


def drawn(table: FitTable) -> list[Strip]:
    """The table's lines on screen, as it draws them now."""
    return [table.render_line(y) for y in range(table.size.height)]


def fresh(table: FitTable) -> list[Strip]:
    """The table's lines on screen drawn from nothing (every cache dropped)."""
    table._clear_caches()
    table._update_count += 1
    return drawn(table)


async def test_rows_added_below_keep_the_lines_drawn_and_show_what_a_fresh_draw_shows() -> None:
    app = Picker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(ChoiceTable)
        table = picker.table
        picker.start_rows("Listing…")
        picker.add_rows([row(i) for i in range(100)])
        await settle(pilot, picker, 100)
        before = drawn(table)
        cells_drawn: list[object] = []
        original = table._render_cell

        def counted(*args: Any, **kwargs: Any) -> Any:
            cells_drawn.append(args)
            return original(*args, **kwargs)

        table._render_cell = counted  # type: ignore[method-assign]
        picker.add_rows([row(i) for i in range(100, 400)])
        await settle(pilot, picker, 400)

        # The rows on screen were not drawn again for the rows that came below them...
        assert drawn(table) == before
        assert cells_drawn == []
        # ...the table knows how tall it is now (its header and every row)...
        assert table.virtual_size.height == 1 + 400
        assert [key.value for key, _line in table._y_offsets] == [name(i) for i in range(400)]
        # ...and what they show is what the table shows drawn from nothing, scrolled too.
        assert drawn(table) == fresh(table)
        table.focus()
        await pilot.press("ctrl+end")
        for _ in range(ROUNDS):
            if table.scroll_y == table.max_scroll_y > 0:
                break
            await pilot.pause()
        await pilot.pause()
        assert name(399) in picker.viewed_keys()
        assert drawn(table) == fresh(table)


async def test_a_cell_changed_on_screen_is_drawn_again() -> None:
    app = Picker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(ChoiceTable)
        picker.start_rows("Listing…")
        picker.add_rows([row(i) for i in range(50)])
        await settle(pilot, picker, 50)
        picker.update_rows([row(1, "✓ policy allows CloudTrail")])
        picker.add_rows([row(i) for i in range(50, 60)])
        await settle(pilot, picker, 60)

        lines = drawn(picker.table)
        assert any("policy allows CloudTrail" in line.text for line in lines)
        assert lines == fresh(picker.table)


def measured(table: FitTable) -> dict[str, tuple[int, int, bool]]:
    return {str(c.key.value): table._extent(c.key) for c in table.ordered_columns}


def scanned(table: FitTable) -> dict[str, tuple[int, int, bool]]:
    """The measurements FitTable takes from every cell."""
    return {str(c.key.value): FitTable._extent(table, c.key) for c in table.ordered_columns}


async def test_the_columns_measurements_follow_the_cells_as_they_come_and_go() -> None:
    app = Picker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(ChoiceTable)
        table = picker.table
        assert isinstance(table, PickerTable)
        chance = random.Random(16)
        verdicts = ["no policy", "✓ policy allows CloudTrail", "policy: AccessDenied", "x"]
        picker.start_rows("Listing…")
        added = 0
        for _round in range(6):
            picker.add_rows([row(i) for i in range(added, added + 40)])
            added += 40
            await settle(pilot, picker, added)
            assert measured(table) == scanned(table)
            changed = chance.sample(range(added), 15)
            for i in changed:
                table.update_row(name(i), row(i, chance.choice(verdicts))[1])
            assert measured(table) == scanned(table)
        # The widest verdict replaced by a narrow one: the column's need shrinks with it.
        for i in range(added):
            table.update_row(name(i), row(i, "x")[1])
        assert measured(table) == scanned(table)
        assert measured(table)["Policy"][0] == 1
        table.clear()
        assert (
            measured(table)
            == scanned(table)
            == {
                "Bucket": (0, 0, False),
                "Region": (0, 0, False),
                "Policy": (0, 0, False),
            }
        )


async def test_rows_scrolled_into_view_show_the_verdicts_that_came_for_them() -> None:
    app = Picker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(ChoiceTable)
        table = picker.table
        picker.start_rows("Listing…")
        picker.add_rows([row(i) for i in range(100)])
        await settle(pilot, picker, 100)
        # Every verdict comes in: the rows off screen keep theirs until they are seen.
        picker.update_rows([row(i, "no policy") for i in range(100)])
        await pilot.pause()
        assert str(table.get_row(name(60))[2]) == "…"

        # Scrolled as the scroll bar drags it (the cursor stays on the first row).
        table.scroll_to(y=55, animate=False)
        for _ in range(ROUNDS):
            if name(60) in picker.viewed_keys():
                break
            await pilot.pause()
        await pilot.pause()

        on_screen = picker.viewed_keys()
        assert name(60) in on_screen
        shown = [str(table.get_row(key)[2]) for key in on_screen]
        assert shown == ["no policy"] * len(on_screen)


async def test_rows_streaming_in_change_nothing_else_on_the_screen() -> None:
    app = Picker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(ChoiceTable)
        table = picker.table
        picker.start_rows("Listing…")
        await pilot.pause()
        layouts: list[object] = []
        screen = app.screen
        original = screen._refresh_layout

        def counted(*args: Any, **kwargs: Any) -> None:
            layouts.append(args)
            original(*args, **kwargs)

        screen._refresh_layout = counted  # type: ignore[method-assign]
        height = table.outer_size.height
        added = 0
        for size in (3, 100, 300):
            picker.add_rows([row(i) for i in range(added, added + size)])
            added += size
            await settle(pilot, picker, added)
            # As tall as a full table from the start, rows or not: nothing moves.
            assert table.outer_size.height == height == 12
        assert layouts == []

        # The listing is over: a full table stays as it is...
        picker.show_note("Enter or a click chooses a bucket.")
        await pilot.pause()
        assert table.outer_size.height == 12
        assert table.show_vertical_scrollbar
        # ...until a filter leaves fewer rows than it has lines.
        await pilot.click("#picker Input")
        await pilot.press(*"0042")
        for _ in range(ROUNDS):
            if table.outer_size.height == 2:  # the header and the one row
                break
            await pilot.pause()
        assert picker.keys == [name(42)]
        assert table.outer_size.height == 2

        # A list of three rows is as tall as they are.
        picker.query_one(Input).value = ""
        picker.set_rows([row(i) for i in range(3)])
        for _ in range(ROUNDS):
            if table.outer_size.height == 4:  # the header and three rows
                break
            await pilot.pause()
        assert table.outer_size.height == 4
        assert not table.show_vertical_scrollbar


class Listening(ChoiceTable):
    """A picker that notes the key events that reach it."""

    heard: list[str]

    def on_key(self, event: events.Key) -> None:
        self.heard.append(event.key)


class ListeningPicker(App[None]):
    def compose(self) -> ComposeResult:
        picker = Listening(("Bucket", "Region", "Policy"), fit={"Bucket": "elide"}, id="picker")
        picker.heard = []
        yield picker


async def test_the_keys_that_move_the_cursor_are_taken_where_the_app_first_gets_them() -> None:
    app = ListeningPicker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(Listening)
        picker.start_rows("Listing…")
        picker.add_rows([row(i) for i in range(100)])
        await settle(pilot, picker, 100)
        picker.table.focus()
        await pilot.press("down", "down", "pagedown", "up", "ctrl+end", "ctrl+home", "end")

        # The cursor moved, and no key went up the widgets for a binding to take it.
        assert picker.heard == []
        assert picker.table.cursor_row == 0  # (ctrl+home went back to the first row)
        await pilot.press("down", "down")
        assert picker.table.cursor_row == 2
        # In the filter box the same keys are the box's, and the table's cursor stays.
        await pilot.click("#picker Input")
        await pilot.press("down", "end")
        assert picker.table.cursor_row == 2
