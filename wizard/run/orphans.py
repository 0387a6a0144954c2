"""Keys created twice: the run tag on every new KMS key, and the clean-up of the extra ones.

KMS ``CreateKey`` has no idempotency token. When its answer is lost (the connection drops
after KMS acted), botocore sends the request again and KMS creates a second key; the run
only ever hears of the second one, so the first would stay enabled, unreferenced, and billed.

So every key a run creates carries the tag :data:`wizard.model.names.RUN_TAG` with the run's
id (a fresh random id per plan, :func:`new_run_id`), and when a ``CreateKey`` answer shows
botocore retried (its ``ResponseMetadata.RetryAttempts``, which the caller keeps for mutating
calls), or when a ``CreateKey`` step is rolled back, :func:`sweep_run_keys` lists the
region's keys, finds those carrying this run's tag, and schedules the deletion of every one
the run does not use, with the shortest pending window KMS allows (7 days). A normal run
makes none of these calls.

Pure core: AWS is reached through the :class:`wizard.ports.AwsCaller` port.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field

from wizard.model.base import WizardModel
from wizard.model.names import RUN_TAG
from wizard.ports import AwsCaller, AwsError

__all__ = [
    "PENDING_WINDOW_DAYS",
    "RECOVERY_OPERATIONS",
    "TAGGED_CREATES",
    "OrphanKey",
    "SweepResult",
    "new_run_id",
    "retry_attempts",
    "run_tag_in",
    "run_tag_of",
    "sweep_run_keys",
]

PENDING_WINDOW_DAYS = 7
"""The shortest waiting period before KMS deletes a key."""

RECOVERY_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("kms", "ListKeys"),
    ("kms", "ListResourceTags"),
    ("kms", "DescribeKey"),
    ("kms", "ScheduleKeyDeletion"),
)
"""Every call :func:`sweep_run_keys` may make (the operator policy must allow them)."""

_GONE_STATES = frozenset({"PendingDeletion", "PendingReplicaDeletion"})


def new_run_id() -> str:
    """A fresh run id: 32 hexadecimal characters, unique per plan."""
    return uuid.uuid4().hex


def run_tag_of(operation: str, params: Mapping[str, Any]) -> str | None:
    """The run id a ``CreateKey`` call tags its key with, or None (other calls, untagged)."""
    if operation != "CreateKey":
        return None
    for tag in params.get("Tags") or []:
        if isinstance(tag, Mapping) and tag.get("TagKey") == RUN_TAG:
            value = tag.get("TagValue")
            return str(value) if value else None
    return None


TAGGED_CREATES: dict[str, tuple[str, ...]] = {
    "CreateKey": ("Tags", "TagKey", "TagValue"),
    "CreateTrail": ("TagsList", "Key", "Value"),
    "CreateTopic": ("Tags", "Key", "Value"),
    "CreateRole": ("Tags", "Key", "Value"),
    "CreateLogGroup": ("tags",),
    "CreateBucket": ("CreateBucketConfiguration", "Tags", "Key", "Value"),
}
"""Where each create operation the wizard sends carries its tags, in the service's own shape:
a list of key/value pairs under a parameter (with the pair's field names), a ``tags`` map
(CloudWatch Logs), or S3's list inside ``CreateBucketConfiguration``."""


def run_tag_in(operation: str, params: Mapping[str, Any]) -> str | None:
    """The run id a create call tags its new resource with, or None.

    Covers every create the wizard sends (:data:`TAGGED_CREATES`), each in its service's
    native shape; any other operation, or a create without the run tag, gives None.

    Args:
        operation: The API operation (``CreateTopic``).
        params: Its parameters, as sent.

    Returns:
        The value of :data:`RUN_TAG`, or None.
    """
    shape = TAGGED_CREATES.get(operation)
    if shape is None:
        return None
    if len(shape) == 1:  # a map of tag key to value
        tags = params.get(shape[0])
        value = tags.get(RUN_TAG) if isinstance(tags, Mapping) else None
        return str(value) if value else None
    container: Any = params
    *path, key_field, value_field = shape
    for name in path:
        container = container.get(name) if isinstance(container, Mapping) else None
    for tag in container if isinstance(container, list) else []:
        if isinstance(tag, Mapping) and tag.get(key_field) == RUN_TAG:
            value = tag.get(value_field)
            return str(value) if value else None
    return None


def retry_attempts(response: Mapping[str, Any]) -> int:
    """How many times botocore re-sent the request (0 when it was sent once)."""
    meta = response.get("ResponseMetadata")
    if not isinstance(meta, Mapping):
        return 0
    attempts = meta.get("RetryAttempts")
    return attempts if isinstance(attempts, int) else 0


class OrphanKey(WizardModel):
    """A key this run created but does not use (a retried ``CreateKey``'s first key)."""

    key_id: str
    """The key id."""
    arn: str | None = None
    """The key ARN."""
    region: str
    """Its region."""
    status: Literal["scheduled", "failed"]
    """scheduled: deletion scheduled; failed: it could not be (the error says why)."""
    deletion_date: str | None = None
    """When KMS will delete it."""
    error: str | None = None
    """Why the deletion could not be scheduled."""


class SweepResult(WizardModel):
    """The outcome of one search for this run's extra keys."""

    step_id: str
    """The ``CreateKey`` step it was made for."""
    region: str
    """The region searched."""
    run_id: str
    """The tag value searched for."""
    reason: Literal["retried", "rollback"]
    """Why: botocore retried the ``CreateKey``, or the step is being rolled back."""
    checked: int = 0
    """Keys whose tags were read."""
    orphans: list[OrphanKey] = Field(default_factory=list)
    """Keys carrying the tag that the run does not use."""
    error: str | None = None
    """The search itself failed (the keys could not be listed)."""


Recorder = Callable[[str, Mapping[str, Any], Any, str | None], None]
"""``record(operation, params, result, error)``: journals one clean-up call."""


def sweep_run_keys(
    caller: AwsCaller,
    *,
    region: str,
    run_id: str,
    step_id: str,
    reason: Literal["retried", "rollback"],
    keep: str | None = None,
    record: Recorder | None = None,
) -> SweepResult:
    """Schedule the deletion of every key in ``region`` tagged with this run but ``keep``.

    Keys already pending deletion are left alone (an earlier sweep or the rollback's own
    undo got there first). A key whose tags cannot be read is skipped: a key this run
    created is readable with the operator policy, which allows ``kms:ListResourceTags`` on
    the account's keys.

    Args:
        caller: Makes the calls (the account that created the key).
        region: Where the key was created.
        run_id: The value of :data:`RUN_TAG` to look for.
        step_id: The ``CreateKey`` step, for the report.
        reason: Why the sweep runs.
        keep: The id (or ARN) of the key the run uses; never scheduled here.
        record: Journals the mutating calls (ScheduleKeyDeletion), with their result.

    Returns:
        What was found and done; never raises for AWS errors.
    """
    result = SweepResult(step_id=step_id, region=region, run_id=run_id, reason=reason)
    try:
        keys = caller.paginate("kms", region, "ListKeys", "Keys")
    except AwsError as err:
        return result.model_copy(update={"error": f"{err.code}: {err.message}"})
    orphans: list[OrphanKey] = []
    checked = 0
    for key in keys:
        key_id = str(key.get("KeyId", ""))
        arn = key.get("KeyArn")
        if not key_id or (keep is not None and keep in (key_id, arn)):
            continue
        checked += 1
        try:
            tags = caller.paginate("kms", region, "ListResourceTags", "Tags", {"KeyId": key_id})
        except AwsError:
            continue  # not ours to judge (another account's grant, an AWS managed key...)
        if not any(t.get("TagKey") == RUN_TAG and t.get("TagValue") == run_id for t in tags):
            continue
        try:
            meta = caller.call("kms", region, "DescribeKey", {"KeyId": key_id})["KeyMetadata"]
        except AwsError as err:
            orphans.append(
                OrphanKey(
                    key_id=key_id,
                    arn=arn,
                    region=region,
                    status="failed",
                    error=f"{err.code}: {err.message}",
                )
            )
            continue
        if meta.get("KeyState") in _GONE_STATES:
            continue
        orphans.append(_schedule(caller, region, key_id, meta.get("Arn") or arn, record))
    return result.model_copy(update={"checked": checked, "orphans": orphans})


def _schedule(
    caller: AwsCaller, region: str, key_id: str, arn: str | None, record: Recorder | None
) -> OrphanKey:
    params = {"KeyId": key_id, "PendingWindowInDays": PENDING_WINDOW_DAYS}
    try:
        response = caller.call("kms", region, "ScheduleKeyDeletion", params)
    except AwsError as err:
        error = f"{err.code}: {err.message}"
        if record is not None:
            record("ScheduleKeyDeletion", params, None, error)
        return OrphanKey(key_id=key_id, arn=arn, region=region, status="failed", error=error)
    if record is not None:
        record("ScheduleKeyDeletion", params, response, None)
    deletion = response.get("DeletionDate")
    return OrphanKey(
        key_id=key_id,
        arn=arn,
        region=region,
        status="scheduled",
        deletion_date=str(deletion) if deletion is not None else None,
    )
