"""The bounded background work behind the pickers and the health check (no AWS needed).

A fake caller answers from a table and holds calls at a gate, so concurrency is observed,
not slept through.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from wizard.account.lookups import SharedReads, WorkQueue
from wizard.ports import AwsError


class Table:
    """Answers every call from ``answers`` (an AwsError is raised); counts the calls."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = answers
        self.lock = threading.Lock()
        self.calls: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Semaphore(0)

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            self.calls.append(operation)
        self.waiting.release()
        assert self.gate.wait(timeout=10)
        answer = self.answers[operation]
        if isinstance(answer, AwsError):
            raise answer
        return {"answer": answer}

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        return [self.call(service, region, operation, params)["answer"]]


def denied() -> AwsError:
    return AwsError(service="s3", operation="GetBucketAcl", code="AccessDenied", message="no")


def test_the_same_read_asked_by_many_at_once_is_made_once() -> None:
    table = Table({"GetBucketPolicy": "policy", "GetBucketAcl": denied()})
    table.gate.clear()
    shared = SharedReads(table, limit=4)
    with ThreadPoolExecutor(max_workers=6) as pool:
        asks = [
            pool.submit(shared.call, "s3", "us-east-1", "GetBucketPolicy", {"Bucket": "b"})
            for _ in range(6)
        ]
        assert table.waiting.acquire(timeout=10)  # the one request is in flight
        table.gate.set()
        answers = [ask.result() for ask in asks]

    assert answers == [{"answer": "policy"}] * 6
    assert table.calls == ["GetBucketPolicy"]
    assert shared.requests == 1
    answers[0]["answer"] = "changed"  # each asker has its own copy
    assert shared.call("s3", "us-east-1", "GetBucketPolicy", {"Bucket": "b"}) == {
        "answer": "policy"
    }


def test_a_refused_read_is_each_askers_own_error() -> None:
    table = Table({"GetBucketAcl": denied()})
    shared = SharedReads(table)

    errors = []
    for _ in range(2):
        with pytest.raises(AwsError) as raised:
            shared.call("s3", "us-east-1", "GetBucketAcl", {"Bucket": "b"})
        errors.append(raised.value)

    assert table.calls == ["GetBucketAcl"]
    assert errors[0] is not errors[1]
    assert [e.code for e in errors] == ["AccessDenied", "AccessDenied"]


def test_other_parameters_are_another_read() -> None:
    table = Table({"GetBucketPolicy": "policy"})
    shared = SharedReads(table)

    shared.call("s3", "us-east-1", "GetBucketPolicy", {"Bucket": "a"})
    shared.call("s3", "us-east-1", "GetBucketPolicy", {"Bucket": "b"})
    shared.call("s3", "eu-west-1", "GetBucketPolicy", {"Bucket": "a"})
    shared.paginate("s3", "us-east-1", "GetBucketPolicy", "x", {"Bucket": "a"})

    assert len(table.calls) == 4


def test_requests_in_flight_never_exceed_the_limit() -> None:
    table = Table({"GetBucketPolicy": "policy"})
    table.gate.clear()
    shared = SharedReads(table, limit=3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        asks = [
            pool.submit(shared.call, "s3", "us-east-1", "GetBucketPolicy", {"Bucket": str(i)})
            for i in range(8)
        ]
        for _ in range(3):
            assert table.waiting.acquire(timeout=10)
        # Three are in flight; the others wait for a slot, which frees only once the gate
        # opens: no fourth request can have reached the table.
        assert len(table.calls) == 3
        table.gate.set()
        for ask in asks:
            ask.result()

    assert shared.peak == 3
    assert len(table.calls) == 8


def held_work() -> tuple[Any, threading.Semaphore, threading.Event, list[int]]:
    """Work that waits at a gate: (the work, started, release, items done in order)."""
    started = threading.Semaphore(0)
    release = threading.Event()
    done: list[int] = []

    def work(item: int) -> int:
        started.release()
        assert release.wait(timeout=10)
        done.append(item)
        return item * 10

    return work, started, release, done


def test_a_work_queue_takes_the_preferred_items_first() -> None:
    work, started, release, _done = held_work()
    queue: WorkQueue[int, int, int] = WorkQueue(work, workers=1, name="test")
    queue.add((i, i) for i in range(5))
    assert started.acquire(timeout=10)  # item 0 in progress
    queue.prefer([4, 3])
    queue.close()
    release.set()
    results: list[tuple[int, int]] = []
    while not queue.finished:
        results += queue.drain(timeout=5)

    assert [key for key, _ in results] == [0, 4, 3, 1, 2]
    assert dict(results) == {i: i * 10 for i in range(5)}
    assert queue.peak == 1


def test_a_cancelled_work_queue_takes_nothing_more() -> None:
    work, started, release, done = held_work()
    queue: WorkQueue[int, int, int] = WorkQueue(work, workers=2, name="test")
    queue.add((i, i) for i in range(5))
    assert started.acquire(timeout=10) and started.acquire(timeout=10)  # two in progress
    queue.cancel()
    release.set()
    while not queue.finished:
        assert queue.drain(timeout=5) == []  # the two in flight finish; dropped

    assert sorted(done) == [0, 1]  # nothing else was started


def test_an_error_in_the_work_reaches_the_reader_and_cancels_the_rest() -> None:
    def work(item: int) -> int:
        if item == 1:
            raise RuntimeError("expired credentials")
        return item

    queue: WorkQueue[int, int, int] = WorkQueue(work, workers=1, name="test")
    queue.add((i, i) for i in range(3))
    queue.close()
    with pytest.raises(RuntimeError, match="expired credentials"):
        while not queue.finished:
            queue.drain(timeout=5)
    assert queue.cancelled
