"""The sandbox delivers real CloudTrail log files and signed digests, and reports failures.

Everything is read back the way a user would read it: plain boto3 over HTTP, gzip and json.
Delivery is made synchronous with ``Sandbox.deliver_now()``; the one test of the background
thread waits on the files appearing, with a deadline, instead of sleeping.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.wizard.sandbox.conftest import Client
from wizard.sandbox.delivery import SERVICE, DeliveryService
from wizard.sandbox.server import (
    DEMO_ACCOUNT,
    DEMO_KEY_READY,
    Sandbox,
    start_sandbox,
)

pytestmark = pytest.mark.aws

ACCT = DEMO_ACCOUNT
CLOUDTRAIL = "cloudtrail.amazonaws.com"
LOG_KEY = re.compile(
    r"(?P<base>.*)AWSLogs/(?P<acct>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P=acct)_CloudTrail_(?P=region)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz"
)
DIGEST_KEY = re.compile(
    r"(?P<base>.*)AWSLogs/(?P<acct>\d{12})/CloudTrail-Digest/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P=acct)_CloudTrail-Digest_(?P=region)_"
    r"(?P<trail>[A-Za-z0-9._-]+)_(?P<home>[a-z0-9-]+)_(?P<stamp>\d{8}T\d{6}Z)\.json\.gz"
)


# ---- helpers -------------------------------------------------------------------------


def arn_of(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:cloudtrail:{region}:{ACCT}:trail/{name}"


def cloudtrail_policy(bucket: str, trail_arns: list[str], prefix: str = "") -> str:
    """CloudTrail's documented bucket policy, pinned to the trails' ARNs."""
    lead = f"{prefix}/" if prefix else ""
    source = {"aws:SourceArn": trail_arns}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                    "Condition": {"StringEquals": source},
                },
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{lead}AWSLogs/{ACCT}/*",
                    "Condition": {
                        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}
                    },
                },
            ],
        }
    )


def logging_trail(
    aws: Client,
    name: str,
    bucket: str,
    *,
    prefix: str = "",
    region: str = "us-east-1",
    **options: Any,
) -> str:
    """A bucket with CloudTrail's policy and a trail logging into it; returns the ARN."""
    s3 = aws("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    arn = arn_of(name, region)
    s3.put_bucket_policy(Bucket=bucket, Policy=cloudtrail_policy(bucket, [arn], prefix))
    cloudtrail = aws("cloudtrail", region)
    params: dict[str, Any] = {"Name": name, "S3BucketName": bucket, **options}
    if prefix:
        params["S3KeyPrefix"] = prefix
    cloudtrail.create_trail(**params)
    cloudtrail.start_logging(Name=name)
    return arn


def keys(aws: Client, bucket: str, region: str = "us-east-1") -> list[str]:
    pages = aws("s3", region).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def log_keys(aws: Client, bucket: str, region: str = "us-east-1") -> list[str]:
    return [k for k in keys(aws, bucket, region) if "/CloudTrail/" in k]


def digest_keys(aws: Client, bucket: str, region: str = "us-east-1") -> list[str]:
    return [k for k in keys(aws, bucket, region) if "/CloudTrail-Digest/" in k]


def read(aws: Client, bucket: str, key: str, region: str = "us-east-1") -> tuple[bytes, Any]:
    """The uncompressed body of an object, and the GetObject response."""
    response = aws("s3", region).get_object(Bucket=bucket, Key=key)
    body = response["Body"].read()
    assert body[:2] == b"\x1f\x8b", f"{key} is not gzipped"
    return gzip.decompress(body), response


def records(aws: Client, bucket: str, region: str = "us-east-1") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for key in log_keys(aws, bucket, region):
        raw, _ = read(aws, bucket, key, region)
        found.extend(json.loads(raw)["Records"])
    return found


def named(found: list[dict[str, Any]], event_name: str) -> list[dict[str, Any]]:
    return [r for r in found if r["eventName"] == event_name]


# ---- log files -----------------------------------------------------------------------


def test_log_files_have_the_exact_key_layout_and_the_calls_just_made(
    sandbox: Sandbox, aws: Client
) -> None:
    logging_trail(aws, "audit", "acme-audit-logs", prefix="team/audit")
    aws("s3").list_buckets()
    aws("iam").get_role(RoleName="AppReader")
    aws("kms").create_key(Description="made while logging")
    with pytest.raises(aws("cloudtrail").exceptions.TrailNotFoundException):
        aws("cloudtrail").get_trail(Name="no-such-trail")

    report = sandbox.deliver_now()

    written = log_keys(aws, "acme-audit-logs")
    assert written, report
    assert {f"s3://acme-audit-logs/{k}" for k in written} <= set(report.log_files)
    for key in written:
        match = LOG_KEY.fullmatch(key)
        assert match, key
        assert match["base"] == "team/audit/"
        assert match["acct"] == ACCT and match["region"] == "us-east-1"
        assert match["stamp"].startswith(match["y"] + match["m"] + match["d"] + "T")
        _, response = read(aws, "acme-audit-logs", key)
        assert response["ContentType"] == "application/json"
    found = records(aws, "acme-audit-logs")
    (get_role,) = named(found, "GetRole")
    for field in (
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "requestParameters",
        "responseElements",
        "requestID",
        "eventID",
        "readOnly",
        "eventType",
        "managementEvent",
        "recipientAccountId",
        "eventCategory",
    ):
        assert field in get_role, field
    assert get_role["eventSource"] == "iam.amazonaws.com"
    assert get_role["awsRegion"] == "us-east-1"
    assert get_role["requestParameters"] == {"roleName": "AppReader"}
    assert get_role["readOnly"] is True
    assert get_role["eventType"] == "AwsApiCall"
    assert get_role["managementEvent"] is True
    assert get_role["eventCategory"] == "Management"
    assert get_role["recipientAccountId"] == ACCT
    assert get_role["sourceIPAddress"] == "127.0.0.1"
    assert "Boto3" in get_role["userAgent"] or "botocore" in get_role["userAgent"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", get_role["eventTime"])
    identity = get_role["userIdentity"]
    assert identity["accountId"] == ACCT
    assert identity["accessKeyId"] == sandbox.credentials.access_key_id
    assert identity["type"] == "IAMUser"
    # The IAM user, as AWS names one in records (moto's caller ARN says arn:aws:sts:...).
    name = aws("sts").get_caller_identity()["Arn"].rsplit("/", 1)[-1]
    assert identity["arn"] == f"arn:aws:iam::{ACCT}:user/{name}"
    assert identity["userName"] == name
    (create_key,) = named(found, "CreateKey")
    assert create_key["eventSource"] == "kms.amazonaws.com"
    assert create_key["readOnly"] is False
    assert create_key["requestParameters"]["description"] == "made while logging"
    assert create_key["responseElements"]["keyMetadata"]["description"] == "made while logging"
    (missing,) = named(found, "GetTrail")
    assert missing["errorCode"] == "TrailNotFoundException"
    assert "no-such-trail" in missing["errorMessage"]
    assert named(found, "ListBuckets")[0]["eventSource"] == "s3.amazonaws.com"
    assert len({r["eventID"] for r in found}) == len(found)


def test_calls_before_start_logging_are_not_delivered(sandbox: Sandbox, aws: Client) -> None:
    logging_trail(aws, "audit", "acme-audit-logs")
    sandbox.deliver_now()
    names = {r["eventName"] for r in records(aws, "acme-audit-logs")}
    assert "StartLogging" in names
    assert not names & {"CreateBucket", "PutBucketPolicy", "CreateTrail"}


def test_assumed_role_calls_show_the_role_session(sandbox: Sandbox, aws: Client) -> None:
    logging_trail(aws, "audit", "acme-audit-logs")
    credentials = aws("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCT}:role/AppReader", RoleSessionName="auditor"
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )
    session.client("sns", endpoint_url=sandbox.endpoint_url).list_topics()
    sandbox.deliver_now()
    (listed,) = named(records(aws, "acme-audit-logs"), "ListTopics")
    identity = listed["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{ACCT}:assumed-role/AppReader/auditor"
    assert identity["accessKeyId"] == credentials["AccessKeyId"]
    issuer = identity["sessionContext"]["sessionIssuer"]
    assert issuer["arn"] == f"arn:aws:iam::{ACCT}:role/AppReader"
    assert issuer["type"] == "Role" and issuer["userName"] == "AppReader"


def test_sse_kms_trail_encrypts_log_files_with_its_key(sandbox: Sandbox, aws: Client) -> None:
    key_arn = aws("kms").describe_key(KeyId=DEMO_KEY_READY)["KeyMetadata"]["Arn"]
    logging_trail(aws, "audit", "acme-audit-logs", KmsKeyId=DEMO_KEY_READY)
    sandbox.deliver_now()
    (key,) = log_keys(aws, "acme-audit-logs")
    head = aws("s3").head_object(Bucket="acme-audit-logs", Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn


def test_trail_without_key_uses_sse_s3(sandbox: Sandbox, aws: Client) -> None:
    logging_trail(aws, "audit", "acme-audit-logs")
    sandbox.deliver_now()
    (key,) = log_keys(aws, "acme-audit-logs")
    assert aws("s3").head_object(Bucket="acme-audit-logs", Key=key)["ServerSideEncryption"] == (
        "AES256"
    )


def test_single_region_trail_gets_its_region_multi_region_trail_all(
    sandbox: Sandbox, aws: Client
) -> None:
    logging_trail(aws, "local", "acme-local-logs")
    logging_trail(aws, "everywhere", "acme-everywhere-logs", IsMultiRegionTrail=True)
    aws("kms", "eu-west-1").list_aliases()
    aws("sns", "us-east-1").list_topics()
    sandbox.deliver_now()

    local = records(aws, "acme-local-logs")
    everywhere = records(aws, "acme-everywhere-logs")
    assert {r["awsRegion"] for r in local} == {"us-east-1"}
    assert named(local, "ListTopics") and not named(local, "ListAliases")
    (aliases,) = named(everywhere, "ListAliases")
    assert aliases["awsRegion"] == "eu-west-1"
    regions = {LOG_KEY.fullmatch(k)["region"] for k in log_keys(aws, "acme-everywhere-logs")}  # type: ignore[index]
    assert regions == {"us-east-1", "eu-west-1"}


def test_global_service_events_reach_only_us_east_1_or_multi_region_trails(
    sandbox: Sandbox, aws: Client
) -> None:
    logging_trail(aws, "west", "acme-west-logs", region="us-west-2")
    aws("iam").list_roles()
    aws("sns", "us-west-2").list_topics()
    sandbox.deliver_now()
    found = records(aws, "acme-west-logs", "us-west-2")
    assert named(found, "ListTopics")
    assert not named(found, "ListRoles")


def test_data_events_only_for_trails_that_select_them(sandbox: Sandbox, aws: Client) -> None:
    logging_trail(aws, "management", "acme-management-logs")
    logging_trail(aws, "objects", "acme-object-logs")
    aws("s3").create_bucket(Bucket="acme-data")
    aws("cloudtrail").put_event_selectors(
        TrailName="objects",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [
                    {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::acme-data/"]}
                ],
            }
        ],
    )
    s3 = aws("s3")
    s3.put_object(Bucket="acme-data", Key="reports/q1.csv", Body=b"a,b\n")
    s3.get_object(Bucket="acme-data", Key="reports/q1.csv")["Body"].read()
    s3.create_bucket(Bucket="acme-other")
    s3.put_object(Bucket="acme-other", Key="elsewhere.txt", Body=b"not selected")
    sandbox.deliver_now()

    management = records(aws, "acme-management-logs")
    assert not [r for r in management if r["eventCategory"] == "Data"]
    assert not named(management, "PutObject")
    objects = records(aws, "acme-object-logs")
    (put,) = named(objects, "PutObject")  # not the one into acme-other
    (get,) = named(objects, "GetObject")
    assert put["eventCategory"] == "Data" and put["managementEvent"] is False
    assert put["readOnly"] is False and get["readOnly"] is True
    assert put["requestParameters"]["bucketName"] == "acme-data"
    assert put["requestParameters"]["key"] == "reports/q1.csv"
    assert {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::acme-data/reports/q1.csv"} in (
        put["resources"]
    )
    assert named(objects, "PutEventSelectors")  # management events still included


def test_advanced_selectors_for_write_only_data_events(sandbox: Sandbox, aws: Client) -> None:
    logging_trail(aws, "writes", "acme-write-logs")
    aws("s3").create_bucket(Bucket="acme-data")
    aws("cloudtrail").put_event_selectors(
        TrailName="writes",
        AdvancedEventSelectors=[
            {
                "Name": "S3 writes",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                ],
            }
        ],
    )
    s3 = aws("s3")
    s3.put_object(Bucket="acme-data", Key="x.txt", Body=b"x")
    s3.get_object(Bucket="acme-data", Key="x.txt")["Body"].read()
    aws("sns").list_topics()
    sandbox.deliver_now()
    found = records(aws, "acme-write-logs")
    assert {r["eventName"] for r in found} == {"PutObject"}


# ---- delivery errors -----------------------------------------------------------------


def test_broken_bucket_policy_reports_access_denied_then_recovers(
    sandbox: Sandbox, aws: Client, capfd: pytest.CaptureFixture[str]
) -> None:
    arn = logging_trail(aws, "audit", "acme-audit-logs")
    sandbox.deliver_now()
    first = log_keys(aws, "acme-audit-logs")
    assert first
    # Break the policy on purpose: it no longer lets CloudTrail write.
    aws("s3").put_bucket_policy(
        Bucket="acme-audit-logs",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::acme-audit-logs/*",
                    }
                ],
            }
        ),
    )
    aws("sns").create_topic(Name="made-while-broken")

    report = sandbox.deliver_now()

    assert report.errors == {arn: "AccessDenied"}
    assert log_keys(aws, "acme-audit-logs") == first
    status = aws("cloudtrail").get_trail_status(Name="audit")
    assert status["LatestDeliveryError"] == "AccessDenied"
    assert status["IsLogging"] is True
    assert status["LatestDeliveryAttemptTime"] >= status["LatestDeliveryAttemptSucceeded"] > ""
    assert capfd.readouterr() == ("", "")  # nothing printed over a full-screen wizard

    aws("s3").put_bucket_policy(
        Bucket="acme-audit-logs", Policy=cloudtrail_policy("acme-audit-logs", [arn])
    )
    report = sandbox.deliver_now()

    assert report.errors == {}
    status = aws("cloudtrail").get_trail_status(Name="audit")
    assert "LatestDeliveryError" not in status
    assert status["LatestDeliveryAttemptSucceeded"] == status["LatestDeliveryAttemptTime"]
    assert "LatestDeliveryTime" in status
    # The events of the failed attempt were kept and delivered now.
    assert named(records(aws, "acme-audit-logs"), "CreateTopic")


def test_missing_bucket_reports_no_such_bucket(sandbox: Sandbox, aws: Client) -> None:
    arn = logging_trail(aws, "audit", "acme-audit-logs")
    sandbox.deliver_now()
    s3 = aws("s3")
    for key in keys(aws, "acme-audit-logs"):
        s3.delete_object(Bucket="acme-audit-logs", Key=key)
    s3.delete_bucket(Bucket="acme-audit-logs")
    aws("sns").list_topics()
    assert sandbox.deliver_now().errors == {arn: "NoSuchBucket"}
    assert aws("cloudtrail").get_trail_status(Name="audit")["LatestDeliveryError"] == "NoSuchBucket"


def test_disabled_key_reports_kms_disabled_then_recovers(sandbox: Sandbox, aws: Client) -> None:
    arn = logging_trail(aws, "audit", "acme-audit-logs", KmsKeyId=DEMO_KEY_READY)
    kms = aws("kms")
    key_id = kms.describe_key(KeyId=DEMO_KEY_READY)["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    aws("sns").list_topics()

    assert sandbox.deliver_now().errors == {arn: "KMS.DisabledException"}
    status = aws("cloudtrail").get_trail_status(Name="audit")
    assert status["LatestDeliveryError"] == "KMS.DisabledException"
    assert log_keys(aws, "acme-audit-logs") == []

    kms.enable_key(KeyId=key_id)
    assert sandbox.deliver_now().errors == {}
    assert "LatestDeliveryError" not in aws("cloudtrail").get_trail_status(Name="audit")
    assert named(records(aws, "acme-audit-logs"), "ListTopics")


def test_key_policy_without_cloudtrail_reports_access_denied(sandbox: Sandbox, aws: Client) -> None:
    arn = logging_trail(aws, "audit", "acme-audit-logs", KmsKeyId=DEMO_KEY_READY)
    kms = aws("kms")
    kms.put_key_policy(
        KeyId=kms.describe_key(KeyId=DEMO_KEY_READY)["KeyMetadata"]["KeyId"],
        PolicyName="default",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    aws("sns").list_topics()
    assert sandbox.deliver_now().errors == {arn: "AccessDenied"}


# ---- digests -------------------------------------------------------------------------


def _public_keys(aws: Client) -> dict[str, Any]:
    listed = aws("cloudtrail").list_public_keys()["PublicKeyList"]
    return {k["Fingerprint"]: serialization.load_der_public_key(k["Value"]) for k in listed}


def _verify(public_key: Any, signature_hex: str, document: dict[str, Any], raw: bytes) -> None:
    """AWS's documented check; raises InvalidSignature when it fails."""
    previous = document["previousDigestSignature"] or "null"
    signed = (
        f"{document['digestEndTime']}\n{document['digestS3Bucket']}/{document['digestS3Object']}"
        f"\n{hashlib.sha256(raw).hexdigest()}\n{previous}"
    ).encode()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(bytes.fromhex(signature_hex), signed, padding.PKCS1v15(), hashes.SHA256())


def test_digests_chain_and_verify_with_the_served_public_key(sandbox: Sandbox, aws: Client) -> None:
    logging_trail(aws, "audit", "acme-audit-logs", prefix="trails", EnableLogFileValidation=True)
    aws("sns").list_topics()
    first = sandbox.deliver_now()
    aws("sns").create_topic(Name="second-period")
    second = sandbox.deliver_now()
    third = sandbox.deliver_now()  # nothing happened: an empty period still gets a digest
    assert len(first.digest_files) == len(second.digest_files) == len(third.digest_files) == 1

    digests = digest_keys(aws, "acme-audit-logs")
    assert len(digests) == 3
    public_keys = _public_keys(aws)
    documents = []
    for key in digests:
        match = DIGEST_KEY.fullmatch(key)
        assert match, key
        assert match["base"] == "trails/" and match["trail"] == "audit"
        assert match["region"] == match["home"] == "us-east-1"
        raw, response = read(aws, "acme-audit-logs", key)
        document = json.loads(raw)
        assert document["digestS3Bucket"] == "acme-audit-logs"
        assert document["digestS3Object"] == key
        assert (
            document["digestEndTime"].replace("-", "").replace(":", "")[:15]
            == (match["stamp"][:15])
        )
        assert response["Metadata"]["signature-algorithm"] == "SHA256withRSA"
        _verify(
            public_keys[document["digestPublicKeyFingerprint"]],
            response["Metadata"]["signature"],
            document,
            raw,
        )
        documents.append((key, raw, response["Metadata"]["signature"], document))

    (k1, raw1, sig1, d1), (k2, _raw2, sig2, d2), (_k3, _raw3, _sig3, d3) = documents
    assert d1["previousDigestSignature"] is None and d1["previousDigestS3Object"] is None
    assert d2["previousDigestS3Object"] == k1
    assert d2["previousDigestHashValue"] == hashlib.sha256(raw1).hexdigest()
    assert d2["previousDigestSignature"] == sig1
    assert d3["previousDigestS3Object"] == k2
    assert d3["previousDigestSignature"] == sig2
    assert d2["digestStartTime"] == d1["digestEndTime"]
    assert d3["logFiles"] == [] and d3["newestEventTime"] is None
    # Every listed log file is there, with the SHA-256 of its uncompressed content.
    listed = [log for _, _, _, d in documents for log in d["logFiles"]]
    assert {log["s3Object"] for log in listed} == set(log_keys(aws, "acme-audit-logs"))
    for log in listed:
        raw, _ = read(aws, "acme-audit-logs", log["s3Object"])
        assert log["hashValue"] == hashlib.sha256(raw).hexdigest()
        assert log["hashAlgorithm"] == "SHA-256"
    status = aws("cloudtrail").get_trail_status(Name="audit")
    assert "LatestDigestDeliveryTime" in status and "LatestDigestDeliveryError" not in status


def test_no_digests_without_log_file_validation(sandbox: Sandbox, aws: Client) -> None:
    logging_trail(aws, "audit", "acme-audit-logs")
    aws("sns").list_topics()
    assert sandbox.deliver_now().digest_files == ()
    assert digest_keys(aws, "acme-audit-logs") == []


def test_list_public_keys_serves_the_signing_key(sandbox: Sandbox, aws: Client) -> None:
    now = datetime.now(UTC)
    (key,) = aws("cloudtrail").list_public_keys(StartTime=now - timedelta(minutes=1), EndTime=now)[
        "PublicKeyList"
    ]
    assert key["ValidityStartTime"] <= now <= key["ValidityEndTime"]
    assert re.fullmatch(r"[0-9a-f]{32}", key["Fingerprint"])
    assert key["Fingerprint"] == hashlib.md5(key["Value"], usedforsecurity=False).hexdigest()
    assert isinstance(serialization.load_der_public_key(key["Value"]), rsa.RSAPublicKey)
    before = aws("cloudtrail").list_public_keys(
        StartTime=datetime(2001, 1, 1, tzinfo=UTC), EndTime=datetime(2001, 1, 2, tzinfo=UTC)
    )
    assert before["PublicKeyList"] == []
    with pytest.raises(aws("cloudtrail").exceptions.InvalidTimeRangeException):
        aws("cloudtrail").list_public_keys(StartTime=now, EndTime=now - timedelta(days=1))


def test_stop_logging_delivers_a_final_digest(sandbox: Sandbox, aws: Client) -> None:
    # Counted in the bucket, not in deliver_now's report: the session sandbox's background
    # thread may make any of these deliveries itself, a moment earlier.
    logging_trail(aws, "audit", "acme-audit-logs", EnableLogFileValidation=True)
    sandbox.deliver_now()
    digests = digest_keys(aws, "acme-audit-logs")
    aws("cloudtrail").stop_logging(Name="audit")
    sandbox.deliver_now()
    final = digest_keys(aws, "acme-audit-logs")
    assert len(final) == len(digests) + 1  # the final digest
    assert named(records(aws, "acme-audit-logs"), "StopLogging")
    delivered = keys(aws, "acme-audit-logs")
    aws("sns").list_topics()
    sandbox.deliver_now()
    assert keys(aws, "acme-audit-logs") == delivered  # nothing after logging stopped


# ---- the recorder and the thread -----------------------------------------------------


def test_reset_forgets_recorded_events_and_delivery_state(sandbox: Sandbox, aws: Client) -> None:
    arn = logging_trail(aws, "audit", "acme-audit-logs")
    aws("s3").delete_bucket_policy(Bucket="acme-audit-logs")
    aws("sns").list_topics()
    assert sandbox.deliver_now().errors == {arn: "AccessDenied"}
    aws("sts").get_caller_identity()
    assert any(e.record["eventName"] == "GetCallerIdentity" for e in SERVICE.events())

    sandbox.reset(seed=True)

    assert not any(e.record["eventName"] == "GetCallerIdentity" for e in SERVICE.events())
    logging_trail(aws, "audit", "acme-audit-logs")  # same ARN, before any delivery
    assert "LatestDeliveryError" not in aws("cloudtrail").get_trail_status(Name="audit")


def test_moto_api_requests_are_not_recorded(sandbox: Sandbox) -> None:
    import urllib.request

    before = len(SERVICE.events())
    with urllib.request.urlopen(f"{sandbox.endpoint_url}/moto-api/data.json", timeout=30) as r:
        r.read()
    assert len(SERVICE.events()) == before


def test_a_service_thread_starts_and_stops() -> None:
    service = DeliveryService()
    token = service.attach(log_interval=0.2, digest_interval=None)
    assert service.running
    service.detach(token)
    assert not service.running


def test_background_thread_delivers_logs_and_digests(sandbox: Sandbox, aws: Client) -> None:
    with start_sandbox(seed=False, log_interval=0.3, digest_interval=1.0) as fast:
        assert SERVICE.log_interval == 0.3
        logging_trail(aws, "audit", "acme-audit-logs", EnableLogFileValidation=True)
        aws("sns").list_topics()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = keys(aws, "acme-audit-logs")
            if any("/CloudTrail/" in k for k in found) and any("Digest" in k for k in found):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"nothing delivered in 30 s: {keys(aws, 'acme-audit-logs')}")
        assert fast.running
    # The session's sandbox is back to its own intervals, and its thread still runs.
    assert SERVICE.log_interval == sandbox_intervals()[0]
    assert SERVICE.running
    assert named(records(aws, "acme-audit-logs"), "ListTopics")


def sandbox_intervals() -> tuple[float | None, float | None]:
    from wizard.sandbox.delivery import DEFAULT_DIGEST_INTERVAL, DEFAULT_LOG_INTERVAL

    return DEFAULT_LOG_INTERVAL, DEFAULT_DIGEST_INTERVAL


def test_organization_trail_delivers_each_accounts_calls_under_the_org_path(
    sandbox: Sandbox, aws: Client
) -> None:
    org = aws("organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    org.enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
    status = org.create_account(AccountName="member", Email="member@example.com")
    member = status["CreateAccountStatus"]["AccountId"]
    s3 = aws("s3")
    s3.create_bucket(Bucket="acme-org-logs")
    arn = arn_of("org-audit")
    s3.put_bucket_policy(
        Bucket="acme-org-logs",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": CLOUDTRAIL},
                        "Action": "s3:GetBucketAcl",
                        "Resource": "arn:aws:s3:::acme-org-logs",
                    },
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": CLOUDTRAIL},
                        "Action": "s3:PutObject",
                        "Resource": "arn:aws:s3:::acme-org-logs/AWSLogs/*",
                        "Condition": {
                            "StringEquals": {
                                "s3:x-amz-acl": "bucket-owner-full-control",
                                "aws:SourceArn": arn,
                            }
                        },
                    },
                ],
            }
        ),
    )
    cloudtrail = aws("cloudtrail")
    cloudtrail.create_trail(
        Name="org-audit",
        S3BucketName="acme-org-logs",
        IsOrganizationTrail=True,
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
    )
    cloudtrail.start_logging(Name="org-audit")
    credentials = aws("sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
        RoleSessionName="member-admin",
    )["Credentials"]
    boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="eu-west-1",
    ).client("sns", endpoint_url=sandbox.endpoint_url).list_topics()

    report = sandbox.deliver_now()

    assert report.errors == {}
    paths = {key.split("/CloudTrail")[0] for key in log_keys(aws, "acme-org-logs")}
    assert paths == {f"AWSLogs/{org_id}/{ACCT}", f"AWSLogs/{org_id}/{member}"}
    member_records = [r for r in records(aws, "acme-org-logs") if r["recipientAccountId"] == member]
    (listed,) = named(member_records, "ListTopics")
    assert listed["awsRegion"] == "eu-west-1"
    assert listed["userIdentity"]["accountId"] == member
    digests = digest_keys(aws, "acme-org-logs")
    assert any(
        k.startswith(f"AWSLogs/{org_id}/{member}/CloudTrail-Digest/eu-west-1/") for k in digests
    )
