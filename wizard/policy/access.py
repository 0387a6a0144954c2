"""Offline evaluator for AWS resource policies: "would this request be allowed, and why?".

The access checker answers the question for one resource policy (an S3 bucket policy, a KMS
key policy, an SNS topic policy, an IAM role trust policy) and one request, without any AWS
call. It follows the documented IAM evaluation logic for a single resource policy:

* a statement applies when its principal, action, resource and every condition match;
* an applicable ``Deny`` wins over everything (explicit deny);
* otherwise an applicable ``Allow`` grants access;
* otherwise the request is implicitly denied.

It never guesses. A condition operator it does not know, a value it cannot interpret (a
number that is not a number, a policy variable missing from the request context, ...) makes
the statement *undecided*. Undecided statements never grant silently: an undecided ``Deny``
makes the whole answer :attr:`Decision.UNDECIDED` unless another ``Deny`` applies outright,
and an undecided ``Allow`` only matters when nothing else allows.

Semantic choices (all documented AWS behaviour unless marked *choice*):

* Statements are numbered from 0 (``#0`` is the first entry of ``Statement``), matching
  :attr:`StatementRef.index`.
* ``"Principal": "*"`` and ``{"AWS": "*"}`` match everyone: IAM principals, service
  principals and anonymous requests.
* ``{"AWS": "123456789012"}`` and ``{"AWS": "arn:aws:iam::123456789012:root"}`` match every
  IAM principal of that account (for the root ARN, the partition must match too). Role and
  user ARNs match exactly (case-sensitively). *Choice:* an STS assumed-role session ARN
  (``arn:aws:sts::123456789012:assumed-role/Name/session``) is matched by the role ARN of
  the same partition, account and role name (any role path), because that is the role the
  session acts as; the same rule applies inside ``NotPrincipal``.
* ``Federated`` and ``CanonicalUser`` principals never match: the request kinds modelled here
  are service, IAM and anonymous principals.
* A statement without ``Principal``/``NotPrincipal`` (identity-policy style) does not apply
  in a resource policy; one without ``Resource``/``NotResource`` is ignored by AWS, so it does
  not apply either. Both cases are explained in the reasons.
* Actions match case-insensitively with ``*`` and ``?`` wildcards. Resources match
  case-sensitively against the whole ARN with ``*`` and ``?`` (a ``*`` may span ``:`` and
  ``/``), after policy-variable substitution.
* Condition keys are looked up case-insensitively. Values listed for one key are ORed, keys
  within one operator are ANDed, operators are ANDed.
* A missing key (absent, ``None`` or an empty list, *choice* for the last two) makes a
  positive operator false and a negated operator (``StringNotEquals``, ``ArnNotLike``,
  ``NotIpAddress``, ...) true; ``...IfExists`` makes any operator true; ``ForAllValues:``
  is true and ``ForAnyValue:`` false, whatever the operator. ``Null`` tests presence.
* A negated operator is true when the request value matches *none* of the policy values.
  *Choice:* a plain (unqualified) operator given a multivalued request key behaves like
  ``ForAnyValue:`` for positive operators and like ``ForAllValues:`` for negated ones.
* ``ArnEquals`` and ``ArnLike`` behave identically (as AWS documents): the six
  colon-separated ARN parts are compared one by one, each may use ``*``/``?``, and a ``*``
  does not cross a ``:`` except inside the final resource part.
* Dates are ISO 8601 (a value without time zone is taken as UTC) or epoch seconds.
  ``BinaryEquals`` compares base64-decoded bytes of both sides.
* Policy variables (``${aws:username}``, ``${aws:username, 'default'}``, ``${*}``, ``${?}``,
  ``${$}``) are substituted in ``Resource``/``NotResource`` and in string and ARN condition
  values, only when the policy ``Version`` is ``2012-10-17`` (older or missing versions treat
  them as literal text, as AWS does). A variable absent from the request context, without a
  default, makes the statement undecided.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from functools import partial
from typing import Any, Literal, NamedTuple

from pydantic import Field, field_validator, model_validator

from wizard.model.base import WizardModel

__all__ = [
    "AccessResult",
    "ContextValue",
    "Decision",
    "PolicyFormatError",
    "Principal",
    "Request",
    "StatementRef",
    "evaluate",
    "explain",
]

ContextValue = str | list[str] | bool | int | None
"""A request-context value: one string, several strings, a boolean, a number, or nothing."""

VERSION_CURRENT = "2012-10-17"
VERSION_LEGACY = "2008-10-17"

_IAM_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)"
)
_ACCOUNT_ID = re.compile(r"\d{12}")


# --------------------------------------------------------------------------- public models


class PolicyFormatError(ValueError):
    """The policy document is malformed; the message names the statement and element."""


class _IamArn(NamedTuple):
    partition: str
    service: str
    account: str
    resource: str


def _parse_iam_arn(text: str) -> _IamArn | None:
    match = _IAM_ARN.fullmatch(text)
    if match is None:
        return None
    return _IamArn(match["partition"], match["service"], match["account"], match["resource"])


class Principal(WizardModel):
    """Who makes the request.

    Attributes:
        kind: ``"service"`` for a service principal, ``"aws"`` for an IAM principal (user,
            role, account root, STS assumed-role session), ``"anonymous"`` for an
            unauthenticated request.
        id: The service principal name (``cloudtrail.amazonaws.com``) or the IAM/STS ARN.
    """

    kind: Literal["service", "aws", "anonymous"]
    id: str

    @model_validator(mode="after")
    def _check_id(self) -> Principal:
        if self.kind == "aws" and _parse_iam_arn(self.id) is None:
            raise ValueError(
                f"an IAM principal must be an IAM or STS ARN such as "
                f"arn:aws:iam::123456789012:role/name, got {self.id!r}"
            )
        if self.kind == "service" and not self.id.strip():
            raise ValueError("a service principal needs a name such as cloudtrail.amazonaws.com")
        return self

    @classmethod
    def service(cls, name: str) -> Principal:
        """A service principal, e.g. ``Principal.service("cloudtrail.amazonaws.com")``."""
        return cls(kind="service", id=name)

    @classmethod
    def aws(cls, arn: str) -> Principal:
        """An IAM principal identified by its ARN (user, role, root, assumed-role session)."""
        return cls(kind="aws", id=arn)

    @classmethod
    def anonymous(cls) -> Principal:
        """An unauthenticated requester."""
        return cls(kind="anonymous", id="*")

    @property
    def account(self) -> str | None:
        """The 12-digit account of an IAM principal; ``None`` for services and anonymous."""
        parsed = _parse_iam_arn(self.id) if self.kind == "aws" else None
        return parsed.account if parsed else None

    def describe(self) -> str:
        """A short phrase naming the principal, for sentences."""
        if self.kind == "service":
            return f"service {self.id}"
        if self.kind == "aws":
            return f"principal {self.id}"
        return "anonymous requester"


class Request(WizardModel):
    """One request to check against a resource policy.

    Attributes:
        principal: Who asks.
        action: The API action, e.g. ``s3:PutObject``.
        resource: The resource ARN (for key policies, the key ARN).
        context: Condition keys of the request (names are case-insensitive), e.g.
            ``{"aws:SourceArn": "...", "aws:SecureTransport": True}``.
    """

    principal: Principal
    action: str
    resource: str
    context: dict[str, ContextValue] = Field(default_factory=dict)

    @field_validator("context")
    @classmethod
    def _keys_unique_ignoring_case(cls, value: dict[str, ContextValue]) -> dict[str, ContextValue]:
        seen: dict[str, str] = {}
        for key in value:
            other = seen.setdefault(key.lower(), key)
            if other != key:
                raise ValueError(
                    f"context keys {other!r} and {key!r} differ only in case; "
                    "condition keys are case-insensitive"
                )
        return value


class Decision(StrEnum):
    """The outcome of evaluating a request against a policy (a ``str`` enum)."""

    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"
    UNDECIDED = "undecided"


class StatementRef(WizardModel):
    """A statement that decided the outcome, with the sentence explaining why.

    Attributes:
        index: Position in the ``Statement`` list (0-based).
        sid: The statement's ``Sid``, if any.
        statement: The statement as written in the policy.
        reason: Why it granted, denied or could not be decided.
    """

    index: int
    sid: str | None
    statement: dict[str, Any]
    reason: str


class AccessResult(WizardModel):
    """The answer of :func:`evaluate`.

    Attributes:
        decision: Allow, explicit deny, implicit deny or undecided.
        deciding: The Allow statements that granted, the Deny statements that denied, or
            the statements that could not be decided.
        reasons: Human sentences explaining the decision, most important first.
    """

    decision: Decision
    deciding: list[StatementRef]
    reasons: list[str]

    @property
    def allowed(self) -> bool:
        """True only for :attr:`Decision.ALLOW`."""
        return self.decision is Decision.ALLOW


# --------------------------------------------------------------------------- parsing

_TOP_LEVEL = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})


@dataclass(frozen=True)
class _PrincipalSpec:
    negated: bool
    everyone: bool
    entries: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _ConditionSpec:
    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class _StatementSpec:
    index: int
    sid: str | None
    raw: dict[str, Any]
    effect: str
    principal: _PrincipalSpec | None
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None
    not_resource: bool
    conditions: tuple[_ConditionSpec, ...]


@dataclass(frozen=True)
class _PolicySpec:
    variables: bool
    statements: tuple[_StatementSpec, ...]


def _kind(value: object) -> str:
    """The JSON type name of a value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _load(policy: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """Parse JSON text if needed; the document must be a JSON object."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except (ValueError, RecursionError) as exc:
            raise PolicyFormatError(f"policy is not valid JSON: {exc}") from exc
    if not isinstance(policy, Mapping):
        raise PolicyFormatError(f"policy must be a JSON object, got {_kind(policy)}")
    return policy


def _parse_policy(doc: Mapping[str, Any]) -> _PolicySpec:
    """Validate the top-level elements and parse every statement (fails on the first error)."""
    unknown = [key for key in doc if key not in _TOP_LEVEL]
    if unknown:
        raise PolicyFormatError(f"policy has an unknown top-level element {unknown[0]!r}")
    version = doc.get("Version")
    if version is not None and version not in (VERSION_CURRENT, VERSION_LEGACY):
        raise PolicyFormatError(
            f"policy Version must be {VERSION_CURRENT!r} or {VERSION_LEGACY!r}, got {version!r}"
        )
    if "Id" in doc and not isinstance(doc["Id"], str):
        raise PolicyFormatError(f"policy Id must be a string, got {_kind(doc['Id'])}")
    if "Statement" not in doc:
        raise PolicyFormatError("policy has no Statement element")
    raw = doc["Statement"]
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise PolicyFormatError(f"policy Statement must be an object or an array, got {_kind(raw)}")
    statements = tuple(_parse_statement(index, item) for index, item in enumerate(raw))
    return _PolicySpec(variables=version == VERSION_CURRENT, statements=statements)


def _where(index: int, raw: Mapping[Any, Any]) -> str:
    """How error messages name a statement: ``statement #2 ('Sid')``."""
    sid = raw.get("Sid")
    return (
        f"statement #{index} ({sid!r})" if isinstance(sid, str) and sid else f"statement #{index}"
    )


def _parse_statement(index: int, raw: object) -> _StatementSpec:
    """Validate one statement's structure; unknown condition operators are kept for later."""
    if not isinstance(raw, Mapping):
        raise PolicyFormatError(f"statement #{index} must be a JSON object, got {_kind(raw)}")
    where = _where(index, raw)
    unknown = [key for key in raw if key not in _STATEMENT_ELEMENTS]
    if unknown:
        raise PolicyFormatError(f"{where} has an unknown element {unknown[0]!r}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyFormatError(f"{where}: Sid must be a string, got {_kind(sid)}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        shown = "missing" if effect is None else repr(effect)
        raise PolicyFormatError(f"{where}: Effect must be 'Allow' or 'Deny', got {shown}")
    principal = _parse_principal_element(where, raw)
    actions, not_action = _parse_pair(where, raw, "Action", required=True)
    for action in actions or ():
        if action != "*" and ":" not in action:
            raise PolicyFormatError(
                f"{where}: action {action!r} must be '*' or 'service:ActionName'"
            )
    resources, not_resource = _parse_pair(where, raw, "Resource", required=False)
    return _StatementSpec(
        index=index,
        sid=sid,
        raw=dict(raw),
        effect=str(effect),
        principal=principal,
        actions=actions or (),
        not_action=not_action,
        resources=resources,
        not_resource=not_resource,
        conditions=_parse_conditions(where, raw.get("Condition")),
    )


def _parse_pair(
    where: str, raw: Mapping[str, Any], name: str, *, required: bool
) -> tuple[tuple[str, ...] | None, bool]:
    """Parse ``Name``/``NotName``: the values and whether the negated form was used."""
    negated_name = f"Not{name}"
    if name in raw and negated_name in raw:
        raise PolicyFormatError(f"{where} has both {name} and {negated_name}; use only one")
    if name in raw:
        return _string_list(where, name, raw[name]), False
    if negated_name in raw:
        return _string_list(where, negated_name, raw[negated_name]), True
    if required:
        raise PolicyFormatError(f"{where} has neither {name} nor {negated_name}")
    return None, False


def _string_list(where: str, element: str, value: object) -> tuple[str, ...]:
    """A string or a non-empty array of strings, as a tuple."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    if isinstance(value, list) and not value:
        raise PolicyFormatError(f"{where}: {element} must not be an empty array")
    raise PolicyFormatError(
        f"{where}: {element} must be a string or an array of strings, got {_kind(value)}"
    )


def _parse_principal_element(where: str, raw: Mapping[str, Any]) -> _PrincipalSpec | None:
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyFormatError(f"{where} has both Principal and NotPrincipal; use only one")
    for name, negated in (("Principal", False), ("NotPrincipal", True)):
        if name in raw:
            return _parse_principal(where, name, raw[name], negated=negated)
    return None


def _parse_principal(where: str, name: str, value: object, *, negated: bool) -> _PrincipalSpec:
    if value == "*":
        return _PrincipalSpec(negated=negated, everyone=True, entries=())
    if isinstance(value, str):
        raise PolicyFormatError(
            f'{where}: {name} must be "*" or an object such as {{"AWS": ...}}, got {value!r}'
        )
    if not isinstance(value, Mapping) or not value:
        raise PolicyFormatError(
            f'{where}: {name} must be "*" or a non-empty object, got {_kind(value)}'
        )
    entries: list[tuple[str, str]] = []
    for kind, ids in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise PolicyFormatError(
                f"{where}: {name} has an unknown principal type {kind!r} "
                "(expected AWS, Service, Federated or CanonicalUser)"
            )
        entries.extend((kind, item) for item in _string_list(where, f"{name}.{kind}", ids))
    return _PrincipalSpec(negated=negated, everyone=False, entries=tuple(entries))


def _parse_conditions(where: str, value: object) -> tuple[_ConditionSpec, ...]:
    """Flatten ``{operator: {key: values}}`` into one spec per (operator, key)."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise PolicyFormatError(f"{where}: Condition must be an object, got {_kind(value)}")
    conditions: list[_ConditionSpec] = []
    for op_name, block in value.items():
        if not isinstance(op_name, str):
            raise PolicyFormatError(f"{where}: condition operator {op_name!r} is not a string")
        if not isinstance(block, Mapping) or not block:
            raise PolicyFormatError(
                f"{where}: Condition {op_name} must be a non-empty object of "
                f"condition keys, got {_kind(block)}"
            )
        for key, values in block.items():
            if not isinstance(key, str):
                raise PolicyFormatError(f"{where}: Condition {op_name} key {key!r} is not a string")
            conditions.append(
                _ConditionSpec(op_name, key, _condition_values(where, op_name, key, values))
            )
    return tuple(conditions)


def _condition_value(value: object) -> str | None:
    """A JSON scalar as the text IAM compares (``true``, ``10``); ``None`` if not a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return value if isinstance(value, str) else None


def _condition_values(where: str, op_name: str, key: str, value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    try:
        texts = [_condition_value(item) for item in items]
    except ValueError:  # an integer too long to convert to text
        raise PolicyFormatError(
            f"{where}: Condition {op_name} {key} has a number too large to read"
        ) from None
    if not texts or any(text is None for text in texts):
        raise PolicyFormatError(
            f"{where}: Condition {op_name} {key} must be a string, number, boolean or a "
            f"non-empty array of them, got {_kind(value)}"
        )
    return tuple(text for text in texts if text is not None)


# --------------------------------------------------------------------------- three-valued logic


class _Undecidable(Exception):
    """Internal: a value cannot be interpreted, so the check cannot be decided."""


@dataclass(frozen=True)
class _Outcome:
    """A three-valued answer: True, False or None (cannot decide), with a reason."""

    value: bool | None
    reason: str = ""


_TRUE = _Outcome(True)


def _attempt(check: Callable[[], bool]) -> _Outcome:
    try:
        return _Outcome(check())
    except _Undecidable as exc:
        return _Outcome(None, str(exc))


def _negate(outcome: _Outcome) -> _Outcome:
    return outcome if outcome.value is None else _Outcome(not outcome.value, outcome.reason)


def _any(outcomes: Sequence[_Outcome]) -> _Outcome:
    """OR: true if any is true; otherwise undecided if any is undecided; otherwise false."""
    for outcome in outcomes:
        if outcome.value is True:
            return outcome
    undecided = [outcome for outcome in outcomes if outcome.value is None]
    if undecided:
        return _Outcome(None, "; ".join(dict.fromkeys(o.reason for o in undecided)))
    return _Outcome(False, outcomes[0].reason if outcomes else "")


def _every(outcomes: Sequence[_Outcome], *, all_false: bool = False) -> _Outcome:
    """AND: false if any is false; otherwise undecided if any is; otherwise true.

    Args:
        outcomes: The operands.
        all_false: Join the reasons of every false operand, not only the first one.
    """
    false = [outcome for outcome in outcomes if outcome.value is False]
    if false:
        return _Outcome(False, "; ".join(o.reason for o in (false if all_false else false[:1])))
    undecided = [outcome for outcome in outcomes if outcome.value is None]
    if undecided:
        return _Outcome(None, "; ".join(dict.fromkeys(o.reason for o in undecided)))
    return _Outcome(True, " and ".join(o.reason for o in outcomes if o.reason))


# --------------------------------------------------------------------------- request context


def _text(value: str | bool | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class _Env:
    """What one evaluation needs: the request, its folded context, variable support."""

    request: Request
    context: Mapping[str, ContextValue]
    variables: bool

    @classmethod
    def build(cls, request: Request, *, variables: bool) -> _Env:
        folded = {key.lower(): value for key, value in request.context.items()}
        return cls(request=request, context=folded, variables=variables)

    def raw(self, key: str) -> ContextValue:
        return self.context.get(key.lower())

    def values(self, key: str) -> tuple[str, ...] | None:
        """The request values of a key as strings; ``None`` when absent or empty."""
        value = self.raw(key)
        if value is None or value == []:
            return None
        if isinstance(value, list):
            return tuple(_text(item) for item in value)
        return (_text(value),)


# --------------------------------------------------------------------------- wildcards, variables


class _Wild(Enum):
    STAR = "*"
    ONE = "?"


_Token = str | _Wild
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_VARIABLE_BODY = re.compile(r"\s*([\w:./-]+)\s*(?:,\s*'([^']*)'\s*)?")


def _literal_tokens(text: str, *, wildcards: bool) -> list[_Token]:
    if not wildcards:
        return list(text)
    return [_Wild.STAR if c == "*" else _Wild.ONE if c == "?" else c for c in text]


def _resolve_variable(body: str, env: _Env) -> str:
    if body in ("*", "?", "$"):
        return body
    match = _VARIABLE_BODY.fullmatch(body)
    if match is None:
        raise _Undecidable(f"cannot interpret policy variable '${{{body}}}'")
    name, default = match[1], match[2]
    value = env.raw(name)
    if isinstance(value, list):
        raise _Undecidable(f"policy variable ${{{name}}} has several values in the request")
    if value is not None:
        return _text(value)
    if default is not None:
        return default
    raise _Undecidable(f"policy variable ${{{name}}} is not in the request context")


def _tokens(pattern: str, env: _Env | None, *, wildcards: bool) -> list[_Token]:
    """Split a policy string into literal characters and wildcards, substituting variables.

    Substituted text is always literal: a ``*`` coming from the request is not a wildcard.
    """
    if env is None or not env.variables:
        return _literal_tokens(pattern, wildcards=wildcards)
    tokens: list[_Token] = []
    position = 0
    for match in _VARIABLE.finditer(pattern):
        tokens += _literal_tokens(pattern[position : match.start()], wildcards=wildcards)
        tokens += list(_resolve_variable(match[1], env))
        position = match.end()
    tokens += _literal_tokens(pattern[position:], wildcards=wildcards)
    return tokens


def _expand(pattern: str, env: _Env | None) -> str:
    """The policy string with its variables substituted (no wildcards)."""
    return "".join(
        t if isinstance(t, str) else t.value for t in _tokens(pattern, env, wildcards=False)
    )


def _fold(tokens: Iterable[_Token]) -> list[_Token]:
    folded: list[_Token] = []
    for token in tokens:
        folded += list(token.lower()) if isinstance(token, str) else [token]
    return folded


def _glob(tokens: Sequence[_Token], text: str) -> bool:
    """Wildcard match, O(len(tokens) * len(text)) at worst: no regex backtracking blow-up."""
    p = t = 0
    star_p, star_t = -1, 0
    while t < len(text):
        token = tokens[p] if p < len(tokens) else None
        if token is _Wild.ONE or (isinstance(token, str) and token == text[t]):
            p, t = p + 1, t + 1
        elif token is _Wild.STAR:
            star_p, star_t = p, t
            p += 1
        elif star_p >= 0:
            p, star_t = star_p + 1, star_t + 1
            t = star_t
        else:
            return False
    while p < len(tokens) and tokens[p] is _Wild.STAR:
        p += 1
    return p == len(tokens)


# --------------------------------------------------------------------------- condition operators

_Compare = Callable[[str, str, _Env], bool]
"""(policy value, request value, env) -> whether they match; raises _Undecidable."""


def _string_equals(policy: str, actual: str, env: _Env) -> bool:
    return _expand(policy, env) == actual


def _string_equals_ignore_case(policy: str, actual: str, env: _Env) -> bool:
    return _expand(policy, env).casefold() == actual.casefold()


def _string_like(policy: str, actual: str, env: _Env) -> bool:
    return _glob(_tokens(policy, env, wildcards=True), actual)


def _number(text: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise _Undecidable(f"cannot interpret {text!r} as a number") from None
    if not number.is_finite():
        raise _Undecidable(f"cannot interpret {text!r} as a finite number")
    return number


_EPOCH = re.compile(r"-?\d+(\.\d+)?")


def _date(text: str) -> datetime:
    stripped = text.strip()
    try:
        if _EPOCH.fullmatch(stripped):
            return datetime.fromtimestamp(float(stripped), tz=UTC)
        parsed = datetime.fromisoformat(stripped)
    except (ValueError, OverflowError, OSError):
        raise _Undecidable(f"cannot interpret {text!r} as an ISO 8601 date or epoch") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _numeric(compare: Callable[[Decimal, Decimal], bool]) -> _Compare:
    def check(policy: str, actual: str, env: _Env) -> bool:
        return compare(_number(actual), _number(policy))

    return check


def _dated(compare: Callable[[datetime, datetime], bool]) -> _Compare:
    def check(policy: str, actual: str, env: _Env) -> bool:
        return compare(_date(actual), _date(policy))

    return check


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise _Undecidable(f"cannot interpret {text!r} as a boolean")
    return lowered == "true"


def _bool_equals(policy: str, actual: str, env: _Env) -> bool:
    return _boolean(policy) == _boolean(actual)


def _binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Undecidable(f"cannot interpret {text!r} as base64") from None


def _binary_equals(policy: str, actual: str, env: _Env) -> bool:
    return _binary(policy) == _binary(actual)


def _ip_address(policy: str, actual: str, env: _Env) -> bool:
    try:
        network = ipaddress.ip_network(policy.strip(), strict=False)
    except ValueError:
        raise _Undecidable(f"cannot interpret {policy!r} as an IP address or CIDR") from None
    try:
        address = ipaddress.ip_address(actual.strip())
    except ValueError:
        raise _Undecidable(f"cannot interpret {actual!r} as an IP address") from None
    return address in network  # False when the IP versions differ


def _split_arn_tokens(tokens: list[_Token]) -> list[list[_Token]]:
    parts: list[list[_Token]] = [[]]
    for token in tokens:
        if token == ":" and len(parts) < 6:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def _arn_like(policy: str, actual: str, env: _Env) -> bool:
    tokens = _tokens(policy, env, wildcards=True)
    if tokens == [_Wild.STAR]:
        return True
    parts = _split_arn_tokens(tokens)
    if len(parts) != 6:
        raise _Undecidable(f"cannot interpret {policy!r} as an ARN (it needs six ':' parts)")
    actual_parts = actual.split(":", 5)
    if len(actual_parts) != 6:
        return False
    return all(_glob(part, text) for part, text in zip(parts, actual_parts, strict=True))


@dataclass(frozen=True)
class _Operator:
    compare: _Compare
    negated: bool = False


_OPERATORS: dict[str, _Operator] = {
    "StringEquals": _Operator(_string_equals),
    "StringNotEquals": _Operator(_string_equals, negated=True),
    "StringEqualsIgnoreCase": _Operator(_string_equals_ignore_case),
    "StringNotEqualsIgnoreCase": _Operator(_string_equals_ignore_case, negated=True),
    "StringLike": _Operator(_string_like),
    "StringNotLike": _Operator(_string_like, negated=True),
    "NumericEquals": _Operator(_numeric(operator.eq)),
    "NumericNotEquals": _Operator(_numeric(operator.eq), negated=True),
    "NumericLessThan": _Operator(_numeric(operator.lt)),
    "NumericLessThanEquals": _Operator(_numeric(operator.le)),
    "NumericGreaterThan": _Operator(_numeric(operator.gt)),
    "NumericGreaterThanEquals": _Operator(_numeric(operator.ge)),
    "DateEquals": _Operator(_dated(operator.eq)),
    "DateNotEquals": _Operator(_dated(operator.eq), negated=True),
    "DateLessThan": _Operator(_dated(operator.lt)),
    "DateLessThanEquals": _Operator(_dated(operator.le)),
    "DateGreaterThan": _Operator(_dated(operator.gt)),
    "DateGreaterThanEquals": _Operator(_dated(operator.ge)),
    "Bool": _Operator(_bool_equals),
    "BinaryEquals": _Operator(_binary_equals),
    "IpAddress": _Operator(_ip_address),
    "NotIpAddress": _Operator(_ip_address, negated=True),
    "ArnEquals": _Operator(_arn_like),
    "ArnLike": _Operator(_arn_like),
    "ArnNotEquals": _Operator(_arn_like, negated=True),
    "ArnNotLike": _Operator(_arn_like, negated=True),
}
"""Every operator except ``Null``, by base name (no set qualifier, no ``IfExists``)."""

_FOR_ALL = "ForAllValues"
_FOR_ANY = "ForAnyValue"
_IF_EXISTS = "IfExists"


def _split_operator(name: str) -> tuple[str | None, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> (``ForAnyValue``, ``StringLike``, True)."""
    qualifier, _, base = name.rpartition(":")
    if_exists = base.endswith(_IF_EXISTS) and base != _IF_EXISTS
    if if_exists:
        base = base[: -len(_IF_EXISTS)]
    return (qualifier if ":" in name else None), base, if_exists


def _show(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else "[" + ", ".join(values) + "]"


def _expects(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else "one of " + ", ".join(values)


def _holds(cond: _ConditionSpec, actual: Sequence[str]) -> str:
    """Why a condition holds: the request value, and the policy test when it adds anything."""
    shown, wanted = _show(actual), _show(cond.values)
    test = "" if shown == wanted else f" ({cond.operator} {wanted})"
    return f"{cond.key} is {shown}{test}"


def _evaluate_condition(cond: _ConditionSpec, env: _Env) -> _Outcome:
    """Decide one (operator, key) pair against the request context."""
    qualifier, base, if_exists = _split_operator(cond.operator)
    if base == "Null" and qualifier is None and not if_exists:
        return _evaluate_null(cond, env)
    spec = _OPERATORS.get(base)
    if spec is None or qualifier not in (None, _FOR_ALL, _FOR_ANY):
        return _Outcome(None, f"unknown condition operator '{cond.operator}'")
    actual = env.values(cond.key)
    if actual is None:
        return _missing_key(cond, spec, qualifier, if_exists=if_exists)
    return _compare_present(cond, spec, qualifier, actual, env)


def _compare_present(
    cond: _ConditionSpec,
    spec: _Operator,
    qualifier: str | None,
    actual: Sequence[str],
    env: _Env,
) -> _Outcome:
    """Compare the request values of a present key with the policy values.

    Each request value matches when it matches any policy value (negated operators: none).
    ``ForAllValues`` needs every request value to match, ``ForAnyValue`` at least one; a
    plain operator acts like ``ForAnyValue`` (positive) or ``ForAllValues`` (negated).
    """
    per_value = []
    for value in actual:
        matched = _any([_attempt(partial(spec.compare, p, value, env)) for p in cond.values])
        per_value.append(_negate(matched) if spec.negated else matched)
    every = qualifier == _FOR_ALL or (qualifier is None and spec.negated)
    outcome = _every(per_value) if every else _any(per_value)
    if outcome.value is None:
        return outcome
    if outcome.value:
        return _Outcome(True, _holds(cond, actual))
    verb = "rules out" if spec.negated else "expects"
    return _Outcome(
        False,
        f"condition {cond.operator} {cond.key} {verb} {_expects(cond.values)}, "
        f"request has {_show(actual)}",
    )


def _missing_key(
    cond: _ConditionSpec, spec: _Operator, qualifier: str | None, *, if_exists: bool
) -> _Outcome:
    """The documented outcome for a key absent from the request context."""
    key, name = cond.key, cond.operator
    if if_exists:
        return _Outcome(True, f"{key} is absent, so {name} passes")
    if qualifier == _FOR_ALL:
        return _Outcome(True, f"{key} is absent or empty, so {name} passes (an empty set)")
    if qualifier is None and spec.negated:
        return _Outcome(True, f"{key} is absent, so the negated operator {name} passes")
    verb = "rules out" if spec.negated else "expects"
    return _Outcome(
        False, f"condition {name} {key} {verb} {_expects(cond.values)}, request has no {key}"
    )


def _evaluate_null(cond: _ConditionSpec, env: _Env) -> _Outcome:
    """``Null``: ``true`` wants the key absent, ``false`` wants it present."""
    actual = env.values(cond.key)
    absent = actual is None

    def wants_absent(policy: str) -> bool:
        return _boolean(policy) == absent

    outcome = _any([_attempt(partial(wants_absent, p)) for p in cond.values])
    if outcome.value is None:
        return outcome
    if outcome.value:
        state = "absent" if absent else "present"
        return _Outcome(True, f"{cond.key} is {state} (Null {_show(cond.values)})")
    if actual is None:
        return _Outcome(
            False, f"condition Null {cond.key} expects the key to be present, request has none"
        )
    return _Outcome(
        False,
        f"condition Null {cond.key} expects the key to be absent, request has {_show(actual)}",
    )


# --------------------------------------------------------------------------- statement matching


def _role_name(arn: _IamArn) -> str | None:
    """The role a principal ARN stands for: ``role/path/Name`` or ``assumed-role/Name/s``."""
    if arn.service == "iam" and arn.resource.startswith("role/"):
        return arn.resource.rsplit("/", 1)[-1]
    if arn.service == "sts" and arn.resource.startswith("assumed-role/"):
        parts = arn.resource.split("/")
        return parts[1] if len(parts) >= 3 else None
    return None


def _aws_principal_matches(policy: str, principal: Principal) -> bool:
    """Whether an ``AWS`` principal entry (account, root, role, user, session) names them."""
    asking = _parse_iam_arn(principal.id)
    if asking is None:
        return False
    if _ACCOUNT_ID.fullmatch(policy):
        return asking.account == policy
    named = _parse_iam_arn(policy)
    if named is None or (named.partition, named.account) != (asking.partition, asking.account):
        return False
    if policy == principal.id or (named.service, named.resource) == ("iam", "root"):
        return True
    role = _role_name(named)
    return (
        role is not None
        and named.service == "iam"
        and asking.service == "sts"
        and role == _role_name(asking)
    )


def _principal_entry_matches(kind: str, value: str, principal: Principal) -> bool:
    if kind == "AWS":
        return value == "*" or (
            principal.kind == "aws" and _aws_principal_matches(value, principal)
        )
    if kind == "Service":
        return principal.kind == "service" and value.lower() == principal.id.lower()
    return False  # Federated and CanonicalUser identities are never the requester here.


def _match_principal(spec: _PrincipalSpec | None, principal: Principal) -> _Outcome:
    if spec is None:
        return _Outcome(
            False,
            "it has no Principal or NotPrincipal (an identity-policy statement), "
            "which never applies in a resource policy",
        )
    hit = spec.everyone or any(
        _principal_entry_matches(kind, value, principal) for kind, value in spec.entries
    )
    who = principal.describe()
    if spec.negated:
        return _Outcome(False, f"its NotPrincipal excludes {who}") if hit else _TRUE
    return _TRUE if hit else _Outcome(False, f"its Principal does not include {who}")


def _action_matches(pattern: str, action: str) -> bool:
    return _glob(_fold(_tokens(pattern, None, wildcards=True)), action.lower())


def _match_action(stmt: _StatementSpec, action: str) -> _Outcome:
    hit = any(_action_matches(pattern, action) for pattern in stmt.actions)
    if stmt.not_action:
        return _Outcome(False, f"its NotAction covers {action}") if hit else _TRUE
    return _TRUE if hit else _Outcome(False, f"its Action does not include {action}")


def _resource_matches(pattern: str, env: _Env) -> bool:
    return _glob(_tokens(pattern, env, wildcards=True), env.request.resource)


def _match_resource(stmt: _StatementSpec, env: _Env) -> _Outcome:
    if stmt.resources is None:
        return _Outcome(False, "it has neither Resource nor NotResource, so AWS ignores it")
    hit = _any([_attempt(partial(_resource_matches, p, env)) for p in stmt.resources])
    if hit.value is None:
        return hit
    resource = env.request.resource
    if stmt.not_resource:
        return _Outcome(False, f"its NotResource covers {resource}") if hit.value else _TRUE
    return _TRUE if hit.value else _Outcome(False, f"its Resource does not include {resource}")


def _evaluate_statement(stmt: _StatementSpec, env: _Env, *, identity: bool = False) -> _Outcome:
    """Whether the statement applies to the request (True/False/None), and why.

    In an identity policy (``identity``) the principal is the identity the policy is attached
    to: a statement names none, and applies to whoever holds the policy.
    """
    conditions = _every([_evaluate_condition(c, env) for c in stmt.conditions], all_false=True)
    return _every(
        [
            _TRUE if identity else _match_principal(stmt.principal, env.request.principal),
            _match_action(stmt, env.request.action),
            _match_resource(stmt, env),
            conditions,
        ]
    )


# --------------------------------------------------------------------------- decision


def _label(stmt: _StatementSpec) -> str:
    return f"Statement '{stmt.sid}' (#{stmt.index})" if stmt.sid else f"Statement #{stmt.index}"


def _target(request: Request) -> str:
    return f"{request.action} on {request.resource} for {request.principal.describe()}"


def _sentence(stmt: _StatementSpec, outcome: _Outcome, request: Request) -> str:
    verb, base = ("allows", "allow") if stmt.effect == "Allow" else ("denies", "deny")
    if outcome.value is True:
        because = f" because {outcome.reason}" if outcome.reason else ""
        return f"{_label(stmt)} {verb} {_target(request)}{because}"
    if outcome.value is None:
        return (
            f"{_label(stmt)} might {base} {_target(request)}, but cannot decide: {outcome.reason}"
        )
    return f"{_label(stmt)} does not apply: {outcome.reason}"


def _ref(stmt: _StatementSpec, outcome: _Outcome, request: Request) -> StatementRef:
    return StatementRef(
        index=stmt.index,
        sid=stmt.sid,
        statement=stmt.raw,
        reason=_sentence(stmt, outcome, request),
    )


_Evaluated = list[tuple[_StatementSpec, _Outcome]]


def _decide(evaluated: _Evaluated, request: Request) -> AccessResult:
    """Deny beats undecided-deny beats allow beats undecided-allow beats implicit deny."""

    def pick(effect: str, value: bool | None) -> _Evaluated:
        return [(s, o) for s, o in evaluated if s.effect == effect and o.value is value]

    def sentences(items: _Evaluated) -> list[str]:
        return [_sentence(s, o, request) for s, o in items]

    def refs(items: _Evaluated) -> list[StatementRef]:
        return [_ref(s, o, request) for s, o in items]

    denies, maybe_denies = pick("Deny", True), pick("Deny", None)
    allows, maybe_allows = pick("Allow", True), pick("Allow", None)
    if denies:
        return AccessResult(
            decision=Decision.EXPLICIT_DENY, deciding=refs(denies), reasons=sentences(denies)
        )
    if maybe_denies:
        return AccessResult(
            decision=Decision.UNDECIDED,
            deciding=refs(maybe_denies),
            reasons=sentences(maybe_denies) + sentences(allows),
        )
    if allows:
        return AccessResult(
            decision=Decision.ALLOW, deciding=refs(allows), reasons=sentences(allows)
        )
    if maybe_allows:
        return AccessResult(
            decision=Decision.UNDECIDED,
            deciding=refs(maybe_allows),
            reasons=sentences(maybe_allows),
        )
    headline = f"No statement allows {_target(request)}"
    return AccessResult(
        decision=Decision.IMPLICIT_DENY,
        deciding=[],
        reasons=[headline, *sentences([(s, o) for s, o in evaluated if o.value is False])],
    )


def evaluate(
    policy: str | Mapping[str, Any], request: Request, *, identity: bool = False
) -> AccessResult:
    """Decide whether a resource policy allows a request, and explain why.

    Args:
        policy: The policy document, as JSON text or an already-parsed mapping.
        request: The principal, action, resource and condition context to check.
        identity: The policy is an identity policy (attached to a user, group or role: its
            statements name no principal and apply to ``request.principal``), not a
            resource policy.

    Returns:
        The decision, the statements that decided it, and human-readable reasons.

    Raises:
        PolicyFormatError: The policy is not a well-formed policy document; the message
            names the statement (0-based ``#index``) and element at fault.
    """
    spec = _parse_policy(_load(policy))
    env = _Env.build(request, variables=spec.variables)
    evaluated = [(s, _evaluate_statement(s, env, identity=identity)) for s in spec.statements]
    return _decide(evaluated, request)


_HEADLINES = {
    Decision.ALLOW: "Allowed",
    Decision.EXPLICIT_DENY: "Denied by an explicit Deny",
    Decision.IMPLICIT_DENY: "Denied (implicitly: nothing allows it)",
    Decision.UNDECIDED: "Cannot decide",
}


def explain(result: AccessResult) -> str:
    """Render a result as one readable paragraph.

    Args:
        result: What :func:`evaluate` returned.

    Returns:
        The decision headline followed by every reason, as sentences.
    """
    sentences = [reason.rstrip(". ") for reason in result.reasons if reason.strip()]
    body = "".join(f" {sentence}." for sentence in sentences)
    return f"{_HEADLINES[result.decision]}.{body}"
