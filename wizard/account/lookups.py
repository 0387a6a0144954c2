"""Bounded background work for the pickers: at most N calls at once, wanted items first.

A picker lists hundreds or thousands of items (buckets, keys) whose names come from one
paged listing but whose details need one call each (a bucket's policy, a key's metadata).
:class:`WorkQueue` runs those calls on a fixed number of threads, so the number of AWS
requests in flight never exceeds that number, takes items in the order they were added
unless some are asked for first (:meth:`WorkQueue.prefer`: the rows on screen, the row
chosen), and stops taking new ones the moment it is cancelled (each thread finishes the
one call it is making, and nobody waits for it).

Results are collected with :meth:`WorkQueue.drain`, from any one thread.

:class:`SharedReads` bounds the requests of a look at the account made by many threads at
once (the health check), and makes each distinct read once.
"""

from __future__ import annotations

import copy
import json
import queue
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from wizard.ports import AwsCaller, AwsError

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")

READS_AT_ONCE = 16
"""Requests a picker has in flight at most: enough to hide 60 ms of latency behind 16 calls,
few enough that the account's API rate limits and the SDK's connection pools are not
strained."""


class WorkQueue(Generic[K, T, R]):
    """Runs ``work`` over items on at most ``workers`` threads; preferred items go first.

    Items are keyed (a bucket's name, a key's ARN); an item added twice is done once. The
    threads start with the first item and end when the queue is closed and empty, or
    cancelled.
    """

    def __init__(self, work: Callable[[T], R], *, workers: int, name: str) -> None:
        """Prepare the queue (no thread starts before the first item).

        Args:
            work: Does one item. What it raises is raised again by :meth:`drain`.
            workers: Threads, hence items in progress at once (at least 1).
            name: Prefix of the threads' names.
        """
        self._work = work
        self._workers = max(1, workers)
        self._name = name
        self._cond = threading.Condition()
        self._pending: dict[K, T] = {}
        self._preferred: list[K] = []
        self._seen: set[K] = set()
        self._closed = False
        self._cancelled = False
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._results: queue.SimpleQueue[tuple[K, R | None, BaseException | None]] = (
            queue.SimpleQueue()
        )

    # -- feeding

    def add(self, items: Iterable[tuple[K, T]]) -> None:
        """Queue items (in this order, after the ones queued before)."""
        with self._cond:
            for key, item in items:
                if key in self._seen:
                    continue
                self._seen.add(key)
                self._pending[key] = item
            self._start_threads()
            self._cond.notify_all()

    def prefer(self, keys: Iterable[K]) -> None:
        """Do these (if still waiting) before the others; the latest call wins."""
        with self._cond:
            self._preferred = [k for k in keys if k in self._pending]

    def close(self) -> None:
        """No more items will be added: the threads end once the queue is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def cancel(self) -> None:
        """Take no new item; the items in progress finish, and their results are dropped."""
        with self._cond:
            self._cancelled = True
            self._pending.clear()
            self._cond.notify_all()

    # -- state

    @property
    def cancelled(self) -> bool:
        """:meth:`cancel` was called."""
        return self._cancelled

    @property
    def finished(self) -> bool:
        """Closed (or cancelled), and every item taken is done (and drained)."""
        with self._cond:
            return (
                (self._closed or self._cancelled)
                and not self._pending
                and self._busy == 0
                and self._results.empty()
            )

    @property
    def peak(self) -> int:
        """The most threads this queue ran (never more than ``workers``)."""
        return len(self._threads)

    def drain(self, timeout: float | None = None) -> list[tuple[K, R]]:
        """The results ready now; with ``timeout``, wait up to that long for the first one
        (or, once cancelled, for the items in progress to end: their results are dropped).

        Raises:
            BaseException: what ``work`` raised for an item (expired credentials, say); the
                queue is cancelled first.
        """
        if self._cancelled:
            # Nothing will come: wait (up to ``timeout``) for the items in progress to end.
            with self._cond:
                self._cond.wait_for(lambda: self._busy == 0, timeout=timeout or 0)
            return []
        taken: list[tuple[K, R | None, BaseException | None]] = []
        try:
            taken.append(
                self._results.get(timeout=timeout) if timeout else self._results.get_nowait()
            )
            while True:
                taken.append(self._results.get_nowait())
        except queue.Empty:
            pass
        if self._cancelled:
            return []
        found: list[tuple[K, R]] = []
        for key, result, error in taken:
            if error is not None:
                self.cancel()
                raise error
            found.append((key, result))  # type: ignore[arg-type]  # no error: work returned R
        return found

    # -- the threads

    def _start_threads(self) -> None:
        # Called with the lock held: one more thread per waiting item, up to the bound.
        while len(self._threads) < self._workers and len(self._pending) > self._idle():
            thread = threading.Thread(
                target=self._run, name=f"{self._name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _idle(self) -> int:
        return len(self._threads) - self._busy

    def _take(self) -> tuple[K, T] | None:
        """The next item (preferred first), or None when the thread should end."""
        with self._cond:
            while not self._pending and not self._closed and not self._cancelled:
                self._cond.wait()
            if self._cancelled or not self._pending:
                return None
            while self._preferred:
                key = self._preferred.pop(0)
                if key in self._pending:
                    self._busy += 1
                    return key, self._pending.pop(key)
            key = next(iter(self._pending))
            self._busy += 1
            return key, self._pending.pop(key)

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            key, item = taken
            try:
                result: R | None = self._work(item)
                error: BaseException | None = None
            except Exception as exc:  # handed to the consumer's thread by drain()
                result, error = None, exc
            # Put before counting the item done, so that "finished" never misses a result.
            if not self._cancelled:
                self._results.put((key, result, error))
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()


class SharedReads:
    """An :class:`~wizard.ports.AwsCaller` for one read-only look at an account: each
    distinct read is made once, and at most ``limit`` requests are in flight at once.

    A health check of twenty trails asks the same things many times (the account's Block
    Public Access, the organization, a bucket or a key several trails share); here the first
    asker makes the request and the others wait for its answer, or its error, which each of
    them gets as its own. Only for reads within one look: answers are kept until it ends.
    """

    def __init__(self, caller: AwsCaller, *, limit: int = READS_AT_ONCE) -> None:
        """Wrap ``caller``.

        Args:
            caller: Makes the requests.
            limit: Requests in flight at most.
        """
        self.caller = caller
        self._slots = threading.BoundedSemaphore(max(1, limit))
        self._lock = threading.Lock()
        self._answers: dict[str, Future[Any]] = {}
        self._in_flight = 0
        self.peak = 0
        """The most requests this caller had in flight at once."""
        self.requests = 0
        """Requests made (reads answered from an earlier one not counted)."""

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """One read, made once (see the class)."""
        answer: dict[str, Any] = self._once(
            ("call", service, region, operation, params),
            lambda: self.caller.call(service, region, operation, params),
        )
        return copy.deepcopy(answer)

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Every page of one read, made once (see the class)."""
        items: list[Any] = self._once(
            ("paginate", service, region, operation, result_key, params),
            lambda: self.caller.paginate(service, region, operation, result_key, params),
        )
        return copy.deepcopy(items)

    def _once(self, what: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        key = json.dumps(what, sort_keys=True, default=str)
        with self._lock:
            known = self._answers.get(key)
            mine = known is None
            if known is None:
                known = self._answers[key] = Future()
        if mine:
            with self._slots:
                with self._lock:
                    self._in_flight += 1
                    self.requests += 1
                    self.peak = max(self.peak, self._in_flight)
                try:
                    known.set_result(make())
                except BaseException as exc:  # each asker gets it, in its own thread
                    known.set_exception(exc)
                finally:
                    with self._lock:
                        self._in_flight -= 1
        try:
            return known.result()
        except AwsError as err:
            # A fresh one per asker: one exception raised in several threads at once would
            # share (and tangle) its traceback.
            raise AwsError(
                service=err.service,
                operation=err.operation,
                code=err.code,
                message=err.message,
                status=err.status,
            ) from None
