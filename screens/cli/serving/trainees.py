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
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import shutil
from pathlib import Path

from wizard.run.journal import journal_dir
from wizard.sandbox.shared import HOME_VARIABLE, SandboxUnavailable, daemon_pid, stop_sandbox

log = logging.getLogger("cloudtrail-wizard.serve")

COOKIE = "cloudtrail_wizard_trainee"
"""The cookie that names a trainee (a random 128-bit value, never stored on the server)."""
GRACE_SECONDS = 60.0
"""How long a trainee's sandbox keeps running after their last wizard ended."""

_TOKEN = re.compile(r"^[0-9a-f]{32}$")


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

    def __init__(self, root: Path, *, grace: float = GRACE_SECONDS) -> None:
        """Keep the trainees' homes under ``root`` (created 0700, deleted by :meth:`close`)."""
        self.root = root
        self.grace = grace
        self._active: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._retiring: dict[str, asyncio.Task[None]] = {}

    @classmethod
    def for_this_server(cls) -> Trainees:
        """A folder of this server's own, after removing those of servers that have ended."""
        base = servers_root()
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        for old in base.iterdir():
            if old.is_dir() and not any(daemon_pid(h) is not None for h in old.iterdir()):
                shutil.rmtree(old, ignore_errors=True)
        root = base / f"{os.getpid()}-{secrets.token_hex(4)}"
        root.mkdir(mode=0o700)
        return cls(root)

    def home(self, token: str) -> Path:
        """The home of the trainee ``token`` (named by a hash: the token is a secret)."""
        digest = hashlib.sha256(token.encode()).hexdigest()[:24]
        return self.root / f"trainee-{digest}"

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
        """Stop every trainee's sandbox and delete their homes; how many were running."""
        for task in self._retiring.values():
            task.cancel()
        self._retiring.clear()
        homes = [h for h in self.root.iterdir() if h.is_dir()] if self.root.is_dir() else []
        running = [h for h in homes if daemon_pid(h) is not None]
        await asyncio.gather(*(asyncio.to_thread(_stop, h) for h in running))
        shutil.rmtree(self.root, ignore_errors=True)
        return len(running)

    def _lock(self, token: str) -> asyncio.Lock:
        return self._locks.setdefault(token, asyncio.Lock())


def _stop(home: Path) -> None:
    try:
        stop_sandbox(home)
    except SandboxUnavailable as exc:  # said, and serving goes on
        log.warning("could not stop the sandbox in %s: %s", home, exc)
