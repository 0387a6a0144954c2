"""IAM in the sandbox: IAM users' policies enforced over HTTP, and IAM's policy simulator.

Every test talks to the sandbox server as a client does: boto3 over HTTP, signing with the
access key of an IAM user made in the sandbox (a trainee identity) or with the dummy
credentials (the administrator).
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.wizard.sandbox.conftest import Client, aws_error
from wizard.account.permissions import CHECKED_CODE, check_permissions
from wizard.aws.clients import Boto3Caller, ClientFactory
from wizard.model.answers_file import load_answers
from wizard.model.context import AccountContext
from wizard.policy.operator import operator_needs
from wizard.sandbox.identities import (
    ADMIN_USER,
    IdentityCredentials,
    create_trainee_identity,
    current_identity,
    use_identity,
)
from wizard.sandbox.server import DEMO_ACCOUNT, DEMO_APP_BUCKET, DEMO_ROLE_ARN, Sandbox

READ_ONLY = "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"
FULL = "arn:aws:iam::aws:policy/AWSCloudTrail_FullAccess"
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "new-bucket-sse-s3.yaml"
SIMULATE_SELF = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}],
}


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{DEMO_ACCOUNT}:user/{name}"


def denied(action: str, resource: str, name: str) -> str:
    return (
        f"User: {user_arn(name)} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def as_identity(sandbox: Sandbox, identity: IdentityCredentials) -> Client:
    """Clients signing with ``identity``'s access key (and nothing of the environment)."""
    session = boto3.session.Session(
        aws_access_key_id=identity.access_key_id,
        aws_secret_access_key=identity.secret_access_key,
        region_name="us-east-1",
    )

    def make(service: str, region: str = "us-east-1") -> Any:
        factory: Any = session.client
        return factory(
            service,
            region_name=region,
            endpoint_url=sandbox.endpoint_url,
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    return make


def stored_document(aws: Client, arn: str) -> dict[str, Any]:
    iam = aws("iam")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document: dict[str, Any] = iam.get_policy_version(PolicyArn=arn, VersionId=version)[
        "PolicyVersion"
    ]["Document"]
    return document


# ------------------------------------------------------------------- the managed policies


def test_awss_managed_policies_for_cloudtrail_are_there_with_their_published_documents(
    sandbox: Sandbox, aws: Client
) -> None:
    iam = aws("iam")
    read_only = iam.get_policy(PolicyArn=READ_ONLY)["Policy"]
    full = iam.get_policy(PolicyArn=FULL)["Policy"]
    # AWS's published versions: ReadOnly v1 (2022-06-14), FullAccess v3 (2021-02-22).
    assert (read_only["DefaultVersionId"], full["DefaultVersionId"]) == ("v1", "v3")
    (statement,) = stored_document(aws, READ_ONLY)["Statement"]
    assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
    assert sorted(statement["Action"]) == [
        "cloudtrail:Describe*",
        "cloudtrail:Get*",
        "cloudtrail:List*",
        "cloudtrail:LookupEvents",
    ]
    statements = stored_document(aws, FULL)["Statement"]
    assert {"Action": "cloudtrail:*", "Effect": "Allow", "Resource": "*"} in statements
    create_bucket = next(s for s in statements if "s3:CreateBucket" in s["Action"])
    assert create_bucket["Resource"] == ["arn:aws:s3:::aws-cloudtrail-logs*"]


# --------------------------------------------------------------------------- enforcement


def test_the_read_only_identity_reads_cloudtrail_and_is_refused_everything_else(
    sandbox: Sandbox,
) -> None:
    reader = create_trainee_identity(sandbox.endpoint_url, "reader", managed=[READ_ONLY])
    me = as_identity(sandbox, reader)

    assert me("sts").get_caller_identity()["Arn"] == user_arn("reader")
    trails = me("cloudtrail", "us-west-2").describe_trails()["trailList"]
    assert [t["Name"] for t in trails] == ["legacy-trail"]
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{DEMO_ACCOUNT}:trail/new-trail"
    with aws_error(
        "AccessDeniedException", message=denied("cloudtrail:CreateTrail", trail_arn, "reader")
    ):
        me("cloudtrail").create_trail(Name="new-trail", S3BucketName=DEMO_APP_BUCKET)
    with aws_error("AccessDeniedException", message=denied("kms:CreateKey", "*", "reader")):
        me("kms").create_key()
    with aws_error("AccessDenied", message=denied("iam:ListRoles", "*", "reader")):
        me("iam").list_roles()
    with aws_error("AuthorizationError", message=denied("sns:ListTopics", "*", "reader")):
        me("sns").list_topics()
    bucket = f'"arn:aws:s3:::{DEMO_APP_BUCKET}"'
    with aws_error("AccessDenied", message=denied("s3:GetBucketPolicy", bucket, "reader")):
        me("s3").get_bucket_policy(Bucket=DEMO_APP_BUCKET)
    with pytest.raises(ClientError) as caught:
        me("s3").list_buckets()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_bucket_that_does_not_exist_is_no_such_bucket_whoever_asks(sandbox: Sandbox) -> None:
    reader = create_trainee_identity(sandbox.endpoint_url, "reader", managed=[READ_ONLY])
    with pytest.raises(ClientError) as caught:
        as_identity(sandbox, reader)("s3").head_bucket(Bucket="no-such-bucket-anywhere-19")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_refusals_follow_wildcards_notaction_groups_and_explicit_deny(
    sandbox: Sandbox, aws: Client
) -> None:
    aws("s3").create_bucket(Bucket="other-bucket-19")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "NotAction": ["kms:*", "iam:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetBucket*", "Resource": "arn:aws:s3:::other-*"},
        ],
    }
    trainee = create_trainee_identity(sandbox.endpoint_url, "mixed", inline={"mixed": policy})
    iam = aws("iam")
    iam.create_group(GroupName="key-readers")
    iam.put_group_policy(
        GroupName="key-readers",
        PolicyName="list-keys",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "kms:List*", "Resource": "*"}],
            }
        ),
    )
    iam.add_user_to_group(GroupName="key-readers", UserName="mixed")
    me = as_identity(sandbox, trainee)

    me("sns").list_topics()  # allowed: NotAction leaves SNS in
    me("s3").get_bucket_policy(Bucket=DEMO_APP_BUCKET)  # the Deny names other-* only
    me("kms").list_keys()  # the group's policy
    with aws_error("AccessDeniedException", message="kms:CreateKey on resource: *"):
        me("kms").create_key()
    with aws_error(
        "AccessDenied",
        message=(
            f"User: {user_arn('mixed')} is not authorized to perform: s3:GetBucketLocation on "
            'resource: "arn:aws:s3:::other-bucket-19" with an explicit deny in an '
            "identity-based policy"
        ),
    ):
        me("s3").get_bucket_location(Bucket="other-bucket-19")


def test_a_trail_with_a_cloudwatch_role_needs_pass_role_too(sandbox: Sandbox) -> None:
    only_cloudtrail = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "cloudtrail:*", "Resource": "*"}],
    }
    trainee = create_trainee_identity(
        sandbox.endpoint_url, "no-pass", inline={"trail": only_cloudtrail}
    )
    with aws_error(
        "AccessDeniedException", message=denied("iam:PassRole", DEMO_ROLE_ARN, "no-pass")
    ):
        as_identity(sandbox, trainee)("cloudtrail").create_trail(
            Name="watched",
            S3BucketName=DEMO_APP_BUCKET,
            CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{DEMO_ACCOUNT}:log-group:g:*",
            CloudWatchLogsRoleArn=DEMO_ROLE_ARN,
        )


def test_the_dummy_credentials_stay_the_unrestricted_administrator(
    sandbox: Sandbox, aws: Client
) -> None:
    create_trainee_identity(sandbox.endpoint_url, "reader", managed=[READ_ONLY])
    identity = aws("sts").get_caller_identity()
    user = aws("iam").get_user(UserName=ADMIN_USER)["User"]
    assert identity["Arn"] == user_arn(ADMIN_USER)
    assert identity["UserId"] == user["UserId"]
    attached = aws("iam").list_attached_user_policies(UserName=ADMIN_USER)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AdministratorAccess"]
    aws("kms").create_key()
    aws("iam").list_roles()


def test_recreating_an_identity_replaces_its_policies_and_keys(sandbox: Sandbox) -> None:
    first = create_trainee_identity(sandbox.endpoint_url, "again", managed=[FULL])
    second = create_trainee_identity(sandbox.endpoint_url, "again", managed=[READ_ONLY])
    assert first.access_key_id != second.access_key_id
    me = as_identity(sandbox, second)
    with aws_error("AccessDeniedException"):
        me("cloudtrail").create_trail(Name="t", S3BucketName=DEMO_APP_BUCKET)
    # The first key is gone: the sandbox no longer knows it as the user's.
    assert as_identity(sandbox, first)("sts").get_caller_identity()["Arn"] != user_arn("again")


def test_a_key_used_then_replaced_is_no_longer_the_users(sandbox: Sandbox) -> None:
    # The sandbox remembers which account each key belongs to; a key it has seen and that
    # is then deleted must not go on acting as its user.
    first = create_trainee_identity(sandbox.endpoint_url, "once", managed=[READ_ONLY])
    assert as_identity(sandbox, first)("sts").get_caller_identity()["Arn"] == user_arn("once")
    create_trainee_identity(sandbox.endpoint_url, "once", managed=[READ_ONLY])
    assert as_identity(sandbox, first)("sts").get_caller_identity()["Arn"] != user_arn("once")


def test_role_sessions_answer_as_their_own_accounts_every_time(
    sandbox: Sandbox, aws: Client
) -> None:
    sessions = {}
    for account in ("111111111111", "222222222222"):
        credentials = aws("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
            RoleSessionName="twice",
        )["Credentials"]
        sessions[account] = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name="us-east-1",
        ).client("sts", endpoint_url=sandbox.endpoint_url)
    for _ in range(2):  # the second time from what the sandbox remembered
        for account, sts in sessions.items():
            assert sts.get_caller_identity()["Account"] == account


def test_the_chosen_identity_lives_in_the_sandbox_home_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    identity = IdentityCredentials("AKIAEXAMPLE", "secret", user_arn("t"), "t")
    assert current_identity(tmp_path) is None
    use_identity(tmp_path, identity)
    assert current_identity(tmp_path) == identity
    assert os.stat(tmp_path / "identity.json").st_mode & 0o777 == 0o600
    use_identity(tmp_path, None)
    assert current_identity(tmp_path) is None
    (tmp_path / "identity.json").write_text("{not json", encoding="utf-8")
    assert current_identity(tmp_path) is None


# ------------------------------------------------------------------------- the simulator


def _allowed_by(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def test_the_simulator_decides_as_the_read_only_documents_statements_say(
    sandbox: Sandbox, aws: Client
) -> None:
    create_trainee_identity(sandbox.endpoint_url, "reader", managed=[READ_ONLY])
    (statement,) = stored_document(aws, READ_ONLY)["Statement"]
    actions = [
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:LookupEvents",
        "cloudtrail:CreateTrail",
        "cloudtrail:StartLogging",
        "s3:CreateBucket",
    ]
    results = aws("iam").simulate_principal_policy(
        PolicySourceArn=user_arn("reader"), ActionNames=actions
    )["EvaluationResults"]

    assert [r["EvalActionName"] for r in results] == actions
    for result in results:
        expected = _allowed_by(statement["Action"], result["EvalActionName"])
        assert result["EvalDecision"] == ("allowed" if expected else "implicitDeny"), result
        assert result["EvalResourceName"] == "*"
        matched = result["MatchedStatements"]
        assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in matched] == (
            [("AWSCloudTrail_ReadOnlyAccess", "aws-managed")] if expected else []
        )


def test_the_simulator_follows_full_accesss_resources_and_conditions(
    sandbox: Sandbox, aws: Client
) -> None:
    create_trainee_identity(sandbox.endpoint_url, "full", managed=[FULL])
    iam = aws("iam")
    ask = iam.simulate_principal_policy

    def decision(action: str, resource: str = "*", **extra: Any) -> dict[str, Any]:
        (result,) = ask(
            PolicySourceArn=user_arn("full"),
            ActionNames=[action],
            ResourceArns=[resource],
            **extra,
        )["EvaluationResults"]
        return dict(result)

    assert decision("cloudtrail:CreateTrail")["EvalDecision"] == "allowed"
    assert decision("s3:CreateBucket", "arn:aws:s3:::aws-cloudtrail-logs-1")["EvalDecision"] == (
        "allowed"
    )
    assert decision("s3:CreateBucket", "arn:aws:s3:::acme-logs")["EvalDecision"] == "implicitDeny"
    assert decision("s3:PutEncryptionConfiguration", "arn:aws:s3:::aws-cloudtrail-logs-1")[
        "EvalDecision"
    ] == ("implicitDeny")
    unknown = decision("iam:PassRole", DEMO_ROLE_ARN)
    assert unknown["EvalDecision"] == "implicitDeny"
    assert unknown["MissingContextValues"] == ["iam:PassedToService"]
    passed = decision(
        "iam:PassRole",
        DEMO_ROLE_ARN,
        ContextEntries=[
            {
                "ContextKeyName": "iam:PassedToService",
                "ContextKeyValues": ["cloudtrail.amazonaws.com"],
                "ContextKeyType": "string",
            }
        ],
    )
    assert passed["EvalDecision"] == "allowed" and passed["MissingContextValues"] == []

    # The matched statement's positions locate it in the stored document's text.
    text = json.dumps(stored_document(aws, FULL))
    (matched,) = decision("cloudtrail:DeleteTrail")["MatchedStatements"]
    assert matched["StartPosition"]["Line"] == matched["EndPosition"]["Line"] == 1
    start, end = matched["StartPosition"]["Column"], matched["EndPosition"]["Column"]
    assert json.loads(text[start - 1 : end]) == {
        "Action": "cloudtrail:*",
        "Effect": "Allow",
        "Resource": "*",
    }


def test_the_simulator_reports_an_explicit_deny_and_the_statement_that_made_it(
    sandbox: Sandbox, aws: Client
) -> None:
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "cloudtrail:Delete*", "Resource": "*"}],
    }
    create_trainee_identity(
        sandbox.endpoint_url, "careful", managed=[FULL], inline={"no-delete": deny}
    )
    (result,) = aws("iam").simulate_principal_policy(
        PolicySourceArn=user_arn("careful"), ActionNames=["cloudtrail:DeleteTrail"]
    )["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in result["MatchedStatements"]] == [
        ("no-delete", "user")
    ]


def test_the_simulator_pages_its_results(sandbox: Sandbox, aws: Client) -> None:
    create_trainee_identity(sandbox.endpoint_url, "reader", managed=[READ_ONLY])
    actions = [f"cloudtrail:{name}" for name in ("GetTrail", "ListTrails", "AddTags")]
    resources = ["arn:aws:cloudtrail:us-east-1:123456789012:trail/a", "*"]
    iam = aws("iam")
    first = iam.simulate_principal_policy(
        PolicySourceArn=user_arn("reader"),
        ActionNames=actions,
        ResourceArns=resources,
        MaxItems=4,
    )
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 4
    pages = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=user_arn("reader"),
        ActionNames=actions,
        ResourceArns=resources,
        PaginationConfig={"PageSize": 4},
    )
    pairs = [
        (r["EvalActionName"], r["EvalResourceName"]) for p in pages for r in p["EvaluationResults"]
    ]
    assert pairs == [(a, r) for a in actions for r in resources]


def test_the_simulator_knows_roles_and_refuses_unknown_principals(
    sandbox: Sandbox, aws: Client
) -> None:
    iam = aws("iam")
    (result,) = iam.simulate_principal_policy(
        PolicySourceArn=DEMO_ROLE_ARN, ActionNames=["s3:GetObject"]
    )["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    with aws_error("NoSuchEntity", message="The user with name ghost cannot be found."):
        iam.simulate_principal_policy(
            PolicySourceArn=user_arn("ghost"), ActionNames=["s3:GetObject"]
        )


def test_calling_the_simulator_is_itself_a_permission(sandbox: Sandbox) -> None:
    reader = create_trainee_identity(sandbox.endpoint_url, "reader", managed=[READ_ONLY])
    with aws_error("AccessDenied", message="iam:SimulatePrincipalPolicy"):
        as_identity(sandbox, reader)("iam").simulate_principal_policy(
            PolicySourceArn=user_arn("reader"), ActionNames=["cloudtrail:CreateTrail"]
        )


# ---------------------------------------------------------------- the wizard's preflight


def _caller(sandbox: Sandbox, identity: IdentityCredentials) -> Boto3Caller:
    session = boto3.session.Session(
        aws_access_key_id=identity.access_key_id,
        aws_secret_access_key=identity.secret_access_key,
        region_name="us-east-1",
    )
    return Boto3Caller(ClientFactory(session, endpoint_url=sandbox.endpoint_url, max_attempts=1))


def test_the_preflight_lists_exactly_what_the_read_only_identity_may_not_do(
    sandbox: Sandbox,
) -> None:
    reader = create_trainee_identity(
        sandbox.endpoint_url, "reader", managed=[READ_ONLY], inline={"simulate": SIMULATE_SELF}
    )
    ctx = AccountContext(
        account_id=DEMO_ACCOUNT, partition="aws", region="us-east-1", caller_arn=reader.arn
    )
    answers = load_answers(EXAMPLE)

    finding = check_permissions(_caller(sandbox, reader), ctx, answers)

    assert finding is not None and finding.code == CHECKED_CODE, finding
    allowed = [
        "cloudtrail:Get*",
        "cloudtrail:Describe*",
        "cloudtrail:List*",
        "cloudtrail:LookupEvents",
    ]
    expected = {
        action
        for need in operator_needs(answers, ctx)
        if need.actions != ("iam:SimulatePrincipalPolicy",)
        for action in need.actions
        if not _allowed_by(allowed, action)
    }
    listed = {
        line.strip()[2:].split(" on ", 1)[0]
        for line in finding.message.splitlines()
        if line.strip().startswith("- ")
    }
    assert listed == expected
    assert "cloudtrail:CreateTrail" in listed


def test_the_preflight_passes_for_the_administrator(sandbox: Sandbox) -> None:
    admin = IdentityCredentials("testing", "testing", user_arn(ADMIN_USER), ADMIN_USER)
    ctx = AccountContext(
        account_id=DEMO_ACCOUNT, partition="aws", region="us-east-1", caller_arn=admin.arn
    )
    assert check_permissions(_caller(sandbox, admin), ctx, load_answers(EXAMPLE)) is None
