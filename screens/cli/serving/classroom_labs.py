"""The labs of a class: which the trainer may set, and each trainee's progress in theirs.

The labs are :mod:`wizard.labs`' (the bundled course, and a trainer's folder given with
``serve --class --labs DIR``); a trainee's progress is their home's ``lab.json``, read with
:func:`wizard.labs.read_progress`. Starting a lab in a trainee's home sets their sandbox up
for it (its starting state, seeded by the sandbox) and starts their progress afresh.

Every function that touches a home blocks (files, the sandbox): the server calls them in
threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from screens.cli.serving.classroom import LabView
from screens.cli.serving.trainees import start_lab_in
from screens.common.classroom import LABS_VARIABLE
from wizard.labs import Lab, LabFormatError, LabProgress, load_labs, read_progress, write_progress


class ClassLabs:
    """The labs a class may use."""

    def __init__(
        self, labs: Sequence[Lab], *, folder: Path | None = None, problem: str = ""
    ) -> None:
        """The labs (in course order), the trainer's folder, and why it could not be read."""
        self.labs = list(labs)
        self.folder = folder
        self.problem = problem
        """Why the trainer's folder could not be read (then only the bundled labs are)."""
        self._by_id = {lab.id: lab for lab in self.labs}

    @classmethod
    def load(cls, folder: Path | None) -> ClassLabs:
        """The bundled labs and those of ``folder``.

        Raises:
            LabFormatError: a lab cannot be read (the message names the file, the line and
                what to fix): refused before the class starts, not in front of it.
        """
        return cls(load_labs(folder), folder=folder)

    def environment(self) -> dict[str, str]:
        """What each wizard process needs to find the trainer's labs."""
        return {LABS_VARIABLE: str(self.folder)} if self.folder is not None else {}

    def choices(self) -> list[tuple[str, str]]:
        """``(id, "id: title")`` of every lab, in course order, for the dashboard's lists."""
        return [(lab.id, f"{lab.id}: {lab.title}") for lab in self.labs]

    def known(self, ident: str) -> bool:
        """Whether ``ident`` is one of the labs."""
        return ident in self._by_id

    def title(self, ident: str) -> str:
        """The lab as the trainer and trainees read it (``02-new-bucket: A new bucket``)."""
        lab = self._by_id.get(ident)
        return f"{lab.id}: {lab.title}" if lab is not None else ident

    def view(self, home: Path) -> LabView:
        """The trainee of ``home``'s lab, as the dashboard shows it."""
        progress = read_progress(home)
        if progress.lab is None:
            return LabView(lab=None)
        lab = self._by_id.get(progress.lab)
        total = len(lab.checks) if lab is not None else len(progress.checks)
        return LabView(
            lab=progress.lab,
            title=lab.title if lab is not None else "",
            checks_passed=sum(1 for c in progress.checks if c.passed),
            checks_total=total,
            passed=progress.passed,
            hints_used=progress.hints_shown,
            attempts=progress.attempts,
        )

    def start(self, home: Path, ident: str, name: str) -> str:
        """Start lab ``ident`` in ``home``: its sandbox reset to the lab's starting state,
        progress afresh (with the trainee's name); what was done, in words.

        Raises:
            KeyError: no such lab.
            wizard.sandbox.labs.LabSeedError: a setup step failed.
            wizard.sandbox.shared.SandboxUnavailable: the sandbox could not be started.
        """
        lab = self._by_id[ident]
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        done = start_lab_in(home, lab)
        write_progress(home, LabProgress(lab=lab.id, started=datetime.now(UTC), trainee=name))
        return done

    def stop(self, home: Path, name: str) -> None:
        """No lab for the trainee of ``home`` (their sandbox stays as it is)."""
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_progress(home, LabProgress(trainee=name))

    def name_trainee(self, home: Path, name: str) -> None:
        """Note the trainee's name in their progress (the ``lab`` command shows it)."""
        progress = read_progress(home)
        if progress.trainee != name and home.is_dir():
            write_progress(home, progress.model_copy(update={"trainee": name}))


__all__ = ["ClassLabs", "LabFormatError"]
