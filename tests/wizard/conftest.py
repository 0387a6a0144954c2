"""Every test here runs with dummy credentials and its own state directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated(aws_env: None) -> None:
    """No profile, config file or instance metadata; journals in a temporary directory."""
