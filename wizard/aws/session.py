"""Opening an AWS session, and explaining what goes wrong in words an operator can act on.

Every failure to get a usable session (unknown profile, no credentials, an expired SSO
login, a region that does not exist, an endpoint that cannot be reached) becomes a
:class:`CredentialsProblem` whose message says what to do next; the front ends print it
instead of a traceback.

Sandbox mode talks to a local emulator. It forces dummy credentials on the botocore Session
itself (the process environment is left alone, so nothing else in the process is
affected) and sends every client to the emulator's endpoint, so a sandbox run cannot reach
a real account even if real credentials are configured.
"""

from __future__ import annotations

import os
import re
import threading
from typing import TYPE_CHECKING

import botocore.session
from botocore import exceptions as boto_errors

from wizard.aws.basics import CredentialsProblem as CredentialsProblem
from wizard.aws.basics import ProblemKind as ProblemKind
from wizard.aws.basics import RetryMode as RetryMode
from wizard.aws.clients import (
    Boto3Caller,
    ClientFactory,
    SdkSession,
    credentials_problem_from,
    install_fast_loader,
)
from wizard.model.regions import check_region
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.aws.settings import SessionSettings as SessionSettings
    from wizard.model.context import AccountContext


def __getattr__(name: str) -> type[SessionSettings]:
    if name == "SessionSettings":
        # SessionSettings (a pydantic model) is imported on first use: the AWS worker process
        # (wizard.aws.worker) opens sessions without loading the wizard's models.
        from wizard.aws.settings import SessionSettings

        return SessionSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SANDBOX_CREDENTIALS: dict[str, str] = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}
"""Dummy credentials a sandbox session uses unless it acts as a trainee identity: the
sandbox's administrator (see :func:`open_session`'s ``sandbox_keys``)."""

SANDBOX_DEFAULT_REGION = "us-east-1"
"""Region used in sandbox mode when none is configured."""

CONNECTION_ERROR_CODES = frozenset({"EndpointConnectionError", "ReadTimeout"})
"""AwsError codes :class:`wizard.aws.clients.Boto3Caller` uses for an unreachable endpoint."""

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
    }
)
"""Error codes AWS uses for "too many requests"."""

DEFAULT_POLICY_HINT = "`cloudtrail-wizard policies ANSWERS` prints it"
"""Where to find the operator policy, when the caller does not say."""


class AwsSession:
    """An opened session: SDK session, region, client factory and caller."""

    def __init__(
        self,
        *,
        settings: SessionSettings,
        boto3_session: SdkSession,
        region: str,
        factory: ClientFactory,
        caller: Boto3Caller,
    ) -> None:
        """Bundle the parts; use :func:`open_session` rather than calling this.

        ``boto3_session`` holds the credentials: the botocore Session :func:`open_session`
        makes (boto3 is not needed for that), or a boto3 Session. Both have
        ``get_credentials()``.
        """
        self.settings = settings
        self.boto3_session = boto3_session
        self.region = region
        self.factory = factory
        self.caller = caller
        self._identity: tuple[str, str, str] | None = None
        self._lock = threading.Lock()

    @property
    def sandbox(self) -> bool:
        """True when talking to the local emulator."""
        return self.settings.sandbox_endpoint is not None

    @property
    def profile(self) -> str | None:
        """The profile in use, if any."""
        return self.factory.profile_name

    def whoami(self) -> tuple[str, str, str]:
        """``(account_id, partition, caller_arn)`` from STS GetCallerIdentity (cached).

        Raises:
            CredentialsProblem: the credentials do not work or the endpoint is unreachable.
        """
        with self._lock:
            if self._identity is not None:
                return self._identity
        try:
            response = self.caller.call("sts", self.region, "GetCallerIdentity")
        except AwsError as err:
            if err.code in CONNECTION_ERROR_CODES:
                raise CredentialsProblem(
                    _endpoint_message(self.settings, err), kind="endpoint"
                ) from err
            raise CredentialsProblem(
                f"Could not identify the caller: {explain_aws_error(err)}",
                kind="credentials",
            ) from err
        arn = str(response["Arn"])
        identity = (str(response["Account"]), _partition_of_arn(arn), arn)
        with self._lock:
            self._identity = identity
        return identity

    def remember_identity(self, arn: str) -> None:
        """Who the session is, already known (AssumeRole's answer names the assumed role):
        :meth:`whoami` answers from it instead of asking STS.

        Args:
            arn: The session's ARN (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``).
        """
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if account:
            with self._lock:
                self._identity = (account, _partition_of_arn(arn), arn)

    def context(self) -> AccountContext:
        """The account context of this session, from the cached STS identity.

        Front ends build their engine from this rather than asking STS again.

        Raises:
            CredentialsProblem: the credentials do not work or the endpoint is unreachable.
        """
        # On first use: the worker process opens sessions without the wizard's models.
        from wizard.model.context import AccountContext

        account, partition, arn = self.whoami()
        return AccountContext(
            account_id=account, partition=partition, region=self.region, caller_arn=arn
        )


def _partition_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


def _endpoint_message(settings: SessionSettings, err: AwsError) -> str:
    if settings.sandbox_endpoint:
        return (
            f"Cannot reach the sandbox emulator at {settings.sandbox_endpoint}. Start it (or "
            f"let `cloudtrail-wizard --sandbox` start one), then try again. ({err.message})"
        )
    return (
        f"Cannot reach AWS: {err.message} If you use a proxy, check HTTPS_PROXY; if "
        "AWS_ENDPOINT_URL is set, check that it is right."
    )


def _normalise_endpoint(url: str) -> str:
    # "localhost:5000" is what people type; botocore needs a scheme.
    return url if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url) else f"http://{url}"


def _configured_profiles() -> list[str]:
    # A session that ignores AWS_PROFILE: listing profiles must not fail because the one
    # named in the environment is missing.
    probe = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    try:
        return sorted(probe.available_profiles)
    except boto_errors.BotoCoreError:
        return []


def _sdk_session(
    settings: SessionSettings, sandbox_keys: tuple[str, str] | None = None
) -> botocore.session.Session:
    if settings.sandbox_endpoint:
        # Explicit keys on this Session only: real credentials in the environment or in
        # ~/.aws can never be picked up, and os.environ is not touched. AWS_PROFILE is
        # ignored too, so a stale profile name cannot break the sandbox. The keys are the
        # dummy ones (the sandbox's administrator) or a trainee identity's, an IAM user of
        # the sandbox whose policies it enforces.
        core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
        if sandbox_keys is not None:
            core.set_credentials(sandbox_keys[0], sandbox_keys[1])
        else:
            core.set_credentials(
                SANDBOX_CREDENTIALS["aws_access_key_id"],
                SANDBOX_CREDENTIALS["aws_secret_access_key"],
                SANDBOX_CREDENTIALS["aws_session_token"],
            )
        install_fast_loader(core)
        return core
    try:
        core = botocore.session.Session(profile=settings.profile)
        # Resolving the profile's settings fails now, not at the first call, when the
        # profile (given, or named by AWS_PROFILE) does not exist.
        install_fast_loader(core)
        core.get_scoped_config()
        return core
    except boto_errors.ProfileNotFound as exc:
        missing = str(exc.kwargs.get("profile") or settings.profile)
        known = _configured_profiles()
        listing = (
            f"Configured profiles: {', '.join(known)}."
            if known
            else "No profiles are configured (see ~/.aws/config)."
        )
        source = "" if settings.profile else " (named by AWS_PROFILE)"
        raise CredentialsProblem(
            f"The AWS profile '{missing}'{source} does not exist. {listing} Pass an existing "
            f"one with --profile, or create it with `aws configure --profile {missing}` or "
            f"`aws configure sso --profile {missing}`.",
            kind="profile-not-found",
        ) from exc


def _resolve_region(settings: SessionSettings, session: botocore.session.Session) -> str:
    # AWS_REGION is the variable the AWS SDKs and CLI v2 use; botocore itself only reads
    # AWS_DEFAULT_REGION and the profile, so it is consulted here explicitly.
    region = (
        settings.region or os.environ.get("AWS_REGION") or session.get_config_variable("region")
    )
    if not region and settings.sandbox_endpoint:
        region = SANDBOX_DEFAULT_REGION
    if not region:
        raise CredentialsProblem(
            "No region configured: pass --region or set AWS_REGION (or set `region` in your "
            "AWS profile).",
            kind="region",
        )
    problem = check_region(region)
    if problem:
        raise CredentialsProblem(problem, kind="region")
    return region


def open_session(
    settings: SessionSettings,
    *,
    verify: bool = True,
    sandbox_keys: tuple[str, str] | None = None,
) -> AwsSession:
    """Open a session as ``settings`` describe, and (by default) check that it works.

    Args:
        settings: Profile, region, sandbox endpoint.
        verify: Call STS GetCallerIdentity now, so a credentials or endpoint problem is
            reported before anything else happens (the identity is cached for whoami()).
        sandbox_keys: With a sandbox endpoint: ``(access_key_id, secret_access_key)`` of
            the trainee identity to act as (:mod:`wizard.sandbox.identities`); None: the
            dummy credentials, the sandbox's administrator. Ignored without a sandbox.

    Returns:
        The opened session.

    Raises:
        CredentialsProblem: with an actionable message, for every way this can fail.
    """
    session = _sdk_session(settings, sandbox_keys)
    region = _resolve_region(settings, session)
    endpoint = _normalise_endpoint(settings.sandbox_endpoint) if settings.sandbox_endpoint else None
    if endpoint is None:
        try:
            credentials = session.get_credentials()
        except boto_errors.BotoCoreError as exc:
            raise credentials_problem_from(exc, settings.profile) from exc
        if credentials is None:
            raise credentials_problem_from(boto_errors.NoCredentialsError(), settings.profile)
    factory = ClientFactory(
        session,
        endpoint_url=endpoint,
        retry_mode=settings.retry_mode,
        max_attempts=settings.max_attempts,
        read_only=settings.read_only,
    )
    opened = AwsSession(
        settings=(
            settings
            if endpoint == settings.sandbox_endpoint
            else settings.model_copy(update={"sandbox_endpoint": endpoint})
        ),
        boto3_session=session,
        region=region,
        factory=factory,
        caller=Boto3Caller(factory),
    )
    if verify:
        opened.whoami()
    return opened


def _words(operation: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", operation).lower()


def explain_aws_error(
    err: AwsError, operator_policy_hint: str | None = None, *, purpose: str | None = None
) -> str:
    """Say what an AWS error means for the operator and what to do about it.

    Args:
        err: The error.
        operator_policy_hint: Where the operator policy can be found (defaults to
            "`cloudtrail-wizard policies ANSWERS` prints it").
        purpose: What the call was for (a step summary), used in "needed to ...".

    Returns:
        One or two sentences.
    """
    call = f"{err.service}:{err.operation}"
    if err.access_denied:
        # The operator policy (and with it the wizard's models) only for a refusal: the
        # worker process imports this module without them.
        from wizard.policy.operator import action_for

        action = action_for(err.service, err.operation)
        needed = purpose or _words(err.operation)
        needed = needed[0].lower() + needed[1:] if needed else needed
        if "explicit deny" in err.message.lower():
            return (
                f"The caller may not call {action} (needed to {needed}): an explicit Deny "
                "blocks it (a service control policy, a permissions boundary or a Deny "
                "statement), so adding permissions will not help; ask whoever manages that "
                f"policy. AWS said: {err.message}"
            )
        hint = operator_policy_hint or DEFAULT_POLICY_HINT
        return (
            f"The caller may not call {action} (needed to {needed}). Attach the operator "
            f"policy ({hint}, section 'Your IAM policy'). AWS said: {err.message}"
        )
    if err.code in THROTTLING_CODES:
        return (
            f"AWS kept throttling {call} ({err.code}) even after retrying. Wait a minute and "
            "try again, or lower the concurrency so fewer requests are made at once."
        )
    if err.code in CONNECTION_ERROR_CODES:
        return err.message
    if err.not_found:
        return (
            f"{call} failed: {err.message or err.code} ({err.code}). The resource does not "
            "exist, or is not visible from this account and region."
        )
    return f"{call} failed with {err.code}: {err.message}"
