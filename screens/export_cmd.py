"""The ``export`` command: the setup as an AWS CLI script or a CloudFormation template.

* ``--format cli`` writes the plan as a commented bash script of AWS CLI commands
  (:func:`wizard.export.text.plan_to_cli`). The plan needs discovery, so by default a session
  is opened like ``plan`` does (``--sandbox``, ``--profile``, ``--region``). With
  ``--offline --account ID`` the plan is built from the answers alone (see
  :func:`wizard.plan.offline.offline_plan` for what is assumed; the script's header says it).
* ``--format cloudformation`` writes a template (:mod:`wizard.export.cloudformation`); it never
needs AWS.

Nothing here changes an account: the session is read-only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from screens.cli import _EXTRA_COMMANDS, EXIT_INVALID, EXIT_OK, UsageError, _load_all
from wizard.plan.offline import offline_plan

DEFAULT_ACCOUNT = "123456789012"
"""Account of the context ``--format cloudformation`` builds names with when ``--account`` is
not given; the template never shows it (its ARNs use the stack's ``${AWS::AccountId}``)."""


def register(sub: Any) -> None:
    """Add the ``export`` command to the command-line parser."""
    p = sub.add_parser(
        "export",
        help="write the setup as an AWS CLI script or a CloudFormation template",
        description="Export the setup for ANSWERS. --format cli: the plan as a commented bash "
        "script of AWS CLI commands (looks at the account like `plan`, read-only; or --offline "
        "--account ID to build it from the answers alone). --format cloudformation: a "
        "CloudFormation template with every name as a parameter (never needs AWS). Exit 0 "
        "written, 1 AWS failure, 2 invalid input or blocked by an error finding.",
    )
    p.add_argument("answers", metavar="ANSWERS", help="answers file, YAML or JSON")
    p.add_argument(
        "--format",
        choices=("cli", "cloudformation"),
        required=True,
        help="cli: bash script of AWS CLI commands; cloudformation: YAML template",
    )
    p.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (default: standard output)"
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="cli: build the plan from the answers alone, without looking at the account "
        "(needs --account)",
    )
    p.add_argument("--account", help="the account the script is for (with --offline)")
    p.add_argument(
        "--partition", default="aws", help="ARN partition, with --offline (default %(default)s)"
    )
    p.add_argument(
        "--organization-id",
        help="organization id (o-...) of an organization trail (with --offline; for "
        "cloudformation the default of the OrganizationId parameter)",
    )
    p.add_argument(
        "--management-account",
        help="management account id of an organization trail, if not --account (with --offline)",
    )
    # The session options are global (before the command) like for `plan`; they are accepted
    # after the command too. SUPPRESS keeps a global value when they are not repeated here.
    p.add_argument("--profile", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--region", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument(
        "--sandbox", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    p.set_defaults(handler=cmd_export)


_EXTRA_COMMANDS.append(register)


# --------------------------------------------------------------------------- command


def _offline_context(args: argparse.Namespace, answers: Any, *, account: str) -> Any:
    from pydantic import ValidationError

    from screens.cli import _validation_text
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
            partition=args.partition,
            region=region,
            organization_id=args.organization_id,
            management_account_id=args.management_account,
        )
    except ValidationError as exc:
        raise UsageError(_validation_text(exc)) from None


def _write(text: str, args: argparse.Namespace, out: TextIO, *, executable: bool) -> None:
    if not args.output:
        out.write(text)
        return
    from wizard.model.safe_io import write_atomically

    path = Path(args.output)
    if not path.parent.is_dir():
        raise UsageError(f"Cannot write {path}: the directory {path.parent} does not exist.")
    # Output already printed must come first when --output is /dev/stdout.
    out.flush()
    try:
        write_atomically(path, text, executable=executable)
    except OSError as exc:
        raise UsageError(f"Cannot write {path}: {exc.strerror or exc}") from None


def _blocked(plan: Any) -> int:
    print("error: the plan is blocked by these findings:", file=sys.stderr)
    for finding in plan.findings:
        if finding.severity == "error":
            print(f"  [{finding.code}] {finding.message}", file=sys.stderr)
    print("Nothing was written. Fix them and export again.", file=sys.stderr)
    return EXIT_INVALID


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    """``export``: write the CLI script or the CloudFormation template."""
    ((path, answers),) = _load_all([args.answers])
    if args.format == "cloudformation":
        from wizard.export.cloudformation import cloudformation_template

        if args.offline:
            raise UsageError(
                "--offline is for --format cli; a CloudFormation template never needs AWS."
            )
        ctx = _offline_context(args, answers, account=args.account or DEFAULT_ACCOUNT)
        _write(cloudformation_template(answers, ctx), args, out, executable=False)
        _done(args, "CloudFormation template")
        return EXIT_OK
    if args.offline:
        return _export_offline(args, path, answers, out)
    return _export_online(args, answers, out)


def _done(args: argparse.Namespace, what: str) -> None:
    if args.output:
        print(f"Wrote {what} to {args.output}.", file=sys.stderr)


def _export_offline(args: argparse.Namespace, path: str, answers: Any, out: TextIO) -> int:
    from wizard.export.text import plan_to_cli

    if getattr(args, "sandbox", False):
        raise UsageError("--offline and --sandbox contradict each other; use one of them.")
    if not args.account:
        raise UsageError(
            "--offline needs the account the script is for: pass --account 123456789012 "
            "(the script refuses to run with credentials of another account)."
        )
    ctx = _offline_context(args, answers, account=args.account)
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


def _export_online(args: argparse.Namespace, answers: Any, out: TextIO) -> int:
    from screens.commands import _aws_failure, _engine_for, connect
    from wizard.export.text import plan_to_cli
    from wizard.ports import AwsError

    for option in ("account", "organization_id", "management_account"):
        if getattr(args, option):
            flag = "--" + option.replace("_", "-")
            raise UsageError(
                f"{flag} is for --offline; with a session the account is read from AWS."
            )
    with connect(args, read_only=True) as conn:
        try:
            engine = _engine_for(conn)
            plan, _found = engine.plan(answers)
        except AwsError as err:
            return _aws_failure(err)
    if plan.blocked:
        return _blocked(plan)
    _write(plan_to_cli(plan), args, out, executable=True)
    _done(args, f"AWS CLI script ({len(plan.steps)} steps)")
    return EXIT_OK
