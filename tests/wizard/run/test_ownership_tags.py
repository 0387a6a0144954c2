"""Every resource a run creates carries the run tag, read back from the sandbox with boto3.

The run tag (``cloudtrail-wizard:run`` = the plan's run id) is how a rollback or a recovery
tells what this run made from what was already there. These tests apply real plans on the
strict sandbox over HTTP and read each new resource's tags back with plain boto3, in each
service's own tagging API; the plan-level tests check that every create call carries the
tag in its service's shape, and that the operator policy allows tagging at creation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_fixtures import ACCOUNT
from wizard.account.discovery import (
    BucketFacts,
    Discovery,
    KeyFacts,
    LogsFacts,
    OrganizationFacts,
    TopicFacts,
)
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.context import AccountContext, Names
from wizard.model.names import RUN_TAG
from wizard.model.plan import Plan
from wizard.plan.planner import build_plan
from wizard.policy.operator import action_for, operator_policy
from wizard.run.orphans import TAGGED_CREATES, run_tag_in, run_tag_of

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
TRAIL = "owned-trail"
BUCKET = f"owned-trail-logs-{ACCOUNT}"
TARGET = f"{BUCKET}-access"
TOPIC = "owned-trail-files"
GROUP = "owned-trail-events"
ROLE = "OwnedTrailDelivery"


def everything_new(bucket_region: str, tags: dict[str, str]) -> Answers:
    """Answers that create every kind of resource the wizard can create."""
    return Answers.model_validate(
        {
            "trail": {"name": TRAIL, "region": "us-east-1", "tags": tags},
            "bucket": {
                "name": BUCKET,
                "region": bucket_region,
                "access_logs": {"bucket": TARGET, "prefix": "logs/"},
            },
            "encryption": {"type": "sse-kms", "key": "new"},
            "notifications": {"sns_topic": TOPIC},
            "cloudwatch_logs": {"log_group": GROUP, "role": ROLE},
        }
    )


def tags_of(aws: Any, plan: Plan, answers: Answers) -> dict[str, dict[str, str]]:
    """Every created resource's tags, each read with its own service's tagging API."""
    bucket_region = plan.step("create-bucket").call.region
    key_id = aws("kms", bucket_region).describe_key(KeyId=f"alias/cloudtrail-{TRAIL}")[
        "KeyMetadata"
    ]["KeyId"]
    names = Names(answers, AccountContext(account_id=ACCOUNT, region="us-east-1"))

    def pairs(items: list[dict[str, str]], key: str = "Key", value: str = "Value") -> Any:
        return {item[key]: item[value] for item in items}

    trail = aws("cloudtrail").list_tags(ResourceIdList=[plan.trail_arn])["ResourceTagList"]
    return {
        "log bucket": pairs(aws("s3", bucket_region).get_bucket_tagging(Bucket=BUCKET)["TagSet"]),
        "access log bucket": pairs(
            aws("s3", bucket_region).get_bucket_tagging(Bucket=TARGET)["TagSet"]
        ),
        "key": pairs(
            aws("kms", bucket_region).list_resource_tags(KeyId=key_id)["Tags"],
            "TagKey",
            "TagValue",
        ),
        "trail": pairs(trail[0]["TagsList"]),
        "topic": pairs(aws("sns").list_tags_for_resource(ResourceArn=names.topic_arn)["Tags"]),
        "log group": aws("logs").list_tags_log_group(logGroupName=GROUP)["tags"],
        "role": pairs(aws("iam").list_role_tags(RoleName=ROLE)["Tags"]),
    }


@pytest.mark.parametrize(
    ("bucket_region", "tags"),
    [
        # us-east-1: CreateBucket's configuration carries only the tags.
        ("us-east-1", {}),
        # Elsewhere, with the answers' own tags: the run tag sits beside the
        # LocationConstraint, and PutBucketTagging, which replaces the whole set, keeps it.
        # (Answers may not set the run tag themselves: test_names checks the refusal.)
        ("eu-west-1", {"team": "security"}),
    ],
)
def test_every_created_resource_carries_the_run_tag(
    bucket_region: str, tags: dict[str, str], engine: Engine, aws: Any, tmp_path: Path
) -> None:
    answers = everything_new(bucket_region, tags)
    plan, found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    assert plan.run_id

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message

    found_tags = tags_of(aws, plan, answers)
    assert set(found_tags) == {
        "log bucket",
        "access log bucket",
        "key",
        "trail",
        "topic",
        "log group",
        "role",
    }
    expected = {**{k: v for k, v in tags.items() if k != RUN_TAG}, RUN_TAG: plan.run_id}
    for resource, resource_tags in found_tags.items():
        assert resource_tags == expected, resource


def test_a_plan_without_run_id_tags_nothing_it_did_not_choose(engine: Engine) -> None:
    """Previews and exports (no run id) are the same for the same inputs: no run tag."""
    answers = everything_new("us-east-1", {})
    found = engine.discover(answers)
    plan = build_plan(answers, engine.context_for(answers, found), found)
    assert plan.run_id is None
    for step in plan.steps:
        assert run_tag_in(step.call.operation, step.call.params) is None, step.id
    create_bucket = plan.step("create-bucket").call.params
    assert "CreateBucketConfiguration" not in create_bucket  # us-east-1, nothing to say


# ------------------------------------------------------------------- plan level


def offline_discovery(answers: Answers, ctx: AccountContext) -> Discovery:
    """An account where nothing the answers create exists yet, and what they use is ready."""
    names = Names(answers, ctx)
    existing = not answers.bucket.create
    key = None
    if answers.encryption.existing_key:
        key_arn = (
            f"arn:aws:kms:{names.bucket_region()}:{ACCOUNT}:key/{'1' * 8}-aaaa-bbbb-cccc-{'2' * 12}"
        )
        key = KeyFacts(
            ref=answers.encryption.existing_key,
            found=True,
            arn=key_arn,
            region=names.bucket_region(),
            state="Enabled",
            spec="SYMMETRIC_DEFAULT",
            usage="ENCRYPT_DECRYPT",
            manager="CUSTOMER",
            policy='{"Version": "2012-10-17", "Statement": []}',
        )
    organization = None
    if answers.trail.organization:
        organization = OrganizationFacts(
            in_organization=True,
            organization_id=ctx.organization_id,
            management_account_id=ACCOUNT,
            all_features=True,
            is_management_account=True,
            trusted_access=True,
        )
    return Discovery(
        context=ctx,
        bucket=BucketFacts(
            name=answers.bucket.name,
            exists=existing,
            owned=True if existing else None,
            region=names.home_region if existing else None,
        ),
        owned_buckets=[answers.bucket.name] if existing else [],
        key=key,
        topic=TopicFacts(arn=names.topic_arn) if names.topic_arn else None,
        logs=(
            LogsFacts(log_group=answers.cloudwatch_logs.log_group)
            if answers.cloudwatch_logs.log_group
            else None
        ),
        organization=organization,
    )


def create_steps(plan: Plan) -> list[Any]:
    return [s for s in plan.steps if s.call.operation in TAGGED_CREATES]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_create_call_carries_the_run_tag(example: Path) -> None:
    answers = load_answers(example)
    organization = "o-a1b2c3d4e5" if answers.trail.organization else None
    ctx = AccountContext(
        account_id=ACCOUNT,
        region="us-east-1",
        organization_id=organization,
        management_account_id=ACCOUNT if organization else None,
    )
    run_id = "f" * 32
    plan = build_plan(answers, ctx, offline_discovery(answers, ctx), run_id=run_id)
    creating = [s for s in plan.steps if s.creates and s.call.operation.startswith("Create")]
    # Every step that creates a resource (the alias aside: it is ours only through the key
    # it points at) is a tagged create.
    assert {s.id for s in creating if s.call.operation != "CreateAlias"} == {
        s.id for s in create_steps(plan)
    }
    for step in create_steps(plan):
        assert run_tag_in(step.call.operation, step.call.params) == run_id, step.id
    grants: dict[str, set[str]] = {}
    for statement in operator_policy(answers, ctx)["Statement"]:
        actions = statement["Action"]
        for action in actions if isinstance(actions, list) else [actions]:
            grants.setdefault(action, set())
    # Tagging at creation is authorised as tagging, in each service's own action.
    tagging = {
        "CreateKey": "kms:TagResource",
        "CreateBucket": "s3:TagResource",
        "CreateTrail": "cloudtrail:AddTags",
        "CreateTopic": "sns:TagResource",
        "CreateLogGroup": "logs:TagResource",
        "CreateRole": "iam:TagRole",
    }
    for step in create_steps(plan):
        assert action_for(step.call.service, step.call.operation) in grants, step.id
        assert tagging[step.call.operation] in grants, step.id


def test_the_bucket_tagging_step_keeps_the_run_tag() -> None:
    answers = everything_new("eu-west-1", {"team": "security"})
    ctx = AccountContext(account_id=ACCOUNT, region="us-east-1")
    plan = build_plan(answers, ctx, offline_discovery(answers, ctx), run_id="a" * 32)
    for step_id in ("bucket-tags", "access-log-bucket-tags"):
        tag_set = plan.step(step_id).call.params["Tagging"]["TagSet"]
        assert {"Key": RUN_TAG, "Value": "a" * 32} in tag_set, step_id
        assert {"Key": "team", "Value": "security"} in tag_set, step_id
    create = plan.step("create-bucket").call.params["CreateBucketConfiguration"]
    assert create == {
        "LocationConstraint": "eu-west-1",
        "Tags": [{"Key": RUN_TAG, "Value": "a" * 32}],
    }


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("CreateKey", {"Tags": [{"TagKey": RUN_TAG, "TagValue": "r1"}]}),
        (
            "CreateTrail",
            {"TagsList": [{"Key": "team", "Value": "x"}, {"Key": RUN_TAG, "Value": "r1"}]},
        ),
        ("CreateTopic", {"Tags": [{"Key": RUN_TAG, "Value": "r1"}]}),
        ("CreateRole", {"Tags": [{"Key": RUN_TAG, "Value": "r1"}]}),
        ("CreateLogGroup", {"tags": {"team": "x", RUN_TAG: "r1"}}),
        (
            "CreateBucket",
            {"CreateBucketConfiguration": {"Tags": [{"Key": RUN_TAG, "Value": "r1"}]}},
        ),
    ],
)
def test_run_tag_in_reads_each_service_shape(operation: str, params: dict[str, Any]) -> None:
    assert run_tag_in(operation, params) == "r1"


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("CreateTopic", {"Tags": [{"Key": "team", "Value": "x"}]}),
        ("CreateTopic", {}),
        ("CreateLogGroup", {"tags": {"team": "x"}}),
        ("CreateBucket", {"CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}),
        ("CreateBucket", {"Bucket": "b"}),
        # KMS's field names, not the others': a Key/Value pair is not a KMS tag.
        ("CreateKey", {"Tags": [{"Key": RUN_TAG, "Value": "r1"}]}),
        ("PutBucketTagging", {"Tagging": {"TagSet": [{"Key": RUN_TAG, "Value": "r1"}]}}),
        ("CreateAlias", {"AliasName": "alias/x"}),
    ],
)
def test_run_tag_in_finds_nothing_where_there_is_no_run_tag(
    operation: str, params: dict[str, Any]
) -> None:
    assert run_tag_in(operation, params) is None


def test_run_tag_of_still_reads_create_key_only() -> None:
    key = {"Tags": [{"TagKey": RUN_TAG, "TagValue": "r1"}]}
    assert run_tag_of("CreateKey", key) == "r1"
    assert run_tag_of("CreateTopic", {"Tags": [{"Key": RUN_TAG, "Value": "r1"}]}) is None
