"""Trail health of an account with 20 trails, and a review with a key in another region, at
60 ms per request.

A sandbox behind a latency proxy runs in a child process (:mod:`stack`), seeded with 20
logging trails over five regions (each with its bucket; every fourth with a KMS key, every
third validating its log files) beside the demo account's legacy trail, and delivered once.
Every request waits ``--latency-ms`` (default 60) in the proxy.

Timed:

* ``cloudtrail-wizard status --output json`` as a person runs it (the installed command, in
  a child process, dummy credentials, ``AWS_ENDPOINT_URL`` on the proxy): median wall time
  of N runs and the CPU the child used, and the requests it made. Checked each run: the exit
  code is the one the verdicts call for, every trail is there (21), every trail is logging,
  and nothing was left unchecked.
* the Trail health screen of the full-screen wizard (Pilot, 120x40), from the key press to
  the report on screen; checked: every trail listed.
* a plan rebuilt on the review with an existing key in another region than the bucket
  (``alias/app-data-eu``, eu-west-1, for a bucket in us-east-1), as the review does after
  each change: median of N; checked: the plan is blocked by ``kms-region-mismatch`` and says
  where the key is.

Target: ``status`` and the Trail health screen within 2 s; the review rebuild well under
a second.

Each figure is printed with the load average at its end (:mod:`machine`); ``--priority``
runs the bench and its sandbox ahead of other sessions' work (root).

Not a test. Run: ``.venv/bin/python bench/status.py [--latency-ms 60] [--trails 20] [-n 5]
[--priority]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import load, priority  # noqa: E402
from stack import Stack  # noqa: E402

TARGET = 2.0
"""Seconds ``status`` (and the Trail health screen) may take for 20 trails."""


class BenchError(RuntimeError):
    """A run did not do what it should have: its time does not count."""


def wizard_command() -> list[str]:
    """The installed console script, as a person runs it."""
    script = Path(sys.executable).parent / "cloudtrail-wizard"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "screens.cli"]


def environment(endpoint: str, tmp: Path) -> dict[str, str]:
    """Dummy credentials, every endpoint on the proxy, no ~/.aws, state in ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        XDG_STATE_HOME=str(tmp / "state"),
        PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def status_once(env: dict[str, str], expected: int) -> tuple[float, float]:
    """One ``status --output json``: (wall seconds, child CPU seconds), checked."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(
        [*wizard_command(), "status", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise BenchError(f"status exited {done.returncode}: {done.stderr.strip()[-500:]}")
    report = json.loads(done.stdout)
    trails = report["trails"]
    if len(trails) != expected:
        raise BenchError(f"status reported {len(trails)} trails, {expected} expected")
    failing = report["verdict"] == "failing"
    if done.returncode != (1 if failing else 0):
        raise BenchError(f"status exited {done.returncode} for a {report['verdict']} report")
    for trail in trails:
        facts = trail["facts"]
        if facts.get("is_logging") is not True:
            raise BenchError(f"{trail['name']} is not logging")
        if facts.get("unchecked"):
            raise BenchError(f"{trail['name']}: could not check {facts['unchecked']}")
    return wall, cpu


async def health_screen(endpoint: str, expected: int) -> float:
    """The Trail health screen, from the key press to the report on screen."""
    from screens.common.backend import Backend
    from screens.tui.app import make_app
    from screens.tui.status import StatusScreen

    backend = Backend(sandbox=True, endpoint=endpoint)
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(backend, answers_path=Path(tmp) / "a.yaml", show_help=False)
        async with app.run_test(size=(120, 40)) as pilot:
            while app.state.account is None:
                await asyncio.sleep(0.01)
            await pilot.app.workers.wait_for_complete()
            start = time.monotonic()
            app.simulate_key("ctrl+t")
            while not (isinstance(app.screen, StatusScreen) and app.screen.report is not None):
                if time.monotonic() - start > 60:
                    raise BenchError("the Trail health screen never showed a report")
                await asyncio.sleep(0.005)
            took = time.monotonic() - start
            report = app.screen.report
            assert report is not None
            if len(report.trails) != expected:
                raise BenchError(f"Trail health lists {len(report.trails)} trails")
    backend.close()
    return took


def review_rebuilds(endpoint: str, runs: int) -> list[float]:
    """Plans of answers whose key is in another region than the bucket, as the review
    rebuilds them."""
    from screens.common.backend import Backend
    from wizard.model.answers import Answers

    backend = Backend(sandbox=True, endpoint=endpoint)
    backend.connect()
    answers = Answers.model_validate(
        {
            "trail": {"name": "bench-review", "region": "us-east-1"},
            "bucket": {"name": "bench-review-logs-x1", "create": True},
            "encryption": {"type": "sse-kms", "key": "alias/app-data-eu"},
        }
    )
    times = []
    for _ in range(runs):
        start = time.monotonic()
        plan, _found = backend.engine.plan(answers)
        times.append(time.monotonic() - start)
        mismatch = [f for f in plan.findings if f.code == "kms-region-mismatch"]
        if not plan.blocked or not mismatch or "eu-west-1" not in mismatch[0].message:
            raise BenchError("the review did not say the key is in eu-west-1")
    backend.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=60)
    parser.add_argument("--trails", type=int, default=20)
    parser.add_argument("-n", "--runs", type=int, default=5)
    parser.add_argument("--priority", action="store_true", help="run ahead of other sessions")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    expected = args.trails + 1
    with priority(args.priority) as how:
        print(
            f"{args.trails} trails (and the demo account's legacy trail); {args.latency_ms:g} ms "
            f"added to every request by a proxy; {how}. Seeding…",
            flush=True,
        )
        with (
            Stack(latency_ms=args.latency_ms, trails=args.trails) as stack,
            tempfile.TemporaryDirectory() as tmp,
        ):
            env = environment(stack.endpoint, Path(tmp))
            status_once(env, expected)  # warm-up (byte-code cache), not timed
            stack.requests()
            runs = [status_once(env, expected) for _ in range(args.runs)]
            requests = stack.requests() / args.runs
            walls = [w for w, _c in runs]
            cpus = [c for _w, c in runs]
            wall = statistics.median(walls)
            print(
                f"  status --output json      median {wall:5.2f} s (runs {min(walls):.2f}-"
                f"{max(walls):.2f}), CPU {statistics.median(cpus):.2f} s, {requests:.0f} "
                f"requests; {load()}",
                flush=True,
            )
            screens = [asyncio.run(health_screen(stack.endpoint, expected)) for _ in range(3)]
            screen = statistics.median(screens)
            print(
                f"  Trail health screen       median {screen:5.2f} s (runs {min(screens):.2f}-"
                f"{max(screens):.2f}); {load()}",
                flush=True,
            )
            review = review_rebuilds(stack.endpoint, args.runs)
            print(
                f"  review rebuild, key in another region  median "
                f"{statistics.median(review):5.2f} s (runs {min(review):.2f}-{max(review):.2f}); "
                f"{load()}"
            )
    met = wall <= TARGET and screen <= TARGET
    print(f"Target: status and Trail health <= {TARGET:g} s: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
