"""One event selector checked while a person writes it, the same way in every front end.

The answers file's own rules (:class:`wizard.model.answers.DataEventAnswers`: fields,
operators, wildcards, lengths) and the guards preflight runs before any change
(:func:`wizard.plan.event_guards.data_item_problems`: the log bucket loop, resources.ARN
values that can never match, conditions that cancel each other) run on the one selector being
edited, so the TUI's selector editor and plain mode's say the same thing about it at once
instead of at the review.
"""

from __future__ import annotations

from typing import Any

from wizard import guide
from wizard.guide import Draft

__all__ = ["item_problems", "log_bucket_prefixes_of"]


def log_bucket_prefixes_of(draft: Draft, partition: str) -> list[str]:
    """The ARN prefixes of the draft's log bucket and access log bucket (those it names)."""
    bucket = guide.get(draft, "bucket.name")
    out = [f"arn:{partition}:s3:::{bucket}/"] if bucket else []
    if guide.get(draft, "bucket.access_logging", "off") != "off":
        target = guide.get(draft, "bucket.access_log_bucket")
        if target:
            out.append(f"arn:{partition}:s3:::{target}/")
    return out


def item_problems(item: dict[str, Any], draft: Draft, partition: str = "aws") -> list[str]:
    """What is wrong with one ``events.data`` or ``events.network`` item, as sentences.

    Args:
        item: The item as the answers file writes it.
        draft: The whole draft (the log buckets come from its storage answers).
        partition: The session's ARN partition.

    Returns:
        Errors first (``Refused: ...``), then warnings; empty when the selector is fine.
    """
    # Deferred for start-up time: pydantic models load only when a selector is checked.
    from pydantic import ValidationError

    from wizard.model.answers import DataEventAnswers, NetworkEventAnswers
    from wizard.plan.event_guards import data_item_problems

    try:
        if "source" in item:
            NetworkEventAnswers.model_validate(item)
            return []
        data = DataEventAnswers.model_validate(item)
    except ValidationError as exc:
        return [
            "Refused: " + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors(include_url=False)
        ]
    problems = data_item_problems(
        data,
        where="This selector",
        log_buckets=log_bucket_prefixes_of(draft, partition),
        partition=partition,
    )
    order = {"error": 0, "warning": 1, "info": 2}
    return [
        ("Refused: " if p.severity == "error" else "Note: ") + p.message
        for p in sorted(problems, key=lambda p: order[p.severity])
    ]
