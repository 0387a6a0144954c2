"""Is this resource ours? Looking up what a create call made, by the run's tag.

Every resource a run creates carries the tag :data:`wizard.model.names.RUN_TAG` with the
run's id (an alias carries no tags: it is ours when it points at the key the run created). Two
situations need to know, by looking, whether a create call took effect:

* A create answered "already exists". That is a refusal unless the resource carries this
  run's tag: then an earlier attempt of the same request (whose answer was lost, so botocore
  sent it again) created it, and it is the run's to keep or undo.
* A create was in flight when the process died: its intent is in the journal, its outcome
  is not. ``recover`` looks the resource up; found with the run's tag, it is undone.

A resource without the run's tag is never the run's, whatever its name.

Pure core: AWS is reached through :class:`wizard.ports.AwsCaller`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from wizard.model.base import WizardModel
from wizard.model.names import RUN_TAG
from wizard.model.plan import Call
from wizard.ports import AwsCaller, AwsError

__all__ = ["CREATE_OPERATIONS", "Lookup", "lookup_created"]

CREATE_OPERATIONS = frozenset(
    {
        ("kms", "CreateKey"),
        ("kms", "CreateAlias"),
        ("s3", "CreateBucket"),
        ("cloudtrail", "CreateTrail"),
        ("sns", "CreateTopic"),
        ("logs", "CreateLogGroup"),
        ("iam", "CreateRole"),
        ("cloudformation", "CreateStackSet"),
    }
)
"""The create calls whose result can be looked up."""


class Lookup(WizardModel):
    """What a look-up found."""

    state: Literal["ours", "absent", "foreign", "unknown"]
    """ours: exists with this run's tag (or, for an alias, points at the run's key);
    absent: does not exist; foreign: exists and is not the run's; unknown: could not tell."""
    output: dict[str, Any] = Field(default_factory=dict)
    """For ``ours``: the fields later steps and undo calls refer to, shaped like the create
    call's response (``KeyMetadata.KeyId``, ``TopicArn``, ``Role.Arn``, ``TrailARN``)."""
    detail: str = ""
    """What was found, for the operator."""


def _tagged(tags: Any, run_id: str, key: str = "Key", value: str = "Value") -> bool:
    if isinstance(tags, Mapping):  # CloudWatch Logs answers a plain mapping
        return tags.get(RUN_TAG) == run_id
    return any(
        isinstance(t, Mapping) and t.get(key) == RUN_TAG and t.get(value) == run_id
        for t in tags or []
    )


@dataclass(frozen=True)
class _Target:
    """What every look-up needs: who reads, the create call, and how to recognise the run."""

    caller: AwsCaller
    call: Call
    run_id: str
    account_id: str
    partition: str
    outputs: Mapping[str, Any]


def lookup_created(
    caller: AwsCaller,
    call: Call,
    *,
    run_id: str | None,
    account_id: str,
    partition: str,
    outputs: Mapping[str, Any],
) -> Lookup:
    """Look up the resource ``call`` creates and say whether it is this run's.

    Args:
        caller: Reads with the credentials of the account the resource lives in.
        call: The create call (parameters resolved where they could be).
        run_id: The run's id; without one nothing can be proven ours.
        account_id: The account the resource lives in (for ARNs).
        partition: ARN partition.
        outputs: Responses of the run's steps so far (the alias needs the key's id).

    Returns:
        The look-up's verdict; never raises for AWS errors (they make it ``unknown``).
    """
    if not run_id:
        return Lookup(state="unknown", detail="the run has no id to recognise its resources by")
    look = _LOOKUPS.get((call.service, call.operation))
    if look is None:
        return Lookup(state="unknown", detail=f"{call.operation} results cannot be looked up")
    try:
        return look(_Target(caller, call, run_id, account_id, partition, outputs))
    except AwsError as err:
        if err.not_found:
            return Lookup(state="absent", detail="not found")
        return Lookup(state="unknown", detail=f"{err.code}: {err.message}")


def _key(target: _Target) -> Lookup:
    caller, call, run_id = target.caller, target.call, target.run_id
    region = call.region
    for key in caller.paginate("kms", region, "ListKeys", "Keys"):
        key_id = str(key.get("KeyId", ""))
        try:
            tags = caller.paginate("kms", region, "ListResourceTags", "Tags", {"KeyId": key_id})
        except AwsError:
            continue  # an AWS managed key or one we may not read: not ours
        if not _tagged(tags, run_id, "TagKey", "TagValue"):
            continue
        meta = caller.call("kms", region, "DescribeKey", {"KeyId": key_id})["KeyMetadata"]
        if meta.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
            continue
        return Lookup(
            state="ours",
            output={"KeyMetadata": {"KeyId": meta["KeyId"], "Arn": meta.get("Arn")}},
            detail=f"key {meta.get('Arn') or key_id} carries {RUN_TAG}={run_id}",
        )
    return Lookup(state="absent", detail=f"no key in {region} carries {RUN_TAG}={run_id}")


def _alias(target: _Target) -> Lookup:
    caller, call, outputs = target.caller, target.call, target.outputs
    name = call.params.get("AliasName")
    given = call.params.get("TargetKeyId")
    for alias in caller.paginate("kms", call.region, "ListAliases", "Aliases"):
        if alias.get("AliasName") != name:
            continue
        points_at = alias.get("TargetKeyId")
        key_id = (outputs.get("create-key") or {}).get("KeyMetadata", {}).get("KeyId")
        mine = key_id or (given if isinstance(given, str) and "${" not in given else None)
        if mine and points_at == mine:
            return Lookup(state="ours", detail=f"{name} points at the run's key {mine}")
        return Lookup(
            state="foreign", detail=f"{name} exists and points at another key ({points_at})"
        )
    return Lookup(state="absent", detail=f"{name} does not exist")


def _bucket(target: _Target) -> Lookup:
    caller, call, run_id = target.caller, target.call, target.run_id
    bucket = call.params["Bucket"]
    try:
        caller.call("s3", call.region, "HeadBucket", {"Bucket": bucket})
    except AwsError as err:
        if err.not_found:
            return Lookup(state="absent", detail=f"bucket {bucket} does not exist")
        if err.access_denied:
            return Lookup(state="foreign", detail=f"bucket {bucket} belongs to another account")
        raise
    try:
        tags = caller.call("s3", call.region, "GetBucketTagging", {"Bucket": bucket})
    except AwsError as err:
        if err.code == "NoSuchTagSet" or err.not_found:
            return Lookup(state="foreign", detail=f"bucket {bucket} exists without {RUN_TAG}")
        raise
    if _tagged(tags.get("TagSet"), run_id):
        return Lookup(
            state="ours", output={"Location": f"/{bucket}"}, detail=f"bucket {bucket} is tagged"
        )
    return Lookup(state="foreign", detail=f"bucket {bucket} exists without {RUN_TAG}={run_id}")


def _trail(target: _Target) -> Lookup:
    caller, call, run_id = target.caller, target.call, target.run_id
    name = call.params["Name"]
    trail = caller.call("cloudtrail", call.region, "GetTrail", {"Name": name})["Trail"]
    arn = trail.get("TrailARN")
    listed = caller.call("cloudtrail", call.region, "ListTags", {"ResourceIdList": [arn]})
    tags = [t for r in listed.get("ResourceTagList", []) for t in r.get("TagsList", [])]
    if _tagged(tags, run_id):
        return Lookup(state="ours", output={**trail, "TrailARN": arn}, detail=f"trail {arn}")
    return Lookup(state="foreign", detail=f"trail {arn} exists without {RUN_TAG}={run_id}")


def _topic(target: _Target) -> Lookup:
    caller, call, run_id = target.caller, target.call, target.run_id
    arn = f"arn:{target.partition}:sns:{call.region}:{target.account_id}:{call.params['Name']}"
    caller.call("sns", call.region, "GetTopicAttributes", {"TopicArn": arn})
    tags = caller.call("sns", call.region, "ListTagsForResource", {"ResourceArn": arn})
    if _tagged(tags.get("Tags"), run_id):
        return Lookup(state="ours", output={"TopicArn": arn}, detail=f"topic {arn}")
    return Lookup(state="foreign", detail=f"topic {arn} exists without {RUN_TAG}={run_id}")


def _log_group(target: _Target) -> Lookup:
    caller, call, run_id = target.caller, target.call, target.run_id
    name = call.params["logGroupName"]
    groups = caller.paginate(
        "logs", call.region, "DescribeLogGroups", "logGroups", {"logGroupNamePrefix": name}
    )
    if not any(g.get("logGroupName") == name for g in groups):
        return Lookup(state="absent", detail=f"log group {name} does not exist")
    tags = caller.call("logs", call.region, "ListTagsLogGroup", {"logGroupName": name})
    if _tagged(tags.get("tags"), run_id):
        return Lookup(state="ours", detail=f"log group {name}")
    return Lookup(state="foreign", detail=f"log group {name} exists without {RUN_TAG}={run_id}")


def _role(target: _Target) -> Lookup:
    caller, call, run_id = target.caller, target.call, target.run_id
    name = call.params["RoleName"]
    role = caller.call("iam", call.region, "GetRole", {"RoleName": name})["Role"]
    tags = caller.paginate("iam", call.region, "ListRoleTags", "Tags", {"RoleName": name})
    if _tagged(tags, run_id):
        return Lookup(
            state="ours",
            output={"Role": {"RoleName": name, "Arn": role.get("Arn"), "Path": role.get("Path")}},
            detail=f"role {role.get('Arn')}",
        )
    return Lookup(state="foreign", detail=f"role {role.get('Arn')} exists without the run's tag")


def _stack_set(target: _Target) -> Lookup:
    caller, call, run_id = target.caller, target.call, target.run_id
    name = call.params["StackSetName"]
    try:
        stack_set = caller.call(
            "cloudformation",
            call.region,
            "DescribeStackSet",
            {"StackSetName": name, "CallAs": call.params.get("CallAs", "SELF")},
        )["StackSet"]
    except AwsError as err:
        if err.code == "StackSetNotFoundException":
            return Lookup(state="absent", detail=f"StackSet {name} does not exist")
        raise
    if _tagged(stack_set.get("Tags"), run_id):
        return Lookup(
            state="ours",
            output={"StackSetId": stack_set.get("StackSetId")},
            detail=f"StackSet {name} carries {RUN_TAG}={run_id}",
        )
    return Lookup(state="foreign", detail=f"StackSet {name} exists without {RUN_TAG}={run_id}")


_LOOKUPS = {
    ("kms", "CreateKey"): _key,
    ("kms", "CreateAlias"): _alias,
    ("s3", "CreateBucket"): _bucket,
    ("cloudtrail", "CreateTrail"): _trail,
    ("sns", "CreateTopic"): _topic,
    ("logs", "CreateLogGroup"): _log_group,
    ("iam", "CreateRole"): _role,
    ("cloudformation", "CreateStackSet"): _stack_set,
}
