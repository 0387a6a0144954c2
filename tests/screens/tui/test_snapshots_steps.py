"""Snapshots of the input steps against the seeded sandbox: they guard the layout.

Each docstring says what a reviewer should see in the SVG. Input cursors are frozen and
every lookup has finished before the picture is taken; nothing that changes per run (the
emulator's port, key ids) is on screen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from screens.tui.app import WizardApp
from screens.tui.widgets.choice_table import ChoiceTable
from tests.screens.tui.test_steps import (
    CENTRAL_BUCKET,
    answers,
    choose,
    connected,
    paste_into,
    type_into,
    until,
)

pytestmark = [pytest.mark.tui, pytest.mark.aws]

BIG = (120, 40)
SMALL = (80, 24)

Action = Callable[[Pilot[Any]], Awaitable[None]]


def at(step: str, then: Action | None = None) -> Action:
    """A ``run_before`` that connects, shows ``step``, runs ``then`` and waits for lookups."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app: WizardApp = await connected(pilot)
        await pilot.app.workers.wait_for_complete()
        if step != "welcome":
            app.go_to(step, app.state)
            await until(pilot, lambda: app.screen.__class__.__name__ != "WelcomeScreen", step)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if then is not None:
            await then(pilot)
            await pilot.app.workers.wait_for_complete()
        for widget in app.screen.query(Input):
            widget.cursor_blink = False  # a blinking cursor would make the picture flaky
        await pilot.pause()

    return run_before


def test_welcome(snap_compare: Any, app_factory: Any) -> None:
    """Welcome, with the help panel: the sandbox sentence, account 123456789012, the caller,
    and legacy-trail (us-west-2, single-region) in the trails table; Next focused, no Back."""
    assert snap_compare(app_factory(show_help=True), terminal_size=BIG, run_before=at("welcome"))


def test_welcome_small(snap_compare: Any, app_factory: Any) -> None:
    """Welcome at 80x24: account block and the trails table still fit above the buttons."""
    assert snap_compare(app_factory(), terminal_size=SMALL, run_before=at("welcome"))


def test_trail(snap_compare: Any, app_factory: Any) -> None:
    """Trail: name, home region us-east-1, global events locked on with the reason, the
    organization switch off and disabled because the account is in no organization."""
    assert snap_compare(app_factory(), terminal_size=BIG, run_before=at("trail"))


def test_trail_small_invalid_name(snap_compare: Any, app_factory: Any) -> None:
    """Trail at 80x24 with the name 'my--trail': the field is red and the guide's message
    (two of '.', '_' or '-' next to each other) sits right under it."""

    async def bad_name(pilot: Pilot[Any]) -> None:
        await type_into(pilot, "#name", "my--trail")

    assert snap_compare(app_factory(), terminal_size=SMALL, run_before=at("trail", bad_name))


def test_storage_new_bucket_taken(snap_compare: Any, app_factory: Any) -> None:
    """Storage, new bucket named demo-app-data-123456789012: the check says you already own it
    and suggests choosing 'existing bucket'; the region defaults to the trail's."""

    async def taken(pilot: Pilot[Any]) -> None:
        await paste_into(pilot, "#bucket-name", "demo-app-data-123456789012")
        await pilot.press("enter")

    app = app_factory(answers=answers())
    assert snap_compare(app, terminal_size=BIG, run_before=at("storage", taken))


def test_storage_access_logging_new_bucket(snap_compare: Any, app_factory: Any) -> None:
    """Storage, server access logging 'Into a new bucket': the target bucket's name suggested
    as <log bucket>-access-logs and the prefix access-logs/, with the CIS 4.4 / CloudTrail.7
    hint under the choice."""

    async def access(pilot: Pilot[Any]) -> None:
        await pilot.click("#access-new")
        await pilot.pause()

    app = app_factory(answers=answers())
    assert snap_compare(app, terminal_size=(120, 50), run_before=at("storage", access))


def test_storage_existing_bucket(snap_compare: Any, app_factory: Any) -> None:
    """Storage, existing bucket: the three seeded buckets with their regions, the central one
    marked as already allowing CloudTrail, chosen, and the 'Chosen:' line under the list."""

    async def existing(pilot: Pilot[Any]) -> None:
        await pilot.click("#mode-existing")
        table = pilot.app.screen.query_one("#buckets", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the buckets")
        await choose(pilot, "#buckets", "central")
        await type_into(pilot, "#buckets Input", "")
        assert CENTRAL_BUCKET in str(pilot.app.screen.query_one("#chosen", Static).content)

    app = app_factory(answers=answers())
    assert snap_compare(app, terminal_size=BIG, run_before=at("storage", existing))


def test_prefix(snap_compare: Any, app_factory: Any) -> None:
    """Prefix 'audit': the live path s3://acme-trail-logs-5k2/audit/AWSLogs/123456789012/
    CloudTrail/us-east-1/YYYY/MM/DD/ and the multi-region note."""

    async def prefix(pilot: Pilot[Any]) -> None:
        await type_into(pilot, "#prefix", "audit")

    app = app_factory(answers=answers())
    assert snap_compare(app, terminal_size=BIG, run_before=at("prefix", prefix))


def test_encryption_existing_key_wrong_region(snap_compare: Any, app_factory: Any) -> None:
    """Encryption, existing key: the comparison table, the bucket-region note (us-east-1), the
    keys with why each unusable one cannot be chosen, and alias/app-data-eu chosen with its
    reason naming eu-west-1 and us-east-1."""

    async def wrong_region(pilot: Pilot[Any]) -> None:
        await pilot.click("#key-mode-existing")
        table = pilot.app.screen.query_one("#keys", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the keys")
        await choose(pilot, "#keys", "app-data-eu")
        await type_into(pilot, "#keys Input", "")

    app = app_factory(answers=answers())
    assert snap_compare(app, terminal_size=BIG, run_before=at("encryption", wrong_region))


def test_delivery(snap_compare: Any, app_factory: Any) -> None:
    """Delivery: a new SNS topic named acme-log-files, CloudWatch Logs on with the default
    group name, a new role (generated name) and 365 days of retention."""

    async def fill(pilot: Pilot[Any]) -> None:
        await pilot.click("#sns-new")
        await paste_into(pilot, "#topic-name", "acme-log-files")
        await pilot.click("#cw-send")
        await pilot.pause()
        pilot.app.screen.query_one("#body").scroll_home(animate=False)

    app = app_factory(answers=answers())
    assert snap_compare(app, terminal_size=BIG, run_before=at("delivery", fill))


def test_events(snap_compare: Any, app_factory: Any) -> None:
    """Events: management read/write (recommended), the exclusions and the presets with their
    cost hints, the S3 object writes preset (CIS 4.8) ticked and its selector listed with the
    buttons that add, change and remove selectors, Insights available."""

    async def s3(pilot: Pilot[Any]) -> None:
        boxes = pilot.app.screen.query("#presets Checkbox")
        box = next(b for b in boxes if b.name == "s3-writes")
        await pilot.click(box)
        assert pilot.app.screen.query_one("#management", Select).value == "all"

    app = app_factory(answers=answers())
    assert snap_compare(app, terminal_size=BIG, run_before=at("events", s3))
