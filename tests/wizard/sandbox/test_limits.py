"""The sandbox refuses what AWS's size and count limits refuse, with AWS's error codes.

Each limit is tried at exactly the limit (accepted, and stored) and one past it (refused,
and nothing stored), with plain boto3 over HTTP, so the emulator is never more lenient than
AWS. The sizes are measured here independently of the wizard: with ``json.dumps`` and
``len``, not with :mod:`wizard.plan.limits`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.wizard.sandbox.conftest import Client, aws_error
from wizard.sandbox.server import (
    DEMO_ACCOUNT,
    DEMO_APP_BUCKET,
    DEMO_CENTRAL_BUCKET,
    DEMO_LOG_GROUP,
    DEMO_TOPIC,
)

pytestmark = pytest.mark.aws

ROOT = f"arn:aws:iam::{DEMO_ACCOUNT}:root"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{DEMO_ACCOUNT}:{DEMO_TOPIC}"


def compact(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def padded(make: Callable[[str], dict[str, Any]], size: int, measure: Callable[[str], int]) -> str:
    """The compact JSON of ``make(padding)`` whose ``measure`` is exactly ``size``."""
    base = measure(compact(make("")))
    text = compact(make("A" * (size - base)))
    assert measure(text) == size
    return text


def utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def non_space(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


# ---- S3 bucket policy: 20 KB, white space between elements not counted ---------------


def bucket_document(padding: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyAFolder",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{DEMO_APP_BUCKET}/private/{padding}",
            }
        ],
    }


def test_bucket_policy_of_exactly_20_kb_is_stored_even_pretty_printed(aws: Client) -> None:
    s3 = aws("s3")
    text = padded(bucket_document, 20480, utf8)
    pretty = json.dumps(json.loads(text), indent=4)
    assert utf8(pretty) > 20480  # S3 measures the policy without its layout

    s3.put_bucket_policy(Bucket=DEMO_APP_BUCKET, Policy=pretty)

    stored = json.loads(s3.get_bucket_policy(Bucket=DEMO_APP_BUCKET)["Policy"])
    assert stored == json.loads(text)


def test_bucket_policy_one_byte_over_20_kb_is_refused_and_the_old_one_kept(
    aws: Client,
) -> None:
    s3 = aws("s3")
    before = s3.get_bucket_policy(Bucket=DEMO_APP_BUCKET)["Policy"]

    with aws_error("MalformedPolicy", message="maximum allowed document size"):
        s3.put_bucket_policy(Bucket=DEMO_APP_BUCKET, Policy=padded(bucket_document, 20481, utf8))

    assert s3.get_bucket_policy(Bucket=DEMO_APP_BUCKET)["Policy"] == before


# ---- KMS key policy: 32 KB, bytes as sent --------------------------------------------


def key_document(padding: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"Root{padding}",
                "Effect": "Allow",
                "Principal": {"AWS": ROOT},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def test_create_key_takes_a_policy_of_exactly_32_kb_and_refuses_one_byte_more(
    aws: Client,
) -> None:
    kms = aws("kms")
    keys_before = len(kms.list_keys()["Keys"])

    key_id = kms.create_key(Policy=padded(key_document, 32768, utf8))["KeyMetadata"]["KeyId"]
    assert utf8(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == 32768

    with aws_error("LimitExceededException"):
        kms.create_key(Policy=padded(key_document, 32769, utf8))
    assert len(kms.list_keys()["Keys"]) == keys_before + 1


def test_put_key_policy_refuses_one_byte_over_32_kb_and_keeps_the_policy(aws: Client) -> None:
    kms = aws("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=padded(key_document, 32768, utf8))

    with aws_error("LimitExceededException"):
        kms.put_key_policy(
            KeyId=key_id, PolicyName="default", Policy=padded(key_document, 32769, utf8)
        )

    assert utf8(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == 32768


# ---- SNS topic policy: 30 KB and 100 statements ---------------------------------------


def topic_statement(sid: str, padding: str = "") -> dict[str, Any]:
    return {
        "Sid": f"{sid}{padding}",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": "SNS:Publish",
        "Resource": TOPIC_ARN,
    }


def topic_document(padding: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [topic_statement("Owner", padding)]}


def test_topic_policy_of_exactly_30_kb_is_stored_one_byte_more_is_refused(aws: Client) -> None:
    sns = aws("sns")
    sns.set_topic_attributes(
        TopicArn=TOPIC_ARN,
        AttributeName="Policy",
        AttributeValue=padded(topic_document, 30720, utf8),
    )

    with aws_error("InvalidParameter", message="Policy"):
        sns.set_topic_attributes(
            TopicArn=TOPIC_ARN,
            AttributeName="Policy",
            AttributeValue=padded(topic_document, 30721, utf8),
        )

    stored = sns.get_topic_attributes(TopicArn=TOPIC_ARN)["Attributes"]["Policy"]
    assert utf8(compact(json.loads(stored))) == 30720


def test_topic_policy_with_101_statements_is_refused(aws: Client) -> None:
    sns = aws("sns")

    def statements(n: int) -> str:
        return compact(
            {"Version": "2012-10-17", "Statement": [topic_statement(f"S{i}") for i in range(n)]}
        )

    sns.set_topic_attributes(
        TopicArn=TOPIC_ARN, AttributeName="Policy", AttributeValue=statements(100)
    )
    with aws_error("InvalidParameter", message="101 statements"):
        sns.set_topic_attributes(
            TopicArn=TOPIC_ARN, AttributeName="Policy", AttributeValue=statements(101)
        )
    with aws_error("InvalidParameter"):
        sns.create_topic(Name="too-many-statements", Attributes={"Policy": statements(101)})


# ---- IAM: trust policy 2,048 and inline policies 10,240 characters, white space free --


def trust_document(padding: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"CloudTrail{padding}",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def test_create_role_trust_policy_limit_does_not_count_white_space(aws: Client) -> None:
    iam = aws("iam")
    text = padded(trust_document, 2048, non_space)
    pretty = json.dumps(json.loads(text), indent=8)
    assert len(pretty) > 2048

    iam.create_role(RoleName="AtTheLimit", AssumeRolePolicyDocument=pretty)

    with aws_error("LimitExceeded", message="ACLSizePerRole: 2048"):
        iam.create_role(
            RoleName="OverTheLimit",
            AssumeRolePolicyDocument=padded(trust_document, 2049, non_space),
        )
    names = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert "AtTheLimit" in names and "OverTheLimit" not in names


def test_update_assume_role_policy_refuses_one_character_over(aws: Client) -> None:
    iam = aws("iam")
    iam.create_role(RoleName="Growing", AssumeRolePolicyDocument=compact(trust_document("")))
    iam.update_assume_role_policy(
        RoleName="Growing", PolicyDocument=padded(trust_document, 2048, non_space)
    )

    with aws_error("LimitExceeded", message="ACLSizePerRole"):
        iam.update_assume_role_policy(
            RoleName="Growing", PolicyDocument=padded(trust_document, 2049, non_space)
        )

    stored = iam.get_role(RoleName="Growing")["Role"]["AssumeRolePolicyDocument"]
    assert non_space(compact(stored)) == 2048


def permissions_document(padding: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": "logs:PutLogEvents",
                "Resource": f"arn:aws:logs:us-east-1:{DEMO_ACCOUNT}:log-group:g{padding}",
            }
        ],
    }


def test_put_role_policy_counts_every_inline_policy_of_the_role(aws: Client) -> None:
    iam = aws("iam")
    iam.create_role(RoleName="Delivery", AssumeRolePolicyDocument=compact(trust_document("")))
    first = padded(permissions_document, 6000, non_space)
    iam.put_role_policy(RoleName="Delivery", PolicyName="first", PolicyDocument=first)
    # Replacing a policy counts only its new text: 6,000 + 4,240 = 10,240.
    iam.put_role_policy(RoleName="Delivery", PolicyName="first", PolicyDocument=first)
    iam.put_role_policy(
        RoleName="Delivery",
        PolicyName="second",
        PolicyDocument=padded(permissions_document, 4240, non_space),
    )

    with aws_error("LimitExceeded", message="Maximum policy size of 10240 bytes exceeded"):
        iam.put_role_policy(
            RoleName="Delivery",
            PolicyName="second",
            PolicyDocument=padded(permissions_document, 4241, non_space),
        )
    with aws_error("LimitExceeded"):
        iam.put_role_policy(
            RoleName="Delivery",
            PolicyName="third",
            PolicyDocument=padded(permissions_document, 200, non_space),
        )
    assert sorted(iam.list_role_policies(RoleName="Delivery")["PolicyNames"]) == [
        "first",
        "second",
    ]


# ---- CloudTrail: event selectors, trails per region, tags -----------------------------


@pytest.fixture
def trail(aws: Client) -> str:
    aws("cloudtrail").create_trail(Name="limits", S3BucketName=DEMO_CENTRAL_BUCKET)
    return "limits"


def advanced(values: int, *, length: int = 30) -> list[dict[str, Any]]:
    """Data-event selectors holding ``values`` values in all (two fixed ones per selector)."""
    prefixes = [f"arn:aws:s3:::b{i}/".ljust(length, "x") for i in range(values - 2)]
    return [
        {
            "Name": "s3",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "resources.ARN", "StartsWith": prefixes},
            ],
        }
    ]


def test_advanced_selectors_take_500_values_and_refuse_501(aws: Client, trail: str) -> None:
    cloudtrail = aws("cloudtrail")
    cloudtrail.put_event_selectors(TrailName=trail, AdvancedEventSelectors=advanced(500))

    with aws_error("InvalidEventSelectorsException", message="501 values"):
        cloudtrail.put_event_selectors(TrailName=trail, AdvancedEventSelectors=advanced(501))

    stored = cloudtrail.get_event_selectors(TrailName=trail)["AdvancedEventSelectors"]
    assert len(stored[0]["FieldSelectors"][2]["StartsWith"]) == 498


def test_advanced_selector_value_longer_than_2048_is_refused(aws: Client, trail: str) -> None:
    cloudtrail = aws("cloudtrail")
    cloudtrail.put_event_selectors(TrailName=trail, AdvancedEventSelectors=advanced(3, length=2048))
    with aws_error("InvalidEventSelectorsException", message="2,049 characters"):
        cloudtrail.put_event_selectors(
            TrailName=trail, AdvancedEventSelectors=advanced(3, length=2049)
        )


def basic(selectors: int, resources: int) -> list[dict[str, Any]]:
    """``selectors`` basic selectors sharing ``resources`` data resource values."""
    out: list[dict[str, Any]] = []
    for s in range(selectors):
        values = [f"arn:aws:s3:::b{i}/" for i in range(resources) if i % selectors == s]
        out.append(
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": s == 0,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": values}] if values else [],
            }
        )
    return out


def test_basic_selectors_limits_5_selectors_and_250_data_resources(aws: Client, trail: str) -> None:
    cloudtrail = aws("cloudtrail")
    cloudtrail.put_event_selectors(TrailName=trail, EventSelectors=basic(5, 250))

    with aws_error("InvalidEventSelectorsException", message="6 event selectors"):
        cloudtrail.put_event_selectors(TrailName=trail, EventSelectors=basic(6, 6))
    with aws_error("InvalidEventSelectorsException", message="251 data resources"):
        cloudtrail.put_event_selectors(TrailName=trail, EventSelectors=basic(2, 251))

    assert len(cloudtrail.get_event_selectors(TrailName=trail)["EventSelectors"]) == 5


def test_a_multi_region_trail_counts_in_every_region(aws: Client) -> None:
    aws("cloudtrail", "us-west-2").create_trail(
        Name="everywhere", S3BucketName=DEMO_CENTRAL_BUCKET, IsMultiRegionTrail=True
    )
    cloudtrail = aws("cloudtrail")
    for i in range(4):
        cloudtrail.create_trail(Name=f"local-{i}", S3BucketName=DEMO_CENTRAL_BUCKET)

    with aws_error("MaximumNumberOfTrailsExceededException"):
        cloudtrail.create_trail(Name="local-4", S3BucketName=DEMO_CENTRAL_BUCKET)


def tags(n: int, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: f"k{i}", value: "v"} for i in range(n)]


def test_trail_tags_limit_is_50(aws: Client) -> None:
    cloudtrail = aws("cloudtrail")
    arn = cloudtrail.create_trail(
        Name="tagged", S3BucketName=DEMO_CENTRAL_BUCKET, TagsList=tags(50)
    )["TrailARN"]

    with aws_error("TagsLimitExceededException"):
        cloudtrail.create_trail(
            Name="overtagged", S3BucketName=DEMO_CENTRAL_BUCKET, TagsList=tags(51)
        )
    with aws_error("TagsLimitExceededException"):
        cloudtrail.add_tags(ResourceId=arn, TagsList=[{"Key": "one-more", "Value": "v"}])

    names = [t["Name"] for t in cloudtrail.describe_trails()["trailList"]]
    assert "tagged" in names and "overtagged" not in names
    listed = cloudtrail.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert len(listed) == 50


# ---- tags on the other resources the wizard creates -----------------------------------


def test_kms_key_tags_limit_is_50(aws: Client) -> None:
    kms = aws("kms")
    keys_before = len(kms.list_keys()["Keys"])
    key_id = kms.create_key(Tags=tags(50, "TagKey", "TagValue"))["KeyMetadata"]["KeyId"]

    with aws_error("TagException"):
        kms.create_key(Tags=tags(51, "TagKey", "TagValue"))
    with aws_error("TagException"):
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "one-more", "TagValue": "v"}])

    assert len(kms.list_keys()["Keys"]) == keys_before + 1
    assert len(kms.list_resource_tags(KeyId=key_id)["Tags"]) == 50


def test_bucket_tags_limit_is_50(aws: Client) -> None:
    s3 = aws("s3")
    s3.put_bucket_tagging(Bucket=DEMO_APP_BUCKET, Tagging={"TagSet": tags(50)})

    with aws_error("InvalidTag"):
        s3.put_bucket_tagging(Bucket=DEMO_APP_BUCKET, Tagging={"TagSet": tags(51)})

    assert len(s3.get_bucket_tagging(Bucket=DEMO_APP_BUCKET)["TagSet"]) == 50


def test_topic_tags_limit_is_50(aws: Client) -> None:
    sns = aws("sns")
    sns.create_topic(Name="tagged", Tags=tags(50))

    with aws_error("TagLimitExceeded"):
        sns.create_topic(Name="overtagged", Tags=tags(51))

    arns = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert any(a.endswith(":tagged") for a in arns)
    assert not any(a.endswith(":overtagged") for a in arns)


def test_log_group_tags_limit_is_50(aws: Client) -> None:
    logs = aws("logs")
    logs.create_log_group(logGroupName="tagged", tags={f"k{i}": "v" for i in range(50)})

    with aws_error("TooManyTagsException"):
        logs.create_log_group(logGroupName="overtagged", tags={f"k{i}": "v" for i in range(51)})
    group_arn = f"arn:aws:logs:us-east-1:{DEMO_ACCOUNT}:log-group:{DEMO_LOG_GROUP}"
    logs.tag_resource(resourceArn=group_arn, tags={f"k{i}": "v" for i in range(50)})
    with aws_error("TooManyTagsException"):
        logs.tag_resource(resourceArn=group_arn, tags={"one-more": "v"})

    names = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    assert "tagged" in names and "overtagged" not in names


def test_role_tags_limit_is_50(aws: Client) -> None:
    iam = aws("iam")
    trust = compact(trust_document(""))
    iam.create_role(RoleName="Tagged", AssumeRolePolicyDocument=trust, Tags=tags(50))
    with pytest.raises(ClientError):
        iam.create_role(RoleName="Overtagged", AssumeRolePolicyDocument=trust, Tags=tags(51))
    assert "Overtagged" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
