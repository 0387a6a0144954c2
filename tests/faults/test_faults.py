"""Fault injection: apply under failures, throttling, latency, lost connections and Ctrl-C.

Every fault is injected by :class:`tests.faults.proxy.FaultProxy`, on the wire, between the
wizard's botocore clients and the strict sandbox; what is left in the account is read back
with plain boto3 straight from the sandbox.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from tests.faults.conftest import (
    ACCOUNT,
    APP_BUCKET,
    EXAMPLES,
    HAND_WRITTEN_POLICY,
    REGION,
    ROOT,
    SEED,
    PlannedStep,
    account_state,
    assert_same_state,
    direct,
    example_plans,
    prepare,
)
from tests.faults.proxy import FaultProxy, Seen, throttle_error_for
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.names import RUN_TAG
from wizard.model.plan import Plan
from wizard.ports import AwsError
from wizard.run.journal import load_journal
from wizard.run.orphans import run_tag_of

EXAMPLE_BY_STEM = {p.stem: p for p in EXAMPLES}

# A non-retryable refusal per service, as each service spells it (a retryable one would
# be retried by botocore and never reach the executor).
REFUSALS: dict[str, tuple[str, int]] = {
    "s3": ("AccessDenied", 403),
    "iam": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
    "kms": ("AccessDeniedException", 400),
    "logs": ("AccessDeniedException", 400),
    "cloudtrail": ("AccessDeniedException", 400),
}

CLI = [sys.executable, "-m", "screens.cli"]
"""The command line, in a child process."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """(example, step) pairs from the examples' real plans on the sandbox."""
    if "example_step" in metafunc.fixturenames:
        pairs = [(stem, step) for stem, steps in example_plans().items() for step in steps]
        metafunc.parametrize(
            "example_step", pairs, ids=[f"{stem}:{step.id}" for stem, step in pairs]
        )


def plan_for(engine: Engine, example: Path) -> tuple[Answers, Plan, Any]:
    answers = load_answers(example)
    plan, found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    return answers, plan, found


def mutating_targets(log: list[Seen]) -> list[str]:
    return [s.target for s in log if s.mutating]


# ------------------------------------------------------------------ the harness itself


def raw_client(proxy: FaultProxy, service: str, region: str = REGION) -> Any:
    """A boto3 client on the proxy that never retries: it shows each fault as it is."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    ).client(
        service,  # type: ignore[call-overload]
        endpoint_url=proxy.url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


@pytest.mark.parametrize(
    ("service", "operation", "params", "code", "status"),
    [
        ("cloudtrail", "DescribeTrails", {}, "TrailNotFoundException", 404),
        ("iam", "GetRole", {"RoleName": "AppReader"}, "ServiceFailure", 418),
        ("s3", "GetBucketPolicy", {"Bucket": APP_BUCKET}, "InvalidRequest", 400),
        ("s3", "HeadBucket", {"Bucket": APP_BUCKET}, "403", 403),
        ("kms", "ListKeys", {}, "KMSInternalException", 409),
    ],
)
def test_an_injected_error_reaches_the_caller_with_its_code_and_status(
    service: str,
    operation: str,
    params: dict[str, Any],
    code: str,
    status: int,
    sandbox: Any,
    proxy: FaultProxy,
    wizard_session: Any,
) -> None:
    caller = wizard_session.caller
    proxy.fail(f"{service}:{operation}", code=code, status=status, nth=2)

    caller.call(service, REGION, operation, params)  # the first one passes
    with pytest.raises(AwsError) as raised:
        caller.call(service, REGION, operation, params)
    caller.call(service, REGION, operation, params)  # times=1: the third passes again

    assert (raised.value.code, raised.value.status) == (code, status)
    assert [(s.target, s.action) for s in proxy.log] == [
        (f"{service}:{operation}", "forwarded"),
        (f"{service}:{operation}", "failed"),
        (f"{service}:{operation}", "forwarded"),
    ]


def test_throttling_is_deterministic_and_in_each_services_own_words(
    sandbox: Any, proxy: FaultProxy
) -> None:
    clients = {s: raw_client(proxy, s) for s in ("sts", "s3", "kms")}
    calls = {
        "sts": lambda c: c.get_caller_identity(),
        "s3": lambda c: c.list_buckets(),
        "kms": lambda c: c.list_keys(),
    }

    def run() -> list[tuple[str, str]]:
        proxy.reset()
        proxy.throttle(0.3)
        outcomes = []
        for _ in range(20):
            for service, client in clients.items():
                try:
                    calls[service](client)
                    outcomes.append((service, "ok"))
                except ClientError as err:
                    code = err.response["Error"]["Code"]
                    status = err.response["ResponseMetadata"]["HTTPStatusCode"]
                    assert (code, status) == throttle_error_for(service)
                    outcomes.append((service, code))
        return outcomes

    first, second = run(), run()
    assert first == second
    throttled = sum(1 for _s, outcome in first if outcome != "ok")
    assert 0.15 * len(first) <= throttled <= 0.45 * len(first)
    assert {code for _s, code in first} == {"ok", "Throttling", "SlowDown", "ThrottlingException"}


def test_a_dropped_connection_is_a_connection_error_and_botocore_retries_it(
    sandbox: Any, proxy: FaultProxy, wizard_session: Any
) -> None:
    proxy.drop("sts:GetCallerIdentity")
    with pytest.raises(ConnectionClosedError):
        raw_client(proxy, "sts").get_caller_identity()

    proxy.drop("sts:GetCallerIdentity")
    identity = wizard_session.caller.call("sts", REGION, "GetCallerIdentity")

    assert identity["Account"] == ACCOUNT
    assert [s.action for s in proxy.log] == ["dropped", "dropped", "forwarded"]


def test_latency_is_added_per_request(sandbox: Any, proxy: FaultProxy) -> None:
    client = raw_client(proxy, "sts")
    client.get_caller_identity()  # connect first: only the request is timed
    proxy.delay(0.2)
    start = time.perf_counter()
    client.get_caller_identity()
    assert 0.2 <= time.perf_counter() - start < 1.0


# ---------------------------------------------------------- a failure at every step


def _created_names(plan: Plan) -> dict[str, str]:
    """What each creating step of the plan creates, by step id."""
    names = {}
    for step in plan.steps:
        params = step.call.params
        names[step.id] = str(
            {
                "create-bucket": params.get("Bucket"),
                "create-access-log-bucket": params.get("Bucket"),
                "create-alias": params.get("AliasName"),
                "create-topic": params.get("Name"),
                "create-log-group": params.get("logGroupName"),
                "create-role": params.get("RoleName"),
                "create-trail": params.get("Name"),
            }.get(step.id, step.creates)
        )
    return names


def assert_nothing_created_is_left(
    plan: Plan, before: dict[str, Any], after: dict[str, Any]
) -> None:
    """Each resource the plan creates is gone (a new key: pending deletion)."""
    names = _created_names(plan)
    for step in plan.steps:
        if not step.creates:
            continue
        name = names[step.id]
        region = step.call.region
        if step.id in ("create-bucket", "create-access-log-bucket"):
            assert name not in after["buckets"], f"bucket {name} is still there"
        elif step.id == "create-key":
            new = set(after[f"keys/{region}"]) - set(before[f"keys/{region}"])
            assert all(after[f"keys/{region}"][k]["state"] == "PendingDeletion" for k in new)
        elif step.id == "create-alias":
            assert name not in after[f"aliases/{region}"], f"alias {name} is still there"
        elif step.id == "create-topic":
            assert not any(arn.endswith(f":{name}") for arn in after[f"topics/{region}"])
        elif step.id == "create-log-group":
            assert name not in after[f"log-groups/{region}"]
        elif step.id == "create-role":
            assert name not in after["roles"]
        elif step.id == "create-trail":
            assert not any(arn.endswith(f"/{name}") for arn in after[f"trails/{region}"])
        else:  # pragma: no cover - a new kind of resource needs a check here
            raise AssertionError(f"no check for what {step.id} creates")


def test_the_failure_matrix_covers_every_example() -> None:
    plans = example_plans()
    assert set(plans) == set(EXAMPLE_BY_STEM)
    assert all(plans.values())


def test_a_failure_at_each_step_of_each_example_is_rolled_back(
    example_step: tuple[str, PlannedStep],
    engine: Engine,
    proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    stem, failing = example_step
    example = EXAMPLE_BY_STEM[stem]
    prepare(example)
    answers, plan, found = plan_for(engine, example)
    assert [s.id for s in plan.steps if s.mutating] == [s.id for s in example_plans()[stem]], (
        "the plan changed since collection"
    )
    before = account_state()
    code, status = REFUSALS[failing.service]
    proxy.clear_log()
    # Steps sharing an operation (the log bucket's and the access log bucket's) run in plan
    # order: fail the request of this step, not an earlier one's.
    earlier = [s for s in example_plans()[stem] if s.target == failing.target]
    nth = [s.id for s in earlier].index(failing.id) + 1
    rule = proxy.fail(failing.target, code=code, status=status, nth=nth)
    journal_path = tmp_path / "journal.json"

    outcome = engine.apply(answers, plan, found=found, journal_path=journal_path)

    report = outcome.report
    assert rule.fired == 1
    assert report.status == "rolled-back", report.message
    assert report.step(failing.id).status == "failed"
    assert code in (report.error or "")
    assert {r.status for r in report.steps} <= {"failed", "rolled-back", "skipped"}
    after = account_state()
    assert_nothing_created_is_left(plan, before, after)
    assert_same_state(before, after)
    for step in plan.steps:
        if step.policy is not None and step.policy.before is not None:
            # A changed policy is back to its previous text, byte for byte.
            assert step.call.operation == "PutBucketPolicy"
            assert after["buckets"][APP_BUCKET]["policy"] == step.policy.before
            assert step.policy.before == HAND_WRITTEN_POLICY
    # The journal tells the story: the failure, then one undo per completed change.
    journal = load_journal(journal_path)
    kinds = [e["kind"] for e in journal["entries"]]
    assert "rollback-started" in kinds
    assert journal["summary"]["status"] == "rolled-back"
    undone = {e["step_id"] for e in journal["entries"] if e["kind"] == "rollback-call"}
    expected = {r.id for r in report.steps if r.status == "rolled-back" and plan.step(r.id).undo}
    assert undone == expected
    failed = [e for e in journal["entries"] if e.get("step_id") == failing.id and "error" in e]
    assert failed and code in failed[0]["error"]


# ------------------------------------------------- throttling, latency, lost connections


@pytest.fixture
def fresh_session(proxy: FaultProxy) -> Any:
    """A wizard session of its own: botocore's retry quota is per client, and shared
    clients would carry this test's spent quota into later tests."""
    from wizard.aws.session import SessionSettings, open_session

    return open_session(SessionSettings(sandbox_endpoint=proxy.url), verify=False)


def test_apply_succeeds_when_30_percent_of_all_requests_are_throttled(
    sandbox: Any, proxy: FaultProxy, fresh_session: Any, tmp_path: Path
) -> None:
    # The example with every service: KMS, S3, SNS, Logs, IAM, CloudTrail (and STS).
    example = EXAMPLE_BY_STEM["cloudwatch-and-sns"]
    proxy.throttle(0.3)
    engine = Engine.connect(fresh_session.caller, REGION)
    answers, plan, found = plan_for(engine, example)

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "applied", outcome.report.message
    assert outcome.verification is not None and outcome.verification.ok, outcome.verification
    log = proxy.log
    throttled = [s for s in log if s.action == "throttled"]
    assert len(throttled) >= 0.15 * len(log), Counter(s.action for s in log)
    assert {s.service for s in throttled} >= {"s3", "cloudtrail"}
    # A throttled request is not executed, so each change reached the account exactly once.
    forwarded = Counter(s.target for s in log if s.mutating and s.action == "forwarded")
    assert forwarded == Counter(f"{s.call.service}:{s.call.operation}" for s in plan.steps)
    # botocore retried them: the executor never saw a throttling error.
    assert all(r.attempts == 1 for r in outcome.report.steps)


def test_apply_succeeds_with_200_ms_latency_on_every_request(
    engine: Engine, proxy: FaultProxy, wizard_session: Any, tmp_path: Path
) -> None:
    proxy.delay(0.2)
    start = time.perf_counter()
    answers, plan, found = plan_for(engine, EXAMPLE_BY_STEM["new-bucket-sse-s3"])
    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")
    elapsed = time.perf_counter() - start

    assert outcome.report.status == "applied", outcome.report.message
    assert outcome.verification is not None and outcome.verification.ok, outcome.verification
    assert all(r.attempts == 1 for r in outcome.report.steps)
    # Nothing timed out and was retried behind our back: the proxy saw exactly the requests
    # the caller made, each once.
    seen = Counter((s.service, s.operation) for s in proxy.log)
    assert seen == wizard_session.caller.stats
    assert {s.action for s in proxy.log} == {"forwarded"}
    # The chain create-bucket -> bucket-policy -> create-trail -> selectors -> start-logging
    # alone is 6 sequential requests; the time is what the latency explains, not timeouts.
    assert 6 * 0.2 <= elapsed < 30


def test_apply_succeeds_when_every_change_first_loses_its_connection(
    engine: Engine, proxy: FaultProxy, tmp_path: Path
) -> None:
    """The connection drops before the request reaches the server: botocore retries."""
    answers, plan, found = plan_for(engine, EXAMPLE_BY_STEM["sse-kms-new-key"])
    for step in plan.steps:
        proxy.drop(f"{step.call.service}:{step.call.operation}")
    proxy.clear_log()

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "applied", outcome.report.message
    assert outcome.verification is not None and outcome.verification.ok
    actions = Counter((s.target, s.action) for s in proxy.log if s.mutating)
    for step in plan.steps:
        target = f"{step.call.service}:{step.call.operation}"
        assert actions[(target, "dropped")] == 1
        assert actions[(target, "forwarded")] == 1, "each change was made exactly once"


@pytest.mark.parametrize(
    "step_id",
    [
        "create-key",
        "create-alias",
        "create-bucket",
        "create-topic",
        "create-log-group",
        "create-role",
        "create-trail",
    ],
)
def test_a_create_whose_response_is_lost_leaves_no_stray_resource(
    step_id: str, engine: Engine, proxy: FaultProxy, tmp_path: Path
) -> None:
    """The server creates the resource, the connection drops before the answer arrives.

    botocore retries the call; whatever the outcome (applied, or failed and rolled back),
    the account must not keep a resource nobody knows about. (CreateKey has no idempotency
    token: the retry makes a second key, and the first one can only be scheduled for
    deletion, which is what the run does.)
    """
    answers, plan, found = plan_for(engine, EXAMPLE_BY_STEM["cloudwatch-and-sns"])
    before = account_state()
    call = plan.step(step_id).call
    proxy.drop(f"{call.service}:{call.operation}", after_forward=True)

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    after = account_state()
    if outcome.report.status == "applied":
        # Exactly one of each resource in use: no duplicate left from the retried request.
        keys = after["keys/us-east-1"]
        new_keys = {k for k in keys if k not in before["keys/us-east-1"]}
        live = {k for k in new_keys if keys[k]["state"] != "PendingDeletion"}
        assert len(live) == 1, f"{len(live)} new keys in use"
        trail = direct("cloudtrail").get_trail(Name=plan.trail_arn)["Trail"]
        assert trail["KmsKeyId"].endswith(next(iter(live)))
    else:
        assert outcome.report.status == "rolled-back", outcome.report.message
        assert_same_state(before, after)


def run_tagged_keys(run_id: str | None, region: str = REGION) -> dict[str, str]:
    """Key id -> state of every key carrying the run tag ``run_id`` (read straight from KMS)."""
    kms = direct("kms", region)
    found = {}
    for key in kms.list_keys()["Keys"]:
        tags = kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]
        if {"TagKey": RUN_TAG, "TagValue": run_id} in tags:
            found[key["KeyId"]] = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"]
    return found


def test_the_duplicate_of_a_key_whose_answer_was_lost_is_scheduled_for_deletion(
    engine: Engine, proxy: FaultProxy, tmp_path: Path
) -> None:
    answers, plan, found = plan_for(engine, EXAMPLE_BY_STEM["sse-kms-new-key"])
    assert plan.run_id and run_tag_of("CreateKey", plan.step("create-key").call.params)
    proxy.drop("kms:CreateKey", after_forward=True)
    journal_path = tmp_path / "journal.json"

    outcome = engine.apply(answers, plan, found=found, journal_path=journal_path)

    report = outcome.report
    assert report.status == "applied", report.message
    assert outcome.verification is not None and outcome.verification.ok
    used = report.outputs["create-key"]["KeyMetadata"]["KeyId"]
    tagged = run_tagged_keys(plan.run_id)
    assert len(tagged) == 2, tagged  # the lost answer's key and the retry's
    (orphan,) = set(tagged) - {used}
    assert tagged == {used: "Enabled", orphan: "PendingDeletion"}
    assert [(k.key_id, k.status) for k in report.orphan_keys] == [(orphan, "scheduled")]
    assert report.key_sweeps[0].reason == "retried"
    assert orphan in report.message and "scheduled" in report.message
    forwarded = Counter(s.target for s in proxy.log if s.action == "forwarded")
    assert forwarded["kms:ScheduleKeyDeletion"] == 1
    journal = load_journal(journal_path)
    cleanup = [e for e in journal["entries"] if e["kind"] == "cleanup-call"]
    assert [(e["operation"], e["params"]["KeyId"]) for e in cleanup] == [
        ("ScheduleKeyDeletion", orphan)
    ]
    assert cleanup[0]["params"]["PendingWindowInDays"] == 7
    assert [k["key_id"] for k in journal["summary"]["orphan_keys"]] == [orphan]


def test_rolling_back_a_retried_create_key_schedules_both_keys(
    engine: Engine, proxy: FaultProxy, tmp_path: Path
) -> None:
    answers, plan, found = plan_for(engine, EXAMPLE_BY_STEM["sse-kms-new-key"])
    before = account_state()
    proxy.drop("kms:CreateKey", after_forward=True)
    proxy.fail("cloudtrail:CreateTrail", code=REFUSALS["cloudtrail"][0], status=400)
    journal_path = tmp_path / "journal.json"

    outcome = engine.apply(answers, plan, found=found, journal_path=journal_path)

    report = outcome.report
    assert report.status == "rolled-back", report.message
    after = account_state()
    assert_same_state(before, after)  # new keys: pending deletion; the rest as before
    tagged = run_tagged_keys(plan.run_id)
    assert len(tagged) == 2 and set(tagged.values()) == {"PendingDeletion"}, tagged
    used = report.outputs["create-key"]["KeyMetadata"]["KeyId"]
    (orphan,) = set(tagged) - {used}
    assert [(k.key_id, k.status) for k in report.orphan_keys] == [(orphan, "scheduled")]
    assert report.step("create-key").status == "rolled-back"
    assert orphan in report.message
    journal = load_journal(journal_path)
    scheduled = [
        e["params"]["KeyId"]
        for e in journal["entries"]
        if e.get("operation") == "ScheduleKeyDeletion"
        and e["kind"] != "intent"  # the outcomes, not the write-ahead records
        and "error" not in e
    ]
    assert sorted(scheduled) == sorted([used, orphan])


def test_a_normal_apply_makes_no_extra_key_calls(
    engine: Engine, proxy: FaultProxy, wizard_session: Any, tmp_path: Path
) -> None:
    """The search for duplicates costs nothing unless botocore retried a CreateKey."""
    caller = wizard_session.caller
    answers, plan, found = plan_for(engine, EXAMPLE_BY_STEM["sse-kms-new-key"])
    planned = caller.stats
    caller.reset_stats()

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "applied", outcome.report.message
    assert outcome.report.key_sweeps == [] and outcome.report.orphan_keys == []
    applied = caller.stats
    assert applied[("kms", "CreateKey")] == 1
    assert applied[("kms", "ListResourceTags")] == applied[("kms", "ScheduleKeyDeletion")] == 0
    # ListKeys only as often as discovery lists keys (the stale-plan check repeats it).
    assert applied[("kms", "ListKeys")] == planned[("kms", "ListKeys")]
    used = outcome.report.outputs["create-key"]["KeyMetadata"]["KeyId"]
    assert run_tagged_keys(plan.run_id) == {used: "Enabled"}  # the key carries the run tag


# ------------------------------------------------------------------------------- Ctrl-C


CTRL_C_LATENCY = 0.3
"""Seconds added to every mutating request, so an apply takes a few seconds."""


def ctrl_c_cases() -> list[Any]:
    """(example, k, delay, presses): Ctrl-C once the kth change reached the server, plus delay.

    k and the delay are drawn from the suite's seed; the delay is shorter than the latency,
    so the signal comes while the kth change is in flight. The last case waits for every
    change to have been sent: the signal then comes after the last step started, and the
    apply must complete.
    """
    rng = random.Random(SEED)
    plans = example_plans()
    cases = []
    for stem, presses in (
        ("sse-kms-new-key", 1),
        ("cloudwatch-and-sns", 1),
        ("existing-bucket-prefix", 1),
        ("new-bucket-sse-s3", 2),
    ):
        k = rng.randint(1, len(plans[stem]) - 1)
        delay = round(rng.uniform(0, CTRL_C_LATENCY), 3)
        cases.append(pytest.param(stem, k, delay, presses, id=f"{stem}-k{k}-x{presses}"))
    last = len(plans["sse-kms-new-key"])
    cases.append(pytest.param("sse-kms-new-key", last, 0.0, 1, id=f"sse-kms-new-key-k{last}-last"))
    return cases


@pytest.mark.parametrize(("stem", "k", "delay", "presses"), ctrl_c_cases())
def test_ctrl_c_during_apply_rolls_back_or_completes(
    stem: str,
    k: int,
    delay: float,
    presses: int,
    sandbox: Any,
    proxy: FaultProxy,
    isolated_env: dict[str, str],
) -> None:
    example = EXAMPLE_BY_STEM[stem]
    prepare(example)
    answers = load_answers(example)
    before = account_state()
    proxy.delay(CTRL_C_LATENCY, mutating_only=True)
    env = {**isolated_env, "AWS_ENDPOINT_URL": proxy.url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [*CLI, "apply", str(example), "--yes", "--output", "json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Wait for the kth change to reach the proxy (which holds it for the latency),
        # rather than sleeping blindly: the JSON output has no progress lines to wait for.
        reached = proxy.wait_for(
            lambda seen: len(mutating_targets(seen)) >= k, timeout=60, arrivals=True
        )
        if not reached:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"the apply never sent {k} changes:\n{out}\n{err}")
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        if presses > 1:
            # Ctrl-C again while the first undo call is held by the proxy: the rollback
            # must still finish.
            undoing = ("Delete", "Stop", "Schedule")
            assert proxy.wait_for(
                lambda seen: any(s.operation.startswith(undoing) for s in seen),
                timeout=30,
                arrivals=True,
            )
            process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    doc = json.loads(out)
    after = account_state()
    journal = load_journal(doc["journal"])
    kinds = [e["kind"] for e in journal["entries"]]
    steps = {s["id"]: s["status"] for s in doc["steps"]}
    if process.returncode == 130:
        assert doc["status"] == "cancelled", err
        assert set(steps.values()) <= {"rolled-back", "skipped"}, steps
        if "skipped" not in steps.values():
            # The signal came while the last steps ran: they were let finish, then undone,
            # and the report says so rather than claiming nothing had started.
            assert "last step" in journal["summary"]["message"], journal["summary"]
        # Nothing half-done: the account is as it was (a new key: pending deletion).
        assert_same_state(before, after)
        assert "Interrupted" in err
        assert journal["summary"]["status"] == "cancelled"
        assert "cancelled" in kinds and "rollback-started" in kinds
        # One undo call per change that was made and has an undo (the others went with
        # the resource they configured), each after the call it undoes.
        undone = [e["step_id"] for e in journal["entries"] if e["kind"] == "rollback-call"]
        with_undo = {s.id for s in example_plans()[stem] if s.has_undo}
        rolled_back = {sid for sid, status in steps.items() if status == "rolled-back"}
        assert set(undone) == rolled_back & with_undo
        made = [e["step_id"] for e in journal["entries"] if e["kind"] == "call"]
        assert set(made) == rolled_back
        if stem == "existing-bucket-prefix":
            assert after["buckets"][APP_BUCKET]["policy"] == HAND_WRITTEN_POLICY
    else:
        # The signal came after the last step started: everything is there, and logging.
        assert process.returncode == 0, (process.returncode, out, err)
        assert doc["status"] == "applied"
        assert set(steps.values()) == {"done"}
        assert doc["verification"] is not None
        assert all(c["ok"] for c in doc["verification"]["checks"])
        trail_arn = doc["trail_arn"]
        home = trail_arn.split(":")[3]
        assert after[f"trails/{home}"][trail_arn] is True, "the trail is logging"
        if answers.bucket.create:
            assert answers.bucket.name in after["buckets"]
        assert journal["summary"]["status"] == "applied"
        assert "rollback-started" not in kinds
    n = len(example_plans()[stem])
    if k == n:
        # Every step had started: the last is let finish, then the whole run is undone
        # (the person asked to stop, and was told the run would be rolled back).
        assert doc["status"] == "cancelled", "a cancel during the last step rolls back"
    elif k <= n - 2:
        # start-logging waits for at least one change that had not even been sent.
        assert doc["status"] == "cancelled", "steps were pending when Ctrl-C came"


# -------------------------------------------------------------------------- stale plans


OTHER_BUCKET_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SomeoneElse",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{APP_BUCKET}/*",
            }
        ],
    }
)


def _other_key_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SomeoneElseOnlyRoot",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


@pytest.mark.parametrize(
    ("stem", "fingerprint"),
    [("existing-bucket-prefix", "bucket"), ("sse-kms-existing-key", "key")],
)
def test_a_policy_changed_between_plan_and_apply_makes_the_plan_stale(
    stem: str, fingerprint: str, engine: Engine, proxy: FaultProxy, tmp_path: Path
) -> None:
    example = EXAMPLE_BY_STEM[stem]
    prepare(example)
    answers, plan, found = plan_for(engine, example)
    # Someone else changes the policy after the plan was reviewed.
    if fingerprint == "bucket":
        direct("s3").put_bucket_policy(Bucket=APP_BUCKET, Policy=OTHER_BUCKET_POLICY)
        expected = OTHER_BUCKET_POLICY
    else:
        ref = answers.encryption.existing_key
        key = direct("kms").describe_key(KeyId=ref)["KeyMetadata"]["KeyId"]
        expected = _other_key_policy()
        direct("kms").put_key_policy(KeyId=key, PolicyName="default", Policy=expected)

    def read_back() -> str:
        if fingerprint == "bucket":
            return str(direct("s3").get_bucket_policy(Bucket=APP_BUCKET)["Policy"])
        return str(direct("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])

    before = account_state()
    proxy.clear_log()

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "stale", outcome.report.message
    assert outcome.report.changed == [fingerprint]
    assert {r.status for r in outcome.report.steps} == {"skipped"}
    assert mutating_targets(proxy.log) == [], "nothing was sent but reads"
    assert proxy.log, "the freshness check did read the account"
    assert read_back() == expected
    assert_same_state(before, account_state())


def test_the_cli_with_yes_merges_into_a_policy_changed_during_its_own_run(
    sandbox: Any, proxy: FaultProxy, isolated_env: dict[str, str]
) -> None:
    """``apply --yes`` applies a plan it made milliseconds before, with nobody pausing, so it
    does not read the account again before its first change. A colleague's edit of the
    bucket policy during the run (the proxy makes it just before the wizard's next read of
    the policy) is still never overwritten: the policy guard reads the policy right before
    writing it and merges CloudTrail's statements into the colleague's text."""
    example = EXAMPLE_BY_STEM["existing-bucket-prefix"]
    prepare(example)
    proxy.before(
        "s3:GetBucketPolicy",
        lambda: direct("s3").put_bucket_policy(Bucket=APP_BUCKET, Policy=OTHER_BUCKET_POLICY),
        nth=2,  # the first read is the plan's, the second the guard's, right before the write
    )
    env = {**isolated_env, "AWS_ENDPOINT_URL": proxy.url, "PYTHONPATH": str(ROOT)}

    result = subprocess.run(
        [*CLI, "apply", str(example), "--yes", "--output", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "applied", doc["message"]
    assert "merged into the new text" in doc["message"]
    final = json.loads(direct("s3").get_bucket_policy(Bucket=APP_BUCKET)["Policy"])
    colleague = json.loads(OTHER_BUCKET_POLICY)["Statement"][0]
    assert colleague in final["Statement"], "the colleague's statement is kept"
    assert len(final["Statement"]) > 1, "CloudTrail's statements were merged in"
    journal = load_journal(doc["journal"])
    kinds = [e["kind"] for e in journal["entries"]]
    assert "policy-merged-again" in kinds
    started = next(e for e in journal["entries"] if e["kind"] == "apply-started")
    assert "not read again" in started["message"]


def test_no_real_aws_endpoint_is_configured(isolated_env: dict[str, str]) -> None:
    """A guard for the suite itself: the CLI children get only dummy credentials."""
    assert isolated_env["AWS_ACCESS_KEY_ID"] == "testing"
    assert "AWS_PROFILE" not in isolated_env and "AWS_SESSION_TOKEN" not in isolated_env
    assert os.environ.get("AWS_ENDPOINT_URL") is None


def test_apply_output_names_a_duplicate_key_scheduled_or_not() -> None:
    import io

    from screens.common.reporting import print_orphan_keys
    from wizard.run.orphans import OrphanKey

    out = io.StringIO()
    print_orphan_keys(
        [
            OrphanKey(
                key_id="k-1", region="eu-west-1", status="scheduled", deletion_date="2026-12-04"
            ),
            OrphanKey(key_id="k-2", region="eu-west-1", status="failed", error="AccessDenied"),
        ],
        out,
    )
    first, second = out.getvalue().splitlines()
    assert "k-1 (eu-west-1) is not used and is scheduled for deletion on 2026-12-04" in first
    assert "could not be scheduled (AccessDenied)" in second
    assert "aws kms schedule-key-deletion --key-id k-2 --region eu-west-1" in second
