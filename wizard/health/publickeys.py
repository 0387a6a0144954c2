"""The public keys that verify digest signatures: from CloudTrail, or from a saved file.

CloudTrail signs each region's digest files with that region's private key and serves the
public keys through ``ListPublicKeys`` (one call per region, for a time range). A
:class:`KeyRing` holds the keys a validation used, by region, so that they can be saved
(:meth:`KeyRing.save`) and a downloaded copy of the files validated later without calling
AWS at all (:meth:`KeyRing.load`).

The file is JSON; each region holds the list ``ListPublicKeys`` returns for it, in the same
shape (``aws cloudtrail list-public-keys --region R`` prints it too)::

    {
      "regions": {
        "us-east-1": [
          {"Fingerprint": "2fbb0...", "Value": "<base64 DER public key>",
           "ValidityStartTime": "2024-05-01T00:00:00Z",
           "ValidityEndTime": "2024-06-01T00:00:00Z"}
        ]
      }
    }

A region may also hold the whole answer, ``{"PublicKeyList": [...]}``. Times are ISO 8601
(UTC without a zone) or seconds since 1970; a key without them counts as valid at any time.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard.model.safe_io import FileRefused, read_bounded, write_atomically
from wizard.ports import AwsCaller

__all__ = ["KEY_FILE_MAX_BYTES", "KeyFileError", "KeyRing", "PublicKey", "list_public_keys"]

KEY_FILE_MAX_BYTES = 4 * 1024 * 1024
"""Largest public keys file read. A key is about 400 bytes in base64 and CloudTrail rotates
a region's key every few weeks: years of keys for every region fit many times over."""


class KeyFileError(ValueError):
    """A public keys file that cannot be used; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class PublicKey:
    """One public key that verifies one region's digest files for a period."""

    region: str
    """The region whose digest files it verifies."""
    fingerprint: str
    """The fingerprint digests name it by (``digestPublicKeyFingerprint``)."""
    der: bytes
    """The key, DER-encoded (``Value`` in ``ListPublicKeys``, base64 there)."""
    valid_from: datetime | None = None
    """Start of its validity (None: unknown, any time)."""
    valid_to: datetime | None = None
    """End of its validity (None: unknown, any time)."""

    def valid_during(self, start: datetime, end: datetime) -> bool:
        """Whether it was valid at some moment of ``[start, end]`` (ListPublicKeys' rule)."""
        after_start = self.valid_to is None or self.valid_to >= start
        before_end = self.valid_from is None or self.valid_from <= end
        return after_start and before_end


@dataclass
class KeyRing:
    """Public keys by region and fingerprint."""

    keys: dict[tuple[str, str], PublicKey] = field(default_factory=dict)
    """Every key, by (region, fingerprint)."""

    def add(self, keys: Iterable[PublicKey]) -> None:
        """Add keys (a key already there is kept once)."""
        for key in keys:
            self.keys[(key.region, key.fingerprint)] = key

    def lookup(self, region: str, start: datetime, end: datetime) -> dict[str, bytes]:
        """The DER keys of ``region`` valid at some moment of ``[start, end]``, by fingerprint."""
        return {
            key.fingerprint: key.der
            for (where, _), key in self.keys.items()
            if where == region and key.valid_during(start, end)
        }

    @property
    def regions(self) -> list[str]:
        """The regions it has keys for."""
        return sorted({region for region, _ in self.keys})

    def to_json(self) -> str:
        """The file's text (see the module docstring)."""
        regions: dict[str, list[dict[str, str]]] = {}
        for (region, _), key in sorted(self.keys.items()):
            entry = {"Fingerprint": key.fingerprint, "Value": base64.b64encode(key.der).decode()}
            if key.valid_from is not None:
                entry["ValidityStartTime"] = _iso(key.valid_from)
            if key.valid_to is not None:
                entry["ValidityEndTime"] = _iso(key.valid_to)
            regions.setdefault(region, []).append(entry)
        document = {
            "about": "CloudTrail digest public keys (ListPublicKeys), by region; "
            "read by `cloudtrail-wizard validate --local DIR --public-keys FILE`",
            "regions": regions,
        }
        return json.dumps(document, indent=2) + "\n"

    def save(self, path: str | Path) -> None:
        """Write the keys to ``path`` (all at once: a reader never sees half a file).

        Raises:
            OSError: it cannot be written.
        """
        write_atomically(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> KeyRing:
        """The keys of a file written by :meth:`save` (or by hand, same format).

        Raises:
            KeyFileError: missing, unreadable, not JSON, or not in the format; the message
                names the file and what to fix.
        """
        name = str(path)
        try:
            raw = read_bounded(path, KEY_FILE_MAX_BYTES, what="public keys file")
        except FileNotFoundError:
            raise KeyFileError(
                f"{name}: no such file. Save the keys first: `cloudtrail-wizard validate "
                "--local DIR --save-public-keys FILE` (or with a trail) fetches them once."
            ) from None
        except FileRefused as exc:
            raise KeyFileError(f"{name}: {exc}") from None
        except OSError as exc:
            raise KeyFileError(f"{name}: cannot be read ({exc.strerror or exc}).") from None
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise KeyFileError(f"{name} is not JSON ({exc}).") from None
        regions = document.get("regions") if isinstance(document, dict) else None
        if not isinstance(regions, dict) or not regions:
            raise KeyFileError(
                f'{name} has no "regions" object: it must hold {{"regions": {{"REGION": '
                "[keys as ListPublicKeys returns them]}}}."
            )
        ring = cls()
        for region, listed in regions.items():
            ring.add(_region_keys(name, str(region), listed))
        return ring


def list_public_keys(
    caller: AwsCaller, region: str, start: datetime, end: datetime
) -> list[PublicKey]:
    """The keys ``ListPublicKeys`` returns in ``region`` for ``[start, end]``.

    Raises:
        AwsError: the call failed (access denied included).
    """
    listed = caller.paginate(
        "cloudtrail",
        region,
        "ListPublicKeys",
        "PublicKeyList",
        {"StartTime": start, "EndTime": end},
    )
    return [
        PublicKey(
            region=region,
            fingerprint=str(entry["Fingerprint"]),
            der=_blob(entry.get("Value")),
            valid_from=_moment(entry.get("ValidityStartTime")),
            valid_to=_moment(entry.get("ValidityEndTime")),
        )
        for entry in listed
        if isinstance(entry, Mapping) and entry.get("Fingerprint")
    ]


def _region_keys(name: str, region: str, listed: Any) -> list[PublicKey]:
    if isinstance(listed, dict) and "PublicKeyList" in listed:
        listed = listed["PublicKeyList"]
    if not isinstance(listed, list):
        raise KeyFileError(
            f'{name}: region {region} must hold a list of keys (or {{"PublicKeyList": '
            "[...]}), as ListPublicKeys returns them."
        )
    keys = []
    for number, entry in enumerate(listed, 1):
        where = f"{name}: key {number} of region {region}"
        if not isinstance(entry, dict):
            raise KeyFileError(f"{where} is not an object with Fingerprint and Value.")
        fingerprint = entry.get("Fingerprint")
        value = entry.get("Value")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise KeyFileError(f"{where} has no Fingerprint.")
        if not isinstance(value, str) or not value:
            raise KeyFileError(f"{where} has no Value (the public key, base64 DER).")
        try:
            der = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise KeyFileError(f"{where}: Value is not base64.") from None
        try:
            start = _moment(entry.get("ValidityStartTime"), strict=True)
            end = _moment(entry.get("ValidityEndTime"), strict=True)
        except ValueError as exc:
            raise KeyFileError(f"{where}: {exc}") from None
        keys.append(
            PublicKey(
                region=region, fingerprint=fingerprint, der=der, valid_from=start, valid_to=end
            )
        )
    return keys


def _blob(value: Any) -> bytes:
    """A ``Value`` as the caller hands it over: bytes, or ``base64:`` text."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = str(value or "")
    if text.startswith("base64:"):
        return base64.b64decode(text[len("base64:") :])
    return text.encode("utf-8")


def _moment(value: Any, *, strict: bool = False) -> datetime | None:
    """A time as ListPublicKeys or a file gives it (datetime, epoch seconds, ISO 8601)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            if strict:
                raise ValueError(f"{value} is not a time (seconds since 1970).") from None
            return None
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            if strict:
                raise ValueError(
                    f"{value!r} is not a time: use ISO 8601 (2024-05-01T00:00:00Z)."
                ) from None
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
