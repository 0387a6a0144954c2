"""Server access logging of the log bucket into its target bucket (off by default).

The target is created (ACLs disabled, public access blocked, SSE-S3, versioning and tags as
for the log bucket, and S3 log delivery's bucket policy) or, when it exists, gets log
delivery's statement merged into its policy. Logging is turned on last of all.

A target the answers create that exists already and is theirs (an earlier apply made it, or
the log bucket already logs into it: :mod:`wizard.plan.desired`) is compared setting by
setting like the log bucket; logging that already goes where the answers say is left as it
is.
"""

from __future__ import annotations

from typing import Any

from wizard.model.answers import AccessLogAnswers
from wizard.model.plan import Call, SettingChange
from wizard.plan.desired import policy_setting
from wizard.plan.planner.bucket import (
    block_all_public_access,
    bucket_setting_steps,
    create_bucket_params,
    restore_bucket_policy,
    restore_bucket_policy_summary,
)
from wizard.plan.planner.builder import PlanBuilder, PlanInputs, policy_change, tags_kv
from wizard.plan.review import PolicyReview
from wizard.policy.merge import MergeResult

_Setting = tuple[str, str, dict[str, Any], str]
"""One setting of a new target bucket: step id, S3 operation, its parameters, summary."""


def access_log_chain(b: PlanBuilder, given: PlanInputs) -> None:
    """Server access logging of the log bucket into its target bucket (off by default)."""
    access = given.answers.bucket.access_logs
    review = given.reviews.access_logs
    if access is None or review is None:
        return
    region = given.names.bucket_region(given.found.bucket.region)
    # After the log bucket's own steps: the same S3 operations then reach AWS in plan order.
    after_log_bucket = b.ids_in("bucket")
    policy_steps: list[str] = []
    if given.adopted.access_log_bucket:
        policy_steps = _adopted_target(b, given, access.bucket, review, region, after_log_bucket)
    elif access.create:
        policy_steps = _new_target(b, given, access.bucket, review, region, after_log_bucket)
    elif review.needs_change and review.merged is not None:
        policy_steps = [
            _merge_target_policy(
                b, given, access.bucket, review, review.merged, region, after_log_bucket
            )
        ]
    _turn_on_logging(b, given, access, region, policy_steps)


def _adopted_target(
    b: PlanBuilder,
    given: PlanInputs,
    target: str,
    review: PolicyReview,
    region: str,
    after_log_bucket: list[str],
) -> list[str]:
    """The answers' access log bucket exists: change only the settings that differ."""
    facts = given.found.access_logs
    assert facts is not None
    target_region = facts.target.region or region
    steps = [
        step
        for step in bucket_setting_steps(
            b,
            given,
            facts.target,
            bucket=target,
            arn=review.resource,
            region=target_region,
            key_ref=None,  # S3 log delivery does not support SSE-KMS targets
            prefix="access-log-",
        )
        if step is not None
    ]
    if review.needs_change and review.merged is not None and not review.error:
        steps.append(
            _merge_target_policy(b, given, target, review, review.merged, region, after_log_bucket)
        )
    return steps


def _new_target(
    b: PlanBuilder,
    given: PlanInputs,
    target: str,
    review: PolicyReview,
    region: str,
    after_log_bucket: list[str],
) -> list[str]:
    """Create and set up the target bucket; returns the steps logging must wait for."""
    first = _create_target(b, given, target, review, region, after_log_bucket)
    settings = _target_settings(given)
    for step_id, operation, extra, summary in settings:
        b.add(
            step_id,
            "bucket",
            Call(
                service="s3",
                region=region,
                operation=operation,
                params={"Bucket": target, **extra},
            ),
            summary,
            changes=review.resource,
            depends_on=[first],
        )
    policy = _attach_target_policy(b, target, review, region, first)
    return [policy, *(step for step, *_ in settings)]


def _create_target(
    b: PlanBuilder,
    given: PlanInputs,
    target: str,
    review: PolicyReview,
    region: str,
    after_log_bucket: list[str],
) -> str:
    """CreateBucket for the target, ACLs disabled; undone by deleting it."""
    return b.add(
        "create-access-log-bucket",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="CreateBucket",
            params=create_bucket_params(target, region, given.run_id),
        ),
        f"Create bucket {target} in {region} for the log bucket's server access logs "
        "(ACLs disabled)",
        creates=review.resource,
        depends_on=after_log_bucket,
        undo=[
            Call(service="s3", region=region, operation="DeleteBucket", params={"Bucket": target})
        ],
        undo_summary=f"Delete the bucket {target} (it is new)",
    )


def _target_settings(given: PlanInputs) -> list[_Setting]:
    """The new target's settings, as for the log bucket (but SSE-S3 only)."""
    settings: list[_Setting] = [
        (
            "access-log-block-public-access",
            "PutPublicAccessBlock",
            {"PublicAccessBlockConfiguration": block_all_public_access()},
            "Block all public access to the access log bucket",
        ),
        (
            "access-log-bucket-encryption",
            "PutBucketEncryption",
            {
                "ServerSideEncryptionConfiguration": {
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                }
            },
            "Encrypt access logs by default with SSE-S3 (AES-256; S3 log delivery does not "
            "support SSE-KMS targets)",
        ),
    ]
    if given.answers.bucket.versioning:
        settings.append(
            (
                "access-log-bucket-versioning",
                "PutBucketVersioning",
                {"VersioningConfiguration": {"Status": "Enabled"}},
                "Turn on versioning of the access log bucket (as for the log bucket)",
            )
        )
    if given.answers.trail.tags:
        settings.append(
            (
                "access-log-bucket-tags",
                "PutBucketTagging",
                # The whole tag set: the run tag from CreateBucket is kept.
                {"Tagging": {"TagSet": tags_kv(given.creation_tags())}},
                "Tag the access log bucket",
            )
        )
    return settings


def _attach_target_policy(
    b: PlanBuilder, target: str, review: PolicyReview, region: str, first: str
) -> str:
    """S3 log delivery's bucket policy on the new target, once public access is blocked."""
    return b.add(
        "access-log-bucket-policy",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketPolicy",
            params={"Bucket": target, "Policy": review.document},
        ),
        "Attach the access log bucket's policy: S3 log delivery may write only the log "
        "bucket's access logs under the prefix, TLS required",
        changes=review.resource,
        depends_on=[first, "access-log-block-public-access"],
        policy=policy_change(review),
    )


def _merge_target_policy(
    b: PlanBuilder,
    given: PlanInputs,
    target: str,
    review: PolicyReview,
    merged: MergeResult,
    region: str,
    after_log_bucket: list[str],
) -> str:
    """Merge log delivery's statement into an existing target's policy, in its own region."""
    facts = given.found.access_logs
    target_region = (facts.target.region if facts is not None else None) or region
    return b.add(
        "update-access-log-bucket-policy",
        "bucket",
        Call(
            service="s3",
            region=target_region,
            operation="PutBucketPolicy",
            params={"Bucket": target, "Policy": review.document},
        ),
        f"Merge S3 log delivery's statement into the policy of bucket {target} "
        f"({len(merged.added)} added, nothing removed)",
        changes=review.resource,
        depends_on=after_log_bucket,
        undo=[restore_bucket_policy(target, target_region, review.before)],
        undo_summary=restore_bucket_policy_summary(review.before),
        policy=policy_change(review),
        settings=[policy_setting("access log bucket policy", review)],
    )


def _turn_on_logging(
    b: PlanBuilder,
    given: PlanInputs,
    access: AccessLogAnswers,
    region: str,
    policy_steps: list[str],
) -> str | None:
    """PutBucketLogging on the log bucket; undone by restoring the previous setting.

    None when the log bucket already logs where the answers say (nothing to change)."""
    log_bucket = given.answers.bucket.name
    facts = given.found.access_logs
    previous = facts.current if facts is not None else None
    wanted = {"TargetBucket": access.bucket, "TargetPrefix": access.prefix}
    if previous is not None and all(previous.get(k) == v for k, v in wanted.items()):
        return None  # already logging where the answers say
    restore: dict[str, Any] = {"LoggingEnabled": previous} if previous else {}
    trail_steps = b.ids_in("trail")
    settings = []
    if not given.answers.bucket.create or given.adopted.bucket:
        settings = [
            SettingChange(
                name="server access logging",
                current=(
                    f"{previous.get('TargetBucket')}/{previous.get('TargetPrefix', '')}"
                    if previous
                    else "off"
                ),
                wanted=f"{access.bucket}/{access.prefix}",
            )
        ]
    return b.add(
        "bucket-access-logging",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketLogging",
            params={
                "Bucket": log_bucket,
                "BucketLoggingStatus": {
                    "LoggingEnabled": {"TargetBucket": access.bucket, "TargetPrefix": access.prefix}
                },
            },
        ),
        f"Send the log bucket's server access logs to {access.bucket}/{access.prefix} "
        "(CIS 4.4, Security Hub CloudTrail.7)",
        changes=given.names.bucket_arn,
        # Last of all: once S3 delivers access logs, the new access log bucket is no longer
        # empty and could not be deleted by a rollback.
        depends_on=[
            *(["create-bucket"] if "create-bucket" in b.ids_in("bucket") else []),
            *policy_steps,
            *trail_steps[-1:],
        ],
        undo=[
            Call(
                service="s3",
                region=region,
                operation="PutBucketLogging",
                params={"Bucket": log_bucket, "BucketLoggingStatus": restore},
            )
        ],
        undo_summary=(
            f"Send the access logs to {previous.get('TargetBucket')} again, as before"
            if previous
            else "Turn server access logging of the log bucket off again"
        ),
        settings=settings,
    )
