"""The SNS topic chain: a new topic only this trail may publish to, or an existing one's policy.

A new topic is encrypted with the trail's new key when the key is in the topic's region
(:func:`wizard.policy.policies.encrypts_topic`, the rule every export follows too).
"""

from __future__ import annotations

from typing import Any

from wizard.model.plan import Call
from wizard.plan.planner.builder import PlanBuilder, PlanInputs, policy_change, tags_kv
from wizard.plan.planner.key import NEW_KEY_ARN
from wizard.plan.review import PolicyReview
from wizard.policy.policies import encrypts_topic


def topic_chain(b: PlanBuilder, given: PlanInputs, trail_deps: list[str]) -> str | None:
    """Create the topic or merge into its policy; returns what CreateTrail gets as SnsTopicName."""
    topic_arn = given.names.topic_arn
    review = given.reviews.topic
    if not given.answers.notifications.sns_topic or topic_arn is None or review is None:
        return None
    region = topic_arn.split(":")[3]
    if review.new_resource:
        trail_deps.append(_create_topic(b, given, review, topic_arn, region))
    elif review.needs_change and review.merged is not None:
        trail_deps.append(_merge_topic_policy(b, review, topic_arn, region))
    return topic_arn


def _create_topic(
    b: PlanBuilder, given: PlanInputs, review: PolicyReview, topic_arn: str, region: str
) -> str:
    """CreateTopic with CloudTrail's topic policy, tagged at creation."""
    name = given.answers.notifications.topic_name or ""
    attributes: dict[str, Any] = {"Policy": review.document}
    depends_on: list[str] = []
    summary = f"Create SNS topic {name} that only this trail may publish to"
    if encrypts_topic(given.names, given.names.bucket_region(given.found.bucket.region)):
        # Encrypted with the trail's new key, whose policy lets CloudTrail publish to it
        # (wizard.policy.policies.encrypts_topic: the same rule as the exports). When that key
        # exists already (an earlier apply made it, wizard.plan.desired), it is used as it is.
        adopted = given.adopted.key
        if adopted is not None and adopted.arn:
            attributes["KmsMasterKeyId"] = adopted.arn
            summary += f", encrypted with the trail's key {given.names.key_alias()}"
        else:
            attributes["KmsMasterKeyId"] = NEW_KEY_ARN
            depends_on.append("create-key")
            summary += ", encrypted with the trail's new key"
    params: dict[str, Any] = {"Name": name, "Attributes": attributes}
    tags = given.creation_tags()
    if tags:
        # With the run tag, CreateTopic on a name someone else's topic already has fails
        # (different tags) instead of quietly answering with that topic's ARN.
        params["Tags"] = tags_kv(tags)
    return b.add(
        "create-topic",
        "topic",
        Call(service="sns", region=region, operation="CreateTopic", params=params),
        summary,
        creates=topic_arn,
        depends_on=depends_on,
        undo=[
            Call(
                service="sns",
                region=region,
                operation="DeleteTopic",
                params={"TopicArn": "${create-topic:TopicArn}"},
            )
        ],
        undo_summary=f"Delete the topic {name}",
        policy=policy_change(review),
    )


def _merge_topic_policy(b: PlanBuilder, review: PolicyReview, topic_arn: str, region: str) -> str:
    """Write the merged topic policy; undone by writing back its exact previous text."""
    return b.add(
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
        policy=policy_change(review),
    )
