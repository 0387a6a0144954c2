"""The sandbox's memory on disk: moto's state and the delivery state, saved and restored.

moto keeps every resource in process-wide "backends" (one ``BackendDict`` per service, such as
``moto.s3.models.s3_backends``), and :data:`wizard.sandbox.delivery.SERVICE` keeps the calls
waiting to be delivered, the digest chains and their signing keys. The shared sandbox
(:mod:`wizard.sandbox.daemon`) saves both after changes and restores them when it starts, so
the demo account survives its process ending (a reboot, a kill, ``sandbox stop``).

The state is a graph of moto's model objects that reference each other (a trail, the bucket
it names, the key it encrypts with), so it is saved with :mod:`pickle`, the one format that
keeps such a graph whole without a converter per moto class. Three things in it do not
pickle as they are, and are handled here: locks (recreated, unlocked), the ``cryptography``
private keys of KMS keys and of the digest signing keys (saved as PKCS#8 DER and loaded back),
and references to the backend dictionaries themselves (saved by module and name, and resolved
to the live ones, so restored objects never point at a copy).

The file is one JSON header line, then the pickle. The header says which versions of this
package, moto and Python wrote it, when, and the pickle's SHA-256: a file from other versions
is not unpickled at all (moto's classes change between releases), nor is one whose checksum
does not match (a torn or truncated write). Reading it also needs the file and its directory
to belong to the user and to be writable by nobody else (see :func:`restore_state`).

moto is imported inside the functions that need it, like the rest of the sandbox.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import pickle  # nosec B403 - see restore_state: only our own file, checked before loading
import stat
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from wizard import __version__
from wizard.sandbox.delivery import SERVICE

FORMAT = 1
"""The layout of the saved file (the header and what the pickle holds)."""

_LOCKS: dict[type, Any] = {
    type(threading.Lock()): threading.Lock,
    type(threading.RLock()): threading.RLock,
}
"""Lock types, and the factory that makes a new one (the types cannot be named in a pickle)."""
_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)


class StateUnreadable(Exception):
    """A saved state that cannot be restored; the message says why, in a person's words."""


@dataclass(frozen=True)
class Header:
    """What the first line of a saved state says about it."""

    format: int
    wizard: str
    """The version of this package that saved it."""
    moto: str
    """moto's version."""
    python: str
    """``major.minor`` of the Python that saved it."""
    saved: str
    """When, ISO 8601 UTC."""
    port: int
    """The port the sandbox listened on (tried first again, so endpoints stay the same)."""
    sha256: str
    """Hex SHA-256 of the pickle that follows."""

    def compatible(self) -> str | None:
        """Why this process cannot read the state (None: it can)."""
        here = _versions()
        there = {"wizard": self.wizard, "moto": self.moto, "python": self.python}
        if self.format == FORMAT and there == here:
            return None
        return (
            f"it was saved by cloudtrail-wizard {self.wizard} (moto {self.moto}, Python "
            f"{self.python}) and this is cloudtrail-wizard {here['wizard']} (moto "
            f"{here['moto']}, Python {here['python']})"
        )


def _versions() -> dict[str, str]:
    # moto on first use (see the module docstring)
    import moto

    return {
        "wizard": __version__,
        "moto": str(moto.__version__),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }


# ---------------------------------------------------------------------------------- save


def save_state(path: Path, *, port: int) -> int:
    """Save moto's backends and the delivery state to ``path`` (atomically).

    The emulator is paused while the state is pickled (a few milliseconds for a demo
    account), then the file is written beside ``path`` and renamed over it, so a crash
    leaves the old file or the new one, never half of one.

    Args:
        path: The state file.
        port: The sandbox's port, kept in the header.

    Returns:
        :attr:`~wizard.sandbox.delivery.DeliveryService.changes` as of the snapshot.
    """
    with SERVICE.paused():
        changes = SERVICE.changes
        payload = _dumps()
    header = {
        "format": FORMAT,
        **_versions(),
        "saved": datetime.now(UTC).isoformat(timespec="seconds"),
        "port": port,
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    data = json.dumps(header).encode("utf-8") + b"\n" + payload
    _write_atomically(path, data)
    return changes


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _used_backends() -> list[Any]:
    """The backend dictionaries moto has used (the ones its reset empties)."""
    # moto on first use (see the module docstring)
    from moto.core.base_backend import BackendDict

    instances: list[Any] = vars(BackendDict)["_instances"]
    return list(instances)


def _backend_dicts() -> dict[int, tuple[str, str]]:
    """Every backend dictionary moto has used, by id: ``(module, attribute)`` where it lives."""
    found: dict[int, tuple[str, str]] = {}
    for backends in _used_backends():
        module = sys.modules.get(backends.backend.__module__)
        for name, value in vars(module or object()).items():
            if value is backends:
                found[id(backends)] = (backends.backend.__module__, name)
                break
    return found


def _dumps() -> bytes:
    places = _backend_dicts()
    backends = []
    for instance in _used_backends():
        place = places.get(id(instance))
        if place is None:  # not a module-level dictionary: nothing could find it again
            continue
        extra = {k: v for k, v in vars(instance).items() if k != "_id"}
        backends.append((place, dict(instance), extra))
    buffer = io.BytesIO()
    _Pickler(buffer, places).dump({"backends": backends, "delivery": SERVICE.snapshot()})
    return buffer.getvalue()


def _private_key(der: bytes) -> Any:
    """A private key saved by :class:`_Pickler` (PKCS#8 DER, unencrypted)."""
    return serialization.load_der_private_key(der, password=None)


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, places: dict[int, tuple[str, str]]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.places = places

    def persistent_id(self, obj: Any) -> Any:
        # A backend dictionary is saved as where it lives, and restored as the live one.
        place = self.places.get(id(obj))
        return ("moto-backends", *place) if place is not None else None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _KEY_TYPES):
            der = obj.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            return _private_key, (der,)
        factory = _LOCKS.get(type(obj))
        if factory is not None:
            return factory, ()
        return NotImplemented


# ------------------------------------------------------------------------------- restore


def read_header(path: Path) -> Header | None:
    """The header of the state saved at ``path``; None when there is none or it is unreadable."""
    try:
        with path.open("rb") as handle:
            line = handle.readline(4096)
        fields = json.loads(line)
        return Header(**{k: fields[k] for k in Header.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def restore_state(path: Path) -> Header:
    """Replace moto's backends and the delivery state with those saved at ``path``.

    Call it in a sandbox process before anyone can reach the emulator (the shared sandbox
    restores before it writes its record). The emulator is paused meanwhile.

    Security: unpickling runs code named in the file, so only this user's own file is read:
    it must be a regular file owned by the user, in a directory owned by the user, neither
    writable by group or others (the sandbox's directory is created 0700 and the file 0600),
    written by these very versions, with the checksum its header gives. Whoever could write
    such a file could as well change the user's shell start-up files: reading it grants
    nothing new.

    Returns:
        The header of the state restored.

    Raises:
        StateUnreadable: there is no such file, it is not safe or not compatible, or it
            could not be read; nothing was changed.
    """
    _check_ownership(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StateUnreadable(f"it could not be read ({exc.strerror or exc})") from None
    payload = data.partition(b"\n")[2]
    header = read_header(path)
    if header is None:
        raise StateUnreadable("its header is missing or damaged")
    problem = header.compatible()
    if problem:
        raise StateUnreadable(problem)
    if hashlib.sha256(payload).hexdigest() != header.sha256:
        raise StateUnreadable("it is incomplete or damaged (its checksum does not match)")
    with SERVICE.paused():
        try:
            saved = _Unpickler(io.BytesIO(payload)).load()  # nosec B301 - see the docstring
            _restore(saved)
        except StateUnreadable:
            raise
        except Exception as exc:
            raise StateUnreadable(f"it could not be loaded ({type(exc).__name__}: {exc})") from exc
    return header


def _check_ownership(path: Path) -> None:
    for place in (path.parent, path):
        try:
            status = place.lstat()
        except FileNotFoundError:
            raise StateUnreadable("there is no saved state") from None
        except OSError as exc:
            raise StateUnreadable(f"{place} cannot be read ({exc.strerror or exc})") from None
        kind = stat.S_ISDIR if place == path.parent else stat.S_ISREG
        if not kind(status.st_mode):
            raise StateUnreadable(
                f"{place} is not a plain {'directory' if place != path else 'file'}"
            )
        if status.st_uid != os.getuid() or status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise StateUnreadable(
                f"{place} belongs to someone else or others may write to it, so it is not "
                "loaded (it should be yours, mode 0700 for the directory and 0600 for the file)"
            )


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        # moto on first use (see the module docstring)
        from moto.core.base_backend import BackendDict

        if not (isinstance(pid, tuple) and len(pid) == 3 and pid[0] == "moto-backends"):
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")
        return _live_backends(str(pid[1]), str(pid[2]), BackendDict)


def _live_backends(module: str, name: str, kind: type) -> Any:
    if not module.startswith("moto."):
        raise StateUnreadable(f"it names {module}.{name}, which is not one of moto's backends")
    backends = getattr(importlib.import_module(module), name, None)
    if not isinstance(backends, kind):
        raise StateUnreadable(f"it names {module}.{name}, which is not one of moto's backends")
    return backends


def _restore(saved: dict[str, Any]) -> None:
    # moto on first use (see the module docstring)
    from moto.core.base_backend import BackendDict

    for (module, name), accounts, extra in saved["backends"]:
        live = _live_backends(module, name, BackendDict)
        live.clear()
        dict.update(live, accounts)
        for attribute, value in extra.items():
            setattr(live, attribute, value)
        for account in accounts:
            _ = live[account]  # registers the dictionary with moto, so a reset empties it
    SERVICE.restore(saved["delivery"])
