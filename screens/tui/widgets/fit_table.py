"""A DataTable whose columns fit the width it gets: no header cut, no column off screen.

Textual's DataTable makes every column as wide as its widest cell and scrolls sideways when
they do not fit: at 80 columns the bucket picker's "Policy" column was off screen and the
apply screen's steps were cut. :class:`FitTable` narrows the columns that may shrink until
the table fits: a ``wrap`` column wraps its cells at spaces (the row grows), an ``elide``
column shows long names with their middle elided (:class:`~screens.tui.widgets.wrap.Elided`);
other columns keep their width. Whenever its width changes, the widths are computed again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from rich.cells import cell_len
from rich.console import RenderableType
from rich.measure import Measurement
from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from screens.tui.widgets.wrap import MIN_ELIDED, Elided, Shortened

Fit = Literal["keep", "wrap", "elide", "elide-last"]
"""How a column fits: keeps its width, wraps its cells, or elides the middle of long ones
(an ``elide-last`` column only once the ``elide`` ones are as narrow as they go)."""

MIN_WRAPPED = 12
"""A wrapping column is not made narrower than this (nor than its title)."""


def fit_widths(
    natural: Sequence[int], minimum: Sequence[int], fits: Sequence[Fit], available: int
) -> list[int]:
    """Column widths that add up to at most ``available`` cells, when the minimums allow.

    Wrapping columns give up width first, then eliding ones, then ``elide-last`` ones;
    within each kind the widest column is narrowed first, so the narrow ones keep their
    content on one line.

    Args:
        natural: The width each column needs to show every cell on one line.
        minimum: The narrowest each column may become (its title, at least).
        fits: How each column may shrink.
        available: The cells the columns may take together.

    Returns:
        One width per column; the natural widths when they fit.
    """
    widths = list(natural)
    excess = sum(widths) - available
    for kind in ("wrap", "elide", "elide-last"):
        shrinkable = [i for i, fit in enumerate(fits) if fit == kind]
        while excess > 0:
            candidates = [i for i in shrinkable if widths[i] > minimum[i]]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1
    return widths


def _measure(table: DataTable[Any], cell: object) -> Measurement:
    """The cells ``cell`` needs on one line (maximum) and at the least (minimum)."""
    console = table.app.console
    renderable: RenderableType
    if isinstance(cell, str):
        renderable = Text.from_markup(cell)  # the table reads strings as markup
    elif isinstance(cell, Text | Elided):
        renderable = cell
    else:
        renderable = Text(str(cell))
    if isinstance(renderable, Text) and "\n" not in renderable.plain:
        # What rich measures for one line of text (its longest word, all of it), without
        # the protocol's detour: a picker measures thousands of cells.
        plain = renderable.plain
        widest = cell_len(plain)
        words = [cell_len(word) for word in plain.split()] or [widest]
        limit = console.options.max_width
        return Measurement(min(max(words), widest, limit), min(widest, limit))
    return Measurement.get(console, console.options, renderable)


def _same(old: object, new: object) -> bool:
    """The two cells look the same (an elided value is made anew for each row update)."""
    if isinstance(old, Elided) and isinstance(new, Elided):
        return type(old) is type(new) and vars(old) == vars(new)
    return type(old) is type(new) and old == new


class FitTable(DataTable[Any]):
    """A DataTable that narrows its ``wrap`` and ``elide`` columns to fit its width.

    Add columns with a ``key`` named in ``fit``; rows are added as usual (with a wrapping
    column they grow to fit their cells).
    """

    DEFAULT_CSS = """
    FitTable { width: 1fr; }
    """

    def __init__(self, *, fit: Mapping[str, Fit] | None = None, **kwargs: Any) -> None:
        """Create the table.

        Args:
            fit: How each column (by key) may shrink; unnamed columns keep their width.
            **kwargs: DataTable's own arguments (cursor type, zebra stripes, id...).
        """
        super().__init__(**kwargs)
        self.fit = dict(fit or {})
        """How each column, by key, may shrink."""
        self.reserve: dict[str, int] = {}
        """Cells a column (by key) keeps for values still to come, however narrow its cells
        are now: a picker's verdict column, while the verdicts are being read, stays as wide
        as they will be, so rows need not be laid out again as each one arrives."""
        self._fixed: dict[str, int] = {}
        """Columns added with a width of their own: they keep it."""
        self._refit_pending = False
        self._sizes: dict[int, tuple[object, Measurement]] = {}
        """Each cell's measurement, by the cell's identity (a picker has thousands)."""

    @property
    def wraps(self) -> bool:
        """Some column wraps its cells (so rows take the height their cells need)."""
        return "wrap" in self.fit.values()

    def add_column(
        self,
        label: str | Text,
        *,
        width: int | None = None,
        key: str | None = None,
        default: Any = None,
    ) -> ColumnKey:
        """Add a column (as DataTable does); one given a ``width`` keeps it."""
        column_key = super().add_column(label, width=width, key=key, default=default)
        if width is not None:
            self._fixed[str(column_key.value)] = width
        return column_key

    def add_row(
        self,
        *cells: Any,
        height: int | None = 1,
        key: str | None = None,
        label: Text | str | None = None,
    ) -> RowKey:
        """Add a row (as DataTable does); with a wrapping column its height follows its cells.

        The height is worked out from the cells' text (:meth:`_row_height`); DataTable's own
        auto height renders every cell of the row, which takes seconds for a thousand rows,
        and is left to rows whose cells are neither text nor one line by design.
        """
        if height == 1 and self.wraps:
            height = self._row_height(cells)
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        self._schedule_refit()
        return row_key

    def on_resize(self, event: events.Resize) -> None:
        self._schedule_refit()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        """The scroll bar came or went: the columns have two cells less, or more."""
        self._schedule_refit()

    def _measured(self, cell: object) -> Measurement:
        """``_measure(self, cell)``, remembered for as long as the cell is in the table."""
        known = self._sizes.get(id(cell))
        if known is not None and known[0] is cell:
            return known[1]
        size = _measure(self, cell)
        self._sizes[id(cell)] = (cell, size)
        return size

    def _row_height(self, cells: Sequence[Any]) -> int | None:
        """The lines a row takes at the columns' widths; None when only rendering can tell.

        A cell of an elided column is one line by design; a text cell of a wrapping column
        takes the lines its text wraps into at the column's width (one when it fits); text
        elsewhere takes one line unless it holds a line break.
        """
        height = 1
        for column, cell in zip(self.ordered_columns, cells, strict=False):
            if isinstance(cell, Elided):
                continue
            if isinstance(cell, str):
                plain = cell
            elif isinstance(cell, Text):
                plain = cell.plain
            else:
                return None
            if "\n" in plain:
                return None
            if self.fit.get(str(column.key.value)) != "wrap" or column.auto_width:
                continue  # a column as wide as its widest cell wraps nothing
            if self._measured(cell).maximum <= column.width:
                continue
            text = Text.from_markup(cell) if isinstance(cell, str) else cell
            height = max(height, len(text.wrap(self.app.console, column.width)))
        return height

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """DataTable's bookkeeping for new rows, less what the fitting does already.

        DataTable measures every cell of every new row to size its columns, and renders the
        auto-height ones; once :meth:`refit` has given every column its width and the rows
        their heights (:meth:`_row_height`), only the auto-height rows need it, and the
        scrollable size is worked out again.
        """
        if any(column.auto_width for column in self.columns.values()):
            super()._update_dimensions(new_rows)
            return
        super()._update_dimensions(
            [key for key in new_rows if key in self.rows and self.rows[key].auto_height]
        )

    def _schedule_refit(self) -> None:
        if not self._refit_pending:
            self._refit_pending = True
            self.call_after_refresh(self.refit)

    def available_width(self) -> int:
        """The cells the columns may take: the width, less the padding and the scroll bar."""
        padding = 2 * self.cell_padding * len(self.columns)
        scrollbar = self.styles.scrollbar_size_vertical if self.show_vertical_scrollbar else 0
        return self.size.width - scrollbar - padding

    def refit(self) -> None:
        """Compute the column widths for the current width, and redraw if they changed."""
        self._refit_pending = False
        if not self.columns or self.size.width <= 0:
            return
        columns = self.ordered_columns
        fits: list[Fit] = [self.fit.get(str(c.key.value), "keep") for c in columns]
        natural: list[int] = []
        minimum: list[int] = []
        stepped: list[bool] = []
        for column, fit in zip(columns, fits, strict=True):
            title = column.label.cell_len
            fixed = self._fixed.get(str(column.key.value))
            widest_cell, narrowest_cell, shortened = self._extent(column.key)
            stepped.append(shortened)
            reserved = self.reserve.get(str(column.key.value), 0)
            widest = fixed or max(title, reserved, widest_cell)
            natural.append(widest)
            if fit == "wrap":
                floor = MIN_WRAPPED
            elif fit in ("elide", "elide-last"):
                # A cell may say how narrow it goes (a time without its date), else 9 cells.
                floor = max(MIN_ELIDED, narrowest_cell)
            else:
                floor = widest
            minimum.append(max(title, min(widest, floor)))
        available = self.available_width()
        widths = fit_widths(natural, minimum, fits, available)
        if any(s and w < n for s, w, n in zip(stepped, widths, natural, strict=True)):
            # A column of values with a short form shows that form in full or not at all:
            # it takes just the short form's width and leaves the rest to the others.
            natural = [
                m if s and w < n else n
                for s, w, n, m in zip(stepped, widths, natural, minimum, strict=True)
            ]
            widths = fit_widths(natural, minimum, fits, available)
        if len(self._sizes) > 2 * len(self.rows) * len(columns) + 64:
            # Forget the cells no longer in the table (the picker listed again, say).
            used = {id(cell) for row in self.rows for cell in self.get_row(row)}
            self._sizes = {k: v for k, v in self._sizes.items() if k in used}
        if all(not c.auto_width and c.width == w for c, w in zip(columns, widths, strict=True)):
            return  # rows added since were laid out at these widths already
        for column, width in zip(columns, widths, strict=True):
            column.width = width
            column.auto_width = False
        self._rebuild()

    def _extent(self, column: ColumnKey) -> tuple[int, int, bool]:
        """What a column's cells need: the widest one on one line, the largest of their
        minimum widths (0 without cells), and whether one has a short form."""
        sizes = [self._measured(cell) for cell in self.get_column(column)]
        return (
            max((size.maximum for size in sizes), default=0),
            max((size.minimum for size in sizes), default=0),
            any(isinstance(cell, Shortened) for cell in self.get_column(column)),
        )

    def update_row(self, key: str, cells: Sequence[Any]) -> None:
        """Replace a row's cells in place (the cursor and scrolling stay where they are).

        A wrapped row takes the height of its new cells, and the columns fit again.
        """
        before = self.get_row(key)
        changed = False
        for column, old, cell in zip(self.ordered_columns, before, cells, strict=True):
            if not _same(old, cell):  # every change makes DataTable redraw all of itself
                self.update_cell(key, column.key, cell)
                changed = True
        row = self.rows.get(RowKey(key))
        if not changed:
            return
        if row is not None and self.wraps:
            self._set_height(row, self._row_height(cells))
            self._offset_cache.clear()  # the rows' line offsets, cached by DataTable
            self._require_update_dimensions = True
        self._schedule_refit()

    def _set_height(self, row: Any, height: int | None) -> None:
        """Give ``row`` its height; None: DataTable renders it to find out, when idle."""
        if height is None:
            row.auto_height = True
            self._new_rows.add(row.key)  # DataTable measures the rows it is told are new
        else:
            row.height, row.auto_height = height, False

    def _rebuild(self) -> None:
        """Lay the rows out again at the new widths: each takes the height its cells need.

        In place (the cursor and scrolling stay), with the heights worked out from the
        cells' text: adding a thousand rows again would stall the screen for a second.
        """
        if self.wraps:
            for row in self.ordered_rows:
                self._set_height(row, self._row_height(self.get_row(row.key)))
        self._clear_caches()
        self._require_update_dimensions = True
        self.refresh()
