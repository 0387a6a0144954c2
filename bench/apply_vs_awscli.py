"""Round trips and wall time of ``cloudtrail-wizard apply --yes`` against the AWS CLI v1.

Both set up a trail on one local sandbox, every request of both sides held ``--latency`` ms
(default 60) by a proxy in front of it (:class:`tests.faults.proxy.FaultProxy`), a stand-in
for AWS's round trips, which loopback hides:

* ours: ``cloudtrail-wizard apply ANSWERS --yes``, for two answers files, each with unique
  names per run:

  - ``sse-s3``: examples/new-bucket-sse-s3.yaml (new bucket, SSE-S3, versioning, Block
    Public Access, tags; multi-region trail with log file validation; logging started);
  - ``sse-kms``: examples/sse-kms-new-key.yaml (the same with a new KMS key, its alias and
    key policy, SSE-KMS on the bucket and the trail).
  - ``sse-s3-eu-west-1``: the ``sse-s3`` answers with the trail and its new bucket in
    eu-west-1 (the AWS CLI's too). In us-east-1, S3 answers CreateBucket with 200 when the
    account already owns the bucket, so the run reads the new bucket's tags once before
    writing to it, to be sure it made the bucket itself (another run may have, a moment
    before); elsewhere S3 refuses with BucketAlreadyOwnedByYou and that read, one round trip,
    is not needed.

  That includes the credentials check, discovery, preflight, the plan, the permission
  check, the journal and the verification after apply. With a core to spare, the command
  makes its AWS calls through a worker process (wizard.aws.worker); ``--worker on|off``
  forces it either way (CLOUDTRAIL_WIZARD_AWS_WORKER), ``auto`` (the default) decides as a
  user's run does.
* theirs: ``aws cloudtrail create-subscription --name N --s3-new-bucket B
  --s3-custom-policy file://policy.json`` (the CLI v1 helper, from .venv-awscli when it is
  there; its bucket policy template is passed with --s3-custom-policy, since it would
  otherwise download it from S3). It does a smaller job: no encryption setting, no
  versioning, no Block Public Access, no tags, no key, no verification.

For each answers file, the two run alternately (the order swaps every run), N times (default
7), each on a freshly reset and seeded sandbox (the reset is not timed), after one untimed
warm-up run of each. Every run is checked: exit status 0, the trail exists and is logging
(and, for ``sse-kms``, encrypts with a KMS key); a run that fails stops the benchmark, so a
refused run never counts as a fast one.

For every run the proxy records when each request arrived and when it was answered. **Round
trips in sequence** is the longest chain of requests each sent after the previous one was
answered: requests that overlap in time count once, so it is the number of latencies the
run waited for one after the other. Printed per run and as medians, with the total number
of requests, the wall times and the ratio ours/theirs, beside the targets (issue 16): for
``sse-s3`` at most 8 round trips and a ratio of at most 0.8, for ``sse-kms`` at most 9.
``--trace`` prints, for the first timed run of ours, the requests of each round trip.

Both tools run with their byte-code cached (``PYTHONPYCACHEPREFIX``, filled by the warm-up
runs), as installed tools are: with ``PYTHONDONTWRITEBYTECODE`` set and an editable
install, the wizard's own modules would be compiled on every start (about 10 ms).

Not a test. Run: ``.venv/bin/python bench/apply_vs_awscli.py [-n RUNS] [--latency MS]
[--only sse-s3|sse-kms] [--worker MODE] [--trace] [--profile]``. ``--latency 0`` talks to
the sandbox directly (no round trips are counted then). ``--profile`` also runs ours once
under cProfile and prints where the time goes (in the command's own process; the worker's
share shows as waiting).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.proxy import FaultProxy, is_mutating  # noqa: E402
from wizard.aws.worker import SWITCH, worth_a_worker  # noqa: E402
from wizard.sandbox.server import start_sandbox  # noqa: E402


@dataclass(frozen=True)
class Scenario:
    """One answers file timed against the CLI, with its targets."""

    name: str
    example: Path
    max_round_trips: int
    """Round trips in sequence of ours at most (issue 16)."""
    max_ratio: float | None
    """ours / theirs at most; None: no target (the CLI cannot do this job)."""
    kms: bool = False
    region: str | None = None
    """The trail's (and the new bucket's) region for both sides; None: the example's."""


SCENARIOS = (
    Scenario("sse-s3", ROOT / "examples" / "new-bucket-sse-s3.yaml", 8, 0.8),
    Scenario("sse-kms", ROOT / "examples" / "sse-kms-new-key.yaml", 9, None, kms=True),
    # The same job outside us-east-1, where S3 refuses to create a bucket the account
    # already owns (BucketAlreadyOwnedByYou) instead of answering 200: the run then needs
    # no read after CreateBucket to know the bucket is its own (see issue 16's figures).
    Scenario(
        "sse-s3-eu-west-1",
        ROOT / "examples" / "new-bucket-sse-s3.yaml",
        8,
        0.8,
        region="eu-west-1",
    ),
)

# The AWS CLI's own template (AWSCloudTrail-S3BucketPolicy-2014-12-17), with the
# placeholders create-subscription fills in.
CLI_POLICY_TEMPLATE = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AWSCloudTrailAclCheck20131101",
      "Effect": "Allow",
      "Principal": {"Service": "cloudtrail.amazonaws.com"},
      "Action": "s3:GetBucketAcl",
      "Resource": "arn:aws:s3:::<BucketName>"
    },
    {
      "Sid": "AWSCloudTrailWrite20131101",
      "Effect": "Allow",
      "Principal": {"Service": "cloudtrail.amazonaws.com"},
      "Action": "s3:PutObject",
      "Resource": "arn:aws:s3:::<BucketName>/<Prefix>/AWSLogs/<CustomerAccountID>/*",
      "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
    }
  ]
}
"""


# ------------------------------------------------------------------ round trips


class Timed(NamedTuple):
    """One request as the proxy handled it: when it arrived and when it was answered."""

    target: str
    start: float
    end: float


class RecordingProxy(FaultProxy):
    """The latency proxy, also recording when each request arrived and was answered."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self._timed: list[Timed] = []
        self._timed_lock = threading.Lock()
        self._current = threading.local()

    def _decide(self, target: str, mutating: bool) -> Any:
        # Called once per request, in the thread that handles it, with what it is.
        self._current.target = target
        return super()._decide(target, mutating)

    def handle(self, handler: Any) -> None:
        start = time.monotonic()
        self._current.target = "?"
        try:
            super().handle(handler)
        finally:
            timed = Timed(self._current.target, start, time.monotonic())
            with self._timed_lock:
                self._timed.append(timed)

    def take(self) -> list[Timed]:
        """The requests recorded since the last call (then forgotten), by arrival."""
        with self._timed_lock:
            taken, self._timed = self._timed, []
        return sorted(taken, key=lambda t: t.start)


def round_trips(requests: list[Timed]) -> list[list[Timed]]:
    """The requests by round trip: the longest chain of requests sent one after another.

    A request's round trip is one more than the deepest round trip among the requests
    answered before it arrived; requests that overlap in time share one. The number of
    round trips is the longest chain of requests each sent after the previous was answered
    (by Mirsky's theorem, also the fewest groups of mutually overlapping requests).
    """
    ordered = sorted(requests, key=lambda t: t.start)
    depth: list[int] = []
    for i, request in enumerate(ordered):
        before = [depth[j] for j in range(i) if ordered[j].end <= request.start]
        depth.append(1 + max(before, default=0))
    levels: list[list[Timed]] = [[] for _ in range(max(depth, default=0))]
    for request, level in zip(ordered, depth, strict=True):
        levels[level - 1].append(request)
    return levels


def is_change(request: Timed) -> bool:
    """A request that may change something (AWS's naming convention, as the proxy's)."""
    return is_mutating(request.target.partition(":")[2])


def phases(levels: list[list[Timed]]) -> tuple[int, int, int]:
    """Round trips before the first change, from it to the last change, and after it."""
    changing = [i for i, level in enumerate(levels) if any(is_change(t) for t in level)]
    if not changing:
        return len(levels), 0, 0
    first, last = changing[0], changing[-1]
    return first, last - first + 1, len(levels) - last - 1


class Run(NamedTuple):
    """One timed run."""

    seconds: float
    requests: int
    trips: int
    levels: list[list[Timed]]
    cpu: float
    """CPU seconds of the command and its children (user + system): steadier than wall time
    on a busy machine, and what the round trips cannot explain."""
    lead: float
    """Seconds from starting the command to its first request's arrival (start-up)."""
    tail: float
    """Seconds from the last request's answer to the command's exit."""

    @property
    def phases(self) -> tuple[int, int, int]:
        """Round trips before, during and after the changes."""
        return phases(self.levels)


def find_aws_cli() -> str:
    """The AWS CLI v1 of .venv-awscli, else the ``aws`` executable itself (not a pyenv shim,
    which would add its own start-up to theirs)."""
    local = ROOT / ".venv-awscli" / "bin" / "aws"
    if local.exists():
        return str(local)
    found = shutil.which("aws")
    if found is None:
        raise SystemExit("The AWS CLI (`aws`) is not installed.")
    if "/shims/" in found and shutil.which("pyenv"):
        resolved = subprocess.run(
            ["pyenv", "which", "aws"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if resolved:
            return resolved
    return found


def find_wizard() -> list[str]:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).parent / "cloudtrail-wizard"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from screens.cli.main import main; sys.exit(main())"]


def environment(
    sandbox: Any, tmp: Path, worker: str = "auto", endpoint: str | None = None
) -> dict[str, str]:
    """Dummy credentials, every AWS endpoint on the sandbox (or ``endpoint``), no ~/.aws."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop(SWITCH, None)
    if worker != "auto":
        env[SWITCH] = "1" if worker == "on" else "0"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(sandbox.env())
    if endpoint is not None:
        env["AWS_ENDPOINT_URL"] = endpoint
    env.update(
        AWS_CONFIG_FILE=str(tmp / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_PAGER="",
        XDG_STATE_HOME=str(tmp / "state"),
        PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
    )
    return env


class Bench:
    def __init__(
        self,
        sandbox: Any,
        tmp: Path,
        worker: str = "auto",
        proxy: RecordingProxy | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.tmp = tmp
        self.proxy = proxy
        self.endpoint = proxy.url if proxy is not None else sandbox.endpoint_url
        """Where both sides send their requests: the sandbox, or the latency proxy."""
        self.env = environment(sandbox, tmp, worker, proxy.url if proxy is not None else None)
        self.aws = find_aws_cli()
        self.wizard = find_wizard()
        self.policy = tmp / "policy.json"
        self.policy.write_text(CLI_POLICY_TEMPLATE)
        self.serial = 0

    def _unique(self, who: str) -> tuple[str, str]:
        self.serial += 1
        return f"bench-{who}-{self.serial}", f"bench-{who}-{self.serial}-{os.getpid()}-logs"

    def _run(self, command: list[str]) -> Run:
        if self.proxy is not None:
            self.proxy.take()  # nothing before this run counts
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()  # the proxy's clock
        start = time.perf_counter()
        result = subprocess.run(
            command, env=self.env, cwd=self.tmp, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - start
        ended = time.monotonic()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if result.returncode != 0:
            raise SystemExit(
                f"{' '.join(command[:4])} ... failed ({result.returncode}):\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
        requests = self.proxy.take() if self.proxy is not None else []
        levels = round_trips(requests)
        lead = requests[0].start - started if requests else 0.0
        tail = ended - max((t.end for t in requests), default=ended)
        return Run(elapsed, len(requests), len(levels), levels, cpu, lead, tail)

    def _check(self, trail: str, *, kms: bool = False, region: str | None = None) -> None:
        """The run did what it says: the trail exists, logs (and encrypts with KMS)."""
        cloudtrail = self.sandbox.client("cloudtrail", region)
        status = cloudtrail.get_trail_status(Name=trail)
        if not status["IsLogging"]:
            raise SystemExit(f"trail {trail} is not logging")
        if kms and not cloudtrail.get_trail(Name=trail)["Trail"].get("KmsKeyId"):
            raise SystemExit(f"trail {trail} does not encrypt its logs with a KMS key")

    def _answers(self, scenario: Scenario, trail: str, bucket: str) -> Path:
        example = yaml.safe_load(scenario.example.read_text())
        answers = {
            **example,
            "trail": {
                **example["trail"],
                "name": trail,
                **({"region": scenario.region} if scenario.region else {}),
            },
            "bucket": {**example["bucket"], "name": bucket},
        }
        path = self.tmp / f"{trail}.yaml"
        path.write_text(yaml.safe_dump(answers))
        return path

    def ours(self, scenario: Scenario) -> Run:
        trail, bucket = self._unique(f"ours-{scenario.name}")
        path = self._answers(scenario, trail, bucket)
        self.sandbox.reset(seed=True)
        run = self._run([*self.wizard, "apply", str(path), "--yes"])
        self._check(trail, kms=scenario.kms, region=scenario.region)
        return run

    def theirs(self, scenario: Scenario) -> Run:
        trail, bucket = self._unique("cli")
        region = scenario.region or self.sandbox.region
        self.sandbox.reset(seed=True)
        run = self._run(
            [
                self.aws,
                "cloudtrail",
                "create-subscription",
                "--name",
                trail,
                "--s3-new-bucket",
                bucket,
                "--s3-custom-policy",
                f"file://{self.policy}",
                "--endpoint-url",
                self.endpoint,
                "--region",
                region,
            ]
        )
        self._check(trail, region=region)
        return run

    def profile(self, scenario: Scenario) -> None:
        """Ours once under cProfile: the functions where the time goes."""
        import pstats

        trail, bucket = self._unique("prof")
        path = self._answers(scenario, trail, bucket)
        self.sandbox.reset(seed=True)
        out = self.tmp / "ours.prof"
        script = self.wizard[0] if len(self.wizard) == 1 else None
        if script is None:
            raise SystemExit("--profile needs the installed console script")
        profiled = [sys.executable, "-m", "cProfile", "-o", str(out), script]
        self._run([*profiled, "apply", str(path), "--yes"])
        stats = pstats.Stats(str(out))
        print(f"\nours ({scenario.name}) under cProfile (main thread only):")
        stats.sort_stats("cumulative").print_stats(30)
        self.sandbox.reset(seed=True)
        imports = subprocess.run(
            [sys.executable, "-X", "importtime", script, "apply", str(path), "--yes"],
            env=self.env,
            cwd=self.tmp,
            capture_output=True,
            text=True,
            check=False,
        ).stderr
        top = []
        for line in imports.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                top.append((int(parts[1]), parts[2].rstrip()))
        print("largest imports (cumulative microseconds):")
        for micros, name in sorted(top, reverse=True)[:15]:
            print(f"  {micros:>9} {name}")


def print_trace(levels: list[list[Timed]]) -> None:
    """Each round trip's requests: when the first of them arrived, how long after the
    round before was answered (the client's own time between them), and how long the
    round took from its first request in to its last answer out."""
    if not levels:
        return
    origin = levels[0][0].start
    answered = origin
    for number, level in enumerate(levels, 1):
        names = ", ".join(t.target for t in level)
        first = min(t.start for t in level)
        last = max(t.end for t in level)
        gap = f"{(first - answered) * 1000:4.0f}" if number > 1 else "   -"
        print(
            f"  {number:>2} +{(first - origin) * 1000:5.0f} ms  after {gap} ms, "
            f"took {(last - first) * 1000:3.0f} ms  {names}"
        )
        answered = last


def verdict(value: float, target: float | None) -> str:
    if target is None:
        return "(no target)"
    return f"(target <= {target:g}: {'met' if value <= target else 'NOT met'})"


def bench_scenario(bench: Bench, scenario: Scenario, runs: int, *, trace: bool) -> None:
    counting = bench.proxy is not None
    print(f"\n== {scenario.name}: {scenario.example.relative_to(ROOT)}")
    bench.ours(scenario), bench.theirs(scenario)  # warm-up: byte-code cache, file cache
    rows: list[tuple[Run, Run]] = []
    print(
        f"{'run':>3} {'ours s':>7} {'cpu':>5} {'trips':>5} {'reqs':>4}  "
        f"{'theirs s':>8} {'cpu':>5} {'trips':>5} {'reqs':>4}  {'ratio':>5}"
    )
    for number in range(1, runs + 1):
        if number % 2:
            ours, theirs = bench.ours(scenario), bench.theirs(scenario)
        else:
            theirs, ours = bench.theirs(scenario), bench.ours(scenario)
        rows.append((ours, theirs))
        print(
            f"{number:>3} {ours.seconds:7.3f} {ours.cpu:5.2f} {ours.trips:>5} {ours.requests:>4}  "
            f"{theirs.seconds:8.3f} {theirs.cpu:5.2f} {theirs.trips:>5} {theirs.requests:>4}  "
            f"{ours.seconds / theirs.seconds:5.2f}"
        )
    ours_s = statistics.median(o.seconds for o, _ in rows)
    theirs_s = statistics.median(t.seconds for _, t in rows)
    ratio = statistics.median(o.seconds / t.seconds for o, t in rows)
    trips = statistics.median(o.trips for o, _ in rows)
    requests = statistics.median(o.requests for o, _ in rows)
    cli_trips = statistics.median(t.trips for _, t in rows)
    cli_requests = statistics.median(t.requests for _, t in rows)
    ours_cpu = statistics.median(o.cpu for o, _ in rows)
    theirs_cpu = statistics.median(t.cpu for _, t in rows)
    print(
        f"med {ours_s:7.3f} {ours_cpu:5.2f} {trips:>5g} {requests:>4g}  "
        f"{theirs_s:8.3f} {theirs_cpu:5.2f} {cli_trips:>5g} {cli_requests:>4g}  {ratio:5.2f}"
    )
    print(
        f"\n{scenario.name}: wall time ours {ours_s:.3f} s, theirs {theirs_s:.3f} s; CPU time "
        f"ours {ours_cpu:.2f} s, theirs {theirs_cpu:.2f} s (ratio {ours_cpu / theirs_cpu:.2f})"
    )
    if counting:
        before, during, after = (statistics.median(o.phases[i] for o, _ in rows) for i in range(3))
        trip_range = f"{min(o.trips for o, _ in rows)}-{max(o.trips for o, _ in rows)}"
        print(
            f"{scenario.name}: round trips in sequence {trips:g} (runs {trip_range}) "
            f"{verdict(max(o.trips for o, _ in rows), scenario.max_round_trips)}; "
            f"requests {requests:g}; the AWS CLI: {cli_trips:g} round trips, "
            f"{cli_requests:g} requests"
        )
        lead, tail = (
            statistics.median(o.lead for o, _ in rows),
            statistics.median(o.tail for o, _ in rows),
        )
        their_lead = statistics.median(t.lead for _, t in rows)
        their_tail = statistics.median(t.tail for _, t in rows)
        print(
            f"{scenario.name}: start-up to the first request ours {lead * 1000:.0f} ms, theirs "
            f"{their_lead * 1000:.0f} ms; last answer to exit ours {tail * 1000:.0f} ms, theirs "
            f"{their_tail * 1000:.0f} ms"
        )
        print(
            f"{scenario.name}: of ours, {before:g} before the first change (credentials, "
            f"discovery, the permission check), {during:g} for the changes, "
            f"{after:g} after the last (verification)"
        )
    else:
        print(f"{scenario.name}: round trips not counted (no latency proxy)")
    note = "" if scenario.max_ratio is not None else " (the CLI makes no key: no target)"
    print(
        f"{scenario.name}: median ratio ours/theirs {ratio:.2f} "
        f"{verdict(ratio, scenario.max_ratio)}{note}"
    )
    if trace and counting:
        print(f"{scenario.name}: the round trips of ours in run 1:")
        print_trace(rows[0][0].levels)
        print("the round trips of the AWS CLI in run 1:")
        print_trace(rows[0][1].levels)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="also profile ours once")
    parser.add_argument(
        "--latency",
        type=float,
        default=60.0,
        metavar="MS",
        help="add MS milliseconds to every request of both sides, through a local proxy "
        "(a stand-in for AWS's round trips, which loopback hides; default 60); 0 talks to "
        "the sandbox directly and counts no round trips",
    )
    parser.add_argument(
        "--only",
        choices=[s.name for s in SCENARIOS],
        help="time only this answers file (default: each)",
    )
    parser.add_argument("--trace", action="store_true", help="print the round trips of run 1")
    parser.add_argument(
        "--worker",
        choices=("auto", "on", "off"),
        default="auto",
        help="ours makes its AWS calls through a worker process: as it decides (auto), "
        "always, never",
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # moto's unimplemented-op noise
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        sandbox = stack.enter_context(start_sandbox(seed=True))
        proxy: RecordingProxy | None = None
        if args.latency > 0:
            proxy = RecordingProxy(sandbox.endpoint_url)
            stack.enter_context(proxy)
            proxy.delay(args.latency / 1000)
        bench = Bench(sandbox, Path(tmp), args.worker, proxy)
        if proxy is not None:
            print(f"latency: {args.latency:g} ms added to every request (proxy {proxy.url})")
        else:
            print("latency: none (straight to the sandbox; round trips are not counted)")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load {load:.2f}")
        os.environ.pop(SWITCH, None)
        guess = "yes" if worth_a_worker() else "no"
        print(f"worker: {args.worker} (with auto, a run now would use one: {guess})")
        print(f"ours:   {' '.join(bench.wizard)} apply ANSWERS --yes")
        print(f"theirs: {bench.aws} cloudtrail create-subscription ...")
        scenarios = [s for s in SCENARIOS if args.only in (None, s.name)]
        for scenario in scenarios:
            bench_scenario(bench, scenario, args.runs, trace=args.trace)
        if args.profile:
            bench.profile(scenarios[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
