"""Step 9, Apply: runs the reviewed plan with live progress, and shows any rollback.

The engine applies in a thread worker; its progress callback runs in the executor's own
threads and only posts :class:`~screens.tui.messages.ApplyProgress` messages (``post_message`` is
thread-safe). Widgets are updated by the message handlers, on the UI thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Label, Log, ProgressBar, Static
from textual.worker import Worker, WorkerState

from screens.tui import keys
from screens.tui.base import StepScreen
from screens.tui.messages import ApplyFinished, ApplyProgress
from screens.tui.steps.done import exit_code_for, shown_path
from screens.tui.widgets.fit_table import FitTable
from screens.tui.widgets.wrap import Breakable
from wizard.run.journal import new_journal_path

if TYPE_CHECKING:
    from wizard.account.discovery import Discovery
    from wizard.engine import Outcome
    from wizard.model.answers import Answers
    from wizard.model.plan import Plan
    from wizard.run.apply import ApplyEvent

STATUS_LOOK: dict[str, tuple[str, str]] = {
    "pending": ("· pending", "dim"),
    "running": ("▶ running", "bold yellow"),
    "retrying": ("↻ retrying", "yellow"),
    "done": ("✓ done", "green"),
    "failed": ("✗ failed", "bold red"),
    "rolling-back": ("↺ rolling back", "yellow"),
    "rolled-back": ("↺ rolled back", "magenta"),
    "rollback-failed": ("⚠ rollback failed", "bold red"),
    "skipped": ("– not started", "dim"),
}
"""How each step status is shown in the table."""

HEADLINES: dict[str, str] = {
    "applied": "✓ All {n} changes were applied.",
    "rolled-back": "✗ A step failed. Every change already made was undone: nothing is left behind.",
    "cancelled": "■ Stopped. Every change already made was undone: nothing is left behind.",
    "rollback-incomplete": "⚠ A step failed and the rollback did not complete: "
    "some changes are still in place (see Done).",
    "stale": "Nothing was changed: the account changed since the plan was made.",
    "blocked": "Nothing was changed: the plan is blocked by an error finding.",
}
"""The line above the table once the apply has ended, by report status."""


def status_cell(status: str, attempt: int = 0) -> Text:
    """A status as coloured text (``retrying`` shows the attempt)."""
    label, style = STATUS_LOOK.get(status, (status, ""))
    if status == "retrying" and attempt:
        label = f"{label} ({attempt})"
    return Text(label, style=style)


class ApplyScreen(StepScreen):
    """Applies the plan: a row per step, a progress bar, and the log of events."""

    STEP_ID = "apply"
    NEXT_LABEL = "Continue"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys.NEXT, "next", "Continue", priority=True),
        Binding("escape", "stop", "Stop and roll back"),
    ]

    DEFAULT_CSS = """
    ApplyScreen #body { overflow-y: hidden; }
    ApplyScreen #apply-heading { height: auto; margin-bottom: 1; }
    ApplyScreen #apply-heading.-ok { color: $success; text-style: bold; }
    ApplyScreen #apply-heading.-bad { color: $error; text-style: bold; }
    ApplyScreen #apply-progress { margin-bottom: 1; }
    ApplyScreen #apply-progress Bar { width: 1fr; }
    ApplyScreen #apply-steps { height: auto; max-height: 60%; margin-bottom: 1; }
    ApplyScreen #apply-log { height: 1fr; min-height: 4; border: round $panel; }
    ApplyScreen #apply-journal { height: auto; color: $text-muted; }
    /* Few rows: no blank lines between the parts, so the log and the journal still show. */
    ApplyScreen.-short #apply-heading, ApplyScreen.-short #apply-progress { margin-bottom: 0; }
    ApplyScreen.-short #apply-steps { max-height: 50%; margin-bottom: 0; }
    ApplyScreen.-short #apply-log { min-height: 3; }
    ApplyScreen #nav #back { display: none; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        """True while the apply runs (the app's Ctrl+Q asks, then stops it)."""
        self.cancel_event = threading.Event()
        """Set to stop: no new step starts and what was done is rolled back."""
        self.outcome: Outcome | None = None
        """What the apply ended with."""
        self.finished = False
        """The apply ended (normally or not)."""
        self.journal_path: Path | None = None
        """The journal of this run."""
        self._done = 0

    # ------------------------------------------------------------------ layout

    @property
    def plan(self) -> Plan:
        """The plan being applied."""
        plan = self.state.plan
        if plan is None:  # the review screen always sets it
            raise RuntimeError("no plan to apply")
        return plan

    def compose_body(self) -> ComposeResult:
        plan = self.plan
        yield Static(
            f"Applying {len(plan.steps)} changes to account {plan.account_id} "
            f"({plan.home_region}) for {plan.trail_arn}",
            id="apply-heading",
            markup=False,
        )
        yield ProgressBar(total=len(plan.steps), show_eta=False, id="apply-progress")
        # A row cursor (never drawn) lets the table scroll to the step that runs.
        table = FitTable(
            fit={"step": "wrap"},
            id="apply-steps",
            cursor_type="row",
            zebra_stripes=False,
            show_cursor=False,
        )
        # Status before the summary, in a column of its own width; the summary wraps.
        table.add_column("#", key="number", width=2)
        table.add_column("Status", key="status", width=18)
        table.add_column("Step", key="step")
        for number, step in enumerate(plan.steps, 1):
            table.add_row(str(number), status_cell("pending"), Text(step.summary), key=step.id)
        yield table
        yield Log(id="apply-log", highlight=False)
        yield Static("", id="apply-journal", markup=False)

    def on_mount(self) -> None:
        """Finish the nav bar and start (StepScreen's own on_mount runs after this one)."""
        nav = self.query_one("#nav", Horizontal)
        nav.mount(Label("", id="apply-state"), before=0)
        nav.mount(Button("Stop and roll back", id="stop", variant="error"), before="#next")
        self.query_one("#next", Button).display = False  # until the apply has ended
        self.start()

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        """Start the apply in a worker."""
        answers = self.state.answers()
        self.journal_path = new_journal_path(answers.trail.name)
        journal = f"Journal: {shown_path(self.journal_path)}"
        self.query_one("#apply-journal", Static).update(Breakable(journal))
        self.running = True
        self._set_state(f"Applying… Esc or {keys.label(keys.QUIT)} stops and rolls back.")
        self._watch_stop_signals(True)
        self._apply(answers, self.plan, self.state.discovery, self.journal_path)
        self.refresh_bindings()

    def _watch_stop_signals(self, on: bool) -> None:
        """While applying, SIGTERM and SIGHUP (kill, a closed terminal) stop and roll back.

        Without this they would end the process between two calls; the journal would let
        ``recover`` undo the run, but undoing it right away is better.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - screens run inside the app's loop
            return
        for sig in (signal.SIGTERM, signal.SIGHUP):
            # Not in the main thread (serve's tests run apps elsewhere): signals stay as
            # they are, and the journal covers a kill.
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                if on:
                    loop.add_signal_handler(sig, self._stop_signalled, sig)
                else:
                    loop.remove_signal_handler(sig)

    def _stop_signalled(self, sig: signal.Signals) -> None:
        self._log(f"■ {sig.name} received.")
        self.action_cancel_apply()

    @work(thread=True, exclusive=True, group="apply", exit_on_error=False)
    def _apply(
        self, answers: Answers, plan: Plan, found: Discovery | None, journal_path: Path
    ) -> None:
        """Worker: the blocking apply; every event and the outcome come back as messages."""
        outcome = self.wizard.backend.engine.apply(
            answers,
            plan,
            progress=self._progress,
            cancel=self.cancel_event,
            found=found,
            journal_path=journal_path,
            paused=True,  # a person reviewed the plan: the account is read again first
        )
        self.post_message(ApplyFinished(outcome))

    def _progress(self, event: ApplyEvent) -> None:
        """Progress callback: runs in the executor's threads, so it only posts a message."""
        self.post_message(ApplyProgress(event))

    def action_cancel_apply(self) -> None:
        """Stop: no new step starts, and everything done so far is rolled back."""
        if not self.running or self.cancel_event.is_set():
            return
        self.cancel_event.set()
        self._log("■ Stop requested: no new step starts; what was done will be undone.")
        self._set_state("Stopping… waiting for running steps, then rolling back.")

    def action_stop(self) -> None:
        """Ask, then stop (the same question as Ctrl+Q)."""
        if self.running:
            self.wizard.action_quit_wizard()

    # ------------------------------------------------------------------ events

    def _log(self, line: str) -> None:
        self.query_one("#apply-log", Log).write_line(line)

    def _set_state(self, text: str) -> None:
        self.query_one("#apply-state", Label).update(text)

    def _row(self, step_id: str, status: str, attempt: int = 0) -> None:
        table = self.query_one("#apply-steps", DataTable)
        table.update_cell(step_id, "status", status_cell(status, attempt))
        # Keep the step that changed in view (the table scrolls when the screen is short).
        table.move_cursor(row=table.get_row_index(step_id), animate=False)

    @property
    def _ids(self) -> set[str]:
        return {s.id for s in self.plan.steps}

    def _summary(self, step_id: str | None) -> str:
        if step_id is None:
            return ""
        try:
            return self.plan.step(step_id).summary
        except KeyError:
            return step_id

    def on_apply_progress(self, message: ApplyProgress) -> None:
        message.stop()
        event = message.event
        sid, summary = event.step_id, self._summary(event.step_id)
        bar = self.query_one("#apply-progress", ProgressBar)
        if event.kind == "step-started" and sid:
            self._row(sid, "running")  # the table shows it; the log keeps to outcomes
        elif event.kind == "step-retrying" and sid:
            self._row(sid, "retrying", event.attempt + 1)
            self._log(f"↻ {summary}: {event.message}")
        elif event.kind == "step-done" and sid:
            self._row(sid, "done")
            self._done += 1
            bar.advance(1)
            self._log(f"✓ {summary}")
        elif event.kind == "step-failed" and sid:
            self._row(sid, "failed")
            self._log(f"✗ {summary}: {event.message}")
        elif event.kind == "rollback-started" and sid is None:
            bar.update(total=max(self._done, 1), progress=0)
            self._set_state("Rolling back…")
            self._log(f"↺ {event.message}")
        elif event.kind == "rollback-started" and sid:
            self._row(sid, "rolling-back")
        elif event.kind == "rollback-step-done" and sid:
            self._row(sid, "rolled-back")
            bar.advance(1)
            how = self.plan.step(sid).undo_summary if sid in self._ids else ""
            self._log(f"↺ Undone: {summary}" + (f" — {how}" if how else ""))
        elif event.kind == "rollback-step-failed" and sid:
            self._row(sid, "rollback-failed")
            bar.advance(1)
            self._log(f"⚠ Could not undo “{summary}”: {event.message}")
        elif event.kind == "finished":
            self._log(f"■ Finished: {event.message}")

    def on_apply_finished(self, message: ApplyFinished) -> None:
        message.stop()
        outcome = message.outcome
        self.outcome = outcome
        report = outcome.report
        for result in report.steps:
            self._row(result.id, result.status)
        headline = HEADLINES.get(report.status, report.status).format(n=len(report.steps))
        if report.status == "applied" and outcome.verification is not None:
            failed = [c for c in outcome.verification.checks if not c.ok]
            headline += (
                f" {len(failed)} verification check(s) failed: see Done."
                if failed
                else " Verification passed."
            )
        if report.status in ("stale", "blocked") and report.error:
            self._log(report.error)
        good = report.status == "applied" and (
            outcome.verification is None or outcome.verification.ok
        )
        self._finish(headline, good)
        self.wizard.state = self.state.with_(outcome=outcome)
        self.wizard.exit_code = exit_code_for(outcome)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR or event.worker.group != "apply":
            return
        error = event.worker.error
        if isinstance(error, OSError):
            # Engine.apply writes the journal before the first change: nothing was changed.
            headline = (
                f"✗ Nothing was changed: the journal could not be written ({error}). Free some "
                "space, or point XDG_STATE_HOME at a writable directory, and try again."
            )
        else:
            headline = (
                f"✗ The apply stopped with an unexpected error: {error}. Some changes may still "
                f"be in place: the journal ({shown_path(self.journal_path)}) lists every call made."
            )
        self._log(headline)
        self._finish(headline, False)
        self.wizard.exit_code = 1

    def _finish(self, headline: str, good: bool) -> None:
        self._watch_stop_signals(False)
        self.running = False
        self.finished = True
        heading = self.query_one("#apply-heading", Static)
        heading.update(headline)
        heading.set_class(good, "-ok")
        heading.set_class(not good, "-bad")
        self.query_one("#stop", Button).display = False
        self._set_state("Continue to see the results." if good else "Continue for the details.")
        button = self.query_one("#next", Button)
        button.display = True
        button.focus()
        self.refresh_bindings()

    # ------------------------------------------------------------------ navigation

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return False  # there is no going back from an apply
        if action == "next":
            return self.finished
        if action == "stop":
            return self.running
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Stop here; Continue is StepScreen's Next (its handler runs too)."""
        if event.button.id == "stop":
            event.stop()
            self.action_stop()

    def action_next(self) -> None:
        """Continue to the results, once the apply has ended."""
        if self.finished:
            self.wizard.go_next(self.STEP_ID, self.state)

    def action_back(self) -> None:
        """No Back: an apply is finished or rolled back, never half-undone by navigation."""
