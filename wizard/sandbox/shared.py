"""The shared sandbox: one emulator in the background that every ``--sandbox`` command uses.

A person expects the demo account to remember what they did: ``--sandbox apply`` then
``--sandbox status`` must see the same trail. So the first ``--sandbox`` command starts the
sandbox as a background process of its own (:mod:`wizard.sandbox.daemon`), and every later
one finds it and connects to it, until ``cloudtrail-wizard sandbox reset`` starts over or
``sandbox stop`` stops it. It saves its state after changes (:mod:`wizard.sandbox.persist`) and
restores it when it starts again, so the account also survives the process ending.

It lives in the sandbox's home, ``$XDG_STATE_HOME/cloudtrail-wizard/sandbox`` (beside the
journals; ``~/.local/state/...`` without ``XDG_STATE_HOME``), or the directory named by
:data:`HOME_VARIABLE` (``serve`` gives each trainee one). The home is 0700 and holds:

* ``sandbox.json`` (0600), the record of the running process: its pid, the emulator's
  endpoint, a control port on 127.0.0.1 and the random token that guards it, the package
  version, when it started. The record exists only while the process runs and answers;
* ``daemon.lock``, locked by the running process for its whole life (with its pid inside):
  whether the lock is free tells a dead process from a live one, whatever became of the pid;
* ``start.lock``, held while a sandbox is being started, so two commands starting at the same
  moment end with one sandbox;
* ``state.pickle`` (0600), the saved state, and ``sandbox.log``, the process's log.

This module is the clients' side, and cheap to import (neither moto nor boto3, nor the
emulator's rules: a command that only connects loads none of them): it finds the sandbox,
starts it when needed and talks to its control endpoint (deliver log files now, reset, stop,
describe).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import select
import signal
import subprocess  # nosec B404 - runs this package's own sandbox module, no shell, no input
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import wizard
from wizard import __version__
from wizard.run.journal import journal_dir

if TYPE_CHECKING:
    import urllib.error

    from wizard.sandbox.delivery import DeliveryReport

HOME_VARIABLE = "CLOUDTRAIL_WIZARD_SANDBOX_HOME"
"""Names the directory of the shared sandbox instead of the state directory's (absolute)."""

RECORD = "sandbox.json"
DAEMON_LOCK = "daemon.lock"
START_LOCK = "start.lock"
STATE = "state.pickle"
LOG = "sandbox.log"

START_SECONDS = 90.0
"""How long a command waits for the sandbox to start (about 2 s when the machine is idle)."""
STOP_SECONDS = 30.0
"""How long stopping waits for the process to save and exit before it is killed."""
PROBE_SECONDS = 5.0
"""How long a running sandbox may take to answer a health check."""
LOG_KEPT_BYTES = 1 << 20
"""The log is started afresh (the old one kept as ``sandbox.log.1``) beyond this size."""

TOKEN_HEADER = "X-Sandbox-Token"
"""The header that carries the control token."""


class SandboxUnavailable(RuntimeError):
    """The shared sandbox could not be started, reached or stopped; the message says why and
    what to do."""


def sandbox_home() -> Path:
    """Where the shared sandbox lives: :data:`HOME_VARIABLE`, else beside the journals."""
    named = os.environ.get(HOME_VARIABLE, "")
    if named and os.path.isabs(named):
        return Path(named)
    return journal_dir().parent / "sandbox"


# ----------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Record:
    """``sandbox.json``: how to reach the running sandbox."""

    pid: int
    endpoint: str
    """``http://127.0.0.1:PORT``: the emulator."""
    control_port: int
    """The control endpoint's port on 127.0.0.1."""
    token: str
    """The control endpoint's password (the record is 0600)."""
    instance: str
    """A random id of this process's life: a health check answers with it."""
    version: str
    """The package version that started it."""
    build: str
    """:func:`code_fingerprint` of the code it runs."""
    started: str
    """ISO 8601 UTC."""
    note: str = ""
    """What its start said (restored, or why it started again from the demo account)."""

    @property
    def port(self) -> int:
        """The emulator's port."""
        return int(self.endpoint.rsplit(":", 1)[1])


def read_record(home: Path) -> Record | None:
    """The record in ``home``, or None (missing or unreadable)."""
    try:
        fields = json.loads((home / RECORD).read_text(encoding="utf-8"))
        return Record(**{k: fields[k] for k in Record.__dataclass_fields__ if k in fields})
    except (OSError, ValueError, TypeError):
        return None


def write_record(home: Path, record: Record) -> None:
    """Write the record atomically, readable by this user only (it holds the token)."""
    path = home / RECORD
    temporary = home / f".{RECORD}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(record), handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def remove_record(home: Path, instance: str | None = None) -> None:
    """Remove the record (only if it is ``instance``'s, when given)."""
    record = read_record(home)
    if instance is not None and (record is None or record.instance != instance):
        return
    with contextlib.suppress(FileNotFoundError):
        (home / RECORD).unlink()


def prepare_home(home: Path) -> Path:
    """Create ``home`` (0700) if needed, and make sure it is this user's alone.

    Raises:
        SandboxUnavailable: it cannot be created, or belongs to someone else.
    """
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        status = home.stat()
        if status.st_uid != os.getuid():
            raise SandboxUnavailable(
                f"The sandbox's directory {home} belongs to another user. Set {HOME_VARIABLE} "
                "(or XDG_STATE_HOME) to a directory of your own."
            )
        if status.st_mode & 0o077:
            home.chmod(0o700)
    except OSError as exc:
        raise SandboxUnavailable(
            f"The sandbox's directory {home} cannot be used ({exc.strerror or exc}). Make it "
            "writable, or set XDG_STATE_HOME to a writable directory."
        ) from None
    return home


# ------------------------------------------------------------------------------- locks


def daemon_pid(home: Path) -> int | None:
    """The pid of the sandbox process running in ``home``, or None when none runs.

    Read from ``daemon.lock`` while the lock is held: a pid written by a process that has
    died (and may since belong to another program) is never returned.
    """
    try:
        fd = os.open(home / DAEMON_LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.read(fd, 32).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def hold_daemon_lock(home: Path, *, patience: float = 2.0) -> int | None:
    """Lock ``daemon.lock`` for this process's life and write its pid in it.

    Returns:
        The open descriptor (keep it open), or None: another sandbox process holds it.
    """
    fd = os.open(home / DAEMON_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            # A client checking whether a sandbox runs holds a shared lock for a moment.
            if time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.02)
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
    return fd


@contextlib.contextmanager
def _start_lock(home: Path, timeout: float) -> Iterator[None]:
    """Only one command at a time starts (or stops, or resets) the sandbox of ``home``."""
    fd = os.open(home / START_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SandboxUnavailable(
                        f"Another command has been starting the sandbox in {home} for "
                        f"{timeout:.0f} s. Try again, or see {home / LOG}."
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


# ----------------------------------------------------------------------- the control API


def control(
    record: Record, path: str, *, timeout: float, body: Mapping[str, Any] | None = None
) -> Any:
    """Call the control endpoint of the sandbox ``record`` describes; its JSON answer.

    Raises:
        OSError: it did not answer (``urllib.error.URLError`` is one), or refused the call.
        ValueError: the answer is not JSON.
    """
    # Deferred: urllib.request loads http.client and email (some 10 ms); the full-screen
    # wizard reads this module's record before its first frame and calls the sandbox after.
    import urllib.error
    import urllib.request

    data = json.dumps(dict(body or {})).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{record.control_port}/{path}",
        data=data,
        method="POST" if data is not None else "GET",
        headers={TOKEN_HEADER: record.token, "Content-Type": "application/json"},
    )
    # Only http://127.0.0.1: the port comes from our own 0600 record, no scheme from input.
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:  # it answered, and refused: say what it said
        raise OSError(f"it refused {path}: {_refusal(exc)}") from None


def _refusal(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("error") or error)
    except (OSError, ValueError, AttributeError):
        return str(error)


def answers(record: Record, home: Path, timeout: float = PROBE_SECONDS) -> bool:
    """Whether the process of ``record`` is up and is that very process (its instance id).

    Asked only while a sandbox process holds the lock of ``home``: a record left by a dead
    one names a port that may now be another program's, which is not called.
    """
    if daemon_pid(home) is None:
        return False
    try:
        health = control(record, "health", timeout=timeout)
    except (OSError, ValueError):
        return False
    return isinstance(health, dict) and health.get("instance") == record.instance


# ---------------------------------------------------------------------- the client handle


@dataclass(frozen=True)
class SharedSandbox:
    """A running shared sandbox, as a client sees it."""

    home: Path
    """Where it lives."""
    record: Record
    started: bool = False
    """This call started it (else it was running already)."""
    note: str = ""
    """What a person should hear about its start (empty when it was running already)."""

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``: point every client's ``endpoint_url`` here."""
        return self.record.endpoint

    @property
    def account_id(self) -> str:
        """The demo account's id."""
        # Deferred: the emulator's module (and its rules) only when asked (start-up time).
        from wizard.sandbox.server import DEMO_ACCOUNT

        return DEMO_ACCOUNT

    @property
    def region(self) -> str:
        """The region clients use unless told otherwise."""
        # Deferred: the emulator's module (and its rules) only when asked (start-up time).
        from wizard.sandbox.server import DEMO_REGION

        return DEMO_REGION

    def env(self) -> dict[str, str]:
        """Environment variables that point the AWS SDKs and the AWS CLI at the sandbox."""
        # Deferred: the emulator's module (and its rules) only when asked (start-up time).
        from wizard.sandbox.rules import DUMMY_CREDENTIALS

        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS.access_key_id,
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def _call(self, path: str, body: Mapping[str, Any] | None = None, timeout: float = 120) -> Any:
        try:
            return control(self.record, path, timeout=timeout, body=body)
        except (OSError, ValueError) as exc:
            raise SandboxUnavailable(
                f"The sandbox at {self.endpoint_url} did not answer ({exc}). "
                "`cloudtrail-wizard sandbox status` says whether it runs; the next --sandbox "
                "command starts it again if it has stopped."
            ) from None

    def deliver_now(self) -> DeliveryReport:
        """Deliver CloudTrail log files and digests for every trail now (see
        :meth:`wizard.sandbox.server.Sandbox.deliver_now`)."""
        # Deferred: the delivery module (and the emulator's rules) only when asked.
        from wizard.sandbox.delivery import DeliveryReport

        report = self._call("deliver", {})
        return DeliveryReport(
            log_files=tuple(report["log_files"]),
            digest_files=tuple(report["digest_files"]),
            errors=dict(report["errors"]),
        )

    def reset(self, *, seed: bool = True) -> None:
        """Forget every resource and every recorded call; re-create the demo account."""
        self._call("reset", {"seed": seed})

    def describe(self) -> dict[str, Any]:
        """What the process says about itself: pid, started, version, calls recorded, the
        saved state (path, bytes, when)."""
        found: dict[str, Any] = self._call("status", timeout=PROBE_SECONDS * 2)
        return found

    def stop(self) -> None:
        """Stop the background process; it saves its state first (see :func:`stop_sandbox`)."""
        stop_sandbox(self.home)


# ------------------------------------------------------------------- finding and starting


def find_sandbox(home: Path | None = None) -> SharedSandbox | None:
    """The sandbox running in ``home`` (default :func:`sandbox_home`), if it answers."""
    home = home or sandbox_home()
    record = read_record(home)
    if record is not None and answers(record, home):
        return SharedSandbox(home, record)
    return None


def running(home: Path | None = None) -> bool:
    """Whether a sandbox process runs in ``home``: a look at its files, no network call."""
    home = home or sandbox_home()
    return read_record(home) is not None and daemon_pid(home) is not None


def ensure_sandbox(home: Path | None = None, *, timeout: float = START_SECONDS) -> SharedSandbox:
    """The shared sandbox of ``home`` (default :func:`sandbox_home`), started if needed.

    A running one of this package version that answers is used as it is. Otherwise, under
    the start lock (a second command arriving meanwhile waits, then finds the first one's):
    a sandbox of another version is stopped (it saves its state) and started again; a record
    whose process is gone, or whose pid now belongs to another program, is replaced, and
    that program is left alone; a process that holds the lock but does not answer is
    stopped. The new process restores the saved state, or seeds the demo account when there
    is none.

    Raises:
        SandboxUnavailable: it could not be started (the message quotes its log).
    """
    home = prepare_home(home or sandbox_home())
    record = read_record(home)
    if record is not None and _same_code(record) and answers(record, home):
        return SharedSandbox(home, record)
    with _start_lock(home, timeout):
        record = read_record(home)
        notes = []
        if record is not None and answers(record, home):
            if _same_code(record):
                return SharedSandbox(home, record)  # started by the command we waited for
            if record.version != __version__:
                notes.append(
                    f"The sandbox that was running was started by cloudtrail-wizard "
                    f"{record.version}; it was restarted with {__version__}."
                )
            else:
                notes.append(
                    "The sandbox that was running was started before this copy of "
                    "cloudtrail-wizard's code changed; it was restarted with the new code."
                )
        _end(home, record)
        return _spawn(home, timeout, notes)


def _same_code(record: Record) -> bool:
    return record.version == __version__ and record.build == code_fingerprint()


@functools.cache
def code_fingerprint() -> str:
    """A short digest of the sandbox package's files (names, sizes, modification times).

    A sandbox running other code is restarted even when the version number is the same (a
    working copy whose strict rules or delivery are being edited), so it never answers with
    older rules than the command's. The state it saved stays readable: that depends on the
    version number only.
    """
    # Deferred, as are importlib.util and secrets below: the full-screen wizard loads this
    # module before its first frame only to read the record (start-up time).
    import hashlib

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.glob("*.py")):
        with contextlib.suppress(OSError):
            status = path.stat()
            name = path.relative_to(root).as_posix()
            digest.update(f"{name}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def stop_sandbox(home: Path | None = None, *, timeout: float = STOP_SECONDS) -> bool:
    """Stop the sandbox of ``home`` (it saves its state first); False when none was running.

    Raises:
        SandboxUnavailable: it would not stop, even killed.
    """
    home = home or sandbox_home()
    if not home.is_dir():
        return False
    with _start_lock(home, timeout):
        record = read_record(home)
        was_running = daemon_pid(home) is not None
        _end(home, record, timeout=timeout)
        return was_running


def reset_sandbox(home: Path | None = None) -> Literal["reset", "forgotten", "fresh"]:
    """Start over: the demo account as first seeded, nothing recorded.

    A running sandbox resets at once; otherwise its saved state is deleted, and the next
    start seeds the demo account.

    Returns:
        ``reset``: a running sandbox was reset; ``forgotten``: none ran, its saved state was
        deleted; ``fresh``: none ran and nothing was saved (already a fresh start).
    """
    home = home or sandbox_home()
    found = find_sandbox(home)
    if found is not None:
        found.reset(seed=True)
        return "reset"
    if not home.is_dir():
        return "fresh"
    with _start_lock(home, START_SECONDS):
        found = find_sandbox(home)
        if found is not None:  # started meanwhile
            found.reset(seed=True)
            return "reset"
        try:
            (home / STATE).unlink()
        except FileNotFoundError:
            return "fresh"
    return "forgotten"


def _end(home: Path, record: Record | None, *, timeout: float = STOP_SECONDS) -> None:
    """Make sure no sandbox process runs in ``home`` and no record is left (start lock held).

    A process that answers is asked to stop (it saves its state); one that holds the lock
    without answering, or does not stop within half of ``timeout``, is sent SIGTERM (it saves
    its state too), and SIGKILL at ``timeout``. A record whose process is gone is removed
    without a word to whatever may now listen on its port or use its pid.
    """
    start = time.monotonic()
    asked = False
    if record is not None and daemon_pid(home) is not None:
        with contextlib.suppress(OSError, ValueError):
            control(record, "stop", timeout=PROBE_SECONDS, body={})
            asked = True
    term_at = start + (timeout / 2 if asked else 0)
    kill_at = start + timeout
    sent: set[int] = set()
    while (pid := daemon_pid(home)) is not None:
        now = time.monotonic()
        if pid and now >= term_at and signal.SIGTERM not in sent:
            sent.add(signal.SIGTERM)
            _signal(pid, signal.SIGTERM)
        elif pid and now >= kill_at and signal.SIGKILL not in sent:
            sent.add(signal.SIGKILL)
            _signal(pid, signal.SIGKILL)
        elif now >= kill_at + 5:
            raise SandboxUnavailable(
                f"The sandbox process {pid or '(unknown pid)'} in {home} would not stop. End "
                "it yourself and try again."
            )
        time.sleep(0.05)
    remove_record(home)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _spawn(home: Path, timeout: float, notes: list[str]) -> SharedSandbox:
    """Start the sandbox process for ``home`` and wait until it is ready."""
    # Deferred: only starting a sandbox looks for moto (see code_fingerprint).
    import importlib.util

    if importlib.util.find_spec("moto") is None:
        raise SandboxUnavailable(
            "--sandbox needs the embedded sandbox, which is not installed: pipx install "
            "'cloudtrail-wizard[sandbox]' (or pip install '.[sandbox]')."
        )
    log_path = home / LOG
    with contextlib.suppress(OSError):
        if log_path.stat().st_size > LOG_KEPT_BYTES:
            log_path.replace(home / f"{LOG}.1")
    read_end, write_end = os.pipe()
    try:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
            # The first process forks the sandbox and exits at once: the sandbox is nobody's
            # child (no zombie in a long-lived caller), in a session of its own (a Ctrl-C in
            # the terminal that started it does not reach it), reading nothing, writing to
            # its log only.
            first = subprocess.Popen(  # nosec B603 - our interpreter and module, fixed arguments
                [
                    sys.executable,
                    "-P",
                    "-m",
                    "wizard.sandbox.daemon",
                    "--home",
                    str(home),
                    "--ready-fd",
                    str(write_end),
                ],
                pass_fds=(write_end,),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=home,
                env=daemon_environment(os.environ),
                start_new_session=True,
            )
        os.close(write_end)
        write_end = -1
        first.wait(timeout=timeout)
        answer = _read_ready(read_end, timeout)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    if not answer.get("ready"):
        said = answer.get("error") or "it exited before it was ready"
        raise SandboxUnavailable(
            f"The sandbox could not start: {said}.\nIts log is {log_path}:\n{_tail(log_path)}"
        )
    record = read_record(home)
    if record is None or record.pid != answer.get("pid"):
        raise SandboxUnavailable(
            f"The sandbox started but its record in {home} is missing. See {log_path}."
        )
    note = " ".join([*notes, record.note]).strip()
    return SharedSandbox(home, record, started=True, note=note)


def _read_ready(fd: int, timeout: float) -> dict[str, Any]:
    """The sandbox's one-line answer on the readiness pipe ({} when it closed without one)."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return {"error": f"it did not get ready within {timeout:.0f} s"}
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    try:
        answer = json.loads(data.split(b"\n", 1)[0] or b"{}")
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def daemon_environment(source: Mapping[str, str]) -> dict[str, str]:
    """The sandbox process's environment: this one's, without anything that names AWS.

    The sandbox never calls AWS (it seeds itself with explicit dummy credentials), so real
    credentials, profiles and endpoints stay out of it; ``PYTHONPATH`` names this very code
    first.
    """
    env = {k: v for k, v in source.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    root = str(Path(wizard.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, source.get("PYTHONPATH")) if p)
    return env


def new_token() -> str:
    """A fresh control token."""
    # Deferred: only starting a sandbox makes a token (see code_fingerprint).
    import secrets

    return secrets.token_urlsafe(32)
