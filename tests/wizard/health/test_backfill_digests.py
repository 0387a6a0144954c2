"""Backfill digest files: validated, and reported as such, as the AWS CLI does.

When processing delays leave log files out of a period's digest, CloudTrail later delivers
a backfill digest for them: the same document, named ``..._backfill.json.gz``, signed when
it is generated (its metadata has ``backfill-generation-timestamp``). The sandbox does not
make them, so the test builds one as CloudTrail would, beside the sandbox's own digests:
a late log file, and a backfill digest listing it, signed with the sandbox's signing key
for the region (the key its ListPublicKeys serves). Then both validators read the bucket.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_OK
from tests.wizard.health.test_integrity import (
    ACCT,
    BUCKET,
    deliver_periods,
    digests,
    invalid,
    setup_trail,
    validate,
)
from tests.wizard.health.test_validate_like_the_aws_cli import aws_cli_validate

pytestmark = pytest.mark.aws

REGION = "us-east-1"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def add_backfill(
    aws: Any, *, generated: datetime | None = None, period: int = 0
) -> tuple[str, str]:
    """A late log file and a backfill digest for a period (0: the oldest); their keys."""
    from wizard.sandbox.delivery import SERVICE, digest_signing_string

    _, original = [d for d in digests(aws) if not d[0].endswith("_backfill.json.gz")][period]
    end = datetime.fromisoformat(original["digestEndTime"].replace("Z", "+00:00"))
    folder = f"AWSLogs/{ACCT}/CloudTrail/{REGION}/{end:%Y/%m/%d}/"
    log_key = f"{folder}{ACCT}_CloudTrail_{REGION}_{end:%Y%m%dT%H%MZ}_Late{period:012}.json.gz"
    records = json.dumps({"Records": [{"eventVersion": "1.11", "eventName": "LateCall"}]})
    s3 = aws("s3")
    s3.put_object(Bucket=BUCKET, Key=log_key, Body=gzip.compress(records.encode()))
    key = (
        f"AWSLogs/{ACCT}/CloudTrail-Digest/{REGION}/{end:%Y/%m/%d}/{ACCT}_CloudTrail-Digest_"
        f"{REGION}_audit_{REGION}_{end:%Y%m%dT%H%M%SZ}_backfill.json.gz"
    )
    signer = SERVICE.signing_key(REGION)
    document = {
        **{k: original[k] for k in ("awsAccountId", "digestStartTime", "digestEndTime")},
        "digestS3Bucket": BUCKET,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": signer.fingerprint,
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": original["digestEndTime"],
        "oldestEventTime": original["digestStartTime"],
        "previousDigestS3Bucket": None,
        "previousDigestS3Object": None,
        "previousDigestHashValue": None,
        "previousDigestHashAlgorithm": None,
        "previousDigestSignature": None,
        "logFiles": [
            {
                "s3Bucket": BUCKET,
                "s3Object": log_key,
                "hashValue": hashlib.sha256(records.encode()).hexdigest(),
                "hashAlgorithm": "SHA-256",
                "newestEventTime": original["digestEndTime"],
                "oldestEventTime": original["digestStartTime"],
            }
        ],
    }
    raw = json.dumps(document).encode()
    signature = signer.sign(
        digest_signing_string(
            document["digestEndTime"], BUCKET, key, hashlib.sha256(raw).hexdigest(), None
        )
    )
    metadata = {"signature": signature, "signature-algorithm": "SHA256withRSA"}
    if generated is not None:
        metadata["backfill-generation-timestamp"] = iso(generated)
    s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(raw), Metadata=metadata)
    return key, log_key


def test_a_backfill_digest_is_validated_and_reported_as_such(
    sandbox: Any, aws: Any, sandbox_session: Any, aws_cli: Path
) -> None:
    arn = setup_trail(aws)
    deliver_periods(sandbox, aws, 2)
    key, log_key = add_backfill(aws, generated=datetime.now(UTC))

    report = validate(sandbox_session)
    cli = aws_cli_validate(aws_cli, sandbox, arn)

    assert report.ok, report.invalid
    backfill = [f for f in report.files if f.backfill]
    assert [(f.kind, f.key, f.status) for f in backfill] == [
        ("digest", key, "valid"),
        ("log", log_key, "valid"),
    ]
    assert backfill[0].label == "Backfill digest file"
    counts = report.counts
    assert (counts.valid_digests, counts.valid_backfill_digests) == (3, 1)
    assert cli.returncode == 0, cli.stderr
    assert f"(backfill) Digest file\ts3://{BUCKET}/{key}\tvalid" in cli.stdout
    assert f"Log file\ts3://{BUCKET}/{log_key}\tvalid" in cli.stdout
    assert "1/1 backfill digest files valid" in cli.stdout


def test_the_command_counts_backfill_digests_apart(
    sandbox: Any,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 2)
    key, _ = add_backfill(aws, generated=datetime.now(UTC))
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)

    code = main(["validate", "audit", "--verbose"])

    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert f"Backfill digest file\ts3://{BUCKET}/{key}\tvalid\n" in out
    assert "2/2 digest files valid\n1/1 backfill digest files valid\n3/3 log files valid" in out


def test_a_tampered_backfill_log_and_a_backfill_digest_without_its_timestamp(
    sandbox: Any, aws: Any, sandbox_session: Any, aws_cli: Path
) -> None:
    """Both validators name the same backfill digest invalid (its metadata lacks the
    generation timestamp CloudTrail always writes)."""
    arn = setup_trail(aws)
    deliver_periods(sandbox, aws, 1)
    key, log_key = add_backfill(aws, generated=None)

    report = validate(sandbox_session)
    cli = aws_cli_validate(aws_cli, sandbox, arn)

    assert invalid(report) == {("digest", "invalid-format", key)}
    assert "backfill-generation-timestamp" in report.invalid[0].detail
    assert report.invalid[0].backfill
    assert log_key not in {f.key for f in report.files}  # an invalid digest vouches for nothing
    assert cli.returncode == 1
    assert f"(backfill) Digest file\ts3://{BUCKET}/{key}\tINVALID: invalid format" in cli.stderr


def test_a_modified_log_file_listed_by_a_backfill_digest(
    sandbox: Any, aws: Any, sandbox_session: Any, aws_cli: Path
) -> None:
    arn = setup_trail(aws)
    deliver_periods(sandbox, aws, 1)
    _, log_key = add_backfill(aws, generated=datetime.now(UTC))
    forged = json.dumps({"Records": [{"eventName": "SomethingElse"}]}).encode()
    aws("s3").put_object(Bucket=BUCKET, Key=log_key, Body=gzip.compress(forged))

    report = validate(sandbox_session)
    cli = aws_cli_validate(aws_cli, sandbox, arn)

    assert invalid(report) == {("log", "modified", log_key)}
    assert report.invalid[0].backfill
    assert cli.returncode == 1
    assert f"Log file\ts3://{BUCKET}/{log_key}\tINVALID: hash value doesn't match" in cli.stderr


def test_backfill_digests_are_no_gap_in_the_chain(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    """Two backfill digests with no link between them: no "logging was off" note (a chain
    of regular digests that starts again would get one)."""
    setup_trail(aws)
    deliver_periods(sandbox, aws, 2)
    first, _ = add_backfill(aws, generated=datetime.now(UTC), period=0)
    second, _ = add_backfill(aws, generated=datetime.now(UTC), period=1)

    report = validate(sandbox_session)

    assert report.ok, report.invalid
    assert [f.key for f in report.files if f.kind == "digest" and f.backfill] == [second, first]
    assert report.notes == []
