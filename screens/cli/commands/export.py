"""``export``: the setup as an AWS CLI script, a CloudFormation template, a Terraform
configuration, or a StackSet for every account of some OUs.

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
* ``--format terraform`` writes a configuration for the AWS provider
  (:mod:`wizard.export.terraform`), offline in the same way (its ARNs name the provider's
  account).
* ``--format stackset`` writes a directory (``--output DIR``): the member accounts' template,
  the ``CreateStackSet`` / ``CreateStackInstances`` inputs and the central bucket and key
  statements for the organization (:mod:`wizard.export.stackset`); it needs the OUs
  (``--ou``) and the organization id.

Nothing here changes an account: the session is read-only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from screens.cli.parser import repeat_session_options
from screens.cli.stackset_options import add_deployment_options, deployment_options
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
        "offline) and its ARNs use the stack's own account, so it takes no --account. "
        "--format terraform: the same setup as a Terraform configuration for the AWS "
        "provider, offline too. --format stackset: a directory (--output DIR) with the member "
        "accounts' template, the StackSet's deployment settings for the OUs (--ou) and the "
        "central bucket and key statements for the organization (--organization-id). Exit 0 "
        "written, 1 AWS failure, 2 invalid input or blocked by an error finding."
    )
    parser.add_argument("answers", metavar="ANSWERS", help="answers file, YAML or JSON")
    parser.add_argument(
        "--format",
        choices=("cli", "cloudformation", "terraform", "stackset"),
        required=True,
        help="cli: bash script of AWS CLI commands; cloudformation: YAML template; terraform: "
        "HCL configuration; stackset: a directory for a service-managed StackSet",
    )
    parser.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write to FILE (default: standard output); --format stackset: the directory to "
        "write into (created when missing)",
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
        "cloudformation and terraform the default of the organization id parameter); for "
        "stackset the organization whose trails the central statements let write",
    )
    parser.add_argument(
        "--management-account",
        help="management account id of an organization trail, if not --account (--format cli "
        "with --offline only)",
    )
    add_deployment_options(parser, "StackSet deployment (--format stackset)")
    parser.add_argument(
        "--call-as",
        choices=("SELF", "DELEGATED_ADMIN"),
        default="SELF",
        help="--format stackset: SELF to deploy from the management account, DELEGATED_ADMIN "
        "from a delegated administrator for StackSets (default %(default)s)",
    )
    repeat_session_options(parser)


_WHERE_ARNS = {
    "cloudformation": (
        "the template's ARNs name the stack's own account and partition (${AWS::AccountId}, "
        "${AWS::Partition}), wherever it is deployed"
    ),
    "terraform": (
        "the configuration's ARNs name the provider's own account and partition "
        "(data.aws_caller_identity, data.aws_partition), wherever it is applied"
    ),
}


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Write the CLI script, the template, the configuration or the StackSet directory."""
    path, answers = load_one(args.answers)
    if args.format != "stackset":
        _refuse_stackset_options(args)
    if args.format in ("cloudformation", "terraform"):
        for option in ("account", "partition", "management_account"):
            if getattr(args, option):
                flag = "--" + option.replace("_", "-")
                raise UsageError(
                    f"{flag} is not used by --format {args.format}: "
                    f"{_WHERE_ARNS[args.format]}. Remove {flag}."
                )
        # --offline is accepted: both are always built from the answers alone.
        ctx = _offline_context(args, account=DEFAULT_ACCOUNT)
        if args.format == "cloudformation":
            # Deferred for start-up time: pydantic models load only when this runs.
            from wizard.export.cloudformation import cloudformation_template

            _write(cloudformation_template(answers, ctx), args, out, executable=False)
            _done(args, "CloudFormation template")
        else:
            # Deferred for start-up time: pydantic models load only when this runs.
            from wizard.export.terraform import terraform_configuration

            _write(terraform_configuration(answers, ctx), args, out, executable=False)
            _done(args, "Terraform configuration")
        return EXIT_OK
    if args.format == "stackset":
        return _export_stackset(args, answers)
    if args.offline:
        return _export_offline(args, path, answers, out)
    return _export_online(args, answers, out)


def _refuse_stackset_options(args: argparse.Namespace) -> None:
    """The StackSet options belong to --format stackset: elsewhere they would do nothing."""
    given = [
        flag
        for flag, value in (
            ("--ou", args.ous),
            ("--regions", args.regions),
            ("--stack-set-name", args.stack_set_name),
            ("--max-concurrent-percentage", args.max_concurrent_percentage != 25),
            ("--failure-tolerance-percentage", args.failure_tolerance_percentage != 0),
            ("--retain-stacks-on-removal", args.retain_stacks_on_removal),
            ("--call-as", args.call_as != "SELF"),
        )
        if value
    ]
    if given:
        raise UsageError(
            f"{given[0]} is for --format stackset (a StackSet's deployment settings); "
            f"--format {args.format} does not use it. Remove {given[0]}."
        )


def _export_stackset(args: argparse.Namespace, answers: Answers) -> int:
    """The StackSet directory: template, deployment settings, central statements, README."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.export.stackset import StackSetProblem, stack_set_files

    for option in ("account", "management_account"):
        if getattr(args, option):
            flag = "--" + option.replace("_", "-")
            raise UsageError(
                f"{flag} is not used by --format stackset: the member template's ARNs name "
                f"each member account (${{AWS::AccountId}}). Remove {flag}."
            )
    if not args.output:
        raise UsageError(
            "--format stackset writes several files (the member template, the deployment "
            "settings, the central statements, a README): name the directory with --output DIR."
        )
    if not args.organization_id:
        raise UsageError(
            "--format stackset needs the organization id: the central bucket and key "
            "statements let the trails of that organization write (aws:SourceOrgID). Pass "
            "--organization-id o-xxxxxxxxxx (`aws organizations describe-organization` shows it)."
        )
    ctx = _offline_context(args, account=DEFAULT_ACCOUNT)
    options = deployment_options(
        args, answers, organization_id=args.organization_id, call_as=args.call_as
    )
    try:
        files = stack_set_files(answers, ctx, options)
    except StackSetProblem as exc:
        raise UsageError(f"{args.answers}: {exc} Nothing was written.") from None
    directory = Path(args.output)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"Cannot write into {directory}: it exists and is not a directory.")
    if not directory.parent.is_dir():
        raise UsageError(
            f"Cannot write {directory}: the directory {directory.parent} does not exist."
        )
    try:
        directory.mkdir(exist_ok=True)
        for name, text in files.items():
            write_atomically(directory / name, text, executable=False)
    except OSError as exc:
        raise UsageError(f"Cannot write {directory}: {exc.strerror or exc}") from None
    print(
        f"Wrote the StackSet {options.name} for {', '.join(options.organizational_units)} to "
        f"{directory}: {', '.join(files)}. Start with README.md.",
        file=sys.stderr,
    )
    return EXIT_OK


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
