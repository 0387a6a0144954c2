"""Fixtures for driving the Textual wizard against the seeded sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from screens.common.backend import Backend
from screens.tui.app import WizardApp, make_app


@pytest.fixture(scope="session")
def tui_sandbox() -> Iterator[Any]:
    """One seeded emulator per test session (per xdist worker)."""
    from wizard.sandbox.server import start_sandbox

    sandbox = start_sandbox()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(tui_sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    """The session's sandbox, reset and re-seeded; dummy credentials; journals in tmp."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    tui_sandbox.reset(seed=True)
    return tui_sandbox


@pytest.fixture
def app_factory(sandbox: Any, tmp_path: Any) -> Any:
    """Build a WizardApp connected to the sandbox (``answers=`` pre-fills it)."""

    def build(answers: Any = None, show_help: bool = False) -> WizardApp:
        backend = Backend(sandbox=True, endpoint=sandbox.endpoint_url)
        return make_app(
            backend,
            answers=answers,
            answers_path=tmp_path / "saved.answers.yaml",
            show_help=show_help,
        )

    return build
