"""The StackSets engine's parts on their own: following an operation (wizard.stacksets.engine).

The sandbox runs a StackSet operation to its end before the call returns, so the waiting and
the stopping are shown with an injected slow operation: a botocore ``before-call`` hook (the
mechanism botocore's Stubber uses) answers ``DescribeStackSetOperation`` with RUNNING a few
times, then lets the sandbox answer. Everything else goes to the sandbox over HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from tests.sandbox_fixtures import REGION, dummy_session
from tests.wizard.test_onboard_stacksets import STACK_SET, Organization
from wizard.aws.accounts import assume_role_session
from wizard.aws.clients import Boto3Caller, ClientFactory
from wizard.export.stackset import StackSetOptions, stack_set_inputs
from wizard.model.answers import Answers
from wizard.model.context import AccountContext
from wizard.model.readonly import is_read_only
from wizard.policy.operator import action_for, stackset_operator_needs
from wizard.ports import AwsError
from wizard.sandbox.server import DEMO_LOG_ACCOUNT, DEMO_LOG_BUCKET, DEMO_LOG_ROLE_ARN
from wizard.stacksets.engine import OperationWaiter, StackSetRun


class SlowOperations(ClientFactory):
    """Clients on the sandbox whose StackSet operations stay RUNNING for ``polls`` reads.

    With ``stop`` the operation runs until StopStackSetOperation is called (answered OK),
    then reads STOPPED.
    """

    def __init__(self, *args: Any, polls: int, stop: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.left = polls
        self.stop = stop
        self.stopped = False

    def client(self, service: str, region: str) -> Any:
        client = super().client(service, region)
        if service == "cloudformation":
            client.meta.events.register(
                "before-call.cloudformation.DescribeStackSetOperation",
                self._describe,
                unique_id="slow-describe",
            )
            client.meta.events.register(
                "before-call.cloudformation.StopStackSetOperation",
                self._stop,
                unique_id="slow-stop",
            )
        return client

    def _answer(self, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        parsed["ResponseMetadata"] = {"HTTPStatusCode": 200}
        return AWSResponse("https://cloudformation.example", 200, HTTPHeaders(), None), parsed

    def _describe(self, params: dict[str, Any], **_: Any) -> Any:
        if self.stop:
            status = "STOPPED" if self.stopped else "RUNNING"
        elif self.left > 0:
            self.left -= 1
            status = "RUNNING"
        else:
            return None  # the sandbox answers
        body = params.get("body") or {}
        operation = {"OperationId": body["OperationId"], "Status": status, "Action": "CREATE"}
        return self._answer({"StackSetOperation": operation})

    def _stop(self, **_: Any) -> Any:
        if not self.stop:
            return None
        self.stopped = True
        return self._answer({})


ANSWERS = Answers.model_validate(
    {
        "trail": {"name": "org-audit", "region": REGION},
        "bucket": {"name": DEMO_LOG_BUCKET, "create": False, "account": DEMO_LOG_ACCOUNT},
        "encryption": {"type": "sse-s3"},
    }
)


def stack_set(aws: Any, organization: Organization) -> tuple[StackSetOptions, dict[str, Any]]:
    """A StackSet in the sandbox (created directly); the inputs of its instances."""
    options = StackSetOptions(
        organization_id=organization.id,
        organizational_units=[organization.dev],
        regions=[REGION],
        name="cloudtrail-org-audit",
    )
    create, instances = stack_set_inputs(
        ANSWERS, AccountContext(account_id="123456789012"), options
    )
    aws("cloudformation").create_stack_set(**create)
    return options, instances


@pytest.fixture
def organization(aws: Any) -> Organization:
    return Organization(aws)


def test_an_operation_is_followed_with_bounded_backoff_until_it_ends(
    sandbox: Any, aws: Any, organization: Organization
) -> None:
    _options, instances = stack_set(aws, organization)
    factory = SlowOperations(dummy_session(), endpoint_url=sandbox.endpoint_url, polls=6)
    lines: list[str] = []
    slept: list[float] = []
    waiter = OperationWaiter(
        Boto3Caller(factory), call_as="SELF", say=lines.append, sleep=slept.append
    )
    response = waiter.call("cloudformation", REGION, "CreateStackInstances", instances)
    # Six RUNNING reads, waited for with growing, then capped, delays.
    assert slept == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert sum("running" in line for line in lines) == 6
    op = response["OperationId"]
    assert waiter.statuses[op] in ("SUCCEEDED", "FAILED")
    # Every account's result of the operation was kept (ListStackSetOperationResults).
    assert {o.account_id for o in waiter.outcomes} == {organization.accounts["dev"]}
    assert all(o.operation_id == op and o.action == "CREATE" for o in waiter.outcomes)


def test_an_operation_running_past_the_limit_is_stopped_and_fails(
    sandbox: Any, aws: Any, organization: Organization
) -> None:
    _options, instances = stack_set(aws, organization)
    factory = SlowOperations(dummy_session(), endpoint_url=sandbox.endpoint_url, polls=0, stop=True)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    waiter = OperationWaiter(
        Boto3Caller(factory),
        call_as="SELF",
        say=lambda _line: None,
        sleep=sleep,
        timeout=20.0,
        clock=lambda: now[0],
    )
    with pytest.raises(AwsError) as raised:
        waiter.call("cloudformation", REGION, "CreateStackInstances", instances)
    assert raised.value.code == "StackSetOperationStopped"
    assert "still running after 20 seconds" in raised.value.message
    assert factory.stopped


def test_every_call_of_a_run_is_in_the_operator_policy(
    sandbox: Any, aws: Any, organization: Organization, sandbox_session: Any
) -> None:
    """The plan's calls, their undo calls and the reads all map to listed IAM actions."""
    options = StackSetOptions(
        organization_id=organization.id,
        organizational_units=[organization.prod, organization.dev],
        regions=[REGION],
        name=STACK_SET,
    )
    session = sandbox_session
    session.caller.reset_stats()
    ctx = session.context()
    log_archive = assume_role_session(session, DEMO_LOG_ROLE_ARN, session_name="test")
    run = StackSetRun(
        ANSWERS,
        options,
        caller=session.caller,
        ctx=ctx,
        central_caller=log_archive.caller,
        central_account=DEMO_LOG_ACCOUNT,
        dry_run=True,
    )
    run.prepare()
    assert run.plan is not None
    allowed = {
        action
        for need in stackset_operator_needs("aws", ctx.account_id, REGION, STACK_SET)
        for action in need.actions
    }
    calls = [c for s in run.plan.steps for c in (s.call, *s.undo) if c.account is None]
    operations = {(c.service, c.operation) for c in calls}
    operations |= {key for key in session.caller.stats if key[0] != "sts"}
    operations |= {
        ("cloudformation", "DescribeStackSetOperation"),
        ("cloudformation", "ListStackSetOperationResults"),
        ("cloudformation", "StopStackSetOperation"),
    }
    missing = sorted(
        action_for(service, operation)
        for service, operation in operations
        if action_for(service, operation) not in allowed
    )
    assert missing == []
    assert any(not is_read_only(operation) for _service, operation in operations)
