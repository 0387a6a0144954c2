"""The pure parts of log delivery and validation: names, parameters, selectors, signatures."""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from screens.cli.commands.validate import parse_time
from screens.common.errors import UsageError
from wizard.health import integrity
from wizard.health.logfiles import read_content, source_of
from wizard.sandbox import delivery as logs
from wizard.sandbox.delivery import RecordedEvent, TrailView

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


# ---- command-line times --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-30T10:00:00Z", datetime(2024, 4, 30, 10, tzinfo=UTC)),
        ("2024-04-30T12:00:00+02:00", datetime(2024, 4, 30, 10, tzinfo=UTC)),
        ("2024-04-30T10:00:00", datetime(2024, 4, 30, 10, tzinfo=UTC)),
        ("2024-04-30", datetime(2024, 4, 30, tzinfo=UTC)),
        ("now", NOW),
        ("90s", NOW - timedelta(seconds=90)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("7d ago", NOW - timedelta(days=7)),
        ("1w", NOW - timedelta(weeks=1)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text, "--start-time", NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "2h30", "-1h", "2024-13-01", ""])
def test_parse_time_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(UsageError, match=r"--end-time .* is not a time"):
        parse_time(text, "--end-time", NOW)


# ---- turning requests into records ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "key", "subs", "copy", "expected"),
    [
        ("GET", "", set(), False, "ListObjects"),
        ("GET", "", {"list-type", "prefix"}, False, "ListObjects"),
        ("GET", "", {"policy"}, False, "GetBucketPolicy"),
        ("PUT", "", {"policy"}, False, "PutBucketPolicy"),
        ("DELETE", "", {"policy"}, False, "DeleteBucketPolicy"),
        ("GET", "", {"publicAccessBlock"}, False, "GetBucketPublicAccessBlock"),
        ("PUT", "", {"ownershipControls"}, False, "PutBucketOwnershipControls"),
        ("PUT", "", {"intelligent-tiering"}, False, "PutBucketIntelligentTiering"),
        ("PUT", "", set(), False, "CreateBucket"),
        ("DELETE", "", set(), False, "DeleteBucket"),
        ("HEAD", "", set(), False, "HeadBucket"),
        ("POST", "", {"delete"}, False, "DeleteObjects"),
        ("GET", "a/b.txt", set(), False, "GetObject"),
        ("HEAD", "a/b.txt", set(), False, "HeadObject"),
        ("PUT", "a/b.txt", set(), False, "PutObject"),
        ("PUT", "a/b.txt", set(), True, "CopyObject"),
        ("PUT", "a/b.txt", {"acl"}, False, "PutObjectAcl"),
        ("DELETE", "a/b.txt", set(), False, "DeleteObject"),
        ("POST", "a/b.txt", {"uploads"}, False, "CreateMultipartUpload"),
        ("PUT", "a/b.txt", {"uploadId", "partNumber"}, False, "UploadPart"),
        ("POST", "a/b.txt", {"uploadId"}, False, "CompleteMultipartUpload"),
    ],
)
def test_s3_event_names(method: str, key: str, subs: set[str], copy: bool, expected: str) -> None:
    assert logs.s3_operation(method, True, key, subs, copy) == expected


def test_list_buckets_has_no_bucket() -> None:
    assert logs.s3_operation("GET", False, "", set(), False) == "ListBuckets"


def test_query_parameters_are_nested_and_camel_cased() -> None:
    flat = {
        "RoleName": "Reader",
        "Tags.member.1.Key": "team",
        "Tags.member.1.Value": "audit",
        "Tags.member.2.Key": "env",
        "Tags.member.2.Value": "prod",
    }
    assert logs.camel(logs.unflatten(flat)) == {
        "roleName": "Reader",
        "tags": [{"key": "team", "value": "audit"}, {"key": "env", "value": "prod"}],
    }


def test_secrets_are_hidden() -> None:
    camel = logs.camel({"AccessKeyId": "AKIA", "SecretAccessKey": "s", "Password": "p"})
    assert camel == {
        "accessKeyId": "AKIA",
        "secretAccessKey": "HIDDEN_DUE_TO_SECURITY_REASONS",
        "password": "HIDDEN_DUE_TO_SECURITY_REASONS",
    }


def test_error_codes_from_each_protocol() -> None:
    json_body = b'{"__type": "com.amazonaws#TrailNotFoundException", "message": "gone"}'
    assert logs.error_of(json_body, []) == ("TrailNotFoundException", "gone")
    xml = b"<Error><Code>NoSuchBucket</Code><Message>The bucket &amp; all</Message></Error>"
    assert logs.error_of(xml, []) == ("NoSuchBucket", "The bucket & all")
    assert logs.error_of(b"", [("x-amzn-ErrorType", "Throttling:http")]) == ("Throttling", "")


# ---- which events a trail logs -------------------------------------------------------


def view(**changes: Any) -> TrailView:
    settings: dict[str, Any] = {
        "arn": "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit",
        "name": "audit",
        "account": "123456789012",
        "home_region": "us-east-1",
        "partition": "aws",
        "bucket": "logs",
        "prefix": None,
        "kms_key_id": None,
        "multi_region": False,
        "include_global": True,
        "organization": False,
        "validation": True,
        "logging": True,
        "started": NOW,
        "stopped": None,
        "event_selectors": (),
        "advanced_selectors": (),
        "moto": None,
    }
    settings.update(changes)
    return TrailView(**settings)


def event(
    name: str = "ListTopics",
    *,
    source: str = "sns.amazonaws.com",
    region: str = "us-east-1",
    account: str = "123456789012",
    read_only: bool = True,
    object_arn: str | None = None,
) -> RecordedEvent:
    record = {
        "eventName": name,
        "eventSource": source,
        "readOnly": read_only,
        "eventCategory": "Data" if object_arn else "Management",
        "userIdentity": {"arn": "arn:aws:iam::123456789012:user/me"},
    }
    return RecordedEvent(
        seq=1,
        begun=NOW,
        done=NOW,
        account=account,
        region=region,
        partition="aws",
        record=record,
        data_event=object_arn is not None,
        object_arn=object_arn,
    )


ORG = frozenset({"123456789012", "111111111111"})


def test_regions_accounts_and_global_events() -> None:
    single, multi = view(), view(multi_region=True)
    elsewhere = event(region="eu-west-1")
    assert logs.trail_wants(single, event(), frozenset())
    assert not logs.trail_wants(single, elsewhere, frozenset())
    assert logs.trail_wants(multi, elsewhere, frozenset())
    member = event(account="111111111111")
    assert not logs.trail_wants(single, member, ORG)
    assert logs.trail_wants(view(organization=True), member, ORG)
    iam = event("ListRoles", source="iam.amazonaws.com")
    assert logs.trail_wants(single, iam, frozenset())
    assert not logs.trail_wants(view(include_global=False), iam, frozenset())
    assert not logs.trail_wants(view(home_region="us-west-2"), iam, frozenset())
    assert logs.trail_wants(view(home_region="us-west-2", multi_region=True), iam, frozenset())


def test_basic_selectors() -> None:
    put = event(
        "PutObject",
        source="s3.amazonaws.com",
        read_only=False,
        object_arn=("arn:aws:s3:::data/reports/q1.csv"),
    )
    assert not logs.trail_wants(view(), put, frozenset())  # no data events by default
    selected = view(
        event_selectors=(
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::data/rep"]}],
            },
        )
    )
    assert logs.trail_wants(selected, put, frozenset())
    assert not logs.trail_wants(selected, event(), frozenset())  # management excluded
    other = event("PutObject", read_only=False, object_arn="arn:aws:s3:::other/x")
    assert not logs.trail_wants(selected, other, frozenset())
    no_kms = view(event_selectors=({"ExcludeManagementEventSources": ["kms.amazonaws.com"]},))
    assert not logs.trail_wants(no_kms, event("ListKeys", source="kms.amazonaws.com"), frozenset())
    assert logs.trail_wants(no_kms, event(), frozenset())


def test_advanced_selectors() -> None:
    writes = view(
        advanced_selectors=(
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                ]
            },
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::data/"]},
                ]
            },
        )
    )
    assert logs.trail_wants(writes, event("CreateTopic", read_only=False), frozenset())
    assert not logs.trail_wants(writes, event(), frozenset())
    get = event("GetObject", source="s3.amazonaws.com", object_arn="arn:aws:s3:::data/x")
    assert logs.trail_wants(writes, get, frozenset())
    assert not logs.trail_wants(
        writes, event("GetObject", object_arn="arn:aws:s3:::other/x"), frozenset()
    )
    not_sns = view(
        advanced_selectors=(
            {"FieldSelectors": [{"Field": "eventSource", "NotEquals": ["sns.amazonaws.com"]}]},
        )
    )
    assert not logs.trail_wants(not_sns, event(), frozenset())
    assert logs.trail_wants(not_sns, event("ListKeys", source="kms.amazonaws.com"), frozenset())


# ---- signatures ----------------------------------------------------------------------


def test_signing_string_format() -> None:
    assert logs.digest_signing_string("2024-05-01T12:00:00Z", "b", "k/d.json.gz", "ab", None) == (
        b"2024-05-01T12:00:00Z\nb/k/d.json.gz\nab\nnull"
    )
    document = {
        "digestEndTime": "2024-05-01T12:00:00Z",
        "digestS3Bucket": "b",
        "digestS3Object": "k/d.json.gz",
        "previousDigestSignature": "ff00",
    }
    assert integrity.signing_string(document, "ab") == (
        logs.digest_signing_string("2024-05-01T12:00:00Z", "b", "k/d.json.gz", "ab", "ff00")
    )


def test_the_validator_verifies_what_the_sandbox_signs() -> None:
    key = logs.new_signing_key(NOW)
    data = logs.digest_signing_string("2024-05-01T12:00:00Z", "b", "k", "ab", None)
    signature = key.sign(data)
    assert integrity.verify_signature(key.public_der, signature, data)
    assert not integrity.verify_signature(key.public_der, signature, data + b"x")
    assert not integrity.verify_signature(key.public_der, "not hex", data)
    other = logs.new_signing_key(NOW)
    assert not integrity.verify_signature(other.public_der, signature, data)
    assert key.fingerprint != other.fingerprint and len(key.fingerprint) == 32


def test_content_is_read_the_same_gzipped_or_not() -> None:
    text = b'{"Records": []}'
    packed = read_content(source_of(gzip.compress(text)), keep=True)
    plain = read_content(source_of(text), keep=True)
    assert packed.data == plain.data == text
    assert packed.sha256 == plain.sha256 == hashlib.sha256(text).hexdigest()
    assert (packed.gzipped, plain.gzipped) == (True, False)
    assert packed.trailing == plain.trailing == 0
