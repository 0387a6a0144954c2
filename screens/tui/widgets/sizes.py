"""The terminal sizes the screens adapt to, as classes on every screen.

Textual sets one class of each list on the screen whenever the terminal is resized, and
``app.tcss`` styles by them: below :data:`WIDE_FROM` columns the help panel is hidden unless
asked for (and then sits under the form, full width); below :data:`TALL_FROM` rows the
button bars take one line instead of three.
"""

from __future__ import annotations

WIDE_FROM = 100
"""Columns from which the help panel fits beside the form (at 80 the form would get 46)."""

TALL_FROM = 32
"""Rows from which the button bars keep their three-line buttons."""

HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_FROM, "-wide")]
"""``-narrow`` below :data:`WIDE_FROM` columns, ``-wide`` from there."""

VERTICAL_BREAKPOINTS = [(0, "-short"), (TALL_FROM, "-tall")]
"""``-short`` below :data:`TALL_FROM` rows, ``-tall`` from there."""


def is_narrow(width: int) -> bool:
    """True when a terminal ``width`` columns wide has no room for the help beside the form."""
    return width < WIDE_FROM


def breakpoint_classes(width: int, height: int) -> tuple[str, str]:
    """The classes Textual gives a screen in a terminal of this size, one of each list.

    A screen built with them already styles as it will be laid out: set by Textual at its
    first resize instead, they restyled every widget of the screen a second time.
    """
    across = "-wide" if width >= WIDE_FROM else "-narrow"
    down = "-tall" if height >= TALL_FROM else "-short"
    return across, down
