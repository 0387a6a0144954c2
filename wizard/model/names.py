"""Naming and identifier rules, each as a ``check_*`` function.

Every check returns ``None`` when the value is valid, or one message that says what is
wrong, which rule it breaks and what a valid value looks like. The same functions serve the
answers-file models, the TUI's live validation and the plain prompts, so the three never
disagree. The rules are AWS's, including those the local emulator does not enforce.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from wizard.model.regions import check_region, partition_ids, partition_of

RUN_TAG = "cloudtrail-wizard:run"
"""Tag key on every resource a run creates (key, bucket, trail, topic, log group, role); the
value is the run's id. Reserved: answers may not set it (:func:`check_tags`)."""

_BUCKET_CHARS = re.compile(r"^[a-z0-9.-]+\Z")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(name: str) -> str | None:
    """Check an S3 bucket name against the general-purpose bucket rules CloudTrail uses."""
    example = "Example: acme-cloudtrail-logs-123456789012."
    if not 3 <= len(name) <= 63:
        return f"Bucket name '{name}' has {len(name)} characters; use 3 to 63. {example}"
    if not _BUCKET_CHARS.match(name):
        bad = sorted({c for c in name if not re.match(r"[a-z0-9.-]", c)})
        return (
            f"Bucket name '{name}' contains {', '.join(repr(c) for c in bad)}; only lowercase "
            f"letters, digits, '.' and '-' are allowed (no uppercase or '_'). {example}"
        )
    if not (name[0].isalnum() and name[-1].isalnum()):
        return f"Bucket name '{name}' must begin and end with a letter or digit. {example}"
    if ".." in name or ".-" in name or "-." in name:
        return (
            f"Bucket name '{name}' has two periods in a row or a dash next to a period; "
            f"each dot-separated part must start and end with a letter or digit. {example}"
        )
    if _looks_like_ip(name):
        return f"Bucket name '{name}' looks like an IP address, which S3 forbids. {example}"
    for prefix in _BUCKET_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"Bucket names may not start with the reserved prefix '{prefix}'. {example}"
    for suffix in _BUCKET_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"Bucket names may not end with the reserved suffix '{suffix}'. {example}"
    return None


def _looks_like_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return bool(re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name))
    return True


_TRAIL_CHARS = re.compile(r"^[A-Za-z0-9._-]+\Z")


def check_trail_name(name: str) -> str | None:
    """Check a CloudTrail trail name (not an ARN)."""
    example = "Example: acme-audit or org_trail.2024."
    if not 3 <= len(name) <= 128:
        return f"Trail name '{name}' has {len(name)} characters; use 3 to 128. {example}"
    if not _TRAIL_CHARS.match(name):
        return (
            f"Trail name '{name}' may contain only ASCII letters, digits, '.', '_' and '-'. "
            f"{example}"
        )
    if not (name[0].isalnum() and name[-1].isalnum()):
        return f"Trail name '{name}' must start and end with a letter or digit. {example}"
    if re.search(r"[._-]{2}", name):
        return (
            f"Trail name '{name}' has two of '.', '_' or '-' next to each other "
            f"(like 'my--trail' or 'my-_trail'), which CloudTrail refuses. {example}"
        )
    if _looks_like_ip(name):
        return f"Trail name '{name}' looks like an IP address, which CloudTrail refuses. {example}"
    return None


def normalise_prefix(prefix: str | None) -> str:
    """Strip surrounding whitespace and leading/trailing slashes from an S3 key prefix.

    CloudTrail appends ``/AWSLogs/...`` itself, so ``logs/`` and ``/logs`` both mean ``logs``;
    normalising keeps the trail's prefix and the bucket policy's path identical.
    """
    return (prefix or "").strip().strip("/")


def check_prefix(prefix: str) -> str | None:
    """Check a (normalised) S3 key prefix for CloudTrail log files."""
    example = "Example: cloudtrail or org/security."
    if len(prefix) > 200:
        return f"The prefix has {len(prefix)} characters; CloudTrail allows at most 200. {example}"
    if prefix == "AWSLogs" or prefix.startswith("AWSLogs/"):
        return (
            "The prefix may not be 'AWSLogs' or start with 'AWSLogs/': CloudTrail adds "
            f"AWSLogs/ itself after the prefix. Leave the prefix empty instead. {example}"
        )
    if "//" in prefix:
        return f"The prefix '{prefix}' has an empty path segment ('//'). {example}"
    if any(ord(c) < 32 or c in '\\{}^%`[]"<>~#|' for c in prefix):
        return (
            f"The prefix '{prefix}' contains characters S3 keys should avoid "
            '(control characters or one of \\ { } ^ % ` [ ] " < > ~ # |). '
            f"Use letters, digits, '-', '_', '.' and '/'. {example}"
        )
    return None


def check_access_log_prefix(prefix: str) -> str | None:
    """Check a server access log prefix (already normalised to end in '/' or be empty)."""
    example = "Example: access-logs/ or s3/cloudtrail-bucket/."
    if len(prefix) > 512:
        return f"The access log prefix has {len(prefix)} characters; use at most 512. {example}"
    if prefix.startswith("/"):
        return f"The access log prefix '{prefix}' must not start with '/'. {example}"
    if "//" in prefix:
        return f"The access log prefix '{prefix}' has an empty path segment ('//'). {example}"
    if any(ord(c) < 32 or c in '\\{}^%`[]"<>~#|*?' for c in prefix):
        return (
            f"The access log prefix '{prefix}' contains characters S3 keys should avoid "
            '(control characters or one of \\ { } ^ % ` [ ] " < > ~ # | * ?). '
            f"Use letters, digits, '-', '_', '.' and '/'. {example}"
        )
    return None


def normalise_access_log_prefix(value: str) -> str:
    """Trim blanks; a non-empty prefix ends in '/' so the log objects form a folder."""
    prefix = value.strip()
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return prefix


def suggested_log_bucket(trail_name: str, account_id: str | None = None) -> str:
    """The default name of a trail's new log bucket: ``aws-cloudtrail-logs-<account>-<trail>``.

    Bucket names are global: without the account ID a trail name most accounts use
    (``management-events``) names a bucket some other account most likely owns already.
    The trail's name is made a valid bucket name part (lowercase; ``_`` and anything else
    S3 refuses become ``-``), and the whole is cut to 63 characters, ending in a letter or
    digit, so the suggestion always passes :func:`check_bucket_name`.

    Args:
        trail_name: The trail's name (``trail`` when none was given yet).
        account_id: The account the bucket is made in, when known.
    """
    part = re.sub(r"[^a-z0-9.]+", "-", trail_name.lower())
    part = re.sub(r"[.-]*\.[.-]*", ".", part).strip(".-") or "trail"
    head = "aws-cloudtrail-logs-" + (f"{account_id}-" if account_id else "")
    name = (head + part)[:63].rstrip(".-")
    return name if check_bucket_name(name) is None else head.rstrip("-")


def suggested_access_log_bucket(log_bucket: str) -> str:
    """The default target bucket name for a log bucket: ``<log bucket>-access-logs``."""
    suffix = "-access-logs"
    return log_bucket[: 63 - len(suffix)].rstrip(".-") + suffix


_ACCOUNT = re.compile(r"^[0-9]{12}\Z")


def check_account_id(account: str) -> str | None:
    """Check a 12-digit AWS account id."""
    if not _ACCOUNT.match(account):
        return f"'{account}' is not an AWS account id: use exactly 12 digits, e.g. 123456789012."
    return None


_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}\Z")


def check_organization_id(org: str) -> str | None:
    """Check an AWS Organizations id (``o-`` plus 10 to 32 lowercase letters or digits)."""
    if not _ORG_ID.match(org):
        return (
            f"'{org}' is not an organization id: it is 'o-' followed by 10 to 32 lowercase "
            "letters or digits, e.g. o-a1b2c3d4e5."
        )
    return None


_LOG_GROUP = re.compile(r"^[A-Za-z0-9_\-/.#]{1,512}\Z")


def check_log_group_name(name: str) -> str | None:
    """Check a CloudWatch Logs log group name."""
    if not _LOG_GROUP.match(name):
        return (
            f"'{name}' is not a valid log group name: use 1 to 512 characters from letters, "
            "digits, '_', '-', '/', '.' and '#', e.g. aws-cloudtrail-logs-acme."
        )
    if name.startswith("aws/"):
        return f"Log group names starting with 'aws/' are reserved for AWS; '{name}' is refused."
    return None


_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,256}\Z")


def check_topic_name(name: str) -> str | None:
    """Check an SNS standard topic name (not FIFO: CloudTrail cannot publish to FIFO topics)."""
    if name.endswith(".fifo"):
        return f"'{name}' is a FIFO topic; CloudTrail notifications need a standard topic."
    if not _TOPIC.match(name):
        return (
            f"'{name}' is not a valid SNS topic name: use 1 to 256 letters, digits, '-' or "
            "'_', e.g. acme-cloudtrail-notifications."
        )
    return None


_ROLE = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}\Z")


def check_role_name(name: str) -> str | None:
    """Check an IAM role name."""
    if not _ROLE.match(name):
        return (
            f"'{name}' is not a valid IAM role name: use 1 to 64 letters, digits or "
            "'+=,.@_-', e.g. CloudTrailToCloudWatchLogs."
        )
    return None


_ALIAS = re.compile(r"^alias/[A-Za-z0-9:/_-]{1,250}\Z")


def check_alias_name(alias: str) -> str | None:
    """Check a KMS alias name for a new key (``alias/NAME``)."""
    if not alias.startswith("alias/"):
        return f"KMS alias '{alias}' must start with 'alias/', e.g. alias/acme-cloudtrail."
    if len(alias) > 256:
        return f"KMS alias '{alias}' has {len(alias)} characters; at most 256 are allowed."
    if not _ALIAS.match(alias):
        return (
            f"KMS alias '{alias}' may contain only letters, digits and ':/_-' after 'alias/', "
            "e.g. alias/acme-cloudtrail."
        )
    if alias.lower().startswith("alias/aws/"):
        return (
            f"KMS alias '{alias}' uses the prefix 'alias/aws/', reserved for AWS managed keys; "
            "choose another name, e.g. alias/acme-cloudtrail."
        )
    return None


@dataclass(frozen=True)
class Arn:
    """A parsed Amazon Resource Name."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Arn | None:
    """Split an ARN into its parts, or None when it is not shaped like an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[5]:
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def check_arn(text: str, *, service: str | None = None, what: str = "ARN") -> str | None:
    """Check an ARN's shape: known partition, the expected service, region and account."""
    arn = parse_arn(text)
    example = "e.g. arn:aws:iam::123456789012:role/LogReader"
    if arn is None:
        return (
            f"'{text}' is not an ARN: expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, "
            f"{example}."
        )
    if arn.partition not in partition_ids():
        return (
            f"'{text}' names partition '{arn.partition}'; known partitions are "
            f"{', '.join(partition_ids())}."
        )
    if service is not None and arn.service != service:
        return f"'{text}' is a {arn.service} ARN, but a {what} ({service}) ARN is needed."
    if arn.region and check_region(arn.region) is not None:
        return f"'{text}' names region '{arn.region}', which is not an AWS region."
    region_partition = partition_of(arn.region) if arn.region else None
    if region_partition is not None and region_partition.id != arn.partition:
        return (
            f"'{text}' names region '{arn.region}', which is in partition "
            f"'{region_partition.id}', not '{arn.partition}'; use "
            f"arn:{region_partition.id}:... for that region."
        )
    if arn.account and arn.account != "aws" and check_account_id(arn.account) is not None:
        return f"'{text}' names account '{arn.account}'; account ids are 12 digits."
    return None


def check_principal_arn(text: str) -> str | None:
    """Check an IAM principal ARN (user, role, account root) or a bare account id."""
    if _ACCOUNT.match(text):
        return None
    problem = check_arn(text, service="iam", what="IAM principal")
    if problem:
        return problem
    arn = parse_arn(text)
    assert arn is not None
    kind, _, name = arn.resource.partition("/")
    if not (arn.resource == "root" or (kind in ("role", "user") and name.strip("/"))):
        return (
            f"'{text}' is not an IAM user, role or account root ARN "
            "(arn:aws:iam::123456789012:role/NAME, :user/NAME or :root)."
        )
    if arn.region:
        return f"'{text}' has a region; IAM ARNs have none (arn:aws:iam::ACCOUNT:...)."
    if not arn.account:
        return (
            f"'{text}' has no account id; IAM principal ARNs name one "
            "(arn:aws:iam::123456789012:role/NAME)."
        )
    return None


_KEY_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_MRK = re.compile(r"^mrk-[0-9a-f]{32}\Z")


@dataclass(frozen=True)
class KeyRef:
    """An existing KMS key reference, classified by its form."""

    form: str
    """One of ``key-id``, ``key-arn``, ``alias``, ``alias-arn``."""
    value: str
    """The reference exactly as given."""
    region: str | None
    """The region named by an ARN form, None for bare ids and aliases."""
    account: str | None
    """The account named by an ARN form."""
    multi_region: bool
    """True for multi-Region keys (``mrk-`` ids)."""


def classify_key_ref(text: str) -> KeyRef | str:
    """Classify an existing KMS key reference, or return why it is not one.

    Accepted: a key id (UUID or ``mrk-`` multi-Region id), a key ARN, ``alias/NAME`` and an
    alias ARN.
    """
    example = (
        "Use a key id (1234abcd-12ab-34cd-56ef-1234567890ab), a key ARN "
        "(arn:aws:kms:us-east-1:123456789012:key/ID), alias/NAME or an alias ARN."
    )
    if _KEY_UUID.match(text) or _MRK.match(text):
        return KeyRef("key-id", text, None, None, text.startswith("mrk-"))
    if text.startswith("alias/"):
        problem = _check_existing_alias(text)
        return problem or KeyRef("alias", text, None, None, False)
    arn = parse_arn(text)
    if arn is not None:
        problem = check_arn(text, service="kms", what="KMS key")
        if problem:
            return problem
        if not arn.region:
            return f"KMS ARN '{text}' has no region. {example}"
        if not arn.account:
            return f"KMS ARN '{text}' has no account id. {example}"
        if arn.resource.startswith("key/"):
            key_id = arn.resource[4:]
            if not (_KEY_UUID.match(key_id) or _MRK.match(key_id)):
                return f"'{key_id}' in '{text}' is not a KMS key id. {example}"
            return KeyRef("key-arn", text, arn.region, arn.account, key_id.startswith("mrk-"))
        if arn.resource.startswith("alias/"):
            problem = _check_existing_alias(arn.resource)
            return problem or KeyRef("alias-arn", text, arn.region, arn.account, False)
        return f"'{text}' is a KMS ARN but neither a key nor an alias. {example}"
    return f"'{text}' is not a KMS key reference. {example}"


def _check_existing_alias(alias: str) -> str | None:
    if not re.fullmatch(r"alias/[A-Za-z0-9:/_-]{1,250}", alias):
        return f"'{alias}' is not a valid alias name (alias/ then letters, digits, ':/_-')."
    return None


def check_tags(tags: dict[str, str]) -> str | None:
    """Check resource tags against AWS's common limits (50 tags, key 128, value 256).

    The key :data:`RUN_TAG` (``cloudtrail-wizard:run``) is the wizard's alone: every resource
    it creates carries it, and it is how a rollback tells the run's resources from everyone
    else's. (That tag also counts against AWS's 50: preflight's ``tags-limit`` says so with
    the numbers.)
    """
    if len(tags) > 50:
        return f"{len(tags)} tags given; a trail can have at most 50."
    for key, value in tags.items():
        if key == RUN_TAG:
            return (
                f"Tag key '{RUN_TAG}' is the wizard's own: it marks what a run "
                "created, so that a rollback never touches anything else. Use another key."
            )
        if not 1 <= len(key) <= 128:
            return f"Tag key '{key}' must have 1 to 128 characters."
        if key.lower().startswith("aws:"):
            return f"Tag key '{key}' uses the reserved prefix 'aws:'."
        if len(value) > 256:
            return f"The value of tag '{key}' has {len(value)} characters; at most 256."
        if not re.fullmatch(r"[\w\s.:/=+\-@]*", key + value):
            return (
                f"Tag '{key}={value}' contains characters AWS tags refuse; use letters, "
                "digits, spaces and _ . : / = + - @."
            )
    return None
