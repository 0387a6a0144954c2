"""Start-up cost of the commands and the full-screen wizard, and proof the commands never
import Textual.

Prints, for each case, the median wall time over N runs (each in a fresh interpreter) and
its ratio to a baseline:

* non-interactive commands against ``python -c "import boto3"``: ``--version``,
  ``policies`` (offline) and ``apply --dry-run`` against a local sandbox started by this
  script (what ``plan`` does, plus the dry-run walk). Each of them asserts, in the child,
  that ``textual`` was never imported, and the script fails (exit 1) if one did.
* the full-screen wizard against a minimal Textual app: the time from process start to the
  first frame of the welcome screen (headless, measured when the screen has mounted and the
  frame after it has been refreshed), with a Backend that never reaches AWS. Target: at
  most 1.5x the minimal app.

The children run with their byte-code cached (``PYTHONPYCACHEPREFIX``, filled by an untimed
warm-up run), as an installed copy has it: with ``PYTHONDONTWRITEBYTECODE`` set and an
editable install, the wizard's modules would be compiled on every start (about 10 ms).

Run: ``.venv/bin/python bench/startup.py [runs]`` (default 7).
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
EXAMPLE = str(ROOT / "examples" / "sse-kms-new-key.yaml")
TUI_TARGET = 1.5
"""The wizard's first frame may take at most this many times a minimal Textual app's."""

PROBE = (
    "import sys, runpy; sys.argv = ['cloudtrail-wizard', *{args!r}];\n"
    "from screens.cli import main\n"
    "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as exit:\n    code = exit.code or 0\n"
    "assert 'textual' not in sys.modules, 'textual was imported'\n"
    "sys.exit(code)\n"
)

# The first frame: print READY once the welcome screen has mounted and been painted, then
# stop. The parent measures from start to READY and then kills the child (a thread worker
# may still be waiting in the Backend that never connects).
TUI_PROBE = """
import sys, threading
from screens.app import WizardApp
from screens.backend import Backend
from screens.state import WizardState
from screens.welcome import WelcomeScreen

class NoAws(Backend):
    def connect(self):  # the welcome screen keeps showing "Connecting..."
        threading.Event().wait(60)
        raise RuntimeError("bench: never connects")

mounted = WelcomeScreen.on_mount

def on_mount(self):
    mounted(self)
    self.call_after_refresh(lambda: (print("READY", flush=True), self.app.exit()))

WelcomeScreen.on_mount = on_mount
WizardApp(NoAws(), WizardState(), show_help=True).run(headless=True, size=(100, 40))
"""

BARE_TUI_PROBE = """
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Label

class Welcome(Screen):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Welcome")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(lambda: (print("READY", flush=True), self.app.exit()))

class Bare(App):
    def on_mount(self) -> None:
        self.push_screen(Welcome())

Bare().run(headless=True, size=(100, 40))
"""


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


def timed_first_frame(command: list[str], env: dict[str, str]) -> float:
    """Seconds from start to the READY line; the child is stopped right after."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if line.strip() == "READY":
                return time.perf_counter() - start
    finally:
        process.kill()
        _out, err = process.communicate()
    raise SystemExit(f"no first frame:\n{err[-2000:]}")


def median_of(runs: int, measure: Callable[..., float], *args: Any) -> float:
    measure(*args)  # warm-up: byte-code cache, file cache
    return statistics.median(measure(*args) for _ in range(runs))


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    sys.path.insert(0, str(ROOT))
    from wizard.aws.sandbox import start_sandbox

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

        bare = median_of(runs, timed_first_frame, [PY, "-c", BARE_TUI_PROBE], env)
        ours = median_of(runs, timed_first_frame, [PY, "-c", TUI_PROBE], env)
        ratio = ours / bare
        print(f"\n{'first frame (headless)':40} {'median s':>9} {'x bare':>8}")
        print(f"{'baseline: minimal Textual app':40} {bare:9.3f} {1:8.2f}")
        print(f"{'cloudtrail-wizard welcome screen':40} {ours:9.3f} {ratio:8.2f}")
        verdict = "met" if ratio <= TUI_TARGET else "NOT met"
        print(f"TUI first frame / minimal app: {ratio:.2f} (target <= {TUI_TARGET}): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
