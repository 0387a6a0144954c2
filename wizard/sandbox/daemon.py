"""The shared sandbox's own process, in the background: ``python -m wizard.sandbox.daemon``.

Started by :func:`wizard.sandbox.shared.ensure_sandbox` (never by people), it:

1. forks and lets its parent exit, so it belongs to no caller (its own session, no terminal);
2. locks ``daemon.lock`` in its home for its whole life (one process per home, whatever the
   pids become);
3. starts the strict emulator (:func:`wizard.sandbox.server.start_sandbox`) on 127.0.0.1, on
   the port it had last time when that port is free, so endpoints a person exported stay
   right;
4. restores the saved state (:mod:`wizard.sandbox.persist`), or seeds the demo account when
   there is none (the seed happens once: on the first start and after a reset); a state
   that cannot be used (another version's, damaged) is kept aside and the demo account
   seeded, with a note saying so;
5. starts the control endpoint, on 127.0.0.1 too and guarded by a random token: health,
   status, deliver the log files now, reset, stop;
6. writes its record (0600) and tells the starter it is ready;
7. saves the state within half a second of any change, until SIGTERM, SIGINT, SIGHUP or a
   stop call; then it saves once more, stops, and removes its record. It also stops (without
   saving) when its home or record disappears: someone deleted the sandbox.

Its log is ``sandbox.log`` in its home.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from wizard import __version__
from wizard.sandbox.delivery import SERVICE
from wizard.sandbox.persist import StateUnreadable, read_header, restore_state, save_state
from wizard.sandbox.server import Sandbox, start_sandbox
from wizard.sandbox.shared import (
    LOG,
    STATE,
    TOKEN_HEADER,
    Record,
    SandboxUnavailable,
    code_fingerprint,
    hold_daemon_lock,
    new_token,
    prepare_home,
    read_record,
    remove_record,
    write_record,
)

_LOG = logging.getLogger("wizard.sandbox.daemon")

SAVE_PAUSE = 0.5
"""Seconds between looks for changes to save (so at most this much is lost to a kill -9)."""
RECORD_CHECK = 5.0
"""Seconds between looks at whether the home and the record are still there."""
MAX_BODY = 64 * 1024
"""The largest control request read."""

Action = Callable[[dict[str, Any]], Any]


class _Ready:
    """The readiness pipe to the starter: one JSON line, then closed."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def say(self, answer: dict[str, Any]) -> None:
        if self.fd < 0:
            return
        try:
            os.write(self.fd, json.dumps(answer).encode() + b"\n")
        except OSError:
            pass  # the starter gave up waiting: the sandbox runs for the next command
        finally:
            os.close(self.fd)
            self.fd = -1


class _ControlServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, token: str, actions: dict[tuple[str, str], Action]) -> None:
        super().__init__(("127.0.0.1", 0), _ControlHandler)
        self.token = token
        self.actions = actions


class _ControlHandler(BaseHTTPRequestHandler):
    server: _ControlServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        given = self.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.server.token.encode()):
            self._answer(403, {"error": "wrong or missing token"})
            return
        action = self.server.actions.get((method, self.path.strip("/")))
        if action is None:
            self._answer(404, {"error": f"no {method} {self.path}"})
            return
        try:
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        except ValueError:
            self._answer(400, {"error": "the body is not JSON"})
            return
        try:
            result = action(body if isinstance(body, dict) else {})
        except Exception as exc:  # a failed call is answered, and the sandbox keeps running
            _LOG.exception("control %s %s failed", method, self.path)
            self._answer(500, {"error": f"{type(exc).__name__}: {exc}"})
            return
        self._answer(200, result)

    def _answer(self, status: int, document: Any) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        _LOG.debug("control: " + format, *args)


class Daemon:
    """One shared sandbox process, for the home it was started in."""

    def __init__(self, home: Path, ready: _Ready) -> None:
        self.home = home
        self.state = home / STATE
        self.ready = ready
        self.stopping = threading.Event()
        self.instance = uuid.uuid4().hex
        self.build = code_fingerprint()
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.sandbox: Sandbox | None = None
        self._save_lock = threading.Lock()
        self.saved_changes = -1
        self.saved_at = ""
        self.save_error = ""

    def run(self) -> int:
        """Run until stopped; the exit status."""
        try:
            prepare_home(self.home)
        except SandboxUnavailable as exc:
            self.ready.say({"ready": False, "error": str(exc)})
            return 2
        lock = hold_daemon_lock(self.home)
        if lock is None:
            self.ready.say(
                {"ready": False, "error": f"another sandbox process already runs in {self.home}"}
            )
            return 3
        try:
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, lambda *_: self.stopping.set())
            return self._serve()
        finally:
            os.close(lock)

    def _serve(self) -> int:
        sandbox, note = self._start_emulator()
        self.sandbox = sandbox
        control: _ControlServer | None = None
        try:
            self.save()
            token = new_token()
            control = _ControlServer(token, self._actions())
            threading.Thread(
                target=control.serve_forever, name="sandbox-control", daemon=True
            ).start()
            record = Record(
                pid=os.getpid(),
                endpoint=sandbox.endpoint_url,
                control_port=int(control.server_address[1]),
                token=token,
                instance=self.instance,
                version=__version__,
                build=self.build,
                started=self.started,
                note=note,
            )
            write_record(self.home, record)
            _LOG.info(
                "ready: %s (control port %d, pid %d)",
                sandbox.endpoint_url,
                record.control_port,
                record.pid,
            )
            self.ready.say({"ready": True, "pid": record.pid})
            gone = self._watch()
        finally:
            if control is not None:
                control.shutdown()
                control.server_close()
        if not gone:
            self.save()
        sandbox.stop()
        remove_record(self.home, self.instance)
        _LOG.info("stopped")
        return 0

    def _start_emulator(self) -> tuple[Sandbox, str]:
        """The emulator, with the saved state restored or the demo account seeded; a note."""
        header = read_header(self.state)
        sandbox = None
        if header is not None and header.port:
            try:
                sandbox = start_sandbox(seed=False, port=header.port)
            except OSError:
                _LOG.info("port %d is taken now; another one is used", header.port)
        if sandbox is None:
            sandbox = start_sandbox(seed=False)
        if not self.state.exists():
            sandbox.reset(seed=True)
            _LOG.info("seeded the demo account")
            return sandbox, ""
        try:
            restored = restore_state(self.state)
        except StateUnreadable as why:
            kept = self.state.with_name(f"{STATE}.unreadable")
            with contextlib.suppress(OSError):
                self.state.replace(kept)
            sandbox.reset(seed=True)
            _LOG.warning("saved state not used (%s); seeded the demo account", why)
            return sandbox, (
                f"Its saved state could not be used ({why}), so it starts again from the demo "
                f"account; the old file is kept as {kept}."
            )
        _LOG.info("restored the state saved at %s", restored.saved)
        return sandbox, f"It continues from its saved state of {restored.saved}."

    def _watch(self) -> bool:
        """Save after changes until stopped; True when the home or the record disappeared."""
        next_check = time.monotonic() + RECORD_CHECK
        while not self.stopping.wait(SAVE_PAUSE):
            if SERVICE.changes != self.saved_changes:
                self.save()
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + RECORD_CHECK
                record = read_record(self.home)
                if record is None or record.instance != self.instance:
                    _LOG.info("the record in %s is gone: stopping without saving", self.home)
                    return True
        _LOG.info("stopping")
        return False

    def save(self) -> None:
        """Save the state now (failures are logged: the sandbox keeps running)."""
        sandbox = self.sandbox
        if sandbox is None:
            return
        with self._save_lock:
            try:
                changes = save_state(self.state, port=sandbox.port)
            except OSError as exc:
                self.save_error = f"it could not be written: {exc.strerror or exc}"
                _LOG.warning("could not save the state to %s: %s", self.state, exc)
            except Exception as exc:  # serving goes on; the status says what was not saved
                self.save_error = f"{type(exc).__name__}: {exc}"
                _LOG.exception("could not save the state to %s", self.state)
            else:
                self.saved_changes = changes
                self.saved_at = datetime.now(UTC).isoformat(timespec="seconds")
                self.save_error = ""
                return
            # Not again until something else changes: the same state would fail the same way.
            self.saved_changes = SERVICE.changes

    # ------------------------------------------------------------------ control actions

    def _actions(self) -> dict[tuple[str, str], Action]:
        return {
            ("GET", "health"): self._health,
            ("GET", "status"): self._status,
            ("POST", "deliver"): self._deliver,
            ("POST", "reset"): self._reset,
            ("POST", "stop"): self._stop,
        }

    def _health(self, _body: dict[str, Any]) -> dict[str, Any]:
        return {"instance": self.instance, "pid": os.getpid(), "version": __version__}

    def _status(self, _body: dict[str, Any]) -> dict[str, Any]:
        size = None
        with contextlib.suppress(OSError):
            size = self.state.stat().st_size
        return {
            "pid": os.getpid(),
            "endpoint": self.sandbox.endpoint_url if self.sandbox else None,
            "version": __version__,
            "started": self.started,
            "calls_recorded": SERVICE.recorded,
            "home": str(self.home),
            "state_file": str(self.state),
            "state_bytes": size,
            "saved": self.saved_at,
            "unsaved_changes": SERVICE.changes != self.saved_changes or bool(self.save_error),
            "save_error": self.save_error,
            "log": str(self.home / LOG),
        }

    def _deliver(self, _body: dict[str, Any]) -> dict[str, Any]:
        assert self.sandbox is not None  # actions are served only once it has started
        return asdict(self.sandbox.deliver_now())

    def _reset(self, body: dict[str, Any]) -> dict[str, Any]:
        assert self.sandbox is not None  # actions are served only once it has started
        self.sandbox.reset(seed=bool(body.get("seed", True)))
        self.save()
        _LOG.info("reset%s", " and seeded the demo account" if body.get("seed", True) else "")
        return {"ok": True}

    def _stop(self, _body: dict[str, Any]) -> dict[str, Any]:
        self.stopping.set()
        return {"ok": True}


def main(argv: list[str] | None = None) -> int:
    """The process :func:`wizard.sandbox.shared.ensure_sandbox` starts.

    Args:
        argv: ``--home DIR`` (where it lives) and ``--ready-fd N`` (the pipe to say "ready"
            on, or why not).

    Returns:
        The exit status (of the first process: 0 once it has forked).
    """
    parser = argparse.ArgumentParser(
        prog="python -m wizard.sandbox.daemon",
        description="The shared sandbox's background process (started by --sandbox commands).",
    )
    parser.add_argument("--home", required=True, help="the sandbox's directory")
    parser.add_argument("--ready-fd", type=int, default=-1, help="pipe to report readiness on")
    options = parser.parse_args(argv)
    if os.fork() > 0:
        # The starter waits for this first process, then on the pipe for the sandbox.
        os._exit(0)
    # Warnings from everything (the strict rules explain every decision at INFO: too much
    # for a log that lives as long as the sandbox), the process's own story at INFO.
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format=f"%(asctime)s [{os.getpid()}] %(levelname)s %(message)s",
    )
    _LOG.setLevel(logging.INFO)
    ready = _Ready(options.ready_fd)
    try:
        return Daemon(Path(options.home), ready).run()
    except Exception as exc:
        _LOG.exception("the sandbox stopped on an unexpected error")
        ready.say({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1


if __name__ == "__main__":
    sys.exit(main())
