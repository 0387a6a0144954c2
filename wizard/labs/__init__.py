"""Labs: exercises for a class, defined as data, with automatic read-only checks.

A lab (:class:`Lab`) is a YAML file: the starting state the sandbox is seeded with, the
goal, hints revealed one at a time, automatic checks (each passes or fails with the reason
why) and the explanation shown when done. The course ships in ``wizard/labs/bundled``; a
trainer adds a folder of their own (:func:`load_labs`). A trainee's progress is
``lab.json`` in their sandbox home (:func:`read_progress`, :func:`write_progress`).

The checks read the account through :class:`wizard.ports.AwsCaller` and the wizard's own
readers (trail health, log files, digest validation): they never change anything. Seeding a
lab's starting state is the sandbox's business (:mod:`wizard.sandbox.labs`), called by the
``lab`` command; this package never imports the sandbox.

May import: ``wizard.health``, ``wizard.plan`` and everything below them; never
``wizard.run``, ``wizard.sandbox`` or ``wizard.aws``.
"""

from wizard.labs.checks import run_checks, summary
from wizard.labs.load import BUNDLED, MAX_LAB_BYTES, LabFormatError, find_lab, load_labs
from wizard.labs.model import (
    ApiCall,
    CheckResult,
    CheckSpec,
    IdentitySpec,
    Lab,
    LabProgress,
    SetupSpec,
    fill,
)
from wizard.labs.progress import PROGRESS, current_lab, read_progress, write_progress

__all__ = [
    "BUNDLED",
    "MAX_LAB_BYTES",
    "PROGRESS",
    "ApiCall",
    "CheckResult",
    "CheckSpec",
    "IdentitySpec",
    "Lab",
    "LabFormatError",
    "LabProgress",
    "SetupSpec",
    "current_lab",
    "fill",
    "find_lab",
    "load_labs",
    "read_progress",
    "run_checks",
    "summary",
    "write_progress",
]
