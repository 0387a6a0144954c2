"""The changes marked against an existing trail's answers (the TUI and plain mode share them)."""

from __future__ import annotations

from screens.common.changes import changes
from wizard import guide
from wizard.guide import draft_from_answers
from wizard.model.answers import Answers

ADOPTED = Answers.model_validate(
    {
        "trail": {"name": "legacy-trail", "region": "us-west-2", "multi_region": False},
        "bucket": {"name": "legacy-logs", "create": False},
        "encryption": {"type": "sse-s3"},
    }
)


def _edited(**edits: object) -> guide.Draft:
    draft = draft_from_answers(ADOPTED)
    for key, value in edits.items():
        guide.put(draft, key.replace("__", "."), value)
    return draft


def test_the_draft_as_read_has_no_change() -> None:
    assert changes(draft_from_answers(ADOPTED), draft_from_answers(ADOPTED)) == []


def test_the_same_meaning_written_differently_is_no_change() -> None:
    # An empty prefix and no prefix; a region left out for a multi-region default.
    draft = _edited(bucket__prefix="", notifications__sns_topic="")
    assert changes(draft_from_answers(ADOPTED), draft) == []


def test_a_change_says_what_it_was_on_its_own_step_only() -> None:
    draft = _edited(trail__log_file_validation=False, bucket__prefix="audit")
    draft["trail"]["log_file_validation"] = True
    baseline = draft_from_answers(
        ADOPTED.model_copy(
            update={"trail": ADOPTED.trail.model_copy(update={"log_file_validation": False})}
        )
    )

    on_trail = changes(baseline, draft, "trail")
    on_prefix = changes(baseline, draft, "prefix")

    assert [c.sentence() for c in on_trail] == ["Log file validation: yes, changed (was: no)"]
    assert [c.sentence() for c in on_prefix] == [
        "Log file prefix: audit, changed (was: none); new log files go under the new prefix; "
        "the files already delivered stay"
    ]
    assert changes(baseline, draft, "storage") == []
    assert [c.key for c in changes(baseline, draft)] == [
        "trail.log_file_validation",
        "bucket.prefix",
    ]


def test_sections_show_as_people_read_them() -> None:
    draft = _edited(
        encryption__type="sse-kms",
        encryption__key="new",
        bucket__access_logging="new",
        bucket__access_log_bucket="legacy-logs-access-logs",
        bucket__access_log_prefix="access-logs/",
    )

    shown = {c.key: (c.was, c.now) for c in changes(draft_from_answers(ADOPTED), draft)}

    assert shown["encryption.type"] == ("sse-s3", "sse-kms")
    assert shown["encryption.key"] == ("none", "a new key")
    assert shown["bucket.access_logs"] == (
        "off",
        "into legacy-logs-access-logs/access-logs/ (a new bucket)",
    )


def test_a_new_name_says_the_existing_trail_stays() -> None:
    [change] = changes(draft_from_answers(ADOPTED), _edited(trail__name="other"), "trail")
    assert change.was == "legacy-trail" and change.now == "other"
    assert "the existing trail stays as it is" in change.sentence()
