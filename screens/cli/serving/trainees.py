"""``serve --sandbox``: one sandbox per trainee, found again when they come back.

A trainee is a browser: the page sets a random cookie (:data:`COOKIE`, HttpOnly, SameSite
Strict) the first time it is opened, and every wizard process started for a websocket that
carries it uses the shared sandbox of that trainee's own home
(:data:`wizard.sandbox.shared.HOME_VARIABLE`). A reload, or a tab opened again, reconnects
to the same sandbox with what the trainee made in it; another browser (another trainee) has
another cookie and another sandbox; a connection without the cookie gets a sandbox nobody
else will ever get.

A trainee's sandbox is a background process. It keeps running for :data:`GRACE_SECONDS`
after their last wizard ended (a reload finds it running), then it is stopped: it saves its
state first, so coming back later restarts it with everything still there. When ``serve``
stops, every trainee's sandbox is stopped and their homes, under
``<state>/cloudtrail-wizard/serve/<this server>/``, are deleted: a new class starts afresh.
A class (``serve --class``) keeps them instead, in its own folder
(:meth:`Trainees.for_class`): a server started again on that class finds every trainee's
sandbox as they left it.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.run.journal import journal_dir
from wizard.sandbox.shared import (
    HOME_VARIABLE,
    SandboxUnavailable,
    daemon_pid,
    ensure_sandbox,
    find_sandbox,
    reset_sandbox,
    stop_sandbox,
)

if TYPE_CHECKING:  # the labs' models load only for a class
    from wizard.labs import Lab

log = logging.getLogger("cloudtrail-wizard.serve")

COOKIE = "cloudtrail_wizard_trainee"
"""The cookie that names a trainee (a random 128-bit value, never stored on the server)."""
GRACE_SECONDS = 60.0
"""How long a trainee's sandbox keeps running after their last wizard ended."""
SWEEP_AFTER_SECONDS = 60.0
"""A server's folder changed more recently than this is never cleared (it may be starting)."""
SERVER_LOCK = "server.lock"
"""Held by the running server in its folder: a folder whose lock is free is a dead server's."""

_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class FolderInUse(Exception):
    """Another running ``serve`` holds the folder (a class served twice at once)."""


def trainee_id(token: str) -> str:
    """The id of the trainee ``token`` names: a hash, since the token is a secret.

    It names their home, and the class keeps it (:mod:`screens.cli.serving.classroom`),
    never the cookie itself.
    """
    return hashlib.sha256(token.encode()).hexdigest()[:24]


def new_trainee() -> str:
    """A fresh trainee token (the cookie's value)."""
    return secrets.token_hex(16)


def is_trainee(token: str | None) -> bool:
    """Whether ``token`` is a cookie value this server could have set."""
    return token is not None and _TOKEN.match(token) is not None


def cookie_header(token: str) -> str:
    """The ``Set-Cookie`` value that names the trainee for the rest of the browser session."""
    return f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"


def servers_root() -> Path:
    """Where every ``serve`` process keeps its trainees' homes: one folder per server."""
    return journal_dir().parent / "serve"


class Trainees:
    """The trainees of one ``serve --sandbox``: their homes, wizards and sandboxes."""

    def __init__(self, root: Path, *, grace: float = GRACE_SECONDS, keep: bool = False) -> None:
        """Keep the trainees' homes under ``root`` (created 0700, deleted by :meth:`close`
        unless ``keep``).

        ``root``'s :data:`SERVER_LOCK` is held until :meth:`close`: while it is, another
        ``serve`` leaves the folder alone (see :func:`sweep`).

        Raises:
            FolderInUse: ``keep`` (a class's folder) and another server holds it.
        """
        self.root = root
        self.grace = grace
        self.keep = keep
        """The homes outlive the server (a class): :meth:`close` stops, never deletes."""
        self._active: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._retiring: dict[str, asyncio.Task[None]] = {}
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._held: int | None = os.open(
            root / SERVER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            # A class's folder is found again by name: a second server on it must not wait
            # forever for the first one's lock, but say so at once.
            fcntl.flock(self._held, fcntl.LOCK_EX | (fcntl.LOCK_NB if keep else 0))
        except OSError:
            os.close(self._held)
            self._held = None
            raise FolderInUse(
                f"another cloudtrail-wizard serve is already serving the class in {root}. "
                "Stop it first (Ctrl+C where it runs), or give this one another --class-name."
            ) from None

    @classmethod
    def for_class(cls, directory: Path) -> Trainees:
        """The trainees of the class kept in ``directory``: kept when the server stops.

        Raises:
            FolderInUse: another server serves that class now.
        """
        return cls(directory, keep=True)

    @classmethod
    def for_this_server(cls) -> Trainees:
        """A folder of this server's own, after clearing those of servers that have ended."""
        base = servers_root()
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        sweep(base)
        return cls(base / f"{os.getpid()}-{secrets.token_hex(4)}")

    def home(self, token: str) -> Path:
        """The home of the trainee ``token`` (named by a hash: the token is a secret)."""
        return self.home_of(trainee_id(token))

    def home_of(self, ident: str) -> Path:
        """The home of the trainee whose id (:func:`trainee_id`) is ``ident``."""
        return self.root / f"trainee-{ident}"

    def online(self) -> dict[str, int]:
        """The trainees with a wizard open now: their id, and how many wizards."""
        return {trainee_id(t): n for t, n in self._active.items() if n > 0}

    def environment(self, token: str) -> dict[str, str]:
        """What the trainee's wizard process needs to use their sandbox."""
        return {HOME_VARIABLE: str(self.home(token))}

    async def session_starts(self, token: str) -> None:
        """A wizard starts for ``token``: their sandbox stays (or is being stopped: wait)."""
        async with self._lock(token):
            retiring = self._retiring.pop(token, None)
            if retiring is not None:
                retiring.cancel()  # it waits out the grace period: nothing is half done
            self._active[token] = self._active.get(token, 0) + 1

    def session_ended(self, token: str) -> None:
        """A wizard of ``token`` ended: after the grace period, stop their sandbox if idle."""
        left = self._active.get(token, 1) - 1
        self._active[token] = left
        if left <= 0:
            self._retiring[token] = asyncio.get_running_loop().create_task(self._retire(token))

    async def _retire(self, token: str) -> None:
        await asyncio.sleep(self.grace)
        async with self._lock(token):
            if self._active.get(token, 0) > 0:
                return
            self._retiring.pop(token, None)
            # Under the lock: a wizard starting for this trainee meanwhile waits until the
            # sandbox has saved and stopped, then starts it again from what it saved.
            await asyncio.to_thread(_stop, self.home(token))

    async def close(self) -> int:
        """Stop every trainee's sandbox and delete their homes (a class keeps them); how
        many were running."""
        for task in self._retiring.values():
            task.cancel()
        self._retiring.clear()
        homes = [h for h in self.root.iterdir() if h.is_dir()] if self.root.is_dir() else []
        running = [h for h in homes if daemon_pid(h) is not None]
        await asyncio.gather(*(asyncio.to_thread(_stop, h) for h in running))
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        if self._held is not None:
            os.close(self._held)
            self._held = None
        return len(running)

    def _lock(self, token: str) -> asyncio.Lock:
        return self._locks.setdefault(token, asyncio.Lock())


def sweep(base: Path) -> list[Path]:
    """Clear the folders under ``base`` of servers that have ended; the folders cleared.

    A server that was killed (no Ctrl+C) left its trainees' sandboxes running: they are
    stopped, and its folder deleted. A folder whose :data:`SERVER_LOCK` is held belongs to
    a server still running, and is left alone.
    """
    cleared = []
    settled = time.time() - SWEEP_AFTER_SECONDS
    for old in sorted(p for p in base.iterdir() if p.is_dir()):
        if old.stat().st_mtime > settled:
            continue  # just made: its server may not hold its lock yet
        try:
            fd = os.open(old / SERVER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its server runs
            for home in sorted(h for h in old.iterdir() if h.is_dir()):
                if daemon_pid(home) is not None:
                    _stop(home)
            shutil.rmtree(old, ignore_errors=True)
            cleared.append(old)
        finally:
            os.close(fd)
    return cleared


def reset_home(home: Path) -> str:
    """Start the sandbox of ``home`` over from the demo account, the trainee its
    administrator again (see :func:`wizard.sandbox.shared.reset_sandbox`); what happened,
    in words."""
    # Deferred: the labs' seeding (and IAM identities) load only for a class.
    from wizard.sandbox.identities import use_identity
    from wizard.sandbox.labs import reset_to_demo

    found = find_sandbox(home)
    if found is not None:
        reset_to_demo(found)
        return "the sandbox was reset to the demo account"
    use_identity(home, None)
    done = reset_sandbox(home)
    return {
        "reset": "the sandbox was reset to the demo account",
        "forgotten": "the saved sandbox was deleted; the next wizard starts a fresh one",
        "fresh": "there was no sandbox yet; the next wizard starts a fresh one",
    }[done]


def start_lab_in(home: Path, lab: Lab) -> str:
    """Set the sandbox of ``home`` up for ``lab``: reset to the demo account, then the
    lab's starting state (started first if it is not running); what was done, in words.

    Raises:
        wizard.sandbox.labs.LabSeedError: a setup step failed.
        SandboxUnavailable: the sandbox could not be started.
    """
    # Deferred: the labs' seeding (and IAM identities) load only for a class.
    from wizard.sandbox.labs import start_lab

    seeded = start_lab(ensure_sandbox(home), lab)
    who = f", acting as {seeded.identity}" if seeded.identity else ""
    return f"lab {lab.id} set up ({len(seeded.steps)} setup steps{who})"


def stop_if_idle(trainees: Trainees, ident: str) -> None:
    """Stop the sandbox of trainee ``ident`` when no wizard of theirs is open (it saves its
    state): setting up a lab for an absent trainee leaves nothing running."""
    if ident not in trainees.online():
        home = trainees.home_of(ident)
        if daemon_pid(home) is not None:
            _stop(home)


def sandbox_endpoint(home: Path) -> str | None:
    """The endpoint of the sandbox running in ``home``, if one runs and answers (never
    starts one: the dashboard looks, it does not wake a sandbox the grace period stopped)."""
    found = find_sandbox(home) if daemon_pid(home) is not None else None
    return None if found is None else found.endpoint_url


def _stop(home: Path) -> None:
    try:
        stop_sandbox(home)
    except SandboxUnavailable as exc:  # said, and serving goes on
        log.warning("could not stop the sandbox in %s: %s", home, exc)
