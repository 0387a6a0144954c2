"""The controls of a trainee's applied trail, for the trainer's dashboard: read from their
sandbox as ``status`` judges them, and only when a trail was applied and its sandbox runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from screens.cli.serving.classroom_health import ControlsWatch, controls_of
from screens.common.classroom import Position, write_position
from wizard.aws.session import open_session
from wizard.aws.settings import SessionSettings
from wizard.health.trails import check_health
from wizard.sandbox.server import DEMO_ACCOUNT, DEMO_TRAIL, DEMO_TRAIL_REGION

LEGACY_ARN = f"arn:aws:cloudtrail:{DEMO_TRAIL_REGION}:{DEMO_ACCOUNT}:trail/{DEMO_TRAIL}"


def test_the_controls_of_a_trail_are_read_as_status_judges_them(sandbox: Any) -> None:
    found = controls_of(sandbox.endpoint_url, LEGACY_ARN)
    settings = SessionSettings(sandbox_endpoint=sandbox.endpoint_url, region=DEMO_TRAIL_REGION)
    report = check_health(open_session(settings).caller, DEMO_TRAIL_REGION, trail=LEGACY_ARN)
    judged = [c for c in report.trails[0].controls if c.status in ("pass", "fail")]
    assert found["trail"] == LEGACY_ARN
    assert found["total"] == len(judged) > 0
    assert found["passed"] == sum(c.status == "pass" for c in judged)
    assert found["failing"] == [c.control.id for c in judged if c.status == "fail"]
    gone = controls_of(sandbox.endpoint_url, LEGACY_ARN.replace(DEMO_TRAIL, "no-such-trail"))
    assert gone["error"] == "the trail is gone"


def test_only_an_applied_trail_in_a_running_sandbox_is_checked(tmp_path: Path) -> None:
    homes = {name: tmp_path / name for name in ("applied", "reviewing", "stopped")}
    for home in homes.values():
        home.mkdir()
    write_position(homes["applied"], Position("done", "Done", "t", trail_arn=LEGACY_ARN))
    write_position(homes["reviewing"], Position("review", "Review", "t"))
    write_position(homes["stopped"], Position("done", "Done", "t", trail_arn=LEGACY_ARN))
    checked: list[str] = []
    noted: dict[str, Any] = {}

    def check(endpoint: str, arn: str) -> dict[str, Any]:
        checked.append(endpoint)
        return {"passed": 1, "total": 2, "failing": ["CloudTrail.2"], "trail": arn}

    def endpoint(home: Path) -> str | None:
        return None if home.name == "stopped" else f"http://{home.name}"

    async def passes() -> None:
        watch = ControlsWatch(noted.__setitem__, check=check, endpoint=endpoint)
        watch.refresh(homes)
        watch.refresh(homes)  # one pass at a time: this one is not started
        await watch.wait()
        watch.refresh(homes)  # nothing changed since: fresh results are not read again
        await watch.wait()

    asyncio.run(passes())
    assert checked == ["http://applied"]
    assert list(noted) == ["applied"] and noted["applied"]["passed"] == 1
