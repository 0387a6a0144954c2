"""``plan`` prints the cost preview: a ``cost`` object in JSON, a Cost section in text.

The command runs in-process against the session's sandbox server, as the other plan tests do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from screens.common.errors import EXIT_OK
from tests.sandbox_fixtures import RequestLog
from tests.screens.cli.test_plan_apply import cli_env, run, write_answers  # noqa: F401 (fixture)
from wizard.plan.cost import DAYS_PER_MONTH, load_prices

pytestmark = pytest.mark.aws

DATA_PER_DAY = 3_000_000


def answers_file(tmp_path: Path) -> str:
    return write_answers(
        tmp_path,
        {
            "trail": {"name": "acme-audit"},
            "bucket": {"name": "acme-audit-logs-123456789012"},
            "events": {"data": [{"type": "s3"}]},
            "cost": {"management_events_per_day": 40_000, "data_events_per_day": DATA_PER_DAY},
        },
    )


def test_plan_json_has_a_cost_object_with_items_a_total_and_the_prices_date(
    cli_env: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server_log: RequestLog,
) -> None:
    code, out, err = run(capsys, "plan", answers_file(tmp_path), "--output", "json")

    assert code == EXIT_OK, err
    cost = json.loads(out)["cost"]
    prices = load_prices()
    assert cost["prices_as_of"] == prices.as_of
    assert cost["assumptions"] and all(isinstance(a, str) for a in cost["assumptions"])
    by_what = {i["what"]: i for i in cost["items"]}
    data = by_what["Data events (s3)"]
    price = prices.prices["cloudtrail_data_events"]
    expected = round(DATA_PER_DAY * DAYS_PER_MONTH * price.default / price.per, 2)
    assert (data["monthly_usd_low"], data["monthly_usd_high"]) == (expected, expected)
    assert "cost.data_events_per_day" in data["basis"]
    assert cost["total"] == {
        "monthly_usd_low": round(sum(i["monthly_usd_low"] for i in cost["items"]), 2),
        "monthly_usd_high": round(sum(i["monthly_usd_high"] for i in cost["items"]), 2),
    }
    assert server_log.mutating() == []  # the cost reads only read


def test_plan_text_has_the_cost_section_before_the_steps(
    cli_env: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code, out, err = run(capsys, "plan", answers_file(tmp_path))

    assert code == EXIT_OK, err
    before_steps = out.split("\nPlan (", 1)[0]
    assert "Cost per month (estimate): $" in before_steps
    assert "Data events (s3)" in before_steps
    assert load_prices().as_of in before_steps
