"""Keys on the review draw their whole effect at once: no animation runs while it is shown
(the tab bar's underline slid over 0.3 s and a page scrolled over 0.2 s, a dozen frames or
more each that the next key waited behind), and the app's animations come back when the
review is covered by the Apply question or left.
"""

from __future__ import annotations

from typing import Any

from textual.containers import VerticalScroll
from textual.types import AnimationLevel
from textual.widgets import TabbedContent, Tabs
from textual.widgets._tabs import Underline

from screens.tui.app import WizardApp
from screens.tui.confirm import ConfirmScreen
from screens.tui.steps.review import ReviewScreen
from tests.screens.tui.test_review_apply import SIZE, answers, open_review, until


def level(app: WizardApp) -> AnimationLevel:
    """The app's animation level now (read afresh: it changes as screens come and go)."""
    return app.animation_level


def underline_under_active_tab(review: ReviewScreen) -> bool:
    """Whether the tab bar's underline spans the active tab exactly."""
    bar = review.query_one("#tabs Tabs", Tabs)
    underline = bar.query_one(Underline)
    active = bar.active_tab
    assert active is not None
    start, end = active.virtual_region.shrink(active.styles.gutter).column_span
    return (underline.highlight_start, underline.highlight_end) == (start, end)


async def test_review_keys_draw_at_once_and_animations_come_back(app_factory: Any) -> None:
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        before = level(app)
        assert before != "none"  # else this test proves nothing
        review = await open_review(pilot)
        assert level(app) == "none"
        tabs = review.query_one("#tabs", TabbedContent)
        first = tabs.active
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: tabs.active != first, "the next tab")
        await pilot.pause()
        # Nothing is left to animate: the underline is under the new tab in this frame.
        assert not app.animator.is_being_animated(review.query_one(Underline), "highlight_end")
        assert underline_under_active_tab(review)
        # A page down moves by a page at once, not a frame's worth of a 0.2 s slide.
        for _ in range(len(tabs.query("TabPane"))):
            scroller = tabs.get_pane(tabs.active).query_one(VerticalScroll)
            if scroller.max_scroll_y >= scroller.scrollable_content_region.height:
                break
            await pilot.press("right_square_bracket")
            await pilot.pause()
        assert scroller.max_scroll_y >= scroller.scrollable_content_region.height
        await pilot.press("pagedown")
        assert scroller.scroll_y == scroller.scrollable_content_region.height
        assert not app.animator.is_being_animated(scroller, "scroll_y")

        # Covered by the Apply question: the question animates as the app does.
        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert level(app) == before
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is review, "the review again")
        assert level(app) == "none"

        # Left for the previous step: the app's level is back.
        await pilot.press("ctrl+b")
        await until(pilot, lambda: not isinstance(app.screen, ReviewScreen), "the last step")
        assert level(app) == before
