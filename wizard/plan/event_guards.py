"""Guards on the events the answers ask for, checked before anything changes.

CloudTrail accepts many selectors that do not do what they say: a selector that records the
trail's own log bucket (every delivery becomes a new event to deliver: a loop that grows the
bill), a ``NotEquals`` on ``resources.ARN`` that names a bucket (it leaves out only an object
whose ARN is exactly that, so it excludes nothing), an ``Equals`` on a bucket (no object has
that ARN, so it records nothing), a value of another service or partition (it can never match),
a ``NotStartsWith`` that covers every ``StartsWith`` (the selector records nothing, because
CloudTrail ANDs the "not" operators with the others). Each is found here and reported as a
finding that says what happens and how to fix it: an error blocks the plan, a warning explains.

The same checks run for one selector in the front ends' selector editor
(:func:`data_item_problems`), so a person sees a problem while writing the selector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from wizard.model.event_types import (
    ARN_SERVICES,
    CATALOGUE_CHECKED,
    DATA_TYPES_BY_NAME,
    DESELECT_OPERATORS,
    NETWORK_EVENT_SOURCES,
    S3_OBJECT,
    type_label,
)
from wizard.model.names import parse_arn
from wizard.model.plan import Finding
from wizard.plan.selectors import (
    MANAGEMENT_SELECTOR_NAME,
    data_selector,
    event_selection,
    log_bucket_prefixes,
    records_writes,
)

if TYPE_CHECKING:
    from wizard.model.answers import Answers, DataEventAnswers
    from wizard.model.context import Names

__all__ = ["Problem", "data_item_problems", "event_findings"]

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Problem:
    """One problem of one data selector."""

    severity: Severity
    """error (the plan is refused), warning or info."""
    code: str
    """Stable code (``data-events-log-bucket``)."""
    message: str
    """What happens and how to fix it."""


def _is_s3_bucket_or_folder(value: str) -> bool:
    """True for ``arn:...:s3:::bucket``, ``...:::bucket/`` and ``...:::bucket/folder/``."""
    arn = parse_arn(value)
    if arn is None or arn.service != "s3":
        return False
    return "/" not in arn.resource or arn.resource.endswith("/")


def _arn_values(data: DataEventAnswers) -> list[tuple[str, str]]:
    """Every (operator, value) the selector puts on resources.ARN, resources as StartsWith."""
    pairs = [("StartsWith", r) for r in data.resources] if data.resources != "all" else []
    for c in data.conditions:
        if c.field == "resources.ARN":
            pairs += [(c.operator, v) for v in c.values]
    return pairs


def _log_bucket_problems(
    data: DataEventAnswers, where: str, log_buckets: Sequence[str]
) -> list[Problem]:
    """A selector that names the log bucket or the access log bucket and records writes."""
    if data.resource_type != S3_OBJECT or not records_writes(data):
        return []
    out: list[Problem] = []
    for operator, value in _arn_values(data):
        if operator not in ("StartsWith", "Equals"):
            continue
        for bucket in log_buckets:
            if value.startswith(bucket) or (operator == "StartsWith" and bucket.startswith(value)):
                name = bucket.rsplit(":::", 1)[-1].rstrip("/")
                out.append(
                    Problem(
                        "error",
                        "data-events-log-bucket",
                        f"{where} records object writes of {name}, where CloudTrail (or S3 "
                        "server access logging) writes this trail's own logs: every file "
                        "delivered would be recorded as a new event and delivered in turn, a "
                        "loop that grows the bill without end. Remove "
                        f"'{value}' from it, or record only reads there (read_write: read); "
                        "S3 data events for every bucket (resources: all) leave the trail's "
                        "log buckets out by themselves.",
                    )
                )
    return out


def _arn_operator_problems(data: DataEventAnswers, where: str, partition: str) -> list[Problem]:
    """resources.ARN values that can never match, or that do not do what their operator says."""
    out: list[Problem] = []
    service = ARN_SERVICES.get(data.resource_type)
    for operator, value in _arn_values(data):
        if operator in ("EndsWith", "NotEndsWith"):
            continue  # a suffix of the ARN: any text can be one
        arn = parse_arn(value) if value.count(":") >= 5 else None
        if not value.startswith("arn:"):
            out.append(
                Problem(
                    "error",
                    "selector-arn-value",
                    f"{where}: resources.ARN {operator} '{value}' is not an ARN, so it can "
                    f"never match; {operator} needs an ARN or the start of one (an S3 bucket "
                    "is arn:aws:s3:::BUCKET/). To match the end of an ARN, use EndsWith.",
                )
            )
            continue
        parts = value.split(":")
        if len(parts) > 1 and parts[1] and parts[1] != partition:
            out.append(
                Problem(
                    "error",
                    "selector-arn-partition",
                    f"{where}: resources.ARN {operator} '{value}' is in partition "
                    f"'{parts[1]}', but the trail is in '{partition}': it can never match. "
                    f"Write arn:{partition}:...",
                )
            )
            continue
        if service and len(parts) > 2 and parts[2] and parts[2] != service:
            out.append(
                Problem(
                    "error",
                    "selector-arn-service",
                    f"{where}: resources.ARN {operator} '{value}' is a {parts[2]} ARN, but "
                    f"{data.resource_type} resources are {service} ARNs (arn:{partition}:"
                    f"{service}:...): it can never match. Use the ARN of a resource of that "
                    "type, or choose the type this ARN belongs to.",
                )
            )
            continue
        if data.resource_type != S3_OBJECT or arn is None:
            continue
        if operator in ("Equals", "NotEquals") and _is_s3_bucket_or_folder(value):
            does = (
                "records nothing (no object has that ARN: object ARNs end with the object's key)"
                if operator == "Equals"
                else "leaves out nothing but an object whose ARN is exactly that: the bucket's "
                "objects are still recorded"
            )
            fix = "StartsWith" if operator == "Equals" else "NotStartsWith"
            bucket = arn.resource.split("/", 1)[0]
            out.append(
                Problem(
                    "error",
                    "selector-arn-operator",
                    f"{where}: resources.ARN {operator} '{value}' names a bucket or folder, "
                    f"so it {does}. {operator} takes a whole object ARN; for a bucket or "
                    f"folder use {fix} arn:{partition}:s3:::{bucket}/ (with the trailing "
                    "slash).",
                )
            )
        elif operator in ("StartsWith", "NotStartsWith") and "/" not in arn.resource:
            out.append(
                Problem(
                    "warning",
                    "selector-arn-no-slash",
                    f"{where}: resources.ARN {operator} '{value}' has no '/' after the bucket "
                    f"name, so it also matches every bucket whose name starts with "
                    f"'{arn.resource}' ({arn.resource}-archive, ...). For that bucket only, "
                    f"write '{value}/'.",
                )
            )
    return out


def _covers(select_op: str, value: str, deselect_op: str, excluded: str) -> bool:
    """True when every event the select condition matches is left out by the deselect one."""
    if deselect_op == "NotEquals":
        return select_op == "Equals" and value == excluded
    if deselect_op == "NotStartsWith":
        return select_op in ("Equals", "StartsWith") and value.startswith(excluded)
    return select_op in ("Equals", "EndsWith") and value.endswith(excluded)


def _matches_nothing(
    data: DataEventAnswers, where: str, log_buckets: Sequence[str]
) -> list[Problem]:
    """A field whose "not" conditions leave out everything its other conditions select.

    CloudTrail ANDs the deselect operators (NotEquals, NotStartsWith, NotEndsWith) with the
    select ones (Equals, StartsWith, EndsWith), which are ORed: when every selected value is
    also left out, the selector records nothing, and CloudTrail says nothing about it.
    """
    out: list[Problem] = []
    selector = data_selector(data, log_buckets)
    for field in selector["FieldSelectors"]:
        name = field["Field"]
        selects = [
            (op, v) for op in ("Equals", "StartsWith", "EndsWith") for v in field.get(op, [])
        ]
        deselects = [(op, v) for op in DESELECT_OPERATORS for v in field.get(op, [])]
        if not selects or not deselects:
            continue
        covered = [
            (op, v) for op, v in selects if any(_covers(op, v, dop, d) for dop, d in deselects)
        ]
        if len(covered) == len(selects):
            out.append(
                Problem(
                    "error",
                    "selector-matches-nothing",
                    f"{where} records nothing: every {name} value it selects ("
                    + ", ".join(f"{op} {v}" for op, v in covered)
                    + ") is also left out by its "
                    + ", ".join(sorted({op for op, _ in deselects}))
                    + ' condition, and CloudTrail records an event only when no "not" '
                    "condition matches it. Remove the value from one side.",
                )
            )
        elif covered:
            out.append(
                Problem(
                    "warning",
                    "selector-conflict",
                    f"{where}: {name} "
                    + ", ".join(f"{op} {v}" for op, v in covered)
                    + ' is both selected and left out; a "not" condition wins, so those '
                    "events are not recorded. Remove the value from one side.",
                )
            )
    return out


def data_item_problems(
    data: DataEventAnswers,
    *,
    where: str,
    log_buckets: Sequence[str],
    partition: str,
) -> list[Problem]:
    """Every problem of one ``events.data`` item, as the selector CloudTrail would get.

    Args:
        data: The item.
        where: How to name it (``events.data[0] (S3 writes)``).
        log_buckets: :func:`wizard.plan.selectors.log_bucket_prefixes`.
        partition: The trail's ARN partition.
    """
    out = _log_bucket_problems(data, where, log_buckets)
    out += _arn_operator_problems(data, where, partition)
    if not any(p.severity == "error" for p in out):
        out += _matches_nothing(data, where, log_buckets)
    if data.resource_type not in DATA_TYPES_BY_NAME:
        out.append(
            Problem(
                "warning",
                "data-type-unlisted",
                f"{where}: {data.resource_type} is not among the resource types the CloudTrail "
                f"User Guide listed on {CATALOGUE_CHECKED}. If AWS does not know it, "
                "CloudTrail refuses the selectors (InvalidEventSelectorsException) and the "
                "apply is rolled back; check the name (the case matters).",
            )
        )
    return out


def _where(index: int, data: DataEventAnswers) -> str:
    side = {"all": "data events", "read": "reads", "write": "writes"}[data.read_write]
    return f"events.data[{index}] ({type_label(data.type)} {side})"


def _finding(problem: Problem, subject: str) -> Finding:
    return Finding(
        severity=problem.severity, code=problem.code, message=problem.message, subject=subject
    )


def event_findings(answers: Answers, names: Names) -> list[Finding]:
    """Every guard's finding for the answers' events (pure).

    The log bucket loop, the resources.ARN pitfalls and selectors that record nothing (errors);
    types and sources missing from AWS's documented lists, management exclusions that fail
    AWS Config's multi-region rule (warnings); what the wizard did for you: the log buckets left
    out, basic or advanced selectors, Insights sent with both categories (notes).
    """
    ev = answers.events
    log_buckets = log_bucket_prefixes(answers, names)
    out: list[Finding] = []
    for index, data in enumerate(ev.data):
        where = _where(index, data)
        out += [
            _finding(p, f"events.data[{index}]")
            for p in data_item_problems(
                data, where=where, log_buckets=log_buckets, partition=names.partition
            )
        ]
        excluded = [
            f.get("NotStartsWith", [])
            for f in data_selector(data, log_buckets)["FieldSelectors"]
            if f["Field"] == "resources.ARN"
        ]
        left_out = [b for b in log_buckets if any(b in e for e in excluded)]
        if left_out:
            buckets = " and ".join(b.rsplit(":::", 1)[-1].rstrip("/") for b in left_out)
            out.append(
                Finding(
                    severity="info",
                    code="data-events-log-bucket-excluded",
                    message=f"{where} would otherwise record CloudTrail's own writes to "
                    f"{buckets}, a loop that grows the bill: the selector leaves "
                    f"{'them' if len(left_out) > 1 else 'it'} out (resources.ARN "
                    "NotStartsWith). Reads there are recorded by a reads-only selector "
                    "(read_write: read), such as the CIS 4.9 preset.",
                    subject=f"events.data[{index}]",
                )
            )
    for index, network in enumerate(ev.network):
        if network.source not in NETWORK_EVENT_SOURCES:
            out.append(
                Finding(
                    severity="warning",
                    code="network-source-unlisted",
                    message=f"events.network[{index}]: {network.source} is not among the "
                    "event sources the CloudTrail User Guide listed for network activity "
                    f"events on {CATALOGUE_CHECKED}. If CloudTrail does not support it, it "
                    "refuses the selectors (InvalidEventSelectorsException) and the apply is "
                    "rolled back.",
                    subject=f"events.network[{index}]",
                )
            )
    if ev.exclude_sources:
        out.append(
            Finding(
                severity="warning",
                code="management-exclusions",
                message="Management events from "
                + " and ".join(sorted(ev.exclude_sources))
                + " are left out. AWS Config's multi-region-cloudtrail-enabled rule is "
                "NON_COMPLIANT for a trail that excludes management event sources, and so is "
                "Security Hub CloudTrail.1 (CIS 4.1); keep them, or let another trail record "
                "them.",
                subject="events.exclude_sources",
                controls=["CloudTrail.1", "CIS 4.1"],
            )
        )
    selection = event_selection(answers, names)
    if selection.kind == "advanced":
        why = (
            "network activity events"
            if ev.network
            else "S3 data events for every bucket leave the log buckets out"
            if any(d.resource_type == S3_OBJECT and d.resources == "all" for d in ev.data)
            else "its data events need conditions, or types basic selectors do not take"
        )
        out.append(
            Finding(
                severity="info",
                code="event-selectors-advanced",
                message=f"The trail uses advanced event selectors ({why}); basic ones cannot "
                "say this. The management events selector is named "
                f"'{MANAGEMENT_SELECTOR_NAME}' as the CloudTrail console names it, which "
                "scanners look for. A tool that reads only basic selectors sees none.",
            )
        )
    if ev.data_insights:
        out.append(
            Finding(
                severity="info",
                code="insights-both-categories",
                message="Insights on data events are sent with the management events Insights "
                "in one PutInsightSelectors call, each type naming every category it analyses: "
                "the call replaces the whole list, and a type sent for data events only turns "
                "it off for management events.",
            )
        )
    return out
