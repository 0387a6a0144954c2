"""``validate TRAIL``: check a trail's log files against its signed digest files.

It walks the digest chain as AWS documents it (:func:`wizard.health.integrity.validate_trail`)
and prints a summary like the AWS CLI's ``cloudtrail validate-logs``: how many digest and
log files are valid (backfill digests counted apart), then every file that is not, with
the reason. Exit 0 when everything checked is valid, 1 on any problem (a modified, deleted
or missing file, or nothing that can be validated), 2 on bad input (an unknown trail, an
unreadable time, a folder that is not a downloaded copy).

``validate --local DIR`` checks a downloaded copy of the files instead
(:func:`wizard.health.localcopy.validate_local`), with the public keys from a file saved
earlier (``--public-keys FILE``: no AWS call at all) or fetched from ``ListPublicKeys``;
``--save-public-keys FILE`` keeps the keys a run fetched, for later offline runs.

Nothing here changes the account: the session is read-only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from screens.cli.parser import repeat_session_options
from screens.common.connection import connect
from screens.common.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK, UsageError
from screens.common.reporting import report_aws_failure
from wizard.model.text import printable
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.health.integrity import FileResult, IntegrityReport, Progress
    from wizard.health.publickeys import KeyRing

_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])(?:\s+ago)?")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

TIME_HELP = (
    "ISO 8601 (2024-05-01T12:00:00Z, 2024-05-01; no zone means UTC) or an age: 90s, 30m, 2h, "
    "7d, 1w ago"
)

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""Earliest time accepted (CloudTrail itself began in 2013)."""
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
"""Latest time accepted. The walk reads a little before the start and after the end of the
range; bounded times keep that arithmetic far from the limits of Python's dates."""

_RANGE_WORDS = f"give a time from {EARLIEST:%Y-%m-%d} to {LATEST - timedelta(days=1):%Y-%m-%d}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The trail or --local, the time range, the member account, keys, output, --verbose."""
    parser.description = (
        "Validate the integrity of TRAIL's log files: walk its digest chain as AWS documents "
        "it (each digest's signature against the public keys of CloudTrail's ListPublicKeys, "
        "the link to the previous digest, the SHA-256 of every log file; backfill digests "
        "too) and report valid, modified, deleted and missing files, as `aws cloudtrail "
        "validate-logs` does. The trail needs log file validation on. With --local DIR: "
        "validate a downloaded copy of the files instead, offline with --public-keys. "
        "Times: " + TIME_HELP + ". Exit 0 all valid, 1 any problem, 2 bad input."
    )
    parser.add_argument(
        "trail",
        metavar="TRAIL",
        nargs="?",
        help="the trail's name or ARN (with --local: only this trail's files; default all)",
    )
    parser.add_argument(
        "--start-time",
        metavar="T",
        help="validate digests from this time on (default: from the first one)",
    )
    parser.add_argument(
        "--end-time",
        metavar="T",
        help="validate log files delivered up to this time (default: now)",
    )
    parser.add_argument(
        "--account-id",
        metavar="ID",
        help="organization trails: the member account whose logs to validate (default: the "
        "trail's own account); with --local: only this account's files",
    )
    parser.add_argument(
        "--local",
        metavar="DIR",
        help="validate a downloaded copy of the log and digest files: DIR holds the AWSLogs "
        "folder, files under their S3 keys (as `aws s3 sync s3://BUCKET DIR` leaves them)",
    )
    parser.add_argument(
        "--public-keys",
        metavar="FILE",
        help="with --local: the public keys saved earlier (--save-public-keys); nothing "
        "calls AWS then",
    )
    parser.add_argument(
        "--save-public-keys",
        metavar="FILE",
        help="save the public keys this run fetched from ListPublicKeys to FILE (JSON), for "
        "later --local --public-keys runs",
    )
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="also list every valid file, as checked"
    )
    repeat_session_options(parser)


def parse_time(text: str, option: str, now: datetime) -> datetime:
    """A command-line time: ISO 8601 (UTC unless it says otherwise) or an age before ``now``.

    Raises:
        UsageError: neither, or a time before :data:`EARLIEST` or from :data:`LATEST` on.
    """
    value = text.strip()
    if value.lower() == "now":
        return now
    if age := _AGE.fullmatch(value.lower()):
        # A float, then a bounded timedelta: "99999999999d" would overflow timedelta.
        seconds = float(age.group(1)) * timedelta(**{_UNITS[age.group(2)]: 1}).total_seconds()
        oldest = (now - EARLIEST).total_seconds()
        if not seconds <= oldest:  # also catches inf from hundreds of digits
            raise UsageError(
                f"{option} {text!r} is too long ago: give an age of at most "
                f"{int(oldest // 86400)}d, or a time from {EARLIEST:%Y-%m-%d} on."
            )
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a time: use {TIME_HELP}.") from None
    except OverflowError:  # year 1 or 9999 moved past the calendar's end by its zone
        raise UsageError(f"{option} {text!r} is out of range: {_RANGE_WORDS}.") from None
    if not EARLIEST <= moment < LATEST:
        raise UsageError(f"{option} {text!r} is out of range: {_RANGE_WORDS}.")
    return moment


def sandbox_delivery_words(trail: str) -> str:
    """What a sandbox user does when there are no digest files yet (no hour to wait)."""
    return (
        "This is the sandbox, where nothing takes an hour: it delivers digest files on its "
        "next delivery tick (every minute, unless `cloudtrail-wizard sandbox "
        "--digest-interval S` set another interval) for trails that are logging with log "
        f"file validation on. Run `cloudtrail-wizard --sandbox validate {printable(trail)}` "
        'again after that; in the full-screen wizard, Trail health\'s "Deliver logs now" '
        "delivers at once."
    )


def _show(moment: datetime | None, default: str) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else default


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Walk the trail's (or the downloaded copy's) digest chains and report every problem."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.health.publickeys import KeyRing

    _check_options(args)
    now = datetime.now(UTC)
    start = parse_time(args.start_time, "--start-time", now) if args.start_time else None
    end = parse_time(args.end_time, "--end-time", now) if args.end_time else None
    if start and start > (end or now):
        raise UsageError("--start-time is after --end-time: give a start before the end.")
    text = args.output == "text"
    if text:
        what = (
            f"the downloaded copy in {printable(args.local)}"
            + (f" (trail {printable(args.trail)})" if args.trail else "")
            if args.local
            else f"trail {printable(args.trail)}"
        )
        out.write(
            f"Validating log files for {what} between {_show(start, 'the first digest')} and "
            f"{_show(end, 'now')}\n\n"
        )
        out.flush()

    def progress(result: FileResult) -> None:
        if text and args.verbose and result.valid:
            out.write(f"{result.label}\t{printable(result.where)}\tvalid\n")
            out.flush()

    fetched = KeyRing()
    try:
        if args.local:
            report = _validate_copy(args, start, end, fetched, progress)
        else:
            report = _validate_bucket(args, start, end, fetched, progress)
    except AwsError as err:
        return report_aws_failure(err)
    saved = _save_keys(fetched, args.save_public_keys) if args.save_public_keys else True
    code = EXIT_OK if report.ok and saved else EXIT_FAILED
    if report.problem_kind in ("trail-not-found", "invalid-range", "invalid-directory"):
        code = EXIT_INVALID
    if not text:
        payload = {"ok": report.ok, "counts": report.counts.model_dump(mode="json")}
        payload.update(report.model_dump(mode="json"))
        out.write(json.dumps(payload, indent=2) + "\n")
        return code
    if report.problem:
        if args.verbose:
            out.write("\n")
        print(f"error: {printable(report.problem)}", file=sys.stderr)
        return code
    _summary(report, start, end, now, out, verbose=args.verbose)
    return code


def _check_options(args: argparse.Namespace) -> None:
    if not args.trail and not args.local:
        raise UsageError(
            "Give TRAIL (a trail's name or ARN: its bucket is validated), or --local DIR (a "
            "downloaded copy of the files)."
        )
    if args.public_keys and not args.local:
        raise UsageError(
            "--public-keys is for --local DIR: a trail's bucket is validated with the keys "
            "ListPublicKeys returns. Add --local DIR, or leave out --public-keys."
        )
    if args.public_keys and args.save_public_keys:
        raise UsageError(
            "--save-public-keys saves the keys fetched from ListPublicKeys, and --public-keys "
            "means none are fetched: give one of them."
        )


def _validate_bucket(
    args: argparse.Namespace,
    start: datetime | None,
    end: datetime | None,
    fetched: KeyRing,
    progress: Progress,
) -> IntegrityReport:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.health.integrity import validate_trail

    with connect(args, read_only=True) as conn:
        report = validate_trail(
            conn.session.caller,
            args.trail,
            region=conn.session.region,
            start=start,
            end=end,
            account_id=args.account_id,
            progress=progress,
            keys=fetched,
        )
        if report.problem_kind == "no-digests" and conn.session.sandbox:
            report = report.model_copy(
                update={"problem": f"{report.problem} {sandbox_delivery_words(args.trail)}"}
            )
    return report


def _validate_copy(
    args: argparse.Namespace,
    start: datetime | None,
    end: datetime | None,
    fetched: KeyRing,
    progress: Progress,
) -> IntegrityReport:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.health.localcopy import validate_local
    from wizard.health.publickeys import KeyFileError, KeyRing

    options = {
        "trail": args.trail,
        "account_id": args.account_id,
        "start": start,
        "end": end,
        "progress": progress,
    }
    if args.public_keys:
        try:
            keys = KeyRing.load(args.public_keys)
        except KeyFileError as exc:
            raise UsageError(f"--public-keys {exc}") from None
        # Offline: no session at all, so no credentials are needed.
        return validate_local(
            args.local, keys=keys, keys_name=f"the public keys file {args.public_keys}", **options
        )
    try:
        with connect(args, read_only=True) as conn:
            return validate_local(
                args.local, caller=conn.session.caller, collect=fetched, **options
            )
    except UsageError as exc:
        raise UsageError(
            f"{exc}\nThe public keys come from ListPublicKeys unless they are given: to "
            "validate the copy without AWS, add --public-keys FILE (saved earlier with "
            "--save-public-keys FILE)."
        ) from None


def _save_keys(fetched: KeyRing, path: str) -> bool:
    """Write the keys fetched to ``path``, and say so on standard error; False: not written."""
    if not fetched.keys:
        print(
            f"error: no public keys were fetched (no digest file was reached), so "
            f"{printable(path)} was not written.",
            file=sys.stderr,
        )
        return False
    try:
        fetched.save(path)
    except OSError as exc:
        print(
            f"error: the public keys could not be saved to {printable(path)}: "
            f"{exc.strerror or exc}.",
            file=sys.stderr,
        )
        return False
    count = len(fetched.keys)
    print(
        f"Saved {count} public key{'s' if count != 1 else ''} of "
        f"{', '.join(fetched.regions)} to {printable(path)}: `cloudtrail-wizard validate "
        f"--local DIR --public-keys {printable(path)}` uses them without AWS.",
        file=sys.stderr,
    )
    return True


def _summary(
    report: IntegrityReport,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    out: TextIO,
    *,
    verbose: bool,
) -> None:
    if verbose:
        out.write("\n")
    out.write(
        f"Results requested from {_show(start, 'the first digest')} to {_show(end or now, 'now')}\n"
    )
    if report.covered_start and report.covered_end:
        out.write(
            f"Results found for {_show(report.covered_start, '')} to "
            f"{_show(report.covered_end, '')}:\n"
        )
    else:
        out.write("No valid digests found in range\n")
    counts = report.counts
    out.write("\n")
    backfill = (counts.valid_backfill_digests, counts.invalid_backfill_digests)
    for valid, invalid, name in (
        (
            counts.valid_digests - backfill[0],
            counts.invalid_digests - backfill[1],
            "digest",
        ),
        (*backfill, "backfill digest"),
        (counts.valid_logs, counts.invalid_logs, "log"),
    ):
        total = valid + invalid
        if name == "backfill digest" and not total:
            continue  # as the AWS CLI: the line only when there are backfill digests
        line = f"{valid}/{total} {name} files valid"
        if invalid:
            line += f", {invalid}/{total} {name} files INVALID"
        out.write(line + "\n")
    # Keys and details come from the bucket, which whoever tampered with it chose: every
    # control character is shown escaped, so the report cannot be rewritten on screen.
    for note in report.notes:
        out.write(f"\nNote: {printable(note)}\n")
    if report.invalid:
        out.write("\nProblems:\n")
        for result in report.invalid:
            out.write(f"{result.label}\t{printable(result.where)}\n")
            out.write(f"  {result.status.upper()}: {printable(result.detail)}\n")
