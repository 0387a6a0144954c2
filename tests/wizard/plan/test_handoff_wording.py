"""The central hand-off finding names every front end's way to give the wizard the
log-archive account's credentials, not only the command line's flags (issue 18)."""

from __future__ import annotations

from screens.common.log_account import REACH_PROMPT
from tests.wizard.plan.test_central import LogArchive, answers_for, archive  # noqa: F401
from wizard.engine import Engine


def test_the_handoff_finding_says_how_each_front_end_reaches_the_log_archive_account(
    engine: Engine,
    archive: LogArchive,  # noqa: F811 - the fixture imported above
) -> None:
    plan, _found = engine.plan(answers_for(archive))

    (finding,) = [f for f in plan.findings if f.code == "central-handoff-required"]
    message = " ".join(finding.message.split())
    # The command line's flags, and the question the full-screen and plain wizards ask.
    assert "--log-account-profile NAME or --log-account-role ARN on the command line" in message
    assert f'"{REACH_PROMPT}" in the full-screen and plain wizards' in message
    assert "`cloudtrail-wizard plan ANSWERS --handoff-out DIR` writes it as files" in message
    assert "run again with --log-account-profile" not in message
