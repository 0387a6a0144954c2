"""The embedded sandbox: a local AWS emulator seeded with a demo account.

The sandbox runs moto's server in this process, bound to loopback only, and makes it as
strict as AWS where the wizard's safety depends on it. moto accepts many requests that AWS
refuses (a trail whose bucket policy does not let CloudTrail write, a KMS key in another
region, a bucket named ``My_Bucket``...), so a wizard tested only against plain moto could
pass its tests and still fail, or worse half-apply, against a real account. The strictness
patches below are installed server-side, on moto's backend classes, so that every client,
including the AWS CLI pointed at the sandbox, sees AWS's real error codes and messages.

Importing this module is cheap: moto and boto3 are imported inside the functions that need
them, on first use. moto is the optional ``sandbox`` extra and a quarter-second import, boto3
a tenth of a second: the demo account's names here, and the command line, need neither until a
sandbox starts.

Example:
    >>> with start_sandbox() as sandbox:  # doctest: +SKIP
    ...     s3 = sandbox.client("s3")
    ...     s3.list_buckets()["Buckets"]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import html
import ipaddress
import json
import logging
import re
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from wizard.model.names import (
    check_bucket_name,
    check_prefix,
    check_topic_name,
    check_trail_name,
    parse_arn,
)
from wizard.plan.limits import (
    BUCKET_POLICY_MAX_BYTES,
    KEY_POLICY_MAX_BYTES,
    ROLE_POLICIES_MAX_CHARS,
    ROLE_TRUST_POLICY_MAX_CHARS,
    TAGS_PER_RESOURCE_MAX,
    TOPIC_POLICY_MAX_BYTES,
    TOPIC_POLICY_MAX_STATEMENTS,
    event_selector_problem,
    iam_policy_size,
    policy_bytes,
    s3_policy_size,
    topic_statement_count,
)
from wizard.policy.access import Decision, PolicyFormatError, Principal, Request, evaluate
from wizard.sandbox.delivery import (
    DEFAULT_DIGEST_INTERVAL,
    DEFAULT_LOG_INTERVAL,
    SERVICE,
    DeliveryReport,
    RecordingMiddleware,
    enabled_regions,
    install_delivery_patches,
)
from wizard.sandbox.events import install_event_patches, remove_event_patches
from wizard.sandbox.iam import ADMIN_POLICY_ARN, ADMIN_USER, IamGate, install_iam_patches
from wizard.sandbox.org_trails import install_org_trail_patches
from wizard.sandbox.rules import (
    CLOUDTRAIL,
    DUMMY_CREDENTIALS,
    SandboxCredentials,
    TrailSpec,
    allows,
    json_error,
    partition_of,
    resolve_key,
    source_org_context,
    trail_spec,
)
from wizard.sandbox.stacksets import install_stackset_patches

if TYPE_CHECKING:
    from types import TracebackType

_LOG = logging.getLogger(__name__)

DEMO_ACCOUNT = "123456789012"
"""The sandbox's account id (moto's default account)."""

DEMO_REGION = "us-east-1"
"""The region clients use unless told otherwise."""

DEMO_ROLE = "AppReader"
"""An IAM role the app-data bucket's existing policy grants read access to."""

DEMO_ROLE_ARN = f"arn:aws:iam::{DEMO_ACCOUNT}:role/{DEMO_ROLE}"

DEMO_AUDITOR_ROLE = "SecurityAuditor"
"""An IAM role that reads log files: the decrypt principal of the sse-kms-new-key example
(KMS refuses a key policy naming a role that does not exist)."""

DEMO_AUDITOR_ROLE_ARN = f"arn:aws:iam::{DEMO_ACCOUNT}:role/{DEMO_AUDITOR_ROLE}"

DEMO_APP_BUCKET = f"demo-app-data-{DEMO_ACCOUNT}"
"""A us-east-1 bucket with an unrelated policy that a CloudTrail policy must be merged into."""

DEMO_CENTRAL_BUCKET = f"demo-central-logs-{DEMO_ACCOUNT}"
"""An eu-west-1 bucket whose policy already lets any trail of the account deliver (no prefix)."""

DEMO_LEGACY_BUCKET = f"demo-legacy-trail-logs-{DEMO_ACCOUNT}"
"""The us-west-2 bucket the existing trail delivers to."""

DEMO_BUCKETS: dict[str, str] = {
    DEMO_APP_BUCKET: "us-east-1",
    DEMO_CENTRAL_BUCKET: "eu-west-1",
    DEMO_LEGACY_BUCKET: "us-west-2",
}
"""Seeded bucket names mapped to their regions."""

DEMO_KEY_READY = "alias/cloudtrail-ready"
DEMO_KEY_APP_EU = "alias/app-data-eu"
DEMO_KEY_READY_EU = "alias/cloudtrail-ready-eu"
DEMO_KEY_SIGNING = "alias/signing-key"
DEMO_KEY_RETIRED = "alias/retired-key"

DEMO_KEYS: dict[str, str] = {
    DEMO_KEY_READY: "us-east-1",
    DEMO_KEY_APP_EU: "eu-west-1",
    DEMO_KEY_READY_EU: "eu-west-1",
    DEMO_KEY_SIGNING: "us-east-1",
    DEMO_KEY_RETIRED: "us-east-1",
}
"""Seeded KMS key aliases mapped to the region of their key.

``cloudtrail-ready`` and ``cloudtrail-ready-eu`` are symmetric keys whose policy lets
CloudTrail encrypt; ``app-data-eu`` has the default (root-only) policy; ``signing-key`` is an
RSA_2048 SIGN_VERIFY key and ``retired-key`` a disabled symmetric key, both with a
CloudTrail-ready policy so that their spec or state is the only thing wrong with them.
"""

DEMO_TOPIC = "demo-security-alerts"
"""A us-east-1 SNS topic with the default topic policy (CloudTrail may not publish)."""

DEMO_LOG_GROUP = "demo-existing-group"
"""A us-east-1 CloudWatch Logs group."""

DEMO_TRAIL = "legacy-trail"
"""The existing single-region trail, logging, in :data:`DEMO_TRAIL_REGION`."""

DEMO_TRAIL_REGION = "us-west-2"

DEMO_LOG_ACCOUNT = "777788889999"
"""A second account, the organization's log-archive account (central logging)."""

DEMO_LOG_ROLE_ARN = f"arn:aws:iam::{DEMO_LOG_ACCOUNT}:role/LogArchiveAdmin"
"""A role in :data:`DEMO_LOG_ACCOUNT` whose trust policy lets the demo account assume it."""

DEMO_LOG_BUCKET = f"demo-log-archive-{DEMO_LOG_ACCOUNT}"
"""A us-east-1 bucket of the log-archive account; its policy lets no trail write yet."""


# --------------------------------------------------------------------------------------
# The sandbox itself
# --------------------------------------------------------------------------------------


@dataclass
class Sandbox:
    """A running sandbox: moto's server on a loopback port, strict and (usually) seeded.

    Use :func:`start_sandbox` to create one; stop it with :meth:`stop` or a ``with`` block.
    The emulator's state lives in moto's process-wide backends: two sandboxes in one process
    see the same resources, and :meth:`reset` empties both.
    """

    endpoint_url: str
    """``http://127.0.0.1:PORT``: point every client's ``endpoint_url`` here."""
    host: str
    port: int
    account_id: str = DEMO_ACCOUNT
    region: str = DEMO_REGION
    credentials: SandboxCredentials = DUMMY_CREDENTIALS
    strict: bool = True
    _server: Any = field(default=None, repr=False)
    _delivery: object | None = field(default=None, repr=False)

    def env(self) -> dict[str, str]:
        """Environment variables that point the AWS SDKs and the AWS CLI at the sandbox.

        Merge them into a copy of the environment for a child process; also remove
        ``AWS_PROFILE`` and ``AWS_SESSION_TOKEN`` there, which would otherwise win or leak
        real credentials into the request.
        """
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for ``service`` talking to the sandbox with dummy credentials.

        Args:
            service: The boto3 service name (``s3``, ``cloudtrail``...).
            region: The region to sign requests for; the sandbox's default when omitted.

        Returns:
            A boto3 client (typed ``Any`` so callers need no stubs).
        """
        return _client(self.endpoint_url, service, region or self.region)

    def reset(self, *, seed: bool = True) -> None:
        """Forget every resource (moto's ``/moto-api/reset``), then optionally re-seed.

        The recorded API calls and the log delivery state (pending events, digest chains,
        delivery errors) are forgotten with them; the digest signing key is kept.

        Args:
            seed: Re-create the demo account's resources after the reset.
        """
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        _forget_organization_members()
        if seed:
            seed_demo_account(self.endpoint_url)

    def deliver_now(self) -> DeliveryReport:
        """Deliver CloudTrail log files and digests for every trail now, synchronously.

        Every recorded API call that a logging trail wants is written to its bucket (one
        gzipped log file per trail, account and region), then a digest file for every chain of
        every trail with log file validation on, whatever the intervals. Delivery that AWS
        would refuse (bucket policy, KMS key) is not written: the error shows in
        GetTrailStatus and in the returned report, and the events wait for the next attempt.

        Returns:
            The ``s3://`` URIs written and the errors, per trail ARN.
        """
        return SERVICE.deliver(flush=True)

    def stop(self) -> None:
        """Shut the server down and release its port; safe to call twice."""
        token, self._delivery = self._delivery, None
        if token is not None:
            SERVICE.detach(token)
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            # ThreadedMotoServer.stop() shuts the loop down but leaves the socket open
            # until garbage collection; close it so the port is free at once.
            inner = getattr(server, "_server", None)
            if inner is not None:
                inner.server_close()

    @property
    def running(self) -> bool:
        """True until :meth:`stop` has been called."""
        return self._server is not None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_sandbox(
    *,
    seed: bool = True,
    host: str = "127.0.0.1",
    port: int = 0,
    strict: bool = True,
    log_interval: float | None = DEFAULT_LOG_INTERVAL,
    digest_interval: float | None = DEFAULT_DIGEST_INTERVAL,
) -> Sandbox:
    """Start moto's server in this process, make it strict, and seed the demo account.

    The sandbox records every API call it serves and delivers CloudTrail log files (and,
    with log file validation, signed digest files) into the buckets of logging trails, in
    a background thread (see :mod:`wizard.sandbox.delivery`); :meth:`Sandbox.deliver_now`
    delivers at once.

    Args:
        seed: Create the demo account's resources (see :func:`seed_demo_account`).
        host: The address to bind; it must be a loopback address, because the sandbox
            accepts any credentials and must not be reachable from the network.
        port: The port to bind; 0 picks a free one.
        strict: Install the strictness patches (process-wide, once). With False they are
            not installed, but patches installed earlier in the process stay active.
        log_interval: Seconds between automatic log file deliveries (AWS: about 5 minutes).
            None or 0: only :meth:`Sandbox.deliver_now` delivers.
        digest_interval: Seconds one digest file covers (AWS: one hour). None or 0: digests
            only from :meth:`Sandbox.deliver_now`.

    Returns:
        The running :class:`Sandbox`.

    Raises:
        ValueError: ``host`` is not a loopback address.
        OSError: The server could not bind.
    """
    _require_loopback(host)
    if strict:
        install_strict_patches()
    install_delivery_patches()
    # AWS's managed policies for CloudTrail; GetCallerIdentity names the administrator.
    install_iam_patches()
    # Service-managed StackSets as AWS runs them (wizard.sandbox.stacksets).
    install_stackset_patches()
    # Organization trails: shadow copies, the delegated administrator (wizard.sandbox.org_trails).
    install_org_trail_patches()
    server = _make_server(host, port)
    server.start()
    if server.startup_error is not None:
        raise server.startup_error
    bound_host, bound_port = server.get_host_and_port()
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    sandbox = Sandbox(
        endpoint_url=f"http://{url_host}:{bound_port}",
        host=bound_host,
        port=bound_port,
        strict=strict,
        _server=server,
    )
    sandbox._delivery = SERVICE.attach(log_interval=log_interval, digest_interval=digest_interval)
    if seed:
        try:
            # moto's state is process-wide: whatever an earlier emulator in this process left
            # behind would collide with the seed, so a seeded sandbox always starts clean.
            sandbox.reset(seed=True)
        except BaseException:
            sandbox.stop()
            raise
    return sandbox


def _require_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"The sandbox binds to loopback only (127.0.0.1, ::1 or localhost), not {host!r}: "
            "it accepts any credentials, so it must not be reachable from the network."
        )


def _debug_log(kind: str, message: str, *args: Any) -> None:
    logging.getLogger("wizard.sandbox").debug("%s: %s", kind, message % args if args else message)


def _make_server(host: str, port: int) -> Any:
    """A ThreadedMotoServer that reports bind errors instead of hanging ``start()``.

    moto's ``start()`` waits for an event its thread sets only after a successful bind, so
    a port already in use would block forever.
    """
    # moto on first use (see the module docstring)
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        """Werkzeug logs every request to stderr; the wizard's screen is no place for that."""

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    class SafeServer(ThreadedMotoServer):
        startup_error: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                # Every API call is recorded for the sandbox's CloudTrail log files, a call
                # IAM refuses too (wizard.sandbox.iam: IAM users' policies, the simulator).
                gate = IamGate(DomainDispatcherApplication(create_backend_app))
                app = RecordingMiddleware(gate, SERVICE)
                self._server = make_server(
                    self._ip_address, self._port, app, True, request_handler=QuietHandler
                )
                # werkzeug's server prints a traceback for every request the emulator fails
                # on (an API moto does not implement, among them) right over the wizard's
                # screen; keep them at DEBUG level.
                self._server.log = _debug_log  # type: ignore[method-assign,assignment]
            except BaseException as error:
                self.startup_error = error
                self._server_ready_event.set()
                return
            self._server_ready_event.set()
            self._server.serve_forever()

        def stop(self) -> None:
            if self._server is not None:
                super().stop()

    return SafeServer(ip_address=host, port=port, verbose=False)


def _forget_organization_members() -> None:
    # moto's reset clears each organization but not the process-wide map of member
    # accounts, so a member created before the reset would still look like one.
    from moto.organizations.models import organizations_backends

    organizations_backends.master_accounts.clear()


_SESSION_LOCK = threading.Lock()


@functools.cache
def _session() -> Any:
    """One boto3 session for every sandbox client.

    Creating a session reloads botocore's service models and endpoint data (about 0.1 s per
    client); sharing one makes the seed and per-test resets fast.
    """
    # boto3 on first use, like moto (see the module docstring)
    import boto3
    import botocore.session

    # Ignore AWS_PROFILE: a profile named there that does not exist would make client
    # creation fail, and the sandbox never needs one.
    no_profile = {"profile": (None, None, None, None)}
    return boto3.session.Session(
        botocore_session=botocore.session.Session(session_vars=no_profile),
        aws_access_key_id=DUMMY_CREDENTIALS.access_key_id,
        aws_secret_access_key=DUMMY_CREDENTIALS.secret_access_key,
        region_name=DEMO_REGION,
    )


def _client(endpoint_url: str, service: str, region: str) -> Any:
    # boto3 on first use, like moto (see the module docstring)
    import botocore.config

    config = botocore.config.Config(
        retries={"max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    # botocore sessions are not thread-safe; clients, once created, are.
    with _SESSION_LOCK:
        # The service name is a plain str, which boto3-stubs' per-service overloads reject.
        factory: Any = _session().client
        return factory(service, region_name=region, endpoint_url=endpoint_url, config=config)


# --------------------------------------------------------------------------------------
# Seed
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _seed_client(endpoint_url: str, service: str, region: str, account: str | None = None) -> Any:
    # Re-seeding after every reset (once per test) is dominated by client creation, and the
    # seed always needs the same few clients; they are never handed out, so sharing is safe.
    client = _client(endpoint_url, service, region)
    if account is not None:

        def in_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign", in_account)
    return client


def _tls_only_deny(bucket: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _app_bucket_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AppReaderGetObject",
                "Effect": "Allow",
                "Principal": {"AWS": DEMO_ROLE_ARN},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{DEMO_APP_BUCKET}/*",
            },
            _tls_only_deny(DEMO_APP_BUCKET),
        ],
    }


def _cloudtrail_bucket_policy(bucket: str, condition: dict[str, str]) -> dict[str, Any]:
    """CloudTrail's documented bucket policy (no prefix), guarded by ``condition``."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck20150319",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringEquals": dict(condition)},
            },
            {
                "Sid": "AWSCloudTrailWrite20150319",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{DEMO_ACCOUNT}/*",
                "Condition": {
                    "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **condition}
                },
            },
        ],
    }


def _cloudtrail_key_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "Key policy created by CloudTrail",
        "Statement": [
            {
                "Sid": "Enable IAM user permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Allow CloudTrail to encrypt logs",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:aws:cloudtrail:*:{DEMO_ACCOUNT}:trail/*"
                        )
                    }
                },
            },
            {
                "Sid": "Allow CloudTrail to describe key",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "kms:DescribeKey",
                "Resource": "*",
            },
        ],
    }


def _default_key_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def seed_demo_account(endpoint_url: str) -> None:
    """Create the demo account's resources in the sandbox at ``endpoint_url``.

    Uses boto3 over HTTP with dummy credentials passed explicitly (the environment is not
    touched), so the seed goes through the same strict checks as any client. See the
    ``DEMO_*`` constants for what is created.

    Args:
        endpoint_url: The sandbox's URL.
    """

    def client(service: str, region: str = DEMO_REGION) -> Any:
        return _seed_client(endpoint_url, service, region)

    iam = client("iam")
    # The administrator the dummy credentials stand for (wizard.sandbox.iam): a real user,
    # so IAM's policy simulator answers for it as for any trainee identity.
    iam.create_user(UserName=ADMIN_USER)
    iam.attach_user_policy(UserName=ADMIN_USER, PolicyArn=ADMIN_POLICY_ARN)
    iam.create_role(
        RoleName=DEMO_ROLE,
        Description="Reads objects from the demo app-data bucket.",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    iam.create_role(
        RoleName=DEMO_AUDITOR_ROLE,
        Description="Reads CloudTrail log files (people of the account assume it).",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )

    for bucket, region in DEMO_BUCKETS.items():
        s3 = client("s3", region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
    legacy_trail_arn = f"arn:aws:cloudtrail:{DEMO_TRAIL_REGION}:{DEMO_ACCOUNT}:trail/{DEMO_TRAIL}"
    policies = {
        DEMO_APP_BUCKET: _app_bucket_policy(),
        DEMO_CENTRAL_BUCKET: _cloudtrail_bucket_policy(
            DEMO_CENTRAL_BUCKET, {"aws:SourceAccount": DEMO_ACCOUNT}
        ),
        DEMO_LEGACY_BUCKET: _cloudtrail_bucket_policy(
            DEMO_LEGACY_BUCKET, {"aws:SourceArn": legacy_trail_arn}
        ),
    }
    for bucket, policy in policies.items():
        client("s3", DEMO_BUCKETS[bucket]).put_bucket_policy(
            Bucket=bucket, Policy=json.dumps(policy)
        )

    keys: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (DEMO_KEY_READY, _cloudtrail_key_policy(), {}),
        (DEMO_KEY_APP_EU, _default_key_policy(), {}),
        (DEMO_KEY_READY_EU, _cloudtrail_key_policy(), {}),
        (
            DEMO_KEY_SIGNING,
            _cloudtrail_key_policy(),
            {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"},
        ),
        (DEMO_KEY_RETIRED, _cloudtrail_key_policy(), {}),
    ]
    for alias, policy, spec in keys:
        kms = client("kms", DEMO_KEYS[alias])
        key_id = kms.create_key(Description=f"Demo key {alias}", Policy=json.dumps(policy), **spec)[
            "KeyMetadata"
        ]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        if alias == DEMO_KEY_RETIRED:
            kms.disable_key(KeyId=key_id)

    client("sns").create_topic(Name=DEMO_TOPIC)
    client("logs").create_log_group(logGroupName=DEMO_LOG_GROUP)

    cloudtrail = client("cloudtrail", DEMO_TRAIL_REGION)
    cloudtrail.create_trail(Name=DEMO_TRAIL, S3BucketName=DEMO_LEGACY_BUCKET)
    cloudtrail.start_logging(Name=DEMO_TRAIL)
    _seed_log_archive(endpoint_url)


def _seed_log_archive(endpoint_url: str) -> None:
    """The log-archive account: a role the demo account may assume, and a central bucket.

    The requests name the account in moto's ``x-moto-account-id`` header, so the seed needs
    no credentials of that account (the wizard reaches it with STS AssumeRole, as in AWS).
    """
    iam = _seed_client(endpoint_url, "iam", DEMO_REGION, DEMO_LOG_ACCOUNT)
    iam.create_role(
        RoleName=DEMO_LOG_ROLE_ARN.rpartition("/")[2],
        Description="Lets the demo account manage the central log bucket's policy.",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    s3 = _seed_client(endpoint_url, "s3", DEMO_REGION, DEMO_LOG_ACCOUNT)
    s3.create_bucket(Bucket=DEMO_LOG_BUCKET)
    s3.put_bucket_policy(
        Bucket=DEMO_LOG_BUCKET,
        Policy=json.dumps(
            {"Version": "2012-10-17", "Statement": [_tls_only_deny(DEMO_LOG_BUCKET)]}
        ),
    )


# --------------------------------------------------------------------------------------
# Strictness patches
# --------------------------------------------------------------------------------------

_PATCH_LOCK = threading.Lock()
_ORIGINALS: dict[tuple[Any, str], Any] = {}


def strict_patches_installed() -> bool:
    """True when :func:`install_strict_patches` has run in this process."""
    return bool(_ORIGINALS)


def install_strict_patches() -> None:
    """Make moto's backends refuse what AWS refuses (idempotent, process-wide).

    Each patch wraps one moto method: it validates, raises AWS's error code and message
    when AWS would refuse, and otherwise calls moto's original method.
    """
    with _PATCH_LOCK:
        if _ORIGINALS:
            return
        # moto on first use (see the module docstring)
        from moto.cloudtrail.models import CloudTrailBackend, Trail
        from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
        from moto.iam.models import IAMBackend
        from moto.iam.models import User as IAMUser
        from moto.kms import models as kms_models
        from moto.kms import responses as kms_responses
        from moto.kms.models import KmsBackend
        from moto.kms.responses import KmsResponse
        from moto.logs.models import LogsBackend
        from moto.s3.models import FakeBucket, S3Backend
        from moto.s3.responses import S3Response
        from moto.sns.models import SNSBackend

        patches: list[tuple[Any, str, Callable[[Any], Any]]] = [
            (CloudTrailBackend, "create_trail", _wrap_create_trail),
            (CloudTrailBackend, "update_trail", _wrap_update_trail),
            (CloudTrailBackend, "start_logging", _wrap_home_region),
            (CloudTrailBackend, "stop_logging", _wrap_home_region),
            (CloudTrailBackend, "put_event_selectors", _wrap_put_event_selectors),
            (CloudTrailBackend, "put_insight_selectors", _wrap_home_region),
            (CloudTrailBackend, "get_insight_selectors", _wrap_get_insight_selectors),
            (Trail, "put_event_selectors", _wrap_trail_put_event_selectors),
            (Trail, "put_insight_selectors", _wrap_trail_put_insight_selectors),
            (Trail, "description", _wrap_trail_description),
            (CloudTrailBackend, "delete_trail", _wrap_delete_trail),
            (CloudTrailBackend, "list_trails", _wrap_list_trails),
            (Trail, "check_topic_exists", _wrap_check_topic_exists),
            (S3Backend, "create_bucket", _wrap_create_bucket),
            (S3Backend, "put_bucket_policy", _wrap_put_bucket_policy),
            (S3Backend, "put_bucket_logging", _wrap_put_bucket_logging),
            (S3Backend, "put_object_lock_configuration", _wrap_put_object_lock_configuration),
            (S3Backend, "put_bucket_lifecycle_configuration", _wrap_put_bucket_lifecycle),
            (FakeBucket, "_log_permissions_enabled_policy", _wrap_log_permissions_policy),
            (FakeBucket, "get_permission", _wrap_bucket_permission),
            (S3Response, "_bucket_response_put", _wrap_bucket_put_request_payment),
            (S3Response, "_bucket_response_get", _wrap_bucket_get_request_payment),
            (S3Response, "_bucket_response", _wrap_create_bucket_tags),
            (S3Response, "all_buckets", _wrap_list_buckets),
            (KmsBackend, "create_key", _wrap_create_key),
            (KmsBackend, "put_key_policy", _wrap_put_key_policy),
            (KmsResponse, "_set_alias", _wrap_set_alias),
            (kms_responses, "validate_policy", _wrap_validate_key_policy),
            (SNSBackend, "create_topic", _wrap_create_topic),
            (SNSBackend, "set_topic_attribute", _wrap_set_topic_attribute),
            (IAMBackend, "create_role", _wrap_create_role),
            (IAMUser, "__init__", _wrap_user_init),
            # AWS size and count limits (see that section below).
            (IAMBackend, "update_assume_role_policy", _wrap_update_assume_role_policy),
            (IAMBackend, "put_role_policy", _wrap_put_role_policy),
            (CloudTrailBackend, "add_tags", _wrap_trail_add_tags),
            (KmsBackend, "tag_resource", _wrap_kms_tag_resource),
            (S3Backend, "put_bucket_tagging", _wrap_put_bucket_tagging),
            (LogsBackend, "create_log_group", _wrap_create_log_group),
            (LogsBackend, "tag_resource", _wrap_logs_tag_resource),
            (RegionsAndZonesBackend, "describe_regions", _wrap_describe_regions),
            # Not a strictness patch: it makes CreateKey fast (see _lazy_private_key).
            (kms_models, "generate_private_key", _lazy_private_key),
        ]
        for cls, name, make_wrapper in patches:
            original = cls.__dict__[name]
            wrapper = make_wrapper(original)
            if isinstance(wrapper, staticmethod):
                functools.update_wrapper(wrapper.__func__, original.__func__)
            else:
                functools.update_wrapper(wrapper, original)
            _ORIGINALS[(cls, name)] = original
            setattr(cls, name, wrapper)
        # moto builds a topic ARN from SnsTopicName even when it already is an ARN; the
        # property is replaced (not wrapped) because it has no method to call through.
        _ORIGINALS[(Trail, "topic_arn")] = Trail.__dict__["topic_arn"]
        Trail.topic_arn = property(_trail_topic_arn)  # type: ignore[assignment,method-assign]
        # Selectors, Insights and aggregation as CloudTrail refuses and keeps them; installed
        # last (it wraps the patches above) and so removed first.
        install_event_patches()


def remove_strict_patches() -> None:
    """Restore moto's original methods (for tests that need plain moto)."""
    remove_event_patches()
    with _PATCH_LOCK:
        for (cls, name), original in _ORIGINALS.items():
            setattr(cls, name, original)
        _ORIGINALS.clear()


# ---- error helpers -------------------------------------------------------------------


def _s3_error(code: str, message: str) -> Exception:
    # moto on first use (see the module docstring)
    from moto.s3.exceptions import S3ClientError

    error: Exception = S3ClientError(code, message)
    return error


# ---- policy helpers ------------------------------------------------------------------

_NOT_JSON = "Policies must be valid JSON and the first byte must be '{'"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_problem(
    text: str | bytes | None, *, need_principal: bool, need_resource: bool = True
) -> tuple[dict[str, Any] | None, str | None]:
    """Parse a policy document and check the grammar AWS enforces on every policy.

    Returns:
        ``(document, None)`` when the policy is well formed, else ``(None, problem)``.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not text or not text.lstrip().startswith("{"):
        return None, _NOT_JSON
    try:
        document = json.loads(text)
    except ValueError:
        return None, _NOT_JSON
    if not isinstance(document, dict):
        return None, _NOT_JSON
    if "Statement" not in document:
        return None, "Missing required field Statement"
    statements = _as_list(document["Statement"])
    if not statements:
        return None, "Missing required field Statement"
    for statement in statements:
        if not isinstance(statement, dict):
            return None, "Each statement must be a JSON object"
        effect = statement.get("Effect")
        if effect is None:
            return None, "Missing required field Effect"
        if effect not in ("Allow", "Deny"):
            return None, f"Invalid effect: {effect}"
        if "Action" not in statement and "NotAction" not in statement:
            return None, "Missing required field Action"
        if need_principal and "Principal" not in statement and "NotPrincipal" not in statement:
            return None, "Missing required field Principal"
        if need_resource and "Resource" not in statement and "NotResource" not in statement:
            return None, "Missing required field Resource"
    # The CloudTrail checks read stored policies with the access evaluator, so a document
    # its grammar refuses (unknown elements, principal shapes, value types...) is refused
    # here too, instead of being stored and failing later.
    probe = Request(
        principal=Principal(kind="service", id=CLOUDTRAIL),
        action="s3:GetObject",
        resource="*",
        context={},
    )
    try:
        evaluate(document, probe)
    except PolicyFormatError as error:
        return None, str(error)
    return document, None


# ---- CloudTrail ----------------------------------------------------------------------

_ALL_FIELDS = frozenset(
    {"bucket", "prefix", "sns", "global", "multi_region", "organization", "cw", "kms"}
)


def _wrap_create_trail(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_trail(
        self: Any,
        name: str,
        bucket_name: str,
        s3_key_prefix: str | None,
        sns_topic_name: str | None,
        is_global: bool,
        is_multi_region: bool,
        log_validation: bool,
        is_org_trail: bool,
        cw_log_group_arn: str | None,
        cw_role_arn: str | None,
        kms_key_id: str | None,
        tags_list: list[dict[str, str]],
    ) -> Any:
        problem = check_trail_name(name or "")
        if problem:
            raise json_error("InvalidTrailNameException", problem)
        visible = list(self.describe_trails(include_shadow_trails=True))
        clash = [t for t in visible if t.trail_name == name]
        if is_multi_region:
            # A multi-region trail is copied into every region, so a same-named trail in any
            # region of the account collides with one of the copies.
            clash += [t for t in _account_trails(self.account_id) if t.trail_name == name]
        if clash:
            raise json_error(
                "TrailAlreadyExistsException",
                f"Trail {name} already exists for customer: {self.account_id}",
            )
        if len(visible) >= 5:
            raise json_error(
                "MaximumNumberOfTrailsExceededException",
                f"User: {self.account_id} already has 5 trails in {self.region_name}.",
            )
        spec = TrailSpec(
            account=self.account_id,
            region=self.region_name,
            partition=partition_of(self.region_name),
            name=name,
            bucket=bucket_name or "",
            prefix=s3_key_prefix,
            sns_topic=sns_topic_name,
            include_global=is_global,
            multi_region=is_multi_region,
            organization=is_org_trail,
            cw_group_arn=cw_log_group_arn,
            cw_role_arn=cw_role_arn,
            kms_key_id=kms_key_id,
        )
        _refuse_trail_tags(tags_list)
        _validate_trail(spec, _ALL_FIELDS)
        return original(
            self,
            name,
            bucket_name,
            s3_key_prefix,
            sns_topic_name,
            is_global,
            is_multi_region,
            log_validation,
            is_org_trail,
            cw_log_group_arn,
            cw_role_arn,
            kms_key_id,
            tags_list,
        )

    return create_trail


def _wrap_update_trail(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_trail(
        self: Any,
        name: str,
        s3_bucket_name: str | None,
        s3_key_prefix: str | None,
        sns_topic_name: str | None,
        include_global_service_events: bool | None,
        is_multi_region_trail: bool | None,
        enable_log_file_validation: bool | None,
        is_organization_trail: bool | None,
        cw_log_group_arn: str | None,
        cw_role_arn: str | None,
        kms_key_id: str | None,
    ) -> Any:
        trail = _home_trail(self, name)
        changes: dict[str, Any] = {
            "bucket": s3_bucket_name,
            "prefix": s3_key_prefix,
            "sns_topic": sns_topic_name,
            "include_global": include_global_service_events,
            "multi_region": is_multi_region_trail,
            "organization": is_organization_trail,
            "cw_group_arn": cw_log_group_arn,
            "cw_role_arn": cw_role_arn,
            "kms_key_id": kms_key_id,
        }
        current = trail_spec(trail)
        spec = replace(current, **{k: v for k, v in changes.items() if v is not None})
        field_of = {
            "bucket": "bucket",
            "prefix": "prefix",
            "sns_topic": "sns",
            "include_global": "global",
            "multi_region": "multi_region",
            "organization": "organization",
            "cw_group_arn": "cw",
            "cw_role_arn": "cw",
            "kms_key_id": "kms",
        }
        changed = frozenset(field_of[k] for k, v in changes.items() if v is not None)
        _validate_trail(spec, changed)
        updated = original(
            self,
            name=name,
            s3_bucket_name=s3_bucket_name,
            s3_key_prefix=s3_key_prefix,
            sns_topic_name=sns_topic_name,
            include_global_service_events=include_global_service_events,
            is_multi_region_trail=is_multi_region_trail,
            enable_log_file_validation=enable_log_file_validation,
            is_organization_trail=is_organization_trail,
            cw_log_group_arn=cw_log_group_arn,
            cw_role_arn=cw_role_arn,
            kms_key_id=kms_key_id,
        )
        # An empty string removes the setting (no prefix, no topic, SSE-S3, no CloudWatch
        # Logs), and AWS's GetTrail then leaves it out; moto kept "" as the value.
        for attribute in _REMOVABLE_TRAIL_SETTINGS:
            if getattr(trail, attribute, None) == "":
                setattr(trail, attribute, None)
        return updated

    return update_trail


_REMOVABLE_TRAIL_SETTINGS = (
    "s3_key_prefix",
    "sns_topic_name",
    "cw_log_group_arn",
    "cw_role_arn",
    "kms_key_id",
)
"""Trail settings UpdateTrail removes when given an empty string."""


def _validate_trail(spec: TrailSpec, changed: frozenset[str]) -> None:
    """Raise AWS's error for the first problem with the settings in ``changed``."""
    if changed & {"global", "multi_region"} and spec.multi_region and not spec.include_global:
        raise json_error(
            "InvalidParameterCombinationException",
            "Multi-Region trail must include global service events.",
        )
    if "prefix" in changed and spec.prefix:
        problem = check_prefix(spec.prefix)
        if problem:
            raise json_error("InvalidS3PrefixException", problem)
    if "cw" in changed:
        _check_cloudwatch_pairing(spec)
    org_id: str | None = None
    if spec.organization and changed & {"organization", "bucket", "prefix"}:
        org_id = _check_organization(spec)
    if changed & {"bucket", "prefix", "organization", "kms"}:
        bucket = _check_bucket_exists(spec)
        if changed & {"bucket", "prefix", "organization"}:
            _check_bucket_policy(spec, bucket, org_id)
        if spec.kms_key_id and changed & {"kms", "bucket"}:
            _check_kms_key(spec, bucket)
    if "sns" in changed and spec.sns_topic:
        _check_sns_topic(spec)
    if "cw" in changed:
        _check_cloudwatch_targets(spec)


def _account_trails(account: str) -> Iterator[Any]:
    # moto on first use (see the module docstring)
    from moto.cloudtrail.models import cloudtrail_backends

    for backend in list(cloudtrail_backends[account].values()):
        yield from list(backend.trails.values())


def _home_trail(backend: Any, name_or_arn: str) -> Any:
    """The trail, looked up the way moto does, refusing calls outside its home region."""
    # moto on first use (see the module docstring)
    from moto.cloudtrail.exceptions import TrailNotFoundException

    try:
        return backend.get_trail(name_or_arn)
    except TrailNotFoundException:
        for trail in _account_trails(backend.account_id):
            if trail.region_name == backend.region_name:
                continue
            if name_or_arn not in (trail.trail_name, trail.arn):
                continue
            # A multi-region trail is visible (as a shadow copy) everywhere; a single-region
            # trail is visible elsewhere only by its ARN.
            if trail.is_multi_region or name_or_arn == trail.arn:
                raise json_error(
                    "InvalidHomeRegionException",
                    f"The trail {trail.arn} can only be changed in its home region "
                    f"{trail.region_name}; this request was sent to {backend.region_name}.",
                ) from None
        raise


def _wrap_home_region(original: Callable[..., Any]) -> Callable[..., Any]:
    def home_region_only(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = args[0] if args else kwargs.get("name", kwargs.get("trail_name"))
        _home_trail(self, str(name or ""))
        return original(self, *args, **kwargs)

    return home_region_only


def _wrap_put_event_selectors(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_event_selectors(
        self: Any,
        trail_name: str,
        event_selectors: list[dict[str, Any]] | None,
        advanced_event_selectors: list[dict[str, Any]] | None,
    ) -> Any:
        if event_selectors and advanced_event_selectors:
            raise json_error(
                "InvalidParameterCombinationException",
                "You cannot apply both event selectors and advanced event selectors to a trail.",
            )
        _home_trail(self, trail_name or "")
        _refuse_bad_selector_counts(event_selectors, advanced_event_selectors)
        return original(
            self,
            trail_name=trail_name,
            event_selectors=event_selectors,
            advanced_event_selectors=advanced_event_selectors,
        )

    return put_event_selectors


def _wrap_trail_put_event_selectors(original: Callable[..., Any]) -> Callable[..., Any]:
    # AWS keeps one kind of selectors: basic ones replace advanced ones and the other way
    # round (moto kept the advanced selectors when basic ones were put).
    def put_event_selectors(
        self: Any,
        event_selectors: list[dict[str, Any]] | None,
        advanced_event_selectors: list[dict[str, Any]] | None,
    ) -> None:
        original(self, event_selectors, advanced_event_selectors)
        if event_selectors:
            self.advanced_event_selectors = []

    return put_event_selectors


def _wrap_trail_put_insight_selectors(original: Callable[..., Any]) -> Callable[..., Any]:
    # PutInsightSelectors replaces the trail's Insights types (an empty list turns Insights
    # off); moto appended to them.
    def put_insight_selectors(self: Any, insight_selectors: list[dict[str, str]] | None) -> None:
        self.insight_selectors = []
        original(self, list(insight_selectors or []))

    return put_insight_selectors


def _wrap_trail_description(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto always answers False; AWS says whether selectors were put on the trail.
    def description(self: Any, include_region: bool = False) -> dict[str, Any]:
        described = dict(original(self, include_region))
        described["HasCustomEventSelectors"] = bool(
            self.event_selectors or self.advanced_event_selectors
        )
        described["HasInsightSelectors"] = bool(self.insight_selectors)
        return described

    return description


def _wrap_get_insight_selectors(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_insight_selectors(self: Any, trail_name: str) -> Any:
        trail_arn, selectors = original(self, trail_name)
        if not selectors:
            raise json_error(
                "InsightNotEnabledException",
                f"Trail {trail_arn} does not have Insights enabled: "
                "PutInsightSelectors turns them on.",
            )
        return trail_arn, selectors

    return get_insight_selectors


def _wrap_list_trails(original: Callable[..., Any]) -> Callable[..., Any]:
    def list_trails(self: Any) -> Any:
        # AWS's ListTrails answers for every region of the account (each entry names its
        # HomeRegion); moto lists only what one region sees.
        from moto.cloudtrail.models import cloudtrail_backends

        backends = cloudtrail_backends[self.account_id]
        return [trail for backend in backends.values() for trail in backend.trails.values()]

    return list_trails


def _wrap_delete_trail(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_trail(self: Any, name: str) -> Any:
        # moto deletes by name only and ignores unknown trails; AWS accepts an ARN and
        # answers TrailNotFoundException for an unknown trail.
        trail = _home_trail(self, name or "")
        return original(self, trail.trail_name)

    return delete_trail


def _trail_topic_arn(trail: Any) -> str | None:
    topic = trail.sns_topic_name
    if not topic:
        return None
    if str(topic).startswith("arn:"):
        return str(topic)
    return (
        f"arn:{partition_of(trail.region_name)}:sns:{trail.region_name}:{trail.account_id}:{topic}"
    )


def _wrap_check_topic_exists(original: Callable[..., Any]) -> Callable[..., Any]:
    del original  # replaced: moto's version looks topic ARNs up in the wrong place

    def check_topic_exists(self: Any) -> None:
        arn = _trail_topic_arn(self)
        if arn and _find_topic(arn) is None:
            raise json_error(
                "InsufficientSnsTopicPolicyException",
                "SNS Topic does not exist or the topic policy is incorrect!",
            )

    return check_topic_exists


def _find_topic(arn: str) -> Any:
    # moto on first use (see the module docstring)
    from moto.sns.models import sns_backends

    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "sns":
        return None
    try:
        return sns_backends[parsed.account][parsed.region].topics.get(arn)
    except (KeyError, ValueError):
        return None


def _check_organization(spec: TrailSpec) -> str:
    """The organization id, or AWS's error when the caller may not create org trails."""
    # moto on first use (see the module docstring)
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[spec.account][spec.partition]
    org = backend.org
    if org is None:
        if spec.account in organizations_backends.master_accounts:
            raise json_error(
                "NotOrganizationMasterAccountException",
                f"This operation can be performed only by the management account of the "
                f"organization; account {spec.account} is a member account.",
            )
        raise json_error(
            "OrganizationsNotInUseException",
            f"Account {spec.account} is not in an organization; create one (AWS "
            "Organizations, all features) before creating an organization trail.",
        )
    if org.feature_set != "ALL":
        raise json_error(
            "OrganizationNotInAllFeaturesModeException",
            f"Organization {org.id} does not have all features enabled.",
        )
    if not any(s.get("ServicePrincipal") == CLOUDTRAIL for s in backend.services):
        raise json_error(
            "CloudTrailAccessNotEnabledException",
            f"Trusted access for {CLOUDTRAIL} is not enabled in organization {org.id}; "
            "enable it (organizations enable-aws-service-access) first.",
        )
    return str(org.id)


def _check_bucket_exists(spec: TrailSpec) -> Any:
    # moto on first use (see the module docstring)
    from moto.s3.models import s3_backends

    problem = check_bucket_name(spec.bucket)
    if problem:
        raise json_error("InvalidS3BucketNameException", problem)
    try:
        return s3_backends[spec.account][spec.partition].get_bucket(spec.bucket)
    except Exception:
        # MissingBucket, or a cross-account bucket moto is told to hide.
        raise json_error(
            "S3BucketDoesNotExistException", f"S3 bucket {spec.bucket} does not exist!"
        ) from None


def _check_bucket_policy(spec: TrailSpec, bucket: Any, org_id: str | None) -> None:
    bucket_arn = f"arn:{spec.partition}:s3:::{spec.bucket}"
    refused = f"Incorrect S3 bucket policy is detected for bucket: {spec.bucket}"
    if getattr(bucket, "payer", "BucketOwner") == "Requester":
        raise json_error(
            "InsufficientS3BucketPolicyException",
            f"{refused}. It is a Requester Pays bucket; CloudTrail cannot deliver log files "
            "to Requester Pays buckets.",
        )
    context: dict[str, Any] = {
        "aws:SourceArn": spec.arn,
        "aws:SourceAccount": spec.account,
        "aws:SecureTransport": True,
        **source_org_context(spec.account, spec.partition),
    }
    probe = (
        f"CloudTrail/{spec.region}/2024/01/01/"
        f"{spec.account}_CloudTrail_{spec.region}_20240101T0000Z_sandboxprobe.json.gz"
    )
    paths = [spec.log_path(spec.account) + probe]
    if spec.organization and org_id:
        paths.append(spec.log_path(f"{org_id}/{spec.account}") + probe)
    put_context = {**context, "s3:x-amz-acl": "bucket-owner-full-control"}
    allowed = allows(bucket.policy, "s3:GetBucketAcl", bucket_arn, context) and all(
        allows(bucket.policy, "s3:PutObject", f"{bucket_arn}/{path}", put_context) for path in paths
    )
    if not allowed:
        raise json_error("InsufficientS3BucketPolicyException", refused)


def _check_kms_key(spec: TrailSpec, bucket: Any) -> None:
    key = resolve_key(spec, str(bucket.region_name))
    usage = key.key_usage or "ENCRYPT_DECRYPT"  # moto leaves it None when not given
    if key.key_spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        raise json_error(
            "InvalidKmsKeyIdException",
            f"KMS key {key.arn} is a {key.key_spec} key for {usage}; CloudTrail "
            "supports only symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT).",
        )
    if key.key_state != "Enabled":
        raise json_error(
            "KmsException",
            f"KMS key {key.arn} is {key.key_state}; CloudTrail needs an enabled key.",
        )
    context = {
        "aws:SourceArn": spec.arn,
        "aws:SourceAccount": spec.account,
        **source_org_context(spec.account, spec.partition),
        "kms:EncryptionContext:aws:cloudtrail:arn": spec.arn,
        "kms:EncryptionContext:aws:s3:arn": (
            f"arn:{spec.partition}:s3:::{spec.bucket}/{spec.log_path(spec.account)}"
        ),
    }
    if not (
        allows(key.policy, "kms:GenerateDataKey", key.arn, context)
        and allows(key.policy, "kms:DescribeKey", key.arn, context)
    ):
        raise json_error(
            "InsufficientEncryptionPolicyException",
            f"Insufficient permissions to access S3 bucket {spec.bucket} or KMS key {key.arn}.",
        )


def _check_sns_topic(spec: TrailSpec) -> None:
    topic_ref = spec.sns_topic or ""
    if topic_ref.startswith("arn:"):
        arn = topic_ref
        parsed = parse_arn(arn)
        if parsed is None or parsed.service != "sns" or check_topic_name(parsed.resource):
            raise json_error(
                "InvalidSnsTopicNameException", f"{topic_ref} is not a valid SNS topic ARN."
            )
    else:
        problem = check_topic_name(topic_ref)
        if problem:
            raise json_error("InvalidSnsTopicNameException", problem)
        arn = f"arn:{spec.partition}:sns:{spec.region}:{spec.account}:{topic_ref}"
    topic = _find_topic(arn)
    context = {"aws:SourceArn": spec.arn, "aws:SourceAccount": spec.account}
    if topic is None or not allows(topic.policy, "SNS:Publish", arn, context):
        raise json_error(
            "InsufficientSnsTopicPolicyException",
            "SNS Topic does not exist or the topic policy is incorrect!",
        )


_BAD_GROUP = "Check the log group ARN: CloudTrail can't validate it."


def _check_cloudwatch_pairing(spec: TrailSpec) -> None:
    group, role = spec.cw_group_arn or "", spec.cw_role_arn or ""
    if bool(group) != bool(role):
        raise json_error(
            "InvalidCloudWatchLogsLogGroupArnException",
            "You must specify a CloudWatch Logs log group ARN and a role ARN together.",
        )
    if group and not group.endswith(":*"):
        raise json_error(
            "InvalidCloudWatchLogsLogGroupArnException",
            f"{_BAD_GROUP} The ARN must end with ':*' "
            f"(arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*); got {group}.",
        )


def _check_cloudwatch_targets(spec: TrailSpec) -> None:
    # moto on first use (see the module docstring)
    from moto.iam.models import iam_backends
    from moto.logs.models import logs_backends

    group, role_arn = spec.cw_group_arn or "", spec.cw_role_arn or ""
    if not group:
        return
    parsed = parse_arn(group)
    match = re.fullmatch(r"log-group:(.+):\*", parsed.resource) if parsed else None
    found = None
    if parsed is not None and match and parsed.service == "logs" and parsed.account == spec.account:
        found = logs_backends[parsed.account][parsed.region].groups.get(match.group(1))
    if found is None:
        raise json_error(
            "InvalidCloudWatchLogsLogGroupArnException",
            f"{_BAD_GROUP} No log group {group} exists in account {spec.account}.",
        )
    role_parsed = parse_arn(role_arn)
    role = None
    if role_parsed is not None and role_parsed.service == "iam":
        try:
            role = iam_backends[role_parsed.account][spec.partition].get_role_by_arn(role_arn)
        except Exception:
            role = None
    if role is None:
        raise json_error(
            "InvalidCloudWatchLogsRoleArnException",
            f"Role {role_arn} does not exist in account {spec.account}.",
        )
    # CloudTrail is not documented to send aws:SourceArn / aws:SourceAccount when it
    # assumes the delivery role (AWS's trust policy for it has no condition), so a trust
    # policy that requires them is refused, as wizard.plan.review.role_probes decides.
    if not allows(_trust_as_resource_policy(role), "sts:AssumeRole", role_arn, {}):
        raise json_error(
            "InvalidCloudWatchLogsRoleArnException",
            f"Access denied. Check the trust policy of role {role_arn}: it must let "
            f"{CLOUDTRAIL} call sts:AssumeRole.",
        )


def _trust_as_resource_policy(role: Any) -> str | dict[str, Any] | None:
    """The role's trust policy with the role as each statement's Resource.

    A trust policy has no Resource element (it always governs the role it is attached to),
    but the evaluator, like AWS for other resource policies, ignores statements without one.
    """
    text = role.assume_role_policy_document
    try:
        document = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return str(text)
    if not isinstance(document, dict):
        return str(text)
    statements = [
        {**statement, "Resource": role.arn}
        if isinstance(statement, dict) and not {"Resource", "NotResource"} & statement.keys()
        else statement
        for statement in _as_list(document.get("Statement", []))
    ]
    return {**document, "Statement": statements}


# ---- S3 ------------------------------------------------------------------------------


def _wrap_create_bucket(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_bucket(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        problem = check_bucket_name(bucket_name)
        if problem:
            _LOG.info("CreateBucket refused: %s", problem)
            raise _s3_error("InvalidBucketName", "The specified bucket is not valid.")
        return original(self, bucket_name, *args, **kwargs)

    return create_bucket


def _wrap_put_bucket_policy(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_bucket_policy(self: Any, bucket_name: str, policy: bytes) -> Any:
        bucket = self.get_bucket(bucket_name)
        _refuse_large_bucket_policy(policy)
        document, problem = _policy_problem(policy, need_principal=True)
        if document is not None:
            problem = _s3_policy_scope_problem(document, bucket_name, str(bucket.partition))
        if problem:
            raise _s3_error("MalformedPolicy", problem)
        return original(self, bucket_name, policy)

    return put_bucket_policy


def _wrap_put_bucket_logging(original: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse an access log target with an Object Lock default retention, as AWS does.

    AWS does not deliver server access logs into a bucket with a default retention period;
    moto accepts it.
    """

    def put_bucket_logging(self: Any, bucket_name: str, logging_config: dict[str, Any]) -> Any:
        if logging_config:
            target = self.buckets.get(logging_config.get("TargetBucket"))
            if target is not None and target.object_lock_enabled and target.default_lock_mode:
                raise _s3_error(
                    "InvalidTargetBucketForLogging",
                    "The target bucket for logging must not have a default retention period "
                    "configured in its Object Lock configuration.",
                )
        return original(self, bucket_name, logging_config)

    return put_bucket_logging


def _wrap_put_object_lock_configuration(original: Callable[..., Any]) -> Callable[..., Any]:
    """Object Lock on an existing bucket, objects and all, as AWS allows since late 2023.

    AWS turns Object Lock on for any bucket with versioning Enabled (else InvalidBucketState,
    which moto's own check raises); moto also refuses a bucket that holds objects, which AWS
    does not. The objects already there keep no retention; new ones get the default. (The
    refusal's code and message are AWS's; its HTTP status is moto's 400 where AWS sends 409.)
    """

    def put_object_lock_configuration(
        self: Any,
        bucket_name: str,
        lock_enabled: bool,
        mode: str | None = None,
        days: int | None = None,
        years: int | None = None,
    ) -> Any:
        bucket = self.get_bucket(bucket_name)
        if not bucket.is_versioned or bucket.keys.item_size() == 0:
            # moto's own checks and writes: InvalidBucketState without versioning, as AWS.
            return original(self, bucket_name, lock_enabled, mode, days, years)
        # What moto's method does after its "bucket needs to be empty" check, which AWS lacks.
        if lock_enabled:
            bucket.object_lock_enabled = True
            bucket.versioning_status = "Enabled"
        bucket.default_lock_mode = mode
        bucket.default_lock_days = days
        bucket.default_lock_years = years
        return None

    return put_object_lock_configuration


_IA_CLASSES = ("STANDARD_IA", "ONEZONE_IA")
"""Classes S3 moves objects to no sooner than 30 days after creation."""


def _days(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _lifecycle_problem(rule: dict[str, Any]) -> str | None:
    """What AWS refuses in one lifecycle rule that moto accepts (None: nothing)."""
    moves = rule.get("Transition") or []
    moves = moves if isinstance(moves, list) else [moves]
    latest = -1
    for move in moves:
        days = _days(move.get("Days"))
        if days is None:
            continue
        if move.get("StorageClass") in _IA_CLASSES and days < 30:
            return (
                f"'Days' in Transition action must be greater than or equal to 30 for "
                f"storageClass '{move.get('StorageClass')}'"
            )
        latest = max(latest, days)
    expiry = _days((rule.get("Expiration") or {}).get("Days"))
    if expiry is not None and latest >= 0 and expiry <= latest:
        return (
            "'Days' in the Expiration action must be greater than 'Days' in the Transition action"
        )
    return None


def _wrap_put_bucket_lifecycle(original: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse lifecycle rules AWS refuses: a move to Standard-IA or One Zone-IA sooner than
    30 days, and an expiry no later than a move (moto accepts both)."""

    def put_bucket_lifecycle_configuration(
        self: Any, bucket_name: str, rules: list[dict[str, Any]]
    ) -> Any:
        for rule in rules or []:
            problem = _lifecycle_problem(rule)
            if problem:
                raise _s3_error("InvalidArgument", problem)
        return original(self, bucket_name, rules)

    return put_bucket_lifecycle_configuration


def _wrap_log_permissions_policy(original: Any) -> Any:
    """Read the access log target's policy as AWS does, whatever shape its statements have.

    moto assumes every statement has a ``Principal`` object, so a target whose policy holds a
    ``"Principal": "*"`` statement (a TLS-only Deny, say) before the log delivery grant makes
    PutBucketLogging fail with an internal error; AWS accepts it.
    """

    def enabled(target_bucket: Any, target_prefix: str | None) -> bool:
        if not target_bucket.policy:
            return False
        try:
            document = json.loads(target_bucket.policy.decode())
        except ValueError:
            return False
        arn = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}"
        wanted = {f"{arn}/{target_prefix or ''}*", f"{arn}/*", arn}
        for statement in _as_list(document.get("Statement", [])):
            principal = statement.get("Principal")
            services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
            actions = [str(a).lower() for a in _as_list(statement.get("Action", []))]
            if (
                statement.get("Effect") == "Allow"
                and "logging.s3.amazonaws.com" in services
                and ("s3:putobject" in actions or "s3:*" in actions)
                and wanted & set(_as_list(statement.get("Resource", [])))
            ):
                return True
        return False

    return staticmethod(enabled)


def _wrap_bucket_permission(original: Callable[..., Any]) -> Callable[..., Any]:
    """Evaluate a bucket policy's conditions instead of ignoring them.

    moto applies the statements whose principal is ``*`` and ignores their conditions, so
    the TLS-only Deny every bucket the wizard creates carries (``aws:SecureTransport`` is
    false) would deny every object read, which AWS, reached only over HTTPS, never does.
    The sandbox stands in for AWS's HTTPS endpoints: requests count as secure transport,
    and a condition the evaluator cannot decide leaves the request to moto's usual rules.
    """

    def get_permission(self: Any, action: str, resource: str) -> Any:
        # moto on first use (see the module docstring)
        from moto.iam.access_control import PermissionResult

        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = self.policy.decode("utf-8", errors="replace")
        request = Request(
            principal=Principal.anonymous(),
            action=action,
            resource=resource,
            context={"aws:SecureTransport": True},
        )
        try:
            result = evaluate(policy, request)
        except PolicyFormatError:
            return original(self, action, resource)
        if result.decision is Decision.EXPLICIT_DENY:
            return PermissionResult.DENIED
        if result.decision is Decision.ALLOW:
            return PermissionResult.PERMITTED
        return PermissionResult.NEUTRAL

    return get_permission


def _s3_policy_scope_problem(document: dict[str, Any], bucket: str, partition: str) -> str | None:
    """S3 refuses bucket policies naming other buckets or non-S3 actions."""
    own = f"arn:{partition}:s3:::{bucket}"
    for statement in _as_list(document["Statement"]):
        for action in _as_list(statement.get("Action", statement.get("NotAction"))):
            if not isinstance(action, str) or not (
                action == "*" or action.lower().startswith("s3:")
            ):
                return "Policy has invalid action"
        for resource in _as_list(statement.get("Resource", statement.get("NotResource"))):
            if not isinstance(resource, str) or not (
                resource == own or resource.startswith(own + "/")
            ):
                return "Policy has invalid resource"
    return None


_LIST_BUCKETS_PAGE = 10_000
"""S3's page size for ListBuckets when a paged request names no MaxBuckets."""


def _wrap_list_buckets(original: Callable[..., Any]) -> Callable[..., Any]:
    # S3's ListBuckets names each bucket's region (BucketRegion) and pages with MaxBuckets
    # and ContinuationToken; moto 5.2.5 returns neither the region nor a token (MaxBuckets
    # only cuts the list short), so a picker that trusts the listing would have to ask every
    # bucket for its location and could never be tested on a paged listing.
    def all_buckets(self: Any) -> Any:
        # moto on first use (see the module docstring)
        from moto.core.responses import ActionResult

        self.data["Action"] = "ListAllMyBuckets"
        self._authenticate_and_authorize_s3_action()
        prefix = self._get_param("prefix") or ""
        region = self._get_param("bucket-region")
        token = self._get_param("continuation-token")
        max_text = self._get_param("max-buckets")
        paged = bool(max_text or token or prefix or region)
        limit = _LIST_BUCKETS_PAGE
        if max_text:
            if not str(max_text).isdigit() or not 1 <= int(max_text) <= _LIST_BUCKETS_PAGE:
                raise _s3_error(
                    "InvalidArgument",
                    f"max-buckets must be between 1 and {_LIST_BUCKETS_PAGE}, not {max_text}",
                )
            limit = int(max_text)
        after = ""
        if token:
            try:
                after = base64.urlsafe_b64decode(str(token).encode()).decode()
            except (ValueError, UnicodeDecodeError):
                raise _s3_error(
                    "InvalidArgument", "The continuation token provided is incorrect"
                ) from None
        buckets = sorted(
            (
                b
                for b in self.backend.buckets.values()
                if b.name.startswith(prefix)
                and (not region or b.region_name == region)
                and b.name > after
            ),
            key=lambda b: str(b.name),
        )
        page = buckets[:limit] if paged else buckets
        result: dict[str, Any] = {
            "Owner": {"ID": "bcaf1ffd86f41161ca5fb16fd081034f", "DisplayName": "webfile"},
            "Buckets": [
                {
                    "Name": b.name,
                    "CreationDate": b.creation_date_ISO8601,
                    "BucketRegion": b.region_name,
                }
                for b in page
            ],
        }
        if paged and len(buckets) > len(page):
            result["ContinuationToken"] = base64.urlsafe_b64encode(
                str(page[-1].name).encode()
            ).decode()
        if prefix:
            result["Prefix"] = prefix
        self.data["Action"] = "ListBuckets"
        return self.serialized(ActionResult(result))

    return all_buckets


_REQUEST_PAYMENT_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<RequestPaymentConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<Payer>{payer}</Payer></RequestPaymentConfiguration>"
)


def _wrap_bucket_put_request_payment(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto has no PutBucketRequestPayment: the request falls through to CreateBucket and is
    # silently ignored, so a Requester Pays bucket could never be set up to be refused.
    def bucket_response_put(
        self: Any, request: Any, bucket_name: str, querystring: dict[str, Any]
    ) -> Any:
        if "requestPayment" not in querystring:
            return original(self, request, bucket_name, querystring)
        bucket = self.backend.get_bucket(bucket_name)
        body = self.body.decode("utf-8") if isinstance(self.body, bytes) else str(self.body)
        match = re.search(r"<Payer>\s*(\w+)\s*</Payer>", body)
        if not match or match.group(1) not in ("Requester", "BucketOwner"):
            raise _s3_error(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our "
                "published schema",
            )
        bucket.payer = match.group(1)
        return 200, {}, ""

    return bucket_response_put


def _wrap_bucket_get_request_payment(original: Callable[..., Any]) -> Callable[..., Any]:
    def bucket_response_get(self: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        if "requestPayment" not in querystring:
            return original(self, bucket_name, querystring)
        bucket = self.backend.get_bucket(bucket_name)
        return 200, {}, _REQUEST_PAYMENT_XML.format(payer=bucket.payer)

    return bucket_response_get


def _create_bucket_tags(body: str | bytes | None) -> dict[str, str]:
    """The tags in a CreateBucket request's ``CreateBucketConfiguration`` (``<Tags>``)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    block = re.search(r"<Tags>(.*?)</Tags>", text, re.DOTALL)
    tags: dict[str, str] = {}
    for tag in re.findall(r"<Tag>(.*?)</Tag>", block.group(1) if block else "", re.DOTALL):
        key = re.search(r"<Key>(.*?)</Key>", tag, re.DOTALL)
        value = re.search(r"<Value>(.*?)</Value>", tag, re.DOTALL)
        if key is not None:
            tags[html.unescape(key.group(1))] = html.unescape(value.group(1) if value else "")
    return tags


def _wrap_create_bucket_tags(original: Callable[..., Any]) -> Callable[..., Any]:
    # S3 tags a general purpose bucket given CreateBucketConfiguration.Tags as it creates it;
    # moto 5.2.5 reads only the LocationConstraint and drops the tags, so a bucket created
    # with its owner's tags would look untagged (GetBucketTagging: NoSuchTagSet).
    def bucket_response(self: Any, request: Any, full_url: str) -> Any:
        if request.method != "PUT" or self._get_querystring(request, full_url):
            return original(self, request, full_url)
        name = self.parse_bucket_name_from_url(request, full_url)
        tags = _create_bucket_tags(self.body)
        if not name or not tags:
            return original(self, request, full_url)
        existed = name in self.backend.buckets
        response = original(self, request, full_url)
        # Only a bucket this request created gets them (re-creating one's own bucket in
        # us-east-1 succeeds without creating anything).
        if not existed and name in self.backend.buckets:
            try:
                self.backend.put_bucket_tagging(name, tags)
            except Exception:
                # Tags AWS would refuse refuse the whole request: no bucket is left behind.
                self.backend.delete_bucket(name)
                raise
        return response

    return bucket_response


# ---- KMS -----------------------------------------------------------------------------


def _malformed_key_policy(policy: str | None) -> None:
    if policy is None:
        return
    _, problem = _policy_problem(policy, need_principal=True)
    if problem:
        raise json_error("MalformedPolicyDocumentException", f"Key policy is malformed: {problem}")


_INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."
"""KMS's message for a key policy that names a principal that does not exist."""


def _refuse_missing_principals(policy: str | None, account: str, region: str) -> None:
    """KMS CreateKey / PutKeyPolicy: every IAM user and role of the key's account the policy
    names must exist, else ``MalformedPolicyDocumentException`` (as KMS answers).

    Principals of other accounts are left alone: the sandbox's other accounts are created on
    first use, so their IAM cannot say what does not exist.
    """
    # moto on first use (see the module docstring)
    from moto.iam.models import iam_backends

    try:
        document = json.loads(policy) if policy else None
    except ValueError:
        return
    if not isinstance(document, dict):
        return
    iam = iam_backends[account][partition_of(region)]
    known = {
        "role": {str(r.arn) for r in iam.roles.values()},
        "user": {str(u.arn) for u in iam.users.values()},
    }
    for statement in _as_list(document.get("Statement", [])):
        if not isinstance(statement, dict):
            continue
        for element in ("Principal", "NotPrincipal"):
            principal = statement.get(element)
            if not isinstance(principal, dict):
                continue
            for arn in _as_list(principal.get("AWS", [])):
                parsed = parse_arn(str(arn))
                if parsed is None or parsed.service != "iam" or parsed.account != account:
                    continue
                kind = parsed.resource.partition("/")[0]
                if kind in known and str(arn) not in known[kind]:
                    _LOG.info("key policy refused: %s does not exist", arn)
                    raise json_error("MalformedPolicyDocumentException", _INVALID_PRINCIPALS)


def _wrap_create_key(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_key(
        self: Any, policy: str | None, key_usage: str | None, *args: Any, **kwargs: Any
    ) -> Any:
        _refuse_large_key_policy(policy)
        _refuse_key_tags(args[2] if len(args) > 2 else kwargs.get("tags"))
        _malformed_key_policy(policy)
        _refuse_missing_principals(policy, self.account_id, self.region_name)
        # AWS defaults KeyUsage to ENCRYPT_DECRYPT; moto stores None and omits the field.
        return original(self, policy, key_usage or "ENCRYPT_DECRYPT", *args, **kwargs)

    return create_key


class _LazyPrivateKey:
    """Stands in for moto's private key and creates the real one on first use."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._key: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            # Private and dunder lookups (copy, pickle) must not recurse into _lock/_key
            # on an instance built without __init__.
            raise AttributeError(name)
        with self._lock:
            if self._key is None:
                self._key = self._factory()
        return getattr(self._key, name)


def _lazy_private_key(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto generates an RSA-2048 private key for every KMS key, symmetric ones included
    # (0.1 to 0.3 s each), though only signing keys ever use it; deferring it keeps seeding
    # and per-test resets fast.
    def generate_private_key(key_spec: str) -> Any:
        if key_spec == "SYMMETRIC_DEFAULT" or str(key_spec).startswith("HMAC_"):
            return _LazyPrivateKey(functools.partial(original, key_spec))
        return original(key_spec)

    return generate_private_key


def _wrap_put_key_policy(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_key_policy(self: Any, key_id: str, policy: str) -> Any:
        _refuse_large_key_policy(policy)
        _malformed_key_policy(policy if policy is not None else "")
        _refuse_missing_principals(policy, self.account_id, self.region_name)
        return original(self, key_id, policy)

    return put_key_policy


def _wrap_validate_key_policy(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto's DescribeKey reads the key policy to honour an explicit Deny, iterating over
    # ``Statement`` as a list: a single statement object (valid policy grammar, which KMS
    # accepts) made it iterate over the object's keys and answer HTTP 500. It reads Action
    # the same way, so a single action string is listed too before moto reads the policy.
    def validate_policy(key: Any, action: str) -> None:
        try:
            document = json.loads(key.policy)
        except (TypeError, ValueError):
            document = None
        if isinstance(document, dict):
            statements = [
                {**s, "Action": _as_list(s["Action"])}
                if isinstance(s, dict) and "Action" in s
                else s
                for s in _as_list(document.get("Statement", []))
            ]
            policy = json.dumps({**document, "Statement": statements})
            key = SimpleNamespace(policy=policy, arn=key.arn)
        original(key, action)

    return validate_policy


def _wrap_set_alias(original: Callable[..., Any]) -> Callable[..., Any]:
    # Patched on the response, not the backend: moto itself creates the AWS managed
    # aliases (alias/aws/s3...) through the backend's create_alias.
    def set_alias(self: Any, update: bool = False) -> Any:
        alias = str(self._get_param("AliasName") or "")
        if alias.lower().startswith("alias/aws/"):
            raise json_error(
                "InvalidAliasNameException",
                f"Alias {alias} cannot begin with alias/aws/: that prefix is reserved for "
                "AWS managed keys.",
            )
        return original(self, update=update)

    return set_alias


# ---- SNS and IAM ---------------------------------------------------------------------


def _sns_policy_error(policy: Any) -> None:
    # moto on first use (see the module docstring)
    from moto.sns.exceptions import InvalidParameterValue

    _refuse_large_topic_policy(policy)
    _, problem = _policy_problem(
        policy if isinstance(policy, (str, bytes)) else json.dumps(policy),
        need_principal=True,
    )
    if problem:
        raise InvalidParameterValue(f"Invalid parameter: Policy Error: {problem}")


def _wrap_create_topic(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_topic(
        self: Any,
        name: str,
        attributes: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> Any:
        _refuse_topic_tags(tags)
        if attributes and "Policy" in attributes:
            _sns_policy_error(attributes["Policy"])
        _refuse_topic_clash(self, name, attributes, tags)
        return original(self, name, attributes, tags)

    return create_topic


def _refuse_topic_clash(
    backend: Any, name: str, attributes: Mapping[str, str] | None, tags: Mapping[str, str] | None
) -> None:
    """CreateTopic on a name the account already has, as AWS answers it.

    AWS returns the existing topic's ARN only when the request matches it (every attribute
    and tag asked for already has that value), and refuses with InvalidParameter otherwise;
    moto returns the existing topic whatever was asked, which would let a run believe it
    created, and may delete, a topic that was already there.
    """
    # moto on first use (see the module docstring)
    from moto.sns.exceptions import InvalidParameterValue
    from moto.sns.utils import make_arn_for_topic

    topic = backend.topics.get(make_arn_for_topic(backend.account_id, name, backend.region_name))
    if topic is None:
        return
    for attribute, value in (attributes or {}).items():
        if not _same_topic_attribute(topic, attribute, value):
            raise InvalidParameterValue(
                "Invalid parameter: Attributes Reason: Topic already exists with different "
                "attributes"
            )
    current = dict(getattr(topic, "_tags", None) or {})
    if any(current.get(key) != value for key, value in (tags or {}).items()):
        raise InvalidParameterValue(
            "Invalid parameter: Tags Reason: Topic already exists with different tags"
        )


def _same_topic_attribute(topic: Any, attribute: str, value: str) -> bool:
    """Whether the topic's ``attribute`` already is ``value`` (policies compared as JSON)."""
    # moto on first use (see the module docstring)
    from moto.core.utils import camelcase_to_underscores

    current = getattr(topic, camelcase_to_underscores(attribute), None)
    if attribute == "Policy":
        try:
            return bool(json.loads(str(current)) == json.loads(value))
        except ValueError:
            return False
    return str(current if current is not None else "") == str(value)


def _wrap_set_topic_attribute(original: Callable[..., Any]) -> Callable[..., Any]:
    def set_topic_attribute(
        self: Any, topic_arn: str, attribute_name: str, attribute_value: str
    ) -> Any:
        if attribute_name.lower() == "policy":
            self.get_topic(topic_arn)  # an unknown topic is NotFound, as in AWS
            _sns_policy_error(attribute_value)
        return original(self, topic_arn, attribute_name, attribute_value)

    return set_topic_attribute


def _wrap_user_init(original: Callable[..., Any]) -> Callable[..., Any]:
    # AWS gives every IAM user a unique id of the shape AIDA + 17 characters (CloudTrail's
    # userIdentity.principalId); moto gave 20 lower-case ones.
    def user_init(self: Any, account_id: str, *args: Any, **kwargs: Any) -> None:
        from moto.iam.utils import generate_access_key_id_from_account_id  # moto on first use

        original(self, account_id, *args, **kwargs)
        self.id = generate_access_key_id_from_account_id(
            account_id=account_id, prefix="AIDA", total_length=21
        )

    return user_init


def _wrap_create_role(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_role(
        self: Any, role_name: str, assume_role_policy_document: str, *args: Any, **kwargs: Any
    ) -> Any:
        # moto on first use (see the module docstring)
        from moto.iam.exceptions import MalformedPolicyDocument
        from moto.iam.policy_validation import IAMTrustPolicyDocumentValidator

        _refuse_large_trust_policy(assume_role_policy_document)
        _, problem = _policy_problem(
            assume_role_policy_document, need_principal=True, need_resource=False
        )
        if problem:
            raise MalformedPolicyDocument(problem)
        # The same trust-policy grammar moto applies on UpdateAssumeRolePolicy.
        IAMTrustPolicyDocumentValidator(assume_role_policy_document).validate()
        return original(self, role_name, assume_role_policy_document, *args, **kwargs)

    return create_role


# --------------------------------------------------------------------------------------
# AWS size and count limits
#
# moto stores a 1 MB bucket policy, a thousand data selectors or a hundred tags without a
# word; AWS refuses each, mid-apply. These checks refuse the same requests with the error
# code AWS uses, measuring documents the way each service does (wizard.plan.limits holds the
# numbers, their sources and the measuring functions).
# --------------------------------------------------------------------------------------


def _refuse_large_bucket_policy(policy: str | bytes) -> None:
    """S3 PutBucketPolicy over 20 KB: ``MalformedPolicy`` (HTTP 400), as S3 answers."""
    size = s3_policy_size(policy)
    if size > BUCKET_POLICY_MAX_BYTES:
        _LOG.info("PutBucketPolicy refused: %d bytes > %d", size, BUCKET_POLICY_MAX_BYTES)
        raise _s3_error("MalformedPolicy", "Policy exceeds the maximum allowed document size.")


def _refuse_large_key_policy(policy: str | None) -> None:
    """KMS CreateKey / PutKeyPolicy over 32 KB: ``LimitExceededException``."""
    if policy is None:
        return
    size = policy_bytes(policy)
    if size > KEY_POLICY_MAX_BYTES:
        raise json_error(
            "LimitExceededException",
            f"Key policy is {size} bytes; the maximum size of a key policy is "
            f"{KEY_POLICY_MAX_BYTES} bytes.",
        )


def _refuse_large_topic_policy(policy: Any) -> None:
    """SNS CreateTopic / SetTopicAttributes: a policy over 30 KB or 100 statements is an
    ``InvalidParameter`` (the code SNS gives every unacceptable Policy attribute)."""
    # moto on first use (see the module docstring)
    from moto.sns.exceptions import InvalidParameterValue

    text = policy if isinstance(policy, (str, bytes)) else json.dumps(policy)
    size = policy_bytes(text)
    if size > TOPIC_POLICY_MAX_BYTES:
        raise InvalidParameterValue(
            f"Invalid parameter: Policy Error: policy is {size} bytes; a topic policy can "
            f"be at most {TOPIC_POLICY_MAX_BYTES} bytes"
        )
    decoded = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    statements = topic_statement_count(decoded)
    if statements is not None and statements > TOPIC_POLICY_MAX_STATEMENTS:
        raise InvalidParameterValue(
            f"Invalid parameter: Policy Error: policy has {statements} statements; a topic "
            f"policy can have at most {TOPIC_POLICY_MAX_STATEMENTS}"
        )


def _refuse_large_trust_policy(document: str) -> None:
    """IAM CreateRole / UpdateAssumeRolePolicy: ``LimitExceeded`` past the default quota."""
    # moto on first use (see the module docstring)
    from moto.iam.exceptions import LimitExceededException

    if iam_policy_size(document) > ROLE_TRUST_POLICY_MAX_CHARS:
        raise LimitExceededException(
            f"Cannot exceed quota for ACLSizePerRole: {ROLE_TRUST_POLICY_MAX_CHARS}"
        )


def _wrap_update_assume_role_policy(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_assume_role_policy(self: Any, role_name: str, policy_document: str) -> Any:
        self.get_role(role_name)  # an unknown role is NoSuchEntity, as in AWS
        _refuse_large_trust_policy(policy_document)
        return original(self, role_name, policy_document)

    return update_assume_role_policy


def _wrap_put_role_policy(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_role_policy(self: Any, role_name: str, policy_name: str, policy_json: str) -> Any:
        # moto on first use (see the module docstring)
        from moto.iam.exceptions import LimitExceededException

        role = self.get_role(role_name)
        # The quota covers every inline policy of the role together; the one being
        # replaced (same name) no longer counts.
        others = [d for name, d in role.policies.items() if name != policy_name]
        size = sum(iam_policy_size(d) for d in [*others, policy_json])
        if size > ROLE_POLICIES_MAX_CHARS:
            raise LimitExceededException(
                f"Maximum policy size of {ROLE_POLICIES_MAX_CHARS} bytes exceeded for role "
                f"{role_name}"
            )
        return original(self, role_name, policy_name, policy_json)

    return put_role_policy


def _refuse_bad_selector_counts(
    event_selectors: list[dict[str, Any]] | None,
    advanced_event_selectors: list[dict[str, Any]] | None,
) -> None:
    """CloudTrail PutEventSelectors past its counts: ``InvalidEventSelectorsException``."""
    problem = event_selector_problem(event_selectors, advanced_event_selectors)
    if problem:
        raise json_error("InvalidEventSelectorsException", f"Invalid request: {problem}.")


def _too_many_tags(current: Mapping[str, str], new_keys: Iterable[str]) -> int | None:
    """The tag count after adding ``new_keys`` to ``current``, when it is over the limit."""
    total = len(set(current) | set(new_keys))
    return total if total > TAGS_PER_RESOURCE_MAX else None


def _trail_tags_error() -> Exception:
    return json_error(
        "TagsLimitExceededException",
        "The number of tags per trail has exceeded the permitted amount. Currently, the "
        "limit is 50.",
    )


def _refuse_trail_tags(tags_list: Iterable[Mapping[str, str]] | None) -> None:
    """CloudTrail CreateTrail with more than 50 tags: ``TagsLimitExceededException``."""
    if _too_many_tags({}, (str(t.get("Key")) for t in tags_list or [])):
        raise _trail_tags_error()


def _wrap_trail_add_tags(original: Callable[..., Any]) -> Callable[..., Any]:
    def add_tags(self: Any, resource_id: str, tags_list: list[dict[str, str]]) -> Any:
        current = self.tagging_service.get_tag_dict_for_resource(resource_id)
        if _too_many_tags(current, (str(t.get("Key")) for t in tags_list or [])):
            raise _trail_tags_error()
        return original(self, resource_id, tags_list)

    return add_tags


def _refuse_key_tags(tags: Iterable[Mapping[str, str]] | None) -> None:
    """KMS CreateKey with more than 50 tags: ``TagException``."""
    count = _too_many_tags({}, (str(t.get("TagKey")) for t in tags or []))
    if count:
        raise json_error(
            "TagException", f"Tag limit exceeded: a KMS key can have at most 50 tags, not {count}."
        )


def _wrap_kms_tag_resource(original: Callable[..., Any]) -> Callable[..., Any]:
    def tag_resource(self: Any, arn: str, tags: dict[str, str]) -> Any:
        key_id = self.get_key_id(arn)
        current = self.tagger.get_tag_dict_for_resource(key_id) if key_id in self.keys else {}
        count = _too_many_tags(current, tags)
        if count:
            raise json_error(
                "TagException",
                f"Tag limit exceeded: a KMS key can have at most 50 tags, not {count}.",
            )
        return original(self, arn, tags)

    return tag_resource


def _refuse_topic_tags(tags: Mapping[str, str] | None) -> None:
    """SNS CreateTopic with more than 50 tags: ``TagLimitExceeded``, as its TagResource."""
    if _too_many_tags({}, tags or {}):
        # moto on first use (see the module docstring)
        from moto.sns.exceptions import TagLimitExceededError

        raise TagLimitExceededError


def _wrap_put_bucket_tagging(original: Callable[..., Any]) -> Callable[..., Any]:
    # PutBucketTagging replaces the whole tag set, so only the new set counts.
    def put_bucket_tagging(self: Any, bucket_name: str, tags: dict[str, str]) -> Any:
        count = _too_many_tags({}, tags or {})
        if count:
            raise _s3_error("InvalidTag", "Bucket tag count cannot be greater than 50")
        return original(self, bucket_name, tags)

    return put_bucket_tagging


def _wrap_describe_regions(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto lists every region it knows: GovCloud's and China's beside the caller's, and
    # opt-in regions no account has until it enables them (some marked as needing no
    # opt-in). AWS lists the regions enabled for the account, in the caller's partition: for
    # the sandbox's accounts, those enabled by default, the regions its multi-region trails
    # record (wizard.sandbox.delivery.enabled_regions).
    def describe_regions(self: Any, region_names: list[str] | None = None) -> list[Any]:
        enabled = set(enabled_regions(partition_of(self.region_name)))
        # moto marks each of these opt-in-not-required, as AWS does.
        return [r for r in original(self, region_names) if r.name in enabled]

    return describe_regions


def _logs_too_many_tags() -> Exception:
    return json_error("TooManyTagsException", "A resource can have no more than 50 tags.")


def _wrap_create_log_group(original: Callable[..., Any]) -> Callable[..., Any]:
    # Checked before moto creates the group: it tags a group only after making it, and it
    # stores any kmsKeyId without looking at the key.
    def create_log_group(
        self: Any, log_group_name: str, tags: dict[str, str], **kwargs: Any
    ) -> Any:
        if _too_many_tags({}, tags or {}):
            raise _logs_too_many_tags()
        key_ref = kwargs.get("kmsKeyId")
        if key_ref:
            _check_log_group_key(self.account_id, self.region_name, log_group_name, key_ref)
        return original(self, log_group_name, tags, **kwargs)

    return create_log_group


def _check_log_group_key(account: str, region: str, group: str, key_ref: str) -> None:
    """CreateLogGroup with ``kmsKeyId``, as CloudWatch Logs answers it.

    The key must be named by its ARN, exist in the group's region, be an enabled symmetric
    encryption key, and its policy must let ``logs.<region>.amazonaws.com`` use it with the
    group in the encryption context (AWS's documented key policy statement). Otherwise AWS
    refuses the group: InvalidParameterException for a key that is not usable, and
    AccessDeniedException ("The specified KMS key does not exist or is not allowed to be used
    with Arn ...") for one it may not use. moto accepts any text and creates the group.
    """
    from moto.kms.models import kms_backends  # moto on first use (see the module docstring)

    partition = partition_of(region)
    group_arn = f"arn:{partition}:logs:{region}:{account}:log-group:{group}"
    refused = json_error(
        "AccessDeniedException",
        f"The specified KMS key does not exist or is not allowed to be used with Arn '{group_arn}'",
    )
    arn = parse_arn(key_ref)
    if arn is None or arn.service != "kms" or not arn.resource.startswith("key/"):
        raise json_error(
            "InvalidParameterException",
            f"kmsKeyId {key_ref} is not the ARN of a KMS key: CloudWatch Logs takes the key "
            f"ARN (arn:{partition}:kms:{region}:ACCOUNT:key/KEY-ID).",
        )
    if arn.region != region:
        raise refused  # a log group can only use a key of its own region
    key = kms_backends[arn.account or account][region].keys.get(arn.resource.removeprefix("key/"))
    if key is None:
        raise refused
    usage = key.key_usage or "ENCRYPT_DECRYPT"  # moto leaves it None when not given
    if (
        key.key_state != "Enabled"
        or key.key_spec != "SYMMETRIC_DEFAULT"
        or usage != "ENCRYPT_DECRYPT"
    ):
        raise json_error(
            "InvalidParameterException",
            f"KMS key {key.arn} is {key.key_state} ({key.key_spec}, {usage}); CloudWatch Logs "
            "needs an enabled symmetric encryption key.",
        )
    context = {"kms:EncryptionContext:aws:logs:arn": group_arn}
    service = f"logs.{region}.amazonaws.com"
    if not all(
        allows(key.policy, action, key.arn, context, principal_service=service)
        for action in ("kms:GenerateDataKey", "kms:Decrypt")
    ):
        raise refused


def _wrap_logs_tag_resource(original: Callable[..., Any]) -> Callable[..., Any]:
    def tag_resource(self: Any, arn: str, tags: dict[str, str]) -> Any:
        if _too_many_tags(self.tagger.get_tag_dict_for_resource(arn), tags or {}):
            raise _logs_too_many_tags()
        return original(self, arn, tags)

    return tag_resource


# --------------------------------------------------------------------------------------
# python -m wizard.sandbox.server
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run a sandbox until interrupted, printing the environment that points at it.

    The first line printed is the endpoint URL, so scripts can wait for it.

    Args:
        argv: Command-line arguments (``--port``, ``--host``, ``--no-seed``, ``--lenient``,
            ``--log-interval``, ``--digest-interval``).

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m wizard.sandbox.server",
        description="Run the cloudtrail-wizard sandbox (a strict local AWS emulator).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--no-seed", action="store_true", help="start with an empty account")
    parser.add_argument(
        "--lenient", action="store_true", help="plain moto, without the strictness patches"
    )
    parser.add_argument(
        "--log-interval",
        type=float,
        default=DEFAULT_LOG_INTERVAL,
        help="seconds between CloudTrail log file deliveries (default %(default)s; 0: off)",
    )
    parser.add_argument(
        "--digest-interval",
        type=float,
        default=DEFAULT_DIGEST_INTERVAL,
        help="seconds one digest file covers (default %(default)s; 0: off)",
    )
    options = parser.parse_args(argv)
    try:
        sandbox = start_sandbox(
            seed=not options.no_seed,
            host=options.host,
            port=options.port,
            strict=not options.lenient,
            log_interval=options.log_interval,
            digest_interval=options.digest_interval,
        )
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with sandbox:
        print(sandbox.endpoint_url, flush=True)
        for name, value in sandbox.env().items():
            print(f"export {name}={value}")
        print("# Ctrl-C stops the sandbox.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
