"""Tests for the CloudFormation export (wizard.export.cloudformation) and ``export --format
cloudformation``.

Every example answers file (plus two variants that exercise the remaining branches: weak
choices, and existing key/topic/role/bucket) is rendered once. Each template must parse as
YAML with CloudFormation's short tags, hold the expected resources and parameters, carry the
wizard's own policies (checked by resolving the intrinsics with concrete values and comparing
with wizard.policy.policies), pass cfn-lint without errors (one cfn-lint run over all templates) and
get from checkov exactly the failures the answers chose, each explained by a comment next to a
resource (one checkov run over all templates).

checkov pins boto3 exactly and so lives outside the project's virtualenv: it is looked up in
``$CHECKOV``, in this checkout's ``.venv-checkov`` (where ``make`` puts it), next to this Python,
on PATH, then in ``~/.local/bin`` (where pipx puts it). When no executable is found the checkov
tests fail (they do not skip) and say how to install it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from screens.cli.main import main
from screens.common.errors import EXIT_INVALID, EXIT_OK
from wizard.export.cloudformation import cloudformation_template, failing_check_ids, template_checks
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.context import AccountContext, Names
from wizard.plan.planner.logs import ROLE_POLICY_NAME
from wizard.plan.selectors import (
    MANAGEMENT_SELECTOR_NAME,
    advanced_event_selectors,
    aggregation_configurations,
    event_selection,
    insight_selectors,
)
from wizard.policy.policies import (
    access_log_bucket_policy,
    bucket_cloudtrail_statements,
    bucket_policy,
    cloudwatch_role_policy,
    cloudwatch_role_trust_policy,
    encrypts_log_group,
    encrypts_topic,
    key_cloudtrail_statements,
    key_policy,
    topic_policy,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = {p.stem: p for p in sorted((ROOT / "examples").glob("*.yaml"))}
ACCOUNT = "123456789012"
ORG_ID = "o-a1b2c3d4e5"

VARIANTS: dict[str, dict[str, Any]] = {
    # Every choice a scanner flags: SSE-S3, one region, no validation, no versioning, 90 days.
    "variant-weak-choices": {
        "trail": {
            "name": "weak-trail",
            "region": "eu-west-1",
            "multi_region": False,
            "log_file_validation": False,
        },
        "bucket": {"name": "weak-trail-logs-123456789012", "versioning": False, "prefix": "a/b"},
        "encryption": {"type": "sse-s3"},
        "notifications": {"sns_topic": "weak-topic"},
        "cloudwatch_logs": {"log_group": "weak-group", "retention_days": 90},
        "events": {"management": "write", "data": [{"type": "lambda"}]},
    },
    # Everything exists already: only the log group and the trail are created.
    "variant-existing-resources": {
        "trail": {"name": "shared-trail", "region": "us-east-1", "tags": {"team": "sec"}},
        "bucket": {"name": "central-logs-bucket", "create": False},
        "encryption": {
            "type": "sse-kms",
            "key": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        },
        "notifications": {"sns_topic": "arn:aws:sns:us-east-1:123456789012:existing-topic"},
        "cloudwatch_logs": {
            "log_group": "shared-group",
            "role": "arn:aws:iam::123456789012:role/ExistingCloudTrailRole",
        },
    },
}
VARIANTS["variant-advanced-events"] = {
    # Every kind of event the answers can ask for: advanced selectors (S3 for every bucket
    # but the log buckets, a filtered Lambda selector, another resource type, network
    # activity), Insights on management and data events, and data event aggregation.
    "trail": {"name": "events-trail", "region": "us-east-1"},
    "bucket": {"name": "events-trail-logs-123456789012"},
    "events": {
        "data": [
            {"type": "s3", "read_write": "write"},
            {"type": "s3", "read_write": "read"},
            {
                "type": "lambda",
                "conditions": [{"field": "eventName", "operator": "Equals", "values": ["Invoke"]}],
            },
            {"type": "AWS::SNS::Topic", "name": "Publish to topics"},
        ],
        "network": [{"source": "kms.amazonaws.com", "denied_only": True}],
        "insights": ["ApiCallRateInsight"],
        "data_insights": ["ApiCallRateInsight", "ApiErrorRateInsight"],
        "aggregation": ["API_ACTIVITY", "RESOURCE_ACCESS"],
    },
}
NAMES = [*EXAMPLES, *VARIANTS]

SSE_S3 = {"new-bucket-sse-s3", "existing-bucket-prefix", "variant-weak-choices"}
SECURE_DEFAULTS = {
    "cloudwatch-and-sns",
    "organization-trail",
    "sse-kms-existing-key",
    "sse-kms-new-key",
}
CLOUDTRAIL_CHECKS = {"CKV_AWS_35", "CKV_AWS_36", "CKV_AWS_67", "CKV_AWS_252", "CKV2_AWS_10"}
LOG_BUCKET_CHECKS = {
    "CKV_AWS_18",  # access logging: passes while the property is present (see AccessLogBucket)
    "CKV_AWS_19",
    "CKV_AWS_20",
    "CKV_AWS_21",
    "CKV_AWS_53",
    "CKV_AWS_54",
    "CKV_AWS_55",
    "CKV_AWS_56",
    "CKV_AWS_57",
}

# Resources and parameters each template must have, exactly.
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "cloudwatch-and-sns": (
        {
            "TrailKey",
            "TrailKeyAlias",
            "LogBucket",
            "LogBucketPolicy",
            "NotificationTopic",
            "NotificationTopicPolicy",
            "TrailLogGroup",
            "CloudWatchLogsRole",
            "CloudWatchLogsRolePolicy",
            "Trail",
        },
        {
            "TrailName",
            "BucketName",
            "AccessLogBucket",
            "KeyAlias",
            "TopicName",
            "LogGroupName",
            "RetentionInDays",
            "CloudWatchLogsRoleName",
        },
    ),
    "access-logging": (
        {
            "ServerAccessLogBucket",
            "ServerAccessLogBucketPolicy",
            "LogBucket",
            "LogBucketPolicy",
            "Trail",
        },
        {"TrailName", "BucketName", "AccessLogBucket", "AccessLogPrefix"},
    ),
    "existing-bucket-prefix": ({"Trail"}, {"TrailName", "BucketName", "LogPrefix"}),
    "new-bucket-sse-s3": (
        {"LogBucket", "LogBucketPolicy", "Trail"},
        {"TrailName", "BucketName", "AccessLogBucket"},
    ),
    "organization-trail": (
        {"TrailKey", "TrailKeyAlias", "LogBucket", "LogBucketPolicy", "Trail"},
        {"TrailName", "BucketName", "LogPrefix", "OrganizationId", "AccessLogBucket", "KeyAlias"},
    ),
    "sse-kms-existing-key": (
        {"LogBucket", "LogBucketPolicy", "Trail"},
        {"TrailName", "BucketName", "AccessLogBucket", "KmsKeyId"},
    ),
    "sse-kms-new-key": (
        {"TrailKey", "TrailKeyAlias", "LogBucket", "LogBucketPolicy", "Trail"},
        {"TrailName", "BucketName", "AccessLogBucket", "KeyAlias"},
    ),
    "variant-weak-choices": (
        {
            "LogBucket",
            "LogBucketPolicy",
            "NotificationTopic",
            "NotificationTopicPolicy",
            "TrailLogGroup",
            "CloudWatchLogsRole",
            "CloudWatchLogsRolePolicy",
            "Trail",
        },
        {
            "TrailName",
            "BucketName",
            "LogPrefix",
            "AccessLogBucket",
            "TopicName",
            "LogGroupName",
            "RetentionInDays",
            "CloudWatchLogsRoleName",
        },
    ),
    "variant-advanced-events": (
        {"TrailKey", "TrailKeyAlias", "LogBucket", "LogBucketPolicy", "Trail"},
        {"TrailName", "BucketName", "AccessLogBucket", "KeyAlias"},
    ),
    "variant-existing-resources": (
        {"TrailLogGroup", "Trail"},
        {
            "TrailName",
            "BucketName",
            "KmsKeyId",
            "SnsTopicArn",
            "LogGroupName",
            "RetentionInDays",
            "CloudWatchLogsRoleArn",
        },
    ),
}


# --------------------------------------------------------------------------- loading


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that also reads CloudFormation's short intrinsic tags (as the long form)."""


def _intrinsic(tag: str, node: yaml.Node, loader: CfnLoader) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if tag == "Ref":
        return {"Ref": value}
    if tag == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    if tag == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag}": value}


for _tag in ("Ref", "Sub", "GetAtt", "If", "Equals", "Not", "And", "Or", "Join", "Select"):
    CfnLoader.add_constructor(
        f"!{_tag}",
        lambda loader, node, tag=_tag: _intrinsic(tag, node, loader),  # type: ignore[misc]
    )


def load_template(text: str) -> dict[str, Any]:
    document = yaml.load(text, Loader=CfnLoader)  # a SafeLoader subclass
    assert isinstance(document, dict)
    return document


def _ctx(answers: Answers) -> AccountContext:
    return AccountContext(
        account_id=ACCOUNT,
        region="us-east-1",
        organization_id=ORG_ID if answers.trail.organization else None,
    )


@functools.cache
def answers_for(name: str) -> Answers:
    if name in VARIANTS:
        return Answers.model_validate(VARIANTS[name])
    return load_answers(str(EXAMPLES[name]))


@functools.cache
def rendered(name: str) -> str:
    answers = answers_for(name)
    return cloudformation_template(answers, _ctx(answers))


def template(name: str) -> dict[str, Any]:
    return load_template(rendered(name))


# --------------------------------------------------------------------------- resolving


def _env(name: str) -> dict[str, str]:
    """Concrete values for every ``${...}``, ``!Ref`` and ``!GetAtt`` of a template."""
    answers = answers_for(name)
    names = Names(answers, _ctx(answers))
    doc = template(name)
    env = {
        "AWS::Partition": "aws",
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": names.home_region,
        "LogBucket": answers.bucket.name,
        "LogBucket.Arn": names.bucket_arn,
        "TrailKey": "KEY-ID",
        "TrailKey.Arn": "KEY-ARN",
        "Trail.Arn": names.trail_arn,
    }
    for param, body in doc["Parameters"].items():
        if "Default" in body:
            env[param] = str(body["Default"])
    env["Condition:HasAccessLogBucket"] = "true" if env.get("AccessLogBucket") else ""
    if answers.bucket.access_logs is not None:
        target = answers.bucket.access_logs.bucket
        env["ServerAccessLogBucket"] = target
        env["ServerAccessLogBucket.Arn"] = f"arn:aws:s3:::{target}"
    if answers.cloudwatch_logs.log_group:
        env["TrailLogGroup"] = answers.cloudwatch_logs.log_group
        env["TrailLogGroup.Arn"] = names.log_group_arn or ""
        env["CloudWatchLogsRole.Arn"] = names.role_arn or ""
    if names.topic_arn:
        env["NotificationTopic"] = names.topic_arn
        env["NotificationTopic.TopicName"] = answers.notifications.topic_name or ""
    return env


_NO_VALUE = object()
"""What ``!Ref AWS::NoValue`` resolves to: the item is left out of its list."""


def resolve(value: Any, env: dict[str, str]) -> Any:
    """The value with every intrinsic replaced by what CloudFormation would put there.

    ``!If`` reads its condition from ``env`` (``Condition:NAME``: ``"true"`` or ``""``).
    """
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return _NO_VALUE if value["Ref"] == "AWS::NoValue" else env[value["Ref"]]
        if set(value) == {"Fn::If"}:
            condition, when_true, when_false = value["Fn::If"]
            return resolve(when_true if env[f"Condition:{condition}"] else when_false, env)
        if set(value) == {"Fn::GetAtt"}:
            return env[".".join(value["Fn::GetAtt"])]
        if set(value) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}]+)\}", lambda m: env[m[1]], value["Fn::Sub"])
        return {k: resolve(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [item for item in (resolve(v, env) for v in value) if item is not _NO_VALUE]
    return value


def _resource(name: str, logical_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = template(name)["Resources"][logical_id]
    return resource


def _comment_blocks(text: str) -> dict[str, str]:
    """Per top-level resource, the comment lines right above it."""
    blocks: dict[str, str] = {}
    lines = text.split("\n")
    start = lines.index("Resources:")
    pending: list[str] = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        if line.startswith("  # "):
            pending.append(line[4:])
        elif re.match(r"^  [A-Za-z0-9]+:$", line):
            blocks[line.strip(" :")] = " ".join(pending)
            pending = []
    return blocks


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("name", NAMES)
def test_template_parses_with_the_expected_resources_and_parameters(name: str) -> None:
    doc = template(name)
    resources, parameters = EXPECTED[name]
    assert doc["AWSTemplateFormatVersion"] == "2010-09-09"
    assert set(doc["Resources"]) == resources
    assert set(doc["Parameters"]) == parameters
    answers = answers_for(name)
    defaults = {p: body.get("Default") for p, body in doc["Parameters"].items()}
    assert defaults["TrailName"] == answers.trail.name
    assert defaults["BucketName"] == answers.bucket.name
    if "LogPrefix" in defaults:
        assert defaults["LogPrefix"] == answers.bucket.prefix
    if "LogGroupName" in defaults:
        assert defaults["LogGroupName"] == answers.cloudwatch_logs.log_group
        assert defaults["RetentionInDays"] == answers.cloudwatch_logs.retention_days
    if "OrganizationId" in defaults:
        assert defaults["OrganizationId"] == ORG_ID
    assert set(doc["Outputs"]) >= {"TrailArn", "BucketName"}
    assert ("KeyArn" in doc["Outputs"]) == (answers.encryption.type == "sse-kms")


@pytest.mark.parametrize("name", NAMES)
def test_trail_follows_the_answers(name: str) -> None:
    answers = answers_for(name)
    trail = _resource(name, "Trail")
    props = trail["Properties"]
    t = answers.trail
    assert props["IsLogging"] is True
    assert props["IsMultiRegionTrail"] is t.multi_region
    assert props["EnableLogFileValidation"] is t.log_file_validation
    assert props["IncludeGlobalServiceEvents"] is t.include_global_events
    assert props.get("IsOrganizationTrail", False) is t.organization
    assert ("KMSKeyId" in props) == (answers.encryption.type == "sse-kms")
    assert ("SnsTopicName" in props) == (answers.notifications.sns_topic is not None)
    assert ("S3KeyPrefix" in props) == bool(answers.bucket.prefix)
    if answers.cloudwatch_logs.enabled:
        # The log group's Arn attribute ends in ":*", the form CloudTrail accepts.
        assert props["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": ["TrailLogGroup", "Arn"]}
        assert "CloudWatchLogsRoleArn" in props
    if answers.bucket.create:
        assert "LogBucketPolicy" in trail["DependsOn"]
    if answers.notifications.sns_topic and not answers.notifications.topic_is_arn:
        assert "NotificationTopicPolicy" in trail["DependsOn"]
    env = _env(name)
    names = Names(answers, _ctx(answers))
    selection = event_selection(answers, names)
    if selection.basic is not None:
        # Basic selectors wherever they can say it, as the planner sends them.
        assert props["EventSelectors"] == list(selection.basic)
        assert "AdvancedEventSelectors" not in props
    else:
        assert "EventSelectors" not in props
        selectors = resolve(props["AdvancedEventSelectors"], env)
        assert selectors == advanced_event_selectors(answers, names)
        if answers.events.management != "none":
            assert selectors[0]["Name"] == MANAGEMENT_SELECTOR_NAME
    assert props.get("InsightSelectors", []) == insight_selectors(answers)
    assert props.get("AggregationConfigurations", []) == aggregation_configurations(answers)
    tags = [{"Key": k, "Value": v} for k, v in sorted(t.tags.items())]
    assert props.get("Tags", []) == tags


@pytest.mark.parametrize("name", NAMES)
def test_policies_are_the_wizards_own(name: str) -> None:
    """Resolved with this account's values, each policy is what wizard.policy.policies builds."""
    answers = answers_for(name)
    ctx = _ctx(answers)
    names = Names(answers, ctx)
    env = _env(name)
    resources = template(name)["Resources"]
    if answers.bucket.create:
        doc = resolve(resources["LogBucketPolicy"]["Properties"]["PolicyDocument"], env)
        assert doc == bucket_policy(names, ctx.organization_id)
        bucket = resources["LogBucket"]["Properties"]
        assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"),
            True,
        )
        assert bucket["OwnershipControls"] == {
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
        }
        assert ("VersioningConfiguration" in bucket) == answers.bucket.versioning
        rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        algorithm = rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
        assert algorithm == ("aws:kms" if answers.encryption.type == "sse-kms" else "AES256")
    if "ServerAccessLogBucketPolicy" in resources:
        policy = resources["ServerAccessLogBucketPolicy"]["Properties"]["PolicyDocument"]
        assert resolve(policy, env) == access_log_bucket_policy(names)
        logging = resolve(resources["LogBucket"]["Properties"]["LoggingConfiguration"], env)
        assert answers.bucket.access_logs is not None
        assert logging == {
            "DestinationBucketName": answers.bucket.access_logs.bucket,
            "LogFilePrefix": answers.bucket.access_logs.prefix,
        }
        target = resources["ServerAccessLogBucket"]["Properties"]
        rule = target["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert set(target["PublicAccessBlockConfiguration"].values()) == {True}
    if answers.encryption.new_key:
        key = resources["TrailKey"]["Properties"]
        assert key["EnableKeyRotation"] is answers.encryption.rotation
        assert key["KeySpec"] == "SYMMETRIC_DEFAULT"
        policy = resolve(key["KeyPolicy"], env)
        # The topic's and the log group's statements too, when the new key encrypts them
        # (the rules apply follows): exactly apply's policy.
        region = names.bucket_region()
        wizard = key_policy(
            names,
            topic=encrypts_topic(names, region),
            log_group=encrypts_log_group(names, region),
        )
        assert policy["Statement"] == wizard["Statement"]
        alias = resources["TrailKeyAlias"]["Properties"]
        assert resolve(alias["AliasName"], env) == names.key_alias()
    if "NotificationTopicPolicy" in resources:
        doc = resolve(resources["NotificationTopicPolicy"]["Properties"]["PolicyDocument"], env)
        assert doc == topic_policy(names)
    if "CloudWatchLogsRole" in resources:
        role = resources["CloudWatchLogsRole"]["Properties"]
        assert resolve(role["AssumeRolePolicyDocument"], env) == cloudwatch_role_trust_policy(names)
        inline = resources["CloudWatchLogsRolePolicy"]["Properties"]
        assert resolve(inline["PolicyDocument"], env) == cloudwatch_role_policy(
            names, ctx.organization_id
        )
        assert resolve(role["RoleName"], env) == names.role_name


@pytest.mark.parametrize("name", NAMES)
def test_the_trail_waits_for_the_delivery_role_and_its_policy(name: str) -> None:
    """IAM takes seconds to make a new role usable and CloudTrail checks it at CreateTrail:
    the permissions are a resource of their own, created after the role, and the trail
    depends on it (and, through its ARN, on the role)."""
    resources = template(name)["Resources"]
    if "CloudWatchLogsRole" not in resources:
        assert "CloudWatchLogsRolePolicy" not in resources
        return
    role = resources["CloudWatchLogsRole"]
    assert "Policies" not in role["Properties"]  # no inline policy racing the trail
    policy = resources["CloudWatchLogsRolePolicy"]
    assert policy["Type"] == "AWS::IAM::RolePolicy"
    assert policy["Properties"]["RoleName"] == {"Ref": "CloudWatchLogsRole"}
    assert policy["Properties"]["PolicyName"] == ROLE_POLICY_NAME
    trail = resources["Trail"]
    assert "CloudWatchLogsRolePolicy" in trail["DependsOn"]
    assert trail["Properties"]["CloudWatchLogsRoleArn"] == {
        "Fn::GetAtt": ["CloudWatchLogsRole", "Arn"]
    }
    blocks = _comment_blocks(rendered(name))
    assert "DependsOn" in blocks["CloudWatchLogsRolePolicy"]


def test_existing_resources_are_parameters_with_statements_to_merge() -> None:
    text = rendered("variant-existing-resources")
    doc = template("variant-existing-resources")
    types = {r["Type"] for r in doc["Resources"].values()}
    assert types == {"AWS::Logs::LogGroup", "AWS::CloudTrail::Trail"}
    props = doc["Resources"]["Trail"]["Properties"]
    assert props["S3BucketName"] == {"Ref": "BucketName"}
    assert props["KMSKeyId"] == {"Ref": "KmsKeyId"}
    assert props["SnsTopicName"] == {"Ref": "SnsTopicArn"}
    assert props["CloudWatchLogsRoleArn"] == {"Ref": "CloudWatchLogsRoleArn"}
    header = text.split("AWSTemplateFormatVersion")[0]
    assert "BEFORE DEPLOYING" in header
    for what in (
        "Bucket policy of the existing bucket central-logs-bucket",
        "Key policy of the existing key arn:aws:kms:",
        "Access policy of the existing topic arn:aws:sns:",
        "The existing role arn:aws:iam::123456789012:role/ExistingCloudTrailRole",
    ):
        assert what in " ".join(line.lstrip("# ") for line in header.split("\n"))
    # The statements to merge are the wizard's, with ${...} for the stack's values.
    statements = json.loads(
        _json_after(header, "Bucket policy of the existing bucket central-logs-bucket")
    )
    answers = answers_for("variant-existing-resources")
    env = _env("variant-existing-resources")
    subbed = [resolve({k: _as_sub(v) for k, v in s.items()}, env) for s in statements]
    assert subbed == bucket_cloudtrail_statements(Names(answers, _ctx(answers)))
    key_statements = json.loads(_json_after(header, "Key policy of the existing key"))
    sids = [s["Sid"] for s in key_statements]
    wanted = [s["Sid"] for s in key_cloudtrail_statements(Names(answers, _ctx(answers)))]
    # An existing key is not widened for the log group (encrypts_log_group), as apply does.
    assert sids == wanted


def _as_sub(value: Any) -> Any:
    """Comment blocks write intrinsics as ``${...}`` text: read them back as ``!Sub``."""
    if isinstance(value, str) and "${" in value:
        return {"Fn::Sub": value}
    if isinstance(value, dict):
        return {k: _as_sub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_sub(v) for v in value]
    return value


def _json_after(header: str, marker: str) -> str:
    """The JSON block printed in the header comments after the line containing ``marker``."""
    lines = [line[2:] if line.startswith("# ") else line[1:] for line in header.split("\n")]
    start = next(i for i, line in enumerate(lines) if marker in line)
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("["))
    last = next(i for i in range(first, len(lines)) if lines[i].startswith("]"))
    return "\n".join(lines[first : last + 1])


@pytest.mark.parametrize("name", NAMES)
def test_choices_that_fail_a_check_are_explained_next_to_a_resource(name: str) -> None:
    text = rendered(name)
    comments = " ".join(_comment_blocks(text).values())
    answers = answers_for(name)
    failing = failing_check_ids(answers, _ctx(answers))
    for check_id in failing:
        assert re.search(rf"\b{check_id}\b.{{0,60}}?\bfails?\b", comments), (check_id, comments)
    header = text.split("AWSTemplateFormatVersion")[0]
    for ids, passes in template_checks(answers, _ctx(answers)).items():
        assert ids in header
        if passes is False:
            assert re.search(rf"FAIL\s+{re.escape(ids)}", header)


def test_sse_s3_fails_cis_4_5_with_the_reason_next_to_the_trail() -> None:
    blocks = _comment_blocks(rendered("new-bucket-sse-s3"))
    assert "CKV_AWS_35 / CIS 4.5" in blocks["Trail"]
    assert "SSE-S3 was chosen (encryption.type: sse-s3)" in blocks["Trail"]
    assert "CKV_AWS_35" in failing_check_ids(
        answers_for("new-bucket-sse-s3"), _ctx(answers_for("new-bucket-sse-s3"))
    )


def test_access_logging_is_one_parameter_away() -> None:
    doc = template("sse-kms-new-key")
    assert doc["Conditions"]["HasAccessLogBucket"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AccessLogBucket"}, ""]}]
    }
    logging = doc["Resources"]["LogBucket"]["Properties"]["LoggingConfiguration"]
    condition, on, off = logging["Fn::If"]
    assert condition == "HasAccessLogBucket"
    assert on["DestinationBucketName"] == {"Ref": "AccessLogBucket"}
    assert off == {"Ref": "AWS::NoValue"}
    assert "CKV_AWS_18" in _comment_blocks(rendered("sse-kms-new-key"))["LogBucket"]


def test_log_data_outlives_the_stack() -> None:
    resources = template("cloudwatch-and-sns")["Resources"]
    for logical_id in ("LogBucket", "TrailKey", "TrailLogGroup"):
        assert resources[logical_id]["DeletionPolicy"] == "Retain"
        assert resources[logical_id]["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("name", NAMES)
def test_same_answers_give_the_same_bytes(name: str) -> None:
    answers = answers_for(name)
    first = cloudformation_template(answers, _ctx(answers))
    again = cloudformation_template(Answers.model_validate(answers.model_dump()), _ctx(answers))
    assert first == again
    assert "&id" not in first and "*id" not in first  # no YAML anchors or aliases
    prose = [line for line in first.split("\n") if re.match(r"^\s*# +[A-Za-z]", line)]
    assert all(len(line) <= 100 for line in prose)


def test_export_command_writes_the_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = EXAMPLES["sse-kms-new-key"]
    assert main(["export", str(example), "--format", "cloudformation"]) == EXIT_OK
    assert capsys.readouterr().out == rendered("sse-kms-new-key")
    out = tmp_path / "trail.yaml"
    code = main(["export", str(example), "--format", "cloudformation", "--output", str(out)])
    assert code == EXIT_OK
    assert out.read_text() == rendered("sse-kms-new-key")
    assert "Wrote CloudFormation template" in capsys.readouterr().err


def test_export_command_org_trail_takes_the_organization_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["export", str(EXAMPLES["organization-trail"]), "--format", "cloudformation"]
    assert main([*args, "--organization-id", ORG_ID]) == EXIT_OK
    doc = load_template(capsys.readouterr().out)
    assert doc["Parameters"]["OrganizationId"]["Default"] == ORG_ID
    assert main(args) == EXIT_OK  # without it, the parameter has no default
    assert "Default" not in load_template(capsys.readouterr().out)["Parameters"]["OrganizationId"]


def test_export_command_cloudformation_is_always_offline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--offline is accepted (a template never needs AWS); options a template cannot use are
    refused instead of being silently ignored."""
    args = ["export", str(EXAMPLES["sse-kms-new-key"]), "--format", "cloudformation"]
    assert main([*args, "--offline"]) == EXIT_OK
    assert capsys.readouterr().out == rendered("sse-kms-new-key")
    for option, value in (
        ("--account", ACCOUNT),
        ("--partition", "aws-cn"),
        ("--management-account", "999988887777"),
    ):
        for extra in ([], ["--offline"]):
            assert main([*args, *extra, option, value]) == EXIT_INVALID
            out, err = capsys.readouterr()
            assert out == ""
            assert f"{option} is not used by --format cloudformation" in err
            assert "${AWS::AccountId}" in err and f"Remove {option}" in err


# --------------------------------------------------------------------------- cfn-lint


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("templates")
    for name in NAMES:
        (directory / f"{name}.yaml").write_text(rendered(name))
    return directory


@pytest.fixture(scope="module")
def cfn_lint_matches(template_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """cfn-lint's findings per template, from one run over all of them."""
    executable = Path(sys.executable).with_name("cfn-lint")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "cfnlint"]
    files = sorted(str(p) for p in template_dir.glob("*.yaml"))
    result = subprocess.run(
        [*command, "--format", "json", "--regions", "us-east-1", "eu-west-1", "--", *files],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 2, 4, 6, 8, 10, 12, 14), result.stderr
    matches: dict[str, list[dict[str, Any]]] = {name: [] for name in NAMES}
    for match in json.loads(result.stdout or "[]"):
        matches[Path(match["Filename"]).stem].append(match)
    return matches


@pytest.mark.parametrize("name", NAMES)
def test_cfn_lint_reports_no_error(name: str, cfn_lint_matches: dict[str, list[Any]]) -> None:
    errors = [
        f"{m['Rule']['Id']}: {m['Message']}"
        for m in cfn_lint_matches[name]
        if m["Level"] == "Error"
    ]
    assert errors == []


# --------------------------------------------------------------------------- checkov


def _checkov() -> str | None:
    candidates = [
        os.environ.get("CHECKOV"),
        str(ROOT / ".venv-checkov" / "bin" / "checkov"),
        str(Path(sys.executable).with_name("checkov")),
        shutil.which("checkov"),
        str(Path.home() / ".local" / "bin" / "checkov"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def checkov_results(template_dir: Path) -> Iterator[dict[str, tuple[set[str], set[str]]]]:
    """Per template: (passed check ids, failed check ids), from one checkov run."""
    executable = _checkov()
    if executable is None:
        pytest.fail(
            "checkov is not installed: it pins boto3 exactly, so it is not in the test extra. "
            "Run `make .venv-checkov/bin/checkov` to install it where the tests look (`make test` "
            "does), or install it with `pipx install checkov==3.3.30`, or set CHECKOV to one.",
            pytrace=False,
        )
    result = subprocess.run(
        [
            executable,
            "-d",
            str(template_dir),
            "--framework",
            "cloudformation",
            "--compact",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=template_dir,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    results: dict[str, tuple[set[str], set[str]]] = {name: (set(), set()) for name in NAMES}
    for part in reports:
        assert part["summary"]["parsing_errors"] == 0
        for outcome, index in (("passed_checks", 0), ("failed_checks", 1)):
            for check in part["results"].get(outcome, []):
                results[Path(check["file_path"]).stem][index].add(check["check_id"])
    yield results


@pytest.mark.parametrize("name", NAMES)
def test_checkov_fails_exactly_what_the_answers_chose(
    name: str, checkov_results: dict[str, tuple[set[str], set[str]]]
) -> None:
    passed, failed = checkov_results[name]
    # checkov did read the template: the trail checks ran.
    assert {"CKV_AWS_35", "CKV_AWS_36", "CKV_AWS_67"} <= passed | failed
    answers = answers_for(name)
    expected = failing_check_ids(answers, _ctx(answers)) & (passed | failed)
    assert failed == expected


@pytest.mark.parametrize("name", sorted(SECURE_DEFAULTS))
def test_checkov_secure_defaults_pass_the_trail_and_log_bucket_checks(
    name: str, checkov_results: dict[str, tuple[set[str], set[str]]]
) -> None:
    passed, failed = checkov_results[name]
    assert not failed & (CLOUDTRAIL_CHECKS | LOG_BUCKET_CHECKS)
    if answers_for(name).bucket.create:
        assert passed >= LOG_BUCKET_CHECKS


@pytest.mark.parametrize("name", sorted(SSE_S3))
def test_checkov_sse_s3_fails_ckv_aws_35(
    name: str, checkov_results: dict[str, tuple[set[str], set[str]]]
) -> None:
    _passed, failed = checkov_results[name]
    assert "CKV_AWS_35" in failed
    assert "CKV_AWS_35 / CIS 4.5" in _comment_blocks(rendered(name))["Trail"]


# --------------------------------------------------------------------------- events


def test_s3_write_selectors_leave_out_the_log_buckets_as_parameters() -> None:
    """The log bucket and an access log bucket are left out as !Sub of their parameters; the
    optional AccessLogBucket of a new bucket only when it is set (!If HasAccessLogBucket)."""
    props = _resource("variant-advanced-events", "Trail")["Properties"]
    writes = props["AdvancedEventSelectors"][1]
    arn = next(f for f in writes["FieldSelectors"] if f["Field"] == "resources.ARN")
    assert arn["NotStartsWith"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/"},
        {
            "Fn::If": [
                "HasAccessLogBucket",
                {"Fn::Sub": "arn:${AWS::Partition}:s3:::${AccessLogBucket}/"},
                {"Ref": "AWS::NoValue"},
            ]
        },
    ]
    env = _env("variant-advanced-events")
    env["AccessLogBucket"] = "audit-access-logs"
    env["Condition:HasAccessLogBucket"] = "true"
    assert resolve(arn, env)["NotStartsWith"] == [
        "arn:aws:s3:::events-trail-logs-123456789012/",
        "arn:aws:s3:::audit-access-logs/",
    ]
    # The reads selector records the log bucket's reads (who read the logs): no exclusion.
    reads = props["AdvancedEventSelectors"][2]
    assert [f["Field"] for f in reads["FieldSelectors"]] == [
        "eventCategory",
        "resources.type",
        "readOnly",
    ]

    answers = Answers.model_validate(
        {
            **VARIANTS["variant-advanced-events"],
            "bucket": {
                "name": "events-trail-logs-123456789012",
                "access_logs": {"bucket": "events-trail-access-logs"},
            },
        }
    )
    doc = load_template(cloudformation_template(answers, _ctx(answers)))
    writes = doc["Resources"]["Trail"]["Properties"]["AdvancedEventSelectors"][1]
    arn = next(f for f in writes["FieldSelectors"] if f["Field"] == "resources.ARN")
    assert arn["NotStartsWith"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/"},
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${AccessLogBucket}/"},
    ]


def test_insights_and_aggregation_reach_the_template() -> None:
    props = _resource("variant-advanced-events", "Trail")["Properties"]
    assert props["InsightSelectors"] == [
        {"InsightType": "ApiCallRateInsight", "EventCategories": ["Management", "Data"]},
        {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Data"]},
    ]
    assert props["AggregationConfigurations"] == [
        {"EventCategory": "Data", "Templates": ["API_ACTIVITY", "RESOURCE_ACCESS"]}
    ]
    network = props["AdvancedEventSelectors"][-1]
    assert network == {
        "Name": "Log VPC endpoint access denied events for kms.amazonaws.com",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["NetworkActivity"]},
            {"Field": "eventSource", "Equals": ["kms.amazonaws.com"]},
            {"Field": "errorCode", "Equals": ["VpceAccessDenied"]},
        ],
    }


def test_secure_defaults_use_basic_selectors_that_scanners_read() -> None:
    """All management events, nothing else: the basic selector CloudTrail itself defaults to,
    which Prowler's and Security Hub's management-events checks accept."""
    props = _resource("sse-kms-new-key", "Trail")["Properties"]
    assert props["EventSelectors"] == [
        {
            "ReadWriteType": "All",
            "IncludeManagementEvents": True,
            "DataResources": [],
            "ExcludeManagementEventSources": [],
        }
    ]
