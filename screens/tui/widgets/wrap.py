"""Text that fits: long paths and ARNs break after a ``/`` (not mid-word), or lose their middle.

Terminals wrap text at spaces, and a word longer than the line is cut wherever the line
ends: ``s3://bucket/AWSLogs/1234/CloudTr`` + ``ail/us-east-1/``. :func:`wrap_offsets` wraps
exactly as Textual does, except that such a word breaks after one of its separators
(``/``, ``:``, ``,``, then ``-``, ``_``, ``.``, ``=``), and :class:`Breakable` shows any text
that way at whatever width it gets. Where a value must stay on one line (a table cell),
:class:`Elided` keeps its start and end and drops the middle: ``demo-legacy…-123456789012``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.content import Content
from textual.visual import Visual

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.style import Style as RichStyle
    from textual.css.styles import RulesMap
    from textual.strip import Strip
    from textual.style import Style
    from textual.visual import RenderOptions

ELLIPSIS = "…"
"""What stands for the dropped middle of an elided value."""

STRONG_BREAKS = "/:,;|"
"""Separators between the parts of a path, an ARN or a list: the best places to break."""

WEAK_BREAKS = "-_.=&?@+"
"""Separators inside a name: where to break when no strong one is on the line."""

MIN_ELIDED = 9
"""An elided value keeps at least this many cells (four each side of the ellipsis)."""

_CHUNK = re.compile(r"\S+\s*|\s+")
"""A word with the blanks after it, or a run of blanks (as Textual's own wrapping reads text)."""


def _break_in(text: str, start: int, width: int) -> int:
    """Where to end a line of an over-long word that starts at ``start``.

    After the last strong separator within ``width`` cells, else the last weak one, as long
    as the line is at least half full; else exactly at ``width`` cells (a fold).
    """
    end = start
    cells = 0
    while end < len(text) and cells + cell_len(text[end]) <= width:
        cells += cell_len(text[end])
        end += 1
    shortest = start + max(1, (end - start) // 2)
    for separators in (STRONG_BREAKS, WEAK_BREAKS):
        for index in range(end, shortest - 1, -1):
            if index < len(text) and text[index - 1] in separators and not text[index].isspace():
                return index
    return max(end, start + 1)


def wrap_offsets(text: str, width: int) -> list[int]:
    """The offsets at which to break one line of ``text`` so each line fits ``width`` cells.

    Words that fit on a line are placed as Textual places them: a word that does not fit
    on the rest of the line starts the next one. Only a word longer than a whole line is
    broken, after a separator (see :data:`STRONG_BREAKS`) rather than at the last cell.

    Args:
        text: One line (no newline).
        width: The line width in cells (at least 1).

    Returns:
        Increasing offsets into ``text``; empty when it fits on one line.
    """
    width = max(1, width)
    offsets: list[int] = []
    column = 0
    for match in _CHUNK.finditer(text):
        start, end = match.span()
        chunk_width = cell_len(match.group())
        if column + chunk_width <= width:
            column += chunk_width
            continue
        if chunk_width <= width:
            offsets.append(start)
            column = chunk_width
            continue
        # Longer than any line: it starts a line of its own and breaks at separators.
        if start:
            offsets.append(start)
        position = start
        while cell_len(text[position:end].rstrip()) > width:
            position = _break_in(text, position, width)
            offsets.append(position)
        column = cell_len(text[position:end])
    return offsets


def has_long_word(text: str, width: int) -> bool:
    """True when some word of ``text`` is wider than ``width`` (the only case that differs)."""
    return any(cell_len(word) > width for word in text.split())


class Breakable(Visual):
    """Any text, wrapped by :func:`wrap_offsets`: long paths break after a separator.

    A drop-in for a Static's content (``Static(Breakable(...))`` or ``update``), and a rich
    renderable for a table cell: text whose words all fit is wrapped as it would be anyway.
    """

    def __init__(self, text: str | Text | Content) -> None:
        """Wrap ``text`` (a rich Text keeps its styles).

        Args:
            text: Plain text (not markup), rich Text or Textual Content.
        """
        self.text = text if isinstance(text, Text) else None
        """The rich Text given, if one was (drawn in rich tables with its styles)."""
        if isinstance(text, Text):
            text = Content.from_rich_text(text)
        elif isinstance(text, str):
            text = Content(text)
        self.content = text
        """The text, unbroken."""
        self._cache: tuple[int, Content] | None = None

    def __str__(self) -> str:
        return self.content.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text if self.text is not None else Text(self.content.plain)
        width = options.max_width
        if not has_long_word(text.plain, width):
            yield text
            return
        lines: list[Text] = []
        for line in text.split("\n", allow_blank=True):
            for part in line.divide(wrap_offsets(line.plain, width)):
                part.rstrip()
                lines.append(part)
        yield Text("\n").join(lines)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max((cell_len(line) for line in self.content.plain.splitlines()), default=0)
        return Measurement(min(longest, MIN_ELIDED), longest)

    @property
    def plain(self) -> str:
        """The text without styles, unbroken."""
        return self.content.plain

    def at(self, width: int) -> Content:
        """The content with line breaks for ``width`` cells (itself when nothing is too long)."""
        if self._cache is not None and self._cache[0] == width:
            return self._cache[1]
        content = self.content
        if has_long_word(content.plain, width):
            lines: list[Content] = []
            for line in content.split("\n", allow_blank=True):
                offsets = wrap_offsets(line.plain, width)
                lines.extend(part.rstrip() for part in line.divide(offsets))
            content = Content("\n").join(lines)
        self._cache = (width, content)
        return content

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        return self.at(width).render_strips(width, height, style, options)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self.content.get_optimal_width(rules, container_width)

    def get_minimal_width(self, rules: RulesMap) -> int:
        return self.content.get_minimal_width(rules)

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self.at(width).get_height(rules, width)


def elide_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells: its start and end kept, the middle an ellipsis.

    The end gets the larger half: what tells similar names apart (an account number, a
    date, a file's suffix) is usually there.

    Args:
        text: One line.
        width: The cells available.

    Returns:
        ``text`` itself when it fits.
    """
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    room = width - 1
    head = room // 2
    tail = room - head
    start = text[:head]
    while cell_len(start) > head:
        start = start[:-1]
    end = text[-tail:] if tail else ""
    while cell_len(end) > tail:
        end = end[1:]
    return f"{start}{ELLIPSIS}{end}"


class Elided:
    """One line of text that, given fewer cells than it needs, drops its middle.

    For table cells: the column can be made narrower than the value (down to
    :data:`MIN_ELIDED`), and ``str()`` still gives the whole value.
    """

    def __init__(self, text: str, style: str | RichStyle = "") -> None:
        """Show ``text`` (plain, not markup) in ``style``.

        Args:
            text: The value.
            style: A rich style for all of it.
        """
        self.text = text
        """The whole value."""
        self.style = style
        """Its style."""

    def __str__(self) -> str:
        return self.text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(elide_middle(self.text, options.max_width), style=self.style, no_wrap=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = cell_len(self.text)
        return Measurement(min(width, MIN_ELIDED), width)


class Shortened(Elided):
    """A value with a shorter form shown when the whole does not fit (a time without its date).

    ``str()`` gives the whole value; the short form is elided in turn if even it is too long.
    """

    def __init__(self, text: str, short: str, style: str | RichStyle = "") -> None:
        """Show ``text``, or ``short`` when ``text`` is too long.

        Args:
            text: The whole value.
            short: What to show in fewer cells.
            style: A rich style for it.
        """
        super().__init__(text, style)
        self.short = short
        """The shorter form."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        shown = self.text if cell_len(self.text) <= width else elide_middle(self.short, width)
        yield Text(shown, style=self.style, no_wrap=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(cell_len(self.short), cell_len(self.text))


def elided_line(*parts: str | Text | Elided) -> Table:
    """One line of text whose :class:`Elided` parts give up their middle when it is too long.

    Args:
        *parts: The pieces, in order; text pieces keep their width.

    Returns:
        A rich grid of one row (``str()`` of its cells gives the whole text).
    """
    grid = Table.grid()
    for part in parts:
        grid.add_column(no_wrap=not isinstance(part, Elided))
    grid.add_row(*parts)
    return grid
