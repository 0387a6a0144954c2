"""The sandbox's CloudTrail event settings: what AWS refuses in selectors, and aggregation.

moto stores whatever PutEventSelectors and PutInsightSelectors are given, and has no
PutEventConfiguration at all. These patches make the sandbox answer as CloudTrail documents:

* PutEventSelectors refuses, with ``InvalidEventSelectorsException``, advanced selectors that
  break the field rules of ``AdvancedFieldSelector`` (a field another category does not take,
  an operator a field does not take, a data selector without one ``resources.type``, more than
  one event source in a network activity selector, an ``errorCode`` other than
  ``VpceAccessDenied``...) and basic selectors with a data resource type basic selectors do not
  take. Unknown resource types and event sources of the right shape are accepted (AWS adds
  them often; the wizard's preflight warns about those it does not know).
* PutInsightSelectors refuses, with ``InvalidInsightSelectorsException``, Insights the trail's
  selectors cannot feed (API call rate Insights on management events without write management
  events, Insights on data events without data events), and unknown types or categories.
* PutEventConfiguration and GetEventConfiguration keep a trail's data event aggregation
  (``AggregationConfigurations``), refused without data events, in the trail's home region only.

Installed and removed with the strict patches
(:func:`wizard.sandbox.server.install_strict_patches`). moto is imported inside the
functions that need it, like the rest of the sandbox.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wizard.model.event_types import (
    AGGREGATION_TEMPLATES,
    BASIC_DATA_TYPES,
    INSIGHT_CATEGORIES,
    OPERATORS,
    VPCE_ACCESS_DENIED,
)
from wizard.policy.controls import management_events
from wizard.sandbox.rules import json_error

__all__ = [
    "aggregation_problem",
    "insight_problem",
    "install_event_patches",
    "remove_event_patches",
    "selector_problem",
]

_TYPE_SHAPE = re.compile(r"^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$")
_SOURCE_SHAPE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$")
_EXCLUDABLE = frozenset({"kms.amazonaws.com", "rdsdata.amazonaws.com"})
_EQUALS_ONLY = frozenset({"eventCategory", "readOnly", "resources.type", "errorCode"})
_FIELDS: dict[str, frozenset[str]] = {
    "Management": frozenset({"eventCategory", "eventSource", "readOnly"}),
    "Data": frozenset(
        {
            "eventCategory",
            "eventName",
            "eventSource",
            "eventType",
            "resources.type",
            "readOnly",
            "resources.ARN",
            "sessionCredentialFromConsole",
            "userIdentity.arn",
        }
    ),
    "NetworkActivity": frozenset(
        {"eventCategory", "eventSource", "eventName", "errorCode", "vpcEndpointId"}
    ),
}
"""The fields of a trail's advanced selector, by event category (AdvancedFieldSelector)."""


def _operators(field: Mapping[str, Any]) -> dict[str, list[str]]:
    return {op: [str(v) for v in field[op]] for op in OPERATORS if field.get(op) is not None}


def _advanced_problem(selector: Mapping[str, Any]) -> str | None:
    fields = list(selector.get("FieldSelectors") or [])
    if not fields:
        return "an advanced event selector needs at least one field selector"
    by_name: dict[str, dict[str, list[str]]] = {}
    for field in fields:
        name = str(field.get("Field") or "")
        if name in by_name:
            return f"the field {name} appears more than once in one selector"
        ops = _operators(field)
        if not ops or any(not values for values in ops.values()):
            return f"the field {name} needs an operator with at least one value"
        if name in _EQUALS_ONLY and set(ops) != {"Equals"}:
            return f"{name} can only use the Equals operator"
        by_name[name] = ops
    category = by_name.get("eventCategory", {}).get("Equals", [])
    if len(category) != 1 or category[0] not in _FIELDS:
        return "each advanced event selector needs eventCategory Equals one of " + ", ".join(
            _FIELDS
        )
    kind = category[0]
    extra = sorted(set(by_name) - _FIELDS[kind])
    if extra:
        return f"{kind} event selectors do not take the field {', '.join(extra)}"
    read_only = by_name.get("readOnly", {}).get("Equals", [])
    if any(v not in ("true", "false") for v in read_only):
        return "readOnly takes only true or false"
    console = by_name.get("sessionCredentialFromConsole")
    if console is not None:
        values = {v for vs in console.values() for v in vs}
        if set(console) - {"Equals", "NotEquals"} or values != {"true"}:
            return "sessionCredentialFromConsole takes only Equals or NotEquals with the value true"
    source = by_name.get("eventSource")
    if (
        kind == "Management"
        and source is not None
        and (set(source) != {"NotEquals"} or not set(source["NotEquals"]) <= _EXCLUDABLE)
    ):
        return (
            "for management events eventSource can only be NotEquals "
            "kms.amazonaws.com or rdsdata.amazonaws.com"
        )
    if kind == "Data":
        types = by_name.get("resources.type", {}).get("Equals", [])
        if len(types) != 1:
            return "a data event selector needs resources.type Equals exactly one resource type"
        if not _TYPE_SHAPE.match(types[0]):
            return f"{types[0]} is not a resources.type value"
    if kind == "NetworkActivity":
        sources = (source or {}).get("Equals", [])
        if source is None or set(source) != {"Equals"} or len(sources) != 1:
            return (
                "a network activity event selector needs eventSource Equals exactly one event "
                "source (one selector per source)"
            )
        if not _SOURCE_SHAPE.match(sources[0]):
            return f"{sources[0]} is not an event source"
        codes = by_name.get("errorCode", {}).get("Equals", [])
        if any(code != VPCE_ACCESS_DENIED for code in codes):
            return f"errorCode takes only {VPCE_ACCESS_DENIED}"
    return None


def _basic_problem(selector: Mapping[str, Any]) -> str | None:
    excluded = set(selector.get("ExcludeManagementEventSources") or [])
    if not excluded <= _EXCLUDABLE:
        return (
            "ExcludeManagementEventSources can only hold kms.amazonaws.com and "
            "rdsdata.amazonaws.com"
        )
    for resource in selector.get("DataResources") or []:
        if resource.get("Type") not in BASIC_DATA_TYPES:
            return (
                f"basic event selectors take data resources of type {', '.join(BASIC_DATA_TYPES)}"
                f", not {resource.get('Type')}; use advanced event selectors"
            )
    return None


def selector_problem(
    basic: Sequence[Mapping[str, Any]] | None, advanced: Sequence[Mapping[str, Any]] | None
) -> str | None:
    """What CloudTrail refuses in these selectors (InvalidEventSelectorsException), or None."""
    for selector in basic or []:
        problem = _basic_problem(selector)
        if problem:
            return problem
    for selector in advanced or []:
        problem = _advanced_problem(selector)
        if problem:
            return problem
    return None


def _records_data(
    basic: Sequence[Mapping[str, Any]] | None, advanced: Sequence[Mapping[str, Any]] | None
) -> bool:
    if advanced:
        return any(
            "Data" in (f.get("Equals") or [])
            for s in advanced
            for f in s.get("FieldSelectors") or []
            if f.get("Field") == "eventCategory"
        )
    return any(s.get("DataResources") for s in basic or [])


def insight_problem(
    insights: Sequence[Mapping[str, Any]],
    basic: Sequence[Mapping[str, Any]] | None,
    advanced: Sequence[Mapping[str, Any]] | None,
) -> str | None:
    """What CloudTrail refuses in PutInsightSelectors for a trail with these selectors."""
    kind, _ = management_events([dict(s) for s in basic or []], [dict(s) for s in advanced or []])
    for selector in insights:
        insight = selector.get("InsightType")
        if insight not in ("ApiCallRateInsight", "ApiErrorRateInsight"):
            return f"{insight} is not an Insights type"
        categories = list(selector.get("EventCategories") or ["Management"])
        unknown = [c for c in categories if c not in INSIGHT_CATEGORIES]
        if unknown:
            return f"{unknown[0]} is not an Insights event category (Management or Data)"
        if "Management" in categories:
            if insight == "ApiCallRateInsight" and kind not in ("all", "write"):
                return "Insights on the API call rate need the trail to log write management events"
            if kind == "none":
                return "Insights on the API error rate need the trail to log management events"
        if "Data" in categories and not _records_data(basic, advanced):
            return "Insights on data events need the trail to log data events"
    return None


def aggregation_problem(
    configurations: Sequence[Mapping[str, Any]],
    basic: Sequence[Mapping[str, Any]] | None,
    advanced: Sequence[Mapping[str, Any]] | None,
) -> tuple[str, str] | None:
    """What CloudTrail refuses in PutEventConfiguration's aggregation: (error code, message)."""
    if len(configurations) > 1:
        return "InvalidParameterException", "AggregationConfigurations takes at most one item"
    for configuration in configurations:
        if configuration.get("EventCategory") != "Data":
            return "InvalidParameterException", "aggregation is only for the Data event category"
        templates = list(configuration.get("Templates") or [])
        if not 1 <= len(templates) <= 50 or len(set(templates)) != len(templates):
            return "InvalidParameterException", "Templates takes 1 to 50 different templates"
        unknown = [t for t in templates if t not in AGGREGATION_TEMPLATES]
        if unknown:
            return "InvalidParameterException", f"{unknown[0]} is not an aggregation template"
        if not _records_data(basic, advanced):
            return (
                "InvalidParameterCombinationException",
                "aggregation summarises the trail's data events: configure data events first",
            )
    return None


# ---------------------------------------------------------------------------- patches

_PATCH_LOCK = threading.Lock()
_PATCHED: dict[tuple[Any, str], Any] = {}
_ADDED = ("put_event_configuration", "get_event_configuration")


def _wrap_put_event_selectors(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_event_selectors(
        self: Any,
        event_selectors: list[dict[str, Any]] | None,
        advanced_event_selectors: list[dict[str, Any]] | None,
    ) -> None:
        problem = selector_problem(event_selectors, advanced_event_selectors)
        if problem:
            raise json_error("InvalidEventSelectorsException", f"Invalid request: {problem}.")
        original(self, event_selectors, advanced_event_selectors)

    return put_event_selectors


def _wrap_put_insight_selectors(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_insight_selectors(self: Any, insight_selectors: list[dict[str, Any]] | None) -> None:
        problem = insight_problem(
            list(insight_selectors or []), self.event_selectors, self.advanced_event_selectors
        )
        if problem:
            raise json_error("InvalidInsightSelectorsException", f"Invalid request: {problem}.")
        original(self, insight_selectors)

    return put_insight_selectors


def _home_trail(backend: Any, name_or_arn: str) -> Any:
    """The trail in this region; InvalidHomeRegionException for a trail homed elsewhere."""
    # moto on first use (see the module docstring)
    from moto.cloudtrail.exceptions import TrailNotFoundException
    from moto.cloudtrail.models import cloudtrail_backends

    try:
        return backend.get_trail(name_or_arn)
    except TrailNotFoundException:
        for region, other in list(cloudtrail_backends[backend.account_id].items()):
            if region == backend.region_name:
                continue
            for trail in list(other.trails.values()):
                if name_or_arn == trail.arn or (
                    name_or_arn == trail.trail_name and trail.is_multi_region
                ):
                    raise json_error(
                        "InvalidHomeRegionException",
                        f"The trail {trail.arn} can only be changed in its home region "
                        f"{trail.region_name}; this request was sent to {backend.region_name}.",
                    ) from None
        raise


def _put_event_configuration(self: Any) -> str:
    params = json.loads(self.body or "{}")
    if params.get("EventDataStore"):
        raise json_error(
            "UnsupportedOperationException",
            "The sandbox has no event data stores (CloudTrail Lake takes no new customers).",
        )
    trail = _home_trail(self.cloudtrail_backend, str(params.get("TrailName") or ""))
    configurations = list(params.get("AggregationConfigurations") or [])
    problem = aggregation_problem(
        configurations, trail.event_selectors, trail.advanced_event_selectors
    )
    if problem:
        raise json_error(*problem)
    trail.aggregation_configurations = configurations
    answer: dict[str, Any] = {"TrailARN": trail.arn}
    if configurations:
        answer["AggregationConfigurations"] = configurations
    return json.dumps(answer)


def _get_event_configuration(self: Any) -> str:
    params = json.loads(self.body or "{}")
    trail = self.cloudtrail_backend.get_trail(str(params.get("TrailName") or ""))
    answer: dict[str, Any] = {"TrailARN": trail.arn}
    configurations = getattr(trail, "aggregation_configurations", None)
    if configurations:
        answer["AggregationConfigurations"] = configurations
    return json.dumps(answer)


def install_event_patches() -> None:
    """Refuse what CloudTrail refuses in selectors and Insights; serve event configuration
    (idempotent)."""
    with _PATCH_LOCK:
        if _PATCHED:
            return
        # moto on first use (see the module docstring)
        from moto.cloudtrail.models import Trail
        from moto.cloudtrail.responses import CloudTrailResponse

        for name, wrap in (
            ("put_event_selectors", _wrap_put_event_selectors),
            ("put_insight_selectors", _wrap_put_insight_selectors),
        ):
            _PATCHED[(Trail, name)] = getattr(Trail, name)
            setattr(Trail, name, wrap(getattr(Trail, name)))
        for name, method in zip(
            _ADDED, (_put_event_configuration, _get_event_configuration), strict=True
        ):
            _PATCHED[(CloudTrailResponse, name)] = CloudTrailResponse.__dict__.get(name)
            setattr(CloudTrailResponse, name, method)


def remove_event_patches() -> None:
    """Undo :func:`install_event_patches`."""
    with _PATCH_LOCK:
        for (cls, name), original in _PATCHED.items():
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
        _PATCHED.clear()
