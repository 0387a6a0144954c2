"""Find the organization trails that already record this account (landing-zone awareness).

DescribeTrails with ``includeShadowTrails`` answers, in a member account, with the shadow
copy of every organization trail that records it: ``IsOrganizationTrail`` is true and the
``TrailARN`` names the management account. AWS Control Tower's
``aws-controltower-BaselineCloudTrail`` and the Landing Zone Accelerator's
``AWSAccelerator-Organizations-CloudTrail`` are such trails. Their event and Insights
selectors are read where CloudTrail lets the member read them; what is denied stays unknown
(None), never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from wizard.model.landing import OrganizationTrail, landing_kind
from wizard.policy.controls import management_events
from wizard.ports import AwsCaller, AwsError


class TrailFacts(Protocol):
    """What this module reads of a listed trail (:class:`wizard.account.discovery.TrailFacts`;
    a protocol, because discovery imports this module)."""

    @property
    def name(self) -> str: ...
    @property
    def arn(self) -> str: ...
    @property
    def home_region(self) -> str: ...
    @property
    def bucket(self) -> str | None: ...
    @property
    def prefix(self) -> str | None: ...
    @property
    def multi_region(self) -> bool: ...
    @property
    def organization(self) -> bool: ...
    @property
    def logging(self) -> bool | None: ...
    @property
    def owner_account(self) -> str | None: ...


__all__ = ["discover_organization_trails", "organization_trails_of"]


def organization_trails_of(trails: Sequence[TrailFacts], account: str) -> list[TrailFacts]:
    """The organization trails among ``trails`` that another account owns, one per ARN."""
    seen: dict[str, TrailFacts] = {}
    for trail in trails:
        if trail.organization and trail.owner_account not in (None, account):
            seen.setdefault(trail.arn, trail)
    return list(seen.values())


def discover_organization_trails(
    trails: Sequence[TrailFacts], account: str, caller: AwsCaller
) -> list[OrganizationTrail]:
    """The organization trails that record ``account``, each read as far as it may be.

    Args:
        trails: What DescribeTrails (shadow trails included) listed in the home region.
        account: This account (its own organization trails are not "another" trail).
        caller: Makes the reads (GetEventSelectors, GetInsightSelectors).

    Returns:
        One :class:`OrganizationTrail` per organization trail of another account, sorted by
        name; settings the member could not read are None.
    """
    found = organization_trails_of(trails, account)
    if not found:
        return []
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="org-trails") as pool:
        read = list(pool.map(lambda t: _read(t, caller), found))
    return sorted(read, key=lambda t: t.name)


def _read(trail: TrailFacts, caller: AwsCaller) -> OrganizationTrail:
    facts: dict[str, Any] = {
        "name": trail.name,
        "arn": trail.arn,
        "kind": landing_kind(trail.name),
        "home_region": trail.home_region,
        "owner_account": trail.owner_account,
        "bucket": trail.bucket,
        "prefix": trail.prefix,
        "multi_region": trail.multi_region,
        "logging": trail.logging,
    }
    errors: list[str] = []
    region = trail.home_region
    try:
        got = caller.call("cloudtrail", region, "GetEventSelectors", {"TrailName": trail.arn})
        basic = list(got.get("EventSelectors") or [])
        advanced = list(got.get("AdvancedEventSelectors") or [])
        kind, excluded = management_events(basic, advanced)
        facts["management"] = kind
        facts["excluded_sources"] = excluded
        facts["data_events"] = _records_data(basic, advanced)
    except AwsError as err:
        errors.append(f"GetEventSelectors: {err.code}")
    try:
        got = caller.call("cloudtrail", region, "GetInsightSelectors", {"TrailName": trail.arn})
        facts["insights"] = [
            str(s["InsightType"]) for s in got.get("InsightSelectors") or [] if "InsightType" in s
        ]
    except AwsError as err:
        if err.code == "InsightNotEnabledException":
            facts["insights"] = []
        else:
            errors.append(f"GetInsightSelectors: {err.code}")
    facts["errors"] = errors
    return OrganizationTrail(**facts)


def _records_data(basic: Sequence[dict[str, Any]], advanced: Sequence[dict[str, Any]]) -> bool:
    """True when any selector records data events."""
    if any(s.get("DataResources") for s in basic):
        return True
    for selector in advanced:
        for field in selector.get("FieldSelectors") or []:
            if field.get("Field") == "eventCategory" and "Data" in (field.get("Equals") or []):
                return True
    return False
