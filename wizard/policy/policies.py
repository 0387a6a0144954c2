"""Pure builders for every policy the wizard writes. No AWS call happens here.

Each builder returns a plain ``dict`` policy document. Statements carry stable, readable
Sids (alphanumeric, so IAM accepts them too) and every statement granting a service
principal in a resource policy is pinned to this trail with ``aws:SourceArn`` (confused-deputy
protection), except where AWS does not document CloudTrail sending it: the delivery role's
trust policy is AWS's, without a condition (:func:`cloudwatch_role_trust_policy`), and the key
statement for an encrypted topic is pinned to the topic by its encryption context
(:func:`key_topic_statement`), as is the one for an encrypted log group, to the group
(:func:`key_logs_statement`). The same inputs always give the same document;
:func:`wizard.policy.merge.render_policy` gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import SerializerFunctionWrapHandler, model_serializer

from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext, Names
from wizard.policy.operator import operator_policy

Statement = dict[str, Any]
Policy = dict[str, Any]

VERSION = "2012-10-17"
CLOUDTRAIL = "cloudtrail.amazonaws.com"
S3_LOGGING = "logging.s3.amazonaws.com"
"""The service principal that delivers S3 server access logs."""


def _doc(statements: Iterable[Statement], policy_id: str | None = None) -> Policy:
    doc: Policy = {"Version": VERSION}
    if policy_id:
        doc["Id"] = policy_id
    doc["Statement"] = list(statements)
    return doc


def _one_or_list(values: Sequence[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


# --------------------------------------------------------------------------- S3


def bucket_cloudtrail_statements(
    names: Names, organization_id: str | None = None
) -> list[Statement]:
    """The statements CloudTrail needs on the log bucket (what gets merged into a policy)."""
    source = {"aws:SourceArn": names.trail_arn}
    statements: list[Statement] = [
        {
            "Sid": "AWSCloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:GetBucketAcl",
            "Resource": names.bucket_arn,
            "Condition": {"StringEquals": dict(source)},
        },
        {
            "Sid": "AWSCloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:PutObject",
            "Resource": names.logs_object_arn(names.trail_owner),
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}},
        },
    ]
    if names.answers.trail.organization and organization_id:
        statements.append(
            {
                "Sid": "AWSCloudTrailOrganizationWrite",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "s3:PutObject",
                "Resource": names.logs_object_arn(organization_id),
                "Condition": {
                    "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}
                },
            }
        )
    return statements


def tls_only_statement(bucket_arn: str) -> Statement:
    """Deny every request to the bucket that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(names: Names, organization_id: str | None = None) -> Policy:
    """The complete policy of a new log bucket: CloudTrail's grants plus a TLS-only Deny."""
    statements = bucket_cloudtrail_statements(names, organization_id)
    statements.append(tls_only_statement(names.bucket_arn))
    return _doc(statements)


def access_log_target_arn(names: Names) -> str | None:
    """ARN of the bucket that receives the log bucket's server access logs (None: off)."""
    target = names.answers.bucket.access_logs
    return f"arn:{names.partition}:s3:::{target.bucket}" if target is not None else None


def access_log_statement(names: Names) -> Statement:
    """Let S3 log delivery write the log bucket's access logs under the target prefix only.

    Pinned to the log bucket (``aws:SourceArn``) and its account (``aws:SourceAccount``), as
    AWS recommends for the ``logging.s3.amazonaws.com`` principal.
    """
    target = names.answers.bucket.access_logs
    assert target is not None, "access logging is off"
    return {
        "Sid": "S3ServerAccessLogsDelivery",
        "Effect": "Allow",
        "Principal": {"Service": S3_LOGGING},
        "Action": "s3:PutObject",
        "Resource": f"arn:{names.partition}:s3:::{target.bucket}/{target.prefix}*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": names.bucket_arn},
            "StringEquals": {"aws:SourceAccount": names.account},
        },
    }


def access_log_bucket_policy(names: Names) -> Policy:
    """The whole policy of a new access log bucket: log delivery's grant plus TLS only."""
    target_arn = access_log_target_arn(names)
    assert target_arn is not None, "access logging is off"
    return _doc([access_log_statement(names), tls_only_statement(target_arn)])


class TrailWriter(WizardModel):
    """One trail that writes to a central bucket: its account and ARN."""

    account_id: str
    """Account whose logs land under ``AWSLogs/<account_id>/``."""
    trail_arn: str
    """The trail's ARN (its owner's account)."""


def central_bucket_statements(
    bucket_arn: str, prefix: str, writers: Sequence[TrailWriter]
) -> list[Statement]:
    """Statements for a central bucket written by trails of several accounts.

    One ACL-check statement and one write statement whose Resource lists each account's
    path and whose ``aws:SourceArn`` lists every trail.
    """
    if not writers:
        raise ValueError("a central bucket policy needs at least one trail")
    path = f"{prefix}/" if prefix else ""
    ordered = sorted(writers, key=lambda w: (w.account_id, w.trail_arn))
    arns = sorted({w.trail_arn for w in ordered})
    resources = sorted({f"{bucket_arn}/{path}AWSLogs/{w.account_id}/*" for w in ordered})
    return [
        {
            "Sid": "AWSCloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceArn": _one_or_list(arns)}},
        },
        {
            "Sid": "AWSCloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:PutObject",
            "Resource": _one_or_list(resources),
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": _one_or_list(arns),
                }
            },
        },
    ]


# -------------------------------------------------------------------------- KMS


def key_cloudtrail_statements(names: Names, *, bucket_key_decrypt: bool = False) -> list[Statement]:
    """The statements CloudTrail needs in a key policy (what gets merged into a key).

    Args:
        names: derived names.
        bucket_key_decrypt: also let CloudTrail decrypt, needed when the bucket uses an S3
            Bucket Key with this key.
    """
    source = {"aws:SourceArn": names.trail_arn}
    statements: list[Statement] = [
        {
            "Sid": "AllowCloudTrailEncryptLogs",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": dict(source),
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": names.encryption_context_pattern
                },
            },
        },
        {
            "Sid": "AllowCloudTrailDescribeKey",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": dict(source)},
        },
    ]
    if bucket_key_decrypt:
        statements.append(
            {
                "Sid": "AllowCloudTrailBucketKeyDecrypt",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": dict(source)},
            }
        )
    return statements


def encrypts_topic(names: Names, key_region: str) -> bool:
    """Whether the new SNS topic is encrypted with the trail's new key.

    One rule for apply, the AWS CLI script and the CloudFormation template: a topic the
    wizard creates is encrypted when the wizard also creates the trail's key in the topic's
    region (a topic can only use a key of its own region). A topic the wizard does not create
    is left as it is, and an existing key is not widened beyond what log delivery needs.

    Args:
        names: Derived names.
        key_region: Where the new key is created (the bucket's region).
    """
    n = names.answers.notifications
    return bool(
        n.sns_topic
        and not n.topic_is_arn
        and names.answers.encryption.new_key
        and key_region == names.home_region
    )


def key_topic_statement(topic_arn: object) -> Statement:
    """Let CloudTrail publish to a topic encrypted with this key.

    AWS's statement for an encrypted CloudTrail topic (CloudTrail User Guide, "Amazon SNS
    topic policy for CloudTrail"): ``cloudtrail.amazonaws.com`` may ``kms:GenerateDataKey*``
    and ``kms:Decrypt``. It is narrowed to the one topic by the encryption context SNS gives
    every data key of a topic (``kms:EncryptionContext:aws:sns:topicArn``, the condition the
    SNS documentation uses for AWS services publishing to encrypted topics), so that it does
    not undo the trail pinning of the log-encryption statements. No ``aws:SourceArn``: AWS
    does not document CloudTrail's publishes carrying it.

    Args:
        topic_arn: The topic's ARN (text, or a CloudFormation ``!Sub`` for the template).
    """
    return {
        "Sid": "AllowCloudTrailPublishToEncryptedTopic",
        "Effect": "Allow",
        "Principal": {"Service": CLOUDTRAIL},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}},
    }


def logs_service(region: str) -> str:
    """CloudWatch Logs' service principal in a region (``logs.<region>.amazonaws.com``)."""
    return f"logs.{region}.amazonaws.com"


def encrypts_log_group(names: Names, key_region: str) -> bool:
    """Whether the CloudWatch Logs group the wizard creates is encrypted with the trail's new key.

    One rule for apply, the AWS CLI script and the CloudFormation and Terraform exports: the
    answers deliver to a log group, the wizard also creates the trail's key, and that key is
    in the group's region, the trail's home region (a log group can only use a key of its
    own region). An existing key is not widened beyond what log delivery needs, and a group
    that exists already is used as it is (the plan does not re-key a group it did not make).

    Args:
        names: Derived names.
        key_region: Where the new key is created (the bucket's region).
    """
    cw = names.answers.cloudwatch_logs
    return bool(
        cw.enabled
        and cw.log_group
        and names.answers.encryption.new_key
        and key_region == names.home_region
    )


def log_group_left_unencrypted(names: Names) -> tuple[str, str]:
    """Why the log group the wizard creates is not encrypted (:func:`encrypts_log_group` is
    False): a short reason, and a sentence for an export's comment. The same for every
    export."""
    enc = names.answers.encryption
    if enc.type != "sse-kms":
        return (
            "SSE-S3: no customer managed key for the log group",
            "the answers choose SSE-S3, so there is no customer managed key to encrypt the "
            "log group with.",
        )
    if enc.existing_key:
        return (
            "the log group is not encrypted with an existing key (its policy is not widened)",
            "the log group is encrypted only with a key this setup creates; the policy of the "
            "existing key is not widened beyond log delivery (CloudWatch Logs encrypts the "
            "events with its own keys).",
        )
    return (
        "the answers put the key in another region than the log group",
        f"the answers put the bucket and its key in {names.bucket_region()}, the log group "
        f"in {names.home_region}; a log group can only use a key of its own region, so it is "
        "left unencrypted, as apply does.",
    )


def log_group_key_context(names: Names) -> str | None:
    """The log group's ARN as CloudWatch Logs puts it in its encryption context (no ``:*``)."""
    arn = names.log_group_arn
    return arn.removesuffix(":*") if arn is not None else None


def key_logs_statement(service: object, group_arn: object) -> Statement:
    """Let CloudWatch Logs encrypt one log group with this key.

    AWS's statement for a log group encrypted with a customer managed key (CloudWatch Logs
    User Guide, "Encrypt log data in CloudWatch Logs using AWS Key Management Service"): the
    regional service principal may ``kms:Encrypt*``, ``kms:Decrypt*``, ``kms:ReEncrypt*``,
    ``kms:GenerateDataKey*`` and ``kms:Describe*``, narrowed with ``ArnEquals`` on the
    encryption context CloudWatch Logs sends (``kms:EncryptionContext:aws:logs:arn``, the
    group's ARN without the trailing ``:*``) so that it serves that one group only.

    Args:
        service: The principal, ``logs.<region>.amazonaws.com`` (:func:`logs_service`; text,
            or a CloudFormation ``!Sub`` for the template).
        group_arn: The log group's ARN without ``:*`` (text, or a ``!Sub``).
    """
    return {
        "Sid": "AllowCloudWatchLogsEncryptLogGroup",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": [
            "kms:Decrypt*",
            "kms:Describe*",
            "kms:Encrypt*",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        ],
        "Resource": "*",
        "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group_arn}},
    }


def key_policy(names: Names, *, topic: bool = False, log_group: bool = False) -> Policy:
    """The complete policy of a new CloudTrail key.

    Account root administers the key (so IAM policies can grant use and the key can never be
    locked out); CloudTrail may encrypt for this account's trails and describe the key; log
    readers may decrypt CloudTrail log files only. Without named readers the decrypt grant is
    limited to principals of this account (``kms:CallerAccount``), never an open ``*``.
    With ``topic`` (see :func:`encrypts_topic`) CloudTrail may also publish to the new topic
    the key encrypts (:func:`key_topic_statement`). With ``log_group`` (see
    :func:`encrypts_log_group`) CloudWatch Logs may use it for the trail's log group
    (:func:`key_logs_statement`).
    """
    ctx = names.ctx
    statements: list[Statement] = [
        {
            "Sid": "EnableIAMUserPermissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{names.partition}:iam::{ctx.account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        *key_cloudtrail_statements(names),
    ]
    readers = sorted(set(names.answers.encryption.decrypt_principals))
    context_condition = {
        "kms:EncryptionContext:aws:cloudtrail:arn": names.encryption_context_pattern
    }
    if readers:
        statements.append(
            {
                "Sid": "AllowLogReadersDecrypt",
                "Effect": "Allow",
                "Principal": {"AWS": _one_or_list(readers)},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"},
                    "StringLike": context_condition,
                },
            }
        )
    else:
        statements.append(
            {
                "Sid": "AllowAccountPrincipalsDecryptLogs",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": ctx.account_id},
                    "StringLike": context_condition,
                },
            }
        )
    if topic and names.topic_arn:
        statements.append(key_topic_statement(names.topic_arn))
    group_arn = log_group_key_context(names)
    if log_group and group_arn is not None:
        statements.append(key_logs_statement(logs_service(names.home_region), group_arn))
    return _doc(statements, policy_id="cloudtrail-wizard-key-policy")


# -------------------------------------------------------------------------- SNS


def topic_cloudtrail_statement(names: Names) -> Statement:
    """The statement that lets this trail publish to the topic."""
    topic_arn = names.topic_arn
    if topic_arn is None:
        raise ValueError("no SNS topic in the answers")
    return {
        "Sid": "AWSCloudTrailSNSPolicy",
        "Effect": "Allow",
        "Principal": {"Service": CLOUDTRAIL},
        "Action": "SNS:Publish",
        "Resource": topic_arn,
        "Condition": {"StringEquals": {"aws:SourceArn": names.trail_arn}},
    }


def topic_policy(names: Names) -> Policy:
    """The complete policy of a new topic: the owner manages it, the trail publishes."""
    topic_arn = names.topic_arn
    assert topic_arn is not None
    owner = {
        "Sid": "TopicOwnerAdministers",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{names.partition}:iam::{names.account}:root"},
        "Action": [
            "SNS:AddPermission",
            "SNS:DeleteTopic",
            "SNS:GetTopicAttributes",
            "SNS:ListSubscriptionsByTopic",
            "SNS:Publish",
            "SNS:RemovePermission",
            "SNS:SetTopicAttributes",
            "SNS:Subscribe",
        ],
        "Resource": topic_arn,
    }
    return _doc([owner, topic_cloudtrail_statement(names)])


# ---------------------------------------------------------------- CloudWatch Logs


def cloudwatch_role_trust_policy(names: Names) -> Policy:
    """Trust policy of the delivery role: CloudTrail may assume it, as AWS documents it.

    AWS's trust policy for the CloudTrail role that writes to CloudWatch Logs (CloudTrail
    User Guide, "Sending events to CloudWatch Logs") has no condition, and AWS does not
    document CloudTrail sending ``aws:SourceArn`` or ``aws:SourceAccount`` when it assumes
    the role: a trust policy that requires them can stop the delivery. Only CloudTrail can
    be given the role (``iam:PassRole`` with ``iam:PassedToService``), and the role may only
    write to this trail's streams of the one log group (:func:`cloudwatch_role_policy`).
    ``names`` is taken like every builder's; the document is the same for every trail.
    """
    return _doc(
        [
            {
                "Sid": "AllowCloudTrailAssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "sts:AssumeRole",
            }
        ]
    )


def cloudwatch_role_policy(names: Names, organization_id: str | None = None) -> Policy:
    """Permissions of the delivery role: create streams and put events in CloudTrail's streams."""
    group = names.answers.cloudwatch_logs.log_group
    assert group is not None
    base = f"arn:{names.partition}:logs:{names.home_region}:{names.account}:log-group:{group}"
    streams = [f"{base}:log-stream:{names.account}_CloudTrail_{names.home_region}*"]
    if names.answers.trail.organization and organization_id:
        streams.append(f"{base}:log-stream:{organization_id}_*")
    resource = _one_or_list(streams)
    return _doc(
        [
            {
                "Sid": "AWSCloudTrailCreateLogStream",
                "Effect": "Allow",
                "Action": "logs:CreateLogStream",
                "Resource": resource,
            },
            {
                "Sid": "AWSCloudTrailPutLogEvents",
                "Effect": "Allow",
                "Action": "logs:PutLogEvents",
                "Resource": resource,
            },
        ]
    )


# ------------------------------------------------------------- central logging
# A log-archive account's bucket and key: each account's own statements (Sids suffixed with
# its id, so several accounts' sit side by side), and the key statements for many trails.


def _suffixed(statements: list[Statement], account: str) -> list[Statement]:
    """Statements with the account id appended to each Sid: one set per account, no clash."""
    return [{**s, "Sid": f"{s['Sid']}{account}"} if "Sid" in s else s for s in statements]


def account_bucket_statements(names: Names, organization_id: str | None = None) -> list[Statement]:
    """This account's statements for a central bucket: its path, pinned to this trail.

    The same grants as :func:`wizard.policy.policies.bucket_cloudtrail_statements` (ACL check, and
    PutObject on ``[prefix/]AWSLogs/<this-account>/*``, both with ``aws:SourceArn``), with
    Sids suffixed by the account id so that several accounts' statements sit side by side.
    """
    return _suffixed(bucket_cloudtrail_statements(names, organization_id), names.trail_owner)


def _reader_statement(readers: Sequence[str], patterns: Sequence[str], sid: str) -> Statement:
    values: str | list[str] = patterns[0] if len(patterns) == 1 else list(patterns)
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": readers[0] if len(readers) == 1 else list(readers)},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {
            "Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"},
            "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": values},
        },
    }


def account_key_statements(
    names: Names, *, bucket_key_decrypt: bool = False, readers: Sequence[str] = ()
) -> list[Statement]:
    """This account's statements for a central key.

    CloudTrail may generate data keys only for this account's trails (encryption context)
    and only for this trail (``aws:SourceArn``), and describe the key; named readers may
    decrypt CloudTrail log files of this account's trails.
    """
    statements = key_cloudtrail_statements(names, bucket_key_decrypt=bucket_key_decrypt)
    if readers:
        statements.append(
            _reader_statement(
                sorted(set(readers)), [names.encryption_context_pattern], "AllowLogReadersDecrypt"
            )
        )
    return _suffixed(statements, names.trail_owner)


def central_key_statements(
    writers: Sequence[TrailWriter], partition: str, readers: Sequence[str] = ()
) -> list[Statement]:
    """Key statements for trails of several accounts (the key twin of
    :func:`wizard.policy.policies.central_bucket_statements`): one encrypt and one describe
    statement whose ``aws:SourceArn`` lists every trail and whose encryption context lists
    every account; plus a decrypt grant for named readers."""
    if not writers:
        raise ValueError("a central key policy needs at least one trail")
    arns = sorted({w.trail_arn for w in writers})
    patterns = sorted({f"arn:{partition}:cloudtrail:*:{w.account_id}:trail/*" for w in writers})
    source: str | list[str] = arns[0] if len(arns) == 1 else arns
    context: str | list[str] = patterns[0] if len(patterns) == 1 else patterns
    statements: list[Statement] = [
        {
            "Sid": "AWSCloudTrailEncryptLogs",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceArn": source},
                "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": context},
            },
        },
        {
            "Sid": "AWSCloudTrailDescribeKey",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": source}},
        },
    ]
    if readers:
        statements.append(
            _reader_statement(sorted(set(readers)), patterns, "AllowLogReadersDecrypt")
        )
    return statements


def central_bucket_required(names: Names, organization_id: str | None = None) -> Policy:
    """The policy document of this account's central-bucket statements."""
    return _doc(account_bucket_statements(names, organization_id))


def central_key_required(
    names: Names, *, bucket_key_decrypt: bool = False, readers: Sequence[str] = ()
) -> Policy:
    """The policy document of this account's central-key statements."""
    return _doc(
        account_key_statements(names, bucket_key_decrypt=bucket_key_decrypt, readers=readers)
    )


# ---------------------------------------------------------------------- bundle


class PolicySet(WizardModel):
    """Every policy document the answers produce (None where not applicable)."""

    bucket_policy: dict[str, Any] | None
    """The new bucket's whole policy, or CloudTrail's statements for an existing bucket."""
    key_policy: dict[str, Any] | None
    """The new key's whole policy, or CloudTrail's statements for an existing key."""
    sns_topic_policy: dict[str, Any] | None
    """A new topic's policy, or CloudTrail's statement for an existing topic."""
    cloudwatch_logs_role_trust_policy: dict[str, Any] | None
    """Trust policy of a new delivery role."""
    cloudwatch_logs_role_policy: dict[str, Any] | None
    """Permissions of a new delivery role."""
    access_log_bucket_policy: dict[str, Any] | None = None
    """A new access log bucket's policy, or log delivery's statement for an existing one."""
    operator_policy: dict[str, Any]
    """Least-privilege IAM policy for the person running the wizard."""

    @model_serializer(mode="wrap")
    def _drop_unused_optional(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Access logging is optional and off by default: leave its key out when unused, so
        # the documents of answers without it stay exactly what they were.
        data: dict[str, Any] = handler(self)
        if data.get("access_log_bucket_policy") is None:
            data.pop("access_log_bucket_policy", None)
        return data


def build_policies(answers: Answers, ctx: AccountContext) -> PolicySet:
    """Build every policy for the answers, offline.

    For existing resources the documents hold the statements the wizard would merge in (the
    engine merges them into the live policy and shows the diff).
    """
    names = Names(answers, ctx)
    org = ctx.organization_id
    if answers.bucket.create:
        bucket: Policy = bucket_policy(names, org)
    else:
        bucket = _doc(bucket_cloudtrail_statements(names, org))
    key: Policy | None = None
    if answers.encryption.new_key:
        region = names.bucket_region()
        key = key_policy(
            names,
            topic=encrypts_topic(names, region),
            log_group=encrypts_log_group(names, region),
        )
    elif answers.encryption.existing_key:
        key = _doc(key_cloudtrail_statements(names))
    topic: Policy | None = None
    if answers.notifications.sns_topic:
        topic = (
            _doc([topic_cloudtrail_statement(names)])
            if answers.notifications.topic_is_arn
            else topic_policy(names)
        )
    trust = role = None
    if answers.cloudwatch_logs.enabled and not answers.cloudwatch_logs.role_is_arn:
        trust = cloudwatch_role_trust_policy(names)
        role = cloudwatch_role_policy(names, org)
    access: Policy | None = None
    if answers.bucket.access_logs is not None:
        access = (
            access_log_bucket_policy(names)
            if answers.bucket.access_logs.create
            else _doc([access_log_statement(names)])
        )
    return PolicySet(
        bucket_policy=bucket,
        key_policy=key,
        sns_topic_policy=topic,
        cloudwatch_logs_role_trust_policy=trust,
        cloudwatch_logs_role_policy=role,
        access_log_bucket_policy=access,
        operator_policy=operator_policy(answers, ctx),
    )
