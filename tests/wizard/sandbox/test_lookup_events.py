"""LookupEvents answers from the sandbox's recorded events, as CloudTrail's event history does.

moto has no LookupEvents; the cost preview reads the account's recent activity with it. The
sandbox lists the caller's management events of the region asked, newest first, in pages of
at most 50, with a NextToken, a time range and one lookup attribute.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.wizard.sandbox.conftest import Client, aws_error

pytestmark = pytest.mark.aws

REGION = "eu-west-1"


def every_page(aws: Client, region: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page LookupEvents gives, following NextToken."""
    cloudtrail = aws("cloudtrail", region)
    pages = []
    token = None
    while True:
        got = cloudtrail.lookup_events(**params, **({"NextToken": token} if token else {}))
        pages.append(got["Events"])
        token = got.get("NextToken")
        if not token:
            return pages


def test_pages_hold_the_newest_events_first_and_never_repeat_one(aws: Client) -> None:
    for _ in range(7):
        aws("cloudtrail", REGION).describe_trails()

    pages = every_page(aws, REGION, MaxResults=3)

    events = [e for page in pages for e in page]
    assert all(len(page) <= 3 for page in pages)
    assert len(pages) >= 3  # 7 calls of ours alone fill three pages of 3
    assert len({e["EventId"] for e in events}) == len(events)
    times = [e["EventTime"] for e in events]
    assert times == sorted(times, reverse=True)
    assert sum(e["EventName"] == "DescribeTrails" for e in events) == 7
    assert all(e["ReadOnly"] in ("true", "false") for e in events)


def test_a_lookup_attribute_keeps_only_matching_events(aws: Client) -> None:
    for _ in range(4):
        aws("cloudtrail", REGION).describe_trails()
    aws("cloudtrail", REGION).list_trails()

    pages = every_page(
        aws,
        REGION,
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListTrails"}],
    )

    assert [e["EventName"] for page in pages for e in page] == ["ListTrails"]


def test_only_the_regions_management_events_are_listed(aws: Client) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="acme-lookup-data")
    s3.put_object(Bucket="acme-lookup-data", Key="a.txt", Body=b"data")
    aws("cloudtrail", "us-west-2").describe_trails()

    names = [e["EventName"] for page in every_page(aws, "us-east-1") for e in page]

    assert "CreateBucket" in names
    assert "PutObject" not in names  # a data event: never in the event history
    west = [e for page in every_page(aws, "us-west-2") for e in page]
    assert "DescribeTrails" in [e["EventName"] for e in west]
    assert {json.loads(e["CloudTrailEvent"])["awsRegion"] for e in west} == {"us-west-2"}


def test_the_time_range_bounds_the_events(aws: Client) -> None:
    aws("cloudtrail", REGION).describe_trails()
    later = datetime.now(UTC) + timedelta(hours=1)

    assert every_page(aws, REGION, StartTime=later, EndTime=later + timedelta(hours=1)) == [[]]
    with aws_error("InvalidTimeRangeException"):
        aws("cloudtrail", REGION).lookup_events(StartTime=later, EndTime=later - timedelta(1))
