"""``validate`` before the first digest file: why there is none yet, and what to run.

The trail is made in the sandbox and no period is delivered. Run as against AWS (the SDK
pointed at the sandbox), the message speaks of AWS's hourly digests and the trail's own
state; run with the sandbox's session, it says that the sandbox delivers on its next tick
and which command to run then. Neither tells a command-line user to call Python.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from screens.cli.commands import validate as validate_command
from screens.cli.main import main
from screens.common.connection import Connection
from screens.common.errors import EXIT_FAILED
from tests.wizard.health.test_integrity import setup_trail

pytestmark = pytest.mark.aws


@pytest.fixture
def as_against_aws(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The SDK (and so the command) points at the sandbox as it would at AWS."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    return sandbox


@pytest.fixture
def in_the_sandbox(sandbox: Any, sandbox_session: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The command connects with the session ``--sandbox`` opens (on the test's sandbox)."""

    @contextlib.contextmanager
    def connect(args: Any, *, read_only: bool = False) -> Iterator[Connection]:
        assert read_only
        yield Connection(session=sandbox_session, sandbox=None)

    monkeypatch.setattr(validate_command, "connect", connect)
    return sandbox


def no_python(text: str) -> None:
    assert "()" not in text and "Sandbox." not in text and "deliver_now" not in text
    assert "Traceback" not in text


def test_a_logging_trail_waits_for_its_first_digest(
    as_against_aws: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_trail(aws)

    code = main(["validate", "audit"])

    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert err.startswith("error: No digest files yet for trail audit in s3://acme-audit-logs/")
    assert "first digest file about an hour after logging starts" in err
    assert "this trail has been logging since 20" in err
    assert "Run the validation again once the first one is there." in err
    assert "sandbox" not in err
    no_python(err)


def test_a_trail_that_is_not_logging_is_told_to_start(
    as_against_aws: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_trail(aws)
    aws("cloudtrail").stop_logging(Name="audit")

    code = main(["validate", "audit"])

    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert "The trail is not logging" in err
    assert "`aws cloudtrail start-logging --name audit --region us-east-1`" in err
    no_python(err)


def test_the_sandbox_says_its_next_tick_and_the_command_to_run(
    in_the_sandbox: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_trail(aws)

    code = main(["validate", "audit"])

    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert "No digest files yet for trail audit" in err
    assert "next delivery tick" in err
    assert "`cloudtrail-wizard --sandbox validate audit`" in err
    assert '"Deliver logs now"' in err
    no_python(err)


def test_json_output_carries_the_same_explanation(
    in_the_sandbox: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_trail(aws)

    code = main(["validate", "audit", "--output", "json"])

    payload = json.loads(capsys.readouterr().out)
    assert code == EXIT_FAILED
    assert payload["problem_kind"] == "no-digests"
    assert "next delivery tick" in payload["problem"]
    no_python(payload["problem"])


def test_a_range_without_digests_says_to_widen_it(
    as_against_aws: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_trail(aws)

    code = main(["validate", "audit", "--start-time", "2h", "--end-time", "1h"])

    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert "No digest files for trail audit in s3://acme-audit-logs/" in err
    assert "widen the range, or leave out --start-time and --end-time" in err
    no_python(err)
