"""Key bindings that reach the wizard in a terminal and in a web browser.

Browsers keep some shortcuts for themselves and never pass them to a page: Ctrl+N (new
window), Ctrl+T (new tab) and, in Firefox on Linux, Ctrl+Q (quit). Under ``serve`` the
wizard runs in a page, so each of those bindings has an Alt twin, which a browser's
terminal (xterm.js) sends as Escape + letter. In a terminal the Control key comes first
(the footer shows it); in a browser the Alt key does.

Whether the wizard runs in a page is known before any screen exists: textual-serve starts
each session with Textual's web driver named in ``TEXTUAL_DRIVER``.
"""

from __future__ import annotations

import os


def in_browser() -> bool:
    """True when this process draws into a web page (``cloudtrail-wizard serve``)."""
    return "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")


def _keys(terminal: str, browser: str) -> str:
    return f"{browser},{terminal}" if in_browser() else f"{terminal},{browser}"


NEXT = _keys("ctrl+n", "alt+n")
"""Next / Apply / Continue / Quit on the Done screen."""

TRAIL_HEALTH = _keys("ctrl+t", "alt+t")
"""The Status screen, from Welcome and Done."""

QUIT = _keys("ctrl+q", "alt+q")
"""Quit the wizard (asks first)."""


def label(keys: str) -> str:
    """How the first of ``keys`` is written in help texts: ``ctrl+n`` -> ``Ctrl+N``."""
    first = keys.split(",", 1)[0]
    return "+".join(
        part.capitalize() if len(part) > 1 else part.upper() for part in first.split("+")
    )
