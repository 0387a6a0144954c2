"""Lifecycle writes that never overwrite a configuration the wizard has not just read.

``PutBucketLifecycleConfiguration`` replaces a bucket's whole lifecycle configuration, so a
plan writes the rules the bucket had when discovery read them with the trail's rule merged
in by its ID (:mod:`wizard.policy.lifecycle`). A colleague may change the configuration
afterwards, so, like the policy guard (:mod:`wizard.run.policy_guard`), apply reads it again
right before writing it and right before restoring it:

* Before the write: unchanged since the plan, the planned rules are written; changed, the
  trail's rule is merged again into the new rules (theirs kept as read), and the step says so.
* Before a restore: still exactly what the run wrote, the previous configuration is written
  back exactly (or deleted, when there was none); changed since, only the trail's rule is
  taken out and everything else is kept.

Only the lifecycle of a bucket the run did not create is guarded (a new bucket is deleted
by the rollback, and nobody else can have written its lifecycle first).

Pure core: AWS is reached through :class:`wizard.ports.AwsCaller`.
"""

from __future__ import annotations

import json
from typing import Any

from wizard.model.base import WizardModel
from wizard.model.plan import Call, Step
from wizard.policy.lifecycle import RULE_ID_PREFIX, lifecycle_params, merge_rule, remove_rule
from wizard.ports import AwsCaller, AwsError

__all__ = [
    "LifecycleWrite",
    "lifecycle_guarded",
    "plan_lifecycle_restore",
    "plan_lifecycle_write",
    "read_lifecycle",
]

_WRITE = ("s3", "PutBucketLifecycleConfiguration")


class LifecycleWrite(WizardModel):
    """What a guarded lifecycle write will send, and why."""

    call: Call
    """The write to make."""
    written: list[dict[str, Any]]
    """The exact rules it writes."""
    note: str = ""
    """Empty when the configuration was as planned; else what changed and what was done."""


def lifecycle_guarded(step: Step) -> bool:
    """True for a step that merges the trail's rule into an existing bucket's lifecycle."""
    return (step.call.service, step.call.operation) == _WRITE and bool(step.undo)


def read_lifecycle(caller: AwsCaller, call: Call) -> list[dict[str, Any]] | None:
    """The bucket's lifecycle rules now (None: no lifecycle configuration).

    Raises:
        AwsError: the configuration could not be read (then nothing may be written over it).
    """
    bucket = call.params["Bucket"]
    try:
        got = caller.call("s3", call.region, "GetBucketLifecycleConfiguration", {"Bucket": bucket})
    except AwsError as err:
        if err.code == "NoSuchLifecycleConfiguration":
            return None
        raise
    return [dict(r) for r in got.get("Rules", [])]


def _rules_of(call: Call) -> list[dict[str, Any]] | None:
    """The rules a PutBucketLifecycleConfiguration writes (None for DeleteBucketLifecycle)."""
    if call.operation != _WRITE[1]:
        return None
    return list(call.params["LifecycleConfiguration"]["Rules"])


def _same(a: list[dict[str, Any]] | None, b: list[dict[str, Any]] | None) -> bool:
    return json.dumps(a or [], sort_keys=True, default=str) == json.dumps(
        b or [], sort_keys=True, default=str
    )


def _ours(step: Step) -> dict[str, Any]:
    """The trail's own rule in the planned write."""
    for rule in _rules_of(step.call) or []:
        if str(rule.get("ID", "")).startswith(RULE_ID_PREFIX):
            return rule
    raise ValueError(f"step {step.id} writes no rule of the wizard's")


def _before(step: Step) -> list[dict[str, Any]] | None:
    """The rules the bucket had when the plan was made (what the undo writes back)."""
    return _rules_of(step.undo[0])


def _min_size(call: Call) -> str | None:
    value = call.params.get("TransitionDefaultMinimumObjectSize")
    return str(value) if value else None


def plan_lifecycle_write(step: Step, current: list[dict[str, Any]] | None) -> LifecycleWrite:
    """The write to make now that the bucket's rules read ``current``."""
    planned = _rules_of(step.call) or []
    if _same(current, _before(step)):
        return LifecycleWrite(call=step.call, written=planned)
    rule = _ours(step)
    merged = merge_rule(current, rule)
    bucket = step.call.params["Bucket"]
    call = step.call.model_copy(
        update={"params": lifecycle_params(bucket, merged, _min_size(step.call))}
    )
    note = (
        f"The lifecycle configuration of bucket {bucket} changed since the plan was made; the "
        f"trail's rule {rule['ID']} was merged into the new rules, keeping the change."
    )
    return LifecycleWrite(call=call, written=merged, note=note)


def plan_lifecycle_restore(
    step: Step, current: list[dict[str, Any]] | None, written: list[dict[str, Any]]
) -> tuple[Call | None, str]:
    """How to undo a guarded lifecycle write now that the bucket's rules read ``current``.

    Args:
        step: The guarded step.
        current: The bucket's rules as just read.
        written: The exact rules the run wrote (:attr:`LifecycleWrite.written`).

    Returns:
        The call to make (None: nothing to write) and a note ("" when the configuration was
        as the run left it).
    """
    # The exact previous configuration goes back only when the write replaced it as planned
    # and nobody changed the rules since; otherwise only the trail's rule is taken out.
    if _same(written, _rules_of(step.call)) and _same(current, written):
        return step.undo[0], ""
    rule_id = str(_ours(step)["ID"])
    bucket = step.call.params["Bucket"]
    remaining = remove_rule(current, rule_id)
    if current is None or len(remaining) == len(current):
        return None, (
            f"The lifecycle configuration of bucket {bucket} was changed by someone else after "
            f"the wizard wrote it and no longer holds the rule {rule_id}; it was left as it is."
        )
    note = (
        f"The lifecycle configuration of bucket {bucket} was changed by someone else after the "
        f"wizard wrote it: only the rule {rule_id} was taken out, their change was kept."
    )
    if not remaining:
        return (
            Call(
                service="s3",
                region=step.call.region,
                operation="DeleteBucketLifecycle",
                params={"Bucket": bucket},
                account=step.call.account,
            ),
            note,
        )
    params = lifecycle_params(bucket, remaining, _min_size(step.call))
    return step.call.model_copy(update={"params": params}), note
