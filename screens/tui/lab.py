"""A lab and a class in the full-screen wizard: the goal and hints, the trainer's messages,
and where the wizard is.

In sandbox mode the wizard looks at its sandbox home
(:func:`screens.common.classroom.wizard_home`):

* when a lab is current there (``cloudtrail-wizard lab start``, or the trainer's dashboard
  under ``serve --class``), the help panel shows its goal and the hints revealed so far,
  and :data:`~screens.tui.keys.HINT` reveals the next one (noted in the lab's progress);
  the Done screen runs the lab's checks (:class:`LabChecks`);
* a message the trainer broadcasts (``broadcast.json``) is shown once as a notification and
  stays at the top of the help panel;
* every step shown is written to ``wizard-position.json``, for the trainer's dashboard.

The app (:mod:`screens.tui.app`) owns the :class:`ClassLink` and looks at the files every
:data:`WATCH_SECONDS` (a ``stat`` of two files); whatever is read or written beyond that
(the labs' YAML, the progress) is read in a thread worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from screens.common.classroom import (
    BROADCAST,
    Broadcast,
    Position,
    admin_caller,
    lab_folder,
    mark_broadcast_seen,
    now_text,
    read_broadcast,
    record_checks,
    seen_broadcasts,
)
from screens.tui import keys
from wizard import guide

if TYPE_CHECKING:
    from screens.common.backend import Backend
    from screens.tui.state import WizardState
    from wizard.labs import CheckResult, Lab, LabProgress

WATCH_SECONDS = 2.0
"""How often the wizard looks for a new message or a changed lab."""
NOTIFY_SECONDS = 20
"""How long a trainer's message stays on screen as a notification."""
PROGRESS_FILE = "lab.json"
"""The lab's progress in the sandbox home (:data:`wizard.labs.PROGRESS`; named here so the
watcher's ``stat`` needs no import of the labs' models)."""


@dataclass
class ClassLink:
    """What this wizard knows of its lab and its trainer (read in a thread worker)."""

    home: Path
    """The sandbox home."""
    labs: list[Lab] | None = None
    """The labs (bundled, and the trainer's folder if the class gave one), once read."""
    lab: Lab | None = None
    """The current lab, if any."""
    progress: LabProgress | None = None
    """Its progress."""
    labs_problem: str = ""
    """Why the labs could not be read (said in the help panel)."""
    broadcast: Broadcast | None = None
    """The trainer's latest message."""
    stamps: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    """Each watched file's (modification time, size) when last read."""

    # ------------------------------------------------------------------ reading (threads)

    def changed(self) -> set[str]:
        """The watched files that changed since they were last read (two ``stat`` calls)."""
        found = set()
        for name in (PROGRESS_FILE, BROADCAST):
            stamp = _stamp(self.home / name)
            if self.stamps.get(name, ()) != stamp:
                found.add(name)
        return found

    def read(self, names: set[str]) -> None:
        """Read what changed: the lab and its progress, the trainer's message (blocking)."""
        # Deferred: the labs' models (pydantic, YAML) load only when a lab may be current.
        from wizard.labs import LabFormatError, current_lab, load_labs, read_progress

        if PROGRESS_FILE in names:
            self.stamps[PROGRESS_FILE] = _stamp(self.home / PROGRESS_FILE)
            progress = read_progress(self.home)
            if progress.lab is not None and self.labs is None:
                try:
                    self.labs = load_labs(lab_folder())
                except LabFormatError as exc:
                    self.labs = []
                    self.labs_problem = exc.render()
            self.progress = progress
            self.lab = current_lab(self.home, self.labs or []) if progress.lab else None
        if BROADCAST in names:
            self.stamps[BROADCAST] = _stamp(self.home / BROADCAST)
            self.broadcast = read_broadcast(self.home)

    def unseen(self) -> Broadcast | None:
        """The trainer's message, if this sandbox home's wizards have not shown it yet;
        noted as shown (blocking)."""
        message = self.broadcast
        if message is None or message.id in seen_broadcasts(self.home):
            return None
        mark_broadcast_seen(self.home, message.id)
        return message

    def reveal_hint(self) -> LabProgress | None:
        """One more hint shown, noted in the progress (blocking); None when none is left."""
        # Deferred: the labs' models load only when a lab is current.
        from wizard.labs import read_progress, write_progress

        lab = self.lab
        if lab is None:
            return None
        progress = read_progress(self.home)
        if progress.lab != lab.id or progress.hints_shown >= len(lab.hints):
            return None
        progress = progress.model_copy(update={"hints_shown": progress.hints_shown + 1})
        write_progress(self.home, progress)
        self.progress = progress
        self.stamps[PROGRESS_FILE] = _stamp(self.home / PROGRESS_FILE)
        return progress

    def record_checks(self, results: list[CheckResult]) -> LabProgress | None:
        """Note the checks' results in the progress (blocking): one more attempt, passed
        when every check passed (and when it first did)."""
        if self.lab is None:
            return None
        progress = record_checks(self.home, self.lab, results)
        if progress is None:
            return None
        self.progress = progress
        self.stamps[PROGRESS_FILE] = _stamp(self.home / PROGRESS_FILE)
        return progress

    # ------------------------------------------------------------------ showing

    @property
    def hints_shown(self) -> int:
        """Hints revealed so far (never more than the lab has)."""
        if self.lab is None or self.progress is None:
            return 0
        return min(self.progress.hints_shown, len(self.lab.hints))

    @property
    def hints_left(self) -> int:
        """Hints not revealed yet."""
        return 0 if self.lab is None else len(self.lab.hints) - self.hints_shown

    def panel_text(self) -> Text | None:
        """The help panel's lab and trainer section; None when there is nothing to show."""
        text = Text()
        if self.broadcast is not None:
            text.append("From the trainer\n", style="bold")
            text.append(f"{self.broadcast.text}\n\n")
        lab = self.lab
        if lab is not None:
            text.append(f"Lab {lab.id}: {lab.title}\n", style="bold")
            text.append(f"{lab.goal.strip()}\n")
            for number, hint in enumerate(lab.hints[: self.hints_shown], 1):
                text.append(f"\nHint {number}: ", style="bold")
                text.append(hint.strip())
            if self.hints_left:
                text.append(
                    f"\n\n{keys.label(keys.HINT)}: show a hint ({self.hints_left} left).",
                    style="italic",
                )
            elif lab.hints:
                text.append("\n\nEvery hint is shown.", style="italic")
            text.append(
                "\n\nThe Done step checks your work once the plan is applied.\n", style="italic"
            )
        elif self.labs_problem:
            text.append("The labs could not be read\n", style="bold")
            text.append(f"{self.labs_problem}\n")
        return text if text else None


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)


# --------------------------------------------------------------------------- widgets


class LabPanel(Static):
    """The top of the help panel: the trainer's message, the lab's goal and hints."""

    DEFAULT_CSS = """
    LabPanel {
        height: auto;
        padding: 0 2 1 2;
        margin: 0 0 1 0;
        border-bottom: dashed $primary;
    }
    """

    def __init__(self) -> None:
        super().__init__("", id="lab-panel", markup=False)

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        """Draw what the app knows now (hidden when there is nothing)."""
        # The app's (screens.tui.app.WizardApp), read by name: this module is below the app.
        link: ClassLink | None = getattr(self.app, "class_link", None)
        text = link.panel_text() if link is not None else None
        self.display = text is not None
        if text is not None:
            self.update(text)


def position_for(step_id: str, state: WizardState) -> Position:
    """Where the wizard is, for the trainer's dashboard: the step and, on the Done step,
    how the apply ended and the trail it made."""
    trail_arn = outcome = None
    if step_id == "done":
        if state.dry_run_calls is not None:
            outcome = "dry-run"
        elif state.outcome is not None:
            outcome = state.outcome.report.status
            if outcome == "applied" and state.plan is not None:
                trail_arn = state.plan.trail_arn
    return Position(
        step=step_id,
        title=guide.step_title(step_id),
        time=now_text(),
        trail_arn=trail_arn,
        outcome=outcome,
    )


# --------------------------------------------------------------------------- the Done step


class LabChecks(Static):
    """The Done step's lab section: the lab's checks, run once the screen shows."""

    DEFAULT_CSS = """
    LabChecks { height: auto; margin: 1 0 0 0; }
    """

    def __init__(self, link: ClassLink | None, backend: Backend) -> None:
        """Check ``link``'s lab (nothing shown without one) in ``backend``'s sandbox.

        Args:
            link: The wizard's lab, if any.
            backend: The wizard's connection: the checks read its sandbox's account, as
                the sandbox's administrator (:func:`admin_caller`).
        """
        super().__init__("", id="lab-checks", markup=False)
        self.link = link
        self.backend = backend
        self.results: list[CheckResult] | None = None
        """The checks' results, once run."""

    def on_mount(self) -> None:
        link = self.link
        if link is None or link.lab is None:
            self.display = False
            return
        self.update(Text(f"Lab {link.lab.id}: checking your work…", style="bold"))
        self.run_checks(link)

    def run_checks(self, link: ClassLink) -> None:
        """Run the lab's checks in a thread worker (they read the sandbox)."""
        lab = link.lab
        assert lab is not None
        app = self.app

        def work() -> None:
            # Deferred: the checks load the labs' readers only on the Done step.
            from wizard.labs import CheckResult, run_checks

            try:
                info = self.backend.connect()  # connected already: what it found
                ctx = self.backend.engine.ctx
                caller = (
                    admin_caller(info.endpoint, ctx.region)
                    if info.endpoint
                    else self.backend.engine.caller  # not a sandbox: never with a lab
                )
                progress = link.progress
                results = run_checks(
                    lab,
                    caller,
                    ctx,
                    started=progress.started if progress is not None else None,
                )
            except Exception as exc:  # the wizard's own job is done: say why, never crash
                results = [
                    CheckResult(
                        id="checks",
                        title="The lab's checks",
                        passed=False,
                        reason=f"They could not run: {exc}",
                    )
                ]
                app.call_from_thread(self._show, lab, results)
                return
            link.record_checks(results)
            app.call_from_thread(self._show, lab, results)

        self.run_worker(work, thread=True, group="lab-checks", exclusive=True, exit_on_error=False)

    def _show(self, lab: Lab, results: list[CheckResult]) -> None:
        self.results = results
        passed = sum(1 for r in results if r.passed)
        text = Text()
        done = bool(results) and passed == len(results)
        text.append(
            f"Lab {lab.id}: {passed} of {len(results)} checks pass\n",
            style="bold green" if done else "bold",
        )
        for result in results:
            text.append("✓ " if result.passed else "✗ ", style="green" if result.passed else "red")
            text.append(f"{result.title}: ", style="bold")
            text.append(f"{result.reason}\n")
        if done:
            text.append("\nDone. ", style="bold green")
            text.append(lab.explanation.strip())
        else:
            text.append(
                "\nFix what failed (Back to review, or a new wizard run), then check again "
                "with `cloudtrail-wizard --sandbox lab check`."
            )
        self.update(text)
        self.post_message(LabChecks.Checked(results))

    class Checked(Message):
        """The lab's checks have run (the app redraws the lab section)."""

        def __init__(self, results: list[CheckResult]) -> None:
            super().__init__()
            self.results = results
