"""The records in the sandbox's log files read as AWS writes them.

Checked against AWS's documented examples: the current ``eventVersion``; an IAM user named by
its ``arn:aws:iam`` ARN and ``AIDA...`` unique id; ``eventTime`` in ISO 8601 and the dates of
requests and answers as AWS's records show them (``Aug 10, 2022, 10:38:27 PM``), never epoch
numbers; S3's ``Host`` as AWS's endpoint; and the answers of the query-protocol services (IAM,
STS, SNS) as camelCase JSON. Every record is read back from the trail's bucket, as a user
would read it.
"""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.wizard.sandbox.conftest import Client
from tests.wizard.sandbox.test_delivery import logging_trail, named, records
from wizard.sandbox.server import DEMO_ACCOUNT, DEMO_ROLE_ARN, Sandbox

pytestmark = pytest.mark.aws

ACCT = DEMO_ACCOUNT
LOGS = "acme-fidelity-logs"
DATA = "acme-fidelity-data"
WEST_DATA = "acme-fidelity-west"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
AWS_DATE = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d [AP]M")
TIME_NAME = re.compile(r"date|time|expiration", re.IGNORECASE)


def as_aws_writes(moment: datetime) -> str:
    """How AWS's records show a date inside a request or an answer (its documented examples)."""
    utc = moment.astimezone(UTC)
    return f"{utc:%b} {utc.day}, {utc.year}, {int(utc.strftime('%I'))}:{utc:%M:%S} {utc:%p}"


def logged(sandbox: Sandbox, aws: Client) -> list[dict[str, Any]]:
    sandbox.deliver_now()
    return records(aws, LOGS)


@pytest.fixture
def trail(aws: Client) -> str:
    """A multi-region trail that logs management events and every S3 object call."""
    arn = logging_trail(aws, "fidelity", LOGS, IsMultiRegionTrail=True)
    aws("cloudtrail").put_event_selectors(
        TrailName="fidelity",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
            }
        ],
    )
    return arn


def test_every_record_has_the_current_event_version(
    sandbox: Sandbox, aws: Client, trail: str
) -> None:
    aws("sns").list_topics()
    found = logged(sandbox, aws)
    assert found
    assert {r["eventVersion"] for r in found} == {"1.11"}


def test_an_iam_users_calls_name_the_user_as_aws_does(
    sandbox: Sandbox, aws: Client, trail: str
) -> None:
    iam = aws("iam")
    user = iam.create_user(UserName="alice")["User"]
    # The sandbox enforces an IAM user's policies (wizard.sandbox.iam): alice may list topics.
    iam.put_user_policy(
        UserName="alice",
        PolicyName="topics",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sns:ListTopics", "Resource": "*"}],
            }
        ),
    )
    keys = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = boto3.session.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        region_name="us-east-1",
    )
    alice.client("sns", endpoint_url=sandbox.endpoint_url).list_topics()

    found = logged(sandbox, aws)

    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", user["UserId"])
    (listed,) = named(found, "ListTopics")
    assert listed["userIdentity"] == {
        "type": "IAMUser",
        "principalId": user["UserId"],
        "arn": f"arn:aws:iam::{ACCT}:user/alice",
        "accountId": ACCT,
        "accessKeyId": keys["AccessKeyId"],
        "userName": "alice",
    }
    # The sandbox's own dummy key is an IAM user too, named as AWS names one.
    (created,) = named(found, "CreateUser")
    identity = created["userIdentity"]
    assert identity["type"] == "IAMUser"
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", identity["principalId"])
    assert identity["arn"] == f"arn:aws:iam::{ACCT}:user/{identity['userName']}"
    users = [r["userIdentity"] for r in found if r["userIdentity"]["type"] == "IAMUser"]
    assert all(u["arn"].startswith(f"arn:aws:iam::{ACCT}:user/") for u in users)


def test_times_are_never_epoch_numbers(sandbox: Sandbox, aws: Client, trail: str) -> None:
    kms = aws("kms")
    created = kms.create_key(Description="dated")["KeyMetadata"]
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    aws("cloudtrail").list_public_keys(StartTime=since)
    assumed = aws("sts").assume_role(RoleArn=DEMO_ROLE_ARN, RoleSessionName="dated")

    found = logged(sandbox, aws)

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if TIME_NAME.search(key) and item is not None:
                    assert isinstance(item, str), f"{where}.{key} = {item!r}"
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]")

    for record in found:
        assert ISO.fullmatch(record["eventTime"]), record["eventTime"]
        walk(record, record["eventName"])
    (create_key,) = named(found, "CreateKey")
    creation = create_key["responseElements"]["keyMetadata"]["creationDate"]
    assert AWS_DATE.fullmatch(creation)
    assert creation == as_aws_writes(created["CreationDate"])
    (listed,) = named(found, "ListPublicKeys")
    assert listed["requestParameters"]["startTime"] == as_aws_writes(since)
    (assume,) = named(found, "AssumeRole")
    expiration = assume["responseElements"]["credentials"]["expiration"]
    assert expiration == as_aws_writes(assumed["Credentials"]["Expiration"])


def test_s3_records_name_awss_endpoint_as_the_host(
    sandbox: Sandbox, aws: Client, trail: str
) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=DATA)
    s3.put_object(Bucket=DATA, Key="reports/q1.csv", Body=b"a,b\n1,2\n")
    west = aws("s3", "eu-west-1")
    west.create_bucket(
        Bucket=WEST_DATA, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    west.put_object(Bucket=WEST_DATA, Key="notes.txt", Body=b"west")
    s3.list_buckets()
    for version in ("s3v4", "s3"):  # presigned GETs, signed with SigV4 and with SigV2
        signer = boto3.session.Session().client(
            "s3",
            region_name="us-east-1",
            endpoint_url=sandbox.endpoint_url,
            config=Config(signature_version=version),
        )
        url = signer.generate_presigned_url(
            "get_object", Params={"Bucket": DATA, "Key": "reports/q1.csv"}, ExpiresIn=60
        )
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.read() == b"a,b\n1,2\n"

    found = logged(sandbox, aws)

    puts = {r["requestParameters"]["bucketName"]: r for r in named(found, "PutObject")}
    put, put_west = puts[DATA], puts[WEST_DATA]
    assert put["requestParameters"] == {
        "bucketName": DATA,
        "Host": f"{DATA}.s3.us-east-1.amazonaws.com",
        "key": "reports/q1.csv",
    }
    assert put_west["requestParameters"]["Host"] == f"{WEST_DATA}.s3.eu-west-1.amazonaws.com"
    assert put_west["awsRegion"] == "eu-west-1"
    extra = put["additionalEventData"]
    assert extra["SignatureVersion"] == "SigV4"
    assert extra["AuthenticationMethod"] == "AuthHeader"
    assert extra["bytesTransferredIn"] == len(b"a,b\n1,2\n")
    assert put["tlsDetails"]["clientProvidedHostHeader"] == put["requestParameters"]["Host"]
    (listed,) = named(found, "ListBuckets")
    assert listed["requestParameters"] == {"Host": "s3.us-east-1.amazonaws.com"}
    fetched = named(found, "GetObject")
    assert sorted(r["additionalEventData"]["SignatureVersion"] for r in fetched) == [
        "SigV2",
        "SigV4",
    ]
    for record in fetched:
        assert record["requestParameters"]["key"] == "reports/q1.csv"
        assert record["additionalEventData"]["AuthenticationMethod"] == "QueryString"
        assert record["additionalEventData"]["bytesTransferredOut"] == len(b"a,b\n1,2\n")
    for record in found:
        host = record["tlsDetails"]["clientProvidedHostHeader"]
        assert host.endswith(".amazonaws.com") and "127.0.0.1" not in json.dumps(
            record["tlsDetails"]
        )


def test_query_protocol_answers_are_recorded_as_camel_case_json(
    sandbox: Sandbox, aws: Client, trail: str
) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = aws("iam").create_role(RoleName="Recorded", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]
    topic = aws("sns").create_topic(Name="recorded-topic")["TopicArn"]
    assumed = aws("sts").assume_role(RoleArn=DEMO_ROLE_ARN, RoleSessionName="recorded")
    aws("iam").delete_role(RoleName="Recorded")

    found = logged(sandbox, aws)

    (create_role,) = named(found, "CreateRole")
    recorded = create_role["responseElements"]["role"]
    assert recorded["roleName"] == "Recorded"
    assert recorded["roleId"] == role["RoleId"] and recorded["roleId"].startswith("AROA")
    assert recorded["arn"] == role["Arn"]
    assert recorded["createDate"] == as_aws_writes(role["CreateDate"])
    (create_topic,) = named(found, "CreateTopic")
    assert create_topic["responseElements"] == {"topicArn": topic}
    (assume,) = named(found, "AssumeRole")
    answer = assume["responseElements"]
    assert answer["credentials"]["accessKeyId"] == assumed["Credentials"]["AccessKeyId"]
    assert answer["credentials"]["secretAccessKey"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert answer["assumedRoleUser"]["arn"] == assumed["AssumedRoleUser"]["Arn"]
    # An answer with nothing in it, and a read, have no responseElements (as in AWS).
    (delete_role,) = named(found, "DeleteRole")
    assert delete_role["responseElements"] is None
    assert all(r["responseElements"] is None for r in found if r["readOnly"])
