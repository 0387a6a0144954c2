"""A key that is not in the bucket's region is looked for everywhere at once, and the first
region that has it answers: a region that never answers does not hold the plan up."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from tests.callers import PassThroughCaller
from wizard.account.discovery import discover_key
from wizard.ports import AwsCaller

pytestmark = pytest.mark.aws

HELD = "ap-southeast-2"


class OneRegionHangs(PassThroughCaller):
    """DescribeKey in :data:`HELD` waits until released (a region that does not answer)."""

    def __init__(self, inner: AwsCaller) -> None:
        super().__init__(inner)
        self.release = threading.Event()
        self.asked: list[str] = []
        self.lock = threading.Lock()

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if operation == "DescribeKey":
            with self.lock:
                self.asked.append(region)
            if region == HELD:
                assert self.release.wait(timeout=30)
        return self.inner.call(service, region, operation, params)


def test_the_region_that_has_the_key_answers_without_waiting_for_the_others(
    sandbox_session: Any, sandbox: Any
) -> None:
    caller = OneRegionHangs(sandbox_session.caller)
    try:
        # The seeded alias/app-data-eu lives in eu-west-1; the bucket and home are elsewhere.
        found = discover_key("alias/app-data-eu", "us-east-1", "us-west-2", caller)
    finally:
        caller.release.set()

    assert found.found and found.region == "eu-west-1"
    assert HELD in caller.asked  # it was asked, and left behind
    assert caller.asked[:2] == ["us-east-1", "us-west-2"]  # where the key must be, first
