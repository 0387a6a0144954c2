"""Log file integrity: walk a trail's digest chain as AWS documents it (pure core).

When log file validation is on, CloudTrail delivers a digest file per period (an hour on
AWS) and source region: it lists the log files delivered in the period with the SHA-256 of
their uncompressed content, links to the previous digest (its location, SHA-256 and
signature), and is signed SHA256withRSA; the signature is in the object's metadata
(``signature``, ``signature-algorithm``) and the public key is served by CloudTrail's
``ListPublicKeys``, chosen by the digest's ``digestPublicKeyFingerprint``. When processing
delays leave log files out of a period's digest, CloudTrail later delivers a *backfill*
digest for them (``..._backfill.json.gz``, with a ``backfill-generation-timestamp`` in its
metadata): backfill digests are walked as a chain of their own and reported as such.

:func:`validate_trail` walks each chain from the newest digest to the oldest in the range,
with the rules of the AWS CLI's ``cloudtrail validate-logs``:

* each digest is read from where it claims to be (``digestS3Bucket``/``digestS3Object``),
  must carry its signature and signature algorithm in its metadata, and its signature is
  verified over AWS's signing string (end time, S3 path, SHA-256 of the uncompressed
  digest, previous signature or ``null``) with the key ListPublicKeys returns;
* reached through a later digest's link, it must also have the SHA-256 and signature the
  later digest recorded: a digest that is gone is reported *missing* (deleted);
* every log file a valid digest lists is read and hashed: gone is *deleted*, a different
  hash is *modified*, and so is data stored after the end of its gzip stream.

Deliberately stricter than the AWS CLI: the link's SHA-256 and signature are compared (the
AWS CLI only verifies each signature), the signature algorithm must be SHA256withRSA, and a
digest with data after its gzip stream is *modified* (the AWS CLI ignores it there).

A chain that starts (no previous digest) while older digests exist is a gap (logging or
validation was off), reported as a note, not a failure, as the AWS CLI does. What cannot be
detected, as with the AWS CLI: the deletion of the newest digest, and log files that no
digest lists (delivered while validation was off).

The walk itself (:class:`DigestWalk`) reads files through a small interface, so that the
same rules validate a downloaded copy of the files (:mod:`wizard.health.localcopy`).

It talks to AWS only through :class:`wizard.ports.AwsCaller`; the cryptography package
verifies the signatures. Whoever can write to the bucket chooses what these files hold, so
every file is read with a cap (:func:`wizard.health.logfiles.fetch_object`, then
:func:`wizard.health.logfiles.read_content`, which stops at
:data:`wizard.health.logfiles.MAX_DECOMPRESSED` and streams a log file through its hash): a
decompression bomb in place of a log file is one more file reported, not the end of the
report.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import Field

from wizard.health.logfiles import (
    MAX_DECOMPRESSED,
    FileContent,
    fetch_object,
    read_content,
    source_of,
    trailing_words,
)
from wizard.health.publickeys import KeyRing, list_public_keys
from wizard.model.base import WizardModel
from wizard.model.safe_io import FileRefused, GzipError, size_words
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
    "unverified",
]
"""What a file turned out to be.

* ``valid``: signature (digest) or hash (log file) verified.
* ``modified``: a log file whose SHA-256 differs from its digest's record, or with data
  after the end of its gzip stream; a digest whose SHA-256 differs from what the next digest
  recorded for it, or with data after its gzip stream.
* ``deleted``: a log file listed in a valid digest is not in the bucket.
* ``missing``: a digest that the next digest links to is not in the bucket (deleted).
* ``invalid-signature``: the digest's signature does not verify, or is not there.
* ``unknown-key``: the digest names a public key ListPublicKeys does not return.
* ``invalid-format``: not gzip, damaged gzip, far too large (in the bucket or once
  decompressed: a decompression bomb), not JSON, or fields missing.
* ``moved``: the digest says it was delivered to another bucket or key.
* ``unreadable``: access denied (or another error) reading the file.
* ``unverified``: a digest of a downloaded copy whose signature is not known (a download
  keeps no S3 metadata, and no later digest records it): neither it nor its log files are
  vouched for, but the signature it records for the digest before it is still checked.
"""

ProblemKind = Literal[
    "trail-not-found",
    "validation-off",
    "no-digests",
    "access-denied",
    "invalid-range",
    "invalid-directory",
]
"""Why validation could not run at all (see :attr:`IntegrityReport.problem`)."""

SIGNATURE_ALGORITHM = "SHA256withRSA"
LOOKBACK = timedelta(hours=1)
"""Digests ending up to this long after the end of the range are read too: they list the
log files delivered at the end of the range (AWS's digest period)."""
BACKFILL_KEY_WINDOW = timedelta(hours=1)
"""A backfill digest is signed when it is generated, not at the end of its period: its
public key is looked up this long either side of ``backfill-generation-timestamp``."""
BACKFILL_SUFFIX = "_backfill"
"""What ends a backfill digest's name, before ``.json.gz``."""

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
    backfill: bool = False
    """A backfill digest (``..._backfill.json.gz``), or a log file one lists."""
    path: str | None = None
    """Where the file is on disk, when a downloaded copy was validated."""

    @property
    def uri(self) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"

    @property
    def where(self) -> str:
        """The local path of a downloaded copy, else :attr:`uri`."""
        return self.path or self.uri

    @property
    def label(self) -> str:
        """``Digest file``, ``Backfill digest file`` or ``Log file``."""
        if self.kind == "log":
            return "Log file"
        return "Backfill digest file" if self.backfill else "Digest file"

    @property
    def valid(self) -> bool:
        """True for ``valid``."""
        return self.status == "valid"


class IntegrityCounts(WizardModel):
    """How many files of each kind were valid and invalid."""

    valid_digests: int = 0
    """Valid digest files, backfill ones included."""
    invalid_digests: int = 0
    """Invalid digest files, backfill ones included."""
    valid_backfill_digests: int = 0
    """Of :attr:`valid_digests`, the backfill ones."""
    invalid_backfill_digests: int = 0
    """Of :attr:`invalid_digests`, the backfill ones."""
    valid_logs: int = 0
    """Valid log files."""
    invalid_logs: int = 0
    """Invalid log files."""


class IntegrityReport(WizardModel):
    """The result of :func:`validate_trail` (or of validating a downloaded copy)."""

    trail: str
    """The trail as asked for (name or ARN); for a downloaded copy, the trail asked for or
    ``every trail``."""
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
    directory: str | None = None
    """The downloaded copy's folder, when one was validated (not the bucket)."""
    trails: list[str] = Field(default_factory=list)
    """A downloaded copy: the trails whose digest files were found in it."""
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
            valid_backfill_digests=sum(f.valid and f.backfill for f in digests),
            invalid_backfill_digests=sum(not f.valid and f.backfill for f in digests),
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


class ValidationBlocked(Exception):
    """Validation cannot run; carries the report's problem and its kind."""

    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind: ProblemKind = kind
        self.message = message


class FileGone(Exception):
    """The file is not there (deleted, or never downloaded)."""


class FileUnreadable(Exception):
    """The file is there but cannot be read; the message says why."""


@dataclass(frozen=True)
class StoredFile:
    """One file as read by a :class:`DigestWalk`."""

    content: FileContent
    """What reading it found (:func:`wizard.health.logfiles.read_content`)."""
    metadata: dict[str, str] | None
    """Its S3 user metadata (lower-case names); None when it is not known (a downloaded copy
    saved without it)."""


@dataclass(frozen=True)
class Chain:
    """The digest files of one source region, regular or backfill, to walk."""

    region: str
    """The source region."""
    backfill: bool
    """Backfill digests (each chain of those is walked on its own)."""
    bucket: str
    """The bucket its keys are in (empty for a downloaded copy)."""
    keys: Iterable[tuple[datetime, str]]
    """(time in the name, key), newest first; may be produced lazily."""
    oldest: datetime
    """The time in the name of its oldest digest."""
    newest: datetime
    """The time in the name of its newest digest."""


def validate_trail(
    caller: AwsCaller,
    trail: str,
    *,
    region: str,
    start: datetime | None = None,
    end: datetime | None = None,
    account_id: str | None = None,
    progress: Progress | None = None,
    keys: KeyRing | None = None,
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
        keys: Collects the public keys ListPublicKeys returned (to save them for a later
            offline validation); None: not kept.

    Returns:
        The report; :attr:`IntegrityReport.problem` says why nothing could be validated
        (trail not found, validation off, no digests yet, access denied), else
        :attr:`IntegrityReport.files` has the verdict on every file.

    Raises:
        AwsError: an AWS failure other than "not found" and "access denied" (throttling
            beyond retries, the network...).
    """
    now = datetime.now(UTC)
    start = utc(start) if start else None
    requested_end = utc(end) if end else now
    report = IntegrityReport(trail=trail, requested_start=start, requested_end=requested_end)
    if start is not None and start > requested_end:
        return report.model_copy(
            update={
                "problem": "The start time is after the end time: give a start before the end.",
                "problem_kind": "invalid-range",
            }
        )
    walk = _BucketWalk(caller, report, progress, keys if keys is not None else KeyRing())
    try:
        return walk.run(region, start, utc(end) if end else None, account_id)
    except ValidationBlocked as blocked:
        return walk.result(problem=blocked.message, problem_kind=blocked.kind)


def fetch_public_keys(
    caller: AwsCaller, ring: KeyRing, region: str, start: datetime, end: datetime
) -> dict[str, bytes]:
    """The DER keys ListPublicKeys returns for ``region`` and ``[start, end]``, by fingerprint.

    They are also added to ``ring``.

    Raises:
        ValidationBlocked: access denied to ListPublicKeys.
        AwsError: another failure.
    """
    try:
        listed = list_public_keys(caller, region, start, end)
    except AwsError as err:
        if err.access_denied:
            raise ValidationBlocked(
                "access-denied",
                f"Access denied to cloudtrail:ListPublicKeys in {region}: the caller needs "
                f"it to get the keys that verify digest signatures. AWS said: {err.message}",
            ) from err
        raise
    ring.add(listed)
    return {key.fingerprint: key.der for key in listed}


# ======================================================================================
# The walk
# ======================================================================================


class DigestWalk:
    """Walks digest chains and judges every file, wherever the files are read from.

    Subclasses say how a file is read (:meth:`read`), where the public keys come from
    (:meth:`public_keys`), and how a recorded location is compared with the one a file was
    read from (:meth:`same_place`); the rules are the same for all.
    """

    strict_gzip = True
    """Files must be gzip, as CloudTrail delivers them (a downloaded copy may have been
    decompressed by the browser that saved it)."""
    key_source = "ListPublicKeys"
    """Where the public keys come from, in words."""

    def __init__(self, report: IntegrityReport, progress: Progress | None) -> None:
        self.report = report
        self.progress = progress
        self.files: list[FileResult] = []
        self.notes: list[str] = []
        self.found: dict[str, Any] = {}
        self.covered: list[tuple[datetime, datetime]] = []

    # ---- what subclasses provide ---------------------------------------------------

    def read(self, bucket: str, key: str, *, keep: bool) -> StoredFile:
        """Read one file.

        Raises:
            FileGone: it is not there.
            FileUnreadable: it cannot be read.
            FileRefused: far too large.
            GzipError: damaged, or too large once decompressed.
        """
        raise NotImplementedError

    def public_keys(self, region: str, start: datetime, end: datetime) -> dict[str, bytes]:
        """The DER public keys of ``region`` valid during ``[start, end]``, by fingerprint.

        Raises:
            ValidationBlocked: they cannot be had at all.
        """
        raise NotImplementedError

    def same_place(self, recorded_bucket: str, recorded_key: str, bucket: str, key: str) -> bool:
        """Whether a digest read at (bucket, key) is where it says it was delivered."""
        return recorded_bucket == bucket and recorded_key == key

    def path_of(self, bucket: str, key: str) -> str | None:
        """The local path a file is read from, if any."""
        return None

    def no_signature(self, bucket: str, key: str) -> str:
        """Why a digest with no known signature cannot be verified (a downloaded copy).

        Args:
            bucket: The bucket the digest says it was delivered to.
            key: The key it says it was delivered to.
        """
        return "Its signature is not known."

    # ---- the report ----------------------------------------------------------------

    def result(self, **update: Any) -> IntegrityReport:
        """The report of everything walked so far, with ``update`` applied."""
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
        """Record one verdict (and report it)."""
        self.files.append(result)
        if self.progress is not None:
            self.progress(result)
        return result

    def verdict_for(
        self, kind: Literal["digest", "log"], bucket: str, key: str, chain: Chain
    ) -> Callable[[FileStatus, str], FileResult]:
        """A function that records one file's status and reason (and reports it)."""

        def verdict(status: FileStatus, detail: str) -> FileResult:
            return self.emit(
                FileResult(
                    kind=kind,
                    bucket=bucket,
                    key=key,
                    region=chain.region,
                    status=status,
                    detail=detail,
                    backfill=chain.backfill,
                    path=self.path_of(bucket, key),
                )
            )

        return verdict

    # ---- one chain -----------------------------------------------------------------

    def walk_chain(self, chain: Chain, start: datetime | None) -> None:
        """Check every digest of ``chain`` from the newest back, and the log files they list."""
        keys = _Newest(chain.keys)
        first = keys.older_than(None)
        if first is None:
            return
        public_keys: dict[str, bytes] = {}
        if not chain.backfill:
            # One look-up for the whole chain; backfill digests look theirs up one by one.
            public_keys = self.public_keys(
                chain.region, chain.oldest - LOOKBACK, chain.newest + timedelta(minutes=5)
            )
        cursor: tuple[str, str, datetime] | None = (chain.bucket, first[1], first[0])
        link: tuple[dict[str, Any], str] | None = None  # (later digest, its key)
        while cursor is not None:
            digest_bucket, digest_key, moment = cursor
            document, follow = self._check_digest(
                chain, digest_bucket, digest_key, public_keys, link
            )
            link = None
            next_cursor: tuple[str, str, datetime] | None = None
            if document is not None and follow:
                digest_start = parse_time(document.get("digestStartTime"))
                if start is not None and digest_start is not None and digest_start <= start:
                    break
                previous_key = document.get("previousDigestS3Object")
                if previous_key:
                    previous_bucket = str(document.get("previousDigestS3Bucket") or digest_bucket)
                    previous_moment = key_moment(str(previous_key)) or moment
                    next_cursor = (previous_bucket, str(previous_key), previous_moment)
                    link = (document, digest_key)
                else:
                    older = keys.older_than(moment)
                    if older is not None:
                        if not chain.backfill:
                            # Backfill digests come now and then, each on its own: a
                            # stretch between two of them is no gap.
                            self.notes.append(
                                f"{chain.region}: no digests between {show(older[0])} and "
                                f"{show(digest_start or moment)}: logging or log file "
                                "validation was off then (the chain starts again), so log "
                                "files delivered in between, if any, cannot be validated."
                            )
                        next_cursor = (chain.bucket, older[1], older[0])
            else:
                older = keys.older_than(moment)
                if older is not None:
                    next_cursor = (chain.bucket, older[1], older[0])
            cursor = next_cursor

    def _check_digest(
        self,
        chain: Chain,
        bucket: str,
        key: str,
        public_keys: dict[str, bytes],
        link: tuple[dict[str, Any], str] | None,
    ) -> tuple[dict[str, Any] | None, bool]:
        """Check one digest and its log files; returns (document, follow its link).

        A digest is followed when it is valid, or unverified (see ``unverified`` in
        :data:`FileStatus`); an invalid one is not, and the walk goes on with the next
        older digest found by listing, as the AWS CLI's does.
        """

        verdict = self.verdict_for("digest", bucket, key, chain)

        try:
            stored = self.read(bucket, key, keep=True)
        except FileGone:
            named = f" {_name(link[1])} names it as the previous digest, but" if link else ""
            verdict(
                "missing",
                f"Deleted:{named} it is not there (the log files it listed cannot be checked).",
            )
            return None, False
        except FileUnreadable as exc:
            verdict("unreadable", str(exc))
            return None, False
        except (FileRefused, GzipError) as exc:
            verdict("invalid-format", _oversized_or_damaged(exc, "digest"))
            return None, False
        content = stored.content
        if self.strict_gzip and not content.gzipped:
            verdict("invalid-format", _not_gzip("digest"))
            return None, False
        if content.trailing:
            verdict(
                "modified",
                f"{trailing_words(content.trailing).capitalize()}: something was appended "
                "after delivery (CloudTrail writes one gzip stream per file).",
            )
            return None, False
        try:
            document = json.loads(content.data or b"")
        except (ValueError, RecursionError):
            verdict("invalid-format", "Not JSON: the digest file was changed after delivery.")
            return None, False
        missing = [
            f for f in _REQUIRED_FIELDS if not isinstance(document, dict) or f not in document
        ]
        if missing:
            verdict("invalid-format", f"Fields missing: {', '.join(missing)}.")
            return None, False
        if not self.same_place(
            str(document["digestS3Bucket"]), str(document["digestS3Object"]), bucket, key
        ):
            verdict(
                "moved",
                f"It says it was delivered to s3://{document['digestS3Bucket']}/"
                f"{document['digestS3Object']}: it was moved or copied from there.",
            )
            return None, False
        digest_hash = content.sha256
        metadata = stored.metadata
        signature = (metadata or {}).get("signature", "")
        recorded = ""
        later_name = ""
        if link is not None:
            later, later_key = link
            later_name = _name(later_key)
            if later.get("previousDigestHashValue") not in (None, digest_hash):
                verdict(
                    "modified",
                    f"Its SHA-256 differs from the one {_name(later_key)} recorded for it: the "
                    "file was replaced after delivery.",
                )
                return document, False
            recorded = str(later.get("previousDigestSignature") or "")
            if recorded and signature and recorded != signature:
                verdict(
                    "invalid-signature",
                    f"Its signature differs from the one {_name(later_key)} recorded for it: "
                    "the signature metadata was changed.",
                )
                return document, False
        if metadata is not None:
            # The object's metadata is known: it must carry the signature, as the AWS CLI
            # requires, even when the next digest recorded one (a CloudTrail digest always
            # has it; one without was copied or rewritten).
            algorithm = metadata.get("signature-algorithm", "")
            if not signature or not algorithm:
                vouched = (
                    f" ({later_name} recorded a signature for it, but the object in the bucket "
                    "is not the one CloudTrail delivered)"
                    if recorded
                    else ""
                )
                verdict(
                    "invalid-signature",
                    "Its signature metadata (x-amz-meta-signature and "
                    "x-amz-meta-signature-algorithm) is missing: it was not delivered by "
                    f"CloudTrail or was copied without its metadata{vouched}. The AWS CLI "
                    "reports it as failing signature verification too.",
                )
                return document, False
            if algorithm != SIGNATURE_ALGORITHM:
                verdict(
                    "invalid-signature",
                    f"Its metadata names the signature algorithm {algorithm!r}; CloudTrail "
                    f"signs with {SIGNATURE_ALGORITHM}.",
                )
                return document, False
            if chain.backfill and not metadata.get("backfill-generation-timestamp"):
                verdict(
                    "invalid-format",
                    "A backfill digest without its backfill-generation-timestamp metadata: "
                    "CloudTrail always writes it (the AWS CLI refuses it too).",
                )
                return document, False
        else:
            signature = recorded
            if not signature:
                verdict(
                    "unverified",
                    self.no_signature(
                        str(document["digestS3Bucket"]), str(document["digestS3Object"])
                    ),
                )
                # Its link is still followed: the signature it records for the digest before
                # it is checked against CloudTrail's key, so that digest is proven or not on
                # its own; only this one's log files go unchecked.
                return document, True
        fingerprint = str(document["digestPublicKeyFingerprint"])
        if fingerprint not in public_keys and chain.backfill:
            public_keys.update(self._backfill_keys(chain, document, metadata))
        public_key = public_keys.get(fingerprint)
        if public_key is None:
            verdict(
                "unknown-key",
                f"Signed with public key {fingerprint}, which {self.key_source} in "
                f"{chain.region} does not return for this period: it was not signed by "
                "CloudTrail in this region.",
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
        digest_start = parse_time(document.get("digestStartTime"))
        digest_end = parse_time(document.get("digestEndTime"))
        if digest_start and digest_end:
            self.covered.append((digest_start, digest_end))
        for log in logs:
            self._check_log(chain, log, key)
        return document, True

    def _backfill_keys(
        self, chain: Chain, document: dict[str, Any], metadata: dict[str, str] | None
    ) -> dict[str, bytes]:
        """The keys around the time a backfill digest was generated (and signed)."""
        generated = parse_time((metadata or {}).get("backfill-generation-timestamp"))
        if generated is not None:
            return self.public_keys(
                chain.region, generated - BACKFILL_KEY_WINDOW, generated + BACKFILL_KEY_WINDOW
            )
        # Only a downloaded copy gets here (in a bucket the timestamp is required): it was
        # generated after its period ended, at the latest now.
        end = parse_time(document.get("digestEndTime")) or chain.oldest
        return self.public_keys(chain.region, end - LOOKBACK, datetime.now(UTC))

    def _check_log(self, chain: Chain, log: dict[str, Any], digest_key: str) -> None:
        bucket = str(log.get("s3Bucket", ""))
        key = str(log.get("s3Object", ""))
        expected = str(log.get("hashValue", "")).lower()

        verdict = self.verdict_for("log", bucket, key, chain)

        try:
            content = self.read(bucket, key, keep=False).content
        except FileGone:
            verdict("deleted", f"Listed in {_name(digest_key)} but not there: deleted.")
            return
        except FileUnreadable as exc:
            verdict("unreadable", str(exc))
            return
        except (FileRefused, GzipError) as exc:
            verdict("invalid-format", _oversized_or_damaged(exc, "log"))
            return
        if self.strict_gzip and not content.gzipped and content.size:
            verdict("invalid-format", _not_gzip("log"))
            return
        actual = content.sha256
        if content.trailing:
            # The digest hashes the uncompressed content, which an append after the gzip
            # stream leaves alone: the file was still changed after delivery.
            same = (
                f"its uncompressed content still matches the SHA-256 {_name(digest_key)} recorded"
                if actual == expected
                else f"and its uncompressed content's SHA-256 ({actual[:12]}...) differs from "
                f"the one {_name(digest_key)} recorded ({expected[:12]}...)"
            )
            verdict(
                "modified",
                f"{trailing_words(content.trailing).capitalize()} (the AWS CLI: unexpected "
                f"data after end of compressed stream): something was appended after "
                f"delivery; {same}.",
            )
            return
        if actual != expected:
            verdict(
                "modified",
                f"Its SHA-256 ({actual[:12]}...) differs from the one {_name(digest_key)} "
                f"recorded ({expected[:12]}...): it was changed after delivery.",
            )
            return
        stored_as = "" if content.gzipped else " (stored uncompressed: decompressed by a download)"
        verdict("valid", f"SHA-256 matches {_name(digest_key)}{stored_as}.")


class _Newest:
    """Keys newest first, consumed as the walk goes back in time."""

    def __init__(self, keys: Iterable[tuple[datetime, str]]) -> None:
        self._keys: Iterator[tuple[datetime, str]] = iter(keys)

    def older_than(self, moment: datetime | None) -> tuple[datetime, str] | None:
        """The next key older than ``moment`` (None: the next one); newer ones are skipped.

        Those were walked already, or passed over by a link that jumped past them.
        """
        for item in self._keys:
            if moment is None or item[0] < moment:
                return item
        return None


# ======================================================================================
# A trail's bucket
# ======================================================================================


class _BucketWalk(DigestWalk):
    def __init__(
        self,
        caller: AwsCaller,
        report: IntegrityReport,
        progress: Progress | None,
        keys: KeyRing,
    ) -> None:
        super().__init__(report, progress)
        self.caller = caller
        self.keys = keys
        self.bucket_region = ""

    def read(self, bucket: str, key: str, *, keep: bool) -> StoredFile:
        try:
            body, metadata = fetch_object(self.caller, self.bucket_region, bucket, key)
        except AwsError as err:
            if err.not_found:
                raise FileGone(key) from err
            raise FileUnreadable(_unreadable(err)) from err
        return StoredFile(content=read_content(source_of(body), keep=keep), metadata=metadata)

    def public_keys(self, region: str, start: datetime, end: datetime) -> dict[str, bytes]:
        return fetch_public_keys(self.caller, self.keys, region, start, end)

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
        self.bucket_region = self._bucket_region(bucket, home)
        lead = f"{prefix}/" if prefix else ""
        base = f"{lead}AWSLogs/{org_id + '/' if org_id else ''}{account}/CloudTrail-Digest/"
        if trail.get("IsMultiRegionTrail"):
            regions = self._digest_regions(bucket, base) or [home]
        else:
            regions = [home]
        chains: list[Chain] = []
        for source in regions:
            keys = self._digest_keys(bucket, base, source, name, home, account, start, end)
            for backfill in (False, True):
                found = [(m, k) for m, k in keys if is_backfill(k) == backfill]
                if found:
                    chains.append(
                        Chain(
                            region=source,
                            backfill=backfill,
                            bucket=bucket,
                            keys=reversed(found),
                            oldest=found[0][0],
                            newest=found[-1][0],
                        )
                    )
        self.found["regions"] = sorted({c.region for c in chains}) or regions
        if not chains:
            if not validation:
                raise ValidationBlocked("validation-off", _validation_off(name, arn, home))
            raise ValidationBlocked(
                "no-digests", self._no_digests(name, arn, home, f"s3://{bucket}/{base}", start, end)
            )
        if not validation:
            self.notes.append(
                f"Log file validation is off for trail {name} now: log files delivered since "
                f"it was turned off are in no digest and cannot be validated. "
                f"{_turn_on(name, home)}"
            )
        # Regular chains first, then backfill ones, region by region (the AWS CLI's order).
        for chain in sorted(chains, key=lambda c: (c.backfill, c.region)):
            self.walk_chain(chain, start)
        return self.result()

    def _no_digests(
        self,
        name: str,
        arn: str,
        home: str,
        where: str,
        start: datetime | None,
        end: datetime | None,
    ) -> str:
        """Why there are no digest files yet, in plain words, and what to do."""
        if start is not None or end is not None:
            return (
                f"No digest files for trail {name} in {where}{_range_words(start, end)}. "
                "CloudTrail writes them only while the trail logs with log file validation "
                "on: widen the range, or leave out --start-time and --end-time to check "
                "every digest file there is."
            )
        try:
            status = self.caller.call("cloudtrail", home, "GetTrailStatus", {"Name": arn})
        except AwsError:
            status = {}  # not allowed to ask: the general explanation still holds
        words = [f"No digest files yet for trail {name} in {where}."]
        if status and not status.get("IsLogging"):
            words.append(
                "The trail is not logging, and CloudTrail delivers digest files only while a "
                f"trail logs. Start it with `aws cloudtrail start-logging --name {name} "
                f"--region {home}`; the first digest file arrives about an hour later."
            )
        else:
            since = status.get("StartLoggingTime") if status else None
            started = parse_time(since.isoformat() if isinstance(since, datetime) else since)
            logging = f" (this trail has been logging since {show(started)})" if started else ""
            words.append(
                "CloudTrail delivers a trail's first digest file about an hour after logging "
                f"starts or log file validation is turned on, then one every hour{logging}. "
                "Run the validation again once the first one is there."
            )
        error = status.get("LatestDigestDeliveryError") if status else None
        if error:
            words.append(
                f"CloudTrail's latest digest delivery failed ({error}): `cloudtrail-wizard "
                f"status {name}` says what stops it."
            )
        return " ".join(words)

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
                raise ValidationBlocked(
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
        raise ValidationBlocked(
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
                raise ValidationBlocked(
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
                raise ValidationBlocked(
                    "no-digests",
                    f"The trail's bucket {bucket} does not exist: there are no log or digest "
                    "files to validate.",
                ) from err
            return fallback  # not allowed to ask: the trail's region is the best guess
        constraint = location.get("LocationConstraint")
        if not constraint:
            return "us-east-1"
        return "eu-west-1" if constraint == "EU" else str(constraint)

    def _list(self, bucket: str, result_key: str, params: dict[str, Any]) -> list[Any]:
        try:
            return self.caller.paginate(
                "s3",
                self.bucket_region,
                "ListObjectsV2",
                result_key,
                {"Bucket": bucket, **params},
            )
        except AwsError as err:
            if err.access_denied:
                raise ValidationBlocked(
                    "access-denied",
                    f"Access denied to s3:ListBucket on bucket {bucket}: the caller needs "
                    f"s3:ListBucket and s3:GetObject on it to find and read the digest and log "
                    f"files. AWS said: {err.message}",
                ) from err
            if err.not_found:
                return []
            raise

    def _digest_regions(self, bucket: str, base: str) -> list[str]:
        prefixes = self._list(bucket, "CommonPrefixes", {"Prefix": base, "Delimiter": "/"})
        found = []
        for entry in prefixes:
            name = str(entry.get("Prefix", ""))[len(base) :].strip("/")
            if name:
                found.append(name)
        return sorted(found)

    def _digest_keys(
        self,
        bucket: str,
        base: str,
        source: str,
        name: str,
        home: str,
        account: str,
        start: datetime | None,
        end: datetime | None,
    ) -> list[tuple[datetime, str]]:
        """The trail's digest keys in one source region, regular and backfill, oldest first."""
        folder = f"{base}{source}/"
        params: dict[str, Any] = {"Prefix": folder}
        if start is not None:
            # Keys sort by their date folders: skip whole days before the start.
            params["StartAfter"] = f"{folder}{start - timedelta(days=1):%Y/%m/%d}/~"
        pattern = re.compile(
            re.escape(folder)
            + r"\d{4}/\d{2}/\d{2}/"
            + re.escape(f"{account}_CloudTrail-Digest_{source}_{name}_{home}_")
            + r"(\d{8}T\d{6}Z)(?:"
            + BACKFILL_SUFFIX
            + r")?\.json\.gz"
        )
        keys = []
        for entry in self._list(bucket, "Contents", params):
            key = str(entry.get("Key", ""))
            match = pattern.fullmatch(key)
            if not match:
                continue
            moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if in_range(moment, start, end):
                keys.append((moment, key))
        return sorted(keys)


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


def is_backfill(key: str) -> bool:
    """Whether a digest's key or file name is a backfill digest's (``..._backfill.json.gz``)."""
    return key.endswith(f"{BACKFILL_SUFFIX}.json.gz")


def key_moment(key: str) -> datetime | None:
    """The time in a digest's name (the end of its period), regular or backfill."""
    match = re.search(r"_(\d{8}T\d{6}Z)(?:" + BACKFILL_SUFFIX + r")?\.json\.gz$", key)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def in_range(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    """Whether a digest named with ``moment`` is read for the range ``[start, end]``.

    Digests ending up to :data:`LOOKBACK` after the end are read: they list the log files
    delivered at the end of the range.
    """
    if start is not None and moment < start:
        return False
    return end is None or moment <= end + LOOKBACK


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive time is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from a digest or metadata (None when it is not one)."""
    if not isinstance(value, str):
        return None
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def show(moment: datetime) -> str:
    """``2024-05-01T12:00:00Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _not_gzip(kind: str) -> str:
    return (
        f"Not a gzip file: CloudTrail delivers its {kind} files gzip-compressed, so this one "
        "was replaced after delivery."
    )


def _arn_part(arn: str, index: int) -> str | None:
    parts = arn.split(":")
    return parts[index] if len(parts) > index and parts[0] == "arn" else None


def _name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _range_words(start: datetime | None, end: datetime | None) -> str:
    if start is None and end is None:
        return ""
    return f" between {show(start) if start else 'the start'} and {show(end) if end else 'now'}"


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
