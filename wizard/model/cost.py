"""The cost preview as data: a monthly estimate per choice, a total range, and why.

:mod:`wizard.plan.cost` computes it from AWS's published prices (``wizard/plan/prices.json``)
and a volume of events (read from the account, set in the answers file, or a stated
default); the plan carries it, so ``plan`` (text and JSON), the TUI review and plain mode
show the same numbers.
"""

from __future__ import annotations

from pydantic import Field

from wizard.model.base import WizardModel


class CostItem(WizardModel):
    """What one choice costs a month, as a range."""

    what: str
    """The choice (``Management events (this trail's copy)``, ``KMS key``)."""
    monthly_usd_low: float
    """The low end of the monthly cost, in US dollars."""
    monthly_usd_high: float
    """The high end of the monthly cost, in US dollars."""
    basis: str
    """How it was computed: the volume, where the volume came from, and the price used."""

    @property
    def range_text(self) -> str:
        """The range as people read it (``$1.20 to $4.50``)."""
        return usd_range(self.monthly_usd_low, self.monthly_usd_high)


class CostTotal(WizardModel):
    """The sum of every item's range."""

    monthly_usd_low: float
    """The sum of the items' low ends."""
    monthly_usd_high: float
    """The sum of the items' high ends."""

    @property
    def range_text(self) -> str:
        """The range as people read it (``$1.20 to $4.50``)."""
        return usd_range(self.monthly_usd_low, self.monthly_usd_high)


class CostEstimate(WizardModel):
    """The monthly cost of the trail as the answers describe it."""

    items: list[CostItem]
    """One entry per choice that costs something (or that people expect to)."""
    total: CostTotal
    """The total range."""
    prices_as_of: str
    """When the prices were checked against AWS's pricing pages (ISO date)."""
    prices_region: str
    """The region whose prices were used for CloudTrail (the trail's home region, or the
    price list's default region when that region has no price of its own)."""
    volume_source: str
    """How the number of events was estimated, in one sentence."""
    assumptions: list[str] = Field(default_factory=list)
    """Everything the estimate takes for granted, one sentence each."""

    @classmethod
    def of(
        cls,
        items: list[CostItem],
        *,
        prices_as_of: str,
        prices_region: str,
        volume_source: str,
        assumptions: list[str],
    ) -> CostEstimate:
        """The estimate of ``items``, with their total (rounded to cents like the items)."""
        total = CostTotal(
            monthly_usd_low=round(sum(i.monthly_usd_low for i in items), 2),
            monthly_usd_high=round(sum(i.monthly_usd_high for i in items), 2),
        )
        return cls(
            items=items,
            total=total,
            prices_as_of=prices_as_of,
            prices_region=prices_region,
            volume_source=volume_source,
            assumptions=assumptions,
        )


def usd(value: float) -> str:
    """``$1,234.50``; a cost above zero but under a cent is ``under $0.01``."""
    if 0 < value < 0.005:
        return "under $0.01"
    return f"${value:,.2f}"


def usd_range(low: float, high: float) -> str:
    """``$1.20 to $4.50``, or ``$1.20`` when both ends agree to the cent."""
    if usd(low) == usd(high):
        return usd(low)
    return f"{usd(low)} to {usd(high)}"
