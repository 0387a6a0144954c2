"""The CloudWatch Logs chain: the log group (when missing) and the delivery role (when new).

A new log group is encrypted with the trail's new key when that key is in the group's region
(:func:`wizard.policy.policies.encrypts_log_group`, the rule every export follows too); the
key's policy then lets CloudWatch Logs use it for that group. An existing log group is used
as it is, never re-keyed (preflight says so); an existing role is only named, never created
or changed. A new role may be assumed by CloudTrail (AWS's trust policy for it,
without a condition) and may write only to the trail's log group.

A role the answers create that exists already and is theirs (an earlier apply made it, or
the trail uses it: :mod:`wizard.plan.desired`) keeps its trust policy; its inline policy is
rewritten only when it no longer grants what the answers want (another log group), and put
back exactly on rollback.
"""

from __future__ import annotations

from typing import Any

from wizard.account.current import ROLE_POLICY_NAME as ROLE_POLICY_NAME
from wizard.model.plan import NONE_SHOWN, Call, PolicyChange, SettingChange
from wizard.plan.desired import json_equal
from wizard.plan.planner.builder import (
    PlanBuilder,
    PlanInputs,
    policy_change,
    readable_diff,
    tags_kv,
)
from wizard.plan.planner.key import NEW_KEY_ARN
from wizard.plan.review import PolicyReview
from wizard.policy.merge import render_policy
from wizard.policy.policies import encrypts_log_group

NEW_ROLE_ARN = "${create-role:Role.Arn}"
"""The new role's ARN, known once ``create-role`` has run."""


def logs_chain(b: PlanBuilder, given: PlanInputs, trail_deps: list[str]) -> str | None:
    """Add the log group and role steps; returns what CreateTrail gets as CloudWatchLogsRoleArn."""
    cw = given.answers.cloudwatch_logs
    if not cw.enabled or cw.log_group is None:
        return None
    logs = given.found.logs
    if logs is None or not logs.group_exists:
        trail_deps.extend(_new_log_group(b, given, cw.log_group))
    if cw.role_is_arn:
        return cw.role
    if logs is not None and logs.role_exists:
        if given.adopted.role:
            step = _update_role_policy(b, given, cw.log_group)
            if step is not None:
                trail_deps.append(step)
        # Otherwise a role of that name is not this run's to create or change: preflight
        # refuses the plan (iam-role-exists), and the plan only names the role it found.
        return logs.role_arn or given.names.role_arn
    trail_deps.extend(_new_role(b, given, cw.log_group))
    return NEW_ROLE_ARN


# ------------------------------------------------------------------------------ log group


def _new_log_group(b: PlanBuilder, given: PlanInputs, group: str) -> list[str]:
    """Create the log group and set its retention; returns both steps."""
    region = given.names.home_region
    return [_create_log_group(b, given, group, region), _set_retention(b, given, group, region)]


def _create_log_group(b: PlanBuilder, given: PlanInputs, group: str, region: str) -> str:
    """CreateLogGroup, tagged at creation (and encrypted with the trail's new key when the
    rule says so); undone by deleting the group."""
    params: dict[str, Any] = {"logGroupName": group}
    depends_on: list[str] = []
    summary = f"Create CloudWatch Logs group {group} in {region}"
    if encrypts_log_group(given.names, given.names.bucket_region(given.found.bucket.region)):
        # CloudWatch Logs refuses the key unless its policy already lets logs.<region> use it
        # for this group: the new key is created with that statement, and a key an earlier
        # apply made (wizard.plan.desired) gets it merged in first.
        adopted = given.adopted.key
        if adopted is not None and adopted.arn:
            params["kmsKeyId"] = adopted.arn
            depends_on.extend(s for s in b.ids_in("key") if s == "update-key-policy")
            summary += f", encrypted with the trail's key {given.names.key_alias()}"
        else:
            params["kmsKeyId"] = NEW_KEY_ARN
            depends_on.append("create-key")
            summary += ", encrypted with the trail's new key"
    group_tags = given.creation_tags()
    if group_tags:
        params["tags"] = group_tags
    return b.add(
        "create-log-group",
        "logs",
        Call(service="logs", region=region, operation="CreateLogGroup", params=params),
        summary,
        creates=given.names.log_group_arn,
        depends_on=depends_on,
        undo=[
            Call(
                service="logs",
                region=region,
                operation="DeleteLogGroup",
                params={"logGroupName": group},
            )
        ],
        undo_summary=f"Delete the log group {group}",
    )


def _set_retention(b: PlanBuilder, given: PlanInputs, group: str, region: str) -> str:
    """How long the new group keeps events."""
    days = given.answers.cloudwatch_logs.retention_days
    return b.add(
        "log-group-retention",
        "logs",
        Call(
            service="logs",
            region=region,
            operation="PutRetentionPolicy",
            params={"logGroupName": group, "retentionInDays": days},
        ),
        f"Keep events for {days} days",
        changes=given.names.log_group_arn,
        depends_on=["create-log-group"],
    )


# ------------------------------------------------------------------------------ the role


def _new_role(b: PlanBuilder, given: PlanInputs, group: str) -> list[str]:
    """Create the delivery role and give it its inline policy; returns both steps."""
    trust = given.reviews.role_trust
    permissions = given.reviews.role_permissions
    assert trust is not None and permissions is not None
    role = given.names.role_name or ""
    region = given.names.home_region
    return [
        _create_role(b, given, role, trust, group, region),
        _put_role_policy(b, given, role, permissions, group, region),
    ]


def _create_role(
    b: PlanBuilder, given: PlanInputs, role: str, trust: PolicyReview, group: str, region: str
) -> str:
    """CreateRole with AWS's trust policy for the role: only CloudTrail may assume it."""
    role_params: dict[str, Any] = {
        "RoleName": role,
        "AssumeRolePolicyDocument": trust.document,
        "Description": f"Lets CloudTrail trail {given.answers.trail.name} write to {group}",
    }
    role_tags = given.creation_tags()
    if role_tags:
        role_params["Tags"] = tags_kv(role_tags)
    return b.add(
        "create-role",
        "logs",
        Call(service="iam", region=region, operation="CreateRole", params=role_params),
        f"Create IAM role {role} that only CloudTrail can assume",
        creates=given.names.role_arn,
        undo=[
            Call(service="iam", region=region, operation="DeleteRole", params={"RoleName": role})
        ],
        undo_summary=f"Delete the role {role}",
        policy=policy_change(trust),
    )


def _put_role_policy(
    b: PlanBuilder,
    given: PlanInputs,
    role: str,
    permissions: dict[str, Any],
    group: str,
    region: str,
) -> str:
    """The role's inline policy: create log streams and put events in the one log group."""
    document = render_policy(permissions)
    return b.add(
        "put-role-policy",
        "logs",
        Call(
            service="iam",
            region=region,
            operation="PutRolePolicy",
            params={
                "RoleName": role,
                "PolicyName": ROLE_POLICY_NAME,
                "PolicyDocument": document,
            },
        ),
        f"Let the role create log streams and put events in {group} only",
        changes=given.names.role_arn,
        depends_on=["create-role"],
        undo=[
            Call(
                service="iam",
                region=region,
                operation="DeleteRolePolicy",
                params={"RoleName": role, "PolicyName": ROLE_POLICY_NAME},
            )
        ],
        undo_summary="Remove the role's inline policy",
        policy=PolicyChange(
            kind="role-permissions",
            resource=given.names.role_arn or role,
            before=None,
            after=document,
            added_sids=[str(s["Sid"]) for s in permissions["Statement"]],
        ),
    )


def _update_role_policy(b: PlanBuilder, given: PlanInputs, group: str) -> str | None:
    """The answers' role exists: rewrite its inline policy only when it differs."""
    permissions = given.reviews.role_permissions
    logs = given.found.logs
    extras = logs.role_extras if logs is not None else None
    if permissions is None or extras is None or not extras.policy_readable:
        return None
    document = render_policy(permissions)
    if json_equal(extras.policy, document):
        return None
    role = given.names.role_name or ""
    region = given.names.home_region
    previous = extras.policy
    undo = (
        Call(
            service="iam",
            region=region,
            operation="PutRolePolicy",
            params={"RoleName": role, "PolicyName": ROLE_POLICY_NAME, "PolicyDocument": previous},
        )
        if previous is not None
        else Call(
            service="iam",
            region=region,
            operation="DeleteRolePolicy",
            params={"RoleName": role, "PolicyName": ROLE_POLICY_NAME},
        )
    )
    return b.add(
        "update-role-policy",
        "logs",
        Call(
            service="iam",
            region=region,
            operation="PutRolePolicy",
            params={"RoleName": role, "PolicyName": ROLE_POLICY_NAME, "PolicyDocument": document},
        ),
        f"Let the role {role} create log streams and put events in {group} only",
        changes=given.names.role_arn,
        undo=[undo],
        undo_summary="Put the role's previous inline policy back"
        if previous is not None
        else "Remove the inline policy again (there was none)",
        policy=PolicyChange(
            kind="role-permissions",
            resource=given.names.role_arn or role,
            before=previous,
            after=document,
            diff=readable_diff(previous, document),
            added_sids=[str(s["Sid"]) for s in permissions["Statement"]],
        ),
        settings=[
            SettingChange(
                name=f"inline policy {ROLE_POLICY_NAME}",
                current="another document" if previous else NONE_SHOWN,
                wanted=f"create log streams and put events in {group}",
            )
        ],
    )
