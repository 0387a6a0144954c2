"""Fixtures for driving the Textual wizard against the seeded sandbox over HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widget import Widget

from screens.common.backend import Backend
from screens.tui.app import WizardApp, make_app

PLACE_ROUNDS = 100
"""Turns of the event loop a click waits for its target to be laid out (see below)."""


@pytest.fixture(autouse=True)
def click_when_placed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``pilot.click`` waits until its target is on screen, as a person's click does.

    Pilot aims at the widget's region as it is at the call. A widget just shown (a screen
    just pushed, a button made visible as a step ends) is placed by the next layout: a click
    before it lands on whatever is at the screen's corner, nothing happens, and the test's
    next wait runs out, only when the machine is busy. Waits on the event loop, never on time.
    """
    original = Pilot.click

    async def click(self: Pilot[Any], widget: Any = None, *args: Any, **kwargs: Any) -> bool:
        target: Widget | None = None
        if isinstance(widget, Widget):
            target = widget
        elif widget is not None:
            with contextlib.suppress(NoMatches):  # the click itself says so, as before
                target = self.app.screen.query_one(widget)
        for _ in range(PLACE_ROUNDS):
            if target is None or target.region.area > 0:
                break
            await self.pause()
        return await original(self, widget, *args, **kwargs)

    monkeypatch.setattr(Pilot, "click", click)


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
