"""The pickers in a big account: 1,000 buckets in 4 regions, 300 keys in 3, 60 ms per request.

A sandbox behind a latency proxy runs in a child process (:mod:`stack`), seeded with the
buckets (a third of them with a policy that lets CloudTrail write, a third with another
policy, a third with none) and the keys (most with an alias; some disabled, some
asymmetric). Every request the wizard makes waits ``--latency-ms`` (default 60) in the proxy.

Timed, from the moment the picker is asked for:

* **TUI** (the real app, driven with Textual's Pilot at 120x40): the Storage step's bucket
  picker after a click on "An existing bucket", and the Encryption step's key picker after
  a click on "An existing key". Printed: the first rows in the table, every row in the
  table, the verdicts of the rows on screen, every verdict, and the event loop's longest
  stall meanwhile (a 10 ms timer's worst lateness: how long a key press could wait). A
  second run presses Esc once the first rows are there and times until the listing says it
  stopped.
* **plain mode**: the same listings printed by the plain-prompt wizard: the first line of
  the list, and the last.

Every run is checked: every seeded bucket and key is listed, the verdicts match the seeded
policies and keys (how many let CloudTrail write, how many keys can be used), or the script
stops with an error. Targets: first rows within 1 s, the full list within 3 s.

Not a test. Run: ``.venv/bin/python bench/pickers.py [--latency-ms 60] [--buckets 1000]
[--keys 300]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import load, priority  # noqa: E402
from stack import Stack, bench_bucket  # noqa: E402

FIRST_ROWS = 1.0
"""Target: seconds until the first rows are on screen."""
FULL_LIST = 3.0
"""Target: seconds until every row is on screen."""
DEMO_BUCKETS = 3
DEMO_KEYS = 5
"""The demo account's own buckets and keys, listed beside the seeded ones."""


class BenchError(RuntimeError):
    """A run did not do what it should have: its times do not count."""


@dataclass
class Timings:
    """When each thing happened, in seconds from the request."""

    first: float | None = None
    full: float | None = None
    viewed: float | None = None
    done: float | None = None
    stall: float = 0.0
    key: float = 0.0
    rows: int = 0
    keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class StallMeter:
    """The event loop's worst lateness: a 10 ms timer that notes how late each tick is."""

    def __init__(self, app: Any) -> None:
        self.worst = 0.0
        self._last = time.monotonic()
        self._timer = app.set_interval(0.01, self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        self.worst = max(self.worst, now - self._last - 0.01)
        self._last = now

    def reset(self) -> None:
        self.worst, self._last = 0.0, time.monotonic()

    def stop(self) -> None:
        self._timer.stop()


async def wait(pilot: Any, condition: Callable[[], bool], what: str, limit: float = 120) -> float:
    """Poll every 5 ms until ``condition()``; the moment it held (monotonic).

    A plain sleep, not Pilot's pause: that one waits for every widget to go idle and then
    forces a repaint, which would be the bench's own load on the screen being timed.
    """
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
    return time.monotonic()


def answers(kms: bool = False) -> Any:
    from wizard.model.answers import Answers

    data: dict[str, Any] = {
        "trail": {"name": "bench", "region": "us-east-1"},
        "bucket": {"name": "bench-new-logs-x1", "create": True},
    }
    if kms:
        data["encryption"] = {"type": "sse-kms"}
    return Answers.model_validate(data)


async def tui_picker(
    endpoint: str, *, step: str, kms: bool, button: str, table_id: str, expect: int, escape: bool
) -> Timings:
    """Open ``step``, press ``button``, and time the picker ``table_id`` filling up.

    The button is pressed and keys are sent as a terminal sends them (posted to the app),
    without Pilot's waits for the app to go idle: the clock runs from the press, and the
    bench keeps polling (every 5 ms) while the app works.
    """
    from textual.widgets import RadioButton

    from screens.common.backend import Backend
    from screens.tui.app import make_app
    from screens.tui.widgets.choice_table import ChoiceTable
    from screens.tui.widgets.fit_table import FitTable

    backend = Backend(sandbox=True, endpoint=endpoint)
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(backend, answers=answers(kms), answers_path=Path(tmp) / "a.yaml")
        async with app.run_test(size=(120, 40)) as pilot:
            await wait(pilot, lambda: app.state.account is not None, "the connection")
            app.go_to(step, app.state)
            await pilot.pause()
            await pilot.app.workers.wait_for_complete()
            verdict_column = 2

            def found() -> ChoiceTable | None:
                # Storage builds its existing-bucket part (the picker among it) when an
                # existing bucket is first chosen: that is part of what the press costs.
                tables = app.screen.query(table_id).results(ChoiceTable)
                table = next(iter(tables), None)
                return table if table is not None and table.query(FitTable) else None

            meter = StallMeter(app)
            result = Timings()
            meter.reset()
            start = time.monotonic()
            app.screen.query_one(button, RadioButton).value = True
            await wait(pilot, lambda: found() is not None, "the picker")
            table = found()
            assert table is not None

            def pending(keys: list[str]) -> bool:
                return any(str(table.table.get_row(k)[verdict_column]) == "…" for k in keys)

            first = await wait(pilot, lambda: bool(table.keys), "the first rows")
            result.first = first - start
            if escape:
                pressed = time.monotonic()
                app.simulate_key("escape")
                stopped = await wait(
                    pilot, lambda: "stopped" in str(table.query_one(".choice-note").render()), "Esc"
                )
                result.done = stopped - pressed
                result.rows = len(table.keys)
                result.stall = meter.worst
                meter.stop()
                return result
            # While rows stream in: how long a key press waits for its answer (the cursor
            # moving down a row in the table).
            table.table.focus()
            presses: list[float] = []

            async def press_down() -> None:
                row = table.table.cursor_row
                pressed = time.monotonic()
                app.simulate_key("down")
                moved = await wait(
                    pilot,
                    lambda: table.table.cursor_row != row or len(table.keys) <= row + 1,
                    "the cursor",
                )
                presses.append(moved - pressed)

            async def full() -> bool:
                if len(table.keys) < expect:
                    if len(presses) < 20:
                        await press_down()
                    return False
                return True

            while not await full():
                await asyncio.sleep(0.005)
            result.full = time.monotonic() - start
            viewed = await wait(
                pilot, lambda: not pending(table.viewed_keys()), "the verdicts on screen"
            )
            result.viewed = viewed - start
            while table.query_one(".choice-loading").display:
                if len(presses) < 40:
                    await press_down()
                await asyncio.sleep(0.005)
            # The listing is over; the rows off screen take their verdicts a chunk a frame.
            done = await wait(pilot, lambda: not pending(table.keys), "every verdict in the table")
            result.done = done - start
            result.stall = meter.worst
            result.key = max(presses) if presses else 0.0
            meter.stop()
            result.rows = len(table.keys)
            result.keys = list(table.keys)
            cells = [[str(c) for c in table.table.get_row(k)] for k in table.keys]
            result.notes = [row[verdict_column] for row in cells]
            if pending(table.keys):
                raise BenchError(f"{table_id}: the listing ended with rows still being read")
            await pilot.app.workers.wait_for_complete()
    backend.close()
    return result


class TimedOut(io.StringIO):
    """Plain mode's output, with the time each line was written."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        now = time.monotonic()
        for line in text.splitlines():
            self.lines.append((now, line))
        return super().write(text)


def plain_picker(endpoint: str, *, keys: bool) -> tuple[Timings, list[str]]:
    """Time plain mode's bucket (or key) list; returns the timings and the lines printed."""
    from screens.common.backend import Backend
    from screens.plain.wizard import PlainWizard

    backend = Backend(sandbox=True, endpoint=endpoint)
    backend.connect()
    out = TimedOut()
    draft: dict[str, Any] = {"trail": {"region": "us-east-1"}}
    draft["bucket"] = {"create": True, "name": "bench-new-logs-x1"} if keys else {"create": False}
    wizard = PlainWizard(backend, out=out, draft=draft, show_help=False)
    start = time.monotonic()
    wizard.list_keys() if keys else wizard.list_buckets()
    backend.close()
    rows = [(t, line) for t, line in out.lines if line.startswith("  ")]
    if not rows:
        raise BenchError("plain mode printed no rows")
    result = Timings(first=rows[0][0] - start, full=rows[-1][0] - start, rows=len(rows))
    return result, [line for _t, line in rows]


def check_buckets(seeded: dict[str, Any], names: list[str], notes: list[str] | None) -> None:
    expected = seeded["buckets"] + DEMO_BUCKETS
    if len(names) != expected:
        raise BenchError(f"{len(names)} buckets listed, {expected} expected")
    missing = {bench_bucket(i) for i in range(seeded["buckets"])} - set(names)
    if missing:
        raise BenchError(f"buckets missing from the list: {sorted(missing)[:3]}…")
    if notes is None:
        return  # plain mode lists a big account without verdicts
    allows = sum("allows CloudTrail" in n for n in notes)
    # The seeded third, and the demo account's central bucket.
    if allows != seeded["allow_cloudtrail"] + 1:
        raise BenchError(
            f"{allows} buckets allow CloudTrail, {seeded['allow_cloudtrail'] + 1} expected"
        )


def check_keys(seeded: dict[str, Any], rows: int, usable: int, *, regions: int = 3) -> None:
    """Every key of the regions listed, and the usable ones of the bucket's (us-east-1)."""
    # us-east-1 alone: every third seeded key, and the demo account's three there.
    expected = seeded["keys"] + DEMO_KEYS if regions == 3 else len(range(0, seeded["keys"], 3)) + 3
    if rows != expected:
        raise BenchError(f"{rows} keys listed, {expected} expected")
    # The usable kind in the bucket's region (us-east-1: every third seeded key), and the
    # demo account's cloudtrail-ready key.
    wanted = sum(1 for i in range(seeded["keys"]) if i % 3 == 0 and i % 25 != 7 and i % 20 != 3)
    if usable != wanted + 1:
        raise BenchError(f"{usable} keys usable, {wanted + 1} expected")


def show(label: str, t: Timings) -> None:
    def s(value: float | None) -> str:
        return f"{value:6.2f} s" if value is not None else "       -"

    print(
        f"  {label:<34} first rows {s(t.first)}  all rows {s(t.full)}  "
        f"verdicts on screen {s(t.viewed)}  every verdict {s(t.done)}  "
        f"longest stall {t.stall * 1000:5.0f} ms  slowest key {t.key * 1000:4.0f} ms  "
        f"({t.rows} rows); {load()}",
        flush=True,
    )


def verdict(t: Timings) -> str:
    ok_first = t.first is not None and t.first <= FIRST_ROWS
    ok_full = t.full is not None and t.full <= FULL_LIST
    return (
        f"first rows <= {FIRST_ROWS:g} s: {'met' if ok_first else 'NOT met'}; "
        f"full list <= {FULL_LIST:g} s: {'met' if ok_full else 'NOT met'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=60)
    parser.add_argument("--buckets", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--priority", action="store_true", help="run ahead of other sessions")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with priority(args.priority) as how:
        print(how, flush=True)
        return measure(args)


def measure(args: argparse.Namespace) -> int:
    """Every picker, timed and checked, printed."""
    print(
        f"{args.buckets} buckets in 4 regions, {args.keys} keys in 3 regions; "
        f"{args.latency_ms:g} ms added to every request by a proxy. Seeding…",
        flush=True,
    )
    with Stack(latency_ms=args.latency_ms, buckets=args.buckets, keys=args.keys) as stack:
        seeded = stack.seeded
        print("TUI (Pilot, 120x40):")
        buckets = asyncio.run(
            tui_picker(
                stack.endpoint,
                step="storage",
                kms=False,
                button="#mode-existing",
                table_id="#buckets",
                expect=seeded["buckets"] + DEMO_BUCKETS,
                escape=False,
            )
        )
        check_buckets(seeded, buckets.keys, buckets.notes)
        show("buckets", buckets)
        keys = asyncio.run(
            tui_picker(
                stack.endpoint,
                step="encryption",
                kms=True,
                button="#key-mode-existing",
                table_id="#keys",
                expect=seeded["keys"] + DEMO_KEYS,
                escape=False,
            )
        )
        check_keys(seeded, keys.rows, sum(n == "✓ yes" for n in keys.notes))
        show("keys", keys)
        stopped = asyncio.run(
            tui_picker(
                stack.endpoint,
                step="storage",
                kms=False,
                button="#mode-existing",
                table_id="#buckets",
                expect=0,
                escape=True,
            )
        )
        assert stopped.done is not None, "Esc was never answered"
        print(
            f"  {'buckets, Esc at the first rows':<34} first rows {stopped.first:6.2f} s  "
            f"Esc answered in {stopped.done * 1000:4.0f} ms  ({stopped.rows} rows kept)"
        )
        print("plain mode:")
        plain_buckets, lines = plain_picker(stack.endpoint, keys=False)
        listed = [line.split()[0] for line in lines]
        check_buckets(seeded, listed, None)
        show("buckets", plain_buckets)
        plain_keys, key_lines = plain_picker(stack.endpoint, keys=True)
        usable = sum(line.endswith(": usable") for line in key_lines)
        rows = sum(1 for line in key_lines if not line.startswith("    "))
        # A new bucket in us-east-1, the trail's home: plain mode lists that region's keys.
        check_keys(seeded, rows, usable, regions=1)
        show("keys", plain_keys)
    print("Targets (every row above was checked):")
    for label, t in (
        ("TUI buckets", buckets),
        ("TUI keys", keys),
        ("plain buckets", plain_buckets),
        ("plain keys", plain_keys),
    ):
        print(f"  {label:<14} {verdict(t)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
