"""``sandbox``: run the seeded emulator as a standalone local AWS endpoint until Ctrl-C."""

from __future__ import annotations

import argparse
import threading
from typing import TextIO

from screens.common.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The port, --no-seed, and the delivery intervals of log and digest files."""
    parser.description = (
        "Start the embedded sandbox (a local AWS emulator seeded with a demo account, as "
        "strict as AWS where CloudTrail setup is concerned) and print how to use it from "
        "other tools. Stops with Ctrl-C."
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--no-seed", action="store_true", help="start empty")
    parser.add_argument(
        "--log-interval",
        type=seconds,
        default=None,
        metavar="S",
        help="seconds between log file deliveries to logging trails' buckets (default 10; "
        "AWS: about 5 minutes; 0: off)",
    )
    parser.add_argument(
        "--digest-interval",
        type=seconds,
        default=None,
        metavar="S",
        help="seconds one digest file covers when log file validation is on (default 60; "
        "AWS: one hour; 0: off)",
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
    """Start the sandbox, say how to use it, and wait for Ctrl-C."""
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
