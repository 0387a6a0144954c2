"""Seeding a lab's starting state in the sandbox (:mod:`wizard.labs` says what a lab is).

Starting a lab resets the trainee's sandbox to the demo account, makes the trainee act as the
account's administrator again, then applies the lab's setup steps in order, with boto3 over
HTTP like any client (so the sandbox's strict rules apply to the seed too): buckets, keys and
trails; sandbox users (:mod:`wizard.sandbox.identities`); calls made to have something in the
log files; a delivery; a log file changed after its digest signed it.

Called by the ``lab`` command (a composition root): the labs package itself never imports
the sandbox.
"""

from __future__ import annotations

import functools
import gzip
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.labs.model import Lab, SetupSpec, fill
from wizard.sandbox.identities import IdentityCredentials, create_trainee_identity, use_identity
from wizard.sandbox.rules import DUMMY_CREDENTIALS
from wizard.sandbox.server import DEMO_ACCOUNT, DEMO_REGION
from wizard.sandbox.shared import SharedSandbox

TAMPERED_ADDRESS = "203.0.113.66"
"""The source address a tampered record is given (a documentation address, RFC 5737)."""


@functools.cache
def _boto3_session() -> Any:
    """One boto3 session for the seed's clients (each new session reloads botocore's models)."""
    # boto3 on first use, as the rest of the sandbox does: `lab list` never needs it.
    import boto3

    return boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS.access_key_id,
        aws_secret_access_key=DUMMY_CREDENTIALS.secret_access_key,
        region_name=DEMO_REGION,
    )


_CLIENT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=64)
def _client(endpoint_url: str, service: str, region: str, keys: tuple[str, str] | None) -> Any:
    """A client on the sandbox, signed with ``keys`` (a user's) or the administrator's.

    Kept for the next seed: a lab start is dominated by making clients, and a seed always
    needs the same few.
    """
    # botocore on first use (see _boto3_session)
    import botocore.config

    config = botocore.config.Config(
        retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}
    )
    extra = {} if keys is None else {"aws_access_key_id": keys[0], "aws_secret_access_key": keys[1]}
    # botocore sessions are not thread-safe; clients, once created, are.
    with _CLIENT_LOCK:
        factory: Any = _boto3_session().client
        return factory(
            service, region_name=region, endpoint_url=endpoint_url, config=config, **extra
        )


class LabSeedError(RuntimeError):
    """A setup step of the lab could not be applied; the message names the lab, the step and
    what the sandbox said."""


@dataclass
class Seeded:
    """What seeding did."""

    lab: str
    """The lab's id."""
    identity: str | None = None
    """The sandbox user the trainee now acts as (None: the administrator)."""
    steps: list[str] = field(default_factory=list)
    """One line per setup step applied."""
    credentials: dict[str, IdentityCredentials] = field(default_factory=dict)
    """The access keys of the sandbox users the setup made, by name (a scripted trainee
    signs with them)."""


class _Seeder:
    def __init__(
        self,
        endpoint_url: str,
        lab: Lab,
        *,
        home: Path | None,
        deliver: Callable[[], object],
        account: str,
        region: str,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.lab = lab
        self.home = home
        self.deliver = deliver
        self.account = account
        self.region = region
        self.identities: dict[str, IdentityCredentials] = {}
        self._clients: dict[tuple[str, str, tuple[str, str] | None], Any] = {}
        self.seeded = Seeded(lab=lab.id)

    def client(self, service: str, region: str | None = None, as_user: str | None = None) -> Any:
        keys: tuple[str, str] | None = None
        if as_user is not None:
            credentials = self.identities.get(as_user)
            if credentials is None:
                raise LabSeedError(
                    f"calls are made as {as_user!r}, which no earlier identity step creates: "
                    "add one before the calls step."
                )
            keys = (credentials.access_key_id, credentials.secret_access_key)
        key = (service, region or self.region, keys)
        if key not in self._clients:
            self._clients[key] = _client(self.endpoint_url, service, key[1], keys)
        return self._clients[key]

    def run(self) -> Seeded:
        if self.lab.identity is not None:
            spec = self.lab.identity
            self._identity(
                SetupSpec(
                    kind="identity",
                    name=spec.name,
                    managed=spec.managed,
                    inline=spec.inline,
                    use=True,
                )
            )
        for number, step in enumerate(self.lab.setup, start=1):
            filled = SetupSpec.model_validate(
                fill(step.model_dump(exclude_unset=True), self.account, self.region)
            )
            try:
                getattr(self, f"_{filled.kind}")(filled)
            except LabSeedError as exc:
                raise LabSeedError(
                    f"Lab {self.lab.id}, setup step {number} ({filled.kind}): {exc}"
                ) from None
            except Exception as exc:  # botocore's ClientError and friends: say what AWS said
                raise LabSeedError(
                    f"Lab {self.lab.id}, setup step {number} ({filled.kind}) failed: "
                    f"{_first_line(exc)}. Fix the step in {self.lab.source or 'the lab file'}."
                ) from None
        return self.seeded

    # -------------------------------------------------------------------- the steps

    def _bucket(self, step: SetupSpec) -> None:
        region = step.region or self.region
        s3 = self.client("s3", region)
        name = str(step.name)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if step.policy is not None:
            s3.put_bucket_policy(Bucket=name, Policy=json.dumps(step.policy, indent=2))
        self.seeded.steps.append(f"bucket {name} ({region})")

    def _bucket_policy(self, step: SetupSpec) -> None:
        s3 = self.client("s3")
        region = s3.head_bucket(Bucket=step.bucket).get("BucketRegion") or self.region
        self.client("s3", region).put_bucket_policy(
            Bucket=step.bucket, Policy=json.dumps(step.policy, indent=2)
        )
        self.seeded.steps.append(f"policy of bucket {step.bucket} replaced")

    def _key(self, step: SetupSpec) -> None:
        region = step.region or self.region
        kms = self.client("kms", region)
        params: dict[str, Any] = {"Description": f"Lab {self.lab.id}: {step.alias}"}
        if step.policy is not None:
            params["Policy"] = json.dumps(step.policy, indent=2)
        key_id = kms.create_key(**params)["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=step.alias, TargetKeyId=key_id)
        if step.rotation:
            kms.enable_key_rotation(KeyId=key_id)
        self.seeded.steps.append(f"key {step.alias} ({region})")

    def _trail(self, step: SetupSpec) -> None:
        region = step.region or self.region
        cloudtrail = self.client("cloudtrail", region)
        params: dict[str, Any] = {"Name": step.name, "S3BucketName": step.bucket}
        if step.prefix:
            params["S3KeyPrefix"] = step.prefix
        if step.key:
            key_region = self._key_region(str(step.key), region)
            params["KmsKeyId"] = self.client("kms", key_region).describe_key(KeyId=step.key)[
                "KeyMetadata"
            ]["Arn"]
        if step.validation:
            params["EnableLogFileValidation"] = True
        if step.multi_region:
            params["IsMultiRegionTrail"] = True
        cloudtrail.create_trail(**params)
        if step.logging is not False:
            cloudtrail.start_logging(Name=step.name)
        self.seeded.steps.append(f"trail {step.name} ({region})")

    def _key_region(self, alias: str, default: str) -> str:
        """The region of the key with ``alias`` among the lab's key steps (else ``default``)."""
        for other in self.lab.setup:
            if other.kind == "key" and other.alias == alias:
                return str(fill(other.region, self.account, self.region) or self.region)
        return default

    def _identity(self, step: SetupSpec) -> None:
        name = str(step.name)
        credentials = create_trainee_identity(
            self.endpoint_url,
            name,
            managed=list(step.managed or []),
            inline=step.inline or {},
            account=self.account,
        )
        self.identities[name] = credentials
        self.seeded.credentials[name] = credentials
        line = f"sandbox user {name}"
        if step.use:
            if self.home is None:
                raise LabSeedError("use: true needs the trainee's sandbox home; none was given.")
            use_identity(self.home, credentials)
            self.seeded.identity = name
            line += " (the trainee acts as it)"
        self.seeded.steps.append(line)

    def _calls(self, step: SetupSpec) -> None:
        # botocore's method names (list_buckets) from the API's (ListBuckets)
        from botocore import xform_name

        for call in step.calls or []:
            client = self.client(call.service, call.region, step.identity)
            getattr(client, xform_name(call.operation))(**call.params)
        who = f" as {step.identity}" if step.identity else ""
        self.seeded.steps.append(f"{len(step.calls or [])} call(s){who}")

    def _deliver(self, _step: SetupSpec) -> None:
        self.deliver()
        self.seeded.steps.append("log and digest files delivered")

    def _tamper(self, step: SetupSpec) -> None:
        trail_name = str(step.trail)
        trail = self._find_trail(trail_name)
        bucket = str(trail["S3BucketName"])
        prefix = f"{trail['S3KeyPrefix']}/" if trail.get("S3KeyPrefix") else ""
        root = f"{prefix}AWSLogs/{self.account}/CloudTrail/"
        s3 = self.client("s3")
        region = s3.head_bucket(Bucket=bucket).get("BucketRegion") or self.region
        s3 = self.client("s3", region)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        if not keys:
            raise LabSeedError(
                f"no log file of {trail_name} was delivered yet, so none can be changed: put "
                "a calls step and a deliver step before the tamper step."
            )
        key = secrets.choice(keys)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        document = json.loads(gzip.decompress(body))
        record = document["Records"][0]
        # Someone covers their tracks: the address the call came from is changed.
        record["sourceIPAddress"] = TAMPERED_ADDRESS
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=gzip.compress(json.dumps(document, separators=(",", ":")).encode()),
            ContentType="application/json",
            ContentEncoding="gzip",
        )
        self.seeded.steps.append(f"one log file of {trail_name} changed")

    def _find_trail(self, name: str) -> dict[str, Any]:
        trails = self.client("cloudtrail").describe_trails(trailNameList=[name])["trailList"]
        if not trails:
            raise LabSeedError(f"there is no trail {name}: create it in an earlier trail step.")
        found: dict[str, Any] = trails[0]
        return found


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def seed_lab(
    endpoint_url: str,
    lab: Lab,
    *,
    home: Path | None,
    deliver: Callable[[], object],
    account: str = DEMO_ACCOUNT,
    region: str = DEMO_REGION,
) -> Seeded:
    """Apply ``lab``'s setup to a sandbox that holds the demo account (just reset).

    Args:
        endpoint_url: The sandbox.
        lab: The lab.
        home: The trainee's sandbox home, where the identity they act as is kept (None: the
            lab may not switch identities).
        deliver: Delivers the log and digest files now (the sandbox's ``deliver_now``).
        account: The demo account's id.
        region: The sandbox's region.

    Raises:
        LabSeedError: a step failed (the message names the step and what the sandbox said).
    """
    return _Seeder(
        endpoint_url, lab, home=home, deliver=deliver, account=account, region=region
    ).run()


def start_lab(sandbox: SharedSandbox, lab: Lab) -> Seeded:
    """Reset the shared sandbox to the demo account, act as its administrator, seed ``lab``.

    Raises:
        LabSeedError: a setup step failed.
        wizard.sandbox.shared.SandboxUnavailable: the sandbox did not answer.
    """
    use_identity(sandbox.home, None)
    sandbox.reset(seed=True)
    return seed_lab(sandbox.endpoint_url, lab, home=sandbox.home, deliver=sandbox.deliver_now)


def reset_to_demo(sandbox: SharedSandbox) -> None:
    """The demo account as first seeded, and the trainee its administrator again."""
    use_identity(sandbox.home, None)
    sandbox.reset(seed=True)
