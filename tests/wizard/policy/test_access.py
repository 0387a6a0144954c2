"""Tests for wizard.policy.access: offline evaluation of AWS resource policies, with reasons.

Every operator family, the set qualifiers and ``IfExists``, principal/action/resource
matching (including the negated elements and wildcards), deny-over-allow, undecided
statements, malformed documents, and the CloudTrail policies the wizard writes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wizard.policy.access import (
    AccessResult,
    ContextValue,
    Decision,
    PolicyFormatError,
    Principal,
    Request,
    evaluate,
    explain,
)

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
BUCKET = "arn:aws:s3:::acme-trail-logs"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/acme-trail"
OTHER_TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/other-trail"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CLOUDTRAIL = Principal.service("cloudtrail.amazonaws.com")
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Deployer"
USER = Principal.aws(f"arn:aws:iam::{ACCOUNT}:user/alice")
OBJECT = f"{BUCKET}/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/01/01/x.json.gz"


def stmt(**elements: Any) -> dict[str, Any]:
    """An Allow-everyone-s3:GetObject-on-everything statement, overridden by ``elements``."""
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "*",
    }
    base.update(elements)
    return {key: value for key, value in base.items() if value is not None}


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    policy: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        policy["Version"] = version
    return policy


def req(
    action: str = "s3:GetObject",
    resource: str = f"{BUCKET}/file",
    principal: Principal = USER,
    context: dict[str, ContextValue] | None = None,
) -> Request:
    return Request(
        principal=principal, action=action, resource=resource, context=dict(context or {})
    )


def with_condition(condition: dict[str, Any], context: dict[str, ContextValue]) -> Decision:
    """Decision of an Allow statement guarded by ``condition`` for a request with ``context``."""
    request = Request(
        principal=USER, action="s3:GetObject", resource=f"{BUCKET}/f", context=context
    )
    return evaluate(doc(stmt(Condition=condition)), request).decision


ALLOW, DENY, IMPLICIT_DENY, UNDECIDED = (
    Decision.ALLOW,
    Decision.EXPLICIT_DENY,
    Decision.IMPLICIT_DENY,
    Decision.UNDECIDED,
)


# --------------------------------------------------------------------------- CloudTrail policies


def cloudtrail_bucket_policy(prefix: str = "") -> dict[str, Any]:
    source = {"aws:SourceArn": TRAIL_ARN}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": BUCKET,
                "Condition": {"StringEquals": source},
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{BUCKET}/{prefix}AWSLogs/{ACCOUNT}/*",
                "Condition": {
                    "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}
                },
            },
            {
                "Sid": "DenyNonTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [BUCKET, f"{BUCKET}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def cloudtrail_write(
    resource: str = OBJECT,
    *,
    secure: bool | None = True,
    source_arn: str | None = TRAIL_ARN,
    acl: str | None = "bucket-owner-full-control",
) -> Request:
    """CloudTrail delivering a log file; ``None`` leaves a key out of the context."""
    context: dict[str, ContextValue] = {
        "aws:SourceArn": source_arn,
        "s3:x-amz-acl": acl,
        "aws:SecureTransport": secure,
    }
    context = {key: value for key, value in context.items() if value is not None}
    return Request(principal=CLOUDTRAIL, action="s3:PutObject", resource=resource, context=context)


@pytest.mark.parametrize("prefix", ["", "team/logs/"])
def test_cloudtrail_write_allowed_for_its_trail_and_path(prefix: str) -> None:
    resource = f"{BUCKET}/{prefix}AWSLogs/{ACCOUNT}/CloudTrail/x.json.gz"
    result = evaluate(cloudtrail_bucket_policy(prefix), cloudtrail_write(resource))
    assert result.decision is ALLOW
    assert result.allowed
    assert [ref.sid for ref in result.deciding] == ["AWSCloudTrailWrite"]
    assert result.deciding[0].index == 1
    assert "allows s3:PutObject" in result.reasons[0]


def test_cloudtrail_acl_check_allowed_on_bucket() -> None:
    request = Request(
        principal=CLOUDTRAIL,
        action="s3:GetBucketAcl",
        resource=BUCKET,
        context={"aws:SourceArn": TRAIL_ARN, "aws:SecureTransport": True},
    )
    result = evaluate(cloudtrail_bucket_policy(), request)
    assert result.decision is ALLOW
    assert result.deciding[0].sid == "AWSCloudTrailAclCheck"


def test_cloudtrail_write_refused_for_another_trail() -> None:
    result = evaluate(cloudtrail_bucket_policy(), cloudtrail_write(source_arn=OTHER_TRAIL_ARN))
    assert result.decision is IMPLICIT_DENY
    assert not result.allowed
    assert result.deciding == []
    assert result.reasons[0].startswith("No statement allows s3:PutObject on ")
    write = next(r for r in result.reasons if "'AWSCloudTrailWrite' (#1)" in r)
    assert "does not apply" in write
    assert f"condition StringEquals aws:SourceArn expects {TRAIL_ARN}" in write
    assert f"request has {OTHER_TRAIL_ARN}" in write


def test_cloudtrail_write_refused_for_another_accounts_path() -> None:
    resource = f"{BUCKET}/AWSLogs/{OTHER_ACCOUNT}/CloudTrail/x.json.gz"
    result = evaluate(cloudtrail_bucket_policy(), cloudtrail_write(resource))
    assert result.decision is IMPLICIT_DENY
    assert any(f"its Resource does not include {resource}" in r for r in result.reasons)


def test_cloudtrail_write_refused_without_acl_header() -> None:
    result = evaluate(cloudtrail_bucket_policy(), cloudtrail_write(acl=None))
    assert result.decision is IMPLICIT_DENY
    assert any("request has no s3:x-amz-acl" in r for r in result.reasons)


def test_cloudtrail_write_refused_for_another_service() -> None:
    request = cloudtrail_write().model_copy(
        update={"principal": Principal.service("config.amazonaws.com")}
    )
    result = evaluate(cloudtrail_bucket_policy(), request)
    assert result.decision is IMPLICIT_DENY
    assert any(
        "its Principal does not include service config.amazonaws.com" in r for r in result.reasons
    )


def test_tls_only_deny_denies_insecure_transport() -> None:
    result = evaluate(cloudtrail_bucket_policy(), cloudtrail_write(secure=False))
    assert result.decision is DENY
    assert [ref.sid for ref in result.deciding] == ["DenyNonTls"]
    assert result.reasons[0].startswith("Statement 'DenyNonTls' (#2) denies s3:PutObject")
    assert "because aws:SecureTransport is false" in result.reasons[0]


def test_tls_only_deny_does_not_deny_secure_transport() -> None:
    result = evaluate(cloudtrail_bucket_policy(), cloudtrail_write(secure=True))
    assert result.decision is ALLOW


def test_tls_only_deny_without_the_key_does_not_apply() -> None:
    # Bool is a positive operator: a missing aws:SecureTransport makes it false.
    assert evaluate(cloudtrail_bucket_policy(), cloudtrail_write(secure=None)).decision is ALLOW


def kms_key_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "Key policy created by CloudTrail",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Allow CloudTrail to encrypt logs",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": TRAIL_ARN},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
                        )
                    },
                },
            },
        ],
    }


def kms_request(action: str, encryption_arn: str | None) -> Request:
    context: dict[str, ContextValue] = {"aws:SourceArn": TRAIL_ARN}
    if encryption_arn is not None:
        context["kms:EncryptionContext:aws:cloudtrail:arn"] = encryption_arn
    return Request(principal=CLOUDTRAIL, action=action, resource=KEY_ARN, context=context)


@pytest.mark.parametrize("action", ["kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext"])
def test_kms_key_policy_lets_cloudtrail_generate_data_keys(action: str) -> None:
    result = evaluate(kms_key_policy(), kms_request(action, TRAIL_ARN))
    assert result.decision is ALLOW
    assert result.deciding[0].sid == "Allow CloudTrail to encrypt logs"
    assert "StringLike" in result.deciding[0].reason


def test_kms_key_policy_refuses_trail_of_another_account() -> None:
    other = f"arn:aws:cloudtrail:us-east-1:{OTHER_ACCOUNT}:trail/acme-trail"
    result = evaluate(kms_key_policy(), kms_request("kms:GenerateDataKey", other))
    assert result.decision is IMPLICIT_DENY
    assert any("kms:EncryptionContext:aws:cloudtrail:arn" in r for r in result.reasons)


def test_kms_key_policy_refuses_missing_encryption_context() -> None:
    result = evaluate(kms_key_policy(), kms_request("kms:GenerateDataKey", None))
    assert result.decision is IMPLICIT_DENY


def test_kms_key_policy_does_not_grant_decrypt_to_cloudtrail() -> None:
    result = evaluate(kms_key_policy(), kms_request("kms:Decrypt", TRAIL_ARN))
    assert result.decision is IMPLICIT_DENY
    assert any("its Action does not include kms:Decrypt" in r for r in result.reasons)


def test_kms_key_policy_account_root_grants_account_principals() -> None:
    request = Request(principal=USER, action="kms:Decrypt", resource=KEY_ARN)
    assert evaluate(kms_key_policy(), request).decision is ALLOW
    outsider = Principal.aws(f"arn:aws:iam::{OTHER_ACCOUNT}:user/mallory")
    request = Request(principal=outsider, action="kms:Decrypt", resource=KEY_ARN)
    assert evaluate(kms_key_policy(), request).decision is IMPLICIT_DENY


def test_policy_given_as_json_text() -> None:
    text = json.dumps(cloudtrail_bucket_policy())
    assert evaluate(text, cloudtrail_write()).decision is ALLOW


# --------------------------------------------------------------------------- principals


@pytest.mark.parametrize("principal_element", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
@pytest.mark.parametrize(
    "principal",
    [CLOUDTRAIL, USER, Principal.anonymous(), Principal.aws(ROLE_ARN)],
)
def test_wildcard_principal_matches_everyone(principal_element: Any, principal: Principal) -> None:
    result = evaluate(doc(stmt(Principal=principal_element)), req(principal=principal))
    assert result.decision is ALLOW


@pytest.mark.parametrize("account_form", [ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"])
def test_account_principal_forms_match_any_principal_of_the_account(account_form: str) -> None:
    policy = doc(stmt(Principal={"AWS": account_form}))
    assert evaluate(policy, req(principal=USER)).decision is ALLOW
    assert evaluate(policy, req(principal=Principal.aws(ROLE_ARN))).decision is ALLOW
    session = Principal.aws(f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/ci")
    assert evaluate(policy, req(principal=session)).decision is ALLOW
    outsider = Principal.aws(f"arn:aws:iam::{OTHER_ACCOUNT}:user/alice")
    assert evaluate(policy, req(principal=outsider)).decision is IMPLICIT_DENY
    assert evaluate(policy, req(principal=CLOUDTRAIL)).decision is IMPLICIT_DENY
    assert evaluate(policy, req(principal=Principal.anonymous())).decision is IMPLICIT_DENY


def test_root_principal_requires_same_partition() -> None:
    policy = doc(stmt(Principal={"AWS": f"arn:aws-cn:iam::{ACCOUNT}:root"}))
    assert evaluate(policy, req(principal=USER)).decision is IMPLICIT_DENY


def test_role_principal_matches_exactly() -> None:
    policy = doc(stmt(Principal={"AWS": ROLE_ARN}))
    assert evaluate(policy, req(principal=Principal.aws(ROLE_ARN))).decision is ALLOW
    other = Principal.aws(f"arn:aws:iam::{ACCOUNT}:role/Other")
    result = evaluate(policy, req(principal=other))
    assert result.decision is IMPLICIT_DENY
    assert any(f"its Principal does not include principal {other.id}" in r for r in result.reasons)
    assert evaluate(policy, req(principal=USER)).decision is IMPLICIT_DENY


@pytest.mark.parametrize(
    ("role_arn", "session_arn", "expected"),
    [
        (ROLE_ARN, f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/ci-run", ALLOW),
        (
            f"arn:aws:iam::{ACCOUNT}:role/teams/ops/Deployer",
            f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/s",
            ALLOW,
        ),
        (ROLE_ARN, f"arn:aws:sts::{ACCOUNT}:assumed-role/Other/ci-run", IMPLICIT_DENY),
        (ROLE_ARN, f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/Deployer/ci", IMPLICIT_DENY),
        (
            f"arn:aws:iam::{ACCOUNT}:user/Deployer",
            f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/s",
            IMPLICIT_DENY,
        ),
    ],
)
def test_assumed_role_session_is_matched_by_its_role(
    role_arn: str, session_arn: str, expected: Decision
) -> None:
    policy = doc(stmt(Principal={"AWS": role_arn}))
    assert evaluate(policy, req(principal=Principal.aws(session_arn))).decision is expected


def test_service_principal_string_or_list_case_insensitive() -> None:
    single = doc(stmt(Principal={"Service": "CloudTrail.amazonaws.com"}))
    assert evaluate(single, req(principal=CLOUDTRAIL)).decision is ALLOW
    listed = doc(stmt(Principal={"Service": ["config.amazonaws.com", "cloudtrail.amazonaws.com"]}))
    assert evaluate(listed, req(principal=CLOUDTRAIL)).decision is ALLOW
    assert evaluate(listed, req(principal=USER)).decision is IMPLICIT_DENY


@pytest.mark.parametrize(
    "element",
    [
        {"Federated": "cognito-identity.amazonaws.com"},
        {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
    ],
)
def test_federated_and_canonical_user_never_match(element: dict[str, str]) -> None:
    policy = doc(stmt(Principal=element))
    for principal in (USER, CLOUDTRAIL, Principal.anonymous()):
        assert evaluate(policy, req(principal=principal)).decision is IMPLICIT_DENY


def test_not_principal_deny_spares_listed_role_and_its_sessions() -> None:
    policy = doc(
        stmt(Principal="*"),
        stmt(Sid="OnlyDeployer", Effect="Deny", Principal=None, NotPrincipal={"AWS": ROLE_ARN}),
    )
    assert evaluate(policy, req(principal=Principal.aws(ROLE_ARN))).decision is ALLOW
    session = Principal.aws(f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/x")
    assert evaluate(policy, req(principal=session)).decision is ALLOW
    result = evaluate(policy, req(principal=USER))
    assert result.decision is DENY
    assert result.deciding[0].sid == "OnlyDeployer"
    spared = evaluate(doc(policy["Statement"][1]), req(principal=Principal.aws(ROLE_ARN)))
    assert any("its NotPrincipal excludes" in r for r in spared.reasons)


def test_statement_without_principal_does_not_apply() -> None:
    result = evaluate(doc(stmt(Principal=None)), req())
    assert result.decision is IMPLICIT_DENY
    assert any("no Principal or NotPrincipal" in r for r in result.reasons)


# --------------------------------------------------------------------------- actions


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:GetObject", "s3:GetObject", ALLOW),
        ("S3:getobject", "s3:GetObject", ALLOW),
        ("s3:GetObject", "S3:GETOBJECT", ALLOW),
        ("s3:Get*", "s3:GetObjectAcl", ALLOW),
        ("s3:?etObject", "s3:GetObject", ALLOW),
        ("s3:?etObject", "s3:GetObjectAcl", IMPLICIT_DENY),
        ("s3:?etObject", "s3:etObject", IMPLICIT_DENY),
        ("*", "kms:Decrypt", ALLOW),
        ("s3:*", "kms:Decrypt", IMPLICIT_DENY),
        ("s3:GetObject", "s3:GetObjectAcl", IMPLICIT_DENY),
    ],
)
def test_action_wildcards_and_case(pattern: str, action: str, expected: Decision) -> None:
    assert evaluate(doc(stmt(Action=pattern)), req(action=action)).decision is expected


def test_action_list_matches_any_entry() -> None:
    policy = doc(stmt(Action=["s3:PutObject", "s3:GetObject"]))
    assert evaluate(policy, req(action="s3:GetObject")).decision is ALLOW
    assert evaluate(policy, req(action="s3:DeleteObject")).decision is IMPLICIT_DENY


def test_not_action() -> None:
    policy = doc(stmt(Action=None, NotAction="s3:Delete*"))
    assert evaluate(policy, req(action="s3:PutObject")).decision is ALLOW
    result = evaluate(policy, req(action="s3:DeleteObject"))
    assert result.decision is IMPLICIT_DENY
    assert any("its NotAction covers s3:DeleteObject" in r for r in result.reasons)


# --------------------------------------------------------------------------- resources


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        (f"{BUCKET}/*", f"{BUCKET}/a/b/c", ALLOW),
        (f"{BUCKET}/*", BUCKET, IMPLICIT_DENY),
        ("arn:aws:s3:::ACME-TRAIL-LOGS/*", f"{BUCKET}/a", IMPLICIT_DENY),
        (f"{BUCKET}/file?", f"{BUCKET}/file1", ALLOW),
        (f"{BUCKET}/file?", f"{BUCKET}/file", IMPLICIT_DENY),
        (f"{BUCKET}/file?", f"{BUCKET}/file12", IMPLICIT_DENY),
        ("*", KEY_ARN, ALLOW),
        ("arn:aws:s3:::*", f"{BUCKET}/x", ALLOW),
    ],
)
def test_resource_wildcards_are_case_sensitive(
    pattern: str, resource: str, expected: Decision
) -> None:
    assert evaluate(doc(stmt(Resource=pattern)), req(resource=resource)).decision is expected


def test_not_resource() -> None:
    policy = doc(stmt(Resource=None, NotResource=f"{BUCKET}/private/*"))
    assert evaluate(policy, req(resource=f"{BUCKET}/public/x")).decision is ALLOW
    result = evaluate(policy, req(resource=f"{BUCKET}/private/x"))
    assert result.decision is IMPLICIT_DENY
    assert any("its NotResource covers" in r for r in result.reasons)


def test_missing_resource_makes_statement_ineffective() -> None:
    result = evaluate(doc(stmt(Resource=None)), req())
    assert result.decision is IMPLICIT_DENY
    assert any("neither Resource nor NotResource" in r for r in result.reasons)


def test_policy_variable_in_resource() -> None:
    policy = doc(stmt(Resource=f"{BUCKET}/home/${{aws:username}}/*"))
    mine = req(resource=f"{BUCKET}/home/alice/notes", context={"aws:username": "alice"})
    assert evaluate(policy, mine).decision is ALLOW
    theirs = req(resource=f"{BUCKET}/home/bob/notes", context={"aws:username": "alice"})
    assert evaluate(policy, theirs).decision is IMPLICIT_DENY


def test_missing_policy_variable_is_undecided() -> None:
    policy = doc(stmt(Resource=f"{BUCKET}/home/${{aws:username}}/*"))
    result = evaluate(policy, req(resource=f"{BUCKET}/home/alice/notes"))
    assert result.decision is UNDECIDED
    assert "${aws:username} is not in the request context" in result.reasons[0]


def test_policy_variable_default_value() -> None:
    policy = doc(stmt(Resource=f"{BUCKET}/home/${{aws:username, 'guest'}}/*"))
    assert evaluate(policy, req(resource=f"{BUCKET}/home/guest/x")).decision is ALLOW


def test_substituted_text_is_literal_not_a_wildcard() -> None:
    policy = doc(stmt(Resource=f"{BUCKET}/${{aws:username}}"))
    sneaky: dict[str, ContextValue] = {"aws:username": "*"}
    assert (
        evaluate(policy, req(resource=f"{BUCKET}/anything", context=sneaky)).decision
        is IMPLICIT_DENY
    )
    assert evaluate(policy, req(resource=f"{BUCKET}/*", context=sneaky)).decision is ALLOW


def test_escaped_variables_are_literal_characters() -> None:
    policy = doc(stmt(Resource=f"{BUCKET}/${{*}}"))
    assert evaluate(policy, req(resource=f"{BUCKET}/*")).decision is ALLOW
    assert evaluate(policy, req(resource=f"{BUCKET}/x")).decision is IMPLICIT_DENY


def test_old_policy_version_does_not_substitute_variables() -> None:
    pattern = f"{BUCKET}/${{aws:username}}"
    policy = doc(stmt(Resource=pattern), version="2008-10-17")
    context: dict[str, ContextValue] = {"aws:username": "alice"}
    assert (
        evaluate(policy, req(resource=f"{BUCKET}/alice", context=context)).decision is IMPLICIT_DENY
    )
    assert evaluate(policy, req(resource=pattern, context=context)).decision is ALLOW


# --------------------------------------------------------------------------- string conditions


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("StringEquals", "Alpha", "Alpha", ALLOW),
        ("StringEquals", "Alpha", "alpha", IMPLICIT_DENY),
        ("StringEquals", "Al*", "Alpha", IMPLICIT_DENY),
        ("StringNotEquals", "Alpha", "Beta", ALLOW),
        ("StringNotEquals", "Alpha", "Alpha", IMPLICIT_DENY),
        ("StringEqualsIgnoreCase", "ALPHA", "alpha", ALLOW),
        ("StringEqualsIgnoreCase", "ALPHA", "beta", IMPLICIT_DENY),
        ("StringNotEqualsIgnoreCase", "ALPHA", "alpha", IMPLICIT_DENY),
        ("StringNotEqualsIgnoreCase", "ALPHA", "beta", ALLOW),
        ("StringLike", "Al*", "Alpha", ALLOW),
        ("StringLike", "al*", "Alpha", IMPLICIT_DENY),
        ("StringLike", "A?pha", "Alpha", ALLOW),
        ("StringLike", "A?pha", "Aalpha", IMPLICIT_DENY),
        ("StringNotLike", "Al*", "Alpha", IMPLICIT_DENY),
        ("StringNotLike", "Al*", "Beta", ALLOW),
    ],
)
def test_string_operators(
    operator: str, policy_value: str, request_value: str, expected: Decision
) -> None:
    assert with_condition({operator: {"test:key": policy_value}}, {"test:key": request_value}) is (
        expected
    )


def test_several_values_for_a_key_are_ored() -> None:
    condition = {"StringEquals": {"test:key": ["a", "b"]}}
    assert with_condition(condition, {"test:key": "b"}) is ALLOW
    assert with_condition(condition, {"test:key": "c"}) is IMPLICIT_DENY
    negated = {"StringNotEquals": {"test:key": ["a", "b"]}}
    assert with_condition(negated, {"test:key": "b"}) is IMPLICIT_DENY
    assert with_condition(negated, {"test:key": "c"}) is ALLOW


def test_keys_and_operators_are_anded() -> None:
    condition = {
        "StringEquals": {"test:one": "1", "test:two": "2"},
        "Bool": {"test:flag": "true"},
    }
    assert with_condition(condition, {"test:one": "1", "test:two": "2", "test:flag": True}) is ALLOW
    assert with_condition(condition, {"test:one": "1", "test:two": "x", "test:flag": True}) is (
        IMPLICIT_DENY
    )
    assert with_condition(condition, {"test:one": "1", "test:two": "2", "test:flag": False}) is (
        IMPLICIT_DENY
    )


def test_condition_keys_are_case_insensitive() -> None:
    condition = {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}
    assert with_condition(condition, {"AWS:SOURCEARN": TRAIL_ARN}) is ALLOW


def test_all_false_conditions_are_reported() -> None:
    condition = {"StringEquals": {"test:one": "1", "test:two": "2"}}
    result = evaluate(doc(stmt(Condition=condition)), req(context={"test:one": "x"}))
    text = " ".join(result.reasons)
    assert "test:one expects 1, request has x" in text
    assert "test:two expects 2, request has no test:two" in text


def test_policy_variable_in_condition_value() -> None:
    condition = {"StringEquals": {"s3:prefix": "home/${aws:username}"}}
    assert with_condition(condition, {"aws:username": "alice", "s3:prefix": "home/alice"}) is ALLOW
    assert with_condition(condition, {"aws:username": "bob", "s3:prefix": "home/alice"}) is (
        IMPLICIT_DENY
    )
    assert with_condition(condition, {"s3:prefix": "home/alice"}) is UNDECIDED


# --------------------------------------------------------------------------- numeric, date, bool


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("NumericEquals", "10", "10", ALLOW),
        ("NumericEquals", "10", "10.0", ALLOW),
        ("NumericEquals", "10", "11", IMPLICIT_DENY),
        ("NumericNotEquals", "10", "11", ALLOW),
        ("NumericNotEquals", "10", "10", IMPLICIT_DENY),
        ("NumericLessThan", "10", "9", ALLOW),
        ("NumericLessThan", "10", "10", IMPLICIT_DENY),
        ("NumericLessThanEquals", "10", "10", ALLOW),
        ("NumericLessThanEquals", "10", "11", IMPLICIT_DENY),
        ("NumericGreaterThan", "10", "11", ALLOW),
        ("NumericGreaterThan", "10", "10", IMPLICIT_DENY),
        ("NumericGreaterThanEquals", "10", "10", ALLOW),
        ("NumericGreaterThanEquals", "10", "9", IMPLICIT_DENY),
        ("NumericLessThan", 10, 9, ALLOW),
        ("NumericLessThan", "ten", "9", UNDECIDED),
        ("NumericLessThan", "10", "nine", UNDECIDED),
    ],
)
def test_numeric_operators(
    operator: str, policy_value: Any, request_value: Any, expected: Decision
) -> None:
    assert with_condition(
        {operator: {"s3:max-keys": policy_value}}, {"s3:max-keys": request_value}
    ) is (expected)


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00+00:00", ALLOW),
        ("DateEquals", "2024-01-01T00:00:00Z", "1704067200", ALLOW),
        ("DateEquals", "2024-01-01T00:00:00", "2024-01-01T00:00:00Z", ALLOW),
        ("DateNotEquals", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", ALLOW),
        ("DateNotEquals", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00", IMPLICIT_DENY),
        ("DateLessThan", "2024-06-01T00:00:00Z", "2024-05-31T23:59:59Z", ALLOW),
        ("DateLessThan", "2024-06-01T00:00:00Z", "2024-06-01T00:00:00Z", IMPLICIT_DENY),
        ("DateLessThanEquals", "2024-06-01T00:00:00Z", "2024-06-01T00:00:00Z", ALLOW),
        ("DateGreaterThan", "2024-06-01", "2024-06-02T00:00:00Z", ALLOW),
        ("DateGreaterThan", "2024-06-01", "2024-05-02T00:00:00Z", IMPLICIT_DENY),
        ("DateGreaterThanEquals", "1717200000", "2024-06-01T00:00:00Z", ALLOW),
        ("DateLessThan", "next tuesday", "2024-06-01T00:00:00Z", UNDECIDED),
    ],
)
def test_date_operators(
    operator: str, policy_value: str, request_value: str, expected: Decision
) -> None:
    context: dict[str, ContextValue] = {"aws:CurrentTime": request_value}
    assert with_condition({operator: {"aws:CurrentTime": policy_value}}, context) is expected


@pytest.mark.parametrize(
    ("policy_value", "request_value", "expected"),
    [
        ("true", True, ALLOW),
        ("true", False, IMPLICIT_DENY),
        ("false", False, ALLOW),
        (True, "TRUE", ALLOW),
        ("False", "false", ALLOW),
        ("true", "yes", UNDECIDED),
        ("maybe", True, UNDECIDED),
    ],
)
def test_bool_operator(policy_value: Any, request_value: ContextValue, expected: Decision) -> None:
    condition = {"Bool": {"aws:SecureTransport": policy_value}}
    assert with_condition(condition, {"aws:SecureTransport": request_value}) is expected


@pytest.mark.parametrize(
    ("policy_value", "request_value", "expected"),
    [
        ("QmluYXJ5", "QmluYXJ5", ALLOW),
        ("QmluYXJ5", "T3RoZXI=", IMPLICIT_DENY),
        ("not base64!", "QmluYXJ5", UNDECIDED),
    ],
)
def test_binary_equals(policy_value: str, request_value: str, expected: Decision) -> None:
    condition = {"BinaryEquals": {"test:blob": policy_value}}
    assert with_condition(condition, {"test:blob": request_value}) is expected


# --------------------------------------------------------------------------- IP and ARN


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", ALLOW),
        ("IpAddress", "203.0.113.0/24", "198.51.100.7", IMPLICIT_DENY),
        ("IpAddress", "203.0.113.7", "203.0.113.7", ALLOW),
        ("IpAddress", "2001:db8::/32", "2001:db8::1", ALLOW),
        ("IpAddress", "203.0.113.0/24", "2001:db8::1", IMPLICIT_DENY),
        ("IpAddress", ["198.51.100.0/24", "203.0.113.0/24"], "203.0.113.9", ALLOW),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.7", ALLOW),
        ("NotIpAddress", "203.0.113.0/24", "203.0.113.7", IMPLICIT_DENY),
        ("IpAddress", "203.0.113.0/33", "203.0.113.7", UNDECIDED),
        ("IpAddress", "203.0.113.0/24", "localhost", UNDECIDED),
    ],
)
def test_ip_address_operators(
    operator: str, policy_value: Any, request_value: str, expected: Decision
) -> None:
    condition = {operator: {"aws:SourceIp": policy_value}}
    assert with_condition(condition, {"aws:SourceIp": request_value}) is expected


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("ArnEquals", TRAIL_ARN, TRAIL_ARN, ALLOW),
        ("ArnEquals", TRAIL_ARN, OTHER_TRAIL_ARN, IMPLICIT_DENY),
        ("ArnLike", f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*", TRAIL_ARN, ALLOW),
        ("ArnEquals", f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*", TRAIL_ARN, ALLOW),
        ("ArnLike", f"arn:aws:cloudtrail:us-?ast-1:{ACCOUNT}:trail/acme-*", TRAIL_ARN, ALLOW),
        ("ArnLike", f"arn:aws:cloudtrail:*:{OTHER_ACCOUNT}:trail/*", TRAIL_ARN, IMPLICIT_DENY),
        ("ArnLike", "arn:aws:CloudTrail:*:*:trail/*", TRAIL_ARN, IMPLICIT_DENY),
        # A '*' stays inside its ARN part: the region part cannot swallow an extra ':'.
        (
            "ArnLike",
            f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/x",
            f"arn:aws:cloudtrail:us-east-1:extra:{ACCOUNT}:trail/x",
            IMPLICIT_DENY,
        ),
        # ...but the final resource part may contain ':'.
        (
            "ArnLike",
            f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*",
            f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:trail:log-stream:x",
            ALLOW,
        ),
        ("ArnLike", "*", TRAIL_ARN, ALLOW),
        ("ArnLike", f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*", "not-an-arn", IMPLICIT_DENY),
        ("ArnNotEquals", TRAIL_ARN, OTHER_TRAIL_ARN, ALLOW),
        ("ArnNotEquals", TRAIL_ARN, TRAIL_ARN, IMPLICIT_DENY),
        ("ArnNotLike", f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*", TRAIL_ARN, IMPLICIT_DENY),
        ("ArnNotLike", f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*", "not-an-arn", ALLOW),
        ("ArnLike", "arn:aws:cloudtrail:*", TRAIL_ARN, UNDECIDED),
    ],
)
def test_arn_operators(
    operator: str, policy_value: str, request_value: str, expected: Decision
) -> None:
    condition = {operator: {"aws:SourceArn": policy_value}}
    assert with_condition(condition, {"aws:SourceArn": request_value}) is expected


# --------------------------------------------------------------------------- missing keys, Null


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", IMPLICIT_DENY),
        ("StringLike", IMPLICIT_DENY),
        ("NumericLessThan", IMPLICIT_DENY),
        ("ArnLike", IMPLICIT_DENY),
        ("StringNotEquals", ALLOW),
        ("StringNotLike", ALLOW),
        ("ArnNotLike", ALLOW),
        ("NotIpAddress", ALLOW),
        ("StringEqualsIfExists", ALLOW),
        ("NumericLessThanIfExists", ALLOW),
        ("ArnLikeIfExists", ALLOW),
        ("StringNotEqualsIfExists", ALLOW),
    ],
)
def test_missing_key(operator: str, expected: Decision) -> None:
    value = "10" if "Numeric" in operator else "arn:aws:s3:::x" if "Arn" in operator else "v"
    if "Ip" in operator:
        value = "203.0.113.0/24"
    assert with_condition({operator: {"test:key": value}}, {}) is expected


def test_missing_key_reasons() -> None:
    negated = evaluate(doc(stmt(Condition={"StringNotEquals": {"test:key": "v"}})), req())
    assert (
        "test:key is absent, so the negated operator StringNotEquals passes" in (negated.reasons[0])
    )
    if_exists = evaluate(doc(stmt(Condition={"StringEqualsIfExists": {"test:key": "v"}})), req())
    assert "test:key is absent, so StringEqualsIfExists passes" in if_exists.reasons[0]


def test_if_exists_still_checks_a_present_key() -> None:
    condition = {"StringEqualsIfExists": {"test:key": "v"}}
    assert with_condition(condition, {"test:key": "v"}) is ALLOW
    assert with_condition(condition, {"test:key": "w"}) is IMPLICIT_DENY
    numeric = {"NumericLessThanIfExists": {"test:n": "5"}}
    assert with_condition(numeric, {"test:n": 4}) is ALLOW
    assert with_condition(numeric, {"test:n": 6}) is IMPLICIT_DENY


@pytest.mark.parametrize(
    ("policy_value", "context", "expected"),
    [
        ("true", {}, ALLOW),
        ("true", {"test:key": None}, ALLOW),
        ("true", {"test:key": []}, ALLOW),
        ("true", {"test:key": "x"}, IMPLICIT_DENY),
        ("false", {"test:key": "x"}, ALLOW),
        (False, {"test:key": "x"}, ALLOW),
        ("false", {}, IMPLICIT_DENY),
        ("perhaps", {}, UNDECIDED),
    ],
)
def test_null_operator(
    policy_value: Any, context: dict[str, ContextValue], expected: Decision
) -> None:
    assert with_condition({"Null": {"test:key": policy_value}}, context) is expected


def test_null_has_no_if_exists_form() -> None:
    result = evaluate(doc(stmt(Condition={"NullIfExists": {"test:key": "true"}})), req())
    assert result.decision is UNDECIDED
    assert "unknown condition operator 'NullIfExists'" in result.reasons[0]


# --------------------------------------------------------------------------- set qualifiers


@pytest.mark.parametrize(
    ("operator", "tags", "expected"),
    [
        ("ForAnyValue:StringEquals", ["env", "owner"], ALLOW),
        ("ForAnyValue:StringEquals", ["owner"], IMPLICIT_DENY),
        ("ForAnyValue:StringEquals", None, IMPLICIT_DENY),
        ("ForAnyValue:StringEquals", [], IMPLICIT_DENY),
        ("ForAnyValue:StringNotEquals", ["env", "owner"], ALLOW),
        ("ForAnyValue:StringNotEquals", ["env"], IMPLICIT_DENY),
        ("ForAnyValue:StringNotEquals", None, IMPLICIT_DENY),
        ("ForAnyValue:StringEqualsIfExists", None, ALLOW),
        ("ForAllValues:StringEquals", ["env", "team"], ALLOW),
        ("ForAllValues:StringEquals", ["env", "owner"], IMPLICIT_DENY),
        ("ForAllValues:StringEquals", None, ALLOW),
        ("ForAllValues:StringEquals", [], ALLOW),
        ("ForAllValues:StringLike", ["env", "envx"], ALLOW),
        ("ForAllValues:StringNotEquals", ["owner", "cost"], ALLOW),
        ("ForAllValues:StringNotEquals", ["owner", "env"], IMPLICIT_DENY),
        ("ForAllValues:StringNotEquals", None, ALLOW),
    ],
)
def test_set_qualifiers(operator: str, tags: list[str] | None, expected: Decision) -> None:
    values = ["env*"] if "Like" in operator else ["env", "team"]
    context: dict[str, ContextValue] = {} if tags is None else {"aws:TagKeys": tags}
    assert with_condition({operator: {"aws:TagKeys": values}}, context) is expected


def test_unqualified_operator_on_multivalued_key() -> None:
    assert with_condition({"StringEquals": {"test:k": "a"}}, {"test:k": ["b", "a"]}) is ALLOW
    assert with_condition({"StringNotEquals": {"test:k": "a"}}, {"test:k": ["b", "a"]}) is (
        IMPLICIT_DENY
    )
    assert with_condition({"StringNotEquals": {"test:k": "a"}}, {"test:k": ["b", "c"]}) is ALLOW


# --------------------------------------------------------------------------- decisions


def test_deny_wins_over_allow() -> None:
    policy = doc(stmt(Sid="Open"), stmt(Sid="Closed", Effect="Deny"))
    result = evaluate(policy, req())
    assert result.decision is DENY
    assert [ref.sid for ref in result.deciding] == ["Closed"]
    assert result.deciding[0].statement["Effect"] == "Deny"


def test_unknown_operator_is_undecided_never_allowed() -> None:
    result = evaluate(doc(stmt(Sid="Odd", Condition={"Foo": {"test:key": "v"}})), req())
    assert result.decision is UNDECIDED
    assert not result.allowed
    assert [ref.sid for ref in result.deciding] == ["Odd"]
    assert "cannot decide: unknown condition operator 'Foo'" in result.reasons[0]
    assert "cannot decide: unknown condition operator 'Foo'" in result.deciding[0].reason


def test_unknown_set_qualifier_is_undecided() -> None:
    condition = {"ForSomeValues:StringEquals": {"test:key": "v"}}
    assert with_condition(condition, {"test:key": "v"}) is UNDECIDED


def test_operator_names_are_case_sensitive() -> None:
    assert with_condition({"stringequals": {"test:key": "v"}}, {"test:key": "v"}) is UNDECIDED


def test_undecided_allow_does_not_block_a_decided_allow() -> None:
    policy = doc(stmt(Condition={"Foo": {"k": "v"}}), stmt(Sid="Plain"))
    result = evaluate(policy, req())
    assert result.decision is ALLOW
    assert [ref.sid for ref in result.deciding] == ["Plain"]


def test_undecided_deny_blocks_allow() -> None:
    policy = doc(stmt(Sid="Plain"), stmt(Sid="Maybe", Effect="Deny", Condition={"Foo": {"k": "v"}}))
    result = evaluate(policy, req())
    assert result.decision is UNDECIDED
    assert [ref.sid for ref in result.deciding] == ["Maybe"]
    assert result.reasons[0].startswith("Statement 'Maybe' (#1) might deny")


def test_decided_deny_wins_over_undecided_deny() -> None:
    policy = doc(
        stmt(Effect="Deny", Condition={"Foo": {"k": "v"}}),
        stmt(Sid="Hard", Effect="Deny"),
    )
    result = evaluate(policy, req())
    assert result.decision is DENY
    assert [ref.sid for ref in result.deciding] == ["Hard"]


def test_false_condition_beats_undecided_one() -> None:
    condition = {"Foo": {"k": "v"}, "StringEquals": {"test:key": "expected"}}
    assert with_condition(condition, {"test:key": "other"}) is IMPLICIT_DENY


def test_statement_without_sid_is_labelled_by_index() -> None:
    result = evaluate(doc(stmt(Action="s3:PutObject"), stmt()), req())
    assert result.reasons[0].startswith("Statement #1 allows s3:GetObject")
    assert result.deciding[0].sid is None
    assert result.deciding[0].index == 1


def test_empty_statement_list_is_implicit_deny() -> None:
    result = evaluate({"Version": "2012-10-17", "Statement": []}, req())
    assert result.decision is IMPLICIT_DENY
    assert result.reasons == [
        f"No statement allows s3:GetObject on {BUCKET}/file for principal {USER.id}"
    ]


def test_single_statement_object_form() -> None:
    policy = {"Version": "2012-10-17", "Statement": stmt(Sid="Only")}
    result = evaluate(policy, req())
    assert result.decision is ALLOW
    assert result.deciding[0].index == 0


def test_explain_is_one_paragraph() -> None:
    result = evaluate(cloudtrail_bucket_policy(), cloudtrail_write(secure=False))
    text = explain(result)
    assert text.startswith("Denied by an explicit Deny. Statement 'DenyNonTls' (#2)")
    assert "\n" not in text
    assert text.endswith(".")
    implicit = explain(evaluate(doc(), req()))
    assert implicit.startswith("Denied (implicitly: nothing allows it). No statement allows")


# --------------------------------------------------------------------------- malformed policies


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object, got array"),
        ({}, "no Statement element"),
        ({"Statement": "Allow"}, "Statement must be an object or an array, got string"),
        ({"Statement": [1]}, "statement #0 must be a JSON object, got number"),
        ({"Statement": [], "Versoin": "x"}, "unknown top-level element 'Versoin'"),
        ({"Version": "2020-01-01", "Statement": []}, "Version must be"),
        ({"Id": 7, "Statement": []}, "Id must be a string"),
        (
            doc(stmt(), stmt(Effect=None)),
            "statement #1: Effect must be 'Allow' or 'Deny', got missing",
        ),
        (doc(stmt(Effect="allow")), "Effect must be 'Allow' or 'Deny', got 'allow'"),
        (doc(stmt(Sid=5)), "statement #0: Sid must be a string"),
        (doc(stmt(Effects="Allow")), "unknown element 'Effects'"),
        (doc(stmt(Action=None)), "neither Action nor NotAction"),
        (doc(stmt(NotAction="s3:PutObject")), "both Action and NotAction"),
        (doc(stmt(NotResource="*")), "both Resource and NotResource"),
        (doc(stmt(NotPrincipal="*")), "both Principal and NotPrincipal"),
        (doc(stmt(Action=[])), "Action must not be an empty array"),
        (doc(stmt(Action=7)), "Action must be a string or an array of strings, got number"),
        (doc(stmt(Action=["s3:GetObject", None])), "Action must be a string or an array"),
        (doc(stmt(Action="GetObject")), "action 'GetObject' must be '*' or 'service:ActionName'"),
        (doc(stmt(Resource={"a": 1})), "Resource must be a string or an array of strings"),
        (doc(stmt(Principal=ROLE_ARN)), 'Principal must be "*" or an object'),
        (doc(stmt(Principal={})), 'Principal must be "*" or a non-empty object'),
        (doc(stmt(Principal={"Role": ROLE_ARN})), "unknown principal type 'Role'"),
        (doc(stmt(Principal={"AWS": 123})), "Principal.AWS must be a string or an array"),
        (doc(stmt(Condition="yes")), "Condition must be an object, got string"),
        (doc(stmt(Condition={"StringEquals": "x"})), "Condition StringEquals must be a non-empty"),
        (doc(stmt(Condition={"StringEquals": {}})), "Condition StringEquals must be a non-empty"),
        (doc(stmt(Condition={"StringEquals": {"k": None}})), "Condition StringEquals k must be"),
        (doc(stmt(Condition={"StringEquals": {"k": []}})), "Condition StringEquals k must be"),
        (doc(stmt(Condition={"StringEquals": {"k": {"a": "b"}}})), "got object"),
        (doc(stmt(Condition={"StringEquals": {"k": ["a", ["b"]]}})), "got array"),
    ],
)
def test_malformed_policy_is_refused_with_a_precise_message(policy: Any, message: str) -> None:
    with pytest.raises(PolicyFormatError) as caught:
        evaluate(policy, req())
    assert message in str(caught.value)


def test_format_error_names_the_statement_sid() -> None:
    with pytest.raises(PolicyFormatError, match=r"statement #0 \('Broken'\)"):
        evaluate(doc(stmt(Sid="Broken", Effect="Maybe")), req())


def test_policy_format_error_is_a_value_error() -> None:
    assert issubclass(PolicyFormatError, ValueError)


# --------------------------------------------------------------------------- models


def test_principal_helpers_and_account() -> None:
    assert USER.kind == "aws"
    assert USER.account == ACCOUNT
    assert Principal.aws(f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/R/s").account == OTHER_ACCOUNT
    assert CLOUDTRAIL.kind == "service"
    assert CLOUDTRAIL.account is None
    assert Principal.anonymous().account is None


@pytest.mark.parametrize("bad", ["alice", ACCOUNT, "arn:aws:s3:::bucket", "arn:aws:iam::123:root"])
def test_aws_principal_must_be_an_iam_arn(bad: str) -> None:
    with pytest.raises(ValidationError, match="IAM or STS ARN"):
        Principal.aws(bad)


def test_models_are_frozen_and_strict() -> None:
    with pytest.raises(ValidationError):
        USER.id = "x"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Request(principal=USER, action="s3:GetObject", resource="*", extra=1)  # type: ignore[call-arg]


def test_context_keys_differing_only_in_case_are_refused() -> None:
    with pytest.raises(ValidationError, match="differ only in case"):
        Request(
            principal=USER,
            action="s3:GetObject",
            resource=BUCKET,
            context={"aws:SourceArn": "a", "AWS:SourceArn": "b"},
        )


def test_access_result_round_trips_as_json() -> None:
    result = evaluate(cloudtrail_bucket_policy(), cloudtrail_write())
    again = AccessResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert again.decision == "allow"


# --------------------------------------------------------------------------- properties

PRINCIPAL_ELEMENTS: list[Any] = [
    "*",
    {"AWS": "*"},
    {"AWS": ACCOUNT},
    {"AWS": ROLE_ARN},
    {"Service": "cloudtrail.amazonaws.com"},
    {"Federated": "accounts.google.com"},
]
CONDITIONS: list[dict[str, Any] | None] = [
    None,
    {"StringEquals": {"aws:SourceArn": TRAIL_ARN}},
    {"StringNotEquals": {"aws:SourceAccount": ACCOUNT}},
    {"Bool": {"aws:SecureTransport": "false"}},
    {"NumericLessThan": {"s3:max-keys": "10"}},
    {"ForAllValues:StringLike": {"aws:TagKeys": "env*"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}},
    {"Null": {"s3:x-amz-acl": "true"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"Mystery": {"k": "v"}},
    {"StringEquals": {"s3:prefix": "${aws:username}"}},
]


@st.composite
def statements(draw: st.DrawFn, effect: st.SearchStrategy[str]) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": draw(effect),
        "Principal": draw(st.sampled_from(PRINCIPAL_ELEMENTS)),
        draw(st.sampled_from(["Action", "NotAction"])): draw(
            st.sampled_from(["*", "s3:*", "s3:PutObject", "s3:Get*", "kms:?ecrypt"])
        ),
        draw(st.sampled_from(["Resource", "NotResource"])): draw(
            st.sampled_from(["*", BUCKET, f"{BUCKET}/*", "arn:aws:s3:::other/*"])
        ),
    }
    condition = draw(st.sampled_from(CONDITIONS))
    if condition is not None:
        statement["Condition"] = condition
    return statement


requests = st.builds(
    Request,
    principal=st.sampled_from([USER, CLOUDTRAIL, Principal.anonymous(), Principal.aws(ROLE_ARN)]),
    action=st.sampled_from(["s3:PutObject", "s3:GetObject", "kms:Decrypt", "sns:Publish"]),
    resource=st.sampled_from([BUCKET, OBJECT, KEY_ARN]),
    context=st.fixed_dictionaries(
        {},
        optional={
            "aws:SourceArn": st.sampled_from([TRAIL_ARN, OTHER_TRAIL_ARN]),
            "aws:SourceAccount": st.sampled_from([ACCOUNT, OTHER_ACCOUNT]),
            "aws:SecureTransport": st.booleans(),
            "s3:max-keys": st.integers(0, 20),
            "aws:TagKeys": st.lists(st.sampled_from(["env", "envx", "a", "b"]), max_size=3),
            "aws:SourceIp": st.sampled_from(["203.0.113.5", "198.51.100.1", "::1"]),
            "aws:username": st.sampled_from(["alice", "bob"]),
            "s3:prefix": st.sampled_from(["alice", "bob"]),
        },
    ),
)
allow_only = st.lists(statements(st.just("Allow")), max_size=5)
mixed = st.lists(statements(st.sampled_from(["Allow", "Deny"])), max_size=5)


@given(allow_only, requests)
def test_allow_only_policy_never_denies_explicitly(
    items: list[dict[str, Any]], request: Request
) -> None:
    result = evaluate(doc(*items), request)
    assert result.decision is not DENY
    assert all(ref.statement["Effect"] == "Allow" for ref in result.deciding)


@given(mixed, requests)
def test_a_matching_deny_always_wins(items: list[dict[str, Any]], request: Request) -> None:
    blanket = {"Sid": "Blanket", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}
    result = evaluate(doc(*items, blanket), request)
    assert result.decision is DENY
    assert "Blanket" in [ref.sid for ref in result.deciding]


@given(mixed, requests, st.data())
def test_statement_order_does_not_change_the_decision(
    items: list[dict[str, Any]], request: Request, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(items))
    assert evaluate(doc(*items), request).decision is evaluate(doc(*shuffled), request).decision


@given(
    st.text(alphabet="ab", max_size=6),
    st.text(alphabet="ab", max_size=6),
)
def test_negated_operator_is_the_complement_for_a_present_key(policy: str, actual: str) -> None:
    context: dict[str, ContextValue] = {"test:key": actual}
    positive = with_condition({"StringEquals": {"test:key": policy}}, context)
    negative = with_condition({"StringNotEquals": {"test:key": policy}}, context)
    assert {positive, negative} == {ALLOW, IMPLICIT_DENY}


@given(st.text(alphabet="ab*?", max_size=8), st.text(alphabet="ab*?", max_size=8))
def test_string_like_agrees_with_a_regex_translation(pattern: str, actual: str) -> None:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    expected = ALLOW if re.fullmatch(regex, actual, flags=re.DOTALL) else IMPLICIT_DENY
    assert with_condition({"StringLike": {"test:key": pattern}}, {"test:key": actual}) is expected


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
ELEMENT_NAMES = sorted(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource"}
    | {"NotResource", "Condition"}
)
OPERATOR_NAMES = [
    "StringEquals",
    "StringLike",
    "ForAllValues:StringNotLike",
    "ForAnyValue:ArnLike",
    "NumericLessThanIfExists",
    "DateGreaterThan",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "Null",
    "Nope",
]
element_values = json_values | st.sampled_from(
    ["*", "Allow", "Deny", "s3:*", "s3:GetObject", BUCKET, {"AWS": "*"}, {"Service": "x"}]
)
CONDITION_KEYS = ["test:key", "aws:SourceArn", "aws:SourceIp", "aws:CurrentTime", "aws:TagKeys"]
condition_values = st.sampled_from(
    [
        "10",
        "2024-01-01T00:00:00Z",
        "203.0.113.0/24",
        TRAIL_ARN,
        "arn:aws:*",
        "true",
        "QmluYXJ5",
        "${aws:username}",
        "*",
        "a?c",
        "${bad",
    ]
)
condition_blocks = st.dictionaries(
    st.sampled_from(OPERATOR_NAMES),
    st.dictionaries(
        st.sampled_from(CONDITION_KEYS),
        condition_values | st.lists(condition_values, min_size=1, max_size=3) | json_values,
        max_size=2,
    ),
    max_size=3,
)
loose_statements = st.dictionaries(
    st.sampled_from(ELEMENT_NAMES),
    element_values,
    max_size=7,
).flatmap(lambda raw: st.just(raw) | condition_blocks.map(lambda cond: {**raw, "Condition": cond}))


@st.composite
def mutated_statements(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed statement with random conditions and maybe one element changed."""
    statement = draw(statements(st.sampled_from(["Allow", "Deny"])))
    if draw(st.booleans()):
        statement["Condition"] = draw(condition_blocks)
    for _ in range(draw(st.integers(0, 1))):
        element = draw(st.sampled_from(ELEMENT_NAMES))
        if draw(st.booleans()):
            statement.pop(element, None)
        else:
            statement[element] = draw(element_values)
    return statement


any_statement = st.one_of(mutated_statements(), loose_statements)
loose_policies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"Statement": st.lists(any_statement, max_size=3) | any_statement},
        optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17", "1"])},
    ),
)
any_context = st.dictionaries(
    st.sampled_from([*CONDITION_KEYS, "aws:username"]),
    st.one_of(
        condition_values,
        st.lists(condition_values, max_size=3),
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(max_size=8),
        st.lists(st.text(max_size=4)),
    ),
    max_size=4,
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(loose_policies, any_context, st.booleans())
def test_evaluate_only_ever_raises_policy_format_error(
    policy: Any, context: dict[str, ContextValue], as_text: bool
) -> None:
    request = Request(principal=USER, action="s3:GetObject", resource=BUCKET, context=context)
    source = json.dumps(policy) if as_text else policy
    try:
        result = evaluate(source, request)
    except PolicyFormatError as exc:
        assert str(exc)
    else:
        assert isinstance(result.decision, Decision)
        assert result.reasons
        assert explain(result)


@given(st.text(max_size=40))
def test_arbitrary_text_is_either_a_policy_or_a_format_error(text: str) -> None:
    try:
        evaluate(text, req())
    except PolicyFormatError as exc:
        assert str(exc)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(st.lists(mutated_statements(), min_size=1, max_size=4), any_context, requests)
def test_nearly_valid_policies_evaluate_or_fail_cleanly(
    items: list[dict[str, Any]], context: dict[str, ContextValue], base: Request
) -> None:
    request = base.model_copy(update={"context": context})
    try:
        result = evaluate(doc(*items), request)
    except PolicyFormatError as exc:
        assert "statement #" in str(exc)
    else:
        indexes = {ref.index for ref in result.deciding}
        assert indexes <= set(range(len(items)))
        if result.decision in (ALLOW, DENY):
            wanted = "Allow" if result.decision is ALLOW else "Deny"
            assert {items[i]["Effect"] for i in indexes} == {wanted}
