"""`cloudtrail-wizard serve`: the wizard in a real (headless) browser, and the rules around it.

The browser tests load the page in Debian's Chromium, read what the terminal shows and type
keys into it, exactly as a person at the page would. The others check the command's refusals
and messages without a browser, or open the page's websocket directly (a session in a few
milliseconds) to check the session limit and what a wizard process inherits. Whatever the
server logs is waited for (:meth:`Served.wait_output`), never read right after the request.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from screens.cli.commands.serve import DEFAULT_PORT, session_command
from screens.cli.main import main
from screens.cli.parser import build_parser
from screens.cli.serving.environment import SANDBOX_AWS, child_environment
from screens.cli.serving.hosts import is_loopback
from screens.cli.serving.limits import (
    FEWEST_SESSIONS,
    MOST_SESSIONS,
    SESSIONS_PER_CPU,
    default_max_sessions,
    sessions_for,
)
from tests.browser import conftest
from tests.browser.conftest import (
    ROOT,
    SERVER_SECRETS,
    Browser,
    Page,
    RawSession,
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
    assert "Alt+N" in screen
    assert "Ctrl+N" not in screen and "^n" not in screen

    for step in INPUT_STEPS[1:]:
        page.press("n", alt=True)
        page.wait_text(step_title(step.id))

    # The plan for the defaults, built against this session's sandbox, ready to apply.
    # (At the page's width the policy tabs carry short labels: "Bucket", "Key".)
    review = page.wait_text("Preflight findings", "Create bucket", "Apply…", timeout=90)
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

    # Each process is a sandbox session (the two tabs of one browser share that trainee's
    # sandbox), and has none of the server's credentials.
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
        (pid,) = wait_for(served.running_pids, "the session in the server's log")
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


def _body(url: str, headers: dict[str, str]) -> str:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.read().decode())
    except urllib.error.HTTPError as exc:
        return str(exc.read().decode())


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
    served.wait_output(
        r"refused a session: A page from http://evil\.example may not open a wizard session",
        "the refusal",
    )
    # The same request from the page's own origin is let through (101 Switching Protocols).
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as s:
        lines = ["GET /ws HTTP/1.1", f"Host: {own.split('//')[1]}", f"Origin: {own}"]
        lines += [f"{k}: {v}" for k, v in WEBSOCKET_HEADERS.items()]
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        assert s.recv(100).startswith(b"HTTP/1.1 101")
        number, pid = served.session_from(s.getsockname()[1])
    # Hanging up ends that wizard.
    served.wait_output(rf"^session {number} ended", "the session's end")
    wait_for(lambda: not alive(pid), "the wizard process to end")


def _raw_status(served: Served, host_header: str) -> bytes:
    port = int(served.url.rstrip("/").rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n".encode())
        return s.recv(12)


def test_a_name_rebound_to_loopback_is_refused(served: Served) -> None:
    assert _status(served.url, {"Host": "rebound.example:80"}) == 403
    # ...saying where to go instead: the real address, port included.
    assert f"Open {served.url} instead of http://rebound.example:80/" in _body(
        served.url, {"Host": "rebound.example:80"}
    )
    assert _raw_status(served, "[::1") == b"HTTP/1.1 403"  # malformed: refused, not a crash
    assert _raw_status(served, "127.0.0.1:port") == b"HTTP/1.1 403"
    assert _raw_status(served, "localhost:1234") == b"HTTP/1.1 200"
    assert "Traceback" not in served.output()
    forged = {**WEBSOCKET_HEADERS, "Host": "rebound.example", "Origin": "http://rebound.example"}
    assert _status(f"{served.url.rstrip('/')}/ws", forged) == 403


# ------------------------------------------------------------------------------ under load

ANSWERS = ROOT / "examples" / "new-bucket-sse-s3.yaml"
"""Pre-fills the wizards of :func:`limited` (its trail is ``acme-audit``)."""


@pytest.fixture(scope="module")
def save_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trainer's ``--save-dir`` (outside the server's working directory)."""
    return tmp_path_factory.mktemp("trainer") / "saves"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, save_dir: Path) -> Iterator[Served]:
    """`serve --sandbox --max-sessions 1 --save-dir DIR --answers FILE` for the module."""
    options = ["--sandbox", "--max-sessions", "1", "--save-dir", str(save_dir)]
    with start_serve(tmp_path_factory.mktemp("limited"), *options, "--answers", str(ANSWERS)) as s:
        yield s


@contextlib.contextmanager
def wizard_session(served: Served) -> Iterator[tuple[RawSession, int, int]]:
    """A session opened without a browser: ``(connection, number, pid)``.

    Closing it waits until the server has ended it and its process is reaped (gone from
    /proc, not even a zombie), so that its slot is free for the next test.
    """
    raw = RawSession(served)
    try:
        number, pid = served.session_from(raw.local_port)
        yield raw, number, pid
    finally:
        raw.close()
    served.wait_output(rf"^session {number} ended", f"session {number}'s end")
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), f"the wizard (pid {pid}) to be reaped")


def _get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def _children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def test_beyond_max_sessions_a_visitor_gets_a_page_and_no_wizard(limited: Served) -> None:
    server = limited.process.pid
    wait_for(lambda: not _children(server), "the sessions of earlier tests to end")
    with wizard_session(limited) as (_first, _number, pid):
        assert _children(server) == {pid}
        # The page: the limit is reached, how many run, try again later or ask the trainer.
        status, headers, body = _get(limited.url)
        assert status == 503
        assert headers["Retry-After"].isdigit()
        text = " ".join(body.split())
        assert "The session limit is reached" in text
        assert "at most 1 wizard session at once, and 1 is running now" in text
        assert "Try again later" in text
        assert "ask the trainer" in text
        # A websocket opened without the page: told the same, closed "try again later".
        extra = RawSession(limited)
        wait_for(extra.closed, "the server to close the extra connection")
        assert extra.close_code == 1013
        assert extra.heard("limit of this wizard server is reached: 1 of 1 wizard session running")
        limited.wait_output(
            rf"^refused a session from 127\.0\.0\.1:{extra.local_port}: The session limit",
            "the refusal",
        )
        extra.close()
        assert f":{extra.local_port};" not in limited.output()  # no session for it...
        assert _children(server) == {pid}  # ...and no process
    # The first session closed (and reaped): its slot is free again.
    assert _get(limited.url)[0] == 200
    with wizard_session(limited) as (_again, _number, again):
        assert _children(server) == {again}


@pytest.mark.browser
def test_with_save_dir_saves_go_to_the_sessions_own_directory(
    limited: Served, save_dir: Path, browser: Browser
) -> None:
    wait_for(lambda: not _children(limited.process.pid), "the sessions of earlier tests to end")
    before = set(limited.cwd.iterdir())
    page = browser.page().open(limited.url)
    welcome(page)  # pre-filled from the answers file: complete at once
    (pid,) = wait_for(limited.running_pids, "the session in the server's log")
    found = limited.wait_output(rf"^session (\d+) started \(pid {pid};.*; saves in (\S+)\)$", "it")
    session_dir = Path(found.group(2))
    assert session_dir.parent == save_dir
    page.press("s", ctrl=True)
    page.wait_text("Answers saved to", "on the server")
    saved = session_dir / "acme-audit.answers.yaml"
    assert "name: acme-audit" in saved.read_text(encoding="utf-8")
    # The palette's Screenshot goes there too.
    page.press("p", ctrl=True)
    page.wait_text("Search for commands")
    page.press("Screenshot")
    page.wait_text("Save an SVG")
    page.press("\n")
    shots = wait_for(lambda: list(session_dir.glob("*.svg")), "the screenshot")
    assert "<svg" in shots[0].read_text(encoding="utf-8")
    assert [p.name for p in save_dir.iterdir()] == [session_dir.name]
    # Nothing new in the server's working directory (the state directory aside).
    assert set(limited.cwd.iterdir()) - before <= {limited.cwd / "state"}
    # (The state directory holds the trainees' sandboxes, their records among them.)
    assert not [
        p
        for p in limited.cwd.rglob("*")
        if p.suffix in (".yaml", ".json", ".svg") and limited.cwd / "state" not in p.parents
    ]
    # Leaving the page ends the session; the next test needs its slot.
    browser.driver.get("about:blank")
    limited.wait_output(rf"^session {found.group(1)} ended", "the session's end")
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), "the wizard to be reaped")


@pytest.mark.browser
def test_ctrl_s_in_a_page_is_a_download_never_a_file_on_the_server(
    served: Served, browser: Browser
) -> None:
    before = set(served.cwd.iterdir())
    page = browser.page().open(served.url)
    welcome(page)
    for step in ("trail", "storage", "prefix"):  # the answers are complete from here on
        page.press("n", alt=True)
        page.wait_text(step_title(step))
    page.press("s", ctrl=True)
    page.wait_text("sent to your browser as a download")
    downloaded = browser.downloads / "management-events.answers.yaml"
    wait_for(downloaded.is_file, f"the browser to download {downloaded.name}")
    assert "name: management-events" in downloaded.read_text(encoding="utf-8")
    assert set(served.cwd.iterdir()) - before <= {served.cwd / "state"}
    # (The state directory holds the trainees' sandboxes, their records among them.)
    assert not [
        p
        for p in served.cwd.rglob("*")
        if p.suffix in (".yaml", ".json", ".svg") and served.cwd / "state" not in p.parents
    ]


def test_a_wizard_gets_only_the_environment_it_needs(served: Served) -> None:
    with wizard_session(served) as (_raw, _number, pid):
        raw = Path(f"/proc/{pid}/environ").read_bytes().decode()
    environ = dict(entry.split("=", 1) for entry in raw.split("\0") if entry)
    assert not [k for k, v in environ.items() if "server-side" in v or k in SERVER_SECRETS]
    assert not [k for k in environ if k.startswith("AWS_") and k not in SANDBOX_AWS]
    allowed = {
        *("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TERM", "COLORTERM", "NO_COLOR", "TMPDIR"),
        *("XDG_STATE_HOME", "PYTHONPATH", "PWD"),  # PWD: the shell that starts it sets it
        *("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED"),
        *("TEXTUAL_DRIVER", "TEXTUAL_FPS", "TEXTUAL_COLOR_SYSTEM", "COLUMNS", "ROWS"),
        *("TERM_PROGRAM", "TERM_PROGRAM_VERSION"),
    }
    assert {k for k in environ if not k.startswith(("LC_", "CLOUDTRAIL_WIZARD_"))} <= allowed
    assert environ["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert environ["XDG_STATE_HOME"] == str(served.cwd / "state")
    assert "web_driver" in environ["TEXTUAL_DRIVER"]
    assert "CLOUDTRAIL_WIZARD_SAVE_DIR" not in environ  # without --save-dir: downloads


def test_without_sandbox_a_wizard_gets_what_boto3_reads_and_nothing_else() -> None:
    server = {
        "PATH": "/usr/bin",
        "HOME": "/home/trainer",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": "/opt/lib",
        "CLOUDTRAIL_WIZARD_AWS_WORKER": "0",
        "CLOUDTRAIL_WIZARD_SAVE_DIR": "/srv/not-this-session",
        "AWS_PROFILE": "training",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY000000",
        "AWS_SECRET_ACCESS_KEY": "example-secret",
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000",
        "HTTPS_PROXY": "http://proxy.example:3128",
        # Not for the wizard:
        "AWS_DATA_PATH": "/tmp/models",
        "BOTOCORE_EXPERIMENTAL__PLUGINS": "plugin=module",
        "DATABASE_PASSWORD": "secret",
        "SSH_AUTH_SOCK": "/run/user/1000/ssh",
        "LD_PRELOAD": "/tmp/library.so",
        "TEXTUAL_LOG": "textual.log",
    }
    sessions = Path("/srv/saves/session-1-0a1b2c3d")
    assert child_environment(server, sandbox=False, save_dir=sessions) == {
        "PATH": "/usr/bin",
        "HOME": "/home/trainer",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": f"{ROOT}{os.pathsep}/opt/lib",
        "CLOUDTRAIL_WIZARD_AWS_WORKER": "0",
        "CLOUDTRAIL_WIZARD_SAVE_DIR": str(sessions),
        "AWS_PROFILE": "training",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY000000",
        "AWS_SECRET_ACCESS_KEY": "example-secret",
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000",
        "HTTPS_PROXY": "http://proxy.example:3128",
    }
    sandbox = child_environment(server, sandbox=True)
    assert {k for k in sandbox if k.startswith("AWS_") or k.endswith("_PROXY")} == set(SANDBOX_AWS)
    assert sandbox["AWS_CONFIG_FILE"] == os.devnull
    assert "CLOUDTRAIL_WIZARD_SAVE_DIR" not in sandbox


def test_the_default_session_limit_is_sized_for_the_machine(served: Served) -> None:
    gib = 1 << 30
    assert sessions_for(24 * gib, 2) == 2 * SESSIONS_PER_CPU  # this kind of machine: CPU
    assert sessions_for(2 * gib, 8) == 4  # half of 2 GiB at 256 MiB a session
    assert sessions_for(100 << 20, 1) == FEWEST_SESSIONS
    assert sessions_for(1024 * gib, 256) == MOST_SESSIONS
    assert sessions_for(None, 3) == 3 * SESSIONS_PER_CPU
    assert FEWEST_SESSIONS <= default_max_sessions() <= MOST_SESSIONS
    assert re.search(
        r"^At most \d+ wizard sessions at once \(sized for this machine; --max-sessions\)",
        served.output(),
        re.MULTILINE,
    )


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


@pytest.mark.parametrize("port", ["0", "9123"])
def test_a_refusal_names_the_port_asked_for(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", port]) == 2
    err = capsys.readouterr().err
    assert str(DEFAULT_PORT) not in err
    assert ("the free port --port 0 picks" if port == "0" else f"port {port} of") in err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--max-sessions", "0"], "argument --max-sessions: 0: allow at least 1 session"),
        (["--max-sessions", "many"], "'many' is not a number of sessions"),
    ],
)
def test_a_bad_session_limit_is_refused(
    options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", *options])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_save_dir_that_is_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes").write_text("x")
    assert main(["serve", "--port", "0", "--save-dir", str(tmp_path / "notes")]) == 2
    err = capsys.readouterr().err
    assert "--save-dir" in err
    assert "not a directory" in err
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
    flags = ("--host", "--port", "--sandbox", "--i-understand-the-risk", "--profile")
    for flag in (*flags, "--max-sessions", "--save-dir"):
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
    args = build_parser().parse_args(
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
        "from screens.cli.parser import build_parser\n"
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
