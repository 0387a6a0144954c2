"""The ``plan`` and ``apply`` commands, in-process, against the session's sandbox server.

The command line is pointed at the fixture's emulator the way any AWS tool is pointed at a
custom endpoint, with ``AWS_ENDPOINT_URL`` and (dummy) credentials in the environment; not
with ``--sandbox``, which would start the shared sandbox (a background process) for each
state directory. One test runs the real ``--sandbox`` path in a child process.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_INVALID, EXIT_OK
from screens.common.reporting import Printer
from tests.sandbox_fixtures import ACCOUNT, RequestLog, stop_shared_sandboxes
from wizard.run.apply import ApplyEvent

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = str(ROOT / "examples" / "new-bucket-sse-s3.yaml")
EXAMPLE_BUCKET = "acme-audit-logs-123456789012"

# Shaped like real credentials, so a leak would be recognisable (and caught by the journal's
# pattern-based redaction if it were written anywhere it should not be).
FAKE_ACCESS_KEY = "AKIAJ7EXAMPLEFAKE123"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKESECRET"
FAKE_TOKEN = "FwoGZXIvYXdzEFAKE" + "Zm9vYmFy" * 20


@pytest.fixture
def cli_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the environment at the fixture's sandbox; journals under ``tmp_path``."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", FAKE_TOKEN)
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    # apply must not find a terminal to ask on.
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return state


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_answers(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(document))
    return str(path)


def bucket_exists(aws: Any, name: str) -> bool:
    return name in [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]


# ------------------------------------------------------------------------------- plan


def test_plan_json(
    cli_env: Path, capsys: pytest.CaptureFixture[str], server_log: RequestLog
) -> None:
    code, out, err = run(capsys, "plan", EXAMPLE, "--output", "json")

    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert {"account", "partition", "home_region", "trail_arn", "blocked", "findings"} <= doc.keys()
    assert {"steps", "policies"} <= doc.keys()
    assert doc["account"] == ACCOUNT and doc["blocked"] is False
    assert doc["trail_arn"] == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/acme-audit"
    assert [s["id"] for s in doc["steps"]][:1] == ["create-bucket"]
    step = doc["steps"][0]
    assert {"id", "summary", "service", "region", "operation", "parameters", "undo"} <= step.keys()
    codes = {f["code"] for f in doc["findings"]}
    assert "sse-s3-not-cis" in codes
    # The sandbox answers the policy simulator; its administrator may do everything.
    assert not {c for c in codes if c.startswith("operator-permissions")}
    assert json.loads(doc["policies"]["bucket_policy"])["Statement"]
    assert "operator_policy" in doc["policies"]
    # plan is read-only, whatever it finds.
    assert server_log.mutating() == []


def test_plan_blocked_exits_2(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, server_log: RequestLog
) -> None:
    answers = write_answers(
        tmp_path,
        {
            "trail": {"name": "acme-audit"},
            "bucket": {"name": "acme-audit-logs-123456789012"},
            "encryption": {"type": "sse-kms", "key": "alias/signing-key"},
        },
    )
    code, out, _err = run(capsys, "plan", answers, "--output", "json")

    assert code == EXIT_INVALID
    doc = json.loads(out)
    assert doc["blocked"] is True
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert [f["code"] for f in errors] == ["kms-key-not-symmetric"]
    assert server_log.mutating() == []


# ------------------------------------------------------------------------------ apply


def test_apply_dry_run_changes_nothing(
    cli_env: Path, capsys: pytest.CaptureFixture[str], aws: Any, server_log: RequestLog
) -> None:
    code, out, err = run(capsys, "apply", EXAMPLE, "--dry-run", "--output", "json")

    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert doc["status"] == "dry-run"
    operations = [c["operation"] for c in doc["recorded_calls"]]
    assert operations[0] == "CreateBucket" and "CreateTrail" in operations
    assert len(operations) == len(doc["plan"]["steps"])
    assert server_log.mutating() == []
    assert not bucket_exists(aws, EXAMPLE_BUCKET)
    assert not (cli_env / "cloudtrail-wizard").exists(), "a dry-run writes no journal"


def test_apply_dry_run_text_leads_with_the_verdict_and_ends_with_how_to_apply(
    cli_env: Path, capsys: pytest.CaptureFixture[str], server_log: RequestLog
) -> None:
    code, out, err = run(capsys, "apply", EXAMPLE, "--dry-run")

    assert code == EXIT_OK, err
    lines = out.splitlines()
    changes = re.search(r"^Plan \((\d+) changes\):$", out, re.MULTILINE)
    assert changes is not None
    n = int(changes.group(1))
    assert lines[0] == (
        f"Dry run: {n} changes would be made; none was sent; nothing was changed in account "
        f"{ACCOUNT}."
    )
    # The plan follows the verdict; the end is a summary and the way on, not a policy.
    assert out.index("Plan (") > out.index("Dry run:")
    last = [line for line in lines if line.strip()][-3:]
    assert last[0] == f"Summary: {n} changes to account {ACCOUNT} in us-east-1, none sent."
    assert last[1].endswith(f"cloudtrail-wizard policies {EXAMPLE} --account {ACCOUNT}")
    assert last[2].startswith("To apply: run the same command without --dry-run")
    assert not out.rstrip().endswith(("}", "]"))
    assert '"Statement"' not in out
    assert server_log.mutating() == []


def test_progress_prints_one_line_per_step_outcome_and_every_rollback_line() -> None:
    """The Printer the `apply` command and plain mode share: a step's start is not printed."""
    out = io.StringIO()
    printer = Printer(out, enabled=True)
    events = [
        ("step-started", "create-bucket", "Create bucket b"),
        ("step-done", "create-bucket", "Create bucket b"),
        ("step-started", "create-trail", "Create trail t"),
        ("step-failed", "create-trail", "AccessDenied"),
        ("rollback-started", None, "Rolling back 1 completed steps: AccessDenied"),
        ("rollback-started", "create-bucket", "Delete the bucket b"),
        ("rollback-step-done", "create-bucket", "Delete the bucket b"),
        ("finished", None, "rolled-back"),
    ]
    for kind, step_id, message in events:
        printer(ApplyEvent(kind=kind, step_id=step_id, message=message))

    assert out.getvalue().splitlines() == [
        "[ok] create-bucket: Create bucket b",
        "[!!] create-trail: AccessDenied",
        "[<<] Rolling back 1 completed steps: AccessDenied",
        "[<<] create-bucket: Delete the bucket b",
        "[<-] create-bucket: Delete the bucket b",
        "[==] finished: rolled-back",
    ]


def test_apply_yes_applies_and_keeps_secrets_out(
    cli_env: Path, capsys: pytest.CaptureFixture[str], aws: Any
) -> None:
    code, out, err = run(capsys, "apply", EXAMPLE, "--yes", "--output", "json")

    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert doc["status"] == "applied"
    assert doc["verification"]["checks"] and all(c["ok"] for c in doc["verification"]["checks"])
    assert {s["status"] for s in doc["steps"]} == {"done"}
    journal = Path(doc["journal"])
    assert journal.is_file() and journal.is_relative_to(cli_env)
    text = journal.read_text()
    assert "CreateTrail" in text and EXAMPLE_BUCKET in text
    for secret in (FAKE_SECRET, FAKE_TOKEN, FAKE_ACCESS_KEY):
        assert secret not in text
        assert secret not in out and secret not in err
    trails = aws("cloudtrail").describe_trails()["trailList"]
    assert "acme-audit" in [t["Name"] for t in trails]


def test_apply_without_yes_and_without_a_terminal_refuses(
    cli_env: Path, capsys: pytest.CaptureFixture[str], aws: Any, server_log: RequestLog
) -> None:
    code, _out, err = run(capsys, "apply", EXAMPLE)

    assert code == EXIT_INVALID
    assert "apply needs confirmation, but there is no terminal to ask on" in err
    assert "pass --yes" in err
    assert server_log.mutating() == []
    assert not bucket_exists(aws, EXAMPLE_BUCKET)


class Terminal(io.StringIO):
    """Standard input as a terminal where a person answers the ``[y/N]`` question;
    ``meanwhile`` runs while they read the plan (a colleague changing the account)."""

    def __init__(self, answer: str, meanwhile: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.answer = answer
        self.meanwhile = meanwhile

    def isatty(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        if self.meanwhile is not None:
            self.meanwhile()
        return self.answer + "\n"


def apply_started(journal: str) -> str:
    """The journal's first entry's message: what the run was, and the stale check's verdict."""
    entries = json.loads(Path(journal).read_text())["entries"]
    return str(next(e for e in entries if e["kind"] == "apply-started")["message"])


def test_apply_yes_does_not_read_the_account_again(
    cli_env: Path, capsys: pytest.CaptureFixture[str], server_log: RequestLog
) -> None:
    """With --yes nobody pauses between the plan and the first change: the plan's reads are
    milliseconds old, so none is made again (a round trip saved)."""
    code, out, err = run(capsys, "apply", EXAMPLE, "--yes", "--output", "json")

    assert code == EXIT_OK, err
    doc = json.loads(out)
    assert "not read again" in apply_started(doc["journal"])
    requests = server_log.snapshot()
    first = next(i for i, r in enumerate(requests) if r.mutating)
    heads = [r for r in requests[:first] if r.operation.startswith(f"HEAD /{EXAMPLE_BUCKET}")]
    assert len(heads) == 1, "the bucket was looked up once, by discovery"


def test_apply_yes_shows_no_cost_and_makes_none_of_its_reads(
    cli_env: Path, capsys: pytest.CaptureFixture[str], server_log: RequestLog
) -> None:
    """With --yes nobody decides on the cost any more: its reads (up to twenty pages of
    events) would only hold the first change back. The plan says where to see it."""
    code, out, err = run(capsys, "apply", EXAMPLE, "--yes")

    assert code == EXIT_OK, err
    assert "Cost per month: not estimated with --yes" in out
    assert "Cost per month (estimate)" not in out
    operations = [r.operation for r in server_log.snapshot()]
    assert "LookupEvents" not in operations and "DescribeRegions" not in operations, operations
    assert operations.count("ListTrails") == 1, "discovery's name check only"


def test_apply_after_the_question_shows_the_cost_first(
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server_log: RequestLog,
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal("y"))

    code, out, err = run(capsys, "apply", EXAMPLE)

    assert code == EXIT_OK, err
    question = out.index("[y/N]")
    assert 0 <= out.index("Cost per month (estimate)") < question
    assert "not estimated" not in out
    assert "LookupEvents" in [r.operation for r in server_log.snapshot()]


def test_apply_after_the_question_reads_the_account_again(
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server_log: RequestLog,
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal("y"))

    code, out, err = run(capsys, "apply", EXAMPLE, "--output", "json")

    assert code == EXIT_OK, err
    doc = json.loads(out.split("[y/N] ", 1)[1])  # the question, then the document
    assert "read again and matches the plan" in apply_started(doc["journal"])
    requests = server_log.snapshot()
    first = next(i for i, r in enumerate(requests) if r.mutating)
    heads = [r for r in requests[:first] if r.operation.startswith(f"HEAD /{EXAMPLE_BUCKET}")]
    assert len(heads) == 2, "discovery, then the stale check after the question"


def test_a_colleagues_change_while_the_question_waits_is_caught(
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    aws: Any,
    server_log: RequestLog,
) -> None:
    def colleague_creates_the_bucket() -> None:
        aws("s3").create_bucket(Bucket=EXAMPLE_BUCKET)
        server_log.clear()  # what the wizard sends from here on

    monkeypatch.setattr(sys, "stdin", Terminal("y", colleague_creates_the_bucket))

    code, out, err = run(capsys, "apply", EXAMPLE, "--output", "json")

    assert code == EXIT_INVALID, err
    doc = json.loads(out.split("[y/N] ", 1)[1])  # the question, then the document
    assert doc["status"] == "stale"
    assert "bucket" in (doc["error"] or "")
    assert server_log.mutating() == []
    assert server_log.snapshot(), "the account was read again"


def test_applying_the_same_answers_again_says_nothing_to_change_and_sends_nothing(
    cli_env: Path, capsys: pytest.CaptureFixture[str], server_log: RequestLog
) -> None:
    code, _out, err = run(capsys, "apply", EXAMPLE, "--yes")
    assert code == EXIT_OK, err
    journals = sorted((cli_env / "cloudtrail-wizard" / "journal").glob("*.json"))
    assert len(journals) == 1
    server_log.clear()

    code, out, err = run(capsys, "apply", EXAMPLE)  # no --yes, no terminal: nothing to ask

    assert code == EXIT_OK, err
    assert "Nothing to change: the account already matches the answers" in out
    assert "Nothing was changed: every resource the answers name already exists" in out
    assert "[ok] trail is logging" in out
    assert server_log.mutating() == []
    assert sorted((cli_env / "cloudtrail-wizard" / "journal").glob("*.json")) == journals

    code, out, _err = run(capsys, "apply", EXAMPLE, "--output", "json")
    doc = json.loads(out)
    assert (code, doc["status"], doc["steps"]) == (EXIT_OK, "unchanged", [])
    assert {r["kind"]: r["status"] for r in doc["resources"]} == {
        "trail": "unchanged",
        "bucket": "unchanged",
    }
    code, out, _err = run(capsys, "plan", EXAMPLE, "--output", "json")
    assert (code, json.loads(out)["unchanged"], json.loads(out)["steps"]) == (EXIT_OK, True, [])
    assert server_log.mutating() == []


def test_a_changed_setting_is_planned_as_current_to_wanted(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "apply", EXAMPLE, "--yes")[0] == EXIT_OK
    changed = write_answers(
        tmp_path,
        {
            "trail": {"name": "acme-audit", "region": "us-east-1", "tags": {"team": "security"}},
            "bucket": {"name": EXAMPLE_BUCKET},
            "encryption": {"type": "sse-s3"},
            "events": {"insights": ["ApiCallRateInsight"]},
        },
    )

    code, out, _err = run(capsys, "plan", changed)

    assert code == EXIT_OK
    assert "Plan (1 changes):" in out
    assert "CloudTrail Insights: off → ApiCallRateInsight" in out
    assert "undo: Turn Insights off again (it was off)" in out
    code, out, _err = run(capsys, "plan", changed, "--output", "json")
    (step,) = json.loads(out)["steps"]
    (setting,) = step["settings"]
    assert (setting["name"], setting["current"]) == ("CloudTrail Insights", "off")
    assert setting["wanted"].startswith("ApiCallRateInsight")


def test_apply_blocked_exits_2_with_nothing_changed(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, server_log: RequestLog
) -> None:
    # The seeded legacy-trail is homed in us-west-2: a trail cannot move to us-east-1.
    answers = write_answers(
        tmp_path,
        {
            "trail": {"name": "legacy-trail", "region": "us-east-1"},
            "bucket": {"name": "legacy-copy-logs"},
        },
    )
    code, out, _err = run(capsys, "apply", answers, "--yes", "--output", "json")

    assert code == EXIT_INVALID
    doc = json.loads(out)
    assert doc["status"] == "blocked"
    errors = [f["code"] for f in doc["findings"] if f["severity"] == "error"]
    assert "trail-home-region" in errors
    assert server_log.mutating() == []


def test_invalid_answers_exit_2(
    cli_env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    answers = write_answers(tmp_path, {"trail": {"name": "x"}, "bucket": {"name": "Bad_Bucket"}})
    code, out, err = run(capsys, "apply", answers, "--yes")

    assert code == EXIT_INVALID
    assert out == ""
    assert "trail.name" in err and "bucket.name" in err
    assert "Nothing was changed" in err and "Traceback" not in err


# ------------------------------------------------------------------ session problems


def test_no_credentials_suggests_the_sandbox(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(var, raising=False)

    code, out, err = run(capsys, "plan", EXAMPLE)

    assert code == EXIT_INVALID
    assert out == ""
    assert "No AWS credentials found" in err and "--sandbox" in err
    assert "Traceback" not in err


def test_unknown_region_is_explained(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "--region", "mars-north-1", "plan", EXAMPLE)

    assert code == EXIT_INVALID
    assert "mars-north-1" in err and "region" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------- the real --sandbox


def child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        XDG_STATE_HOME=str(tmp / "state"),
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture(scope="module")
def sandbox_apply(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[subprocess.CompletedProcess[str]]:
    """``python -m screens.cli --sandbox apply EXAMPLE --yes --output json``, a child process
    (the shared sandbox it starts is stopped after the module's tests)."""
    tmp = tmp_path_factory.mktemp("sandbox-apply")
    command = ["--sandbox", "apply", EXAMPLE, "--yes", "--output", "json"]
    yield subprocess.run(
        [sys.executable, "-m", "screens.cli", *command],
        cwd=tmp,
        env=child_env(tmp),
        capture_output=True,
        text=True,
        timeout=180,
    )
    stop_shared_sandboxes(tmp)


def test_the_real_sandbox_path_applies(sandbox_apply: subprocess.CompletedProcess[str]) -> None:
    assert sandbox_apply.returncode == EXIT_OK, sandbox_apply.stderr[-2000:]
    doc = json.loads(sandbox_apply.stdout)
    assert doc["status"] == "applied"
    assert doc["account"] == ACCOUNT
    assert all(c["ok"] for c in doc["verification"]["checks"])
    # The permissions were checked with the sandbox's simulator, and nothing is missing.
    assert not [f for f in doc["findings"] if f["code"].startswith("operator-permissions")]


def test_the_real_sandbox_path_prints_no_traceback(
    sandbox_apply: subprocess.CompletedProcess[str],
) -> None:
    assert "Traceback" not in sandbox_apply.stderr


def test_python_dash_m_has_the_engine_commands(tmp_path: Path) -> None:
    """Run as ``python -m``, the module is ``__main__``; the commands must still register."""
    shown = subprocess.run(
        [sys.executable, "-m", "screens.cli", "--help"],
        cwd=ROOT,
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0
    assert "apply" in shown.stdout and "plan" in shown.stdout
