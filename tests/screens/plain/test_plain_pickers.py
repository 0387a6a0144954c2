"""Plain mode's lists of buckets and keys, on the seeded sandbox.

A page of buckets (up to 100) is listed with each policy's verdict; a bigger account page by
page with regions only, and the policy of the bucket named in the answer is read then.
Ctrl-C stops a listing and the question comes next.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from screens.common.backend import Backend
from screens.plain.wizard import PlainWizard
from tests.screens.plain.test_plain import plain_sandbox, sandbox  # noqa: F401 (fixtures)
from wizard import guide
from wizard.account import inventory
from wizard.sandbox.server import DEMO_ACCOUNT, Sandbox

pytestmark = pytest.mark.aws

CENTRAL = f"demo-central-logs-{DEMO_ACCOUNT}"
APP = f"demo-app-data-{DEMO_ACCOUNT}"


@pytest.fixture
def wizard(sandbox: Sandbox) -> Iterator[tuple[PlainWizard, io.StringIO]]:  # noqa: F811
    """A plain wizard connected to the sandbox, about to ask for an existing bucket."""
    backend = Backend(sandbox=True, endpoint=sandbox.endpoint_url)
    backend.connect()
    out = io.StringIO()
    draft: guide.Draft = {"trail": {"region": "us-east-1"}, "bucket": {"create": False}}
    yield PlainWizard(backend, out=out, draft=draft, show_help=False), out
    backend.close()


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The buckets whose policy is read, in order."""
    seen: list[str] = []
    check = inventory.check_bucket

    def counted(caller: Any, account: str, bucket: Any) -> Any:
        seen.append(bucket.name)
        return check(caller, account, bucket)

    monkeypatch.setattr(inventory, "check_bucket", counted)
    return seen


def bucket_question() -> guide.Question:
    return next(q for s in guide.STEPS for q in s.questions if q.key == "bucket.name")


def test_a_small_account_gets_every_verdict_in_the_list(
    wizard: tuple[PlainWizard, io.StringIO], checks: list[str]
) -> None:
    plain, out = wizard

    plain.list_buckets()

    lines = out.getvalue().splitlines()
    assert "Buckets of this account:" in lines
    assert f"  {CENTRAL} (eu-west-1): policy allows CloudTrail" in lines
    assert f"  {APP} (us-east-1): policy needs CloudTrail's statements" in lines
    assert sorted(checks) == sorted(plain.listed_buckets)  # each read once, in the list

    guide.put(plain.draft, "bucket.name", CENTRAL)
    plain.after_question(bucket_question())
    assert len(checks) == 3  # already read: not again


def test_a_big_account_is_listed_by_pages_and_the_chosen_policy_read_after(
    sandbox: Sandbox,  # noqa: F811
    wizard: tuple[PlainWizard, io.StringIO],
    checks: list[str],
) -> None:
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for i in range(inventory.BUCKET_FIRST_PAGE):
        s3.create_bucket(Bucket=f"many-{i:03d}-{DEMO_ACCOUNT}")
    plain, out = wizard

    plain.list_buckets()

    lines = [line for line in out.getvalue().splitlines() if line.startswith("  ")]
    assert len(lines) == inventory.BUCKET_FIRST_PAGE + 3
    assert f"  {CENTRAL} (eu-west-1)" in lines  # no verdict: nothing read per bucket
    assert checks == []

    guide.put(plain.draft, "bucket.name", CENTRAL)
    plain.after_question(bucket_question())
    assert checks == [CENTRAL]
    assert out.getvalue().splitlines()[-1] == (
        f"  {CENTRAL} (eu-west-1): its policy already allows CloudTrail."
    )
    guide.put(plain.draft, "bucket.name", APP)
    plain.after_question(bucket_question())
    assert out.getvalue().splitlines()[-1] == (
        f"  {APP} (us-east-1): CloudTrail's statements will be added to its policy."
    )


def test_ctrl_c_stops_the_listing_and_the_question_comes_next(
    wizard: tuple[PlainWizard, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = inventory.bucket_pages

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        first = True
        for page in pages(*args, **kwargs, first_page=2, page_size=2):
            if not first:
                raise KeyboardInterrupt
            first = False
            yield page

    monkeypatch.setattr(inventory, "bucket_pages", interrupted)
    plain, out = wizard

    plain.list_buckets()  # returns: Ctrl-C stopped the listing only

    assert out.getvalue().splitlines()[-1] == (
        "Listing stopped after 2 buckets; type the bucket's name."
    )
    assert len(plain.listed_buckets) == 2
