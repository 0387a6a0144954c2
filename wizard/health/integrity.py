"""Log file integrity: walk a trail's digest chain as AWS documents it (pure core).

When log file validation is on, CloudTrail delivers a digest file per period (an hour on
AWS) and source region: it lists the log files delivered in the period with the SHA-256 of
their uncompressed content, links to the previous digest (its location, SHA-256 and
signature), and is signed SHA256withRSA; the signature is in the object's metadata
(``signature``, ``signature-algorithm``) and the public key is served by CloudTrail's
``ListPublicKeys``, chosen by the digest's ``digestPublicKeyFingerprint``.

:func:`validate_trail` walks each chain from the newest digest to the oldest in the range:

* each digest is read from where it claims to be (``digestS3Bucket``/``digestS3Object``),
  and its signature is verified over AWS's signing string (end time, S3 path, SHA-256 of the
  uncompressed digest, previous signature or ``null``) with the key ListPublicKeys returns;
* reached through a later digest's link, it must also have the SHA-256 and signature the
  later digest recorded: a digest that is gone is reported *missing* (deleted);
* every log file a valid digest lists is read and hashed: gone is *deleted*, a different
  hash is *modified*.

A chain that starts (no previous digest) while older digests exist is a gap (logging or
validation was off), reported as a note, not a failure, as the AWS CLI does. What cannot be
detected, as with the AWS CLI: the deletion of the newest digest, and log files that no
digest lists (delivered while validation was off).

It talks to AWS only through :class:`wizard.ports.AwsCaller`; the cryptography package
verifies the signatures. Whoever can write to the bucket chooses what these files hold, so
every file is read with a cap (:func:`wizard.health.logfiles.fetch_object`, then at most
:data:`wizard.health.logfiles.MAX_DECOMPRESSED` decompressed, a log file only streamed through its
hash): a decompression bomb in place of a log file is one more file reported, not the end
of the report.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import Field

from wizard.health.logfiles import MAX_DECOMPRESSED, fetch_object
from wizard.model.base import WizardModel
from wizard.model.safe_io import FileRefused, GzipError, gunzip_bounded, gunzip_chunks, size_words
from wizard.ports import AwsCaller, AwsError

FileStatus = Literal[
    "valid",
    "modified",
    "deleted",
    "missing",
    "invalid-signature",
    "unknown-key",
    "invalid-format",
    "moved",
    "unreadable",
]
"""What a file turned out to be.

* ``valid``: signature (digest) or hash (log file) verified.
* ``modified``: a log file whose SHA-256 differs from its digest's record, or a digest whose
  SHA-256 differs from what the next digest recorded for it.
* ``deleted``: a log file listed in a valid digest is not in the bucket.
* ``missing``: a digest that the next digest links to is not in the bucket (deleted).
* ``invalid-signature``: the digest's signature does not verify, or is not there.
* ``unknown-key``: the digest names a public key ListPublicKeys does not return.
* ``invalid-format``: not gzip, damaged gzip, far too large (in the bucket or once
  decompressed: a decompression bomb), not JSON, or fields missing.
* ``moved``: the digest says it was delivered to another bucket or key.
* ``unreadable``: access denied (or another error) reading the file.
"""

ProblemKind = Literal[
    "trail-not-found", "validation-off", "no-digests", "access-denied", "invalid-range"
]
"""Why validation could not run at all (see :attr:`IntegrityReport.problem`)."""

SIGNATURE_ALGORITHM = "SHA256withRSA"
LOOKBACK = timedelta(hours=1)
"""Digests ending up to this long after the end of the range are read too: they list the
log files delivered at the end of the range (AWS's digest period)."""

_REQUIRED_FIELDS = (
    "digestStartTime",
    "digestEndTime",
    "digestS3Bucket",
    "digestS3Object",
    "digestPublicKeyFingerprint",
    "previousDigestSignature",
)


class FileResult(WizardModel):
    """The verdict on one digest or log file."""

    kind: Literal["digest", "log"]
    """Digest file or log file."""
    bucket: str
    """Its bucket."""
    key: str
    """Its key."""
    region: str
    """The source region of its chain."""
    status: FileStatus
    """What it turned out to be."""
    detail: str
    """One sentence: the evidence, or what is wrong."""

    @property
    def uri(self) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"

    @property
    def valid(self) -> bool:
        """True for ``valid``."""
        return self.status == "valid"


class IntegrityCounts(WizardModel):
    """How many files of each kind were valid and invalid."""

    valid_digests: int = 0
    invalid_digests: int = 0
    valid_logs: int = 0
    invalid_logs: int = 0


class IntegrityReport(WizardModel):
    """The result of :func:`validate_trail`."""

    trail: str
    """The trail as asked for (name or ARN)."""
    trail_arn: str | None = None
    """The trail's ARN, when found."""
    bucket: str | None = None
    """The trail's bucket."""
    prefix: str | None = None
    """The trail's key prefix."""
    account_id: str | None = None
    """The account whose logs were validated."""
    home_region: str | None = None
    """The trail's home region."""
    regions: list[str] = Field(default_factory=list)
    """The source regions whose digest chains were walked."""
    requested_start: datetime | None = None
    """Start of the requested range (None: from the first digest)."""
    requested_end: datetime
    """End of the requested range (the current time when not given)."""
    covered_start: datetime | None = None
    """Start of the period the valid digests cover (within the requested range)."""
    covered_end: datetime | None = None
    """End of the period the valid digests cover (within the requested range)."""
    files: list[FileResult] = Field(default_factory=list)
    """Every file checked, newest digest first, each digest followed by its log files."""
    notes: list[str] = Field(default_factory=list)
    """Things worth knowing that are not failures (gaps in the chain...)."""
    problem: str | None = None
    """Why nothing could be validated (with how to fix it), or None."""
    problem_kind: ProblemKind | None = None
    """The kind of :attr:`problem`."""

    @property
    def counts(self) -> IntegrityCounts:
        """Valid and invalid digests and log files."""
        digests = [f for f in self.files if f.kind == "digest"]
        logs = [f for f in self.files if f.kind == "log"]
        return IntegrityCounts(
            valid_digests=sum(f.valid for f in digests),
            invalid_digests=sum(not f.valid for f in digests),
            valid_logs=sum(f.valid for f in logs),
            invalid_logs=sum(not f.valid for f in logs),
        )

    @property
    def invalid(self) -> list[FileResult]:
        """The files that are not valid."""
        return [f for f in self.files if not f.valid]

    @property
    def ok(self) -> bool:
        """True when validation ran, found at least one valid digest and nothing invalid."""
        return self.problem is None and not self.invalid and self.counts.valid_digests > 0


Progress = Callable[[FileResult], None]
"""Called with each file's verdict as soon as it is known."""


class _Blocked(Exception):
    """Validation cannot run; carries the report's problem."""

    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind: ProblemKind = kind
        self.message = message


def validate_trail(
    caller: AwsCaller,
    trail: str,
    *,
    region: str,
    start: datetime | None = None,
    end: datetime | None = None,
    account_id: str | None = None,
    progress: Progress | None = None,
) -> IntegrityReport:
    """Validate a trail's log files and digest files for a time range.

    Args:
        caller: Talks to AWS (CloudTrail, S3, and Organizations for organization trails).
        trail: The trail's name or ARN.
        region: The region to look the trail up in (its home region is found from there).
        start: Validate digests ending at or after this time; None: from the first one.
        end: Validate log files delivered up to this time (digests ending up to an hour
            later are read); None: up to now, and every digest there is.
        account_id: For an organization trail, the member account to validate (default:
            the trail's own account).
        progress: Called with each file's verdict as it is known.

    Returns:
        The report; :attr:`IntegrityReport.problem` says why nothing could be validated
        (trail not found, validation off, no digests yet, access denied), else
        :attr:`IntegrityReport.files` has the verdict on every file.

    Raises:
        AwsError: an AWS failure other than "not found" and "access denied" (throttling
            beyond retries, the network...).
    """
    now = datetime.now(UTC)
    start = _utc(start) if start else None
    requested_end = _utc(end) if end else now
    report = IntegrityReport(trail=trail, requested_start=start, requested_end=requested_end)
    if start is not None and start > requested_end:
        return report.model_copy(
            update={
                "problem": "The start time is after the end time: give a start before the end.",
                "problem_kind": "invalid-range",
            }
        )
    walk = _Walk(caller, report, progress)
    try:
        return walk.run(region, start, _utc(end) if end else None, account_id)
    except _Blocked as blocked:
        return walk.result(problem=blocked.message, problem_kind=blocked.kind)


def read_object(
    caller: AwsCaller, region: str, bucket: str, key: str
) -> tuple[bytes, dict[str, str]]:
    """An object's body (decompressed when gzipped) and its user metadata.

    Raises:
        AwsError: the object could not be read (``NoSuchKey``, access denied...).
        FileRefused: the object is larger than :data:`wizard.health.logfiles.MAX_OBJECT_BYTES`.
        GzipError: damaged gzip data, or more than :data:`MAX_DECOMPRESSED` once
            decompressed.
    """
    body, metadata = fetch_object(caller, region, bucket, key)
    return inflate(body), metadata


def read_log_records(caller: AwsCaller, region: str, bucket: str, key: str) -> list[dict[str, Any]]:
    """The event records of one CloudTrail log file.

    Raises:
        AwsError: the object could not be read.
        ValueError: it is not a CloudTrail log file (not gzip JSON with ``Records``), or
            it is far too large (``FileRefused``, ``GzipError``).
    """
    raw, _ = read_object(caller, region, bucket, key)
    document = json.loads(raw)
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        raise ValueError(f"s3://{bucket}/{key} is not a CloudTrail log file (no Records).")
    return [r for r in records if isinstance(r, dict)]


# ======================================================================================
# The walk
# ======================================================================================


class _Walk:
    def __init__(self, caller: AwsCaller, report: IntegrityReport, progress: Progress | None):
        self.caller = caller
        self.report = report
        self.progress = progress
        self.files: list[FileResult] = []
        self.notes: list[str] = []
        self.found: dict[str, Any] = {}
        self.covered: list[tuple[datetime, datetime]] = []

    def result(self, **update: Any) -> IntegrityReport:
        covered_start = covered_end = None
        if self.covered:
            covered_start = min(s for s, _ in self.covered)
            covered_end = max(e for _, e in self.covered)
            if self.report.requested_start and covered_start < self.report.requested_start:
                covered_start = self.report.requested_start
            covered_end = min(covered_end, self.report.requested_end)
        return self.report.model_copy(
            update={
                **self.found,
                "files": list(self.files),
                "notes": list(self.notes),
                "covered_start": covered_start,
                "covered_end": covered_end,
                **update,
            }
        )

    def emit(self, result: FileResult) -> FileResult:
        self.files.append(result)
        if self.progress is not None:
            self.progress(result)
        return result

    def verdict_for(
        self, kind: Literal["digest", "log"], bucket: str, key: str, region: str
    ) -> Callable[[FileStatus, str], FileResult]:
        """A function that records one file's status and reason (and reports it)."""

        def verdict(status: FileStatus, detail: str) -> FileResult:
            return self.emit(
                FileResult(
                    kind=kind, bucket=bucket, key=key, region=region, status=status, detail=detail
                )
            )

        return verdict

    # ---- the trail -----------------------------------------------------------------

    def run(
        self, region: str, start: datetime | None, end: datetime | None, account_id: str | None
    ) -> IntegrityReport:
        trail = self._find_trail(region)
        arn = str(trail.get("TrailARN", ""))
        name = str(trail.get("Name", ""))
        home = str(trail.get("HomeRegion") or _arn_part(arn, 3) or region)
        owner = _arn_part(arn, 4) or ""
        account = account_id or owner
        bucket = str(trail.get("S3BucketName") or "")
        prefix = trail.get("S3KeyPrefix") or None
        self.found = {
            "trail_arn": arn,
            "bucket": bucket,
            "prefix": prefix,
            "account_id": account,
            "home_region": home,
        }
        org_id = None
        if trail.get("IsOrganizationTrail"):
            org_id = self._organization_id(home)
        validation = bool(trail.get("LogFileValidationEnabled"))
        bucket_region = self._bucket_region(bucket, home)
        lead = f"{prefix}/" if prefix else ""
        base = f"{lead}AWSLogs/{org_id + '/' if org_id else ''}{account}/CloudTrail-Digest/"
        if trail.get("IsMultiRegionTrail"):
            regions = self._digest_regions(bucket, bucket_region, base) or [home]
        else:
            regions = [home]
        chains: dict[str, list[tuple[datetime, str]]] = {}
        for source in regions:
            keys = self._digest_keys(
                bucket, bucket_region, base, source, name, home, account, start, end
            )
            if keys:
                chains[source] = keys
        self.found["regions"] = sorted(chains) or regions
        if not chains:
            if not validation:
                raise _Blocked("validation-off", _validation_off(name, arn, home))
            raise _Blocked(
                "no-digests",
                f"No digest files yet for trail {name} in s3://{bucket}/{base}"
                f"{_range_words(start, end)}. CloudTrail delivers the first digest about an "
                "hour after log file validation is turned on (the sandbox: within its digest "
                "interval, or at once with Sandbox.deliver_now()).",
            )
        if not validation:
            self.notes.append(
                f"Log file validation is off for trail {name} now: log files delivered since "
                f"it was turned off are in no digest and cannot be validated. "
                f"{_turn_on(name, home)}"
            )
        for source, keys in sorted(chains.items()):
            self._walk_chain(source, keys, bucket, bucket_region, start)
        return self.result()

    def _find_trail(self, region: str) -> dict[str, Any]:
        wanted = self.report.trail
        try:
            listed = self.caller.call(
                "cloudtrail",
                region,
                "DescribeTrails",
                {"trailNameList": [wanted], "includeShadowTrails": True},
            ).get("trailList", [])
        except AwsError as err:
            if err.access_denied:
                raise _Blocked(
                    "access-denied",
                    f"Access denied to cloudtrail:DescribeTrails in {region}: the caller needs "
                    f"it to find the trail's bucket. AWS said: {err.message}",
                ) from err
            raise
        match = [t for t in listed if wanted in (t.get("Name"), t.get("TrailARN"))]
        if match:
            return dict(match[0])
        # Not visible from this region (a single-region trail elsewhere): ListTrails answers
        # for every region and names the home region.
        try:
            everywhere = self.caller.paginate("cloudtrail", region, "ListTrails", "Trails")
        except AwsError:
            everywhere = []
        for entry in everywhere:
            if wanted in (entry.get("Name"), entry.get("TrailARN")):
                home = str(entry.get("HomeRegion") or region)
                if home != region:
                    return self._find_trail(home)
        raise _Blocked(
            "trail-not-found",
            f"No trail named {wanted} in region {region} (nor any other region of this "
            "account). Check the name (`aws cloudtrail list-trails` lists them), or give the "
            "trail's ARN.",
        )

    def _organization_id(self, region: str) -> str | None:
        try:
            response = self.caller.call("organizations", region, "DescribeOrganization")
        except AwsError as err:
            if err.access_denied:
                raise _Blocked(
                    "access-denied",
                    "Access denied to organizations:DescribeOrganization: an organization "
                    "trail's files are under AWSLogs/<organization id>/, which it needs to "
                    f"find. AWS said: {err.message}",
                ) from err
            raise
        return str(response.get("Organization", {}).get("Id") or "") or None

    def _bucket_region(self, bucket: str, fallback: str) -> str:
        try:
            location = self.caller.call("s3", fallback, "GetBucketLocation", {"Bucket": bucket})
        except AwsError as err:
            if err.not_found:
                raise _Blocked(
                    "no-digests",
                    f"The trail's bucket {bucket} does not exist: there are no log or digest "
                    "files to validate.",
                ) from err
            return fallback  # not allowed to ask: the trail's region is the best guess
        constraint = location.get("LocationConstraint")
        if not constraint:
            return "us-east-1"
        return "eu-west-1" if constraint == "EU" else str(constraint)

    def _list(self, bucket: str, region: str, result_key: str, params: dict[str, Any]) -> list[Any]:
        try:
            return self.caller.paginate(
                "s3", region, "ListObjectsV2", result_key, {"Bucket": bucket, **params}
            )
        except AwsError as err:
            if err.access_denied:
                raise _Blocked(
                    "access-denied",
                    f"Access denied to s3:ListBucket on bucket {bucket}: the caller needs "
                    f"s3:ListBucket and s3:GetObject on it to find and read the digest and log "
                    f"files. AWS said: {err.message}",
                ) from err
            if err.not_found:
                return []
            raise

    def _digest_regions(self, bucket: str, region: str, base: str) -> list[str]:
        prefixes = self._list(bucket, region, "CommonPrefixes", {"Prefix": base, "Delimiter": "/"})
        found = []
        for entry in prefixes:
            name = str(entry.get("Prefix", ""))[len(base) :].strip("/")
            if name:
                found.append(name)
        return sorted(found)

    def _digest_keys(
        self,
        bucket: str,
        region: str,
        base: str,
        source: str,
        name: str,
        home: str,
        account: str,
        start: datetime | None,
        end: datetime | None,
    ) -> list[tuple[datetime, str]]:
        folder = f"{base}{source}/"
        params: dict[str, Any] = {"Prefix": folder}
        if start is not None:
            # Keys sort by their date folders: skip whole days before the start.
            params["StartAfter"] = f"{folder}{start - timedelta(days=1):%Y/%m/%d}/~"
        pattern = re.compile(
            re.escape(folder)
            + r"\d{4}/\d{2}/\d{2}/"
            + re.escape(f"{account}_CloudTrail-Digest_{source}_{name}_{home}_")
            + r"(\d{8}T\d{6}Z)\.json\.gz"
        )
        keys = []
        for entry in self._list(bucket, region, "Contents", params):
            key = str(entry.get("Key", ""))
            match = pattern.fullmatch(key)
            if not match:
                continue
            moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if start is not None and moment < start:
                continue
            if end is not None and moment > end + LOOKBACK:
                continue
            keys.append((moment, key))
        return sorted(keys)

    # ---- one chain -----------------------------------------------------------------

    def _walk_chain(
        self,
        source: str,
        keys: list[tuple[datetime, str]],
        bucket: str,
        region: str,
        start: datetime | None,
    ) -> None:
        remaining = list(keys)
        newest = remaining[-1][0]
        oldest = remaining[0][0]
        public_keys = self._public_keys(source, oldest - LOOKBACK, newest + timedelta(minutes=5))
        moment, key = remaining.pop()
        cursor: tuple[str, str, datetime] | None = (bucket, key, moment)
        link: tuple[dict[str, Any], str] | None = None  # (later digest, its key)
        while cursor is not None:
            digest_bucket, digest_key, moment = cursor
            document, follow = self._check_digest(
                source, digest_bucket, digest_key, region, public_keys, link
            )
            link = None
            next_cursor: tuple[str, str, datetime] | None = None
            if document is not None and follow:
                digest_start = _parse(document.get("digestStartTime"))
                if start is not None and digest_start is not None and digest_start <= start:
                    break
                previous_key = document.get("previousDigestS3Object")
                if previous_key:
                    previous_bucket = str(document.get("previousDigestS3Bucket") or bucket)
                    previous_moment = _key_moment(str(previous_key)) or moment
                    remaining = [(m, k) for m, k in remaining if k != previous_key]
                    next_cursor = (previous_bucket, str(previous_key), previous_moment)
                    link = (document, digest_key)
                else:
                    older = _pop_older(remaining, moment)
                    if older is not None:
                        self.notes.append(
                            f"{source}: no digests between {_show(older[0])} and "
                            f"{_show(digest_start or moment)}: logging or log file validation "
                            "was off then (the chain starts again), so log files delivered in "
                            "between, if any, cannot be validated."
                        )
                        next_cursor = (bucket, older[1], older[0])
            else:
                older = _pop_older(remaining, moment)
                if older is not None:
                    next_cursor = (bucket, older[1], older[0])
            cursor = next_cursor

    def _public_keys(self, region: str, start: datetime, end: datetime) -> dict[str, bytes]:
        try:
            listed = self.caller.paginate(
                "cloudtrail",
                region,
                "ListPublicKeys",
                "PublicKeyList",
                {"StartTime": start, "EndTime": end},
            )
        except AwsError as err:
            if err.access_denied:
                raise _Blocked(
                    "access-denied",
                    f"Access denied to cloudtrail:ListPublicKeys in {region}: the caller needs "
                    f"it to get the keys that verify digest signatures. AWS said: {err.message}",
                ) from err
            raise
        keys: dict[str, bytes] = {}
        for entry in listed:
            fingerprint = str(entry.get("Fingerprint", ""))
            if fingerprint:
                keys[fingerprint] = blob(entry.get("Value"))
        return keys

    def _check_digest(
        self,
        source: str,
        bucket: str,
        key: str,
        region: str,
        public_keys: dict[str, bytes],
        link: tuple[dict[str, Any], str] | None,
    ) -> tuple[dict[str, Any] | None, bool]:
        """Check one digest and its log files; returns (document, follow its link)."""

        verdict = self.verdict_for("digest", bucket, key, source)

        try:
            raw, metadata = read_object(self.caller, region, bucket, key)
        except AwsError as err:
            if err.not_found:
                named = f" {_name(link[1])} names it as the previous digest, but" if link else ""
                verdict(
                    "missing",
                    f"Deleted:{named} it is not in the bucket (the log files it listed cannot "
                    "be checked).",
                )
            else:
                verdict("unreadable", _unreadable(err))
            return None, False
        except (FileRefused, GzipError) as exc:
            verdict("invalid-format", _oversized_or_damaged(exc, "digest"))
            return None, False
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):
            verdict("invalid-format", "Not JSON: the digest file was changed after delivery.")
            return None, False
        missing = [
            f for f in _REQUIRED_FIELDS if not isinstance(document, dict) or f not in document
        ]
        if missing:
            verdict("invalid-format", f"Fields missing: {', '.join(missing)}.")
            return None, False
        if document["digestS3Bucket"] != bucket or document["digestS3Object"] != key:
            verdict(
                "moved",
                f"It says it was delivered to s3://{document['digestS3Bucket']}/"
                f"{document['digestS3Object']}: it was moved or copied from there.",
            )
            return None, False
        digest_hash = hashlib.sha256(raw).hexdigest()
        signature = metadata.get("signature", "")
        if link is not None:
            later, later_key = link
            if later.get("previousDigestHashValue") not in (None, digest_hash):
                verdict(
                    "modified",
                    f"Its SHA-256 differs from the one {_name(later_key)} recorded for it: the "
                    "file was replaced after delivery.",
                )
                return document, False
            recorded = later.get("previousDigestSignature")
            if recorded and signature and recorded != signature:
                verdict(
                    "invalid-signature",
                    f"Its signature differs from the one {_name(later_key)} recorded for it: "
                    "the signature metadata was changed.",
                )
                return document, False
            signature = signature or str(recorded or "")
        if not signature or metadata.get("signature-algorithm", SIGNATURE_ALGORITHM) != (
            SIGNATURE_ALGORITHM
        ):
            verdict(
                "invalid-signature",
                "Its signature metadata (x-amz-meta-signature, x-amz-meta-signature-algorithm "
                f"= {SIGNATURE_ALGORITHM}) is missing: it was not delivered by CloudTrail or "
                "was copied without its metadata.",
            )
            return document, False
        fingerprint = str(document["digestPublicKeyFingerprint"])
        public_key = public_keys.get(fingerprint)
        if public_key is None:
            verdict(
                "unknown-key",
                f"Signed with public key {fingerprint}, which ListPublicKeys in {source} does "
                "not return for this period: it was not signed by CloudTrail in this region.",
            )
            return document, False
        to_sign = signing_string(document, digest_hash)
        if not verify_signature(public_key, signature, to_sign):
            verdict(
                "invalid-signature",
                f"The signature does not verify with public key {fingerprint}: the digest "
                "file or its signature was changed after delivery.",
            )
            return document, False
        logs = [f for f in document.get("logFiles") or [] if isinstance(f, dict)]
        verdict(
            "valid",
            f"Signature verified with public key {fingerprint}; lists {len(logs)} log files.",
        )
        digest_start = _parse(document.get("digestStartTime"))
        digest_end = _parse(document.get("digestEndTime"))
        if digest_start and digest_end:
            self.covered.append((digest_start, digest_end))
        for log in logs:
            self._check_log(source, log, region, key)
        return document, True

    def _check_log(self, source: str, log: dict[str, Any], region: str, digest_key: str) -> None:
        bucket = str(log.get("s3Bucket", ""))
        key = str(log.get("s3Object", ""))
        expected = str(log.get("hashValue", "")).lower()

        verdict = self.verdict_for("log", bucket, key, source)

        try:
            body, _ = fetch_object(self.caller, region, bucket, key)
            actual = _sha256_of_content(body)
        except AwsError as err:
            if err.not_found:
                verdict("deleted", f"Listed in {_name(digest_key)} but not in the bucket: deleted.")
            else:
                verdict("unreadable", _unreadable(err))
            return
        except (FileRefused, GzipError) as exc:
            verdict("invalid-format", _oversized_or_damaged(exc, "log"))
            return
        if actual != expected:
            verdict(
                "modified",
                f"Its SHA-256 ({actual[:12]}...) differs from the one {_name(digest_key)} "
                f"recorded ({expected[:12]}...): it was changed after delivery.",
            )
            return
        verdict("valid", f"SHA-256 matches {_name(digest_key)}.")


# ======================================================================================
# Helpers
# ======================================================================================


def signing_string(document: dict[str, Any], digest_hash: str) -> bytes:
    """The bytes a digest file's signature covers, as CloudTrail documents them.

    Args:
        document: The parsed digest file.
        digest_hash: The hex SHA-256 of the digest file's uncompressed content.

    Returns:
        End time, bucket/object, the hash and the previous signature (``null`` for the
        first digest), one per line.
    """
    previous = document.get("previousDigestSignature")
    return (
        f"{document['digestEndTime']}\n{document['digestS3Bucket']}/"
        f"{document['digestS3Object']}\n{digest_hash}\n"
        f"{previous if previous is not None else 'null'}"
    ).encode()


def verify_signature(public_key_der: bytes, signature_hex: str, data: bytes) -> bool:
    """Whether ``signature_hex`` is a SHA256withRSA signature of ``data`` by this key.

    Args:
        public_key_der: The public key, DER-encoded (as ListPublicKeys returns it).
        signature_hex: The signature in hex (the digest's ``x-amz-meta-signature``).
        data: The signed bytes (:func:`signing_string`).

    Returns:
        False for a wrong signature, and for a key or signature that cannot be read.
    """
    try:
        key = serialization.load_der_public_key(public_key_der)
        signature = binascii.unhexlify(signature_hex.strip())
    except (ValueError, TypeError, binascii.Error):
        return False
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def blob(value: Any) -> bytes:
    """Binary data as the caller hands it over (bytes, ``base64:`` text, or plain text)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = str(value or "")
    if text.startswith("base64:"):
        return base64.b64decode(text[len("base64:") :])
    return text.encode("utf-8")


def inflate(body: bytes) -> bytes:
    """The uncompressed content (CloudTrail gzips its files; some readers inflate already).

    Raises:
        GzipError: damaged, or more than :data:`MAX_DECOMPRESSED` once decompressed.
    """
    if body[:2] == b"\x1f\x8b":
        return bytes(gunzip_bounded(body, MAX_DECOMPRESSED))
    return body


def _sha256_of_content(body: bytes) -> str:
    """The SHA-256 of the uncompressed content, streamed: the content is never held whole.

    Raises:
        GzipError: damaged, or more than :data:`MAX_DECOMPRESSED` once decompressed.
    """
    if body[:2] != b"\x1f\x8b":
        return hashlib.sha256(body).hexdigest()
    digest = hashlib.sha256()
    for piece in gunzip_chunks(body, MAX_DECOMPRESSED):
        digest.update(piece)
    return digest.hexdigest()


def _oversized_or_damaged(exc: FileRefused | GzipError, kind: str) -> str:
    """The verdict's detail for a file too large or damaged to check."""
    if isinstance(exc, GzipError) and exc.problem == "too-large":
        return (
            f"Larger than {size_words(MAX_DECOMPRESSED)} once decompressed (a decompression "
            f"bomb?); CloudTrail's {kind} files are far smaller: the file was replaced."
        )
    if isinstance(exc, FileRefused):
        return f"Not a CloudTrail {kind} file: {exc}. The file was replaced."
    return f"Not a valid gzip file: {exc}; the {kind} file was replaced or damaged."


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _key_moment(key: str) -> datetime | None:
    match = re.search(r"_(\d{8}T\d{6}Z)\.json\.gz$", key)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _pop_older(
    remaining: list[tuple[datetime, str]], moment: datetime
) -> tuple[datetime, str] | None:
    while remaining:
        candidate = remaining.pop()
        if candidate[0] < moment:
            return candidate
    return None


def _arn_part(arn: str, index: int) -> str | None:
    parts = arn.split(":")
    return parts[index] if len(parts) > index and parts[0] == "arn" else None


def _name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _show(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _range_words(start: datetime | None, end: datetime | None) -> str:
    if start is None and end is None:
        return ""
    return f" between {_show(start) if start else 'the start'} and {_show(end) if end else 'now'}"


def _turn_on(name: str, region: str) -> str:
    return (
        f"Turn it on with `aws cloudtrail update-trail --name {name} --region {region} "
        "--enable-log-file-validation`."
    )


def _validation_off(name: str, arn: str, region: str) -> str:
    return (
        f"Log file validation is off for trail {name} ({arn}): CloudTrail writes no digest "
        f"files for it, so its log files cannot be validated. {_turn_on(name, region)} Digest "
        "files then cover the log files delivered from that moment on."
    )


def _unreadable(err: AwsError) -> str:
    if err.access_denied:
        return (
            "Access denied to s3:GetObject (and to kms:Decrypt if the file is SSE-KMS "
            f"encrypted): it cannot be checked. AWS said: {err.message}"
        )
    return f"Could not be read ({err.code}): {err.message}"
