"""Fixed choices of the answers format, importable without building any model.

The question catalogue (:mod:`wizard.guide`) needs these at start-up of the full-screen
wizard; keeping them apart from :mod:`wizard.model.answers` means the first frame does not wait
for pydantic to build every answers model.
"""

from __future__ import annotations

RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
"""Retention periods CloudWatch Logs accepts."""

EXCLUDABLE_SOURCES = ("kms.amazonaws.com", "rdsdata.amazonaws.com")
"""Management event sources CloudTrail lets a trail exclude."""

INSIGHT_TYPES = ("ApiCallRateInsight", "ApiErrorRateInsight")
"""CloudTrail Insights types."""

DATA_EVENT_TYPES: dict[str, str] = {
    "s3": "AWS::S3::Object",
    "lambda": "AWS::Lambda::Function",
    "dynamodb": "AWS::DynamoDB::Table",
}
"""Short data-event names in the answers file mapped to CloudTrail resource types."""

LIFECYCLE_STORAGE_CLASSES = ("STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
"""Colder storage classes a log bucket's lifecycle may move log files to."""

LIFECYCLE_MIN_TRANSITION_DAYS: dict[str, int] = {
    "STANDARD_IA": 30,
    "GLACIER_IR": 0,
    "GLACIER": 0,
    "DEEP_ARCHIVE": 0,
}
"""The fewest days after creation S3 accepts for a transition to each class: S3 refuses a
move to Standard-IA earlier than 30 days (InvalidArgument); the Glacier classes accept 0."""

LIFECYCLE_MIN_STORAGE_DAYS: dict[str, int] = {
    "STANDARD_IA": 30,
    "GLACIER_IR": 90,
    "GLACIER": 90,
    "DEEP_ARCHIVE": 180,
}
"""Minimum storage durations S3 bills for: expiring a file sooner still costs that long."""

OBJECT_LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
"""Object Lock default retention modes."""

CIS_LOG_RETENTION_DAYS = 365
"""CIS asks that trail logs be kept at least a year."""
