"""Exit codes and usage errors: what every front end ends with, as data.

Every error a person can cause ends in a clear message and one of the codes of
:data:`EXIT_CODES`, never a traceback. Light on purpose: the command line imports it before
anything else.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NamedTuple

from wizard.model.text import printable_lines

if TYPE_CHECKING:
    from pydantic import ValidationError

EXIT_OK = 0
"""Success."""
EXIT_FAILED = 1
"""The change failed and was rolled back (or a check found a problem)."""
EXIT_INVALID = 2
"""Invalid input, or blocked by an error finding. Nothing was changed."""
EXIT_INTERRUPTED = 130
"""Interrupted with Ctrl-C."""


class ExitCode(NamedTuple):
    """One row of the exit-code table."""

    code: int
    """The process's exit status."""
    meaning: str
    """What it means, for people and scripts."""


EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(EXIT_OK, "success (applied and verified; plan applicable; dry-run done)"),
    ExitCode(
        EXIT_FAILED,
        "the change failed and was rolled back, verification failed, the journal could not "
        "be completed, an AWS error stopped a read, or (`recover`) unfinished runs exist",
    ),
    ExitCode(EXIT_INVALID, "invalid input, or blocked by an error finding; nothing was changed"),
    ExitCode(
        EXIT_INTERRUPTED,
        "interrupted (Ctrl-C, SIGTERM, SIGHUP); what was done was rolled back",
    ),
)
"""Every exit code of the command line and what it means (the README's table)."""


class UsageError(Exception):
    """A command-line mistake; the message says how to fix it."""


def print_error(message: str) -> None:
    """Print ``message`` on standard error, every control character shown, not run.

    Error messages quote what the user or AWS supplied (a file name, a resource name): an
    escape sequence in it must not recolour or rewrite the terminal.
    """
    print(printable_lines(message), file=sys.stderr)


def validation_text(exc: ValidationError) -> str:
    """pydantic's validation errors as ``field: message`` lines (no URLs, no "Value error")."""
    lines = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(p) for p in error["loc"])
        msg = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{field}: {msg}" if field else msg)
    return "\n".join(lines)
