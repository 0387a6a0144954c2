"""Plain mode says what the TUI says (issue 13, item 5): no permission note for the
sandbox's administrator (its simulator checks them), and next steps that name our own
commands with the trail's name and the sandbox's delivery times."""

from __future__ import annotations

from collections.abc import Callable

from screens.plain import wizard as plain
from tests.screens.plain.test_plain import (  # noqa: F401 (fixtures)
    NEW_BUCKET_SSE_S3,
    Run,
    Seq,
    plain_sandbox,
    run_wizard,
    sandbox,
)


def test_review_shows_no_permission_note_for_the_sandboxs_administrator(
    run_wizard: Callable[..., Run],  # noqa: F811
) -> None:
    run = run_wizard({**NEW_BUCKET_SSE_S3, plain.PROMPT_NEXT: Seq("quit")})

    assert run.code == 0, run.output
    # The sandbox answers IAM's policy simulator: the administrator's permissions are
    # checked, and nothing is missing, so there is nothing to say about them.
    assert "operator's permissions" not in run.text
    assert "ResponseParserError" not in run.output
    assert "Unable to parse response" not in run.output


def test_next_steps_name_our_commands_and_the_sandbox_times(
    run_wizard: Callable[..., Run],  # noqa: F811
) -> None:
    run = run_wizard(
        {
            **NEW_BUCKET_SSE_S3,
            plain.PROMPT_NEXT: "apply",
            "changes to account 123456789012 in region us-east-1?": True,
            plain.PROMPT_SAVE: False,
        }
    )

    assert run.code == 0, run.output
    after = " ".join(run.output.split("== Next steps ==", 1)[1].split())
    assert "cloudtrail-wizard --sandbox status plain-trail" in after
    assert "cloudtrail-wizard --sandbox logs plain-trail" in after
    assert "cloudtrail-wizard --sandbox validate plain-trail" in after
    assert "within about half a minute" in after
    assert "validate-logs" not in run.output
    assert "15 minutes" not in run.output
    # One line per step, each starting with a dash.
    steps = run.output.split("== Next steps ==", 1)[1].splitlines()
    assert sum(line.startswith("- ") for line in steps) == 4
