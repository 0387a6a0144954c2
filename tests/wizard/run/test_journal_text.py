"""The journal's text is what ``json.dumps(doc, indent=2)`` writes, however it got there.

Each entry is encoded once and the document put together from the pieces (a journal is
written again whole after every entry); these tests compare the file, byte for byte, with
the document encoded in one go, after records, a write that failed, a reopen and a finish.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wizard.run.journal import Journal


def whole(journal: Journal) -> str:
    """The journal's document encoded in one go, as the journal wrote it before.

    Read back from its file and encoded again: the file is that encoding exactly only if
    the pieces were put together right; its entries are checked against the journal's own.
    """
    document = json.loads(journal.path.read_text(encoding="utf-8"))
    assert document["entries"] == journal.entries
    return json.dumps(document, indent=2, ensure_ascii=False)


def record(journal: Journal, n: int) -> None:
    journal.record(
        "call",
        step_id=f"step-{n}",
        service="s3",
        region="eu-west-1",
        operation="PutBucketPolicy",
        params={"Bucket": f"b-{n}", "Policy": {"Statement": [{"Sid": f"S{n}", "Effect": "Allow"}]}},
        result={"Nested": {"List": [1, 2, {"Deep": 'é ✓ "quoted"\nline'}]}, "Empty": []},
    )


def test_the_text_is_the_document_encoded_in_one_go(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.json", meta={"command": "apply", "accounts": ["1", "2"]})
    journal.record("apply-started", message="first")
    assert (tmp_path / "j.json").read_text(encoding="utf-8") == whole(journal)
    for n in range(5):
        record(journal, n)
        assert (tmp_path / "j.json").read_text(encoding="utf-8") == whole(journal)
    journal.finish({"status": "applied", "steps": {"a": "done"}})
    assert (tmp_path / "j.json").read_text(encoding="utf-8") == whole(journal)
    assert json.loads((tmp_path / "j.json").read_text())["entries"][-1]["step_id"] == "step-4"


def test_an_entry_that_could_not_be_written_leaves_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "j.json")
    record(journal, 1)
    claim = Journal._claim_locked
    failures = iter([OSError("disk full")])

    def failing_once(self: Journal) -> Any:
        for error in failures:
            raise error
        return claim(self)

    monkeypatch.setattr(Journal, "_claim_locked", failing_once)
    with pytest.raises(OSError, match="disk full"):
        journal.record("call", step_id="lost", message="never on disk")
    record(journal, 2)

    text = (tmp_path / "j.json").read_text(encoding="utf-8")
    assert text == whole(journal)
    assert "lost" not in text
    assert [e["seq"] for e in json.loads(text)["entries"]] == [1, 2]


def test_a_reopened_journal_goes_on_with_the_same_text(tmp_path: Path) -> None:
    first = Journal(tmp_path / "j.json", meta={"run": "x"})
    record(first, 1)
    first.finish({"status": "interrupted"})
    again = Journal.reopen(tmp_path / "j.json")
    record(again, 2)
    again.finish({"status": "rolled-back"})

    assert (tmp_path / "j.json").read_text(encoding="utf-8") == whole(again)
    assert [e["step_id"] for e in json.loads((tmp_path / "j.json").read_text())["entries"]] == [
        "step-1",
        "step-2",
    ]
