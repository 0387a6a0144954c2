"""The ``serve`` command: the full-screen wizard as a web page (textual-serve).

Every browser connection starts a wizard process of its own (:func:`session_main`), so two
tabs share nothing; with ``--sandbox`` each process starts its own freshly seeded emulator.

Whoever reaches the page drives a wizard that acts with this machine's AWS credentials, so:

* the default host is 127.0.0.1; any other host needs ``--sandbox`` (then each visitor gets
  only a sandbox) or ``--i-understand-the-risk``;
* on a loopback host, requests naming another host are refused (a web site rebinding its
  name to 127.0.0.1 cannot reach the wizard), and on every host a websocket opened by a page
  of another origin is refused (other web sites open in the same browser cannot drive it);
* with ``--sandbox`` the wizard processes get no AWS credentials at all.

Neither Textual nor textual-serve is imported until the command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.util
import ipaddress
import os
import shlex
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

from screens.cli import _EXTRA_COMMANDS, EXIT_FAILED, EXIT_OK, UsageError, _load_all

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SHUTDOWN_SECONDS = 10.0
"""How long stopping waits for the wizard processes to quit before killing them."""
SESSION_CODE = "from screens.serve_cmd import session_main; session_main()"
"""What each browser connection runs (``python -c``)."""
RISK_FLAG = "--i-understand-the-risk"


def register(sub: Any) -> None:
    """Add the ``serve`` command to the command-line parser."""
    p = sub.add_parser(
        "serve",
        help="serve the wizard as a web page (one wizard per browser tab)",
        description="Serve the full-screen wizard as a web page. Every browser connection "
        "gets a wizard of its own and, with --sandbox, a freshly seeded sandbox of its own. "
        "Anyone who can open the page uses the wizard with this machine's AWS credentials: "
        "the default host is 127.0.0.1 (this machine only); another host needs --sandbox or "
        f"{RISK_FLAG}. Stops with Ctrl-C. Exit 0 stopped, 1 could not listen, 2 invalid "
        "input or refused host.",
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on (default %(default)s; 0.0.0.0 = every network interface)",
    )
    p.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="port to listen on, 1-65535, or 0 for any free port (default %(default)s)",
    )
    # The session options are global (`cloudtrail-wizard --sandbox serve`), but people write
    # them after the command too. SUPPRESS keeps a global value when they are not repeated.
    p.add_argument(
        "--sandbox",
        action="store_true",
        default=argparse.SUPPRESS,
        help="give every browser connection its own seeded sandbox instead of AWS",
    )
    p.add_argument("--profile", default=argparse.SUPPRESS, help="AWS profile the wizards use")
    p.add_argument("--region", default=argparse.SUPPRESS, help="AWS region the wizards use")
    p.add_argument(
        "--answers",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="pre-fill every wizard from an answers file (never written back)",
    )
    p.add_argument(
        RISK_FLAG,
        dest="accept_risk",
        action="store_true",
        help="allow a non-loopback host without --sandbox: everyone who can reach it uses "
        "this machine's AWS credentials",
    )
    p.set_defaults(handler=cmd_serve)


_EXTRA_COMMANDS.append(register)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{port} is not a port: use 1-65535 (or 0 for any free port)"
        )
    return port


# ------------------------------------------------------------------------------ host rules


def _bare(host: str) -> str:
    """``[::1]`` -> ``::1``; names lower-cased."""
    return host.strip().removeprefix("[").removesuffix("]").lower()


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (also IPv4-mapped); False for the rest."""
    host = _bare(host)
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # another name: it could resolve to anything, now or later
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_wildcard(host: str) -> bool:
    """True for 0.0.0.0 and ::, the addresses that mean every network interface."""
    try:
        return ipaddress.ip_address(_bare(host)).is_unspecified
    except ValueError:
        return False


def _url_host(host: str) -> str:
    bare = _bare(host)
    return f"[{bare}]" if ":" in bare else bare


def _refusal(host: str, port: int, args: argparse.Namespace) -> str:
    profile = getattr(args, "profile", None)
    whose = f"the AWS profile '{profile}'" if profile else "this machine's AWS credentials"
    return (
        f"refusing to serve the wizard on {host} without --sandbox.\n"
        f"Anyone who can reach {_where(host, port)} would run the wizard with "
        f"{whose}, and could create and change CloudTrail trails, S3 buckets and their "
        "policies, KMS keys, SNS topics and IAM roles in that account.\n"
        f"Keep the default host ({DEFAULT_HOST}, this machine only); or add --sandbox to give "
        "every visitor a local demo account instead; or, if everyone who can reach that "
        f"address may use those credentials, add {RISK_FLAG}."
    )


def _where(host: str, port: int) -> str:
    if is_wildcard(host):
        return f"port {port} of this machine from any network"
    return f"http://{_url_host(host)}:{port}/"


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ listening


class ListenError(Exception):
    """The port could not be opened; the message says why and what to do."""


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address ``host`` names, all on one port.

    Binding here, before the web server starts, turns a busy port into a clear message and
    makes port 0 usable: the printed address is the one really bound.

    Raises:
        UsageError: the host cannot be resolved.
        ListenError: the port is in use or not allowed.
    """
    try:
        infos = socket.getaddrinfo(
            _bare(host), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {host!r}: {exc.strerror}. Check --host.") from None
    addresses: list[tuple[Any, ...]] = []
    for family, kind, proto, _name, address in infos:
        entry = (family, kind, proto, address)
        if family in (socket.AF_INET, socket.AF_INET6) and entry not in addresses:
            addresses.append(entry)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, address in addresses:
            chosen = sockets[0].getsockname()[1] if sockets else port
            sock = socket.socket(family, kind, proto)
            try:
                if os.name == "posix":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6 and len(addresses) > 1:
                    # Beside an IPv4 socket on the same port, this one takes IPv6 only.
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((address[0], chosen, *address[2:]))
                sock.listen(128)
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRNOTAVAIL and sockets:
                    continue  # e.g. "localhost" also names ::1 but IPv6 is off: IPv4 will do
                raise _listen_error(host, chosen, exc) from None
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise ListenError(f"cannot listen on {host!r}: it names no IPv4 or IPv6 address.")
    return sockets


def _listen_error(host: str, port: int, exc: OSError) -> ListenError:
    where = f"{_url_host(host)}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return ListenError(
            f"port {port} is already in use on {host}. Stop whatever uses it, or choose "
            "another port with --port (0 picks a free one)."
        )
    if exc.errno == errno.EACCES:
        return ListenError(
            f"not allowed to listen on {where} (ports below 1024 need privileges). Choose a "
            "port from 1024 up with --port."
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return ListenError(
            f"cannot listen on {host}: it is not an address of this machine. Check --host."
        )
    return ListenError(f"cannot listen on {where}: {exc.strerror or exc}.")


# ------------------------------------------------------------------------------ the command


def session_command(args: argparse.Namespace) -> str:
    """The shell command textual-serve runs for every browser connection."""
    argv = [sys.executable, "-c", SESSION_CODE]
    if getattr(args, "sandbox", False):
        argv.append("--sandbox")
    for option in ("profile", "region"):
        value = getattr(args, option, None)
        if value:
            argv += [f"--{option}", value]
    answers = getattr(args, "answers", None)
    if answers:
        argv += ["--answers", str(Path(answers).resolve())]
    # exec: the wizard replaces the shell, so the process textual-serve watches is the wizard.
    return "exec " + shlex.join(argv)


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """``serve``: check the host, listen, then serve until Ctrl-C."""
    if getattr(args, "plain", False):
        raise UsageError("serve shows the full-screen wizard in the browser; drop --plain.")
    sandbox = bool(getattr(args, "sandbox", False))
    loopback = is_loopback(args.host)
    if not loopback and not sandbox and not args.accept_risk:
        raise UsageError(_refusal(args.host, args.port or DEFAULT_PORT, args))
    if sandbox and importlib.util.find_spec("moto") is None:
        raise UsageError(
            "--sandbox needs the embedded sandbox, which is not installed: "
            "pipx install 'cloudtrail-wizard[sandbox]' (or pip install '.[sandbox]')."
        )
    if getattr(args, "answers", None):
        _load_all([args.answers])  # a broken file is reported now, not in every browser tab
    try:
        sockets = bind(args.host, args.port)
    except ListenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    port = sockets[0].getsockname()[1]
    addresses = [sock.getsockname()[0] for sock in sockets]
    if loopback and not all(is_loopback(a) for a in addresses):
        # "localhost" that resolves to a network address: treat it as the network it is.
        loopback = False
        if not sandbox and not args.accept_risk:
            for sock in sockets:
                sock.close()
            raise UsageError(_refusal(args.host, port, args))
    if not loopback:
        if sandbox:
            _warn(
                f"listening on {args.host}: anyone who can reach port {port} gets a wizard "
                "(each on a sandbox of its own: a local demo account, never AWS)."
            )
        else:
            _warn(
                f"listening on {args.host} without --sandbox ({RISK_FLAG}): anyone who can "
                f"reach port {port} runs the wizard with this machine's AWS credentials."
            )
    server = make_server(args, sockets, loopback=loopback)
    try:
        server.serve()
    finally:
        for sock in sockets:
            sock.close()
    out.write("Stopped. Every wizard session has ended.\n")
    out.flush()
    return EXIT_OK


def page_urls(host: str, port: int) -> list[str]:
    """The addresses to print for people to open, the first for this machine."""
    if is_wildcard(host):
        return [
            f"http://127.0.0.1:{port}/ on this machine",
            f"http://{socket.gethostname()}:{port}/ (or this machine's address) from others",
        ]
    return [f"http://{_url_host(host)}:{port}/"]


def make_server(args: argparse.Namespace, sockets: list[socket.socket], *, loopback: bool) -> Any:
    """textual-serve's server, adapted: pre-bound sockets, origin checks, clean stop."""
    server_class = _server_class()
    return server_class(args, sockets, loopback=loopback)


def _server_class() -> type[Any]:
    import asyncio
    import logging

    import aiohttp_jinja2
    from aiohttp import web
    from aiohttp.web_runner import GracefulExit
    from textual_serve.app_service import AppService
    from textual_serve.server import Server

    log = logging.getLogger("cloudtrail-wizard.serve")

    class Session(AppService):
        """One browser connection's wizard process."""

        def __init__(self, command: str, *, sandbox: bool, **kwargs: Any) -> None:
            super().__init__(command, **kwargs)
            self.sandbox = sandbox

        def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
            env: dict[str, str] = super()._build_environment(width=width, height=height)
            if self.sandbox:
                # A sandbox session never needs AWS credentials: give it none to find.
                for name in [n for n in env if n.startswith("AWS_")]:
                    del env[name]
                env["AWS_CONFIG_FILE"] = os.devnull
                env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
                env["AWS_EC2_METADATA_DISABLED"] = "true"
            return env

        @property
        def pid(self) -> int | None:
            process = self._process
            return None if process is None else int(process.pid)

        def kill(self) -> None:
            process = self._process
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()

    class WizardServer(Server):
        def __init__(
            self, args: argparse.Namespace, sockets: list[socket.socket], *, loopback: bool
        ) -> None:
            port = sockets[0].getsockname()[1]
            super().__init__(session_command(args), host=args.host, port=port)
            self.title = "cloudtrail-wizard"
            self.sockets = sockets
            self.loopback = loopback
            self.sandbox = bool(getattr(args, "sandbox", False))
            self.urls = page_urls(args.host, port)
            self.sessions: dict[asyncio.Task[Any], Session] = {}
            self.started = 0
            self.stopping = False

        def initialize_logging(self) -> None:
            logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

        def request_exit(self) -> None:
            if self.stopping:  # a second Ctrl-C while stopping: keep stopping cleanly
                return
            self.stopping = True
            raise GracefulExit()

        def serve(self, debug: bool = False) -> None:
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
            what = "its own sandbox" if self.sandbox else "this machine's AWS credentials"
            print(
                f"Serving cloudtrail-wizard: every browser tab gets a wizard ({what}).",
                flush=True,
            )
            for url in self.urls:
                print(f"Open {url}", flush=True)
            print("Press Ctrl+C to stop.", flush=True)

        async def on_shutdown(self, app: web.Application) -> None:
            tasks = list(self.sessions)
            if not tasks:
                return
            print(f"Stopping {len(tasks)} wizard session(s)...", flush=True)
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
            for session in list(self.sessions.values()):
                session.kill()

        # ---------------------------------------------------------------- request checks

        def _host_refusal(self, request: web.Request) -> str | None:
            if not self.loopback:
                return None
            named = _host_and_port(f"//{request.host}")
            if named is not None and is_loopback(named[0]):
                return None
            return (
                f"This wizard only answers on this machine. Open {self.urls[0]} instead of "
                f"http://{request.host}/."
            )

        def _origin_refusal(self, request: web.Request) -> str | None:
            origin = request.headers.get("Origin")
            if origin is None:
                return None  # not a browser page: no other site is involved
            page = _host_and_port(origin)
            default = 443 if origin.lower().startswith("https:") else 80
            own = _host_and_port(f"//{request.host}", default)
            if page is not None and page == own:
                return None
            return f"A page from {origin} may not open a wizard session."

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            refusal = self._host_refusal(request)
            if refusal:
                raise web.HTTPForbidden(text=refusal)
            # Addresses as the browser reached us, so the page works under any of our names.
            base = f"{request.scheme}://{request.host}"
            websocket = ("wss" if request.scheme == "https" else "ws") + f"://{request.host}/ws"
            try:
                font_size = int(request.query.get("fontsize", "16"))
            except ValueError:
                font_size = 16
            return {
                "font_size": font_size,
                "app_websocket_url": websocket,
                "config": {"static": {"url": f"{base}/static/"}},
                "application": {"name": self.title},
            }

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            refusal = self._host_refusal(request) or self._origin_refusal(request)
            if refusal:
                log.warning("refused a session: %s", refusal)
                raise web.HTTPForbidden(text=refusal)
            task = asyncio.current_task()
            assert task is not None
            websocket = web.WebSocketResponse(heartbeat=15)
            await websocket.prepare(request)
            session = Session(
                self.command,
                sandbox=self.sandbox,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            self.sessions[task] = session
            self.started += 1
            number = self.started
            try:
                await session.start(_size(request, "width", 80), _size(request, "height", 24))
                log.info(
                    "session %d started (pid %s; %d running)",
                    number,
                    session.pid,
                    len(self.sessions),
                )
                try:
                    await self._process_messages(websocket, session)
                except (ValueError, TypeError, KeyError, IndexError, AssertionError) as exc:
                    log.warning("session %d: unreadable message from the browser (%r)", number, exc)
                finally:
                    await self._end(session)
            except asyncio.CancelledError:
                await websocket.close()
            finally:
                del self.sessions[task]
                log.info("session %d ended (%d running)", number, len(self.sessions))
            return websocket

        async def _end(self, session: Session) -> None:
            """Ask the wizard to quit; kill it if it has not within the time allowed."""
            try:
                await asyncio.wait_for(asyncio.shield(session.stop()), SHUTDOWN_SECONDS)
            except TimeoutError:
                log.warning("a wizard (pid %s) did not quit; killing it", session.pid)
                session.kill()
            except asyncio.CancelledError:
                session.kill()
                raise

    def _host_and_port(url: str, default: int | None = None) -> tuple[str, int] | None:
        """``(host, port)`` of ``scheme://host:port`` or ``//host:port``; None if malformed."""
        try:
            parts = urlsplit(url)
            port = parts.port or default or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None
        return (parts.hostname or "", port)

    def _size(request: web.Request, name: str, default: int) -> int:
        try:
            return max(1, min(1000, int(request.query.get(name, default))))
        except ValueError:
            return default

    return WizardServer


# ------------------------------------------------------------------------------ a session


def session_main() -> NoReturn:
    """One browser connection's wizard (run by the server with ``python -c``)."""
    parser = argparse.ArgumentParser(prog="cloudtrail-wizard serve session")
    parser.add_argument("--sandbox", action="store_true")
    parser.add_argument("--profile")
    parser.add_argument("--region")
    parser.add_argument("--answers")
    args = parser.parse_args(sys.argv[1:])
    _end_with_parent()

    from screens.app import make_app
    from screens.backend import Backend

    answers = None
    if args.answers:
        try:
            ((_path, answers),) = _load_all([args.answers])
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
    backend = Backend(profile=args.profile, region=args.region, sandbox=args.sandbox)
    # answers_path stays None: many sessions must not all save over the shared answers file.
    app = make_app(backend, answers=answers)
    sys.exit(int(app.run() or 0))


def _end_with_parent() -> None:
    """Quit when the server goes away without saying so (killed): no orphaned wizards."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)  # the web driver turns it into a quit
                return

    stop = threading.Event()
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
