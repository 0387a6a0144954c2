"""``export``: the setup as an AWS CLI script or a CloudFormation template.

* ``--format cli`` writes the plan as a commented bash script of AWS CLI commands
  (:func:`wizard.export.text.plan_to_cli`). The plan needs discovery, so by default a session
  is opened like ``plan`` does (``--sandbox``, ``--profile``, ``--region``). With
  ``--offline --account ID`` the plan is built from the answers alone (see
  :func:`wizard.plan.offline.offline_plan` for what is assumed; the script's header says it).
* ``--format cloudformation`` writes a template (:mod:`wizard.export.cloudformation`); it
  never needs AWS, so it is always offline (``--offline`` is accepted and changes nothing).
  Its ARNs name the stack's own partition and account (``${AWS::Partition}``,
  ``${AWS::AccountId}``), so ``--account``, ``--partition`` and ``--management-account``
  are refused there instead of being silently ignored; ``--organization-id`` gives the
  ``OrganizationId`` parameter its default.

Nothing here changes an account: the session is read-only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from screens.cli.parser import repeat_session_options
from screens.common.answers import load_one
from screens.common.connection import connect, engine_for
from screens.common.errors import EXIT_INVALID, EXIT_OK, UsageError, validation_text
from screens.common.reporting import report_aws_failure
from wizard.model.safe_io import write_atomically
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.model.answers import Answers
    from wizard.model.context import AccountContext
    from wizard.model.plan import Plan

DEFAULT_ACCOUNT = "123456789012"
"""Account of the context ``--format cloudformation`` builds names with; the template never
shows it (its ARNs use the stack's ``${AWS::AccountId}``)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The answers file, the format, where to write, and the offline account."""
    parser.description = (
        "Export the setup for ANSWERS. --format cli: the plan as a commented bash script of "
        "AWS CLI commands (looks at the account like `plan`, read-only; or --offline "
        "--account ID to build it from the answers alone). --format cloudformation: a "
        "CloudFormation template with every name as a parameter; it never needs AWS (always "
        "offline) and its ARNs use the stack's own account, so it takes no --account. Exit 0 "
        "written, 1 AWS failure, 2 invalid input or blocked by an error finding."
    )
    parser.add_argument("answers", metavar="ANSWERS", help="answers file, YAML or JSON")
    parser.add_argument(
        "--format",
        choices=("cli", "cloudformation"),
        required=True,
        help="cli: bash script of AWS CLI commands; cloudformation: YAML template",
    )
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (default: standard output)"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="cli: build the plan from the answers alone, without looking at the account "
        "(needs --account); cloudformation: always offline, accepted",
    )
    parser.add_argument(
        "--account", help="the account the script is for (--format cli with --offline only)"
    )
    parser.add_argument(
        "--partition",
        help="ARN partition, --format cli with --offline only (default aws)",
    )
    parser.add_argument(
        "--organization-id",
        help="organization id (o-...) of an organization trail (with --offline; for "
        "cloudformation the default of the OrganizationId parameter)",
    )
    parser.add_argument(
        "--management-account",
        help="management account id of an organization trail, if not --account (--format cli "
        "with --offline only)",
    )
    repeat_session_options(parser)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Write the CLI script or the CloudFormation template."""
    path, answers = load_one(args.answers)
    if args.format == "cloudformation":
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.export.cloudformation import cloudformation_template

        for option in ("account", "partition", "management_account"):
            if getattr(args, option):
                flag = "--" + option.replace("_", "-")
                raise UsageError(
                    f"{flag} is not used by --format cloudformation: the template's ARNs name "
                    "the stack's own account and partition (${AWS::AccountId}, "
                    f"${{AWS::Partition}}), wherever it is deployed. Remove {flag}."
                )
        # --offline is accepted: a template is always built from the answers alone.
        ctx = _offline_context(args, account=DEFAULT_ACCOUNT)
        _write(cloudformation_template(answers, ctx), args, out, executable=False)
        _done(args, "CloudFormation template")
        return EXIT_OK
    if args.offline:
        return _export_offline(args, path, answers, out)
    return _export_online(args, answers, out)


def _offline_context(args: argparse.Namespace, *, account: str) -> AccountContext:
    # Deferred for start-up time: pydantic models load only when this runs.
    from pydantic import ValidationError

    from wizard.model.context import AccountContext

    region = (
        getattr(args, "region", None)
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    try:
        return AccountContext(
            account_id=account,
            partition=args.partition or "aws",
            region=region,
            organization_id=args.organization_id,
            management_account_id=args.management_account,
        )
    except ValidationError as exc:
        raise UsageError(validation_text(exc)) from None


def _write(text: str, args: argparse.Namespace, out: TextIO, *, executable: bool) -> None:
    if not args.output:
        out.write(text)
        return
    path = Path(args.output)
    if not path.parent.is_dir():
        raise UsageError(f"Cannot write {path}: the directory {path.parent} does not exist.")
    # Output already printed must come first when --output is /dev/stdout.
    out.flush()
    try:
        write_atomically(path, text, executable=executable)
    except OSError as exc:
        raise UsageError(f"Cannot write {path}: {exc.strerror or exc}") from None


def _blocked(plan: Plan) -> int:
    print("error: the plan is blocked by these findings:", file=sys.stderr)
    for finding in plan.findings:
        if finding.severity == "error":
            print(f"  [{finding.code}] {finding.message}", file=sys.stderr)
    print("Nothing was written. Fix them and export again.", file=sys.stderr)
    return EXIT_INVALID


def _done(args: argparse.Namespace, what: str) -> None:
    if args.output:
        print(f"Wrote {what} to {args.output}.", file=sys.stderr)


def _export_offline(args: argparse.Namespace, path: str, answers: Answers, out: TextIO) -> int:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.export.text import plan_to_cli
    from wizard.plan.offline import offline_plan

    if getattr(args, "sandbox", False):
        raise UsageError("--offline and --sandbox contradict each other; use one of them.")
    if not args.account:
        raise UsageError(
            "--offline needs the account the script is for: pass --account 123456789012 "
            "(the script refuses to run with credentials of another account)."
        )
    ctx = _offline_context(args, account=args.account)
    if answers.trail.organization and ctx.organization_id is None:
        raise UsageError(
            f"{path}: trail.organization is true, so the bucket policy needs the organization "
            "id: pass --organization-id o-xxxxxxxxxx."
        )
    built = offline_plan(answers, ctx)
    if built.plan.blocked:
        return _blocked(built.plan)
    text = plan_to_cli(built.plan, notes=built.notes, guards=built.guards)
    _write(text, args, out, executable=True)
    _done(args, f"AWS CLI script ({len(built.plan.steps)} steps, offline)")
    return EXIT_OK


def _export_online(args: argparse.Namespace, answers: Answers, out: TextIO) -> int:
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.export.text import plan_to_cli

    for option in ("account", "partition", "organization_id", "management_account"):
        if getattr(args, option):
            flag = "--" + option.replace("_", "-")
            raise UsageError(
                f"{flag} is for --offline; with a session the account is read from AWS."
            )
    with connect(args, read_only=True) as conn:
        try:
            engine = engine_for(conn)
            plan, _found = engine.plan(answers)
        except AwsError as err:
            return report_aws_failure(err)
    if plan.blocked:
        return _blocked(plan)
    _write(plan_to_cli(plan), args, out, executable=True)
    _done(args, f"AWS CLI script ({len(plan.steps)} steps)")
    return EXIT_OK
