"""``status [TRAIL]``: the health of every trail of the account (or one).

For each trail: logging, deliveries, whether the bucket, key and CloudWatch Logs role still
let CloudTrail deliver, and the CIS / Security Hub CloudTrail controls
(:mod:`wizard.health.trails`). Exit 0 when no trail is failing (warnings included), 1 when
one is (or the trails cannot be listed), 2 for bad input such as an unknown trail. Only
reads (the session is read-only).

``status --fix TRAIL`` prints what would make TRAIL's failed controls pass: the answer changes
(:mod:`wizard.health.fixes`, each with an id that ``--skip`` leaves out), the steps to do by
hand, and then the plan of the trail's answers with those changes, as ``plan`` prints it (and
with ``plan``'s exit codes). ``--save FILE`` writes those answers for ``apply``.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from screens.cli.parser import repeat_session_options
from screens.common.connection import connect, engine_for
from screens.common.errors import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
    print_error,
    validation_text,
)
from screens.common.reporting import report_aws_failure
from wizard.model.safe_io import write_atomically
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.health.fixes import FixPlan, TrailFixes
    from wizard.health.trails import HealthReport
    from wizard.model.answers import Answers

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
    fixing = parser.add_argument_group(
        "fixing (--fix TRAIL: the changes that make its failed controls pass, then their plan)"
    )
    fixing.add_argument(
        "--fix",
        action="store_true",
        help="print the fixes of TRAIL's failed controls and the plan of its answers with "
        "them (read-only; exit codes as `plan`: 0 applicable, 2 blocked)",
    )
    fixing.add_argument(
        "--skip",
        metavar="ID",
        action="append",
        default=[],
        help="with --fix: leave out the fix with this id (repeatable)",
    )
    fixing.add_argument(
        "--save",
        metavar="FILE",
        help="with --fix: write the trail's answers with the fixes to FILE, for `apply`",
    )
    fixing.add_argument(
        "--force", action="store_true", help="with --save: replace FILE when it exists"
    )
    repeat_session_options(parser)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """The health of every trail, or of one; with ``--fix``, the fixes of one and their plan."""
    if args.fix:
        return _fix(args, out)
    for option in ("skip", "save", "force"):
        if getattr(args, option):
            raise UsageError(f"--{option} goes with --fix TRAIL.")
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


# ------------------------------------------------------------------ --fix


def _save_target(args: argparse.Namespace) -> Path | None:
    """Where ``--save`` writes (refused early when it cannot be)."""
    if not args.save:
        return None
    path = Path(args.save)
    if not path.parent.is_dir():
        raise UsageError(f"Cannot write {path}: the directory {path.parent} does not exist.")
    if path.exists() and path.is_file() and not args.force:
        raise UsageError(
            f"{path} exists already; nothing was written. Pass --force to replace it, or "
            "choose another file name."
        )
    return path


def _fix(args: argparse.Namespace, out: TextIO) -> int:
    """``status --fix TRAIL``: the fixes, then the plan of the answers with them."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from pydantic import ValidationError

    from wizard.account.adopt import AdoptError
    from wizard.export.text import plan_to_json, plan_to_text

    if not args.trail:
        raise UsageError(
            "--fix needs the trail to fix: cloudtrail-wizard status --fix TRAIL (a name or "
            "ARN; `cloudtrail-wizard status` lists them)."
        )
    target = _save_target(args)
    with connect(args, read_only=True) as conn:
        engine = engine_for(conn)
        try:
            found = _read_fixes(engine.caller, engine.ctx, args)
        except AdoptError as exc:
            if exc.code in ("denied", "unreadable"):
                print_error(f"error: {exc.message}\nNothing was changed.")
                return EXIT_FAILED
            raise UsageError(exc.message) from None
        except AwsError as err:
            return report_aws_failure(err)
        known = [c.id for c in found.fixes.choices]
        unknown = [s for s in args.skip if s not in known]
        if unknown:
            raise UsageError(
                f"--skip {unknown[0]}: {found.fixes.trail} has no fix by that id; its fixes "
                f"are {', '.join(known) or 'none'}."
            )
        chosen = [i for i in known if i not in args.skip]
        try:
            fixed = found.fixed(chosen)
        except ValidationError as exc:
            raise UsageError(
                "The fixes contradict the trail's answers:\n" + validation_text(exc)
            ) from None
        sandbox = conn.session.sandbox
        plan = None
        if chosen:
            try:
                plan, _found = engine.plan(fixed)
            except AwsError as err:
                return report_aws_failure(err)
    document: dict[str, Any] = _fixes_json(found, chosen)
    if args.output == "json":
        document["plan"] = plan_to_json(plan) if plan is not None else None
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        _write_fixes(found, chosen, out)
        if plan is not None:
            out.write("\n" + plan_to_text(plan))
    if target is not None:
        _save(fixed, found, target, chosen, sandbox=sandbox)
    return EXIT_INVALID if plan is not None and plan.blocked else EXIT_OK


def _read_fixes(caller: Any, ctx: Any, args: argparse.Namespace) -> TrailFixes:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.health.fixes import read_fixes

    return read_fixes(caller, ctx, args.trail, strict_region=bool(args.region))


def _fixes_json(found: TrailFixes, chosen: list[str]) -> dict[str, Any]:
    fixes = found.fixes
    return {
        "trail": fixes.trail,
        "trail_arn": found.adopted.trail_arn,
        "home_region": found.adopted.home_region,
        "fixes": [{**c.model_dump(mode="json"), "chosen": c.id in chosen} for c in fixes.choices],
        "manual": [m.model_dump(mode="json") for m in fixes.manual],
        "notes": [*fixes.notes, *found.adopted.notes],
    }


def _write_fixes(found: TrailFixes, chosen: list[str], out: TextIO) -> None:
    """The fixes as text: each change with its id, why and detail; then the manual steps."""
    fixes: FixPlan = found.fixes
    where = f"{fixes.trail} ({found.adopted.home_region})"
    if fixes.empty:
        out.write(f"{where}: every control that could be checked passes; nothing to fix.\n")
    elif fixes.choices:
        count = len(chosen)
        out.write(
            f"Fixes for {where}: {count} change{'s' if count != 1 else ''} to its answers"
            f"{' (the others left out with --skip)' if count < len(fixes.choices) else ''}.\n"
        )
        for choice in fixes.choices:
            mark = "+" if choice.id in chosen else "-"
            skipped = "" if choice.id in chosen else "  (left out)"
            out.write(_wrap(f"[{choice.id}] {choice.change}{skipped}", f"  {mark} ") + "\n")
            out.write(_wrap(choice.passes() + ".", "      ") + "\n")
            out.write(_wrap(choice.detail, "      ") + "\n")
    if fixes.manual:
        out.write("To do by hand (the answers cannot change these):\n")
        for manual in fixes.manual:
            out.write(
                _wrap(f"{manual.label} ({manual.title}), failed now: {manual.why}.", "  ✗ ") + "\n"
            )
            out.write(_wrap(manual.how, "      ") + "\n")
    for note in [*fixes.notes, *found.adopted.notes]:
        out.write(_wrap(note, "  note: ") + "\n")
    if fixes.choices:
        out.write(
            "Leave a fix out with --skip ID; --save FILE writes these answers for "
            "`cloudtrail-wizard apply FILE`.\n"
        )


def _save(
    fixed: Answers, found: TrailFixes, target: Path, chosen: list[str], *, sandbox: bool
) -> None:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.account.adopt import adopted_text

    adopted = found.adopted.model_copy(update={"answers": fixed})
    changes = [c.change for c in found.fixes.choices if c.id in chosen]
    text = adopted_text(adopted, sandbox=sandbox, changes=changes)
    try:
        write_atomically(target, text)
    except OSError as exc:
        raise UsageError(f"Cannot write {target}: {exc.strerror or exc}") from None
    print(f"Wrote the answers with the fixes to {target}.", file=sys.stderr)
