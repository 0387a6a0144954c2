"""CloudTrail log files: find the newest ones, read one, and show its records as rows.

Log files live at ``<bucket>/[<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/
YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<random>.json.gz``. A trail that
has run for years holds millions of keys, so :func:`latest_log_files` never lists them all:
it walks the date folders backwards, newest first. S3 lists keys in ascending order only,
so each level (years, months, days) is listed with a ``/`` delimiter, which returns just the
folder names; then only the newest day folders are listed in full, until enough files are
found or the day budget is spent. Gaps (days without activity) cost nothing extra.

Every CloudTrail file, log or digest, in a bucket or in a downloaded copy, is read by one
reader, :func:`read_content`: ``logs`` shows a log file's events, ``validate`` hashes it and
checks its digest, and both see the same bytes the same way. CloudTrail writes each file as
exactly one gzip stream; whatever follows that stream (a byte appended, a second gzip
member) is counted as trailing data, so that a file changed after delivery is never read as
if it were intact (the AWS CLI's ``validate-logs`` calls it "unexpected data after end of
compressed stream").

Everything goes through the :class:`~wizard.ports.AwsCaller` port and only reads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from wizard.health.trails import find_trails
from wizard.model.base import WizardModel
from wizard.model.names import parse_arn
from wizard.model.regions import normalise_bucket_location
from wizard.model.safe_io import FileRefused, GzipError, size_words
from wizard.ports import AwsCaller, AwsError

__all__ = [
    "FILTER_FIELDS",
    "ByteSource",
    "FileContent",
    "LogFile",
    "LogFileError",
    "LogListing",
    "LogLocation",
    "LogRow",
    "fetch_object",
    "filter_rows",
    "latest_log_files",
    "log_root",
    "parse_log_file",
    "read_content",
    "read_log_file",
    "record_row",
    "source_of",
    "trail_log_location",
    "trailing_words",
]

MAX_DECOMPRESSED = 256 * 1024 * 1024
"""Largest decompressed log or digest file read. CloudTrail delivers a file about every five
minutes per account and region, typically kilobytes to a few megabytes; anything near this
is not one of its files (a decompression bomb turns a few megabytes into gigabytes)."""

MAX_OBJECT_BYTES = 64 * 1024 * 1024
"""Largest object downloaded. CloudTrail's JSON shrinks several times over in gzip, so a
file within :data:`MAX_DECOMPRESSED` is far smaller than this in the bucket."""

_FILE_TIME = re.compile(r"_(\d{8}T\d{4}Z)_")
_FOLDER = re.compile(r"(\d+)/$")


class LogFileError(Exception):
    """A log file could not be listed or read; the message says what and what to do."""


class LogFile(WizardModel):
    """One log file in the bucket."""

    key: str
    """Object key."""
    region: str
    """Region whose events it holds (from the path)."""
    size: int = 0
    """Size in bytes (compressed)."""
    last_modified: str | None = None
    """When S3 stored it (ISO 8601)."""

    @property
    def stamp(self) -> str:
        """The delivery time from the file name (``20260101T1205Z``), else LastModified."""
        match = _FILE_TIME.search(self.key.rsplit("/", 1)[-1])
        if match:
            return match.group(1)
        return self.last_modified or ""

    @property
    def name(self) -> str:
        """The file name (last part of the key)."""
        return self.key.rsplit("/", 1)[-1]


class LogListing(WizardModel):
    """The newest log files of a trail, newest first."""

    bucket: str
    """The bucket looked in."""
    root: str
    """``[prefix/]AWSLogs/[o-id/]account/CloudTrail/``."""
    files: list[LogFile] = Field(default_factory=list)
    """Newest first, at most the limit asked for."""
    regions: list[str] = Field(default_factory=list)
    """Regions that have log files."""
    days_listed: int = 0
    """Day folders listed in full."""
    complete: bool = True
    """False when the day budget ran out before the limit was reached (older files exist
    perhaps)."""


class LogRow(WizardModel):
    """One event, as the log browser shows it."""

    time: str
    """eventTime."""
    service: str
    """eventSource without ``.amazonaws.com``."""
    action: str
    """eventName."""
    who: str
    """The identity: user, role session, root, or AWS service."""
    source: str
    """sourceIPAddress (or the calling AWS service)."""
    error: str
    """errorCode and errorMessage; empty when the call succeeded."""
    region: str = ""
    """awsRegion."""
    index: int = 0
    """Position of the record in the file (to open the full record)."""

    def field(self, name: str) -> str:
        """A column's text by filter name (see :data:`FILTER_FIELDS`)."""
        return str(getattr(self, FILTER_FIELDS[name]))


FILTER_FIELDS: dict[str, str] = {
    "time": "time",
    "service": "service",
    "action": "action",
    "event": "action",
    "who": "who",
    "user": "who",
    "from": "source",
    "ip": "source",
    "source": "source",
    "error": "error",
    "region": "region",
}
"""Names a filter may use before ``:`` (``who:alice``), mapped to :class:`LogRow` fields."""


def log_root(prefix: str, account: str, organization_id: str | None = None) -> str:
    """``[prefix/]AWSLogs/[o-id/]account/CloudTrail/``: where a trail's log files start."""
    head = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    org = f"{organization_id}/" if organization_id else ""
    return f"{head}AWSLogs/{org}{account}/CloudTrail/"


class LogLocation(WizardModel):
    """Where a trail's log files are."""

    trail: str
    """The trail's name."""
    bucket: str
    """Its bucket."""
    bucket_region: str
    """The bucket's region."""
    root: str
    """``[prefix/]AWSLogs/[o-id/]account/CloudTrail/`` (see :func:`log_root`)."""


def trail_log_location(caller: AwsCaller, region: str, trail: str) -> LogLocation:
    """Find where the trail named ``trail`` (name or ARN) writes its log files.

    Raises:
        wizard.health.trails.TrailNotFound: no such trail in the account.
        LogFileError: the trail or its bucket cannot be read.
    """
    try:
        (entry,) = find_trails(caller, region, trail)[:1]
        arn = str(entry.get("TrailARN"))
        home = str(entry.get("HomeRegion") or region)
        found = caller.call("cloudtrail", home, "GetTrail", {"Name": arn})["Trail"]
    except AwsError as err:
        raise LogFileError(f"Could not read the trail {trail}: {err.code}: {err.message}") from err
    bucket = str(found.get("S3BucketName") or "")
    if not bucket:
        raise LogFileError(f"Trail {trail} has no S3 bucket, so it has no log files.")
    parsed = parse_arn(arn)
    owner = parsed.account if parsed and parsed.account else ""
    org = None
    if found.get("IsOrganizationTrail"):
        try:
            org = caller.call("organizations", home, "DescribeOrganization", {})["Organization"][
                "Id"
            ]
        except AwsError as err:
            raise LogFileError(
                f"{trail} is an organization trail, whose files are under the organization's "
                f"id, but the organization could not be read ({err.code}: {err.message})."
            ) from err
    try:
        head = caller.call("s3", home, "HeadBucket", {"Bucket": bucket})
        bucket_region = (
            normalise_bucket_location(head.get("BucketRegion"))
            if head.get("BucketRegion")
            else home
        )
    except AwsError as err:
        raise LogFileError(_list_error(err, bucket, "")) from err
    return LogLocation(
        trail=str(found.get("Name") or trail),
        bucket=bucket,
        bucket_region=bucket_region,
        root=log_root(str(found.get("S3KeyPrefix") or ""), owner, org),
    )


def _folders(caller: AwsCaller, bucket: str, region: str, prefix: str) -> list[str]:
    """The immediate sub-folders of ``prefix`` (full prefixes), ascending."""
    items = caller.paginate(
        "s3",
        region,
        "ListObjectsV2",
        "CommonPrefixes",
        {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"},
    )
    return sorted(str(i["Prefix"]) for i in items if i.get("Prefix"))


def _dated(folders: Iterable[str]) -> list[str]:
    """Folders whose last part is a number (years, months, days), newest first."""
    found = [(int(m.group(1)), f) for f in folders if (m := _FOLDER.search(f))]
    return [f for _n, f in sorted(found, reverse=True)]


def _newest_days(caller: AwsCaller, bucket: str, region: str, root: str) -> Iterable[str]:
    """Day folders under ``root`` (a region's folder), newest first, listed lazily."""
    for year in _dated(_folders(caller, bucket, region, root)):
        for month in _dated(_folders(caller, bucket, region, year)):
            yield from _dated(_folders(caller, bucket, region, month))


def _region_files(
    caller: AwsCaller, bucket: str, bucket_region: str, folder: str, limit: int, max_days: int
) -> tuple[list[LogFile], int, bool]:
    """The newest files of one region's folder: (files, day folders listed, complete)."""
    region = folder.rstrip("/").rsplit("/", 1)[-1]
    files: list[LogFile] = []
    days = 0
    for day in _newest_days(caller, bucket, bucket_region, folder):
        if days >= max_days:
            return files, days, False
        objects = caller.paginate(
            "s3", bucket_region, "ListObjectsV2", "Contents", {"Bucket": bucket, "Prefix": day}
        )
        days += 1
        files.extend(
            LogFile(
                key=str(o["Key"]),
                region=region,
                size=int(o.get("Size") or 0),
                last_modified=str(o["LastModified"]) if o.get("LastModified") else None,
            )
            for o in objects
            if str(o.get("Key", "")).endswith((".json.gz", ".json"))
        )
        if len(files) >= limit:
            break
    return files, days, True


def latest_log_files(
    caller: AwsCaller,
    bucket: str,
    bucket_region: str,
    root: str,
    *,
    regions: Sequence[str] | None = None,
    limit: int = 50,
    max_days: int = 31,
) -> LogListing:
    """The newest log files under ``root`` (see :func:`log_root`), newest first.

    Args:
        caller: Makes the (read-only) calls.
        bucket: The trail's bucket.
        bucket_region: The bucket's region.
        root: ``[prefix/]AWSLogs/[o-id/]account/CloudTrail/``.
        regions: Only these regions' folders (default: every region that has files).
        limit: At most this many files.
        max_days: At most this many day folders listed in full per region.

    Raises:
        LogFileError: the bucket cannot be listed (the message says why and what to do).
    """
    try:
        folders = _folders(caller, bucket, bucket_region, root)
        if regions is not None:
            wanted = set(regions)
            folders = [f for f in folders if f.rstrip("/").rsplit("/", 1)[-1] in wanted]

        def one(folder: str) -> tuple[list[LogFile], int, bool]:
            return _region_files(caller, bucket, bucket_region, folder, limit, max_days)

        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="logfiles") as pool:
            results = list(pool.map(one, folders))
    except AwsError as err:
        raise LogFileError(_list_error(err, bucket, root)) from err
    files = sorted(
        (f for found, _d, _c in results for f in found),
        key=lambda f: (f.stamp, f.key),
        reverse=True,
    )
    return LogListing(
        bucket=bucket,
        root=root,
        files=files[:limit],
        regions=[f.rstrip("/").rsplit("/", 1)[-1] for f in folders],
        days_listed=sum(d for _f, d, _c in results),
        complete=all(c for _f, _d, c in results),
    )


def _list_error(err: AwsError, bucket: str, root: str) -> str:
    if err.access_denied:
        return (
            f"Could not list s3://{bucket}/{root}: access denied. Reading log files needs "
            f"s3:ListBucket on {bucket} (and s3:GetObject, and kms:Decrypt when the files are "
            f"encrypted with a KMS key). AWS said: {err.message}"
        )
    if err.not_found:
        return f"The bucket {bucket} does not exist (any more): {err.message}"
    return f"Could not list s3://{bucket}/{root}: {err.code}: {err.message}"


def _body_bytes(body: Any) -> bytes:
    """The object's bytes from a GetObject response as the port returns it.

    The boto3 caller turns a body into text when it is UTF-8, else into ``base64:`` plus
    base64 (gzip data is never valid UTF-8: its second byte is 0x8b).
    """
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    text = str(body or "")
    if text.startswith("base64:"):
        return base64.b64decode(text.removeprefix("base64:"))
    return text.encode("utf-8")


# ---------------------------------------------------------------------------- reading

GZIP_MAGIC = b"\x1f\x8b"
"""The first two bytes of gzip data: every file CloudTrail writes starts with them."""

_PIECE = 64 * 1024
"""Stored bytes handed to the decompressor at a time: what it has not consumed yet is
copied on every step, so small pieces keep that copying linear."""

_OUTPUT_STEP = 1 << 20
"""Bytes decompressed at a time: memory stays at about this much whatever the ratio."""

ByteSource = Callable[[], Iterable[bytes]]
"""The stored bytes of one file, from its first byte, each time it is called: the reader may
go through them twice (once to measure, once to keep)."""


def source_of(body: bytes) -> ByteSource:
    """A :data:`ByteSource` over bytes already in memory (an object read from S3)."""

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), _PIECE):
            yield body[start : start + _PIECE]

    return pieces


@dataclass(frozen=True)
class FileContent:
    """What reading one CloudTrail file found."""

    sha256: str
    """Hex SHA-256 of the uncompressed content (what a digest file records for a log file)."""
    size: int
    """Bytes of uncompressed content."""
    gzipped: bool
    """Stored as gzip, as CloudTrail writes it (False: stored uncompressed, or empty)."""
    trailing: int
    """Bytes stored after the end of the gzip stream (0 for a file as CloudTrail wrote it)."""
    data: bytes | bytearray | None = None
    """The uncompressed content, when it was asked for."""


class _Inflater:
    """Decompress exactly one gzip stream with a cap on the output; count what follows it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.trailing = 0

    def run(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """The decompressed pieces; :attr:`trailing` is set once they are exhausted.

        Raises:
            GzipError: damaged, cut short, or more than ``limit`` bytes once decompressed.
        """
        self.trailing = 0
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        total = 0
        for piece in pieces:
            if inflater.eof:
                self.trailing += len(piece)
                continue
            pending = piece
            while True:
                try:
                    out = inflater.decompress(pending, min(_OUTPUT_STEP, self.limit + 1 - total))
                except zlib.error as exc:
                    raise GzipError("damaged", f"its gzip data is damaged ({exc})") from None
                if out:
                    total += len(out)
                    if total > self.limit:
                        raise GzipError(
                            "too-large",
                            f"it is larger than {size_words(self.limit)} once decompressed",
                        )
                    yield out
                if inflater.eof:
                    self.trailing += len(inflater.unused_data)
                    break
                pending = inflater.unconsumed_tail
                if not out and not pending:
                    break  # everything given is consumed: the next piece continues it
        if not inflater.eof:
            raise GzipError(
                "truncated", "its gzip data ends early (an incomplete upload or download?)"
            )


def _split_head(source: ByteSource) -> tuple[bytes, Iterator[bytes]]:
    """The first two stored bytes, and every stored piece (those included)."""
    pieces = iter(source())
    head = b""
    for piece in pieces:
        head += piece
        if len(head) >= 2:
            break

    def everything() -> Iterator[bytes]:
        if head:
            yield head
        yield from pieces

    return head[:2], everything()


def read_content(
    source: ByteSource, *, keep: bool = False, limit: int = MAX_DECOMPRESSED
) -> FileContent:
    """Read one CloudTrail file (log or digest) as CloudTrail wrote it: one gzip stream.

    The content is hashed as it is decompressed, never held whole unless ``keep`` asks for
    it; then it is decompressed a second time into a buffer of exactly its size, so memory
    is bounded by the real size, never by what a decompression bomb would grow to.
    Anything stored after the end of the gzip stream (a byte appended, a second gzip member,
    zero padding) is not part of the content: it is counted in
    :attr:`FileContent.trailing`, for the caller to report. Data that does not start like
    gzip is taken as uncompressed content (a file downloaded through a browser, which
    decodes ``Content-Encoding: gzip``; or an empty object): :attr:`FileContent.gzipped`
    says which.

    Args:
        source: The stored bytes.
        keep: Keep the uncompressed content in :attr:`FileContent.data`.
        limit: The most uncompressed bytes accepted.

    Raises:
        GzipError: damaged or cut-short gzip data, or more than ``limit`` bytes.
    """
    head, pieces = _split_head(source)
    digest = hashlib.sha256()
    if head != GZIP_MAGIC:
        kept: list[bytes] = []
        size = 0
        for piece in pieces:
            size += len(piece)
            if size > limit:
                raise GzipError("too-large", f"it is larger than {size_words(limit)}")
            digest.update(piece)
            if keep:
                kept.append(piece)
        return FileContent(
            sha256=digest.hexdigest(),
            size=size,
            gzipped=False,
            trailing=0,
            data=b"".join(kept) if keep else None,
        )
    inflater = _Inflater(limit)
    size = 0
    for out in inflater.run(pieces):
        size += len(out)
        digest.update(out)
    data: bytearray | None = None
    if keep:
        data = bytearray(size)
        offset = 0
        for out in _Inflater(limit).run(_split_head(source)[1]):
            if offset + len(out) > size:
                raise GzipError("damaged", "it changed while it was being read")
            data[offset : offset + len(out)] = out
            offset += len(out)
    return FileContent(
        sha256=digest.hexdigest(),
        size=size,
        gzipped=True,
        trailing=inflater.trailing,
        data=data,
    )


def trailing_words(count: int) -> str:
    """``3 bytes follow the end of its gzip data``: what trailing data means, in words."""
    unit = "byte follows" if count == 1 else "bytes follow"
    return f"{count:,} {unit} the end of its gzip data"


def fetch_object(
    caller: AwsCaller, region: str, bucket: str, key: str
) -> tuple[bytes, dict[str, str]]:
    """An object's bytes, as stored (not decompressed), and its user metadata.

    At most :data:`MAX_OBJECT_BYTES` are accepted: the request asks for one byte more (a
    ``Range``), so a huge object in place of a log file is never downloaded in full.

    Raises:
        AwsError: it could not be read.
        FileRefused: it is larger than :data:`MAX_OBJECT_BYTES`.
    """
    params = {"Bucket": bucket, "Key": key, "Range": f"bytes=0-{MAX_OBJECT_BYTES}"}
    try:
        response = caller.call("s3", region, "GetObject", params)
    except AwsError as err:
        if err.code == "InvalidRange":  # only an empty object has no first byte
            return b"", {}
        raise
    body = _body_bytes(response.get("Body"))
    if len(body) > MAX_OBJECT_BYTES:
        raise FileRefused(
            f"it is larger than {size_words(MAX_OBJECT_BYTES)} in the bucket; CloudTrail never "
            "writes files that big"
        )
    metadata = {str(k).lower(): str(v) for k, v in (response.get("Metadata") or {}).items()}
    return body, metadata


def parse_log_file(data: bytes, key: str = "the file") -> list[dict[str, Any]]:
    """The records of a CloudTrail log file (gzip of ``{"Records": [...]}``).

    It is read by :func:`read_content`, as ``validate`` reads it: decompression stops at
    :data:`MAX_DECOMPRESSED`, so a decompression bomb is reported, not held in memory; and
    a file with data after its gzip stream is refused, since CloudTrail never writes one
    (``validate`` reports the same file as modified).

    Raises:
        LogFileError: not gzip, too big, damaged, data after its gzip stream, not JSON, or
            not a CloudTrail log file.
    """
    if data[:2] != GZIP_MAGIC:
        raise LogFileError(
            f"{key} is not gzip-compressed, so it is not a CloudTrail log file (those end in "
            ".json.gz and start with the gzip signature). Pick a file from the CloudTrail "
            "folder of the trail's bucket."
        )
    try:
        content = read_content(source_of(data), keep=True)
    except GzipError as exc:
        if exc.problem == "too-large":
            raise LogFileError(
                f"{key} is larger than {size_words(MAX_DECOMPRESSED)} once decompressed; "
                "CloudTrail never writes files that big (it may be a decompression bomb). "
                "Download it and inspect it with other tools."
            ) from exc
        if exc.problem == "truncated":
            raise LogFileError(f"{key} is damaged: {exc}. Pick another file.") from exc
        raise LogFileError(f"{key} is damaged: it cannot be decompressed ({exc}).") from exc
    if content.trailing:
        raise LogFileError(
            f"{key} was changed after CloudTrail delivered it: {trailing_words(content.trailing)} "
            "(CloudTrail writes exactly one gzip stream per file), so its events are not "
            "shown. `cloudtrail-wizard validate TRAIL` checks the file against its digest."
        )
    text = content.data
    assert text is not None  # keep=True
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise LogFileError(
            f"{key} is gzip-compressed but does not hold JSON ({exc}), so it is not a "
            "CloudTrail log file."
        ) from exc
    del text, content  # the records are kept, the text need not be
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        keys = ", ".join(sorted(document)[:5]) if isinstance(document, dict) else "none"
        hint = (
            " It looks like a digest file."
            if isinstance(document, dict) and ("digestStartTime" in document)
            else ""
        )
        raise LogFileError(
            f'{key} is JSON but has no "Records" list (top-level keys: {keys}), so it is '
            f"not a CloudTrail log file.{hint}"
        )
    return [r for r in records if isinstance(r, dict)]


def read_log_file(caller: AwsCaller, bucket: str, region: str, key: str) -> list[dict[str, Any]]:
    """Download one log file and return its records.

    Raises:
        LogFileError: it cannot be read, or is not a CloudTrail log file.
    """
    try:
        body, _metadata = fetch_object(caller, region, bucket, key)
    except FileRefused as exc:
        raise LogFileError(
            f"{key} is not a CloudTrail log file: {exc}. Download it and inspect it with other "
            "tools."
        ) from exc
    except AwsError as err:
        if err.access_denied:
            raise LogFileError(
                f"Could not read s3://{bucket}/{key}: access denied. It needs s3:GetObject on "
                "the object, and kms:Decrypt on the trail's key when the log files are "
                f"encrypted with SSE-KMS. AWS said: {err.message}"
            ) from err
        if err.not_found:
            raise LogFileError(
                f"s3://{bucket}/{key} does not exist (any more); refresh the list of files."
            ) from err
        raise LogFileError(
            f"Could not read s3://{bucket}/{key}: {err.code}: {err.message}"
        ) from err
    return parse_log_file(body, key)


def _who(identity: Any) -> str:
    """A short name for a CloudTrail ``userIdentity``."""
    if not isinstance(identity, dict):
        return ""
    kind = str(identity.get("type") or "")
    if kind == "Root":
        return "root"
    if kind == "IAMUser":
        return str(identity.get("userName") or identity.get("arn") or "IAM user")
    if kind == "AssumedRole":
        issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
        role = issuer.get("userName")
        arn = str(identity.get("arn") or "")
        session = arn.rsplit("/", 1)[-1] if arn.count("/") >= 2 else ""
        if role:
            return f"{role}/{session}" if session else str(role)
        return arn or "assumed role"
    if kind == "AWSService":
        return str(identity.get("invokedBy") or "AWS service")
    if kind == "AWSAccount":
        return f"account {identity.get('accountId', '')}".strip()
    return str(identity.get("arn") or identity.get("principalId") or kind)


def record_row(record: dict[str, Any], index: int = 0) -> LogRow:
    """One record as a row (time, service, action, who, from where, error)."""
    error = str(record.get("errorCode") or "")
    message = str(record.get("errorMessage") or "")
    if message:
        error = f"{error}: {message}" if error else message
    return LogRow(
        time=str(record.get("eventTime") or ""),
        service=str(record.get("eventSource") or "").removesuffix(".amazonaws.com"),
        action=str(record.get("eventName") or ""),
        who=_who(record.get("userIdentity")),
        source=str(record.get("sourceIPAddress") or ""),
        error=error,
        region=str(record.get("awsRegion") or ""),
        index=index,
    )


def filter_rows(rows: Sequence[LogRow], text: str) -> list[LogRow]:
    """The rows matching every word of ``text`` (case-insensitive substrings).

    A plain word matches any column. ``field:value`` matches one column (``who:alice``,
    ``service:s3``, ``error:AccessDenied``, ``from:10.0.``; see :data:`FILTER_FIELDS`);
    ``field:*`` keeps rows where that column is not empty (``error:*``: failed calls),
    ``-word`` or ``-field:value`` drops matching rows.
    """
    tests = []
    for word in text.split():
        negate = word.startswith("-") and len(word) > 1
        word = word[1:] if negate else word
        name, sep, value = word.partition(":")
        field = name.lower() if sep and name.lower() in FILTER_FIELDS else None
        needle = (value if field else word).lower()
        tests.append((negate, field, needle))

    def matches(row: LogRow) -> bool:
        for negate, field, needle in tests:
            if field is None:
                hit = any(
                    needle in row.field(n).lower()
                    for n in ("time", "service", "action", "who", "from", "error", "region")
                )
            elif needle == "*":
                hit = bool(row.field(field))
            else:
                hit = needle in row.field(field).lower()
            if hit == negate:
                return False
        return True

    return [r for r in rows if matches(r)]
