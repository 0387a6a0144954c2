"""The full-screen wizard's start-up: the footer's keys come with the first frame and are
rebuilt only when they change; the garbage collector is off until the first frame and back
on after it, whatever happens (issue 16: the first frame within 1.2 times a bare Textual
app's; see bench/startup.py). What may load before the first frame is checked in a fresh
interpreter by tests/test_import_hygiene.py."""

from __future__ import annotations

import gc
import io
import threading
from typing import Any

import pytest
from textual.widgets._footer import FooterKey

from screens.cli.main import main
from screens.common.backend import AccountInfo, Backend
from screens.tui.app import WizardApp, make_app
from screens.tui.widgets.footer import StepFooter
from tests.screens.tui.test_steps import SIZE, connected, until


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


def footer_keys(footer: StepFooter) -> list[tuple[str, bool]]:
    """The footer's keys: each one's action and whether it is disabled."""
    return [(str(key.action).rsplit(".", 1)[-1], key.disabled) for key in footer.query(FooterKey)]


@pytest.mark.tui
@pytest.mark.aws
async def test_the_footer_has_its_keys_at_once_and_rebuilds_them_only_when_they_change(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuilds: list[tuple[list[tuple[str, bool]], list[tuple[str, bool]]]] = []
    recompose = StepFooter.recompose

    async def noted(footer: StepFooter) -> None:
        before = footer_keys(footer)
        await recompose(footer)
        rebuilds.append((before, footer_keys(footer)))

    monkeypatch.setattr(StepFooter, "recompose", noted)
    gate = threading.Event()
    backend = Backend(sandbox=True, endpoint=sandbox.endpoint_url)
    connect = backend.connect

    def held() -> AccountInfo:
        """Connecting waits for the test: the screen stays as it starts meanwhile."""
        assert gate.wait(30)
        return connect()

    backend.connect = held  # type: ignore[method-assign]
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        footer = app.screen.query_one(StepFooter)
        # Connecting starts after the first frame, and its Esc key needs a rebuild.
        await until(pilot, lambda: bool(rebuilds), "the footer's first rebuild")
        first, with_escape = rebuilds[0]
        # The keys were there before it: built with the screen, in its first frame.
        assert {"quit_wizard", "toggle_help", "next", "command_palette"} <= {a for a, _ in first}
        assert [key for key in with_escape if key[0] != "cancel_lookup"] == first

        gate.set()
        await connected(pilot)
        await until(pilot, lambda: ("status", False) in footer_keys(footer), "Trail health")
        # Every rebuild changed the keys; the signals that changed nothing rebuilt nothing.
        assert all(before != after for before, after in rebuilds)
