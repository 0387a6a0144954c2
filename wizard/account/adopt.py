"""Adopt an existing trail: read its configuration into answers (read-only, via the port).

A trail made elsewhere (the console, the AWS CLI, another tool, or this wizard) becomes an
:class:`~wizard.model.answers.Answers` object that describes it as it is: its home region,
bucket and prefix, encryption (the existing key, by its alias when it has one), SNS topic,
CloudWatch Logs group and role, event selectors, Insights, tags and organization flag. Those
answers can be kept in version control, changed in the wizard, and planned: the plan of
unchanged answers changes nothing.

What the answers format cannot say (an advanced selector filtering on event names, a log
group that never expires) is never dropped in silence: each such thing is a note in
:attr:`Adopted.notes`, saying what was read and what the answers say instead.

The reads the answers depend on (GetTrail, GetEventSelectors, GetInsightSelectors,
ListTags) must succeed: a refusal is an :class:`AdoptError` that names the IAM action. Reads
that only refine the answers (the key's alias, the bucket's owner and region, the log group's
retention, the bucket's access logging) become notes when refused.
"""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from wizard.model.answers import (
    EXCLUDABLE_SOURCES,
    INSIGHT_TYPES,
    RETENTION_DAYS,
    Answers,
    DataEventAnswers,
    NetworkEventAnswers,
)
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext
from wizard.model.event_types import VPCE_ACCESS_DENIED, short_type
from wizard.model.names import (
    RUN_TAG,
    check_access_log_prefix,
    check_tags,
    normalise_access_log_prefix,
    parse_arn,
)
from wizard.model.regions import normalise_bucket_location
from wizard.policy.operator import action_for
from wizard.ports import AwsCaller, AwsError

__all__ = [
    "AdoptError",
    "Adopted",
    "adopt_trail",
    "adopted_text",
    "events_from_selectors",
    "find_trail",
]

AdoptProblem = Literal[
    "not-found", "ambiguous", "elsewhere", "shadow", "other-account", "denied", "unreadable"
]
"""Why a trail could not be adopted."""


class AdoptError(Exception):
    """The trail cannot be adopted; the message says why and what to do instead."""

    def __init__(self, code: AdoptProblem, message: str, *, action: str | None = None) -> None:
        self.code = code
        """What went wrong (``not-found``, ``elsewhere``, ``shadow``, ``denied`` ...)."""
        self.message = message
        """What is wrong and how to go on."""
        self.action = action
        """For ``denied``: the IAM action that was refused."""
        super().__init__(message)


class Adopted(WizardModel):
    """An existing trail read as answers, with what the answers could not say."""

    answers: Answers
    """The trail as answers: planning them unchanged changes nothing."""
    trail_arn: str
    """The trail's ARN."""
    home_region: str
    """Its home region (where it was read)."""
    account_id: str
    """The account it was read from."""
    read_at: str
    """When it was read (ISO 8601, UTC, seconds)."""
    bucket_region: str | None = None
    """The log bucket's region, when it could be read (a new key goes there)."""
    key_arn: str | None = None
    """The trail's KMS key ARN, as the trail names it (None: SSE-S3)."""
    is_logging: bool | None = None
    """Whether the trail logs now (None: not readable)."""
    notes: list[str] = Field(default_factory=list)
    """What the answers could not say exactly, and reads that were refused (one sentence
    each, saying what the answers say instead)."""


# --------------------------------------------------------------------------- finding it


def _denied(err: AwsError, what: str) -> AdoptError:
    action = action_for(err.service, err.operation)
    return AdoptError(
        "denied",
        f"Not allowed to read {what}: the caller may not call {action} ({err.code}). "
        f"Allow {action} to the identity you run as (the read-only policy "
        "AWSCloudTrail_ReadOnlyAccess has it), then run it again.",
        action=action,
    )


def _failed(err: AwsError, what: str) -> AdoptError:
    if err.access_denied:
        return _denied(err, what)
    return AdoptError("unreadable", f"Could not read {what}: {err.code}: {err.message}")


def _near_misses(wanted: str, names: Sequence[str]) -> list[str]:
    """Names close to ``wanted`` (case and small typos forgiven), best first."""
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(wanted.lower(), list(lowered), n=3, cutoff=0.6)
    return [lowered[c] for c in close]


def find_trail(
    caller: AwsCaller, ctx: AccountContext, trail: str, *, strict_region: bool = False
) -> dict[str, Any]:
    """The ListTrails entry (Name, TrailARN, HomeRegion) of the trail to adopt.

    Args:
        caller: Makes the read.
        ctx: The account and the session's region (ListTrails answers for every region).
        trail: A trail name or ARN.
        strict_region: The region was asked for explicitly: a trail homed elsewhere is an
            error that names its home region (else it is read there).

    Raises:
        AdoptError: no such trail (near-miss names suggested), several trails by that name,
            another account's trail, a trail homed in another region (with
            ``strict_region``), or ListTrails refused.
    """
    try:
        listed: list[dict[str, Any]] = caller.paginate(
            "cloudtrail", ctx.region, "ListTrails", "Trails"
        )
    except AwsError as err:
        raise _failed(err, "the account's trails") from None
    if trail.startswith("arn:"):
        matches = [t for t in listed if t.get("TrailARN") == trail]
    else:
        matches = [t for t in listed if t.get("Name") == trail]
    if not matches:
        names = sorted({str(t.get("Name")) for t in listed})
        close = _near_misses(trail.rsplit("/", 1)[-1], names)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        known = ", ".join(names) if names else "none"
        raise AdoptError(
            "not-found",
            f"No trail named {trail!r} in account {ctx.account_id}.{hint} The account's "
            f"trails: {known}. Give a name or ARN from that list.",
        )
    if len(matches) > 1:
        homes = [str(t.get("HomeRegion")) for t in matches]
        here = [t for t in matches if t.get("HomeRegion") == ctx.region]
        if strict_region and len(here) == 1:
            matches = here
        else:
            arns = ", ".join(str(t.get("TrailARN")) for t in matches)
            raise AdoptError(
                "ambiguous",
                f"There are trails named {trail!r} in {len(matches)} regions "
                f"({', '.join(homes)}): trail names are unique per region only. Give the ARN "
                f"of the one to adopt: {arns}.",
            )
    found = matches[0]
    arn = str(found.get("TrailARN", ""))
    parsed = parse_arn(arn)
    owner = parsed.account if parsed else None
    if owner and owner != ctx.account_id:
        raise AdoptError(
            "other-account",
            f"Trail {found.get('Name')} belongs to account {owner}, not to {ctx.account_id} "
            "(an organization trail, seen from a member account). Only its owner can change "
            f"it: adopt it with credentials of account {owner} (the management account).",
        )
    return found


# --------------------------------------------------------------------------- selectors

_SelectorNotes = list[str]

_OPERATORS = ("Equals", "NotEquals", "StartsWith", "NotStartsWith", "EndsWith", "NotEndsWith")


def _all_resources(values: Sequence[str], kind: str, partition: str) -> bool:
    """True when a basic selector's values mean "every resource of this type"."""
    service = {"s3": "s3", "lambda": "lambda", "dynamodb": "dynamodb"}[kind]
    everything = {f"arn:{partition}:{service}", f"arn:{partition}:{service}:::"}
    return any(v.rstrip("/") in everything for v in values)


def _basic(
    selectors: Sequence[Mapping[str, Any]],
    partition: str,
    notes: _SelectorNotes,
) -> tuple[set[str], list[set[str]], list[dict[str, Any]]]:
    """Management read/write, exclusions per management selector, and data events."""
    management: set[str] = set()
    exclusions: list[set[str]] = []
    data: list[dict[str, Any]] = []
    for selector in selectors:
        rw = str(selector.get("ReadWriteType") or "All")
        sides = {"All": {"read", "write"}, "ReadOnly": {"read"}, "WriteOnly": {"write"}}[rw]
        read_write = {"All": "all", "ReadOnly": "read", "WriteOnly": "write"}[rw]
        if selector.get("IncludeManagementEvents", True):
            management |= sides
            exclusions.append(set(selector.get("ExcludeManagementEventSources") or []))
        for resource in selector.get("DataResources") or []:
            kind = short_type(str(resource.get("Type")))
            values = [str(v) for v in resource.get("Values") or []]
            if kind not in ("s3", "lambda", "dynamodb"):
                notes.append(
                    f"The trail records data events of type {resource.get('Type')}, which a "
                    "basic event selector cannot name: left out of the answers, so applying "
                    "them would stop recording those events."
                )
                continue
            if not values:
                continue
            if _all_resources(values, kind, partition):
                data.append({"type": kind, "resources": "all", "read_write": read_write})
                if kind == "s3":
                    notes.append(
                        "The trail records S3 data events for every bucket, its own log "
                        "bucket included; the answers' 'all' leaves CloudTrail's own writes "
                        "to the log bucket out (a costly loop), so the plan shows that change."
                    )
            else:
                data.append({"type": kind, "resources": sorted(values), "read_write": read_write})
    return management, exclusions, data


def _describe_selector(selector: Mapping[str, Any]) -> str:
    fields = []
    for field in selector.get("FieldSelectors") or []:
        for operator in _OPERATORS:
            if field.get(operator):
                values = ", ".join(str(v) for v in field[operator])
                fields.append(f"{field.get('Field')} {operator} [{values}]")
    name = selector.get("Name")
    return f"'{name}' ({'; '.join(fields)})" if name else f"({'; '.join(fields)})"


def _read_only(field: Mapping[str, Any] | None) -> str | None:
    """``read`` / ``write`` / ``all`` from a readOnly field selector; None: not expressible."""
    if field is None:
        return "all"
    keys = _operators(field)
    equals = [str(v).lower() for v in field.get("Equals") or []]
    if keys != {"Equals"} or not equals:
        return None
    if set(equals) == {"true"}:
        return "read"
    if set(equals) == {"false"}:
        return "write"
    return "all" if set(equals) == {"true", "false"} else None


def _operators(field: Mapping[str, Any]) -> set[str]:
    return {k for k, v in field.items() if k != "Field" and v}


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    return str(error["msg"]).removeprefix("Value error, ")


class _Events:
    """What the advanced selectors record, gathered selector by selector."""

    def __init__(self, bucket_exclusion: str | None, notes: _SelectorNotes) -> None:
        self.bucket_exclusion = bucket_exclusion
        self.notes = notes
        self.management: set[str] = set()
        self.exclusions: list[set[str]] = []
        self.data: list[dict[str, Any]] = []
        self.network: dict[str, dict[str, Any]] = {}

    def cannot(self, selector: Mapping[str, Any], why: str) -> None:
        self.notes.append(
            f"Advanced event selector {_describe_selector(selector)} cannot be expressed in "
            f"the answers ({why}): left out of them, so applying them would stop recording "
            "what it selects. Keep the trail's selectors as they are by not applying these "
            "answers' events, or record a wider choice in the events step."
        )

    def add(self, selector: Mapping[str, Any]) -> None:
        fields: dict[str, Mapping[str, Any]] = {}
        for field in selector.get("FieldSelectors") or []:
            name = str(field.get("Field"))
            if name in fields:
                self.cannot(selector, f"the field {name} appears twice")
                return
            fields[name] = field
        category = fields.get("eventCategory")
        categories = (category or {}).get("Equals") or []
        if category is None or _operators(category) != {"Equals"} or len(categories) != 1:
            self.cannot(selector, "it does not select one event category")
            return
        kind = str(categories[0])
        if kind == "NetworkActivity":
            self._network(selector, fields)
            return
        side = _read_only(fields.get("readOnly"))
        if side is None:
            self.cannot(selector, "its readOnly condition")
        elif kind == "Management":
            self._management(selector, fields, side)
        elif kind == "Data":
            self._data(selector, fields, side)
        else:
            self.cannot(
                selector,
                f"{kind} events are not in the answers format, which has management, data "
                "and network activity events",
            )

    def _management(
        self, selector: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]], side: str
    ) -> None:
        extra = set(fields) - {"eventCategory", "readOnly", "eventSource"}
        if extra:
            self.cannot(selector, f"it filters on {', '.join(sorted(extra))}")
            return
        source = fields.get("eventSource")
        excluded: set[str] = set()
        if source is not None:
            excluded = set(source.get("NotEquals") or [])
            if _operators(source) != {"NotEquals"} or not excluded <= set(EXCLUDABLE_SOURCES):
                self.cannot(
                    selector,
                    "its eventSource condition: the answers can only leave out "
                    + " and ".join(EXCLUDABLE_SOURCES),
                )
                return
        self.management |= {"read", "write"} if side == "all" else {side}
        self.exclusions.append(excluded)

    def _data(
        self, selector: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]], side: str
    ) -> None:
        kind_field = fields.get("resources.type")
        types = (kind_field or {}).get("Equals") or []
        if kind_field is None or _operators(kind_field) != {"Equals"} or len(types) != 1:
            self.cannot(selector, "it does not name one resource type")
            return
        kind = short_type(str(types[0]))
        entry: dict[str, Any] = {"type": kind, "resources": "all", "read_write": side}
        arn = dict(fields.get("resources.ARN") or {})
        if arn.get("StartsWith"):
            entry["resources"] = sorted(str(v) for v in arn.pop("StartsWith"))
        if (
            entry["resources"] == "all"
            and kind == "s3"
            and self.bucket_exclusion is not None
            and list(arn.get("NotStartsWith") or []) == [self.bucket_exclusion]
        ):
            # The log bucket left out: exactly what the answers' "all" plans.
            arn.pop("NotStartsWith")
        conditions = []
        rest = {k: v for k, v in fields.items() if k not in ("eventCategory", "readOnly")}
        rest.pop("resources.type")
        rest["resources.ARN"] = arn
        for name in sorted(rest):
            for operator in _OPERATORS:
                values = rest[name].get(operator)
                if values:
                    conditions.append(
                        {"field": name, "operator": operator, "values": [str(v) for v in values]}
                    )
        if conditions:
            entry["conditions"] = conditions
        wanted_name = selector.get("Name")
        if wanted_name and wanted_name != f"{kind} data events":
            entry["name"] = str(wanted_name)
        try:
            DataEventAnswers.model_validate(entry)
        except ValidationError as exc:
            self.cannot(selector, _first_problem(exc))
            return
        self.data.append(entry)

    def _network(
        self, selector: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]
    ) -> None:
        extra = set(fields) - {"eventCategory", "eventSource", "errorCode"}
        if extra:
            self.cannot(selector, f"it filters on {', '.join(sorted(extra))}")
            return
        source = fields.get("eventSource")
        sources = [str(s) for s in (source or {}).get("Equals") or []]
        if source is None or _operators(source) != {"Equals"} or not sources:
            self.cannot(selector, "the answers choose network activity events by event source")
            return
        error = fields.get("errorCode")
        denied_only = error is not None
        if error is not None and (
            _operators(error) != {"Equals"}
            or [str(v) for v in error.get("Equals") or []] != [VPCE_ACCESS_DENIED]
        ):
            self.cannot(selector, f"its errorCode condition (only {VPCE_ACCESS_DENIED})")
            return
        for name in sources:
            entry: dict[str, Any] = {"source": name, "denied_only": denied_only}
            try:
                NetworkEventAnswers.model_validate(entry)
            except ValidationError as exc:
                self.cannot(selector, _first_problem(exc))
                return
            known = self.network.get(name)
            if known is not None and known["denied_only"] != denied_only:
                self.notes.append(
                    f"Network activity events of {name} are selected twice, once all and once "
                    "VPC endpoint denials only: the answers record them all."
                )
                entry["denied_only"] = False
            self.network[name] = entry


def events_from_selectors(
    basic: Sequence[Mapping[str, Any]],
    advanced: Sequence[Mapping[str, Any]],
    insights: Sequence[Mapping[str, Any]],
    *,
    bucket: str | None,
    partition: str = "aws",
    aggregation: Sequence[Mapping[str, Any]] = (),
) -> tuple[dict[str, Any], list[str]]:
    """The ``events`` section of the answers for a trail's selectors, and what it cannot say.

    Args:
        basic: GetEventSelectors' ``EventSelectors``.
        advanced: Its ``AdvancedEventSelectors``.
        insights: GetInsightSelectors' ``InsightSelectors`` (empty: Insights off).
        bucket: The trail's log bucket (an S3 data selector leaving it out is "all").
        partition: The ARN partition.
        aggregation: GetEventConfiguration's ``AggregationConfigurations``.

    Returns:
        The ``events`` data (for :class:`~wizard.model.answers.EventsAnswers`), and notes.
    """
    notes: list[str] = []
    network: list[dict[str, Any]] = []
    if not basic and not advanced:
        management: set[str] = {"read", "write"}  # CloudTrail's default without selectors
        exclusions: list[set[str]] = [set()]
        data: list[dict[str, Any]] = []
    elif advanced:
        gathered = _Events(f"arn:{partition}:s3:::{bucket}/" if bucket else None, notes)
        for selector in advanced:
            gathered.add(selector)
        management, exclusions, data = gathered.management, gathered.exclusions, gathered.data
        network = sorted(gathered.network.values(), key=lambda n: str(n["source"]))
    else:
        management, exclusions, data = _basic(basic, partition, notes)
    kind = (
        "all"
        if management == {"read", "write"}
        else "read"
        if management == {"read"}
        else "write"
        if management == {"write"}
        else "none"
    )
    # A source is left out only when every management selector leaves it out.
    excluded = set.intersection(*exclusions) if exclusions else set()
    if any(e != excluded for e in exclusions):
        notes.append(
            "The trail's management event selectors leave out different event sources ("
            + "; ".join(", ".join(sorted(e)) or "none" for e in exclusions)
            + "): the answers leave out only what all of them do ("
            + (", ".join(sorted(excluded)) or "nothing")
            + ")."
        )
    events: dict[str, Any] = {
        "management": kind,
        "exclude_sources": sorted(excluded) if kind != "none" else [],
        "data": data,
        "network": network,
    }
    events["insights"], events["data_insights"] = _insights(insights, kind, bool(data), notes)
    templates: list[str] = []
    for config in aggregation:
        if config.get("EventCategory", "Data") == "Data":
            templates += [str(t) for t in config.get("Templates") or []]
    if templates and not data:
        notes.append(
            "The trail summarises data events it does not record (aggregation "
            f"{', '.join(templates)}): left out of the answers."
        )
        templates = []
    events["aggregation"] = list(dict.fromkeys(templates))
    return events, notes


def _insights(
    selectors: Sequence[Mapping[str, Any]], management: str, data: bool, notes: _SelectorNotes
) -> tuple[list[str], list[str]]:
    """Insights on management events and on data events, as the answers can hold them."""
    on_management: list[str] = []
    on_data: list[str] = []
    for selector in selectors:
        insight = str(selector.get("InsightType"))
        if insight not in INSIGHT_TYPES:
            notes.append(f"Insights type {insight} is not in the answers format: left out.")
            continue
        categories = list(selector.get("EventCategories") or ["Management"])
        if "Management" in categories:
            on_management.append(insight)
        if "Data" in categories:
            on_data.append(insight)
    kept: list[str] = []
    for insight in on_management:
        if management == "none" or (
            insight == "ApiCallRateInsight" and management not in ("all", "write")
        ):
            notes.append(
                f"The trail has Insights {insight} on management events but records {management} "
                "management events, which it cannot analyse: left out of the answers."
            )
            continue
        kept.append(insight)
    if on_data and not data:
        notes.append(
            f"The trail has Insights ({', '.join(on_data)}) on data events but records none: "
            "left out of the answers."
        )
        on_data = []
    order = list(INSIGHT_TYPES).index
    return sorted(set(kept), key=order), sorted(set(on_data), key=order)


# --------------------------------------------------------------------------- reading


def _optional(
    caller: AwsCaller,
    notes: list[str],
    what: str,
    service: str,
    region: str,
    operation: str,
    params: Mapping[str, Any],
) -> dict[str, Any] | None:
    """A read the answers can do without: its failure is a note, never an error."""
    try:
        return caller.call(service, region, operation, params)
    except AwsError as err:
        action = action_for(err.service, err.operation)
        reason = f"{action} was refused" if err.access_denied else f"{err.code}: {err.message}"
        notes.append(f"Could not read {what} ({reason}).")
        return None


def _key_reference(caller: AwsCaller, key_arn: str, account: str, notes: list[str]) -> str:
    """The key as the answers name it: its alias when it has one, else its ARN."""
    parsed = parse_arn(key_arn)
    if parsed is None or not parsed.region or parsed.account != account:
        return key_arn  # another account's key: only its ARN reaches it from here
    key_id = parsed.resource.removeprefix("key/")
    try:
        aliases = caller.paginate("kms", parsed.region, "ListAliases", "Aliases", {"KeyId": key_id})
    except AwsError as err:
        action = action_for(err.service, err.operation)
        notes.append(
            f"Could not read the key's aliases ({action}: {err.code}); the answers name the "
            "key by its ARN."
        )
        return key_arn
    names = sorted(
        str(a.get("AliasName"))
        for a in aliases
        if str(a.get("AliasName", "")).startswith("alias/")
        and not str(a.get("AliasName")).startswith("alias/aws/")
    )
    if not names:
        return key_arn
    if len(names) > 1:
        notes.append(
            f"The key has several aliases ({', '.join(names)}); the answers name it by {names[0]}."
        )
    return names[0]


def _bucket_owner(
    caller: AwsCaller,
    ctx: AccountContext,
    bucket: str,
    region: str,
    candidates: Sequence[str],
    callers: Mapping[str, AwsCaller],
    notes: list[str],
) -> tuple[bool, str | None]:
    """(the bucket is this account's, its owner's account id when another's and known)."""
    try:
        owned = [
            str(b.get("Name")) for b in caller.paginate("s3", region, "ListBuckets", "Buckets")
        ]
    except AwsError as err:
        action = action_for(err.service, err.operation)
        notes.append(
            f"Could not tell whether bucket {bucket} is this account's ({action} was "
            "refused): the answers treat it as this account's existing bucket."
        )
        return True, None
    if bucket in owned:
        return True, None
    for account, other in callers.items():
        try:
            theirs = other.paginate("s3", region, "ListBuckets", "Buckets")
        except AwsError:
            continue
        if any(b.get("Name") == bucket for b in theirs):
            return False, account
    for account in candidates:
        if account == ctx.account_id:
            continue
        try:
            caller.call(
                "s3", region, "HeadBucket", {"Bucket": bucket, "ExpectedBucketOwner": account}
            )
        except AwsError:
            continue
        return False, account
    notes.append(
        f"Bucket {bucket} belongs to another account, which cannot be told from here: set "
        "bucket.account to its owner's 12-digit account id (central logging)."
    )
    return False, None


def _head_bucket(
    caller: AwsCaller, bucket: str, region: str, notes: list[str]
) -> dict[str, Any] | None:
    """HeadBucket's answer; None (with a note) when the bucket is gone or unreadable."""
    try:
        return caller.call("s3", region, "HeadBucket", {"Bucket": bucket})
    except AwsError as err:
        if err.not_found:
            notes.append(
                f"The trail's bucket {bucket} does not exist any more, so nothing is "
                "delivered: the plan of these answers stops at bucket-not-found. Name "
                "another bucket in the storage step, or a new one."
            )
        else:
            action = action_for(err.service, err.operation)
            reason = f"{action} was refused" if err.access_denied else err.code
            notes.append(f"Could not read bucket {bucket}'s region ({reason}).")
        return None


def _access_logs(
    caller: AwsCaller, bucket: str, region: str, notes: list[str]
) -> dict[str, Any] | None:
    logging = _optional(
        caller,
        notes,
        f"the server access logging of bucket {bucket}",
        "s3",
        region,
        "GetBucketLogging",
        {"Bucket": bucket},
    )
    enabled = (logging or {}).get("LoggingEnabled") or {}
    target = enabled.get("TargetBucket")
    if not target:
        return None
    prefix = normalise_access_log_prefix(str(enabled.get("TargetPrefix") or ""))
    problem = check_access_log_prefix(prefix)
    if target == bucket or problem:
        why = "into itself" if target == bucket else f"with prefix {prefix!r} ({problem})"
        notes.append(
            f"Bucket {bucket} logs its server access logs {why}, which the answers cannot "
            "express: access logging is left out of them (the wizard then leaves it as is)."
        )
        return None
    return {"bucket": str(target), "prefix": prefix, "create": False}


def _cloudwatch(caller: AwsCaller, trail: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    group_arn = str(trail.get("CloudWatchLogsLogGroupArn") or "")
    if not group_arn:
        return {}
    parts = group_arn.split(":")
    if len(parts) < 7:
        notes.append(f"The trail's log group ARN {group_arn} cannot be read: left out.")
        return {}
    region, group = parts[3], parts[6]
    section: dict[str, Any] = {"log_group": group}
    role = trail.get("CloudWatchLogsRoleArn")
    if role:
        section["role"] = str(role)
    groups = None
    try:
        groups = caller.paginate(
            "logs", region, "DescribeLogGroups", "logGroups", {"logGroupNamePrefix": group}
        )
    except AwsError as err:
        notes.append(
            f"Could not read log group {group}'s retention "
            f"({action_for(err.service, err.operation)}: {err.code})."
        )
    for entry in groups or []:
        if entry.get("logGroupName") != group:
            continue
        days = entry.get("retentionInDays")
        if days in RETENTION_DAYS:
            section["retention_days"] = int(days)
        elif days is None:
            notes.append(
                f"Log group {group} keeps events forever; the answers' retention_days "
                "applies only when the wizard creates a group, so it is left at its default."
            )
    return section


def _tags(caller: AwsCaller, arn: str, home: str, notes: list[str]) -> dict[str, str]:
    try:
        listed = caller.call("cloudtrail", home, "ListTags", {"ResourceIdList": [arn]})
    except AwsError as err:
        raise _failed(err, "the trail's tags") from None
    tags: dict[str, str] = {}
    for resource in listed.get("ResourceTagList") or []:
        for tag in resource.get("TagsList") or []:
            key, value = str(tag.get("Key")), str(tag.get("Value") or "")
            if key == RUN_TAG or key.lower().startswith("aws:"):
                continue  # the wizard's own run tag and AWS's tags are not the person's
            problem = check_tags({key: value})
            if problem:
                notes.append(f"Tag {key!r} is left out of the answers: {problem}")
                continue
            tags[key] = value
    return tags


def _selectors(
    caller: AwsCaller, trail: Mapping[str, Any], arn: str, home: str, partition: str
) -> tuple[dict[str, Any], list[str]]:
    try:
        selectors = caller.call("cloudtrail", home, "GetEventSelectors", {"TrailName": arn})
    except AwsError as err:
        raise _failed(err, "the trail's event selectors") from None
    insights: list[dict[str, Any]] = []
    if trail.get("HasInsightSelectors", True):
        try:
            found = caller.call("cloudtrail", home, "GetInsightSelectors", {"TrailName": arn})
            insights = list(found.get("InsightSelectors") or [])
        except AwsError as err:
            if err.code != "InsightNotEnabledException" and not err.not_found:
                raise _failed(err, "the trail's Insights selectors") from None
    basic = selectors.get("EventSelectors") or []
    advanced = selectors.get("AdvancedEventSelectors") or []
    aggregation: list[dict[str, Any]] = []
    notes: list[str] = []
    if _records_data(basic, advanced):
        # Summaries exist only for data events: nothing to read for a trail without them.
        try:
            found = caller.call("cloudtrail", home, "GetEventConfiguration", {"TrailName": arn})
            aggregation = list(found.get("AggregationConfigurations") or [])
        except AwsError as err:
            notes.append(
                "Could not read whether the trail summarises its data events ("
                f"{action_for(err.service, err.operation)}: {err.code}): the answers leave "
                "aggregation out, so applying them would turn it off if it is on."
            )
    events, selector_notes = events_from_selectors(
        basic,
        advanced,
        insights,
        bucket=trail.get("S3BucketName"),
        partition=partition,
        aggregation=aggregation,
    )
    return events, selector_notes + notes


def _records_data(
    basic: Sequence[Mapping[str, Any]], advanced: Sequence[Mapping[str, Any]]
) -> bool:
    """The selectors record some data events."""
    if any(s.get("DataResources") for s in basic):
        return True
    for selector in advanced:
        for field in selector.get("FieldSelectors") or []:
            if field.get("Field") == "eventCategory" and "Data" in (field.get("Equals") or []):
                return True
    return False


def adopt_trail(
    caller: AwsCaller,
    ctx: AccountContext,
    trail: str,
    *,
    strict_region: bool = False,
    callers: Mapping[str, AwsCaller] | None = None,
    now: datetime | None = None,
) -> Adopted:
    """Read an existing trail's configuration into answers (read-only).

    Args:
        caller: Makes the (read-only) calls, as the trail's account.
        ctx: The account and the session's region.
        trail: The trail's name or ARN.
        strict_region: The session's region was asked for explicitly: a trail homed in
            another region is refused, naming that region, instead of read there.
        callers: Sessions of other accounts by id (a central log-archive account): a log
            bucket that is not this account's is looked for among theirs.
        now: The time to record as :attr:`Adopted.read_at` (tests fix it).

    Returns:
        The answers and the notes.

    Raises:
        AdoptError: no such trail, several by that name, a trail of another account or
            homed in another region (with ``strict_region``), a shadow copy, a read the
            answers need that was refused (naming the IAM action), or answers that do not
            validate.
    """
    entry = find_trail(caller, ctx, trail, strict_region=strict_region)
    arn = str(entry.get("TrailARN"))
    parsed = parse_arn(arn)
    home = str(entry.get("HomeRegion") or (parsed.region if parsed else ctx.region))
    name = str(entry.get("Name"))
    try:
        found = caller.call("cloudtrail", home, "GetTrail", {"Name": arn})["Trail"]
    except AwsError as err:
        if err.not_found:
            raise AdoptError(
                "not-found",
                f"Trail {name} was listed but is gone now (deleted meanwhile?): nothing to adopt.",
            ) from None
        raise _failed(err, f"trail {name}") from None
    if strict_region and home != ctx.region:
        if found.get("IsMultiRegionTrail"):
            raise AdoptError(
                "shadow",
                f"Trail {name} is a multi-region trail whose home region is {home}: what "
                f"{ctx.region} has is its shadow copy, which can only be changed in {home}. "
                f"Adopt it from its home region: --region {home} (or leave --region out).",
            )
        raise AdoptError(
            "elsewhere",
            f"Trail {name} lives in {home}, not in {ctx.region}. Adopt it from its home "
            f"region: --region {home} (or leave --region out).",
        )
    partition = parsed.partition if parsed else ctx.partition
    notes: list[str] = []
    events, selector_notes = _selectors(caller, found, arn, home, partition)
    tags = _tags(caller, arn, home, notes)
    notes += selector_notes
    status = _optional(
        caller, notes, "whether the trail is logging", "cloudtrail", home, "GetTrailStatus",
        {"Name": arn},
    )  # fmt: skip
    is_logging = bool(status.get("IsLogging")) if status is not None else None
    if is_logging is False:
        notes.append(
            f"Trail {name} is not logging now. Answers always describe a logging trail: "
            "applying them starts it."
        )
    bucket = str(found.get("S3BucketName") or "")
    bucket_section: dict[str, Any] = {
        "name": bucket,
        "create": False,
        "prefix": str(found.get("S3KeyPrefix") or ""),
    }
    bucket_region: str | None = None
    head = _head_bucket(caller, bucket, home, notes)
    if head is not None and head.get("BucketRegion"):
        bucket_region = normalise_bucket_location(str(head["BucketRegion"]))
    if bucket_region is None and head is not None:
        location = _optional(
            caller, notes, f"bucket {bucket}'s region", "s3", home, "GetBucketLocation",
            {"Bucket": bucket},
        )  # fmt: skip
        if location is not None:
            bucket_region = normalise_bucket_location(location.get("LocationConstraint"))
    key_arn = str(found.get("KmsKeyId") or "") or None
    key_parsed = parse_arn(key_arn) if key_arn else None
    candidates = [key_parsed.account] if key_parsed and key_parsed.account else []
    ours, owner = _bucket_owner(
        caller,
        ctx,
        bucket,
        bucket_region or home,
        candidates,
        callers or {},
        notes,
    )
    if owner is not None:
        bucket_section["account"] = owner
    if ours and bucket_region is not None:
        access = _access_logs(caller, bucket, bucket_region, notes)
        if access is not None:
            bucket_section["access_logs"] = access
    encryption: dict[str, Any] = {"type": "sse-s3"}
    if key_arn:
        encryption = {
            "type": "sse-kms",
            "key": _key_reference(caller, key_arn, ctx.account_id, notes),
        }
    topic = found.get("SnsTopicARN")
    data: dict[str, Any] = {
        "trail": {
            "name": name,
            "region": home,
            "multi_region": bool(found.get("IsMultiRegionTrail", False)),
            "include_global_events": bool(found.get("IncludeGlobalServiceEvents", False)),
            "log_file_validation": bool(found.get("LogFileValidationEnabled", False)),
            "organization": bool(found.get("IsOrganizationTrail", False)),
            "tags": tags,
        },
        "bucket": bucket_section,
        "encryption": encryption,
        "notifications": {"sns_topic": str(topic)} if topic else {},
        "cloudwatch_logs": _cloudwatch(caller, found, notes),
        "events": events,
    }
    try:
        answers = Answers.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors(include_url=False)
        )
        raise AdoptError(
            "unreadable",
            f"Trail {name}'s configuration cannot be written as answers: {problems}",
        ) from None
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return Adopted(
        answers=answers,
        trail_arn=arn,
        home_region=home,
        account_id=ctx.account_id,
        read_at=moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        bucket_region=bucket_region,
        key_arn=key_arn,
        is_logging=is_logging,
        notes=notes,
    )


# --------------------------------------------------------------------------- writing

_EXPLICIT: dict[str, tuple[str, ...]] = {
    "trail": (
        "name",
        "region",
        "multi_region",
        "include_global_events",
        "log_file_validation",
        "organization",
    ),
    "bucket": ("name", "create", "prefix"),
    "encryption": ("type",),
    "events": ("management",),
}
"""Settings written even at their default: the file states the trail's settings, and a
later default must not change what it means."""


def _comment(text: str, first: str = "# ", rest: str = "# ") -> list[str]:
    return textwrap.wrap(
        text,
        width=95,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )


def adopted_text(adopted: Adopted, *, sandbox: bool = False, changes: Sequence[str] = ()) -> str:
    """The adopted answers as an answers file (YAML), headed by where they came from.

    The header says which trail, account and region, when, and every note; the answers
    round-trip through :func:`wizard.model.answers_file.parse_answers` unchanged.

    Args:
        adopted: What :func:`adopt_trail` read (its answers possibly changed since).
        sandbox: The trail is the sandbox's (the header says so).
        changes: What was changed in the answers since they were read (the fixes made),
            one phrase each; empty: they describe the trail as it is.
    """
    answers = adopted.answers
    data: dict[str, Any] = answers.model_dump(mode="json", exclude_defaults=True)
    full = answers.model_dump(mode="json")
    for section, keys in _EXPLICIT.items():
        present = data.setdefault(section, {})
        for key in keys:
            present.setdefault(key, full[section][key])
        # The section's settings in the model's order, whatever was added back.
        data[section] = {k: present[k] for k in full[section] if k in present}
    order = list(full)
    data = {k: data[k] for k in order if k in data}
    where = " in the sandbox" if sandbox else ""
    lines = [
        *_comment(
            f"Answers for the existing trail {answers.trail.name}, read by `cloudtrail-wizard "
            f"adopt` at {adopted.read_at} from {adopted.trail_arn} (account "
            f"{adopted.account_id}, home region {adopted.home_region}){where}."
        ),
    ]
    if changes:
        lines += _comment(
            "Changed since: " + "; ".join(changes) + ". `cloudtrail-wizard plan` on this file "
            "shows each change as current -> wanted; `cloudtrail-wizard apply` makes them."
        )
    else:
        lines += _comment(
            "They describe the trail as it is: `cloudtrail-wizard plan` on this file plans no "
            "change. Edit a setting, and the plan shows that change as current -> wanted."
        )
    if adopted.notes:
        lines.append("#")
        lines.append("# Notes:")
        for note in adopted.notes:
            lines += _comment(note, "# - ", "#   ")
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    return "\n".join(lines) + "\n" + body
