"""Engine commands of the command line: ``plan``, ``apply`` and ``sandbox``.

They never import Textual. Progress is printed line by line (safe for logs and screen
readers); ``--output json`` prints one JSON document at the end instead.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any, TextIO

from screens.cli import (
    _EXTRA_COMMANDS,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
    _load_all,
)
from wizard.model.text import printable


def register(sub: Any) -> None:
    """Add the engine commands to the command-line parser."""
    from screens.onboard_cmd import add_central_options

    p = sub.add_parser(
        "plan",
        help="look at the account, run the preflight checks and print the plan (read-only)",
        description="Discovery + preflight + plan. Changes nothing. Exit 0 when the plan can "
        "be applied, 2 when an error finding blocks it.",
    )
    p.add_argument("answers", metavar="ANSWERS")
    p.add_argument("--output", choices=("text", "json", "cli"), default="text")
    add_central_options(p)
    p.set_defaults(handler=cmd_plan)

    p = sub.add_parser(
        "apply",
        help="apply the plan (asks first), roll back on failure, verify",
        description="Apply the plan for ANSWERS. Exit 0 applied and verified, 1 failed and "
        "rolled back, 2 blocked by findings or invalid input, 130 interrupted.",
    )
    p.add_argument("answers", metavar="ANSWERS")
    p.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--output", choices=("text", "json"), default="text")
    add_central_options(p)
    p.set_defaults(handler=cmd_apply)

    p = sub.add_parser(
        "sandbox",
        help="run the seeded sandbox as a standalone local AWS endpoint",
        description="Start the embedded sandbox (a local AWS emulator seeded with a demo "
        "account, as strict as AWS where CloudTrail setup is concerned) and print how to use "
        "it from other tools. Stops with Ctrl-C.",
    )
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--no-seed", action="store_true", help="start empty")
    p.add_argument(
        "--log-interval",
        type=_seconds,
        default=None,
        metavar="S",
        help="seconds between log file deliveries to logging trails' buckets (default 10; "
        "AWS: about 5 minutes; 0: off)",
    )
    p.add_argument(
        "--digest-interval",
        type=_seconds,
        default=None,
        metavar="S",
        help="seconds one digest file covers when log file validation is on (default 60; "
        "AWS: one hour; 0: off)",
    )
    p.set_defaults(handler=cmd_sandbox)


_EXTRA_COMMANDS.append(register)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a one-shot command runs.

    plan and apply build large, long-lived object graphs once (botocore's service models and
    clients, pydantic's validators) and create little cyclic garbage; the collector's passes
    over those graphs cost a tenth of an apply's time and free almost nothing. Reference
    counting still frees everything else at once.

    Afterwards the objects made meanwhile are frozen (left out of later collections, as the
    command line does at exit) before the collector is turned back on: its first pass
    would otherwise walk every one of them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@dataclass
class Connection:
    """An opened session (and the sandbox behind it, if any)."""

    session: Any
    sandbox: Any | None


_PRESTARTED: dict[str, Any] = {}
"""The worker :func:`prestart_worker` started, with the settings it was started for."""


def prestart_worker(*, profile: str | None, region: str | None, read_only: bool) -> None:
    """Start the AWS worker before the command line is fully parsed (see screens.cli)."""
    from wizard.aws.worker import start_worker, worth_a_worker

    if not worth_a_worker():
        return
    worker = start_worker(profile=profile, region=region, read_only=read_only)
    if worker is not None:
        _PRESTARTED.update(worker=worker, settings=(profile, region, read_only))


def _adopt_prestarted(args: argparse.Namespace, *, read_only: bool) -> Any | None:
    """The pre-started worker if it was started for exactly these options (else closed)."""
    worker = _PRESTARTED.pop("worker", None)
    settings = _PRESTARTED.pop("settings", None)
    if worker is None:
        return None
    if settings == (args.profile, args.region, read_only):
        return worker
    worker.close()
    return None


def _discard_prestarted() -> None:
    worker = _PRESTARTED.pop("worker", None)
    _PRESTARTED.clear()
    if worker is not None:
        worker.close()


def _start_worker(args: argparse.Namespace, *, read_only: bool) -> Any | None:
    """Start the AWS worker process now, if this command can use one (else None).

    The worker (:mod:`wizard.aws.worker`) loads the AWS SDK, opens the session and checks
    the credentials while this process loads the answers and the wizard: started before
    either, it makes ``plan`` and ``apply`` use a second core, when there is one to spare
    (:func:`wizard.aws.worker.worth_a_worker`). Not for ``--sandbox`` (the embedded
    emulator runs in this process and starts later) nor with a log-archive account's
    credentials (that session is opened from this one's, in this process).
    """
    if getattr(args, "sandbox", False) or _log_account_options(args):
        _discard_prestarted()
        return None
    prestarted = _adopt_prestarted(args, read_only=read_only)
    if prestarted is not None:
        return prestarted
    from wizard.aws.worker import start_worker, worth_a_worker

    if not worth_a_worker():
        return None
    return start_worker(profile=args.profile, region=args.region, read_only=read_only)


def _log_account_options(args: argparse.Namespace) -> bool:
    return bool(
        getattr(args, "log_account_profile", None) or getattr(args, "log_account_role", None)
    )


def _meanwhile(worker: Any | None, answers: Any) -> None:
    """Use the time the worker takes to open the session.

    Ask it for the clients these answers need besides the usual ones, and load the engine
    here now rather than once the session is open.
    """
    if worker is None:
        return
    services = []
    if answers.encryption.type == "sse-kms":
        services.append("kms")
    if answers.notifications.sns_topic:
        services.append("sns")
    if answers.cloudwatch_logs.enabled:
        services.append("logs")
    if answers.trail.organization:
        services.append("organizations")
    if services:
        worker.prepare(services)
    import wizard.engine  # noqa: F401


@contextlib.contextmanager
def connect(
    args: argparse.Namespace, *, read_only: bool = False, worker: Any | None = None
) -> Iterator[Connection]:
    """Open the AWS session the global options ask for (starting the sandbox if asked).

    ``worker``: a session :func:`_start_worker` started for these options, used (and
    closed) instead of opening one here.
    """
    from wizard.aws.basics import CredentialsProblem

    sandbox = None
    if worker is None and getattr(args, "sandbox", False):
        from wizard.sandbox.server import start_sandbox

        sandbox = start_sandbox()
    try:
        try:
            if worker is not None:
                worker.whoami()  # what open_session checks: the credentials work
                session = worker
            else:
                session = _open_here(args, sandbox, read_only)
        except CredentialsProblem as exc:
            hint = ""
            if exc.kind == "credentials" and not sandbox:
                hint = "\nTo try the wizard without an AWS account, add --sandbox."
            raise UsageError(exc.message + hint) from None
        conn = Connection(session=session, sandbox=sandbox)
        yield conn
    finally:
        if worker is not None:
            worker.close()
        if sandbox is not None:
            sandbox.stop()


def _open_here(args: argparse.Namespace, sandbox: Any | None, read_only: bool) -> Any:
    """The session, opened in this process (it checks the credentials with STS)."""
    from wizard.aws.session import SessionSettings, open_session

    settings = SessionSettings(
        profile=None if sandbox else args.profile,
        region=args.region or (sandbox.region if sandbox else None),
        sandbox_endpoint=sandbox.endpoint_url if sandbox else None,
        read_only=read_only,
    )
    return open_session(settings)


def _engine_for(
    conn: Connection,
    args: argparse.Namespace | None = None,
    answers: Any = None,
    *,
    read_only: bool = False,
) -> Any:
    from wizard.engine import Engine

    # open_session() already asked STS who we are; the session cached the answer.
    ctx = conn.session.context()
    if args is None:
        return Engine(conn.session.caller, ctx)
    # Central logging: the log-archive account's caller and the hand-off options.
    from screens.onboard_cmd import engine_options, log_account_callers

    callers = (
        log_account_callers(args, conn, answers, read_only=read_only)
        if _log_account_options(args)
        else {}
    )
    return Engine(conn.session.caller, ctx, callers=callers, **engine_options(args))


def cmd_plan(args: argparse.Namespace, out: TextIO) -> int:
    """``plan``: discovery, preflight and plan; read-only."""
    with _collector_paused():
        worker = _start_worker(args, read_only=True)
        try:
            return _plan(args, out, worker)
        finally:
            if worker is not None:
                worker.close()


def _plan(args: argparse.Namespace, out: TextIO, worker: Any | None) -> int:
    from wizard.export.text import plan_to_cli, plan_to_json, plan_to_text
    from wizard.ports import AwsError

    ((path, answers),) = _load_all([args.answers])
    _meanwhile(worker, answers)
    with connect(args, read_only=True, worker=worker) as conn:
        try:
            engine = _engine_for(conn, args, answers, read_only=True)
            plan, _found = engine.plan(answers)
        except AwsError as err:
            return _aws_failure(err)
        if not answers.trail.organization:
            from screens.onboard_cmd import organization_finding

            suggestion = organization_finding(conn.session.caller, engine.ctx)
            if suggestion is not None:
                plan = plan.model_copy(update={"findings": [*plan.findings, suggestion]})
        if args.output == "json":
            out.write(json.dumps(plan_to_json(plan), indent=2) + "\n")
        elif args.output == "cli":
            out.write(plan_to_cli(plan))
        else:
            out.write(plan_to_text(plan))
    if args.handoff_out:
        from screens.onboard_cmd import write_handoff

        write_handoff(plan, args.handoff_out, path, sys.stderr if args.output != "text" else out)
    return EXIT_INVALID if plan.blocked else EXIT_OK


def explain_step_error(err: Any, step: Any) -> str:
    """A failed step's AWS error, explained for the operator (apply, plain mode, recover)."""
    from wizard.aws.session import explain_aws_error

    return explain_aws_error(
        err, "`cloudtrail-wizard policies ANSWERS` prints it", purpose=step.summary
    )


def _aws_failure(err: Any) -> int:
    from wizard.aws.session import explain_aws_error

    print(f"error: {explain_aws_error(err)}\nNothing was changed.", file=sys.stderr)
    return EXIT_FAILED


class Printer:
    """Thread-safe progress lines (apply events arrive from worker threads)."""

    def __init__(self, out: TextIO, enabled: bool) -> None:
        self.out = out
        self.enabled = enabled
        self.lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        if not self.enabled:
            return
        marks = {
            "step-started": "..",
            "step-done": "ok",
            "step-failed": "!!",
            "step-retrying": "~~",
            "rollback-started": "<<",
            "rollback-step-done": "<-",
            "rollback-step-failed": "!!",
            "finished": "==",
        }
        mark = marks.get(event.kind, "  ")
        label = f" {event.step_id}" if event.step_id else ""
        with self.lock:
            # Messages carry AWS's error text and resource names: never raw to a terminal.
            self.out.write(f"[{mark}]{label}: {printable(event.message)}\n")
            self.out.flush()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Ctrl-C, ``kill``/``timeout``, and a closed terminal or dropped ssh session: each asks a
running apply to stop cleanly and roll back, instead of dying between two calls."""


@contextlib.contextmanager
def stop_signals_set(cancel: threading.Event, out: TextIO) -> Iterator[None]:
    """While applying, SIGINT, SIGTERM and SIGHUP set ``cancel`` instead of killing.

    The run then starts no new step, lets the running call finish, and rolls back
    everything it did. A repeated signal changes nothing (a rollback must finish); to see
    what a killed run left, ``cloudtrail-wizard recover``.
    """

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        first = not cancel.is_set()
        cancel.set()
        text = (
            f"\nInterrupted ({name}): finishing the running call, then rolling back what was "
            "done..."
            if first
            else f"\n{name} again: the rollback is running and must finish to leave nothing "
            "half-done; please wait."
        )
        # After SIGHUP the terminal may be gone: saying so must not break the rollback.
        with contextlib.suppress(OSError, ValueError):
            print(text, file=sys.stderr, flush=True)

    previous: dict[int, Any] = {}
    try:
        for sig in STOP_SIGNALS:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave signals alone
        for number, old in previous.items():
            signal.signal(number, old)
        yield
        return
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _confirm(plan: Any, out: TextIO) -> bool:
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs confirmation, but there is no terminal to ask on. Review the plan "
            "(`cloudtrail-wizard plan ANSWERS`) and pass --yes."
        )
    changes = len(plan.steps)
    out.write(
        f"\nApply {changes} change{'s' if changes != 1 else ''} to account {plan.account_id} "
        f"in {plan.home_region}? [y/N] "
    )
    out.flush()
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def cmd_apply(args: argparse.Namespace, out: TextIO) -> int:
    """``apply``: plan, confirm, apply with rollback, verify (or dry-run)."""
    with _collector_paused():
        worker = _start_worker(args, read_only=args.dry_run)
        try:
            return _apply(args, out, worker)
        finally:
            if worker is not None:
                worker.close()


def _apply(args: argparse.Namespace, out: TextIO, worker: Any | None) -> int:
    from wizard.export.text import plan_to_json, plan_to_text
    from wizard.ports import AwsError
    from wizard.run.apply import dry_run

    ((path, answers),) = _load_all([args.answers])
    if not args.dry_run:
        from wizard.run.journal import check_state_dir

        # Every change is journalled first, so a run that cannot keep its journal makes none.
        problem = check_state_dir()
        if problem is not None:
            raise UsageError(problem)
    _meanwhile(worker, answers)
    as_json = args.output == "json"
    with connect(args, read_only=args.dry_run, worker=worker) as conn:
        try:
            engine = _engine_for(conn, args, answers, read_only=args.dry_run)
            plan, found = engine.plan(answers)
        except AwsError as err:
            return _aws_failure(err)
        if not as_json:
            out.write(plan_to_text(plan))
        if plan.blocked:
            if as_json:
                out.write(json.dumps(_result("blocked", plan), indent=2) + "\n")
            else:
                out.write("\nBlocked by the errors above. Nothing was changed.\n")
            if args.handoff_out:
                from screens.onboard_cmd import write_handoff

                write_handoff(plan, args.handoff_out, path, sys.stderr if as_json else out)
            return EXIT_INVALID
        if args.dry_run:
            report = dry_run(plan, conn.session.caller, readers=engine.callers)
            recorded = [c.model_dump(mode="json") for c in report.recorded_calls]
            if as_json:
                doc = _result("dry-run", plan, recorded_calls=recorded)
                doc["plan"] = plan_to_json(plan)
                out.write(json.dumps(doc, indent=2) + "\n")
            else:
                out.write(
                    f"\nDry run: {len(recorded)} change(s) recorded, none sent. Nothing was "
                    "changed in the account.\n"
                )
                _print_policies(plan, out)
            return EXIT_OK
        if not args.yes and not _confirm(plan, out):
            out.write("Not applied. Nothing was changed.\n")
            return EXIT_INVALID
        cancel = threading.Event()
        printer = Printer(out, enabled=not as_json)
        with stop_signals_set(cancel, out):
            outcome = engine.apply(
                answers,
                plan,
                progress=printer,
                cancel=cancel,
                found=found,
                explain=explain_step_error,
            )
    report = outcome.report
    verification = outcome.verification
    if as_json:
        doc = _result(
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
    else:
        _print_outcome(plan, answers, outcome, out)
    if report.status == "cancelled":
        return EXIT_INTERRUPTED
    if report.status == "stale":
        return EXIT_INVALID
    if report.status != "applied" or report.journal_errors:
        return EXIT_FAILED  # an incomplete journal is a failure even when the changes landed
    return EXIT_OK if verification is None or verification.ok else EXIT_FAILED


def _result(status: str, plan: Any, **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "trail_arn": plan.trail_arn,
        "account": plan.account_id,
        "findings": [f.model_dump(mode="json", exclude_none=True) for f in plan.findings],
        "steps": extra.pop("steps", [{"id": s.id, "summary": s.summary} for s in plan.steps]),
        "journal": extra.pop("journal", None),
        **extra,
    }


def _print_policies(plan: Any, out: TextIO) -> None:
    from screens.common.console import POLICY_TITLES, print_json_block

    for field, title in POLICY_TITLES.items():
        text = plan.policies.get(field)
        if text:
            print_json_block(
                title, text if isinstance(text, str) else json.dumps(text, indent=2), out
            )


def _print_outcome(plan: Any, answers: Any, outcome: Any, out: TextIO) -> None:
    report = outcome.report
    out.write("\n")
    if report.status == "applied":
        out.write(f"Applied: {plan.trail_arn}\n")
        if outcome.verification is not None:
            out.write("Verification:\n")
            for check in outcome.verification.checks:
                out.write(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}\n")
        from wizard.model.context import Names

        names = Names(answers, _ctx_of(plan))
        out.write(f"Log files will appear under {names.log_object_path()}\n")
    elif report.status == "stale":
        out.write(f"Refused: {report.error}\nNothing was changed. Run plan again and review it.\n")
    elif report.status == "cancelled":
        out.write(f"Interrupted: {printable(report.message)}\n")
    else:
        out.write(f"Failed: {printable(report.message)}\n")
        if report.status == "rollback-incomplete":
            out.write(
                "What is still in place is listed above and by `cloudtrail-wizard recover`; "
                "once the cause is fixed, `cloudtrail-wizard recover --rollback` finishes the "
                "rollback.\n"
            )
    if (
        report.status == "applied"
        and report.message != f"All {len(plan.steps)} steps were applied."
    ):
        out.write(
            f"Note: {printable(report.message)}\n"
        )  # a policy merged again into a colleague's edit
    _print_orphan_keys(report.orphan_keys, out)
    if report.journal_errors:
        out.write(
            "Warning: the journal is incomplete (" + "; ".join(report.journal_errors) + "). "
            "Free space in, or fix the permissions of, the state directory.\n"
        )
    if report.journal_path:
        out.write(f"Journal: {report.journal_path}\n")


def _print_orphan_keys(orphans: Any, out: TextIO) -> None:
    """Keys a retried CreateKey made twice: said on screen, not only in the journal."""
    for key in orphans:
        where = f"{key.arn or key.key_id} ({key.region})"
        if key.status == "scheduled":
            when = f" on {key.deletion_date}" if key.deletion_date else ""
            out.write(
                f"Note: KMS created a second key when a lost CreateKey answer was retried; "
                f"{where} is not used and is scheduled for deletion{when}.\n"
            )
        else:
            out.write(
                f"Warning: {where} was created twice by a retried CreateKey and is not used, "
                f"but its deletion could not be scheduled ({key.error}). Schedule it with: "
                f"aws kms schedule-key-deletion --key-id {key.key_id} --region {key.region} "
                f"--pending-window-in-days 7\n"
            )


def _ctx_of(plan: Any) -> Any:
    from wizard.model.context import AccountContext

    return AccountContext(
        account_id=plan.account_id, partition=plan.partition, region=plan.home_region
    )


def _seconds(value: str) -> float:
    """An interval option: a number of seconds, 0 or more."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 <= seconds <= 86400:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 86400 seconds")
    return seconds


def cmd_sandbox(args: argparse.Namespace, out: TextIO) -> int:
    """``sandbox``: run the seeded emulator until Ctrl-C."""
    from wizard.sandbox.delivery import DEFAULT_DIGEST_INTERVAL, DEFAULT_LOG_INTERVAL
    from wizard.sandbox.server import start_sandbox

    sandbox = start_sandbox(
        seed=not args.no_seed,
        port=args.port,
        log_interval=DEFAULT_LOG_INTERVAL if args.log_interval is None else args.log_interval,
        digest_interval=(
            DEFAULT_DIGEST_INTERVAL if args.digest_interval is None else args.digest_interval
        ),
    )
    try:
        out.write(f"Sandbox running at {sandbox.endpoint_url} (account {sandbox.account_id}).\n")
        out.write("Use it from other tools with:\n")
        for key, value in sandbox.env().items():
            out.write(f"  export {key}={value}\n")
        out.write("Press Ctrl-C to stop.\n")
        out.flush()
        threading.Event().wait()
    except KeyboardInterrupt:
        out.write("\nSandbox stopped.\n")
    finally:
        sandbox.stop()
    return EXIT_OK
