"""Tests for wizard.policy.merge: required statements are merged in, nothing existing is ever
lost."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wizard.policy import merge as merge_module
from wizard.policy.merge import (
    MergeResult,
    PolicyError,
    merge,
    parse_policy,
    render_policy,
    statement_present,
)

BUCKET = "arn:aws:s3:::acme-trail-logs"
TRAIL_ARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/acme-trail"

DENY_TLS: dict[str, Any] = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [BUCKET, f"{BUCKET}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
REPLICATION: dict[str, Any] = {
    "Sid": "ReplicationRole",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:role/s3-replication"},
    "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
    "Resource": f"{BUCKET}/*",
}
ACL_CHECK: dict[str, Any] = {
    "Sid": "AWSCloudTrailAclCheck",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "s3:GetBucketAcl",
    "Resource": BUCKET,
    "Condition": {"StringEquals": {"aws:SourceArn": TRAIL_ARN}},
}
WRITE: dict[str, Any] = {
    "Sid": "AWSCloudTrailWrite",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "s3:PutObject",
    "Resource": f"{BUCKET}/AWSLogs/123456789012/*",
    "Condition": {
        "StringEquals": {
            "s3:x-amz-acl": "bucket-owner-full-control",
            "aws:SourceArn": TRAIL_ARN,
        }
    },
}
REQUIRED: dict[str, Any] = {"Version": "2012-10-17", "Statement": [ACL_CHECK, WRITE]}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    """A policy document holding ``statements``."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def statements_of(document: dict[str, Any]) -> list[Any]:
    """The statements of a parsed document, a single object as a one-element list."""
    raw = document["Statement"]
    return [raw] if isinstance(raw, dict) else list(raw)


def same_ignoring_sid(left: dict[str, Any], right: dict[str, Any]) -> bool:
    """Exact equality of two statements apart from their Sid."""
    return {k: v for k, v in left.items() if k != "Sid"} == {
        k: v for k, v in right.items() if k != "Sid"
    }


PRETTY = json.dumps(policy(DENY_TLS, REPLICATION), indent=2) + "\n"
MINIFIED = json.dumps(policy(DENY_TLS, REPLICATION), separators=(",", ":"))


# --------------------------------------------------------------------------------------
# Rule 1: existing statements are kept byte-for-byte; the text is spliced, not rewritten
# --------------------------------------------------------------------------------------


def test_pretty_policy_keeps_every_existing_byte_and_appends_cloudtrail_statements() -> None:
    result = merge(PRETTY, REQUIRED)

    last_close = PRETTY.rindex("}\n  ]") + 1  # end of the replication statement
    assert result.text.startswith(PRETTY[:last_close])
    assert result.text.endswith(PRETTY[last_close:])
    assert statements_of(result.document) == [DENY_TLS, REPLICATION, ACL_CHECK, WRITE]
    assert [s["Sid"] for s in result.added] == ["AWSCloudTrailAclCheck", "AWSCloudTrailWrite"]
    assert result.changed
    assert result.already_present == []
    assert result.renamed == {}


def test_pretty_policy_new_statements_are_indented_like_the_first_statement() -> None:
    existing = json.dumps(policy(DENY_TLS), indent=4)

    result = merge(existing, REQUIRED)

    lines = result.text.splitlines()
    acl_open = lines.index('            "Sid": "AWSCloudTrailAclCheck",') - 1
    assert lines[acl_open] == "        {"
    assert '                "Service": "cloudtrail.amazonaws.com"' in lines
    assert lines[-2:] == ["    ]", "}"]


def test_minified_policy_gets_minified_statements() -> None:
    result = merge(MINIFIED, REQUIRED)

    assert "\n" not in result.text
    insert_at = len(MINIFIED) - 2  # before "]}"
    assert result.text.startswith(MINIFIED[:insert_at] + ',{"Sid":"AWSCloudTrailAclCheck"')
    assert result.text.endswith("}]}")
    assert statements_of(json.loads(result.text)) == [DENY_TLS, REPLICATION, ACL_CHECK, WRITE]


def test_default_json_dumps_spacing_is_matched() -> None:
    existing = json.dumps(policy(DENY_TLS))

    result = merge(existing, REQUIRED)

    assert result.text.startswith(existing[:-2] + ', {"Sid": "AWSCloudTrailAclCheck", ')
    assert json.loads(result.text)["Statement"][1:] == [ACL_CHECK, WRITE]


def test_single_object_statement_is_wrapped_in_an_array_keeping_its_text() -> None:
    existing = json.dumps({"Version": "2012-10-17", "Statement": DENY_TLS}, indent=2)
    original_object = json.dumps(DENY_TLS, indent=2).replace("\n", "\n  ")

    result = merge(existing, REQUIRED)

    assert original_object in existing
    assert f'"Statement": [{original_object}, {{' in result.text
    assert result.text.endswith("}]\n}")
    assert statements_of(result.document) == [DENY_TLS, ACL_CHECK, WRITE]


def test_minified_single_object_statement_is_wrapped() -> None:
    existing = json.dumps({"Statement": REPLICATION}, separators=(",", ":"))
    original_object = json.dumps(REPLICATION, separators=(",", ":"))

    result = merge(existing, REQUIRED)

    assert result.text.startswith('{"Statement":[' + original_object + ',{"Sid":')
    assert result.document["Statement"] == [REPLICATION, ACL_CHECK, WRITE]


@pytest.mark.parametrize(
    "existing",
    [
        '{"Version": "2012-10-17", "Statement": []}',
        '{\n  "Version": "2012-10-17",\n  "Statement": []\n}',
        '{"Statement":[ ]}',
    ],
)
def test_empty_statement_array_is_filled(existing: str) -> None:
    result = merge(existing, REQUIRED)

    assert result.document["Statement"] == [ACL_CHECK, WRITE]
    assert ("\n" in result.text) == ("\n" in existing)
    assert merge(result.text, REQUIRED).text == result.text


def test_statements_on_one_line_each_in_a_multiline_array_stay_one_line() -> None:
    existing = (
        '{\n  "Version": "2012-10-17",\n  "Statement": [\n'
        f"    {json.dumps(DENY_TLS)},\n    {json.dumps(REPLICATION)}\n  ]\n}}\n"
    )

    result = merge(existing, REQUIRED)

    lines = result.text.splitlines()
    assert lines[3] == f"    {json.dumps(DENY_TLS)},"
    assert lines[4] == f"    {json.dumps(REPLICATION)},"
    assert lines[5].startswith('    {"Sid": "AWSCloudTrailAclCheck", ')
    assert lines[6].startswith('    {"Sid": "AWSCloudTrailWrite", ')
    assert lines[7:] == ["  ]", "}"]


def test_tab_indentation_and_crlf_line_endings_are_followed() -> None:
    existing = json.dumps(policy(DENY_TLS), indent="\t").replace("\n", "\r\n") + "\r\n"

    result = merge(existing, REQUIRED)

    assert result.text.startswith(existing[: existing.rindex("}\r\n\t]") + 1])
    assert "\n" not in result.text.replace("\r\n", "")
    assert '\r\n\t\t\t"Sid": "AWSCloudTrailAclCheck",' in result.text
    assert result.text.endswith("\r\n\t]\r\n}\r\n")
    assert statements_of(json.loads(result.text)) == [DENY_TLS, ACL_CHECK, WRITE]


def test_unicode_and_escapes_in_existing_text_are_kept_verbatim() -> None:
    existing = (
        '{\n  "Version": "2012-10-17",\n  "Id": "Richtlinie f\\u00fcr \u00dcberwachung \U0001f512",'
        '\n  "Statement": [\n    {\n      "Sid": "DenyOutsideEU",\n      "Effect": "Deny",\n'
        '      "Principal": "*",\n      "Action": "s3:*",\n'
        '      "Resource": "arn:aws:s3:::d\u00e9j\u00e0",\n      "Condition": {"StringNotEquals":'
        ' {"aws:RequestedRegion": "eu-\\u0063entral-1"}}\n    }\n  ]\n}'
    )

    result = merge(existing, REQUIRED)

    assert "f\\u00fcr \u00dcberwachung \U0001f512" in result.text
    assert '"eu-\\u0063entral-1"' in result.text
    assert result.document["Id"] == "Richtlinie f\u00fcr \u00dcberwachung \U0001f512"
    assert result.text.startswith(existing[: existing.rindex("}\n  ]") + 1] + ",\n    {")


def test_brackets_quotes_and_escapes_inside_strings_do_not_confuse_the_splice() -> None:
    tricky = {
        "Sid": "Tricky",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject",
        "Resource": 'arn:aws:s3:::b/]}"Statement": [{\\"x\\"}]/*',
        "Condition": {"StringLike": {"s3:prefix": ["[", "]", "{", "}", '"', "\\", "\\]"]}},
    }
    existing = json.dumps(
        {
            "Id": 'decoy "Statement": [] and ]} and \\" too',
            "Statement": [tricky],
            "Comment": '"Statement": [{"Effect": "Allow"}]',
        },
        indent=2,
    )

    result = merge(existing, REQUIRED)

    assert result.document["Id"] == 'decoy "Statement": [] and ]} and \\" too'
    assert result.document["Comment"] == '"Statement": [{"Effect": "Allow"}]'
    assert result.document["Statement"] == [tricky, ACL_CHECK, WRITE]
    tricky_text = json.dumps(tricky, indent=2).replace("\n", "\n    ")
    assert tricky_text in existing
    assert tricky_text in result.text


def test_statement_key_spelled_with_an_escape_is_still_found() -> None:
    existing = '{"\\u0053tatement": [' + json.dumps(DENY_TLS) + "]}"

    result = merge(existing, REQUIRED)

    assert result.text.startswith(existing[:-2] + ", {")
    assert result.document["Statement"] == [DENY_TLS, ACL_CHECK, WRITE]


def test_unknown_top_level_keys_are_kept_in_place() -> None:
    existing = (
        '{"Statement": [' + json.dumps(REPLICATION) + '], "Id": "bucket-policy-1", '
        '"x-owner": {"team": "storage", "tags": ["a]", "b}"]}}'
    )

    result = merge(existing, REQUIRED)

    tail = '], "Id": "bucket-policy-1", "x-owner": {"team": "storage", "tags": ["a]", "b}"]}}'
    assert result.text.endswith(tail)
    assert result.document["x-owner"] == {"team": "storage", "tags": ["a]", "b}"]}


def test_merge_handles_leading_and_trailing_whitespace_around_the_document() -> None:
    existing = "\n\t  " + json.dumps(policy(DENY_TLS)) + "  \n\n"

    result = merge(existing, REQUIRED)

    assert result.text.startswith("\n\t  {")
    assert result.text.endswith("]}  \n\n")
    assert result.document["Statement"][0] == DENY_TLS


# --------------------------------------------------------------------------------------
# Rule 1 (continued): nothing to add -> the text is returned untouched
# --------------------------------------------------------------------------------------


def test_nothing_to_add_returns_existing_text_unchanged() -> None:
    existing = "  " + json.dumps(policy(WRITE, DENY_TLS, ACL_CHECK), indent=3) + "\n\n"

    result = merge(existing, REQUIRED)

    assert result.text == existing
    assert not result.changed
    assert result.diff == ""
    assert result.added == []
    assert result.already_present == ["AWSCloudTrailAclCheck", "AWSCloudTrailWrite"]


def test_nothing_to_add_keeps_a_single_object_statement_unwrapped() -> None:
    existing = json.dumps({"Statement": ACL_CHECK})

    result = merge(existing, policy(ACL_CHECK))

    assert result.text == existing
    assert isinstance(result.document["Statement"], dict)


def test_diff_only_adds_lines_and_every_original_line_survives() -> None:
    result = merge(PRETTY, REQUIRED)

    diff_lines = result.diff.splitlines()
    assert diff_lines[:2] == ["--- current", "+++ merged"]
    removed = [line[1:] for line in diff_lines[2:] if line.startswith("-")]
    added = [line[1:] for line in diff_lines[2:] if line.startswith("+")]
    # at most the last statement's closing brace is "removed" (it gains a comma)
    assert removed in ([], ["    }"])
    assert "    }," in added
    assert len(added) - len(removed) == len(result.text.splitlines()) - len(PRETTY.splitlines())
    assert '      "Sid": "AWSCloudTrailWrite",' in added
    merged_lines = result.text.splitlines()
    for line in PRETTY.splitlines():
        assert line in merged_lines or line + "," in merged_lines


def test_diff_for_a_minified_policy_replaces_its_single_line() -> None:
    result = merge(MINIFIED, REQUIRED)

    assert f"-{MINIFIED}" in result.diff.splitlines()
    assert f"+{result.text}" in result.diff.splitlines()


# --------------------------------------------------------------------------------------
# Rule 2: no policy yet
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("existing", [None, "", "   \n\t "])
def test_no_existing_policy_renders_a_new_one(existing: str | None) -> None:
    result = merge(existing, REQUIRED)

    assert result.text == render_policy(policy(ACL_CHECK, WRITE))
    assert result.document == policy(ACL_CHECK, WRITE)
    assert result.changed
    body = result.diff.splitlines()[3:]
    assert [line for line in body if line.startswith("+")] == [
        "+" + line for line in result.text.splitlines()
    ]
    assert all(line.startswith("+") or not line[1:].strip() for line in body)
    assert merge(result.text, REQUIRED).changed is False


# --------------------------------------------------------------------------------------
# Rule 3: statements already granted are not added again
# --------------------------------------------------------------------------------------


def test_equivalent_statement_under_another_sid_is_already_present() -> None:
    existing = json.dumps(policy(DENY_TLS, {**ACL_CHECK, "Sid": "LegacyCloudTrailAcl"}), indent=2)

    result = merge(existing, REQUIRED)

    assert result.already_present == ["AWSCloudTrailAclCheck"]
    assert [s["Sid"] for s in result.added] == ["AWSCloudTrailWrite"]
    assert len(result.document["Statement"]) == 3


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param({**WRITE, "Action": ["S3:PUTOBJECT"]}, id="action-case-and-list"),
        pytest.param({**WRITE, "Resource": [WRITE["Resource"]]}, id="resource-list"),
        pytest.param(
            {**WRITE, "Principal": {"Service": ["cloudtrail.amazonaws.com"]}}, id="principal-list"
        ),
        pytest.param(
            {
                **WRITE,
                "Condition": {
                    "StringEquals": {
                        "aws:SourceArn": [TRAIL_ARN],
                        "s3:x-amz-acl": ["bucket-owner-full-control"],
                    }
                },
            },
            id="condition-order-and-lists",
        ),
        pytest.param(
            {
                **WRITE,
                "Condition": {
                    "StringEquals": {
                        "AWS:SourceArn": TRAIL_ARN,
                        "S3:X-Amz-Acl": "bucket-owner-full-control",
                    }
                },
            },
            id="condition-key-case",
        ),
        pytest.param({k: v for k, v in WRITE.items() if k != "Sid"}, id="no-sid"),
        pytest.param(dict(reversed(list(WRITE.items()))), id="key-order"),
    ],
)
def test_equivalent_forms_count_as_present(variant: dict[str, Any]) -> None:
    existing = json.dumps(policy(DENY_TLS, variant))

    result = merge(existing, policy(WRITE))

    assert statement_present(WRITE, [variant])
    assert result.text == existing
    assert result.already_present == ["AWSCloudTrailWrite"]


def test_superset_allow_statement_counts_as_present() -> None:
    broad = {
        "Sid": "CloudTrailAll",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": ["s3:GetBucketAcl", "s3:PutObject", "s3:ListBucket"],
        "Resource": [BUCKET, f"{BUCKET}/AWSLogs/123456789012/*"],
        "Condition": {"StringEquals": {"aws:SourceArn": TRAIL_ARN}},
    }
    existing = json.dumps(policy(broad), indent=2)

    result = merge(existing, REQUIRED)

    assert result.already_present == ["AWSCloudTrailAclCheck", "AWSCloudTrailWrite"]
    assert not result.changed


def test_superset_without_conditions_covers_a_conditioned_requirement() -> None:
    broad = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": ["s3:GetBucketAcl", "s3:PutObject"],
        "Resource": [BUCKET, f"{BUCKET}/AWSLogs/123456789012/*"],
    }

    assert statement_present(WRITE, [broad])
    assert statement_present(ACL_CHECK, [broad])


@pytest.mark.parametrize(
    "existing_statement",
    [
        pytest.param({**WRITE, "Action": "s3:*"}, id="wildcard-action-is-not-expanded"),
        pytest.param({**WRITE, "Resource": f"{BUCKET}/*"}, id="wildcard-resource-not-expanded"),
        pytest.param(
            {**WRITE, "Principal": {"Service": ["cloudtrail.amazonaws.com", "s3.amazonaws.com"]}},
            id="different-principal-set",
        ),
        pytest.param({**WRITE, "Principal": "*"}, id="star-principal"),
        pytest.param(
            {
                **WRITE,
                "Condition": {
                    "StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceArn": TRAIL_ARN,
                        "aws:SourceAccount": "123456789012",
                    }
                },
            },
            id="existing-has-extra-condition",
        ),
        pytest.param(
            {
                **WRITE,
                "Condition": {
                    "StringEquals": {
                        "s3:x-amz-acl": ["bucket-owner-full-control", "private"],
                        "aws:SourceArn": TRAIL_ARN,
                    }
                },
            },
            id="condition-values-differ",
        ),
        pytest.param(
            {**WRITE, "Condition": {"StringLike": WRITE["Condition"]["StringEquals"]}},
            id="condition-operator-differs",
        ),
        pytest.param({**WRITE, "Effect": "Deny"}, id="deny-is-not-a-grant"),
        pytest.param(
            {k: v for k, v in WRITE.items() if k != "Action"} | {"NotAction": "s3:DeleteObject"},
            id="not-action",
        ),
        pytest.param({**WRITE, "Resource": WRITE["Resource"].upper()}, id="resource-case"),
        pytest.param({**WRITE, "Action": "s3:GetBucketAcl"}, id="other-action"),
        pytest.param({**WRITE, "Resource": BUCKET}, id="other-resource"),
    ],
)
def test_conservative_superset_rule_adds_when_in_doubt(existing_statement: dict[str, Any]) -> None:
    existing = json.dumps(policy(existing_statement))

    result = merge(existing, policy(WRITE))

    assert not statement_present(WRITE, [existing_statement])
    assert result.already_present == []
    assert len(result.added) == 1
    assert same_ignoring_sid(result.added[0], WRITE)


def test_partial_overlap_of_actions_or_resources_is_not_a_superset() -> None:
    both = {**WRITE, "Action": ["s3:PutObject", "s3:PutObjectAcl"]}
    two_places = {**WRITE, "Resource": [WRITE["Resource"], f"{BUCKET}/other/*"]}

    assert statement_present(WRITE, [both])
    assert not statement_present(both, [WRITE])
    assert statement_present(WRITE, [two_places])
    assert not statement_present(two_places, [WRITE])


def test_deny_superset_does_not_count_but_identical_deny_does() -> None:
    wider_deny = {**DENY_TLS, "Resource": [BUCKET, f"{BUCKET}/*", "arn:aws:s3:::other"]}

    assert not statement_present(DENY_TLS, [wider_deny])
    assert statement_present(DENY_TLS, [{**DENY_TLS, "Sid": "Other"}])


def test_empty_condition_equals_no_condition() -> None:
    plain = {k: v for k, v in REPLICATION.items() if k != "Sid"}

    assert statement_present({**plain, "Condition": {}}, [plain])
    assert statement_present(plain, [{**plain, "Condition": {}}])


def test_statement_present_with_no_statements_is_false() -> None:
    assert not statement_present(ACL_CHECK, [])


def test_already_present_names_statements_without_sid_by_position() -> None:
    no_sid = {k: v for k, v in REPLICATION.items() if k != "Sid"}
    existing = json.dumps(policy(REPLICATION))

    result = merge(existing, policy(ACL_CHECK, no_sid))

    assert result.already_present == ["statement #2"]
    assert [s["Sid"] for s in result.added] == ["AWSCloudTrailAclCheck"]


# --------------------------------------------------------------------------------------
# Rule 4: Sid clashes get a new, alphanumeric Sid and never replace anything
# --------------------------------------------------------------------------------------


def test_sid_clash_with_different_content_gets_a_new_sid() -> None:
    squatter = {**REPLICATION, "Sid": "AWSCloudTrailWrite"}
    existing = json.dumps(policy(DENY_TLS, squatter), indent=2)

    result = merge(existing, REQUIRED)

    assert result.renamed == {"AWSCloudTrailWrite": "AWSCloudTrailWrite2"}
    statements = result.document["Statement"]
    assert statements[:2] == [DENY_TLS, squatter]
    assert statements[3] == {**WRITE, "Sid": "AWSCloudTrailWrite2"}
    assert result.added[1]["Sid"] == "AWSCloudTrailWrite2"


def test_new_sid_skips_every_sid_already_taken() -> None:
    existing = json.dumps(
        policy(
            {**REPLICATION, "Sid": "AWSCloudTrailWrite"},
            {**DENY_TLS, "Sid": "AWSCloudTrailWrite2"},
            {**REPLICATION, "Sid": "AWSCloudTrailWrite3", "Resource": "arn:aws:s3:::x/*"},
        )
    )

    result = merge(existing, policy(WRITE))

    new_sid = result.renamed["AWSCloudTrailWrite"]
    assert new_sid == "AWSCloudTrailWrite4"
    assert re.fullmatch(r"[A-Za-z0-9]+", new_sid)
    sids = [s.get("Sid") for s in result.document["Statement"]]
    assert sids == [
        "AWSCloudTrailWrite",
        "AWSCloudTrailWrite2",
        "AWSCloudTrailWrite3",
        "AWSCloudTrailWrite4",
    ]


def test_same_sid_and_same_content_is_not_a_clash() -> None:
    existing = json.dumps(policy(WRITE))

    result = merge(existing, policy(WRITE))

    assert result.renamed == {}
    assert result.already_present == ["AWSCloudTrailWrite"]


def test_two_different_required_statements_with_one_sid_are_both_added() -> None:
    other = {**ACL_CHECK, "Sid": "AWSCloudTrailWrite"}

    result = merge(json.dumps(policy(DENY_TLS)), policy(WRITE, other))

    assert [s["Sid"] for s in result.added] == ["AWSCloudTrailWrite", "AWSCloudTrailWrite2"]
    assert result.renamed == {"AWSCloudTrailWrite": "AWSCloudTrailWrite2"}


# --------------------------------------------------------------------------------------
# Rules 5 and 6: idempotence, duplicates within the required statements
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "existing",
    [
        None,
        PRETTY,
        MINIFIED,
        json.dumps({"Statement": DENY_TLS}, indent=4),
        json.dumps(policy({**REPLICATION, "Sid": "AWSCloudTrailAclCheck"})),
        '{"Statement": []}',
    ],
)
def test_merging_twice_equals_merging_once(existing: str | None) -> None:
    once = merge(existing, REQUIRED)
    twice = merge(once.text, REQUIRED)

    assert once.changed
    assert twice.text == once.text
    assert not twice.changed
    assert twice.added == []
    assert twice.diff == ""


def test_duplicated_required_statements_are_added_once() -> None:
    twin = {**WRITE, "Sid": "AWSCloudTrailWriteAgain", "Action": ["s3:putobject"]}

    result = merge(PRETTY, policy(WRITE, ACL_CHECK, WRITE, twin, ACL_CHECK))

    assert [s["Sid"] for s in result.added] == ["AWSCloudTrailWrite", "AWSCloudTrailAclCheck"]
    assert len(result.document["Statement"]) == 4
    assert result.renamed == {}


def test_required_statement_covered_by_an_earlier_required_one_is_not_added() -> None:
    broad = {**WRITE, "Sid": "Broad", "Action": ["s3:PutObject", "s3:GetBucketAcl"]}
    narrow = {k: v for k, v in WRITE.items() if k != "Sid"}

    result = merge(None, policy(broad, narrow))

    assert result.document["Statement"] == [broad]


# --------------------------------------------------------------------------------------
# Rules 7 and 8: invalid input is refused, never replaced; a missing Version stays missing
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('{\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}', ["not valid JSON", "line 3"]),
        ('{"Statement": [}', ["not valid JSON", "line 1, column 16"]),
        ("[]", ["is an array", "expected a JSON object"]),
        ('"policy"', ["is a string"]),
        ("42", ["is a number"]),
        ("null", ["is null"]),
        ('{"Version": "2012-10-17"}', ['no "Statement"']),
        ('{"Statement": "s3:*"}', ['"Statement" that is a string', "object or a list"]),
        ('{"Statement": 7}', ['"Statement" that is a number']),
        (
            '{"Statement": [{"Effect": "Allow"}, {"Effect": "Deny"}, "s3:GetObject"]}',
            ["Statement #3 is a string, expected an object"],
        ),
        ('{"Statement": [{"Effect": "Allow"}, null]}', ["Statement #2 is null"]),
        ('{"Statement": [{"Sid": "NoEffect", "Action": "s3:*"}]}', ['(Sid "NoEffect") has no']),
        ('{"Statement": {"Effect": "allow"}}', ['"Effect": "allow"', '"Allow" or "Deny"']),
        ('{"Statement": [{"Sid": 1, "Effect": "Allow"}]}', ['"Sid" that is a number']),
        ('{"Statement": [], "Statement": []}', ['key "Statement" twice']),
        ('{"Statement": [{"Effect": "Allow", "Condition": NaN}]}', ["NaN"]),
        ("\ufeff" + MINIFIED, ["byte-order mark"]),
        ("[" * 100_000, ["nested too deeply"]),
    ],
)
def test_invalid_existing_policy_raises_a_clear_error(text: str, fragments: list[str]) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert message.endswith("Nothing was changed.")
    with pytest.raises(PolicyError):
        merge(text, REQUIRED)


def test_recursion_deep_inside_merging_becomes_a_policy_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(existing: str | None, required: object) -> MergeResult:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(merge_module, "_merge", explode)

    with pytest.raises(PolicyError, match="nested too deeply"):
        merge(PRETTY, REQUIRED)


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)
    with pytest.raises(ValueError, match="not valid JSON"):
        merge("{nope}", REQUIRED)


def test_parse_policy_returns_the_document() -> None:
    assert parse_policy(PRETTY) == policy(DENY_TLS, REPLICATION)
    with pytest.raises(PolicyError, match="empty"):
        parse_policy("  ")


@pytest.mark.parametrize(
    "required",
    [
        {"Version": "2012-10-17"},
        {"Statement": [{"Action": "s3:GetObject"}]},
        {"Statement": [{"Effect": "Allow", "Resource": float("nan")}]},
        {"Statement": [{"Effect": "Allow", "Resource": object()}]},
    ],
)
def test_invalid_required_policy_raises(required: dict[str, Any]) -> None:
    with pytest.raises(PolicyError, match="required policy"):
        merge(PRETTY, required)


def test_missing_version_is_left_missing() -> None:
    existing = json.dumps({"Id": "no-version", "Statement": [REPLICATION]}, indent=2)

    result = merge(existing, REQUIRED)

    assert "Version" not in result.document
    assert '"Version"' not in result.text
    assert result.document["Id"] == "no-version"


# --------------------------------------------------------------------------------------
# render_policy and MergeResult
# --------------------------------------------------------------------------------------


def test_render_policy_uses_aws_key_order_and_is_deterministic() -> None:
    statement = {
        "Condition": {"StringLike": {"b": "2", "a": "1"}, "Bool": {"c": "true"}},
        "Zeta": 1,
        "Resource": "r",
        "NotAction": "n",
        "Action": "a",
        "Principal": "*",
        "Alpha": 2,
        "Effect": "Allow",
        "NotResource": "x",
        "NotPrincipal": {"AWS": "p"},
        "Sid": "S",
    }
    document = {"Statement": [statement], "Extra": True, "Id": "i", "Version": "2012-10-17"}
    reordered = {
        "Version": "2012-10-17",
        "Extra": True,
        "Id": "i",
        "Statement": [dict(reversed(list(statement.items())))],
    }

    text = render_policy(document)

    assert text == render_policy(reordered)
    assert not text.endswith("\n")
    assert json.loads(text) == document
    top_keys = list(json.loads(text))
    assert top_keys == ["Version", "Id", "Statement", "Extra"]
    keys = list(json.loads(text)["Statement"][0])
    assert keys == [
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Alpha",
        "Zeta",
    ]
    assert text.startswith('{\n  "Version": "2012-10-17",\n  "Id": "i",\n  "Statement": [\n')
    assert list(json.loads(text)["Statement"][0]["Condition"]) == ["Bool", "StringLike"]


def test_render_policy_writes_non_ascii_as_is_and_handles_single_object_statement() -> None:
    text = render_policy({"Statement": {"Sid": "A", "Effect": "Allow", "Resource": "caf\u00e9"}})

    assert "caf\u00e9" in text
    assert json.loads(text)["Statement"]["Resource"] == "caf\u00e9"


def test_merge_result_is_frozen_and_keeps_whitespace() -> None:
    existing = json.dumps(policy(ACL_CHECK)) + "\n"

    result = merge(existing, policy(ACL_CHECK))

    assert isinstance(result, MergeResult)
    assert result.text == existing  # not stripped by the base model's whitespace rule
    with pytest.raises(ValidationError):
        result.text = "{}"  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------

_TRICKY_CHARS = list('aZ09"\\[]{},: /*\n\t\u00e9\u20ac\u2028\U0001f600')
tricky_text = st.text(alphabet=st.sampled_from(_TRICKY_CHARS), max_size=8)
sids = st.sampled_from(["A", "B", "A2", "Stmt1", "AWSCloudTrailWrite", "AWSCloudTrailWrite2"])
actions = st.sampled_from(
    ["s3:GetBucketAcl", "s3:PutObject", "s3:ListBucket", "s3:*", "sns:Publish", "kms:Decrypt"]
)
resources = st.one_of(
    st.sampled_from([BUCKET, f"{BUCKET}/*", f"{BUCKET}/AWSLogs/123456789012/*", "*"]),
    tricky_text,
)
principals = st.one_of(
    st.just("*"),
    st.fixed_dictionaries(
        {"Service": st.sampled_from(["cloudtrail.amazonaws.com", "delivery.logs.amazonaws.com"])}
    ),
    st.fixed_dictionaries(
        {
            "AWS": st.lists(
                st.sampled_from(
                    ["arn:aws:iam::123456789012:root", "arn:aws:iam::210987654321:role/r"]
                ),
                min_size=1,
                max_size=2,
                unique=True,
            )
        }
    ),
)
condition_values = st.one_of(
    st.sampled_from(["false", TRAIL_ARN, "bucket-owner-full-control"]), tricky_text
)


def one_or_list(elements: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A single element or a short non-empty list of them."""
    return st.one_of(elements, st.lists(elements, min_size=1, max_size=3))


conditions = st.dictionaries(
    st.sampled_from(["StringEquals", "StringLike", "Bool", "ArnLike"]),
    st.dictionaries(
        st.sampled_from(["aws:SourceArn", "aws:SecureTransport", "s3:x-amz-acl"]),
        one_or_list(condition_values),
        min_size=1,
        max_size=2,
    ),
    max_size=2,
)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    """A random, valid-looking policy statement with its keys in random order."""
    statement: dict[str, Any] = {}
    if draw(st.booleans()):
        statement["Sid"] = draw(sids)
    statement["Effect"] = draw(st.sampled_from(["Allow", "Deny"]))
    statement["Principal"] = draw(principals)
    statement["Action"] = draw(one_or_list(actions))
    statement["Resource"] = draw(one_or_list(resources))
    condition = draw(conditions)
    if condition:
        statement["Condition"] = condition
    order = draw(st.permutations(list(statement)))
    return {key: statement[key] for key in order}


def _shuffled_list(draw: st.DrawFn, value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return list(draw(st.permutations(items)))


@st.composite
def equivalent_variant(draw: st.DrawFn, statement: dict[str, Any]) -> dict[str, Any]:
    """A statement that means exactly the same as ``statement`` but is written differently."""
    variant: dict[str, Any] = {}
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key == "Action":
            shuffled = _shuffled_list(draw, value)
            variant[key] = [a.swapcase() if draw(st.booleans()) else a for a in shuffled]
        elif key == "Resource":
            variant[key] = _shuffled_list(draw, value)
        elif key == "Principal" and isinstance(value, dict):
            variant[key] = {kind: _shuffled_list(draw, ids) for kind, ids in value.items()}
        elif key == "Condition":
            variant[key] = {
                operator: {k: _shuffled_list(draw, v) for k, v in reversed(block.items())}
                for operator, block in reversed(value.items())
            }
        else:
            variant[key] = value
    if draw(st.booleans()):
        variant["Sid"] = draw(sids)
    return variant


@dataclass(frozen=True)
class Layout:
    """How a generated policy is formatted."""

    unit: str | None  # None: all on one line
    key_sep: str
    item_sep: str
    newline: str
    ensure_ascii: bool
    single_object: bool
    lead: str
    trail: str


layouts = st.builds(
    Layout,
    unit=st.sampled_from([None, "", " ", "  ", "    ", "\t"]),
    key_sep=st.sampled_from([":", ": ", " : "]),
    item_sep=st.sampled_from([",", ", ", " ,  "]),
    newline=st.sampled_from(["\n", "\r\n"]),
    ensure_ascii=st.booleans(),
    single_object=st.booleans(),
    lead=st.sampled_from(["", " ", "\n", "\r\n\t"]),
    trail=st.sampled_from(["", "\n", "  \n\n"]),
)
extra_members = st.lists(
    st.tuples(
        st.sampled_from(["Id", "Comment", "x-owner"]),
        st.one_of(tricky_text, st.lists(tricky_text, max_size=2)),
    ),
    max_size=3,
    unique_by=lambda member: member[0],
)


@dataclass(frozen=True)
class Formatted:
    """A generated policy text and where each statement's text sits in it."""

    text: str
    statements: list[dict[str, Any]]
    spans: list[tuple[int, int]]
    single_object: bool


def _dump(value: Any, layout: Layout, depth: int) -> str:
    if layout.unit is None:
        separators = (layout.item_sep, layout.key_sep)
        return json.dumps(value, separators=separators, ensure_ascii=layout.ensure_ascii)
    body = json.dumps(
        value,
        indent=layout.unit,
        separators=(",", layout.key_sep),
        ensure_ascii=layout.ensure_ascii,
    )
    return body.replace("\n", layout.newline + layout.unit * depth)


@st.composite
def formatted_policies(draw: st.DrawFn) -> Formatted:
    """A policy text built piece by piece, so each statement's exact span is known."""
    layout = draw(layouts)
    stmts = draw(st.lists(statements(), max_size=4))
    single = layout.single_object and len(stmts) == 1
    before = draw(extra_members)
    after = [m for m in draw(extra_members) if m[0] not in dict(before)]
    if draw(st.booleans()):
        before.insert(0, ("Version", "2012-10-17"))
    unit, nl = layout.unit, layout.newline
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    text = layout.lead + "{"
    members = [*before, ("Statement", None), *after]
    for number, (key, value) in enumerate(members):
        if number:
            text += ("," + nl) if unit is not None else layout.item_sep
        elif unit is not None:
            text += nl
        text += (unit or "") + json.dumps(key) + layout.key_sep
        if key != "Statement":
            text += _dump(value, layout, 1)
            continue
        if single:
            pieces = [_dump(stmts[0], layout, 1)]
            spans.append((len(text), len(text) + len(pieces[0])))
            text += pieces[0]
            continue
        text += "["
        for index, statement in enumerate(stmts):
            if index:
                text += "," if unit is not None else layout.item_sep
            if unit is not None:
                text += nl + unit * 2
            piece = _dump(statement, layout, 2)
            spans.append((len(text), len(text) + len(piece)))
            text += piece
        if unit is not None and stmts:
            text += nl + unit
        text += "]"
    if unit is not None:
        text += nl
    text += "}" + layout.trail
    assert json.loads(text)["Statement"] == (stmts[0] if single else stmts)
    return Formatted(text, stmts, spans, single)


@st.composite
def requirements(draw: st.DrawFn, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Required statements: fresh ones, variants of existing ones, and duplicates."""
    fresh = draw(st.lists(statements(), max_size=3))
    copies: list[dict[str, Any]] = []
    if existing:
        for index in draw(st.lists(st.integers(0, len(existing) - 1), max_size=2)):
            copies.append(draw(equivalent_variant(existing[index])))
    required = fresh + copies
    duplicate: bool = draw(st.booleans())
    if required and duplicate:
        required.append(dict(draw(st.sampled_from(required))))
    return list(draw(st.permutations(required)))


PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_property_existing_statements_keep_their_exact_text_and_place(data: st.DataObject) -> None:
    formatted = data.draw(formatted_policies())
    required = data.draw(requirements(formatted.statements))

    result = merge(formatted.text, policy(*required))

    original = formatted.text
    merged = result.text
    merged_statements = statements_of(json.loads(merged))
    # (a) every original statement is still there, in order, at the start
    assert merged_statements[: len(formatted.statements)] == formatted.statements
    assert merged_statements[len(formatted.statements) :] == result.added
    assert result.document == json.loads(merged)
    # (b) every original statement's text sits unchanged at its (possibly shifted) offset
    shift = 1 if formatted.single_object and result.added else 0
    for start, end in formatted.spans:
        assert merged[start + shift : end + shift] == original[start:end]
    if not result.added:
        assert merged == original
    elif formatted.spans and not formatted.single_object:
        cut = formatted.spans[-1][1]  # a single insertion right after the last statement
        assert merged.startswith(original[:cut]) and merged.endswith(original[cut:])
    elif formatted.single_object:
        start, end = formatted.spans[0]
        assert merged.startswith(original[:start] + "[" + original[start:end] + ",")
        assert merged.endswith("]" + original[end:])
    # everything around the Statement value is untouched
    document = json.loads(original)
    assert {k: v for k, v in json.loads(merged).items() if k != "Statement"} == {
        k: v for k, v in document.items() if k != "Statement"
    }


@PROPERTY_SETTINGS
@given(data=st.data())
def test_property_idempotent_and_every_requirement_granted(data: st.DataObject) -> None:
    formatted = data.draw(formatted_policies())
    required = data.draw(requirements(formatted.statements))

    once = merge(formatted.text, policy(*required))
    twice = merge(once.text, policy(*required))

    # (c) idempotence
    assert twice.text == once.text
    assert not twice.changed
    assert twice.added == []
    # (d) every required statement is granted by the original policy or was added
    merged_statements = statements_of(once.document)
    for statement in required:
        assert statement_present(statement, merged_statements)
    for added in once.added:
        assert not statement_present(added, formatted.statements)
        assert any(same_ignoring_sid(added, r) for r in required)
    # variants built to be equivalent are recognised as present (independent oracle)
    for statement in required:
        if any(same_ignoring_sid(statement, e) for e in formatted.statements):
            assert statement_present(statement, formatted.statements)
    # new Sids are unique and never take over an existing statement's Sid
    existing_sids = {s.get("Sid") for s in formatted.statements}
    added_sids = [s["Sid"] for s in once.added if "Sid" in s]
    assert len(added_sids) == len(set(added_sids))
    for old, new in once.renamed.items():
        assert new.startswith(old)
        assert new not in existing_sids
        assert re.fullmatch(r"[A-Za-z0-9]+", new)
    assert not existing_sids & set(added_sids)


@PROPERTY_SETTINGS
@given(
    stmts=st.lists(statements(), min_size=1, max_size=4),
    required=st.lists(statements(), max_size=3),
    indent=st.sampled_from([None, 0, 1, 2, 4, "\t"]),
    separators=st.sampled_from([None, (",", ":"), (", ", ": "), (",", ": "), (" , ", " : ")]),
    ensure_ascii=st.booleans(),
)
def test_property_plain_json_dumps_formats(
    stmts: list[dict[str, Any]],
    required: list[dict[str, Any]],
    indent: int | str | None,
    separators: tuple[str, str] | None,
    ensure_ascii: bool,
) -> None:
    original = json.dumps(
        policy(*stmts), indent=indent, separators=separators, ensure_ascii=ensure_ascii
    )

    result = merge(original, policy(*required))

    merged = result.text
    assert statements_of(json.loads(merged))[: len(stmts)] == stmts
    # the original is the merged text with one contiguous block removed
    prefix = 0
    while prefix < len(original) and merged[prefix] == original[prefix]:
        prefix += 1
    assert merged.endswith(original[prefix:])
    for statement in stmts:  # each original statement's text is still there
        piece = json.dumps(
            statement, indent=indent, separators=separators, ensure_ascii=ensure_ascii
        )
        if indent is not None:
            step = "\t" if indent == "\t" else " " * int(indent)
            piece = piece.replace("\n", "\n" + step * 2)
        assert piece in original
        assert piece in merged
    if result.added and ("\n" in original) != ("\n" in merged):
        pytest.fail("a one-line policy must stay on one line")
    assert merge(merged, policy(*required)).text == merged


_MUTATION_CHARS = list('{}[],:"\\ \n0aé')


@PROPERTY_SETTINGS
@given(data=st.data())
def test_property_damaged_policy_text_fails_cleanly_or_merges_safely(data: st.DataObject) -> None:
    text = data.draw(formatted_policies()).text
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if action == "delete":
            text = text[:position] + text[position + 1 :]
        elif action == "insert":
            text = text[:position] + data.draw(st.sampled_from(_MUTATION_CHARS)) + text[position:]
        else:
            text = text[:position] + text[position : position + 5] + text[position:]
    required = data.draw(st.lists(statements(), max_size=2))

    try:
        result = merge(text, policy(*required))
    except PolicyError as error:
        assert str(error).endswith("Nothing was changed.")
        return
    before = statements_of(parse_policy(text)) if text.strip() else []
    assert statements_of(json.loads(result.text))[: len(before)] == before


@PROPERTY_SETTINGS
@given(text=st.one_of(st.text(max_size=200), st.text(alphabet=_MUTATION_CHARS, max_size=40)))
def test_property_arbitrary_text_raises_only_policy_error(text: str) -> None:
    try:
        result = merge(text, REQUIRED)
    except PolicyError:
        return
    if not text.strip():  # blank text is "no policy yet"
        assert result.text == render_policy(REQUIRED)
    assert statement_present(ACL_CHECK, statements_of(result.document))
    assert statements_of(result.document)[: len(result.document["Statement"])]
