"""Plain mode's review lists the compliance controls of the planned trail before applying."""

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


def test_review_shows_the_controls_an_sse_s3_trail_fails_and_how_to_pass(
    run_wizard: Callable[..., Run],  # noqa: F811
) -> None:
    run = run_wizard({**NEW_BUCKET_SSE_S3, plain.PROMPT_NEXT: Seq("quit")})

    assert run.code == 0, run.output
    before_steps = run.output.split("Plan: ", 1)[0]
    assert "Controls (CIS AWS Foundations Benchmark / AWS Security Hub)" in before_steps
    lines = [line.strip() for line in before_steps.splitlines()]
    assert any(line.startswith("fail    CloudTrail.2 / CIS 4.5 (v7.0)") for line in lines)
    assert any(line.startswith("fail    CloudTrail.7 / CIS 4.4 (v7.0)") for line in lines)
    assert any(line.startswith("pass    CloudTrail.1 / CIS 4.1 (v7.0)") for line in lines)
    assert any(line.startswith("n/a     KMS.4") for line in lines)
    assert "to pass: choose SSE-KMS (encryption.type: sse-kms)" in run.text
