"""bucket.access_logs offline: answers, the delivery statement, preflight, plan and permissions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from wizard import guide
from wizard.account.discovery import AccessLogFacts, BucketFacts, Discovery
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.plan.planner import build_plan
from wizard.policy.access import Principal, Request, evaluate
from wizard.policy.operator import action_for, operator_policy
from wizard.policy.policies import S3_LOGGING, access_log_bucket_policy, access_log_statement

ACCOUNT = "123456789012"
LOG_BUCKET = "acme-trail-logs"
TARGET = "acme-trail-logs-access-logs"
CTX = AccountContext(account_id=ACCOUNT, region="us-east-1")


def answers(access: dict[str, Any] | None = None, **bucket: Any) -> Answers:
    data: dict[str, Any] = {
        "trail": {"name": "acme"},
        "bucket": {"name": LOG_BUCKET, **bucket},
        "encryption": {"type": "sse-s3"},
    }
    if access is not None:
        data["bucket"]["access_logs"] = access
    return Answers.model_validate(data)


def error_text(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(str(e["msg"]) for e in exc.value.errors())


# --------------------------------------------------------------------------- answers


def test_off_by_default() -> None:
    assert answers().bucket.access_logs is None


def test_prefix_is_normalised_to_a_folder() -> None:
    access = answers({"bucket": TARGET, "prefix": " logs "}).bucket.access_logs
    assert access is not None
    assert (access.bucket, access.prefix, access.create) == (TARGET, "logs/", True)
    assert answers({"bucket": TARGET}).bucket.access_logs.prefix == ""  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("access", "fragment"),
    [
        ({"bucket": "Bad_Name"}, "only lowercase letters"),
        ({"bucket": "ab"}, "use 3 to 63"),
        ({"bucket": LOG_BUCKET}, "the log bucket acme-trail-logs itself"),
        ({"bucket": TARGET, "prefix": "/logs"}, "must not start with '/'"),
        ({"bucket": TARGET, "prefix": "a//b"}, "empty path segment"),
        ({"bucket": TARGET, "prefix": "a*b"}, "characters S3 keys should avoid"),
        ({"bucket": TARGET, "prefix": "x" * 600}, "at most 512"),
        ({"bucket": TARGET, "colour": "red"}, "Extra inputs"),
    ],
)
def test_bad_answers_are_refused_with_a_fix(access: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as exc:
        answers(access)
    assert fragment in error_text(exc)


def test_a_log_bucket_in_another_account_cannot_get_access_logging() -> None:
    with pytest.raises(ValidationError) as exc:
        answers({"bucket": TARGET}, create=False, account="111122223333")
    assert "only its owner can do" in error_text(exc)


def test_the_guide_round_trips_the_setting() -> None:
    original = answers({"bucket": TARGET, "prefix": "s3/", "create": False})
    draft = guide.draft_from_answers(original)
    assert draft["bucket"]["access_logging"] == "existing"
    assert Answers.model_validate(guide.answers_data(draft)) == original
    off = guide.draft_from_answers(answers())
    assert "access_logging" not in off["bucket"]
    assert Answers.model_validate(guide.answers_data(off)) == answers()


def test_the_guide_suggests_the_target_name() -> None:
    question = next(q for q in guide.step("storage").questions if q.key.endswith("log_bucket"))
    assert question.default({"bucket": {"name": LOG_BUCKET}}) == TARGET
    long = "a" * 63
    suggested = question.default({"bucket": {"name": long}})
    assert len(suggested) == 63 and suggested.endswith("-access-logs")


# ------------------------------------------------------------------------- statement


def test_the_delivery_statement_is_pinned_to_the_log_bucket_and_account() -> None:
    names = Names(answers({"bucket": TARGET, "prefix": "s3/"}), CTX)
    statement = access_log_statement(names)
    assert statement["Principal"] == {"Service": S3_LOGGING}
    assert statement["Action"] == "s3:PutObject"
    assert statement["Resource"] == f"arn:aws:s3:::{TARGET}/s3/*"
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{LOG_BUCKET}"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    policy = access_log_bucket_policy(names)

    def delivery(source: str, account: str, key: str = "s3/x", tls: bool = True) -> bool:
        request = Request(
            principal=Principal.service(S3_LOGGING),
            action="s3:PutObject",
            resource=f"arn:aws:s3:::{TARGET}/{key}",
            context={
                "aws:SourceArn": f"arn:aws:s3:::{source}",
                "aws:SourceAccount": account,
                "aws:SecureTransport": tls,
            },
        )
        return evaluate(policy, request).allowed

    assert delivery(LOG_BUCKET, ACCOUNT)
    assert not delivery("another-bucket", ACCOUNT)  # another bucket's logs
    assert not delivery(LOG_BUCKET, "999999999999")  # another account
    assert not delivery(LOG_BUCKET, ACCOUNT, key="elsewhere/x")  # outside the prefix
    assert not delivery(LOG_BUCKET, ACCOUNT, tls=False)  # TLS only


# ----------------------------------------------------------------- plan and preflight


def discovery(
    a: Answers,
    target: BucketFacts,
    *,
    current: dict[str, Any] | None = None,
    readable: bool = True,
    retention: bool = False,
    log_bucket_exists: bool = False,
) -> Discovery:
    bucket = BucketFacts(name=LOG_BUCKET)
    if log_bucket_exists:
        bucket = BucketFacts(name=LOG_BUCKET, exists=True, owned=True, region="us-east-1")
    return Discovery(
        context=CTX,
        bucket=bucket,
        owned_buckets=[LOG_BUCKET, TARGET] if target.owned else [LOG_BUCKET],
        access_logs=AccessLogFacts(
            target=target, current=current, current_readable=readable, target_retention=retention
        ),
    )


def existing_target(**facts: Any) -> BucketFacts:
    return BucketFacts(
        name=TARGET, **{"exists": True, "owned": True, "region": "us-east-1", **facts}
    )


def errors(plan: Any) -> set[str]:
    return {f.code for f in plan.findings if f.severity == "error"}


@pytest.mark.parametrize(
    ("facts", "code"),
    [
        ({"exists": False, "owned": None, "region": None}, "access-log-bucket-missing"),
        ({"owned": False}, "access-log-bucket-other-account"),
        ({"region": "eu-west-1"}, "access-log-region-mismatch"),
        ({"encryption": "aws:kms", "encryption_key": "arn:aws:kms:k"}, "access-log-bucket-kms"),
        ({"encryption": "aws:kms:dsse"}, "access-log-bucket-kms"),
        ({"requester_pays": True}, "access-log-bucket-requester-pays"),
        ({"policy": "{not json"}, "access-log-bucket-policy-malformed"),
        ({"policy_readable": False}, "access-log-bucket-policy-insufficient"),
    ],
)
def test_preflight_refuses_what_s3_refuses(facts: dict[str, Any], code: str) -> None:
    a = answers({"bucket": TARGET, "create": False})
    plan = build_plan(a, CTX, discovery(a, existing_target(**facts)))
    assert code in errors(plan), [f.message for f in plan.findings]
    assert plan.blocked


def test_preflight_refuses_object_lock_default_retention() -> None:
    a = answers({"bucket": TARGET, "create": False})
    plan = build_plan(a, CTX, discovery(a, existing_target(), retention=True))
    assert "access-log-bucket-object-lock" in errors(plan)


def test_preflight_refuses_a_deny_that_would_still_block_delivery() -> None:
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NoPuts",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{TARGET}/*",
            }
        ],
    }
    a = answers({"bucket": TARGET, "create": False})
    plan = build_plan(a, CTX, discovery(a, existing_target(policy=json.dumps(deny))))
    assert "access-log-bucket-policy-denies" in errors(plan)


def test_preflight_refuses_an_unreadable_current_setting() -> None:
    a = answers({"bucket": TARGET}, create=False)
    plan = build_plan(
        a, CTX, discovery(a, BucketFacts(name=TARGET), readable=False, log_bucket_exists=True)
    )
    assert "access-log-current-unreadable" in errors(plan)


def test_creating_a_target_that_exists_is_refused() -> None:
    a = answers({"bucket": TARGET})
    plan = build_plan(a, CTX, discovery(a, existing_target()))
    assert "access-log-bucket-exists" in errors(plan)


def test_a_new_target_is_hardened_like_the_log_bucket_and_logging_comes_last() -> None:
    a = answers({"bucket": TARGET, "prefix": "s3/"}, versioning=True)
    plan = build_plan(a, CTX, discovery(a, BucketFacts(name=TARGET)))
    assert not plan.blocked
    ids = [s.id for s in plan.steps]
    assert ids[-1] == "bucket-access-logging"
    create = plan.step("create-access-log-bucket")
    assert create.call.params == {"Bucket": TARGET, "ObjectOwnership": "BucketOwnerEnforced"}
    assert [u.operation for u in create.undo] == ["DeleteBucket"]
    assert plan.step("access-log-block-public-access").call.params[
        "PublicAccessBlockConfiguration"
    ] == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
        True,
    )
    rules = plan.step("access-log-bucket-encryption").call.params[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    assert rules == [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert "access-log-bucket-versioning" in ids
    policy = json.loads(plan.step("access-log-bucket-policy").call.params["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == [
        "S3ServerAccessLogsDelivery",
        "DenyInsecureTransport",
    ]
    logging = plan.step("bucket-access-logging")
    assert logging.call.params == {
        "Bucket": LOG_BUCKET,
        "BucketLoggingStatus": {"LoggingEnabled": {"TargetBucket": TARGET, "TargetPrefix": "s3/"}},
    }
    assert {"start-logging", "access-log-bucket-policy"} <= set(logging.depends_on)
    assert [u.params for u in logging.undo] == [{"Bucket": LOG_BUCKET, "BucketLoggingStatus": {}}]
    assert (
        plan.policies["access_log_bucket_policy"]
        == (plan.step("access-log-bucket-policy").call.params["Policy"])
    )


def test_versioning_of_the_target_follows_the_log_bucket() -> None:
    a = answers({"bucket": TARGET}, versioning=False)
    plan = build_plan(a, CTX, discovery(a, BucketFacts(name=TARGET)))
    assert "access-log-bucket-versioning" not in [s.id for s in plan.steps]


def test_an_existing_target_policy_is_merged_and_restored_exactly() -> None:
    before = (
        '{"Version":"2012-10-17","Statement":[{"Sid":"Keep","Effect":"Allow",'
        f'"Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"s3:GetObject",'
        f'"Resource":"arn:aws:s3:::{TARGET}/*"}}]}}'
    )
    previous = {"TargetBucket": "older-target", "TargetPrefix": "old/"}
    a = answers({"bucket": TARGET, "create": False}, create=False)
    found = discovery(a, existing_target(policy=before), current=previous, log_bucket_exists=True)
    plan = build_plan(a, CTX, found)
    assert not plan.blocked, [f.message for f in plan.findings]
    step = plan.step("update-access-log-bucket-policy")
    merged = json.loads(step.call.params["Policy"])
    assert [s["Sid"] for s in merged["Statement"]] == ["Keep", "S3ServerAccessLogsDelivery"]
    assert step.call.params["Policy"].startswith(before[:-2])  # the owner's text, untouched
    assert [(u.operation, u.params) for u in step.undo] == [
        ("PutBucketPolicy", {"Bucket": TARGET, "Policy": before})
    ]
    assert step.policy is not None and step.policy.kind == "access-log-bucket"
    logging = plan.step("bucket-access-logging")
    assert [u.params for u in logging.undo] == [
        {"Bucket": LOG_BUCKET, "BucketLoggingStatus": {"LoggingEnabled": previous}}
    ]
    assert "access-log-replaces-current" in {f.code for f in plan.findings}


def test_a_target_that_already_allows_delivery_is_left_alone() -> None:
    names = Names(answers({"bucket": TARGET, "create": False}), CTX)
    ready = json.dumps({"Version": "2012-10-17", "Statement": [access_log_statement(names)]})
    a = answers({"bucket": TARGET, "create": False})
    plan = build_plan(a, CTX, discovery(a, existing_target(policy=ready)))
    assert "update-access-log-bucket-policy" not in [s.id for s in plan.steps]
    assert "access-log-bucket-policy-ok" in {f.code for f in plan.findings}


# ----------------------------------------------------------------------- permissions


def _grants(policy: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            out.setdefault(action, set()).update(
                [resources] if isinstance(resources, str) else resources
            )
    return out


@pytest.mark.parametrize("create", [True, False])
def test_every_call_and_undo_is_granted_on_the_right_bucket(create: bool) -> None:
    a = answers({"bucket": TARGET, "create": create}, create=False)
    target = existing_target(policy=None) if not create else BucketFacts(name=TARGET)
    plan = build_plan(a, CTX, discovery(a, target, log_bucket_exists=True))
    grants = _grants(operator_policy(a, CTX))
    access_steps = [s for s in plan.steps if "access-log" in s.id]
    assert access_steps
    for step in access_steps:
        for call in [step.call, *step.undo]:
            bucket = call.params["Bucket"]
            assert f"arn:aws:s3:::{bucket}" in grants[action_for("s3", call.operation)], call
    for read in ("GetBucketLogging", "GetObjectLockConfiguration"):
        assert action_for("s3", read) in grants
    assert grants["s3:PutBucketLogging"] == {f"arn:aws:s3:::{LOG_BUCKET}"}
    assert ("s3:CreateBucket" in grants) is create
