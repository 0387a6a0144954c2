"""Plain mode on an existing trail: give its name, then change it or fix its failed controls.

Driven with the fake questionary prompts of ``test_plain`` against the seeded sandbox, whose
legacy trail (us-west-2, one region, no validation, SSE-S3) is the trail changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from screens.plain import existing
from screens.plain import wizard as plain
from tests.screens.plain.test_plain import (  # noqa: F401 (fixtures used by name)
    QUESTIONS,
    Run,
    plain_sandbox,
    run_wizard,
    sandbox,
)
from wizard.sandbox.server import DEMO_ACCOUNT, DEMO_TRAIL, Sandbox

pytestmark = pytest.mark.aws

LEGACY_ARN = f"arn:aws:cloudtrail:us-west-2:{DEMO_ACCOUNT}:trail/{DEMO_TRAIL}"
WHAT_NOW = existing.PROMPT_EXISTING
VALIDATION = QUESTIONS["trail.log_file_validation"].prompt


def _trail(emulator: Sandbox) -> dict[str, Any]:
    client = boto3.client(
        "cloudtrail",
        region_name="us-west-2",
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return dict(client.get_trail(Name=LEGACY_ARN)["Trail"])


def test_welcome_says_how_to_change_an_existing_trail(run_wizard: Callable[..., Run]) -> None:  # noqa: F811
    run = run_wizard({"Trail name": KeyboardInterrupt})

    assert run.code == 130
    assert " ".join(existing.HINT.split()) in run.text
    # A new trail's name asks nothing more: the flow is as before.
    assert WHAT_NOW not in " ".join(run.fake.prompts())


def test_changing_a_trail_starts_from_its_settings_and_says_what_changed(
    run_wizard: Callable[..., Run],  # noqa: F811
    sandbox: Sandbox,  # noqa: F811
) -> None:
    run = run_wizard(
        {
            "Trail name": DEMO_TRAIL,
            WHAT_NOW: "change",
            VALIDATION: True,
            plain.PROMPT_NEXT: "apply",
            f"change to account {DEMO_ACCOUNT} in region us-west-2?": True,
            plain.PROMPT_SAVE: False,
        },
        show_help=False,
    )

    assert run.code == 0, run.output
    asked = {a.prompt: a for a in run.fake.asked}
    # Each question started from the trail's current value.
    assert asked[QUESTIONS["trail.multi_region"].prompt].options["default"] is False
    assert asked[VALIDATION].options["default"] is False
    assert asked["Bucket name"].options["default"] == f"demo-legacy-trail-logs-{DEMO_ACCOUNT}"
    assert asked["How should log files be encrypted?"].options["default"] == "sse-s3"
    # The change is said after its step, the others steps say there was none, and the
    # review starts with every change.
    assert "Changed on this step: - Log file validation: yes, changed (was: no)" in run.text
    assert run.text.count("No change on this step") == 5
    review = run.text.split("Step 8 of 8")[1]
    assert f"Changing the existing trail {DEMO_TRAIL} (home region us-west-2)" in review
    assert "Changed: - Log file validation: yes, changed (was: no)" in review
    # Applied as an update: the trail has validation now, and is otherwise as it was.
    trail = _trail(sandbox)
    assert trail["LogFileValidationEnabled"] is True
    assert trail["IsMultiRegionTrail"] is False


def test_fixing_a_trail_lists_the_fixes_and_reviews_the_chosen_ones(
    run_wizard: Callable[..., Run],  # noqa: F811
    sandbox: Sandbox,  # noqa: F811
) -> None:
    run = run_wizard(
        {
            "Trail name": DEMO_TRAIL,
            WHAT_NOW: "fix",
            existing.PROMPT_FIXES: ["multi-region", "log-file-validation"],
            existing.PROMPT_WALK: False,
            plain.PROMPT_NEXT: "quit",
        },
        show_help=False,
    )

    assert run.code == 0, run.output
    # Every fix was listed with why, and offered ticked.
    checklist = run.fake.find(existing.PROMPT_FIXES)[0]
    assert checklist.choice_values == [
        "multi-region",
        "log-file-validation",
        "sse-kms",
        "access-logging",
        "s3-object-events",
        "cloudwatch-logs",
    ]
    assert all(c.checked for c in checklist.options["choices"])
    assert "passes CloudTrail.4 / CIS 4.2 (v7.0) (Log file validation enabled)" in run.text
    # No step was asked again: straight to the review of the two fixes kept.
    assert "Bucket name" not in run.fake.prompts()
    review = run.text.split("Step 8 of 8")[1]
    assert "Fixes chosen: Record every region (multi-region trail) (CloudTrail.1)" in review
    assert "Record every region: yes, changed (was: no)" in review
    assert "Log file validation: yes, changed (was: no)" in review
    assert "Encryption" not in review.split("Account ")[0]
    assert "cloudtrail:UpdateTrail in us-west-2" in run.output
    assert _trail(sandbox)["IsMultiRegionTrail"] is False  # quit: nothing changed


def test_a_new_trail_by_that_name_goes_on_as_before(
    run_wizard: Callable[..., Run],  # noqa: F811
) -> None:
    run = run_wizard(
        {"Trail name": DEMO_TRAIL, WHAT_NOW: "new", "Bucket name": KeyboardInterrupt},
        show_help=False,
    )

    assert run.code == 130
    assert "Changing the existing trail" not in run.text
    assert "No change on this step" not in run.text
    asked = {a.prompt: a for a in run.fake.asked}
    assert asked[QUESTIONS["trail.multi_region"].prompt].options["default"] is True
