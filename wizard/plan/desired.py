"""Desired state: the answers compared with what exists.

The answers file describes a whole setup. When a resource it names already exists and is
the one the answers describe (an earlier apply of the same answers made it, or the trail
uses it), the plan does not create it again: each setting is compared with the answers,
what matches is *unchanged*, and what differs becomes an update step that says "current
-> wanted" and is undone by writing the exact previous value back. This module is that
comparison, shared by the planner (:mod:`wizard.plan.planner`), preflight and every front
end:

* :func:`adoption` decides which existing resources are the answers' own (and so are
  updated, never refused as a clash, never deleted);
* :func:`adopt_reviews` reviews their policies as existing ones (CloudTrail's statements
  merged in at statement level, the owner's kept byte for byte);
* :func:`trail_changes`, :func:`selectors_match`, :func:`insights_change`,
  :func:`tag_changes` and the ``*_setting`` helpers compare one resource's settings;
* :func:`desired_findings` explains the risky updates before they happen, refuses what
  cannot be updated (a trail's home region, a bucket's region) and names what the answers
  no longer use (left alone);
* :func:`resource_states` lists every named resource as create, update, unchanged or use.

An existing resource is adopted only when it can be the answers' own: the trail of that
name homed in the home region (this account's, or the management account's for an
organization trail); a bucket, access log bucket, topic or role the answers would create
when it carries the wizard's run tag (:data:`wizard.model.names.RUN_TAG`: an earlier apply
made it) or the trail already uses it; the key a new key's alias names when that key
carries the run tag or the trail already encrypts with it. Anything else of that name stays
a clash (``bucket-exists``, ``kms-alias-exists`` ...): the wizard never takes over a
resource it cannot tell is the one the answers describe.

May import: ``wizard.account``, ``wizard.policy``, ``wizard.model`` (and :mod:`.review`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wizard.account.current import TrailState
from wizard.account.discovery import BucketFacts, Discovery, KeyFacts
from wizard.model.answers import DATA_EVENT_TYPES, Answers
from wizard.model.context import AccountContext, Names
from wizard.model.names import RUN_TAG
from wizard.model.plan import NONE_SHOWN, Finding, ResourceState, SettingChange, Step
from wizard.plan.review import (
    PolicyReview,
    Reviews,
    access_log_probes,
    bucket_probes,
    key_log_group,
    key_probes,
    review_existing,
    topic_probes,
)
from wizard.policy.merge import PolicyError, merge, parse_policy
from wizard.policy.policies import (
    access_log_bucket_policy,
    access_log_target_arn,
    bucket_policy,
    cloudwatch_role_policy,
    encrypts_log_group,
    encrypts_topic,
    key_policy,
    topic_policy,
)

__all__ = [
    "Adoption",
    "TrailSetting",
    "adopt_reviews",
    "adoption",
    "describe_selectors",
    "desired_findings",
    "insights_change",
    "resource_states",
    "same_key",
    "selectors_match",
    "shown",
    "tag_changes",
    "trail_changes",
]

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
"""All four Block Public Access settings on (what every bucket the wizard makes has)."""

OWNER_ENFORCED = "BucketOwnerEnforced"
"""Object Ownership with ACLs disabled (what every bucket the wizard makes has)."""


# ---------------------------------------------------------------------------- words


def on_off(value: bool | None) -> str:
    """``on``, ``off``, or ``unknown``."""
    if value is None:
        return "unknown"
    return "on" if value else "off"


def shown(value: Any, placeholders: Mapping[str, str] | None = None) -> str:
    """A setting's value for people: ``(none)`` when absent, a placeholder named."""
    if value is None or value == "":
        return NONE_SHOWN
    if isinstance(value, bool):
        return on_off(value)
    text = str(value)
    for prefix, name in (placeholders or {}).items():
        if text.startswith(prefix):
            return name
    return text


# --------------------------------------------------------------------------- adoption


@dataclass(frozen=True)
class Adoption:
    """Which existing resources are the answers' own: updated, never refused or deleted."""

    trail: TrailState | None = None
    """The trail the answers name, when it exists (None: it is created)."""
    bucket: bool = False
    """The log bucket the answers create exists already and is theirs."""
    access_log_bucket: bool = False
    """The access log bucket the answers create exists already and is theirs."""
    key: KeyFacts | None = None
    """The key a new key's alias already names, when it is the answers' key."""
    topic: bool = False
    """The topic the answers create exists already and is theirs."""
    role: bool = False
    """The delivery role the answers create exists already and is theirs."""
    replaced: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Per policy kind: the wizard's earlier statements for this trail that the update's new
    ones supersede (:func:`stale_statements`); they are taken out once the trail uses the new
    ones (a separate step after the trail's, so a rollback puts them back first)."""

    @property
    def any(self) -> bool:
        """Something exists already: the plan updates rather than only creates."""
        return bool(
            self.trail
            or self.bucket
            or self.access_log_bucket
            or self.key
            or self.topic
            or self.role
        )


def _tagged(tags: Mapping[str, str] | None) -> bool:
    """Carries the wizard's run tag: an earlier apply (of some run) made it."""
    return bool(tags) and RUN_TAG in (tags or {})


def bucket_is_ours(facts: BucketFacts, trail: TrailState | None, owned: Sequence[str]) -> bool:
    """An existing bucket of this account that the wizard made, or that the trail uses."""
    if not facts.exists:
        return False
    if facts.owned is False or (facts.owned is None and facts.name not in owned):
        return False
    return _tagged(facts.tags) or (trail is not None and trail.bucket == facts.name)


def same_key(a: str | None, b: str | None) -> bool:
    """Whether two key references name the same key (an ARN and its key id agree)."""
    if not a or not b:
        return not a and not b
    if a == b:
        return True
    tail_a, tail_b = a.rsplit("/", 1)[-1], b.rsplit("/", 1)[-1]
    plain = {a, b} & {tail_a, tail_b}
    return tail_a == tail_b and bool(plain or (":key/" in a and ":key/" in b))


def adoption(answers: Answers, names: Names, found: Discovery) -> Adoption:
    """Which existing resources the answers name are theirs (see the module docstring)."""
    trail = found.trail_state
    bucket = answers.bucket.create and bucket_is_ours(found.bucket, trail, found.owned_buckets)
    access = answers.bucket.access_logs
    target_ours = False
    if access is not None and access.create and found.access_logs is not None:
        facts = found.access_logs
        current_target = (facts.current or {}).get("TargetBucket")
        target = facts.target
        target_ours = (
            target.exists
            and (target.owned is True or target.name in found.owned_buckets)
            and (_tagged(target.tags) or current_target == target.name)
        )
    key: KeyFacts | None = None
    alias_key = found.alias_key
    if answers.encryption.new_key and alias_key is not None and alias_key.found:
        extras = found.alias_key_extras
        used = trail is not None and same_key(trail.kms_key_id, alias_key.arn)
        if used or _tagged(extras.tags if extras else None):
            key = alias_key
    topic = False
    n = answers.notifications
    if n.sns_topic and not n.topic_is_arn and found.topic is not None and found.topic.exists:
        used = trail is not None and trail.sns_topic_arn == found.topic.arn
        topic = used or _tagged(found.topic.tags)
    role = False
    logs = found.logs
    cw = answers.cloudwatch_logs
    if cw.enabled and not cw.role_is_arn and logs is not None and logs.role_exists:
        extras_role = logs.role_extras
        used = trail is not None and bool(trail.cw_role_arn) and trail.cw_role_arn == logs.role_arn
        role = used or _tagged(extras_role.tags if extras_role else None)
    return Adoption(
        trail=trail,
        bucket=bucket,
        access_log_bucket=target_ours,
        key=key,
        topic=topic,
        role=role,
    )


# ---------------------------------------------------------------------------- reviews


def _complete(review: PolicyReview, required: Mapping[str, Any]) -> PolicyReview:
    """A resource the wizard made gets every statement of its policy back when one is missing.

    The review of an existing policy adds nothing when CloudTrail is already allowed (the
    owner's wording stays); for a resource the wizard made, its own other statements (the
    TLS-only Deny, the key's administrators) are part of the desired state too.
    """
    if review.error or not review.readable or review.merged is None:
        return review
    if review.merged.added:
        return review
    try:
        completed = merge(review.before, required)
    except PolicyError:
        return review
    if not completed.added:
        return review
    return review.model_copy(update={"merged": completed, "document": completed.text})


def _pinned_to(statement: Mapping[str, Any], trail_arn: str) -> bool:
    """The statement applies to this trail only (its ``aws:SourceArn`` is the trail's ARN)."""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    for operator, values in condition.items():
        if not str(operator).startswith("StringEquals") or not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            if str(key).lower() == "aws:sourcearn":
                listed = value if isinstance(value, list) else [value]
                return listed == [trail_arn]
    return False


def _base_sid(sid: Any) -> str:
    """A Sid without the number merge appends when the Sid is taken (``AWSCloudTrailWrite2``)."""
    return re.sub(r"\d+$", "", str(sid or ""))


def _without_sid(statement: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in statement.items() if k != "Sid"}, sort_keys=True)


def stale_statements(review: PolicyReview, trail_arn: str) -> list[dict[str, Any]]:
    """The wizard's earlier statements for this trail that the merge supersedes.

    A statement is stale when it applies to this trail only (its ``aws:SourceArn`` is the
    trail's ARN), carries one of the wizard's Sids (or that Sid numbered), says something
    else than every statement the answers require (the write grant of an old prefix), and
    the merge adds the new version of it. Statements of other trails, and the owner's, are
    never stale.
    """
    merged = review.merged
    if merged is None or not merged.added or review.before is None:
        return []
    try:
        document = parse_policy(review.before)
    except PolicyError:
        return []
    raw = document.get("Statement", [])
    statements = raw if isinstance(raw, list) else [raw]
    required = _required_of(review)
    wanted = {_without_sid(s) for s in required}
    superseded = {_base_sid(s.get("Sid")) for s in merged.added}
    return [
        dict(s)
        for s in statements
        if isinstance(s, Mapping)
        and _pinned_to(s, trail_arn)
        and _base_sid(s.get("Sid")) in superseded
        and _without_sid(s) not in wanted
    ]


def adopt_reviews(
    answers: Answers,
    ctx: AccountContext,
    found: Discovery,
    reviews: Reviews,
    adopted: Adoption,
) -> tuple[Reviews, Adoption]:
    """The policy reviews for the resources that exist: merged into, never written whole.

    A bucket, key, topic or access log bucket the answers create but that exists (and is
    theirs, :func:`adoption`) is reviewed as an existing resource, with the whole policy the
    wizard would give a new one as what is required. In every existing policy, a statement
    of the wizard's that applies to this trail only and differs from what the answers want
    now (the write grant of an old prefix) is recorded as stale: the plan takes it out once
    the trail uses the new one.

    Returns:
        The reviews, and the adoption with the stale statements recorded.
    """
    names = Names(answers, ctx)
    org_id = ctx.organization_id or (
        found.organization.organization_id if found.organization else None
    )
    updates: dict[str, Any] = {}
    if adopted.bucket:
        required = bucket_policy(names, org_id)
        updates["bucket"] = _complete(
            review_existing(
                "bucket",
                names.bucket_arn,
                found.bucket.policy,
                required,
                bucket_probes(names, org_id),
                readable=found.bucket.policy_readable,
            ),
            required,
        )
    key = adopted.key
    if key is not None and key.arn:
        region = key.region or names.bucket_region(found.bucket.region)
        topic_arn = names.topic_arn if encrypts_topic(names, region) else None
        # The log group this run creates is encrypted with the key an earlier apply made.
        group_arn = key_log_group(names, found, region)
        required = key_policy(names, topic=topic_arn is not None, log_group=group_arn is not None)
        updates["key"] = _complete(
            review_existing(
                "key",
                key.arn,
                key.policy,
                required,
                key_probes(
                    names, key.arn, decrypt=False, topic_arn=topic_arn, log_group_arn=group_arn
                ),
                readable=key.policy_readable,
            ),
            required,
        )
    if adopted.topic and names.topic_arn and found.topic is not None:
        required = topic_policy(names)
        updates["topic"] = _complete(
            review_existing(
                "topic",
                names.topic_arn,
                found.topic.policy,
                required,
                topic_probes(names, names.topic_arn),
            ),
            required,
        )
    if adopted.role and names.log_group_arn:
        updates["role_permissions"] = cloudwatch_role_policy(names, org_id)
    access = answers.bucket.access_logs
    target_arn = access_log_target_arn(names)
    if adopted.access_log_bucket and access is not None and target_arn is not None:
        facts = found.access_logs
        assert facts is not None
        required = access_log_bucket_policy(names)
        updates["access_logs"] = _complete(
            review_existing(
                "access-log-bucket",
                target_arn,
                facts.target.policy,
                required,
                access_log_probes(names),
                readable=facts.target.policy_readable,
            ),
            required,
        )
    reviewed = reviews.model_copy(update=updates)
    replaced: dict[str, list[dict[str, Any]]] = {}
    # The topic's statement names the trail itself, so it never goes stale.
    for name in ("bucket", "key", "access_logs"):
        review = getattr(reviewed, name)
        if not isinstance(review, PolicyReview) or review.new_resource or review.error:
            continue
        stale = stale_statements(review, names.trail_arn)
        if stale:
            replaced[review.kind] = stale
    return reviewed, Adoption(
        trail=adopted.trail,
        bucket=adopted.bucket,
        access_log_bucket=adopted.access_log_bucket,
        key=adopted.key,
        topic=adopted.topic,
        role=adopted.role,
        replaced=replaced,
    )


def _required_of(review: PolicyReview) -> list[dict[str, Any]]:
    statements = review.required.get("Statement", [])
    return [dict(s) for s in (statements if isinstance(statements, list) else [statements])]


# ------------------------------------------------------------------------------ trail


@dataclass(frozen=True)
class TrailSetting:
    """One trail setting UpdateTrail changes: the parameter, its values and its words."""

    param: str
    """The UpdateTrail parameter (``S3KeyPrefix``)."""
    wanted: Any
    """The value the answers want (may be a placeholder of an earlier step's response)."""
    previous: Any
    """The exact value to write back on rollback ("" removes a setting that was unset)."""
    change: SettingChange
    """current -> wanted, for people."""


_TRAIL_LABELS: dict[str, str] = {
    "S3BucketName": "S3 bucket",
    "S3KeyPrefix": "S3 key prefix",
    "KmsKeyId": "KMS key (SSE-KMS)",
    "SnsTopicName": "SNS topic",
    "CloudWatchLogsLogGroupArn": "CloudWatch Logs log group",
    "CloudWatchLogsRoleArn": "CloudWatch Logs role",
    "IsMultiRegionTrail": "multi-region",
    "IncludeGlobalServiceEvents": "global service events",
    "EnableLogFileValidation": "log file validation",
    "IsOrganizationTrail": "organization trail",
}
"""Every setting UpdateTrail can change, in the order the plan shows them."""

_CURRENT: dict[str, Callable[[TrailState], Any]] = {
    "S3BucketName": lambda s: s.bucket,
    "S3KeyPrefix": lambda s: s.prefix,
    "KmsKeyId": lambda s: s.kms_key_id,
    "SnsTopicName": lambda s: s.sns_topic_arn,
    "CloudWatchLogsLogGroupArn": lambda s: s.cw_group_arn,
    "CloudWatchLogsRoleArn": lambda s: s.cw_role_arn,
    "IsMultiRegionTrail": lambda s: s.multi_region,
    "IncludeGlobalServiceEvents": lambda s: s.include_global_events,
    "EnableLogFileValidation": lambda s: s.log_file_validation,
    "IsOrganizationTrail": lambda s: s.organization,
}

_STRING_SETTINGS = frozenset(
    {
        "S3BucketName",
        "S3KeyPrefix",
        "KmsKeyId",
        "SnsTopicName",
        "CloudWatchLogsLogGroupArn",
        "CloudWatchLogsRoleArn",
    }
)


def _same(param: str, current: Any, wanted: Any) -> bool:
    if param == "KmsKeyId":
        return same_key(current, wanted)
    if param == "CloudWatchLogsLogGroupArn":
        return (current or "").removesuffix(":*") == (wanted or "").removesuffix(":*")
    if param in _STRING_SETTINGS:
        return (current or None) == (wanted or None)
    return bool(current) == bool(wanted)


def trail_changes(
    state: TrailState, wanted: Mapping[str, Any], placeholders: Mapping[str, str] | None = None
) -> list[TrailSetting]:
    """The UpdateTrail settings that differ between the trail and the answers.

    Args:
        state: The trail as it is.
        wanted: CreateTrail's parameters for the answers (a missing string parameter means
            the setting is unset: no prefix, no key, no topic, no CloudWatch Logs).
        placeholders: Words for values only known while applying (``${create-key:...}``).

    Returns:
        One entry per differing setting, in :data:`_TRAIL_LABELS` order. The log group and
        role go together (CloudTrail takes them as a pair): when either differs, both are
        set, and both restored.
    """
    out: list[TrailSetting] = []
    pair = ("CloudWatchLogsLogGroupArn", "CloudWatchLogsRoleArn")
    pair_differs = any(not _same(p, _CURRENT[p](state), wanted.get(p)) for p in pair)
    for param, label in _TRAIL_LABELS.items():
        current = _CURRENT[param](state)
        value = wanted.get(param, "" if param in _STRING_SETTINGS else False)
        differs = pair_differs if param in pair else not _same(param, current, value)
        if not differs:
            continue
        previous = current if param not in _STRING_SETTINGS else (current or "")
        out.append(
            TrailSetting(
                param=param,
                wanted=value if param not in _STRING_SETTINGS else (value or ""),
                previous=previous,
                change=SettingChange(
                    name=label,
                    current=shown(current),
                    wanted=shown(value, placeholders),
                ),
            )
        )
    return out


# ------------------------------------------------------------------------- selectors

_ALL_RESOURCES = frozenset(
    {
        "arn:aws:s3",
        "arn:aws:s3:::",
        "arn:aws:lambda",
        "arn:aws:dynamodb",
        "arn:aws-cn:s3",
        "arn:aws-cn:s3:::",
        "arn:aws-us-gov:s3",
        "arn:aws-us-gov:s3:::",
    }
)
"""Basic data-resource values that mean "every resource of the type"."""

_Canonical = frozenset[tuple[str, str, tuple[str, ...]]]


def _canonical_advanced(selector: Mapping[str, Any]) -> _Canonical:
    fields: set[tuple[str, str, tuple[str, ...]]] = set()
    for fs in selector.get("FieldSelectors") or []:
        name = str(fs.get("Field"))
        for op in ("Equals", "NotEquals", "StartsWith", "NotStartsWith", "EndsWith", "NotEndsWith"):
            values = fs.get(op)
            if values:
                fields.add((name, op, tuple(sorted(str(v) for v in values))))
    return frozenset(fields)


def _read_only_field(read_write: str | None) -> list[tuple[str, str, tuple[str, ...]]]:
    if read_write == "ReadOnly":
        return [("readOnly", "Equals", ("true",))]
    if read_write == "WriteOnly":
        return [("readOnly", "Equals", ("false",))]
    return []


def _canonical_basic(selector: Mapping[str, Any]) -> list[_Canonical]:
    """A basic selector as the advanced selectors that record the same events."""
    out: list[_Canonical] = []
    rw = _read_only_field(selector.get("ReadWriteType"))
    if selector.get("IncludeManagementEvents", True):
        fields = {("eventCategory", "Equals", ("Management",)), *rw}
        excluded = selector.get("ExcludeManagementEventSources") or []
        if excluded:
            fields.add(("eventSource", "NotEquals", tuple(sorted(str(e) for e in excluded))))
        out.append(frozenset(fields))
    for resource in selector.get("DataResources") or []:
        kind = str(resource.get("Type"))
        values = [str(v) for v in resource.get("Values") or []]
        fields = {
            ("eventCategory", "Equals", ("Data",)),
            ("resources.type", "Equals", (kind,)),
            *rw,
        }
        specific = [v for v in values if v not in _ALL_RESOURCES]
        if specific and len(specific) == len(values):
            fields.add(("resources.ARN", "StartsWith", tuple(sorted(specific))))
        out.append(frozenset(fields))
    return out


def canonical_selectors(
    basic: Sequence[Mapping[str, Any]] | None, advanced: Sequence[Mapping[str, Any]] | None
) -> list[_Canonical]:
    """Selectors in one comparable form (names ignored, values sorted), basic or advanced."""
    if advanced:
        return sorted((_canonical_advanced(s) for s in advanced), key=sorted)
    out = [c for s in basic or [] for c in _canonical_basic(s)]
    return sorted(out, key=sorted)


def selectors_match(state: TrailState, wanted: Sequence[Mapping[str, Any]]) -> bool:
    """The trail records exactly the events the answers' advanced selectors record."""
    current = canonical_selectors(state.event_selectors, state.advanced_event_selectors)
    return current == canonical_selectors(None, wanted)


_SELECTOR_BASICS = frozenset({"eventCategory", "resources.type", "readOnly", "resources.ARN"})
"""Fields every description already says (any other field is a condition)."""


def describe_selectors(
    basic: Sequence[Mapping[str, Any]] | None, advanced: Sequence[Mapping[str, Any]] | None
) -> str:
    """The events selectors record, in a few words (``management: all; s3 data: write``)."""
    parts: list[str] = []
    kinds = {v: k for k, v in DATA_EVENT_TYPES.items()}
    for fields in canonical_selectors(basic, advanced):
        by_field = {(f, op): values for f, op, values in fields}
        category = by_field.get(("eventCategory", "Equals"), ("?",))[0]
        read = by_field.get(("readOnly", "Equals"))
        mode = "all" if read is None else ("read" if read == ("true",) else "write")
        if category == "Management":
            text = f"management: {mode}"
            excluded = by_field.get(("eventSource", "NotEquals"))
            if excluded:
                text += f" (without {', '.join(excluded)})"
        elif category == "NetworkActivity":
            source = ", ".join(by_field.get(("eventSource", "Equals"), ("?",)))
            denied = ("errorCode", "Equals") in by_field
            text = f"network activity: {source}{' (VPC endpoint denials)' if denied else ''}"
        else:
            kind = by_field.get(("resources.type", "Equals"), ("?",))[0]
            text = f"{kinds.get(kind, kind)} data: {mode}"
            if ("resources.ARN", "StartsWith") in by_field:
                text += f" ({len(by_field[('resources.ARN', 'StartsWith')])} prefixes)"
            elif ("resources.ARN", "NotStartsWith") in by_field:
                text += " (all but the log bucket)"
            if {f for f, _op, _values in fields} - _SELECTOR_BASICS:
                text += " (with conditions)"
        parts.append(text)
    kind_word = "advanced" if advanced else "basic"
    return f"{'; '.join(parts) or 'nothing'} ({kind_word} selectors)"


def insights_change(state: TrailState, wanted: Sequence[str]) -> SettingChange | None:
    """current -> wanted for the Insights types, None when they are the same."""
    if sorted(state.insight_types) == sorted(wanted):
        return None
    return SettingChange(
        name="CloudTrail Insights",
        current=", ".join(sorted(state.insight_types)) or "off",
        wanted=", ".join(sorted(wanted)) or "off",
    )


# ------------------------------------------------------------------------------ tags


def tag_changes(
    current: Mapping[str, str] | None, wanted: Mapping[str, str]
) -> tuple[dict[str, str], list[str], dict[str, str], list[SettingChange]]:
    """The tags the answers name that differ, and how to put the old ones back.

    Only the tags the answers name are compared; any other tag (the run tag of the
    run that made the resource, a colleague's cost-centre tag) is left as it is.

    Returns:
        ``(to_set, new_keys, previous, changes)``: the tags to write; the keys that were
        absent (a rollback removes them); the previous values of the keys that change
        (a rollback writes them back); and current -> wanted per tag.
    """
    have = dict(current or {})
    to_set = {k: v for k, v in sorted(wanted.items()) if k != RUN_TAG and have.get(k) != v}
    new_keys = [k for k in to_set if k not in have]
    previous = {k: have[k] for k in to_set if k in have}
    changes = [
        SettingChange(name=f"tag {k}", current=shown(have.get(k)), wanted=v)
        for k, v in to_set.items()
    ]
    return to_set, new_keys, previous, changes


# -------------------------------------------------------------------- bucket settings


def encryption_rule(key_ref: str | None) -> dict[str, Any]:
    """The default-encryption rule the wizard gives a log bucket: the key's, or SSE-S3."""
    if key_ref is None:
        return {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    return {
        "ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key_ref,
        },
        "BucketKeyEnabled": False,
    }


def encryption_matches(facts: BucketFacts, key_ref: str | None) -> bool:
    """The bucket's default encryption is the one the answers want (algorithm and key)."""
    if key_ref is None:
        return facts.encryption == "AES256"
    return facts.encryption == "aws:kms" and same_key(facts.encryption_key, key_ref)


def describe_encryption(facts: BucketFacts) -> str:
    """The bucket's default encryption, in words."""
    if facts.encryption is None:
        return NONE_SHOWN
    if facts.encryption == "AES256":
        return "SSE-S3 (AES256)"
    return f"{facts.encryption} with {facts.encryption_key or 'the AWS managed key'}"


def describe_block(config: Mapping[str, bool] | None) -> str:
    """Block Public Access settings, in words."""
    if not config:
        return NONE_SHOWN
    on = [k for k, v in config.items() if v]
    if len(on) == len(BLOCK_ALL) and set(on) == set(BLOCK_ALL):
        return "all four on"
    return ", ".join(f"{k} {on_off(bool(v))}" for k, v in config.items()) or NONE_SHOWN


def _count(text: str | None) -> int:
    try:
        statements = parse_policy(text)["Statement"] if text else []
    except PolicyError:
        return 0
    return len(statements) if isinstance(statements, list) else 1


def _statements(n: int) -> str:
    return f"{n} statement{'s' if n != 1 else ''}"


def policy_setting(name: str, review: PolicyReview) -> SettingChange:
    """current -> wanted for a policy merge: how many statements, and which it adds."""
    merged = review.merged
    added = [str(s.get("Sid") or "a statement") for s in (merged.added if merged else [])]
    count = _count(review.before)
    return SettingChange(
        name=name,
        current=_statements(count) if review.before else NONE_SHOWN,
        wanted=f"{_statements(count + len(added))}: adds {', '.join(added)}; "
        "the others kept as they are",
    )


def tidy_setting(name: str, before: str, stale: Sequence[Mapping[str, Any]]) -> SettingChange:
    """current -> wanted for taking the wizard's stale statements out of a policy."""
    count = _count(before)
    sids = ", ".join(str(s.get("Sid")) for s in stale)
    return SettingChange(
        name=name,
        current=_statements(count),
        wanted=f"{_statements(count - len(stale))}: the earlier {sids} for this trail taken "
        "out; the others kept as they are",
    )


# ------------------------------------------------------------------------------ findings


def _finding(severity: Any, code: str, message: str, subject: str | None = None) -> Finding:
    return Finding(severity=severity, code=code, message=message, subject=subject)


def desired_findings(
    answers: Answers, names: Names, found: Discovery, adopted: Adoption
) -> list[Finding]:
    """What an update changes that a person must know first, and what cannot be updated.

    * errors: the trail's home region cannot change (``trail-home-region``); a bucket's
      region cannot change (``bucket-region-differs``); settings that could not be read
      cannot be changed safely (``trail-unreadable``);
    * warnings: a new bucket or prefix (``trail-destination-change``), a new key or none
      (``trail-encryption-change``), multi-region off (``multi-region-off``), organization
      trail on or off (``organization-trail-change``);
    * notes: what the trail used and the answers no longer name is left alone
      (``previous-*-left-alone``), a stopped trail is started (``trail-stopped``).
    """
    out = _home_region_findings(answers, names, found)
    for kind, statements in sorted(adopted.replaced.items()):
        sids = ", ".join(str(st.get("Sid")) for st in statements)
        out.append(
            _finding(
                "info",
                "policy-statement-updated",
                f"The {kind.replace('-', ' ')} policy holds the wizard's earlier version of "
                f"{sids} for this trail only (aws:SourceArn {names.trail_arn}), which no longer "
                "matches the answers (another prefix or organization): the new version is added "
                "first, and the earlier one taken out once the trail uses the new one. Every "
                "other statement is kept exactly as it is; a rollback restores the previous "
                "text.",
                names.trail_arn,
            )
        )
    state = adopted.trail
    if adopted.bucket and found.bucket.region and found.bucket.region != names.bucket_region():
        out.append(
            _finding(
                "error",
                "bucket-region-differs",
                f"The bucket {answers.bucket.name} exists in {found.bucket.region}, but the "
                f"answers create it in {names.bucket_region()}. A bucket cannot move to another "
                f"region: set bucket.region to {found.bucket.region}, or name another bucket.",
                answers.bucket.name,
            )
        )
    key = adopted.key
    if key is not None and key.state not in (None, "Enabled"):
        out.append(
            _finding(
                "error",
                "kms-key-disabled",
                f"The key {names.key_alias()} names ({key.arn}) is {key.state}; CloudTrail "
                "cannot encrypt with it. Enable it (or cancel its deletion), or choose another "
                "alias in encryption.alias for a new key.",
                key.arn,
            )
        )
    if state is None:
        return out
    if state.errors:
        out.append(
            _finding(
                "error",
                "trail-unreadable",
                f"The trail {state.arn} exists, but its settings could not all be read ("
                + "; ".join(state.errors)
                + "). The wizard only changes what it can restore exactly on rollback: allow "
                "cloudtrail:GetTrail, GetTrailStatus, GetEventSelectors, GetInsightSelectors "
                "and ListTags, then plan again.",
                state.arn,
            )
        )
        return out
    out += _trail_update_findings(answers, names, state)
    out += _left_alone_findings(answers, names, state)
    return out


def ours_elsewhere(answers: Answers, names: Names, found: Discovery) -> list[Any]:
    """This account's trails of the answers' name homed in another region that are in the way.

    A trail visible from the home region (a multi-region trail's copy), or any trail of the
    name when the answers' trail is multi-region (its copies would collide). Other regions'
    single-region trails of the same name are other trails, not in the way.
    """
    name = answers.trail.name
    home = names.home_region
    adopted = found.trail_state.arn if found.trail_state is not None else None
    seen: dict[str, Any] = {}
    for t in [*found.trails, *(found.named_trails or [])]:
        if (
            t.name == name
            and t.home_region != home
            and t.arn != adopted
            and t.owner_account == names.trail_owner
            and (t.multi_region or answers.trail.multi_region)
        ):
            seen.setdefault(t.arn, t)
    return sorted(seen.values(), key=lambda t: t.arn)


def _home_region_findings(answers: Answers, names: Names, found: Discovery) -> list[Finding]:
    """``trail-home-region``: a trail of this name is this account's, homed elsewhere."""
    in_the_way = ours_elsewhere(answers, names, found)
    if not in_the_way:
        return []
    name = answers.trail.name
    home = names.home_region
    trail = in_the_way[0]
    if found.trail_state is not None:
        return [
            _finding(
                "error",
                "trail-exists",
                f"A trail named {name} also exists in {trail.home_region} ({trail.arn}). A "
                f"multi-region trail is copied into every region, so its name must be free in "
                f"all of them (AWS refuses with TrailAlreadyExistsException): the trail in "
                f"{home} cannot be made multi-region while that one exists. Delete or rename "
                "it, or keep trail.multi_region false.",
                trail.arn,
            )
        ]
    return [
        _finding(
            "error",
            "trail-home-region",
            f"The trail {name} exists with its home region {trail.home_region} ({trail.arn}); "
            f"the answers put it in {home}"
            + (
                " (a multi-region trail is copied into every region, so the two would collide)"
                if answers.trail.multi_region and not trail.multi_region
                else ""
            )
            + ". CloudTrail cannot change a trail's home region. If that is the trail these "
            f"answers describe, set trail.region to {trail.home_region}; to move it, delete it "
            "and apply again (its log files stay in the bucket); otherwise choose another name "
            "in trail.name.",
            trail.arn,
        )
    ]


def _trail_update_findings(answers: Answers, names: Names, state: TrailState) -> list[Finding]:
    out: list[Finding] = []
    t = answers.trail
    bucket, prefix = answers.bucket.name, answers.bucket.prefix or None
    if state.bucket != bucket or (state.prefix or None) != prefix:
        old = f"s3://{state.bucket}/{state.prefix + '/' if state.prefix else ''}AWSLogs/"
        new = f"s3://{bucket}/{names.prefix_path}AWSLogs/"
        out.append(
            _finding(
                "warning",
                "trail-destination-change",
                f"The trail {t.name} writes its log files to {old}; after the update new files "
                f"go to {new}. The files already written stay where they are (the wizard moves "
                "and deletes nothing): whoever reads or archives the logs, or validates them "
                "(validate-logs), must look in both places for the time before the change.",
                state.arn,
            )
        )
    wanted_key = answers.encryption.type == "sse-kms"
    if not state.kms_key_id and wanted_key:
        out.append(
            _finding(
                "warning",
                "trail-encryption-change",
                f"The trail {t.name} encrypts its log files with SSE-S3; after the update new "
                "files are encrypted with the KMS key (SSE-KMS). Files already written keep "
                "SSE-S3. Everyone who reads the new files needs kms:Decrypt on the key (its key "
                "policy and their IAM policy), or they can no longer read them.",
                state.arn,
            )
        )
    elif state.kms_key_id and not wanted_key:
        out.append(
            _finding(
                "warning",
                "trail-encryption-change",
                f"The trail {t.name} encrypts its log files with the KMS key {state.kms_key_id}; "
                "after the update new files are encrypted with SSE-S3 only, so anyone allowed "
                "s3:GetObject on the bucket can read them (CIS 4.5 and Security Hub "
                "CloudTrail.2 then fail). Files already written stay encrypted with the key.",
                state.arn,
            )
        )
    if state.multi_region and not t.multi_region:
        out.append(
            _finding(
                "warning",
                "multi-region-off",
                f"The trail {t.name} records every region today; after the update it records "
                f"only {names.home_region}. Activity in the other regions is no longer "
                "recorded (CIS 4.1 and Security Hub CloudTrail.1 then fail).",
                state.arn,
            )
        )
    if state.organization != t.organization:
        change = (
            "becomes an organization trail: it is created in every member account of the "
            "organization (they can see it but not change or stop it), and their events go to "
            f"the bucket under AWSLogs/{names.ctx.organization_id or '<organization id>'}/"
            if t.organization
            else "stops being an organization trail: it is removed from every member account, "
            "whose events are no longer recorded by it"
        )
        out.append(
            _finding(
                "warning",
                "organization-trail-change",
                f"The trail {t.name} {change}. This changes what every member account is "
                "recorded by; tell their owners first.",
                state.arn,
            )
        )
    if state.logging is False:
        out.append(
            _finding(
                "info",
                "trail-stopped",
                f"The trail {t.name} exists but does not log (it was stopped); the update starts "
                "it again (a rollback stops it again).",
                state.arn,
            )
        )
    return out


def _left_alone_findings(answers: Answers, names: Names, state: TrailState) -> list[Finding]:
    """What the trail uses now and the answers no longer name: left as it is, said so."""
    out: list[Finding] = []
    t = answers.trail.name

    def note(code: str, what: str, resource: str) -> None:
        out.append(
            _finding(
                "info",
                code,
                f"The trail {t} uses {what} {resource} today and the answers no longer name it: "
                "after the update the trail stops using it, and the wizard leaves it exactly as "
                "it is (it never deletes or changes a resource the answers do not name).",
                resource,
            )
        )

    if state.bucket and state.bucket != answers.bucket.name:
        note("previous-bucket-left-alone", "the bucket", state.bucket)
    if state.sns_topic_arn and state.sns_topic_arn != names.topic_arn:
        note("previous-topic-left-alone", "the SNS topic", state.sns_topic_arn)
    if state.cw_group_arn and (state.cw_group_arn.removesuffix(":*")) != (
        names.log_group_arn or ""
    ).removesuffix(":*"):
        note("previous-log-group-left-alone", "the CloudWatch Logs group", state.cw_group_arn)
    if state.cw_role_arn and state.cw_role_arn != names.role_arn:
        note("previous-role-left-alone", "the delivery role", state.cw_role_arn)
    return out


def key_left_alone(state: TrailState, key_ref: str | None) -> Finding | None:
    """``previous-key-left-alone``: the trail's key is not the one the plan gives it.

    Args:
        state: The trail as it is.
        key_ref: The key the plan gives the trail (an ARN, a new key's placeholder, or None
            for SSE-S3).
    """
    if not state.kms_key_id or same_key(state.kms_key_id, key_ref):
        return None
    instead = "SSE-S3" if key_ref is None else "another key"
    return _finding(
        "info",
        "previous-key-left-alone",
        f"The trail {state.name} encrypts with the KMS key {state.kms_key_id} today and the "
        f"answers want {instead}: new log files are encrypted that way, files already "
        f"written stay encrypted with {state.kms_key_id}, which the wizard leaves exactly as "
        "it is (keep it, and its readers' access, while anyone needs those files).",
        state.kms_key_id,
    )


# ------------------------------------------------------------------- resource states


def resource_states(
    answers: Answers, names: Names, found: Discovery, steps: Sequence[Step], key_arn: str | None
) -> list[ResourceState]:
    """Every resource the answers name, as create, update, unchanged or use.

    A resource some step creates is ``create``; one some step changes is ``update``; one that
    exists and no step touches is ``unchanged`` when the answers own it (and compared every
    setting of it), ``use`` when the wizard only uses it as it is (an existing bucket, key,
    topic or role, a log group).
    """
    creates = {s.creates for s in steps if s.creates}
    changes = {s.changes for s in steps if s.changes and not s.creates}
    out: list[ResourceState] = []

    def add(kind: Any, resource: str, owned: bool, detail_same: str, *aliases: str) -> None:
        ids = {resource, *aliases}
        if ids & creates:
            status = "create"
        elif ids & changes:
            status = "update"
        else:
            status = "unchanged" if owned else "use"
        detail = detail_same if status in ("unchanged", "use") else ""
        out.append(ResourceState(kind=kind, resource=resource, status=status, detail=detail))

    trail = found.trail_state
    add(
        "trail",
        names.trail_arn,
        True,
        "every setting, the event and Insights selectors, logging and the answers' tags match"
        if trail is not None
        else "",
    )
    bucket = answers.bucket
    add(
        "bucket",
        names.bucket_arn,
        bucket.create,
        "its settings, policy and the answers' tags match"
        if bucket.create
        else "CloudTrail's statements are in its policy; its other settings are its owner's",
    )
    access = answers.bucket.access_logs
    target_arn = access_log_target_arn(names)
    if access is not None and target_arn is not None:
        add(
            "access-log-bucket",
            target_arn,
            access.create,
            "its settings and policy match" if access.create else "log delivery is allowed",
        )
    enc = answers.encryption
    if enc.type == "sse-kms":
        if enc.new_key:
            alias = names.key_alias()
            add(
                "key",
                key_arn or alias,
                True,
                "its policy, rotation and the answers' tags match",
                alias,
                f"KMS key in {names.bucket_region(found.bucket.region)}",
            )
        else:
            add(
                "key",
                key_arn or enc.existing_key or "",
                False,
                "CloudTrail's statements are in its policy",
            )
    n = answers.notifications
    if n.sns_topic and names.topic_arn:
        add(
            "topic",
            names.topic_arn,
            not n.topic_is_arn,
            "its policy matches" if not n.topic_is_arn else "CloudTrail may publish to it",
        )
    cw = answers.cloudwatch_logs
    if cw.enabled and names.log_group_arn:
        used = "used as it is (created when missing)"
        if encrypts_log_group(names, names.bucket_region(found.bucket.region)):
            # Shown for a group that exists: the new key goes only to a group the run creates.
            used = "used as it is, not re-keyed (the trail's new key encrypts only a group the "
            used += "wizard creates)"
        add("log-group", names.log_group_arn, False, used)
        if names.role_arn:
            add(
                "role",
                names.role_arn,
                not cw.role_is_arn,
                "its inline policy matches" if not cw.role_is_arn else "used as it is",
            )
    return out


def json_equal(a: str | None, b: str | None) -> bool:
    """Two JSON documents (policies) say the same, whatever their layout."""
    if a is None or b is None:
        return a is b
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b
