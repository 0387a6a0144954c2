"""``schema``: print the JSON Schema of the answers file format."""

from __future__ import annotations

import argparse
from typing import TextIO

from screens.common.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments."""


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the schema."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.model.answers_file import answers_schema

    out.write(answers_schema() + "\n")
    return EXIT_OK
