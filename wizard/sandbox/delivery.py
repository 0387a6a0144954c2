"""Logs you can see: the sandbox records API calls and delivers real CloudTrail log files.

moto never writes log files. In the sandbox, every request that reaches the emulator (except
``/moto-api``) is turned into a CloudTrail event record by :class:`RecordingMiddleware`, and
:class:`DeliveryService` writes them, for every trail that is logging, into the trail's
bucket exactly where CloudTrail would::

    <bucket>/[<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 characters>.json.gz

gzipped ``{"Records": [...]}``, encrypted with the trail's KMS key when it has one. When log
file validation is on, it also writes signed digest files (one chain per trail, source
region and account) under ``CloudTrail-Digest/``, for every period from StartLogging, empty
ones included, in every region the trail covers (a multi-region trail: every region enabled by
default in its partition). Each region signs its digests SHA256withRSA with its own key pair,
as CloudTrail does, whose public key that region's ``ListPublicKeys`` (which moto lacks)
serves. ``LookupEvents`` (which moto lacks too) answers from the same recorded events: the
caller's management events in the region, newest first, 50 a page at most, as the event
history does.

Before writing, it decides as AWS would whether CloudTrail may: the bucket must exist and its
policy must let ``cloudtrail.amazonaws.com`` ``s3:PutObject`` the key (with the
``bucket-owner-full-control`` ACL and the trail's ``aws:SourceArn``), and a KMS key must be
enabled and let CloudTrail ``kms:GenerateDataKey*``. A refusal is recorded in the trail's
status as GetTrailStatus reports it (``LatestDeliveryError`` = the S3 error code, such as
``AccessDenied``, ``NoSuchBucket`` or ``KMS.DisabledException``) and the events are kept for
the next attempt; the first successful delivery clears the error.

Time is compressed so that a class need not wait: by default log files are delivered every
:data:`DEFAULT_LOG_INTERVAL` seconds (AWS: about every 5 minutes) and digests cover
:data:`DEFAULT_DIGEST_INTERVAL` seconds (AWS: an hour), empty periods included. Automatic
delivery only picks up events at least one log interval old, from trails that have been
logging for at least that long, so a trail created and rolled back within seconds never gets
a file in its bucket. :meth:`DeliveryService.deliver_now` delivers everything at once.

moto's state is process-wide, and so is delivery: every sandbox of the process feeds the same
recorder, one thread delivers, and the intervals of the most recently started sandbox apply.
The thread logs at DEBUG level only (it runs under the full-screen wizard).

Importing this module is cheap: moto (the optional ``sandbox`` extra, a quarter-second
import) is imported inside the functions that need it, on first use.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import hashlib
import html
import io
import json
import logging
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wizard.model.readonly import is_read_only
from wizard.model.regions import partition_of as regions_partition_of
from wizard.model.regions import partitions
from wizard.sandbox.rules import (
    allows,
    partition_of,
    resolve_key,
    source_org_context,
    trail_spec,
)

_LOG = logging.getLogger(__name__)

DEFAULT_LOG_INTERVAL = 10.0
"""Seconds between automatic log file deliveries (AWS: about 5 minutes)."""

DEFAULT_DIGEST_INTERVAL = 60.0
"""Seconds covered by one digest file (AWS: one hour)."""

EVENT_VERSION = "1.11"
"""The ``eventVersion`` of the records the sandbox writes (AWS's current one)."""

SIGNATURE_ALGORITHM = "SHA256withRSA"
"""The signature algorithm of digest files (``x-amz-meta-signature-algorithm``)."""

HASH_ALGORITHM = "SHA-256"
"""The hash algorithm digest files name for log files and the previous digest."""

MAX_EVENTS = 50_000
"""Recorded events kept at most (the oldest go first) when nothing delivers them."""

KEY_VALIDITY = timedelta(days=30)
"""How long one region's signing key pair is used before its next one is made."""

DEFAULT_ENABLED_REGIONS: dict[str, tuple[str, ...]] = {
    "aws": (
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    )
}
"""The regions every account of a partition has enabled: in ``aws``, those launched before
20 March 2019 (later ones are opt-in). A partition not listed has no opt-in regions: all of
its regions count."""

_GLOBAL_SOURCES = frozenset(
    {
        "iam.amazonaws.com",
        "organizations.amazonaws.com",
        "cloudfront.amazonaws.com",
        "route53.amazonaws.com",
    }
)
"""Global services: their events are recorded in us-east-1 and reach single-region trails
there only (and multi-region trails), when the trail includes global service events."""

_SOURCE_NAMES = {"email": "ses", "monitoring": "monitoring", "execute-api": "execute-api"}

# KMS cryptographic operations are reads for CloudTrail although their names do not say so.
_CRYPTO_READS = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateMac",
        "GenerateRandom",
        "ReEncrypt",
        "Sign",
        "Verify",
        "VerifyMac",
    }
)

_HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
_CIPHER_SUITE = "TLS_AES_128_GCM_SHA256"
_ALPHABET = string.ascii_letters + string.digits
_SENSITIVE = re.compile(r"password|secret|plaintext|sessiontoken|privatekey", re.IGNORECASE)


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery wrote, and what it could not.

    Keys are ``s3://bucket/key`` URIs; errors map a trail ARN to the error code GetTrailStatus
    now reports for it (``AccessDenied``...).
    """

    log_files: tuple[str, ...] = ()
    """Log files written."""
    digest_files: tuple[str, ...] = ()
    """Digest files written."""
    errors: Mapping[str, str] = field(default_factory=dict)
    """Trail ARN -> ``LatestDeliveryError`` (or digest error) of a failed attempt."""


# ======================================================================================
# Recording
# ======================================================================================


@dataclass(frozen=True)
class RecordedEvent:
    """One API call, as a CloudTrail record plus what trails filter on."""

    seq: int
    begun: datetime
    done: datetime
    account: str
    region: str
    partition: str
    record: dict[str, Any]
    data_event: bool
    object_arn: str | None = None

    @property
    def source(self) -> str:
        return str(self.record["eventSource"])

    @property
    def read_only(self) -> bool:
        return bool(self.record["readOnly"])


class RecordingMiddleware:
    """WSGI middleware that records every AWS request reaching moto's app.

    ``/moto-api`` requests are not API calls and are not recorded; a ``/moto-api/reset``
    also clears the delivery state (under the delivery lock, so that a delivery never runs
    against half-reset backends). Every request passes the service's gate
    (:meth:`DeliveryService.serving`), so the emulator can be paused to save its state.
    """

    def __init__(self, app: Any, service: DeliveryService) -> None:
        self.app = app
        self.service = service

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.service.serving():
            return self._handle(environ, start_response)

    def _handle(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/moto-api"):
            if path.rstrip("/") == "/moto-api/reset":
                with self.service.lock:
                    result = self.app(environ, start_response)
                    self.service.reset()
                return result
            return self.app(environ, start_response)
        started = datetime.now(UTC)
        request = read_request(environ)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = status
            captured["headers"] = headers
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        try:
            code = int(str(captured.get("status", "200")).split()[0])
        except ValueError:
            code = 200
        body: bytes | None = None
        # Error bodies give errorCode; a write's answer gives responseElements (JSON, and
        # the XML of the query protocols: IAM, STS, SNS...).
        writes = request.protocol in ("json", "query") and not is_read_only(request.operation)
        if code >= 400 or writes:
            chunks = list(result)
            close = getattr(result, "close", None)
            if close is not None:
                close()
            body = b"".join(chunks)
            result = [body]
        try:
            self.service.record(request, code, captured.get("headers") or [], body, started)
        except Exception:  # recording must never break the emulator
            _LOG.debug("could not record %s", request.operation, exc_info=True)
        return result


@dataclass
class _Request:
    """What the recorder needs from a request."""

    service: str
    region: str
    access_key: str | None
    operation: str
    protocol: str  # json | query | s3 | rest
    params: dict[str, Any] | None
    source_ip: str
    user_agent: str
    data_event: bool = False
    bucket: str | None = None
    object_key: str | None = None
    signed_in_query: bool = False
    """A presigned URL (S3's ``AuthenticationMethod`` ``QueryString``), not a header."""
    signature_version: str = "SigV4"
    """How the request was signed (S3's ``SignatureVersion``)."""
    bytes_in: int = 0
    """The request body's length (S3's ``bytesTransferredIn``)."""


_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"^([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request$")
_V2_HEADER = re.compile(r"^AWS ([^:\s]+):")


def read_request(environ: dict[str, Any]) -> _Request:
    """Who sent a request and what it asks (service, region, access key, operation), from
    its WSGI environ; shared with the IAM enforcement (:mod:`wizard.sandbox.iam`)."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    access_key: str | None = None
    region, service = "us-east-1", "unknown"
    credential = (query.get("X-Amz-Credential") or [""])[0]
    match = _SCOPE.search(auth) or _QUERY_SCOPE.match(credential)  # header, or presigned URL
    version = "SigV4"
    v2_key = (query.get("AWSAccessKeyId") or [""])[0]
    v2_header = _V2_HEADER.match(auth)
    if match:
        access_key, region, service = match.groups()
    elif v2_key or v2_header:
        # Signature version 2, which only S3 still takes (older SDKs' presigned URLs); it
        # names no region.
        access_key = v2_key or (v2_header.group(1) if v2_header else None)
        service, version = "s3", "SigV2"
    length = str(environ.get("CONTENT_LENGTH") or "")
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    source_ip = str(environ.get("REMOTE_ADDR", "127.0.0.1"))
    user_agent = str(environ.get("HTTP_USER_AGENT", ""))
    common: dict[str, Any] = {
        "service": service,
        "region": region,
        "access_key": access_key,
        "source_ip": source_ip,
        "user_agent": user_agent,
        "signed_in_query": not auth and bool(credential or v2_key),
        "signature_version": version,
        "bytes_in": int(length) if length.isdigit() else 0,
    }
    if service == "s3":
        return _s3_request(environ, method, query, common)
    body = b""
    if length.isdigit() and int(length) > 0:
        body = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        params: dict[str, Any] | None = None
        with contextlib.suppress(ValueError):
            loaded = json.loads(body) if body else {}
            params = loaded if isinstance(loaded, dict) else None
        return _Request(
            operation=target.rsplit(".", 1)[-1], protocol="json", params=params, **common
        )
    if cbor := re.search(r"/service/[^/]+/operation/([^/?]+)", str(environ.get("PATH_INFO", ""))):
        return _Request(operation=cbor.group(1), protocol="rest", params=None, **common)
    form: dict[str, list[str]] = dict(query)
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        form.update(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
    operation = (form.pop("Action", None) or [""])[0]
    form.pop("Version", None)
    if operation:
        flat = {k: v[0] for k, v in form.items() if v}
        return _Request(
            operation=operation, protocol="query", params=unflatten(flat) or None, **common
        )
    path = str(environ.get("PATH_INFO", "/"))
    return _Request(operation=f"{method} {path}", protocol="rest", params=None, **common)


def unflatten(flat: Mapping[str, str]) -> dict[str, Any]:
    """Query-protocol parameters (``Tags.member.1.Key``) as nested values."""
    root: dict[str, Any] = {}
    for name in sorted(flat, key=_natural):
        parts = [p for p in name.split(".") if p not in ("member", "entry")]
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if isinstance(node, list):
                position = int(part) - 1 if part.isdigit() else len(node)
                while len(node) <= position:
                    node.append({})
                if last:
                    node[position] = flat[name]
                else:
                    node = node[position]
                continue
            if last:
                node[part] = flat[name]
            else:
                following = parts[index + 1]
                node = node.setdefault(part, [] if following.isdigit() else {})
    return root


def _natural(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in name.split(".")]


_BUCKET_SUBRESOURCES: dict[str, tuple[str | None, str | None, str | None]] = {
    "acl": ("GetBucketAcl", "PutBucketAcl", None),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "policyStatus": ("GetBucketPolicyStatus", None, None),
    "location": ("GetBucketLocation", None, None),
    "encryption": ("GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption"),
    "publicAccessBlock": (
        "GetBucketPublicAccessBlock",
        "PutBucketPublicAccessBlock",
        "DeleteBucketPublicAccessBlock",
    ),
    "ownershipControls": (
        "GetBucketOwnershipControls",
        "PutBucketOwnershipControls",
        "DeleteBucketOwnershipControls",
    ),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging"),
    "logging": ("GetBucketLogging", "PutBucketLogging", None),
    "lifecycle": ("GetBucketLifecycle", "PutBucketLifecycle", "DeleteBucketLifecycle"),
    "requestPayment": ("GetBucketRequestPayment", "PutBucketRequestPayment", None),
    "notification": ("GetBucketNotification", "PutBucketNotification", None),
    "object-lock": ("GetObjectLockConfiguration", "PutObjectLockConfiguration", None),
    "uploads": ("ListMultipartUploads", None, None),
    "versions": ("ListObjectVersions", None, None),
}

_OBJECT_SUBRESOURCES: dict[str, tuple[str | None, str | None, str | None]] = {
    "acl": ("GetObjectAcl", "PutObjectAcl", None),
    "tagging": ("GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging"),
    "attributes": ("GetObjectAttributes", None, None),
    "retention": ("GetObjectRetention", "PutObjectRetention", None),
    "legal-hold": ("GetObjectLegalHold", "PutObjectLegalHold", None),
}

_S3_SIGNING = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires"}
_S3_SIGNING |= {"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", "x-id"}
_S3_SIGNING |= {"AWSAccessKeyId", "Signature", "Expires"}


def _s3_request(
    environ: dict[str, Any], method: str, query: dict[str, list[str]], common: dict[str, Any]
) -> _Request:
    raw_path = str(environ.get("PATH_INFO", "/"))
    path = unquote(raw_path.encode("latin-1", "replace").decode("utf-8", "replace"))
    bucket, _, key = path.lstrip("/").partition("/")
    subs = [name for name in query if name not in _S3_SIGNING]
    params: dict[str, Any] = {}
    if bucket:
        params["bucketName"] = bucket
    # The host AWS records is its own endpoint's, virtual-hosted for a bucket, whatever
    # address reached the sandbox.
    params["Host"] = aws_host("s3", str(common["region"]), bucket)
    if key:
        params["key"] = key
    for name in subs:
        params[name] = query[name][0] if query[name] else ""
    copy_source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
    operation = s3_operation(method, bool(bucket), key, set(subs), bool(copy_source))
    data = bool(key) or operation in ("ListObjects", "ListObjectVersions", "DeleteObjects")
    return _Request(
        operation=operation,
        protocol="s3",
        params=params,
        data_event=data,
        bucket=bucket or None,
        object_key=key if data else None,
        **common,
    )


def s3_operation(method: str, bucket: bool, key: str, subs: set[str], copy: bool) -> str:
    """The CloudTrail eventName of an S3 REST request."""
    verb = {"GET": 0, "HEAD": 0, "PUT": 1, "DELETE": 2}.get(method)
    if not bucket:
        return "ListBuckets"
    if key:
        if method == "HEAD":
            return "HeadObject"
        if method == "POST":
            if "uploads" in subs:
                return "CreateMultipartUpload"
            if "uploadId" in subs:
                return "CompleteMultipartUpload"
            return "RestoreObject" if "restore" in subs else "PostObject"
        if "uploadId" in subs:
            if method == "PUT":
                return "UploadPartCopy" if copy else "UploadPart"
            return "AbortMultipartUpload" if method == "DELETE" else "ListParts"
        for sub, names in _OBJECT_SUBRESOURCES.items():
            if sub in subs and verb is not None and names[verb]:
                return str(names[verb])
        if method == "PUT":
            return "CopyObject" if copy else "PutObject"
        return "DeleteObject" if method == "DELETE" else "GetObject"
    if method == "HEAD":
        return "HeadBucket"
    if method == "POST":
        return "DeleteObjects" if "delete" in subs else "PostBucket"
    for sub in sorted(subs):
        known = _BUCKET_SUBRESOURCES.get(sub)
        if known is not None and verb is not None and known[verb]:
            return str(known[verb])
        if known is None and sub[:1].isalpha() and sub not in ("list-type", "prefix"):
            if sub in ("delimiter", "marker", "max-keys", "encoding-type", "start-after"):
                continue
            if sub in ("continuation-token", "fetch-owner"):
                continue
            word = "".join(p[:1].upper() + p[1:] for p in sub.split("-"))
            return ("Get", "Put", "Delete")[verb or 0] + "Bucket" + word
    return {"PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, "ListObjects")


def camel(value: Any) -> Any:
    """Keys in CloudTrail's lowerCamelCase, sensitive values hidden.

    A name that starts with two capitals keeps them (``AWSAccountId`` stays, as in AWS's
    records of KMS keys): the first letter is lowered only before a lower-case one or a digit.
    """
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if not (name[:2].isupper() and len(name) > 1 and name[1].isalpha()):
                name = name[:1].lower() + name[1:]
            result[name] = _HIDDEN if _SENSITIVE.search(name) else camel(item)
        return result
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def error_of(body: bytes | None, headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """AWS's error code and message from an error response."""
    header = {k.lower(): v for k, v in headers}
    text = (body or b"").decode("utf-8", "replace")
    code, message = "", ""
    if text.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            loaded = json.loads(text)
            if isinstance(loaded, dict):
                code = str(loaded.get("__type") or loaded.get("code") or loaded.get("Code") or "")
                message = str(loaded.get("message") or loaded.get("Message") or "")
    else:
        if match := re.search(r"<Code>(.*?)</Code>", text, re.DOTALL):
            code = html.unescape(match.group(1).strip())
        if match := re.search(r"<Message>(.*?)</Message>", text, re.DOTALL):
            message = html.unescape(match.group(1).strip())
    code = code or header.get("x-amzn-errortype", "").split(":")[0] or "UnknownError"
    return code.rsplit("#", 1)[-1], message


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def aws_date(moment: datetime) -> str:
    """A date inside ``requestParameters`` or ``responseElements``, as CloudTrail writes it.

    ``eventTime`` is ISO 8601, but the dates of a request or an answer are written the way
    AWS's own examples show them: ``Dec 7, 2026, 11:35:38 AM`` (UTC), never an epoch number.
    """
    utc = moment.astimezone(UTC)
    hour = utc.hour % 12 or 12
    half = "AM" if utc.hour < 12 else "PM"
    return f"{_MONTHS[utc.month - 1]} {utc.day}, {utc.year}, {hour}:{utc:%M:%S} {half}"


def _as_date(value: Any) -> Any:
    """A timestamp value (a datetime, epoch seconds or ISO text) as :func:`aws_date`."""
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError, OSError, ValueError):
            moment = datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return aws_date(moment) if moment is not None else value


def with_dates(value: Any, shape: Any) -> Any:
    """``value`` with every member the service model types as a timestamp written as AWS
    writes dates in records (:func:`aws_date`); ``shape`` is a botocore shape, or None."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "timestamp":
        return _as_date(value)
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: with_dates(v, members.get(k)) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [with_dates(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: with_dates(v, shape.value) for k, v in value.items()}
    return value


# Signing names whose botocore service model has another name.
_MODEL_NAMES = {"monitoring": "cloudwatch", "email": "ses"}


@functools.cache
def _service_model(service: str) -> Any:
    """botocore's model of a service (by its signing name), or None when it has none."""
    # botocore's bundled models, read on first use: only a running sandbox records calls.
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    name = _MODEL_NAMES.get(service, service)
    try:
        return ServiceModel(create_loader().load_service_model(name, "service-2"), name)
    except Exception:
        return None


def _operation_model(service: str, operation: str) -> Any:
    model = _service_model(service)
    if model is None or operation not in model.operation_names:
        return None
    return model.operation_model(operation)


def response_elements(
    protocol: str, operation: Any, body: bytes, headers: Mapping[str, str]
) -> dict[str, Any] | None:
    """A write's answer as CloudTrail records it: the JSON (or the query protocols' XML,
    parsed as the SDKs do) with its dates as AWS writes them; None when there is nothing."""
    loaded: Any = None
    if protocol == "json":
        with contextlib.suppress(ValueError):
            loaded = json.loads(body)
    elif protocol == "query" and operation is not None and operation.output_shape is not None:
        # botocore's parser, imported on first use: only a running sandbox records calls.
        from botocore.parsers import create_parser

        with contextlib.suppress(Exception):
            loaded = create_parser("query").parse(
                {"body": body, "headers": dict(headers), "status_code": 200},
                operation.output_shape,
            )
    if not isinstance(loaded, dict):
        return None
    loaded.pop("ResponseMetadata", None)
    if operation is not None:
        loaded = with_dates(loaded, operation.output_shape)
    return loaded or None


def aws_host(service: str, region: str, bucket: str = "") -> str:
    """The endpoint host a request to AWS would have reached (what records name)."""
    found = regions_partition_of(region)
    suffix = found.dns_suffix if found is not None else "amazonaws.com"
    if service == "iam" and (found is None or found.id == "aws"):
        return f"iam.{suffix}"
    if service == "s3" and bucket:
        return f"{bucket}.s3.{region}.{suffix}"
    return f"{service}.{region}.{suffix}"


def _amz_id_2() -> str:
    """An S3 extended request id, for an answer that carries none."""
    return base64.b64encode(secrets.token_bytes(48)).decode("ascii")


def _length(header: Mapping[str, str], body: bytes | None) -> int:
    """The answer's length in bytes (S3's ``bytesTransferredOut``)."""
    declared = header.get("content-length", "")
    if declared.isdigit():
        return int(declared)
    return len(body) if body is not None else 0


def _user_id(account: str, arn: str) -> str:
    """A stable ``AIDA...`` id for an IAM user the emulator gave none of AWS's shape."""
    digest = hashlib.sha256(f"{account}:{arn}".encode()).digest()
    return "AIDA" + base64.b32encode(digest).decode("ascii")[:17]


def _identity(access_key: str | None, region: str) -> tuple[dict[str, Any], str]:
    """CloudTrail's userIdentity for an access key, asked of moto's IAM and STS backends."""
    # moto on first use (see the module docstring)
    from moto.iam.models import get_account_id_from
    from moto.sts.models import sts_backends

    if not access_key:
        return {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}, ""
    account = get_account_id_from(access_key)
    partition = partition_of(region)
    backend = sts_backends[account][partition]
    role = backend.get_assumed_role_from_access_key(access_key)
    user_id, arn, account = backend.get_caller_identity(access_key, region)
    identity: dict[str, Any] = {"principalId": user_id, "arn": arn, "accountId": account}
    if role is not None:
        role_name = str(role.role_arn).rsplit("/", 1)[-1]
        identity = {
            "type": "AssumedRole",
            **identity,
            "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": str(user_id).split(":", 1)[0],
                    "arn": role.role_arn,
                    "accountId": account,
                    "userName": role_name,
                },
                # moto keeps no creation time; the recorder first sees the session now.
                "attributes": {
                    "creationDate": _iso(datetime.now(UTC)),
                    "mfaAuthenticated": "false",
                },
            },
        }
    elif arn.endswith(":root"):
        identity = {"type": "Root", **identity, "accessKeyId": access_key}
    else:
        # An IAM user as AWS names it: an iam ARN (moto calls its default caller
        # arn:aws:sts::ACCOUNT:user/moto) and an AIDA... unique id.
        name = arn.rsplit("/", 1)[-1]
        user_arn = f"arn:{partition}:iam::{account}:user/{name}"
        principal = str(user_id) if str(user_id).startswith("AIDA") else _user_id(account, arn)
        identity = {
            "type": "IAMUser",
            "principalId": principal,
            "arn": user_arn,
            "accountId": account,
            "accessKeyId": access_key,
            "userName": name,
        }
    return identity, str(account)


# ======================================================================================
# The signing key
# ======================================================================================


@dataclass
class SigningKey:
    """One RSA key pair that signs digest files, and its validity window."""

    private_key: Any
    valid_from: datetime
    valid_to: datetime

    @property
    def public_der(self) -> bytes:
        """The public key, DER-encoded PKCS#1 (what ListPublicKeys returns as ``Value``)."""
        return bytes(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.PKCS1
            )
        )

    @property
    def fingerprint(self) -> str:
        """Hex MD5 of the DER public key (32 hex digits, the shape AWS's fingerprints have)."""
        return hashlib.md5(self.public_der, usedforsecurity=False).hexdigest()

    def sign(self, data: bytes) -> str:
        """Hex RSA PKCS#1 v1.5 signature of SHA-256(data)."""
        return str(self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256()).hex())


def new_signing_key(now: datetime) -> SigningKey:
    """A fresh RSA-2048 digest signing key pair, valid for :data:`KEY_VALIDITY` from ``now``."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = now.replace(microsecond=0)
    return SigningKey(private_key=private, valid_from=start, valid_to=start + KEY_VALIDITY)


def digest_signing_string(
    end_time: str, bucket: str, key: str, digest_sha256_hex: str, previous_signature: str | None
) -> bytes:
    """The string CloudTrail signs for a digest file (AWS's documented format).

    ``previous_signature`` is None for the first digest of a chain, signed as ``null``.
    """
    previous = previous_signature if previous_signature is not None else "null"
    return f"{end_time}\n{bucket}/{key}\n{digest_sha256_hex}\n{previous}".encode()


# ======================================================================================
# Delivery
# ======================================================================================


@dataclass
class _TrailState:
    """What GetTrailStatus reports beyond moto's own status, and where delivery is."""

    cursor: int = 0
    retry: list[RecordedEvent] = field(default_factory=list)
    attempt: datetime | None = None
    succeeded: datetime | None = None
    delivered: datetime | None = None
    error: str | None = None
    digest_delivered: datetime | None = None
    digest_error: str | None = None


@dataclass
class _Chain:
    """One digest chain: a trail's digests for one source region and account."""

    trail_arn: str
    region: str
    account: str
    start: datetime
    previous: dict[str, str] | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
    delivered_any: bool = False
    trail: TrailView | None = None


@dataclass(frozen=True)
class TrailView:
    """The settings of a moto trail that delivery needs (read once per delivery)."""

    arn: str
    name: str
    account: str
    home_region: str
    partition: str
    bucket: str
    prefix: str | None
    kms_key_id: str | None
    multi_region: bool
    include_global: bool
    organization: bool
    validation: bool
    logging: bool
    started: datetime | None
    stopped: datetime | None
    event_selectors: tuple[dict[str, Any], ...]
    advanced_selectors: tuple[dict[str, Any], ...]
    moto: Any = field(compare=False, repr=False)

    def base(self, account: str, org_id: str | None) -> str:
        lead = f"{self.prefix}/" if self.prefix else ""
        org = f"{org_id}/" if self.organization and org_id else ""
        return f"{lead}AWSLogs/{org}{account}/"


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _view(trail: Any) -> TrailView:
    status = trail.status
    return TrailView(
        arn=str(trail.arn),
        name=str(trail.trail_name),
        account=str(trail.account_id),
        home_region=str(trail.region_name),
        partition=partition_of(str(trail.region_name)),
        bucket=str(trail.bucket_name or ""),
        prefix=trail.s3_key_prefix or None,
        kms_key_id=trail.kms_key_id or None,
        multi_region=bool(trail.is_multi_region),
        include_global=bool(trail.include_global_service_events),
        organization=bool(trail.is_org_trail),
        validation=bool(trail.log_validation),
        logging=bool(status.is_logging),
        started=_aware(status.started),
        stopped=_aware(status.stopped),
        event_selectors=tuple(trail.event_selectors or ()),
        advanced_selectors=tuple(trail.advanced_event_selectors or ()),
        moto=trail,
    )


def _all_trails() -> list[Any]:
    # moto on first use (see the module docstring)
    from moto.cloudtrail.models import cloudtrail_backends

    trails: list[Any] = []
    for account in list(cloudtrail_backends.keys()):
        for backend in list(cloudtrail_backends[account].values()):
            trails.extend(list(backend.trails.values()))
    return trails


def _organization(account: str, partition: str) -> tuple[str | None, frozenset[str]]:
    # moto on first use (see the module docstring)
    from moto.organizations.models import organizations_backends

    try:
        backend = organizations_backends[account][partition]
    except (KeyError, ValueError):
        return None, frozenset()
    if backend.org is None:
        return None, frozenset()
    return str(backend.org.id), frozenset(str(a.id) for a in backend.accounts)


def enabled_regions(partition: str) -> tuple[str, ...]:
    """The regions a multi-region trail of ``partition`` covers: those enabled by default."""
    known = DEFAULT_ENABLED_REGIONS.get(partition)
    if known is not None:
        return known
    for candidate in partitions():
        if candidate.id == partition:
            return tuple(sorted(candidate.regions))
    return ()


def trail_regions(view: TrailView) -> tuple[str, ...]:
    """The source regions whose digest chains a trail keeps: its home region, or every
    enabled region of its partition for a multi-region trail."""
    if not view.multi_region:
        return (view.home_region,)
    regions = set(enabled_regions(view.partition))
    regions.add(view.home_region)
    return tuple(sorted(regions))


class DeliveryService:
    """Records events and delivers log and digest files (one per process: :data:`SERVICE`)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.RLock()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._events: list[RecordedEvent] = []
        self._seq = 0
        self._trails: dict[str, _TrailState] = {}
        self._chains: dict[tuple[str, str, str], _Chain] = {}
        self._keys: dict[str, list[SigningKey]] = {}
        self._identities: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        self._epoch = self._clock()
        self.log_interval: float | None = DEFAULT_LOG_INTERVAL
        self.digest_interval: float | None = DEFAULT_DIGEST_INTERVAL
        self._users: list[tuple[object, float | None, float | None]] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_logs = self._epoch
        # The gate that stops the emulator for a moment (see paused()): requests pass it,
        # counted in _serving, unless _paused is set.
        self._gate = threading.Condition()
        self._serving = 0
        self._paused = False
        self._changes = 0

    # ---- lifecycle -----------------------------------------------------------------

    def attach(self, *, log_interval: float | None, digest_interval: float | None) -> object:
        """A sandbox starts: use its intervals, start the delivery thread if needed.

        Returns:
            A token for :meth:`detach`.
        """
        token = object()
        with self.lock:
            self._users.append((token, _positive(log_interval), _positive(digest_interval)))
            self._use_intervals()
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-cloudtrail-delivery", daemon=True
                )
                self._thread.start()
        return token

    def detach(self, token: object) -> None:
        """A sandbox stops: the intervals of the one before it apply again; the last one
        stops the thread (and waits for it)."""
        with self.lock:
            self._users = [u for u in self._users if u[0] is not token]
            self._use_intervals()
            thread = self._thread if not self._users else None
            if thread is not None:
                self._thread = None
                self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    @property
    def running(self) -> bool:
        """True while the delivery thread runs."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _use_intervals(self) -> None:
        if self._users:
            _, self.log_interval, self.digest_interval = self._users[-1]

    def reset(self) -> None:
        """Forget recorded events and delivery state (the signing keys stay)."""
        with self.lock:
            self._events.clear()
            self._trails.clear()
            self._chains.clear()
            self._identities.clear()
            self._epoch = self._clock()
            self._last_logs = self._epoch
            self._changes += 1

    # ---- standing still ------------------------------------------------------------

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """One request is being handled (the middleware's side of :meth:`paused`).

        Waits while the emulator is paused, and keeps a pause from starting until the
        request has been handled.
        """
        with self._gate:
            while self._paused:
                self._gate.wait()
            self._serving += 1
        try:
            yield
        finally:
            with self._gate:
                self._serving -= 1
                if not self._serving:
                    self._gate.notify_all()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The emulator stands still for the block: no request is handled, nothing delivered.

        New requests wait, those being handled finish first, and the delivery lock is held:
        moto's state and this service's can be read (to save them) or replaced (to restore a
        saved copy) consistently. Pauses do not nest; two at once take turns.
        """
        with self._gate:
            while self._paused:
                self._gate.wait()
            self._paused = True
            while self._serving:
                self._gate.wait()
        try:
            with self.lock:
                yield
        finally:
            with self._gate:
                self._paused = False
                self._gate.notify_all()

    @property
    def changes(self) -> int:
        """A number that grows with every recorded call, delivery that wrote or failed, and
        reset: when it has not moved, nothing needs saving."""
        return self._changes

    @property
    def recorded(self) -> int:
        """How many API calls have been recorded since the process started."""
        return self._seq

    def snapshot(self) -> dict[str, Any]:
        """The delivery state, to be saved with moto's (call it inside :meth:`paused`).

        Returns:
            The pending events, each trail's delivery status, the digest chains, the signing
            keys and the clock marks; :meth:`restore` takes it back. The objects are the live
            ones (pickle them with moto's backends in one go: a chain's trail is moto's).
        """
        with self.lock:
            return {
                "events": list(self._events),
                "seq": self._seq,
                "trails": dict(self._trails),
                "chains": dict(self._chains),
                "keys": {region: list(keys) for region, keys in self._keys.items()},
                "epoch": self._epoch,
                "last_logs": self._last_logs,
            }

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Take back a :meth:`snapshot` (call it inside :meth:`paused`).

        The signing keys saved come first, so digests signed before a restart still verify,
        and a key made since (none, in a freshly started process) stays the newest.
        """
        with self.lock:
            self._events = list(saved["events"])
            self._seq = max(self._seq, int(saved["seq"]))
            self._trails = dict(saved["trails"])
            self._chains = dict(saved["chains"])
            # Each region's keys: the saved ones first, then any made since.
            kept: dict[str, list[SigningKey]] = {
                region: list(keys) for region, keys in saved["keys"].items()
            }
            for region, keys in self._keys.items():
                kept.setdefault(region, []).extend(k for k in keys if k not in kept[region])
            self._keys = kept
            self._identities.clear()
            self._epoch = saved["epoch"]
            self._last_logs = saved["last_logs"]
            self._changes += 1

    def _run(self) -> None:
        stop = self._stop
        while True:
            intervals = [i for i in (self.log_interval, self.digest_interval) if i]
            tick = max(0.1, min(intervals) / 4) if intervals else 1.0
            if stop.wait(tick):
                return
            if not intervals:
                continue
            try:
                self.deliver(flush=False)
            except Exception:  # the thread must survive anything the emulator does
                _LOG.debug("sandbox log delivery failed", exc_info=True)

    # ---- recording -----------------------------------------------------------------

    def record(
        self,
        request: _Request,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes | None,
        started: datetime,
    ) -> None:
        """Turn one request into an event (called by the middleware)."""
        key = (request.access_key or "", request.region)
        cached = self._identities.get(key)
        if cached is None:
            cached = _identity(request.access_key, request.region)
            self._identities[key] = cached
        identity, account = cached
        source = f"{_SOURCE_NAMES.get(request.service, request.service)}.amazonaws.com"
        name = request.operation
        header = {k.lower(): v for k, v in headers}
        request_id = (
            header.get("x-amzn-requestid") or header.get("x-amz-request-id") or str(uuid.uuid4())
        )
        read_only = is_read_only(name) or name in _CRYPTO_READS
        record: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": identity,
            "eventTime": _iso(started),
            "eventSource": source,
            "eventName": name,
            "awsRegion": request.region,
            "sourceIPAddress": request.source_ip,
            "userAgent": request.user_agent,
            "requestParameters": None,
            "responseElements": None,
        }
        operation = _operation_model(request.service, name) if request.protocol != "s3" else None
        if request.protocol == "s3" and request.params:
            record["requestParameters"] = dict(request.params)  # already named as AWS does
        elif request.params:
            params = with_dates(request.params, operation.input_shape) if operation else None
            record["requestParameters"] = camel(params or request.params)
        if status >= 400:
            code, message = error_of(body, headers)
            record["errorCode"] = code
            if message:
                record["errorMessage"] = message
        elif body and not read_only and len(body) < 65536:
            elements = response_elements(request.protocol, operation, body, header)
            if elements:
                record["responseElements"] = camel(elements)
        if request.protocol == "s3":
            record["additionalEventData"] = {
                "SignatureVersion": request.signature_version,
                "CipherSuite": _CIPHER_SUITE,
                "bytesTransferredIn": request.bytes_in,
                "AuthenticationMethod": "QueryString" if request.signed_in_query else "AuthHeader",
                "x-amz-id-2": header.get("x-amz-id-2") or _amz_id_2(),
                "bytesTransferredOut": _length(header, body),
            }
        host = (
            str(request.params["Host"])
            if request.protocol == "s3" and request.params
            else aws_host(request.service, request.region)
        )
        record["requestID"] = request_id
        record["eventID"] = str(uuid.uuid4())
        record["readOnly"] = read_only
        partition = partition_of(request.region)
        object_arn = None
        if request.data_event and request.bucket:
            object_arn = f"arn:{partition}:s3:::{request.bucket}/{request.object_key or ''}"
            record["resources"] = [
                {"type": "AWS::S3::Object", "ARN": object_arn},
                {
                    "accountId": account,
                    "type": "AWS::S3::Bucket",
                    "ARN": f"arn:{partition}:s3:::{request.bucket}",
                },
            ]
        record["eventType"] = "AwsApiCall"
        record["managementEvent"] = not request.data_event
        record["recipientAccountId"] = account
        record["eventCategory"] = "Data" if request.data_event else "Management"
        # What AWS records of the HTTPS connection to its endpoint.
        record["tlsDetails"] = {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": _CIPHER_SUITE,
            "clientProvidedHostHeader": host,
        }
        with self.lock:
            self._seq += 1
            self._events.append(
                RecordedEvent(
                    seq=self._seq,
                    begun=started,
                    done=self._clock(),
                    account=account,
                    region=request.region,
                    partition=partition,
                    record=record,
                    data_event=request.data_event,
                    object_arn=object_arn,
                )
            )
            if len(self._events) > MAX_EVENTS:
                del self._events[: len(self._events) - MAX_EVENTS]
            self._changes += 1

    def events(self) -> list[RecordedEvent]:
        """The events recorded and not yet pruned (for tests and debugging)."""
        with self.lock:
            return list(self._events)

    # ---- status and keys -----------------------------------------------------------

    def trail_status(self, trail: Any) -> dict[str, Any]:
        """GetTrailStatus for a moto trail, with the delivery fields AWS reports."""
        status = trail.status
        started, stopped = _aware(status.started), _aware(status.stopped)
        with self.lock:
            state = self._trails.get(str(trail.arn)) or _TrailState()
        result: dict[str, Any] = {
            "IsLogging": bool(status.is_logging),
            "LatestDeliveryAttemptTime": _iso(state.attempt) if state.attempt else "",
            "LatestNotificationAttemptTime": "",
            "LatestNotificationAttemptSucceeded": "",
            "LatestDeliveryAttemptSucceeded": _iso(state.succeeded) if state.succeeded else "",
            "TimeLoggingStarted": _iso(started) if started else "",
            "TimeLoggingStopped": _iso(stopped) if stopped else "",
        }
        if state.error:
            result["LatestDeliveryError"] = state.error
        if state.delivered:
            result["LatestDeliveryTime"] = state.delivered.timestamp()
        if state.digest_delivered:
            result["LatestDigestDeliveryTime"] = state.digest_delivered.timestamp()
        if state.digest_error:
            result["LatestDigestDeliveryError"] = state.digest_error
        if started:
            result["StartLoggingTime"] = started.timestamp()
        if stopped:
            result["StopLoggingTime"] = stopped.timestamp()
        return result

    def signing_key(self, region: str) -> SigningKey:
        """A region's current signing key, made on first use (and again when it expires).

        CloudTrail signs each region's digests with a key pair of that region, and each
        region's ListPublicKeys returns only its own public keys.
        """
        with self.lock:
            now = self._clock()
            keys = self._keys.setdefault(region, [])
            if not keys or keys[-1].valid_to <= now:
                keys.append(new_signing_key(now))
            return keys[-1]

    def public_keys(self, region: str, start: datetime, end: datetime) -> list[SigningKey]:
        """A region's keys valid at some moment of ``[start, end]`` (making its first one if
        needed)."""
        self.signing_key(region)
        with self.lock:
            return [k for k in self._keys[region] if k.valid_from <= end and k.valid_to >= start]

    # ---- delivery ------------------------------------------------------------------

    def deliver(self, *, flush: bool = True) -> DeliveryReport:
        """Deliver log files and digests.

        Args:
            flush: Deliver every pending event and a digest for every chain now (what
                :meth:`Sandbox.deliver_now` does). False: only what is due by the intervals
                (what the delivery thread does).

        Returns:
            What was written, and the errors of failed attempts.
        """
        if flush:
            # Digest file names have one-second resolution: a chain's next digest must end in
            # a later second than its last one, so wait for that second (at most one) rather
            # than date the digest in the future.
            with self.lock:
                pending = [
                    _parse_time(c.previous["end"]) for c in self._chains.values() if c.previous
                ]
                wait = (
                    (max(pending) + timedelta(seconds=1) - self._clock()).total_seconds()
                    if pending
                    else 0.0
                )
            if 0 < wait <= 1:
                time.sleep(wait)
        with self.lock:
            now = self._clock()
            views = [_view(t) for t in _all_trails()]
            live = {v.arn for v in views}
            for arn in [a for a in self._trails if a not in live]:
                del self._trails[arn]
            logs: list[str] = []
            digests: list[str] = []
            errors: dict[str, str] = {}
            due_logs = flush or (
                self.log_interval is not None
                and (now - self._last_logs).total_seconds() >= self.log_interval
            )
            if due_logs:
                self._last_logs = now
                cutoff = now if flush else now - timedelta(seconds=self.log_interval or 0)
                for view in views:
                    if not flush and not self._settled(view, now):
                        continue
                    self._deliver_logs(view, cutoff, now, logs, errors)
                self._prune(views)
            if flush or self.digest_interval is not None:
                self._deliver_digests(views, now, flush, digests, errors)
            if logs or digests or errors:
                self._changes += 1
            return DeliveryReport(tuple(logs), tuple(digests), dict(errors))

    def _settled(self, view: TrailView, now: datetime) -> bool:
        """Automatic delivery leaves a trail alone for one interval after it starts logging."""
        if view.started is None:
            return False
        return (now - view.started).total_seconds() >= (self.log_interval or 0)

    def _deliver_logs(
        self,
        view: TrailView,
        cutoff: datetime,
        now: datetime,
        written: list[str],
        errors: dict[str, str],
    ) -> None:
        if view.started is None:
            return
        state = self._trails.setdefault(view.arn, _TrailState())
        org_id, members = _organization(view.account, view.partition)
        fresh = [e for e in self._events if e.seq > state.cursor and e.done <= cutoff]
        if fresh:
            state.cursor = fresh[-1].seq
        until = view.stopped if view.stopped and not view.logging else None
        candidates = state.retry + [
            e
            for e in fresh
            # The StartLogging and StopLogging calls themselves are logged.
            if e.done >= view.started
            and (until is None or e.begun <= until)
            and trail_wants(view, e, members)
        ]
        state.retry = []
        if not candidates:
            return
        groups: dict[tuple[str, str], list[RecordedEvent]] = {}
        for event in candidates:
            groups.setdefault((event.account, event.region), []).append(event)
        state.attempt = now
        failed: str | None = None
        for (account, region), events in sorted(groups.items()):
            base = view.base(account, org_id)
            stamp = now.strftime("%Y%m%dT%H%MZ")
            suffix = "".join(secrets.choice(_ALPHABET) for _ in range(16))
            key = (
                f"{base}CloudTrail/{region}/{now:%Y/%m/%d}/"
                f"{account}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"
            )
            records = sorted((e.record for e in events), key=lambda r: str(r["eventTime"]))
            raw = json.dumps({"Records": records}, separators=(",", ":")).encode()
            problem = _write(view, key, gzip.compress(raw), metadata={})
            if problem:
                failed = problem
                state.retry.extend(events)
                continue
            written.append(f"s3://{view.bucket}/{key}")
            if view.validation:
                chain = self._chain(view, region, account, now)
                chain.logs.append(
                    {
                        "s3Bucket": view.bucket,
                        "s3Object": key,
                        "hashValue": hashlib.sha256(raw).hexdigest(),
                        "hashAlgorithm": HASH_ALGORITHM,
                        "newestEventTime": records[-1]["eventTime"],
                        "oldestEventTime": records[0]["eventTime"],
                    }
                )
        if failed:
            state.error = failed
            errors[view.arn] = failed
            _LOG.debug("delivery to %s for %s failed: %s", view.bucket, view.arn, failed)
        else:
            state.error = None
            state.succeeded = now
            state.delivered = now

    def _prune(self, views: list[TrailView]) -> None:
        """Drop events no logging trail can still need."""
        cursors = [
            self._trails[v.arn].cursor if v.arn in self._trails else 0
            for v in views
            if v.logging or v.arn in self._trails
        ]
        if not cursors:
            self._events.clear()
            return
        floor = min(cursors)
        if floor:
            self._events = [e for e in self._events if e.seq > floor]

    def _chain(self, view: TrailView, region: str, account: str, now: datetime) -> _Chain:
        key = (view.arn, region, account)
        chain = self._chains.get(key)
        if chain is None:
            # Every chain starts at StartLogging (unless logging started before this process,
            # or the last reset, saw it).
            start = now
            if view.started and self._epoch <= view.started <= now:
                start = view.started
            chain = _Chain(trail_arn=view.arn, region=region, account=account, start=start)
            self._chains[key] = chain
        chain.trail = view
        return chain

    def _deliver_digests(
        self,
        views: list[TrailView],
        now: datetime,
        flush: bool,
        written: list[str],
        errors: dict[str, str],
    ) -> None:
        by_arn = {v.arn: v for v in views}
        # Every logging trail with validation has a chain for each region it covers and each
        # account it logs, activity or not: CloudTrail delivers a digest for every period.
        for view in views:
            if view.logging and view.validation and (flush or self._settled(view, now)):
                for account in self._accounts(view):
                    for region in trail_regions(view):
                        self._chain(view, region, account, now)
        for key, chain in sorted(self._chains.items()):
            current = by_arn.get(chain.trail_arn)
            active = current is not None and self._covers(current, chain)
            if active and current is not None:
                chain.trail = current
            interval = self.digest_interval or 0
            due = flush or (interval and (now - chain.start).total_seconds() >= interval)
            if active and not due:
                continue
            if not active and not chain.delivered_any:
                # Never delivered: nothing to close (and no file for a trail rolled back).
                del self._chains[key]
                continue
            target = chain.trail
            if target is None:
                del self._chains[key]
                continue
            uri, problem = self._write_digest(target, chain, now)
            state = self._trails.setdefault(target.arn, _TrailState())
            if problem:
                state.digest_error = problem
                errors.setdefault(target.arn, problem)
                if not active:
                    del self._chains[key]  # the final digest is attempted once
                continue
            state.digest_error = None
            state.digest_delivered = now
            written.append(uri)
            if not active:
                del self._chains[key]  # the final digest closes the chain

    @staticmethod
    def _accounts(view: TrailView) -> list[str]:
        """The accounts whose digests a trail delivers: its own, and an organization trail's
        member accounts."""
        accounts = {view.account}
        if view.organization:
            _, members = _organization(view.account, view.partition)
            accounts |= members
        return sorted(accounts)

    @staticmethod
    def _covers(view: TrailView, chain: _Chain) -> bool:
        """Whether the trail, as it is now, still keeps this digest chain going."""
        if not (view.logging and view.validation):
            return False
        if chain.account != view.account and not view.organization:
            return False
        return view.multi_region or chain.region == view.home_region

    def _write_digest(self, view: TrailView, chain: _Chain, now: datetime) -> tuple[str, str]:
        org_id, _ = _organization(view.account, view.partition)
        end = now.replace(microsecond=0)
        floor = chain.start.replace(microsecond=0)
        if chain.previous is not None:
            floor = max(floor, _parse_time(chain.previous["end"]) + timedelta(seconds=1))
        end = max(end, floor)  # digest names have second resolution: never reuse one
        base = view.base(chain.account, org_id)
        stamp = end.strftime("%Y%m%dT%H%M%SZ")
        key = (
            f"{base}CloudTrail-Digest/{chain.region}/{end:%Y/%m/%d}/"
            f"{chain.account}_CloudTrail-Digest_{chain.region}_{view.name}_"
            f"{view.home_region}_{stamp}.json.gz"
        )
        signing = self.signing_key(chain.region)
        logs = list(chain.logs)
        times = [t for log in logs for t in (log["oldestEventTime"], log["newestEventTime"])]
        previous = chain.previous
        document = {
            "awsAccountId": chain.account,
            "digestStartTime": _iso(chain.start),
            "digestEndTime": _iso(end),
            "digestS3Bucket": view.bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": signing.fingerprint,
            "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
            "newestEventTime": max(times) if times else None,
            "oldestEventTime": min(times) if times else None,
            "previousDigestS3Bucket": previous["bucket"] if previous else None,
            "previousDigestS3Object": previous["key"] if previous else None,
            "previousDigestHashValue": previous["hash"] if previous else None,
            "previousDigestHashAlgorithm": HASH_ALGORITHM if previous else None,
            "previousDigestSignature": previous["signature"] if previous else None,
            "logFiles": logs,
        }
        raw = json.dumps(document, separators=(",", ":")).encode()
        digest_hash = hashlib.sha256(raw).hexdigest()
        signature = signing.sign(
            digest_signing_string(
                _iso(end),
                view.bucket,
                key,
                digest_hash,
                previous["signature"] if previous else None,
            )
        )
        problem = _write(
            view,
            key,
            gzip.compress(raw),
            metadata={"signature": signature, "signature-algorithm": SIGNATURE_ALGORITHM},
        )
        if problem:
            return "", problem
        chain.previous = {
            "bucket": view.bucket,
            "key": key,
            "hash": digest_hash,
            "signature": signature,
            "end": _iso(end),
        }
        chain.start = end
        chain.logs = []
        chain.delivered_any = True
        return f"s3://{view.bucket}/{key}", ""


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# ---- which events a trail logs -------------------------------------------------------


def trail_wants(view: TrailView, event: RecordedEvent, members: frozenset[str]) -> bool:
    """Whether CloudTrail would record ``event`` in this trail's log files.

    Args:
        view: The trail's settings.
        event: A recorded API call.
        members: The organization's member accounts (an organization trail records theirs).

    Returns:
        True when the partition, account, region (global services included) and the
        trail's event selectors all take the event.
    """
    if event.partition != view.partition:
        return False
    if event.account != view.account and not (view.organization and event.account in members):
        return False
    if event.source in _GLOBAL_SOURCES and event.region == "us-east-1":
        if not view.include_global:
            return False
        if not view.multi_region and view.home_region != "us-east-1":
            return False
    elif not view.multi_region and event.region != view.home_region:
        return False
    if view.advanced_selectors:
        return any(_advanced_match(s, event) for s in view.advanced_selectors)
    selectors = view.event_selectors or ({"ReadWriteType": "All"},)
    return any(_basic_match(s, event) for s in selectors)


def _read_write_ok(kind: str, event: RecordedEvent) -> bool:
    if kind == "ReadOnly":
        return event.read_only
    if kind == "WriteOnly":
        return not event.read_only
    return True


def _basic_match(selector: Mapping[str, Any], event: RecordedEvent) -> bool:
    if not _read_write_ok(str(selector.get("ReadWriteType") or "All"), event):
        return False
    if not event.data_event:
        if selector.get("IncludeManagementEvents", True) is False:
            return False
        excluded = selector.get("ExcludeManagementEventSources") or []
        return event.source not in excluded
    for resource in selector.get("DataResources") or []:
        if resource.get("Type") != "AWS::S3::Object" or event.object_arn is None:
            continue
        for value in resource.get("Values") or []:
            text = str(value)
            if text in ("arn:aws:s3", f"arn:{event.partition}:s3", f"arn:{event.partition}:s3:::"):
                return True
            if event.object_arn.startswith(text):
                return True
    return False


def _event_field(field_name: str, event: RecordedEvent) -> list[str]:
    record = event.record
    if field_name == "eventCategory":
        return [str(record["eventCategory"])]
    if field_name == "readOnly":
        return [str(event.read_only).lower()]
    if field_name == "resources.type":
        return ["AWS::S3::Object"] if event.object_arn else []
    if field_name == "resources.ARN":
        return [event.object_arn] if event.object_arn else []
    if field_name == "userIdentity.arn":
        return [str(record["userIdentity"].get("arn", ""))]
    value = record.get(field_name)
    return [str(value)] if value is not None else []


def _advanced_match(selector: Mapping[str, Any], event: RecordedEvent) -> bool:
    for condition in selector.get("FieldSelectors") or []:
        values = _event_field(str(condition.get("Field", "")), event)
        checks: list[tuple[str, Callable[[str, str], bool], bool]] = [
            ("Equals", lambda v, c: v == c, True),
            ("StartsWith", lambda v, c: v.startswith(c), True),
            ("EndsWith", lambda v, c: v.endswith(c), True),
            ("NotEquals", lambda v, c: v == c, False),
            ("NotStartsWith", lambda v, c: v.startswith(c), False),
            ("NotEndsWith", lambda v, c: v.endswith(c), False),
        ]
        for operator, test, positive in checks:
            wanted = condition.get(operator)
            if not wanted:
                continue
            hit = any(test(v, str(c)) for v in values for c in wanted)
            if hit != positive:
                return False
    if event.data_event:
        # A data event needs a selector that names data events.
        return any(
            c.get("Field") == "eventCategory" and "Data" in (c.get("Equals") or [])
            for c in selector.get("FieldSelectors") or []
        )
    return True


# ---- may CloudTrail write? -----------------------------------------------------------


def _write(view: TrailView, key: str, body: bytes, metadata: Mapping[str, str]) -> str | None:
    """Put one object as CloudTrail would, or return the S3 error code AWS reports."""
    # moto on first use (see the module docstring)
    from moto.s3.models import s3_backends

    try:
        bucket = s3_backends[view.account][view.partition].get_bucket(view.bucket)
    except Exception:
        return "NoSuchBucket"
    bucket_arn = f"arn:{view.partition}:s3:::{view.bucket}"
    context = {
        "aws:SourceArn": view.arn,
        "aws:SourceAccount": view.account,
        "aws:SecureTransport": True,
        "s3:x-amz-acl": "bucket-owner-full-control",
        **source_org_context(view.account, view.partition),
    }
    if getattr(bucket, "payer", "BucketOwner") == "Requester" or not allows(
        bucket.policy, "s3:PutObject", f"{bucket_arn}/{key}", context
    ):
        return "AccessDenied"
    key_arn: str | None = None
    if view.kms_key_id:
        problem, key_arn = _kms_problem(view, str(bucket.region_name))
        if problem:
            return problem
    backend = s3_backends[str(bucket.account_id)][view.partition]
    stored = backend.put_object(
        view.bucket,
        key,
        body,
        encryption="aws:kms" if key_arn else "AES256",
        kms_key_id=key_arn,
        disable_notification=True,
    )
    stored.set_metadata(
        {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            **{f"x-amz-meta-{k}": v for k, v in metadata.items()},
        }
    )
    return None


def _kms_problem(view: TrailView, bucket_region: str) -> tuple[str | None, str | None]:
    """S3's error code when the trail's key cannot encrypt for CloudTrail, and the key ARN."""
    spec = trail_spec(view.moto)
    try:
        key = resolve_key(spec, bucket_region)
    except Exception:
        return "KMS.NotFoundException", None
    if key.key_state == "Disabled":
        return "KMS.DisabledException", None
    if key.key_state != "Enabled":
        return "KMS.KMSInvalidStateException", None
    context = {
        "aws:SourceArn": view.arn,
        "aws:SourceAccount": view.account,
        **source_org_context(view.account, view.partition),
        "kms:EncryptionContext:aws:cloudtrail:arn": view.arn,
        "kms:EncryptionContext:aws:s3:arn": (
            f"arn:{view.partition}:s3:::{view.bucket}/{spec.log_path(view.account)}"
        ),
    }
    if not allows(key.policy, "kms:GenerateDataKey", key.arn, context):
        return "AccessDenied", None
    return None, str(key.arn)


# ======================================================================================
# The process-wide service and the moto patches it needs
# ======================================================================================

SERVICE = DeliveryService()
"""The process's recorder and delivery (moto's state is process-wide, so is this)."""

_PATCH_LOCK = threading.Lock()
_PATCHED: dict[str, Any] = {}


def install_delivery_patches() -> None:
    """Serve GetTrailStatus with delivery state, and add ListPublicKeys and LookupEvents
    (idempotent)."""
    with _PATCH_LOCK:
        if _PATCHED:
            return
        # moto on first use (see the module docstring)
        from moto.cloudtrail.responses import CloudTrailResponse

        _PATCHED["get_trail_status"] = CloudTrailResponse.__dict__["get_trail_status"]
        _PATCHED["list_public_keys"] = CloudTrailResponse.__dict__.get("list_public_keys")
        _PATCHED["lookup_events"] = CloudTrailResponse.__dict__.get("lookup_events")
        CloudTrailResponse.get_trail_status = _get_trail_status  # type: ignore[method-assign]
        CloudTrailResponse.list_public_keys = _list_public_keys  # type: ignore[attr-defined]
        CloudTrailResponse.lookup_events = _lookup_events  # type: ignore[attr-defined]


def remove_delivery_patches() -> None:
    """Restore moto's GetTrailStatus (and remove ListPublicKeys and LookupEvents)."""
    with _PATCH_LOCK:
        if not _PATCHED:
            return
        # moto on first use (see the module docstring)
        from moto.cloudtrail.responses import CloudTrailResponse

        CloudTrailResponse.get_trail_status = _PATCHED["get_trail_status"]  # type: ignore[method-assign]
        for name in ("list_public_keys", "lookup_events"):
            if _PATCHED[name] is None:
                delattr(CloudTrailResponse, name)
            else:
                setattr(CloudTrailResponse, name, _PATCHED[name])
        _PATCHED.clear()


def _get_trail_status(self: Any) -> str:
    backend = self.cloudtrail_backend
    name = str(self._get_param("Name") or "")
    status = backend.get_trail_status(name)  # moto's lookup and errors
    trail = next(
        (t for t in backend.describe_trails(include_shadow_trails=True) if t.status is status),
        None,
    )
    if trail is None:  # pragma: no cover - moto found the status, so the trail exists
        return json.dumps(status.description())
    return json.dumps(SERVICE.trail_status(trail))


def _list_public_keys(self: Any) -> str:
    # moto on first use (see the module docstring)
    from moto.core.exceptions import JsonRESTError

    now = datetime.now(UTC)

    def moment(name: str) -> datetime:
        value = self._get_param(name)
        if value in (None, ""):
            return now
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (TypeError, ValueError):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        raise JsonRESTError("InvalidTimeRangeException", f"{name} is not a valid timestamp.")

    start, end = moment("StartTime"), moment("EndTime")
    if start > end:
        raise JsonRESTError(
            "InvalidTimeRangeException",
            "The start time is after the end time: the time range is not valid.",
        )
    keys = SERVICE.public_keys(str(self.region), start, end)
    return json.dumps(
        {
            "PublicKeyList": [
                {
                    "Value": base64.b64encode(k.public_der).decode("ascii"),
                    "ValidityStartTime": k.valid_from.timestamp(),
                    "ValidityEndTime": k.valid_to.timestamp(),
                    "Fingerprint": k.fingerprint,
                }
                for k in keys
            ]
        }
    )


LOOKUP_PAGE = 50
"""The most events one LookupEvents page holds (``MaxResults``, as in AWS)."""

_LOOKUP_FIELDS: dict[str, Callable[[RecordedEvent], str | None]] = {
    "EventId": lambda e: str(e.record.get("eventID")),
    "EventName": lambda e: str(e.record.get("eventName")),
    "EventSource": lambda e: e.source,
    "ReadOnly": lambda e: "true" if e.read_only else "false",
    "Username": lambda e: _lookup_username(e.record),
    "AccessKeyId": lambda e: e.record.get("userIdentity", {}).get("accessKeyId"),
}
"""The lookup attributes the sandbox's LookupEvents filters on, and each event's value."""


def _lookup_username(record: Mapping[str, Any]) -> str | None:
    """The ``Username`` the event history shows: the user's name or the session's."""
    identity = record.get("userIdentity") or {}
    arn = str(identity.get("arn") or "")
    return str(identity.get("userName") or arn.rsplit("/", 1)[-1] or "") or None


def _lookup_events(self: Any) -> str:
    """CloudTrail LookupEvents from the recorded events: the caller's management events in
    this region, newest first, ``MaxResults`` (at most 50) a page, ``NextToken`` onwards."""
    # moto on first use (see the module docstring)
    from moto.core.exceptions import JsonRESTError

    def moment(name: str) -> datetime | None:
        value = self._get_param(name)
        if value in (None, ""):
            return None
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (TypeError, ValueError):
            with contextlib.suppress(ValueError):
                return _aware(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
        raise JsonRESTError("InvalidTimeRangeException", f"{name} is not a valid timestamp.")

    start, end = moment("StartTime"), moment("EndTime")
    if start is not None and end is not None and start > end:
        raise JsonRESTError(
            "InvalidTimeRangeException",
            "The start time is after the end time: the time range is not valid.",
        )
    size = self._get_param("MaxResults")
    size = LOOKUP_PAGE if size in (None, "") else int(size)
    if not 1 <= size <= LOOKUP_PAGE:
        raise JsonRESTError("InvalidMaxResultsException", f"MaxResults must be 1 to {LOOKUP_PAGE}.")
    attributes = self._get_param("LookupAttributes") or []
    if len(attributes) > 1:
        raise JsonRESTError(
            "InvalidLookupAttributesException", "Only one lookup attribute may be given."
        )
    wanted: tuple[Callable[[RecordedEvent], str | None], str] | None = None
    for attribute in attributes:
        key = str(attribute.get("AttributeKey"))
        if key not in _LOOKUP_FIELDS:
            raise JsonRESTError(
                "InvalidLookupAttributesException",
                f"The sandbox looks events up by {', '.join(_LOOKUP_FIELDS)}, not {key}.",
            )
        wanted = (_LOOKUP_FIELDS[key], str(attribute.get("AttributeValue")))
    token = self._get_param("NextToken")
    before: int | None = None
    if token:
        try:
            before = int(base64.urlsafe_b64decode(str(token)).decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise JsonRESTError("InvalidNextTokenException", "Invalid NextToken.") from None
    account, region = str(self.current_account), str(self.region)
    found: list[RecordedEvent] = []
    # Insight events are never recorded by the sandbox: that category is always empty.
    if str(self._get_param("EventCategory") or "") != "insight":
        found = [
            e
            for e in reversed(SERVICE.events())
            if not e.data_event
            and e.account == account
            and e.region == region
            and (before is None or e.seq < before)
            and (start is None or e.begun >= start)
            and (end is None or e.begun <= end)
            and (wanted is None or wanted[0](e) == wanted[1])
        ]
    page, rest = found[:size], found[size:]
    body: dict[str, Any] = {
        "Events": [
            {
                "EventId": str(e.record.get("eventID")),
                "EventName": str(e.record.get("eventName")),
                "ReadOnly": "true" if e.read_only else "false",
                "AccessKeyId": e.record.get("userIdentity", {}).get("accessKeyId"),
                "EventTime": e.begun.timestamp(),
                "EventSource": e.source,
                "Username": _lookup_username(e.record),
                "Resources": [],
                "CloudTrailEvent": json.dumps(e.record),
            }
            for e in page
        ]
    }
    if rest:
        body["NextToken"] = base64.urlsafe_b64encode(str(page[-1].seq).encode()).decode()
    return json.dumps(body)


@contextlib.contextmanager
def attached(
    *, log_interval: float | None, digest_interval: float | None
) -> Iterator[DeliveryService]:
    """Attach to :data:`SERVICE` for the duration of a block (tests)."""
    token = SERVICE.attach(log_interval=log_interval, digest_interval=digest_interval)
    try:
        yield SERVICE
    finally:
        SERVICE.detach(token)
