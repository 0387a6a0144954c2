"""The Trail step's delegated administrator field (issue 18): shown in the management account
only, with the guide's help (the trail's ARN stays the management account's); the review
shows the registration step and preflight's findings about it."""

from __future__ import annotations

from typing import Any

from textual.widgets import Button

from screens.tui.widgets.findings import FindingsList
from tests.screens.tui.test_review_apply import open_review
from tests.screens.tui.test_steps import SIZE, answers, connected, next_step, text, type_into, until
from wizard.guide import DELEGATED_ADMIN_HELP
from wizard.model.names import check_account_id
from wizard.sandbox.org_trails import seed_landing_zone

SSE_S3 = {"type": "sse-s3"}


async def test_the_management_account_names_a_delegated_administrator(
    app_factory: Any, sandbox: Any
) -> None:
    zone = seed_landing_zone(sandbox.endpoint_url)
    audit = zone.members["audit"]
    app = app_factory(answers=answers(encryption=SSE_S3))
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        row = app.screen.query_one("#delegated-admin-row")
        await until(pilot, lambda: bool(row.display), "the delegated administrator field")
        hint = " ".join(text(app, "#delegated-admin-hint").split())
        assert f"This is the management account of {zone.organization_id}" in hint
        assert "none is registered yet" in hint
        shown = " ".join(" ".join(str(w.render()).split()) for w in row.query(".hint") if w.display)
        assert " ".join(DELEGATED_ADMIN_HELP.split())[:60] in shown

        await type_into(pilot, "#delegated-admin", "12345")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.current_step == "trail"  # refused, with the reason under the field
        assert str(check_account_id("12345")) in " ".join(
            text(app, "#delegated-admin-problem").split()
        )

        await type_into(pilot, "#delegated-admin", audit)
        await next_step(pilot, "storage")
        assert app.state.draft["organization"] == {"delegated_admin": audit}

        review = await open_review(pilot)
        assert review.plan is not None
        assert "register-delegated-admin" in [s.id for s in review.plan.steps]
        codes = [f.code for f in review.query_one(FindingsList).findings]
        assert "delegated-admin-planned" in codes


async def test_preflight_refusal_blocks_the_review(app_factory: Any, sandbox: Any) -> None:
    zone = seed_landing_zone(sandbox.endpoint_url)
    app = app_factory(
        answers=answers(
            encryption=SSE_S3, organization={"delegated_admin": zone.management_account}
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        errors = review.query_one(FindingsList).errors
        refused = [f for f in errors if f.code == "delegated-admin-not-ready"]
        assert refused, [f.code for f in errors]
        assert "cannot be its own delegated administrator" in refused[0].message
        assert review.query_one("#next", Button).disabled


async def test_a_standalone_account_is_not_asked(app_factory: Any) -> None:
    app = app_factory(answers=answers(encryption=SSE_S3))
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        await until(
            pilot,
            lambda: "not in an AWS organization" in text(app, "#organization-hint"),
            "the organization lookup",
        )
        assert not app.screen.query_one("#delegated-admin-row").display
        await next_step(pilot, "storage")
        assert not app.state.draft.get("organization", {}).get("delegated_admin")
