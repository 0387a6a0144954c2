"""Service-managed StackSets in the sandbox, as AWS behaves for what the wizard does with them.

moto 5.2.5 implements StackSets only partly: no ``AutoDeployment``, no ``CallAs``, no trusted
access, no ``DeploymentTargets`` on deletion, operations that always "succeed", per-account
results with a hard-coded status, and member stacks that create nothing. This module takes
over the StackSet actions of moto's CloudFormation responses for service-managed StackSets
(a self-managed one is still moto's), and keeps their state on moto's CloudFormation backend
of the management account, so a reset forgets it and the shared sandbox saves it.

What it does, as AWS does:

* **Who may.** ``CallAs SELF`` from the organization's management account, ``CallAs
  DELEGATED_ADMIN`` from an account registered as a delegated administrator for
  ``member.org.stacksets.cloudformation.amazonaws.com``; anyone else gets a ValidationError.
  Service-managed StackSets need trusted access (``ActivateOrganizationsAccess``, or
  ``EnableAWSServiceAccess`` for that principal); ``DescribeOrganizationsAccess`` says whether
  it is on. StackSets are stored in the management account, also when a delegated
  administrator creates them. A delegated administrator (of any service) may read the
  organization (``List*``/``Describe*`` of Organizations), as in AWS.
* **Targets.** ``DeploymentTargets.OrganizationalUnitIds`` resolve to the active accounts of
  those OUs and of every OU below them (the root: every account), never the management
  account. With ``AutoDeployment`` enabled, an account that joins a target OU later
  (``MoveAccount`` into it or below it; ``CreateAccount`` when the root is a target) gets a
  stack instance in each region the StackSet targets that OU with, and an account that leaves
  (moved elsewhere, removed from the organization, closed) loses its instance: its stack's
  resources are deleted unless ``RetainStacksOnAccountRemoval`` (then the stack stays, outside
  the StackSet), as AWS does. Each automatic deployment is an operation of its own
  (``CREATE`` or ``DELETE``), run before the Organizations call returns.
* **Operations.** Each runs to its end before the call returns, account by account and region
  by region. A stack instance is deployed for real: the template's resources are created in the
  member account with its own API calls (so the strict rules judge them, and a trail appears
  there). A failed resource rolls its stack back and fails the instance, with the error as
  the reason; more failures than ``FailureTolerance*`` allows stop the operation (FAILED, the
  rest CANCELLED). ``DescribeStackSetOperation`` and ``ListStackSetOperationResults`` report
  it per account. A StackSet with instances cannot be deleted (StackSetNotEmptyException);
  ``DeleteStackInstances`` removes the stacks' resources, except those with ``DeletionPolicy:
  Retain`` (as CloudFormation keeps them), unless ``RetainStacks``.

The templates deployed are the wizard's member templates: the resource types they use (trail,
log group, role and its policy, topic and its policy, key and alias), intrinsic functions
``Ref``, ``Sub``, ``GetAtt``, ``If``/``Equals``/``Not``, resources created in the order the
template lists them. Any other type fails the instance with a clear reason.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from wizard.sandbox.rules import DUMMY_CREDENTIALS

__all__ = ["STACKSETS_PRINCIPAL", "install_stackset_patches"]

STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
"""The service principal of trusted access (and delegated administration) for StackSets."""

_LOCK = threading.RLock()
_INSTALLED: list[tuple[Any, str, Any]] = []


# --------------------------------------------------------------------------- state


@dataclass
class Deployed:
    """One resource of a stack instance."""

    logical_id: str
    kind: str
    physical_id: str
    attributes: dict[str, str]
    properties: Any
    retain: bool


@dataclass
class Instance:
    """One stack instance: an account and region, reached through an OU."""

    account: str
    region: str
    ou: str
    stack_id: str
    status: str = "CURRENT"
    detailed: str = "SUCCEEDED"
    reason: str = ""
    operation: str = ""
    resources: list[Deployed] = field(default_factory=list)


@dataclass
class Operation:
    """One StackSet operation and its per-account results."""

    operation_id: str
    action: str
    status: str
    created: datetime
    ended: datetime | None
    preferences: dict[str, Any]
    targets: dict[str, Any]
    retain_stacks: bool | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""


@dataclass
class StackSet:
    """A service-managed StackSet, in the management account."""

    name: str
    stack_set_id: str
    arn: str
    region: str
    template: str
    description: str
    parameters: dict[str, str]
    capabilities: list[str]
    tags: list[dict[str, str]]
    auto_deployment: dict[str, Any]
    status: str = "ACTIVE"
    instances: dict[tuple[str, str], Instance] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    ous: list[str] = field(default_factory=list)
    targets: dict[str, list[str]] = field(default_factory=dict)
    """The regions each target OU was given (CreateStackInstances), for automatic deployment:
    an account joining the OU gets an instance in each of them."""


class _Error(Exception):
    """An AWS error (converted to moto's ServiceException where the response is made)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _store(management: str, region: str) -> dict[str, StackSet]:
    # moto on first use: the sandbox's modules import without it (see wizard.sandbox.server)
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[management][region]
    stored: dict[str, StackSet] | None = getattr(backend, "wizard_stack_sets", None)
    if stored is None:
        stored = {}
        setattr(backend, "wizard_stack_sets", stored)  # noqa: B010 - moto has no such field
    return stored


# --------------------------------------------------------------------------- organization


@dataclass(frozen=True)
class _Caller:
    account: str
    management: str
    partition: str
    organizations: Any
    """moto's Organizations backend of the management account."""


def _organization(account: str, partition: str) -> tuple[str, Any] | None:
    """(management account, its Organizations backend), or None outside an organization."""
    # moto on first use: the sandbox's modules import without it (see wizard.sandbox.server)
    from moto.organizations.models import organizations_backends

    own = organizations_backends[account][partition]
    if own.org is not None:
        return account, own
    master = organizations_backends.master_accounts.get(account)
    if master is None:
        return None
    return master[0], organizations_backends[master[0]][master[1]]


def _delegated(backend: Any, account: str, service: str | None = STACKSETS_PRINCIPAL) -> bool:
    return any(
        admin.account.id == account and (service is None or service in admin.services)
        for admin in backend.admins
    )


def _trusted(backend: Any) -> bool:
    return any(s.get("ServicePrincipal") == STACKSETS_PRINCIPAL for s in backend.services)


def _caller(account: str, partition: str, call_as: str | None) -> _Caller:
    """Who calls, checked as AWS checks a service-managed StackSet call."""
    found = _organization(account, partition)
    if found is None:
        raise _Error(
            "ValidationError",
            f"Account {account} is not in an organization: service-managed StackSets need "
            "AWS Organizations.",
        )
    management, backend = found
    caller = _Caller(account, management, partition, backend)
    if (call_as or "SELF") == "SELF":
        if account != management:
            raise _Error(
                "ValidationError",
                f"Account {account} is not the management account of the organization; "
                "service-managed StackSets are created and managed from the management "
                "account, or from a delegated administrator with CallAs DELEGATED_ADMIN.",
            )
        return caller
    if account == management or not _delegated(backend, account):
        raise _Error(
            "ValidationError",
            f"Account {account} is not registered as a delegated administrator for "
            f"{STACKSETS_PRINCIPAL}.",
        )
    return caller


def _require_trusted(caller: _Caller) -> None:
    if not _trusted(caller.organizations):
        raise _Error(
            "ValidationError",
            "You must enable organizations access to operate a service managed stack set",
        )


def _children(backend: Any, ou: str) -> Iterator[str]:
    yield ou
    for child in backend.ou:
        if getattr(child, "parent_id", None) == ou:
            yield from _children(backend, child.id)


def _accounts_of(caller: _Caller, ou: str) -> list[str]:
    """The active accounts of ``ou`` and the OUs below it (never the management account)."""
    backend = caller.organizations
    if not any(unit.id == ou for unit in backend.ou):
        raise _Error(
            "ValidationError",
            f"Organizational unit {ou} does not exist in organization {backend.org.id}.",
        )
    units = set(_children(backend, ou))
    return sorted(
        a.id
        for a in backend.accounts
        if getattr(a, "parent_id", None) in units
        and a.status == "ACTIVE"
        and a.id != caller.management
    )


# --------------------------------------------------------------------------- templates


class _Tagged(yaml.SafeLoader):
    """Reads CloudFormation's short tags into ``{"Fn": [tag, value]}`` markers."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    return {"Fn::" + suffix: value}


_Tagged.add_multi_constructor("!", _tag)
_NO_VALUE = object()


class _Resolver:
    """Resolves a template's values for one account and region."""

    def __init__(
        self, template: dict[str, Any], parameters: Mapping[str, str], account: str, region: str
    ) -> None:
        # moto on first use: the sandbox's modules import without it (see wizard.sandbox.server)
        from moto.utilities.utils import get_partition

        self.values: dict[str, Any] = {
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": get_partition(region),
            "AWS::NoValue": _NO_VALUE,
        }
        for name, body in (template.get("Parameters") or {}).items():
            if name in parameters:
                self.values[name] = parameters[name]
            elif "Default" in body:
                self.values[name] = str(body["Default"])
            else:
                raise _Error("ValidationError", f"Parameters: [{name}] must have values")
        self.conditions = {
            name: bool(self.resolve(body))
            for name, body in (template.get("Conditions") or {}).items()
        }
        self.attributes: dict[str, str] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key in ("Ref", "Fn::Ref"):
                return self.values[arg]
            if key == "Fn::GetAtt":
                path = arg if isinstance(arg, str) else ".".join(arg)
                return self.attributes[path]
            if key == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m[1]), arg)
            if key == "Fn::If":
                condition, when_true, when_false = arg
                return self.resolve(when_true if self.conditions[condition] else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in arg)
                return left == right
            if key == "Fn::Not":
                return not self.resolve(arg[0])
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _sub(self, name: str) -> str:
        if name in self.attributes:
            return self.attributes[name]
        return str(self.values[name])


# --------------------------------------------------------------------------- resources


@functools.cache
def _session() -> Any:
    # boto3 on first use, like moto: only a deployment needs a client
    import boto3
    import botocore.session

    no_profile = {"profile": (None, None, None, None)}
    return boto3.session.Session(
        botocore_session=botocore.session.Session(session_vars=no_profile),
        region_name="us-east-1",
        aws_access_key_id=DUMMY_CREDENTIALS.access_key_id,
        aws_secret_access_key=DUMMY_CREDENTIALS.secret_access_key,
    )


@functools.lru_cache(maxsize=256)
def _client(endpoint: str, service: str, region: str, account: str) -> Any:
    """A client acting in ``account`` (CloudFormation's execution role in the member)."""
    # boto3 on first use, like moto: only a deployment needs a client
    import botocore.config

    config = botocore.config.Config(
        retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}
    )
    with _LOCK:
        factory: Any = _session().client
        client = factory(service, region_name=region, endpoint_url=endpoint, config=config)

    def in_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign", in_account)
    return client


def _tags(props: Mapping[str, Any], key: str = "Key", value: str = "Value") -> list[Any]:
    return [{key: t["Key"], value: t["Value"]} for t in props.get("Tags") or []]


class _Stack:
    """Creates, updates and deletes one instance's resources with the member's API calls."""

    def __init__(self, endpoint: str, account: str, region: str) -> None:
        self.endpoint, self.account, self.region = endpoint, account, region
        # moto on first use: the sandbox's modules import without it (see wizard.sandbox.server)
        from moto.utilities.utils import get_partition

        self.partition = get_partition(region)

    def client(self, service: str) -> Any:
        return _client(self.endpoint, service, self.region, self.account)

    def ensure(
        self, kind: str, props: dict[str, Any], old: Deployed | None
    ) -> tuple[str, dict[str, str]]:
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise _Error(
                "ValidationError", f"Resource type {kind} is not supported by the sandbox."
            )
        return handler(self, props, old)

    def delete(self, resource: Deployed) -> None:
        deleter = _DELETERS.get(resource.kind)
        if deleter is not None:
            deleter(self, resource)


def _key(stack: _Stack, props: dict[str, Any], old: Deployed | None) -> tuple[str, dict[str, str]]:
    kms = stack.client("kms")
    policy = json.dumps(props["KeyPolicy"])
    if old is None:
        meta = kms.create_key(
            Description=props.get("Description", ""),
            KeySpec=props.get("KeySpec", "SYMMETRIC_DEFAULT"),
            KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
            Policy=policy,
            Tags=_tags(props, "TagKey", "TagValue"),
        )["KeyMetadata"]
        key_id, arn = meta["KeyId"], meta["Arn"]
    else:
        key_id, arn = old.physical_id, old.attributes["Arn"]
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=key_id)
    return key_id, {"Arn": arn, "KeyId": key_id}


def _alias(
    stack: _Stack, props: dict[str, Any], old: Deployed | None
) -> tuple[str, dict[str, str]]:
    kms = stack.client("kms")
    name, target = props["AliasName"], props["TargetKeyId"]
    if old is None:
        kms.create_alias(AliasName=name, TargetKeyId=target)
    else:
        kms.update_alias(AliasName=name, TargetKeyId=target)
    return name, {}


def _topic(
    stack: _Stack, props: dict[str, Any], old: Deployed | None
) -> tuple[str, dict[str, str]]:
    sns = stack.client("sns")
    attributes = {"KmsMasterKeyId": props["KmsMasterKeyId"]} if props.get("KmsMasterKeyId") else {}
    if old is None:
        arn = sns.create_topic(Name=props["TopicName"], Attributes=attributes, Tags=_tags(props))[
            "TopicArn"
        ]
    else:
        arn = old.physical_id
        for name, value in attributes.items():
            sns.set_topic_attributes(TopicArn=arn, AttributeName=name, AttributeValue=value)
    return arn, {"TopicName": arn.rsplit(":", 1)[1], "TopicArn": arn}


def _topic_policy(
    stack: _Stack, props: dict[str, Any], old: Deployed | None
) -> tuple[str, dict[str, str]]:
    sns = stack.client("sns")
    for arn in props["Topics"]:
        sns.set_topic_attributes(
            TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(props["PolicyDocument"])
        )
    return ",".join(props["Topics"]), {}


def _log_group(
    stack: _Stack, props: dict[str, Any], old: Deployed | None
) -> tuple[str, dict[str, str]]:
    logs = stack.client("logs")
    name = props["LogGroupName"]
    if old is None:
        extra: dict[str, Any] = {"kmsKeyId": props["KmsKeyId"]} if props.get("KmsKeyId") else {}
        tags = {t["Key"]: t["Value"] for t in props.get("Tags") or []}
        logs.create_log_group(logGroupName=name, **extra, **({"tags": tags} if tags else {}))
    if props.get("RetentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    arn = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{name}:*"
    return name, {"Arn": arn}


def _role(stack: _Stack, props: dict[str, Any], old: Deployed | None) -> tuple[str, dict[str, str]]:
    iam = stack.client("iam")
    name = props["RoleName"]
    trust = json.dumps(props["AssumeRolePolicyDocument"])
    if old is None:
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=trust,
            Description=props.get("Description", ""),
            Tags=_tags(props),
        )["Role"]["Arn"]
    else:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        arn = old.attributes["Arn"]
    return name, {"Arn": arn}


def _role_policy(
    stack: _Stack, props: dict[str, Any], old: Deployed | None
) -> tuple[str, dict[str, str]]:
    stack.client("iam").put_role_policy(
        RoleName=props["RoleName"],
        PolicyName=props["PolicyName"],
        PolicyDocument=json.dumps(props["PolicyDocument"]),
    )
    return f"{props['RoleName']}|{props['PolicyName']}", {}


_TRAIL_SETTINGS = (
    "S3BucketName",
    "S3KeyPrefix",
    "SnsTopicName",
    "IncludeGlobalServiceEvents",
    "IsMultiRegionTrail",
    "EnableLogFileValidation",
    "CloudWatchLogsLogGroupArn",
    "CloudWatchLogsRoleArn",
    "IsOrganizationTrail",
)


def _trail(
    stack: _Stack, props: dict[str, Any], old: Deployed | None
) -> tuple[str, dict[str, str]]:
    cloudtrail = stack.client("cloudtrail")
    name = props["TrailName"]
    settings = {k: props[k] for k in _TRAIL_SETTINGS if k in props}
    if "KMSKeyId" in props:
        settings["KmsKeyId"] = props["KMSKeyId"]
    if old is None:
        arn = cloudtrail.create_trail(Name=name, TagsList=_tags(props), **settings)["TrailARN"]
    else:
        arn = cloudtrail.update_trail(Name=name, **settings)["TrailARN"]
    if props.get("AdvancedEventSelectors"):
        cloudtrail.put_event_selectors(
            TrailName=name, AdvancedEventSelectors=props["AdvancedEventSelectors"]
        )
    if props.get("InsightSelectors"):
        cloudtrail.put_insight_selectors(TrailName=name, InsightSelectors=props["InsightSelectors"])
    if props.get("IsLogging", True):
        cloudtrail.start_logging(Name=name)
    return name, {"Arn": arn}


_HANDLERS: dict[
    str, Callable[[_Stack, dict[str, Any], Deployed | None], tuple[str, dict[str, str]]]
] = {
    "AWS::KMS::Key": _key,
    "AWS::KMS::Alias": _alias,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::IAM::Role": _role,
    "AWS::IAM::RolePolicy": _role_policy,
    "AWS::CloudTrail::Trail": _trail,
}

_DELETERS: dict[str, Callable[[_Stack, Deployed], None]] = {
    "AWS::KMS::Key": lambda s, r: s.client("kms").schedule_key_deletion(
        KeyId=r.physical_id, PendingWindowInDays=7
    ),
    "AWS::KMS::Alias": lambda s, r: s.client("kms").delete_alias(AliasName=r.physical_id),
    "AWS::SNS::Topic": lambda s, r: s.client("sns").delete_topic(TopicArn=r.physical_id),
    "AWS::Logs::LogGroup": lambda s, r: s.client("logs").delete_log_group(
        logGroupName=r.physical_id
    ),
    "AWS::IAM::Role": lambda s, r: s.client("iam").delete_role(RoleName=r.physical_id),
    "AWS::IAM::RolePolicy": lambda s, r: s.client("iam").delete_role_policy(
        RoleName=r.physical_id.split("|")[0], PolicyName=r.physical_id.split("|")[1]
    ),
    "AWS::CloudTrail::Trail": lambda s, r: s.client("cloudtrail").delete_trail(Name=r.physical_id),
}


def _error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    if isinstance(exc, _Error):
        return f"{exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _deploy(stack_set: StackSet, instance: Instance, endpoint: str) -> None:
    """Create (or update) the instance's resources; on failure undo what this deploy made."""
    loader = _Tagged(stack_set.template)  # a SafeLoader: plain data only, whatever the tags
    try:
        template = loader.get_single_data()
    finally:
        loader.dispose()
    resolver = _Resolver(template, stack_set.parameters, instance.account, instance.region)
    stack = _Stack(endpoint, instance.account, instance.region)
    before = {r.logical_id: r for r in instance.resources}
    made: list[Deployed] = []
    kept: list[Deployed] = []
    for logical_id, body in (template.get("Resources") or {}).items():
        kind = body["Type"]
        old = before.get(logical_id)
        try:
            props = resolver.resolve(body.get("Properties") or {})
            if old is not None and old.kind == kind and old.properties == props:
                physical, attributes = old.physical_id, old.attributes
            else:
                physical, attributes = stack.ensure(
                    kind, props, old if old and old.kind == kind else None
                )
        except Exception as exc:  # any failure fails the stack, as CloudFormation's would
            for resource in reversed(made):
                if not resource.retain:
                    # A rollback goes on with the other resources whatever one of them says.
                    with contextlib.suppress(Exception):
                        stack.delete(resource)
            raise _Error("ResourceFailed", f"{logical_id}: {_error_text(exc)}") from None
        resolver.values[logical_id] = physical
        for attribute, value in attributes.items():
            resolver.attributes[f"{logical_id}.{attribute}"] = value
        deployed = Deployed(
            logical_id, kind, physical, attributes, props, body.get("DeletionPolicy") == "Retain"
        )
        (kept if old is not None else made).append(deployed)
    current = {r.logical_id for r in made + kept}
    for gone in reversed(instance.resources):
        if gone.logical_id not in current and not gone.retain:
            stack.delete(gone)
    instance.resources = [*kept, *made]


def _undeploy(instance: Instance, endpoint: str) -> None:
    stack = _Stack(endpoint, instance.account, instance.region)
    for resource in reversed(instance.resources):
        if resource.retain:
            continue
        try:
            stack.delete(resource)
        except Exception as exc:
            if "NotFound" not in _error_text(exc) and "NoSuchEntity" not in _error_text(exc):
                raise
    instance.resources = []


# --------------------------------------------------------------------------- operations


def _tolerance(preferences: Mapping[str, Any], total: int) -> int:
    if preferences.get("FailureToleranceCount") is not None:
        return int(preferences["FailureToleranceCount"])
    percent = int(preferences.get("FailureTolerancePercentage") or 0)
    return total * percent // 100


def _run(
    stack_set: StackSet,
    action: str,
    work: list[tuple[str, str, str]],
    step: Callable[[str, str, str], None],
    preferences: dict[str, Any],
    targets: dict[str, Any],
    retain: bool | None = None,
) -> Operation:
    """Run ``step(account, region, ou)`` for every target, as one operation."""
    operation = Operation(
        operation_id=str(uuid.uuid4()),
        action=action,
        status="RUNNING",
        created=datetime.now(UTC),
        ended=None,
        preferences=preferences,
        targets=targets,
        retain_stacks=retain,
    )
    stack_set.operations[operation.operation_id] = operation
    by_region: dict[str, list[tuple[str, str, str]]] = {}
    for account, region, ou in work:
        by_region.setdefault(region, []).append((account, region, ou))
    stopped = False
    for region, items in by_region.items():
        allowed = _tolerance(preferences, len(items))
        failures = 0
        for account, _region, ou in items:
            result: dict[str, Any] = {
                "Account": account,
                "Region": region,
                "OrganizationalUnitId": ou,
                "AccountGateResult": {
                    "Status": "SKIPPED",
                    "StatusReason": "No account gate function is configured.",
                },
            }
            if stopped:
                result.update(
                    Status="CANCELLED",
                    StatusReason="Cancelled since failure tolerance has exceeded",
                )
                operation.results.append(result)
                continue
            try:
                step(account, region, ou)
            except _Error as exc:
                failures += 1
                result.update(Status="FAILED", StatusReason=exc.message)
                if failures > allowed:
                    stopped = True
            else:
                result.update(Status="SUCCEEDED")
            operation.results.append(result)
    failed = sum(1 for r in operation.results if r["Status"] == "FAILED")
    operation.status = "FAILED" if stopped else "SUCCEEDED"
    if stopped:
        operation.reason = f"{failed} stack instance(s) failed: the failure tolerance was exceeded."
    operation.ended = datetime.now(UTC)
    return operation


# --------------------------------------------------------------------------- the actions


def _params(response: Any) -> dict[str, Any]:
    params: dict[str, Any] = response._get_params()
    return params


def _endpoint(response: Any) -> str:
    return f"http://{response.headers.get('Host')}"


def _find(caller: _Caller, region: str, name: str) -> StackSet:
    stack_set = _store(caller.management, region).get(name)
    if stack_set is None or stack_set.status == "DELETED":
        raise _Error("StackSetNotFoundException", f"StackSet {name} not found")
    return stack_set


def _busy(stack_set: StackSet) -> None:
    if any(o.status == "RUNNING" for o in stack_set.operations.values()):
        raise _Error(
            "OperationInProgressException",
            f"Another Operation on StackSet {stack_set.stack_set_id} is in progress",
        )


def create_stack_set(response: Any) -> dict[str, Any]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    _require_trusted(caller)
    name = p["StackSetName"]
    store = _store(caller.management, response.region)
    existing = store.get(name)
    if existing is not None and existing.status != "DELETED":
        raise _Error("NameAlreadyExistsException", f"StackSet {name} already exists")
    if not p.get("TemplateBody"):
        raise _Error("ValidationError", "TemplateBody is required in the sandbox.")
    _check_capabilities(p.get("TemplateBody", ""), p.get("Capabilities") or [])
    stack_set_id = f"{name}:{uuid.uuid4()}"
    store[name] = StackSet(
        name=name,
        stack_set_id=stack_set_id,
        arn=f"arn:{caller.partition}:cloudformation:{response.region}:{caller.management}:"
        f"stackset/{stack_set_id}",
        region=response.region,
        template=p["TemplateBody"],
        description=p.get("Description") or "",
        parameters={q["ParameterKey"]: q["ParameterValue"] for q in p.get("Parameters") or []},
        capabilities=list(p.get("Capabilities") or []),
        tags=list(p.get("Tags") or []),
        auto_deployment=dict(p.get("AutoDeployment") or {"Enabled": False}),
    )
    return {"StackSetId": stack_set_id}


def _check_capabilities(template: str, capabilities: list[str]) -> None:
    if (
        re.search(r"Type:\s*AWS::IAM::Role\b", template)
        and "CAPABILITY_NAMED_IAM" not in capabilities
    ):
        raise _Error(
            "InsufficientCapabilitiesException",
            "Requires capabilities : [CAPABILITY_NAMED_IAM]",
        )


def describe_stack_set(response: Any) -> dict[str, Any]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    s = _find(caller, response.region, p["StackSetName"])
    return {
        "StackSet": {
            "StackSetName": s.name,
            "StackSetId": s.stack_set_id,
            "Description": s.description,
            "Status": s.status,
            "TemplateBody": s.template,
            # moto's response turns these two mappings into AWS's lists of pairs.
            "Parameters": dict(s.parameters),
            "Capabilities": s.capabilities,
            "Tags": {t["Key"]: t["Value"] for t in s.tags},
            "StackSetARN": s.arn,
            "PermissionModel": "SERVICE_MANAGED",
            "AutoDeployment": s.auto_deployment,
            "OrganizationalUnitIds": sorted(s.ous),
            "Regions": sorted({region for _account, region in s.instances}),
            "ManagedExecution": {"Active": False},
        }
    }


def _work(caller: _Caller, p: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    targets = p.get("DeploymentTargets") or {}
    ous = targets.get("OrganizationalUnitIds") or []
    if not ous or targets.get("Accounts"):
        raise _Error(
            "ValidationError",
            "StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit "
            "as target",
        )
    regions = p.get("Regions") or []
    if not regions:
        raise _Error("ValidationError", "Regions must not be empty.")
    seen: set[tuple[str, str]] = set()
    work = []
    for region in regions:
        for ou in ous:
            for account in _accounts_of(caller, ou):
                if (account, region) not in seen:
                    seen.add((account, region))
                    work.append((account, region, ou))
    return work


def create_stack_instances(response: Any) -> dict[str, Any]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    _require_trusted(caller)
    s = _find(caller, response.region, p["StackSetName"])
    _busy(s)
    work = _work(caller, p)
    endpoint = _endpoint(response)

    def deploy(account: str, region: str, ou: str) -> None:
        instance = s.instances.get((account, region))
        if instance is None:
            instance = Instance(
                account=account,
                region=region,
                ou=ou,
                stack_id=f"arn:{caller.partition}:cloudformation:{region}:{account}:stack/"
                f"StackSet-{s.name}-{uuid.uuid4()}/{uuid.uuid4()}",
            )
            s.instances[(account, region)] = instance
        elif instance.status == "CURRENT":
            return  # already there: CreateStackInstances leaves it as it is
        try:
            _deploy(s, instance, endpoint)
        except _Error as exc:
            instance.status, instance.detailed, instance.reason = "OUTDATED", "FAILED", exc.message
            raise
        instance.status, instance.detailed, instance.reason = "CURRENT", "SUCCEEDED", ""

    for ou in (p.get("DeploymentTargets") or {}).get("OrganizationalUnitIds") or []:
        if ou not in s.ous:
            s.ous.append(ou)
        regions = s.targets.setdefault(ou, [])
        regions += [r for r in p.get("Regions") or [] if r not in regions]
    operation = _run(
        s,
        "CREATE",
        work,
        deploy,
        dict(p.get("OperationPreferences") or {}),
        dict(p.get("DeploymentTargets") or {}),
    )
    for account, region, _ou in work:
        instance = s.instances.get((account, region))
        if instance is not None:
            instance.operation = operation.operation_id
    return {"OperationId": operation.operation_id}


def update_stack_set(response: Any) -> dict[str, Any]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    _require_trusted(caller)
    s = _find(caller, response.region, p["StackSetName"])
    _busy(s)
    if p.get("TemplateBody"):
        _check_capabilities(p["TemplateBody"], p.get("Capabilities") or [])
        s.template = p["TemplateBody"]
    if p.get("Parameters") is not None:
        s.parameters = {
            q["ParameterKey"]: q.get("ParameterValue", s.parameters.get(q["ParameterKey"], ""))
            for q in p["Parameters"]
        }
    if p.get("Capabilities") is not None:
        s.capabilities = list(p["Capabilities"])
    if p.get("Description") is not None:
        s.description = p["Description"]
    if p.get("AutoDeployment") is not None:
        s.auto_deployment = dict(p["AutoDeployment"])
    if p.get("Tags") is not None:
        s.tags = list(p["Tags"])
    endpoint = _endpoint(response)
    work = [(i.account, i.region, i.ou) for i in s.instances.values()]

    def update(account: str, region: str, ou: str) -> None:
        instance = s.instances[(account, region)]
        try:
            _deploy(s, instance, endpoint)
        except _Error as exc:
            instance.status, instance.detailed, instance.reason = "OUTDATED", "FAILED", exc.message
            raise
        instance.status, instance.detailed, instance.reason = "CURRENT", "SUCCEEDED", ""

    operation = _run(s, "UPDATE", work, update, dict(p.get("OperationPreferences") or {}), {})
    return {"OperationId": operation.operation_id}


def delete_stack_instances(response: Any) -> dict[str, Any]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    s = _find(caller, response.region, p["StackSetName"])
    _busy(s)
    ous = set((p.get("DeploymentTargets") or {}).get("OrganizationalUnitIds") or [])
    regions = set(p.get("Regions") or [])
    retain = bool(p.get("RetainStacks"))
    endpoint = _endpoint(response)
    work = [
        (i.account, i.region, i.ou)
        for i in list(s.instances.values())
        if i.ou in ous and i.region in regions
    ]

    def remove(account: str, region: str, ou: str) -> None:
        instance = s.instances[(account, region)]
        if not retain:
            try:
                _undeploy(instance, endpoint)
            except Exception as exc:
                raise _Error("ResourceFailed", _error_text(exc)) from None
        del s.instances[(account, region)]

    operation = _run(
        s,
        "DELETE",
        work,
        remove,
        dict(p.get("OperationPreferences") or {}),
        dict(p.get("DeploymentTargets") or {}),
        retain,
    )
    remaining = {i.ou for i in s.instances.values()}
    s.ous = [ou for ou in s.ous if ou not in ous or ou in remaining]
    for ou in ous:
        left = [r for r in s.targets.get(ou, []) if r not in regions]
        if left:
            s.targets[ou] = left
        else:
            s.targets.pop(ou, None)
    return {"OperationId": operation.operation_id}


def delete_stack_set(response: Any) -> dict[str, Any]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    s = _find(caller, response.region, p["StackSetName"])
    _busy(s)
    if s.instances:
        raise _Error(
            "StackSetNotEmptyException",
            f"StackSet {s.name} cannot be deleted while it has {len(s.instances)} stack "
            "instance(s)",
        )
    s.status = "DELETED"
    del _store(caller.management, response.region)[s.name]
    return {}


def list_stack_instances(response: Any) -> dict[str, Any]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    s = _find(caller, response.region, p["StackSetName"])
    return {
        "Summaries": [
            {
                "StackSetId": s.stack_set_id,
                "Region": i.region,
                "Account": i.account,
                "StackId": i.stack_id,
                "Status": i.status,
                "StatusReason": i.reason,
                "StackInstanceStatus": {"DetailedStatus": i.detailed},
                "OrganizationalUnitId": i.ou,
                "LastOperationId": i.operation,
            }
            for i in sorted(s.instances.values(), key=lambda x: (x.account, x.region))
        ]
    }


def _operation(response: Any) -> tuple[StackSet, Operation]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    s = _find(caller, response.region, p["StackSetName"])
    operation = s.operations.get(p["OperationId"])
    if operation is None:
        raise _Error("OperationNotFoundException", f"Operation {p['OperationId']} not found")
    return s, operation


def describe_stack_set_operation(response: Any) -> dict[str, Any]:
    s, o = _operation(response)
    body: dict[str, Any] = {
        "OperationId": o.operation_id,
        "StackSetId": s.stack_set_id,
        "Action": o.action,
        "Status": o.status,
        "OperationPreferences": o.preferences,
        "CreationTimestamp": o.created,
        "DeploymentTargets": o.targets,
        "StatusDetails": {
            "FailedStackInstancesCount": sum(1 for r in o.results if r["Status"] == "FAILED")
        },
    }
    if o.ended is not None:
        body["EndTimestamp"] = o.ended
    if o.retain_stacks is not None:
        body["RetainStacks"] = o.retain_stacks
    if o.reason:
        body["StatusReason"] = o.reason
    return {"StackSetOperation": body}


def list_stack_set_operation_results(response: Any) -> dict[str, Any]:
    _s, o = _operation(response)
    return {"Summaries": list(o.results)}


def list_stack_set_operations(response: Any) -> dict[str, Any]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    s = _find(caller, response.region, p["StackSetName"])
    return {
        "Summaries": [
            {
                "OperationId": o.operation_id,
                "Action": o.action,
                "Status": o.status,
                "CreationTimestamp": o.created,
                **({"EndTimestamp": o.ended} if o.ended else {}),
            }
            for o in s.operations.values()
        ]
    }


def stop_stack_set_operation(response: Any) -> dict[str, Any]:
    _s, o = _operation(response)
    if o.status != "RUNNING":
        raise _Error("InvalidOperationException", f"Operation {o.operation_id} is not running")
    o.status = "STOPPED"
    return {}


def describe_organizations_access(response: Any) -> dict[str, Any]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    return {"Status": "ENABLED" if _trusted(caller.organizations) else "DISABLED"}


def activate_organizations_access(response: Any) -> dict[str, Any]:
    p = _params(response)
    caller = _caller(response.current_account, response.partition, p.get("CallAs"))
    caller.organizations.enable_aws_service_access(ServicePrincipal=STACKSETS_PRINCIPAL)
    return {}


# --------------------------------------------------------------------------- automatic deployment


def _all_stack_sets(management: str) -> list[StackSet]:
    """Every service-managed StackSet of the organization, in every region used so far."""
    # moto on first use: the sandbox's modules import without it (see wizard.sandbox.server)
    from moto.cloudformation.models import cloudformation_backends

    found: list[StackSet] = []
    for backend in list(cloudformation_backends[management].values()):
        stored: dict[str, StackSet] | None = getattr(backend, "wizard_stack_sets", None)
        found += [s for s in (stored or {}).values() if s.status == "ACTIVE"]
    return found


def _wanted(caller: _Caller, stack_set: StackSet) -> dict[tuple[str, str], str]:
    """Where automatic deployment wants instances: (account, region) -> the target OU."""
    wanted: dict[tuple[str, str], str] = {}
    for ou, regions in stack_set.targets.items():
        try:
            accounts = _accounts_of(caller, ou)
        except _Error:
            continue  # the OU was deleted: nothing is in it any more
        for account in accounts:
            for region in regions:
                wanted.setdefault((account, region), ou)
    return wanted


def _auto_deploy(caller: _Caller, stack_set: StackSet, endpoint: str) -> None:
    """Bring the StackSet's instances in line with its target OUs' accounts, as AWS does when
    AutoDeployment is enabled: a CREATE operation for accounts that joined, a DELETE operation
    for those that left (their stacks kept when RetainStacksOnAccountRemoval)."""
    auto = stack_set.auto_deployment
    if not auto.get("Enabled") or any(o.status == "RUNNING" for o in stack_set.operations.values()):
        return
    wanted = _wanted(caller, stack_set)
    for (account, region), ou in wanted.items():
        instance = stack_set.instances.get((account, region))
        if instance is not None:
            instance.ou = ou  # moved between two target OUs: the instance stays
    joined = [(a, r, ou) for (a, r), ou in wanted.items() if (a, r) not in stack_set.instances]
    left = [
        (i.account, i.region, i.ou)
        for i in stack_set.instances.values()
        if (i.account, i.region) not in wanted and i.ou in stack_set.targets
    ]
    retain = bool(auto.get("RetainStacksOnAccountRemoval"))

    def deploy(account: str, region: str, ou: str) -> None:
        instance = Instance(
            account=account,
            region=region,
            ou=ou,
            stack_id=f"arn:{caller.partition}:cloudformation:{region}:{account}:stack/"
            f"StackSet-{stack_set.name}-{uuid.uuid4()}/{uuid.uuid4()}",
        )
        stack_set.instances[(account, region)] = instance
        try:
            _deploy(stack_set, instance, endpoint)
        except _Error as exc:
            instance.status, instance.detailed, instance.reason = "OUTDATED", "FAILED", exc.message
            raise

    def remove(account: str, region: str, ou: str) -> None:
        instance = stack_set.instances[(account, region)]
        if not retain:
            try:
                _undeploy(instance, endpoint)
            except Exception as exc:
                raise _Error("ResourceFailed", _error_text(exc)) from None
        del stack_set.instances[(account, region)]

    for action, work, step in (("CREATE", joined, deploy), ("DELETE", left, remove)):
        if not work:
            continue
        ous = sorted({ou for _a, _r, ou in work})
        operation = _run(
            stack_set,
            action,
            work,
            step,
            {},
            {"OrganizationalUnitIds": ous},
            retain if action == "DELETE" else None,
        )
        for account, region, _ou in work:
            instance = stack_set.instances.get((account, region))
            if instance is not None:
                instance.operation = operation.operation_id


def _follow_organization(response: Any) -> None:
    """After an Organizations change of membership: every StackSet's automatic deployment."""
    found = _organization(response.current_account, response.partition)
    if found is None:
        return
    management, backend = found
    caller = _Caller(response.current_account, management, response.partition, backend)
    endpoint = _endpoint(response)
    for stack_set in _all_stack_sets(management):
        _auto_deploy(caller, stack_set, endpoint)


_MEMBERSHIP_ACTIONS = (
    "move_account",
    "create_account",
    "remove_account_from_organization",
    "close_account",
)
"""Organizations actions after which accounts may have joined or left a target OU."""


def _membership(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def method(self: Any) -> Any:
        result = original(self)
        with _LOCK:
            _follow_organization(self)
        return result

    method.__name__ = original.__name__
    return method


_ACTIONS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "create_stack_set": create_stack_set,
    "describe_stack_set": describe_stack_set,
    "update_stack_set": update_stack_set,
    "delete_stack_set": delete_stack_set,
    "create_stack_instances": create_stack_instances,
    "delete_stack_instances": delete_stack_instances,
    "list_stack_instances": list_stack_instances,
    "describe_stack_set_operation": describe_stack_set_operation,
    "list_stack_set_operation_results": list_stack_set_operation_results,
    "list_stack_set_operations": list_stack_set_operations,
    "stop_stack_set_operation": stop_stack_set_operation,
    "describe_organizations_access": describe_organizations_access,
    "activate_organizations_access": activate_organizations_access,
}
_ALWAYS_OURS = frozenset({"describe_organizations_access", "activate_organizations_access"})


def _ours(response: Any, action: str) -> bool:
    """Whether the request is for a service-managed StackSet (else it is moto's)."""
    if action in _ALWAYS_OURS:
        return True
    p = _params(response)
    if action == "create_stack_set":
        return p.get("PermissionModel") == "SERVICE_MANAGED"
    found = _organization(response.current_account, response.partition)
    if found is None:
        return False
    return p.get("StackSetName") in _store(found[0], response.region)


def _wrap(action: str, original: Any) -> Callable[[Any], Any]:
    handler = _ACTIONS[action]

    def method(self: Any) -> Any:
        # moto on first use: the sandbox's modules import without it (see wizard.sandbox.server)
        from moto.cloudformation.exceptions import CloudFormationError
        from moto.core.responses import ActionResult, EmptyResult

        if original is not None and not _ours(self, action):
            return original(self)
        try:
            with _LOCK:
                result = handler(self)
        except _Error as exc:
            # An error of moto's CloudFormation module: moto serializes it with that model.
            raise CloudFormationError(exc.code, exc.message) from None
        return ActionResult(result) if result else EmptyResult()

    method.__name__ = action
    return method


def _organizations_backend(original: property) -> property:
    """A delegated administrator reads the organization (Describe*/List*), as in AWS."""

    def backend(self: Any) -> Any:
        own = original.fget(self) if original.fget is not None else None
        action = str(self._get_action() or "")
        if own is None or own.org is not None or not action.startswith(("List", "Describe")):
            return own
        found = _organization(self.current_account, self.partition)
        if found is not None and _delegated(found[1], self.current_account, None):
            return found[1]
        return own

    return property(backend)


def install_stackset_patches() -> None:
    """Take over moto's service-managed StackSet actions (idempotent, process-wide)."""
    with _LOCK:
        if _INSTALLED:
            return
        # moto on first use: the sandbox's modules import without it (see wizard.sandbox.server)
        from moto.cloudformation.responses import CloudFormationResponse
        from moto.organizations.responses import OrganizationsResponse

        for action in _ACTIONS:
            original = CloudFormationResponse.__dict__.get(action)
            _INSTALLED.append((CloudFormationResponse, action, original))
            setattr(CloudFormationResponse, action, _wrap(action, original))
        # AWS lets a delegated administrator be registered for StackSets; moto's list lacks it.
        from moto.organizations.models import FakeDelegatedAdministrator

        if STACKSETS_PRINCIPAL not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
            FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(STACKSETS_PRINCIPAL)
        for action in _MEMBERSHIP_ACTIONS:
            handler = OrganizationsResponse.__dict__[action]
            _INSTALLED.append((OrganizationsResponse, action, handler))
            setattr(OrganizationsResponse, action, _membership(handler))
        prop = OrganizationsResponse.__dict__["organizations_backend"]
        _INSTALLED.append((OrganizationsResponse, "organizations_backend", prop))
        OrganizationsResponse.organizations_backend = _organizations_backend(prop)  # type: ignore[method-assign,assignment]
