"""ClientFactory, Boto3Caller, the read-only guard and open_session, against moto over HTTP."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from tests.sandbox_fixtures import ACCOUNT, REGION, dummy_session
from wizard.aws.clients import (
    Boto3Caller,
    ClientFactory,
    DryRunViolation,
    install_readonly_guard,
    to_jsonable,
)
from wizard.aws.session import (
    CredentialsProblem,
    SessionSettings,
    explain_aws_error,
    open_session,
)
from wizard.model.readonly import READ_PREFIXES, is_read_only
from wizard.ports import AwsError

# --- factory --------------------------------------------------------------------------------


def test_clients_are_cached_per_service_and_region(factory: ClientFactory) -> None:
    assert factory.client("s3", REGION) is factory.client("s3", REGION)
    assert factory.client("s3", REGION) is not factory.client("s3", "eu-west-1")
    assert factory.client("s3", REGION) is not factory.client("kms", REGION)


def test_client_creation_is_thread_safe(boto_session: boto3.Session, endpoint: str) -> None:
    factory = ClientFactory(boto_session, endpoint_url=endpoint)
    barrier = threading.Barrier(8, timeout=30)
    made: list[Any] = []
    lock = threading.Lock()

    def make() -> None:
        barrier.wait()  # all threads ask at the same moment
        client = factory.client("kms", REGION)
        with lock:
            made.append(client)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(made) == 8
    assert len({id(c) for c in made}) == 1


def test_config_retries_timeouts_and_path_style(boto_session: boto3.Session) -> None:
    factory = ClientFactory(
        boto_session,
        endpoint_url="http://127.0.0.1:9",
        retry_mode="adaptive",
        max_attempts=5,
        connect_timeout=3,
        read_timeout=7,
    )
    config: Any = factory.client("s3", REGION).meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 5}
    assert (config.connect_timeout, config.read_timeout) == (3, 7)
    assert config.s3 == {"addressing_style": "path"}
    assert factory.client("s3", REGION).meta.endpoint_url == "http://127.0.0.1:9"
    # Without an explicit endpoint boto3 chooses (and S3 addressing is left to it).
    plain: Any = ClientFactory(boto_session).client("s3", REGION).meta.config
    assert plain.s3 is None


def test_aws_endpoint_url_from_the_environment_is_honoured(
    boto_session: boto3.Session, endpoint: str, raw: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    caller = Boto3Caller(ClientFactory(dummy_session()))
    caller.call("s3", REGION, "CreateBucket", {"Bucket": "from-env-endpoint"})
    assert [b["Name"] for b in raw("s3").list_buckets()["Buckets"]] == ["from-env-endpoint"]


# --- caller: responses ------------------------------------------------------------------------


def test_call_strips_metadata_and_is_json_serialisable(caller: Boto3Caller) -> None:
    created = caller.call("kms", REGION, "CreateKey", {"Description": "d"})
    assert "ResponseMetadata" not in created
    meta = created["KeyMetadata"]
    assert isinstance(meta["CreationDate"], str)  # datetime -> ISO text
    json.dumps(created)
    encrypted = caller.call("kms", REGION, "Encrypt", {"KeyId": meta["KeyId"], "Plaintext": b"x"})
    assert isinstance(encrypted["CiphertextBlob"], str)
    json.dumps(encrypted)


def test_streaming_bodies_are_read_as_text(caller: Boto3Caller) -> None:
    caller.call("s3", REGION, "CreateBucket", {"Bucket": "body-bucket"})
    caller.call("s3", REGION, "PutObject", {"Bucket": "body-bucket", "Key": "k", "Body": b"hi"})
    got = caller.call("s3", REGION, "GetObject", {"Bucket": "body-bucket", "Key": "k"})
    assert got["Body"] == "hi"
    json.dumps(got)


def test_to_jsonable_conversions() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    value = {
        "when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "raw": b"\xff\x00",
        "text": b"ok",
        "n": Decimal("3"),
        "f": Decimal("1.5"),
        "s": {"b", "a"},
    }
    assert to_jsonable(value) == {
        "when": "2024-01-02T03:04:05+00:00",
        "raw": "base64:/wA=",
        "text": "ok",
        "n": 3,
        "f": 1.5,
        "s": ["a", "b"],
    }


def test_stats_and_pagination(caller: Boto3Caller) -> None:
    caller.call("s3", REGION, "CreateBucket", {"Bucket": "paged-bucket"})
    for i in range(3):
        caller.call("s3", REGION, "PutObject", {"Bucket": "paged-bucket", "Key": f"k{i}"})
    items = caller.paginate(
        "s3",
        REGION,
        "ListObjectsV2",
        "Contents",
        {"Bucket": "paged-bucket", "PaginationConfig": {"PageSize": 1}},
    )
    assert sorted(i["Key"] for i in items) == ["k0", "k1", "k2"]
    stats = caller.stats
    assert stats[("s3", "CreateBucket")] == 1
    assert stats[("s3", "PutObject")] == 3
    assert stats[("s3", "ListObjectsV2")] == 3  # one per page
    # Not pageable: one plain call.
    assert caller.paginate("cloudtrail", REGION, "DescribeTrails", "trailList") == []
    assert caller.stats[("cloudtrail", "DescribeTrails")] == 1
    caller.reset_stats()
    assert sum(caller.stats.values()) == 0


def test_stats_are_thread_safe(caller: Boto3Caller) -> None:
    barrier = threading.Barrier(6, timeout=30)

    def work() -> None:
        barrier.wait()
        for _ in range(5):
            caller.call("sts", REGION, "GetCallerIdentity")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert caller.stats[("sts", "GetCallerIdentity")] == 30


# --- caller: errors ---------------------------------------------------------------------------


def test_client_error_becomes_aws_error(caller: Boto3Caller) -> None:
    with pytest.raises(AwsError) as info:
        caller.call("s3", REGION, "GetBucketPolicy", {"Bucket": "no-such-bucket-here"})
    err = info.value
    assert (err.service, err.operation, err.code, err.status) == (
        "s3",
        "GetBucketPolicy",
        "NoSuchBucket",
        404,
    )
    assert "does not exist" in err.message
    assert err.not_found
    with pytest.raises(AwsError) as head:
        caller.call("s3", REGION, "HeadBucket", {"Bucket": "no-such-bucket-here"})
    assert head.value.code == "404" and head.value.not_found


def test_paginated_client_error_becomes_aws_error(caller: Boto3Caller) -> None:
    with pytest.raises(AwsError) as info:
        caller.paginate("s3", REGION, "ListObjectsV2", "Contents", {"Bucket": "no-such-bkt"})
    assert info.value.code == "NoSuchBucket"
    assert caller.stats[("s3", "ListObjectsV2")] == 1


def test_unreachable_endpoint_gives_a_clear_aws_error(
    boto_session: boto3.Session, closed_port_url: str
) -> None:
    caller = Boto3Caller(ClientFactory(boto_session, endpoint_url=closed_port_url, max_attempts=1))
    with pytest.raises(AwsError) as info:
        caller.call("s3", REGION, "ListBuckets")
    err = info.value
    assert err.code == "EndpointConnectionError"
    assert closed_port_url in err.message
    assert "Could not connect" in err.message and "--sandbox" in err.message
    assert err.status is None


def test_invalid_parameters_become_aws_error(caller: Boto3Caller) -> None:
    with pytest.raises(AwsError) as info:
        caller.call("sns", REGION, "CreateTopic", {})
    assert info.value.code == "ParamValidationError"
    assert "Name" in info.value.message
    assert "not sent" in info.value.message


def test_unknown_operation_is_a_programming_error(caller: Boto3Caller) -> None:
    with pytest.raises(ValueError, match="FlyToTheMoon"):
        caller.call("s3", REGION, "FlyToTheMoon")


def test_missing_credentials_become_credentials_problem(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var)
    caller = Boto3Caller(ClientFactory(boto3.Session(region_name=REGION), endpoint_url=endpoint))
    with pytest.raises(CredentialsProblem) as info:
        caller.call("s3", REGION, "ListBuckets")
    assert info.value.kind == "no-credentials"
    assert "--sandbox" in info.value.message and "aws configure" in info.value.message


def test_expired_token_becomes_credentials_problem(factory: ClientFactory) -> None:
    caller = Boto3Caller(factory)
    client = factory.client("sts", REGION)
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_caller_identity",
            service_error_code="ExpiredToken",
            service_message="The security token included in the request is expired",
            http_status_code=403,
        )
        with pytest.raises(CredentialsProblem) as info:
            caller.call("sts", REGION, "GetCallerIdentity")
    assert info.value.kind == "expired"
    assert "aws sso login" in info.value.message
    assert "expired" in info.value.message


# --- read-only guard --------------------------------------------------------------------------


def test_read_only_factory_refuses_writes_on_the_client_itself(
    boto_session: boto3.Session, endpoint: str, raw: Any
) -> None:
    factory = ClientFactory(boto_session, endpoint_url=endpoint, read_only=True)
    s3: Any = factory.client("s3", REGION)
    with pytest.raises(DryRunViolation) as info:
        s3.create_bucket(Bucket="must-not-exist")
    assert info.value.operation == "CreateBucket"
    assert "CreateBucket" in str(info.value)
    assert s3.list_buckets()["Buckets"] == []  # reads still work
    assert raw("s3").list_buckets()["Buckets"] == []  # nothing was created
    caller = Boto3Caller(factory)
    with pytest.raises(DryRunViolation):
        caller.call("kms", REGION, "CreateKey")
    assert raw("kms").list_keys()["Keys"] == []
    assert caller.call("sts", REGION, "GetCallerIdentity")["Account"] == ACCOUNT


def test_guard_on_a_plain_client_a_session_and_an_existing_factory(endpoint: str, raw: Any) -> None:
    session = dummy_session()
    client = session.client("sns", endpoint_url=endpoint)
    install_readonly_guard(client)
    install_readonly_guard(client)  # twice is harmless
    with pytest.raises(DryRunViolation):
        client.create_topic(Name="nope")
    assert client.list_topics()["Topics"] == []

    guarded_session = dummy_session()
    install_readonly_guard(guarded_session)
    with pytest.raises(DryRunViolation):
        guarded_session.client("s3", endpoint_url=endpoint).create_bucket(Bucket="nope-bucket")

    factory = ClientFactory(dummy_session(), endpoint_url=endpoint)
    before: Any = factory.client("kms", REGION)
    install_readonly_guard(factory)
    assert factory.read_only
    with pytest.raises(DryRunViolation):
        before.create_key()
    with pytest.raises(DryRunViolation):
        after: Any = factory.client("kms", "eu-west-1")
        after.create_key()
    assert raw("kms").list_keys()["Keys"] == []
    assert raw("sns").list_topics()["Topics"] == []
    assert raw("s3").list_buckets()["Buckets"] == []


@pytest.mark.parametrize(
    "operation",
    [
        "GetBucketPolicy",
        "DescribeKey",
        "ListAliases",
        "HeadBucket",
        "LookupEvents",
        "GetCallerIdentity",
        "SimulatePrincipalPolicy",
        "GetTrailStatus",
    ],
)
def test_reads_are_allowed(operation: str) -> None:
    assert is_read_only(operation)


@pytest.mark.parametrize(
    "operation",
    [
        "CreateBucket",
        "PutBucketPolicy",
        "DeleteBucket",
        "ScheduleKeyDeletion",
        "StartLogging",
        "UpdateTrail",
        "TagResource",
        "Getaway",
        "Listen",
        "GetSessionToken",
        "",
    ],
)
def test_everything_else_is_refused(operation: str) -> None:
    assert not is_read_only(operation)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", max_size=20))
def test_only_allowlisted_prefixes_pass(operation: str) -> None:
    if is_read_only(operation):
        assert operation.startswith(READ_PREFIXES) or operation in {
            "LookupEvents",
            "SimulatePrincipalPolicy",
            "SimulateCustomPolicy",
            "ValidatePolicy",
            "CheckNoNewAccess",
            "CheckAccessNotGranted",
            "CheckNoPublicAccess",
        }


# --- open_session -----------------------------------------------------------------------------


@pytest.fixture
def aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port_url: str) -> Path:
    """A config file with a few profiles; real AWS is unreachable (endpoint = closed port)."""
    config = tmp_path / "aws-config"
    config.write_text(
        "[default]\nregion = us-east-1\n\n"
        "[profile dev]\nregion = eu-west-1\n\n"
        "[profile sso-dev]\n"
        "sso_start_url = https://example.awsapps.com/start\n"
        "sso_region = us-east-1\n"
        "sso_account_id = 123456789012\n"
        "sso_role_name = Admin\n"
        "region = us-east-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("HOME", str(tmp_path))  # no SSO token cache
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url)
    return config


def test_sandbox_forces_dummy_credentials_without_touching_the_environment(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY12")
    monkeypatch.setenv("AWS_PROFILE", "some-profile-that-does-not-exist")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    env_before = dict(os.environ)

    session = open_session(SessionSettings(sandbox_endpoint=endpoint.removeprefix("http://")))

    assert session.sandbox
    assert session.region == "us-east-1"
    assert session.whoami() == (ACCOUNT, "aws", f"arn:aws:sts::{ACCOUNT}:user/moto")
    credentials = session.boto3_session.get_credentials()
    assert credentials is not None and credentials.access_key == "testing"
    assert session.factory.endpoint_url == endpoint
    assert dict(os.environ) == env_before
    session.caller.call("s3", "us-east-1", "CreateBucket", {"Bucket": "sandbox-made"})
    assert session.caller.stats[("sts", "GetCallerIdentity")] == 1  # whoami is cached


def test_sandbox_read_only_session(endpoint: str) -> None:
    session = open_session(SessionSettings(sandbox_endpoint=endpoint, read_only=True))
    with pytest.raises(DryRunViolation):
        session.caller.call("s3", session.region, "CreateBucket", {"Bucket": "nope-bucket"})


def test_unreachable_sandbox_is_explained(closed_port_url: str) -> None:
    with pytest.raises(CredentialsProblem) as info:
        open_session(SessionSettings(sandbox_endpoint=closed_port_url, max_attempts=1))
    assert info.value.kind == "endpoint"
    assert closed_port_url in info.value.message
    assert "sandbox" in info.value.message


def test_unknown_profile_lists_the_configured_ones(aws_config: Path) -> None:
    with pytest.raises(CredentialsProblem) as info:
        open_session(SessionSettings(profile="nope"))
    assert info.value.kind == "profile-not-found"
    assert "'nope'" in info.value.message
    assert "default, dev, sso-dev" in info.value.message


def test_unknown_profile_from_the_environment(
    aws_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "ghost")
    with pytest.raises(CredentialsProblem) as info:
        open_session(SessionSettings())
    assert "'ghost'" in info.value.message and "AWS_PROFILE" in info.value.message


def test_no_credentials_suggests_sandbox_and_login(
    aws_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var)
    with pytest.raises(CredentialsProblem) as info:
        open_session(SessionSettings(region="us-east-1"))
    assert info.value.kind == "no-credentials"
    message = info.value.message
    assert "--sandbox" in message and "aws configure" in message and "aws sso login" in message


def test_expired_sso_login_names_the_profile(
    aws_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var)
    with pytest.raises(CredentialsProblem) as info:
        open_session(SessionSettings(profile="sso-dev"))
    assert info.value.kind == "expired"
    assert "aws sso login --profile sso-dev" in info.value.message


def test_no_region_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(CredentialsProblem) as info:
        open_session(SessionSettings(), verify=False)
    assert info.value.kind == "region"
    assert info.value.message.startswith("No region configured: pass --region or set AWS_REGION")


def test_aws_region_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert open_session(SessionSettings(), verify=False).region == "eu-west-1"
    explicit = open_session(SessionSettings(region="ap-south-1"), verify=False)
    assert explicit.region == "ap-south-1"


def test_unknown_region_is_explained() -> None:
    with pytest.raises(CredentialsProblem) as info:
        open_session(SessionSettings(region="mars-north-1"), verify=False)
    assert info.value.kind == "region"
    assert "not an AWS region" in info.value.message


def test_whoami_on_the_emulator_through_the_environment(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A non-sandbox session, sent to the emulator by AWS_ENDPOINT_URL (how a user might
    # point the wizard at LocalStack or moto): credentials come from the environment.
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    session = open_session(SessionSettings(region="eu-west-1"))
    account, partition, arn = session.whoami()
    assert (account, partition) == (ACCOUNT, "aws")
    assert arn.endswith(":user/moto")
    assert not session.sandbox


# --- explain_aws_error ------------------------------------------------------------------------


def _err(code: str, operation: str = "PutBucketPolicy", service: str = "s3", **kw: Any) -> AwsError:
    return AwsError(
        service=service,
        operation=operation,
        code=code,
        message=kw.get("message", "msg"),
        status=kw.get("status"),
    )


def test_access_denied_names_the_action_and_the_policy() -> None:
    text = explain_aws_error(_err("AccessDenied", status=403), None)
    assert text.startswith("The caller may not call s3:PutBucketPolicy (needed to ")
    assert "`cloudtrail-wizard policies ANSWERS` prints it" in text
    assert "section 'Your IAM policy'" in text
    head = explain_aws_error(
        _err("403", operation="HeadBucket"), "`cloudtrail-wizard policies my.yaml` prints it"
    )
    assert "s3:ListBucket" in head and "policies my.yaml" in head
    purposed = explain_aws_error(
        _err("AccessDeniedException", "CreateKey", "kms"), None, purpose="Create the log key"
    )
    assert "kms:CreateKey (needed to create the log key)" in purposed


def test_explicit_deny_is_not_fixed_by_the_operator_policy() -> None:
    text = explain_aws_error(
        _err(
            "AccessDenied",
            message="... with an explicit deny in a service control policy",
            status=403,
        ),
        None,
    )
    assert "explicit Deny" in text and "Attach the operator policy" not in text


def test_throttling_suggests_trying_again_later() -> None:
    text = explain_aws_error(_err("ThrottlingException", "CreateTrail", "cloudtrail"), None)
    assert "try again" in text and "concurrency" in text and "cloudtrail:CreateTrail" in text


def test_other_errors_keep_code_and_message() -> None:
    text = explain_aws_error(_err("MalformedPolicy", message="Policy has invalid resource"))
    assert "MalformedPolicy" in text and "Policy has invalid resource" in text
    gone = explain_aws_error(_err("NoSuchBucket", status=404, message="The bucket is gone"))
    assert "does not exist" in gone
