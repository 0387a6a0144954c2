"""``cloudtrail-wizard onboard``: three accounts, one central bucket and key, one journal.

Against the seeded sandbox over HTTP with dummy credentials. The accounts (111111111111,
222222222222, 333333333333) and the log-archive account (999999999999) are reached with STS
AssumeRole from the main session, as in an AWS organization. What was changed is read back
with plain boto3 as each account; what was *not* sent is read from the server's request log
and from every session's call counts.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

import tests.wizard.plan.test_central as central
from screens.cli.main import main
from screens.common.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from tests.sandbox_fixtures import REGION, RequestLog
from wizard.model.readonly import is_read_only
from wizard.run.journal import load_journal

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
LOG_ACCOUNT = central.LOG_ACCOUNT
BUCKET = central.BUCKET
PREFIX = "org"
ROLE = "OrganizationAccountAccessRole"


def trail_arn(account: str) -> str:
    return f"arn:aws:cloudtrail:{REGION}:{account}:trail/org-audit-{account}"


@pytest.fixture
def archive(sandbox: Any, _client_session: Any, aws: Any) -> central.LogArchive:
    return central.LogArchive(sandbox, _client_session, aws)


@pytest.fixture
def accounts_file(archive: central.LogArchive, tmp_path: Path) -> Path:
    """A shared answers file (with placeholders) and the accounts file naming it."""
    (tmp_path / "answers.yaml").write_text(
        yaml.safe_dump(
            {
                "trail": {"name": "org-audit-{account_id}", "tags": {"account": "{account_id}"}},
                "bucket": {
                    "name": BUCKET,
                    "create": False,
                    "account": LOG_ACCOUNT,
                    "prefix": PREFIX,
                },
                "encryption": {"type": "sse-kms", "key": archive.key_arn},
            }
        )
    )
    path = tmp_path / "accounts.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "answers": "answers.yaml",
                "central": {"role_arn": central.LOG_ROLE},
                "accounts": [
                    {"id": ACCOUNTS[0], "role_arn": f"arn:aws:iam::{ACCOUNTS[0]}:role/{ROLE}"},
                    {"id": ACCOUNTS[1], "role_name": ROLE},
                    {"id": ACCOUNTS[2], "overrides": {"trail": {"tags": {"team": "payments"}}}},
                ],
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
        code = main(["onboard", *argv, "--output", "json"])
        out, err = capsys.readouterr()
        assert out, err
        return code, json.loads(out)

    return onboard


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {a["account_id"]: a["status"] for a in doc["accounts"]}


def as_account(sandbox: Any, session: Any, aws: Any, account: str) -> Callable[..., Any]:
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


def trails_of(sandbox: Any, session: Any, aws: Any, account: str) -> list[dict[str, Any]]:
    client = as_account(sandbox, session, aws, account)("cloudtrail")
    return list(client.describe_trails(includeShadowTrails=False)["trailList"])


def sessions_stats() -> dict[str, Any]:
    """Call counts of every account session of the last onboard run, by account."""
    from screens.cli.commands.onboard import LAST_OPENER

    return dict(LAST_OPENER[0].calls)


def mutating(stats: Any) -> list[tuple[str, str]]:
    return sorted(key for key in stats if not is_read_only(key[1]))


def not_assume_role(log: RequestLog) -> list[Any]:
    """Mutating requests other than STS AssumeRole (which mints credentials, nothing else)."""
    return [r for r in log.mutating() if r.operation != "AssumeRole"]


@contextmanager
def assume_role_refused(monkeypatch: pytest.MonkeyPatch, account: str) -> Iterator[None]:
    """STS refuses to let anyone assume roles in ``account`` (a trust policy that says no)."""
    from moto.sts.exceptions import STSClientError
    from moto.sts.models import STSBackend

    original = STSBackend.assume_role

    def assume_role(self: Any, **kwargs: Any) -> Any:
        if f":{account}:" in kwargs["role_arn"]:
            raise STSClientError(
                "AccessDenied",
                f"User is not authorized to perform: sts:AssumeRole on resource: "
                f"{kwargs['role_arn']}",
            )
        return original(self, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(STSBackend, "assume_role", assume_role)
        yield


# --------------------------------------------------------------------------- tests


def test_three_accounts_one_central_update_then_a_rerun_changes_nothing(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    archive: central.LogArchive,
    sandbox: Any,
    _client_session: Any,
    aws: Any,
    server_log: RequestLog,
) -> None:
    # With --yes nobody reviews the plans: the central update goes first, then each account
    # is planned and applied in one pass; the summary of what was planned, then the results.
    code = main(["onboard", str(accounts_file), "--yes"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert out.index("central: [ok]") < out.index("Summary:") < out.index("Results:")
    # ...so each account's trails were read once, not again before its apply.
    for account, stats in sessions_stats().items():
        assert stats[("cloudtrail", "DescribeTrails")] == 1, (account, stats)

    for account in ACCOUNTS:
        (trail,) = trails_of(sandbox, _client_session, aws, account)
        assert trail["TrailARN"] == trail_arn(account)
        assert (trail["S3BucketName"], trail["S3KeyPrefix"]) == (BUCKET, PREFIX)
        assert trail["KmsKeyId"] == archive.key_arn
        cloudtrail = as_account(sandbox, _client_session, aws, account)("cloudtrail")
        assert cloudtrail.get_trail_status(Name=trail["TrailARN"])["IsLogging"] is True
    policy = archive.live_bucket_policy()
    central.assert_kept_byte_for_byte(archive.bucket_policy, policy)
    added = central.statements(policy)[len(central.statements(archive.bucket_policy)) :]
    resources = [r for s in added for r in central_list(s.get("Resource"))]
    sources = [
        a for s in added for a in central_list(s["Condition"]["StringEquals"]["aws:SourceArn"])
    ]
    paths = [f"arn:aws:s3:::{BUCKET}/{PREFIX}/AWSLogs/{a}/*" for a in ACCOUNTS]
    assert sorted(r for r in resources if "/AWSLogs/" in r) == paths  # each path once
    assert sorted(set(sources)) == [trail_arn(a) for a in ACCOUNTS]
    assert all(sources.count(trail_arn(a)) == 2 for a in ACCOUNTS)  # ACL check + write
    key_added = central.statements(archive.live_key_policy())[1:]
    encrypt = next(s for s in key_added if s["Action"] == "kms:GenerateDataKey*")
    assert encrypt["Condition"]["StringEquals"]["aws:SourceArn"] == [trail_arn(a) for a in ACCOUNTS]

    # A second run: everything is already done, and nothing but AssumeRole is sent.
    server_log.clear()
    code, doc = run(capsys, str(accounts_file), "--yes")

    assert code == EXIT_OK
    assert statuses(doc) == dict.fromkeys(ACCOUNTS, "already-done")
    assert doc["central"]["status"] == "unchanged"
    assert not_assume_role(server_log) == []
    assert all(mutating(stats) == [] for stats in sessions_stats().values())
    assert archive.live_bucket_policy() == policy
    journal = load_journal(doc["journal_path"])
    assert journal["summary"]["accounts"] == dict.fromkeys(ACCOUNTS, "already-done")
    # One journal per run, one beside it per account applied (its own calls, a run of its
    # own for `recover`), and no credentials in any of them.
    folder = Path(doc["journal_path"]).parent
    journals = {p: load_journal(p) for p in folder.glob("*-onboard-*.json")}
    runs = [p for p, j in journals.items() if "accounts" in j["meta"]]
    assert len(runs) == 2
    first = next(p for p in runs if str(p) != doc["journal_path"])
    own = {
        j["meta"]["account"]: p for p, j in journals.items() if j["meta"].get("run") == str(first)
    }
    assert sorted(own) == sorted(ACCOUNTS)
    assert journals[first]["summary"]["journals"] == {a: str(p) for a, p in own.items()}
    for account, path in own.items():
        assert journals[path]["summary"]["status"] == "applied"
        assert f"org-audit-{account}" in path.read_text() and "CreateTrail" in path.read_text()
    texts = "".join(p.read_text() for p in journals)
    assert not re.search(r"ASIA[A-Z0-9]{16}|SecretAccessKey|SessionToken", texts)


def central_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.filterwarnings("ignore:Exception\\(STSClientError\\):UserWarning")
def test_an_account_whose_role_cannot_be_assumed_fails_alone_and_is_retried(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    archive: central.LogArchive,
    sandbox: Any,
    _client_session: Any,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = ACCOUNTS[1]
    with assume_role_refused(monkeypatch, refused):
        code, doc = run(capsys, str(accounts_file), "--yes")

    assert code == EXIT_FAILED
    assert statuses(doc) == {ACCOUNTS[0]: "applied", refused: "failed", ACCOUNTS[2]: "applied"}
    failed = next(a for a in doc["accounts"] if a["account_id"] == refused)
    assert failed["stage"] == "connect" and "AssumeRole" in failed["error"]
    assert trails_of(sandbox, _client_session, aws, refused) == []
    policy = archive.live_bucket_policy()
    # The central policies were updated once, for all three accounts.
    assert f"{PREFIX}/AWSLogs/{refused}/*" in policy

    code, doc = run(capsys, str(accounts_file), "--yes")

    assert code == EXIT_OK
    assert statuses(doc) == {
        ACCOUNTS[0]: "already-done",
        refused: "applied",
        ACCOUNTS[2]: "already-done",
    }
    stats = sessions_stats()
    assert mutating(stats[ACCOUNTS[0]]) == mutating(stats[ACCOUNTS[2]]) == []
    assert stats[refused][("cloudtrail", "CreateTrail")] == 1
    assert archive.live_bucket_policy() == policy  # no second central update
    (trail,) = trails_of(sandbox, _client_session, aws, refused)
    assert trail["TrailARN"] == trail_arn(refused)


def test_dry_run_sends_no_mutating_call_anywhere(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    archive: central.LogArchive,
    sandbox: Any,
    _client_session: Any,
    aws: Any,
    server_log: RequestLog,
) -> None:
    server_log.clear()

    code, doc = run(capsys, str(accounts_file), "--dry-run")

    assert code == EXIT_OK
    assert statuses(doc) == dict.fromkeys(ACCOUNTS, "dry-run")
    assert doc["central"]["status"] == "would-update"
    assert doc["central"]["writers"] == list(ACCOUNTS)
    assert not_assume_role(server_log) == []
    stats = sessions_stats()
    assert sorted(stats) == sorted(ACCOUNTS)
    # AssumeRole's answer names the account each session reached: STS is not asked again.
    assert all(stats[a][("sts", "GetCallerIdentity")] == 0 for a in ACCOUNTS)
    assert all(mutating(s) == [] for s in stats.values())
    assert archive.live_bucket_policy() == archive.bucket_policy
    assert archive.live_key_policy() == archive.key_policy
    assert all(trails_of(sandbox, _client_session, aws, a) == [] for a in ACCOUNTS)


def test_without_confirmation_or_terminal_nothing_is_changed(
    capsys: pytest.CaptureFixture[str],
    run: Callable[..., Any],
    accounts_file: Path,
    archive: central.LogArchive,
    server_log: RequestLog,
) -> None:
    server_log.clear()
    code = main(["onboard", str(accounts_file)])
    _, err = capsys.readouterr()
    assert code == EXIT_INVALID
    assert "--yes" in err
    assert not_assume_role(server_log) == []
    assert archive.live_bucket_policy() == archive.bucket_policy


def test_after_the_operator_confirms_each_account_is_planned_again_before_its_apply(
    capsys: pytest.CaptureFixture[str],
    run: Callable[..., Any],
    accounts_file: Path,
    archive: central.LogArchive,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A person read the summary and said yes, maybe minutes later: the plans they read may
    # be stale, so each account is discovered again and re-planned before it is changed.
    import screens.cli.commands.onboard as command

    asked: list[str] = []

    def confirm(question: str, *_args: Any, **_kwargs: Any) -> bool:
        asked.append(question)
        return True

    monkeypatch.setattr(command, "confirm", confirm)
    code = main(["onboard", str(accounts_file)])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert asked == ["Apply to 3 account(s)?"]
    assert out.index("Summary:") < out.index("central: [ok]") < out.index("Results:")
    stats = sessions_stats()
    assert sorted(stats) == sorted(ACCOUNTS)
    assert all(s[("cloudtrail", "DescribeTrails")] == 2 for s in stats.values()), stats


def test_a_bad_accounts_file_names_the_file_line_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(
        "answers:\n"
        "  trail: {name: org-audit}\n"
        "  bucket: {name: central-logs-x1, create: false, account: '999999999999'}\n"
        "accounts:\n"
        "  - id: '12345'\n"
        "  - id: '222222222222'\n"
        "    overrides:\n"
        "      trail: {name: x}\n"
        "  - id: '333333333333'\n"
        "    role: admin\n"
    )
    code = main(["onboard", str(path), "--dry-run"])
    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    assert f"{path}:5: accounts.0.id: '12345' is not an AWS account id" in err
    assert f"{path}:10: accounts.2.role: unknown field 'role'" in err

    path.write_text(
        path.read_text().replace("'12345'", "'111111111111'").replace("    role: admin\n", "")
    )
    code = main(["onboard", str(path), "--dry-run"])
    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    assert f"{path}:8: accounts.1.overrides.trail.name: for account 222222222222:" in err


def test_the_management_account_is_told_about_organization_trails(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    archive: central.LogArchive,
    aws: Any,
) -> None:
    aws("organizations").create_organization(FeatureSet="ALL")

    code, doc = run(capsys, str(accounts_file), "--dry-run")

    assert code == EXIT_OK
    assert [f["code"] for f in doc["findings"]] == ["organization-trail-suggested"]


def test_a_rerun_updates_an_account_whose_trail_drifted_and_leaves_the_others(
    run: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    accounts_file: Path,
    archive: central.LogArchive,
    sandbox: Any,
    _client_session: Any,
    aws: Any,
) -> None:
    code, doc = run(capsys, str(accounts_file), "--yes")
    assert code == EXIT_OK, doc
    policy = archive.live_bucket_policy()
    drifted = ACCOUNTS[1]
    cloudtrail = as_account(sandbox, _client_session, aws, drifted)("cloudtrail")
    arn = trail_arn(drifted)
    # Someone turns validation off, stops the trail and retags it, by hand.
    cloudtrail.update_trail(Name=arn, EnableLogFileValidation=False)
    cloudtrail.stop_logging(Name=arn)
    cloudtrail.add_tags(ResourceId=arn, TagsList=[{"Key": "account", "Value": "someone-else"}])

    code, doc = run(capsys, str(accounts_file), "--yes")

    assert code == EXIT_OK, doc
    assert statuses(doc) == {
        ACCOUNTS[0]: "already-done",
        drifted: "applied",
        ACCOUNTS[2]: "already-done",
    }
    result = next(a for a in doc["accounts"] if a["account_id"] == drifted)
    assert sorted(result["journal_steps"]) == ["start-logging", "trail-tags", "update-trail"]
    stats = sessions_stats()
    assert mutating(stats[ACCOUNTS[0]]) == mutating(stats[ACCOUNTS[2]]) == []
    assert mutating(stats[drifted]) == [
        ("cloudtrail", "AddTags"),
        ("cloudtrail", "StartLogging"),
        ("cloudtrail", "UpdateTrail"),
    ]
    (trail,) = trails_of(sandbox, _client_session, aws, drifted)
    assert trail["LogFileValidationEnabled"] is True
    assert cloudtrail.get_trail_status(Name=arn)["IsLogging"] is True
    tags = cloudtrail.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    assert {"Key": "account", "Value": drifted} in tags
    assert doc["central"]["status"] == "unchanged"
    assert archive.live_bucket_policy() == policy
