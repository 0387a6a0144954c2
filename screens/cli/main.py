"""``main``: parse the command line and run one command, or the interactive wizard.

Non-interactive commands never import Textual; only running the full-screen wizard does,
lazily. Every error a person can cause ends in a clear message and a documented exit code
(:mod:`screens.common.errors`), never a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from screens.cli.parser import QuietParser, Unreadable, build_parser
from screens.cli.registry import load
from screens.common.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
    print_error,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    start_worker_early(arguments)
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


def start_worker_early(argv: Sequence[str]) -> None:
    """For ``plan`` and ``apply``, start the AWS worker before the parser is even built.

    The worker (see :mod:`wizard.aws.worker`) loads the AWS SDK while this process builds
    the parser and loads the command. Only the options that decide the worker's session are
    read here, leniently: anything this cannot tell leaves the worker to
    :func:`screens.common.connection.start_worker`, which adopts this one only when its
    settings match the fully parsed options.
    """
    early = QuietParser(add_help=False)
    early.add_argument("--profile")
    early.add_argument("--region")
    early.add_argument("--sandbox", action="store_true")
    early.add_argument("--dry-run", action="store_true")
    early.add_argument("--log-account-profile")
    early.add_argument("--log-account-role")
    early.add_argument("-h", "--help", "--version", action="store_true", dest="other")
    try:
        known, rest = early.parse_known_args(list(argv))
    except Unreadable:  # the full parser says what is wrong
        return
    command = next((word for word in rest if not word.startswith("-")), None)
    if command not in ("plan", "apply") or known.other:
        return
    if known.sandbox or known.log_account_profile or known.log_account_role:
        return
    # Deferred: `--help` and `--version` load only the parser (start-up time).
    from screens.common import connection

    connection.prestart_worker(
        profile=known.profile,
        region=known.region,
        read_only=command == "plan" or known.dry_run,
    )


def run_interactive(args: argparse.Namespace) -> int:
    """Start the wizard: full screen, or plain prompts (--plain, no terminal, TERM=dumb)."""
    # Deferred: `--help` and `--version` load only the parser (start-up time).
    from pathlib import Path

    from screens.common.answers import load_one

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
