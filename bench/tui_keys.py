"""Key presses in the full-screen wizard: how long each waits for its answer, and whether
each step's own work keeps the event loop free.

A sandbox behind a latency proxy runs in a child process (:mod:`stack`; every request waits
``--latency-ms``, default 60). The real app is driven with Textual's Pilot at 120x40, with
the answers of the largest example (the one whose plan has the most steps; ``--example``
picks another). Keys are posted as a terminal sends them (no Pilot waits for idle: the
clock runs from the press), and the bench polls every 2 ms.

Measured, while a 5 ms timer notes how late each of its ticks is (the event loop's worst
lateness is how long any key press could have waited):

* **each step's Next**: from the key press to the next step's screen drawn (its first
  refresh done), and the loop's worst lateness meanwhile (validation runs then);
* **the review's plan**: from the review's screen to the plan shown, and the worst lateness
  while it was built (discovery and planning, in a thread) and while it was drawn;
* **a plan rebuilt**: Back to the last step and Next again, as after a change: the same;
* **key presses on the review**: next tab, previous tab, page down and page up over every
  tab, each from the press to its effect drawn (the tab shown, or the scroll moved, and the
  refresh after it done): median and worst.

Every run is checked: each Next reaches the step after it, the plan is ready and not
blocked, each key did what it should (or the script stops with an error; its times do not
count). Targets (issue 16): a key press on the review answered within **50 ms**; each
step's own work off the event loop (judged here by the loop's worst lateness while it runs,
against the same 50 ms).

Each step is shown without its help panel, as for a returning user against AWS;
``--help-panel`` shows it beside the form, as the wizard does on a first run and in the
sandbox.

Not a test. Run: ``.venv/bin/python bench/tui_keys.py [--example NAME] [-n 3]
[--latency-ms 60] [--priority] [--help-panel]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import load, priority  # noqa: E402
from stack import Stack  # noqa: E402

TARGET = 0.050
"""Seconds a key press may wait for its answer; also the worst lateness allowed while a
step's own work runs."""
SIZE = (120, 40)
NEXT = "ctrl+n"
BACK = "ctrl+b"


class BenchError(RuntimeError):
    """A run did not do what it should have: its times do not count."""


class StallMeter:
    """The event loop's worst lateness: a 5 ms timer that notes how late each tick is."""

    def __init__(self, app: Any) -> None:
        self.worst = 0.0
        self._last = time.monotonic()
        self._timer = app.set_interval(0.005, self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        self.worst = max(self.worst, now - self._last - 0.005)
        self._last = now

    def reset(self) -> None:
        self.worst, self._last = 0.0, time.monotonic()

    def stop(self) -> None:
        self._timer.stop()


@dataclass
class Figures:
    """One run's measurements, in seconds."""

    steps: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per step left with Next: (until the next screen is drawn, worst lateness)."""
    plan: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The first plan: (until shown, worst lateness while built, while drawn)."""
    rebuild: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The plan rebuilt after Back and Next: the same."""
    keys: dict[str, list[float]] = field(default_factory=dict)
    """Per key on the review: each press until its effect was drawn."""


async def until(condition: Callable[[], bool], what: str, limit: float = 60) -> float:
    """Poll every 2 ms until ``condition()``; the moment it held (monotonic)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)
    return time.monotonic()


def at_step(app: Any, step: str) -> bool:
    """Whether the app shows ``step``."""
    return bool(app.current_step == step)


async def drawn(app: Any) -> float:
    """The moment the app's next refresh after now is done."""
    done = asyncio.Event()
    app.call_after_refresh(done.set)
    await asyncio.wait_for(done.wait(), 30)
    return time.monotonic()


def largest_example(endpoint: str) -> str:
    """The example whose plan (on the seeded sandbox) has the most steps, unblocked."""
    from screens.common.backend import Backend
    from wizard.model.answers_file import load_answers

    backend = Backend(sandbox=True, endpoint=endpoint)
    backend.connect()
    sizes = {}
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        plan, _found = backend.engine.plan(load_answers(path))
        if not plan.blocked:
            sizes[path.stem] = len(plan.steps)
    backend.close()
    return max(sizes, key=lambda name: (sizes[name], name))


async def one_run(endpoint: str, example: str, *, help_panel: bool = False) -> Figures:
    """Walk the wizard from Welcome to Review with ``example``'s answers, and press keys."""
    from textual.widgets import TabbedContent

    from screens.common.backend import Backend
    from screens.tui.app import STEP_ORDER, make_app
    from screens.tui.steps.review import ReviewScreen
    from wizard.model.answers_file import load_answers

    figures = Figures()
    backend = Backend(sandbox=True, endpoint=endpoint)
    answers = load_answers(ROOT / "examples" / f"{example}.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(
            backend, answers=answers, answers_path=Path(tmp) / "a.yaml", show_help=help_panel
        )
        async with app.run_test(size=SIZE):
            await until(lambda: app.state.account is not None, "the connection")
            await app.workers.wait_for_complete()
            meter = StallMeter(app)
            order = list(STEP_ORDER)
            while app.current_step != "review":
                step = app.current_step
                after = order[order.index(step) + 1]
                await drawn(app)
                meter.reset()
                pressed = time.monotonic()
                app.simulate_key(NEXT)
                await until(partial(at_step, app, after), f"Next from {step} to {after}")
                shown = await drawn(app)
                figures.steps[step] = (shown - pressed, meter.worst)
            figures.plan = await plan_shown(app, meter, ReviewScreen, pressed)
            # A change and back to the review: the plan is built again.
            last = order[order.index("review") - 1]
            app.simulate_key(BACK)
            await until(lambda: app.current_step == last, "Back from the review")
            await drawn(app)
            await app.workers.wait_for_complete()
            meter.reset()
            pressed = time.monotonic()
            app.simulate_key(NEXT)
            figures.rebuild = await plan_shown(app, meter, ReviewScreen, pressed)
            tabs = app.screen.query_one("#tabs", TabbedContent)
            count = len(tabs.query("TabPane"))
            for label in ("next tab", "page down", "page up", "previous tab"):
                figures.keys[label] = []
            for _ in range(count - 1):
                await press_tab(app, tabs, "right_square_bracket", 1, figures.keys["next tab"])
                await press_scroll(app, tabs, "pagedown", figures.keys["page down"])
                await press_scroll(app, tabs, "pageup", figures.keys["page up"])
            for _ in range(count - 1):
                await press_tab(app, tabs, "left_square_bracket", -1, figures.keys["previous tab"])
            meter.stop()
    backend.close()
    return figures


async def plan_shown(
    app: Any, meter: StallMeter, review: type, pressed: float
) -> tuple[float, float, float]:
    """From Next on the last step to the plan drawn: (seconds, worst lateness while it was
    built, worst while it was drawn)."""
    await until(lambda: isinstance(app.screen, review), "the review screen")
    await until(lambda: app.screen.mode != "loading", "the plan", limit=120)
    built = meter.worst
    meter.reset()
    if app.screen.mode != "ready" or app.screen.plan is None or app.screen.plan.blocked:
        raise BenchError(f"the review is {app.screen.mode}, not ready with an applicable plan")
    shown = await drawn(app)
    return shown - pressed, built, meter.worst


async def press_tab(app: Any, tabs: Any, key: str, step: int, into: list[float]) -> None:
    """Press a tab key; time until the tab after (or before) is shown and drawn."""
    ids = [pane.id for pane in tabs.query("TabPane")]
    before = tabs.active
    wanted = ids[(ids.index(before) + step) % len(ids)]
    await drawn(app)
    pressed = time.monotonic()
    app.simulate_key(key)
    await until(lambda: tabs.active == wanted, f"{key}: tab {wanted}")
    into.append(await drawn(app) - pressed)


async def press_scroll(app: Any, tabs: Any, key: str, into: list[float]) -> None:
    """Press a paging key on a tab that can scroll; time until it scrolled and was drawn."""
    from textual.containers import VerticalScroll

    scroller = tabs.get_pane(tabs.active).query_one(VerticalScroll)
    if scroller.max_scroll_y == 0:
        return  # nothing to page on this tab
    if key == "pageup" and scroller.scroll_y == 0:
        return
    await drawn(app)
    before = scroller.scroll_y
    pressed = time.monotonic()
    app.simulate_key(key)
    await until(lambda: scroller.scroll_y != before, f"{key} on {tabs.active}")
    into.append(await drawn(app) - pressed)


def ms(value: float) -> str:
    return f"{value * 1000:5.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", help="an examples/ name (default: the largest plan)")
    parser.add_argument("-n", "--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=60)
    parser.add_argument("--priority", action="store_true", help="run ahead of other sessions")
    parser.add_argument(
        "--help-panel",
        action="store_true",
        help="each step with its help beside the form, as on a first run and in the sandbox "
        "(default: without, as for a returning user against AWS)",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with priority(args.priority) as how, Stack(latency_ms=args.latency_ms) as stack:
        example = args.example or largest_example(stack.endpoint)
        print(
            f"examples/{example}.yaml, {SIZE[0]}x{SIZE[1]}, {args.latency_ms:g} ms added to every "
            f"request; help panel {'shown' if args.help_panel else 'hidden'}; {how}"
        )
        run = partial(one_run, stack.endpoint, example, help_panel=args.help_panel)
        asyncio.run(run())  # warm-up: imports, caches
        runs = []
        for _ in range(args.runs):
            # Each run's heap as in a process that starts the wizard: what the runs before
            # left is collected first (the app sets nothing aside until a full pass has
            # walked what an app before it handed back; see screens.tui.widgets.heap).
            gc.collect()
            runs.append(asyncio.run(run()))
        loaded = load()
    worst_key = 0.0
    worst_stall = 0.0
    print(f"median of {args.runs} runs (worst run in brackets); {loaded} at the end")
    for step in runs[0].steps:
        took = [r.steps[step][0] for r in runs]
        stall = [r.steps[step][1] for r in runs]
        worst_stall = max(worst_stall, *stall)
        print(
            f"  Next on {step:<12} next screen drawn {ms(statistics.median(took))} "
            f"({ms(max(took))})   loop's worst lateness {ms(statistics.median(stall))} "
            f"({ms(max(stall))})"
        )
    for label, plans in (
        ("plan", [r.plan for r in runs]),
        ("plan rebuilt", [r.rebuild for r in runs]),
    ):
        shown = [p[0] for p in plans]
        built = [p[1] for p in plans]
        drawn_ = [p[2] for p in plans]
        worst_stall = max(worst_stall, *built)
        print(
            f"  review {label:<13} shown after {ms(statistics.median(shown))} "
            f"({ms(max(shown))})   worst lateness while built {ms(statistics.median(built))} "
            f"({ms(max(built))}), while drawn {ms(statistics.median(drawn_))} ({ms(max(drawn_))})"
        )
    for label in runs[0].keys:
        every = [t for r in runs for t in r.keys[label]]
        if not every:
            continue
        worst_key = max(worst_key, max(every))
        print(
            f"  review key: {label:<13} answered in median {ms(statistics.median(every))}, "
            f"worst {ms(max(every))} ({len(every)} presses)"
        )
    print(
        f"Targets: a key press on the review answered within {TARGET * 1000:.0f} ms: "
        f"{'met' if worst_key <= TARGET else 'NOT met'} (worst {ms(worst_key)}); each step's "
        f"own work off the event loop (worst lateness <= {TARGET * 1000:.0f} ms while it "
        f"runs): {'met' if worst_stall <= TARGET else 'NOT met'} (worst {ms(worst_stall)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
