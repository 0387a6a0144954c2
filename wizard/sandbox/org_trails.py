"""Organization trails in the sandbox as AWS keeps them: shadow copies in member accounts,
CloudTrail's delegated administrator, and the trails it manages in the management account.

moto keeps an organization trail only in the account that created it, lets no member see it,
and has neither RegisterOrganizationDelegatedAdmin nor a delegated administrator for
CloudTrail. AWS:

* lists an organization trail in every member account (DescribeTrails with shadow trails),
  whose ARN names the management account; members may read it but not change it;
* lets the management account register up to three member accounts as CloudTrail's
  delegated administrators (cloudtrail RegisterOrganizationDelegatedAdmin, which also
  registers them with Organizations for ``cloudtrail.amazonaws.com``);
* lets a delegated administrator create and manage organization trails, which belong to the
  management account: their ARN names the management account.

The calls are redirected to the management account's CloudTrail backend where AWS would act
on the management account's trail, so every strictness check of :mod:`wizard.sandbox.server`
still applies (as the management account: its organization, its ARN).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from wizard.model.landing import CONTROL_TOWER_TRAIL
from wizard.model.names import parse_arn
from wizard.sandbox.rules import CLOUDTRAIL, DUMMY_CREDENTIALS, json_error

__all__ = [
    "MAX_DELEGATED_ADMINS",
    "LandingZone",
    "install_org_trail_patches",
    "organization_of",
    "remove_org_trail_patches",
    "seed_landing_zone",
]

MAX_DELEGATED_ADMINS = 3
"""CloudTrail's limit of delegated administrators per organization."""

_LOCK = threading.Lock()
_INSTALLED: list[tuple[Any, str, Any]] = []

_TRAIL_PARAMS = ("Name", "TrailName")
"""Request parameters that name the trail a CloudTrail action works on."""


def organization_of(account: str, partition: str = "aws") -> tuple[str, Any] | None:
    """(management account, its Organizations backend) of ``account``'s organization."""
    # moto on first use (see wizard.sandbox.server's module docstring)
    from moto.organizations.models import organizations_backends

    own = organizations_backends[account][partition]
    if own.org is not None:
        return account, own
    master = organizations_backends.master_accounts.get(account)
    if master is None:
        return None
    return master[0], organizations_backends[master[0]][master[1]]


def _delegated_admin(backend: Any, account: str) -> bool:
    return any(a.account.id == account and CLOUDTRAIL in a.services for a in backend.admins)


def _trusted(backend: Any) -> bool:
    return any(s.get("ServicePrincipal") == CLOUDTRAIL for s in backend.services)


def _management_trails(management: str) -> Iterable[Any]:
    # moto on first use: it is the optional sandbox extra (see wizard.sandbox.rules).
    from moto.cloudtrail.models import cloudtrail_backends

    for backend in list(cloudtrail_backends[management].values()):
        yield from [t for t in list(backend.trails.values()) if t.is_org_trail]


# ---- the backend the request acts on --------------------------------------------------


def _wrap_backend_property(original: property) -> property:
    def backend(self: Any) -> Any:
        own = original.fget(self) if original.fget is not None else None
        target = _management_backend_for(self)
        return own if target is None else target

    return property(backend)


def _management_backend_for(response: Any) -> Any | None:
    """The management account's backend when the request acts on its organization trail."""
    # moto on first use: it is the optional sandbox extra (see wizard.sandbox.rules).
    from moto.cloudtrail.models import cloudtrail_backends

    account = str(response.current_account)
    partition = str(getattr(response, "partition", "aws") or "aws")
    action = str(response._get_action() or "")
    if action == "CreateTrail":
        if not response._get_bool_param("IsOrganizationTrail", False):
            return None
        found = organization_of(account, partition)
        if found is None or found[0] == account or not _delegated_admin(found[1], account):
            return None
        return cloudtrail_backends[found[0]][response.region]
    name = next((response._get_param(p) for p in _TRAIL_PARAMS if response._get_param(p)), None)
    parsed = parse_arn(str(name)) if name else None
    if parsed is None or parsed.account == account:
        return None
    found = organization_of(account, partition)
    if found is None or found[0] != parsed.account:
        return None
    if not any(t.arn == name for t in _management_trails(parsed.account)):
        return None
    if not action.startswith(("Get", "Describe", "List")) and not _delegated_admin(
        found[1], account
    ):
        raise json_error(
            "NotOrganizationMasterAccountException",
            f"The organization trail {name} belongs to the management account "
            f"{parsed.account}: only that account or CloudTrail's delegated administrator "
            f"can change it; account {account} is a member account.",
        )
    return cloudtrail_backends[parsed.account][response.region]


# ---- shadow copies in member accounts --------------------------------------------------


def _wrap_describe_trails(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe_trails(self: Any, include_shadow_trails: bool) -> Any:
        trails = list(original(self, include_shadow_trails))
        if not include_shadow_trails:
            return trails
        found = organization_of(self.account_id, "aws")
        if found is None or found[0] == self.account_id:
            return trails
        seen = {t.arn for t in trails}
        for trail in _management_trails(found[0]):
            visible = trail.is_multi_region or trail.region_name == self.region_name
            if visible and trail.arn not in seen:
                trails.append(trail)
        return trails

    return describe_trails


# ---- CloudTrail's delegated administrator ----------------------------------------------


def _registration(response: Any) -> tuple[str, Any]:
    """(management account, its Organizations backend), as AWS checks the caller."""
    account = str(response.current_account)
    found = organization_of(account, str(getattr(response, "partition", "aws") or "aws"))
    if found is None:
        raise json_error(
            "OrganizationsNotInUseException",
            f"Account {account} is not in an organization; create one (AWS Organizations, all "
            "features) first.",
        )
    management, backend = found
    if management != account:
        raise json_error(
            "NotOrganizationManagementAccountException",
            f"Only the management account {management} can register or deregister "
            f"CloudTrail's delegated administrator; account {account} is a member account.",
        )
    if backend.org.feature_set != "ALL":
        raise json_error(
            "OrganizationNotInAllFeaturesModeException",
            f"Organization {backend.org.id} does not have all features enabled.",
        )
    if not _trusted(backend):
        raise json_error(
            "CloudTrailAccessNotEnabledException",
            f"Trusted access for {CLOUDTRAIL} is not enabled in organization {backend.org.id}; "
            "enable it (organizations enable-aws-service-access) first.",
        )
    return management, backend


def _register_organization_delegated_admin(self: Any) -> str:
    member = str(self._get_param("MemberAccountId") or "")
    management, backend = _registration(self)
    if member == management:
        raise json_error(
            "CannotDelegateManagementAccountException",
            f"Account {member} is the management account; it cannot be CloudTrail's delegated "
            "administrator.",
        )
    if not any(a.id == member for a in backend.accounts):
        raise json_error(
            "AccountNotFoundException",
            f"Account {member} is not a member of organization {backend.org.id}.",
        )
    if _delegated_admin(backend, member):
        raise json_error(
            "AccountRegisteredException",
            f"Account {member} already is CloudTrail's delegated administrator.",
        )
    registered = [a for a in backend.admins if CLOUDTRAIL in a.services]
    if len(registered) >= MAX_DELEGATED_ADMINS:
        raise json_error(
            "DelegatedAdminAccountLimitExceededException",
            f"CloudTrail already has {MAX_DELEGATED_ADMINS} delegated administrators.",
        )
    backend.register_delegated_administrator(AccountId=member, ServicePrincipal=CLOUDTRAIL)
    return "{}"


def _deregister_organization_delegated_admin(self: Any) -> str:
    member = str(self._get_param("DelegatedAdminAccountId") or "")
    _, backend = _registration(self)
    if not _delegated_admin(backend, member):
        raise json_error(
            "AccountNotRegisteredException",
            f"Account {member} is not CloudTrail's delegated administrator.",
        )
    backend.deregister_delegated_administrator(AccountId=member, ServicePrincipal=CLOUDTRAIL)
    return json.dumps({})


# ---- installation ------------------------------------------------------------------------


def install_org_trail_patches() -> None:
    """Install the organization trail behaviour (idempotent, process-wide).

    Installed after the strictness patches: the redirected calls go through them.
    """
    with _LOCK:
        if _INSTALLED:
            return
        # moto on first use: it is the optional sandbox extra (see wizard.sandbox.rules).
        from moto.cloudtrail.models import CloudTrailBackend
        from moto.cloudtrail.responses import CloudTrailResponse
        from moto.organizations.models import FakeDelegatedAdministrator

        if CLOUDTRAIL not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
            FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(CLOUDTRAIL)
        prop = CloudTrailResponse.__dict__["cloudtrail_backend"]
        _INSTALLED.append((CloudTrailResponse, "cloudtrail_backend", prop))
        CloudTrailResponse.cloudtrail_backend = _wrap_backend_property(prop)  # type: ignore[method-assign,assignment]
        describe = CloudTrailBackend.__dict__["describe_trails"]
        _INSTALLED.append((CloudTrailBackend, "describe_trails", describe))
        CloudTrailBackend.describe_trails = _wrap_describe_trails(describe)  # type: ignore[method-assign]
        # moto on first use, as above.
        from moto.organizations.models import OrganizationsBackend

        create = OrganizationsBackend.__dict__["create_account"]
        _INSTALLED.append((OrganizationsBackend, "create_account", create))
        OrganizationsBackend.create_account = _wrap_create_account(create)  # type: ignore[method-assign]
        for name, method in (
            ("register_organization_delegated_admin", _register_organization_delegated_admin),
            ("deregister_organization_delegated_admin", _deregister_organization_delegated_admin),
        ):
            _INSTALLED.append((CloudTrailResponse, name, CloudTrailResponse.__dict__.get(name)))
            setattr(CloudTrailResponse, name, method)


ACCESS_ROLE = "OrganizationAccountAccessRole"
"""The role Organizations creates in every account it creates (CreateAccount's RoleName)."""

_ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


def _wrap_create_account(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_account(self: Any, **kwargs: Any) -> Any:
        status = original(self, **kwargs)
        _make_access_role(
            str(status["CreateAccountStatus"]["AccountId"]),
            str(self.account_id),
            str(kwargs.get("RoleName") or ACCESS_ROLE),
            str(self.partition),
        )
        return status

    return create_account


def _make_access_role(account: str, management: str, role: str, partition: str) -> None:
    """What Organizations does for an account it creates: a role the management account may
    assume, with AdministratorAccess. moto makes the role with no policy, and the sandbox's
    policy simulator then found every onboarded account's role allowed nothing."""
    from moto.iam.models import iam_backends  # moto on first use

    backend = iam_backends[account][partition]
    found = next((r for r in backend.roles.values() if r.name == role), None)
    if found is None:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{management}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        found = backend.create_role(
            role_name=role,
            assume_role_policy_document=json.dumps(trust),
            path="/",
            permissions_boundary=None,
            description="",
            tags=[],
            max_session_duration=None,
        )
    policy = _ADMINISTRATOR_ACCESS.replace("arn:aws:", f"arn:{partition}:", 1)
    if policy not in found.managed_policies:
        backend.attach_role_policy(policy, role)


def remove_org_trail_patches() -> None:
    """Restore moto's originals (for tests that need plain moto)."""
    with _LOCK:
        for cls, name, original in reversed(_INSTALLED):
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
        _INSTALLED.clear()


# ---- a landing zone to test against ------------------------------------------------------


@dataclass(frozen=True)
class LandingZone:
    """What :func:`seed_landing_zone` created."""

    management_account: str
    """The organization's management account (it owns the organization trail)."""
    organization_id: str
    """o-..."""
    members: dict[str, str]
    """Member accounts by name (``audit``, ``workload``)."""
    trail_arn: str
    """The Control Tower-like organization trail's ARN (the management account's)."""
    bucket: str
    """The bucket it delivers to."""


def seed_landing_zone(
    endpoint_url: str,
    *,
    management: str = "123456789012",
    region: str = "us-east-1",
    members: tuple[str, ...] = ("audit", "workload"),
) -> LandingZone:
    """A Control Tower-like landing zone: an organization (all features, trusted access for
    CloudTrail), member accounts, and the organization trail
    ``aws-controltower-BaselineCloudTrail`` (every region, logging, read and write management
    events, no data events, no Insights) delivering to a bucket of the management account.

    Not part of the default demo seed (the demo account is a standalone account there); tests
    and demos call it over HTTP, as the management account.

    Args:
        endpoint_url: The sandbox's URL.
        management: The account that creates the organization (the demo account by default).
        region: The trail's home region and the bucket's region.
        members: Names of the member accounts to create.
    """
    import boto3  # the sandbox's own seed talks HTTP, like every client

    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS.access_key_id,
        aws_secret_access_key=DUMMY_CREDENTIALS.secret_access_key,
        region_name=region,
    )

    def client(service: str) -> Any:
        made: Any = session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]

        def in_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = management

        made.meta.events.register("before-sign", in_account)
        return made

    org = client("organizations")
    org_id = str(org.create_organization(FeatureSet="ALL")["Organization"]["Id"])
    org.enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
    created = {
        name: str(
            org.create_account(AccountName=name, Email=f"{name}@example.com")[
                "CreateAccountStatus"
            ]["AccountId"]
        )
        for name in members
    }
    bucket = f"aws-controltower-logs-{management}-{region}"
    s3 = client("s3")
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    trail_arn = f"arn:aws:cloudtrail:{region}:{management}:trail/{CONTROL_TOWER_TRAIL}"
    condition = {"aws:SourceArn": trail_arn}
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AWSCloudTrailAclCheck",
                        "Effect": "Allow",
                        "Principal": {"Service": CLOUDTRAIL},
                        "Action": "s3:GetBucketAcl",
                        "Resource": f"arn:aws:s3:::{bucket}",
                        "Condition": {"StringEquals": condition},
                    },
                    {
                        "Sid": "AWSCloudTrailWrite",
                        "Effect": "Allow",
                        "Principal": {"Service": CLOUDTRAIL},
                        "Action": "s3:PutObject",
                        "Resource": [
                            f"arn:aws:s3:::{bucket}/AWSLogs/{management}/*",
                            f"arn:aws:s3:::{bucket}/AWSLogs/{org_id}/*",
                        ],
                        "Condition": {
                            "StringEquals": {
                                "s3:x-amz-acl": "bucket-owner-full-control",
                                **condition,
                            }
                        },
                    },
                ],
            }
        ),
    )
    cloudtrail = client("cloudtrail")
    cloudtrail.create_trail(
        Name=CONTROL_TOWER_TRAIL,
        S3BucketName=bucket,
        IsMultiRegionTrail=True,
        IsOrganizationTrail=True,
        EnableLogFileValidation=True,
    )
    cloudtrail.start_logging(Name=CONTROL_TOWER_TRAIL)
    return LandingZone(
        management_account=management,
        organization_id=org_id,
        members=created,
        trail_arn=trail_arn,
        bucket=bucket,
    )
