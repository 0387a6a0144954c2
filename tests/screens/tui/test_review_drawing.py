"""The review draws each document, table and the plan once per width, and what it draws is
what rich's own renderables draw (:class:`SourceView`, :class:`KeptRender`); a plan built
again (an answer changed) is drawn anew, never from the previous plan's drawings.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual.widgets import Static, Tab, TabbedContent, TabPane, Tabs

from screens.tui.app import WizardApp
from screens.tui.steps.review import PlanView, ReviewScreen
from screens.tui.widgets.policy_view import KeptRender, PolicyJson, SourceView, json_view
from tests.screens.tui.test_review_apply import SIZE, answers, open_review, until
from tests.screens.tui.test_step_switch import note_restyles

LONG_ARN = "arn:aws:s3:::" + "a-bucket-name-long-enough-to-wrap-" * 4 + "/AWSLogs/123456789012/*"

DOCUMENTS = (
    (
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AWSCloudTrailWrite",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": LONG_ARN,
                        "Condition": {
                            "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}
                        },
                    }
                ],
            },
            indent=2,
        ),
        "json",
    ),
    (
        "#!/usr/bin/env bash\nset -euo pipefail\n\taws s3api create-bucket --bucket "
        + LONG_ARN
        + " --region us-east-1\n\n# done\n",
        "bash",
    ),
    ("Resources:\n  Trail:\n    Type: AWS::CloudTrail::Trail\n    Name: " + LONG_ARN, "yaml"),
    ("", "json"),
    ("\n", "bash"),
    ("no newline at the end", "json"),
)
"""Sources with long lines (wrapped), tabs, blank lines, with and without a final newline."""

WIDTHS = (1, 7, 40, 80, 114, 116, 200)


def console() -> Console:
    return Console(width=120, color_system="truecolor", force_terminal=True, record=False)


@pytest.mark.parametrize(("text", "language"), DOCUMENTS)
def test_source_view_draws_what_syntax_draws(text: str, language: str) -> None:
    term = console()
    for width in WIDTHS:
        options = term.options.update_width(width).update(highlight=False)
        expected = list(term.render(json_view(text, language), options))
        view = SourceView(text, language)
        assert list(term.render(view, options)) == expected, width
        assert list(term.render(view, options)) == expected, width  # drawn once, the same
        lines = [list(line) for line in Segment.split_lines(expected)]
        # Counted without drawing: the same height as the drawing.
        assert SourceView(text, language).height(term, options) == len(lines), width
        # Line by line, as a widget paints it, in any order.
        fresh = SourceView(text, language)
        for y in reversed(range(len(lines))):
            assert fresh.line(term, options, y) == lines[y], (width, y)
        assert fresh.line(term, options, len(lines)) is None


def test_source_view_prepares_the_first_lines_only_when_asked() -> None:
    text, language = DOCUMENTS[1]
    term = console()
    options = term.options.update_width(30)
    view = SourceView(text, language)
    drawn = list(view.prepare(term, options, 2))
    assert drawn and not view.is_prepared(options)
    rest = list(view.prepare(term, options))
    assert set(drawn).isdisjoint(rest)
    assert view.is_prepared(options)
    assert list(term.render(view, options)) == list(term.render(json_view(text, language), options))


def test_kept_render_draws_what_it_wraps_once_per_width() -> None:
    made: list[int] = []

    def table(width: int) -> Table:
        made.append(width)
        grid = Table(expand=True)
        grid.add_column("Change", ratio=2)
        grid.add_column("Undo", ratio=1)
        grid.add_row(Text(LONG_ARN), "—")
        return grid

    term = console()
    kept = KeptRender(table)
    for width in (40, 80, 40, 80):
        options = term.options.update_width(width)
        assert list(term.render(kept, options)) == list(term.render(table(width), options))
    assert made.count(40) == 3 and made.count(80) == 3  # kept's one each, the checks' two


def drawn_lines(widget: Static) -> list[str]:
    """The text of every line the widget paints now (its own drawing, not rich's)."""
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def show_tab(pilot: Any, review: ReviewScreen, tab: str) -> None:
    tabs = review.query_one("#tabs", TabbedContent)
    for _ in range(len(tabs.query("TabPane"))):
        if tabs.active == tab:
            break
        await pilot.press("right_square_bracket")
        await pilot.pause()
    await until(pilot, lambda: tabs.active == tab, f"the {tab} tab")
    await pilot.pause()


async def test_a_plan_built_again_is_drawn_anew(app_factory: Any) -> None:
    """Drawings are kept per plan: after an answer changes, the review draws the new plan."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        plan_table = review.query_one("#plan-table", Static)
        assert "acme-trail-logs-5k2" in "".join(drawn_lines(plan_table))
        await show_tab(pilot, review, "bucket-policy")
        policy = review.query_one("#bucket-policy-json", PolicyJson)
        assert "acme-trail-logs-5k2" in "".join(drawn_lines(policy))

        app.go_to("review", app.state.with_answer("bucket.name", "acme-renamed-logs-9q"))
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, ReviewScreen)
                and app.screen is not review
                and app.screen.mode != "loading"
            ),
            "the plan built again",
        )
        again = app.screen
        assert isinstance(again, ReviewScreen) and again.mode == "ready"
        plan_table = again.query_one("#plan-table", Static)
        assert "acme-renamed-logs-9q" in "".join(drawn_lines(plan_table))
        await show_tab(pilot, again, "bucket-policy")
        shown = "".join(drawn_lines(again.query_one("#bucket-policy-json", PolicyJson)))
        assert "acme-renamed-logs-9q" in shown
        assert "acme-trail-logs-5k2" not in shown
        exports = again.query_one(PlanView).exports
        assert "acme-renamed-logs-9q" in exports["bucket-policy"].text
        # The drawn lines are the exported text, wrapped: nothing of it is lost.
        drawn = "".join(drawn_lines(again.query_one("#bucket-policy-json", PolicyJson)))
        assert "".join(drawn.split()) == "".join(exports["bucket-policy"].text.split())


async def test_tight_tab_labels_restyle_the_tab_bar_only(app_factory: Any) -> None:
    """Where the labels do not fit with two cells between them, the tabs get one: a class
    on the tab bar, so only its tabs are restyled, never the panes of every tab (a class
    change restyles the widget and everything in it)."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=(50, 30)) as pilot:  # this plan's labels need 58 cells
        review = await open_review(pilot)
        await pilot.pause()
        tabs = review.query_one("#tabs", TabbedContent)
        bar = tabs.query_one(Tabs)
        assert bar.has_class("-tight") and not tabs.has_class("-tight")
        for tab in bar.query(Tab):
            padding = tab.styles.padding
            assert (padding.left, padding.right) == (1, 0), tab
        restyled = note_restyles(app)
        await pilot.resize_terminal(160, 40)  # room for the labels: no longer tight
        await until(pilot, lambda: not bar.has_class("-tight"), "the labels with room")
        assert bar in restyled  # the class came off the bar
        assert not [node for node in restyled if node is tabs or isinstance(node, TabPane)]
        assert {tab.styles.padding.left for tab in bar.query(Tab)} == {1}
        assert {tab.styles.padding.right for tab in bar.query(Tab)} == {1}
