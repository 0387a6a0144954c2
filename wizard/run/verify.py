"""Verification after apply: does the live account match the plan, and is the trail logging?

It reads the trail back (GetTrail, GetTrailStatus, GetEventSelectors) and the live bucket and
key policies, and asks the access checker whether CloudTrail may still do everything it
needs. Each check is reported, passed or not, so the operator sees the evidence.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext, Names
from wizard.plan.review import access_log_probes, bucket_probes, key_probes, topic_probes
from wizard.policy.access import evaluate
from wizard.ports import AwsCaller, AwsError


class Check(WizardModel):
    """One verification check."""

    name: str
    """What was checked."""
    ok: bool
    """Passed."""
    detail: str = ""
    """Evidence or the reason it failed."""


class Verification(WizardModel):
    """All checks."""

    checks: list[Check] = Field(default_factory=list)
    """Every check, in order."""

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return all(c.ok for c in self.checks)


def verify(
    answers: Answers,
    ctx: AccountContext,
    caller: AwsCaller,
    *,
    outputs: dict[str, dict[str, Any]] | None = None,
    bucket_region: str | None = None,
    organization_id: str | None = None,
) -> Verification:
    """Verify the applied setup against the answers."""
    names = Names(answers, ctx)
    home = names.home_region
    checks: list[Check] = []
    try:
        trail = caller.call("cloudtrail", home, "GetTrail", {"Name": names.trail_arn})["Trail"]
    except AwsError as err:
        return Verification(checks=[Check(name="trail exists", ok=False, detail=err.message)])
    checks.append(Check(name="trail exists", ok=True, detail=str(trail.get("TrailARN"))))
    expected: dict[str, Any] = {
        "S3BucketName": answers.bucket.name,
        "IsMultiRegionTrail": answers.trail.multi_region,
        "IncludeGlobalServiceEvents": answers.trail.include_global_events,
        "LogFileValidationEnabled": answers.trail.log_file_validation,
        "IsOrganizationTrail": answers.trail.organization,
    }
    if answers.bucket.prefix:
        expected["S3KeyPrefix"] = answers.bucket.prefix
    mismatched = [
        f"{k}: expected {v!r}, found {trail.get(k)!r}"
        for k, v in expected.items()
        if trail.get(k, False if isinstance(v, bool) else None) != v
    ]
    checks.append(
        Check(
            name="trail settings match the plan",
            ok=not mismatched,
            detail="; ".join(mismatched) or "bucket, prefix, regions, validation as planned",
        )
    )
    key_arn = None
    if answers.encryption.type == "sse-kms":
        key_arn = trail.get("KmsKeyId")
        checks.append(
            Check(
                name="trail encrypts with the KMS key",
                ok=bool(key_arn),
                detail=str(key_arn or "no KmsKeyId on the trail"),
            )
        )
    try:
        status = caller.call("cloudtrail", home, "GetTrailStatus", {"Name": names.trail_arn})
        error = status.get("LatestDeliveryError")
        checks.append(
            Check(
                name="trail is logging",
                ok=bool(status.get("IsLogging")),
                detail="IsLogging is true" if status.get("IsLogging") else "IsLogging is false",
            )
        )
        checks.append(
            Check(
                name="no delivery error",
                ok=not error,
                detail=str(error) if error else "no LatestDeliveryError reported",
            )
        )
    except AwsError as err:
        checks.append(Check(name="trail is logging", ok=False, detail=err.message))
    checks.extend(_policy_checks(answers, names, caller, key_arn, bucket_region, organization_id))
    checks.extend(_access_log_checks(answers, names, caller, bucket_region))
    return Verification(checks=checks)


def _access_log_checks(
    answers: Answers, names: Names, caller: AwsCaller, bucket_region: str | None
) -> list[Check]:
    """Server access logging reads back as planned, and the target lets S3 deliver."""
    access = answers.bucket.access_logs
    if access is None:
        return []
    region = bucket_region or names.bucket_region()
    name = "server access logging of the log bucket"
    try:
        got = caller.call("s3", region, "GetBucketLogging", {"Bucket": answers.bucket.name})
    except AwsError as err:
        return [Check(name=name, ok=False, detail=err.message)]
    enabled = got.get("LoggingEnabled") or {}
    found = (enabled.get("TargetBucket"), enabled.get("TargetPrefix", ""))
    checks = [
        Check(
            name=name,
            ok=found == (access.bucket, access.prefix),
            detail=(
                f"access logs go to {access.bucket}/{access.prefix}"
                if found == (access.bucket, access.prefix)
                else f"expected {access.bucket}/{access.prefix}, found "
                + (f"{found[0]}/{found[1]}" if found[0] else "logging off")
            ),
        )
    ]
    what = "live access log bucket policy allows S3 log delivery"
    try:
        policy = caller.call("s3", region, "GetBucketPolicy", {"Bucket": access.bucket})["Policy"]
    except AwsError as err:
        checks.append(Check(name=what, ok=False, detail=err.message))
        return checks
    refused = [
        "; ".join(result.reasons) or probe.label
        for probe in access_log_probes(names)
        if not (result := evaluate(policy, probe.request)).allowed
    ]
    checks.append(
        Check(
            name=what,
            ok=not refused,
            detail="; ".join(refused) or "PutObject allowed for this log bucket's access logs",
        )
    )
    return checks


def _policy_checks(
    answers: Answers,
    names: Names,
    caller: AwsCaller,
    key_arn: str | None,
    bucket_region: str | None,
    organization_id: str | None,
) -> list[Check]:
    checks: list[Check] = []
    region = bucket_region or names.bucket_region()
    try:
        policy = caller.call("s3", region, "GetBucketPolicy", {"Bucket": answers.bucket.name})[
            "Policy"
        ]
        refused = [
            f"{p.label}: {'; '.join(r.reasons)}"
            for p in bucket_probes(names, organization_id)
            if not (r := evaluate(policy, p.request)).allowed
        ]
        checks.append(
            Check(
                name="live bucket policy allows this trail",
                ok=not refused,
                detail="; ".join(refused) or "GetBucketAcl and PutObject allowed for this trail",
            )
        )
    except (AwsError, ValueError) as err:
        checks.append(Check(name="live bucket policy allows this trail", ok=False, detail=str(err)))
    if key_arn:
        key_region = key_arn.split(":")[3] if key_arn.startswith("arn:") else region
        try:
            policy = caller.call(
                "kms", key_region, "GetKeyPolicy", {"KeyId": key_arn, "PolicyName": "default"}
            )["Policy"]
            refused = [
                f"{p.label}: {'; '.join(r.reasons)}"
                for p in key_probes(names, key_arn, decrypt=False)
                if not (r := evaluate(policy, p.request)).allowed
            ]
            checks.append(
                Check(
                    name="live key policy allows this trail",
                    ok=not refused,
                    detail="; ".join(refused) or "GenerateDataKey and DescribeKey allowed",
                )
            )
            meta = caller.call("kms", key_region, "DescribeKey", {"KeyId": key_arn})["KeyMetadata"]
            checks.append(
                Check(
                    name="key is enabled and in the bucket's region",
                    ok=meta.get("KeyState") == "Enabled" and key_region == region,
                    detail=f"{meta.get('KeyState')} in {key_region}; bucket in {region}",
                )
            )
        except (AwsError, ValueError) as err:
            checks.append(
                Check(name="live key policy allows this trail", ok=False, detail=str(err))
            )
    topic_arn = names.topic_arn
    if topic_arn:
        try:
            attrs = caller.call(
                "sns", topic_arn.split(":")[3], "GetTopicAttributes", {"TopicArn": topic_arn}
            )["Attributes"]
            refused = [
                p.label
                for p in topic_probes(names, topic_arn)
                if not evaluate(attrs.get("Policy", "{}"), p.request).allowed
            ]
            checks.append(
                Check(
                    name="topic policy allows this trail to publish",
                    ok=not refused,
                    detail="; ".join(refused) or "SNS:Publish allowed for this trail",
                )
            )
        except (AwsError, ValueError) as err:
            checks.append(
                Check(name="topic policy allows this trail to publish", ok=False, detail=str(err))
            )
    return checks
