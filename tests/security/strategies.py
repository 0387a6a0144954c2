"""Hypothesis strategies for valid answers files, account contexts and random documents.

Everything here builds *valid* values from the naming rules in :mod:`wizard.model.names` (bucket,
trail, topic, log group, role and alias names, prefixes, ARNs, key references) and the
partitions and regions botocore ships (:mod:`wizard.model.regions`). A generated answers document
is validated with :class:`wizard.model.answers.Answers` itself, so a value the strategies think
valid but the models refuse fails the property that drew it: the strategies double as a
check that every valid name is accepted.

The random-document strategies at the end (:func:`json_values`, :func:`policy_like`) feed the
fuzz tests: arbitrary nesting, unicode, wrong types and near-miss policy shapes.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from wizard.model.answers import EXCLUDABLE_SOURCES, INSIGHT_TYPES, RETENTION_DAYS, Answers
from wizard.model.context import AccountContext
from wizard.model.names import (
    check_alias_name,
    check_bucket_name,
    check_log_group_name,
    check_prefix,
    check_trail_name,
)
from wizard.model.regions import partitions

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
"""The partitions the answers are generated for (commercial, China, GovCloud)."""

_REGIONS: dict[str, list[str]] = {
    p.id: sorted(p.regions) for p in partitions() if p.id in PARTITIONS
}

_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits


# ------------------------------------------------------------------------------ identifiers


def account_ids() -> st.SearchStrategy[str]:
    """12-digit AWS account ids."""
    return st.text(string.digits, min_size=12, max_size=12)


def organization_ids() -> st.SearchStrategy[str]:
    """AWS Organizations ids: ``o-`` and 10 to 32 lowercase letters or digits."""
    return st.text(_LOWER_ALNUM, min_size=10, max_size=32).map(lambda s: f"o-{s}")


def partition_ids() -> st.SearchStrategy[str]:
    """One of :data:`PARTITIONS`."""
    return st.sampled_from(PARTITIONS)


def regions(partition: str) -> st.SearchStrategy[str]:
    """A region of ``partition`` (as botocore knows them)."""
    return st.sampled_from(_REGIONS[partition])


# ----------------------------------------------------------------------------------- names


def _edged(middle: str, edge: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Text of ``min_size``..``max_size`` characters whose first and last come from ``edge``."""
    return st.tuples(
        st.sampled_from(edge),
        st.text(middle, min_size=max(0, min_size - 2), max_size=max_size - 2),
        st.sampled_from(edge),
    ).map("".join)


def bucket_names() -> st.SearchStrategy[str]:
    """General-purpose S3 bucket names (3 to 63 characters), short, dotted and maximal."""
    label = _edged(_LOWER_ALNUM + "-", _LOWER_ALNUM, 1, 20) | st.sampled_from(_LOWER_ALNUM)
    dotted = st.lists(label, min_size=1, max_size=4).map(".".join)
    long = _edged(_LOWER_ALNUM + "-", _LOWER_ALNUM, 50, 63)
    return (dotted | long).filter(lambda name: check_bucket_name(name) is None)


def trail_names() -> st.SearchStrategy[str]:
    """CloudTrail trail names (3 to 128 characters, single separators between letters)."""
    segment = st.text(_ALNUM, min_size=1, max_size=12)
    joined = st.tuples(
        segment, st.lists(st.tuples(st.sampled_from("._-"), segment), max_size=6)
    ).map(lambda t: t[0] + "".join(sep + seg for sep, seg in t[1]))
    long = st.text(_ALNUM, min_size=100, max_size=128)
    return (joined | long).filter(lambda name: check_trail_name(name) is None)


_PREFIX_CHARS = _ALNUM + "!_.*'()-"


def prefixes() -> st.SearchStrategy[str]:
    """S3 key prefixes (normalised: no leading or trailing ``/``), ASCII or unicode letters."""
    ascii_segment = st.text(_PREFIX_CHARS, min_size=1, max_size=20)
    unicode_segment = st.text(
        st.characters(categories=["L", "N"], max_codepoint=0x2FFFF), min_size=1, max_size=8
    )
    segment = ascii_segment | unicode_segment
    path = st.lists(segment, min_size=1, max_size=5).map("/".join)
    return (st.just("") | path).filter(lambda p: p == p.strip("/") and check_prefix(p) is None)


def alias_names() -> st.SearchStrategy[str]:
    """Aliases for a new KMS key: ``alias/NAME``, never the reserved ``alias/aws/``."""
    body = st.text(_ALNUM + ":/_-", min_size=1, max_size=40)
    return body.map(lambda b: f"alias/{b}").filter(lambda a: check_alias_name(a) is None)


def role_names() -> st.SearchStrategy[str]:
    """IAM role names (1 to 64 of letters, digits and ``+=,.@_-``)."""
    return st.text(_ALNUM + "+=,.@_-", min_size=1, max_size=64)


def topic_names() -> st.SearchStrategy[str]:
    """SNS standard topic names."""
    return st.text(_ALNUM + "_-", min_size=1, max_size=256)


def log_group_names() -> st.SearchStrategy[str]:
    """CloudWatch Logs group names (never the reserved ``aws/`` prefix)."""
    return st.text(_ALNUM + "_-/.#", min_size=1, max_size=512).filter(
        lambda g: check_log_group_name(g) is None
    )


def tags() -> st.SearchStrategy[dict[str, str]]:
    """Resource tags AWS accepts (no ``aws:`` keys)."""
    chars = _ALNUM + " _.:/=+-@"
    key = st.text(chars, min_size=1, max_size=40).filter(
        lambda k: k == k.strip() and not k.lower().startswith("aws:")
    )
    value = st.text(chars, max_size=60).filter(lambda v: v == v.strip())
    return st.dictionaries(key, value, max_size=5)


# ------------------------------------------------------------------------------------ ARNs


@st.composite
def principal_arns(draw: st.DrawFn, partition: str) -> str:
    """Decrypt principals: a role, a user (with or without path), an account root or id."""
    account = draw(account_ids())
    kind = draw(st.sampled_from(["role", "user", "root", "account"]))
    if kind == "account":
        return account
    if kind == "root":
        return f"arn:{partition}:iam::{account}:root"
    path = draw(st.sampled_from(["", "service/", "team/security/"]))
    return f"arn:{partition}:iam::{account}:{kind}/{path}{draw(role_names())}"


@st.composite
def existing_key_refs(draw: st.DrawFn, partition: str) -> str:
    """References to an existing KMS key: id, multi-Region id, key ARN, alias, alias ARN."""
    key_id = draw(
        st.uuids().map(str)
        | st.text("0123456789abcdef", min_size=32, max_size=32).map("mrk-".__add__)
    )
    alias = f"alias/{draw(st.text(_ALNUM + ':/_-', min_size=1, max_size=40))}"
    region = draw(regions(partition))
    account = draw(account_ids())
    return draw(
        st.sampled_from(
            [
                key_id,
                alias,
                f"arn:{partition}:kms:{region}:{account}:key/{key_id}",
                f"arn:{partition}:kms:{region}:{account}:{alias}",
            ]
        )
    )


# --------------------------------------------------------------------------------- answers


@st.composite
def _encryption(draw: st.DrawFn, partition: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["sse-s3", "sse-kms-default", "sse-kms-new", "sse-kms-existing"]))
    if kind == "sse-s3":
        return {"type": "sse-s3"}
    section: dict[str, Any] = {"type": "sse-kms"}
    if kind == "sse-kms-existing":
        section["key"] = draw(existing_key_refs(partition))
        section["update_key_policy"] = draw(st.booleans())
        return section
    if kind == "sse-kms-new":
        section["key"] = "new"
    if draw(st.booleans()):
        section["alias"] = draw(alias_names())
    readers = draw(st.lists(principal_arns(partition), max_size=3))
    if readers:
        section["decrypt_principals"] = readers
    section["rotation"] = draw(st.booleans())
    return section


@st.composite
def _events(draw: st.DrawFn, partition: str) -> dict[str, Any]:
    management = draw(st.sampled_from(["all", "read", "write", "none"]))
    section: dict[str, Any] = {"management": management}
    if management != "none":
        section["exclude_sources"] = draw(
            st.lists(st.sampled_from(EXCLUDABLE_SOURCES), unique=True)
        )
    if management in ("all", "write"):
        section["insights"] = draw(st.lists(st.sampled_from(INSIGHT_TYPES), unique=True))
    region = draw(regions(partition))
    account = draw(account_ids())
    resource = st.sampled_from(
        [
            f"arn:{partition}:s3:::{draw(bucket_names())}/",
            f"arn:{partition}:lambda:{region}:{account}:function:{draw(role_names())}",
            f"arn:{partition}:dynamodb:{region}:{account}:table/{draw(topic_names())}",
        ]
    )
    data_event = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["s3", "lambda", "dynamodb"]),
            "resources": st.just("all") | st.lists(resource, min_size=1, max_size=3),
            "read_write": st.sampled_from(["all", "read", "write"]),
        }
    )
    section["data"] = draw(
        st.lists(data_event, min_size=1 if management == "none" else 0, max_size=3)
    )
    return section


@st.composite
def answers_documents(draw: st.DrawFn, partition: str | None = None) -> dict[str, Any]:
    """A valid answers file as a plain document (what YAML or JSON would hold).

    Optional sections and fields are left out at random, so defaults are exercised too.

    Args:
        draw: Hypothesis' draw function.
        partition: Fix the partition; drawn from :data:`PARTITIONS` when None.
    """
    p = partition or draw(partition_ids())
    multi_region = draw(st.booleans())
    trail: dict[str, Any] = {
        "name": draw(trail_names()),
        "multi_region": multi_region,
        "include_global_events": True if multi_region else draw(st.booleans()),
        "log_file_validation": draw(st.booleans()),
        "organization": draw(st.booleans()),
    }
    if draw(st.booleans()):
        trail["region"] = draw(regions(p))
    trail_tags = draw(tags())
    if trail_tags:
        trail["tags"] = trail_tags
    create = draw(st.booleans())
    bucket: dict[str, Any] = {
        "name": draw(bucket_names()),
        "create": create,
        "prefix": draw(prefixes()),
        "update_policy": draw(st.booleans()),
        "versioning": draw(st.booleans()),
    }
    if create and draw(st.booleans()):
        bucket["region"] = draw(regions(p))
    if not create and draw(st.booleans()):
        bucket["account"] = draw(account_ids())
    if "account" not in bucket and draw(st.booleans()):
        bucket["access_logs"] = {
            "bucket": draw(bucket_names().filter(lambda n: n != bucket["name"])),
            "prefix": draw(st.sampled_from(["", "access-logs/", "s3/cloudtrail", "a/b/c/"])),
            "create": draw(st.booleans()),
        }
    doc: dict[str, Any] = {"trail": trail, "bucket": bucket}
    if draw(st.booleans()):
        doc["encryption"] = draw(_encryption(p))
    if draw(st.booleans()):
        topic_name = draw(topic_names())
        region = draw(regions(p))
        doc["notifications"] = {
            "sns_topic": draw(
                st.sampled_from(
                    [topic_name, f"arn:{p}:sns:{region}:{draw(account_ids())}:{topic_name}"]
                )
            )
        }
    if draw(st.booleans()):
        logs: dict[str, Any] = {
            "log_group": draw(log_group_names()),
            "retention_days": draw(st.sampled_from(RETENTION_DAYS)),
        }
        role_account = draw(account_ids())
        role = draw(
            st.none()
            | role_names()
            | role_names().map(lambda r: f"arn:{p}:iam::{role_account}:role/{r}")
        )
        if role is not None:
            logs["role"] = role
        doc["cloudwatch_logs"] = logs
    if draw(st.booleans()):
        doc["events"] = draw(_events(p))
    return doc


@dataclass(frozen=True)
class Setup:
    """Valid answers and the account they are built for."""

    answers: Answers
    """The validated answers."""
    ctx: AccountContext
    """Account, partition, session region and organization."""
    document: dict[str, Any]
    """The answers as the plain document they were validated from."""


@st.composite
def account_contexts(
    draw: st.DrawFn, partition: str, *, organization: bool = False
) -> AccountContext:
    """An account context in ``partition``; organization trails get an organization id."""
    account = draw(account_ids())
    caller = draw(
        st.none()
        | role_names().map(lambda n: f"arn:{partition}:iam::{account}:user/{n}")
        | role_names().map(lambda n: f"arn:{partition}:sts::{account}:assumed-role/{n}/session")
    )
    return AccountContext(
        account_id=account,
        partition=partition,
        region=draw(regions(partition)),
        organization_id=draw(organization_ids())
        if organization
        else draw(st.none() | organization_ids()),
        management_account_id=(
            draw(st.none() | st.just(account) | account_ids()) if organization else None
        ),
        caller_arn=caller,
    )


@st.composite
def setups(draw: st.DrawFn) -> Setup:
    """Valid answers (validated by :class:`Answers`) with a matching account context."""
    partition = draw(partition_ids())
    document = draw(answers_documents(partition))
    answers = Answers.model_validate(document)
    ctx = draw(account_contexts(partition, organization=answers.trail.organization))
    return Setup(answers=answers, ctx=ctx, document=document)


# ------------------------------------------------------------------------ random documents


def _known_fields() -> dict[str, list[str]]:
    known: dict[str, list[str]] = {}
    for name, info in Answers.model_fields.items():
        section = info.annotation
        is_model = isinstance(section, type) and issubclass(section, BaseModel)
        known[name] = list(section.model_fields) if is_model else []  # type: ignore[union-attr]
    return known


KNOWN_FIELDS = _known_fields()
"""Each section of the answers file mapped to its field names (for near-miss documents)."""


def scalars() -> st.SearchStrategy[Any]:
    """JSON/YAML scalars: None, booleans, integers (big ones too), floats, unicode text."""
    return (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=40)
        | st.sampled_from(["all", "new", "sse-kms", "sse-s3", "", " ", "null", "yes", "~"])
    )


def json_values(max_leaves: int = 30) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like values: nested dicts and lists of :func:`scalars`."""
    return st.recursive(
        scalars(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


@st.composite
def near_miss_answers(draw: st.DrawFn) -> dict[str, Any]:
    """An answers document with known sections and fields holding random or wrong values.

    Mixes a valid document with random replacements, unknown fields and wrong types so the
    fuzzer reaches the validators, not only the "not a mapping" branch.
    """
    doc: dict[str, Any] = draw(answers_documents()) if draw(st.booleans()) else {}
    for _ in range(draw(st.integers(0, 4))):
        section = draw(st.sampled_from([*KNOWN_FIELDS, draw(st.text(max_size=8))]))
        fields: list[str] = KNOWN_FIELDS.get(section, [])
        nested = bool(fields) and draw(st.booleans())
        if nested:
            current = doc.get(section)
            body = dict(current) if isinstance(current, dict) else {}
            body[draw(st.sampled_from([*fields, draw(st.text(max_size=8))]))] = draw(json_values(8))
            doc[section] = body
        else:
            doc[section] = draw(json_values(8))
    return doc


_POLICY_KEYS = ["Version", "Id", "Statement"]
_STATEMENT_KEYS = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
]
_OPERATORS = [
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "ArnEquals",
    "ArnLike",
    "ArnNotLike",
    "Bool",
    "Null",
    "NumericLessThan",
    "NumericGreaterThanEquals",
    "DateGreaterThan",
    "DateLessThan",
    "IpAddress",
    "NotIpAddress",
    "BinaryEquals",
    "StringEqualsIfExists",
    "ForAllValues:StringLike",
    "ForAnyValue:StringEquals",
    "ForAnyValue:ArnLike",
    "NoSuchOperator",
]
_CONDITION_KEYS = [
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:SecureTransport",
    "aws:username",
    "aws:CurrentTime",
    "aws:SourceIp",
    "kms:CallerAccount",
    "kms:EncryptionContext:aws:cloudtrail:arn",
    "s3:x-amz-acl",
    "aws:PrincipalTag/team",
]
_PATTERNS = [
    "*",
    "?",
    "s3:*",
    "s3:Get*",
    "kms:GenerateDataKey*",
    "arn:aws:s3:::bucket",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::${aws:username}/*",
    "arn:aws:s3:::${aws:username, 'none'}/*",
    "${*}${?}${$}",
    "${",
    "arn:aws:iam::123456789012:root",
    "arn:aws:iam::123456789012:role/Reader",
    "arn:aws:sts::123456789012:assumed-role/Reader/s",
    "123456789012",
    "cloudtrail.amazonaws.com",
    "arn:aws:cloudtrail:*:123456789012:trail/*",
    "10.0.0.0/8",
    "::1/128",
    "2024-01-01T00:00:00Z",
    "1700000000",
    "true",
    "false",
    "aGVsbG8=",
    "-1e309",
]


def _policy_strings() -> st.SearchStrategy[str]:
    return st.sampled_from(_PATTERNS) | st.text(max_size=30)


def _string_or_list() -> st.SearchStrategy[Any]:
    return _policy_strings() | st.lists(_policy_strings(), max_size=3) | scalars()


_PRINCIPAL_VALUES = [
    "*",
    "123456789012",
    "arn:aws:iam::123456789012:root",
    "arn:aws:iam::123456789012:role/Reader",
    "arn:aws:iam::123456789012:role/path/Reader",
    "arn:aws:iam::999999999999:user/u",
    "arn:aws-cn:iam::123456789012:root",
]
_ACTIONS = ["*", "s3:*", "s3:GetObject", "s3:Put*", "S3:getobject", "kms:*", "kms:Decrypt", "?3:*"]
_RESOURCES = [
    "*",
    "arn:aws:s3:::bucket",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::b?cket/x",
    "arn:aws:s3:::${aws:username}/*",
    "arn:aws:s3:::${aws:username, 'nobody'}/*",
    "arn:aws:s3:::${*}${?}${$}",
    "arn:aws:s3:::${broken",
    "arn:aws:kms:us-east-1:123456789012:key/*",
]


def _one_or_many(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return values | st.lists(values, min_size=1, max_size=3)


def _condition_blocks(noisy: bool) -> st.SearchStrategy[Any]:
    value = st.sampled_from(_PATTERNS) | st.booleans() | st.integers(-5, 10**12)
    if noisy:
        value = value | scalars() | st.text(max_size=20)
    operator = st.sampled_from(_OPERATORS)
    key = st.sampled_from(_CONDITION_KEYS)
    if noisy:
        operator = operator | st.text(max_size=10)
        key = key | st.text(max_size=10)
    return st.dictionaries(
        operator, st.dictionaries(key, _one_or_many(value), min_size=1, max_size=3), max_size=3
    )


@st.composite
def statements(draw: st.DrawFn, noisy: bool = False) -> Any:
    """A policy statement: well-formed by default, with wrong types and junk when noisy."""
    if noisy and draw(st.integers(0, 9)) == 0:
        return draw(json_values(6))
    statement: dict[str, Any] = {}
    if draw(st.booleans()):
        statement["Sid"] = draw(
            st.text(_ALNUM, max_size=10) | (scalars() if noisy else st.just("S"))
        )
    effects = ["Allow", "Deny"] + (["allow", "", "Maybe"] if noisy else [])
    if not noisy or draw(st.integers(0, 9)):
        statement["Effect"] = draw(st.sampled_from(effects))
    principal: st.SearchStrategy[Any] = st.just("*") | st.fixed_dictionaries(
        {},
        optional={
            "AWS": _one_or_many(st.sampled_from(_PRINCIPAL_VALUES)),
            "Service": _one_or_many(st.sampled_from(["cloudtrail.amazonaws.com", "*"])),
            "Federated": st.just("cognito-identity.amazonaws.com"),
            "CanonicalUser": st.just("79a59df900b949e55d96a1e698fbaced"),
        },
    )
    if noisy:
        principal = principal | json_values(4)
    pairs: list[tuple[str, st.SearchStrategy[Any]]] = [
        ("Principal", principal),
        ("Action", _one_or_many(st.sampled_from(_ACTIONS))),
        ("Resource", _one_or_many(st.sampled_from(_RESOURCES))),
    ]
    for name, values in pairs:
        if noisy and draw(st.integers(0, 9)) == 0:
            continue  # missing element
        negated = draw(st.integers(0, 4)) == 0
        statement[f"Not{name}" if negated else name] = draw(
            values | json_values(4) if noisy else values
        )
    if draw(st.booleans()):
        statement["Condition"] = draw(_condition_blocks(noisy))
    if noisy and draw(st.integers(0, 9)) == 0:
        statement[draw(st.text(max_size=8))] = draw(json_values(4))
    return statement


@st.composite
def policy_like(draw: st.DrawFn) -> Any:
    """A random policy document: mostly well-formed, sometimes noisy, now and then any JSON."""
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values())
    noisy = draw(st.integers(0, 3)) == 0
    doc: dict[str, Any] = {}
    versions = st.sampled_from(["2012-10-17", "2008-10-17"])
    if not noisy or draw(st.integers(0, 5)):
        doc["Version"] = draw(versions | scalars() if noisy else versions)
    if draw(st.booleans()):
        doc["Id"] = draw(st.text(max_size=10))
    if not noisy or draw(st.integers(0, 9)):
        many = st.lists(statements(noisy), max_size=5)
        doc["Statement"] = draw(many | statements(noisy))
    if noisy and draw(st.integers(0, 9)) == 0:
        doc[draw(st.text(max_size=8))] = draw(json_values(4))
    return doc


@st.composite
def requests(draw: st.DrawFn) -> Any:
    """A valid :class:`wizard.policy.access.Request` with a random principal, action and context."""
    from wizard.policy.access import Principal, Request

    principal = draw(
        st.sampled_from(
            [
                Principal.service("cloudtrail.amazonaws.com"),
                Principal.aws("arn:aws:iam::123456789012:root"),
                Principal.aws("arn:aws:iam::123456789012:role/Reader"),
                Principal.aws("arn:aws:sts::123456789012:assumed-role/Reader/session"),
                Principal.aws("arn:aws:iam::999999999999:user/u"),
                Principal.anonymous(),
            ]
        )
    )
    value: st.SearchStrategy[Any] = (
        st.none()
        | st.booleans()
        | st.integers(-(10**6), 10**12)
        | st.sampled_from(_PATTERNS)
        | st.text(max_size=20)
        | st.lists(st.sampled_from(_PATTERNS) | st.text(max_size=10), max_size=3)
    )
    keys = st.sampled_from(_CONDITION_KEYS) | st.text(max_size=10)
    context = draw(st.dictionaries(keys, value, max_size=5))
    # Request refuses keys that differ only in case; keep the first spelling.
    unique: dict[str, Any] = {}
    for key, item in context.items():
        if key.lower() not in {k.lower() for k in unique}:
            unique[key] = item
    return Request(
        principal=principal,
        action=draw(
            st.sampled_from(["s3:GetObject", "s3:PutObject", "kms:Decrypt"]) | st.text(max_size=15)
        ),
        resource=draw(
            st.sampled_from(
                [
                    "arn:aws:s3:::bucket",
                    "arn:aws:s3:::bucket/x",
                    "arn:aws:s3:::bob/x",
                    "arn:aws:kms:us-east-1:123456789012:key/k",
                ]
            )
            | st.text(max_size=20)
        ),
        context=unique,
    )
