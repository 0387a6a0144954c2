"""``cloudtrail-wizard onboard --engine stacksets``: one service-managed StackSet, two OUs.

Against the seeded sandbox over HTTP with dummy credentials: the demo account creates an
organization (all features), two OUs (one with an OU below it) and three member accounts, and
a log-archive account (tests.wizard.plan.test_central) owns the central bucket and key. The
sandbox runs the StackSet's operations as AWS does (wizard.sandbox.stacksets): each member
account's stack creates a real trail there, which the strict rules check against the central
policies. What was changed is read back with plain boto3; what was *not* sent is read from
the server's request log.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import tests.wizard.plan.test_central as central
from screens.cli.main import main
from screens.common.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from tests.sandbox_fixtures import REGION, RequestLog
from wizard.export.stackset import MANAGED_TAG
from wizard.model.names import RUN_TAG
from wizard.run.journal import load_journal
from wizard.run.recover import unfinished_runs

TRAIL = "org-audit"
PREFIX = "org"
STACK_SET = f"cloudtrail-{TRAIL}"
STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"


class Organization:
    """The demo account's organization: two OUs (prod with prod-eu below it, dev)."""

    def __init__(self, aws: Any, *, trusted: bool = True) -> None:
        self.org = aws("organizations")
        self.id = self.org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        self.root = self.org.list_roots()["Roots"][0]["Id"]
        self.prod = self.unit(self.root, "prod")
        self.prod_eu = self.unit(self.prod, "prod-eu")
        self.dev = self.unit(self.root, "dev")
        self.accounts = {
            "prod": self.account("prod-1", self.prod),
            "prod-eu": self.account("prod-eu-1", self.prod_eu),
            "dev": self.account("dev-1", self.dev),
        }
        if trusted:
            self.org.enable_aws_service_access(ServicePrincipal=STACKSETS)

    def unit(self, parent: str, name: str) -> str:
        return str(
            self.org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"][
                "Id"
            ]
        )

    def account(self, name: str, parent: str) -> str:
        status = self.org.create_account(AccountName=name, Email=f"{name}@example.com")
        account = str(status["CreateAccountStatus"]["AccountId"])
        self.org.move_account(
            AccountId=account, SourceParentId=self.root, DestinationParentId=parent
        )
        return account


@pytest.fixture
def archive(sandbox: Any, _client_session: Any, aws: Any) -> central.LogArchive:
    return central.LogArchive(sandbox, _client_session, aws)


@pytest.fixture
def organization(aws: Any, archive: central.LogArchive) -> Organization:
    return Organization(aws)


@pytest.fixture
def accounts_file(archive: central.LogArchive, tmp_path: Path) -> Path:
    """The accounts file: shared answers inline, the log-archive role; no accounts list."""
    path = tmp_path / "accounts.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "answers": {
                    "trail": {"name": TRAIL, "region": REGION},
                    "bucket": {
                        "name": central.BUCKET,
                        "create": False,
                        "account": central.LOG_ACCOUNT,
                        "prefix": PREFIX,
                    },
                    "encryption": {"type": "sse-kms", "key": archive.key_arn},
                },
                "central": {"role_arn": central.LOG_ROLE},
            }
        )
    )
    return path


@pytest.fixture
def run(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    def onboard(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
        code = main(["onboard", *argv, "--engine", "stacksets", "--output", "json"])
        out, err = capsys.readouterr()
        assert out, err
        return code, json.loads(out)

    return onboard


def member(sandbox: Any, session: Any, aws: Any, account: str) -> Callable[..., Any]:
    """Clients acting in a member account (STS AssumeRole, as an administrator would)."""
    creds = aws("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="test-check",
    )["Credentials"]

    def client(service: str, region: str = REGION) -> Any:
        return session.client(
            service,
            region_name=region,
            endpoint_url=sandbox.endpoint_url,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    return client


def trails(sandbox: Any, session: Any, aws: Any, account: str) -> list[str]:
    client = member(sandbox, session, aws, account)("cloudtrail")
    return sorted(t["Name"] for t in client.describe_trails(includeShadowTrails=False)["trailList"])


def policy_document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def results(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(account, action) -> status of every account's result."""
    return {(o["account_id"], o["action"]): o["status"] for o in doc["outcomes"]}


# --------------------------------------------------------------------------- deploy


def test_a_stackset_deployed_to_two_ous_reports_every_account(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    organization: Organization,
    archive: central.LogArchive,
    sandbox: Any,
    _client_session: Any,
    aws: Any,
) -> None:
    org = organization
    code, doc = run(capsys, str(accounts_file), "--ou", org.prod, "--ou", org.dev, "--yes")
    assert code == EXIT_OK, doc
    assert doc["status"] == "applied" and doc["action"] == "create"
    assert doc["call_as"] == "SELF"
    # Per-account results: every account of both OUs (prod-eu is below prod), never the
    # management account.
    assert results(doc) == {(a, "CREATE"): "SUCCEEDED" for a in org.accounts.values()}
    units = {o["account_id"]: o["organizational_unit"] for o in doc["outcomes"]}
    assert units == {
        org.accounts["prod"]: org.prod,
        org.accounts["prod-eu"]: org.prod,
        org.accounts["dev"]: org.dev,
    }
    # Each member account has the trail, logging, delivering to the central bucket.
    for account in org.accounts.values():
        assert trails(sandbox, _client_session, aws, account) == [TRAIL]
        cloudtrail = member(sandbox, _client_session, aws, account)("cloudtrail")
        trail = cloudtrail.get_trail(Name=TRAIL)["Trail"]
        assert (trail["S3BucketName"], trail["S3KeyPrefix"]) == (central.BUCKET, PREFIX)
        assert trail["KmsKeyId"] == archive.key_arn
        assert cloudtrail.get_trail_status(Name=TRAIL)["IsLogging"] is True
    assert "123456789012" not in {o["account_id"] for o in doc["outcomes"]}
    # The StackSet: service-managed, automatic deployment, the wizard's tags.
    stack_set = aws("cloudformation").describe_stack_set(StackSetName=STACK_SET)["StackSet"]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    tags = {t["Key"]: t["Value"] for t in stack_set["Tags"]}
    assert tags[MANAGED_TAG] == TRAIL and RUN_TAG in tags
    assert sorted(stack_set["OrganizationalUnitIds"]) == sorted([org.prod, org.dev])
    # The central policies, updated once: every statement kept, the organization's added.
    policy = archive.live_bucket_policy()
    central.assert_kept_byte_for_byte(archive.bucket_policy, policy)
    added = central.statements(policy)[len(central.statements(archive.bucket_policy)) :]
    assert {s["Condition"]["StringEquals"]["aws:SourceOrgID"] for s in added} == {org.id}
    assert doc["central"]["status"] == "updated"
    key_added = central.statements(archive.live_key_policy())[
        len(central.statements(archive.key_policy)) :
    ]
    assert {s["Sid"] for s in key_added} >= {"AWSCloudTrailEncryptLogsOrganization"}

    # A re-run changes nothing: no StackSet operation, no policy write.
    code, again = run(capsys, str(accounts_file), "--ou", org.prod, "--ou", org.dev, "--yes")
    assert code == EXIT_OK, again
    assert again["status"] == "unchanged" and again["outcomes"] == []
    assert archive.live_bucket_policy() == policy


def test_the_text_output_shows_the_plan_progress_and_results(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    organization: Organization,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = organization
    code = main(["onboard", str(accounts_file), "--engine", "stacksets", "--ou", org.dev, "--yes"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert out.index("Targets:") < out.index("Plan:") < out.index("Results per account:")
    assert "create StackSet cloudtrail-org-audit" in out
    assert "operation" in out and "succeeded" in out
    assert org.accounts["dev"] in out.split("Results per account:")[1]


# --------------------------------------------------------------------------- dry run


def test_dry_run_creates_nothing(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    organization: Organization,
    archive: central.LogArchive,
    server_log: RequestLog,
    aws: Any,
) -> None:
    org = organization
    server_log.clear()
    code, doc = run(capsys, str(accounts_file), "--ou", org.prod, "--ou", org.dev, "--dry-run")
    assert code == EXIT_OK, doc
    assert doc["status"] == "dry-run"
    # What would be done: the StackSet, the instances per OU and region, the policy diff.
    assert any("create StackSet" in c for c in doc["changes"])
    assert any(org.prod in c and REGION in c for c in doc["changes"])
    targets = {t["organizational_unit"]: t for t in doc["targets"]}
    assert targets[org.prod]["accounts"] == sorted([org.accounts["prod"], org.accounts["prod-eu"]])
    assert targets[org.dev]["new_regions"] == [REGION]
    assert doc["central"]["status"] == "would-update" and "+" in doc["central"]["diff"]
    # Zero mutating calls (STS AssumeRole mints the log-archive session, nothing else).
    assert [r for r in server_log.mutating() if r.operation != "AssumeRole"] == []
    with pytest.raises(aws("cloudformation").exceptions.StackSetNotFoundException):
        aws("cloudformation").describe_stack_set(StackSetName=STACK_SET)
    assert archive.live_bucket_policy() == archive.bucket_policy


# --------------------------------------------------------------------------- rollback


def test_a_failed_account_rolls_back_only_what_the_run_created(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    organization: Organization,
    archive: central.LogArchive,
    sandbox: Any,
    _client_session: Any,
    aws: Any,
) -> None:
    org = organization
    # A first run deploys prod: its StackSet and instances are not this next run's.
    code, first = run(capsys, str(accounts_file), "--ou", org.prod, "--yes")
    assert code == EXIT_OK, first
    policy_after_first = archive.live_bucket_policy()
    # The dev account already has a trail of that name (someone else's): its stack fails.
    dev = org.accounts["dev"]
    mine = member(sandbox, _client_session, aws, dev)
    mine("s3").create_bucket(Bucket="dev-own-trail-logs")
    mine("s3").put_bucket_policy(
        Bucket="dev-own-trail-logs",
        Policy=json.dumps(
            policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:GetBucketAcl",
                        "Resource": "arn:aws:s3:::dev-own-trail-logs",
                    },
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::dev-own-trail-logs/AWSLogs/{dev}/*",
                        "Condition": {
                            "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}
                        },
                    },
                ]
            )
        ),
    )
    mine("cloudtrail").create_trail(Name=TRAIL, S3BucketName="dev-own-trail-logs")

    code, doc = run(capsys, str(accounts_file), "--ou", org.prod, "--ou", org.dev, "--yes")
    assert code == EXIT_FAILED, doc
    assert doc["status"] == "rolled-back"
    assert doc["action"] == "update"  # the StackSet existed: only dev's instances were new
    assert results(doc)[(dev, "CREATE")] == "FAILED"
    failed = next(o for o in doc["outcomes"] if o["account_id"] == dev and o["action"] == "CREATE")
    assert "TrailAlreadyExists" in failed["reason"]
    # The rollback deleted dev's instances (this run's), nothing else.
    assert any(o["action"] == "DELETE" for o in doc["outcomes"])
    cloudformation = aws("cloudformation")
    instances = cloudformation.list_stack_instances(StackSetName=STACK_SET)["Summaries"]
    assert sorted(i["Account"] for i in instances) == sorted(
        [org.accounts["prod"], org.accounts["prod-eu"]]
    )
    assert cloudformation.describe_stack_set(StackSetName=STACK_SET)["StackSet"]["Status"] == (
        "ACTIVE"
    )
    for account in (org.accounts["prod"], org.accounts["prod-eu"]):
        assert trails(sandbox, _client_session, aws, account) == [TRAIL]
    # dev's own trail is untouched.
    assert mine("cloudtrail").get_trail(Name=TRAIL)["Trail"]["S3BucketName"] == (
        "dev-own-trail-logs"
    )
    assert archive.live_bucket_policy() == policy_after_first
    # The journal holds the plan and every call: a finished run, nothing to recover.
    journal = load_journal(doc["journal_path"])
    assert journal["summary"]["status"] == "rolled-back"
    assert unfinished_runs() == []


def test_a_new_stackset_is_deleted_again_when_its_first_operation_fails(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    organization: Organization,
    archive: central.LogArchive,
    sandbox: Any,
    _client_session: Any,
    aws: Any,
) -> None:
    org = organization
    dev = org.accounts["dev"]
    mine = member(sandbox, _client_session, aws, dev)
    mine("s3").create_bucket(Bucket="dev-other-logs")
    mine("iam").create_role(
        RoleName=f"CloudTrailToCloudWatchLogs-{TRAIL}",
        AssumeRolePolicyDocument=json.dumps(
            policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            )
        ),
    )
    answers = yaml.safe_load(accounts_file.read_text())
    answers["answers"]["cloudwatch_logs"] = {"log_group": "org-audit-events"}
    accounts_file.write_text(yaml.safe_dump(answers))

    code, doc = run(capsys, str(accounts_file), "--ou", org.prod, "--ou", org.dev, "--yes")
    assert code == EXIT_FAILED, doc
    assert doc["status"] == "rolled-back" and doc["action"] == "create"
    failed = [o for o in doc["outcomes"] if o["status"] == "FAILED"]
    assert [o["account_id"] for o in failed] == [dev]
    assert "EntityAlreadyExists" in failed[0]["reason"]
    with pytest.raises(aws("cloudformation").exceptions.StackSetNotFoundException):
        aws("cloudformation").describe_stack_set(StackSetName=STACK_SET)
    for account in (org.accounts["prod"], org.accounts["prod-eu"]):
        assert trails(sandbox, _client_session, aws, account) == []
    # The role that was there before is still there; the central policies are as they were.
    assert mine("iam").get_role(RoleName=f"CloudTrailToCloudWatchLogs-{TRAIL}")
    assert archive.live_bucket_policy() == archive.bucket_policy
    assert archive.live_key_policy() == archive.key_policy


# --------------------------------------------------------------------------- preflight


def test_without_trusted_access_nothing_is_done_and_the_fix_is_said(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    archive: central.LogArchive,
    aws: Any,
    server_log: RequestLog,
) -> None:
    org = Organization(aws, trusted=False)
    server_log.clear()
    code = main(["onboard", str(accounts_file), "--engine", "stacksets", "--ou", org.prod, "--yes"])
    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    assert "stacksets-trusted-access" in err
    assert "aws cloudformation activate-organizations-access" in err
    assert [r for r in server_log.mutating() if r.operation != "AssumeRole"] == []


def test_a_member_account_that_is_not_a_delegated_administrator_is_refused(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    organization: Organization,
    sandbox: Any,
    _client_session: Any,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dev = organization.accounts["dev"]
    creds = aws("sts").assume_role(
        RoleArn=f"arn:aws:iam::{dev}:role/OrganizationAccountAccessRole", RoleSessionName="member"
    )["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
    argv = ["onboard", str(accounts_file), "--engine", "stacksets", "--ou", organization.prod]
    code = main([*argv, "--yes"])
    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    assert "stacksets-not-administrator" in err
    assert f"register-delegated-administrator --account-id {dev}" in err

    # Registered as a delegated administrator, the same account deploys (CallAs
    # DELEGATED_ADMIN); the StackSet lives in the management account.
    organization.org.register_delegated_administrator(AccountId=dev, ServicePrincipal=STACKSETS)
    code, doc = run(capsys, str(accounts_file), "--ou", organization.prod, "--yes")
    assert code == EXIT_OK, doc
    assert doc["call_as"] == "DELEGATED_ADMIN"
    assert set(results(doc)) == {
        (organization.accounts["prod"], "CREATE"),
        (organization.accounts["prod-eu"], "CREATE"),
    }
    stack_set = aws("cloudformation").describe_stack_set(StackSetName=STACK_SET)["StackSet"]
    assert stack_set["StackSetARN"].split(":")[4] == "123456789012"


def test_answers_one_template_cannot_serve_are_refused_before_any_call(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    organization: Organization,
) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "answers": {
                    "trail": {"name": "audit-{account_id}"},
                    "bucket": {"name": "b-{account_id}"},
                },
            }
        )
    )
    argv = ["onboard", str(path), "--engine", "stacksets", "--ou", organization.prod, "--yes"]
    assert main(argv) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "{account_id} cannot be used with a StackSet" in err
    assert "trail.name" in err and "bucket.name" in err


# --------------------------------------------------------------------------- recover


def test_a_run_that_never_finished_is_listed_and_rolled_back_by_recover(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    organization: Organization,
    archive: central.LogArchive,
    sandbox: Any,
    _client_session: Any,
    aws: Any,
) -> None:
    """The run's journal without its summary is what a killed run leaves: `recover` lists it
    and `recover --rollback` undoes the StackSet, its instances and the central update."""
    org = organization
    code, doc = run(capsys, str(accounts_file), "--ou", org.dev, "--yes")
    assert code == EXIT_OK, doc
    journal = Path(doc["journal_path"])
    killed = json.loads(journal.read_text())
    killed["summary"] = None
    journal.write_text(json.dumps(killed))

    (unfinished,) = unfinished_runs()
    assert unfinished.reason == "interrupted"
    assert {"create-stack-set", "create-stack-instances"} <= set(unfinished.done)

    argv = ["recover", "--rollback", "--yes", "--log-account-role", central.LOG_ROLE]
    assert main(argv) == EXIT_OK, capsys.readouterr()
    with pytest.raises(aws("cloudformation").exceptions.StackSetNotFoundException):
        aws("cloudformation").describe_stack_set(StackSetName=STACK_SET)
    assert trails(sandbox, _client_session, aws, org.accounts["dev"]) == []
    assert archive.live_bucket_policy() == archive.bucket_policy
    assert archive.live_key_policy() == archive.key_policy
    assert unfinished_runs() == []
