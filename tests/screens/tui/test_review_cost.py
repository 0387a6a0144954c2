"""The review's Cost tab: the monthly estimate per choice, the total, and its assumptions.

Planned against the seeded sandbox like every review test; the tab is read as a person sees
it (the table's text), and copied like any other tab.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import TabbedContent

from screens.tui.steps.review import PlanView
from tests.screens.tui.test_review_apply import SIZE, answers, open_review, text_of
from wizard.plan.cost import load_prices

pytestmark = [pytest.mark.tui, pytest.mark.aws]


async def test_the_cost_tab_shows_each_choice_the_total_and_the_prices_date(
    app_factory: Any,
) -> None:
    app = app_factory(
        answers=answers(
            encryption={"type": "sse-kms", "key": "new", "rotation": True},
            cost={"management_events_per_day": 250_000},
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        plan = review.plan
        assert plan is not None and plan.cost is not None
        tabs = review.query_one("#tabs", TabbedContent)
        tabs.active = "cost"
        await pilot.pause()
        assert tabs.active == "cost"

        table = " ".join(text_of(review, "#cost-table").split())
        for item in plan.cost.items:
            assert f"{item.what} {item.range_text}" in table
        assert f"Total {plan.cost.total.range_text}" in table
        assert "250,000" in table  # the volume the answers file set, in the basis
        notes = " ".join(text_of(review, "#cost-notes").split())
        assert "Assumptions:" in notes
        assert "cost.management_events_per_day" in notes

        exported = review.query_one(PlanView).exports["cost"]
        assert load_prices().as_of in exported.text
        assert plan.cost.total.range_text in exported.text
