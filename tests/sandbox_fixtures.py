"""Fixtures for the engine tests: one moto server per test session, reset between tests.

The tests talk to AWS the way the wizard does: boto3 over HTTP, to moto's server. Dummy
credentials are forced on every Session *and* in the environment, and the shared AWS
config files are pointed at nothing, so no test can reach (or be influenced by) a real
account.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from wizard.aws.clients import Boto3Caller, ClientFactory

REGION = "us-east-1"
ACCOUNT = "123456789012"


def dummy_session(region: str = REGION) -> boto3.Session:
    """A boto3 Session with explicit dummy credentials (never the environment's)."""
    return boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        region_name=region,
    )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """Start moto's HTTP server once per session (per xdist worker); yield its URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials everywhere; no profile, no config files, no instance metadata."""
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_STS",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def endpoint(moto_server: str) -> str:
    """The moto URL, with all emulated state wiped for this test."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    return moto_server


@pytest.fixture
def boto_session() -> boto3.Session:
    """A boto3 Session with explicit dummy credentials."""
    return dummy_session()


@pytest.fixture
def factory(boto_session: boto3.Session, endpoint: str) -> ClientFactory:
    """A client factory pointed at the emulator (few attempts: errors surface quickly)."""
    return ClientFactory(boto_session, endpoint_url=endpoint, max_attempts=2)


@pytest.fixture
def caller(factory: ClientFactory) -> Boto3Caller:
    """The production caller, on the emulator."""
    return Boto3Caller(factory)


@pytest.fixture
def raw(boto_session: boto3.Session, endpoint: str) -> Any:
    """Plain boto3 clients for checking the emulator's state: ``raw("s3")``."""

    session: Any = boto_session  # typed Any: the stubs only accept literal service names

    def make(service: str, region: str = REGION) -> Any:
        return session.client(service, region_name=region, endpoint_url=endpoint)

    return make


@pytest.fixture
def closed_port_url() -> str:
    """A local URL where nothing listens (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ======================================================================================
# The seeded sandbox, for engine tests that go through discovery, plan, apply and verify.
#
# One strict, seeded sandbox per test session (per xdist worker), reset and re-seeded per
# test. Its WSGI app is wrapped in a request log, so tests can assert what reached the
# emulator *server* (not just what our caller thinks it sent): "nothing was changed" is
# "no mutating request arrived".
# ======================================================================================

import io  # noqa: E402  (this section is appended to the file)
import re  # noqa: E402
import threading  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from urllib.parse import parse_qs  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

OTHER_ACCOUNT = "111111111111"
"""A second account, reached with STS AssumeRole (moto honours the account id in the ARN)."""

SANDBOX_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
"""Regions the engine tests use (the seeded ones)."""

_READ_PREFIXES = ("Get", "Describe", "List", "Head", "Lookup")
_READS = frozenset({"GetCallerIdentity", "SimulatePrincipalPolicy", "SimulateCustomPolicy"})


@dataclass(frozen=True)
class Request:
    """One request as the emulator server saw it."""

    service: str
    """Service from the SigV4 credential scope (``s3``, ``kms``...)."""
    operation: str
    """Operation name (X-Amz-Target / Action), or ``METHOD /path?query`` for S3."""
    mutating: bool
    """True for any request that may change state."""


class RequestLog:
    """WSGI middleware: records every AWS request that reaches the emulator.

    The operation comes from where each protocol puts it: the ``X-Amz-Target`` header
    (JSON protocols: CloudTrail, KMS, Logs, Organizations), the ``Action`` form field
    (query protocols: IAM, STS, SNS), and for S3 (REST) the HTTP method, where every PUT,
    POST and DELETE counts as mutating. The rule for the others is AWS's naming convention,
    written out here independently of the wizard's own read-only allowlist.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.requests: list[Request] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if not path.startswith("/moto-api"):
            request = self._describe(environ)
            with self.lock:
                self.requests.append(request)
        return self.app(environ, start_response)

    @staticmethod
    def _describe(environ: dict[str, Any]) -> Request:
        auth = str(environ.get("HTTP_AUTHORIZATION", ""))
        scope = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request", auth)
        service = scope.group(1) if scope else "unknown"
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if target:
            operation = target.rsplit(".", 1)[-1]
        else:
            query = parse_qs(str(environ.get("QUERY_STRING", "")))
            operation = (query.get("Action") or [""])[0]
            content_type = str(environ.get("CONTENT_TYPE", ""))
            if not operation and content_type.startswith("application/x-www-form-urlencoded"):
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length) if length else b""
                environ["wsgi.input"] = io.BytesIO(body)  # the app reads it again
                operation = (parse_qs(body.decode("utf-8", "replace")).get("Action") or [""])[0]
        if service == "s3" or not operation:
            label = f"{method} {environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"
            return Request(service, label, method not in ("GET", "HEAD"))
        read = operation in _READS or operation.startswith(_READ_PREFIXES)
        return Request(service, operation, not read)

    def clear(self) -> None:
        """Forget what was recorded."""
        with self.lock:
            self.requests.clear()

    def snapshot(self) -> list[Request]:
        """Every request so far."""
        with self.lock:
            return list(self.requests)

    def mutating(self) -> list[Request]:
        """The mutating requests so far."""
        return [r for r in self.snapshot() if r.mutating]


@dataclass
class SandboxFixture:
    """The session's sandbox and the log of requests its server received."""

    sandbox: Any
    log: RequestLog


@pytest.fixture(scope="session")
def engine_sandbox() -> Iterator[SandboxFixture]:
    """One strict sandbox per session, its server app wrapped in a :class:`RequestLog`."""
    from wizard.sandbox.server import start_sandbox

    sandbox = start_sandbox(seed=False)
    # start_sandbox runs moto's ThreadedMotoServer; its werkzeug server (``_server``)
    # looks ``self.app`` up for every request, so wrapping it now sees every later one.
    inner = sandbox._server._server
    log = RequestLog(inner.app)
    inner.app = log
    try:
        yield SandboxFixture(sandbox=sandbox, log=log)
    finally:
        sandbox.stop()


@pytest.fixture
def sandbox(engine_sandbox: SandboxFixture) -> Any:
    """The sandbox, reset and re-seeded for this test (the request log starts empty)."""
    engine_sandbox.sandbox.reset(seed=True)
    engine_sandbox.log.clear()
    return engine_sandbox.sandbox


@pytest.fixture
def server_log(sandbox: Any, engine_sandbox: SandboxFixture) -> RequestLog:
    """Requests the sandbox server received during this test (after the seed)."""
    return engine_sandbox.log


@pytest.fixture(scope="session")
def _sandbox_clients(engine_sandbox: SandboxFixture) -> dict[tuple[str, str], Any]:
    return {}


@pytest.fixture(scope="session")
def _client_session(engine_sandbox: SandboxFixture) -> Any:
    # One boto3 session for every test client: each new session reloads botocore's models.
    return dummy_session()


@pytest.fixture
def aws(sandbox: Any, _client_session: Any, _sandbox_clients: dict[tuple[str, str], Any]) -> Any:
    """Plain boto3 clients on the sandbox with dummy credentials: ``aws("s3", "eu-west-1")``.

    They are how tests set the account up and check it afterwards, independently of the
    wizard's own caller. Clients are cached for the session (creating one is slow).
    """

    def make(service: str, region: str = REGION) -> Any:
        key = (service, region)
        if key not in _sandbox_clients:
            _sandbox_clients[key] = _client_session.client(
                service, region_name=region, endpoint_url=sandbox.endpoint_url
            )
        return _sandbox_clients[key]

    return make


@pytest.fixture
def other_account(sandbox: Any, aws: Any, _client_session: Any) -> Any:
    """Clients acting as account :data:`OTHER_ACCOUNT`: ``other_account("s3")``.

    Their credentials come from STS AssumeRole into that account, made on first use (moto
    maps the temporary credentials to the role's account).
    """
    credentials: dict[str, Any] = {}

    def make(service: str, region: str = REGION) -> Any:
        if not credentials:
            credentials.update(
                aws("sts").assume_role(
                    RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/OrganizationAccountAccessRole",
                    RoleSessionName="engine-tests",
                )["Credentials"]
            )
        client = _client_session.client(
            service,
            region_name=region,
            endpoint_url=sandbox.endpoint_url,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        return client

    return make


@pytest.fixture(scope="session")
def sandbox_session(engine_sandbox: SandboxFixture) -> Any:
    """The wizard's own session on the sandbox, as ``--sandbox`` opens it (shared)."""
    from wizard.aws.session import SessionSettings, open_session

    return open_session(
        SessionSettings(sandbox_endpoint=engine_sandbox.sandbox.endpoint_url), verify=False
    )


@pytest.fixture
def engine(sandbox: Any, sandbox_session: Any) -> Any:
    """The engine on the freshly seeded sandbox, connected as the demo account."""
    return engine_on(sandbox_session)


def account_state(aws: Any, regions: Sequence[str] = SANDBOX_REGIONS) -> dict[str, Any]:
    """Everything the wizard could create or change, read with plain boto3.

    Policies are kept as the exact text the emulator returns, so comparing two states
    compares them byte for byte.
    """

    s3 = aws("s3")

    def optional(operation: str, bucket: str, key: str, missing: str) -> Any:
        """``s3.<operation>(Bucket=bucket)[key]``, None when S3 says ``missing``."""
        try:
            return getattr(s3, operation)(Bucket=bucket)[key]
        except ClientError as err:
            if err.response["Error"]["Code"] == missing:
                return None
            raise

    buckets: dict[str, Any] = {}
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        buckets[name] = {
            "policy": optional("get_bucket_policy", name, "Policy", "NoSuchBucketPolicy"),
            "public_access_block": optional(
                "get_public_access_block",
                name,
                "PublicAccessBlockConfiguration",
                "NoSuchPublicAccessBlockConfiguration",
            ),
            "encryption": optional(
                "get_bucket_encryption",
                name,
                "ServerSideEncryptionConfiguration",
                "ServerSideEncryptionConfigurationNotFoundError",
            ),
        }
    state: dict[str, Any] = {"buckets": buckets}
    iam = aws("iam")
    state["roles"] = {
        r["RoleName"]: iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"]
        for r in iam.list_roles()["Roles"]
    }
    for region in regions:
        trail_client = aws("cloudtrail", region)
        state[f"trails/{region}"] = {
            t["TrailARN"]: trail_client.get_trail_status(Name=t["TrailARN"])["IsLogging"]
            for t in trail_client.describe_trails(includeShadowTrails=False)["trailList"]
        }
        kms = aws("kms", region)
        keys = {}
        for key in kms.list_keys()["Keys"]:
            meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            policy = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
            keys[key["KeyId"]] = {"state": meta["KeyState"], "policy": policy}
        state[f"keys/{region}"] = keys
        state[f"aliases/{region}"] = {
            a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]
        }
        sns = aws("sns", region)
        state[f"topics/{region}"] = {
            t["TopicArn"]: sns.get_topic_attributes(TopicArn=t["TopicArn"])["Attributes"].get(
                "Policy"
            )
            for t in sns.list_topics()["Topics"]
        }
        logs = aws("logs", region)
        state[f"log-groups/{region}"] = {
            g["logGroupName"]: g.get("retentionInDays")
            for g in logs.describe_log_groups()["logGroups"]
        }
    return state


def assert_same_state(before: dict[str, Any], after: dict[str, Any]) -> None:
    """``after`` equals ``before``, except that keys created since may exist if pending deletion.

    KMS keys cannot be deleted at once; the shortest undo is scheduling their deletion.
    """
    for section in before.keys() | after.keys():
        if section.startswith("keys/"):
            new = {k: v for k, v in after[section].items() if k not in before[section]}
            assert {k: v["state"] for k, v in new.items()} == dict.fromkeys(
                new, "PendingDeletion"
            ), section
            kept = {k: v for k, v in after[section].items() if k in before[section]}
            assert kept == before[section], section
        else:
            assert after.get(section) == before.get(section), section


# ======================================================================================
# The examples and the engine, shared by every suite that applies them.
# ======================================================================================

CLOUDTRAIL = "cloudtrail.amazonaws.com"


def prepare_example(
    example: Path,
    client: Any,
    *,
    bucket_policies: dict[str, str] | None = None,
) -> None:
    """What an example needs in the seeded account beyond the seed, done with plain boto3.

    The organization example runs as the management account of an organization with
    trusted access for CloudTrail. ``bucket_policies`` gives an existing bucket a policy
    first (the fault suite writes a hand-formatted one, so that "restored byte for byte"
    means something).

    Args:
        example: The answers file.
        client: ``client("s3")``: a boto3 client on the sandbox, as the demo account.
        bucket_policies: Bucket name -> policy text, for the buckets the example uses.
    """
    from wizard.model.answers_file import load_answers

    answers = load_answers(example)
    if answers.trail.organization:
        org = client("organizations")
        org.create_organization(FeatureSet="ALL")  # as the management account
        org.enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
    policy = (bucket_policies or {}).get(answers.bucket.name)
    if not answers.bucket.create and policy is not None:
        client("s3").put_bucket_policy(Bucket=answers.bucket.name, Policy=policy)


def engine_on(session: Any) -> Any:
    """An engine connected as the demo account through ``session`` (request counts reset)."""
    from wizard.engine import Engine

    session.caller.reset_stats()
    return Engine.connect(session.caller, REGION)


# ======================================================================================
# The shared sandbox (wizard.sandbox.shared): a background process per state directory.
#
# Every `--sandbox` command run by a test starts one under the test's state directory
# (XDG_STATE_HOME). None may outlive its test, nor the session, and none may ever live in
# the user's own state directory.
# ======================================================================================

from wizard.sandbox.shared import (  # noqa: E402
    DAEMON_LOCK,
    HOME_VARIABLE,
    daemon_pid,
    stop_sandbox,
)


def stop_shared_sandboxes(root: Path) -> list[Path]:
    """Stop every shared sandbox whose home is under ``root``; the homes that had one."""
    stopped = []
    for lock in sorted(root.rglob(DAEMON_LOCK)):
        if daemon_pid(lock.parent) is not None:
            stop_sandbox(lock.parent)
            stopped.append(lock.parent)
    return stopped


@pytest.fixture(scope="session", autouse=True)
def _no_shared_sandbox_outlives_the_session(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """The session's state directory is a temporary one, and its sandboxes end with it.

    XDG_STATE_HOME points into the session's temporary directory (a test that sets its own,
    or gives its children their own, still wins), so nothing a test does reaches the user's
    own journals or shared sandbox; at the end, every shared sandbox started anywhere under
    the session's temporary directory is stopped.
    """
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("session-state")))
    patch.delenv(HOME_VARIABLE, raising=False)
    try:
        yield
    finally:
        patch.undo()
        stop_shared_sandboxes(tmp_path_factory.getbasetemp())


@pytest.fixture(autouse=True)
def _no_shared_sandbox_outlives_its_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """A shared sandbox a test started under its ``tmp_path`` stops when the test ends (each
    is a process of about 150 MB: they must not pile up until the end of the session)."""
    # Asked for now, so that it is torn down after this fixture, not before.
    tmp_path = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if tmp_path is not None:
        stop_shared_sandboxes(tmp_path)
