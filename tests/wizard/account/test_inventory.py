"""The pickers' inventory on the seeded sandbox: rows stream, verdicts follow, bounded.

Extra buckets and keys are made with plain boto3 (as their owner would), then listed with the
wizard's own caller. Concurrency and order are observed through wrapping callers that hold
calls at a gate or a barrier (tests/callers.py): nothing here sleeps.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from tests.callers import FailOn, PassThroughCaller
from tests.gated_callers import BarrierCaller, GateCaller
from tests.sandbox_fixtures import ACCOUNT, REGION
from wizard.account.inventory import (
    BucketBatch,
    BucketListing,
    KeyListing,
    bucket_regions,
    key_order,
    list_buckets,
    list_keys,
)
from wizard.ports import AwsCaller

pytestmark = pytest.mark.aws

APP_BUCKET = f"demo-app-data-{ACCOUNT}"
CENTRAL_BUCKET = f"demo-central-logs-{ACCOUNT}"
LEGACY_BUCKET = f"demo-legacy-trail-logs-{ACCOUNT}"
SEEDED = {APP_BUCKET: "us-east-1", CENTRAL_BUCKET: "eu-west-1", LEGACY_BUCKET: "us-west-2"}
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


def cloudtrail_policy(bucket: str) -> str:
    """CloudTrail's documented statements for this account."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Write",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT}/*",
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                }
            ],
        }
    )


@pytest.fixture
def buckets(aws: Any) -> dict[str, tuple[str, bool]]:
    """17 more buckets (20 in all) in three regions; every third lets CloudTrail write.

    Returns each bucket's (region, allows CloudTrail), the seeded ones included.
    """
    made: dict[str, tuple[str, bool]] = {
        APP_BUCKET: ("us-east-1", False),
        CENTRAL_BUCKET: ("eu-west-1", True),
        LEGACY_BUCKET: ("us-west-2", False),  # its policy names the legacy trail only
    }
    for i in range(17):
        name = f"picker-{i:02d}-{ACCOUNT}"
        region = REGIONS[i % 3]
        s3 = aws("s3", region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        allows = i % 3 == 0
        if allows:
            s3.put_bucket_policy(Bucket=name, Policy=cloudtrail_policy(name))
        made[name] = (region, allows)
    return made


class CountingCaller(PassThroughCaller):
    """Forwards every call and records its (service, operation), pages counted one each."""

    def __init__(self, inner: AwsCaller) -> None:
        super().__init__(inner)
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            self.calls.append((service, operation))
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
            self.calls.append((service, operation))
        return self.inner.paginate(service, region, operation, result_key, params)

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()


def collect(batches: list[BucketBatch]) -> dict[str, Any]:
    """The rows the batches describe, by name (later batches win)."""
    rows: dict[str, Any] = {}
    for batch in batches:
        for bucket in [*batch.found, *batch.checked]:
            rows[bucket.name] = bucket
    return rows


# --------------------------------------------------------------------------- buckets


def test_the_list_is_the_same_with_one_reader_or_many(
    sandbox_session: Any, buckets: dict[str, tuple[str, bool]]
) -> None:
    caller = sandbox_session.caller

    one = list_buckets(caller, ACCOUNT, REGION, workers=1)
    many = list_buckets(caller, ACCOUNT, REGION, workers=16)

    assert one == many
    assert [b.name for b in one] == sorted(buckets)
    assert {b.name: (b.region, b.allows_cloudtrail) for b in one} == buckets
    assert all(b.checked for b in one)


def test_rows_come_before_any_policy_is_read(
    sandbox_session: Any, buckets: dict[str, tuple[str, bool]]
) -> None:
    policies = GateCaller(sandbox_session.caller, "GetBucketPolicy")
    # Every page after the first waits too: the first batch is the first page alone.
    pages = GateCaller(policies, "ListBuckets", when=lambda params: "ContinuationToken" in params)
    listing = BucketListing(pages, ACCOUNT, REGION, first_page=5, page_size=10)
    batches = listing.batches(interval=0)
    try:
        first = next(batches)
        assert len(first.found) == 5 and not first.listed and not first.checked
        pages.gate.set()
        held = [first]
        while not held[-1].listed:
            held.append(next(batches))
        # Every row is found while not one policy has been read.
        assert not any(batch.checked for batch in held)
        assert sum(len(b.found) for b in held) == len(buckets)
        policies.gate.set()
        later = list(batches)
    finally:
        pages.gate.set()
        policies.gate.set()

    assert later[-1].complete and later[-1].done == len(buckets)
    assert collect([*held, *later]) == {
        b.name: b for b in list_buckets(sandbox_session.caller, ACCOUNT, REGION)
    }


def test_listing_pages_follow_the_continuation_token(
    sandbox_session: Any, buckets: dict[str, tuple[str, bool]]
) -> None:
    counting = CountingCaller(sandbox_session.caller)

    found = bucket_regions(counting, REGION)

    assert found == {name: region for name, (region, _allows) in buckets.items()}
    assert counting.calls.count(("s3", "ListBuckets")) == 1  # 20 buckets: one page of 100

    counting.clear()
    listing = BucketListing(counting, ACCOUNT, REGION, first_page=3, page_size=7)
    rows = collect(list(listing.batches(interval=0)))
    assert sorted(rows) == sorted(buckets)
    assert counting.calls.count(("s3", "ListBuckets")) == 4  # 3 + 7 + 7 + 3
    assert ("s3", "GetBucketLocation") not in counting.calls  # ListBuckets named the regions


def test_policies_are_read_at_most_n_at_a_time(
    sandbox_session: Any, buckets: dict[str, tuple[str, bool]]
) -> None:
    barrier = BarrierCaller(sandbox_session.caller, "GetBucketPolicy", parties=4)

    listed = list_buckets(barrier, ACCOUNT, REGION, workers=4)

    assert len(listed) == 20
    assert barrier.count == 20
    assert barrier.peak == 4  # never a fifth, and the barrier needed four


def test_the_rows_a_person_looks_at_are_read_first(
    sandbox_session: Any, buckets: dict[str, tuple[str, bool]]
) -> None:
    gate = GateCaller(sandbox_session.caller, "GetBucketPolicy")
    listing = BucketListing(gate, ACCOUNT, REGION, workers=1)
    wanted = f"picker-16-{ACCOUNT}"  # the last bucket in name order
    try:
        for batch in listing.batches(interval=0):
            if batch.listed and not gate.gate.is_set():
                assert gate.wait_for(lambda g: g.waiting == 1)
                listing.prefer([wanted])
                gate.gate.set()
    finally:
        gate.gate.set()

    assert gate.seen[0]["Bucket"] == APP_BUCKET  # name order, until a row was asked for
    assert gate.seen[1]["Bucket"] == wanted


def test_cancel_stops_the_listing_and_its_reads(
    sandbox_session: Any, buckets: dict[str, tuple[str, bool]]
) -> None:
    gate = GateCaller(sandbox_session.caller, "GetBucketPolicy")
    listing = BucketListing(gate, ACCOUNT, REGION, workers=2)
    batches = listing.batches(interval=0)
    try:
        first = next(batches)
        assert first.found
        assert gate.wait_for(lambda g: g.waiting == 2)
        listing.cancel()
        gate.gate.set()
        assert list(batches) == []  # nothing more comes
        assert gate.wait_for(lambda g: g.waiting == 0)
    finally:
        gate.gate.set()

    assert len(gate.seen) == 2  # the two in flight; no other policy was asked for


class WithoutBucketRegion(PassThroughCaller):
    """An S3-compatible endpoint whose ListBuckets names no region."""

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        response = self.inner.call(service, region, operation, params)
        if operation == "ListBuckets":
            for bucket in response.get("Buckets") or []:
                bucket.pop("BucketRegion", None)
        return response


def test_without_regions_in_the_listing_each_bucket_is_located(
    sandbox_session: Any, buckets: dict[str, tuple[str, bool]]
) -> None:
    counting = CountingCaller(WithoutBucketRegion(sandbox_session.caller))

    listed = list_buckets(counting, ACCOUNT, REGION)

    assert listed == list_buckets(sandbox_session.caller, ACCOUNT, REGION)
    assert counting.calls.count(("s3", "GetBucketLocation")) == len(buckets)


def test_a_policy_that_cannot_be_read_is_a_note_not_a_failure(
    sandbox_session: Any, buckets: dict[str, tuple[str, bool]]
) -> None:
    failing = FailOn(
        sandbox_session.caller,
        "GetBucketPolicy",
        code="AccessDenied",
        status=403,
        when=lambda params: params.get("Bucket") == CENTRAL_BUCKET,
    )

    listed = {b.name: b for b in list_buckets(failing, ACCOUNT, REGION)}

    assert listed[CENTRAL_BUCKET].note == "policy: AccessDenied"
    assert listed[CENTRAL_BUCKET].allows_cloudtrail is None
    assert listed[CENTRAL_BUCKET].checked
    assert len(listed) == len(buckets)


# --------------------------------------------------------------------------- keys


@pytest.fixture
def keys(aws: Any) -> None:
    """Six more keys: three in us-east-1 (one without an alias), three in us-west-2."""
    for region in ("us-east-1", "us-west-2"):
        kms = aws("kms", region)
        for i in range(3):
            key_id = kms.create_key(Description=f"picker {i}")["KeyMetadata"]["KeyId"]
            if i:
                kms.create_alias(AliasName=f"alias/picker-{region}-{i}", TargetKeyId=key_id)


def test_keys_are_the_same_with_one_reader_or_many(sandbox_session: Any, keys: None) -> None:
    caller = sandbox_session.caller

    one = list_keys(caller, REGIONS, "us-east-1", workers=1)
    many = list_keys(caller, REGIONS, "us-east-1", workers=16)

    assert one == many
    assert one == sorted(one, key=lambda k: key_order(k, "us-east-1"))
    by_label = {k.label: k for k in one}
    assert by_label["alias/cloudtrail-ready"].eligible
    assert by_label["alias/picker-us-east-1-1"].eligible
    assert not by_label["alias/retired-key"].eligible
    assert "Disabled" in by_label["alias/retired-key"].reason
    assert (
        "in us-west-2, but the bucket is in us-east-1"
        in by_label["alias/picker-us-west-2-1"].reason
    )
    assert all(k.checked for k in one)
    # The bucket's region first; there, keys with an alias before a bare id.
    regions = [k.region for k in one]
    assert regions == sorted(regions, key=lambda r: (r != "us-east-1", r))
    east = [k for k in one if k.region == "us-east-1"]
    assert [bool(k.aliases) for k in east] == sorted((bool(k.aliases) for k in east), reverse=True)


def test_only_the_keys_of_the_buckets_region_are_described(
    sandbox_session: Any, keys: None
) -> None:
    counting = CountingCaller(sandbox_session.caller)

    listed = list_keys(counting, REGIONS, "us-east-1")

    east = [k for k in listed if k.region == "us-east-1"]
    assert counting.calls.count(("kms", "DescribeKey")) == len(east)
    assert len(listed) > len(east)


def test_key_rows_come_before_they_are_described(sandbox_session: Any, keys: None) -> None:
    gate = GateCaller(sandbox_session.caller, "DescribeKey")
    listing = KeyListing(gate, ["us-west-2"], "us-east-1", more_regions=lambda: ["eu-west-1"])
    batches = listing.batches(interval=0)
    try:
        held = [next(batches)]
        while not held[-1].listed:
            held.append(next(batches))
        found = [k for b in held for k in b.found]
        assert not any(b.checked for b in held)
        # Every key, in list order: the bucket's region first (its keys wait for DescribeKey),
        # then the others, refused at once; the region more_regions named is there too.
        assert found == sorted(found, key=lambda k: key_order(k, "us-east-1"))
        assert held[0].found[0].region == "us-east-1"
        assert {k.region for k in found} == set(REGIONS)
        assert all(k.checked == (k.region != "us-east-1") for k in found)
        gate.gate.set()
        rest = list(batches)
    finally:
        gate.gate.set()
    assert rest[-1].complete
    assert {k.arn for b in rest for k in b.checked} == {
        k.arn for k in found if k.region == "us-east-1"
    }


def test_a_key_that_cannot_be_described_stays_with_the_reason(
    sandbox_session: Any, keys: None
) -> None:
    caller: AwsCaller = FailOn(
        sandbox_session.caller, "DescribeKey", code="AccessDeniedException", status=400
    )

    listed = list_keys(caller, ["us-east-1"], "us-east-1")

    refused = [k for k in listed if "could not be read" in k.reason]
    assert len(refused) == 1
    assert not refused[0].eligible and refused[0].checked
    assert "AccessDeniedException" in refused[0].reason
