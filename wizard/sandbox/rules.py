"""What AWS would decide, read from the emulator's state: shared by the strict rules and delivery.

A trail's effective settings (:class:`TrailSpec`), whether a resource policy lets a service
principal act (:func:`allows`, with the wizard's own access evaluator), which KMS key a trail
names (:func:`resolve_key`) and errors in AWS's JSON protocol (:func:`json_error`). The strict
rules of :mod:`wizard.sandbox.server` refuse requests with them, and
:mod:`wizard.sandbox.delivery` decides with them whether CloudTrail may write a log file.

moto is imported inside the functions that need it: it is the optional ``sandbox`` extra (and
a quarter-second import), so the sandbox's modules import without it and only starting a
sandbox needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wizard.model.names import classify_key_ref
from wizard.policy.access import PolicyFormatError, Principal, Request, evaluate

__all__ = [
    "CLOUDTRAIL",
    "TrailSpec",
    "allows",
    "json_error",
    "partition_of",
    "resolve_key",
    "source_org_context",
    "trail_spec",
]

_LOG = logging.getLogger(__name__)

CLOUDTRAIL = "cloudtrail.amazonaws.com"
"""CloudTrail's service principal."""


@dataclass(frozen=True)
class SandboxCredentials:
    """The dummy credentials the sandbox accepts (moto checks no signatures)."""

    access_key_id: str = "testing"
    secret_access_key: str = "testing"


DUMMY_CREDENTIALS = SandboxCredentials()
"""What the sandbox's own calls (its seeds, its StackSets engine) sign with."""


def json_error(code: str, message: str) -> Exception:
    """An error in the AWS JSON protocol (CloudTrail, KMS): HTTP 400, ``__type`` = code."""
    from moto.core.exceptions import JsonRESTError  # moto on first use: see the module docstring

    error: Exception = JsonRESTError(code, message)
    return error


def allows(
    policy: str | bytes | Mapping[str, Any] | None,
    action: str,
    resource: str,
    context: Mapping[str, Any],
    *,
    principal_service: str = CLOUDTRAIL,
) -> bool:
    """Whether ``policy`` lets the service principal do ``action`` on ``resource``."""
    if policy is None or policy in ("", b""):
        _LOG.info("no policy: %s on %s is denied", action, resource)
        return False
    if isinstance(policy, bytes):
        policy = policy.decode("utf-8", errors="replace")
    request = Request(
        principal=Principal(kind="service", id=principal_service),
        action=action,
        resource=resource,
        context=dict(context),
    )
    try:
        result = evaluate(policy, request)
    except PolicyFormatError as error:
        _LOG.info("malformed policy for %s on %s: %s", action, resource, error)
        return False
    _LOG.info("%s on %s: %s (%s)", action, resource, result.decision, "; ".join(result.reasons))
    return bool(result.allowed)


@dataclass(frozen=True)
class TrailSpec:
    """A trail's effective settings, as CreateTrail or UpdateTrail would leave them."""

    account: str
    region: str
    partition: str
    name: str
    bucket: str
    prefix: str | None
    sns_topic: str | None
    include_global: bool
    multi_region: bool
    organization: bool
    cw_group_arn: str | None
    cw_role_arn: str | None
    kms_key_id: str | None

    @property
    def arn(self) -> str:
        """The trail's ARN."""
        return f"arn:{self.partition}:cloudtrail:{self.region}:{self.account}:trail/{self.name}"

    def log_path(self, owner: str) -> str:
        """The key prefix CloudTrail writes under, for an account or organization id."""
        # The prefix is used exactly as stored: CloudTrail puts "/AWSLogs/" right after it,
        # so a policy written for a normalised prefix does not match a prefix with a
        # trailing slash, which is what the wizard must get right.
        lead = f"{self.prefix}/" if self.prefix else ""
        return f"{lead}AWSLogs/{owner}/"


def partition_of(region: str) -> str:
    """The ARN partition of a region (``aws``, ``aws-cn``, ``aws-us-gov``...), as moto has it."""
    from moto.utilities.utils import get_partition  # moto on first use: see the module docstring

    return str(get_partition(region))


def source_org_context(account: str, partition: str) -> dict[str, str]:
    """``{"aws:SourceOrgID": ...}`` for a trail of an organization's account, else ``{}``.

    CloudTrail's requests to S3 and KMS carry the organization of the trail's account, which
    is what a central policy for a StackSet's trails names (wizard.policy.stacksets).
    """
    from moto.organizations.models import organizations_backends  # moto on first use

    own = organizations_backends[account][partition]
    if own.org is not None:
        return {"aws:SourceOrgID": str(own.org.id)}
    master = organizations_backends.master_accounts.get(account)
    if master is None:
        return {}
    org = organizations_backends[master[0]][master[1]].org
    return {"aws:SourceOrgID": str(org.id)} if org is not None else {}


def trail_spec(trail: Any) -> TrailSpec:
    """The settings of a moto trail, as the checks (and log delivery) read them."""
    return TrailSpec(
        account=trail.account_id,
        region=trail.region_name,
        partition=partition_of(trail.region_name),
        name=trail.trail_name,
        bucket=trail.bucket_name,
        prefix=trail.s3_key_prefix,
        sns_topic=trail.sns_topic_name,
        include_global=bool(trail.include_global_service_events),
        multi_region=bool(trail.is_multi_region),
        organization=bool(trail.is_org_trail),
        cw_group_arn=trail.cw_log_group_arn,
        cw_role_arn=trail.cw_role_arn,
        kms_key_id=trail.kms_key_id,
    )


def resolve_key(spec: TrailSpec, bucket_region: str) -> Any:
    """The KMS key ``spec.kms_key_id`` names, looked up in the bucket's region."""
    from moto.kms.models import kms_backends  # moto on first use: see the module docstring

    ref = classify_key_ref(spec.kms_key_id or "")
    if isinstance(ref, str):
        raise json_error("InvalidKmsKeyIdException", ref)
    not_found = json_error(
        "KmsKeyNotFoundException",
        f"KMS key {ref.value} does not exist in {bucket_region}, or is not in the same region "
        f"as the S3 bucket {spec.bucket} ({bucket_region}); the key must be in the bucket's "
        "region.",
    )
    if ref.region is not None and ref.region != bucket_region:
        raise not_found
    account = ref.account or spec.account
    backend = kms_backends[account][bucket_region]
    name = ref.value.split(":", 5)[5] if ref.form.endswith("arn") else ref.value
    if ref.form in ("alias", "alias-arn"):
        key_id = next((k.id for k in backend.keys.values() if name in k.aliases), None)
    else:
        key_id = name.removeprefix("key/")
    key = backend.keys.get(key_id) if key_id else None
    if key is None or key.region != bucket_region:
        raise not_found
    return key
