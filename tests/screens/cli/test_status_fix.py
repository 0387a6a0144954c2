"""``status --fix TRAIL``: the fixes of the legacy trail's failed controls, then their plan.

In-process, pointed at the fixture's sandbox with ``AWS_ENDPOINT_URL``; nothing is changed
(the server's request log says so).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_INVALID, EXIT_OK
from tests.sandbox_fixtures import RequestLog
from wizard.model.answers_file import parse_answers

FIXES = [
    "multi-region",
    "log-file-validation",
    "sse-kms",
    "access-logging",
    "s3-object-events",
    "cloudwatch-logs",
]


@pytest.fixture
def cli_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the environment at the fixture's sandbox; state under ``tmp_path``."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_fix_prints_each_fix_then_the_plan(
    cli_env: Path, capsys: pytest.CaptureFixture[str], server_log: RequestLog
) -> None:
    code, out, err = run(capsys, "status", "--fix", "legacy-trail")

    assert code == EXIT_OK, err
    fixes, _sep, plan = out.partition("\nAccount ")
    assert fixes.startswith(
        f"Fixes for legacy-trail (us-west-2): {len(FIXES)} changes to its answers."
    )
    assert [f"[{i}]" in fixes for i in FIXES] == [True] * len(FIXES)
    words = " ".join(fixes.split())  # as read, whatever the wrapping
    assert (
        "passes CloudTrail.4 / CIS 4.2 (v7.0) (Log file validation enabled), failed now: log "
        "file validation is off." in words
    )
    assert "--skip ID" in fixes
    # Then the plan, as `plan` prints it: the key, the log group, the trail's update.
    assert "Plan (" in plan and "kms:CreateKey in us-west-2" in plan
    assert "cloudtrail:UpdateTrail" in plan
    assert server_log.mutating() == []


def test_a_skipped_fix_is_left_out_of_the_plan(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "status", "--fix", "legacy-trail", "--skip", "sse-kms")

    assert code == EXIT_OK, err
    assert f"{len(FIXES) - 1} changes to its answers (the others left out with --skip)" in out
    assert "(left out)" in out
    assert "kms:CreateKey" not in out


def test_json_lists_the_fixes_and_carries_the_plan(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "status", "--fix", "legacy-trail", "--output", "json", "--skip", "cloudwatch-logs"
    )

    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert [f["id"] for f in doc["fixes"]] == FIXES
    assert [f["chosen"] for f in doc["fixes"]] == [f != "cloudwatch-logs" for f in FIXES]
    assert doc["fixes"][1]["edits"] == {"trail.log_file_validation": True}
    assert doc["manual"] == [] and doc["trail_arn"].endswith(":trail/legacy-trail")
    operations = [s["operation"] for s in doc["plan"]["steps"]]
    assert "CreateKey" in operations and "CreateLogGroup" not in operations


def test_save_writes_the_fixed_answers_and_keeps_an_existing_file(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "fixed.yaml"

    code, _out, err = run(capsys, "status", "--fix", "legacy-trail", "--save", str(target))

    assert code == EXIT_OK, err
    assert f"Wrote the answers with the fixes to {target}." in err
    text = target.read_text()
    assert "# Changed since: Record every region" in text
    fixed = parse_answers(text)
    assert fixed.trail.multi_region and fixed.trail.log_file_validation
    assert fixed.encryption.new_key and fixed.cloudwatch_logs.enabled

    code, _out, err = run(capsys, "status", "--fix", "legacy-trail", "--save", str(target))
    assert code == EXIT_INVALID and "exists already" in err and "--force" in err
    assert target.read_text() == text


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["status", "--fix"], "--fix needs the trail to fix"),
        (["status", "legacy-trail", "--skip", "sse-kms"], "--skip goes with --fix TRAIL"),
        (["status", "--fix", "legacy-trail", "--skip", "nope"], "has no fix by that id"),
        (["status", "--fix", "legacy-trial"], "Did you mean legacy-trail?"),
    ],
)
def test_bad_input_exits_2_with_what_to_do(
    cli_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    code, out, err = run(capsys, *argv)

    assert code == EXIT_INVALID
    assert words in err and "Traceback" not in err
    assert out == ""
