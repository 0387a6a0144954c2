"""Tests for the answers models (wizard.model.answers) and the file loader
(wizard.model.answers_file).

A bad answers file must always end in an AnswersError whose problems name the field path
and, where the file has one, the line: never a traceback, never a silently ignored value.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wizard.model.answers import RETENTION_DAYS, Answers, BucketAnswers
from wizard.model.answers_file import (
    AnswersError,
    Problem,
    answers_schema,
    dump_answers,
    load_answers,
    parse_answers,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
READER = "arn:aws:iam::123456789012:role/SecurityAuditor"
BASE: dict[str, Any] = {"trail": {"name": "acme-audit"}, "bucket": {"name": "acme-audit-logs"}}


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _parse(extra: dict[str, Any]) -> Answers:
    return parse_answers(yaml.safe_dump(_merged(BASE, extra), sort_keys=False), "answers.yaml")


def _problems(text: str, source: str = "answers.yaml") -> list[Problem]:
    with pytest.raises(AnswersError) as info:
        parse_answers(text, source)
    assert info.value.problems, "an AnswersError must carry at least one problem"
    return info.value.problems


def _problems_for(extra: dict[str, Any]) -> list[Problem]:
    return _problems(yaml.safe_dump(_merged(BASE, extra), sort_keys=False))


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 6


# ----------------------------------------------------------------------- defaults


def test_defaults_of_a_minimal_file() -> None:
    answers = _parse({})
    trail, bucket, enc = answers.trail, answers.bucket, answers.encryption
    assert (trail.name, trail.region, trail.tags) == ("acme-audit", None, {})
    assert trail.multi_region and trail.include_global_events and trail.log_file_validation
    assert not trail.organization
    assert (bucket.create, bucket.prefix, bucket.region, bucket.account) == (True, "", None, None)
    assert bucket.update_policy and bucket.versioning
    assert enc.type == "sse-kms" and enc.key is None and enc.alias is None
    assert enc.new_key and enc.existing_key is None and enc.rotation and enc.update_key_policy
    assert enc.decrypt_principals == []
    assert answers.notifications.sns_topic is None and answers.notifications.topic_name is None
    assert not answers.cloudwatch_logs.enabled and answers.cloudwatch_logs.retention_days == 365
    assert answers.events.management == "all"
    assert (answers.events.data, answers.events.insights, answers.events.exclude_sources) == (
        [],
        [],
        [],
    )


def test_home_and_bucket_region() -> None:
    answers = _parse({})
    assert answers.home_region("eu-west-1") == "eu-west-1"
    assert answers.bucket_region("eu-west-1") == "eu-west-1"
    answers = _parse({"trail": {"region": "us-west-2"}, "bucket": {"region": "eu-central-1"}})
    assert answers.home_region("eu-west-1") == "us-west-2"
    assert answers.bucket_region("eu-west-1") == "eu-central-1"
    answers = _parse({"bucket": {"create": False}})
    assert answers.bucket_region("eu-west-1") is None


def test_existing_key_and_topic_properties() -> None:
    answers = _parse(
        {
            "encryption": {"key": "alias/cloudtrail-ready"},
            "notifications": {"sns_topic": "arn:aws:sns:us-east-1:123456789012:acme-topic"},
            "cloudwatch_logs": {
                "log_group": "acme-logs",
                "role": "arn:aws:iam::123456789012:role/Delivery",
            },
        }
    )
    assert not answers.encryption.new_key
    assert answers.encryption.existing_key == "alias/cloudtrail-ready"
    assert answers.notifications.topic_is_arn
    assert answers.notifications.topic_name == "acme-topic"
    assert answers.cloudwatch_logs.enabled and answers.cloudwatch_logs.role_is_arn


def test_surrounding_blanks_are_trimmed() -> None:
    answers = _parse({"trail": {"name": "  acme-audit  "}})
    assert answers.trail.name == "acme-audit"


def test_models_are_frozen() -> None:
    answers = _parse({})
    with pytest.raises(ValidationError):
        answers.trail.name = "other"  # type: ignore[misc]


# ---------------------------------------------------------------- prefix handling


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("/logs/", "logs"), ("logs/", "logs"), ("//a/b//", "a/b"), (None, ""), ("", "")],
)
def test_prefix_is_normalised(prefix: str | None, expected: str) -> None:
    assert _parse({"bucket": {"prefix": prefix}}).bucket.prefix == expected


def test_prefix_normalised_when_built_directly() -> None:
    assert BucketAnswers(name="acme-audit-logs", prefix="/org/").prefix == "org"


@pytest.mark.parametrize(
    ("prefix", "fragment"),
    [("AWSLogs/", "AWSLogs"), ("/AWSLogs", "AWSLogs"), ("a//b", "'//'"), ("x" * 201, "200")],
)
def test_bad_prefix(prefix: str, fragment: str) -> None:
    problems = _problems_for({"bucket": {"prefix": prefix}})
    assert [p.field for p in problems] == ["bucket.prefix"]
    assert fragment in problems[0].message


def test_prefix_of_the_wrong_type() -> None:
    problems = _problems_for({"bucket": {"prefix": 5}})
    assert [p.field for p in problems] == ["bucket.prefix"]


# ------------------------------------------------------------- cross-field rules


@pytest.mark.parametrize(
    ("extra", "field", "fragments"),
    [
        (
            {"trail": {"multi_region": True, "include_global_events": False}},
            "trail",
            ("multi-region", "trail.include_global_events"),
        ),
        (
            {"encryption": {"type": "sse-s3", "key": KEY_ID}},
            "encryption",
            ("encryption.key is only used with type: sse-kms",),
        ),
        (
            {"encryption": {"type": "sse-s3", "key": "new"}},
            "encryption",
            ("encryption.key",),
        ),
        (
            {"encryption": {"type": "sse-s3", "alias": "alias/acme"}},
            "encryption",
            ("encryption.alias is only used with type: sse-kms",),
        ),
        (
            {"encryption": {"type": "sse-s3", "decrypt_principals": [READER]}},
            "encryption",
            ("encryption.decrypt_principals is only used with type: sse-kms",),
        ),
        (
            {"encryption": {"key": "alias/existing", "alias": "alias/acme"}},
            "encryption",
            ("encryption.alias names a new key",),
        ),
        (
            {"encryption": {"key": KEY_ID, "decrypt_principals": [READER]}},
            "encryption",
            ("encryption.decrypt_principals", "existing key"),
        ),
        (
            {"bucket": {"create": False, "region": "eu-west-1"}},
            "bucket",
            ("bucket.region is only for a new bucket",),
        ),
        (
            {"bucket": {"create": True, "account": "210987654321"}},
            "bucket",
            ("bucket.account", "create: false"),
        ),
        (
            {"cloudwatch_logs": {"role": "DeliveryRole"}},
            "cloudwatch_logs",
            ("cloudwatch_logs.role is set but cloudwatch_logs.log_group is not",),
        ),
        (
            {"cloudwatch_logs": {"log_group": "g", "retention_days": 366}},
            "cloudwatch_logs.retention_days",
            ("366 days", "3653"),
        ),
        (
            {"cloudwatch_logs": {"log_group": "g", "retention_days": 0}},
            "cloudwatch_logs.retention_days",
            ("0 days",),
        ),
        (
            {"events": {"management": "none"}},
            "events",
            ("events.management is none", "record nothing"),
        ),
        (
            {
                "events": {
                    "management": "none",
                    "data": [{"type": "s3"}],
                    "exclude_sources": ["kms.amazonaws.com"],
                }
            },
            "events",
            ("events.exclude_sources",),
        ),
        (
            {"events": {"management": "read", "insights": ["ApiCallRateInsight"]}},
            "events",
            ("Insights", "events.management"),
        ),
        (
            {"events": {"data": [{"type": "s3", "resources": []}]}},
            "events.data.0.resources",
            ("resources is empty",),
        ),
        (
            {"events": {"data": [{"type": "s3", "resources": ["my-bucket/"]}]}},
            "events.data.0.resources",
            ("'my-bucket/' is not an ARN",),
        ),
        (
            {"events": {"data": [{"type": "sqs"}]}},
            "events.data.0.type",
            ("'sqs'",),
        ),
        (
            {"events": {"exclude_sources": ["s3.amazonaws.com"]}},
            "events.exclude_sources.0",
            ("'s3.amazonaws.com'",),
        ),
        (
            {"notifications": {"sns_topic": "acme.fifo"}},
            "notifications.sns_topic",
            ("FIFO",),
        ),
        (
            {"notifications": {"sns_topic": "arn:aws:sns:us-east-1:123456789012:acme.fifo"}},
            "notifications.sns_topic",
            ("FIFO",),
        ),
        (
            {"notifications": {"sns_topic": "arn:aws:sns:::acme"}},
            "notifications.sns_topic",
            ("needs a region and an account",),
        ),
        (
            {"notifications": {"sns_topic": "arn:aws:sqs:us-east-1:123456789012:q"}},
            "notifications.sns_topic",
            ("is a sqs ARN",),
        ),
        (
            {
                "cloudwatch_logs": {
                    "log_group": "arn:aws:logs:us-east-1:123456789012:log-group:g:*",
                }
            },
            "cloudwatch_logs.log_group",
            ("not its ARN",),
        ),
        (
            {
                "cloudwatch_logs": {
                    "log_group": "g",
                    "role": "arn:aws:iam::123456789012:user/alice",
                }
            },
            "cloudwatch_logs.role",
            ("not an IAM role ARN",),
        ),
        (
            {"cloudwatch_logs": {"log_group": "g", "role": "arn:aws:iam:::role/Delivery"}},
            "cloudwatch_logs.role",
            ("no account id",),
        ),
        (
            {"cloudwatch_logs": {"log_group": "g", "role": "bad role"}},
            "cloudwatch_logs.role",
            ("'bad role'",),
        ),
        ({"encryption": {"key": "not-a-key"}}, "encryption.key", ("'not-a-key'",)),
        ({"encryption": {"alias": "acme"}}, "encryption.alias", ("must start with 'alias/'",)),
        (
            {"encryption": {"decrypt_principals": ["arn:aws:iam::123456789012:group/g"]}},
            "encryption.decrypt_principals.0",
            ("not an IAM user, role or account root",),
        ),
        ({"encryption": {"type": "sse-c"}}, "encryption.type", ("'sse-c'",)),
        ({"trail": {"region": "mars-1"}}, "trail.region", ("'mars-1'",)),
        ({"trail": {"name": "my--trail"}}, "trail.name", ("'my--trail'",)),
        ({"trail": {"tags": {"aws:x": "y"}}}, "trail.tags", ("'aws:x'",)),
        ({"bucket": {"name": "My_Bucket"}}, "bucket.name", ("'My_Bucket'",)),
        ({"bucket": {"create": False, "account": "12345"}}, "bucket.account", ("'12345'",)),
    ],
)
def test_rules(extra: dict[str, Any], field: str, fragments: tuple[str, ...]) -> None:
    problems = _problems_for(extra)
    assert [p.field for p in problems] == [field], problems
    for fragment in fragments:
        assert fragment in problems[0].message, problems[0].message


@pytest.mark.parametrize(
    "extra",
    [
        {"trail": {"multi_region": False, "include_global_events": False}},
        {"encryption": {"type": "sse-s3"}},
        {"encryption": {"key": "new", "alias": "alias/acme", "decrypt_principals": [READER]}},
        {"encryption": {"key": KEY_ID}},
        {"encryption": {"key": f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"}},
        {"bucket": {"create": False, "account": "210987654321"}},
        {"bucket": {"create": True, "region": "eu-west-1"}},
        {"cloudwatch_logs": {"log_group": "g", "role": "DeliveryRole"}},
        {"events": {"management": "none", "data": [{"type": "lambda"}]}},
        {"events": {"management": "write", "insights": ["ApiErrorRateInsight"]}},
        {
            "events": {
                "data": [{"type": "s3", "resources": ["arn:aws:s3:::b/"], "read_write": "read"}]
            }
        },
        {"notifications": {"sns_topic": "arn:aws-cn:sns:cn-north-1:123456789012:t"}},
    ],
)
def test_allowed_combinations(extra: dict[str, Any]) -> None:
    assert isinstance(_parse(extra), Answers)


@pytest.mark.parametrize("days", RETENTION_DAYS)
def test_every_cloudwatch_retention_is_accepted(days: int) -> None:
    answers = _parse({"cloudwatch_logs": {"log_group": "g", "retention_days": days}})
    assert answers.cloudwatch_logs.retention_days == days


def test_several_problems_are_reported_together() -> None:
    problems = _problems(
        "trail:\n  name: ab\nbucket:\n  name: Bad_Bucket\nencryption:\n  type: sse-x\n"
    )
    assert [(p.field, p.line) for p in problems] == [
        ("trail.name", 2),
        ("bucket.name", 4),
        ("encryption.type", 6),
    ]


def test_missing_required_sections() -> None:
    problems = _problems("encryption:\n  type: sse-s3\n")
    assert {p.field for p in problems} == {"trail", "bucket"}
    assert all("required" in p.message for p in problems)


# ------------------------------------------------------------ file-level problems


def test_unknown_field_names_path_and_line() -> None:
    text = "trail:\n  name: acme-audit\n  nmae: typo\nbucket:\n  name: acme-audit-logs\n"
    (problem,) = _problems(text)
    assert (problem.field, problem.line) == ("trail.nmae", 3)
    assert "unknown field 'nmae'" in problem.message
    assert problem.render("answers.yaml").startswith("answers.yaml:3: trail.nmae: unknown field")


def test_unknown_section() -> None:
    text = "trail:\n  name: acme-audit\nbucket:\n  name: acme-audit-logs\nbuckets: {}\n"
    (problem,) = _problems(text)
    assert (problem.field, problem.line) == ("buckets", 5)


def test_unknown_field_in_a_list_item() -> None:
    text = (
        "trail:\n  name: acme-audit\nbucket:\n  name: acme-audit-logs\n"
        "events:\n  data:\n    - type: s3\n    - type: lambda\n      color: red\n"
    )
    (problem,) = _problems(text)
    assert (problem.field, problem.line) == ("events.data.1.color", 9)


def test_malformed_yaml_names_line_and_column() -> None:
    text = "trail:\n  name: acme-audit\nbucket:\n  name: [unclosed\n"
    (problem,) = _problems(text)
    assert problem.field == ""
    assert problem.line is not None and problem.line >= 4
    assert "not valid YAML/JSON" in problem.message and "column" in problem.message


def test_bad_indentation() -> None:
    (problem,) = _problems("trail:\n  name: acme-audit\n bucket: x\n")
    assert problem.line == 3


def test_malformed_json_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(
        '{\n  "trail": {"name": "acme-audit"}\n  "bucket": {"name": "acme-audit-logs"}\n}\n',
        encoding="utf-8",
    )
    with pytest.raises(AnswersError) as info:
        load_answers(path)
    (problem,) = info.value.problems
    assert problem.line == 3
    assert "not valid JSON, column 3" in problem.message
    assert str(info.value).startswith(f"{path}:3: ")


@pytest.mark.parametrize("text", ["", "   \n\n", "---\n", "# only a comment\n", "null\n"])
def test_empty_file(text: str) -> None:
    (problem,) = _problems(text)
    assert "empty" in problem.message
    assert "trail.name" in problem.message


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "list"), ("hello\n", "str"), ("42\n", "int"), ("[]", "list")]
)
def test_not_a_mapping(text: str, kind: str) -> None:
    (problem,) = _problems(text)
    assert f"holds a {kind}" in problem.message and "mapping" in problem.message


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"trail": {"multi_region": "maybe"}}, "trail.multi_region"),
        ({"trail": {"tags": ["a", "b"]}}, "trail.tags"),
        ({"trail": {"tags": {"team": ["x"]}}}, "trail.tags.team"),
        ({"trail": "acme-audit"}, "trail"),
        ({"bucket": {"create": {"yes": True}}}, "bucket.create"),
        ({"cloudwatch_logs": {"log_group": "g", "retention_days": "a year"}}, None),
        ({"events": {"data": {"type": "s3"}}}, "events.data"),
        ({"encryption": {"decrypt_principals": READER}}, "encryption.decrypt_principals"),
        ({"trail": {"name": 12345}}, "trail.name"),
    ],
)
def test_wrong_types_name_the_field(extra: dict[str, Any], field: str | None) -> None:
    problems = _problems_for(extra)
    expected = field or "cloudwatch_logs.retention_days"
    assert expected in [p.field for p in problems], problems
    assert all(p.message for p in problems)


def test_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(AnswersError) as info:
        load_answers(path)
    assert "file not found" in str(info.value)
    assert str(path) in str(info.value)


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(AnswersError) as info:
        load_answers(tmp_path)
    assert "cannot read the file" in str(info.value)


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_bytes(b"trail:\n  name: acme-\xff\xfe\n")
    with pytest.raises(AnswersError) as info:
        load_answers(path)
    assert "cannot read the file" in str(info.value)
    assert "utf-8" in str(info.value).lower()


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + yaml.safe_dump(BASE).encode())
    assert load_answers(path).trail.name == "acme-audit"


def test_deeply_nested_input_is_an_answers_error() -> None:
    (problem,) = _problems("[" * 5000 + "]" * 5000)
    assert "nested too deeply" in problem.message
    (problem,) = _problems("a:\n" + "".join("  " * i + "- \n" for i in range(1, 3000)))
    assert problem.message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("trail:\n  name: 2024-13-45\nbucket:\n  name: acme-audit-logs\n", 2),
        ("trail:\n  name: acme\nbucket:\n  name: !!int twelve\n", 4),
        ("trail: {name: !!timestamp soon}\n", 1),
        ("trail: {name: !!bool perhaps}\n", 1),
    ],
)
def test_unreadable_scalars_are_answers_errors(text: str, line: int) -> None:
    (problem,) = _problems(text)
    assert problem.line == line
    assert "cannot be read" in problem.message and "quote it" in problem.message


def test_python_tags_are_refused() -> None:
    (problem,) = _problems("trail: !!python/object/apply:os.system ['true']\n")
    assert "not valid YAML/JSON" in problem.message


def test_problem_render() -> None:
    assert Problem(field="trail.name", line=3, message="bad.").render("f.yaml") == (
        "f.yaml:3: trail.name: bad."
    )
    assert Problem(field="", line=None, message="empty.").render("f.yaml") == "f.yaml: empty."
    error = AnswersError("f.yaml", [Problem(field="a", line=1, message="x")])
    assert str(error) == error.render() == "f.yaml:1: a: x"


# ------------------------------------------------------------------- JSON / YAML


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("indent", [None, 2, "\t"])
def test_json_answers_equal_yaml(example: Path, indent: int | str | None, tmp_path: Path) -> None:
    from_yaml = load_answers(example)
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(yaml.safe_load(example.read_text()), indent=indent))
    assert load_answers(path) == from_yaml


def test_json_unknown_field_line() -> None:
    data = _merged(BASE, {"bucket": {"colour": "blue"}})
    text = json.dumps(data, indent="\t")
    (problem,) = _problems(text)
    assert problem.field == "bucket.colour"
    assert problem.line is not None
    assert '"colour"' in text.splitlines()[problem.line - 1]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_dump_answers_round_trips(example: Path) -> None:
    answers = load_answers(example)
    text = dump_answers(answers)
    assert parse_answers(text) == answers
    assert dump_answers(parse_answers(text)) == text


def test_dump_answers_round_trips_everything_set() -> None:
    answers = _parse(
        {
            "trail": {
                "region": "eu-west-1",
                "multi_region": False,
                "include_global_events": False,
                "log_file_validation": False,
                "tags": {"team": "security", "yes": "no"},
            },
            "bucket": {"create": False, "prefix": "/org/", "account": "012345678901"},
            "encryption": {"key": "alias/existing", "update_key_policy": False},
            "notifications": {"sns_topic": "arn:aws:sns:eu-west-1:123456789012:on"},
            "cloudwatch_logs": {"log_group": "g", "role": "R", "retention_days": 1},
            "events": {
                "management": "write",
                "exclude_sources": ["rdsdata.amazonaws.com"],
                "data": [{"type": "dynamodb", "resources": ["arn:aws:dynamodb:::x"]}],
                "insights": ["ApiCallRateInsight", "ApiErrorRateInsight"],
            },
        }
    )
    assert parse_answers(dump_answers(answers)) == answers


def test_dump_leaves_defaults_out() -> None:
    text = dump_answers(_parse({}))
    assert yaml.safe_load(text) == BASE


# -------------------------------------------------------------------- schema


def test_answers_schema() -> None:
    schema = json.loads(answers_schema())
    assert schema["title"] == "cloudtrail-wizard answers file"
    assert {"trail", "bucket", "encryption", "notifications", "cloudwatch_logs", "events"} <= set(
        schema["properties"]
    )
    assert set(schema["required"]) == {"trail", "bucket"}
    assert answers_schema() == answers_schema()


# ---------------------------------------------------------------- property test

_FIELD_NAMES = [
    "trail",
    "bucket",
    "encryption",
    "notifications",
    "cloudwatch_logs",
    "events",
    "name",
    "region",
    "create",
    "prefix",
    "type",
    "key",
    "alias",
    "decrypt_principals",
    "sns_topic",
    "log_group",
    "role",
    "retention_days",
    "management",
    "data",
    "insights",
    "tags",
    "account",
    "multi_region",
    "include_global_events",
]
_keys = st.sampled_from(_FIELD_NAMES) | st.text(max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(
        ["sse-kms", "sse-s3", "new", "alias/x", "all", "none", "s3", "us-east-1", "EU", "AWSLogs"]
    )
    | st.dates()
)
_nested = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=40,
)
_sections = st.dictionaries(st.sampled_from(_FIELD_NAMES), _nested, max_size=6)
_documents = (
    _nested
    | st.dictionaries(st.sampled_from(_FIELD_NAMES[:6]), _sections, max_size=6)
    | st.fixed_dictionaries(
        {
            "trail": st.fixed_dictionaries({"name": _scalars}, optional={"region": _scalars}),
            "bucket": st.fixed_dictionaries({"name": _scalars}, optional={"prefix": _scalars}),
        },
        optional={"encryption": _sections, "events": _sections},
    )
)
_deep = st.integers(min_value=1, max_value=300).map(
    lambda depth: {"trail": _wrap_deep({"name": "x"}, depth)}
)


def _wrap_deep(value: Any, depth: int) -> Any:
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_documents | _deep)
def test_any_data_gives_answers_or_answers_error(data: Any) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    try:
        result = parse_answers(text, "fuzz.yaml")
    except AnswersError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert isinstance(problem.message, str) and problem.message.strip()
            assert problem.line is None or problem.line >= 1
            assert problem.render("fuzz.yaml").startswith("fuzz.yaml")
            # pydantic's own wording never reaches a person (see test_answers_messages).
            assert "Input should be" not in problem.message
            assert "Extra inputs are not permitted" not in problem.message
            assert "Field required" not in problem.message
    else:
        assert isinstance(result, Answers)
        assert parse_answers(dump_answers(result)) == result


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_answers_or_answers_error(text: str) -> None:
    try:
        result = parse_answers(text)
    except AnswersError as exc:
        assert all(p.message for p in exc.problems)
    else:
        assert isinstance(result, Answers)


def test_a_huge_bad_value_gives_a_short_message() -> None:
    from wizard.model.answers_file import AnswersError, parse_answers

    text = "trail:\n  name: '" + "a_" * 100_000 + "'\nbucket:\n  name: acme-logs\n"
    try:
        parse_answers(text, "huge.yaml")
    except AnswersError as exc:
        (problem,) = exc.problems
        assert problem.field == "trail.name"
        assert len(problem.message) < 1000
    else:
        raise AssertionError("a 200,000-character trail name was accepted")
