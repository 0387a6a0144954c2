"""What every resource chain shares: its inputs, the step builder, tags and policy changes."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from wizard.account.discovery import Discovery
from wizard.model.answers import Answers
from wizard.model.context import Names
from wizard.model.names import RUN_TAG
from wizard.model.plan import Call, Chain, PolicyChange, SettingChange, Step
from wizard.plan.desired import Adoption
from wizard.plan.review import PolicyReview, Reviews
from wizard.policy.merge import PolicyError, parse_policy, render_policy


@dataclass(frozen=True)
class PlanInputs:
    """What every chain reads: the answers, the names they give, the facts and the reviews."""

    answers: Answers
    """The answers the plan is for."""
    names: Names
    """Names and ARNs derived from the answers in this account."""
    found: Discovery
    """What discovery found in the account."""
    reviews: Reviews
    """The policy reviews (the documents each policy step writes)."""
    run_id: str | None
    """The run id new resources are tagged with; None for a plan that is only shown."""
    adopted: Adoption = field(default_factory=Adoption)
    """Which existing resources the answers name are theirs: updated, not created
    (:mod:`wizard.plan.desired`)."""

    def creation_tags(self) -> dict[str, str]:
        """The tags a new resource is created with (see :func:`creation_tags`)."""
        return creation_tags(self.answers, self.run_id)


class PlanBuilder:
    """Collects the plan's steps in the order the chains add them."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.trail_settings: dict[str, Any] = {}
        """The trail as the plan leaves it (:attr:`wizard.model.plan.Plan.trail_settings`)."""

    def add(
        self,
        step_id: str,
        chain: Chain,
        call: Call,
        summary: str,
        *,
        creates: str | None = None,
        changes: str | None = None,
        depends_on: list[str] | None = None,
        undo: list[Call] | None = None,
        undo_summary: str = "",
        policy: PolicyChange | None = None,
        retry_on: list[str] | None = None,
        settings: list[SettingChange] | None = None,
    ) -> str:
        """Add one step.

        Returns:
            The step's id, for the steps that depend on it.
        """
        self.steps.append(
            Step(
                id=step_id,
                call=call,
                summary=summary,
                chain=chain,
                creates=creates,
                changes=changes,
                depends_on=depends_on or [],
                undo=undo or [],
                undo_summary=undo_summary,
                policy=policy,
                retry_on=retry_on or [],
                settings=settings or [],
            )
        )
        return step_id

    def ids_in(self, chain: Chain) -> list[str]:
        """The ids of the steps added so far to one chain, in order."""
        return [step.id for step in self.steps if step.chain == chain]


def tags_kv(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """Tags as the list of key/value pairs AWS APIs take, sorted by key."""
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def creation_tags(answers: Answers, run_id: str | None) -> dict[str, str]:
    """The tags a new resource is created with: the answers' tags plus the run tag.

    The run tag (:data:`wizard.model.names.RUN_TAG`, valued with the plan's run id) is how a
    resource is known to be this run's: a recovery or rollback only touches what carries it.
    An answers tag with the same key never replaces it.
    """
    tags = {k: v for k, v in answers.trail.tags.items() if k != RUN_TAG}
    if run_id:
        tags[RUN_TAG] = run_id
    return dict(sorted(tags.items()))


def readable_diff(before: str | None, after: str) -> str:
    """A diff of the pretty-printed documents, so a one-line policy still diffs line by line.

    The policy written is the merged text itself (byte-for-byte the owner's statements); this
    view only lays both sides out the same way so the added statements stand out.
    """
    if not before:
        return ""
    try:
        old, new = render_policy(parse_policy(before)), render_policy(parse_policy(after))
    except PolicyError:
        old, new = before, after
    if old == new:
        return ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), "current", "merged", n=3
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def policy_change(review: PolicyReview) -> PolicyChange:
    """What a step does to a reviewed policy: before, after, diff and the statements added."""
    return PolicyChange(
        kind=review.kind,
        resource=review.resource,
        before=None if review.new_resource else review.before,
        after=review.document,
        new_resource=review.new_resource,
        diff=readable_diff(review.before, review.document) if review.merged else "",
        added_sids=[
            str(s.get("Sid", ""))
            for s in (
                review.merged.added if review.merged else review.required.get("Statement", [])
            )
        ],
    )
