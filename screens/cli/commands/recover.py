"""``recover``: list unfinished runs, roll one back, or resume it.

A run that was killed (kill -9, a closed terminal, a dropped ssh session, the machine
stopping) or whose rollback did not complete leaves its journal behind with no summary.
``recover`` lists them (exit 0 when there are none, 1 when there are);
``recover --rollback [RUN]`` undoes what the journal shows the run did (and every in-flight
create it can prove was the run's own, by its tag); ``recover --resume [RUN]`` finishes the
run instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from screens.common.central import add_central_options, open_log_session
from screens.common.connection import connect
from screens.common.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError
from screens.common.reporting import Printer, confirm, explain_step_error, stop_signals_set
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.ports import AwsCaller
    from wizard.run.recover import UnfinishedRun


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The run, --rollback or --resume, --yes, the output format and the central options."""
    parser.description = (
        "Without options: list the unfinished runs in the journal directory (exit 0 when "
        "there are none, 1 when there are). --rollback undoes what an unfinished run did, as "
        "its journal and its resources' tags prove; --resume finishes it. Exit codes with "
        "--rollback/--resume: 0 done, 1 failed (the message says what is still in place), 2 "
        "invalid (no such run, wrong account), 130 interrupted."
    )
    parser.add_argument(
        "run",
        nargs="?",
        metavar="RUN",
        help="the run id (or its first characters) or the journal's path; needed when "
        "several runs are unfinished",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--rollback", action="store_true", help="undo the changes the run left in place"
    )
    action.add_argument(
        "--resume", action="store_true", help="finish the run's remaining steps instead"
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--output", choices=("text", "json"), default="text")
    add_central_options(parser)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """List, roll back or resume unfinished runs."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.run.recover import RecoveryError, find_run, unfinished_runs

    if not (args.rollback or args.resume):
        runs = unfinished_runs()
        if args.run:
            runs = [r for r in runs if r.run_id.startswith(args.run) or args.run in r.journal]
        if args.output == "json":
            doc = {"unfinished": [r.model_dump(mode="json") for r in runs]}
            out.write(json.dumps(doc, indent=2) + "\n")
        else:
            _print_runs(runs, out)
        return EXIT_FAILED if runs else EXIT_OK
    try:
        unfinished = find_run(args.run)
    except RecoveryError as exc:
        raise UsageError(str(exc)) from None
    what = "roll back" if args.rollback else "resume"
    if args.output == "text":
        _print_runs([unfinished], out)
    if not args.yes and not confirm(
        f"{what.capitalize()} run {unfinished.run_id[:12]}?",
        out,
        no_terminal="recover needs confirmation, but there is no terminal to ask on. Pass --yes.",
    ):
        out.write("Nothing was changed.\n")
        return EXIT_OK if args.output == "text" else EXIT_FAILED
    return _recover(args, out, unfinished.run_id, rollback=bool(args.rollback))


def _print_runs(runs: list[UnfinishedRun], out: TextIO) -> None:
    if not runs:
        out.write("No unfinished run: every run finished, or was rolled back.\n")
        return
    out.write(f"{len(runs)} unfinished run(s):\n")
    for r in runs:
        why = {
            "interrupted": "the process ended before the run did",
            "rollback-incomplete": "its rollback left changes in place",
            "no-plan": "its journal holds calls but no plan",
        }[r.reason]
        out.write(
            f"\n  run {r.run_id}  started {r.started}  ({why})\n"
            f"    trail    {r.trail_arn or '-'}  account {r.account_id or '-'}\n"
            f"    journal  {r.journal}\n"
        )
        if r.done:
            out.write(f"    in place {', '.join(r.done)}\n")
        if r.in_flight:
            out.write(f"    in flight (may or may not have acted) {', '.join(r.in_flight)}\n")
        if r.pending:
            out.write(f"    not started {', '.join(r.pending)}\n")
    out.write(
        "\nUndo one:   cloudtrail-wizard recover --rollback RUN\n"
        "Finish one: cloudtrail-wizard recover --resume RUN\n"
    )


def _recover(args: argparse.Namespace, out: TextIO, run_id: str, *, rollback: bool) -> int:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.run.recover import RecoveryError, recover_resume, recover_rollback

    as_json = args.output == "json"
    printer = Printer(out, enabled=not as_json)

    def say(message: str) -> None:
        if not as_json:
            out.write(f"  {message}\n")
            out.flush()

    cancel = threading.Event()
    with connect(args) as conn:
        callers: dict[str, AwsCaller] = {}
        log_session = open_log_session(
            conn,
            profile=getattr(args, "log_account_profile", None),
            role=getattr(args, "log_account_role", None),
            read_only=False,
        )
        if log_session is not None:
            callers[log_session.whoami()[0]] = log_session.caller
        recover = recover_rollback if rollback else recover_resume
        try:
            with stop_signals_set(cancel, out):
                report = recover(
                    run_id,
                    conn.session.caller,
                    callers=callers,
                    progress=printer,
                    explain=explain_step_error,
                    say=say,
                )
        except RecoveryError as exc:
            raise UsageError(str(exc)) from None
        except AwsError as err:
            # Deferred for start-up time: boto3/botocore load only when AWS is called.
            from wizard.aws.session import explain_aws_error

            print(f"error: {explain_aws_error(err)}", file=sys.stderr)
            return EXIT_FAILED
    if as_json:
        out.write(json.dumps(report.model_dump(mode="json"), indent=2, default=str) + "\n")
    else:
        out.write(f"\n{report.status}: {report.message}\n")
        if report.journal_path:
            out.write(f"Journal: {report.journal_path}\n")
    if report.status == "cancelled":
        return EXIT_INTERRUPTED
    return EXIT_OK if report.status in ("rolled-back", "applied") else EXIT_FAILED
