"""Merge required statements into an existing resource policy without losing anything.

The wizard never overwrites a bucket, key or topic policy it did not write. Instead it
appends the statements CloudTrail needs to the policy that is already there, and it does so
on the *text* of that policy: the existing document is never parsed and re-serialized, so
every existing statement, every unknown top-level key, the key order, the whitespace and the
escapes stay byte-for-byte what the owner wrote. Only the new statements are inserted, right
before the closing ``]`` of the ``Statement`` array (or, for a single-object ``Statement``,
by wrapping that object in an array).

A required statement that the existing policy already grants is not added twice. "Already
granted" (see :func:`statement_present`) is deliberately conservative: either an existing
statement says exactly the same thing (ignoring ``Sid``, element order, single value vs.
one-element list and the case of action names and condition keys), or an existing ``Allow``
statement for the same principals covers a superset of the actions and resources with a
subset of the conditions. No wildcard matching is attempted: ``s3:*`` does not count as
granting ``s3:PutObject``, so at worst a redundant statement is added, never a needed one
skipped.

Merging is idempotent: merging the result again with the same required statements returns
the text unchanged.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from pydantic import ConfigDict

from wizard.model.base import WizardModel

__all__ = [
    "DEFAULT_VERSION",
    "MergeResult",
    "PolicyError",
    "merge",
    "parse_policy",
    "render_policy",
    "statement_present",
]

DEFAULT_VERSION: Final = "2012-10-17"
"""The policy language version written into a policy the wizard creates from scratch."""

_NOTHING_CHANGED: Final = "Nothing was changed."
_DOCUMENT_ORDER: Final = ("Version", "Id", "Statement")
_STATEMENT_ORDER: Final = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_EFFECTS: Final = ("Allow", "Deny")
_WHITESPACE: Final = " \t\n\r"
_LEADING_BLANKS: Final = re.compile(r"[ \t]*")
_DEFAULT_UNIT: Final = "  "
_SUPERSET_ELEMENTS: Final = frozenset({"Effect", "Principal", "Action", "Resource", "Condition"})


class PolicyError(ValueError):
    """The existing (or required) text is not a policy the wizard can merge into.

    The message says what is wrong, where, how to fix it, and that nothing was changed.
    """


class MergeResult(WizardModel):
    """The outcome of :func:`merge`.

    Attributes:
        text: The merged policy document as JSON text (the existing text itself when nothing
            had to be added).
        document: The parsed merged document.
        added: The statements appended, in order, each with its final ``Sid``.
        already_present: ``Sid`` of each required statement the existing policy already
            grants (``"statement #N"``, 1-based in the required list, for one without a Sid).
        renamed: Required ``Sid`` -> new ``Sid``, for each required statement whose ``Sid``
            was already used by a different statement.
        diff: Unified diff of the existing text against the merged text, labelled
            ``current`` and ``merged``; empty when nothing changed.
    """

    # The text must reach the caller exactly as merged: no whitespace stripping.
    model_config = ConfigDict(str_strip_whitespace=False)

    text: str
    document: dict[str, Any]
    added: list[dict[str, Any]]
    already_present: list[str]
    renamed: dict[str, str]
    diff: str

    @property
    def changed(self) -> bool:
        """Whether the merged text differs from the existing text."""
        return bool(self.diff)


# --------------------------------------------------------------------------------------
# Parsing and validation
# --------------------------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    raise PolicyError(f"{message} {_NOTHING_CHANGED}")


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            _fail(
                f"The existing policy has the key {json.dumps(key)} twice in the same object, "
                "so it is ambiguous which value AWS would use. Remove one of the two."
            )
        result[key] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    _fail(
        f"The existing policy contains {name}, which is not valid JSON. "
        "Replace it with a number or a quoted string."
    )


_DECODER: Final = json.JSONDecoder(object_pairs_hook=_object_pairs, parse_constant=_reject_constant)


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _decode(text: str) -> Any:
    if text.startswith("\ufeff"):
        _fail(
            "The existing policy starts with a byte-order mark (U+FEFF), which AWS rejects. "
            "Save the file as UTF-8 without BOM."
        )
    try:
        return _DECODER.decode(text)
    except PolicyError:
        raise
    except json.JSONDecodeError as exc:
        _fail(
            f"The existing policy is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}. Fix the JSON there (a missing comma, quote or bracket is "
            "the usual cause)."
        )
    except RecursionError:
        _fail("The existing policy is nested too deeply to be a policy.")
    except ValueError as exc:
        reason = str(exc).split(";")[0]  # drop Python-specific hints after the reason
        _fail(f"The existing policy cannot be read as JSON: {reason}. Fix that value.")


def _validate_document(document: object, what: str) -> list[dict[str, Any]]:
    """Check the policy shape and return its statements as a list.

    Args:
        document: The parsed JSON value.
        what: How to name the document in messages, e.g. ``"The existing policy"``.

    Returns:
        The statements (a single-object ``Statement`` as a one-element list).

    Raises:
        PolicyError: When the value is not a policy document.
    """
    example = '{"Version": "2012-10-17", "Statement": [...]}'
    if not isinstance(document, dict):
        _fail(f"{what} is {_json_type(document)}, expected a JSON object like {example}.")
    if "Statement" not in document:
        _fail(f'{what} has no "Statement" key. A policy looks like {example}.')
    raw = document["Statement"]
    if isinstance(raw, dict):
        statements: list[Any] = [raw]
    elif isinstance(raw, list):
        statements = raw
    else:
        _fail(
            f'{what} has a "Statement" that is {_json_type(raw)}, expected an object or a list '
            "of objects."
        )
    for number, statement in enumerate(statements, start=1):
        if not isinstance(statement, dict):
            _fail(
                f"{what}: Statement #{number} is {_json_type(statement)}, expected an object "
                'like {"Effect": "Allow", "Principal": ..., "Action": ..., "Resource": ...}.'
            )
        label = f"Statement #{number}"
        sid = statement.get("Sid")
        if "Sid" in statement:
            if not isinstance(sid, str):
                _fail(f'{what}: {label} has a "Sid" that is {_json_type(sid)}; use a string.')
            label = f"{label} (Sid {json.dumps(sid)})"
        if "Effect" not in statement:
            _fail(f'{what}: {label} has no "Effect"; add "Effect": "Allow" or "Effect": "Deny".')
        effect = statement["Effect"]
        if effect not in _EFFECTS:
            _fail(
                f'{what}: {label} has "Effect": {json.dumps(effect)}; it must be exactly '
                '"Allow" or "Deny".'
            )
    return statements


def parse_policy(text: str) -> dict[str, Any]:
    """Parse and validate a policy document.

    Args:
        text: The JSON text of a policy document.

    Returns:
        The parsed document.

    Raises:
        PolicyError: When the text is empty or not valid JSON (the message gives line and
            column), when it is not a JSON object, has no ``Statement``, when ``Statement`` is
            not an object or a list of objects, or when a statement has no valid ``Effect``
            or a non-string ``Sid``.
    """
    if not text.strip():
        _fail("The existing policy is empty; expected a JSON policy document.")
    document = _decode(text)
    _validate_document(document, "The existing policy")
    result: dict[str, Any] = document
    return result


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Copy a JSON-like value with plain dicts/lists and object keys sorted."""
    if isinstance(value, Mapping):
        return {key: _plain(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _ordered(mapping: Mapping[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    keys = [key for key in order if key in mapping]
    keys += sorted((key for key in mapping if key not in order), key=str)
    return {key: mapping[key] for key in keys}


def _ordered_statement(statement: Any) -> Any:
    if not isinstance(statement, Mapping):
        return _plain(statement)
    return {key: _plain(value) for key, value in _ordered(statement, _STATEMENT_ORDER).items()}


def _ordered_document(document: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in _ordered(document, _DOCUMENT_ORDER).items():
        if key != "Statement":
            result[key] = _plain(value)
        elif isinstance(value, list | tuple):
            result[key] = [_ordered_statement(statement) for statement in value]
        else:
            result[key] = _ordered_statement(value)
    return result


def render_policy(document: Mapping[str, Any]) -> str:
    """Render a policy document as deterministic, human-friendly JSON.

    Keys come in AWS's customary order: ``Version``, ``Id``, ``Statement``, then any other
    top-level key sorted; inside a statement ``Sid``, ``Effect``, ``Principal``,
    ``NotPrincipal``, ``Action``, ``NotAction``, ``Resource``, ``NotResource``,
    ``Condition``, then others sorted. Keys of nested objects (principal types, condition
    operators and keys) are sorted; list order is kept. Indentation is two spaces,
    non-ASCII characters are written as is, and no trailing newline is added.

    Args:
        document: The policy document.

    Returns:
        The JSON text; equal documents give identical text.
    """
    return json.dumps(_ordered_document(document), indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------------------
# The "already granted" test
# --------------------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _value_set(value: Any, *, fold_case: bool = False) -> frozenset[tuple[str, str]]:
    """A single value or a list of values as a set; strings tagged apart from other JSON."""
    items = value if isinstance(value, list) else [value]
    result: set[tuple[str, str]] = set()
    for item in items:
        if isinstance(item, str):
            result.add(("s", item.lower() if fold_case else item))
        else:
            result.add(("j", _canonical(item)))
    return frozenset(result)


def _principal_key(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return frozenset((kind, _value_set(ids)) for kind, ids in value.items())
    return _value_set(value)


def _condition_key(value: Any) -> frozenset[Hashable]:
    if not isinstance(value, Mapping):
        return frozenset({("j", _canonical(value))})
    result: set[Hashable] = set()
    for operator, block in value.items():
        if isinstance(block, Mapping):
            for key, values in block.items():
                result.add((operator, str(key).lower(), _value_set(values)))
        else:
            result.add((operator, "j", _canonical(block)))
    return frozenset(result)


def _normalize(statement: Mapping[str, Any]) -> dict[str, Hashable]:
    """The meaning of a statement, ignoring Sid and every purely cosmetic difference."""
    result: dict[str, Hashable] = {}
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key in ("Action", "NotAction"):
            result[key] = _value_set(value, fold_case=True)
        elif key in ("Resource", "NotResource"):
            result[key] = _value_set(value)
        elif key in ("Principal", "NotPrincipal"):
            result[key] = _principal_key(value)
        elif key == "Condition":
            conditions = _condition_key(value)
            if conditions:  # an empty Condition is no condition
                result[key] = conditions
        else:
            result[key] = _canonical(value)
    return result


def _superset(have: dict[str, Hashable], want: dict[str, Hashable]) -> bool:
    """The conservative superset rule; see :func:`statement_present`."""
    if have.get("Effect") != _canonical("Allow") or want.get("Effect") != _canonical("Allow"):
        return False
    if not (set(have) <= _SUPERSET_ELEMENTS and set(want) <= _SUPERSET_ELEMENTS):
        return False
    if "Principal" not in want or have.get("Principal") != want["Principal"]:
        return False
    for element in ("Action", "Resource"):
        mine, theirs = have.get(element), want.get(element)
        if not (isinstance(mine, frozenset) and isinstance(theirs, frozenset)):
            return False
        if not mine >= theirs:
            return False
    mine_conditions = have.get("Condition", frozenset())
    theirs_conditions = want.get("Condition", frozenset())
    assert isinstance(mine_conditions, frozenset)
    assert isinstance(theirs_conditions, frozenset)
    return mine_conditions <= theirs_conditions


def _grants(have: dict[str, Hashable], want: dict[str, Hashable]) -> bool:
    return have == want or _superset(have, want)


def statement_present(
    statement: Mapping[str, Any], statements: Iterable[Mapping[str, Any]]
) -> bool:
    """Tell whether ``statements`` already grant what ``statement`` grants.

    A statement counts as present when one of ``statements``:

    * is **equivalent** ignoring ``Sid``: the same elements with the same ``Effect``, the
      same principal set per principal type, the same action set (compared
      case-insensitively, as IAM does), the same resource set (exact strings) and the same
      conditions (operator order, condition-key order and case, and value order do not
      matter; a single value equals a one-element list; an empty ``Condition`` equals none);
      any other element must be identical; or
    * is a **superset** ``Allow``: both statements are ``Allow`` and use only ``Effect``,
      ``Principal``, ``Action``, ``Resource`` and ``Condition``; the principals are the same;
      the existing action set contains every required action and the existing resource set
      contains every required resource (exact strings, no wildcard matching); and every
      condition of the existing statement (operator, key and value set) also appears
      identically in the required statement, so the existing statement is at most as
      restricted. ``Deny`` statements and statements using ``NotPrincipal``, ``NotAction``
      or ``NotResource`` are only ever matched by equivalence.

    Args:
        statement: The statement that should be granted.
        statements: The statements to look in.

    Returns:
        ``True`` when ``statement`` need not be added.
    """
    want = _normalize(statement)
    return any(_grants(_normalize(have), want) for have in statements)


# --------------------------------------------------------------------------------------
# Locating the Statement value in the existing text
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where the top-level ``Statement`` value sits in the existing text.

    Attributes:
        key_start: Offset of the opening quote of the ``"Statement"`` key.
        key_separator: The text between the key and its value, e.g. ``": "``.
        value_start: Offset of the first character of the value.
        value_end: Offset just past the value.
        items: ``(start, end)`` of each element when the value is an array.
        separators: The whitespace before each element (after ``[`` or after the comma).
    """

    key_start: int
    key_separator: str
    value_start: int
    value_end: int
    items: tuple[tuple[int, int], ...]
    separators: tuple[str, ...]

    def is_array(self, text: str) -> bool:
        """Whether the ``Statement`` value is an array (else it is a single object)."""
        return text[self.value_start] == "["


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _skip_value(text: str, index: int) -> int:
    _, end = _DECODER.raw_decode(text, index)
    return end


def _scan_array(text: str, start: int) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...]]:
    items: list[tuple[int, int]] = []
    separators: list[str] = []
    gap_start = start + 1
    index = _skip(text, gap_start)
    if text[index] == "]":
        return (), ()
    while True:
        separators.append(text[gap_start:index])
        end = _skip_value(text, index)
        items.append((index, end))
        index = _skip(text, end)
        if text[index] == "]":
            return tuple(items), tuple(separators)
        gap_start = index + 1  # past the comma
        index = _skip(text, gap_start)


def _scan(text: str) -> _Layout:
    """Find the top-level ``Statement`` value in text already validated by :func:`parse_policy`.

    String tokens (keys and values) are skipped with the JSON decoder itself, so brackets,
    braces, quotes and escapes inside strings can never be mistaken for structure.
    """
    index = _skip(text, 0) + 1  # past "{"
    found: tuple[int, str, int, int] | None = None
    index = _skip(text, index)
    while text[index] != "}":
        key_start = index
        key, key_end = _DECODER.raw_decode(text, index)
        colon = _skip(text, key_end)
        value_start = _skip(text, colon + 1)
        value_end = _skip_value(text, value_start)
        if key == "Statement":
            found = (key_start, text[key_end:value_start], value_start, value_end)
        index = _skip(text, value_end)
        if text[index] == ",":
            index = _skip(text, index + 1)
    if found is None:  # pragma: no cover - parse_policy guarantees a Statement key
        raise AssertionError("Statement key not found in a validated policy")
    key_start, key_separator, value_start, value_end = found
    items: tuple[tuple[int, int], ...] = ()
    separators: tuple[str, ...] = ()
    if text[value_start] == "[":
        items, separators = _scan_array(text, value_start)
    return _Layout(key_start, key_separator, value_start, value_end, items, separators)


# --------------------------------------------------------------------------------------
# Formatting new statements in the style of the existing text
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    """How to write new statements so they blend into the existing text."""

    key_separator: str
    item_separator: str
    newline: str

    def compact(self, statement: Mapping[str, Any]) -> str:
        """The statement on one line."""
        return json.dumps(
            _ordered_statement(statement),
            separators=(self.item_separator, self.key_separator),
            ensure_ascii=False,
        )

    def pretty(self, statement: Mapping[str, Any], unit: str, indent: str) -> str:
        """The statement over several lines, indented by ``unit`` per level from ``indent``."""
        body = json.dumps(
            _ordered_statement(statement),
            indent=unit,
            separators=(",", self.key_separator),
            ensure_ascii=False,
        )
        return body.replace("\n", self.newline + indent)


def _style(text: str, layout: _Layout) -> _Style:
    spaced = layout.key_separator.endswith((" ", "\t", "\n", "\r"))
    key_separator = ": " if spaced else ":"
    item_separator = ", " if spaced else ","
    newline = "\r\n" if "\r\n" in text else "\n"
    return _Style(key_separator, item_separator, newline)


def _leading_blanks(line: str) -> str:
    match = _LEADING_BLANKS.match(line)
    return match.group(0) if match else ""


def _indent_unit(reference: str, indent: str) -> str:
    """The indentation step used inside ``reference``, whose first line is at ``indent``."""
    lines = reference.split("\n")
    if len(lines) > 1:
        lead = _leading_blanks(lines[1])
        if lead.startswith(indent) and len(lead) > len(indent):
            return lead[len(indent) :]
    return _DEFAULT_UNIT


def _line_indent(text: str, offset: int) -> str:
    """The blanks that start the line holding ``offset``, if only blanks precede it."""
    line_start = text.rfind("\n", 0, offset) + 1
    prefix = text[line_start:offset]
    return prefix if prefix.strip(" \t") == "" else _leading_blanks(prefix)


def _splice(text: str, new: list[dict[str, Any]]) -> str:
    """Insert ``new`` statements into the existing ``text``, touching nothing else."""
    layout = _scan(text)
    style = _style(text, layout)
    start, end = layout.value_start, layout.value_end

    if not layout.is_array(text):  # a single object: wrap it
        original = text[start:end]
        if "\n" in original:
            indent = _leading_blanks(original[original.rfind("\n") + 1 :])
            unit = _indent_unit(original, indent)
            rendered = [style.pretty(statement, unit, indent) for statement in new]
            joined = "".join(", " + body for body in rendered)
        else:
            joined = "".join(style.item_separator + style.compact(s) for s in new)
        return f"{text[:start]}[{original}{joined}]{text[end:]}"

    if not layout.items:  # an empty array: fill it
        if "\n" in text:
            outer = _line_indent(text, layout.key_start)
            unit = outer or _DEFAULT_UNIT
            indent = outer + unit
            lead = style.newline + indent
            body = ("," + lead).join(style.pretty(s, unit, indent) for s in new)
            return f"{text[: start + 1]}{lead}{body}{style.newline}{outer}{text[end - 1 :]}"
        body = style.item_separator.join(style.compact(s) for s in new)
        return f"{text[: start + 1]}{body}{text[end - 1 :]}"

    last_start, last_end = layout.items[-1]
    gap = layout.separators[-1]
    reference = text[last_start:last_end]
    if "\n" in gap:
        indent = gap[gap.rfind("\n") + 1 :]
        lead = style.newline + indent
        if "\n" in reference:
            unit = _indent_unit(reference, indent)
            rendered = [style.pretty(statement, unit, indent) for statement in new]
        else:
            rendered = [style.compact(statement) for statement in new]
    else:
        # after a comma, the gap the existing elements use; else the document's spacing
        lead = gap if gap or len(layout.items) > 1 else style.item_separator[1:]
        rendered = [style.compact(statement) for statement in new]
    insertion = "".join("," + lead + body for body in rendered)
    return text[:last_end] + insertion + text[last_end:]


# --------------------------------------------------------------------------------------
# Merging
# --------------------------------------------------------------------------------------


def _required_statements(required: Mapping[str, Any]) -> list[dict[str, Any]]:
    try:
        plain = json.loads(json.dumps(_plain(required), allow_nan=False))
    except (TypeError, ValueError) as exc:
        _fail(f"The required policy cannot be written as JSON: {exc}.")
    return _validate_document(plain, "The required policy")


def _diff(before: str, after: str) -> str:
    if before == after:
        return ""
    lines = difflib.unified_diff(
        before.splitlines(),
        after.splitlines(),
        fromfile="current",
        tofile="merged",
        lineterm="",
    )
    return "\n".join(lines)


def _label(statement: Mapping[str, Any], number: int) -> str:
    sid = statement.get("Sid")
    return sid if isinstance(sid, str) and sid else f"statement #{number}"


def _fresh_sid(sid: str, taken: set[str]) -> str:
    number = 2
    while f"{sid}{number}" in taken:
        number += 1
    return f"{sid}{number}"


def merge(existing: str | None, required: Mapping[str, Any]) -> MergeResult:
    """Merge the required statements into an existing policy document.

    Every existing statement is kept byte-for-byte in its place: the new statements are
    spliced into the existing text, which is never re-serialized. Required statements that
    the existing policy already grants (see :func:`statement_present`) are not added; a
    required statement equivalent to or covered by an earlier required statement is added
    only once. A required ``Sid`` already used by a different statement gets the first free
    ``<Sid>2``, ``<Sid>3``, ... and the old statement is never replaced.

    Args:
        existing: The current policy text, or ``None`` (or blank) when there is none yet, in
            which case a new policy is rendered with :func:`render_policy`.
        required: A policy document whose ``Statement`` holds the statements that must be
            granted.

    Returns:
        The merged policy and a report of what was added, found, renamed, and the diff.

    Raises:
        PolicyError: When ``existing`` is not a valid policy document (the message says
            why and how to fix it) or ``required`` is not one. Nothing is changed.
    """
    try:
        return _merge(existing, required)
    except RecursionError:
        _fail("The policy is nested too deeply to be a policy.")


def _merge(existing: str | None, required: Mapping[str, Any]) -> MergeResult:
    wanted = _required_statements(required)
    blank = existing is None or not existing.strip()
    current: list[dict[str, Any]] = []
    if existing is not None and not blank:
        current = _validate_document(parse_policy(existing), "The existing policy")

    current_norms = [_normalize(statement) for statement in current]
    taken = {s["Sid"] for s in current if isinstance(s.get("Sid"), str) and s["Sid"]}
    added: list[dict[str, Any]] = []
    added_norms: list[dict[str, Hashable]] = []
    already_present: list[str] = []
    renamed: dict[str, str] = {}

    for number, statement in enumerate(wanted, start=1):
        norm = _normalize(statement)
        if any(_grants(have, norm) for have in current_norms):
            already_present.append(_label(statement, number))
            continue
        if any(_grants(have, norm) for have in added_norms):
            continue  # a duplicate within the required statements
        new = dict(statement)
        sid = new.get("Sid")
        if isinstance(sid, str) and sid in taken:
            new["Sid"] = renamed[sid] = _fresh_sid(sid, taken)
        if isinstance(new.get("Sid"), str) and new["Sid"]:
            taken.add(new["Sid"])
        added.append(_ordered_statement(new))
        added_norms.append(norm)

    if blank:
        text = render_policy({"Version": DEFAULT_VERSION, "Statement": added})
        before = existing or ""
    else:
        assert existing is not None
        before = existing
        text = _splice(existing, added) if added else existing
    document = _decode(text)
    if not isinstance(document, dict) or _validate_document(document, "The merged policy") != [
        *current,
        *added,
    ]:  # pragma: no cover - a bug guard: never hand out a policy that lost something
        raise RuntimeError("Merging produced an unexpected document; nothing was changed.")
    return MergeResult(
        text=text,
        document=document,
        added=added,
        already_present=already_present,
        renamed=renamed,
        diff=_diff(before, text),
    )


# --------------------------------------------------------------------------------------
# Taking statements out again (rollback after someone else edited the policy)
# --------------------------------------------------------------------------------------


def remove_statements(existing: str, added: Sequence[Mapping[str, Any]]) -> str | None:
    """The existing text without exactly the statements the wizard added, or None.

    The inverse of :func:`merge` for a rollback that finds the policy edited by someone else
    since the wizard wrote it: every statement equal to one in ``added`` (same members and
    values, compared as JSON) is cut out of the text together with the separator before it
    (or after it, for the first), and every other byte stays as it is, so a colleague's
    statements, added before or after ours, survive the rollback unchanged.

    Args:
        existing: The policy text as it is now.
        added: The statements the wizard added (as recorded in the plan).

    Returns:
        The text without them; ``existing`` itself when none of them is there any more;
        None when removing them would leave no statement at all (delete the policy instead).

    Raises:
        PolicyError: ``existing`` is not a policy document (it cannot be edited safely).
    """
    document = parse_policy(existing)
    statements = _validate_document(document, "The existing policy")
    wanted = [_canonical(_plain(dict(s))) for s in added]
    drop: list[int] = []
    for index, statement in enumerate(statements):
        key = _canonical(_plain(statement))
        if key in wanted:
            wanted.remove(key)  # each added statement removes one occurrence only
            drop.append(index)
    if not drop:
        return existing
    if len(drop) == len(statements):
        return None
    layout = _scan(existing)
    if not layout.is_array(existing):  # pragma: no cover - one statement is all or nothing
        return existing
    # Spans to cut, in the original text's offsets. A leading run of removed elements goes
    # up to the first element kept (taking the comma after it); any other removed element
    # goes with the comma and blanks before it. The spans never overlap.
    first_kept = next(i for i in range(len(statements)) if i not in drop)
    spans: list[tuple[int, int]] = []
    if first_kept > 0:
        spans.append((layout.items[0][0], layout.items[first_kept][0]))
    spans += [(layout.items[i - 1][1], layout.items[i][1]) for i in drop if i > first_kept]
    text = existing
    for cut_start, cut_end in sorted(spans, reverse=True):
        text = text[:cut_start] + text[cut_end:]
    check = _validate_document(_decode(text), "The policy without the wizard's statements")
    if len(check) != len(statements) - len(drop):  # pragma: no cover - a bug guard
        raise RuntimeError("Removing statements produced an unexpected document.")
    return text
