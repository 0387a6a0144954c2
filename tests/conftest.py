"""Settings and tools shared by every test directory.

- One Hypothesis profile for the whole suite: no per-example deadline. A property test
  that takes 250 ms on a loaded two-core machine is not a failure, and a deadline that
  trips only under load makes the suite flaky.
- The AWS CLI the tests run (:func:`find_aws_cli`, the ``aws_cli`` fixture). ``make test``
  installs it in ``.venv-awscli`` and passes its path in ``AWS_CLI``; a developer running
  pytest by hand gets that same CLI if it was installed, else the ``aws`` on PATH. A missing
  or broken CLI fails the tests that need it (it does not skip them), so a run without it
  cannot look green.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ["tests.sandbox_fixtures"]
"""The seeded sandbox, the dummy-credentials environment and the clients that read the
emulator's state back: one set of fixtures for every folder."""

HYPOTHESIS_PROFILE = "cloudtrail-wizard"
settings.register_profile(HYPOTHESIS_PROFILE, deadline=None)
# Loaded here, before any test module is imported, so that module-level ``settings(...)``
# objects inherit it too.
settings.load_profile(HYPOTHESIS_PROFILE)

ROOT = Path(__file__).resolve().parents[1]
AWS_CLI_VARIABLE = "AWS_CLI"
"""The environment variable ``make test`` sets to the AWS CLI it installed."""
MAKE_AWS_CLI = "make .venv-awscli/bin/aws"
"""The command that installs the AWS CLI the way ``make test`` does."""
MAKE_AWS_CLI_PATH = ROOT / ".venv-awscli" / "bin" / "aws"
"""Where that command installs it."""
_HOW_TO_INSTALL = (
    f"Run `{MAKE_AWS_CLI}` to install it where the tests look (`make test` does, and passes "
    f"its path in {AWS_CLI_VARIABLE})."
)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_aws_cli(
    environ: Mapping[str, str] | None = None, installed: Path = MAKE_AWS_CLI_PATH
) -> Path:
    """The AWS CLI executable the tests run.

    ``$AWS_CLI`` when it is set (an explicit choice: a wrong path is an error, never a
    reason to fall back on another CLI), otherwise the one ``make`` installed in this
    checkout, otherwise ``aws`` on ``$PATH``.

    Args:
        environ: The environment to read ``AWS_CLI`` and ``PATH`` from; defaults to
            ``os.environ``.
        installed: Where ``make`` installs the CLI in this checkout.

    Returns:
        The absolute path of the executable.

    Raises:
        pytest.fail.Exception: No usable AWS CLI, with a message that says how to get one.
    """
    env = os.environ if environ is None else environ
    configured = env.get(AWS_CLI_VARIABLE)
    if configured:
        path = Path(configured).absolute()
        if _is_executable(path):
            return path
        pytest.fail(
            f"{AWS_CLI_VARIABLE}={configured} is not an executable file, so the tests that "
            f"run the AWS CLI cannot run. Point {AWS_CLI_VARIABLE} at an AWS CLI, or unset it "
            f"to use {installed} or the `aws` on PATH. {_HOW_TO_INSTALL}",
            pytrace=False,
        )
    if _is_executable(installed):
        return installed.absolute()
    found = shutil.which("aws", path=env.get("PATH", os.defpath))
    if found is None:
        pytest.fail(
            f"The AWS CLI is missing: {AWS_CLI_VARIABLE} is not set, {installed} does not "
            f"exist and there is no `aws` on PATH, so the tests that run it cannot run. "
            f"{_HOW_TO_INSTALL}",
            pytrace=False,
        )
    return Path(found).absolute()


@pytest.fixture(scope="session")
def aws_cli() -> Path:
    """The AWS CLI (see :func:`find_aws_cli`), checked once to start.

    A CLI that is found but does not run (a version-manager shim with no CLI behind it, a
    venv whose Python was removed) fails here with its own words, rather than as an
    unexplained assertion in the test that used it.
    """
    path = find_aws_cli()
    run = subprocess.run(
        [str(path), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if run.returncode != 0:
        said = (run.stderr or run.stdout).strip()[-2000:]
        pytest.fail(
            f"{path} --version exited with status {run.returncode}: {said}\n{_HOW_TO_INSTALL}",
            pytrace=False,
        )
    return path
