"""Trail health on the seeded sandbox: verdicts, controls, and reads that are refused.

Trails are set up the way a person would: by the wizard's own apply (a trail that should
pass everything) or by the seed (the legacy trail); then the account is changed behind the
trail's back with plain boto3, and the health check must notice, for the right reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from tests.sandbox_fixtures import ACCOUNT, REGION, dummy_session
from wizard.aws.clients import Boto3Caller, ClientFactory
from wizard.engine import Engine
from wizard.health.trails import (
    CONTROLS,
    HealthFacts,
    TrailHealth,
    TrailNotFound,
    check_health,
    judge,
    management_events,
)
from wizard.model.answers import Answers

pytestmark = pytest.mark.aws

GOOD = "good"
GOOD_BUCKET = f"good-trail-logs-{ACCOUNT}"
ACCESS_LOGS = f"good-access-logs-{ACCOUNT}"
GROUP = "aws-cloudtrail-logs-good"
LEGACY = "legacy-trail"
LEGACY_BUCKET = f"demo-legacy-trail-logs-{ACCOUNT}"


def one(caller: Any, name: str) -> TrailHealth:
    """The health of one trail, checked through ``caller``."""
    report = check_health(caller, REGION, trail=name)
    assert [t.name for t in report.trails] == [name]
    return report.trails[0]


def statuses(health: TrailHealth) -> dict[str, str]:
    return {c.control.id: c.status for c in health.controls}


@pytest.fixture
def good_trail(engine: Engine, aws: Any, tmp_path: Any) -> str:
    """A trail applied by the wizard with every option a control asks for, plus server
    access logging on its bucket (the wizard leaves that to the owner)."""
    answers = Answers.model_validate(
        {
            "trail": {"name": GOOD, "region": REGION},
            "bucket": {"name": GOOD_BUCKET, "create": True},
            "encryption": {"type": "sse-kms", "key": "new", "rotation": True},
            "cloudwatch_logs": {"log_group": GROUP},
            # S3 object reads and writes of every bucket but the log bucket (CIS 4.8, 4.9).
            "events": {"data": [{"type": "s3"}]},
        }
    )
    plan, found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message
    s3 = aws("s3")
    s3.create_bucket(Bucket=ACCESS_LOGS)
    s3.put_bucket_policy(
        Bucket=ACCESS_LOGS,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "S3ServerAccessLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{ACCESS_LOGS}/*",
                    }
                ],
            }
        ),
    )
    s3.put_bucket_logging(
        Bucket=GOOD_BUCKET,
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": ACCESS_LOGS, "TargetPrefix": "good/"}
        },
    )
    return GOOD


def test_a_well_configured_trail_is_healthy_and_passes_every_control(
    good_trail: str, engine: Engine
) -> None:
    health = one(engine.caller, good_trail)

    assert health.verdict == "healthy", [p.message for p in health.problems]
    assert statuses(health) == {c.id: "pass" for c in CONTROLS}
    f = health.facts
    assert f.is_logging is True
    assert f.multi_region and f.log_file_validation
    assert f.management_events == "all"
    assert (f.s3_writes, f.s3_reads, f.s3_excluded) == ("all", "all", [GOOD_BUCKET])
    assert health.control("S3.22").reason == (
        "records S3 object-level write events of every bucket except the trail's own log "
        f"buckets ({GOOD_BUCKET}), which would record its own deliveries"
    )
    assert f.bucket_policy_allows is True and f.key_policy_allows is True
    assert f.key_rotation is True and f.key_state == "Enabled"
    assert f.public_access_block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
        True,
    )
    assert f.access_logging_target == f"{ACCESS_LOGS}/good/"
    assert f.cw_group_exists is True and f.cw_role_allows is True
    assert not f.unchecked


def test_the_seeded_legacy_trail_is_a_warning_with_its_failed_controls(
    sandbox: Any, engine: Engine
) -> None:
    health = one(engine.caller, LEGACY)

    assert health.verdict == "warning"
    assert statuses(health) == {
        "CloudTrail.1": "fail",
        "CloudTrail.4": "fail",
        "CloudTrail.2": "fail",
        "KMS.4": "not-applicable",
        "CloudTrail.6": "pass",
        "CloudTrail.7": "fail",
        "S3.22": "fail",
        "S3.23": "fail",
        "Retention": "pass",
        "CloudTrail.5": "fail",
    }
    assert health.control("CloudTrail.1").reason == "records only us-west-2, not every region"
    assert health.control("S3.22").reason == "records no S3 object-level write events"
    assert health.control("CloudTrail.2").reason.startswith("log files use SSE-S3")
    assert health.control("CloudTrail.5").reason == "events are not sent to CloudWatch Logs"
    codes = [p.code for p in health.problems]
    assert "bucket-public-access-block" in codes
    assert all(p.severity == "warning" for p in health.problems)
    fixes = {p.code: p.message for p in health.problems}
    assert "--enable-log-file-validation" in fixes["control-CloudTrail.4"]
    assert "CIS 3.2 (v1.4.0, v3.0.0), 4.2 (v7.0)" in fixes["control-CloudTrail.4"]


def test_every_trail_is_checked_when_none_is_named(good_trail: str, engine: Engine) -> None:
    report = check_health(engine.caller, REGION)

    assert [(t.name, t.facts.home_region) for t in report.trails] == [
        (GOOD, REGION),
        (LEGACY, "us-west-2"),
    ]
    assert report.verdict == "warning"
    document = report.to_json()
    assert [t["verdict"] for t in document["trails"]] == ["healthy", "warning"]
    json.dumps(document)  # serialisable as is


def test_an_unknown_trail_name_says_which_trails_exist(sandbox: Any, engine: Engine) -> None:
    with pytest.raises(TrailNotFound, match=r"No trail named 'nope'.*trails: legacy-trail"):
        check_health(engine.caller, REGION, trail="nope")


# ------------------------------------------------------------------ each control, broken


def _single_region(aws: Any) -> None:
    aws("cloudtrail").update_trail(Name=GOOD, IsMultiRegionTrail=False)


def _validation_off(aws: Any) -> None:
    aws("cloudtrail").update_trail(Name=GOOD, EnableLogFileValidation=False)


def _rotation_off(aws: Any) -> None:
    key = aws("cloudtrail").get_trail(Name=GOOD)["Trail"]["KmsKeyId"]
    aws("kms").disable_key_rotation(KeyId=key.rsplit("/", 1)[-1])


def _public_bucket(aws: Any) -> None:
    s3 = aws("s3")
    s3.delete_public_access_block(Bucket=GOOD_BUCKET)
    s3.put_bucket_acl(Bucket=GOOD_BUCKET, ACL="public-read")


def _access_logging_off(aws: Any) -> None:
    aws("s3").put_bucket_logging(Bucket=GOOD_BUCKET, BucketLoggingStatus={})


def _management_write_only(aws: Any) -> None:
    aws("cloudtrail").put_event_selectors(
        TrailName=GOOD,
        AdvancedEventSelectors=[
            {
                "Name": "writes",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                ],
            },
            {
                "Name": "every bucket",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                ],
            },
        ],
    )


def _s3_writes_of_one_bucket(aws: Any) -> None:
    aws("cloudtrail").put_event_selectors(
        TrailName=GOOD,
        AdvancedEventSelectors=[
            {
                "Name": "Management events selector",
                "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
            },
            {
                "Name": "reads of every bucket",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "readOnly", "Equals": ["true"]},
                ],
            },
            {
                "Name": "writes of one bucket",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                    {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::app-data/"]},
                ],
            },
        ],
    )


def _s3_reads_not_of_another_bucket(aws: Any) -> None:
    aws("cloudtrail").put_event_selectors(
        TrailName=GOOD,
        EventSelectors=[
            {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []},
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
            },
        ],
    )


BROKEN = [
    pytest.param(_single_region, "CloudTrail.1", "records only us-east-1", id="single-region"),
    pytest.param(
        _management_write_only, "CloudTrail.1", "records only write management", id="write-only"
    ),
    pytest.param(_validation_off, "CloudTrail.4", "log file validation is off", id="validation"),
    pytest.param(_rotation_off, "KMS.4", "automatic key rotation is off", id="rotation"),
    pytest.param(
        _public_bucket,
        "CloudTrail.6",
        "the bucket is public: its ACL grants READ to everyone (AllUsers)",
        id="public-bucket",
    ),
    pytest.param(
        _access_logging_off, "CloudTrail.7", "server access logging is off", id="access-logging"
    ),
    pytest.param(
        _s3_writes_of_one_bucket,
        "S3.22",
        "records S3 object-level write events of some buckets or folders only",
        id="s3-writes-of-one-bucket",
    ),
    pytest.param(
        _s3_reads_not_of_another_bucket,
        "S3.23",
        "records no S3 object-level read events",
        id="basic-s3-writes-only",
    ),
]


@pytest.mark.parametrize(("breaks", "control", "reason"), BROKEN)
def test_each_control_fails_for_its_own_reason(
    good_trail: str, engine: Engine, aws: Any, breaks: Any, control: str, reason: str
) -> None:
    breaks(aws)

    health = one(engine.caller, good_trail)

    failed = {c.control.id: c.reason for c in health.controls if c.status == "fail"}
    assert list(failed) == [control]
    assert failed[control].startswith(reason), failed[control]
    assert health.verdict == "warning"
    assert [p.code for p in health.problems if p.code.startswith("control-")] == [
        f"control-{control}"
    ]


def test_sse_s3_and_no_cloudwatch_logs_fail_their_controls(
    sandbox: Any, engine: Engine, aws: Any
) -> None:
    """A trail the console's defaults would make: SSE-S3, no CloudWatch Logs."""
    central = f"demo-central-logs-{ACCOUNT}"
    aws("cloudtrail").create_trail(
        Name="plain", S3BucketName=central, IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    aws("cloudtrail").start_logging(Name="plain")

    health = one(engine.caller, "plain")

    assert health.control("CloudTrail.2").status == "fail"
    assert health.control("CloudTrail.2").reason == (
        "log files use SSE-S3 (S3-managed keys), not a KMS key"
    )
    assert health.control("KMS.4").status == "not-applicable"
    assert health.control("CloudTrail.5").status == "fail"
    assert health.control("CloudTrail.1").status == "pass"
    assert health.facts.bucket_region == "eu-west-1"
    assert health.facts.bucket_policy_allows is True


# ------------------------------------------------------------------ failing trails


def test_a_bucket_policy_broken_after_creation_makes_the_trail_fail(
    sandbox: Any, engine: Engine, aws: Any
) -> None:
    s3 = aws("s3", "us-west-2")
    s3.put_bucket_policy(
        Bucket=LEGACY_BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OnlyTheAclCheck",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:GetBucketAcl",
                        "Resource": f"arn:aws:s3:::{LEGACY_BUCKET}",
                    }
                ],
            }
        ),
    )

    health = one(engine.caller, LEGACY)

    assert health.verdict == "failing"
    problem = next(p for p in health.problems if p.code == "bucket-policy")
    assert problem.severity == "failing"
    assert "bucket policy no longer allows CloudTrail" in problem.message
    assert "write log files (s3:PutObject)" in problem.message
    assert health.facts.bucket_policy_allows is False


def test_a_refused_delivery_is_failing_with_cloudtrails_own_error(
    sandbox: Any, engine: Engine, aws: Any
) -> None:
    """The sandbox delivers like CloudTrail: with the write refused, GetTrailStatus reports
    LatestDeliveryError, and the health check passes it on with a fix."""
    aws("s3", "us-west-2").delete_bucket_policy(Bucket=LEGACY_BUCKET)
    sandbox.deliver_now()

    health = one(engine.caller, LEGACY)

    assert health.facts.latest_delivery_error == "AccessDenied"
    problem = next(p for p in health.problems if p.code == "delivery-error")
    assert problem.severity == "failing"
    assert problem.message.startswith(
        f"CloudTrail's last delivery to s3://{LEGACY_BUCKET} failed with AccessDenied."
    )
    assert "restore CloudTrail's statements" in problem.message


def test_a_stopped_trail_is_failing_and_says_how_to_start_it(
    sandbox: Any, engine: Engine, aws: Any
) -> None:
    aws("cloudtrail", "us-west-2").stop_logging(Name=LEGACY)

    health = one(engine.caller, LEGACY)

    assert health.verdict == "failing"
    assert health.problems[0].code == "not-logging"
    assert "aws cloudtrail start-logging --name arn:aws:cloudtrail:us-west-2:" in (
        health.problems[0].message
    )
    assert health.control("CloudTrail.1").status == "fail"


def test_a_disabled_key_and_a_broken_role_trust_make_the_trail_fail(
    good_trail: str, engine: Engine, aws: Any
) -> None:
    trail = aws("cloudtrail").get_trail(Name=GOOD)["Trail"]
    aws("kms").disable_key(KeyId=trail["KmsKeyId"].rsplit("/", 1)[-1])
    role = trail["CloudWatchLogsRoleArn"].rsplit("/", 1)[-1]
    aws("iam").update_assume_role_policy(
        RoleName=role,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )

    health = one(engine.caller, GOOD)

    assert health.verdict == "failing"
    # (A delivery attempt by the sandbox in the meantime would add "delivery-error" too.)
    codes = [p.code for p in health.problems if p.severity == "failing"]
    assert {"key-state", "cloudwatch-role"} <= set(codes), codes
    role_problem = next(p for p in health.problems if p.code == "cloudwatch-role")
    assert "trust policy" in role_problem.message
    assert "assume the delivery role (sts:AssumeRole)" in role_problem.message


def test_the_bucket_being_gone_is_failing(sandbox: Any, engine: Engine, aws: Any) -> None:
    s3 = aws("s3", "us-west-2")
    s3.delete_bucket(Bucket=LEGACY_BUCKET)

    health = one(engine.caller, LEGACY)

    assert health.verdict == "failing"
    assert "bucket-missing" in [p.code for p in health.problems if p.severity == "failing"]
    assert health.control("CloudTrail.7").status == "not-applicable"
    # The bucket's reads sent beside HeadBucket failed too; they are not "could not check".
    assert health.facts.unchecked == []


# ------------------------------------------------------------------ refused reads


def _denying(operation: str) -> Any:
    """A botocore ``before-call`` hook answering ``operation`` with 403 AccessDenied.

    This is the mechanism botocore's Stubber uses, for this one operation only: every other
    call of the client goes to the sandbox as usual.
    """

    def deny(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {
            "Error": {
                "Code": "AccessDenied",
                "Message": f"User is not authorized to perform {operation}",
            },
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return AWSResponse("https://s3.example", 403, HTTPHeaders(), None), error

    return deny


class DenyingFactory(ClientFactory):
    """Clients on the sandbox, with ``s3:GetBucketLogging`` refused (AccessDenied)."""

    def client(self, service: str, region: str) -> Any:
        client = super().client(service, region)
        if service == "s3":
            client.meta.events.register(
                "before-call.s3.GetBucketLogging",
                _denying("s3:GetBucketLogging"),
                unique_id="deny-get-bucket-logging",
            )
        return client


def test_a_refused_read_is_could_not_check_naming_the_iam_action(
    sandbox: Any, engine: Engine
) -> None:
    caller = Boto3Caller(
        DenyingFactory(dummy_session(), endpoint_url=sandbox.endpoint_url, max_attempts=1)
    )

    health = one(caller, LEGACY)

    control = health.control("CloudTrail.7")
    assert control.status == "unknown"
    assert control.reason.startswith("could not check: s3:GetBucketLogging was refused")
    problem = next(p for p in health.problems if p.code == "could-not-check")
    assert problem.message.startswith(
        "Could not check bucket access logging: the caller may not call s3:GetBucketLogging."
    )
    # Everything else was still checked.
    assert health.control("CloudTrail.6").status == "pass"
    assert health.facts.bucket_policy_allows is True
    assert health.verdict == "warning"


# ------------------------------------------------------------------ pure parts


def test_management_events_from_basic_advanced_and_default_selectors() -> None:
    assert management_events([], []) == ("all", [])
    assert management_events(
        [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}], []
    ) == ("read", [])
    assert management_events(
        [
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
            }
        ],
        [],
    ) == ("all", ["kms.amazonaws.com"])
    data_only = [
        {
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            ]
        }
    ]
    assert management_events([], data_only) == ("none", [])


def test_a_stale_cloudwatch_delivery_fails_cloudtrail_5() -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)
    facts = HealthFacts(
        name="t",
        arn=f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/t",
        home_region=REGION,
        owner_account=ACCOUNT,
        is_logging=True,
        log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g:*",
        latest_cloudwatch_logs_delivery_time=(now - timedelta(days=2)).isoformat(),
        latest_delivery_time=(now - timedelta(days=3)).isoformat(),
    )

    health = judge(facts, now=now)

    assert health.control("CloudTrail.5").status == "fail"
    assert "since 2026-01-08 00:00 UTC" in health.control("CloudTrail.5").reason
    assert "delivery-stale" in [p.code for p in health.problems]


# ------------------------------------------------------------------ the status command


@pytest.fixture
def cli_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The command line pointed at the fixture's sandbox (not --sandbox: that would start a
    second emulator sharing moto's process-wide state)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    return sandbox


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from screens.cli.main import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_exits_0_for_warnings_and_prints_controls(
    cli_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "status")

    assert code == 0, err
    assert out.startswith("legacy-trail (us-west-2): WARNING\n")
    assert "    ✗ CloudTrail.4 / CIS 3.2 (v1.4.0, v3.0.0), 4.2 (v7.0)  Log file validation" in out
    assert "    – KMS.4 / CIS 3.8 (v1.4.0), 3.6 (v3.0.0), 4.6 (v7.0)" in out
    assert "    Bucket policy allows CloudTrail  yes\n" in out
    assert out.endswith("1 trail: 0 healthy, 1 with warnings, 0 failing.\n")


def test_status_exits_1_when_a_trail_is_failing(
    cli_env: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    aws("cloudtrail", "us-west-2").stop_logging(Name=LEGACY)

    code, out, err = run_cli(capsys, "status", LEGACY, "--output", "json")

    assert code == 1, err
    document = json.loads(out)
    assert document["verdict"] == "failing"
    (trail,) = document["trails"]
    assert trail["problems"][0]["code"] == "not-logging"
    assert [c["id"] for c in trail["controls"]] == [c.id for c in CONTROLS]
    assert trail["facts"]["is_logging"] is False


def test_status_exits_2_for_an_unknown_trail(
    cli_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "status", "no-such-trail")

    assert code == 2
    assert out == ""
    assert err.startswith("error: No trail named 'no-such-trail' in this account")
    assert "Traceback" not in err


def test_status_of_an_account_without_trails(
    cli_env: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    aws("cloudtrail", "us-west-2").delete_trail(Name=LEGACY)

    code, out, err = run_cli(capsys, "status")

    assert code == 0, err
    assert out.startswith("No trails in this account")
