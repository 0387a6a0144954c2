"""The sandbox's automatic deployment of service-managed StackSets (wizard.sandbox.stacksets).

As AWS does with ``AutoDeployment`` enabled: an account moved into a target OU (or below it)
gets a stack instance in every region the OU was targeted with, and one created at the root
when the root is a target; an account that leaves loses its instance, its stack deleted
unless ``RetainStacksOnAccountRemoval``. Everything over HTTP with plain boto3; each member's
resources are read back in that account.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.sandbox_fixtures import REGION
from tests.wizard.test_onboard_stacksets import STACKSETS, Organization

NAME = "auto-topics"
OTHER_REGION = "eu-west-1"
TEMPLATE = yaml.safe_dump(
    {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"TopicName": "auto-deployed"},
            }
        },
    }
)


@pytest.fixture
def organization(aws: Any) -> Organization:
    org = Organization(aws)
    assert STACKSETS in {
        s["ServicePrincipal"]
        for s in aws("organizations").list_aws_service_access_for_organization()[
            "EnabledServicePrincipals"
        ]
    }
    return org


def stack_set(aws: Any, ou: str, *, enabled: bool = True, retain: bool = False) -> None:
    """A StackSet with instances for ``ou`` in two regions."""
    cfn = aws("cloudformation")
    cfn.create_stack_set(
        StackSetName=NAME,
        TemplateBody=TEMPLATE,
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": enabled, "RetainStacksOnAccountRemoval": retain},
    )
    operation = cfn.create_stack_instances(
        StackSetName=NAME,
        DeploymentTargets={"OrganizationalUnitIds": [ou]},
        Regions=[REGION, OTHER_REGION],
    )["OperationId"]
    status = cfn.describe_stack_set_operation(StackSetName=NAME, OperationId=operation)
    assert status["StackSetOperation"]["Status"] == "SUCCEEDED"


def instances(aws: Any) -> dict[tuple[str, str], str]:
    """(account, region) -> the instance's OU."""
    summaries = aws("cloudformation").list_stack_instances(StackSetName=NAME)["Summaries"]
    return {(s["Account"], s["Region"]): s["OrganizationalUnitId"] for s in summaries}


def topics(aws_in: Any, account: str, region: str) -> list[str]:
    """The topics the member account has in ``region``."""
    sns = aws_in(account, "sns", region)
    return [t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]]


@pytest.fixture
def aws_in(sandbox: Any, _client_session: Any) -> Any:
    """A boto3 client acting in another account of the sandbox (as the member itself)."""

    def make(account: str, service: str, region: str = REGION) -> Any:
        client = _client_session.client(
            service, region_name=region, endpoint_url=sandbox.endpoint_url
        )

        def in_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign", in_account)
        return client

    return make


def new_account(organization: Organization, name: str) -> str:
    status = organization.org.create_account(AccountName=name, Email=f"{name}@example.com")
    return str(status["CreateAccountStatus"]["AccountId"])


def test_an_account_moved_into_a_target_ou_is_deployed_and_removed_when_it_leaves(
    aws: Any, aws_in: Any, organization: Organization
) -> None:
    stack_set(aws, organization.prod)
    before = instances(aws)
    # prod and the OU below it, in both regions.
    assert set(before) == {
        (organization.accounts[name], region)
        for name in ("prod", "prod-eu")
        for region in (REGION, OTHER_REGION)
    }
    late = new_account(organization, "late-joiner")
    assert not any(account == late for account, _ in instances(aws))  # the root: no target

    organization.org.move_account(
        AccountId=late, SourceParentId=organization.root, DestinationParentId=organization.prod_eu
    )

    now = instances(aws)
    assert now[(late, REGION)] == organization.prod and now[(late, OTHER_REGION)] == (
        organization.prod
    )
    assert "auto-deployed" in topics(aws_in, late, REGION)
    assert "auto-deployed" in topics(aws_in, late, OTHER_REGION)
    cfn = aws("cloudformation")
    operations = cfn.list_stack_set_operations(StackSetName=NAME)["Summaries"]
    automatic = operations[-1]
    assert (automatic["Action"], automatic["Status"]) == ("CREATE", "SUCCEEDED")
    results = cfn.list_stack_set_operation_results(
        StackSetName=NAME, OperationId=automatic["OperationId"]
    )["Summaries"]
    assert {(r["Account"], r["Region"], r["Status"]) for r in results} == {
        (late, REGION, "SUCCEEDED"),
        (late, OTHER_REGION, "SUCCEEDED"),
    }

    # Moved out of every target OU: the instance goes and its stack with it.
    organization.org.move_account(
        AccountId=late, SourceParentId=organization.prod_eu, DestinationParentId=organization.dev
    )

    assert set(instances(aws)) == set(before)
    assert "auto-deployed" not in topics(aws_in, late, REGION)
    assert "auto-deployed" not in topics(aws_in, late, OTHER_REGION)
    last = cfn.list_stack_set_operations(StackSetName=NAME)["Summaries"][-1]
    assert (last["Action"], last["Status"]) == ("DELETE", "SUCCEEDED")


def test_retain_stacks_on_account_removal_keeps_the_stack_outside_the_stack_set(
    aws: Any, aws_in: Any, organization: Organization
) -> None:
    stack_set(aws, organization.dev, retain=True)
    leaving = organization.accounts["dev"]
    assert "auto-deployed" in topics(aws_in, leaving, REGION)

    organization.org.move_account(
        AccountId=leaving, SourceParentId=organization.dev, DestinationParentId=organization.root
    )

    assert not instances(aws)  # no longer the StackSet's
    assert "auto-deployed" in topics(aws_in, leaving, REGION)  # but its stack stays
    last = aws("cloudformation").list_stack_set_operations(StackSetName=NAME)["Summaries"][-1]
    assert last["Action"] == "DELETE"


def test_an_account_created_at_a_target_root_is_deployed(
    aws: Any, aws_in: Any, organization: Organization
) -> None:
    stack_set(aws, organization.root)
    newcomer = new_account(organization, "newcomer")

    assert {(newcomer, REGION), (newcomer, OTHER_REGION)} <= set(instances(aws))
    assert "auto-deployed" in topics(aws_in, newcomer, REGION)


def test_without_automatic_deployment_nothing_follows_the_account(
    aws: Any, aws_in: Any, organization: Organization
) -> None:
    stack_set(aws, organization.dev, enabled=False)
    before = instances(aws)
    late = new_account(organization, "manual")

    organization.org.move_account(
        AccountId=late, SourceParentId=organization.root, DestinationParentId=organization.dev
    )
    organization.org.move_account(
        AccountId=organization.accounts["dev"],
        SourceParentId=organization.dev,
        DestinationParentId=organization.root,
    )

    assert instances(aws) == before
    assert "auto-deployed" not in topics(aws_in, late, REGION)
