"""The controls each trainee's applied trail passes, for the trainer's dashboard.

Once a trainee's wizard has applied a plan, its position file names the trail
(:class:`screens.common.classroom.Position`); the dashboard shows how many of the trail
controls (:data:`wizard.policy.controls.CONTROLS`, as ``status`` judges them) that trail
passes, read from the trainee's own sandbox with :func:`wizard.health.trails.check_health`.

Checking is bounded: one trainee at a time, in a thread (never on the server's event loop),
each given :data:`CHECK_SECONDS`, and a trail is checked again only after
:data:`FRESH_SECONDS` or when the trainee's position changed. A sandbox that is not running
is never started for it: the last result stays.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from screens.cli.serving.trainees import sandbox_endpoint
from screens.common.classroom import Position, now_text, read_position

log = logging.getLogger("cloudtrail-wizard.serve")

FRESH_SECONDS = 30.0
"""A trail's controls are read again after this long (or when the wizard moved)."""
CHECK_SECONDS = 30.0
"""The longest one trail's check is waited for."""
FAILING_KEPT = 20
"""The most failing control ids kept per trainee."""


def controls_of(endpoint: str, trail_arn: str) -> dict[str, Any]:
    """The controls ``trail_arn`` passes in the sandbox at ``endpoint`` (blocking: call it in
    a thread): ``passed``, ``total`` (controls that apply), ``failing`` (their ids),
    ``checked`` (when), ``trail``; or ``error`` when the trail could not be read."""
    # Deferred: boto3 and the health checks load only when a class has a trail to check.
    from wizard.aws.session import SessionSettings, open_session
    from wizard.health.trails import TrailNotFound, check_health
    from wizard.ports import AwsError

    region = trail_arn.split(":")[3] if trail_arn.count(":") >= 5 else "us-east-1"
    checked = now_text()
    try:
        # The sandbox's administrator (its dummy credentials): the trainer reads everything,
        # whichever identity the trainee's own wizard acts as.
        session = open_session(
            SessionSettings(sandbox_endpoint=endpoint, region=region or "us-east-1"),
            verify=False,
        )
        report = check_health(session.caller, session.region, trail=trail_arn, max_workers=1)
    except TrailNotFound:
        return {"error": "the trail is gone", "checked": checked, "trail": trail_arn}
    except AwsError as err:
        return {"error": f"{err.code}: {err.message}"[:300], "checked": checked, "trail": trail_arn}
    if not report.trails:
        return {"error": "the trail is gone", "checked": checked, "trail": trail_arn}
    controls = report.trails[0].controls
    judged = [c for c in controls if c.status in ("pass", "fail")]
    failing = [c.control.id for c in judged if c.status == "fail"]
    return {
        "passed": sum(1 for c in judged if c.status == "pass"),
        "total": len(judged),
        "failing": failing[:FAILING_KEPT],
        "checked": checked,
        "trail": trail_arn,
    }


class ControlsWatch:
    """Reads the trainees' trails' controls now and then, one trainee at a time."""

    def __init__(
        self,
        note: Callable[[str, dict[str, Any] | None], None],
        *,
        check: Callable[[str, str], dict[str, Any]] = controls_of,
        endpoint: Callable[[Path], str | None] = sandbox_endpoint,
    ) -> None:
        """Report each result to ``note(trainee id, controls)``.

        Args:
            note: Keeps a trainee's result (the class saves it).
            check: Reads one trail's controls (blocking).
            endpoint: The running sandbox of a home, or None.
        """
        self.note = note
        self.check = check
        self.endpoint = endpoint
        self._seen: dict[str, tuple[float, Position | None]] = {}
        self._task: asyncio.Task[None] | None = None

    def refresh(self, homes: Mapping[str, Path]) -> None:
        """Check the trails that are due, in the background (one pass at a time)."""
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.get_running_loop().create_task(self._pass(dict(homes)))

    async def wait(self) -> None:
        """Until the pass under way (if any) has ended."""
        if self._task is not None:
            await asyncio.shield(self._task)

    def stop(self) -> None:
        """Stop checking (the server stops); a check under way finishes in its thread."""
        if self._task is not None:
            self._task.cancel()

    async def _pass(self, homes: dict[str, Path]) -> None:
        for ident, home in homes.items():
            try:
                await self._one(ident, home)
            except asyncio.CancelledError:
                raise
            except Exception:  # one trainee's trouble never stops the others' checks
                log.exception("could not check the controls of trainee %s", ident)

    async def _one(self, ident: str, home: Path) -> None:
        position = await asyncio.to_thread(read_position, home)
        if position is None or not position.trail_arn:
            return
        last = self._seen.get(ident)
        now = time.monotonic()
        if last is not None and last[1] == position and now - last[0] < FRESH_SECONDS:
            return
        endpoint = await asyncio.to_thread(self.endpoint, home)
        if endpoint is None:
            return  # not running: keep the last result, and never wake it for this
        self._seen[ident] = (now, position)
        try:
            found = await asyncio.wait_for(
                asyncio.to_thread(self.check, endpoint, position.trail_arn), CHECK_SECONDS
            )
        except TimeoutError:
            found = {
                "error": f"no answer within {CHECK_SECONDS:.0f} s",
                "checked": now_text(),
                "trail": position.trail_arn,
            }
        self.note(ident, found)
