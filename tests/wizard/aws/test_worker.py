"""The command line's AWS worker process (wizard.aws.worker), against moto's server.

The worker must make the very calls an in-process session makes and give back the same
results and exceptions; a session problem surfaces where open_session would raise it; it
ignores Ctrl-C; when it stops, the call it was making fails as "WorkerStopped" and later
calls are made in the command's own process. And ``apply`` through it loads no AWS SDK in
the command's process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_fixtures import ACCOUNT, REGION
from wizard.aws.basics import CredentialsProblem
from wizard.aws.worker import (
    SWITCH,
    WORKER_STOPPED,
    WorkerSession,
    start_worker,
    worth_a_worker,
)
from wizard.model.readonly import DryRunViolation
from wizard.ports import AwsError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def worker_env(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every client of the worker on the emulator (it inherits this environment)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return endpoint


@pytest.fixture
def worker(worker_env: str) -> Iterator[WorkerSession]:
    session = start_worker(region=REGION)
    assert session is not None, "the worker could not be started"
    try:
        yield session
    finally:
        session.close()


def test_the_worker_opens_the_session_and_makes_reads_and_writes(
    worker: WorkerSession, raw: Any
) -> None:
    account, partition, arn = worker.whoami()
    assert (account, partition) == (ACCOUNT, "aws")
    assert arn.startswith("arn:aws:")
    assert worker.region == REGION
    assert worker.context().account_id == ACCOUNT
    raw("s3").create_bucket(Bucket="worker-bucket")

    listed = worker.caller.paginate("s3", REGION, "ListBuckets", "Buckets")
    worker.caller.call(
        "s3",
        REGION,
        "PutBucketTagging",
        {"Bucket": "worker-bucket", "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}},
    )

    assert [b["Name"] for b in listed] == ["worker-bucket"]
    assert raw("s3").get_bucket_tagging(Bucket="worker-bucket")["TagSet"] == [
        {"Key": "k", "Value": "v"}
    ]


def test_aws_errors_come_back_as_aws_errors(worker: WorkerSession) -> None:
    with pytest.raises(AwsError) as caught:
        worker.caller.call("s3", REGION, "HeadBucket", {"Bucket": "no-such-bucket-here"})

    assert caught.value.service == "s3"
    assert caught.value.operation == "HeadBucket"
    assert caught.value.not_found


def test_an_unknown_operation_is_a_value_error(worker: WorkerSession) -> None:
    with pytest.raises(ValueError, match="NoSuchOperation"):
        worker.caller.call("s3", REGION, "NoSuchOperation")


def test_a_read_only_worker_refuses_writes_before_sending_them(worker_env: str, raw: Any) -> None:
    session = start_worker(region=REGION, read_only=True)
    assert session is not None
    try:
        with pytest.raises(DryRunViolation) as caught:
            session.caller.call("s3", REGION, "CreateBucket", {"Bucket": "never-made"})
        assert caught.value.operation == "CreateBucket"
        assert session.caller.paginate("s3", REGION, "ListBuckets", "Buckets") == []
    finally:
        session.close()
    assert raw("s3").list_buckets()["Buckets"] == []


def test_a_session_problem_is_raised_where_open_session_raises_it(worker_env: str) -> None:
    session = start_worker(region="mars-1")
    assert session is not None
    try:
        with pytest.raises(CredentialsProblem) as caught:
            session.whoami()
        assert caught.value.kind == "region"
        assert "mars-1" in caught.value.message
    finally:
        session.close()


def test_concurrent_calls_each_get_their_own_answer(worker: WorkerSession, raw: Any) -> None:
    names = [f"concurrent-{i}" for i in range(8)]
    for name in names:
        raw("s3").create_bucket(Bucket=name)
        raw("s3").put_bucket_tagging(
            Bucket=name, Tagging={"TagSet": [{"Key": "name", "Value": name}]}
        )
    answers: dict[str, str] = {}

    def read(name: str) -> None:
        tags = worker.caller.call("s3", REGION, "GetBucketTagging", {"Bucket": name})
        answers[name] = tags["TagSet"][0]["Value"]

    threads = [threading.Thread(target=read, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == {name: name for name in names}


def test_ctrl_c_does_not_stop_the_worker(worker: WorkerSession) -> None:
    worker.whoami()  # the worker is up and has installed its handler

    os.kill(worker._process.pid, signal.SIGINT)

    assert worker.caller.call("sts", REGION, "GetCallerIdentity")["Account"] == ACCOUNT
    assert worker._process.poll() is None


def test_after_the_worker_stops_calls_are_made_in_this_process(
    worker: WorkerSession, raw: Any
) -> None:
    worker.whoami()
    worker._process.kill()
    worker._process.wait()
    raw("s3").create_bucket(Bucket="made-after-the-stop")

    listed = worker.caller.paginate("s3", REGION, "ListBuckets", "Buckets")

    assert [b["Name"] for b in listed] == ["made-after-the-stop"]


def test_a_call_the_worker_was_making_when_it_stopped_fails_as_worker_stopped(
    worker_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # S3 requests go to a socket that accepts connections and never answers.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        silent.settimeout(30)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{silent.getsockname()[1]}")
        session = start_worker(region=REGION)
        assert session is not None
        try:
            session.whoami()
            failure: list[BaseException] = []

            def head() -> None:
                try:
                    session.caller.call("s3", REGION, "HeadBucket", {"Bucket": "in-flight"})
                except BaseException as exc:
                    failure.append(exc)

            thread = threading.Thread(target=head)
            thread.start()
            connection, _address = silent.accept()  # the request is on its way
            session._process.kill()
            thread.join(timeout=30)
            connection.close()
        finally:
            session.close()

    assert not thread.is_alive()
    assert len(failure) == 1 and isinstance(failure[0], AwsError)
    assert failure[0].code == WORKER_STOPPED
    assert "may or may not have reached AWS" in failure[0].message


def test_apply_goes_through_the_worker_and_loads_no_sdk_itself(
    worker_env: str, tmp_path: Path, raw: Any
) -> None:
    probe = (
        "import sys\n"
        "from screens.cli.main import main\n"
        "code = main(sys.argv[1:])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('botocore.', 'boto3')))\n"
        "print('LOADED=' + repr(loaded))\n"
        "sys.exit(code)\n"
    )
    example = ROOT / "examples" / "new-bucket-sse-s3.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_REGION": REGION, SWITCH: "1"}

    result = subprocess.run(
        [sys.executable, "-c", probe, "apply", str(example), "--yes", "--output", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    document, _, loaded = result.stdout.rpartition("LOADED=")
    assert json.loads(document)["status"] == "applied"
    assert loaded.strip() == "[]", "the command process imported the AWS SDK"
    trail = json.loads(document)["trail_arn"]
    assert raw("cloudtrail").get_trail_status(Name=trail)["IsLogging"] is True


@pytest.mark.parametrize(("setting", "expected"), [("1", True), ("0", False)])
def test_the_switch_decides_whether_commands_use_a_worker(
    setting: str, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SWITCH, setting)

    assert worth_a_worker() is expected


def test_without_the_switch_a_busy_machine_gets_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SWITCH, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    assert worth_a_worker() is False

    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert worth_a_worker() is True

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert worth_a_worker() is False


# ---- the worker started before the command line is fully parsed ---------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["plan", "a.yaml"], {"profile": None, "region": None, "read_only": True}),
        (
            ["--profile", "dev", "apply", "a.yaml", "--dry-run"],
            {"profile": "dev", "region": None, "read_only": True},
        ),
        (
            ["apply", "a.yaml", "--yes", "--region", "eu-west-1"],
            {"profile": None, "region": "eu-west-1", "read_only": False},
        ),
        (
            ["--profile=dev", "--region=eu-west-1", "apply", "a.yaml"],
            {"profile": "dev", "region": "eu-west-1", "read_only": False},
        ),
        # After "--" every word is an argument, never an option of ours.
        (["apply", "--", "--dry-run"], {"profile": None, "region": None, "read_only": False}),
        (["--sandbox", "plan", "a.yaml"], None),
        (["apply", "a.yaml", "--log-account-profile", "archive"], None),
        (["apply", "a.yaml", "--log-account-role=arn:aws:iam::1:role/r"], None),
        (["policies", "a.yaml"], None),
        (["plan", "--help"], None),
        (["--version"], None),
        ([], None),
        (["--profile"], None),
        (["apply", "a.yaml", "--region"], None),
    ],
)
def test_the_worker_starts_early_only_for_plan_and_apply(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: dict[str, Any] | None
) -> None:
    from screens.cli.main import start_worker_early
    from wizard.aws import launch

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(launch, "prestart", lambda **kwargs: started.append(kwargs))
    start_worker_early(argv)
    assert started == ([] if expected is None else [expected])


def test_the_early_start_imports_no_parser_and_nothing_of_the_wizard_but_the_launcher() -> None:
    # The worker starts as soon as the interpreter has: argparse alone takes longer to load.
    probe = (
        "import sys\n"
        "from wizard.aws import launch\n"
        "launch.prestart = lambda **kwargs: print(sorted(\n"
        "    m for m in sys.modules if m.startswith(('wizard', 'screens')) or m == 'argparse'\n"
        "))\n"
        "from screens.cli.main import start_worker_early\n"
        "start_worker_early(['apply', 'a.yaml'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == repr(
        ["screens", "screens.cli", "screens.cli.main", "wizard", "wizard.aws", "wizard.aws.launch"]
    )


class _FakeLaunched:
    """Stands in for a started worker: what counts is which one is adopted or closed."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_a_prestarted_worker_is_adopted_only_for_the_same_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse

    from screens.common import connection
    from wizard.aws import launch

    monkeypatch.setenv(SWITCH, "1")
    made: list[_FakeLaunched] = []

    def fake_launch(**_kwargs: Any) -> _FakeLaunched:
        made.append(_FakeLaunched())
        return made[-1]

    monkeypatch.setattr(launch, "launch", fake_launch)
    monkeypatch.setattr(connection, "WorkerSession", lambda it: it)
    args = argparse.Namespace(profile="dev", region=None, sandbox=False)

    launch.prestart(profile="dev", region=None, read_only=True)
    adopted = connection.start_worker(args, read_only=True)
    assert adopted is made[0] and not made[0].closed  # type: ignore[comparison-overlap]
    assert launch.take_prestarted(("dev", None, True)) is None  # handed over, not kept

    monkeypatch.setattr(connection, "start_worker_process", lambda **_kwargs: None)
    launch.prestart(profile="dev", region=None, read_only=False)
    assert connection.start_worker(args, read_only=True) is None
    assert made[1].closed  # started for a write session: not this read-only command's
    assert launch.take_prestarted(("dev", None, False)) is None

    launch.prestart(profile="dev", region=None, read_only=True)
    assert (
        connection.start_worker(
            argparse.Namespace(**{**vars(args), "sandbox": True}), read_only=True
        )
        is None
    )
    assert made[2].closed  # --sandbox: no worker, and the early one is let go


def test_closing_a_worker_that_does_not_end_kills_it_after_the_grace() -> None:
    from wizard.aws.launch import Launched

    read_end, write_end = os.pipe()
    stuck = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    launched = Launched({}, stuck, os.fdopen(write_end, "wb"), os.fdopen(read_end, "rb"))
    started = time.monotonic()

    launched.close(grace=0.2)

    assert stuck.returncode is not None and stuck.returncode < 0  # killed, and reaped
    assert 0.2 <= time.monotonic() - started < 10
    launched.close()  # twice is harmless


def test_closing_a_worker_that_ends_at_once_returns_at_once() -> None:
    from wizard.aws.launch import Launched

    read_end, write_end = os.pipe()
    # Like the worker: it ends when its request pipe closes.
    ending = subprocess.Popen(
        [sys.executable, "-c", "import os, sys; os.read(int(sys.argv[1]), 1)", str(read_end)],
        pass_fds=(read_end,),
    )
    launched = Launched({}, ending, os.fdopen(write_end, "wb"), os.fdopen(read_end, "rb"))

    launched.close(grace=30)

    assert ending.returncode == 0
