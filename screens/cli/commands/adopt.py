"""``adopt TRAIL [--output FILE]``: an existing trail's configuration as an answers file.

The trail is read (read-only session) into answers (:mod:`wizard.account.adopt`) and written
as YAML, headed by a comment that says which trail, when, and whatever the answers could not
say exactly. Planning that file unchanged plans no change, so it can be kept in version
control and edited like any answers file. Exit 0 written, 1 a read was refused or failed, 2
invalid input (no such trail, another account's, an existing FILE without ``--force``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from screens.cli.parser import repeat_session_options
from screens.common.central import open_log_session
from screens.common.connection import connect, engine_for
from screens.common.errors import EXIT_FAILED, EXIT_OK, UsageError, print_error
from screens.common.reporting import report_aws_failure
from wizard.model.safe_io import write_atomically
from wizard.ports import AwsError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The trail, where to write, and the log-archive account's credentials."""
    parser.description = (
        "Read the existing trail TRAIL (name or ARN) into an answers file: home region, "
        "bucket and prefix, encryption, SNS topic, CloudWatch Logs, event selectors, "
        "Insights, tags and organization. `plan` on that file plans no change; edit it to "
        "change the trail. Changes nothing. Exit 0 written, 1 a read was refused or failed, "
        "2 invalid input."
    )
    parser.add_argument("trail", metavar="TRAIL", help="the trail's name or ARN")
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (default: standard output)"
    )
    parser.add_argument("--force", action="store_true", help="replace FILE when it exists already")
    group = parser.add_argument_group(
        "central logging (the trail's bucket belongs to a log-archive account)"
    )
    how = group.add_mutually_exclusive_group()
    how.add_argument(
        "--log-account-profile",
        metavar="NAME",
        help="AWS profile for the log-archive account: tells whose bucket the trail uses",
    )
    how.add_argument(
        "--log-account-role",
        metavar="ARN",
        help="role in the log-archive account, assumed with the main session's credentials",
    )
    repeat_session_options(parser)


def _target(args: argparse.Namespace) -> Path | None:
    """The file to write (None: standard output), refused early when it cannot be."""
    if not args.output:
        return None
    path = Path(args.output)
    if not path.parent.is_dir():
        raise UsageError(f"Cannot write {path}: the directory {path.parent} does not exist.")
    if path.exists() and path.is_file() and not args.force:
        raise UsageError(
            f"{path} exists already; nothing was written. Pass --force to replace it, or "
            "choose another file name."
        )
    return path


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Read the trail and write its answers."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.account.adopt import AdoptError, adopt_trail, adopted_text

    target = _target(args)
    with connect(args, read_only=True) as conn:
        engine = engine_for(conn)
        log = open_log_session(
            conn,
            profile=args.log_account_profile,
            role=args.log_account_role,
            read_only=True,
        )
        callers = {log.whoami()[0]: log.caller} if log is not None else {}
        try:
            adopted = adopt_trail(
                engine.caller,
                engine.ctx,
                args.trail,
                strict_region=bool(args.region),
                callers=callers,
            )
        except AdoptError as exc:
            if exc.code in ("denied", "unreadable"):
                print_error(f"error: {exc.message}\nNothing was written.")
                return EXIT_FAILED
            raise UsageError(exc.message) from None
        except AwsError as err:
            return report_aws_failure(err)
        text = adopted_text(adopted, sandbox=conn.session.sandbox)
    if target is None:
        out.write(text)
        return EXIT_OK
    out.flush()  # anything printed before must come first when FILE is /dev/stdout
    try:
        write_atomically(target, text)
    except OSError as exc:
        raise UsageError(f"Cannot write {target}: {exc.strerror or exc}") from None
    print(f"Wrote the answers of trail {adopted.answers.trail.name} to {target}.", file=sys.stderr)
    for note in adopted.notes:
        print_error(f"note: {note}")
    return EXIT_OK
