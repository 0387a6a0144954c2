"""A list to pick one item from: filled by a lookup, filtered as you type, chosen with Enter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Label, LoadingIndicator, Static

from screens.tui.widgets.fit_table import Fit, FitTable
from screens.tui.widgets.wrap import Elided

Row = tuple[str, tuple[str | Text | Elided, ...]]
"""A row: its key (what is chosen) and its cells."""


class ChoiceTable(Vertical):
    """A filter box over a table of choices, with a loading line while the lookup runs.

    The screen runs the lookup and calls :meth:`show_loading`, then :meth:`set_rows` (or
    :meth:`show_note` when it failed or was cancelled). Enter or a click on a row posts
    :class:`ChoiceTable.Chosen`, as does Enter in the filter box when one row matches; what a
    choice means stays with the screen.
    """

    DEFAULT_CSS = """
    ChoiceTable { height: auto; }
    ChoiceTable > .choice-filter { margin: 1 0 0 0; width: 60; max-width: 100%; }
    ChoiceTable > .choice-loading { height: 1; margin-top: 1; }
    ChoiceTable > .choice-loading > LoadingIndicator { width: 6; height: 1; }
    ChoiceTable > .choice-loading > Label { color: $text-muted; }
    ChoiceTable > DataTable { height: auto; max-height: 12; }
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

    def __init__(
        self,
        columns: Sequence[str],
        *,
        filter_placeholder: str = "Type to filter",
        fit: Mapping[str, Fit] | None = None,
        id: str | None = None,  # noqa: A002 (Textual's widget keyword)
    ) -> None:
        """Build an empty table.

        Args:
            columns: Column titles.
            filter_placeholder: Placeholder of the filter box.
            fit: How a column (by title) narrows when the table is too wide (see
                :class:`~screens.tui.widgets.fit_table.FitTable`); others keep their width.
            id: Widget id.
        """
        super().__init__(id=id)
        self._columns = tuple(columns)
        self._fit = dict(fit or {})
        self._filter_placeholder = filter_placeholder
        self._rows: list[Row] = []
        self._chosen: str | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self._filter_placeholder, classes="choice-filter", compact=True)
        with Horizontal(classes="choice-loading"):
            yield LoadingIndicator()
            yield Label("", classes="choice-loading-label")
        yield FitTable(fit=self._fit, cursor_type="row", zebra_stripes=True)
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
        self.query_one(".choice-loading-label", Label).update(text)
        self.table.display = False

    def show_note(self, text: str) -> None:
        """Show a line under the table (an error, a cancellation, how to choose)."""
        self.query_one(".choice-loading").display = False
        note = self.query_one(".choice-note", Static)
        note.update(text)
        note.display = bool(text)

    def set_rows(self, rows: Sequence[Row], *, chosen: str | None = None) -> None:
        """Fill the table and put the cursor on ``chosen`` when it is one of the rows."""
        self._rows = list(rows)
        self._chosen = chosen
        self.query_one(".choice-loading").display = False
        self.table.display = True
        self._refill()

    def _refill(self) -> None:
        table = self.table
        needle = self.query_one(".choice-filter", Input).value.strip().lower()
        table.clear()
        for key, cells in self._rows:
            if needle and not any(needle in str(c).lower() for c in (key, *cells)):
                continue
            table.add_row(*cells, key=key)
        if self._chosen is not None and self._chosen in self.keys:
            table.move_cursor(row=self.keys.index(self._chosen))

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
