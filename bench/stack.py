"""A seeded sandbox behind a latency proxy, in a process of its own (used by the benches).

The emulator and the proxy are Python too: in the bench's own process they would compete
with the code being timed for the interpreter lock. Here they run in a child process, and
the bench talks to them over HTTP like the wizard talks to AWS.

As a script (the benches start it through :class:`Stack`)::

    python bench/stack.py --latency-ms 60 [--buckets 1000 --bucket-regions 4]
        [--keys 300 --key-regions 3] [--trails 20]

It starts the sandbox (the demo account seeded), adds the big account's resources with
plain boto3 (as their owner would make them), starts the proxy that holds every request
``--latency-ms`` before forwarding it, prints one JSON line (``endpoint``: the proxy;
``direct``: the sandbox; ``seeded``: what was made), then answers commands on stdin, one a
line: ``count`` prints the requests the proxy forwarded since the last ``count``; EOF stops
everything.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ACCOUNT = "123456789012"
"""The sandbox's demo account."""
BUCKET_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")
KEY_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
TRAIL_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
"""Where the trails are homed: AWS allows five trails a region (the demo account's legacy
trail is one of us-west-2's)."""
CLOUDTRAIL = "cloudtrail.amazonaws.com"


def bench_bucket(i: int) -> str:
    """The name of the ``i``th seeded bucket."""
    return f"bench-{i:04d}-{ACCOUNT}"


def bucket_policy(name: str, kind: int) -> dict[str, Any] | None:
    """A third of the buckets let CloudTrail write, a third have another policy, a third none."""
    if kind == 0:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{name}",
                },
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{name}/AWSLogs/{ACCOUNT}/*",
                    "Condition": {
                        "StringEquals": {
                            "s3:x-amz-acl": "bucket-owner-full-control",
                            "aws:SourceAccount": ACCOUNT,
                        }
                    },
                },
            ],
        }
    if kind == 1:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    return None


def key_policy() -> dict[str, Any]:
    """The account's root, and CloudTrail encrypting for the account's trails."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudTrailEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
                        )
                    }
                },
            },
        ],
    }


class Seeder:
    """Makes the big account's resources with plain boto3 clients (one per service/region)."""

    def __init__(self, endpoint: str) -> None:
        import boto3

        self.endpoint = endpoint
        self.session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            if (service, region) not in self._clients:
                make: Any = self.session.client  # the service is chosen at run time
                self._clients[(service, region)] = make(
                    service, region_name=region, endpoint_url=self.endpoint
                )
            return self._clients[(service, region)]

    def create_bucket(self, name: str, region: str) -> None:
        s3 = self.client("s3", region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})

    def buckets(self, count: int, regions: int) -> dict[str, Any]:
        """``count`` buckets spread over ``regions`` regions, a third of them CloudTrail's."""

        def one(i: int) -> bool:
            name = bench_bucket(i)
            region = BUCKET_REGIONS[i % regions]
            self.create_bucket(name, region)
            policy = bucket_policy(name, i % 3)
            if policy is not None:
                self.client("s3", region).put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
            return i % 3 == 0

        with ThreadPoolExecutor(max_workers=8) as pool:
            allows = sum(pool.map(one, range(count)))
        return {"buckets": count, "bucket_regions": regions, "allow_cloudtrail": allows}

    def keys(self, count: int, regions: int) -> dict[str, Any]:
        """``count`` keys over ``regions`` regions: most with an alias, some disabled or
        asymmetric."""

        def one(i: int) -> bool:
            region = KEY_REGIONS[i % regions]
            kms = self.client("kms", region)
            extra: dict[str, Any] = {}
            if i % 25 == 7:
                extra = {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}
            key_id = kms.create_key(Description=f"bench key {i}", **extra)["KeyMetadata"]["KeyId"]
            if i % 5:
                kms.create_alias(AliasName=f"alias/bench-{i:03d}", TargetKeyId=key_id)
            if i % 20 == 3:
                kms.disable_key(KeyId=key_id)
            return not extra and i % 20 != 3

        with ThreadPoolExecutor(max_workers=8) as pool:
            symmetric_enabled = sum(pool.map(one, range(count)))
        return {"keys": count, "key_regions": regions, "usable_kind": symmetric_enabled}

    def trails(self, count: int) -> dict[str, Any]:
        """``count`` logging single-region trails over five regions (a multi-region trail
        would count against every region's five), each with its bucket; every fourth
        encrypts with a key of its bucket's region, every third validates its log files."""

        def one(i: int) -> str:
            region = TRAIL_REGIONS[i % len(TRAIL_REGIONS)]
            bucket = f"bench-trail-{i:02d}-{ACCOUNT}"
            self.create_bucket(bucket, region)
            policy = bucket_policy(bucket, 0)
            self.client("s3", region).put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
            params: dict[str, Any] = {
                "Name": f"bench-trail-{i:02d}",
                "S3BucketName": bucket,
                "EnableLogFileValidation": i % 3 == 0,
            }
            if i % 4 == 1:
                kms = self.client("kms", region)
                key = kms.create_key(Description=f"trail {i}", Policy=json.dumps(key_policy()))
                params["KmsKeyId"] = key["KeyMetadata"]["Arn"]
            cloudtrail = self.client("cloudtrail", region)
            arn = cloudtrail.create_trail(**params)["TrailARN"]
            cloudtrail.start_logging(Name=arn)
            return str(arn)

        with ThreadPoolExecutor(max_workers=4) as pool:
            arns = list(pool.map(one, range(count)))
        return {"trails": len(arns) + 1}  # the demo account's legacy trail too


def serve(args: argparse.Namespace) -> None:
    """Start, seed, print the endpoints, then answer commands until stdin closes."""
    import logging

    from tests.faults.proxy import FaultProxy
    from wizard.sandbox.server import start_sandbox

    logging.disable(logging.WARNING)  # urllib3's pool warnings would garble the JSON line
    sandbox = start_sandbox(seed=True, log_interval=None, digest_interval=None)
    seeder = Seeder(sandbox.endpoint_url)
    seeded: dict[str, Any] = {}
    if args.buckets:
        seeded.update(seeder.buckets(args.buckets, args.bucket_regions))
    if args.keys:
        seeded.update(seeder.keys(args.keys, args.key_regions))
    if args.trails:
        seeded.update(seeder.trails(args.trails))
        sandbox.deliver_now()  # every trail has delivered once: status reads a real state
    proxy = FaultProxy(sandbox.endpoint_url).start()
    if args.latency_ms:
        proxy.delay(args.latency_ms / 1000)
    print(
        json.dumps({"endpoint": proxy.url, "direct": sandbox.endpoint_url, "seeded": seeded}),
        flush=True,
    )
    try:
        for line in sys.stdin:
            if line.strip() == "count":
                print(len(proxy.log), flush=True)
                proxy.clear_log()
    finally:
        proxy.stop()
        sandbox.stop()


class Stack:
    """The child process: ``with Stack(latency_ms=60, buckets=1000) as stack: stack.endpoint``."""

    def __init__(
        self,
        *,
        latency_ms: float,
        buckets: int = 0,
        bucket_regions: int = 4,
        keys: int = 0,
        key_regions: int = 3,
        trails: int = 0,
    ) -> None:
        self.argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            f"--latency-ms={latency_ms:g}",
            f"--buckets={buckets}",
            f"--bucket-regions={bucket_regions}",
            f"--keys={keys}",
            f"--key-regions={key_regions}",
            f"--trails={trails}",
        ]
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""
        """The proxy's URL: point the wizard here."""
        self.direct = ""
        """The sandbox's own URL (no latency): for checking results."""
        self.seeded: dict[str, Any] = {}
        """What was made (counts)."""

    def __enter__(self) -> Stack:
        self.process = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox stack did not start (exit {self.process.wait()})")
        ready = json.loads(line)
        self.endpoint, self.direct, self.seeded = (
            ready["endpoint"],
            ready["direct"],
            ready["seeded"],
        )
        return self

    def requests(self) -> int:
        """Requests the proxy forwarded since the last call."""
        assert self.process is not None and self.process.stdin and self.process.stdout
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def cpu(self) -> float:
        """CPU seconds the sandbox and the proxy have used so far (from /proc)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=60)
    parser.add_argument("--buckets", type=int, default=0)
    parser.add_argument("--bucket-regions", type=int, default=4)
    parser.add_argument("--keys", type=int, default=0)
    parser.add_argument("--key-regions", type=int, default=3)
    parser.add_argument("--trails", type=int, default=0)
    serve(parser.parse_args())


if __name__ == "__main__":
    main()
