"""Taking the wizard's superseded statements out of a policy, once the trail no longer needs them.

When an update changes what a policy must grant this trail (another prefix, say), the new
statement is merged in first (the policy's merge step), the trail is changed, and only then
is the wizard's earlier statement for this trail taken out (:func:`wizard.plan.desired.
stale_statements`). A rollback undoes in the opposite order, so the trail is always allowed
what it is set to: the earlier statement is back before the trail's old settings are.
"""

from __future__ import annotations

from wizard.model.plan import PolicyChange
from wizard.plan.desired import tidy_setting
from wizard.plan.planner.builder import PlanBuilder, PlanInputs, readable_diff
from wizard.plan.review import PolicyReview
from wizard.policy.merge import PolicyError, remove_statements

_MERGE_STEP = {
    "bucket": "update-bucket-policy",
    "key": "update-key-policy",
    "access-log-bucket": "update-access-log-bucket-policy",
}
"""The step that merged the new statements, per policy kind."""

_NAME = {
    "bucket": "bucket policy",
    "key": "key policy",
    "access-log-bucket": "access log bucket policy",
}


def _review(given: PlanInputs, kind: str) -> PolicyReview | None:
    reviews = given.reviews
    review = {
        "bucket": reviews.bucket,
        "key": reviews.key,
        "access-log-bucket": reviews.access_logs,
    }
    return review.get(kind)


def tidy_chain(b: PlanBuilder, given: PlanInputs) -> None:
    """One step per policy with stale statements, after its merge and the trail's steps."""
    trail_steps = b.ids_in("trail")
    known = {s.id for s in b.steps}
    for kind, stale in sorted(given.adopted.replaced.items()):
        merge_step = _MERGE_STEP.get(kind)
        review = _review(given, kind)
        if merge_step not in known or review is None or not stale:
            continue
        merged = b.steps[[s.id for s in b.steps].index(merge_step)]
        written = review.document
        try:
            tidied = remove_statements(written, stale)
        except PolicyError:
            continue
        if tidied is None or tidied == written:
            continue
        call = merged.call
        text_param = "Policy"
        sids = ", ".join(str(s.get("Sid")) for s in stale)
        b.add(
            f"tidy-{kind}-policy",
            merged.chain,
            call.model_copy(update={"params": {**call.params, text_param: tidied}}),
            f"Take the wizard's earlier {sids} for this trail out of the {_NAME[kind]} "
            "(superseded by the new version)",
            changes=merged.changes,
            depends_on=[merge_step, *trail_steps[-1:]],
            undo=[call.model_copy(update={"params": {**call.params, text_param: written}})],
            undo_summary=f"Put the earlier {sids} back (the policy as the merge left it)",
            policy=PolicyChange(
                kind=review.kind,
                resource=review.resource,
                before=written,
                after=tidied,
                diff=readable_diff(written, tidied),
                added_sids=[],
                replaced=[dict(s) for s in stale],
            ),
            settings=[tidy_setting(_NAME[kind], written, stale)],
        )
