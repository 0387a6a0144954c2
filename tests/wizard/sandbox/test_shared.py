"""The shared sandbox's process: one per home, found again, recovered, and never forgetful.

Each test starts real background sandboxes (``python -m wizard.sandbox.daemon``, a second
or more each) in a home of its own under ``tmp_path``; the fixtures of
``tests/sandbox_fixtures.py`` stop them when the test ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.sandbox_fixtures import stop_shared_sandboxes
from wizard.sandbox.server import DEMO_APP_BUCKET, DEMO_TRAIL, DEMO_TRAIL_REGION
from wizard.sandbox.shared import (
    RECORD,
    STATE,
    Record,
    SharedSandbox,
    control,
    daemon_pid,
    ensure_sandbox,
    prepare_home,
    read_record,
    write_record,
)

ROOT = Path(__file__).resolve().parents[3]


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll ``condition`` until it is truthy; fail saying ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def client(sandbox: SharedSandbox, service: str, region: str = "us-east-1") -> Any:
    """A boto3 client on ``sandbox`` with its dummy credentials (nothing from the environment)."""
    session: Any = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    return session.client(service, endpoint_url=sandbox.endpoint_url)


def buckets(sandbox: SharedSandbox) -> set[str]:
    return {b["Name"] for b in client(sandbox, "s3").list_buckets()["Buckets"]}


def daemons_in(home: Path) -> list[int]:
    """Pids of every sandbox process running for ``home`` (read from /proc: Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"wizard.sandbox.daemon" in argv and str(home).encode() in argv:
            found.append(int(entry.name))
    return found


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The sandbox's home for this test (its sandbox is stopped by the autouse fixtures)."""
    return tmp_path / "sandbox-home"


START_IN_A_CHILD = """
import json, sys
from pathlib import Path
from wizard.sandbox.shared import ensure_sandbox
sandbox = ensure_sandbox(Path(sys.argv[1]))
print(json.dumps({"pid": sandbox.record.pid, "started": sandbox.started}))
"""


def test_two_commands_starting_at_the_same_moment_end_with_one_sandbox(home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    starters = [
        subprocess.Popen(
            [sys.executable, "-c", START_IN_A_CHILD, str(home)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    answers = []
    for starter in starters:
        out, err = starter.communicate(timeout=180)
        assert starter.returncode == 0, err
        answers.append(json.loads(out))
    assert answers[0]["pid"] == answers[1]["pid"]
    assert sorted(a["started"] for a in answers) == [False, True]  # one started, one found it
    assert daemons_in(home) == [answers[0]["pid"]] == [daemon_pid(home)]
    # What every test's teardown does (tests/sandbox_fixtures.py): none is left running.
    assert stop_shared_sandboxes(home.parent) == [home]
    assert daemon_pid(home) is None
    wait_for(lambda: daemons_in(home) == [], "the sandbox process to end")


def test_what_a_dead_sandbox_left_behind_is_recovered(home: Path) -> None:
    # A sandbox of another version died: its record names a pid that now belongs to another
    # program (this bystander) and ports where nothing listens; its state is that version's.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    header = {
        "format": 1,
        "wizard": "0.0.1",
        "moto": "0.0.1",
        "python": "3.0",
        "saved": "2026-01-01T00:00:00+00:00",
        "port": port,
        "sha256": "0" * 64,
    }
    state = prepare_home(home) / STATE
    state.write_bytes(json.dumps(header).encode() + b"\nnot a state this version can read")
    state.chmod(0o600)
    bystander = subprocess.Popen(["sleep", "120"])
    try:
        write_record(
            home,
            Record(
                pid=bystander.pid,
                endpoint=f"http://127.0.0.1:{port}",
                control_port=port,
                token="left-by-a-dead-sandbox",
                instance="dead",
                version="0.0.1",
                build="old",
                started="2026-01-01T00:00:00+00:00",
            ),
        )
        sandbox = ensure_sandbox(home)
        assert sandbox.started
        assert sandbox.record.pid not in (bystander.pid, 0)
        assert bystander.poll() is None, "the program now using the stale pid was signalled"
    finally:
        bystander.kill()
        bystander.wait()
    assert read_record(home) == sandbox.record
    assert "could not be used (it was saved by cloudtrail-wizard 0.0.1" in sandbox.note
    assert (home / f"{STATE}.unreadable").read_bytes().startswith(b"{")  # kept aside
    trails = client(sandbox, "cloudtrail", DEMO_TRAIL_REGION).describe_trails()["trailList"]
    assert [t["Name"] for t in trails] == [DEMO_TRAIL]  # a freshly seeded demo account

    # Deleting its directory starts over too: the sandbox stops, and saves nothing.
    shutil.rmtree(home)
    wait_for(lambda: daemons_in(home) == [], "the sandbox to stop once its home is gone")
    assert not home.exists()


def test_the_account_outlives_its_process_killed_or_replaced_by_another_version(
    home: Path,
) -> None:
    first = ensure_sandbox(home)
    assert first.started and first.note == ""  # nothing saved yet: the demo account, seeded
    # Only its owner may control it: the token is in a record only they can read.
    assert home.stat().st_mode & 0o777 == 0o700
    assert (home / RECORD).stat().st_mode & 0o777 == 0o600
    with pytest.raises(OSError, match="wrong or missing token"):
        control(replace(first.record, token="guessed"), "stop", timeout=10, body={})
    client(first, "s3").create_bucket(Bucket="made-before-the-kill")
    wait_for(lambda: not first.describe()["unsaved_changes"], "the change to be saved")

    os.kill(first.record.pid, signal.SIGKILL)  # no chance to save anything more
    wait_for(lambda: daemon_pid(home) is None, "the killed sandbox to be gone")
    second = ensure_sandbox(home)
    assert second.started and second.record.pid != first.record.pid
    assert "continues from its saved state" in second.note
    # What was made is back, and the demo account was not seeded a second time over it.
    assert {"made-before-the-kill", DEMO_APP_BUCKET} <= buckets(second)

    # A sandbox started by another version of the package is replaced, and says so.
    write_record(home, replace(second.record, version="0.0.1"))
    third = ensure_sandbox(home)
    assert third.started and third.record.pid != second.record.pid
    assert "started by cloudtrail-wizard 0.0.1; it was restarted with" in third.note
    assert daemons_in(home) == [third.record.pid]
    assert "made-before-the-kill" in buckets(third)  # the one it replaced saved on its way out
