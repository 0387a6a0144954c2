"""Fuzzing every place where text from outside reaches the wizard.

Each property feeds random input to one entry point and asserts the contract the module
documents: a result, or the module's own error with a message a person can act on, never a
traceback. The inputs mix structured documents (so the fuzzer reaches the validators) with
raw text, YAML tags and anchors, deep nesting and huge values.

Entry points: :func:`wizard.model.answers_file.parse_answers`, every ``check_*`` of
:mod:`wizard.model.names` and :func:`wizard.model.names.classify_key_ref`,
:func:`wizard.policy.merge.merge`,
:func:`wizard.policy.access.evaluate` and ``cloudtrail-wizard policies``.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import wizard.model.names
from screens.cli.main import main
from screens.common.errors import EXIT_INVALID, EXIT_OK
from tests.security.strategies import (
    KNOWN_FIELDS,
    answers_documents,
    json_values,
    near_miss_answers,
    policy_like,
    requests,
)
from wizard.model.answers import Answers
from wizard.model.answers_file import AnswersError, parse_answers
from wizard.model.names import KeyRef, classify_key_ref
from wizard.policy.access import (
    AccessResult,
    Decision,
    PolicyFormatError,
    Principal,
    Request,
    evaluate,
)
from wizard.policy.merge import MergeResult, PolicyError, merge, statement_present


@pytest.fixture(autouse=True)
def _no_region_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ------------------------------------------------------------------------ answers files


def _dump(value: Any, how: str) -> str:
    if how == "json":
        return json.dumps(value, ensure_ascii=False)
    if how == "json-indent":
        return json.dumps(value, indent="\t")
    if how == "yaml-flow":
        return yaml.safe_dump(value, allow_unicode=True, default_flow_style=True)
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


_FORMATS = st.sampled_from(["json", "json-indent", "yaml", "yaml-flow"])

_YAML_SNIPPETS = [
    "a: &a [*a]\n",
    "trail: &t {name: abcd, tags: *t}\n",
    "base: &b {name: acme-audit}\ntrail: {<<: *b}\nbucket: {<<: *b}\n",
    "trail: !!binary aGVsbG8=\n",
    "trail: {name: !!timestamp 2024-01-01}\n",
    "trail: {name: 2024-13-45}\n",
    "trail: !!set {a, b}\n",
    "trail: !!omap [a: 1]\n",
    "trail: !custom {name: x}\n",
    "!!python/object:os.system x\n",
    "trail: !!python/name:os.system\n",
    "%YAML 1.1\n---\ntrail: {name: abcd}\n",
    "---\ntrail: {name: abcd}\n---\nbucket: {name: abcd}\n",
    "? [a, b]\n: 1\n",
    "1: 2\n~: 3\ntrue: 4\n1.5: 5\n",
    "trail:\n\tname: abcd\n",
    '{"trail": {"name": NaN}}',
    '{"trail": {"name": "a", "name": "b"}}',
    '{"trail": {"name": "\\ud800"}}',
    "\ufefftrail: {name: abcd}\n",
    "trail: {name: abcd}\x00\n",
    "cloudwatch_logs: {retention_days: " + "9" * 5000 + "}\n",
    '{"cloudwatch_logs": {"retention_days": ' + "9" * 5000 + "}}",
    "trail: {name: .inf}\nbucket: {name: .nan}\n",
    "events: {management: [a, [b, [c]]]}\n",
]


def _laughs(levels: int, tail: str) -> str:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n" + tail.replace("LAST", f"*l{levels - 1}")


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """Raw YAML/JSON texts: tags, anchors, aliases, odd keys, deep nesting, huge values."""
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return draw(st.text(max_size=200))
    if kind == 1:
        depth = draw(st.integers(1, 3000))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ('{"a": ', "}")]))
        return opener * depth + closer * depth
    if kind == 2:
        size = draw(st.integers(10_000, 200_000))
        field = draw(st.sampled_from(["trail: {name: ", "bucket: {prefix: ", "zzz: "]))
        return f"{field}{draw(st.sampled_from('xé/')) * size}}}\n"
    if kind == 3:
        # "Billion laughs": shared aliases, harmless only if nothing walks them naively.
        tail = draw(
            st.sampled_from(
                [
                    "trail: {name: abcd, tags: {a: LAST}}\nbucket: {name: abcd}\n",
                    "events: {management: LAST}\n",
                    "z: [[[[[[[[[[2024-13-45]]]]]]]]]]\n",
                    "encryption: {decrypt_principals: LAST}\n",
                ]
            )
        )
        return _laughs(draw(st.integers(2, 7)), tail)
    snippets = draw(st.lists(st.sampled_from(_YAML_SNIPPETS), min_size=1, max_size=3))
    return "".join(snippets)


@st.composite
def answers_inputs(draw: st.DrawFn) -> tuple[str, Any]:
    """``(text, document)``: the text of an answers file and the value it encodes.

    ``document`` is ``...`` (Ellipsis) for raw texts whose value is unknown.
    """
    kind = draw(st.integers(0, 3))
    if kind == 3:
        return draw(yaml_texts()), ...
    source = [json_values(), near_miss_answers(), answers_documents()][kind]
    document = draw(source)
    return _dump(document, draw(_FORMATS)), document


def _check_problem_fields(error: AnswersError, document: Any) -> None:
    sections = set(KNOWN_FIELDS)
    keys = {str(k) for k in document} | sections if isinstance(document, dict) else set()
    for problem in error.problems:
        assert isinstance(problem.message, str)
        assert problem.message.strip(), error.problems
        assert "Traceback" not in problem.message
        assert problem.line is None or problem.line >= 1
        if isinstance(document, dict):
            # A mapping with bad values: each problem names its field as a dotted path that
            # starts at a key of the document (or at a required section it lacks).
            assert any(problem.field == k or problem.field.startswith(f"{k}.") for k in keys), (
                problem,
                keys,
            )


@FUZZ
@given(answers_inputs())
@example(("cloudwatch_logs: {retention_days: " + "9" * 5000 + "}\n", ...))
@example(('{"cloudwatch_logs": {"retention_days": ' + "9" * 5000 + "}}", ...))
def test_answers_file(case: tuple[str, Any]) -> None:
    """parse_answers: Answers, or AnswersError whose every problem says what and where."""
    text, document = case
    try:
        answers = parse_answers(text, "fuzz.yaml")
    except AnswersError as error:
        assert error.problems
        _check_problem_fields(error, document)
        rendered = error.render()
        assert rendered.startswith("fuzz.yaml")
        # Messages stay readable: an input built from shared aliases must not explode.
        assert len(rendered) < 20 * len(text) + 100_000
        return
    assert isinstance(answers, Answers)


@pytest.mark.parametrize(
    "tail",
    [
        "z: [[[[[[[[[[2024-13-45]]]]]]]]]]\n",  # an unreadable value found after the aliases
        "events: {management: LAST}\n",  # a 10**8-element value in the error message
        "trail: {name: abcd, tags: {a: LAST}}\nbucket: {name: abcd}\n",
    ],
    ids=["unreadable-scalar", "literal-error", "tags"],
)
def test_answers_file_aliases_stay_cheap(tail: str) -> None:
    """A "billion laughs" file (eight levels of aliases) is refused at once.

    Regression: the search for the line of an unreadable value walked every alias (six
    levels took six minutes), and a wrong literal repeated the whole expanded value in its
    message. The parse runs in a thread so a regression fails here instead of hanging.
    """
    outcome: list[BaseException | None] = []

    def parse() -> None:
        try:
            parse_answers(_laughs(8, tail))
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    worker = threading.Thread(target=parse, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "parse_answers did not finish within 60 s"
    (error,) = outcome
    assert isinstance(error, AnswersError)
    assert len(error.render()) < 10_000


@FUZZ
@given(answers_documents(), _FORMATS)
def test_valid_answers_always_parse(document: dict[str, Any], how: str) -> None:
    """Every valid document parses from JSON and YAML to the same answers."""
    parsed = parse_answers(_dump(document, how))
    assert parsed == Answers.model_validate(document)


# ----------------------------------------------------------------------- names and ARNs


def _checks() -> list[tuple[str, Callable[..., Any]]]:
    found: list[tuple[str, Callable[..., Any]]] = [
        (name, fn)
        for name, fn in inspect.getmembers(wizard.model.names, inspect.isfunction)
        if name.startswith("check_")
    ]
    assert len(found) >= 12, found  # the module's checks, check_region included
    return found


CHECKS = _checks()

_ARN_PARTS = [
    "arn",
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "iam",
    "kms",
    "sns",
    "s3",
    "sts",
    "us-east-1",
    "cn-north-1",
    "mars-1",
    "EU",
    "",
    "123456789012",
    "12345678901",
    "aws",
    "root",
    "role/",
    "role/x",
    "user/a/b",
    "key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "key/mrk-0123456789abcdef0123456789abcdef",
    "alias/aws/x",
    "alias/",
    "alias/a:b",
]


@st.composite
def arn_like(draw: st.DrawFn) -> str:
    """Text shaped like an ARN (or a key reference), built from real and broken parts."""
    parts = draw(st.lists(st.sampled_from(_ARN_PARTS) | st.text(max_size=8), max_size=8))
    text = ":".join(parts)
    return draw(st.sampled_from([text, f"arn:{text}", f"alias/{text}", text.replace(":", "/")]))


NAME_TEXT = st.text(max_size=300) | arn_like() | st.text(max_size=5000, alphabet="a.-_/0:")


def _assert_message(result: Any) -> None:
    assert result is None or (isinstance(result, str) and result.strip()), repr(result)


@pytest.mark.parametrize(("name", "check"), CHECKS, ids=[n for n, _ in CHECKS])
def test_name_checks(name: str, check: Callable[..., Any]) -> None:
    """Every check_*: None or a non-empty message, for any text, never an exception."""
    if name == "check_tags":
        values: st.SearchStrategy[Any] = st.dictionaries(
            st.text(max_size=200), st.text(max_size=300), max_size=60
        )
    else:
        values = NAME_TEXT

    @FUZZ
    @given(values)
    def run(value: Any) -> None:
        _assert_message(check(value))
        if name == "check_arn":
            for service in ("iam", "kms", "sns", None):
                _assert_message(check(value, service=service, what="thing"))

    run()


@FUZZ
@given(NAME_TEXT)
def test_classify_key_ref(text: str) -> None:
    """classify_key_ref: a KeyRef keeping the text, or a non-empty reason."""
    result = classify_key_ref(text)
    if isinstance(result, KeyRef):
        assert result.value == text
        assert result.form in ("key-id", "key-arn", "alias", "alias-arn")
    else:
        _assert_message(result)
        assert result is not None


# ------------------------------------------------------------------------- policy merge

_REQUIRED = [
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": "arn:aws:s3:::bucket",
                "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:t"}},
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::bucket/AWSLogs/123456789012/*",
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            },
        ],
    },
    {
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "S",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::bucket/*",
        },
    },
]


def _layout(value: Any, style: str) -> str:
    if style == "compact":
        return json.dumps(value, separators=(",", ":"))
    if style == "spaced":
        return json.dumps(value)
    if style == "crlf":
        return json.dumps(value, indent=2).replace("\n", "\r\n")
    if style == "tabs":
        return "\n" + json.dumps(value, indent="\t", ensure_ascii=False) + "\n\n"
    return json.dumps(value, indent=4, sort_keys=True)


@st.composite
def existing_policy_texts(draw: st.DrawFn) -> str | None:
    """The text of an "existing" policy: policy-like JSON in many layouts, or anything."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.none() | st.sampled_from(["", "   \n", "null", "[]", "{}"]))
    if kind == 1:
        return draw(st.text(max_size=300))
    if kind == 2:
        depth = draw(st.integers(1, 5000))
        return '{"Statement": ' + "[" * depth + "]" * depth + "}"
    if kind == 3:
        many = draw(st.integers(500, 3000))
        statement = '{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Sid": "S'
        body = ",".join(f'{statement}{i}"}}' for i in range(many))
        return f'{{"Version": "2012-10-17", "Statement": [{body}]}}'
    value = draw(policy_like() if kind < 8 else json_values())
    style = draw(st.sampled_from(["compact", "spaced", "crlf", "tabs", "sorted"]))
    return _layout(value, style)


def _is_subsequence(needle: str, haystack: str) -> bool:
    letters = iter(haystack)
    return all(char in letters for char in needle)


@FUZZ
@given(existing_policy_texts(), st.sampled_from(_REQUIRED))
def test_merge(existing: str | None, required: dict[str, Any]) -> None:
    """merge: a result that lost nothing, or PolicyError saying why nothing changed."""
    try:
        result = merge(existing, required)
    except PolicyError as error:
        message = str(error)
        assert message.strip() and "Nothing was changed" in message
        return
    assert isinstance(result, MergeResult)
    merged = result.document["Statement"]
    merged = [merged] if isinstance(merged, dict) else merged
    assert result.document == json.loads(result.text)
    if existing and existing.strip():
        # Only insertions: every character of the existing text is still there, in order,
        # so every existing statement is byte-for-byte where it was.
        assert _is_subsequence(existing, result.text)
        original = json.loads(existing)["Statement"]
        original = [original] if isinstance(original, dict) else original
        assert merged[: len(original)] == original
        assert merged[len(original) :] == result.added
    wanted = required["Statement"]
    for statement in [wanted] if isinstance(wanted, dict) else wanted:
        assert statement_present(statement, merged)
    # Idempotent: merging again changes nothing.
    again = merge(result.text, required)
    assert again.text == result.text and not again.changed


# ---------------------------------------------------------------------- access checker


ANONYMOUS_GET = Request(
    principal=Principal.anonymous(), action="s3:GetObject", resource="arn:aws:s3:::b/k"
)
OPEN = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}


@FUZZ
@given(policy_like(), requests(), st.booleans())
@example(OPEN, ANONYMOUS_GET, False)
@example(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                **OPEN["Statement"][0],
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "tomorrow"}},
            }
        ],
    },
    ANONYMOUS_GET,
    True,
)
def test_evaluate(policy: Any, request: Request, as_text: bool) -> None:
    """evaluate: an AccessResult with reasons, or PolicyFormatError, never anything else."""
    document = json.dumps(policy) if as_text or not isinstance(policy, dict) else policy
    try:
        result = evaluate(document, request)
    except PolicyFormatError as error:
        assert str(error).strip()
        return
    assert isinstance(result, AccessResult)
    assert isinstance(result.decision, Decision)
    assert result.reasons and all(isinstance(r, str) and r for r in result.reasons)


@FUZZ
@given(st.text(max_size=500), requests())
def test_evaluate_text(text: str, request: Request) -> None:
    """Arbitrary text as a policy is a PolicyFormatError (or, if it is JSON, evaluated)."""
    try:
        result = evaluate(text, request)
    except PolicyFormatError as error:
        assert str(error).strip()
        return
    assert isinstance(result, AccessResult)


# -------------------------------------------------------------------------------- CLI


@FUZZ
@given(answers_inputs())
def test_cli_policies(case: tuple[str, Any]) -> None:
    """``cloudtrail-wizard policies FILE``: exit 0 or 2, a message, never a traceback."""
    text, _document = case
    stdout, stderr = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.yaml"
        path.write_text(text, encoding="utf-8")
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["policies", str(path)])
    err = stderr.getvalue()
    assert "Traceback" not in err
    assert code in (EXIT_OK, EXIT_INVALID), (code, err)
    if code == EXIT_OK:
        assert "Your IAM policy" in stdout.getvalue()
        assert err == ""
    else:
        assert err.startswith("error: ") and str(path) in err, err
