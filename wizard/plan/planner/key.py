"""The KMS key chain: a new key with its alias (and rotation), or an existing key's policy.

A new key is created in the bucket's region with CloudTrail's key policy; an existing key
gets CloudTrail's statements merged into its policy when they are missing (and it is this
account's to change). Either way the chain returns what CreateTrail gets as ``KmsKeyId``.

When the new key's alias already names the answers' key (an earlier apply made it, or the
trail encrypts with it: :mod:`wizard.plan.desired`), that key is used instead of creating
another: its policy gets the statements it lacks, rotation is turned on when the answers want
it, and the answers' tags are set; each undone by restoring what was there.
"""

from __future__ import annotations

from wizard.account.discovery import KeyFacts
from wizard.model.plan import Call, SettingChange
from wizard.plan.desired import policy_setting, tag_changes
from wizard.plan.planner.builder import PlanBuilder, PlanInputs, policy_change, tags_kv
from wizard.plan.review import PolicyReview
from wizard.policy.merge import MergeResult

NEW_KEY_ARN = "${create-key:KeyMetadata.Arn}"
"""The new key's ARN, known once ``create-key`` has run."""

_NEW_KEY_ID = "${create-key:KeyMetadata.KeyId}"


def key_chain(b: PlanBuilder, given: PlanInputs, trail_deps: list[str]) -> str | None:
    """Create or update the key; returns the value CreateTrail gets as KmsKeyId."""
    enc = given.answers.encryption
    if enc.type != "sse-kms":
        return None
    region = given.names.bucket_region(given.found.bucket.region)
    adopted = given.adopted.key
    if enc.new_key and adopted is not None and adopted.arn:
        trail_deps.extend(_adopted_key(b, given, adopted))
        return adopted.arn
    if enc.new_key:
        trail_deps.extend(_new_key(b, given, region))
        return NEW_KEY_ARN
    return _existing_key(b, given, region, trail_deps)


def _new_key(b: PlanBuilder, given: PlanInputs, region: str) -> list[str]:
    """Create the key, name it and turn on rotation if asked; returns what the trail waits for."""
    _create_key(b, given, region)
    alias = given.names.key_alias()
    last = _create_alias(b, alias, region)
    if given.answers.encryption.rotation:
        last = _enable_rotation(b, alias, region)
    return ["create-key", "create-alias", last]


def _create_key(b: PlanBuilder, given: PlanInputs, region: str) -> str:
    """A symmetric key with CloudTrail's key policy, tagged at creation."""
    review = given.reviews.key
    assert review is not None
    # The run tag also finds the key again if a retry creates a second one.
    tags = given.creation_tags()
    return b.add(
        "create-key",
        "key",
        Call(
            service="kms",
            region=region,
            operation="CreateKey",
            params={
                "Description": f"CloudTrail log encryption for trail {given.answers.trail.name}",
                "KeySpec": "SYMMETRIC_DEFAULT",
                "KeyUsage": "ENCRYPT_DECRYPT",
                "Policy": review.document,
                **({"Tags": tags_kv(tags, "TagKey", "TagValue")} if tags else {}),
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
                params={"KeyId": _NEW_KEY_ID, "PendingWindowInDays": 7},
            )
        ],
        undo_summary="Schedule the key for deletion in 7 days (the shortest window)",
        policy=policy_change(review),
    )


def _create_alias(b: PlanBuilder, alias: str, region: str) -> str:
    """Give the new key its alias."""
    return b.add(
        "create-alias",
        "key",
        Call(
            service="kms",
            region=region,
            operation="CreateAlias",
            params={"AliasName": alias, "TargetKeyId": _NEW_KEY_ID},
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


def _enable_rotation(b: PlanBuilder, alias: str, region: str) -> str:
    """Yearly automatic rotation of the new key."""
    return b.add(
        "enable-key-rotation",
        "key",
        Call(
            service="kms",
            region=region,
            operation="EnableKeyRotation",
            params={"KeyId": _NEW_KEY_ID},
        ),
        "Turn on yearly automatic rotation of the key",
        changes=alias,
        depends_on=["create-key"],
    )


def _existing_key(
    b: PlanBuilder, given: PlanInputs, region: str, trail_deps: list[str]
) -> str | None:
    """The existing key's ARN, after merging CloudTrail's statements if that is ours to do."""
    enc = given.answers.encryption
    key = given.found.key
    if key is None or key.arn is None:
        return enc.existing_key
    central = given.found.central
    # A central key is changed with its owner's credentials, or (without them) by its owner
    # from the hand-off pack: then there is no step here.
    key_account = central.key_account if central is not None else None
    if central is not None and key_account is not None and not central.key_managed:
        return key.arn
    review = given.reviews.key
    if review is not None and review.needs_change and review.merged is not None:
        trail_deps.append(
            _merge_key_policy(
                b,
                enc.existing_key,
                key,
                review,
                review.merged,
                key_account,
                region,
            )
        )
    return key.arn


def _adopted_key(b: PlanBuilder, given: PlanInputs, key: KeyFacts) -> list[str]:
    """The key the alias names: its policy, rotation and tags brought to the answers'."""
    assert key.arn is not None
    region = key.region or given.names.bucket_region(given.found.bucket.region)
    steps: list[str] = []
    review = given.reviews.key
    if review is not None and review.needs_change and review.merged is not None:
        steps.append(
            _merge_key_policy(
                b,
                given.names.key_alias(),
                key,
                review,
                review.merged,
                None,
                region,
            )
        )
    extras = given.found.alias_key_extras
    if given.answers.encryption.rotation and extras is not None and extras.rotation is False:
        steps.append(
            b.add(
                "enable-key-rotation",
                "key",
                Call(
                    service="kms",
                    region=region,
                    operation="EnableKeyRotation",
                    params={"KeyId": key.arn},
                ),
                f"Turn on yearly automatic rotation of the key {given.names.key_alias()}",
                changes=key.arn,
                undo=[
                    Call(
                        service="kms",
                        region=region,
                        operation="DisableKeyRotation",
                        params={"KeyId": key.arn},
                    )
                ],
                undo_summary="Turn automatic rotation off again (it was off)",
                settings=[SettingChange(name="automatic rotation", current="off", wanted="on")],
            )
        )
    to_set, new_keys, previous, changes = tag_changes(
        extras.tags if extras is not None else None, given.answers.trail.tags
    )
    if to_set:
        undo: list[Call] = []
        if new_keys:
            undo.append(
                Call(
                    service="kms",
                    region=region,
                    operation="UntagResource",
                    params={"KeyId": key.arn, "TagKeys": new_keys},
                )
            )
        if previous:
            undo.append(
                Call(
                    service="kms",
                    region=region,
                    operation="TagResource",
                    params={"KeyId": key.arn, "Tags": tags_kv(previous, "TagKey", "TagValue")},
                )
            )
        steps.append(
            b.add(
                "key-tags",
                "key",
                Call(
                    service="kms",
                    region=region,
                    operation="TagResource",
                    params={"KeyId": key.arn, "Tags": tags_kv(to_set, "TagKey", "TagValue")},
                ),
                f"Tag the key {given.names.key_alias()}: " + ", ".join(to_set),
                changes=key.arn,
                undo=undo,
                undo_summary="Remove the tags that were added and put changed ones back "
                "(other tags are never touched)",
                settings=changes,
            )
        )
    return steps


def _merge_key_policy(
    b: PlanBuilder,
    key_ref: str | None,
    key: KeyFacts,
    review: PolicyReview,
    merged: MergeResult,
    key_account: str | None,
    region: str,
) -> str:
    """Write the merged key policy; undone by writing back its exact previous text."""
    assert key.arn is not None
    key_region = key.region or region
    before = review.before or ""
    return b.add(
        "update-key-policy",
        "key",
        Call(
            service="kms",
            region=key_region,
            operation="PutKeyPolicy",
            params={"KeyId": key.arn, "PolicyName": "default", "Policy": review.document},
            account=key_account,
        ),
        f"Merge CloudTrail's statements into the policy of key {key_ref} "
        + f"({len(merged.added)} added, nothing removed)",
        changes=key.arn,
        undo=[
            Call(
                service="kms",
                region=key_region,
                operation="PutKeyPolicy",
                params={"KeyId": key.arn, "PolicyName": "default", "Policy": before},
                account=key_account,
            )
        ],
        undo_summary="Restore the key policy to its exact previous text",
        policy=policy_change(review),
        settings=[policy_setting("key policy", review)],
    )
