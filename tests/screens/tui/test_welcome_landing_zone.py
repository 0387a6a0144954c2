"""Welcome in a landing zone (issue 18): a member account recorded by a Control Tower-like
organization trail is told so, and "Add only what is missing" turns the draft into data
events only (no second, charged copy of management events)."""

from __future__ import annotations

from typing import Any

from screens.tui.app import WizardApp, make_app
from tests.screens.member_backend import MemberBackend
from tests.screens.tui.test_steps import SIZE, connected, text, until
from wizard.model.landing import CONTROL_TOWER_TRAIL
from wizard.sandbox.org_trails import seed_landing_zone


async def test_welcome_names_the_organization_trail_and_adds_only_what_is_missing(
    sandbox: Any, tmp_path: Any
) -> None:
    zone = seed_landing_zone(sandbox.endpoint_url)
    backend = MemberBackend(sandbox=True, endpoint=sandbox.endpoint_url)
    backend.member = zone.members["workload"]
    app: WizardApp = make_app(backend, answers_path=tmp_path / "saved.answers.yaml")

    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        button = app.screen.query_one("#add-only-missing")
        await until(pilot, lambda: bool(button.display), "the organization trails")
        await pilot.pause()

        coverage = " ".join(text(app, "#coverage").split())
        assert f"Already recorded by {CONTROL_TOWER_TRAIL} (AWS Control Tower's" in coverage
        assert zone.bucket in coverage and zone.management_account in coverage
        assert "A second copy of management events here is charged" in coverage

        await pilot.click("#add-only-missing")
        await pilot.pause()

        events = app.state.draft["events"]
        assert events["management"] == "none"
        assert [d["type"] for d in events["data"]] == ["s3"]
