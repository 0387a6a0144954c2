"""Settings and tools shared by every test directory.

- One Hypothesis profile for the whole suite: no per-example deadline. A property test
  that takes 250 ms on a loaded two-core machine is not a failure, and a deadline that
  trips only under load makes the suite flaky.
- The AWS CLI the tests run (:func:`find_aws_cli`, the ``aws_cli`` fixture). ``make test``
  installs it in ``.venv-awscli`` and passes its path in ``AWS_CLI``; a developer running
  pytest by hand may rely on an ``aws`` on PATH instead. A missing or broken CLI fails the
  tests that need it (it does not skip them), so a run without it cannot look green.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import settings

HYPOTHESIS_PROFILE = "cloudtrail-wizard"
settings.register_profile(HYPOTHESIS_PROFILE, deadline=None)
# Loaded here, before any test module is imported, so that module-level ``settings(...)``
# objects inherit it too.
settings.load_profile(HYPOTHESIS_PROFILE)

AWS_CLI_VARIABLE = "AWS_CLI"
"""The environment variable ``make test`` sets to the AWS CLI it installed."""
MAKE_AWS_CLI = "make .venv-awscli/bin/aws"
"""The command that installs the AWS CLI the way ``make test`` does."""
_HOW_TO_INSTALL = (
    f"Run `{MAKE_AWS_CLI}` and set {AWS_CLI_VARIABLE}=$PWD/.venv-awscli/bin/aws "
    "(`make test` does both)."
)


def find_aws_cli(environ: Mapping[str, str] | None = None) -> Path:
    """The AWS CLI executable the tests run.

    ``$AWS_CLI`` when it is set (an explicit choice: a wrong path is an error, never a
    reason to fall back on another CLI), otherwise ``aws`` on ``$PATH``.

    Args:
        environ: The environment to read ``AWS_CLI`` and ``PATH`` from; defaults to
            ``os.environ``.

    Returns:
        The absolute path of the executable.

    Raises:
        pytest.fail.Exception: No usable AWS CLI, with a message that says how to get one.
    """
    env = os.environ if environ is None else environ
    configured = env.get(AWS_CLI_VARIABLE)
    if configured:
        path = Path(configured).absolute()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        pytest.fail(
            f"{AWS_CLI_VARIABLE}={configured} is not an executable file, so the tests that "
            f"run the AWS CLI cannot run. {_HOW_TO_INSTALL} Or unset {AWS_CLI_VARIABLE} to "
            "use the `aws` on PATH.",
            pytrace=False,
        )
    found = shutil.which("aws", path=env.get("PATH", os.defpath))
    if found is None:
        pytest.fail(
            f"The AWS CLI is missing: {AWS_CLI_VARIABLE} is not set and there is no `aws` on "
            f"PATH, so the tests that run it cannot run. {_HOW_TO_INSTALL}",
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
