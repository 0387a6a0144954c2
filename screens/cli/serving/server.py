"""textual-serve's web server, adapted for the wizard.

Adapted: it listens on sockets bound beforehand (:mod:`~screens.cli.serving.listen`),
applies the request rules (:mod:`~screens.cli.serving.hosts`) and the session limit
(:mod:`~screens.cli.serving.limits`), gives each wizard process a scrubbed environment
(:mod:`~screens.cli.serving.environment`), and stops cleanly: every wizard process is asked
to quit, and killed if it lingers, before the server returns.

With ``--class`` it also serves the class's pages (:mod:`~screens.cli.serving.classroom_web`):
a trainee enters a name before their wizard starts, and the trainer has a dashboard.

The only modules that import textual-serve and aiohttp are this one and
:mod:`~screens.cli.serving.classroom_web`: imported when ``serve`` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp_jinja2
from aiohttp import WSCloseCode, web
from aiohttp.web_runner import GracefulExit
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager
from textual_serve.server import Server

from screens.cli.serving.environment import TEXTUAL_SERVE_VARIABLES, child_environment
from screens.cli.serving.hosts import (
    host_refusal,
    is_wildcard,
    origin_refusal,
    page_urls,
    url_host,
)
from screens.cli.serving.limits import RETRY_AFTER_SECONDS, Limits, limit_message, limit_page
from screens.cli.serving.trainees import (
    COOKIE,
    Trainees,
    cookie_header,
    is_trainee,
    new_trainee,
    trainee_id,
)

if TYPE_CHECKING:
    # The type only: the class's module loads only for serve --class (the command passes it).
    from screens.cli.serving.classroom_web import ClassroomWeb

log = logging.getLogger("cloudtrail-wizard.serve")

SHUTDOWN_SECONDS = 10.0
"""How long stopping waits for the wizard processes to quit before killing them."""

TITLE = "cloudtrail-wizard"
"""The page's title."""


PAGE_SCRIPT = Path(__file__).with_name("page.js")
"""The script added to textual-serve's page: it puts the keyboard in the wizard's terminal."""


def with_page_script(page: str) -> str:
    """``page`` (textual-serve's HTML) with :data:`PAGE_SCRIPT` inlined before ``</body>``.

    Inlined, not linked: the page then works under whatever address it is reached, and a
    page without a closing body tag still gets the script, at its end.
    """
    script = f"<script>\n{PAGE_SCRIPT.read_text(encoding='utf-8')}</script>\n"
    head, found, tail = page.rpartition("</body>")
    return f"{head}{script}{found}{tail}" if found else page + script


class WizardSession(AppService):
    """One browser connection's wizard process: our environment, and a clean end."""

    def __init__(
        self,
        command: str,
        *,
        environment: dict[str, str],
        write_bytes: Callable[[bytes], Awaitable[None]],
        write_str: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
        download_manager: DownloadManager,
        debug: bool = False,
    ) -> None:
        """Run ``command`` with ``environment`` (plus textual-serve's own variables)."""
        super().__init__(
            command,
            write_bytes=write_bytes,
            write_str=write_str,
            close=close,
            download_manager=download_manager,
            debug=debug,
        )
        self.environment = environment
        """The scrubbed environment (:func:`~screens.cli.serving.environment.child_environment`)."""

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        textual = super()._build_environment(width=width, height=height)
        kept = {k: textual[k] for k in TEXTUAL_SERVE_VARIABLES if k in textual}
        return {**self.environment, **kept}

    @property
    def pid(self) -> int | None:
        """The wizard process's id, once started."""
        process = self._process
        return None if process is None else int(process.pid)

    @property
    def returncode(self) -> int | None:
        """Its exit code, once it has exited."""
        process = self._process
        return None if process is None else process.returncode

    def kill(self) -> None:
        """Kill the process, if it is still running."""
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    async def exited(self) -> None:
        """Wait until the process has exited and been reaped (killing it if it lingers)."""
        process = self._process
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), SHUTDOWN_SECONDS)
        except TimeoutError:
            log.warning("a wizard (pid %s) did not exit; killing it", self.pid)
            self.kill()
            await process.wait()
        except asyncio.CancelledError:
            self.kill()
            raise

    async def end(self) -> None:
        """Ask the wizard to quit; kill it if it has not within the time allowed.

        Returns once the process is gone (reaped), so that its slot is really free.
        """
        try:
            await asyncio.wait_for(asyncio.shield(self.stop()), SHUTDOWN_SECONDS)
        except TimeoutError:
            log.warning("a wizard (pid %s) did not quit; killing it", self.pid)
            self.kill()
        except asyncio.CancelledError:
            self.kill()
            raise
        await self.exited()


class WizardServer(Server):
    """textual-serve's server on pre-bound sockets, with request rules, limits, a clean stop."""

    def __init__(
        self,
        command: str,
        sockets: list[socket.socket],
        *,
        host: str,
        sandbox: bool,
        loopback: bool,
        limits: Limits,
        trainees: Trainees | None = None,
        classroom: ClassroomWeb | None = None,
    ) -> None:
        """Serve ``command`` (one wizard per browser connection) on ``sockets``.

        Args:
            command: The shell command of one wizard session.
            sockets: Listening sockets, all on one port.
            host: ``--host``, for the addresses printed.
            sandbox: Every trainee gets a sandbox of their own (said at start-up).
            loopback: Listening on this machine only: requests must name a loopback host.
            limits: Sessions at once, and where saves go.
            trainees: With ``sandbox``: the trainees' sandboxes, one per browser.
            classroom: With ``--class``: the name form and the trainer's dashboard.
        """
        port = sockets[0].getsockname()[1]
        super().__init__(command, host=host, port=port)
        self.title = TITLE
        self.sockets = sockets
        self.loopback = loopback
        self.limits = limits
        self.sandbox = sandbox
        self.trainees = trainees
        self.classroom = classroom
        if classroom is not None:
            classroom.attach(refusal=self._request_refusal, end_sessions=self.end_trainee_sessions)
        self.urls = page_urls(host, port)
        """Where people open the page; the first is this machine's."""
        self.sessions: dict[asyncio.Task[object], WizardSession] = {}
        """The running sessions, by the task serving their websocket."""
        self.session_trainees: dict[asyncio.Task[object], str] = {}
        """Whose each running session is (the trainee's id), for a class's resets."""
        self.started = 0
        """Sessions started so far (each one's number)."""
        self.stopping = False
        """Ctrl-C (or SIGTERM) was received."""

    # ------------------------------------------------------------------ running

    def initialize_logging(self) -> None:
        """Plain log lines on standard error (no rich tracebacks with local variables)."""
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    def request_exit(self) -> None:
        """Stop serving (once: a second Ctrl-C while stopping keeps stopping cleanly)."""
        if self.stopping:
            return
        self.stopping = True
        raise GracefulExit()

    def serve(self, debug: bool = False) -> None:
        """Serve until Ctrl-C or SIGTERM, then end every session."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_exit)
        web.run_app(
            self._make_app(),
            sock=self.sockets,
            handle_signals=False,
            loop=loop,
            print=None,
            access_log=None,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )

    async def on_startup(self, app: web.Application) -> None:
        """Say what is served, the limits, and where to open it."""
        what = (
            "each browser its own sandbox, kept across reloads"
            if self.sandbox
            else "this machine's AWS credentials"
        )
        print(f"Serving cloudtrail-wizard: every browser tab gets a wizard ({what}).", flush=True)
        for line in self.limits.describe():
            print(line, flush=True)
        for url in self.urls:
            print(f"Open {url}", flush=True)
        if self.classroom is not None:
            for line in self.classroom.describe(self.dashboard_url()):
                print(line, flush=True)
        print("Press Ctrl+C to stop.", flush=True)

    def dashboard_url(self) -> str:
        """The trainer's dashboard, with the class's token, as opened on this machine."""
        assert self.classroom is not None
        port = self.sockets[0].getsockname()[1]
        own = page_urls("127.0.0.1" if is_wildcard(self.host) else self.host, port)[0]
        return f"{own.rstrip('/')}/class/?token={self.classroom.room.token}"

    async def end_trainee_sessions(self, ident: str) -> int:
        """Ask every wizard of the trainee ``ident`` to quit (their page offers a restart);
        how many there were."""
        mine = [t for t, who in self.session_trainees.items() if who == ident]
        sessions = [self.sessions[t] for t in mine if t in self.sessions]
        await asyncio.gather(*(session.end() for session in sessions))
        return len(sessions)

    async def on_shutdown(self, app: web.Application) -> None:
        """End every session: cancel their tasks, then kill what is left; then stop the
        trainees' sandboxes."""
        if self.classroom is not None:
            self.classroom.stop()
        tasks = list(self.sessions)
        if tasks:
            print(f"Stopping {len(tasks)} wizard session(s)...", flush=True)
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
            for session in list(self.sessions.values()):
                session.kill()
        if self.trainees is not None:
            stopped = await self.trainees.close()
            if stopped:
                print(f"Stopped {stopped} trainee sandbox(es).", flush=True)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        if self.trainees is not None:
            app.on_response_prepare.append(self._trainee_cookie)
        if self.classroom is not None:
            self.classroom.add_routes(app)
        return app

    async def _trainee_cookie(self, request: web.Request, response: web.StreamResponse) -> None:
        """The page, for a browser seen for the first time, names it a trainee: a cookie its
        later connections (a reload, another tab) carry, to find its sandbox again."""
        if request.path != "/" or response.status != 200:
            return
        if not is_trainee(request.cookies.get(COOKIE)):
            response.headers["Set-Cookie"] = cookie_header(new_trainee())

    # ------------------------------------------------------------------ requests

    def _full(self) -> bool:
        return len(self.sessions) >= self.limits.max_sessions

    def _request_refusal(self, request: web.Request) -> str | None:
        return host_refusal(self.loopback, self.urls[0], request.host)

    async def handle_index(self, request: web.Request) -> web.Response:
        """The page (refused for a foreign host name, or when the limit is reached).

        textual-serve's page, with :data:`PAGE_SCRIPT` added: the keyboard goes to the
        wizard as soon as the page loads (see :func:`with_page_script`).
        """
        refusal = self._request_refusal(request)
        if refusal:
            raise web.HTTPForbidden(text=refusal)
        if self._full():
            raise web.HTTPServiceUnavailable(
                text=limit_page(len(self.sessions), self.limits.max_sessions),
                content_type="text/html",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        if self.classroom is not None and not self.classroom.named(request.cookies.get(COOKIE)):
            return self.classroom.name_form(request)  # a class: the trainee's name first
        # Addresses as the browser reached us, so the page works under any of our names.
        base = f"{request.scheme}://{request.host}"
        websocket = ("wss" if request.scheme == "https" else "ws") + f"://{request.host}/ws"
        context = {
            "font_size": _size(request.query, "fontsize", 16),
            "app_websocket_url": websocket,
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }
        page = aiohttp_jinja2.render_string("app_index.html", request, context)
        return web.Response(text=with_page_script(page), content_type="text/html")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """A wizard for this browser connection, for as long as it stays connected."""
        refusal = self._request_refusal(request) or origin_refusal(
            request.headers.get("Origin"), request.host
        )
        if refusal is None and self.classroom is not None:
            refusal = self.classroom.refuse_unnamed(request.cookies.get(COOKIE))
        if refusal:
            log.warning("refused a session: %s", refusal)
            raise web.HTTPForbidden(text=refusal)
        if self._full():
            return await self._refuse_for_the_limit(request)
        task = asyncio.current_task()
        assert task is not None
        self.started += 1
        number = self.started
        websocket = web.WebSocketResponse(heartbeat=15)
        save_dir = self.limits.session_dir(number)
        # Without the cookie (not a page of ours), a trainee nobody else can ever be.
        cookie = request.cookies.get(COOKIE)
        trainee = cookie if cookie is not None and is_trainee(cookie) else new_trainee()
        session = self._new_session(websocket, save_dir, trainee)
        # The slot is taken before the first await: visitors arriving together cannot
        # all pass the check above.
        self.sessions[task] = session
        self.session_trainees[task] = trainee_id(trainee)
        counted = False
        try:
            if self.trainees is not None:
                await self.trainees.session_starts(trainee)
                counted = True
            await websocket.prepare(request)
            await self._start(number, session, request, save_dir)
            await self._run(number, session, websocket)
        except asyncio.CancelledError:  # the server stops
            session.kill()
            await websocket.close()
        finally:
            if counted and self.trainees is not None:
                self.trainees.session_ended(trainee)
            del self.sessions[task]
            self.session_trainees.pop(task, None)
            log.info(
                "session %d ended (exit code %s; %d of %d running)",
                number,
                session.returncode,
                len(self.sessions),
                self.limits.max_sessions,
            )
        return websocket

    def _new_session(
        self, websocket: web.WebSocketResponse, save_dir: Path | None, trainee: str
    ) -> WizardSession:
        own = self.trainees.environment(trainee) if self.trainees is not None else None
        if own is not None and self.classroom is not None:
            own = {**own, **self.classroom.labs.environment()}
        environment = child_environment(
            os.environ, sandbox=self.sandbox, save_dir=save_dir, trainee=own
        )
        return WizardSession(
            self.command,
            environment=environment,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=functools.partial(_close, websocket),
            download_manager=self.download_manager,
            debug=self.debug,
        )

    async def _start(
        self, number: int, session: WizardSession, request: web.Request, save_dir: Path | None
    ) -> None:
        """Start the wizard process at the page's terminal size; log who it is for."""
        await session.start(_size(request.query, "width", 80), _size(request.query, "height", 24))
        log.info(
            "session %d started (pid %s; %d of %d running; from %s%s)",
            number,
            session.pid,
            len(self.sessions),
            self.limits.max_sessions,
            _peer(request),
            f"; saves in {save_dir}" if save_dir else "",
        )

    async def _refuse_for_the_limit(self, request: web.Request) -> web.WebSocketResponse:
        """Say so in the page's terminal and close (1013, try again later); no process."""
        message = limit_message(len(self.sessions), self.limits.max_sessions)
        log.warning("refused a session from %s: %s", _peer(request), message)
        websocket = web.WebSocketResponse()
        await websocket.prepare(request)
        await websocket.send_bytes(f"\r\n {message}\r\n".encode())
        await websocket.close(
            code=WSCloseCode.TRY_AGAIN_LATER, message=b"session limit reached; try again later"
        )
        return websocket

    async def _run(
        self, number: int, session: WizardSession, websocket: web.WebSocketResponse
    ) -> None:
        """Pass the browser's messages to the wizard until either side ends."""
        try:
            await self._process_messages(websocket, session)
        except (ValueError, TypeError, KeyError, IndexError, AssertionError) as exc:
            log.warning("session %d: unreadable message from the browser (%r)", number, exc)
        finally:
            await session.end()


async def _close(websocket: web.WebSocketResponse) -> None:
    """Close the browser's websocket (when the wizard process ends)."""
    await websocket.close()


def _size(query: Mapping[str, str], name: str, default: int) -> int:
    """A terminal dimension from the page's query string, within 1-1000."""
    try:
        return max(1, min(1000, int(query.get(name, default))))
    except ValueError:
        return default


def _peer(request: web.Request) -> str:
    """Who connected: the peer's address and port."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{url_host(str(peer[0]))}:{peer[1]}"
    return request.remote or "?"
