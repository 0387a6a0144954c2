"""What the cost preview reads from the account: recent activity, and the trails that
already record management events. Read-only, and bounded in the number of calls.

**Activity.** CloudTrail's event history (``LookupEvents``, free) holds the last 90 days of
management events of each region. A page holds at most 50 of them, newest first, and AWS
answers only two requests a second per region, so counting a busy day would take thousands
of calls. The preview counts instead, within :data:`MAX_LOOKUP_CALLS` calls in all: up to
:data:`HOME_PAGES` pages in the home region, then one page in each other region a
multi-region trail records (concurrently: the limit is per region). When every event of the
last :data:`WINDOW` fitted, the count is exact; otherwise the rate of the events read (how
many, over how long) is extrapolated to a day. Regions left over once the call budget is
spent are not read (:attr:`Activity.unsampled`).

**Other copies of management events.** The first copy of management events in each region
is free; every further trail recording them pays for its copy. Discovery already lists the
trails visible from the home region (organization trails included); for a multi-region
trail, ``ListTrails`` adds the single-region trails of other regions. For each, up to
:data:`MAX_TRAILS_READ`, ``GetTrailStatus`` and ``GetEventSelectors`` say whether it logs and
which management events it records. A trail whose settings cannot be read is kept as
unknown, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from wizard.account.discovery import TrailFacts
from wizard.model.answers import EXCLUDABLE_SOURCES
from wizard.model.base import WizardModel
from wizard.model.names import parse_arn
from wizard.policy.controls import management_events
from wizard.ports import AwsCaller, AwsError

WINDOW = timedelta(hours=24)
"""How far back the event history is read."""

PAGE_SIZE = 50
"""Events on one LookupEvents page (AWS's maximum)."""

HOME_PAGES = 3
"""LookupEvents pages read at most in the home region."""

MAX_LOOKUP_CALLS = 20
"""LookupEvents calls at most for one estimate, all regions together."""

MAX_TRAILS_READ = 10
"""Other trails whose status and selectors are read at most (two calls each)."""


class RegionActivity(WizardModel):
    """The management events read from one region's event history."""

    region: str
    """The region."""
    events: int = 0
    """Events read."""
    span_seconds: float = 0.0
    """From the oldest event read until the read (the time the events cover)."""
    complete: bool = True
    """True when every event of the window was read (the count is exact)."""
    read_only: int = 0
    """Of the events read, the read-only ones."""
    sources: dict[str, int] = Field(default_factory=dict)
    """Of the events read, those from each source the answers can exclude."""
    calls: int = 0
    """LookupEvents calls made."""
    error: str | None = None
    """Why the region's history could not be read."""

    @property
    def per_day(self) -> float:
        """The events a day this sample stands for (exact, or extrapolated from its rate)."""
        if self.error is not None or self.events == 0:
            return 0.0
        if self.complete:
            return self.events * (timedelta(days=1) / WINDOW)
        return self.events * 86400.0 / max(self.span_seconds, 1.0)


class Activity(WizardModel):
    """The account's recent management events, region by region."""

    home_region: str
    """The trail's home region (read first)."""
    regions: list[RegionActivity] = Field(default_factory=list)
    """The regions read (the home region first)."""
    unsampled: list[str] = Field(default_factory=list)
    """Regions the trail records that were not read (the call budget was spent)."""

    @property
    def calls(self) -> int:
        """LookupEvents calls made, in all regions."""
        return sum(r.calls for r in self.regions)

    @property
    def readable(self) -> list[RegionActivity]:
        """The regions whose history could be read."""
        return [r for r in self.regions if r.error is None]

    @property
    def extrapolated(self) -> bool:
        """True when some region's count is a rate extrapolated to a day."""
        return any(not r.complete for r in self.readable)


def enabled_regions(caller: AwsCaller, region: str) -> list[str]:
    """The regions enabled for the account (EC2 DescribeRegions: opt-in ones once enabled).

    Raises:
        AwsError: the regions could not be listed.
    """
    got = caller.call("ec2", region, "DescribeRegions", {})
    return sorted(str(r["RegionName"]) for r in got.get("Regions") or [] if r.get("RegionName"))


def explain(err: AwsError, what: str) -> str:
    """Why a read failed, in a clause (``LookupEvents was refused (AccessDenied)``)."""
    if err.access_denied:
        return f"{what} was refused ({err.code})"
    return f"{what} failed ({err.code}: {err.message})"


def read_region(
    caller: AwsCaller, region: str, pages: int, now: datetime | None = None
) -> RegionActivity:
    """Read up to ``pages`` pages of one region's event history over :data:`WINDOW`.

    Args:
        caller: Makes the calls.
        region: The region.
        pages: LookupEvents calls at most (each reads :data:`PAGE_SIZE` events).
        now: The end of the window (the current time by default).

    Returns:
        What was read; an error instead of raising when the history cannot be read.
    """
    end = now or datetime.now(UTC)
    params: dict[str, Any] = {
        "StartTime": end - WINDOW,
        "EndTime": end,
        "MaxResults": PAGE_SIZE,
    }
    sample = RegionActivity(region=region, complete=False)
    events = read_only = calls = 0
    oldest: datetime | None = None
    sources: dict[str, int] = {}
    token: str | None = None
    for _ in range(max(pages, 0)):
        try:
            page = {**params, "NextToken": token} if token else params
            got = caller.call("cloudtrail", region, "LookupEvents", page)
        except AwsError as err:
            calls += 1
            if events == 0:
                return sample.model_copy(
                    update={"calls": calls, "error": explain(err, "LookupEvents")}
                )
            break  # what was read still counts: a rate from fewer pages
        calls += 1
        for event in got.get("Events") or []:
            events += 1
            if str(event.get("ReadOnly", "")).lower() == "true":
                read_only += 1
            source = str(event.get("EventSource") or "")
            if source in EXCLUDABLE_SOURCES:
                sources[source] = sources.get(source, 0) + 1
            moment = _moment(event.get("EventTime"))
            if moment is not None and (oldest is None or moment < oldest):
                oldest = moment
        token = got.get("NextToken")
        if not token:
            break
    span = (end - oldest).total_seconds() if oldest is not None else WINDOW.total_seconds()
    return sample.model_copy(
        update={
            "events": events,
            "span_seconds": max(span, 0.0),
            "complete": not token,
            "read_only": read_only,
            "sources": sources,
            "calls": calls,
        }
    )


def _moment(value: Any) -> datetime | None:
    """An event's time as the SDK gives it (a datetime) or as JSON has it (epoch seconds)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), UTC)
    return None


def read_activity(
    caller: AwsCaller,
    home_region: str,
    other_regions: Sequence[str] = (),
    *,
    max_calls: int = MAX_LOOKUP_CALLS,
    now: datetime | None = None,
) -> Activity:
    """The account's recent management events in the regions the trail records.

    Args:
        caller: Makes the calls.
        home_region: The trail's home region (read first, with up to :data:`HOME_PAGES`
            pages).
        other_regions: The other regions a multi-region trail records: each gets one page
            (concurrently), as long as the call budget lasts.
        max_calls: LookupEvents calls at most, in all.
        now: The end of the window.

    Returns:
        What was read. Never raises for AWS errors: a region that cannot be read says why.
    """
    moment = now or datetime.now(UTC)
    others = [r for r in other_regions if r != home_region]
    home = read_region(caller, home_region, min(HOME_PAGES, max_calls), moment)
    budget = max(max_calls - home.calls, 0)
    sampled, unsampled = others[:budget], others[budget:]
    # Every sampled region at once (AWS limits LookupEvents per region, and the budget bounds
    # how many): one round trip for all of them, not one for each eight.
    with ThreadPoolExecutor(
        max_workers=max(len(sampled), 1), thread_name_prefix="activity"
    ) as pool:
        rest = list(pool.map(lambda r: read_region(caller, r, 1, moment), sampled))
    return Activity(home_region=home_region, regions=[home, *rest], unsampled=unsampled)


# --------------------------------------------------------------------------- other copies


class ManagementCopy(WizardModel):
    """Another trail, and whether it already records management events (a copy)."""

    name: str
    """Its name."""
    arn: str
    """Its ARN."""
    home_region: str
    """Its home region."""
    multi_region: bool | None = False
    """It records every region (None: not known, such as for a trail only listed)."""
    organization: bool = False
    """It is an organization trail (it records this account as a member)."""
    owner_account: str | None = None
    """The account that owns it."""
    logging: bool | None = None
    """It logs now (None: unknown)."""
    read: bool | None = None
    """It records read-only management events (None: its selectors could not be read)."""
    write: bool | None = None
    """It records write management events (None: unknown)."""
    excluded_sources: list[str] = Field(default_factory=list)
    """Management event sources it leaves out."""
    error: str | None = None
    """What could not be read about it."""

    @property
    def known(self) -> bool:
        """True when whether it records management events is known."""
        return self.logging is not None and self.read is not None and self.write is not None

    @property
    def records(self) -> bool:
        """True when it is known to log and to record some management events."""
        return bool(self.logging) and bool(self.read or self.write)

    def describe(self) -> str:
        """``trail NAME (multi-region organization trail of ACCOUNT)``, for people."""
        kinds = [
            word
            for word, on in (
                ("multi-region", self.multi_region),
                ("organization", self.organization),
            )
            if on
        ]
        what = " ".join([*kinds, "trail"]) if kinds else f"trail in {self.home_region}"
        owner = f" of {self.owner_account}" if self.organization and self.owner_account else ""
        return f"{self.name} ({what}{owner})"


def _copy_of(trail: TrailFacts) -> ManagementCopy:
    return ManagementCopy(
        name=trail.name,
        arn=trail.arn,
        home_region=trail.home_region,
        multi_region=trail.multi_region,
        organization=trail.organization,
        owner_account=trail.owner_account,
        logging=trail.logging,
    )


def read_management_copies(
    caller: AwsCaller,
    trails: Sequence[TrailFacts],
    *,
    this_trail_arn: str,
    home_region: str,
    multi_region: bool,
    max_trails: int = MAX_TRAILS_READ,
) -> tuple[list[ManagementCopy], str | None]:
    """The other trails that may record this account's management events, each read.

    Args:
        caller: Makes the calls.
        trails: The trails discovery saw from the home region (shadow copies and
            organization trails included).
        this_trail_arn: The trail the answers describe (left out: it is the one priced).
        home_region: Its home region.
        multi_region: It records every region: single-region trails of other regions count
            too (``ListTrails``).
        max_trails: Trails read at most; the rest are kept as unknown.

    Returns:
        The other trails, and why the account's trail list could not be completed (or None).
    """
    seen: dict[str, ManagementCopy] = {}
    for trail in trails:
        if trail.arn != this_trail_arn and trail.arn not in seen:
            seen[trail.arn] = _copy_of(trail)
    listing_error = None
    if multi_region:
        try:
            for entry in caller.paginate("cloudtrail", home_region, "ListTrails", "Trails"):
                arn = str(entry.get("TrailARN") or "")
                if not arn or arn == this_trail_arn or arn in seen:
                    continue
                parsed = parse_arn(arn)
                seen[arn] = ManagementCopy(
                    name=str(entry.get("Name") or arn.rsplit("/", 1)[-1]),
                    arn=arn,
                    home_region=str(entry.get("HomeRegion") or home_region),
                    multi_region=None,
                    owner_account=parsed.account if parsed else None,
                )
        except AwsError as err:
            listing_error = explain(err, "ListTrails") + ": trails of other regions are unknown"
    copies = list(seen.values())
    read, rest = copies[:max_trails], copies[max_trails:]
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="copies") as pool:
        done = list(pool.map(lambda c: _read_copy(caller, c), read))
    skipped = [
        c.model_copy(update={"error": f"not read: only {max_trails} trails are read"}) for c in rest
    ]
    return [*done, *skipped], listing_error


def _read_copy(caller: AwsCaller, copy: ManagementCopy) -> ManagementCopy:
    """Whether one trail logs, is multi-region, and which management events it records.

    The (up to) three reads are independent of each other: they go out together, so a
    trail costs one round trip, not three.
    """
    update: dict[str, Any] = {}
    errors: list[str] = []
    region = copy.home_region

    def status() -> None:
        try:
            got = caller.call("cloudtrail", region, "GetTrailStatus", {"Name": copy.arn})
            update["logging"] = bool(got.get("IsLogging"))
        except AwsError as err:
            errors.append(f"GetTrailStatus: {err.code}")

    def trail() -> None:
        # ListTrails does not say whether a trail is multi-region, nor does the selectors
        # call: a trail only listed is read once more.
        try:
            got = caller.call("cloudtrail", region, "GetTrail", {"Name": copy.arn})["Trail"]
            update["multi_region"] = bool(got.get("IsMultiRegionTrail", False))
            update["organization"] = bool(got.get("IsOrganizationTrail", False))
        except (AwsError, KeyError) as err:
            errors.append(f"GetTrail: {err.code if isinstance(err, AwsError) else 'no Trail'}")

    def selectors() -> None:
        try:
            got = caller.call("cloudtrail", region, "GetEventSelectors", {"TrailName": copy.arn})
            kind, excluded = management_events(
                list(got.get("EventSelectors") or []),
                list(got.get("AdvancedEventSelectors") or []),
            )
            update["read"] = kind in ("all", "read")
            update["write"] = kind in ("all", "write")
            update["excluded_sources"] = excluded
        except AwsError as err:
            errors.append(f"GetEventSelectors: {err.code}")

    reads = [
        *([status] if copy.logging is None else []),
        *([trail] if copy.multi_region is None else []),
        selectors,
    ]
    with ThreadPoolExecutor(max_workers=len(reads), thread_name_prefix="copy") as pool:
        list(pool.map(lambda read: read(), reads))
    # The same order as the reads are listed in, whichever answered first.
    order = ("GetTrailStatus", "GetTrail", "GetEventSelectors")
    errors.sort(key=lambda e: order.index(e.split(":", 1)[0]))
    if errors:
        update["error"] = "could not read " + ", ".join(errors)
    return copy.model_copy(update=update)
