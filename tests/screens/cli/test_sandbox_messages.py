"""What the command line says on the real ``--sandbox`` path, in a child process.

``--sandbox`` starts the embedded emulator inside the command, the way a person runs it (the
in-process tests point the command line at the fixture's emulator instead, which is not "the
sandbox" to the wizard). The sandbox answers IAM's policy simulator, so the plan checks the
operator's permissions there, and never shows the name of an exception.
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


def test_sandbox_plan_checks_the_permissions_with_the_sandboxs_simulator(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "screens.cli", "--sandbox", "plan", EXAMPLE],
        cwd=tmp_path,
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert shown.returncode == 0, shown.stderr[-2000:]
    # The sandbox answers IAM's policy simulator, and its administrator may do everything:
    # no note that the permissions were not checked, no error either.
    assert "operator-permissions" not in shown.stdout
    for raw in ("ResponseParserError", "Unable to parse response", "invalid XML"):
        assert raw not in shown.stdout + shown.stderr
