"""Plain mode's Events step: selectors added, refused, asked again, changed and removed.

The same guide questions as the TUI's selector editor, answered by the fake prompter; a
selector that would record the trail's own log bucket is refused with the reason and asked
again from what was typed, and the plan sends what was finally written.
"""

from __future__ import annotations

from collections.abc import Callable

from screens.plain import wizard as plain
from tests.screens.plain.test_plain import (  # noqa: F401 (fixtures)
    QUESTIONS,
    Run,
    Seq,
    plain_sandbox,
    run_wizard,
    sandbox,
)
from wizard import guide
from wizard.sandbox.server import DEMO_ACCOUNT

MENU = QUESTIONS[guide.SELECTORS_KEY].prompt
Q = guide.SELECTOR_QUESTIONS
LOG_BUCKET = f"aws-cloudtrail-logs-{DEMO_ACCOUNT}-plain-events"
"""The new bucket the wizard suggests for the trail plain-events."""


def test_selectors_are_written_checked_and_edited(
    run_wizard: Callable[..., Run],  # noqa: F811
) -> None:
    run = run_wizard(
        {
            "Trail name": "plain-events",
            QUESTIONS["events.presets"].prompt: ["lambda"],
            MENU: Seq("add-data", "add-network", "remove", "done"),
            Q["type"].prompt: Seq("?", "s3"),
            Q["read_write"].prompt: "write",
            Q["resources"].prompt: Seq(f"arn:aws:s3:::{LOG_BUCKET}/", "arn:aws:s3:::app-data/"),
            Q["add_condition"].prompt: Seq(False, True, False),
            Q["field"].prompt: "eventName",
            guide.OPERATOR_PROMPT: "Equals",
            Q["values"].prompt: "PutObject",
            Q["source"].prompt: "kms.amazonaws.com",
            Q["denied_only"].prompt: True,
            guide.PICK_PROMPT: 0,  # the Lambda preset's selector
            plain.PROMPT_NEXT: "quit",
        },
        show_help=False,
    )

    assert run.code == 0, run.output
    # '?' lists every type AWS documents, then the question is asked again.
    assert "AWS::S3::Object (s3): S3. Object-level calls" in run.output
    assert "AWS::XRay::Trace: X-Ray trace." in run.output
    # The log bucket: refused with the reason, then asked again from what was typed.
    assert f"Refused: This selector records object writes of {LOG_BUCKET}" in run.text
    assert "Asking for this selector again, from what you typed." in run.output
    assert run.fake.prompts().count(Q["resources"].prompt) == 2
    # The listing before each choice: the preset's selector, then the ones added.
    assert "1. Lambda data events, every resource" in run.output
    assert "2. Network activity of kms.amazonaws.com: VPC endpoint denials" in run.output
    # The menu offers change and remove once there is a selector.
    menus = run.fake.find(MENU)
    assert menus[0].choice_values == [c.value for c in guide.SELECTOR_ACTIONS]
    # What the plan sends: the S3 writes of app-data filtered on PutObject and the network
    # selector; the Lambda selector was removed.
    assert (
        "Choose the events to record (advanced selectors): management events (read and "
        "write); S3 writes on arn:aws:s3:::app-data/ (eventName Equals PutObject); network "
        "activity: VPC endpoint denials of kms.amazonaws.com" in run.text
    )


def test_no_selector_keeps_management_events_only(
    run_wizard: Callable[..., Run],  # noqa: F811
) -> None:
    run = run_wizard({"Trail name": "plain-none", plain.PROMPT_NEXT: "quit"}, show_help=False)

    assert run.code == 0, run.output
    assert "No data or network activity event selectors: management events only." in run.output
    (menu,) = run.fake.find(MENU)
    assert menu.choice_values == ["done", "add-data", "add-network"]
    assert "Choose the events to record (basic selectors): management events" in run.text
