"""The answers file: what the operator wants, as frozen pydantic models.

The field names are the public file format (YAML or JSON) and must stay stable. Every
validator reuses :mod:`wizard.model.names`, so a bad value gets the same message in a file, in the
TUI and in the plain prompts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from wizard.model.base import WizardModel
from wizard.model.choices import DATA_EVENT_TYPES as DATA_EVENT_TYPES
from wizard.model.choices import EXCLUDABLE_SOURCES as EXCLUDABLE_SOURCES
from wizard.model.choices import INSIGHT_TYPES as INSIGHT_TYPES
from wizard.model.choices import LIFECYCLE_MIN_TRANSITION_DAYS
from wizard.model.choices import RETENTION_DAYS as RETENTION_DAYS
from wizard.model.event_types import (
    DATA_FIELDS_BY_NAME,
    DATA_TYPE_ALIASES,
    SELECTOR_NAME_MAX,
    VALUE_LENGTH_MAX,
    resource_type,
)
from wizard.model.names import (
    check_access_log_prefix,
    check_account_id,
    check_alias_name,
    check_arn,
    check_bucket_name,
    check_log_group_name,
    check_prefix,
    check_principal_arn,
    check_role_name,
    check_tags,
    check_topic_name,
    check_trail_name,
    classify_key_ref,
    normalise_access_log_prefix,
    normalise_prefix,
    parse_arn,
    suggested_access_log_bucket,
)
from wizard.model.regions import check_region


class AnswersModel(WizardModel):
    """Base of the answers sections: like every model, plus surrounding blanks are trimmed."""

    model_config = ConfigDict(**{**WizardModel.model_config, "str_strip_whitespace": True})


def _checked(check: Any) -> Any:
    """Turn a ``check_*`` function into a pydantic after-validator."""

    def validate(value: str) -> str:
        problem = check(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


Region = Annotated[str, _checked(check_region)]
TrailName = Annotated[str, _checked(check_trail_name)]
BucketName = Annotated[str, _checked(check_bucket_name)]
PrincipalArn = Annotated[str, _checked(check_principal_arn)]


class TrailAnswers(AnswersModel):
    """Trail basics."""

    name: TrailName
    """Trail name (3-128 characters)."""
    region: Region | None = None
    """Home region; None means the session's region."""
    multi_region: bool = True
    """Log every enabled region (recommended, CIS 4.1)."""
    include_global_events: bool = True
    """Record global services such as IAM and STS."""
    log_file_validation: bool = True
    """Write signed digest files (CIS 4.2)."""
    organization: bool = False
    """Organization trail (management account or delegated administrator only)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags on the trail and on every resource the wizard creates."""

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        problem = check_tags(tags)
        if problem:
            raise ValueError(problem)
        return tags

    @model_validator(mode="after")
    def _global_events(self) -> TrailAnswers:
        if self.multi_region and not self.include_global_events:
            raise ValueError(
                "A multi-region trail must include global service events: set "
                "trail.include_global_events to true, or trail.multi_region to false."
            )
        return self


def _checked_prefix(
    value: Any, normalise: Callable[[str], str], check: Callable[[str], str | None]
) -> Any:
    """A prefix field's value: None is no prefix; a string is normalised, then checked."""
    if value is None:
        return ""
    if isinstance(value, str):
        prefix = normalise(value)
        problem = check(prefix)
        if problem:
            raise ValueError(problem)
        return prefix
    return value


class AccessLogAnswers(AnswersModel):
    """S3 server access logging of the log bucket (CIS 4.4, Security Hub CloudTrail.7)."""

    bucket: BucketName
    """Target bucket that receives the log bucket's server access logs."""
    prefix: str = ""
    """Key prefix of the access log objects in the target bucket ('access-logs/')."""
    create: bool = True
    """True: create the target bucket; false: use an existing one (its policy is merged)."""

    @field_validator("prefix", mode="before")
    @classmethod
    def _prefix(cls, value: Any) -> Any:
        return _checked_prefix(value, normalise_access_log_prefix, check_access_log_prefix)


StorageClass = Literal["STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]
"""Colder storage classes the lifecycle may move log files to."""

OBJECT_LOCK_MAX_DAYS = 36500
"""The longest default retention S3 accepts, in days (100 years)."""


class ObjectLockAnswers(AnswersModel):
    """Object Lock default retention of a new log bucket (WORM: log files cannot be deleted or
    overwritten until their retention ends)."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    """GOVERNANCE: users with s3:BypassGovernanceRetention may still delete or shorten;
    COMPLIANCE: nobody can, not even the root user, until each version's retention ends."""
    days: int
    """Default retention of every log file version, in days (1-36500)."""

    @field_validator("days")
    @classmethod
    def _days(cls, value: int) -> int:
        if not 1 <= value <= OBJECT_LOCK_MAX_DAYS:
            raise ValueError(
                f"bucket.retention.object_lock.days is {value}; S3 accepts a default retention "
                f"of 1 to {OBJECT_LOCK_MAX_DAYS} days. For CIS's year, write 365."
            )
        return value


class RetentionAnswers(AnswersModel):
    """How long log files are kept and where: a lifecycle rule scoped to the trail's
    ``AWSLogs/`` keys (other objects in the bucket are untouched) and Object Lock."""

    transition_days: int | None = None
    """Move log files to ``storage_class`` this many days after they are written; None: never."""
    storage_class: StorageClass = "GLACIER_IR"
    """Colder class: STANDARD_IA (at least 30 days), GLACIER_IR, GLACIER or DEEP_ARCHIVE."""
    expire_days: int | None = None
    """Expire (delete) current log files this many days after they are written; None: keep
    them (the default). CIS asks for at least 365."""
    noncurrent_expire_days: int | None = None
    """Remove overwritten or deleted versions this many days after they stopped being
    current; None: keep them (the default)."""
    object_lock: ObjectLockAnswers | None = None
    """Object Lock default retention; only for a bucket the wizard creates."""

    @field_validator("expire_days", "noncurrent_expire_days")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(
                f"{value} days: an expiry must be at least 1 day; to keep log files, leave it "
                "out (null)."
            )
        return value

    @model_validator(mode="after")
    def _transition(self) -> RetentionAnswers:
        days = self.transition_days
        if days is None:
            return self
        least = LIFECYCLE_MIN_TRANSITION_DAYS[self.storage_class]
        if days < least:
            raise ValueError(
                f"bucket.retention.transition_days is {days}; S3 moves objects to "
                f"{self.storage_class} no sooner than {least} days after they are written. Write "
                f"{least} or more, or choose GLACIER_IR, GLACIER or DEEP_ARCHIVE."
            )
        if self.expire_days is not None and self.expire_days <= days:
            raise ValueError(
                f"bucket.retention.expire_days ({self.expire_days}) must be later than "
                f"transition_days ({days}): S3 refuses a rule that expires log files before or "
                "when it moves them. Raise expire_days or lower transition_days."
            )
        return self

    @property
    def lifecycle(self) -> bool:
        """True when the answers ask for a lifecycle rule (a move or an expiry)."""
        return (
            self.transition_days is not None
            or self.expire_days is not None
            or self.noncurrent_expire_days is not None
        )


class BucketAnswers(AnswersModel):
    """Where the log files go."""

    name: BucketName
    """Bucket name."""
    create: bool = True
    """True: create a new bucket; false: use an existing one."""
    region: Region | None = None
    """Where a new bucket is created; None means the trail's region."""
    prefix: str = ""
    """Optional key prefix; leading and trailing '/' are removed."""
    update_policy: bool = True
    """Merge CloudTrail's statements into an existing bucket's policy when they are missing."""
    versioning: bool = True
    """Turn on versioning for a new bucket (keeps overwritten or deleted log files)."""
    account: str | None = None
    """Owner account of an existing bucket in another account (central logging)."""
    access_logs: AccessLogAnswers | None = None
    """Server access logging of the log bucket into a target bucket; None leaves it off."""
    retention: RetentionAnswers | None = None
    """Lifecycle (colder storage, expiry) and Object Lock of the log files; None: none."""

    @field_validator("prefix", mode="before")
    @classmethod
    def _prefix(cls, value: Any) -> Any:
        return _checked_prefix(value, normalise_prefix, check_prefix)

    @field_validator("account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_account_id(value)):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _new_bucket_region(self) -> BucketAnswers:
        if not self.create and self.region is not None:
            raise ValueError(
                "bucket.region is only for a new bucket (create: true); an existing bucket's "
                "region is read from AWS. Remove bucket.region."
            )
        if self.create and self.account is not None:
            raise ValueError(
                "bucket.account names the owner of an existing bucket; a new bucket is always "
                "created in this account. Remove bucket.account or set create: false."
            )
        self._check_retention()
        if self.access_logs is not None:
            if self.access_logs.bucket == self.name:
                raise ValueError(
                    f"bucket.access_logs.bucket is the log bucket {self.name} itself: every "
                    "access log S3 writes there would be logged again, without end. Name "
                    f"another bucket, for example {suggested_access_log_bucket(self.name)}."
                )
            if self.account is not None:
                raise ValueError(
                    "bucket.access_logs turns on server access logging of the log bucket, which "
                    "only its owner can do; the log bucket is in account "
                    f"{self.account}. Remove bucket.access_logs and ask that account's owner."
                )
        return self

    def _check_retention(self) -> None:
        retention = self.retention
        if retention is None:
            return
        if retention.lifecycle and self.account is not None:
            raise ValueError(
                "bucket.retention sets the lifecycle of a bucket in account "
                f"{self.account}; only its owner can. Remove bucket.retention and set the "
                "lifecycle in that account."
            )
        if retention.object_lock is None:
            return
        if not self.create:
            raise ValueError(
                "bucket.retention.object_lock is only for a new bucket (create: true): the "
                "wizard turns Object Lock on when it creates the bucket, never on a bucket in "
                "use. S3 can turn it on for an existing versioned bucket, but never off again, "
                "and it then holds every writer's new objects, so that is the bucket owner's "
                "decision (aws s3api put-object-lock-configuration). Remove "
                "bucket.retention.object_lock, or let the wizard create the bucket."
            )
        if not self.versioning:
            raise ValueError(
                "bucket.retention.object_lock needs versioning: S3 turns it on with Object Lock "
                "and it cannot be suspended. Set bucket.versioning to true."
            )


class EncryptionAnswers(AnswersModel):
    """How log files are encrypted at rest."""

    type: Literal["sse-s3", "sse-kms"] = "sse-kms"
    """sse-s3 (AES-256, keys managed by S3) or sse-kms (a KMS key you control)."""
    key: str | None = None
    """sse-kms only: "new", or an existing key id, key ARN, alias/NAME or alias ARN."""
    alias: str | None = None
    """For a new key: its alias (alias/NAME)."""
    decrypt_principals: list[PrincipalArn] = Field(default_factory=list)
    """IAM principals allowed to decrypt log files; empty: principals of this account."""
    update_key_policy: bool = True
    """Merge CloudTrail's statements into an existing key's policy when they are missing."""
    rotation: bool = True
    """Turn on yearly rotation for a new key (CIS 4.6)."""

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is None or value == "new":
            return value
        ref = classify_key_ref(value)
        if isinstance(ref, str):
            raise ValueError(ref)
        return value

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_alias_name(value)):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _combinations(self) -> EncryptionAnswers:
        if self.type == "sse-s3":
            given = [
                name
                for name, value in (
                    ("key", self.key),
                    ("alias", self.alias),
                    ("decrypt_principals", self.decrypt_principals),
                )
                if value
            ]
            if given:
                raise ValueError(
                    f"encryption.{given[0]} is only used with type: sse-kms. Either set "
                    f"encryption.type to sse-kms or remove encryption.{given[0]}."
                )
        elif self.key not in (None, "new") and self.alias is not None:
            raise ValueError(
                "encryption.alias names a new key, but encryption.key points at an existing key. "
                "Remove encryption.alias, or set encryption.key to new."
            )
        elif self.key not in (None, "new") and self.decrypt_principals:
            # Only a new key's policy is written whole; an existing key only gets CloudTrail's
            # statements merged in, so the readers would be silently ignored.
            raise ValueError(
                "encryption.decrypt_principals is written into a new key's policy, but "
                "encryption.key points at an existing key, whose readers are granted in its own "
                "key policy. Remove encryption.decrypt_principals, or set encryption.key to new."
            )
        return self

    @property
    def new_key(self) -> bool:
        """True when a new KMS key is to be created."""
        return self.type == "sse-kms" and self.key in (None, "new")

    @property
    def existing_key(self) -> str | None:
        """The existing key reference, when one is used."""
        if self.type == "sse-kms" and self.key not in (None, "new"):
            return self.key
        return None


class NotificationAnswers(AnswersModel):
    """SNS notification for each log file delivered."""

    sns_topic: str | None = None
    """A new topic's name, or an existing topic's ARN."""

    @field_validator("sns_topic")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("arn:"):
            problem = check_arn(value, service="sns", what="SNS topic")
            arn = parse_arn(value)
            if problem is None and arn is not None:
                if not (arn.region and arn.account):
                    problem = (
                        f"'{value}' is not an SNS topic ARN: it needs a region and an account "
                        "(arn:aws:sns:us-east-1:123456789012:NAME)."
                    )
                else:
                    problem = check_topic_name(arn.resource)
        else:
            problem = check_topic_name(value)
        if problem:
            raise ValueError(problem)
        return value

    @property
    def topic_is_arn(self) -> bool:
        """True when the topic is an existing topic given by ARN."""
        return bool(self.sns_topic and self.sns_topic.startswith("arn:"))

    @property
    def topic_name(self) -> str | None:
        """The topic's name, from the name or the last ARN field."""
        if not self.sns_topic:
            return None
        arn = parse_arn(self.sns_topic)
        return arn.resource if arn else self.sns_topic


class CloudWatchLogsAnswers(AnswersModel):
    """Delivery of events to CloudWatch Logs."""

    log_group: str | None = None
    """Log group name; created when missing."""
    role: str | None = None
    """Role name (created) or role ARN (existing); default: a new role named after the trail."""
    retention_days: int = 365
    """Retention of a new log group, in days (CKV_AWS_338 wants at least 365)."""

    @field_validator("log_group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("arn:"):
            raise ValueError(
                "cloudwatch_logs.log_group takes the log group's name, not its ARN "
                "(for example aws-cloudtrail-logs-acme)."
            )
        if problem := check_log_group_name(value):
            raise ValueError(problem)
        return value

    @field_validator("role")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("arn:"):
            problem = check_arn(value, service="iam", what="IAM role")
            arn = parse_arn(value)
            if problem is None and arn is not None and not arn.resource.startswith("role/"):
                problem = f"'{value}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
            if problem is None:
                problem = check_principal_arn(value)
        else:
            problem = check_role_name(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in RETENTION_DAYS:
            allowed = ", ".join(str(d) for d in RETENTION_DAYS)
            raise ValueError(
                f"{value} days is not a retention CloudWatch Logs accepts; choose one of {allowed}."
            )
        return value

    @model_validator(mode="after")
    def _role_needs_group(self) -> CloudWatchLogsAnswers:
        if self.role is not None and self.log_group is None:
            raise ValueError(
                "cloudwatch_logs.role is set but cloudwatch_logs.log_group is not; name the log "
                "group too, or remove the role."
            )
        return self

    @property
    def enabled(self) -> bool:
        """True when events go to CloudWatch Logs."""
        return self.log_group is not None

    @property
    def role_is_arn(self) -> bool:
        """True when an existing role is given by ARN."""
        return bool(self.role and self.role.startswith("arn:"))


_TYPE_SHAPE = re.compile(r"^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$")
_SOURCE_SHAPE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$")
_WILDCARD = "*"

ConditionOperator = Literal[
    "Equals", "NotEquals", "StartsWith", "NotStartsWith", "EndsWith", "NotEndsWith"
]
InsightType = Literal["ApiCallRateInsight", "ApiErrorRateInsight"]
AggregationTemplate = Literal["API_ACTIVITY", "RESOURCE_ACCESS", "USER_ACTIONS"]


def value_problem(value: str, *, where: str) -> str | None:
    """What is wrong with one value of an advanced event selector, or None.

    Args:
        value: The value.
        where: How to name it in the message (``events.data[0] resources``).
    """
    if not value:
        return f"{where} has an empty value; each value needs 1 to {VALUE_LENGTH_MAX:,} characters."
    if len(value) > VALUE_LENGTH_MAX:
        return (
            f"{where} has a value of {len(value):,} characters; CloudTrail takes at most "
            f"{VALUE_LENGTH_MAX:,}."
        )
    if _WILDCARD in value:
        return (
            f"{where}: '{value}' has a '*', but event selectors have no wildcards (CloudTrail "
            "would match the '*' literally). Match the start or the end instead: StartsWith or "
            "NotStartsWith for a prefix (an S3 bucket is arn:aws:s3:::BUCKET/), EndsWith or "
            "NotEndsWith for a suffix."
        )
    return None


def _selector_name(value: str | None) -> str | None:
    if value is not None and len(value) > SELECTOR_NAME_MAX:
        raise ValueError(
            f"the name has {len(value):,} characters; CloudTrail takes at most "
            f"{SELECTOR_NAME_MAX:,}."
        )
    return value


class FieldCondition(AnswersModel):
    """One more condition of a data event selector: a field, an operator and its values."""

    field: str
    """eventName, resources.ARN, eventSource, eventType, userIdentity.arn or
    sessionCredentialFromConsole (readOnly is set by read_write)."""
    operator: ConditionOperator
    """Equals, NotEquals, StartsWith, NotStartsWith, EndsWith or NotEndsWith."""
    values: list[str]
    """The values (any one matches); no wildcards."""

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        if value in ("readOnly", "eventCategory", "resources.type"):
            own = {
                "readOnly": "read_write (all, read or write)",
                "eventCategory": "the list it is in (events.data or events.network)",
                "resources.type": "type",
            }[value]
            raise ValueError(f"{value} is set by the item's {own}, not by a condition.")
        if value not in DATA_FIELDS_BY_NAME:
            fields = ", ".join(DATA_FIELDS_BY_NAME)
            raise ValueError(
                f"'{value}' is not a field data event selectors can filter on; use one of {fields}."
            )
        return value

    @model_validator(mode="after")
    def _operator_and_values(self) -> FieldCondition:
        rule = DATA_FIELDS_BY_NAME[self.field]
        if self.operator not in rule.operators:
            raise ValueError(
                f"{self.field} takes only {' or '.join(rule.operators)}, not {self.operator}."
            )
        if not self.values:
            raise ValueError(f"the {self.field} condition has no values; give at least one.")
        for value in self.values:
            problem = value_problem(value, where=f"the {self.field} condition")
            if problem:
                raise ValueError(problem)
            if rule.values and value not in rule.values:
                raise ValueError(
                    f"{self.field} takes only the value {' or '.join(rule.values)}, not "
                    f"'{value}' (use NotEquals true to leave console sessions out)."
                )
        return self


class DataEventAnswers(AnswersModel):
    """One data event selector: a resource type, which resources, and optional conditions."""

    type: str
    """s3, lambda, dynamodb, s3express, or any resources.type AWS documents
    (AWS::SNS::Topic)."""
    resources: Literal["all"] | list[str] = "all"
    """"all", or ARN prefixes (StartsWith): arn:aws:s3:::bucket/ or arn:aws:s3:::bucket/path/."""
    read_write: Literal["all", "read", "write"] = "all"
    """Read events, write events, or both."""
    conditions: list[FieldCondition] = Field(default_factory=list)
    """More conditions on eventName, resources.ARN, eventSource, eventType, userIdentity.arn
    or sessionCredentialFromConsole; all must hold."""
    name: str | None = None
    """The selector's name (default: one that says what it records)."""

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value in DATA_TYPE_ALIASES or _TYPE_SHAPE.match(value):
            return value
        short = ", ".join(DATA_TYPE_ALIASES)
        raise ValueError(
            f"'{value}' is not a data event type: use {short}, or a resources.type such as "
            "AWS::SNS::Topic (the events step's table lists every type AWS documents)."
        )

    @field_validator("resources")
    @classmethod
    def _resources(cls, value: Literal["all"] | list[str]) -> Literal["all"] | list[str]:
        if isinstance(value, list):
            if not value:
                raise ValueError('resources is empty; use "all" or list ARN prefixes.')
            for item in value:
                problem = value_problem(item, where="resources")
                if problem:
                    raise ValueError(problem)
                if parse_arn(item) is None:
                    raise ValueError(
                        f"'{item}' is not an ARN; data-event resources are ARN prefixes such as "
                        "arn:aws:s3:::my-bucket/ or "
                        "arn:aws:lambda:us-east-1:123456789012:function:f."
                    )
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return _selector_name(value)

    @property
    def resource_type(self) -> str:
        """The resources.type value (AWS::S3::Object for s3)."""
        return resource_type(self.type)


class NetworkEventAnswers(AnswersModel):
    """Network activity events of one service: calls made through VPC endpoints."""

    source: str
    """The service's event source, such as s3.amazonaws.com or kms.amazonaws.com."""
    denied_only: bool = False
    """Only calls a VPC endpoint policy denied (errorCode VpceAccessDenied)."""
    name: str | None = None
    """The selector's name (default: one that says what it records)."""

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if not _SOURCE_SHAPE.match(value):
            raise ValueError(
                f"'{value}' is not an event source: network activity events are chosen by the "
                "service's event source, such as s3.amazonaws.com or kms.amazonaws.com."
            )
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return _selector_name(value)


class EventsAnswers(AnswersModel):
    """Which events the trail records."""

    management: Literal["all", "read", "write", "none"] = "all"
    """Management events: all, read-only, write-only or none."""
    exclude_sources: list[Literal["kms.amazonaws.com", "rdsdata.amazonaws.com"]] = Field(
        default_factory=list
    )
    """High-volume management event sources to leave out (AWS Config's
    multi-region-cloudtrail-enabled rule and CloudTrail.1 then fail)."""
    data: list[DataEventAnswers] = Field(default_factory=list)
    """Data event selectors (charged per event)."""
    network: list[NetworkEventAnswers] = Field(default_factory=list)
    """Network activity events, one item per event source (charged per event)."""
    insights: list[InsightType] = Field(default_factory=list)
    """CloudTrail Insights on management events (charged per event analysed)."""
    data_insights: list[InsightType] = Field(default_factory=list)
    """CloudTrail Insights on data events (charged per event analysed)."""
    aggregation: list[AggregationTemplate] = Field(default_factory=list)
    """5-minute summaries of the data events: API_ACTIVITY, RESOURCE_ACCESS, USER_ACTIONS."""

    @model_validator(mode="after")
    def _something_recorded(self) -> EventsAnswers:
        if self.management == "none" and not self.data and not self.network:
            raise ValueError(
                "events.management is none and events.data and events.network are empty, so "
                "the trail would record nothing. Record management events (all) or add data "
                "or network activity events."
            )
        if self.management == "none" and self.exclude_sources:
            raise ValueError("events.exclude_sources only applies when management events are on.")
        if "ApiCallRateInsight" in self.insights and self.management not in ("all", "write"):
            raise ValueError(
                "CloudTrail Insights on the API call rate analyses write management events: set "
                "events.management to all or write, or remove ApiCallRateInsight from "
                "events.insights."
            )
        if self.insights and self.management == "none":
            raise ValueError(
                "CloudTrail Insights on management events need management events: set "
                "events.management to all, or remove events.insights."
            )
        if self.data_insights and not self.data:
            raise ValueError(
                "events.data_insights analyse the trail's data events, but events.data is "
                "empty: add data events, or remove events.data_insights."
            )
        if self.aggregation and not self.data:
            raise ValueError(
                "events.aggregation summarises the trail's data events, but events.data is "
                "empty: add data events, or remove events.aggregation."
            )
        sources = [n.source for n in self.network]
        repeated = sorted({s for s in sources if sources.count(s) > 1})
        if repeated:
            raise ValueError(
                f"events.network names {', '.join(repeated)} more than once; list each event "
                "source once (denied_only: true records only its VPC endpoint denials)."
            )
        for name, values in (
            ("insights", self.insights),
            ("data_insights", self.data_insights),
            ("aggregation", self.aggregation),
        ):
            if len(set(values)) != len(values):
                raise ValueError(f"events.{name} repeats a value.")
        return self


MAX_STORAGE_MONTHS = 120
"""The longest time the cost preview prices log files kept in the bucket for (ten years)."""


class CostAnswers(AnswersModel):
    """How many events the cost preview prices, when you know better than its estimate."""

    management_events_per_day: int | None = None
    """Management events a day, read and write together, in every region the trail records
    (this account's); None: measured from the account's recent activity, or a stated
    default."""
    read_only_percent: int | None = None
    """The share of those management events that are read-only (0-100); None: measured with
    the activity, else 90 (AWS's own examples)."""
    data_events_per_day: int | None = None
    """Data events a day, every data-event selector together; None: a stated default per
    selector."""
    network_activity_events_per_day: int | None = None
    """Network activity events a day, every event source together; None: a stated default
    per event source."""
    storage_months: int = 12
    """Months of log files the bucket holds in the month priced, unless
    bucket.retention.expire_days removes them sooner (without an expiry, storage grows each
    month)."""

    @field_validator(
        "management_events_per_day", "data_events_per_day", "network_activity_events_per_day"
    )
    @classmethod
    def _per_day(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError(
                f"{value} events a day cannot be: give a count of 0 or more, or leave the field "
                "out to have the wizard estimate it."
            )
        return value

    @field_validator("read_only_percent")
    @classmethod
    def _percent(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 100:
            raise ValueError(
                f"{value} is not a percentage: give a whole number from 0 to 100 (90 means nine "
                "in ten management events are read-only)."
            )
        return value

    @field_validator("storage_months")
    @classmethod
    def _months(cls, value: int) -> int:
        if not 1 <= value <= MAX_STORAGE_MONTHS:
            raise ValueError(
                f"{value} months cannot be priced: give 1 to {MAX_STORAGE_MONTHS} (12 prices the "
                "bucket after a year of log files)."
            )
        return value


class OrganizationAnswers(AnswersModel):
    """What the wizard sets up in the organization itself (from its management account)."""

    delegated_admin: str | None = None
    """A member account to register as CloudTrail's delegated administrator
    (RegisterOrganizationDelegatedAdmin, run from the management account); that account can
    then create and manage the organization trail, whose ARN stays in the management
    account. None: register nobody."""

    @field_validator("delegated_admin")
    @classmethod
    def _delegated_admin(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_account_id(value)):
            raise ValueError(problem)
        return value


class Answers(AnswersModel):
    """A whole answers file."""

    trail: TrailAnswers
    """Trail basics."""
    bucket: BucketAnswers
    """Log bucket."""
    encryption: EncryptionAnswers = Field(default_factory=EncryptionAnswers)
    """Encryption at rest."""
    notifications: NotificationAnswers = Field(default_factory=NotificationAnswers)
    """SNS notifications."""
    cloudwatch_logs: CloudWatchLogsAnswers = Field(default_factory=CloudWatchLogsAnswers)
    """CloudWatch Logs delivery."""
    events: EventsAnswers = Field(default_factory=EventsAnswers)
    """Event selection."""
    cost: CostAnswers = Field(default_factory=CostAnswers)
    """Event volumes for the cost preview (it estimates them when left out)."""
    organization: OrganizationAnswers = Field(default_factory=OrganizationAnswers)
    """The organization: CloudTrail's delegated administrator to register."""

    def home_region(self, default: str) -> str:
        """The trail's home region, falling back to ``default`` (the session's)."""
        return self.trail.region or default

    def bucket_region(self, default: str) -> str | None:
        """Region of a new bucket (None for an existing bucket: discovery reads it)."""
        if not self.bucket.create:
            return None
        return self.bucket.region or self.home_region(default)
