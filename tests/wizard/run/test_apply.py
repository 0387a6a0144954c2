"""apply_plan / dry_run against moto's server, over HTTP, through the production caller."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from tests import callers
from tests.sandbox_fixtures import ACCOUNT, REGION
from wizard.aws.clients import Boto3Caller, ClientFactory
from wizard.aws.session import explain_aws_error
from wizard.model.names import RUN_TAG
from wizard.model.plan import Call, Finding, Plan, PolicyChange, Step
from wizard.model.readonly import is_read_only
from wizard.ports import AwsCaller, AwsError
from wizard.run.apply import (
    CONFLICT_DELAYS,
    ApplyEvent,
    PlaceholderError,
    RecordingCaller,
    apply_plan,
    dry_run,
    resolve_placeholders,
)
from wizard.run.journal import Journal, load_journal

BUCKET = "acme-trail-logs"
ALIAS = "alias/acme-trail"
TOPIC = "acme-trail-notify"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/acme"
NEW_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck20150319",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{BUCKET}",
            }
        ],
    }
)
# Fake secrets, shaped like the real thing: none of them may reach the journal.
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
FAKE_SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr" + "Ab1Cd2Ef3Gh4" * 15


def call(service: str, operation: str, **params: Any) -> Call:
    return Call(service=service, region=REGION, operation=operation, params=params)


def make_plan(
    *,
    fingerprint: dict[str, str] | None = None,
    findings: list[Finding] | None = None,
    topic_tags: list[dict[str, str]] | None = None,
    retry_on: list[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Plan:
    """bucket -> bucket policy; key -> alias (placeholder); topic. Five mutating steps."""
    topic_params: dict[str, Any] = {"Name": TOPIC}
    if topic_tags:
        topic_params["Tags"] = topic_tags
    steps = [
        Step(
            id="create-bucket",
            call=call("s3", "CreateBucket", Bucket=BUCKET),
            summary=f"Create bucket {BUCKET}",
            chain="bucket",
            creates=f"arn:aws:s3:::{BUCKET}",
            undo=[call("s3", "DeleteBucket", Bucket=BUCKET)],
            undo_summary="Delete the bucket",
        ),
        Step(
            id="put-bucket-policy",
            call=call("s3", "PutBucketPolicy", Bucket=BUCKET, Policy=NEW_POLICY),
            summary=f"Put the CloudTrail policy on {BUCKET}",
            chain="bucket",
            changes=f"arn:aws:s3:::{BUCKET}",
            depends_on=["create-bucket"],
            undo=[call("s3", "DeleteBucketPolicy", Bucket=BUCKET)],
            retry_on=retry_on or [],
        ),
        Step(
            id="create-key",
            call=call(
                "kms",
                "CreateKey",
                Description="acme trail logs",
                KeySpec="SYMMETRIC_DEFAULT",
                KeyUsage="ENCRYPT_DECRYPT",
            ),
            summary="Create the log encryption key",
            chain="key",
            undo=[
                call(
                    "kms",
                    "ScheduleKeyDeletion",
                    KeyId="${create-key:KeyMetadata.KeyId}",
                    PendingWindowInDays=7,
                )
            ],
        ),
        Step(
            id="create-alias",
            call=call(
                "kms", "CreateAlias", AliasName=ALIAS, TargetKeyId="${create-key:KeyMetadata.KeyId}"
            ),
            summary=f"Name the key {ALIAS}",
            chain="key",
            depends_on=["create-key"],
            undo=[call("kms", "DeleteAlias", AliasName=ALIAS)],
        ),
        Step(
            id="create-topic",
            call=call("sns", "CreateTopic", **topic_params),
            summary=f"Create topic {TOPIC}",
            chain="topic",
            undo=[call("sns", "DeleteTopic", TopicArn="${create-topic:TopicArn}")],
        ),
    ]
    if overrides:
        steps = [
            s.model_copy(update=dict(overrides[s.id])) if s.id in overrides else s for s in steps
        ]
    return Plan(
        account_id=ACCOUNT,
        partition="aws",
        home_region=REGION,
        trail_arn=TRAIL_ARN,
        steps=steps,
        findings=findings or [],
        fingerprint=fingerprint or {},
    )


class FailOn(callers.FailOn):
    """The shared fault injector, failing every matching call unless told otherwise."""

    def __init__(self, inner: AwsCaller, operation: str, **options: Any) -> None:
        super().__init__(inner, operation, **{"times": 1_000_000, **options})


STEP_IDS = ["create-bucket", "put-bucket-policy", "create-key", "create-alias", "create-topic"]


def assert_nothing_left(raw: Callable[..., Any]) -> None:
    """No bucket, no topic, no alias; every key that exists is pending deletion."""
    assert raw("s3").list_buckets()["Buckets"] == []
    assert raw("sns").list_topics()["Topics"] == []
    kms = raw("kms")
    assert ALIAS not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    for key in kms.list_keys()["Keys"]:
        assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == (
            "PendingDeletion"
        )


def statuses(report: Any) -> dict[str, str]:
    return {r.id: r.status for r in report.steps}


# --- happy path ---------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 4])
def test_apply_creates_everything(caller: Boto3Caller, raw: Any, workers: int) -> None:
    events: list[ApplyEvent] = []
    report = apply_plan(make_plan(), caller, progress=events.append, max_workers=workers)

    assert report.status == "applied", report.message
    assert set(statuses(report).values()) == {"done"}
    raw("s3").head_bucket(Bucket=BUCKET)
    assert raw("s3").get_bucket_policy(Bucket=BUCKET)["Policy"] == NEW_POLICY
    key_id = report.outputs["create-key"]["KeyMetadata"]["KeyId"]
    kms = raw("kms")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases[ALIAS] == key_id  # the placeholder was resolved to the new key
    topic_arn = report.outputs["create-topic"]["TopicArn"]
    assert raw("sns").get_topic_attributes(TopicArn=topic_arn)["Attributes"]["TopicArn"] == (
        topic_arn
    )
    # Each step started and finished once; "finished" comes last.
    assert sorted(str(e.step_id) for e in events if e.kind == "step-done") == sorted(STEP_IDS)
    assert events[-1].kind == "finished" and events[-1].message == "applied"
    assert report.step("create-key").response_summary
    json.dumps(report.outputs)  # JSON-serialisable, for the journal and exports
    assert caller.stats[("s3", "CreateBucket")] == 1


def test_dependencies_start_after_their_dependencies(caller: Boto3Caller) -> None:
    order: list[tuple[str, str]] = []
    lock = threading.Lock()

    def progress(event: ApplyEvent) -> None:
        if event.kind in ("step-started", "step-done") and event.step_id:
            with lock:
                order.append((event.kind, event.step_id))

    report = apply_plan(make_plan(), caller, progress=progress, max_workers=4)
    assert report.status == "applied"
    for step, dep in [("put-bucket-policy", "create-bucket"), ("create-alias", "create-key")]:
        assert order.index(("step-done", dep)) < order.index(("step-started", step))


# --- failures and rollback ---------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("failing", STEP_IDS)
def test_failure_at_each_step_rolls_everything_back(
    caller: Boto3Caller, raw: Any, failing: str, workers: int
) -> None:
    plan = make_plan()
    failing_call = plan.step(failing).call
    events: list[ApplyEvent] = []
    report = apply_plan(
        plan,
        FailOn(caller, failing_call.operation),
        progress=events.append,
        max_workers=workers,
    )

    assert report.status == "rolled-back", report.message
    got = statuses(report)
    assert got[failing] == "failed"
    assert set(got.values()) <= {"failed", "rolled-back", "skipped"}
    assert report.error is not None and "InternalFailure" in report.error
    assert failing in report.error
    assert_nothing_left(raw)
    # Rolled back in reverse completion order.
    done = [e.step_id for e in events if e.kind == "step-done"]
    undone = [e.step_id for e in events if e.kind == "rollback-step-done"]
    assert undone == list(reversed(done))
    if workers == 1:
        # Sequential: everything before the failing step ran, nothing after it did.
        index = STEP_IDS.index(failing)
        assert all(got[s] == "rolled-back" for s in STEP_IDS[:index])
        assert all(got[s] == "skipped" for s in STEP_IDS[index + 1 :])


@pytest.mark.parametrize(
    ("step_id", "update", "code"),
    [
        # A step that targets a resource that does not exist.
        (
            "put-bucket-policy",
            {"call": call("s3", "PutBucketPolicy", Bucket="no-such-bucket-x", Policy="{}")},
            "NoSuchBucket",
        ),
        # Parameters AWS refuses.
        (
            "create-alias",
            {
                "call": call(
                    "kms",
                    "CreateAlias",
                    AliasName="missing-alias-prefix",
                    TargetKeyId="${create-key:KeyMetadata.KeyId}",
                )
            },
            "ValidationException",
        ),
        # Parameters botocore refuses before sending (Name is required).
        ("create-topic", {"call": call("sns", "CreateTopic")}, "ParamValidationError"),
    ],
)
def test_real_aws_errors_roll_back(
    caller: Boto3Caller, raw: Any, step_id: str, update: dict[str, Any], code: str
) -> None:
    plan = make_plan(overrides={step_id: update})
    report = apply_plan(plan, caller, max_workers=1)
    assert report.status == "rolled-back"
    assert report.step(step_id).status == "failed"
    assert code in (report.step(step_id).error or "")
    assert_nothing_left(raw)


def test_a_changed_policy_is_restored_to_its_exact_previous_text(
    caller: Boto3Caller, raw: Any
) -> None:
    existing = "existing-log-bucket"
    # Odd spacing on purpose: the restore must be byte-for-byte, not "equivalent JSON".
    original = (
        '{"Version":"2012-10-17",  "Statement":[{"Sid":"Keep","Effect":"Deny",'
        '"Principal":"*","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::existing-log-bucket"}]}'
    )
    s3 = raw("s3")
    s3.create_bucket(Bucket=existing)
    s3.put_bucket_policy(Bucket=existing, Policy=original)
    # A complete policy: the strict sandbox's patches are process-wide, and S3 refuses a
    # statement without Effect/Principal/Action/Resource as AWS does.
    merged = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Merged",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:DeleteBucket",
                    "Resource": f"arn:aws:s3:::{existing}",
                }
            ],
        }
    )
    plan = Plan(
        account_id=ACCOUNT,
        partition="aws",
        home_region=REGION,
        trail_arn=TRAIL_ARN,
        steps=[
            Step(
                id="update-bucket-policy",
                call=call("s3", "PutBucketPolicy", Bucket=existing, Policy=merged),
                summary="Merge CloudTrail's statements into the policy",
                chain="bucket",
                changes=f"arn:aws:s3:::{existing}",
                undo=[call("s3", "PutBucketPolicy", Bucket=existing, Policy=original)],
                policy=PolicyChange(
                    kind="bucket", resource=existing, before=original, after=merged
                ),
            ),
            Step(
                id="create-topic",
                call=call("sns", "CreateTopic", Name=TOPIC),
                summary="Create topic",
                chain="topic",
                depends_on=["update-bucket-policy"],
                undo=[call("sns", "DeleteTopic", TopicArn="${create-topic:TopicArn}")],
            ),
        ],
    )
    seen_during_apply: list[str] = []
    failing = FailOn(
        caller,
        "CreateTopic",
        before_failing=lambda: seen_during_apply.append(
            s3.get_bucket_policy(Bucket=existing)["Policy"]
        ),
    )
    report = apply_plan(plan, failing, max_workers=1)

    assert seen_during_apply == [merged]  # the change really happened ...
    assert report.status == "rolled-back"
    assert report.step("update-bucket-policy").status == "rolled-back"
    assert s3.get_bucket_policy(Bucket=existing)["Policy"] == original  # ... and was undone


def test_rollback_errors_are_reported_and_the_rollback_goes_on(
    caller: Boto3Caller, raw: Any
) -> None:
    class Both(FailOn):
        """Fails CreateTopic (the apply) and DeleteBucket (its rollback)."""

        def call(
            self,
            service: str,
            region: str,
            operation: str,
            params: Mapping[str, Any] | None = None,
        ) -> dict[str, Any]:
            if operation == "DeleteBucket":
                raise AwsError(
                    service=service,
                    operation=operation,
                    code="AccessDenied",
                    message="not allowed",
                    status=403,
                )
            return super().call(service, region, operation, params)

    events: list[ApplyEvent] = []
    report = apply_plan(
        make_plan(), Both(caller, "CreateTopic"), progress=events.append, max_workers=1
    )

    assert report.status == "rollback-incomplete"
    bucket = report.step("create-bucket")
    assert bucket.status == "rollback-failed"
    assert bucket.rollback_error and "DeleteBucket" in bucket.rollback_error
    assert "Undo by hand" in bucket.rollback_error
    assert "create-bucket" in report.message
    # The other steps were still undone.
    assert statuses(report)["put-bucket-policy"] == "rolled-back"
    assert statuses(report)["create-key"] == "rolled-back"
    assert statuses(report)["create-alias"] == "rolled-back"
    kms = raw("kms")
    assert ALIAS not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    raw("s3").head_bucket(Bucket=BUCKET)  # the bucket is the one thing left behind
    assert [e.step_id for e in events if e.kind == "rollback-step-failed"] == ["create-bucket"]


def test_undo_of_something_already_gone_counts_as_undone(caller: Boto3Caller, raw: Any) -> None:
    kms = raw("kms")
    failing = FailOn(
        caller, "CreateTopic", before_failing=lambda: kms.delete_alias(AliasName=ALIAS)
    )
    report = apply_plan(make_plan(), failing, max_workers=1)
    assert report.status == "rolled-back"
    assert report.step("create-alias").status == "rolled-back"
    assert_nothing_left(raw)


class RetriedCreateKey:
    """Wraps a caller; CreateKey answers say botocore had to send the request twice."""

    def __init__(self, inner: Boto3Caller) -> None:
        self.inner = inner

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        response = self.inner.call(service, region, operation, params)
        if operation == "CreateKey":
            response["ResponseMetadata"] = {"RetryAttempts": 1}
        return response

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        return self.inner.paginate(service, region, operation, result_key, params)


def test_after_a_retried_create_key_only_this_runs_other_keys_are_scheduled(
    caller: Boto3Caller, raw: Any
) -> None:
    kms = raw("kms")

    def key(run: str | None) -> str:
        tags = [{"TagKey": RUN_TAG, "TagValue": run}] if run else []
        return str(kms.create_key(Tags=tags)["KeyMetadata"]["KeyId"])

    duplicate, other_run, untagged, gone = key("run-1"), key("run-2"), key(None), key("run-1")
    kms.schedule_key_deletion(KeyId=gone, PendingWindowInDays=7)
    tagged = call(
        "kms", "CreateKey", Description="acme", Tags=[{"TagKey": RUN_TAG, "TagValue": "run-1"}]
    )
    plan = make_plan(overrides={"create-key": {"call": tagged}})

    report = apply_plan(plan, RetriedCreateKey(caller), max_workers=1)

    assert report.status == "applied", report.message
    used = report.outputs["create-key"]["KeyMetadata"]["KeyId"]
    states = {
        k: kms.describe_key(KeyId=k)["KeyMetadata"]["KeyState"]
        for k in (used, duplicate, other_run, untagged, gone)
    }
    assert states == {
        used: "Enabled",
        duplicate: "PendingDeletion",
        other_run: "Enabled",
        untagged: "Enabled",
        gone: "PendingDeletion",
    }
    assert [(k.key_id, k.status) for k in report.orphan_keys] == [(duplicate, "scheduled")]
    assert caller.stats[("kms", "ScheduleKeyDeletion")] == 1
    assert report.step("create-key").status == "done"


def test_explained_access_denied(caller: Boto3Caller) -> None:
    report = apply_plan(
        make_plan(),
        FailOn(caller, "PutBucketPolicy", code="AccessDenied", status=403),
        explain=lambda err, step: explain_aws_error(err, purpose=step.summary),
        max_workers=1,
    )
    assert report.status == "rolled-back"
    assert report.error is not None
    assert "s3:PutBucketPolicy" in report.error
    assert "Your IAM policy" in report.error


# --- retries ------------------------------------------------------------------------------


def test_retry_on_a_listed_code_succeeds(caller: Boto3Caller, raw: Any) -> None:
    code = "InsufficientS3BucketPolicyException"
    slept: list[float] = []
    events: list[ApplyEvent] = []
    flaky = FailOn(caller, "PutBucketPolicy", code=code, status=400, times=2)
    report = apply_plan(
        make_plan(retry_on=[code]),
        flaky,
        sleep=slept.append,
        progress=events.append,
        max_workers=1,
    )
    assert report.status == "applied"
    assert slept == [1, 2]
    assert report.step("put-bucket-policy").attempts == 3
    assert [e.attempt for e in events if e.kind == "step-retrying"] == [1, 2]
    assert raw("s3").get_bucket_policy(Bucket=BUCKET)["Policy"] == NEW_POLICY


def test_retries_run_out_then_the_step_fails(caller: Boto3Caller, raw: Any) -> None:
    code = "InsufficientS3BucketPolicyException"
    slept: list[float] = []
    report = apply_plan(
        make_plan(retry_on=[code]),
        FailOn(caller, "PutBucketPolicy", code=code, status=400),
        sleep=slept.append,
        retry_delays=(0.5, 0.25),
        max_workers=1,
    )
    assert report.status == "rolled-back"
    assert slept == [0.5, 0.25]
    assert report.step("put-bucket-policy").attempts == 3
    assert_nothing_left(raw)


def test_codes_not_listed_are_not_retried(caller: Boto3Caller) -> None:
    slept: list[float] = []
    failing = FailOn(caller, "PutBucketPolicy", code="MalformedPolicy", status=400)
    report = apply_plan(
        make_plan(retry_on=["InsufficientS3BucketPolicyException"]),
        failing,
        sleep=slept.append,
        max_workers=1,
    )
    assert report.status == "rolled-back"
    assert slept == []
    assert failing.failures == 1


def test_a_conflicting_change_is_retried_after_a_short_wait(caller: Boto3Caller, raw: Any) -> None:
    """S3's OperationAborted (another change to the bucket in progress) waits milliseconds,
    not the seconds meant for IAM's propagation, and the step then succeeds."""
    slept: list[float] = []
    flaky = FailOn(caller, "PutBucketPolicy", code="OperationAborted", status=409, times=2)
    report = apply_plan(
        make_plan(retry_on=["OperationAborted"]),
        flaky,
        sleep=slept.append,
        retry_delays=(5, 5),
    )
    assert report.status == "applied"
    assert slept == list(CONFLICT_DELAYS[:2])
    assert max(slept) < 1
    assert report.step("put-bucket-policy").attempts == 3
    assert raw("s3").get_bucket_policy(Bucket=BUCKET)["Policy"] == NEW_POLICY


# --- cancel, stale, blocked ---------------------------------------------------------------


def test_cancel_mid_apply_rolls_back(caller: Boto3Caller, raw: Any) -> None:
    cancel = threading.Event()

    class CancelAfterTwo:
        def __init__(self) -> None:
            self.mutating = 0

        def call(
            self,
            service: str,
            region: str,
            operation: str,
            params: Mapping[str, Any] | None = None,
        ) -> dict[str, Any]:
            response = caller.call(service, region, operation, params)
            if not is_read_only(operation):
                self.mutating += 1
                if self.mutating == 2:
                    cancel.set()  # what Ctrl-C does in the CLI
            return response

        def paginate(self, *args: Any, **kwargs: Any) -> list[Any]:
            return caller.paginate(*args, **kwargs)

    report = apply_plan(make_plan(), CancelAfterTwo(), cancel=cancel, max_workers=1)

    assert report.status == "cancelled"
    assert statuses(report) == {
        "create-bucket": "rolled-back",
        "put-bucket-policy": "rolled-back",
        "create-key": "skipped",
        "create-alias": "skipped",
        "create-topic": "skipped",
    }
    assert caller.stats[("kms", "CreateKey")] == 0
    assert_nothing_left(raw)


def test_cancel_before_start_changes_nothing(caller: Boto3Caller) -> None:
    cancel = threading.Event()
    cancel.set()
    report = apply_plan(make_plan(), caller, cancel=cancel)
    assert report.status == "cancelled"
    assert set(statuses(report).values()) == {"skipped"}
    assert sum(caller.stats.values()) == 0


def test_stale_plan_calls_nothing(caller: Boto3Caller, raw: Any) -> None:
    plan = make_plan(fingerprint={"bucket:acme": "h1", "key:acme": "h2"})
    report = apply_plan(
        plan,
        caller,
        check_fresh=lambda: {"bucket:acme": "h1", "key:acme": "CHANGED", "topic:new": "h3"},
    )
    assert report.status == "stale"
    assert report.changed == ["key:acme", "topic:new"]
    assert "key:acme" in report.message
    assert sum(caller.stats.values()) == 0
    assert raw("s3").list_buckets()["Buckets"] == []


def test_fresh_plan_is_applied(caller: Boto3Caller) -> None:
    fingerprint = {"bucket:acme": "h1"}
    checked: list[bool] = []

    def check() -> dict[str, str]:
        checked.append(True)
        return dict(fingerprint)

    report = apply_plan(make_plan(fingerprint=fingerprint), caller, check_fresh=check)
    assert report.status == "applied"
    assert checked == [True]


def test_freshness_check_that_fails_refuses(caller: Boto3Caller) -> None:
    def broken() -> dict[str, str]:
        raise AwsError(service="s3", operation="GetBucketPolicy", code="X", message="boom")

    report = apply_plan(make_plan(fingerprint={"a": "b"}), caller, check_fresh=broken)
    assert report.status == "stale"
    assert sum(caller.stats.values()) == 0


def test_blocked_plan_calls_nothing(caller: Boto3Caller) -> None:
    finding = Finding(severity="error", code="kms-region-mismatch", message="Key in wrong region")
    report = apply_plan(make_plan(findings=[finding]), caller)
    assert report.status == "blocked"
    assert report.error is not None and "Key in wrong region" in report.error
    assert sum(caller.stats.values()) == 0


def test_malformed_plan_is_refused(caller: Boto3Caller) -> None:
    plan = make_plan(overrides={"create-bucket": {"depends_on": ["create-topic-x"]}})
    report = apply_plan(plan, caller)
    assert report.status == "blocked"
    assert "create-topic-x" in (report.error or "")
    assert sum(caller.stats.values()) == 0


# --- journal ------------------------------------------------------------------------------


def test_journal_holds_every_call_and_no_secret(caller: Boto3Caller, tmp_path: Path) -> None:
    tags = [
        {"Key": "note", "Value": FAKE_SECRET_KEY},
        {"Key": "token", "Value": FAKE_SESSION_TOKEN},
    ]
    journal = Journal(tmp_path / "j.json")
    report = apply_plan(
        make_plan(topic_tags=tags), FailOn(caller, "CreateTopic"), journal=journal, max_workers=1
    )
    assert report.status == "rolled-back"
    assert report.journal_path == str(tmp_path / "j.json")

    text = (tmp_path / "j.json").read_text()
    assert FAKE_SECRET_KEY not in text
    assert FAKE_SESSION_TOKEN not in text
    doc = load_journal(tmp_path / "j.json")
    calls = [(e["step_id"], e["operation"]) for e in doc["entries"] if e["kind"] == "call"]
    assert calls == [(s, make_plan().step(s).call.operation) for s in STEP_IDS]
    undos = [e for e in doc["entries"] if e["kind"] == "rollback-call"]
    assert [e["operation"] for e in undos] == [
        "DeleteAlias",
        "ScheduleKeyDeletion",
        "DeleteBucketPolicy",
        "DeleteBucket",
    ]
    assert all(e["rollback"] for e in undos)
    key_id = report.outputs["create-key"]["KeyMetadata"]["KeyId"]
    assert undos[1]["params"]["KeyId"] == key_id  # placeholders resolved before journaling
    topic = next(
        e for e in doc["entries"] if e.get("operation") == "CreateTopic" and e["kind"] == "call"
    )
    assert "InternalFailure" in topic["error"]
    # Write-ahead: every mutating call's intent precedes its outcome, with the same params.
    for outcome in (e for e in doc["entries"] if e["kind"] in ("call", "rollback-call")):
        intents = [
            e
            for e in doc["entries"]
            if e["kind"] == "intent"
            and e["seq"] < outcome["seq"]
            and (e["step_id"], e["operation"]) == (outcome["step_id"], outcome["operation"])
        ]
        assert intents, f"no intent before {outcome['step_id']} {outcome['operation']}"
        assert intents[-1]["params"] == outcome["params"]
    assert doc["summary"]["status"] == "rolled-back"
    assert doc["summary"]["steps"]["create-topic"] == "failed"


# --- concurrency, with an in-memory caller ------------------------------------------------


class FakeCaller:
    """Answers every call with {}; runs a hook first."""

    def __init__(self, hook: Callable[[str, Mapping[str, Any]], None]) -> None:
        self.hook = hook

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        self.hook(operation, dict(params or {}))
        return {"Echo": operation}

    def paginate(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


def chain_plan() -> Plan:
    def step(sid: str, chain: Any, deps: list[str]) -> Step:
        return Step(
            id=sid,
            call=call("sns", "Publish", Message=sid),
            summary=sid,
            chain=chain,
            depends_on=deps,
        )

    return Plan(
        account_id=ACCOUNT,
        partition="aws",
        home_region=REGION,
        trail_arn=TRAIL_ARN,
        steps=[
            step("a1", "bucket", []),
            step("b1", "key", []),
            step("a2", "bucket", ["a1"]),
            step("b2", "key", ["b1"]),
            step("c", "trail", ["a2", "b2"]),
        ],
    )


def test_independent_steps_run_concurrently() -> None:
    # a1 and b1 both wait at the barrier: the apply can only finish if they run at once.
    barrier = threading.Barrier(2, timeout=30)
    finished: set[str] = set()
    violations: list[str] = []
    lock = threading.Lock()
    deps = {s.id: s.depends_on for s in chain_plan().steps}

    def hook(operation: str, params: Mapping[str, Any]) -> None:
        sid = str(params["Message"])
        with lock:
            violations.extend(f"{sid} before {d}" for d in deps[sid] if d not in finished)
        if sid in ("a1", "b1"):
            barrier.wait()
        with lock:
            finished.add(sid)

    report = apply_plan(chain_plan(), FakeCaller(hook), max_workers=2)
    assert report.status == "applied"
    assert violations == []
    assert finished == {"a1", "b1", "a2", "b2", "c"}


def test_one_worker_runs_in_plan_order() -> None:
    seen: list[str] = []
    report = apply_plan(
        chain_plan(), FakeCaller(lambda op, p: seen.append(str(p["Message"]))), max_workers=1
    )
    assert report.status == "applied"
    assert seen == ["a1", "b1", "a2", "b2", "c"]


def test_a_broken_progress_callback_does_not_break_apply() -> None:
    def progress(event: ApplyEvent) -> None:
        raise RuntimeError("UI bug")

    report = apply_plan(chain_plan(), FakeCaller(lambda op, p: None), progress=progress)
    assert report.status == "applied"


# --- dry-run ------------------------------------------------------------------------------


def test_dry_run_sends_no_mutating_request(
    boto_session: boto3.Session, endpoint: str, raw: Any
) -> None:
    reader = Boto3Caller(ClientFactory(boto_session, endpoint_url=endpoint, read_only=True))
    plan = make_plan()
    whoami = Step(
        id="whoami",
        call=call("sts", "GetCallerIdentity"),
        summary="Check the account",
        chain="trail",
        mutating=False,
    )
    topic = plan.step("create-topic")
    tagged = topic.model_copy(
        update={
            "call": call(
                "sns", "CreateTopic", Name=TOPIC, Tags=[{"Key": "a", "Value": "${whoami:Account}"}]
            ),
            "depends_on": ["whoami"],
        }
    )
    plan = plan.model_copy(
        update={"steps": [whoami, *[s for s in plan.steps if s.id != "create-topic"], tagged]}
    )

    report = dry_run(plan, reader)

    assert report.mutating_calls_sent == 0
    assert report.problems == []
    assert [c.operation for c in report.recorded_calls] == [
        "CreateBucket",
        "PutBucketPolicy",
        "CreateKey",
        "CreateAlias",
        "CreateTopic",
    ]
    alias = report.recorded_calls[3]
    assert alias.params["TargetKeyId"] == "dry-run-key-id"
    assert report.recorded_calls[4].params["Tags"][0]["Value"] == ACCOUNT  # a real read
    # Server side: only the read was sent, and nothing exists.
    assert reader.stats == {("sts", "GetCallerIdentity"): 1}
    assert all(is_read_only(op) for (_, op) in reader.stats)
    assert raw("s3").list_buckets()["Buckets"] == []
    assert raw("kms").list_keys()["Keys"] == []
    assert raw("sns").list_topics()["Topics"] == []


def test_dry_run_offline_reports_unresolvable_placeholders() -> None:
    plan = make_plan(
        overrides={
            "create-alias": {
                "call": call(
                    "kms", "CreateAlias", AliasName=ALIAS, TargetKeyId="${create-key:Nope.KeyId}"
                )
            }
        }
    )
    report = dry_run(plan)
    assert len(report.recorded_calls) == 5
    assert len(report.problems) == 1
    assert "create-alias" in report.problems[0] and "Nope" in report.problems[0]


def test_recording_caller_answers_writes_synthetically() -> None:
    reads: list[str] = []

    class Reader(FakeCaller):
        pass

    recorder = RecordingCaller(
        Reader(lambda op, p: reads.append(op)), account_id=ACCOUNT, partition="aws-cn"
    )
    trail = recorder.call(
        "cloudtrail", "cn-north-1", "CreateTrail", {"Name": "t", "S3BucketName": "b"}
    )
    role = recorder.call("iam", "cn-north-1", "CreateRole", {"RoleName": "r", "Path": "/ct/"})
    key1 = recorder.call("kms", "cn-north-1", "CreateKey", {})
    key2 = recorder.call("kms", "cn-north-1", "CreateKey", {})
    assert trail["TrailARN"] == f"arn:aws-cn:cloudtrail:cn-north-1:{ACCOUNT}:trail/t"
    assert role["Role"]["Arn"] == f"arn:aws-cn:iam::{ACCOUNT}:role/ct/r"
    assert key1["KeyMetadata"]["KeyId"] != key2["KeyMetadata"]["KeyId"]
    assert recorder.call("s3", "us-east-1", "PutBucketTagging", {"Bucket": "b"}) == {}
    assert recorder.call("s3", "us-east-1", "GetBucketPolicy", {"Bucket": "b"}) == {
        "Echo": "GetBucketPolicy"
    }
    assert recorder.paginate("s3", "us-east-1", "DeleteObjects", "Deleted") == []
    assert reads == ["GetBucketPolicy"]
    assert [c.operation for c in recorder.recorded] == [
        "CreateTrail",
        "CreateRole",
        "CreateKey",
        "CreateKey",
        "PutBucketTagging",
        "DeleteObjects",
    ]


# --- placeholders -------------------------------------------------------------------------


OUTPUTS: dict[str, Any] = {
    "create-key": {"KeyMetadata": {"KeyId": "k-1", "Arn": "arn:aws:kms:r:a:key/k-1"}},
    "list": {"Items": [{"Arn": "first"}, {"Arn": "second", "Tags": [[1, 2], [3, 4]]}]},
    "create-role": {"Role": {"Arn": "arn:aws:iam::1:role/x", "Enabled": True}},
}


def test_placeholders_are_resolved_at_any_depth() -> None:
    params = {
        "KeyId": "${create-key:KeyMetadata.KeyId}",
        "Nested": {
            "List": ["plain", "${list:Items[1].Arn}", {"Deep": "${list:Items[1].Tags[1][0]}"}]
        },
        "Whole": "${create-role:Role}",
        "Count": 3,
        "NotAPlaceholder": "prefix ${create-key:KeyMetadata.KeyId}",
    }
    resolved = resolve_placeholders(params, OUTPUTS)
    assert resolved == {
        "KeyId": "k-1",
        "Nested": {"List": ["plain", "second", {"Deep": 3}]},
        "Whole": {"Arn": "arn:aws:iam::1:role/x", "Enabled": True},
        "Count": 3,
        "NotAPlaceholder": "prefix ${create-key:KeyMetadata.KeyId}",
    }
    assert params["KeyId"] == "${create-key:KeyMetadata.KeyId}"  # input untouched


@pytest.mark.parametrize(
    ("placeholder", "fragment"),
    [
        ("${missing-step:KeyId}", "missing-step"),
        ("${create-key:KeyMetadata.Nope}", "KeyMetadata.Nope"),
        ("${list:Items[5].Arn}", "[5]"),
        ("${create-key:KeyMetadata[0]}", "[0]"),
    ],
)
def test_unresolvable_placeholders_say_why(placeholder: str, fragment: str) -> None:
    with pytest.raises(PlaceholderError) as info:
        resolve_placeholders({"X": [placeholder]}, OUTPUTS)
    assert fragment in str(info.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="abc ${}:.-", max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=5), json_values, max_size=4))
def test_params_without_placeholders_are_unchanged(params: dict[str, Any]) -> None:
    try:
        resolved = resolve_placeholders(params, {})
    except PlaceholderError:
        # Only possible when hypothesis happened to write a well-formed placeholder.
        assert "${" in json.dumps(params)
        return
    assert resolved == params


def test_failed_placeholder_resolution_fails_the_step_and_rolls_back(
    caller: Boto3Caller, raw: Any
) -> None:
    plan = make_plan(
        overrides={
            "create-alias": {
                "call": call(
                    "kms", "CreateAlias", AliasName=ALIAS, TargetKeyId="${create-key:Nope.KeyId}"
                )
            }
        }
    )
    report = apply_plan(plan, caller, max_workers=1)
    assert report.status == "rolled-back"
    assert "Nope" in (report.step("create-alias").error or "")
    assert caller.stats[("kms", "CreateAlias")] == 0  # never sent
    assert_nothing_left(raw)


def test_client_error_survives_as_aws_error(caller: Boto3Caller) -> None:
    with pytest.raises(AwsError) as info:
        caller.call("s3", REGION, "GetBucketPolicy", {"Bucket": "nothing-here-zz"})
    assert info.value.code == "NoSuchBucket"
    assert not isinstance(info.value, ClientError)
