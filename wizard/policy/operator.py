"""The operator's least-privilege IAM policy: exactly what running this setup needs.

Every AWS call the wizard may make for the answers (discovery reads, the changes, the
verification reads and the rollback calls) maps to an IAM action here, scoped to the
resources of this setup where IAM allows it. The engine's plan is checked against this list
in the tests, so the policy cannot drift from what the tool really calls.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext, Names
from wizard.model.names import classify_key_ref, parse_arn

_SSO_ROLE_PREFIX = "AWSReservedSSO_"
"""IAM Identity Center roles: they always live under a path the session ARN does not show."""


class Need(WizardModel):
    """One IAM permission the operator needs, and why."""

    sid: str
    """Statement the permission is grouped into."""
    actions: tuple[str, ...]
    """IAM actions."""
    resources: tuple[str, ...]
    """Resource ARNs (or "*" where the action supports no resource scoping)."""
    purpose: str
    """Why, in a few words."""
    condition: dict[str, Any] | None = None
    """Optional IAM condition block."""


def operator_needs(answers: Answers, ctx: AccountContext) -> list[Need]:
    """Every permission needed to discover, apply, verify and roll back this setup."""
    n = Names(answers, ctx)
    p, acct = n.partition, ctx.account_id
    needs: list[Need] = [
        Need(
            sid="DiscoverAccountState",
            actions=(
                "cloudtrail:DescribeTrails",
                "cloudtrail:ListTrails",
                # Keys are only looked up when the logs are encrypted with KMS.
                *(
                    ("kms:ListAliases", "kms:ListKeys")
                    if answers.encryption.type == "sse-kms"
                    else ()
                ),
                "s3:ListAllMyBuckets",
            ),
            resources=("*",),
            purpose="list existing trails, buckets and keys (these actions take no resource)",
        ),
        Need(
            sid="ManageTrail",
            actions=(
                "cloudtrail:AddTags",
                "cloudtrail:CreateTrail",
                "cloudtrail:DeleteTrail",
                "cloudtrail:GetEventSelectors",
                # An existing trail of that name is compared with the answers and updated
                # (wizard.plan.desired): its Insights read, and set or turned off, its
                # settings and the answers' tags changed, and all of it put back on rollback.
                "cloudtrail:GetInsightSelectors",
                "cloudtrail:GetTrail",
                "cloudtrail:GetTrailStatus",
                # Is a trail of this name the run's own? (its run tag; wizard.run.ownership)
                "cloudtrail:ListTags",
                "cloudtrail:PutEventSelectors",
                "cloudtrail:PutInsightSelectors",
                "cloudtrail:RemoveTags",
                "cloudtrail:StartLogging",
                "cloudtrail:StopLogging",
                "cloudtrail:UpdateTrail",
                # Data event aggregation (PutEventConfiguration; read back to verify).
                *(
                    ("cloudtrail:GetEventConfiguration", "cloudtrail:PutEventConfiguration")
                    if answers.events.aggregation
                    else ()
                ),
            ),
            resources=(n.trail_arn,),
            purpose="create or update, start, verify and (on rollback) delete or restore the trail",
        ),
        # The trails that may already record this account: the cost preview's other copies
        # of management events (wizard.account.activity) and the organization trails of a
        # landing zone (wizard.account.landing), whose ARNs name the management account.
        # Read-only; refused, their settings show as unknown, never guessed.
        Need(
            sid="ReadOtherTrails",
            actions=(
                "cloudtrail:GetEventSelectors",
                "cloudtrail:GetInsightSelectors",
                "cloudtrail:GetTrail",
                "cloudtrail:GetTrailStatus",
            ),
            resources=(f"arn:{p}:cloudtrail:*:*:trail/*",),
            purpose="read what the other trails that may record this account record (the "
            "cost of a second copy, landing-zone trails); read-only",
        ),
        # The cost preview (wizard.account.activity): refused, it falls back to stated
        # defaults and says so, so these only make the estimate better, never the run safer.
        Need(
            sid="EstimateCost",
            actions=("cloudtrail:LookupEvents", "ec2:DescribeRegions"),
            resources=("*",),
            purpose="count recent management events for the cost preview (these actions "
            "take no resource)",
        ),
    ]
    bucket_reads = (
        "s3:GetBucketLocation",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetBucketOwnershipControls",
        "s3:GetBucketPolicy",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketVersioning",
        "s3:GetEncryptionConfiguration",
        "s3:ListBucket",
    )
    if answers.bucket.create:
        writes: tuple[str, ...] = (
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:DeleteBucketPolicy",
            "s3:PutBucketOwnershipControls",
            "s3:PutBucketPolicy",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutEncryptionConfiguration",
            *(("s3:PutBucketVersioning",) if answers.bucket.versioning else ()),
            *(("s3:PutBucketTagging",) if answers.trail.tags else ()),
            *_retention_writes(answers),
            # CreateBucket carries the run tag (CreateBucketConfiguration.Tags), read back
            # to tell the run's bucket from a same-named one (wizard.run.ownership).
            "s3:GetBucketTagging",
            "s3:TagResource",
        )
        needs.append(
            Need(
                sid="ManageLogBucket",
                actions=tuple(sorted({*bucket_reads, *writes})),
                resources=(n.bucket_arn,),
                purpose="create and secure the log bucket; delete it again on rollback",
            )
        )
    else:
        writes = (
            ("s3:DeleteBucketPolicy", "s3:PutBucketPolicy") if answers.bucket.update_policy else ()
        ) + _retention_writes(answers)
        needs.append(
            Need(
                sid="ReadAndUpdateLogBucketPolicy" if writes else "ReadLogBucket",
                actions=tuple(sorted({*bucket_reads, *writes})),
                resources=(n.bucket_arn,),
                purpose="check the bucket and merge CloudTrail's statements into its policy",
            )
        )
    needs.extend(_access_log_needs(answers, n))
    needs.extend(_key_needs(answers, n))
    needs.extend(_principal_needs(answers, n))
    if answers.notifications.sns_topic:
        topic_arn = n.topic_arn
        assert topic_arn is not None
        actions: tuple[str, ...] = ("sns:GetTopicAttributes", "sns:SetTopicAttributes")
        if not answers.notifications.topic_is_arn:
            # A new topic is tagged as it is created (the run tag, and the answers' tags).
            actions += (
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:ListTagsForResource",  # is a topic of this name the run's? (its tag)
                "sns:TagResource",
            )
        needs.append(
            Need(
                sid="ManageNotificationTopic",
                actions=tuple(sorted(actions)),
                resources=(topic_arn,),
                purpose="let the trail publish to the topic",
            )
        )
    if answers.cloudwatch_logs.enabled:
        needs.extend(_cloudwatch_needs(answers, n))
    if answers.trail.organization:
        needs.append(
            Need(
                sid="OrganizationTrailPrerequisites",
                # CloudTrail enables (and on deletion may disable) its trusted access in the
                # organization with the caller's permissions.
                actions=(
                    "iam:CreateServiceLinkedRole",
                    "iam:GetRole",
                    "organizations:DescribeOrganization",
                    "organizations:DisableAWSServiceAccess",
                    "organizations:EnableAWSServiceAccess",
                    "organizations:ListAWSServiceAccessForOrganization",
                    "organizations:ListAccounts",
                    "organizations:ListDelegatedAdministrators",
                ),
                resources=("*",),
                purpose="organization trails: CloudTrail checks the organization on your behalf",
            )
        )
    if answers.organization.delegated_admin:
        needs.append(
            Need(
                sid="RegisterCloudTrailDelegatedAdmin",
                # CloudTrail registers the account with Organizations on the caller's behalf
                # (and checks trusted access and its service-linked role while doing so).
                actions=(
                    "cloudtrail:DeregisterOrganizationDelegatedAdmin",
                    "cloudtrail:RegisterOrganizationDelegatedAdmin",
                    "iam:CreateServiceLinkedRole",
                    "iam:GetRole",
                    "organizations:DeregisterDelegatedAdministrator",
                    "organizations:DescribeAccount",
                    "organizations:DescribeOrganization",
                    "organizations:ListAWSServiceAccessForOrganization",
                    "organizations:ListAccounts",
                    "organizations:ListDelegatedAdministrators",
                    "organizations:RegisterDelegatedAdministrator",
                ),
                resources=("*",),
                purpose="register (and on rollback deregister) CloudTrail's delegated "
                "administrator, from the management account",
            )
        )
    needs.append(
        Need(
            sid="CheckOwnPermissions",
            actions=("iam:SimulatePrincipalPolicy",),
            # IAM authorizes the simulator on the principal simulated (a user or a role,
            # never a session ARN); unknown, any user or role of the account. IAM refuses
            # an ARN without a resource type (arn:aws:iam::ACCOUNT:*) in a policy.
            resources=(principal,)
            if (principal := simulation_principal(ctx.caller_arn)[0])
            else (f"arn:{p}:iam::{acct}:user/*", f"arn:{p}:iam::{acct}:role/*"),
            purpose="optional: lets the wizard check these permissions before changing anything",
        )
    )
    return needs


def _retention_writes(answers: Answers) -> tuple[str, ...]:
    """The log bucket's lifecycle (written and, on rollback, restored or deleted) and Object
    Lock (CreateBucket with ObjectLockEnabledForBucket needs it too)."""
    retention = answers.bucket.retention
    if retention is None:
        return ()
    out: tuple[str, ...] = ()
    if retention.lifecycle:
        out += ("s3:PutLifecycleConfiguration",)
    if retention.object_lock is not None:
        out += ("s3:PutBucketObjectLockConfiguration",)
    return out


def _access_log_needs(answers: Answers, n: Names) -> list[Need]:
    """Server access logging of the log bucket: its setting, and the target bucket."""
    access = answers.bucket.access_logs
    if access is None:
        return []
    target_arn = f"arn:{n.partition}:s3:::{access.bucket}"
    reads = (
        "s3:GetBucketLocation",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketOwnershipControls",
        "s3:GetBucketPolicy",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketRequestPayment",
        "s3:GetEncryptionConfiguration",
        "s3:ListBucket",
    )
    writes: tuple[str, ...] = ("s3:DeleteBucketPolicy", "s3:PutBucketPolicy")
    if access.create:
        writes += (
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:PutBucketOwnershipControls",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutEncryptionConfiguration",
            *(("s3:PutBucketVersioning",) if answers.bucket.versioning else ()),
            *(("s3:PutBucketTagging",) if answers.trail.tags else ()),
            "s3:GetBucketTagging",  # the run tag, read back (wizard.run.ownership)
            "s3:TagResource",  # the run tag, given to CreateBucket
        )
    return [
        Need(
            sid="LogBucketAccessLogging",
            actions=("s3:GetBucketLogging", "s3:PutBucketLogging"),
            resources=(n.bucket_arn,),
            purpose="turn on server access logging of the log bucket; restore it on rollback",
        ),
        Need(
            sid="ManageAccessLogBucket",
            actions=tuple(sorted({*reads, *writes})),
            resources=(target_arn,),
            purpose=(
                "create and secure the access log bucket"
                if access.create
                else "check the access log bucket and merge log delivery's statement"
            ),
        ),
    ]


def _key_needs(answers: Answers, n: Names) -> list[Need]:
    enc = answers.encryption
    if enc.type != "sse-kms":
        return []
    p, acct = n.partition, n.account
    region = n.bucket_region()
    if enc.new_key:
        key_any = f"arn:{p}:kms:{region}:{acct}:key/*"
        alias_arn = f"arn:{p}:kms:{region}:{acct}:{n.key_alias()}"
        return [
            Need(
                sid="CreateTrailKey",
                actions=("kms:CreateKey",),
                resources=("*",),
                purpose="create the log encryption key (CreateKey takes no resource)",
            ),
            Need(
                sid="ManageTrailKey",
                actions=tuple(
                    sorted(
                        {
                            "kms:CreateAlias",
                            "kms:DeleteAlias",
                            "kms:DescribeKey",
                            # The key an earlier apply made is updated instead: rotation
                            # turned on (off again on rollback), policy merged, tags set.
                            "kms:DisableKeyRotation",
                            "kms:EnableKeyRotation",
                            "kms:GetKeyPolicy",
                            "kms:GetKeyRotationStatus",
                            "kms:PutKeyPolicy",
                            "kms:UntagResource",
                            # The run tag every new key gets (CreateKey with Tags), and
                            # finding a key a retried CreateKey made twice by that tag.
                            "kms:ListResourceTags",
                            "kms:ScheduleKeyDeletion",
                            "kms:TagResource",
                        }
                    )
                ),
                resources=(key_any, alias_arn),
                purpose="tag, alias, rotate and verify the new key; schedule its deletion on "
                "rollback, and that of a duplicate a retried request created",
            ),
        ]
    ref = classify_key_ref(enc.existing_key or "")
    key_resource = (
        ref.value
        if not isinstance(ref, str) and ref.form == "key-arn"
        else f"arn:{p}:kms:{region if not isinstance(ref, str) and ref.region is None else '*'}:"
        f"{acct if isinstance(ref, str) or ref.account is None else ref.account}:key/*"
    )
    actions = {"kms:DescribeKey", "kms:GetKeyPolicy"}
    if enc.update_key_policy:
        actions.add("kms:PutKeyPolicy")
    return [
        Need(
            sid="ReadAndUpdateTrailKey" if enc.update_key_policy else "ReadTrailKey",
            actions=tuple(sorted(actions)),
            resources=(key_resource,),
            purpose="check the existing key and merge CloudTrail's statements into its policy",
        )
    ]


def _principal_needs(answers: Answers, n: Names) -> list[Need]:
    """Looking up this account's users and roles a new key's policy names.

    KMS refuses a key policy that names a user or role that does not exist; discovery looks
    each one up (GetRole, GetUser) so that preflight can say so before anything changes.
    """
    if not answers.encryption.new_key:
        return []
    by_action: dict[str, list[str]] = {"role": [], "user": []}
    for arn in sorted(set(answers.encryption.decrypt_principals)):
        parsed = parse_arn(arn)
        if parsed is None or parsed.account != n.account:
            continue
        kind = parsed.resource.partition("/")[0]
        if kind in by_action:
            by_action[kind].append(arn)
    actions = {"role": "iam:GetRole", "user": "iam:GetUser"}
    sids = {"role": "CheckKeyPolicyRoles", "user": "CheckKeyPolicyUsers"}
    return [
        Need(
            sid=sids[kind],
            actions=(actions[kind],),
            resources=tuple(arns),
            purpose="check that the users and roles the key policy names exist (KMS refuses "
            "a key policy naming one that does not)",
        )
        for kind, arns in by_action.items()
        if arns
    ]


def _cloudwatch_needs(answers: Answers, n: Names) -> list[Need]:
    cw = answers.cloudwatch_logs
    group = cw.log_group
    assert group is not None
    base = f"arn:{n.partition}:logs:{n.home_region}:{n.account}:log-group"
    needs = [
        Need(
            sid="ListLogGroups",
            actions=("logs:DescribeLogGroups",),
            resources=(f"{base}:*",),
            purpose="find the log group",
        ),
        Need(
            sid="ManageLogGroup",
            actions=tuple(
                sorted(
                    {
                        "logs:CreateLogGroup",
                        "logs:DeleteLogGroup",
                        "logs:ListTagsLogGroup",  # is the group the run's own? (its tag)
                        "logs:PutRetentionPolicy",
                        "logs:TagResource",  # a new group is created with the run tag
                    }
                )
            ),
            resources=(f"{base}:{group}", f"{base}:{group}:*"),
            purpose="create the log group with its retention; delete it on rollback",
        ),
    ]
    role_arn = n.role_arn
    assert role_arn is not None
    role_actions = {"iam:GetRole", "iam:GetRolePolicy"}
    if not cw.role_is_arn:
        role_actions |= {
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:DeleteRolePolicy",
            "iam:ListRoleTags",  # is a role of this name the run's own? (its tag)
            "iam:PutRolePolicy",
            "iam:TagRole",  # a new role is created with the run tag
        }
    needs.append(
        Need(
            sid="ManageDeliveryRole",
            actions=tuple(sorted(role_actions)),
            resources=(role_arn,),
            purpose="create the role CloudTrail uses to write to CloudWatch Logs",
        )
    )
    needs.append(
        Need(
            sid="PassDeliveryRoleToCloudTrail",
            actions=("iam:PassRole",),
            resources=(role_arn,),
            purpose="hand the delivery role to CloudTrail, and to nothing else",
            condition={"StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}},
        )
    )
    return needs


def operator_policy(answers: Answers, ctx: AccountContext) -> dict[str, Any]:
    """The operator's IAM policy document, one statement per purpose, deterministic."""
    grouped: OrderedDict[str, Need] = OrderedDict()
    for need in operator_needs(answers, ctx):
        if need.sid in grouped:
            old = grouped[need.sid]
            need = old.model_copy(
                update={
                    "actions": tuple(sorted({*old.actions, *need.actions})),
                    "resources": tuple(sorted({*old.resources, *need.resources})),
                }
            )
        grouped[need.sid] = need
    statements: list[dict[str, Any]] = []
    for need in grouped.values():
        statement: dict[str, Any] = {
            "Sid": need.sid,
            "Effect": "Allow",
            "Action": list(need.actions) if len(need.actions) > 1 else need.actions[0],
            "Resource": list(need.resources) if len(need.resources) > 1 else need.resources[0],
        }
        if need.condition:
            statement["Condition"] = need.condition
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def action_for(service: str, operation: str) -> str:
    """The IAM action behind an API operation (``s3``, ``HeadBucket`` -> ``s3:ListBucket``)."""
    special = {
        ("s3", "HeadBucket"): "s3:ListBucket",
        ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
        ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
        ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
        ("s3", "DeleteBucketEncryption"): "s3:PutEncryptionConfiguration",
        ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
        ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
        ("s3", "DeletePublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
        ("s3", "GetBucketRequestPayment"): "s3:GetBucketRequestPayment",
        ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
        ("s3", "PutObjectLockConfiguration"): "s3:PutBucketObjectLockConfiguration",
        ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
        ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
        ("s3", "DeleteBucketLifecycle"): "s3:PutLifecycleConfiguration",
    }
    return special.get((service, operation), f"{service}:{operation}")


def stackset_operator_needs(
    partition: str, account: str, region: str, stack_set: str, *, central: bool = True
) -> list[Need]:
    """What ``onboard --engine stacksets`` needs in the management (or delegated administrator)
    account: the organization read, the StackSet run, its operations followed, and (central)
    the central bucket and key policies read and written in the log-archive account.

    Args:
        partition: ARN partition.
        account: The management or delegated administrator account.
        region: Where the StackSet lives.
        stack_set: The StackSet's name.
        central: Include the log-archive account's permissions (another account's policy).
    """
    base = f"arn:{partition}:cloudformation:{region}:{account}"
    needs = [
        Need(
            sid="ReadOrganization",
            actions=(
                "organizations:DescribeOrganization",
                "organizations:ListAccountsForParent",
                "organizations:ListOrganizationalUnitsForParent",
                "cloudformation:DescribeOrganizationsAccess",
            ),
            resources=("*",),
            purpose="the organization, its OUs' accounts, and whether StackSets may deploy "
            "there (trusted access)",
        ),
        Need(
            sid="RunStackSet",
            actions=(
                "cloudformation:CreateStackInstances",
                "cloudformation:CreateStackSet",
                "cloudformation:DeleteStackInstances",
                "cloudformation:DeleteStackSet",
                "cloudformation:DescribeStackSet",
                "cloudformation:DescribeStackSetOperation",
                "cloudformation:ListStackInstances",
                "cloudformation:ListStackSetOperationResults",
                "cloudformation:StopStackSetOperation",
                "cloudformation:TagResource",
                "cloudformation:UpdateStackSet",
            ),
            resources=(
                f"{base}:stackset/{stack_set}:*",
                f"{base}:stackset-target/{stack_set}:*/*",
                f"arn:{partition}:cloudformation:*::type/resource/*",
            ),
            purpose="create or update the wizard's StackSet, deploy its instances to the OUs, "
            "follow each operation, and undo what a failed run added",
        ),
    ]
    if central:
        needs.append(
            Need(
                sid="CentralPoliciesInLogArchiveAccount",
                actions=(
                    "kms:DescribeKey",
                    "kms:GetKeyPolicy",
                    "kms:PutKeyPolicy",
                    "s3:DeleteBucketPolicy",
                    "s3:GetBucketPolicy",
                    "s3:ListBucket",
                    "s3:PutBucketPolicy",
                ),
                resources=("*",),
                purpose="in the log-archive account (its role or profile): read the central "
                "bucket and key policies and merge the organization's statements in once",
            )
        )
    return needs


def stackset_operator_policy(
    partition: str, account: str, region: str, stack_set: str, *, central: bool = True
) -> dict[str, Any]:
    """:func:`stackset_operator_needs` as an IAM policy document, one statement per purpose."""
    statements: list[dict[str, Any]] = []
    for need in stackset_operator_needs(partition, account, region, stack_set, central=central):
        statements.append(
            {
                "Sid": need.sid,
                "Effect": "Allow",
                "Action": list(need.actions),
                "Resource": list(need.resources) if len(need.resources) > 1 else need.resources[0],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def simulation_principal(caller_arn: str | None) -> tuple[str | None, str]:
    """The IAM principal to simulate for a caller ARN, or why there is none.

    Args:
        caller_arn: The ARN STS GetCallerIdentity returned.

    Returns:
        ``(principal_arn, "")`` for an IAM user or an assumed role (mapped from
        ``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`` to ``arn:aws:iam::ACCT:role/ROLE``);
        ``(None, reason)`` when the caller cannot be simulated.
    """
    if not caller_arn:
        return None, "the caller's identity is not known"
    arn = parse_arn(caller_arn)
    if arn is None:
        return None, f"{caller_arn} is not an ARN"
    kind, _, rest = arn.resource.partition("/")
    if arn.service == "iam" and arn.resource == "root":
        return None, (
            f"{caller_arn} is the account's root user, which IAM policies do not restrict (AWS "
            "recommends not using it for everyday tasks: run the wizard as an IAM role or user)"
        )
    # IAM users; some emulators report users with the sts service, which AWS never does.
    if arn.service in ("iam", "sts") and kind == "user" and rest:
        return f"arn:{arn.partition}:iam::{arn.account}:user/{rest}", ""
    if arn.service == "sts" and kind == "assumed-role":
        role, _, session = rest.partition("/")
        if not role or not session:
            return None, f"{caller_arn} is not a complete assumed-role ARN"
        if role.startswith(_SSO_ROLE_PREFIX):
            return None, (
                f"the role {role} (IAM Identity Center) lives under a path such as "
                "/aws-reserved/sso.amazonaws.com/ that the session ARN does not show, so its "
                "ARN cannot be derived"
            )
        return f"arn:{arn.partition}:iam::{arn.account}:role/{role}", ""
    if arn.service == "sts" and kind == "federated-user":
        return None, (
            f"{caller_arn} is a federated user session, whose permissions the policy simulator "
            "cannot evaluate"
        )
    return None, f"{caller_arn} is not an IAM user or an assumed role"
