"""Policy writes that never overwrite text the wizard has not just read.

A plan merges CloudTrail's statements into the policy an existing bucket, key or topic had
when discovery read it. A colleague may edit that policy afterwards: between the plan and
the write, or between the write and a rollback. So apply reads the policy again right
before writing it and right before restoring it:

* Before the write: unchanged since the plan, the planned text is written; changed, the
  statements the plan adds are merged again into the new text (their statements kept
  byte for byte), and the step says so.
* Before a restore: still exactly what the run wrote, the previous text is restored (or the
  policy deleted, when there was none); edited since, exactly the statements the run added
  are taken out of the current text and everything else is kept; already without them,
  nothing is written.

An update may also *replace* statements: the wizard's earlier version of a statement that
applies to this trail only (the write grant of an old prefix,
:attr:`wizard.model.plan.PolicyChange.replaced`). A write into a colleague's newer text takes
those out of it too; a restore that cannot write the exact previous text puts them back.

Only policies of resources the run did not create are guarded (a resource the run created
is deleted by the rollback, and nobody else can have written its policy first).

Pure core: AWS is reached through :class:`wizard.ports.AwsCaller`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from wizard.model.base import WizardModel
from wizard.model.plan import Call, Step
from wizard.policy.merge import PolicyError, merge, parse_policy, remove_statements
from wizard.ports import AwsCaller, AwsError

__all__ = ["GuardedWrite", "PolicyConflict", "guarded", "plan_restore", "plan_write", "read_policy"]


class PolicyConflict(Exception):
    """The policy changed in a way the wizard cannot merge into safely (nothing written)."""


class GuardedWrite(WizardModel):
    """What a guarded write will send, and why."""

    call: Call
    """The write to make (parameters resolved)."""
    written: str
    """The exact text it writes."""
    note: str = ""
    """Empty when the policy was as planned; else what changed and what was done about it."""
    added: list[dict[str, Any]] | None = None
    """None when the policy was as planned (the write replaces the plan's ``before``, and a
    rollback may restore that exactly); else the statements this write adds to the text it
    replaces, all a rollback may take out again (empty: they were all there already, put
    there by someone else, perhaps another run of the same answers)."""
    skip: bool = False
    """Nothing to write: the policy already reads as the step would make it."""


_READS: dict[tuple[str, str], tuple[str, str]] = {
    ("s3", "PutBucketPolicy"): ("GetBucketPolicy", "Policy"),
    ("kms", "PutKeyPolicy"): ("GetKeyPolicy", "Policy"),
    ("sns", "SetTopicAttributes"): ("GetTopicAttributes", "Attributes.Policy"),
}


def guarded(step: Step) -> bool:
    """True for a step that writes the policy of a resource this run did not create."""
    policy = step.policy
    if policy is None or policy.new_resource or step.creates is not None:
        return False
    call = step.call
    if (call.service, call.operation) not in _READS:
        return False
    return call.operation != "SetTopicAttributes" or call.params.get("AttributeName") == "Policy"


def _read_params(call: Call) -> dict[str, Any]:
    p = call.params
    if call.service == "s3":
        return {"Bucket": p["Bucket"]}
    if call.service == "kms":
        return {"KeyId": p["KeyId"], "PolicyName": p.get("PolicyName", "default")}
    return {"TopicArn": p["TopicArn"]}


def _text_param(call: Call) -> str:
    return "AttributeValue" if call.operation == "SetTopicAttributes" else "Policy"


def read_policy(caller: AwsCaller, call: Call) -> str | None:
    """The policy the write ``call`` would replace, as it is now (None: there is none).

    Raises:
        AwsError: the policy could not be read (then nothing may be written over it).
    """
    operation, path = _READS[(call.service, call.operation)]
    try:
        response: Any = caller.call(call.service, call.region, operation, _read_params(call))
    except AwsError as err:
        if call.service == "s3" and err.code == "NoSuchBucketPolicy":
            return None
        raise
    for part in path.split("."):
        response = response.get(part) if isinstance(response, Mapping) else None
    if response is None or response == "":
        return None
    return response if isinstance(response, str) else json.dumps(response)


def _with_text(call: Call, text: str) -> Call:
    return call.model_copy(update={"params": {**call.params, _text_param(call): text}})


def _added_statements(step: Step) -> list[dict[str, Any]]:
    """The statements the step adds, taken from the text it writes."""
    assert step.policy is not None
    wanted = set(step.policy.added_sids)
    document = parse_policy(step.policy.after)
    raw = document["Statement"]
    statements = raw if isinstance(raw, list) else [raw]
    return [dict(s) for s in statements if str(s.get("Sid", "")) in wanted]


def plan_write(step: Step, call: Call, current: str | None) -> GuardedWrite:
    """The write to make now that the policy reads ``current``.

    Args:
        step: The guarded step.
        call: Its call, parameters resolved.
        current: The policy as just read.

    Raises:
        PolicyConflict: the policy changed and is no longer one the wizard can merge into.
    """
    assert step.policy is not None
    planned = call.params[_text_param(call)]
    if current == step.policy.before:
        return GuardedWrite(call=call, written=planned)
    added = _added_statements(step)
    try:
        base = current
        if current is not None and step.policy.replaced:
            # The wizard's earlier version of its statements goes, as planned.
            base = remove_statements(current, step.policy.replaced)
        merged = merge(base, {"Statement": added})
    except PolicyError as exc:
        raise PolicyConflict(
            f"The policy of {step.policy.resource} changed since the plan was made and can no "
            f"longer be merged into: {exc}"
        ) from exc
    if merged.text == current or (current is None and not merged.added):
        already = (
            "no longer holds the wizard's earlier statements"
            if step.policy.replaced and not added
            else "already holds CloudTrail's statements"
        )
        note = (
            f"The policy of {step.policy.resource} changed since the plan was made and {already}; "
            "it was left as it is."
        )
        return GuardedWrite(call=call, written=current or "", note=note, added=[], skip=True)
    if not merged.added:
        note = (
            f"The policy of {step.policy.resource} changed since the plan was made; the wizard's "
            "earlier statements for this trail were taken out of the new text, keeping the change."
        )
    else:
        note = (
            f"The policy of {step.policy.resource} changed since the plan was made; CloudTrail's "
            f"statements were merged into the new text ({len(merged.added)} added), keeping "
            "the change."
        )
    return GuardedWrite(
        call=_with_text(call, merged.text), written=merged.text, note=note, added=merged.added
    )


def plan_restore(
    step: Step,
    call: Call,
    current: str | None,
    written: str,
    added: list[dict[str, Any]] | None = None,
) -> tuple[Call | None, str]:
    """How to undo a guarded write now that the policy reads ``current``.

    Args:
        step: The guarded step.
        call: The step's call, parameters resolved (the resource to restore).
        current: The policy as just read.
        written: The exact text the run wrote.
        added: :attr:`GuardedWrite.added` of the write: None when it replaced the plan's
            ``before`` (which may then be restored exactly), else the only statements that
            may be taken out (the text it replaced was someone else's edit).

    Returns:
        The call to make (None: nothing to write) and a note for the operator ("" when the
        policy was as the run left it).

    Raises:
        PolicyConflict: the policy was edited into something the wizard cannot edit safely.
    """
    assert step.policy is not None
    before = step.policy.before
    resource = step.policy.resource
    exact = added is None
    if exact and current == before and current != written:
        return None, ""  # the write never took effect (a crash while it was in flight)
    if exact and current == written:
        if before is not None:
            return _with_text(call, before), ""
        return _delete_call(call), ""
    ours = _added_statements(step) if added is None else list(added)
    replaced = step.policy.replaced
    if not ours and not replaced:
        return None, (
            f"The policy of {resource} already held CloudTrail's statements when the wizard "
            "came to write it (someone else, or another run, had added them); the wizard added "
            "none, so it took none out and left the policy as it is."
        )
    try:
        remaining = remove_statements(current, ours) if current is not None and ours else current
    except PolicyError as exc:
        raise PolicyConflict(
            f"The policy of {resource} was edited after the wizard wrote it and cannot be read "
            f"as a policy any more ({exc}); remove the statements "
            f"{', '.join(step.policy.added_sids)} by hand."
        ) from exc
    if replaced and current is not None:
        # The wizard's earlier statements the update took out go back in (never twice:
        # merge skips what is already granted).
        try:
            remaining = merge(remaining, {"Statement": replaced}).text
        except PolicyError as exc:
            raise PolicyConflict(
                f"The policy of {resource} was edited after the wizard wrote it and the "
                f"statements the update replaced cannot be put back ({exc}); add them by hand."
            ) from exc
    if current is None or remaining == current:
        return None, (
            f"The policy of {resource} was changed by someone else after the wizard wrote it and "
            "no longer holds the wizard's statements; it was left as it is."
        )
    sids = ", ".join(str(s.get("Sid", "")) for s in ours)
    if not ours:
        back = ", ".join(str(s.get("Sid", "")) for s in replaced)
        return _with_text(call, remaining or ""), (
            f"The policy of {resource} was edited by someone else after the wizard wrote it: "
            f"the wizard's earlier statements ({back}) were put back, their change was kept."
        )
    note = (
        f"The policy of {resource} was edited by someone else after the wizard wrote it: only "
        f"the wizard's statements ({sids}) were removed, their change was kept."
        if current != written
        else f"The policy of {resource} had been changed by someone else before the wizard "
        f"merged into it: only the wizard's statements ({sids}) were removed, that change was "
        "kept."
    )
    if remaining is None:
        return _delete_call(call), note
    return _with_text(call, remaining), note


def _delete_call(call: Call) -> Call:
    if call.service == "s3":
        return call.model_copy(
            update={"operation": "DeleteBucketPolicy", "params": {"Bucket": call.params["Bucket"]}}
        )
    # Every KMS key and SNS topic has a policy; neither accepts an empty one, and a key
    # without its owner's statements would lock everyone out. A person decides.
    raise PolicyConflict(
        f"Undoing the change would leave the {call.service} policy with no statement at all; "
        "it was left as it is. Edit it by hand."
    )
