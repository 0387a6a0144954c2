"""Log file integrity validation, on log files and digests the sandbox really delivered.

The trail logs into the seeded sandbox, ``Sandbox.deliver_now()`` delivers one period at a
time, and the files are then tampered with the way an intruder would (plain boto3): a log
file overwritten, a log file deleted, a digest deleted or edited. The validator reads them
back through the wizard's own caller; the command is run through ``main()`` with the
environment pointing the SDK at the sandbox.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from typing import Any

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from wizard.health.integrity import FileResult, IntegrityReport, validate_trail
from wizard.ports import AwsError
from wizard.sandbox.delivery import enabled_regions

ACCT = "123456789012"
BUCKET = "acme-audit-logs"
CLOUDTRAIL = "cloudtrail.amazonaws.com"

pytestmark = pytest.mark.aws


# ---- helpers -------------------------------------------------------------------------


def trail_arn(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:cloudtrail:{region}:{ACCT}:trail/{name}"


def setup_trail(aws: Any, name: str = "audit", *, validation: bool = True, **options: Any) -> str:
    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET)
    arn = trail_arn(name)
    condition = {"aws:SourceArn": arn}
    s3.put_bucket_policy(
        Bucket=BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": CLOUDTRAIL},
                        "Action": "s3:GetBucketAcl",
                        "Resource": f"arn:aws:s3:::{BUCKET}",
                        "Condition": {"StringEquals": condition},
                    },
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": CLOUDTRAIL},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCT}/*",
                        "Condition": {
                            "StringEquals": {
                                "s3:x-amz-acl": "bucket-owner-full-control",
                                **condition,
                            }
                        },
                    },
                ],
            }
        ),
    )
    cloudtrail = aws("cloudtrail")
    cloudtrail.create_trail(
        Name=name, S3BucketName=BUCKET, EnableLogFileValidation=validation, **options
    )
    cloudtrail.start_logging(Name=name)
    return arn


def deliver_periods(sandbox: Any, aws: Any, periods: int) -> None:
    """``periods`` digest periods, each with an API call and so a log file."""
    for index in range(periods):
        aws("sns").create_topic(Name=f"period-{index}")
        sandbox.deliver_now()


def digests(aws: Any) -> list[tuple[str, dict[str, Any]]]:
    """(key, document) of every digest, oldest first."""
    s3 = aws("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    found = []
    for key in sorted(o["Key"] for o in listed if "/CloudTrail-Digest/" in o["Key"]):
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        found.append((key, json.loads(gzip.decompress(body))))
    return found


def logs_of(document: Mapping[str, Any]) -> list[str]:
    return [log["s3Object"] for log in document["logFiles"]]


def validate(sandbox_session: Any, trail: str = "audit", **options: Any) -> IntegrityReport:
    return validate_trail(
        sandbox_session.caller, trail, region=options.pop("region", "us-east-1"), **options
    )


def invalid(report: IntegrityReport) -> set[tuple[str, str, str]]:
    return {(f.kind, f.status, f.key) for f in report.invalid}


def overwrite(
    aws: Any, key: str, document: Any, *, metadata: Mapping[str, str] | None = None
) -> None:
    body = gzip.compress(json.dumps(document).encode())
    params: dict[str, Any] = {"Bucket": BUCKET, "Key": key, "Body": body}
    if metadata is not None:
        params["Metadata"] = dict(metadata)
    aws("s3").put_object(**params)


# ---- validate_trail ------------------------------------------------------------------


def test_intact_logs_are_valid(sandbox: Any, aws: Any, sandbox_session: Any) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 3)
    seen: list[FileResult] = []

    report = validate(sandbox_session, progress=seen.append)

    delivered = digests(aws)
    assert len(delivered) == 3
    assert report.problem is None, report.problem
    assert report.ok
    assert report.invalid == []
    assert report.counts.valid_digests == len(delivered)
    assert report.counts.valid_logs == sum(len(logs_of(d)) for _, d in delivered) >= 3
    assert report.trail_arn == trail_arn("audit")
    assert report.bucket == BUCKET and report.regions == ["us-east-1"]
    assert report.covered_start is not None and report.covered_end is not None
    assert report.covered_start <= report.covered_end
    assert seen == report.files
    assert seen[0].kind == "digest" and seen[0].key == delivered[-1][0]  # newest first


def test_a_modified_log_file_is_detected(sandbox: Any, aws: Any, sandbox_session: Any) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 3)
    newest = digests(aws)[-1][1]
    target = logs_of(newest)[0]
    overwrite(aws, target, {"Records": [{"eventName": "NothingToSeeHere"}]})

    report = validate(sandbox_session)

    assert not report.ok
    assert invalid(report) == {("log", "modified", target)}
    (problem,) = report.invalid
    assert "SHA-256" in problem.detail
    assert report.counts.valid_digests == 3


def test_a_deleted_log_file_is_detected(sandbox: Any, aws: Any, sandbox_session: Any) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 3)
    oldest = digests(aws)[0][1]
    target = logs_of(oldest)[0]
    aws("s3").delete_object(Bucket=BUCKET, Key=target)

    report = validate(sandbox_session)

    assert not report.ok
    assert invalid(report) == {("log", "deleted", target)}


def test_a_deleted_digest_is_detected_and_the_chain_continues(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 3)
    (first, _), (middle, middle_doc), (last, _) = digests(aws)
    aws("s3").delete_object(Bucket=BUCKET, Key=middle)

    report = validate(sandbox_session)

    assert not report.ok
    assert invalid(report) == {("digest", "missing", middle)}
    (missing,) = report.invalid
    assert last.rsplit("/", 1)[-1] in missing.detail
    valid_digests = {f.key for f in report.files if f.kind == "digest" and f.valid}
    assert valid_digests == {first, last}
    checked_logs = {f.key for f in report.files if f.kind == "log"}
    assert not checked_logs & set(logs_of(middle_doc))


def test_an_edited_digest_fails_its_signature(sandbox: Any, aws: Any, sandbox_session: Any) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 2)
    key, document = digests(aws)[-1]
    metadata = aws("s3").head_object(Bucket=BUCKET, Key=key)["Metadata"]
    document["logFiles"] = []  # hide the log file from validation
    overwrite(aws, key, document, metadata=metadata)

    report = validate(sandbox_session)

    assert ("digest", "invalid-signature", key) in invalid(report)


def test_a_replaced_digest_breaks_the_link_from_the_next_one(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 3)
    (_, _), (middle, document), (_, _) = digests(aws)
    metadata = aws("s3").head_object(Bucket=BUCKET, Key=middle)["Metadata"]
    document["logFiles"] = []
    overwrite(aws, middle, document, metadata=metadata)

    report = validate(sandbox_session)

    assert invalid(report) == {("digest", "modified", middle)}


def test_a_digest_signed_with_an_unknown_key_is_reported(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 1)
    key, document = digests(aws)[-1]
    metadata = aws("s3").head_object(Bucket=BUCKET, Key=key)["Metadata"]
    document["digestPublicKeyFingerprint"] = "0" * 32
    overwrite(aws, key, document, metadata=metadata)

    report = validate(sandbox_session)

    assert invalid(report) == {("digest", "unknown-key", key)}
    assert "ListPublicKeys" in report.invalid[0].detail


def test_trail_without_validation_says_how_to_turn_it_on(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    setup_trail(aws, validation=False)
    deliver_periods(sandbox, aws, 1)

    report = validate(sandbox_session)

    assert not report.ok
    assert report.problem_kind == "validation-off"
    assert report.problem is not None
    assert "--enable-log-file-validation" in report.problem and "audit" in report.problem


def test_no_digests_yet(sandbox: Any, aws: Any, sandbox_session: Any) -> None:
    setup_trail(aws)
    report = validate(sandbox_session)
    assert report.problem_kind == "no-digests"
    assert not report.ok


def test_unknown_trail(sandbox: Any, sandbox_session: Any) -> None:
    report = validate(sandbox_session, "no-such-trail")
    assert report.problem_kind == "trail-not-found"
    assert report.problem is not None and "no-such-trail" in report.problem


def test_trail_is_found_from_another_region_by_name_and_arn(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    arn = setup_trail(aws)
    deliver_periods(sandbox, aws, 1)
    assert validate(sandbox_session, region="eu-west-1").ok
    assert validate(sandbox_session, arn, region="us-west-2").ok


def test_multi_region_trail_validates_every_region(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    setup_trail(aws, IsMultiRegionTrail=True)
    aws("kms", "eu-west-1").list_aliases()
    deliver_periods(sandbox, aws, 2)

    report = validate(sandbox_session)

    assert report.ok, report.invalid
    # As in AWS, every region the trail covers has its digest chain, activity or not.
    assert report.regions == sorted(enabled_regions("aws"))
    assert {f.region for f in report.files if f.kind == "log"} == {"eu-west-1", "us-east-1"}


def test_start_time_limits_the_digests_read(sandbox: Any, aws: Any, sandbox_session: Any) -> None:
    from datetime import datetime

    setup_trail(aws)
    deliver_periods(sandbox, aws, 3)
    middle_end = datetime.fromisoformat(digests(aws)[1][1]["digestEndTime"])

    report = validate(sandbox_session, start=middle_end)

    assert report.ok
    assert report.counts.valid_digests == 1
    assert report.requested_start == middle_end


class _DenyListing:
    """The real caller, except that listing the bucket is denied."""

    def __init__(self, caller: Any) -> None:
        self.caller = caller

    def call(self, service: str, region: str, operation: str, params: Any = None) -> Any:
        return self.caller.call(service, region, operation, params)

    def paginate(
        self, service: str, region: str, operation: str, result_key: str, params: Any = None
    ) -> Any:
        if operation == "ListObjectsV2":
            raise AwsError(
                service="s3",
                operation=operation,
                code="AccessDenied",
                message="Access Denied",
                status=403,
            )
        return self.caller.paginate(service, region, operation, result_key, params)


def test_access_denied_to_the_bucket_names_the_action(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 1)
    report = validate_trail(_DenyListing(sandbox_session.caller), "audit", region="us-east-1")
    assert report.problem_kind == "access-denied"
    assert report.problem is not None and "s3:ListBucket" in report.problem


# ---- the command ---------------------------------------------------------------------


@pytest.fixture
def cli_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The environment points the SDK (and so the command) at the sandbox."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    return sandbox


def test_command_passes_intact_logs(
    cli_env: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_trail(aws)
    deliver_periods(cli_env, aws, 3)

    code = main(["validate", "audit", "--verbose"])

    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert "Validating log files for trail audit" in out
    assert "3/3 digest files valid" in out
    assert "INVALID" not in out
    assert out.count("\tvalid") >= 6  # verbose: every digest and log file


def test_command_names_each_problem_and_exits_1(
    cli_env: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_trail(aws)
    deliver_periods(cli_env, aws, 4)
    (_, first), (_, _), (gone, _), (_, last) = digests(aws)
    modified, deleted = logs_of(last)[0], logs_of(first)[0]
    overwrite(aws, modified, {"Records": []})
    s3 = aws("s3")
    s3.delete_object(Bucket=BUCKET, Key=deleted)
    s3.delete_object(Bucket=BUCKET, Key=gone)

    code = main(["validate", "audit"])

    out = capsys.readouterr().out
    assert code == EXIT_FAILED, out
    assert "3/4 digest files valid, 1/4 digest files INVALID" in out
    for key, status in ((modified, "MODIFIED"), (deleted, "DELETED"), (gone, "MISSING")):
        assert f"s3://{BUCKET}/{key}\n  {status}: " in out


def test_command_json_output(cli_env: Any, aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    setup_trail(aws)
    deliver_periods(cli_env, aws, 2)
    aws("s3").delete_object(Bucket=BUCKET, Key=logs_of(digests(aws)[0][1])[0])

    code = main(["validate", "audit", "--output", "json"])

    payload = json.loads(capsys.readouterr().out)
    assert code == EXIT_FAILED
    assert payload["ok"] is False
    assert payload["counts"] == {
        "valid_digests": 2,
        "invalid_digests": 0,
        "valid_backfill_digests": 0,
        "invalid_backfill_digests": 0,
        "valid_logs": 1,
        "invalid_logs": 1,
    }
    assert [f["status"] for f in payload["files"] if f["status"] != "valid"] == ["deleted"]


def test_command_without_validation_explains_and_exits_1(
    cli_env: Any, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_trail(aws, validation=False)
    code = main(["validate", "audit"])
    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert "--enable-log-file-validation" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "no-such-trail"], "No trail named no-such-trail"),
        (["validate", "audit", "--start-time", "yesterday-ish"], "is not a time"),
        (["validate", "audit", "--start-time", "1h", "--end-time", "2h"], "is after"),
    ],
)
def test_command_bad_input_exits_2(
    cli_env: Any, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    assert message in err
    assert "Traceback" not in err


def test_organization_trail_validates_a_member_account(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    import boto3

    org = aws("organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    org.enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
    member = org.create_account(AccountName="member", Email="member@example.com")[
        "CreateAccountStatus"
    ]["AccountId"]
    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(
        Bucket=BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": CLOUDTRAIL},
                        "Action": ["s3:GetBucketAcl", "s3:PutObject"],
                        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                    }
                ],
            }
        ),
    )
    cloudtrail = aws("cloudtrail")
    cloudtrail.create_trail(
        Name="org-audit",
        S3BucketName=BUCKET,
        IsOrganizationTrail=True,
        EnableLogFileValidation=True,
    )
    cloudtrail.start_logging(Name="org-audit")
    credentials = aws("sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
        RoleSessionName="member-admin",
    )["Credentials"]
    boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    ).client("sns", endpoint_url=sandbox.endpoint_url).list_topics()
    sandbox.deliver_now()

    report = validate(sandbox_session, "org-audit", account_id=member)

    assert report.ok, (report.problem, report.invalid)
    assert report.account_id == member
    assert report.counts.valid_logs == 1
    assert all(f.key.startswith(f"AWSLogs/{org_id}/{member}/") for f in report.files)
