"""Messages posted by thread workers back to the UI (post_message is thread-safe)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class Connected(Message):
    """The session is open and the caller identified."""

    def __init__(self, info: Any, trails: list[Any]) -> None:
        self.info = info
        self.trails = trails
        super().__init__()


class ConnectFailed(Message):
    """The session could not be opened; ``message`` says how to fix it."""

    def __init__(self, message: str, kind: str) -> None:
        self.message = message
        self.kind = kind
        super().__init__()


class LookupDone(Message):
    """A background lookup (buckets, keys, availability) finished."""

    def __init__(self, name: str, result: Any, error: str | None = None) -> None:
        self.name = name
        self.result = result
        self.error = error
        super().__init__()


class PlanReady(Message):
    """Discovery, preflight and plan are done."""

    def __init__(self, plan: Any, discovery: Any) -> None:
        self.plan = plan
        self.discovery = discovery
        super().__init__()


class PlanFailed(Message):
    """Planning failed (an AWS error); ``message`` explains."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__()


class ApplyProgress(Message):
    """One apply event (step started/done/failed, rollback, ...)."""

    def __init__(self, event: Any) -> None:
        self.event = event
        super().__init__()


class ApplyFinished(Message):
    """Apply ended (applied, rolled back, cancelled, stale)."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        super().__init__()


class DryRunFinished(Message):
    """A dry run ended; ``calls`` were recorded and none sent."""

    def __init__(self, calls: list[Any]) -> None:
        self.calls = calls
        super().__init__()
