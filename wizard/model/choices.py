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
