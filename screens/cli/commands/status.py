"""``status [TRAIL]``: the health of every trail of the account (or one).

For each trail: logging, deliveries, whether the bucket, key and CloudWatch Logs role still
let CloudTrail deliver, and the CIS / Security Hub CloudTrail controls
(:mod:`wizard.health.trails`). Exit 0 when no trail is failing (warnings included), 1 when
one is (or the trails cannot be listed), 2 for bad input such as an unknown trail. Only
reads (the session is read-only).
"""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import TYPE_CHECKING, TextIO

from screens.cli.parser import repeat_session_options
from screens.common.connection import connect
from screens.common.errors import EXIT_FAILED, EXIT_OK, UsageError
from screens.common.reporting import report_aws_failure
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.health.trails import HealthReport

_MARK = {"pass": "✓", "fail": "✗", "not-applicable": "–", "unknown": "?"}
_VERDICT = {"healthy": "HEALTHY", "warning": "WARNING", "failing": "FAILING"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The trail (default: all) and the output format."""
    parser.description = (
        "For each trail (or TRAIL): is it logging, its latest deliveries and errors, whether "
        "its bucket, KMS key and CloudWatch Logs role still let CloudTrail deliver, and which "
        "CIS AWS Foundations / AWS Security Hub CloudTrail controls it passes. Changes "
        "nothing. Exit 0 healthy or warnings only, 1 a trail is failing (or the trails cannot "
        "be read), 2 invalid input."
    )
    parser.add_argument(
        "trail", metavar="TRAIL", nargs="?", help="trail name or ARN (default: all)"
    )
    parser.add_argument("--output", choices=("text", "json"), default="text")
    repeat_session_options(parser)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """The health of every trail, or of one."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.health.trails import TrailNotFound, check_health

    with connect(args, read_only=True) as conn:
        try:
            report = check_health(conn.session.caller, conn.session.region, trail=args.trail)
        except TrailNotFound as exc:
            raise UsageError(str(exc)) from None
        except AwsError as err:
            return report_aws_failure(err)
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


def write_report(report: HealthReport, out: TextIO) -> None:
    """The health report as text: per trail the verdict, reasons, controls and facts."""
    # Deferred for start-up time: pydantic models load only when this runs.
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
