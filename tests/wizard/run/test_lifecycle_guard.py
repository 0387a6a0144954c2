"""The lifecycle guard's decisions, pure: what is written and what a rollback restores when
the bucket's rules are as planned, changed before the write, or changed after it."""

from __future__ import annotations

from typing import Any

from wizard.model.plan import Call, Step
from wizard.policy.lifecycle import lifecycle_params, merge_rule, remove_rule, rule_matches
from wizard.run.lifecycle_guard import (
    lifecycle_guarded,
    plan_lifecycle_restore,
    plan_lifecycle_write,
)

THEIRS: dict[str, Any] = {"ID": "theirs", "Filter": {"Prefix": "x/"}, "Status": "Enabled"}
LATE: dict[str, Any] = {"ID": "late", "Filter": {"Prefix": "y/"}, "Status": "Disabled"}
OURS: dict[str, Any] = {
    "ID": "cloudtrail-wizard-t",
    "Filter": {"Prefix": "AWSLogs/"},
    "Status": "Enabled",
    "Expiration": {"Days": 400},
}


def step(before: list[dict[str, Any]] | None) -> Step:
    put = Call(
        service="s3",
        region="us-east-1",
        operation="PutBucketLifecycleConfiguration",
        params=lifecycle_params("b", merge_rule(before, OURS)),
    )
    undo = (
        put.model_copy(update={"params": lifecycle_params("b", before)})
        if before
        else Call(
            service="s3",
            region="us-east-1",
            operation="DeleteBucketLifecycle",
            params={"Bucket": "b"},
        )
    )
    return Step(id="bucket-lifecycle", call=put, summary="s", chain="bucket", undo=[undo])


def test_as_planned_writes_the_plan_and_restores_exactly() -> None:
    s = step([THEIRS])
    assert lifecycle_guarded(s)
    write = plan_lifecycle_write(s, [THEIRS])
    assert write.note == "" and write.written == [THEIRS, OURS]
    call, note = plan_lifecycle_restore(s, [THEIRS, OURS], write.written)
    assert note == "" and call == s.undo[0]


def test_a_rule_added_before_the_write_is_kept_by_the_write_and_the_restore() -> None:
    s = step([THEIRS])
    write = plan_lifecycle_write(s, [THEIRS, LATE])
    assert write.written == [THEIRS, LATE, OURS] and "changed since the plan" in write.note
    call, note = plan_lifecycle_restore(s, [THEIRS, LATE, OURS], write.written)
    assert call is not None
    assert call.params["LifecycleConfiguration"]["Rules"] == [THEIRS, LATE]
    assert "only the rule cloudtrail-wizard-t was taken out" in note


def test_the_last_rule_taken_out_deletes_the_configuration() -> None:
    s = step(None)
    write = plan_lifecycle_write(s, None)
    call, _ = plan_lifecycle_restore(s, [OURS, LATE], write.written)
    assert call is not None and call.params["LifecycleConfiguration"]["Rules"] == [LATE]
    call, note = plan_lifecycle_restore(s, [OURS], [OURS, LATE])
    assert call is not None and call.operation == "DeleteBucketLifecycle"
    assert note


def test_a_rule_already_gone_is_left_alone() -> None:
    s = step([THEIRS])
    call, note = plan_lifecycle_restore(s, [THEIRS], [THEIRS, OURS, LATE])
    assert call is None and "no longer holds the rule" in note


def test_merge_replaces_in_place_and_compares_the_older_prefix_shape() -> None:
    changed = {**OURS, "Expiration": {"Days": 500}}
    assert merge_rule([OURS, THEIRS], changed) == [changed, THEIRS]
    assert remove_rule([THEIRS, OURS], OURS["ID"]) == [THEIRS]
    older = {
        "ID": OURS["ID"],
        "Prefix": "AWSLogs/",
        "Status": "Enabled",
        "Expiration": {"Days": 400},
    }
    assert rule_matches(older, OURS)
    assert not rule_matches(changed, OURS)
