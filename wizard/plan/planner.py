"""Building the plan: answers + account facts -> ordered, undoable steps (pure).

The plan is made of four independent chains (bucket, key, topic, logs) and the trail chain
that depends on all of them. New resources are created where they must be: the key in the
bucket's region, the topic, log group and role beside the trail. Policies of existing
resources are merged (see :mod:`wizard.plan.review`), never replaced, and every step says how it
is undone.
"""

from __future__ import annotations

import difflib
from typing import Any

from wizard.account.discovery import Discovery
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.model.names import RUN_TAG
from wizard.model.plan import Call, Chain, Plan, PolicyChange, Step
from wizard.plan.central import build_handoff
from wizard.plan.preflight import preflight
from wizard.plan.review import PolicyReview, Reviews, review_policies
from wizard.plan.selectors import advanced_event_selectors
from wizard.policy.merge import PolicyError, parse_policy, render_policy
from wizard.policy.operator import operator_policy

PROPAGATION_ERRORS = [
    "InsufficientS3BucketPolicyException",
    "InsufficientEncryptionPolicyException",
    "InsufficientSnsTopicPolicyException",
    "InvalidCloudWatchLogsRoleArnException",
    "InvalidCloudWatchLogsLogGroupArnException",
    "KmsKeyNotFoundException",
]
"""CloudTrail errors that right after a policy or role change usually mean "not yet visible"."""

ROLE_POLICY_NAME = "CloudTrailDeliveryToCloudWatchLogs"
"""Name of the inline policy on a new delivery role."""


def _tags_kv(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def creation_tags(answers: Answers, run_id: str | None) -> dict[str, str]:
    """The tags a new resource is created with: the answers' tags plus the run tag.

    The run tag (:data:`wizard.model.names.RUN_TAG`, valued with the plan's run id) is how a
    resource is known to be this run's: a recovery or rollback only touches what carries it.
    An answers tag with the same key never replaces it.
    """
    tags = {k: v for k, v in answers.trail.tags.items() if k != RUN_TAG}
    if run_id:
        tags[RUN_TAG] = run_id
    return dict(sorted(tags.items()))


class _Builder:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(
        self,
        step_id: str,
        chain: Chain,
        call: Call,
        summary: str,
        *,
        creates: str | None = None,
        changes: str | None = None,
        depends_on: list[str] | None = None,
        undo: list[Call] | None = None,
        undo_summary: str = "",
        policy: PolicyChange | None = None,
        retry_on: list[str] | None = None,
    ) -> str:
        self.steps.append(
            Step(
                id=step_id,
                call=call,
                summary=summary,
                chain=chain,
                creates=creates,
                changes=changes,
                depends_on=depends_on or [],
                undo=undo or [],
                undo_summary=undo_summary,
                policy=policy,
                retry_on=retry_on or [],
            )
        )
        return step_id


def readable_diff(before: str | None, after: str) -> str:
    """A diff of the pretty-printed documents, so a one-line policy still diffs line by line.

    The policy written is the merged text itself (byte-for-byte the owner's statements); this
    view only lays both sides out the same way so the added statements stand out.
    """
    if not before:
        return ""
    try:
        old, new = render_policy(parse_policy(before)), render_policy(parse_policy(after))
    except PolicyError:
        old, new = before, after
    if old == new:
        return ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), "current", "merged", n=3
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _policy_change(review: PolicyReview) -> PolicyChange:
    return PolicyChange(
        kind=review.kind,
        resource=review.resource,
        before=None if review.new_resource else review.before,
        after=review.document,
        new_resource=review.new_resource,
        diff=readable_diff(review.before, review.document) if review.merged else "",
        added_sids=[
            str(s.get("Sid", ""))
            for s in (
                review.merged.added if review.merged else review.required.get("Statement", [])
            )
        ],
    )


def build_plan(
    answers: Answers, ctx: AccountContext, found: Discovery, *, run_id: str | None = None
) -> Plan:
    """The plan for these answers in this account; findings included (errors block).

    ``run_id`` (:func:`wizard.run.orphans.new_run_id`) is given for a plan that will be applied:
    every resource the plan creates (key, bucket, access log bucket, trail, topic, log group,
    role) is then tagged with it at creation, so what this run made can be told from what
    was already there (and a key created twice by a retried request can be found and
    removed). Without it the plan is the same for the same inputs.
    """
    names = Names(answers, ctx)
    reviews = review_policies(answers, ctx, found)
    findings = preflight(answers, ctx, found, reviews)
    b = _Builder()
    trail_deps: list[str] = []
    key_ref = _key_chain(b, answers, names, found, reviews, trail_deps, run_id)
    _bucket_chain(b, answers, names, found, reviews, key_ref, trail_deps, run_id)
    topic_ref = _topic_chain(b, answers, names, found, reviews, trail_deps, run_id)
    role_ref = _logs_chain(b, answers, names, found, reviews, trail_deps, run_id)
    _trail_chain(b, answers, names, key_ref, topic_ref, role_ref, trail_deps, run_id)
    _access_log_chain(b, answers, names, found, reviews, run_id)
    policies: dict[str, Any] = {
        "bucket_policy": reviews.bucket.document,
        "key_policy": reviews.key.document if reviews.key else None,
        "sns_topic_policy": reviews.topic.document if reviews.topic else None,
        "cloudwatch_logs_role_trust_policy": (
            reviews.role_trust.document if reviews.role_trust else None
        ),
        "cloudwatch_logs_role_policy": reviews.role_permissions,
    }
    if reviews.access_logs is not None:
        policies["access_log_bucket_policy"] = reviews.access_logs.document
    policies["operator_policy"] = render_policy(operator_policy(answers, ctx))
    if reviews.role_permissions is not None:
        policies["cloudwatch_logs_role_policy"] = render_policy(reviews.role_permissions)
    if found.central is not None:
        pack = build_handoff(answers, ctx, found, reviews)
        if pack is not None:
            policies["central_handoff"] = pack.model_dump(mode="json")
    return Plan(
        account_id=ctx.account_id,
        partition=names.partition,
        home_region=names.home_region,
        trail_arn=names.trail_arn,
        steps=b.steps,
        findings=findings,
        policies=policies,
        fingerprint=found.fingerprint(),
        run_id=run_id,
    )


def _key_chain(
    b: _Builder,
    answers: Answers,
    names: Names,
    found: Discovery,
    reviews: Reviews,
    trail_deps: list[str],
    run_id: str | None,
) -> str | None:
    """Create or update the key; returns the value CreateTrail gets as KmsKeyId."""
    enc = answers.encryption
    if enc.type != "sse-kms":
        return None
    region = names.bucket_region(found.bucket.region)
    if enc.new_key:
        assert reviews.key is not None
        # The run tag also finds the key again if a retry creates a second one.
        tags = creation_tags(answers, run_id)
        b.add(
            "create-key",
            "key",
            Call(
                service="kms",
                region=region,
                operation="CreateKey",
                params={
                    "Description": f"CloudTrail log encryption for trail {answers.trail.name}",
                    "KeySpec": "SYMMETRIC_DEFAULT",
                    "KeyUsage": "ENCRYPT_DECRYPT",
                    "Policy": reviews.key.document,
                    **({"Tags": _tags_kv(tags, "TagKey", "TagValue")} if tags else {}),
                },
            ),
            f"Create a symmetric KMS key in {region} (the bucket's region) with CloudTrail's "
            "key policy",
            creates=f"KMS key in {region}",
            undo=[
                Call(
                    service="kms",
                    region=region,
                    operation="ScheduleKeyDeletion",
                    params={"KeyId": "${create-key:KeyMetadata.KeyId}", "PendingWindowInDays": 7},
                )
            ],
            undo_summary="Schedule the key for deletion in 7 days (the shortest window)",
            policy=_policy_change(reviews.key),
        )
        alias = names.key_alias()
        b.add(
            "create-alias",
            "key",
            Call(
                service="kms",
                region=region,
                operation="CreateAlias",
                params={"AliasName": alias, "TargetKeyId": "${create-key:KeyMetadata.KeyId}"},
            ),
            f"Name the key {alias}",
            creates=alias,
            depends_on=["create-key"],
            undo=[
                Call(
                    service="kms",
                    region=region,
                    operation="DeleteAlias",
                    params={"AliasName": alias},
                )
            ],
            undo_summary=f"Delete the alias {alias}",
        )
        last = "create-alias"
        if enc.rotation:
            last = b.add(
                "enable-key-rotation",
                "key",
                Call(
                    service="kms",
                    region=region,
                    operation="EnableKeyRotation",
                    params={"KeyId": "${create-key:KeyMetadata.KeyId}"},
                ),
                "Turn on yearly automatic rotation of the key",
                changes=alias,
                depends_on=["create-key"],
            )
        trail_deps.extend(["create-key", "create-alias", last])
        return "${create-key:KeyMetadata.Arn}"
    key = found.key
    if key is None or key.arn is None:
        return enc.existing_key
    central = found.central
    # A central key is changed with its owner's credentials, or (without them) by its owner
    # from the hand-off pack: then there is no step here.
    key_account = central.key_account if central is not None else None
    if central is not None and key_account is not None and not central.key_managed:
        return key.arn
    if reviews.key is not None and reviews.key.needs_change and reviews.key.merged is not None:
        before = reviews.key.before or ""
        b.add(
            "update-key-policy",
            "key",
            Call(
                service="kms",
                region=key.region or region,
                operation="PutKeyPolicy",
                params={"KeyId": key.arn, "PolicyName": "default", "Policy": reviews.key.document},
                account=key_account,
            ),
            f"Merge CloudTrail's statements into the policy of key {enc.existing_key} "
            f"({len(reviews.key.merged.added)} added, nothing removed)",
            changes=key.arn,
            undo=[
                Call(
                    service="kms",
                    region=key.region or region,
                    operation="PutKeyPolicy",
                    params={"KeyId": key.arn, "PolicyName": "default", "Policy": before},
                    account=key_account,
                )
            ],
            undo_summary="Restore the key policy to its exact previous text",
            policy=_policy_change(reviews.key),
        )
        trail_deps.append("update-key-policy")
    return key.arn


def _bucket_chain(
    b: _Builder,
    answers: Answers,
    names: Names,
    found: Discovery,
    reviews: Reviews,
    key_ref: str | None,
    trail_deps: list[str],
    run_id: str | None,
) -> None:
    bucket = answers.bucket.name
    if not answers.bucket.create:
        review = reviews.bucket
        central = found.central
        account = central.bucket_account if central is not None else None
        # Without the owner's credentials a central bucket's policy is the owner's to change.
        handoff = central is not None and account is not None and not central.bucket_managed
        if (
            review.needs_change
            and review.merged is not None
            and found.bucket.region
            and not handoff
        ):
            region = found.bucket.region
            undo = (
                Call(
                    service="s3",
                    region=region,
                    operation="PutBucketPolicy",
                    params={"Bucket": bucket, "Policy": review.before},
                    account=account,
                )
                if review.before
                else Call(
                    service="s3",
                    region=region,
                    operation="DeleteBucketPolicy",
                    params={"Bucket": bucket},
                    account=account,
                )
            )
            b.add(
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
                + f"({len(review.merged.added)} added, nothing removed)",
                changes=names.bucket_arn,
                undo=[undo],
                undo_summary=(
                    "Restore the bucket policy to its exact previous text"
                    if review.before
                    else "Delete the bucket policy again (there was none)"
                ),
                policy=_policy_change(review),
            )
            trail_deps.append("update-bucket-policy")
        return
    region = names.bucket_region()
    create_params = _create_bucket_params(bucket, region, run_id)
    b.add(
        "create-bucket",
        "bucket",
        Call(service="s3", region=region, operation="CreateBucket", params=create_params),
        f"Create bucket {bucket} in {region} (ACLs disabled: bucket owner owns every object)",
        creates=names.bucket_arn,
        undo=[
            Call(service="s3", region=region, operation="DeleteBucket", params={"Bucket": bucket})
        ],
        undo_summary=f"Delete the bucket {bucket} (it is new and empty)",
    )
    chain = ["create-bucket"]
    b.add(
        "block-public-access",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutPublicAccessBlock",
            params={
                "Bucket": bucket,
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            },
        ),
        "Block all public access to the bucket",
        changes=names.bucket_arn,
        depends_on=["create-bucket"],
    )
    chain.append("block-public-access")
    if key_ref is not None:
        rule: dict[str, Any] = {
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
    b.add(
        "bucket-encryption",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketEncryption",
            params={"Bucket": bucket, "ServerSideEncryptionConfiguration": {"Rules": [rule]}},
        ),
        summary,
        changes=names.bucket_arn,
        depends_on=deps,
    )
    chain.append("bucket-encryption")
    if answers.bucket.versioning:
        b.add(
            "bucket-versioning",
            "bucket",
            Call(
                service="s3",
                region=region,
                operation="PutBucketVersioning",
                params={"Bucket": bucket, "VersioningConfiguration": {"Status": "Enabled"}},
            ),
            "Turn on versioning (overwritten or deleted log files can be recovered)",
            changes=names.bucket_arn,
            depends_on=["create-bucket"],
        )
        chain.append("bucket-versioning")
    if answers.trail.tags:
        b.add(
            "bucket-tags",
            "bucket",
            Call(
                service="s3",
                region=region,
                operation="PutBucketTagging",
                # PutBucketTagging replaces the whole tag set: the run tag CreateBucket gave
                # the bucket is written again with the answers' tags, never dropped.
                params={
                    "Bucket": bucket,
                    "Tagging": {"TagSet": _tags_kv(creation_tags(answers, run_id))},
                },
            ),
            "Tag the bucket",
            changes=names.bucket_arn,
            depends_on=["create-bucket"],
        )
        chain.append("bucket-tags")
    b.add(
        "bucket-policy",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketPolicy",
            params={"Bucket": bucket, "Policy": reviews.bucket.document},
        ),
        "Attach the bucket policy: CloudTrail may write only this trail's logs, TLS required",
        changes=names.bucket_arn,
        depends_on=["create-bucket", "block-public-access"],
        policy=_policy_change(reviews.bucket),
    )
    chain.append("bucket-policy")
    trail_deps.extend(chain)


def _create_bucket_params(bucket: str, region: str, run_id: str | None) -> dict[str, Any]:
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


def _access_log_chain(
    b: _Builder,
    answers: Answers,
    names: Names,
    found: Discovery,
    reviews: Reviews,
    run_id: str | None,
) -> None:
    """Server access logging of the log bucket into its target bucket (off by default)."""
    access = answers.bucket.access_logs
    review = reviews.access_logs
    if access is None or review is None:
        return
    log_bucket = answers.bucket.name
    target = access.bucket
    target_arn = review.resource
    region = names.bucket_region(found.bucket.region)
    # After the log bucket's own steps: the same S3 operations then reach AWS in plan order.
    after_log_bucket = [s.id for s in b.steps if s.chain == "bucket"]
    policy_steps: list[str] = []
    if access.create:
        params = _create_bucket_params(target, region, run_id)
        first = b.add(
            "create-access-log-bucket",
            "bucket",
            Call(service="s3", region=region, operation="CreateBucket", params=params),
            f"Create bucket {target} in {region} for the log bucket's server access logs "
            "(ACLs disabled)",
            creates=target_arn,
            depends_on=after_log_bucket,
            undo=[
                Call(
                    service="s3", region=region, operation="DeleteBucket", params={"Bucket": target}
                )
            ],
            undo_summary=f"Delete the bucket {target} (it is new)",
        )
        settings: list[tuple[str, str, dict[str, Any], str]] = [
            (
                "access-log-block-public-access",
                "PutPublicAccessBlock",
                {
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "IgnorePublicAcls": True,
                        "BlockPublicPolicy": True,
                        "RestrictPublicBuckets": True,
                    }
                },
                "Block all public access to the access log bucket",
            ),
            (
                "access-log-bucket-encryption",
                "PutBucketEncryption",
                {
                    "ServerSideEncryptionConfiguration": {
                        "Rules": [
                            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    }
                },
                "Encrypt access logs by default with SSE-S3 (AES-256; S3 log delivery does not "
                "support SSE-KMS targets)",
            ),
        ]
        if answers.bucket.versioning:
            settings.append(
                (
                    "access-log-bucket-versioning",
                    "PutBucketVersioning",
                    {"VersioningConfiguration": {"Status": "Enabled"}},
                    "Turn on versioning of the access log bucket (as for the log bucket)",
                )
            )
        if answers.trail.tags:
            settings.append(
                (
                    "access-log-bucket-tags",
                    "PutBucketTagging",
                    # The whole tag set: the run tag from CreateBucket is kept.
                    {"Tagging": {"TagSet": _tags_kv(creation_tags(answers, run_id))}},
                    "Tag the access log bucket",
                )
            )
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
                changes=target_arn,
                depends_on=[first],
            )
        policy_steps.append(
            b.add(
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
                changes=target_arn,
                depends_on=[first, "access-log-block-public-access"],
                policy=_policy_change(review),
            )
        )
        policy_steps.extend(step for step, *_ in settings)
    elif review.needs_change and review.merged is not None:
        target_region = (
            found.access_logs.target.region if found.access_logs is not None else None
        ) or region
        undo = (
            Call(
                service="s3",
                region=target_region,
                operation="PutBucketPolicy",
                params={"Bucket": target, "Policy": review.before},
            )
            if review.before
            else Call(
                service="s3",
                region=target_region,
                operation="DeleteBucketPolicy",
                params={"Bucket": target},
            )
        )
        policy_steps.append(
            b.add(
                "update-access-log-bucket-policy",
                "bucket",
                Call(
                    service="s3",
                    region=target_region,
                    operation="PutBucketPolicy",
                    params={"Bucket": target, "Policy": review.document},
                ),
                f"Merge S3 log delivery's statement into the policy of bucket {target} "
                f"({len(review.merged.added)} added, nothing removed)",
                changes=target_arn,
                depends_on=after_log_bucket,
                undo=[undo],
                undo_summary=(
                    "Restore the bucket policy to its exact previous text"
                    if review.before
                    else "Delete the bucket policy again (there was none)"
                ),
                policy=_policy_change(review),
            )
        )
    facts = found.access_logs
    previous = facts.current if facts is not None else None
    restore: dict[str, Any] = {"LoggingEnabled": previous} if previous else {}
    b.add(
        "bucket-access-logging",
        "bucket",
        Call(
            service="s3",
            region=region,
            operation="PutBucketLogging",
            params={
                "Bucket": log_bucket,
                "BucketLoggingStatus": {
                    "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": access.prefix}
                },
            },
        ),
        f"Send the log bucket's server access logs to {target}/{access.prefix} "
        "(CIS 4.4, Security Hub CloudTrail.7)",
        changes=names.bucket_arn,
        # Last of all: once S3 delivers access logs, the new access log bucket is no longer
        # empty and could not be deleted by a rollback.
        depends_on=[
            *(["create-bucket"] if answers.bucket.create else []),
            *policy_steps,
            "start-logging",
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
    )


def _topic_chain(
    b: _Builder,
    answers: Answers,
    names: Names,
    found: Discovery,
    reviews: Reviews,
    trail_deps: list[str],
    run_id: str | None,
) -> str | None:
    topic_arn = names.topic_arn
    if not answers.notifications.sns_topic or topic_arn is None or reviews.topic is None:
        return None
    region = topic_arn.split(":")[3]
    review = reviews.topic
    if review.new_resource:
        name = answers.notifications.topic_name or ""
        params: dict[str, Any] = {"Name": name, "Attributes": {"Policy": review.document}}
        tags = creation_tags(answers, run_id)
        if tags:
            # With the run tag, CreateTopic on a name someone else's topic already has fails
            # (different tags) instead of quietly answering with that topic's ARN.
            params["Tags"] = _tags_kv(tags)
        b.add(
            "create-topic",
            "topic",
            Call(service="sns", region=region, operation="CreateTopic", params=params),
            f"Create SNS topic {name} that only this trail may publish to",
            creates=topic_arn,
            undo=[
                Call(
                    service="sns",
                    region=region,
                    operation="DeleteTopic",
                    params={"TopicArn": "${create-topic:TopicArn}"},
                )
            ],
            undo_summary=f"Delete the topic {name}",
            policy=_policy_change(review),
        )
        trail_deps.append("create-topic")
        return topic_arn
    if review.needs_change and review.merged is not None:
        b.add(
            "update-topic-policy",
            "topic",
            Call(
                service="sns",
                region=region,
                operation="SetTopicAttributes",
                params={
                    "TopicArn": topic_arn,
                    "AttributeName": "Policy",
                    "AttributeValue": review.document,
                },
            ),
            f"Merge CloudTrail's publish statement into the policy of topic {topic_arn}",
            changes=topic_arn,
            undo=[
                Call(
                    service="sns",
                    region=region,
                    operation="SetTopicAttributes",
                    params={
                        "TopicArn": topic_arn,
                        "AttributeName": "Policy",
                        "AttributeValue": review.before or "",
                    },
                )
            ],
            undo_summary="Restore the topic policy to its exact previous text",
            policy=_policy_change(review),
        )
        trail_deps.append("update-topic-policy")
    return topic_arn


def _logs_chain(
    b: _Builder,
    answers: Answers,
    names: Names,
    found: Discovery,
    reviews: Reviews,
    trail_deps: list[str],
    run_id: str | None,
) -> str | None:
    cw = answers.cloudwatch_logs
    if not cw.enabled or cw.log_group is None:
        return None
    region = names.home_region
    logs = found.logs
    if logs is None or not logs.group_exists:
        group_tags = creation_tags(answers, run_id)
        tags = {"tags": group_tags} if group_tags else {}
        b.add(
            "create-log-group",
            "logs",
            Call(
                service="logs",
                region=region,
                operation="CreateLogGroup",
                params={"logGroupName": cw.log_group, **tags},
            ),
            f"Create CloudWatch Logs group {cw.log_group} in {region}",
            creates=names.log_group_arn,
            undo=[
                Call(
                    service="logs",
                    region=region,
                    operation="DeleteLogGroup",
                    params={"logGroupName": cw.log_group},
                )
            ],
            undo_summary=f"Delete the log group {cw.log_group}",
        )
        b.add(
            "log-group-retention",
            "logs",
            Call(
                service="logs",
                region=region,
                operation="PutRetentionPolicy",
                params={"logGroupName": cw.log_group, "retentionInDays": cw.retention_days},
            ),
            f"Keep events for {cw.retention_days} days",
            changes=names.log_group_arn,
            depends_on=["create-log-group"],
        )
        trail_deps.extend(["create-log-group", "log-group-retention"])
    if cw.role_is_arn:
        return cw.role
    if logs is not None and logs.role_exists:
        # A role of that name is not this run's to create or change: preflight refuses the
        # plan (iam-role-exists), and the plan only names the role it found.
        return logs.role_arn or names.role_arn
    role = names.role_name or ""
    assert reviews.role_trust is not None and reviews.role_permissions is not None

    role_params: dict[str, Any] = {
        "RoleName": role,
        "AssumeRolePolicyDocument": reviews.role_trust.document,
        "Description": f"Lets CloudTrail trail {answers.trail.name} write to {cw.log_group}",
    }
    role_tags = creation_tags(answers, run_id)
    if role_tags:
        role_params["Tags"] = _tags_kv(role_tags)
    b.add(
        "create-role",
        "logs",
        Call(service="iam", region=region, operation="CreateRole", params=role_params),
        f"Create IAM role {role} that only CloudTrail (this trail) can assume",
        creates=names.role_arn,
        undo=[
            Call(service="iam", region=region, operation="DeleteRole", params={"RoleName": role})
        ],
        undo_summary=f"Delete the role {role}",
        policy=_policy_change(reviews.role_trust),
    )
    b.add(
        "put-role-policy",
        "logs",
        Call(
            service="iam",
            region=region,
            operation="PutRolePolicy",
            params={
                "RoleName": role,
                "PolicyName": ROLE_POLICY_NAME,
                "PolicyDocument": render_policy(reviews.role_permissions),
            },
        ),
        f"Let the role create log streams and put events in {cw.log_group} only",
        changes=names.role_arn,
        depends_on=["create-role"],
        undo=[
            Call(
                service="iam",
                region=region,
                operation="DeleteRolePolicy",
                params={"RoleName": role, "PolicyName": ROLE_POLICY_NAME},
            )
        ],
        undo_summary="Remove the role's inline policy",
        policy=PolicyChange(
            kind="role-permissions",
            resource=names.role_arn or role,
            before=None,
            after=render_policy(reviews.role_permissions),
            added_sids=[str(s["Sid"]) for s in reviews.role_permissions["Statement"]],
        ),
    )
    trail_deps.extend(["create-role", "put-role-policy"])
    return "${create-role:Role.Arn}"


def _trail_chain(
    b: _Builder,
    answers: Answers,
    names: Names,
    key_ref: str | None,
    topic_ref: str | None,
    role_ref: str | None,
    deps: list[str],
    run_id: str | None,
) -> None:
    t = answers.trail
    region = names.home_region
    params: dict[str, Any] = {
        "Name": t.name,
        "S3BucketName": answers.bucket.name,
        "IncludeGlobalServiceEvents": t.include_global_events,
        "IsMultiRegionTrail": t.multi_region,
        "EnableLogFileValidation": t.log_file_validation,
        "IsOrganizationTrail": t.organization,
    }
    if answers.bucket.prefix:
        params["S3KeyPrefix"] = answers.bucket.prefix
    if key_ref:
        params["KmsKeyId"] = key_ref
    if topic_ref:
        params["SnsTopicName"] = topic_ref
    if role_ref and names.log_group_arn:
        params["CloudWatchLogsLogGroupArn"] = names.log_group_arn
        params["CloudWatchLogsRoleArn"] = role_ref
    trail_tags = creation_tags(answers, run_id)
    if trail_tags:
        params["TagsList"] = _tags_kv(trail_tags)
    b.add(
        "create-trail",
        "trail",
        Call(service="cloudtrail", region=region, operation="CreateTrail", params=params),
        f"Create trail {t.name} in {region}"
        + (" recording every region" if t.multi_region else "")
        + (", log file validation on" if t.log_file_validation else ""),
        creates=names.trail_arn,
        depends_on=list(dict.fromkeys(deps)),
        undo=[
            Call(
                service="cloudtrail",
                region=region,
                operation="DeleteTrail",
                params={"Name": names.trail_arn},
            )
        ],
        undo_summary=f"Delete the trail {t.name}",
        retry_on=list(PROPAGATION_ERRORS),
    )
    selectors = advanced_event_selectors(answers, names)
    b.add(
        "put-event-selectors",
        "trail",
        Call(
            service="cloudtrail",
            region=region,
            operation="PutEventSelectors",
            params={"TrailName": names.trail_arn, "AdvancedEventSelectors": selectors},
        ),
        "Choose the events to record: " + ", ".join(s["Name"] for s in selectors),
        changes=names.trail_arn,
        depends_on=["create-trail"],
    )
    last = "put-event-selectors"
    if answers.events.insights:
        last = b.add(
            "put-insight-selectors",
            "trail",
            Call(
                service="cloudtrail",
                region=region,
                operation="PutInsightSelectors",
                params={
                    "TrailName": names.trail_arn,
                    "InsightSelectors": [{"InsightType": i} for i in answers.events.insights],
                },
            ),
            "Turn on CloudTrail Insights: " + ", ".join(answers.events.insights),
            changes=names.trail_arn,
            depends_on=["create-trail"],
        )
    b.add(
        "start-logging",
        "trail",
        Call(
            service="cloudtrail",
            region=region,
            operation="StartLogging",
            params={"Name": names.trail_arn},
        ),
        "Start logging (trails created through the API do not log until this call)",
        changes=names.trail_arn,
        depends_on=["put-event-selectors", last],
        undo=[
            Call(
                service="cloudtrail",
                region=region,
                operation="StopLogging",
                params={"Name": names.trail_arn},
            )
        ],
        undo_summary="Stop logging",
    )
