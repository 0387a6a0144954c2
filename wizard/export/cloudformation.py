"""CloudFormation export: the answers as one self-contained, commented template (pure).

:func:`cloudformation_template` turns an answers file into YAML a person can review and deploy
with ``aws cloudformation deploy`` or roll out to many accounts with StackSets: every name is a
parameter (defaults from the answers), every ARN is built with ``!Sub`` from the stack's
partition, region and account, and the policies are the ones :mod:`wizard.policy.policies` writes.

What differs from ``apply``, on purpose:

* Only what the answers ask for is in the template. An *existing* bucket, key, topic or role
  is referenced by a parameter; CloudFormation cannot merge statements into a policy it does
  not own, so the statements CloudTrail needs are printed as a comment block to merge by hand
  (the same statements the wizard would merge).
* Server access logging of the log bucket (CIS 4.4, CKV_AWS_18) is one parameter away
  (``AccessLogBucket``). The SNS topic and the CloudWatch Logs group are encrypted exactly
  when apply encrypts them: with the trail's new key, when it is in their region
  (:func:`wizard.policy.policies.encrypts_topic`, CKV_AWS_26;
  :func:`wizard.policy.policies.encrypts_log_group`, CKV_AWS_158), and the key policy then
  carries AWS's statement for each.
* Resources holding log data or their key are kept when the stack is deleted
  (``DeletionPolicy: Retain``): deleting audit logs or scheduling their key for deletion must
  never be a side effect of removing a stack.
* Where a check fails because of a choice in the answers (SSE-S3, single region, no CloudWatch
  Logs, ...), a comment next to the resource says which check and why.

No AWS call happens here, and the same answers always give the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from wizard import __version__
from wizard.export.text import wrap_prose
from wizard.model.answers import RETENTION_DAYS, AccessLogAnswers, Answers
from wizard.model.context import AccountContext, Names
from wizard.plan.planner.logs import ROLE_POLICY_NAME
from wizard.plan.selectors import (
    advanced_event_selectors,
    aggregation_configurations,
    event_selection,
    insight_selectors,
    log_bucket_prefixes,
)
from wizard.policy.lifecycle import describe_rule, retention_problems, retention_rule, rule_id
from wizard.policy.policies import (
    CLOUDTRAIL,
    S3_LOGGING,
    VERSION,
    cloudwatch_role_trust_policy,
    encrypts_log_group,
    encrypts_topic,
    key_logs_statement,
    key_topic_statement,
    log_group_left_unencrypted,
)

# --------------------------------------------------------------------------- intrinsics


@dataclass(frozen=True)
class Intrinsic:
    """A CloudFormation intrinsic function, written with its short YAML tag (``!Sub``)."""

    tag: str
    """The YAML tag: ``!Ref``, ``!Sub``, ``!GetAtt``, ``!If``, ``!Equals``, ``!Not``."""
    value: Any
    """The tag's argument: a string, or a list for the functions that take several."""

    def placeholder(self) -> str:
        """How the value reads in a comment block: ``${Name}`` for a reference."""
        if self.tag == "!Sub":
            return str(self.value)
        if self.tag in ("!Ref", "!GetAtt"):
            return "${" + str(self.value) + "}"
        return f"{self.tag} {self.value}"


def ref(name: str) -> Intrinsic:
    """``!Ref name``: a parameter's value or a resource's primary id."""
    return Intrinsic("!Ref", name)


def sub(text: str) -> Intrinsic:
    """``!Sub text``: ``${Name}`` and ``${AWS::AccountId}`` are replaced when deployed."""
    return Intrinsic("!Sub", text)


def get_att(resource: str, attribute: str) -> Intrinsic:
    """``!GetAtt resource.attribute``."""
    return Intrinsic("!GetAtt", f"{resource}.{attribute}")


def if_(condition: str, when_true: Any, when_false: Any) -> Intrinsic:
    """``!If [condition, when_true, when_false]``."""
    return Intrinsic("!If", [condition, when_true, when_false])


def equals(left: Any, right: Any) -> Intrinsic:
    """``!Equals [left, right]``."""
    return Intrinsic("!Equals", [left, right])


def not_(condition: Any) -> Intrinsic:
    """``!Not [condition]``."""
    return Intrinsic("!Not", [condition])


NO_VALUE = ref("AWS::NoValue")
"""Leaves a property out (in one branch of ``!If``)."""

PARTITION = "${AWS::Partition}"
ACCOUNT = "${AWS::AccountId}"
REGION = "${AWS::Region}"
TRAIL_ARN = f"arn:{PARTITION}:cloudtrail:{REGION}:{ACCOUNT}:trail/${{TrailName}}"
"""The trail's ARN, known before the trail exists (its home region is the stack's)."""
ACCOUNT_ROOT = f"arn:{PARTITION}:iam::{ACCOUNT}:root"
CONTEXT_PATTERN = f"arn:{PARTITION}:cloudtrail:*:{ACCOUNT}:trail/*"
"""``kms:EncryptionContext:aws:cloudtrail:arn`` of this account's trails."""

# Logical ids.
BUCKET = "LogBucket"
BUCKET_POLICY = "LogBucketPolicy"
ACCESS_LOG_BUCKET = "ServerAccessLogBucket"
ACCESS_LOG_BUCKET_POLICY = "ServerAccessLogBucketPolicy"
KEY = "TrailKey"
KEY_ALIAS = "TrailKeyAlias"
TOPIC = "NotificationTopic"
TOPIC_POLICY = "NotificationTopicPolicy"
LOG_GROUP = "TrailLogGroup"
ROLE = "CloudWatchLogsRole"
ROLE_POLICY = "CloudWatchLogsRolePolicy"
TRAIL = "Trail"

# Parameter patterns (what AWS accepts; the wizard's own checks are stricter).
_TRAIL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$"
_BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_PREFIX_PATTERN = r"^[^/](.{0,198}[^/])?$"
_ALIAS_PATTERN = r"^alias/[a-zA-Z0-9:/_-]+$"
_LOG_GROUP_PATTERN = r"^[A-Za-z0-9_./#-]{1,512}$"
_TOPIC_PATTERN = r"^[A-Za-z0-9_-]{1,256}$"
_ROLE_PATTERN = r"^[A-Za-z0-9+=,.@_-]{1,64}$"
_ORG_PATTERN = r"^o-[a-z0-9]{10,32}$"


# --------------------------------------------------------------------------- YAML output


_TAGS = frozenset({"!Ref", "!Sub", "!GetAtt", "!If", "!Equals", "!Not"})


class _Dumper(yaml.SafeDumper):
    """Block-style YAML with indented lists, CloudFormation's short tags and no anchors."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def choose_scalar_style(self) -> str:
        # PyYAML quotes every tagged scalar; CloudFormation's short tags read better plain
        # (``!Ref BucketName``) wherever a plain scalar means the same text.
        style: str = super().choose_scalar_style()
        event = self.event
        if style == "'" and isinstance(event, yaml.ScalarEvent) and event.tag in _TAGS:
            analysis = self.analysis
            if analysis is None:
                analysis = self.analysis = self.analyze_scalar(event.value)
            plain_ok = analysis.allow_flow_plain if self.flow_level else analysis.allow_block_plain
            if plain_ok and not analysis.empty and not analysis.multiline:
                return ""
        return style


def _represent_intrinsic(dumper: yaml.SafeDumper, data: Intrinsic) -> yaml.Node:
    if isinstance(data.value, list):
        flat = all(not isinstance(v, (dict, list)) for v in data.value)
        return dumper.represent_sequence(data.tag, data.value, flow_style=flat)
    return dumper.represent_scalar(data.tag, str(data.value))


_Dumper.add_representer(Intrinsic, _represent_intrinsic)


def _dump(value: Any) -> str:
    text = yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
    )
    return str(text)


def _indent(text: str, spaces: int) -> list[str]:
    pad = " " * spaces
    return [pad + line if line else line for line in text.rstrip("\n").split("\n")]


def _comment(lines: Iterable[str], spaces: int = 0) -> list[str]:
    """Comment lines; prose is wrapped to 100 columns, indented lines (JSON) are kept."""
    pad = " " * spaces
    out: list[str] = []
    for line in lines:
        text = line.lstrip()
        if not text or text[0] in '[]{}"':
            out.append(f"{pad}# {line}".rstrip())
            continue
        lead = line[: len(line) - len(text)]
        out += [
            f"{pad}# {part}"
            for part in wrap_prose(
                text, 98 - spaces, initial_indent=lead, subsequent_indent=lead + "  " * bool(lead)
            )
        ]
    return out


def _plain(value: Any) -> Any:
    """A value with every intrinsic written as its ``${...}`` text (for comment blocks)."""
    if isinstance(value, Intrinsic):
        return value.placeholder()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json_block(document: Any) -> list[str]:
    return json.dumps(_plain(document), indent=2, ensure_ascii=False).split("\n")


# --------------------------------------------------------------------------- the builder


@dataclass
class _Entry:
    """A named template section entry, with the comment lines shown above it."""

    body: Any
    comments: list[str] = field(default_factory=list)


@dataclass
class _Check:
    """A scanner check: the ids, whether this template passes it, and why."""

    ids: str
    passes: bool | None
    """True passes, False fails by the answers' choice, None depends on a parameter."""
    reason: str


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _statement(
    sid: str,
    effect: str,
    principal: Any,
    action: str | list[str],
    resource: Any,
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        statement["Principal"] = principal
    statement["Action"] = action
    if resource is not None:
        statement["Resource"] = resource
    if condition:
        statement["Condition"] = condition
    return statement


def _block_all_public_access() -> dict[str, bool]:
    """``PublicAccessBlockConfiguration`` with all four settings on."""
    return {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def _bucket_owner_enforced() -> dict[str, Any]:
    """``OwnershipControls`` that disable ACLs: the bucket owner owns every object."""
    return {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def _service(name: Any) -> dict[str, Any]:
    return {"Service": name}


def _source_arn() -> dict[str, Any]:
    return {"aws:SourceArn": sub(TRAIL_ARN)}


class _Template:
    """Builds the template for one set of answers."""

    def __init__(
        self, answers: Answers, ctx: AccountContext, *, central: str | None = None
    ) -> None:
        self.answers = answers
        self.ctx = ctx
        self.central = central
        """For a StackSet's member template: what the central bucket and key policies need
        is said here, once (they are changed for the whole organization, not per account)."""
        self.names = Names(answers, ctx)
        self.parameters: dict[str, _Entry] = {}
        self.conditions: dict[str, Any] = {}
        self.resources: dict[str, _Entry] = {}
        self.outputs: dict[str, Any] = {}
        self.checks: list[_Check] = []
        self.before_deploy: list[str] = []
        self.trail_depends: list[str] = []
        self.tags = _tags(answers.trail.tags)
        enc = answers.encryption
        self.new_key = enc.new_key
        self.existing_key = enc.existing_key
        self.kms = enc.type == "sse-kms"
        cw = answers.cloudwatch_logs
        self.logs = cw.enabled
        self.new_role = cw.enabled and not cw.role_is_arn
        n = answers.notifications
        self.topic = n.sns_topic is not None
        self.new_topic = self.topic and not n.topic_is_arn
        # The rules apply and the CLI script follow too: a new topic or log group, a new key,
        # one region.
        self.encrypted_topic = encrypts_topic(self.names, self.names.bucket_region())
        self.encrypted_log_group = encrypts_log_group(self.names, self.names.bucket_region())

    # ------------------------------------------------------------------ values

    def key_value(self) -> Any:
        """What a resource's KMS key property gets (the new key's ARN or the parameter)."""
        return get_att(KEY, "Arn") if self.new_key else ref("KmsKeyId")

    def bucket_arn(self) -> Any:
        return get_att(BUCKET, "Arn") if self.answers.bucket.create else self.bucket_arn_text()

    def bucket_arn_text(self) -> Intrinsic:
        if self.answers.bucket.create:
            return sub("${LogBucket.Arn}")
        return sub(f"arn:{PARTITION}:s3:::${{BucketName}}")

    def objects_arn(self, owner: str) -> Intrinsic:
        if self.answers.bucket.create:
            base = "${LogBucket.Arn}"
        else:
            base = f"arn:{PARTITION}:s3:::${{BucketName}}"
        prefix = "${LogPrefix}/" if self.answers.bucket.prefix else ""
        return sub(f"{base}/{prefix}AWSLogs/{owner}/*")

    def topic_arn_text(self) -> Intrinsic:
        if self.new_topic:
            return sub(f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:${{TopicName}}")
        return ref("SnsTopicArn")

    def log_group_arn_text(self) -> Intrinsic:
        return sub(f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:${{LogGroupName}}")

    # ------------------------------------------------------------------ policies

    def bucket_statements(self) -> list[dict[str, Any]]:
        """CloudTrail's statements on the log bucket (as :mod:`wizard.policy.policies` writes
        them)."""
        write_condition = {
            "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **_source_arn()}
        }
        statements = [
            _statement(
                "AWSCloudTrailAclCheck",
                "Allow",
                _service(CLOUDTRAIL),
                "s3:GetBucketAcl",
                self.bucket_arn(),
                {"StringEquals": _source_arn()},
            ),
            _statement(
                "AWSCloudTrailWrite",
                "Allow",
                _service(CLOUDTRAIL),
                "s3:PutObject",
                self.objects_arn(ACCOUNT),
                write_condition,
            ),
        ]
        if self.answers.trail.organization:
            statements.append(
                _statement(
                    "AWSCloudTrailOrganizationWrite",
                    "Allow",
                    _service(CLOUDTRAIL),
                    "s3:PutObject",
                    self.objects_arn("${OrganizationId}"),
                    write_condition,
                )
            )
        return statements

    def tls_only_statement(self) -> dict[str, Any]:
        return _statement(
            "DenyInsecureTransport",
            "Deny",
            "*",
            "s3:*",
            [get_att(BUCKET, "Arn"), sub("${LogBucket.Arn}/*")],
            {"Bool": {"aws:SecureTransport": "false"}},
        )

    def key_cloudtrail_statements(self) -> list[dict[str, Any]]:
        """CloudTrail's statements in the key policy (encrypt pinned to this trail, describe)."""
        return [
            _statement(
                "AllowCloudTrailEncryptLogs",
                "Allow",
                _service(CLOUDTRAIL),
                "kms:GenerateDataKey*",
                "*",
                {
                    "StringEquals": _source_arn(),
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": sub(CONTEXT_PATTERN)
                    },
                },
            ),
            _statement(
                "AllowCloudTrailDescribeKey",
                "Allow",
                _service(CLOUDTRAIL),
                "kms:DescribeKey",
                "*",
                {"StringEquals": _source_arn()},
            ),
        ]

    def key_topic_statement(self) -> dict[str, Any]:
        """Lets CloudTrail publish to the topic the key encrypts: AWS's statement, narrowed to
        the topic (:func:`wizard.policy.policies.key_topic_statement`)."""
        return key_topic_statement(self.topic_arn_text())

    def key_logs_statement(self) -> dict[str, Any]:
        """Lets CloudWatch Logs encrypt this one log group with the key: AWS's statement
        (:func:`wizard.policy.policies.key_logs_statement`)."""
        return key_logs_statement(
            sub("logs.${AWS::Region}.amazonaws.com"), self.log_group_arn_text()
        )

    def key_policy(self) -> dict[str, Any]:
        """The new key's whole policy: :func:`wizard.policy.policies.key_policy`, with the
        topic's and the log group's statements when it encrypts them."""
        statements = [
            _statement(
                "EnableIAMUserPermissions",
                "Allow",
                {"AWS": sub(ACCOUNT_ROOT)},
                "kms:*",
                "*",
            ),
            *self.key_cloudtrail_statements(),
            self.key_readers_statement(),
        ]
        if self.encrypted_topic:
            statements.append(self.key_topic_statement())
        if self.encrypted_log_group:
            statements.append(self.key_logs_statement())
        return {"Version": VERSION, "Id": "cloudtrail-wizard-key-policy", "Statement": statements}

    def key_readers_statement(self) -> dict[str, Any]:
        """Who may decrypt log files: the named readers, or this account's principals."""
        readers = sorted(set(self.answers.encryption.decrypt_principals))
        context = {"kms:EncryptionContext:aws:cloudtrail:arn": sub(CONTEXT_PATTERN)}
        if readers:
            return _statement(
                "AllowLogReadersDecrypt",
                "Allow",
                {"AWS": readers[0] if len(readers) == 1 else readers},
                "kms:Decrypt",
                "*",
                {
                    "Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"},
                    "StringLike": context,
                },
            )
        return _statement(
            "AllowAccountPrincipalsDecryptLogs",
            "Allow",
            {"AWS": "*"},
            ["kms:Decrypt", "kms:ReEncryptFrom"],
            "*",
            {
                "StringEquals": {"kms:CallerAccount": ref("AWS::AccountId")},
                "StringLike": context,
            },
        )

    def topic_cloudtrail_statement(self) -> dict[str, Any]:
        return _statement(
            "AWSCloudTrailSNSPolicy",
            "Allow",
            _service(CLOUDTRAIL),
            "SNS:Publish",
            self.topic_arn_text() if not self.new_topic else ref(TOPIC),
            {"StringEquals": _source_arn()},
        )

    def role_trust_policy(self) -> dict[str, Any]:
        """:func:`wizard.policy.policies.cloudwatch_role_trust_policy`: AWS's, no condition."""
        return cloudwatch_role_trust_policy(self.names)

    def role_permissions_policy(self, group: str) -> dict[str, Any]:
        base = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{group}"
        streams: list[Any] = [sub(f"{base}:log-stream:{ACCOUNT}_CloudTrail_{REGION}*")]
        if self.answers.trail.organization:
            streams.append(sub(f"{base}:log-stream:${{OrganizationId}}_*"))
        resource: Any = streams[0] if len(streams) == 1 else streams
        return {
            "Version": VERSION,
            "Statement": [
                _statement(
                    "AWSCloudTrailCreateLogStream",
                    "Allow",
                    None,
                    "logs:CreateLogStream",
                    resource,
                ),
                _statement(
                    "AWSCloudTrailPutLogEvents", "Allow", None, "logs:PutLogEvents", resource
                ),
            ],
        }

    # ------------------------------------------------------------------ sections

    def parameter(self, name: str, body: dict[str, Any], *comments: str) -> None:
        self.parameters[name] = _Entry(body, list(comments))

    def resource(self, name: str, body: dict[str, Any], comments: Sequence[str] = ()) -> None:
        self.resources[name] = _Entry(body, list(comments))

    def merge_block(self, what: str, statements: list[dict[str, Any]]) -> None:
        self.before_deploy += [
            f"{what}: CloudFormation cannot merge into a policy it does not own, so add these "
            "statements to it yourself (keep every statement already there):",
            *_json_block(statements),
            "",
        ]

    def build(self) -> None:
        """Every section of the template: parameters, then one resource group after another."""
        if self.central is not None:
            self.before_deploy += [self.central, ""]
        self.build_parameters()
        self.build_key()
        self.build_bucket()
        self.build_topic()
        self.build_logs()
        self.build_trail()
        self.build_outputs()

    # ------------------------------------------------------------------ parameters

    def build_parameters(self) -> None:
        """The parameters, in the order a person deploying the stack reads them."""
        self.trail_parameters()
        self.bucket_parameters()
        self.organization_parameter()
        self.access_log_parameters()
        self.key_parameters()
        self.topic_parameters()
        self.logs_parameters()

    def trail_parameters(self) -> None:
        """``TrailName``."""
        self.parameter(
            "TrailName",
            {
                "Type": "String",
                "Default": self.answers.trail.name,
                "AllowedPattern": _TRAIL_PATTERN,
                "Description": "Name of the trail (3-128 letters, digits, '.', '_' or '-').",
            },
        )

    def bucket_parameters(self) -> None:
        """``BucketName`` and, with a prefix, ``LogPrefix``."""
        bucket = self.answers.bucket
        self.parameter(
            "BucketName",
            {
                "Type": "String",
                "Default": bucket.name,
                "AllowedPattern": _BUCKET_PATTERN,
                "Description": (
                    "Log bucket to create (names are global: give each account its own)."
                    if bucket.create
                    else "Existing log bucket (its policy must already allow this trail)."
                ),
            },
        )
        if bucket.prefix:
            self.parameter(
                "LogPrefix",
                {
                    "Type": "String",
                    "Default": bucket.prefix,
                    "AllowedPattern": _PREFIX_PATTERN,
                    "Description": "Key prefix of the log files (no leading or trailing '/').",
                },
            )

    def organization_parameter(self) -> None:
        """``OrganizationId`` for an organization trail (default: the account's organization)."""
        if not self.answers.trail.organization:
            return
        org: dict[str, Any] = {
            "Type": "String",
            "AllowedPattern": _ORG_PATTERN,
            "Description": "Organization id (o-...); member accounts' logs go under it.",
        }
        if self.ctx.organization_id:
            org = {"Type": "String", "Default": self.ctx.organization_id, **org}
        self.parameter("OrganizationId", org)

    def access_log_parameters(self) -> None:
        """The access log bucket and prefix, or the optional ``AccessLogBucket`` of a new bucket.

        An existing log bucket is not in the template, so neither is its access logging.
        """
        if not self.answers.bucket.create:
            return
        if self.answers.bucket.access_logs is not None:
            self.chosen_access_log_parameters()
        else:
            self.optional_access_log_parameter()

    def optional_access_log_parameter(self) -> None:
        """``AccessLogBucket``, empty by default (logging off), and its condition."""
        self.parameter(
            "AccessLogBucket",
            {
                "Type": "String",
                "Default": "",
                "AllowedPattern": r"^$|" + _BUCKET_PATTERN,
                "Description": (
                    "Bucket that receives S3 server access logs of the log bucket; empty "
                    "turns access logging off (fails CIS 4.4 / CKV_AWS_18)."
                ),
            },
            "Empty (the default) leaves server access logging of the log bucket off: that "
            "fails CIS 4.4 / CloudTrail.7 / CKV_AWS_18.",
            "Name an existing bucket in this region that accepts S3 server access logs to "
            "pass them.",
        )
        self.conditions["HasAccessLogBucket"] = not_(equals(ref("AccessLogBucket"), ""))

    def key_parameters(self) -> None:
        """``KeyAlias`` of a new key, or ``KmsKeyId`` of an existing one (none for SSE-S3)."""
        if self.new_key:
            self.parameter(
                "KeyAlias",
                {
                    "Type": "String",
                    "Default": self.names.key_alias(),
                    "AllowedPattern": _ALIAS_PATTERN,
                    "Description": "Alias of the new KMS key that encrypts the log files.",
                },
            )
        elif self.existing_key:
            self.existing_key_parameter(self.existing_key)

    def existing_key_parameter(self, existing_key: str) -> None:
        """``KmsKeyId``, defaulting to the answers' key (only the trail uses it: an existing
        key never encrypts the log group, :func:`wizard.policy.policies.encrypts_log_group`)."""
        self.parameter(
            "KmsKeyId",
            {
                "Type": "String",
                "Default": existing_key,
                "Description": (
                    "Existing KMS key (key ARN recommended; alias/NAME, alias ARN or key id "
                    "also work for the trail). Same region as the bucket; its policy must allow "
                    "this trail."
                ),
            },
        )

    def topic_parameters(self) -> None:
        """``TopicName`` of a new topic, or ``SnsTopicArn`` of an existing one."""
        notifications = self.answers.notifications
        if not self.topic:
            return
        if self.new_topic:
            self.parameter(
                "TopicName",
                {
                    "Type": "String",
                    "Default": notifications.topic_name or "",
                    "AllowedPattern": _TOPIC_PATTERN,
                    "Description": "SNS topic notified of every log file delivered.",
                },
            )
        else:
            self.parameter(
                "SnsTopicArn",
                {
                    "Type": "String",
                    "Default": notifications.sns_topic or "",
                    "Description": "Existing SNS topic (its policy must let the trail publish).",
                },
            )

    def logs_parameters(self) -> None:
        """The log group's name and retention, and the delivery role's name or ARN."""
        cw = self.answers.cloudwatch_logs
        if not self.logs:
            return
        self.parameter(
            "LogGroupName",
            {
                "Type": "String",
                "Default": cw.log_group or "",
                "AllowedPattern": _LOG_GROUP_PATTERN,
                "Description": "CloudWatch Logs group the trail delivers events to.",
            },
        )
        self.parameter(
            "RetentionInDays",
            {
                "Type": "Number",
                "Default": cw.retention_days,
                "AllowedValues": list(RETENTION_DAYS),
                "Description": "Days CloudWatch Logs keeps the events (CKV_AWS_338: >= 365).",
            },
        )
        if self.new_role:
            self.parameter(
                "CloudWatchLogsRoleName",
                {
                    "Type": "String",
                    "Default": self.names.role_name or "",
                    "AllowedPattern": _ROLE_PATTERN,
                    "Description": "IAM role CloudTrail assumes to write to the log group "
                    "(IAM is global: one per account).",
                },
            )
        else:
            self.parameter(
                "CloudWatchLogsRoleArn",
                {
                    "Type": "String",
                    "Default": cw.role or "",
                    "Description": "Existing role CloudTrail assumes to write to the log group.",
                },
            )

    # ------------------------------------------------------------------ the key

    def build_key(self) -> None:
        """The new key and its alias, or the statements to merge into an existing key."""
        if not self.kms:
            self.checks.append(
                _Check(
                    "CKV_AWS_35 / CIS 4.5 / CloudTrail.2",
                    False,
                    "SSE-S3 was chosen (encryption.type: sse-s3): the trail has no KMS key",
                )
            )
            return
        self.checks.append(
            _Check("CKV_AWS_35 / CIS 4.5 / CloudTrail.2", True, "the trail's KMS key encrypts")
        )
        if self.existing_key:
            self.existing_key_block(self.existing_key)
        else:
            self.new_key_resources()

    def existing_key_block(self, existing_key: str) -> None:
        """What the existing key's policy needs, to merge by hand before deploying."""
        if self.central is not None:
            return  # the central key's statements name the organization (see the top)
        self.merge_block(
            f"Key policy of the existing key {existing_key}", self.key_cloudtrail_statements()
        )

    def new_key_resources(self) -> None:
        """The key (kept when the stack is deleted) and its alias."""
        enc = self.answers.encryption
        comments = self.new_key_comments()
        comments += self.key_rotation_check()
        comments += self.key_readers_check()
        self.resource(
            KEY,
            {
                "Type": "AWS::KMS::Key",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "Description": sub("CloudTrail log encryption for trail ${TrailName}"),
                    "KeySpec": "SYMMETRIC_DEFAULT",
                    "KeyUsage": "ENCRYPT_DECRYPT",
                    "EnableKeyRotation": enc.rotation,
                    "KeyPolicy": self.key_policy(),
                    **({"Tags": self.tags} if self.tags else {}),
                },
            },
            comments,
        )
        self.resource(
            KEY_ALIAS,
            {
                "Type": "AWS::KMS::Alias",
                "Properties": {"AliasName": ref("KeyAlias"), "TargetKeyId": ref(KEY)},
            },
        )

    def new_key_comments(self) -> list[str]:
        """What the new key is for: the log files, and the topic and log group when there."""
        comments = [
            "Customer managed key for the log files (same region as the bucket: this stack's).",
            "Kept when the stack is deleted: without it the log files cannot be read.",
        ]
        if self.encrypted_topic:
            comments.append(
                "Also encrypts the SNS topic (CKV_AWS_26) and lets CloudTrail publish to it."
            )
        if self.encrypted_log_group:
            comments.append(
                "Also encrypts the CloudWatch Logs group (CKV_AWS_158): "
                "logs.<region>.amazonaws.com may use it for that one group only."
            )
        return comments

    def key_rotation_check(self) -> list[str]:
        """CKV_AWS_7 / CIS 4.6 (key rotation); returns the comment when it fails."""
        if self.answers.encryption.rotation:
            self.checks.append(_Check("CKV_AWS_7 / CIS 4.6", True, "yearly key rotation is on"))
            return []
        self.checks.append(
            _Check(
                "CKV_AWS_7 / CIS 4.6",
                False,
                "key rotation is off (encryption.rotation: false)",
            )
        )
        return [
            "CKV_AWS_7 / CIS 4.6 fail: automatic key rotation is off (encryption.rotation: false)."
        ]

    def key_readers_check(self) -> list[str]:
        """CKV_AWS_33 (who may decrypt); returns the comment when it fails."""
        if self.answers.encryption.decrypt_principals:
            return []
        self.checks.append(
            _Check(
                "CKV_AWS_33",
                False,
                'no decrypt_principals: principals of this account may decrypt (Principal "*" '
                "limited by kms:CallerAccount)",
            )
        )
        return [
            'CKV_AWS_33 fails: no encryption.decrypt_principals, so Principal "*" (limited to '
            "this account by kms:CallerAccount) may decrypt log files. Name the reader roles "
            "to narrow it."
        ]

    # ------------------------------------------------------------------ access logs

    def chosen_access_log_parameters(self) -> None:
        """``AccessLogBucket`` and ``AccessLogPrefix`` for the answers' access log bucket."""
        access = self.answers.bucket.access_logs
        assert access is not None
        self.parameter(
            "AccessLogBucket",
            {
                "Type": "String",
                "Default": access.bucket,
                "AllowedPattern": _BUCKET_PATTERN,
                "Description": (
                    "Bucket this stack creates for the log bucket's S3 server access logs."
                    if access.create
                    else "Existing bucket in this region for the log bucket's S3 server access "
                    "logs (its policy must let logging.s3.amazonaws.com write)."
                ),
            },
        )
        self.parameter(
            "AccessLogPrefix",
            {
                "Type": "String",
                "Default": access.prefix,
                "MaxLength": 512,
                "Description": "Key prefix of the server access log objects (ends in '/').",
            },
        )

    def access_log_statement(self) -> dict[str, Any]:
        """Log delivery's grant on the access log bucket (as :mod:`wizard.policy.policies`
        writes it)."""
        return _statement(
            "S3ServerAccessLogsDelivery",
            "Allow",
            _service(S3_LOGGING),
            "s3:PutObject",
            sub(f"arn:{PARTITION}:s3:::${{AccessLogBucket}}/${{AccessLogPrefix}}*"),
            {
                "ArnLike": {"aws:SourceArn": sub(f"arn:{PARTITION}:s3:::${{BucketName}}")},
                "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")},
            },
        )

    def build_access_log_bucket(self) -> None:
        """The access log bucket and its policy, when the answers create it."""
        access = self.answers.bucket.access_logs
        assert access is not None
        if not access.create:
            self.merge_block(
                f"Bucket policy of the existing access log bucket {access.bucket}",
                [self.access_log_statement()],
            )
            return
        props = self.access_log_bucket_properties()
        self.checks.append(
            _Check(
                "CKV_AWS_18",
                False,
                "the access log bucket does not log its own access (that would never end)",
            )
        )
        self.resource(
            ACCESS_LOG_BUCKET,
            {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": props,
            },
            [
                "Receives the log bucket's S3 server access logs (CIS 4.4, CloudTrail.7): ACLs "
                "disabled, all public access blocked, SSE-S3 (log delivery does not support "
                "SSE-KMS targets), TLS-only policy. Kept when the stack is deleted.",
                "CKV_AWS_18 fails here by design: the access log bucket does not log its own "
                "access (logs of logs never end).",
            ],
        )
        self.access_log_bucket_policy()

    def access_log_bucket_properties(self) -> dict[str, Any]:
        """The new access log bucket: SSE-S3, no public access, ACLs disabled."""
        props: dict[str, Any] = {
            "BucketName": ref("AccessLogBucket"),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": _block_all_public_access(),
            "OwnershipControls": _bucket_owner_enforced(),
        }
        if self.answers.bucket.versioning:
            props["VersioningConfiguration"] = {"Status": "Enabled"}
        if self.tags:
            props["Tags"] = self.tags
        return props

    def access_log_bucket_policy(self) -> None:
        """Log delivery may write the access logs; every request must use TLS."""
        self.resource(
            ACCESS_LOG_BUCKET_POLICY,
            {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": ref(ACCESS_LOG_BUCKET),
                    "PolicyDocument": {
                        "Version": VERSION,
                        "Statement": [
                            self.access_log_statement(),
                            _statement(
                                "DenyInsecureTransport",
                                "Deny",
                                "*",
                                "s3:*",
                                [
                                    get_att(ACCESS_LOG_BUCKET, "Arn"),
                                    sub(f"${{{ACCESS_LOG_BUCKET}.Arn}}/*"),
                                ],
                                {"Bool": {"aws:SecureTransport": "false"}},
                            ),
                        ],
                    },
                },
            },
            [
                "S3 log delivery may write only the log bucket's access logs under the prefix "
                "(aws:SourceArn, aws:SourceAccount); every request must use TLS."
            ],
        )

    # ------------------------------------------------------------------ the bucket

    def build_bucket(self) -> None:
        """The log bucket and its policy (after the access log bucket), or what to merge."""
        if self.answers.bucket.access_logs is not None:
            self.build_access_log_bucket()
        if self.answers.bucket.create:
            self.new_bucket_resources()
        else:
            self.existing_bucket_block()

    def existing_bucket_block(self) -> None:
        """What the existing bucket needs, done by hand before deploying."""
        bucket = self.answers.bucket
        if self.central is None:
            self.merge_block(
                f"Bucket policy of the existing bucket {bucket.name}", self.bucket_statements()
            )
        if bucket.access_logs is not None:
            self.before_deploy += self.existing_bucket_logging_steps(bucket.access_logs)
        self.before_deploy += self.existing_bucket_lifecycle_steps()
        self.checks.append(
            _Check(
                "CKV_AWS_18 / CIS 4.4, CKV_AWS_21, public access block",
                None,
                "the existing bucket is not in this template: check its settings there",
            )
        )

    def existing_bucket_logging_steps(self, access: AccessLogAnswers) -> list[str]:
        """The command that turns on the existing bucket's server access logging."""
        name = self.answers.bucket.name
        status = json.dumps(
            {"LoggingEnabled": {"TargetBucket": access.bucket, "TargetPrefix": access.prefix}},
            separators=(",", ":"),
        )
        return [
            f"Server access logging of the existing bucket {name} is not in "
            "this template (CloudFormation does not own that bucket): turn it on with",
            f"  aws s3api put-bucket-logging --bucket {name} "
            "--bucket-logging-status '" + status + "'",
            "",
        ]

    def new_bucket_resources(self) -> None:
        """The bucket (kept when the stack is deleted) and CloudTrail's bucket policy."""
        access = self.answers.bucket.access_logs
        comments = self.new_bucket_comments() + self.retention_comments()
        self.checks.append(self.bucket_access_logging_check())
        comments += self.bucket_versioning_check()
        body: dict[str, Any] = {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        }
        if access is not None and access.create:
            # S3 checks the target when logging is turned on: its policy must be there first.
            body["DependsOn"] = [ACCESS_LOG_BUCKET_POLICY]
        body["Properties"] = self.bucket_properties()
        self.resource(BUCKET, body, comments)
        self.bucket_policy()

    def new_bucket_comments(self) -> list[str]:
        """What the bucket is, where it is created and how it is encrypted."""
        bucket = self.answers.bucket
        comments = [
            "The log bucket: ACLs disabled, all public access blocked, default encryption, "
            "TLS-only policy.",
            "Kept when the stack is deleted (DeletionPolicy: Retain): audit logs must outlive it.",
            "CKV_AWS_18 / CIS 4.4 fail while AccessLogBucket is empty: server access logging "
            "is off."
            if bucket.access_logs is None
            else "Its S3 server access logs go to the AccessLogBucket bucket (CIS 4.4, "
            "CloudTrail.7, CKV_AWS_18).",
        ]
        if bucket.region and bucket.region != self.names.home_region:
            comments.append(
                f"The answers put the bucket in {bucket.region}; a stack creates it in its own "
                "region (deploy the stack there, or use the wizard for a cross-region setup)."
            )
        if not self.kms:
            comments.append(
                "Encrypted with SSE-S3 (AES256) by the answers' choice; CIS 4.5 expects SSE-KMS."
            )
        return comments

    def bucket_access_logging_check(self) -> _Check:
        """CKV_AWS_18 / CIS 4.4: on with the answers' target, else only with the parameter."""
        if self.answers.bucket.access_logs is None:
            return _Check(
                "CKV_AWS_18 / CIS 4.4 / CloudTrail.7",
                None,
                "server access logging is on only when the AccessLogBucket parameter is set",
            )
        return _Check(
            "CKV_AWS_18 / CIS 4.4 / CloudTrail.7",
            True,
            "the log bucket's server access logs go to the AccessLogBucket bucket",
        )

    def bucket_versioning_check(self) -> list[str]:
        """CKV_AWS_21 (versioning); returns the comment when it fails."""
        if self.answers.bucket.versioning:
            self.checks.append(_Check("CKV_AWS_21", True, "versioning is on"))
            return []
        self.checks.append(
            _Check("CKV_AWS_21", False, "versioning is off (bucket.versioning: false)")
        )
        return [
            "CKV_AWS_21 fails: versioning is off by the answers' choice (bucket.versioning: "
            "false); overwritten or deleted log files cannot be recovered."
        ]

    def bucket_properties(self) -> dict[str, Any]:
        """The bucket's properties: encryption, no public access, versioning, access logging."""
        props: dict[str, Any] = {
            "BucketName": ref("BucketName"),
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [self.bucket_encryption()]},
            "PublicAccessBlockConfiguration": _block_all_public_access(),
            "OwnershipControls": _bucket_owner_enforced(),
        }
        if self.answers.bucket.versioning:
            props["VersioningConfiguration"] = {"Status": "Enabled"}
        props["LoggingConfiguration"] = self.bucket_logging()
        props.update(self.bucket_retention())
        if self.tags:
            props["Tags"] = self.tags
        return props

    def logs_prefix(self) -> Any:
        """Where CloudTrail writes under the bucket: ``AWSLogs/`` under ``LogPrefix``."""
        return sub("${LogPrefix}/AWSLogs/") if self.answers.bucket.prefix else "AWSLogs/"

    def lifecycle_rule(self) -> dict[str, Any]:
        """The trail's lifecycle rule in CloudFormation's shape (scoped to ``AWSLogs/``)."""
        retention = self.answers.bucket.retention
        assert retention is not None
        rule: dict[str, Any] = {
            "Id": rule_id(self.answers.trail.name),
            "Status": "Enabled",
            "Prefix": self.logs_prefix(),
        }
        if retention.transition_days is not None:
            rule["Transitions"] = [
                {
                    "StorageClass": retention.storage_class,
                    "TransitionInDays": retention.transition_days,
                }
            ]
        if retention.expire_days is not None:
            rule["ExpirationInDays"] = retention.expire_days
        if retention.noncurrent_expire_days is not None:
            rule["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": retention.noncurrent_expire_days
            }
        return rule

    def bucket_retention(self) -> dict[str, Any]:
        """A new bucket's lifecycle rule and Object Lock, as the answers ask."""
        retention = self.answers.bucket.retention
        props: dict[str, Any] = {}
        if retention is None:
            return props
        if retention.lifecycle:
            props["LifecycleConfiguration"] = {"Rules": [self.lifecycle_rule()]}
        lock = retention.object_lock
        if lock is not None:
            props["ObjectLockEnabled"] = True
            props["ObjectLockConfiguration"] = {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": lock.mode, "Days": lock.days}},
            }
        return props

    def retention_comments(self) -> list[str]:
        """What the bucket's retention means, next to the bucket."""
        retention = self.answers.bucket.retention
        if retention is None:
            return []
        out: list[str] = []
        if retention.lifecycle:
            rule = retention_rule(retention, self.answers.trail.name, self.answers.bucket.prefix)
            out.append(f"Lifecycle of the trail's log files only: {describe_rule(rule)}.")
            out += [f"Warning: {p}." for p in retention_problems(rule)]
        lock = retention.object_lock
        if lock is not None:
            out.append(
                f"Object Lock, {lock.mode} mode, {lock.days} days: never make this bucket a "
                "server access log target (S3 does not deliver to a bucket with a default "
                "retention)."
            )
            if lock.mode == "COMPLIANCE":
                out.append(
                    "COMPLIANCE: nobody can shorten or remove a log file's retention, and the "
                    "bucket cannot be deleted until every version's retention has ended."
                )
        return out

    def existing_bucket_lifecycle_steps(self) -> list[str]:
        """The trail's lifecycle rule for an existing bucket, merged by hand before deploying."""
        retention = self.answers.bucket.retention
        if retention is None or not retention.lifecycle:
            return []
        name = self.answers.bucket.name
        rule = retention_rule(retention, self.answers.trail.name, self.answers.bucket.prefix)
        return [
            f"The lifecycle of the existing bucket {name} is not in this template. "
            "put-bucket-lifecycle-configuration replaces every rule: read the current rules,",
            f"  aws s3api get-bucket-lifecycle-configuration --bucket {name}",
            "add (or replace, by its ID) this rule, and write them all back with "
            "put-bucket-lifecycle-configuration:",
            "  " + json.dumps(rule, separators=(",", ":")),
            "",
        ]

    def bucket_encryption(self) -> dict[str, Any]:
        """Default encryption: the trail's key, or SSE-S3."""
        if self.kms:
            return {
                "ServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": self.key_value(),
                },
                "BucketKeyEnabled": False,
            }
        return {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}

    def bucket_logging(self) -> Any:
        """Server access logging: to the answers' target, or to ``AccessLogBucket`` if set."""
        if self.answers.bucket.access_logs is not None:
            return {
                "DestinationBucketName": ref("AccessLogBucket"),
                "LogFilePrefix": ref("AccessLogPrefix"),
            }
        return if_(
            "HasAccessLogBucket",
            {
                "DestinationBucketName": ref("AccessLogBucket"),
                "LogFilePrefix": sub("${BucketName}/"),
            },
            NO_VALUE,
        )

    def bucket_policy(self) -> None:
        """CloudTrail's statements and TLS only; the trail waits for it."""
        self.resource(
            BUCKET_POLICY,
            {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": ref(BUCKET),
                    "PolicyDocument": {
                        "Version": VERSION,
                        "Statement": [*self.bucket_statements(), self.tls_only_statement()],
                    },
                },
            },
            [
                "CloudTrail may check the ACL and write only this trail's log files "
                "(aws:SourceArn); every request must use TLS."
            ],
        )
        self.trail_depends.append(BUCKET_POLICY)

    # ------------------------------------------------------------------ the topic

    def build_topic(self) -> None:
        """The new topic and its policy, or the statement to merge into an existing topic."""
        if not self.topic:
            self.checks.append(
                _Check("CKV_AWS_252", False, "no SNS topic (notifications.sns_topic not set)")
            )
            return
        self.checks.append(_Check("CKV_AWS_252", True, "the trail notifies an SNS topic"))
        if not self.new_topic:
            self.merge_block(
                f"Access policy of the existing topic {self.answers.notifications.sns_topic}",
                [self.topic_cloudtrail_statement()],
            )
            return
        comments = ["SNS topic notified of every log file delivered."]
        comments += self.topic_encryption_check()
        props: dict[str, Any] = {"TopicName": ref("TopicName")}
        if self.encrypted_topic:
            props["KmsMasterKeyId"] = self.key_value()
        if self.tags:
            props["Tags"] = self.tags
        self.resource(TOPIC, {"Type": "AWS::SNS::Topic", "Properties": props}, comments)
        self.topic_policy()

    def topic_encryption_check(self) -> list[str]:
        """CKV_AWS_26 (the topic encrypted with a customer managed key); returns the comments.

        The topic is encrypted with the trail's key only when the stack creates that key
        (:func:`wizard.policy.policies.encrypts_topic`, the rule apply follows too).
        """
        if self.encrypted_topic:
            self.checks.append(_Check("CKV_AWS_26", True, "the topic is encrypted with the key"))
            return []
        if not self.kms:
            reason = "SSE-S3: no customer managed key for the topic"
            comment = (
                "CKV_AWS_26 fails: the answers choose SSE-S3, so there is no customer managed key "
                "to encrypt the topic with (CloudTrail cannot publish to a topic encrypted with "
                "the AWS managed alias/aws/sns key)."
            )
        elif self.existing_key:
            reason = "the topic is not encrypted with an existing key (its policy is not widened)"
            comment = (
                "CKV_AWS_26 fails: the topic is encrypted only with a key this setup creates; the "
                "policy of the existing key is not widened beyond log delivery. To encrypt the "
                "topic with a key of yours, give it KmsMasterKeyId and add AWS's statement for "
                "CloudTrail (kms:GenerateDataKey*, kms:Decrypt) to that key's policy."
            )
        else:
            reason = "the answers put the key in another region than the topic"
            comment = (
                "CKV_AWS_26 fails: the answers put the bucket and its key in "
                f"{self.names.bucket_region()}, the topic in {self.names.home_region}; a topic "
                "can only use a key of its own region, so the wizard leaves it unencrypted and "
                "this template does the same."
            )
        self.checks.append(_Check("CKV_AWS_26", False, reason))
        return [comment]

    def topic_policy(self) -> None:
        """The account administers the topic, only this trail publishes; the trail waits for it."""
        owner = _statement(
            "TopicOwnerAdministers",
            "Allow",
            {"AWS": sub(ACCOUNT_ROOT)},
            [
                "SNS:AddPermission",
                "SNS:DeleteTopic",
                "SNS:GetTopicAttributes",
                "SNS:ListSubscriptionsByTopic",
                "SNS:Publish",
                "SNS:RemovePermission",
                "SNS:SetTopicAttributes",
                "SNS:Subscribe",
            ],
            ref(TOPIC),
        )
        self.resource(
            TOPIC_POLICY,
            {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "Topics": [ref(TOPIC)],
                    "PolicyDocument": {
                        "Version": VERSION,
                        "Statement": [owner, self.topic_cloudtrail_statement()],
                    },
                },
            },
            ["The account administers the topic; only this trail may publish to it."],
        )
        self.trail_depends.append(TOPIC_POLICY)

    # ------------------------------------------------------------------ CloudWatch Logs

    def build_logs(self) -> None:
        """The log group, and the delivery role (new) or what an existing role needs."""
        if not self.logs:
            self.checks.append(
                _Check(
                    "CKV2_AWS_10 / CloudTrail.5",
                    False,
                    "no CloudWatch Logs delivery (cloudwatch_logs.log_group not set)",
                )
            )
            return
        self.checks.append(
            _Check("CKV2_AWS_10 / CloudTrail.5", True, "events are delivered to CloudWatch Logs")
        )
        self.log_group_resource()
        if self.new_role:
            self.role_resource()
        else:
            self.existing_role_block()

    def log_group_resource(self) -> None:
        """The log group, kept when the stack is deleted."""
        comments = [
            "CloudWatch Logs group the trail delivers to (for CIS metric filters and alarms).",
            "Kept when the stack is deleted. Remove this resource if the group already exists.",
        ]
        comments += self.log_group_encryption_check()
        comments += self.log_group_retention_check()
        props: dict[str, Any] = {
            "LogGroupName": ref("LogGroupName"),
            "RetentionInDays": ref("RetentionInDays"),
        }
        if self.encrypted_log_group:
            props["KmsKeyId"] = self.key_value()
        if self.tags:
            props["Tags"] = self.tags
        self.resource(
            LOG_GROUP,
            {
                "Type": "AWS::Logs::LogGroup",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": props,
            },
            comments,
        )

    def log_group_encryption_check(self) -> list[str]:
        """CKV_AWS_158 (the log group encrypted with the trail's key); returns the comments.

        The group is encrypted with the trail's key only when the stack creates that key in
        the group's region (:func:`wizard.policy.policies.encrypts_log_group`, the rule apply
        follows too).
        """
        if self.encrypted_log_group:
            self.checks.append(_Check("CKV_AWS_158", True, "the log group is encrypted"))
            return []
        reason, comment = self.log_group_unencrypted()
        self.checks.append(_Check("CKV_AWS_158", False, reason))
        return [comment]

    def log_group_unencrypted(self) -> tuple[str, str]:
        """Why the log group is not encrypted (the rule apply follows), as check and comment."""
        if self.kms and self.central_key():
            return (
                "the central key is not opened to CloudWatch Logs",
                "CKV_AWS_158 fails: the log group is not encrypted with the central key, whose "
                "policy is not opened to the CloudWatch Logs of every member account "
                "(CloudWatch Logs encrypts the events with its own keys).",
            )
        reason, why = log_group_left_unencrypted(self.names)
        return reason, f"CKV_AWS_158 fails: {why}"

    def central_key(self) -> bool:
        """True for a StackSet's member template whose trail uses the central (existing) key."""
        return self.central is not None and self.existing_key is not None

    def log_group_retention_check(self) -> list[str]:
        """CKV_AWS_338 (a year's retention); returns the comment when it fails."""
        days = self.answers.cloudwatch_logs.retention_days
        if days >= 365:
            self.checks.append(_Check("CKV_AWS_338", True, f"events are kept {days} days"))
            return []
        self.checks.append(_Check("CKV_AWS_338", False, f"events are kept only {days} days"))
        return [
            f"CKV_AWS_338 fails: events are kept {days} days by the answers' "
            "choice (cloudwatch_logs.retention_days); it expects at least 365."
        ]

    def existing_role_block(self) -> None:
        """What the existing role's policies need; the template does not change the role."""
        self.before_deploy += [
            f"The existing role {self.answers.cloudwatch_logs.role} must trust CloudTrail and "
            "may write to the log group; the template does not change it. Its trust policy needs:",
            *_json_block(self.role_trust_policy()["Statement"]),
            "and its permissions:",
            *_json_block(self.role_permissions_policy("${LogGroupName}")["Statement"]),
            "",
        ]

    def role_resource(self) -> None:
        """The delivery role and its permissions, as two resources the trail waits for.

        CloudTrail checks at CreateTrail that it can assume the role and write to the log
        group, and IAM takes a few seconds to make a new role and its policy usable
        everywhere (CDK users hit this race with an inline policy). The permissions are an
        ``AWS::IAM::RolePolicy`` of their own, created after the role, and the trail
        ``DependsOn`` it: the trail is created last, as apply does (CreateRole, then
        PutRolePolicy, then CreateTrail, which apply also retries on that error).
        """
        role_props: dict[str, Any] = {
            "RoleName": ref("CloudWatchLogsRoleName"),
            "Description": sub("Lets CloudTrail trail ${TrailName} write to ${LogGroupName}"),
            "AssumeRolePolicyDocument": self.role_trust_policy(),
        }
        if self.tags:
            role_props["Tags"] = self.tags
        self.resource(
            ROLE,
            {"Type": "AWS::IAM::Role", "Properties": role_props},
            [
                "CloudTrail may assume the role (AWS's trust policy for it, without conditions: "
                "AWS does not document CloudTrail sending aws:SourceArn when it assumes a role).",
                "Named role: deploy with CAPABILITY_NAMED_IAM, once per account (IAM is global).",
            ],
        )
        self.resource(
            ROLE_POLICY,
            {
                "Type": "AWS::IAM::RolePolicy",
                "Properties": {
                    "RoleName": ref(ROLE),
                    "PolicyName": ROLE_POLICY_NAME,
                    "PolicyDocument": self.role_permissions_policy(f"${{{LOG_GROUP}}}"),
                },
            },
            [
                "The role may only create streams and put events in the trail's own streams of "
                "the log group.",
                "A resource of its own that the trail waits for (DependsOn): CloudTrail checks "
                "the role when the trail is created, and IAM takes a few seconds to make a new "
                "role and its policy usable, so the trail is created after both.",
            ],
        )
        self.trail_depends.append(ROLE_POLICY)

    # ------------------------------------------------------------------ the trail

    def build_trail(self) -> None:
        """The trail, after every policy it uses."""
        comments = self.trail_comments()
        body: dict[str, Any] = {"Type": "AWS::CloudTrail::Trail"}
        if self.trail_depends:
            body["DependsOn"] = list(self.trail_depends)
        body["Properties"] = self.trail_properties()
        self.resource(TRAIL, body, comments)

    def trail_comments(self) -> list[str]:
        """What the trail waits for, and every check the answers' choices make it fail."""
        if self.before_deploy:
            comments = [
                "The trail. CloudTrail checks the policies of the bucket, key, topic and role it "
                "uses when it is created: merge the statements listed at the top first."
            ]
        else:
            comments = [
                "The trail. CloudTrail checks the policies of the bucket, key, topic and role it "
                "uses when it is created, so it depends on them."
            ]
        comments += self.trail_region_check()
        comments += self.trail_validation_check()
        comments += self.trail_choice_comments()
        return comments

    def trail_region_check(self) -> list[str]:
        """CKV_AWS_67 / CIS 4.1 (every region); returns the comment when it fails."""
        if self.answers.trail.multi_region:
            self.checks.append(
                _Check("CKV_AWS_67 / CIS 4.1 / CloudTrail.1", True, "multi-region trail")
            )
            return []
        self.checks.append(
            _Check("CKV_AWS_67 / CIS 4.1 / CloudTrail.1", False, "single-region trail")
        )
        return [
            "CKV_AWS_67 / CIS 4.1 fail: a single-region trail by the answers' choice "
            "(trail.multi_region: false); other regions go unrecorded."
        ]

    def trail_validation_check(self) -> list[str]:
        """CKV_AWS_36 / CIS 4.2 (log file validation); returns the comment when it fails."""
        if self.answers.trail.log_file_validation:
            self.checks.append(
                _Check("CKV_AWS_36 / CIS 4.2 / CloudTrail.4", True, "log file validation on")
            )
            return []
        self.checks.append(
            _Check("CKV_AWS_36 / CIS 4.2 / CloudTrail.4", False, "log file validation off")
        )
        return [
            "CKV_AWS_36 / CIS 4.2 fail: log file validation is off by the answers' choice "
            "(trail.log_file_validation: false)."
        ]

    def trail_choice_comments(self) -> list[str]:
        """The checks the other groups' choices fail on the trail, and where to deploy it."""
        comments: list[str] = []
        if not self.kms:
            comments.append(
                "CKV_AWS_35 / CIS 4.5 / CloudTrail.2 fail: SSE-S3 was chosen "
                "(encryption.type: sse-s3), so there is no KMSKeyId; choose sse-kms to pass."
            )
        if not self.topic:
            comments.append(
                "CKV_AWS_252 fails: no SNS topic is notified (notifications.sns_topic not set)."
            )
        if not self.logs:
            comments.append(
                "CKV2_AWS_10 / CloudTrail.5 fail: no CloudWatch Logs delivery "
                "(cloudwatch_logs.log_group not set); the CIS monitoring alarms need it."
            )
        if self.answers.trail.organization:
            comments.append(
                "Organization trail: deploy in the organization's management account, with "
                "trusted access for cloudtrail.amazonaws.com enabled."
            )
        return comments

    def trail_properties(self) -> dict[str, Any]:
        """The trail's properties: its settings, where it delivers, its events and tags."""
        a = self.answers
        t = a.trail
        props: dict[str, Any] = {
            "TrailName": ref("TrailName"),
            "S3BucketName": ref(BUCKET) if a.bucket.create else ref("BucketName"),
        }
        if a.bucket.prefix:
            props["S3KeyPrefix"] = ref("LogPrefix")
        props.update(
            {
                "IsLogging": True,
                "EnableLogFileValidation": t.log_file_validation,
                "IsMultiRegionTrail": t.multi_region,
                "IncludeGlobalServiceEvents": t.include_global_events,
            }
        )
        if t.organization:
            props["IsOrganizationTrail"] = True
        props.update(self.trail_delivery())
        selection = event_selection(a, self.names)
        if selection.basic is not None:
            # What every tool that audits trails reads (the planner sends the same).
            props["EventSelectors"] = [dict(s) for s in selection.basic]
        else:
            props["AdvancedEventSelectors"] = self.event_selectors()
        insights = insight_selectors(a)
        if insights:
            props["InsightSelectors"] = insights
        aggregation = aggregation_configurations(a)
        if aggregation:
            props["AggregationConfigurations"] = aggregation
        if self.tags:
            props["Tags"] = self.tags
        return props

    def trail_delivery(self) -> dict[str, Any]:
        """The trail's key, topic, log group and role properties (those the answers use)."""
        props: dict[str, Any] = {}
        if self.kms:
            props["KMSKeyId"] = self.key_value()
        if self.topic:
            props["SnsTopicName"] = (
                get_att(TOPIC, "TopicName") if self.new_topic else ref("SnsTopicArn")
            )
        if self.logs:
            # The log group's Arn attribute ends in ":*", the form CloudTrail accepts.
            props["CloudWatchLogsLogGroupArn"] = get_att(LOG_GROUP, "Arn")
            props["CloudWatchLogsRoleArn"] = (
                get_att(ROLE, "Arn") if self.new_role else ref("CloudWatchLogsRoleArn")
            )
        return props

    def event_selectors(self) -> list[dict[str, Any]]:
        """The planner's advanced event selectors, the log buckets' ARNs as ``!Sub``.

        An S3 selector that records writes leaves out the log bucket and the access log bucket
        (their writes are the trail's own deliveries). With the optional ``AccessLogBucket``
        parameter of a new bucket, the access log bucket is left out only when it is set.
        """
        a, names = self.answers, self.names
        own = f"{names.bucket_arn}/"
        swaps: dict[str, Any] = {own: sub(f"arn:{PARTITION}:s3:::${{BucketName}}/")}
        log_buckets = log_bucket_prefixes(a, names)
        optional = a.bucket.access_logs is None and "AccessLogBucket" in self.parameters
        placeholder = f"arn:{names.partition}:s3:::ACCESS-LOG-BUCKET-PARAMETER/"
        if a.bucket.access_logs is not None:
            swaps[log_buckets[1]] = sub(f"arn:{PARTITION}:s3:::${{AccessLogBucket}}/")
        elif optional:
            log_buckets.append(placeholder)
            swaps[placeholder] = if_(
                "HasAccessLogBucket",
                sub(f"arn:{PARTITION}:s3:::${{AccessLogBucket}}/"),
                NO_VALUE,
            )

        def swapped(field_selector: dict[str, Any]) -> dict[str, Any]:
            out = dict(field_selector)
            if "NotStartsWith" in out:
                out["NotStartsWith"] = [swaps.get(v, v) for v in out["NotStartsWith"]]
            return out

        selectors = advanced_event_selectors(a, names, log_buckets)
        return [
            {**s, "FieldSelectors": [swapped(f) for f in s["FieldSelectors"]]} for s in selectors
        ]

    def build_outputs(self) -> None:
        self.outputs["TrailArn"] = {
            "Description": "ARN of the trail",
            "Value": get_att(TRAIL, "Arn"),
        }
        self.outputs["BucketName"] = {
            "Description": "Bucket the log files go to",
            "Value": ref(BUCKET) if self.answers.bucket.create else ref("BucketName"),
        }
        if self.new_key:
            self.outputs["KeyArn"] = {
                "Description": "KMS key that encrypts the log files",
                "Value": get_att(KEY, "Arn"),
            }
        elif self.existing_key:
            self.outputs["KeyArn"] = {
                "Description": "KMS key that encrypts the log files (as given)",
                "Value": ref("KmsKeyId"),
            }
        if self.new_topic:
            self.outputs["TopicArn"] = {"Description": "SNS topic", "Value": ref(TOPIC)}
        if self.logs:
            self.outputs["LogGroupArn"] = {
                "Description": "CloudWatch Logs group",
                "Value": get_att(LOG_GROUP, "Arn"),
            }

    # ------------------------------------------------------------------ text

    def header(self) -> list[str]:
        a = self.answers
        mark = {True: "pass", False: "FAIL", None: "param"}
        if self.central is not None:
            deploy = [
                "A StackSet deploys it into every account of its OUs (stack-set.json and "
                "stack-instances.json beside this file, or onboard --engine stacksets).",
            ]
        else:
            deploy = [
                "Deploy in the trail's home region, in one account:",
                f"  aws cloudformation deploy --stack-name cloudtrail-{a.trail.name} \\",
                "    --template-file THIS_FILE --capabilities CAPABILITY_NAMED_IAM",
                "or in many accounts with a StackSet: every name is a parameter (bucket names "
                "are global, so give each account its own BucketName, for example ending in "
                "its account id).",
            ]
        lines = [
            f"CloudTrail trail {a.trail.name}: CloudFormation template generated by "
            f"cloudtrail-wizard {__version__}.",
            "",
            *deploy,
            "Every resource is created in the stack's region; ARNs use the stack's partition, "
            "region and account.",
            "",
            "Scanner results for this template (pass, FAIL by the answers' choice, or "
            "param: depends on a parameter):",
        ]
        width = max(len(c.ids) for c in self.checks)
        for check in self.checks:
            lead = f"  {mark[check.passes]:5} {check.ids:{width}}  "
            lines += wrap_prose(
                check.reason, 98, initial_indent=lead, subsequent_indent=" " * len(lead)
            )
        if self.before_deploy:
            lines += ["", "BEFORE DEPLOYING:", ""]
            lines += self.before_deploy
            lines.append(
                "${AWS::AccountId}, ${AWS::Region} and ${AWS::Partition} stand for the stack's "
                "account, region and partition, ${Name} for the parameter Name."
            )
        return lines

    def render(self) -> str:
        self.build()
        out = _comment(self.header())
        description = (
            f"CloudTrail trail {self.answers.trail.name} and what it needs (cloudtrail-wizard)"
        )
        out += [
            'AWSTemplateFormatVersion: "2010-09-09"',
            *_dump({"Description": description}).rstrip("\n").split("\n"),
        ]
        out.append("Parameters:")
        for name, entry in self.parameters.items():
            out += _comment(entry.comments, 2)
            out += _indent(_dump({name: entry.body}), 2)
        if self.conditions:
            out.append("Conditions:")
            out += _indent(_dump(self.conditions), 2)
        out.append("Resources:")
        for name, entry in self.resources.items():
            out += _comment(entry.comments, 2)
            out += _indent(_dump({name: entry.body}), 2)
        out.append("Outputs:")
        out += _indent(_dump(self.outputs), 2)
        return "\n".join(out) + "\n"


def cloudformation_template(
    answers: Answers, ctx: AccountContext, *, central: str | None = None
) -> str:
    """The answers as a commented CloudFormation template (YAML text, short intrinsic tags).

    Args:
        answers: The answers file.
        ctx: Account facts; only the organization id (a parameter default) and the names
            derived from the answers are used: ARNs in the template come from the stack.
        central: For a StackSet's member template (:mod:`wizard.export.stackset`): the note
            that says where the central bucket and key statements are; the per-account
            statements to merge are then left out, and the log group is not encrypted with
            the central key.

    Returns:
        The template text; the same answers always give the same bytes.
    """
    return _Template(answers, ctx, central=central).render()


def template_checks(
    answers: Answers, ctx: AccountContext, *, central: str | None = None
) -> dict[str, bool | None]:
    """The scanner checks the template reports in its header: check ids -> passes.

    True passes, False fails by the answers' choice, None depends on a parameter.
    """
    template = _Template(answers, ctx, central=central)
    template.build()
    return {check.ids: check.passes for check in template.checks}


_CHECK_ID = re.compile(r"CKV2?_AWS_\d+")


def failing_check_ids(
    answers: Answers, ctx: AccountContext, *, central: str | None = None
) -> set[str]:
    """checkov ids the template fails by the answers' choice (not counting parameters)."""
    return {
        check_id
        for ids, passes in template_checks(answers, ctx, central=central).items()
        if passes is False
        for check_id in _CHECK_ID.findall(ids)
    }
