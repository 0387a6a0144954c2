"""The sandbox keeps and refuses event settings as CloudTrail does (wizard.sandbox.events).

Through boto3 over HTTP: advanced selectors of every category round-trip exactly;
PutEventSelectors refuses what breaks AdvancedFieldSelector's rules; PutInsightSelectors
keeps each type's categories and refuses Insights the selectors cannot feed;
PutEventConfiguration keeps data event aggregation in the home region only.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.wizard.sandbox.conftest import Client, aws_error
from tests.wizard.sandbox.test_delivery import logging_trail
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.plan.selectors import advanced_event_selectors

pytestmark = pytest.mark.aws

MANAGEMENT = {
    "Name": "Management events selector",
    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
}
S3_DATA = {
    "Name": "s3",
    "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
    ],
}


def every_kind() -> list[dict[str, Any]]:
    """The wizard's advanced selectors for answers with every kind of event."""
    answers = Answers.model_validate(
        {
            "trail": {"name": "kinds"},
            "bucket": {"name": "acme-kinds-logs", "access_logs": {"bucket": "acme-kinds-access"}},
            "events": {
                "exclude_sources": ["kms.amazonaws.com"],
                "data": [
                    {"type": "s3", "read_write": "write"},
                    {
                        "type": "lambda",
                        "conditions": [
                            {"field": "eventName", "operator": "Equals", "values": ["Invoke"]},
                            {
                                "field": "userIdentity.arn",
                                "operator": "NotStartsWith",
                                "values": ["arn:aws:sts::123456789012:assumed-role/Scanner"],
                            },
                            {
                                "field": "sessionCredentialFromConsole",
                                "operator": "NotEquals",
                                "values": ["true"],
                            },
                        ],
                    },
                    {"type": "AWS::SNS::Topic", "name": "Publish to topics"},
                    {"type": "s3express", "read_write": "read"},
                ],
                "network": [
                    {"source": "kms.amazonaws.com", "denied_only": True},
                    {"source": "s3.amazonaws.com"},
                ],
            },
        }
    )
    ctx = AccountContext(account_id="123456789012", partition="aws", region="us-east-1")
    return advanced_event_selectors(answers, Names(answers, ctx))


def test_advanced_selectors_of_every_category_round_trip_exactly(aws: Client) -> None:
    logging_trail(aws, "kinds", "acme-kinds-logs")
    cloudtrail = aws("cloudtrail")
    selectors = every_kind()

    put = cloudtrail.put_event_selectors(TrailName="kinds", AdvancedEventSelectors=selectors)
    got = cloudtrail.get_event_selectors(TrailName="kinds")

    assert got["AdvancedEventSelectors"] == selectors
    assert put["AdvancedEventSelectors"] == selectors
    assert not got.get("EventSelectors")


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (
            {"Name": "x", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]},
            "resources.type",
        ),
        (
            {
                "Name": "x",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]},
                ],
            },
            "can only be NotEquals",
        ),
        (
            {
                "Name": "x",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "eventName", "Equals": ["CreateBucket"]},
                ],
            },
            "do not take the field eventName",
        ),
        (
            {
                "Name": "x",
                "FieldSelectors": [
                    *S3_DATA["FieldSelectors"],
                    {"Field": "readOnly", "NotEquals": ["true"]},
                ],
            },
            "readOnly can only use the Equals operator",
        ),
        (
            {
                "Name": "x",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["NetworkActivity"]},
                    {"Field": "eventSource", "Equals": ["kms.amazonaws.com", "s3.amazonaws.com"]},
                ],
            },
            "exactly one event source",
        ),
        (
            {
                "Name": "x",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["NetworkActivity"]},
                    {"Field": "eventSource", "Equals": ["kms.amazonaws.com"]},
                    {"Field": "errorCode", "Equals": ["AccessDenied"]},
                ],
            },
            "errorCode takes only VpceAccessDenied",
        ),
        (
            {
                "Name": "x",
                "FieldSelectors": [
                    *S3_DATA["FieldSelectors"],
                    {"Field": "resources.type", "Equals": ["x"]},
                ],
            },
            "appears more than once",
        ),
    ],
)
def test_selectors_cloudtrail_refuses_are_refused(
    aws: Client, selector: dict[str, Any], message: str
) -> None:
    logging_trail(aws, "strict", "acme-strict-logs")
    with aws_error("InvalidEventSelectorsException", message=message):
        aws("cloudtrail").put_event_selectors(TrailName="strict", AdvancedEventSelectors=[selector])


def test_basic_selectors_take_only_the_three_basic_types(aws: Client) -> None:
    logging_trail(aws, "basic", "acme-basic-logs")
    with aws_error("InvalidEventSelectorsException", message="use advanced event selectors"):
        aws("cloudtrail").put_event_selectors(
            TrailName="basic",
            EventSelectors=[
                {
                    "ReadWriteType": "All",
                    "DataResources": [{"Type": "AWS::SNS::Topic", "Values": ["arn:aws:sns"]}],
                }
            ],
        )


def test_basic_and_advanced_together_are_refused(aws: Client) -> None:
    logging_trail(aws, "both", "acme-both-logs")
    with aws_error("InvalidParameterCombinationException"):
        aws("cloudtrail").put_event_selectors(
            TrailName="both",
            EventSelectors=[{"ReadWriteType": "All"}],
            AdvancedEventSelectors=[MANAGEMENT],
        )


def test_insights_keep_their_categories_and_need_what_they_analyse(aws: Client) -> None:
    logging_trail(aws, "insights", "acme-insights-logs")
    cloudtrail = aws("cloudtrail")
    both = [
        {"InsightType": "ApiCallRateInsight", "EventCategories": ["Management", "Data"]},
        {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Data"]},
    ]
    # The trail records management events only (CloudTrail's default): no data Insights.
    with aws_error("InvalidInsightSelectorsException", message="need the trail to log data"):
        cloudtrail.put_insight_selectors(TrailName="insights", InsightSelectors=both)

    cloudtrail.put_event_selectors(
        TrailName="insights", AdvancedEventSelectors=[MANAGEMENT, S3_DATA]
    )
    cloudtrail.put_insight_selectors(TrailName="insights", InsightSelectors=both)
    assert cloudtrail.get_insight_selectors(TrailName="insights")["InsightSelectors"] == both

    reads = {
        "Name": "Management events selector",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "readOnly", "Equals": ["true"]},
        ],
    }
    cloudtrail.put_event_selectors(TrailName="insights", AdvancedEventSelectors=[reads])
    with aws_error("InvalidInsightSelectorsException", message="write management events"):
        cloudtrail.put_insight_selectors(
            TrailName="insights", InsightSelectors=[{"InsightType": "ApiCallRateInsight"}]
        )


def test_aggregation_is_kept_and_needs_data_events(aws: Client) -> None:
    logging_trail(aws, "summaries", "acme-summaries-logs", IsMultiRegionTrail=True)
    cloudtrail = aws("cloudtrail")
    configuration = [{"EventCategory": "Data", "Templates": ["API_ACTIVITY", "USER_ACTIONS"]}]
    with aws_error("InvalidParameterCombinationException", message="configure data events first"):
        cloudtrail.put_event_configuration(
            TrailName="summaries", AggregationConfigurations=configuration
        )

    cloudtrail.put_event_selectors(
        TrailName="summaries", AdvancedEventSelectors=[MANAGEMENT, S3_DATA]
    )
    cloudtrail.put_event_configuration(
        TrailName="summaries", AggregationConfigurations=configuration
    )
    got = cloudtrail.get_event_configuration(TrailName="summaries")
    assert got["AggregationConfigurations"] == configuration

    with aws_error("InvalidParameterException", message="not an aggregation template"):
        cloudtrail.put_event_configuration(
            TrailName="summaries",
            AggregationConfigurations=[{"EventCategory": "Data", "Templates": ["EVERYTHING"]}],
        )
    # A multi-region trail is changed in its home region only.
    with aws_error("InvalidHomeRegionException"):
        aws("cloudtrail", "eu-west-1").put_event_configuration(
            TrailName="summaries", AggregationConfigurations=[]
        )
    cloudtrail.put_event_configuration(TrailName="summaries", AggregationConfigurations=[])
    assert "AggregationConfigurations" not in cloudtrail.get_event_configuration(
        TrailName="summaries"
    )
