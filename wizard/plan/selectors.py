"""The trail's event selectors: which events it records, as CloudTrail's advanced selectors.

The planner sends them with ``PutEventSelectors``, the CloudFormation export writes them into
the template and the limits check measures them before anything changes, so all three read
this one function.
"""

from __future__ import annotations

from typing import Any

from wizard.model.answers import DATA_EVENT_TYPES, Answers
from wizard.model.context import Names

__all__ = ["advanced_event_selectors"]


def advanced_event_selectors(answers: Answers, names: Names) -> list[dict[str, Any]]:
    """CloudTrail advanced event selectors for the answers' event choices.

    Args:
        answers: The validated answers (their ``events`` section).
        names: The names derived from the answers (the log bucket's ARN: CloudTrail's own
            writes to it are never recorded as data events).

    Returns:
        One selector for management events (unless they are off) and one per data event type.
    """
    ev = answers.events
    selectors: list[dict[str, Any]] = []
    if ev.management != "none":
        fields: list[dict[str, Any]] = [{"Field": "eventCategory", "Equals": ["Management"]}]
        if ev.management in ("read", "write"):
            fields.append(
                {"Field": "readOnly", "Equals": ["true" if ev.management == "read" else "false"]}
            )
        if ev.exclude_sources:
            fields.append({"Field": "eventSource", "NotEquals": sorted(ev.exclude_sources)})
        selectors.append({"Name": "Management events", "FieldSelectors": fields})
    for data in ev.data:
        resource_type = DATA_EVENT_TYPES[data.type]
        fields = [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": [resource_type]},
        ]
        if data.read_write != "all":
            fields.append(
                {"Field": "readOnly", "Equals": ["true" if data.read_write == "read" else "false"]}
            )
        if data.resources != "all":
            fields.append({"Field": "resources.ARN", "StartsWith": sorted(data.resources)})
        elif data.type == "s3":
            # Never log CloudTrail's own writes to its log bucket: a feedback loop that costs.
            fields.append({"Field": "resources.ARN", "NotStartsWith": [f"{names.bucket_arn}/"]})
        selectors.append({"Name": f"{data.type} data events", "FieldSelectors": fields})
    return selectors
