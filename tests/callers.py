"""Callers that wrap a real one: what tests put between the wizard and the emulator.

One pass-through caller and one fault injector, shared by every suite (before, each test
module had its own copy). Faults injected here are AWS errors as the wizard's port
reports them; network-level faults (dropped connections, latency, throttling) go through
``tests/faults/proxy.py`` instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any

from wizard.ports import AwsCaller, AwsError


class PassThroughCaller:
    """Forwards every call to ``inner``; subclasses override what they need."""

    def __init__(self, inner: AwsCaller) -> None:
        self.inner = inner

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Forward the call."""
        return self.inner.call(service, region, operation, params)

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Forward the paginated call."""
        return self.inner.paginate(service, region, operation, result_key, params)


class OverlapCaller(PassThroughCaller):
    """Records which matching calls were in flight at the same time.

    A matching call is held until ``together`` matching calls are in flight at once (or
    ``timeout`` passes), then forwarded. Calls sent together all arrive and go on at once;
    calls made one after another never meet, so each waits out the timeout alone and
    :attr:`peak` stays below ``together``. No sleeping: the condition is the only wait. Once
    the peak was reached, later matching calls are not held.

    Args:
        inner: The real caller.
        operations: The operations to watch (``GetTrail``, ``GetBucketPolicy``...).
        together: How many of them must be in flight at once.
        timeout: How long a lonely call waits before it goes on.
    """

    def __init__(
        self,
        inner: AwsCaller,
        operations: Collection[str],
        *,
        together: int,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(inner)
        self.operations = frozenset(operations)
        self.together = together
        self.timeout = timeout
        self.armed = True
        """Only while armed are matching calls held and counted (see :meth:`arm`)."""
        self.lock = threading.Condition()
        self.in_flight: list[str] = []
        self.peak = 0
        """The most matching calls in flight at once."""
        self.met: list[str] = []
        """The operations in flight when the peak was reached."""
        self.seen: list[str] = []
        """Every matching operation, in arrival order."""

    def arm(self, armed: bool = True) -> None:
        """Hold and count matching calls from now on (or stop, with False)."""
        with self.lock:
            self.armed = armed

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Hold a matching call until enough are in flight, then forward it."""
        with self.lock:
            watched = self.armed and operation in self.operations
            if watched:
                self.seen.append(operation)
                self.in_flight.append(operation)
                if len(self.in_flight) > self.peak:
                    self.peak = len(self.in_flight)
                    self.met = sorted(self.in_flight)
                self.lock.notify_all()
                self.lock.wait_for(lambda: self.peak >= self.together, timeout=self.timeout)
        try:
            return self.inner.call(service, region, operation, params)
        finally:
            if watched:
                with self.lock:
                    self.in_flight.remove(operation)


class FailOn(PassThroughCaller):
    """Raises an :class:`AwsError` instead of making a chosen call; passes the rest on.

    Args:
        inner: The real caller.
        operation: The API operation to fail (``CreateTrail``).
        service: Only this service's operation (default: any service's).
        code: The error code AWS would answer.
        status: Its HTTP status.
        times: How many matching calls fail (then they go through).
        message: The error message (default: says the failure was injected).
        when: Only calls whose parameters this accepts count as matching.
        before_failing: Runs just before each injected failure (someone acting meanwhile).
    """

    def __init__(
        self,
        inner: AwsCaller,
        operation: str,
        *,
        service: str | None = None,
        code: str = "InternalFailure",
        status: int = 500,
        times: int = 1,
        message: str | None = None,
        when: Callable[[Mapping[str, Any]], bool] | None = None,
        before_failing: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(inner)
        self.operation = operation
        self.service = service
        self.code = code
        self.status = status
        self.remaining = times
        self.message = message
        self.when = when
        self.before_failing = before_failing
        self.failures = 0
        """How many failures were injected so far."""
        self.lock = threading.Lock()

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Fail a matching call (while failures remain); forward any other."""
        matches = (
            operation == self.operation
            and (self.service is None or service == self.service)
            and (self.when is None or self.when(params or {}))
        )
        with self.lock:
            fail = matches and self.remaining > 0
            if fail:
                self.remaining -= 1
                self.failures += 1
        if not fail:
            return self.inner.call(service, region, operation, params)
        if self.before_failing is not None:
            self.before_failing()
        raise AwsError(
            service=service,
            operation=operation,
            code=self.code,
            message=self.message or f"injected failure of {operation}",
            status=self.status,
        )


_READ_PREFIXES = ("Get", "Describe", "List", "Head", "Lookup")
_READS = frozenset({"GetCallerIdentity", "SimulatePrincipalPolicy", "SimulateCustomPolicy"})


def reads_by_name(operation: str) -> bool:
    """AWS's naming convention for reads, written out independently of the wizard's own
    read-only allowlist (so a test that counts mutating calls does not trust the code under
    test to classify them)."""
    return operation in _READS or operation.startswith(_READ_PREFIXES)


class CountingCaller(PassThroughCaller):
    """Forwards every call and records it: ``mutating`` lists the calls that may change state."""

    def __init__(self, inner: AwsCaller) -> None:
        super().__init__(inner)
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []
        """(service, operation) of every call and paginated call, in order."""

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Record, then forward."""
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
        """Record, then forward."""
        with self.lock:
            self.calls.append((service, operation))
        return self.inner.paginate(service, region, operation, result_key, params)

    def mutating(self) -> list[tuple[str, str]]:
        """The recorded calls that are not reads by AWS's naming convention."""
        with self.lock:
            return [c for c in self.calls if not reads_by_name(c[1])]

    def clear(self) -> None:
        """Forget what was recorded."""
        with self.lock:
            self.calls.clear()
