"""Start-up: the welcome screen is complete and usable while the connection (and the
sandbox) is still starting, and quitting during that start leaves the shared sandbox running
for the next command."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from screens.common.backend import AccountInfo, Backend
from screens.tui.app import make_app
from screens.tui.steps.welcome import WelcomeScreen
from tests.screens.tui.test_steps import SIZE, connected, text


@pytest.mark.tui
@pytest.mark.aws
async def test_welcome_is_usable_while_the_sandbox_starts(sandbox: Any) -> None:
    gate = threading.Event()
    backend = Backend(sandbox=True)
    connect = backend.connect

    def slow_start() -> AccountInfo:
        """A sandbox that takes until the test says so to start."""
        assert gate.wait(30)
        backend.endpoint = sandbox.endpoint_url  # the shared emulator stands in for a new one
        return connect()

    backend.connect = slow_start  # type: ignore[method-assign]
    app = make_app(backend)  # sandbox mode shows the help
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        assert text(app, "#connecting-label").startswith(
            "Starting the sandbox (a local AWS emulator)… (Esc cancels)"
        )
        assert "SANDBOX" in text(app, "#sandbox-banner")
        help_panel = app.screen.query_one("#help-panel")
        assert help_panel.display is True
        assert "CloudTrail records the API calls" in text(app, "#help-panel HelpParagraph")
        await pilot.press("f1")  # the screen answers keys while the sandbox starts
        assert help_panel.display is False
        await pilot.press("ctrl+n")  # refused: not connected yet
        assert app.current_step == "welcome"
        assert app.state.account is None

        gate.set()
        await connected(pilot)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert app.state.account is not None and app.state.account.sandbox
        assert app.screen.query_one("#connecting").display is False
        assert "legacy-trail" in text(app, "#trails")


def test_quitting_while_the_sandbox_starts_leaves_it_for_the_next_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = Backend(sandbox=True)
    stopped: list[str] = []

    class Shared:
        """The shared sandbox, as ensure_sandbox returns it once started."""

        endpoint_url = "http://127.0.0.1:9"

        def stop(self) -> None:
            stopped.append(self.endpoint_url)

    def ensure_sandbox() -> Shared:
        backend.close()  # the wizard quits (and closes the backend) during the start
        return Shared()

    monkeypatch.setattr("wizard.sandbox.shared.ensure_sandbox", ensure_sandbox)
    with pytest.raises(RuntimeError, match="quit"):
        backend.connect()
    # It is shared: the next --sandbox command finds it running, with what was done in it.
    assert stopped == []
    assert backend.info is None
