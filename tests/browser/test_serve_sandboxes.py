"""`serve --sandbox`: every trainee (a browser, known by its cookie) keeps a sandbox of their
own, found again when they reconnect, never shared with another trainee, and stopped when
serve stops."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

from screens.cli.serving.environment import SANDBOX_HOME_VARIABLE
from screens.cli.serving.trainees import COOKIE, SWEEP_AFTER_SECONDS, Trainees, sweep
from tests.browser.conftest import RawSession, Served, start_serve, wait_for
from wizard.sandbox.shared import HOME_VARIABLE, SharedSandbox, daemon_pid, find_sandbox


def page_cookie(served: Served) -> str:
    """Open the page as a new browser would; the trainee cookie it is given (``name=value``)."""
    with urllib.request.urlopen(served.url, timeout=30) as response:
        header = response.headers["Set-Cookie"]
    assert header is not None and header.startswith(f"{COOKIE}=")
    assert "HttpOnly" in header and "SameSite=Strict" in header
    return str(header.split(";", 1)[0])


@contextlib.contextmanager
def trainee_wizard(served: Served, cookie: str | None) -> Iterator[SharedSandbox]:
    """A wizard for the browser holding ``cookie``; the sandbox it connected to."""
    raw = RawSession(served, cookie)
    try:
        number, pid = served.session_from(raw.local_port)
        raw_env = Path(f"/proc/{pid}/environ").read_bytes().decode()
        environ = dict(entry.split("=", 1) for entry in raw_env.split("\0") if entry)
        home = Path(environ[HOME_VARIABLE])
        # The wizard connects at once: its sandbox is found running, or started.
        sandbox = wait_for(lambda: find_sandbox(home), f"session {number}'s sandbox")
        yield sandbox
    finally:
        raw.close()
    served.wait_output(rf"^session {number} ended", f"session {number}'s end")


def buckets(sandbox: SharedSandbox) -> set[str]:
    session: Any = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    s3 = session.client("s3", endpoint_url=sandbox.endpoint_url)
    return {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_each_trainee_keeps_a_sandbox_of_their_own_until_serve_stops(tmp_path: Path) -> None:
    assert SANDBOX_HOME_VARIABLE == HOME_VARIABLE  # the name the server clears is the one read
    with start_serve(tmp_path, "--sandbox") as served:
        alice, bob = page_cookie(served), page_cookie(served)
        assert alice != bob

        with trainee_wizard(served, alice) as first:
            session: Any = boto3.session.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            )
            s3 = session.client("s3", endpoint_url=first.endpoint_url)
            s3.create_bucket(Bucket="made-by-alice")
        with trainee_wizard(served, alice) as again:  # a reload: the same browser
            assert again.home == first.home
            assert "made-by-alice" in buckets(again)
        with trainee_wizard(served, bob) as other:
            assert other.home != first.home
            assert "made-by-alice" not in buckets(other)
        with trainee_wizard(served, None) as stranger:  # not a page of ours: a new trainee
            assert stranger.home not in (first.home, other.home)
        homes = [first.home, other.home, stranger.home]
        assert all(daemon_pid(home) is not None for home in homes)
    # Stopping serve ends every trainee's sandbox and removes their homes.
    assert [h for h in homes if h.exists()] == []
    assert "Stopped 3 trainee sandbox(es)." in served.output()


def test_a_killed_servers_trainees_are_cleared_and_a_running_ones_kept(tmp_path: Path) -> None:
    base = tmp_path / "serve"
    running = Trainees(base / "101-running")  # holds its lock, as a running server does
    dead = base / "102-killed"  # a server killed without Ctrl+C: nobody holds its lock
    (dead / "trainee-0123").mkdir(parents=True)
    long_ago = time.time() - 2 * SWEEP_AFTER_SECONDS
    for folder in (running.root, dead):
        os.utime(folder, (long_ago, long_ago))
    starting = base / "103-starting"  # just made: its server may not hold its lock yet
    starting.mkdir()
    assert sweep(base) == [dead]
    assert running.root.is_dir() and starting.is_dir() and not dead.exists()
    assert asyncio.run(running.close()) == 0  # no trainee sandbox was running
    assert not running.root.exists()
