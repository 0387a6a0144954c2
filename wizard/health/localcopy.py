"""Validate a downloaded copy of a trail's log and digest files, offline.

The AWS CLI's ``validate-logs`` reads the bucket every time; a copy on disk (an evidence
archive, a bucket synced with ``aws s3 sync s3://BUCKET DIR``) cannot be checked with it.
:func:`validate_local` walks such a copy with the same rules as
:func:`wizard.health.integrity.validate_trail` (:class:`~wizard.health.integrity.DigestWalk`):

* The folder holds the files under their S3 keys: ``DIR/[PREFIX/]AWSLogs/[o-id/]ACCOUNT/
  CloudTrail-Digest/REGION/YYYY/MM/DD/...`` for the digests, ``.../CloudTrail/...`` for the
  log files. The ``AWSLogs`` folder is looked for a few levels down (a key prefix), and the
  digests are found by listing their day folders, newest first, one day at a time: memory
  stays small however many years the copy holds.
* A digest's signature is in its S3 object's metadata, which a download does not keep.
  It is read from a file beside the digest, ``NAME.json.gz.metadata.json`` (what
  ``aws s3api head-object --query Metadata`` prints), or else from the next digest, which
  records the signature of the one before it. The newest digest of a chain has no next
  one: without its metadata file it is *unverified* (and so are its log files), though
  the signature it records for the digest before it is still checked, so the rest of the
  chain is.
* The public keys come from a file saved earlier (:class:`wizard.health.publickeys.KeyRing`),
  so that nothing calls AWS, or from ``ListPublicKeys`` once per region.
* A file is read only if it is a regular file within the copy: keys in a digest are
  followed under the copy's folder, never outside it (``..`` is refused, and so is a
  symbolic link that leads out), and every file is read with the caps of
  :func:`wizard.health.logfiles.read_content`.
* A file saved uncompressed (browsers decode ``Content-Encoding: gzip`` when they download)
  is hashed as it is: its content is what the digest recorded.

What a copy cannot show: a digest's bucket (the copy has none), and files that were never
downloaded, which are reported as deleted or missing like files gone from the bucket.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from wizard.health.integrity import (
    Chain,
    DigestWalk,
    FileGone,
    FileUnreadable,
    IntegrityReport,
    Progress,
    StoredFile,
    ValidationBlocked,
    fetch_public_keys,
    in_range,
    show,
    utc,
)
from wizard.health.logfiles import MAX_OBJECT_BYTES, ByteSource, read_content
from wizard.health.publickeys import KeyRing
from wizard.model.names import parse_arn
from wizard.model.safe_io import FileRefused, read_bounded, size_words
from wizard.ports import AwsCaller

__all__ = ["METADATA_SUFFIX", "SEARCH_DEPTH", "SEARCH_FOLDERS", "validate_local"]

METADATA_SUFFIX = ".metadata.json"
"""Added to a digest file's name: the file that holds its S3 metadata (its signature)."""
METADATA_MAX_BYTES = 64 * 1024
"""Largest metadata file read (a signature is 512 hex digits)."""
SEARCH_DEPTH = 8
"""How many folder levels below DIR the ``AWSLogs`` folder is looked for (a key prefix)."""
SEARCH_FOLDERS = 10_000
"""At most this many folders are looked into while looking for ``AWSLogs``."""

_READ_PIECE = 64 * 1024
_ACCOUNT = re.compile(r"\d{12}")
_ORGANIZATION = re.compile(r"o-[a-z0-9]{10,32}")
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_NUMBERED = {4: re.compile(r"\d{4}"), 2: re.compile(r"\d{2}")}


@dataclass(frozen=True)
class _ChainId:
    """One chain of digest files in the copy."""

    folder: Path
    """``.../CloudTrail-Digest/REGION``."""
    base: Path
    """The folder that holds ``AWSLogs`` (keys are relative to it)."""
    account: str
    region: str
    trail: str
    home: str
    backfill: bool


@dataclass
class _Found:
    """What listing a chain's day folders found."""

    count: int = 0
    oldest: datetime | None = None
    newest: datetime | None = None


@dataclass
class _Survey:
    """Every chain in the copy, and what else was seen."""

    chains: dict[_ChainId, _Found] = field(default_factory=dict)
    digest_folders: int = 0
    skipped: list[str] = field(default_factory=list)
    trails: set[str] = field(default_factory=set)


def validate_local(
    directory: str | Path,
    *,
    trail: str | None = None,
    account_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    keys: KeyRing | None = None,
    keys_name: str = "the public keys file",
    caller: AwsCaller | None = None,
    collect: KeyRing | None = None,
    progress: Progress | None = None,
) -> IntegrityReport:
    """Validate the log and digest files of a downloaded copy (see the module docstring).

    Args:
        directory: The folder that holds the copy's ``AWSLogs`` folder (or a folder a few
            levels above it).
        trail: Only this trail's digests (a name, or an ARN: name, home region and account);
            None: every trail found.
        account_id: Only this account's digests (an organization trail's member).
        start: Validate digests ending at or after this time; None: from the first one.
        end: Validate log files delivered up to this time; None: every digest there is.
        keys: The public keys to use (a saved file): nothing calls AWS.
        keys_name: How to name ``keys`` in messages (the file's path).
        caller: Without ``keys``: asks ``ListPublicKeys`` in each region, through this.
        collect: The keys ``ListPublicKeys`` returned are added here (to save them).
        progress: Called with each file's verdict as it is known.

    Returns:
        The report; :attr:`IntegrityReport.problem` says why nothing could be validated (a
        wrong folder, no digest files in it, access denied to ListPublicKeys).

    Raises:
        ValueError: neither ``keys`` nor ``caller`` was given.
        AwsError: ListPublicKeys failed otherwise than with access denied.
    """
    if keys is None and caller is None:
        raise ValueError("validate_local needs public keys or a caller to fetch them")
    now = datetime.now(UTC)
    start = utc(start) if start else None
    requested_end = utc(end) if end else now
    shown = str(directory)
    report = IntegrityReport(
        trail=trail or "every trail",
        directory=shown,
        requested_start=start,
        requested_end=requested_end,
    )
    if start is not None and start > requested_end:
        return report.model_copy(
            update={
                "problem": "The start time is after the end time: give a start before the end.",
                "problem_kind": "invalid-range",
            }
        )
    walk = _LocalWalk(
        report,
        progress,
        shown=shown,
        keys=keys,
        keys_name=keys_name,
        caller=caller,
        collect=collect if collect is not None else KeyRing(),
    )
    try:
        return walk.run(Path(directory), trail, account_id, start, utc(end) if end else None)
    except ValidationBlocked as blocked:
        return walk.result(problem=blocked.message, problem_kind=blocked.kind)


class _LocalWalk(DigestWalk):
    strict_gzip = False

    def __init__(
        self,
        report: IntegrityReport,
        progress: Progress | None,
        *,
        shown: str,
        keys: KeyRing | None,
        keys_name: str,
        caller: AwsCaller | None,
        collect: KeyRing,
    ) -> None:
        super().__init__(report, progress)
        self.shown = shown
        self.keys = keys
        self.caller = caller
        self.collect = collect
        self.key_source = keys_name if keys is not None else "ListPublicKeys"
        self.base = Path(shown)
        """The folder that holds the chain being walked's AWSLogs folder."""

    # ---- reading -------------------------------------------------------------------

    def _relative(self, key: str) -> str:
        """The part of an S3 key from ``AWSLogs/`` on: where it is under the copy's folder.

        Raises:
            FileUnreadable: not a CloudTrail key, or one that would leave the folder.
        """
        at = key.rfind("AWSLogs/")
        while at > 0 and key[at - 1] != "/":
            at = key.rfind("AWSLogs/", 0, at)
        if at < 0:
            raise FileUnreadable(
                f"Its key {key!r} has no AWSLogs/ folder, where CloudTrail writes every file: "
                "it cannot be in the copy."
            )
        relative = key[at:]
        parts = relative.split("/")
        if any(p in ("", ".", "..") or "\0" in p or "\\" in p for p in parts):
            raise FileUnreadable(
                f"Its key {key!r} is not a CloudTrail key (empty, '.' or '..' parts): it is "
                "not looked for, so that no file outside the copy is read."
            )
        return relative

    def _path(self, key: str) -> Path:
        return self.base.joinpath(*self._relative(key).split("/"))

    def path_of(self, bucket: str, key: str) -> str | None:
        try:
            return str(self._path(key))
        except FileUnreadable:
            return None  # not a place in the copy: its S3 key says what it is

    def same_place(self, recorded_bucket: str, recorded_key: str, bucket: str, key: str) -> bool:
        if bucket and recorded_bucket != bucket:
            return False
        try:
            return self._relative(recorded_key) == self._relative(key)
        except FileUnreadable:
            return False

    def read(self, bucket: str, key: str, *, keep: bool) -> StoredFile:
        path = self._path(key)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise FileGone(key) from None
        except OSError as exc:
            raise FileUnreadable(f"{path} cannot be read: {exc.strerror or exc}.") from None
        real = os.path.realpath(path)
        inside = os.path.realpath(self.base)
        if os.path.commonpath([real, inside]) != inside:
            raise FileUnreadable(
                f"{path} leads outside the copy (a symbolic link to {real}): it is not read."
            )
        if stat.S_ISDIR(info.st_mode):
            raise FileRefused(f"{path} is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path} is not a regular file")
        if info.st_size > MAX_OBJECT_BYTES:
            raise FileRefused(
                f"it is larger than {size_words(MAX_OBJECT_BYTES)}; CloudTrail never writes "
                "files that big"
            )
        metadata = _metadata_beside(path)
        try:
            content = read_content(_file_source(path), keep=keep)
        except FileNotFoundError:
            raise FileGone(key) from None
        except OSError as exc:
            raise FileUnreadable(f"{path} cannot be read: {exc.strerror or exc}.") from None
        return StoredFile(content=content, metadata=metadata)

    def public_keys(self, region: str, start: datetime, end: datetime) -> dict[str, bytes]:
        if self.keys is not None:
            return self.keys.lookup(region, start, end)
        assert self.caller is not None  # validate_local checks that one of them is given
        return fetch_public_keys(self.caller, self.collect, region, start, end)

    def no_signature(self, bucket: str, key: str) -> str:
        path = self._path(key)
        return (
            "Its signature is in the S3 object's metadata, which a download does not keep, "
            "and no later digest in the copy records it (the newest digest of a chain has "
            "none after it). To check it offline, save its metadata beside it: "
            f"`aws s3api head-object --bucket {bucket} --key {key} --query Metadata > "
            f"{path}{METADATA_SUFFIX}`."
        )

    # ---- the copy ------------------------------------------------------------------

    def run(
        self,
        directory: Path,
        trail: str | None,
        account_id: str | None,
        start: datetime | None,
        end: datetime | None,
    ) -> IntegrityReport:
        roots = _find_roots(directory, self.shown)
        wanted = _TrailFilter.of(trail, account_id)
        survey = _Survey()
        for root in roots:
            _survey_root(root, wanted, start, end, survey)
        self.notes.extend(survey.skipped)
        if not survey.chains:
            raise ValidationBlocked(
                "no-digests", _nothing_found(self.shown, survey, trail, start, end)
            )
        chains = sorted(
            survey.chains.items(),
            key=lambda item: (item[0].account, item[0].trail, item[0].backfill, item[0].region),
        )
        accounts = sorted({c.account for c, _ in chains})
        homes = sorted({c.home for c, _ in chains})
        self.found = {
            "regions": sorted({c.region for c, _ in chains}),
            "trails": sorted(survey.trails),
            "account_id": accounts[0] if len(accounts) == 1 else None,
            "home_region": homes[0] if len(homes) == 1 else None,
        }
        for chain_id, found in chains:
            assert found.oldest is not None and found.newest is not None  # count > 0
            self.base = chain_id.base
            self.walk_chain(
                Chain(
                    region=chain_id.region,
                    backfill=chain_id.backfill,
                    bucket="",
                    keys=_chain_keys(chain_id, start, end),
                    oldest=found.oldest,
                    newest=found.newest,
                ),
                start,
            )
        unverified = sum(f.status == "unverified" for f in self.files)
        if unverified:
            self.notes.append(
                f"{unverified} digest file{'s' if unverified != 1 else ''} could not be "
                "verified: a signature is in the S3 object's metadata, which a download does "
                "not keep, and only a later digest records it. Save the metadata of each one "
                f"beside it as NAME{METADATA_SUFFIX} (the command is in its line below) and "
                "run again: the log files they list were not checked."
            )
        return self.result()


# ---- the folder ---------------------------------------------------------------------


def _find_roots(directory: Path, shown: str) -> list[Path]:
    """The ``AWSLogs`` folders of the copy.

    Raises:
        ValidationBlocked: not a folder, unreadable, inside an AWSLogs folder, or none found.
    """
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        raise ValidationBlocked(
            "invalid-directory",
            f"{shown}: no such folder. Give the folder the trail's bucket was downloaded into "
            "(the one that holds AWSLogs/), e.g. after `aws s3 sync s3://BUCKET DIR`.",
        ) from None
    except OSError as exc:
        raise ValidationBlocked(
            "invalid-directory", f"{shown} cannot be read: {exc.strerror or exc}."
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise ValidationBlocked(
            "invalid-directory",
            f"{shown} is a file, not a folder: give the folder that holds the downloaded "
            "AWSLogs/ folder.",
        )
    absolute = Path(os.path.abspath(directory))
    if absolute.name == "AWSLogs":
        return [directory]
    if "AWSLogs" in absolute.parts:
        above = Path(*absolute.parts[: absolute.parts.index("AWSLogs")])
        raise ValidationBlocked(
            "invalid-directory",
            f"{shown} is inside a downloaded AWSLogs folder: give the folder that holds "
            f"AWSLogs/ ({above}), so that every file is where its S3 key says; narrow the "
            "validation with TRAIL, --account-id or --start-time.",
        )
    roots: list[Path] = []
    queue: deque[tuple[Path, int]] = deque([(directory, 0)])
    looked = 0
    while queue and looked < SEARCH_FOLDERS:
        folder, depth = queue.popleft()
        looked += 1
        try:
            entries = sorted(_subfolders(folder), key=lambda p: p.name)
        except OSError as exc:
            if folder == directory:
                raise ValidationBlocked(
                    "invalid-directory", f"{shown} cannot be read: {exc.strerror or exc}."
                ) from None
            continue  # an unreadable folder elsewhere holds no AWSLogs we can use anyway
        for entry in entries:
            if entry.name == "AWSLogs":
                roots.append(entry)
            elif depth < SEARCH_DEPTH:
                queue.append((entry, depth + 1))
    if roots:
        return roots
    hint = ""
    try:
        top = {p.name for p in _subfolders(directory)}
    except OSError:
        top = set()
    if top & {"CloudTrail-Digest", "CloudTrail"} or any(_ACCOUNT.fullmatch(n) for n in top):
        hint = (
            " It looks like the inside of an AWSLogs folder: download so that the keys are kept "
            "from AWSLogs/ on (`aws s3 sync s3://BUCKET DIR`)."
        )
    searched = f"{looked} folder{'s' if looked != 1 else ''}, up to {SEARCH_DEPTH} levels deep"
    raise ValidationBlocked(
        "invalid-directory",
        f"No AWSLogs folder in {shown} (searched {searched}): give the folder that holds the "
        "downloaded AWSLogs/ folder, as `aws s3 sync s3://BUCKET DIR` (or "
        f"s3://BUCKET/PREFIX) lays the files out under their S3 keys.{hint}",
    )


def _subfolders(folder: Path) -> Iterator[Path]:
    """The sub-folders of ``folder`` (links to folders are not followed: no loops)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield Path(entry.path)


@dataclass(frozen=True)
class _TrailFilter:
    name: str | None = None
    home: str | None = None
    account: str | None = None

    @classmethod
    def of(cls, trail: str | None, account_id: str | None) -> _TrailFilter:
        if trail and trail.startswith("arn:"):
            parsed = parse_arn(trail)
            resource = parsed.resource if parsed else ""
            name = resource.split("/", 1)[1] if resource.startswith("trail/") else trail
            return cls(
                name=name,
                home=(parsed.region or None) if parsed else None,
                account=account_id or ((parsed.account or None) if parsed else None),
            )
        return cls(name=trail or None, account=account_id)

    def accepts(self, account: str, trail: str, home: str) -> bool:
        return (
            (self.name is None or trail == self.name)
            and (self.home is None or home == self.home)
            and (self.account is None or account == self.account)
        )


def _survey_root(
    root: Path,
    wanted: _TrailFilter,
    start: datetime | None,
    end: datetime | None,
    survey: _Survey,
) -> None:
    """Find every chain under one ``AWSLogs`` folder (only the names are kept)."""
    accounts: list[Path] = []
    try:
        for child in sorted(_subfolders(root)):
            if _ORGANIZATION.fullmatch(child.name):
                accounts.extend(a for a in sorted(_subfolders(child)) if _ACCOUNT.fullmatch(a.name))
            elif _ACCOUNT.fullmatch(child.name):
                accounts.append(child)
    except OSError as exc:
        survey.skipped.append(f"{root} could not be listed ({exc.strerror or exc}): skipped.")
        return
    for account_folder in accounts:
        account = account_folder.name
        digest_folder = account_folder / "CloudTrail-Digest"
        if not digest_folder.is_dir():
            continue
        survey.digest_folders += 1
        try:
            regions = sorted(_subfolders(digest_folder))
        except OSError as exc:
            survey.skipped.append(
                f"{digest_folder} could not be listed ({exc.strerror or exc}): skipped."
            )
            continue
        for region_folder in regions:
            region = region_folder.name
            pattern = _digest_name(account, region)
            for day in _days(region_folder, start, survey):
                for name in _names(day, survey):
                    match = pattern.fullmatch(name)
                    if not match:
                        continue
                    trail, home = match.group("trail"), match.group("home")
                    survey.trails.add(f"{trail} (account {account}, home {home})")
                    if not wanted.accepts(account, trail, home):
                        continue
                    moment = _moment(match.group("stamp"))
                    if not in_range(moment, start, end):
                        continue
                    chain = _ChainId(
                        folder=region_folder,
                        base=root.parent,
                        account=account,
                        region=region,
                        trail=trail,
                        home=home,
                        backfill=bool(match.group("backfill")),
                    )
                    found = survey.chains.setdefault(chain, _Found())
                    found.count += 1
                    found.oldest = min(found.oldest or moment, moment)
                    found.newest = max(found.newest or moment, moment)


def _digest_name(account: str, region: str) -> re.Pattern[str]:
    return re.compile(
        re.escape(f"{account}_CloudTrail-Digest_{region}_")
        + r"(?P<trail>.+?)_(?P<home>"
        + _REGION
        + r")_(?P<stamp>\d{8}T\d{6}Z)(?P<backfill>_backfill)?\.json\.gz"
    )


def _moment(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _numbered(folder: Path, digits: int, survey: _Survey | None) -> list[Path]:
    """Sub-folders named with ``digits`` digits, newest (largest) first."""
    try:
        found = [p for p in _subfolders(folder) if _NUMBERED[digits].fullmatch(p.name)]
    except OSError as exc:
        if survey is not None:
            survey.skipped.append(f"{folder} could not be listed ({exc.strerror or exc}): skipped.")
        return []
    return sorted(found, key=lambda p: int(p.name), reverse=True)


def _days(folder: Path, start: datetime | None, survey: _Survey | None) -> Iterator[Path]:
    """The day folders of a region's folder, newest first, listed one level at a time.

    Days before the start (less a day: a digest's name is the end of its period) are not
    listed at all.
    """
    earliest = (start - timedelta(days=1)).date() if start is not None else None
    for year in _numbered(folder, 4, survey):
        for month in _numbered(year, 2, survey):
            for day in _numbered(month, 2, survey):
                try:
                    when = date(int(year.name), int(month.name), int(day.name))
                except ValueError:
                    continue  # 2024/02/31 is no day CloudTrail writes to
                if earliest is not None and when < earliest:
                    return
                yield day


def _names(day: Path, survey: _Survey | None) -> list[str]:
    try:
        with os.scandir(day) as entries:
            return [e.name for e in entries if e.name.endswith(".json.gz")]
    except OSError as exc:
        if survey is not None:
            survey.skipped.append(f"{day} could not be listed ({exc.strerror or exc}): skipped.")
        return []


def _chain_keys(
    chain: _ChainId, start: datetime | None, end: datetime | None
) -> Iterator[tuple[datetime, str]]:
    """The chain's keys (relative to the folder above AWSLogs), newest first, a day at a time."""
    pattern = _digest_name(chain.account, chain.region)
    for day in _days(chain.folder, start, None):
        found = []
        for name in _names(day, None):
            match = pattern.fullmatch(name)
            if (
                not match
                or match.group("trail") != chain.trail
                or match.group("home") != chain.home
                or bool(match.group("backfill")) != chain.backfill
            ):
                continue
            moment = _moment(match.group("stamp"))
            if in_range(moment, start, end):
                found.append((moment, (day / name).relative_to(chain.base).as_posix()))
        yield from sorted(found, reverse=True)


def _nothing_found(
    shown: str,
    survey: _Survey,
    trail: str | None,
    start: datetime | None,
    end: datetime | None,
) -> str:
    if not survey.digest_folders:
        return (
            f"No digest files in {shown}: its AWSLogs folder has no CloudTrail-Digest folder. "
            "Download the digest files too (AWSLogs/ACCOUNT/CloudTrail-Digest/ in the bucket); "
            "if there are none there either, log file validation was off for the trail."
        )
    if survey.trails and (trail is not None or start is not None or end is not None):
        scope = f" of trail {trail}" if trail else ""
        when = ""
        if start is not None or end is not None:
            when = (
                f" between {show(start) if start else 'the first digest'} and "
                f"{show(end) if end else 'now'}"
            )
        return (
            f"No digest files{scope} in {shown}{when}. The copy has digest files of: "
            f"{', '.join(sorted(survey.trails))}."
        )
    return (
        f"No digest files in {shown}: its CloudTrail-Digest folders hold no files named as "
        "CloudTrail names them (ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOME_TIME.json.gz)."
    )


def _file_source(path: Path) -> ByteSource:
    """The bytes of a local file, read a piece at a time each time it is asked for."""

    def pieces() -> Iterator[bytes]:
        with open(path, "rb") as handle:
            total = 0
            while piece := handle.read(_READ_PIECE):
                total += len(piece)
                if total > MAX_OBJECT_BYTES:  # it grew since it was measured
                    raise FileRefused(f"it is larger than {size_words(MAX_OBJECT_BYTES)}")
                yield piece

    return pieces


def _metadata_beside(path: Path) -> dict[str, str] | None:
    """The S3 metadata saved beside a file (``NAME.metadata.json``), or None when there is none.

    It may hold what ``aws s3api head-object --query Metadata`` prints (the metadata), or
    the whole ``head-object`` answer (with ``Metadata``); names may keep ``x-amz-meta-``.

    Raises:
        FileUnreadable: it is there but cannot be read or is not such a file.
    """
    side = path.with_name(path.name + METADATA_SUFFIX)
    try:
        raw = read_bounded(side, METADATA_MAX_BYTES, what="metadata file")
    except FileNotFoundError:
        return None
    except FileRefused as exc:
        raise FileUnreadable(f"Its metadata file {side}: {exc}") from None
    except OSError as exc:
        raise FileUnreadable(
            f"Its metadata file {side} cannot be read: {exc.strerror or exc}."
        ) from None
    try:
        document: Any = json.loads(raw)
    except (ValueError, RecursionError):
        document = None
    if isinstance(document, dict) and isinstance(document.get("Metadata"), dict):
        document = document["Metadata"]
    if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
        raise FileUnreadable(
            f"Its metadata file {side} is not a JSON object of strings: it must hold what "
            "`aws s3api head-object --bucket BUCKET --key KEY --query Metadata` prints."
        )
    return {str(k).lower().removeprefix("x-amz-meta-"): v for k, v in document.items()}
