"""Consecutive ``--sandbox`` commands, each a process of its own, share one demo account.

The commands run as a person runs them, in child processes with a state directory of their
own; the sandbox the first one starts keeps running between them (the fixtures of
``tests/sandbox_fixtures.py`` stop it when the test ends).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_INVALID, EXIT_OK
from wizard.sandbox.server import DEMO_TRAIL
from wizard.sandbox.shared import daemon_pid, find_sandbox

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = str(ROOT / "examples" / "new-bucket-sse-s3.yaml")
TRAIL = "acme-audit"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The commands' state directory (XDG_STATE_HOME)."""
    return tmp_path / "state"


def cli(state: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``cloudtrail-wizard ARGV`` in a child process with dummy credentials and ``state``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDTRAIL_"))}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        XDG_STATE_HOME=str(state),
        PYTHONPATH=str(ROOT),
    )
    done = subprocess.run(
        [sys.executable, "-m", "screens.cli", *argv],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_sandbox_commands_share_one_account_until_reset(state: Path) -> None:
    home = state / "cloudtrail-wizard" / "sandbox"
    applied = cli(state, "--sandbox", "apply", EXAMPLE, "--yes")
    assert applied.returncode == EXIT_OK, applied.stderr[-2000:]
    assert "Started the sandbox at http://127.0.0.1:" in applied.stderr

    status = cli(state, "--sandbox", "status", TRAIL)
    assert status.returncode == EXIT_OK, status.stderr
    assert f"{TRAIL} (us-east-1)" in status.stdout
    assert "Started the sandbox" not in status.stderr  # found running, not started again

    # Log files and a digest now, in the running sandbox; then it stops and starts again
    # from its saved state, and delivers once more: the digests signed before the restart
    # and after it form one chain that validate accepts.
    first = find_sandbox(home)
    assert first is not None
    assert first.deliver_now().digest_files
    stopped = cli(state, "sandbox", "stop")
    assert "Stopped the shared sandbox" in stopped.stdout
    assert find_sandbox(home) is None
    started = cli(state, "sandbox", "start")
    assert "continues from its saved state" in started.stdout
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{first.record.port}" in started.stdout
    again = find_sandbox(home)
    assert again is not None and again.record.pid != first.record.pid
    delivered = cli(state, "sandbox", "deliver")  # as a trainer would, instead of waiting
    assert delivered.returncode == EXIT_OK, delivered.stderr
    assert f"in the sandbox at {again.endpoint_url}" in delivered.stdout
    assert "/CloudTrail-Digest/us-east-1/" in delivered.stdout

    logs = cli(state, "--sandbox", "logs", TRAIL)
    assert logs.returncode == EXIT_OK, logs.stderr
    assert "/CloudTrail/us-east-1/" in logs.stdout
    validated = cli(state, "--sandbox", "validate", TRAIL)
    assert validated.returncode == EXIT_OK, validated.stdout + validated.stderr

    shown = cli(state, "sandbox", "status")
    assert f"The shared sandbox is running at {again.endpoint_url}." in shown.stdout
    assert f"It lives in {home}." in shown.stdout

    reset = cli(state, "sandbox", "reset")
    assert "back to the freshly seeded demo account" in reset.stdout
    gone = cli(state, "--sandbox", "status", TRAIL)
    assert gone.returncode == EXIT_INVALID
    assert f"No trail named '{TRAIL}'" in gone.stderr
    assert f"(trails: {DEMO_TRAIL})" in gone.stderr  # the demo account's own trail is back


def test_looking_at_a_sandbox_that_never_started_starts_none(
    state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    home = state / "cloudtrail-wizard" / "sandbox"
    assert main(["sandbox", "status"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "The shared sandbox is not running." in out
    assert f"It lives in {home}." in out
    assert main(["sandbox", "stop"]) == EXIT_OK
    assert "is not running" in capsys.readouterr().out
    assert main(["sandbox", "reset"]) == EXIT_OK
    assert "has nothing saved" in capsys.readouterr().out
    assert daemon_pid(home) is None and not (home / "sandbox.json").exists()


def test_the_throwaway_sandboxs_options_are_refused_with_an_action(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sandbox", "--port", "4566", "start"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "--port applies only to the throwaway sandbox" in err
    assert "not to `sandbox start`" in err
