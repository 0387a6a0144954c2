"""The trail chain: create or update the trail once everything it uses is ready, choose its
events, start it.

CreateTrail (or UpdateTrail) depends on every step of the other chains (CloudTrail checks the
bucket, key, topic and role policies when the trail is created or changed) and is retried on
the errors that right after such a change usually mean "not yet visible". A trail created
through the API does not log until StartLogging.

A trail that exists (:mod:`wizard.plan.desired`) is compared setting by setting: only what
differs is changed (UpdateTrail with just those settings, PutEventSelectors, PutInsightSelectors,
AddTags for the answers' tags, StartLogging for a stopped trail), each step undone by writing
the exact previous values back.
"""

from __future__ import annotations

from typing import Any

from wizard.account.current import TrailState
from wizard.model.plan import Call, SettingChange
from wizard.plan.desired import (
    canonical_selectors,
    describe_selectors,
    tag_changes,
    trail_changes,
)
from wizard.plan.planner.builder import PlanBuilder, PlanInputs, tags_kv
from wizard.plan.selectors import (
    aggregation_configurations,
    describe_events,
    event_selection,
    insight_selectors,
)

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
    b.trail_settings = {**params, **event_selection(given.answers, given.names).params()}
    state = given.adopted.trail
    if state is not None:
        _update_trail(b, given, state, params, deps)
        return
    _create_trail(b, given, params, deps)
    _put_event_selectors(b, given)
    last = "put-event-selectors"
    if insight_selectors(given.answers):
        last = _put_insight_selectors(b, given)
    if aggregation_configurations(given.answers):
        last = _put_event_configuration(b, given, last)
    _start_logging(b, given)


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


def _events_summary(given: PlanInputs) -> str:
    """``Choose the events to record (basic selectors): management events (...); ...``."""
    kind = event_selection(given.answers, given.names).kind
    return f"Choose the events to record ({kind} selectors): " + "; ".join(
        describe_events(given.answers)
    )


def _put_event_selectors(b: PlanBuilder, given: PlanInputs) -> str:
    """The events to record: basic selectors when they can say it, else advanced ones."""
    trail_arn = given.names.trail_arn
    selection = event_selection(given.answers, given.names)
    return b.add(
        "put-event-selectors",
        "trail",
        Call(
            service="cloudtrail",
            region=given.names.home_region,
            operation="PutEventSelectors",
            params={"TrailName": trail_arn, **selection.params()},
        ),
        _events_summary(given),
        changes=trail_arn,
        depends_on=["create-trail"],
    )


def insights_words(selectors: list[dict[str, Any]]) -> str:
    """``ApiCallRateInsight on management and data events; ...`` (``off`` for none)."""
    parts = []
    for selector in selectors:
        categories = [str(c).lower() for c in selector.get("EventCategories") or ["Management"]]
        parts.append(f"{selector.get('InsightType')} on {' and '.join(categories)} events")
    return "; ".join(parts) or "off"


def _put_insight_selectors(b: PlanBuilder, given: PlanInputs) -> str:
    """CloudTrail Insights, management and data together (the call replaces the list).

    After the event selectors: CloudTrail refuses Insights on data events for a trail that
    does not log data events yet (sent together, the two calls race).
    """
    trail_arn = given.names.trail_arn
    selectors = insight_selectors(given.answers)
    return b.add(
        "put-insight-selectors",
        "trail",
        Call(
            service="cloudtrail",
            region=given.names.home_region,
            operation="PutInsightSelectors",
            params={"TrailName": trail_arn, "InsightSelectors": selectors},
        ),
        "Turn on CloudTrail Insights: " + insights_words(selectors),
        changes=trail_arn,
        depends_on=["put-event-selectors"],
    )


def _aggregation_words(templates: list[str] | None) -> str:
    if templates is None:
        return "unknown"
    return ", ".join(templates) or "off"


def _put_event_configuration(b: PlanBuilder, given: PlanInputs, after: str) -> str:
    """Data event aggregation (5-minute summaries), once the data events are chosen."""
    trail_arn = given.names.trail_arn
    configurations = aggregation_configurations(given.answers)
    return b.add(
        "put-event-configuration",
        "trail",
        Call(
            service="cloudtrail",
            region=given.names.home_region,
            operation="PutEventConfiguration",
            params={"TrailName": trail_arn, "AggregationConfigurations": configurations},
        ),
        "Aggregate data events into 5-minute summaries: "
        + _aggregation_words([str(t) for t in given.answers.events.aggregation]),
        changes=trail_arn,
        depends_on=list(dict.fromkeys(["put-event-selectors", after])),
    )


def _start_logging(b: PlanBuilder, given: PlanInputs) -> str:
    """StartLogging, beside the event selectors; undone by StopLogging.

    It needs only the trail (issue 16: one round trip less). Until the selectors land, tens
    of milliseconds later, the new trail records what a trail without selectors records
    (every management event): at worst a few events the answers leave out in its first log
    file, in the answers' own bucket; none the answers ask for is missed.
    """
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
        depends_on=["create-trail"],
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


# ------------------------------------------------------------------------ existing trail


def _placeholder_words(given: PlanInputs) -> dict[str, str]:
    """Words for the values only known while applying (a new key's or role's ARN)."""
    return {
        "${create-key:": f"the new key {given.names.key_alias()}",
        "${create-role:": f"the new role {given.names.role_name}",
    }


def _update_trail(
    b: PlanBuilder,
    given: PlanInputs,
    state: TrailState,
    params: dict[str, Any],
    deps: list[str],
) -> None:
    """Change only what differs on the existing trail; each step restores what it changed.

    The steps form one line (each after the one before, the first after ``deps``): the
    settings, the event selectors, Insights, the answers' tags, then logging.
    """
    after = list(dict.fromkeys(deps))
    for add in (
        _update_settings,
        _update_selectors,
        _update_insights,
        _update_aggregation,
        _update_tags,
        _restart,
    ):
        step = add(b, given, state, params, after)
        if step is not None:
            after = [step]


def _trail_call(given: PlanInputs, operation: str, params: dict[str, Any]) -> Call:
    return Call(
        service="cloudtrail", region=given.names.home_region, operation=operation, params=params
    )


def _update_settings(
    b: PlanBuilder, given: PlanInputs, state: TrailState, params: dict[str, Any], after: list[str]
) -> str | None:
    """UpdateTrail with the differing settings; undone by UpdateTrail with their old values."""
    wanted = {k: v for k, v in params.items() if k not in ("Name", "TagsList")}
    changes = trail_changes(state, wanted, _placeholder_words(given))
    if not changes:
        return None
    arn = state.arn
    return b.add(
        "update-trail",
        "trail",
        _trail_call(given, "UpdateTrail", {"Name": arn, **{c.param: c.wanted for c in changes}}),
        f"Update trail {state.name}: " + ", ".join(c.change.name for c in changes),
        changes=given.names.trail_arn,
        depends_on=after,
        undo=[
            _trail_call(
                given, "UpdateTrail", {"Name": arn, **{c.param: c.previous for c in changes}}
            )
        ],
        undo_summary="Put every changed setting back to its previous value"
        + (
            " (a setting that was unset is removed again)"
            if any(c.previous == "" for c in changes)
            else ""
        ),
        retry_on=list(PROPAGATION_ERRORS),
        settings=[c.change for c in changes],
    )


def _update_selectors(
    b: PlanBuilder, given: PlanInputs, state: TrailState, params: dict[str, Any], after: list[str]
) -> str | None:
    """PutEventSelectors when the trail records other events; undone with the exact old ones."""
    selection = event_selection(given.answers, given.names)
    current = canonical_selectors(state.event_selectors, state.advanced_event_selectors)
    if current == canonical_selectors(selection.basic, selection.advanced):
        return None
    arn = state.arn
    if state.advanced_event_selectors:
        previous: dict[str, Any] = {"AdvancedEventSelectors": state.advanced_event_selectors}
    else:
        previous = {"EventSelectors": state.event_selectors or []}
    return b.add(
        "put-event-selectors",
        "trail",
        _trail_call(given, "PutEventSelectors", {"TrailName": arn, **selection.params()}),
        _events_summary(given),
        changes=given.names.trail_arn,
        depends_on=after,
        undo=[_trail_call(given, "PutEventSelectors", {"TrailName": arn, **previous})],
        undo_summary="Put the previous event selectors back exactly ("
        + ("advanced" if state.advanced_event_selectors else "basic")
        + " selectors, as they were)",
        settings=[
            SettingChange(
                name="events recorded",
                current=describe_selectors(state.event_selectors, state.advanced_event_selectors),
                wanted=describe_selectors(selection.basic, selection.advanced),
            )
        ],
    )


def _insights_key(selectors: list[dict[str, Any]]) -> dict[str, frozenset[str]]:
    """Insights selectors as type -> categories (none given means management events)."""
    return {
        str(s.get("InsightType")): frozenset(s.get("EventCategories") or ["Management"])
        for s in selectors
    }


def _update_insights(
    b: PlanBuilder, given: PlanInputs, state: TrailState, params: dict[str, Any], after: list[str]
) -> str | None:
    """PutInsightSelectors when the Insights differ (an empty list turns Insights off).

    The call replaces the whole list, so it always carries management and data Insights
    together; undone by putting the exact previous list back.
    """
    wanted = insight_selectors(given.answers)
    previous = state.insight_selectors or [{"InsightType": i} for i in state.insight_types]
    if _insights_key(previous) == _insights_key(wanted):
        return None
    arn = state.arn
    dropped = sorted(
        t
        for t, categories in _insights_key(previous).items()
        if "Management" in categories
        and "Management" not in _insights_key(wanted).get(t, frozenset())
    )
    summary = (
        "Set CloudTrail Insights: " + insights_words(wanted)
        if wanted
        else "Turn CloudTrail Insights off"
    )
    if dropped and wanted:
        summary += f" (management events Insights {', '.join(dropped)} turned off)"
    return b.add(
        "put-insight-selectors",
        "trail",
        _trail_call(given, "PutInsightSelectors", {"TrailName": arn, "InsightSelectors": wanted}),
        summary,
        changes=given.names.trail_arn,
        depends_on=after,
        undo=[
            _trail_call(
                given, "PutInsightSelectors", {"TrailName": arn, "InsightSelectors": previous}
            )
        ],
        undo_summary="Put the previous Insights selectors back exactly"
        if previous
        else "Turn Insights off again (it was off)",
        settings=[
            SettingChange(
                name="CloudTrail Insights",
                current=insights_words(previous),
                wanted=insights_words(wanted),
            )
        ],
    )


def _update_aggregation(
    b: PlanBuilder, given: PlanInputs, state: TrailState, params: dict[str, Any], after: list[str]
) -> str | None:
    """PutEventConfiguration when the aggregation templates differ; undone with the old ones.

    When the trail's setting could not be read (None) it is left alone unless the answers
    ask for aggregation; the undo then turns aggregation off (an empty list).
    """
    wanted: list[str] = sorted(given.answers.events.aggregation)
    current = state.aggregation_templates
    if current == wanted or (current is None and not wanted):
        return None
    arn = state.arn

    def configuration(templates: list[str] | None) -> list[dict[str, Any]]:
        return [{"EventCategory": "Data", "Templates": templates}] if templates else []

    return b.add(
        "put-event-configuration",
        "trail",
        _trail_call(
            given,
            "PutEventConfiguration",
            {"TrailName": arn, "AggregationConfigurations": configuration(wanted)},
        ),
        "Aggregate data events into 5-minute summaries: " + _aggregation_words(wanted)
        if wanted
        else "Turn data event aggregation off",
        changes=given.names.trail_arn,
        depends_on=after,
        undo=[
            _trail_call(
                given,
                "PutEventConfiguration",
                {"TrailName": arn, "AggregationConfigurations": configuration(current)},
            )
        ],
        undo_summary="Put the previous aggregation back"
        if current
        else "Turn data event aggregation off again"
        + (" (its previous setting could not be read)" if current is None else ""),
        settings=[
            SettingChange(
                name="data event aggregation",
                current=_aggregation_words(current),
                wanted=_aggregation_words(wanted),
            )
        ],
    )


def _update_tags(
    b: PlanBuilder, given: PlanInputs, state: TrailState, params: dict[str, Any], after: list[str]
) -> str | None:
    """AddTags for the answers' tags that differ; undone by RemoveTags and the old values."""
    to_set, new_keys, previous, changes = tag_changes(state.tags, given.answers.trail.tags)
    if not to_set:
        return None
    arn = state.arn
    undo: list[Call] = []
    if new_keys:
        undo.append(
            _trail_call(
                given,
                "RemoveTags",
                {"ResourceId": arn, "TagsList": [{"Key": k} for k in new_keys]},
            )
        )
    if previous:
        undo.append(
            _trail_call(given, "AddTags", {"ResourceId": arn, "TagsList": tags_kv(previous)})
        )
    return b.add(
        "trail-tags",
        "trail",
        _trail_call(given, "AddTags", {"ResourceId": arn, "TagsList": tags_kv(to_set)}),
        f"Tag trail {state.name}: " + ", ".join(to_set),
        changes=given.names.trail_arn,
        depends_on=after,
        undo=undo,
        undo_summary="Remove the tags that were added and put changed ones back "
        "(other tags are never touched)",
        settings=changes,
    )


def _restart(
    b: PlanBuilder, given: PlanInputs, state: TrailState, params: dict[str, Any], after: list[str]
) -> str | None:
    """StartLogging for a stopped trail; undone by StopLogging."""
    if state.logging is not False:
        return None
    arn = state.arn
    return b.add(
        "start-logging",
        "trail",
        _trail_call(given, "StartLogging", {"Name": arn}),
        f"Start logging again (trail {state.name} was stopped)",
        changes=given.names.trail_arn,
        depends_on=after,
        undo=[_trail_call(given, "StopLogging", {"Name": arn})],
        undo_summary="Stop logging again (it was stopped)",
        settings=[SettingChange(name="logging", current="off", wanted="on")],
    )
