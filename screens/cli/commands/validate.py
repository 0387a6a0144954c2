"""``validate TRAIL``: check a trail's log files against its signed digest files.

It walks the digest chain as AWS documents it (:func:`wizard.health.integrity.validate_trail`)
and prints a summary like the AWS CLI's ``cloudtrail validate-logs``: how many digest and
log files are valid, then every file that is not, with the reason. Exit 0 when everything
checked is valid, 1 on any problem (a modified, deleted or missing file, or nothing that can
be validated), 2 on bad input (an unknown trail, an unreadable time).

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
    from wizard.health.integrity import FileResult, IntegrityReport

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
    """The trail, the time range, the member account, the output format and --verbose."""
    parser.description = (
        "Validate the integrity of TRAIL's log files: walk its digest chain as AWS documents "
        "it (each digest's signature against the public keys of CloudTrail's ListPublicKeys, "
        "the link to the previous digest, the SHA-256 of every log file) and report valid, "
        "modified, deleted and missing files. The trail needs log file validation on. Times: "
        + TIME_HELP
        + ". Exit 0 all valid, 1 any problem, 2 bad input."
    )
    parser.add_argument("trail", metavar="TRAIL", help="the trail's name or ARN")
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
        "trail's own account)",
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
        "again after that; in the full-screen wizard, Trail health's \"Deliver logs now\" "
        "delivers at once."
    )


def _show(moment: datetime | None, default: str) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else default


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Walk the trail's digest chain and report every problem."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.health.integrity import validate_trail

    now = datetime.now(UTC)
    start = parse_time(args.start_time, "--start-time", now) if args.start_time else None
    end = parse_time(args.end_time, "--end-time", now) if args.end_time else None
    if start and start > (end or now):
        raise UsageError("--start-time is after --end-time: give a start before the end.")
    text = args.output == "text"
    if text:
        out.write(
            f"Validating log files for trail {printable(args.trail)} between "
            f"{_show(start, 'the first digest')} and {_show(end, 'now')}\n\n"
        )
        out.flush()

    def progress(result: FileResult) -> None:
        if text and args.verbose and result.valid:
            out.write(f"{result.label}\t{printable(result.where)}\tvalid\n")
            out.flush()

    with connect(args, read_only=True) as conn:
        try:
            report = validate_trail(
                conn.session.caller,
                args.trail,
                region=conn.session.region,
                start=start,
                end=end,
                account_id=args.account_id,
                progress=progress,
            )
        except AwsError as err:
            return report_aws_failure(err)
        if report.problem_kind == "no-digests" and conn.session.sandbox:
            report = report.model_copy(
                update={"problem": f"{report.problem} {sandbox_delivery_words(args.trail)}"}
            )
    code = EXIT_OK if report.ok else EXIT_FAILED
    if report.problem_kind in ("trail-not-found", "invalid-range"):
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
