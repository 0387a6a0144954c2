"""The help panel's text: the guide's Markdown, drawn on the first frame.

Textual's Markdown widget imports markdown-it and Pygments (about 50 ms) and parses in a
thread once mounted, so a screen's first frame shows an empty help panel. The guide's help
texts are plain paragraphs with an occasional `code` span and backslash escapes. For text
within that subset, :func:`help_widget` builds :class:`HelpText`: the same blocks with the
same styles as the Markdown widget (a padded vertical container of paragraphs, one line
apart, code spans in the Markdown widget's colours), composed at once. Any other Markdown
gets the Markdown widget itself, so what a person sees never depends on the shortcut, with
one difference on purpose: a word longer than the line (a path) breaks after a "/"
(:class:`~screens.tui.widgets.wrap.Breakable`) where the Markdown widget cuts it mid-word.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.content import Content, Span
from textual.widget import Widget
from textual.widgets import Static

from screens.tui.widgets.wrap import Breakable

_PUNCTUATION = frozenset(string.punctuation)
"""What a backslash escapes (CommonMark: ASCII punctuation)."""

_BLOCK_START = re.compile(r"[#>+*=_|~`<\[-]|\d{1,9}[.)](\s|$)")
"""A line starting like a heading, quote, list, rule, fence, table, HTML or reference."""

_INLINE_MARKUP = re.compile(r"[*_~\[\]<&|]")
"""Emphasis, strikethrough, links, images, HTML, entities and tables (unless escaped)."""

_LINKIFIED = re.compile(r"@|://|www\.|[A-Za-z0-9-]\.[A-Za-z]")
"""What linkify may turn into a link: URLs, e-mail addresses, domain names."""


@dataclass(frozen=True)
class Paragraph:
    """One paragraph: its text (soft line breaks already spaces) and its code spans."""

    text: str
    """What is shown."""
    code: tuple[tuple[int, int], ...] = ()
    """(start, end) offsets of the inline code spans in ``text``."""


def parse_plain(markdown: str) -> list[Paragraph] | None:
    """Paragraphs of ``markdown`` if it is plain paragraphs, code spans and escapes only.

    Args:
        markdown: CommonMark source.

    Returns:
        The paragraphs as Textual's Markdown widget would show them, or None when the text
        uses anything else (then only a real Markdown parser shows it right).
    """
    paragraphs: list[Paragraph] = []
    lines: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.strip(" \t"):
            if "\t" in line or line.startswith("    ") or _BLOCK_START.match(line.lstrip(" ")):
                return None
            if line.endswith(("  ", "\\")):  # a hard line break
                return None
            lines.append(line.strip(" "))
        elif lines:
            paragraph = _parse_inline("\n".join(lines))
            if paragraph is None:
                return None
            paragraphs.append(paragraph)
            lines = []
    return paragraphs


def _parse_inline(source: str) -> Paragraph | None:
    """One paragraph's inline content, as the Markdown widget turns it into text."""
    parts: list[str] = []  # alternating: text, code, text, code, ..., text
    text: list[str] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source) and source[i + 1] in _PUNCTUATION:
            text.append(source[i + 1])
            i += 2
            continue
        if _INLINE_MARKUP.match(char):
            return None
        if char == "`":
            run = len(source) - len(source[i:].lstrip("`")) - i
            end = _closing_backticks(source, i + run, run)
            if end is None:  # no closing run: the backticks are literal text
                text.append("`" * run)
                i += run
                continue
            code = source[i + run : end].replace("\n", " ")
            if len(code) > 2 and code[0] == code[-1] == " " and code.strip(" "):
                code = code[1:-1]
            parts.extend(["".join(text), code])
            text = []
            i = end + run
        else:
            text.append(char)
            i += 1
    parts.append("".join(text))
    shown: list[str] = []
    spans: list[tuple[int, int]] = []
    offset = 0
    for index, part in enumerate(parts):
        if index % 2 == 0:
            if _LINKIFIED.search(part):
                return None
            # Soft breaks become spaces and runs of blanks one space, as in the widget.
            part = re.sub(r"\s+", " ", part)
        else:
            spans.append((offset, offset + len(part)))
        shown.append(part)
        offset += len(part)
    return Paragraph("".join(shown), tuple(spans))


def _closing_backticks(source: str, start: int, run: int) -> int | None:
    """Where a run of exactly ``run`` backticks starts at or after ``start`` (None: none)."""
    i = start
    while (i := source.find("`", i)) != -1:
        length = len(source) - len(source[i:].lstrip("`")) - i
        if length == run:
            return i
        i += length
    return None


class HelpParagraph(Static):
    """A paragraph of help text (the Markdown widget's paragraph block)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"code_inline"}
    DEFAULT_CSS = """
    HelpParagraph {
        width: 1fr;
        height: auto;
        margin: 0 0 1 0;
    }
    """


class HelpText(Widget):
    """Help paragraphs, laid out and coloured like Textual's Markdown widget."""

    DEFAULT_CSS = """
    HelpText {
        height: auto;
        padding: 0 2 0 2;
        layout: vertical;
        color: $foreground;
        overflow-y: hidden;

        &:ansi {
            HelpParagraph > .code_inline {
                background: ansi_default !important;
            }
        }

        HelpParagraph {
            &:dark > .code_inline {
                background: $warning 10%;
                color: $text-warning 95%;
            }
            &:light > .code_inline {
                background: $error 5%;
                color: $text-error 95%;
            }
        }
    }
    """

    def __init__(self, paragraphs: list[Paragraph]) -> None:
        """Show ``paragraphs`` (see :func:`parse_plain`).

        Args:
            paragraphs: The text.
        """
        super().__init__()
        self.paragraphs = paragraphs

    def compose(self) -> ComposeResult:
        for paragraph in self.paragraphs:
            spans = [Span(start, end, ".code_inline") for start, end in paragraph.code]
            # Breakable: a path longer than the panel breaks after a "/", where the Markdown
            # widget would cut it mid-word; everything else is drawn as it draws it.
            yield HelpParagraph(Breakable(Content(paragraph.text, spans=spans)), expand=True)


def help_widget(markdown: str) -> Widget:
    """The help text as a widget: :class:`HelpText` when it can, else a Markdown widget.

    Args:
        markdown: The help, as CommonMark.

    Returns:
        A widget showing ``markdown`` the way Textual's Markdown widget does.
    """
    paragraphs = parse_plain(markdown)
    if paragraphs is not None:
        return HelpText(paragraphs)
    # Deferred for the first frame: Markdown (markdown-it) loads when first shown.
    from textual.widgets import Markdown

    return Markdown(markdown)
