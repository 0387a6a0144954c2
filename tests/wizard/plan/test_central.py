"""Central logging: the log bucket and key belong to a log-archive account (999999999999).

Against the seeded sandbox over HTTP with dummy credentials; the log-archive account is
reached with STS AssumeRole (moto maps the temporary credentials to the role's account).
With that account's credentials the wizard merges this account's statements into the
central policies (and a rollback restores their exact text); without them it blocks with a
hand-off pack whose statements, once the owner applies them, make ``check-central`` pass
and ``apply`` succeed.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from tests.callers import FailOn
from tests.sandbox_fixtures import ACCOUNT, REGION, RequestLog
from wizard.aws.accounts import assume_role_session
from wizard.aws.clients import Boto3Caller
from wizard.engine import Engine
from wizard.model.answers import Answers

LOG_ACCOUNT = "999999999999"
LOG_ROLE = f"arn:aws:iam::{LOG_ACCOUNT}:role/LogArchiveAdmin"
BUCKET = f"org-central-logs-{LOG_ACCOUNT}"
READER = f"arn:aws:iam::{LOG_ACCOUNT}:role/LogReader"
TRAIL = "central-audit"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
CLOUDTRAIL = "cloudtrail.amazonaws.com"


def _bucket_policy() -> str:
    """The log-archive owner's policy: other accounts' CloudTrail grants and a TLS deny.

    Written by hand, with its own layout, so byte-for-byte preservation means something.
    """
    document = {
        "Version": "2012-10-17",
        "Id": "org-log-archive",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{BUCKET}",
                "Condition": {
                    "StringEquals": {
                        "aws:SourceArn": "arn:aws:cloudtrail:us-east-1:555555555555:trail/org"
                    }
                },
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/555555555555/*",
                "Condition": {
                    "StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceArn": "arn:aws:cloudtrail:us-east-1:555555555555:trail/org",
                    }
                },
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
    return json.dumps(document, indent=4) + "\n"


def _key_policy() -> str:
    document = {
        "Version": "2012-10-17",
        "Id": "log-archive-key",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{LOG_ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    return json.dumps(document, separators=(", ", ": "))


class LogArchive:
    """The log-archive account, as its owner: plain boto3 clients with its credentials."""

    def __init__(self, sandbox: Any, client_session: Any, aws: Any) -> None:
        self.credentials = aws("sts").assume_role(RoleArn=LOG_ROLE, RoleSessionName="owner")[
            "Credentials"
        ]
        self.sandbox = sandbox
        self.session = client_session
        self.bucket_policy = _bucket_policy()
        self.key_policy = _key_policy()
        self.client("s3").create_bucket(Bucket=BUCKET)
        self.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=self.bucket_policy)
        self.key_arn = self.client("kms").create_key(Policy=self.key_policy)["KeyMetadata"]["Arn"]
        # The reader the hand-off grants decryption: KMS refuses a key policy naming a role
        # that does not exist in the key's account.
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{LOG_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        self.client("iam").create_role(
            RoleName=READER.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(trust)
        )

    def client(self, service: str, region: str = REGION) -> Any:
        return self.session.client(
            service,
            region_name=region,
            endpoint_url=self.sandbox.endpoint_url,
            aws_access_key_id=self.credentials["AccessKeyId"],
            aws_secret_access_key=self.credentials["SecretAccessKey"],
            aws_session_token=self.credentials["SessionToken"],
        )

    def live_bucket_policy(self) -> str:
        return str(self.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"])

    def live_key_policy(self) -> str:
        return str(
            self.client("kms").get_key_policy(KeyId=self.key_arn, PolicyName="default")["Policy"]
        )


@pytest.fixture
def archive(sandbox: Any, _client_session: Any, aws: Any) -> LogArchive:
    return LogArchive(sandbox, _client_session, aws)


def answers_for(archive: LogArchive) -> Answers:
    return Answers.model_validate(
        {
            "trail": {"name": TRAIL},
            "bucket": {"name": BUCKET, "create": False, "account": LOG_ACCOUNT},
            "encryption": {"type": "sse-kms", "key": archive.key_arn},
        }
    )


def statements(policy: str) -> list[dict[str, Any]]:
    found = json.loads(policy)["Statement"]
    return found if isinstance(found, list) else [found]


def assert_kept_byte_for_byte(before: str, after: str) -> None:
    """Every byte of ``before`` up to its last statement, and its ending, are in ``after``."""
    close = before.rindex("]")
    assert after.startswith(before[:close].rstrip()), "an existing statement changed"
    assert after.endswith(before[close:]), "the end of the policy changed"
    assert statements(after)[: len(statements(before))] == statements(before)


def grant_for_this_account(policy: str, action: str, resource: str | None = None) -> dict[str, Any]:
    for statement in statements(policy):
        if (
            statement.get("Effect") == "Allow"
            and statement.get("Principal") == {"Service": CLOUDTRAIL}
            and statement.get("Action") == action
            and (resource is None or statement.get("Resource") == resource)
            and statement.get("Condition", {}).get("StringEquals", {}).get("aws:SourceArn")
            == TRAIL_ARN
        ):
            return statement
    raise AssertionError(f"no {action} grant for {TRAIL_ARN} in {policy}")


@pytest.fixture
def log_session(sandbox: Any, sandbox_session: Any) -> Any:
    """The wizard's own session in the log-archive account (AssumeRole from the main one)."""
    return assume_role_session(sandbox_session, LOG_ROLE)


# ------------------------------------------------------------ with log-account access


def test_with_access_the_central_policies_gain_this_accounts_grant_and_keep_the_rest(
    engine: Engine, archive: LogArchive, log_session: Any, aws: Any
) -> None:
    answers = answers_for(archive)
    central = Engine(engine.caller, engine.ctx, callers={LOG_ACCOUNT: log_session.caller})

    plan, found = central.plan(answers)

    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    assert "central-log-account" in {f.code for f in plan.findings}
    by_id = {s.id: s for s in plan.steps}
    assert by_id["update-bucket-policy"].call.account == LOG_ACCOUNT
    assert by_id["update-key-policy"].call.account == LOG_ACCOUNT
    assert [u.account for u in by_id["update-bucket-policy"].undo] == [LOG_ACCOUNT]
    assert by_id["create-trail"].call.account is None

    outcome = central.apply(answers, plan, found=found)

    assert outcome.report.status == "applied", outcome.report.message
    assert outcome.verification is not None and outcome.verification.ok, outcome.verification
    bucket_policy = archive.live_bucket_policy()
    assert_kept_byte_for_byte(archive.bucket_policy, bucket_policy)
    write = grant_for_this_account(
        bucket_policy, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/*"
    )
    assert write["Sid"] == f"AWSCloudTrailWrite{ACCOUNT}"
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    # The other account's write statement was not edited to add this account.
    assert (
        statements(bucket_policy)[1]["Resource"] == f"arn:aws:s3:::{BUCKET}/AWSLogs/555555555555/*"
    )
    key_policy = archive.live_key_policy()
    assert_kept_byte_for_byte(archive.key_policy, key_policy)
    encrypt = grant_for_this_account(key_policy, "kms:GenerateDataKey*")
    assert encrypt["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
    }
    grant_for_this_account(key_policy, "kms:DescribeKey")
    # The central policies were written with the log-archive account's credentials only.
    assert log_session.caller.stats[("s3", "PutBucketPolicy")] == 1
    assert log_session.caller.stats[("kms", "PutKeyPolicy")] == 1
    assert cast(Boto3Caller, engine.caller).stats[("s3", "PutBucketPolicy")] == 0
    trail = aws("cloudtrail").get_trail(Name=TRAIL_ARN)["Trail"]
    assert (trail["S3BucketName"], trail["KmsKeyId"]) == (BUCKET, archive.key_arn)
    assert aws("cloudtrail").get_trail_status(Name=TRAIL_ARN)["IsLogging"] is True

    # A second plan finds nothing left to do in the central account.
    again, _ = central.plan(answers.model_copy(update={"trail": answers.trail}))
    assert not any(s.call.account == LOG_ACCOUNT for s in again.steps)


def test_a_failed_create_trail_restores_the_central_policies_exactly(
    engine: Engine, archive: LogArchive, log_session: Any, aws: Any
) -> None:
    answers = answers_for(archive)
    callers = {LOG_ACCOUNT: log_session.caller}
    plan, found = Engine(engine.caller, engine.ctx, callers=callers).plan(answers)
    failing = FailOn(engine.caller, "CreateTrail")

    outcome = Engine(failing, engine.ctx, callers=callers).apply(answers, plan, found=found)

    report = outcome.report
    assert failing.failures == 1
    assert report.status == "rolled-back", report.message
    assert report.step("create-trail").status == "failed"
    assert report.step("update-bucket-policy").status == "rolled-back"
    assert report.step("update-key-policy").status == "rolled-back"
    assert archive.live_bucket_policy() == archive.bucket_policy
    assert archive.live_key_policy() == archive.key_policy
    # Written and restored, both times as the log-archive account.
    assert log_session.caller.stats[("s3", "PutBucketPolicy")] == 2
    assert log_session.caller.stats[("kms", "PutKeyPolicy")] == 2
    assert aws("cloudtrail").describe_trails(trailNameList=[TRAIL])["trailList"] == []


def test_a_plan_naming_an_account_without_credentials_changes_nothing(
    engine: Engine, archive: LogArchive, log_session: Any, server_log: RequestLog
) -> None:
    answers = answers_for(archive)
    plan, found = Engine(engine.caller, engine.ctx, callers={LOG_ACCOUNT: log_session.caller}).plan(
        answers
    )
    server_log.clear()

    outcome = Engine(engine.caller, engine.ctx).apply(answers, plan, found=found)

    assert outcome.report.status == "blocked"
    assert LOG_ACCOUNT in (outcome.report.error or "")
    assert server_log.mutating() == []
    assert archive.live_bucket_policy() == archive.bucket_policy


# ------------------------------------------------------------------ without access


@pytest.fixture
def cli(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    """Run the command line against the fixture's sandbox (AWS_ENDPOINT_URL, dummy keys)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def log_archive_profile(
    archive: LogArchive, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    """A credentials file with profile LOGARCHIVE for the log-archive account."""
    path = tmp_path / "credentials"
    creds = archive.credentials
    path.write_text(
        "[LOGARCHIVE]\n"
        f"aws_access_key_id = {creds['AccessKeyId']}\n"
        f"aws_secret_access_key = {creds['SecretAccessKey']}\n"
        f"aws_session_token = {creds['SessionToken']}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    return "LOGARCHIVE"


def owner_applies(archive: LogArchive, pack: Path) -> None:
    """What the log-archive owner does with the pack: append the statements, keep the rest."""
    steps: tuple[tuple[str, Callable[[], str], Callable[[str], Any]], ...] = (
        (
            "bucket-statements.json",
            archive.live_bucket_policy,
            lambda text: archive.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=text),
        ),
        (
            "key-statements.json",
            archive.live_key_policy,
            lambda text: archive.client("kms").put_key_policy(
                KeyId=archive.key_arn, PolicyName="default", Policy=text
            ),
        ),
    )
    for name, read, write in steps:
        document = json.loads(read())
        document["Statement"] = [*document["Statement"], *json.loads((pack / name).read_text())]
        write(json.dumps(document))


def test_without_access_a_handoff_pack_blocks_until_the_owner_applies_it(
    cli: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    archive: LogArchive,
    aws: Any,
    server_log: RequestLog,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    answers_path = tmp_path / "central.json"
    answers_path.write_text(json.dumps(answers_for(archive).model_dump(mode="json")))
    answers = str(answers_path)
    pack = tmp_path / "pack"
    reader = ["--central-reader", READER]

    code, out, err = cli(capsys, "plan", answers, "--handoff-out", str(pack), *reader)

    assert code == EXIT_INVALID, err
    assert "[central-handoff-required]" in out
    assert sorted(p.name for p in pack.iterdir()) == [
        "README.md",
        "bucket-statements.json",
        "key-statements.json",
    ]
    readme = (pack / "README.md").read_text()
    assert f"check-central {answers} --account {ACCOUNT}" in readme
    bucket_statements = json.loads((pack / "bucket-statements.json").read_text())
    assert {s["Sid"] for s in bucket_statements} == {
        f"AWSCloudTrailAclCheck{ACCOUNT}",
        f"AWSCloudTrailWrite{ACCOUNT}",
    }
    key_statements = json.loads((pack / "key-statements.json").read_text())
    decrypt = next(s for s in key_statements if s["Action"] == "kms:Decrypt")
    assert decrypt["Principal"] == {"AWS": READER}
    encrypt = next(s for s in key_statements if s["Action"] == "kms:GenerateDataKey*")
    assert encrypt["Condition"]["StringEquals"] == {"aws:SourceArn": TRAIL_ARN}

    # apply is blocked before CreateTrail: nothing reaches the server but reads.
    server_log.clear()
    code, out, _ = cli(capsys, "apply", answers, "--yes", *reader)
    assert code == EXIT_INVALID
    assert "Nothing was changed" in out
    assert server_log.mutating() == []

    profile = log_archive_profile(archive, monkeypatch, tmp_path)
    check = ["check-central", answers, "--account", ACCOUNT, "--log-account-profile", profile]
    code, out, _ = cli(capsys, *check, *reader, "--output", "json")
    assert code == EXIT_FAILED
    checks = json.loads(out)["checks"]
    refused = {c["label"] for c in checks if not c["allowed"]}
    assert {"write log files (s3:PutObject)", "encrypt log files (kms:GenerateDataKey)"} <= refused
    # The reader is judged too (allowed here already: the key's root statement delegates
    # to the log-archive account's IAM policies).
    assert f"let {READER} decrypt log files (kms:Decrypt)" in {c["label"] for c in checks}
    assert json.loads(out)["confirmation"] is None

    owner_applies(archive, pack)

    code, out, _ = cli(capsys, *check, *reader)
    assert code == EXIT_OK, out
    assert "[FAIL]" not in out
    confirmation = out.split("Confirmation code: ")[1].split()[0]
    assert confirmation.startswith("ctw-")

    # The key policy cannot be read from this account, so apply still needs the code ...
    code, out, _ = cli(capsys, "apply", answers, "--yes", *reader)
    assert code == EXIT_INVALID and "[central-handoff-required]" in out
    code, out, _ = cli(
        capsys, "apply", answers, "--yes", *reader, "--central-confirmed", "ctw-000000000000"
    )
    assert code == EXIT_INVALID and "is not this pack's" in out
    # ... and with it, the trail is created, logging, and verified.
    code, out, err = cli(
        capsys, "apply", answers, "--yes", *reader, "--central-confirmed", confirmation
    )
    assert code == EXIT_OK, out + err
    assert "[central-handoff-confirmed]" in out
    trail = aws("cloudtrail").get_trail(Name=TRAIL_ARN)["Trail"]
    assert (trail["S3BucketName"], trail["KmsKeyId"]) == (BUCKET, archive.key_arn)
    assert aws("cloudtrail").get_trail_status(Name=TRAIL_ARN)["IsLogging"] is True


def test_apply_with_a_log_account_role_merges_and_applies(
    cli: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    archive: LogArchive,
    aws: Any,
    tmp_path: Path,
) -> None:
    answers_path = tmp_path / "central.json"
    answers_path.write_text(json.dumps(answers_for(archive).model_dump(mode="json")))

    code, out, err = cli(
        capsys, "apply", str(answers_path), "--yes", "--log-account-role", LOG_ROLE
    )

    assert code == EXIT_OK, out + err
    assert "in log-archive account 999999999999" in out
    assert_kept_byte_for_byte(archive.bucket_policy, archive.live_bucket_policy())
    grant_for_this_account(archive.live_key_policy(), "kms:GenerateDataKey*")
    assert aws("cloudtrail").get_trail_status(Name=TRAIL_ARN)["IsLogging"] is True


def test_log_account_credentials_for_the_wrong_account_are_refused(
    cli: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    archive: LogArchive,
    server_log: RequestLog,
    tmp_path: Path,
) -> None:
    answers_path = tmp_path / "central.json"
    answers_path.write_text(json.dumps(answers_for(archive).model_dump(mode="json")))

    code, _, err = cli(
        capsys,
        "plan",
        str(answers_path),
        "--log-account-role",
        "arn:aws:iam::888888888888:role/LogArchiveAdmin",
    )

    assert code == EXIT_INVALID
    assert "reach account 888888888888" in err and LOG_ACCOUNT in err


def test_plan_suggests_an_organization_trail_in_the_management_account(
    cli: Callable[..., Any], capsys: pytest.CaptureFixture[str], aws: Any, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps({"trail": {"name": "org-check"}, "bucket": {"name": "org-check-logs-x1"}})
    )
    code, out, _ = cli(capsys, "plan", str(answers), "--output", "json")
    assert code == EXIT_OK
    assert "organization-trail-suggested" not in out
    aws("organizations").create_organization(FeatureSet="ALL")

    code, out, _ = cli(capsys, "plan", str(answers), "--output", "json")

    assert code == EXIT_OK
    finding = next(
        f for f in json.loads(out)["findings"] if f["code"] == "organization-trail-suggested"
    )
    assert finding["severity"] == "info"
