"""Fixtures for the browser tests: `cloudtrail-wizard serve` and Debian's headless Chromium.

The page draws the terminal with xterm.js on a canvas, so there is no text in the DOM to
read. A script installed before the page's own (:data:`CATCH_TERMINAL`) keeps a handle on
the xterm ``Terminal`` the page creates; :meth:`Page.text` reads its screen buffer, which
holds exactly the characters drawn.

A missing Chromium fails the tests (it does not skip them): run ``make browser-deps``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1280, 800)
STARTUP_SECONDS = 60.0
"""Upper bound for the server to print its address (never reached when healthy)."""
SCREEN_SECONDS = 60.0
"""Upper bound for text to appear on the page (never reached when healthy)."""
SERVER_SECRETS = {
    "DATABASE_PASSWORD": "server-side-secret-password",
    "GITHUB_TOKEN": "server-side-secret-token",
}
"""Secret-looking variables in the server's environment: no wizard process may see them."""

CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, 'terminal', {
  configurable: true,
  set(value) {
    Object.defineProperty(this, 'terminal', {
      value, writable: true, configurable: true, enumerable: true,
    });
    if (value && value.buffer && value.buffer.active && !window.__wizardTerminal) {
      window.__wizardTerminal = value;
    }
  },
});
"""
"""Runs before the page's scripts: the first ``x.terminal = <xterm Terminal>`` assignment (in
textual-serve's page code) lands here, and the terminal is kept as ``window.__wizardTerminal``.
"""

READ_SCREEN = """
const t = window.__wizardTerminal;
if (!t) { return null; }
const buffer = t.buffer.active;
const lines = [];
for (let y = 0; y < t.rows; y++) {
  const line = buffer.getLine(buffer.viewportY + y);
  lines.push(line ? line.translateToString(true) : '');
}
return lines.join('\\n');
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives the served wizard in a real headless Chromium"
    )


def require_chromium() -> None:
    """Fail (not skip) when Debian's chromium or chromedriver is missing."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: the browser tests need Debian's chromium and "
            "chromium-driver. Run `make browser-deps` (it installs them with apt-get).",
            pytrace=False,
        )


def wait_for(condition: Callable[[], Any], what: str, timeout: float = SCREEN_SECONDS) -> Any:
    """Poll ``condition`` until it returns something truthy; fail saying ``what`` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


# ------------------------------------------------------------------------------ the server


@dataclass
class Served:
    """A running `cloudtrail-wizard serve` and everything it printed."""

    process: subprocess.Popen[str]
    cwd: Path
    url: str = ""
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_output(
        self, pattern: str, what: str, timeout: float = SCREEN_SECONDS
    ) -> re.Match[str]:
        """Wait until the server has printed a line matching ``pattern`` (a regular
        expression); the server writes its log from another process, so it is never read
        right after the request that causes it, only waited for."""
        found: re.Match[str] = wait_for(
            lambda: re.search(pattern, self.output(), re.MULTILINE),
            f"{what} in the server's log",
            timeout,
        )
        return found

    def session_from(self, local_port: int) -> tuple[int, int]:
        """``(number, pid)`` of the session the server started for a connection from
        ``local_port`` (on 127.0.0.1), once it has said so."""
        found = self.wait_output(
            rf"^session (\d+) started \(pid (\d+);[^)]* from 127\.0\.0\.1:{local_port}[;)]",
            f"a session for the connection from port {local_port}",
        )
        return int(found.group(1)), int(found.group(2))

    def session_pids(self) -> list[int]:
        """Wizard processes the server reported starting, in order."""
        return [int(pid) for pid in re.findall(r"session \d+ started \(pid (\d+)", self.output())]

    def running_pids(self) -> set[int]:
        """Wizard processes started and not yet reported ended."""
        output = self.output()
        started = dict(re.findall(r"session (\d+) started \(pid (\d+)", output))
        for number in re.findall(r"session (\d+) ended", output):
            started.pop(number, None)
        return {int(pid) for pid in started.values()}

    def stop(self, timeout: float = 30.0) -> int:
        """Ctrl-C (SIGINT to the server only) and wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError(f"serve did not stop on Ctrl-C:\n{self.output()}") from None
        if self.reader is not None:
            self.reader.join(timeout)  # its last lines may still be in the pipe
        return code


def serve_environment(tmp: Path) -> dict[str, str]:
    """An isolated environment: fake credentials (to show they do not reach the sandbox
    sessions), state and working files in ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIASERVERFAKEKEY000",
        AWS_SECRET_ACCESS_KEY="server-side-fake-secret",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        XDG_STATE_HOME=str(tmp / "state"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **SERVER_SECRETS,
    )
    return env


@contextlib.contextmanager
def start_serve(tmp: Path, *options: str) -> Iterator[Served]:
    """Run `cloudtrail-wizard serve --port 0 OPTIONS` until its address is printed."""
    tmp.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "screens.cli", "serve", "--port", "0", *options],
        cwd=tmp,
        env=serve_environment(tmp),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the teardown can end everything
    )
    served = Served(process, cwd=tmp)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with served._lock:
                served.lines.append(line.rstrip("\n"))

    reader = served.reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:

        def address() -> str | None:
            if process.poll() is not None:
                raise AssertionError(f"serve exited ({process.returncode}):\n{served.output()}")
            found = re.search(r"^Open (http://\S+)", served.output(), re.MULTILINE)
            return found.group(1) if found else None

        served.url = wait_for(address, "serve to print its address", STARTUP_SECONDS)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        reader.join(timeout=5)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One `serve --sandbox` for the whole module."""
    with start_serve(tmp_path_factory.mktemp("serve"), "--sandbox") as server:
        yield server


# ------------------------------------------------------------------------------ a raw session


class RawSession:
    """A websocket to the server, as the page opens it but without a browser: it starts a
    wizard in a few milliseconds, or hears the server's refusal.

    A wizard paints its screen in pieces (only the cells that change), so what it shows is
    read in a browser (:class:`Page`); the server's own messages come in one piece.
    """

    def __init__(self, served: Served, cookie: str | None = None) -> None:
        """Connect; ``cookie`` is the ``Cookie`` header a browser would send (``name=value``)."""
        import websocket  # websocket-client, which selenium uses

        self._socket = websocket.create_connection(
            f"ws://127.0.0.1:{served.port}/ws?width=120&height=40",
            timeout=SCREEN_SECONDS,
            enable_multithread=True,
            cookie=cookie,
        )
        sock = self._socket.sock
        assert sock is not None
        self.local_port: int = sock.getsockname()[1]
        self._socket.settimeout(None)  # a quiet wizard is not a closed connection
        self.received = bytearray()
        self.close_code: int | None = None
        self.close_reason = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        import websocket

        while True:
            try:
                opcode, data = self._socket.recv_data(control_frame=True)
            except (websocket.WebSocketException, OSError):
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                if len(data) >= 2:
                    self.close_code = int.from_bytes(data[:2], "big")
                    self.close_reason = bytes(data[2:])
                return
            if opcode == websocket.ABNF.OPCODE_BINARY:
                self.received += data

    def heard(self, text: str) -> bool:
        """Whether the server has sent ``text`` (one of its own messages) so far."""
        return text.encode() in bytes(self.received)

    def closed(self) -> bool:
        """Whether the server has closed the connection."""
        return not self._reader.is_alive()

    def close(self) -> None:
        """Hang up as a browser closing its tab does (a close frame), and wait for the reply."""
        with contextlib.suppress(Exception):
            self._socket.send_close()
        self._reader.join(SCREEN_SECONDS)
        cast(Any, self._socket).shutdown()


# ------------------------------------------------------------------------------ the browser


class Page:
    """One browser tab showing the served wizard."""

    def __init__(self, driver: Any, handle: str) -> None:
        self.driver = driver
        self.handle = handle

    def _here(self) -> None:
        if self.driver.current_window_handle != self.handle:
            self.driver.switch_to.window(self.handle)

    def open(self, url: str) -> Page:
        self._here()
        self.driver.get(url)
        wait_for(
            lambda: self.driver.execute_script("return !!window.__wizardTerminal"),
            "the page to create its terminal",
        )
        return self

    def text(self) -> str:
        """What the terminal shows, one line per row (trailing blanks trimmed)."""
        self._here()
        return str(self.driver.execute_script(READ_SCREEN) or "")

    def wait_text(self, *needles: str, timeout: float = SCREEN_SECONDS) -> str:
        """Wait until every needle is on screen; returns the screen text."""
        last = [""]

        def shown() -> str | None:
            last[0] = self.text()
            return last[0] if all(n in last[0] for n in needles) else None

        try:
            return str(wait_for(shown, f"{needles!r} on the page", timeout))
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the page shows:\n{last[0]}") from None

    def press(self, key: str, *, ctrl: bool = False, alt: bool = False) -> None:
        """Type a key into the page (the terminal has the keyboard focus, as after a click).

        A person in a browser cannot send Ctrl+N (the browser opens a window instead), so
        walks use the Alt twins the wizard binds in a page (``screens/tui/keys.py``).
        """
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        self._here()
        self.driver.execute_script("window.__wizardTerminal.focus()")
        actions = ActionChains(self.driver)
        if ctrl:
            actions.key_down(Keys.CONTROL).send_keys(key).key_up(Keys.CONTROL)
        elif alt:
            actions.key_down(Keys.ALT).send_keys(key).key_up(Keys.ALT)
        else:
            actions.send_keys(key)
        actions.perform()


@dataclass
class Browser:
    """A headless Chromium; :meth:`page` opens tabs."""

    driver: Any
    downloads: Path
    """Where the browser saves downloads."""
    pages: int = 0

    def page(self) -> Page:
        """A tab (the first one, then new ones) that will catch the page's terminal."""
        if self.pages:
            self.driver.switch_to.new_window("tab")
        self.pages += 1
        # Per tab: the script runs in every document the tab loads from now on.
        self.driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINAL}
        )
        return Page(self.driver, self.driver.current_window_handle)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """Debian's chromium, headless, driven by Debian's chromedriver."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        # The page asks Google for a web font; nothing may leave this machine in a test.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        # A page left is unloaded (its session ends), not kept in the back/forward cache.
        "--disable-features=BackForwardCache",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    try:
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        yield Browser(driver, downloads)
    finally:
        driver.quit()
