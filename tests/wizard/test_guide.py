"""The shared question catalogue: drafts round-trip answers, questions validate like the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard import guide
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_draft_round_trips_every_example(path: Path) -> None:
    answers = load_answers(path)
    assert Answers.model_validate(guide.answers_data(guide.draft_from_answers(answers))) == answers


def test_narrow_data_events_survive_a_draft() -> None:
    answers = Answers.model_validate(
        {
            "trail": {"name": "acme"},
            "bucket": {"name": "acme-logs"},
            "events": {
                "data": [
                    {"type": "s3", "resources": ["arn:aws:s3:::b/"], "read_write": "write"},
                    {"type": "lambda"},
                ],
                "network": [{"source": "kms.amazonaws.com", "denied_only": True}],
                "insights": ["ApiCallRateInsight"],
                "data_insights": ["ApiErrorRateInsight"],
                "aggregation": ["USER_ACTIONS"],
            },
        }
    )
    draft = guide.draft_from_answers(answers)
    # The selectors are edited as the answers file writes them; Lambda for every function is
    # the Lambda preset's selector. Both kinds of Insights are one question's choices.
    assert [d["type"] for d in draft["events"]["data"]] == ["s3", "lambda"]
    assert draft["events"]["presets"] == ["lambda"]
    assert draft["events"]["insights"] == ["ApiCallRateInsight", "data:ApiErrorRateInsight"]
    back = Answers.model_validate(guide.answers_data(draft))
    assert back.events == answers.events


def test_presets_add_their_selectors_and_leave_a_changed_one_alone() -> None:
    draft: guide.Draft = {"events": {"data": [], "network": []}}
    guide.apply_presets(draft, ["s3-writes", "s3-reads", "vpce-denied"])
    assert draft["events"]["data"] == [
        {"type": "s3", "resources": "all", "read_write": "write"},
        {"type": "s3", "resources": "all", "read_write": "read"},
    ]
    assert [n["source"] for n in draft["events"]["network"]] == [
        "cloudtrail.amazonaws.com",
        "ec2.amazonaws.com",
        "kms.amazonaws.com",
        "s3.amazonaws.com",
        "secretsmanager.amazonaws.com",
    ]
    assert all(n["denied_only"] for n in draft["events"]["network"])
    assert guide.presets_in(draft) == ["s3-writes", "s3-reads", "vpce-denied"]
    # Picked twice: nothing is added twice.
    guide.apply_presets(draft, ["s3-writes", "s3-reads", "vpce-denied"])
    assert len(draft["events"]["data"]) == 2
    # A person edits the writes selector: it is theirs now, and unticking the preset keeps it.
    draft["events"]["data"][0]["conditions"] = [
        {"field": "eventName", "operator": "Equals", "values": ["PutObject"]}
    ]
    guide.apply_presets(draft, ["vpce-denied"])
    assert draft["events"]["data"] == [
        {
            "type": "s3",
            "resources": "all",
            "read_write": "write",
            "conditions": [{"field": "eventName", "operator": "Equals", "values": ["PutObject"]}],
        }
    ]
    assert guide.presets_in(draft) == ["vpce-denied"]
    guide.apply_presets(draft, [])
    assert draft["events"]["network"] == []


@pytest.mark.parametrize("preset", [p.id for p in guide.EVENT_PRESETS])
def test_each_preset_gives_valid_answers(preset: str) -> None:
    draft: guide.Draft = {"trail": {"name": "acme"}, "bucket": {"name": "acme-logs"}}
    guide.apply_presets(draft, [preset])
    answers = Answers.model_validate(guide.answers_data(draft))
    assert answers.events.data or answers.events.network


def test_the_type_table_lists_every_documented_type_once() -> None:
    lines = guide.data_type_lines()
    assert len(lines) == len({line.split(" ")[0].rstrip(":") for line in lines}) > 200
    assert lines[0].startswith("AWS::S3::Object (s3): S3. ")
    assert any(
        line.startswith("AWS::S3Express::Object (s3express): S3 Express. ") for line in lines
    )


def test_every_step_has_help_and_unique_question_keys() -> None:
    keys = [q.key for s in guide.STEPS for q in s.questions]
    assert len(keys) == len(set(keys))
    assert all(s.help.strip() for s in guide.STEPS)
    assert [s.id for s in guide.STEPS][:2] == ["welcome", "trail"]


@pytest.mark.parametrize(
    ("key", "bad", "fragment"),
    [
        ("trail.name", "my--trail", "next to each other"),
        ("bucket.name", "Bad_Name", "lowercase"),
        ("bucket.prefix", "AWSLogs/x", "AWSLogs"),
        ("encryption.key", "not-a-key", "not a KMS key reference"),
        ("encryption.alias", "alias/aws/x", "reserved"),
    ],
)
def test_question_validators_give_the_model_messages(key: str, bad: str, fragment: str) -> None:
    question = next(q for s in guide.STEPS for q in s.questions if q.key == key)
    message = question.validate(bad)
    assert message is not None and fragment in message


def test_put_and_get_dotted_keys() -> None:
    draft: guide.Draft = {}
    guide.put(draft, "trail.name", "x")
    assert guide.get(draft, "trail.name") == "x"
    assert guide.get(draft, "bucket.name", "none") == "none"
