"""The whole plan: every chain in order, the findings and the policies to show.

The answers are compared with what exists first (:mod:`wizard.plan.desired`): resources
that exist and are the answers' own are updated where they differ and left alone where
they match, so a plan for answers already applied has no step at all.
"""

from __future__ import annotations

from typing import Any

from wizard.account.discovery import Discovery
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.model.plan import Finding, Plan, by_severity
from wizard.plan.central import build_handoff
from wizard.plan.desired import (
    adopt_reviews,
    adoption,
    desired_findings,
    key_left_alone,
    resource_states,
)
from wizard.plan.planner.access_logs import access_log_chain
from wizard.plan.planner.bucket import bucket_chain
from wizard.plan.planner.builder import PlanBuilder, PlanInputs
from wizard.plan.planner.key import key_chain
from wizard.plan.planner.logs import logs_chain
from wizard.plan.planner.organization import organization_chain
from wizard.plan.planner.tidy import tidy_chain
from wizard.plan.planner.topic import topic_chain
from wizard.plan.planner.trail import trail_chain
from wizard.plan.preflight import preflight
from wizard.plan.review import Reviews, review_policies
from wizard.policy.merge import render_policy
from wizard.policy.operator import operator_policy


def build_plan(
    answers: Answers, ctx: AccountContext, found: Discovery, *, run_id: str | None = None
) -> Plan:
    """The plan for these answers in this account; findings included (errors block).

    ``run_id`` (:func:`wizard.run.orphans.new_run_id`) is given for a plan that will be applied:
    every resource the plan creates (key, bucket, access log bucket, trail, topic, log group,
    role) is then tagged with it at creation, so what this run made can be told from what
    was already there (and a key created twice by a retried request can be found and
    removed). Without it the plan is the same for the same inputs.
    """
    names = Names(answers, ctx)
    adopted = adoption(answers, names, found)
    reviews, adopted = adopt_reviews(
        answers, ctx, found, review_policies(answers, ctx, found), adopted
    )
    findings = preflight(answers, ctx, found, reviews)
    findings += desired_findings(answers, names, found, adopted)
    given = PlanInputs(answers, names, found, reviews, run_id, adopted)
    b = PlanBuilder()
    trail_deps: list[str] = []
    organization_chain(b, given)
    key_ref = key_chain(b, given, trail_deps)
    bucket_chain(b, given, key_ref, trail_deps)
    topic_ref = topic_chain(b, given, trail_deps)
    role_ref = logs_chain(b, given, trail_deps)
    trail_chain(b, given, key_ref, topic_ref, role_ref, trail_deps)
    access_log_chain(b, given)
    tidy_chain(b, given)
    if adopted.trail is not None and not adopted.trail.errors:
        note: Finding | None = key_left_alone(adopted.trail, key_ref)
        if note is not None:
            findings.append(note)
    key_arn = key_ref if key_ref is not None and not key_ref.startswith("${") else None
    return Plan(
        account_id=ctx.account_id,
        partition=names.partition,
        home_region=names.home_region,
        trail_arn=names.trail_arn,
        steps=b.steps,
        trail_settings=b.trail_settings,
        findings=by_severity(findings),
        policies=_policies(answers, ctx, found, reviews),
        fingerprint=found.fingerprint(),
        run_id=run_id,
        resources=resource_states(answers, names, found, b.steps, key_arn),
        organization_trails=found.organization_trails,
    )


def _policies(
    answers: Answers, ctx: AccountContext, found: Discovery, reviews: Reviews
) -> dict[str, Any]:
    """Every policy document the plan writes or asks for, by name (for review and export)."""
    policies: dict[str, Any] = {
        "bucket_policy": reviews.bucket.document,
        "key_policy": reviews.key.document if reviews.key else None,
        "sns_topic_policy": reviews.topic.document if reviews.topic else None,
        "cloudwatch_logs_role_trust_policy": (
            reviews.role_trust.document if reviews.role_trust else None
        ),
        "cloudwatch_logs_role_policy": reviews.role_permissions,
    }
    if reviews.access_logs is not None:
        policies["access_log_bucket_policy"] = reviews.access_logs.document
    policies["operator_policy"] = render_policy(operator_policy(answers, ctx))
    if reviews.role_permissions is not None:
        policies["cloudwatch_logs_role_policy"] = render_policy(reviews.role_permissions)
    if found.central is not None:
        pack = build_handoff(answers, ctx, found, reviews)
        if pack is not None:
            policies["central_handoff"] = pack.model_dump(mode="json")
    return policies
