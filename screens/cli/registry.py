"""The command table: every command's name, module and one-line summary, as data.

``--help`` lists the commands from this table and ``--version`` reads none of it, so
neither imports a command module; the parser imports only the module of the command being
run (:mod:`screens.cli.parser`). A command module offers ``add_arguments(parser)`` and
``run(args, out) -> int`` (:class:`CommandModule`).
"""

from __future__ import annotations

import argparse
import importlib
from typing import NamedTuple, Protocol, TextIO, cast


class CommandModule(Protocol):
    """What every module of :mod:`screens.cli.commands` offers."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's description, arguments and options to its parser."""

    def run(self, args: argparse.Namespace, out: TextIO) -> int:
        """Run the command; returns the exit code (:mod:`screens.common.errors`)."""


class Command(NamedTuple):
    """One row of the command table."""

    module: str
    """The module that implements it (imported only when the command runs)."""
    summary: str
    """The line ``--help`` shows for it."""


COMMANDS: dict[str, Command] = {
    "policies": Command(
        "screens.cli.commands.policies",
        "print every policy the answers produce (offline, no credentials needed)",
    ),
    "schema": Command(
        "screens.cli.commands.schema", "print the JSON Schema of the answers file format"
    ),
    "validate-answers": Command(
        "screens.cli.commands.validate_answers", "check answers files and report every problem"
    ),
    "plan": Command(
        "screens.cli.commands.plan",
        "look at the account, run the preflight checks and print the plan (read-only)",
    ),
    "apply": Command(
        "screens.cli.commands.apply", "apply the plan (asks first), roll back on failure, verify"
    ),
    "sandbox": Command(
        "screens.cli.commands.sandbox",
        "the shared sandbox --sandbox uses: start, status, stop, reset (or run a throwaway one)",
    ),
    "export": Command(
        "screens.cli.commands.export",
        "write the setup as an AWS CLI script or a CloudFormation template",
    ),
    "check-central": Command(
        "screens.cli.commands.check_central",
        "check that the central bucket and key policies let this account's trail deliver",
    ),
    "onboard": Command(
        "screens.cli.commands.onboard",
        "set up a trail in many accounts delivering to one central bucket",
    ),
    "recover": Command(
        "screens.cli.commands.recover",
        "list runs that did not finish (a crash, a kill); roll one back or resume it",
    ),
    "validate": Command(
        "screens.cli.commands.validate",
        "check a trail's log files against its signed digest files (read-only)",
    ),
    "serve": Command(
        "screens.cli.commands.serve", "serve the wizard as a web page (one wizard per browser tab)"
    ),
    "status": Command(
        "screens.cli.commands.status",
        "check the health of the account's trails (read-only); --fix TRAIL plans the fixes",
    ),
    "adopt": Command(
        "screens.cli.commands.adopt",
        "write an existing trail's configuration as an answers file (read-only)",
    ),
    "logs": Command(
        "screens.cli.commands.logs", "list a trail's newest log files, or show one file's events"
    ),
    "lab": Command(
        "screens.cli.commands.lab",
        "labs in the sandbox: list, start NAME, hint, check [--answer TEXT], reset",
    ),
}
"""Every command, in the order ``--help`` lists them."""


def load(name: str) -> CommandModule:
    """The module of command ``name`` (imported now, if it was not yet).

    Raises:
        KeyError: no such command.
    """
    return cast(CommandModule, importlib.import_module(COMMANDS[name].module))
