"""botocore clients and the botocore implementation of :class:`wizard.ports.AwsCaller`.

This is the only module that creates AWS SDK clients. It needs botocore only: a boto3
Session is accepted, but boto3 (with the s3transfer and resource machinery it imports) is
never imported here. Everything above it calls AWS through :class:`Boto3Caller`, which
turns every botocore failure into one of three things the core understands:
:class:`wizard.ports.AwsError` (AWS said no, or could not be reached),
:class:`wizard.aws.session.CredentialsProblem` (the credentials cannot be used; no retry or
rollback will fix that) or :class:`wizard.model.readonly.DryRunViolation` (a bug: a write in a
read-only session).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import zlib
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import botocore.session
from botocore import exceptions as boto_errors
from botocore import xform_name
from botocore.config import Config
from botocore.loaders import ExtrasProcessor, JSONFileLoader, Loader, instance_cache
from botocore.response import StreamingBody

from wizard import __version__
from wizard.aws.basics import CredentialsProblem, RetryMode
from wizard.model.readonly import DryRunViolation, is_read_only
from wizard.ports import AwsError

if TYPE_CHECKING:
    import boto3
    from botocore.awsrequest import AWSRequest
    from botocore.client import BaseClient
    from botocore.config import _S3Dict
    from botocore.hooks import BaseEventHooks
    from botocore.model import OperationModel

    SdkSession: TypeAlias = boto3.Session | botocore.session.Session
else:
    SdkSession: TypeAlias = Any

__all__ = [
    "CREDENTIAL_ERROR_CODES",
    "Boto3Caller",
    "ClientFactory",
    "DryRunViolation",
    "RetryMode",
    "SdkSession",
    "credentials_problem_from",
    "install_fast_loader",
    "install_readonly_guard",
    "to_jsonable",
]


CREDENTIAL_ERROR_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "TokenRefreshRequired",
    }
)
"""AWS error codes that mean "these credentials are expired or wrong", not "no permission"."""

_EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"})


def _profile_flag(profile: str | None) -> str:
    return f" --profile {profile}" if profile else ""


def credentials_problem_from(
    exc: Exception,
    profile: str | None,
    *,
    code: str | None = None,
    message: str | None = None,
    region: str | None = None,
) -> CredentialsProblem:
    """Turn a botocore credentials failure into an actionable :class:`CredentialsProblem`.

    Args:
        exc: The botocore exception (NoCredentialsError, an SSO error, a ClientError ...).
        profile: The profile in use, named in the advice.
        code: The AWS error code, for ClientErrors.
        message: The AWS error message, for ClientErrors.
        region: The region of the failing call, mentioned for region-related rejections.

    Returns:
        The problem to raise.
    """
    whose = f" of profile '{profile}'" if profile else ""
    sso_login = f"`aws sso login{_profile_flag(profile)}`"
    if isinstance(exc, boto_errors.NoCredentialsError):
        return CredentialsProblem(
            f"No AWS credentials found{whose}. Configure some with `aws configure` (access "
            f"keys) or log in with `aws sso login --profile NAME` (IAM Identity Center) and "
            "pass --profile NAME; or try the wizard without an AWS account using --sandbox.",
            kind="no-credentials",
        )
    if isinstance(exc, boto_errors.PartialCredentialsError):
        return CredentialsProblem(
            f"The AWS credentials{whose} are incomplete ({exc}). Set both the access key id and "
            "the secret access key (`aws configure`), or use --sandbox to try without AWS.",
            kind="no-credentials",
        )
    if isinstance(exc, boto_errors.SSOError | boto_errors.TokenRetrievalError):
        return CredentialsProblem(
            f"The AWS SSO login{whose} has expired or is missing ({exc}). Run {sso_login} "
            "and try again.",
            kind="expired",
        )
    if code in _EXPIRED_CODES:
        return CredentialsProblem(
            f"The AWS credentials{whose} have expired ({code}: {message}). Run {sso_login} "
            "(IAM Identity Center) or refresh your temporary credentials, then try again.",
            kind="expired",
        )
    if code is not None:
        opt_in = (
            f" If {region} is an opt-in region, check that it is enabled for the account."
            if region
            else ""
        )
        return CredentialsProblem(
            f"AWS rejected the credentials{whose} ({code}: {message}). Check the access key "
            f"(`aws configure{_profile_flag(profile)}`) or log in again with {sso_login}."
            f"{opt_in}",
            kind="invalid-credentials",
        )
    return CredentialsProblem(
        f"Could not load the AWS credentials{whose}: {exc}. Check the profile's "
        f"configuration, or log in again with {sso_login}.",
        kind="credentials",
    )


_GUARD_ID = "cloudtrail-wizard-readonly-guard"


def _readonly_guard(model: OperationModel, **_: Any) -> None:
    """botocore ``before-call`` hook: refuse every operation that is not a read."""
    if not is_read_only(model.name):
        raise DryRunViolation(model.name, model.service_model.service_name)


class _ModelFileLoader(JSONFileLoader):
    """Reads botocore's model files (``.json`` or ``.json.gz``) into plain dicts.

    botocore's own reader decompresses in small chunks and builds an OrderedDict for every
    JSON object through a Python-level hook; these files are several megabytes (the
    endpoints file, the S3 model), and plain dicts, which keep their order too, take a
    quarter less time to make a client. Same files, same search order, same values.
    """

    def load_file(self, file_path: str) -> Any:
        for extension in (".json", ".json.gz"):
            try:
                with open(file_path + extension, "rb") as handle:
                    raw = handle.read()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            if extension == ".json.gz":
                raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS)  # the gzip container
            return json.loads(raw.decode("utf-8"))
        return None


class _DirectLoader(Loader):
    """botocore's data loader, minus a scan of every service's directory per model type.

    Before loading ``s3/.../service-2`` botocore lists every service it knows (some 400
    directories, each listed again for its API versions), once per model type: a tenth of a
    second of start-up for a command that needs four services. This loader goes straight to
    the service's own directory. Whatever it cannot find that way (an unknown service, a
    model type the service lacks) is left to botocore's own method, so errors and their
    messages stay botocore's. Files are read by :class:`_ModelFileLoader`.
    """

    FILE_LOADER_CLASS = _ModelFileLoader

    @instance_cache
    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        try:
            if api_version is None:
                api_version = self.determine_latest_version(service_name, type_name)
            folder = os.path.join(service_name, api_version)
            model = self.load_data(os.path.join(folder, type_name))
            extras = []
            for kind in self.extras_types:
                with contextlib.suppress(boto_errors.DataNotFoundError):
                    extra = self.load_data(os.path.join(folder, f"{type_name}.{kind}-extras"))
                    extras.append(extra)
            ExtrasProcessor().process(model, extras)
            return model
        except Exception:
            return super().load_service_model(service_name, type_name, api_version)


def install_fast_loader(core: botocore.session.Session) -> None:
    """Give a botocore session the :class:`_DirectLoader` (same search path as botocore's).

    Reads the ``data_path`` setting, which resolves the profile: a profile that does not
    exist raises ``ProfileNotFound`` here, as it would on the first client.
    """
    # As botocore.loaders.create_loader reads AWS_DATA_PATH / data_path.
    setting = core.get_config_variable("data_path")
    extra = (
        None
        if setting is None
        else [os.path.expanduser(os.path.expandvars(p)) for p in str(setting).split(os.pathsep)]
    )
    core.register_component("data_loader", _DirectLoader(extra_search_paths=extra))


MAX_CONNECTIONS = 32
"""Connections a client keeps open (botocore keeps 10): above the lookups' bound of 16
requests in flight (:data:`wizard.account.lookups.READS_AT_ONCE`)."""


class ClientFactory:
    """Creates and caches one client per (service, region); safe across threads.

    The session is a botocore Session (what :func:`wizard.aws.session.open_session` makes)
    or a boto3 Session. Sessions are not thread-safe while creating clients, so creation is
    serialised; the clients themselves are thread-safe and shared.

    Endpoints: without ``endpoint_url`` botocore resolves them itself, which honours
    ``AWS_ENDPOINT_URL`` and the per-service ``AWS_ENDPOINT_URL_<SERVICE>`` variables. An
    explicit ``endpoint_url`` (the sandbox) wins over both.
    """

    def __init__(
        self,
        session: SdkSession,
        *,
        endpoint_url: str | None = None,
        retry_mode: RetryMode = "standard",
        max_attempts: int = 8,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        read_only: bool = False,
    ) -> None:
        """Prepare the factory; no client is created until asked for.

        Args:
            session: The botocore (or boto3) session holding credentials.
            endpoint_url: Send every call to this URL (the sandbox emulator).
            retry_mode: botocore retry mode; ``adaptive`` also rate-limits client-side.
            max_attempts: Total attempts per call, first one included.
            connect_timeout: Seconds to wait for a connection.
            read_timeout: Seconds to wait for a response.
            read_only: Install the read-only guard on every client (dry-run).
        """
        self.session = session
        self.endpoint_url = endpoint_url
        self.read_only = read_only
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], BaseClient] = {}
        # Emulators (and most S3-compatible endpoints) serve buckets under a path, not as
        # "<bucket>.<host>" names that would need wildcard DNS.
        s3_options: _S3Dict | None = {"addressing_style": "path"} if endpoint_url else None
        self.custom_endpoint = endpoint_url is not None or any(
            os.environ.get(name) for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3CONTROL")
        )
        """Requests go to an endpoint of one's own (the sandbox, an emulator named in
        AWS_ENDPOINT_URL), not AWS's."""
        self.config = Config(
            # total_max_attempts counts the first attempt too; botocore's "max_attempts" would not.
            retries={"mode": retry_mode, "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            user_agent_extra=f"cloudtrail-wizard/{__version__}",
            s3=s3_options,
            # Lookups have up to 16 requests in flight, often on one client (one region's
            # buckets): botocore's 10 connections would be closed and opened again each time.
            max_pool_connections=MAX_CONNECTIONS,
        )

    @property
    def profile_name(self) -> str | None:
        """The profile the session uses (None for explicit keys or the default chain)."""
        if isinstance(self.session, botocore.session.Session):
            profile = self.session.profile
        else:
            profile = self.session.profile_name
        return None if profile in (None, "default") else str(profile)

    def client(self, service: str, region: str) -> BaseClient:
        """The shared client for ``service`` in ``region``.

        Args:
            service: boto3 service name (``s3``, ``kms``, ``cloudtrail``, ...).
            region: Region name.

        Returns:
            A botocore client, with the read-only guard when the factory is read-only.
        """
        key = (service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                create = (
                    self.session.create_client
                    if isinstance(self.session, botocore.session.Session)
                    else self.session.client
                )
                client = create(  # type: ignore[call-overload]
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=self.config,
                )
                if self.read_only:
                    install_readonly_guard(client)
                if service == "s3control" and self.custom_endpoint:
                    _one_host_for_s3_control(client)
                self._clients[key] = client
            return client

    def cached_clients(self) -> list[BaseClient]:
        """Every client created so far."""
        with self._lock:
            return list(self._clients.values())

    def close(self) -> None:
        """Close every client made so far (their connections) and forget them.

        The factory stays usable: the next call makes its client again. Onboarding closes
        each account's clients between its two passes over a thousand accounts, so that
        neither their memory nor their connections pile up.
        """
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def make_read_only(self) -> None:
        """Guard every client made so far and every client made from now on."""
        with self._lock:
            self.read_only = True
            clients = list(self._clients.values())
        for client in clients:
            install_readonly_guard(client)


def _one_host_for_s3_control(client: BaseClient) -> None:
    """Send S3 Control's requests to the custom endpoint's own host.

    S3 Control names the account in the host (``<account>.<host>``, from its endpoint
    rules, whatever ``inject_host_prefix`` says); an endpoint of one's own serves every
    account at one host, so that name resolves to nothing and the SDK retries the failed
    lookup for seconds. The account stays in the request's ``x-amz-account-id`` header.
    """
    host = urlsplit(str(client.meta.endpoint_url)).netloc

    def strip_account(request: AWSRequest, **_: Any) -> None:
        parts = urlsplit(str(request.url))
        if parts.netloc.endswith("." + host):
            request.url = urlunsplit(parts._replace(netloc=host))

    client.meta.events.register("before-sign.s3-control", strip_account)


def install_readonly_guard(
    target: ClientFactory | BaseClient | SdkSession | BaseEventHooks,
) -> None:
    """Refuse every non-read operation before it is sent, with :class:`DryRunViolation`.

    The guard is a botocore ``before-call`` hook; the allowlist is
    :func:`wizard.model.readonly.is_read_only`. Installing it twice is harmless.

    Args:
        target: A :class:`ClientFactory` (guards its clients, present and future), a botocore
            client, a botocore or boto3 Session (guards clients created from it afterwards)
            or a botocore event system.
    """
    if isinstance(target, ClientFactory):
        target.make_read_only()
        return
    events: BaseEventHooks
    if isinstance(target, botocore.session.Session):
        events = target.get_component("event_emitter")
    elif hasattr(target, "meta") and hasattr(target.meta, "events"):
        events = target.meta.events
    elif hasattr(target, "events") and hasattr(target, "client"):  # a boto3 Session
        events = target.events
    else:
        events = target  # type: ignore[assignment]
    events.register("before-call", _readonly_guard, unique_id=_GUARD_ID)


def to_jsonable(value: Any) -> Any:
    """A JSON-serialisable copy of a boto3 response.

    datetimes become ISO-8601 strings, bytes become text (or ``base64:`` + base64 when not
    UTF-8), streaming bodies are read as text, Decimals become int or float, sets lists.
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return [to_jsonable(v) for v in sorted(value, key=str)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, StreamingBody):
        return to_jsonable(value.read())
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class Boto3Caller:
    """:class:`wizard.ports.AwsCaller` over boto3 clients from a :class:`ClientFactory`.

    ``stats`` counts requests per (service, operation): one per :meth:`call`, one per page of
    :meth:`paginate`. botocore's own retries of a request are not counted separately.
    """

    def __init__(self, factory: ClientFactory) -> None:
        """Wrap a factory.

        Args:
            factory: Supplies (cached) clients.
        """
        self.factory = factory
        self._stats: Counter[tuple[str, str]] = Counter()
        self._stats_lock = threading.Lock()

    @property
    def stats(self) -> Counter[tuple[str, str]]:
        """A snapshot of the request counts per (service, operation)."""
        with self._stats_lock:
            return Counter(self._stats)

    def reset_stats(self) -> None:
        """Forget the counts."""
        with self._stats_lock:
            self._stats.clear()

    def _count(self, service: str, operation: str) -> None:
        with self._stats_lock:
            self._stats[(service, operation)] += 1

    def _method(self, service: str, region: str, operation: str) -> tuple[BaseClient, str]:
        client = self.factory.client(service, region)
        name = xform_name(operation)
        if not hasattr(client, name):
            raise ValueError(f"{service} has no operation {operation!r} (looked for {name})")
        return client, name

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Make one call; see :meth:`wizard.ports.AwsCaller.call`.

        Raises:
            AwsError: AWS refused the call, or could not be reached.
            CredentialsProblem: the credentials are missing, expired or invalid.
            DryRunViolation: a write on a read-only factory.
        """
        client, name = self._method(service, region, operation)
        self._count(service, operation)
        try:
            response = getattr(client, name)(**dict(params or {}))
            result = to_jsonable(response)
        except DryRunViolation:
            raise
        except Exception as exc:
            raise self._convert(exc, client, service, region, operation) from exc
        meta = result.pop("ResponseMetadata", None) or {}
        retries = meta.get("RetryAttempts") or 0
        if retries and not is_read_only(operation):
            # A change botocore sent more than once may have been made more than once (its
            # first answer lost): the core needs to know (wizard.run.orphans).
            result["ResponseMetadata"] = {"RetryAttempts": retries}
        return result  # type: ignore[no-any-return]

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Every item under ``result_key`` across all pages (a single call if not pageable).

        Raises:
            AwsError: a page failed.
            CredentialsProblem: the credentials are missing, expired or invalid.
            DryRunViolation: a write on a read-only factory.
        """
        client, name = self._method(service, region, operation)
        if not client.can_paginate(name):
            response = self.call(service, region, operation, params)
            return list(response.get(result_key) or [])
        items: list[Any] = []
        try:
            for page in client.get_paginator(name).paginate(**dict(params or {})):
                self._count(service, operation)
                items.extend(to_jsonable(page.get(result_key) or []))
        except DryRunViolation:
            raise
        except Exception as exc:
            # The page that failed was a request too.
            self._count(service, operation)
            raise self._convert(exc, client, service, region, operation) from exc
        return items

    def _convert(
        self, exc: Exception, client: BaseClient, service: str, region: str, operation: str
    ) -> Exception:
        """Map a botocore failure onto AwsError / CredentialsProblem; others pass through."""
        profile = self.factory.profile_name
        if isinstance(exc, boto_errors.ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "Unknown")
            message = str(error.get("Message") or exc)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in CREDENTIAL_ERROR_CODES:
                return credentials_problem_from(
                    exc, profile, code=code, message=message, region=region
                )
            return AwsError(
                service=service, operation=operation, code=code, message=message, status=status
            )
        if isinstance(
            exc,
            boto_errors.NoCredentialsError
            | boto_errors.PartialCredentialsError
            | boto_errors.SSOError
            | boto_errors.TokenRetrievalError
            | boto_errors.CredentialRetrievalError,
        ):
            return credentials_problem_from(exc, profile)
        endpoint = client.meta.endpoint_url
        if isinstance(exc, boto_errors.ReadTimeoutError):
            return AwsError(
                service=service,
                operation=operation,
                code="ReadTimeout",
                message=(
                    f"{endpoint} did not answer {operation} in time ({region}). The network "
                    "may be slow or the endpoint overloaded: try again."
                ),
            )
        if isinstance(
            exc,
            boto_errors.ConnectionError
            | boto_errors.ConnectionClosedError
            | boto_errors.HTTPClientError,
        ):
            code = "EndpointConnectionError"
            return AwsError(
                service=service,
                operation=operation,
                code=code,
                message=(
                    f"Could not connect to {endpoint} for {service}:{operation} in {region} "
                    f"({type(exc).__name__}). Check the network and any proxy settings, that "
                    "the region is right, and with --sandbox that the emulator is running."
                ),
            )
        if isinstance(exc, boto_errors.ParamValidationError):
            return AwsError(
                service=service,
                operation=operation,
                code="ParamValidationError",
                message=f"Invalid parameters for {operation} (not sent to AWS): {exc}",
            )
        return exc
