"""``cloudtrail-wizard lab``: a trainee in a terminal, on the shared sandbox of their home.

The commands run in this process (``main``), against a real shared sandbox started in the
background in a home of the module's own (``CLOUDTRAIL_WIZARD_SANDBOX_HOME``, as ``serve``
gives each trainee); the trainee's own changes are boto3 calls to that sandbox. One sandbox
serves the module: it starts once, and ``lab start`` resets it for each lab.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from tests.sandbox_fixtures import ACCOUNT, REGION, dummy_session, stop_shared_sandboxes
from wizard.labs import LabProgress, load_labs, read_progress, write_progress
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.policy.policies import bucket_policy
from wizard.sandbox.identities import current_identity
from wizard.sandbox.shared import HOME_VARIABLE, find_sandbox

BUCKET = f"lab-trail-logs-{ACCOUNT}"


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The trainee's sandbox home for the whole module; its sandbox stops with the module."""
    root = tmp_path_factory.mktemp("lab-home")
    yield root / "home"
    stop_shared_sandboxes(root)


@pytest.fixture
def home(module_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(HOME_VARIABLE, str(module_home))
    return module_home


def lab(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lab", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def client(home: Path, service: str) -> Any:
    found = find_sandbox(home)
    assert found is not None
    session: Any = dummy_session()
    return session.client(service, region_name=REGION, endpoint_url=found.endpoint_url)


def test_list_needs_no_sandbox_and_speaks_json(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = lab(capsys, "list")
    assert code == EXIT_OK
    ids = [lab.id for lab in load_labs()]
    assert [line.split()[0] for line in out.splitlines()[: len(ids)]] == ids
    code, out, _ = lab(capsys, "list", "--output", "json")
    document = json.loads(out)
    assert [entry["id"] for entry in document["labs"]] == ids
    assert f"demo-central-logs-{ACCOUNT}" not in out  # titles filled, no goal text
    assert "{account}" not in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["check"], "No lab is started in this sandbox"),
        (["hint"], "No lab is started in this sandbox"),
        (["reset"], "No lab is started in this sandbox"),
        (["start", "no-such-lab"], "There is no lab 'no-such-lab'. The labs are: 01-"),
        (["list", "--labs", "/nonexistent/labs"], "folder not found"),
    ],
)
def test_bad_input_says_what_to_do(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    words: str,
) -> None:
    monkeypatch.setenv(HOME_VARIABLE, str(tmp_path / "fresh-home"))
    code, _, err = lab(capsys, *argv)
    assert code == EXIT_INVALID
    assert words in err


def test_a_bad_trainer_lab_names_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(HOME_VARIABLE, str(tmp_path / "fresh-home"))
    folder = tmp_path / "labs"
    folder.mkdir()
    (folder / "mine.yaml").write_text("title: Mine\nsummary: x\ngoal: [\n", encoding="utf-8")
    code, _, err = lab(capsys, "list", "--labs", str(folder))
    assert code == EXIT_INVALID
    assert f"{folder / 'mine.yaml'}:" in err and "not valid YAML" in err
    assert "Writing a lab" in err


def test_an_answer_to_a_lab_that_asks_none_and_a_lab_from_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    own = tmp_path / "fresh-home"
    monkeypatch.setenv(HOME_VARIABLE, str(own))
    write_progress(own, LabProgress(lab="02-new-bucket"))
    code, _, err = lab(capsys, "check", "--answer", "x")
    assert code == EXIT_INVALID and "asks no question" in err
    write_progress(own, LabProgress(lab="trainers-own"))
    code, _, err = lab(capsys, "hint")
    assert code == EXIT_INVALID and "trainers-own, is not among the labs" in err


def test_no_sandbox_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(HOME_VARIABLE, str(blocker / "home"))
    code, _, err = lab(capsys, "start", "2")
    assert code == EXIT_INVALID
    assert "cannot be used" in err


def test_a_trainee_starts_fails_gets_hints_solves_and_resets(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_progress(home, LabProgress(trainee="Ada"))
    code, out, _ = lab(capsys, "start", "new-bucket")
    assert code == EXIT_OK
    assert f"lab-trail-logs-{ACCOUNT}" in out and "{account}" not in out
    progress = read_progress(home)
    assert progress.lab == "02-new-bucket" and progress.trainee == "Ada"

    code, out, _ = lab(capsys, "check")
    assert code == EXIT_FAILED
    assert "[FAIL] Trail lab-trail exists and is logging" in out
    assert "There is no trail named lab-trail yet" in out

    code, out, _ = lab(capsys, "hint")
    assert out.startswith("Hint 1 of 3:")
    code, out, _ = lab(capsys, "hint", "--output", "json")
    assert json.loads(out)["number"] == 2
    assert read_progress(home).hints_shown == 2

    # The trainee does it: the wizard's generated policy on a new bucket, the trail.
    s3, cloudtrail = client(home, "s3"), client(home, "cloudtrail")
    s3.create_bucket(Bucket=BUCKET)
    answers = Answers.model_validate(
        {"trail": {"name": "lab-trail"}, "bucket": {"name": BUCKET, "create": True}}
    )
    names = Names(answers, AccountContext(account_id=ACCOUNT, region=REGION))
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(bucket_policy(names)))
    cloudtrail.create_trail(Name="lab-trail", S3BucketName=BUCKET)
    cloudtrail.start_logging(Name="lab-trail")

    code, out, _ = lab(capsys, "check", "--output", "json")
    assert code == EXIT_OK
    document = json.loads(out)
    assert document["passed"] and all(c["passed"] for c in document["checks"])
    assert "aws:SourceArn" in document["explanation"]
    progress = read_progress(home)
    assert progress.passed and progress.finished is not None and progress.attempts == 2

    code, out, _ = lab(capsys, "reset")
    assert code == EXIT_OK
    assert read_progress(home).hints_shown == 2  # hints seen stay seen
    code, out, _ = lab(capsys, "check")
    assert code == EXIT_FAILED and "There is no trail named lab-trail yet" in out


def test_the_permissions_lab_makes_the_trainee_act_as_its_identity(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = lab(capsys, "start", "1")
    assert code == EXIT_OK
    assert "act as the sandbox user trainee-readonly" in out
    identity = current_identity(home)
    assert identity is not None and identity.name == "trainee-readonly"
    code, out, _ = lab(capsys, "check", "--answer", "cloudtrail:CreateTrail")
    assert code == EXIT_FAILED
    assert "[PASS] You named an action the read-only identity lacks" in out
    # Another lab: the trainee is the administrator again.
    code, _, _ = lab(capsys, "start", "2")
    assert code == EXIT_OK and current_identity(home) is None
