"""``adopt TRAIL``: an existing trail written as an answers file, in-process on the sandbox.

The command line is pointed at the fixture's sandbox with ``AWS_ENDPOINT_URL`` (as in
``test_plan_apply``); one test runs the real ``--sandbox`` path in a child process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from tests.sandbox_fixtures import ACCOUNT, RequestLog
from wizard.account.adopt import adopt_trail
from wizard.engine import Engine
from wizard.model.answers_file import parse_answers

ROOT = Path(__file__).resolve().parents[3]
LEGACY_ARN = f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/legacy-trail"


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


def test_adopt_prints_the_answers_with_where_they_came_from(
    cli_env: Path, capsys: pytest.CaptureFixture[str], engine: Engine, server_log: RequestLog
) -> None:
    code, out, err = run(capsys, "adopt", "legacy-trail")

    assert code == EXIT_OK, err
    header = [line for line in out.splitlines() if line.startswith("#")]
    assert header[0].startswith("# Answers for the existing trail legacy-trail, read by")
    assert LEGACY_ARN in " ".join(header)
    assert "home region us-west-2" in " ".join(header)
    # The file is an answers file: it parses to exactly what adopt reads.
    assert parse_answers(out) == adopt_trail(engine.caller, engine.ctx, "legacy-trail").answers
    assert "multi_region: false" in out and "log_file_validation: false" in out
    assert server_log.mutating() == []


def test_output_writes_the_file_and_says_so(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "legacy.yaml"

    code, out, err = run(capsys, "adopt", "legacy-trail", "--output", str(target))

    assert code == EXIT_OK, err
    assert out == ""
    assert f"Wrote the answers of trail legacy-trail to {target}." in err
    answers = parse_answers(target.read_text())
    assert answers.trail.name == "legacy-trail" and answers.trail.region == "us-west-2"


def test_an_existing_file_is_kept_unless_forced(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "legacy.yaml"
    target.write_text("# mine\n")

    code, _out, err = run(capsys, "adopt", "legacy-trail", "-o", str(target))

    assert code == EXIT_INVALID
    assert "exists already; nothing was written. Pass --force" in err
    assert target.read_text() == "# mine\n"

    code, _out, err = run(capsys, "adopt", "legacy-trail", "-o", str(target), "--force")

    assert code == EXIT_OK, err
    assert parse_answers(target.read_text()).trail.name == "legacy-trail"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_missing_directory_is_refused_before_reading(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, server_log: RequestLog
) -> None:
    code, _out, err = run(capsys, "adopt", "legacy-trail", "-o", str(tmp_path / "no" / "x.yaml"))

    assert code == EXIT_INVALID
    assert "the directory" in err and "does not exist" in err
    assert server_log.snapshot() == []


def test_an_unknown_trail_suggests_the_near_miss(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "adopt", "legacy-trial")

    assert code == EXIT_INVALID
    assert out == ""
    assert err.startswith("error: No trail named 'legacy-trial'")
    assert "Did you mean legacy-trail?" in err
    assert "Traceback" not in err


def test_an_explicit_region_that_is_not_the_trails_home_is_named(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "--region", "us-east-1", "adopt", "legacy-trail")

    assert code == EXIT_INVALID
    assert "lives in us-west-2, not in us-east-1" in err and "--region us-west-2" in err

    code, out, err = run(capsys, "adopt", "legacy-trail", "--region", "us-west-2")
    assert code == EXIT_OK, err
    assert parse_answers(out).trail.region == "us-west-2"


def test_a_refused_read_exits_1_naming_the_action(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.callers import FailOn
    from wizard.account import adopt

    real = adopt.adopt_trail

    def refusing(caller: Any, *args: Any, **kwargs: Any) -> Any:
        # GetEventSelectors refused, as IAM refuses it without cloudtrail:GetEventSelectors.
        denied = FailOn(caller, "GetEventSelectors", code="AccessDeniedException", status=400)
        return real(denied, *args, **kwargs)

    monkeypatch.setattr(adopt, "adopt_trail", refusing)

    code, out, err = run(capsys, "adopt", "legacy-trail")

    assert code == EXIT_FAILED
    assert out == ""
    assert "may not call cloudtrail:GetEventSelectors" in err
    assert "Nothing was written." in err


def test_the_real_sandbox_path(tmp_path: Path) -> None:
    """``--sandbox adopt``: the shared sandbox's legacy trail, said to be the sandbox's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        XDG_STATE_HOME=str(tmp_path / "state"),
        PYTHONPATH=str(ROOT),
    )
    done = subprocess.run(
        [sys.executable, "-m", "screens.cli", "--sandbox", "adopt", "legacy-trail"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert done.returncode == EXIT_OK, done.stderr[-2000:]
    assert "in the sandbox." in done.stdout.split("\n\n")[0].replace("\n# ", " ")
    assert parse_answers(done.stdout).bucket.name == f"demo-legacy-trail-logs-{ACCOUNT}"
    assert "Traceback" not in done.stderr


def test_the_adopted_file_plans_nothing_and_an_edit_plans_only_that(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, server_log: RequestLog
) -> None:
    target = tmp_path / "legacy.yaml"
    code, _out, err = run(capsys, "adopt", "legacy-trail", "-o", str(target))
    assert code == EXIT_OK, err

    code, out, err = run(capsys, "plan", str(target))

    assert code == EXIT_OK, err
    assert "Nothing to change" in out

    edited = target.read_text().replace("log_file_validation: false", "log_file_validation: true")
    target.write_text(edited)
    code, out, err = run(capsys, "plan", str(target), "--output", "json")

    assert code == EXIT_OK, err
    steps = json.loads(out)["steps"]
    assert [s["operation"] for s in steps] == ["UpdateTrail"]
    assert steps[0]["parameters"]["EnableLogFileValidation"] is True
    assert server_log.mutating() == []
