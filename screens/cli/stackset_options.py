"""The StackSet deployment options ``export --format stackset`` and ``onboard --engine
stacksets`` share: where (OUs, regions), how fast, under which name.

Both commands read them the same way into :class:`wizard.export.stackset.StackSetOptions`, so a
StackSet exported and one deployed by the wizard are the same StackSet.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from screens.common.errors import UsageError, validation_text

if TYPE_CHECKING:
    from wizard.export.stackset import StackSetOptions
    from wizard.model.answers import Answers


def percentage(low: int) -> type[int]:
    """An ``argparse`` type: a whole number from ``low`` to 100."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= 100:
            raise argparse.ArgumentTypeError(f"choose between {low} and 100")
        return value

    return parse  # type: ignore[return-value]


def add_deployment_options(parser: argparse.ArgumentParser, title: str) -> None:
    """``--ou``, ``--regions``, ``--stack-set-name`` and the operation preferences."""
    group = parser.add_argument_group(title)
    group.add_argument(
        "--ou",
        action="append",
        dest="ous",
        metavar="ID",
        help="an organizational unit (ou-xxxx-xxxxxxxx) or the root (r-xxxx) whose accounts "
        "get the trail, now and when they join it; repeat for more",
    )
    group.add_argument(
        "--regions",
        metavar="R1,R2",
        help="regions of the stack instances (default: the trail's home region; one for a "
        "multi-region trail)",
    )
    group.add_argument(
        "--stack-set-name", metavar="NAME", help="the StackSet's name (default cloudtrail-TRAIL)"
    )
    group.add_argument(
        "--max-concurrent-percentage",
        type=percentage(1),
        default=25,
        metavar="N",
        help="share of an OU's accounts deployed at once, per region (default %(default)s)",
    )
    group.add_argument(
        "--failure-tolerance-percentage",
        type=percentage(0),
        default=0,
        metavar="N",
        help="share of accounts that may fail before the operation stops (default "
        "%(default)s: the first failure stops it)",
    )
    group.add_argument(
        "--retain-stacks-on-removal",
        action="store_true",
        help="an account that leaves the OUs keeps its stack and trail (default: removed)",
    )


def regions_of(args: argparse.Namespace, answers: Answers) -> list[str]:
    """``--regions``, or the trail's home region."""
    if args.regions:
        return [r.strip() for r in str(args.regions).split(",") if r.strip()]
    session = (
        getattr(args, "region", None)
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    return [answers.home_region(session)]


def deployment_options(
    args: argparse.Namespace,
    answers: Answers,
    *,
    organization_id: str,
    call_as: str = "SELF",
    readers: Sequence[str] = (),
) -> StackSetOptions:
    """The options as :class:`~wizard.export.stackset.StackSetOptions`.

    Raises:
        UsageError: no ``--ou``, or a value that is not what it should be.
    """
    # Deferred for start-up time: pydantic models load only when this runs.
    from pydantic import ValidationError

    from wizard.export.stackset import StackSetOptions, default_stack_set_name
    from wizard.model.regions import check_region

    if not args.ous:
        raise UsageError(
            "A StackSet deploys to organizational units: name them with --ou ou-xxxx-xxxxxxxx "
            "(repeat --ou for more; the root r-xxxx means every account). `aws organizations "
            "list-organizational-units-for-parent --parent-id ROOT` lists them."
        )
    regions = regions_of(args, answers)
    for region in regions:
        problem = check_region(region)
        if problem:
            raise UsageError(f"--regions: {problem}")
    try:
        return StackSetOptions(
            organization_id=organization_id,
            organizational_units=list(args.ous),
            regions=regions,
            name=args.stack_set_name or default_stack_set_name(answers),
            retain_stacks_on_removal=bool(args.retain_stacks_on_removal),
            max_concurrent_percentage=args.max_concurrent_percentage,
            failure_tolerance_percentage=args.failure_tolerance_percentage,
            call_as=call_as,
            readers=list(readers),
        )
    except ValidationError as exc:
        raise UsageError(validation_text(exc).replace("organizational_units", "--ou")) from None
