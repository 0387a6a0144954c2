"""DescribeTrails and GetTrail say whether a trail has event and Insights selectors, as AWS does.

moto always answered ``HasCustomEventSelectors: false`` and ``HasInsightSelectors: false``,
kept advanced selectors after basic ones were put, and appended Insights types instead of
replacing them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.wizard.sandbox.conftest import Client, aws_error
from tests.wizard.sandbox.test_delivery import logging_trail

pytestmark = pytest.mark.aws

API_CALLS = {"InsightType": "ApiCallRateInsight"}
ERRORS = {"InsightType": "ApiErrorRateInsight"}
WRITE_ONLY = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
MANAGEMENT_ONLY = [
    {
        "Name": "management",
        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
    }
]


def flags(aws: Client, name: str) -> list[tuple[bool, bool]]:
    """(HasCustomEventSelectors, HasInsightSelectors) from DescribeTrails and GetTrail."""
    cloudtrail = aws("cloudtrail")
    (described,) = [t for t in cloudtrail.describe_trails()["trailList"] if t["Name"] == name]
    got = cloudtrail.get_trail(Name=name)["Trail"]
    return [(t["HasCustomEventSelectors"], t["HasInsightSelectors"]) for t in (described, got)]


def test_a_new_trail_has_neither_kind_of_selector(aws: Client) -> None:
    logging_trail(aws, "plain", "acme-plain-logs")
    assert flags(aws, "plain") == [(False, False)] * 2
    with aws_error("InsightNotEnabledException"):
        aws("cloudtrail").get_insight_selectors(TrailName="plain")


def test_event_selectors_set_has_custom_event_selectors(aws: Client) -> None:
    arn = logging_trail(aws, "selected", "acme-selected-logs", IsMultiRegionTrail=True)
    cloudtrail = aws("cloudtrail")

    cloudtrail.put_event_selectors(TrailName="selected", EventSelectors=WRITE_ONLY)

    assert flags(aws, "selected") == [(True, False)] * 2
    # The shadow copy a multi-region trail has in every other region says the same.
    (shadow,) = aws("cloudtrail", "eu-west-1").describe_trails(trailNameList=[arn])["trailList"]
    assert (shadow["HasCustomEventSelectors"], shadow["HasInsightSelectors"]) == (True, False)


def test_basic_and_advanced_selectors_replace_each_other(aws: Client) -> None:
    logging_trail(aws, "switching", "acme-switching-logs")
    cloudtrail = aws("cloudtrail")

    cloudtrail.put_event_selectors(TrailName="switching", AdvancedEventSelectors=MANAGEMENT_ONLY)
    advanced = cloudtrail.get_event_selectors(TrailName="switching")
    cloudtrail.put_event_selectors(TrailName="switching", EventSelectors=WRITE_ONLY)
    basic = cloudtrail.get_event_selectors(TrailName="switching")

    assert advanced.get("AdvancedEventSelectors") == MANAGEMENT_ONLY
    assert not advanced.get("EventSelectors")
    assert not basic.get("AdvancedEventSelectors")
    assert [s["ReadWriteType"] for s in basic["EventSelectors"]] == ["WriteOnly"]
    assert flags(aws, "switching") == [(True, False)] * 2


def test_insight_selectors_set_has_insight_selectors_and_replace_each_other(aws: Client) -> None:
    logging_trail(aws, "insightful", "acme-insightful-logs")
    cloudtrail = aws("cloudtrail")

    cloudtrail.put_insight_selectors(TrailName="insightful", InsightSelectors=[API_CALLS])
    cloudtrail.put_insight_selectors(TrailName="insightful", InsightSelectors=[API_CALLS])
    once: list[dict[str, Any]] = cloudtrail.get_insight_selectors(TrailName="insightful")[
        "InsightSelectors"
    ]
    assert flags(aws, "insightful") == [(False, True)] * 2
    cloudtrail.put_insight_selectors(TrailName="insightful", InsightSelectors=[ERRORS])
    replaced = cloudtrail.get_insight_selectors(TrailName="insightful")["InsightSelectors"]
    cloudtrail.put_insight_selectors(TrailName="insightful", InsightSelectors=[])

    assert [s["InsightType"] for s in once] == ["ApiCallRateInsight"]
    assert [s["InsightType"] for s in replaced] == ["ApiErrorRateInsight"]
    assert flags(aws, "insightful") == [(False, False)] * 2
    with aws_error("InsightNotEnabledException"):
        cloudtrail.get_insight_selectors(TrailName="insightful")
