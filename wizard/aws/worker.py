"""AWS calls in a worker process, so that ``plan`` and ``apply`` use two cores, not one.

A command spends most of its start-up loading two unrelated things: the wizard's own models
and the AWS SDK (botocore's modules, its service models, one client per service). With
:func:`start_worker` a second Python process loads the SDK, opens the session, asks STS who
the caller is and makes the clients, while the command loads the wizard; the command then
makes every AWS call through :class:`WorkerCaller`, which passes it to the worker over a
pipe and waits for the answer.

What reaches AWS does not change: the worker runs the same
:class:`~wizard.aws.clients.Boto3Caller` over the same :func:`~wizard.aws.session.open_session`
an in-process session uses (same environment, profile, region, endpoint, retries and
read-only guard), several calls at a time, and its failures come back as the same
exceptions: :class:`~wizard.ports.AwsError`, :class:`~wizard.aws.basics.CredentialsProblem`,
:class:`~wizard.model.readonly.DryRunViolation`.

Should the worker stop (killed, out of memory), the calls it was making fail with the
AwsError code :data:`WORKER_STOPPED` (like a lost connection: AWS may or may not have
received them), and every later call, a rollback's included, is made in this process by an
in-process session with the same settings.

The worker ignores Ctrl-C, SIGTERM and SIGHUP (a terminal's Ctrl-C and hang-up, and
``timeout``, signal the whole process group): interrupting is the command's business, and a
rollback needs the worker. It exits as soon as the command
closes the pipe, or ends. This side of the module imports neither botocore nor boto3.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle  # nosec B403
import signal
import struct
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import IO, TYPE_CHECKING, Any

from wizard.aws.basics import CredentialsProblem
from wizard.aws.launch import (
    DEFAULT_SERVICES,
    STOP_SIGNALS,
    SWITCH,
    Launched,
    launch,
    worth_a_worker,
)
from wizard.model.readonly import DryRunViolation
from wizard.ports import AwsCaller, AwsError

if TYPE_CHECKING:
    from wizard.aws.settings import SessionSettings
    from wizard.model.context import AccountContext

__all__ = [
    "DEFAULT_SERVICES",
    "SWITCH",
    "WORKER_STOPPED",
    "WorkerCaller",
    "WorkerError",
    "WorkerSession",
    "serve",
    "start_worker",
    "worth_a_worker",
]

WORKER_STOPPED = "WorkerStopped"
"""AwsError code of a call the worker stopped before answering."""

_HEADER = struct.Struct("!I")
_READY = 0
"""Message id of the worker's first message: the session, or why it cannot be opened."""


class WorkerError(RuntimeError):
    """An unexpected exception in the worker (a bug), re-raised in the command."""


# ------------------------------------------------------------------------- the wire


def _send(stream: IO[bytes], lock: threading.Lock, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    with lock:
        stream.write(_HEADER.pack(len(data)) + data)
        stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next message, or None at the end of the stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    # Only this process and the worker it started hold the two anonymous pipes (pass_fds),
    # so what is unpickled here was pickled by our own code in the same user's process.
    return pickle.loads(data)  # nosec B301


def _encode_error(exc: BaseException) -> tuple[Any, ...]:
    if isinstance(exc, AwsError):
        return ("aws", exc.service, exc.operation, exc.code, exc.message, exc.status)
    if isinstance(exc, CredentialsProblem):
        return ("credentials", exc.message, exc.kind)
    if isinstance(exc, DryRunViolation):
        return ("dry-run", exc.operation, exc.service)
    if isinstance(exc, ValueError):
        return ("value", str(exc))
    return ("other", type(exc).__name__, str(exc))


def _decode_error(error: tuple[Any, ...]) -> Exception:
    kind = error[0]
    if kind == "aws":
        _, service, operation, code, message, status = error
        return AwsError(
            service=service, operation=operation, code=code, message=message, status=status
        )
    if kind == "credentials":
        return CredentialsProblem(str(error[1]), kind=error[2])
    if kind == "dry-run":
        return DryRunViolation(error[1], error[2])
    if kind == "value":
        return ValueError(error[1])
    return WorkerError(f"{error[1]} in the AWS worker process: {error[2]}")


# ------------------------------------------------------------------------ command side


class _Pending:
    """One call waiting for the worker's answer."""

    __slots__ = ("answer", "done")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.answer: tuple[bool, Any] | None = None


class WorkerSession:
    """The command's view of a session opened in the worker.

    It offers what the commands use of :class:`~wizard.aws.session.AwsSession`:
    :attr:`caller`, :attr:`region`, :attr:`settings`, :attr:`sandbox`, :attr:`profile`,
    :meth:`whoami` and :meth:`context`. Close it with :meth:`close`.
    """

    def __init__(self, launched: Launched) -> None:
        """Wrap a worker :func:`wizard.aws.launch.launch` started (see :func:`start_worker`)."""
        self._launched = launched
        self._options = dict(launched.options)
        self._settings: SessionSettings | None = None
        self.caller = WorkerCaller(self)
        self._process = launched.process
        self._requests = launched.requests
        self._answers = launched.answers
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._opened = _Pending()
        self._pending: dict[int, _Pending] = {_READY: self._opened}
        self._next_id = _READY + 1
        self._stopped: str | None = None
        self._fallback: Any = None
        self._reader = threading.Thread(target=self._read, name="aws-worker-reader", daemon=True)
        self._reader.start()

    # -- the session ------------------------------------------------------------------

    def _ready(self) -> dict[str, Any]:
        """The worker's opened session: region, identity, profile.

        Raises:
            CredentialsProblem: the session cannot be opened (as open_session would say).
        """
        ok, value = self._wait(self._opened)
        if not ok:
            raise _decode_error(value)
        ready: dict[str, Any] = value
        return ready

    @property
    def region(self) -> str:
        """The session's region (resolved by the worker as open_session does)."""
        return str(self._ready()["region"])

    @property
    def profile(self) -> str | None:
        """The profile in use, if any."""
        profile = self._ready()["profile"]
        return None if profile is None else str(profile)

    @property
    def settings(self) -> SessionSettings:
        """The settings the session was opened with."""
        if self._settings is None:
            # pydantic on first use: the command starts its worker before it loads the
            # wizard's models.
            from wizard.aws.settings import SessionSettings

            self._settings = SessionSettings(**self._options)
        return self._settings

    @property
    def sandbox(self) -> bool:
        """True when talking to the local emulator."""
        return self._options.get("sandbox_endpoint") is not None

    def whoami(self) -> tuple[str, str, str]:
        """``(account_id, partition, caller_arn)``, as the worker's STS call found them.

        Raises:
            CredentialsProblem: the credentials do not work or the endpoint is unreachable.
        """
        account, partition, arn = self._ready()["identity"]
        return str(account), str(partition), str(arn)

    def context(self) -> AccountContext:
        """The account context of this session (see AwsSession.context).

        Raises:
            CredentialsProblem: the credentials do not work or the endpoint is unreachable.
        """
        # pydantic on first use, as for settings.
        from wizard.model.context import AccountContext

        account, partition, arn = self.whoami()
        return AccountContext(
            account_id=account, partition=partition, region=self.region, caller_arn=arn
        )

    def prepare(self, services: Sequence[str]) -> None:
        """Ask the worker to make these services' clients now (it answers nothing)."""
        if self._stopped is None:
            with contextlib.suppress(OSError, ValueError):
                _send(self._requests, self._send_lock, (-1, "prepare", tuple(services)))

    def close(self) -> None:
        """Let the worker go (it exits at the end of the pipe); safe to call twice."""
        self._launched.close()

    # -- calls ----------------------------------------------------------------------------

    def request(self, kind: str, args: tuple[Any, ...]) -> Any:
        """Have the worker make one call; its result, or its exception raised here."""
        pending = _Pending()
        with self._lock:
            stopped = self._stopped
            if stopped is None:
                request_id = self._next_id
                self._next_id += 1
                self._pending[request_id] = pending
        if stopped is not None:
            return self._in_process(kind, args)
        try:
            _send(self._requests, self._send_lock, (request_id, kind, args))
        except (OSError, ValueError):
            # The worker has gone; nothing was sent, so this call can still be made here.
            with self._lock:
                self._pending.pop(request_id, None)
            self._stop("the pipe to it is closed")
            return self._in_process(kind, args)
        ok, value = self._wait(pending)
        if not ok:
            raise _decode_error(value)
        return value

    @staticmethod
    def _wait(pending: _Pending) -> tuple[bool, Any]:
        pending.done.wait()
        assert pending.answer is not None
        return pending.answer

    def _in_process(self, kind: str, args: tuple[Any, ...]) -> Any:
        """Make the call here, in a session opened like the worker's (it stopped)."""
        with self._lock:
            if self._fallback is None:
                # botocore in this process only once the worker stopped.
                from wizard.aws.session import open_session

                self._fallback = open_session(self.settings, verify=False)
            caller: AwsCaller = self._fallback.caller
        if kind == "paginate":
            return caller.paginate(*args)
        return caller.call(*args)

    def _read(self) -> None:
        """Reader thread: hand each answer to the call waiting for it."""
        try:
            while True:
                message = _receive(self._answers)
                if message is None:
                    break
                request_id, ok, value = message
                with self._lock:
                    pending = self._pending.pop(request_id, None)
                if pending is not None:
                    pending.answer = (ok, value)
                    pending.done.set()
        except (OSError, ValueError, pickle.UnpicklingError, EOFError):
            pass
        code = self._process.poll()
        self._stop("it ended" if code is None else f"it exited with status {code}")

    def _stop(self, why: str) -> None:
        """The worker is gone: fail what it was doing; later calls are made here."""
        with self._lock:
            if self._stopped is None:
                self._stopped = why
            waiting, self._pending = self._pending, {}
        for request_id, pending in waiting.items():
            if request_id == _READY:
                # The session was never opened there: open it here, which raises the
                # problem itself (or works, and the worker's failure was its own).
                pending.answer = self._open_here()
            else:
                message = (
                    f"The AWS worker process stopped before answering ({why}); the call may "
                    "or may not have reached AWS. Later calls are made without it."
                )
                pending.answer = (False, ("aws", "", "", WORKER_STOPPED, message, None))
            pending.done.set()

    def _open_here(self) -> tuple[bool, Any]:
        try:
            with self._lock:
                if self._fallback is None:
                    # botocore in this process only when the worker could not open the session.
                    from wizard.aws.session import open_session

                    self._fallback = open_session(self.settings)
                session = self._fallback
            return True, {
                "region": session.region,
                "identity": session.whoami(),
                "profile": session.profile,
            }
        except Exception as exc:
            return False, _encode_error(exc)


class WorkerCaller:
    """:class:`wizard.ports.AwsCaller` whose calls the worker makes; thread-safe."""

    def __init__(self, session: WorkerSession) -> None:
        """Calls go through ``session``'s worker."""
        self._session = session

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Make one call; see :meth:`wizard.ports.AwsCaller.call`."""
        result: dict[str, Any] = self._session.request(
            "call", (service, region, operation, dict(params or {}))
        )
        return result

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Every item of every page; see :meth:`wizard.ports.AwsCaller.paginate`."""
        result: list[Any] = self._session.request(
            "paginate", (service, region, operation, result_key, dict(params or {}))
        )
        return result


def start_worker(
    *,
    profile: str | None = None,
    region: str | None = None,
    read_only: bool = False,
    services: Sequence[str] = DEFAULT_SERVICES,
) -> WorkerSession | None:
    """Start a worker that opens a session; None where it cannot run.

    The arguments are those of :class:`~wizard.aws.settings.SessionSettings` (taken as plain
    values: the models are not needed to start the worker, so it starts first), plus
    ``services``, whose clients the worker makes as soon as the session is open.

    Returns at once: the worker opens the session (and checks the credentials with STS)
    while the caller goes on. :meth:`WorkerSession.whoami` waits for it, and raises the
    CredentialsProblem open_session would have raised.

    None (use :func:`wizard.aws.session.open_session` instead) off POSIX systems, without a
    Python executable to start, or when the process cannot be started.
    """
    launched = launch(profile=profile, region=region, read_only=read_only, services=services)
    return None if launched is None else WorkerSession(launched)


# ------------------------------------------------------------------------- worker side


def serve() -> None:
    """The worker: open the session, then make calls until the pipe closes.

    Started by :func:`start_worker`; its arguments: the file descriptors to read requests
    from and write answers to, the settings as JSON, the services to make clients for.
    """
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    # A short-lived process that builds large, long-lived object graphs (botocore's models
    # and clients): the cyclic collector's passes over them would only slow it down.
    gc.disable()
    # Answer a request as soon as its response arrives, even while another thread is busy
    # making a client (Python's default hands the interpreter over every 5 ms).
    sys.setswitchinterval(0.0005)
    requests = os.fdopen(int(sys.argv[1]), "rb")
    answers = os.fdopen(int(sys.argv[2]), "wb")
    lock = threading.Lock()

    def answer(request_id: int, work: Callable[[], Any]) -> None:
        try:
            message = (request_id, True, work())
        except BaseException as exc:  # every failure goes back to the command
            message = (request_id, False, _encode_error(exc))
        with contextlib.suppress(OSError, ValueError):
            _send(answers, lock, message)

    session: Any = None

    def make_clients(opened: Any, services: Sequence[str]) -> None:
        for service in services:
            with contextlib.suppress(Exception):  # a call to it will say what is wrong
                opened.factory.client(service, opened.region)

    def open_it() -> dict[str, Any]:
        nonlocal session
        # The worker's side: the command's process, which imports this module too, never
        # loads botocore through it.
        import json
        from types import SimpleNamespace

        from wizard.aws.session import open_session

        # open_session reads only these fields of its settings: plain values spare this
        # process the wizard's models (pydantic), which it would load for nothing else.
        options = json.loads(sys.argv[3])
        settings = SimpleNamespace(
            sandbox_endpoint=None, retry_mode="standard", max_attempts=8, **options
        )
        opened = open_session(settings, verify=False)  # type: ignore[arg-type]
        # STS's client first; the other clients are made while STS answers.
        make_clients(opened, ["sts"])
        services = [s for s in sys.argv[4].split(",") if s]
        threading.Thread(target=make_clients, args=(opened, services), daemon=True).start()
        identity = opened.whoami()  # what open_session(verify=True) checks
        session = opened
        return {"region": opened.region, "identity": identity, "profile": opened.profile}

    answer(_READY, open_it)
    if session is None:
        os._exit(0)

    # The worker's side only (see open_it).
    from concurrent.futures import ThreadPoolExecutor

    caller = session.caller
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="aws") as pool:
        while True:
            try:
                message = _receive(requests)
            except (OSError, ValueError, pickle.UnpicklingError, EOFError):
                message = None
            if message is None:
                # The command is done (or gone): nothing is waiting for an answer.
                os._exit(0)
            request_id, kind, args = message
            if kind == "prepare":
                pool.submit(make_clients, session, args)
            elif kind == "paginate":
                pool.submit(answer, request_id, partial(caller.paginate, *args))
            else:
                pool.submit(answer, request_id, partial(caller.call, *args))
