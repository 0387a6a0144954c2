"""A picker's table while a thousand rows stream in: every row arrives, in order, and the
table stays usable (cursor, filter, scrolling) while they do.

The table is driven directly, as a listing drives it (:meth:`ChoiceTable.start_rows`,
``add_rows``, ``update_rows``, ``show_note``): what is tested is how it takes them in a
slice at a time, not how a listing finds them (``test_pickers_stream`` does that against
the sandbox).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from screens.tui.widgets.choice_table import ChoiceTable, Row
from screens.tui.widgets.wrap import Elided

pytestmark = [pytest.mark.tui]

SIZE = (100, 30)
ROUNDS = 500
"""Upper bound of pause rounds while waiting for a condition (never reached when healthy)."""
ROWS = 1200
BATCHES = 3


class Picker(App[None]):
    """One picker with a bucket picker's columns."""

    def compose(self) -> ComposeResult:
        yield ChoiceTable(
            ("Bucket", "Region", "Policy"),
            filter_placeholder="Type to filter the buckets",
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


def batches(count: int = ROWS, parts: int = BATCHES) -> list[list[Row]]:
    size = count // parts
    return [[row(i) for i in range(p * size, (p + 1) * size)] for p in range(parts)]


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let messages and screen updates run until ``condition()`` holds (no sleeping)."""
    for _ in range(ROUNDS):
        if condition():
            await pilot.pause()
            return
        await pilot.pause()
    raise AssertionError(f"timed out waiting for {what}")


def verdicts(picker: ChoiceTable) -> list[str]:
    return [str(picker.table.get_row(key)[2]) for key in picker.keys]


async def test_every_row_arrives_in_order_and_the_table_scrolls_to_the_last() -> None:
    app = Picker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(ChoiceTable)
        picker.start_rows("Listing the account's buckets…")
        for batch in batches():
            picker.add_rows(batch)
            await pilot.pause()
        # A row found twice (a page read again) is shown once.
        picker.add_rows([row(5)])
        await until(pilot, lambda: len(picker.keys) == ROWS, "every row")

        assert picker.keys == [name(i) for i in range(ROWS)]
        height = picker.table.size.height
        picker.table.focus()
        await pilot.press("ctrl+end")
        await until(pilot, lambda: picker.table.cursor_row == ROWS - 1, "the last row")
        # The table grew without being laid out again: its window is as tall as before,
        # and it scrolled to its last row.
        assert picker.table.size.height == height
        assert picker.table.scroll_y == picker.table.max_scroll_y > 0
        assert name(ROWS - 1) in picker.viewed_keys()


async def test_the_cursor_moves_while_rows_stream_in_and_stays_put() -> None:
    app = Picker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(ChoiceTable)
        picker.start_rows("Listing the account's buckets…")
        first, *rest = batches()
        picker.add_rows(first)
        await until(pilot, lambda: len(picker.keys) > 2, "the first rows")
        picker.table.focus()
        for batch in rest:
            picker.add_rows(batch)
        await pilot.press("down", "down")
        await until(pilot, lambda: len(picker.keys) == ROWS, "every row")

        # The rows that came after the key presses did not move the cursor.
        assert picker.table.cursor_row == 2
        assert picker.keys[picker.table.cursor_row] == name(2)
        await pilot.press("enter")
        await pilot.pause()
        assert picker._chosen == name(2)


async def test_the_filter_applies_to_rows_that_arrive_after_it() -> None:
    app = Picker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(ChoiceTable)
        picker.start_rows("Listing the account's buckets…")
        first, *rest = batches()
        picker.add_rows(first)
        await until(pilot, lambda: len(picker.keys) > 0, "the first rows")
        await pilot.click("#picker Input")
        await pilot.press(*"77")
        for batch in rest:
            picker.add_rows(batch)
        wanted = [name(i) for i in range(ROWS) if "77" in name(i)]
        await until(pilot, lambda: picker.keys == wanted, "the matching rows")

        await pilot.press("backspace", "backspace")
        await until(pilot, lambda: len(picker.keys) == ROWS, "every row again")
        assert picker.keys == [name(i) for i in range(ROWS)]


async def test_verdicts_of_rows_off_screen_are_in_by_the_end() -> None:
    app = Picker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(ChoiceTable)
        picker.start_rows("Listing the account's buckets…")
        for batch in batches():
            picker.add_rows(batch)
        await until(pilot, lambda: len(picker.keys) == ROWS, "every row")
        assert set(verdicts(picker)) == {"…"}

        judged = [
            row(i, "no policy" if i % 2 else "✓ policy allows CloudTrail") for i in range(ROWS)
        ]
        for start in range(0, ROWS, 300):
            picker.update_rows(judged[start : start + 300])
            await pilot.pause()
        on_screen = picker.viewed_keys()
        # The rows on screen show their verdicts at once; the others when seen or at the end.
        assert all(str(picker.table.get_row(key)[2]) != "…" for key in on_screen)
        picker.show_note("Enter or a click chooses a bucket.")
        await until(pilot, lambda: "…" not in verdicts(picker), "every verdict")

        assert verdicts(picker) == [str(cells[2]) for _key, cells in judged]
        assert picker.keys == [name(i) for i in range(ROWS)]


async def test_listing_again_replaces_the_rows_still_streaming_in() -> None:
    app = Picker()
    async with app.run_test(size=SIZE) as pilot:
        picker = app.query_one(ChoiceTable)
        picker.start_rows("Listing the account's buckets…")
        for batch in batches():
            picker.add_rows(batch)
        # Listed again before the first listing's rows are all in (another owner, say).
        picker.start_rows("Listing account 111122223333's buckets…", chosen=name(7))
        picker.add_rows([row(i) for i in range(5, 10)])
        await until(pilot, lambda: len(picker.keys) == 5, "the second listing's rows")
        await pilot.pause()

        assert picker.keys == [name(i) for i in range(5, 10)]
        # The row chosen before got the cursor when it arrived.
        assert picker.keys[picker.table.cursor_row] == name(7)
