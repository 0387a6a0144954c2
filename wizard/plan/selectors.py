"""The trail's event selectors, Insights selectors and aggregation, from the answers.

The planner sends them (``PutEventSelectors``, ``PutInsightSelectors``,
``PutEventConfiguration``), the CloudFormation export writes them into the template, the limits
check and the guards measure them before anything changes, and the review describes them: all
of them read the functions here.

Basic or advanced. A trail has either basic event selectors or advanced ones, never both
(PutEventSelectors takes one list; advanced selectors overwrite basic ones). Basic selectors are
used whenever they can say what the answers ask: management events (read, write or all, with
the KMS and RDS Data API exclusions), S3 data events on named buckets or folders, and Lambda or
DynamoDB data events for every function or table. That is what every tool that audits trails
reads (some read no advanced selectors at all). Anything else (S3 data events for every bucket,
which must leave the trail's own log buckets out; other resource types; conditions; network
activity events) needs advanced selectors, and then the management selector is named
"Management events selector" as the CloudTrail console names it, which scanners such as
Prowler look for.

The loop guard. A selector that records object writes of the trail's own log bucket (or of the
bucket its server access logs go to) records CloudTrail's own deliveries, each of which is
written as another log file: a loop that grows the bill without end. Every S3 object selector
that records writes and could match those buckets leaves them out (``resources.ARN``
``NotStartsWith``); a selector that names them outright is refused by the guards
(:mod:`wizard.plan.event_guards`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.model.choices import INSIGHT_TYPES
from wizard.model.event_types import (
    ARN_SERVICES,
    BASIC_DATA_RESOURCES_MAX,
    BASIC_SELECTORS_MAX,
    OPERATORS,
    S3_OBJECT,
    VPCE_ACCESS_DENIED,
    type_label,
)

if TYPE_CHECKING:
    from wizard.model.answers import Answers, DataEventAnswers, NetworkEventAnswers
    from wizard.model.context import Names

__all__ = [
    "MANAGEMENT_SELECTOR_NAME",
    "EventSelection",
    "advanced_event_selectors",
    "aggregation_configurations",
    "data_selector",
    "describe_events",
    "event_selection",
    "insight_selectors",
    "log_bucket_prefixes",
    "records_writes",
]

MANAGEMENT_SELECTOR_NAME = "Management events selector"
"""The name the CloudTrail console gives the advanced selector of management events (AWS's
own example of a console trail's selectors shows it); Prowler's "multi-region trail logging
management events" check accepts an advanced selector only by this name, without readOnly."""

_READ_WRITE_TYPE = {"all": "All", "read": "ReadOnly", "write": "WriteOnly"}
_READ_ONLY = {"read": "true", "write": "false"}


@dataclass(frozen=True)
class EventSelection:
    """What PutEventSelectors sends: basic selectors or advanced ones, never both."""

    basic: tuple[dict[str, Any], ...] | None
    """Basic event selectors (``EventSelectors``), when they can say it all."""
    advanced: tuple[dict[str, Any], ...] | None
    """Advanced event selectors (``AdvancedEventSelectors``) otherwise."""

    @property
    def kind(self) -> str:
        """``basic`` or ``advanced``."""
        return "basic" if self.basic is not None else "advanced"

    def params(self) -> dict[str, Any]:
        """PutEventSelectors' selector parameter: exactly one of the two lists."""
        if self.basic is not None:
            return {"EventSelectors": [dict(s) for s in self.basic]}
        return {"AdvancedEventSelectors": [dict(s) for s in self.advanced or ()]}


def log_bucket_prefixes(answers: Answers, names: Names) -> list[str]:
    """The ARN prefixes of the buckets whose object writes a selector must never record.

    The log bucket, and the bucket its server access logs go to (every delivery to the log
    bucket is written there as an access log record).

    Returns:
        ``arn:PARTITION:s3:::BUCKET/`` for each.
    """
    out = [f"{names.bucket_arn}/"]
    access = answers.bucket.access_logs
    if access is not None:
        out.append(f"arn:{names.partition}:s3:::{access.bucket}/")
    return out


def records_writes(data: DataEventAnswers) -> bool:
    """True when the selector records write events (its read_write is all or write)."""
    return data.read_write in ("all", "write")


def _may_match(prefix: str, data: DataEventAnswers) -> bool:
    """True when the S3 object selector's resources can include objects under ``prefix``."""
    if data.resources == "all":
        return True
    return any(prefix.startswith(r) or r.startswith(prefix) for r in data.resources)


def _excluded_log_buckets(data: DataEventAnswers, log_buckets: Sequence[str]) -> list[str]:
    """The log bucket prefixes an S3 object selector that records writes must leave out."""
    if data.resource_type != S3_OBJECT or not records_writes(data):
        return []
    return [p for p in log_buckets if _may_match(p, data)]


def _field_selectors(data: DataEventAnswers, excluded: Sequence[str]) -> list[dict[str, Any]]:
    """The field selectors of one data selector, one per field (operators merged)."""
    fields: dict[str, dict[str, list[str]]] = {}

    def add(field: str, operator: str, values: Sequence[str]) -> None:
        current = fields.setdefault(field, {}).setdefault(operator, [])
        current.extend(v for v in values if v not in current)

    add("eventCategory", "Equals", ["Data"])
    add("resources.type", "Equals", [data.resource_type])
    if data.read_write != "all":
        add("readOnly", "Equals", [_READ_ONLY[data.read_write]])
    if data.resources != "all":
        add("resources.ARN", "StartsWith", sorted(data.resources))
    for condition in data.conditions:
        add(condition.field, condition.operator, condition.values)
    if excluded:
        add("resources.ARN", "NotStartsWith", list(excluded))
    return [
        {"Field": field, **{op: values for op in OPERATORS if (values := ops.get(op))}}
        for field, ops in fields.items()
    ]


def _data_name(data: DataEventAnswers, excluded: Sequence[str]) -> str:
    """A selector name that says what it records."""
    if data.name:
        return data.name
    what = {"all": "", "read": " (reads)", "write": " (writes)"}[data.read_write]
    name = f"Log {type_label(data.type)} data events{what}"
    if data.resources != "all":
        count = len(data.resources)
        name += f" on {count} resource prefix{'es' if count > 1 else ''}"
    if data.conditions:
        name += ", filtered"
    if excluded:
        name += ", except the trail's log buckets"
    return name


def data_selector(data: DataEventAnswers, log_buckets: Sequence[str] = ()) -> dict[str, Any]:
    """The advanced event selector of one ``events.data`` item.

    Args:
        data: The item.
        log_buckets: :func:`log_bucket_prefixes`: left out when the selector records S3
            object writes and could match them.

    Returns:
        ``{"Name": ..., "FieldSelectors": [...]}``.
    """
    excluded = _excluded_log_buckets(data, log_buckets)
    return {"Name": _data_name(data, excluded), "FieldSelectors": _field_selectors(data, excluded)}


def _network_selector(network: NetworkEventAnswers) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [
        {"Field": "eventCategory", "Equals": ["NetworkActivity"]},
        {"Field": "eventSource", "Equals": [network.source]},
    ]
    if network.denied_only:
        fields.append({"Field": "errorCode", "Equals": [VPCE_ACCESS_DENIED]})
    default = (
        f"Log VPC endpoint access denied events for {network.source}"
        if network.denied_only
        else f"Log network activity events for {network.source}"
    )
    return {"Name": network.name or default, "FieldSelectors": fields}


def _management_selector(answers: Answers) -> dict[str, Any] | None:
    ev = answers.events
    if ev.management == "none":
        return None
    fields: list[dict[str, Any]] = [{"Field": "eventCategory", "Equals": ["Management"]}]
    if ev.management in _READ_ONLY:
        fields.append({"Field": "readOnly", "Equals": [_READ_ONLY[ev.management]]})
    if ev.exclude_sources:
        fields.append({"Field": "eventSource", "NotEquals": sorted(ev.exclude_sources)})
    return {"Name": MANAGEMENT_SELECTOR_NAME, "FieldSelectors": fields}


def advanced_event_selectors(
    answers: Answers, names: Names, log_buckets: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The answers' events as advanced event selectors (whether or not basic ones are sent).

    Args:
        answers: The validated answers.
        names: The names derived from them (the log buckets' ARNs).
        log_buckets: The bucket prefixes S3 write selectors leave out; default
            :func:`log_bucket_prefixes` (the CloudFormation export adds its parameters').

    Returns:
        The management selector (unless management events are off), one selector per
        ``events.data`` item and one per ``events.network`` item, in that order.
    """
    ev = answers.events
    if log_buckets is None:
        log_buckets = log_bucket_prefixes(answers, names)
    selectors: list[dict[str, Any]] = []
    management = _management_selector(answers)
    if management is not None:
        selectors.append(management)
    selectors += [data_selector(d, log_buckets) for d in ev.data]
    selectors += [_network_selector(n) for n in ev.network]
    return selectors


def _basic_value(data: DataEventAnswers, partition: str) -> list[str] | None:
    """A data item as basic ``DataResource`` values, None when basic selectors cannot say it.

    Basic S3 values are bucket or folder prefixes, like the answers' resources; S3 data
    events for every bucket would include the log buckets (basic selectors cannot leave them
    out). Basic Lambda and DynamoDB values are exact ARNs, so only "every function/table"
    (``arn:PARTITION:lambda`` / ``arn:PARTITION:dynamodb``) means the same as the answers.
    """
    if data.conditions or data.name:
        return None
    kind = data.resource_type
    if kind == S3_OBJECT:
        return None if data.resources == "all" else sorted(data.resources)
    if kind in ("AWS::Lambda::Function", "AWS::DynamoDB::Table") and data.resources == "all":
        return [f"arn:{partition}:{ARN_SERVICES[kind]}"]
    return None


def _basic_selectors(answers: Answers, names: Names) -> list[dict[str, Any]] | None:
    ev = answers.events
    if ev.network:
        return None
    groups: dict[str, dict[str, list[str]]] = {}
    for data in ev.data:
        values = _basic_value(data, names.partition)
        if values is None:
            return None
        by_type = groups.setdefault(data.read_write, {})
        current = by_type.setdefault(data.resource_type, [])
        current.extend(v for v in values if v not in current)
    selectors: list[dict[str, Any]] = []
    if ev.management != "none":
        selectors.append(
            {
                "ReadWriteType": _READ_WRITE_TYPE[ev.management],
                "IncludeManagementEvents": True,
                "DataResources": [],
                "ExcludeManagementEventSources": sorted(ev.exclude_sources),
            }
        )
    for read_write in ("all", "read", "write"):
        if read_write in groups:
            selectors.append(
                {
                    "ReadWriteType": _READ_WRITE_TYPE[read_write],
                    "IncludeManagementEvents": False,
                    "DataResources": [
                        {"Type": kind, "Values": values}
                        for kind, values in groups[read_write].items()
                    ],
                }
            )
    return selectors


def _basic_fits(selectors: Sequence[Mapping[str, Any]]) -> bool:
    """True when CloudTrail takes these many basic selectors and data resource values."""
    values = sum(len(r["Values"]) for s in selectors for r in s.get("DataResources") or [])
    return len(selectors) <= BASIC_SELECTORS_MAX and values <= BASIC_DATA_RESOURCES_MAX


def event_selection(answers: Answers, names: Names) -> EventSelection:
    """What PutEventSelectors sends for the answers: basic selectors when they can say it
    all (and fit CloudTrail's limits on them), else advanced ones.

    Args:
        answers: The validated answers.
        names: The names derived from them.
    """
    basic = _basic_selectors(answers, names)
    if basic is not None and _basic_fits(basic):
        return EventSelection(basic=tuple(basic), advanced=None)
    return EventSelection(basic=None, advanced=tuple(advanced_event_selectors(answers, names)))


def insight_selectors(answers: Answers) -> list[dict[str, Any]]:
    """PutInsightSelectors' list for the answers: management and data Insights together.

    PutInsightSelectors replaces the trail's whole list, and a type sent with only ``Data``
    in ``EventCategories`` turns that type off for management events. So each type carries
    every category the answers ask for; with no data Insights the list is the plain one
    (categories left out mean management events), as before data Insights existed.
    """
    ev = answers.events
    if not ev.data_insights:
        return [{"InsightType": t} for t in ev.insights]
    out: list[dict[str, Any]] = []
    for insight in INSIGHT_TYPES:
        categories = [
            category
            for category, chosen in (("Management", ev.insights), ("Data", ev.data_insights))
            if insight in chosen
        ]
        if categories:
            out.append({"InsightType": insight, "EventCategories": categories})
    return out


def aggregation_configurations(answers: Answers) -> list[dict[str, Any]]:
    """PutEventConfiguration's ``AggregationConfigurations`` (empty: no aggregation)."""
    templates = list(answers.events.aggregation)
    return [{"EventCategory": "Data", "Templates": templates}] if templates else []


def describe_events(answers: Answers) -> list[str]:
    """What the trail records, one short phrase per selector, for plan summaries.

    Returns:
        Phrases such as ``management events (read and write, without kms.amazonaws.com)``,
        ``S3 writes`` or ``network activity: VPC endpoint denials of kms.amazonaws.com``.
    """
    ev = answers.events
    out: list[str] = []
    if ev.management != "none":
        side = {"all": "read and write", "read": "read only", "write": "write only"}
        text = f"management events ({side[ev.management]}"
        if ev.exclude_sources:
            text += f", without {', '.join(sorted(ev.exclude_sources))}"
        out.append(text + ")")
    for data in ev.data:
        what = {"all": "data events", "read": "reads", "write": "writes"}[data.read_write]
        text = f"{type_label(data.type)} {what}"
        if data.resources != "all":
            text += f" on {', '.join(data.resources)}"
        if data.conditions:
            text += (
                " ("
                + "; ".join(
                    f"{c.field} {c.operator} {', '.join(c.values)}" for c in data.conditions
                )
                + ")"
            )
        out.append(text)
    for network in ev.network:
        kind = "VPC endpoint denials" if network.denied_only else "all calls"
        out.append(f"network activity: {kind} of {network.source}")
    return out
