"""IAM in the sandbox: identity policies enforced on every call, and IAM's policy simulator.

moto keeps IAM users, groups, roles and policies, but lets every request through whoever
signs it, and has no ``SimulatePrincipalPolicy``. A classroom needs both: a trainee acting
as an IAM user with AWS's managed policy ``AWSCloudTrail_ReadOnlyAccess`` must be refused
``cloudtrail:CreateTrail`` as AWS refuses it, and the wizard's permission preflight
(:mod:`wizard.account.permissions`) must get the simulator's answer.

* :class:`IamGate`, a WSGI middleware in front of moto's app, finds who signed each
  request (the access key id of its SigV4 credential scope). A request signed with an access
  key of an IAM user of the sandbox is that user's: the user's identity policies (attached
  managed ones, AWS managed ones included, inline ones, and those of the user's groups) are
  evaluated for the request's IAM action and resource, and a request they do not allow is
  refused with the error code, HTTP status and message the service uses. Every other
  signature (the dummy credentials the sandbox itself and its seed use, assumed-role
  sessions, unsigned requests) acts as the account's administrator, as before.
* ``iam:SimulatePrincipalPolicy`` is answered here, in IAM's query XML (decisions per action
  and resource, matched statements with their positions, missing context keys, paging).
* :func:`install_iam_patches` makes AWS's managed policies for CloudTrail (and
  ``AdministratorAccess``, which the seeded :data:`ADMIN_USER` holds) exist under their AWS
  ARNs, with the documents moto ships (AWS's published versions), and makes
  ``GetCallerIdentity`` name that administrator for the dummy credentials instead of moto's
  placeholder ``arn:aws:sts::ACCOUNT:user/moto``.

The decisions use the wizard's own policy evaluator (:func:`wizard.policy.access.evaluate`
in identity-policy mode): ``Allow``/``Deny``, ``Action``/``NotAction``,
``Resource``/``NotResource`` with wildcards, conditions. Not modelled: service control
policies, session policies, and resource policies granting an IAM user access on their own
(an identity policy must allow the call).

moto is imported inside the functions that need it (see :mod:`wizard.sandbox.rules`).
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from wizard.policy.access import Decision, PolicyFormatError, Principal, Request, evaluate
from wizard.sandbox.delivery import read_request
from wizard.sandbox.identities import ADMIN_USER
from wizard.sandbox.rules import DUMMY_CREDENTIALS, partition_of

__all__ = [
    "ADMIN_POLICY_ARN",
    "ADMIN_USER",
    "SANDBOX_MANAGED_POLICIES",
    "IamGate",
    "SourcePolicy",
    "Verdict",
    "decide",
    "install_iam_patches",
    "managed_policy_arn",
    "policies_of",
    "request_actions",
    "simulate_principal_policy",
]

_LOG = logging.getLogger(__name__)

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
"""The AWS managed policy the administrator holds."""

SANDBOX_MANAGED_POLICIES = (
    "AdministratorAccess",
    "AWSCloudTrail_FullAccess",
    "AWSCloudTrail_ReadOnlyAccess",
)
"""AWS managed policies the sandbox's IAM knows, with the documents AWS publishes.

moto ships AWS's managed policies but loads none unless told to (all of them, a thousand
documents parsed for every account's IAM); these are the ones a CloudTrail course uses.
"""

IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
"""IAM's query API XML namespace."""

Effect = Literal["allowed", "explicitDeny", "implicitDeny"]


def managed_policy_arn(name_or_arn: str, partition: str = "aws") -> str:
    """The ARN of an AWS managed policy named ``name_or_arn`` (an ARN is returned as it is)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return f"arn:{partition}:iam::aws:policy/{name_or_arn}"


# --------------------------------------------------------------------------------------
# Patches: the managed policies, and GetCallerIdentity for the dummy credentials
# --------------------------------------------------------------------------------------

_PATCH_LOCK = threading.Lock()
_ORIGINALS: dict[tuple[Any, str], Any] = {}


@functools.cache
def _managed_policy_data() -> dict[str, dict[str, Any]]:
    """moto's copy of AWS's managed policies: :data:`SANDBOX_MANAGED_POLICIES`, parsed once."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # moto on first use

    everything = json.loads(aws_managed_policies_data)
    return {name: everything[name] for name in SANDBOX_MANAGED_POLICIES}


def install_iam_patches() -> None:
    """Install the managed policies and the administrator's identity (idempotent)."""
    with _PATCH_LOCK:
        if _ORIGINALS:
            return
        # moto on first use (see the module docstring)
        import moto.iam.models
        from moto.iam.models import IAMBackend
        from moto.sts.models import STSBackend

        patches: list[tuple[Any, str, Callable[[Any], Any]]] = [
            (IAMBackend, "_init_aws_policies", _wrap_init_aws_policies),
            (STSBackend, "get_caller_identity", _wrap_get_caller_identity),
            (moto.iam.models, "get_account_id_from", _wrap_get_account_id_from),
        ]
        for cls, name, make_wrapper in patches:
            original = cls.__dict__[name]
            wrapper = make_wrapper(original)
            functools.update_wrapper(wrapper, original)
            _ORIGINALS[(cls, name)] = original
            setattr(cls, name, wrapper)


def remove_iam_patches() -> None:
    """Restore moto's original methods (for tests that need plain moto)."""
    with _PATCH_LOCK:
        for (cls, name), original in _ORIGINALS.items():
            setattr(cls, name, original)
        _ORIGINALS.clear()


_KEY_ACCOUNTS: dict[str, str] = {}
"""The account each access key was last found in (checked again at every use)."""


def _holds(account: str, access_key: str) -> bool:
    """Whether moto's IAM backend of ``account`` has ``access_key`` (a user's or a role
    session's), in any partition."""
    from moto.iam.models import iam_backends  # moto on first use

    if account not in iam_backends:
        return False
    by_partition = iam_backends[account]
    return any(
        partition in by_partition and access_key in by_partition[partition].access_keys
        for partition in ("aws", "aws-cn", "aws-us-gov")
    )


def _wrap_get_account_id_from(original: Callable[[str], str]) -> Callable[[str], str]:
    """moto's ``get_account_id_from`` (the account an access key belongs to), remembered.

    moto tries every account in turn, for every request (and the sandbox's gate and
    CloudTrail recording ask again): with a thousand onboarded accounts that walk was most
    of the emulator's time. The account found is remembered and checked to still hold the
    key at each use, so a deleted key is looked for again (and answers as moto does).
    """

    def get_account_id_from(access_key: str) -> str:
        known = _KEY_ACCOUNTS.get(access_key)
        if known is not None and _holds(known, access_key):
            return known
        account = original(access_key)
        if _holds(account, access_key):
            _KEY_ACCOUNTS[access_key] = account
        return account

    return get_account_id_from


def _wrap_init_aws_policies(original: Callable[..., Any]) -> Callable[..., Any]:
    def init_aws_policies(self: Any) -> list[Any]:
        from moto.iam.models import AWSManagedPolicy  # moto on first use

        loaded = list(original(self))
        names = {policy.name for policy in loaded}
        for name, data in _managed_policy_data().items():
            if name not in names:
                loaded.append(
                    AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
                )
        return loaded

    return init_aws_policies


def _wrap_get_caller_identity(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_caller_identity(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
        user_id, arn, account = original(self, access_key_id, region)
        if str(arn).endswith(":user/moto") and ":sts::" in str(arn):
            # moto's placeholder for credentials that are no user's or role's: the dummy
            # credentials, which are the administrator of an account the sandbox seeded
            # (plain moto in the same process, and an unseeded sandbox, keep the placeholder).
            admin = admin_identity(str(account), partition_of(region))
            return admin if admin is not None else (user_id, arn, account)
        return user_id, arn, account

    return get_caller_identity


def admin_identity(account: str, partition: str) -> tuple[str, str, str] | None:
    """``(user_id, arn, account)`` of :data:`ADMIN_USER` in ``account``, if it was seeded."""
    from moto.iam.models import iam_backends  # moto on first use

    user = iam_backends[account][partition].users.get(ADMIN_USER)
    if user is None:
        return None
    return str(user.id), str(user.arn), account


# --------------------------------------------------------------------------------------
# Policies and decisions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourcePolicy:
    """One policy of a principal, as the simulator names it."""

    id: str
    """``SourcePolicyId``: the policy's name (a managed or inline policy)."""
    type: str
    """``SourcePolicyType``: ``user``, ``group``, ``role``, ``aws-managed``, ``user-managed``
    or ``none`` (a policy given in the request)."""
    document: str
    """The document as stored (positions are counted in this text)."""

    @functools.cached_property
    def statements(self) -> list[tuple[dict[str, Any], tuple[int, int], tuple[int, int]]]:
        """Each statement with its start and end ``(line, column)`` in :attr:`document`."""
        return _statements_with_positions(self.document)

    @functools.cached_property
    def version(self) -> str | None:
        """The document's ``Version``."""
        try:
            loaded = json.loads(self.document)
        except ValueError:
            return None
        return str(loaded.get("Version")) if isinstance(loaded, dict) else None


@dataclass
class Verdict:
    """The decision for one action on one resource."""

    decision: Effect
    matched: list[tuple[SourcePolicy, int]] = field(default_factory=list)
    """The statements that decided (policy, statement index)."""
    missing: list[str] = field(default_factory=list)
    """Condition keys of statements that would otherwise apply, absent from the context."""
    boundary_allowed: bool | None = None
    """Whether the permissions boundary allows it (None: no boundary)."""


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _skip(text: str, index: int, chars: str = " \t\r\n") -> int:
    while index < len(text) and text[index] in chars:
        index += 1
    return index


def _statements_with_positions(
    text: str,
) -> list[tuple[dict[str, Any], tuple[int, int], tuple[int, int]]]:
    """The statements of a policy document and where each starts and ends in its text."""
    decoder = json.JSONDecoder()
    try:
        loaded = json.loads(text)
    except ValueError:
        return []
    if not isinstance(loaded, dict) or "Statement" not in loaded:
        return []
    found: list[tuple[dict[str, Any], tuple[int, int], tuple[int, int]]] = []
    match = re.search(r'"Statement"\s*:\s*', text)
    if match is None:  # pragma: no cover - json.loads found it, so the text has it
        return []
    index = match.end()
    if text[index : index + 1] == "{":
        value, end = decoder.raw_decode(text, index)
        return [(value, _position(text, index), _position(text, end - 1))]
    index = _skip(text, index + 1)
    while index < len(text) and text[index] != "]":
        value, end = decoder.raw_decode(text, index)
        if isinstance(value, dict):
            found.append((value, _position(text, index), _position(text, end - 1)))
        index = _skip(text, end, " \t\r\n,")
    return found


def _document_text(document: Any) -> str:
    if isinstance(document, str):
        return document
    return json.dumps(document)


def _default_version(policy: Any) -> str:
    for version in policy.versions:
        if version.is_default:
            return _document_text(version.document)
    return _document_text(policy.versions[-1].document) if policy.versions else "{}"


def _managed(policy: Any) -> SourcePolicy:
    kind = "aws-managed" if ":iam::aws:policy/" in str(policy.arn) else "user-managed"
    return SourcePolicy(id=str(policy.name), type=kind, document=_default_version(policy))


def policies_of(
    backend: Any, kind: str, name: str
) -> tuple[list[SourcePolicy], SourcePolicy | None]:
    """The identity policies of a user, group or role of ``backend`` (moto's IAM), and its
    permissions boundary.

    Raises:
        KeyError: there is no such principal.
    """
    policies: list[SourcePolicy] = []
    boundary_arn: str | None = None
    if kind == "user":
        user = backend.users.get(name)
        if user is None:
            raise KeyError(name)
        policies += [_managed(p) for p in user.managed_policies.values()]
        policies += [SourcePolicy(n, "user", _document_text(d)) for n, d in user.policies.items()]
        for group in backend.get_groups_for_user(name):
            policies += _group_policies(group)
        boundary_arn = getattr(user, "permissions_boundary_arn", None)
    elif kind == "group":
        group = backend.groups.get(name)
        if group is None:
            raise KeyError(name)
        policies += _group_policies(group)
    elif kind == "role":
        role = backend.roles.get(name) or next(
            (r for r in backend.roles.values() if r.name == name), None
        )
        if role is None:
            raise KeyError(name)
        policies += [_managed(p) for p in role.managed_policies.values()]
        policies += [SourcePolicy(n, "role", _document_text(d)) for n, d in role.policies.items()]
        boundary_arn = getattr(role, "permissions_boundary_arn", None)
    else:
        raise KeyError(name)
    boundary = None
    if boundary_arn:
        found = backend.managed_policies.get(boundary_arn)
        boundary = _managed(found) if found is not None else None
    return policies, boundary


def _group_policies(group: Any) -> list[SourcePolicy]:
    managed = [_managed(p) for p in group.managed_policies.values()]
    inline = [SourcePolicy(n, "group", _document_text(d)) for n, d in group.policies.items()]
    return managed + inline


def _statement_outcome(
    policy: SourcePolicy, statement: dict[str, Any], request: Request
) -> tuple[Decision, list[str]]:
    """Whether one statement applies to ``request`` (its evaluator decision), and the
    condition keys it needs that the context lacks when only they keep it from applying."""
    document: dict[str, Any] = {"Statement": [statement]}
    if policy.version:
        document["Version"] = policy.version
    try:
        decision = evaluate(document, request, identity=True).decision
    except PolicyFormatError as error:
        _LOG.info("policy %s: %s", policy.id, error)
        return Decision.IMPLICIT_DENY, []
    missing: list[str] = []
    condition = statement.get("Condition")
    if decision in (Decision.IMPLICIT_DENY, Decision.UNDECIDED) and isinstance(condition, dict):
        bare = {k: v for k, v in statement.items() if k != "Condition"}
        document["Statement"] = [bare]
        try:
            unconditional = evaluate(document, request, identity=True).decision
        except PolicyFormatError:
            unconditional = Decision.IMPLICIT_DENY
        if unconditional in (Decision.ALLOW, Decision.EXPLICIT_DENY):
            present = {k.lower() for k in request.context}
            for operators in condition.values():
                if isinstance(operators, dict):
                    missing += [k for k in operators if k.lower() not in present]
    return decision, missing


def decide(
    policies: Sequence[SourcePolicy],
    boundary: SourcePolicy | None,
    principal_arn: str,
    action: str,
    resource: str,
    context: Mapping[str, Any],
) -> Verdict:
    """What IAM decides for ``action`` on ``resource`` by a principal with these identity
    policies (and permissions boundary): an explicit Deny wins, then an Allow (which the
    boundary must allow too), else an implicit deny. A statement the evaluator cannot decide
    counts as applying when it denies, and as not applying when it allows: never a silent
    grant."""
    request = Request(
        principal=Principal(kind="aws", id=principal_arn),
        action=action,
        resource=resource,
        context=dict(context),
    )
    allows: list[tuple[SourcePolicy, int]] = []
    denies: list[tuple[SourcePolicy, int]] = []
    missing: list[str] = []
    for policy in policies:
        for index, (statement, _, _) in enumerate(policy.statements):
            decision, lacking = _statement_outcome(policy, statement, request)
            missing += [k for k in lacking if k not in missing]
            denying = str(statement.get("Effect")) == "Deny"
            if decision is Decision.EXPLICIT_DENY or (decision is Decision.UNDECIDED and denying):
                denies.append((policy, index))
            elif decision is Decision.ALLOW:
                allows.append((policy, index))
    if denies:
        return Verdict("explicitDeny", denies, missing)
    boundary_allowed: bool | None = None
    if boundary is not None:
        inner = decide([boundary], None, principal_arn, action, resource, context)
        if inner.decision == "explicitDeny":
            return Verdict("explicitDeny", inner.matched, missing, boundary_allowed=False)
        boundary_allowed = inner.decision == "allowed"
    if allows and boundary_allowed is not False:
        return Verdict("allowed", allows, missing, boundary_allowed)
    return Verdict("implicitDeny", [], missing, boundary_allowed)


# --------------------------------------------------------------------------------------
# Which IAM action and resource a request is
# --------------------------------------------------------------------------------------

_PREFIXES = {"monitoring": "cloudwatch", "email": "ses"}
"""SigV4 signing names whose IAM prefix differs."""

_S3_ACTIONS = {
    "ListBuckets": "s3:ListAllMyBuckets",
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "DeleteBucketPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "GetBucketLifecycle": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycle": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "HeadObject": "s3:GetObject",
    "CopyObject": "s3:PutObject",
    "PostObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "ListParts": "s3:ListMultipartUploadParts",
    "DeleteObjects": "s3:DeleteObject",
}
"""S3 operations (CloudTrail event names) whose IAM action has another name."""

_ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})
"""Actions no policy can deny (AWS: GetCallerIdentity needs no permission)."""


@dataclass(frozen=True)
class Check:
    """One IAM authorization a request needs."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


def _param(params: Mapping[str, Any] | None, *names: str) -> str | None:
    for name in names:
        value = (params or {}).get(name)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, list) and value and isinstance(value[0], str):
            return value[0]
    return None


def _trail_arn(partition: str, region: str, account: str, name: str | None) -> str:
    if not name:
        return "*"
    if name.startswith("arn:"):
        return name
    return f"arn:{partition}:cloudtrail:{region}:{account}:trail/{name}"


def _kms_arns(partition: str, region: str, account: str, params: Mapping[str, Any]) -> list[str]:
    from moto.kms.models import kms_backends  # moto on first use

    refs = [r for r in (_param(params, "KeyId"), _param(params, "TargetKeyId")) if r]
    alias = _param(params, "AliasName")
    arns: list[str] = []
    if alias:
        arns.append(f"arn:{partition}:kms:{region}:{account}:{alias}")
    backend = kms_backends[account][region]
    for ref in refs:
        name = ref.split(":", 5)[5] if ref.startswith("arn:") else ref
        if name.startswith("alias/"):
            key_id = backend.get_key_id_from_alias(name)
            ref_region = ref.split(":")[3] if ref.startswith("arn:") else region
            arns.append(
                f"arn:{partition}:kms:{ref_region}:{account}:key/{key_id}"
                if key_id
                else f"arn:{partition}:kms:{ref_region}:{account}:{name}"
            )
        elif ref.startswith("arn:"):
            arns.append(ref)
        else:
            arns.append(f"arn:{partition}:kms:{region}:{account}:key/{name.removeprefix('key/')}")
    return arns or ["*"]


def _iam_resource(
    backend: Any, partition: str, account: str, params: Mapping[str, Any], caller: str
) -> str:
    role = _param(params, "RoleName")
    if role:
        found = backend.roles.get(role) or next(
            (r for r in backend.roles.values() if r.name == role), None
        )
        return (
            str(found.arn) if found is not None else f"arn:{partition}:iam::{account}:role/{role}"
        )
    user = _param(params, "UserName")
    if user:
        return f"arn:{partition}:iam::{account}:user/{user}"
    group = _param(params, "GroupName")
    if group:
        return f"arn:{partition}:iam::{account}:group/{group}"
    for name in ("PolicySourceArn", "PolicyArn", "RoleArn"):
        value = _param(params, name)
        if value:
            return value
    return "*"


def request_actions(request: Any, account: str, caller_arn: str) -> list[Check]:
    """The IAM authorizations a request (as :mod:`wizard.sandbox.delivery` reads it) needs.

    The action is the service's IAM prefix and the operation (S3's REST operations mapped to
    their IAM actions); the resource is the ARN the operation acts on where the request
    names one (a trail, a bucket or object, a key or alias, a role, a topic, a log group),
    else ``*``. ``CreateTrail`` and ``UpdateTrail`` with a CloudWatch Logs role also need
    ``iam:PassRole`` on it, passed to CloudTrail.
    """
    from moto.iam.models import iam_backends  # moto on first use

    service = str(request.service)
    region = str(request.region)
    partition = partition_of(region)
    operation = str(request.operation)
    params: Mapping[str, Any] = request.params or {}
    prefix = _PREFIXES.get(service, service)
    if service == "s3":
        action = _S3_ACTIONS.get(operation, f"s3:{operation}")
        bucket = request.bucket
        if operation == "ListBuckets" or not bucket:
            return [Check(action, "*")]
        key = request.object_key
        if operation == "DeleteObjects":
            return [Check(action, f"arn:{partition}:s3:::{bucket}/*")]
        resource = (
            f"arn:{partition}:s3:::{bucket}/{key}" if key else f"arn:{partition}:s3:::{bucket}"
        )
        return [Check(action, resource)]
    action = f"{prefix}:{operation}"
    if service == "cloudtrail":
        name = _param(params, "Name", "TrailName", "ResourceId", "ResourceIdList", "EventDataStore")
        listing = operation in ("DescribeTrails", "ListTrails", "LookupEvents")
        checks = [Check(action, "*" if listing else _trail_arn(partition, region, account, name))]
        role = _param(params, "CloudWatchLogsRoleArn")
        if operation in ("CreateTrail", "UpdateTrail") and role:
            checks.append(
                Check("iam:PassRole", role, {"iam:PassedToService": "cloudtrail.amazonaws.com"})
            )
        return checks
    if service == "kms":
        if operation in ("CreateKey", "ListKeys", "ListAliases", "GenerateRandom"):
            return [Check(action, "*")]
        return [Check(action, arn) for arn in _kms_arns(partition, region, account, params)]
    if service == "iam":
        backend = iam_backends[account][partition]
        if operation == "GetUser" and not _param(params, "UserName"):
            return [Check(action, caller_arn)]
        return [Check(action, _iam_resource(backend, partition, account, params, caller_arn))]
    if service == "sns":
        topic = _param(params, "TopicArn", "ResourceArn")
        if not topic and operation == "CreateTopic" and _param(params, "Name"):
            topic = f"arn:{partition}:sns:{region}:{account}:{_param(params, 'Name')}"
        return [Check(action, topic or "*")]
    if service == "logs":
        group = _param(params, "logGroupName")
        if group and not operation.startswith("Describe"):
            return [Check(action, f"arn:{partition}:logs:{region}:{account}:log-group:{group}")]
        return [Check(action, "*")]
    if service == "sts":
        role = _param(params, "RoleArn")
        return [Check(action, role or "*")]
    return [Check(action, "*")]


# --------------------------------------------------------------------------------------
# Errors in each protocol
# --------------------------------------------------------------------------------------


def _request_id() -> str:
    return str(uuid.uuid4())


def denial_message(user_arn: str, check: Check, verdict: Verdict, *, quoted: bool = False) -> str:
    """AWS's words for a refusal by identity policies."""
    resource = f'"{check.resource}"' if quoted and check.resource != "*" else check.resource
    head = f"User: {user_arn} is not authorized to perform: {check.action} on resource: {resource}"
    if verdict.decision == "explicitDeny":
        return f"{head} with an explicit deny in an identity-based policy"
    if verdict.boundary_allowed is False:
        return f"{head} because no permissions boundary allows the {check.action} action"
    return f"{head} because no identity-based policy allows the {check.action} action"


@dataclass(frozen=True)
class Response:
    """A WSGI response made here."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()

    def send(self, start_response: Any, method: str = "POST") -> list[bytes]:
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(
            self.status, "Error"
        )
        body = b"" if method == "HEAD" else self.body
        headers = [
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", _request_id()),
            *self.headers,
        ]
        start_response(f"{self.status} {reason}", headers)
        return [body]


def _query_error(code: str, message: str, status: int, namespace: str | None = None) -> Response:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    body = (
        f"<ErrorResponse{xmlns}><Error><Type>Sender</Type><Code>{html.escape(code)}</Code>"
        f"<Message>{html.escape(message)}</Message></Error>"
        f"<RequestId>{_request_id()}</RequestId></ErrorResponse>"
    )
    return Response(status, body.encode(), "text/xml")


def access_denied(service: str, protocol: str, message: str) -> Response:
    """The refusal as the service words it: code, HTTP status and body format."""
    if service == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            f"<Message>{html.escape(message)}</Message><RequestId>{_request_id()[:16]}</RequestId>"
            "<HostId>sandbox</HostId></Error>"
        )
        return Response(403, body.encode(), "application/xml")
    if protocol == "json" or protocol == "rest":
        body = json.dumps({"__type": "AccessDeniedException", "message": message})
        return Response(
            400,
            body.encode(),
            "application/x-amz-json-1.1",
            (("x-amzn-ErrorType", "AccessDeniedException"),),
        )
    if service == "ec2":
        body = (
            "<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
            f"<Message>You are not authorized to perform this operation. {html.escape(message)}"
            f"</Message></Error></Errors><RequestID>{_request_id()}</RequestID></Response>"
        )
        return Response(403, body.encode(), "text/xml")
    if service == "sns":
        return _query_error("AuthorizationError", message, 403)
    namespace = IAM_NAMESPACE if service == "iam" else None
    return _query_error("AccessDenied", message, 403, namespace)


# --------------------------------------------------------------------------------------
# SimulatePrincipalPolicy
# --------------------------------------------------------------------------------------


class IamError(Exception):
    """An IAM error answer (query XML)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.response = _query_error(code, message, status, IAM_NAMESPACE)


_PRINCIPAL_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):(?P<kind>user|group|role)/(?:.*/)?(?P<name>[^/]+)"
)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _context(entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        name = str(entry.get("ContextKeyName") or "")
        values = [str(v) for v in _as_list(entry.get("ContextKeyValues"))]
        kind = str(entry.get("ContextKeyType") or "string").lower()
        if not name:
            continue
        if kind.startswith("boolean"):
            parsed: Any = [v.lower() == "true" for v in values]
        else:
            parsed = values
        if kind.endswith("list"):
            context[name] = [str(v) for v in values]
        else:
            context[name] = parsed[0] if len(parsed) == 1 else parsed
    return context


def simulate_principal_policy(params: Mapping[str, Any]) -> bytes:
    """IAM's ``SimulatePrincipalPolicy`` answer for the query parameters ``params``.

    Raises:
        IamError: the answer is an error (an invalid or unknown ``PolicySourceArn``, bad
            paging parameters), as IAM gives it.
    """
    from moto.iam.models import iam_backends  # moto on first use

    source = str(params.get("PolicySourceArn") or "")
    actions = [str(a) for a in _as_list(params.get("ActionNames"))]
    if not source:
        raise IamError(
            "ValidationError",
            "1 validation error detected: Value null at 'policySourceArn' failed to satisfy "
            "constraint: Member must not be null",
        )
    if not actions:
        raise IamError(
            "ValidationError",
            "1 validation error detected: Value null at 'actionNames' failed to satisfy "
            "constraint: Member must not be null",
        )
    match = _PRINCIPAL_ARN.fullmatch(source)
    if match is None:
        raise IamError(
            "InvalidInput",
            f"Invalid ARN {source}: PolicySourceArn must be the ARN of an IAM user, group or role.",
        )
    kind, name = match["kind"], match["name"]
    backend = iam_backends[match["account"]][match["partition"]]
    try:
        policies, boundary = policies_of(backend, kind, name)
    except KeyError:
        raise IamError(
            "NoSuchEntity", f"The {kind} with name {name} cannot be found.", 404
        ) from None
    for index, text in enumerate(_as_list(params.get("PolicyInputList")), start=1):
        policies.append(SourcePolicy(f"PolicyInputList.{index}", "none", str(text)))
    for index, text in enumerate(
        _as_list(params.get("PermissionsBoundaryPolicyInputList")), start=1
    ):
        boundary = SourcePolicy(f"PermissionsBoundaryPolicyInputList.{index}", "none", str(text))
    resources = [str(r) for r in _as_list(params.get("ResourceArns"))] or ["*"]
    context = _context(_as_list(params.get("ContextEntries")))
    pairs = [(a, r) for a in actions for r in resources]
    try:
        start = int(str(params.get("Marker") or "0"))
        size = int(str(params.get("MaxItems") or "100"))
    except ValueError:
        raise IamError(
            "ValidationError", "Marker and MaxItems must be numbers this API gave."
        ) from None
    if not 1 <= size <= 1000 or not 0 <= start <= len(pairs):
        raise IamError(
            "ValidationError", "MaxItems must be between 1 and 1000, and Marker one this API gave."
        )
    page = pairs[start : start + size]
    members = [
        _result_xml(a, r, decide(policies, boundary, source, a, r, context)) for a, r in page
    ]
    truncated = start + size < len(pairs)
    marker = f"<Marker>{start + size}</Marker>" if truncated else ""
    return (
        f'<SimulatePrincipalPolicyResponse xmlns="{IAM_NAMESPACE}">'
        "<SimulatePrincipalPolicyResult>"
        f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
        f"<EvaluationResults>{''.join(members)}</EvaluationResults>{marker}"
        "</SimulatePrincipalPolicyResult>"
        f"<ResponseMetadata><RequestId>{_request_id()}</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    ).encode()


def _result_xml(action: str, resource: str, verdict: Verdict) -> str:
    matched = []
    for policy, index in verdict.matched:
        _, (start_line, start_col), (end_line, end_col) = policy.statements[index]
        matched.append(
            "<member>"
            f"<SourcePolicyId>{html.escape(policy.id)}</SourcePolicyId>"
            f"<SourcePolicyType>{html.escape(policy.type)}</SourcePolicyType>"
            f"<StartPosition><Line>{start_line}</Line><Column>{start_col}</Column></StartPosition>"
            f"<EndPosition><Line>{end_line}</Line><Column>{end_col}</Column></EndPosition>"
            "</member>"
        )
    missing = "".join(f"<member>{html.escape(k)}</member>" for k in verdict.missing)
    boundary = (
        "<PermissionsBoundaryDecisionDetail><AllowedByPermissionsBoundary>"
        f"{'true' if verdict.boundary_allowed else 'false'}"
        "</AllowedByPermissionsBoundary></PermissionsBoundaryDecisionDetail>"
        if verdict.boundary_allowed is not None
        else ""
    )
    return (
        "<member>"
        f"<EvalActionName>{html.escape(action)}</EvalActionName>"
        f"<EvalResourceName>{html.escape(resource)}</EvalResourceName>"
        f"<EvalDecision>{verdict.decision}</EvalDecision>"
        f"<MatchedStatements>{''.join(matched)}</MatchedStatements>"
        f"<MissingContextValues>{missing}</MissingContextValues>"
        f"{boundary}"
        "</member>"
    )


# --------------------------------------------------------------------------------------
# The gate
# --------------------------------------------------------------------------------------


def _caller(access_key: str | None) -> tuple[str, str, Any] | None:
    """``(account, user ARN, moto's IAM backend)`` when ``access_key`` is an IAM user's."""
    if not access_key or access_key == DUMMY_CREDENTIALS.access_key_id:
        return None
    # moto on first use (see the module docstring)
    import moto.iam.models
    from moto.iam.models import iam_backends

    # Only the key's own account can have a user with it: the account moto finds for it
    # (remembered, see _wrap_get_account_id_from), not every account in turn. A role
    # session's key (ASIA...) belongs to no user.
    account = moto.iam.models.get_account_id_from(access_key)
    if access_key.startswith("ASIA") or account not in iam_backends:
        return None
    by_partition = iam_backends[account]
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        if partition not in by_partition:
            continue
        backend = by_partition[partition]
        user = backend.get_user_from_access_key_id(access_key)
        if user is not None:
            return str(account), str(user.arn), backend
    return None


def _no_such_bucket(request: Any) -> bool:
    """An S3 request on a bucket that does not exist (other than creating it)."""
    from moto.s3.models import s3_backends  # moto on first use

    bucket = request.bucket
    if not bucket or request.operation == "CreateBucket":
        return False
    return bucket not in s3_backends.bucket_accounts


class IamGate:
    """WSGI middleware: enforces IAM users' identity policies and answers the simulator.

    Placed between the recorder (:class:`wizard.sandbox.delivery.RecordingMiddleware`) and
    moto's app, so a refused call is recorded with its error code, as CloudTrail records
    AWS's refusals.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        try:
            answer = self._answer(environ)
        except Exception:  # the gate must never break the emulator: let moto answer
            _LOG.warning("IAM gate failed on %s", path, exc_info=True)
            answer = None
        if answer is not None:
            return answer.send(start_response, str(environ.get("REQUEST_METHOD", "POST")))
        return self.app(environ, start_response)

    def _answer(self, environ: dict[str, Any]) -> Response | None:
        request = read_request(environ)
        caller = _caller(request.access_key)
        if caller is not None:
            account, user_arn, backend = caller
            refusal = self._refusal(request, account, user_arn, backend)
            if refusal is not None:
                return refusal
        if request.service == "iam" and request.operation == "SimulatePrincipalPolicy":
            try:
                return Response(200, simulate_principal_policy(request.params or {}), "text/xml")
            except IamError as error:
                return error.response
        return None

    @staticmethod
    def _refusal(request: Any, account: str, user_arn: str, backend: Any) -> Response | None:
        name = user_arn.rsplit("/", 1)[-1]
        policies, boundary = policies_of(backend, "user", name)
        user = backend.users.get(name)
        now = datetime.now(UTC)
        context: dict[str, Any] = {
            "aws:username": name,
            "aws:userid": str(user.id) if user is not None else name,
            "aws:PrincipalArn": user_arn,
            "aws:PrincipalAccount": account,
            "aws:PrincipalType": "User",
            "aws:SourceIp": request.source_ip,
            "aws:SecureTransport": False,
            "aws:RequestedRegion": request.region,
            "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now.timestamp())),
        }
        if request.service == "s3" and _no_such_bucket(request):
            # S3 answers NoSuchBucket (404) before it authorizes: whether a bucket exists
            # is no secret, and the wizard's discovery tells "free" from "taken" by it.
            return None
        for check in request_actions(request, account, user_arn):
            if check.action in _ALWAYS_ALLOWED:
                continue
            verdict = decide(
                policies,
                boundary,
                user_arn,
                check.action,
                check.resource,
                {**context, **check.context},
            )
            if verdict.decision != "allowed":
                message = denial_message(user_arn, check, verdict, quoted=request.service == "s3")
                _LOG.info("refused: %s", message)
                return access_denied(request.service, request.protocol, message)
        return None
