"""Start-up cost of the commands and the full-screen wizard, and proof the commands never
import Textual.

Prints, for each case, the median wall time over N runs (each in a fresh interpreter) and
its ratio to a baseline:

* non-interactive commands against ``python -c "import boto3"``: ``--version``,
  ``policies`` (offline), ``plan`` and ``apply --dry-run`` (``plan`` plus the dry-run
  walk) against a local sandbox started by this script. Each of them asserts, in the child,
  that ``textual`` was never imported, and the script fails (exit 1) if one did.
* the full-screen wizard against a minimal Textual app, both run as a person runs them: in
  a 120x40 pseudo-terminal, through the real entry point (``cloudtrail-wizard`` and
  ``cloudtrail-wizard --sandbox``). The first frame is the moment the app has handled
  Textual's Ready event (its message loop runs: it is interactive) *and* the whole first
  screen has been written to the terminal (title bar, connecting line, welcome help with
  the help panel's border on every line, footer; the minimal app's header, label and
  footer). Help is shown: every wizard run is a first run. The runs alternate between the
  three; medians are printed with the CPU time the process used by then (all threads;
  steadier than wall time on a busy machine). Target: at most 1.2x the minimal app.

The children run with their byte-code cached (``PYTHONPYCACHEPREFIX``, filled by an untimed
warm-up run), as an installed copy has it: with ``PYTHONDONTWRITEBYTECODE`` set and an
editable install, the wizard's modules would be compiled on every start (about 10 ms).

The load average is printed with each table (:mod:`machine`); ``--priority`` runs the bench
and its children ahead of other sessions' work (root).

Run: ``.venv/bin/python bench/startup.py [runs] [--priority]`` (default 7 runs).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
EXAMPLE = str(ROOT / "examples" / "sse-kms-new-key.yaml")
TUI_TARGET = 1.2
"""The wizard's first frame may take at most this many times a minimal Textual app's (issue
16; 1.5 before)."""

PROBE = (
    "import sys, runpy; sys.argv = ['cloudtrail-wizard', *{args!r}];\n"
    "from screens.cli.main import main\n"
    "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as exit:\n    code = exit.code or 0\n"
    "assert 'textual' not in sys.modules, 'textual was imported'\n"
    "sys.exit(code)\n"
)

TUI_SIZE = (120, 40)
"""Columns and lines of the pseudo-terminal every full-screen run draws in."""

READY_HOOK = """
import os
from textual.app import App

assert not hasattr(App, "_on_ready"), "Textual handles Ready itself now: update the bench hook"


def _on_ready(self):
    os.write(int(os.environ["BENCH_READY_FD"]), b"R")


App._on_ready = _on_ready
"""
"""Run first in every full-screen child: says on a pipe when the app handles Textual's Ready
event (sent once the DOM is ready and the first layout is done; the message loop then runs).
It touches neither the terminal nor what the app draws."""

BARE_TUI = (
    READY_HOOK
    + """
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Label


class Welcome(Screen):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Welcome")
        yield Footer()


class Bare(App):
    def on_mount(self) -> None:
        self.push_screen(Welcome())


Bare().run()
"""
)

WIZARD_TUI = (
    READY_HOOK
    + """
import sys

from screens.cli.main import main

sys.exit(main(sys.argv[1:]))
"""
)
"""The console script's own code path (``cloudtrail-wizard [args]``), after the hook."""


def child_env(tmp: Path, endpoint: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
        XDG_STATE_HOME=str(tmp / "state"),
        AWS_CONFIG_FILE=str(tmp / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[-1][:60]!r} failed:\n{result.stdout[-1000:]}\n{result.stderr}")
    return elapsed


def cpu_seconds(pid: int) -> float | None:
    """CPU time all threads of a running process have used so far (Linux), else None."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    nanoseconds = 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as stat:
                nanoseconds += int(stat.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that has just ended
    return nanoseconds / 1e9


def share_priority(pid: int) -> None:
    """Give child ``pid`` this bench's scheduling weight (``--priority``).

    A child in a session of its own (the full-screen runs: a terminal of their own) is in an
    autogroup of its own too, at the default weight: without this, ``--priority`` covered
    the bench but not the runs it times. Both sides of the comparison get it.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        nice = Path("/proc/self/autogroup").read_text(encoding="ascii").split()[-1]
        if int(nice) != 0:
            Path(f"/proc/{pid}/autogroup").write_text(nice, encoding="ascii")


def first_frame(
    command: list[str], env: dict[str, str], marks: dict[bytes, int], timeout: float = 60.0
) -> tuple[float, float | None]:
    """Run ``command`` in a pseudo-terminal until its first frame; then kill it.

    Args:
        command: The child.
        env: Its environment.
        marks: What the first screen shows, each with how many times at least.
        timeout: Seconds to wait.

    Returns:
        Seconds from start until the app has handled Ready and has written every mark to
        the terminal, and the CPU seconds the process had used by then.
    """
    columns, lines = TUI_SIZE
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    ready_read, ready_write = os.pipe()
    env = {
        **env,
        "BENCH_READY_FD": str(ready_write),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "COLUMNS": str(columns),
        "LINES": str(lines),
    }
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,  # Textual draws on stderr
        pass_fds=(ready_write,),
        start_new_session=True,
    )
    share_priority(process.pid)
    os.close(slave)
    os.close(ready_write)
    watched, output, ready, missing = [master, ready_read], b"", False, dict(marks)
    try:
        while watched and time.perf_counter() - start < timeout:
            readable, _, _ = select.select(watched, [], [], 0.5)
            if ready_read in readable:
                signal_byte = os.read(ready_read, 1)
                ready = ready or signal_byte == b"R"
                if not signal_byte:
                    watched.remove(ready_read)
            if master in readable:
                try:
                    output += os.read(master, 1 << 16)
                except OSError:  # the child has closed the terminal
                    watched.remove(master)
                missing = {mark: n for mark, n in missing.items() if output.count(mark) < n}
            if ready and not missing:
                return time.perf_counter() - start, cpu_seconds(process.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have exited on its own
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        os.close(master)
        os.close(ready_read)
    tail = output[-3000:].decode("utf-8", "replace")
    raise SystemExit(f"no first frame (ready: {ready}, not drawn: {list(missing)}):\n{tail}")


def print_tui_first_frames(runs: int, env: dict[str, str], tmp: Path) -> None:
    """The full-screen wizard's first frame against a minimal Textual app's."""
    from wizard.guide import step
    from wizard.sandbox.shared import stop_sandbox

    columns, lines = TUI_SIZE
    # Every part of each first screen. The wizard's: title bar, connecting line, the welcome
    # help and the help panel's border on each of its lines (a frame that repaints only
    # part of the screen does not count), the footer. Help is on: a first run shows it, and
    # so does --sandbox. The minimal app's: header (its title), label, footer.
    help_start = " ".join(step("welcome").help.split()[:4]).encode()
    wizard = {
        b"Step 1 of": 1,
        b"(Esc cancels)": 1,
        help_start: 1,
        "\N{BOX DRAWINGS LIGHT VERTICAL}".encode(): lines - 10,
        b"palette": 1,
    }
    bare = {b"Bare": 1, b"Welcome": 1, b"palette": 1}
    cases: dict[str, tuple[list[str], dict[bytes, int]]] = {
        "baseline: minimal Textual app": ([PY, "-c", BARE_TUI], bare),
        "cloudtrail-wizard (first run)": ([PY, "-c", WIZARD_TUI], wizard),
        "cloudtrail-wizard --sandbox": ([PY, "-c", WIZARD_TUI, "--sandbox"], wizard),
    }
    names = list(cases)
    results: dict[str, list[tuple[float, float | None]]] = {name: [] for name in names}
    for run in range(runs + 1):  # run 0 warms up (byte-code cache, file cache), untimed
        for name in names[run % len(names) :] + names[: run % len(names)]:
            command, marks = cases[name]
            # A fresh state directory: every run is a first run (help shown, as in --sandbox).
            state = tmp / f"tui-state-{run}-{names.index(name)}"
            frame = first_frame(command, {**env, "XDG_STATE_HOME": str(state)}, marks)
            # --sandbox starts the shared sandbox in the background: one per run, stopped here
            # (one still starting when the wizard was killed stops once tmp is deleted).
            stop_sandbox(state / "cloudtrail-wizard" / "sandbox")
            if run:
                results[name].append(frame)
    title = f"first frame, {columns}x{lines} terminal"
    print(f"\n{title:40} {'median s':>9} {'x bare':>8} {'cpu s':>7} {'x bare':>8}")
    walls = {name: statistics.median(w for w, _ in frames) for name, frames in results.items()}
    cpus: dict[str, float | None] = {}
    for name, frames in results.items():
        measured = [cpu for _, cpu in frames if cpu is not None]
        cpus[name] = statistics.median(measured) if len(measured) == len(frames) else None
    bare_wall, bare_cpu = walls[names[0]], cpus[names[0]]
    for name in names:
        line = f"{name:40} {walls[name]:9.3f} {walls[name] / bare_wall:8.2f}"
        cpu = cpus[name]
        if cpu is not None and bare_cpu:
            line += f" {cpu:7.3f} {cpu / bare_cpu:8.2f}"
        print(line)
    ratios = [walls[name] / bare_wall for name in names[1:]]
    verdict = "met" if max(ratios) <= TUI_TARGET else "NOT met"
    shown = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    print(f"TUI first frame / minimal app: {shown} (target <= {TUI_TARGET}): {verdict}")
    from machine import load

    print(load())


def median_of(runs: int, measure: Callable[..., float], *args: Any) -> float:
    measure(*args)  # warm-up: byte-code cache, file cache
    return statistics.median(measure(*args) for _ in range(runs))


def main() -> int:
    wanted = "--priority" in sys.argv[1:]
    numbers = [a for a in sys.argv[1:] if a != "--priority"]
    runs = int(numbers[0]) if numbers else 7
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from machine import priority

    with priority(wanted) as how:
        print(how, flush=True)
        return measure(runs)


def measure(runs: int) -> int:
    """Every start-up, timed, printed."""
    from machine import load

    from wizard.sandbox.server import start_sandbox

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # moto's unimplemented-op noise
    with tempfile.TemporaryDirectory() as tmp_name, start_sandbox(seed=True) as sandbox:
        tmp = Path(tmp_name)
        env = child_env(tmp, sandbox.endpoint_url)
        commands: dict[str, list[str]] = {
            "baseline: import boto3": [PY, "-c", "import boto3"],
            "cloudtrail-wizard --version": [PY, "-c", PROBE.format(args=["--version"])],
            "cloudtrail-wizard policies": [
                PY, "-c", PROBE.format(args=["policies", EXAMPLE, "--output", "json"])
            ],
            "cloudtrail-wizard plan": [
                PY, "-c", PROBE.format(args=["plan", EXAMPLE, "--output", "json"])
            ],
            "cloudtrail-wizard apply --dry-run": [
                PY, "-c", PROBE.format(args=["apply", EXAMPLE, "--dry-run", "--output", "json"])
            ],
        }  # fmt: skip
        medians = {name: median_of(runs, timed, cmd, env) for name, cmd in commands.items()}
        base = medians["baseline: import boto3"]
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {runs} runs")
        print(f"\n{'command':40} {'median s':>9} {'x boto3':>8}")
        for name, value in medians.items():
            print(f"{name:40} {value:9.3f} {value / base:8.2f}")
        print("non-interactive commands imported textual: no (asserted in each child)")
        print(load())

        print_tui_first_frames(runs, env, tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
