"""The cost preview on the seeded sandbox: what it reads of the account, and what it makes of it.

The account's recent activity comes from the event history (LookupEvents) within a call
budget, counted here with a caller that records every call; another trail that already
records management events makes this trail's copy a charged one; numbers in the answers
file replace the measurement (and spare its calls).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from tests.callers import FailOn, PassThroughCaller
from tests.wizard.sandbox.test_delivery import logging_trail
from wizard.account.activity import HOME_PAGES, MAX_LOOKUP_CALLS, read_activity
from wizard.engine import Engine
from wizard.export.text import plan_to_json, plan_to_text
from wizard.model.answers import Answers
from wizard.model.cost import CostItem
from wizard.model.plan import Plan
from wizard.plan.cost import DAYS_PER_MONTH, load_prices
from wizard.ports import AwsCaller

pytestmark = pytest.mark.aws

HOME = "us-east-1"
N = 1_000_000
"""Management events a day, when a test states them."""


class Counted(PassThroughCaller):
    """Forwards every call and records (service, region, operation)."""

    def __init__(self, inner: AwsCaller) -> None:
        super().__init__(inner)
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str, str]] = []

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            self.calls.append((service, region, operation))
        return self.inner.call(service, region, operation, params)

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        with self.lock:
            self.calls.append((service, region, operation))
        return self.inner.paginate(service, region, operation, result_key, params)

    def of(self, operation: str, region: str | None = None) -> int:
        """How many calls of ``operation`` (in ``region``) were made."""
        return sum(
            1 for _s, r, o in self.calls if o == operation and (region is None or r == region)
        )


def answers(**sections: Mapping[str, Any]) -> Answers:
    data: dict[str, Any] = {
        "trail": {"name": "acme", "region": HOME},
        "bucket": {"name": "acme-cost-logs-5k2"},
        "encryption": {"type": "sse-s3"},
    }
    data.update({k: dict(v) for k, v in sections.items()})
    return Answers.model_validate(data)


def management(plan: Plan) -> CostItem:
    assert plan.cost is not None
    (found,) = [i for i in plan.cost.items if i.what.startswith("Management events")]
    return found


def counted_engine(engine: Any) -> tuple[Engine, Counted]:
    counted = Counted(engine.caller)
    return Engine(counted, engine.ctx, check_permissions=False), counted


# ------------------------------------------------------------------ the activity read


def test_the_activity_read_stops_at_its_call_budget(engine: Any, aws: Any) -> None:
    # More events in the home region than its pages hold, and more regions than the budget.
    for _ in range(HOME_PAGES * 50 + 20):
        aws("cloudtrail", HOME).list_trails()
    others = [f"eu-test-{n}" for n in range(MAX_LOOKUP_CALLS + 10)]
    counted = Counted(engine.caller)

    activity = read_activity(counted, HOME, others)

    assert counted.of("LookupEvents") == activity.calls <= MAX_LOOKUP_CALLS
    assert counted.of("LookupEvents", HOME) == HOME_PAGES
    home = activity.regions[0]
    assert home.events == HOME_PAGES * 50
    assert not home.complete  # a rate, extrapolated: the pages ran out before the day did
    read = [r.region for r in activity.regions[1:]]
    assert read + activity.unsampled == others
    assert len(read) == MAX_LOOKUP_CALLS - HOME_PAGES


def test_a_smaller_budget_is_kept_too(engine: Any) -> None:
    counted = Counted(engine.caller)

    activity = read_activity(counted, HOME, ["us-west-2", "eu-west-1"], max_calls=2)

    assert counted.of("LookupEvents") <= 2
    assert activity.calls == counted.of("LookupEvents")


def test_a_quiet_region_is_counted_exactly(engine: Any, aws: Any) -> None:
    region = "eu-west-1"
    before = read_activity(engine.caller, region).regions[0]
    for _ in range(5):
        aws("cloudtrail", region).describe_trails()

    after = read_activity(engine.caller, region).regions[0]

    assert before.complete and after.complete
    # Our five calls, and the first read's own LookupEvents calls (recorded like any call).
    assert after.events == before.events + before.calls + 5
    assert after.per_day == after.events  # a whole day counted: no extrapolation


# ------------------------------------------------------------------ copies of management events


def test_a_trail_already_recording_management_events_makes_this_copy_charged(
    engine: Any, aws: Any
) -> None:
    logging_trail(aws, "company-wide", "acme-company-wide-logs", IsMultiRegionTrail=True)

    plan, _found = engine.plan(answers(cost={"management_events_per_day": N}))

    price = load_prices().prices["cloudtrail_management_copy"]
    expected = round(N * DAYS_PER_MONTH * price.default / price.per, 2)
    item = management(plan)
    assert (item.monthly_usd_low, item.monthly_usd_high) == (expected, expected)
    assert "company-wide (multi-region trail)" in item.basis
    assert "additional copy" in item.basis


def test_without_another_copy_in_its_region_this_copy_is_free(engine: Any, aws: Any) -> None:
    # The seed's legacy trail records us-west-2 only; a stopped trail records nothing.
    logging_trail(aws, "paused", "acme-paused-logs", IsMultiRegionTrail=True)
    aws("cloudtrail").stop_logging(Name="paused")

    single = answers(
        trail={"name": "acme", "region": HOME, "multi_region": False},
        cost={"management_events_per_day": N},
    )
    plan, _found = engine.plan(single)

    item = management(plan)
    assert (item.monthly_usd_low, item.monthly_usd_high) == (0.0, 0.0)
    assert "paused" not in item.basis


def test_the_trail_being_updated_is_not_a_copy_of_itself(engine: Any, aws: Any) -> None:
    logging_trail(aws, "acme", "acme-own-logs", IsMultiRegionTrail=True)

    updating = answers(
        trail={"name": "acme", "region": HOME, "multi_region": False},
        bucket={"name": "acme-own-logs", "create": False},
        cost={"management_events_per_day": N},
    )
    plan, _found = engine.plan(updating)

    assert management(plan).monthly_usd_high == 0.0


# ------------------------------------------------------------------ volume


def test_numbers_in_the_answers_replace_the_measurement_and_its_calls(engine: Any) -> None:
    counting, counted = counted_engine(engine)

    plan, _found = counting.plan(answers(cost={"management_events_per_day": N}))

    assert counted.of("LookupEvents") == 0
    assert "set in the answers file" in management(plan).basis
    assert plan.cost is not None
    assert "cost.management_events_per_day" in plan.cost.volume_source


def test_without_numbers_the_activity_is_measured_within_the_budget(engine: Any) -> None:
    counting, counted = counted_engine(engine)

    plan, _found = counting.plan(answers())

    assert 1 <= counted.of("LookupEvents") <= MAX_LOOKUP_CALLS
    assert counted.of("DescribeRegions") == 1
    assert "measured from the event history" in management(plan).basis
    assert plan.cost is not None
    assert f"LookupEvents, {counted.of('LookupEvents')} call" in plan.cost.volume_source


def test_when_the_event_history_is_refused_the_stated_default_is_priced(engine: Any) -> None:
    refusing = FailOn(
        engine.caller, "LookupEvents", code="AccessDeniedException", status=400, times=100
    )
    plan, _found = Engine(refusing, engine.ctx, check_permissions=False).plan(answers())

    assert plan.cost is not None
    assert "a stated default" in management(plan).basis
    assert "LookupEvents was refused (AccessDeniedException)" in plan.cost.volume_source


# ------------------------------------------------------------------ where it shows


def test_plan_json_has_the_cost_object(engine: Any) -> None:
    plan, _found = engine.plan(
        answers(
            encryption={"type": "sse-kms", "key": "new"},
            cost={"management_events_per_day": N},
        )
    )

    cost = plan_to_json(plan)["cost"]

    assert set(cost) >= {"items", "total", "prices_as_of", "assumptions"}
    assert cost["prices_as_of"] == load_prices().as_of
    for entry in cost["items"]:
        assert set(entry) == {"what", "monthly_usd_low", "monthly_usd_high", "basis"}
        assert 0 <= entry["monthly_usd_low"] <= entry["monthly_usd_high"]
    assert set(cost["total"]) == {"monthly_usd_low", "monthly_usd_high"}
    assert cost["total"]["monthly_usd_high"] == round(
        sum(e["monthly_usd_high"] for e in cost["items"]), 2
    )
    assert {"KMS key", "KMS requests"} <= {e["what"] for e in cost["items"]}


def test_plan_text_has_the_cost_section(engine: Any) -> None:
    plan, _found = engine.plan(answers(cost={"management_events_per_day": N}))
    assert plan.cost is not None

    text = plan_to_text(plan)

    section = text.split("Cost per month (estimate): ", 1)[1].split("\n\n", 1)[0]
    assert section.startswith(plan.cost.total.range_text)
    assert load_prices().as_of in section
    for item in plan.cost.items:
        assert item.what in section
    assert "Assumptions:" in section
    assert "cost.management_events_per_day" in section
