"""Reading labs: the bundled course, and a trainer's own folder of YAML files.

Each lab is one YAML file (``01-permissions.yaml``), at most :data:`MAX_LAB_BYTES`. A file
that cannot be used is refused with :class:`LabFormatError`, which names the file, the line
and the field, says what is wrong and how to fix it (the same wording as answers files, see
:mod:`wizard.model.answers_file`). Labs come back in course order: by ``order``, then id.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from wizard.labs.model import Lab
from wizard.model.answers_file import (
    AnswersError,
    DuplicateKeyError,
    Problem,
    duplicate_problem,
    load_yaml,
    read_input_file,
    validation_problems,
)
from wizard.model.text import printable

MAX_LAB_BYTES = 64 * 1024
"""Largest lab file read (64 KiB): a lab is a page of text and a few policies."""

MAX_LAB_FILES = 200
"""Most lab files read from one folder."""

BUNDLED = Path(__file__).resolve().with_name("bundled")
"""The course that ships with the package."""

_GUIDE = "see “Writing a lab” in the trainers' guide"


class LabFormatError(Exception):
    """A lab file (or folder) cannot be used; the message says where, what and how to fix it."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        """All problems, one per line: ``file:line: field: message``."""
        return "\n".join(p.render(self.source) for p in self.problems)


def _refused(source: str, message: str, line: int | None = None) -> LabFormatError:
    return LabFormatError(source, [Problem(field="", line=line, message=message)])


def parse_lab(text: str, source: str, default_id: str) -> Lab:
    """A lab from the text of its YAML file.

    Args:
        text: The file's content.
        source: How messages name the file.
        default_id: The id when the file gives none (the file's name without ``.yaml``).

    Raises:
        LabFormatError: not valid YAML, or not a valid lab.
    """
    try:
        data, root = load_yaml(text)
    except DuplicateKeyError as exc:
        raise LabFormatError(source, [duplicate_problem(exc)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f", column {mark.column + 1}" if mark is not None else ""
        raise _refused(
            source,
            f"not valid YAML{where}: {exc.problem}. Check the indentation and quoting there.",
            mark.line + 1 if mark is not None else None,
        ) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise _refused(source, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise _refused(
            source,
            "a lab file must be a mapping of key: value lines (id, title, summary, goal, hints, "
            f"setup, checks, explanation); {_GUIDE}.",
            1,
        )
    data.setdefault("id", default_id)
    data["source"] = source
    try:
        return Lab.model_validate(data)
    except ValidationError as exc:
        problems = [
            p.model_copy(
                update={"message": p.message.replace("`cloudtrail-wizard schema`", _GUIDE)}
            )
            for p in validation_problems(exc, root, Lab)
        ]
        raise LabFormatError(source, problems) from None


def load_lab_file(path: Path) -> Lab:
    """Read and validate one lab file.

    Raises:
        LabFormatError: missing, unreadable, too large, not YAML, or not a valid lab.
    """
    source = str(path)
    try:
        text = read_input_file(path, source, MAX_LAB_BYTES, what="lab file")
    except AnswersError as exc:
        raise LabFormatError(source, exc.problems) from None
    return parse_lab(text, source, path.stem)


def _lab_files(folder: Path) -> list[Path]:
    if not folder.exists():
        raise _refused(str(folder), "folder not found; check the path given to --labs.")
    if not folder.is_dir():
        raise _refused(
            str(folder), "not a folder; --labs takes the folder that holds your lab files."
        )
    try:
        files = sorted(
            p
            for p in folder.iterdir()
            if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
        )
    except OSError as exc:
        raise _refused(str(folder), f"cannot list the folder: {exc.strerror or exc}.") from None
    if len(files) > MAX_LAB_FILES:
        raise _refused(
            str(folder),
            f"holds {len(files)} lab files; at most {MAX_LAB_FILES} are read. Split the "
            "course into several folders.",
        )
    return files


def load_labs(extra: Path | None = None) -> list[Lab]:
    """The bundled labs, and a trainer's from ``extra``, in course order.

    A trainer's lab with the id of a bundled one replaces it; two of the trainer's files
    with the same id are refused.

    Args:
        extra: A folder of ``*.yaml`` lab files (not searched recursively), or None.

    Raises:
        LabFormatError: the folder or one of its files cannot be used (every bad file is
            reported, not just the first).
    """
    labs = {lab.id: lab for lab in (load_lab_file(p) for p in _lab_files(BUNDLED))}
    if extra is not None:
        problems: list[LabFormatError] = []
        own: dict[str, Lab] = {}
        for path in _lab_files(extra):
            try:
                lab = load_lab_file(path)
            except LabFormatError as exc:
                problems.append(exc)
                continue
            if lab.id in own:
                problems.append(
                    _refused(
                        str(path),
                        f"the lab id {lab.id!r} is also used by {own[lab.id].source}; give "
                        "each lab its own id.",
                    )
                )
                continue
            own[lab.id] = lab
        if problems:
            raise (
                LabFormatError(
                    str(extra),
                    [
                        Problem(field="", line=None, message=printable(line))
                        for exc in problems
                        for line in exc.render().splitlines()
                    ],
                )
                if len(problems) > 1
                else problems[0]
            )
        labs.update(own)
    return sorted(labs.values(), key=lambda lab: (lab.order, lab.id))


def find_lab(labs: Sequence[Lab], name: str) -> Lab | None:
    """The lab ``name`` designates: its id, its number (``1``, ``01``), or its id without the
    number (``permissions``)."""
    wanted = name.strip().lower()
    for lab in labs:
        if lab.id == wanted:
            return lab
    for lab in labs:
        if lab.number and wanted.isdigit() and int(lab.number) == int(wanted):
            return lab
        if lab.number and lab.id.split("-", 1)[1:] == [wanted]:
            return lab
    return None
