"""Key bindings that reach the wizard in a terminal and in a web browser, and their names.

The single source of the wizard's key names: the bindings use the constants below, the
footer and every help text name keys with :func:`display` and :func:`label`, and the docs'
key table is checked against :data:`REFERENCE`.

Browsers keep some shortcuts for themselves and never pass them to a page: Ctrl+N (new
window), Ctrl+T (new tab), F1 (the browser's help) and, in Firefox on Linux, Ctrl+Q (quit).
Under ``serve`` the wizard runs in a page, so each of those bindings has an Alt twin, which a
browser's terminal (xterm.js) sends as Escape + letter. Back's twin is Alt+P ("previous"):
Alt+B and Alt+F arrive as Escape + b/f, which terminals also send for "word left/right", so
Textual reads them as Ctrl+Left/Right and they can never be bound. tmux takes Ctrl+B (its
prefix) before the wizard sees it, so under tmux Back is shown as Alt+P too.

Every twin is bound everywhere; only the key *shown* depends on where the wizard runs, and
that is decided when the footer is drawn (:func:`working`), not when this module is imported.

Whether the wizard runs in a page is known before any screen exists: textual-serve starts
each session with Textual's web driver named in ``TEXTUAL_DRIVER``.
"""

from __future__ import annotations

import os

NEXT = "ctrl+n,alt+n"
"""Next / Apply / Continue / Quit on the Done screen."""

BACK = "ctrl+b,alt+p"
"""Back one step (keeping the answers); Back to review on the Done screen."""

HELP = "alt+h,f1"
"""Show or hide the help panel. F1 stays for terminals; browsers keep it for their own help."""

SAVE = "ctrl+s"
"""Save the answers as a YAML answers file."""

TRAIL_HEALTH = "ctrl+t,alt+t"
"""The Status screen, from Welcome and Done."""

QUIT = "ctrl+q,alt+q"
"""Quit the wizard (asks first when answers would be lost or an apply runs)."""

HINT = "alt+i"
"""Reveal the current lab's next hint (in sandbox mode, when a lab is started). Alt: it works
in a page and never types into a text field."""
DRY_RUN = "ctrl+d"
"""Dry-run the plan (Review)."""

PALETTE = "ctrl+p"
"""The command palette (Textual's own binding; named here for the docs and the footer)."""

CANCEL = "escape"
"""Cancel a running lookup; stop an apply (asks first)."""

PREVIOUS_TAB = "left_square_bracket"
"""Review: the tab before the one shown."""

NEXT_TAB = "right_square_bracket"
"""Review: the tab after the one shown."""

TWINS = (NEXT, BACK, HELP, TRAIL_HEALTH, QUIT)
"""The bindings that have a second key, each shown by the key that works where it runs."""

REFERENCE: tuple[tuple[str, str], ...] = (
    (NEXT, "next step"),
    (BACK, "back"),
    (SAVE, "save the answers"),
    (HELP, "help panel"),
    (CANCEL, "cancels a running lookup"),
    (TRAIL_HEALTH, "trail health"),
    (PALETTE, "the command palette"),
    (QUIT, "quit"),
)
"""The keys every step shares, as the docs' key table lists them (tests compare the two)."""

_NAMES = {
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "tab": "Tab",
    "backspace": "Backspace",
    "delete": "Delete",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "slash": "/",
    "question_mark": "?",
}
"""Textual's key names that people write differently."""


def in_browser() -> bool:
    """True when this process draws into a web page (``cloudtrail-wizard serve``)."""
    return "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")


def in_tmux() -> bool:
    """True inside tmux, which keeps Ctrl+B (its prefix) for itself."""
    return bool(os.environ.get("TMUX"))


def working(keys: str) -> str:
    """The one of ``keys`` (comma-separated, as a binding lists them) that works here.

    In a page, the first Alt key (the browser keeps the Ctrl and function keys); under
    tmux, the first key that is not Ctrl+B; elsewhere the first.
    """
    listed = [k.strip() for k in keys.split(",") if k.strip()]
    if in_browser():
        return next((k for k in listed if k.startswith("alt+")), listed[0])
    if in_tmux():
        return next((k for k in listed if k != "ctrl+b"), listed[0])
    return listed[0]


def display(key: str) -> str:
    """One key as people write it: ``ctrl+n`` -> ``Ctrl+N``, ``escape`` -> ``Esc``.

    A letter alone stays as typed (``c``); with a modifier it is a capital, as keyboards
    print it (``Alt+Q``).
    """
    *modifiers, name = key.split("+")
    if name in _NAMES:
        shown = _NAMES[name]
    elif len(name) == 1:
        shown = name.upper() if modifiers else name
    elif name[0] == "f" and name[1:].isdigit():
        shown = name.upper()
    else:
        shown = name.replace("_", " ").capitalize()
    return "+".join([*(m.capitalize() for m in modifiers), shown])


def twin_of(key: str) -> str | None:
    """The binding (of :data:`TWINS`) that ``key`` belongs to, if any."""
    return next((keys for keys in TWINS if key in keys.split(",")), None)


def shown(key: str) -> str:
    """What the footer shows for a bound ``key``: its twin that works here, if it has one."""
    twins = twin_of(key)
    return display(working(twins) if twins else key)


def label(keys: str) -> str:
    """How help texts name a binding: the key of ``keys`` that works here (``Ctrl+N``)."""
    return display(working(keys))


def alternatives(keys: str) -> str:
    """Every key of a binding, the one that works here first: ``Ctrl+N or Alt+N``."""
    first = working(keys)
    rest = [k.strip() for k in keys.split(",") if k.strip() and k.strip() != first]
    return " or ".join(display(k) for k in [first, *rest])


def with_alt(key: str) -> bool:
    """True for a key pressed with Alt (``alt+t``, ``alt+shift+t``): never text to type.

    A terminal sends Alt+T as Escape + "t", and Textual hands a text field the "t".
    """
    return "alt" in key.split("+")[:-1]
