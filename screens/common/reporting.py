"""What the line-by-line front ends (commands, plain prompts) print while and after applying.

Progress is printed line by line (safe for logs and screen readers); a run is stopped
cleanly by Ctrl-C, ``kill`` or a closed terminal (:func:`stop_signals_set`); the outcome
says what was done, what is left and where the journal is.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from screens.common.errors import EXIT_FAILED, UsageError
from wizard.model.text import printable

if TYPE_CHECKING:
    from wizard.engine import Outcome
    from wizard.model.answers import Answers
    from wizard.model.context import AccountContext
    from wizard.model.plan import Plan, Step
    from wizard.ports import AwsError
    from wizard.run.apply import ApplyEvent
    from wizard.run.orphans import OrphanKey

PROGRESS_MARKS = {
    "step-done": "ok",
    "step-failed": "!!",
    "step-retrying": "~~",
    "rollback-started": "<<",
    "rollback-step-done": "<-",
    "rollback-step-failed": "!!",
    "finished": "==",
}
"""The mark in front of each kind of progress line."""

QUIET_EVENTS = frozenset({"step-started"})
"""Events not printed: a step's start would repeat the summary its outcome line carries (and
steps running side by side would interleave the two), so each step gets one line, when it is
done or failed. Rollback lines are all kept: an undo's start says what is being reverted."""


class Printer:
    """Thread-safe progress lines (apply events arrive from worker threads)."""

    def __init__(self, out: TextIO, enabled: bool) -> None:
        """Print to ``out``; print nothing unless ``enabled`` (JSON output)."""
        self.out = out
        self.enabled = enabled
        self.lock = threading.Lock()

    def __call__(self, event: ApplyEvent) -> None:
        """Print one event as ``[mark] step: message`` (a step's start is not printed)."""
        if not self.enabled or event.kind in QUIET_EVENTS:
            return
        mark = PROGRESS_MARKS.get(event.kind, "  ")
        # A step's line names it; the run's own lines (the rollback starting, the end) say
        # what they are instead of an empty name ("[==]: applied").
        label = event.step_id or ("finished" if event.kind == "finished" else "")
        with self.lock:
            # Messages carry AWS's error text and resource names: never raw to a terminal.
            text = printable(event.message)
            self.out.write(f"[{mark}] {label}: {text}\n" if label else f"[{mark}] {text}\n")
            self.out.flush()


def explain_step_error(err: AwsError, step: Step) -> str:
    """A failed step's AWS error, explained for the operator (apply, plain mode, recover)."""
    # Deferred for start-up time: boto3/botocore load only when AWS is called.
    from wizard.aws.session import explain_aws_error

    return explain_aws_error(
        err, "`cloudtrail-wizard policies ANSWERS` prints it", purpose=step.summary
    )


def report_aws_failure(err: AwsError) -> int:
    """Say on standard error that an AWS error stopped a read; :data:`EXIT_FAILED`."""
    # Deferred for start-up time: boto3/botocore load only when AWS is called.
    from wizard.aws.session import explain_aws_error

    print(f"error: {explain_aws_error(err)}\nNothing was changed.", file=sys.stderr)
    return EXIT_FAILED


def confirm(question: str, out: TextIO, *, no_terminal: str) -> bool:
    """Ask ``question [y/N]`` on the terminal; True only for y or yes.

    Raises:
        UsageError: standard input is not a terminal (``no_terminal`` says what to do).
    """
    if not sys.stdin.isatty():
        raise UsageError(no_terminal)
    out.write(f"\n{question} [y/N] ")
    out.flush()
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


# ------------------------------------------------------------------------------ stopping

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Ctrl-C, ``kill``/``timeout``, and a closed terminal or dropped ssh session: each asks a
running apply to stop cleanly and roll back, instead of dying between two calls."""

_SignalHandler = Callable[[int, FrameType | None], object] | int | None


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

    previous: dict[int, _SignalHandler] = {}
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


# ------------------------------------------------------------------------------ outcome


def print_outcome(plan: Plan, answers: Answers, outcome: Outcome, out: TextIO) -> None:
    """What an apply ended with: applied and verified, refused, interrupted or failed."""
    report = outcome.report
    out.write("\n")
    if report.status == "applied":
        out.write(f"Applied: {plan.trail_arn}\n")
        if outcome.verification is not None:
            out.write("Verification:\n")
            for check in outcome.verification.checks:
                out.write(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}\n")
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.model.context import Names

        names = Names(answers, _context_of(plan))
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
    print_orphan_keys(report.orphan_keys, out)
    if report.journal_errors:
        out.write(
            "Warning: the journal is incomplete (" + "; ".join(report.journal_errors) + "). "
            "Free space in, or fix the permissions of, the state directory.\n"
        )
    if report.journal_path:
        out.write(f"Journal: {report.journal_path}\n")


def print_orphan_keys(orphans: Iterable[OrphanKey], out: TextIO) -> None:
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


def _context_of(plan: Plan) -> AccountContext:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.model.context import AccountContext

    return AccountContext(
        account_id=plan.account_id, partition=plan.partition, region=plan.home_region
    )
