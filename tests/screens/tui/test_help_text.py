"""The help panel draws the guide's help as Textual's Markdown widget would, paths excepted.

:func:`screens.tui.widgets.help_text.help_widget` skips the Markdown widget (slow to import and
to build) for plain paragraphs; these tests compare screenshots of both, for every step's
help and for the edge cases of the subset, in the dark, light and ANSI themes, and check
that anything outside the subset still gets the Markdown widget. The one intended difference:
a word longer than the panel's line (a path) breaks after a "/" where Markdown cuts it
mid-word, so the pictures are compared on a panel wide enough for every word, and the
break is checked on its own.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Markdown

from screens.tui.widgets.help_text import HelpText, Paragraph, help_widget, parse_plain
from wizard import guide

pytestmark = [pytest.mark.tui]

HELP = {step.id: step.help.replace("<", "\\<") for step in guide.STEPS}
"""Every step's help, escaped as screens.tui.base escapes it."""

PLAIN_HELP = [name for name, markdown in HELP.items() if parse_plain(markdown) is not None]
"""The steps whose help the shortcut draws (the others get the Markdown widget)."""

SUBSET_CASES = {
    "code spans": "Run `a  b`, `` x`y `` and ` z ` here;\nnext `line\nwrap` ends\\.",
    "escapes": "A \\<b\\> \\\\ \\* and \\` tick, 90 days\n  indented   continuation.",
    "unclosed backticks": "An `unclosed tick and ``two` here.",
    "blank lines": "\n\nFirst.\n\n\n   Second paragraph.\n\n",
}
"""Plain text the shortcut draws itself: each must look the same as with Markdown."""

OUTSIDE_SUBSET = {
    "emphasis": "Some *emphasis* here.",
    "strong": "Some __strong__ text.",
    "link": "See [the docs](https://example.com).",
    "bare URL": "See https://example.com for more.",
    "domain": "Logs go to cloudtrail.amazonaws.com first.",
    "html": "An <b>html</b> tag.",
    "entity": "Fish &amp; chips.",
    "heading": "# Title\n\nText.",
    "list": "Intro.\n\n- one\n- two",
    "ordered list": "1. first\n2. second",
    "quote": "> quoted",
    "fence": "```\ncode\n```",
    "indented code": "    code block",
    "table": "a | b\n--|--\n1 | 2",
    "hard break": "line one  \nline two",
    "setext heading": "Title\n=====",
}
"""Markdown the shortcut leaves to the Markdown widget."""


WIDTH = 44
"""The panel's width in the screenshots."""

LINE = WIDTH - 1 - 2 - 4
"""The cells of one line of help in it: less the border, the panel's and the text's padding."""


class Panel(App[None]):
    """The help panel of a step screen, holding either widget."""

    CSS = """
    #help-panel { border-left: solid $primary; padding: 0 1; background: $boost; }
    """

    def __init__(self, markdown: str, *, shortcut: bool, theme: str, width: int = WIDTH) -> None:
        super().__init__()
        self.markdown = markdown
        self.shortcut = shortcut
        self.initial_theme = theme
        self.width = width

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-panel"):
            yield help_widget(self.markdown) if self.shortcut else Markdown(self.markdown)

    def on_mount(self) -> None:
        self.theme = self.initial_theme
        self.query_one("#help-panel").styles.width = self.width


async def screenshot(markdown: str, *, shortcut: bool, theme: str, width: int = WIDTH) -> str:
    app = Panel(markdown, shortcut=shortcut, theme=theme, width=width)
    async with app.run_test(size=(50, 60)) as pilot:
        widget = app.query_one("#help-panel").children[0]
        # The Markdown widget parses in a thread and mounts its blocks afterwards.
        for _ in range(200):
            if widget.children:
                break
            await pilot.pause()
        assert widget.children, "the help was never drawn"
        await pilot.pause()
        return app.export_screenshot()


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "ansi-dark"])
@pytest.mark.parametrize("name", [*PLAIN_HELP, *SUBSET_CASES])
async def test_shortcut_draws_what_markdown_draws(name: str, theme: str) -> None:
    markdown = {**HELP, **SUBSET_CASES}[name]
    paragraphs = parse_plain(markdown)
    assert paragraphs is not None, "not plain paragraphs: test it with OUTSIDE_SUBSET"
    # Wide enough for the longest word: where a word is cut, the two differ on purpose.
    longest = max(len(word) for p in paragraphs for word in p.text.split())
    width = max(WIDTH, WIDTH - LINE + longest)
    expected = await screenshot(markdown, shortcut=False, theme=theme, width=width)
    words = [w.strip(string.punctuation) for w in paragraphs[0].text.split()]
    word = max((w for w in words if w.isalpha()), key=len)
    assert word in expected  # the help was drawn, so equal pictures mean something
    assert await screenshot(markdown, shortcut=True, theme=theme, width=width) == expected


async def test_a_path_longer_than_the_line_breaks_after_a_slash() -> None:
    path = "AWSLogs/<account>/CloudTrail/<region>/<date>/"
    markdown = f"CloudTrail always adds `{path}` after it."
    assert len(path) > LINE  # Markdown cuts it inside a folder's name
    app = Panel(markdown, shortcut=True, theme="textual-dark")
    async with app.run_test(size=(50, 20)) as pilot:
        await pilot.pause()
        paragraph = app.query_one("#help-panel HelpParagraph", Widget)
        size = paragraph.size
        lines = [s.text.strip() for s in paragraph.render_lines(Region(0, 0, *size))]
    shown = [line for line in lines if line]
    assert all(len(line) <= LINE for line in shown)
    # The path starts a line and goes on over the next ones, each broken after a "/".
    start = next(i for i, line in enumerate(shown) if line.startswith("AWSLogs/"))
    end, joined = start, ""
    while len(joined) < len(path):
        joined += shown[end]
        end += 1
    assert joined.startswith(path)
    assert end - start >= 2
    assert all(line.endswith("/") for line in shown[start : end - 1])


def test_the_welcome_help_takes_the_shortcut() -> None:
    # The first screen's help must not wait for the Markdown widget.
    assert isinstance(help_widget(HELP["welcome"]), HelpText)


@pytest.mark.parametrize("name", list(OUTSIDE_SUBSET))
def test_other_markdown_gets_the_markdown_widget(name: str) -> None:
    markdown = OUTSIDE_SUBSET[name]
    assert parse_plain(markdown) is None
    assert isinstance(help_widget(markdown), Markdown)


def test_parse_plain_reads_paragraphs_code_and_escapes() -> None:
    parsed: Any = parse_plain("Say `a  b` \\<x\\>\nthen  `` c`d ``.\n\nNext.")
    assert parsed == [
        Paragraph("Say a  b <x> then c`d.", ((4, 8), (18, 21))),
        Paragraph("Next."),
    ]
