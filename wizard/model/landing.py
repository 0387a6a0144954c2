"""Organization trails that already record this account (landing zones), as facts.

Accounts in an AWS Control Tower landing zone, a Landing Zone Accelerator or any
organization with an organization trail are already recorded by that trail, which the
organization's management account owns. What a member account can read of it (its shadow
copy) decides what the wizard offers: the plan shows these trails, and the "add only what is
missing" choice records data events without a second, charged copy of management events.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from wizard.model.base import WizardModel

__all__ = [
    "CONTROL_TOWER_TRAIL",
    "LZA_TRAIL",
    "LandingKind",
    "OrganizationTrail",
    "landing_kind",
]

CONTROL_TOWER_TRAIL = "aws-controltower-BaselineCloudTrail"
"""The organization trail AWS Control Tower creates in its landing zone."""

LZA_TRAIL = "AWSAccelerator-Organizations-CloudTrail"
"""The organization trail the Landing Zone Accelerator on AWS creates."""

LandingKind = Literal["control-tower", "landing-zone-accelerator", "organization"]
"""Who made an organization trail, as far as its name tells."""

_KIND_LABELS: dict[str, str] = {
    "control-tower": "AWS Control Tower",
    "landing-zone-accelerator": "the Landing Zone Accelerator",
    "organization": "the organization",
}


def landing_kind(name: str) -> LandingKind:
    """Who made the organization trail called ``name`` (by the names those tools give)."""
    if name == CONTROL_TOWER_TRAIL:
        return "control-tower"
    if name == LZA_TRAIL:
        return "landing-zone-accelerator"
    return "organization"


class OrganizationTrail(WizardModel):
    """An organization trail of another account (the management account) that records this one.

    Each setting is None when the member account could not read it (CloudTrail may deny
    GetEventSelectors and GetInsightSelectors on another account's trail): the plan then
    says "unknown" instead of guessing.
    """

    name: str
    """Its name."""
    arn: str
    """Its ARN (in the management account)."""
    kind: LandingKind = "organization"
    """Who made it, from its name."""
    home_region: str
    """Its home region."""
    owner_account: str | None = None
    """The account that owns it (the management account)."""
    bucket: str | None = None
    """The bucket it delivers to."""
    prefix: str | None = None
    """Its S3 key prefix."""
    multi_region: bool = False
    """It records every region."""
    logging: bool | None = None
    """It logs now (None: unknown)."""
    management: Literal["all", "read", "write", "none"] | None = None
    """Management events it records (None: its selectors could not be read)."""
    excluded_sources: list[str] = Field(default_factory=list)
    """Management event sources it leaves out."""
    data_events: bool | None = None
    """It records some data events (None: unknown)."""
    insights: list[str] | None = None
    """Its Insights types (empty: none; None: unknown)."""
    errors: list[str] = Field(default_factory=list)
    """What could not be read about it."""

    @property
    def made_by(self) -> str:
        """``AWS Control Tower``, ``the Landing Zone Accelerator`` or ``the organization``."""
        return _KIND_LABELS[self.kind]

    @property
    def records_management(self) -> bool:
        """True when it is known to record read and write management events."""
        return self.logging is not False and self.management == "all"

    def records_text(self) -> str:
        """What it records, for people: unknown parts are said to be unknown."""
        management = {
            "all": "read and write management events",
            "read": "read-only management events",
            "write": "write management events",
            "none": "no management events",
            None: "management events: unknown (its selectors are not readable here)",
        }[self.management]
        if self.excluded_sources:
            management += f" (without {', '.join(self.excluded_sources)})"
        data = {True: "data events", False: "no data events", None: "data events: unknown"}[
            self.data_events
        ]
        if self.insights is None:
            insights = "Insights: unknown"
        else:
            insights = f"Insights ({', '.join(self.insights)})" if self.insights else "no Insights"
        return f"{management}; {data}; {insights}"

    def delivers_text(self) -> str:
        """Where it delivers, for people."""
        where = f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}"
        if self.bucket is None:
            where = "an unknown bucket"
        owner = f", owned by account {self.owner_account}" if self.owner_account else ""
        return f"{where}{owner}"

    def describe(self) -> str:
        """One line: name, who made it, where it delivers and what it records."""
        state = {True: "logging", False: "NOT logging", None: "logging unknown"}[self.logging]
        regions = "every region" if self.multi_region else f"{self.home_region} only"
        return (
            f"{self.name} ({self.made_by}'s organization trail, {regions}, {state}) delivers "
            f"to {self.delivers_text()} and records {self.records_text()}."
        )
