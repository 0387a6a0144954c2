"""The files a served wizard and ``serve --class`` share in a trainee's sandbox home.

A class (``cloudtrail-wizard serve --class``) gives every trainee a sandbox home of their own
(:data:`wizard.sandbox.shared.HOME_VARIABLE`). Besides the sandbox and the lab's progress
(``lab.json``, :mod:`wizard.labs`), two small files there connect the trainer's dashboard
and the trainee's wizard:

* :data:`POSITION` (``wizard-position.json``), written by the wizard whenever it shows
  another step: the step, its title, when, and once a plan is applied the trail it made;
  the dashboard reads it to show where everyone is, and which trail to check;
* :data:`BROADCAST` (``broadcast.json``), written by the server when the trainer broadcasts a
  message: the wizard shows each message once (it notes the ids it has shown in
  :data:`BROADCAST_SEEN`) and keeps the latest in its help panel.

Both are small JSON documents read with a size cap: a damaged or oversized file reads as
absent, never as an error in front of a trainee.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.model.safe_io import FileRefused, read_bounded, write_atomically

if TYPE_CHECKING:  # the labs' models and the SDK load only when a lab is current
    from wizard.labs import CheckResult, Lab, LabProgress
    from wizard.ports import AwsCaller

POSITION = "wizard-position.json"
"""Where the wizard is: written by the wizard, read by the dashboard."""
BROADCAST = "broadcast.json"
"""The trainer's latest message: written by the server, read by the wizard."""
BROADCAST_SEEN = "broadcast-seen.json"
"""The ids of the messages the wizard has shown (each is shown once)."""
FILE_LIMIT = 64 * 1024
"""The largest of these files read (they hold a few hundred bytes)."""
MESSAGE_LIMIT = 500
"""The longest message a trainer may broadcast, in characters."""
SEEN_KEPT = 50
"""How many shown ids are remembered (the oldest are forgotten)."""
LABS_VARIABLE = "CLOUDTRAIL_WIZARD_LABS"
"""The trainer's lab folder (``serve --class --labs DIR``), given to every wizard the class
starts, so that it finds the trainee's lab among the trainer's (:func:`lab_folder`)."""

_ID = re.compile(r"^[0-9a-f]{8,32}$")


def wizard_home() -> Path:
    """The sandbox home this wizard uses (a trainee's own under ``serve``), where these
    files are (:func:`wizard.sandbox.shared.sandbox_home`)."""
    # Deferred: only a wizard in sandbox mode looks for its home.
    from wizard.sandbox.shared import sandbox_home

    return sandbox_home()


def lab_folder() -> Path | None:
    """The trainer's lab folder this wizard was given (:data:`LABS_VARIABLE`), if any."""
    value = os.environ.get(LABS_VARIABLE, "")
    return Path(value) if value and os.path.isabs(value) else None


def now_text() -> str:
    """The time now, as these files write it (ISO 8601, UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _read(path: Path) -> Any:
    """The JSON document at ``path``; None when absent, unreadable or too large."""
    try:
        return json.loads(read_bounded(path, FILE_LIMIT, what=path.name))
    except (OSError, FileRefused, ValueError):
        return None


def _write(path: Path, document: Any) -> None:
    write_atomically(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- position


@dataclass(frozen=True)
class Position:
    """Where a trainee's wizard is."""

    step: str
    """The step's id (:data:`wizard.guide.STEPS`: ``storage``, ``review``, ``done``)."""
    title: str
    """The step as the wizard titles it (``Step 3 of 8: Storage``)."""
    time: str
    """When the wizard showed it (ISO 8601, UTC)."""
    trail_arn: str | None = None
    """Once a plan is applied: the trail it made or changed."""
    outcome: str | None = None
    """On the Done step: how the apply ended (``applied``, ``rolled-back``, ``dry-run``...)."""


def write_position(home: Path, position: Position) -> None:
    """Note where the wizard is (atomically: the dashboard never reads half a file)."""
    _write(home / POSITION, asdict(position))


def read_position(home: Path) -> Position | None:
    """Where the wizard of ``home`` is; None when it has not said (or the file is damaged)."""
    found = _read(home / POSITION)
    if not isinstance(found, dict):
        return None
    step, title, time = found.get("step"), found.get("title"), found.get("time")
    if not (isinstance(step, str) and isinstance(title, str) and isinstance(time, str)):
        return None
    arn, outcome = found.get("trail_arn"), found.get("outcome")
    return Position(
        step=step[:40],
        title=title[:120],
        time=time[:40],
        trail_arn=arn[:2048] if isinstance(arn, str) else None,
        outcome=outcome[:40] if isinstance(outcome, str) else None,
    )


# --------------------------------------------------------------------------- broadcast


@dataclass(frozen=True)
class Broadcast:
    """A message from the trainer."""

    id: str
    """Random hex: each message is shown once."""
    text: str
    """What the trainer wrote (at most :data:`MESSAGE_LIMIT` characters)."""
    time: str
    """When it was sent (ISO 8601, UTC)."""


def write_broadcast(home: Path, message: Broadcast) -> None:
    """Leave ``message`` for the wizard of ``home`` (it replaces the one before)."""
    _write(home / BROADCAST, asdict(message))


def read_broadcast(home: Path) -> Broadcast | None:
    """The trainer's latest message for ``home``; None when there is none (or it is damaged)."""
    found = _read(home / BROADCAST)
    if not isinstance(found, dict):
        return None
    ident, text, time = found.get("id"), found.get("text"), found.get("time")
    if not (isinstance(ident, str) and _ID.match(ident) and isinstance(text, str)):
        return None
    return Broadcast(
        id=ident, text=text[:MESSAGE_LIMIT], time=time[:40] if isinstance(time, str) else ""
    )


def seen_broadcasts(home: Path) -> list[str]:
    """The ids of the messages already shown in ``home``'s wizard."""
    found = _read(home / BROADCAST_SEEN)
    if not isinstance(found, list):
        return []
    return [i for i in found if isinstance(i, str) and _ID.match(i)][-SEEN_KEPT:]


def mark_broadcast_seen(home: Path, ident: str) -> None:
    """Note that the message ``ident`` has been shown (a reload does not show it again)."""
    seen = [i for i in seen_broadcasts(home) if i != ident]
    with contextlib.suppress(OSError):
        _write(home / BROADCAST_SEEN, [*seen, ident][-SEEN_KEPT:])


# --------------------------------------------------------------------------- a lab's checks


def admin_caller(endpoint: str, region: str) -> AwsCaller:
    """A read-only caller on the sandbox at ``endpoint``, as its administrator (blocking).

    A lab's checks judge the account whoever the trainee acts as (``lab check`` does the
    same): a read-only identity must not turn "the trail is logging" into "could not read".
    """
    # Deferred: the SDK session loads only when a lab's checks run.
    from wizard.aws.session import open_session
    from wizard.aws.settings import SessionSettings

    settings = SessionSettings(sandbox_endpoint=endpoint, region=region, read_only=True)
    return open_session(settings, verify=False).caller


def record_checks(home: Path, lab: Lab, results: Sequence[CheckResult]) -> LabProgress | None:
    """Note a run of ``lab``'s checks in ``home``'s progress (blocking): one more attempt,
    the results, passed once every check passed (and when it first did). None when another
    lab is current there now."""
    # Deferred: the labs' models load only when a lab is current.
    from wizard.labs import read_progress, write_progress

    progress = read_progress(home)
    if progress.lab != lab.id:
        return None
    passed = bool(results) and all(r.passed for r in results)
    progress = progress.model_copy(
        update={
            "attempts": progress.attempts + 1,
            "checks": list(results),
            "passed": progress.passed or passed,
            "finished": progress.finished or (datetime.now(UTC) if passed else None),
        }
    )
    write_progress(home, progress)
    return progress
