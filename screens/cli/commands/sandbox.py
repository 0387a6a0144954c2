"""``sandbox``: the shared sandbox (``start``, ``status``, ``stop``, ``reset``), or a throwaway one.

Every ``--sandbox`` command uses the shared sandbox, one emulator in the background that
keeps what was done (:mod:`wizard.sandbox.shared`). ``sandbox status`` says where it lives
and whether it runs, ``sandbox start`` starts it and prints how to point other tools at it,
``sandbox stop`` stops it (its state is kept on disk), ``sandbox reset`` starts over from the
demo account.

``sandbox`` alone (with ``--port``, ``--no-seed`` and the delivery intervals) runs a separate,
throwaway sandbox in the foreground until Ctrl-C, as before: it shares nothing with the
shared one and forgets everything when it stops.
"""

from __future__ import annotations

import argparse
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
}
"""The shared sandbox's actions, and what ``--help`` says of each."""


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
        return {"start": _start, "status": _status, "stop": _stop, "reset": _reset}[action](out)
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
