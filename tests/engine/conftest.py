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


@pytest.fixture(autouse=True)
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
