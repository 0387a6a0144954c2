"""Plain mode's delegated administrator question (issue 18): asked in the management account
only, where the organization trail is chosen, with the guide's help (the trail's ARN stays
the management account's); preflight's findings about it are printed by the review."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from screens.plain import wizard as plain
from tests.screens.member_backend import MemberBackend
from tests.screens.plain.test_plain import (  # fixtures, by name
    NEW_BUCKET_SSE_S3,
    QUESTIONS,
    FakePrompt,
    Run,
    Seq,
    plain_args,
    plain_sandbox,  # noqa: F401
    run_wizard,  # noqa: F401
    sandbox,  # noqa: F401
)
from wizard.model.answers import Answers
from wizard.model.names import check_account_id
from wizard.sandbox.org_trails import LandingZone, seed_landing_zone

PROMPT = QUESTIONS["organization.delegated_admin"].prompt


@pytest.fixture
def zone(sandbox: Any) -> LandingZone:  # noqa: F811 - the fixture imported above
    return seed_landing_zone(sandbox.endpoint_url)


def test_the_management_account_is_asked_and_the_plan_registers_it(
    run_wizard: Callable[..., Run],  # noqa: F811
    zone: LandingZone,
) -> None:
    audit = zone.members["audit"]
    run = run_wizard(
        {**NEW_BUCKET_SSE_S3, PROMPT: Seq("12345", audit), plain.PROMPT_NEXT: "quit"},
        show_help=False,
    )

    assert run.code == 0, run.output
    assert run.fake.rejected == [check_account_id("12345")]
    prompts = run.fake.prompts()
    # Asked in the Trail step, right after the organization trail question.
    assert prompts.index(PROMPT) == prompts.index(QUESTIONS["trail.organization"].prompt) + 1
    # Its help says the trail's ARN stays in the management account, and the line above it
    # what the organization has now.
    assert " ".join(QUESTIONS["organization.delegated_admin"].help.split()) in run.text
    assert (
        f"Delegated administrator: This is the management account of {zone.organization_id}: "
        "it may register one (none is registered yet; at most 3)."
    ) in run.text
    # The review: the step and preflight's note, which names the management account.
    assert f"Register account {audit} as CloudTrail's delegated administrator" in run.text
    assert "[delegated-admin-planned]" in run.output
    assert f"their ARNs name {zone.management_account}" in run.text


def test_naming_the_management_account_itself_is_refused_by_preflight_with_its_fix(
    run_wizard: Callable[..., Run],  # noqa: F811
    zone: LandingZone,
) -> None:
    run = run_wizard({**NEW_BUCKET_SSE_S3, PROMPT: zone.management_account}, show_help=False)

    assert run.code == 2, run.output  # blocked: nothing is changed, nothing more is asked
    assert "[delegated-admin-not-ready]" in run.output
    assert (
        f"{zone.management_account} is the management account, which cannot be its own "
        "delegated administrator: name a member account"
    ) in run.text
    assert "Fix these, or remove organization.delegated_admin." in run.text


def test_a_member_account_is_not_asked_and_an_answer_for_it_is_dropped(
    sandbox: Any,  # noqa: F811
    zone: LandingZone,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    member = zone.members["workload"]
    answers = Answers.model_validate(
        {
            "trail": {"name": "member-trail"},
            "bucket": {"name": f"member-trail-logs-{member}"},
            "encryption": {"type": "sse-s3"},
            "organization": {"delegated_admin": zone.members["audit"]},
        }
    )
    fake = FakePrompt({plain.PROMPT_NEXT: "quit", "Add only what is missing": False})
    fake.install(monkeypatch)
    backend = MemberBackend(sandbox=True, endpoint=sandbox.endpoint_url)
    backend.member = member
    out = io.StringIO()

    code = plain.run_plain(plain_args(), backend=backend, out=out, answers=answers, show_help=False)

    text = " ".join(out.getvalue().split())
    assert code == 0, out.getvalue()
    assert not fake.find(PROMPT)
    assert (
        f"Delegated administrator: Not asked: only the management account "
        f"({zone.management_account}) can register CloudTrail's delegated administrator. "
        f"The answers named {zone.members['audit']}; that is dropped."
    ) in text
    assert "register-delegated-admin" not in text and "[delegated-admin-" not in text
