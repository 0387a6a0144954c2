"""The ``cloudtrail-wizard`` command line: the composition root of every front end.

Non-interactive commands (``policies``, ``schema``, ``plan``, ``apply``, ...) never import
Textual; only running the full-screen wizard does, lazily. Every error a person can cause
ends in a clear message and a documented exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

from wizard import __version__

EXIT_OK = 0
"""Success."""
EXIT_FAILED = 1
"""The change failed and was rolled back (or a check found a problem)."""
EXIT_INVALID = 2
"""Invalid input, or blocked by an error finding. Nothing was changed."""
EXIT_INTERRUPTED = 130
"""Interrupted with Ctrl-C."""


class UsageError(Exception):
    """A command-line mistake; the message says how to fix it."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = _Parser(
        prog="cloudtrail-wizard",
        description=(
            "Set up an AWS CloudTrail trail safely: every policy previewed, existing policies "
            "merged (never overwritten), dry-run, apply with rollback. Without a command, the "
            "interactive wizard starts."
        ),
    )
    parser.add_argument("--version", action="version", version=f"cloudtrail-wizard {__version__}")
    _add_session_options(parser)
    parser.add_argument(
        "--answers", metavar="FILE", help="pre-fill the wizard from an answers file"
    )
    parser.add_argument("--plain", action="store_true", help="plain prompts instead of full screen")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "policies",
        help="print every policy the answers produce (offline, no credentials needed)",
        description="Print every policy an answers file produces. Works offline.",
    )
    p.add_argument("answers", metavar="ANSWERS", nargs="+", help="answers file(s), YAML or JSON")
    p.add_argument("--account", default="123456789012", help="account id (default %(default)s)")
    p.add_argument("--partition", default="aws", help="ARN partition (default %(default)s)")
    p.add_argument("--organization-id", help="organization id (o-...) for organization trails")
    p.add_argument(
        "--management-account", help="management account id (organization trails, if not this)"
    )
    p.add_argument("--output", choices=("json", "text"), default="text")
    p.set_defaults(handler=_cmd_policies)

    p = sub.add_parser("schema", help="print the JSON Schema of the answers file format")
    p.set_defaults(handler=_cmd_schema)

    p = sub.add_parser("validate-answers", help="check answers files and report every problem")
    p.add_argument("answers", metavar="ANSWERS", nargs="+")
    p.set_defaults(handler=_cmd_validate_answers)

    # Command modules register themselves in _EXTRA_COMMANDS when imported.
    for module in (
        "screens.commands",
        "screens.export_cmd",
        "screens.onboard_cmd",
        "screens.recover_cmd",
        "screens.validate_cmd",
        "screens.serve_cmd",
        "screens.status_cmd",
    ):
        importlib.import_module(module)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


_EXTRA_COMMANDS: list[Callable[[Any], None]] = []
"""Registration hooks of command modules (engine commands add themselves here)."""


def _add_session_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="AWS profile to use (default: the standard chain)")
    parser.add_argument("--region", help="AWS region (default: the profile's or AWS_REGION)")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the embedded sandbox (a local AWS emulator with a demo account)",
    )


def _err(message: str) -> None:
    from wizard.model.text import printable_lines

    # Error messages quote what the user or AWS supplied: escape sequences are shown, not run.
    print(printable_lines(message), file=sys.stderr)


def _load_all(paths: Sequence[str]) -> list[tuple[str, Any]]:
    from wizard.model.answers_file import AnswersError, load_answers

    loaded: list[tuple[str, Any]] = []
    failed: list[str] = []
    for path in paths:
        try:
            loaded.append((path, load_answers(path)))
        except AnswersError as exc:
            failed.append(exc.render())
    if failed:
        raise UsageError(
            "\n".join(failed) + "\nNothing was changed. Fix the answers file and run again."
        )
    return loaded


def _cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    from wizard.model.answers_file import answers_schema

    out.write(answers_schema() + "\n")
    return EXIT_OK


def _cmd_validate_answers(args: argparse.Namespace, out: TextIO) -> int:
    from wizard.model.text import printable

    for path, _answers in _load_all(args.answers):
        out.write(f"{printable(path)}: valid\n")
    return EXIT_OK


def _cmd_policies(args: argparse.Namespace, out: TextIO) -> int:
    from pydantic import ValidationError

    from wizard.model.context import AccountContext
    from wizard.policy.policies import build_policies

    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    try:
        ctx = AccountContext(
            account_id=args.account,
            partition=args.partition,
            region=region or "us-east-1",
            organization_id=args.organization_id,
            management_account_id=args.management_account,
        )
    except ValidationError as exc:
        raise UsageError(_validation_text(exc)) from None
    results = []
    for path, answers in _load_all(args.answers):
        if answers.trail.organization and ctx.organization_id is None:
            raise UsageError(
                f"{path}: trail.organization is true, so the bucket policy needs the "
                "organization id: pass --organization-id o-xxxxxxxxxx."
            )
        results.append((path, build_policies(answers, ctx)))
    if args.output == "json":
        docs = [r.model_dump(mode="json") for _p, r in results]
        payload: Any = docs[0] if len(docs) == 1 else dict(zip(args.answers, docs, strict=True))
        out.write(json.dumps(payload, indent=2) + "\n")
        return EXIT_OK
    from screens.common.console import print_policy_set

    for path, policies in results:
        print_policy_set(path, policies, out)
    return EXIT_OK


def _validation_text(exc: Any) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(p) for p in error["loc"])
        msg = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{field}: {msg}" if field else msg)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used as the console script)."""
    _start_worker_early(sys.argv[1:] if argv is None else list(argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    # At exit, skip the interpreter's final garbage collection of botocore's and pydantic's
    # object graphs (0.1-0.3 s of a 0.7 s apply); the process is ending anyway.
    atexit.register(gc.freeze)
    try:
        if handler is None:
            return _run_interactive(args)
        code: int = handler(args, sys.stdout)
        return code
    except UsageError as exc:
        _err(f"error: {exc}")
        return EXIT_INVALID
    except KeyboardInterrupt:
        _err("\nInterrupted. Nothing was changed.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (| head); that is not an error of ours.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_OK


def _start_worker_early(argv: list[str]) -> None:
    """For ``plan`` and ``apply``, start the AWS worker before the parser is even built.

    Building the full parser imports every command module; the worker (see
    :mod:`wizard.aws.worker`) can load the AWS SDK meanwhile. Only the options that decide
    the worker's session are read here, leniently: anything this cannot tell leaves the
    worker to :func:`screens.commands._start_worker`, which adopts this one only when its
    settings match the fully parsed options.
    """
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--profile")
    early.add_argument("--region")
    early.add_argument("--sandbox", action="store_true")
    early.add_argument("--dry-run", action="store_true")
    early.add_argument("--log-account-profile")
    early.add_argument("--log-account-role")
    early.add_argument("-h", "--help", "--version", action="store_true", dest="other")
    try:
        known, rest = early.parse_known_args(argv)
    except SystemExit:  # argparse's own complaint comes again from the real parser
        return
    command = next((word for word in rest if not word.startswith("-")), None)
    if command not in ("plan", "apply") or known.other:
        return
    if known.sandbox or known.log_account_profile or known.log_account_role:
        return
    from screens.commands import prestart_worker

    prestart_worker(
        profile=known.profile,
        region=known.region,
        read_only=command == "plan" or known.dry_run,
    )


def _run_interactive(args: argparse.Namespace) -> int:
    """Start the wizard: full screen, or plain prompts (--plain, no terminal, TERM=dumb)."""
    from pathlib import Path

    answers = None
    if args.answers:
        ((_path, answers),) = _load_all([args.answers])
    reason = None
    if not sys.stdout.isatty():
        reason = "standard output is not a terminal"
    elif os.environ.get("TERM") == "dumb":
        reason = "TERM is dumb"
    if args.plain or reason:
        if reason and not args.plain:
            _err(f"Using plain prompts: {reason}.")
        if not sys.stdin.isatty():
            raise UsageError(
                "The wizard asks questions, but standard input is not a terminal. Use "
                "`cloudtrail-wizard plan ANSWERS` and `cloudtrail-wizard apply ANSWERS` (see "
                "`cloudtrail-wizard schema` for the answers file format)."
            )
        from screens.plain.wizard import run_plain

        return run_plain(args, answers=answers)
    from screens.common.backend import Backend
    from screens.tui.app import make_app

    backend = Backend(profile=args.profile, region=args.region, sandbox=args.sandbox)
    app = make_app(
        backend, answers=answers, answers_path=Path(args.answers) if args.answers else None
    )
    code = app.run()
    return int(code or 0)


def run() -> NoReturn:
    """Entry point wrapper that exits with main's code."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    # Run through the imported module, not __main__: command modules register themselves
    # on screens.cli, which would otherwise be a second copy of this file.
    from screens import cli as _cli

    _cli.run()
