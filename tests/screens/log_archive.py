"""The sandbox's log-archive account as tests see it: its own clients, and a role STS refuses.

Shared by the TUI's and plain mode's tests of a bucket in another account.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from wizard.sandbox.server import DEMO_ACCOUNT, DEMO_LOG_ROLE_ARN


def log_archive_client(sandbox: Any, service: str) -> Any:
    """A boto3 client acting as the log-archive account (its role, assumed over STS)."""
    plain = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    creds = plain.assume_role(RoleArn=DEMO_LOG_ROLE_ARN, RoleSessionName="test-owner")[
        "Credentials"
    ]
    make: Any = boto3.client  # the service is a parameter: no literal overload applies
    return make(
        service,
        region_name="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


@contextmanager
def assume_role_refused(monkeypatch: pytest.MonkeyPatch, role_arn: str) -> Iterator[None]:
    """STS refuses ``role_arn``, as AWS does when its trust policy does not name the caller.

    The sandbox lets any role be assumed (moto does not read trust policies); this patches
    its STS backend, so the refusal still travels over HTTP as AWS's AccessDenied.
    """
    from moto.sts.exceptions import STSClientError
    from moto.sts.models import STSBackend

    original = STSBackend.assume_role

    def assume_role(self: Any, **kwargs: Any) -> Any:
        if kwargs["role_arn"] == role_arn:
            raise STSClientError(
                "AccessDenied",
                f"User: arn:aws:iam::{DEMO_ACCOUNT}:user/moto is not authorized to perform: "
                f"sts:AssumeRole on resource: {role_arn}",
            )
        return original(self, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(STSBackend, "assume_role", assume_role)
        yield
