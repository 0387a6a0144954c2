"""Next from one step to the next: what is left out of building the next screen stays right.

A new step screen is not restyled whole when it is first shown (its widgets were styled as
they were mounted): the styles it ends up with must be the ones a full restyle gives. The
collector is off while a step is built and makes one pass once it is shown: the screen
left is freed then, and the collector is on again, also when the app ends meanwhile. The
review keeps it off until its plan is drawn (or fails, or takes too long), and draws the
plan without restyling what holds it.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from textual.dom import DOMNode
from textual.pilot import Pilot
from textual.screen import Screen
from textual.validation import Function
from textual.widgets import Input, RadioButton, RadioSet
from textual.widgets._footer import FooterKey

from screens.tui import app as app_module
from screens.tui.app import WizardApp
from screens.tui.steps.review import PlanView, ReviewScreen
from screens.tui.widgets.heap import times_settled
from tests.screens.tui.test_review_apply import SIZE, answers, settle, until
from wizard.model.answers import Answers


@pytest.fixture(autouse=True)
def collector_on() -> Any:
    """Each test starts with the collector on and what earlier tests left walked (else the
    app sets nothing aside, see ``settle_heap``); it is on again after each."""
    gc.enable()
    gc.collect()
    yield
    assert gc.isenabled(), "the collector was left off"


def styles_of(screen: DOMNode) -> dict[str, dict[str, Any]]:
    """Every node's rules from the stylesheet, by its place in the screen."""
    return {
        f"{index} {node!r}": dict(node._css_styles.get_rules())
        for index, node in enumerate(screen.walk_children(with_self=True))
    }


def note_restyles(app: WizardApp, note: Callable[[DOMNode], Any] = lambda node: node) -> list[Any]:
    """From now on, what ``note`` says of each node Textual restyles (with everything in
    it), said as it is restyled; by default the node itself."""
    noted: list[Any] = []
    update_styles = app.update_styles

    def restyle(node: DOMNode, animate: bool = True) -> None:
        noted.append(note(node))
        update_styles(node, animate)

    app.update_styles = restyle  # type: ignore[method-assign]
    return noted


async def next_step(pilot: Pilot[Any], step: str) -> None:
    """Next from the step shown to ``step``; wait until it is drawn and the collector on."""
    app: WizardApp = pilot.app  # type: ignore[assignment]
    await pilot.press("ctrl+n")
    await until(pilot, lambda: app.current_step == step and gc.isenabled(), f"{step} shown")
    await settle(pilot)


async def test_a_new_step_is_styled_as_a_full_restyle_styles_it(app_factory: Any) -> None:
    """Storage (the largest step) shown by Next: not restyled whole, and every node has
    the rules a restyle of the whole screen gives it; so has a screen resumed later."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        await next_step(pilot, "trail")
        restyled = note_restyles(app)
        await next_step(pilot, "storage")
        screen = app.screen
        assert screen not in restyled  # the whole screen was not restyled on showing it
        shown = styles_of(screen)
        assert len(shown) > 80  # Storage, the largest step: else this proves little
        app.stylesheet.update(screen)  # what Textual's restyle of the screen gives
        assert styles_of(screen) == shown
        # The form still reacts: a choice shows its part, styled, and a field takes text.
        screen.query_one("#mode", RadioSet).focus()
        await pilot.press("down")  # the arrows choose: "an existing bucket"
        await until(pilot, lambda: screen.query_one("#existing").display, "the existing part")
        await settle(pilot)
        existing = styles_of(screen.query_one("#existing"))
        app.stylesheet.update(screen)
        assert styles_of(screen.query_one("#existing")) == existing
        screen.query_one("#other-bucket", Input).focus()
        await pilot.press("a", "b", "c")
        assert screen.query_one("#other-bucket", Input).value == "abc"


async def press_next_until(pilot: Pilot[Any], step: str) -> None:
    """Press Next as a terminal sends it and return as soon as ``step`` is the current one,
    while its screen is being built (no waiting for the app to be idle)."""
    app: WizardApp = pilot.app  # type: ignore[assignment]
    app.simulate_key("ctrl+n")
    for _ in range(10_000):
        if app.current_step == step:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"Next never reached {step}")


async def test_the_step_left_is_freed_once_the_next_is_shown(app_factory: Any) -> None:
    """No collection while the next step is built; once it is shown, one pass frees the
    screen left (nothing here collects, and no pause lets the app tidy)."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        await settle(pilot)
        await next_step(pilot, "trail")
        left = weakref.ref(app.screen)
        passes: list[str] = []

        def note_pass(phase: str, info: dict[str, int]) -> None:
            if phase == "start" and not gc.isenabled():  # (not the collector's own passes)
                passes.append("while built" if app._collector_paused else "once shown")

        gc.callbacks.append(note_pass)
        try:
            await press_next_until(pilot, "storage")
            assert not gc.isenabled()  # being built: the collector waits
            await until(pilot, gc.isenabled, "the collector on again")
        finally:
            gc.callbacks.remove(note_pass)
        assert passes == ["once shown"]  # none while Storage was built; one once shown
        assert left() is None, "the Trail step's screen outlived the pass"


async def test_the_collector_is_on_again_when_the_app_ends_during_a_build(
    app_factory: Any,
) -> None:
    """The app ends while a step is being built (its refreshes never come): the collector
    is not left off."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        app._collect_once_shown(Screen())  # a screen never shown: no refresh comes
        await pilot.pause()
        assert not gc.isenabled()
    assert gc.isenabled()


async def test_the_existing_bucket_part_is_composed_when_chosen(app_factory: Any) -> None:
    """Storage with a new bucket: the existing bucket's part (owner, picker, name) is not
    built; chosen with the arrows, it is, in the focus order where it shows, and a bucket
    typed there is the answer Next takes."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        await next_step(pilot, "trail")
        await next_step(pilot, "storage")
        screen = app.screen
        assert not screen.query_one("#existing").children  # not built for a new bucket
        assert not screen.query("#owner") and not screen.query("#buckets")
        screen.query_one("#mode", RadioSet).focus()
        await pilot.press("down")  # "an existing bucket"
        await until(pilot, lambda: bool(screen.query("#owner")), "the existing part")
        await settle(pilot)
        assert screen.query_one("#existing").display and not screen.query_one("#new").display
        # Tab goes from the choice into the part, then on to the fields below it.
        chain = [widget.id for widget in screen.focus_chain if widget.id]
        assert chain.index("mode") < chain.index("owner") < chain.index("other-bucket")
        assert chain.index("other-bucket") < chain.index("access-mode")
        await pilot.press("tab")
        assert screen.focused is screen.query_one("#owner")
        screen.query_one("#other-bucket", Input).focus()
        await pilot.press(*"central-logs-bucket")
        await next_step(pilot, "prefix")
        bucket = app.state.draft["bucket"]
        assert (bucket["create"], bucket["name"]) == (False, "central-logs-bucket")


async def test_widgets_are_styled_once_mounted_not_while_built(app_factory: Any) -> None:
    """A widget being built is not restyled as its classes change (a radio button chosen,
    a field given a valid value); mounted, it has its classes and the styles a restyle
    gives. The footer's keys are not restyled as a step is built either."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        await settle(pilot)
        restyled: list[DOMNode] = []
        update_nodes = app.stylesheet.update_nodes

        def noted(nodes: Any, animate: bool = False) -> None:
            nodes = list(nodes)
            restyled.extend(nodes)
            update_nodes(nodes, animate)

        app.stylesheet.update_nodes = noted  # type: ignore[method-assign]
        chosen = RadioButton("chosen", value=True)
        typed = Input("text", validators=[Function(bool)])
        assert chosen.has_class("-on") and typed.has_class("-valid")
        assert restyled == []  # built, not restyled
        await app.screen.query_one("#body").mount_all([chosen, typed])
        await settle(pilot)
        shown = styles_of(chosen) | styles_of(typed)
        app.stylesheet.update(app.screen)
        assert styles_of(chosen) | styles_of(typed) == shown
        restyled.clear()
        await next_step(pilot, "trail")
        keys = app.screen.query(FooterKey)
        assert len(keys) > 3
        assert not [node for node in restyled if isinstance(node, FooterKey)]
        # As Textual's footer leaves them: the palette's key compact, the others not.
        assert [key.has_class("-compact") for key in keys] == [
            key.has_class("-command-palette") for key in keys
        ]


async def test_a_step_is_laid_out_again_for_a_real_resize_only(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Resize a new step gets from its own first layout (its size unchanged) lays
    nothing out again; a terminal resized afterwards does, with the size classes."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        await settle(pilot)
        relaid: list[Any] = []
        screen_resized = Screen._screen_resized

        def noted(screen: Screen[Any], size: Any) -> None:
            relaid.append((type(screen).__name__, tuple(size)))
            screen_resized(screen, size)

        monkeypatch.setattr(Screen, "_screen_resized", noted)
        await next_step(pilot, "trail")
        assert relaid == []  # no second layout for the first Resize
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: app.screen.has_class("-narrow", "-short"), "narrow classes")
        assert ("TrailScreen", (80, 24)) in relaid
        assert not app.screen.has_class("-wide") and not app.screen.has_class("-tall")


def gated_plan(app: WizardApp, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make the review's plan wait (a slow account) until the returned event is set."""
    engine = app.backend.engine
    release = threading.Event()
    plan = engine.plan

    def slow_plan(answers: Answers, found: Any = None) -> Any:
        release.wait(timeout=60)
        return plan(answers, found)

    monkeypatch.setattr(engine, "plan", slow_plan)
    return release


async def drawn(screen: Screen[Any], times: int) -> None:
    """Wait until ``screen`` has been refreshed ``times`` times more (its first frames)."""
    done = asyncio.Event()

    def after(left: int) -> None:
        if left <= 1:
            done.set()
        else:
            screen.call_after_refresh(after, left - 1)

    screen.call_after_refresh(after, times)
    await asyncio.wait_for(done.wait(), 30)


async def polled(pilot: Pilot[Any], condition: Any, what: str) -> None:
    """Poll ``condition`` in turns of the event loop while a worker is held (``until``
    waits for the workers, which a held plan never lets finish)."""
    for _ in range(5_000):
        if condition():
            return
        await pilot.pause(0.001)
    raise AssertionError(f"timed out waiting for {what}")


async def test_the_review_keeps_the_collector_off_until_its_plan_is_drawn(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No collector pass while the plan is built, however many frames the review draws
    meanwhile (a full one walked the steps before it, 40-50 ms on the event loop); once the
    plan is drawn, its objects are set aside and the collector is on."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        await settle(pilot)
        release = gated_plan(app, monkeypatch)
        passes: list[int] = []

        def note_pass(phase: str, info: dict[str, int]) -> None:
            if phase == "start" and getattr(app.screen, "mode", None) == "loading":
                passes.append(info["generation"])

        gc.callbacks.append(note_pass)
        try:
            app.go_to("review", app.state)
            screen = app.screen
            assert isinstance(screen, ReviewScreen)
            await drawn(screen, 4)  # before, the collector was on again after two
            assert screen.mode == "loading"
            assert not gc.isenabled()
            settled = times_settled()
            release.set()
            await until(pilot, lambda: screen.mode == "ready" and gc.isenabled(), "the plan")
        finally:
            gc.callbacks.remove(note_pass)
        assert passes == []  # none while the plan was built (the planning thread's too)
        assert times_settled() > settled  # the plan's objects were set aside


@pytest.mark.parametrize("ends", ["Esc", "too long"])
async def test_a_plan_cancelled_or_slow_has_the_collector_on_again(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch, ends: str
) -> None:
    """The collector is not left off for a plan that will not be drawn (Esc) or is slow
    in coming (after HOLD_SECONDS, here shortened)."""
    if ends == "too long":
        monkeypatch.setattr(app_module, "HOLD_SECONDS", 0.05)
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        await settle(pilot)
        release = gated_plan(app, monkeypatch)
        app.go_to("review", app.state)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await drawn(screen, 2)
        if ends == "Esc":
            assert not gc.isenabled()
            await pilot.press("escape")
            assert screen.mode == "failed"
        await polled(pilot, gc.isenabled, "the collector on again")
        assert screen.mode == ("failed" if ends == "Esc" else "loading")
        release.set()
        await settle(pilot)


async def test_the_plan_is_drawn_without_restyling_what_holds_it(app_factory: Any) -> None:
    """The body, focused while the plan is built, gives up the focus before the plan is
    put in it: losing the focus restyles a widget and everything in it, and with the plan
    in it that was a hundred widgets on the event loop."""
    app: WizardApp = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.account is not None, "the connection")
        await settle(pilot)
        holding_the_plan = note_restyles(
            app,
            lambda node: any(isinstance(n, PlanView) for n in node.walk_children(with_self=True)),
        )
        app.go_to("review", app.state)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await until(pilot, lambda: screen.mode == "ready", "the plan")
        await settle(pilot)
        assert screen.query_one(PlanView).is_mounted
        assert not any(holding_the_plan)
        assert type(app.focused).__name__ == "ContentTabs"  # the tab bar, as before
