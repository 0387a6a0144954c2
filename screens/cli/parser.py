"""The argument parser: the global options, then one sub-command per row of the command table.

Only the command being run gets its arguments (its module is imported for that), so
``--help`` and ``--version`` import no command module at all. Without an argument list,
:func:`build_parser` adds every command's arguments: a complete parser, for a reference of
every command and for tests.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from screens.cli.registry import COMMANDS, load
from screens.common.errors import EXIT_INVALID
from wizard import __version__

PROG = "cloudtrail-wizard"
DESCRIPTION = (
    "Set up an AWS CloudTrail trail safely: every policy previewed, existing policies "
    "merged (never overwritten), dry-run, apply with rollback. Without a command, the "
    "interactive wizard starts."
)


class Parser(argparse.ArgumentParser):
    """An argument parser whose complaints end with :data:`EXIT_INVALID` (not argparse's 2
    by accident: the exit-code table says so)."""

    def error(self, message: str) -> NoReturn:
        """Print the usage and the problem; exit with :data:`EXIT_INVALID`."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


class Unreadable(Exception):
    """A :class:`QuietParser` could not read the command line (the full parser will say why)."""


class QuietParser(argparse.ArgumentParser):
    """A parser for a first look at the command line: it prints nothing, never exits.

    Where it cannot read the command line it raises :class:`Unreadable`; the full parser
    then reads the same arguments and says what is wrong, once.
    """

    def error(self, message: str) -> NoReturn:
        """Raise :class:`Unreadable` (instead of printing the usage and exiting)."""
        raise Unreadable(message)


def add_session_options(parser: argparse.ArgumentParser) -> None:
    """``--profile``, ``--region`` and ``--sandbox``: which AWS the command works on."""
    parser.add_argument("--profile", help="AWS profile to use (default: the standard chain)")
    parser.add_argument("--region", help="AWS region (default: the profile's or AWS_REGION)")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the sandbox: a local AWS emulator with a demo account, shared by "
        "every --sandbox command, that keeps what you do (see `sandbox status`)",
    )


def repeat_session_options(parser: argparse.ArgumentParser) -> None:
    """Accept the session options after a command too (``status --sandbox``), unlisted.

    They are global (before the command); SUPPRESS keeps a global value when they are not
    repeated after it.
    """
    parser.add_argument("--profile", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("--region", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument(
        "--sandbox", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )


def _add_global_options(parser: argparse.ArgumentParser, *, probe: bool = False) -> None:
    if probe:  # the same option strings (abbreviations resolve alike), nothing that exits
        parser.add_argument("-h", "--help", "--version", action="store_true")
    else:
        parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    add_session_options(parser)
    parser.add_argument(
        "--answers", metavar="FILE", help="pre-fill the wizard from an answers file"
    )
    parser.add_argument("--plain", action="store_true", help="plain prompts instead of full screen")


def command_named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs, read as the full parser will read it; None for none.

    Returns:
        A name of :data:`~screens.cli.registry.COMMANDS`, or None: no command (the
        interactive wizard), an unknown one, or a command line the parser will refuse.
    """
    probe = QuietParser(prog=PROG, add_help=False)
    _add_global_options(probe, probe=True)
    probe.add_argument("command", nargs="?")
    try:
        known, _rest = probe.parse_known_args(list(argv))
    except Unreadable:
        return None
    command = known.command
    return command if command in COMMANDS else None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of the command line ``argv``: every command listed, only its own loaded.

    Args:
        argv: The arguments to be parsed; the command they name (if any) gets its
            arguments. None: every command gets its arguments (a complete parser).
    """
    parser = Parser(prog=PROG, description=DESCRIPTION)
    _add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    wanted = set(COMMANDS) if argv is None else {command_named(argv)}
    for name, command in COMMANDS.items():
        command_parser = sub.add_parser(name, help=command.summary)
        if name in wanted:
            load(name).add_arguments(command_parser)
    return parser
