"""Every preflight finding, triggered and not triggered, on the seeded sandbox over HTTP.

Each case sets the account up with plain boto3 (or, where the strict sandbox refuses the
setup itself, writes it straight into moto's backend), plans through the engine exactly as
the command line does, and checks the finding's code, severity and message: it must name
the resource and say how to fix it. Each has a clean twin where the finding must not
appear. For error findings, apply must refuse the plan with nothing sent: the emulator
server received no mutating request at all, which is stronger than "nothing visible was
created".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox_fixtures import ACCOUNT, OTHER_ACCOUNT, RequestLog
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.plan import Finding, Plan

NEW_BUCKET = "audit-trail-logs-123456789012"
APP_BUCKET = f"demo-app-data-{ACCOUNT}"
CENTRAL_BUCKET = f"demo-central-logs-{ACCOUNT}"
OTHER_BUCKET = f"other-account-logs-{OTHER_ACCOUNT}"
TRAIL = "audit-trail"
CLOUDTRAIL = "cloudtrail.amazonaws.com"

Setup = Callable[[Any, Any], None]
"""(aws, other_account) -> None: prepares the account with plain boto3."""


def answers(**sections: dict[str, Any]) -> dict[str, Any]:
    """A small valid answers document (new bucket, SSE-S3) with ``sections`` merged in."""
    doc: dict[str, Any] = {
        "trail": {"name": TRAIL},
        "bucket": {"name": NEW_BUCKET},
        "encryption": {"type": "sse-s3"},
    }
    for name, values in sections.items():
        doc[name] = {**doc.get(name, {}), **values}
    return doc


EXISTING = {"name": APP_BUCKET, "create": False}
KMS_READY = {"type": "sse-kms", "key": "alias/cloudtrail-ready"}


# --------------------------------------------------------------------------- setups


def other_account_bucket(aws: Any, other: Any) -> None:
    assert other("sts").get_caller_identity()["Account"] == OTHER_ACCOUNT
    other("s3").create_bucket(Bucket=OTHER_BUCKET)
    # Not ours: the demo account does not list it.
    assert OTHER_BUCKET not in [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]


def other_account_central_bucket(aws: Any, other: Any) -> None:
    """The other account's bucket, its policy already letting our trails deliver (the owner's
    job for a central log bucket)."""
    other_account_bucket(aws, other)
    statements = [
        {
            "Sid": "AWSCloudTrailAclCheck20131101",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:GetBucketAcl",
            "Resource": f"arn:aws:s3:::{OTHER_BUCKET}",
        },
        {
            "Sid": "AWSCloudTrailWrite20131101",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{OTHER_BUCKET}/AWSLogs/{ACCOUNT}/*",
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceAccount": ACCOUNT,
                }
            },
        },
    ]
    other("s3").put_bucket_policy(
        Bucket=OTHER_BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements})
    )


def requester_pays(aws: Any, other: Any) -> None:
    aws("s3").put_bucket_request_payment(
        Bucket=APP_BUCKET, RequestPaymentConfiguration={"Payer": "Requester"}
    )


def bucket_with_policy(*statements: dict[str, Any]) -> Setup:
    def setup(aws: Any, other: Any) -> None:
        aws("s3").create_bucket(Bucket="guarded-logs-123456789012")
        aws("s3").put_bucket_policy(
            Bucket="guarded-logs-123456789012",
            Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
        )

    return setup


VPCE_ONLY = {
    "Sid": "OnlyThroughOurEndpoint",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::guarded-logs-123456789012/*",
    "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
}
NO_CLOUDTRAIL = {
    "Sid": "NoCloudTrailWrites",
    "Effect": "Deny",
    "Principal": {"Service": CLOUDTRAIL},
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::guarded-logs-123456789012/*",
}
NO_DELETES = {
    "Sid": "NobodyDeletes",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:DeleteObject",
    "Resource": "arn:aws:s3:::guarded-logs-123456789012/*",
}
GUARDED = {"name": "guarded-logs-123456789012", "create": False}


def malformed_bucket_policy(aws: Any, other: Any) -> None:
    # The strict sandbox refuses a malformed policy, as S3 does ...
    with pytest.raises(ClientError) as refused:
        aws("s3").put_bucket_policy(Bucket=APP_BUCKET, Policy="not json")
    assert refused.value.response["Error"]["Code"] == "MalformedPolicy"
    # ... so a policy that got in some other way (an old API, a bug) is put in place
    # directly in moto's store, which keeps the raw bytes.
    from moto.s3.models import s3_backends

    s3_backends[ACCOUNT]["aws"].buckets[APP_BUCKET].policy = b"not json"


def pending_deletion_key(aws: Any, other: Any) -> None:
    kms = aws("kms")
    key_id = kms.create_key(Description="going away")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/going-away", TargetKeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)


def aws_managed_in_backend(aws: Any, other: Any) -> None:
    # moto cannot create AWS managed keys (it reports even alias/aws/s3 as CUSTOMER), so
    # this key is marked AWS managed in moto's store; DescribeKey over HTTP then says so.
    from moto.kms.models import kms_backends

    kms = aws("kms")
    key_id = kms.create_key(Description="aws/cloudtrail stand-in")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/managed-stand-in", TargetKeyId=key_id)
    kms_backends[ACCOUNT]["us-east-1"].keys[key_id].key_manager = "AWS"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyManager"] == "AWS"


def trails_in_us_west_2(count: int) -> Setup:
    """``count`` more single-region trails beside the seeded one (delivering to the central
    bucket, whose policy lets any trail of the account deliver)."""

    def setup(aws: Any, other: Any) -> None:
        cloudtrail = aws("cloudtrail", "us-west-2")
        for n in range(count):
            cloudtrail.create_trail(Name=f"extra-{n}", S3BucketName=CENTRAL_BUCKET)

    return setup


def multi_region_trail(aws: Any, other: Any) -> None:
    aws("cloudtrail").create_trail(
        Name="company-wide", S3BucketName=CENTRAL_BUCKET, IsMultiRegionTrail=True
    )


def organization(*, trusted_access: bool, features: str = "ALL") -> Setup:
    def setup(aws: Any, other: Any) -> None:
        org = aws("organizations")
        org.create_organization(FeatureSet=features)
        if trusted_access:
            org.enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)

    return setup


def cloudtrail_role(aws: Any, other: Any) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": CLOUDTRAIL}, "Action": "sts:AssumeRole"}
        ],
    }
    aws("iam").create_role(RoleName="TrailToLogs", AssumeRolePolicyDocument=json.dumps(trust))


def conditioned_cloudtrail_role(aws: Any, other: Any) -> None:
    """A delivery role whose trust a scanner "fixed": CloudTrail only with its source keys."""
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": trail_arn}
                },
            }
        ],
    }
    aws("iam").create_role(RoleName="TrailToLogs", AssumeRolePolicyDocument=json.dumps(trust))


def block_public_access(aws: Any, other: Any) -> None:
    aws("s3").put_public_access_block(
        Bucket=APP_BUCKET,
        PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
            True,
        ),
    )


# ---------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """A finding that must appear, and what its message must say."""

    id: str
    answers: dict[str, Any]
    code: str
    severity: str
    mentions: tuple[str, ...]
    """Substrings of the message: the resource, and how to fix it."""
    setup: Setup | None = None
    statement: bool = False
    """The finding carries the statement to add."""


@dataclass(frozen=True)
class Clean:
    """A near twin where the finding must not appear."""

    id: str
    answers: dict[str, Any]
    code: str
    setup: Setup | None = None
    expect: tuple[str, ...] = field(default=())
    """Codes that appear instead (the situation is judged, just not as a problem)."""


CASES = [
    Case(
        "bucket-not-found",
        answers(bucket={"name": "no-such-bucket-123456789012", "create": False}),
        "bucket-not-found",
        "error",
        ("no-such-bucket-123456789012", "set bucket.create to true"),
    ),
    Case(
        "bucket-exists-ours",
        answers(bucket={"name": APP_BUCKET}),
        "bucket-exists",
        "error",
        (APP_BUCKET, "you already own", "us-east-1", "set bucket.create to false"),
    ),
    Case(
        "bucket-exists-other-account",
        answers(bucket={"name": OTHER_BUCKET}),
        "bucket-exists",
        "error",
        (OTHER_BUCKET, "taken by another AWS account", "Pick another name"),
        setup=other_account_bucket,
    ),
    Case(
        "bucket-not-owned",
        answers(bucket={"name": OTHER_BUCKET, "create": False}),
        "bucket-not-owned",
        "error",
        (OTHER_BUCKET, "belongs to another account", "set bucket.account", "AWSLogs/"),
        setup=other_account_bucket,
        statement=True,
    ),
    Case(
        "bucket-requester-pays",
        answers(bucket=EXISTING),
        "bucket-requester-pays",
        "error",
        (APP_BUCKET, "Requester Pays", "Turn Requester Pays off"),
        setup=requester_pays,
    ),
    Case(
        "bucket-policy-insufficient",
        answers(bucket={**EXISTING, "update_policy": False}),
        "bucket-policy-insufficient",
        "error",
        (APP_BUCKET, "bucket.update_policy", "add these statements yourself", "s3:PutObject"),
        statement=True,
    ),
    Case(
        "bucket-policy-denies-vpce",
        answers(bucket=GUARDED),
        "bucket-policy-denies",
        "error",
        ("guarded-logs-123456789012", "OnlyThroughOurEndpoint", "Change or narrow that statement"),
        setup=bucket_with_policy(VPCE_ONLY),
    ),
    Case(
        "bucket-policy-denies-cloudtrail",
        answers(bucket=GUARDED),
        "bucket-policy-denies",
        "error",
        ("guarded-logs-123456789012", "NoCloudTrailWrites", "exclude cloudtrail.amazonaws.com"),
        setup=bucket_with_policy(NO_CLOUDTRAIL),
    ),
    Case(
        "bucket-policy-malformed",
        answers(bucket=EXISTING),
        "bucket-policy-malformed",
        "error",
        (APP_BUCKET, "not valid JSON", "fix the policy first"),
        setup=malformed_bucket_policy,
    ),
    Case(
        "kms-key-not-found",
        answers(encryption={"type": "sse-kms", "key": "alias/does-not-exist"}),
        "kms-key-not-found",
        "error",
        ("alias/does-not-exist", "us-east-1", "Check the key id or alias"),
    ),
    Case(
        "kms-region-mismatch-alias",
        # The alias lives in eu-west-1 (the trail's home), the new bucket in us-east-1.
        answers(
            trail={"region": "eu-west-1"},
            bucket={"region": "us-east-1"},
            encryption={"type": "sse-kms", "key": "alias/app-data-eu"},
        ),
        "kms-region-mismatch",
        "error",
        ("is in eu-west-1", f"bucket {NEW_BUCKET} is in us-east-1", "Use a key in us-east-1"),
    ),
    Case(
        "kms-key-not-symmetric",
        answers(encryption={"type": "sse-kms", "key": "alias/signing-key"}),
        "kms-key-not-symmetric",
        "error",
        ("alias/signing-key", "RSA_2048", "SIGN_VERIFY", "Choose another key"),
    ),
    Case(
        "kms-key-disabled",
        answers(encryption={"type": "sse-kms", "key": "alias/retired-key"}),
        "kms-key-disabled",
        "error",
        ("alias/retired-key", "is Disabled", "Enable it"),
    ),
    Case(
        "kms-key-pending-deletion",
        answers(encryption={"type": "sse-kms", "key": "alias/going-away"}),
        "kms-key-disabled",
        "error",
        ("alias/going-away", "is PendingDeletion", "Cancel the scheduled deletion"),
        setup=pending_deletion_key,
    ),
    Case(
        "kms-key-aws-managed-alias",
        # moto says CUSTOMER for alias/aws/s3; preflight knows the alias prefix is AWS's.
        answers(encryption={"type": "sse-kms", "key": "alias/aws/s3"}),
        "kms-key-aws-managed",
        "error",
        ("alias/aws/s3", "AWS managed key", "Use a customer managed key"),
    ),
    Case(
        "kms-key-aws-managed-keymanager",
        answers(encryption={"type": "sse-kms", "key": "alias/managed-stand-in"}),
        "kms-key-aws-managed",
        "error",
        ("alias/managed-stand-in", "AWS managed key", "encryption.key: new"),
        setup=aws_managed_in_backend,
    ),
    Case(
        "kms-policy-insufficient",
        answers(
            bucket={"region": "eu-west-1"},
            encryption={"type": "sse-kms", "key": "alias/app-data-eu", "update_key_policy": False},
        ),
        "kms-policy-insufficient",
        "error",
        ("alias/app-data-eu", "encryption.update_key_policy", "kms:GenerateDataKey"),
        statement=True,
    ),
    Case(
        # The seeded legacy-trail is homed in us-west-2: a multi-region trail of that name
        # homed in us-east-1 would be the same name in every region, and a trail cannot move.
        "trail-home-region",
        answers(trail={"name": "legacy-trail", "region": "us-east-1"}),
        "trail-home-region",
        "error",
        (
            "legacy-trail",
            "us-west-2",
            "cannot change a trail's home region",
            "set trail.region to us-west-2",
        ),
    ),
    Case(
        "trails-per-region-limit",
        answers(trail={"region": "us-west-2"}),
        "trails-per-region-limit",
        "error",
        ("us-west-2 already has 5 trails", "Delete an unused trail"),
        setup=trails_in_us_west_2(4),
    ),
    Case(
        "organization-not-ready-no-organization",
        answers(trail={"organization": True}),
        "organization-not-ready",
        "error",
        ("not in an AWS organization", "set trail.organization to false"),
    ),
    Case(
        "organization-not-ready-trusted-access-off",
        answers(trail={"organization": True}),
        "organization-not-ready",
        "error",
        ("trusted access for CloudTrail is off", "enable-aws-service-access"),
        setup=organization(trusted_access=False),
    ),
    Case(
        "organization-not-ready-consolidated-billing",
        answers(trail={"organization": True}),
        "organization-not-ready",
        "error",
        ("all features enabled",),
        setup=organization(trusted_access=True, features="CONSOLIDATED_BILLING"),
    ),
    Case(
        "cloudwatch-logs-arn-trust",
        answers(
            cloudwatch_logs={
                "log_group": "trail-events",
                "role": f"arn:aws:iam::{ACCOUNT}:role/AppReader",
            }
        ),
        "cloudwatch-logs-arn",
        "error",
        (f"arn:aws:iam::{ACCOUNT}:role/AppReader", "trust policy", "Add this statement"),
        statement=True,
    ),
    Case(
        "cloudwatch-role-trust-conditions",
        answers(
            cloudwatch_logs={
                "log_group": "trail-events",
                "role": f"arn:aws:iam::{ACCOUNT}:role/TrailToLogs",
            }
        ),
        "cloudwatch-role-trust-conditions",
        "error",
        (
            f"arn:aws:iam::{ACCOUNT}:role/TrailToLogs",
            "aws:SourceArn or aws:SourceAccount",
            "Remove the conditions",
        ),
        setup=conditioned_cloudtrail_role,
        statement=True,
    ),
    Case(
        "cloudwatch-logs-arn-other-account",
        answers(
            cloudwatch_logs={
                "log_group": "trail-events",
                "role": f"arn:aws:iam::{OTHER_ACCOUNT}:role/TrailToLogs",
            }
        ),
        "cloudwatch-logs-arn",
        "error",
        (
            f"arn:aws:iam::{OTHER_ACCOUNT}:role/TrailToLogs",
            OTHER_ACCOUNT,
            f"in this account ({ACCOUNT})",
        ),
    ),
    Case(
        "sns-topic-not-found",
        answers(notifications={"sns_topic": f"arn:aws:sns:us-east-1:{ACCOUNT}:no-such-topic"}),
        "sns-topic-not-found",
        "error",
        (f"arn:aws:sns:us-east-1:{ACCOUNT}:no-such-topic", "Check the ARN"),
    ),
    # --- warnings and info -----------------------------------------------------------------
    Case(
        "sse-s3-not-cis",
        answers(),
        "sse-s3-not-cis",
        "warning",
        ("SSE-S3", "choose sse-kms"),
    ),
    Case(
        "single-region",
        answers(trail={"multi_region": False}),
        "single-region",
        "warning",
        ("only us-east-1", "multi-region trail"),
    ),
    Case(
        "log-validation-off",
        answers(trail={"log_file_validation": False}),
        "log-validation-off",
        "warning",
        ("Log file validation is off", "trail.log_file_validation: true"),
    ),
    Case(
        "second-management-trail",
        answers(),
        "second-management-trail",
        "warning",
        ("company-wide", "events.management: none"),
        setup=multi_region_trail,
    ),
    Case(
        "data-events-log-bucket-excluded",
        answers(events={"data": [{"type": "s3", "resources": "all"}]}),
        "data-events-log-bucket-excluded",
        "info",
        (NEW_BUCKET, "leaves it out (resources.ARN NotStartsWith)"),
    ),
    Case(
        "data-events-log-bucket",
        answers(events={"data": [{"type": "s3", "resources": [f"arn:aws:s3:::{NEW_BUCKET}/"]}]}),
        "data-events-log-bucket",
        "error",
        (NEW_BUCKET, "a loop that grows the bill", f"Remove 'arn:aws:s3:::{NEW_BUCKET}/'"),
    ),
    Case(
        "kms-decrypt-account-wide",
        answers(encryption={"type": "sse-kms", "key": "new"}),
        "kms-decrypt-account-wide",
        "warning",
        ("any principal in this account", "encryption.decrypt_principals"),
    ),
    Case(
        "bucket-public-access",
        answers(bucket=EXISTING),
        "bucket-public-access",
        "warning",
        (APP_BUCKET, "turn on all four Block Public Access settings"),
    ),
    Case(
        "cloudwatch-retention-short",
        answers(cloudwatch_logs={"log_group": "trail-events", "retention_days": 30}),
        "cloudwatch-retention-short",
        "warning",
        ("trail-events", "30 days", "cloudwatch_logs.retention_days to 365"),
    ),
]

CLEAN = [
    Clean("bucket-not-found", answers(bucket=EXISTING), "bucket-not-found"),
    Clean("bucket-exists", answers(), "bucket-exists"),
    Clean(
        "bucket-not-owned",
        answers(bucket={**EXISTING, "name": OTHER_BUCKET, "account": OTHER_ACCOUNT}),
        "bucket-not-owned",
        setup=other_account_central_bucket,
        expect=("bucket-policy-ok",),
    ),
    Clean("bucket-requester-pays", answers(bucket=EXISTING), "bucket-requester-pays"),
    Clean(
        "bucket-policy-insufficient",
        answers(bucket=EXISTING),
        "bucket-policy-insufficient",
        expect=("bucket-policy-merge",),
    ),
    Clean(
        "bucket-policy-denies",
        answers(bucket=GUARDED),
        "bucket-policy-denies",
        setup=bucket_with_policy(NO_DELETES),
        expect=("bucket-policy-merge",),
    ),
    Clean("bucket-policy-malformed", answers(bucket=EXISTING), "bucket-policy-malformed"),
    Clean("kms-key-not-found", answers(encryption=KMS_READY), "kms-key-not-found"),
    Clean(
        "kms-region-mismatch",
        answers(
            bucket={"region": "eu-west-1"},
            encryption={"type": "sse-kms", "key": "alias/cloudtrail-ready-eu"},
        ),
        "kms-region-mismatch",
    ),
    Clean("kms-key-not-symmetric", answers(encryption=KMS_READY), "kms-key-not-symmetric"),
    Clean("kms-key-disabled", answers(encryption=KMS_READY), "kms-key-disabled"),
    Clean(
        "kms-key-aws-managed",
        answers(encryption=KMS_READY),
        "kms-key-aws-managed",
        expect=("kms-policy-ok",),
    ),
    Clean(
        "kms-policy-insufficient",
        answers(
            bucket={"region": "eu-west-1"},
            encryption={"type": "sse-kms", "key": "alias/app-data-eu"},
        ),
        "kms-policy-insufficient",
        expect=("kms-policy-merge",),
    ),
    Clean(
        "trail-home-region",
        # The same trail in its own home region: it is updated, not refused.
        answers(trail={"name": "legacy-trail", "region": "us-west-2"}),
        "trail-home-region",
    ),
    Clean(
        "trails-per-region-limit",
        answers(trail={"region": "us-west-2"}),
        "trails-per-region-limit",
        setup=trails_in_us_west_2(3),
    ),
    Clean(
        "organization-not-ready",
        answers(trail={"organization": True}),
        "organization-not-ready",
        setup=organization(trusted_access=True),
    ),
    Clean(
        "cloudwatch-logs-arn",
        answers(
            cloudwatch_logs={
                "log_group": "trail-events",
                "role": f"arn:aws:iam::{ACCOUNT}:role/TrailToLogs",
            }
        ),
        "cloudwatch-logs-arn",
        setup=cloudtrail_role,
        expect=("cloudwatch-role-permissions",),
    ),
    Clean(
        "cloudwatch-role-trust-conditions",
        answers(
            cloudwatch_logs={
                "log_group": "trail-events",
                "role": f"arn:aws:iam::{ACCOUNT}:role/TrailToLogs",
            }
        ),
        "cloudwatch-role-trust-conditions",
        setup=cloudtrail_role,
        expect=("cloudwatch-role-permissions",),
    ),
    Clean(
        "sns-topic-not-found",
        answers(
            notifications={"sns_topic": f"arn:aws:sns:us-east-1:{ACCOUNT}:demo-security-alerts"}
        ),
        "sns-topic-not-found",
        expect=("sns-policy-merge",),
    ),
    Clean("sse-s3-not-cis", answers(encryption=KMS_READY), "sse-s3-not-cis"),
    Clean("single-region", answers(), "single-region"),
    Clean("log-validation-off", answers(), "log-validation-off"),
    Clean("second-management-trail", answers(), "second-management-trail"),
    Clean(
        "second-management-trail-data-only",
        answers(events={"management": "none", "data": [{"type": "s3", "resources": "all"}]}),
        "second-management-trail",
        setup=multi_region_trail,
    ),
    Clean("data-events-log-bucket-excluded", answers(), "data-events-log-bucket-excluded"),
    Clean(
        "data-events-log-bucket",
        answers(events={"data": [{"type": "s3", "resources": [f"arn:aws:s3:::{APP_BUCKET}/"]}]}),
        "data-events-log-bucket",
    ),
    Clean(
        "data-events-log-bucket-reads",
        answers(
            events={
                "data": [
                    {
                        "type": "s3",
                        "resources": [f"arn:aws:s3:::{NEW_BUCKET}/"],
                        "read_write": "read",
                    }
                ]
            }
        ),
        "data-events-log-bucket",
    ),
    Clean(
        "kms-decrypt-account-wide",
        answers(
            encryption={
                "type": "sse-kms",
                "key": "new",
                "decrypt_principals": [f"arn:aws:iam::{ACCOUNT}:role/AppReader"],
            }
        ),
        "kms-decrypt-account-wide",
    ),
    Clean(
        "bucket-public-access",
        answers(bucket=EXISTING),
        "bucket-public-access",
        setup=block_public_access,
    ),
    Clean(
        "cloudwatch-retention-short",
        answers(cloudwatch_logs={"log_group": "trail-events", "retention_days": 365}),
        "cloudwatch-retention-short",
    ),
]


def by_code(plan: Plan, code: str) -> list[Finding]:
    return [f for f in plan.findings if f.code == code]


def test_every_case_is_a_distinct_situation() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
    # Every code that is triggered has a clean twin.
    assert {c.code for c in CASES} <= {c.code for c in CLEAN}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_finding_appears(
    case: Case,
    engine: Engine,
    aws: Any,
    other_account: Any,
    server_log: RequestLog,
    tmp_path: Path,
) -> None:
    if case.setup is not None:
        case.setup(aws, other_account)
    server_log.clear()
    parsed = Answers.model_validate(case.answers)

    plan, found = engine.plan(parsed)

    matches = by_code(plan, case.code)
    assert len(matches) == 1, [f.code for f in plan.findings]
    finding = matches[0]
    assert finding.severity == case.severity
    for text in case.mentions:
        assert text in finding.message, f"{text!r} not in: {finding.message}"
    if case.statement:
        assert finding.statement is not None and finding.statement["Statement"]
        assert json.dumps(finding.statement["Statement"], indent=2) in finding.message
    # Planning only read: not one mutating request reached the emulator.
    assert server_log.mutating() == []
    if case.severity != "error":
        assert not any(f.severity == "error" for f in plan.findings), plan.findings
        return

    assert plan.blocked
    outcome = engine.apply(parsed, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "blocked"
    assert outcome.verification is None
    assert case.code in outcome.report.message or finding.message in outcome.report.message
    assert "Nothing was changed" in outcome.report.message
    assert server_log.mutating() == []
    trail_region = parsed.trail.region or "us-east-1"
    trails = aws("cloudtrail", trail_region).describe_trails()["trailList"]
    assert TRAIL not in [t["Name"] for t in trails]


@pytest.mark.parametrize("clean", CLEAN, ids=[c.id for c in CLEAN])
def test_finding_does_not_appear(
    clean: Clean, engine: Engine, aws: Any, other_account: Any
) -> None:
    if clean.setup is not None:
        clean.setup(aws, other_account)

    plan, _found = engine.plan(Answers.model_validate(clean.answers))

    codes = [f.code for f in plan.findings]
    assert clean.code not in codes
    # Clean means clean: no other error stands in for the one that is gone.
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    for code in clean.expect:
        assert code in codes
    assert codes, "a plan always has findings (at least the permission check's)"


def test_region_mismatch_names_both_regions_and_creates_nothing(
    engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    """The key ARN names eu-west-1; the trail and its new bucket are in us-east-1."""
    key_arn = aws("kms", "eu-west-1").describe_key(KeyId="alias/app-data-eu")["KeyMetadata"]["Arn"]
    parsed = Answers.model_validate(answers(encryption={"type": "sse-kms", "key": key_arn}))

    plan, found = engine.plan(parsed)

    (finding,) = by_code(plan, "kms-region-mismatch")
    assert f"{key_arn} is in eu-west-1, but the bucket {NEW_BUCKET} is in us-east-1" in (
        finding.message
    )
    outcome = engine.apply(parsed, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "blocked"
    assert server_log.mutating() == []
    with pytest.raises(ClientError) as missing:
        aws("s3").head_bucket(Bucket=NEW_BUCKET)
    assert missing.value.response["Error"]["Code"] == "404"
    for region in ("us-east-1", "eu-west-1"):
        assert TRAIL not in [
            t["Name"] for t in aws("cloudtrail", region).describe_trails()["trailList"]
        ]
