"""``serve``: the full-screen wizard as a web page (textual-serve).

Every browser connection starts a wizard process of its own
(:mod:`screens.cli.serving.session`), so two tabs share no answers; with ``--sandbox`` each
browser (a trainee, known by a cookie) gets a sandbox of its own, which a reload or another tab
of the same browser finds again (:mod:`screens.cli.serving.trainees`). With ``--class``
(which implies ``--sandbox``) it serves a class: trainees enter their name first, the
trainer has a dashboard guarded by a token printed at start, and the class (names,
sandboxes, labs, messages) is kept across restarts (:mod:`screens.cli.serving.classroom`).

Whoever reaches the page drives a wizard that acts with this machine's AWS credentials, so:

* the default host is 127.0.0.1; any other host needs ``--sandbox`` (then each visitor gets
  only a sandbox) or ``--i-understand-the-risk``;
* on a loopback host, requests naming another host are refused (a web site rebinding its
  name to 127.0.0.1 cannot reach the wizard), and on every host a websocket opened by a page
  of another origin is refused (other web sites open in the same browser cannot drive it)
  (:mod:`screens.cli.serving.hosts`);
* with ``--sandbox`` the wizard processes get no AWS credentials at all.

And a class of visitors cannot exhaust the machine or reach the trainer's files:

* at most ``--max-sessions`` wizard processes run at once (a default sized for the machine,
  :func:`screens.cli.serving.limits.sessions_for`); a visitor beyond that gets a page saying
  so, and no process;
* each wizard process gets a scrubbed environment
  (:func:`screens.cli.serving.environment.child_environment`): what it needs to run and,
  without ``--sandbox``, to find the AWS credentials, nothing else of the server's;
* what a visitor saves goes to their browser as a download, or under ``--save-dir``, never
  into the server's working directory (:mod:`screens.tui.saves`).

Neither Textual nor textual-serve is imported until the command runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from screens.cli.serving.hosts import is_loopback, where
from screens.cli.serving.limits import (
    FEWEST_SESSIONS,
    MOST_SESSIONS,
    SESSION_MEMORY,
    SESSIONS_PER_CPU,
    Limits,
    default_max_sessions,
)
from screens.cli.serving.listen import ListenError, bind
from screens.cli.serving.session import SESSION_CODE
from screens.common.answers import load_one
from screens.common.errors import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    # The types only: aiohttp and the class's modules load only when serving a class.
    from screens.cli.serving.classroom_web import ClassroomWeb
    from screens.cli.serving.trainees import Trainees

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
RISK_FLAG = "--i-understand-the-risk"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Host, port, session limit, save directory, the session options and the risk flag."""
    parser.description = (
        "Serve the full-screen wizard as a web page. Every browser connection gets a wizard "
        "of its own and, with --sandbox, every browser a sandbox of its own, which it finds "
        "again after a reload; serve stopping ends them all. Anyone who can "
        "open the page uses the wizard with this machine's AWS credentials: the default host "
        f"is 127.0.0.1 (this machine only); another host needs --sandbox or {RISK_FLAG}. "
        "Stops with Ctrl-C. Exit 0 stopped, 1 could not listen, 2 invalid input or refused "
        "host."
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on (default %(default)s; 0.0.0.0 = every network interface)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help="port to listen on, 1-65535, or 0 for any free port (default %(default)s)",
    )
    parser.add_argument(
        "--max-sessions",
        type=session_count,
        metavar="N",
        help="most wizard sessions (browser tabs) at once; one more visitor gets a page "
        "saying the limit is reached, and no wizard. Each session is a process of about "
        "200 MB with --sandbox (60 MB without). Default: sized for the machine when serve "
        f"starts, {SESSIONS_PER_CPU} per CPU core and no more than fit in half the "
        f"available memory at {SESSION_MEMORY >> 20} MB each, "
        f"between {FEWEST_SESSIONS} and {MOST_SESSIONS}; serve prints the number",
    )
    parser.add_argument(
        "--save-dir",
        metavar="DIR",
        help="keep what visitors save (Ctrl+S answers, review tabs, screenshots) on this "
        "machine, in a directory of each session's own under DIR (created if missing). "
        "Default: each save is a download in the visitor's browser; nothing is written here",
    )
    # The session options are global (`cloudtrail-wizard --sandbox serve`), but people write
    # them after the command too. SUPPRESS keeps a global value when they are not repeated.
    parser.add_argument(
        "--sandbox",
        action="store_true",
        default=argparse.SUPPRESS,
        help="give every browser its own seeded sandbox instead of AWS (kept across reloads)",
    )
    parser.add_argument("--profile", default=argparse.SUPPRESS, help="AWS profile the wizards use")
    parser.add_argument("--region", default=argparse.SUPPRESS, help="AWS region the wizards use")
    parser.add_argument(
        "--answers",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="pre-fill every wizard from an answers file (never written back)",
    )
    group = parser.add_argument_group(
        "a class",
        "serve --class: every trainee enters their name, then gets a wizard on a sandbox of "
        "their own (--class implies --sandbox: a class never uses AWS credentials). The "
        "trainer's dashboard, at the address printed with its token, shows each trainee's "
        "lab, step, checks, hints and controls, resets a trainee, sets labs, broadcasts a "
        "message and exports the results. The class is kept across restarts.",
    )
    group.add_argument(
        "--class",
        dest="classroom",
        action="store_true",
        help="serve a class (implies --sandbox): names, the trainer's dashboard, labs",
    )
    group.add_argument(
        "--class-name",
        metavar="NAME",
        help="which class to serve, kept in the state directory under this name "
        "(default: 'class'); another name starts another class",
    )
    group.add_argument(
        "--class-dir",
        metavar="DIR",
        help="keep the class in DIR instead (its trainees' sandboxes and class.json)",
    )
    group.add_argument(
        "--labs",
        metavar="DIR",
        help="a folder of your own lab files, offered besides the bundled course",
    )
    parser.add_argument(
        RISK_FLAG,
        dest="accept_risk",
        action="store_true",
        help="allow a non-loopback host without --sandbox: everyone who can reach it uses "
        "this machine's AWS credentials",
    )


def port_number(text: str) -> int:
    """``--port``: 0-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{port} is not a port: use 1-65535 (or 0 for any free port)"
        )
    return port


def session_count(text: str) -> int:
    """``--max-sessions``: 1 or more."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of sessions") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count}: allow at least 1 session")
    return count


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Check the host, listen, then serve until Ctrl-C."""
    sandbox = _check(args)
    save_dir = save_directory(args.save_dir) if args.save_dir else None
    classroom = _class_setup(args)
    try:
        sockets = bind(args.host, args.port)
    except ListenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        loopback = _bound_loopback(args, sockets, sandbox=sandbox)
        limits = Limits(
            max_sessions=args.max_sessions or default_max_sessions(),
            chosen=args.max_sessions is not None,
            save_dir=save_dir,
        )
        # Deferred: aiohttp and textual-serve load only when serving (start-up time).
        from screens.cli.serving.server import WizardServer
        from screens.cli.serving.trainees import Trainees

        trainees: Trainees | None = None
        web: ClassroomWeb | None = None
        if classroom is not None:
            trainees, web = _open_class(classroom, limits)
        elif sandbox:
            trainees = Trainees.for_this_server()
        server = WizardServer(
            session_command(args),
            sockets,
            host=args.host,
            sandbox=sandbox,
            loopback=loopback,
            limits=limits,
            trainees=trainees,
            classroom=web,
        )
        server.serve()
    finally:
        for sock in sockets:
            sock.close()
    out.write("Stopped. Every wizard session has ended.\n")
    out.flush()
    return EXIT_OK


CLASS_SESSIONS_FACTOR = 4
"""A class takes up to this many trainees per wizard session allowed at once (trainees
come and go; the session limit still bounds how many wizards run)."""


@dataclass(frozen=True)
class _ClassOptions:
    """``--class`` and its options, checked before listening."""

    name: str
    directory: Path
    labs: Path | None


def _class_setup(args: argparse.Namespace) -> _ClassOptions | None:
    """The class options, checked (None without ``--class``).

    Raises:
        UsageError: a class option without --class, or a class name that is not a name.
    """
    # Deferred: the class's modules load only for serve --class (start-up time).
    from screens.cli.serving.classroom import DEFAULT_CLASS, ClassProblem, class_directory

    given = [o for o in ("class_name", "class_dir", "labs") if getattr(args, o, None)]
    if not getattr(args, "classroom", False):
        if given:
            flags = ", ".join("--" + o.replace("_", "-") for o in given)
            verb = "mean" if len(given) > 1 else "means"
            raise UsageError(f"{flags} only {verb} something with --class; add --class.")
        return None
    name = args.class_name or DEFAULT_CLASS
    try:
        directory = class_directory(name, args.class_dir)
    except ClassProblem as exc:
        raise UsageError(str(exc)) from None
    if args.class_dir and not args.class_name:
        name = directory.name or DEFAULT_CLASS
    labs = Path(args.labs).expanduser().resolve() if args.labs else None
    return _ClassOptions(name=name, directory=directory, labs=labs)


def _open_class(options: _ClassOptions, limits: Limits) -> tuple[Trainees, ClassroomWeb]:
    """The class's trainees and pages (its folder, state and labs read).

    Raises:
        UsageError: the class is served already, its folder or file cannot be used, or a
            lab file is broken (each said with what to do).
    """
    # Deferred: the class's modules (aiohttp, the labs) load only for serve --class.
    from screens.cli.serving.classroom import ClassProblem, ClassRoom
    from screens.cli.serving.classroom_labs import ClassLabs, LabFormatError
    from screens.cli.serving.classroom_web import ClassroomWeb
    from screens.cli.serving.trainees import FolderInUse, Trainees

    try:
        labs = ClassLabs.load(options.labs)
    except LabFormatError as exc:
        raise UsageError(f"--labs: a lab cannot be used.\n{exc.render()}") from None
    try:
        room = ClassRoom(
            options.directory, max_trainees=limits.max_sessions * CLASS_SESSIONS_FACTOR
        )
        trainees = Trainees.for_class(options.directory)
    except (ClassProblem, FolderInUse) as exc:
        raise UsageError(str(exc)) from None
    return trainees, ClassroomWeb(room, trainees, labs, class_name=options.name)


def _check(args: argparse.Namespace) -> bool:
    """Refuse what cannot be served before listening; True with ``--sandbox``.

    ``--class`` implies ``--sandbox`` (said on standard error): a class's trainees never
    use this machine's AWS credentials.

    Raises:
        UsageError: --plain, a network host without --sandbox or the risk flag, a sandbox
            that is not installed, or a broken answers file.
    """
    if getattr(args, "plain", False):
        raise UsageError("serve shows the full-screen wizard in the browser; drop --plain.")
    if getattr(args, "classroom", False) and not getattr(args, "sandbox", False):
        args.sandbox = True
        print(
            "--class implies --sandbox: every trainee gets a sandbox of their own, and no "
            "wizard of the class uses this machine's AWS credentials.",
            file=sys.stderr,
            flush=True,
        )
    sandbox = bool(getattr(args, "sandbox", False))
    if not is_loopback(args.host) and not sandbox and not args.accept_risk:
        raise UsageError(refusal(args.host, args.port, args))
    if sandbox and importlib.util.find_spec("moto") is None:
        raise UsageError(
            "--sandbox needs the embedded sandbox, which is not installed: "
            "pipx install 'cloudtrail-wizard[sandbox]' (or pip install '.[sandbox]')."
        )
    if getattr(args, "answers", None):
        load_one(args.answers)  # a broken file is reported now, not in every browser tab
    return sandbox


def _bound_loopback(
    args: argparse.Namespace, sockets: list[socket.socket], *, sandbox: bool
) -> bool:
    """Whether the bound addresses are this machine's only; warn when they are not.

    Raises:
        UsageError: "localhost" resolved to a network address, without --sandbox or the
            risk flag.
    """
    port = sockets[0].getsockname()[1]
    addresses = [sock.getsockname()[0] for sock in sockets]
    loopback = is_loopback(args.host)
    if loopback and not all(is_loopback(a) for a in addresses):
        # "localhost" that resolves to a network address: treat it as the network it is.
        loopback = False
        if not sandbox and not args.accept_risk:
            raise UsageError(refusal(args.host, port, args))
    if loopback:
        return True
    if sandbox:
        warn(
            f"listening on {args.host}: anyone who can reach port {port} gets a wizard "
            "(each on a sandbox of its own: a local demo account, never AWS)."
        )
    else:
        warn(
            f"listening on {args.host} without --sandbox ({RISK_FLAG}): anyone who can "
            f"reach port {port} runs the wizard with this machine's AWS credentials."
        )
    return False


def refusal(host: str, port: int, args: argparse.Namespace) -> str:
    """Why a network host is refused without --sandbox, and the three ways on."""
    profile = getattr(args, "profile", None)
    whose = f"the AWS profile '{profile}'" if profile else "this machine's AWS credentials"
    return (
        f"refusing to serve the wizard on {host} without --sandbox.\n"
        f"Anyone who can reach {where(host, port)} would run the wizard with "
        f"{whose}, and could create and change CloudTrail trails, S3 buckets and their "
        "policies, KMS keys, SNS topics and IAM roles in that account.\n"
        f"Keep the default host ({DEFAULT_HOST}, this machine only); or add --sandbox to give "
        "every visitor a local demo account instead; or, if everyone who can reach that "
        f"address may use those credentials, add {RISK_FLAG}."
    )


def warn(message: str) -> None:
    """A warning line on standard error."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def save_directory(text: str) -> Path:
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


def session_command(args: argparse.Namespace) -> str:
    """The shell command textual-serve runs for every browser connection."""
    # -P: the wizard never imports from the server's working directory (its PYTHONPATH names
    # this code, see screens.cli.serving.environment.import_path).
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
