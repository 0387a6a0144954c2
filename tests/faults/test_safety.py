"""The safety promises under real-world conditions (issue 11), proved on the wire.

Each test runs the wizard against the strict sandbox through the fault proxy and reads the
account back with plain boto3: a colleague editing a policy while an apply runs, two runs of
the same answers at once, a name taken by someone else a moment before the create, a disk
that fills up under the journal, an unwritable state directory, SIGTERM / SIGHUP /
``timeout``, an undo call that fails, and ``recover`` resuming a killed run or refusing
what it cannot do.

Every moment that matters is reached deterministically: a proxy hook runs the other party's
change, or sends the signal, just before a given request is forwarded, and waits for what it
needs (another request answered, the child's "Interrupted" line) instead of sleeping.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import (
    ACCOUNT,
    APP_BUCKET,
    EXAMPLES,
    HAND_WRITTEN_POLICY,
    REGION,
    ROOT,
    account_state,
    assert_same_state,
    direct,
    prepare,
)
from tests.faults.proxy import FaultProxy, Seen
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.plan import Plan, Step
from wizard.run.journal import load_journal, lock_held
from wizard.run.recover import recover_rollback, unfinished_runs
from wizard.run.verify import verify

EXAMPLE_BY_STEM = {p.stem: p for p in EXAMPLES}
CLI = [sys.executable, "-m", "screens.cli"]
"""The command line, in a child process."""

CLOUDTRAIL = "cloudtrail.amazonaws.com"
READY_KEY = "alias/cloudtrail-ready"
"""The sandbox's key the sse-kms-existing-key example uses."""

DENIED: dict[str, tuple[str, int]] = {
    "s3": ("AccessDenied", 403),
    "kms": ("AccessDeniedException", 400),
    "cloudtrail": ("AccessDeniedException", 400),
}
"""A non-retryable refusal per service, as each spells it."""

COLLEAGUE_SID = "ColleagueAuditors"
COLLEAGUE_S3 = (
    f'{{"Sid": "{COLLEAGUE_SID}", "Effect": "Allow", "Principal": {{"AWS": '
    f'"arn:aws:iam::{ACCOUNT}:role/SecurityAuditor"}}, "Action": "s3:GetObject", '
    f'"Resource": "arn:aws:s3:::{APP_BUCKET}/*"}}'
)
"""The statement a colleague adds to the bucket policy (their own spacing)."""
COLLEAGUE_KMS = (
    f'{{"Sid": "{COLLEAGUE_SID}", "Effect": "Allow", "Principal": {{"AWS": '
    f'"arn:aws:iam::{ACCOUNT}:role/SecurityAuditor"}}, "Action": "kms:Decrypt", '
    '"Resource": "*"}'
)
"""The statement a colleague adds to the key policy."""

ROOT_ONLY_KEY_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    },
    indent=2,
)
"""KMS's default key policy: CloudTrail may not use the key, so the plan merges into it."""


# ------------------------------------------------------------------------------- helpers


def plan_for(engine: Engine, stem: str) -> tuple[Answers, Plan, Any]:
    """The example's answers, a fresh plan (new run id) and the discovery behind it."""
    answers = load_answers(EXAMPLE_BY_STEM[stem])
    plan, found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    return answers, plan, found


def mutating(log: list[Seen], action: str | None = "forwarded") -> list[str]:
    """``service:Operation`` of the changes in the log (those the proxy forwarded)."""
    return [s.target for s in log if s.mutating and (action is None or s.action == action)]


def insert_first(policy: str, statement: str) -> str:
    """``policy`` with ``statement`` spliced in as its first statement, every byte kept."""
    marker = '"Statement": ['
    assert policy.count(marker) == 1, policy
    return policy.replace(marker, f"{marker}{statement}, ", 1)


def statements(policy: str) -> list[dict[str, Any]]:
    raw = json.loads(policy)["Statement"]
    return raw if isinstance(raw, list) else [raw]


def cloudtrail_sids(policy: str) -> list[str]:
    """Sids of the statements that grant something to CloudTrail."""
    return [
        str(s.get("Sid"))
        for s in statements(policy)
        if CLOUDTRAIL in json.dumps(s.get("Principal", {}))
    ]


def bucket_policy() -> str:
    return str(direct("s3").get_bucket_policy(Bucket=APP_BUCKET)["Policy"])


def ready_key_id() -> str:
    return str(direct("kms").describe_key(KeyId=READY_KEY)["KeyMetadata"]["KeyId"])


def key_policy(key_id: str) -> str:
    return str(direct("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])


def prepare_policy(stem: str) -> tuple[Callable[[], str], Callable[[str], None], str]:
    """Set up the example whose existing policy the plan merges into.

    Returns:
        How to read that policy, how a colleague writes it (plain boto3, not through the
        wizard), and the statement the colleague adds.
    """
    prepare(EXAMPLE_BY_STEM[stem])
    if stem == "existing-bucket-prefix":
        return (
            bucket_policy,
            lambda text: direct("s3").put_bucket_policy(Bucket=APP_BUCKET, Policy=text),
            COLLEAGUE_S3,
        )
    key_id = ready_key_id()
    # The seeded key already lets CloudTrail in; with KMS's default policy instead, the plan
    # must merge CloudTrail's statements into it (the update-key-policy step).
    direct("kms").put_key_policy(KeyId=key_id, PolicyName="default", Policy=ROOT_ONLY_KEY_POLICY)
    return (
        lambda: key_policy(key_id),
        lambda text: direct("kms").put_key_policy(KeyId=key_id, PolicyName="default", Policy=text),
        COLLEAGUE_KMS,
    )


def policy_step(plan: Plan) -> Step:
    """The step that merges into a policy the run did not create."""
    (step,) = [s for s in plan.steps if s.policy is not None and s.policy.before is not None]
    return step


def cli_env(isolated_env: dict[str, str], proxy: FaultProxy, **extra: str) -> dict[str, str]:
    """The child's environment: dummy credentials, the proxy as endpoint, journals in tmp."""
    return {**isolated_env, "AWS_ENDPOINT_URL": proxy.url, "PYTHONPATH": str(ROOT), **extra}


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# ----------------------------------------------- 1. a colleague edits before our write


@pytest.mark.parametrize("stem", ["existing-bucket-prefix", "sse-kms-existing-key"])
def test_a_policy_edited_after_the_stale_check_is_merged_into_again(
    stem: str, engine: Engine, proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The colleague's edit lands after the freshness check passed and before the wizard
    writes the policy: the wizard reads it again, merges its statements into the new text
    and says so; the colleague's statement stays, byte for byte.

    The edit is made as the freshness check returns, not in a hook on the PutBucketPolicy /
    PutKeyPolicy request itself: the wizard's second read comes right before that request,
    and neither S3 nor KMS offers a conditional policy write, so an edit landing between
    that read and the write cannot be seen by any client (that window is what is left).
    """
    read, write, colleague = prepare_policy(stem)
    answers, plan, found = plan_for(engine, stem)
    step = policy_step(plan)
    assert step.policy is not None and step.policy.before == read()
    edited = insert_first(read(), colleague)
    fingerprint = engine.fingerprint

    def fingerprint_then_colleague_edits(*args: Any, **kwargs: Any) -> dict[str, str]:
        current = fingerprint(*args, **kwargs)  # the check passes: nothing changed yet
        write(edited)
        return current

    monkeypatch.setattr(engine, "fingerprint", fingerprint_then_colleague_edits)
    proxy.clear_log()

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    report = outcome.report
    assert report.status == "applied", report.message
    assert outcome.verification is not None and outcome.verification.ok, outcome.verification
    final = read()
    # Everything up to the end of the colleague's last statement is theirs, byte for byte;
    # CloudTrail's statements follow it.
    last_end = edited.rindex("}", 0, edited.rindex("]")) + 1
    assert final.startswith(edited[:last_end]), final
    assert colleague in final
    assert [s.get("Sid") for s in statements(final)][: len(statements(edited))] == [
        s.get("Sid") for s in statements(edited)
    ]
    assert set(step.policy.added_sids) <= set(cloudtrail_sids(final))
    assert set(cloudtrail_sids(final)) - set(cloudtrail_sids(edited)) == set(step.policy.added_sids)
    # What was written is the merge into the colleague's text, not the planned text.
    writes = [s for s in proxy.log if s.target == f"{step.call.service}:{step.call.operation}"]
    assert [s.action for s in writes] == ["forwarded"]
    assert final != step.policy.after
    # The report and the journal say what happened.
    assert "changed since the plan was made" in report.message, report.message
    assert "merged into the new text" in report.message
    journal = load_journal(tmp_path / "journal.json")
    merged = [e for e in journal["entries"] if e["kind"] == "policy-merged-again"]
    assert [e["step_id"] for e in merged] == [step.id]
    assert journal["summary"]["status"] == "applied"


@pytest.mark.parametrize("edit", ["colleague", "another-run"])
def test_a_policy_merged_into_again_is_rolled_back_to_the_edited_text(
    edit: str, engine: Engine, proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the freshness check, the bucket policy gains a colleague's statement, or the
    very statements the plan adds (another run of the same answers wrote them); a later step
    then fails. The rollback goes back to that edited text, not to the plan's older one."""
    stem = "existing-bucket-prefix"
    read, write, colleague = prepare_policy(stem)
    answers, plan, found = plan_for(engine, stem)
    step = policy_step(plan)
    assert step.policy is not None
    edited = insert_first(read(), colleague) if edit == "colleague" else step.policy.after
    fingerprint = engine.fingerprint

    def fingerprint_then_edit(*args: Any, **kwargs: Any) -> dict[str, str]:
        current = fingerprint(*args, **kwargs)
        write(edited)
        return current

    monkeypatch.setattr(engine, "fingerprint", fingerprint_then_edit)
    proxy.fail("cloudtrail:PutEventSelectors", code="AccessDeniedException", status=400)
    before = account_state()
    proxy.clear_log()

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    report = outcome.report
    assert report.status == "rolled-back", report.message
    assert read() == edited
    before["buckets"][APP_BUCKET]["policy"] = edited
    assert_same_state(before, account_state())
    writes = [s for s in proxy.log if s.target == "s3:PutBucketPolicy"]
    journal = load_journal(tmp_path / "journal.json")
    if edit == "colleague":
        # Merged into their text, then only CloudTrail's statements taken out again.
        assert [s.action for s in writes] == ["forwarded", "forwarded"]
        assert "merged into the new text" in report.message, report.message
        assert "before the wizard merged into it" in report.message
        restores = [e for e in journal["entries"] if e["kind"] == "rollback-call"]
        assert [e["params"].get("Policy") for e in restores if e["step_id"] == step.id] == [edited]
    else:
        # CloudTrail's statements were there already: nothing written, nothing taken out.
        assert writes == []
        assert "already holds CloudTrail's statements" in report.message, report.message
        assert "added none, so it took none out" in report.message


def test_recover_takes_out_only_what_a_merged_again_write_added(
    engine: Engine, proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write merged into a colleague's newer text, the run then failed and its restore
    failed too; `recover --rollback` works from the journal alone and must still take out
    only CloudTrail's statements, not go back to the plan's older text."""
    stem = "existing-bucket-prefix"
    read, write, colleague = prepare_policy(stem)
    answers, plan, found = plan_for(engine, stem)
    edited = insert_first(read(), colleague)
    fingerprint = engine.fingerprint

    def fingerprint_then_edit(*args: Any, **kwargs: Any) -> dict[str, str]:
        current = fingerprint(*args, **kwargs)
        write(edited)
        return current

    monkeypatch.setattr(engine, "fingerprint", fingerprint_then_edit)
    proxy.fail("cloudtrail:CreateTrail", code="AccessDeniedException", status=400)
    proxy.fail("s3:PutBucketPolicy", code="AccessDenied", status=403, nth=2)  # the restore
    journal_path = tmp_path / "journal.json"
    outcome = engine.apply(answers, plan, found=found, journal_path=journal_path)
    assert outcome.report.status == "rollback-incomplete", outcome.report.message
    assert COLLEAGUE_SID in read() and cloudtrail_sids(read())
    proxy.reset()

    report = recover_rollback(None, engine.caller, directory=tmp_path)

    assert report.status == "rolled-back", report.message
    assert read() == edited
    assert mutating(proxy.log) == ["s3:PutBucketPolicy"]
    assert "before the wizard merged into it" in report.message, report.message


# ------------------------------------ 2. a colleague edits after our write, before rollback


def _edit_then_fail(
    proxy: FaultProxy,
    read: Callable[[], str],
    write: Callable[[str], None],
    colleague: str,
    target: str = "cloudtrail:PutEventSelectors",
) -> list[str]:
    """A later step fails; just before it, a colleague adds a statement to the policy the
    wizard wrote. Returns (once the hook ran) the text the colleague saw, then wrote."""
    seen: list[str] = []

    def colleague_edits() -> None:
        current = read()
        seen.extend([current, insert_first(current, colleague)])
        write(seen[1])

    proxy.before(target, colleague_edits)
    code, status = DENIED[target.split(":")[0]]
    proxy.fail(target, code=code, status=status)
    return seen


def _assert_only_ours_removed(step: Step, seen: list[str], final: str, expected: str) -> None:
    """The rollback took out exactly the wizard's statements and kept the colleague's."""
    assert step.policy is not None
    wrote, colleague_wrote = seen
    assert set(step.policy.added_sids) <= set(cloudtrail_sids(wrote)), "the write had happened"
    assert COLLEAGUE_SID in colleague_wrote
    assert final == expected, final
    assert not set(step.policy.added_sids) & set(cloudtrail_sids(final))


def test_a_bucket_policy_edited_before_the_rollback_keeps_the_edit_cli(
    sandbox: Any, proxy: FaultProxy, isolated_env: dict[str, str]
) -> None:
    stem = "existing-bucket-prefix"
    read, write, colleague = prepare_policy(stem)
    before = account_state()
    seen = _edit_then_fail(proxy, read, write, colleague)

    result = run_cli(
        cli_env(isolated_env, proxy),
        "apply",
        str(EXAMPLE_BY_STEM[stem]),
        "--yes",
        "--output",
        "json",
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "rolled-back"
    steps = {s["id"]: s["status"] for s in doc["steps"]}
    assert steps["update-bucket-policy"] == "rolled-back"
    assert steps["put-event-selectors"] == "failed"
    final = bucket_policy()
    expected = insert_first(HAND_WRITTEN_POLICY, colleague)
    plan = load_journal(doc["journal"])["entries"][0]["result"]["plan"]
    step = Plan.model_validate(plan).step("update-bucket-policy")
    assert step.policy is not None
    _assert_only_ours_removed(step, seen, final, expected)
    # Nothing else in the account changed: the trail is gone, the rest as it was.
    before["buckets"][APP_BUCKET]["policy"] = expected
    assert_same_state(before, account_state())
    # The output says exactly that, not "every change was rolled back".
    message = doc["message"]
    assert "edited by someone else after the wizard wrote it" in message, message
    assert "only the wizard's statements" in message and "their change was kept" in message
    assert all(sid in message for sid in step.policy.added_sids)
    journal = load_journal(doc["journal"])
    adjusted = [e for e in journal["entries"] if e["kind"] == "policy-restore-adjusted"]
    assert [e["step_id"] for e in adjusted] == ["update-bucket-policy"]
    # The restore was a write of the remaining text, never a write of the old text.
    restores = [
        e["params"]["Policy"]
        for e in journal["entries"]
        if e["kind"] == "rollback-call" and e.get("operation") == "PutBucketPolicy"
    ]
    assert restores == [expected]


def test_a_key_policy_edited_before_the_rollback_keeps_the_edit(
    engine: Engine, proxy: FaultProxy, tmp_path: Path
) -> None:
    stem = "sse-kms-existing-key"
    read, write, colleague = prepare_policy(stem)
    answers, plan, found = plan_for(engine, stem)
    step = policy_step(plan)
    before = account_state()
    seen = _edit_then_fail(proxy, read, write, colleague)

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    report = outcome.report
    assert report.status == "rolled-back", report.message
    assert report.step(step.id).status == "rolled-back"
    final = read()
    expected = insert_first(ROOT_ONLY_KEY_POLICY, colleague)
    _assert_only_ours_removed(step, seen, final, expected)
    before[f"keys/{REGION}"][ready_key_id()]["policy"] = expected
    assert_same_state(before, account_state())
    assert "edited by someone else after the wizard wrote it" in report.message, report.message
    assert "their change was kept" in report.message


# ------------------------------------------------------------ 3. two runs at the same time


def overlap(proxy: FaultProxy, target: str) -> list[bool]:
    """Make the two runs' ``target`` requests overlap, the same way every time.

    The first to arrive waits until the other run's has arrived too (so both runs passed
    their freshness check and read what they read before either acted), then goes; the
    second waits until the first has been answered. The first to arrive wins the name.

    Returns:
        One True per hook that saw what it waited for (checked by the test).
    """
    waited: list[bool] = []
    arrived: list[int] = []
    lock = threading.Lock()

    def hook() -> None:
        with lock:
            arrived.append(len(arrived) + 1)
            mine = arrived[-1]
        if mine == 1:
            waited.append(
                proxy.wait_for(
                    lambda seen: sum(s.target == target for s in seen) >= 2,
                    timeout=60,
                    arrivals=True,
                )
            )
        else:
            waited.append(
                proxy.wait_for(lambda seen: any(s.target == target for s in seen), timeout=60)
            )

    proxy.before(target, hook, times=2)
    return waited


def apply_twice_at_once(
    engine: Engine, stem: str, proxy: FaultProxy, tmp_path: Path, targets: list[str]
) -> list[tuple[Plan, Any, Any]]:
    """Plan the example twice (two run ids), then apply both plans at the same time, their
    ``targets`` requests overlapping (see :func:`overlap`).

    Returns:
        (plan, discovery, outcome) of each run, the one that did not apply first.
    """
    runs = [plan_for(engine, stem) for _ in range(2)]
    assert runs[0][1].run_id != runs[1][1].run_id
    waits = [overlap(proxy, target) for target in targets]
    proxy.clear_log()
    outcomes: dict[int, Any] = {}

    def apply(index: int) -> None:
        answers, plan, found = runs[index]
        outcomes[index] = engine.apply(
            answers, plan, found=found, journal_path=tmp_path / f"journal-{index}.json"
        )

    threads = [threading.Thread(target=apply, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert set(outcomes) == {0, 1}, "both applies finished"
    assert waits == [[True, True]] * len(targets), "the requests overlapped as arranged"
    both = [(runs[i][1], runs[i][2], outcomes[i]) for i in range(2)]
    return sorted(both, key=lambda run: run[2].report.status == "applied")


@pytest.mark.parametrize(
    ("stem", "targets", "refused"),
    [
        # A bucket in us-east-1: S3 answers the second CreateBucket with 200 (the account
        # owns the bucket already), not with an error.
        ("new-bucket-sse-s3", ["s3:CreateBucket"], "create-bucket"),
        # An existing bucket: both runs merge into its policy, then race for the trail name.
        (
            "existing-bucket-prefix",
            ["s3:PutBucketPolicy", "cloudtrail:CreateTrail"],
            "create-trail",
        ),
    ],
)
def test_two_runs_at_once_the_slower_refuses_and_keeps_the_faster_runs_setup(
    stem: str,
    targets: list[str],
    refused: str,
    engine: Engine,
    proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    prepare(EXAMPLE_BY_STEM[stem])
    (_slow_plan, _, slow), (fast_plan, fast_found, fast) = apply_twice_at_once(
        engine, stem, proxy, tmp_path, targets
    )

    assert fast.report.status == "applied", fast.report.message
    assert fast.verification is not None and fast.verification.ok, fast.verification
    assert slow.report.status == "rolled-back", slow.report.message
    assert [r.id for r in slow.report.steps if r.status == "failed"] == [refused]
    error = slow.report.step(refused).error or ""
    assert "already exists and was not created by this run" in error, error
    assert "It was left alone; nothing of it is undone" in error
    assert error in (slow.report.message or "")
    if refused == "create-trail":
        # Its merge into the bucket policy stays: the trail those statements serve is there.
        assert "were kept: the trail" in slow.report.message, slow.report.message
    # Both runs sent the create that clashed; the slower run's rollback made no call at
    # all: nothing of the faster run's was deleted or restored.
    forwarded = Counter(mutating(proxy.log))
    assert forwarded[targets[-1]] == 2, forwarded
    slow_journal = load_journal(slow.report.journal_path or "")
    assert [e for e in slow_journal["entries"] if e["kind"] == "rollback-call"] == []
    assert not [s for s in proxy.log if s.mutating and s.operation.startswith("Delete")]
    # The faster run's setup is whole after the slower run's rollback: its trail logs,
    # and verifying it again now (bucket, bucket policy, trail settings) passes.
    answers = load_answers(EXAMPLE_BY_STEM[stem])
    state = account_state()
    trail_arn = fast_plan.trail_arn
    assert state[f"trails/{trail_arn.split(':')[3]}"].get(trail_arn) is True
    assert answers.bucket.name in state["buckets"]
    again = verify(
        answers,
        engine.context_for(answers, fast_found),
        engine.caller,
        bucket_region=fast_found.bucket.region,
    )
    assert again.ok, [c for c in again.checks if not c.ok]


def test_an_alias_made_for_another_key_just_before_create_alias_is_left_alone(
    engine: Engine, proxy: FaultProxy, tmp_path: Path
) -> None:
    stem = "sse-kms-new-key"
    answers, plan, found = plan_for(engine, stem)
    alias = answers.encryption.alias
    assert alias is not None
    other_key = ready_key_id()
    before = account_state()
    assert alias not in before[f"aliases/{REGION}"], "the plan saw the name free"
    proxy.before(
        "kms:CreateAlias",
        lambda: direct("kms").create_alias(AliasName=alias, TargetKeyId=other_key),
    )
    proxy.clear_log()

    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")

    report = outcome.report
    assert report.status == "rolled-back", report.message
    assert report.step("create-alias").status == "failed"
    error = report.step("create-alias").error or ""
    assert f"{alias} already exists and was not created by this run" in error, error
    assert f"points at another key ({other_key})" in error
    assert "AlreadyExistsException" in error
    after = account_state()
    assert after[f"aliases/{REGION}"][alias] == other_key, "the alias still points at its key"
    # Nothing else changed; the run's own key is scheduled for deletion.
    before[f"aliases/{REGION}"][alias] = other_key
    assert_same_state(before, after)
    sent = mutating(proxy.log)
    assert "kms:DeleteAlias" not in sent, sent
    assert sent.count("kms:ScheduleKeyDeletion") == 1
    own_key = report.outputs["create-key"]["KeyMetadata"]["KeyId"]
    assert after[f"keys/{REGION}"][own_key]["state"] == "PendingDeletion"
    assert after[f"keys/{REGION}"][other_key]["state"] == "Enabled"


# ------------------------------------------------------------- 4. the journal cannot be kept


class DiskFillsUp:
    """Stands in for :mod:`tempfile` in :mod:`wizard.run.journal`: the first ``room`` journal
    writes succeed, every later one fails as a full disk does (ENOSPC)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.writes = 0
        self.refused = 0
        self._lock = threading.Lock()

    def mkstemp(self, *args: Any, **kwargs: Any) -> tuple[int, str]:
        with self._lock:
            self.writes += 1
            full = self.writes > self.room
            self.refused += full
        if full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return tempfile.mkstemp(*args, **kwargs)


@pytest.mark.parametrize("room", [1, 2])
def test_a_call_whose_intent_cannot_be_journalled_is_never_sent(
    room: int, engine: Engine, proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up after ``room`` journal writes: 1 = only ``apply-started`` is on
    disk; 2 = also the intent of the first change (CreateBucket). Its outcome was to reach
    the disk with the next write (the bucket settings' intents), which fails: on disk the
    call stays in flight, for `recover` to look up."""
    import wizard.run.journal

    answers, plan, found = plan_for(engine, "new-bucket-sse-s3")
    before = account_state()
    disk = DiskFillsUp(room)
    monkeypatch.setattr(wizard.run.journal, "tempfile", disk)
    journal_path = tmp_path / "journal.json"
    proxy.clear_log()

    outcome = engine.apply(answers, plan, found=found, journal_path=journal_path)

    report = outcome.report
    assert report.status == "rolled-back", report.message
    assert_same_state(before, account_state())
    # Only the change whose intent is on disk was sent, and then undone.
    sent = mutating(proxy.log, action=None)
    assert sent == (["s3:CreateBucket", "s3:DeleteBucket"] if room == 2 else []), sent
    failed = [r for r in report.steps if r.status == "failed"]
    assert failed, report.steps
    for result in failed:
        assert "could not record" in (result.error or "")
        assert "the call was not made" in (result.error or "")
        assert "No space left on device" in (result.error or "")
    assert report.step("create-bucket").status == ("rolled-back" if room == 2 else "failed")
    # The report says the journal is incomplete, down to the summary. One refused write is
    # not in it: the intents of the steps starting together, written as one, which each
    # step then tried to write alone.
    assert disk.refused == len(report.journal_errors) + 1
    assert len(report.journal_errors) >= 2
    assert any(e.startswith("intent of ") for e in report.journal_errors)
    assert report.journal_errors[-1].startswith("summary: ")
    # What is on disk is whole and says only what was written before the disk filled up.
    on_disk = load_journal(journal_path)
    assert [e["kind"] for e in on_disk["entries"]] == ["apply-started", "intent"][:room]
    assert on_disk["summary"] is None
    # The run does not look alive: `recover` lists it, so the operator learns of it.
    assert not lock_held(journal_path)
    (listed,) = unfinished_runs(journal_path.parent)
    assert listed.run_id == plan.run_id
    assert listed.done == []
    assert listed.in_flight == (["create-bucket"] if room == 2 else [])


@pytest.mark.parametrize("state", ["a-file", "under-a-file", "/dev/null"])
def test_apply_with_an_unwritable_state_directory_stops_before_any_change(
    state: str, sandbox: Any, proxy: FaultProxy, isolated_env: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the state directory should be\n")
    home = {"a-file": blocker, "under-a-file": blocker / "state"}.get(state, Path(state))
    env = cli_env(isolated_env, proxy, XDG_STATE_HOME=str(home))
    before = account_state()

    result = run_cli(env, "apply", str(EXAMPLE_BY_STEM["new-bucket-sse-s3"]), "--yes")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert f"The state directory {home}/cloudtrail-wizard/journal cannot be written" in message
    assert "set XDG_STATE_HOME to a writable directory" in message
    assert message.endswith("Nothing was changed.")
    assert proxy.log == [], "it stopped before even reading the account"
    assert_same_state(before, account_state())
    assert blocker.read_text() == "a file where the state directory should be\n"


def test_plain_mode_with_an_unwritable_state_directory_stops_before_any_change(
    engine: Engine, proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screens.common.backend import Backend
    from screens.plain.wizard import PlainWizard

    answers, plan, found = plan_for(engine, "new-bucket-sse-s3")
    blocker = tmp_path / "state"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    out = io.StringIO()
    wizard = PlainWizard(Backend(endpoint=proxy.url), out=out, show_help=False)
    proxy.clear_log()

    code = wizard.apply(answers, plan, found, engine)

    assert code == 2
    text = " ".join(out.getvalue().split())
    assert "cannot be written (Not a directory)" in text, text
    assert "Nothing was changed." in text
    assert mutating(proxy.log, action=None) == []


# --------------------------------------------------- 5. SIGTERM, SIGHUP and `timeout -s TERM`


class Child:
    """The command line in a child process, its output read as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        # A session of its own: a signal to "the process group" reaches the command and its
        # AWS worker process, as a closed terminal's SIGHUP does, and nothing else.
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            with self._changed:
                into.append(line)
                self._changed.notify_all()

    def wait_for_stderr(self, text: str, timeout: float = 60) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: text in "".join(self.err), timeout)

    def finish(self, timeout: float = 120) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for reader in self._readers:
            reader.join(timeout=10)
        return code


def children_of(pid: int) -> list[int]:
    """The process's children (Linux /proc), to see the AWS worker is really there."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


STOPS = {
    "SIGTERM": "kill -TERM <command>",
    "SIGHUP": "the terminal closes: SIGHUP to the whole process group, AWS worker included",
    "timeout": "timeout -s TERM: SIGTERM to the whole process group when the time is up",
}


@pytest.mark.parametrize("how", list(STOPS))
def test_sigterm_sighup_and_timeout_during_apply_roll_back(
    how: str, sandbox: Any, proxy: FaultProxy, isolated_env: dict[str, str]
) -> None:
    """The stop comes while CreateTrail is held by the proxy (the bucket is done, three
    changes are still to come); once the command has said it is interrupted, the CreateTrail
    goes through. Everything, the trail included, is rolled back; exit 130."""
    example = EXAMPLE_BY_STEM["new-bucket-sse-s3"]
    before = account_state()
    # The AWS worker process is used whatever the machine's load: it must survive the
    # group's signal, since the rollback needs it.
    env = cli_env(isolated_env, proxy, CLOUDTRAIL_WIZARD_AWS_WORKER="1")
    argv = [*CLI, "apply", str(example), "--yes", "--output", "json"]
    if how == "timeout":
        argv = ["timeout", "--preserve-status", "-s", "TERM", "600", *argv]
    child = Child(argv, env)
    name = "SIGHUP" if how == "SIGHUP" else "SIGTERM"
    seen: dict[str, Any] = {}

    def stop_now() -> None:
        command = child.process.pid
        if how == "timeout":
            (command,) = children_of(child.process.pid)
        seen["worker"] = children_of(command)
        if how == "SIGTERM":
            os.kill(command, signal.SIGTERM)
        elif how == "SIGHUP":
            os.killpg(child.process.pid, signal.SIGHUP)
        else:
            # What timeout does when its time is up (SIGALRM is its own timer's signal).
            os.kill(child.process.pid, signal.SIGALRM)
        seen["interrupted"] = child.wait_for_stderr(f"Interrupted ({name})")

    proxy.before("cloudtrail:CreateTrail", stop_now)
    code = child.finish()

    err = "".join(child.err)
    assert seen == {"worker": seen.get("worker"), "interrupted": True}, err
    assert len(seen["worker"]) == 1, "the AWS worker process was running"
    assert code == 130, err
    assert "Traceback" not in err
    doc = json.loads("".join(child.out))
    assert doc["status"] == "cancelled"
    steps = {s["id"]: s["status"] for s in doc["steps"]}
    assert steps["create-trail"] == "rolled-back", steps
    assert steps["start-logging"] == "skipped"
    assert set(steps.values()) == {"rolled-back", "skipped"}
    assert_same_state(before, account_state())
    sent = mutating(proxy.log)
    assert "cloudtrail:StartLogging" not in sent
    assert sent.count("cloudtrail:DeleteTrail") == sent.count("s3:DeleteBucket") == 1, sent
    journal = load_journal(doc["journal"])
    assert journal["summary"]["status"] == "cancelled"
    assert [e["kind"] for e in journal["entries"]].count("cancelled") == 1


# ------------------------------------------------- 6. "Undo by hand" names the real ids


def test_a_failed_undo_says_how_to_undo_it_by_hand_with_the_real_key_id(
    engine: Engine, proxy: FaultProxy, tmp_path: Path
) -> None:
    answers, plan, found = plan_for(engine, "sse-kms-new-key")
    proxy.fail("cloudtrail:CreateTrail", code="AccessDeniedException", status=400)
    # Every attempt to schedule the key's deletion is refused (botocore does not retry it).
    refused = proxy.fail(
        "kms:ScheduleKeyDeletion", code="AccessDeniedException", status=400, times=None
    )
    journal_path = tmp_path / "journal.json"

    outcome = engine.apply(answers, plan, found=found, journal_path=journal_path)

    report = outcome.report
    assert report.status == "rollback-incomplete", report.message
    assert refused.fired >= 1
    key_id = report.outputs["create-key"]["KeyMetadata"]["KeyId"]
    assert direct("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    step = report.step("create-key")
    assert step.status == "rollback-failed"
    by_hand = (step.rollback_error or "").split("Undo by hand: ", 1)[1]
    assert by_hand == (
        f'kms ScheduleKeyDeletion {{"KeyId": "{key_id}", "PendingWindowInDays": 7}} in {REGION}.'
    )
    assert "${" not in report.message and by_hand in report.message
    assert "cloudtrail-wizard recover --rollback" in report.message
    # The rest was undone: only the key is left, and recover lists the run for it.
    assert {r.status for r in report.steps} == {
        "failed",
        "rolled-back",
        "rollback-failed",
        "skipped",
    }
    (listed,) = unfinished_runs(journal_path.parent)
    assert (listed.reason, listed.done) == ("rollback-incomplete", ["create-key"])
    # Once the cause is fixed, recovering finishes the rollback with that very call.
    proxy.reset()
    finished = recover_rollback(None, engine.caller, directory=journal_path.parent)
    assert finished.status == "rolled-back", finished.message
    assert mutating(proxy.log) == ["kms:ScheduleKeyDeletion"]
    assert direct("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == (
        "PendingDeletion"
    )
    assert unfinished_runs(journal_path.parent) == []


# ------------------------------------------------------------------ 7. recover --resume


def test_recover_resume_finishes_a_run_killed_during_create_trail(
    engine: Engine, proxy: FaultProxy, isolated_env: dict[str, str]
) -> None:
    """kill -9 while CreateTrail is in flight (it acts, nobody hears the answer), then
    ``recover --resume``: the trail is found by the run's tag, the rest is applied."""
    stem = "new-bucket-sse-s3"
    answers = load_answers(EXAMPLE_BY_STEM[stem])
    env = cli_env(isolated_env, proxy)
    child = Child([*CLI, "apply", str(EXAMPLE_BY_STEM[stem]), "--yes", "--output", "json"], env)
    proxy.before("cloudtrail:CreateTrail", lambda: os.kill(child.process.pid, signal.SIGKILL))
    assert child.finish() == -signal.SIGKILL
    proxy.reset()

    listed = run_cli(env, "recover", "--output", "json")
    assert listed.returncode == 1, listed.stderr
    (run,) = json.loads(listed.stdout)["unfinished"]
    assert (run["reason"], run["in_flight"]) == ("interrupted", ["create-trail"])
    assert run["pending"] == ["put-event-selectors", "start-logging"]

    resumed = run_cli(env, "recover", "--resume", "--yes")

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "create-trail: the call was in flight; looked it up: ours" in resumed.stdout
    assert "\napplied: " in resumed.stdout
    # Every change is there, made once: the trail logs into its bucket as planned.
    sent = mutating(proxy.log)
    # Both need only the trail, so they go out together: in either order.
    assert sorted(sent) == ["cloudtrail:PutEventSelectors", "cloudtrail:StartLogging"], sent
    state = account_state()
    assert state[f"trails/{REGION}"][run["trail_arn"]] is True, "the trail is logging"
    assert answers.bucket.name in state["buckets"]
    _plan, found = engine.plan(answers)
    again = verify(answers, engine.context_for(answers, found), engine.caller, bucket_region=REGION)
    assert again.ok, [c for c in again.checks if not c.ok]
    assert load_journal(run["journal"])["summary"]["status"] == "applied"
    after = run_cli(env, "recover")
    assert after.returncode == 0 and "No unfinished run" in after.stdout, after.stdout


# -------------------------------------------------------------- 8. recover's edge cases

_WRITE_JOURNAL = """
import sys
from pathlib import Path
from wizard.run.journal import Journal
from wizard.model.plan import Plan

path, plan_file, hold = sys.argv[1], sys.argv[2], sys.argv[3] == "hold"
plan = Plan.model_validate_json(Path(plan_file).read_text())
journal = Journal(path)
journal.record("apply-started", message="test", result={"plan": plan.model_dump(mode="json")})
step = plan.steps[0]
journal.record(
    "intent", step_id=step.id, service=step.call.service, region=step.call.region,
    operation=step.call.operation, params=step.call.params,
)
print("written", flush=True)
if hold:
    sys.stdin.read()  # a live run: the journal's lock is held until stdin closes
"""
"""Writes the journal of a run that stopped with its first change in flight, in a process
of its own (a run's lock belongs to its process); with ``hold``, stays alive."""


def start_run(plan: Plan, path: Path, *, hold: bool) -> subprocess.Popen[str]:
    plan_file = path.with_suffix(".plan")
    plan_file.write_text(plan.model_dump_json())
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITE_JOURNAL, str(path), str(plan_file), "hold" if hold else ""],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "written\n"
    return process


def test_recover_lists_nothing_and_refuses_to_act_when_no_run_is_unfinished(
    sandbox: Any, proxy: FaultProxy, isolated_env: dict[str, str]
) -> None:
    env = cli_env(isolated_env, proxy)

    listed = run_cli(env, "recover")
    as_json = run_cli(env, "recover", "--output", "json")
    rollback = run_cli(env, "recover", "--rollback", "--yes")
    resume = run_cli(env, "recover", "--resume", "--yes")

    assert (listed.returncode, as_json.returncode) == (0, 0), listed.stderr + as_json.stderr
    assert "No unfinished run" in listed.stdout
    assert json.loads(as_json.stdout) == {"unfinished": []}
    for refused in (rollback, resume):
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.strip() == (
            "error: There is no unfinished run: nothing to recover."
        ), refused.stderr
    assert proxy.log == [], "nothing was even read from the account"


def test_recover_names_both_of_two_unfinished_runs_and_never_a_live_one(
    engine: Engine, proxy: FaultProxy, isolated_env: dict[str, str]
) -> None:
    env = cli_env(isolated_env, proxy)
    folder = Path(env["XDG_STATE_HOME"]) / "cloudtrail-wizard" / "journal"
    folder.mkdir(parents=True)
    plans = [plan_for(engine, "new-bucket-sse-s3")[1] for _ in range(3)]
    ids = [str(p.run_id) for p in plans]
    assert len(set(ids)) == 3 and all(p.run_id for p in plans)
    for index, plan in enumerate(plans[:2]):
        dead = start_run(plan, folder / f"2026010{index}T000000Z-acme-audit.json", hold=False)
        assert dead.wait(timeout=30) == 0
    live = start_run(plans[2], folder / "20260109T000000Z-acme-audit.json", hold=True)
    try:
        listed = run_cli(env, "recover", "--output", "json")
        rollback = run_cli(env, "recover", "--rollback", "--yes")
        live_one = run_cli(env, "recover", "--rollback", "--yes", ids[2][:12])
    finally:
        assert live.stdin is not None
        live.stdin.close()
        assert live.wait(timeout=30) == 0
    after_it_ended = run_cli(env, "recover", "--output", "json")

    # The two runs that stopped are listed, the live one is not.
    assert listed.returncode == 1, listed.stderr
    runs = json.loads(listed.stdout)["unfinished"]
    assert [r["run_id"] for r in runs] == ids[:2]
    assert all(r["in_flight"] == ["create-bucket"] for r in runs)
    # Which one to roll back? recover does not guess: exit 2, naming both.
    assert rollback.returncode == 2, rollback.stdout + rollback.stderr
    assert "2 unfinished runs" in rollback.stderr
    assert all(run_id in rollback.stderr for run_id in ids[:2])
    assert "Name one: cloudtrail-wizard recover --rollback RUN." in rollback.stderr
    # Naming the live run finds nothing to recover: it is not touched.
    assert live_one.returncode == 2
    assert f"No unfinished run matches '{ids[2][:12]}'" in live_one.stderr
    assert mutating(proxy.log, action=None) == [], "nothing was changed"
    # Once its process has ended without finishing, it is an unfinished run like the others.
    assert after_it_ended.returncode == 1
    assert [r["run_id"] for r in json.loads(after_it_ended.stdout)["unfinished"]] == ids
