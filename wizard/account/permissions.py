"""Permission preflight: can the operator's own identity do everything the setup needs?

Preflight checks the *resources* (bucket, key, topic, role); this module checks the
*operator*. It asks IAM's policy simulator (``iam:SimulatePrincipalPolicy``) whether the
caller's identity policies allow every action in :func:`wizard.policy.operator.operator_needs`, on
the exact resources of this setup, one request per :class:`~wizard.policy.operator.Need`. A setup
that would fail halfway for lack of ``kms:CreateKey`` is then refused before the first
change, with the list of what is missing and the policy that grants it.

The simulator is advisory and not always available: it cannot evaluate the root user or a
federated user session, the caller may not be allowed to call it, and emulators do not
implement it. In all those cases the result is an ``info`` finding that says the check was
skipped, never an error: apply still rolls back cleanly if a permission turns out missing.

Pure core: every call goes through the :class:`wizard.ports.AwsCaller` port.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext
from wizard.model.plan import Finding
from wizard.policy.operator import Need, operator_needs, operator_policy, simulation_principal
from wizard.ports import AwsCaller, AwsError

__all__ = [
    "CHECKED_CODE",
    "POLICY_HINT",
    "UNCHECKED_CODE",
    "Missing",
    "check_permissions",
]

CHECKED_CODE = "operator-permissions"
"""Finding code when the simulator says actions are not allowed (an error: apply is blocked)."""

UNCHECKED_CODE = "operator-permissions-unchecked"
"""Finding code when the permissions could not be checked (info: the wizard carries on)."""

POLICY_HINT = '`cloudtrail-wizard policies ANSWERS` prints it, section "Your IAM policy"'
"""Where the operator finds the policy that grants what is missing."""

SIMULATE = "SimulatePrincipalPolicy"
"""The IAM operation the check is made with."""

_DETAIL_LIMIT = 160
"""Longest error detail quoted in a finding."""

MAX_SIMULATIONS = 16
"""Simulator requests in flight at once (a setup has about ten needs at most)."""


class Missing(WizardModel):
    """One action the simulator did not allow."""

    action: str
    """IAM action (``s3:CreateBucket``)."""
    resource: str
    """Resource ARN it was simulated on (``*`` for actions without resources)."""
    purpose: str
    """Why the setup needs it (the :class:`~wizard.policy.operator.Need`'s purpose)."""
    decision: str
    """The simulator's decision: ``implicitDeny`` or ``explicitDeny``."""


def _context_entries(need: Need) -> list[dict[str, Any]]:
    """The need's StringEquals/StringLike condition values as simulator context entries."""
    entries: list[dict[str, Any]] = []
    for operator in ("StringEquals", "StringLike"):
        for key, value in (need.condition or {}).get(operator, {}).items():
            values = [value] if isinstance(value, str) else [str(v) for v in value]
            entries.append(
                {"ContextKeyName": key, "ContextKeyValues": values, "ContextKeyType": "string"}
            )
    return entries


def _decisions(result: dict[str, Any]) -> list[tuple[str, str]]:
    """``(resource, decision)`` pairs of one evaluation result.

    With several resources, AWS reports one decision per resource in
    ``ResourceSpecificResults`` and an overall ``EvalDecision``; the per-resource ones say
    exactly which resource is refused.
    """
    specific = result.get("ResourceSpecificResults") or []
    if specific:
        return [
            (str(r.get("EvalResourceName", "*")), str(r.get("EvalResourceDecision", "")))
            for r in specific
        ]
    return [(str(result.get("EvalResourceName", "*")), str(result.get("EvalDecision", "")))]


def _simulate(caller: AwsCaller, region: str, principal: str, need: Need) -> list[Missing]:
    params: dict[str, Any] = {
        "PolicySourceArn": principal,
        "ActionNames": list(need.actions),
        "ResourceArns": list(need.resources),
    }
    if entries := _context_entries(need):
        params["ContextEntries"] = entries
    results = caller.paginate("iam", region, SIMULATE, "EvaluationResults", params)
    missing: list[Missing] = []
    for result in results:
        action = str(result.get("EvalActionName", ""))
        for resource, decision in _decisions(result):
            if decision != "allowed":
                missing.append(
                    Missing(
                        action=action,
                        resource=resource,
                        purpose=need.purpose,
                        decision=decision or "unknown",
                    )
                )
    return missing


def _unchecked(reason: str, subject: str | None) -> Finding:
    return Finding(
        severity="info",
        code=UNCHECKED_CODE,
        message=(
            f"The operator's permissions were not checked before planning: {reason}. The wizard "
            "carries on; if a permission is missing, the step that needs it fails and every "
            f"change is rolled back. The permissions this setup needs are in the operator "
            f"policy ({POLICY_HINT})."
        ),
        subject=subject,
    )


def _why_not(err: Exception) -> str:
    if isinstance(err, AwsError):
        if err.access_denied:
            return (
                f"the caller may not call iam:{SIMULATE} ({err.code}), which the wizard uses to "
                "check them"
            )
        if err.code == "NoSuchEntity":
            return (
                f"IAM does not know the principal ({err.message}); a role with a path (such as "
                "/service-role/) cannot be derived from its session ARN"
            )
        return f"iam:{SIMULATE} failed with {err.code}: {err.message}"
    # Anything else (an emulator without the API answers with an error page, a network
    # failure...): the check is advisory, so it is reported and planning goes on. Only the
    # first line is kept: botocore appends whole response bodies (HTML error pages). The
    # exception's class name is left out: it means something to a programmer only.
    first = (str(err).splitlines() or [""])[0].rstrip(":")
    if len(first) > _DETAIL_LIMIT:
        first = first[: _DETAIL_LIMIT - 1] + "…"
    detail = f" ({first})" if first else ""
    return f"IAM's policy simulator (iam:{SIMULATE}) gave no answer the wizard could read{detail}"


def _missing_message(principal: str, missing: Sequence[Missing]) -> str:
    lines = [
        f"{principal} is not allowed {len(missing)} action(s) this setup needs (checked with "
        "IAM's policy simulator):"
    ]
    for m in missing:
        deny = " [explicit deny]" if m.decision == "explicitDeny" else ""
        lines.append(f"  - {m.action} on {m.resource}{deny}: needed to {m.purpose}")
    lines.append(
        f"Attach the operator policy to {principal} ({POLICY_HINT}) and run the plan again."
    )
    if any(m.decision == "explicitDeny" for m in missing):
        lines.append(
            "Actions marked [explicit deny] are blocked by a Deny (a service control policy, a "
            "permissions boundary or a Deny statement): attaching the policy does not lift it; "
            "ask whoever manages that policy."
        )
    return "\n".join(lines)


def check_permissions(caller: AwsCaller, ctx: AccountContext, answers: Answers) -> Finding | None:
    """Check with IAM's policy simulator that the operator may do everything the setup needs.

    One ``SimulatePrincipalPolicy`` request per :class:`~wizard.policy.operator.Need` (its
    actions on its resources, its condition values as context entries), all of them at
    once: one round trip, not one per need, and the first change waits for the answer.

    Args:
        caller: Makes the IAM calls (read-only: the simulator changes nothing).
        ctx: The account context; ``caller_arn`` is the identity that is checked.
        answers: The setup, which decides the needed actions and resources.

    Returns:
        None when every action is allowed; an ``error`` finding (code
        ``operator-permissions``) listing each action that is not, with its resource and
        purpose, whose statement is the operator policy; an ``info`` finding (code
        ``operator-permissions-unchecked``) when the check could not be made.
    """
    principal, reason = simulation_principal(ctx.caller_arn)
    if principal is None:
        return _unchecked(reason, ctx.caller_arn)
    # The simulator answering at all shows the caller may call it.
    needs = [n for n in operator_needs(answers, ctx) if n.actions != (f"iam:{SIMULATE}",)]
    missing: list[Missing] = []
    with ThreadPoolExecutor(
        max_workers=max(1, min(len(needs), MAX_SIMULATIONS)), thread_name_prefix="simulate"
    ) as pool:
        asked = [pool.submit(_simulate, caller, ctx.region, principal, n) for n in needs]
        for answer in asked:  # in the needs' order, whatever order the answers come in
            try:
                missing += answer.result()
            except Exception as err:  # advisory check: every failure means "not checked"
                return _unchecked(_why_not(err), principal)
    if not missing:
        return None
    return Finding(
        severity="error",
        code=CHECKED_CODE,
        message=_missing_message(principal, missing),
        subject=principal,
        statement=operator_policy(answers, ctx),
    )
