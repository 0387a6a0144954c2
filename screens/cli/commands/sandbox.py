"""``sandbox``: the shared sandbox (``start``, ``status``, ``stop``, ``reset``), or a throwaway one.

Every ``--sandbox`` command uses the shared sandbox, one emulator in the background that
keeps what was done (:mod:`wizard.sandbox.shared`). ``sandbox status`` says where it lives
and whether it runs, ``sandbox start`` starts it and prints how to point other tools at it,
``sandbox stop`` stops it (its state is kept on disk), ``sandbox reset`` starts over from the
demo account.

``sandbox identity [NAME|admin]`` says which identity ``--sandbox`` commands act as, or
switches: to an IAM user of the sandbox, whose policies the sandbox then enforces (a trainee
identity, :mod:`wizard.sandbox.identities`), or back to the administrator.

``sandbox`` alone (with ``--port``, ``--no-seed`` and the delivery intervals) runs a separate,
throwaway sandbox in the foreground until Ctrl-C, as before: it shares nothing with the
shared one and forgets everything when it stops.
"""

from __future__ import annotations

import argparse
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from screens.common.errors import EXIT_OK, UsageError

ACTIONS = {
    "start": "start the shared sandbox if it is not running; print how to use it from other tools",
    "status": "where the shared sandbox lives, whether it runs, its endpoint",
    "stop": "stop the shared sandbox (its state is kept; the next --sandbox command restarts it)",
    "reset": "start over: the shared sandbox goes back to the freshly seeded demo account",
    "deliver": "deliver every trail's log files and digests now, instead of at the next interval",
}
"""The shared sandbox's actions, and what ``--help`` says of each."""

IDENTITY_HELP = (
    "which identity --sandbox commands act as; switch to an IAM user of the sandbox (NAME) or "
    "back to the administrator (admin)"
)
"""What ``--help`` says of ``sandbox identity``."""

_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}")
"""What IAM accepts as a user name."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions on the shared sandbox; the throwaway sandbox's port, seed and intervals."""
    parser.description = (
        "The sandbox is a local AWS emulator seeded with a demo account, as strict as AWS "
        "where CloudTrail setup is concerned. Every --sandbox command uses the shared "
        "sandbox, which runs in the background and keeps what you do until `sandbox reset`: "
        "`sandbox status` says where it lives and whether it runs. Without an action, runs a "
        "separate, throwaway sandbox in the foreground until Ctrl-C (nothing is kept)."
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    for name, summary in ACTIONS.items():
        actions.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")
    identity = actions.add_parser(
        "identity",
        help=IDENTITY_HELP,
        description=(
            "Which identity --sandbox commands act as. Without NAME: say which. With the name "
            "of an IAM user of the shared sandbox: act as that user from now on (a trainee "
            "identity: the sandbox refuses what its policies do not allow, as AWS would). "
            "With `admin`: act as the sandbox's administrator again."
        ),
    )
    identity.add_argument(
        "name",
        nargs="?",
        metavar="NAME|admin",
        help="an IAM user of the sandbox, or `admin` for the administrator",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="throwaway sandbox: port (default: a free one)"
    )
    parser.add_argument("--no-seed", action="store_true", help="throwaway sandbox: start empty")
    parser.add_argument(
        "--log-interval",
        type=seconds,
        default=None,
        metavar="S",
        help="throwaway sandbox: seconds between log file deliveries to logging trails' "
        "buckets (default 10; AWS: about 5 minutes; 0: off)",
    )
    parser.add_argument(
        "--digest-interval",
        type=seconds,
        default=None,
        metavar="S",
        help="throwaway sandbox: seconds one digest file covers when log file validation is "
        "on (default 60; AWS: one hour; 0: off)",
    )


def seconds(value: str) -> float:
    """An interval option: a number of seconds, 0 or more."""
    try:
        amount = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 <= amount <= 86400:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 86400 seconds")
    return amount


def run(args: argparse.Namespace, out: TextIO) -> int:
    """One action on the shared sandbox, or the throwaway sandbox until Ctrl-C."""
    action = getattr(args, "action", None)
    if action is None:
        return run_throwaway(args, out)
    throwaway = [
        option
        for option, given in (
            ("--port", args.port),
            ("--no-seed", args.no_seed),
            ("--log-interval", args.log_interval is not None),
            ("--digest-interval", args.digest_interval is not None),
        )
        if given
    ]
    if throwaway:
        raise UsageError(
            f"{' and '.join(throwaway)} {'applies' if len(throwaway) == 1 else 'apply'} only "
            f"to the throwaway sandbox (`cloudtrail-wizard sandbox` without an action), not to "
            f"`sandbox {action}`."
        )
    # The sandbox's modules load only when this command runs.
    from wizard.sandbox.shared import SandboxUnavailable

    try:
        if action == "identity":
            return _identity(args.name, out)
        actions = {
            "start": _start,
            "status": _status,
            "stop": _stop,
            "reset": _reset,
            "deliver": _deliver,
        }
        return actions[action](out)
    except SandboxUnavailable as exc:
        raise UsageError(str(exc)) from None


# ------------------------------------------------------------------------- the shared one


def _start(out: TextIO) -> int:
    # The sandbox's modules load only when this command runs.
    from wizard.sandbox.shared import ensure_sandbox

    sandbox = ensure_sandbox()
    verb = "Started" if sandbox.started else "Already running:"
    out.write(
        f"{verb} the shared sandbox at {sandbox.endpoint_url} (account {sandbox.account_id}).\n"
    )
    if sandbox.note:
        out.write(f"{sandbox.note}\n")
    out.write(f"It lives in {sandbox.home}.\n")
    out.write("Use it from other tools (the AWS CLI, scripts) with:\n")
    for key, value in sandbox.env().items():
        out.write(f"  export {key}={value}\n")
    out.write(
        "It keeps running in the background: `cloudtrail-wizard sandbox stop` stops it, "
        "`cloudtrail-wizard sandbox reset` starts over.\n"
    )
    return EXIT_OK


def _deliver(out: TextIO) -> int:
    # The sandbox's modules load only when this command runs.
    from wizard.sandbox.shared import ensure_sandbox

    sandbox = ensure_sandbox()
    report = sandbox.deliver_now()
    out.write(
        f"Delivered {len(report.log_files)} log file(s) and {len(report.digest_files)} "
        f"digest file(s) in the sandbox at {sandbox.endpoint_url}.\n"
    )
    for uri in (*report.log_files, *report.digest_files):
        out.write(f"  {uri}\n")
    for trail, error in sorted(report.errors.items()):
        out.write(
            f"  {trail}: delivery failed with {error} (its GetTrailStatus says so too: "
            "`cloudtrail-wizard --sandbox status` shows it)\n"
        )
    if not (report.log_files or report.digest_files or report.errors):
        out.write(
            "  Nothing to deliver: no trail is logging, or no call was made since the last "
            "delivery.\n"
        )
    return EXIT_OK


def _status(out: TextIO) -> int:
    # The sandbox's modules load only when this command runs.
    from wizard.sandbox.shared import LOG, STATE, find_sandbox, sandbox_home

    home = sandbox_home()
    found = find_sandbox(home)
    if found is None:
        out.write("The shared sandbox is not running.\n")
        out.write(f"It lives in {home}.\n")
        out.write(_saved_line(home / STATE, None))
        out.write("The next --sandbox command (or `cloudtrail-wizard sandbox start`) starts it")
        out.write(", from its saved state.\n" if (home / STATE).exists() else ".\n")
        return EXIT_OK
    details: dict[str, Any] = found.describe()
    out.write(f"The shared sandbox is running at {found.endpoint_url}.\n")
    out.write(f"It lives in {home}.\n")
    out.write(
        f"Process {details.get('pid')}, started {_ago(details.get('started'))} by "
        f"cloudtrail-wizard {details.get('version')}; {details.get('calls_recorded')} API "
        "call(s) recorded since.\n"
    )
    out.write(_saved_line(home / STATE, details.get("saved") or None))
    if details.get("save_error"):
        out.write(
            f"The latest changes are NOT saved ({details['save_error']}): they would be lost "
            "if it stopped. See its log.\n"
        )
    out.write(f"Its log: {home / LOG}.\n")
    out.write(
        "`cloudtrail-wizard sandbox start` prints how to use it from other tools; "
        "`cloudtrail-wizard sandbox reset` starts over; `cloudtrail-wizard sandbox stop` "
        "stops it.\n"
    )
    return EXIT_OK


def _saved_line(state: Path, saved: str | None) -> str:
    try:
        size = state.stat().st_size
    except OSError:
        return "Saved state: none yet (a start seeds the demo account).\n"
    if saved is None:
        saved = datetime.fromtimestamp(state.stat().st_mtime, UTC).isoformat(timespec="seconds")
    return f"Saved state: {state} ({_size(size)}, saved {_ago(saved)}).\n"


def _size(size: int) -> str:
    return f"{size} bytes" if size < 1024 else f"{size / 1024:.0f} KB"


def _ago(moment: object) -> str:
    """``2026-05-01T10:00:00+00:00 (3 minutes ago)``."""
    try:
        when = datetime.fromisoformat(str(moment))
    except ValueError:
        return str(moment)
    seconds = max(0, int((datetime.now(UTC) - when).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{moment} ({count} {unit}{'' if count == 1 else 's'} ago)"
    return f"{moment} ({seconds} s ago)"


def _stop(out: TextIO) -> int:
    # The sandbox's modules load only when this command runs.
    from wizard.sandbox.shared import STATE, sandbox_home, stop_sandbox

    home = sandbox_home()
    if stop_sandbox(home):
        out.write(
            f"Stopped the shared sandbox. Its state is kept in {home / STATE}: the next "
            "--sandbox command starts it again from there (`cloudtrail-wizard sandbox reset` "
            "starts over).\n"
        )
    else:
        out.write(f"The shared sandbox is not running (it lives in {home}).\n")
    return EXIT_OK


def _reset(out: TextIO) -> int:
    # The sandbox's modules load only when this command runs.
    from wizard.sandbox.shared import reset_sandbox, sandbox_home

    done = reset_sandbox()
    if done == "reset":
        out.write(
            "The shared sandbox is back to the freshly seeded demo account: everything made "
            "in it since, and every recorded call, is gone.\n"
        )
    elif done == "forgotten":
        out.write(
            f"The shared sandbox is not running; its saved state is deleted from "
            f"{sandbox_home()}, so it starts from the freshly seeded demo account next time.\n"
        )
    else:
        out.write(
            "The shared sandbox is not running and has nothing saved: it starts from the "
            "freshly seeded demo account next time.\n"
        )
    return EXIT_OK


# ------------------------------------------------------------------------- identities


def _identity(name: str | None, out: TextIO) -> int:
    """Show which identity ``--sandbox`` commands act as, or switch to ``name``."""
    # The sandbox's modules load only when this command runs.
    from wizard.sandbox.identities import (
        ADMIN_NAME,
        ADMIN_USER,
        IdentityProblem,
        current_identity,
        describe_user,
        switch_identity,
        use_identity,
        user_names,
    )
    from wizard.sandbox.shared import find_sandbox, sandbox_home

    home = sandbox_home()
    if name is None:
        found = find_sandbox(home)
        current = current_identity(home)
        if current is None:
            out.write(
                "--sandbox commands act as the sandbox's administrator (the dummy "
                "credentials): nothing is refused for lack of permissions.\n"
            )
        else:
            out.write(f"--sandbox commands act as {current.name} ({current.arn}).\n")
            if found is not None:
                policies = describe_user(found.endpoint_url, current.name)
                out.write(f"Its policies: {', '.join(policies) if policies else 'none'}.\n")
        if found is None:
            out.write(
                "The shared sandbox is not running (`cloudtrail-wizard sandbox start` starts it).\n"
            )
        else:
            others = [u for u in user_names(found.endpoint_url) if u != ADMIN_USER]
            if others:
                out.write(f"IAM users of the sandbox you can act as: {', '.join(others)}.\n")
        out.write(
            "`cloudtrail-wizard sandbox identity NAME` acts as the IAM user NAME; "
            f"`cloudtrail-wizard sandbox identity {ADMIN_NAME}` as the administrator.\n"
        )
        return EXIT_OK
    if name == ADMIN_NAME:
        use_identity(home, None)
        out.write(
            "From now on, --sandbox commands act as the sandbox's administrator (the dummy "
            "credentials).\n"
        )
        return EXIT_OK
    if not _USER_NAME.fullmatch(name):
        raise UsageError(
            f"{name!r} is not an IAM user name (1 to 64 letters, digits and +=,.@_- ). Give "
            f"the name of a user of the sandbox, or `{ADMIN_NAME}`."
        )
    found = find_sandbox(home)
    if found is None:
        raise UsageError(
            f"The shared sandbox is not running, so it has no user {name} to act as. Start it "
            "(`cloudtrail-wizard sandbox start`), make the user there (a lab does), then run "
            "this again."
        )
    try:
        credentials = switch_identity(found.endpoint_url, home, name)
    except IdentityProblem as exc:
        raise UsageError(str(exc)) from None
    policies = describe_user(found.endpoint_url, name)
    out.write(f"From now on, --sandbox commands act as {name} ({credentials.arn}).\n")
    out.write(f"Its policies: {', '.join(policies) if policies else 'none'}.\n")
    out.write(
        "The sandbox refuses every call they do not allow, as AWS would. "
        f"`cloudtrail-wizard sandbox identity {ADMIN_NAME}` goes back to the administrator.\n"
    )
    out.write("Act as it from other tools (the AWS CLI, scripts) with:\n")
    env = {
        **found.env(),
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
    }
    for key, value in env.items():
        out.write(f"  export {key}={value}\n")
    return EXIT_OK


# ---------------------------------------------------------------------- the throwaway one


def run_throwaway(args: argparse.Namespace, out: TextIO) -> int:
    """Start a separate sandbox in this process, say how to use it, and wait for Ctrl-C."""
    # The emulator (moto and its server) loads only when this command runs.
    from wizard.sandbox.delivery import DEFAULT_DIGEST_INTERVAL, DEFAULT_LOG_INTERVAL
    from wizard.sandbox.server import start_sandbox

    sandbox = start_sandbox(
        seed=not args.no_seed,
        port=args.port,
        log_interval=DEFAULT_LOG_INTERVAL if args.log_interval is None else args.log_interval,
        digest_interval=(
            DEFAULT_DIGEST_INTERVAL if args.digest_interval is None else args.digest_interval
        ),
    )
    try:
        out.write(f"Sandbox running at {sandbox.endpoint_url} (account {sandbox.account_id}).\n")
        out.write(
            "A throwaway sandbox: it is not the shared one --sandbox commands use, and it "
            "forgets everything when it stops (`cloudtrail-wizard sandbox start` starts the "
            "shared one).\n"
        )
        out.write("Use it from other tools with:\n")
        for key, value in sandbox.env().items():
            out.write(f"  export {key}={value}\n")
        out.write("Press Ctrl-C to stop.\n")
        out.flush()
        threading.Event().wait()
    except KeyboardInterrupt:
        out.write("\nSandbox stopped.\n")
    finally:
        sandbox.stop()
    return EXIT_OK
