"""The engine end to end on the seeded sandbox: plan -> apply (or dry-run) -> verify.

What was applied is checked with plain boto3, never with the wizard's own reads; what was
*not* sent is checked on the emulator server's request log.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.callers import FailOn
from tests.sandbox_fixtures import (
    ACCOUNT,
    REGION,
    RequestLog,
    account_state,
    assert_same_state,
    prepare_example,
)
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.names import RUN_TAG
from wizard.model.plan import Plan
from wizard.run.apply import ApplyEvent, apply_plan, dry_run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
CLOUDTRAIL = "cloudtrail.amazonaws.com"
APP_BUCKET = f"demo-app-data-{ACCOUNT}"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:demo-security-alerts"


def test_every_example_is_covered() -> None:
    assert {p.name for p in EXAMPLES} == {
        "access-logging.yaml",
        "cloudwatch-and-sns.yaml",
        "existing-bucket-prefix.yaml",
        "new-bucket-sse-s3.yaml",
        "organization-trail.yaml",
        "sse-kms-existing-key.yaml",
        "sse-kms-new-key.yaml",
    }


# --------------------------------------------------------------------- policy lookups


def statements(policy: str | None) -> list[dict[str, Any]]:
    assert policy is not None, "no policy"
    document = json.loads(policy)
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(
    policy: str | None, action: str, resource: str | None = None, *, service: str = CLOUDTRAIL
) -> dict[str, Any]:
    """The Allow statement giving ``service`` ``action`` (on ``resource``), or fail."""
    for statement in statements(policy):
        principal = statement.get("Principal", {})
        if (
            statement.get("Effect") == "Allow"
            and isinstance(principal, dict)
            and service in as_list(principal.get("Service", []))
            and action.lower() in [a.lower() for a in as_list(statement.get("Action", []))]
            and (resource is None or resource in as_list(statement.get("Resource", [])))
        ):
            return statement
    raise AssertionError(f"no statement lets {service} {action} {resource or ''} in {policy}")


# ----------------------------------------------------------------------- applying


def check_applied(aws: Any, answers: Answers, plan: Plan, org_id: str | None) -> None:
    """Everything the answers ask for exists as asked, read back with plain boto3."""
    home = answers.trail.region or REGION
    bucket = answers.bucket.name
    prefix = f"{answers.bucket.prefix}/" if answers.bucket.prefix else ""
    trail_arn = f"arn:aws:cloudtrail:{home}:{ACCOUNT}:trail/{answers.trail.name}"
    cloudtrail = aws("cloudtrail", home)

    trail = cloudtrail.get_trail(Name=trail_arn)["Trail"]
    assert trail["TrailARN"] == trail_arn  # its region is the home region
    assert trail["S3BucketName"] == bucket
    assert trail.get("S3KeyPrefix") == (answers.bucket.prefix or None)
    assert trail["IsMultiRegionTrail"] is answers.trail.multi_region
    assert trail["IncludeGlobalServiceEvents"] is answers.trail.include_global_events
    assert trail["LogFileValidationEnabled"] is answers.trail.log_file_validation
    assert trail["IsOrganizationTrail"] is answers.trail.organization
    assert cloudtrail.get_trail_status(Name=trail_arn)["IsLogging"] is True
    # Basic selectors where they can say it, else advanced ones: read back as sent.
    planned = plan.step("put-event-selectors").call.params
    got = cloudtrail.get_event_selectors(TrailName=trail_arn)
    kind = "EventSelectors" if "EventSelectors" in planned else "AdvancedEventSelectors"
    assert got[kind] == planned[kind]
    assert not got.get("AdvancedEventSelectors" if kind == "EventSelectors" else "EventSelectors")
    tags = cloudtrail.list_tags(ResourceIdList=[trail_arn])["ResourceTagList"][0]["TagsList"]
    # The answers' tags, and the run tag that marks the trail as this run's.
    assert {t["Key"]: t["Value"] for t in tags} == {**answers.trail.tags, RUN_TAG: plan.run_id}

    s3 = aws("s3")
    location = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] or "us-east-1"
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    grants(policy, "s3:GetBucketAcl", f"arn:aws:s3:::{bucket}")
    write = grants(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/{prefix}AWSLogs/{ACCOUNT}/*")
    assert write["Condition"]["StringEquals"] == {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "aws:SourceArn": trail_arn,
    }
    if org_id:
        grants(policy, "s3:PutObject", f"arn:aws:s3:::{bucket}/{prefix}AWSLogs/{org_id}/*")
    if answers.bucket.create:
        assert location == (answers.bucket.region or home)
        pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert set(pab.values()) == {True}
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ][0]["ApplyServerSideEncryptionByDefault"]
        assert rule["SSEAlgorithm"] == (
            "aws:kms" if answers.encryption.type == "sse-kms" else "AES256"
        )

    access = answers.bucket.access_logs
    if access is not None:
        logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
        assert (logging["TargetBucket"], logging["TargetPrefix"]) == (access.bucket, access.prefix)
        grants(
            s3.get_bucket_policy(Bucket=access.bucket)["Policy"],
            "s3:PutObject",
            f"arn:aws:s3:::{access.bucket}/{access.prefix}*",
            service="logging.s3.amazonaws.com",
        )

    if answers.encryption.type == "sse-kms":
        key_arn = trail["KmsKeyId"]
        key_region = key_arn.split(":")[3]
        assert key_region == location, "the key must be in the bucket's region"
        kms = aws("kms", key_region)
        meta = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
        assert (meta["KeyState"], meta["KeySpec"]) == ("Enabled", "SYMMETRIC_DEFAULT")
        key_policy = kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
        grants(key_policy, "kms:GenerateDataKey*")
        grants(key_policy, "kms:DescribeKey")
        if answers.encryption.new_key:
            assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
            alias = answers.encryption.alias or f"alias/cloudtrail-{answers.trail.name}"
            aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
            assert aliases[alias] == meta["KeyId"]
            if answers.encryption.decrypt_principals:
                # Only the named readers may decrypt (AWS principals, not a service).
                readers = [
                    s
                    for s in statements(key_policy)
                    if "kms:Decrypt" in as_list(s.get("Action", []))
                    and isinstance(s.get("Principal"), dict)
                    and "AWS" in s["Principal"]
                ]
                assert [as_list(s["Principal"]["AWS"]) for s in readers] == [
                    answers.encryption.decrypt_principals
                ]
        encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        if answers.bucket.create:
            default = encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]
            assert default["KMSMasterKeyID"] == key_arn

    if answers.notifications.sns_topic:
        topic_arn = trail["SnsTopicARN"]
        assert topic_arn == f"arn:aws:sns:{home}:{ACCOUNT}:{answers.notifications.topic_name}"
        topic_policy = aws("sns", home).get_topic_attributes(TopicArn=topic_arn)["Attributes"][
            "Policy"
        ]
        publish = grants(topic_policy, "SNS:Publish", topic_arn)
        assert publish["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn

    group = answers.cloudwatch_logs.log_group
    if group:
        assert trail["CloudWatchLogsLogGroupArn"] == (
            f"arn:aws:logs:{home}:{ACCOUNT}:log-group:{group}:*"
        )
        groups = aws("logs", home).describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [
            (group, answers.cloudwatch_logs.retention_days)
        ]
        role_name = trail["CloudWatchLogsRoleArn"].rsplit("/", 1)[-1]
        iam = aws("iam")
        role = iam.get_role(RoleName=role_name)["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust_text = trust if isinstance(trust, str) else json.dumps(trust)
        grants(trust_text, "sts:AssumeRole")
        (inline,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        document = iam.get_role_policy(RoleName=role_name, PolicyName=inline)["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        assert "logs:PutLogEvents" in text and f"log-group:{group}:log-stream:" in text

    if answers.events.insights:
        insights = cloudtrail.get_insight_selectors(TrailName=trail_arn)["InsightSelectors"]
        assert insights == plan.step("put-insight-selectors").call.params["InsightSelectors"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_applies_and_is_what_was_asked(
    example: Path, engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    prepare_example(example, aws)
    answers = load_answers(example)
    plan, found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    server_log.clear()

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    # The request log sees every write, whatever the protocol (JSON target header, query
    # form body, S3 REST method): what makes "no mutating request" assertions meaningful.
    writes = server_log.mutating()
    s3_steps = [s for s in plan.steps if s.call.service == "s3"]
    assert len([w for w in writes if w.service == "s3"]) == len(s3_steps)
    other = {(s.call.service, s.call.operation) for s in plan.steps if s not in s3_steps}
    assert other == {(w.service, w.operation) for w in writes if w.service != "s3"}

    assert outcome.report.status == "applied", outcome.report.message
    assert outcome.verification is not None and outcome.verification.ok, outcome.verification
    org_id = found.organization.organization_id if found.organization else None
    assert bool(org_id) is answers.trail.organization
    check_applied(aws, answers, plan, org_id)


def test_an_existing_bucket_policy_is_kept_byte_for_byte(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    # Hand-written, as people write them: odd spacing, unusual key order, a unicode escape.
    first = (
        '{ "Effect" : "Allow",\n      "Sid":"AppReaders",  "Principal": {"AWS":'
        f' "arn:aws:iam::{ACCOUNT}:role/AppReader"}},\n      "Action": ["s3:GetObject"],'
        f' "Resource": "arn:aws:s3:::{APP_BUCKET}/*"}}'
    )
    second = (
        '{"Sid": "DenyHttp\\u0021", "Effect": "Deny", "Principal": "*", "Action": "s3:*",'
        f'\n  "Resource": ["arn:aws:s3:::{APP_BUCKET}", "arn:aws:s3:::{APP_BUCKET}/*"],'
        '\n  "Condition": {"Bool": {"aws:SecureTransport": "false"}}}'
    )
    original = (
        '{\n  "Version": "2012-10-17",\n  "Id": "team-policy",\n  "Statement": [\n    '
        f"{first},\n    {second}\n  ]\n}}\n"
    )
    aws("s3").put_bucket_policy(Bucket=APP_BUCKET, Policy=original)
    assert aws("s3").get_bucket_policy(Bucket=APP_BUCKET)["Policy"] == original
    answers = Answers.model_validate(
        {
            "trail": {"name": "kept-trail"},
            "bucket": {"name": APP_BUCKET, "create": False, "prefix": "trail"},
            "encryption": {"type": "sse-s3"},
        }
    )
    plan, found = engine.plan(answers)
    assert [s.id for s in plan.steps][:1] == ["update-bucket-policy"]

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "applied", outcome.report.message
    merged = aws("s3").get_bucket_policy(Bucket=APP_BUCKET)["Policy"]
    # Every original statement, character for character, in the original order.
    positions = [merged.find(statement) for statement in (first, second)]
    assert -1 not in positions and positions == sorted(positions)
    # What comes before the first statement is untouched too.
    assert merged.startswith(original[: original.index(first)])
    assert [s.get("Sid") for s in statements(merged)][:2] == ["AppReaders", "DenyHttp!"]
    grants(merged, "s3:PutObject", f"arn:aws:s3:::{APP_BUCKET}/trail/AWSLogs/{ACCOUNT}/*")


# ---------------------------------------------------------------------------- refusals


def test_region_mismatch_is_refused_with_nothing_created(
    engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    before = account_state(aws)
    server_log.clear()
    answers = Answers.model_validate(
        {
            "trail": {"name": "mismatch-trail", "region": "eu-west-1"},
            "bucket": {"name": "mismatch-trail-logs", "region": "us-east-1"},
            "encryption": {"type": "sse-kms", "key": "alias/app-data-eu"},
        }
    )
    plan, found = engine.plan(answers)
    assert "kms-region-mismatch" in [f.code for f in plan.findings if f.severity == "error"]

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "blocked"
    assert {r.status for r in outcome.report.steps} == {"skipped"}
    assert server_log.mutating() == []
    assert server_log.snapshot(), "the plan did read the account"
    assert_same_state(before, account_state(aws))


def test_a_stale_plan_is_refused_and_nothing_changes(
    engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    answers = load_answers(ROOT / "examples" / "existing-bucket-prefix.yaml")
    plan, found = engine.plan(answers)
    assert not plan.blocked
    # Someone changes the bucket policy between plan and apply.
    changed = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SomeoneElse",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{APP_BUCKET}/*",
                }
            ],
        }
    )
    aws("s3").put_bucket_policy(Bucket=APP_BUCKET, Policy=changed)
    before = account_state(aws)
    server_log.clear()

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "stale"
    assert outcome.report.changed == ["bucket"]
    assert "Make a new plan" in outcome.report.message
    assert server_log.mutating() == []
    assert aws("s3").get_bucket_policy(Bucket=APP_BUCKET)["Policy"] == changed
    assert_same_state(before, account_state(aws))


# ----------------------------------------------------------------------------- dry-run


@pytest.fixture(scope="session")
def read_only_session(sandbox_session: Any) -> Any:
    """The wizard's session for ``apply --dry-run``: every client has the read-only guard."""
    from wizard.aws.session import SessionSettings, open_session

    return open_session(
        SessionSettings(sandbox_endpoint=sandbox_session.settings.sandbox_endpoint, read_only=True),
        verify=False,
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_dry_run_sends_no_mutating_request_to_the_server(
    example: Path, sandbox: Any, read_only_session: Any, aws: Any, server_log: RequestLog
) -> None:
    prepare_example(example, aws)
    server_log.clear()
    engine = Engine.connect(read_only_session.caller, REGION)
    answers = load_answers(example)
    plan, _found = engine.plan(answers)

    report = dry_run(plan, read_only_session.caller)

    assert not report.blocked and report.problems == []
    assert [c.operation for c in report.recorded_calls] == [s.call.operation for s in plan.steps]
    assert report.mutating_calls_sent == 0
    seen = server_log.snapshot()
    # At least STS, the simulator, HeadBucket and DescribeTrails (ListBuckets only when the
    # bucket exists).
    assert len(seen) >= 4, "discovery's reads reached the server"
    assert [r for r in seen if r.mutating] == []
    # Not even the operations the plan is made of.
    planned = {s.call.operation for s in plan.steps}
    assert planned.isdisjoint({r.operation for r in seen})


# ---------------------------------------------------------------- failure and rollback


NEW_EVERYTHING_STEPS = [
    "create-key",
    "create-alias",
    "enable-key-rotation",
    "create-bucket",
    "block-public-access",
    "bucket-encryption",
    "bucket-versioning",
    "bucket-policy",
    "create-topic",
    "create-log-group",
    "log-group-retention",
    "create-role",
    "put-role-policy",
    "create-trail",
    "put-event-selectors",
    "put-insight-selectors",
    "start-logging",
]
"""examples/cloudwatch-and-sns.yaml: a new key, bucket, topic, log group and role."""

EXISTING_POLICIES_STEPS = [
    "update-key-policy",
    "update-bucket-policy",
    "update-topic-policy",
    "create-log-group",
    "log-group-retention",
    "create-role",
    "put-role-policy",
    "create-trail",
    "put-event-selectors",
    "start-logging",
]
"""An existing bucket, key and topic whose policies are merged, plus CloudWatch Logs."""

TEAM_KEY = "alias/team-key"


def existing_policies_answers(aws: Any) -> Answers:
    kms = aws("kms")
    key_id = kms.create_key(Description="team key, default policy")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=TEAM_KEY, TargetKeyId=key_id)
    return Answers.model_validate(
        {
            "trail": {"name": "merged-trail"},
            "bucket": {"name": APP_BUCKET, "create": False, "prefix": "audit"},
            "encryption": {"type": "sse-kms", "key": TEAM_KEY},
            "notifications": {"sns_topic": TOPIC_ARN},
            "cloudwatch_logs": {"log_group": "merged-trail-events"},
        }
    )


@pytest.mark.parametrize(
    ("scenario", "step_id"),
    [("new-everything", s) for s in NEW_EVERYTHING_STEPS]
    + [("existing-policies", s) for s in EXISTING_POLICIES_STEPS],
)
def test_a_failure_at_any_step_leaves_the_account_as_it_was(
    scenario: str, step_id: str, engine: Engine, aws: Any, tmp_path: Path
) -> None:
    if scenario == "new-everything":
        answers = load_answers(ROOT / "examples" / "cloudwatch-and-sns.yaml")
        expected_steps = NEW_EVERYTHING_STEPS
    else:
        answers = existing_policies_answers(aws)
        expected_steps = EXISTING_POLICIES_STEPS
    plan, found = engine.plan(answers)
    assert [s.id for s in plan.steps] == expected_steps
    assert not plan.blocked
    before = account_state(aws)
    call = plan.step(step_id).call
    failing = FailOn(engine.caller, call.operation, service=call.service)
    events: list[ApplyEvent] = []

    outcome = Engine(failing, engine.ctx).apply(
        answers, plan, found=found, journal_path=tmp_path / "journal.json", progress=events.append
    )

    report = outcome.report
    assert failing.failures == 1
    assert report.status == "rolled-back", report.message
    assert report.step(step_id).status == "failed"
    assert {r.status for r in report.steps} <= {"failed", "rolled-back", "skipped"}
    after = account_state(aws)
    # Every created resource is gone (keys: pending deletion), every policy is back to its
    # exact previous text.
    assert_same_state(before, after)
    if scenario == "existing-policies":
        assert after["buckets"][APP_BUCKET]["policy"] == before["buckets"][APP_BUCKET]["policy"]
        assert after["topics/us-east-1"][TOPIC_ARN] == before["topics/us-east-1"][TOPIC_ARN]
        key_id = aws("kms").describe_key(KeyId=TEAM_KEY)["KeyMetadata"]["KeyId"]
        assert after["keys/us-east-1"][key_id] == before["keys/us-east-1"][key_id]
    done = [e.step_id for e in events if e.kind == "step-done"]
    undone = [e.step_id for e in events if e.kind == "rollback-step-done" and e.step_id]
    assert undone == list(reversed(done))


def test_existing_policies_plan_changes_all_three_when_it_succeeds(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    """The twin of the rollback test: the same plan really changes the three policies."""
    answers = existing_policies_answers(aws)
    before = account_state(aws)
    plan, found = engine.plan(answers)
    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message
    after = account_state(aws)
    key_id = aws("kms").describe_key(KeyId=TEAM_KEY)["KeyMetadata"]["KeyId"]
    for old, new in [
        (before["buckets"][APP_BUCKET]["policy"], after["buckets"][APP_BUCKET]["policy"]),
        (before["topics/us-east-1"][TOPIC_ARN], after["topics/us-east-1"][TOPIC_ARN]),
        (before["keys/us-east-1"][key_id]["policy"], after["keys/us-east-1"][key_id]["policy"]),
    ]:
        assert old != new
        assert statements(old) == statements(new)[: len(statements(old))]


def test_create_trail_is_retried_while_the_bucket_policy_propagates(
    engine: Engine, aws: Any
) -> None:
    answers = load_answers(ROOT / "examples" / "new-bucket-sse-s3.yaml")
    plan, _found = engine.plan(answers)

    # CreateTrail refused twice, as right after PutBucketPolicy in AWS.
    caller = FailOn(
        engine.caller,
        "CreateTrail",
        service="cloudtrail",
        code="InsufficientS3BucketPolicyException",
        status=400,
        times=2,
        message="Incorrect S3 bucket policy is detected for bucket",
    )
    delays: list[float] = []
    events: list[ApplyEvent] = []

    report = apply_plan(plan, caller, sleep=delays.append, progress=events.append)

    assert report.status == "applied", report.message
    assert delays == [1, 2]
    assert report.step("create-trail").attempts == 3
    retries = [e for e in events if e.kind == "step-retrying"]
    assert [(e.step_id, e.attempt) for e in retries] == [("create-trail", 1), ("create-trail", 2)]
    assert all("InsufficientS3BucketPolicyException" in e.message for e in retries)
    trail = aws("cloudtrail").get_trail(Name=plan.trail_arn)["Trail"]
    assert trail["S3BucketName"] == answers.bucket.name


# --------------------------------------------------------------------------- AWS CLI


@pytest.fixture
def cli_sandbox(tmp_path: Path) -> Iterator[dict[str, str]]:
    """``cloudtrail-wizard sandbox`` in a child process; yields the environment it prints."""
    with _cli_sandbox(tmp_path) as env:
        yield env


@contextlib.contextmanager
def _cli_sandbox(tmp_path: Path, *options: str) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONPATH=str(ROOT),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "screens.cli", "sandbox", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    # A thread reads the lines: waiting on the pipe with select() would miss lines already
    # sitting in the reader's buffer.
    lines: queue.Queue[str | None] = queue.Queue()

    def read(stream: Any) -> None:
        for text in stream:
            lines.put(text)
        lines.put(None)  # end of output: the process exited

    threading.Thread(target=read, args=(process.stdout,), daemon=True).start()
    printed: dict[str, str] = {}
    try:
        while True:
            try:
                line = lines.get(timeout=90)
            except queue.Empty:
                pytest.fail("the sandbox printed nothing for 90 s")
            if line is None:
                pytest.fail(f"the sandbox exited with {process.wait()}")
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                printed[name] = value
            if "Press Ctrl-C" in line:
                break
        yield {**env, **printed}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_standalone_sandbox_delivers_log_files_at_the_interval_asked(tmp_path: Path) -> None:
    import boto3

    with _cli_sandbox(tmp_path, "--log-interval", "1", "--digest-interval", "0") as env:
        session = boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        endpoint = env["AWS_ENDPOINT_URL"]
        trails = session.client("cloudtrail", region_name="us-west-2", endpoint_url=endpoint)
        trail = trails.get_trail(Name="legacy-trail")["Trail"]
        s3 = session.client("s3", region_name="us-west-2", endpoint_url=endpoint)

        def delivered() -> list[str]:
            listing = s3.list_objects_v2(Bucket=trail["S3BucketName"], Prefix="AWSLogs/")
            return [item["Key"] for item in listing.get("Contents", [])]

        deadline = time.monotonic() + 60
        while not delivered():
            assert time.monotonic() < deadline, "no log file delivered within 60 s"
            time.sleep(0.2)
        keys = delivered()
        assert all("/CloudTrail/us-west-2/" in key for key in keys), keys
        assert not any("CloudTrail-Digest" in key for key in keys), "digests were turned off"


def test_standalone_sandbox_refuses_a_bad_interval() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "screens.cli", "sandbox", "--digest-interval=-5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "not between 0 and 86400 seconds" in run.stderr
    assert "Traceback" not in run.stderr


def test_aws_cli_gets_awss_error_for_a_bad_bucket_policy(
    cli_sandbox: dict[str, str], aws_cli: Path
) -> None:
    endpoint = cli_sandbox["AWS_ENDPOINT_URL"]
    assert endpoint.startswith("http://127.0.0.1:")

    def run_aws(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(aws_cli), "--endpoint-url", endpoint, "--region", "us-east-1", *args],
            env=cli_sandbox,
            capture_output=True,
            text=True,
            timeout=120,
        )

    # The seeded app-data bucket has a policy, but not one that lets CloudTrail write.
    refused = run_aws(
        "cloudtrail", "create-trail", "--name", "cli-trail", "--s3-bucket-name", APP_BUCKET
    )
    assert refused.returncode != 0
    assert "InsufficientS3BucketPolicyException" in refused.stderr
    assert f"Incorrect S3 bucket policy is detected for bucket: {APP_BUCKET}" in refused.stderr
    listed = run_aws("cloudtrail", "describe-trails", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    assert "cli-trail" not in [t["Name"] for t in json.loads(listed.stdout)["trailList"]]
