"""Log files on the seeded sandbox: the newest first, read one, records as filterable rows.

The tests put real-format log files (gzipped ``{"Records": [...]}`` under the exact
CloudTrail key layout) with plain boto3 into a bucket no trail delivers to, so the sandbox's
own deliveries never mix in and the expected order is exact. The helpers here are reused by
the TUI tests of the log browser.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.sandbox_fixtures import ACCOUNT
from wizard.health.logfiles import (
    LogFileError,
    filter_rows,
    latest_log_files,
    log_root,
    parse_log_file,
    read_log_file,
    record_row,
)

pytestmark = pytest.mark.aws

BUCKET = f"browse-logs-{ACCOUNT}"
"""A bucket no trail delivers to (created per test)."""
BUCKET_REGION = "us-west-2"
ROOT = f"AWSLogs/{ACCOUNT}/CloudTrail/"


def record(
    name: str,
    when: str,
    *,
    source: str = "s3.amazonaws.com",
    identity: dict[str, Any] | None = None,
    ip: str = "203.0.113.10",
    region: str = "us-west-2",
    error: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A CloudTrail record with the fields the browser shows (and a few it does not)."""
    rec: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity
        or {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
            "accountId": ACCOUNT,
            "userName": "alice",
        },
        "eventTime": when,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {},
        "responseElements": None,
        "eventID": f"id-{name}-{when}",
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }
    if error:
        rec["errorCode"], rec["errorMessage"] = error
    return rec


ASSUMED = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLE:deploy-session",
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/deploy-session",
    "accountId": ACCOUNT,
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "arn": f"arn:aws:iam::{ACCOUNT}:role/Deployer",
            "userName": "Deployer",
        }
    },
}
ROOT_USER = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root"}
SERVICE = {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}

SAMPLE_RECORDS = [
    record("ListBuckets", "2025-01-02T10:01:00Z"),
    record(
        "PutBucketPolicy",
        "2025-01-02T10:02:00Z",
        identity=ASSUMED,
        error=("AccessDenied", "User is not authorized to perform s3:PutBucketPolicy"),
    ),
    record(
        "ConsoleLogin", "2025-01-02T10:03:00Z", source="signin.amazonaws.com", identity=ROOT_USER
    ),
    record(
        "GenerateDataKey",
        "2025-01-02T10:04:00Z",
        source="kms.amazonaws.com",
        identity=SERVICE,
        ip="cloudtrail.amazonaws.com",
    ),
    record(
        "DescribeInstances", "2025-01-02T10:05:00Z", source="ec2.amazonaws.com", ip="198.51.100.7"
    ),
]
"""Five records: an IAM user, a refused call by an assumed role, root, a service, EC2."""


def log_key(region: str, when: datetime, suffix: str = "a1b2", root: str = ROOT) -> str:
    """The key CloudTrail gives a log file delivered at ``when``."""
    return (
        f"{root}{region}/{when:%Y/%m/%d}/"
        f"{ACCOUNT}_CloudTrail_{region}_{when:%Y%m%dT%H%MZ}_{suffix}.json.gz"
    )


def gz(records: list[dict[str, Any]]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode())


def put_log_file(s3: Any, key: str, records: list[dict[str, Any]], bucket: str = BUCKET) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=gz(records))
    return key


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def s3(aws: Any) -> Any:
    client = aws("s3", BUCKET_REGION)
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": BUCKET_REGION}
    )
    return client


@pytest.fixture
def spread(s3: Any) -> dict[str, str]:
    """Log files over two years, three months and two regions, plus things that are not."""
    keys = {
        "old": log_key("us-west-2", at("2024-12-31T23:55")),
        "jan1": log_key("us-west-2", at("2025-01-01T08:00")),
        "jan2-early": log_key("us-west-2", at("2025-01-02T09:00")),
        "jan2-late": log_key("us-west-2", at("2025-01-02T10:05")),
        "east-jan2": log_key("us-east-1", at("2025-01-02T09:30"), "c3d4"),
    }
    for name, key in keys.items():
        put_log_file(s3, key, [record(f"Event-{name}", "2025-01-02T00:00:00Z")])
    # Not log files: a digest (its own folder) and a stray text file in a day folder.
    s3.put_object(
        Bucket=BUCKET,
        Key=f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-west-2/2025/01/03/digest.json.gz",
        Body=gz([]),
    )
    s3.put_object(Bucket=BUCKET, Key=f"{ROOT}us-west-2/2025/01/02/notes.txt", Body=b"hello")
    return keys


def test_the_newest_files_come_first_across_regions_and_years(
    spread: dict[str, str], engine: Any
) -> None:
    engine.caller.reset_stats()

    listing = latest_log_files(engine.caller, BUCKET, BUCKET_REGION, ROOT, limit=2)

    assert [f.key for f in listing.files] == [spread["jan2-late"], spread["east-jan2"]]
    assert listing.regions == ["us-east-1", "us-west-2"]
    assert [f.region for f in listing.files] == ["us-west-2", "us-east-1"]
    assert listing.files[0].stamp == "20250102T1005Z"
    assert listing.files[0].size > 0
    assert listing.complete
    # Only the newest day of each region was listed in full: the older days, months and
    # years were never listed, however many files they hold.
    assert listing.days_listed == 2
    lists = engine.caller.stats[("s3", "ListObjectsV2")]
    assert lists == 1 + 2 * (3 + 1), lists  # regions; per region: years, months, days, 1 day


def test_older_days_are_walked_until_the_limit_is_reached(
    spread: dict[str, str], engine: Any
) -> None:
    listing = latest_log_files(
        engine.caller, BUCKET, BUCKET_REGION, ROOT, regions=["us-west-2"], limit=10
    )

    assert [f.key for f in listing.files] == [
        spread["jan2-late"],
        spread["jan2-early"],
        spread["jan1"],
        spread["old"],
    ]
    assert listing.days_listed == 3
    assert listing.complete


def test_the_day_budget_bounds_the_walk_and_says_so(spread: dict[str, str], engine: Any) -> None:
    listing = latest_log_files(
        engine.caller, BUCKET, BUCKET_REGION, ROOT, regions=["us-west-2"], limit=10, max_days=1
    )

    assert [f.key for f in listing.files] == [spread["jan2-late"], spread["jan2-early"]]
    assert not listing.complete


def test_a_bucket_without_log_files_lists_nothing(s3: Any, engine: Any) -> None:
    listing = latest_log_files(engine.caller, BUCKET, BUCKET_REGION, ROOT)

    assert listing.files == [] and listing.regions == [] and listing.complete


def test_a_missing_bucket_is_a_clear_error(sandbox: Any, engine: Any) -> None:
    with pytest.raises(LogFileError, match="The bucket no-such-bucket-4f2 does not exist"):
        latest_log_files(engine.caller, "no-such-bucket-4f2", BUCKET_REGION, ROOT)


def test_a_log_file_is_read_into_rows(s3: Any, engine: Any) -> None:
    key = put_log_file(s3, log_key("us-west-2", at("2025-01-02T10:05")), SAMPLE_RECORDS)

    records = read_log_file(engine.caller, BUCKET, BUCKET_REGION, key)
    rows = [record_row(r, i) for i, r in enumerate(records)]

    assert [(r.time, r.service, r.action, r.who, r.source, r.error) for r in rows] == [
        ("2025-01-02T10:01:00Z", "s3", "ListBuckets", "alice", "203.0.113.10", ""),
        (
            "2025-01-02T10:02:00Z",
            "s3",
            "PutBucketPolicy",
            "Deployer/deploy-session",
            "203.0.113.10",
            "AccessDenied: User is not authorized to perform s3:PutBucketPolicy",
        ),
        ("2025-01-02T10:03:00Z", "signin", "ConsoleLogin", "root", "203.0.113.10", ""),
        (
            "2025-01-02T10:04:00Z",
            "kms",
            "GenerateDataKey",
            "cloudtrail.amazonaws.com",
            "cloudtrail.amazonaws.com",
            "",
        ),
        ("2025-01-02T10:05:00Z", "ec2", "DescribeInstances", "alice", "198.51.100.7", ""),
    ]
    assert [r.index for r in rows] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            json.dumps({"Records": []}).encode(), "is not gzip-compressed", id="plain-json"
        ),
        pytest.param(gzip.compress(b"not json at all"), "does not hold JSON", id="gzip-text"),
        pytest.param(
            gzip.compress(json.dumps({"digestStartTime": "x", "logFiles": []}).encode()),
            'has no "Records" list .* It looks like a digest file',
            id="digest",
        ),
        pytest.param(b"\x1f\x8b\x08\x00broken", "is damaged", id="truncated-gzip"),
    ],
)
def test_files_that_are_not_log_files_get_a_clear_message(
    s3: Any, engine: Any, body: bytes, message: str
) -> None:
    key = f"{ROOT}us-west-2/2025/01/02/odd.json.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    with pytest.raises(LogFileError, match=message):
        read_log_file(engine.caller, BUCKET, BUCKET_REGION, key)


def test_a_vanished_file_says_to_refresh(s3: Any, engine: Any) -> None:
    with pytest.raises(LogFileError, match=r"does not exist .*refresh the list"):
        read_log_file(engine.caller, BUCKET, BUCKET_REGION, f"{ROOT}gone.json.gz")


# ------------------------------------------------------------------ pure parts


ROWS = [record_row(r, i) for i, r in enumerate(SAMPLE_RECORDS)]


@pytest.mark.parametrize(
    ("text", "actions"),
    [
        ("", [r.action for r in ROWS]),
        ("bucket", ["ListBuckets", "PutBucketPolicy"]),
        ("service:s3", ["ListBuckets", "PutBucketPolicy"]),
        ("who:deployer", ["PutBucketPolicy"]),
        ("error:*", ["PutBucketPolicy"]),
        ("-error:*", ["ListBuckets", "ConsoleLogin", "GenerateDataKey", "DescribeInstances"]),
        ("from:198.51", ["DescribeInstances"]),
        ("ALICE ec2", ["DescribeInstances"]),
        ("unknownfield:x", []),
        ("time:10:03", ["ConsoleLogin"]),
    ],
)
def test_filter_rows(text: str, actions: list[str]) -> None:
    assert [r.action for r in filter_rows(ROWS, text)] == actions


def test_log_root_with_prefix_and_organization() -> None:
    assert log_root("", ACCOUNT) == f"AWSLogs/{ACCOUNT}/CloudTrail/"
    assert log_root("/audit/trail/", ACCOUNT, "o-abc123") == (
        f"audit/trail/AWSLogs/o-abc123/{ACCOUNT}/CloudTrail/"
    )


def test_parse_log_file_keeps_only_records_that_are_objects() -> None:
    data = gzip.compress(json.dumps({"Records": [{"eventName": "A"}, "junk", 3]}).encode())

    assert parse_log_file(data) == [{"eventName": "A"}]


# ------------------------------------------------------------------ the logs command

LEGACY_BUCKET = f"demo-legacy-trail-logs-{ACCOUNT}"


@pytest.fixture
def cli_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The command line pointed at the fixture's sandbox (see test_cli_engine.py)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    return sandbox


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from screens.cli.main import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def legacy_file(cli_env: Any, aws: Any) -> str:
    """A log file in the legacy trail's bucket, dated far in the future so that it is the
    newest whatever the sandbox delivers meanwhile."""
    key = log_key("us-west-2", at("2099-01-02T10:05"))
    return put_log_file(aws("s3", BUCKET_REGION), key, SAMPLE_RECORDS, bucket=LEGACY_BUCKET)


def test_logs_lists_the_newest_files(legacy_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "logs", "legacy-trail", "--limit", "5")

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        f"Newest log files of legacy-trail in s3://{LEGACY_BUCKET}/AWSLogs/{ACCOUNT}/CloudTrail/"
    )
    assert lines[1].split()[0] == "20990102T1005Z" and lines[1].endswith(legacy_file)


def test_logs_shows_the_latest_file_filtered(
    legacy_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "logs", "legacy-trail", "--file", "latest", "--filter", "error:*"
    )

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"s3://{LEGACY_BUCKET}/{legacy_file}: 1 of 5 events"
    assert lines[1].split() == ["Time", "Service", "Action", "Who", "From", "Error"]
    assert lines[2].split()[:5] == [
        "2025-01-02T10:02:00Z",
        "s3",
        "PutBucketPolicy",
        "Deployer/deploy-session",
        "203.0.113.10",
    ]
    assert "AccessDenied: User is not authorized" in lines[2]


def test_logs_json_of_one_file(legacy_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "logs", "legacy-trail", "--file", legacy_file, "--output", "json"
    )

    assert code == 0, err
    document = json.loads(out)
    assert document["records"] == 5
    assert [r["who"] for r in document["rows"]][:3] == ["alice", "Deployer/deploy-session", "root"]


def test_logs_of_a_file_that_is_not_a_log_file_exits_1(
    cli_env: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    key = f"AWSLogs/{ACCOUNT}/CloudTrail/us-west-2/2099/01/01/notes.json.gz"
    aws("s3", BUCKET_REGION).put_object(Bucket=LEGACY_BUCKET, Key=key, Body=b"plain text")

    code, out, err = run_cli(capsys, "logs", "legacy-trail", "--file", key)

    assert code == 1
    assert out == ""
    assert err.startswith(f"error: {key} is not gzip-compressed")


def test_logs_of_an_unknown_trail_exits_2(cli_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(capsys, "logs", "nope")

    assert code == 2
    assert "No trail named 'nope'" in err
