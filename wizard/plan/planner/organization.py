"""The organization chain: register CloudTrail's delegated administrator.

Run from the organization's management account, RegisterOrganizationDelegatedAdmin lets a
member account create and manage organization trails (AWS registers the account with
Organizations for ``cloudtrail.amazonaws.com`` as part of the call). The organization trail
that account creates is still the management account's: its ARN names the management
account. Rollback deregisters the account (DeregisterOrganizationDelegatedAdmin), which
leaves the organization trails it made in place, owned by the management account.
"""

from __future__ import annotations

from wizard.model.plan import Call
from wizard.plan.planner.builder import PlanBuilder, PlanInputs

__all__ = ["REGISTER_STEP", "organization_chain"]

REGISTER_STEP = "register-delegated-admin"
"""The id of the step that registers the delegated administrator."""


def organization_chain(b: PlanBuilder, given: PlanInputs) -> None:
    """Register ``organization.delegated_admin`` unless it already is registered."""
    account = given.answers.organization.delegated_admin
    if account is None:
        return
    org = given.found.organization
    if org is not None and org.delegated_admins is not None and account in org.delegated_admins:
        return  # desired state: already registered, nothing to change
    region = given.names.home_region
    b.add(
        REGISTER_STEP,
        "trail",
        Call(
            service="cloudtrail",
            region=region,
            operation="RegisterOrganizationDelegatedAdmin",
            params={"MemberAccountId": account},
        ),
        f"Register account {account} as CloudTrail's delegated administrator of the "
        "organization (it may then create and manage organization trails; their ARNs stay in "
        "the management account)",
        changes=f"organization {org.organization_id}" if org and org.organization_id else None,
        undo=[
            Call(
                service="cloudtrail",
                region=region,
                operation="DeregisterOrganizationDelegatedAdmin",
                params={"DelegatedAdminAccountId": account},
            )
        ],
        undo_summary=f"Deregister account {account} as CloudTrail's delegated administrator",
    )
