"""AWS partitions and regions, read from botocore's bundled data (no AWS call).

botocore ships ``data/partitions.json`` with every partition, its region-name pattern and
its known regions. Reading it keeps the wizard current with the installed SDK instead of a
hard-coded list that goes stale.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Partition:
    """One AWS partition (``aws``, ``aws-cn``, ``aws-us-gov``, ...)."""

    id: str
    """Partition name as it appears in ARNs."""
    dns_suffix: str
    """Domain of the partition's endpoints (``amazonaws.com``)."""
    region_regex: re.Pattern[str]
    """Pattern every region name of this partition matches."""
    regions: dict[str, str]
    """Known region names mapped to their descriptions."""


@cache
def partitions() -> tuple[Partition, ...]:
    """All partitions botocore knows, ``aws`` first."""
    raw = json.loads(
        resources.files("botocore").joinpath("data/partitions.json").read_text("utf-8")
    )
    found: list[Partition] = []
    for entry in raw["partitions"]:
        regions = {
            name: str(info.get("description", name))
            for name, info in entry["regions"].items()
            if not name.endswith("-global")
        }
        found.append(
            Partition(
                id=entry["id"],
                dns_suffix=entry["outputs"]["dnsSuffix"],
                region_regex=re.compile(entry["regionRegex"], re.ASCII),
                regions=regions,
            )
        )
    return tuple(found)


def partition_ids() -> tuple[str, ...]:
    """Names of every partition (``aws``, ``aws-cn``, ...)."""
    return tuple(p.id for p in partitions())


def partition_of(region: str) -> Partition | None:
    """The partition a region name belongs to, or None when it matches no partition."""
    for p in partitions():
        if region in p.regions:
            return p
    for p in partitions():
        if p.region_regex.fullmatch(region):
            return p
    return None


def all_regions() -> list[str]:
    """Every known region name, sorted, across all partitions."""
    return sorted(r for p in partitions() for r in p.regions)


def region_description(region: str) -> str:
    """A human name for a region (``US East (N. Virginia)``), or the code itself."""
    p = partition_of(region)
    return p.regions.get(region, region) if p else region


def check_region(region: str) -> str | None:
    """Return why ``region`` is not a valid AWS region name, or None when it is.

    A region must be a known region of some partition; a name that only matches a
    partition's pattern (a region newer than the installed botocore) is accepted too.
    """
    if not region:
        return "The region is empty. Use a region code such as us-east-1."
    if region in ("EU", "eu"):
        return "'EU' is S3's legacy name for a location; use the region code eu-west-1."
    p = partition_of(region)
    if p is None:
        close = [r for r in all_regions() if r.startswith(region[:5])][:3]
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        return (
            f"'{region}' is not an AWS region. Use a region code such as us-east-1 or "
            f"eu-west-1.{hint}"
        )
    return None


def normalise_bucket_location(location: str | None) -> str:
    """Turn an S3 ``GetBucketLocation`` answer into a region name.

    S3 answers None (or an empty string) for us-east-1 and the legacy ``EU`` for eu-west-1.
    """
    if not location:
        return "us-east-1"
    if location == "EU":
        return "eu-west-1"
    return location
