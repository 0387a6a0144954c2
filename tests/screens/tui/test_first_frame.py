"""The full-screen wizard's start-up: the garbage collector is off until the first frame
and back on after it, whatever happens (issue 16: the first frame within 1.2 times a bare
Textual app's; see bench/startup.py). What may load before the first frame is checked in a
fresh interpreter by tests/test_import_hygiene.py."""

from __future__ import annotations

import gc
import io
from typing import Any

import pytest

from screens.cli.main import main
from screens.tui.app import WizardApp
from tests.screens.tui.test_steps import SIZE, connected


class Terminal(io.StringIO):
    """Standard output and input as a terminal has them (the full-screen wizard runs)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def collector_restored() -> Any:
    """Leave the collector on after the test, whatever it did."""
    yield
    gc.enable()


@pytest.mark.tui
@pytest.mark.aws
async def test_the_collector_is_back_on_once_the_first_frame_is_drawn(
    app_factory: Any, collector_restored: None
) -> None:
    gc.disable()  # as the command line starts the wizard
    app = app_factory(show_help=True)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)  # connecting starts after the first frame, and so does this
        assert gc.isenabled()


@pytest.mark.parametrize("ending", ["quit", "crash before the first frame"])
def test_the_command_line_runs_the_wizard_without_the_collector_and_turns_it_back_on(
    ending: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, collector_restored: None
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setattr("sys.stdout", Terminal())
    monkeypatch.setattr("sys.stdin", Terminal())
    seen: list[bool] = []

    def run(app: WizardApp) -> int:
        seen.append(gc.isenabled())
        if ending != "quit":
            raise RuntimeError("the terminal went away")
        return 0

    monkeypatch.setattr(WizardApp, "run", run)
    if ending == "quit":
        assert main([]) == 0
    else:
        with pytest.raises(RuntimeError, match="terminal went away"):
            main([])
    assert seen == [False]  # loading Textual and the first screen: no collections
    assert gc.isenabled()
