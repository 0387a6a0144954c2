"""Lab files: the format, the errors a trainer sees, course order, and progress files."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wizard.labs import (
    BUNDLED,
    MAX_LAB_BYTES,
    CheckResult,
    LabFormatError,
    LabProgress,
    current_lab,
    find_lab,
    load_labs,
    read_progress,
    write_progress,
)
from wizard.labs.load import load_lab_file

GOOD = """\
title: My lab
order: 50
summary: One line.
goal: Do the thing.
hints:
  - first
  - second
explanation: Well done.
setup:
  - kind: bucket
    id: shared
    name: "shared-{account}"
    policy:
      Version: "2012-10-17"
      Statement: []
checks:
  - id: logging
    title: Logging
    kind: trail_logging
    trail: t
  - id: kept
    title: Kept
    kind: statements_kept
    trail: t
    setup: shared
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_labs_load_in_course_order() -> None:
    labs = load_labs()
    assert labs, f"no bundled labs in {BUNDLED}"
    orders = [lab.order for lab in labs]
    assert orders == sorted(orders)
    assert len({lab.id for lab in labs}) == len(labs)
    for lab in labs:
        assert lab.hints, f"{lab.id} has no hints"
        assert lab.source.endswith(f"{lab.id}.yaml")


def test_a_trainers_lab_is_read_with_its_file_name_as_id(tmp_path: Path) -> None:
    write(tmp_path, "my-lab.yaml", GOOD)
    labs = load_labs(tmp_path)
    mine = find_lab(labs, "my-lab")
    assert mine is not None
    assert mine.hints == ["first", "second"]
    assert mine.checks[1].setup == "shared"
    assert labs.index(mine) == len([lab for lab in labs if lab.order <= 50]) - 1


def test_a_trainers_lab_replaces_the_bundled_one_of_the_same_id(tmp_path: Path) -> None:
    bundled = load_labs()[0]
    write(tmp_path, f"{bundled.id}.yaml", GOOD)
    labs = load_labs(tmp_path)
    replaced = find_lab(labs, bundled.id)
    assert replaced is not None and replaced.title == "My lab"
    assert len(labs) == len(load_labs())


def test_labs_are_found_by_id_number_or_name() -> None:
    labs = load_labs()
    lab = labs[0]
    assert find_lab(labs, lab.id) is lab
    assert find_lab(labs, str(int(lab.number))) is lab
    assert find_lab(labs, lab.id.split("-", 1)[1]) is lab
    assert find_lab(labs, "no-such-lab") is None


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace("summary:", "sumary:"), 3, "did you mean summary?"),
        (GOOD.replace("    trail: t\n  - id: kept", "  - id: kept"), 17, "needs trail"),
        (GOOD.replace("kind: trail_logging", "kind: trail_loging"), 19, "must be"),
        (
            GOOD.replace("title: Logging", "title: Logging\n    prefix: x"),
            17,
            "does not use prefix",
        ),
        (GOOD.replace("setup: shared", "setup: other"), 1, "names setup 'other'"),
        (GOOD.replace("goal: Do the thing.", "goal: [unclosed"), 5, "not valid YAML"),
        (GOOD.replace("order: 50", "order: 50\norder: 51"), 3, "duplicate key"),
        (GOOD.replace("id: kept", "id: logging"), 1, "unique"),
        ("- a list\n", 1, "must be a mapping"),
    ],
)
def test_a_bad_lab_file_says_where_what_and_how(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(LabFormatError) as caught:
        load_lab_file(path)
    message = str(caught.value)
    assert any(
        one.startswith(f"{path}:{line}:") and words in one for one in message.splitlines()
    ), message
    assert "Traceback" not in message


def test_an_unknown_field_points_to_the_guide_not_the_answers_schema(tmp_path: Path) -> None:
    path = write(
        tmp_path, "bad.yaml", GOOD.replace("    trail: t\n", "    trail: t\n    zzz: 1\n", 1)
    )
    with pytest.raises(LabFormatError) as caught:
        load_lab_file(path)
    assert "zzz" in str(caught.value)
    assert "schema" not in str(caught.value)


def test_a_huge_lab_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "big.yaml", GOOD + "#" * MAX_LAB_BYTES)
    with pytest.raises(LabFormatError, match=r"big\.yaml: .* larger than 64 KiB"):
        load_lab_file(path)


def test_a_missing_folder_and_a_file_instead_of_a_folder(tmp_path: Path) -> None:
    with pytest.raises(LabFormatError, match="folder not found"):
        load_labs(tmp_path / "nope")
    with pytest.raises(LabFormatError, match="not a folder"):
        load_labs(write(tmp_path, "x.yaml", GOOD))


def test_every_bad_file_of_a_folder_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "title: [")
    write(tmp_path, "b.yaml", GOOD.replace("title: My lab\n", ""))
    with pytest.raises(LabFormatError) as caught:
        load_labs(tmp_path)
    message = str(caught.value)
    assert "a.yaml" in message and "b.yaml" in message
    assert "title" in message


def test_two_files_with_one_id_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "id: same\n" + GOOD)
    write(tmp_path, "b.yaml", "id: same\n" + GOOD)
    with pytest.raises(LabFormatError, match="also used by"):
        load_labs(tmp_path)


def test_progress_round_trips_privately_and_names_the_current_lab(tmp_path: Path) -> None:
    home = tmp_path / "home"
    labs = load_labs()
    assert read_progress(home) == LabProgress()
    assert current_lab(home, labs) is None
    progress = LabProgress(
        lab=labs[0].id,
        started=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        hints_shown=1,
        attempts=2,
        checks=[CheckResult(id="a", title="A", passed=False, reason="because")],
        trainee="Ada",
    )
    write_progress(home, progress)
    assert read_progress(home) == progress
    assert os.stat(home / "lab.json").st_mode & 0o777 == 0o600
    assert current_lab(home, labs) is labs[0]
    write_progress(home, progress.model_copy(update={"lab": "gone"}))
    assert current_lab(home, labs) is None


def test_unreadable_progress_reads_as_none_started(tmp_path: Path) -> None:
    (tmp_path / "lab.json").write_text("{not json", encoding="utf-8")
    assert read_progress(tmp_path) == LabProgress()
    (tmp_path / "lab.json").write_text(json.dumps({"lab": 3}), encoding="utf-8")
    assert read_progress(tmp_path) == LabProgress()
