"""Plain mode's Storage step with a bucket in another account (a log-archive account).

The questions are the TUI's, in its order and words (:mod:`screens.common.log_account`); the
wizard talks to the seeded sandbox, whose log-archive account has a bucket and a role the demo
account may assume. What ends up in that account is read with its own credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from screens.common.log_account import (
    ACCOUNT_PROMPT,
    OWNER_PROMPT,
    REACH_CHOICES,
    REACH_PROMPT,
    ROLE_PROMPT,
    WHO_WRITES,
    check_owner_account,
    owner_choices,
)
from screens.plain import wizard as plain
from tests.screens.log_archive import assume_role_refused, log_archive_client
from tests.screens.plain.test_plain import (  # noqa: F401 (fixtures used by name)
    QUESTIONS,
    Run,
    Seq,
    plain_sandbox,
    run_wizard,
    sandbox,
)
from wizard.sandbox.server import (
    DEMO_ACCOUNT,
    DEMO_LOG_ACCOUNT,
    DEMO_LOG_BUCKET,
    DEMO_LOG_ROLE_ARN,
    Sandbox,
)

pytestmark = pytest.mark.aws

CENTRAL = {
    "Trail name": "plain-central",
    "Where should the log files go?": False,
    OWNER_PROMPT: "other",
    "How should log files be encrypted?": "sse-s3",
}
"""An existing bucket of another account, SSE-S3 (a central key would need its own grant)."""


def _titles(choices: Any) -> list[str]:
    return [f"{c.label} ({c.hint})" if c.hint else c.label for c in choices]


def test_a_role_in_the_log_archive_account_is_assumed_and_its_policy_merged(
    run_wizard: Callable[..., Run],  # noqa: F811 (the fixture)
    sandbox: Sandbox,  # noqa: F811 (the fixture)
) -> None:
    """Whose bucket, the owner's ID (this account's refused), a role (the sandbox's offered),
    its buckets listed; apply merges this trail's statements into the central policy."""
    run = run_wizard(
        {
            **CENTRAL,
            ACCOUNT_PROMPT: Seq(DEMO_ACCOUNT, DEMO_LOG_ACCOUNT),
            REACH_PROMPT: "role",
            "Bucket name": DEMO_LOG_BUCKET,
            plain.PROMPT_NEXT: "apply",
            f"changes to account {DEMO_ACCOUNT} in region us-east-1?": True,
            plain.PROMPT_SAVE: False,
        }
    )

    assert run.code == 0, run.output
    prompts = run.fake.prompts()
    storage = prompts[prompts.index("Where should the log files go?") :]
    assert storage[:6] == [
        "Where should the log files go?",
        OWNER_PROMPT,
        ACCOUNT_PROMPT,  # this account's own ID is refused, then the other one accepted
        REACH_PROMPT,
        ROLE_PROMPT,
        "Bucket name",
    ]
    asked = {a.prompt: a for a in run.fake.asked}
    assert asked[OWNER_PROMPT].choice_titles == _titles(owner_choices(DEMO_ACCOUNT))
    assert asked[REACH_PROMPT].choice_titles == _titles(REACH_CHOICES)
    assert asked[REACH_PROMPT].options["default"] == "role"  # the sandbox has no profiles
    assert asked[ROLE_PROMPT].options["default"] == DEMO_LOG_ROLE_ARN
    assert run.fake.rejected == [check_owner_account(DEMO_ACCOUNT, DEMO_ACCOUNT)]
    # Access logging of another account's bucket is not asked (its owner's to turn on).
    assert not run.fake.find(QUESTIONS["bucket.access_logging"].prompt)

    assert (
        f"Connected to account {DEMO_LOG_ACCOUNT} as arn:aws:sts::{DEMO_LOG_ACCOUNT}:"
        "assumed-role/LogArchiveAdmin/" in run.output
    )
    assert f"Buckets of account {DEMO_LOG_ACCOUNT}:" in run.output
    assert f"  {DEMO_LOG_BUCKET} (us-east-1)" in run.output
    assert " ".join(WHO_WRITES["connected"].split()) in run.text
    assert "[central-log-account]" in run.output

    policy = json.loads(
        log_archive_client(sandbox, "s3").get_bucket_policy(Bucket=DEMO_LOG_BUCKET)["Policy"]
    )
    assert "DenyInsecureTransport" in [s.get("Sid") for s in policy["Statement"]]
    writes = [s for s in policy["Statement"] if s.get("Action") == "s3:PutObject"]
    assert writes and all(f"AWSLogs/{DEMO_ACCOUNT}/" in json.dumps(s) for s in writes)


def test_asking_the_owner_blocks_apply_and_prints_the_statements(
    run_wizard: Callable[..., Run],  # noqa: F811 (the fixture)
    sandbox: Sandbox,  # noqa: F811 (the fixture)
) -> None:
    before = log_archive_client(sandbox, "s3").get_bucket_policy(Bucket=DEMO_LOG_BUCKET)
    run = run_wizard(
        {
            **CENTRAL,
            ACCOUNT_PROMPT: DEMO_LOG_ACCOUNT,
            REACH_PROMPT: "owner",
            "Bucket name": DEMO_LOG_BUCKET,
            plain.PROMPT_SAVE: False,
        }
    )

    assert run.code == 2, run.output
    assert not run.fake.find(ROLE_PROMPT)
    assert "its buckets cannot be listed: type the bucket's name below." in run.text
    assert " ".join(WHO_WRITES["owner"].split()) in run.text
    assert "[central-handoff-required]" in run.output
    assert f"Bucket policy of {DEMO_LOG_BUCKET} (account {DEMO_LOG_ACCOUNT}), add:" in run.output
    assert "Apply is blocked by the errors above. Nothing was changed." in run.text
    after = log_archive_client(sandbox, "s3").get_bucket_policy(Bucket=DEMO_LOG_BUCKET)
    assert after["Policy"] == before["Policy"]


def test_a_role_that_cannot_be_assumed_is_explained_and_another_way_offered(
    run_wizard: Callable[..., Run],  # noqa: F811 (the fixture)
    sandbox: Sandbox,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = f"arn:aws:iam::{DEMO_LOG_ACCOUNT}:role/NotTrusted"
    with assume_role_refused(monkeypatch, refused):
        run = run_wizard(
            {
                **CENTRAL,
                ACCOUNT_PROMPT: DEMO_LOG_ACCOUNT,
                REACH_PROMPT: Seq("role", "owner"),
                ROLE_PROMPT: refused,
                "Bucket name": DEMO_LOG_BUCKET,
                plain.PROMPT_SAVE: False,
            }
        )

    assert run.code == 2, run.output
    assert run.fake.prompts().count(REACH_PROMPT) == 2
    assert "The role cannot be assumed (AccessDenied)" in run.text
    assert "Check its trust policy" in run.text
    assert "Choose another way to reach it, or try again." in run.output
    assert "[central-handoff-required]" in run.output


def test_the_sandbox_has_no_profiles(
    run_wizard: Callable[..., Run],  # noqa: F811 (the fixture)
    sandbox: Sandbox,  # noqa: F811 (the fixture)
) -> None:
    run = run_wizard(
        {
            **CENTRAL,
            ACCOUNT_PROMPT: DEMO_LOG_ACCOUNT,
            REACH_PROMPT: Seq("profile", "role"),
            "AWS profile for that account": "log-archive",
            "Bucket name": DEMO_LOG_BUCKET,
            plain.PROMPT_NEXT: "quit",
        }
    )

    assert run.code == 0, run.output
    assert "The sandbox has no profiles" in run.text
    assert f"Connected to account {DEMO_LOG_ACCOUNT}" in run.output


def test_a_new_bucket_forgets_another_accounts_owner(
    run_wizard: Callable[..., Run],  # noqa: F811 (the fixture)
    sandbox: Sandbox,  # noqa: F811 (the fixture)
) -> None:
    """Answers that named an owner, then a new bucket: the owner is dropped, not asked."""
    from wizard.model.answers import Answers

    answers = Answers.model_validate(
        {
            "trail": {"name": "plain-central"},
            "bucket": {"name": DEMO_LOG_BUCKET, "create": False, "account": DEMO_LOG_ACCOUNT},
            "encryption": {"type": "sse-s3"},
        }
    )
    run = run_wizard(
        {
            "Where should the log files go?": True,
            "Bucket name": "plain-central-logs-123456789012",
            plain.PROMPT_NEXT: "quit",
        },
        answers=answers,
        show_help=False,
    )

    assert run.code == 0, run.output
    assert not run.fake.find(OWNER_PROMPT)
    assert "do not fit together" not in run.output
