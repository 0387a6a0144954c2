"""Wall time of ``cloudtrail-wizard apply --yes`` against the AWS CLI v1's trail helper.

Both set up the same thing on one local sandbox: a new S3 bucket with a bucket policy that
lets CloudTrail deliver, a trail, logging started.

* ours: ``cloudtrail-wizard apply ANSWERS --yes`` with examples/new-bucket-sse-s3.yaml (new
  bucket, SSE-S3, versioning, Block Public Access, tags), unique names per run. That
  includes discovery, preflight, the plan, the permission check, the stale-plan check, the
  journal and the verification after apply. With a core to spare, the command makes its
  AWS calls through a worker process (wizard.aws.worker); ``--worker on|off`` forces it
  either way (CLOUDTRAIL_WIZARD_AWS_WORKER), ``auto`` (the default) decides as a user's
  run does.
* theirs: ``aws cloudtrail create-subscription --name N --s3-new-bucket B
  --s3-custom-policy file://policy.json`` (the CLI v1 helper; its bucket policy template is
  passed with --s3-custom-policy, since it would otherwise download it from S3).

The two run alternately (the order swaps every run), N times (default 7), each on a freshly
reset and seeded sandbox (the reset is not timed), after one untimed warm-up run of each.
Each run is checked: the trail exists and is logging. Prints each run, the medians and the
median of the per-run ratios ours/theirs, against the target ratio of 0.7.

Both tools run with their byte-code cached (``PYTHONPYCACHEPREFIX``, filled by the warm-up
runs), as installed tools are: with ``PYTHONDONTWRITEBYTECODE`` set and an editable
install, the wizard's own modules would be compiled on every start (about 10 ms).

Not a test. Run: ``.venv/bin/python bench/apply_vs_awscli.py [-n RUNS] [--worker MODE]
[--profile]``. ``--profile`` also runs ours once under cProfile and prints where the time
goes (in the command's own process; the worker's share shows as waiting).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wizard.aws.worker import SWITCH, worth_a_worker  # noqa: E402
from wizard.sandbox.server import start_sandbox  # noqa: E402

TARGET = 0.7
"""ours / theirs must be at most this."""

EXAMPLE = ROOT / "examples" / "new-bucket-sse-s3.yaml"

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


def find_aws_cli() -> str:
    """The ``aws`` executable itself (a pyenv shim would add its own start-up to theirs)."""
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
        self, sandbox: Any, tmp: Path, worker: str = "auto", endpoint: str | None = None
    ) -> None:
        self.sandbox = sandbox
        self.tmp = tmp
        self.endpoint = endpoint or sandbox.endpoint_url
        """Where both sides send their requests: the sandbox, or the latency proxy."""
        self.env = environment(sandbox, tmp, worker, endpoint)
        self.aws = find_aws_cli()
        self.wizard = find_wizard()
        self.policy = tmp / "policy.json"
        self.policy.write_text(CLI_POLICY_TEMPLATE)
        self.example = yaml.safe_load(EXAMPLE.read_text())
        self.serial = 0

    def _unique(self, who: str) -> tuple[str, str]:
        self.serial += 1
        return f"bench-{who}-{self.serial}", f"bench-{who}-{self.serial}-{os.getpid()}-logs"

    def _run(self, command: list[str]) -> float:
        start = time.perf_counter()
        result = subprocess.run(
            command, env=self.env, cwd=self.tmp, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(
                f"{' '.join(command[:4])} ... failed ({result.returncode}):\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
        return elapsed

    def _check(self, trail: str) -> None:
        status = self.sandbox.client("cloudtrail").get_trail_status(Name=trail)
        if not status["IsLogging"]:
            raise SystemExit(f"trail {trail} is not logging")

    def ours(self) -> float:
        trail, bucket = self._unique("ours")
        answers = {
            **self.example,
            "trail": {**self.example["trail"], "name": trail},
            "bucket": {**self.example["bucket"], "name": bucket},
        }
        path = self.tmp / f"{trail}.yaml"
        path.write_text(yaml.safe_dump(answers))
        self.sandbox.reset(seed=True)
        elapsed = self._run([*self.wizard, "apply", str(path), "--yes"])
        self._check(trail)
        return elapsed

    def theirs(self) -> float:
        trail, bucket = self._unique("cli")
        self.sandbox.reset(seed=True)
        elapsed = self._run(
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
                self.sandbox.region,
            ]
        )
        self._check(trail)
        return elapsed

    def profile(self) -> None:
        """Ours once under cProfile: the functions where the time goes."""
        import pstats

        trail, bucket = self._unique("prof")
        answers = {
            **self.example,
            "trail": {**self.example["trail"], "name": trail},
            "bucket": {**self.example["bucket"], "name": bucket},
        }
        path = self.tmp / f"{trail}.yaml"
        path.write_text(yaml.safe_dump(answers))
        self.sandbox.reset(seed=True)
        out = self.tmp / "ours.prof"
        script = self.wizard[0] if len(self.wizard) == 1 else None
        if script is None:
            raise SystemExit("--profile needs the installed console script")
        profiled = [sys.executable, "-m", "cProfile", "-o", str(out), script]
        self._run([*profiled, "apply", str(path), "--yes"])
        stats = pstats.Stats(str(out))
        print("\nours under cProfile (main thread; worker threads are not profiled):")
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="also profile ours once")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="add MS milliseconds to every request of both sides, through a local proxy "
        "(a stand-in for AWS's round trips; loopback hides them)",
    )
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
        endpoint = None
        if args.latency > 0:
            from tests.faults.proxy import FaultProxy

            proxy = stack.enter_context(FaultProxy(sandbox.endpoint_url))
            proxy.delay(args.latency / 1000)
            endpoint = proxy.url
        bench = Bench(sandbox, Path(tmp), args.worker, endpoint)
        if endpoint is not None:
            print(f"latency: {args.latency:g} ms added to every request (proxy {endpoint})")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load {load:.2f}")
        os.environ.pop(SWITCH, None)
        guess = "yes" if worth_a_worker() else "no"
        print(f"worker: {args.worker} (with auto, a run now would use one: {guess})")
        print(f"ours:   {' '.join(bench.wizard)} apply ANSWERS --yes")
        print(f"theirs: {bench.aws} cloudtrail create-subscription ...")
        bench.ours(), bench.theirs()  # warm-up: byte-code cache, file cache
        rows = []
        print(f"\n{'run':>3} {'ours s':>8} {'theirs s':>9} {'ratio':>6}")
        for run in range(1, args.runs + 1):
            if run % 2:
                ours, theirs = bench.ours(), bench.theirs()
            else:
                theirs, ours = bench.theirs(), bench.ours()
            rows.append((ours, theirs))
            print(f"{run:>3} {ours:8.3f} {theirs:9.3f} {ours / theirs:6.2f}")
        ours_median = statistics.median(o for o, _ in rows)
        theirs_median = statistics.median(t for _, t in rows)
        ratio = statistics.median(o / t for o, t in rows)
        print(f"median {ours_median:6.3f} {theirs_median:9.3f} {ratio:6.2f}")
        verdict = "met" if ratio <= TARGET else "NOT met"
        print(f"\nmedian ratio ours/theirs: {ratio:.2f} (target <= {TARGET}): {verdict}")
        if args.profile:
            bench.profile()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
