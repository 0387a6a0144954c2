"""The full-screen wizard as a person starts it: a real process in a pseudo-terminal.

Textual's test harness sets up the app itself, so these run ``python -m screens.cli`` the
way the console script does and read what reaches the terminal and the exit status.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.tui, pytest.mark.aws]

COLUMNS, LINES = 120, 40
CTRL_Q = b"\x11"
TIMEOUT = 60.0
"""Seconds any one thing may take (the sandbox starts in the wizard's process)."""

_ESCAPE = re.compile(rb"\x1b(?:\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_PALETTE_COLOUR = re.compile(rb"[34]8;5;(\d+)")
"""A foreground or background from the 256-colour palette (what xterm-256color gets)."""
GREYS = {0, 7, 8, 15, 16, 59, 102, 145, 188, 231, *range(232, 256)}
"""The palette's shades of grey: black and white, the colour cube's diagonal, the grey ramp."""


class Terminal:
    """A child process on a pseudo-terminal, and everything it wrote to it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: become the wizard
            os.execve(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.output = b""
        self.status: int | None = None

    @property
    def text(self) -> str:
        """What was written, without the escape sequences between the words."""
        return _ESCAPE.sub(b"", self.output).decode("utf-8", "replace")

    def _read(self, wait: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if ready:
            # OSError (EIO on Linux): the child closed the terminal.
            with contextlib.suppress(OSError):
                self.output += os.read(self.fd, 65536)
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)

    def wait_for(self, done: Callable[[], bool], what: str) -> None:
        """Read until ``done()`` holds; fail saying ``what`` was awaited and what was shown."""
        deadline = time.monotonic() + TIMEOUT
        while not done():
            if self.status is not None:  # it ended, and what it wrote is all read
                self._read(0.05)
                if not done():
                    pytest.fail(f"the process ended before {what}:\n{self.text[-3000:]}")
                return
            if time.monotonic() > deadline:
                pytest.fail(
                    f"waited {TIMEOUT:.0f}s for {what}; the terminal shows:\n{self.text[-3000:]}"
                )
            self._read(0.2)

    def wait_for_text(self, text: str) -> None:
        self.wait_for(lambda: text in self.text, repr(text))

    def send(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def exit_code(self) -> int:
        """Wait for the process to end, reading its last words; its exit code."""
        self.wait_for(lambda: self.status is not None, "the process to end")
        for _ in range(5):  # what it wrote just before ending
            self._read(0.05)
        assert self.status is not None
        return self.status

    def close(self) -> None:
        if self.status is None:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A terminal's environment with colour switched off, dummy credentials, state in tmp."""
    kept = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return {
        **kept,
        "TERM": "xterm-256color",
        "NO_COLOR": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
    }


def quit_wizard(terminal: Terminal) -> int:
    """Ctrl+Q, answering yes if the wizard asks; the exit code."""
    terminal.send(CTRL_Q)
    terminal.wait_for(
        lambda: terminal.status is not None or "Quit the wizard?" in terminal.text,
        "the wizard to quit or ask",
    )
    if terminal.status is None:
        terminal.send(b"y")
    return terminal.exit_code()


def test_no_color_shows_the_welcome_screen_in_grey_and_quits_with_0(env: dict[str, str]) -> None:
    terminal = Terminal([sys.executable, "-m", "screens.cli", "--sandbox"], env)
    try:
        terminal.wait_for_text("Trails that already exist")  # connected to the sandbox
        terminal.wait_for_text("legacy-trail")  # the seeded account's trails are listed
        colours = {int(index) for index in _PALETTE_COLOUR.findall(terminal.output)}
        assert colours, "the wizard drew no palette colours at all; this test reads them"
        assert colours <= GREYS, f"NO_COLOR is set, yet colours: {sorted(colours - GREYS)}"
        assert quit_wizard(terminal) == 0
    finally:
        terminal.close()
    assert "Traceback" not in terminal.text
    assert "InvalidThemeError" not in terminal.text


INJECTED = """
import sys
from screens.cli.main import run
from screens.tui.app import WizardApp

def broken(self):
    raise RuntimeError("injected failure")

WizardApp.action_quit_wizard = broken
sys.argv = ["cloudtrail-wizard", "--sandbox"]
run()
"""


def test_an_unexpected_exception_ends_with_1_and_says_where(env: dict[str, str]) -> None:
    terminal = Terminal([sys.executable, "-c", INJECTED], env)
    try:
        terminal.wait_for_text("Trails that already exist")
        terminal.send(CTRL_Q)  # the broken action
        code = terminal.exit_code()
    finally:
        terminal.close()
    assert code == 1, terminal.text[-2000:]
    shown = " ".join(terminal.text.split())
    assert (
        "error: the wizard stopped on an unexpected error on the welcome step "
        "(RuntimeError: injected failure)." in shown
    )
    state = Path(env["XDG_STATE_HOME"]) / "cloudtrail-wizard"
    report = state / "last-crash.txt"
    assert f"The details for a bug report are in {report}." in shown
    assert f"Journals of any changes are in {state / 'journal'};" in shown
    assert "in broken\nRuntimeError: injected failure" in report.read_text()
    # Textual's own traceback lists every local variable (credentials among them): not shown.
    assert "locals" not in terminal.text
