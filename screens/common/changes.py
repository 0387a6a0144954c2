"""What a person changed in an existing trail's answers, step by step, for every front end.

When the wizard starts from an existing trail (adopted, :mod:`wizard.account.adopt`), each
step starts from the trail's current values; the TUI and the plain prompts mark what the
person (or a chosen fix) changed, as ``Log file validation: yes, changed (was: no)``. Both
read the same comparison here: the draft as it is against the draft the trail was read into,
each validated the way the answers file is, so a value typed differently but meaning the same
(an empty prefix, a default left out) is no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wizard import guide
from wizard.guide import Draft

STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "trail": ("trail.",),
    "storage": ("bucket.",),
    "prefix": ("bucket.prefix",),
    "encryption": ("encryption.",),
    "delivery": ("notifications.", "cloudwatch_logs."),
    "events": ("events.",),
}
"""The answers each step asks (by dotted prefix); the review shows every change."""

_STEP_EXCLUDES: dict[str, tuple[str, ...]] = {"storage": ("bucket.prefix",)}

LABELS: dict[str, str] = {
    "trail.name": "Trail name",
    "trail.region": "Home region",
    "trail.multi_region": "Record every region",
    "trail.include_global_events": "Global service events",
    "trail.log_file_validation": "Log file validation",
    "trail.organization": "Organization trail",
    "trail.tags": "Tags",
    "bucket.name": "Bucket",
    "bucket.create": "New bucket",
    "bucket.region": "New bucket's region",
    "bucket.prefix": "Log file prefix",
    "bucket.account": "Bucket owner's account",
    "bucket.access_logs": "Server access logging",
    "encryption.type": "Encryption",
    "encryption.key": "KMS key",
    "encryption.alias": "New key's alias",
    "encryption.decrypt_principals": "Who may decrypt",
    "notifications.sns_topic": "SNS topic",
    "cloudwatch_logs.log_group": "CloudWatch Logs group",
    "cloudwatch_logs.role": "CloudWatch Logs role",
    "cloudwatch_logs.retention_days": "CloudWatch Logs retention",
    "events.management": "Management events",
    "events.exclude_sources": "Sources left out",
    "events.data": "Data events",
    "events.network": "Network activity events",
    "events.insights": "Insights",
    "events.data_insights": "Insights on data events",
    "events.aggregation": "Data event aggregation",
}
"""How each compared answer is named (the fields not listed are not compared: settings of a
new bucket or key only, such as versioning, which an existing trail's answers do not use)."""

_WARNINGS: dict[str, str] = {
    "trail.name": (
        "a trail by the new name is created beside it; the existing trail stays as it is"
    ),
    "trail.region": (
        "a trail's home region cannot change: the review refuses this (trail-home-region); set "
        "it back to change this trail"
    ),
    "bucket.name": "new log files go to the new bucket; the files already delivered stay",
    "bucket.prefix": "new log files go under the new prefix; the files already delivered stay",
    "trail.organization": "every account of the organization is affected",
}
"""What changing these means, said beside the change (empty: nothing beyond the change)."""


@dataclass(frozen=True)
class Change:
    """One answer that differs from the trail's current value."""

    key: str
    """Dotted answers path (``trail.log_file_validation``)."""
    label: str
    """How it is named (``Log file validation``)."""
    was: str
    """The trail's current value, as people read it."""
    now: str
    """The value it gets."""
    warning: str = ""
    """What the change means beyond itself (a new trail, where new files go), if anything."""

    def sentence(self) -> str:
        """``Log file validation: yes, changed (was: no)``, with the warning after it."""
        text = f"{self.label}: {self.now}, changed (was: {self.was})"
        return f"{text}; {self.warning}" if self.warning else text


def resolved(draft: Draft) -> dict[str, Any]:
    """The draft as answers data with every default filled in, when it validates.

    A draft that does not validate yet (a step half filled) is compared as it is.
    """
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.model.answers import Answers

    data = guide.answers_data(draft)
    try:
        full: dict[str, Any] = Answers.model_validate(data).model_dump(mode="json")
    except ValueError:  # pydantic's ValidationError is a ValueError
        return data
    return full


def _flat(data: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, values in data.items():
        if isinstance(values, Mapping):
            for key, value in values.items():
                flat[f"{section}.{key}"] = value
    return flat


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def show(key: str, value: Any) -> str:
    """A value as people read it."""
    if _empty(value):
        return {
            "trail.region": "the session's region",
            "bucket.access_logs": "off",
            "events.data": "none",
            "events.network": "none",
            "events.aggregation": "off",
        }.get(key, "none")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "bucket.access_logs" and isinstance(value, Mapping):
        where = f"into {value.get('bucket')}/{value.get('prefix') or ''}"
        return where + (" (a new bucket)" if value.get("create", True) else "")
    if key == "encryption.key" and value == "new":
        return "a new key"
    if key == "cloudwatch_logs.retention_days":
        return f"{value} days"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_item(v) for v in value)
    return str(value)


def _item(value: Any) -> str:
    if isinstance(value, Mapping) and ("type" in value or "source" in value):
        # A data or network activity event selector, as the Events step lists it.
        return guide.describe_item(dict(value))
    return str(value)


def _in_step(key: str, step_id: str | None) -> bool:
    if step_id is None or step_id not in STEP_FIELDS:
        return True
    if any(key.startswith(p) for p in _STEP_EXCLUDES.get(step_id, ())):
        return False
    return any(key.startswith(p) for p in STEP_FIELDS[step_id])


def changes(baseline: Draft, draft: Draft, step_id: str | None = None) -> list[Change]:
    """The answers of a step (None: all) that differ from the trail's current values.

    Args:
        baseline: The draft the existing trail was read into.
        draft: The draft as it is now.
        step_id: A step of :data:`STEP_FIELDS`; None or any other step: every answer.

    Returns:
        One :class:`Change` per differing answer, in the order of :data:`LABELS`.
    """
    before = _flat(resolved(baseline))
    after = _flat(resolved(draft))
    found: list[Change] = []
    for key, label in LABELS.items():
        if not _in_step(key, step_id):
            continue
        was, now = before.get(key), after.get(key)
        if (_empty(was) and _empty(now)) or was == now:
            continue
        found.append(
            Change(
                key=key,
                label=label,
                was=show(key, was),
                now=show(key, now),
                warning=_WARNINGS.get(key, ""),
            )
        )
    return found
