"""``apply``: plan, confirm, apply with rollback, verify (or ``--dry-run``).

Progress is printed line by line (safe for logs and screen readers); ``--output json``
prints one JSON document at the end instead. Exit 0 applied and verified, 1 failed and
rolled back, 2 blocked by findings or invalid input, 130 interrupted.

The answers are the desired state: when the account already matches them, apply says
"nothing to change", sends no request that changes anything, writes no journal, verifies
the trail and exits 0 (status ``unchanged`` in JSON).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from screens.common.answers import load_one
from screens.common.central import add_central_options, central_engine, write_handoff
from screens.common.connection import (
    Connection,
    collector_paused,
    connect,
    prepare_meanwhile,
    start_worker,
)
from screens.common.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
)
from screens.common.reporting import (
    Printer,
    confirm,
    explain_step_error,
    print_outcome,
    report_aws_failure,
    stop_signals_set,
)
from wizard.model.text import printable, printable_lines
from wizard.ports import AwsError
from wizard.run.journal import check_state_dir

if TYPE_CHECKING:
    from wizard.aws.worker import WorkerSession
    from wizard.engine import Engine, Outcome
    from wizard.model.answers import Answers
    from wizard.model.plan import Plan
    from wizard.run.apply import DryRunReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The answers file, --dry-run, --yes, the output format and the central options."""
    parser.description = (
        "Apply the plan for ANSWERS. Exit 0 applied and verified, 1 failed and rolled back, "
        "2 blocked by findings or invalid input, 130 interrupted."
    )
    parser.add_argument("answers", metavar="ANSWERS")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change; change nothing"
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--output", choices=("text", "json"), default="text")
    add_central_options(parser)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Apply (the AWS worker opening the session meanwhile, where it pays)."""
    with collector_paused():
        worker = start_worker(args, read_only=args.dry_run)
        try:
            return _apply(args, out, worker)
        finally:
            if worker is not None:
                worker.close()


def _apply(args: argparse.Namespace, out: TextIO, worker: WorkerSession | None) -> int:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.export.text import plan_to_text

    path, answers = load_one(args.answers)
    if not args.dry_run:
        # Every change is journalled first, so a run that cannot keep its journal makes none.
        problem = check_state_dir()
        if problem is not None:
            raise UsageError(problem)
    prepare_meanwhile(worker, answers)
    as_json = args.output == "json"
    with connect(args, read_only=args.dry_run, worker=worker) as conn:
        try:
            engine = central_engine(conn, args, answers, read_only=args.dry_run)
            # The cost preview is for a person deciding whether to apply: with --yes the
            # decision is made, and its reads (the regions, up to twenty pages of recent
            # events, the other trails) would hold the first change back by several round
            # trips. `plan` and the [y/N] question show it.
            plan, found = engine.plan(answers, cost=preview_cost(args))
        except AwsError as err:
            return report_aws_failure(err)
        if plan.blocked:
            if not as_json:
                out.write(plan_to_text(plan))
            return _blocked(args, plan, path, out)
        if args.dry_run:
            return _dry_run(args, conn, engine, plan, path, out)
        if not as_json:
            out.write(plan_to_text(plan))
            if plan.cost is None and not preview_cost(args):
                out.write(NO_COST_WITH_YES + "\n")
        if plan.unchanged:
            outcome = engine.apply(answers, plan, found=found, explain=explain_step_error)
            _report_unchanged(args, plan, outcome, out)
            return exit_code(outcome)
        if not args.yes and not _confirmed(plan, out):
            out.write("Not applied. Nothing was changed.\n")
            return EXIT_INVALID
        cancel = threading.Event()
        with stop_signals_set(cancel, out):
            outcome = engine.apply(
                answers,
                plan,
                progress=Printer(out, enabled=not as_json),
                cancel=cancel,
                found=found,
                explain=explain_step_error,
                # With --yes nobody paused between the plan and now: the account was read
                # milliseconds ago. After the [y/N] question it is read again.
                paused=not args.yes,
            )
    _report(args, plan, answers, outcome, out)
    return exit_code(outcome)


NO_COST_WITH_YES = (
    "Cost per month: not estimated with --yes (its reads would delay the changes); "
    "`cloudtrail-wizard plan ANSWERS` shows it."
)
"""What ``apply --yes`` prints where the plan would show its cost."""


def preview_cost(args: argparse.Namespace) -> bool:
    """Whether the plan shows its cost: when someone may read it before anything changes
    (a dry run, the ``[y/N]`` question), not with ``--yes``."""
    return bool(args.dry_run or not args.yes)


def _report_unchanged(args: argparse.Namespace, plan: Plan, outcome: Outcome, out: TextIO) -> None:
    """Nothing was changed because nothing differs: say so, with the verification."""
    verification = outcome.verification
    if args.output == "json":
        doc = result_document(
            "unchanged",
            plan,
            steps=[],
            message=outcome.report.message,
            verification=verification.model_dump(mode="json") if verification else None,
            resources=[r.model_dump(mode="json") for r in plan.resources],
        )
        out.write(json.dumps(doc, indent=2, default=str) + "\n")
        return
    out.write(f"\n{printable(outcome.report.message)}\n")
    if verification is not None:
        out.write("Verification:\n")
        for check in verification.checks:
            out.write(
                f"  [{'ok' if check.ok else 'FAIL'}] {printable(check.name)}: "
                f"{printable(check.detail)}\n"
            )


def _blocked(args: argparse.Namespace, plan: Plan, path: str, out: TextIO) -> int:
    as_json = args.output == "json"
    if as_json:
        out.write(json.dumps(result_document("blocked", plan), indent=2) + "\n")
    else:
        out.write("\nBlocked by the errors above. Nothing was changed.\n")
    if args.handoff_out:
        write_handoff(plan, args.handoff_out, path, sys.stderr if as_json else out)
    return EXIT_INVALID


def _dry_run(
    args: argparse.Namespace,
    conn: Connection,
    engine: Engine,
    plan: Plan,
    path: str,
    out: TextIO,
) -> int:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.export.text import plan_to_json, plan_to_text
    from wizard.run.apply import dry_run

    report = dry_run(plan, conn.session.caller, readers=engine.callers)
    recorded = [c.model_dump(mode="json") for c in report.recorded_calls]
    if args.output == "json":
        doc = result_document("dry-run", plan, recorded_calls=recorded)
        doc["plan"] = plan_to_json(plan)
        out.write(json.dumps(doc, indent=2) + "\n")
        return EXIT_OK
    # The verdict first: it is what a dry run is asked for; the plan is the evidence.
    out.write(dry_run_verdict(report, plan) + "\n")
    for problem in report.problems:
        out.write(f"  Problem: {printable(problem)}\n")
    out.write("\n" + plan_to_text(plan))
    out.write("\n" + dry_run_summary(report, plan, path))
    return EXIT_OK


def dry_run_verdict(report: DryRunReport, plan: Plan) -> str:
    """The first line of a dry run: how many changes, that none was sent, whose account.

    Args:
        report: What the dry run recorded.
        plan: The plan it ran.

    Returns:
        ``Dry run: 9 changes would be made; none was sent; nothing was changed in account
        123456789012.``
    """
    n = len(report.recorded_calls)
    changes = f"{n} change{'s' if n != 1 else ''} would be made" if n else "no change is needed"
    if report.problems:
        k = len(report.problems)
        changes += f", but {k} problem{'s' if k != 1 else ''} would stop the apply (below)"
    sent = report.mutating_calls_sent
    if sent:  # never, by design; said plainly rather than hidden if it ever happened
        return f"Dry run: {changes}; {sent} of them reached account {plan.account_id}."
    return f"Dry run: {changes}; none was sent; nothing was changed in account {plan.account_id}."


def dry_run_summary(report: DryRunReport, plan: Plan, path: str) -> str:
    """The end of a dry run: the counts again, where the policies are, and how to apply."""
    n = len(report.recorded_calls)
    reads = len(report.read_calls)
    lines = [
        f"Summary: {n} change{'s' if n != 1 else ''} to account {plan.account_id} in "
        f"{plan.home_region}, none sent"
        + (f"; only {reads} read call{'s' if reads != 1 else ''} went to AWS." if reads else "."),
        f"The policies it would write, in full: {policies_command(plan, path)}",
    ]
    if any(s.policy is not None and s.policy.diff for s in plan.steps):
        lines.append("The changes merged into existing policies are the diffs above.")
    if report.problems:
        lines.append("Fix the problems above, then dry-run again.")
    else:
        lines.append(
            "To apply: run the same command without --dry-run; it asks once more before "
            "changing anything (--yes skips the question)."
        )
    return printable_lines("\n".join(lines)) + "\n"


def policies_command(plan: Plan, path: str) -> str:
    """The offline ``policies`` command that prints this plan's policies, for the account."""
    command = f"cloudtrail-wizard policies {shlex.quote(path)} --account {plan.account_id}"
    if plan.partition != "aws":
        command += f" --partition {plan.partition}"
    return command


def _confirmed(plan: Plan, out: TextIO) -> bool:
    changes = len(plan.steps)
    return confirm(
        f"Apply {changes} change{'s' if changes != 1 else ''} to account {plan.account_id} "
        f"in {plan.home_region}?",
        out,
        no_terminal="apply needs confirmation, but there is no terminal to ask on. Review the "
        "plan (`cloudtrail-wizard plan ANSWERS`) and pass --yes.",
    )


def _report(
    args: argparse.Namespace, plan: Plan, answers: Answers, outcome: Outcome, out: TextIO
) -> None:
    if args.output != "json":
        print_outcome(plan, answers, outcome, out)
        return
    report = outcome.report
    verification = outcome.verification
    doc = result_document(
        report.status,
        plan,
        steps=[s.model_dump(mode="json") for s in report.steps],
        journal=str(report.journal_path) if report.journal_path else None,
        error=report.error,
        message=report.message,
        journal_errors=list(report.journal_errors),
        verification=verification.model_dump(mode="json") if verification else None,
        orphan_keys=[k.model_dump(mode="json") for k in report.orphan_keys],
    )
    out.write(json.dumps(doc, indent=2, default=str) + "\n")


def exit_code(outcome: Outcome) -> int:
    """The exit code of an apply's outcome (see the exit-code table)."""
    report = outcome.report
    verification = outcome.verification
    if report.status == "cancelled":
        return EXIT_INTERRUPTED
    if report.status == "stale":
        return EXIT_INVALID
    if report.status != "applied" or report.journal_errors:
        return EXIT_FAILED  # an incomplete journal is a failure even when the changes landed
    return EXIT_OK if verification is None or verification.ok else EXIT_FAILED


def result_document(status: str, plan: Plan, **extra: object) -> dict[str, object]:
    """The JSON document ``apply --output json`` prints: status, trail, findings, steps."""
    return {
        "status": status,
        "trail_arn": plan.trail_arn,
        "account": plan.account_id,
        "findings": [f.model_dump(mode="json", exclude_none=True) for f in plan.findings],
        "steps": extra.pop("steps", [{"id": s.id, "summary": s.summary} for s in plan.steps]),
        "journal": extra.pop("journal", None),
        **extra,
    }
