"""AWS limits through the whole engine, on the strict sandbox, over HTTP.

Each limit is met exactly (the plan is clean, apply succeeds, and the sandbox, as strict as
AWS, accepts the document) and missed by one (an error finding with the numbers, the plan
blocked, and not one mutating request reaches the emulator). The boundary cases are what
prove that preflight measures each document the way the service does: one byte of
disagreement would make one of the two twins fail.

Sizes are measured here with ``json`` and ``len``, not with :mod:`wizard.plan.limits`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.sandbox_fixtures import ACCOUNT, RequestLog
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.plan import Finding, Plan

BUCKET = f"limits-existing-logs-{ACCOUNT}"
NEW_BUCKET = f"limits-new-logs-{ACCOUNT}"
TOPIC = "demo-security-alerts"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:{TOPIC}"


def answers(**sections: Any) -> Answers:
    doc: dict[str, Any] = {
        "trail": {"name": "limits-trail"},
        "bucket": {"name": NEW_BUCKET},
        "encryption": {"type": "sse-s3"},
    }
    for name, values in sections.items():
        doc[name] = {**doc.get(name, {}), **values}
    return Answers.model_validate(doc)


def compact_bytes(text: str) -> int:
    return len(json.dumps(json.loads(text), separators=(",", ":")).encode())


def limit_finding(plan: Plan, code: str) -> Finding:
    found = [f for f in plan.findings if f.code == code]
    assert len(found) == 1, [f.code for f in plan.findings]
    assert found[0].severity == "error"
    return found[0]


def no_limit_findings(plan: Plan) -> None:
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]


def assert_blocked_and_untouched(
    engine: Engine, parsed: Answers, plan: Plan, found: Any, log: RequestLog, tmp_path: Path
) -> None:
    assert plan.blocked
    outcome = engine.apply(parsed, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "blocked"
    assert "Nothing was changed" in outcome.report.message
    assert log.mutating() == []


def applied(engine: Engine, parsed: Answers, plan: Plan, found: Any, tmp_path: Path) -> None:
    outcome = engine.apply(parsed, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message


# ---- a bucket policy the merge pushes past 20 KB -------------------------------------


def seed_bucket(aws: Any, padding: int) -> str:
    """The existing bucket with an unrelated, pretty-printed policy; returns its text."""
    s3 = aws("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
        s3.put_public_access_block(
            Bucket=BUCKET,
            PublicAccessBlockConfiguration=dict.fromkeys(
                (
                    "BlockPublicAcls",
                    "IgnorePublicAcls",
                    "BlockPublicPolicy",
                    "RestrictPublicBuckets",
                ),
                True,
            ),
        )
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyArchive",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{BUCKET}/archive/{'a' * padding}/*",
                }
            ],
        },
        indent=2,
    )
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy)
    return str(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])


def padding_for(engine: Engine, aws: Any, parsed: Answers, target: int) -> int:
    """The padding that makes the merged bucket policy exactly ``target`` bytes (compact)."""
    seed_bucket(aws, 1000)
    plan, _ = engine.plan(parsed)
    return 1000 + target - compact_bytes(plan.policies["bucket_policy"])


def test_a_merged_bucket_policy_of_exactly_20_kb_is_applied(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    parsed = answers(bucket={"name": BUCKET, "create": False})
    seed_bucket(aws, padding_for(engine, aws, parsed, 20480))

    plan, found = engine.plan(parsed)

    no_limit_findings(plan)
    merged = plan.policies["bucket_policy"]
    assert compact_bytes(merged) == 20480
    applied(engine, parsed, plan, found, tmp_path)
    assert aws("s3").get_bucket_policy(Bucket=BUCKET)["Policy"] == merged


def test_a_merge_past_20_kb_is_refused_before_any_change(
    engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    parsed = answers(bucket={"name": BUCKET, "create": False})
    before = seed_bucket(aws, padding_for(engine, aws, parsed, 20481))
    server_log.clear()

    plan, found = engine.plan(parsed)

    finding = limit_finding(plan, "bucket-policy-too-large")
    assert finding.subject == BUCKET
    assert "20,481 bytes" in finding.message and "20,480" in finding.message
    assert f"current policy is {compact_bytes(before):,}" in finding.message
    assert_blocked_and_untouched(engine, parsed, plan, found, server_log, tmp_path)
    assert aws("s3").get_bucket_policy(Bucket=BUCKET)["Policy"] == before


# ---- a key policy past 32 KB through the decrypt principals ---------------------------


READERS_ACCOUNT = "111122223333"
"""The readers' account: another one, whose roles neither preflight nor KMS (the sandbox)
can look up from here, so thousands of them cost no IAM call (they are listed as not
checked, test_principals covers this account's own)."""


def readers(count: int, padding: int = 0) -> list[str]:
    base = f"arn:aws:iam::{READERS_ACCOUNT}:role/log-readers"
    names = [f"{base}/reader-{i:05d}" for i in range(count)]
    names[-1] = f"{base}/{'p' * padding}/reader-last"
    return names


def key_answers(principals: list[str]) -> Answers:
    return answers(encryption={"type": "sse-kms", "key": "new", "decrypt_principals": principals})


def test_a_key_policy_of_exactly_32_kb_is_applied(engine: Engine, aws: Any, tmp_path: Path) -> None:
    plan, _ = engine.plan(key_answers(readers(400, 10)))
    size = len(plan.policies["key_policy"].encode())
    assert size < 32768
    parsed = key_answers(readers(400, 10 + 32768 - size))

    plan, found = engine.plan(parsed)

    no_limit_findings(plan)
    assert len(plan.policies["key_policy"].encode()) == 32768
    applied(engine, parsed, plan, found, tmp_path)
    kms = aws("kms")
    key_id = kms.describe_key(KeyId=f"alias/{_alias(plan)}")["KeyMetadata"]["KeyId"]
    stored = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert len(stored.encode()) == 32768


def _alias(plan: Plan) -> str:
    return str(plan.step("create-alias").call.params["AliasName"]).removeprefix("alias/")


def test_thousands_of_decrypt_principals_are_refused_before_any_change(
    engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    parsed = key_answers(readers(2000))
    keys_before = aws("kms").list_keys()["Keys"]
    server_log.clear()

    plan, found = engine.plan(parsed)

    finding = limit_finding(plan, "key-policy-too-large")
    size = len(plan.policies["key_policy"].encode())
    assert size > 32768
    assert f"{size:,} bytes" in finding.message and "32,768" in finding.message
    assert "2,000 principals" in finding.message
    assert_blocked_and_untouched(engine, parsed, plan, found, server_log, tmp_path)
    assert aws("kms").list_keys()["Keys"] == keys_before


# ---- thousands of data selectors ------------------------------------------------------


def data_answers(prefixes: int) -> Answers:
    resources = [f"arn:aws:s3:::data-bucket-{i:04d}/" for i in range(prefixes)]
    return answers(events={"data": [{"type": "s3", "resources": resources}]})


def selector_values(plan: Plan) -> int:
    sent = plan.step("put-event-selectors").call.params["AdvancedEventSelectors"]
    return sum(
        len(values)
        for selector in sent
        for field in selector["FieldSelectors"]
        for key, values in field.items()
        if key != "Field"
    )


def test_exactly_500_selector_values_are_applied(engine: Engine, aws: Any, tmp_path: Path) -> None:
    # Management events (1 value) and the data selector's two fixed values leave 497.
    parsed = data_answers(497)

    plan, found = engine.plan(parsed)

    no_limit_findings(plan)
    assert selector_values(plan) == 500
    applied(engine, parsed, plan, found, tmp_path)
    stored = aws("cloudtrail").get_event_selectors(TrailName="limits-trail")
    assert (
        stored["AdvancedEventSelectors"]
        == plan.step("put-event-selectors").call.params["AdvancedEventSelectors"]
    )


def test_thousands_of_data_selectors_are_refused_before_any_change(
    engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    server_log.clear()
    parsed = data_answers(3000)

    plan, found = engine.plan(parsed)

    finding = limit_finding(plan, "event-selectors-limit")
    assert f"{selector_values(plan):,} values" in finding.message
    assert "at most 500" in finding.message and "3,000 resource ARN prefixes" in finding.message
    assert_blocked_and_untouched(engine, parsed, plan, found, server_log, tmp_path)
    assert "limits-trail" not in [
        t["Name"] for t in aws("cloudtrail").describe_trails()["trailList"]
    ]


def test_one_value_over_500_is_refused(engine: Engine) -> None:
    plan, _ = engine.plan(data_answers(498))
    assert selector_values(plan) == 501
    assert "501 values" in limit_finding(plan, "event-selectors-limit").message


# ---- a topic policy the merge pushes past 30 KB ---------------------------------------


def test_a_topic_policy_merge_past_30_kb_is_refused_before_any_change(
    engine: Engine, aws: Any, server_log: RequestLog, tmp_path: Path
) -> None:
    sns = aws("sns")
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"Owner{'x' * 30400}",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "SNS:Subscribe",
                    "Resource": TOPIC_ARN,
                }
            ],
        }
    )
    assert len(policy.encode()) <= 30720
    sns.set_topic_attributes(TopicArn=TOPIC_ARN, AttributeName="Policy", AttributeValue=policy)
    before = sns.get_topic_attributes(TopicArn=TOPIC_ARN)["Attributes"]["Policy"]
    server_log.clear()
    parsed = answers(notifications={"sns_topic": TOPIC_ARN})

    plan, found = engine.plan(parsed)

    finding = limit_finding(plan, "topic-policy-too-large")
    size = len(plan.policies["sns_topic_policy"].encode())
    assert size > 30720
    assert f"{size:,} bytes" in finding.message and "30,720" in finding.message
    assert_blocked_and_untouched(engine, parsed, plan, found, server_log, tmp_path)
    assert sns.get_topic_attributes(TopicArn=TOPIC_ARN)["Attributes"]["Policy"] == before


# ---- tags: the answers' tags plus the wizard's run tag --------------------------------


def tagged(count: int) -> Answers:
    return answers(
        trail={"name": "limits-trail", "tags": {f"team-{i:02d}": "audit" for i in range(count)}},
        encryption={"type": "sse-kms", "key": "new"},
    )


def test_49_tags_plus_the_run_tag_are_applied(engine: Engine, aws: Any, tmp_path: Path) -> None:
    parsed = tagged(49)

    plan, found = engine.plan(parsed)

    no_limit_findings(plan)
    applied(engine, parsed, plan, found, tmp_path)
    kms = aws("kms")
    key_id = kms.describe_key(KeyId=f"alias/{_alias(plan)}")["KeyMetadata"]["KeyId"]
    assert len(kms.list_resource_tags(KeyId=key_id)["Tags"]) == 50


def test_50_tags_plus_the_run_tag_are_refused_before_any_change(
    engine: Engine, server_log: RequestLog, tmp_path: Path
) -> None:
    server_log.clear()
    parsed = tagged(50)

    plan, found = engine.plan(parsed)

    finding = limit_finding(plan, "tags-limit")
    assert "51 tags" in finding.message and "at most 50" in finding.message
    assert "the KMS key" in finding.message
    assert_blocked_and_untouched(engine, parsed, plan, found, server_log, tmp_path)
