"""The sandbox's ListBuckets, as S3 answers it: each bucket's region, and pages."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox_fixtures import ACCOUNT

pytestmark = pytest.mark.aws

SEEDED = {
    f"demo-app-data-{ACCOUNT}": "us-east-1",
    f"demo-central-logs-{ACCOUNT}": "eu-west-1",
    f"demo-legacy-trail-logs-{ACCOUNT}": "us-west-2",
}


def test_each_bucket_comes_with_its_region(aws: Any) -> None:
    listed = aws("s3").list_buckets()

    assert {b["Name"]: b["BucketRegion"] for b in listed["Buckets"]} == SEEDED
    assert "ContinuationToken" not in listed  # an unpaged request gets every bucket


def test_pages_follow_the_continuation_token_in_name_order(aws: Any) -> None:
    s3 = aws("s3")
    for i in range(4):
        s3.create_bucket(Bucket=f"page-{i}-{ACCOUNT}")

    first = s3.list_buckets(MaxBuckets=3)
    assert [b["Name"] for b in first["Buckets"]] == sorted(SEEDED)
    second = s3.list_buckets(MaxBuckets=3, ContinuationToken=first["ContinuationToken"])
    third = s3.list_buckets(MaxBuckets=3, ContinuationToken=second["ContinuationToken"])

    assert [b["Name"] for b in second["Buckets"]] == [f"page-{i}-{ACCOUNT}" for i in range(3)]
    assert [b["Name"] for b in third["Buckets"]] == [f"page-3-{ACCOUNT}"]
    assert "ContinuationToken" not in third
    paged = [
        b["Name"]
        for page in s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 2})
        for b in page["Buckets"]
    ]
    assert paged == sorted([*SEEDED, *(f"page-{i}-{ACCOUNT}" for i in range(4))])


def test_prefix_and_region_narrow_the_list(aws: Any) -> None:
    s3 = aws("s3")

    by_prefix = s3.list_buckets(Prefix="demo-c")
    by_region = s3.list_buckets(BucketRegion="us-west-2")

    assert [b["Name"] for b in by_prefix["Buckets"]] == [f"demo-central-logs-{ACCOUNT}"]
    assert by_prefix["Prefix"] == "demo-c"
    assert [b["Name"] for b in by_region["Buckets"]] == [f"demo-legacy-trail-logs-{ACCOUNT}"]


def test_a_page_size_s3_refuses_is_refused(sandbox: Any) -> None:
    # botocore refuses 0 itself; S3 refuses more than 10,000 (the request goes unsigned:
    # the sandbox accepts any caller).
    url = f"{sandbox.endpoint_url}/?max-buckets=10001"
    request = urllib.request.Request(
        url,
        headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/"
            "aws4_request, SignedHeaders=host, Signature=0"
        },
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 400
    assert b"InvalidArgument" in raised.value.read()


def test_a_token_s3_did_not_give_is_refused(aws: Any) -> None:
    with pytest.raises(ClientError) as raised:
        aws("s3").list_buckets(MaxBuckets=1, ContinuationToken="not a token!")
    assert raised.value.response["Error"]["Code"] == "InvalidArgument"
