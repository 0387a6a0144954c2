"""AWS requests per example: what plan + apply + verify send, against the minimum they need.

For every example answers file, on a freshly seeded local sandbox, this runs what
``cloudtrail-wizard apply ANSWERS --yes`` runs (open the session, which checks the
credentials; connect the engine; plan; apply with its stale-plan check; verify) and counts
the requests per (service, operation) with :attr:`wizard.aws.clients.Boto3Caller.stats`,
split by phase. It then compares them with the minimum the plan needs:

* **plan**: each distinct discovery read once (the same operation with the same
  parameters twice is a repeated read);
* **apply**: one request per plan step;
* **verify**: each verification read once.

The stale-plan check is documented behaviour: before the first change, apply reads again
exactly the facts the plan's fingerprint covers (see :data:`FINGERPRINT_READS`) and refuses
a plan the account no longer matches. Those reads, each once, are the documented
verification reads and are listed as "stale-plan check". Any other request above the
minimum (a repeated read, a stale-check read the fingerprint does not need) is printed as
"other"; the target is none.

Not a test: it prints figures. Run: ``.venv/bin/python bench/calls.py [--example NAME]``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from screens.common.connection import Connection, engine_for  # noqa: E402
from wizard.aws.clients import Boto3Caller  # noqa: E402
from wizard.aws.session import SessionSettings, open_session  # noqa: E402
from wizard.engine import Engine  # noqa: E402
from wizard.model.answers_file import load_answers  # noqa: E402
from wizard.run.apply import ApplyEvent  # noqa: E402
from wizard.sandbox.server import start_sandbox  # noqa: E402

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
PHASES = ("session", "plan", "stale-check", "apply", "verify")

Key = tuple[str, str]

FINGERPRINT_READS: dict[str, set[Key]] = {
    "bucket": {
        ("s3", "HeadBucket"),
        # Only for a bucket that exists: its region (when HeadBucket names none), its
        # policy, and whether this account owns it.
        ("s3", "GetBucketLocation"),
        ("s3", "GetBucketPolicy"),
        ("s3", "ListBuckets"),
    },
    "trails": {("cloudtrail", "DescribeTrails")},
    "key": {("kms", "DescribeKey"), ("kms", "GetKeyPolicy")},
    "topic": {("sns", "GetTopicAttributes")},
    "logs": {("logs", "DescribeLogGroups"), ("iam", "GetRole")},
    # The names the plan creates that the keys above do not cover: a new key's alias, and
    # the new multi-region trail's name in every region.
    "alias": {("kms", "DescribeKey")},
    "trail_names": {("cloudtrail", "ListTrails")},
}
"""The reads that recompute each fingerprint key: what the stale-plan check may send."""

_EXISTING_BUCKET_ONLY = {
    ("s3", "GetBucketLocation"),
    ("s3", "GetBucketPolicy"),
    ("s3", "ListBuckets"),
}


class Recorder:
    """Wraps the Boto3Caller: remembers each call's phase and parameters.

    The counts come from ``Boto3Caller.stats`` (one per request, one per page); the record
    only tells repeated reads (same operation, same parameters) from distinct ones.
    """

    def __init__(self, inner: Boto3Caller) -> None:
        self.inner = inner
        self.phase = "session"
        self.lock = threading.Lock()
        self.calls: list[tuple[str, Key, str]] = []

    def _note(self, service: str, region: str, operation: str, params: Any) -> None:
        with self.lock:
            self.calls.append((self.phase, (service, operation), f"{region} {params!r}"))

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        self._note(service, region, operation, dict(params or {}))
        return self.inner.call(service, region, operation, params)

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        self._note(service, region, operation, dict(params or {}))
        return self.inner.paginate(service, region, operation, result_key, params)


class Phases:
    """Splits ``Boto3Caller.stats`` by phase: the counts are snapshotted at each switch."""

    def __init__(self, caller: Boto3Caller, recorder: Recorder) -> None:
        self.caller = caller
        self.recorder = recorder
        self.counts: dict[str, Counter[Key]] = {}
        self.mark: Counter[Key] = Counter()

    def switch(self, phase: str) -> None:
        now = self.caller.stats
        done = self.recorder.phase
        self.counts[done] = self.counts.get(done, Counter()) + (now - self.mark)
        self.mark = now
        self.recorder.phase = phase


def measure(sandbox: Any, example: Path, journal_dir: Path) -> dict[str, Any]:
    """Run plan + apply + verify for one example; counts per phase and the calls made."""
    sandbox.reset(seed=True)
    answers = load_answers(example)
    if answers.trail.organization:
        org = sandbox.client("organizations")
        org.create_organization(FeatureSet="ALL")
        org.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    # As `cloudtrail-wizard apply` does it: open the session, which asks STS who we are
    # (open_session(verify=True)), connect the engine the CLI's way, then plan and apply.
    session = open_session(SessionSettings(sandbox_endpoint=sandbox.endpoint_url), verify=False)
    stats: Boto3Caller = session.caller
    recorder = Recorder(stats)
    # Every request still goes through (and is counted by) the Boto3Caller underneath.
    session.caller = recorder  # type: ignore[assignment]
    phases = Phases(stats, recorder)
    session.whoami()  # what open_session(verify=True) does
    phases.switch("plan")
    engine = engine_for(Connection(session=session, sandbox=None))  # as the CLI connects
    plan, found = engine.plan(answers)
    if plan.blocked:
        raise SystemExit(f"{example.name}: the plan is blocked on the sandbox")
    phases.switch("apply")

    def fingerprint(*args: Any, **kwargs: Any) -> dict[str, str]:
        phases.switch("stale-check")
        try:
            return Engine.fingerprint(engine, *args, **kwargs)
        finally:
            phases.switch("apply")

    def progress(event: ApplyEvent) -> None:
        if event.kind == "finished":  # apply_plan is done; verification follows
            phases.switch("verify")

    engine.fingerprint = fingerprint  # type: ignore[method-assign]  # phases time it
    outcome = engine.apply(
        answers, plan, found=found, progress=progress, journal_path=journal_dir / example.name
    )
    phases.switch("done")
    if outcome.report.status != "applied":
        raise SystemExit(f"{example.name}: {outcome.report.status}: {outcome.report.message}")
    return {"plan": plan, "found": found, "counts": phases.counts, "calls": recorder.calls}


def documented_stale_reads(result: dict[str, Any]) -> Counter[Key]:
    """The stale-plan check's documented reads: each fingerprint read once, no others."""
    plan, found = result["plan"], result["found"]
    allowed: set[Key] = set()
    for key in plan.fingerprint:
        allowed |= FINGERPRINT_READS.get(key, set())
    if not found.bucket.exists:
        allowed -= _EXISTING_BUCKET_ONLY  # a bucket that is not there has nothing more to read
    calls: list[tuple[str, Key, str]] = result["calls"]
    distinct = {(key, params) for p, key, params in calls if p == "stale-check"}
    return Counter(key for key, _params in distinct if key in allowed)


def minimum_for(result: dict[str, Any]) -> tuple[Counter[Key], dict[Key, list[str]]]:
    """The minimum requests per operation, and why each request above it was made."""
    plan = result["plan"]
    calls: list[tuple[str, Key, str]] = result["calls"]
    minimum: Counter[Key] = Counter()
    for step in plan.steps:
        minimum[(step.call.service, step.call.operation)] += 1
    for phase in ("session", "plan", "verify"):
        distinct = {(key, params) for p, key, params in calls if p == phase}
        for key, _params in distinct:
            minimum[key] += 1
    # The identity is asked once: a second GetCallerIdentity (session, then engine) is a
    # repeated read even though it is made in another phase.
    identity = ("sts", "GetCallerIdentity")
    if minimum[identity] > 1:
        minimum[identity] = 1
    reasons: dict[Key, list[str]] = {}
    counts: dict[str, Counter[Key]] = result["counts"]
    documented = documented_stale_reads(result)
    total: Counter[Key] = sum(counts.values(), Counter())
    for key, n in total.items():
        extra = n - minimum[key]
        if extra <= 0:
            continue
        why: list[str] = []
        stale = min(documented[key], extra)
        if stale:
            why.append(f"{stale} stale-plan check")
            extra -= stale
        if extra > 0:
            kind = "stale-check read" if counts.get("stale-check", Counter())[key] else "read"
            why.append(f"{extra} other ({kind} not needed)")
        reasons[key] = why
    return minimum, reasons


def report(example: Path, result: dict[str, Any]) -> tuple[int, int, int]:
    counts: dict[str, Counter[Key]] = result["counts"]
    minimum, reasons = minimum_for(result)
    total: Counter[Key] = sum(counts.values(), Counter())
    plan = result["plan"]
    print(f"\n== {example.name}: {len(plan.steps)} steps")
    header = f"{'service:operation':50}" + "".join(f"{p:>12}" for p in PHASES)
    print(header + f"{'total':>7}{'min':>5}  beyond the minimum")
    for key in sorted(total, key=lambda k: (k[0], k[1])):
        row = f"{key[0] + ':' + key[1]:50}"
        row += "".join(f"{counts.get(p, Counter())[key] or '':>12}" for p in PHASES)
        row += f"{total[key]:>7}{minimum[key]:>5}  {', '.join(reasons.get(key, []))}"
        print(row)
    n_total, n_min = sum(total.values()), sum(minimum.values())
    documented = documented_stale_reads(result)
    stale = sum(min(documented[k], max(0, total[k] - minimum[k])) for k in documented)
    print(
        f"{'':50}{'':>60}{n_total:>7}{n_min:>5}  "
        f"{n_total - n_min} above: {stale} stale-plan check, {n_total - n_min - stale} other"
    )
    return n_total, n_min, stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--example", help="only this example (file stem)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # moto's unimplemented-op noise
    examples = [e for e in EXAMPLES if args.example in (None, e.stem)]
    totals = [0, 0, 0]
    with start_sandbox(seed=False) as sandbox, tempfile.TemporaryDirectory() as tmp:
        for example in examples:
            result = measure(sandbox, example, Path(tmp))
            for i, n in enumerate(report(example, result)):
                totals[i] += n
    other = totals[0] - totals[1] - totals[2]
    print(
        f"\nall examples: {totals[0]} requests, minimum {totals[1]}; above it: "
        f"{totals[2]} stale-plan check (documented), {other} other"
    )
    verdict = "met" if other == 0 else "NOT met"
    print(f"target (no request beyond the minimum and the documented reads): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
