"""The commands' connection to AWS: the session (here or in the AWS worker) and the engine.

:func:`connect` opens the session the global options ask for (``--profile``, ``--region``,
``--sandbox``); with ``--sandbox``, on the shared sandbox (:mod:`wizard.sandbox.shared`: one
emulator in the background that every ``--sandbox`` command sees, started when none runs).
``plan`` and ``apply`` can have the session opened by the AWS worker instead
(:mod:`wizard.aws.worker`): a second process that loads the AWS SDK and checks the
credentials while this one loads the answers and the wizard.
:func:`screens.cli.main.start_worker_early` starts it (:func:`wizard.aws.launch.prestart`)
before the parser is even built; :func:`start_worker` adopts that one when it was started
for the same options.

The AWS SDK and the engine are imported when connecting, never when this module is.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from screens.common.errors import UsageError
from wizard.aws import launch
from wizard.aws.basics import CredentialsProblem
from wizard.aws.worker import WorkerSession
from wizard.aws.worker import start_worker as start_worker_process

if TYPE_CHECKING:
    from wizard.aws.session import AwsSession
    from wizard.engine import Engine
    from wizard.model.answers import Answers
    from wizard.ports import AwsCaller
    from wizard.sandbox.shared import SharedSandbox


@dataclass
class Connection:
    """An opened session (and the sandbox behind it, if any)."""

    session: AwsSession | WorkerSession
    """The session: opened here, or by the AWS worker."""
    sandbox: SharedSandbox | None
    """The shared sandbox this connection uses, with ``--sandbox``."""

    def session_here(self) -> AwsSession:
        """The session as opened in this process, to assume other roles from.

        Raises:
            RuntimeError: the session was opened by the AWS worker (which is never started
                when a role is to be assumed: see :func:`start_worker`).
        """
        # Deferred for start-up time: boto3/botocore load only when AWS is called.
        from wizard.aws.session import AwsSession

        if not isinstance(self.session, AwsSession):
            raise RuntimeError("roles are assumed from a session opened in this process")
        return self.session


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a one-shot command runs.

    plan and apply build large, long-lived object graphs once (botocore's service models and
    clients, pydantic's validators) and create little cyclic garbage; the collector's passes
    over those graphs cost a tenth of an apply's time and free almost nothing. Reference
    counting still frees everything else at once.

    Afterwards the objects made meanwhile are frozen (left out of later collections, as the
    command line does at exit) before the collector is turned back on: its first pass
    would otherwise walk every one of them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


# ------------------------------------------------------------------------- the AWS worker


def has_log_account_options(args: argparse.Namespace) -> bool:
    """``--log-account-profile`` or ``--log-account-role`` was given."""
    return bool(
        getattr(args, "log_account_profile", None) or getattr(args, "log_account_role", None)
    )


def start_worker(args: argparse.Namespace, *, read_only: bool) -> WorkerSession | None:
    """Start the AWS worker process now, if this command can use one (else None).

    The worker (:mod:`wizard.aws.worker`) loads the AWS SDK, opens the session and checks
    the credentials while this process loads the answers and the wizard: started before
    either, it makes ``plan`` and ``apply`` use a second core, when there is one to spare
    (:func:`wizard.aws.launch.worth_a_worker`). Not for ``--sandbox`` (the session needs
    the shared sandbox's endpoint, found or started first) nor with a log-archive account's
    credentials (that session is opened from this one's, in this process).

    The worker :func:`screens.cli.main.start_worker_early` started before the options were
    parsed is adopted when it was started for exactly these settings, and closed otherwise.
    """
    if getattr(args, "sandbox", False) or has_log_account_options(args):
        launch.take_prestarted(None)
        return None
    prestarted = launch.take_prestarted((args.profile, args.region, read_only))
    if prestarted is not None:
        return WorkerSession(prestarted)
    if not launch.worth_a_worker():
        return None
    return start_worker_process(profile=args.profile, region=args.region, read_only=read_only)


def prepare_meanwhile(worker: WorkerSession | None, answers: Answers) -> None:
    """Use the time the worker takes to open the session.

    Ask it for the clients these answers need besides the usual ones, and load the engine
    here now rather than once the session is open.
    """
    if worker is None:
        return
    services = []
    if answers.encryption.type == "sse-kms":
        services.append("kms")
    if answers.notifications.sns_topic:
        services.append("sns")
    if answers.cloudwatch_logs.enabled:
        services.append("logs")
    if answers.trail.organization:
        services.append("organizations")
    if services:
        worker.prepare(services)
    import wizard.engine  # noqa: F401


# ------------------------------------------------------------------------- the session


@contextlib.contextmanager
def connect(
    args: argparse.Namespace, *, read_only: bool = False, worker: WorkerSession | None = None
) -> Iterator[Connection]:
    """Open the AWS session the global options ask for (starting the sandbox if asked).

    Args:
        args: The parsed command line (``profile``, ``region``, ``sandbox``).
        read_only: Refuse every mutating call.
        worker: A session :func:`start_worker` started for these options, used (and
            closed) instead of opening one here.

    Raises:
        UsageError: the credentials do not work or the endpoint cannot be reached; the
            message says how to fix it.
    """
    sandbox = None
    if worker is None and getattr(args, "sandbox", False):
        sandbox = shared_sandbox()
    try:
        session: AwsSession | WorkerSession
        try:
            if worker is not None:
                worker.whoami()  # what open_session checks: the credentials work
                session = worker
            else:
                session = _open_here(args, sandbox, read_only)
        except CredentialsProblem as exc:
            hint = ""
            if exc.kind == "credentials" and not sandbox:
                hint = "\nTo try the wizard without an AWS account, add --sandbox."
            raise UsageError(exc.message + hint) from None
        yield Connection(session=session, sandbox=sandbox)
    finally:
        # The shared sandbox keeps running, for the next --sandbox command.
        if worker is not None:
            worker.close()


def shared_sandbox() -> SharedSandbox:
    """The shared sandbox (started if none runs), saying so on standard error when it starts.

    Raises:
        UsageError: it could not start; the message says why and where its log is.
    """
    # Deferred: the sandbox's modules load only in sandbox mode.
    from wizard.sandbox.shared import SandboxUnavailable, ensure_sandbox

    try:
        sandbox = ensure_sandbox()
    except SandboxUnavailable as exc:
        raise UsageError(str(exc)) from None
    if sandbox.started:
        print(started_message(sandbox), file=sys.stderr, flush=True)
    return sandbox


def started_message(sandbox: SharedSandbox) -> str:
    """What a command says when it had to start the shared sandbox."""
    return " ".join(
        part
        for part in (
            f"Started the sandbox at {sandbox.endpoint_url} in the background. It keeps what "
            "you do for the next --sandbox command; `cloudtrail-wizard sandbox reset` starts "
            "over, `cloudtrail-wizard sandbox stop` stops it.",
            sandbox.note,
        )
        if part
    )


def _open_here(
    args: argparse.Namespace, sandbox: SharedSandbox | None, read_only: bool
) -> AwsSession:
    """The session, opened in this process (it checks the credentials with STS).

    On the shared sandbox it acts as the identity chosen with ``sandbox identity``
    (:mod:`wizard.sandbox.identities`), the administrator when none was.
    """
    # Deferred for start-up time: boto3/botocore load only when AWS is called.
    from wizard.aws.session import SessionSettings, open_session

    settings = SessionSettings(
        profile=None if sandbox else args.profile,
        region=args.region or (sandbox.region if sandbox else None),
        sandbox_endpoint=sandbox.endpoint_url if sandbox else None,
        read_only=read_only,
    )
    if sandbox is None:
        return open_session(settings)
    # Deferred: the sandbox's modules load only in sandbox mode.
    from wizard.sandbox.identities import current_identity, stale_identity

    identity = current_identity(sandbox.home)
    keys = (identity.access_key_id, identity.secret_access_key) if identity else None
    session = open_session(settings, sandbox_keys=keys)
    problem = stale_identity(identity, session.whoami()[2])
    if problem:
        raise CredentialsProblem(problem, kind="credentials")
    return session


def engine_for(
    conn: Connection,
    *,
    callers: Mapping[str, AwsCaller] | None = None,
    central_readers: Sequence[str] = (),
    central_confirmation: str | None = None,
) -> Engine:
    """The engine over the connection's session.

    Args:
        conn: The open connection.
        callers: Callers of other accounts by id (a central log-archive account).
        central_readers: ``--central-reader``.
        central_confirmation: ``--central-confirmed``.
    """
    # Deferred for start-up time: the engine (pydantic, botocore) loads when needed.
    from wizard.engine import Engine

    # open_session() already asked STS who we are; the session cached the answer.
    ctx = conn.session.context()
    return Engine(
        conn.session.caller,
        ctx,
        sandbox=conn.session.sandbox,
        callers=callers,
        central_readers=central_readers,
        central_confirmation=central_confirmation,
    )
