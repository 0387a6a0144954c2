"""How sessions load the AWS SDK (wizard.aws.clients / wizard.aws.session), made faster.

The data loader reads botocore's own model files without scanning every service and into
plain dicts: the models must be exactly botocore's, and unknown services must fail as
botocore makes them fail. Opening a session needs neither boto3 nor pydantic.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest
from botocore import exceptions as boto_errors
from botocore.loaders import Loader

from wizard.aws.clients import install_fast_loader

ROOT = Path(__file__).resolve().parents[3]

MODELS = [
    ("s3", "service-2"),
    ("s3", "endpoint-rule-set-1"),
    ("sts", "service-2"),
    ("cloudtrail", "paginators-1"),
    ("iam", "service-2"),
    ("kms", "service-2"),
]


@pytest.fixture
def core() -> botocore.session.Session:
    session = botocore.session.Session()
    install_fast_loader(session)
    return session


@pytest.mark.parametrize(("service", "kind"), MODELS)
def test_models_are_botocores_own(core: botocore.session.Session, service: str, kind: str) -> None:
    ours = core.get_component("data_loader").load_service_model(service, kind)

    assert ours == Loader().load_service_model(service, kind)
    assert type(ours) is dict


@pytest.mark.parametrize("name", ["endpoints", "partitions", "_retry"])
def test_shared_data_is_botocores_own(core: botocore.session.Session, name: str) -> None:
    assert core.get_component("data_loader").load_data(name) == Loader().load_data(name)


def test_an_unknown_service_fails_as_botocore_fails(core: botocore.session.Session) -> None:
    with pytest.raises(boto_errors.UnknownServiceError) as caught:
        core.create_client("no-such-service", region_name="us-east-1")

    assert "no-such-service" in str(caught.value)


def test_a_model_type_a_service_lacks_is_not_found(core: botocore.session.Session) -> None:
    with pytest.raises(boto_errors.DataNotFoundError):
        core.get_component("data_loader").load_service_model("sts", "waiters-2")


def test_a_client_from_the_fast_loader_works(core: botocore.session.Session) -> None:
    client = core.create_client(
        "cloudtrail",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    assert client.meta.region_name == "eu-west-1"
    assert client.can_paginate("list_trails")
    assert "create_trail" in dir(client)


def test_opening_a_session_imports_neither_boto3_nor_pydantic(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from types import SimpleNamespace\n"
        "from wizard.aws.session import open_session\n"
        "settings = SimpleNamespace(profile=None, region='us-east-1', read_only=False,\n"
        "    sandbox_endpoint='http://127.0.0.1:9', retry_mode='standard', max_attempts=1)\n"
        "session = open_session(settings, verify=False)\n"
        "session.factory.client('s3', 'us-east-1')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'pydantic')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
