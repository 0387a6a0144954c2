"""The IAM principals the wizard writes into a key policy must exist (issue 14).

KMS refuses a key policy that names a user or role that does not exist
(``MalformedPolicyDocumentException: Policy contains a statement with one or more invalid
principals``). Discovery looks each of this account's users and roles up (GetRole, GetUser),
preflight names every missing one and how to fix it, and principals of an account the
wizard has no credentials for are listed as not checked. Everything runs on the strict
sandbox over HTTP, whose KMS refuses such a key policy as AWS does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.callers import FailOn
from tests.sandbox_fixtures import ACCOUNT, RequestLog
from wizard.account.discovery import discover_principals
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.context import AccountContext
from wizard.model.plan import Finding, Plan
from wizard.plan.offline import offline_plan
from wizard.policy.operator import operator_policy

ROOT = Path(__file__).resolve().parents[3]
AUDITOR = f"arn:aws:iam::{ACCOUNT}:role/SecurityAuditor"
"""A role the sandbox's demo account has (the sse-kms-new-key example's reader)."""
MISSING = f"arn:aws:iam::{ACCOUNT}:role/DoesNotExist"
ELSEWHERE = "arn:aws:iam::111122223333:role/LogReader"
INVALID = "Policy contains a statement with one or more invalid principals"


def key_answers(*readers: str) -> Answers:
    return Answers.model_validate(
        {
            "trail": {"name": "principal-trail"},
            "bucket": {"name": f"principal-trail-logs-{ACCOUNT}"},
            "encryption": {"type": "sse-kms", "key": "new", "decrypt_principals": list(readers)},
        }
    )


def findings(plan: Plan, code: str) -> list[Finding]:
    return [f for f in plan.findings if f.code == code]


def iam_reads(log: RequestLog) -> list[str]:
    return [r.operation for r in log.snapshot() if r.service == "iam"]


def test_a_missing_decrypt_principal_blocks_the_plan_and_nothing_changes(
    engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    parsed = key_answers(AUDITOR, MISSING)
    keys_before = aws("kms").list_keys()["Keys"]
    server_log.clear()

    plan, found = engine.plan(parsed)

    (finding,) = findings(plan, "principal-not-found")
    assert finding.severity == "error" and finding.subject == MISSING
    for text in (MISSING, "encryption.decrypt_principals", INVALID, "Create the role first"):
        assert text in finding.message, finding.message
    assert AUDITOR not in finding.message
    assert found.principals is not None
    assert {(p.arn, p.exists) for p in found.principals} == {(AUDITOR, True), (MISSING, False)}
    assert iam_reads(server_log).count("GetRole") >= 2
    outcome = engine.apply(parsed, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "blocked"
    assert server_log.mutating() == []
    assert aws("kms").list_keys()["Keys"] == keys_before


def test_every_missing_principal_is_named(engine: Engine) -> None:
    users = [f"arn:aws:iam::{ACCOUNT}:user/nobody-{i}" for i in range(3)]

    plan, _found = engine.plan(key_answers(MISSING, *users))

    named = sorted(f.subject or "" for f in findings(plan, "principal-not-found"))
    assert named == sorted([MISSING, *users])
    user_finding = next(f for f in findings(plan, "principal-not-found") if f.subject == users[0])
    assert "has no such user" in user_finding.message


def test_existing_users_and_roles_pass(engine: Engine, aws: Any) -> None:
    user = aws("iam").create_user(UserName="log-reader")["User"]["Arn"]

    plan, _found = engine.plan(key_answers(AUDITOR, user))

    assert not findings(plan, "principal-not-found")
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]


def test_a_role_named_without_its_path_gets_the_right_arn(engine: Engine, aws: Any) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    real = aws("iam").create_role(
        RoleName="PathReader", Path="/team/", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    written = f"arn:aws:iam::{ACCOUNT}:role/PathReader"
    assert real != written

    plan, _found = engine.plan(key_answers(written))

    (finding,) = findings(plan, "principal-not-found")
    assert f"Write {real} in encryption.decrypt_principals" in finding.message


def test_principals_of_another_account_are_listed_not_looked_up(
    engine: Engine, server_log: RequestLog
) -> None:
    server_log.clear()

    plan, found = engine.plan(key_answers(AUDITOR, ELSEWHERE))

    (info,) = findings(plan, "principal-other-account")
    assert info.severity == "info" and info.subject == "111122223333"
    assert ELSEWHERE in info.message and "not checked" in info.message
    assert not plan.blocked
    assert found.principals is not None
    (other,) = [p for p in found.principals if p.arn == ELSEWHERE]
    assert (other.readable, other.exists) == (False, None)
    # Only this account's role was looked up.
    assert iam_reads(server_log).count("GetRole") == 1


def test_a_principal_that_cannot_be_read_is_a_warning(engine: Engine) -> None:
    denied = FailOn(
        engine.caller,
        "GetRole",
        service="iam",
        code="AccessDenied",
        status=403,
        times=2,  # discovery alone, then the engine's plan
        message="not authorized to perform iam:GetRole",
    )

    (facts,) = discover_principals([AUDITOR], {ACCOUNT: denied}, "us-east-1")

    assert (facts.readable, facts.exists) == (False, None)
    assert facts.error is not None and "access denied" in facts.error
    engine_denied = Engine(denied, engine.ctx, check_permissions=False)
    plan, _found = engine_denied.plan(key_answers(AUDITOR))
    (warning,) = findings(plan, "principal-unchecked")
    assert warning.severity == "warning" and AUDITOR in warning.message
    assert "iam:GetRole" in warning.message


def test_the_example_names_a_role_the_sandbox_has(engine: Engine, tmp_path: Path) -> None:
    parsed = load_answers(ROOT / "examples" / "sse-kms-new-key.yaml")
    assert parsed.encryption.decrypt_principals == [AUDITOR]

    plan, found = engine.plan(parsed)

    assert not findings(plan, "principal-not-found")
    outcome = engine.apply(parsed, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message


def test_the_operator_may_look_up_exactly_this_accounts_principals() -> None:
    user = f"arn:aws:iam::{ACCOUNT}:user/ops/alice"
    answers = key_answers(AUDITOR, user, ELSEWHERE, f"arn:aws:iam::{ACCOUNT}:root")
    ctx = AccountContext(account_id=ACCOUNT, region="us-east-1")

    statements = {s["Sid"]: s for s in operator_policy(answers, ctx)["Statement"]}

    assert statements["CheckKeyPolicyRoles"]["Action"] == "iam:GetRole"
    assert statements["CheckKeyPolicyRoles"]["Resource"] == AUDITOR
    assert statements["CheckKeyPolicyUsers"]["Action"] == "iam:GetUser"
    assert statements["CheckKeyPolicyUsers"]["Resource"] == user
    without = operator_policy(key_answers(), ctx)["Statement"]
    assert not [s for s in without if s["Sid"].startswith("CheckKeyPolicy")]


def test_an_offline_plan_says_the_principals_were_not_looked_up() -> None:
    ctx = AccountContext(account_id=ACCOUNT, region="us-east-1")

    built = offline_plan(key_answers(AUDITOR, MISSING), ctx)

    assumed = " ".join(built.notes)
    assert "encryption.decrypt_principals exist" in assumed
    assert AUDITOR in assumed and MISSING in assumed
    assert "KMS refuses a key policy" in assumed
    assert not [f for f in built.plan.findings if f.code.startswith("principal-")]
