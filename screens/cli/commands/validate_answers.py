"""``validate-answers``: check answers files and report every problem of every file."""

from __future__ import annotations

import argparse
from typing import TextIO

from screens.common.answers import load_all
from screens.common.errors import EXIT_OK
from wizard.model.text import printable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The answers files."""
    parser.add_argument("answers", metavar="ANSWERS", nargs="+")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Say each file is valid, or (UsageError) list every problem."""
    for path, _answers in load_all(args.answers):
        out.write(f"{printable(path)}: valid\n")
    return EXIT_OK
