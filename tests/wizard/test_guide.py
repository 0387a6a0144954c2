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
                ]
            },
        }
    )
    draft = guide.draft_from_answers(answers)
    assert draft["events"]["data"] == ["s3", "lambda"]
    back = Answers.model_validate(guide.answers_data(draft))
    assert back.events.data[0].resources == ["arn:aws:s3:::b/"]
    assert back.events.data[0].read_write == "write"
    assert back.events.data[1].resources == "all"


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
