"""Preflight for landing zones and organizations: trails that already cover the account,
the organization trail's prerequisites, and CloudTrail's delegated administrator.

Every finding says what is wrong and how to fix it. The checks use what discovery read
(:class:`wizard.account.discovery.OrganizationFacts`, the organization trails it found);
what could not be read is said, and the review checks again at apply (AWS refuses then).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from wizard.account.discovery import CLOUDTRAIL_SERVICE_LINKED_ROLE, Discovery, OrganizationFacts
from wizard.guide import DATA_INSIGHT, Draft, apply_presets, presets_in
from wizard.model.answers import Answers
from wizard.model.context import Names
from wizard.model.landing import OrganizationTrail
from wizard.model.plan import Finding

__all__ = [
    "MAX_DELEGATED_ADMINS",
    "ONLY_MISSING_PRESET",
    "add_only_missing",
    "delegated_admin_findings",
    "delegated_admin_verdict",
    "landing_findings",
    "organization_trail_findings",
]

MAX_DELEGATED_ADMINS = 3
"""CloudTrail allows at most three delegated administrators per organization."""

_TRUSTED_ACCESS_FIX = (
    "turn on trusted access for CloudTrail from the management account (aws organizations "
    "enable-aws-service-access --service-principal cloudtrail.amazonaws.com)"
)
_ALL_FEATURES_FIX = (
    "enable all features in the organization (aws organizations enable-all-features, then "
    "every member account accepts)"
)


def landing_findings(answers: Answers, names: Names, found: Discovery) -> list[Finding]:
    """What the organization trails that already record this account mean for these answers."""
    covering = found.organization_trails
    if not covering or answers.trail.organization:
        return []
    out: list[Finding] = []
    for trail in covering:
        out.append(
            Finding(
                severity="info",
                code="organization-trail-covers-account",
                message=f"Already recorded: {trail.describe()}",
                subject=trail.arn,
            )
        )
    recording = [
        t for t in covering if t.logging is not False and t.management not in (None, "none")
    ]
    unknown = [t for t in covering if t.management is None]
    if answers.events.management != "none" and (recording or unknown):
        which = recording or unknown
        known = "records" if recording else "may record (its selectors are not readable here)"
        out.append(
            Finding(
                severity="warning",
                code="organization-trail-exists",
                message=(
                    f"The organization trail {which[0].name} ({which[0].made_by}) already "
                    f"{known} this account's management events, so this trail's copy is a "
                    "second, charged copy (the cost preview prices it). To add only what is "
                    "missing, set events.management to none and record data events (the "
                    "'Add only what is missing' choice), or keep the copy on purpose for a "
                    "bucket of this account's own."
                ),
                subject=which[0].arn,
            )
        )
    return out


def organization_trail_findings(answers: Answers, found: Discovery) -> list[Finding]:
    """Every prerequisite of an organization trail, each with its fix; one error lists all."""
    if not answers.trail.organization:
        return []
    org = found.organization
    problems = _organization_problems(org, "create organization trails")
    out: list[Finding] = []
    if problems:
        out.append(
            Finding(
                severity="error",
                code="organization-not-ready",
                message="An organization trail cannot be created: "
                + "; ".join(problems)
                + ". Fix these, or set trail.organization to false.",
            )
        )
        return out
    assert org is not None
    if org.is_delegated_admin and not org.is_management_account:
        out.append(
            Finding(
                severity="info",
                code="organization-trail-delegated-admin",
                message=(
                    "This account is CloudTrail's delegated administrator: it creates and "
                    "manages the organization trail, but the trail belongs to the management "
                    f"account {org.management_account_id}. Its ARN names that account, and the "
                    "bucket policy's aws:SourceArn condition names that ARN (the plan writes "
                    "it so). Deleting the trail later is also done from here or from the "
                    "management account."
                ),
            )
        )
    if org.is_management_account and org.service_linked_role is False:
        out.append(
            Finding(
                severity="info",
                code="organization-service-linked-role",
                message=(
                    f"The service-linked role {CLOUDTRAIL_SERVICE_LINKED_ROLE} does not exist "
                    "yet: CloudTrail creates it with the organization trail (the operator "
                    "policy grants iam:CreateServiceLinkedRole for that). To create it first: "
                    "aws iam create-service-linked-role --aws-service-name "
                    "cloudtrail.amazonaws.com."
                ),
            )
        )
    return out


def delegated_admin_findings(answers: Answers, found: Discovery) -> list[Finding]:
    """Whether ``organization.delegated_admin`` can be registered from here, with fixes."""
    account = answers.organization.delegated_admin
    if account is None:
        return []
    org = found.organization
    problems: list[str] = []
    if org is None or not org.in_organization:
        problems += _organization_problems(org, "register a delegated administrator")
    else:
        if not org.is_management_account:
            problems.append(
                "only the management account "
                f"({org.management_account_id or 'unknown'}) can register CloudTrail's delegated "
                "administrator: run the wizard with that account's credentials"
            )
        if org.all_features is False:
            problems.append(
                f"the organization does not have all features enabled: {_ALL_FEATURES_FIX}"
            )
        if org.trusted_access is False:
            problems.append(f"trusted access for CloudTrail is off: {_TRUSTED_ACCESS_FIX}")
        if account == org.management_account_id:
            problems.append(
                f"{account} is the management account, which cannot be its own delegated "
                "administrator: name a member account (such as the security tooling account)"
            )
        elif org.member_accounts is not None and account not in org.member_accounts:
            problems.append(
                f"account {account} is not a member of organization {org.organization_id}: "
                "invite it first, or name one of its member accounts"
            )
        admins = org.delegated_admins
        if admins is not None and account not in admins and len(admins) >= MAX_DELEGATED_ADMINS:
            problems.append(
                f"CloudTrail already has {len(admins)} delegated administrators "
                f"({', '.join(admins)}), its limit: deregister one first"
            )
        problems += org.errors
    if problems:
        return [
            Finding(
                severity="error",
                code="delegated-admin-not-ready",
                message=f"Account {account} cannot be registered as CloudTrail's delegated "
                "administrator: " + "; ".join(problems) + ". Fix these, or remove "
                "organization.delegated_admin.",
                subject=account,
            )
        ]
    assert org is not None
    if org.delegated_admins is not None and account in org.delegated_admins:
        return [
            Finding(
                severity="info",
                code="delegated-admin-registered",
                message=f"Account {account} already is CloudTrail's delegated administrator: "
                "nothing to register.",
                subject=account,
            )
        ]
    return [
        Finding(
            severity="info",
            code="delegated-admin-planned",
            message=(
                f"Account {account} will be CloudTrail's delegated administrator: it can then "
                "create and manage organization trails (run the wizard there with "
                "trail.organization: true). Those trails stay the management account's: "
                f"their ARNs name {org.management_account_id}, and so does the bucket "
                "policy's aws:SourceArn condition."
            ),
            subject=account,
        )
    ]


def delegated_admin_verdict(org: OrganizationFacts) -> tuple[bool, str]:
    """Whether the delegated administrator question is asked, and the line that says why.

    Both wizards use it (the TUI's Trail step, plain mode's question): only the management
    account can register CloudTrail's delegated administrator. When the organization could
    not be read the question is asked, and preflight's ``delegated-admin-not-ready`` says
    what is missing, with its fix.

    Args:
        org: What discovery found about the organization.

    Returns:
        ``(asked, hint)``.
    """
    if org.errors and not org.in_organization:
        return True, (
            f"Could not check the organization ({org.errors[0]}); the review checks again."
        )
    if not org.in_organization:
        return False, "Not asked: this account is not in an AWS organization."
    if not org.is_management_account:
        return False, (
            "Not asked: only the management account "
            f"({org.management_account_id or 'unknown'}) can register CloudTrail's delegated "
            "administrator."
        )
    admins = org.delegated_admins
    if admins is None:
        now = "the registered ones could not be read"
    elif admins:
        now = "registered now: " + ", ".join(admins)
    else:
        now = "none is registered yet"
    return True, (
        f"This is the management account of {org.organization_id}: it may register one "
        f"({now}; at most {MAX_DELEGATED_ADMINS})."
    )


def _organization_problems(org: OrganizationFacts | None, what: str) -> list[str]:
    """What stops ``what`` in this organization, each with its fix."""
    if org is None or (not org.in_organization and not org.errors):
        return [
            "this account is not in an AWS organization: create one (aws organizations "
            "create-organization --feature-set ALL) or run the wizard in an account that is"
        ]
    if not org.in_organization:
        return list(org.errors)
    problems: list[str] = []
    if not (org.is_management_account or org.is_delegated_admin):
        problems.append(
            f"only the management account or CloudTrail's delegated administrator can {what} "
            f"(management account: {org.management_account_id}): run the wizard with that "
            "account's credentials, or register this account as the delegated administrator "
            "from the management account (organization.delegated_admin)"
        )
    if org.all_features is False:
        problems.append(f"the organization must have all features enabled: {_ALL_FEATURES_FIX}")
    if org.trusted_access is False:
        problems.append(f"trusted access for CloudTrail is off: {_TRUSTED_ACCESS_FIX}")
    problems.extend(org.errors)
    return problems


ONLY_MISSING_PRESET = "s3-writes"
"""The data events "add only what is missing" records when the draft has none: S3 object
writes (CIS 4.8), which organization trails of landing zones usually leave out."""


def add_only_missing(draft: Draft, trails: Sequence[OrganizationTrail]) -> tuple[Draft, list[str]]:
    """The draft changed to record only what the organization trails leave out.

    Management events are turned off (the organization trail records them: a second copy is
    charged), with what only applies to them (excluded sources, Insights on management
    events, which analyse this trail's own management events). Data events are kept, or S3
    object writes added when there are none. The bucket and the rest stay: a copy of the data
    events in a bucket of this account is what this trail adds.

    Args:
        draft: The answers so far (answers-file shape, possibly incomplete); not changed.
        trails: The organization trails discovery found.

    Returns:
        The new draft, and one sentence per change for people.
    """
    new: Draft = copy.deepcopy(draft)
    events = new.setdefault("events", {})
    said: list[str] = []
    names = ", ".join(t.name for t in trails) or "the organization trail"
    if events.get("management", "all") != "none":
        events["management"] = "none"
        said.append(f"Management events: none ({names} records them; a copy here is charged).")
    if events.get("exclude_sources"):
        events["exclude_sources"] = []
        said.append("Removed events.exclude_sources: they apply to management events only.")
    # The draft's Insights question holds both kinds; those on data events (DATA_INSIGHT)
    # analyse this trail's data events and stay.
    insights = list(events.get("insights") or [])
    kept = [i for i in insights if str(i).startswith(DATA_INSIGHT)]
    if len(kept) != len(insights):
        events["insights"] = kept
        said.append(
            "Removed Insights on management events: they analyse this trail's own management "
            "events."
        )
    if not events.get("data") and not events.get("network"):
        apply_presets(new, [*presets_in(new), ONLY_MISSING_PRESET])
        said.append("Data events: S3 object writes of every bucket (CIS 4.8).")
    return new, said
