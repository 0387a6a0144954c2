"""Central logging: the log bucket (and key) belong to another account, the log-archive account.

Two ways to get there, both from the same statements:

* **With access** to the log-archive account (``--log-account-profile`` or
  ``--log-account-role``): the central bucket and key policies are read with that account's
  credentials, this account's statements are merged in (never replacing anything: a new
  statement per account, Sids suffixed with the account id), and the plan's policy steps
  carry that account (:attr:`wizard.model.plan.Call.account`), so they run, and roll back
  to the exact previous text, with its credentials.
* **Without access**: a hand-off pack for the owner: the statements to add to the bucket and
  key policies, a numbered checklist, and the ``check-central`` command that evaluates the
  live policies once the owner applied them. Until then the finding
  ``central-handoff-required`` blocks apply before anything is changed. ``check-central``
  ends with a confirmation code; ``apply --central-confirmed CODE`` accepts it (CreateTrail
  re-checks both policies itself, and any refusal rolls everything back).

For onboarding many accounts at once (:mod:`wizard.onboard`) the central policies are
updated once, with one statement listing every account's path and trail
(:func:`central_update_plan`).

Pure core: AWS is reached only through :class:`wizard.ports.AwsCaller`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from wizard.account.discovery import Discovery
from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext, Names
from wizard.model.names import classify_key_ref
from wizard.model.plan import Call, Finding, Plan, PolicyChange, Step
from wizard.model.regions import normalise_bucket_location
from wizard.plan.review import (
    Probe,
    Reviews,
    bucket_probes,
    key_probes,
    review_policies,
    statements_text,
)
from wizard.policy.access import PolicyFormatError, Principal, Request, evaluate
from wizard.policy.merge import MergeResult, PolicyError, merge
from wizard.policy.policies import (
    CLOUDTRAIL,
    VERSION,
    Policy,
    Statement,
    TrailWriter,
    central_bucket_required,
    central_bucket_statements,
    central_key_required,
    central_key_statements,
)
from wizard.ports import AwsCaller, AwsError

__all__ = [
    "CHECK_COMMAND",
    "CentralCheckReport",
    "CentralPolicies",
    "HandoffPack",
    "RequestCheck",
    "build_handoff",
    "central_findings",
    "central_update_plan",
    "check_central",
    "confirmation_code",
    "reader_probes",
]

CHECK_COMMAND = "check-central"
"""The command that evaluates the live central policies."""

_HANDOFF_CODE = "central-handoff-required"
_CONFIRMED_CODE = "central-handoff-confirmed"


def _doc(statements: list[Statement]) -> Policy:
    return {"Version": VERSION, "Statement": statements}


def reader_probes(names: Names, key_arn: str, readers: Sequence[str]) -> list[Probe]:
    """Each named reader decrypting a log file of this trail."""
    context = {"kms:EncryptionContext:aws:cloudtrail:arn": names.trail_arn}
    probes = []
    for reader in sorted(set(readers)):
        principal = (
            Principal.aws(f"arn:{names.partition}:iam::{reader}:root")
            if reader.isdigit()
            else Principal.aws(reader)
        )
        probes.append(
            Probe(
                label=f"let {reader} decrypt log files (kms:Decrypt)",
                request=Request(
                    principal=principal, action="kms:Decrypt", resource=key_arn, context=context
                ),
            )
        )
    return probes


# -------------------------------------------------------------------- hand-off


def confirmation_code(answers: Answers, ctx: AccountContext, readers: Sequence[str] = ()) -> str:
    """The code ``check-central`` prints when the central policies allow this trail.

    It names the pack, not the policies: the trail, the central bucket and path, the central
    key and the readers. ``apply --central-confirmed CODE`` compares it, so a confirmation
    for another trail, bucket, key or account never unblocks this one. It is an
    acknowledgement, not a secret: CreateTrail checks both policies itself.
    """
    names = Names(answers, ctx)
    central_key = _central_key_ref(answers, ctx)
    identity = [
        names.trail_arn,
        names.logs_object_arn(names.trail_owner) if _central_bucket(answers, ctx) else None,
        central_key,
        sorted(set(readers)),
    ]
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"ctw-{digest[:12]}"


def _central_bucket(answers: Answers, ctx: AccountContext) -> str | None:
    account = answers.bucket.account
    if answers.bucket.create or account is None or account == ctx.account_id:
        return None
    return account


def _central_key_ref(answers: Answers, ctx: AccountContext) -> str | None:
    ref = answers.encryption.existing_key
    if not ref:
        return None
    parsed = classify_key_ref(ref)
    if isinstance(parsed, str) or not parsed.account or parsed.account == ctx.account_id:
        return None
    return ref


class HandoffPack(WizardModel):
    """What the log-archive owner needs: statements, a checklist, and how to check it."""

    account_id: str
    """This account: the one whose trail writes to the central bucket."""
    log_accounts: list[str]
    """The account(s) owning the central bucket and key."""
    trail_arn: str
    """This trail's ARN."""
    bucket: str
    """Central bucket name."""
    bucket_owner: str | None = None
    """Owner of the bucket, when it is central."""
    bucket_statements: dict[str, Any] | None = None
    """Statements to add to the bucket policy, as a policy document (None: nothing to add)."""
    key: str | None = None
    """The central key (ARN), when one is used."""
    key_owner: str | None = None
    """Owner of the key, when it is central."""
    key_statements: dict[str, Any] | None = None
    """Statements to add to the key policy, as a policy document (None: nothing to add)."""
    readers: list[str] = Field(default_factory=list)
    """Principals granted decryption of the log files."""
    checklist: list[str]
    """Numbered steps for the log-archive owner."""
    verify_command: str
    """The command that checks the result."""
    apply_command: str
    """The command the operator runs afterwards."""
    confirmation: str
    """The code ``check-central`` prints when everything is in place."""

    def readme(self) -> str:
        """The pack's README.md: the checklist, the statements and the commands."""
        lines = [
            f"# CloudTrail central logging: hand-off for account {self.account_id}",
            "",
            f"Trail `{self.trail_arn}` in account {self.account_id} will deliver its log files "
            f"to bucket `{self.bucket}`"
            + (f", encrypted with key `{self.key}`" if self.key else "")
            + f". These belong to account {', '.join(self.log_accounts)}; their policies must "
            "let this trail write (and encrypt) before it can be created.",
            "",
            "## Checklist for the log-archive owner",
            "",
        ]
        lines += [f"{n}. {step}" for n, step in enumerate(self.checklist, 1)]
        if self.bucket_statements is not None:
            lines += [
                "",
                "## bucket-statements.json",
                "",
                "```json",
                statements_text(self.bucket_statements),
                "```",
            ]
        if self.key_statements is not None:
            lines += [
                "",
                "## key-statements.json",
                "",
                "```json",
                statements_text(self.key_statements),
                "```",
            ]
        lines += [
            "",
            "## Commands",
            "",
            f"- check: `{self.verify_command}`",
            f"- then, in account {self.account_id}: `{self.apply_command}`",
            "",
        ]
        return "\n".join(lines)

    def files(self) -> dict[str, str]:
        """File name -> content: README.md and the statement files that apply."""
        files = {"README.md": self.readme()}
        if self.bucket_statements is not None:
            files["bucket-statements.json"] = statements_text(self.bucket_statements) + "\n"
        if self.key_statements is not None:
            files["key-statements.json"] = statements_text(self.key_statements) + "\n"
        return files


def _bucket_key_decrypt(answers: Answers, found: Discovery) -> bool:
    ref = answers.encryption.existing_key
    b = found.bucket
    key = found.key
    if not (b.bucket_key and b.encryption_key and ref):
        return False
    known = {ref} | ({key.arn, key.key_id} if key is not None else set())
    return b.encryption_key in known


def build_handoff(
    answers: Answers,
    ctx: AccountContext,
    found: Discovery,
    reviews: Reviews | None = None,
    *,
    answers_path: str = "ANSWERS",
) -> HandoffPack | None:
    """The hand-off pack for the central resources the wizard cannot change itself.

    A resource whose policy is readable from here and already allows this trail needs no
    statement; None when nothing needs the owner.
    """
    central = found.central
    if central is None or not central.handoff:
        return None
    if reviews is None:
        reviews = review_policies(answers, ctx, found)
    names = Names(answers, ctx)
    org_id = ctx.organization_id
    bucket_doc = key_doc = None
    bucket_owner = central.bucket_account
    if bucket_owner and not central.bucket_managed:
        review = reviews.bucket
        if not (review.readable and not review.error and review.allowed_before):
            bucket_doc = central_bucket_required(names, org_id)
    key_owner = central.key_account
    key_ref = answers.encryption.existing_key if key_owner else None
    if key_owner and not central.key_managed:
        review_k = reviews.key
        done = (
            review_k is not None
            and review_k.readable
            and not review_k.error
            and review_k.allowed_before
            and not central.readers
        )
        if not done:
            key_doc = central_key_required(
                names,
                bucket_key_decrypt=_bucket_key_decrypt(answers, found),
                readers=central.readers,
            )
    if bucket_doc is None and key_doc is None:
        return None
    code = confirmation_code(answers, ctx, central.readers)
    owners = central.accounts_involved
    unmanaged = [a for a in owners if not central.managed(a)]
    check = (
        f"cloudtrail-wizard {CHECK_COMMAND} {answers_path} --account {names.account} "
        "--log-account-profile LOGARCHIVE"
    )
    for reader in central.readers:
        check += f" --central-reader {reader}"
    steps = [
        f"Sign in to account {', '.join(unmanaged)} (the log-archive account) with permission "
        "to change "
        + " and ".join(
            what
            for what, doc in (("the bucket policy", bucket_doc), ("the key policy", key_doc))
            if doc is not None
        )
        + ".",
    ]
    if bucket_doc is not None:
        steps.append(
            f"Add the statements of bucket-statements.json to the policy of bucket "
            f"{answers.bucket.name} (`aws s3api get-bucket-policy --bucket {answers.bucket.name}`"
            ", append them to its Statement list, then `aws s3api put-bucket-policy`). Keep "
            "every existing statement as it is; the Sids end in this account's id, so they "
            "do not clash with other accounts' statements."
        )
    if key_doc is not None:
        steps.append(
            f"Add the statements of key-statements.json to the policy of key {key_ref} "
            f"(`aws kms get-key-policy --key-id {key_ref} --policy-name default`, append "
            "them, then `aws kms put-key-policy`). Do not change the existing statements: a "
            "key CloudTrail cannot use stops delivery for every trail using it."
        )
    steps.append(
        f"Check the live policies: `{check}` (any profile that can read both policies). It "
        "evaluates each request CloudTrail will make and prints a confirmation code when all "
        "are allowed."
    )
    apply = f"cloudtrail-wizard apply {answers_path} --central-confirmed {code}"
    steps.append(
        f"Send the confirmation code ({code}) to the operator of account {names.account}, who "
        f"runs `{apply}`. Alternatively, someone with access to both accounts runs "
        f"`cloudtrail-wizard apply {answers_path} --log-account-profile LOGARCHIVE`, which "
        "merges the statements itself."
    )
    return HandoffPack(
        account_id=names.account,
        log_accounts=unmanaged,
        trail_arn=names.trail_arn,
        bucket=answers.bucket.name,
        bucket_owner=bucket_owner,
        bucket_statements=bucket_doc,
        key=key_ref,
        key_owner=key_owner,
        key_statements=key_doc,
        readers=list(central.readers),
        checklist=steps,
        verify_command=check,
        apply_command=apply,
        confirmation=code,
    )


def central_findings(
    answers: Answers, ctx: AccountContext, found: Discovery, reviews: Reviews
) -> list[Finding]:
    """Findings about central logging (none when bucket and key are this account's)."""
    central = found.central
    if central is None:
        return []
    out: list[Finding] = []
    if central.bucket_account and found.bucket.owned is True:
        out.append(
            Finding(
                severity="error",
                code="central-bucket-owner-mismatch",
                message=f"bucket.account says bucket {answers.bucket.name} belongs to account "
                f"{central.bucket_account}, but this account ({ctx.account_id}) owns it. Remove "
                "bucket.account (the bucket is this account's), or name the right bucket.",
                subject=answers.bucket.name,
            )
        )
        return out
    managed = [a for a in central.accounts_involved if central.managed(a)]
    if managed:
        what = []
        if central.bucket_managed:
            what.append(f"bucket {answers.bucket.name}")
        if central.key_managed:
            what.append(f"key {answers.encryption.existing_key}")
        out.append(
            Finding(
                severity="info",
                code="central-log-account",
                message=f"The {' and the '.join(what)} belong{'s' if len(what) == 1 else ''} "
                f"to log-archive account "
                f"{', '.join(managed)}. Their policies were read, and are changed, with that "
                "account's credentials; this account's statements are added next to the "
                "existing ones (nothing is replaced), and a rollback restores the exact "
                "previous text with the same credentials.",
                subject=", ".join(managed),
            )
        )
    if not central.handoff:
        return out
    pack = build_handoff(answers, ctx, found, reviews)
    unmanaged = [a for a in central.accounts_involved if not central.managed(a)]
    if pack is None:
        out.append(
            Finding(
                severity="info",
                code="central-policy-ok",
                message=f"The central policies in account {', '.join(unmanaged)} already let "
                "this trail deliver; nothing needs to change there.",
                subject=", ".join(unmanaged),
            )
        )
        return out
    if central.confirmation == pack.confirmation:
        out.append(
            Finding(
                severity="warning",
                code=_CONFIRMED_CODE,
                message=f"The central policies in account {', '.join(pack.log_accounts)} cannot "
                f"be read from this account; confirmation {pack.confirmation} says their owner "
                "applied the hand-off pack and check-central passed. CreateTrail checks them "
                "again itself: if they do not allow this trail, AWS refuses it and every "
                "change is rolled back.",
                subject=", ".join(pack.log_accounts),
            )
        )
        return out
    mismatch = ""
    if central.confirmation is not None:
        mismatch = (
            f"The confirmation code {central.confirmation} is not this pack's ({pack.confirmation}"
            "): it was made for another trail, bucket, key or set of readers. "
        )
    parts = []
    if pack.bucket_statements is not None:
        parts.append(
            f"Bucket policy of {pack.bucket} (account {pack.bucket_owner}), add:\n"
            + statements_text(pack.bucket_statements)
        )
    if pack.key_statements is not None:
        parts.append(
            f"Key policy of {pack.key} (account {pack.key_owner}), add:\n"
            + statements_text(pack.key_statements)
        )
    checklist = "\n".join(f"{n}. {s}" for n, s in enumerate(pack.checklist, 1))
    out.append(
        Finding(
            severity="error",
            code=_HANDOFF_CODE,
            message=f"The log bucket or key belongs to log-archive account "
            f"{', '.join(pack.log_accounts)}, and this account cannot change (or read) "
            "their policies, so CloudTrail would refuse the trail. " + mismatch + "Either give "
            "the wizard credentials for that account (a profile, or a role to assume there: "
            "--log-account-profile NAME or --log-account-role ARN on the command line, the "
            'Storage step\'s "How can the wizard reach that account?" in the full-screen and '
            "plain wizards), or hand this pack to its owner (`cloudtrail-wizard plan ANSWERS "
            "--handoff-out DIR` writes it as files). Nothing was changed.\nChecklist:\n"
            + checklist
            + "\n"
            + "\n".join(parts),
            subject=", ".join(pack.log_accounts),
            statement=pack.bucket_statements or pack.key_statements,
        )
    )
    return out


# ------------------------------------------------------------------ check-central


class RequestCheck(WizardModel):
    """One request CloudTrail (or a reader) makes, judged under the live policy."""

    resource: Literal["bucket", "key", "region"]
    """Which policy (or the region rule)."""
    label: str
    """The request, in words."""
    allowed: bool
    """The live policy allows it."""
    detail: str = ""
    """Why, in the access checker's words."""


class CentralCheckReport(WizardModel):
    """What ``check-central`` found."""

    account_id: str
    """The account whose trail writes."""
    trail_arn: str
    """The trail."""
    bucket: str
    """The central bucket."""
    key: str | None = None
    """The central key."""
    checks: list[RequestCheck] = Field(default_factory=list)
    """Every request, judged."""
    problems: list[str] = Field(default_factory=list)
    """Reads that failed (a policy that cannot be read cannot pass)."""
    confirmation: str
    """The code to give to the operator (valid only when :attr:`ok`)."""

    @property
    def ok(self) -> bool:
        """Every request is allowed and every policy could be read."""
        return bool(self.checks) and not self.problems and all(c.allowed for c in self.checks)


def _judge(policy: str | None, probe: Probe, resource: Literal["bucket", "key"]) -> RequestCheck:
    if policy is None:
        return RequestCheck(
            resource=resource, label=probe.label, allowed=False, detail="there is no policy"
        )
    try:
        result = evaluate(policy, probe.request)
    except PolicyFormatError as exc:
        return RequestCheck(resource=resource, label=probe.label, allowed=False, detail=str(exc))
    return RequestCheck(
        resource=resource,
        label=probe.label,
        allowed=result.allowed,
        detail="; ".join(result.reasons),
    )


def check_central(
    answers: Answers,
    ctx: AccountContext,
    bucket_caller: AwsCaller,
    key_caller: AwsCaller | None = None,
    *,
    readers: Sequence[str] = (),
) -> CentralCheckReport:
    """Evaluate the live central bucket and key policies for this account's trail.

    Args:
        answers: The answers of the account whose trail writes (``ctx``).
        ctx: That account (its id makes the path and the trail ARN).
        bucket_caller: Reads the bucket policy (the bucket owner's credentials).
        key_caller: Reads the key policy (default: ``bucket_caller``).
        readers: Principals that must be able to decrypt log files.
    """
    names = Names(answers, ctx)
    key_caller = key_caller or bucket_caller
    bucket = answers.bucket.name
    checks: list[RequestCheck] = []
    problems: list[str] = []
    bucket_region: str | None = None
    bucket_key: str | None = None
    try:
        head = bucket_caller.call("s3", ctx.region, "HeadBucket", {"Bucket": bucket})
        bucket_region = normalise_bucket_location(head.get("BucketRegion")) or ctx.region
    except AwsError as err:
        problems.append(f"bucket {bucket}: HeadBucket: {err.code}: {err.message}")
    if bucket_region is not None:
        try:
            policy: str | None = bucket_caller.call(
                "s3", bucket_region, "GetBucketPolicy", {"Bucket": bucket}
            ).get("Policy")
        except AwsError as err:
            policy = None
            if not err.not_found:
                problems.append(f"bucket {bucket}: GetBucketPolicy: {err.code}: {err.message}")
        if not problems:
            checks += [
                _judge(policy, p, "bucket") for p in bucket_probes(names, ctx.organization_id)
            ]
        try:
            enc = bucket_caller.call("s3", bucket_region, "GetBucketEncryption", {"Bucket": bucket})
            rules = enc.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
            if rules and rules[0].get("BucketKeyEnabled"):
                default = rules[0].get("ApplyServerSideEncryptionByDefault", {})
                bucket_key = default.get("KMSMasterKeyID")
        except AwsError:
            pass  # no default encryption, or not readable: no Bucket Key to account for
    key_ref = answers.encryption.existing_key
    if key_ref:
        parsed = classify_key_ref(key_ref)
        region = (
            parsed.region
            if not isinstance(parsed, str) and parsed.region
            else bucket_region or ctx.region
        )
        try:
            meta = key_caller.call("kms", region, "DescribeKey", {"KeyId": key_ref})["KeyMetadata"]
            key_arn = str(meta["Arn"])
            key_policy = key_caller.call(
                "kms", region, "GetKeyPolicy", {"KeyId": key_arn, "PolicyName": "default"}
            ).get("Policy")
        except AwsError as err:
            problems.append(f"key {key_ref}: {err.operation}: {err.code}: {err.message}")
        else:
            decrypt = bucket_key is not None and bucket_key in (key_ref, key_arn, meta.get("KeyId"))
            checks += [
                _judge(key_policy, p, "key")
                for p in [
                    *key_probes(names, key_arn, decrypt=decrypt),
                    *reader_probes(names, key_arn, readers),
                ]
            ]
            state = meta.get("KeyState")
            checks.append(
                RequestCheck(
                    resource="region",
                    label="the key is enabled and in the bucket's region",
                    allowed=state == "Enabled" and (bucket_region in (None, region)),
                    detail=f"key {state} in {region}; bucket in {bucket_region}",
                )
            )
    return CentralCheckReport(
        account_id=names.account,
        trail_arn=names.trail_arn,
        bucket=bucket,
        key=key_ref,
        checks=checks,
        problems=problems,
        confirmation=confirmation_code(answers, ctx, readers),
    )


# -------------------------------------------------------- one update, all accounts


class CentralPolicies(WizardModel):
    """The central policies as they are now, read with the log-archive account's caller."""

    account_id: str
    """The log-archive account."""
    partition: str
    """ARN partition."""
    bucket: str
    """Central bucket name."""
    bucket_region: str
    """Its region."""
    bucket_policy: str | None
    """Its policy text (None: no policy)."""
    key_arn: str | None = None
    """The central key, when one is used."""
    key_policy: str | None = None
    """Its policy text."""


def read_central_policies(
    caller: AwsCaller,
    *,
    account_id: str,
    partition: str,
    region: str,
    bucket: str,
    key_ref: str | None = None,
) -> CentralPolicies:
    """Read the central bucket's region and policy (and the key's) with the owner's caller.

    Raises:
        AwsError: a read failed (nothing can be planned on a policy that was not read).
    """
    head = caller.call("s3", region, "HeadBucket", {"Bucket": bucket})
    bucket_region = normalise_bucket_location(head.get("BucketRegion")) or region
    try:
        policy: str | None = caller.call(
            "s3", bucket_region, "GetBucketPolicy", {"Bucket": bucket}
        ).get("Policy")
    except AwsError as err:
        if not err.not_found:
            raise
        policy = None
    key_arn = key_policy = None
    if key_ref:
        parsed = classify_key_ref(key_ref)
        key_region = (
            parsed.region if not isinstance(parsed, str) and parsed.region else bucket_region
        )
        meta = caller.call("kms", key_region, "DescribeKey", {"KeyId": key_ref})["KeyMetadata"]
        key_arn = str(meta["Arn"])
        key_policy = caller.call(
            "kms", key_region, "GetKeyPolicy", {"KeyId": key_arn, "PolicyName": "default"}
        ).get("Policy")
    return CentralPolicies(
        account_id=account_id,
        partition=partition,
        bucket=bucket,
        bucket_region=bucket_region,
        bucket_policy=policy,
        key_arn=key_arn,
        key_policy=key_policy,
    )


class CentralUpdate(WizardModel):
    """The one central update for many accounts: merged policies and the plan that writes them."""

    plan: Plan
    """Steps (possibly none) that write the merged policies, as the log-archive account."""
    bucket_merge: MergeResult
    """The bucket policy merge."""
    key_merge: MergeResult | None = None
    """The key policy merge."""
    refused: list[str] = Field(default_factory=list)
    """Requests the merged policies would still refuse (a Deny): the update must not run."""


def central_update_plan(
    current: CentralPolicies,
    *,
    prefix: str,
    writers: Sequence[TrailWriter],
    readers: Sequence[str] = (),
    organization_id: str | None = None,
    required: tuple[list[Statement], list[Statement]] | None = None,
) -> CentralUpdate:
    """Merge every account's path and trail into the central policies, once.

    The statements are :func:`wizard.policy.policies.central_bucket_statements` (and
    :func:`central_key_statements`) for all ``writers``; they are merged with
    :func:`wizard.policy.merge.merge`, so every existing statement stays byte for byte, and a second
    run with the same accounts changes nothing.

    Args:
        current: The central policies as read.
        prefix: The trails' S3 key prefix.
        writers: The trails that write (every one is checked against the merged policies).
        readers: Principals that may decrypt the log files (central key).
        organization_id: The writers' organization: CloudTrail's requests carry it as
            ``aws:SourceOrgID``, which the refusal check then gives them.
        required: The bucket and key statements to merge instead of the per-account ones
            (the organization-wide statements of a StackSet,
            :mod:`wizard.policy.stacksets`).

    Raises:
        PolicyError: a current policy is not a policy the wizard can merge into.
    """
    bucket_arn = f"arn:{current.partition}:s3:::{current.bucket}"
    if required is None:
        bucket_statements = central_bucket_statements(bucket_arn, prefix, writers)
        key_statements = central_key_statements(writers, current.partition, readers)
    else:
        bucket_statements, key_statements = required
    bucket_merge = merge(current.bucket_policy, _doc(bucket_statements))
    key_merge = None
    if current.key_arn is not None:
        key_merge = merge(current.key_policy, _doc(key_statements))
    refused = _central_refusals(
        current, bucket_merge, key_merge, prefix, writers, organization_id=organization_id
    )
    steps: list[Step] = []
    account = current.account_id
    if bucket_merge.changed:
        region = current.bucket_region
        before = current.bucket_policy
        undo = (
            Call(
                service="s3",
                region=region,
                operation="PutBucketPolicy",
                params={"Bucket": current.bucket, "Policy": before},
                account=account,
            )
            if before
            else Call(
                service="s3",
                region=region,
                operation="DeleteBucketPolicy",
                params={"Bucket": current.bucket},
                account=account,
            )
        )
        steps.append(
            Step(
                id="update-central-bucket-policy",
                call=Call(
                    service="s3",
                    region=region,
                    operation="PutBucketPolicy",
                    params={"Bucket": current.bucket, "Policy": bucket_merge.text},
                    account=account,
                ),
                summary=f"Merge the CloudTrail statements of {len(writers)} account(s) into the "
                f"policy of central bucket {current.bucket} ({len(bucket_merge.added)} added, "
                "nothing removed)",
                chain="bucket",
                changes=bucket_arn,
                undo=[undo],
                undo_summary="Restore the central bucket policy to its exact previous text"
                if before
                else "Delete the central bucket policy again (there was none)",
                policy=PolicyChange(
                    kind="bucket",
                    resource=bucket_arn,
                    before=before,
                    after=bucket_merge.text,
                    diff=bucket_merge.diff,
                    added_sids=[str(s.get("Sid", "")) for s in bucket_merge.added],
                ),
            )
        )
    if key_merge is not None and key_merge.changed and current.key_arn:
        key_region = current.key_arn.split(":")[3]
        steps.append(
            Step(
                id="update-central-key-policy",
                call=Call(
                    service="kms",
                    region=key_region,
                    operation="PutKeyPolicy",
                    params={
                        "KeyId": current.key_arn,
                        "PolicyName": "default",
                        "Policy": key_merge.text,
                    },
                    account=account,
                ),
                summary=f"Merge the CloudTrail statements of {len(writers)} account(s) into the "
                f"policy of central key {current.key_arn} ({len(key_merge.added)} added, "
                "nothing removed)",
                chain="key",
                changes=current.key_arn,
                undo=[
                    Call(
                        service="kms",
                        region=key_region,
                        operation="PutKeyPolicy",
                        params={
                            "KeyId": current.key_arn,
                            "PolicyName": "default",
                            "Policy": current.key_policy or "",
                        },
                        account=account,
                    )
                ],
                undo_summary="Restore the central key policy to its exact previous text",
                policy=PolicyChange(
                    kind="key",
                    resource=current.key_arn,
                    before=current.key_policy,
                    after=key_merge.text,
                    diff=key_merge.diff,
                    added_sids=[str(s.get("Sid", "")) for s in key_merge.added],
                ),
            )
        )
    plan = Plan(
        account_id=account,
        partition=current.partition,
        home_region=current.bucket_region,
        trail_arn="",
        steps=steps,
        findings=[
            Finding(
                severity="error",
                code="central-policy-denies",
                message="Even with the statements merged in, the central policies would "
                "refuse: " + "; ".join(refused),
                subject=current.bucket,
            )
        ]
        if refused
        else [],
    )
    return CentralUpdate(plan=plan, bucket_merge=bucket_merge, key_merge=key_merge, refused=refused)


def _central_refusals(
    current: CentralPolicies,
    bucket_merge: MergeResult,
    key_merge: MergeResult | None,
    prefix: str,
    writers: Sequence[TrailWriter],
    *,
    organization_id: str | None = None,
) -> list[str]:
    """The requests of each writer's trail that the merged policies would still refuse."""
    bucket_arn = f"arn:{current.partition}:s3:::{current.bucket}"
    path = f"{prefix}/" if prefix else ""
    refused: list[str] = []
    org: dict[str, Any] = {"aws:SourceOrgID": organization_id} if organization_id else {}
    for w in writers:
        base: dict[str, Any] = {
            "aws:SourceArn": w.trail_arn,
            "aws:SourceAccount": w.account_id,
            "aws:SecureTransport": True,
            **org,
        }
        requests: list[tuple[str, str, dict[str, Any], str]] = [
            ("s3:GetBucketAcl", bucket_arn, base, bucket_merge.text),
            (
                "s3:PutObject",
                f"{bucket_arn}/{path}AWSLogs/{w.account_id}/CloudTrail/x.json.gz",
                {**base, "s3:x-amz-acl": "bucket-owner-full-control"},
                bucket_merge.text,
            ),
        ]
        if key_merge is not None and current.key_arn:
            context: dict[str, Any] = {
                "aws:SourceArn": w.trail_arn,
                "aws:SourceAccount": w.account_id,
                "kms:EncryptionContext:aws:cloudtrail:arn": w.trail_arn,
                **org,
            }
            requests += [
                ("kms:GenerateDataKey", current.key_arn, context, key_merge.text),
                ("kms:DescribeKey", current.key_arn, context, key_merge.text),
            ]
        for action, resource, values, text in requests:
            request = Request(
                principal=Principal.service(CLOUDTRAIL),
                action=action,
                resource=resource,
                context=values,
            )
            try:
                result = evaluate(text, request)
            except (PolicyFormatError, PolicyError) as exc:
                refused.append(f"{w.account_id} {action}: {exc}")
                continue
            if not result.allowed:
                refused.append(f"{w.account_id} {action}: {'; '.join(result.reasons)}")
    return refused
