"""What the resources the answers name look like now: the inputs of the desired-state plan.

Discovery (:mod:`wizard.account.discovery`) finds whether each name the answers use is
taken; when it is, this module reads the settings the plan compares with the answers, and
that a rollback restores exactly: the whole configuration of the trail (bucket, prefix, key,
topic, CloudWatch Logs, the switches, the event and Insights selectors, logging and tags),
the rotation and tags of a key, the tags of a topic, the tags and inline policy of the
delivery role.

Every read that fails is recorded with its reason: a setting that could not be read cannot
be changed safely (a rollback could not restore it), so preflight refuses the plan instead
of guessing.

Pure core: AWS is reached through :class:`wizard.ports.AwsCaller`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from pydantic import Field

from wizard.model.base import WizardModel
from wizard.ports import AwsCaller, AwsError

__all__ = [
    "DEFAULT_EVENT_SELECTORS",
    "KeyExtras",
    "RoleExtras",
    "TrailState",
    "digest",
    "read_key_extras",
    "read_role_extras",
    "read_topic_tags",
    "read_trail_state",
    "tag_map",
]

DEFAULT_EVENT_SELECTORS: list[dict[str, Any]] = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": [],
    }
]
"""What GetEventSelectors answers for a trail nobody put selectors on: every management
event, no data event (CloudTrail's default)."""

ROLE_POLICY_NAME = "CloudTrailDeliveryToCloudWatchLogs"
"""The inline policy the wizard gives a delivery role it creates."""


def _explain(err: AwsError, what: str) -> str:
    if err.access_denied:
        return f"{what}: access denied ({err.service}:{err.operation}); {err.message}"
    return f"{what}: {err.code}: {err.message}"


def digest(value: Any) -> str:
    """A short stable hash of a JSON-able value (fingerprints of what a plan depends on)."""
    raw = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def tag_map(tags: Any, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """Tags as a plain mapping, from AWS's list of pairs (or a mapping already)."""
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    out: dict[str, str] = {}
    for item in tags or []:
        if isinstance(item, Mapping) and key in item:
            out[str(item[key])] = str(item.get(value, ""))
    return out


def _blank_to_none(value: Any) -> str | None:
    """AWS leaves an unset setting out; emulators may answer "" or null. Both are None."""
    return str(value) if value else None


class TrailState(WizardModel):
    """The whole configuration of an existing trail, read in its home region."""

    name: str
    """Trail name."""
    arn: str
    """Trail ARN."""
    home_region: str
    """Home region."""
    owner_account: str | None = None
    """Account that owns it (from the ARN)."""
    bucket: str | None = None
    """S3BucketName."""
    prefix: str | None = None
    """S3KeyPrefix (None: no prefix)."""
    kms_key_id: str | None = None
    """KmsKeyId (None: SSE-S3)."""
    sns_topic_arn: str | None = None
    """SnsTopicARN (None: no notifications)."""
    cw_group_arn: str | None = None
    """CloudWatchLogsLogGroupArn (None: no CloudWatch Logs delivery)."""
    cw_role_arn: str | None = None
    """CloudWatchLogsRoleArn."""
    multi_region: bool = False
    """IsMultiRegionTrail."""
    organization: bool = False
    """IsOrganizationTrail."""
    log_file_validation: bool = False
    """LogFileValidationEnabled."""
    include_global_events: bool = False
    """IncludeGlobalServiceEvents."""
    logging: bool | None = None
    """GetTrailStatus IsLogging (None: could not be read)."""
    event_selectors: list[dict[str, Any]] | None = None
    """Basic event selectors, when the trail has those (exactly as GetEventSelectors gives
    them; CloudTrail's default when it has none)."""
    advanced_event_selectors: list[dict[str, Any]] | None = None
    """Advanced event selectors, when the trail has those."""
    insight_types: list[str] = Field(default_factory=list)
    """The Insights types turned on (empty: Insights off)."""
    insight_selectors: list[dict[str, Any]] = Field(default_factory=list)
    """GetInsightSelectors' list exactly (each type with its EventCategories, if any)."""
    aggregation_templates: list[str] | None = None
    """Data event aggregation templates (GetEventConfiguration); None when it could not be
    read (the operation is recent, and a caller may lack cloudtrail:GetEventConfiguration)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """The trail's tags."""
    errors: list[str] = Field(default_factory=list)
    """Reads that failed, explained: a plan cannot change what it could not read."""

    @property
    def readable(self) -> bool:
        """Every setting could be read."""
        return not self.errors

    def print(self) -> str:
        """The fingerprint of the configuration (a change since the plan makes it stale)."""
        return digest(self.model_dump(mode="json", exclude={"errors"}))


def read_trail_state(arn: str, home_region: str, caller: AwsCaller) -> TrailState:
    """Read an existing trail's whole configuration in its home region.

    GetTrail (its settings), GetTrailStatus (logging), GetEventSelectors, GetInsightSelectors
    (InsightNotEnabledException means none) and ListTags; a read that fails is recorded in
    :attr:`TrailState.errors`.
    """
    errors: list[str] = []
    name = arn.rsplit("/", 1)[-1]
    account = arn.split(":")[4] if arn.count(":") >= 5 else None
    fields: dict[str, Any] = {
        "name": name,
        "arn": arn,
        "home_region": home_region,
        "owner_account": account or None,
    }
    try:
        trail = caller.call("cloudtrail", home_region, "GetTrail", {"Name": arn})["Trail"]
        fields.update(
            name=str(trail.get("Name") or name),
            bucket=_blank_to_none(trail.get("S3BucketName")),
            prefix=_blank_to_none(trail.get("S3KeyPrefix")),
            kms_key_id=_blank_to_none(trail.get("KmsKeyId")),
            sns_topic_arn=_blank_to_none(trail.get("SnsTopicARN")),
            cw_group_arn=_blank_to_none(trail.get("CloudWatchLogsLogGroupArn")),
            cw_role_arn=_blank_to_none(trail.get("CloudWatchLogsRoleArn")),
            multi_region=bool(trail.get("IsMultiRegionTrail", False)),
            organization=bool(trail.get("IsOrganizationTrail", False)),
            log_file_validation=bool(trail.get("LogFileValidationEnabled", False)),
            include_global_events=bool(trail.get("IncludeGlobalServiceEvents", False)),
        )
    except AwsError as err:
        errors.append(_explain(err, "GetTrail"))
    try:
        status = caller.call("cloudtrail", home_region, "GetTrailStatus", {"Name": arn})
        fields["logging"] = bool(status.get("IsLogging"))
    except AwsError as err:
        errors.append(_explain(err, "GetTrailStatus"))
    try:
        got = caller.call("cloudtrail", home_region, "GetEventSelectors", {"TrailName": arn})
        basic = list(got.get("EventSelectors") or [])
        advanced = list(got.get("AdvancedEventSelectors") or [])
        if advanced:
            fields["advanced_event_selectors"] = advanced
        else:
            fields["event_selectors"] = basic or [dict(s) for s in DEFAULT_EVENT_SELECTORS]
    except AwsError as err:
        errors.append(_explain(err, "GetEventSelectors"))
    try:
        got = caller.call("cloudtrail", home_region, "GetInsightSelectors", {"TrailName": arn})
        fields["insight_types"] = sorted(
            str(s["InsightType"]) for s in got.get("InsightSelectors") or [] if "InsightType" in s
        )
        fields["insight_selectors"] = [dict(s) for s in got.get("InsightSelectors") or []]
    except AwsError as err:
        if err.code != "InsightNotEnabledException":
            errors.append(_explain(err, "GetInsightSelectors"))
    try:
        got = caller.call("cloudtrail", home_region, "GetEventConfiguration", {"TrailName": arn})
        fields["aggregation_templates"] = sorted(
            {
                str(t)
                for c in got.get("AggregationConfigurations") or []
                for t in c.get("Templates") or []
            }
        )
    except AwsError:
        pass  # unknown (None): the plan leaves aggregation alone unless the answers ask for it
    try:
        got = caller.call("cloudtrail", home_region, "ListTags", {"ResourceIdList": [arn]})
        listed = got.get("ResourceTagList") or []
        fields["tags"] = tag_map(listed[0].get("TagsList") if listed else [])
    except AwsError as err:
        errors.append(_explain(err, "ListTags"))
    return TrailState(**fields, errors=errors)


class KeyExtras(WizardModel):
    """An existing key's rotation and tags (for a key the answers' alias names)."""

    rotation: bool | None = None
    """Automatic rotation is on (None: could not be read)."""
    tags: dict[str, str] | None = None
    """Its tags (None: could not be read)."""
    errors: list[str] = Field(default_factory=list)
    """Reads that failed."""


def read_key_extras(key_arn: str, region: str, caller: AwsCaller) -> KeyExtras:
    """GetKeyRotationStatus and ListResourceTags of a key."""
    errors: list[str] = []
    rotation: bool | None = None
    tags: dict[str, str] | None = None
    try:
        got = caller.call("kms", region, "GetKeyRotationStatus", {"KeyId": key_arn})
        rotation = bool(got.get("KeyRotationEnabled"))
    except AwsError as err:
        errors.append(_explain(err, "GetKeyRotationStatus"))
    try:
        listed = caller.paginate("kms", region, "ListResourceTags", "Tags", {"KeyId": key_arn})
        tags = tag_map(listed, "TagKey", "TagValue")
    except AwsError as err:
        errors.append(_explain(err, "ListResourceTags"))
    return KeyExtras(rotation=rotation, tags=tags, errors=errors)


def read_topic_tags(topic_arn: str, caller: AwsCaller) -> tuple[dict[str, str] | None, str | None]:
    """A topic's tags (ListTagsForResource), or None and why not."""
    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else "us-east-1"
    try:
        got = caller.call("sns", region, "ListTagsForResource", {"ResourceArn": topic_arn})
    except AwsError as err:
        return None, _explain(err, "ListTagsForResource")
    return tag_map(got.get("Tags")), None


class RoleExtras(WizardModel):
    """An existing delivery role's tags and the wizard's inline policy on it."""

    tags: dict[str, str] | None = None
    """Its tags (None: could not be read)."""
    policy: str | None = None
    """The inline policy :data:`ROLE_POLICY_NAME`, as JSON text (None: there is none)."""
    policy_readable: bool = True
    """False when GetRolePolicy failed for another reason than "no such policy"."""
    errors: list[str] = Field(default_factory=list)
    """Reads that failed."""


def read_role_extras(role_name: str, region: str, caller: AwsCaller) -> RoleExtras:
    """ListRoleTags and GetRolePolicy (the wizard's inline policy) of a role."""
    errors: list[str] = []
    tags: dict[str, str] | None = None
    policy: str | None = None
    readable = True
    try:
        listed = caller.paginate("iam", region, "ListRoleTags", "Tags", {"RoleName": role_name})
        tags = tag_map(listed)
    except AwsError as err:
        errors.append(_explain(err, "ListRoleTags"))
    try:
        got = caller.call(
            "iam",
            region,
            "GetRolePolicy",
            {"RoleName": role_name, "PolicyName": ROLE_POLICY_NAME},
        )
        document = got.get("PolicyDocument")
        if isinstance(document, str):
            policy = unquote(document)
        elif document is not None:
            policy = json.dumps(document)
    except AwsError as err:
        if not err.not_found:
            readable = False
            errors.append(_explain(err, "GetRolePolicy"))
    return RoleExtras(tags=tags, policy=policy, policy_readable=readable, errors=errors)
