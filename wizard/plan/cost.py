"""The cost preview: what the trail the answers describe will cost a month, as a range.

Pure arithmetic over three inputs, each stated in the estimate it produces:

* **Prices**: AWS's published on-demand prices (``prices.json`` next to this module), each
  with its unit, source page and the day it was checked, per region where they differ. A
  region without a price of its own is priced at the default region's, and the estimate
  says so.
* **Volume**: management events a day, from the account's recent activity
  (:mod:`wizard.account.activity`: the event history, a bounded number of calls), else a
  stated default; data and network activity events a day, a stated default per selector.
  The answers file's ``cost`` section overrides any of them.
* **Other copies of management events**: the first copy in each region is free; when
  another trail (of this account, or an organization trail covering it) already records
  them, this trail's copy is charged. A trail whose settings could not be read only raises
  the high end.

Everything else the arithmetic takes for granted (bytes per event, log files per region a
day, a 30-day month, free tiers not subtracted) is a named constant below, listed in the
estimate's ``assumptions``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pydantic import Field

from wizard.account.activity import Activity, ManagementCopy
from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.choices import LIFECYCLE_MIN_STORAGE_DAYS
from wizard.model.cost import CostEstimate, CostItem

__all__ = [
    "BYTES_PER_EVENT",
    "COMPRESSED_BYTES_PER_EVENT",
    "DAYS_PER_MONTH",
    "DEFAULT_DATA_PER_DAY",
    "DEFAULT_ENABLED_REGIONS",
    "DEFAULT_MANAGEMENT_PER_DAY",
    "DEFAULT_NETWORK_PER_DAY",
    "DEFAULT_READ_SHARE",
    "DIGEST_FILES_PER_DAY",
    "GB",
    "LOGS_METADATA_BYTES",
    "LOG_FILES_PER_DAY",
    "MEASURED_SPREAD",
    "PriceList",
    "Range",
    "Volume",
    "duplicate_management_cost",
    "estimate_cost",
    "load_prices",
    "volume_for",
]

DAYS_PER_MONTH = 30
"""Days in the month priced."""

DEFAULT_MANAGEMENT_PER_DAY = (10_000, 100_000)
"""Management events a day when the account's activity cannot be read (a quiet account to a
busy one), every region the trail records together."""

DEFAULT_DATA_PER_DAY = (10_000, 1_000_000)
"""Data events a day for each data-event selector when the answers give no number."""

DEFAULT_NETWORK_PER_DAY = (10_000, 1_000_000)
"""Network activity events a day for each event source when the answers give no number."""

DEFAULT_READ_SHARE = 0.9
"""The share of management events that are read-only when not measured (AWS's Insights cost
examples: 270,000 of 300,000 and 710,000 of 800,000)."""

MEASURED_SPREAD = {"exact": (0.75, 1.5), "extrapolated": (0.5, 2.0)}
"""How far a month may stray from the day measured: a whole day counted exactly, or a
shorter span's rate extrapolated to a day."""

BYTES_PER_EVENT = 2_000
"""An event's JSON record, uncompressed (CloudWatch Logs ingests it so)."""

COMPRESSED_BYTES_PER_EVENT = 200
"""An event's share of a gzip-compressed log file (about a tenth of the record)."""

LOGS_METADATA_BYTES = 26
"""CloudWatch Logs counts 26 bytes of metadata with each log event, ingested and stored."""

LOG_FILES_PER_DAY = 288
"""Log files CloudTrail writes a day in a region with events (about one every 5 minutes)."""

DIGEST_FILES_PER_DAY = 24
"""Digest files a day in each region a trail records, with log file validation (hourly)."""

DEFAULT_ENABLED_REGIONS = 17
"""Regions a multi-region trail records when the account's regions cannot be listed (those
every AWS account has enabled)."""

GB = 1024**3
"""Bytes in a GB as AWS bills storage and ingestion."""


# --------------------------------------------------------------------------- prices


class Price(WizardModel):
    """One published price."""

    what: str
    """What it is the price of."""
    unit: str
    """The unit priced, in words (``100,000 events``)."""
    per: int
    """How many of the unit's things the price is for (100,000)."""
    default: float
    """The price in the price list's default region, in US dollars."""
    regions: dict[str, float] = Field(default_factory=dict)
    """The price in each region listed."""
    source: str
    """The AWS pricing page it comes from."""
    as_of: str
    """The day it was checked there (ISO date)."""

    def unit_price(self, region: str) -> float:
        """The price of one thing (one event, one GB) in ``region``."""
        return self.regions.get(region, self.default) / self.per

    def listed(self, region: str) -> bool:
        """True when ``region`` has a price of its own (or all regions share one)."""
        return region in self.regions or not self.regions


class PriceList(WizardModel):
    """The price list: ``prices.json``."""

    about: str
    """What the file is."""
    currency: str
    """The currency (USD)."""
    as_of: str
    """The day the prices were checked (the oldest of them)."""
    default_region: str
    """The region whose prices are the defaults."""
    prices: dict[str, Price]
    """The prices by name."""

    def price(self, name: str) -> Price:
        """The price called ``name``."""
        return self.prices[name]


@cache
def load_prices() -> PriceList:
    """The price list shipped with the wizard (``wizard/plan/prices.json``)."""
    text = resources.files("wizard.plan").joinpath("prices.json").read_text("utf-8")
    return PriceList.model_validate(json.loads(text))


# --------------------------------------------------------------------------- volume


@dataclass(frozen=True)
class Range:
    """A low and a high value."""

    low: float
    high: float

    def __mul__(self, factor: float) -> Range:
        return Range(self.low * factor, self.high * factor)

    def __add__(self, other: Range) -> Range:
        return Range(self.low + other.low, self.high + other.high)

    @classmethod
    def of(cls, value: float) -> Range:
        """A range of one value."""
        return cls(value, value)


ZERO = Range(0.0, 0.0)


class Volume(WizardModel):
    """How many events a day the trail records, and where the numbers come from."""

    management: tuple[float, float] = (0.0, 0.0)
    """Management events a day, read and write, before this trail's filters (low, high)."""
    read_share: float = DEFAULT_READ_SHARE
    """The share of them that are read-only."""
    excluded_share: dict[str, float] = Field(default_factory=dict)
    """The share of them from each source the answers exclude (measured only)."""
    management_source: str = ""
    """How the management volume was estimated, in a sentence."""
    management_label: str = ""
    """The same in a few words (``measured``, ``a stated default``)."""
    region_shares: dict[str, float] = Field(default_factory=dict)
    """Each measured region's share of the management events (empty when not measured)."""
    regions_covered: int = 1
    """Regions the trail records."""
    regions_source: str = ""
    """How the number of regions was found."""
    active_regions: int = 1
    """Regions with events, for the low end of the number of log files."""
    data: tuple[float, float] = (0.0, 0.0)
    """Data events a day, every selector together."""
    data_source: str = ""
    """How the data volume was estimated."""
    network: tuple[float, float] = (0.0, 0.0)
    """Network activity events a day, every event source together."""
    network_source: str = ""
    """How the network activity volume was estimated."""

    @property
    def management_range(self) -> Range:
        """:attr:`management` as a :class:`Range`."""
        return Range(*self.management)


def _count(value: float) -> str:
    return f"{round(value):,}"


def _span(value: Range, unit: str = "") -> str:
    suffix = f" {unit}" if unit else ""
    if round(value.low) == round(value.high):
        return f"{_count(value.low)}{suffix}"
    return f"{_count(value.low)} to {_count(value.high)}{suffix}"


def volume_for(
    answers: Answers,
    *,
    activity: Activity | None,
    enabled_regions: int | None,
) -> Volume:
    """The volume of events the estimate prices.

    Args:
        answers: The answers (their ``events`` and ``cost`` sections).
        activity: What was read of the account's recent activity (None: not read).
        enabled_regions: Regions a multi-region trail records (None: not known).

    Returns:
        The volume, each number with how it was estimated.
    """
    given = answers.cost
    multi = answers.trail.multi_region
    update: dict[str, object] = {}
    if multi:
        covered = enabled_regions or DEFAULT_ENABLED_REGIONS
        update["regions_covered"] = covered
        update["regions_source"] = (
            f"the {covered} regions enabled for the account"
            if enabled_regions
            else f"the {covered} regions every account has enabled (the account's own list "
            "could not be read)"
        )
    else:
        update["regions_source"] = "the home region only (a single-region trail)"
    measured = activity.readable if activity is not None else []
    if given.management_events_per_day is not None:
        n = float(given.management_events_per_day)
        update["management"] = (n, n)
        update["management_source"] = (
            f"{_count(n)} a day, set in the answers file (cost.management_events_per_day)"
        )
        update["management_label"] = "set in the answers file"
    elif activity is not None and measured:
        update.update(_measured(activity, multi))
    else:
        why = ""
        if activity is not None and activity.regions:
            why = f" ({activity.regions[0].error})" if activity.regions[0].error else ""
        low, high = DEFAULT_MANAGEMENT_PER_DAY
        update["management"] = (float(low), float(high))
        update["management_source"] = (
            f"a stated default of {_count(low)} to {_count(high)} a day: the account's recent "
            f"activity was not read{why}"
        )
        update["management_label"] = "a stated default"
    if given.read_only_percent is not None:
        update["read_share"] = given.read_only_percent / 100
    if activity is not None and measured:
        counted = [r for r in measured if r.events]
        update["active_regions"] = max(len(counted), 1)
    # A number in the answers prices only events the trail records: none without selectors.
    selectors = len(answers.events.data)
    if selectors and given.data_events_per_day is not None:
        n = float(given.data_events_per_day)
        update["data"] = (n, n)
        update["data_source"] = "set in the answers file, cost.data_events_per_day"
    elif selectors:
        low, high = DEFAULT_DATA_PER_DAY
        update["data"] = (float(low * selectors), float(high * selectors))
        update["data_source"] = (
            f"a stated default of {_count(low)} to {_count(high)} a day "
            + (f"for each of the {selectors} selectors" if selectors > 1 else "for the selector")
            + "; set cost.data_events_per_day to price your own number"
        )
    sources = len(_network_sources(answers))
    if sources and given.network_activity_events_per_day is not None:
        n = float(given.network_activity_events_per_day)
        update["network"] = (n, n)
        update["network_source"] = "set in the answers file, cost.network_activity_events_per_day"
    elif sources:
        low, high = DEFAULT_NETWORK_PER_DAY
        update["network"] = (float(low * sources), float(high * sources))
        update["network_source"] = (
            f"a stated default of {_count(low)} to {_count(high)} a day "
            + (f"for each of the {sources} event sources" if sources > 1 else "for the source")
            + "; set cost.network_activity_events_per_day to price your own number"
        )
    return Volume.model_validate(update)


def _network_sources(answers: Answers) -> list[str]:
    """The event sources whose network activity events the answers record."""
    return [n.source for n in answers.events.network]


def _measured(activity: Activity, multi: bool) -> dict[str, object]:
    """The volume fields measured from the account's event history."""
    readable = activity.readable
    home = readable[0] if readable and readable[0].region == activity.home_region else None
    others = [r for r in readable if r is not home]
    total = sum(r.per_day for r in readable)
    unsampled = activity.unsampled if multi else []
    if unsampled and others:
        # Regions left unread count as the average of the other regions read.
        total += len(unsampled) * sum(r.per_day for r in others) / len(others)
    kind = "extrapolated" if activity.extrapolated else "exact"
    low, high = MEASURED_SPREAD[kind]
    events = sum(r.events for r in readable)
    read_only = sum(r.read_only for r in readable)
    share = {
        source: sum(r.sources.get(source, 0) for r in readable) / events
        for source in {s for r in readable for s in r.sources}
    }
    where = readable[0].region if len(readable) == 1 else f"{len(readable)} regions"
    how = (
        "every event of the last 24 hours counted"
        if kind == "exact"
        else "the rate of the newest events extrapolated to a day"
    )
    sentence = (
        f"measured from the account's event history (LookupEvents, {activity.calls} "
        f"call{'s' if activity.calls != 1 else ''}) in {where}: {_count(total)} a day, "
        f"{how}; priced as {low:g} to {high:g} times that, as a month differs from one day"
    )
    if unsampled:
        sentence += (
            f"; {len(unsampled)} region{'s' if len(unsampled) != 1 else ''} not read (call "
            "budget spent) counted at the average of the others"
        )
    unread = [r for r in activity.regions if r.error is not None]
    if unread:
        sentence += f"; {len(unread)} region{'s' if len(unread) != 1 else ''} could not be read"
    return {
        "management": (total * low, total * high),
        "read_share": read_only / events if events else DEFAULT_READ_SHARE,
        "excluded_share": share,
        "management_source": sentence,
        "management_label": "measured from the event history",
        "region_shares": {r.region: r.per_day / total for r in readable} if total else {},
    }


# --------------------------------------------------------------------------- estimate


def _price_text(price: Price, region: str, default_region: str) -> str:
    """``$0.10 per 100,000 events`` (with the region whose price it is, when regional)."""
    amount = price.regions.get(region, price.default)
    # Cents as people write them ($2.00, $0.10); smaller prices with every digit ($0.0245).
    shown = f"{amount:.2f}" if round(amount, 2) == amount else f"{amount:g}"
    text = f"${shown} per {price.unit}"
    if price.regions:
        text += f" ({region})" if price.listed(region) else f" ({default_region}'s)"
    return text


@dataclass
class _Estimator:
    """The arithmetic, one item at a time."""

    answers: Answers
    volume: Volume
    prices: PriceList
    home_region: str
    bucket_region: str
    items: list[CostItem]
    assumptions: list[str]

    def add(self, what: str, monthly: Range, basis: str) -> None:
        # The ends pair a volume with a number of log files; for a cost that depends on the
        # files' size (what S3 Lifecycle moves) the fewer events can cost more.
        low, high = sorted((monthly.low, monthly.high))
        self.items.append(
            CostItem(
                what=what,
                monthly_usd_low=round(low, 2),
                monthly_usd_high=round(high, 2),
                basis=basis,
            )
        )

    def unit(self, name: str, region: str) -> float:
        price = self.prices.price(name)
        if not price.listed(region):
            note = (
                f"No {price.what} price is listed for {region}: "
                f"{self.prices.default_region}'s is used (check {price.source})."
            )
            if note not in self.assumptions:
                self.assumptions.append(note)
        return price.unit_price(region)

    def price_text(self, name: str, region: str) -> str:
        return _price_text(self.prices.price(name), region, self.prices.default_region)


def _recorded_management(answers: Answers, volume: Volume) -> tuple[Range, Range]:
    """Read and write management events a day this trail records (after its exclusions)."""
    kind = answers.events.management
    if kind == "none":
        return ZERO, ZERO
    excluded = sum(volume.excluded_share.get(s, 0.0) for s in answers.events.exclude_sources)
    kept = volume.management_range * max(1.0 - excluded, 0.0)
    reads = kept * volume.read_share if kind in ("all", "read") else ZERO
    writes = kept * (1.0 - volume.read_share) if kind in ("all", "write") else ZERO
    return reads, writes


def _coverage(
    copies: Sequence[ManagementCopy], answers: Answers, volume: Volume, home_region: str
) -> tuple[Range, Range, list[str], list[str]]:
    """How much of this trail's reads and writes other trails already record (0 to 1).

    Returns:
        (reads covered, writes covered, the trails known to record them, the trails whose
        settings are unknown), each coverage a range: an unknown trail counts only for the
        high end, a single-region trail elsewhere by its region's measured share (0 to 1
        when not measured).
    """
    multi = answers.trail.multi_region
    known: list[str] = []
    unknown: list[str] = []

    def share(regions: set[str]) -> Range:
        if not multi:
            return Range.of(1.0) if home_region in regions else ZERO
        if volume.region_shares:
            return Range.of(min(sum(volume.region_shares.get(r, 0.0) for r in regions), 1.0))
        return Range(0.0, 1.0)

    def covered(kind: str) -> Range:
        whole_low = whole_high = False
        low_regions: set[str] = set()
        high_regions: set[str] = set()
        for copy in copies:
            records = getattr(copy, kind)
            if copy.logging is False or records is False:
                continue
            sure = copy.known and copy.logging and records
            everywhere = bool(copy.multi_region)
            if sure:
                whole_low = whole_low or everywhere
                low_regions.add(copy.home_region)
            whole_high = whole_high or everywhere or copy.multi_region is None
            high_regions.add(copy.home_region)
        low = Range.of(1.0) if whole_low else share(low_regions) if low_regions else ZERO
        high = Range.of(1.0) if whole_high else share(high_regions) if high_regions else ZERO
        return Range(low.low, max(high.high, low.low))

    for copy in copies:
        if copy.logging is False or (copy.read is False and copy.write is False):
            continue
        (known if copy.known and copy.records else unknown).append(copy.describe())
    return covered("read"), covered("write"), known, unknown


def estimate_cost(
    answers: Answers,
    *,
    home_region: str,
    bucket_region: str | None,
    volume: Volume,
    copies: Sequence[ManagementCopy] = (),
    copies_error: str | None = None,
    partition: str = "aws",
    prices: PriceList | None = None,
    organization_trails: Sequence[str] = (),
) -> CostEstimate:
    """The monthly cost of the trail the answers describe, choice by choice, as ranges.

    Args:
        answers: The answers.
        home_region: The trail's home region (CloudTrail, CloudWatch Logs and SNS prices).
        bucket_region: The log bucket's region (S3 and KMS prices); None: the home region.
        volume: Events a day (:func:`volume_for`).
        copies: Other trails that may record management events
            (:func:`wizard.account.activity.read_management_copies`).
        copies_error: Why the other trails could not all be listed.
        partition: The account's partition (prices are those of AWS's commercial regions).
        prices: The price list (the shipped one by default).
        organization_trails: Organization trails that already record this account's
            management events: when the answers leave management events to them, the
            estimate says what a second copy here would have cost.

    Returns:
        The estimate: an item per choice that costs something, the total, the prices' date
        and region, and every assumption.
    """
    prices = prices or load_prices()
    bucket_region = bucket_region or home_region
    est = _Estimator(
        answers=answers,
        volume=volume,
        prices=prices,
        home_region=home_region,
        bucket_region=bucket_region,
        items=[],
        assumptions=[],
    )
    month = DAYS_PER_MONTH
    reads, writes = _recorded_management(answers, volume)
    management = reads + writes
    data = Range(*volume.data)
    network = Range(*volume.network)
    recorded = management + data + network

    if answers.events.management != "none":
        _management_item(est, reads, writes, copies, copies_error)
    elif organization_trails:
        _left_to_organization_item(est, organization_trails)
    if answers.events.data:
        kinds = ", ".join(d.type for d in answers.events.data)
        unit = est.unit("cloudtrail_data_events", home_region)
        est.add(
            f"Data events ({kinds})",
            data * (month * unit),
            f"{_span(data)} events a day ({volume.data_source}); every copy is charged, at "
            f"{est.price_text('cloudtrail_data_events', home_region)}",
        )
    if answers.events.network:
        unit = est.unit("cloudtrail_network_events", home_region)
        est.add(
            "Network activity events",
            network * (month * unit),
            f"{_span(network)} events a day ({volume.network_source}), at "
            f"{est.price_text('cloudtrail_network_events', home_region)}",
        )
    if answers.events.insights:
        _insights_item(est, reads, writes)
    if answers.events.data_insights:
        _data_insights_item(est, data)

    files = _log_files(answers, volume)
    digests = (
        DIGEST_FILES_PER_DAY * volume.regions_covered if answers.trail.log_file_validation else 0
    )
    _storage_items(est, recorded, files, digests)
    if answers.encryption.type == "sse-kms":
        _kms_items(est, files)
    if answers.cloudwatch_logs.enabled:
        _logs_items(est, recorded)
    if answers.notifications.sns_topic:
        unit = est.unit("sns_publish", home_region)
        est.add(
            "SNS notifications",
            files * (month * unit),
            f"one notification per log file: {_span(files)} files a day, at "
            f"{est.price_text('sns_publish', home_region)} (deliveries to the topic's "
            "subscribers, such as email, are charged by SNS on top)",
        )

    est.assumptions[:0] = _assumptions(answers, volume, partition)
    listed = prices.price("cloudtrail_management_copy").listed(home_region)
    return CostEstimate.of(
        est.items,
        prices_as_of=prices.as_of,
        prices_region=home_region if listed else prices.default_region,
        volume_source=f"Management events: {volume.management_source}.",
        assumptions=est.assumptions,
    )


def _management_item(
    est: _Estimator,
    reads: Range,
    writes: Range,
    copies: Sequence[ManagementCopy],
    copies_error: str | None,
) -> None:
    answers, volume = est.answers, est.volume
    read_cover, write_cover, known, unknown = _coverage(copies, answers, volume, est.home_region)
    charged = Range(
        reads.low * read_cover.low + writes.low * write_cover.low,
        reads.high * read_cover.high + writes.high * write_cover.high,
    )
    unit = est.unit("cloudtrail_management_copy", est.home_region)
    recorded = reads + writes
    which = {"all": "read and write", "read": "read-only", "write": "write"}[
        answers.events.management
    ]
    head = f"{_span(recorded)} {which} events a day ({volume.management_label})"
    price = est.price_text("cloudtrail_management_copy", est.home_region)
    verb, its = ("records", "its") if len(known) == 1 else ("record", "their")
    if charged.high == 0:
        if known:
            why = (
                f"{_names(known)} {verb} management events only in other regions or of other "
                f"kinds, so this copy is the first and free (a further copy is charged at {price})"
            )
        else:
            why = (
                "no other trail records this account's management events, so this copy is the "
                f"first and free (every further copy is charged at {price})"
            )
    elif charged == recorded:
        why = (
            f"{_names(known)} already {verb} management events, so this trail's copy is an "
            f"additional copy, charged at {price}"
        )
    else:
        parts = []
        if known:
            parts.append(
                f"{_names(known)} {verb} some of the same management events (in {its} "
                f"regions, of {its} kinds): this trail's copy of those is an additional copy, "
                "charged at "
                f"{price}, the rest is the first copy and free"
            )
            if not unknown and charged.low == 0 and not volume.region_shares:
                parts.append(
                    "how many of this trail's events fall there was not measured, so the range "
                    "runs from none of them to all"
                )
        if unknown:
            parts.append(
                f"whether {_names(unknown)} already record{'s' if len(unknown) == 1 else ''} "
                f"them could not be read: the high end counts this copy as charged at {price}"
            )
        why = "; ".join(parts)
    if copies_error:
        why += f"; {copies_error}"
    est.add(
        "Management events (this trail's copy)",
        charged * (DAYS_PER_MONTH * unit),
        f"{head}; {why}",
    )


def duplicate_management_cost(volume: Volume, home_region: str, prices: PriceList) -> Range:
    """What a second copy of all management events costs a month (every copy is charged)."""
    unit = prices.price("cloudtrail_management_copy").unit_price(home_region)
    return volume.management_range * (DAYS_PER_MONTH * unit)


def _left_to_organization_item(est: _Estimator, organization_trails: Sequence[str]) -> None:
    """A zero item that says why no management events are recorded, and what a copy costs."""
    duplicate = duplicate_management_cost(est.volume, est.home_region, est.prices)
    price = est.price_text("cloudtrail_management_copy", est.home_region)
    verb = "records" if len(organization_trails) == 1 else "record"
    est.add(
        "Management events (left to the organization trail)",
        ZERO,
        f"none recorded here: organization {_names(organization_trails)} already {verb} this "
        f"account's management events; a second copy here would be charged at {price}, about "
        f"${duplicate.low:,.2f} to ${duplicate.high:,.2f} a month for "
        f"{_span(est.volume.management_range)} events a day ({est.volume.management_label})",
    )


def _names(names: Sequence[str]) -> str:
    shown = list(names[:3])
    if len(names) > 3:
        shown.append(f"{len(names) - 3} more")
    return "trail " + ", ".join(shown) if len(names) == 1 else "trails " + ", ".join(shown)


def _insights_item(est: _Estimator, reads: Range, writes: Range) -> None:
    types = est.answers.events.insights
    analysed = ZERO
    how: list[str] = []
    if "ApiCallRateInsight" in types:
        analysed = analysed + writes
        how.append("API call rate analyses the write events")
    if "ApiErrorRateInsight" in types:
        analysed = analysed + reads + writes
        how.append("API error rate analyses read and write events")
    unit = est.unit("cloudtrail_insights", est.home_region)
    est.add(
        "CloudTrail Insights",
        analysed * (DAYS_PER_MONTH * unit),
        f"{_span(analysed)} events analysed a day ({'; '.join(how)}), at "
        f"{est.price_text('cloudtrail_insights', est.home_region)}",
    )


def _data_insights_item(est: _Estimator, data: Range) -> None:
    types = est.answers.events.data_insights
    # Each Insights type analyses every data event once (API call rate: all of them; API
    # error rate: all of them, for their errors).
    analysed = data * float(len(types))
    unit = est.unit("cloudtrail_insights", est.home_region)
    est.add(
        "CloudTrail Insights on data events",
        analysed * (DAYS_PER_MONTH * unit),
        f"{_span(analysed)} events analysed a day (each of the {len(types)} Insights "
        f"type{'s' if len(types) != 1 else ''} analyses every data event), at "
        f"{est.price_text('cloudtrail_insights', est.home_region)}, the price of Insights on "
        "management events",
    )


def _log_files(answers: Answers, volume: Volume) -> Range:
    """Log files a day: about one every 5 minutes in each region with events."""
    regions = volume.regions_covered
    low = min(volume.active_regions, regions)
    return Range(float(LOG_FILES_PER_DAY * low), float(LOG_FILES_PER_DAY * regions))


COLD_CLASSES: dict[str, tuple[str, str, int]] = {
    "STANDARD_IA": ("s3_standard_ia_storage", "s3_transition_standard_ia", 0),
    "GLACIER_IR": ("s3_glacier_ir_storage", "s3_transition_glacier_ir", 0),
    "GLACIER": ("s3_glacier_storage", "s3_transition_glacier", 40 * 1024),
    "DEEP_ARCHIVE": ("s3_deep_archive_storage", "s3_transition_deep_archive", 40 * 1024),
}
"""Each colder storage class: its storage price, its transition price, and the bytes S3 adds
to each archived object (32 KB at the class's price, 8 KB at S3 Standard's). The fewest days
S3 bills there are :data:`wizard.model.choices.LIFECYCLE_MIN_STORAGE_DAYS`."""

MIN_TRANSITION_BYTES = 128 * 1024
"""S3 Lifecycle does not move objects smaller than this by default (since September 2024)."""


@dataclass(frozen=True)
class _Held:
    """One end of the range: what the bucket holds in the month priced."""

    standard_gb: float
    cold_gb: float
    cold_billed_gb: float
    overhead_standard_gb: float
    overhead_cold_gb: float
    transitions: float
    moved: bool


def _held(
    est: _Estimator, gb_a_day: float, files_a_day: float, standard_days: int, cold_days: int
) -> _Held:
    """What one end of the range holds: ``standard_days`` of files in S3 Standard, then
    ``cold_days`` in the colder class (none when the files are too small to be moved)."""
    retention = est.answers.bucket.retention
    size = gb_a_day * GB / files_a_day if files_a_day else 0.0
    moved = bool(cold_days) and retention is not None and size >= MIN_TRANSITION_BYTES
    if not moved or retention is None:
        days = standard_days + cold_days
        return _Held(gb_a_day * days, 0.0, 0.0, 0.0, 0.0, 0.0, False)
    overhead = COLD_CLASSES[retention.storage_class][2]
    least = LIFECYCLE_MIN_STORAGE_DAYS[retention.storage_class]
    expires = retention.expire_days is not None and cold_days < least
    billed_days = max(cold_days, least) if expires else cold_days
    extra = files_a_day * overhead / GB
    return _Held(
        standard_gb=gb_a_day * standard_days,
        cold_gb=gb_a_day * cold_days,
        cold_billed_gb=gb_a_day * billed_days,
        overhead_standard_gb=extra * 0.2 * billed_days,  # 8 of the 40 KB
        overhead_cold_gb=extra * 0.8 * billed_days,  # 32 of the 40 KB
        transitions=files_a_day * DAYS_PER_MONTH,
        moved=True,
    )


def _storage_items(est: _Estimator, recorded: Range, files: Range, digests: int) -> None:
    months = est.answers.cost.storage_months
    region = est.bucket_region
    retention = est.answers.bucket.retention
    window = DAYS_PER_MONTH * months
    expire = retention.expire_days if retention is not None else None
    days = min(window, expire) if expire is not None else window
    move = retention.transition_days if retention is not None else None
    cold_days = days - move if move is not None and move < days else 0
    gb_a_day = recorded * (COMPRESSED_BYTES_PER_EVENT / GB)
    ends = [
        _held(est, gb, n, days - cold_days, cold_days)
        for gb, n in ((gb_a_day.low, files.low), (gb_a_day.high, files.high))
    ]
    standard = est.unit("s3_standard_storage", region)
    cold = transition = 0.0
    if retention is not None and cold_days:
        name, moving, _overhead = COLD_CLASSES[retention.storage_class]
        cold = est.unit(name, region)
        transition = est.unit(moving, region)

    def monthly(end: _Held) -> float:
        return (end.standard_gb + end.overhead_standard_gb) * standard + (
            end.cold_billed_gb + end.overhead_cold_gb
        ) * cold

    held = Range(ends[0].standard_gb + ends[0].cold_gb, ends[1].standard_gb + ends[1].cold_gb)
    kept = (
        f"log files expire after {expire} days (bucket.retention.expire_days), so the month "
        f"priced holds {days} days of them"
        if expire is not None and expire <= window
        else f"{months} month{'s' if months != 1 else ''} of log files held (no expiry"
        + (f" before day {expire}" if expire is not None else " is set")
        + "; storage grows each month until a lifecycle rule removes old files)"
    )
    basis = (
        f"{kept}: {_gb(held)} at about {COMPRESSED_BYTES_PER_EVENT} bytes an event compressed "
        f"({_span(recorded)} events a day), at {est.price_text('s3_standard_storage', region)}"
    )
    if retention is not None and cold_days:
        name = COLD_CLASSES[retention.storage_class][0]
        basis += (
            f"; after {move} days they move to {retention.storage_class}, at "
            f"{est.price_text(name, region)}"
        )
        if not any(end.moved for end in ends):
            basis += (
                "; but a log file is smaller than 128 KB, and S3 Lifecycle does not move "
                "objects that small by default: they stay in S3 Standard"
            )
        elif not all(end.moved for end in ends):
            basis += (
                "; at one end of the range a log file is smaller than 128 KB, and S3 Lifecycle "
                "does not move objects that small by default: there they stay in S3 Standard"
            )
        least = LIFECYCLE_MIN_STORAGE_DAYS[retention.storage_class]
        if expire is not None and cold_days < least:
            basis += (
                f"; S3 bills at least {least} days in {retention.storage_class}, so their "
                f"{cold_days} days there are billed as {least}"
            )
        if COLD_CLASSES[retention.storage_class][2]:
            basis += "; S3 adds 40 KB to each archived object (32 KB at the archive's price)"
    elif retention is not None and move is not None:
        basis += f"; none is old enough to move to {retention.storage_class} in the month priced"
    est.add("S3 storage of the log files", Range(monthly(ends[0]), monthly(ends[1])), basis)
    if transition and any(end.moved for end in ends):
        moved = Range(*sorted(end.transitions if end.moved else 0.0 for end in ends))
        assert retention is not None
        est.add(
            f"S3 lifecycle transitions to {retention.storage_class}",
            moved * transition,
            f"each log file is moved once, {_span(moved * (1 / DAYS_PER_MONTH))} a day, at "
            f"{est.price_text(COLD_CLASSES[retention.storage_class][1], region)}",
        )
    writes = files + Range.of(float(digests))
    est.add(
        "S3 requests (writing log files)",
        writes * (DAYS_PER_MONTH * est.unit("s3_put_requests", region)),
        f"{_span(writes)} files a day (about one log file every 5 minutes in each region "
        f"with events{', plus an hourly digest file per region' if digests else ''}), at "
        f"{est.price_text('s3_put_requests', region)}",
    )


def _gb(value: Range) -> str:
    def one(v: float) -> str:
        return f"{v:,.1f}" if v >= 0.1 else f"{v:.3f}"

    if one(value.low) == one(value.high):
        return f"{one(value.low)} GB"
    return f"{one(value.low)} to {one(value.high)} GB"


def _kms_items(est: _Estimator, files: Range) -> None:
    region = est.bucket_region
    encryption = est.answers.encryption
    if encryption.new_key:
        est.add(
            "KMS key",
            Range.of(est.unit("kms_key_month", region)),
            f"one new customer managed key, at {est.price_text('kms_key_month', region)}"
            + (
                "; each yearly rotation adds $1 a month for the first two rotations"
                if encryption.rotation
                else ""
            ),
        )
    else:
        est.add(
            "KMS key",
            ZERO,
            f"the existing key {encryption.existing_key} is already paid for; no new key",
        )
    est.add(
        "KMS requests",
        files * (DAYS_PER_MONTH * est.unit("kms_requests", region)),
        f"CloudTrail asks KMS for a data key (GenerateDataKey) for each log file: "
        f"{_span(files)} a day, at {est.price_text('kms_requests', region)}; people and "
        "tools reading the logs make Decrypt requests on top",
    )


def _logs_items(est: _Estimator, recorded: Range) -> None:
    region = est.home_region
    logs = est.answers.cloudwatch_logs
    ingested = recorded * ((BYTES_PER_EVENT + LOGS_METADATA_BYTES) / GB)
    est.add(
        "CloudWatch Logs ingestion",
        ingested * (DAYS_PER_MONTH * est.unit("logs_ingestion", region)),
        f"{_span(recorded)} events a day at about {BYTES_PER_EVENT:,} bytes each plus "
        f"{LOGS_METADATA_BYTES} bytes of metadata ({_gb(ingested * DAYS_PER_MONTH)} a month), "
        f"at {est.price_text('logs_ingestion', region)}",
    )
    days = min(logs.retention_days, est.answers.cost.storage_months * DAYS_PER_MONTH)
    stored = recorded * ((COMPRESSED_BYTES_PER_EVENT + LOGS_METADATA_BYTES) / GB) * days
    est.add(
        "CloudWatch Logs storage",
        stored * est.unit("logs_storage", region),
        f"{days} days of events held ({_gb(stored)}, compressed; retention "
        f"{logs.retention_days} days), at {est.price_text('logs_storage', region)}",
    )


def _assumptions(answers: Answers, volume: Volume, partition: str) -> list[str]:
    notes = [
        f"A month is {DAYS_PER_MONTH} days; prices are on-demand, in US dollars, before tax.",
        "Free tiers (KMS, SNS, S3) are shared with the rest of the account and are not subtracted.",
        f"Regions: {volume.regions_source}.",
        f"Event sizes: about {BYTES_PER_EVENT:,} bytes a record, about "
        f"{COMPRESSED_BYTES_PER_EVENT} bytes of a compressed log file.",
        f"Log files: about {LOG_FILES_PER_DAY} a day in each region with events (one every 5 "
        "minutes); the low end counts the regions with events, the high end every region "
        "recorded.",
        f"Read-only share of management events: {volume.read_share:.0%}.",
    ]
    if answers.events.aggregation:
        notes.append(
            "Data event aggregation (5-minute summaries) is not priced: the pricing pages "
            "checked list no price of its own; see https://aws.amazon.com/cloudtrail/pricing/."
        )
    if answers.events.exclude_sources and not volume.excluded_share:
        notes.append(
            "The excluded sources' share of the management events was not measured: the "
            "estimate does not subtract them (its high end may be high)."
        )
    if answers.trail.organization:
        notes.append(
            "An organization trail records every member account too: the volume priced is "
            "this account's only, so the whole organization's bill is higher."
        )
    if partition != "aws":
        notes.append(
            f"This account is in the {partition} partition: the prices are those of AWS's "
            "commercial regions; check the partition's own pricing."
        )
    return notes
