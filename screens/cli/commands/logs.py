"""``logs TRAIL``: the newest log files of a trail, or one file's events as rows.

``--file KEY`` (or ``--file latest``) prints one file's records as rows; ``--filter``
narrows them (:mod:`wizard.health.logfiles`). Only reads (the session is read-only).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from screens.cli.parser import repeat_session_options
from screens.common.connection import connect
from screens.common.errors import EXIT_FAILED, EXIT_OK, UsageError
from wizard.model.text import printable

if TYPE_CHECKING:
    from wizard.health.logfiles import LogListing, LogLocation, LogRow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The trail, --file, --filter, --limit, --region-only and the output format."""
    parser.description = (
        "Without --file: the newest log files of TRAIL (newest first). With --file KEY (or "
        "--file latest): that file's events as rows (time, service, action, who, from where, "
        "error), narrowed by --filter. Read-only. Exit 0, 1 when the files cannot be read, 2 "
        "invalid input."
    )
    parser.add_argument("trail", metavar="TRAIL", help="trail name or ARN")
    parser.add_argument("--file", metavar="KEY", help="object key of a log file, or 'latest'")
    parser.add_argument(
        "--filter",
        metavar="TEXT",
        default="",
        help="words every row must contain; field:value for one column (who:, service:, "
        "action:, from:, error:, region:, time:), error:* for failed calls, -word to exclude",
    )
    parser.add_argument(
        "--limit", type=int, default=20, help="files to list (default %(default)s, max 1000)"
    )
    parser.add_argument("--region-only", metavar="REGION", help="only files of this region")
    parser.add_argument("--output", choices=("text", "json"), default="text")
    repeat_session_options(parser)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """The newest log files of a trail, or one file's events."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.health.logfiles import (
        LogFileError,
        filter_rows,
        latest_log_files,
        read_log_file,
        record_row,
        trail_log_location,
    )
    from wizard.health.trails import TrailNotFound

    if not 1 <= args.limit <= 1000:
        raise UsageError(f"--limit {args.limit}: give a number from 1 to 1000.")
    with connect(args, read_only=True) as conn:
        caller = conn.session.caller
        try:
            where = trail_log_location(caller, conn.session.region, args.trail)
            regions = [args.region_only] if args.region_only else None
            if args.file is None or args.file == "latest":
                listing = latest_log_files(
                    caller,
                    where.bucket,
                    where.bucket_region,
                    where.root,
                    regions=regions,
                    limit=1 if args.file == "latest" else args.limit,
                )
                if args.file is None:
                    _write_listing(where, listing, args.output, out)
                    return EXIT_OK
                if not listing.files:
                    out.write(f"No log files under s3://{where.bucket}/{where.root} yet.\n")
                    return EXIT_OK
                key = listing.files[0].key
            else:
                key = args.file
            records = read_log_file(caller, where.bucket, where.bucket_region, key)
        except TrailNotFound as exc:
            raise UsageError(str(exc)) from None
        except LogFileError as exc:
            print(f"error: {printable(exc)}", file=sys.stderr)
            return EXIT_FAILED
    rows = [record_row(r, i) for i, r in enumerate(records)]
    shown = filter_rows(rows, args.filter)
    if args.output == "json":
        payload = {
            "bucket": where.bucket,
            "key": key,
            "records": len(rows),
            "rows": [r.model_dump(mode="json") for r in shown],
        }
        out.write(json.dumps(payload, indent=2) + "\n")
        return EXIT_OK
    out.write(f"s3://{where.bucket}/{printable(key)}: {len(shown)} of {len(rows)} events\n")
    _write_rows(shown, out)
    return EXIT_OK


def _write_rows(shown: list[LogRow], out: TextIO) -> None:
    headers = ("Time", "Service", "Action", "Who", "From", "Error")
    # Whoever can write to the bucket wrote these fields: escape sequences are shown, not run.
    table = [
        headers,
        *(
            tuple(printable(c) for c in (r.time, r.service, r.action, r.who, r.source, r.error))
            for r in shown
        ),
    ]
    widths = [min(40, max(len(row[i]) for row in table)) for i in range(len(headers) - 1)]
    for row in table:
        cells = [cell[:40].ljust(w) for cell, w in zip(row[:-1], widths, strict=True)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")


def _write_listing(where: LogLocation, listing: LogListing, output: str, out: TextIO) -> None:
    if output == "json":
        payload = {
            "bucket": where.bucket,
            "root": where.root,
            "regions": listing.regions,
            "complete": listing.complete,
            "files": [f.model_dump(mode="json") for f in listing.files],
        }
        out.write(json.dumps(payload, indent=2) + "\n")
        return
    if not listing.files:
        out.write(
            f"No log files under s3://{where.bucket}/{where.root} yet. CloudTrail delivers "
            "about every 5 minutes once the trail is logging.\n"
        )
        return
    out.write(f"Newest log files of {where.trail} in s3://{where.bucket}/{where.root}\n")
    for f in listing.files:
        out.write(f"  {f.stamp:<16}  {f.region:<15} {f.size:>9,} B  {printable(f.key)}\n")
    if not listing.complete:
        out.write("(Only the newest days were searched; older files may exist.)\n")
    out.write("Show one: cloudtrail-wizard logs TRAIL --file KEY [--filter TEXT]\n")
