"""Verification after apply: does the live account match the plan, and is the trail logging?

It reads the trail back (GetTrail, GetTrailStatus, GetEventSelectors) and the live bucket and
key policies, and asks the access checker whether CloudTrail may still do everything it
needs. Each check is reported, passed or not, so the operator sees the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from wizard.account.discovery import Discovery
from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext, Names
from wizard.model.names import classify_key_ref
from wizard.plan.central import CHECK_COMMAND
from wizard.plan.review import access_log_probes, bucket_probes, key_probes, topic_probes
from wizard.policy.access import evaluate
from wizard.ports import AwsCaller, AwsError

# The policy checks that central_verification re-does, by name, for a central bucket or key.
_BUCKET_CHECK = "live bucket policy allows this trail"
_KEY_CHECK = "live key policy allows this trail"
_KEY_REGION_CHECK = "key is enabled and in the bucket's region"


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
                name=_BUCKET_CHECK,
                ok=not refused,
                detail="; ".join(refused) or "GetBucketAcl and PutObject allowed for this trail",
            )
        )
    except (AwsError, ValueError) as err:
        checks.append(Check(name=_BUCKET_CHECK, ok=False, detail=str(err)))
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
                    name=_KEY_CHECK,
                    ok=not refused,
                    detail="; ".join(refused) or "GenerateDataKey and DescribeKey allowed",
                )
            )
            meta = caller.call("kms", key_region, "DescribeKey", {"KeyId": key_arn})["KeyMetadata"]
            checks.append(
                Check(
                    name=_KEY_REGION_CHECK,
                    ok=meta.get("KeyState") == "Enabled" and key_region == region,
                    detail=f"{meta.get('KeyState')} in {key_region}; bucket in {region}",
                )
            )
        except (AwsError, ValueError) as err:
            checks.append(Check(name=_KEY_CHECK, ok=False, detail=str(err)))
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


# ----------------------------------------------------------------- central logging


def central_verification(
    verification: Verification,
    answers: Answers,
    ctx: AccountContext,
    found: Discovery,
    caller: AwsCaller,
    callers: Mapping[str, AwsCaller] | None = None,
) -> Verification:
    """Re-do the policy checks of a central bucket or key with the right credentials.

    :func:`verify` reads policies with this account's caller, which AWS
    refuses for another account's bucket and key. A central resource is read with its
    owner's caller when there is one; without one, a policy that cannot be read is reported
    as validated by CloudTrail itself (CreateTrail accepted the trail, which it does only
    when both policies allow it), with ``check-central`` named for a re-check.
    """
    central = found.central
    if central is None:
        return verification
    names = Names(answers, ctx)
    callers = callers or {}
    replaced: dict[str, Check] = {}
    if central.bucket_account:
        owner = central.bucket_account
        reader = callers.get(owner) if central.bucket_managed else None
        region = found.bucket.region or names.bucket_region()
        try:
            policy = (reader or caller).call(
                "s3", region, "GetBucketPolicy", {"Bucket": answers.bucket.name}
            )["Policy"]
        except AwsError as err:
            replaced[_BUCKET_CHECK] = _unreadable(
                _BUCKET_CHECK, f"bucket {answers.bucket.name}", owner, err, managed=bool(reader)
            )
        else:
            refused = [
                f"{p.label}: {'; '.join(r.reasons)}"
                for p in bucket_probes(names, ctx.organization_id)
                if not (r := evaluate(policy, p.request)).allowed
            ]
            replaced[_BUCKET_CHECK] = Check(
                name=_BUCKET_CHECK,
                ok=not refused,
                detail="; ".join(refused)
                or f"GetBucketAcl and PutObject allowed for this trail (read as account "
                f"{owner if reader else ctx.account_id})",
            )
    if central.key_account and answers.encryption.existing_key:
        owner = central.key_account
        reader = callers.get(owner) if central.key_managed else None
        key_ref = answers.encryption.existing_key
        parsed = classify_key_ref(key_ref)
        region = parsed.region if not isinstance(parsed, str) and parsed.region else ctx.region
        try:
            meta = (reader or caller).call("kms", region, "DescribeKey", {"KeyId": key_ref})[
                "KeyMetadata"
            ]
            policy = (reader or caller).call(
                "kms", region, "GetKeyPolicy", {"KeyId": meta["Arn"], "PolicyName": "default"}
            )["Policy"]
        except AwsError as err:
            replaced[_KEY_CHECK] = _unreadable(
                _KEY_CHECK, f"key {key_ref}", owner, err, managed=bool(reader)
            )
            replaced[_KEY_REGION_CHECK] = Check(
                name=_KEY_REGION_CHECK,
                ok=reader is None,
                detail=f"the key ARN names {region}; CloudTrail accepted it for the bucket"
                if reader is None
                else f"{err.code}: {err.message}",
            )
        else:
            refused = [
                f"{p.label}: {'; '.join(r.reasons)}"
                for p in key_probes(names, str(meta["Arn"]), decrypt=False)
                if not (r := evaluate(policy, p.request)).allowed
            ]
            replaced[_KEY_CHECK] = Check(
                name=_KEY_CHECK,
                ok=not refused,
                detail="; ".join(refused) or "GenerateDataKey and DescribeKey allowed",
            )
            bucket_region = found.bucket.region or names.bucket_region()
            replaced[_KEY_REGION_CHECK] = Check(
                name=_KEY_REGION_CHECK,
                ok=meta.get("KeyState") == "Enabled" and region == bucket_region,
                detail=f"{meta.get('KeyState')} in {region}; bucket in {bucket_region}",
            )
    checks = [replaced.get(c.name, c) for c in verification.checks]
    return verification.model_copy(update={"checks": checks})


def _unreadable(name: str, what: str, owner: str, err: AwsError, *, managed: bool) -> Check:
    if managed:
        return Check(name=name, ok=False, detail=f"{what}: {err.code}: {err.message}")
    return Check(
        name=name,
        ok=True,
        detail=f"the policy of {what} (account {owner}) cannot be read from this account "
        f"({err.code}); CloudTrail accepted it when it created the trail, which it does only "
        f"when it may deliver. `cloudtrail-wizard {CHECK_COMMAND}` re-checks it with that "
        "account's credentials.",
    )
