"""The log bucket's lifecycle rule: built from the answers, merged by rule ID, taken out again.

``PutBucketLifecycleConfiguration`` replaces a bucket's whole lifecycle configuration. So the
wizard never writes a configuration of its own: it reads the bucket's, keeps every other
rule exactly as it was, and adds or replaces only its own rule (found by its ID). The rule is
scoped to the trail's ``AWSLogs/`` keys under the trail's prefix, so other objects in an
existing bucket are never moved or expired.

Pure functions over the S3 API's shapes; no AWS call here.
"""

from __future__ import annotations

import json
from typing import Any

from wizard.model.answers import RetentionAnswers
from wizard.model.choices import CIS_LOG_RETENTION_DAYS

RULE_ID_PREFIX = "cloudtrail-wizard-"
"""Start of the ID of every lifecycle rule the wizard writes (the trail's name follows)."""


def rule_id(trail_name: str) -> str:
    """The ID of the trail's lifecycle rule (S3 allows 255 characters; a trail name has 128)."""
    return f"{RULE_ID_PREFIX}{trail_name}"


def logs_prefix(prefix: str) -> str:
    """The key prefix CloudTrail writes log and digest files under (``AWSLogs/``)."""
    return f"{prefix}/AWSLogs/" if prefix else "AWSLogs/"


def retention_rule(retention: RetentionAnswers, trail_name: str, prefix: str) -> dict[str, Any]:
    """The lifecycle rule the answers ask for, as ``PutBucketLifecycleConfiguration`` takes it."""
    rule: dict[str, Any] = {
        "ID": rule_id(trail_name),
        "Filter": {"Prefix": logs_prefix(prefix)},
        "Status": "Enabled",
    }
    if retention.transition_days is not None:
        rule["Transitions"] = [
            {"Days": retention.transition_days, "StorageClass": retention.storage_class}
        ]
    if retention.expire_days is not None:
        rule["Expiration"] = {"Days": retention.expire_days}
    if retention.noncurrent_expire_days is not None:
        rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": retention.noncurrent_expire_days}
    return rule


def describe_rule(rule: dict[str, Any] | None) -> str:
    """One line for people: what a lifecycle rule does (``(none)`` for no rule)."""
    if not rule:
        return "(none)"
    parts: list[str] = []
    for move in rule.get("Transitions") or []:
        parts.append(f"to {move.get('StorageClass')} after {move.get('Days')} days")
    expiry = (rule.get("Expiration") or {}).get("Days")
    parts.append(f"expire after {expiry} days" if expiry else "current versions kept")
    old = (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays")
    parts.append(
        f"noncurrent versions removed after {old} days" if old else "noncurrent versions kept"
    )
    where = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", ""))
    return f"{', '.join(parts)} (keys {where or 'all'}*)"


def find_rule(rules: list[dict[str, Any]] | None, wanted_id: str) -> dict[str, Any] | None:
    """The rule with this ID, or None."""
    for rule in rules or []:
        if rule.get("ID") == wanted_id:
            return rule
    return None


_COMPARED = ("Filter", "Status", "Transitions", "Expiration", "NoncurrentVersionExpiration")


def _normal(rule: dict[str, Any]) -> str:
    """The compared parts of a rule, so an S3 read and a planned rule compare equal."""
    filt = rule.get("Filter")
    if filt is None and "Prefix" in rule:
        filt = {"Prefix": rule["Prefix"]}  # the older rule shape
    seen = {**{k: rule.get(k) for k in _COMPARED}, "Filter": filt}
    return json.dumps({k: v for k, v in seen.items() if v not in (None, [], {})}, sort_keys=True)


def rule_matches(current: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """True when the bucket's rule already does what ``wanted`` does."""
    return current is not None and _normal(current) == _normal(wanted)


def merge_rule(rules: list[dict[str, Any]] | None, rule: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rule in ``rules`` kept as it is, the one with ``rule``'s ID replaced (in place) or
    ``rule`` added at the end."""
    out: list[dict[str, Any]] = []
    placed = False
    for existing in rules or []:
        if existing.get("ID") == rule["ID"]:
            out.append(dict(rule))
            placed = True
        else:
            out.append(existing)
    if not placed:
        out.append(dict(rule))
    return out


def remove_rule(rules: list[dict[str, Any]] | None, wanted_id: str) -> list[dict[str, Any]]:
    """``rules`` without the one with this ID; every other rule kept as it is."""
    return [r for r in rules or [] if r.get("ID") != wanted_id]


def lifecycle_params(
    bucket: str, rules: list[dict[str, Any]], min_size: str | None = None
) -> dict[str, Any]:
    """``PutBucketLifecycleConfiguration``'s parameters for these rules (and the bucket's
    transition minimum object size, written back as it was read)."""
    params: dict[str, Any] = {"Bucket": bucket, "LifecycleConfiguration": {"Rules": rules}}
    if min_size:
        params["TransitionDefaultMinimumObjectSize"] = min_size
    return params


def retention_problems(rule: dict[str, Any] | None) -> list[str]:
    """What a rule does against CIS's year of logs (empty: nothing)."""
    if rule is None or rule.get("Status") != "Enabled":
        return []
    out: list[str] = []
    expiry = (rule.get("Expiration") or {}).get("Days")
    if isinstance(expiry, int) and expiry < CIS_LOG_RETENTION_DAYS:
        out.append(
            f"log files expire after {expiry} days; CIS asks to keep them at least "
            f"{CIS_LOG_RETENTION_DAYS}"
        )
    old = (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays")
    if isinstance(old, int) and old < CIS_LOG_RETENTION_DAYS:
        out.append(
            f"overwritten or deleted log file versions are removed after {old} days; CIS asks "
            f"to keep logs at least {CIS_LOG_RETENTION_DAYS}"
        )
    return out
