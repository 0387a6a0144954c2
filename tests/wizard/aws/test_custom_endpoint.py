"""S3 Control on an endpoint of one's own: requests reach its host, not "<account>.<host>".

S3 Control's endpoint rules put the account in the host name; the sandbox (and any emulator
named in AWS_ENDPOINT_URL) serves every account at one host, so without the fix every
account-level Block Public Access read failed with a DNS error the SDK retried for seconds.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox_fixtures import ACCOUNT, dummy_session
from wizard.aws.clients import Boto3Caller, ClientFactory
from wizard.ports import AwsError

pytestmark = pytest.mark.aws


def test_s3_control_reaches_the_sandbox(sandbox: Any, sandbox_session: Any) -> None:
    caller = sandbox_session.caller

    with pytest.raises(AwsError) as raised:
        caller.call("s3control", "us-east-1", "GetPublicAccessBlock", {"AccountId": ACCOUNT})
    assert raised.value.code == "NoSuchPublicAccessBlockConfiguration"  # an answer, not DNS

    settings = {"BlockPublicAcls": True, "IgnorePublicAcls": True}
    caller.call(
        "s3control",
        "us-east-1",
        "PutPublicAccessBlock",
        {"AccountId": ACCOUNT, "PublicAccessBlockConfiguration": settings},
    )
    got = caller.call("s3control", "eu-west-1", "GetPublicAccessBlock", {"AccountId": ACCOUNT})
    assert got["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True


def test_an_endpoint_named_in_the_environment_counts_as_ones_own(
    monkeypatch: pytest.MonkeyPatch, sandbox: Any
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    caller = Boto3Caller(ClientFactory(dummy_session()))

    with pytest.raises(AwsError) as raised:
        caller.call("s3control", "us-east-1", "GetPublicAccessBlock", {"AccountId": ACCOUNT})
    assert raised.value.code == "NoSuchPublicAccessBlockConfiguration"


def test_against_aws_the_account_stays_in_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3CONTROL"):
        monkeypatch.delenv(name, raising=False)
    factory = ClientFactory(dummy_session())
    client: Any = factory.client("s3control", "us-east-1")
    sent: list[str] = []

    def capture(request: Any, **_: Any) -> Any:
        sent.append(request.url)
        raise RuntimeError("not sent")  # nothing leaves the machine

    client.meta.events.register_last("before-send.s3-control", capture)
    with pytest.raises(RuntimeError):
        client.get_public_access_block(AccountId=ACCOUNT)

    assert not factory.custom_endpoint
    assert sent and sent[0].startswith(f"https://{ACCOUNT}.s3-control.us-east-1.amazonaws.com/")
