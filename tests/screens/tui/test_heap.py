"""The heap over a session: nothing of a step left outlives it, the objects set aside while
the review is shown are freed once a person pauses, and going back and forth between a
step and the review many times without a pause keeps the heap bounded.

Liveness is read through weak references: a screen still alive is one the collector could
not free (held from somewhere), or one it has not been given yet (set aside, see
:mod:`screens.tui.widgets.heap`).
"""

from __future__ import annotations

import gc
import time
import weakref
from functools import partial
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from screens.tui.app import WizardApp
from screens.tui.steps.review import ReviewScreen
from screens.tui.widgets import heap
from screens.tui.widgets.footer import StepFooter
from tests.screens.tui.test_review_apply import (
    SIZE,
    answers,
    open_review,
    open_review_after_navigation,
    settle,
    until,
)


@pytest.fixture(autouse=True)
def fresh_heap() -> None:
    """The heap as the command line starts the wizard with: what earlier tests' apps left
    has been walked by a full pass (else nothing is set aside, see ``settle_heap``)."""
    gc.collect()


async def wait_until_tidied(pilot: Pilot[Any], limit: float = 30) -> None:
    """Let time pass (no key pressed) until the app has tidied the heap."""
    deadline = time.monotonic() + limit
    while heap.tidy_due():
        assert time.monotonic() < deadline, "the app never tidied the heap"
        await pilot.pause(0.02)


def left(app: WizardApp, step: str) -> bool:
    """Whether the app shows another step than ``step``."""
    return bool(app.current_step != step)


async def back_and_next(pilot: Pilot[Any]) -> ReviewScreen:
    """From the review, Back to the last step and Next to a new review, its plan shown."""
    app: WizardApp = pilot.app  # type: ignore[assignment]
    await pilot.press("ctrl+b")
    await until(pilot, lambda: app.current_step == "events", "Back from the review")
    await settle(pilot)
    await pilot.press("ctrl+n")
    await until(pilot, lambda: app.current_step == "review", "Next to the review")
    return await open_review_after_navigation(pilot)


async def test_a_step_left_leaves_nothing_of_it_alive(app_factory: Any) -> None:
    """Walked with Next to the review, no earlier step's screen or footer is still held.

    The Storage step's screen was, by the thread that had run its last lookup (Textual notes
    a thread worker in its thread's context, which outlives the job), and every step's
    footer was, by the app's list of ``app_focus`` watchers.
    """
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        screens: list[weakref.ref[Screen[Any]]] = []
        footers: list[weakref.ref[StepFooter]] = []
        while app.current_step != "review":
            step = app.current_step
            screens.append(weakref.ref(app.screen))
            footers.append(weakref.ref(app.screen.query_one(StepFooter)))
            await pilot.press("ctrl+n")
            await until(pilot, partial(left, app, step), f"Next from {step}")
        await open_review_after_navigation(pilot)
        await settle(pilot)
        assert len(screens) == 7  # welcome to events: else this test proves little
        heap.tidy_heap()  # a full pass: what nothing holds is freed, set aside or not
        assert [type(ref()).__name__ for ref in screens if ref() is not None] == []
        assert sum(ref() is not None for ref in footers) == 0


async def test_the_review_left_is_freed_once_the_person_pauses(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's widgets, set aside while it was shown, are freed by the app on its own
    once no key has come for a while: nothing here collects them."""
    # Long enough for the screen that went to be taken apart, as a second is in use.
    monkeypatch.setattr(heap, "IDLE_SECONDS", 0.3)
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        await settle(pilot)
        await wait_until_tidied(pilot)  # what the earlier steps left
        # Set aside (in no generation the collector walks): else this proves nothing.
        assert all(obj is not review for obj in gc.get_objects())
        gone = weakref.ref(review)
        del review
        await pilot.press("ctrl+b")
        await until(pilot, lambda: app.current_step == "events", "Back from the review")
        await wait_until_tidied(pilot)
        assert gone() is None


async def test_a_key_or_a_running_worker_puts_the_tidy_off(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No full pass while a person types or waits for work: the tidy waits for both."""
    monkeypatch.setattr(heap, "IDLE_SECONDS", 600)
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot)
        await settle(pilot)
        await pilot.press("ctrl+b")
        await until(pilot, lambda: app.current_step == "events", "Back from the review")
        await settle(pilot)
        assert heap.tidy_due()
        assert time.monotonic() - app._last_input < 600  # the key just pressed counts
        app._last_input -= 601  # as if that key came long ago
        app.run_worker(pilot.pause(0.5), group="test-work")  # but work is under way
        app._tidy_if_idle()
        assert heap.tidy_due()
        await settle(pilot)
        app._last_busy -= 601  # that work ended long ago too
        app._tidy_if_idle()
        assert not heap.tidy_due()


async def test_round_trips_without_a_pause_keep_the_heap_bounded(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Back and Next between the last step and the review, never pausing: the reviews left
    are freed every few round trips, not kept set aside for good."""
    monkeypatch.setattr(heap, "IDLE_SECONDS", 3600)  # a person who never pauses
    monkeypatch.setattr(heap, "MAX_RELEASES", 3)
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        reviews = [weakref.ref(await open_review(pilot))]
        alive: list[int] = []
        for _ in range(7):
            reviews.append(weakref.ref(await back_and_next(pilot)))
            alive.append(sum(ref() is not None for ref in reviews))
        # Without a tidy, every review left stays (set aside, never walked): 8 by the end.
        assert max(alive) <= heap.MAX_RELEASES + 1, alive
        assert alive[-1] < len(reviews)


async def test_the_footers_hear_when_the_app_gets_the_focus_back(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The footer rebuilds its keys when the app is focused again (Textual says nothing of
    bindings then), told by the app rather than by watching it."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        footer = app.screen.query_one(StepFooter)
        heard: list[Screen[Any]] = []
        monkeypatch.setattr(footer, "bindings_changed", heard.append)
        app.app_focus = False
        await pilot.pause()
        assert heard == []
        app.app_focus = True
        # In the footer's own turn (as its own watcher ran), not in the middle of the event
        # that gave the app the focus back.
        await until(pilot, lambda: heard == [app.screen], "the footer told")
