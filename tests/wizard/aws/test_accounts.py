"""Assumed-role sessions share what depends only on the service models.

Onboarding opens one session per account; what every account's clients would build the
same way (the parsed models, the clients' exception classes) is made once per process,
while each account keeps its own credentials. Against the seeded sandbox over HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ParamValidationError

from wizard.aws.accounts import assume_role_session
from wizard.ports import AwsError

pytestmark = pytest.mark.aws

ROLE = "arn:aws:iam::{}:role/OrganizationAccountAccessRole"


def test_accounts_share_exception_classes_and_keep_their_identities(
    sandbox: Any, sandbox_session: Any
) -> None:
    one = assume_role_session(sandbox_session, ROLE.format("111111111111"))
    two = assume_role_session(sandbox_session, ROLE.format("222222222222"))

    s3_one: Any = one.factory.client("s3", "us-east-1")
    s3_two: Any = two.factory.client("s3", "us-east-1")

    # Built once for the process, not once per account.
    assert s3_one.exceptions.NoSuchBucket is s3_two.exceptions.NoSuchBucket
    # Each account still answers as itself, and a modelled error is still that error.
    assert one.whoami()[0] == "111111111111"
    assert two.whoami()[0] == "222222222222"
    with pytest.raises(s3_two.exceptions.NoSuchBucket):
        s3_two.get_bucket_policy(Bucket="no-such-bucket-222222222222")
    with pytest.raises(AwsError) as caught:
        two.caller.call("s3", "us-east-1", "GetBucketPolicy", {"Bucket": "no-such-bucket-2"})
    assert caught.value.code == "NoSuchBucket"


def test_accounts_get_botocore_built_in_handlers_each_in_a_copy_of_its_own(
    sandbox: Any, sandbox_session: Any
) -> None:
    # The built-in handlers are registered once for the process and copied into each
    # account's session: they must all be there, and what one session adds must stay there.
    one = assume_role_session(sandbox_session, ROLE.format("111111111111"))
    two = assume_role_session(sandbox_session, ROLE.format("222222222222"))
    s3_one: Any = one.factory.client("s3", "us-east-1")

    # botocore's validate_bucket_name (a built-in handler) refuses before anything is sent.
    with pytest.raises(ParamValidationError, match="Invalid bucket name"):
        s3_one.get_bucket_policy(Bucket="not a bucket!")

    seen: list[str] = []
    events: Any = one.boto3_session.events  # type: ignore[union-attr]
    events.register(
        "before-call.cloudtrail.DescribeTrails", lambda **kw: seen.append(kw["event_name"])
    )
    one.caller.call("cloudtrail", "us-east-1", "DescribeTrails", {})
    two.caller.call("cloudtrail", "us-east-1", "DescribeTrails", {})
    three = assume_role_session(sandbox_session, ROLE.format("333333333333"))
    three.caller.call("cloudtrail", "us-east-1", "DescribeTrails", {})
    assert seen == ["before-call.cloudtrail.DescribeTrails"]
