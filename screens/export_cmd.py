"""The ``export`` command: the setup as an AWS CLI script or a CloudFormation template.

* ``--format cli`` writes the plan as a commented bash script of AWS CLI commands
  (:func:`wizard.export.text.plan_to_cli`). The plan needs discovery, so by default a session
  is opened like ``plan`` does (``--sandbox``, ``--profile``, ``--region``). With
  ``--offline --account ID`` the plan is built from the answers alone (see
  :func:`offline_plan` for what is assumed; the script's header says it).
* ``--format cloudformation`` writes a template (:mod:`wizard.export.cloudformation`); it never
needs AWS.

Nothing here changes an account: the session is read-only.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from screens.cli import _EXTRA_COMMANDS, EXIT_INVALID, EXIT_OK, UsageError, _load_all

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


# --------------------------------------------------------------------------- offline plan


@dataclass
class OfflinePlan:
    """A plan built without AWS, with what the script must say and check because of that."""

    plan: Any
    """The :class:`wizard.model.plan.Plan`."""
    notes: list[str] = field(default_factory=list)
    """Header lines: what was assumed, and statements to merge by hand."""
    guards: dict[str, list[str]] = field(default_factory=dict)
    """Shell lines run before a step (by step id) that stop the script when an assumption
    does not hold."""


DESCRIBE_KEY = "describe-key"
"""Id of the read-only step an offline plan adds to look up an existing key's ARN."""


def offline_plan(answers: Any, ctx: Any) -> OfflinePlan:
    """Build the plan from the answers alone, as if discovery had found the answers true.

    Assumed: the trail name is free; the resources the answers create (bucket, key, topic,
    log group, role) do not exist; the existing ones do, in the trail's home region, and the
    existing bucket has no policy yet (a guard before that step stops the script if it has
    one). An existing key or topic always has a policy, which cannot be read offline, so the
    script does not change it: CloudTrail's statements are listed in the header to merge by
    hand, and the key's ARN is looked up by a first, read-only step.
    """
    from wizard.account.discovery import (
        BucketFacts,
        Discovery,
        KeyFacts,
        LogsFacts,
        OrganizationFacts,
        TopicFacts,
    )
    from wizard.model.context import Names
    from wizard.model.names import classify_key_ref
    from wizard.model.plan import Call, Step
    from wizard.plan.planner import build_plan
    from wizard.policy.merge import render_policy
    from wizard.policy.policies import cloudwatch_role_trust_policy

    names = Names(answers, ctx)
    home = names.home_region
    assumed: list[str] = [f"the trail name {answers.trail.name} is free in {home}"]
    b = answers.bucket
    if b.create:
        bucket = BucketFacts(name=b.name, exists=False)
        assumed.append(f"no bucket named {b.name} exists yet (bucket names are global)")
    else:
        owner = b.account or ctx.account_id
        bucket = BucketFacts(
            name=b.name,
            exists=True,
            owned=owner == ctx.account_id,
            region=home,
            policy=None,
            policy_readable=owner == ctx.account_id,
            requester_pays=False,
            public_access_block=dict.fromkeys(
                (
                    "BlockPublicAcls",
                    "IgnorePublicAcls",
                    "BlockPublicPolicy",
                    "RestrictPublicBuckets",
                ),
                True,
            ),
        )
        assumed.append(
            f"the existing bucket {b.name} is in {home}, belongs to account {owner}, blocks "
            "public access, is not Requester Pays, and has no bucket policy yet (checked "
            "before its policy is written)"
        )
    key = None
    key_region = names.bucket_region()
    ref = answers.encryption.existing_key
    if ref:
        parsed = classify_key_ref(ref)
        if not isinstance(parsed, str) and parsed.region:
            key_region = parsed.region
        key = KeyFacts(
            ref=ref,
            found=True,
            arn=f"${{{DESCRIBE_KEY}:KeyMetadata.Arn}}",
            region=key_region,
            looked_in=names.bucket_region(),
            state="Enabled",
            spec="SYMMETRIC_DEFAULT",
            usage="ENCRYPT_DECRYPT",
            manager="CUSTOMER",
            policy=None,
        )
        assumed.append(
            f"the existing key {ref} is a customer managed, enabled, symmetric key in "
            f"{key_region} (step 1 looks up its ARN and stops the script if it does not exist)"
        )
    elif answers.encryption.new_key:
        assumed.append(f"no alias {names.key_alias()} exists yet")
    topic = None
    n = answers.notifications
    if n.sns_topic and names.topic_arn:
        topic = TopicFacts(arn=names.topic_arn, exists=n.topic_is_arn, policy=None)
        if not n.topic_is_arn:
            assumed.append(f"no SNS topic named {n.sns_topic} exists yet")
    logs = None
    cw = answers.cloudwatch_logs
    if cw.enabled and cw.log_group:
        logs = LogsFacts(
            log_group=cw.log_group,
            group_exists=False,
            role_name=names.role_name,
            role_exists=cw.role_is_arn,
            role_arn=cw.role if cw.role_is_arn else None,
            role_trust_policy=(
                render_policy(cloudwatch_role_trust_policy(names)) if cw.role_is_arn else None
            ),
        )
        assumed.append(f"no CloudWatch Logs group named {cw.log_group} exists yet")
        if cw.role_is_arn:
            assumed.append(
                f"the existing role {cw.role} lets this trail assume it and may write to the log "
                "group (the wizard never changes an existing role)"
            )
        else:
            assumed.append(f"no IAM role named {names.role_name} exists yet")
    organization = None
    if answers.trail.organization:
        management = ctx.management_account_id or ctx.account_id
        organization = OrganizationFacts(
            in_organization=True,
            organization_id=ctx.organization_id,
            management_account_id=management,
            all_features=True,
            is_management_account=management == ctx.account_id,
            is_delegated_admin=management != ctx.account_id,
            trusted_access=True,
        )
        assumed.append(
            f"organization {ctx.organization_id} has all features and trusted access for "
            "CloudTrail, and this account may create organization trails"
        )
    found = Discovery(
        context=ctx,
        bucket=bucket,
        owned_buckets=[b.name] if not b.create and bucket.owned else [],
        key=key,
        trails=[],
        topic=topic,
        logs=logs,
        organization=organization,
    )
    plan = build_plan(answers, ctx, found)

    merge_notes: list[str] = []
    dropped: set[str] = set()
    for step_id, what in (
        ("update-key-policy", f"the policy of key {ref}"),
        ("update-topic-policy", f"the access policy of topic {n.sns_topic}"),
    ):
        step = next((s for s in plan.steps if s.id == step_id), None)
        if step is None or step.policy is None:
            continue
        dropped.add(step_id)
        statements = json.loads(step.policy.after).get("Statement", [])
        merge_notes += [
            "",
            f"MERGE BY HAND: this script does not change {what} (every one has a policy, and "
            "it could not be read offline). Make sure it contains these statements, keeping "
            "every statement already there:",
            *json.dumps(statements, indent=2).split("\n"),
        ]
    steps = [
        s.model_copy(update={"depends_on": [d for d in s.depends_on if d not in dropped]})
        for s in plan.steps
        if s.id not in dropped
    ]
    if key is not None:
        steps.insert(
            0,
            Step(
                id=DESCRIBE_KEY,
                call=Call(
                    service="kms",
                    region=key_region,
                    operation="DescribeKey",
                    params={"KeyId": ref},
                ),
                summary=f"Look up the ARN of the existing key {ref} (stops here if it does not "
                f"exist in {key_region})",
                chain="key",
                mutating=False,
            ),
        )
    skipped_codes = {
        "bucket-policy-merge",
        "kms-policy-merge",
        "sns-policy-merge",
        "operator-permissions-unchecked",
    }
    findings = [f for f in plan.findings if f.code not in skipped_codes]
    plan = plan.model_copy(update={"steps": steps, "findings": findings})

    guards: dict[str, list[str]] = {}
    if any(s.id == "update-bucket-policy" for s in steps):
        region = home
        guards["update-bucket-policy"] = [
            "# Offline plan: it assumed the bucket has no policy yet. Stop if it has one, so an",
            "# existing policy is never replaced (the wizard merges when it can read it).",
            f"if CURRENT_POLICY=$(aws s3api get-bucket-policy --region {region} --bucket "
            f"{b.name} --query Policy --output text 2>&1); then",
            "  echo "
            + shlex.quote(
                f"Bucket {b.name} already has a policy; this offline script would replace it. "
                "Run cloudtrail-wizard export --format cli ANSWERS with credentials (it merges), "
                "or merge bucket-policy.json into it by hand. Stopped."
            )
            + " >&2",
            "  exit 1",
            'elif [[ "$CURRENT_POLICY" != *NoSuchBucketPolicy* ]]; then',
            f'  echo "Could not read the policy of bucket {b.name}: $CURRENT_POLICY" >&2',
            "  exit 1",
            "fi",
        ]
    notes = [
        "GENERATED OFFLINE (--offline): nothing was read from AWS, so nothing was checked. The "
        "plan assumes that:",
        *[f"  - {line};" for line in assumed[:-1]],
        f"  - {assumed[-1]}.",
        "Run `cloudtrail-wizard export --format cli ANSWERS` with credentials instead to "
        "check all of this and to merge into existing policies.",
        *merge_notes,
    ]
    return OfflinePlan(plan=plan, notes=notes, guards=guards)


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
