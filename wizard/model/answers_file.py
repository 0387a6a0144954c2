"""Reading and writing answers files (YAML or JSON) with messages a person can act on.

A malformed file names the line and column; a bad value names the field path and, for YAML
and JSON alike, the line it is on, and says in our words (never pydantic's) what the field
takes; an unknown key gets its near miss suggested ("did you mean multi_region?"); a key
given twice in one mapping is refused at its line (otherwise the last one would silently
win). Only a regular file of at most
:data:`MAX_ANSWERS_BYTES` is read. Nothing here raises anything but :class:`AnswersError`.
"""

from __future__ import annotations

import difflib
import json
import reprlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from wizard.model.answers import RETENTION_DAYS, Answers
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
        raise AnswersError(source, validation_problems(exc, node)) from None
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


def validation_problems(
    exc: ValidationError, root: yaml.Node | None, model: type[BaseModel] = Answers
) -> list[Problem]:
    """pydantic's errors as problems in our words, each with its field path and line.

    Args:
        exc: The error of ``model.model_validate``.
        root: The composed YAML tree of the file, for line numbers (None for none).
        model: The model that was validated; its fields name the near misses.

    Returns:
        One problem per field in error (a value that fits no branch of a choice such as
        ``"all"`` or a list is reported once, not once per branch).
    """
    described = [_describe(error, model) for error in exc.errors(include_url=False)]
    # A list given to a choice of "all" or a list fails both branches: when an item of
    # the list is wrong, that item is the problem, not the list.
    inner = {at.in_union for at, _ in described if at.in_union is not None}
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for at, message in described:
        if at.union is not None and tuple(at.loc) in inner:
            continue
        path = ".".join(str(p) for p in at.loc)
        if (path, message) in seen:  # one message per field, not one per union branch
            continue
        seen.add((path, message))
        if len(message) > _MAX_MESSAGE:
            # Name checks quote the value; a megabyte-long value must not make a megabyte
            # of error message.
            message = message[:_MAX_MESSAGE] + " … (message shortened)"
        problems.append(Problem(field=path, line=line_of(root, at.loc), message=message))
    return problems


def describe_error(
    error: Mapping[str, Any], model: type[BaseModel] = Answers
) -> tuple[list[Any], str]:
    """One pydantic error as the field path a person wrote and a message in our words.

    pydantic's own wording ("Input should be a valid boolean, unable to interpret input",
    "Extra inputs are not permitted") speaks of inputs and types; ours says what the field
    takes and how to write it, and suggests the near miss of a misspelt key or choice.

    Args:
        error: One entry of ``ValidationError.errors()``.
        model: The model validated; the path is followed through its fields.

    Returns:
        The path (without pydantic's union-branch and validator labels) and the message.
    """
    at, message = _describe(error, model)
    return at.loc, message


def _describe(error: Mapping[str, Any], model: type[BaseModel]) -> tuple[_At, str]:
    at = _follow(model, list(error["loc"]))
    kind = str(error["type"])
    given = error.get("input")
    if kind in ("value_error", "assertion_error"):
        # Our validators' own messages: already in our words.
        return at, str(error["msg"]).removeprefix("Value error, ").removeprefix(
            "Assertion failed, "
        )
    if kind == "extra_forbidden":
        return at, _unknown_field(at)
    if kind == "missing":
        return at, _missing(at)
    if at.key_error:
        return at, (
            f'the key {_given(given)} must be text; put it in quotes ("{given}") or use a name.'
        )
    if at.union is not None:
        # A value that fits none of a choice's branches: one message for the field.
        return at, f"must be {_expected(at.union)}, not {_given(given)}."
    if kind in ("literal_error", "enum"):
        return at, _bad_choice(at.annotation, given, error)
    if kind == "string_unicode":
        return at, "must be text, not binary data; write the value as plain UTF-8 text."
    if kind == "recursion_loop":
        return at, (
            "refers to itself (a YAML alias used inside its own value); write the value out."
        )
    expected = _expected(at.annotation) if at.annotation is not None else _EXPECTED.get(kind)
    if expected is None:
        return at, (
            f"{_given(given)} cannot be used here; see `cloudtrail-wizard schema` for what "
            "this field takes."
        )
    message = f"must be {expected}, not {_given(given)}"
    if kind in ("string_type",) and isinstance(given, (int, float, bool, date)):
        message += f'; put it in quotes ("{given}") to make it text'
    elif kind == "list_type" and isinstance(given, (str, int, float, bool)):
        message += f"; for just one, write it as a list: [{given}]"
    elif kind in ("int_parsing", "int_from_float", "int_type") and at.loc[-1:] == [
        "retention_days"
    ]:
        message += "; choose one of " + ", ".join(str(d) for d in RETENTION_DAYS)
    return at, message + "."


_EXPECTED = {
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "dict_type": "a mapping (key: value lines)",
    "list_type": "a list (one '- item' line each)",
    "model_type": "a section of key: value lines",
    "model_attributes_type": "a section of key: value lines",
}
"""What a field of unknown annotation takes, by pydantic error type."""


@dataclass(frozen=True)
class _At:
    """Where a pydantic error points, followed through the model's fields."""

    loc: list[Any]
    """The path as written in the file (union-branch and validator labels left out)."""
    parent: Any = None
    """The model holding the last part of the path, when it is a model's field."""
    annotation: Any = None
    """The type the path's value must have, when known."""
    union: Any = None
    """The whole choice, when the error is about the value of a union field itself."""
    in_union: tuple[Any, ...] | None = None
    """The path of the union field the error is inside of (an item of its list branch)."""
    key_error: bool = False
    """The error is about a mapping's key, not its value."""


def _strip(annotation: Any) -> Any:
    """The annotation without ``Annotated`` metadata and without ``| None``."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        members = [m for m in get_args(annotation) if m is not type(None)]
        if len(members) == 1:
            return _strip(members[0])
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _follow(model: type[BaseModel], raw: list[Any]) -> _At:
    """Follow pydantic's error path through ``model``'s fields (best effort)."""
    loc: list[Any] = []
    annotation: Any = model
    parent: Any = None
    union: Any = None
    in_union: tuple[Any, ...] | None = None
    key_error = False
    for part in raw:
        if isinstance(part, str) and part.startswith("function-"):
            continue  # a validator's label, not a key of the file
        current = _strip(annotation)
        if part == "[key]":
            key_error = True
            continue
        if union is not None:
            in_union, union = tuple(loc), None
        if _is_model(current) and isinstance(part, str):
            field = _field(current, part)
            parent = current
            annotation = field.annotation if field is not None else None
        elif get_origin(current) in (Union, UnionType) and isinstance(part, str):
            # A branch label such as "literal['all']": pydantic's, not a key of the file.
            union = current
            annotation = _branch(current, part)
            continue
        elif get_origin(current) is list and isinstance(part, int):
            parent, annotation = None, get_args(current)[0]
        elif get_origin(current) is dict:
            parent, annotation = None, get_args(current)[1]
        else:
            parent, annotation = None, None
        loc.append(part)
    return _At(
        loc=loc,
        parent=parent,
        annotation=_strip(annotation) if annotation is not None else None,
        union=union,
        in_union=in_union,
        key_error=key_error,
    )


def _field(model: type[BaseModel], key: str) -> FieldInfo | None:
    """The field a key names, by its name or its alias."""
    if key in model.model_fields:
        return model.model_fields[key]
    for field in model.model_fields.values():
        if key in (field.alias, field.validation_alias):
            return field
    return None


def _branch(union: Any, label: str) -> Any:
    """The member of a union that pydantic's branch label (``list[str]``) names."""
    kind = label.split("[", 1)[0].lower()
    for member in get_args(union):
        origin = get_origin(_strip(member)) or _strip(member)
        name = getattr(origin, "__name__", None) or getattr(origin, "_name", None) or ""
        if str(name).lower() == kind:
            return member
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    """The keys a model's section takes: field names and any aliases."""
    names: list[str] = []
    for name, field in model.model_fields.items():
        names.append(name)
        names.extend(a for a in (field.alias, field.validation_alias) if isinstance(a, str))
    return list(dict.fromkeys(names))


def _section(loc: list[Any]) -> str:
    """How a message names the section at ``loc``: ``trail``, ``an item of events.data``."""
    if not loc:
        return "the file"
    if isinstance(loc[-1], int):
        return "an item of " + ".".join(str(p) for p in loc[:-1])
    return ".".join(str(p) for p in loc)


def _unknown_field(at: _At) -> str:
    key = at.loc[-1] if at.loc else ""
    where = _section(at.loc[:-1])
    message = f"unknown field {_given(key)} in {where}"
    if not _is_model(at.parent):
        return f"{message}. Check the spelling; see `cloudtrail-wizard schema`."
    names = _field_names(at.parent)
    close = difflib.get_close_matches(str(key).lower().replace("-", "_"), names, n=1)
    if close:
        return f"{message}: did you mean {close[0]}? Fix the spelling of the key."
    if where == "the file":
        holder = "The file"
    elif isinstance(at.loc[-2], int):
        holder = f"An {where[3:]}"
    else:
        holder = f"The {where} section"
    return (
        f"{message}: check the spelling. {holder} takes {_or(names, 'and')} "
        "(see `cloudtrail-wizard schema`)."
    )


def _missing(at: _At) -> str:
    key = at.loc[-1] if at.loc else ""
    where = f" to {_section(at.loc[:-1])}" if at.loc[:-1] else ""
    annotation = at.annotation
    if _is_model(annotation):
        required = [n for n, f in annotation.model_fields.items() if f.is_required()]
        under = f", with {_or(required, 'and')} under it" if required else ""
        return f"this section is required: add {key}:{where}{under}."
    if annotation is not None:
        return f"this field is required: add {key}:{where} ({_expected(annotation)})."
    return "this field is required: add it."


def _choices(annotation: Any) -> list[str]:
    """The values a ``Literal`` (or a list of them) allows."""
    annotation = _strip(annotation)
    if get_origin(annotation) is Literal:
        return [str(v) for v in get_args(annotation)]
    return []


def _bad_choice(annotation: Any, given: Any, error: Mapping[str, Any]) -> str:
    choices = _choices(annotation)
    if not choices:
        expected = str((error.get("ctx") or {}).get("expected", "one of the listed values"))
        return f"must be {expected}, not {_given(given)}."
    message = f"must be {_or(choices, 'or')}, not {_given(given)}"
    if isinstance(given, str):
        # Compared without case: "Read" is a near miss of read, "apicallrate" of
        # ApiCallRateInsight.
        lowered = {choice.lower(): choice for choice in choices}
        close = difflib.get_close_matches(given.lower(), list(lowered), n=1)
        if close:
            return f"{message}: did you mean {lowered[close[0]]}?"
    return message + "."


def _expected(annotation: Any) -> str:
    """What a value of ``annotation`` is, in words a person writing YAML knows."""
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "a whole number"
    if annotation is str:
        return "text"
    if origin is Literal:
        return _or([str(v) for v in get_args(annotation)], "or")
    if origin in (Union, UnionType):
        # Quoted, so that a choice such as "all" stands out from the words around it.
        return " or ".join(
            _or([f'"{v}"' for v in get_args(m)], "or") if get_origin(m) is Literal else _expected(m)
            for m in get_args(annotation)
            if m is not type(None)
        )
    if origin is list:
        item = _strip(get_args(annotation)[0])
        if get_origin(item) is Literal:
            return f"a list of {_or([str(v) for v in get_args(item)], 'or')}"
        if _is_model(item):
            return "a list of sections (each a '- key: value' item)"
        return f"a list of {_expected(item)} items (one '- item' line each)"
    if origin is dict:
        return f"a mapping of names to {_expected(get_args(annotation)[1])} (key: value lines)"
    if _is_model(annotation):
        return f"a section of key: value lines ({_or(_field_names(annotation), 'and')})"
    return "a value of the kind `cloudtrail-wizard schema` describes"


def _or(words: list[str], last: str) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def _given(value: Any) -> str:
    """The value a person wrote, as they would recognise it in their file."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _short_repr(value)
    if isinstance(value, str):
        return _short_repr(value)
    if isinstance(value, (date, datetime)):
        return f"the date {value}"
    if isinstance(value, (bytes, bytearray)):
        return "binary data"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


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
