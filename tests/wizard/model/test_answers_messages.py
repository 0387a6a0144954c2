"""The words of answers-file errors (wizard.model.answers_file).

A misspelt key gets its near miss suggested; a value of the wrong kind is told what the
field takes, in the words of someone writing YAML, never in pydantic's ("Input should be a
valid boolean"); every message keeps its file and line.
"""

from __future__ import annotations

import json

import pytest
from pydantic import Field, ValidationError

from wizard.model.answers_file import (
    AnswersError,
    Problem,
    describe_error,
    load_yaml,
    parse_answers,
    validation_problems,
)
from wizard.model.base import WizardModel

HEAD = "trail:\n  name: acme-audit\nbucket:\n  name: acme-audit-logs\n"
"""A valid minimal file (four lines); cases add to it from line 5 on."""

RAW_PYDANTIC = (
    "Input should be",
    "Extra inputs are not permitted",
    "Field required",
    "For further information visit",
    "Value error,",
    "valid dictionary or instance of",
    "unable to interpret input",
    "literal[",
    "list[",
)
"""Phrases (and branch labels) of pydantic's own that must never reach a person."""


def _problems(text: str) -> list[Problem]:
    with pytest.raises(AnswersError) as info:
        parse_answers(text, "answers.yaml")
    return info.value.problems


def _only(text: str) -> Problem:
    problems = _problems(text)
    assert len(problems) == 1, problems
    return problems[0]


# ----------------------------------------------------------------- near misses


@pytest.mark.parametrize(
    ("text", "field", "line", "suggestion"),
    [
        (
            "trail:\n  name: acme-audit\n  multiregion: false\nbucket:\n  name: acme-audit-logs\n",
            "trail.multiregion",
            3,
            "unknown field 'multiregion' in trail: did you mean multi_region?",
        ),
        (
            "trail:\n  name: acme-audit\n  multi-region: false\nbucket:\n  name: acme-audit-logs\n",
            "trail.multi-region",
            3,
            "did you mean multi_region?",
        ),
        (
            HEAD + "encrytion:\n  type: sse-s3\n",
            "encrytion",
            5,
            "in the file: did you mean encryption?",
        ),
        (
            HEAD + "events:\n  data:\n    - tpye: s3\n",
            "events.data.0.tpye",
            7,
            "in an item of events.data: did you mean type?",
        ),
        (
            HEAD + "cloudwatch_logs:\n  log_group: g\n  retention: 365\n",
            "cloudwatch_logs.retention",
            7,
            "did you mean retention_days?",
        ),
    ],
)
def test_an_unknown_key_gets_its_near_miss(
    text: str, field: str, line: int, suggestion: str
) -> None:
    # A misspelt required key is also missing: the unknown one carries the suggestion.
    (problem,) = [p for p in _problems(text) if p.message.startswith("unknown field")]
    assert (problem.field, problem.line) == (field, line)
    assert suggestion in problem.message
    assert problem.render("answers.yaml").startswith(f"answers.yaml:{line}: {field}: unknown field")


def test_no_suggestion_when_nothing_is_close() -> None:
    problem = _only("trail:\n  name: acme-audit\n  colour: red\nbucket:\n  name: acme-audit-logs\n")
    assert (problem.field, problem.line) == ("trail.colour", 3)
    assert "did you mean" not in problem.message
    assert problem.message.startswith("unknown field 'colour' in trail: check the spelling.")
    # Without a near miss, the section's keys are listed instead.
    assert "multi_region" in problem.message and "include_global_events" in problem.message
    assert "cloudtrail-wizard schema" in problem.message


def test_no_suggestion_for_an_unknown_top_level_key() -> None:
    problem = _only(HEAD + "zzz: 1\n")
    assert (problem.field, problem.line) == ("zzz", 5)
    assert "did you mean" not in problem.message
    assert "The file takes trail, bucket, encryption" in problem.message


def test_a_near_miss_of_a_choice_is_suggested() -> None:
    problem = _only(HEAD + "encryption:\n  type: kms\n")
    assert problem.field == "encryption.type"
    assert problem.message == "must be sse-s3 or sse-kms, not 'kms': did you mean sse-kms?"


def test_a_choice_with_no_near_miss_lists_the_choices() -> None:
    problem = _only(HEAD + "events:\n  management: everything\n")
    assert problem.message == "must be all, read, write or none, not 'everything'."


class _Aliased(WizardModel):
    """A model with an alias, as a future answers section might have."""

    retention: int = Field(default=1, alias="retention_in_days")


def test_aliases_are_suggested_too() -> None:
    text = "retention_in_dayz: 3\n"
    data, root = load_yaml(text)
    with pytest.raises(ValidationError) as info:
        _Aliased.model_validate(data)
    (problem,) = validation_problems(info.value, root, _Aliased)
    assert (problem.field, problem.line) == ("retention_in_dayz", 1)
    assert "did you mean retention_in_days?" in problem.message


def test_describe_error_drops_pydantic_labels_from_the_path() -> None:
    text = HEAD + "events:\n  data:\n    - type: s3\n      resources: some\n"
    data, _ = load_yaml(text)
    from wizard.model.answers import Answers

    with pytest.raises(ValidationError) as info:
        Answers.model_validate(data)
    described = {
        (".".join(map(str, loc)), message)
        for loc, message in (describe_error(e) for e in info.value.errors())
    }
    # Two pydantic errors (one per branch of "all" | list), one thing wrong.
    assert described == {
        (
            "events.data.0.resources",
            "must be \"all\" or a list of text items (one '- item' line each), not 'some'.",
        )
    }


# ----------------------------------------------------------- each kind of error


@pytest.mark.parametrize(
    ("text", "field", "line", "message"),
    [
        (  # bool_parsing
            HEAD + "encryption:\n  rotation: maybe\n",
            "encryption.rotation",
            6,
            "must be true or false, not 'maybe'.",
        ),
        (  # bool_type
            HEAD + "encryption:\n  rotation: [yes]\n",
            "encryption.rotation",
            6,
            "must be true or false, not a list.",
        ),
        (  # bool_type, empty
            HEAD + "encryption:\n  rotation:\n",
            "encryption.rotation",
            6,
            "must be true or false, not an empty value.",
        ),
        (  # string_type: a number
            "trail:\n  name: 12345\nbucket:\n  name: acme-audit-logs\n",
            "trail.name",
            2,
            'must be text, not 12345; put it in quotes ("12345") to make it text.',
        ),
        (  # string_type: a YAML date
            "trail:\n  name: 2024-01-01\nbucket:\n  name: acme-audit-logs\n",
            "trail.name",
            2,
            'must be text, not the date 2024-01-01; put it in quotes ("2024-01-01") to make it'
            " text.",
        ),
        (  # string_type: a list where text belongs
            "trail:\n  name: acme-audit\n  tags:\n    team: [a, b]\nbucket:\n  name: b-logs\n",
            "trail.tags.team",
            4,
            "must be text, not a list.",
        ),
        (  # string_type of a mapping's key
            "trail:\n  name: acme-audit\n  tags:\n    1: x\nbucket:\n  name: b-logs\n",
            "trail.tags.1",
            4,
            'the key 1 must be text; put it in quotes ("1") or use a name.',
        ),
        (  # string_unicode
            "trail:\n  name: !!binary /w==\nbucket:\n  name: acme-audit-logs\n",
            "trail.name",
            2,
            "must be text, not binary data; write the value as plain UTF-8 text.",
        ),
        (  # int_parsing
            HEAD + "cloudwatch_logs:\n  log_group: g\n  retention_days: a year\n",
            "cloudwatch_logs.retention_days",
            7,
            "must be a whole number, not 'a year'; choose one of 1, 3, 5,",
        ),
        (  # int_from_float
            HEAD + "cloudwatch_logs:\n  log_group: g\n  retention_days: 1.5\n",
            "cloudwatch_logs.retention_days",
            7,
            "must be a whole number, not 1.5; choose one of",
        ),
        (  # dict_type
            "trail:\n  name: acme-audit\n  tags: [a, b]\nbucket:\n  name: acme-audit-logs\n",
            "trail.tags",
            3,
            "must be a mapping of names to text (key: value lines), not a list.",
        ),
        (  # list_type, one value where a list belongs
            HEAD + "events:\n  exclude_sources: kms.amazonaws.com\n",
            "events.exclude_sources",
            6,
            "must be a list of kms.amazonaws.com or rdsdata.amazonaws.com, not "
            "'kms.amazonaws.com'; for just one, write it as a list: [kms.amazonaws.com].",
        ),
        (  # list_type, a mapping where a list of sections belongs
            HEAD + "events:\n  data:\n    type: s3\n",
            "events.data",
            6,
            "must be a list of sections (each a '- key: value' item), not a mapping.",
        ),
        (  # model_type
            "trail: acme-audit\nbucket:\n  name: acme-audit-logs\n",
            "trail",
            1,
            "must be a section of key: value lines (name, region, multi_region, "
            "include_global_events, log_file_validation, organization and tags), not "
            "'acme-audit'.",
        ),
        (  # literal_error inside a list
            HEAD + "events:\n  insights: [ApiCallRate]\n",
            "events.insights.0",
            6,
            "must be ApiCallRateInsight or ApiErrorRateInsight, not 'ApiCallRate': did you "
            "mean ApiCallRateInsight?",
        ),
        (  # missing field
            "trail: {}\nbucket:\n  name: acme-audit-logs\n",
            "trail.name",
            1,
            "this field is required: add name: to trail (text).",
        ),
        (  # missing field in a list item
            HEAD + "events:\n  data:\n    - read_write: all\n",
            "events.data.0.type",
            7,
            "this field is required: add type: to an item of events.data (text).",
        ),
        (  # a wrong item of the list branch of "all" | list: the item, not the union
            HEAD + "events:\n  data:\n    - type: s3\n      resources: [1]\n",
            "events.data.0.resources.0",
            8,
            'must be text, not 1; put it in quotes ("1") to make it text.',
        ),
    ],
)
def test_each_kind_of_error_in_our_words(text: str, field: str, line: int, message: str) -> None:
    problem = _only(text)
    assert (problem.field, problem.line) == (field, line)
    assert problem.message.startswith(message), problem.message


def test_a_missing_section_says_what_goes_under_it() -> None:
    problems = _problems("encryption:\n  type: sse-s3\n")
    assert {(p.field, p.message) for p in problems} == {
        ("trail", "this section is required: add trail:, with name under it."),
        ("bucket", "this section is required: add bucket:, with name under it."),
    }


def test_our_validators_keep_their_own_words() -> None:
    problem = _only("trail:\n  name: ab\nbucket:\n  name: acme-audit-logs\n")
    assert problem.field == "trail.name"
    assert "'ab'" in problem.message and not problem.message.startswith("must be")


# ------------------------------------------------------------- hostile corpus

HOSTILE = {
    "bool word": HEAD + "encryption:\n  rotation: sometimes\n",
    "bool list": "trail:\n  name: acme-audit\n  organization: [true]\nbucket:\n  name: b-logs\n",
    "null everywhere": "trail:\n  name:\n  region:\n  tags:\nbucket:\n  name:\n  create:\n",
    "numbers for text": "trail:\n  name: 1\n  region: 2\nbucket:\n  name: 3\n  prefix: 4\n",
    "sections as text": "trail: t\nbucket: b\nencryption: e\nnotifications: n\nevents: x\n",
    "sections as lists": "trail: [1]\nbucket: [2]\ncloudwatch_logs: [3]\n",
    "misspelt everything": "trial:\n  nmae: x\nbuckit:\n  name: y\nencrypton: {}\n",
    "unknown everywhere": HEAD.replace("acme-audit\n", "acme-audit\n  qqq: 1\n", 1)
    + "events:\n  data:\n    - type: s3\n      zzz: 2\n",
    "wrong choices": HEAD + "encryption:\n  type: aes\nevents:\n  management: most\n"
    "  read_write: all\n  insights: [x]\n  exclude_sources: [y]\n",
    "data items": HEAD + "events:\n  data:\n    - s3\n    - {}\n    - type: s3\n"
    "      resources: some\n      read_write: both\n    - type: lambda\n"
    "      resources: [1, {a: b}]\n",
    "retention": HEAD + "cloudwatch_logs:\n  log_group: g\n  retention_days: [1]\n",
    "tags": "trail:\n  name: acme-audit\n  tags:\n    1: 2\n    k: [v]\n    x: {y: z}\n"
    "bucket:\n  name: b-logs\n",
    "access logs": HEAD + "  access_logs: [x]\n",
    "dates and binary": "trail:\n  name: 2024-02-03\n  region: !!binary /w==\n"
    "bucket:\n  name: 2020-01-01 10:00:00\n",
    "nested lists": HEAD + "encryption:\n  decrypt_principals: [[a]]\n",
    "json types": json.dumps(
        {
            "trail": {"name": "acme-audit", "multi_region": "yes please", "tags": []},
            "bucket": {"name": "acme-audit-logs", "versioning": 0.5, "create": {}},
            "cloudwatch_logs": {"log_group": "g", "retention_days": "365 days"},
        },
        indent=2,
    ),
    "json unknown": json.dumps(
        {"trail": {"name": "acme-audit", "multiRegion": True}, "bucket": {"name": "b-logs"}},
        indent=1,
    ),
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_no_raw_pydantic_wording_reaches_the_user(text: str) -> None:
    with pytest.raises(AnswersError) as info:
        parse_answers(text, "bad.yaml")
    rendered = info.value.render()
    for phrase in RAW_PYDANTIC:
        assert phrase not in rendered, rendered
    for problem in info.value.problems:
        # file:line in every message, and a message that says something.
        assert problem.line is not None and problem.line >= 1, problem
        assert problem.render("bad.yaml").startswith(f"bad.yaml:{problem.line}: ")
        assert len(problem.message) > 15
