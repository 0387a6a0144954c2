"""Every command with a session that cannot work: a clear message, exit 2, no traceback.

The sessions: no credentials at all (no keys in the environment, empty AWS config files,
no instance metadata), a profile that does not exist (``--profile nope`` and
``AWS_PROFILE=nope``), a region that does not exist (``--region mars-1``) and an endpoint
nothing listens on (``AWS_ENDPOINT_URL=http://127.0.0.1:9``). The commands: ``plan``,
``apply``, ``apply --dry-run`` and the interactive entry (no command) with standard output
and input that are not terminals, as under cron or CI.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_INVALID

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = str(ROOT / "examples" / "new-bucket-sse-s3.yaml")

FAKE_KEYS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE",
    "AWS_SECRET_ACCESS_KEY": "fakeFAKEfake0123456789/+fakeFAKEfake0123",
}

# scenario -> (environment to add, global options, what the message must say)
SCENARIOS: dict[str, tuple[dict[str, str], list[str], list[str]]] = {
    "no-credentials": ({"AWS_REGION": "us-east-1"}, [], ["No AWS credentials found"]),
    "unknown-profile": (
        {**FAKE_KEYS, "AWS_REGION": "us-east-1"},
        ["--profile", "nope"],
        ["The AWS profile 'nope' does not exist"],
    ),
    "unknown-profile-from-env": (
        {**FAKE_KEYS, "AWS_REGION": "us-east-1", "AWS_PROFILE": "nope"},
        [],
        ["The AWS profile 'nope'", "AWS_PROFILE"],
    ),
    "unknown-region": (
        {**FAKE_KEYS},
        ["--region", "mars-1"],
        ["'mars-1' is not an AWS region"],
    ),
    "unreachable-endpoint": (
        {**FAKE_KEYS, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
        [],
        ["Cannot reach AWS", "http://127.0.0.1:9"],
    ),
}

COMMANDS: dict[str, list[str]] = {
    "plan": ["plan", ANSWERS],
    "apply": ["apply", ANSWERS],
    "apply-yes": ["apply", "--yes", ANSWERS],
    "apply-dry-run": ["apply", "--dry-run", ANSWERS],
    "apply-dry-run-json": ["apply", "--dry-run", "--output", "json", ANSWERS],
}


@pytest.fixture
def state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS settings but the test's own: empty config files, no metadata, private HOME."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    # Not terminals, as under cron or CI (pytest's own stdin may not say so).
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return state


def _use(monkeypatch: pytest.MonkeyPatch, scenario: str) -> tuple[list[str], list[str]]:
    env, options, expected = SCENARIOS[scenario]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return options, expected


def _assert_clean_failure(err: str, out: str, state: Path) -> None:
    assert "Traceback" not in err and "Traceback" not in out
    assert not state.exists() or not any(state.rglob("*.json")), "a journal was written"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_commands(
    scenario: str,
    command: str,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """plan / apply / apply --dry-run: exit 2 with the session problem on stderr."""
    options, expected = _use(monkeypatch, scenario)
    code = main([*options, *COMMANDS[command]])
    out, err = capsys.readouterr()
    assert code == EXIT_INVALID, (code, err)
    assert err.startswith("error: "), err
    for fragment in expected:
        assert fragment in err, err
    assert out == ""
    _assert_clean_failure(err, out, state_dir)


@pytest.mark.parametrize("answers", [False, True], ids=["bare", "with-answers"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_interactive_without_terminal(
    scenario: str,
    answers: bool,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No command, stdout and stdin not terminals: exit 2, told to use plan/apply."""
    options, _expected = _use(monkeypatch, scenario)
    code = main([*options, *(["--answers", ANSWERS] if answers else [])])
    out, err = capsys.readouterr()
    assert code == EXIT_INVALID, (code, err)
    assert "error: " in err and "not a terminal" in err, err
    assert "cloudtrail-wizard plan ANSWERS" in err
    _assert_clean_failure(err, out, state_dir)
