"""The TUI's connection to AWS: opens the session (or the sandbox) and owns the engine.

With ``--sandbox`` it uses the shared sandbox (:mod:`wizard.sandbox.shared`): the one every
``--sandbox`` command sees, started in the background if none runs, and left running at the
end. Every method here blocks (network calls); screens call them only from thread workers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the engine (boto3, pydantic models) loads when connecting, not at start-up
    from collections.abc import Callable

    from screens.common.log_account import LogAccount
    from wizard.aws.session import AwsSession, SessionSettings
    from wizard.engine import Engine

    # The screens meet the sandbox only through this module, which starts it: they name
    # its delivery report from here.
    from wizard.sandbox.delivery import DeliveryReport as DeliveryReport
    from wizard.sandbox.shared import SharedSandbox


@dataclass(frozen=True)
class AccountInfo:
    """Who the wizard runs as, for the welcome screen."""

    account_id: str
    """12-digit account id."""
    partition: str
    """ARN partition."""
    caller_arn: str
    """The caller's ARN."""
    region: str
    """Session region."""
    profile: str | None
    """Profile in use."""
    sandbox: bool
    """Running against the embedded sandbox."""
    endpoint: str | None = None
    """Sandbox endpoint URL."""


@dataclass
class Backend:
    """Opens the AWS session the command line asked for and builds the engine."""

    profile: str | None = None
    """--profile."""
    region: str | None = None
    """--region."""
    sandbox: bool = False
    """--sandbox."""
    read_only: bool = False
    """Refuse every mutating call (dry-run only sessions)."""
    endpoint: str | None = None
    """An already running sandbox endpoint to use (tests share one emulator)."""
    log_account: LogAccount | None = None
    """The log-archive account reached from the Storage step (see screens.common.log_account)."""
    _sandbox: SharedSandbox | None = None
    _session: AwsSession | None = None
    _engine: Engine | None = None
    _info: AccountInfo | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False

    def connect(self) -> AccountInfo:
        """Open the session (starting the sandbox when asked) and identify the caller.

        Raises:
            wizard.aws.session.CredentialsProblem: with a message that says how to fix it.
        """
        # Deferred for start-up time: boto3/botocore load only when AWS is called.
        from wizard.aws.session import SessionSettings, open_session
        from wizard.engine import Engine

        with self._lock:
            if self._info is not None:
                return self._info
            endpoint = self.endpoint
            if self.sandbox and endpoint is None:
                if self._sandbox is None:
                    self._sandbox = _shared_sandbox()
                    if self._closed:  # the wizard quit while the sandbox was starting
                        # It is shared: it keeps running for the next --sandbox command.
                        self._sandbox = None
                        raise RuntimeError("the wizard has quit")
                endpoint = self._sandbox.endpoint_url
            settings = SessionSettings(
                profile=None if self.sandbox else self.profile,
                region=self.region or ("us-east-1" if self.sandbox else None),
                sandbox_endpoint=endpoint,
                read_only=self.read_only,
            )
            session = self._open(settings, open_session)
            self._session = session
            # open_session() already asked STS who we are; reuse the cached identity.
            self._engine = Engine(session.caller, session.context(), sandbox=session.sandbox)
            ctx = self._engine.ctx
            self._info = AccountInfo(
                account_id=ctx.account_id,
                partition=ctx.partition,
                caller_arn=ctx.caller_arn or "",
                region=session.region,
                profile=session.profile,
                sandbox=self.sandbox,
                endpoint=endpoint,
            )
            return self._info

    def _open(
        self, settings: SessionSettings, open_session: Callable[..., AwsSession]
    ) -> AwsSession:
        """The session; on the shared sandbox, as the identity ``sandbox identity`` chose
        (:mod:`wizard.sandbox.identities`; the administrator when none was)."""
        if self._sandbox is None:
            return open_session(settings)
        # Deferred: the sandbox's modules load only in sandbox mode.
        from wizard.aws.session import CredentialsProblem
        from wizard.sandbox.identities import current_identity, stale_identity

        identity = current_identity(self._sandbox.home)
        keys = (identity.access_key_id, identity.secret_access_key) if identity else None
        session = open_session(settings, sandbox_keys=keys)
        problem = stale_identity(identity, session.whoami()[2])
        if problem:
            raise CredentialsProblem(problem, kind="credentials")
        return session

    def switch_to_sandbox(self) -> AccountInfo:
        """Drop the current session and continue on the sandbox."""
        with self._lock:
            self.sandbox = True
            self._info = None
            self._engine = None
        return self.connect()

    @property
    def sandbox_to_start(self) -> bool:
        """Connecting to the sandbox would start it first (a few seconds): none runs yet."""
        if self.endpoint is not None or self._sandbox is not None:
            return False
        # Deferred: the sandbox's modules load only in sandbox mode (a look at two files).
        from wizard.sandbox.shared import running

        return not running()

    @property
    def session(self) -> AwsSession:
        """The open session (connect first): other accounts' roles are assumed from it."""
        if self._session is None:
            raise RuntimeError("not connected")
        return self._session

    @property
    def sandbox_log_archive(self) -> tuple[str, str, str] | None:
        """Sandbox only: its log-archive account, the role that reaches it and its bucket."""
        if not self.sandbox:
            return None
        # Deferred: the sandbox (moto, optional) loads only in sandbox mode.
        from wizard.sandbox.server import DEMO_LOG_ACCOUNT, DEMO_LOG_BUCKET, DEMO_LOG_ROLE_ARN

        return DEMO_LOG_ACCOUNT, DEMO_LOG_ROLE_ARN, DEMO_LOG_BUCKET

    def use_log_account(self, log: LogAccount | None) -> None:
        """Read and change the log-archive account's policies with ``log`` (None: forget it).

        None when the bucket is this account's again, or its owner is asked instead.
        """
        self.log_account = log
        self.engine.callers = {log.account_id: log.caller} if log is not None else {}

    @property
    def engine(self) -> Engine:
        """The engine (connect first)."""
        if self._engine is None:
            raise RuntimeError("not connected")
        return self._engine

    @property
    def info(self) -> AccountInfo | None:
        """Account info, once connected."""
        return self._info

    def deliver_logs_now(self) -> DeliveryReport:
        """Sandbox only: deliver the recorded API calls as CloudTrail log files now.

        Returns:
            The sandbox's delivery report (files written, errors by trail ARN).

        Raises:
            RuntimeError: not running against the sandbox, or the shared sandbox did not
                answer (the message says so).
        """
        if not self.sandbox:
            raise RuntimeError("Log files can only be delivered on demand in the sandbox.")
        if self._sandbox is not None:
            # The shared sandbox runs in its own process: its control endpoint delivers.
            return self._sandbox.deliver_now()
        # An in-process sandbox started by someone else (tests share one): delivery is
        # process-wide, like moto's state.
        from wizard.sandbox.delivery import SERVICE

        return SERVICE.deliver(flush=True)

    def close(self) -> None:
        """Let go of the sandbox: it is shared, so it keeps running (and keeps what was done)
        for the next ``--sandbox`` command, until ``cloudtrail-wizard sandbox stop``."""
        self._closed = True
        self._sandbox = None


def _shared_sandbox() -> SharedSandbox:
    """The shared sandbox, started if none runs (see :mod:`wizard.sandbox.shared`).

    Raises:
        wizard.aws.session.CredentialsProblem: it could not start (kind ``endpoint``; the
            message says why, and where its log is).
    """
    # Deferred: the sandbox's modules load only in sandbox mode; the session's error type
    # with boto3 (start-up time).
    from wizard.aws.session import CredentialsProblem
    from wizard.sandbox.shared import SandboxUnavailable, ensure_sandbox

    try:
        return ensure_sandbox()
    except SandboxUnavailable as exc:
        raise CredentialsProblem(str(exc), kind="endpoint") from None
