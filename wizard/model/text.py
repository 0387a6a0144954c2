"""Text that is safe to show on a terminal, whoever wrote it.

Answers files, log records, S3 keys and some AWS fields (a key's description, an error
message) hold text someone else chose. Printed raw, an escape sequence in it can recolour
or clear the screen, move the cursor to hide a line, set the window title or, on some
terminals, write to the clipboard; a bidirectional override can make ``evil`` read as
``live``. :func:`printable` turns every such character into a visible escape before it
reaches a terminal.
"""

from __future__ import annotations

__all__ = ["printable", "printable_lines"]

_BIDI = frozenset(
    {
        0x061C,  # ARABIC LETTER MARK
        0x200E,  # LEFT-TO-RIGHT MARK
        0x200F,  # RIGHT-TO-LEFT MARK
        *range(0x202A, 0x202F),  # LRE, RLE, PDF, LRO, RLO
        *range(0x2066, 0x206A),  # LRI, RLI, FSI, PDI
    }
)
"""Bidirectional formatting characters: they reorder what is shown without being seen."""

_SEPARATORS = frozenset({0x2028, 0x2029})
"""LINE and PARAGRAPH SEPARATOR: some terminals start a new line at them."""


def _escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _unsafe(code: int) -> bool:
    # C0 controls (ESC among them), DEL, C1 controls (0x9b is a one-byte CSI on some
    # terminals), then the invisible reordering and line-breaking characters.
    return code < 0x20 or 0x7F <= code <= 0x9F or code in _BIDI or code in _SEPARATORS


def printable(value: object) -> str:
    """``value`` as text with every control character shown as an escape.

    ESC becomes ``\\x1b``, a newline ``\\x0a``, DEL ``\\x7f``, a right-to-left override
    ``\\u202e``: the result is one line that cannot change the terminal. Backslashes are kept
    as they are, so paths and patterns stay readable (the result is for people, not for
    parsing back).

    Args:
        value: Anything; it is turned into text with ``str`` first.

    Returns:
        The text, unchanged when it holds nothing to escape.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable():  # the common case: nothing to do
        return text
    return "".join(_escape(ord(c)) if _unsafe(ord(c)) else c for c in text)


def printable_lines(text: str) -> str:
    """Like :func:`printable`, but keeps the line breaks of text made of several lines.

    For output built line by line (a plan, a wrapped paragraph) where the newlines are ours;
    any other control character in it is escaped.
    """
    return "\n".join(printable(line) for line in text.split("\n"))
