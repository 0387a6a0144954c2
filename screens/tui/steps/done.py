"""Step 10, Done: what happened, the evidence, and what to do next.

Four endings: applied (verification, trail ARN, where logs appear, next steps), rolled back
or stopped (what was undone, and why), refused (stale or blocked plan: nothing was changed),
and dry-run (NOTHING WAS CHANGED, and the calls apply would have sent).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Markdown, Static

from screens.tui import keys
from screens.tui.base import StepScreen
from screens.tui.widgets.wrap import Breakable
from wizard.guide import next_steps
from wizard.model.plan import Call

if TYPE_CHECKING:
    from wizard.engine import Outcome
    from wizard.run.apply import ApplyReport, DryRunReport


def shown_path(path: str | Path | None) -> str:
    """A path for people: the home directory written ``~``.

    Args:
        path: A file path, or None.

    Returns:
        The path, shortened when it is under the home directory.
    """
    if path is None:
        return "(none)"
    full = Path(path)
    try:
        return str(Path("~") / full.relative_to(Path.home()))
    except ValueError:
        return str(full)


def exit_code_for(outcome: Outcome | None) -> int:
    """The command line's exit code for an apply: 0 applied and verified, else 1.

    Args:
        outcome: What the apply ended with (None: it did not end normally).

    Returns:
        0 or 1.
    """
    if outcome is None or outcome.report.status != "applied":
        return 1
    return 0 if outcome.verification is None or outcome.verification.ok else 1


def call_brief(call: Call) -> str:
    """The parameters of a call on one line; long values (policies) shown by their size.

    Args:
        call: The recorded call.

    Returns:
        ``Bucket=acme-logs, Policy=<1,204 characters>``.
    """
    parts: list[str] = []
    for key, value in call.params.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > 90 or (not isinstance(value, str) and len(text) > 40):
            text = f"<{len(text):,} characters>"
        parts.append(f"{key}={text}")
    return ", ".join(parts)


class DoneScreen(StepScreen):
    """The end of the wizard: results and evidence; Save answers; Quit."""

    STEP_ID = "done"
    NEXT_LABEL = "Quit"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys.NEXT, "next", "Quit", show=False, priority=True),
        Binding(keys.BACK, "back", "Back to review", priority=True),
        Binding("q", "next", "Quit", show=False),
        Binding(keys.TRAIL_HEALTH, "status", "Trail health"),
    ]

    DEFAULT_CSS = """
    DoneScreen .done-headline { text-style: bold; margin: 1 0; padding: 0 1; }
    DoneScreen .done-headline.-ok { background: $success 20%; color: $text; }
    DoneScreen .done-headline.-bad { background: $error 20%; color: $text; }
    DoneScreen .done-headline.-dry { background: $warning 30%; color: $text; }
    DoneScreen .done-section { text-style: bold; margin-top: 1; }
    DoneScreen .done-field { height: auto; }
    DoneScreen .done-text { height: auto; }
    DoneScreen #next-steps { margin: 0; padding: 0; }
    """

    def __init__(self, dry_run: DryRunReport | None = None) -> None:
        """Create the screen.

        Args:
            dry_run: The dry-run's report, when coming from a dry-run (the recorded calls
                are then shown as recorded; without it they are read from the plan).
        """
        super().__init__()
        self.dry_run = dry_run
        """The dry-run report, if any."""

    @property
    def dry_run_mode(self) -> bool:
        """True after a dry-run (nothing was changed)."""
        return self.state.dry_run_calls is not None

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        if self.wizard.class_link is not None and self.wizard.class_link.lab is not None:
            # Deferred: the lab's module loads in sandbox mode only.
            from screens.tui.lab import LabChecks

            # A lab is current: its checks first (they run in a worker once shown).
            yield LabChecks(self.wizard.class_link, self.wizard.backend)
        yield from self._compose_outcome()

    def _compose_outcome(self) -> ComposeResult:
        if self.dry_run_mode:
            yield from self._compose_dry_run()
            return
        outcome = self.state.outcome
        if outcome is None:
            yield self._headline(
                "✗ The apply did not finish normally (the apply screen said why). If it had "
                "started, the journal lists every call that was made.",
                "-bad",
            )
            return
        report = outcome.report
        if report.status == "applied":
            yield from self._compose_applied(outcome)
        elif report.status in ("stale", "blocked"):
            yield self._headline("Nothing was changed.", "-bad")
            yield Static(report.error or report.message, classes="done-text", markup=False)
        else:
            yield from self._compose_rolled_back(report)
        yield Static("Journal", classes="done-section")
        yield Static(Breakable(shown_path(report.journal_path)), id="journal-path")
        if report.journal_errors:
            yield Static(
                "The journal is incomplete: " + "; ".join(report.journal_errors),
                classes="done-text problem",
                markup=False,
            )

    def _headline(self, text: str, tone: str) -> Static:
        return Static(text, classes=f"done-headline {tone}", id="headline", markup=False)

    def _compose_applied(self, outcome: Outcome) -> ComposeResult:
        plan = self.state.plan
        checks = outcome.verification.checks if outcome.verification else []
        failed = [c for c in checks if not c.ok]
        if failed:
            yield self._headline(
                f"⚠ The trail was created, but {len(failed)} of {len(checks)} verification "
                "checks failed: see below.",
                "-bad",
            )
        else:
            yield self._headline(
                "✓ The trail is set up, logging, and every verification check passed.", "-ok"
            )
        yield Static("Trail", classes="done-section")
        # Paths and ARNs longer than the line break after a "/" or ":", never inside a name.
        yield Static(Breakable(plan.trail_arn if plan else "(unknown)"), id="trail-arn")
        yield Static("Log files will appear under", classes="done-section")
        yield Static(Breakable(self._log_path()), id="log-path")
        yield Static("Verification", classes="done-section")
        text = Text()
        for check in checks:
            text.append("✓ " if check.ok else "✗ ", style="bold green" if check.ok else "bold red")
            text.append(check.name, style="bold")
            if check.detail:
                text.append(f" — {check.detail}", style="" if check.ok else "red")
            text.append("\n")
        text.rstrip()
        yield Static(
            Breakable(text or "No checks were run."), id="verification", classes="done-text"
        )
        yield Static("Next steps", classes="done-section")
        yield Markdown(self._next_steps(), id="next-steps")

    def _next_steps(self) -> str:
        """The next steps as Markdown: this trail's name in each command, this backend's times."""
        answers = self.state.answers_or_none()
        timing, items = next_steps(
            answers.trail.name if answers is not None else "TRAIL",
            sandbox=self.wizard.backend.sandbox,
            validation=answers.trail.log_file_validation if answers is not None else True,
            health=f"Open Trail health ({keys.label(keys.TRAIL_HEALTH)})",
        )
        return "\n".join([timing, "", *(f"- {item}" for item in items)])

    def _log_path(self) -> str:
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.model.context import Names

        answers = self.state.answers_or_none()
        if answers is None:
            return "(unknown)"
        try:
            ctx = self.wizard.backend.engine.context_for(answers, self.state.discovery)
        except RuntimeError:  # not connected: cannot happen after an apply
            return "(unknown)"
        return Names(answers, ctx).log_object_path()

    def _compose_rolled_back(self, report: ApplyReport) -> ComposeResult:
        plan = self.state.plan
        if report.status == "rollback-incomplete":
            yield self._headline(
                "⚠ The apply failed and the rollback did not complete: some changes are "
                "still in place. Undo them by hand as shown below.",
                "-bad",
            )
        elif report.status == "cancelled":
            yield self._headline(
                "■ Stopped. Every change already made was undone: nothing is left behind.",
                "-bad",
            )
        else:
            yield self._headline(
                "✗ The apply failed. Every change already made was undone: nothing is left behind.",
                "-bad",
            )
        if report.error:
            yield Static("What failed", classes="done-section")
            yield Static(report.error, id="apply-error", classes="done-text", markup=False)
        yield Static("What was rolled back", classes="done-section")
        text = Text()
        for result in report.steps:
            step = None
            if plan is not None:
                try:
                    step = plan.step(result.id)
                except KeyError:
                    step = None
            summary = step.summary if step else result.id
            if result.status == "rolled-back":
                undo = f" — {step.undo_summary}" if step and step.undo_summary else ""
                text.append("↺ ", style="bold magenta")
                text.append(f"{summary}{undo}\n")
            elif result.status == "rollback-failed":
                text.append("⚠ ", style="bold red")
                text.append(f"{summary}: still in place. {result.rollback_error or ''}\n")
            elif result.status == "failed":
                text.append("✗ ", style="bold red")
                text.append(f"{summary}: failed, so nothing to undo\n", style="red")
        text.rstrip()
        if not text:
            text = Text("Nothing had been done yet, so nothing needed undoing.")
        yield Static(text, id="rolled-back", classes="done-text")

    def _compose_dry_run(self) -> ComposeResult:
        report = self.dry_run
        plan = self.state.plan
        calls: Sequence[Call] = (
            report.recorded_calls
            if report is not None
            else [s.call for s in (plan.steps if plan else []) if s.mutating]
        )
        yield self._headline("DRY RUN — NOTHING WAS CHANGED", "-dry")
        count = self.state.dry_run_calls if self.state.dry_run_calls is not None else len(calls)
        reads = len(report.read_calls) if report else 0
        read_note = (
            f" Only {reads} read call{'s' if reads != 1 else ''} went to AWS." if reads else ""
        )
        yield Static(
            f"{count} change{'s' if count != 1 else ''} recorded, none sent.{read_note} These "
            "are the calls Apply would make, in order:",
            id="dry-run-summary",
            classes="done-text",
            markup=False,
        )
        if plan is not None and plan.blocked:
            yield Static(
                "Apply is blocked by the error findings on the review screen; fix them first.",
                classes="done-text problem",
            )
        if report is not None and report.problems:
            yield Static(
                "Problems the dry-run found:\n" + "\n".join(f"✗ {p}" for p in report.problems),
                classes="done-text problem",
                markup=False,
            )
        table = Table(box=None, show_header=False, expand=True, pad_edge=False)
        table.add_column(justify="right", width=3, style="dim")
        table.add_column(ratio=1, overflow="fold")
        for number, call in enumerate(calls, 1):
            line = Text.assemble(
                (f"{call.service}:{call.operation}", "bold"), (f" in {call.region}", "dim")
            )
            line.append(f"\n{call_brief(call)}")
            table.add_row(f"{number}.", line)
        yield Static(table, id="recorded-calls", classes="done-text")

    def on_mount(self) -> None:
        """Finish the nav bar (StepScreen's own on_mount runs after this one)."""
        # The body already shows the next steps; the help panel would repeat (or, after a
        # dry-run, contradict) them. Hidden after StepScreen.on_mount, which shows it.
        self.call_after_refresh(self._hide_help)
        nav = self.query_one("#nav", Horizontal)
        nav.mount(Button("Trail health", id="trail-health"), before="#next")
        nav.mount(Button("Save answers", id="save-answers"), before="#next")
        back = self.query_one("#back", Button)
        back.label = "Back to review"
        back.display = self._can_review()
        self.query_one("#next", Button).focus()
        if not self.dry_run_mode:
            self.wizard.exit_code = exit_code_for(self.state.outcome)

    def _hide_help(self) -> None:
        self.query_one("#help-panel").display = False

    # ------------------------------------------------------------------ actions

    def _can_review(self) -> bool:
        if self.dry_run_mode:
            return True
        outcome = self.state.outcome
        return outcome is not None and outcome.report.status in ("stale", "blocked")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self._can_review()
        return action != "toggle_help"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Save answers here; Back and Quit are StepScreen's (its handler runs too)."""
        if event.button.id == "save-answers":
            event.stop()
            self.wizard.action_save_answers()
        elif event.button.id == "trail-health":
            event.stop()
            self.action_status()

    def action_status(self) -> None:
        """Open the trail health screen on the trail just made: is it logging and delivering?"""
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.status import StatusScreen

        outcome, plan = self.state.outcome, self.state.plan
        applied = outcome is not None and outcome.report.status == "applied"
        self.app.push_screen(StatusScreen(plan.trail_arn if applied and plan else None))

    def action_next(self) -> None:
        """Quit with the exit code of the outcome."""
        self.app.exit(self.wizard.exit_code)

    def action_back(self) -> None:
        """Back to the review (after a dry-run, or a refused plan): plan again."""
        if self._can_review():
            self.wizard.go_to(
                "review", self.state.with_(dry_run_calls=None, outcome=None, plan=None)
            )

    def action_save_answers(self) -> None:
        self.wizard.action_save_answers()
