"""Tests for wizard.policy.operator: the operator's least-privilege IAM policy.

Least privilege is checked both ways: what a setup needs is there, scoped to its resources,
and what it does not need (KMS for SSE-S3, creating a role that already exists, ...) is not.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from wizard.account import discovery
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.context import AccountContext, Names
from wizard.model.plan import Call
from wizard.plan import planner
from wizard.policy.operator import action_for, operator_needs, operator_policy
from wizard.run.orphans import RECOVERY_OPERATIONS, run_tag_of

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
ACCOUNT = "123456789012"
ORG_ID = "o-a1b2c3d4e5"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"

# Actions that IAM cannot scope to a resource: the only ones allowed on "*".
UNSCOPABLE = {
    "cloudtrail:DescribeTrails",
    "cloudtrail:ListTrails",
    # The cost preview's reads: neither takes a resource in IAM.
    "cloudtrail:LookupEvents",
    "ec2:DescribeRegions",
    "kms:CreateKey",
    "kms:ListAliases",
    "kms:ListKeys",
    "s3:ListAllMyBuckets",
    "iam:CreateServiceLinkedRole",
    "iam:GetRole",
    "organizations:DescribeOrganization",
    "organizations:DisableAWSServiceAccess",
    "organizations:EnableAWSServiceAccess",
    "organizations:ListAWSServiceAccessForOrganization",
    "organizations:ListAccounts",
    "organizations:ListDelegatedAdministrators",
}


def _ctx(answers: Answers, **extra: Any) -> AccountContext:
    org = ORG_ID if answers.trail.organization else None
    return AccountContext(account_id=ACCOUNT, region="us-east-1", organization_id=org, **extra)


def _answers(extra: dict[str, Any]) -> Answers:
    data: dict[str, Any] = {"trail": {"name": "acme-audit"}, "bucket": {"name": "acme-audit-logs"}}
    for key, value in extra.items():
        data[key] = {**data.get(key, {}), **value}
    return Answers.model_validate(data)


VARIANTS: dict[str, Answers] = {
    **{p.stem: load_answers(p) for p in EXAMPLES},
    "existing-role-and-topic": _answers(
        {
            "encryption": {"type": "sse-s3"},
            "notifications": {"sns_topic": f"arn:aws:sns:us-east-1:{ACCOUNT}:existing"},
            "cloudwatch_logs": {
                "log_group": "acme",
                "role": f"arn:aws:iam::{ACCOUNT}:role/ExistingDelivery",
            },
        }
    ),
    "read-only-existing-resources": _answers(
        {
            "bucket": {"create": False, "update_policy": False},
            "encryption": {
                "key": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}",
                "update_key_policy": False,
            },
        }
    ),
    "tags-everywhere": _answers(
        {
            "trail": {"tags": {"team": "security"}},
            "bucket": {"versioning": False},
            "notifications": {"sns_topic": "acme-topic"},
            "cloudwatch_logs": {"log_group": "acme", "role": "AcmeDelivery"},
        }
    ),
    "cross-account-alias": _answers(
        {"encryption": {"key": "arn:aws:kms:eu-west-1:210987654321:alias/shared"}}
    ),
}


def _policy(variant: str, **ctx_extra: Any) -> dict[str, Any]:
    answers = VARIANTS[variant]
    return operator_policy(answers, _ctx(answers, **ctx_extra))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(policy: dict[str, Any]) -> dict[str, set[str]]:
    """Every action mapped to the resources it is granted on."""
    out: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        for action in _as_list(statement["Action"]):
            out.setdefault(action, set()).update(_as_list(statement["Resource"]))
    return out


def _statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in policy["Statement"] if s["Sid"] == sid]
    assert len(found) == 1, f"{len(found)} statements named {sid}"
    return found[0]


# ------------------------------------------------------------------------- shape


@pytest.mark.parametrize("variant", VARIANTS)
def test_policy_shape(variant: str) -> None:
    policy = _policy(variant)
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids))
    for statement in policy["Statement"]:
        assert re.fullmatch(r"[A-Za-z0-9]+", statement["Sid"])
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        actions = _as_list(statement["Action"])
        assert len(actions) == len(set(actions))
        for action in actions:
            assert action != "*"
            assert re.fullmatch(r"[a-z0-9-]+:[A-Z][A-Za-z0-9]+", action), action
        for resource in _as_list(statement["Resource"]):
            assert resource == "*" or resource.startswith("arn:aws:"), resource


@pytest.mark.parametrize("variant", VARIANTS)
def test_star_resource_only_for_unscopable_actions(variant: str) -> None:
    for action, resources in _grants(_policy(variant)).items():
        if "*" in resources:
            assert action in UNSCOPABLE, f"{action} is granted on every resource"


OTHER_TRAIL_READS = frozenset(
    {
        "cloudtrail:GetEventSelectors",
        "cloudtrail:GetInsightSelectors",
        "cloudtrail:GetTrail",
        "cloudtrail:GetTrailStatus",
    }
)
"""The only CloudTrail actions granted beyond this setup's trail: reads of the trails that
may already record the account (cost preview, landing-zone trails)."""


@pytest.mark.parametrize("variant", VARIANTS)
def test_resources_are_scoped_to_this_setup(variant: str) -> None:
    answers = VARIANTS[variant]
    names = Names(answers, _ctx(answers))
    for action, resources in _grants(_policy(variant)).items():
        if action in UNSCOPABLE:
            continue
        service = action.split(":")[0]
        if service == "s3":
            access = answers.bucket.access_logs
            target = {f"arn:aws:s3:::{access.bucket}"} if access is not None else set()
            assert resources <= {names.bucket_arn, *target}, action
            assert names.bucket_arn in resources or resources <= target, action
        elif service == "cloudtrail" and action in OTHER_TRAIL_READS:
            # Read-only, on any trail: the trails that may already record this account.
            assert resources <= {names.trail_arn, "arn:aws:cloudtrail:*:*:trail/*"}, action
            assert "arn:aws:cloudtrail:*:*:trail/*" in resources, action
        elif service == "cloudtrail":
            assert resources == {names.trail_arn}, action
        elif service == "sns":
            assert resources == {names.topic_arn}, action
        elif service == "logs":
            group = answers.cloudwatch_logs.log_group
            assert all(
                r.startswith(f"arn:aws:logs:{names.home_region}:{ACCOUNT}:log-group:")
                for r in resources
            ), action
            if action != "logs:DescribeLogGroups":
                assert all(f":log-group:{group}" in r for r in resources), action
        elif action == "iam:SimulatePrincipalPolicy":
            # The caller is not known offline: any user or role of the account.
            assert resources == {f"arn:aws:iam::{ACCOUNT}:user/*", f"arn:aws:iam::{ACCOUNT}:role/*"}
        elif service == "iam":
            assert resources == {names.role_arn}, action
        elif service == "kms":
            assert all(r.startswith("arn:aws:kms:") for r in resources), action
        else:
            pytest.fail(f"unexpected action {action}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_need_has_a_purpose_and_a_statement(variant: str) -> None:
    answers = VARIANTS[variant]
    needs = operator_needs(answers, _ctx(answers))
    assert all(n.purpose and n.actions and n.resources for n in needs)
    assert [s["Sid"] for s in _policy(variant)["Statement"]] == list(
        dict.fromkeys(n.sid for n in needs)
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_deterministic(variant: str) -> None:
    answers = VARIANTS[variant]
    first = json.dumps(operator_policy(answers, _ctx(answers)))
    again = Answers.model_validate(json.loads(answers.model_dump_json()))
    assert json.dumps(operator_policy(again, _ctx(again))) == first


# ------------------------------------------------------------------- encryption


@pytest.mark.parametrize(
    "variant", ["new-bucket-sse-s3", "existing-bucket-prefix", "existing-role-and-topic"]
)
def test_no_kms_actions_for_sse_s3(variant: str) -> None:
    assert VARIANTS[variant].encryption.type == "sse-s3"
    assert not [a for a in _grants(_policy(variant)) if a.startswith("kms:")]


def test_new_key_actions() -> None:
    grants = _grants(_policy("sse-kms-new-key"))
    assert grants["kms:CreateKey"] == {"*"}
    key_and_alias = {
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/acme-audit",
    }
    for action in (
        "kms:CreateAlias",
        "kms:EnableKeyRotation",
        "kms:ScheduleKeyDeletion",
        # Every new key carries the run tag (CreateKey with Tags needs kms:TagResource), and
        # a duplicate made by a retried CreateKey is found by it.
        "kms:TagResource",
        "kms:ListResourceTags",
        # The key an earlier apply made (found by its alias) is updated instead of created
        # again: its policy merged into, rotation turned on (and off on rollback), tags set.
        "kms:PutKeyPolicy",
        "kms:DisableKeyRotation",
        "kms:UntagResource",
    ):
        assert grants[action] == key_and_alias, action
    assert grants["kms:ListKeys"] == {"*"}


def test_new_key_is_created_in_the_bucket_region() -> None:
    answers = _answers({"trail": {"region": "us-east-1"}, "bucket": {"region": "eu-west-1"}})
    grants = _grants(operator_policy(answers, _ctx(answers)))
    assert grants["kms:CreateAlias"] == {
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*",
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/cloudtrail-acme-audit",
    }


def test_existing_key_actions() -> None:
    policy = _policy("sse-kms-existing-key")
    grants = _grants(policy)
    kms = {a for a in grants if a.startswith("kms:")}
    assert kms == {
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:PutKeyPolicy",
        "kms:ListAliases",
        "kms:ListKeys",
    }
    assert grants["kms:PutKeyPolicy"] == {f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"}
    assert _statement(policy, "ReadAndUpdateTrailKey")


def test_existing_key_without_policy_update_is_read_only() -> None:
    policy = _policy("read-only-existing-resources")
    grants = _grants(policy)
    assert "kms:PutKeyPolicy" not in grants
    assert grants["kms:DescribeKey"] == {f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"}
    assert _statement(policy, "ReadTrailKey")


def test_key_in_another_account_is_scoped_to_that_account() -> None:
    grants = _grants(_policy("cross-account-alias"))
    (resource,) = grants["kms:DescribeKey"]
    assert resource.startswith("arn:aws:kms:") and ":210987654321:key/" in resource


# ------------------------------------------------------------------- S3 bucket


def test_new_bucket_actions() -> None:
    grants = _grants(_policy("new-bucket-sse-s3"))
    for action in (
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:PutBucketPolicy",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketVersioning",
        "s3:PutBucketTagging",
        "s3:GetBucketRequestPayment",
    ):
        assert action in grants, action
    assert not any(
        a.startswith(("s3:GetObject", "s3:PutObject", "s3:DeleteObject")) for a in grants
    )


def test_versioning_and_tags_only_when_asked() -> None:
    grants = _grants(_policy("sse-kms-new-key"))  # no tags (the new key's run tag aside)
    assert "s3:PutBucketTagging" not in grants
    grants = _grants(_policy("read-only-existing-resources"))  # no tags, no new key
    assert not [a for a in grants if a.endswith(("TagResource", "TagRole", "Tagging"))]
    grants = _grants(_policy("tags-everywhere"))  # tags, versioning off
    assert "s3:PutBucketVersioning" not in grants
    for action in ("s3:PutBucketTagging", "kms:TagResource", "sns:TagResource", "iam:TagRole"):
        assert action in grants, action


def test_existing_bucket_is_never_created_or_deleted() -> None:
    grants = _grants(_policy("existing-bucket-prefix"))
    assert "s3:PutBucketPolicy" in grants
    for action in ("s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketPublicAccessBlock"):
        assert action not in grants, action


def test_existing_bucket_without_policy_update_is_read_only() -> None:
    policy = _policy("read-only-existing-resources")
    grants = _grants(policy)
    assert not [a for a in grants if a.startswith("s3:Put") or a.startswith("s3:Delete")]
    assert _statement(policy, "ReadLogBucket")


# ------------------------------------------------------------- SNS, logs, IAM


def test_new_topic_and_role() -> None:
    policy = _policy("cloudwatch-and-sns")
    grants = _grants(policy)
    assert {"sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes"} <= set(grants)
    assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRole"} <= set(grants)
    assert {"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"} <= set(grants)


def test_existing_role_and_topic_are_not_created() -> None:
    grants = _grants(_policy("existing-role-and-topic"))
    for action in (
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "sns:CreateTopic",
        "sns:DeleteTopic",
    ):
        assert action not in grants, action
    role = f"arn:aws:iam::{ACCOUNT}:role/ExistingDelivery"
    assert grants["iam:GetRole"] == {role}
    assert grants["iam:PassRole"] == {role}
    assert grants["sns:SetTopicAttributes"] == {f"arn:aws:sns:us-east-1:{ACCOUNT}:existing"}


@pytest.mark.parametrize("variant", ["cloudwatch-and-sns", "existing-role-and-topic"])
def test_pass_role_only_to_cloudtrail(variant: str) -> None:
    passes = [s for s in _policy(variant)["Statement"] if "iam:PassRole" in _as_list(s["Action"])]
    (statement,) = passes
    assert _as_list(statement["Action"]) == ["iam:PassRole"]
    assert statement["Resource"] != "*"
    assert statement["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}
    }


@pytest.mark.parametrize("variant", ["new-bucket-sse-s3", "sse-kms-new-key"])
def test_no_iam_or_logs_without_cloudwatch(variant: str) -> None:
    grants = _grants(_policy(variant))
    assert not [a for a in grants if a.startswith("logs:")]
    # Only the self-check, and looking up the users and roles a new key's policy names.
    lookups = {"iam:GetRole", "iam:GetUser"} if variant == "sse-kms-new-key" else set()
    allowed = {"iam:SimulatePrincipalPolicy", *lookups}
    assert not [a for a in grants if a.startswith("iam:") and a not in allowed]
    readers = load_answers(ROOT / "examples" / f"{variant}.yaml").encryption.decrypt_principals
    for action in lookups & set(grants):
        assert sorted(grants[action]) == sorted(readers), action


# --------------------------------------------------------------- trail, org


def test_an_existing_trail_can_be_read_updated_and_restored() -> None:
    """Insights in the answers or not: an existing trail's Insights are read, and turned off
    (PutInsightSelectors with none) when the answers have none; its settings are updated and
    its tags changed, and all of it put back on rollback."""
    for example, trail in (
        ("cloudwatch-and-sns", "acme-monitored"),
        ("new-bucket-sse-s3", "acme-audit"),
    ):
        grants = _grants(_policy(example))
        for action in (
            "cloudtrail:GetInsightSelectors",
            "cloudtrail:PutInsightSelectors",
            "cloudtrail:UpdateTrail",
            "cloudtrail:RemoveTags",
        ):
            own = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{trail}"
            # GetInsightSelectors is also read on other trails (OTHER_TRAIL_READS).
            assert grants[action] - {"arn:aws:cloudtrail:*:*:trail/*"} == {own}, (
                example,
                action,
            )


def test_trail_actions() -> None:
    grants = _grants(_policy("new-bucket-sse-s3"))
    for action in (
        "cloudtrail:CreateTrail",
        "cloudtrail:StartLogging",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:PutEventSelectors",
        "cloudtrail:DeleteTrail",
    ):
        own = {f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/acme-audit"}
        # Every change is on this trail alone; a read may also be of other trails.
        wanted = own | {"arn:aws:cloudtrail:*:*:trail/*"} if action in OTHER_TRAIL_READS else own
        assert grants[action] == wanted, action


def test_other_trails_are_only_read() -> None:
    """Discovery reads the trails that may already record the account (organization trails
    name the management account); nothing beyond this trail may be changed."""
    for variant in VARIANTS:
        grants = _grants(_policy(variant))
        wide = {a for a, r in grants.items() if "arn:aws:cloudtrail:*:*:trail/*" in r}
        assert wide == OTHER_TRAIL_READS, variant


def test_organization_prerequisites() -> None:
    grants = _grants(_policy("organization-trail"))
    for action in (
        "organizations:DescribeOrganization",
        "organizations:EnableAWSServiceAccess",
        "organizations:ListAWSServiceAccessForOrganization",
        "organizations:ListAccounts",
        "iam:CreateServiceLinkedRole",
        "iam:GetRole",
    ):
        assert action in grants, action
    assert not [a for a in _grants(_policy("new-bucket-sse-s3")) if a.startswith("organizations:")]


def test_other_partition() -> None:
    answers = _answers({"trail": {"region": "cn-north-1"}, "cloudwatch_logs": {"log_group": "g"}})
    policy = operator_policy(answers, AccountContext(account_id=ACCOUNT, region="cn-north-1"))
    resources = {r for s in policy["Statement"] for r in _as_list(s["Resource"])} - {"*"}
    assert resources and all(r.startswith("arn:aws-cn:") for r in resources)


# -------------------------------------------------------------------- action_for


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("s3", "HeadBucket", "s3:ListBucket"),
        ("s3", "ListBuckets", "s3:ListAllMyBuckets"),
        ("s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration"),
        ("s3", "PutBucketEncryption", "s3:PutEncryptionConfiguration"),
        ("s3", "DeleteBucketEncryption", "s3:PutEncryptionConfiguration"),
        ("s3", "PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
        ("s3", "GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
        ("s3", "DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
        ("s3", "GetBucketRequestPayment", "s3:GetBucketRequestPayment"),
        ("s3", "CreateBucket", "s3:CreateBucket"),
        ("s3", "PutBucketPolicy", "s3:PutBucketPolicy"),
        ("cloudtrail", "CreateTrail", "cloudtrail:CreateTrail"),
        ("kms", "CreateKey", "kms:CreateKey"),
        ("iam", "CreateRole", "iam:CreateRole"),
        ("logs", "DescribeLogGroups", "logs:DescribeLogGroups"),
        ("sns", "SetTopicAttributes", "sns:SetTopicAttributes"),
    ],
)
def test_action_for(service: str, operation: str, action: str) -> None:
    assert action_for(service, operation) == action


# ------------------------------------------------- the plan stays within the policy


def _discovery_for(answers: Answers, ctx: AccountContext) -> discovery.Discovery:
    names = Names(answers, ctx)
    key = None
    if answers.encryption.existing_key:
        key = discovery.KeyFacts(
            ref=answers.encryption.existing_key,
            found=True,
            key_id=KEY_ID,
            arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}",
            region="us-east-1",
            state="Enabled",
            spec="SYMMETRIC_DEFAULT",
            usage="ENCRYPT_DECRYPT",
            manager="CUSTOMER",
            policy='{"Version": "2012-10-17", "Statement": []}',
        )
    bucket = discovery.BucketFacts(name=answers.bucket.name)
    if not answers.bucket.create:
        bucket = discovery.BucketFacts(
            name=answers.bucket.name, exists=True, owned=True, region=names.home_region
        )
    org = None
    if answers.trail.organization:
        org = discovery.OrganizationFacts(
            in_organization=True,
            organization_id=ORG_ID,
            management_account_id=ACCOUNT,
            all_features=True,
            is_management_account=True,
            trusted_access=True,
        )
    return discovery.Discovery(
        context=ctx,
        bucket=bucket,
        key=key,
        topic=discovery.TopicFacts(arn=names.topic_arn) if names.topic_arn else None,
        logs=(
            discovery.LogsFacts(log_group=answers.cloudwatch_logs.log_group)
            if answers.cloudwatch_logs.log_group
            else None
        ),
        organization=org,
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_planned_call_is_in_the_operator_policy(example: Path) -> None:
    answers = load_answers(example)
    ctx = _ctx(answers, management_account_id=ACCOUNT if answers.trail.organization else None)
    plan = planner.build_plan(answers, ctx, _discovery_for(answers, ctx), run_id="0" * 32)
    grants = _grants(operator_policy(answers, ctx))
    assert plan.steps
    for step in plan.steps:
        calls = [step.call, *step.undo]
        if step.call.operation == "CreateKey" and step.call.params.get("Tags"):
            # KMS authorises the tags given to CreateKey as kms:TagResource too.
            calls.append(step.call.model_copy(update={"operation": "TagResource"}))
        if run_tag_of(step.call.operation, step.call.params):
            # The search for a duplicate of a key created twice (after a retry, on rollback).
            calls += [
                Call(service=service, region=step.call.region, operation=operation)
                for service, operation in RECOVERY_OPERATIONS
            ]
        for call in calls:
            action = action_for(call.service, call.operation)
            assert action in grants, f"{example.name}: step {step.id} calls {action}"


# ----------------------------------------------------------- the simulator's own statement


@pytest.mark.parametrize(
    ("caller", "resources"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/ops/alice", [f"arn:aws:iam::{ACCOUNT}:user/ops/alice"]),
        # IAM authorizes the simulator on the role, never on the session.
        (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice",
            [f"arn:aws:iam::{ACCOUNT}:role/Admin"],
        ),
        (None, [f"arn:aws:iam::{ACCOUNT}:role/*", f"arn:aws:iam::{ACCOUNT}:user/*"]),
        (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123/alice",
            [f"arn:aws:iam::{ACCOUNT}:role/*", f"arn:aws:iam::{ACCOUNT}:user/*"],
        ),
    ],
    ids=["user", "assumed-role", "unknown", "identity-center"],
)
def test_the_permission_check_is_granted_on_the_principal_it_simulates(
    caller: str | None, resources: list[str]
) -> None:
    (statement,) = [
        s
        for s in _policy("new-bucket-sse-s3", caller_arn=caller)["Statement"]
        if s["Sid"] == "CheckOwnPermissions"
    ]
    assert statement["Action"] == "iam:SimulatePrincipalPolicy"
    assert sorted(_as_list(statement["Resource"])) == resources


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_iam_accepts_every_operator_policy(variant: str, aws: Any) -> None:
    # The sandbox's IAM validates a policy's IAM resource ARNs as AWS does: a resource type
    # is required (arn:aws:iam::ACCOUNT:* is refused with MalformedPolicyDocument).
    policy = _policy(variant)
    iam_resources = [
        r
        for s in policy["Statement"]
        for r in _as_list(s["Resource"])
        if r.startswith("arn:aws:iam::")
    ]
    assert iam_resources, "every setup names some IAM resource"
    created = aws("iam").create_policy(
        PolicyName=f"operator-{variant}", PolicyDocument=json.dumps(policy)
    )
    arn = created["Policy"]["Arn"]
    version = aws("iam").get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    stored = aws("iam").get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    document = stored["Document"]
    assert (json.loads(document) if isinstance(document, str) else document) == policy
