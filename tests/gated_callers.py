"""Callers that hold calls at a gate or a barrier: concurrency observed without sleeping.

The pickers' and the health check's bounded concurrency is tested with these: a barrier
proves how many requests were in flight at once, a gate holds the per-row reads so that what
comes before them can be looked at.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from tests.callers import PassThroughCaller
from wizard.ports import AwsCaller


class BarrierCaller(PassThroughCaller):
    """Lets matching calls through only in groups of ``parties``, and records how many were
    ever in flight at once (waiting at the barrier included).

    A lookup bounded at ``parties`` requests shows a peak of exactly ``parties``; one with
    fewer threads never fills the barrier (its calls fail after ``timeout``); one with more
    shows a higher peak. No sleeping: the barrier is the only wait.
    """

    def __init__(
        self, inner: AwsCaller, operation: str, *, parties: int, timeout: float = 20.0
    ) -> None:
        super().__init__(inner)
        self.operation = operation
        self.barrier = threading.Barrier(parties)
        self.timeout = timeout
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        """The most matching calls in flight at once."""
        self.count = 0
        """Matching calls made."""

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Wait for a full group, then forward."""
        if operation != self.operation:
            return self.inner.call(service, region, operation, params)
        with self.lock:
            self.in_flight += 1
            self.count += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            self.barrier.wait(timeout=self.timeout)
            return self.inner.call(service, region, operation, params)
        finally:
            with self.lock:
                self.in_flight -= 1


class GateCaller(PassThroughCaller):
    """Holds every matching call until :attr:`gate` is set; :attr:`waiting` counts them.

    ``when`` narrows the matching calls to those whose parameters it accepts.
    """

    def __init__(
        self,
        inner: AwsCaller,
        operation: str,
        *,
        when: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        super().__init__(inner)
        self.operation = operation
        self.when = when
        self.gate = threading.Event()
        self.lock = threading.Condition()
        self.waiting = 0
        """Matching calls held now."""
        self.seen: list[Mapping[str, Any]] = []
        """Parameters of every matching call, in arrival order."""

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Hold a matching call at the gate, then forward it."""
        if operation == self.operation and (self.when is None or self.when(params or {})):
            with self.lock:
                self.waiting += 1
                self.seen.append(dict(params or {}))
                self.lock.notify_all()
            try:
                self.gate.wait(timeout=30)
            finally:
                with self.lock:
                    self.waiting -= 1
        return self.inner.call(service, region, operation, params)

    def wait_for(self, condition: Callable[[GateCaller], bool], timeout: float = 10) -> bool:
        """Block until ``condition(self)`` holds (True) or ``timeout`` passes (False)."""
        with self.lock:
            return self.lock.wait_for(lambda: condition(self), timeout=timeout)
