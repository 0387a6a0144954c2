"""The review's Controls tab: which CIS / Security Hub controls the planned trail will pass.

Planned against the seeded sandbox like every review test; the tab is read as a person
sees it (the table's text), and copied like any other tab.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import TabbedContent

from screens.tui.steps.review import PlanView
from tests.screens.tui.test_review_apply import SIZE, answers, open_review, text_of

pytestmark = [pytest.mark.tui, pytest.mark.aws]


def rows(text: str) -> dict[str, str]:
    """Control id -> the verdict mark on its row of the table text."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        for mark in ("✓ pass", "✗ fail", "– n/a", "? after apply"):
            if line.lstrip().startswith(mark):
                control = line.split(mark, 1)[1].split()[0]
                found[control] = mark
    return found


async def test_sse_s3_answers_show_the_failing_controls_and_how_to_pass(
    app_factory: Any,
) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        tabs = review.query_one("#tabs", TabbedContent)
        tabs.active = "controls"
        await pilot.pause()
        assert tabs.active == "controls"
        table = text_of(review, "#controls-table")
        assert rows(table) == {
            "CloudTrail.1": "✓ pass",
            "CloudTrail.4": "✓ pass",
            "CloudTrail.2": "✗ fail",
            "KMS.4": "– n/a",
            "CloudTrail.6": "✓ pass",
            "CloudTrail.7": "✗ fail",
            "Retention": "✓ pass",
            "S3.22": "✗ fail",
            "S3.23": "✗ fail",
            "CloudTrail.5": "✗ fail",
        }
        assert "log files use SSE-S3" in table
        assert "To pass: choose SSE-KMS" in " ".join(table.split())
        exported = review.query_one(PlanView).exports["controls"]
        assert "fail    CloudTrail.2 / CIS 4.5 (v7.0)" in exported.text
        assert "4 pass, 5 fail, 1 not applicable" in " ".join(exported.text.split())


async def test_a_new_kms_key_with_cloudwatch_logs_passes_those_controls(
    app_factory: Any,
) -> None:
    app = app_factory(
        answers=answers(
            encryption={"type": "sse-kms", "key": "new", "rotation": True},
            cloudwatch_logs={"log_group": "aws-cloudtrail-logs-acme"},
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        review.query_one("#tabs", TabbedContent).active = "controls"
        await pilot.pause()
        found = rows(text_of(review, "#controls-table"))
        assert found["CloudTrail.2"] == "✓ pass"
        assert found["KMS.4"] == "✓ pass"
        assert found["CloudTrail.5"] == "✓ pass"
        assert found["CloudTrail.7"] == "✗ fail"
