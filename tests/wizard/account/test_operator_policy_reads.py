"""With exactly the operator policy the wizard generates, discovery reads the trails that may
already record the account (issue 18): the cost preview's other copies of management events
and a landing zone's organization trail are known, not "unknown".

Over HTTP against the sandbox, as an IAM user whose only policy is the operator policy (the
sandbox enforces IAM users' identity policies on every call).
"""

from __future__ import annotations

from typing import Any

import boto3

from tests.sandbox_fixtures import REGION
from wizard.aws.clients import Boto3Caller, ClientFactory
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.context import AccountContext
from wizard.policy.operator import operator_policy
from wizard.sandbox.identities import create_trainee_identity
from wizard.sandbox.org_trails import seed_landing_zone
from wizard.sandbox.server import DEMO_ACCOUNT


def answers(account: str) -> Answers:
    return Answers.model_validate(
        {
            "trail": {"name": "operator-trail", "region": REGION},
            "bucket": {"name": f"operator-trail-logs-{account}"},
            "encryption": {"type": "sse-s3"},
        }
    )


def engine_as_operator(sandbox: Any, wanted: Answers, account: str) -> Engine:
    """An engine signing as an IAM user of ``account`` that holds only the operator policy."""
    policy = operator_policy(wanted, AccountContext(account_id=account, region=REGION))
    # moto's IAM refuses a resource "arn:aws:iam::ACCOUNT:*" (the permission check's
    # SimulatePrincipalPolicy): without it the check is skipped, the plan goes on.
    policy["Statement"] = [
        s for s in policy["Statement"] if s.get("Resource") != f"arn:aws:iam::{account}:*"
    ]
    identity = create_trainee_identity(
        sandbox.endpoint_url, "operator", inline={"operator": policy}, account=account
    )
    session = boto3.session.Session(
        aws_access_key_id=identity.access_key_id,
        aws_secret_access_key=identity.secret_access_key,
        region_name=REGION,
    )
    caller = Boto3Caller(ClientFactory(session, endpoint_url=sandbox.endpoint_url))
    return Engine.connect(caller, REGION)


def test_the_cost_preview_reads_the_accounts_other_trails(sandbox: Any) -> None:
    wanted = answers(DEMO_ACCOUNT)
    engine = engine_as_operator(sandbox, wanted, DEMO_ACCOUNT)

    plan, _found = engine.plan(wanted)

    assert plan.cost is not None
    (item,) = [i for i in plan.cost.items if i.what == "Management events (this trail's copy)"]
    assert "could not be read" not in item.basis, item.basis


def test_a_member_reads_the_organization_trail_that_records_it(sandbox: Any) -> None:
    zone = seed_landing_zone(sandbox.endpoint_url)
    member = zone.members["workload"]
    wanted = answers(member)
    engine = engine_as_operator(sandbox, wanted, member)

    _plan, found = engine.plan(wanted)

    (trail,) = found.organization_trails
    assert trail.errors == []
    assert (trail.management, trail.data_events, trail.insights) == ("all", False, [])
    assert "unknown" not in trail.records_text()
