"""``main``: parse the command line and run one command, or the interactive wizard.

Non-interactive commands never import Textual; only running the full-screen wizard does,
lazily. Every error a person can cause ends in a clear message and a documented exit code
(:mod:`screens.common.errors`), never a traceback.
"""

from __future__ import annotations

import os
import sys

# Only what starting the AWS worker needs is imported before it starts (start_worker_early):
# the parser, the commands and the error table load while the worker loads the AWS SDK.
from wizard.aws import launch

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import NoReturn


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    start_worker_early(arguments)
    # Deferred: imported once the AWS worker, if any, is on its way (start-up time).
    import atexit
    import contextlib
    import gc

    from screens.cli.parser import build_parser
    from screens.cli.registry import load
    from screens.common.errors import (
        EXIT_INTERRUPTED,
        EXIT_INVALID,
        EXIT_OK,
        UsageError,
        print_error,
    )

    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    # At exit, skip the interpreter's final garbage collection of botocore's and pydantic's
    # object graphs (0.1-0.3 s of a 0.7 s apply); the process is ending anyway.
    atexit.register(gc.freeze)
    try:
        if args.command is None:
            return run_interactive(args)
        return load(args.command).run(args, sys.stdout)
    except UsageError as exc:
        print_error(f"error: {exc}")
        return EXIT_INVALID
    except KeyboardInterrupt:
        print_error("\nInterrupted. Nothing was changed.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (| head); that is not an error of ours.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_OK


def run() -> NoReturn:
    """The console script: exits with main's code."""
    sys.exit(main())


_EARLY_VALUES = ("--profile", "--region", "--log-account-profile", "--log-account-role")
"""Options read before the parser is built, with the value each takes."""
_EARLY_FLAGS = ("--sandbox", "--dry-run")
_NOT_A_RUN = ("-h", "--help", "--version")


def start_worker_early(argv: Sequence[str]) -> None:
    """For ``plan`` and ``apply``, start the AWS worker before the parser is even built.

    The worker (see :mod:`wizard.aws.worker`) loads the AWS SDK while this process builds
    the parser and loads the command. Only the options that decide the worker's session are
    read here, by hand (argparse alone takes longer to import than starting the worker),
    and leniently: a command line this reading gets wrong only starts a worker for nothing,
    since :func:`screens.common.connection.start_worker` adopts it only when its settings
    match the fully parsed options (and closes it otherwise).
    """
    values: dict[str, str] = {}
    flags: set[str] = set()
    words: list[str] = []
    remaining = iter(argv)
    for word in remaining:
        if word == "--":
            break
        name, equals, value = word.partition("=")
        if name in _EARLY_VALUES:
            if not equals:
                following = next(remaining, None)
                if following is None:
                    return  # the parser says what is missing
                value = following
            values[name] = value
        elif word in _EARLY_FLAGS:
            flags.add(word)
        elif word in _NOT_A_RUN:
            return
        elif not word.startswith("-"):
            words.append(word)
    command = words[0] if words else None
    if command not in ("plan", "apply"):
        return
    if "--sandbox" in flags or "--log-account-profile" in values or "--log-account-role" in values:
        return
    launch.prestart(
        profile=values.get("--profile"),
        region=values.get("--region"),
        read_only=command == "plan" or "--dry-run" in flags,
    )


def run_interactive(args: argparse.Namespace) -> int:
    """Start the wizard: full screen, or plain prompts (--plain, no terminal, TERM=dumb)."""
    # Deferred: `--help` and `--version` load only the parser (start-up time).
    import gc
    from pathlib import Path

    from screens.common.answers import load_one
    from screens.common.errors import EXIT_FAILED, UsageError, print_error

    answers = load_one(args.answers)[1] if args.answers else None
    reason = None
    if not sys.stdout.isatty():
        reason = "standard output is not a terminal"
    elif os.environ.get("TERM") == "dumb":
        reason = "TERM is dumb"
    if args.plain or reason:
        if reason and not args.plain:
            print_error(f"Using plain prompts: {reason}.")
        if not sys.stdin.isatty():
            raise UsageError(
                "The wizard asks questions, but standard input is not a terminal. Use "
                "`cloudtrail-wizard plan ANSWERS` and `cloudtrail-wizard apply ANSWERS` (see "
                "`cloudtrail-wizard schema` for the answers file format)."
            )
        # Deferred: questionary loads only when the plain wizard runs (start-up time).
        from screens.plain.wizard import run_plain

        return run_plain(args, answers=answers)
    # Until the first frame is drawn, no cyclic garbage collection: loading Textual and
    # building the first screen allocate tens of thousands of objects that live as long as
    # the process, and the collector walked them again and again (about 40 ms of a 0.35 s
    # start). The app freezes them before the first screen and turns the collector back on
    # once that screen is drawn (WizardApp.on_mount); the few cycles already garbage by then
    # stay, as they would have in the oldest generation.
    gc.disable()
    try:
        # Deferred: Textual loads only when the full-screen wizard runs (start-up time).
        from screens.common.backend import Backend
        from screens.tui.app import crash_message, make_app

        backend = Backend(profile=args.profile, region=args.region, sandbox=args.sandbox)
        app = make_app(
            backend, answers=answers, answers_path=Path(args.answers) if args.answers else None
        )
        code = app.run()
    finally:
        gc.enable()  # the app ended before its first frame
    if app.return_code:
        # Textual ends the app with return code 1 (and no result) when an exception escaped
        # it; the result alone would read as success.
        print_error(crash_message(app))
        return EXIT_FAILED
    return int(code or 0)
