"""Onboarding a thousand accounts: accounts a second and the memory it takes, at 60 ms per
request.

A sandbox behind a latency proxy runs in a child process (:mod:`stack`). The member
accounts need nothing: they are reached with STS AssumeRole, as in an organization (the
emulator maps an assumed role's credentials to the role's account). The shared answers give
each account a trail ``org-audit-{account_id}`` (multi-region, log file validation) into a
new bucket of its own, ``org-audit-logs-{account_id}`` (SSE-S3, Block Public Access,
versioning), tagged with the account.

Not the central bucket of ``bench/onboard.py``: a bucket policy holds at most 20 KB (AWS's
limit), and one statement path and trail per account fill it at about 60 accounts, so the
central update of a thousand accounts is refused by S3 (as it would be by AWS).

Timed: ``cloudtrail-wizard onboard ACCOUNTS --yes --output json --concurrency N`` in a child
process, as an operator runs it (dummy credentials, ``AWS_ENDPOINT_URL`` on the proxy).
Printed: wall time, accounts a second against the target of **5**, the requests the proxy
forwarded, the child's CPU time and its peak resident memory, and its resident memory at
each quarter of the run (memory that grows with the accounts done would show here).

Checked (not timed): the command exits 0, the report says every account is ``applied``,
and every account's trail exists and is logging, read back as that account.

Not a test. Run: ``.venv/bin/python bench/onboard_scale.py [--accounts 1000]
[--concurrency 16] [--latency-ms 60]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from machine import load, priority  # noqa: E402
from onboard import (  # noqa: E402
    MEMBER_ROLE,
    REGION,
    Accounts,
    environment,
    find_wizard,
    member_accounts,
)
from stack import Stack  # noqa: E402

TARGET = 5.0
"""Accounts a second, at least."""


class BenchError(RuntimeError):
    """The run did not do what it should have: its time does not count."""


def rss_kib(pid: int) -> int | None:
    """A process's resident memory (KiB), from /proc; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def onboard(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run the command; its report, wall and CPU time, peak and sampled memory."""
    samples: list[tuple[float, int]] = []
    start = time.monotonic()
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
    ):
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                rss = rss_kib(child.pid)
                if rss is not None:
                    samples.append((time.monotonic() - start, rss))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - start
        stop.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        raise BenchError(f"onboard exited {child.returncode}: {summary(stdout)}\n{stderr[-2000:]}")
    return {
        "report": json.loads(stdout),
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_kib": usage.ru_maxrss,
        "samples": samples,
    }


def summary(stdout: str) -> str:
    """What went wrong, from the report (the central update, a few accounts' errors)."""
    try:
        report = json.loads(stdout)
    except ValueError:
        return stdout[-2000:]
    central = report.get("central") or {}
    failed = [a for a in report.get("accounts", []) if a.get("status") != "applied"]
    return json.dumps(
        {
            "central": {k: central.get(k) for k in ("status", "error")},
            "not applied": len(failed),
            "e.g.": [
                {k: a.get(k) for k in ("account_id", "status", "stage", "error")}
                for a in failed[:3]
            ],
        },
        indent=2,
    )


def write_accounts_file(directory: Path, members: list[str]) -> Path:
    """The shared answers (a trail and a bucket of its own per account) and the accounts."""
    (directory / "answers.yaml").write_text(
        yaml.safe_dump(
            {
                "trail": {
                    "name": "org-audit-{account_id}",
                    "region": REGION,
                    "tags": {"account": "{account_id}"},
                },
                "bucket": {"name": "org-audit-logs-{account_id}", "create": True},
                "encryption": {"type": "sse-s3"},
            }
        )
    )
    path = directory / "accounts.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "answers": "answers.yaml",
                "accounts": [{"id": a, "role_name": MEMBER_ROLE} for a in members],
            }
        )
    )
    return path


def check(accounts: Accounts, report: dict[str, Any], members: list[str]) -> None:
    """Every account applied; every trail exists and logs, read as its account."""
    statuses = {a["account_id"]: a["status"] for a in report["accounts"]}
    wrong = {a: s for a, s in statuses.items() if s != "applied"}
    if sorted(statuses) != sorted(members) or wrong:
        sample = dict(list(wrong.items())[:5])
        raise BenchError(f"{len(wrong)} accounts not applied, e.g. {sample}")
    errors = [a for a in report["accounts"] if a.get("error")]
    if errors:
        raise BenchError(f"accounts with errors: {errors[:3]}")

    def logging_trail(account: str) -> str | None:
        role = f"arn:aws:iam::{account}:role/{MEMBER_ROLE}"
        cloudtrail = accounts.client("cloudtrail", role)
        arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/org-audit-{account}"
        return None if cloudtrail.get_trail_status(Name=arn)["IsLogging"] else arn

    with ThreadPoolExecutor(max_workers=8) as pool:
        silent = [arn for arn in pool.map(logging_trail, members) if arn]
    if silent:
        raise BenchError(f"{len(silent)} trails are not logging, e.g. {silent[:3]}")


def quarters(samples: list[tuple[float, int]], wall: float) -> str:
    """Resident memory at each quarter of the run."""
    marks = []
    for q in (0.25, 0.5, 0.75, 1.0):
        before = [rss for t, rss in samples if t <= q * wall]
        marks.append(f"{before[-1] / 1024:.0f}" if before else "-")
    return " / ".join(marks) + " MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=60)
    parser.add_argument("--priority", action="store_true", help="run ahead of other sessions")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with priority(args.priority) as how:
        print(how, flush=True)
        return measure(args)


def measure(args: argparse.Namespace) -> int:
    """One timed, checked onboarding run, printed."""
    members = member_accounts(args.accounts)
    with Stack(latency_ms=args.latency_ms) as stack, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        # The trails are checked straight on the sandbox (not timed, no latency).
        accounts = Accounts(SimpleNamespace(endpoint_url=stack.direct))
        path = write_accounts_file(directory, members)
        command = [
            *find_wizard(),
            "onboard",
            str(path),
            "--yes",
            "--output",
            "json",
            "--concurrency",
            str(args.concurrency),
        ]
        print(
            f"onboard {args.accounts} accounts, --concurrency {args.concurrency}, "
            f"{args.latency_ms:g} ms added to every request by a proxy…",
            flush=True,
        )
        stack.requests()
        emulator = stack.cpu()
        run = onboard(command, environment(stack.endpoint, directory), directory)
        requests = stack.requests()
        emulator = stack.cpu() - emulator
        loaded = load()
        check(accounts, run["report"], members)
    rate = args.accounts / run["wall"]
    print(
        f"  {run['wall']:.1f} s, {rate:.2f} accounts a second, {requests} requests "
        f"({requests / args.accounts:.1f} an account), CPU {run['cpu']:.1f} s, "
        f"peak memory {run['peak_kib'] / 1024:.0f} MiB; {loaded}"
    )
    print(
        f"  the sandbox and the proxy (the other process) used {emulator:.1f} s of CPU "
        f"meanwhile: {(run['cpu'] + emulator) / run['wall']:.2f} of the machine's "
        f"{os.cpu_count()} cores were busy"
    )
    print(f"  resident memory at each quarter of the run: {quarters(run['samples'], run['wall'])}")
    print(
        f"Target: >= {TARGET:g} accounts a second: {'met' if rate >= TARGET else 'NOT met'} "
        "(every account checked: applied, its trail logging)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
