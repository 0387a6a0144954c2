"""Landing zones and CloudTrail's delegated administrator, in the sandbox (issue 18).

An organization whose management account runs a Control Tower-like organization trail
(``seed_landing_zone``): a member account's plan finds it, says where it delivers and what it
records, and "add only what is missing" plans no management events, the cost saying why. From
the management account a delegated administrator is registered (a plan step, undone by
deregistering); that account then creates the organization trail, whose ARN stays in the
management account. Preflight refuses what AWS would refuse, each time with the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_fixtures import ACCOUNT, REGION, engine_on
from wizard.aws.accounts import assume_role_session
from wizard.engine import Engine
from wizard.export.text import plan_to_json, plan_to_text
from wizard.model.answers import Answers
from wizard.model.landing import CONTROL_TOWER_TRAIL, LZA_TRAIL, OrganizationTrail, landing_kind
from wizard.model.plan import Plan
from wizard.plan.landing import add_only_missing
from wizard.plan.planner.organization import REGISTER_STEP
from wizard.policy.operator import action_for, operator_policy
from wizard.ports import AwsCaller, AwsError
from wizard.run.apply import rollback_recorded
from wizard.sandbox.org_trails import LandingZone, seed_landing_zone

CLOUDTRAIL = "cloudtrail.amazonaws.com"


ACTIVITY = 40
"""Calls made as the member before a cost preview that must price its activity."""


def answers(**sections: Any) -> Answers:
    data: dict[str, Any] = {
        "trail": {"name": "member-audit", "region": REGION},
        "bucket": {"name": "member-audit-logs-4711", "create": True},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return Answers.model_validate(data)


@pytest.fixture
def landing_zone(sandbox: Any) -> LandingZone:
    """The demo account as the management account of a Control Tower-like landing zone."""
    return seed_landing_zone(sandbox.endpoint_url)


def engine_as(sandbox_session: Any, account: str) -> Engine:
    """The engine connected as ``account`` (a role assumed from the demo account)."""
    session = assume_role_session(
        sandbox_session, f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    )
    connected: Engine = engine_on(session)
    return connected


def codes(plan: Plan) -> dict[str, str]:
    return {f.code: f.message for f in plan.findings}


def selectors_call(plan: Plan) -> dict[str, Any]:
    (step,) = [s for s in plan.steps if s.call.operation == "PutEventSelectors"]
    return step.call.params


# ------------------------------------------------------------------- landing zone


def test_a_member_finds_the_control_tower_trail_and_the_plan_says_so(
    landing_zone: LandingZone, sandbox_session: Any
) -> None:
    member = engine_as(sandbox_session, landing_zone.members["workload"])
    # A known floor of activity in the member's event history: the preview's count is what
    # the history holds when it is read, and the plan's own discovery reads, made at the
    # same time, are counted or not as they land (3 to 24 events: a copy priced at $0.00 or
    # $0.01, rounded to the cent).
    for _ in range(ACTIVITY):
        member.caller.call("s3", REGION, "ListBuckets")
    plan, found = member.plan(answers())

    (trail,) = found.organization_trails
    assert trail.name == CONTROL_TOWER_TRAIL and trail.kind == "control-tower"
    assert trail.arn == landing_zone.trail_arn
    assert trail.owner_account == landing_zone.management_account
    assert trail.bucket == landing_zone.bucket and trail.multi_region and trail.logging
    assert (trail.management, trail.data_events, trail.insights) == ("all", False, [])

    block = plan_to_json(plan)["organization_trails"]
    assert [b["name"] for b in block] == [CONTROL_TOWER_TRAIL]
    assert block[0]["made_by"] == "AWS Control Tower"
    assert block[0]["owner_account"] == landing_zone.management_account
    assert "read and write management events" in block[0]["records"]
    assert block[0]["duplicate_cost"].startswith("Management events (this trail's copy)")
    text = plan_to_text(plan)
    assert "Organization trails that already record this account:" in text
    assert f"s3://{landing_zone.bucket}/" in text
    warning = codes(plan)["organization-trail-exists"]
    assert "second, charged copy" in warning and "events.management to none" in warning
    assert "organization-trail-covers-account" in codes(plan)
    # The cost preview prices this trail's copy as a second one (the organization's is free).
    assert plan.cost is not None
    (item,) = [i for i in plan.cost.items if i.what == "Management events (this trail's copy)"]
    # At least ACTIVITY events a day for 30 days, each copy at $2.00 per 100,000.
    assert item.monthly_usd_low >= round(ACTIVITY * 30 * 2.0 / 100_000, 2) > 0
    assert CONTROL_TOWER_TRAIL in item.basis and "charged at $2.00 per 100,000" in item.basis


def test_add_only_what_is_missing_plans_no_management_events_and_the_cost_says_why(
    landing_zone: LandingZone, sandbox_session: Any
) -> None:
    member = engine_as(sandbox_session, landing_zone.members["workload"])
    first, found = member.plan(answers(events={"insights": ["ApiCallRateInsight"]}))
    draft = answers(events={"insights": ["ApiCallRateInsight"]}).model_dump(mode="json")

    changed, said = add_only_missing(draft, found.organization_trails)
    only_missing = Answers.model_validate(changed)
    plan, _ = member.plan(only_missing)

    assert only_missing.events.management == "none"
    assert only_missing.events.insights == []
    assert [d.type for d in only_missing.events.data] == ["s3"]
    assert any("Management events: none" in s for s in said)
    params = selectors_call(plan)
    for selector in params.get("AdvancedEventSelectors", []):
        categories = [f for f in selector["FieldSelectors"] if f["Field"] == "eventCategory"]
        assert categories and categories[0]["Equals"] == ["Data"], selector
    assert all(
        not s.get("IncludeManagementEvents", False) for s in params.get("EventSelectors", [])
    )
    assert not any(s.call.operation == "PutInsightSelectors" for s in plan.steps)
    assert "organization-trail-exists" not in codes(plan)
    assert plan.cost is not None and first.cost is not None
    names = [i.what for i in plan.cost.items]
    assert "Management events (this trail's copy)" not in names
    (item,) = [i for i in plan.cost.items if i.what.startswith("Management events (left")]
    assert item.monthly_usd_high == 0
    assert CONTROL_TOWER_TRAIL in item.basis and "a second copy here would be charged" in item.basis
    assert "Management events (left to the organization trail)" in plan_to_text(plan)


class DeniedSelectors:
    """The member may list the organization trail but not read its selectors (a fault)."""

    def __init__(self, inner: AwsCaller) -> None:
        self.inner = inner

    def call(self, service: str, region: str, operation: str, params: Any = None) -> Any:
        if operation in ("GetEventSelectors", "GetInsightSelectors"):
            raise AwsError(
                service=service,
                operation=operation,
                code="AccessDeniedException",
                message="not authorized",
            )
        return self.inner.call(service, region, operation, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_what_a_member_cannot_read_of_the_organization_trail_is_unknown(
    landing_zone: LandingZone, sandbox_session: Any
) -> None:
    member = engine_as(sandbox_session, landing_zone.members["workload"])
    denied = Engine(DeniedSelectors(member.caller), member.ctx, check_permissions=False)
    plan, found = denied.plan(answers())

    (trail,) = found.organization_trails
    assert (trail.management, trail.data_events, trail.insights) == (None, None, None)
    assert trail.errors == [
        "GetEventSelectors: AccessDeniedException",
        "GetInsightSelectors: AccessDeniedException",
    ]
    assert "management events: unknown" in trail.records_text()
    assert "Insights: unknown" in trail.records_text()
    assert "may record" in codes(plan)["organization-trail-exists"]


def test_the_landing_zone_tools_are_told_apart_by_their_trail_names() -> None:
    assert landing_kind(CONTROL_TOWER_TRAIL) == "control-tower"
    assert landing_kind(LZA_TRAIL) == "landing-zone-accelerator"
    assert landing_kind("org-audit") == "organization"


def test_a_member_may_not_stop_the_organization_trail(
    landing_zone: LandingZone, sandbox_session: Any
) -> None:
    member = engine_as(sandbox_session, landing_zone.members["workload"])
    with pytest.raises(AwsError) as refused:
        member.caller.call("cloudtrail", REGION, "StopLogging", {"Name": landing_zone.trail_arn})
    assert refused.value.code == "NotOrganizationMasterAccountException"


# ------------------------------------------------------------ delegated administrator


def delegated_admins(aws: Any) -> list[str]:
    listed = aws("organizations").list_delegated_administrators(ServicePrincipal=CLOUDTRAIL)
    return [a["Id"] for a in listed["DelegatedAdministrators"]]


def test_the_management_account_registers_a_delegated_administrator_and_rollback_undoes_it(
    landing_zone: LandingZone, engine: Engine, aws: Any, tmp_path: Path
) -> None:
    audit = landing_zone.members["audit"]
    wanted = answers(organization={"delegated_admin": audit})
    plan, found = engine.plan(wanted)

    step = plan.step(REGISTER_STEP)
    assert (step.call.operation, step.call.params) == (
        "RegisterOrganizationDelegatedAdmin",
        {"MemberAccountId": audit},
    )
    assert [(u.operation, u.params) for u in step.undo] == [
        ("DeregisterOrganizationDelegatedAdmin", {"DelegatedAdminAccountId": audit})
    ]
    assert "delegated-admin-planned" in codes(plan) and not plan.blocked
    assert "ARNs stay in the management account" in plan_to_text(plan)

    outcome = engine.apply(wanted, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message
    assert delegated_admins(aws) == [audit]

    # Registered already: planned again, nothing to register.
    again, _ = engine.plan(wanted)
    assert REGISTER_STEP not in [s.id for s in again.steps]
    assert "delegated-admin-registered" in codes(again)

    report = rollback_recorded(
        plan,
        engine.caller,
        completed=[s.id for s in plan.steps],
        outputs=outcome.report.outputs,
        written={},
    )
    assert report.status == "rolled-back", report.message
    assert delegated_admins(aws) == []


def test_the_delegated_administrator_creates_the_organization_trail_in_the_management_account(
    landing_zone: LandingZone, sandbox_session: Any, aws: Any, tmp_path: Path
) -> None:
    audit = landing_zone.members["audit"]
    aws("cloudtrail").register_organization_delegated_admin(MemberAccountId=audit)
    admin = engine_as(sandbox_session, audit)
    wanted = answers(trail={"name": "org-audit", "organization": True})

    plan, found = admin.plan(wanted)

    assert found.organization is not None and found.organization.is_delegated_admin
    management = landing_zone.management_account
    assert plan.trail_arn == f"arn:aws:cloudtrail:{REGION}:{management}:trail/org-audit"
    assert "organization-trail-delegated-admin" in codes(plan) and not plan.blocked
    bucket_policy = plan.policies["bucket_policy"]
    assert plan.trail_arn in bucket_policy
    outcome = admin.apply(wanted, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message

    # The trail is the management account's: its own CloudTrail has it, under its ARN.
    trail = aws("cloudtrail").get_trail(Name="org-audit")["Trail"]
    assert trail["TrailARN"] == plan.trail_arn and trail["IsOrganizationTrail"]
    assert aws("cloudtrail").get_trail_status(Name="org-audit")["IsLogging"]


# ------------------------------------------------------------------------ preflight


def test_a_member_cannot_register_a_delegated_administrator(
    landing_zone: LandingZone, sandbox_session: Any
) -> None:
    member = engine_as(sandbox_session, landing_zone.members["workload"])
    plan, _ = member.plan(answers(organization={"delegated_admin": landing_zone.members["audit"]}))

    message = codes(plan)["delegated-admin-not-ready"]
    assert plan.blocked
    assert f"only the management account ({ACCOUNT})" in message
    assert "run the wizard with that account's credentials" in message


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("management", "cannot be its own delegated administrator"),
        ("stranger", "is not a member of organization"),
    ],
)
def test_the_delegated_administrator_must_be_a_member_account(
    landing_zone: LandingZone, engine: Engine, who: str, expected: str
) -> None:
    account = ACCOUNT if who == "management" else "444455556666"
    plan, _ = engine.plan(answers(organization={"delegated_admin": account}))

    assert plan.blocked and expected in codes(plan)["delegated-admin-not-ready"]
    assert REGISTER_STEP in [s.id for s in plan.steps]  # shown, but apply is blocked


def test_without_trusted_access_registration_and_organization_trails_are_refused_with_the_fix(
    landing_zone: LandingZone, engine: Engine, aws: Any
) -> None:
    aws("organizations").disable_aws_service_access(ServicePrincipal=CLOUDTRAIL)
    plan, _ = engine.plan(
        answers(
            trail={"name": "org-audit", "organization": True},
            organization={"delegated_admin": landing_zone.members["audit"]},
        )
    )

    found = codes(plan)
    for code in ("delegated-admin-not-ready", "organization-not-ready"):
        assert "trusted access for CloudTrail is off" in found[code]
        assert (
            "enable-aws-service-access --service-principal cloudtrail.amazonaws.com" in found[code]
        )


def test_a_member_that_is_not_the_delegated_administrator_cannot_plan_an_organization_trail(
    landing_zone: LandingZone, sandbox_session: Any
) -> None:
    member = engine_as(sandbox_session, landing_zone.members["workload"])
    plan, _ = member.plan(answers(trail={"name": "org-audit", "organization": True}))

    message = codes(plan)["organization-not-ready"]
    assert "only the management account or CloudTrail's delegated administrator" in message
    assert "organization.delegated_admin" in message


def test_add_only_missing_keeps_what_is_not_about_management_events() -> None:
    trail = OrganizationTrail(
        name=CONTROL_TOWER_TRAIL, arn="arn:aws:cloudtrail:us-east-1:111111111111:trail/x",
        home_region=REGION, management="all",
    )  # fmt: skip
    # The draft as the wizards hold it: one Insights question for both kinds.
    draft: dict[str, Any] = {
        "events": {
            "management": "write",
            "exclude_sources": ["kms.amazonaws.com"],
            "insights": ["ApiCallRateInsight", "data:ApiErrorRateInsight"],
            "data": [{"type": "lambda", "resources": "all", "read_write": "all"}],
        }
    }

    changed, said = add_only_missing(draft, [trail])

    assert changed["events"] == {
        "management": "none",
        "exclude_sources": [],
        "insights": ["data:ApiErrorRateInsight"],
        "data": [{"type": "lambda", "resources": "all", "read_write": "all"}],
    }
    assert draft["events"]["management"] == "write"  # the caller's draft is left alone
    assert len(said) == 3
    again, nothing = add_only_missing(changed, [trail])
    assert again == changed and nothing == []


def test_the_operator_policy_grants_registering_and_deregistering(
    landing_zone: LandingZone, engine: Engine
) -> None:
    wanted = answers(organization={"delegated_admin": landing_zone.members["audit"]})
    plan, _ = engine.plan(wanted)
    statements = operator_policy(wanted, engine.ctx)["Statement"]
    granted = {
        action
        for s in statements
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }

    step = plan.step(REGISTER_STEP)
    for call in (step.call, *step.undo):
        assert action_for(call.service, call.operation) in granted
    without = operator_policy(answers(), engine.ctx)["Statement"]
    assert "RegisterCloudTrailDelegatedAdmin" not in {s["Sid"] for s in without}
