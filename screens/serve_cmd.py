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

And a class of visitors cannot exhaust the machine or reach the trainer's files:

* at most ``--max-sessions`` wizard processes run at once (a default sized for the machine,
  :func:`sessions_for`); a visitor beyond that gets a page saying so, and no process;
* each wizard process gets a scrubbed environment (:func:`child_environment`): what it needs
  to run and, without ``--sandbox``, to find the AWS credentials, nothing else of the server's;
* what a visitor saves goes to their browser as a download, or under ``--save-dir``, never
  into the server's working directory (:mod:`screens.tui.saves`).

Neither Textual nor textual-serve is imported until the command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.util
import ipaddress
import logging
import os
import secrets
import shlex
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

from screens.cli import _EXTRA_COMMANDS, EXIT_FAILED, EXIT_OK, UsageError, _load_all
from screens.tui.saves import SAVE_DIR_VARIABLE

log = logging.getLogger("cloudtrail-wizard.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SHUTDOWN_SECONDS = 10.0
"""How long stopping waits for the wizard processes to quit before killing them."""
SESSION_CODE = "from screens.serve_cmd import session_main; session_main()"
"""What each browser connection runs (``python -P -c``)."""
RISK_FLAG = "--i-understand-the-risk"

# How many wizard sessions a machine can hold. Measured with `serve` on a 2-core, 24 GiB
# machine: a --sandbox session (the wizard plus its emulator) holds about 160 MB resident at
# the welcome screen, 205 MB at the review and 212 MB once applied; one without --sandbox
# about 60 MB at the welcome screen. Starting one costs about 1.7 s of CPU, an idle one
# about 1% of a core. Memory is the hard limit (the out-of-memory killer ends processes at
# random); CPU only makes every session slow, so it bounds the count too: a class that
# opens the page at once should see every wizard within about 20 seconds.
SESSION_MEMORY = 256 * 1024 * 1024
"""Memory set aside per session: the measured 212 MB of a sandbox session, with headroom."""
SESSIONS_PER_CPU = 10
"""Sessions per CPU core: ten starting at once keep a core busy for about 17 s."""
FEWEST_SESSIONS = 2
MOST_SESSIONS = 64
"""Bounds of the default (a trainer who wants more or fewer says so with --max-sessions)."""
RETRY_AFTER_SECONDS = 30
"""What the session-limit page suggests to a browser (``Retry-After``)."""


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
    p.add_argument(
        "--max-sessions",
        type=_session_count,
        metavar="N",
        help="most wizard sessions (browser tabs) at once; one more visitor gets a page "
        "saying the limit is reached, and no wizard. Each session is a process of about "
        "200 MB with --sandbox (60 MB without). Default: sized for the machine when serve "
        f"starts, {SESSIONS_PER_CPU} per CPU core and no more than fit in half the "
        f"available memory at {SESSION_MEMORY >> 20} MB each, "
        f"between {FEWEST_SESSIONS} and {MOST_SESSIONS}; serve prints the number",
    )
    p.add_argument(
        "--save-dir",
        metavar="DIR",
        help="keep what visitors save (Ctrl+S answers, review tabs, screenshots) on this "
        "machine, in a directory of each session's own under DIR (created if missing). "
        "Default: each save is a download in the visitor's browser; nothing is written here",
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


def _session_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of sessions") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count}: allow at least 1 session")
    return count


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
    """Where visitors would connect; port 0 is the free port it would pick (none yet)."""
    if port == 0:
        if is_wildcard(host):
            return "the free port --port 0 picks, from any network"
        return f"{_url_host(host)} on the free port --port 0 picks"
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


# ------------------------------------------------------------------------------ session limit


def default_max_sessions() -> int:
    """The default of ``--max-sessions`` for this machine, now: see :func:`sessions_for`."""
    return sessions_for(available_memory(), cpu_count())


def sessions_for(memory: int | None, cpus: int) -> int:
    """How many sessions a machine with ``memory`` bytes free and ``cpus`` cores can hold.

    :data:`SESSIONS_PER_CPU` per core, and no more than :data:`SESSION_MEMORY` each fits in
    half the memory (unknown memory: the CPU count decides), kept between
    :data:`FEWEST_SESSIONS` and :data:`MOST_SESSIONS`.
    """
    by_cpu = max(1, cpus) * SESSIONS_PER_CPU
    # Half: the other half stays for the system, the server and whatever else the machine
    # runs (the trainer's browser, a projector's slides).
    by_memory = by_cpu if memory is None else memory // 2 // SESSION_MEMORY
    return max(FEWEST_SESSIONS, min(MOST_SESSIONS, by_cpu, by_memory))


def available_memory() -> int | None:
    """Bytes of memory this process could still use: the system's ``MemAvailable``, or less
    under a cgroup (v2) memory limit, as in a container. None when neither can be read."""
    found: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text(encoding="ascii"))
            found.append(max(0, int(limit) - used))
    return min(found) if found else None


def cpu_count() -> int:
    """The CPU cores this process may run on (its affinity, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def limit_message(running: int, limit: int) -> str:
    """What a visitor beyond the limit is told (plain text)."""
    return (
        f"The session limit of this wizard server is reached: {running} of {_sessions(limit)} "
        "running. Try again later (reload the page), or ask the trainer."
    )


def _sessions(count: int) -> str:
    return f"{count} wizard session{'' if count == 1 else 's'}"


def limit_page(running: int, limit: int) -> str:
    """The page a visitor beyond the limit gets instead of a wizard (HTML)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloudtrail-wizard: session limit reached</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto;
padding: 0 1em; line-height: 1.5; }}</style>
</head>
<body>
<h1>The session limit is reached</h1>
<p>This wizard server runs at most {_sessions(limit)} at once, and {running}
{"is" if running == 1 else "are"} running now, so no wizard was started for you.</p>
<p>Try again later (reload this page in a minute), or ask the trainer: they can end unused
sessions, or start the server with a higher <code>--max-sessions</code>.</p>
</body>
</html>
"""


# ----------------------------------------------------------------------- a child's environment

KEPT_VARIABLES = (
    "PATH",
    "HOME",  # ~/.aws, and the state directory when XDG_STATE_HOME is not set
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "TMPDIR",
    "XDG_STATE_HOME",  # the journal (wizard.run.journal)
)
"""Passed to every wizard process as they are: how to run, speak, show time and colour."""
KEPT_PREFIXES = ("LC_", "CLOUDTRAIL_WIZARD_")
"""The locale categories, and this project's own settings (such as the AWS worker switch)."""

AWS_VARIABLES = (
    # Which identity, in which region, from which files.
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    # Credentials given in the environment, and the roles of containers and pods.
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCOUNT_ID",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_LOGIN_CACHE_DIRECTORY",
    # The instance role (EC2 metadata service).
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_V1_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_METADATA_SERVICE_TIMEOUT",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
    "AWS_IMDS_USE_IPV6",
    # How to reach AWS: endpoints, certificates, retries.
    "AWS_ENDPOINT_URL",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",  # botocore's fallback for AWS_CA_BUNDLE
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_DEFAULTS_MODE",
    # The network's proxy (botocore reads these too); a proxy URL may hold a password,
    # which is why they go only where AWS is reached.
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
)
"""Passed to wizards without ``--sandbox``: the settings boto3 reads to find the credentials
and reach AWS. Not ``AWS_DATA_PATH`` nor ``BOTOCORE_EXPERIMENTAL__PLUGINS`` (they load
models and code from elsewhere), nor what botocore only reports (``AWS_EXECUTION_ENV``)."""
AWS_PREFIXES = ("AWS_ENDPOINT_URL_",)
"""Service-specific endpoints (``AWS_ENDPOINT_URL_S3``)."""

SANDBOX_AWS = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
"""A sandbox session never needs AWS credentials: it gets none, and nowhere to find any."""

TEXTUAL_SERVE_VARIABLES = (
    "TEXTUAL_DRIVER",
    "TEXTUAL_FPS",
    "TEXTUAL_COLOR_SYSTEM",
    "TERM_PROGRAM",
    "TERM_PROGRAM_VERSION",
    "COLUMNS",
    "ROWS",
)
"""What textual-serve sets for each process (the web driver, the page's size); its debug
variables are left out (``TEXTUAL_LOG`` would write a log into the working directory)."""


def child_environment(
    source: Mapping[str, str], *, sandbox: bool, save_dir: Path | None = None
) -> dict[str, str]:
    """The environment of one wizard process: what it needs from ``source``, nothing else.

    Args:
        source: The server's environment.
        sandbox: ``--sandbox``: no AWS settings at all (and :data:`SANDBOX_AWS`).
        save_dir: The session's directory for saves (``--save-dir``), or None (downloads).

    Returns:
        :data:`KEPT_VARIABLES` and :data:`KEPT_PREFIXES`; without ``sandbox``,
        :data:`AWS_VARIABLES` and :data:`AWS_PREFIXES`; ``PYTHONPATH`` so that the wizard
        imports this very copy of the code; the session's save directory.
    """
    names = KEPT_VARIABLES if sandbox else KEPT_VARIABLES + AWS_VARIABLES
    prefixes = KEPT_PREFIXES if sandbox else KEPT_PREFIXES + AWS_PREFIXES
    env = {k: v for k, v in source.items() if k in names or k.startswith(prefixes)}
    env.pop(SAVE_DIR_VARIABLE, None)  # the server's own, if any, is not this session's
    if sandbox:
        env.update(SANDBOX_AWS)
    if save_dir is not None:
        env[SAVE_DIR_VARIABLE] = str(save_dir)
    env["PYTHONPATH"] = _import_path(source)
    return env


def _import_path(source: Mapping[str, str]) -> str:
    """This code's own directory first, then the server's PYTHONPATH (the wizard runs with
    ``-P``: never from the current directory)."""
    root = str(Path(__file__).resolve().parent.parent)
    return os.pathsep.join(p for p in (root, source.get("PYTHONPATH")) if p)


def _save_dir(text: str) -> Path:
    """``--save-dir``: made if missing; an absolute path to a writable directory.

    Raises:
        UsageError: it cannot be made, or it is not a writable directory.
    """
    path = Path(text).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(
            f"--save-dir {text}: it exists and is not a directory; name a directory."
        ) from None
    except OSError as exc:
        raise UsageError(
            f"--save-dir {text}: cannot create it ({exc.strerror or exc}); name a directory "
            "you may write to."
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(
            f"--save-dir {text}: not allowed to write there; name a directory you may write to."
        )
    return path


# ------------------------------------------------------------------------------ request rules


def host_refusal(loopback: bool, own_url: str, host_header: str) -> str | None:
    """Why a request naming ``host_header`` is refused, or None.

    On a loopback host only loopback names may be asked for: a web site that points its own
    name at 127.0.0.1 (DNS rebinding) cannot reach the wizard.
    """
    if not loopback:
        return None
    named = _host_and_port(f"//{host_header}")
    if named is not None and is_loopback(named[0]):
        return None
    return (
        f"This wizard only answers on this machine. Open {own_url} instead of "
        f"http://{host_header}/."
    )


def origin_refusal(origin: str | None, host_header: str) -> str | None:
    """Why a websocket opened by a page of ``origin`` is refused, or None.

    Only the wizard's own page may open a session: other web sites open in the same browser
    cannot drive a wizard. Without an Origin it is not a browser page, so no site is involved.
    """
    if origin is None:
        return None
    page = _host_and_port(origin)
    default = 443 if origin.lower().startswith("https:") else 80
    own = _host_and_port(f"//{host_header}", default)
    if page is not None and page == own:
        return None
    return f"A page from {origin} may not open a wizard session."


def _host_and_port(url: str, default: int | None = None) -> tuple[str, int] | None:
    """``(host, port)`` of ``scheme://host:port`` or ``//host:port``; None if malformed."""
    try:
        parts = urlsplit(url)
        port = parts.port or default or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return (parts.hostname or "", port)


def _size(query: Mapping[str, str], name: str, default: int) -> int:
    """A terminal dimension from the page's query string, within 1-1000."""
    try:
        return max(1, min(1000, int(query.get(name, default))))
    except ValueError:
        return default


# ------------------------------------------------------------------------------ the command


def session_command(args: argparse.Namespace) -> str:
    """The shell command textual-serve runs for every browser connection."""
    # -P: the wizard never imports from the server's working directory (its PYTHONPATH names
    # this code, see _import_path).
    argv = [sys.executable, "-P", "-c", SESSION_CODE]
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
        raise UsageError(_refusal(args.host, args.port, args))
    if sandbox and importlib.util.find_spec("moto") is None:
        raise UsageError(
            "--sandbox needs the embedded sandbox, which is not installed: "
            "pipx install 'cloudtrail-wizard[sandbox]' (or pip install '.[sandbox]')."
        )
    if getattr(args, "answers", None):
        _load_all([args.answers])  # a broken file is reported now, not in every browser tab
    save_dir = _save_dir(args.save_dir) if args.save_dir else None
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
    limits = Limits(
        max_sessions=args.max_sessions or default_max_sessions(),
        chosen=args.max_sessions is not None,
        save_dir=save_dir,
    )
    server = make_server(args, sockets, loopback=loopback, limits=limits)
    try:
        server.serve()
    finally:
        for sock in sockets:
            sock.close()
    out.write("Stopped. Every wizard session has ended.\n")
    out.flush()
    return EXIT_OK


class Limits:
    """What ``serve`` allows its visitors: how many sessions, where their saves go."""

    def __init__(self, *, max_sessions: int, chosen: bool, save_dir: Path | None) -> None:
        self.max_sessions = max_sessions
        """Most wizard processes at once."""
        self.chosen = chosen
        """True when --max-sessions gave the number, False when it is the machine's default."""
        self.save_dir = save_dir
        """--save-dir (absolute), or None: saves are downloads."""

    def describe(self) -> list[str]:
        """The start-up lines that say so."""
        how = "--max-sessions" if self.chosen else "sized for this machine; --max-sessions"
        lines = [
            f"At most {_sessions(self.max_sessions)} at once ({how}); one more visitor "
            "is asked to try again later."
        ]
        if self.save_dir is None:
            lines.append("Visitors' saves are downloads in their browsers; none are kept here.")
        else:
            lines.append(f"Visitors' saves are kept in {self.save_dir}/session-<n>-<id>/.")
        return lines

    def session_dir(self, number: int) -> Path | None:
        """Where session ``number`` saves (made at its first save), or None (downloads).

        A name of its own, never guessed beforehand: visitors never save over each other,
        nor over what an earlier run of the server kept.
        """
        if self.save_dir is None:
            return None
        return self.save_dir / f"session-{number}-{secrets.token_hex(4)}"


def page_urls(host: str, port: int) -> list[str]:
    """The addresses to print for people to open, the first for this machine."""
    if is_wildcard(host):
        return [
            f"http://127.0.0.1:{port}/ on this machine",
            f"http://{socket.gethostname()}:{port}/ (or this machine's address) from others",
        ]
    return [f"http://{_url_host(host)}:{port}/"]


def make_server(
    args: argparse.Namespace, sockets: list[socket.socket], *, loopback: bool, limits: Limits
) -> Any:
    """textual-serve's server, adapted: pre-bound sockets, origin checks, limits, clean stop."""
    server_class = _server_class()
    return server_class(args, sockets, loopback=loopback, limits=limits)


def _session_class() -> type[Any]:
    """textual-serve's process of one session, with our environment and a clean end."""
    import asyncio

    from textual_serve.app_service import AppService

    class Session(AppService):
        """One browser connection's wizard process."""

        def __init__(self, command: str, *, environment: dict[str, str], **kwargs: Any) -> None:
            super().__init__(command, **kwargs)
            self.environment = environment

        def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
            textual = super()._build_environment(width=width, height=height)
            kept = {k: textual[k] for k in TEXTUAL_SERVE_VARIABLES if k in textual}
            return {**self.environment, **kept}

        @property
        def pid(self) -> int | None:
            process = self._process
            return None if process is None else int(process.pid)

        @property
        def returncode(self) -> int | None:
            process = self._process
            return None if process is None else process.returncode

        def kill(self) -> None:
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

    return Session


def _server_class() -> type[Any]:
    """textual-serve's server, adapted: pre-bound sockets, request rules, limits, clean stop."""
    import asyncio

    import aiohttp_jinja2
    from aiohttp import WSCloseCode, web
    from aiohttp.web_runner import GracefulExit
    from textual_serve.server import Server

    Session = _session_class()

    class WizardServer(Server):
        def __init__(
            self,
            args: argparse.Namespace,
            sockets: list[socket.socket],
            *,
            loopback: bool,
            limits: Limits,
        ) -> None:
            port = sockets[0].getsockname()[1]
            super().__init__(session_command(args), host=args.host, port=port)
            self.title = "cloudtrail-wizard"
            self.sockets = sockets
            self.loopback = loopback
            self.limits = limits
            self.sandbox = bool(getattr(args, "sandbox", False))
            self.urls = page_urls(args.host, port)
            self.sessions: dict[asyncio.Task[Any], Any] = {}  # task -> Session
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
            for line in self.limits.describe():
                print(line, flush=True)
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

        # ---------------------------------------------------------------- requests

        def _full(self) -> bool:
            return len(self.sessions) >= self.limits.max_sessions

        def _request_refusal(self, request: web.Request) -> str | None:
            return host_refusal(self.loopback, self.urls[0], request.host)

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            refusal = self._request_refusal(request)
            if refusal:
                raise web.HTTPForbidden(text=refusal)
            if self._full():
                raise web.HTTPServiceUnavailable(
                    text=limit_page(len(self.sessions), self.limits.max_sessions),
                    content_type="text/html",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            # Addresses as the browser reached us, so the page works under any of our names.
            base = f"{request.scheme}://{request.host}"
            websocket = ("wss" if request.scheme == "https" else "ws") + f"://{request.host}/ws"
            return {
                "font_size": _size(request.query, "fontsize", 16),
                "app_websocket_url": websocket,
                "config": {"static": {"url": f"{base}/static/"}},
                "application": {"name": self.title},
            }

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            refusal = self._request_refusal(request) or origin_refusal(
                request.headers.get("Origin"), request.host
            )
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
            session = self._new_session(websocket, save_dir)
            # The slot is taken before the first await: visitors arriving together cannot
            # all pass the check above.
            self.sessions[task] = session
            try:
                await websocket.prepare(request)
                await session.start(
                    _size(request.query, "width", 80), _size(request.query, "height", 24)
                )
                log.info(
                    "session %d started (pid %s; %d of %d running; from %s%s)",
                    number,
                    session.pid,
                    len(self.sessions),
                    self.limits.max_sessions,
                    _peer(request),
                    f"; saves in {save_dir}" if save_dir else "",
                )
                await self._run(number, session, websocket)
            except asyncio.CancelledError:  # the server stops
                session.kill()
                await websocket.close()
            finally:
                del self.sessions[task]
                log.info(
                    "session %d ended (exit code %s; %d of %d running)",
                    number,
                    session.returncode,
                    len(self.sessions),
                    self.limits.max_sessions,
                )
            return websocket

        def _new_session(self, websocket: web.WebSocketResponse, save_dir: Path | None) -> Any:
            return Session(
                self.command,
                environment=child_environment(os.environ, sandbox=self.sandbox, save_dir=save_dir),
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
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

        async def _run(self, number: int, session: Any, websocket: web.WebSocketResponse) -> None:
            """Pass the browser's messages to the wizard until either side ends."""
            try:
                await self._process_messages(websocket, session)
            except (ValueError, TypeError, KeyError, IndexError, AssertionError) as exc:
                log.warning("session %d: unreadable message from the browser (%r)", number, exc)
            finally:
                await self._end(session)

        async def _end(self, session: Any) -> None:
            """Ask the wizard to quit; kill it if it has not within the time allowed.

            Returns once the process is gone (reaped), so that its slot is really free.
            """
            try:
                await asyncio.wait_for(asyncio.shield(session.stop()), SHUTDOWN_SECONDS)
            except TimeoutError:
                log.warning("a wizard (pid %s) did not quit; killing it", session.pid)
                session.kill()
            except asyncio.CancelledError:
                session.kill()
                raise
            await session.exited()

    def _peer(request: web.Request) -> str:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if isinstance(peer, tuple) and len(peer) >= 2:
            return f"{_url_host(str(peer[0]))}:{peer[1]}"
        return request.remote or "?"

    return WizardServer


# ------------------------------------------------------------------------------ a session


def session_main() -> NoReturn:
    """One browser connection's wizard (run by the server with ``python -P -c``)."""
    parser = argparse.ArgumentParser(prog="cloudtrail-wizard serve session")
    parser.add_argument("--sandbox", action="store_true")
    parser.add_argument("--profile")
    parser.add_argument("--region")
    parser.add_argument("--answers")
    args = parser.parse_args(sys.argv[1:])
    _end_with_parent()

    from screens.common.backend import Backend
    from screens.tui.app import make_app

    answers = None
    if args.answers:
        try:
            ((_path, answers),) = _load_all([args.answers])
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
    backend = Backend(profile=args.profile, region=args.region, sandbox=args.sandbox)
    # answers_path stays None: many sessions must not all save over the shared answers file;
    # saves are downloads or go to the session's own directory (screens.tui.saves).
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
