"""``onboard ACCOUNTS --engine stacksets --ou OU ...``: the trail in every account of some OUs.

Reads the accounts file's shared answers and log-archive account
(:func:`wizard.stacksets.spec.load_stackset_spec`), checks the prerequisites
(:func:`wizard.stacksets.engine.preflight`), shows what the run would do (the StackSet, the
instances per OU and region, the central policy diff), asks, then applies it with progress
and the per-account results (:class:`wizard.stacksets.engine.StackSetRun`). Exit 0 done (or
nothing to do, or dry-run), 1 an account or the run failed (rolled back), 2 invalid input,
blocked or declined (nothing changed), 130 interrupted (rolled back).
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from screens.cli.stackset_options import deployment_options
from screens.common.central import open_log_session
from screens.common.connection import Connection, connect
from screens.common.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
)
from screens.common.reporting import confirm, report_aws_failure, stop_signals_set
from wizard.ports import AwsError
from wizard.run.journal import Journal, new_journal_path

if TYPE_CHECKING:
    from wizard.ports import AwsCaller
    from wizard.stacksets.engine import StackSetReport
    from wizard.stacksets.spec import StackSetSpec


def run_stacksets(args: argparse.Namespace, out: TextIO) -> int:
    """Plan, show, ask, apply; one journal; the exit code."""
    # Deferred for start-up time: the engine (pydantic, botocore) loads when needed.
    from wizard.model.answers_file import AnswersError
    from wizard.stacksets.spec import load_stackset_spec

    if args.concurrency != 4:
        raise UsageError(
            "--concurrency is the accounts engine's; with --engine stacksets use "
            "--max-concurrent-percentage (the share of an OU's accounts deployed at once)."
        )
    try:
        spec = load_stackset_spec(args.accounts)
    except AnswersError as exc:
        raise UsageError(
            exc.render() + "\nNothing was changed. Fix the accounts file and run again."
        ) from None
    as_json = args.output == "json"
    cancel = threading.Event()
    with connect(args, read_only=args.dry_run) as conn:
        try:
            report = _run(args, conn, spec, out, cancel, as_json=as_json)
        except AwsError as err:
            return report_aws_failure(err)
    if as_json:
        doc = json.loads(report.model_dump_json())
        doc["ok"] = report.ok
        out.write(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        _print_results(report, out)
    return _exit_code(report, cancelled=cancel.is_set())


def _say(out: TextIO, enabled: bool) -> Callable[[str], None]:
    lock = threading.Lock()

    def say(line: str) -> None:
        if enabled:
            with lock:
                out.write(f"  {line}\n")
                out.flush()

    return say


def _run(
    args: argparse.Namespace,
    conn: Connection,
    spec: StackSetSpec,
    out: TextIO,
    cancel: threading.Event,
    *,
    as_json: bool,
) -> StackSetReport:
    # Deferred for start-up time: boto3/botocore load only when AWS is called.
    from wizard.aws.session import explain_aws_error
    from wizard.stacksets.engine import StackSetRun, preflight

    caller = conn.session.caller
    ctx = conn.session.context()
    access = preflight(caller, ctx)
    if access.blocked or access.organization_id is None:
        problems = "\n".join(f"  [{f.code}] {f.message}" for f in access.findings)
        raise UsageError(
            "The StackSet cannot be deployed from here:\n" + problems + "\nNothing was changed."
        )
    readers = spec.central.readers if spec.central else []
    options = deployment_options(
        args,
        spec.answers,
        organization_id=access.organization_id,
        call_as=access.call_as,
        readers=readers,
    )
    central_caller, central_account = _central(args, conn, spec)
    journal = Journal(
        new_journal_path("onboard-stacksets"),
        meta={
            "command": "onboard",
            "engine": "stacksets",
            "source": args.accounts,
            "stack_set": options.name,
            "organizational_units": options.organizational_units,
            "regions": options.regions,
            "main_account": ctx.account_id,
            "call_as": options.call_as,
            "dry_run": args.dry_run,
        },
    )
    say = _say(out, enabled=not as_json)
    stacksets = StackSetRun(
        spec.answers,
        options,
        caller=caller,
        ctx=ctx,
        central_caller=central_caller,
        central_account=central_account,
        dry_run=args.dry_run,
        journal=journal,
        progress=say,
        explain=explain_aws_error,
        cancel=cancel,
        timeout=float(args.wait_minutes) * 60,
    )
    if not as_json:
        out.write(
            f"StackSet {options.name} for {', '.join(options.organizational_units)} in "
            f"{', '.join(options.regions)}, from account {ctx.account_id} (CallAs "
            f"{options.call_as}, organization {access.organization_id})"
            + (" - dry run, nothing will be changed" if args.dry_run else "")
            + "\n"
        )
        if spec.listed_accounts:
            out.write(
                f"  note: the {spec.listed_accounts} account(s) listed in {args.accounts} are not "
                "used: the StackSet deploys to every account of the OUs.\n"
            )
    report = stacksets.prepare()
    if not as_json:
        _print_plan(report, out)
    if report.status != "planned" or args.dry_run:
        return stacksets.apply()
    if not args.yes and not confirm(
        f"Apply: {len(report.changes)} change(s) to StackSet {options.name}?",
        out,
        no_terminal="onboard needs confirmation, but there is no terminal to ask on. Review "
        "the plan (`cloudtrail-wizard onboard ACCOUNTS --engine stacksets --ou ... --dry-run`) "
        "and pass --yes.",
    ):
        return stacksets.decline()
    with stop_signals_set(cancel, out):
        return stacksets.apply()


def _central(
    args: argparse.Namespace, conn: Connection, spec: StackSetSpec
) -> tuple[AwsCaller | None, str | None]:
    owner = spec.answers.bucket.account
    profile = args.log_account_profile or (spec.central.profile if spec.central else None)
    role = args.log_account_role or (spec.central.role_arn if spec.central else None)
    if args.log_account_profile or args.log_account_role:
        profile, role = args.log_account_profile, args.log_account_role
    session = open_log_session(conn, profile=profile, role=role, read_only=args.dry_run)
    if session is None:
        return None, None
    reached = session.whoami()[0]
    if owner is not None and reached != owner:
        raise UsageError(
            f"The log-archive credentials reach account {reached}, but the central bucket "
            f"{spec.answers.bucket.name} belongs to {owner} (bucket.account). Nothing was "
            "changed."
        )
    return session.caller, reached


def _print_plan(report: StackSetReport, out: TextIO) -> None:
    out.write("\nTargets:\n")
    rows = [["OU", "ACCOUNTS", "DEPLOYED", "ADDED"]]
    for t in report.targets:
        accounts = "not readable here" if t.accounts is None else str(len(t.accounts))
        rows.append(
            [
                t.organizational_unit,
                accounts,
                ", ".join(t.deployed_regions) or "-",
                ", ".join(t.new_regions) or "-",
            ]
        )
    _table(rows, out)
    central = report.central
    if central is not None:
        where = f"bucket {central.bucket}" + (f" and key {central.key}" if central.key else "")
        out.write(f"\nCentral ({where}, account {central.account_id}): ")
        if central.status == "would-update":
            out.write(
                f"{len(central.added)} statement(s) to add ({', '.join(central.added)}) for "
                "every account of the organization (aws:SourceOrgID); nothing existing "
                "changes.\n"
            )
            out.write("".join(f"    {line}\n" for line in central.diff.rstrip("\n").splitlines()))
        elif central.status == "unchanged":
            out.write("already lets the organization's trails deliver; no change.\n")
        else:
            out.write(f"{central.status}: {central.error}\n")
    if report.changes:
        out.write("\nPlan:\n")
        out.write("".join(f"  - {change}\n" for change in report.changes))
    for finding in report.findings:
        out.write(f"\n  {finding.severity}  [{finding.code}] {finding.message}\n")
    if report.message and report.status != "planned":
        out.write(f"\n{report.message}\n")


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write(
            "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def _print_results(report: StackSetReport, out: TextIO) -> None:
    if report.outcomes:
        out.write("\nResults per account:\n")
        rows = [["ACCOUNT", "REGION", "OU", "ACTION", "RESULT", "DETAIL"]]
        for o in report.outcomes:
            rows.append(
                [o.account_id, o.region, o.organizational_unit, o.action, o.status, o.reason[:120]]
            )
        _table(rows, out)
    if report.status in ("dry-run", "planned"):
        out.write("\nDry run: nothing was changed.\n")
    elif report.status not in ("blocked", "unchanged"):
        out.write(f"\n{report.status}: {report.message}\n")
    if report.journal_path:
        out.write(f"Journal: {report.journal_path}\n")


def _exit_code(report: StackSetReport, *, cancelled: bool) -> int:
    if report.status in ("cancelled",) or (cancelled and report.status != "applied"):
        return EXIT_INTERRUPTED
    if report.status in ("blocked", "not-applied"):
        return EXIT_INVALID
    if report.ok:
        return EXIT_OK
    return EXIT_FAILED
