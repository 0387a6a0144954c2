"""Read-only policy viewers: a policy as highlighted JSON, and the diff of a merged policy.

The diff view exists to prove the promise "merged, never overwritten": the existing text is
shown dim, what the wizard adds is green, and a summary line says whether anything of the
existing policy is removed. Whether something is removed is read from the diff itself, not
taken on trust from the merge.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.strip import Strip
from textual.widgets import Static

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from textual.geometry import Size

    from wizard.policy.policies import Policy

CLOSING = " \t\r\n,]}"
"""Characters whose removal changes no statement: closing brackets, commas, blanks.

Appending a statement after the last one turns ``}`` into ``},``: the diff shows that line
as removed and re-added, yet nothing of the policy is lost.
"""

SYNTAX_THEME = "ansi_dark"
"""Terminal-palette colours, so highlighting follows the terminal's own theme."""


def policy_text(document: str | Policy) -> str:
    """The text of a policy: strings as they are (byte-for-byte), documents as JSON.

    Args:
        document: A policy as text or as a parsed document.

    Returns:
        The text to show, copy and save.
    """
    if isinstance(document, str):
        return document
    return json.dumps(document, indent=2)


def json_view(text: str, language: str = "json") -> Syntax:
    """Highlighted, wrapped source text.

    Args:
        text: The source.
        language: A pygments lexer name (``json``, ``bash``).

    Returns:
        A rich renderable.
    """
    return Syntax(text, language, theme=SYNTAX_THEME, word_wrap=True, background_color="default")


RenderKey = tuple[int, str | None, bool, bool, bool, str]
"""What a wrapped source's lines depend on besides its text: the width and how text wraps."""

_NEW_LINE = Segment("\n")


def render_key(options: ConsoleOptions) -> RenderKey:
    """The cache key of a render of :class:`SourceView` with ``options``."""
    return (
        options.max_width,
        options.overflow,
        options.no_wrap or False,
        options.ascii_only,
        options.legacy_windows,
        options.encoding,
    )


class KeptRender:
    """A renderable drawn once per width: Textual draws a widget's content to learn its
    height, again to paint it, and again each time its tab is shown anew.

    For renderables whose segments depend only on the width and the wrapping options (rich
    tables, text); ``make`` gives the renderable for a width (a plan table lays out
    differently when narrow).
    """

    def __init__(self, make: Callable[[int], RenderableType]) -> None:
        """Keep the renders of ``make(width)``.

        Args:
            make: The renderable to draw at a width (called once per width).
        """
        self.make = make
        self._renderables: dict[int, RenderableType] = {}
        self._rendered: dict[tuple[RenderKey, str | None, bool | None], list[Segment]] = {}
        self._measured: dict[tuple[int, int], Measurement] = {}

    def _renderable(self, width: int) -> RenderableType:
        if width not in self._renderables:
            self._renderables[width] = self.make(width)
        return self._renderables[width]

    def is_prepared(self, options: ConsoleOptions) -> bool:
        """Whether the segments for ``options`` are drawn already."""
        return self._key(options) in self._rendered

    @staticmethod
    def _key(options: ConsoleOptions) -> tuple[RenderKey, str | None, bool | None]:
        # Justification and highlighting too: a table or text may follow them.
        return render_key(options), options.justify, options.highlight

    def prepare(self, console: Console, options: ConsoleOptions) -> None:
        """Draw the segments for ``options`` now, for later renders with the same width."""
        key = self._key(options)
        if key not in self._rendered:
            renderable = self._renderable(options.max_width)
            self._rendered[key] = list(console.render(renderable, options))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        self.prepare(console, options)
        yield from self._rendered[self._key(options)]

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        key = (options.min_width, options.max_width)
        if key not in self._measured:
            renderable = self._renderable(options.max_width)
            self._measured[key] = Measurement.get(console, options, renderable)
        return self._measured[key]


class SourceView:
    """A :func:`json_view` whose lines are drawn once per width, when first needed.

    Textual renders a widget's whole content to learn its height, again to paint it, and
    again whenever its tab is shown anew; a long document (the CloudFormation template, the
    AWS CLI script) took 50-150 ms each time, most of it wrapping lines. This draws the same
    segments as the :class:`~rich.syntax.Syntax` it wraps (word-wrapped, no line numbers, no
    padding, the terminal's own background: each source line wrapped on its own), but one
    source line at a time, when :class:`PolicyJson` paints a line of it or :meth:`prepare`
    draws ahead, and keeps them per width. Its height is counted without drawing.
    """

    def __init__(self, text: str, language: str = "json") -> None:
        """Show ``text``.

        Args:
            text: The source.
            language: A pygments lexer name (``json``, ``bash``, ``yaml``).
        """
        self.syntax = json_view(text, language)
        """The highlighted source, as :func:`json_view` makes it."""
        self._lines: list[Text] | None = None
        self._starts: dict[RenderKey, list[int]] = {}
        """Per width: the first wrapped line of each source line, then the height."""
        self._drawn: dict[RenderKey, dict[int, list[list[Segment]]]] = {}
        """Per width: the wrapped lines of each source line drawn so far."""
        self._measured: dict[tuple[int, int], Measurement] = {}

    def lines(self) -> list[Text]:
        """The highlighted source lines (highlighted once)."""
        if self._lines is None:
            code = self.syntax.code
            ends_on_new_line = code.endswith("\n")
            processed = (code if ends_on_new_line else code + "\n").expandtabs(self.syntax.tab_size)
            highlighted = self.syntax.highlight(processed)
            self._lines = list(highlighted.split("\n", allow_blank=ends_on_new_line))
        return self._lines

    def _line_starts(self, console: Console, options: ConsoleOptions) -> list[int]:
        """Where each source line starts among the wrapped lines, counted without drawing.

        A source line no wider than the width is one line; only longer ones are wrapped
        (as the render wraps them) to count theirs.
        """
        key = render_key(options)
        if key not in self._starts:
            width = options.max_width
            no_wrap = bool(options.no_wrap)
            overflow = options.overflow
            starts = [0]
            for line in self.lines():
                count = 1
                if line.cell_len > width:
                    count = len(
                        line.wrap(
                            console,
                            width,
                            justify="left",
                            overflow=line.overflow or overflow,
                            tab_size=line.tab_size or 8,
                            no_wrap=line.no_wrap or no_wrap,
                        )
                    )
                starts.append(starts[-1] + count)
            self._starts[key] = starts
        return self._starts[key]

    def height(self, console: Console, options: ConsoleOptions) -> int:
        """How many lines a render with ``options`` has, without drawing them."""
        return self._line_starts(console, options)[-1]

    def _draw(self, console: Console, options: ConsoleOptions, number: int) -> list[list[Segment]]:
        """The wrapped lines of source line ``number`` (drawn once per width)."""
        drawn = self._drawn.setdefault(render_key(options), {})
        if number not in drawn:
            # The terminal's own background (Syntax's transparent case): no style, no pad.
            drawn[number] = console.render_lines(
                self.lines()[number],
                options.update(height=None, justify="left"),
                style=Style.null(),
                pad=False,
            )
        return drawn[number]

    def line(self, console: Console, options: ConsoleOptions, y: int) -> list[Segment] | None:
        """The segments of wrapped line ``y`` (None below the last line).

        Args:
            console: The console drawing.
            options: Its options (the width and wrapping count).
            y: The line, from 0.
        """
        starts = self._line_starts(console, options)
        if not 0 <= y < starts[-1]:
            return None
        number = bisect.bisect_right(starts, y) - 1
        wrapped = self._draw(console, options, number)
        offset = y - starts[number]
        # The count and the drawing wrap alike; should a line ever wrap differently, its
        # missing part is blank rather than an error.
        return wrapped[offset] if offset < len(wrapped) else []

    def is_prepared(self, options: ConsoleOptions) -> bool:
        """Whether every line for ``options`` is drawn already."""
        return len(self._drawn.get(render_key(options), {})) == len(self.lines())

    def prepare(
        self, console: Console, options: ConsoleOptions, height: int | None = None
    ) -> Iterator[int]:
        """Draw the lines for ``options`` ahead, a source line at a time.

        Args:
            console: The console that will draw them.
            options: The options it will draw with (only the width and wrapping count).
            height: Only the first this many wrapped lines (what a pane shows first); None
                for all.

        Yields:
            The number of the source line just drawn (lines drawn already are skipped).
        """
        starts = self._line_starts(console, options)
        drawn = self._drawn.setdefault(render_key(options), {})
        for number in range(len(self.lines())):
            if height is not None and starts[number] >= height:
                return
            if number not in drawn:
                self._draw(console, options, number)
                yield number

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for number in range(len(self.lines())):
            for wrapped in self._draw(console, options, number):
                yield from wrapped
                yield _NEW_LINE

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        key = (options.min_width, options.max_width)
        if key not in self._measured:
            self._measured[key] = self.syntax.__rich_measure__(console, options)
        return self._measured[key]


@dataclass
class DiffLine:
    """One line of the rendered diff."""

    kind: str
    """``context`` (unchanged), ``added`` (holds new text), ``removed`` or ``hunk``."""
    text: str
    """The line without its diff marker."""
    added_spans: list[tuple[int, int]] = field(default_factory=list)
    """For added lines: the character ranges that are new (the rest was already there)."""


@dataclass
class DiffSummary:
    """What a diff adds and removes."""

    lines: list[DiffLine]
    """The lines to show."""
    added_lines: int
    """Lines holding new text."""
    removed: list[str]
    """Removed text that is more than closing brackets and commas, one entry per change."""

    @property
    def nothing_removed(self) -> bool:
        """True when the new text only adds to the old one."""
        return not self.removed


def _flush(old: list[str], new: list[str], out: list[DiffLine], removed: list[str]) -> None:
    """Classify one change block (removed lines, then added lines) of a unified diff."""
    if not old and not new:
        return
    before, after = "\n".join(old), "\n".join(new)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    is_new = [False] * len(after)
    lost: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            lost.append(before[i1:i2])
        if tag in ("replace", "insert"):
            is_new[j1:j2] = [True] * (j2 - j1)
    lost_text = "".join(lost)
    if old and lost_text.strip(CLOSING):
        # Something real disappears: show the block as plain removed and added lines.
        removed.append(lost_text.strip())
        out.extend(DiffLine("removed", line) for line in old)
        out.extend(DiffLine("added", line, [(0, len(line))]) for line in new)
        return
    offset = 0
    for line in new:
        flags = is_new[offset : offset + len(line)]
        offset += len(line) + 1  # the newline
        spans: list[tuple[int, int]] = []
        start: int | None = None
        for index, flag in enumerate([*flags, False]):
            if flag and start is None:
                start = index
            elif not flag and start is not None:
                spans.append((start, index))
                start = None
        out.append(DiffLine("added" if spans else "context", line, spans))


def summarize_diff(diff: str) -> DiffSummary:
    """Read a unified diff (``--- current`` / ``+++ merged``) into displayable lines.

    Args:
        diff: The unified diff of the existing policy text against the merged text.

    Returns:
        The lines, the number of lines holding new text, and anything removed.
    """
    out: list[DiffLine] = []
    removed: list[str] = []
    old: list[str] = []
    new: list[str] = []
    for raw in diff.splitlines():
        if raw.startswith(("--- ", "+++ ")) and not out and not old and not new:
            continue  # file headers
        marker, text = raw[:1], raw[1:]
        if marker == "-":
            if new:  # a new change block starts
                _flush(old, new, out, removed)
                old, new = [], []
            old.append(text)
            continue
        if marker == "+":
            new.append(text)
            continue
        _flush(old, new, out, removed)
        old, new = [], []
        if marker == "@":
            # A hunk that does not start at line 1 follows unchanged lines left out.
            start = re.match(r"@@ -(\d+)", raw)
            if start is None or int(start.group(1)) > 1:
                out.append(DiffLine("hunk", raw))
        elif marker == "\\":
            continue  # "\ No newline at end of file"
        else:
            out.append(DiffLine("context", text))
    _flush(old, new, out, removed)
    added = sum(1 for line in out if line.kind == "added")
    return DiffSummary(lines=out, added_lines=added, removed=removed)


def render_diff(summary: DiffSummary) -> Text:
    """The diff as rich text: ``+`` green for new text, dim for kept text, red for removed.

    Args:
        summary: From :func:`summarize_diff`.

    Returns:
        Text that wraps at any width.
    """
    text = Text()
    for line in summary.lines:
        if line.kind == "hunk":
            text.append("  ⋯\n", style="dim")
            continue
        if line.kind == "removed":
            text.append("- " + line.text + "\n", style="bold red")
            continue
        if line.kind == "context":
            text.append("  " + line.text + "\n", style="dim")
            continue
        text.append("+ ", style="bold green")
        position = 0
        for start, end in line.added_spans:
            text.append(line.text[position:start], style="dim")
            text.append(line.text[start:end], style="green")
            position = end
        text.append(line.text[position:] + "\n", style="dim")
    text.rstrip()
    return text


def diff_headline(summary: DiffSummary, statements_added: int) -> str:
    """The one-line verdict above a diff.

    Args:
        summary: From :func:`summarize_diff`.
        statements_added: How many statements the wizard adds.

    Returns:
        ``"2 statements added, nothing removed"`` or what is removed.
    """
    added = f"{statements_added} statement{'s' if statements_added != 1 else ''} added"
    if summary.nothing_removed:
        return f"{added}, nothing removed"
    return f"{added}; {len(summary.removed)} existing part(s) changed or removed (red lines)"


class PolicyJson(Static):
    """One policy document, syntax-highlighted and wrapped; ``text`` is what is copied."""

    DEFAULT_CSS = """
    PolicyJson {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        document: str | Policy,
        *,
        language: str = "json",
        id: str | None = None,  # noqa: A002
        source: SourceView | None = None,
    ) -> None:
        """Create the view.

        Args:
            document: The policy as text (shown byte-for-byte) or as a document.
            language: Highlighting (``json``; ``bash`` for the CLI script).
            id: Widget id.
            source: The same text already highlighted (made off the event loop), if any.
        """
        self.text = policy_text(document)
        """The exact text shown."""
        if source is None or source.syntax.code != self.text:
            source = SourceView(self.text, language)
        self.source = source
        """What is drawn: kept per width (see :class:`SourceView`)."""
        super().__init__(self.source, id=id)

    def _options(self, width: int) -> ConsoleOptions:
        """The options Textual draws a rich renderable with at ``width``."""
        return self.app.console_options.update_width(width).update(highlight=False)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The document's height at ``width``, counted without drawing it (see
        :class:`SourceView`); Textual's own measure draws it whole."""
        if not width:
            return 0
        return self.source.height(self.app.console, self._options(width))

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the document, drawn when first painted (see :class:`SourceView`).

        Textual draws a Static's whole content before painting any line of it; this draws
        the source lines in view. The segments are those Textual paints: the document's,
        over the widget's own style.
        """
        width = self.size.width
        base = self.visual_style.rich_style
        segments = self.source.line(self.app.console, self._options(width), y)
        if segments is None:
            return Strip.blank(width, base)
        if base:
            segments = [Segment(text, base + style, None) for text, style, _ in segments]
        return Strip(segments)


class PolicyDiff(Vertical):
    """How a merge changes an existing policy: added lines green, kept lines dim."""

    DEFAULT_CSS = """
    PolicyDiff {
        height: auto;
        padding: 0 1;
    }
    PolicyDiff > #diff-headline {
        text-style: bold;
        color: $success;
        margin-bottom: 1;
    }
    PolicyDiff > #diff-headline.-removes {
        color: $error;
    }
    PolicyDiff > #diff-legend {
        color: $text-muted;
        margin-bottom: 1;
    }
    """

    def __init__(self, diff: str, statements_added: int, *, id: str | None = None) -> None:  # noqa: A002
        """Create the view.

        Args:
            diff: Unified diff of the existing policy text against the merged text.
            statements_added: How many statements the merge adds.
            id: Widget id.
        """
        super().__init__(id=id)
        self.text = diff
        """The raw unified diff (what is copied and saved)."""
        self.summary = summarize_diff(diff)
        """The diff, read."""
        self.headline = diff_headline(self.summary, statements_added)
        """The verdict line."""

    @property
    def nothing_removed(self) -> bool:
        """True when the merge only adds to the existing policy."""
        return self.summary.nothing_removed

    def compose(self) -> ComposeResult:
        mark = "✓ " if self.nothing_removed else "✗ "
        headline = Static(mark + self.headline, id="diff-headline", markup=False)
        headline.set_class(not self.nothing_removed, "-removes")
        yield headline
        yield Static(
            "Green: added by the wizard.  Dim: your existing policy, kept byte-for-byte.",
            id="diff-legend",
        )
        yield Static(render_diff(self.summary), id="diff-body")
