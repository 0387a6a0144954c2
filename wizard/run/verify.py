"""Verification after apply: does the live account match the plan, and is the trail logging?

It reads the trail back (GetTrail, GetTrailStatus) and the live bucket, key and topic
policies, the CloudWatch Logs group and its delivery role, and asks the access checker
whether CloudTrail may still do everything it needs. Each check is reported, passed or not,
so the operator sees the evidence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from pydantic import Field

from wizard.account.discovery import Discovery
from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext, Names
from wizard.model.names import classify_key_ref
from wizard.plan.central import CHECK_COMMAND
from wizard.plan.review import (
    Probe,
    access_log_probes,
    bucket_probes,
    key_probes,
    role_probes,
    topic_probes,
    trust_as_resource_policy,
)
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


_READERS = 10
"""Verification reads in flight at once: every read of a setup fits (trail, its status, the
bucket, key, topic and access log bucket policies, the log group and its delivery role)."""


class _Reads:
    """The verification reads, sent together: each one's response, or the AwsError it raised.

    They are independent of each other (the setup is complete before verification starts), so
    they go out at once and verification waits for one round trip, not one per read.
    """

    def __init__(self, pool: ThreadPoolExecutor, caller: AwsCaller) -> None:
        self.pool = pool
        self.caller = caller

    def start(
        self, service: str, region: str, operation: str, params: Mapping[str, Any]
    ) -> Future[dict[str, Any] | AwsError]:
        """Send one read now; its future holds the response or the AwsError."""
        return self.pool.submit(self._read, service, region, operation, params)

    def _read(
        self, service: str, region: str, operation: str, params: Mapping[str, Any]
    ) -> dict[str, Any] | AwsError:
        try:
            return self.caller.call(service, region, operation, params)
        except AwsError as err:
            return err


def _key_region(key_arn: str, default: str) -> str:
    return key_arn.split(":")[3] if key_arn.startswith("arn:") else default


def _key_reads(
    reads: _Reads, key_arn: str, region: str
) -> tuple[Future[dict[str, Any] | AwsError], Future[dict[str, Any] | AwsError]]:
    """The key's policy and metadata reads (GetKeyPolicy, DescribeKey), sent together."""
    key_region = _key_region(key_arn, region)
    return (
        reads.start("kms", key_region, "GetKeyPolicy", {"KeyId": key_arn, "PolicyName": "default"}),
        reads.start("kms", key_region, "DescribeKey", {"KeyId": key_arn}),
    )


def _probe_check(name: str, policy: str, probes: list[Probe], allowed: str) -> Check:
    """One check: the live ``policy`` allows every probe (what CloudTrail, or S3 for access
    logs, asks of it); failing, it says which request is refused and why.

    Raises:
        ValueError: the policy cannot be read (the caller's check reports it).
    """
    refused = [
        f"{p.label}: {'; '.join(r.reasons)}"
        for p in probes
        if not (r := evaluate(policy, p.request)).allowed
    ]
    return Check(name=name, ok=not refused, detail="; ".join(refused) or allowed)


def verify(
    answers: Answers,
    ctx: AccountContext,
    caller: AwsCaller,
    *,
    outputs: dict[str, dict[str, Any]] | None = None,
    bucket_region: str | None = None,
    organization_id: str | None = None,
    expected_key: str | None = None,
    expected_group_key: str | None = None,
) -> Verification:
    """Verify the applied setup against the answers.

    Every read is sent at once (GetTrail, GetTrailStatus, the bucket policy, the key's
    policy and metadata, the topic's attributes, the access log settings, the log group and
    the delivery role), so verification costs one round trip. The key is the one the trail
    was given (``expected_key``); should GetTrail name another one, that key is read
    afterwards instead.

    Args:
        answers: The answers applied.
        ctx: The account.
        caller: Makes the (read-only) calls.
        outputs: Unused; kept for callers that pass apply's outputs.
        bucket_region: Where the bucket is (default: where the answers put it).
        organization_id: The organization, for an organization trail's policy checks.
        expected_key: The ARN of the KMS key the trail encrypts with (a new key's ARN from
            apply's outputs, an existing key's from discovery); None reads the key GetTrail
            names after GetTrail.
        expected_group_key: The ARN of the KMS key the run created the CloudWatch Logs group
            with (see :func:`wizard.policy.policies.encrypts_log_group`); None: the group
            is not the run's to encrypt (it existed, or no key of its region was made), and
            its encryption is not checked.
    """
    names = Names(answers, ctx)
    home = names.home_region
    region = bucket_region or names.bucket_region()
    kms = answers.encryption.type == "sse-kms"
    access = answers.bucket.access_logs
    topic_arn = names.topic_arn
    with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="verify") as pool:
        reads = _Reads(pool, caller)
        trail_read = reads.start("cloudtrail", home, "GetTrail", {"Name": names.trail_arn})
        status_read = reads.start("cloudtrail", home, "GetTrailStatus", {"Name": names.trail_arn})
        bucket_read = reads.start("s3", region, "GetBucketPolicy", {"Bucket": answers.bucket.name})
        key_reads = _key_reads(reads, expected_key, region) if kms and expected_key else None
        topic_read = (
            reads.start(
                "sns", topic_arn.split(":")[3], "GetTopicAttributes", {"TopicArn": topic_arn}
            )
            if topic_arn
            else None
        )
        access_reads = (
            (
                reads.start("s3", region, "GetBucketLogging", {"Bucket": answers.bucket.name}),
                reads.start("s3", region, "GetBucketPolicy", {"Bucket": access.bucket}),
            )
            if access is not None
            else None
        )
        logs_reads = _logs_reads(reads, names) if names.log_group_arn else None
        got = trail_read.result()
        if isinstance(got, AwsError):
            return Verification(checks=[Check(name="trail exists", ok=False, detail=got.message)])
        trail = got["Trail"]
        checks = _trail_checks(answers, trail, names)
        key_arn = trail.get("KmsKeyId") if kms else None
        if key_arn and (key_reads is None or key_arn != expected_key):
            key_reads = _key_reads(reads, str(key_arn), region)
        checks.extend(_status_checks(status_read.result(), answers))
        checks.append(_bucket_check(bucket_read.result(), names, organization_id))
        if key_arn and key_reads is not None:
            key_region = _key_region(str(key_arn), region)
            policy, meta = (f.result() for f in key_reads)
            checks.extend(_key_checks(policy, meta, names, str(key_arn), key_region, region))
        if topic_arn and topic_read is not None:
            checks.append(_topic_check(topic_read.result(), names, topic_arn))
        if access is not None and access_reads is not None:
            logging, policy = (f.result() for f in access_reads)
            checks.extend(_access_log_checks(logging, policy, answers, names))
        if logs_reads is not None:
            group, role = (f.result() for f in logs_reads)
            checks.extend(_logs_checks(group, role, names, expected_group_key))
    return Verification(checks=checks)


def _trail_checks(answers: Answers, trail: Mapping[str, Any], names: Names) -> list[Check]:
    """The trail exists, has the planned settings (its topic and log group included), and
    (SSE-KMS) a key."""
    checks = [Check(name="trail exists", ok=True, detail=str(trail.get("TrailARN")))]
    expected: dict[str, Any] = {
        "S3BucketName": answers.bucket.name,
        "IsMultiRegionTrail": answers.trail.multi_region,
        "IncludeGlobalServiceEvents": answers.trail.include_global_events,
        "LogFileValidationEnabled": answers.trail.log_file_validation,
        "IsOrganizationTrail": answers.trail.organization,
    }
    if answers.bucket.prefix:
        expected["S3KeyPrefix"] = answers.bucket.prefix
    if names.topic_arn:
        expected["SnsTopicARN"] = names.topic_arn
    if names.log_group_arn:
        expected["CloudWatchLogsLogGroupArn"] = names.log_group_arn
        expected["CloudWatchLogsRoleArn"] = names.role_arn
    mismatched = [
        f"{k}: expected {v!r}, found {trail.get(k)!r}"
        for k, v in expected.items()
        if trail.get(k, False if isinstance(v, bool) else None) != v
    ]
    checks.append(
        Check(
            name="trail settings match the plan",
            ok=not mismatched,
            detail="; ".join(mismatched)
            or "bucket, prefix, regions, validation"
            + (", topic" if names.topic_arn else "")
            + (", log group and role" if names.log_group_arn else "")
            + " as planned",
        )
    )
    if answers.encryption.type == "sse-kms":
        key_arn = trail.get("KmsKeyId")
        checks.append(
            Check(
                name="trail encrypts with the KMS key",
                ok=bool(key_arn),
                detail=str(key_arn or "no KmsKeyId on the trail"),
            )
        )
    return checks


def _status_checks(status: dict[str, Any] | AwsError, answers: Answers) -> list[Check]:
    """The trail is logging, with no delivery error (to S3, and to the topic and the log
    group the answers deliver to)."""
    if isinstance(status, AwsError):
        return [Check(name="trail is logging", ok=False, detail=status.message)]
    checks = [
        Check(
            name="trail is logging",
            ok=bool(status.get("IsLogging")),
            detail="IsLogging is true" if status.get("IsLogging") else "IsLogging is false",
        )
    ]
    errors = [("no delivery error", "LatestDeliveryError")]
    if answers.notifications.sns_topic:
        errors.append(("no notification error", "LatestNotificationError"))
    if answers.cloudwatch_logs.enabled:
        errors.append(("no CloudWatch Logs delivery error", "LatestCloudWatchLogsDeliveryError"))
    for name, field in errors:
        error = status.get(field)
        checks.append(
            Check(name=name, ok=not error, detail=str(error) if error else f"no {field} reported")
        )
    return checks


def _access_log_checks(
    logging: dict[str, Any] | AwsError,
    policy: dict[str, Any] | AwsError,
    answers: Answers,
    names: Names,
) -> list[Check]:
    """Server access logging reads back as planned, and the target lets S3 deliver."""
    access = answers.bucket.access_logs
    assert access is not None  # only called when the answers ask for access logs
    name = "server access logging of the log bucket"
    if isinstance(logging, AwsError):
        return [Check(name=name, ok=False, detail=logging.message)]
    enabled = logging.get("LoggingEnabled") or {}
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
    if isinstance(policy, AwsError):
        checks.append(Check(name=what, ok=False, detail=policy.message))
        return checks
    try:
        checks.append(
            _probe_check(
                what,
                policy["Policy"],
                access_log_probes(names),
                "PutObject allowed for this log bucket's access logs",
            )
        )
    except ValueError as err:
        checks.append(Check(name=what, ok=False, detail=str(err)))
    return checks


def _bucket_check(
    got: dict[str, Any] | AwsError, names: Names, organization_id: str | None
) -> Check:
    """The live bucket policy lets this trail deliver."""
    try:
        if isinstance(got, AwsError):
            raise got
        return _probe_check(
            _BUCKET_CHECK,
            got["Policy"],
            bucket_probes(names, organization_id),
            "GetBucketAcl and PutObject allowed for this trail",
        )
    except (AwsError, ValueError) as err:
        return Check(name=_BUCKET_CHECK, ok=False, detail=str(err))


def _key_checks(
    policy_read: dict[str, Any] | AwsError,
    meta_read: dict[str, Any] | AwsError,
    names: Names,
    key_arn: str,
    key_region: str,
    region: str,
) -> list[Check]:
    """The live key policy lets this trail encrypt; the key is enabled, beside the bucket."""
    checks: list[Check] = []
    try:
        if isinstance(policy_read, AwsError):
            raise policy_read
        checks.append(
            _probe_check(
                _KEY_CHECK,
                policy_read["Policy"],
                key_probes(names, key_arn, decrypt=False),
                "GenerateDataKey and DescribeKey allowed",
            )
        )
        if isinstance(meta_read, AwsError):
            raise meta_read
        meta = meta_read["KeyMetadata"]
        checks.append(
            Check(
                name=_KEY_REGION_CHECK,
                ok=meta.get("KeyState") == "Enabled" and key_region == region,
                detail=f"{meta.get('KeyState')} in {key_region}; bucket in {region}",
            )
        )
    except (AwsError, ValueError) as err:
        checks.append(Check(name=_KEY_CHECK, ok=False, detail=str(err)))
    return checks


def _logs_reads(
    reads: _Reads, names: Names
) -> tuple[Future[dict[str, Any] | AwsError], Future[dict[str, Any] | AwsError]]:
    """The log group (DescribeLogGroups by its name) and the delivery role (GetRole)."""
    group = names.answers.cloudwatch_logs.log_group
    return (
        # Groups are listed by name: the one named exactly so is first among those it prefixes.
        reads.start("logs", names.home_region, "DescribeLogGroups", {"logGroupNamePrefix": group}),
        reads.start("iam", names.home_region, "GetRole", {"RoleName": names.role_name}),
    )


def _logs_checks(
    group_read: dict[str, Any] | AwsError,
    role_read: dict[str, Any] | AwsError,
    names: Names,
    expected_group_key: str | None,
) -> list[Check]:
    """The log group exists (encrypted with the run's key, when the run made it so) and the
    delivery role lets CloudTrail assume it."""
    name = names.answers.cloudwatch_logs.log_group
    checks: list[Check] = []
    if isinstance(group_read, AwsError):
        checks.append(Check(name="log group exists", ok=False, detail=group_read.message))
    else:
        group = next(
            (g for g in group_read.get("logGroups") or [] if g.get("logGroupName") == name), None
        )
        checks.append(
            Check(
                name="log group exists",
                ok=group is not None,
                detail=str(group.get("arn")) if group is not None else f"no log group {name}",
            )
        )
        if group is not None and expected_group_key is not None:
            key = group.get("kmsKeyId")
            checks.append(
                Check(
                    name="log group encrypted with the trail's key",
                    ok=key == expected_group_key,
                    detail=f"kmsKeyId {key}"
                    if key
                    else "the group has no kmsKeyId: CloudWatch Logs encrypts it with its own key",
                )
            )
    role_arn = names.role_arn or ""
    trust_name = "delivery role trusts CloudTrail"
    try:
        if isinstance(role_read, AwsError):
            raise role_read
        trust = role_read["Role"].get("AssumeRolePolicyDocument")
        text = unquote(trust) if isinstance(trust, str) else json.dumps(trust)
        checks.append(
            _probe_check(
                trust_name,
                trust_as_resource_policy(text, role_arn) or "{}",
                role_probes(names, role_arn),
                "sts:AssumeRole allowed for cloudtrail.amazonaws.com",
            )
        )
    except (AwsError, ValueError) as err:
        checks.append(Check(name=trust_name, ok=False, detail=str(err)))
    return checks


def _topic_check(got: dict[str, Any] | AwsError, names: Names, topic_arn: str) -> Check:
    """The live topic policy lets this trail publish."""
    name = "topic policy allows this trail to publish"
    try:
        if isinstance(got, AwsError):
            raise got
        return _probe_check(
            name,
            got["Attributes"].get("Policy", "{}"),
            topic_probes(names, topic_arn),
            "SNS:Publish allowed for this trail",
        )
    except (AwsError, ValueError) as err:
        return Check(name=name, ok=False, detail=str(err))


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
    return with_central_checks(verification, central_checks(answers, ctx, found, caller, callers))


def with_central_checks(verification: Verification, replaced: Mapping[str, Check]) -> Verification:
    """``verification`` with the checks :func:`central_checks` made in place of its own."""
    if not replaced:
        return verification
    checks = [replaced.get(c.name, c) for c in verification.checks]
    return verification.model_copy(update={"checks": checks})


def central_checks(
    answers: Answers,
    ctx: AccountContext,
    found: Discovery,
    caller: AwsCaller,
    callers: Mapping[str, AwsCaller] | None = None,
) -> dict[str, Check]:
    """The policy checks of a central bucket or key, by check name, read with the owner's
    caller (see :func:`central_verification`); independent of :func:`verify`'s reads, so
    they can be made at the same time."""
    central = found.central
    if central is None:
        return {}
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
            replaced[_BUCKET_CHECK] = _probe_check(
                _BUCKET_CHECK,
                policy,
                bucket_probes(names, ctx.organization_id),
                "GetBucketAcl and PutObject allowed for this trail (read as account "
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
            replaced[_KEY_CHECK] = _probe_check(
                _KEY_CHECK,
                policy,
                key_probes(names, str(meta["Arn"]), decrypt=False),
                "GenerateDataKey and DescribeKey allowed",
            )
            bucket_region = found.bucket.region or names.bucket_region()
            replaced[_KEY_REGION_CHECK] = Check(
                name=_KEY_REGION_CHECK,
                ok=meta.get("KeyState") == "Enabled" and region == bucket_region,
                detail=f"{meta.get('KeyState')} in {region}; bucket in {bucket_region}",
            )
    return replaced


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
