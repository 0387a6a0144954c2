"""Plain mode in a landing zone (issue 18): a member account of an organization whose
Control Tower-like trail already records it is told so, and offered to add only what is
missing; the review prints the organization trails and what a duplicate would cost."""

from __future__ import annotations

import io
from typing import Any

import pytest

from screens.plain.wizard import PlainWizard
from tests.sandbox_fixtures import REGION, engine_on
from wizard.aws.accounts import assume_role_session
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.landing import CONTROL_TOWER_TRAIL
from wizard.sandbox.org_trails import LandingZone, seed_landing_zone


class Yes:
    """A prompter that answers every yes/no question with ``answer`` and records the prompts."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def confirm(self, prompt: str, *, default: bool) -> bool:
        self.asked.append(prompt)
        return self.answer

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"plain mode asked {name}: only a yes/no question was expected")


class Account:
    """What ``offer_only_missing`` reads of the connected account."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id


@pytest.fixture
def landing_zone(sandbox: Any) -> LandingZone:
    return seed_landing_zone(sandbox.endpoint_url)


@pytest.fixture
def member(landing_zone: LandingZone, sandbox_session: Any) -> Engine:
    account = landing_zone.members["workload"]
    session = assume_role_session(
        sandbox_session, f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    )
    engine: Engine = engine_on(session)
    return engine


def wizard(prompter: Yes, draft: dict[str, Any]) -> tuple[PlainWizard, io.StringIO]:
    out = io.StringIO()
    run = PlainWizard(object(), out=out, draft=draft, show_help=False, prompter=prompter)  # type: ignore[arg-type]
    return run, out


DRAFT: dict[str, dict[str, Any]] = {
    "trail": {"name": "member-audit", "region": REGION},
    "bucket": {"name": "member-audit-logs-4711", "create": True},
}


def lines(out: io.StringIO) -> str:
    return " ".join(out.getvalue().split())


@pytest.mark.parametrize("accept", [True, False])
def test_a_member_is_told_of_the_organization_trail_and_offered_only_what_is_missing(
    member: Engine, landing_zone: LandingZone, accept: bool
) -> None:
    prompter = Yes(accept)
    run, out = wizard(prompter, {k: dict(v) for k, v in DRAFT.items()})

    assert run.offer_only_missing(member, Account(member.ctx.account_id))  # type: ignore[arg-type]

    text = lines(out)
    assert (
        f"Already recorded: {CONTROL_TOWER_TRAIL} (AWS Control Tower's organization trail" in text
    )
    assert (
        f"s3://{landing_zone.bucket}/, owned by account {landing_zone.management_account}" in text
    )
    assert "A second copy of management events in a trail of this account is charged" in text
    assert prompter.asked == ["Add only what is missing (no management events in the new trail)?"]
    answers = Answers.model_validate(run.draft)
    if accept:
        assert answers.events.management == "none"
        assert [d.type for d in answers.events.data] == ["s3"]
        assert "Management events: none" in text
    else:
        assert answers.events.management == "all" and not answers.events.data


def test_a_standalone_account_is_not_asked(engine: Engine) -> None:
    prompter = Yes(True)
    run, out = wizard(prompter, {})

    assert not run.offer_only_missing(engine, Account(engine.ctx.account_id))  # type: ignore[arg-type]
    assert prompter.asked == [] and out.getvalue() == ""


def test_the_review_prints_the_organization_trails_and_the_cost_of_a_copy(
    member: Engine, landing_zone: LandingZone
) -> None:
    run, out = wizard(Yes(True), {})
    plan, _ = member.plan(Answers.model_validate(DRAFT))

    run.print_organization_trails(plan)

    text = lines(out)
    assert "Organization trails that already record this account:" in text
    assert CONTROL_TOWER_TRAIL in text
    assert "Management events (this trail's copy):" in text
