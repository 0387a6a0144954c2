"""The apply journal: a crash-safe, secret-free record of every AWS call apply makes.

One journal is one JSON document. It is rewritten in full for every durable write (temporary
file in the same directory, fsync, :func:`os.replace`, fsync of the directory), so whatever
happens to the process the file on disk is always a complete, parseable document holding
every entry written so far. That is what an operator needs after a crash: which resources
were created, with which parameters, and which rollback calls already ran.

It is a write-ahead journal: apply records an ``intent`` entry, durably, *before* each
mutating call, and the outcome (``call`` / ``rollback-call``) after it. A call whose intent
has no outcome was in flight when the process died; ``cloudtrail-wizard recover`` looks the
resource up to learn whether it happened.

Each durable write costs an fsync (about 10 ms here, more on a busy disk), so apply writes
the intents of the steps that start together with one :meth:`Journal.record_many`, and the
outcome of a forward call without a write of its own (``durable=False``): it is on disk
with the next durable write, which comes before any call that depends on it is sent (that
call's intent) and at the latest with the summary. A crash before then leaves the intent
without its outcome: the call counts as in flight and ``recover`` looks it up, exactly as
after a crash while the request was on the wire. While a run writes its journal it holds an
exclusive lock on ``<journal>.lock`` (released by the kernel when the process dies, even on
``kill -9``), so a journal with no summary whose lock is free belongs to a run that ended
without finishing: an *unfinished run*.

Everything written passes through :func:`redact` first: credentials must never end up on
disk, even when a caller puts them where they do not belong.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import tempfile
import textwrap
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

JOURNAL_VERSION = 2
"""Format version written into every journal document (2: intent entries, ``seq``, lock)."""

LOCK_SUFFIX = ".lock"
"""Suffix of the lock file beside a journal (``<journal>.json.lock``)."""

REDACTED = "***REDACTED***"
"""What replaces a secret."""

# Compared after lower-casing and dropping "-" and "_", so "X-Amz-Security-Token",
# "secret_access_key" and "SecretAccessKey" are all caught.
_SECRET_KEYS = frozenset(
    {
        "accesskeyid",
        "secretaccesskey",
        "sessiontoken",
        "password",
        "credentials",
        "authorization",
        "xamzsecuritytoken",
        "securitytoken",
        "secretkey",
        "awsaccesskeyid",
        "awssecretaccesskey",
        "awssessiontoken",
    }
)

# An AWS secret access key: exactly 40 characters of base64 alphabet. Requiring upper case,
# lower case and a digit keeps hex digests (SHA-1 is also 40 characters) and plain words
# out; real secret keys practically always mix all three.
_SECRET_KEY_VALUE = re.compile(r"^[A-Za-z0-9/+]{40}$")
# Session tokens are long base64 blobs (hundreds of characters); a run of 100+ base64
# characters inside any string is treated as one, wherever it appears.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9/+]{100,}={0,2}")
# Access key ids are not secret on their own, but they identify the credential; they have
# no business in a journal either.
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b")
# A secret access key can also hide inside a longer string ("key=<secret>"): any run of
# exactly 40 base64 characters with upper case, lower case and digits is treated as one.
_EMBEDDED_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def journal_dir() -> Path:
    """Where journals are kept: ``$XDG_STATE_HOME/cloudtrail-wizard/journal``.

    Without ``XDG_STATE_HOME`` (or with a relative one, which the XDG spec says to ignore),
    ``~/.local/state/cloudtrail-wizard/journal``.
    """
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "cloudtrail-wizard" / "journal"


def new_journal_path(label: str = "apply") -> Path:
    """A fresh, unique journal file path under :func:`journal_dir`.

    Args:
        label: A word for the file name (``apply``, ``rollback``).

    Returns:
        ``<journal_dir>/<UTC timestamp>-<label>-<random>.json`` (not created yet).
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return journal_dir() / f"{stamp}-{label}-{uuid.uuid4().hex[:8]}.json"


def _looks_secret(value: str) -> bool:
    if _SECRET_KEY_VALUE.match(value):
        has_upper = any(c.isupper() for c in value)
        has_lower = any(c.islower() for c in value)
        has_digit = any(c.isdigit() for c in value)
        return has_upper and has_lower and has_digit
    return False


def _redact_string(value: str) -> str:
    if _looks_secret(value):
        return REDACTED
    value = _TOKEN_RUN.sub(REDACTED, value)
    value = _EMBEDDED_SECRET.sub(
        lambda m: REDACTED if _looks_secret(m.group(0)) else m.group(0), value
    )
    return _ACCESS_KEY_ID.sub(REDACTED, value)


def _is_secret_key(key: str) -> bool:
    return key.lower().replace("-", "").replace("_", "") in _SECRET_KEYS


def redact(value: Any) -> Any:
    """A copy of ``value`` with every credential replaced by :data:`REDACTED`.

    Dictionary entries whose key names a credential (case-insensitive: ``AccessKeyId``,
    ``SecretAccessKey``, ``SessionToken``, ``Password``, ``Credentials``, ``Authorization``,
    ``X-Amz-Security-Token``, ...) have their whole value replaced; strings that look like a
    secret access key, a session token or an access key id are replaced wherever they are.

    Args:
        value: Any JSON-like structure (dicts, lists, tuples, scalars).

    Returns:
        The redacted copy; the input is not modified.
    """
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if _is_secret_key(str(k)) else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _redact_string(value)
    if isinstance(value, bytes):
        return redact(_json_default(value))
    return value


def _json_default(value: Any) -> Any:
    """Make the values boto3 returns (datetimes, bytes) writable as JSON."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _entry(
    kind: str,
    *,
    step_id: str | None = None,
    service: str | None = None,
    region: str | None = None,
    operation: str | None = None,
    params: Mapping[str, Any] | None = None,
    result: Any = None,
    error: str | None = None,
    rollback: bool = False,
    message: str | None = None,
    account: str | None = None,
) -> dict[str, Any]:
    """One journal entry (redacted, without its ``seq``), as :meth:`Journal.record` takes it."""
    entry: dict[str, Any] = {"timestamp": _now(), "kind": kind}
    optional: dict[str, Any] = {
        "step_id": step_id,
        "service": service,
        "region": region,
        "operation": operation,
        "message": message,
    }
    entry.update({k: v for k, v in optional.items() if v is not None})
    if account is not None:
        entry["account"] = account
    if params is not None:
        entry["params"] = redact(dict(params))
    if result is not None:
        entry["result"] = redact(result)
    if error is not None:
        entry["error"] = redact(error)
    entry["rollback"] = rollback
    return entry


class Journal:
    """A thread-safe, append-only journal stored as one JSON document.

    The document is::

        {"version": 1, "started": "...", "meta": {...}, "entries": [...], "summary": null}

    Each entry has ``timestamp``, ``kind`` and, where relevant, ``step_id``, ``service``,
    ``region``, ``operation``, ``params``, ``result``, ``error`` and ``rollback``.
    """

    def __init__(self, path: Path | str, *, meta: Mapping[str, Any] | None = None) -> None:
        """Create the journal; the file appears with the first write.

        Args:
            path: Where to write. Parent directories are created (mode 0700).
            meta: Free-form information about the run (account, plan, tool version).
        """
        self.path = Path(path)
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._doc: dict[str, Any] = {
            "version": JOURNAL_VERSION,
            "started": _now(),
            "meta": redact({"pid": os.getpid(), "host": _hostname(), **dict(meta or {})}),
            "entries": [],
            "summary": None,
        }
        self._encoded: list[tuple[dict[str, Any], str]] = []
        """Each entry written, with its text in the document (see :meth:`_text_locked`)."""
        self._pending = False
        """Entries recorded with ``durable=False`` are not on disk yet."""

    @classmethod
    def reopen(cls, path: Path | str) -> Journal:
        """Append to an existing journal (recovery writes into the run's own journal).

        Raises:
            OSError: the journal cannot be read.
            ValueError: it is not a journal document.
        """
        doc = load_journal(path)
        if not isinstance(doc.get("entries"), list):
            raise ValueError(f"{path} is not a cloudtrail-wizard journal (no entries).")
        journal = cls(path)
        journal._doc = doc
        journal._doc["summary"] = None  # the run is being finished now
        return journal

    @property
    def entries(self) -> list[dict[str, Any]]:
        """A copy of the entries written so far (already redacted)."""
        with self._lock:
            return json.loads(json.dumps(self._doc["entries"], default=_json_default))  # type: ignore[no-any-return]

    def record(
        self,
        kind: str,
        *,
        step_id: str | None = None,
        service: str | None = None,
        region: str | None = None,
        operation: str | None = None,
        params: Mapping[str, Any] | None = None,
        result: Any = None,
        error: str | None = None,
        rollback: bool = False,
        message: str | None = None,
        account: str | None = None,
        durable: bool = True,
    ) -> None:
        """Append one entry and rewrite the file atomically (durable when this returns).

        With ``durable=False`` the entry is only added to the document: it reaches the disk
        with the next durable write (another entry, :meth:`flush`, the summary), and until
        then a crash loses it. For an outcome whose loss makes its call look in flight.

        Args:
            kind: What happened (``call``, ``rollback-call``, ``apply-started``, ...).
            step_id: The plan step, when the entry belongs to one.
            service: AWS service of the call.
            region: Region the call went to.
            operation: API operation (PascalCase).
            params: Request parameters (redacted before writing).
            result: The response (redacted before writing).
            error: Error text when the call failed.
            rollback: True for calls made while rolling back.
            message: Free text for non-call entries.
            account: The account whose credentials made the call, when not the run's own.
            durable: Write the file now (the default); False leaves that to the next write.

        Raises:
            OSError: the file could not be written (the previous file stays intact).
        """
        entry = _entry(
            kind,
            step_id=step_id,
            service=service,
            region=region,
            operation=operation,
            params=params,
            result=result,
            error=error,
            rollback=rollback,
            message=message,
            account=account,
        )
        self._append([entry], durable=durable)

    def record_many(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Append several entries with one write of the file: all of them or none.

        Each mapping holds :meth:`record`'s keyword arguments (``kind`` included). Apply
        writes the intents of the steps it starts together this way: one fsync instead of
        one per call, and every one of them on disk before the first call is sent.

        Raises:
            OSError: the file could not be written; none of the entries is in the journal.
        """
        if entries:
            self._append([_entry(**dict(e)) for e in entries], durable=True)

    def flush(self) -> None:
        """Write entries recorded with ``durable=False`` that are not on disk yet.

        Raises:
            OSError: the file could not be written (the entries stay, for the next write).
        """
        with self._lock:
            if self._pending:
                self._write_locked()
                self._pending = False

    def _append(self, entries: list[dict[str, Any]], *, durable: bool) -> None:
        with self._lock:
            for entry in entries:
                entry["seq"] = len(self._doc["entries"]) + 1
                self._doc["entries"].append(entry)
            try:
                if durable:
                    self._write_locked()
                else:
                    self._encode_locked()  # a value that cannot be written fails now
            except BaseException:
                # Not on disk, so not in the journal: the in-memory copy must say the same.
                del self._doc["entries"][-len(entries) :]
                del self._encoded[len(self._doc["entries"]) :]
                raise
            self._pending = not durable

    def finish(self, summary: Mapping[str, Any]) -> None:
        """Write the final summary (status, per-step results) and rewrite the file.

        Raises:
            OSError: the file could not be written (the previous file stays intact).
        """
        with self._lock:
            self._doc["summary"] = redact({"finished": _now(), **dict(summary)})
            try:
                self._write_locked()
            finally:
                # The run is over either way: a journal left without its summary must look
                # unfinished to `recover`, not alive for as long as this process runs.
                self._release_locked()

    def _claim_locked(self) -> None:
        """Hold ``<journal>.lock`` while the run writes: it tells a live run from a dead one."""
        if self._lock_fd is not None:
            return
        lock_path = self.path.with_name(self.path.name + LOCK_SUFFIX)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OSError(
                f"{self.path} is being written by another running cloudtrail-wizard process."
            ) from None
        self._lock_fd = fd

    def _release_locked(self) -> None:
        if self._lock_fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path.with_name(self.path.name + LOCK_SUFFIX))
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)
        self._lock_fd = None

    def _text_locked(self) -> str:
        """The document as ``json.dumps(doc, indent=2)`` writes it, each entry encoded once.

        The file is written again whole after every entry: encoding every entry every time
        made a journal's cost grow with the square of its entries (each account of an
        onboarding run writes twenty, each with the plan's policies in it). The text is the
        same, byte for byte.
        """
        entries = self._doc["entries"]
        self._encode_locked()
        head = {**self._doc, "entries": _ENTRIES_MARK}
        text = json.dumps(head, indent=2, default=_json_default, ensure_ascii=False)
        listed = "[\n" + ",\n".join(t for _e, t in self._encoded) + "\n  ]" if entries else "[]"
        return text.replace(json.dumps(_ENTRIES_MARK), listed, 1)

    def _encode_locked(self) -> None:
        """Encode the entries not encoded yet (each entry is encoded once)."""
        entries = self._doc["entries"]
        known = 0
        while (
            known < min(len(entries), len(self._encoded))
            and self._encoded[known][0] is entries[known]
        ):
            known += 1
        del self._encoded[known:]  # an entry taken back, or the entries replaced (reopen)
        for entry in entries[known:]:
            text = json.dumps(entry, indent=2, default=_json_default, ensure_ascii=False)
            self._encoded.append((entry, textwrap.indent(text, "    ")))

    def _write_locked(self) -> None:
        # Serialise first: a value json cannot handle must fail before the file is touched.
        text = self._text_locked()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._claim_locked()
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        try:
            # mkstemp creates the file 0600: the journal names accounts and resources, it is
            # for the operator only.
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        except BaseException:
            # Leave no half-written temporary file behind; the previous journal is intact.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


_ENTRIES_MARK = f"\x00entries-{uuid.uuid4().hex}\x00"
"""Stands for the entries in the document while it is encoded (nothing else can be it)."""


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a crash could otherwise undo it)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _hostname() -> str:
    return os.uname().nodename


def lock_held(path: Path | str) -> bool:
    """True while a live process holds the journal's lock (its run is still going)."""
    lock_path = Path(path).with_name(Path(path).name + LOCK_SUFFIX)
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def check_state_dir() -> str | None:
    """Why journals cannot be written (an explained message), or None when they can.

    Apply calls this before any change: a run that cannot keep its journal makes no change.
    """
    directory = journal_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return (
            f"The state directory {directory} cannot be written ({reason}). The wizard keeps "
            "its journal there so that every change can be recovered after a crash. Make it "
            "writable, or set XDG_STATE_HOME to a writable directory, and run again. Nothing "
            "was changed."
        )
    return None


def load_journal(path: Path | str) -> dict[str, Any]:
    """Read a journal document back (for ``status`` / resume views and tests)."""
    with open(path, encoding="utf-8") as handle:
        doc: dict[str, Any] = json.load(handle)
    return doc


def first_run() -> bool:
    """True the first time a wizard front end runs for this user (then never again).

    The marker sits beside the journals in the XDG state directory; both the full-screen
    wizard and the plain prompts use it to show their help by default on the first run.
    """
    marker = journal_dir().parent / "first-run-done"
    if marker.exists():
        return False
    with contextlib.suppress(OSError):
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return True
