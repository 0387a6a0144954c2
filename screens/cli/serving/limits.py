"""How many wizard sessions ``serve`` runs at once, and where visitors' saves go.

At most ``--max-sessions`` wizard processes run at once (a default sized for the machine,
:func:`sessions_for`); a visitor beyond that gets a page saying so, and no process. What a
visitor saves goes to their browser as a download, or under ``--save-dir``, never into the
server's working directory (:mod:`screens.tui.saves`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

# How many wizard sessions a machine can hold. Measured with `serve` on a 2-core, 24 GiB
# machine: a --sandbox session (the wizard plus its emulator) holds about 160 MB resident at
# the welcome screen, 205 MB at the review and 212 MB once applied; one without --sandbox
# about 60 MB at the welcome screen. Starting one costs about 1.7 s of CPU, an idle one
# about 1% of a core. Memory is the hard limit (the out-of-memory killer ends processes at
# random); CPU only makes every session slow, so it bounds the count too: a class that
# opens the page at once should see every wizard within about 20 seconds.
SESSION_MEMORY = 256 * 1024 * 1024
"""Memory set aside per session: the measured 212 MB of a sandbox session, with headroom."""
SESSIONS_PER_CPU = 10
"""Sessions per CPU core: ten starting at once keep a core busy for about 17 s."""
FEWEST_SESSIONS = 2
MOST_SESSIONS = 64
"""Bounds of the default (a trainer who wants more or fewer says so with --max-sessions)."""
RETRY_AFTER_SECONDS = 30
"""What the session-limit page suggests to a browser (``Retry-After``)."""


def default_max_sessions() -> int:
    """The default of ``--max-sessions`` for this machine, now: see :func:`sessions_for`."""
    return sessions_for(available_memory(), cpu_count())


def sessions_for(memory: int | None, cpus: int) -> int:
    """How many sessions a machine with ``memory`` bytes free and ``cpus`` cores can hold.

    :data:`SESSIONS_PER_CPU` per core, and no more than :data:`SESSION_MEMORY` each fits in
    half the memory (unknown memory: the CPU count decides), kept between
    :data:`FEWEST_SESSIONS` and :data:`MOST_SESSIONS`.
    """
    by_cpu = max(1, cpus) * SESSIONS_PER_CPU
    # Half: the other half stays for the system, the server and whatever else the machine
    # runs (the trainer's browser, a projector's slides).
    by_memory = by_cpu if memory is None else memory // 2 // SESSION_MEMORY
    return max(FEWEST_SESSIONS, min(MOST_SESSIONS, by_cpu, by_memory))


def available_memory() -> int | None:
    """Bytes of memory this process could still use: the system's ``MemAvailable``, or less
    under a cgroup (v2) memory limit, as in a container. None when neither can be read."""
    found: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text(encoding="ascii"))
            found.append(max(0, int(limit) - used))
    return min(found) if found else None


def cpu_count() -> int:
    """The CPU cores this process may run on (its affinity, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def sessions(count: int) -> str:
    """``1 wizard session``, ``3 wizard sessions``."""
    return f"{count} wizard session{'' if count == 1 else 's'}"


def limit_message(running: int, limit: int) -> str:
    """What a visitor beyond the limit is told (plain text)."""
    return (
        f"The session limit of this wizard server is reached: {running} of {sessions(limit)} "
        "running. Try again later (reload the page), or ask the trainer."
    )


def limit_page(running: int, limit: int) -> str:
    """The page a visitor beyond the limit gets instead of a wizard (HTML)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloudtrail-wizard: session limit reached</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto;
padding: 0 1em; line-height: 1.5; }}</style>
</head>
<body>
<h1>The session limit is reached</h1>
<p>This wizard server runs at most {sessions(limit)} at once, and {running}
{"is" if running == 1 else "are"} running now, so no wizard was started for you.</p>
<p>Try again later (reload this page in a minute), or ask the trainer: they can end unused
sessions, or start the server with a higher <code>--max-sessions</code>.</p>
</body>
</html>
"""


class Limits:
    """What ``serve`` allows its visitors: how many sessions, where their saves go."""

    def __init__(self, *, max_sessions: int, chosen: bool, save_dir: Path | None) -> None:
        """The limits of one server run (see the attributes)."""
        self.max_sessions = max_sessions
        """Most wizard processes at once."""
        self.chosen = chosen
        """True when --max-sessions gave the number, False when it is the machine's default."""
        self.save_dir = save_dir
        """--save-dir (absolute), or None: saves are downloads."""

    def describe(self) -> list[str]:
        """The start-up lines that say so."""
        how = "--max-sessions" if self.chosen else "sized for this machine; --max-sessions"
        lines = [
            f"At most {sessions(self.max_sessions)} at once ({how}); one more visitor "
            "is asked to try again later."
        ]
        if self.save_dir is None:
            lines.append("Visitors' saves are downloads in their browsers; none are kept here.")
        else:
            lines.append(f"Visitors' saves are kept in {self.save_dir}/session-<n>-<id>/.")
        return lines

    def session_dir(self, number: int) -> Path | None:
        """Where session ``number`` saves (made at its first save), or None (downloads).

        A name of its own, never guessed beforehand: visitors never save over each other,
        nor over what an earlier run of the server kept.
        """
        if self.save_dir is None:
            return None
        return self.save_dir / f"session-{number}-{secrets.token_hex(4)}"
