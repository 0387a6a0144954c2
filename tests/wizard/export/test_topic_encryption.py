"""One rule for the SNS topic's encryption in apply, the AWS CLI script and the template.

A new topic is encrypted with the trail's new key when that key is in the topic's region
(:func:`wizard.policy.policies.encrypts_topic`); the key policy then carries AWS's statement
for an encrypted CloudTrail topic (``kms:GenerateDataKey*`` and ``kms:Decrypt`` for
``cloudtrail.amazonaws.com``), narrowed to the topic by SNS's encryption context. Every
output is checked against the same rule for the same answers, and apply is run on the
sandbox over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_fixtures import ACCOUNT
from tests.wizard.export.test_cloudformation import load_template
from wizard.engine import Engine
from wizard.export.cloudformation import cloudformation_template, template_checks
from wizard.export.text import plan_to_cli
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.plan.offline import offline_plan
from wizard.policy.policies import build_policies, encrypts_topic, key_topic_statement

TOPIC = "trail-notes"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:{TOPIC}"
SID = "AllowCloudTrailPublishToEncryptedTopic"

CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "new key, same region": ({"type": "sse-kms", "key": "new"}, True),
    "existing key": ({"type": "sse-kms", "key": "alias/cloudtrail-ready"}, False),
    "sse-s3": ({"type": "sse-s3"}, False),
}


def answers(encryption: dict[str, Any], **bucket: Any) -> Answers:
    return Answers.model_validate(
        {
            "trail": {"name": "topic-trail", "region": "us-east-1"},
            "bucket": {"name": f"topic-trail-logs-{ACCOUNT}", **bucket},
            "encryption": encryption,
            "notifications": {"sns_topic": TOPIC},
        }
    )


def ctx() -> AccountContext:
    return AccountContext(account_id=ACCOUNT, region="us-east-1")


def statements(policy: Any) -> list[dict[str, Any]]:
    doc = json.loads(policy) if isinstance(policy, str) else policy
    found = doc["Statement"]
    return found if isinstance(found, list) else [found]


def topic_statement(policy: Any) -> dict[str, Any] | None:
    return next((s for s in statements(policy) if s.get("Sid") == SID), None)


def test_the_statement_is_awss_narrowed_to_the_topic() -> None:
    statement = key_topic_statement(TOPIC_ARN)

    assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert statement["Resource"] == "*"
    # SNS's encryption context pins it to the topic; no aws:SourceArn, which AWS does not
    # document CloudTrail's publishes carrying.
    assert statement["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": TOPIC_ARN}
    }


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_output_follows_the_same_rule(case: str) -> None:
    encryption, encrypted = CASES[case]
    parsed = answers(encryption)
    names = Names(parsed, ctx())
    assert encrypts_topic(names, names.bucket_region()) is encrypted

    # The offline policies (the `policies` command).
    key = build_policies(parsed, ctx()).key_policy
    assert (key is not None and topic_statement(key) is not None) is encrypted

    # The plan apply runs, and the AWS CLI script made from it.
    built = offline_plan(parsed, ctx())
    create = built.plan.step("create-topic")
    attributes = create.call.params["Attributes"]
    script = plan_to_cli(built.plan, notes=built.notes, guards=built.guards)
    if encrypted:
        assert attributes["KmsMasterKeyId"] == "${create-key:KeyMetadata.Arn}"
        assert "create-key" in create.depends_on
        assert topic_statement(built.plan.policies["key_policy"]) == key_topic_statement(TOPIC_ARN)
        assert '"KmsMasterKeyId":"\'"$CREATE_KEY_KEYMETADATA_ARN"\'"' in script
    else:
        assert "KmsMasterKeyId" not in attributes
        assert "KmsMasterKeyId" not in script

    # The CloudFormation template.
    doc = load_template(cloudformation_template(parsed, ctx()))
    topic = doc["Resources"]["NotificationTopic"]["Properties"]
    assert ("KmsMasterKeyId" in topic) is encrypted
    if encrypted:
        assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["TrailKey", "Arn"]}
        cfn_statement = topic_statement(doc["Resources"]["TrailKey"]["Properties"]["KeyPolicy"])
        assert cfn_statement is not None
        topic_arn = "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${TopicName}"
        assert cfn_statement == {
            **key_topic_statement(TOPIC_ARN),
            "Condition": {
                "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": {"Fn::Sub": topic_arn}}
            },
        }
    assert template_checks(parsed, ctx())["CKV_AWS_26"] is encrypted


def test_a_key_in_another_region_leaves_the_topic_unencrypted_everywhere() -> None:
    parsed = answers({"type": "sse-kms", "key": "new"}, region="eu-west-1")
    names = Names(parsed, ctx())

    assert not encrypts_topic(names, names.bucket_region())
    assert topic_statement(build_policies(parsed, ctx()).key_policy) is None
    plan = offline_plan(parsed, ctx()).plan
    assert "KmsMasterKeyId" not in plan.step("create-topic").call.params["Attributes"]
    text = cloudformation_template(parsed, ctx())
    assert (
        "KmsMasterKeyId" not in load_template(text)["Resources"]["NotificationTopic"]["Properties"]
    )
    prose = " ".join(word for word in text.split() if word != "#")  # comments, unwrapped
    assert "a topic can only use a key of its own region" in prose


def test_apply_encrypts_the_topic_with_the_new_key(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    parsed = answers({"type": "sse-kms", "key": "new"})

    plan, found = engine.plan(parsed)
    outcome = engine.apply(parsed, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "applied", outcome.report.message
    trail = aws("cloudtrail").get_trail(Name="topic-trail")["Trail"]
    key_arn = trail["KmsKeyId"]
    attributes = aws("sns").get_topic_attributes(TopicArn=trail["SnsTopicARN"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == key_arn
    policy = aws("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
    assert topic_statement(policy) == key_topic_statement(TOPIC_ARN)
