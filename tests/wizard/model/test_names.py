"""Tests for wizard.model.names and wizard.model.regions: every naming rule, valid and invalid.

Each refusal is checked for *what* it says: the message must name the offending value or
the rule it breaks, so a person can fix the input without reading the source.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.model.names import (
    Arn,
    KeyRef,
    check_account_id,
    check_alias_name,
    check_arn,
    check_bucket_name,
    check_log_group_name,
    check_organization_id,
    check_prefix,
    check_principal_arn,
    check_role_name,
    check_tags,
    check_topic_name,
    check_trail_name,
    classify_key_ref,
    normalise_prefix,
    parse_arn,
    suggested_log_bucket,
)
from wizard.model.regions import (
    all_regions,
    check_region,
    normalise_bucket_location,
    partition_ids,
    partition_of,
    partitions,
    region_description,
)

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
MRK_ID = "mrk-1234abcd12ab34cd56ef1234567890ab"


def _assert_refused(problem: str | None, *fragments: str) -> None:
    assert problem is not None, "expected the value to be refused"
    for fragment in fragments:
        assert fragment in problem, f"{fragment!r} not in message {problem!r}"


# ------------------------------------------------------------------------ buckets


@pytest.mark.parametrize(
    "name",
    [
        "abc",
        "a" * 63,
        "acme-cloudtrail-logs-123456789012",
        "my.bucket.name",
        "1bucket",
        "a-b-c",
        "a1.b2-c3",
        "xn-abc",  # only "xn--" is reserved
        "abc-s3aliasx",  # the reserved suffix must be at the end
    ],
)
def test_bucket_name_valid(name: str) -> None:
    assert check_bucket_name(name) is None


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("ab", ("'ab'", "2 characters", "3 to 63")),
        ("a" * 64, ("64 characters", "3 to 63")),
        ("", ("0 characters",)),
        ("My-Bucket", ("'My-Bucket'", "'M'", "uppercase")),
        ("my_bucket", ("'my_bucket'", "'_'")),
        ("my bucket", ("' '",)),
        ("bucket!", ("'!'",)),
        ("abc\n", ("'\\n'",)),
        ("-abc", ("'-abc'", "begin and end")),
        ("abc-", ("'abc-'", "begin and end")),
        (".abc", ("'.abc'", "begin and end")),
        ("abc.", ("'abc.'", "begin and end")),
        ("a..b", ("'a..b'", "two periods")),
        ("a.-b", ("'a.-b'", "dash next to a period")),
        ("a-.b", ("'a-.b'", "dash next to a period")),
        ("192.168.5.4", ("'192.168.5.4'", "IP address")),
        ("10.0.0.1", ("IP address",)),
        ("999.999.999.999", ("IP address",)),
        ("xn--abc", ("reserved prefix", "'xn--'")),
        ("sthree-abc", ("reserved prefix", "'sthree-'")),
        ("sthree-configurator", ("reserved prefix", "'sthree-'")),
        ("amzn-s3-demo-bucket", ("reserved prefix", "'amzn-s3-demo-'")),
        ("abc-s3alias", ("reserved suffix", "'-s3alias'")),
        ("abc--ol-s3", ("reserved suffix", "'--ol-s3'")),
        ("abc.mrap", ("reserved suffix", "'.mrap'")),
        ("abc--x-s3", ("reserved suffix", "'--x-s3'")),
        ("abc--table-s3", ("reserved suffix", "'--table-s3'")),
    ],
)
def test_bucket_name_invalid(name: str, fragments: tuple[str, ...]) -> None:
    _assert_refused(check_bucket_name(name), *fragments)


def test_bucket_name_message_shows_a_valid_example() -> None:
    problem = check_bucket_name("Bad_Name")
    _assert_refused(problem, "Example:")
    example = problem.split("Example: ", 1)[1].rstrip(".") if problem else ""
    assert check_bucket_name(example) is None


# ------------------------------------------------------------------------- trails


@pytest.mark.parametrize(
    "name",
    ["abc", "a" * 128, "acme-audit", "org_trail.2024", "A1.b2_c3-d4", "MyTrail", "123"],
)
def test_trail_name_valid(name: str) -> None:
    assert check_trail_name(name) is None


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("ab", ("'ab'", "2 characters", "3 to 128")),
        ("a" * 129, ("129 characters", "3 to 128")),
        ("my trail", ("'my trail'", "only ASCII letters")),
        ("my/trail", ("'my/trail'", "only ASCII letters")),
        ("tráil", ("'tráil'", "only ASCII letters")),
        ("my:trail", ("only ASCII letters",)),
        ("-abc", ("'-abc'", "start and end")),
        ("abc_", ("'abc_'", "start and end")),
        (".abc", ("start and end",)),
        ("my--trail", ("'my--trail'", "next to each other")),
        ("my-_trail", ("'my-_trail'", "next to each other")),
        ("my._trail", ("'my._trail'", "next to each other")),
        ("my..trail", ("next to each other",)),
        ("my_.trail", ("next to each other",)),
        ("192.168.5.4", ("'192.168.5.4'", "IP address")),
    ],
)
def test_trail_name_invalid(name: str, fragments: tuple[str, ...]) -> None:
    _assert_refused(check_trail_name(name), *fragments)


# ----------------------------------------------------------------------- prefixes


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        (None, ""),
        ("", ""),
        ("logs", "logs"),
        ("/logs", "logs"),
        ("logs/", "logs"),
        ("/logs/", "logs"),
        ("//logs//", "logs"),
        ("  logs/  ", "logs"),
        ("org/security/", "org/security"),
        ("/", ""),
    ],
)
def test_normalise_prefix(raw: str | None, normalised: str) -> None:
    assert normalise_prefix(raw) == normalised


@pytest.mark.parametrize(
    "prefix", ["", "logs", "org/security", "a" * 200, "cloud-trail_2024.v1", "AWSLogsArchive"]
)
def test_prefix_valid(prefix: str) -> None:
    assert check_prefix(prefix) is None


@pytest.mark.parametrize(
    ("prefix", "fragments"),
    [
        ("a" * 201, ("201 characters", "at most 200")),
        ("AWSLogs", ("'AWSLogs'",)),
        ("AWSLogs/team", ("'AWSLogs/'",)),
        ("a//b", ("'a//b'", "'//'")),
        ("a\\b", ("'a\\b'", "characters S3 keys should avoid")),
        ("a{b", ("'a{b'", "characters S3 keys should avoid")),
        ("a}b", ("characters S3 keys should avoid",)),
        ("a^b", ("characters S3 keys should avoid",)),
        ("a%b", ("characters S3 keys should avoid",)),
        ("a`b", ("characters S3 keys should avoid",)),
        ("a[b", ("characters S3 keys should avoid",)),
        ("a]b", ("characters S3 keys should avoid",)),
        ('a"b', ("characters S3 keys should avoid",)),
        ("a<b", ("characters S3 keys should avoid",)),
        ("a>b", ("characters S3 keys should avoid",)),
        ("a~b", ("characters S3 keys should avoid",)),
        ("a#b", ("characters S3 keys should avoid",)),
        ("a|b", ("characters S3 keys should avoid",)),
        ("a\x01b", ("control characters",)),
        ("a\tb", ("control characters",)),
    ],
)
def test_prefix_invalid(prefix: str, fragments: tuple[str, ...]) -> None:
    _assert_refused(check_prefix(prefix), *fragments)


def test_prefix_awslogs_refused_after_normalisation() -> None:
    _assert_refused(check_prefix(normalise_prefix("/AWSLogs/")), "AWSLogs")


# ---------------------------------------------------------------------- KMS keys


@pytest.mark.parametrize(
    ("ref", "form", "region", "account", "multi_region"),
    [
        (KEY_ID, "key-id", None, None, False),
        (MRK_ID, "key-id", None, None, True),
        (
            f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}",
            "key-arn",
            "us-east-1",
            "123456789012",
            False,
        ),
        (
            f"arn:aws:kms:eu-west-1:210987654321:key/{MRK_ID}",
            "key-arn",
            "eu-west-1",
            "210987654321",
            True,
        ),
        ("alias/acme-cloudtrail", "alias", None, None, False),
        ("alias/team:a/b_c-d", "alias", None, None, False),
        (
            "arn:aws:kms:us-west-2:123456789012:alias/acme-cloudtrail",
            "alias-arn",
            "us-west-2",
            "123456789012",
            False,
        ),
        (
            f"arn:aws-cn:kms:cn-north-1:123456789012:key/{KEY_ID}",
            "key-arn",
            "cn-north-1",
            "123456789012",
            False,
        ),
        (
            f"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/{KEY_ID}",
            "key-arn",
            "us-gov-west-1",
            "123456789012",
            False,
        ),
    ],
)
def test_key_ref_forms(
    ref: str, form: str, region: str | None, account: str | None, multi_region: bool
) -> None:
    assert classify_key_ref(ref) == KeyRef(form, ref, region, account, multi_region)


@pytest.mark.parametrize(
    ("ref", "fragments"),
    [
        ("arn:aws:s3:::acme-logs", ("is a s3 ARN", "KMS key")),
        ("arn:aws:sns:us-east-1:123456789012:topic", ("is a sns ARN", "KMS key")),
        (f"arn:aws:kms::123456789012:key/{KEY_ID}", ("has no region",)),
        (f"arn:aws:kms:us-east-1::key/{KEY_ID}", ("has no account id",)),
        ("arn:aws:kms:us-east-1:123456789012:key/not-a-uuid", ("'not-a-uuid'", "not a KMS key id")),
        (f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID.upper()}", ("not a KMS key id",)),
        ("arn:aws:kms:us-east-1:123456789012:key/mrk-123", ("'mrk-123'",)),
        ("arn:aws:kms:us-east-1:123456789012:grant/abc", ("neither a key nor an alias",)),
        (f"arn:aws:kms:us-east-1:12345:key/{KEY_ID}", ("'12345'", "12 digits")),
        (f"arn:aws:kms:moon-1:123456789012:key/{KEY_ID}", ("'moon-1'", "not an AWS region")),
        (f"arn:aws:kms:cn-north-1:123456789012:key/{KEY_ID}", ("'aws-cn'", "not 'aws'")),
        (f"arn:aws-cn:kms:us-east-1:123456789012:key/{KEY_ID}", ("partition 'aws'",)),
        (f"arn:nope:kms:us-east-1:123456789012:key/{KEY_ID}", ("partition 'nope'",)),
        ("arn:aws:kms:us-east-1:123456789012:alias/bad name", ("not a valid alias name",)),
        ("alias/bad name", ("'alias/bad name'", "not a valid alias name")),
        ("alias/", ("not a valid alias name",)),
        (KEY_ID.upper(), ("not a KMS key reference",)),
        (KEY_ID[:-1], ("not a KMS key reference",)),
        (KEY_ID + "\n", ("not a KMS key reference",)),
        ("mrk-123", ("'mrk-123'", "not a KMS key reference")),
        (f"key/{KEY_ID}", ("not a KMS key reference",)),
        ("", ("not a KMS key reference",)),
    ],
)
def test_key_ref_invalid(ref: str, fragments: tuple[str, ...]) -> None:
    result = classify_key_ref(ref)
    assert isinstance(result, str), f"{ref!r} was accepted as {result!r}"
    _assert_refused(result, *fragments)


# ----------------------------------------------------------------------- aliases


@pytest.mark.parametrize(
    "alias", ["alias/acme-cloudtrail", "alias/a", "alias/" + "a" * 250, "alias/a:b/c_d-E"]
)
def test_alias_name_valid(alias: str) -> None:
    assert check_alias_name(alias) is None


@pytest.mark.parametrize(
    ("alias", "fragments"),
    [
        ("acme-cloudtrail", ("'acme-cloudtrail'", "must start with 'alias/'")),
        ("Alias/acme", ("must start with 'alias/'",)),
        ("alias/" + "a" * 251, ("257 characters", "at most 256")),
        ("alias/bad name", ("'alias/bad name'", "may contain only")),
        ("alias/bad.name", ("may contain only",)),
        ("alias/", ("may contain only",)),
        ("alias/x\n", ("may contain only",)),
        ("alias/aws/cloudtrail", ("'alias/aws/'", "reserved")),
        ("alias/AWS/cloudtrail", ("'alias/aws/'", "reserved")),
    ],
)
def test_alias_name_invalid(alias: str, fragments: tuple[str, ...]) -> None:
    _assert_refused(check_alias_name(alias), *fragments)


# ----------------------------------------------------------------------- regions


def test_botocore_partitions_are_all_read() -> None:
    ids = partition_ids()
    assert ids[0] == "aws"
    assert {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"} <= set(ids)
    assert len(ids) == len(set(ids))
    for partition in partitions():
        assert partition.regions, f"partition {partition.id} has no regions"
        assert partition.dns_suffix
        assert not any(r.endswith("-global") for r in partition.regions)


@pytest.mark.parametrize("region", all_regions())
def test_every_botocore_region_is_valid(region: str) -> None:
    assert check_region(region) is None
    partition = partition_of(region)
    assert partition is not None
    assert region in partition.regions


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("eu-west-1", "aws"),
        ("ap-southeast-2", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-gov-east-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("us-east-9", "aws"),  # newer than botocore: accepted through the partition pattern
    ],
)
def test_region_partition(region: str, partition: str) -> None:
    assert check_region(region) is None
    found = partition_of(region)
    assert found is not None
    assert found.id == partition


@pytest.mark.parametrize(
    ("region", "fragments"),
    [
        ("mars-1", ("'mars-1'", "not an AWS region", "us-east-1")),
        ("us-east", ("'us-east'", "Did you mean", "us-east-1", "us-east-2")),
        ("", ("empty",)),
        ("EU", ("legacy", "eu-west-1")),
        ("eu", ("eu-west-1",)),
        ("US-EAST-1", ("'US-EAST-1'", "not an AWS region")),
        ("us-east-1\n", ("not an AWS region",)),
        (" us-east-1", ("not an AWS region",)),
        ("us-ëast-1", ("not an AWS region",)),
        ("aws-global", ("not an AWS region",)),
    ],
)
def test_region_invalid(region: str, fragments: tuple[str, ...]) -> None:
    _assert_refused(check_region(region), *fragments)
    assert partition_of(region) is None or region in ("EU", "eu")


def test_unknown_region_without_close_match_has_no_hint() -> None:
    problem = check_region("zz-nowhere-1")
    _assert_refused(problem, "'zz-nowhere-1'")
    assert problem is not None and "Did you mean" not in problem


def test_region_description() -> None:
    assert "Virginia" in region_description("us-east-1")
    assert region_description("mars-1") == "mars-1"


@pytest.mark.parametrize(
    ("location", "region"),
    [
        (None, "us-east-1"),
        ("", "us-east-1"),
        ("EU", "eu-west-1"),
        ("us-east-1", "us-east-1"),
        ("eu-west-1", "eu-west-1"),
        ("eu-central-1", "eu-central-1"),
        ("cn-north-1", "cn-north-1"),
    ],
)
def test_normalise_bucket_location(location: str | None, region: str) -> None:
    assert normalise_bucket_location(location) == region


# ------------------------------------------------------------- accounts and orgs


@pytest.mark.parametrize("account", ["123456789012", "000000000000"])
def test_account_id_valid(account: str) -> None:
    assert check_account_id(account) is None


@pytest.mark.parametrize(
    "account",
    [
        "12345678901",
        "1234567890123",
        "12345678901a",
        "",
        " 123456789012",
        "123456789012\n",
        "1234-5678-9012",
        "１２３４５６７８９０１２",  # fullwidth digits are not ASCII digits
        "١٢٣٤٥٦٧٨٩٠١٢",  # nor are Arabic-Indic ones
    ],
)
def test_account_id_invalid(account: str) -> None:
    _assert_refused(check_account_id(account), f"'{account}'", "12 digits")


@pytest.mark.parametrize("org", ["o-a1b2c3d4e5", "o-" + "a" * 32, "o-0123456789"])
def test_organization_id_valid(org: str) -> None:
    assert check_organization_id(org) is None


@pytest.mark.parametrize(
    "org",
    [
        "o-abc",
        "o-" + "a" * 33,
        "O-a1b2c3d4e5",
        "o-A1B2C3D4E5",
        "a1b2c3d4e5",
        "o-a1b2c3d4e5\n",
        "r-a1b2",
        "o_a1b2c3d4e5",
        "",
    ],
)
def test_organization_id_invalid(org: str) -> None:
    _assert_refused(check_organization_id(org), f"'{org}'", "'o-'")


# ------------------------------------------------------------ logs, SNS, IAM names


@pytest.mark.parametrize(
    "name",
    [
        "aws-cloudtrail-logs-acme",
        "/aws/cloudtrail/acme",
        "a",
        "a" * 512,
        "A#b.c_d-e/f",
    ],
)
def test_log_group_name_valid(name: str) -> None:
    assert check_log_group_name(name) is None


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("", ("''", "1 to 512")),
        ("a" * 513, ("1 to 512",)),
        ("bad name", ("'bad name'", "not a valid log group name")),
        ("bad:name", ("'bad:name'",)),
        ("bad*name", ("'bad*name'",)),
        ("grüppe", ("'grüppe'",)),
        ("group\n", ("not a valid log group name",)),
        ("aws/cloudtrail", ("'aws/cloudtrail'", "reserved")),
    ],
)
def test_log_group_name_invalid(name: str, fragments: tuple[str, ...]) -> None:
    _assert_refused(check_log_group_name(name), *fragments)


@pytest.mark.parametrize("name", ["acme-cloudtrail-notifications", "a", "A_b-1", "t" * 256])
def test_topic_name_valid(name: str) -> None:
    assert check_topic_name(name) is None


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("", ("''", "1 to 256")),
        ("t" * 257, ("1 to 256",)),
        ("my.topic", ("'my.topic'", "not a valid SNS topic name")),
        ("my topic", ("'my topic'",)),
        ("topic\n", ("not a valid SNS topic name",)),
        ("acme.fifo", ("'acme.fifo'", "FIFO", "standard topic")),
        ("x.fifo", ("FIFO",)),
    ],
)
def test_topic_name_invalid(name: str, fragments: tuple[str, ...]) -> None:
    _assert_refused(check_topic_name(name), *fragments)


@pytest.mark.parametrize("name", ["CloudTrailToCloudWatchLogs", "a", "a+=,.@_-b", "r" * 64])
def test_role_name_valid(name: str) -> None:
    assert check_role_name(name) is None


@pytest.mark.parametrize(
    "name", ["", "r" * 65, "role/name", "bad role", "rôle", "role:x", "role\n", "日本"]
)
def test_role_name_invalid(name: str) -> None:
    _assert_refused(check_role_name(name), f"'{name}'", "not a valid IAM role name")


# ------------------------------------------------------------------------- ARNs


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/SecurityAuditor",
        "arn:aws:iam::123456789012:role/path/to/Reader",
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:iam::123456789012:root",
        "123456789012",
        "arn:aws-cn:iam::123456789012:role/Reader",
        "arn:aws-us-gov:iam::123456789012:role/Reader",
        "arn:aws-iso:iam::123456789012:role/Reader",
    ],
)
def test_principal_arn_valid(arn: str) -> None:
    assert check_principal_arn(arn) is None


@pytest.mark.parametrize(
    ("arn", "fragments"),
    [
        ("arn:aws:iam::123456789012:group/admins", ("not an IAM user, role or account root",)),
        ("arn:aws:iam::123456789012:policy/P", ("not an IAM user, role or account root",)),
        ("arn:aws:iam::123456789012:role/", ("not an IAM user, role or account root",)),
        ("arn:aws:iam::123456789012:user/", ("not an IAM user, role or account root",)),
        ("arn:aws:s3:::bucket", ("is a s3 ARN", "IAM principal")),
        ("arn:aws:iam:us-east-1:123456789012:role/R", ("has a region",)),
        ("arn:aws:iam::12345:role/R", ("'12345'", "12 digits")),
        ("arn:aws:iam:::role/R", ("has no account id",)),
        ("arn:nope:iam::123456789012:role/R", ("partition 'nope'", "aws-cn")),
        ("role/R", ("'role/R'", "not an ARN")),
        ("12345678901", ("not an ARN",)),
        ("", ("not an ARN",)),
    ],
)
def test_principal_arn_invalid(arn: str, fragments: tuple[str, ...]) -> None:
    _assert_refused(check_principal_arn(arn), *fragments)


@pytest.mark.parametrize(
    ("arn", "service"),
    [
        ("arn:aws:s3:::acme-logs", "s3"),
        ("arn:aws:sns:us-east-1:123456789012:topic", "sns"),
        ("arn:aws-cn:sns:cn-north-1:123456789012:topic", "sns"),
        ("arn:aws-us-gov:sns:us-gov-west-1:123456789012:topic", "sns"),
        ("arn:aws-iso:sns:us-iso-east-1:123456789012:topic", "sns"),
        ("arn:aws:logs:us-east-1:123456789012:log-group:g:*", "logs"),
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", "iam"),
    ],
)
def test_arn_valid_per_partition(arn: str, service: str) -> None:
    assert check_arn(arn) is None
    assert check_arn(arn, service=service) is None


@pytest.mark.parametrize(
    ("arn", "kwargs", "fragments"),
    [
        ("arn:aws:sns:cn-north-1:123456789012:t", {}, ("'cn-north-1'", "'aws-cn'", "not 'aws'")),
        ("arn:aws-cn:sns:us-east-1:123456789012:t", {}, ("'aws'", "not 'aws-cn'")),
        ("arn:aws:sns:us-gov-west-1:123456789012:t", {}, ("'aws-us-gov'",)),
        ("arn:aws:sns:moon-1:123456789012:t", {}, ("'moon-1'", "not an AWS region")),
        ("arn:aws:sns:us-east-1:1234:t", {}, ("'1234'", "12 digits")),
        ("arn:aws:sns:us-east-1:123456789012", {}, ("not an ARN",)),
        ("arn:aws:sns:us-east-1:123456789012:", {}, ("not an ARN",)),
        ("urn:aws:sns:us-east-1:123456789012:t", {}, ("not an ARN",)),
        ("arn:amazon:sns:us-east-1:123456789012:t", {}, ("partition 'amazon'",)),
        (
            "arn:aws:sqs:us-east-1:123456789012:q",
            {"service": "sns", "what": "SNS topic"},
            ("is a sqs ARN", "SNS topic (sns) ARN"),
        ),
    ],
)
def test_arn_invalid(arn: str, kwargs: dict[str, str], fragments: tuple[str, ...]) -> None:
    _assert_refused(check_arn(arn, **kwargs), *fragments)


def test_parse_arn_keeps_colons_in_the_resource() -> None:
    text = "arn:aws:logs:us-east-1:123456789012:log-group:acme:*"
    arn = parse_arn(text)
    assert arn == Arn("aws", "logs", "us-east-1", "123456789012", "log-group:acme:*")
    assert str(arn) == text


@pytest.mark.parametrize("text", ["", "arn", "arn:aws:s3", "nope:aws:s3:::b", "arn:aws:s3:::"])
def test_parse_arn_rejects_non_arns(text: str) -> None:
    assert parse_arn(text) is None


# ------------------------------------------------------------------------- tags


@pytest.mark.parametrize(
    "tags",
    [
        {},
        {"team": "security"},
        {f"k{i}": "v" for i in range(50)},
        {"k" * 128: "v" * 256},
        {"empty": ""},
        {"équipe": "sécurité", "Cost Center": "a.b:c/d=e+f-g@h_i"},
    ],
)
def test_tags_valid(tags: dict[str, str]) -> None:
    assert check_tags(tags) is None


@pytest.mark.parametrize(
    ("tags", "fragments"),
    [
        ({f"k{i}": "v" for i in range(51)}, ("51 tags", "at most 50")),
        ({"": "v"}, ("''", "1 to 128")),
        ({"k" * 129: "v"}, ("1 to 128",)),
        ({"aws:owner": "me"}, ("'aws:owner'", "reserved prefix 'aws:'")),
        ({"AWS:owner": "me"}, ("'AWS:owner'", "'aws:'")),
        ({"team": "v" * 257}, ("'team'", "257 characters", "at most 256")),
        ({"team": "a;b"}, ("'team=a;b'", "characters AWS tags refuse")),
        ({"a*b": "v"}, ("'a*b=v'",)),
    ],
)
def test_tags_invalid(tags: dict[str, str], fragments: tuple[str, ...]) -> None:
    _assert_refused(check_tags(tags), *fragments)


def test_the_run_tag_key_is_reserved_for_the_wizard() -> None:
    from wizard.model.names import check_tags

    message = check_tags({"team": "security", "cloudtrail-wizard:run": "mine"})
    assert message is not None
    assert "cloudtrail-wizard:run" in message and "rollback" in message
    assert check_tags({"team": "security"}) is None


# ------------------------------------------------------------ suggested names


_TRAIL_NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]", fullmatch=True).filter(
    lambda name: check_trail_name(name) is None
)


@settings(max_examples=300, deadline=None)
@given(_TRAIL_NAMES, st.one_of(st.none(), st.from_regex(r"[0-9]{12}", fullmatch=True)))
def test_the_suggested_log_bucket_is_a_valid_name_for_every_trail_name(
    trail: str, account: str | None
) -> None:
    """Any trail name CloudTrail accepts gives a bucket name S3 accepts, which names the
    account when it is known (bucket names are global)."""
    name = suggested_log_bucket(trail, account)
    assert check_bucket_name(name) is None, name
    assert name.startswith("aws-cloudtrail-logs-" + (f"{account}-" if account else ""))


@pytest.mark.parametrize(
    ("trail", "account", "expected"),
    [
        ("management-events", "123456789012", "aws-cloudtrail-logs-123456789012-management-events"),
        ("Org_Audit", "123456789012", "aws-cloudtrail-logs-123456789012-org-audit"),
        ("audit.trail", None, "aws-cloudtrail-logs-audit.trail"),
        ("a" * 128, "123456789012", "aws-cloudtrail-logs-123456789012-" + "a" * 30),
        ("x-.y", None, "aws-cloudtrail-logs-x.y"),
    ],
)
def test_the_suggested_log_bucket_keeps_what_the_trail_name_says(
    trail: str, account: str | None, expected: str
) -> None:
    assert suggested_log_bucket(trail, account) == expected
