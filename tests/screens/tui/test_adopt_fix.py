"""Changing an existing trail in the TUI: Welcome's "Change an existing trail", and Trail
health's "Fix failing controls", driven with keys and clicks against the seeded sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Checkbox, Input, Select, Switch

from screens.tui.adopting import CHANGES_ID
from screens.tui.adoption import FixesScreen, TrailPicker, adoption_of
from screens.tui.app import WizardApp
from screens.tui.status import StatusScreen
from screens.tui.steps.review import ReviewScreen
from screens.tui.steps.welcome import WelcomeScreen
from tests.screens.tui.test_review_apply import text_of, until
from tests.screens.tui.test_status import LEGACY, LEGACY_ARN, LEGACY_BUCKET, open_status
from tests.screens.tui.test_steps import connected, next_step

pytestmark = [pytest.mark.tui, pytest.mark.aws]

SIZE = (120, 40)


def changes_shown(app: WizardApp) -> str:
    """The changes panel's text, on one line per entry."""
    return text_of(app.screen, f"#{CHANGES_ID}")


async def adopt_legacy(pilot: Any) -> WizardApp:
    """Welcome's "Change an existing trail", the legacy trail picked with Enter."""
    app: WizardApp = await connected(pilot)
    await pilot.click("#change-trail")
    await until(pilot, lambda: isinstance(app.screen, TrailPicker), "the trail picker")
    await pilot.press("enter")
    await until(
        pilot,
        lambda: app.current_step == "trail" and adoption_of(app.state) is not None,
        "the trail step on the adopted trail",
    )
    await pilot.pause()
    return app


async def test_change_an_existing_trail_starts_from_its_settings_and_marks_changes(
    app_factory: Any,
) -> None:
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await adopt_legacy(pilot)
        screen = app.screen

        # Every field starts from the trail's current value.
        assert screen.query_one("#name", Input).value == LEGACY
        assert screen.query_one("#region", Select).value == "us-west-2"
        assert screen.query_one("#multi-region", Switch).value is False
        assert screen.query_one("#validation", Switch).value is False
        shown = changes_shown(app)
        assert f"Changing the existing trail {LEGACY} (home region us-west-2)" in shown
        assert "No change on this step yet" in shown

        # A change is marked beside what it was, as it is made.
        await pilot.click("#validation")
        await until(
            pilot,
            lambda: "Log file validation: yes, changed (was: no)" in changes_shown(app),
            "the change to be marked",
        )

        # The next step starts from the trail's bucket, and nothing is changed there.
        await next_step(pilot, "storage")
        assert "No change on this step yet" in changes_shown(app)
        assert app.state.draft["bucket"]["name"] == LEGACY_BUCKET
        assert app.state.draft["bucket"]["create"] is False

        for step in ("prefix", "encryption", "delivery", "events", "review"):
            await next_step(pilot, step)
        await until(
            pilot,
            lambda: isinstance(app.screen, ReviewScreen) and app.screen.mode != "loading",
            "the plan",
        )
        assert isinstance(app.screen, ReviewScreen) and app.screen.mode == "ready"
        review = changes_shown(app)
        # The review lists every change, and only that one.
        assert "Changed:" in review
        assert "Log file validation: yes, changed (was: no)" in review
        assert review.count("changed (was:") == 1


async def test_the_picker_can_be_cancelled(app_factory: Any) -> None:
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.click("#change-trail")
        await until(pilot, lambda: isinstance(app.screen, TrailPicker), "the trail picker")
        await pilot.press("escape")
        await until(pilot, lambda: app.current_step == "welcome", "the welcome screen")
        assert adoption_of(app.state) is None
        assert not app.screen.query(f"#{CHANGES_ID}")


async def test_fix_failing_controls_lists_each_fix_and_opens_the_review(app_factory: Any) -> None:
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        status = await open_status(pilot)
        assert status.selected == LEGACY_ARN
        assert not status.query_one("#status-fix").disabled

        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FixesScreen), "the fixes")
        fixes = app.screen
        assert isinstance(fixes, FixesScreen)
        boxes = {str(box.id): box for box in fixes.query(Checkbox).results(Checkbox)}
        assert list(boxes) == [
            "fix-multi-region",
            "fix-log-file-validation",
            "fix-sse-kms",
            "fix-access-logging",
            "fix-s3-object-events",
            "fix-cloudwatch-logs",
        ]
        assert all(box.value for box in boxes.values())
        assert str(boxes["fix-log-file-validation"].label) == "Turn on log file validation"

        # One fix removed: the rest open the review, each change marked there.
        boxes["fix-sse-kms"].value = False
        await pilot.pause()
        assert fixes.chosen() == [
            "multi-region",
            "log-file-validation",
            "access-logging",
            "s3-object-events",
            "cloudwatch-logs",
        ]
        await pilot.click("#fixes-continue")
        await until(
            pilot,
            lambda: isinstance(app.screen, ReviewScreen) and app.screen.mode != "loading",
            "the review of the fixes",
        )
        assert isinstance(app.screen, ReviewScreen) and app.screen.mode == "ready"
        # Trail health and the fixes are closed: the review is a step of the wizard again.
        assert not any(isinstance(s, (StatusScreen, FixesScreen)) for s in app.screen_stack)
        adoption = adoption_of(app.state)
        assert adoption is not None and "sse-kms" not in adoption.chosen
        answers = app.state.answers()
        assert answers.trail.multi_region and answers.trail.log_file_validation
        assert answers.encryption.type == "sse-s3"  # the removed fix
        review = changes_shown(app)
        assert (
            "Fixes chosen for: CloudTrail.1, CloudTrail.4, CloudTrail.7, S3.22, CloudTrail.5."
            in review
        )
        assert "Record every region: yes, changed (was: no)" in review
        assert "Encryption" not in review

        # Back walks the steps, each starting from the fixed values with its changes marked.
        await pilot.press("ctrl+b")
        await until(pilot, lambda: app.current_step == "events", "the events step")
        assert "Data events: S3 data events, every resource, changed (was: none)" in changes_shown(
            app
        )


async def test_fix_is_not_offered_for_a_trail_without_failed_controls(app_factory: Any) -> None:
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        status = await open_status(pilot)
        health = status.trail()
        assert health is not None
        # The legacy trail fails controls; with them all passing, Fix is not offered.
        passing = health.model_copy(
            update={"controls": [c.model_copy(update={"status": "pass"}) for c in health.controls]}
        )
        report = status.report
        assert report is not None
        status.show_report(report.model_copy(update={"trails": [passing]}))
        await pilot.pause()
        assert status.query_one("#status-fix").disabled
        assert status.check_action("fix", ()) is False


async def test_walking_an_adopted_trail_through_every_step_changes_nothing(
    app_factory: Any, sandbox: Any
) -> None:
    """A trail with a key, a topic, CloudWatch Logs, data events and Insights (an example,
    applied): every step keeps its values as they are, and the review plans nothing."""
    from pathlib import Path

    from wizard.model.answers_file import load_answers

    example = Path(__file__).resolve().parents[3] / "examples" / "cloudwatch-and-sns.yaml"
    chosen = load_answers(example)
    app: WizardApp = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        engine = app.backend.engine
        plan, found = engine.plan(chosen)
        outcome = engine.apply(chosen, plan, found=found)
        assert outcome.report.status == "applied", outcome.report.message
        welcome = app.screen
        assert isinstance(welcome, WelcomeScreen)
        welcome.start_connect()  # list the trails again, the new one among them
        await until(pilot, lambda: app.state.account is not None, "the welcome screen")
        await pilot.click("#change-trail")
        await until(pilot, lambda: isinstance(app.screen, TrailPicker), "the trail picker")
        await pilot.press("enter")  # acme-monitored comes first
        await until(pilot, lambda: app.current_step == "trail", "the adopted trail")
        adoption = adoption_of(app.state)
        assert adoption is not None and adoption.trail == chosen.trail.name
        assert adoption.adopted.answers.events.insights == ["ApiCallRateInsight"]

        for step in ("storage", "prefix", "encryption", "delivery", "events", "review"):
            assert "No change on this step yet" in changes_shown(app), app.current_step
            await next_step(pilot, step)
        await until(
            pilot,
            lambda: isinstance(app.screen, ReviewScreen) and app.screen.mode != "loading",
            "the plan",
        )
        review = app.screen
        assert isinstance(review, ReviewScreen) and review.mode == "ready"
        assert "No change yet" in changes_shown(app)
        assert review.plan is not None
        assert review.plan.steps == [], [s.summary for s in review.plan.steps]
