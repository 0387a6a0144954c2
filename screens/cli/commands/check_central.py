"""``check-central``: do the central bucket and key policies let this account's trail deliver?

Reads the central (log-archive) bucket and key policies and evaluates every request
CloudTrail will make for this account's trail, and each named reader's decryption.
Read-only. Exit 0 when all are allowed (a confirmation code is printed for
``apply --central-confirmed``), 1 when not.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from screens.common.answers import load_one
from screens.common.central import add_central_options, open_log_session
from screens.common.connection import Connection, connect
from screens.common.errors import EXIT_FAILED, EXIT_OK, UsageError
from wizard.model.names import check_account_id

if TYPE_CHECKING:
    from wizard.aws.session import AwsSession
    from wizard.aws.worker import WorkerSession
    from wizard.plan.central import CentralCheckReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The answers file, the writing account, the central options and the output format."""
    parser.description = (
        "Read the central (log-archive) bucket and key policies and evaluate every request "
        "CloudTrail will make for this account's trail, and each named reader's decryption. "
        "Read-only. Exit 0 when all are allowed (a confirmation code is printed for "
        "`apply --central-confirmed`), 1 when not."
    )
    parser.add_argument("answers", metavar="ANSWERS")
    parser.add_argument(
        "--account",
        help="the account whose trail writes (default: the account of the main session)",
    )
    add_central_options(parser, handoff=False)
    parser.add_argument("--output", choices=("text", "json"), default="text")


@contextmanager
def _main_connection(args: argparse.Namespace) -> Iterator[Connection | None]:
    """The main session, unless the log-archive profile and --account make it unneeded."""
    if args.log_account_profile and args.account and not args.sandbox:
        yield None
        return
    with connect(args, read_only=True) as conn:
        yield conn


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Evaluate the live central policies for this account's trail."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.model.context import AccountContext
    from wizard.plan.central import check_central

    path, answers = load_one(args.answers)
    if args.account and (problem := check_account_id(args.account)):
        raise UsageError(f"--account: {problem}")
    with _main_connection(args) as conn:
        log = open_log_session(
            conn, profile=args.log_account_profile, role=args.log_account_role, read_only=True
        )
        session: AwsSession | WorkerSession
        if conn is None:
            # Only a log-archive profile and --account: the main session is not needed.
            assert log is not None
            session, account = log, args.account
        else:
            session = log if log is not None else conn.session
            account = args.account or conn.session.whoami()[0]
        _owner, partition, _arn = session.whoami()
        ctx = AccountContext(account_id=account, partition=partition, region=session.region)
        report = check_central(answers, ctx, session.caller, readers=args.central_reader)
    if args.output == "json":
        doc = json.loads(report.model_dump_json())
        doc["ok"] = report.ok
        if not report.ok:
            doc["confirmation"] = None
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        _print_check(report, path, out)
    return EXIT_OK if report.ok else EXIT_FAILED


def _print_check(report: CentralCheckReport, path: str, out: TextIO) -> None:
    out.write(f"Central policies for trail {report.trail_arn} (account {report.account_id})\n")
    out.write(f"  bucket {report.bucket}" + (f", key {report.key}" if report.key else "") + "\n\n")
    for check in report.checks:
        mark = "pass" if check.allowed else "FAIL"
        out.write(f"  [{mark}] {check.resource}: {check.label}\n")
        if not check.allowed and check.detail:
            out.write(f"         {check.detail}\n")
    for problem in report.problems:
        out.write(f"  [FAIL] cannot read: {problem}\n")
    out.write("\n")
    if report.ok:
        out.write(
            f"All {len(report.checks)} requests are allowed. Confirmation code: "
            f"{report.confirmation}\nThe operator of account {report.account_id} runs: "
            f"cloudtrail-wizard apply {shlex.quote(path)} --central-confirmed "
            f"{report.confirmation}\n"
        )
    else:
        refused = sum(1 for c in report.checks if not c.allowed) + len(report.problems)
        out.write(
            f"{refused} problem(s): the central policies do not (yet) let this trail deliver. "
            "Apply the hand-off pack (`cloudtrail-wizard plan ANSWERS --handoff-out DIR` "
            "writes it) and check again.\n"
        )
