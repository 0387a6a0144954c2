"""``validate`` decides as the AWS CLI's ``cloudtrail validate-logs`` does, file for file.

The sandbox delivers real log and digest files; a test tampers with them as an intruder
would (plain boto3), then runs both validators on the same bucket: ours through the
wizard's caller, the AWS CLI as a user runs it (a child process pointed at the sandbox).
Where the two must agree, the test asserts both verdicts on the same file.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_FAILED
from tests.wizard.health.test_integrity import (
    BUCKET,
    deliver_periods,
    digests,
    invalid,
    logs_of,
    setup_trail,
    validate,
)

pytestmark = pytest.mark.aws


def aws_cli_validate(aws_cli: Path, sandbox: Any, arn: str) -> subprocess.CompletedProcess[str]:
    """``aws cloudtrail validate-logs`` on the sandbox, for every digest there is."""
    env = dict(os.environ)  # the aws_env fixture's dummy credentials and region
    # The AWS CLI makes its S3 clients without --endpoint-url: the variable reaches them.
    env["AWS_ENDPOINT_URL"] = sandbox.endpoint_url
    return subprocess.run(
        [
            str(aws_cli),
            "--endpoint-url",
            sandbox.endpoint_url,
            "--region",
            "us-east-1",
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            arn,
            "--start-time",
            "2000-01-01T00:00:00Z",
            "--verbose",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# ---- item: a digest without its signature metadata -----------------------------------


@pytest.mark.parametrize(
    "removed",
    [("signature", "signature-algorithm"), ("signature",), ("signature-algorithm",)],
    ids=["both", "signature", "algorithm"],
)
def test_a_digest_without_its_signature_metadata_is_invalid(
    sandbox: Any, aws: Any, sandbox_session: Any, aws_cli: Path, removed: tuple[str, ...]
) -> None:
    """The next digest recorded the signature, but the object lost it: invalid, as the CLI
    says, and its log files are not vouched for; the digests around it stay valid."""
    arn = setup_trail(aws)
    deliver_periods(sandbox, aws, 3)
    (first, _), (middle, middle_doc), (last, _) = digests(aws)
    s3 = aws("s3")
    stored = s3.get_object(Bucket=BUCKET, Key=middle)
    kept = {k: v for k, v in stored["Metadata"].items() if k not in removed}
    s3.put_object(Bucket=BUCKET, Key=middle, Body=stored["Body"].read(), Metadata=kept)

    report = validate(sandbox_session)
    cli = aws_cli_validate(aws_cli, sandbox, arn)

    assert invalid(report) == {("digest", "invalid-signature", middle)}
    (problem,) = report.invalid
    assert "x-amz-meta-signature" in problem.detail
    assert last.rsplit("/", 1)[-1] in problem.detail  # the later digest's record is named
    valid = {f.key for f in report.files if f.kind == "digest" and f.valid}
    assert valid == {first, last}
    checked = {f.key for f in report.files if f.kind == "log"}
    assert not checked & set(logs_of(middle_doc))
    assert cli.returncode == 1, cli.stderr
    assert f"Digest file\ts3://{BUCKET}/{middle}\tINVALID: signature verification failed" in (
        cli.stderr
    )
    for key in (first, last):
        assert f"Digest file\ts3://{BUCKET}/{key}\tvalid" in cli.stdout


# ---- item: a log file with bytes after its gzip stream ---------------------------------


APPENDED = {
    "a-byte": b"x",
    "a-zero-byte": b"\0",
    "a-gzip-member": gzip.compress(json.dumps({"Records": [{"eventName": "Forged"}]}).encode()),
}


@pytest.mark.parametrize("appended", list(APPENDED), ids=list(APPENDED))
def test_a_log_file_with_data_after_its_gzip_stream(
    sandbox: Any,
    aws: Any,
    sandbox_session: Any,
    aws_cli: Path,
    appended: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """validate says modified (the AWS CLI: unexpected data after end of compressed stream)
    and logs refuses to show the file as if it were intact: one reader for both."""
    arn = setup_trail(aws)
    deliver_periods(sandbox, aws, 2)
    key = logs_of(digests(aws)[-1][1])[0]
    s3 = aws("s3")
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body + APPENDED[appended])

    report = validate(sandbox_session)
    cli = aws_cli_validate(aws_cli, sandbox, arn)
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    code = main(["logs", "audit", "--file", key])
    shown = capsys.readouterr()

    assert invalid(report) == {("log", "modified", key)}
    (problem,) = report.invalid
    count = len(APPENDED[appended])
    assert problem.detail.startswith(
        f"{count} byte{'s follow' if count > 1 else ' follows'} the end of its gzip data"
    )
    # The digest hashes the uncompressed content, which the append did not change.
    assert "still matches the SHA-256" in problem.detail
    assert cli.returncode == 1, cli.stderr
    assert (
        f"Log file\ts3://{BUCKET}/{key}\tINVALID: unexpected data after end of compressed stream"
    ) in cli.stderr
    assert code == EXIT_FAILED
    assert shown.out == ""
    assert shown.err.startswith(f"error: {key} was changed after CloudTrail delivered it: ")
    assert "validate" in shown.err and "Traceback" not in shown.err


def test_an_intact_log_file_is_read_by_logs_and_valid_for_both(
    sandbox: Any,
    aws: Any,
    sandbox_session: Any,
    aws_cli: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The control: untouched files are valid for both validators and logs shows them."""
    arn = setup_trail(aws)
    deliver_periods(sandbox, aws, 2)
    key = logs_of(digests(aws)[-1][1])[0]

    report = validate(sandbox_session)
    cli = aws_cli_validate(aws_cli, sandbox, arn)
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    code = main(["logs", "audit", "--file", key])

    assert report.ok and report.invalid == []
    assert cli.returncode == 0, cli.stderr
    assert f"Log file\ts3://{BUCKET}/{key}\tvalid" in cli.stdout
    assert code == 0
    assert "CreateTopic" in capsys.readouterr().out


def test_a_digest_with_data_after_its_gzip_stream_is_modified(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    """Deliberately stricter than the AWS CLI, which ignores data after a digest's gzip
    stream: the object is not the one CloudTrail delivered."""
    setup_trail(aws)
    deliver_periods(sandbox, aws, 2)
    key = digests(aws)[-1][0]
    s3 = aws("s3")
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    s3.put_object(
        Bucket=BUCKET, Key=key, Body=stored["Body"].read() + b"\n", Metadata=stored["Metadata"]
    )

    report = validate(sandbox_session)

    assert invalid(report) == {("digest", "modified", key)}
    assert report.invalid[0].detail.startswith("1 byte follows the end of its gzip data")


def test_a_log_file_stored_uncompressed_in_the_bucket_is_invalid(
    sandbox: Any, aws: Any, sandbox_session: Any, aws_cli: Path
) -> None:
    """Same content, not gzip: CloudTrail never delivers that (the AWS CLI: invalid format)."""
    arn = setup_trail(aws)
    deliver_periods(sandbox, aws, 1)
    key = logs_of(digests(aws)[-1][1])[0]
    s3 = aws("s3")
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.decompress(body))

    report = validate(sandbox_session)
    cli = aws_cli_validate(aws_cli, sandbox, arn)

    assert invalid(report) == {("log", "invalid-format", key)}
    assert report.invalid[0].detail.startswith("Not a gzip file")
    assert f"Log file\ts3://{BUCKET}/{key}\tINVALID: invalid format" in cli.stderr
