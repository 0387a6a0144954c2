"""What the command line says on the real ``--sandbox`` path, in a child process.

``--sandbox`` starts the embedded emulator inside the command, the way a person runs it (the
in-process tests point the command line at the fixture's emulator instead, which is not "the
sandbox" to the wizard). The sandbox has no IAM policy simulator: the plan must say so in
words, never with the name of the exception the emulator's answer raised.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = str(ROOT / "examples" / "new-bucket-sse-s3.yaml")

pytestmark = [pytest.mark.aws]


def child_env(tmp: Path) -> dict[str, str]:
    """No AWS settings of the machine; a state directory of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        XDG_STATE_HOME=str(tmp / "state"),
        PYTHONPATH=str(ROOT),
    )
    return env


def test_sandbox_plan_says_in_words_that_permissions_cannot_be_checked(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "screens.cli", "--sandbox", "plan", EXAMPLE],
        cwd=tmp_path,
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert shown.returncode == 0, shown.stderr[-2000:]
    lines = [line for line in shown.stdout.splitlines() if "operator-permissions" in line]
    assert len(lines) == 1, shown.stdout
    note = lines[0]
    assert note.lstrip().startswith("info")
    assert "The sandbox cannot check the operator's permissions" in note
    assert "On AWS the wizard checks them before planning" in note
    for raw in ("ResponseParserError", "Unable to parse response", "invalid XML"):
        assert raw not in shown.stdout + shown.stderr
