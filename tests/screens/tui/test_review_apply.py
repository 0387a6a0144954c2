"""Review -> (dry-run | apply) -> done, driven through the TUI against the seeded sandbox.

Every test talks to the shared emulator over HTTP; what the wizard did is checked with plain
boto3 clients, not through the wizard's own code.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Log, Static, TabbedContent
from textual.worker import WorkerCancelled, WorkerFailed

from screens.tui.app import WizardApp
from screens.tui.confirm import ConfirmScreen
from screens.tui.steps.apply import ApplyScreen
from screens.tui.steps.done import DoneScreen
from screens.tui.steps.review import PlanView, ReviewScreen
from screens.tui.widgets.findings import FindingsList
from screens.tui.widgets.policy_view import PolicyDiff, PolicyJson
from tests.callers import FailOn, PassThroughCaller
from wizard.model.answers import Answers
from wizard.model.readonly import is_read_only

pytestmark = [pytest.mark.tui, pytest.mark.aws]

ACCOUNT = "123456789012"
REGION = "us-east-1"
APP_BUCKET = f"demo-app-data-{ACCOUNT}"
SIZE = (120, 40)
ROUNDS = 200
"""Upper bound of pause rounds while waiting for a condition (never reached when healthy)."""


def answers(**sections: Mapping[str, Any]) -> Answers:
    """Answers for trail ``acme``: a new bucket with SSE-S3 unless overridden."""
    data: dict[str, Any] = {
        "trail": {"name": "acme"},
        "bucket": {"name": "acme-trail-logs-5k2", "create": True},
        "encryption": {"type": "sse-s3"},
    }
    data.update({k: dict(v) for k, v in sections.items()})
    return Answers.model_validate(data)


def client(sandbox: Any, service: str, region: str = REGION) -> Any:
    """A plain boto3 client on the sandbox, with dummy credentials."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=region,
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


async def until(pilot: Pilot[Any], condition: Any, what: str) -> None:
    """Let workers and messages run until ``condition()`` holds (no sleeping)."""
    for _ in range(ROUNDS):
        if condition():
            return
        # Cancelled and failed workers are the screens' business (they show it).
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError(f"timed out waiting for {what}")


async def settle(pilot: Pilot[Any]) -> None:
    """Let the running workers finish (or be cancelled) and their messages arrive."""
    with contextlib.suppress(WorkerCancelled, WorkerFailed):
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_review(pilot: Pilot[Any]) -> ReviewScreen:
    """Wait for the welcome screen to connect, then jump to the review and wait for the plan."""
    app: WizardApp = pilot.app  # type: ignore[assignment]
    await until(pilot, lambda: app.state.account is not None, "the welcome screen to connect")
    app.go_to("review", app.state)
    await until(
        pilot,
        lambda: isinstance(app.screen, ReviewScreen) and app.screen.mode != "loading",
        "the plan",
    )
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    assert screen.mode == "ready", screen.query_one("#review-failed-message", Static).content
    return screen


async def apply_from_review(pilot: Pilot[Any]) -> tuple[ApplyScreen, str]:
    """Press Apply, confirm, and wait for the apply to end; return the screen and question."""
    app = pilot.app
    await pilot.click("#next")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
    assert isinstance(app.screen, ConfirmScreen)
    question = app.screen.question
    await pilot.click("#yes")
    await until(
        pilot,
        lambda: isinstance(app.screen, ApplyScreen) and app.screen.finished,
        "the apply to finish",
    )
    screen = app.screen
    assert isinstance(screen, ApplyScreen)
    return screen, question


async def continue_to_done(pilot: Pilot[Any]) -> DoneScreen:
    """Press Continue on the finished apply screen."""
    await pilot.click("#next")
    await until(pilot, lambda: isinstance(pilot.app.screen, DoneScreen), "the done screen")
    screen = pilot.app.screen
    assert isinstance(screen, DoneScreen)
    return screen


def at_step(app: WizardApp, step: str) -> Callable[[], bool]:
    """A condition: the app shows ``step``."""
    return lambda: app.current_step == step


def text_of(screen: Any, selector: str) -> str:
    """The plain text of a Static, whatever it holds (text, a table)."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(screen.query_one(selector, Static).content)
    return console.export_text().strip()


def statuses(screen: ApplyScreen) -> dict[str, str]:
    """Step id -> the status shown in the apply table."""
    table = screen.query_one("#apply-steps", DataTable)
    return {str(row.value): str(table.get_cell(row, "status")) for row in table.rows}


# --------------------------------------------------------------------------------------


async def test_new_bucket_sse_s3_applies_and_verifies(app_factory: Any, sandbox: Any) -> None:
    """(a) New bucket, SSE-S3: review -> Apply -> confirm -> apply -> done, verified."""
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        view = review.query_one(PlanView)
        assert not review.query_one("#next", Button).disabled
        assert "bucket-policy" in view.exports and "cli" in view.exports
        assert "acme-trail-logs-5k2" in review.query_one("#bucket-policy-json", PolicyJson).text

        apply, question = await apply_from_review(pilot)
        plan = app.state.plan
        assert plan is not None
        assert question.startswith(
            f"Apply {len(plan.steps)} changes to account {ACCOUNT} in region {REGION}?"
        )
        assert set(statuses(apply).values()) == {"✓ done"}
        assert not apply.running

        done = await continue_to_done(pilot)
        assert app.state.outcome is not None
        assert app.state.outcome.report.status == "applied"
        assert "every verification check passed" in text_of(done, "#headline")
        assert text_of(done, "#trail-arn") == f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/acme"
        verification = text_of(done, "#verification")
        assert "trail is logging" in verification and "✗" not in verification
        assert text_of(done, "#log-path") == (
            f"s3://acme-trail-logs-5k2/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/YYYY/MM/DD/"
        )
        assert app.exit_code == 0

    s3 = client(sandbox, "s3")
    policy = json.loads(s3.get_bucket_policy(Bucket="acme-trail-logs-5k2")["Policy"])
    principals = [s.get("Principal") for s in policy["Statement"]]
    assert {"Service": "cloudtrail.amazonaws.com"} in principals
    cloudtrail = client(sandbox, "cloudtrail")
    assert cloudtrail.get_trail_status(Name="acme")["IsLogging"] is True
    trail = cloudtrail.get_trail(Name="acme")["Trail"]
    assert trail["S3BucketName"] == "acme-trail-logs-5k2"


async def test_existing_bucket_is_merged_not_overwritten(app_factory: Any, sandbox: Any) -> None:
    """(b) Existing bucket with a prefix: a diff tab that only adds; every statement kept."""
    s3 = client(sandbox, "s3")
    original = s3.get_bucket_policy(Bucket=APP_BUCKET)["Policy"]
    app = app_factory(
        answers=answers(bucket={"name": APP_BUCKET, "create": False, "prefix": "trail"})
    )
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        tabs = review.query_one("#tabs", TabbedContent)
        tabs.active = "bucket-policy-diff"
        await pilot.pause()
        diff = review.query_one("#bucket-policy-diff-view", PolicyDiff)
        assert diff.region.height > 0  # on screen
        assert diff.nothing_removed
        assert diff.headline == "2 statements added, nothing removed"
        assert "removed" not in {line.kind for line in diff.summary.lines}
        assert diff.summary.added_lines >= 1

        await apply_from_review(pilot)
        assert app.state.outcome is not None
        assert app.state.outcome.report.status == "applied"

    merged = s3.get_bucket_policy(Bucket=APP_BUCKET)["Policy"]
    for statement in json.loads(original)["Statement"]:
        assert json.dumps(statement) in merged  # byte-for-byte, in the new text
    added = [
        s
        for s in json.loads(merged)["Statement"]
        if s.get("Principal") == {"Service": "cloudtrail.amazonaws.com"}
    ]
    assert len(added) == 2
    assert any(f"{APP_BUCKET}/trail/AWSLogs/{ACCOUNT}/" in s["Resource"] for s in added)


async def test_dry_run_sends_no_mutating_request(app_factory: Any, sandbox: Any) -> None:
    """(d) Dry-run from the review: no mutating call, nothing created, and it says so."""
    app = app_factory(answers=answers(encryption={"type": "sse-kms", "key": "new"}))
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        caller: Any = app.backend.engine.caller
        before = caller.stats
        await pilot.click("#dry-run")
        await until(pilot, lambda: isinstance(app.screen, DoneScreen), "the dry-run")
        done = app.screen
        assert isinstance(done, DoneScreen)
        sent = caller.stats - before
        everything = caller.stats
        assert not [op for (_svc, op) in everything if not is_read_only(op)], everything
        assert all(is_read_only(op) for (_svc, op) in sent)
        plan = review.plan
        assert plan is not None
        assert app.state.dry_run_calls == len(plan.steps)
        assert text_of(done, "#headline") == "DRY RUN — NOTHING WAS CHANGED"
        assert f"{len(plan.steps)} changes recorded, none sent" in text_of(done, "#dry-run-summary")
        recorded = text_of(done, "#recorded-calls")
        assert "s3:CreateBucket" in recorded and "cloudtrail:CreateTrail" in recorded
        assert app.exit_code == 0

        # Back to the review, which plans again; still nothing was changed.
        await pilot.click("#back")
        await until(
            pilot,
            lambda: isinstance(app.screen, ReviewScreen) and app.screen.mode == "ready",
            "the review again",
        )

    with pytest.raises(ClientError):
        client(sandbox, "s3").head_bucket(Bucket="acme-trail-logs-5k2")
    trails = client(sandbox, "cloudtrail").describe_trails()["trailList"]
    assert "acme" not in {t["Name"] for t in trails}


async def test_back_to_storage_and_rename_updates_every_policy(app_factory: Any) -> None:
    """(e) Review -> Back to Storage -> change the bucket name -> review shows the new name."""
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        old = review.query_one(PlanView).exports["bucket-policy"].text
        assert "acme-trail-logs-5k2" in old

        for expected in ("events", "delivery", "encryption", "prefix", "storage"):
            await pilot.press("ctrl+b")
            await until(pilot, at_step(app, expected), f"Back to {expected}")
            await settle(pilot)
        name = app.screen.query_one("#bucket-name", Input)
        name.value = "acme-renamed-logs-9q"
        await pilot.pause()
        for expected in ("prefix", "encryption", "delivery", "events", "review"):
            await settle(pilot)
            await pilot.pause()
            await pilot.press("ctrl+n")
            await until(pilot, at_step(app, expected), f"Next to {expected}")
        review = await open_review_after_navigation(pilot)

        exports = review.query_one(PlanView).exports
        assert "acme-renamed-logs-9q" in exports["bucket-policy"].text
        assert "acme-trail-logs-5k2" not in exports["bucket-policy"].text
        for export in exports.values():
            assert "acme-trail-logs-5k2" not in export.text, export.label


async def open_review_after_navigation(pilot: Pilot[Any]) -> ReviewScreen:
    """Wait for the review reached by Next to finish planning."""
    app = pilot.app
    await until(
        pilot,
        lambda: isinstance(app.screen, ReviewScreen) and app.screen.mode != "loading",
        "the plan",
    )
    assert isinstance(app.screen, ReviewScreen) and app.screen.mode == "ready"
    return app.screen


async def test_failure_rolls_back_and_leaves_nothing(app_factory: Any, sandbox: Any) -> None:
    """(f) CreateTrail fails: the rollback is shown step by step; bucket gone, key scheduled."""
    kms = client(sandbox, "kms")
    keys_before = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    app = app_factory(answers=answers(encryption={"type": "sse-kms", "key": "new"}))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        engine = app.backend.engine
        engine.caller = FailOn(engine.caller, "CreateTrail")
        await open_review(pilot)
        apply, _question = await apply_from_review(pilot)

        shown = statuses(apply)
        assert shown["create-trail"] == "✗ failed"
        assert shown["create-bucket"] == "↺ rolled back"
        assert shown["create-key"] == "↺ rolled back"
        log = "\n".join(apply.query_one("#apply-log", Log).lines)
        assert "Rolling back" in log and "injected" in log
        assert "undone" in text_of(apply, "#apply-heading")

        done = await continue_to_done(pilot)
        assert "Every change already made was undone" in text_of(done, "#headline")
        assert "injected" in text_of(done, "#apply-error")
        rolled = text_of(done, "#rolled-back")
        assert "↺ Create bucket acme-trail-logs-5k2" in rolled
        assert app.exit_code == 1

    with pytest.raises(ClientError):
        client(sandbox, "s3").head_bucket(Bucket="acme-trail-logs-5k2")
    new_keys = {k["KeyId"] for k in kms.list_keys()["Keys"]} - keys_before
    assert new_keys, "the apply created a key"
    for key_id in new_keys:
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    trails = client(sandbox, "cloudtrail").describe_trails()["trailList"]
    assert "acme" not in {t["Name"] for t in trails}


async def test_error_finding_blocks_apply(app_factory: Any) -> None:
    """A key in eu-west-1 for a us-east-1 bucket: kms-region-mismatch blocks Apply."""
    key = f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/app-data-eu"
    app = app_factory(answers=answers(encryption={"type": "sse-kms", "key": key}))
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        findings = review.query_one(FindingsList)
        mismatch = [f for f in findings.errors if f.code == "kms-region-mismatch"]
        assert mismatch, [f.code for f in findings.findings]
        assert "eu-west-1" in mismatch[0].message and "us-east-1" in mismatch[0].message
        assert findings.findings[0].severity == "error"  # errors first
        assert review.query_one("#next", Button).disabled
        reason = str(review.query_one("#apply-blocked").render())
        assert "kms-region-mismatch" in reason and "blocked" in reason
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)  # no confirmation, no apply


async def test_copy_and_save_a_tab(
    app_factory: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copy puts the tab's text on the clipboard; Save writes <trail>-<tab>.<ext> in cwd."""
    monkeypatch.chdir(tmp_path)
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        review.query_one("#tabs", TabbedContent).active = "cli"
        await pilot.pause()
        await pilot.press("c")
        assert app.clipboard.startswith("#!/usr/bin/env bash")
        await pilot.press("s")
        await pilot.press("s")
        saved = tmp_path / "acme-cli.sh"
        assert saved.read_text(encoding="utf-8") == app.clipboard
        assert (tmp_path / "acme-cli-2.sh").exists()  # never overwrites


async def test_escape_cancels_planning(app_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Esc while the plan is built stops waiting and offers Retry; a late plan is ignored."""
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        engine = app.backend.engine
        release = threading.Event()
        plan = engine.plan

        def slow_plan(answers: Answers, found: Any = None) -> Any:
            release.wait(timeout=60)  # a slow account: discovery takes a while
            return plan(answers, found)

        monkeypatch.setattr(engine, "plan", slow_plan)
        app.go_to("review", app.state)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.mode == "loading"
        await pilot.press("escape")
        assert screen.mode == "failed"
        assert "cancelled" in str(screen.query_one("#review-failed-message").render())
        release.set()
        await settle(pilot)
        assert screen.mode == "failed"  # the late plan is ignored
        await pilot.press("r")
        await until(pilot, lambda: screen.mode == "ready", "the retried plan")


async def test_stale_plan_is_refused(app_factory: Any, sandbox: Any) -> None:
    """The bucket policy changes after the review: apply refuses, nothing changes, re-review."""
    s3 = client(sandbox, "s3")
    app = app_factory(
        answers=answers(bucket={"name": APP_BUCKET, "create": False, "prefix": "trail"})
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot)
        changed = json.loads(s3.get_bucket_policy(Bucket=APP_BUCKET)["Policy"])
        changed["Statement"] = changed["Statement"][:1]
        s3.put_bucket_policy(Bucket=APP_BUCKET, Policy=json.dumps(changed))

        apply, _question = await apply_from_review(pilot)
        assert app.state.outcome is not None
        assert app.state.outcome.report.status == "stale"
        assert text_of(apply, "#apply-heading").startswith("Nothing was changed")
        assert set(statuses(apply).values()) == {"– not started"}

        done = await continue_to_done(pilot)
        assert text_of(done, "#headline") == "Nothing was changed."
        assert done.query_one("#back", Button).display
        await pilot.click("#back")
        await open_review_after_navigation(pilot)
        assert app.exit_code == 1

    assert s3.get_bucket_policy(Bucket=APP_BUCKET)["Policy"] == json.dumps(changed)
    trails = client(sandbox, "cloudtrail").describe_trails()["trailList"]
    assert "acme" not in {t["Name"] for t in trails}


async def test_unwritable_journal_changes_nothing(
    app_factory: Any, sandbox: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal cannot be written: the apply screen says nothing was changed, and it is so."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setattr(
        "screens.tui.steps.apply.new_journal_path", lambda label="apply": blocker / "journal.json"
    )
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot)
        apply, _question = await apply_from_review(pilot)
        assert text_of(apply, "#apply-heading").startswith("✗ Nothing was changed")
        assert app.exit_code == 1

    with pytest.raises(ClientError):
        client(sandbox, "s3").head_bucket(Bucket="acme-trail-logs-5k2")


async def test_cloudformation_tab_exports_the_same_setup(
    app_factory: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review offers the CloudFormation export of the answers, and saves it as YAML."""
    monkeypatch.chdir(tmp_path)
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        review.query_one("#tabs", TabbedContent).active = "cfn"
        await pilot.pause()
        await pilot.press("s")
        saved = (tmp_path / "acme-cfn.yaml").read_text(encoding="utf-8")
        assert "AWS::CloudTrail::Trail" in saved
        assert "AWS::S3::BucketPolicy" in saved


class SignallingCaller(PassThroughCaller):
    """The engine's caller; CreateTrail first sends this process SIGTERM (a `kill`)."""

    def __init__(self, inner: Any, screen: Callable[[], Any]) -> None:
        super().__init__(inner)
        self.screen = screen

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if operation == "CreateTrail":
            import os
            import signal

            # The screen must be watching SIGTERM, or the signal would end the test run.
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
            os.kill(os.getpid(), signal.SIGTERM)
            assert self.screen().cancel_event.wait(30), "SIGTERM did not stop the apply"
        return self.inner.call(service, region, operation, params)


async def test_sigterm_during_apply_rolls_back_everything(app_factory: Any, sandbox: Any) -> None:
    """`kill` while the trail is being created: the run stops, undoes everything, says why."""
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        engine = app.backend.engine
        engine.caller = SignallingCaller(engine.caller, lambda: app.screen)
        await open_review(pilot)
        apply, _question = await apply_from_review(pilot)
        log = "\n".join(apply.query_one("#apply-log", Log).lines)
        assert "SIGTERM received" in log
        assert apply.outcome is not None and apply.outcome.report.status == "cancelled"
        assert set(statuses(apply).values()) <= {"↺ rolled back", "– not started"}
        import signal

        assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None), "handler removed"
    trails = client(sandbox, "cloudtrail").describe_trails()["trailList"]
    assert "acme" not in {t["Name"] for t in trails}
