"""The CloudTrail compliance controls, defined once, and how each is judged.

Each control of the CIS AWS Foundations Benchmark and AWS Security Hub (Foundational
Security Best Practices) that concerns CloudTrail is described here once
(:data:`CONTROLS`: ids, titles, CIS numbers, how to fix it on an existing trail and which
choice in the wizard passes it), with one rule that judges it from :class:`HealthFacts`.

Two things use the same rules:

* ``cloudtrail-wizard status`` (:mod:`wizard.health.trails`) reads the facts of an existing trail
  from AWS and judges them (:func:`evaluate_controls`).
* The review before applying reads the facts from the :class:`~wizard.model.plan.Plan`
  (:func:`planned_facts`) and shows which controls the planned trail will pass
  (:func:`plan_controls`). What the plan cannot tell (an existing bucket's server access
  logging, an existing key's rotation) is "decided after apply", never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from wizard.model.base import WizardModel
from wizard.model.plan import PLACEHOLDER, Plan, Step
from wizard.policy.access import PolicyFormatError, Principal, Request, evaluate
from wizard.policy.lifecycle import logs_prefix, retention_problems

__all__ = [
    "CONTROLS",
    "STALE_DELIVERY",
    "ControlResult",
    "ControlSpec",
    "ControlStatus",
    "HealthFacts",
    "PlannedControl",
    "PlannedStatus",
    "Unchecked",
    "evaluate_controls",
    "management_events",
    "parse_time",
    "plan_controls",
    "planned_facts",
    "s3_object_events",
]

ControlStatus = Literal["pass", "fail", "not-applicable", "unknown"]
"""A control's result; ``unknown`` means a read it needs was refused."""

STALE_DELIVERY = timedelta(hours=24)
"""A logging trail that delivered nothing for this long is suspicious (CIS checks 24 h)."""

PUBLIC_ACCESS_BLOCK_KEYS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)
"""The four Block Public Access settings of a bucket (and of an account)."""

BLOCK_PUBLIC_ACCESS_COMMAND = (
    "aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration "
    + ",".join(f"{key}=true" for key in PUBLIC_ACCESS_BLOCK_KEYS)
)
"""The AWS CLI command that turns all four settings on (``{bucket}`` to fill in)."""

# --------------------------------------------------------------------------- controls


class ControlSpec(WizardModel):
    """One compliance control about CloudTrail, with its ids in each framework version."""

    id: str
    """AWS Security Hub control id (``CloudTrail.1``, ``KMS.4``)."""
    title: str
    """What it asks, in a few words."""
    cis: dict[str, str]
    """CIS AWS Foundations Benchmark recommendation number by benchmark version."""
    fix: str
    """How to pass on an existing trail; ``{arn}``, ``{home}``, ``{bucket}`` and ``{key}``
    are filled in with the trail's ARN, home region, bucket and key."""
    choice: str
    """Which choice in the wizard passes it (shown before applying), with its cost."""

    @property
    def label(self) -> str:
        """``CloudTrail.1 / CIS 3.1 (v1.4.0, v3.0.0), 4.1 (v7.0)``."""
        by_number: dict[str, list[str]] = {}
        for version, number in self.cis.items():
            by_number.setdefault(number, []).append(version)
        cis = ", ".join(f"{n} ({', '.join(v)})" for n, v in by_number.items())
        return f"{self.id} / CIS {cis}" if cis else self.id

    @property
    def short_label(self) -> str:
        """The id and the newest CIS number only: ``CloudTrail.2 / CIS 4.5 (v7.0)``."""
        if not self.cis:
            return self.id
        version, number = list(self.cis.items())[-1]
        return f"{self.id} / CIS {number} ({version})"


CONTROLS: tuple[ControlSpec, ...] = (
    ControlSpec(
        id="CloudTrail.1",
        title="Multi-region trail, logging read and write management events",
        cis={"v1.4.0": "3.1", "v3.0.0": "3.1", "v7.0": "4.1"},
        fix=(
            "make it multi-region and record all management events: aws cloudtrail "
            "update-trail --name {arn} --is-multi-region-trail --region {home}, then put an "
            "event selector for read and write management events"
        ),
        choice=(
            "record every region (trail.multi_region: true) and all read and write management "
            "events without excluded sources (events.management: all, no "
            "events.exclude_sources); excluding KMS and RDS Data API events saves on event "
            "volume but fails this control"
        ),
    ),
    ControlSpec(
        id="CloudTrail.4",
        title="Log file validation enabled",
        cis={"v1.4.0": "3.2", "v3.0.0": "3.2", "v7.0": "4.2"},
        fix=(
            "turn it on: aws cloudtrail update-trail --name {arn} --enable-log-file-validation "
            "--region {home}"
        ),
        choice="turn log file validation on (trail.log_file_validation: true); it is free",
    ),
    ControlSpec(
        id="CloudTrail.2",
        title="Log files encrypted at rest with a KMS key (SSE-KMS)",
        cis={"v1.4.0": "3.7", "v3.0.0": "3.5", "v7.0": "4.5"},
        fix=(
            "encrypt with a KMS key whose policy allows CloudTrail: aws cloudtrail update-trail "
            "--name {arn} --kms-key-id KEY --region {home} (the wizard writes that key policy)"
        ),
        choice=(
            "choose SSE-KMS (encryption.type: sse-kms) with a new or existing key; a key costs "
            "about $1 a month plus requests, and readers of the logs need kms:Decrypt"
        ),
    ),
    ControlSpec(
        id="KMS.4",
        title="Automatic rotation of the trail's KMS key",
        cis={"v1.4.0": "3.8", "v3.0.0": "3.6", "v7.0": "4.6"},
        fix="turn rotation on: aws kms enable-key-rotation --key-id {key}",
        choice=(
            "keep rotation on for a new key (encryption.rotation: true); for an existing key, "
            "aws kms enable-key-rotation"
        ),
    ),
    ControlSpec(
        id="CloudTrail.6",
        title="Log bucket not publicly accessible",
        cis={"v1.4.0": "3.3"},
        fix=(
            "remove the public grant or statement, and turn on all four Block Public Access "
            "settings: " + BLOCK_PUBLIC_ACCESS_COMMAND
        ),
        choice=(
            "let the wizard create the bucket (all four Block Public Access settings on), or "
            "turn them on for the existing bucket"
        ),
    ),
    ControlSpec(
        id="CloudTrail.7",
        title="Server access logging on the log bucket",
        cis={"v1.4.0": "3.6", "v3.0.0": "3.4", "v7.0": "4.4"},
        fix=(
            "turn on server access logging to another bucket: aws s3api put-bucket-logging "
            "--bucket {bucket} --bucket-logging-status file://logging.json"
        ),
        choice=(
            "send the log bucket's server access logs to another bucket (bucket.access_logs); "
            "S3 charges only for storing those logs"
        ),
    ),
    ControlSpec(
        id="S3.22",
        title="S3 object-level write events logged for every bucket",
        cis={"v1.4.0": "3.10", "v3.0.0": "3.8", "v7.0": "4.8"},
        fix=(
            "record S3 object writes of every bucket (leaving out only the trail's own log "
            "buckets): the wizard's events step, preset 'S3 object writes (CIS 4.8)', or aws "
            "cloudtrail put-event-selectors --trail-name {arn} --region {home} with the trail's "
            "current selectors plus one for AWS::S3::Object with readOnly false"
        ),
        choice=(
            "add the S3 object writes preset (events.data: type s3, read_write write); data "
            "events are charged per event (about $0.10 per 100,000)"
        ),
    ),
    ControlSpec(
        id="S3.23",
        title="S3 object-level read events logged for every bucket",
        cis={"v1.4.0": "3.11", "v3.0.0": "3.9", "v7.0": "4.9"},
        fix=(
            "record S3 object reads of every bucket: the wizard's events step, preset 'S3 "
            "object reads (CIS 4.9)', or aws cloudtrail put-event-selectors --trail-name {arn} "
            "--region {home} with the trail's current selectors plus one for AWS::S3::Object "
            "with readOnly true"
        ),
        choice=(
            "add the S3 object reads preset (events.data: type s3, read_write read); reads are "
            "often the busiest S3 calls, charged per event (about $0.10 per 100,000)"
        ),
    ),
    ControlSpec(
        id="Retention",
        title="Log files kept at least a year (lifecycle; Object Lock shown)",
        cis={},
        fix=(
            "raise the expiry of the lifecycle rule that covers the trail's log files to 365 "
            "days or more (or remove it): aws s3api get-bucket-lifecycle-configuration --bucket "
            "{bucket}, edit that rule, and put every rule back with aws s3api "
            "put-bucket-lifecycle-configuration"
        ),
        choice=(
            "keep log files (no bucket.retention.expire_days), or expire them after 365 days "
            "or more; colder storage (bucket.retention.transition_days) costs less to keep them"
        ),
    ),
    ControlSpec(
        id="CloudTrail.5",
        title="Trail integrated with CloudWatch Logs",
        cis={"v1.4.0": "3.4"},
        fix=(
            "send events to a log group: re-run the wizard's delivery step, or aws cloudtrail "
            "update-trail --name {arn} --cloud-watch-logs-log-group-arn GROUP_ARN "
            "--cloud-watch-logs-role-arn ROLE_ARN --region {home}"
        ),
        choice=(
            "send events to CloudWatch Logs (cloudwatch_logs.log_group); CloudWatch Logs "
            "charges for ingesting and storing them"
        ),
    ),
)
"""The controls checked, in display order.

Ids and numbers: AWS Security Hub's CloudTrail and KMS controls (CloudTrail.1, .2, .4, .5
and KMS.4 belong to Foundational Security Best Practices v1.0.0; CloudTrail.6 and .7 to the
CIS standards; S3.22 and S3.23, S3 object-level write and read events, to the CIS v3.0.0 and
v5.0.0 standards, judged by AWS Config's cloudtrail-all-write/read-s3-data-event-check),
and the CIS AWS Foundations Benchmark v1.4.0, v3.0.0 (v5.0.0 numbers them the same) and v7.0
recommendations they map to. CIS dropped "bucket not public" and
"CloudWatch Logs integration" after v1.4.0 (v2.0.0 still had them), hence no later number.
"""


class ControlResult(WizardModel):
    """A control's result for one trail."""

    control: ControlSpec
    """Which control."""
    status: ControlStatus
    """Pass, fail, not applicable, or unknown (could not check)."""
    reason: str
    """One line: why."""


# --------------------------------------------------------------------------- facts


class Unchecked(WizardModel):
    """A read that was refused (or failed), so something could not be checked."""

    what: str
    """What could not be checked (``bucket access logging``)."""
    action: str
    """The IAM action that was needed (``s3:GetBucketLogging``)."""
    detail: str
    """The error code and AWS's message."""
    denied: bool = True
    """True for access denied; False for any other failure."""

    def sentence(self) -> str:
        """``Could not check bucket access logging: ... s3:GetBucketLogging ...``."""
        if self.denied:
            return (
                f"Could not check {self.what}: the caller may not call {self.action}. Allow "
                f"that action to check it ({self.detail})."
            )
        return f"Could not check {self.what}: {self.action} failed ({self.detail})."


class HealthFacts(WizardModel):
    """What a trail and its resources look like now, or as a plan will make them (None:
    unknown or not read)."""

    name: str
    """Trail name."""
    arn: str
    """Trail ARN."""
    home_region: str
    """Home region."""
    owner_account: str
    """Account that owns the trail (from the ARN)."""
    multi_region: bool = False
    """Records every region."""
    include_global_events: bool = False
    """Records global services (IAM, STS, ...)."""
    log_file_validation: bool = False
    """Writes signed digest files."""
    organization: bool = False
    """Organization trail."""
    organization_id: str | None = None
    """The organization's id, for organization trails (their files are under it)."""
    bucket: str | None = None
    """Log bucket."""
    prefix: str = ""
    """S3 key prefix (no slashes around)."""
    kms_key_arn: str | None = None
    """The trail's KMS key (None: SSE-S3)."""
    sns_topic_arn: str | None = None
    """Notification topic."""
    log_group_arn: str | None = None
    """CloudWatch Logs group ARN (``...:log-group:NAME:*``)."""
    cw_role_arn: str | None = None
    """CloudWatch Logs delivery role."""
    is_logging: bool | None = None
    """IsLogging from GetTrailStatus."""
    latest_delivery_time: str | None = None
    """Last log file delivered (ISO 8601)."""
    latest_delivery_error: str | None = None
    """Last S3 delivery error, as CloudTrail reports it."""
    latest_digest_delivery_time: str | None = None
    """Last digest file delivered."""
    latest_digest_delivery_error: str | None = None
    """Last digest delivery error."""
    latest_cloudwatch_logs_delivery_time: str | None = None
    """Last delivery to CloudWatch Logs."""
    latest_cloudwatch_logs_delivery_error: str | None = None
    """Last CloudWatch Logs delivery error."""
    latest_notification_error: str | None = None
    """Last SNS notification error."""
    time_logging_started: str | None = None
    """When logging was last started."""
    time_logging_stopped: str | None = None
    """When logging was last stopped."""
    management_events: Literal["all", "read", "write", "none"] | None = None
    """Which management events are recorded (None: selectors not read)."""
    excluded_sources: list[str] = Field(default_factory=list)
    """Management event sources left out (kms.amazonaws.com, rdsdata.amazonaws.com)."""
    s3_writes: Literal["all", "some", "none"] | None = None
    """S3 object-level write events: of every bucket (but :attr:`s3_excluded`), of some
    buckets or filtered, or none (None: selectors not read)."""
    s3_reads: Literal["all", "some", "none"] | None = None
    """S3 object-level read events, the same way."""
    s3_excluded: list[str] = Field(default_factory=list)
    """Buckets an every-bucket S3 selector leaves out (NotStartsWith arn:...:s3:::BUCKET/)."""
    bucket_exists: bool | None = None
    """The bucket exists (None: could not tell)."""
    bucket_region: str | None = None
    """The bucket's region."""
    bucket_policy_allows: bool | None = None
    """The bucket policy lets CloudTrail check the ACL and write this trail's files."""
    bucket_policy_problem: str | None = None
    """Why it does not (the access checker's reasons)."""
    bucket_public: bool | None = None
    """The bucket is readable by the public (ACL or policy, after Block Public Access)."""
    bucket_public_reason: str | None = None
    """What makes it public."""
    public_access_block: dict[str, bool] | None = None
    """Effective Block Public Access (bucket OR account setting, per flag)."""
    access_logging_target: str | None = None
    """``bucket/prefix`` server access logs go to; None when off or unknown."""
    access_logging: bool | None = None
    """Server access logging is on."""
    key_state: str | None = None
    """Enabled, Disabled, PendingDeletion, ..."""
    key_manager: str | None = None
    """AWS or CUSTOMER."""
    key_spec: str | None = None
    """KeySpec (SYMMETRIC_DEFAULT for CloudTrail)."""
    key_rotation: bool | None = None
    """Automatic rotation is on."""
    key_policy_allows: bool | None = None
    """The key policy lets CloudTrail encrypt for this trail."""
    key_policy_problem: str | None = None
    """Why it does not."""
    cw_group_exists: bool | None = None
    """The CloudWatch Logs group exists."""
    cw_role_allows: bool | None = None
    """The role's trust and permissions let CloudTrail deliver to the group."""
    cw_problem: str | None = None
    """Why not."""
    lifecycle_rules: list[dict[str, Any]] | None = None
    """The log bucket's lifecycle rules as S3 gives them ([]: none; None: not read)."""
    object_lock: dict[str, Any] | None = None
    """The log bucket's ``ObjectLockConfiguration`` (None: off, or not read)."""
    object_lock_read: bool = False
    """True when the Object Lock configuration was read (``object_lock`` None means off)."""
    unchecked: list[Unchecked] = Field(default_factory=list)
    """Reads that failed."""

    def unchecked_for(self, *actions: str) -> Unchecked | None:
        """The first refused read among ``actions``, if any."""
        for item in self.unchecked:
            if item.action in actions:
                return item
        return None


# --------------------------------------------------------------------------- selectors


def management_events(
    basic: Sequence[dict[str, Any]], advanced: Sequence[dict[str, Any]]
) -> tuple[Literal["all", "read", "write", "none"], list[str]]:
    """Which management events the selectors record, and the excluded sources.

    Args:
        basic: ``EventSelectors`` from GetEventSelectors.
        advanced: ``AdvancedEventSelectors``.

    Returns:
        ("all" | "read" | "write" | "none", excluded event sources). A trail without any
        selector records all management events (CloudTrail's default).
    """
    if not basic and not advanced:
        return "all", []
    read = write = False
    excluded: set[str] = set()
    for selector in basic:
        if not selector.get("IncludeManagementEvents", True):
            continue
        rw = selector.get("ReadWriteType", "All")
        read = read or rw in ("All", "ReadOnly")
        write = write or rw in ("All", "WriteOnly")
        excluded.update(selector.get("ExcludeManagementEventSources") or [])
    for selector in advanced:
        fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
        category = fields.get("eventCategory", {})
        if "Management" not in (category.get("Equals") or []):
            continue
        only = (fields.get("readOnly") or {}).get("Equals") or []
        read = read or not only or "true" in only
        write = write or not only or "false" in only
        excluded.update((fields.get("eventSource") or {}).get("NotEquals") or [])
    kind: Literal["all", "read", "write", "none"]
    kind = "all" if read and write else "read" if read else "write" if write else "none"
    return kind, sorted(excluded)


_S3_EVERY_BUCKET = re.compile(r"^arn:[a-z-]+:s3(:::)?$")
_S3_BUCKET = re.compile(r"^arn:[a-z-]+:s3:::([^/]+)/$")
_Coverage = Literal["all", "some", "none"]
_RANK: dict[str, int] = {"none": 0, "some": 1, "all": 2}


def _s3_sides(sides: set[str], coverage: _Coverage, found: dict[str, _Coverage]) -> None:
    for side in sides:
        if _RANK[coverage] > _RANK[found[side]]:
            found[side] = coverage


def _advanced_s3(selector: dict[str, Any]) -> tuple[set[str], _Coverage, list[str]] | None:
    """An advanced selector's S3 object coverage: (sides, coverage, excluded buckets)."""
    fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
    if (fields.get("eventCategory") or {}).get("Equals") != ["Data"]:
        return None
    if (fields.get("resources.type") or {}).get("Equals") != ["AWS::S3::Object"]:
        return None
    only = (fields.get("readOnly") or {}).get("Equals") or []
    sides = {s for s, v in (("read", "true"), ("write", "false")) if not only or v in only}
    if set(fields) - {"eventCategory", "resources.type", "readOnly", "resources.ARN"}:
        return sides, "some", []  # filtered on eventName, who made the call...
    arn = fields.get("resources.ARN") or {}
    ops = {op for op, values in arn.items() if op != "Field" and values}
    starts = arn.get("StartsWith") or []
    if ops - {"StartsWith", "NotStartsWith"} or (
        "StartsWith" in ops and not any(_S3_EVERY_BUCKET.match(v) for v in starts)
    ):
        return sides, "some", []
    excluded = []
    for value in arn.get("NotStartsWith") or []:
        bucket = _S3_BUCKET.match(value)
        if bucket is None:
            return sides, "some", []  # a folder or a partial name, not whole buckets
        excluded.append(bucket.group(1))
    return sides, "all", excluded


def s3_object_events(
    basic: Sequence[dict[str, Any]], advanced: Sequence[dict[str, Any]]
) -> tuple[_Coverage, _Coverage, list[str]]:
    """Which S3 object-level events the selectors record (CIS 4.8 writes, 4.9 reads).

    "all" means every bucket, current and future (basic value ``arn:aws:s3`` or
    ``arn:aws:s3:::``; an advanced selector without resources.ARN, or leaving out only whole
    buckets); "some" means named buckets or folders, or a selector filtered on other fields.

    Returns:
        (writes, reads, the buckets an every-bucket selector leaves out).
    """
    found: dict[str, _Coverage] = {"read": "none", "write": "none"}
    excluded: set[str] = set()
    for selector in basic:
        rw = selector.get("ReadWriteType", "All")
        sides = {s for s, k in (("read", "ReadOnly"), ("write", "WriteOnly")) if rw in (k, "All")}
        for resource in selector.get("DataResources") or []:
            if resource.get("Type") != "AWS::S3::Object" or not resource.get("Values"):
                continue
            every = any(_S3_EVERY_BUCKET.match(str(v)) for v in resource["Values"])
            _s3_sides(sides, "all" if every else "some", found)
    for selector in advanced:
        judged = _advanced_s3(selector)
        if judged is None:
            continue
        sides, coverage, left_out = judged
        _s3_sides(sides, coverage, found)
        if coverage == "all":
            excluded.update(left_out)
    return found["write"], found["read"], sorted(excluded)


# --------------------------------------------------------------------------- judging a trail


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def evaluate_controls(facts: HealthFacts, *, now: datetime | None = None) -> list[ControlResult]:
    """Judge every control of :data:`CONTROLS` from the facts (pure)."""
    now = now or datetime.now(UTC)
    results: list[ControlResult] = []
    for spec in CONTROLS:
        status, reason = _CHECKS[spec.id](facts, now)
        results.append(ControlResult(control=spec, status=status, reason=reason))
    return results


_Check = Callable[[HealthFacts, datetime], tuple[ControlStatus, str]]


def _unknown(item: Unchecked) -> tuple[ControlStatus, str]:
    return "unknown", f"could not check: {item.action} was refused ({item.detail})"


def _multi_region(f: HealthFacts, _now: datetime) -> tuple[ControlStatus, str]:
    if not f.multi_region:
        return "fail", f"records only {f.home_region}, not every region"
    if f.is_logging is None:
        return _unknown(f.unchecked_for("cloudtrail:GetTrailStatus") or _denied_status())
    if not f.is_logging:
        return "fail", "multi-region, but not logging"
    if f.management_events is None:
        item = f.unchecked_for("cloudtrail:GetEventSelectors")
        return _unknown(item) if item else ("unknown", "event selectors not read")
    if f.management_events != "all":
        what = "no" if f.management_events == "none" else f"only {f.management_events}"
        return "fail", f"records {what} management events; read and write are both needed"
    if f.excluded_sources:
        return "fail", f"leaves out management events from {', '.join(f.excluded_sources)}"
    return "pass", "multi-region, logging, all read and write management events"


def _denied_status() -> Unchecked:
    return Unchecked(what="trail status", action="cloudtrail:GetTrailStatus", detail="not read")


def _validation(f: HealthFacts, _now: datetime) -> tuple[ControlStatus, str]:
    if f.log_file_validation:
        return "pass", "log file validation is on (digest files are written)"
    return "fail", "log file validation is off"


def _encryption(f: HealthFacts, _now: datetime) -> tuple[ControlStatus, str]:
    if f.kms_key_arn:
        return "pass", f"SSE-KMS with {f.kms_key_arn}"
    return "fail", "log files use SSE-S3 (S3-managed keys), not a KMS key"


def _rotation(f: HealthFacts, _now: datetime) -> tuple[ControlStatus, str]:
    if not f.kms_key_arn:
        return "not-applicable", "the trail has no KMS key"
    if f.key_manager == "AWS":
        return "not-applicable", "an AWS managed key (AWS rotates it)"
    if f.key_spec and f.key_spec != "SYMMETRIC_DEFAULT":
        return "not-applicable", f"a {f.key_spec} key (rotation is for symmetric keys)"
    if f.key_rotation is None:
        item = f.unchecked_for("kms:GetKeyRotationStatus", "kms:DescribeKey")
        return _unknown(item) if item else ("unknown", "rotation status not read")
    if f.key_rotation:
        return "pass", "automatic key rotation is on"
    return "fail", "automatic key rotation is off"


def _not_public(f: HealthFacts, _now: datetime) -> tuple[ControlStatus, str]:
    if not f.bucket:
        return "not-applicable", "the trail has no bucket"
    if f.bucket_exists is False:
        return "not-applicable", "the bucket does not exist"
    if f.bucket_public:
        return "fail", f"the bucket is public: {f.bucket_public_reason}"
    if f.bucket_public is None:
        item = f.unchecked_for("s3:GetBucketAcl", "s3:GetBucketPolicy", "s3:ListBucket")
        return _unknown(item) if item else ("unknown", "the bucket's ACL and policy not read")
    pab = f.public_access_block or {}
    if pab and all(pab.values()):
        return "pass", "not public; Block Public Access is fully on"
    return "pass", "not public (no public ACL grant or policy statement)"


def _access_logging(f: HealthFacts, _now: datetime) -> tuple[ControlStatus, str]:
    if not f.bucket:
        return "not-applicable", "the trail has no bucket"
    if f.bucket_exists is False:
        return "not-applicable", "the bucket does not exist"
    if f.access_logging is None:
        item = f.unchecked_for("s3:GetBucketLogging")
        return _unknown(item) if item else ("unknown", "bucket logging not read")
    if f.access_logging:
        return "pass", f"server access logs go to {f.access_logging_target}"
    return "fail", f"server access logging is off on {f.bucket}"


def _own_buckets(f: HealthFacts) -> set[str]:
    """The trail's log bucket and the bucket its server access logs go to."""
    own = {f.bucket} if f.bucket else set()
    if f.access_logging_target:
        own.add(f.access_logging_target.split("/", 1)[0])
    return own


def _s3_events(f: HealthFacts, side: str) -> tuple[ControlStatus, str]:
    coverage = f.s3_writes if side == "write" else f.s3_reads
    if coverage is None:
        item = f.unchecked_for("cloudtrail:GetEventSelectors")
        return _unknown(item) if item else ("unknown", "event selectors not read")
    if coverage == "none":
        return "fail", f"records no S3 object-level {side} events"
    if coverage == "some":
        return "fail", (
            f"records S3 object-level {side} events of some buckets or folders only, or "
            "filtered on other fields; every bucket is needed"
        )
    others = sorted(set(f.s3_excluded) - _own_buckets(f))
    if others:
        return "fail", (
            f"records S3 object-level {side} events of every bucket except " + ", ".join(others)
        )
    if f.s3_excluded:
        return "pass", (
            f"records S3 object-level {side} events of every bucket except the trail's own "
            f"log buckets ({', '.join(f.s3_excluded)}), which would record its own deliveries"
        )
    return "pass", f"records S3 object-level {side} events of every bucket"


def _s3_writes(f: HealthFacts, _now: datetime) -> tuple[ControlStatus, str]:
    return _s3_events(f, "write")


def _s3_reads(f: HealthFacts, _now: datetime) -> tuple[ControlStatus, str]:
    return _s3_events(f, "read")


def _cloudwatch(f: HealthFacts, now: datetime) -> tuple[ControlStatus, str]:
    if not f.log_group_arn:
        return "fail", "events are not sent to CloudWatch Logs"
    if f.latest_cloudwatch_logs_delivery_error:
        return "fail", f"delivery fails: {f.latest_cloudwatch_logs_delivery_error}"
    last = parse_time(f.latest_cloudwatch_logs_delivery_time)
    if last is not None and now - last > STALE_DELIVERY:
        return "fail", f"nothing delivered to CloudWatch Logs since {last:%Y-%m-%d %H:%M} UTC"
    group = f.log_group_arn.split(":")[6] if f.log_group_arn.count(":") >= 6 else ""
    when = f", last delivery {last:%Y-%m-%d %H:%M} UTC" if last else ""
    return "pass", f"sends events to log group {group}{when}"


def _rule_prefix(rule: dict[str, Any]) -> str | None:
    """The key prefix a lifecycle rule applies to (None: it filters on more than a prefix)."""
    filt = rule.get("Filter")
    if filt is None:
        return str(rule.get("Prefix") or "")
    if "And" in filt:
        return None if filt["And"].get("Tags") else str(filt["And"].get("Prefix") or "")
    if "Tag" in filt:
        return None
    return str(filt.get("Prefix") or "")


def _lock_words(f: HealthFacts) -> str:
    if not f.object_lock_read:
        return "Object Lock not read"
    lock = f.object_lock or {}
    if lock.get("ObjectLockEnabled") != "Enabled":
        return "Object Lock off"
    default = (lock.get("Rule") or {}).get("DefaultRetention") or {}
    if not default:
        return "Object Lock on, no default retention"
    span = f"{default['Days']} days" if default.get("Days") else f"{default.get('Years')} years"
    return f"Object Lock {default.get('Mode')} {span}"


def _retention(f: HealthFacts, _now: datetime) -> tuple[ControlStatus, str]:
    if f.bucket is None or f.bucket_exists is False:
        return "not-applicable", "no log bucket to check"
    if f.lifecycle_rules is None:
        item = next((u for u in f.unchecked if u.what == "the bucket lifecycle"), None)
        return _unknown(item) if item else ("unknown", "the bucket's lifecycle was not read")
    logs = logs_prefix(f.prefix)
    covering = [
        r
        for r in f.lifecycle_rules
        if r.get("Status") == "Enabled"
        and (prefix := _rule_prefix(r)) is not None
        and logs.startswith(prefix)
    ]
    problems = [
        f"rule {r.get('ID') or '(no ID)'}: {problem}"
        for r in covering
        for problem in retention_problems(r)
    ]
    if problems:
        return "fail", "; ".join(problems)
    if not f.lifecycle_rules:
        return "pass", f"no lifecycle configuration: log files are kept; {_lock_words(f)}"
    if not covering:
        return "pass", f"no lifecycle rule covers {logs}: log files are kept; {_lock_words(f)}"
    return "pass", (
        f"{len(covering)} lifecycle rule(s) cover {logs}, none expires log files sooner than "
        f"a year; {_lock_words(f)}"
    )


_CHECKS: dict[str, _Check] = {
    "CloudTrail.1": _multi_region,
    "CloudTrail.4": _validation,
    "CloudTrail.2": _encryption,
    "KMS.4": _rotation,
    "CloudTrail.6": _not_public,
    "CloudTrail.7": _access_logging,
    "S3.22": _s3_writes,
    "S3.23": _s3_reads,
    "Retention": _retention,
    "CloudTrail.5": _cloudwatch,
}


# --------------------------------------------------------------------------- judging a plan

PlannedStatus = Literal["pass", "fail", "not-applicable", "after-apply"]
"""A control's verdict for a planned trail; ``after-apply`` when the plan cannot tell."""

_AFTER_APPLY: dict[str, str] = {
    "CloudTrail.1": "whether the trail records every management event",
    "CloudTrail.4": "whether log file validation is on",
    "CloudTrail.2": "how the log files are encrypted",
    "KMS.4": "whether the existing key rotates (its rotation is not read while planning)",
    "CloudTrail.6": (
        "whether the existing bucket is public (Block Public Access is not fully on, and its "
        "ACL is not read while planning)"
    ),
    "CloudTrail.7": (
        "whether the existing bucket has server access logging (it is not read while "
        "planning, and the plan does not turn it on)"
    ),
    "Retention": (
        "whether the existing bucket's lifecycle keeps log files a year (the plan does not "
        "change it)"
    ),
    "S3.22": "which S3 object write events are recorded",
    "S3.23": "which S3 object read events are recorded",
    "CloudTrail.5": "whether CloudWatch Logs delivery works",
}
"""What is only known once the trail exists, by control id."""


class PlannedControl(WizardModel):
    """A control's verdict for the trail a plan will create."""

    control: ControlSpec
    """Which control."""
    status: PlannedStatus
    """Pass, fail, not applicable, or decided after apply."""
    reason: str
    """One line: why (the same rule as ``status`` uses for an existing trail)."""

    @property
    def trade_off(self) -> str | None:
        """For a failing control, the choice that passes it and what that costs."""
        return self.control.choice if self.status == "fail" else None

    def sentence(self) -> str:
        """``Fails CloudTrail.2 / CIS 4.5 (v7.0): ... To pass, choose SSE-KMS ...``."""
        verb = {
            "pass": "Passes",
            "fail": "Fails",
            "not-applicable": "Not applicable:",
            "after-apply": "Not known yet for",
        }[self.status]
        text = f"{verb} {self.control.short_label} ({self.control.title}): {self.reason}."
        if self.trade_off:
            text += f" To pass, {self.trade_off}."
        return text

    def to_json(self) -> dict[str, Any]:
        """The verdict as ``plan --output json`` prints it under ``controls``."""
        return {
            "id": self.control.id,
            "title": self.control.title,
            "cis": self.control.cis,
            "status": self.status,
            "reason": self.reason,
            "to_pass": self.trade_off,
        }


def _steps(plan: Plan, operation: str) -> list[Step]:
    return [s for s in plan.steps if s.call.operation == operation]


def _anonymous_read(policy: str | None, resource: str) -> bool:
    """True when the policy lets anyone read a log file (Block Public Access aside)."""
    if not policy:
        return False
    anonymous = Request(
        principal=Principal.anonymous(),
        action="s3:GetObject",
        resource=resource,
        context={"aws:SecureTransport": True},
    )
    try:
        return evaluate(policy, anonymous).allowed
    except PolicyFormatError:
        return False


def planned_facts(plan: Plan) -> HealthFacts:
    """The facts of the trail the plan creates, as far as the plan tells them (pure).

    Read from the planned calls: CreateTrail's parameters (regions, validation, key,
    CloudWatch Logs), PutEventSelectors (management events), StartLogging, the new bucket's
    Block Public Access, encryption and policy, a new key's rotation, and a PutBucketLogging
    step on the log bucket. An existing bucket's Block Public Access is read from preflight:
    it warns (``bucket-public-access``) unless all four settings are on. Anything else about
    an existing bucket or key stays None: decided after apply.
    """
    create = next(iter(_steps(plan, "CreateTrail")), None)
    # An existing trail is updated with only what differs: judge the trail the plan leaves.
    params: dict[str, Any] = (
        dict(create.call.params) if create is not None else dict(plan.trail_settings)
    )
    updated = create is None and bool(plan.trail_settings)
    bucket = str(params.get("S3BucketName") or "") or None
    prefix = str(params.get("S3KeyPrefix") or "").strip("/")
    facts: dict[str, Any] = {
        "name": str(params.get("Name") or plan.trail_arn.rsplit("/", 1)[-1]),
        "arn": plan.trail_arn,
        "home_region": plan.home_region,
        "owner_account": plan.account_id,
        "multi_region": bool(params.get("IsMultiRegionTrail")),
        "include_global_events": bool(params.get("IncludeGlobalServiceEvents")),
        "log_file_validation": bool(params.get("EnableLogFileValidation")),
        "organization": bool(params.get("IsOrganizationTrail")),
        "bucket": bucket,
        "prefix": prefix,
        # An updated trail is started when stopped, else it already logs.
        "is_logging": bool(_steps(plan, "StartLogging")) or updated,
        "management_events": "all",
        "s3_writes": "none",
        "s3_reads": "none",
    }
    log_group = params.get("CloudWatchLogsLogGroupArn")
    if log_group:
        facts["log_group_arn"] = str(log_group)
        facts["cw_role_arn"] = str(params.get("CloudWatchLogsRoleArn") or "") or None
    selectors = _steps(plan, "PutEventSelectors")
    if selectors or (updated and _has_selectors(params)):
        call = selectors[-1].call.params if selectors else params
        basic, advanced = call.get("EventSelectors") or [], call.get("AdvancedEventSelectors") or []
        kind, excluded = management_events(basic, advanced)
        writes, reads, left_out = s3_object_events(basic, advanced)
        facts.update(
            management_events=kind,
            excluded_sources=excluded,
            s3_writes=writes,
            s3_reads=reads,
            s3_excluded=left_out,
        )
    _planned_key(plan, params, facts)
    if bucket is not None:
        _planned_bucket(plan, bucket, prefix, facts)
    return HealthFacts(**facts)


def _has_selectors(params: dict[str, Any]) -> bool:
    return "EventSelectors" in params or "AdvancedEventSelectors" in params


def _planned_key(plan: Plan, params: dict[str, Any], facts: dict[str, Any]) -> None:
    key = params.get("KmsKeyId")
    if not key:
        return
    key = str(key)
    created = next(iter(_steps(plan, "CreateKey")), None)
    if PLACEHOLDER.match(key) and created is not None:
        alias = next(iter(_steps(plan, "CreateAlias")), None)
        name = alias.call.params.get("AliasName") if alias is not None else None
        facts["kms_key_arn"] = f"a new key{f' ({name})' if name else ''}"
        facts["key_manager"] = "CUSTOMER"
        facts["key_spec"] = str(created.call.params.get("KeySpec") or "SYMMETRIC_DEFAULT")
        facts["key_rotation"] = bool(_steps(plan, "EnableKeyRotation"))
    else:
        facts["kms_key_arn"] = key
        if _steps(plan, "EnableKeyRotation"):
            facts["key_rotation"] = True


def _planned_bucket(plan: Plan, bucket: str, prefix: str, facts: dict[str, Any]) -> None:
    facts["bucket_exists"] = True
    mine = [s for s in plan.steps if s.call.params.get("Bucket") == bucket]
    new = any(s.call.operation == "CreateBucket" for s in mine)
    pab: dict[str, bool] | None = None
    for step in mine:
        if step.call.operation == "PutPublicAccessBlock":
            config = step.call.params.get("PublicAccessBlockConfiguration") or {}
            pab = {k: bool(config.get(k)) for k in PUBLIC_ACCESS_BLOCK_KEYS}
    warned = any(f.code == "bucket-public-access" for f in plan.findings)
    if pab is None and not new and not warned and "central_handoff" not in plan.policies:
        # preflight warns unless all four are on
        pab = dict.fromkeys(PUBLIC_ACCESS_BLOCK_KEYS, True)
    facts["public_access_block"] = pab
    policy = plan.policies.get("bucket_policy")
    resource = (
        f"arn:{plan.partition}:s3:::{bucket}/{prefix + '/' if prefix else ''}"
        f"AWSLogs/{plan.account_id}/x"
    )
    pab = pab or {}
    if not pab.get("RestrictPublicBuckets") and _anonymous_read(
        policy if isinstance(policy, str) else None, resource
    ):
        facts.update(
            bucket_public=True,
            bucket_public_reason="its bucket policy lets anyone read the log files",
        )
    elif (pab.get("IgnorePublicAcls") and pab.get("RestrictPublicBuckets")) or new:
        # A new bucket has ACLs disabled (BucketOwnerEnforced): only its policy could open it.
        facts["bucket_public"] = False
    for step in mine:
        if step.call.operation == "PutBucketLogging":
            enabled = (step.call.params.get("BucketLoggingStatus") or {}).get(
                "LoggingEnabled"
            ) or {}
            target = enabled.get("TargetBucket")
            facts["access_logging"] = bool(target)
            if target:
                facts["access_logging_target"] = f"{target}/{enabled.get('TargetPrefix', '')}"
    if new and "access_logging" not in facts:
        facts["access_logging"] = False
    for step in mine:
        if step.call.operation == "PutBucketLifecycleConfiguration":
            config = step.call.params.get("LifecycleConfiguration") or {}
            facts["lifecycle_rules"] = list(config.get("Rules") or [])
        elif step.call.operation == "PutObjectLockConfiguration":
            facts["object_lock"] = dict(step.call.params.get("ObjectLockConfiguration") or {})
            facts["object_lock_read"] = True
    if new:
        facts.setdefault("lifecycle_rules", [])
        facts["object_lock_read"] = True


def plan_controls(plan: Plan) -> list[PlannedControl]:
    """Which controls the planned trail will pass, fail, or leave to be decided after apply.

    The facts come from the plan (:func:`planned_facts`) and are judged by the same rules as
    an existing trail's (:func:`evaluate_controls`); a control whose rule needs a fact the
    plan does not carry is ``after-apply``, never a guess.
    """
    results: list[PlannedControl] = []
    for result in evaluate_controls(planned_facts(plan)):
        if result.status == "unknown":
            status: PlannedStatus = "after-apply"
            reason = (
                f"decided after apply: {_AFTER_APPLY[result.control.id]}; "
                "`cloudtrail-wizard status` checks it"
            )
        else:
            status, reason = result.status, result.reason
        results.append(PlannedControl(control=result.control, status=status, reason=reason))
    return results
