"""`cloudtrail-wizard serve`: the wizard in a real (headless) browser, and the rules around it.

The browser tests load the page in Debian's Chromium, read what the terminal shows and type
keys into it, exactly as a person at the page would. The others check the command's refusals
and messages without a browser.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from screens.cli import main
from screens.serve_cmd import is_loopback, session_command
from tests.browser import conftest
from tests.browser.conftest import (
    ROOT,
    Browser,
    Page,
    Served,
    require_chromium,
    start_serve,
    wait_for,
)
from wizard import guide

ACCOUNT = "123456789012"
INPUT_STEPS = [s for s in guide.STEPS if s.id not in ("apply", "done")]


def step_title(step_id: str) -> str:
    """The title bar of a step, as the wizard shows it: ``Step 2 of 8: Trail``."""
    number = [s.id for s in INPUT_STEPS].index(step_id) + 1
    return f"Step {number} of {len(INPUT_STEPS)}: {guide.step(step_id).title}"


def welcome(page: Page) -> str:
    """Wait until the welcome screen is connected to the sandbox."""
    return page.wait_text(step_title("welcome"), "SANDBOX", f"Account    {ACCOUNT}")


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


# ------------------------------------------------------------------------------ in a browser


@pytest.mark.browser
def test_keys_typed_in_the_page_walk_the_wizard_to_the_review(
    served: Served, browser: Browser
) -> None:
    page = browser.page().open(served.url)
    screen = welcome(page)
    assert "SANDBOX: this is a local demo account" in screen
    # The footer offers the browser-safe Alt twin, not Ctrl+N (which opens a window).
    assert "alt+n" in screen
    assert "^n" not in screen

    for step in INPUT_STEPS[1:]:
        page.press("n", alt=True)
        page.wait_text(step_title(step.id))

    # The plan for the defaults, built against this session's sandbox, ready to apply.
    review = page.wait_text("Preflight findings", "Bucket policy", "Apply…", timeout=90)
    assert step_title("review") in review
    assert f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/management-events" in review
    assert "Create bucket" in review
    assert "Reading the account and building the plan" not in review


@pytest.mark.browser
def test_two_connections_get_two_separate_wizards(served: Served, browser: Browser) -> None:
    before = served.running_pids()
    first = browser.page().open(served.url)
    second = browser.page().open(served.url)  # both start at once
    welcome(first)
    welcome(second)
    pids = wait_for(
        lambda: len(served.running_pids() - before) == 2 and served.running_pids() - before,
        "two wizard sessions in the server's log",
    )
    assert all(alive(pid) for pid in pids)

    # Each is its own wizard: the first moves two steps on, the second then one step.
    for step in ("trail", "storage"):
        first.press("n", alt=True)
        first.wait_text(step_title(step))
    assert step_title("welcome") in second.text()
    second.press("n", alt=True)
    second.wait_text(step_title("trail"))  # a shared wizard would have gone on to step 4
    assert step_title("storage") in first.text()

    # Each process runs its own sandbox, and has none of the server's credentials.
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not [v for v in environ if v.startswith(b"AWS_ACCESS_KEY_ID=")]
        assert b"AWS_SHARED_CREDENTIALS_FILE=" + os.devnull.encode() in environ
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"--sandbox" in command


@pytest.mark.browser
def test_ctrl_c_stops_the_server_and_every_wizard(tmp_path: Path, browser: Browser) -> None:
    with start_serve(tmp_path, "--sandbox") as served:
        page = browser.page().open(served.url)
        welcome(page)
        (pid,) = served.running_pids()
        assert alive(pid)
        code = served.stop()
        output = served.output()
    assert code == 0, output
    assert "Stopped. Every wizard session has ended." in output
    assert "Traceback" not in output
    assert not alive(pid)


# ------------------------------------------------------------------------------ the page's rules


def _status(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


WEBSOCKET_HEADERS = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


def test_a_page_from_another_site_cannot_open_a_wizard(served: Served) -> None:
    own = served.url.rstrip("/")
    assert _status(served.url, {}) == 200
    forged = {**WEBSOCKET_HEADERS, "Origin": "http://evil.example"}
    assert _status(f"{own}/ws", forged) == 403
    assert "may not open a wizard session" in served.output()
    # The same request from the page's own origin is let through (101 Switching Protocols).
    started = len(served.session_pids())
    with socket.create_connection(("127.0.0.1", int(own.rsplit(":", 1)[1])), timeout=10) as s:
        lines = ["GET /ws HTTP/1.1", f"Host: {own.split('//')[1]}", f"Origin: {own}"]
        lines += [f"{k}: {v}" for k, v in WEBSOCKET_HEADERS.items()]
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        assert s.recv(100).startswith(b"HTTP/1.1 101")
        (pid,) = wait_for(lambda: served.session_pids()[started:], "the session to start")
    # Hanging up ends that wizard.
    wait_for(lambda: pid not in served.running_pids() and not alive(pid), "the session to end")


def _raw_status(served: Served, host_header: str) -> bytes:
    port = int(served.url.rstrip("/").rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n".encode())
        return s.recv(12)


def test_a_name_rebound_to_loopback_is_refused(served: Served) -> None:
    assert _status(served.url, {"Host": "rebound.example:80"}) == 403
    assert _raw_status(served, "[::1") == b"HTTP/1.1 403"  # malformed: refused, not a crash
    assert _raw_status(served, "127.0.0.1:port") == b"HTTP/1.1 403"
    assert _raw_status(served, "localhost:1234") == b"HTTP/1.1 200"
    assert "Traceback" not in served.output()
    forged = {**WEBSOCKET_HEADERS, "Host": "rebound.example", "Origin": "http://rebound.example"}
    assert _status(f"{served.url.rstrip('/')}/ws", forged) == 403


# ------------------------------------------------------------------------------ the command


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "trainer-laptop.lan"])
def test_a_network_host_without_sandbox_is_refused(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--host", host]) == 2
    err = capsys.readouterr().err
    assert f"refusing to serve the wizard on {host} without --sandbox" in err
    assert "AWS credentials" in err
    assert "--i-understand-the-risk" in err
    assert "Traceback" not in err


def test_localhost_naming_a_network_address_is_refused_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def every_interface(host: str, port: int, *args: object, **kwargs: object) -> list[object]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("0.0.0.0", port))]

    monkeypatch.setattr(socket, "getaddrinfo", every_interface)
    assert main(["serve", "--host", "localhost", "--port", "0"]) == 2
    assert "refusing to serve the wizard on localhost without --sandbox" in capsys.readouterr().err


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else already listens on (all interfaces)."""
    with socket.socket() as blocker:
        blocker.bind(("0.0.0.0", 0))
        blocker.listen()
        yield blocker.getsockname()[1]


@pytest.mark.parametrize(
    "options",
    [["--sandbox"], ["--i-understand-the-risk"]],
    ids=["sandbox", "risk-accepted"],
)
def test_a_network_host_is_allowed_with_sandbox_or_the_risk_flag(
    options: list[str], busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # Past the host rule it tries to listen (and finds the port taken: exit 1, not 2).
    assert main(["serve", "--host", "0.0.0.0", "--port", str(busy_port), *options]) == 1
    err = capsys.readouterr().err
    assert f"port {busy_port} is already in use" in err
    assert "refusing" not in err


def test_a_busy_port_is_explained(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", str(busy_port)]) == 1
    err = capsys.readouterr().err
    assert f"error: port {busy_port} is already in use on 127.0.0.1" in err
    assert "--port" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("port", ["70000", "-1", "eighty"])
def test_a_bad_port_is_refused(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", f"--port={port}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --port" in err
    assert "1-65535" in err or "is not a port number" in err


def test_help_names_the_flags_and_the_risk(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--host", "--port", "--sandbox", "--i-understand-the-risk", "--profile"):
        assert flag in out
    assert "127.0.0.1" in out
    assert "AWS credentials" in out


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("localhost.example.com", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_session_options_pass_to_every_wizard() -> None:
    args = main.__globals__["build_parser"]().parse_args(
        ["--region", "eu-west-1", "serve", "--sandbox", "--answers", "x.yaml"]
    )
    command = session_command(args)
    assert command.startswith("exec ")
    assert "--sandbox" in command
    assert "--region eu-west-1" in command
    assert f"--answers {Path('x.yaml').resolve()}" in command


def test_the_command_line_loads_no_web_server() -> None:
    probe = (
        "import sys\n"
        "from screens.cli import build_parser\n"
        "build_parser().parse_args(['serve', '--sandbox'])\n"
        "print(sorted(m for m in ('textual', 'textual_serve', 'aiohttp') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_a_missing_chromium_fails_the_tests_and_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(conftest, "CHROMEDRIVER", tmp_path / "chromedriver")
    with pytest.raises(pytest.fail.Exception) as failure:  # a failure, not a skip
        require_chromium()
    assert "chromedriver not found" in str(failure.value)
    assert "make browser-deps" in str(failure.value)
