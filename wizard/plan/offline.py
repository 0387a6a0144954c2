"""A plan built from the answers alone, without AWS (``export --format cli --offline``).

Discovery is replaced by facts the answers imply: what they create does not exist yet, what
they name exists as they describe it. The plan says so: :class:`OfflinePlan` carries the
notes for the script's header (what was assumed, statements to merge by hand) and the shell
guards that stop the script where an assumption turns out false.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

from wizard.account.discovery import (
    BucketFacts,
    Discovery,
    KeyFacts,
    LogsFacts,
    OrganizationFacts,
    TopicFacts,
)
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.model.names import classify_key_ref
from wizard.model.plan import Call, Plan, Step
from wizard.plan.planner import build_plan
from wizard.policy.merge import render_policy
from wizard.policy.policies import cloudwatch_role_trust_policy

DESCRIBE_KEY = "describe-key"
"""Id of the read-only step an offline plan adds to look up an existing key's ARN."""

UNCHECKED_FINDINGS = frozenset(
    {
        "bucket-policy-merge",
        "kms-policy-merge",
        "sns-policy-merge",
        "operator-permissions-unchecked",
    }
)
"""Findings about what could not be read offline: the script's header says it instead."""


@dataclass
class OfflinePlan:
    """A plan built without AWS, with what the script must say and check because of that."""

    plan: Plan
    """The plan."""
    notes: list[str] = field(default_factory=list)
    """Header lines: what was assumed, and statements to merge by hand."""
    guards: dict[str, list[str]] = field(default_factory=dict)
    """Shell lines run before a step (by step id) that stop the script when an assumption
    does not hold."""


@dataclass
class _Assumed:
    """The facts the answers imply, and the sentences that say what was assumed."""

    found: Discovery
    """Discovery as if it had found the answers true."""
    lines: list[str]
    """One sentence per assumption, for the header."""
    key_region: str
    """Where the existing key is looked up (the bucket's region unless its ARN says)."""


def offline_plan(answers: Answers, ctx: AccountContext) -> OfflinePlan:
    """Build the plan from the answers alone, as if discovery had found the answers true.

    Assumed: the trail name is free; the resources the answers create (bucket, key, topic,
    log group, role) do not exist; the existing ones do, in the trail's home region, and the
    existing bucket has no policy yet (a guard before that step stops the script if it has
    one). An existing key or topic always has a policy, which cannot be read offline, so the
    script does not change it: CloudTrail's statements are listed in the header to merge by
    hand, and the key's ARN is looked up by a first, read-only step.
    """
    names = Names(answers, ctx)
    assumed = _assume(answers, ctx, names)
    plan = build_plan(answers, ctx, assumed.found)
    plan, merge_notes = _leave_existing_policies(plan, answers)
    if assumed.found.key is not None:
        plan = plan.model_copy(
            update={"steps": [_describe_key_step(answers, assumed.key_region), *plan.steps]}
        )
    findings = [f for f in plan.findings if f.code not in UNCHECKED_FINDINGS]
    plan = plan.model_copy(update={"findings": findings})
    guards: dict[str, list[str]] = {}
    if any(s.id == "update-bucket-policy" for s in plan.steps):
        guards["update-bucket-policy"] = _bucket_policy_guard(answers.bucket.name, names)
    notes = [
        "GENERATED OFFLINE (--offline): nothing was read from AWS, so nothing was checked. The "
        "plan assumes that:",
        *[f"  - {line};" for line in assumed.lines[:-1]],
        f"  - {assumed.lines[-1]}.",
        "Run `cloudtrail-wizard export --format cli ANSWERS` with credentials instead to "
        "check all of this and to merge into existing policies.",
        *merge_notes,
    ]
    return OfflinePlan(plan=plan, notes=notes, guards=guards)


# ------------------------------------------------------------------------ assumed facts


def _assume(answers: Answers, ctx: AccountContext, names: Names) -> _Assumed:
    """Discovery as the answers describe the account, with a sentence per assumption."""
    lines: list[str] = [f"the trail name {answers.trail.name} is free in {names.home_region}"]
    bucket = _assume_bucket(answers, ctx, names, lines)
    key, key_region = _assume_key(answers, names, lines)
    found = Discovery(
        context=ctx,
        bucket=bucket,
        owned_buckets=[bucket.name] if not answers.bucket.create and bucket.owned else [],
        key=key,
        trails=[],
        topic=_assume_topic(answers, names, lines),
        logs=_assume_logs(answers, names, lines),
        organization=_assume_organization(answers, ctx, lines),
    )
    return _Assumed(found=found, lines=lines, key_region=key_region)


def _assume_bucket(
    answers: Answers, ctx: AccountContext, names: Names, lines: list[str]
) -> BucketFacts:
    b = answers.bucket
    if b.create:
        lines.append(f"no bucket named {b.name} exists yet (bucket names are global)")
        return BucketFacts(name=b.name, exists=False)
    owner = b.account or ctx.account_id
    lines.append(
        f"the existing bucket {b.name} is in {names.home_region}, belongs to account {owner}, "
        "blocks public access, is not Requester Pays, and has no bucket policy yet (checked "
        "before its policy is written)"
    )
    return BucketFacts(
        name=b.name,
        exists=True,
        owned=owner == ctx.account_id,
        region=names.home_region,
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


def _assume_key(answers: Answers, names: Names, lines: list[str]) -> tuple[KeyFacts | None, str]:
    key_region = names.bucket_region()
    ref = answers.encryption.existing_key
    if not ref:
        if answers.encryption.new_key:
            lines.append(f"no alias {names.key_alias()} exists yet")
            readers = sorted(set(answers.encryption.decrypt_principals))
            if readers:
                # Not looked up offline; KMS refuses the key policy if one is missing.
                lines.append(
                    "the users and roles in encryption.decrypt_principals exist ("
                    + ", ".join(readers)
                    + "); KMS refuses a key policy that names one that does not"
                )
        return None, key_region
    parsed = classify_key_ref(ref)
    if not isinstance(parsed, str) and parsed.region:
        key_region = parsed.region
    lines.append(
        f"the existing key {ref} is a customer managed, enabled, symmetric key in "
        f"{key_region} (step 1 looks up its ARN and stops the script if it does not exist)"
    )
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
    return key, key_region


def _assume_topic(answers: Answers, names: Names, lines: list[str]) -> TopicFacts | None:
    n = answers.notifications
    if not (n.sns_topic and names.topic_arn):
        return None
    if not n.topic_is_arn:
        lines.append(f"no SNS topic named {n.sns_topic} exists yet")
    return TopicFacts(arn=names.topic_arn, exists=n.topic_is_arn, policy=None)


def _assume_logs(answers: Answers, names: Names, lines: list[str]) -> LogsFacts | None:
    cw = answers.cloudwatch_logs
    if not (cw.enabled and cw.log_group):
        return None
    lines.append(f"no CloudWatch Logs group named {cw.log_group} exists yet")
    if cw.role_is_arn:
        lines.append(
            f"the existing role {cw.role} lets this trail assume it and may write to the log "
            "group (the wizard never changes an existing role)"
        )
    else:
        lines.append(f"no IAM role named {names.role_name} exists yet")
    return LogsFacts(
        log_group=cw.log_group,
        group_exists=False,
        role_name=names.role_name,
        role_exists=cw.role_is_arn,
        role_arn=cw.role if cw.role_is_arn else None,
        role_trust_policy=(
            render_policy(cloudwatch_role_trust_policy(names)) if cw.role_is_arn else None
        ),
    )


def _assume_organization(
    answers: Answers, ctx: AccountContext, lines: list[str]
) -> OrganizationFacts | None:
    if not answers.trail.organization:
        return None
    management = ctx.management_account_id or ctx.account_id
    lines.append(
        f"organization {ctx.organization_id} has all features and trusted access for "
        "CloudTrail, and this account may create organization trails"
    )
    return OrganizationFacts(
        in_organization=True,
        organization_id=ctx.organization_id,
        management_account_id=management,
        all_features=True,
        is_management_account=management == ctx.account_id,
        is_delegated_admin=management != ctx.account_id,
        trusted_access=True,
    )


# ------------------------------------------------------------------------ the script's plan


def _leave_existing_policies(plan: Plan, answers: Answers) -> tuple[Plan, list[str]]:
    """Drop the steps that would change an existing key's or topic's policy.

    Every existing key and topic has a policy, which cannot be read offline: the script
    leaves it alone, and the header lists CloudTrail's statements to merge by hand.
    """
    notes: list[str] = []
    dropped: set[str] = set()
    for step_id, what in (
        ("update-key-policy", f"the policy of key {answers.encryption.existing_key}"),
        ("update-topic-policy", f"the access policy of topic {answers.notifications.sns_topic}"),
    ):
        step = next((s for s in plan.steps if s.id == step_id), None)
        if step is None or step.policy is None:
            continue
        dropped.add(step_id)
        statements = json.loads(step.policy.after).get("Statement", [])
        notes += [
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
    return plan.model_copy(update={"steps": steps}), notes


def _describe_key_step(answers: Answers, key_region: str) -> Step:
    """The read-only first step that looks up the existing key's ARN (and stops if none)."""
    ref = answers.encryption.existing_key
    return Step(
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
    )


def _bucket_policy_guard(bucket: str, names: Names) -> list[str]:
    """Shell lines that stop the script when the existing bucket already has a policy."""
    region = names.home_region
    return [
        "# Offline plan: it assumed the bucket has no policy yet. Stop if it has one, so an",
        "# existing policy is never replaced (the wizard merges when it can read it).",
        f"if CURRENT_POLICY=$(aws s3api get-bucket-policy --region {region} --bucket "
        f"{bucket} --query Policy --output text 2>&1); then",
        "  echo "
        + shlex.quote(
            f"Bucket {bucket} already has a policy; this offline script would replace it. "
            "Run cloudtrail-wizard export --format cli ANSWERS with credentials (it merges), "
            "or merge bucket-policy.json into it by hand. Stopped."
        )
        + " >&2",
        "  exit 1",
        'elif [[ "$CURRENT_POLICY" != *NoSuchBucketPolicy* ]]; then',
        f'  echo "Could not read the policy of bucket {bucket}: $CURRENT_POLICY" >&2',
        "  exit 1",
        "fi",
    ]
