"""Sessions in other accounts: STS AssumeRole from an opened session.

Used for the central log-archive account (``--log-account-role``) and for onboarding many
accounts. The role is assumed by botocore's own assume-role credential fetcher, so the
credentials refresh themselves before they expire (an onboarding run may outlast them).

AssumeRole is made by the fetcher's own STS client, not by the session's clients: it mints
credentials and changes nothing in any account, so a read-only (dry-run) session can still
reach another account, and every client of the new session gets the read-only guard when
asked for.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import boto3
import botocore.session
from botocore import exceptions as boto_errors
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)
from botocore.errorfactory import ClientExceptionsFactory
from botocore.hooks import HierarchicalEmitter
from botocore.loaders import Loader, create_loader

from wizard.aws.clients import Boto3Caller, ClientFactory, credentials_problem_from
from wizard.aws.session import AwsSession
from wizard.ports import AwsError

__all__ = ["DEFAULT_SESSION_NAME", "assume_role_session"]

DEFAULT_SESSION_NAME = "cloudtrail-wizard"
"""RoleSessionName used unless told otherwise (it shows in the target account's CloudTrail)."""

_STS_LOCK = threading.Lock()
"""botocore sessions are not thread-safe while creating clients."""


class _Provider(CredentialProvider):
    """Hands botocore the assume-role credentials (refreshable)."""

    METHOD = "cloudtrail-wizard-assume-role"
    CANONICAL_NAME = "cloudtrail-wizard-assume-role"

    def __init__(self, credentials: DeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> DeferredRefreshableCredentials:
        return self._credentials


_LOADER: Loader | None = None


def _shared_loader() -> Loader:
    """One botocore data loader for every assumed-role session of the process.

    Each botocore session otherwise gets its own loader and parses the service models and
    endpoint data again (about 0.4 s of CPU per account for the clients onboarding uses),
    which under the GIL serialises an onboarding run's accounts. The loaded data is only read.
    """
    global _LOADER
    with _STS_LOCK:
        if _LOADER is None:
            _LOADER = create_loader()
        return _LOADER


_STS_SESSION: botocore.session.Session | None = None
_STS_SESSION_LOCK = threading.Lock()


def _sts_session() -> botocore.session.Session:
    """The one botocore session every AssumeRole of the process makes its STS client with.

    It holds no credentials (each client is given the source session's), so accounts can
    share it; a session of its own per account cost onboarding 13 ms of CPU an account
    (botocore registers its ~130 handlers in every new session).
    """
    global _STS_SESSION
    with _STS_SESSION_LOCK:  # not _STS_LOCK: making the session takes that one
        if _STS_SESSION is None:
            _STS_SESSION = _bare_session()
        return _STS_SESSION


_STS_CLIENTS: dict[tuple[Any, ...], Any] = {}
"""The STS clients AssumeRole is made with, by service, region, endpoint and the source
credentials they sign with (refreshed source credentials make a new one)."""

_EXCEPTIONS: ClientExceptionsFactory | None = None
_EXCEPTIONS_LOCK = threading.Lock()


def _shared_exceptions() -> ClientExceptionsFactory:
    """One factory of clients' exception classes for every assumed-role session.

    Each session's own factory builds and keeps the exception classes of every service it
    makes a client for (about 90 KB an account for onboarding's services): a thousand
    accounts' sessions held 90 MB of identical classes, and built them a thousand times.
    The classes depend only on the service model.
    """
    global _EXCEPTIONS
    with _EXCEPTIONS_LOCK:  # _bare_session runs under both other locks
        if _EXCEPTIONS is None:
            _EXCEPTIONS = ClientExceptionsFactory()
        return _EXCEPTIONS


_HANDLERS: HierarchicalEmitter | None = None
_HANDLERS_LOCK = threading.Lock()


def _builtin_handlers() -> HierarchicalEmitter:
    """A copy of botocore's built-in event handlers, registered once for the process.

    A new botocore session registers them all (about 130), checking each one's signature
    with :mod:`inspect` as it goes: a fifth of onboarding's CPU, once per account. They are
    module-level functions, the same for every session, so they are registered once into
    this emitter (by a session made only for that) and each account's session starts from a
    copy of it: what a session or its clients register later stays in their own copy, as
    botocore already does for each client.
    """
    global _HANDLERS
    with _HANDLERS_LOCK:
        if _HANDLERS is None:
            emitter = HierarchicalEmitter()
            botocore.session.Session(event_hooks=emitter)  # registers the built-ins into it
            _HANDLERS = emitter
        return copy.copy(_HANDLERS)


def _bare_session() -> botocore.session.Session:
    # Ignore AWS_PROFILE: the new session's only credentials are the assumed role's.
    session = botocore.session.Session(
        session_vars={"profile": (None, None, None, None)},
        event_hooks=_builtin_handlers(),
        include_builtin_handlers=False,
    )
    session.register_component("data_loader", _shared_loader())
    # An internal component of botocore's session (clients look it up there), hence the
    # private method: the public register_component would not be seen.
    register: Any = session._register_internal_component  # type: ignore[attr-defined]
    register("exceptions_factory", _shared_exceptions())
    return session


def assume_role_session(
    source: AwsSession,
    role_arn: str,
    *,
    session_name: str = DEFAULT_SESSION_NAME,
    read_only: bool = False,
    external_id: str | None = None,
    duration_seconds: int | None = None,
) -> AwsSession:
    """A session acting as ``role_arn``, assumed with ``source``'s credentials.

    The role is assumed at once, so a role that cannot be assumed is reported here, not in
    the middle of a later call.

    Args:
        source: The session whose credentials assume the role (its region and endpoint are
            kept: a sandbox session stays on the sandbox).
        role_arn: The role to assume.
        session_name: RoleSessionName.
        read_only: Install the read-only guard on every client of the new session.
        external_id: ExternalId, when the role's trust policy requires one.
        duration_seconds: DurationSeconds (default: the role's, one hour).

    Returns:
        The new session; ``whoami()`` names the role's account.

    Raises:
        AwsError: STS refused (``sts:AssumeRole`` and the code AWS gave), or the endpoint
            could not be reached.
        CredentialsProblem: the source credentials cannot be used.
    """
    endpoint = source.factory.endpoint_url
    region = source.region
    source_credentials = source.boto3_session.get_credentials()
    if source_credentials is None:
        raise credentials_problem_from(boto_errors.NoCredentialsError(), source.profile)
    sts_core = _sts_session()

    def create_client(service: str, **kwargs: Any) -> Any:
        # One STS client per set of source credentials, region and endpoint, shared by
        # every AssumeRole made with them (a client is thread-safe): onboarding a thousand
        # accounts made a thousand identical clients, each under this lock.
        key = (service, region, endpoint, tuple(sorted(kwargs.items())))
        with _STS_LOCK:
            client = _STS_CLIENTS.get(key)
            if client is None:
                client = _STS_CLIENTS[key] = sts_core.create_client(
                    service, region_name=region, endpoint_url=endpoint, **kwargs
                )
            return client

    extra: dict[str, Any] = {"RoleSessionName": session_name}
    if external_id:
        extra["ExternalId"] = external_id
    if duration_seconds:
        extra["DurationSeconds"] = duration_seconds
    answers: dict[str, Any] = {}
    fetcher = AssumeRoleCredentialFetcher(
        create_client, source_credentials, role_arn, extra_args=extra, cache=answers
    )
    credentials = DeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method=_Provider.METHOD
    )
    try:
        credentials.get_frozen_credentials()  # assume now: failures belong here
    except boto_errors.ClientError as exc:
        error = exc.response.get("Error", {})
        raise AwsError(
            service="sts",
            operation="AssumeRole",
            code=str(error.get("Code") or "Unknown"),
            message=f"cannot assume {role_arn}: {error.get('Message') or exc}",
            status=exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        ) from exc
    except (boto_errors.ConnectionError, boto_errors.HTTPClientError) as exc:
        raise AwsError(
            service="sts",
            operation="AssumeRole",
            code="EndpointConnectionError",
            message=f"cannot reach STS to assume {role_arn}: {exc}",
        ) from exc
    except boto_errors.ParamValidationError as exc:
        raise AwsError(
            service="sts",
            operation="AssumeRole",
            code="ParamValidationError",
            message=f"cannot assume {role_arn}: {exc}",
        ) from exc
    except boto_errors.BotoCoreError as exc:
        raise credentials_problem_from(exc, source.profile) from exc
    core = _bare_session()
    core.register_component("credential_provider", CredentialResolver([_Provider(credentials)]))
    boto3_session = boto3.Session(botocore_session=core, region_name=region)
    factory = ClientFactory(
        boto3_session,
        endpoint_url=endpoint,
        retry_mode=source.settings.retry_mode,
        max_attempts=source.settings.max_attempts,
        read_only=read_only,
    )
    settings = source.settings.model_copy(update={"profile": None, "read_only": read_only})
    session = AwsSession(
        settings=settings,
        boto3_session=boto3_session,
        region=region,
        factory=factory,
        caller=Boto3Caller(factory),
    )
    # AssumeRole named who the session is (the assumed role, in the role's account):
    # asking STS again (GetCallerIdentity) would cost every onboarded account a request.
    response: dict[str, Any] = next(iter(answers.values()), {})
    arn = (response.get("AssumedRoleUser") or {}).get("Arn")
    if arn:
        session.remember_identity(str(arn))
    return session
