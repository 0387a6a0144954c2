"""Plain mode's review prints the cost preview: each choice a month, the total, why."""

from __future__ import annotations

from collections.abc import Callable

from screens.plain import wizard as plain
from tests.screens.plain.test_plain import (  # noqa: F401 (fixtures)
    NEW_BUCKET_SSE_S3,
    Run,
    Seq,
    plain_sandbox,
    run_wizard,
    sandbox,
)
from wizard.plan.cost import load_prices


def test_review_prints_the_monthly_cost_before_the_steps(
    run_wizard: Callable[..., Run],  # noqa: F811
) -> None:
    run = run_wizard({**NEW_BUCKET_SSE_S3, plain.PROMPT_NEXT: Seq("quit")})

    assert run.code == 0, run.output
    before_steps = run.output.split("Plan: ", 1)[0]
    assert "Cost per month (estimate): $" in before_steps
    section = before_steps.split("Cost per month (estimate): ", 1)[1]
    assert load_prices().as_of in section
    lines = [line.strip() for line in section.splitlines()]
    for what in ("Management events (this trail's copy)", "S3 storage of the log files", "Total"):
        assert any(line.startswith(what) and "$" in line for line in lines), what
    assert "Assumptions:" in section
    assert "measured from the event history" in " ".join(section.split())
