"""Onboarding 50 accounts: ``cloudtrail-wizard onboard`` one account at a time vs concurrently.

One local sandbox holds a log-archive account (999999999999: a central bucket and KMS key,
with their owner's policies) and 50 member accounts, reached with STS AssumeRole as in an
AWS organization (the emulator maps an assumed role's credentials to the role's account).
An accounts file lists the 50 accounts; the shared answers give each one a trail
``org-audit-{account_id}`` delivering to the central bucket under one prefix, encrypted
with the central key.

Each run is ``cloudtrail-wizard onboard ACCOUNTS --yes --output json --concurrency N`` in a
child process, as an operator runs it: assume every role, discover and plan everywhere, one
summary, the central bucket and key policies updated once, then every account applied
(re-planned on fresh discovery, the stale-plan check, the changes, the verification reads),
one journal. It runs once with ``--concurrency 1`` and once with ``--concurrency N``
(default 16), each on a freshly reset sandbox (the reset and the log-archive set-up are not
timed), and every run is checked: the report says every account is ``applied``, and each
account's trail exists and is logging (read back as that account).

Two settings, each printing the wall time, the requests the emulator received, and the
speed-up against the target (at least 4x):

* **emulator**: straight to the sandbox on 127.0.0.1. No network latency, and the emulator
  shares the machine's cores with the wizard, so concurrency gains little here.
* **latency**: through an HTTP proxy (:class:`tests.faults.proxy.FaultProxy`) that holds
  every request ``--latency-ms`` (default 40) before forwarding it, as a real AWS endpoint
  tens of milliseconds away would. This is the setting the target is about.

With ``--engine stacksets`` the same accounts are members of an organization in two OUs, and
the run is ``cloudtrail-wizard onboard ACCOUNTS --engine stacksets --ou OU1 --ou OU2 --yes``:
one StackSet, AWS's own fan-out (the sandbox deploys each member's stack itself, account by
account, so the wall time here is the emulator's work; this machine only sends a handful of
StackSet calls and waits). Checked the same way: every account's result SUCCEEDED, and its
trail exists and is logging.

Not a test. Run: ``.venv/bin/python bench/onboard.py [--engine accounts|stacksets]
[--accounts 50] [--concurrency 16] [--latency-ms 40] [--only emulator|latency]
[--priority]``. The load average is printed with each figure; ``--priority`` runs the bench
ahead of other sessions' work (:mod:`machine`). With ``--engine stacksets`` it also prints
accounts a second and the command's own CPU time and peak memory (the sandbox deploying the
member stacks runs in the bench's process, not the command's).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import load, priority  # noqa: E402

from tests.faults.proxy import FaultProxy  # noqa: E402
from wizard.sandbox.server import start_sandbox  # noqa: E402

TARGET = 4.0
"""The concurrent run must be at least this many times faster than the serial one."""

LOG_ACCOUNT = "999999999999"
LOG_ROLE = f"arn:aws:iam::{LOG_ACCOUNT}:role/LogArchiveAdmin"
BUCKET = f"bench-central-logs-{LOG_ACCOUNT}"
PREFIX = "org"
MEMBER_ROLE = "OrganizationAccountAccessRole"
REGION = "us-east-1"


def member_accounts(count: int) -> list[str]:
    """``count`` distinct member account ids (none is the sandbox's or the log archive's)."""
    return [f"{210000000000 + i:012d}" for i in range(1, count + 1)]


class RequestCounter:
    """WSGI middleware on the emulator: counts every AWS request that reaches it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.count = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            with self.lock:
                self.count += 1
        return self.app(environ, start_response)

    def take(self) -> int:
        """The count so far, and start again from 0."""
        with self.lock:
            count, self.count = self.count, 0
        return count


def count_requests(sandbox: Any) -> RequestCounter:
    """Wrap the sandbox server's WSGI app (werkzeug looks it up for every request)."""
    inner = sandbox._server._server
    counter = RequestCounter(inner.app)
    inner.app = counter
    return counter


class Accounts:
    """Plain boto3 clients acting as any account of the sandbox (via STS AssumeRole)."""

    def __init__(self, sandbox: Any) -> None:
        import boto3
        import botocore.session

        core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
        # One session for every client: each new session would load botocore's models again.
        self.session = boto3.session.Session(
            botocore_session=core,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=REGION,
        )
        self.endpoint = sandbox.endpoint_url
        self.sts = self.session.client("sts", endpoint_url=self.endpoint)

    def client(self, service: str, role_arn: str) -> Any:
        creds = self.sts.assume_role(RoleArn=role_arn, RoleSessionName="bench")["Credentials"]
        return self.session.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )


def set_up_log_archive(accounts: Accounts) -> str:
    """The central bucket and key, with their owner's policies; returns the key ARN."""
    s3 = accounts.client("s3", LOG_ROLE)
    s3.create_bucket(Bucket=BUCKET)
    deny_http = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny_http]})
    )
    root = {
        "Sid": "Root",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{LOG_ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    kms = accounts.client("kms", LOG_ROLE)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [root]})
    return str(kms.create_key(Policy=policy)["KeyMetadata"]["Arn"])


def write_accounts_file(directory: Path, members: list[str], key_arn: str) -> Path:
    """The shared answers (with ``{account_id}``) and the accounts file naming them."""
    (directory / "answers.yaml").write_text(
        yaml.safe_dump(
            {
                "trail": {"name": "org-audit-{account_id}", "tags": {"account": "{account_id}"}},
                "bucket": {
                    "name": BUCKET,
                    "create": False,
                    "account": LOG_ACCOUNT,
                    "prefix": PREFIX,
                },
                "encryption": {"type": "sse-kms", "key": key_arn},
            }
        )
    )
    path = directory / "accounts.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "answers": "answers.yaml",
                "central": {"role_arn": LOG_ROLE},
                "accounts": [{"id": a, "role_name": MEMBER_ROLE} for a in members],
            }
        )
    )
    return path


def find_wizard() -> list[str]:
    """The installed console script, as an operator runs it."""
    script = Path(sys.executable).parent / "cloudtrail-wizard"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from screens.cli.main import main; sys.exit(main())"]


def environment(endpoint: str, tmp: Path) -> dict[str, str]:
    """Dummy credentials, every AWS endpoint at ``endpoint``, nothing from ~/.aws."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=str(tmp / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        XDG_STATE_HOME=str(tmp / "state"),
    )
    return env


@dataclass
class Run:
    seconds: float
    requests: int
    cpu: float = 0.0
    """The command's own CPU seconds (stacksets)."""
    peak_mib: float = 0.0
    """The command's peak resident memory (stacksets)."""
    load: str = ""
    """The load average when the run ended."""


class Bench:
    def __init__(self, sandbox: Any, tmp: Path, members: list[str]) -> None:
        self.sandbox = sandbox
        self.tmp = tmp
        self.members = members
        self.counter = count_requests(sandbox)
        self.accounts = Accounts(sandbox)
        self.wizard = find_wizard()

    def prepare(self) -> Path:
        """A freshly reset sandbox with the log archive; the accounts file (not timed)."""
        self.sandbox.reset(seed=True)
        key_arn = set_up_log_archive(self.accounts)
        return write_accounts_file(self.tmp, self.members, key_arn)

    def onboard(self, endpoint: str, concurrency: int) -> Run:
        path = self.prepare()
        env = environment(endpoint, self.tmp)
        command = [
            *self.wizard,
            "onboard",
            str(path),
            "--yes",
            "--output",
            "json",
            "--concurrency",
            str(concurrency),
        ]
        self.counter.take()
        start = time.perf_counter()
        result = subprocess.run(
            command, env=env, cwd=self.tmp, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - start
        requests = self.counter.take()
        if result.returncode != 0:
            raise SystemExit(
                f"onboard --concurrency {concurrency} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        self.check(json.loads(result.stdout))
        return Run(elapsed, requests)

    def check(self, report: dict[str, Any]) -> None:
        """Every account applied, and its trail exists and is logging (read as that account)."""
        statuses = {a["account_id"]: a["status"] for a in report["accounts"]}
        wrong = {a: s for a, s in statuses.items() if s != "applied"}
        if sorted(statuses) != sorted(self.members) or wrong:
            raise SystemExit(f"not every account was applied: {wrong or statuses}")
        for account in self.members:
            role = f"arn:aws:iam::{account}:role/{MEMBER_ROLE}"
            cloudtrail = self.accounts.client("cloudtrail", role)
            arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/org-audit-{account}"
            if not cloudtrail.get_trail_status(Name=arn)["IsLogging"]:
                raise SystemExit(f"{arn} is not logging")


class StackSetBench(Bench):
    """The same accounts as members of an organization in two OUs; one StackSet for them."""

    def prepare_organization(self) -> tuple[Path, list[str], list[str]]:
        """A reset sandbox, the log archive, the organization: (accounts file, OUs, members)."""
        self.sandbox.reset(seed=True)
        key_arn = set_up_log_archive(self.accounts)
        org = self.accounts.session.client("organizations", endpoint_url=self.endpoint)
        org.create_organization(FeatureSet="ALL")
        org.enable_aws_service_access(
            ServicePrincipal="member.org.stacksets.cloudformation.amazonaws.com"
        )
        root = org.list_roots()["Roots"][0]["Id"]
        ous = [
            org.create_organizational_unit(ParentId=root, Name=name)["OrganizationalUnit"]["Id"]
            for name in ("workloads", "sandbox")
        ]
        members = []
        for i in range(len(self.members)):
            status = org.create_account(AccountName=f"member-{i}", Email=f"m{i}@example.com")
            account = status["CreateAccountStatus"]["AccountId"]
            org.move_account(
                AccountId=account, SourceParentId=root, DestinationParentId=ous[i % len(ous)]
            )
            members.append(account)
        path = self.tmp / "stackset-accounts.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "answers": {
                        "trail": {"name": "org-audit", "region": REGION},
                        "bucket": {
                            "name": BUCKET,
                            "create": False,
                            "account": LOG_ACCOUNT,
                            "prefix": PREFIX,
                        },
                        "encryption": {"type": "sse-kms", "key": key_arn},
                    },
                    "central": {"role_arn": LOG_ROLE},
                }
            )
        )
        return path, ous, members

    @property
    def endpoint(self) -> str:
        return str(self.sandbox.endpoint_url)

    def deploy(self, endpoint: str) -> Run:
        path, ous, members = self.prepare_organization()
        command = [*self.wizard, "onboard", str(path), "--engine", "stacksets", "--yes"]
        command += ["--output", "json", *(a for ou in ous for a in ("--ou", ou))]
        self.counter.take()
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            child = subprocess.Popen(
                command,
                env=environment(endpoint, self.tmp),
                cwd=self.tmp,
                stdout=out,
                stderr=err,
                text=True,
            )
            # The command's own CPU and peak memory: the sandbox deploying the member
            # stacks is in this process, the wizard only in the child.
            _pid, status, usage = os.wait4(child.pid, 0)
            elapsed = time.perf_counter() - start
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        requests = self.counter.take()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(
                f"onboard --engine stacksets failed ({code}):\n{stdout[-3000:]}\n{stderr[-3000:]}"
            )
        report = json.loads(stdout)
        done = {o["account_id"] for o in report["outcomes"] if o["status"] == "SUCCEEDED"}
        if report["status"] != "applied" or done != set(members):
            raise SystemExit(f"not every account succeeded: {report['status']}, {done}")
        for account in members:
            role = f"arn:aws:iam::{account}:role/{MEMBER_ROLE}"
            cloudtrail = self.accounts.client("cloudtrail", role)
            if not cloudtrail.get_trail_status(Name="org-audit")["IsLogging"]:
                raise SystemExit(f"the trail of {account} is not logging")
        return Run(
            elapsed, requests, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, load()
        )


def stacksets(bench: StackSetBench, label: str, endpoint: str) -> None:
    print(f"\n{label}:")
    run = bench.deploy(endpoint)
    accounts = len(bench.members)
    print(
        f"  {'stacksets':<16} {'seconds':>8} {'requests':>9} {'accounts/s':>11} "
        f"{'command CPU s':>14} {'peak MiB':>9}"
    )
    print(
        f"  {'one StackSet':<16} {run.seconds:8.2f} {run.requests:9d} "
        f"{accounts / run.seconds:11.2f} {run.cpu:14.2f} {run.peak_mib:9.0f}   {run.load}"
    )


def compare(bench: Bench, label: str, endpoint: str, concurrency: int) -> float:
    print(f"\n{label}:")
    print(f"  {'mode':<16} {'seconds':>8} {'requests':>9}")
    serial = bench.onboard(endpoint, 1)
    print(f"  {'concurrency 1':<16} {serial.seconds:8.2f} {serial.requests:9d}")
    parallel = bench.onboard(endpoint, concurrency)
    print(
        f"  {f'concurrency {concurrency}':<16} {parallel.seconds:8.2f} {parallel.requests:9d}"
        f"   {load()}"
    )
    speedup = serial.seconds / parallel.seconds
    verdict = "met" if speedup >= TARGET else "NOT met"
    print(f"  speed-up {speedup:.2f}x (target >= {TARGET:g}x): {verdict}")
    return speedup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50, help="member accounts (default 50)")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="the concurrent run's --concurrency"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=40.0,
        help="latency the proxy adds to every request in the second setting (default 40)",
    )
    parser.add_argument("--only", choices=("emulator", "latency"), help="run one setting")
    parser.add_argument(
        "--engine",
        choices=("accounts", "stacksets"),
        default="accounts",
        help="accounts: one role per account, serial vs concurrent (default); stacksets: one "
        "StackSet for the accounts of two OUs",
    )
    parser.add_argument("--priority", action="store_true", help="run ahead of other sessions")
    args = parser.parse_args()
    with priority(args.priority) as how:
        print(how, flush=True)
        if args.engine == "stacksets":
            return main_stacksets(args)
        return main_accounts(args)


def main_accounts(args: argparse.Namespace) -> int:
    """The accounts engine: one account at a time against concurrently, in both settings."""
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # moto's unimplemented-op noise
    members = member_accounts(args.accounts)
    with tempfile.TemporaryDirectory() as tmp, start_sandbox(seed=True) as sandbox:
        bench = Bench(sandbox, Path(tmp), members)
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print(f"{len(members)} member accounts, central bucket and key in {LOG_ACCOUNT}")
        print(f"{' '.join(bench.wizard)} onboard ACCOUNTS --yes --output json --concurrency N")
        if args.only in (None, "emulator"):
            compare(
                bench,
                "emulator (loopback, no added latency)",
                sandbox.endpoint_url,
                args.concurrency,
            )
        if args.only in (None, "latency"):
            with FaultProxy(sandbox.endpoint_url) as proxy:
                proxy.delay(args.latency_ms / 1000)
                compare(
                    bench,
                    f"latency ({args.latency_ms:g} ms added to every request by a proxy)",
                    proxy.url,
                    args.concurrency,
                )
    return 0


def main_stacksets(args: argparse.Namespace) -> int:
    """``--engine stacksets``: one StackSet for every member account, in both settings."""
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    members = member_accounts(args.accounts)
    with tempfile.TemporaryDirectory() as tmp, start_sandbox(seed=True) as sandbox:
        bench = StackSetBench(sandbox, Path(tmp), members)
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print(f"{len(members)} member accounts in 2 OUs, central bucket and key in {LOG_ACCOUNT}")
        print(f"{' '.join(bench.wizard)} onboard ACCOUNTS --engine stacksets --ou OU1 --ou OU2")
        if args.only in (None, "emulator"):
            stacksets(bench, "emulator (loopback, no added latency)", sandbox.endpoint_url)
        if args.only in (None, "latency"):
            with FaultProxy(sandbox.endpoint_url) as proxy:
                proxy.delay(args.latency_ms / 1000)
                stacksets(
                    bench,
                    f"latency ({args.latency_ms:g} ms added to every request by a proxy)",
                    proxy.url,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
