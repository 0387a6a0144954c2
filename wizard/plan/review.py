"""Policy review: what CloudTrail needs, what each policy grants now, and the merge that fixes it.

For every resource policy CloudTrail depends on (bucket, key, topic, role trust), this module
builds the requests CloudTrail will make, asks the access checker whether the current policy
allows them, and, where it does not, merges the required statements in (never replacing
anything) and checks the merged policy again, so a Deny that would still block CloudTrail is
found before anything changes.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from wizard.account.discovery import Discovery
from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext, Names
from wizard.policy.access import (
    AccessResult,
    Decision,
    PolicyFormatError,
    Principal,
    Request,
    evaluate,
)
from wizard.policy.merge import MergeResult, PolicyError, merge, parse_policy, render_policy
from wizard.policy.policies import (
    CLOUDTRAIL,
    S3_LOGGING,
    access_log_bucket_policy,
    access_log_statement,
    access_log_target_arn,
    bucket_cloudtrail_statements,
    bucket_policy,
    central_bucket_required,
    central_key_required,
    cloudwatch_role_policy,
    cloudwatch_role_trust_policy,
    encrypts_log_group,
    encrypts_topic,
    key_cloudtrail_statements,
    key_policy,
    log_group_key_context,
    logs_service,
    topic_cloudtrail_statement,
    topic_policy,
)

PolicyKind = Literal[
    "bucket", "key", "topic", "role-trust", "role-permissions", "access-log-bucket"
]


class Probe(WizardModel):
    """One request CloudTrail makes, and what the policy decides for it."""

    label: str
    """What CloudTrail does (``write log files``)."""
    request: Request
    """The request as the access checker sees it."""
    before: AccessResult | None = None
    """Decision under the current policy (None for a new resource)."""
    after: AccessResult | None = None
    """Decision under the policy the wizard would write."""


class PolicyReview(WizardModel):
    """The review of one policy."""

    kind: PolicyKind
    """Which policy."""
    resource: str
    """ARN of the resource the policy belongs to."""
    new_resource: bool
    """True when the wizard creates the resource (the policy is wholly generated)."""
    before: str | None = None
    """The current text, None when there is none."""
    required: dict[str, Any]
    """The statements CloudTrail needs, as a policy document."""
    merged: MergeResult | None = None
    """The merge of ``required`` into ``before`` (existing resources)."""
    document: str
    """The text the wizard would write (whole policy)."""
    probes: list[Probe] = Field(default_factory=list)
    """CloudTrail's requests and their decisions."""
    error: str | None = None
    """Why the current policy cannot be used (malformed, unreadable)."""
    readable: bool = True
    """False when the current policy could not be read."""

    @property
    def needs_change(self) -> bool:
        """True when the wizard must write this policy."""
        if self.new_resource:
            return True
        return self.merged is not None and self.merged.changed

    @property
    def allowed_before(self) -> bool:
        """CloudTrail is already allowed everything it needs."""
        return all(p.before is not None and p.before.allowed for p in self.probes)

    @property
    def allowed_after(self) -> bool:
        """CloudTrail would be allowed everything it needs after the change."""
        return all(p.after is not None and p.after.allowed for p in self.probes)

    def blocking_after(self) -> list[Probe]:
        """Probes still refused after the change (explicit deny or undecided)."""
        return [p for p in self.probes if p.after is None or not p.after.allowed]


def _service_request(action: str, resource: str, context: dict[str, Any]) -> Request:
    return Request(
        principal=Principal(kind="service", id=CLOUDTRAIL),
        action=action,
        resource=resource,
        context=context,
    )


def bucket_probes(names: Names, organization_id: str | None) -> list[Probe]:
    """The requests CloudTrail makes against the log bucket."""
    base = {
        "aws:SourceArn": names.trail_arn,
        "aws:SourceAccount": names.trail_owner,
        "aws:SecureTransport": True,
    }
    sample = f"CloudTrail/{names.home_region}/2026/01/01/x.json.gz"
    probes = [
        Probe(
            label="check the bucket ACL (s3:GetBucketAcl)",
            request=_service_request("s3:GetBucketAcl", names.bucket_arn, dict(base)),
        ),
        Probe(
            label="write log files (s3:PutObject)",
            request=_service_request(
                "s3:PutObject",
                f"{names.bucket_arn}/{names.prefix_path}AWSLogs/{names.trail_owner}/{sample}",
                {**base, "s3:x-amz-acl": "bucket-owner-full-control"},
            ),
        ),
    ]
    if names.answers.trail.organization and organization_id:
        probes.append(
            Probe(
                label="write member accounts' log files (s3:PutObject, organization path)",
                request=_service_request(
                    "s3:PutObject",
                    f"{names.bucket_arn}/{names.prefix_path}AWSLogs/{organization_id}/"
                    f"111122223333/{sample}",
                    {**base, "s3:x-amz-acl": "bucket-owner-full-control"},
                ),
            )
        )
    return probes


def access_log_probes(names: Names) -> list[Probe]:
    """The request S3 log delivery makes against the access log bucket."""
    target = names.answers.bucket.access_logs
    target_arn = access_log_target_arn(names)
    assert target is not None and target_arn is not None, "access logging is off"
    return [
        Probe(
            label="deliver server access logs (s3:PutObject)",
            request=Request(
                principal=Principal(kind="service", id=S3_LOGGING),
                action="s3:PutObject",
                resource=f"{target_arn}/{target.prefix}2026-01-01-00-00-00-0123456789ABCDEF",
                context={
                    "aws:SourceArn": names.bucket_arn,
                    "aws:SourceAccount": names.account,
                    "aws:SecureTransport": True,
                },
            ),
        )
    ]


def key_probes(
    names: Names,
    key_arn: str,
    *,
    decrypt: bool,
    topic_arn: str | None = None,
    log_group_arn: str | None = None,
) -> list[Probe]:
    """The requests CloudTrail makes against the KMS key (and SNS for it, when the key
    encrypts the topic CloudTrail publishes to; and CloudWatch Logs, when it encrypts the
    log group CloudTrail delivers to).

    Args:
        names: Derived names.
        key_arn: The key.
        decrypt: Also CloudTrail's decrypt (the bucket's S3 Bucket Key uses this key).
        topic_arn: The topic the key encrypts, if any.
        log_group_arn: The log group the key encrypts, if any, as CloudWatch Logs names it
            in the encryption context (without ``:*``,
            :func:`wizard.policy.policies.log_group_key_context`).
    """
    base = {"aws:SourceArn": names.trail_arn, "aws:SourceAccount": names.trail_owner}
    context = {
        **base,
        "kms:EncryptionContext:aws:cloudtrail:arn": names.trail_arn,
        "kms:EncryptionContext:aws:s3:arn": (
            f"{names.bucket_arn}/{names.prefix_path}AWSLogs/{names.trail_owner}/"
        ),
    }
    probes = [
        Probe(
            label="encrypt log files (kms:GenerateDataKey)",
            request=_service_request("kms:GenerateDataKey", key_arn, context),
        ),
        Probe(
            label="describe the key (kms:DescribeKey)",
            request=_service_request("kms:DescribeKey", key_arn, dict(base)),
        ),
    ]
    if decrypt:
        probes.append(
            Probe(
                label="use the bucket's S3 Bucket Key (kms:Decrypt)",
                request=_service_request("kms:Decrypt", key_arn, context),
            )
        )
    if topic_arn:
        # The data key SNS asks for a message CloudTrail publishes to the encrypted topic.
        topic_context = {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}
        probes.append(
            Probe(
                label="publish to the encrypted topic (kms:GenerateDataKey)",
                request=_service_request("kms:GenerateDataKey", key_arn, topic_context),
            )
        )
    if log_group_arn:
        # CloudWatch Logs itself asks for the data keys of the group CloudTrail delivers to,
        # with the group in the encryption context (it refuses CreateLogGroup without them).
        service = logs_service(log_group_arn.split(":")[3])
        probes.append(
            Probe(
                label=f"deliver to the encrypted log group ({service} kms:GenerateDataKey)",
                request=Request(
                    principal=Principal(kind="service", id=service),
                    action="kms:GenerateDataKey",
                    resource=key_arn,
                    context={"kms:EncryptionContext:aws:logs:arn": log_group_arn},
                ),
            )
        )
    return probes


def key_log_group(names: Names, found: Discovery, key_region: str) -> str | None:
    """The log group the trail's new key encrypts, as its encryption context names it.

    The group the run creates (discovery found none) when
    :func:`wizard.policy.policies.encrypts_log_group` holds; None otherwise. A group that
    exists already is used as it is, so the key is not opened to CloudWatch Logs for it.

    Args:
        names: Derived names.
        found: What discovery found (whether the group exists).
        key_region: Where the key is (the bucket's region).
    """
    if not encrypts_log_group(names, key_region):
        return None
    if found.logs is not None and found.logs.group_exists:
        return None
    return log_group_key_context(names)


def topic_probes(names: Names, topic_arn: str) -> list[Probe]:
    """CloudTrail's publish request."""
    return [
        Probe(
            label="publish notifications (SNS:Publish)",
            request=_service_request(
                "sns:Publish",
                topic_arn,
                {"aws:SourceArn": names.trail_arn, "aws:SourceAccount": names.trail_owner},
            ),
        )
    ]


def role_probes(names: Names, role_arn: str, *, source_keys: bool = False) -> list[Probe]:
    """CloudTrail assuming the delivery role.

    AWS documents the role's trust policy without a condition and does not document
    CloudTrail sending ``aws:SourceArn`` or ``aws:SourceAccount`` when it assumes the role,
    so the request carries neither; ``source_keys`` adds them, to tell a trust policy that
    only conditions on them from one that does not trust CloudTrail at all.
    """
    context = (
        {"aws:SourceArn": names.trail_arn, "aws:SourceAccount": names.trail_owner}
        if source_keys
        else {}
    )
    return [
        Probe(
            label="assume the delivery role (sts:AssumeRole)",
            request=_service_request("sts:AssumeRole", role_arn, context),
        )
    ]


def trust_needs_source_keys(review: PolicyReview, names: Names) -> bool:
    """The current trust policy lets CloudTrail in only when the request carries its source.

    True when CloudTrail is refused as AWS documents the request (no ``aws:SourceArn`` or
    ``aws:SourceAccount``) but allowed with them: the trust policy conditions on keys
    CloudTrail is not documented to send, the trap scanner fixes walk into.
    """
    if review.kind != "role-trust" or review.before is None or review.allowed_before:
        return False
    text = trust_as_resource_policy(review.before, review.resource)
    try:
        return all(
            _decide(text, p.request).allowed
            for p in role_probes(names, review.resource, source_keys=True)
        )
    except PolicyFormatError:
        return False


def trust_as_resource_policy(text: str | None, role_arn: str) -> str | None:
    """A role trust policy with the role as each statement's Resource.

    Trust policies have no Resource element (they always govern their own role); the access
    checker, like AWS for other resource policies, ignores statements without one.
    """
    if text is None:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return text
    if not isinstance(document, dict):
        return text
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return text
    document["Statement"] = [
        {**s, "Resource": role_arn}
        if isinstance(s, dict) and "Resource" not in s and "NotResource" not in s
        else s
        for s in statements
    ]
    return json.dumps(document)


def _decide(policy: str | None, request: Request) -> AccessResult:
    if policy is None:
        return AccessResult(
            decision=Decision.IMPLICIT_DENY,
            deciding=[],
            reasons=["there is no policy, so nothing grants this request"],
        )
    return evaluate(policy, request)


def _review_existing(
    kind: PolicyKind,
    resource: str,
    before: str | None,
    required: dict[str, Any],
    probes: list[Probe],
    *,
    readable: bool = True,
) -> PolicyReview:
    """Evaluate, merge and re-evaluate an existing resource's policy."""

    def judge(text: str | None, request: Request) -> AccessResult:
        if kind == "role-trust":
            text = trust_as_resource_policy(text, resource)
        return _decide(text, request)

    if not readable:
        return PolicyReview(
            kind=kind,
            resource=resource,
            new_resource=False,
            before=None,
            required=required,
            document=render_policy(required),
            probes=probes,
            readable=False,
            error="the current policy could not be read",
        )
    try:
        merged = merge(before, required)
        evaluated = [
            p.model_copy(
                update={"before": judge(before, p.request), "after": judge(merged.text, p.request)}
            )
            for p in probes
        ]
    except (PolicyError, PolicyFormatError) as exc:
        return PolicyReview(
            kind=kind,
            resource=resource,
            new_resource=False,
            before=before,
            required=required,
            document=before or "",
            probes=probes,
            error=str(exc),
        )
    # When the policy already allows everything, nothing is merged even if the statements
    # are shaped differently from ours: the owner's wording stays untouched.
    if before is not None and all(p.before is not None and p.before.allowed for p in evaluated):
        merged = MergeResult(
            text=before,
            document=parse_policy(before),
            added=[],
            already_present=[str(s.get("Sid", "")) for s in required.get("Statement", [])],
            renamed={},
            diff="",
        )
        evaluated = [p.model_copy(update={"after": p.before}) for p in evaluated]
    return PolicyReview(
        kind=kind,
        resource=resource,
        new_resource=False,
        before=before,
        required=required,
        merged=merged,
        document=merged.text,
        probes=evaluated,
    )


def review_existing(
    kind: PolicyKind,
    resource: str,
    before: str | None,
    required: dict[str, Any],
    probes: list[Probe],
    *,
    readable: bool = True,
) -> PolicyReview:
    """The review of an existing resource's policy: evaluated, merged and evaluated again.

    Desired state (:mod:`wizard.plan.desired`) reviews a resource the answers create, but
    that an earlier apply made already, this way: merged into, never written whole.
    """
    return _review_existing(kind, resource, before, required, probes, readable=readable)


def _review_new(
    kind: PolicyKind, resource: str, document: dict[str, Any], probes: list[Probe]
) -> PolicyReview:
    text = render_policy(document)
    judged = trust_as_resource_policy(text, resource) if kind == "role-trust" else text
    return PolicyReview(
        kind=kind,
        resource=resource,
        new_resource=True,
        required=document,
        document=text,
        probes=[p.model_copy(update={"after": _decide(judged, p.request)}) for p in probes],
    )


class Reviews(WizardModel):
    """Every policy review for one set of answers."""

    bucket: PolicyReview
    """Log bucket policy."""
    key: PolicyReview | None = None
    """KMS key policy (SSE-KMS)."""
    topic: PolicyReview | None = None
    """SNS topic policy."""
    role_trust: PolicyReview | None = None
    """Delivery role trust policy."""
    role_permissions: dict[str, Any] | None = None
    """Delivery role permissions (new role only)."""
    access_logs: PolicyReview | None = None
    """Policy of the bucket that receives the log bucket's server access logs."""

    def all(self) -> list[PolicyReview]:
        """The reviews that exist, in display order."""
        return [r for r in (self.bucket, self.key, self.topic, self.role_trust) if r is not None]


def review_policies(answers: Answers, ctx: AccountContext, found: Discovery) -> Reviews:
    """Review every policy CloudTrail depends on, for these answers and this account."""
    names = Names(answers, ctx)
    org_id = ctx.organization_id or (
        found.organization.organization_id if found.organization else None
    )
    bucket_required = {
        "Version": "2012-10-17",
        "Statement": bucket_cloudtrail_statements(names, org_id),
    }
    central = found.central
    if central is not None and central.bucket_account is not None:
        # A central bucket in the log-archive account: this account's own statements, with
        # Sids that do not clash with the other accounts' (see wizard.plan.central).
        bucket_required = central_bucket_required(names, org_id)
    if answers.bucket.create:
        bucket = _review_new(
            "bucket", names.bucket_arn, bucket_policy(names, org_id), bucket_probes(names, org_id)
        )
    else:
        bucket = _review_existing(
            "bucket",
            names.bucket_arn,
            found.bucket.policy,
            bucket_required,
            bucket_probes(names, org_id),
            readable=found.bucket.policy_readable,
        )
    key = None
    enc = answers.encryption
    if enc.new_key:
        region = names.bucket_region(found.bucket.region)
        key_arn = f"arn:{names.partition}:kms:{region}:{ctx.account_id}:key/new-key"
        topic_arn = names.topic_arn if encrypts_topic(names, region) else None
        group_arn = key_log_group(names, found, region)
        key = _review_new(
            "key",
            key_arn,
            key_policy(names, topic=topic_arn is not None, log_group=group_arn is not None),
            key_probes(names, key_arn, decrypt=False, topic_arn=topic_arn, log_group_arn=group_arn),
        )
    elif enc.existing_key and found.key is not None and found.key.found and found.key.arn:
        decrypt = bool(
            found.bucket.bucket_key
            and found.bucket.encryption_key
            and found.bucket.encryption_key in (found.key.arn, found.key.key_id, enc.existing_key)
        )
        key_required: dict[str, Any] = {
            "Version": "2012-10-17",
            "Statement": key_cloudtrail_statements(names, bucket_key_decrypt=decrypt),
        }
        if central is not None and central.key_account is not None:
            key_required = central_key_required(
                names, bucket_key_decrypt=decrypt, readers=central.readers
            )
        key = _review_existing(
            "key",
            found.key.arn,
            found.key.policy,
            key_required,
            key_probes(names, found.key.arn, decrypt=decrypt),
            readable=found.key.policy_readable,
        )
    topic = None
    if answers.notifications.sns_topic and names.topic_arn:
        if found.topic is not None and found.topic.exists:
            topic = _review_existing(
                "topic",
                names.topic_arn,
                found.topic.policy,
                {"Version": "2012-10-17", "Statement": [topic_cloudtrail_statement(names)]},
                topic_probes(names, names.topic_arn),
            )
        else:
            topic = _review_new(
                "topic", names.topic_arn, topic_policy(names), topic_probes(names, names.topic_arn)
            )
    role_trust = None
    role_permissions = None
    if answers.cloudwatch_logs.enabled and names.role_arn:
        logs = found.logs
        if logs is not None and logs.role_exists:
            role_trust = _review_existing(
                "role-trust",
                names.role_arn,
                logs.role_trust_policy,
                cloudwatch_role_trust_policy(names),
                role_probes(names, names.role_arn),
            )
            # The wizard does not edit an existing role: its trust policy is only checked.
            role_trust = role_trust.model_copy(update={"document": logs.role_trust_policy or ""})
        else:
            role_trust = _review_new(
                "role-trust",
                names.role_arn,
                cloudwatch_role_trust_policy(names),
                role_probes(names, names.role_arn),
            )
            role_permissions = cloudwatch_role_policy(names, org_id)
    return Reviews(
        bucket=bucket,
        key=key,
        topic=topic,
        role_trust=role_trust,
        role_permissions=role_permissions,
        access_logs=_review_access_logs(answers, names, found),
    )


def _review_access_logs(answers: Answers, names: Names, found: Discovery) -> PolicyReview | None:
    access = answers.bucket.access_logs
    target_arn = access_log_target_arn(names)
    if access is None or target_arn is None:
        return None
    probes = access_log_probes(names)
    facts = found.access_logs
    if access.create:
        return _review_new("access-log-bucket", target_arn, access_log_bucket_policy(names), probes)
    target = facts.target if facts is not None else None
    return _review_existing(
        "access-log-bucket",
        target_arn,
        target.policy if target is not None else None,
        {"Version": "2012-10-17", "Statement": [access_log_statement(names)]},
        probes,
        readable=target.policy_readable if target is not None else True,
    )


def describe_probe_failure(probe: Probe, *, current: bool = False) -> str:
    """One sentence: which request is refused, and why (under the current or new policy)."""
    result = probe.before if current else (probe.after or probe.before)
    why = "; ".join(result.reasons) if result is not None and result.reasons else "not allowed"
    return f"CloudTrail could not {probe.label}: {why}"


def statements_text(document: dict[str, Any]) -> str:
    """The statements of a policy document as pretty JSON, for hand-off messages."""
    return json.dumps(document.get("Statement", []), indent=2)
