"""Start-up cost of the non-interactive commands, and proof they never import Textual.

Prints, for each command, the median wall time over N runs and the ratio to a bare
``python -c "import boto3"``, and fails (exit 1) if a non-interactive command imported
textual. Run: ``.venv/bin/python bench/startup.py [runs]``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
EXAMPLE = str(ROOT / "examples" / "sse-kms-new-key.yaml")

PROBE = (
    "import sys, runpy; sys.argv = ['cloudtrail-wizard', *{args!r}];\n"
    "from screens.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "assert 'textual' not in sys.modules, 'textual was imported'\n"
)

CASES: dict[str, list[str]] = {
    "baseline: import boto3": [PY, "-c", "import boto3"],
    "cloudtrail-wizard --version": [PY, "-c", PROBE.format(args=["--version"])],
    "cloudtrail-wizard policies": [
        PY, "-c", PROBE.format(args=["policies", EXAMPLE, "--output", "json"])
    ],
}  # fmt: skip


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[-1][:60]!r} failed:\n{result.stderr}")
    return elapsed


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    medians: dict[str, float] = {}
    for name, command in CASES.items():
        timed(command)  # warm the file cache
        medians[name] = statistics.median(timed(command) for _ in range(runs))
    base = medians["baseline: import boto3"]
    print(f"{'command':40} {'median s':>9} {'x boto3':>8}")
    for name, value in medians.items():
        print(f"{name:40} {value:9.3f} {value / base:8.2f}")
    print("non-interactive commands imported textual: no")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
