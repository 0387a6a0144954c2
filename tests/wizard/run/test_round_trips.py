"""Round trips of apply: what goes out together, and what is read again only after a pause.

Against AWS every request costs a round trip; these tests pin down the ones apply saves
(issue 16): a new bucket's settings and its policy are one dependency level and go out
together; the verification reads go out together; the account is read again before the
first change only when time may have passed since the plan (a person reviewed it), and a
colleague's change during that pause is still caught.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.callers import FailOn, OverlapCaller, PassThroughCaller
from tests.sandbox_fixtures import ACCOUNT, REGION, RequestLog
from wizard.account.activity import read_activity, read_management_copies
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.context import AccountContext
from wizard.model.plan import Plan
from wizard.plan.offline import offline_plan
from wizard.run.apply import CONFLICT_CODES, MAX_WORKERS, ApplyEvent
from wizard.run.journal import load_journal

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = {
    "sse-s3": ROOT / "examples" / "new-bucket-sse-s3.yaml",
    "sse-kms": ROOT / "examples" / "sse-kms-new-key.yaml",
}
BUCKET_SETTINGS = {
    "PutPublicAccessBlock",
    "PutBucketEncryption",
    "PutBucketVersioning",
    "PutBucketTagging",
    "PutBucketPolicy",
}


def levels(plan: Plan) -> dict[str, int]:
    """Each step's dependency level: 1 for a step that waits for none, else one more than
    the deepest step it waits for."""
    by_id = {s.id: s for s in plan.steps}
    found: dict[str, int] = {}

    def level(step_id: str) -> int:
        if step_id not in found:
            found[step_id] = 1 + max((level(d) for d in by_id[step_id].depends_on), default=0)
        return found[step_id]

    for step in plan.steps:
        level(step.id)
    return found


def the_answers(name: str) -> Answers:
    return load_answers(EXAMPLES[name])


# --------------------------------------------------------------------- the plan's levels


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_new_buckets_settings_and_policy_share_one_level(name: str) -> None:
    plan = offline_plan(the_answers(name), AccountContext(account_id=ACCOUNT, region=REGION)).plan
    level = levels(plan)
    bucket = [s for s in plan.steps if s.call.service == "s3" and s.id != "create-bucket"]
    assert {s.call.operation for s in bucket} >= {"PutBucketPolicy", "PutPublicAccessBlock"}
    policy = plan.step("bucket-policy")
    # The policy waits for the bucket (and nothing the settings do): one level with them.
    assert policy.depends_on == ["create-bucket"]
    assert {level[s.id] for s in bucket} == {level["create-bucket"] + 1}, {
        s.id: level[s.id] for s in bucket
    }
    # S3 may refuse overlapping changes to one bucket: each retries what apply retries fast.
    for step in bucket:
        assert set(step.retry_on) & CONFLICT_CODES, step.id
    # Every level fits in the steps apply runs at once: a level is one round trip.
    widths = [list(level.values()).count(n) for n in set(level.values())]
    assert max(widths) <= MAX_WORKERS


def test_apply_sends_the_bucket_settings_and_policy_together(
    engine: Engine, tmp_path: Path
) -> None:
    answers = the_answers("sse-s3")
    plan, found = engine.plan(answers)
    expected = {s.call.operation for s in plan.steps} & BUCKET_SETTINGS
    assert expected == BUCKET_SETTINGS  # the example sets each of them
    overlap = OverlapCaller(engine.caller, expected, together=len(expected))

    outcome = Engine(overlap, engine.ctx).apply(
        answers, plan, found=found, journal_path=tmp_path / "journal.json", paused=False
    )

    assert outcome.report.status == "applied", outcome.report.message
    assert overlap.peak == len(expected), overlap.seen
    assert set(overlap.met) == expected


def test_logging_starts_beside_the_event_selectors(engine: Engine, tmp_path: Path) -> None:
    """StartLogging needs only the trail: it goes out with PutEventSelectors, not after."""
    answers = the_answers("sse-s3")
    plan, found = engine.plan(answers)
    assert plan.step("start-logging").depends_on == ["create-trail"]
    calls = {"StartLogging", "PutEventSelectors"}
    overlap = OverlapCaller(engine.caller, calls, together=len(calls))

    outcome = Engine(overlap, engine.ctx).apply(
        answers, plan, found=found, journal_path=tmp_path / "journal.json", paused=False
    )

    assert outcome.report.status == "applied", outcome.report.message
    assert outcome.verification is not None and outcome.verification.ok, outcome.verification
    assert overlap.peak == len(calls), overlap.seen


# ----------------------------------------------------------------------------- journal


class JournalOnDisk(PassThroughCaller):
    """Reads the journal file as each change is sent: which intents and outcomes it holds."""

    def __init__(self, inner: Any, path: Path, plan: Plan) -> None:
        super().__init__(inner)
        self.path = path
        self.steps = {s.call.operation: s.id for s in plan.steps}
        assert len(self.steps) == len(plan.steps), "one step per operation in these plans"
        self.seen: dict[str, tuple[set[str], set[str]]] = {}
        """Step id -> (steps with an intent on disk, steps with an outcome on disk)."""

    def call(self, service: str, region: str, operation: str, params: Any = None) -> dict[str, Any]:
        step = self.steps.get(operation)
        if step is not None and step not in self.seen:
            entries = load_journal(self.path)["entries"]
            intents = {e["step_id"] for e in entries if e["kind"] == "intent"}
            outcomes = {e["step_id"] for e in entries if e["kind"] == "call"}
            self.seen[step] = (intents, outcomes)
        return self.inner.call(service, region, operation, params)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_intents_of_steps_that_start_together_are_on_disk_before_any_is_sent(
    name: str, engine: Engine, tmp_path: Path
) -> None:
    """Write-ahead, one write per level: when a change is sent, the intents of every step
    starting with it (the same dependencies) are already on disk, and so are the outcomes of
    the steps it waits for."""
    answers = the_answers(name)
    plan, found = engine.plan(answers)
    path = tmp_path / "journal.json"
    watcher = JournalOnDisk(engine.caller, path, plan)

    outcome = Engine(watcher, engine.ctx).apply(
        answers, plan, found=found, journal_path=path, paused=False
    )

    assert outcome.report.status == "applied", outcome.report.message
    assert set(watcher.seen) == {s.id for s in plan.steps}
    for step in plan.steps:
        intents, outcomes = watcher.seen[step.id]
        together = {s.id for s in plan.steps if set(s.depends_on) == set(step.depends_on)}
        assert together <= intents, (step.id, together - intents)
        assert set(step.depends_on) <= outcomes, (step.id, set(step.depends_on) - outcomes)


def test_the_journal_is_written_once_per_level(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each durable write costs an fsync: apply makes one for the start, one per set of steps
    that start together (their intents, and the outcomes before them) and one for the
    summary, not two per call."""
    answers = the_answers("sse-s3")
    plan, found = engine.plan(answers)
    path = tmp_path / "journal.json"
    writes: list[str] = []
    real = os.fsync

    def counted(fd: int) -> None:
        writes.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", counted)  # the journal's fsyncs (nothing else syncs)
    outcome = engine.apply(answers, plan, found=found, journal_path=path, paused=False)
    monkeypatch.undo()

    assert outcome.report.status == "applied", outcome.report.message
    starts = {frozenset(s.depends_on) for s in plan.steps}
    files = [w for w in writes if w != str(tmp_path)]  # each write also syncs the directory
    assert len(files) <= 2 + len(starts) < len(plan.steps), (files, starts)
    entries = load_journal(path)["entries"]
    assert sum(e["kind"] == "intent" for e in entries) == len(plan.steps)
    assert sum(e["kind"] == "call" for e in entries) == len(plan.steps)


# ------------------------------------------------------------------------ verification


@pytest.mark.parametrize(
    ("name", "reads"),
    [
        ("sse-s3", {"GetTrail", "GetTrailStatus", "GetBucketPolicy"}),
        (
            "sse-kms",
            {"GetTrail", "GetTrailStatus", "GetBucketPolicy", "GetKeyPolicy", "DescribeKey"},
        ),
    ],
)
def test_the_verification_reads_go_out_together(
    name: str, reads: set[str], engine: Engine, tmp_path: Path
) -> None:
    answers = the_answers(name)
    plan, found = engine.plan(answers)
    overlap = OverlapCaller(engine.caller, reads, together=len(reads))
    overlap.arm(False)  # discovery and the steps read some of these too

    def armed_once_applied(event: ApplyEvent) -> None:
        if event.kind == "finished":  # apply_plan is done; verification follows
            overlap.arm()

    outcome = Engine(overlap, engine.ctx).apply(
        answers,
        plan,
        found=found,
        journal_path=tmp_path / "journal.json",
        progress=armed_once_applied,
        paused=False,
    )

    assert outcome.report.status == "applied", outcome.report.message
    assert outcome.verification is not None and outcome.verification.ok, outcome.verification
    assert overlap.peak == len(reads), overlap.seen
    assert set(overlap.met) == reads
    assert sorted(overlap.seen) == sorted(reads), "each verification read is made once"


# ------------------------------------------------------------------- the stale check


def reads_before_the_first_change(log: RequestLog) -> list[str]:
    requests = log.snapshot()
    first = next(i for i, r in enumerate(requests) if r.mutating)
    return [f"{r.service}:{r.operation}" for r in requests[:first]]


def apply_started(journal: Path) -> str:
    entries = load_journal(journal)["entries"]
    return str(next(e for e in entries if e["kind"] == "apply-started")["message"])


def test_with_no_pause_the_account_is_not_read_again(
    engine: Engine, server_log: RequestLog, tmp_path: Path
) -> None:
    answers = the_answers("sse-s3")
    plan, found = engine.plan(answers)
    server_log.clear()

    outcome = engine.apply(
        answers, plan, found=found, journal_path=tmp_path / "journal.json", paused=False
    )

    assert outcome.report.status == "applied", outcome.report.message
    assert reads_before_the_first_change(server_log) == []
    assert "not read again" in apply_started(tmp_path / "journal.json")


@pytest.mark.parametrize("paused", [True, None], ids=["paused", "default"])
def test_after_a_pause_the_account_is_read_again_first(
    paused: bool | None, engine: Engine, server_log: RequestLog, tmp_path: Path
) -> None:
    """A person reviewed the plan (or the front end did not say): what the fingerprint
    covers is read again before the first change. The default is the safe one."""
    answers = the_answers("sse-s3")
    plan, found = engine.plan(answers)
    server_log.clear()
    how: dict[str, Any] = {} if paused is None else {"paused": paused}

    outcome = engine.apply(
        answers, plan, found=found, journal_path=tmp_path / "journal.json", **how
    )

    assert outcome.report.status == "applied", outcome.report.message
    reads = reads_before_the_first_change(server_log)
    assert "cloudtrail:DescribeTrails" in reads, reads
    assert any(r.startswith("s3:HEAD /acme-audit-logs-123456789012") for r in reads), reads
    assert "read again and matches the plan" in apply_started(tmp_path / "journal.json")


def test_a_colleagues_change_during_the_pause_is_caught(
    engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    answers = the_answers("sse-s3")
    plan, found = engine.plan(answers)
    # While the person reviews the plan, a colleague creates the bucket it would create.
    aws("s3").create_bucket(Bucket=answers.bucket.name)
    server_log.clear()

    outcome = engine.apply(
        answers, plan, found=found, journal_path=tmp_path / "journal.json", paused=True
    )

    assert outcome.report.status == "stale", outcome.report.message
    assert "bucket" in outcome.report.changed
    assert server_log.mutating() == []
    assert {s.status for s in outcome.report.steps} == {"skipped"}


# ------------------------------------------------------------------- before the changes


def test_the_cost_previews_reads_go_out_beside_discovery(engine: Engine) -> None:
    """The account's regions (a multi-region trail's cost) need nothing discovery finds: they
    are listed while discovery looks the bucket and the trails up, not after."""
    answers = the_answers("sse-s3")
    assert answers.trail.multi_region
    reads = {"DescribeRegions", "DescribeTrails"}
    overlap = OverlapCaller(engine.caller, reads, together=len(reads))

    plan, _found = Engine(overlap, engine.ctx).plan(answers)

    assert plan.cost is not None
    assert overlap.peak == len(reads), overlap.seen
    assert overlap.seen.count("DescribeRegions") == 1, "the regions are listed once"


def test_another_trails_three_reads_go_out_together(engine: Engine) -> None:
    """A trail the cost preview only listed (ListTrails) is read once for its status, its
    settings and its selectors: the three reads go out together."""
    reads = {"GetTrailStatus", "GetTrail", "GetEventSelectors"}
    overlap = OverlapCaller(engine.caller, reads, together=len(reads))

    copies, error = read_management_copies(
        overlap,
        [],
        this_trail_arn=f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/not-there",
        home_region=REGION,
        multi_region=True,
    )

    assert error is None
    assert copies, "the seeded account has a trail"
    assert overlap.peak == len(reads), overlap.seen
    listed = copies[0]
    assert listed.error is None, listed.error
    assert listed.logging is not None and listed.multi_region is not None


def test_the_activity_of_every_sampled_region_is_read_at_once(engine: Engine) -> None:
    """One LookupEvents page in each other region a multi-region trail records: all of them
    go out together (more than eight at once), after the home region's pages."""
    others = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1"]
    others += ["us-east-2", "us-west-1", "us-west-2", "ap-south-1", "ap-northeast-1"]
    overlap = OverlapCaller(engine.caller, {"LookupEvents"}, together=len(others))

    class HomeDirect(PassThroughCaller):
        def call(
            self, service: str, region: str, operation: str, params: Any = None
        ) -> dict[str, Any]:
            target = engine.caller if region == REGION else overlap
            return target.call(service, region, operation, params)

    activity = read_activity(HomeDirect(engine.caller), REGION, others)

    assert [r.region for r in activity.regions] == [REGION, *others]
    assert all(r.error is None for r in activity.regions), activity.regions
    assert overlap.peak == len(others) > 8, overlap.seen


def test_the_updates_of_an_earlier_runs_bucket_go_out_together_and_retry_a_conflict(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    """A bucket an earlier apply made, whose settings someone changed since: its updates wait
    for nothing but go out together, and S3's OperationAborted for one of them is retried."""
    answers = the_answers("sse-s3")
    plan, found = engine.plan(answers)
    first = engine.apply(answers, plan, found=found, journal_path=tmp_path / "1.json")
    assert first.report.status == "applied", first.report.message
    s3 = aws("s3")
    s3.delete_public_access_block(Bucket=answers.bucket.name)
    s3.put_bucket_versioning(
        Bucket=answers.bucket.name, VersioningConfiguration={"Status": "Suspended"}
    )
    plan, found = engine.plan(answers)
    updates = [s for s in plan.steps if s.call.service == "s3"]
    assert {s.call.operation for s in updates} >= {"PutPublicAccessBlock", "PutBucketVersioning"}
    level = levels(plan)
    assert {level[s.id] for s in updates} == {1}
    for step in updates:
        assert set(step.retry_on) & CONFLICT_CODES, step.id
    conflict = FailOn(
        engine.caller, "PutBucketVersioning", code="OperationAborted", status=409, times=1
    )

    outcome = Engine(conflict, engine.ctx).apply(
        answers, plan, found=found, journal_path=tmp_path / "2.json", paused=False
    )

    assert outcome.report.status == "applied", outcome.report.message
    assert conflict.failures == 1
    versioning = next(s for s in updates if s.call.operation == "PutBucketVersioning")
    assert outcome.report.step(versioning.id).attempts == 2
    assert s3.get_bucket_versioning(Bucket=answers.bucket.name)["Status"] == "Enabled"
