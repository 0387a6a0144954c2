"""Facts about the account the wizard runs in, and the names derived from them."""

from __future__ import annotations

from pydantic import field_validator

from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.names import check_account_id, check_organization_id
from wizard.model.regions import check_region, partition_ids, partition_of


class AccountContext(WizardModel):
    """Who runs the wizard, where; offline, the values come from the command line."""

    account_id: str
    """The caller's 12-digit account id."""
    partition: str = "aws"
    """ARN partition (aws, aws-cn, aws-us-gov, ...)."""
    region: str = "us-east-1"
    """The session's region: the default home region of the trail."""
    organization_id: str | None = None
    """The organization id, for organization trails."""
    management_account_id: str | None = None
    """The organization's management account (owner of organization trails)."""
    caller_arn: str | None = None
    """The caller's ARN, when known."""

    @field_validator("account_id", "management_account_id")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_account_id(value)):
            raise ValueError(problem)
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if problem := check_region(value):
            raise ValueError(problem)
        return value

    @field_validator("organization_id")
    @classmethod
    def _org(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_organization_id(value)):
            raise ValueError(problem)
        return value

    @field_validator("partition")
    @classmethod
    def _partition(cls, value: str) -> str:
        if value not in partition_ids():
            raise ValueError(
                f"unknown partition '{value}'; use one of {', '.join(partition_ids())}"
            )
        return value


class Names:
    """Every ARN and name the wizard derives from answers plus account context.

    One place computes them so the bucket policy, the key policy, the trail call and the
    preflight checks always agree on the exact strings.
    """

    def __init__(self, answers: Answers, ctx: AccountContext) -> None:
        self.answers = answers
        self.ctx = ctx
        self.partition = ctx.partition
        self.account = ctx.account_id
        self.home_region = answers.home_region(ctx.region)
        p = partition_of(self.home_region)
        if p is not None and p.id != ctx.partition:
            self.partition = p.id
        owner = ctx.management_account_id if answers.trail.organization else None
        self.trail_owner = owner or ctx.account_id
        """Account that owns the trail ARN (the management account for organization trails)."""

    @property
    def trail_arn(self) -> str:
        """The trail's ARN, known before CreateTrail."""
        return (
            f"arn:{self.partition}:cloudtrail:{self.home_region}:{self.trail_owner}:"
            f"trail/{self.answers.trail.name}"
        )

    @property
    def bucket_arn(self) -> str:
        """ARN of the log bucket."""
        return f"arn:{self.partition}:s3:::{self.answers.bucket.name}"

    @property
    def prefix_path(self) -> str:
        """``prefix/`` or empty: what goes between the bucket and ``AWSLogs/``."""
        prefix = self.answers.bucket.prefix
        return f"{prefix}/" if prefix else ""

    def logs_object_arn(self, owner: str) -> str:
        """ARN pattern of the log objects written under ``AWSLogs/<owner>/``."""
        return f"{self.bucket_arn}/{self.prefix_path}AWSLogs/{owner}/*"

    def log_object_path(self) -> str:
        """Where log files appear, for people: bucket/prefix/AWSLogs/acct/CloudTrail/region/..."""
        org = self.ctx.organization_id if self.answers.trail.organization else None
        org_level = f"{org}/" if org else ""
        return (
            f"s3://{self.answers.bucket.name}/{self.prefix_path}AWSLogs/{org_level}{self.account}/"
            f"CloudTrail/{self.home_region}/YYYY/MM/DD/"
        )

    def bucket_region(self, discovered: str | None = None) -> str:
        """Region of the bucket: the new bucket's region or what discovery found."""
        return self.answers.bucket_region(self.ctx.region) or discovered or self.home_region

    @property
    def encryption_context_pattern(self) -> str:
        """The ``kms:EncryptionContext:aws:cloudtrail:arn`` pattern for this account's trails."""
        return f"arn:{self.partition}:cloudtrail:*:{self.trail_owner}:trail/*"

    @property
    def topic_arn(self) -> str | None:
        """ARN of the SNS topic (given, or derived for a new one in the home region)."""
        n = self.answers.notifications
        if n.sns_topic is None:
            return None
        if n.topic_is_arn:
            return n.sns_topic
        return f"arn:{self.partition}:sns:{self.home_region}:{self.account}:{n.sns_topic}"

    @property
    def log_group_arn(self) -> str | None:
        """The log group ARN CloudTrail wants (ending in ``:*``)."""
        group = self.answers.cloudwatch_logs.log_group
        if group is None:
            return None
        return f"arn:{self.partition}:logs:{self.home_region}:{self.account}:log-group:{group}:*"

    @property
    def role_name(self) -> str | None:
        """Name of the CloudWatch Logs delivery role (given or generated)."""
        cw = self.answers.cloudwatch_logs
        if not cw.enabled:
            return None
        if cw.role is None:
            return f"CloudTrailToCloudWatchLogs-{self.answers.trail.name}"[:64]
        if cw.role_is_arn:
            return cw.role.rsplit("/", 1)[-1]
        return cw.role

    @property
    def role_arn(self) -> str | None:
        """ARN of the CloudWatch Logs delivery role."""
        cw = self.answers.cloudwatch_logs
        if not cw.enabled:
            return None
        if cw.role_is_arn:
            return cw.role
        return f"arn:{self.partition}:iam::{self.account}:role/{self.role_name}"

    def key_alias(self) -> str:
        """Alias of a new key (given, or ``alias/cloudtrail-<trail>``)."""
        return self.answers.encryption.alias or f"alias/cloudtrail-{self.answers.trail.name}"
