"""The ``status`` and ``logs`` commands: trail health, and the newest log files.

* ``cloudtrail-wizard status [TRAIL]`` checks every trail of the account (or one): logging,
  deliveries, whether the bucket, key and CloudWatch Logs role still let CloudTrail deliver,
  and the CIS / Security Hub CloudTrail controls (:mod:`wizard.health.trails`). Exit 0 when no
  trail is failing (warnings included), 1 when one is (or the trails cannot be listed), 2
  for bad input such as an unknown trail.
* ``cloudtrail-wizard logs TRAIL`` lists the newest log files; ``--file KEY`` (or
  ``--file latest``) prints one file's records as rows, ``--filter`` narrows them
  (:mod:`wizard.health.logfiles`).

Both only read (the session is read-only). They never import Textual.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any, TextIO

from screens.cli import _EXTRA_COMMANDS, EXIT_FAILED, EXIT_OK, UsageError

_MARK = {"pass": "✓", "fail": "✗", "not-applicable": "–", "unknown": "?"}
_VERDICT = {"healthy": "HEALTHY", "warning": "WARNING", "failing": "FAILING"}


def _session_options(p: Any) -> None:
    # Global options (before the command), also accepted after it; SUPPRESS keeps a global
    # value when they are not repeated here.
    p.add_argument("--profile", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--region", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument(
        "--sandbox", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )


def register(sub: Any) -> None:
    """Add the ``status`` and ``logs`` commands to the command-line parser."""
    p = sub.add_parser(
        "status",
        help="check the health of the account's trails (read-only)",
        description="For each trail (or TRAIL): is it logging, its latest deliveries and "
        "errors, whether its bucket, KMS key and CloudWatch Logs role still let CloudTrail "
        "deliver, and which CIS AWS Foundations / AWS Security Hub CloudTrail controls it "
        "passes. Changes nothing. Exit 0 healthy or warnings only, 1 a trail is failing (or "
        "the trails cannot be read), 2 invalid input.",
    )
    p.add_argument("trail", metavar="TRAIL", nargs="?", help="trail name or ARN (default: all)")
    p.add_argument("--output", choices=("text", "json"), default="text")
    _session_options(p)
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser(
        "logs",
        help="list a trail's newest log files, or show one file's events",
        description="Without --file: the newest log files of TRAIL (newest first). With "
        "--file KEY (or --file latest): that file's events as rows (time, service, action, "
        "who, from where, error), narrowed by --filter. Read-only. Exit 0, 1 when the files "
        "cannot be read, 2 invalid input.",
    )
    p.add_argument("trail", metavar="TRAIL", help="trail name or ARN")
    p.add_argument("--file", metavar="KEY", help="object key of a log file, or 'latest'")
    p.add_argument(
        "--filter",
        metavar="TEXT",
        default="",
        help="words every row must contain; field:value for one column (who:, service:, "
        "action:, from:, error:, region:, time:), error:* for failed calls, -word to exclude",
    )
    p.add_argument(
        "--limit", type=int, default=20, help="files to list (default %(default)s, max 1000)"
    )
    p.add_argument("--region-only", metavar="REGION", help="only files of this region")
    p.add_argument("--output", choices=("text", "json"), default="text")
    _session_options(p)
    p.set_defaults(handler=cmd_logs)


_EXTRA_COMMANDS.append(register)


# --------------------------------------------------------------------------- status


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    """``status``: the health of every trail, or of one."""
    from screens.commands import _aws_failure, connect
    from wizard.health.trails import TrailNotFound, check_health
    from wizard.ports import AwsError

    with connect(args, read_only=True) as conn:
        try:
            report = check_health(conn.session.caller, conn.session.region, trail=args.trail)
        except TrailNotFound as exc:
            raise UsageError(str(exc)) from None
        except AwsError as err:
            return _aws_failure(err)
    if args.output == "json":
        out.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        write_report(report, out)
    return EXIT_FAILED if report.verdict == "failing" else EXIT_OK


def _wrap(text: str, first: str, width: int = 100) -> str:
    """``text`` wrapped under a marker (ARNs and commands are never broken at hyphens)."""
    return textwrap.fill(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=" " * len(first),
        break_on_hyphens=False,
        break_long_words=False,
    )


def write_report(report: Any, out: TextIO) -> None:
    """The health report as text: per trail the verdict, reasons, controls and facts."""
    from wizard.health.trails import fact_rows

    if not report.trails:
        out.write(
            "No trails in this account: nothing is recorded. Run cloudtrail-wizard to create one.\n"
        )
        return
    for health in report.trails:
        f = health.facts
        out.write(f"{f.name} ({f.home_region}): {_VERDICT[health.verdict]}\n")
        for problem in health.problems:
            mark = "✗" if problem.severity == "failing" else "⚠"
            out.write(_wrap(problem.message, f"  {mark} ") + "\n")
        out.write("  Controls\n")
        for result in health.controls:
            spec = result.control
            out.write(
                _wrap(
                    f"{spec.label}  {spec.title}: {result.reason}",
                    f"    {_MARK[result.status]} ",
                )
                + "\n"
            )
        out.write("  Facts\n")
        rows = fact_rows(f)
        width = max(len(label) for label, _v in rows)
        for label, value in rows:
            out.write(f"    {label.ljust(width)}  {value}\n")
        out.write("\n")
    counts = {v: sum(1 for t in report.trails if t.verdict == v) for v in _VERDICT}
    total = len(report.trails)
    out.write(
        f"{total} trail{'s' if total != 1 else ''}: {counts['healthy']} healthy, "
        f"{counts['warning']} with warnings, {counts['failing']} failing.\n"
    )


# --------------------------------------------------------------------------- logs


def cmd_logs(args: argparse.Namespace, out: TextIO) -> int:
    """``logs``: the newest log files of a trail, or one file's events."""
    from screens.commands import connect
    from wizard.health.logfiles import (
        LogFileError,
        filter_rows,
        latest_log_files,
        read_log_file,
        record_row,
        trail_log_location,
    )
    from wizard.health.trails import TrailNotFound
    from wizard.model.text import printable

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
    return EXIT_OK


def _write_listing(where: Any, listing: Any, output: str, out: TextIO) -> None:
    from wizard.model.text import printable

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
