"""Starting the AWS worker process (:mod:`wizard.aws.worker`), with the standard library only.

The worker is worth most when it starts first: it loads the AWS SDK and asks STS who the
caller is while the command loads everything else. So starting it needs nothing but
``os``, ``subprocess`` and ``json``, and a command can start it before it imports its own
argument parser (:func:`screens.cli.main.main`): :func:`prestart` keeps the started
worker, and :func:`take_prestarted` hands it to the command that turns out to want one
with the same settings (the rest of the worker's machinery, :class:`~wizard.aws.worker.
WorkerSession`, wraps it then).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

# Not typing's: importing typing (and dataclasses) would take a third of this module's budget.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess  # nosec B404
    from collections.abc import Iterator, Mapping, Sequence
    from typing import IO, Any

__all__ = [
    "DEFAULT_SERVICES",
    "STOP_SIGNALS",
    "SWITCH",
    "Launched",
    "launch",
    "prestart",
    "stop_signals_ignored",
    "take_prestarted",
    "worth_a_worker",
]

DEFAULT_SERVICES: Sequence[str] = ("s3", "cloudtrail", "iam")
"""Clients every plan uses (besides STS): the worker makes them as soon as it is ready."""

SWITCH = "CLOUDTRAIL_WIZARD_AWS_WORKER"
"""Environment variable: ``1`` always use the worker, ``0`` never; unset, see
:func:`worth_a_worker`."""

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals the command handles by rolling back (through the worker): the worker ignores them."""

if TYPE_CHECKING:
    Settings = tuple[str | None, str | None, bool]
    """What a worker is started for: ``(profile, region, read_only)``."""


class Launched:
    """A started worker process and the two pipes to it, not yet wrapped in a session."""

    __slots__ = ("answers", "options", "process", "requests")

    def __init__(
        self,
        options: Mapping[str, Any],
        process: subprocess.Popen[bytes],
        requests: IO[bytes],
        answers: IO[bytes],
    ) -> None:
        self.options = options
        """The session settings it was started with (``profile``, ``region``, ``read_only``)."""
        self.process = process
        self.requests = requests
        """Where requests are written."""
        self.answers = answers
        """Where answers are read."""

    def close(self, grace: float = 5.0) -> None:
        """Let the worker go: it exits at the end of its request pipe. Safe to call twice.

        Args:
            grace: Seconds it may take to end (at once, normally) before it is killed.
        """
        with contextlib.suppress(OSError, ValueError):
            self.requests.close()
        if not _exited_within(self.process, grace):
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError, ValueError):
            self.answers.close()


def _exited_within(process: subprocess.Popen[bytes], seconds: float) -> bool:
    """Whether the process ends within ``seconds`` (it is not reaped: wait() does that).

    Woken the moment it exits, through a process file descriptor where the system has them:
    ``Popen.wait(timeout)`` polls with growing sleeps instead, and took up to 9 ms to notice
    an exit of 1 ms at the end of every command.
    """
    if process.returncode is not None:
        return True
    try:
        handle = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux 5.3+, or already reaped
        import subprocess  # nosec B404

        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        # Deferred, as every import here but the few a launch needs (start-up time).
        import select

        ready, _, _ = select.select([handle], [], [], seconds)
        return bool(ready)
    finally:
        os.close(handle)


def worth_a_worker() -> bool:
    """Whether a worker would make a command faster here and now.

    The worker pays off when it gets a core of its own: this process may run on two or
    more, and the system's load (its one-minute average of runnable processes) leaves at
    least about one idle. On a busy machine the two processes would only take turns, and
    the second one's start-up would be lost time. :data:`SWITCH` overrides the guess.
    """
    forced = os.environ.get(SWITCH, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if cores < 2:
        return False
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available here: assume the machine is not saturated
        return True
    return load < cores - 0.5


def launch(
    *,
    profile: str | None = None,
    region: str | None = None,
    read_only: bool = False,
    services: Sequence[str] = DEFAULT_SERVICES,
) -> Launched | None:
    """Start a worker process; None where it cannot run.

    See :func:`wizard.aws.worker.start_worker`, which wraps what this returns in a session.
    """
    if os.name != "posix" or not sys.executable:
        return None
    # Deferred: only a launch needs them, and this module is imported before anything else.
    import json
    import subprocess  # nosec B404

    options = {"profile": profile, "region": region, "read_only": read_only}
    # The worker imports this very copy of the wizard, whatever the current directory.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    # Requests and answers travel on pipes of their own: the worker's standard input and
    # output stay away from them (a credentials prompt falls back to them without a tty).
    request_read, request_write = os.pipe()
    answer_read, answer_write = os.pipe()
    # The worker is this Python running _BOOTSTRAP: a fixed argv, no shell.
    command = [
        sys.executable,
        "-P",  # never import from the current directory
        "-c",
        _BOOTSTRAP,
        str(request_read),
        str(answer_write),
        json.dumps(options),
        ",".join(services),
    ]
    try:
        with stop_signals_ignored():  # inherited: stopping is the command's, not the worker's
            process = subprocess.Popen(  # nosec B603
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
                pass_fds=(request_read, answer_write),
            )
    except OSError:
        for fd in (request_read, request_write, answer_read, answer_write):
            os.close(fd)
        return None
    os.close(request_read)
    os.close(answer_write)
    return Launched(options, process, os.fdopen(request_write, "wb"), os.fdopen(answer_read, "rb"))


# Exit quietly if the wizard cannot be imported there: the command then opens the session
# itself (see WorkerSession._stop).
_BOOTSTRAP = """import sys
try:
    from wizard.aws.worker import serve
except BaseException:
    sys.exit(3)
serve()
"""


@contextlib.contextmanager
def stop_signals_ignored() -> Iterator[None]:
    """Ignore :data:`STOP_SIGNALS` meanwhile (a child started now inherits that)."""
    try:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    except ValueError:  # not the main thread: the worker ignores them itself, a moment later
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ------------------------------------------------------------------ started before parsing

_PRESTARTED: dict[Settings, Launched] = {}  # type annotations are not evaluated
"""The worker :func:`prestart` started, by the settings it was started for (one at most)."""


def prestart(*, profile: str | None, region: str | None, read_only: bool) -> None:
    """Start a worker now, for a command that has not parsed its options yet, if one pays."""
    if _PRESTARTED or not worth_a_worker():
        return
    launched = launch(profile=profile, region=region, read_only=read_only)
    if launched is not None:
        _PRESTARTED[(profile, region, read_only)] = launched


def take_prestarted(settings: Settings | None) -> Launched | None:
    """The worker :func:`prestart` started, if it was for exactly ``settings``.

    A worker started for other settings (or when ``settings`` is None: the command wants no
    worker) is closed; either way none is left behind.
    """
    found = None
    for started_for, launched in list(_PRESTARTED.items()):
        del _PRESTARTED[started_for]
        if settings is not None and started_for == settings:
            found = launched
        else:
            launched.close()
    return found
