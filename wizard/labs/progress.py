"""A trainee's progress: ``lab.json`` in their sandbox home, written atomically.

The file is read by the ``lab`` command, the wizard's help panel and the trainer's
dashboard; it is written by the ``lab`` command only. A missing or unreadable file reads as
no lab started: progress is a convenience, never a reason for a command to fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from wizard.labs.model import Lab, LabProgress
from wizard.model.safe_io import FileRefused, read_bounded, write_atomically

PROGRESS = "lab.json"
"""The progress file's name in the sandbox home."""

MAX_PROGRESS_BYTES = 256 * 1024
"""Largest progress file read."""


def read_progress(home: Path) -> LabProgress:
    """The progress saved in ``home``; an empty one when none is saved or it is unreadable."""
    try:
        data = read_bounded(home / PROGRESS, MAX_PROGRESS_BYTES, what="lab progress")
        return LabProgress.model_validate(json.loads(data))
    except (OSError, FileRefused, ValueError, ValidationError):
        return LabProgress()


def write_progress(home: Path, progress: LabProgress) -> None:
    """Save ``progress`` in ``home`` (created 0700 if needed), all at once, readable by this
    user only.

    Raises:
        OSError: it cannot be written (the old file is then unchanged).
    """
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / PROGRESS
    write_atomically(path, json.dumps(progress.model_dump(mode="json"), indent=2) + "\n")
    os.chmod(path, 0o600)


def current_lab(home: Path, labs: Sequence[Lab]) -> Lab | None:
    """The lab the trainee of ``home`` has started, among ``labs`` (None: none, or a lab no
    longer among them)."""
    wanted = read_progress(home).lab
    return next((lab for lab in labs if lab.id == wanted), None) if wanted else None
