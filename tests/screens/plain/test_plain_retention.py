"""Plain mode offers retention: the guide's retention questions, answered and applied."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from screens.plain import wizard as plain
from tests.screens.plain.test_plain import (  # noqa: F401  (fixtures used by name)
    NEW_BUCKET_SSE_S3,
    QUESTIONS,
    Run,
    plain_sandbox,
    run_wizard,
    sandbox,
    sandbox_client,
)
from wizard.model.answers_file import load_answers
from wizard.sandbox.server import Sandbox


def test_retention_is_answered_and_applied(
    run_wizard: Callable[..., Run],  # noqa: F811
    sandbox: Sandbox,  # noqa: F811
    tmp_path: Path,
) -> None:
    saved = tmp_path / "retention.answers.yaml"
    answers: dict[str, Any] = {
        **NEW_BUCKET_SSE_S3,
        QUESTIONS["bucket.retention_transition_days"].prompt: "30",
        QUESTIONS["bucket.retention_storage_class"].prompt: "STANDARD_IA",
        QUESTIONS["bucket.retention_expire_days"].prompt: "400",
        QUESTIONS["bucket.object_lock"].prompt: "GOVERNANCE",
        QUESTIONS["bucket.object_lock_days"].prompt: "30",
        plain.PROMPT_NEXT: "apply",
        "changes to account 123456789012 in region us-east-1?": True,
        plain.PROMPT_SAVE: True,
        plain.PROMPT_SAVE_PATH: str(saved),
    }

    run = run_wizard(answers)

    assert run.code == 0, run.output
    s3 = sandbox_client(sandbox, "s3")
    bucket = "plain-trail-logs-123456789012"
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["Expiration"] == {"Days": 400}
    assert rule["Transitions"][0]["StorageClass"] == "STANDARD_IA"
    assert "object-lock-access-log-target" in run.output
    retention = load_answers(saved).bucket.retention
    assert retention is not None and retention.object_lock is not None
    assert (retention.expire_days, retention.object_lock.days) == (400, 30)
