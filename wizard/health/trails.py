"""Trail health: is each trail logging, delivering, still allowed to write, and compliant?

For every trail of the account (or one named), this module reads the trail's configuration
and status, its event selectors, its bucket, its KMS key and its CloudWatch Logs delivery,
through the :class:`~wizard.ports.AwsCaller` port, and answers three questions:

* **Facts**: what the trail and its resources look like now (:class:`HealthFacts`).
* **Controls**: which CIS AWS Foundations Benchmark and AWS Security Hub (Foundational
  Security Best Practices) CloudTrail controls the trail passes (:data:`CONTROLS`). The
  controls and their rules live in :mod:`wizard.policy.controls`, which also judges a planned
  trail before it is applied with the same rules.
* **Verdict**: healthy, warning or failing, each reason a sentence that says how to fix it.

Whether CloudTrail may still write is decided by the same access checker and the same
requests the wizard's policy review uses (:func:`wizard.plan.review.bucket_probes`,
:func:`~wizard.plan.review.key_probes`, :func:`~wizard.plan.review.role_probes`), so "the bucket
policy no longer allows CloudTrail" means exactly what the review would have refused.

Every read that fails is recorded as "could not check", naming the IAM action that was
refused; nothing here raises for an AWS error except the first listing of the trails.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote

from pydantic import Field

from wizard.account.lookups import SharedReads
from wizard.model.answers import (
    Answers,
    BucketAnswers,
    CloudWatchLogsAnswers,
    EncryptionAnswers,
    EventsAnswers,
    NotificationAnswers,
    TrailAnswers,
)
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext, Names
from wizard.model.names import parse_arn
from wizard.model.regions import normalise_bucket_location
from wizard.plan.review import (
    Probe,
    bucket_probes,
    key_probes,
    role_probes,
    trust_as_resource_policy,
)
from wizard.policy.access import PolicyFormatError, Principal, Request, evaluate
from wizard.policy.controls import (
    BLOCK_PUBLIC_ACCESS_COMMAND,
    CONTROLS,
    PUBLIC_ACCESS_BLOCK_KEYS,
    STALE_DELIVERY,
    ControlResult,
    ControlSpec,
    HealthFacts,
    Unchecked,
    evaluate_controls,
    management_events,
    parse_time,
    s3_object_events,
)
from wizard.policy.lifecycle import describe_rule
from wizard.policy.operator import action_for
from wizard.ports import AwsCaller, AwsError

__all__ = [
    "CONTROLS",
    "ControlResult",
    "ControlSpec",
    "HealthFacts",
    "HealthReport",
    "Problem",
    "TrailHealth",
    "TrailNotFound",
    "Unchecked",
    "check_health",
    "diagnose",
    "evaluate_controls",
    "fact_rows",
    "find_trails",
    "management_events",
]

HEALTH_READS_AT_ONCE = 32
"""Requests a health check has in flight at most. Twenty trails make about 230 reads of
which a trail's deepest chain is four (ListTrails, GetTrail, the bucket's, the key's
rotation); at 16 in flight the reads, not the chain, set the time (230 / 16 x 60 ms is
0.9 s). 32 matches the SDK clients' connection pools (``wizard.aws.clients``), and spread
over CloudTrail, S3, KMS and each trail's region it is well under their request rates."""

Verdict = Literal["healthy", "warning", "failing"]
"""A trail's overall state: failing means logs are (or will be) lost."""

_PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "everyone (AllUsers)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": (
        "every AWS account (AuthenticatedUsers)"
    ),
}
_ACTIONS = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
}


# --------------------------------------------------------------------------- verdict


class Problem(WizardModel):
    """One reason for a verdict, as a sentence that says how to fix it."""

    severity: Literal["failing", "warning"]
    """failing: logs are (or will be) lost; warning: weaker than it should be."""
    code: str
    """Stable identifier (``not-logging``, ``bucket-policy``, ``control-CloudTrail.1``...)."""
    message: str
    """What is wrong and how to fix it."""


class TrailHealth(WizardModel):
    """The health of one trail."""

    facts: HealthFacts
    """What was read."""
    controls: list[ControlResult]
    """Every control of :data:`CONTROLS`, in order."""
    problems: list[Problem]
    """Reasons, failing first."""

    @property
    def verdict(self) -> Verdict:
        """failing when any problem is failing, warning when any problem, else healthy."""
        if any(p.severity == "failing" for p in self.problems):
            return "failing"
        return "warning" if self.problems else "healthy"

    @property
    def name(self) -> str:
        """The trail's name."""
        return self.facts.name

    def control(self, control_id: str) -> ControlResult:
        """The result of one control, by id (``CloudTrail.4``)."""
        for result in self.controls:
            if result.control.id == control_id:
                return result
        raise KeyError(control_id)


class HealthReport(WizardModel):
    """The health of every trail checked."""

    trails: list[TrailHealth] = Field(default_factory=list)
    """One per trail, by name."""
    checked_at: str
    """When the check ran (ISO 8601, UTC)."""

    @property
    def verdict(self) -> Verdict:
        """The worst verdict (healthy when there are no trails: nothing is failing)."""
        verdicts = {t.verdict for t in self.trails}
        for worst in ("failing", "warning"):
            if worst in verdicts:
                return worst
        return "healthy"

    def to_json(self) -> dict[str, Any]:
        """A JSON document: each trail's verdict, problems, controls and facts."""
        return {
            "checked_at": self.checked_at,
            "verdict": self.verdict,
            "trails": [
                {
                    "name": t.name,
                    "arn": t.facts.arn,
                    "home_region": t.facts.home_region,
                    "verdict": t.verdict,
                    "problems": [p.model_dump(mode="json") for p in t.problems],
                    "controls": [
                        {
                            "id": c.control.id,
                            "title": c.control.title,
                            "cis": c.control.cis,
                            "status": c.status,
                            "reason": c.reason,
                        }
                        for c in t.controls
                    ],
                    "facts": t.facts.model_dump(mode="json"),
                }
                for t in self.trails
            ],
        }


class TrailNotFound(LookupError):
    """The named trail is not among the account's trails; the message lists them."""


# --------------------------------------------------------------------------- reading


class _Reader:
    """Calls AWS and turns each failure into an :class:`Unchecked` (never raises)."""

    def __init__(self, caller: AwsCaller) -> None:
        self.caller = caller
        self.unchecked: list[Unchecked] = []

    def call(
        self,
        what: str,
        service: str,
        region: str,
        operation: str,
        params: dict[str, Any],
        *,
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        """The response; None when it failed (recorded) or, with ``missing_ok``, not found."""
        try:
            return self.caller.call(service, region, operation, params)
        except AwsError as err:
            if missing_ok and err.not_found:
                return None
            self.note(what, err)
            return None

    def paginate(
        self, what: str, service: str, region: str, operation: str, key: str, params: Any
    ) -> list[Any] | None:
        """Every item; None when a page failed (recorded)."""
        try:
            return self.caller.paginate(service, region, operation, key, params)
        except AwsError as err:
            self.note(what, err)
            return None

    def note(self, what: str, err: AwsError) -> None:
        """Record a failed read."""
        action = _ACTIONS.get((err.service, err.operation)) or action_for(
            err.service, err.operation
        )
        self.unchecked.append(
            Unchecked(
                what=what,
                action=action,
                detail=f"{err.code}: {err.message}" if err.message else err.code,
                denied=err.access_denied,
            )
        )


def _together(reader: _Reader, *reads: Callable[[_Reader], Any]) -> list[Any]:
    """Make independent reads at once, each with a reader of its own.

    Their failures are noted in ``reader`` in the order the reads are given, as if they had
    been made one after the other: the report is the same whichever answered first.
    """
    readers = [_Reader(reader.caller) for _ in reads]
    first, *others = reads
    if not others:
        results = [first(readers[0])]
    else:
        # The first read runs in this thread, which would only wait otherwise: a thread
        # fewer to start (with twenty trails, a third of the threads a check starts, and
        # each start waits for the interpreter lock).
        with ThreadPoolExecutor(max_workers=len(others), thread_name_prefix="health-read") as pool:
            futures = [
                pool.submit(read, own) for read, own in zip(others, readers[1:], strict=True)
            ]
            results = [first(readers[0]), *(future.result() for future in futures)]
    for own in readers:
        reader.unchecked.extend(own.unchecked)
    return results


def _updated(fields: dict[str, Any], read: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The fields ``read`` adds to (or changes in) a copy of ``fields``."""
    own = dict(fields)
    read(own)
    return {k: v for k, v in own.items() if k not in fields or fields[k] is not v}


def _text(value: Any) -> str | None:
    """A non-empty string, else None (CloudTrail reports "" for "no error")."""
    return str(value) if value not in (None, "") else None


def _names(facts: HealthFacts, organization_id: str | None) -> Names:
    """The wizard's :class:`Names` for an existing trail, to build CloudTrail's requests.

    The answers are assembled without validation: a trail made elsewhere may use names the
    wizard would not suggest, and only the names matter here.
    """
    arn = parse_arn(facts.arn)
    log_group = None
    if facts.log_group_arn:
        # arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*
        parts = facts.log_group_arn.split(":")
        log_group = parts[6] if len(parts) > 6 else None
    answers = Answers.model_construct(
        trail=TrailAnswers.model_construct(
            name=facts.name,
            region=facts.home_region,
            multi_region=facts.multi_region,
            include_global_events=facts.include_global_events,
            log_file_validation=facts.log_file_validation,
            organization=facts.organization,
            tags={},
        ),
        bucket=BucketAnswers.model_construct(
            name=facts.bucket or "", create=False, prefix=facts.prefix, region=None, account=None
        ),
        encryption=EncryptionAnswers.model_construct(
            type="sse-kms" if facts.kms_key_arn else "sse-s3",
            key=facts.kms_key_arn,
            alias=None,
            decrypt_principals=[],
        ),
        notifications=NotificationAnswers.model_construct(sns_topic=facts.sns_topic_arn),
        cloudwatch_logs=CloudWatchLogsAnswers.model_construct(
            log_group=log_group, role=facts.cw_role_arn, retention_days=365
        ),
        events=EventsAnswers.model_construct(
            management="all", exclude_sources=[], data=[], insights=[]
        ),
    )
    ctx = AccountContext.model_construct(
        account_id=facts.owner_account,
        partition=arn.partition if arn else "aws",
        region=facts.home_region,
        organization_id=organization_id,
        management_account_id=facts.owner_account if facts.organization else None,
        caller_arn=None,
    )
    return Names(answers, ctx)


def _refused(policy: str | None, probes: Sequence[Probe]) -> str | None:
    """None when the policy allows every probe, else why not (one sentence per probe)."""
    if policy is None:
        return "there is no policy, so nothing grants CloudTrail's requests"
    reasons = []
    try:
        for probe in probes:
            result = evaluate(policy, probe.request)
            if not result.allowed:
                why = "; ".join(result.reasons[:2]) if result.reasons else "not allowed"
                reasons.append(f"CloudTrail could not {probe.label}: {why}")
    except PolicyFormatError as exc:
        return f"the policy cannot be read as a policy document: {exc}"
    return " ".join(reasons) or None


def _trail_config(trail: dict[str, Any], home: str) -> dict[str, Any]:
    """The trail's configuration (GetTrail's ``Trail``) as :class:`HealthFacts` fields."""
    arn = str(trail.get("TrailARN"))
    parsed = parse_arn(arn)
    return {
        "name": str(trail.get("Name")),
        "arn": arn,
        "home_region": home,
        "owner_account": parsed.account if parsed and parsed.account else "",
        "multi_region": bool(trail.get("IsMultiRegionTrail", False)),
        "include_global_events": bool(trail.get("IncludeGlobalServiceEvents", False)),
        "log_file_validation": bool(trail.get("LogFileValidationEnabled", False)),
        "organization": bool(trail.get("IsOrganizationTrail", False)),
        "bucket": _text(trail.get("S3BucketName")),
        "prefix": str(trail.get("S3KeyPrefix") or "").strip("/"),
        "kms_key_arn": _text(trail.get("KmsKeyId")),
        "sns_topic_arn": _text(trail.get("SnsTopicARN")),
        "log_group_arn": _text(trail.get("CloudWatchLogsLogGroupArn")),
        "cw_role_arn": _text(trail.get("CloudWatchLogsRoleArn")),
    }


def _read_status(reader: _Reader, arn: str, home: str) -> dict[str, Any]:
    """Whether the trail logs, and its latest deliveries and errors."""
    status = reader.call(
        "whether the trail is logging", "cloudtrail", home, "GetTrailStatus", {"Name": arn}
    )
    if status is None:
        return {}
    return {
        "is_logging": bool(status.get("IsLogging")),
        "latest_delivery_time": _text(status.get("LatestDeliveryTime")),
        "latest_delivery_error": _text(status.get("LatestDeliveryError")),
        "latest_digest_delivery_time": _text(status.get("LatestDigestDeliveryTime")),
        "latest_digest_delivery_error": _text(status.get("LatestDigestDeliveryError")),
        "latest_cloudwatch_logs_delivery_time": _text(
            status.get("LatestCloudWatchLogsDeliveryTime")
        ),
        "latest_cloudwatch_logs_delivery_error": _text(
            status.get("LatestCloudWatchLogsDeliveryError")
        ),
        "latest_notification_error": _text(status.get("LatestNotificationError")),
        "time_logging_started": _text(status.get("TimeLoggingStarted")),
        "time_logging_stopped": _text(status.get("TimeLoggingStopped")),
    }


def _read_selectors(reader: _Reader, arn: str, home: str) -> dict[str, Any]:
    """Which management events the trail records (and which sources it leaves out), and
    which S3 object reads and writes."""
    selectors = reader.call(
        "which events are recorded", "cloudtrail", home, "GetEventSelectors", {"TrailName": arn}
    )
    if selectors is None:
        return {}
    basic = selectors.get("EventSelectors") or []
    advanced = selectors.get("AdvancedEventSelectors") or []
    kind, excluded = management_events(basic, advanced)
    writes, reads, left_out = s3_object_events(basic, advanced)
    return {
        "management_events": kind,
        "excluded_sources": excluded,
        "s3_writes": writes,
        "s3_reads": reads,
        "s3_excluded": left_out,
    }


def _read_bucket(reader: _Reader, facts: dict[str, Any], names: Names, org: str | None) -> None:
    """The bucket: existence, region, policy (CloudTrail allowed? public?), BPA, logging.

    HeadBucket (existence and region) and the bucket's other reads go out together, the
    others addressed to the trail's home region, where a trail's bucket almost always is:
    one round trip instead of two. When HeadBucket names another region, the other reads
    are made again there (their first answers are dropped, as are their notes when the
    bucket does not exist), so the facts are the ones HeadBucket-then-reads gives.
    """
    bucket = facts["bucket"]
    home = facts["home_region"]
    guessed = _Reader(reader.caller)

    def head(own: _Reader) -> tuple[bool | None, str | None]:
        """(whether the bucket exists, the region it names); (None, None) when unread."""
        try:
            answer = own.caller.call("s3", home, "HeadBucket", {"Bucket": bucket})
        except AwsError as err:
            if err.not_found:
                return False, None
            own.note("the log bucket", err)
            return None, None
        named = answer.get("BucketRegion")
        return True, normalise_bucket_location(named) if named else None

    (exists, named), settings = _together(
        reader, head, lambda _own: _bucket_settings(guessed, bucket, home, names, org)
    )
    if exists is False:
        facts["bucket_exists"] = False
        return
    if exists:
        facts["bucket_exists"] = True
    region = named or home
    facts["bucket_region"] = region
    if region != home:
        guessed = _Reader(reader.caller)
        settings = _bucket_settings(guessed, bucket, region, names, org)
    reader.unchecked.extend(guessed.unchecked)
    facts.update(settings)


def _bucket_settings(
    reader: _Reader, bucket: str, region: str, names: Names, org: str | None
) -> dict[str, Any]:
    """The bucket's policy (CloudTrail allowed? public?), Block Public Access, ACL,
    retention and access logging, read at once from ``region``, as :class:`HealthFacts`
    fields."""
    facts: dict[str, Any] = {}

    def read_policy(own: _Reader) -> tuple[bool, str | None]:
        """(whether it could be read, the policy: None when there is none)."""
        try:
            answer = own.caller.call("s3", region, "GetBucketPolicy", {"Bucket": bucket})
        except AwsError as err:
            if err.not_found:
                return True, None
            own.note("the bucket policy", err)
            return False, None
        return True, _text(answer.get("Policy"))

    (policy_read, policy), pab, acl, lifecycle, lock, logging = _together(
        reader,
        read_policy,
        lambda own: _public_access_block(own, bucket, region, names.account),
        lambda own: own.call("the bucket ACL", "s3", region, "GetBucketAcl", {"Bucket": bucket}),
        lambda own: _updated({}, lambda found: _read_lifecycle(own, found, bucket, region)),
        lambda own: _updated({}, lambda found: _read_object_lock(own, found, bucket, region)),
        lambda own: own.call(
            "bucket access logging", "s3", region, "GetBucketLogging", {"Bucket": bucket}
        ),
    )
    if policy_read:
        problem = _refused(policy, bucket_probes(names, org))
        facts["bucket_policy_allows"] = problem is None
        facts["bucket_policy_problem"] = problem
    facts["public_access_block"] = pab
    public: list[str] = []
    known = True
    if policy_read and policy is not None and not (pab or {}).get("RestrictPublicBuckets"):
        anonymous = Request(
            principal=Principal.anonymous(),
            action="s3:GetObject",
            resource=f"{names.bucket_arn}/{names.prefix_path}AWSLogs/{names.trail_owner}/x",
            context={"aws:SecureTransport": True},
        )
        with contextlib.suppress(PolicyFormatError):
            if evaluate(policy, anonymous).allowed:
                public.append("its bucket policy lets anyone read the log files")
    elif not policy_read:
        known = False
    if acl is None:
        known = False
    elif not (pab or {}).get("IgnorePublicAcls"):
        for grant in acl.get("Grants", []):
            who = _PUBLIC_GROUPS.get(str(grant.get("Grantee", {}).get("URI", "")))
            if who:
                public.append(f"its ACL grants {grant.get('Permission', 'access')} to {who}")
    if public:
        facts.update(bucket_public=True, bucket_public_reason="; ".join(dict.fromkeys(public)))
    elif known:
        facts["bucket_public"] = False
    facts.update(lifecycle)
    facts.update(lock)
    if logging is not None:
        enabled = logging.get("LoggingEnabled") or {}
        target = enabled.get("TargetBucket")
        facts["access_logging"] = bool(target)
        if target:
            facts["access_logging_target"] = f"{target}/{enabled.get('TargetPrefix', '')}"
    return facts


def _read_lifecycle(reader: _Reader, facts: dict[str, Any], bucket: str, region: str) -> None:
    """The bucket's lifecycle rules (the Retention control)."""
    try:
        got = reader.caller.call(
            "s3", region, "GetBucketLifecycleConfiguration", {"Bucket": bucket}
        )
        facts["lifecycle_rules"] = [dict(r) for r in got.get("Rules", [])]
    except AwsError as err:
        if err.code == "NoSuchLifecycleConfiguration":
            facts["lifecycle_rules"] = []
        else:
            reader.note("the bucket lifecycle", err)


def _read_object_lock(reader: _Reader, facts: dict[str, Any], bucket: str, region: str) -> None:
    """The bucket's Object Lock configuration (the Retention control)."""
    try:
        lock = reader.caller.call("s3", region, "GetObjectLockConfiguration", {"Bucket": bucket})
        facts["object_lock"] = dict(lock.get("ObjectLockConfiguration") or {}) or None
        facts["object_lock_read"] = True
    except AwsError as err:
        if err.code == "ObjectLockConfigurationNotFoundError":
            facts["object_lock_read"] = True
        else:
            reader.note("the bucket's Object Lock", err)


def _public_access_block(
    reader: _Reader, bucket: str, region: str, account: str
) -> dict[str, bool] | None:
    """Block Public Access in effect: each flag on at the bucket or the account level."""

    def account_level(own: _Reader) -> dict[str, Any] | None:
        try:
            return own.caller.call(
                "s3control", region, "GetPublicAccessBlock", {"AccountId": account}
            )
        except AwsError:
            # Not set (404), or not readable: the bucket's own setting still counts. The
            # account setting only ever adds protection, so missing it can only under-report.
            return None

    bucket_level, account_wide = _together(
        reader,
        lambda own: own.call(
            "Block Public Access",
            "s3",
            region,
            "GetPublicAccessBlock",
            {"Bucket": bucket},
            missing_ok=True,
        ),
        account_level,
    )
    levels = [
        level.get("PublicAccessBlockConfiguration") or {}
        for level in (bucket_level, account_wide)
        if level is not None
    ]
    if not levels:
        return None
    return {k: any(bool(level.get(k)) for level in levels) for k in PUBLIC_ACCESS_BLOCK_KEYS}


def _read_key(reader: _Reader, facts: dict[str, Any], names: Names) -> None:
    """The trail's KMS key: state, spec, manager, rotation, and whether CloudTrail may use it."""
    key_arn = facts["kms_key_arn"]
    parsed = parse_arn(key_arn)
    region = parsed.region if parsed and parsed.region else facts["home_region"]
    meta, policy = _together(
        reader,
        lambda own: own.call("the KMS key", "kms", region, "DescribeKey", {"KeyId": key_arn}),
        lambda own: own.call(
            "the key policy",
            "kms",
            region,
            "GetKeyPolicy",
            {"KeyId": key_arn, "PolicyName": "default"},
        ),
    )
    if meta is not None:
        info = meta.get("KeyMetadata", {})
        facts.update(
            key_state=_text(info.get("KeyState")),
            key_manager=_text(info.get("KeyManager")),
            key_spec=_text(info.get("KeySpec") or info.get("CustomerMasterKeySpec")),
        )
    if policy is not None:
        problem = _refused(_text(policy.get("Policy")), key_probes(names, key_arn, decrypt=False))
        facts.update(key_policy_allows=problem is None, key_policy_problem=problem)
    if facts.get("key_manager") != "AWS":
        rotation = reader.call(
            "key rotation", "kms", region, "GetKeyRotationStatus", {"KeyId": key_arn}
        )
        if rotation is not None:
            facts["key_rotation"] = bool(rotation.get("KeyRotationEnabled"))


def _read_cloudwatch(reader: _Reader, facts: dict[str, Any], names: Names) -> None:
    """The log group exists; the role trusts CloudTrail and may write CloudTrail's stream."""
    group_arn = facts["log_group_arn"]
    parts = group_arn.split(":")
    if len(parts) < 7:
        facts.update(cw_group_exists=False, cw_problem=f"{group_arn} is not a log group ARN")
        return
    region, account, group = parts[3], parts[4], parts[6]
    role_arn = facts["cw_role_arn"]
    role_name = role_arn.rsplit("/", 1)[-1] if role_arn else ""
    groups, role = _together(
        reader,
        lambda own: own.paginate(
            "the CloudWatch Logs group",
            "logs",
            region,
            "DescribeLogGroups",
            "logGroups",
            {"logGroupNamePrefix": group},
        ),
        lambda own: (
            own.call(
                "the CloudWatch Logs delivery role",
                "iam",
                region,
                "GetRole",
                {"RoleName": role_name},
            )
            if role_arn
            else None
        ),
    )
    if groups is not None:
        facts["cw_group_exists"] = any(g.get("logGroupName") == group for g in groups)
    if not role_arn:
        facts.update(
            cw_role_allows=False,
            cw_problem="the trail has a log group but no delivery role",
        )
        return
    if role is None:
        return
    trust = role.get("Role", {}).get("AssumeRolePolicyDocument")
    if isinstance(trust, str):
        trust_text: str | None = unquote(trust)
    else:
        trust_text = json.dumps(trust) if trust is not None else None
    problems = []
    refused = _refused(trust_as_resource_policy(trust_text, role_arn), role_probes(names, role_arn))
    if refused:
        problems.append(f"the role's trust policy: {refused}")
    documents = _role_documents(reader, region, role_name)
    if documents is not None:
        stream = f"{group_arn.removesuffix(':*')}:log-stream:{account}_CloudTrail_{region}"
        identity = _identity_as_resource_policy(documents, role_arn)
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            request = Request(principal=Principal.aws(role_arn), action=action, resource=stream)
            result = evaluate(identity, request)
            if not result.allowed:
                problems.append(f"the role's policies do not allow {action} on {stream}")
    if documents is None and not refused:
        return
    facts["cw_role_allows"] = not problems
    facts["cw_problem"] = "; ".join(problems) or None


def _role_documents(reader: _Reader, region: str, role: str) -> list[dict[str, Any]] | None:
    """The role's inline and attached managed policy documents (None: could not read)."""
    what = "the CloudWatch Logs delivery role's permissions"
    names, attached = _together(
        reader,
        lambda own: own.paginate(
            what, "iam", region, "ListRolePolicies", "PolicyNames", {"RoleName": role}
        ),
        lambda own: own.paginate(
            what,
            "iam",
            region,
            "ListAttachedRolePolicies",
            "AttachedPolicies",
            {"RoleName": role},
        ),
    )
    if names is None or attached is None:
        return None
    documents: list[Any] = []
    for name in names:
        inline = reader.call(
            what, "iam", region, "GetRolePolicy", {"RoleName": role, "PolicyName": name}
        )
        if inline is None:
            return None
        documents.append(inline.get("PolicyDocument"))
    for item in attached:
        policy_arn = item.get("PolicyArn")
        policy = reader.call(what, "iam", region, "GetPolicy", {"PolicyArn": policy_arn})
        if policy is None:
            return None
        version = reader.call(
            what,
            "iam",
            region,
            "GetPolicyVersion",
            {"PolicyArn": policy_arn, "VersionId": policy["Policy"].get("DefaultVersionId")},
        )
        if version is None:
            return None
        documents.append(version.get("PolicyVersion", {}).get("Document"))
    parsed: list[dict[str, Any]] = []
    for document in documents:
        if isinstance(document, str):
            with contextlib.suppress(ValueError):
                document = json.loads(unquote(document))
        if isinstance(document, dict):
            parsed.append(document)
    return parsed


def _identity_as_resource_policy(documents: Sequence[dict[str, Any]], role_arn: str) -> str:
    """A role's identity policies as one resource policy naming the role as Principal.

    The access checker evaluates resource policies, where a statement without a Principal
    does not apply. Identity policy statements always govern their own identity, so giving
    each the role as Principal asks the checker exactly "may this role do it?" (the union of
    the role's policies, an explicit Deny in any of them still winning).
    """
    statements: list[Any] = []
    for document in documents:
        found = document.get("Statement", [])
        for statement in found if isinstance(found, list) else [found]:
            if isinstance(statement, dict) and not (
                "Principal" in statement or "NotPrincipal" in statement
            ):
                statement = {**statement, "Principal": {"AWS": role_arn}}
            statements.append(statement)
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _organization_id(reader: _Reader, region: str) -> str | None:
    """The organization id (organization trails write under ``AWSLogs/<o-id>/``)."""
    org = reader.call("the organization", "organizations", region, "DescribeOrganization", {})
    if org is None:
        return None
    return _text(org.get("Organization", {}).get("Id"))


def read_facts(caller: AwsCaller, trail: dict[str, Any], home: str) -> HealthFacts:
    """Read everything about one trail (``trail`` is GetTrail's ``Trail``).

    Independent reads go out together: the trail's status, its selectors, and its
    resources (the organization first, for an organization trail; then the bucket, the key
    and the CloudWatch Logs delivery, each as deep as its own reads go). What could not be
    read is listed in the order of the checks, whichever answered first.
    """
    reader = _Reader(caller)
    fields = _trail_config(trail, home)
    arn = fields["arn"]

    def resources(own: _Reader) -> dict[str, Any]:
        org = _organization_id(own, home) if fields["organization"] else None
        found: dict[str, Any] = {**fields, "organization_id": org}
        names = _names(HealthFacts.model_construct(**found), org)
        parts: list[Callable[[_Reader], dict[str, Any]]] = []
        if fields["bucket"]:
            parts.append(lambda r: _updated(found, lambda f: _read_bucket(r, f, names, org)))
        if fields["kms_key_arn"]:
            parts.append(lambda r: _updated(found, lambda f: _read_key(r, f, names)))
        if fields["log_group_arn"]:
            parts.append(lambda r: _updated(found, lambda f: _read_cloudwatch(r, f, names)))
        for part in _together(own, *parts) if parts else []:
            found.update(part)
        return found

    status, selectors, found = _together(
        reader,
        lambda own: _read_status(own, arn, home),
        lambda own: _read_selectors(own, arn, home),
        resources,
    )
    fields.update(status)
    fields.update(selectors)
    fields.update(found)
    fields["unchecked"] = reader.unchecked
    return HealthFacts(**fields)


# --------------------------------------------------------------------------- judging


def diagnose(
    facts: HealthFacts, controls: Sequence[ControlResult], *, now: datetime | None = None
) -> list[Problem]:
    """The reasons for the verdict, failing first, each saying how to fix it (pure)."""
    now = now or datetime.now(UTC)
    f = facts
    where = f"--name {f.arn} --region {f.home_region}"
    failing: list[Problem] = []
    warning: list[Problem] = []

    def fail(code: str, message: str) -> None:
        failing.append(Problem(severity="failing", code=code, message=message))

    def warn(code: str, message: str) -> None:
        warning.append(Problem(severity="warning", code=code, message=message))

    if f.is_logging is False:
        stopped = f" since {f.time_logging_stopped}" if f.time_logging_stopped else ""
        fail(
            "not-logging",
            f"Trail {f.name} is not logging{stopped}: no events are recorded. Start it: "
            f"aws cloudtrail start-logging {where}",
        )
    if f.latest_delivery_error:
        fail(
            "delivery-error",
            f"CloudTrail's last delivery to s3://{f.bucket} failed with "
            f"{f.latest_delivery_error}. {_delivery_hint(f.latest_delivery_error)}",
        )
    if f.bucket_exists is False:
        fail(
            "bucket-missing",
            f"The log bucket {f.bucket} no longer exists, so no log file can be delivered. "
            "Create it again with CloudTrail's bucket policy (the wizard does), or point the "
            f"trail at another bucket: aws cloudtrail update-trail {where} "
            "--s3-bucket-name BUCKET",
        )
    elif f.bucket_policy_allows is False:
        fail(
            "bucket-policy",
            f"The bucket policy no longer allows CloudTrail to write this trail's log files "
            f"to {f.bucket}: {f.bucket_policy_problem} Add CloudTrail's statements back "
            "(run the wizard with this bucket as an existing bucket: it merges them in, "
            "keeping the rest of the policy).",
        )
    if f.kms_key_arn:
        if f.key_state and f.key_state != "Enabled":
            fail(
                "key-state",
                f"The trail's KMS key is {f.key_state}, so CloudTrail cannot encrypt log "
                f"files. Enable it (aws kms enable-key --key-id {f.kms_key_arn}) or cancel its "
                "deletion, or give the trail another key.",
            )
        if f.key_policy_allows is False:
            fail(
                "key-policy",
                f"The key policy no longer allows CloudTrail to encrypt this trail's log "
                f"files: {f.key_policy_problem} Add CloudTrail's key policy statements back "
                "(the wizard merges them in when you use this key as an existing key).",
            )
    if f.log_file_validation and f.latest_digest_delivery_error:
        fail(
            "digest-error",
            f"The last digest file delivery failed with {f.latest_digest_delivery_error}: "
            "log file integrity cannot be proven for that period. "
            f"{_delivery_hint(f.latest_digest_delivery_error)}",
        )
    if f.log_group_arn:
        if f.latest_cloudwatch_logs_delivery_error:
            fail(
                "cloudwatch-error",
                f"Delivery to CloudWatch Logs fails with "
                f"{f.latest_cloudwatch_logs_delivery_error}. Check that the role "
                f"{f.cw_role_arn} trusts cloudtrail.amazonaws.com and may call "
                "logs:CreateLogStream and logs:PutLogEvents on the log group.",
            )
        if f.cw_group_exists is False:
            fail(
                "cloudwatch-group-missing",
                f"The CloudWatch Logs group of {f.log_group_arn} no longer exists; create it "
                "again (aws logs create-log-group) or remove CloudWatch Logs delivery from the "
                "trail.",
            )
        if f.cw_role_allows is False:
            fail(
                "cloudwatch-role",
                f"CloudWatch Logs delivery will fail: {f.cw_problem}. Fix the role "
                f"{f.cw_role_arn or '(none)'}: it must trust cloudtrail.amazonaws.com and "
                "allow logs:CreateLogStream and logs:PutLogEvents on CloudTrail's log stream.",
            )
    last = parse_time(f.latest_delivery_time)
    if f.is_logging and last is not None and now - last > STALE_DELIVERY:
        warn(
            "delivery-stale",
            f"No log file was delivered since {last:%Y-%m-%d %H:%M} UTC although the trail "
            "is logging. Check the bucket and key policies and the trail's delivery errors.",
        )
    if f.latest_notification_error:
        warn(
            "notification-error",
            f"SNS notifications fail with {f.latest_notification_error}: let CloudTrail "
            f"publish to {f.sns_topic_arn} in the topic's access policy.",
        )
    if f.management_events == "none":
        warn(
            "no-management-events",
            "The trail records no management events (who changed what); add a selector for "
            "read and write management events.",
        )
    pab = f.public_access_block
    if f.bucket_exists and f.bucket_public is False and not (pab and all(pab.values())):
        warn(
            "bucket-public-access-block",
            f"Block Public Access is not fully on for {f.bucket}: the log files are not public "
            "now, but a later policy or ACL change could expose them. Turn on all four "
            "settings: " + BLOCK_PUBLIC_ACCESS_COMMAND.format(bucket=f.bucket),
        )
    values = {"arn": f.arn, "home": f.home_region, "bucket": f.bucket, "key": f.kms_key_arn}
    for result in controls:
        if result.status != "fail":
            continue
        spec = result.control
        fix = spec.fix.format(**values)
        warn(
            f"control-{spec.id}",
            f"Fails {spec.label} ({spec.title}): {result.reason}. To pass, {fix}.",
        )
    for item in f.unchecked:
        warn("could-not-check", item.sentence())
    return failing + warning


def _delivery_hint(error: str) -> str:
    lowered = error.lower()
    if "accessdenied" in lowered or "access denied" in lowered:
        return (
            "The bucket (or key) policy refuses CloudTrail: restore CloudTrail's statements "
            "(the wizard merges them in)."
        )
    if "nosuchbucket" in lowered:
        return "The bucket is gone: create it again or point the trail at another bucket."
    if "kms" in lowered:
        return (
            "The KMS key refuses CloudTrail (disabled, deleted, or its policy changed): check "
            "the key's state and policy."
        )
    return "Check the bucket, its policy and the trail's KMS key."


def judge(facts: HealthFacts, *, now: datetime | None = None) -> TrailHealth:
    """Controls and verdict for facts already read (pure)."""
    controls = evaluate_controls(facts, now=now)
    return TrailHealth(facts=facts, controls=controls, problems=diagnose(facts, controls, now=now))


def find_trails(caller: AwsCaller, region: str, trail: str | None = None) -> list[dict[str, Any]]:
    """ListTrails entries (Name, TrailARN, HomeRegion): all, or the one named (name or ARN).

    Raises:
        AwsError: ListTrails failed.
        TrailNotFound: ``trail`` names no trail of the account.
    """
    listed: list[dict[str, Any]] = caller.paginate("cloudtrail", region, "ListTrails", "Trails")
    if trail is None:
        return listed
    chosen = [t for t in listed if trail in (t.get("Name"), t.get("TrailARN"))]
    if not chosen:
        names = ", ".join(sorted(str(t.get("Name")) for t in listed)) or "none"
        raise TrailNotFound(
            f"No trail named {trail!r} in this account (trails: {names}). Give a trail name "
            "or ARN from that list, or leave it out to check every trail."
        )
    return chosen


def check_health(
    caller: AwsCaller,
    region: str,
    *,
    trail: str | None = None,
    now: datetime | None = None,
    max_workers: int = 64,
    reads_at_once: int = HEALTH_READS_AT_ONCE,
) -> HealthReport:
    """Check every trail of the account, or the one named (name or ARN).

    Args:
        caller: Makes the (read-only) calls.
        region: The session's region (ListTrails answers for every region from one).
        trail: A trail name or ARN; None checks all.
        now: The time to judge staleness against (tests fix it).
        max_workers: Trails checked at once (each waits for its reads most of the time:
            the requests in flight are bounded by ``reads_at_once``, not by this).
        reads_at_once: Requests in flight at most, for all the trails together; each
            distinct read is made once (a bucket, key or account setting several trails
            share), see :class:`~wizard.account.lookups.SharedReads`.

    Raises:
        AwsError: ListTrails itself failed (nothing can be checked then).
        TrailNotFound: ``trail`` names no trail of the account.
    """
    now = now or datetime.now(UTC)
    caller = SharedReads(caller, limit=reads_at_once)
    listed = find_trails(caller, region, trail)

    def one(entry: dict[str, Any]) -> TrailHealth:
        arn = str(entry.get("TrailARN"))
        home = str(entry.get("HomeRegion") or region)
        try:
            found = caller.call("cloudtrail", home, "GetTrail", {"Name": arn})["Trail"]
        except AwsError as err:
            reader = _Reader(caller)
            reader.note("the trail's configuration", err)
            parsed = parse_arn(arn)
            facts = HealthFacts(
                name=str(entry.get("Name")),
                arn=arn,
                home_region=home,
                owner_account=parsed.account if parsed and parsed.account else "",
                unchecked=reader.unchecked,
            )
            return judge(facts, now=now)
        return judge(read_facts(caller, found, home), now=now)

    workers = max(1, min(max_workers, len(listed)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="health") as pool:
        results = list(pool.map(one, listed))
    results.sort(key=lambda t: (t.name, t.facts.home_region))
    return HealthReport(trails=results, checked_at=now.isoformat(timespec="seconds"))


# --------------------------------------------------------------------------- display


def _retention_rows(f: HealthFacts) -> list[tuple[str, str]]:
    """The bucket's lifecycle and Object Lock, for people."""
    if f.bucket is None:
        return []
    rules = f.lifecycle_rules
    life = (
        "not read"
        if rules is None
        else "none (log files are kept)"
        if not rules
        else "; ".join(f"{r.get('ID') or '(no ID)'}: {describe_rule(r)}" for r in rules)
    )
    rows = [("Lifecycle", life)]
    if f.object_lock_read:
        lock = f.object_lock or {}
        default = (lock.get("Rule") or {}).get("DefaultRetention") or {}
        rows.append(
            (
                "Object Lock",
                "off"
                if lock.get("ObjectLockEnabled") != "Enabled"
                else f"on, default {default.get('Mode')} "
                f"{default.get('Days') or default.get('Years')} "
                + ("days" if default.get("Days") else "years")
                if default
                else "on, no default retention",
            )
        )
    return rows


def _yes_no(value: bool | None, yes: str = "yes", no: str = "no") -> str:
    return "unknown" if value is None else yes if value else no


def fact_rows(facts: HealthFacts) -> list[tuple[str, str]]:
    """The facts as (label, value) rows for people (CLI text and the Status screen)."""
    f = facts
    logging = _yes_no(f.is_logging)
    if f.is_logging and f.time_logging_started:
        logging += f" (since {f.time_logging_started})"
    elif f.is_logging is False and f.time_logging_stopped:
        logging += f" (stopped {f.time_logging_stopped})"

    def delivery(time: str | None, error: str | None) -> str:
        text = time or "none reported"
        return f"{text}; error: {error}" if error else text

    rows = [
        ("Trail ARN", f.arn),
        ("Home region", f.home_region),
        ("Logging", logging),
        ("Regions", "all (multi-region)" if f.multi_region else f"{f.home_region} only"),
        ("Organization trail", _yes_no(f.organization)),
        (
            "Management events",
            (f.management_events or "unknown")
            + (f" (excluding {', '.join(f.excluded_sources)})" if f.excluded_sources else ""),
        ),
        ("Latest delivery", delivery(f.latest_delivery_time, f.latest_delivery_error)),
        ("Log file validation", _yes_no(f.log_file_validation, "on", "off")),
    ]
    if f.log_file_validation:
        rows.append(
            (
                "Latest digest",
                delivery(f.latest_digest_delivery_time, f.latest_digest_delivery_error),
            )
        )
    bucket = f.bucket or "(none)"
    if f.prefix:
        bucket += f" (prefix {f.prefix})"
    if f.bucket_region:
        bucket += f" in {f.bucket_region}"
    if f.bucket_exists is False:
        bucket += ": DOES NOT EXIST"
    rows.append(("Bucket", bucket))
    rows.append(
        (
            "Bucket policy allows CloudTrail",
            _yes_no(f.bucket_policy_allows)
            + (f": {f.bucket_policy_problem}" if f.bucket_policy_problem else ""),
        )
    )
    rows += _retention_rows(f)
    pab = f.public_access_block
    rows.append(
        (
            "Block Public Access",
            "not set"
            if pab is None
            else "all on"
            if all(pab.values())
            else "partly: " + ", ".join(k for k, v in pab.items() if not v) + " off",
        )
    )
    rows.append(
        (
            "Bucket public",
            _yes_no(f.bucket_public)
            + (f": {f.bucket_public_reason}" if f.bucket_public_reason else ""),
        )
    )
    rows.append(
        (
            "Server access logging",
            f"on, to {f.access_logging_target}"
            if f.access_logging
            else _yes_no(f.access_logging, "on", "off"),
        )
    )
    if f.kms_key_arn:
        rows.append(("KMS key", f"{f.kms_key_arn} ({f.key_state or 'state unknown'})"))
        rows.append(("Key rotation", _yes_no(f.key_rotation, "on", "off")))
        rows.append(
            (
                "Key policy allows CloudTrail",
                _yes_no(f.key_policy_allows)
                + (f": {f.key_policy_problem}" if f.key_policy_problem else ""),
            )
        )
    else:
        rows.append(("Encryption", "SSE-S3 (no KMS key)"))
    if f.log_group_arn:
        rows.append(("CloudWatch Logs group", f.log_group_arn))
        rows.append(
            (
                "CloudWatch Logs delivery",
                delivery(
                    f.latest_cloudwatch_logs_delivery_time, f.latest_cloudwatch_logs_delivery_error
                ),
            )
        )
        rows.append(
            (
                "Delivery role allows it",
                _yes_no(f.cw_role_allows) + (f": {f.cw_problem}" if f.cw_problem else ""),
            )
        )
    else:
        rows.append(("CloudWatch Logs", "not configured"))
    if f.sns_topic_arn:
        rows.append(
            (
                "SNS topic",
                f.sns_topic_arn
                + (
                    f"; error: {f.latest_notification_error}" if f.latest_notification_error else ""
                ),
            )
        )
    return rows
