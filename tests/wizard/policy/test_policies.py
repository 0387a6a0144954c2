"""Tests for wizard.policy.policies (and the names in wizard.model.context it builds from).

Golden files pin every example's complete output byte for byte; regenerate them after a
reviewed change with ``UPDATE_GOLDEN=1 pytest tests/wizard/policy/test_policies.py`` and read the
diff. The structural tests below check the rules from cloudtrail-facts.md sections 1-3 on
the examples and on extra variants (organization trails, other partitions, existing
resources), so a golden file regenerated carelessly still cannot hide a broken policy.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.context import AccountContext, Names
from wizard.model.names import check_role_name
from wizard.policy import access
from wizard.policy.policies import (
    CLOUDTRAIL,
    S3_LOGGING,
    PolicySet,
    TrailWriter,
    build_policies,
    central_bucket_statements,
    key_cloudtrail_statements,
    topic_cloudtrail_statement,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOLDEN = Path(__file__).resolve().parents[2] / "golden"
ACCOUNT = "123456789012"
MANAGEMENT = "999988887777"
ORG_ID = "o-a1b2c3d4e5"
READER = f"arn:aws:iam::{ACCOUNT}:role/SecurityAuditor"


def _ctx_for(answers: Answers, **extra: Any) -> AccountContext:
    org = ORG_ID if answers.trail.organization else None
    return AccountContext(account_id=ACCOUNT, region="us-east-1", organization_id=org, **extra)


def _render(policies: PolicySet) -> str:
    return json.dumps(policies.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"


def _answers(data: dict[str, Any]) -> Answers:
    return Answers.model_validate(data)


def _statements(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    assert doc is not None
    statements = doc["Statement"]
    assert isinstance(statements, list)
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _by_sid(doc: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in _statements(doc)}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _docs(policies: PolicySet) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in policies.model_dump(mode="json").items() if v is not None}


def _condition_values(statement: dict[str, Any], key: str) -> list[str]:
    found: list[str] = []
    for block in statement.get("Condition", {}).values():
        if key in block:
            found.extend(_as_list(block[key]))
    return found


# Extra setups beyond the examples, each as (answers, context).
_CW_ORG = {
    "trail": {"name": "org-audit", "region": "us-east-1", "organization": True},
    "bucket": {"name": "acme-org-audit-logs", "prefix": "org"},
    "notifications": {"sns_topic": "org-audit-topic"},
    "cloudwatch_logs": {"log_group": "org-audit"},
}
_CHINA = {
    "trail": {"name": "acme-cn", "region": "cn-north-1"},
    "bucket": {"name": "acme-cn-logs"},
    "encryption": {"key": "new", "decrypt_principals": [f"arn:aws-cn:iam::{ACCOUNT}:role/R"]},
    "notifications": {"sns_topic": "acme-cn-topic"},
    "cloudwatch_logs": {"log_group": "acme-cn"},
}
_GOVCLOUD = {
    "trail": {"name": "acme-gov"},
    "bucket": {"name": "acme-gov-logs", "create": False, "prefix": "ct"},
    "encryption": {"key": f"arn:aws-us-gov:kms:us-gov-west-1:{ACCOUNT}:alias/ct"},
    "notifications": {"sns_topic": f"arn:aws-us-gov:sns:us-gov-west-1:{ACCOUNT}:ct"},
    "cloudwatch_logs": {"log_group": "ct", "role": f"arn:aws-us-gov:iam::{ACCOUNT}:role/CtLogs"},
}
VARIANTS: dict[str, tuple[Answers, AccountContext]] = {
    **{
        p.stem: (load_answers(p), _ctx_for(load_answers(p)))
        for p in EXAMPLES  # every example is a variant too
    },
    "org-delegated-admin": (
        _answers(_CW_ORG),
        AccountContext(
            account_id=ACCOUNT, organization_id=ORG_ID, management_account_id=MANAGEMENT
        ),
    ),
    "org-in-management-account": (
        _answers(_CW_ORG),
        AccountContext(account_id=ACCOUNT, organization_id=ORG_ID, management_account_id=ACCOUNT),
    ),
    "china": (_answers(_CHINA), AccountContext(account_id=ACCOUNT, region="cn-north-1")),
    "china-from-session-region": (
        _answers({**_CHINA, "trail": {"name": "acme-cn"}}),
        AccountContext(account_id=ACCOUNT, partition="aws-cn", region="cn-north-1"),
    ),
    "govcloud": (
        _answers(_GOVCLOUD),
        AccountContext(account_id=ACCOUNT, partition="aws-us-gov", region="us-gov-west-1"),
    ),
}


def _variant_policies(name: str) -> PolicySet:
    answers, ctx = VARIANTS[name]
    return build_policies(answers, ctx)


# ------------------------------------------------------------------------ golden


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_golden(example: Path) -> None:
    answers = load_answers(example)
    text = _render(build_policies(answers, _ctx_for(answers)))
    golden = GOLDEN / f"{example.stem}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}; run with UPDATE_GOLDEN=1 and review it"
    assert text == golden.read_text(encoding="utf-8"), (
        f"{example.name} no longer produces {golden.name}; if the change is intended, run "
        "UPDATE_GOLDEN=1 pytest tests/wizard/policy/test_policies.py and review the diff"
    )


def test_every_golden_file_has_an_example() -> None:
    assert {p.stem for p in GOLDEN.glob("*.json")} == {p.stem for p in EXAMPLES}


# -------------------------------------------------------------- statement shape


@pytest.mark.parametrize("variant", VARIANTS)
def test_statement_shapes(variant: str) -> None:
    for name, doc in _docs(_variant_policies(variant)).items():
        assert doc["Version"] == "2012-10-17", name
        sids = [s.get("Sid") for s in _statements(doc)]
        assert all(isinstance(s, str) and re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids), sids
        assert len(sids) == len(set(sids)), f"{name}: duplicate Sids {sids}"
        for statement in _statements(doc):
            assert statement["Effect"] in ("Allow", "Deny")
            assert statement.get("Action"), f"{name}/{statement['Sid']} has no Action"
            assert "NotAction" not in statement and "NotPrincipal" not in statement
            assert _as_list(statement["Action"]) != ["*"], f"{name}: Action '*'"
            if name != "cloudwatch_logs_role_trust_policy":
                assert statement.get("Resource"), f"{name}/{statement['Sid']} has no Resource"


@pytest.mark.parametrize("variant", VARIANTS)
def test_service_principal_grants_are_pinned_to_the_trail(variant: str) -> None:
    answers, ctx = VARIANTS[variant]
    names = Names(answers, ctx)
    checked = 0
    for name, doc in _docs(_variant_policies(variant)).items():
        for statement in _statements(doc):
            principal = statement.get("Principal")
            if statement["Effect"] != "Allow" or not isinstance(principal, dict):
                continue
            if "Service" not in principal:
                continue
            if name == "cloudwatch_logs_role_trust_policy":
                # AWS's documented trust policy, deliberately without a condition
                # (test_trust_policy_is_the_one_aws_documents).
                continue
            if statement.get("Sid") == "AllowCloudTrailPublishToEncryptedTopic":
                # Pinned to the one topic by SNS's encryption context instead
                # (test_new_topic_is_encrypted_with_the_new_key).
                topics = _condition_values(statement, "kms:EncryptionContext:aws:sns:topicArn")
                assert name == "key_policy" and topics == [names.topic_arn], statement
                checked += 1
                continue
            if statement.get("Sid") == "AllowCloudWatchLogsEncryptLogGroup":
                # CloudWatch Logs, pinned to the one log group by its encryption context
                # (AWS's statement; test_the_log_group_statement_is_awss).
                groups = _condition_values(statement, "kms:EncryptionContext:aws:logs:arn")
                assert name == "key_policy", statement
                assert groups == [(names.log_group_arn or "").removesuffix(":*")], statement
                assert principal == {"Service": f"logs.{names.home_region}.amazonaws.com"}
                checked += 1
                continue
            source_arns = _condition_values(statement, "aws:SourceArn")
            source_accounts = _condition_values(statement, "aws:SourceAccount")
            assert source_arns or source_accounts, f"{name}/{statement['Sid']} is not pinned"
            if principal == {"Service": S3_LOGGING}:
                # Server access log delivery: pinned to the log bucket and its account.
                assert name == "access_log_bucket_policy"
                assert source_arns == [names.bucket_arn], f"{name}/{statement['Sid']}"
                assert source_accounts == [names.account], f"{name}/{statement['Sid']}"
                checked += 1
                continue
            assert principal == {"Service": CLOUDTRAIL}
            assert source_arns == [names.trail_arn], f"{name}/{statement['Sid']}"
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_wildcard_principal_without_condition(variant: str) -> None:
    for name, doc in _docs(_variant_policies(variant)).items():
        for statement in _statements(doc):
            principal = statement.get("Principal")
            wildcard = principal == "*" or (
                isinstance(principal, dict) and "*" in _as_list(principal.get("AWS", []))
            )
            if wildcard and statement["Effect"] == "Allow":
                condition = statement.get("Condition")
                assert condition, f"{name}/{statement['Sid']}: open to everyone"
                assert _condition_values(statement, "kms:CallerAccount") or _condition_values(
                    statement, "aws:PrincipalAccount"
                ), f"{name}/{statement['Sid']}: wildcard not limited to an account"


# ------------------------------------------------------------------ bucket policy


@pytest.mark.parametrize("variant", VARIANTS)
def test_bucket_write_path_and_conditions(variant: str) -> None:
    answers, ctx = VARIANTS[variant]
    names = Names(answers, ctx)
    prefix = f"{answers.bucket.prefix}/" if answers.bucket.prefix else ""
    bucket_arn = f"arn:{names.partition}:s3:::{answers.bucket.name}"
    statements = _by_sid(_variant_policies(variant).bucket_policy)
    acl = statements["AWSCloudTrailAclCheck"]
    assert (acl["Effect"], acl["Action"], acl["Resource"]) == (
        "Allow",
        "s3:GetBucketAcl",
        bucket_arn,
    )
    assert acl["Condition"] == {"StringEquals": {"aws:SourceArn": names.trail_arn}}
    write = statements["AWSCloudTrailWrite"]
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"] == f"{bucket_arn}/{prefix}AWSLogs/{names.trail_owner}/*"
    assert write["Condition"] == {
        "StringEquals": {
            "s3:x-amz-acl": "bucket-owner-full-control",
            "aws:SourceArn": names.trail_arn,
        }
    }


def test_bucket_write_path_examples_literally() -> None:
    paths = {
        p.stem: _by_sid(_variant_policies(p.stem).bucket_policy)["AWSCloudTrailWrite"]["Resource"]
        for p in EXAMPLES
    }
    assert paths["new-bucket-sse-s3"] == (
        "arn:aws:s3:::acme-audit-logs-123456789012/AWSLogs/123456789012/*"
    )
    assert paths["existing-bucket-prefix"] == (
        "arn:aws:s3:::demo-app-data-123456789012/cloudtrail/AWSLogs/123456789012/*"
    )
    assert (
        paths["organization-trail"] == "arn:aws:s3:::acme-org-audit-logs/org/AWSLogs/123456789012/*"
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_tls_deny_only_on_new_buckets(variant: str) -> None:
    answers, ctx = VARIANTS[variant]
    names = Names(answers, ctx)
    statements = _statements(_variant_policies(variant).bucket_policy)
    denies = [s for s in statements if s["Effect"] == "Deny"]
    if not answers.bucket.create:
        # An existing bucket only gets CloudTrail's statements merged in.
        assert denies == []
        assert [s["Sid"] for s in statements] == ["AWSCloudTrailAclCheck", "AWSCloudTrailWrite"]
        return
    (deny,) = denies
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Resource"] == [names.bucket_arn, f"{names.bucket_arn}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_organization_trail_paths_and_management_account() -> None:
    answers, ctx = VARIANTS["org-delegated-admin"]
    policies = build_policies(answers, ctx)
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/org-audit"
    statements = _by_sid(policies.bucket_policy)
    assert statements["AWSCloudTrailWrite"]["Resource"] == (
        f"arn:aws:s3:::acme-org-audit-logs/org/AWSLogs/{MANAGEMENT}/*"
    )
    org_write = statements["AWSCloudTrailOrganizationWrite"]
    assert org_write["Action"] == "s3:PutObject"
    assert org_write["Resource"] == f"arn:aws:s3:::acme-org-audit-logs/org/AWSLogs/{ORG_ID}/*"
    assert org_write["Condition"]["StringEquals"] == {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "aws:SourceArn": trail_arn,
    }
    for statement in _statements(policies.bucket_policy)[:3]:
        assert _condition_values(statement, "aws:SourceArn") == [trail_arn]
    key = _by_sid(policies.key_policy)["AllowCloudTrailEncryptLogs"]
    assert _condition_values(key, "kms:EncryptionContext:aws:cloudtrail:arn") == [
        f"arn:aws:cloudtrail:*:{MANAGEMENT}:trail/*"
    ]
    # The key is administered by the account that creates it.
    assert _by_sid(policies.key_policy)["EnableIAMUserPermissions"]["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT}:root"
    }
    assert (
        "trail/org-audit"
        in _by_sid(policies.sns_topic_policy)["AWSCloudTrailSNSPolicy"]["Condition"][
            "StringEquals"
        ]["aws:SourceArn"]
    )


def test_organization_example_has_the_org_path() -> None:
    statements = _by_sid(_variant_policies("organization-trail").bucket_policy)
    assert statements["AWSCloudTrailOrganizationWrite"]["Resource"] == (
        f"arn:aws:s3:::acme-org-audit-logs/org/AWSLogs/{ORG_ID}/*"
    )


def test_single_account_trail_has_no_org_path() -> None:
    answers = load_answers(ROOT / "examples" / "new-bucket-sse-s3.yaml")
    ctx = AccountContext(
        account_id=ACCOUNT, organization_id=ORG_ID, management_account_id=MANAGEMENT
    )
    policies = build_policies(answers, ctx)
    assert "AWSCloudTrailOrganizationWrite" not in _by_sid(policies.bucket_policy)
    assert f"trail/{answers.trail.name}" in Names(answers, ctx).trail_arn
    assert ACCOUNT in Names(answers, ctx).trail_arn


# -------------------------------------------------------------------- partitions


@pytest.mark.parametrize(
    ("variant", "partition"),
    [("china", "aws-cn"), ("china-from-session-region", "aws-cn"), ("govcloud", "aws-us-gov")],
)
def test_partition_is_used_in_every_arn(variant: str, partition: str) -> None:
    policies = _variant_policies(variant)
    arns = [s for s in _strings(policies.model_dump(mode="json")) if s.startswith("arn:")]
    assert len(arns) > 10
    wrong = [a for a in arns if not a.startswith(f"arn:{partition}:")]
    assert wrong == []
    principals = [
        s["Principal"]
        for doc in _docs(policies).values()
        for s in _statements(doc)
        if isinstance(s.get("Principal"), dict) and "Service" in s["Principal"]
    ]
    # CloudTrail everywhere; CloudWatch Logs (the encrypted log group) by its regional name.
    answers, ctx = VARIANTS[variant]
    logs = {"Service": f"logs.{Names(answers, ctx).home_region}.amazonaws.com"}
    assert principals and all(p in ({"Service": CLOUDTRAIL}, logs) for p in principals)
    assert {"Service": CLOUDTRAIL} in principals


def test_china_trail_arn() -> None:
    answers, ctx = VARIANTS["china"]
    names = Names(answers, ctx)
    assert names.partition == "aws-cn"
    assert names.trail_arn == f"arn:aws-cn:cloudtrail:cn-north-1:{ACCOUNT}:trail/acme-cn"
    assert names.log_group_arn == f"arn:aws-cn:logs:cn-north-1:{ACCOUNT}:log-group:acme-cn:*"


# --------------------------------------------------------------- central bucket


def test_central_bucket_statements_for_three_accounts() -> None:
    bucket_arn = "arn:aws:s3:::central-logs"
    writers = [
        TrailWriter(
            account_id="333333333333", trail_arn="arn:aws:cloudtrail:eu-west-1:333333333333:trail/c"
        ),
        TrailWriter(
            account_id="111111111111", trail_arn="arn:aws:cloudtrail:us-east-1:111111111111:trail/a"
        ),
        TrailWriter(
            account_id="222222222222", trail_arn="arn:aws:cloudtrail:us-west-2:222222222222:trail/b"
        ),
    ]
    acl, write = central_bucket_statements(bucket_arn, "central", writers)
    expected_arns = sorted(w.trail_arn for w in writers)
    assert acl["Action"] == "s3:GetBucketAcl" and acl["Resource"] == bucket_arn
    assert acl["Condition"] == {"StringEquals": {"aws:SourceArn": expected_arns}}
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"] == [
        f"{bucket_arn}/central/AWSLogs/{account}/*"
        for account in ("111111111111", "222222222222", "333333333333")
    ]
    assert write["Condition"] == {
        "StringEquals": {
            "s3:x-amz-acl": "bucket-owner-full-control",
            "aws:SourceArn": expected_arns,
        }
    }
    for order in itertools.permutations(writers):
        assert central_bucket_statements(bucket_arn, "central", list(order)) == [acl, write]


def test_central_bucket_single_writer_and_no_prefix() -> None:
    writer = TrailWriter(
        account_id=ACCOUNT, trail_arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t"
    )
    acl, write = central_bucket_statements("arn:aws:s3:::b", "", [writer, writer])
    assert write["Resource"] == f"arn:aws:s3:::b/AWSLogs/{ACCOUNT}/*"
    assert acl["Condition"]["StringEquals"]["aws:SourceArn"] == writer.trail_arn


def test_central_bucket_needs_a_writer() -> None:
    with pytest.raises(ValueError, match="at least one trail"):
        central_bucket_statements("arn:aws:s3:::b", "", [])


# ------------------------------------------------------------------ determinism


@pytest.mark.parametrize("variant", VARIANTS)
def test_building_twice_gives_identical_json(variant: str) -> None:
    answers, ctx = VARIANTS[variant]
    first = _render(build_policies(answers, ctx))
    again = _render(build_policies(Answers.model_validate(answers.model_dump()), ctx.model_copy()))
    assert first == again


# --------------------------------------------------------------------- KMS key


def test_key_policy_without_readers_is_limited_to_the_account() -> None:
    key = _by_sid(_variant_policies("sse-kms-new-key").key_policy)  # has readers
    assert "AllowAccountPrincipalsDecryptLogs" not in key
    key = _by_sid(_variant_policies("cloudwatch-and-sns").key_policy)  # no readers
    statement = key["AllowAccountPrincipalsDecryptLogs"]
    assert statement["Principal"] == {"AWS": "*"}
    assert statement["Condition"]["StringEquals"] == {"kms:CallerAccount": ACCOUNT}
    assert _condition_values(statement, "kms:EncryptionContext:aws:cloudtrail:arn") == [
        f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
    ]


def test_decrypt_principals_narrow_the_readers_statement() -> None:
    other = "arn:aws:iam::210987654321:role/Auditor"
    answers = _answers(
        {
            "trail": {"name": "acme-audit"},
            "bucket": {"name": "acme-audit-logs"},
            "encryption": {"decrypt_principals": [READER, other, READER]},
        }
    )
    key = build_policies(answers, AccountContext(account_id=ACCOUNT)).key_policy
    readers = [s for s in _statements(key) if "kms:Decrypt" in _as_list(s["Action"])]
    (statement,) = readers
    assert statement["Sid"] == "AllowLogReadersDecrypt"
    assert statement["Principal"] == {"AWS": sorted({READER, other})}
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Condition"]["Null"] == {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}
    assert not any(
        "*" in _as_list(s["Principal"].get("AWS", [])) for s in _statements(key) if "Principal" in s
    )


def test_key_policy_statements() -> None:
    key = _variant_policies("sse-kms-new-key").key_policy
    assert key is not None and key["Id"] == "cloudtrail-wizard-key-policy"
    statements = _by_sid(key)
    root = statements["EnableIAMUserPermissions"]
    assert (
        root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"} and root["Action"] == "kms:*"
    )
    encrypt = statements["AllowCloudTrailEncryptLogs"]
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    assert encrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
    }
    assert statements["AllowCloudTrailDescribeKey"]["Action"] == "kms:DescribeKey"
    assert all(s["Resource"] == "*" for s in statements.values())
    actions = {a for s in statements.values() for a in _as_list(s["Action"])}
    assert "kms:CreateAlias" not in actions  # the console's ec2 alias statement is dropped


def test_existing_key_gets_only_cloudtrail_statements() -> None:
    key = _variant_policies("sse-kms-existing-key").key_policy
    assert [s["Sid"] for s in _statements(key)] == [
        "AllowCloudTrailEncryptLogs",
        "AllowCloudTrailDescribeKey",
    ]


def test_bucket_key_decrypt_statement() -> None:
    answers, ctx = VARIANTS["sse-kms-existing-key"]
    names = Names(answers, ctx)
    statements = key_cloudtrail_statements(names, bucket_key_decrypt=True)
    decrypt = statements[-1]
    assert (decrypt["Sid"], decrypt["Action"]) == ("AllowCloudTrailBucketKeyDecrypt", "kms:Decrypt")
    assert decrypt["Principal"] == {"Service": CLOUDTRAIL}
    assert decrypt["Condition"] == {"StringEquals": {"aws:SourceArn": names.trail_arn}}
    assert len(key_cloudtrail_statements(names)) == len(statements) - 1


def test_sse_s3_has_no_key_policy() -> None:
    for variant in ("new-bucket-sse-s3", "existing-bucket-prefix"):
        assert _variant_policies(variant).key_policy is None


# ------------------------------------------------------------ SNS and CloudWatch


def test_new_topic_policy() -> None:
    topic = _by_sid(_variant_policies("cloudwatch-and-sns").sns_topic_policy)
    arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:acme-cloudtrail-notifications"
    assert topic["AWSCloudTrailSNSPolicy"]["Action"] == "SNS:Publish"
    assert topic["AWSCloudTrailSNSPolicy"]["Resource"] == arn
    assert topic["TopicOwnerAdministers"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def test_existing_topic_gets_only_the_cloudtrail_statement() -> None:
    topic = _variant_policies("govcloud").sns_topic_policy
    (statement,) = _statements(topic)
    assert statement["Resource"] == f"arn:aws-us-gov:sns:us-gov-west-1:{ACCOUNT}:ct"


def test_topic_statement_needs_a_topic() -> None:
    answers, ctx = VARIANTS["new-bucket-sse-s3"]
    with pytest.raises(ValueError, match="no SNS topic"):
        topic_cloudtrail_statement(Names(answers, ctx))


def test_cloudwatch_role_policies() -> None:
    policies = _variant_policies("cloudwatch-and-sns")
    group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:aws-cloudtrail-logs-acme"
    stream = f"{group}:log-stream:{ACCOUNT}_CloudTrail_us-east-1*"
    role = _by_sid(policies.cloudwatch_logs_role_policy)
    assert role["AWSCloudTrailCreateLogStream"]["Action"] == "logs:CreateLogStream"
    assert role["AWSCloudTrailPutLogEvents"]["Action"] == "logs:PutLogEvents"
    assert all(s["Resource"] == stream for s in role.values())
    (trust,) = _statements(policies.cloudwatch_logs_role_trust_policy)
    assert trust["Action"] == "sts:AssumeRole" and trust["Principal"] == {"Service": CLOUDTRAIL}
    assert "Condition" not in trust


def test_cloudwatch_role_policy_for_organization_trails() -> None:
    role = _by_sid(_variant_policies("org-in-management-account").cloudwatch_logs_role_policy)
    base = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:org-audit:log-stream:"
    for statement in role.values():
        assert statement["Resource"] == [
            f"{base}{ACCOUNT}_CloudTrail_us-east-1*",
            f"{base}{ORG_ID}_*",
        ]


def test_existing_role_gets_no_role_policies() -> None:
    policies = _variant_policies("govcloud")
    assert policies.cloudwatch_logs_role_policy is None
    assert policies.cloudwatch_logs_role_trust_policy is None


# ------------------------------------------------------------------------ names


def test_names() -> None:
    answers, ctx = VARIANTS["cloudwatch-and-sns"]
    names = Names(answers, ctx)
    assert names.trail_arn == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/acme-monitored"
    assert names.bucket_arn == "arn:aws:s3:::acme-monitored-logs"
    assert names.log_group_arn is not None and names.log_group_arn.endswith(
        "log-group:aws-cloudtrail-logs-acme:*"
    )
    assert names.topic_arn == f"arn:aws:sns:us-east-1:{ACCOUNT}:acme-cloudtrail-notifications"
    assert names.role_name == "CloudTrailToCloudWatchLogs-acme-monitored"
    assert names.role_arn == f"arn:aws:iam::{ACCOUNT}:role/{names.role_name}"
    assert names.key_alias() == "alias/cloudtrail-acme-monitored"
    assert names.encryption_context_pattern == f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
    assert names.log_object_path() == (
        f"s3://acme-monitored-logs/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/YYYY/MM/DD/"
    )
    assert names.bucket_region() == "us-east-1"


def test_names_of_an_organization_trail() -> None:
    answers, ctx = VARIANTS["org-delegated-admin"]
    names = Names(answers, ctx)
    assert names.trail_owner == MANAGEMENT
    assert names.log_object_path() == (
        f"s3://acme-org-audit-logs/org/AWSLogs/{ORG_ID}/{ACCOUNT}/CloudTrail/us-east-1/YYYY/MM/DD/"
    )


def test_default_role_name_is_a_valid_role_name() -> None:
    answers = _answers(
        {
            "trail": {"name": "t" * 128},
            "bucket": {"name": "acme-audit-logs"},
            "cloudwatch_logs": {"log_group": "g"},
        }
    )
    role_name = Names(answers, AccountContext(account_id=ACCOUNT)).role_name
    assert role_name is not None and check_role_name(role_name) is None


def test_existing_bucket_region_comes_from_discovery() -> None:
    answers, ctx = VARIANTS["existing-bucket-prefix"]
    names = Names(answers, ctx)
    assert names.bucket_region("eu-central-1") == "eu-central-1"
    assert names.bucket_region() == "eu-west-1"  # the trail's home region


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"account_id": "12345"}, "12 digits"),
        ({"account_id": f"{ACCOUNT}\n"}, "12 digits"),
        ({"account_id": ACCOUNT, "organization_id": "o-x"}, "organization id"),
        ({"account_id": ACCOUNT, "management_account_id": "1"}, "12 digits"),
        ({"account_id": ACCOUNT, "partition": "aws-mars"}, "unknown partition"),
        ({"account_id": ACCOUNT, "region": "mars-1"}, "not an AWS region"),
        ({"account_id": ACCOUNT, "region": "EU"}, "eu-west-1"),
    ],
)
def test_account_context_validation(kwargs: dict[str, str], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        AccountContext.model_validate(kwargs)


# ------------------------------------------------- evaluating the real policies
# These use the offline evaluator in wizard.policy.access.

_TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/acme-audit"
_BUCKET = "arn:aws:s3:::acme-audit-logs-123456789012"
_OBJECT = f"{_BUCKET}/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/01/01/f.json.gz"
_DELIVERY = {
    "aws:SourceArn": _TRAIL,
    "aws:SourceAccount": ACCOUNT,
    "s3:x-amz-acl": "bucket-owner-full-control",
    "aws:SecureTransport": True,
}


def _decide(
    policy: dict[str, Any] | None,
    action: str,
    resource: str,
    context: dict[str, Any],
    principal: tuple[str, str] = ("service", CLOUDTRAIL),
) -> str:
    assert policy is not None
    request = access.Request(
        principal=access.Principal(kind=principal[0], id=principal[1]),
        action=action,
        resource=resource,
        context=context,
    )
    result = access.evaluate(policy, request)
    assert result.allowed == (result.decision == "allow")
    return str(result.decision)


def test_bucket_policy_lets_this_trail_deliver() -> None:
    policy = _variant_policies("new-bucket-sse-s3").bucket_policy
    assert _decide(policy, "s3:PutObject", _OBJECT, _DELIVERY) == "allow"
    digest = _OBJECT.replace("/CloudTrail/", "/CloudTrail-Digest/")
    assert _decide(policy, "s3:PutObject", digest, _DELIVERY) == "allow"
    acl_check = {"aws:SourceArn": _TRAIL, "aws:SecureTransport": True}
    assert _decide(policy, "s3:GetBucketAcl", _BUCKET, acl_check) == "allow"


@pytest.mark.parametrize(
    ("resource", "context", "decision"),
    [
        (
            _OBJECT,
            {**_DELIVERY, "aws:SourceArn": _TRAIL.replace("acme-audit", "intruder")},
            "implicit-deny",
        ),
        (
            _OBJECT,
            {**_DELIVERY, "aws:SourceArn": _TRAIL.replace(ACCOUNT, "210987654321")},
            "implicit-deny",
        ),
        (
            _OBJECT.replace(f"AWSLogs/{ACCOUNT}/", "AWSLogs/210987654321/"),
            _DELIVERY,
            "implicit-deny",
        ),
        (f"{_BUCKET}/elsewhere/f.json.gz", _DELIVERY, "implicit-deny"),
        (_OBJECT, {k: v for k, v in _DELIVERY.items() if k != "s3:x-amz-acl"}, "implicit-deny"),
        (_OBJECT, {**_DELIVERY, "s3:x-amz-acl": "public-read"}, "implicit-deny"),
        (_OBJECT, {k: v for k, v in _DELIVERY.items() if k != "aws:SourceArn"}, "implicit-deny"),
        (_OBJECT, {**_DELIVERY, "aws:SecureTransport": False}, "explicit-deny"),
    ],
    ids=[
        "other-trail",
        "trail-of-other-account",
        "other-account-path",
        "outside-AWSLogs",
        "no-acl",
        "public-acl",
        "no-source-arn",
        "plain-http",
    ],
)
def test_bucket_policy_refuses_everything_else(
    resource: str, context: dict[str, Any], decision: str
) -> None:
    policy = _variant_policies("new-bucket-sse-s3").bucket_policy
    assert _decide(policy, "s3:PutObject", resource, context) == decision


def test_bucket_policy_with_prefix() -> None:
    policy = _variant_policies("existing-bucket-prefix").bucket_policy
    trail = f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/acme-audit"
    good = {**_DELIVERY, "aws:SourceArn": trail}
    path = (
        f"arn:aws:s3:::demo-app-data-123456789012/cloudtrail/AWSLogs/{ACCOUNT}/CloudTrail/x.json.gz"
    )
    assert _decide(policy, "s3:PutObject", path, good) == "allow"
    no_prefix = path.replace("/cloudtrail/", "/")
    assert _decide(policy, "s3:PutObject", no_prefix, good) == "implicit-deny"


def test_organization_bucket_policy() -> None:
    answers, ctx = VARIANTS["org-delegated-admin"]
    policy = build_policies(answers, ctx).bucket_policy
    trail = f"arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/org-audit"
    good = {**_DELIVERY, "aws:SourceArn": trail}
    member = f"arn:aws:s3:::acme-org-audit-logs/org/AWSLogs/{ORG_ID}/210987654321/CloudTrail/x"
    assert _decide(policy, "s3:PutObject", member, good) == "allow"
    own = f"arn:aws:s3:::acme-org-audit-logs/org/AWSLogs/{MANAGEMENT}/CloudTrail/x"
    assert _decide(policy, "s3:PutObject", own, good) == "allow"
    delegate_trail = {**good, "aws:SourceArn": trail.replace(MANAGEMENT, ACCOUNT)}
    assert _decide(policy, "s3:PutObject", member, delegate_trail) == "implicit-deny"


def test_tls_deny_denies_plain_http_to_everyone() -> None:
    policy = _variant_policies("new-bucket-sse-s3").bucket_policy
    assert policy is not None
    request = access.Request(
        principal=access.Principal(kind="aws", id=f"arn:aws:iam::{ACCOUNT}:role/Admin"),
        action="s3:GetObject",
        resource=f"{_BUCKET}/x",
        context={"aws:SecureTransport": False},
    )
    result = access.evaluate(policy, request)
    assert result.decision == "explicit-deny"
    assert [ref.sid for ref in result.deciding] == ["DenyInsecureTransport"]
    secure = request.model_copy(update={"context": {"aws:SecureTransport": True}})
    assert access.evaluate(policy, secure).decision == "implicit-deny"


def test_key_policy_lets_cloudtrail_encrypt_with_the_right_context() -> None:
    policy = _variant_policies("sse-kms-new-key").key_policy
    context = {"aws:SourceArn": _TRAIL, "kms:EncryptionContext:aws:cloudtrail:arn": _TRAIL}
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{'1' * 8}-1111-1111-1111-{'1' * 12}"
    assert _decide(policy, "kms:GenerateDataKey", key, context) == "allow"
    assert _decide(policy, "kms:DescribeKey", key, {"aws:SourceArn": _TRAIL}) == "allow"
    other_account = {
        **context,
        "kms:EncryptionContext:aws:cloudtrail:arn": _TRAIL.replace(ACCOUNT, "210987654321"),
    }
    assert _decide(policy, "kms:GenerateDataKey", key, other_account) == "implicit-deny"
    no_context = {"aws:SourceArn": _TRAIL}
    assert _decide(policy, "kms:GenerateDataKey", key, no_context) == "implicit-deny"
    other_trail = {**context, "aws:SourceArn": _TRAIL.replace("acme-audit", "intruder")}
    assert _decide(policy, "kms:GenerateDataKey", key, other_trail) == "implicit-deny"
    assert _decide(policy, "kms:Decrypt", key, context) == "implicit-deny"


def test_key_policy_decrypt_only_for_named_readers_and_log_files() -> None:
    policy = _variant_policies("sse-kms-new-key").key_policy
    assert policy is not None
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{'1' * 8}-1111-1111-1111-{'1' * 12}"
    logs = {"kms:EncryptionContext:aws:cloudtrail:arn": _TRAIL, "kms:CallerAccount": ACCOUNT}

    def decrypt(principal: str, context: dict[str, Any]) -> Any:
        request = access.Request(
            principal=access.Principal(kind="aws", id=principal),
            action="kms:Decrypt",
            resource=key,
            context=context,
        )
        return access.evaluate(policy, request)

    result = decrypt(READER, logs)
    assert result.allowed
    assert "AllowLogReadersDecrypt" in [ref.sid for ref in result.deciding]
    # Anyone else in the account gets nothing from the key policy beyond the root
    # statement, which only delegates to their IAM policies.
    other = decrypt(f"arn:aws:iam::{ACCOUNT}:role/Developer", logs)
    assert [ref.sid for ref in other.deciding] == ["EnableIAMUserPermissions"]
    assert not decrypt("arn:aws:iam::210987654321:role/Developer", logs).allowed
    not_logs = decrypt(READER, {"kms:CallerAccount": ACCOUNT})
    assert "AllowLogReadersDecrypt" not in [ref.sid for ref in not_logs.deciding]


def test_key_policy_decrypt_without_readers_stays_in_the_account() -> None:
    policy = _variant_policies("cloudwatch-and-sns").key_policy
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{'1' * 8}-1111-1111-1111-{'1' * 12}"
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/acme-monitored"
    logs = {"kms:EncryptionContext:aws:cloudtrail:arn": trail}
    inside = ("aws", f"arn:aws:iam::{ACCOUNT}:role/Developer")
    assert _decide(policy, "kms:Decrypt", key, {**logs, "kms:CallerAccount": ACCOUNT}, inside) == (
        "allow"
    )
    outside = ("aws", "arn:aws:iam::210987654321:role/Developer")
    assert (
        _decide(policy, "kms:Decrypt", key, {**logs, "kms:CallerAccount": "210987654321"}, outside)
        == "implicit-deny"
    )


def test_topic_policy_lets_only_this_trail_publish() -> None:
    policies = _variant_policies("cloudwatch-and-sns")
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/acme-monitored"
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:acme-cloudtrail-notifications"
    context = {"aws:SourceArn": trail, "aws:SourceAccount": ACCOUNT}
    assert _decide(policies.sns_topic_policy, "SNS:Publish", topic, context) == "allow"
    other = {**context, "aws:SourceArn": trail.replace("acme-monitored", "intruder")}
    assert _decide(policies.sns_topic_policy, "SNS:Publish", topic, other) == "implicit-deny"


def test_trust_policy_is_the_one_aws_documents() -> None:
    """CloudTrail may assume the role without any condition: AWS documents none, and does not
    document CloudTrail sending aws:SourceArn or aws:SourceAccount when it assumes the role."""
    # A trust policy has no Resource (it governs its own role); review.trust_as_resource_policy
    # gives each statement the role as Resource, as the access checker needs.
    from wizard.plan.review import trust_as_resource_policy

    for variant in ("cloudwatch-and-sns", "org-in-management-account"):
        assert _variant_policies(variant).cloudwatch_logs_role_trust_policy == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowCloudTrailAssumeRole",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL},
                    "Action": "sts:AssumeRole",
                }
            ],
        }, variant
    policies = _variant_policies("cloudwatch-and-sns")
    role = f"arn:aws:iam::{ACCOUNT}:role/CloudTrailToCloudWatchLogs-acme-monitored"
    trust = json.loads(
        trust_as_resource_policy(json.dumps(policies.cloudwatch_logs_role_trust_policy), role)
        or "{}"
    )
    assert _decide(trust, "sts:AssumeRole", role, {}) == "allow"
    ec2 = ("service", "ec2.amazonaws.com")
    assert _decide(trust, "sts:AssumeRole", role, {}, principal=ec2) == "implicit-deny"
