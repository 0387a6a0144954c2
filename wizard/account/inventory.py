"""What the account has to choose from: buckets, keys, topics, trails (read-only, via the port).

The front ends list these so a person can pick instead of typing, and each choice says
whether it can be used and why not: a key in another region than the bucket, asymmetric,
disabled or AWS managed is shown but cannot be picked, with the reason.

An account may have thousands of buckets and hundreds of keys, so the pickers stream:
:class:`BucketListing` and :class:`KeyListing` hand over rows as soon as one listing request
answers (ListBuckets names each bucket's region; ListKeys and ListAliases one region's keys),
then the verdicts that need one request per row (GetBucketPolicy, DescribeKey) as they come
in, with a bounded number of requests in flight (:mod:`wizard.account.lookups`) and the rows
a person looks at first. :func:`list_buckets` and :func:`list_keys` collect the same into one
list.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from wizard.account.lookups import READS_AT_ONCE, WorkQueue
from wizard.model.base import WizardModel
from wizard.model.regions import normalise_bucket_location
from wizard.policy.access import Principal, Request, evaluate
from wizard.ports import AwsCaller, AwsError


class BucketChoice(WizardModel):
    """A bucket of the account."""

    name: str
    """Bucket name."""
    region: str | None = None
    """Its region."""
    allows_cloudtrail: bool | None = None
    """Its policy already lets CloudTrail write this account's logs (None: unknown)."""
    note: str = ""
    """Why the policy could not be read, or what it says."""
    checked: bool = False
    """Its policy was read and judged (or could not be); False while a listing reads it."""


class KeyChoice(WizardModel):
    """A KMS key of the account, and whether it can encrypt CloudTrail logs here."""

    key_id: str
    """Key id."""
    arn: str
    """Key ARN."""
    region: str
    """Region."""
    aliases: list[str]
    """Its aliases."""
    spec: str | None = None
    """KeySpec."""
    usage: str | None = None
    """KeyUsage."""
    state: str | None = None
    """KeyState."""
    manager: str | None = None
    """AWS or CUSTOMER."""
    eligible: bool = False
    """Can be chosen for the bucket's region."""
    reason: str = ""
    """Why it cannot be chosen."""
    checked: bool = False
    """DescribeKey answered (spec, usage, state and manager are known) or failed; False
    while a listing describes it."""

    @property
    def label(self) -> str:
        """Alias (or id) for lists."""
        return self.aliases[0] if self.aliases else self.key_id


BUCKET_FIRST_PAGE = 100
"""Buckets asked for in the first ListBuckets page: a screenful at once, even in an account
with thousands (a page of 10,000 takes S3 and the SDK a while to write and to read)."""

BUCKET_PAGE = 1000
"""Buckets per later ListBuckets page (S3 allows up to 10,000)."""

BATCH_INTERVAL = 0.1
"""Seconds between two batches of a listing: rows arrive in a few screen updates, not one
update per row."""


class BucketBatch(WizardModel):
    """What a bucket listing learnt since the last batch."""

    found: list[BucketChoice]
    """Buckets new to the listing, in name order (their policies mostly not read yet)."""
    checked: list[BucketChoice]
    """Buckets whose policy has now been read and judged (or could not be)."""
    listed: bool
    """Every page of ListBuckets has been read: no more rows will be found."""
    total: int
    """Buckets found so far."""
    done: int
    """Buckets checked so far."""

    @property
    def complete(self) -> bool:
        """Every bucket is found and checked: this is the last batch."""
        return self.listed and self.done == self.total


def bucket_pages(
    caller: AwsCaller,
    region: str,
    *,
    first_page: int = BUCKET_FIRST_PAGE,
    page_size: int = BUCKET_PAGE,
    workers: int = READS_AT_ONCE,
) -> Iterator[list[BucketChoice]]:
    """The account's buckets page by page, each with its region (policies not read).

    S3 names each bucket's region in ListBuckets (``BucketRegion``). For an endpoint that
    does not (an older S3-compatible one), the page's locations are asked for with
    GetBucketLocation, at most ``workers`` at once.

    Raises:
        AwsError: a page of ListBuckets failed.
    """
    token: str | None = None
    size = first_page
    while True:
        params: dict[str, Any] = {"MaxBuckets": size}
        if token:
            params["ContinuationToken"] = token
        response = caller.call("s3", region, "ListBuckets", params)
        page = [
            BucketChoice(
                name=str(b["Name"]),
                region=normalise_bucket_location(str(b["BucketRegion"]))
                if b.get("BucketRegion")
                else None,
            )
            for b in response.get("Buckets") or []
        ]
        unplaced = [b for b in page if b.region is None]
        if unplaced:
            with ThreadPoolExecutor(
                max_workers=min(workers, len(unplaced)), thread_name_prefix="bucket-location"
            ) as pool:
                placed = dict(
                    zip(
                        unplaced,
                        pool.map(lambda b: _locate(caller, region, b), unplaced),
                        strict=True,
                    )
                )
            page = [placed.get(b, b) for b in page]
        yield page
        token = response.get("ContinuationToken")
        if not token or not page:
            return
        size = page_size


def _locate(caller: AwsCaller, region: str, bucket: BucketChoice) -> BucketChoice:
    """The bucket with its region from GetBucketLocation (or why it is unknown)."""
    try:
        loc = caller.call("s3", region, "GetBucketLocation", {"Bucket": bucket.name})
    except AwsError as err:
        return bucket.model_copy(update={"note": f"region unknown: {err.code}", "checked": True})
    return bucket.model_copy(
        update={"region": normalise_bucket_location(loc.get("LocationConstraint"))}
    )


def check_bucket(caller: AwsCaller, account_id: str, bucket: BucketChoice) -> BucketChoice:
    """The bucket with its policy read and judged: does it let CloudTrail write here?"""
    if bucket.region is None:
        return bucket.model_copy(update={"checked": True})
    name, region = bucket.name, bucket.region
    try:
        policy = caller.call("s3", region, "GetBucketPolicy", {"Bucket": name})["Policy"]
    except AwsError as err:
        if err.not_found:
            return bucket.model_copy(
                update={"allows_cloudtrail": False, "note": "no policy", "checked": True}
            )
        return bucket.model_copy(update={"note": f"policy: {err.code}", "checked": True})
    request = Request(
        principal=Principal(kind="service", id="cloudtrail.amazonaws.com"),
        action="s3:PutObject",
        resource=f"arn:aws:s3:::{name}/AWSLogs/{account_id}/CloudTrail/x",
        context={
            "s3:x-amz-acl": "bucket-owner-full-control",
            "aws:SourceAccount": account_id,
            "aws:SecureTransport": True,
        },
    )
    try:
        allowed = evaluate(policy, request).allowed
    except ValueError:
        return bucket.model_copy(update={"note": "policy is malformed", "checked": True})
    return bucket.model_copy(
        update={
            "allows_cloudtrail": allowed,
            "note": "policy allows CloudTrail"
            if allowed
            else "policy needs CloudTrail's statements",
            "checked": True,
        }
    )


Row = TypeVar("Row", BucketChoice, KeyChoice)


class _Checked(Generic[Row]):
    """What both listings share: the rows' checks run on a :class:`WorkQueue`."""

    def __init__(self, checks: WorkQueue[str, Row, Row]) -> None:
        self._queue: WorkQueue[str, Row, Row] = checks

    @property
    def peak(self) -> int:
        """The most checks (policy reads, DescribeKey requests) this listing had in flight."""
        return self._queue.peak

    @property
    def cancelled(self) -> bool:
        """:meth:`cancel` was called."""
        return self._queue.cancelled

    @property
    def finished(self) -> bool:
        """Every check started has ended (after the last row, or once cancelled)."""
        return self._queue.finished

    def prefer(self, keys: Iterable[str]) -> None:
        """Check these rows next (the ones on screen, the one chosen): by bucket name or
        key ARN."""
        self._queue.prefer(keys)

    def cancel(self) -> None:
        """Stop: no new page and no new check (the checks in flight are dropped)."""
        self._queue.cancel()


class BucketListing(_Checked[BucketChoice]):
    """The account's buckets as they become known: rows at once, verdicts as they come in.

    :meth:`batches` reads ListBuckets page by page (each page is rows on screen) while at
    most ``workers`` threads read the buckets' policies, in name order except for the ones
    :meth:`prefer` asks for first (the rows a person is looking at). :meth:`cancel` stops
    both; every method but :meth:`batches` may be called from any thread.
    """

    def __init__(
        self,
        caller: AwsCaller,
        account_id: str,
        region: str,
        *,
        workers: int = READS_AT_ONCE,
        first_page: int = BUCKET_FIRST_PAGE,
        page_size: int = BUCKET_PAGE,
    ) -> None:
        """Prepare the listing (nothing is read before :meth:`batches`).

        Args:
            caller: Reads the account (the account whose buckets are listed).
            account_id: The account whose trail would write into the bucket (a bucket of a
                log-archive account is judged for this account's logs).
            region: Where ListBuckets is sent.
            workers: Policies read at once.
            first_page: Buckets in the first page.
            page_size: Buckets in each later page.
        """
        self.caller = caller
        self.account_id = account_id
        self.region = region
        self._first_page = first_page
        self._page_size = page_size
        self._workers = workers
        super().__init__(
            WorkQueue(
                lambda b: check_bucket(caller, account_id, b),
                workers=workers,
                name="bucket-policy",
            )
        )

    def batches(
        self, *, interval: float = BATCH_INTERVAL, stop: Callable[[], bool] | None = None
    ) -> Iterator[BucketBatch]:
        """Batches until every bucket is found and checked (the last one is ``complete``).

        The first batch comes as soon as the first page is read; later ones at most every
        ``interval`` seconds. Nothing more comes once ``stop()`` is true or the listing is
        cancelled.

        Raises:
            AwsError: a page of ListBuckets failed.
        """
        pages: queue.SimpleQueue[list[BucketChoice] | BaseException | None] = queue.SimpleQueue()

        def read_pages() -> None:
            try:
                for page in bucket_pages(
                    self.caller,
                    self.region,
                    first_page=self._first_page,
                    page_size=self._page_size,
                    workers=self._workers,
                ):
                    if self._queue.cancelled:
                        return
                    pages.put(page)
                    self._queue.add((b.name, b) for b in page if not b.checked)
                pages.put(None)
            except Exception as exc:  # handed to the consumer's thread below
                pages.put(exc)
            finally:
                self._queue.close()

        threading.Thread(target=read_pages, name="bucket-pages", daemon=True).start()
        yield from _batches(
            pages,
            self._queue,
            make=lambda found, checked, listed, total, done: BucketBatch(
                found=found, checked=checked, listed=listed, total=total, done=done
            ),
            interval=interval,
            stop=stop,
        )


def list_buckets(
    caller: AwsCaller, account_id: str, region: str, *, workers: int = READS_AT_ONCE
) -> list[BucketChoice]:
    """The account's buckets with their regions and whether they already allow CloudTrail."""
    listing = BucketListing(caller, account_id, region, workers=workers)
    found: dict[str, BucketChoice] = {}
    for batch in listing.batches(interval=0):
        for bucket in [*batch.found, *batch.checked]:
            found[bucket.name] = bucket
    return sorted(found.values(), key=lambda b: b.name)


def bucket_regions(caller: AwsCaller, region: str) -> dict[str, str]:
    """Each bucket of the account and its region (ListBuckets only: no policy is read).

    Raises:
        AwsError: ListBuckets failed.
    """
    return {b.name: b.region for page in bucket_pages(caller, region) for b in page if b.region}


def locate_bucket(caller: AwsCaller, name: str, region: str) -> str | None:
    """Where one bucket is (HeadBucket names its region); None when S3 will not say.

    Any bucket whose owner lets HeadBucket through, another account's too.
    """
    try:
        head = caller.call("s3", region, "HeadBucket", {"Bucket": name})
    except AwsError:
        return None
    if head.get("BucketRegion"):
        return normalise_bucket_location(str(head["BucketRegion"]))
    try:
        loc = caller.call("s3", region, "GetBucketLocation", {"Bucket": name})
    except AwsError:
        return None
    return normalise_bucket_location(loc.get("LocationConstraint"))


# --------------------------------------------------------------------------- keys


class KeyBatch(WizardModel):
    """What a key listing learnt since the last batch."""

    found: list[KeyChoice]
    """Keys new to the listing (every key, once each region is listed), in list order."""
    checked: list[KeyChoice]
    """Keys now described and judged."""
    listed: bool
    """Every region's keys and aliases are listed: no more rows will be found."""
    total: int
    """Keys found so far."""
    done: int
    """Keys checked so far."""

    @property
    def complete(self) -> bool:
        """Every key is found and checked: this is the last batch."""
        return self.listed and self.done == self.total


def key_order(key: KeyChoice, bucket_region: str) -> tuple[bool, str, bool, str]:
    """Where a key goes in the list: the bucket's region first, then by region; within a
    region keys with an alias before bare ids, AWS managed ones last, by name.

    Known before any key is described, so rows never move once shown.
    """
    aws_managed = bool(key.aliases) and all(a.startswith("alias/aws/") for a in key.aliases)
    return (key.region != bucket_region, key.region, aws_managed or not key.aliases, key.label)


def region_keys(caller: AwsCaller, region: str) -> list[KeyChoice]:
    """The keys of one region with their aliases (ListKeys and ListAliases; not described).

    Raises:
        AwsError: either listing failed.
    """
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="key-lists") as pool:
        aliases_f = pool.submit(caller.paginate, "kms", region, "ListAliases", "Aliases")
        keys_f = pool.submit(caller.paginate, "kms", region, "ListKeys", "Keys")
        aliases, keys = aliases_f.result(), keys_f.result()
    by_key: dict[str, list[str]] = {}
    for a in aliases:
        if a.get("TargetKeyId"):
            by_key.setdefault(str(a["TargetKeyId"]), []).append(str(a["AliasName"]))
    found = []
    for k in keys:
        key_id = str(k["KeyId"])
        arn = str(k.get("KeyArn") or f"arn:aws:kms:{region}::key/{key_id}")
        found.append(
            KeyChoice(key_id=key_id, arn=arn, region=region, aliases=sorted(by_key.get(key_id, [])))
        )
    return found


def check_key(caller: AwsCaller, key: KeyChoice, bucket_region: str) -> KeyChoice:
    """The key described (DescribeKey) and judged for a bucket in ``bucket_region``."""
    try:
        meta = caller.call("kms", key.region, "DescribeKey", {"KeyId": key.key_id})["KeyMetadata"]
    except AwsError as err:
        return key.model_copy(
            update={
                "checked": True,
                "eligible": False,
                "reason": f"its details could not be read ({err.code}): type its ARN below "
                "to have the review check it",
            }
        )
    described = key.model_copy(
        update={
            "spec": meta.get("KeySpec"),
            "usage": meta.get("KeyUsage"),
            "state": meta.get("KeyState"),
            "manager": meta.get("KeyManager"),
            "checked": True,
        }
    )
    return judge_key(described, bucket_region)


class KeyListing(_Checked[KeyChoice]):
    """The keys of some regions as they become known, judged for the bucket's region.

    :meth:`batches` lists the keys and aliases of the bucket's region first (one round of
    requests; those are the keys that can be chosen), those of the other regions meanwhile
    (``regions``, and the ones ``more_regions`` names once it answers: the regions of the
    account's buckets, say), and describes the keys of the bucket's region with at most
    ``workers`` requests in flight, in list order except for the ones :meth:`prefer` asks
    for first (a key in another region is refused for that alone, and never described).
    :meth:`cancel` stops it.
    """

    def __init__(
        self,
        caller: AwsCaller,
        regions: Sequence[str],
        bucket_region: str,
        *,
        more_regions: Callable[[], Iterable[str]] | None = None,
        workers: int = READS_AT_ONCE,
    ) -> None:
        """Prepare the listing (nothing is read before :meth:`batches`).

        Args:
            caller: Reads the account.
            regions: Other regions to list (the bucket's region is always listed).
            bucket_region: The bucket's region: a key must be there to be chosen.
            more_regions: Finds more regions to list, while the bucket's region is listed
                (an AwsError it raises leaves them out).
            workers: Keys described at once.
        """
        self.caller = caller
        self.regions = sorted(set(regions) - {bucket_region})
        self.bucket_region = bucket_region
        self.more_regions = more_regions
        super().__init__(
            WorkQueue(
                lambda k: check_key(caller, k, bucket_region),
                workers=workers,
                name="key-describe",
            )
        )

    def batches(
        self, *, interval: float = BATCH_INTERVAL, stop: Callable[[], bool] | None = None
    ) -> Iterator[KeyBatch]:
        """Batches until every key is found and checked (the last one is ``complete``).

        A region whose keys cannot be listed is left out (its keys cannot be offered).
        """
        lists: queue.SimpleQueue[list[KeyChoice] | BaseException | None] = queue.SimpleQueue()

        def list_regions() -> None:
            def one(region: str) -> list[KeyChoice]:
                try:
                    return region_keys(self.caller, region)
                except AwsError:
                    return []

            def more() -> list[str]:
                try:
                    return list(self.more_regions()) if self.more_regions is not None else []
                except AwsError:
                    return []

            def found(keys: list[KeyChoice]) -> None:
                keys.sort(key=lambda k: key_order(k, self.bucket_region))
                # A key in another region is refused whatever DescribeKey would say: it is
                # judged at once and never described.
                shown = [
                    k
                    if k.region == self.bucket_region
                    else judge_key(k, self.bucket_region).model_copy(update={"checked": True})
                    for k in keys
                ]
                if not self._queue.cancelled:
                    lists.put(shown)
                    self._queue.add((k.arn, k) for k in shown if not k.checked)

            try:
                with ThreadPoolExecutor(max_workers=8, thread_name_prefix="keys") as pool:
                    own = pool.submit(one, self.bucket_region)
                    extra = pool.submit(more)
                    others = {r: pool.submit(one, r) for r in self.regions}
                    # The bucket's region first: its keys are the ones that can be chosen.
                    found(own.result())
                    for region in sorted(set(extra.result()) - {self.bucket_region}):
                        others.setdefault(region, pool.submit(one, region))
                    # The other regions in one batch, in list order after the first.
                    found([k for region in sorted(others) for k in others[region].result()])
                lists.put(None)
            except Exception as exc:  # handed to the consumer's thread below
                lists.put(exc)
            finally:
                self._queue.close()

        threading.Thread(target=list_regions, name="key-regions", daemon=True).start()
        yield from _batches(
            lists,
            self._queue,
            make=lambda found, checked, listed, total, done: KeyBatch(
                found=found, checked=checked, listed=listed, total=total, done=done
            ),
            interval=interval,
            stop=stop,
        )


def list_keys(
    caller: AwsCaller,
    regions: Sequence[str],
    bucket_region: str,
    *,
    workers: int = READS_AT_ONCE,
) -> list[KeyChoice]:
    """Keys and aliases in ``regions``, each judged for a bucket in ``bucket_region``."""
    listing = KeyListing(caller, regions, bucket_region, workers=workers)
    found: dict[str, KeyChoice] = {}
    for batch in listing.batches(interval=0):
        for key in batch.found:
            found[key.arn] = key
        for key in batch.checked:
            found[key.arn] = key
    return sorted(found.values(), key=lambda k: key_order(k, bucket_region))


Choice = TypeVar("Choice", BucketChoice, KeyChoice)
Batch = TypeVar("Batch", BucketBatch, KeyBatch)


def _batches(
    found: queue.SimpleQueue[list[Choice] | BaseException | None],
    work: WorkQueue[str, Choice, Choice],
    *,
    make: Callable[[list[Choice], list[Choice], bool, int, int], Batch],
    interval: float,
    stop: Callable[[], bool] | None,
) -> Iterator[Batch]:
    """Merge the rows found and the rows checked into batches (see the listings)."""
    new: list[Choice] = []
    checked: list[Choice] = []
    listed = told_listed = False
    total = done = 0
    last = 0.0
    while True:
        if (stop is not None and stop()) or work.cancelled:
            work.cancel()
            return
        # Results first, then rows: a result drained now is of a row whose page was queued
        # before it, so a batch never checks a row it has not found.
        ready = [c for _key, c in work.drain(timeout=0.02 if not new else None)]
        checked.extend(ready)
        done += len(ready)
        while True:
            try:
                item = found.get_nowait()
            except queue.Empty:
                break
            if item is None:
                listed = True
            elif isinstance(item, BaseException):
                work.cancel()
                raise item
            else:
                new.extend(item)
                total += len(item)
                # Rows that needed no further reading are checked as they are found.
                done += sum(1 for c in item if c.checked)
        complete = listed and done == total
        now = time.monotonic()
        # The end of the listing is news too, even with no row in it (the progress changes).
        news = new or checked or listed != told_listed
        if complete or (news and now - last >= interval):
            yield make(new, checked, listed, total, done)
            new, checked, last, told_listed = [], [], now, listed
            if complete:
                return


def judge_key(key: KeyChoice, bucket_region: str) -> KeyChoice:
    """Decide whether a key can encrypt CloudTrail logs for a bucket in ``bucket_region``."""
    reason = ""
    if key.region != bucket_region:
        reason = (
            f"in {key.region}, but the bucket is in {bucket_region}: CloudTrail needs the key "
            "in the bucket's region"
        )
    elif key.manager == "AWS":
        reason = "AWS managed: its policy cannot grant CloudTrail"
    elif key.spec not in (None, "SYMMETRIC_DEFAULT") or key.usage not in (None, "ENCRYPT_DECRYPT"):
        reason = f"{key.spec} / {key.usage}: CloudTrail needs a symmetric encryption key"
    elif key.state != "Enabled":
        reason = f"{key.state}: CloudTrail needs an enabled key"
    return key.model_copy(update={"eligible": not reason, "reason": reason})


def bucket_name_available(caller: AwsCaller, name: str, region: str) -> str | None:
    """None when the name looks free, else a sentence: owned by you, or taken by others."""
    try:
        caller.call("s3", region, "HeadBucket", {"Bucket": name})
    except AwsError as err:
        if err.not_found:
            return None
        if err.access_denied:
            return f"{name} is taken by another AWS account (bucket names are global)."
        return f"could not check {name}: {err.code}"
    return f"you already own a bucket named {name}: choose 'existing bucket' to use it."
