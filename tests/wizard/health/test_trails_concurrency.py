"""Trail health reads at once and reads once: the same report as one request at a time.

The good trail (bucket, KMS key, CloudWatch Logs with its role) and the seeded legacy trail
are checked with every read let through one at a time, then with the defaults; some reads
are refused, so the order of the "could not check" notes is compared too. Concurrency is
observed by a caller that counts requests in flight (nothing sleeps).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.callers import FailOn, OverlapCaller, PassThroughCaller
from tests.sandbox_fixtures import ACCOUNT, REGION
from tests.wizard.health.test_trails import GOOD, GOOD_BUCKET, LEGACY, good_trail  # noqa: F401
from wizard.engine import Engine
from wizard.health.trails import check_health
from wizard.ports import AwsCaller

pytestmark = pytest.mark.aws

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class InFlight(PassThroughCaller):
    """Counts the requests in flight at once, and how many of each (service, operation)."""

    def __init__(self, inner: AwsCaller) -> None:
        super().__init__(inner)
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.made: dict[tuple[str, str], int] = {}

    def _enter(self, service: str, operation: str) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.made[(service, operation)] = self.made.get((service, operation), 0) + 1

    def _leave(self) -> None:
        with self.lock:
            self.now -= 1

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        self._enter(service, operation)
        try:
            return self.inner.call(service, region, operation, params)
        finally:
            self._leave()

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        self._enter(service, operation)
        try:
            return self.inner.paginate(service, region, operation, result_key, params)
        finally:
            self._leave()


def refusing(caller: AwsCaller) -> AwsCaller:
    """The good trail's ACL, key and role reads refused, as a narrow IAM policy would."""
    denied: AwsCaller = caller
    for operation, service in (
        ("GetBucketAcl", "s3"),
        ("DescribeKey", "kms"),
        ("GetRole", "iam"),
    ):
        denied = FailOn(
            denied,
            operation,
            service=service,
            code="AccessDenied",
            status=403,
            times=100,
            message=f"not allowed to {operation}",
            when=lambda params: GOOD_BUCKET in str(params) or "Bucket" not in params,
        )
    return denied


def test_the_report_is_the_one_a_request_at_a_time_gives(
    good_trail: str,  # noqa: F811
    engine: Engine,
) -> None:
    one_by_one = check_health(
        refusing(engine.caller), REGION, now=NOW, max_workers=1, reads_at_once=1
    )
    at_once = check_health(refusing(engine.caller), REGION, now=NOW)

    assert at_once.to_json() == one_by_one.to_json()
    good = next(t for t in at_once.trails if t.name == GOOD)
    # The notes in the order of the checks (bucket, key, CloudWatch Logs), whichever
    # request answered first.
    assert [u.what for u in good.facts.unchecked] == [
        "the bucket ACL",
        "the KMS key",
        "the CloudWatch Logs delivery role",
    ]
    assert {t.name for t in at_once.trails} == {GOOD, LEGACY}


def test_requests_are_bounded_and_each_read_is_made_once(
    good_trail: str,  # noqa: F811
    engine: Engine,
) -> None:
    counted = InFlight(engine.caller)

    report = check_health(counted, REGION, now=NOW, reads_at_once=3)

    assert len(report.trails) == 2
    assert 2 <= counted.peak <= 3  # at once, and never more than allowed
    # Nothing is asked twice: one GetTrailStatus a trail, the account's Block Public Access
    # once for each region a bucket is in (us-east-1 and us-west-2), whatever the trails.
    assert counted.made[("cloudtrail", "GetTrailStatus")] == 2
    assert counted.made[("s3control", "GetPublicAccessBlock")] == 2


def test_the_bucket_is_read_beside_head_bucket(
    good_trail: str,  # noqa: F811
    engine: Engine,
) -> None:
    # The good trail's bucket is in its home region: HeadBucket and the bucket's other
    # reads go out together (one round trip, not two).
    together = OverlapCaller(engine.caller, {"HeadBucket", "GetBucketPolicy"}, together=2)

    (health,) = check_health(together, REGION, trail=GOOD, now=NOW).trails

    assert together.met == ["GetBucketPolicy", "HeadBucket"]
    assert health.facts.bucket_exists is True
    assert health.facts.bucket_policy_allows is True


class Regions(InFlight):
    """Also records the region of every S3 read of one bucket."""

    def __init__(self, inner: AwsCaller, bucket: str) -> None:
        super().__init__(inner)
        self.bucket = bucket
        self.regions: dict[str, set[str]] = {}

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if service == "s3" and (params or {}).get("Bucket") == self.bucket:
            with self.lock:
                self.regions.setdefault(operation, set()).add(region)
        return super().call(service, region, operation, params)


def test_a_bucket_in_another_region_is_read_again_there(
    engine: Engine,
    aws: Any,
) -> None:
    # The demo account's central bucket is in eu-west-1; the trail is homed in us-east-1.
    central = f"demo-central-logs-{ACCOUNT}"
    aws("cloudtrail").create_trail(Name="elsewhere", S3BucketName=central)
    aws("cloudtrail").start_logging(Name="elsewhere")
    counted = Regions(engine.caller, central)

    (health,) = check_health(counted, REGION, trail="elsewhere", now=NOW).trails
    (alone,) = check_health(
        engine.caller, REGION, trail="elsewhere", now=NOW, max_workers=1, reads_at_once=1
    ).trails

    assert counted.regions["HeadBucket"] == {REGION}
    # First guessed in the trail's home region, then made where HeadBucket said it is.
    assert counted.regions["GetBucketPolicy"] == {REGION, "eu-west-1"}
    assert health.facts.bucket_region == "eu-west-1"
    assert health.facts.bucket_policy_allows is True
    assert health.facts.unchecked == []
    assert health.model_dump() == alone.model_dump()
