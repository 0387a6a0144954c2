"""The trail chain: create the trail once everything it uses is ready, choose its events, start it.

CreateTrail depends on every step of the other chains (CloudTrail checks the bucket, key,
topic and role policies when the trail is created) and is retried on the errors that right
after such a change usually mean "not yet visible". A trail created through the API does not
log until StartLogging.
"""

from __future__ import annotations

from typing import Any

from wizard.model.plan import Call
from wizard.plan.planner.builder import PlanBuilder, PlanInputs, tags_kv
from wizard.plan.selectors import advanced_event_selectors

PROPAGATION_ERRORS = [
    "InsufficientS3BucketPolicyException",
    "InsufficientEncryptionPolicyException",
    "InsufficientSnsTopicPolicyException",
    "InvalidCloudWatchLogsRoleArnException",
    "InvalidCloudWatchLogsLogGroupArnException",
    "KmsKeyNotFoundException",
]
"""CloudTrail errors that right after a policy or role change usually mean "not yet visible"."""


def trail_chain(
    b: PlanBuilder,
    given: PlanInputs,
    key_ref: str | None,
    topic_ref: str | None,
    role_ref: str | None,
    deps: list[str],
) -> None:
    """Add the trail's steps, after ``deps`` (what the other chains made or changed)."""
    params = _create_trail_params(given, key_ref, topic_ref, role_ref)
    _create_trail(b, given, params, deps)
    _put_event_selectors(b, given)
    last = "put-event-selectors"
    if given.answers.events.insights:
        last = _put_insight_selectors(b, given)
    _start_logging(b, given, last)


def _create_trail_params(
    given: PlanInputs, key_ref: str | None, topic_ref: str | None, role_ref: str | None
) -> dict[str, Any]:
    """CreateTrail's parameters: the answers' settings and what the other chains return."""
    answers, names = given.answers, given.names
    t = answers.trail
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
    trail_tags = given.creation_tags()
    if trail_tags:
        params["TagsList"] = tags_kv(trail_tags)
    return params


def _create_trail(
    b: PlanBuilder, given: PlanInputs, params: dict[str, Any], deps: list[str]
) -> str:
    """CreateTrail in the home region, retried while the policies it needs propagate."""
    t = given.answers.trail
    region = given.names.home_region
    trail_arn = given.names.trail_arn
    return b.add(
        "create-trail",
        "trail",
        Call(service="cloudtrail", region=region, operation="CreateTrail", params=params),
        f"Create trail {t.name} in {region}"
        + (" recording every region" if t.multi_region else "")
        + (", log file validation on" if t.log_file_validation else ""),
        creates=trail_arn,
        depends_on=list(dict.fromkeys(deps)),
        undo=[
            Call(
                service="cloudtrail",
                region=region,
                operation="DeleteTrail",
                params={"Name": trail_arn},
            )
        ],
        undo_summary=f"Delete the trail {t.name}",
        retry_on=list(PROPAGATION_ERRORS),
    )


def _put_event_selectors(b: PlanBuilder, given: PlanInputs) -> str:
    """The events to record, as advanced event selectors."""
    trail_arn = given.names.trail_arn
    selectors = advanced_event_selectors(given.answers, given.names)
    return b.add(
        "put-event-selectors",
        "trail",
        Call(
            service="cloudtrail",
            region=given.names.home_region,
            operation="PutEventSelectors",
            params={"TrailName": trail_arn, "AdvancedEventSelectors": selectors},
        ),
        "Choose the events to record: " + ", ".join(s["Name"] for s in selectors),
        changes=trail_arn,
        depends_on=["create-trail"],
    )


def _put_insight_selectors(b: PlanBuilder, given: PlanInputs) -> str:
    """CloudTrail Insights, when the answers ask for it."""
    trail_arn = given.names.trail_arn
    insights = given.answers.events.insights
    return b.add(
        "put-insight-selectors",
        "trail",
        Call(
            service="cloudtrail",
            region=given.names.home_region,
            operation="PutInsightSelectors",
            params={
                "TrailName": trail_arn,
                "InsightSelectors": [{"InsightType": i} for i in insights],
            },
        ),
        "Turn on CloudTrail Insights: " + ", ".join(insights),
        changes=trail_arn,
        depends_on=["create-trail"],
    )


def _start_logging(b: PlanBuilder, given: PlanInputs, last: str) -> str:
    """StartLogging, once the events are chosen; undone by StopLogging."""
    region = given.names.home_region
    trail_arn = given.names.trail_arn
    return b.add(
        "start-logging",
        "trail",
        Call(
            service="cloudtrail",
            region=region,
            operation="StartLogging",
            params={"Name": trail_arn},
        ),
        "Start logging (trails created through the API do not log until this call)",
        changes=trail_arn,
        depends_on=["put-event-selectors", last],
        undo=[
            Call(
                service="cloudtrail",
                region=region,
                operation="StopLogging",
                params={"Name": trail_arn},
            )
        ],
        undo_summary="Stop logging",
    )
