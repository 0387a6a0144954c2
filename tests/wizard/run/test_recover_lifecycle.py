"""`recover --rollback` of a run that merged the trail's rule into an existing bucket's
lifecycle: the lifecycle guard decides, as apply's own rollback does.

The run is applied for real on the sandbox, then its journal is left as a process killed
just before its summary leaves it (every change made, no summary, no lock). A colleague may
change the lifecycle in between: then only the trail's rule is taken out and their change is
kept; untouched, the exact previous configuration comes back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.callers import FailOn
from tests.sandbox_fixtures import ACCOUNT, REGION
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.policy.lifecycle import rule_id
from wizard.run.journal import journal_dir, load_journal
from wizard.run.recover import RecoveryError, read_run, recover_rollback

BUCKET = f"shared-archive-{ACCOUNT}"
TRAIL = "kept-trail"
THEIRS = {
    "ID": "their-reports",
    "Filter": {"Prefix": "reports/"},
    "Status": "Enabled",
    "Expiration": {"Days": 7},
}
COLLEAGUES = {
    "ID": "colleagues-new-rule",
    "Filter": {"Prefix": "exports/"},
    "Status": "Enabled",
    "Expiration": {"Days": 30},
}
ANSWERS = Answers.model_validate(
    {
        "trail": {"name": TRAIL, "region": REGION},
        "bucket": {
            "name": BUCKET,
            "create": False,
            "prefix": "org",
            "retention": {"expire_days": 400},
        },
        "encryption": {"type": "sse-s3"},
    }
)


def rules(aws: Any) -> list[dict[str, Any]] | None:
    try:
        return list(aws("s3").get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"])
    except ClientError as err:
        assert err.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
        return None


def ids(found: list[dict[str, Any]] | None) -> list[str]:
    return sorted(r["ID"] for r in found or [])


def killed_run(engine: Engine, aws: Any, previous: list[dict[str, Any]] | None) -> Path:
    """The run applied, its journal then left as a kill before the summary leaves it."""
    aws("s3").create_bucket(Bucket=BUCKET)
    if previous is not None:
        aws("s3").put_bucket_lifecycle_configuration(
            Bucket=BUCKET, LifecycleConfiguration={"Rules": previous}
        )
    plan, found = engine.plan(ANSWERS)
    assert "bucket-lifecycle" in {s.id for s in plan.steps}
    path = journal_dir() / "20261207T080000Z-kept-trail-killed.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    outcome = engine.apply(ANSWERS, plan, found=found, journal_path=path)
    assert outcome.report.status == "applied", outcome.report.message
    assert rule_id(TRAIL) in ids(rules(aws))
    doc = load_journal(path)
    doc["summary"] = None
    path.write_text(json.dumps(doc))
    assert "bucket-lifecycle" in read_run(path).rules_written
    return path


def test_a_colleagues_rule_added_after_the_run_survives_the_recover(
    engine: Engine, aws: Any
) -> None:
    path = killed_run(engine, aws, [THEIRS])
    # A colleague adds a rule after the run wrote the lifecycle, before the recover.
    aws("s3").put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration={"Rules": [*(rules(aws) or []), COLLEAGUES]}
    )
    said: list[str] = []

    report = recover_rollback(None, engine.caller, say=said.append)

    assert report.status == "rolled-back", report.message
    # The trail's rule is out; theirs and the colleague's new one are kept.
    assert ids(rules(aws)) == ["colleagues-new-rule", "their-reports"]
    assert any("only the rule" in line and "their change was kept" in line for line in said)
    kinds = [e.get("kind") for e in load_journal(path)["entries"]]
    assert "policy-restore-adjusted" in kinds


def test_a_bucket_with_no_lifecycle_before_keeps_the_colleagues_new_rule(
    engine: Engine, aws: Any
) -> None:
    killed_run(engine, aws, None)  # the bucket had no lifecycle before the run
    aws("s3").put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration={"Rules": [*(rules(aws) or []), COLLEAGUES]}
    )

    report = recover_rollback(None, engine.caller)

    assert report.status == "rolled-back", report.message
    # Not deleted (the exact undo would have deleted the whole configuration).
    assert ids(rules(aws)) == ["colleagues-new-rule"]


@pytest.mark.parametrize("previous", [[THEIRS], None], ids=["their-rules", "none"])
def test_an_untouched_lifecycle_is_restored_exactly(
    engine: Engine, aws: Any, previous: list[dict[str, Any]] | None
) -> None:
    killed_run(engine, aws, previous)

    report = recover_rollback(None, engine.caller)

    assert report.status == "rolled-back", report.message
    assert rules(aws) == previous


def test_a_lifecycle_that_cannot_be_read_stops_the_recover_before_any_change(
    engine: Engine, aws: Any
) -> None:
    path = killed_run(engine, aws, [THEIRS])
    trails_before = aws("cloudtrail").describe_trails()["trailList"]

    with pytest.raises(RecoveryError, match="cannot be read"):
        recover_rollback(None, FailOn(engine.caller, "GetBucketLifecycleConfiguration"))

    assert aws("cloudtrail").describe_trails()["trailList"] == trails_before
    assert rule_id(TRAIL) in ids(rules(aws))
    assert load_journal(path)["summary"] is None  # still listed as unfinished
