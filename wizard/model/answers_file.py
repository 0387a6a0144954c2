"""Reading and writing answers files (YAML or JSON) with messages a person can act on.

A malformed file names the line and column; a bad value names the field path and, for YAML
and JSON alike, the line it is on; a key given twice in one mapping is refused at its line
(otherwise the last one would silently win). Only a regular file of at most
:data:`MAX_ANSWERS_BYTES` is read. Nothing here raises anything but :class:`AnswersError`.
"""

from __future__ import annotations

import json
import reprlib
from collections import deque
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.safe_io import FileRefused, read_bounded
from wizard.model.text import printable

MAX_ANSWERS_BYTES = 1 << 20
"""Largest answers file read (1 MiB). A complete answers file is a few kilobytes; even one
listing hundreds of decrypt principals and data selectors stays far below this, while the
cap keeps a wrong path (a log, an image, ``/dev/zero``) from being read into memory."""


class Problem(WizardModel):
    """One thing wrong with an answers file."""

    field: str
    """Dotted path of the field (``trail.name``), or empty for the whole file."""
    line: int | None
    """1-based line in the file, when known."""
    message: str
    """What is wrong and how to fix it."""

    def render(self, source: str) -> str:
        """``file:line: field: message``, one line with control characters escaped.

        Messages quote the values they complain about, and a value (or a file name) may
        hold terminal escape sequences: they are shown, never obeyed.
        """
        where = f"{source}:{self.line}" if self.line else source
        if self.field:
            return printable(f"{where}: {self.field}: {self.message}")
        return printable(f"{where}: {self.message}")


class AnswersError(Exception):
    """The answers file cannot be used; ``problems`` says why."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        """All problems, one per line."""
        return "\n".join(p.render(self.source) for p in self.problems)


def load_answers(path: str | Path) -> Answers:
    """Read and validate an answers file."""
    source = str(path)
    return parse_answers(
        read_input_file(path, source, MAX_ANSWERS_BYTES, what="answers file"), source
    )


def read_input_file(path: str | Path, source: str, limit: int, *, what: str) -> str:
    """The UTF-8 text of a file a person named, refused unless regular and at most ``limit``.

    Args:
        path: The file.
        source: How messages name it.
        limit: The largest size read, in bytes.
        what: What the file is, for messages (``answers file``).

    Raises:
        AnswersError: missing, unreadable, not a regular file, too large, or not UTF-8.
    """
    try:
        data = read_bounded(path, limit, what=what)
    except FileNotFoundError:
        raise AnswersError(
            source, [Problem(field="", line=None, message="file not found; check the path.")]
        ) from None
    except FileRefused as exc:
        raise AnswersError(
            source, [Problem(field="", line=None, message=f"cannot read the file: {exc}")]
        ) from None
    except OSError as exc:
        raise AnswersError(
            source,
            [Problem(field="", line=None, message=f"cannot read the file: {exc.strerror or exc}.")],
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise AnswersError(
            source,
            [
                Problem(
                    field="",
                    line=line,
                    message=f"cannot read the file: it is not UTF-8 text ({exc.reason} at "
                    f"byte {exc.start}); save it as UTF-8.",
                )
            ],
        ) from None


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A key given twice in one mapping (YAML forbids it; JSON parsers keep the last)."""

    def __init__(self, key: object, first: yaml.Mark, again: yaml.Mark) -> None:
        self.key = key
        """The key."""
        self.first_line = first.line + 1
        """1-based line of its first occurrence."""
        super().__init__(
            None, None, f"duplicate key {_short_repr(key)} (first on line {first.line + 1})", again
        )


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping.

    The check runs while the document is constructed, on the keys written in each mapping
    itself, before a YAML merge (``<<: *defaults``) adds the keys it brings in: those may be
    overridden, as the merge is meant for.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._checked: set[int] = set()

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Check the mapping's own keys, then merge ``<<`` into it as PyYAML does.

        PyYAML flattens every mapping before constructing it, and flattens a merged mapping
        before merging it: this is the one place that sees each mapping as written. A
        mapping is checked once; flattened again, it holds the merged keys too.
        """
        if id(node) not in self._checked:
            self._checked.add(id(node))
            seen: dict[Any, yaml.Mark] = {}
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: construct_mapping reports it
                    continue
                if first is not None:
                    raise DuplicateKeyError(key, first, key_node.start_mark)
                seen[key] = key_node.start_mark
        super().flatten_mapping(node)


def load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The data of a YAML (or JSON) text and its node tree (for line numbers), in one pass.

    Raises:
        DuplicateKeyError: a key written twice in one mapping.
        yaml.YAMLError: not valid YAML.
    """
    loader = UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def duplicate_problem(exc: DuplicateKeyError) -> Problem:
    """The problem to report for a duplicate key, at the line of its second occurrence."""
    mark = exc.problem_mark
    return Problem(
        field="",
        line=mark.line + 1 if mark is not None else None,
        message=f"{exc.problem}: a key may appear only once in a mapping. Keep one of them.",
    )


def parse_answers(text: str, source: str = "<answers>") -> Answers:
    """Validate answers given as YAML or JSON text (JSON is valid YAML)."""
    node: yaml.Node | None = None
    # JSON is read as JSON first: PyYAML (YAML 1.1) refuses some valid JSON, such as
    # tab-indented files. YAML then only supplies line numbers; a raw tab in valid JSON is
    # always whitespace, so turning tabs into spaces keeps every value and every line.
    data, json_error = _json_or_error(text)
    try:
        if json_error is None:
            node = _compose_for_lines(text.replace("\t", " "))
        elif isinstance(json_error, _DuplicateJsonKey):
            # Valid JSON but for a key given twice: load it as YAML for the key's line.
            load_yaml(text.replace("\t", " "))
            raise AnswersError(  # not reached: YAML sees the same duplicate
                source,
                [Problem(field="", line=None, message=f"{json_error.msg} in a JSON object.")],
            )
        else:
            # Composed, then constructed: a value that cannot be constructed is found in
            # the node tree for its line (see _unreadable_scalar_line).
            loader = UniqueKeyLoader(text)
            try:
                node = loader.get_single_node()
                data = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
    except DuplicateKeyError as exc:
        raise AnswersError(source, [duplicate_problem(exc)]) from None
    except yaml.MarkedYAMLError as exc:
        if json_error is not None and text.lstrip().startswith(("{", "[")):
            # It was meant to be JSON: JSON's own message is the one that helps.
            raise AnswersError(
                source,
                [
                    Problem(
                        field="",
                        line=json_error.lineno,
                        message=f"not valid JSON, column {json_error.colno}: {json_error.msg}.",
                    )
                ],
            ) from None
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        col = f", column {mark.column + 1}" if mark is not None else ""
        what = exc.problem or "syntax error"
        raise AnswersError(
            source,
            [Problem(field="", line=line, message=f"not valid YAML/JSON{col}: {what}.")],
        ) from None
    except yaml.YAMLError as exc:
        raise AnswersError(
            source, [Problem(field="", line=None, message=f"not valid YAML/JSON: {exc}")]
        ) from None
    except RecursionError:
        raise AnswersError(
            source,
            [Problem(field="", line=None, message="the file is nested too deeply to read.")],
        ) from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # PyYAML's constructors raise these for scalars that match a type's pattern but are
        # not valid values, e.g. the date 2024-13-45 or `!!int x`.
        raise AnswersError(
            source,
            [
                Problem(
                    field="",
                    line=_unreadable_scalar_line(node),
                    message=f"a value cannot be read ({exc}); quote it to make it a string.",
                )
            ],
        ) from None
    if data is None:
        raise AnswersError(
            source,
            [
                Problem(
                    field="",
                    line=None,
                    message="the file is empty; it needs at least trail.name and bucket.name.",
                )
            ],
        )
    if not isinstance(data, dict):
        raise AnswersError(
            source,
            [
                Problem(
                    field="",
                    line=1,
                    message=f"the file holds a {type(data).__name__}; it must be a mapping "
                    "with the sections trail, bucket, encryption, ... .",
                )
            ],
        )
    try:
        return Answers.model_validate(data)
    except ValidationError as exc:
        raise AnswersError(source, _problems(exc, node)) from None
    except (TypeError, ValueError, RecursionError) as exc:  # defensive: odd YAML types
        raise AnswersError(
            source, [Problem(field="", line=None, message=f"unusable value: {exc}")]
        ) from None


class _DuplicateJsonKey(json.JSONDecodeError):
    """A JSON object with a key given twice (the JSON module would keep the last one)."""


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateJsonKey(f"duplicate key {key!r}", "", 0)
        result[key] = value
    return result


def _json_or_error(text: str) -> tuple[Any, json.JSONDecodeError | None]:
    """The text parsed as JSON, or the JSON error (YAML files end up here too)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_object), None
    except json.JSONDecodeError as exc:
        return None, exc
    except RecursionError:
        return None, json.JSONDecodeError("nested too deeply", text, 0)
    except ValueError as exc:  # e.g. an integer over Python's 4300-digit conversion limit
        return None, json.JSONDecodeError(str(exc), text, 0)


def _compose_for_lines(text: str) -> yaml.Node | None:
    """The YAML node tree of a valid JSON text, for line numbers only (None if unreadable)."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None


def _unreadable_scalar_line(node: yaml.Node | None) -> int | None:
    """The line of the first scalar PyYAML cannot turn into a value (best effort)."""
    stack = deque([node] if node is not None else [])
    seen: set[int] = set()
    loader = yaml.SafeLoader("")
    while stack:
        current = stack.popleft()
        # Aliases share nodes: visiting each node once keeps a "billion laughs" file linear.
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            try:
                loader.construct_object(current, deep=True)
            except Exception:  # whatever PyYAML raises, this scalar is the culprit
                return current.start_mark.line + 1
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
    return None


def _problems(exc: ValidationError, root: yaml.Node | None) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        path = ".".join(str(p) for p in loc)
        message = str(error["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        kind = error["type"]
        if kind == "extra_forbidden":
            message = (
                f"unknown field '{loc[-1]}'. Check the spelling; see `cloudtrail-wizard schema`."
            )
        elif kind == "missing":
            message = "this field is required."
        elif kind in ("literal_error", "enum"):
            message = f"{message} (got {_short_repr(error.get('input'))})."
        if len(message) > _MAX_MESSAGE:
            # Name checks quote the value; a megabyte-long value must not make a megabyte
            # of error message.
            message = message[:_MAX_MESSAGE] + " … (message shortened)"
        problems.append(Problem(field=path, line=line_of(root, loc), message=message))
    return problems


_MAX_MESSAGE = 600
"""Longest message shown for one problem."""

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxstring = _REPR.maxother = 60


def _short_repr(value: Any) -> str:
    """A bounded repr: a value built from YAML aliases can be huge (or self-referencing)."""
    return _REPR.repr(value)


def line_of(node: yaml.Node | None, loc: list[Any]) -> int | None:
    """Find the line of a field path in the composed YAML tree (best effort).

    Args:
        node: The composed YAML tree (:func:`load_yaml` gives it), None for none.
        loc: The field path, as pydantic's error ``loc`` names it (keys and list indexes).

    Returns:
        The 1-based line of the deepest part of the path found, None without a tree.
    """
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    node = value
                    line = key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def dump_answers(answers: Answers) -> str:
    """Render answers as YAML with defaults left out (round-trips through parse_answers)."""
    data = answers.model_dump(mode="json", exclude_defaults=True)
    # Required sections are always written so the file reads as a complete setup.
    data.setdefault("trail", {"name": answers.trail.name})
    data.setdefault("bucket", {"name": answers.bucket.name})
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def answers_schema() -> str:
    """The JSON Schema of the answers file format."""
    schema = Answers.model_json_schema()
    schema["title"] = "cloudtrail-wizard answers file"
    return json.dumps(schema, indent=2, sort_keys=True)
