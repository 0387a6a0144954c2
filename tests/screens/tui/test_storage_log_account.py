"""The Storage step's bucket in another account: whose bucket, how the wizard reaches it.

Driven with keys and clicks against the seeded sandbox, which has a log-archive account
(:data:`~wizard.sandbox.server.DEMO_LOG_ACCOUNT`) with a bucket and a role the demo account
may assume. What the wizard then plans and applies is checked in that account with plain
boto3 clients holding its own credentials.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton

from screens.common.backend import Backend
from screens.common.log_account import WHO_WRITES
from screens.tui.app import WizardApp, make_app
from screens.tui.steps.review import ReviewScreen
from screens.tui.steps.storage import StorageScreen
from screens.tui.widgets.choice_table import ChoiceTable
from tests.screens.log_archive import assume_role_refused, log_archive_client
from tests.screens.tui.test_review_apply import apply_from_review, open_review_after_navigation
from tests.screens.tui.test_steps import (
    ACCOUNT,
    SIZE,
    answers,
    choose,
    connected,
    next_step,
    paste_into,
    text,
    type_into,
    until,
)
from wizard.sandbox.server import DEMO_LOG_ACCOUNT, DEMO_LOG_BUCKET, DEMO_LOG_ROLE_ARN

pytestmark = [pytest.mark.tui, pytest.mark.aws]


def shown(app: WizardApp, selector: str) -> str:
    """What a widget shows, its wrapped lines joined with single spaces."""
    return " ".join(text(app, selector).split())


async def existing_bucket_of_another_account(pilot: Pilot[Any]) -> WizardApp:
    """Open the Storage step and choose an existing bucket of another account."""
    app: WizardApp = pilot.app  # type: ignore[assignment]
    await connected(pilot)
    app.go_to("storage", app.state)
    await pilot.pause()
    await pilot.click("#mode-existing")
    await pilot.app.workers.wait_for_complete()
    await pilot.click("#owner-other")
    await pilot.pause()
    return app


async def connect_with_role(pilot: Pilot[Any], role: str) -> None:
    """Choose 'By assuming a role there', type the role and connect with Enter."""
    if not pilot.app.screen.query_one("#reach-role", RadioButton).value:
        await pilot.click("#reach-role")
    await paste_into(pilot, "#log-role", role)
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_role_in_the_log_archive_account_lists_its_buckets_and_applies(
    app_factory: Any, sandbox: Any
) -> None:
    """Assume the sandbox's log-archive role: its buckets are listed, the plan merges this
    trail's statements into the central bucket's policy with that account's credentials, and
    apply writes them there (nothing existing is removed)."""
    app = app_factory(answers=answers(encryption={"type": "sse-s3"}))
    async with app.run_test(size=SIZE) as pilot:
        app = await existing_bucket_of_another_account(pilot)
        screen = app.screen
        assert isinstance(screen, StorageScreen)
        # Before an account is given: the fields to fill, and who writes the policy.
        assert screen.query_one("#other-account").display
        assert not screen.query_one("#access-logging").display
        assert "its owner to turn on" in shown(app, "#access-other")
        assert f"reach it by assuming {DEMO_LOG_ROLE_ARN}" in shown(app, "#log-sandbox")

        await type_into(pilot, "#bucket-account", ACCOUNT)
        assert "is this account" in shown(app, "#bucket-account-problem")
        await type_into(pilot, "#bucket-account", DEMO_LOG_ACCOUNT)
        assert not screen.query_one("#bucket-account-problem").display
        # The sandbox's role fills the empty role field once its account is typed.
        await pilot.click("#reach-role")
        await pilot.pause()
        assert screen.query_one("#log-role", Input).value == DEMO_LOG_ROLE_ARN
        assert "Connect (or Enter)" in shown(app, "#log-status")

        await pilot.click("#connect-log")
        await until(pilot, lambda: "Connected" in shown(app, "#log-status"), "the connection")
        assert f"account {DEMO_LOG_ACCOUNT} as arn:aws:sts::{DEMO_LOG_ACCOUNT}:" in shown(
            app, "#log-status"
        )
        assert " ".join(WHO_WRITES["connected"].split()[:8]) in shown(app, "#who-writes")
        table = screen.query_one("#buckets", ChoiceTable)
        await until(pilot, lambda: table.keys == [DEMO_LOG_BUCKET], "the log-archive buckets")
        assert f"Buckets of account {DEMO_LOG_ACCOUNT}" in shown(app, "#buckets-label")
        await choose(pilot, "#buckets", "archive")
        assert "statements will be added to its policy, as its owner" in shown(app, "#chosen")

        await next_step(pilot, "prefix")
        bucket = app.state.draft["bucket"]
        assert (bucket["create"], bucket["name"], bucket["account"]) == (
            False,
            DEMO_LOG_BUCKET,
            DEMO_LOG_ACCOUNT,
        )
        assert set(app.backend.engine.callers) == {DEMO_LOG_ACCOUNT}

        for step in ("encryption", "delivery", "events", "review"):
            await next_step(pilot, step)
        review = await open_review_after_navigation(pilot)
        plan = review.plan
        assert plan is not None
        assert not plan.blocked, [f.code for f in plan.findings]
        central = [s for s in plan.steps if s.call.account == DEMO_LOG_ACCOUNT]
        assert [s.call.operation for s in central] == ["PutBucketPolicy"]
        assert "central-log-account" in {f.code for f in plan.findings}

        await apply_from_review(pilot)

    policy = json.loads(
        log_archive_client(sandbox, "s3").get_bucket_policy(Bucket=DEMO_LOG_BUCKET)["Policy"]
    )
    sids = [s.get("Sid") for s in policy["Statement"]]
    assert "DenyInsecureTransport" in sids  # the owner's statement is kept
    writes = [s for s in policy["Statement"] if s.get("Action") == "s3:PutObject"]
    assert writes and all(f"AWSLogs/{ACCOUNT}/" in json.dumps(s["Resource"]) for s in writes), (
        writes
    )


async def test_a_role_that_cannot_be_assumed_says_why_and_next_is_refused(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_factory(answers=answers())
    refused = f"arn:aws:iam::{DEMO_LOG_ACCOUNT}:role/NotTrusted"
    async with app.run_test(size=SIZE) as pilot:
        app = await existing_bucket_of_another_account(pilot)
        await type_into(pilot, "#bucket-account", DEMO_LOG_ACCOUNT)
        with assume_role_refused(monkeypatch, refused):
            await connect_with_role(pilot, refused)
        status = shown(app, "#log-status")
        assert status.startswith("✗ The role cannot be assumed")
        assert "AccessDenied" in status
        assert "trust policy" in status and f"{ACCOUNT}" in status
        assert app.backend.log_account is None
        assert not app.screen.query_one("#buckets", ChoiceTable).keys

        await paste_into(pilot, "#other-bucket", DEMO_LOG_BUCKET)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.current_step == "storage"
        assert f"Connect to account {DEMO_LOG_ACCOUNT} first" in shown(app, "#errors")

        # A role of another account than the one typed is refused before STS is asked.
        await connect_with_role(pilot, f"arn:aws:iam::{ACCOUNT}:role/AppReader")
        assert f"is in account {ACCOUNT}, but the bucket's owner is {DEMO_LOG_ACCOUNT}" in (
            shown(app, "#log-status")
        )


async def test_asking_the_owner_blocks_apply_with_the_statements_to_send(
    app_factory: Any, sandbox: Any
) -> None:
    """'It cannot: I will ask its owner': no credentials, the bucket typed by name; the
    review lists the statements for the owner and apply is blocked; nothing is changed."""
    before = log_archive_client(sandbox, "s3").get_bucket_policy(Bucket=DEMO_LOG_BUCKET)["Policy"]
    app = app_factory(answers=answers(encryption={"type": "sse-s3"}))
    async with app.run_test(size=SIZE) as pilot:
        app = await existing_bucket_of_another_account(pilot)
        await type_into(pilot, "#bucket-account", DEMO_LOG_ACCOUNT)
        await pilot.click("#reach-owner")
        await pilot.pause()
        screen = app.screen
        assert not screen.query_one("#connect-row").display
        who = shown(app, "#who-writes")
        assert who.startswith("The wizard cannot read or change the bucket's policy")
        assert "cannot be listed" in shown(app, "#buckets .choice-note")
        await paste_into(pilot, "#other-bucket", DEMO_LOG_BUCKET)
        assert "its owner adds the statements" in shown(app, "#chosen")

        await next_step(pilot, "prefix")
        assert app.state.draft["bucket"]["account"] == DEMO_LOG_ACCOUNT
        assert app.backend.engine.callers == {}
        for step in ("encryption", "delivery", "events", "review"):
            await next_step(pilot, step)
        review = await open_review_after_navigation(pilot)
        assert isinstance(review, ReviewScreen)
        plan = review.plan
        assert plan is not None and plan.blocked
        handoff = next(f for f in plan.findings if f.code == "central-handoff-required")
        assert f"Bucket policy of {DEMO_LOG_BUCKET} (account {DEMO_LOG_ACCOUNT}), add:" in (
            handoff.message
        )
        assert "central_handoff" in plan.policies

        # Back on the Storage step, the choice is as it was left.
        for step in ("events", "delivery", "encryption", "prefix", "storage"):
            await pilot.press("ctrl+b")
            await until(pilot, lambda: app.current_step == step, f"the {step} step")  # noqa: B023
        assert app.screen.query_one("#reach-owner", RadioButton).value
        assert app.screen.query_one("#other-bucket", Input).value == DEMO_LOG_BUCKET
    after = log_archive_client(sandbox, "s3").get_bucket_policy(Bucket=DEMO_LOG_BUCKET)["Policy"]
    assert after == before


async def test_a_profile_that_does_not_exist_is_named(sandbox: Any, tmp_path: Path) -> None:
    """Outside the sandbox a profile is offered; one missing from the AWS config is refused
    with the profiles that exist (here: none), and nothing is listed."""
    backend = Backend(sandbox=False, endpoint=sandbox.endpoint_url)
    app = make_app(backend, answers=answers(), answers_path=tmp_path / "saved.answers.yaml")
    async with app.run_test(size=SIZE) as pilot:
        app = await existing_bucket_of_another_account(pilot)
        assert not app.screen.query("#log-sandbox")
        assert app.screen.query_one("#profile-fields").display  # the default outside the sandbox
        await type_into(pilot, "#bucket-account", DEMO_LOG_ACCOUNT)
        await paste_into(pilot, "#log-profile", "log-archive")
        await pilot.click("#connect-log")
        await until(pilot, lambda: "✗" in shown(app, "#log-status"), "the refusal")
        status = shown(app, "#log-status")
        assert "Profile log-archive: The AWS profile 'log-archive' does not exist." in status
        assert "No profiles are configured" in status
        assert backend.log_account is None


async def test_the_sandbox_has_no_profiles(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        app = await existing_bucket_of_another_account(pilot)
        await type_into(pilot, "#bucket-account", DEMO_LOG_ACCOUNT)
        await pilot.click("#reach-profile")
        await paste_into(pilot, "#log-profile", "log-archive")
        await pilot.press("enter")
        await until(pilot, lambda: "✗" in shown(app, "#log-status"), "the refusal")
        assert "The sandbox has no profiles" in shown(app, "#log-status")


async def test_this_accounts_bucket_again_forgets_the_other_account(app_factory: Any) -> None:
    """Switching back to this account's buckets lists them again and drops bucket.account
    and the log-archive session from the engine."""
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        app = await existing_bucket_of_another_account(pilot)
        await type_into(pilot, "#bucket-account", DEMO_LOG_ACCOUNT)
        await connect_with_role(pilot, DEMO_LOG_ROLE_ARN)
        table = app.screen.query_one("#buckets", ChoiceTable)
        await until(pilot, lambda: table.keys == [DEMO_LOG_BUCKET], "the log-archive buckets")
        await pilot.click("#owner-this")
        await until(
            pilot, lambda: DEMO_LOG_BUCKET not in table.keys and bool(table.keys), "own list"
        )
        assert all(key.endswith(ACCOUNT) for key in table.keys)
        assert "Buckets of this account" in shown(app, "#buckets-label")
        assert app.screen.query_one("#access-logging").display
        await choose(pilot, "#buckets", "central")
        await next_step(pilot, "prefix")
        assert "account" not in {k for k, v in app.state.draft["bucket"].items() if v}
        assert app.backend.engine.callers == {}
