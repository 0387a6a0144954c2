"""What the machine was doing while a bench ran, and a way to run ahead of everything else.

Every figure is printed with the load average beside it: on a shared 2-core machine the
same run takes twice as long at a load of 8 as at a load of 1, and a figure without its load
cannot be compared with another.

``--priority`` (each bench's flag) raises this process's *autogroup* above the others for
the run. Linux schedules by session first (``/proc/sys/kernel/sched_autogroup_enabled``):
``nice -n -15`` only reorders a session's own processes, so against other sessions' work it
changes nothing; ``/proc/self/autogroup`` sets the session's weight. Needs root; the
session's previous weight is put back when the bench ends. It covers the bench, its
children and the sandbox it starts (one session), so both sides of a comparison get it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

AUTOGROUP = Path("/proc/self/autogroup")


def load() -> str:
    """The 1-minute load average and the number of cores, e.g. ``load 3.2 on 2 cores``."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def _autogroup_nice() -> int | None:
    try:
        # "/autogroup-1003 nice 0"
        return int(AUTOGROUP.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def priority(wanted: bool, nice: int = -15) -> Iterator[str]:
    """Run ahead of other sessions while inside (when ``wanted`` and allowed).

    Yields:
        What was done, to print with the figures.
    """
    before = _autogroup_nice()
    if not wanted:
        yield "normal priority"
        return
    if before is None:
        yield "normal priority (no autogroup scheduling here)"
        return
    try:
        AUTOGROUP.write_text(str(nice))
    except OSError as exc:
        yield f"normal priority (could not raise it: {exc.strerror})"
        return
    try:
        yield f"session priority {nice} (autogroup)"
    finally:
        with contextlib.suppress(OSError):
            AUTOGROUP.write_text(str(before))
