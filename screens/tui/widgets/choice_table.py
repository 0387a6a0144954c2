"""A list to pick one item from: filled by a lookup, filtered as you type, chosen with Enter.

A lookup may fill it at once (:meth:`ChoiceTable.set_rows`) or stream into it: rows as they
are found (:meth:`ChoiceTable.add_rows`), cells as their verdicts come in
(:meth:`ChoiceTable.update_rows`), a progress line meanwhile. The table is usable all the
while: it filters, scrolls and chooses among the rows it has.

A key must be answered within 50 ms while a thousand rows stream in, so every piece of
work on the event loop is kept short: rows go into the table a few milliseconds' worth at a
time (:data:`SLICE`), cells off screen change when they come into view, the table is as tall
as a full one while rows stream in, so that they never lay the whole screen out again, the
rows drawn stay drawn as others come below them, the keys that move the cursor are taken
where the app first gets them (:class:`PickerTable`), Esc's "stopped" is said as it is
pressed (the steps' ``action_cancel_lookup``), and the objects that outlive a listing are
set aside from the garbage collector's full passes (:func:`settle_heap`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from rich.measure import Measurement
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.scalar import Unit
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Input, LoadingIndicator, Static
from textual.widgets.data_table import ColumnKey, RowKey

from screens.tui.widgets.fit_table import Fit, FitTable
from screens.tui.widgets.heap import release_heap, settle_heap
from screens.tui.widgets.wrap import Elided, Shortened

Row = tuple[str, tuple[str | Text | Elided, ...]]
"""A row: its key (what is chosen) and its cells."""

TABLE_HEIGHT = 12
"""Lines of the table at most, its header included (the max-height in ChoiceTable's CSS)."""

SLICE = 0.004
"""Seconds of table work (rows added, cells replaced) between two screen updates: a slice
of a few milliseconds leaves the rest of a 50 ms key press's budget to the screen update
and to the listing's threads, which take turns with the event loop for the interpreter."""


class _ColumnCells:
    """The measurements of one column's cells, kept up to date as cells come and go."""

    def __init__(self) -> None:
        self.widest: Counter[int] = Counter()
        """How many cells need each width on one line."""
        self.narrowest: Counter[int] = Counter()
        """How many cells go no narrower than each width."""
        self.shortened = 0
        """Cells with a short form."""

    def count(self, size: Measurement, cell: object, times: int) -> None:
        """Count a cell in (``times`` 1) or out (-1)."""
        for counter, width in ((self.widest, size.maximum), (self.narrowest, size.minimum)):
            counter[width] += times
            if not counter[width]:
                del counter[width]
        self.shortened += times * isinstance(cell, Shortened)

    def extent(self) -> tuple[int, int, bool]:
        """As :meth:`FitTable._extent <screens.tui.widgets.fit_table.FitTable._extent>`."""
        return max(self.widest, default=0), max(self.narrowest, default=0), self.shortened > 0


class PickerTable(FitTable):
    """The picker's table: rows added below cost the screen a few lines' work, not more.

    A listing adds rows every screen update for seconds, and DataTable, left to itself,
    pays for each row in proportion to the whole table and the whole screen:

    * each row changes the table's scrollable height, and DataTable lays the whole screen
      out again for that (tens of milliseconds on a step with many fields). When the table
      already scrolls and only grows, its place on screen cannot change: the scroll bar is
      updated and the table repainted instead;
    * each row drops every drawn line and cell (DataTable keys its caches by a count of
      changes), so the rows on screen were drawn again each update. A row added below the
      others changes none of them: the count is kept, and the row order and line offsets
      worked out before are extended with the new row;
    * the columns' widths are fitted again after each update, which measured every cell of
      the table; here the columns' measurements are kept as cells come and go;
    * a key reaches a binding after the event went from the focused widget up to the app,
      one message queue at a time (seven on a step), each waiting its turn behind the
      screen updates and batches of the listing. The keys that move the cursor are taken
      where the app first gets them (priority bindings, in force while the table has the
      focus; no other binding of the wizard uses these keys).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, action, description, show=False, priority=True)
        for key, action, description in (
            ("up", "cursor_up", "Cursor up"),
            ("down", "cursor_down", "Cursor down"),
            ("pageup", "page_up", "Page up"),
            ("pagedown", "page_down", "Page down"),
            ("ctrl+home", "scroll_top", "Top"),
            ("ctrl+end", "scroll_bottom", "Bottom"),
            ("home", "scroll_home", "Home"),
            ("end", "scroll_end", "End"),
        )
    ]

    _grown_from: Size | None = None
    """The scrollable size before the dimensions now being worked out (None: not in
    :meth:`_update_dimensions`; a class default, as DataTable refreshes while it is made)."""

    class Scrolled(Message):
        """The table scrolled: other rows are on screen."""

    _scrolling = False
    """The scroll bars are being updated in place of a layout (:meth:`refresh`)."""

    _columns_cells: dict[ColumnKey, _ColumnCells] | None = None
    """Each column's measurements (None: to be taken from the cells when next needed)."""

    _uncounted: frozenset[RowKey] | set[RowKey] = frozenset()
    """Rows added since the measurements were last needed: counted then (when the columns
    are fitted, after a screen update), not while rows are being added."""

    def add_row(
        self,
        *cells: Any,
        height: int | None = 1,
        key: str | None = None,
        label: Text | str | None = None,
    ) -> RowKey:
        """Add a row below the others, keeping what was drawn of them (see the class)."""
        changes = self._update_count
        before = len(self.rows)
        ordered = self._ordered_row_cache.get((before, changes))
        offsets = self._offset_cache.get(changes)
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        row = self.rows[row_key]
        if (
            label is None
            and not row.auto_height
            and not any(column.auto_width for column in self.columns.values())
        ):
            # The rows above are drawn as before: same widths, same places, same stripes.
            self._update_count = changes
            # Extended in place: nothing holds them between two calls (DataTable empties
            # the offsets in place too, when it is cleared).
            if ordered is not None:
                ordered.append(row)
                self._ordered_row_cache.discard((before, changes))
                self._ordered_row_cache[(before + 1, changes)] = ordered
            if offsets is not None:
                offsets.extend((row_key, y) for y in range(row.height))
        if self._columns_cells is not None:
            if not isinstance(self._uncounted, set):
                self._uncounted = set()
            self._uncounted.add(row_key)
        return row_key

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Any,
        *,
        update_width: bool = False,
    ) -> None:
        """Replace a cell (as DataTable does), keeping the column's measurements."""
        row, column = (
            RowKey(row_key) if isinstance(row_key, str) else row_key,
            (ColumnKey(column_key) if isinstance(column_key, str) else column_key),
        )
        old = self._data.get(row, {}).get(column)
        super().update_cell(row, column, value, update_width=update_width)
        if self._columns_cells is not None and row not in self._uncounted:
            cells = self._columns_cells[column]
            cells.count(self._measured(old), old, -1)
            cells.count(self._measured(value), value, 1)

    def clear(self, columns: bool = False) -> PickerTable:
        """Remove the rows (and ``columns``), as DataTable does."""
        super().clear(columns)
        self._columns_cells = None
        return self

    def remove_row(self, row_key: RowKey | str) -> None:
        """Remove a row, as DataTable does."""
        super().remove_row(row_key)
        self._columns_cells = None

    def remove_column(self, column_key: ColumnKey | str) -> None:
        """Remove a column, as DataTable does."""
        super().remove_column(column_key)
        self._columns_cells = None

    def add_column(
        self,
        label: str | Text,
        *,
        width: int | None = None,
        key: str | None = None,
        default: Any = None,
    ) -> ColumnKey:
        """Add a column, as FitTable does."""
        column_key = super().add_column(label, width=width, key=key, default=default)
        self._columns_cells = None
        return column_key

    def _extent(self, column: ColumnKey) -> tuple[int, int, bool]:
        """What the column's cells need, from the measurements kept (taken once if need be)."""
        if self._columns_cells is None:
            columns = [column.key for column in self.ordered_columns]
            taken = {key: _ColumnCells() for key in columns}
            for row_key in self.rows:
                for key, cell in zip(columns, self.get_row(row_key), strict=True):
                    taken[key].count(self._measured(cell), cell, 1)
            self._columns_cells, self._uncounted = taken, frozenset()
        elif self._uncounted:
            for row_key in self._uncounted:
                for key, cell in self._data[row_key].items():
                    self._columns_cells[key].count(self._measured(cell), cell, 1)
            self._uncounted = frozenset()
        return self._columns_cells[column].extent()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        self._grown_from = self.virtual_size
        try:
            super()._update_dimensions(new_rows)
        finally:
            self._grown_from = None

    def refresh(
        self,
        *regions: Any,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> PickerTable:
        """Refresh as a widget does, without a layout when the rows changed within a window
        that stays as it is (the scroll bars are updated instead)."""
        before = self._grown_from
        if (
            layout
            and before is not None
            and not self._scrolling
            and self._grows_within(before, self.virtual_size)
        ):
            across = self.show_horizontal_scrollbar
            self._scrolling = True
            try:
                self._scroll_update(self.virtual_size)
            finally:
                self._scrolling = False
            # Rows wider than the window bring a scroll bar along the bottom: that one is
            # placed by a layout.
            layout = self.show_horizontal_scrollbar != across
        super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        return self

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scroll as a DataTable does, and say so (by key, by mouse, or to show the cursor,
        which DataTable may do a screen update after the cursor moved)."""
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.Scrolled())

    def _grows_within(self, before: Size, after: Size) -> bool:
        """Its window stays as it is: the table is as tall as its style says (a listing
        streams in, :meth:`ChoiceTable.start_rows`) with its scroll bar shown, or it
        scrolled already and only grew taller."""
        if not self.show_vertical_scrollbar:
            return False
        height = self.styles.height
        if height is not None and height.unit is Unit.CELLS:
            return True
        return (
            after.width == before.width
            and after.height >= before.height
            and 0 < self.scrollable_content_region.height < before.height
        )


class ProgressLine(Widget):
    """One line of text that changes often: a repaint each time, never a new layout.

    (A Label lays the whole screen out again on every update; a listing's progress changes
    ten times a second.)
    """

    DEFAULT_CSS = """
    ProgressLine { height: 1; width: 1fr; }
    """

    text: reactive[str] = reactive("")
    """What it says."""

    def render(self) -> str:
        return self.text


class ChoiceTable(Vertical):
    """A filter box over a table of choices, with a loading line while the lookup runs.

    The screen runs the lookup and calls :meth:`show_loading`, then :meth:`set_rows` (or
    :meth:`show_note` when it failed or was cancelled); a streaming lookup calls
    :meth:`start_rows`, then :meth:`add_rows` and :meth:`update_rows` as batches come in with
    :meth:`show_progress`, then :meth:`show_note`. Enter or a click on a row posts
    :class:`ChoiceTable.Chosen`, as does Enter in the filter box when one row matches; what a
    choice means stays with the screen. Whenever the rows on screen may have changed (rows
    added, the cursor moved, the table scrolled, the filter changed) it posts
    :class:`ChoiceTable.Viewed`, so a lookup can fetch their details first.
    """

    DEFAULT_CSS = """
    ChoiceTable { height: auto; }
    ChoiceTable > .choice-filter { margin: 1 0 0 0; width: 60; max-width: 100%; }
    ChoiceTable > .choice-loading { height: 1; margin-top: 1; }
    ChoiceTable > .choice-loading > LoadingIndicator { width: 6; height: 1; }
    ChoiceTable > .choice-loading > .choice-loading-label { width: 1fr; color: $text-muted; }
    ChoiceTable > DataTable { height: auto; max-height: 12; }
    ChoiceTable.-full-height > DataTable { height: 12; overflow-y: scroll; }
    ChoiceTable > .choice-note { color: $text-muted; }
    """

    class Chosen(Message):
        """A row was chosen (Enter or click)."""

        def __init__(self, table: ChoiceTable, key: str) -> None:
            self.table = table
            """The table the row belongs to."""
            self.key = key
            """Key of the chosen row."""
            super().__init__()

        @property
        def control(self) -> ChoiceTable:
            """The table (so ``@on(ChoiceTable.Chosen, "#id")`` works)."""
            return self.table

    class Viewed(Message):
        """The rows on screen may have changed (rows added, cursor moved, scrolled, filtered)."""

        def __init__(self, table: ChoiceTable, keys: list[str]) -> None:
            self.table = table
            """The table."""
            self.keys = keys
            """Keys of the rows on screen now (and the chosen row), top to bottom."""
            super().__init__()

        @property
        def control(self) -> ChoiceTable:
            """The table (so ``@on(ChoiceTable.Viewed, "#id")`` works)."""
            return self.table

    def __init__(
        self,
        columns: Sequence[str],
        *,
        filter_placeholder: str = "Type to filter",
        fit: Mapping[str, Fit] | None = None,
        reserve: Mapping[str, int] | None = None,
        id: str | None = None,  # noqa: A002 (Textual's widget keyword)
    ) -> None:
        """Build an empty table.

        Args:
            columns: Column titles.
            filter_placeholder: Placeholder of the filter box.
            fit: How a column (by title) narrows when the table is too wide (see
                :class:`~screens.tui.widgets.fit_table.FitTable`); others keep their width.
            reserve: Cells a column (by title) keeps for values a streaming lookup has
                still to fill in (its verdicts), so rows are not laid out again for each.
            id: Widget id.
        """
        super().__init__(id=id)
        self._columns = tuple(columns)
        self._fit = dict(fit or {})
        self._reserve = dict(reserve or {})
        self._filter_placeholder = filter_placeholder
        self._rows: list[Row] = []
        self._index: dict[str, int] = {}
        """Position of each row in ``_rows``, by key."""
        self._chosen: str | None = None
        self._viewed: list[str] = []
        self._pending: list[str] = []
        """Keys of rows the filter shows that are not in the table yet (see :meth:`_drain`)."""
        self._stale: set[str] = set()
        """Keys of rows in the table whose cells changed since (see :meth:`update_rows`)."""
        self._draining = False
        self._flushing = False
        """A :meth:`_flush` of every stale row is under way (a slice per screen update)."""
        self._streaming = False
        """Rows stream in (from :meth:`start_rows` until :meth:`show_note`): the table is
        as tall as a full one (class ``-full-height``) until a filter or a short list
        makes it shorter."""

    def on_unmount(self) -> None:
        # Its screen is gone: what the listing set aside goes back to the collector.
        release_heap()

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self._filter_placeholder, classes="choice-filter", compact=True)
        with Horizontal(classes="choice-loading"):
            yield LoadingIndicator()
            yield ProgressLine(classes="choice-loading-label")
        table = PickerTable(fit=self._fit, cursor_type="row", zebra_stripes=True)
        table.reserve = self._reserve
        yield table
        yield Static("", classes="choice-note")

    def on_mount(self) -> None:
        table = self.table
        for title in self._columns:
            table.add_column(title, key=title)  # the key names the column in ``fit``
        self.query_one(".choice-loading").display = False

    @property
    def table(self) -> FitTable:
        """The inner DataTable."""
        return self.query_one(FitTable)

    @property
    def keys(self) -> list[str]:
        """Keys of the rows shown now (after filtering), top to bottom."""
        return [str(row.key.value) for row in self.table.ordered_rows]

    def show_loading(self, text: str) -> None:
        """Show the loading line (and hide the old rows and note) while a lookup runs."""
        self.show_note("")
        self.query_one(".choice-loading").display = True
        self.query_one(".choice-loading-label", ProgressLine).text = text
        self.table.display = False

    def show_note(self, text: str) -> None:
        """Show a line under the table (an error, a cancellation, how to choose).

        A lookup is over: the rows off screen get the cells that came in for them, a slice
        at a time after the note is on screen (a key pressed meanwhile goes first).
        """
        if self._stale and not self._flushing:
            self._flushing = True
            self.call_after_refresh(self._flush)
        self._streaming = False
        table = self.table
        lines = table._total_row_height + len(self._pending)
        if lines + (table.header_height if table.show_header else 0) < TABLE_HEIGHT:
            # Shorter than a full table: as tall as its rows. (A full one stays as it is:
            # restyled, it would look the same, after a layout of the whole step.)
            self.remove_class("-full-height")
        self.query_one(".choice-loading").display = False
        note = self.query_one(".choice-note", Static)
        note.update(text)
        note.display = bool(text)

    def set_rows(self, rows: Sequence[Row], *, chosen: str | None = None) -> None:
        """Fill the table and put the cursor on ``chosen`` when it is one of the rows."""
        self._rows = list(rows)
        self._index = {key: i for i, (key, _cells) in enumerate(self._rows)}
        self._chosen = chosen
        self._streaming = False
        self.remove_class("-full-height")
        self.query_one(".choice-loading").display = False
        self.table.display = True
        self._refill()

    # -- streaming

    def start_rows(self, text: str, *, chosen: str | None = None) -> None:
        """Empty the table, show it, and show ``text`` as progress while rows stream in.

        ``chosen`` gets the cursor when its row arrives (unless the cursor moved by then).
        """
        settle_heap()
        self.show_note("")
        self._rows, self._index, self._chosen, self._pending = [], {}, chosen, []
        self._stale.clear()
        self.table.clear()
        # As tall as it will be, with its scroll bar, from the start: the rows that come
        # then change nothing else on the screen (no layout of the whole step per batch).
        self._streaming = True
        self.add_class("-full-height")
        self.table.display = True
        self.show_progress(text)

    def expect(self, key: str | None) -> None:
        """The row ``key`` gets the cursor when it arrives (unless the cursor moved by then)."""
        self._chosen = key

    def show_progress(self, text: str) -> None:
        """Show (or update) the progress line above the rows; the rows stay usable."""
        loading = self.query_one(".choice-loading")
        if not loading.display:  # each change of display lays the screen out again
            loading.display = True
        self.query_one(".choice-loading-label", ProgressLine).text = text

    def add_rows(self, rows: Sequence[Row]) -> None:
        """Add rows after the ones there (a listing's next batch); the filter applies to them."""
        needle = self._needle()
        for key, cells in rows:
            if key in self._index:
                continue
            self._index[key] = len(self._rows)
            self._rows.append((key, cells))
            if self._matches(needle, key, cells):
                self._pending.append(key)
        self._drain()

    def _drain(self) -> None:
        """Put the rows waiting into the table for :data:`SLICE` seconds; the rest after a
        refresh.

        A thousand rows at once would keep the screen from answering keys for most of a
        second; a slice at a time, keys and repaints go in between.
        """
        self._draining = False
        table = self.table
        cursor_moved = table.cursor_row > 0
        deadline = time.perf_counter() + SLICE
        taken = 0
        for key in self._pending:
            table.add_row(*self._rows[self._index[key]][1], key=key)
            taken += 1
            if time.perf_counter() > deadline:
                break
        del self._pending[:taken]
        if not cursor_moved and self._chosen is not None and self._chosen in table.rows:
            table.move_cursor(row=table.get_row_index(self._chosen))
        if self._pending:
            self._draining = True
            self.call_after_refresh(self._drain)
        self._post_viewed()

    def update_rows(self, rows: Sequence[Row]) -> None:
        """Replace the cells of rows already added (their details came in).

        Rows on screen change at once; the others when they come into view or the lookup
        ends (:meth:`show_note`): every change to a table redraws all of it, so a thousand
        verdicts trickling in would keep the screen busy redrawing.
        """
        table = self.table
        needle = self._needle()
        visible = set(self.viewed_keys())
        for key, cells in rows:
            index = self._index.get(key)
            if index is None:
                continue
            self._rows[index] = (key, cells)
            if key not in table.rows:
                continue  # still waiting to be added: it will be, with these cells
            if not self._matches(needle, key, cells):
                # Its new cells no longer match the filter: the filter decides again.
                self._refill()
                return
            if key in visible:
                self._stale.discard(key)
                table.update_row(key, cells)
            else:
                self._stale.add(key)

    def _flush(self, keys: Iterable[str] | None = None) -> None:
        """Put the stale rows' cells into the table: those of ``keys``, or all of them
        (:data:`SLICE` seconds' worth at a time, the rest after a refresh)."""
        table = self.table
        if keys is not None:
            for key in [k for k in keys if k in self._stale]:
                self._stale.discard(key)
                if key in table.rows:
                    table.update_row(key, self._rows[self._index[key]][1])
            return
        deadline = time.perf_counter() + SLICE
        while self._stale and time.perf_counter() <= deadline:
            key = self._stale.pop()
            if key in table.rows:
                table.update_row(key, self._rows[self._index[key]][1])
        self._flushing = bool(self._stale)
        if self._flushing:
            self.call_after_refresh(self._flush)

    def viewed_keys(self) -> list[str]:
        """Keys of the rows on screen now, and the chosen row's (which may be off screen)."""
        table = self.table
        ordered = table.ordered_rows
        if not ordered:
            return [self._chosen] if self._chosen else []
        # The rows from the one at the top of the view, as many as could fit (each is at
        # least one line high): the rows on screen, or a few more.
        top, line = 0, 0
        while top < len(ordered) - 1 and line + ordered[top].height <= table.scroll_y:
            line += ordered[top].height
            top += 1
        shown = [str(row.key.value) for row in ordered[top : top + table.size.height + 1]]
        cursor = str(ordered[min(table.cursor_row, len(ordered) - 1)].key.value)
        keys = [cursor, *shown] if cursor not in shown else shown
        if self._chosen and self._chosen not in keys:
            keys.insert(0, self._chosen)
        return keys

    def _post_viewed(self) -> None:
        keys = self.viewed_keys()
        if keys != self._viewed:
            self._viewed = keys
            self._flush(keys)
            self.post_message(self.Viewed(self, keys))

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._post_viewed()

    @on(PickerTable.Scrolled)
    def _scrolled(self, event: PickerTable.Scrolled) -> None:
        event.stop()
        self._post_viewed()

    # -- filtering

    def _needle(self) -> str:
        return self.query_one(".choice-filter", Input).value.strip().lower()

    @staticmethod
    def _matches(needle: str, key: str, cells: Sequence[object]) -> bool:
        return not needle or any(needle in str(c).lower() for c in (key, *cells))

    def _refill(self) -> None:
        if not self._streaming:
            self.remove_class("-full-height")  # the rows the filter shows decide
        needle = self._needle()
        self._stale.clear()  # every row is added again, with its cells as they are now
        self.table.clear()
        self._pending = [key for key, cells in self._rows if self._matches(needle, key, cells)]
        if not self._draining:
            self._drain()

    @on(Input.Changed, ".choice-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._refill()

    @on(Input.Submitted, ".choice-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        """Enter in the filter box chooses the match when there is one, and moves to the table.

        One row left, or a row whose key is exactly what was typed, is what the person
        meant: it is chosen at once. With several matches the cursor waits on the first
        for a second Enter (or the arrows).
        """
        event.stop()
        match = self.only_match(event.value)
        if match is not None:
            self.choose(match)
        self.table.focus()

    def only_match(self, typed: str) -> str | None:
        """The key the filter text ``typed`` picks out: the only row shown, or an exact key."""
        shown = self.keys
        if len(shown) == 1:
            return shown[0]
        wanted = typed.strip().lower()
        exact = [key for key in shown if key.lower() == wanted]
        return exact[0] if len(exact) == 1 else None

    def choose(self, key: str) -> None:
        """Choose the row ``key`` (it must be shown): the cursor goes there, Chosen is posted."""
        self._chosen = key
        self.table.move_cursor(row=self.keys.index(key))
        self.post_message(self.Chosen(self, key))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = str(event.row_key.value)
        self._chosen = key
        self.post_message(self.Chosen(self, key))
