"""Events applied on the sandbox and read back, then changed on the existing trail.

The engine plans and applies answers with every kind of event; the trail's selectors,
Insights and aggregation read back with boto3 are exactly what the plan sent, and planning the
same answers again changes nothing. Changing the Insights of the existing trail sends both
categories and says when management Insights go off; its undo puts the exact list back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.plan import Plan

pytestmark = pytest.mark.aws

EVENT_STEPS = ("PutEventSelectors", "PutInsightSelectors", "PutEventConfiguration")


def every_kind(**events: Any) -> Answers:
    return Answers.model_validate(
        {
            "trail": {"name": "events-trail", "region": "us-east-1"},
            "bucket": {"name": "acme-events-trail-logs"},
            "encryption": {"type": "sse-s3"},
            "events": {
                "data": [
                    {"type": "s3", "read_write": "write"},
                    {"type": "s3", "read_write": "read"},
                    {
                        "type": "lambda",
                        "conditions": [
                            {"field": "eventName", "operator": "Equals", "values": ["Invoke"]}
                        ],
                    },
                ],
                "network": [{"source": "kms.amazonaws.com", "denied_only": True}],
                "insights": ["ApiCallRateInsight"],
                "data_insights": ["ApiCallRateInsight"],
                "aggregation": ["API_ACTIVITY"],
                **events,
            },
        }
    )


def apply(engine: Engine, answers: Answers, journal: Path) -> Plan:
    plan, found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    outcome = engine.apply(answers, plan, found=found, journal_path=journal)
    assert outcome.report.status == "applied", outcome.report.message
    return plan


def sent(plan: Plan, operation: str) -> dict[str, Any]:
    (step,) = [s for s in plan.steps if s.call.operation == operation]
    return dict(step.call.params)


def test_every_kind_of_event_is_applied_exactly_and_planned_once(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    answers = every_kind()
    plan = apply(engine, answers, tmp_path / "journal.json")

    cloudtrail = aws("cloudtrail")
    arn = plan.trail_arn
    selectors = cloudtrail.get_event_selectors(TrailName=arn)
    assert (
        selectors["AdvancedEventSelectors"]
        == sent(plan, "PutEventSelectors")["AdvancedEventSelectors"]
    )
    insights = cloudtrail.get_insight_selectors(TrailName=arn)["InsightSelectors"]
    assert insights == sent(plan, "PutInsightSelectors")["InsightSelectors"]
    assert insights == [
        {"InsightType": "ApiCallRateInsight", "EventCategories": ["Management", "Data"]}
    ]
    configuration = cloudtrail.get_event_configuration(TrailName=arn)
    assert configuration["AggregationConfigurations"] == [
        {"EventCategory": "Data", "Templates": ["API_ACTIVITY"]}
    ]

    again, _found = engine.plan(answers)
    assert not [s.id for s in again.steps if s.call.operation in EVENT_STEPS]


def test_changing_insights_sends_both_kinds_and_says_what_goes_off(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    apply(engine, every_kind(), tmp_path / "first.json")

    data_only = every_kind(insights=[], data_insights=["ApiCallRateInsight", "ApiErrorRateInsight"])
    plan, _found = engine.plan(data_only)
    (step,) = [s for s in plan.steps if s.call.operation == "PutInsightSelectors"]
    assert step.call.params["InsightSelectors"] == [
        {"InsightType": "ApiCallRateInsight", "EventCategories": ["Data"]},
        {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Data"]},
    ]
    assert "management events Insights ApiCallRateInsight turned off" in step.summary
    (undo,) = step.undo
    assert undo.params["InsightSelectors"] == [
        {"InsightType": "ApiCallRateInsight", "EventCategories": ["Management", "Data"]}
    ]
    (change,) = step.settings
    assert change.current == "ApiCallRateInsight on management and data events"

    fewer = every_kind(aggregation=["RESOURCE_ACCESS", "USER_ACTIONS"])
    plan, _found = engine.plan(fewer)
    (step,) = [s for s in plan.steps if s.call.operation == "PutEventConfiguration"]
    assert step.call.params["AggregationConfigurations"] == [
        {"EventCategory": "Data", "Templates": ["RESOURCE_ACCESS", "USER_ACTIONS"]}
    ]
    (undo,) = step.undo
    assert undo.params["AggregationConfigurations"] == [
        {"EventCategory": "Data", "Templates": ["API_ACTIVITY"]}
    ]


def test_changing_selectors_says_what_each_records(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    first = apply(engine, every_kind(), tmp_path / "first.json")
    before = aws("cloudtrail").get_event_selectors(TrailName=first.trail_arn)

    more = every_kind(
        network=[
            {"source": "kms.amazonaws.com", "denied_only": True},
            {"source": "s3.amazonaws.com"},
        ]
    )
    plan, _found = engine.plan(more)
    (step,) = [s for s in plan.steps if s.call.operation == "PutEventSelectors"]
    (change,) = step.settings
    assert "; network activity: s3.amazonaws.com (advanced selectors)" in change.wanted
    assert "network activity: kms.amazonaws.com (VPC endpoint denials)" in change.current
    assert "lambda data: all (with conditions)" in change.current
    # Undone by putting the trail's selectors back exactly as they were read.
    (undo,) = step.undo
    assert undo.params["AdvancedEventSelectors"] == before["AdvancedEventSelectors"]
