"""The CLI export carries the trail's events exactly as the plan sends them (offline plans)."""

from __future__ import annotations

import json
import re

from wizard.account.discovery import BucketFacts, Discovery
from wizard.export.text import plan_to_cli
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.model.plan import Plan
from wizard.plan.planner import build_plan
from wizard.plan.selectors import advanced_event_selectors, insight_selectors

CTX = AccountContext(account_id="123456789012", partition="aws", region="us-east-1")


def plan(events: dict[str, object]) -> tuple[Answers, Plan]:
    answers = Answers.model_validate(
        {
            "trail": {"name": "events-trail", "region": "us-east-1"},
            "bucket": {"name": "acme-events-trail-logs"},
            "events": events,
        }
    )
    bucket = BucketFacts(name=answers.bucket.name, exists=False, owned=None, region=None)
    return answers, build_plan(answers, CTX, Discovery(context=CTX, bucket=bucket))


def heredoc(script: str, name: str) -> object:
    """The JSON document the script writes to ``name`` before its command uses it."""
    match = re.search(rf"cat > {re.escape(name)} <<'EOF'\n(.*?)\nEOF\n", script, re.DOTALL)
    assert match is not None, name
    return json.loads(match.group(1))


def test_advanced_selectors_insights_and_aggregation_reach_the_script() -> None:
    answers, built = plan(
        {
            "data": [
                {"type": "s3", "read_write": "write"},
                {
                    "type": "lambda",
                    "conditions": [
                        {"field": "eventName", "operator": "Equals", "values": ["Invoke"]}
                    ],
                },
            ],
            "network": [{"source": "kms.amazonaws.com", "denied_only": True}],
            "insights": ["ApiCallRateInsight"],
            "data_insights": ["ApiErrorRateInsight"],
            "aggregation": ["API_ACTIVITY"],
        }
    )
    script = plan_to_cli(built)

    selectors = heredoc(script, "advanced-event-selectors.json")
    assert selectors == advanced_event_selectors(answers, Names(answers, CTX))
    assert "--advanced-event-selectors file://advanced-event-selectors.json" in script
    assert "--event-selectors" not in script
    assert heredoc(script, "insight-selectors.json") == insight_selectors(answers)
    assert (
        "aws cloudtrail put-event-configuration --region us-east-1 \\\n"
        "  --trail-name arn:aws:cloudtrail:us-east-1:123456789012:trail/events-trail \\\n"
        "  --aggregation-configurations "
        '\'[{"EventCategory":"Data","Templates":["API_ACTIVITY"]}]\'' in script
    )
    # The summaries come after the data events are chosen, and logging starts last.
    order = [script.index(f"put-{what}") for what in ("event-selectors", "event-configuration")]
    assert order == sorted(order) and script.index("start-logging --region") > order[-1]


def test_the_secure_defaults_are_a_basic_selector_in_the_script() -> None:
    _answers, built = plan({})
    script = plan_to_cli(built)
    assert "--advanced-event-selectors" not in script
    assert (
        '  --event-selectors \'[{"ReadWriteType":"All","IncludeManagementEvents":true,'
        '"DataResources":[],"ExcludeManagementEventSources":[]}]\'' in script
    )
