"""``serve --class``: the class a trainer runs, as the server keeps it.

A class is a folder (:func:`class_directory`) that outlives the server: every trainee's
sandbox home (:mod:`~screens.cli.serving.trainees`, kept instead of deleted) and
:data:`CLASS_FILE`, which holds what the server knows of the class:

* the trainer's token (the dashboard's address carries it once; a cookie after that);
* every trainee, by id (a hash of their browser's cookie, never the cookie itself): the name
  they entered, when they joined, the lab the trainer set for them, and the controls their
  applied trail passed when last checked;
* the messages broadcast so far, and the lab set for everyone (new trainees start on it).

A server started again on the same class reads it back: the dashboard's address, every
trainee's name and sandbox are as they were. Nothing here speaks HTTP
(:mod:`~screens.cli.serving.classroom_web` does); the rows of the dashboard and of the
export are built by :func:`trainee_rows` from the files in each trainee's home.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from screens.common.classroom import MESSAGE_LIMIT, Broadcast, now_text, read_position
from wizard.model.safe_io import FileRefused, read_bounded, write_atomically
from wizard.run.journal import journal_dir

CLASS_FILE = "class.json"
"""The class's state, in its folder (mode 0600: it holds the trainer's token)."""
CLASS_FILE_LIMIT = 4 * 1024 * 1024
"""The largest class file read (a class of hundreds of trainees is a few hundred KB)."""
TRAINER_COOKIE = "cloudtrail_wizard_trainer"
"""The cookie that carries the trainer's token after the first visit."""
DASHBOARD_PATH = "/class/"
"""Where the trainer's dashboard is."""
NAME_LIMIT = 40
"""The longest trainee name, in characters."""
BROADCASTS_KEPT = 20
"""How many broadcast messages the class keeps (the dashboard lists them)."""
DEFAULT_CLASS = "class"
"""The class's name when ``--class-name`` is not given."""

_CLASS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TRAINEE_ID = re.compile(r"^[0-9a-f]{24}$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Cells a spreadsheet would read as a formula: written with a leading quote instead."""


class ClassProblem(Exception):
    """The class's folder or file cannot be used; the message says what to do."""


# --------------------------------------------------------------------------- names


def class_directory(name: str, directory: str | None = None) -> Path:
    """The folder of the class ``name``: ``directory`` if given, else under the state dir.

    Raises:
        ClassProblem: the name is not a plain folder name.
    """
    if directory:
        return Path(directory).expanduser().resolve()
    if not _CLASS_NAME.match(name):
        raise ClassProblem(
            f"--class-name {name!r}: use 1-64 letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit (it names a folder)."
        )
    return journal_dir().parent / "classes" / name


def clean_name(text: str) -> tuple[str | None, str | None]:
    """A trainee's name as typed, made safe to keep and show: ``(name, None)`` or
    ``(None, what is wrong)``.

    Blanks are collapsed; control and formatting characters (a right-to-left override, a
    zero-width joiner) are refused, so a name shows as it reads everywhere. Every page
    escapes it anyway: a name is text, never markup.
    """
    name = " ".join(text.split())
    if not name:
        return None, "Enter your name (the trainer sees it beside your progress)."
    if len(name) > NAME_LIMIT:
        return None, f"That name is {len(name)} characters long; use at most {NAME_LIMIT}."
    if any(unicodedata.category(c).startswith("C") for c in name):
        return None, "Use letters, digits, spaces and punctuation only in your name."
    return name, None


def new_token() -> str:
    """A fresh trainer token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_matches(given: str | None, expected: str) -> bool:
    """Whether ``given`` is the trainer's token; the comparison takes the same time
    whatever the first differing character (no guessing it one character at a time)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def trainer_cookie_header(token: str) -> str:
    """The ``Set-Cookie`` value that lets the trainer's browser in without the token in the
    address: only for the dashboard's pages, never sent by another site's page."""
    return f"{TRAINER_COOKIE}={token}; Path={DASHBOARD_PATH}; HttpOnly; SameSite=Strict"


def check_message(text: str) -> tuple[str | None, str | None]:
    """A broadcast message as the trainer typed it: ``(text, None)`` or ``(None, why not)``."""
    message = text.strip()
    if not message:
        return None, "Write the message to send."
    if len(message) > MESSAGE_LIMIT:
        return None, f"The message is {len(message)} characters; send at most {MESSAGE_LIMIT}."
    # Line breaks are fine; other control characters would garble a trainee's terminal.
    if any(unicodedata.category(c).startswith("C") and c not in "\n\t" for c in message):
        return None, "Remove the control characters from the message."
    return message, None


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class Trainee:
    """A trainee of the class, as the class file keeps them."""

    id: str
    """A hash of their browser's cookie (:func:`screens.cli.serving.trainees.trainee_id`)."""
    name: str
    """What they entered (:func:`clean_name`)."""
    joined: str
    """When they entered it (ISO 8601, UTC)."""
    lab: str | None = None
    """The lab the trainer set for them (None: the class's, or none)."""
    controls: dict[str, Any] | None = None
    """The controls their applied trail passed when last checked
    (:mod:`~screens.cli.serving.classroom_health`)."""


@dataclass
class ClassState:
    """What :data:`CLASS_FILE` holds."""

    token: str
    """The trainer's token."""
    created: str
    """When the class was first served."""
    trainees: dict[str, Trainee] = field(default_factory=dict)
    """Every trainee who entered a name, by id, in the order they joined."""
    broadcasts: list[Broadcast] = field(default_factory=list)
    """The latest messages, oldest first (at most :data:`BROADCASTS_KEPT`)."""
    lab: str | None = None
    """The lab the trainer set for everyone (a newcomer starts on it)."""


class ClassRoom:
    """One class: its folder and state; every change is saved at once."""

    def __init__(self, directory: Path, *, max_trainees: int) -> None:
        """Open the class in ``directory`` (made 0700 if new), reading what it kept.

        Args:
            directory: The class's folder (:func:`class_directory`).
            max_trainees: Most trainees the class takes (names entered beyond are refused).

        Raises:
            ClassProblem: the folder cannot be made, or its class file is unreadable.
        """
        self.directory = directory
        self.max_trainees = max_trainees
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ClassProblem(
                f"cannot create the class folder {directory} ({exc.strerror or exc}); "
                "name one you may write to with --class-dir."
            ) from None
        found = load_state(directory / CLASS_FILE)
        self.resumed = found is not None
        """The class existed: this server continues it."""
        self.state = found or ClassState(token=new_token(), created=now_text())
        if not self.resumed:
            self.save()

    @property
    def token(self) -> str:
        """The trainer's token."""
        return self.state.token

    def save(self) -> None:
        """Write the class file (atomically, mode 0600)."""
        path = self.directory / CLASS_FILE
        write_atomically(path, json.dumps(dump_state(self.state), indent=1) + "\n")
        os.chmod(path, 0o600)

    def trainee(self, ident: str) -> Trainee | None:
        """The trainee ``ident``, if they have entered a name."""
        return self.state.trainees.get(ident)

    def full(self, ident: str) -> bool:
        """Whether a new trainee ``ident`` would be one too many."""
        return ident not in self.state.trainees and len(self.state.trainees) >= self.max_trainees

    def name(self, ident: str, name: str) -> Trainee:
        """Give trainee ``ident`` the (clean) ``name``; a newcomer joins the class's lab."""
        known = self.state.trainees.get(ident)
        trainee = (
            replace(known, name=name)
            if known is not None
            else Trainee(id=ident, name=name, joined=now_text(), lab=None)
        )
        self.state.trainees[ident] = trainee
        self.save()
        return trainee

    def set_lab(self, ident: str | None, lab: str | None) -> list[str]:
        """Set the lab of trainee ``ident``, or of everyone (None); the ids it applies to.

        Setting everyone's lab also makes it the lab newcomers start on.
        """
        if ident is None:
            self.state.lab = lab
            ids = list(self.state.trainees)
        else:
            ids = [ident] if ident in self.state.trainees else []
        for i in ids:
            self.state.trainees[i] = replace(self.state.trainees[i], lab=lab)
        self.save()
        return ids

    def lab_of(self, ident: str) -> str | None:
        """The lab set for trainee ``ident`` (their own, else the class's)."""
        trainee = self.state.trainees.get(ident)
        if trainee is not None and trainee.lab is not None:
            return trainee.lab
        return self.state.lab

    def broadcast(self, text: str) -> Broadcast:
        """Keep a new message (the server writes it into every trainee's home)."""
        message = Broadcast(id=secrets.token_hex(8), text=text, time=now_text())
        self.state.broadcasts = [*self.state.broadcasts, message][-BROADCASTS_KEPT:]
        self.save()
        return message

    def note_controls(self, ident: str, controls: dict[str, Any] | None) -> None:
        """Keep what the controls of trainee ``ident``'s trail were, when last checked."""
        trainee = self.state.trainees.get(ident)
        if trainee is not None and trainee.controls != controls:
            self.state.trainees[ident] = replace(trainee, controls=controls)
            self.save()


def dump_state(state: ClassState) -> dict[str, Any]:
    """The class file's document."""
    return {
        "version": 1,
        "token": state.token,
        "created": state.created,
        "lab": state.lab,
        "trainees": [asdict(t) for t in state.trainees.values()],
        "broadcasts": [asdict(b) for b in state.broadcasts],
    }


def load_state(path: Path) -> ClassState | None:
    """The class kept in ``path``; None when there is no class file yet.

    Raises:
        ClassProblem: the file is there but cannot be read as a class.
    """
    try:
        raw = read_bounded(path, CLASS_FILE_LIMIT, what="class file")
    except FileNotFoundError:
        return None
    except (OSError, FileRefused) as exc:
        raise ClassProblem(f"cannot read the class file {path}: {exc}") from None
    try:
        document = json.loads(raw)
        token = document["token"]
        if not isinstance(token, str) or len(token) < 32:
            raise ValueError("its token is missing or too short")
        trainees = {}
        for entry in document.get("trainees", []):
            trainee = Trainee(
                id=str(entry["id"]),
                name=str(entry["name"]),
                joined=str(entry["joined"]),
                lab=entry.get("lab") if isinstance(entry.get("lab"), str) else None,
                controls=entry.get("controls") if isinstance(entry.get("controls"), dict) else None,
            )
            if _TRAINEE_ID.match(trainee.id) and clean_name(trainee.name)[0] == trainee.name:
                trainees[trainee.id] = trainee
        broadcasts = [
            Broadcast(id=str(b["id"]), text=str(b["text"])[:MESSAGE_LIMIT], time=str(b["time"]))
            for b in document.get("broadcasts", [])
        ][-BROADCASTS_KEPT:]
        lab = document.get("lab")
        return ClassState(
            token=token,
            created=str(document.get("created", "")),
            trainees=trainees,
            broadcasts=broadcasts,
            lab=lab if isinstance(lab, str) else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ClassProblem(
            f"the class file {path} is damaged ({exc}). Move it away to start the class "
            "afresh (the trainees' sandboxes stay), or serve another --class-name."
        ) from None


# --------------------------------------------------------------------------- rows


COLUMNS = (
    "name",
    "id",
    "joined",
    "online",
    "lab",
    "lab_title",
    "step",
    "step_title",
    "step_time",
    "checks_passed",
    "checks_total",
    "lab_passed",
    "hints_used",
    "attempts",
    "outcome",
    "trail_arn",
    "controls_passed",
    "controls_total",
    "controls_failing",
    "controls_checked",
)
"""The columns of the dashboard's data and of the CSV export, in order."""


@dataclass(frozen=True)
class LabView:
    """What the dashboard shows of a trainee's lab (read from their home)."""

    lab: str | None
    """The lab's id, or None."""
    title: str = ""
    """Its title."""
    checks_passed: int = 0
    checks_total: int = 0
    passed: bool = False
    """Every check passed."""
    hints_used: int = 0
    attempts: int = 0


def trainee_rows(
    room: ClassRoom,
    home_of: Mapping[str, Path] | None = None,
    *,
    online: Mapping[str, int] | None = None,
    labs: Mapping[str, LabView] | None = None,
) -> list[dict[str, Any]]:
    """One row per trainee for the dashboard and the export (reads their homes' files:
    call it off the event loop).

    Args:
        room: The class.
        home_of: Each trainee's home, by id (default: ``trainee-<id>`` in the class folder).
        online: Wizards open now, by trainee id.
        labs: Each trainee's lab as read from their home, by id
            (:func:`screens.cli.serving.classroom_labs.lab_view`).
    """
    rows = []
    for trainee in room.state.trainees.values():
        home = (home_of or {}).get(trainee.id) or room.directory / f"trainee-{trainee.id}"
        position = read_position(home)
        lab = (labs or {}).get(trainee.id) or LabView(lab=room.lab_of(trainee.id))
        controls = trainee.controls or {}
        rows.append(
            {
                "name": trainee.name,
                "id": trainee.id,
                "joined": trainee.joined,
                "online": (online or {}).get(trainee.id, 0),
                "lab": lab.lab,
                "lab_title": lab.title,
                "step": position.step if position else None,
                "step_title": position.title if position else None,
                "step_time": position.time if position else None,
                "checks_passed": lab.checks_passed,
                "checks_total": lab.checks_total,
                "lab_passed": lab.passed,
                "hints_used": lab.hints_used,
                "attempts": lab.attempts,
                "outcome": position.outcome if position else None,
                "trail_arn": position.trail_arn if position else None,
                "controls_passed": controls.get("passed"),
                "controls_total": controls.get("total"),
                "controls_failing": list(controls.get("failing", [])),
                "controls_checked": controls.get("checked"),
            }
        )
    return rows


def export_json(rows: Sequence[Mapping[str, Any]], *, exported: str | None = None) -> str:
    """The class's results as a JSON document (every row, as the dashboard has it)."""
    document = {"exported": exported or now_text(), "trainees": [dict(r) for r in rows]}
    return json.dumps(document, indent=2) + "\n"


def export_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The class's results as CSV, one line per trainee, :data:`COLUMNS` as the header.

    A cell a spreadsheet would read as a formula (a name starting with ``=``) gets a
    leading quote: opening the export never runs what a trainee typed.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text
