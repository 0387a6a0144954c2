"""The journal: location, atomic rewrites, thread safety and redaction of secrets."""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard.run.journal import (
    REDACTED,
    Journal,
    journal_dir,
    load_journal,
    new_journal_path,
    redact,
)

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = (
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6Xj2Xw+9lJt2B3wHn0e1u6OZr"
    "Qx7zRZ7QFpGmaq4VxQIgKvLzKq1Vb5n4AqYb7kZOa3HqVmY3oG3E7qK5dY8sW2Mq=="
)
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"


def test_journal_dir_follows_xdg_state_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert journal_dir() == tmp_path / "state" / "cloudtrail-wizard" / "journal"
    assert new_journal_path().parent == journal_dir()
    assert new_journal_path() != new_journal_path()


@pytest.mark.parametrize("xdg", [None, "", "relative/path"])
def test_journal_dir_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xdg: str | None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", xdg)
    assert journal_dir() == tmp_path / ".local" / "state" / "cloudtrail-wizard" / "journal"


def test_every_write_leaves_a_complete_document(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "j.json"
    journal = Journal(path, meta={"account": "123456789012"})
    for i in range(3):
        journal.record(
            "call",
            step_id=f"s{i}",
            service="s3",
            region="us-east-1",
            operation="CreateBucket",
            params={"Bucket": f"b{i}"},
            result={"Location": f"/b{i}", "When": datetime(2024, 5, 6, tzinfo=UTC)},
        )
        doc = load_journal(path)  # valid JSON after every entry
        assert len(doc["entries"]) == i + 1
        assert doc["summary"] is None
    journal.finish({"status": "applied"})
    doc = load_journal(path)
    assert doc["version"] == 2
    assert doc["meta"] == {"account": "123456789012", "pid": os.getpid(), "host": os.uname()[1]}
    assert [e["seq"] for e in doc["entries"]] == [1, 2, 3]
    assert [e["step_id"] for e in doc["entries"]] == ["s0", "s1", "s2"]
    assert doc["entries"][0]["result"]["When"] == "2024-05-06T00:00:00+00:00"
    assert doc["entries"][0]["rollback"] is False
    assert doc["summary"]["status"] == "applied" and "finished" in doc["summary"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # No temporary files, and the lock file went with the summary.
    assert [p.name for p in path.parent.iterdir()] == ["j.json"]


def test_a_failed_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.json"
    journal = Journal(path)
    journal.record("call", step_id="first", operation="CreateBucket")

    def crash(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        journal.record("call", step_id="second", operation="CreateKey")
    monkeypatch.undo()
    doc = load_journal(path)
    assert [e["step_id"] for e in doc["entries"]] == ["first"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.json", "j.json.lock"]
    assert [e["step_id"] for e in journal.entries] == ["first"]  # memory agrees with disk


def test_record_many_writes_its_entries_with_one_write_all_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.json"
    journal = Journal(path)
    journal.record("apply-started", message="go")
    writes: list[str] = []
    real_replace = os.replace

    def counted(src: Any, dst: Any) -> None:
        writes.append(str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", counted)
    journal.record_many(
        [
            {"kind": "intent", "step_id": "a", "operation": "PutBucketEncryption"},
            {"kind": "intent", "step_id": "b", "operation": "PutBucketPolicy", "params": {"x": 1}},
        ]
    )
    assert writes == [str(path)], "one write for both"
    doc = load_journal(path)
    assert [(e["seq"], e.get("step_id")) for e in doc["entries"]] == [(1, None), (2, "a"), (3, "b")]
    assert doc["entries"][2]["params"] == {"x": 1}

    def full(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError, match="disk full"):
        journal.record_many(
            [{"kind": "intent", "step_id": "c"}, {"kind": "intent", "step_id": "d"}]
        )
    monkeypatch.setattr(os, "replace", real_replace)
    # Neither is in the journal, on disk or in memory; the next entry follows on.
    assert [e.get("step_id") for e in journal.entries] == [None, "a", "b"]
    journal.record("call", step_id="a")
    assert [(e["seq"], e.get("step_id")) for e in load_journal(path)["entries"]][-1] == (4, "a")


def test_an_entry_that_need_not_be_durable_is_on_disk_with_the_next_write(tmp_path: Path) -> None:
    """An outcome recorded with durable=False is not written by itself: the next durable
    entry (the next intent), a flush or the summary carries it to disk, in its place."""
    path = tmp_path / "j.json"
    journal = Journal(path)
    journal.record("intent", step_id="a", operation="CreateBucket")
    journal.record("call", step_id="a", operation="CreateBucket", durable=False)
    assert [e["kind"] for e in load_journal(path)["entries"]] == ["intent"]
    assert [e["kind"] for e in journal.entries] == ["intent", "call"]

    journal.record("intent", step_id="b", operation="CreateTrail")
    assert [(e["seq"], e["kind"], e["step_id"]) for e in load_journal(path)["entries"]] == [
        (1, "intent", "a"),
        (2, "call", "a"),
        (3, "intent", "b"),
    ]
    journal.record("call", step_id="b", operation="CreateTrail", durable=False)
    journal.flush()
    assert [e["kind"] for e in load_journal(path)["entries"]][-1] == "call"
    journal.record("call", step_id="c", durable=False)
    journal.finish({"status": "applied"})
    doc = load_journal(path)
    assert [e["step_id"] for e in doc["entries"]][-1] == "c"
    assert doc["summary"]["status"] == "applied"


def test_concurrent_records_are_all_kept(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.json")
    barrier = threading.Barrier(8, timeout=30)

    def work(worker: int) -> None:
        barrier.wait()
        for n in range(25):
            journal.record("call", step_id=f"w{worker}-{n}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    doc = load_journal(tmp_path / "j.json")
    ids = [e["step_id"] for e in doc["entries"]]
    assert len(ids) == 200 and len(set(ids)) == 200
    for w in range(8):  # each thread's entries stay in its own order
        mine = [i for i in ids if i.startswith(f"w{w}-")]
        assert mine == [f"w{w}-{n}" for n in range(25)]
    assert len(journal.entries) == 200


def test_secret_keys_are_dropped_case_insensitively(tmp_path: Path) -> None:
    params = {
        "AccessKeyId": "anything",
        "secretaccesskey": "anything",
        "SessionToken": "anything",
        "Password": "hunter2",
        "Credentials": {"Nested": "everything under it"},
        "Authorization": "AWS4-HMAC-SHA256 Credential=...",
        "X-Amz-Security-Token": "anything",
        "aws_secret_access_key": "anything",
        "Bucket": "acme-logs",
    }
    journal = Journal(tmp_path / "j.json")
    journal.record("call", params=params, result={"Credentials": {"SecretAccessKey": "x"}})
    entry = load_journal(tmp_path / "j.json")["entries"][0]
    assert entry["params"]["Bucket"] == "acme-logs"
    assert all(v == REDACTED for k, v in entry["params"].items() if k != "Bucket")
    assert entry["result"] == {"Credentials": REDACTED}
    text = (tmp_path / "j.json").read_text()
    assert "hunter2" not in text and "everything under it" not in text


def test_secret_looking_values_are_redacted_wherever_they_are(tmp_path: Path) -> None:
    params = {
        "Tags": [{"Key": "k", "Value": SECRET_KEY}],
        "Description": f"token {SESSION_TOKEN} inside text",
        "Note": f"made by {ACCESS_KEY_ID}",
        "Deep": [[{"x": SECRET_KEY}]],
    }
    journal = Journal(tmp_path / "j.json", meta={"who": ACCESS_KEY_ID})
    journal.record("call", params=params, error=f"failed with {SESSION_TOKEN}")
    journal.finish({"note": SECRET_KEY})
    text = (tmp_path / "j.json").read_text()
    for secret in (SECRET_KEY, SESSION_TOKEN, ACCESS_KEY_ID, SESSION_TOKEN[:60]):
        assert secret not in text
    entry = load_journal(tmp_path / "j.json")["entries"][0]
    assert entry["params"]["Description"] == f"token {REDACTED} inside text"
    assert entry["params"]["Tags"][0]["Key"] == "k"


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # a SHA-1 hex digest: 40 chars, not a key
        "AWSCloudTrailAclCheck20150319",
        "arn:aws:s3:::acme-logs/prefix/AWSLogs/123456789012/*",
        '{"Version": "2012-10-17", "Statement": []}',
        "acme-cloudtrail-logs-123456789012-us-east-1",
    ],
)
def test_ordinary_values_are_kept(value: str) -> None:
    assert redact({"v": value}) == {"v": value}


secrets = st.sampled_from([SECRET_KEY, SESSION_TOKEN, ACCESS_KEY_ID])
safe_text = st.text(alphabet="abcdefgh -:/", max_size=10)
structures = st.recursive(
    secrets | safe_text | st.integers() | st.none(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["Bucket", "Tags", "Value", "Policy"]), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(structures)
def test_redaction_never_lets_a_planted_secret_through(value: Any) -> None:
    text = json.dumps(redact(value))
    assert SECRET_KEY not in text
    assert SESSION_TOKEN[:100] not in text
    assert ACCESS_KEY_ID not in text
    assert redact(redact(value)) == redact(value)  # idempotent


def test_a_secret_key_inside_a_longer_string_is_redacted() -> None:
    from wizard.run.journal import REDACTED, redact

    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert len(secret) == 40
    out = redact({"note": f"key={secret};", "digest": "0" * 40, "path": "a" * 40})
    assert secret not in str(out)
    assert out["note"] == f"key={REDACTED};"
    assert out["digest"] == "0" * 40  # a hex digest is not mixed-case: kept
    assert out["path"] == "a" * 40
