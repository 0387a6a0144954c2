"""Screens that fit: at 80x24 everything is reachable and readable, at 120x40 words are whole.

Driven with Pilot against the seeded sandbox, the help panel asked for (as on a first run):
what is checked is where things are on the screen (regions), not how they look; the
snapshots in test_snapshots_fit.py show the look.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, DataTable, Static, TabbedContent, Tabs

from screens.tui import keys
from screens.tui.app import WizardApp
from screens.tui.base import StepScreen, field_label
from screens.tui.status import StatusScreen
from screens.tui.steps.review import ReviewScreen
from screens.tui.widgets.choice_table import ChoiceTable
from screens.tui.widgets.findings import FindingsList
from screens.tui.widgets.sizes import WIDE_FROM
from tests.screens.tui.test_review_apply import APP_BUCKET, open_review
from tests.screens.tui.test_review_apply import answers as review_answers
from tests.screens.tui.test_steps import answers, connected, until

pytestmark = [pytest.mark.tui, pytest.mark.aws]

SMALL = (80, 24)
BIG = (120, 40)
INPUT_STEPS = ("trail", "storage", "prefix", "encryption", "delivery", "events")


def lines_of(widget: Widget, region: Region | None = None) -> list[str]:
    """The text a widget draws in ``region`` (its own coordinates; default: all of it)."""
    region = region or Region(0, 0, widget.size.width, widget.size.height)
    return [strip.text for strip in widget.render_lines(region)]


def on_screen(app: WizardApp, widget: Widget) -> bool:
    """The widget is shown, and wholly inside the terminal."""
    region = widget.region
    return widget.display and region.area > 0 and Region(0, 0, *app.size).contains_region(region)


async def go(pilot: Pilot[Any], step: str) -> StepScreen:
    """Show ``step`` (after connecting) with its lookups done."""
    app: WizardApp = await connected(pilot)
    app.go_to(step, app.state)
    await until(pilot, lambda: app.current_step == step, step)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, StepScreen)
    return screen


def in_view(form: VerticalScroll, widgets: list[Widget]) -> Callable[[], bool]:
    """A condition: every one of ``widgets`` is wholly in the form's visible part."""
    return lambda: all(form.scrollable_content_region.contains_region(w.region) for w in widgets)


def footer_quit(screen: Any) -> Widget:
    """The footer's key that quits."""
    quits: list[Widget] = [
        key for key in screen.query("FooterKey") if getattr(key, "action", "") == "quit_wizard"
    ]
    assert len(quits) == 1
    return quits[0]


def quit_whole(app: WizardApp) -> bool:
    """The footer's Quit key is on screen, left of the palette key, with all its text."""
    key = footer_quit(app.screen)
    palette = app.screen.query_one(".-command-palette", Widget)
    return (
        on_screen(app, key)
        and key.region.right <= palette.region.x
        and "Quit" in "".join(lines_of(key))
    )


async def assert_quit_shows_whole(pilot: Pilot[Any], app: WizardApp) -> None:
    """Wait for the footer to be laid out (it is rebuilt after a screen's first frame)."""
    await until(pilot, lambda: quit_whole(app), "the footer's Quit key, whole")


# ---------------------------------------------------------------------------- help panel


async def test_a_narrow_terminal_hides_the_help_and_the_key_still_shows_it(
    app_factory: Any,
) -> None:
    app: WizardApp = app_factory(show_help=True)
    async with app.run_test(size=SMALL) as pilot:
        screen = await go(pilot, "trail")
        panel = screen.query_one("#help-panel")
        assert app.size.width < WIDE_FROM
        assert not panel.display  # the form keeps the whole width
        assert screen.query_one("#body").region.width == app.size.width

        await pilot.press(keys.HELP.split(",")[0])
        await pilot.pause()
        assert panel.display
        # Under the form, the full width: neither squeezes the other's words.
        body = screen.query_one("#body")
        assert panel.region.width == app.size.width
        assert panel.region.y >= body.region.bottom
        help_text = " ".join(" ".join(lines_of(panel.query_one("HelpParagraph"))).split())
        assert "multi-region trail" in help_text

        # The choice holds on the next step, and the key hides it again.
        app.go_to("storage", app.state)
        await until(pilot, lambda: app.current_step == "storage", "storage")
        assert app.screen.query_one("#help-panel").display
        await pilot.press(keys.HELP.split(",")[0])
        await pilot.pause()
        assert not app.screen.query_one("#help-panel").display
    assert app.show_help  # the wide-terminal choice is left as it was


async def test_a_wide_terminal_shows_the_help_beside_the_form(app_factory: Any) -> None:
    app: WizardApp = app_factory(show_help=True)
    async with app.run_test(size=BIG) as pilot:
        screen = await go(pilot, "trail")
        panel = screen.query_one("#help-panel")
        body = screen.query_one("#body")
        assert panel.display
        assert panel.region.x >= body.region.right
        assert panel.region.y == body.region.y

        # Made narrow, the terminal loses the panel; wide again, it is back.
        await pilot.resize_terminal(*SMALL)
        await pilot.pause()
        assert not panel.display
        await pilot.resize_terminal(*BIG)
        await pilot.pause()
        assert panel.display


# ---------------------------------------------------------------------------- labels, actions


@pytest.mark.parametrize("size", [SMALL, BIG], ids=["80x24", "120x40"])
async def test_the_focused_field_shows_with_its_label_and_next_on_every_step(
    app_factory: Any, size: tuple[int, int]
) -> None:
    app: WizardApp = app_factory(answers=answers(), show_help=True)
    async with app.run_test(size=size) as pilot:
        for step in INPUT_STEPS:
            screen = await go(pilot, step)
            focused = screen.focused
            assert focused is not None, step
            body = screen.query_one("#body", VerticalScroll)
            label = field_label(focused, body)
            shown = [w for w in (focused, label) if w is not None]
            # The form scrolls once laid out, after the step's first frame.
            await until(pilot, in_view(body, shown), f"{step}: the field and its label in view")
            assert on_screen(app, screen.query_one("#next")), step
            await assert_quit_shows_whole(pilot, app)


async def test_a_field_further_down_comes_into_view_with_its_label(app_factory: Any) -> None:
    app: WizardApp = app_factory(answers=answers(), show_help=True)
    async with app.run_test(size=SMALL) as pilot:
        screen = await go(pilot, "trail")
        tags = screen.query_one("#tags")
        tags.focus()
        body = screen.query_one("#body", VerticalScroll)
        label = field_label(tags, body)
        assert label is not None and "Tags" in str(label.render())
        await until(pilot, in_view(body, [label, tags]), "the tags field and its label in view")


# ---------------------------------------------------------------------------- tables


async def test_the_pickers_columns_fit_and_keep_whole_values(app_factory: Any) -> None:
    app: WizardApp = app_factory(answers=answers(), show_help=True)
    async with app.run_test(size=SMALL) as pilot:
        screen = await go(pilot, "storage")
        await pilot.click("#mode-existing")
        buckets = screen.query_one("#buckets", ChoiceTable)
        await until(pilot, lambda: bool(buckets.keys), "the buckets")
        await pilot.pause()
        table = buckets.table
        assert table.max_scroll_x == 0  # no column off to the right
        header = lines_of(table, Region(0, 0, table.size.width, 1))[0]
        assert header.split() == ["Bucket", "Region", "Policy"]
        text = "\n".join(lines_of(table))
        assert "statements" in text  # the policy note wraps instead of being cut
        assert APP_BUCKET in [str(table.get_row(key)[0]) for key in table.rows]

        screen = await go(pilot, "encryption")
        await pilot.click("#key-mode-existing")
        keys_table = screen.query_one("#keys", ChoiceTable)
        await until(pilot, lambda: bool(keys_table.keys), "the keys")
        await pilot.pause()
        table = keys_table.table
        assert table.max_scroll_x == 0
        text = " ".join(" ".join(lines_of(table)).split())
        assert "but the bucket is in us-east-1" in text  # the whole reason, wrapped


async def test_trail_health_fits_and_keeps_quit(app_factory: Any) -> None:
    app: WizardApp = app_factory(show_help=True)
    async with app.run_test(size=SMALL) as pilot:
        await connected(pilot)
        await pilot.press(keys.TRAIL_HEALTH.split(",")[0])
        await until(
            pilot,
            lambda: isinstance(app.screen, StatusScreen) and app.screen.report is not None,
            "the trail health report",
        )
        # The buttons take their short labels once laid out (after the report's first frame).
        buttons = list(app.screen.query("#status-actions Button").results(Button))
        await until(
            pilot, lambda: all(on_screen(app, b) for b in buttons if b.display), "the buttons"
        )
        table = app.screen.query_one("#status-trails", DataTable)
        assert table.max_scroll_x == 0
        assert "Refresh" in [str(b.label) for b in buttons]
        await assert_quit_shows_whole(pilot, app)


# ---------------------------------------------------------------------------- review


def plan_lines(review: ReviewScreen) -> list[str]:
    """The lines of the plan table that are in view now."""
    scroller = review.query_one("#plan VerticalScroll", VerticalScroll)
    table = review.query_one("#plan-table", Static)
    visible = scroller.scrollable_content_region
    window = Region(0, int(scroller.scroll_y), table.size.width, visible.height)
    return lines_of(table, window)


async def test_review_at_80x24_shows_the_plan_not_just_the_findings(app_factory: Any) -> None:
    # A new KMS key: eleven steps and findings taller than their box (the plan the issue was
    # about had three; the sandbox's permission note went once its simulator answered).
    app: WizardApp = app_factory(answers=review_answers(encryption={"type": "sse-kms"}))
    app.show_help = True
    async with app.run_test(size=SMALL) as pilot:
        review = await open_review(pilot)
        await pilot.pause()
        findings = review.query_one(FindingsList)
        assert len(findings.findings) >= 2
        await until(pilot, lambda: "Tab here" in str(findings.border_subtitle), "the subtitle")
        assert findings.outer_size.height <= 5  # one headline each, in a bounded box

        shown = plan_lines(review)
        numbers = [int(m.group(1)) for line in shown if (m := re.match(r"\s*(\d+)\s{2}", line))]
        assert len(shown) >= 9
        assert numbers[:3] == [1, 2, 3]  # at least three whole steps on the first screen
        await assert_quit_shows_whole(pilot, app)
        for button in review.query("#nav Button"):
            assert on_screen(app, button), button.id

        # Focused, the findings open up to be read.
        findings.focus()
        await until(pilot, lambda: findings.outer_size.height > 5, "the findings to open")
        messages = findings.query(".finding-message")
        assert messages and all(m.display for m in messages)


async def test_review_at_120x40_with_help_keeps_tab_labels_whole_and_room_for_the_diff(
    app_factory: Any,
) -> None:
    bucket = {"name": APP_BUCKET, "create": False, "prefix": "trail"}
    app: WizardApp = app_factory(answers=review_answers(bucket=bucket), show_help=True)
    async with app.run_test(size=BIG) as pilot:
        review = await open_review(pilot)
        assert review.query_one("#help-panel").display
        tabs = review.query_one("#tabs", TabbedContent)
        tabs.active = "bucket-policy-diff"
        bar = review.query_one("#tabs Tabs", Tabs)
        labels = list(bar.query("Tab"))
        assert len(labels) >= 7
        await until(
            pilot,
            lambda: all(bar.region.contains_region(tab.region) for tab in labels),
            "the tab labels to fit",
        )
        for tab in labels:
            assert bar.region.contains_region(tab.region), str(tab.render())
            assert tab.region.width >= len(str(tab.render()))  # the label drawn whole
        assert "CloudFormation" in [str(tab.render()).strip() for tab in labels]

        findings = review.query_one(FindingsList)
        pane = review.query_one("#bucket-policy-diff VerticalScroll", VerticalScroll)
        assert findings.outer_size.height <= review.query_one("#plan-view").size.height * 0.3
        assert pane.scrollable_content_region.height >= 18  # the diff gets the room


# ---------------------------------------------------------------------------- paths


async def test_the_log_path_breaks_after_a_slash(app_factory: Any) -> None:
    app: WizardApp = app_factory(answers=answers(), show_help=True)
    async with app.run_test(size=(60, 24)) as pilot:
        screen = await go(pilot, "prefix")
        path = screen.query_one("#path", Static)
        shown = [line.rstrip() for line in lines_of(path) if line.strip()]
        assert len(shown) >= 2
        assert all(line.endswith("/") for line in shown)
        assert "".join(shown) == str(path.content)
