"""Fixtures for the sandbox tests: one emulator per session, reset and re-seeded per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from wizard.sandbox.server import Sandbox, start_sandbox

# Variables that would point boto3 at a real profile or add a real session token.
_REAL_AWS_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    """The session's sandbox server, started empty (each test seeds it)."""
    with start_sandbox(seed=False) as sandbox:
        yield sandbox


def _isolate_environment(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    """Point the environment at the sandbox with dummy credentials, and nothing real."""
    for name in list(os.environ):
        if name in _REAL_AWS_VARS or name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def boto_session(sandbox_server: Sandbox) -> boto3.session.Session:
    """One boto3 session for all tests, its credentials read from the isolated environment.

    Each new session reloads botocore's service models (about 0.1 s per client), so sharing
    one keeps the suite fast; the environment is the same dummy one for every test.
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate_environment(monkeypatch, sandbox_server)
        session = boto3.session.Session()
        credentials = session.get_credentials()
        assert credentials is not None
        assert credentials.access_key == sandbox_server.credentials.access_key_id
    return session


@pytest.fixture
def sandbox(sandbox_server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The sandbox, freshly reset and seeded, with the environment pointing at it only."""
    _isolate_environment(monkeypatch, sandbox_server)
    sandbox_server.reset(seed=True)
    return sandbox_server


Client = Callable[..., Any]
"""``aws("s3", "eu-west-1")``: makes a boto3 client on the sandbox."""


@pytest.fixture
def aws(sandbox: Sandbox, boto_session: boto3.session.Session) -> Client:
    """``aws("s3", "eu-west-1")``: a boto3 client with the environment's dummy credentials."""

    def make(service: str, region: str = "us-east-1") -> Any:
        factory: Any = boto_session.client
        return factory(service, region_name=region, endpoint_url=sandbox.endpoint_url)

    return make


@contextmanager
def aws_error(code: str, *, message: str | None = None) -> Iterator[None]:
    """Assert the block raises a ClientError with AWS's ``code`` (and ``message`` text)."""
    with pytest.raises(ClientError) as caught:
        yield
    error = caught.value.response["Error"]
    assert error["Code"] == code, error
    if message is not None:
        assert message in error["Message"], error
