"""Organization trails that already record the account, in words (plan text, Welcome, plain
mode) and as the plan's JSON ``organization_trails`` block."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wizard.model.cost import CostEstimate
from wizard.model.landing import OrganizationTrail

__all__ = [
    "DUPLICATE_ITEMS",
    "duplicate_cost_text",
    "landing_lines",
    "organization_trails_json",
]

DUPLICATE_ITEMS = (
    "Management events (this trail's copy)",
    "Management events (left to the organization trail)",
)
"""The cost items (:mod:`wizard.plan.cost`) that price, or say they avoid, a second copy."""


def duplicate_cost_text(cost: CostEstimate | None) -> str | None:
    """What the cost preview says about this trail's copy of management events, if anything."""
    if cost is None:
        return None
    for item in cost.items:
        if item.what in DUPLICATE_ITEMS:
            return f"{item.what}: {item.range_text}; {item.basis}"
    return None


def landing_lines(
    trails: Sequence[OrganizationTrail], cost: CostEstimate | None = None
) -> list[str]:
    """The lines that say which organization trails record the account (empty when none)."""
    if not trails:
        return []
    lines = ["Organization trails that already record this account:"]
    for trail in trails:
        lines.append(f"  - {trail.describe()}")
        if trail.errors:
            lines.append(f"    (could not read: {', '.join(trail.errors)})")
    lines.append(
        "  Add only what is missing (data events, Insights, a copy in a bucket of this account) "
        "instead of a second, charged copy of management events."
    )
    duplicate = duplicate_cost_text(cost)
    if duplicate:
        lines.append(f"  {duplicate}")
    return lines


def organization_trails_json(
    trails: Sequence[OrganizationTrail], cost: CostEstimate | None = None
) -> list[dict[str, Any]]:
    """The plan JSON's ``organization_trails`` block: each trail's facts, ``null`` where unknown."""
    duplicate = duplicate_cost_text(cost)
    return [
        {
            **t.model_dump(mode="json"),
            "made_by": t.made_by,
            "records": t.records_text(),
            "duplicate_cost": duplicate,
        }
        for t in trails
    ]
