"""Each bundled lab, started in a real sandbox, failed and then solved by a scripted trainee.

The trainee works as a person would: boto3 calls over HTTP to the sandbox, the policies the
wizard generates (:mod:`wizard.policy.policies`) and merges (:mod:`wizard.policy.merge`).
The checks read through the wizard's own caller. One sandbox serves the whole module; each
test resets it to the demo account and seeds its lab.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_fixtures import ACCOUNT, REGION, dummy_session
from wizard.aws.clients import Boto3Caller, ClientFactory
from wizard.labs import Lab, find_lab, load_labs, run_checks
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.policy.merge import merge
from wizard.policy.policies import bucket_policy, key_policy
from wizard.sandbox.labs import Seeded, seed_lab

pytestmark = pytest.mark.aws

LABS = load_labs()
CTX = AccountContext(account_id=ACCOUNT, region=REGION)
AUDITOR = f"arn:aws:iam::{ACCOUNT}:role/SecurityAuditor"


class Trainee:
    """One trainee in the lab: starts it, acts, and asks for the checks."""

    def __init__(self, sandbox: Any, aws: Any, home: Path) -> None:
        self.sandbox = sandbox
        self.aws = aws
        self.home = home
        self.caller = Boto3Caller(
            ClientFactory(dummy_session(), endpoint_url=sandbox.endpoint_url, max_attempts=2)
        )
        self.lab: Lab | None = None
        self.seeded: Seeded | None = None

    def start(self, lab_id: str) -> dict[str, tuple[bool, str]]:
        """Start the lab; the checks' results before the trainee did anything (no lab is
        solved by its starting state, and every reason is a sentence, not a traceback)."""
        lab = find_lab(LABS, lab_id)
        assert lab is not None
        self.seeded = seed_lab(
            self.sandbox.endpoint_url, lab, home=self.home, deliver=self.sandbox.deliver_now
        )
        self.lab = lab
        results = self.check()
        assert failed(results), f"{lab_id} passes before the trainee did anything"
        assert all(reason and "Traceback" not in reason for _, reason in results.values())
        return results

    def check(self, answer: str | None = None) -> dict[str, tuple[bool, str]]:
        assert self.lab is not None
        return {
            r.id: (r.passed, r.reason)
            for r in run_checks(self.lab, self.caller, CTX, answer=answer)
        }

    def calls_and_deliver(self) -> None:
        self.aws("cloudtrail").describe_trails()
        self.aws("s3").list_buckets()
        self.sandbox.deliver_now()


def passed(results: dict[str, tuple[bool, str]]) -> set[str]:
    return {k for k, (ok, _) in results.items() if ok}


def failed(results: dict[str, tuple[bool, str]]) -> set[str]:
    return {k for k, (ok, _) in results.items() if not ok}


def wizard_names(trail: str, bucket: str, prefix: str = "", create: bool = True) -> Names:
    answers = Answers.model_validate(
        {
            "trail": {"name": trail},
            "bucket": {"name": bucket, "create": create, "prefix": prefix or None},
        }
    )
    return Names(answers, CTX)


def new_trail_with_bucket(aws: Any, bucket: str, prefix: str = "") -> None:
    """What the wizard's apply does for a new bucket: the bucket, its generated policy, the
    trail, logging on."""
    aws("s3").create_bucket(Bucket=bucket)
    policy = bucket_policy(wizard_names("lab-trail", bucket, prefix))
    aws("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    params: dict[str, Any] = {"Name": "lab-trail", "S3BucketName": bucket}
    if prefix:
        params["S3KeyPrefix"] = prefix
    aws("cloudtrail").create_trail(**params)
    aws("cloudtrail").start_logging(Name="lab-trail")


@pytest.fixture
def trainee(sandbox: Any, aws: Any, tmp_path: Path) -> Trainee:
    return Trainee(sandbox, aws, tmp_path / "home")


def test_01_permissions(trainee: Trainee) -> None:
    trainee.start("01-permissions")
    wrong = trainee.check(answer="cloudtrail:DescribeTrails")
    assert "may call cloudtrail:DescribeTrails" in wrong["missing-action"][1]
    # As the read-only identity, CreateTrail is refused by the sandbox.
    assert trainee.seeded is not None
    readonly = trainee.seeded.credentials["trainee-readonly"]
    full = trainee.seeded.credentials["trainee-full"]

    def as_user(credentials: Any) -> Any:
        return dummy_session().client(
            "cloudtrail",
            region_name=REGION,
            endpoint_url=trainee.sandbox.endpoint_url,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=None,
        )

    bucket = f"demo-central-logs-{ACCOUNT}"
    with pytest.raises(Exception, match=r"AccessDenied|not authorized"):
        as_user(readonly).create_trail(Name="lab-trail", S3BucketName=bucket)
    # The administrator creating it does not count.
    trainee.aws("cloudtrail").create_trail(Name="lab-trail", S3BucketName=bucket)
    trainee.aws("cloudtrail").start_logging(Name="lab-trail")
    results = trainee.check(answer="cloudtrail:CreateTrail")
    assert passed(results) == {"missing-action", "trail-logging"}
    assert "not by trainee-full" in results["created-by-full"][1]
    trainee.aws("cloudtrail").delete_trail(Name="lab-trail")
    as_user(full).create_trail(Name="lab-trail", S3BucketName=bucket)
    as_user(full).start_logging(Name="lab-trail")
    assert failed(trainee.check(answer="cloudtrail:CreateTrail")) == set()


def test_02_new_bucket(trainee: Trainee) -> None:
    trainee.start("02-new-bucket")
    bucket = f"lab-trail-logs-{ACCOUNT}"
    # A trainee who writes CloudTrail's policy without the trail's aws:SourceArn.
    trainee.aws("s3").create_bucket(Bucket=bucket)
    loose = bucket_policy(wizard_names("lab-trail", bucket))
    for statement in loose["Statement"]:
        equals = statement.get("Condition", {}).get("StringEquals")
        if equals is not None:
            equals.pop("aws:SourceArn", None)
            if not equals:
                del statement["Condition"]
    trainee.aws("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(loose))
    trainee.aws("cloudtrail").create_trail(Name="lab-trail", S3BucketName=bucket)
    trainee.aws("cloudtrail").start_logging(Name="lab-trail")
    results = trainee.check()
    assert failed(results) == {"policy-generated"}
    assert "any trail" in results["policy-generated"][1]
    policy = bucket_policy(wizard_names("lab-trail", bucket))
    trainee.aws("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert failed(trainee.check()) == set()


def test_03_existing_bucket(trainee: Trainee) -> None:
    trainee.start("03-existing-bucket")
    bucket = f"lab-shared-logs-{ACCOUNT}"
    names = wizard_names("lab-trail", bucket, create=False)
    required = bucket_policy(names)
    # Replaced, not merged: the analytics team's statements are gone.
    trainee.aws("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(required))
    trainee.aws("cloudtrail").create_trail(Name="lab-trail", S3BucketName=bucket)
    trainee.aws("cloudtrail").start_logging(Name="lab-trail")
    results = trainee.check()
    assert failed(results) == {"nothing-lost"}
    assert "AnalyticsRead" in results["nothing-lost"][1]
    assert "DenyObjectDeletion" in results["nothing-lost"][1]
    # Start over and merge, as the wizard does.
    trainee.sandbox.reset(seed=True)
    trainee.start("03-existing-bucket")
    existing = trainee.aws("s3").get_bucket_policy(Bucket=bucket)["Policy"]
    merged = merge(existing, required)
    trainee.aws("s3").put_bucket_policy(Bucket=bucket, Policy=merged.text)
    trainee.aws("cloudtrail").create_trail(Name="lab-trail", S3BucketName=bucket)
    trainee.aws("cloudtrail").start_logging(Name="lab-trail")
    assert failed(trainee.check()) == set()


def test_04_prefix(trainee: Trainee) -> None:
    assert "There is no trail named lab-trail" in trainee.start("04-prefix")["prefix"][1]
    bucket = f"lab-prefix-logs-{ACCOUNT}"
    new_trail_with_bucket(trainee.aws, bucket, prefix="team-a")
    results = trainee.check()
    assert failed(results) == {"files-landed", "where"}
    trainee.calls_and_deliver()
    wrong = trainee.check(answer=f"s3://{bucket}/AWSLogs/{ACCOUNT}/CloudTrail/")
    assert failed(wrong) == {"where"}
    assert "is not where" in wrong["where"][1]
    right = trainee.check(answer=f"s3://{bucket}/team-a/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/")
    assert failed(right) == set()


def _cloudtrail_key(aws: Any, region: str, trail_bucket: str) -> str:
    names = wizard_names("lab-trail", trail_bucket, create=False)
    kms = aws("kms", region)
    return str(kms.create_key(Policy=json.dumps(key_policy(names)))["KeyMetadata"]["Arn"])


def test_05_encryption(trainee: Trainee) -> None:
    results = trainee.start("05-encryption")
    assert "sse-kms" in failed(results)
    assert "SSE-S3" in results["sse-kms"][1]
    key = _cloudtrail_key(trainee.aws, REGION, f"lab-sse-logs-{ACCOUNT}")
    trainee.aws("kms").enable_key_rotation(KeyId=key)
    trainee.aws("cloudtrail").update_trail(Name="lab-trail", KmsKeyId=key)
    trainee.calls_and_deliver()
    assert failed(trainee.check()) == set()


def test_06_key_region(trainee: Trainee) -> None:
    trainee.start("06-key-region")
    eu_key = trainee.aws("kms", "eu-west-1").describe_key(KeyId="alias/lab-team-key")
    with pytest.raises(Exception, match=r"KmsKey|Kms|Insufficient|region"):
        trainee.aws("cloudtrail").update_trail(
            Name="lab-trail", KmsKeyId=eu_key["KeyMetadata"]["Arn"]
        )
    assert failed(trainee.check()) >= {"sse-kms", "same-region"}
    ready = trainee.aws("kms").describe_key(KeyId="alias/cloudtrail-ready")["KeyMetadata"]["Arn"]
    trainee.aws("cloudtrail").update_trail(Name="lab-trail", KmsKeyId=ready)
    trainee.calls_and_deliver()
    assert failed(trainee.check()) == set()


def test_07_decrypt(trainee: Trainee) -> None:
    results = trainee.start("07-decrypt")
    assert failed(results) == {"scoped"}
    assert "anyone" in results["scoped"][1]
    kms = trainee.aws("kms")
    key_id = kms.describe_key(KeyId="alias/lab-logs-key")["KeyMetadata"]["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "EveryoneMayDecrypt"]
    policy["Statement"].append(
        {
            "Sid": "AuditorsDecryptLogs",
            "Effect": "Allow",
            "Principal": {"AWS": AUDITOR},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
                    )
                }
            },
        }
    )
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
    assert failed(trainee.check()) == set()


def test_08_broken_trail(trainee: Trainee) -> None:
    results = trainee.start("08-broken-trail")
    assert failed(results) == {"policy-allows", "delivers"}
    assert "AccessDenied" in results["delivers"][1]
    bucket = f"lab-broken-logs-{ACCOUNT}"
    existing = trainee.aws("s3").get_bucket_policy(Bucket=bucket)["Policy"]
    merged = merge(existing, bucket_policy(wizard_names("lab-trail", bucket, create=False)))
    trainee.aws("s3").put_bucket_policy(Bucket=bucket, Policy=merged.text)
    assert failed(trainee.check()) == {"delivers"}  # fixed, but not delivered again yet
    trainee.calls_and_deliver()
    assert failed(trainee.check()) == set()


def _log_keys(aws: Any, bucket: str) -> list[str]:
    listed = aws("s3").list_objects_v2(Bucket=bucket, Prefix=f"AWSLogs/{ACCOUNT}/CloudTrail/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_09_tampered_log(trainee: Trainee) -> None:
    results = trainee.start("09-tampered-log")
    bucket = f"lab-integrity-logs-{ACCOUNT}"
    keys = _log_keys(trainee.aws, bucket)
    assert len(keys) >= 2
    assert "needs your answer" in results["tampered"][1]
    # The trainee's method: find the file whose records say what the tamperer wrote... by
    # validation's verdict, not by the seed's secret: compare each file with its digest.
    from wizard.health.integrity import validate_trail

    report = validate_trail(trainee.caller, "lab-trail", region=REGION)
    bad = [f.key for f in report.files if f.kind == "log" and not f.valid]
    assert len(bad) == 1
    good = next(k for k in keys if k not in bad)
    wrong = trainee.check(answer=good.rsplit("/", 1)[-1])
    assert "validates" in wrong["tampered"][1] and not wrong["tampered"][0]
    assert not trainee.check(answer="nonsense.json.gz")["tampered"][0]
    assert trainee.check(answer=bad[0].rsplit("/", 1)[-1])["tampered"][0]
    assert trainee.check(answer=f"s3://{bucket}/{bad[0]}")["tampered"][0]


def test_10_own_calls(trainee: Trainee) -> None:
    trainee.start("10-own-calls")
    bucket = f"lab-activity-logs-{ACCOUNT}"
    trainee.calls_and_deliver()
    results = trainee.check(answer="00000000-0000-0000-0000-000000000000")
    assert failed(results) == {"your-call"}
    key = _log_keys(trainee.aws, bucket)[0]
    body = trainee.aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    records = json.loads(gzip.decompress(body))["Records"]
    event_id = next(r["eventID"] for r in records if r["eventName"] == "DescribeTrails")
    assert failed(trainee.check(answer=event_id)) == set()
