"""The suite-wide settings and tools in tests/conftest.py: a missing tool fails, never skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests.conftest import HYPOTHESIS_PROFILE, MAKE_AWS_CLI, find_aws_cli


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_aws_cli_comes_from_the_variable_first(tmp_path: Path) -> None:
    chosen = _executable(tmp_path / "chosen" / "aws")
    installed = _executable(tmp_path / "venv" / "bin" / "aws")
    on_path = _executable(tmp_path / "elsewhere" / "aws")
    environ = {"AWS_CLI": str(chosen), "PATH": str(on_path.parent)}
    assert find_aws_cli(environ, installed) == chosen


def test_aws_cli_then_the_one_make_installed(tmp_path: Path) -> None:
    installed = _executable(tmp_path / "venv" / "bin" / "aws")
    on_path = _executable(tmp_path / "elsewhere" / "aws")
    assert find_aws_cli({"PATH": str(on_path.parent)}, installed) == installed


def test_aws_cli_then_the_one_on_path(tmp_path: Path) -> None:
    on_path = _executable(tmp_path / "bin" / "aws")
    not_installed = tmp_path / "venv" / "bin" / "aws"
    assert find_aws_cli({"PATH": str(on_path.parent)}, not_installed) == on_path


def test_a_wrong_aws_cli_variable_fails_and_does_not_fall_back(tmp_path: Path) -> None:
    installed = _executable(tmp_path / "venv" / "bin" / "aws")
    on_path = _executable(tmp_path / "bin" / "aws")
    missing = tmp_path / "no-venv" / "bin" / "aws"
    with pytest.raises(pytest.fail.Exception) as failure:  # a failure, not a skip
        find_aws_cli({"AWS_CLI": str(missing), "PATH": str(on_path.parent)}, installed)
    message = str(failure.value)
    assert f"AWS_CLI={missing} is not an executable file" in message
    assert MAKE_AWS_CLI in message


def test_a_non_executable_aws_cli_fails(tmp_path: Path) -> None:
    plain = tmp_path / "aws"
    plain.write_text("not a program\n")
    with pytest.raises(pytest.fail.Exception) as failure:
        find_aws_cli({"AWS_CLI": str(plain), "PATH": os.defpath}, tmp_path / "none")
    assert "is not an executable file" in str(failure.value)


def test_no_aws_cli_anywhere_fails_with_how_to_install(tmp_path: Path) -> None:
    not_installed = tmp_path / "venv" / "bin" / "aws"
    with pytest.raises(pytest.fail.Exception) as failure:
        find_aws_cli({"PATH": str(tmp_path)}, not_installed)
    message = str(failure.value)
    assert "The AWS CLI is missing" in message
    assert f"{not_installed} does not exist" in message
    assert MAKE_AWS_CLI in message


def test_property_tests_have_no_deadline() -> None:
    # Every @given test inherits the suite's profile unless it says otherwise.
    assert settings.get_profile(HYPOTHESIS_PROFILE).deadline is None
    assert settings.default is not None
    assert settings.default.deadline is None
