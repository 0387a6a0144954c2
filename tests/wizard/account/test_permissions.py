"""Permission preflight: the operator's own IAM permissions, checked with the policy simulator.

IAM's SimulatePrincipalPolicy is answered by botocore's Stubber for the decisions AWS may
give; the stubbed client sits behind the production :class:`Boto3Caller`, so the requests
are checked against IAM's service model and paginated as in production. End to end over
HTTP: plain moto, which lacks the simulator, and the sandbox, which answers it
(tests/wizard/sandbox/test_iam.py checks its answers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.callers import PassThroughCaller
from tests.sandbox_fixtures import ACCOUNT, REGION, RequestLog
from wizard.account import permissions
from wizard.account.permissions import CHECKED_CODE, UNCHECKED_CODE, check_permissions
from wizard.aws.clients import Boto3Caller, ClientFactory
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.context import AccountContext
from wizard.policy.operator import Need, operator_needs, operator_policy, simulation_principal
from wizard.ports import AwsCaller

USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/ops/alice"
ROLE_SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/CloudTrailAdmin/alice@example.com"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/CloudTrailAdmin"

ANSWERS = Answers.model_validate(
    {
        "trail": {"name": "acme-audit"},
        "bucket": {"name": "acme-audit-logs-123456789012"},
        "encryption": {"type": "sse-kms", "key": "new"},
        "cloudwatch_logs": {"log_group": "acme-audit-events"},
    }
)
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/acme-audit"
BUCKET_ARN = "arn:aws:s3:::acme-audit-logs-123456789012"

Decide = Callable[[str, str], str]
"""(action, resource) -> EvalDecision."""


def ctx_for(caller_arn: str | None) -> AccountContext:
    return AccountContext(account_id=ACCOUNT, region=REGION, caller_arn=caller_arn)


def simulated_needs(answers: Answers, ctx: AccountContext) -> list[Need]:
    """The needs one request is made for (the simulator's own action is not asked about)."""
    return [
        n for n in operator_needs(answers, ctx) if n.actions != ("iam:SimulatePrincipalPolicy",)
    ]


class StubbedFactory(ClientFactory):
    """A client factory whose IAM client is botocore-stubbed (nothing is sent anywhere)."""

    def __init__(self) -> None:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        super().__init__(session)
        self.iam: Any = session.client("iam", region_name=REGION)
        self.stubber = Stubber(self.iam)

    def client(self, service: str, region: str) -> Any:
        assert service == "iam", f"only IAM is stubbed, not {service}"
        return self.iam


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubbedFactory]:
    # The stubber answers in the order its exchanges were queued: one request at a time
    # keeps the needs' order (against AWS or the sandbox they all go out at once).
    monkeypatch.setattr(permissions, "MAX_SIMULATIONS", 1)
    factory = StubbedFactory()
    with factory.stubber:
        yield factory
        factory.stubber.assert_no_pending_responses()


def expect_simulation(
    stubber: Stubber,
    principal: str,
    needs: list[Need],
    decide: Decide,
    *,
    per_resource: bool = False,
) -> None:
    """Queue one SimulatePrincipalPolicy exchange per need, with the exact request expected."""
    for need in needs:
        expected: dict[str, Any] = {
            "PolicySourceArn": principal,
            "ActionNames": list(need.actions),
            "ResourceArns": list(need.resources),
        }
        if need.condition:
            expected["ContextEntries"] = [
                {"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"}
                for k, v in need.condition["StringEquals"].items()
            ]
        results: list[dict[str, Any]] = []
        for action in need.actions:
            if per_resource:
                specific = [
                    {
                        "EvalResourceName": r,
                        "EvalResourceDecision": decide(action, r),
                        "MatchedStatements": [],
                        "MissingContextValues": [],
                    }
                    for r in need.resources
                ]
                overall = (
                    "allowed"
                    if all(s["EvalResourceDecision"] == "allowed" for s in specific)
                    else "implicitDeny"
                )
                results.append(
                    {
                        "EvalActionName": action,
                        "EvalResourceName": "*",
                        "EvalDecision": overall,
                        "ResourceSpecificResults": specific,
                    }
                )
            else:
                results.extend(
                    {
                        "EvalActionName": action,
                        "EvalResourceName": r,
                        "EvalDecision": decide(action, r),
                    }
                    for r in need.resources
                )
        stubber.add_response(
            "simulate_principal_policy",
            {"EvaluationResults": results, "IsTruncated": False},
            expected,
        )


def allow_all(action: str, resource: str) -> str:
    return "allowed"


# --- the principal to simulate ------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller_arn", "principal"),
    [
        (USER_ARN, USER_ARN),
        (ROLE_SESSION_ARN, ROLE_ARN),
        (
            "arn:aws-cn:sts::123456789012:assumed-role/Admin/i-0abc",
            "arn:aws-cn:iam::123456789012:role/Admin",
        ),
        # moto reports its default identity with the sts service; AWS never does.
        (f"arn:aws:sts::{ACCOUNT}:user/moto", f"arn:aws:iam::{ACCOUNT}:user/moto"),
    ],
)
def test_users_and_assumed_roles_are_simulated(caller_arn: str, principal: str) -> None:
    assert simulation_principal(caller_arn) == (principal, "")


@pytest.mark.parametrize(
    ("caller_arn", "why"),
    [
        (f"arn:aws:iam::{ACCOUNT}:root", "root user"),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/bob", "federated user"),
        (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/bob",
            "cannot be derived",
        ),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/OnlyRole", "not a complete assumed-role ARN"),
        ("not-an-arn", "not an ARN"),
        (None, "not known"),
        (f"arn:aws:iam::{ACCOUNT}:group/admins", "not an IAM user or an assumed role"),
    ],
)
def test_callers_that_cannot_be_simulated_are_unchecked_without_a_call(
    stubbed: StubbedFactory, caller_arn: str | None, why: str
) -> None:
    principal, reason = simulation_principal(caller_arn)
    assert principal is None and why in reason

    finding = check_permissions(Boto3Caller(stubbed), ctx_for(caller_arn), ANSWERS)

    assert finding is not None
    assert (finding.severity, finding.code) == ("info", UNCHECKED_CODE)
    assert why in finding.message and "not checked" in finding.message
    assert "cloudtrail-wizard policies ANSWERS" in finding.message
    # No response was queued: a request would have failed the stubber.


# --- with the simulator ---------------------------------------------------------------------


def test_everything_allowed_is_no_finding(stubbed: StubbedFactory) -> None:
    ctx = ctx_for(USER_ARN)
    needs = simulated_needs(ANSWERS, ctx)
    expect_simulation(stubbed.stubber, USER_ARN, needs, allow_all)
    caller = Boto3Caller(stubbed)

    assert check_permissions(caller, ctx, ANSWERS) is None
    # One request per need, batched (the stubber checked each request's exact parameters).
    assert caller.stats == {("iam", "SimulatePrincipalPolicy"): len(needs)}
    assert len(needs) >= 8  # trail, bucket, key, logs, role, pass-role ...
    sids = [n.sid for n in needs]
    assert "ManageTrail" in sids and "PassDeliveryRoleToCloudTrail" in sids
    assert "CheckOwnPermissions" not in sids


@pytest.mark.parametrize("per_resource", [False, True], ids=["flat", "resource-specific"])
def test_implicit_denies_are_listed_with_resource_and_purpose(
    stubbed: StubbedFactory, per_resource: bool
) -> None:
    ctx = ctx_for(USER_ARN)
    refused = {("kms:CreateKey", "*"), ("s3:PutBucketPolicy", BUCKET_ARN)}

    def decide(action: str, resource: str) -> str:
        return "implicitDeny" if (action, resource) in refused else "allowed"

    expect_simulation(
        stubbed.stubber, USER_ARN, simulated_needs(ANSWERS, ctx), decide, per_resource=per_resource
    )
    finding = check_permissions(Boto3Caller(stubbed), ctx, ANSWERS)

    assert finding is not None
    assert (finding.severity, finding.code, finding.subject) == ("error", CHECKED_CODE, USER_ARN)
    lines = [line for line in finding.message.splitlines() if line.startswith("  - ")]
    assert len(lines) == 2
    # In the order of the needs: the bucket's, then the key's.
    assert lines[0].startswith(f"  - s3:PutBucketPolicy on {BUCKET_ARN}: needed to create")
    assert lines[1].startswith("  - kms:CreateKey on *: needed to create the log encryption key")
    assert "is not allowed 2 action(s)" in finding.message
    assert "Attach the operator policy" in finding.message
    assert '`cloudtrail-wizard policies ANSWERS` prints it, section "Your IAM policy"' in (
        finding.message
    )
    assert "explicit deny" not in finding.message
    assert finding.statement == operator_policy(ANSWERS, ctx)


def test_an_explicit_deny_says_attaching_the_policy_will_not_help(stubbed: StubbedFactory) -> None:
    ctx = ctx_for(USER_ARN)

    def decide(action: str, resource: str) -> str:
        return "explicitDeny" if action == "cloudtrail:DeleteTrail" else "allowed"

    expect_simulation(stubbed.stubber, USER_ARN, simulated_needs(ANSWERS, ctx), decide)
    finding = check_permissions(Boto3Caller(stubbed), ctx, ANSWERS)

    assert finding is not None and finding.code == CHECKED_CODE
    assert f"cloudtrail:DeleteTrail on {TRAIL_ARN} [explicit deny]" in finding.message
    assert "does not lift it" in finding.message


def test_assumed_role_is_simulated_as_its_role(stubbed: StubbedFactory) -> None:
    ctx = ctx_for(ROLE_SESSION_ARN)
    # expected_params pin PolicySourceArn to the role ARN, not the session ARN.
    expect_simulation(stubbed.stubber, ROLE_ARN, simulated_needs(ANSWERS, ctx), allow_all)
    assert check_permissions(Boto3Caller(stubbed), ctx, ANSWERS) is None


def test_pass_role_is_simulated_for_cloudtrail_only(stubbed: StubbedFactory) -> None:
    ctx = ctx_for(USER_ARN)
    needs = simulated_needs(ANSWERS, ctx)
    pass_role = next(n for n in needs if n.actions == ("iam:PassRole",))
    # The stubber compares ContextEntries too: iam:PassedToService=cloudtrail.amazonaws.com.
    assert pass_role.condition == {
        "StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}
    }
    expect_simulation(
        stubbed.stubber,
        USER_ARN,
        needs,
        lambda action, _r: "implicitDeny" if action == "iam:PassRole" else "allowed",
    )
    finding = check_permissions(Boto3Caller(stubbed), ctx, ANSWERS)
    assert finding is not None
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/CloudTrailToCloudWatchLogs-acme-audit"
    assert f"iam:PassRole on {role_arn}: needed to hand the delivery role" in finding.message


@pytest.mark.parametrize(
    ("code", "status", "why"),
    [
        ("AccessDenied", 403, "may not call iam:SimulatePrincipalPolicy"),
        ("NoSuchEntity", 404, "role with a path"),
        ("ServiceUnavailable", 503, "failed with ServiceUnavailable"),
    ],
)
def test_simulator_errors_mean_unchecked(
    stubbed: StubbedFactory, code: str, status: int, why: str
) -> None:
    stubbed.stubber.add_client_error(
        "simulate_principal_policy",
        service_error_code=code,
        service_message=f"{code} from the simulator",
        http_status_code=status,
    )
    finding = check_permissions(Boto3Caller(stubbed), ctx_for(ROLE_SESSION_ARN), ANSWERS)

    assert finding is not None
    assert (finding.severity, finding.code, finding.subject) == ("info", UNCHECKED_CODE, ROLE_ARN)
    assert why in finding.message
    assert "carries on" in finding.message


def test_a_non_aws_failure_means_unchecked() -> None:
    class Broken:
        def call(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            raise AssertionError("not used")

        def paginate(self, *args: Any, **kwargs: Any) -> list[Any]:
            raise ValueError("Unable to parse response, invalid XML received:\nb'<html>...'")

    finding = check_permissions(Broken(), ctx_for(USER_ARN), ANSWERS)
    assert finding is not None and finding.code == UNCHECKED_CODE
    assert (
        "gave no answer the wizard could read (Unable to parse response, invalid XML received)"
        in finding.message
    )
    assert "<html>" not in finding.message  # the response body is not quoted
    assert "ValueError" not in finding.message  # a class name means nothing to an operator


# --- wired into the engine, on the sandbox ------------------------------------------------


SIMPLE = Answers.model_validate(
    {
        "trail": {"name": "perm-trail"},
        "bucket": {"name": "perm-trail-logs-123456789012"},
        "encryption": {"type": "sse-s3"},
    }
)


def simulate_requests(log: RequestLog) -> int:
    return sum(r.operation == "SimulatePrincipalPolicy" for r in log.snapshot())


def test_an_endpoint_without_the_simulator_means_unchecked(caller: Boto3Caller) -> None:
    # Plain moto (not the sandbox) has no SimulatePrincipalPolicy: its answer is an error
    # page botocore cannot parse.
    engine = Engine(caller, ctx_for(USER_ARN))
    plan, _found = engine.plan(SIMPLE)

    findings = [f for f in plan.findings if f.code.startswith("operator-permissions")]
    assert len(findings) == 1
    assert (findings[0].severity, findings[0].code) == ("info", UNCHECKED_CODE)
    message = findings[0].message
    assert "gave no answer the wizard could read (" in message
    assert "ResponseParserError" not in message
    assert "\n" not in findings[0].message and "<html" not in findings[0].message
    assert not plan.blocked
    # Findings stay ordered: errors, warnings, info.
    order = {"error": 0, "warning": 1, "info": 2}
    assert [order[f.severity] for f in plan.findings] == sorted(
        order[f.severity] for f in plan.findings
    )


def test_on_the_sandbox_the_permissions_are_checked(engine: Engine, server_log: RequestLog) -> None:
    # The sandbox answers the simulator (wizard.sandbox.iam); its administrator, the dummy
    # credentials, holds AdministratorAccess, so nothing is missing.
    on_sandbox = Engine(engine.caller, engine.ctx, sandbox=True)

    plan, _found = on_sandbox.plan(SIMPLE)

    assert not [f for f in plan.findings if f.code.startswith("operator-permissions")]
    assert not plan.blocked
    assert simulate_requests(server_log) == len(simulated_needs(SIMPLE, engine.ctx))


class HeldSimulations(PassThroughCaller):
    """Holds each simulator request until ``together`` are in flight (or 5 s pass)."""

    def __init__(self, inner: AwsCaller, together: int) -> None:
        super().__init__(inner)
        self.together = together
        self.lock = threading.Condition()
        self.in_flight = 0
        self.peak = 0

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        if operation != "SimulatePrincipalPolicy":
            return self.inner.paginate(service, region, operation, result_key, params)
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.lock.notify_all()
            self.lock.wait_for(lambda: self.peak >= self.together, timeout=5)
        try:
            return self.inner.paginate(service, region, operation, result_key, params)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_every_need_is_simulated_at_once(engine: Engine, server_log: RequestLog) -> None:
    """One round trip for the whole check, not one per need: the first change waits for it."""
    needs = simulated_needs(ANSWERS, engine.ctx)
    held = HeldSimulations(engine.caller, together=len(needs))

    finding = check_permissions(held, engine.ctx, ANSWERS)

    assert finding is None, finding
    assert held.peak == len(needs) > 1
    assert simulate_requests(server_log) == len(needs)


def test_the_check_can_be_skipped(engine: Engine, server_log: RequestLog) -> None:
    quiet = Engine(engine.caller, engine.ctx, check_permissions=False)
    plan, _found = quiet.plan(SIMPLE)
    assert not [f for f in plan.findings if f.code.startswith("operator-permissions")]
    assert simulate_requests(server_log) == 0


class SimulatorOverSandbox:
    """Sends SimulatePrincipalPolicy to a stubbed IAM client, everything else to the sandbox."""

    def __init__(self, sandbox: AwsCaller, simulator: AwsCaller) -> None:
        self.sandbox = sandbox
        self.simulator = simulator

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        return self.sandbox.call(service, region, operation, params)

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        target = self.simulator if operation == "SimulatePrincipalPolicy" else self.sandbox
        return target.paginate(service, region, operation, result_key, params)


def test_a_missing_permission_blocks_apply_before_any_change(
    engine: Engine, stubbed: StubbedFactory, server_log: RequestLog, tmp_path: Any
) -> None:
    ctx = engine.ctx.model_copy(update={"caller_arn": USER_ARN})
    caller = SimulatorOverSandbox(engine.caller, Boto3Caller(stubbed))
    expect_simulation(
        stubbed.stubber,
        USER_ARN,
        simulated_needs(SIMPLE, ctx),
        lambda action, _r: "implicitDeny" if action == "s3:CreateBucket" else "allowed",
    )
    gated = Engine(caller, ctx)

    plan, found = gated.plan(SIMPLE)

    assert plan.blocked
    assert plan.findings[0].code == CHECKED_CODE
    assert "s3:CreateBucket on arn:aws:s3:::perm-trail-logs-123456789012" in (
        plan.findings[0].message
    )
    outcome = gated.apply(SIMPLE, plan, found=found, journal_path=tmp_path / "j.json")
    assert outcome.report.status == "blocked"
    assert server_log.mutating() == []
