"""The log bucket chain: a new bucket with its settings and policy, or an existing one's policy.

A new bucket is created with ACLs disabled, all public access blocked, default encryption
(the trail's key or SSE-S3), versioning and tags as the answers say, and CloudTrail's bucket
policy. An existing bucket gets CloudTrail's statements merged into its policy, unless it is
a central bucket whose owner the wizard cannot act as (the hand-off covers it then).

A bucket the answers create that exists already and is theirs (an earlier apply made it,
:mod:`wizard.plan.desired`) is compared setting by setting instead: Block Public Access,
Object Ownership, default encryption, versioning, the answers' tags and the policy; each
setting that differs gets a step that shows "current -> wanted" and is undone by writing the
previous setting back.
"""

from __future__ import annotations

from typing import Any

from wizard.account.discovery import BucketFacts
from wizard.model.names import RUN_TAG
from wizard.model.plan import Call, SettingChange
from wizard.plan.desired import (
    BLOCK_ALL,
    OWNER_ENFORCED,
    describe_block,
    describe_encryption,
    encryption_matches,
    encryption_rule,
    policy_setting,
    tag_changes,
)
from wizard.plan.planner.builder import PlanBuilder, PlanInputs, policy_change, tags_kv
from wizard.plan.review import PolicyReview
from wizard.policy.lifecycle import (
    describe_rule,
    find_rule,
    lifecycle_params,
    merge_rule,
    retention_rule,
    rule_id,
    rule_matches,
)
from wizard.policy.merge import MergeResult


def bucket_chain(
    b: PlanBuilder, given: PlanInputs, key_ref: str | None, trail_deps: list[str]
) -> None:
    """Add the log bucket's steps; the trail waits for every one of them."""
    if given.adopted.bucket:
        trail_deps.extend(_adopted_bucket(b, given, key_ref))
    elif given.answers.bucket.create:
        trail_deps.extend(_new_bucket(b, given, key_ref))
    else:
        trail_deps.extend(_existing_bucket(b, given))


CONFLICTS = ("OperationAborted",)
"""What S3 answers when changes to one bucket overlap ("a conflicting conditional operation
is currently in progress"): a new bucket's settings and policy go out together, as do the
updates of an existing one's, so each retries it (apply waits milliseconds for it:
wizard.run.apply.CONFLICT_CODES)."""


# ------------------------------------------------------------------- shared with access logs


def create_bucket_params(bucket: str, region: str, run_id: str | None) -> dict[str, Any]:
    """CreateBucket's parameters: ACLs disabled, the region, and the run tag.

    The run tag goes into ``CreateBucketConfiguration.Tags`` (S3 tags a general purpose
    bucket at creation; the caller needs ``s3:TagResource``), so the bucket is never there
    without it. The answers' tags follow in the ``PutBucketTagging`` step, as before.
    """
    params: dict[str, Any] = {"Bucket": bucket, "ObjectOwnership": "BucketOwnerEnforced"}
    configuration: dict[str, Any] = {}
    if region != "us-east-1":
        configuration["LocationConstraint"] = region
    if run_id:
        configuration["Tags"] = [{"Key": RUN_TAG, "Value": run_id}]
    if configuration:
        params["CreateBucketConfiguration"] = configuration
    return params


def block_all_public_access() -> dict[str, bool]:
    """``PublicAccessBlockConfiguration`` with all four settings on."""
    return {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }


def restore_bucket_policy(
    bucket: str, region: str, before: str | None, account: str | None = None
) -> Call:
    """The undo of a bucket policy merge: the exact previous text, or no policy again."""
    if before:
        return Call(
            service="s3",
            region=region,
            operation="PutBucketPolicy",
            params={"Bucket": bucket, "Policy": before},
            account=account,
        )
    return Call(
        service="s3",
        region=region,
        operation="DeleteBucketPolicy",
        params={"Bucket": bucket},
        account=account,
    )


def restore_bucket_policy_summary(before: str | None) -> str:
    """What :func:`restore_bucket_policy` does, for people."""
    if before:
        return "Restore the bucket policy to its exact previous text"
    return "Delete the bucket policy again (there was none)"


# ------------------------------------------------------------------------ existing bucket


def _existing_bucket(b: PlanBuilder, given: PlanInputs) -> list[str]:
    """Merge CloudTrail's statements into the existing bucket's policy, when needed and ours."""
    review = given.reviews.bucket
    central = given.found.central
    account = central.bucket_account if central is not None else None
    # Without the owner's credentials a central bucket's policy is the owner's to change.
    handoff = central is not None and account is not None and not central.bucket_managed
    region = given.found.bucket.region
    if handoff or not region:
        return []
    steps = [_lifecycle_step(b, given, given.found.bucket, region)]
    if review.needs_change and review.merged is not None:
        steps.append(_merge_bucket_policy(b, given, review, review.merged, region, account))
    return [step for step in steps if step is not None]


def _merge_bucket_policy(
    b: PlanBuilder,
    given: PlanInputs,
    review: PolicyReview,
    merged: MergeResult,
    region: str,
    account: str | None,
    depends_on: list[str] | None = None,
) -> str:
    """Write the merged bucket policy (as the log-archive account for a central bucket)."""
    bucket = given.answers.bucket.name
    return b.add(
        "update-bucket-policy",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketPolicy",
            params={"Bucket": bucket, "Policy": review.document},
            account=account,
        ),
        f"Merge CloudTrail's statements into the policy of bucket {bucket} "
        + (f"in log-archive account {account} " if account else "")
        + f"({len(merged.added)} added, nothing removed)",
        changes=given.names.bucket_arn,
        depends_on=depends_on,
        retry_on=list(CONFLICTS),
        undo=[restore_bucket_policy(bucket, region, review.before, account)],
        undo_summary=restore_bucket_policy_summary(review.before),
        policy=policy_change(review),
        settings=[policy_setting("bucket policy", review)],
    )


# ------------------------------------------------------------------- the answers' bucket


def _adopted_bucket(b: PlanBuilder, given: PlanInputs, key_ref: str | None) -> list[str]:
    """A bucket the answers create that exists: change only the settings that differ."""
    facts = given.found.bucket
    region = facts.region or given.names.bucket_region()
    bucket = given.answers.bucket.name
    steps = [
        step
        for step in bucket_setting_steps(
            b,
            given,
            facts,
            bucket=bucket,
            arn=given.names.bucket_arn,
            region=region,
            key_ref=key_ref,
            prefix="",
        )
        if step is not None
    ]
    for extra in (
        _lifecycle_step(b, given, facts, region),
        _object_lock_update(b, given, facts, region),
    ):
        if extra is not None:
            steps.append(extra)
    review = given.reviews.bucket
    if review.needs_change and review.merged is not None and not review.error:
        steps.append(
            _merge_bucket_policy(b, given, review, review.merged, region, None, depends_on=[])
        )
    return steps


def bucket_setting_steps(
    b: PlanBuilder,
    given: PlanInputs,
    facts: BucketFacts,
    *,
    bucket: str,
    arn: str,
    region: str,
    key_ref: str | None,
    prefix: str,
) -> list[str | None]:
    """The steps that bring an existing bucket of the answers to the settings the wizard
    gives a new one (``prefix`` starts the step ids: ``""`` or ``access-log-``)."""
    what = "the access log bucket" if prefix else "the bucket"

    def call(operation: str, params: dict[str, Any]) -> Call:
        return Call(
            service="s3", region=region, operation=operation, params={"Bucket": bucket, **params}
        )

    out: list[str | None] = []
    block = facts.public_access_block
    if not (block and all(block.get(k) for k in BLOCK_ALL)):
        out.append(
            b.add(
                f"{prefix}block-public-access",
                "bucket",
                call("PutPublicAccessBlock", {"PublicAccessBlockConfiguration": dict(BLOCK_ALL)}),
                f"Block all public access to {what}",
                changes=arn,
                retry_on=list(CONFLICTS),
                undo=[
                    call("PutPublicAccessBlock", {"PublicAccessBlockConfiguration": dict(block)})
                    if block
                    else call("DeletePublicAccessBlock", {})
                ],
                undo_summary="Put the previous Block Public Access settings back"
                if block
                else "Remove Block Public Access again (there was none)",
                settings=[
                    SettingChange(
                        name="Block Public Access",
                        current=describe_block(block),
                        wanted="all four on",
                    )
                ],
            )
        )
    if facts.object_ownership not in (None, OWNER_ENFORCED):
        previous = facts.object_ownership
        out.append(
            b.add(
                f"{prefix}bucket-ownership",
                "bucket",
                call(
                    "PutBucketOwnershipControls",
                    {"OwnershipControls": {"Rules": [{"ObjectOwnership": OWNER_ENFORCED}]}},
                ),
                f"Disable ACLs on {what} (Object Ownership: bucket owner enforced)",
                changes=arn,
                retry_on=list(CONFLICTS),
                undo=[
                    call(
                        "PutBucketOwnershipControls",
                        {"OwnershipControls": {"Rules": [{"ObjectOwnership": previous}]}},
                    )
                ],
                undo_summary=f"Put Object Ownership back to {previous}",
                settings=[
                    SettingChange(
                        name="Object Ownership", current=str(previous), wanted=OWNER_ENFORCED
                    )
                ],
            )
        )
    if not encryption_matches(facts, key_ref):
        rules = facts.encryption_rules
        wanted = "SSE-S3 (AES256)" if key_ref is None else "aws:kms with the trail's key"
        depends = ["create-key"] if key_ref and key_ref.startswith("${create-key") else []
        out.append(
            b.add(
                f"{prefix}bucket-encryption",
                "bucket",
                call(
                    "PutBucketEncryption",
                    {"ServerSideEncryptionConfiguration": {"Rules": [encryption_rule(key_ref)]}},
                ),
                f"Encrypt new objects in {what} by default with "
                + ("SSE-S3 (AES-256)" if key_ref is None else "the trail's KMS key"),
                changes=arn,
                retry_on=list(CONFLICTS),
                depends_on=depends,
                undo=[
                    call(
                        "PutBucketEncryption",
                        {"ServerSideEncryptionConfiguration": {"Rules": rules}},
                    )
                    if rules
                    else call("DeleteBucketEncryption", {})
                ],
                undo_summary="Put the previous default encryption back"
                if rules
                else "Remove the default encryption again (there was none)",
                settings=[
                    SettingChange(
                        name="default encryption",
                        current=describe_encryption(facts),
                        wanted=wanted,
                    )
                ],
            )
        )
    if given.answers.bucket.versioning and facts.versioning != "Enabled":
        out.append(
            b.add(
                f"{prefix}bucket-versioning",
                "bucket",
                call("PutBucketVersioning", {"VersioningConfiguration": {"Status": "Enabled"}}),
                f"Turn on versioning of {what}",
                changes=arn,
                retry_on=list(CONFLICTS),
                undo=[
                    call(
                        "PutBucketVersioning", {"VersioningConfiguration": {"Status": "Suspended"}}
                    )
                ],
                undo_summary="Suspend versioning again"
                + (
                    " (S3 cannot turn it back to never enabled: suspended keeps the versions "
                    "made meanwhile and makes no new ones)"
                    if facts.versioning is None
                    else ""
                ),
                settings=[
                    SettingChange(
                        name="versioning",
                        current=(facts.versioning or "never enabled").lower(),
                        wanted="enabled",
                    )
                ],
            )
        )
    to_set, _new, _previous, changes = tag_changes(facts.tags, given.answers.trail.tags)
    if to_set:
        before = dict(facts.tags or {})
        out.append(
            b.add(
                f"{prefix}bucket-tags",
                "bucket",
                # PutBucketTagging replaces the whole set: every other tag is written again.
                call("PutBucketTagging", {"Tagging": {"TagSet": tags_kv({**before, **to_set})}}),
                f"Tag {what}: " + ", ".join(to_set),
                changes=arn,
                retry_on=list(CONFLICTS),
                undo=[
                    call("PutBucketTagging", {"Tagging": {"TagSet": tags_kv(before)}})
                    if before
                    else call("DeleteBucketTagging", {})
                ],
                undo_summary="Put the previous tag set back"
                if before
                else "Remove the tags again (there were none)",
                settings=changes,
            )
        )
    return out


# ----------------------------------------------------------------------------- new bucket


def _new_bucket(b: PlanBuilder, given: PlanInputs, key_ref: str | None) -> list[str]:
    """Create the bucket, set it up and attach its policy; returns the steps, in order."""
    region = given.names.bucket_region()
    chain = [
        _create_bucket(b, given, region),
        _block_public_access(b, given, region),
        _default_encryption(b, given, region, key_ref),
    ]
    if given.answers.bucket.versioning:
        chain.append(_versioning(b, given, region))
    retention = given.answers.bucket.retention
    if retention is not None and retention.object_lock is not None:
        chain.append(_new_object_lock(b, given, region))
    if retention is not None and retention.lifecycle:
        chain.append(_new_lifecycle(b, given, region))
    if given.answers.trail.tags:
        chain.append(_tag_bucket(b, given, region))
    chain.append(_attach_policy(b, given, region))
    return chain


def _create_bucket(b: PlanBuilder, given: PlanInputs, region: str) -> str:
    """CreateBucket, ACLs disabled; undone by deleting the (new, empty) bucket."""
    bucket = given.answers.bucket.name
    return b.add(
        "create-bucket",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="CreateBucket",
            params=_log_bucket_params(given, region),
        ),
        f"Create bucket {bucket} in {region} (ACLs disabled: bucket owner owns every object"
        + ("; Object Lock enabled" if _locked(given) else "")
        + ")",
        creates=given.names.bucket_arn,
        undo=[
            Call(service="s3", region=region, operation="DeleteBucket", params={"Bucket": bucket})
        ],
        undo_summary=f"Delete the bucket {bucket} (it is new and empty)"
        + (
            "; S3 deletes an Object Lock bucket only while it holds no object, so this undo "
            "works until CloudTrail delivers the first log file"
            if _locked(given)
            else ""
        ),
    )


def _locked(given: PlanInputs) -> bool:
    """True when the answers ask for Object Lock on the log bucket."""
    retention = given.answers.bucket.retention
    return retention is not None and retention.object_lock is not None


def _log_bucket_params(given: PlanInputs, region: str) -> dict[str, Any]:
    """CreateBucket's parameters for the log bucket: Object Lock can only be enabled here."""
    params = create_bucket_params(given.answers.bucket.name, region, given.run_id)
    if _locked(given):
        params["ObjectLockEnabledForBucket"] = True
    return params


def object_lock_configuration(mode: str, days: int) -> dict[str, Any]:
    """``ObjectLockConfiguration`` with a default retention."""
    return {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": mode, "Days": days}},
    }


_NO_DEFAULT_RETENTION = {"ObjectLockEnabled": "Enabled"}
"""Object Lock left on (it cannot be turned off) with no default retention."""


def _lock_words(mode: str, days: int) -> str:
    return f"{mode} mode, {days} days"


def _new_object_lock(b: PlanBuilder, given: PlanInputs, region: str) -> str:
    """The default retention of a new Object Lock bucket."""
    retention = given.answers.bucket.retention
    assert retention is not None and retention.object_lock is not None
    lock = retention.object_lock
    bucket = given.answers.bucket.name
    compliance = lock.mode == "COMPLIANCE"
    return b.add(
        "bucket-object-lock",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutObjectLockConfiguration",
            params={
                "Bucket": bucket,
                "ObjectLockConfiguration": object_lock_configuration(lock.mode, lock.days),
            },
        ),
        f"Lock every log file version for {lock.days} days by default "
        f"(Object Lock {lock.mode} mode: "
        + (
            "nobody, not even the root user or this wizard's rollback, can delete it sooner)"
            if compliance
            else "only users allowed s3:BypassGovernanceRetention can delete it sooner)"
        ),
        changes=given.names.bucket_arn,
        depends_on=["create-bucket"],
        retry_on=list(CONFLICTS),
        undo=[
            Call(
                service="s3",
                region=region,
                operation="PutObjectLockConfiguration",
                params={"Bucket": bucket, "ObjectLockConfiguration": dict(_NO_DEFAULT_RETENTION)},
            )
        ],
        undo_summary="Remove the default retention (log files already delivered stay locked "
        "until their retention ends; the bucket itself is then deleted while still empty)",
    )


def _new_lifecycle(b: PlanBuilder, given: PlanInputs, region: str) -> str:
    """The lifecycle rule of a new bucket (nobody else's rules to keep)."""
    retention = given.answers.bucket.retention
    assert retention is not None
    bucket = given.answers.bucket.name
    rule = retention_rule(retention, given.answers.trail.name, given.answers.bucket.prefix)
    return b.add(
        "bucket-lifecycle",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketLifecycleConfiguration",
            params=lifecycle_params(bucket, [rule]),
        ),
        f"Set the log files' lifecycle: {describe_rule(rule)}",
        changes=given.names.bucket_arn,
        depends_on=["create-bucket"],
        retry_on=list(CONFLICTS),
    )


def _lifecycle_step(
    b: PlanBuilder, given: PlanInputs, facts: BucketFacts, region: str
) -> str | None:
    """Merge the trail's lifecycle rule into an existing bucket's configuration, by rule ID.

    Every other rule is written back exactly as read; the undo writes back the exact
    previous configuration (or deletes it, when there was none). Apply reads it again first
    (:mod:`wizard.run.lifecycle_guard`), so a colleague's change meanwhile is kept.
    """
    retention = given.answers.bucket.retention
    if retention is None or not retention.lifecycle or not facts.lifecycle_readable:
        return None
    bucket = given.answers.bucket.name
    rule = retention_rule(retention, given.answers.trail.name, given.answers.bucket.prefix)
    current = find_rule(facts.lifecycle_rules, rule_id(given.answers.trail.name))
    if rule_matches(current, rule):
        return None
    before = facts.lifecycle_rules
    kept = len([r for r in before or [] if r.get("ID") != rule["ID"]])
    call = Call(
        service="s3",
        region=region,
        operation="PutBucketLifecycleConfiguration",
        params=lifecycle_params(bucket, merge_rule(before, rule), facts.lifecycle_min_size),
    )
    undo = (
        Call(
            service="s3",
            region=region,
            operation="PutBucketLifecycleConfiguration",
            params=lifecycle_params(bucket, before, facts.lifecycle_min_size),
        )
        if before
        else Call(
            service="s3",
            region=region,
            operation="DeleteBucketLifecycle",
            params={"Bucket": bucket},
        )
    )
    return b.add(
        "bucket-lifecycle",
        "bucket",
        call,
        f"Set the log files' lifecycle on bucket {bucket}: {describe_rule(rule)}"
        + (f"; the bucket's {kept} other lifecycle rules are kept as they are" if kept else ""),
        changes=given.names.bucket_arn,
        undo=[undo],
        undo_summary="Put the exact previous lifecycle configuration back"
        if before
        else "Delete the lifecycle configuration again (there was none)",
        settings=[
            SettingChange(
                name="lifecycle rule " + rule["ID"],
                current=describe_rule(current),
                wanted=describe_rule(rule),
            )
        ],
    )


def _object_lock_update(
    b: PlanBuilder, given: PlanInputs, facts: BucketFacts, region: str
) -> str | None:
    """A bucket an earlier apply created with Object Lock: its default retention as answered.

    A bucket created without Object Lock is never given it here (preflight says so).
    """
    retention = given.answers.bucket.retention
    lock = retention.object_lock if retention is not None else None
    current = facts.object_lock
    if lock is None or not current or current.get("ObjectLockEnabled") != "Enabled":
        return None
    now = (current.get("Rule") or {}).get("DefaultRetention") or {}
    if now.get("Mode") == lock.mode and now.get("Days") == lock.days and not now.get("Years"):
        return None
    bucket = given.answers.bucket.name
    return b.add(
        "bucket-object-lock",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutObjectLockConfiguration",
            params={
                "Bucket": bucket,
                "ObjectLockConfiguration": object_lock_configuration(lock.mode, lock.days),
            },
        ),
        f"Change the default retention of new log files to {_lock_words(lock.mode, lock.days)} "
        "(files already delivered keep the retention they were written with)",
        changes=given.names.bucket_arn,
        undo=[
            Call(
                service="s3",
                region=region,
                operation="PutObjectLockConfiguration",
                params={"Bucket": bucket, "ObjectLockConfiguration": dict(current)},
            )
        ],
        undo_summary="Put the previous default retention back",
        settings=[
            SettingChange(
                name="Object Lock default retention",
                current=_lock_words(str(now.get("Mode")), int(now.get("Days") or 0))
                if now
                else "(none)",
                wanted=_lock_words(lock.mode, lock.days),
            )
        ],
    )


def _block_public_access(b: PlanBuilder, given: PlanInputs, region: str) -> str:
    """All four Block Public Access settings on."""
    return b.add(
        "block-public-access",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutPublicAccessBlock",
            params={
                "Bucket": given.answers.bucket.name,
                "PublicAccessBlockConfiguration": block_all_public_access(),
            },
        ),
        "Block all public access to the bucket",
        changes=given.names.bucket_arn,
        depends_on=["create-bucket"],
        retry_on=list(CONFLICTS),
    )


def _default_encryption(b: PlanBuilder, given: PlanInputs, region: str, key_ref: str | None) -> str:
    """Default encryption with the trail's KMS key, or SSE-S3 without one."""
    rule: dict[str, Any]
    if key_ref is not None:
        rule = {
            "ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms",
                "KMSMasterKeyID": key_ref,
            },
            "BucketKeyEnabled": False,
        }
        deps = ["create-bucket", *(["create-key"] if key_ref.startswith("${create-key") else [])]
        summary = "Encrypt every object in the bucket by default with the trail's KMS key"
    else:
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        deps = ["create-bucket"]
        summary = "Encrypt every object in the bucket by default with SSE-S3 (AES-256)"
    return b.add(
        "bucket-encryption",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketEncryption",
            params={
                "Bucket": given.answers.bucket.name,
                "ServerSideEncryptionConfiguration": {"Rules": [rule]},
            },
        ),
        summary,
        changes=given.names.bucket_arn,
        depends_on=deps,
        retry_on=list(CONFLICTS),
    )


def _versioning(b: PlanBuilder, given: PlanInputs, region: str) -> str:
    """Versioning on, so overwritten or deleted log files can be recovered."""
    return b.add(
        "bucket-versioning",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketVersioning",
            params={
                "Bucket": given.answers.bucket.name,
                "VersioningConfiguration": {"Status": "Enabled"},
            },
        ),
        "Turn on versioning (overwritten or deleted log files can be recovered)",
        changes=given.names.bucket_arn,
        depends_on=["create-bucket"],
        retry_on=list(CONFLICTS),
    )


def _tag_bucket(b: PlanBuilder, given: PlanInputs, region: str) -> str:
    """The answers' tags, with the run tag kept."""
    return b.add(
        "bucket-tags",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketTagging",
            # PutBucketTagging replaces the whole tag set: the run tag CreateBucket gave
            # the bucket is written again with the answers' tags, never dropped.
            params={
                "Bucket": given.answers.bucket.name,
                "Tagging": {"TagSet": tags_kv(given.creation_tags())},
            },
        ),
        "Tag the bucket",
        changes=given.names.bucket_arn,
        depends_on=["create-bucket"],
        retry_on=list(CONFLICTS),
    )


def _attach_policy(b: PlanBuilder, given: PlanInputs, region: str) -> str:
    """CloudTrail's bucket policy, beside the bucket's settings.

    It waits for the bucket only: it grants nothing public (CloudTrail's service principal,
    this trail's source ARN, TLS required), so Block Public Access need not come first, and
    a new bucket blocks public access from its creation anyway (S3's default since April
    2023). S3 may refuse overlapping changes to one bucket (OperationAborted): each is retried.
    """
    review = given.reviews.bucket
    return b.add(
        "bucket-policy",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketPolicy",
            params={"Bucket": given.answers.bucket.name, "Policy": review.document},
        ),
        "Attach the bucket policy: CloudTrail may write only this trail's logs, TLS required",
        changes=given.names.bucket_arn,
        depends_on=["create-bucket"],
        retry_on=list(CONFLICTS),
        policy=policy_change(review),
    )
