"""The Controls section of ``plan`` text and JSON, from plans built offline (pure planner)."""

from __future__ import annotations

import json
from pathlib import Path

from wizard.account.discovery import BucketFacts, Discovery
from wizard.export.text import controls_to_text, plan_to_json, plan_to_text
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.context import AccountContext
from wizard.model.plan import Plan
from wizard.plan.planner import build_plan
from wizard.policy.controls import plan_controls

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = "123456789012"
CTX = AccountContext(account_id=ACCOUNT, partition="aws", region="us-east-1")


def offline_plan(answers: Answers, pab: dict[str, bool] | None = None) -> Plan:
    """The plan for a new bucket, or an existing one with the given Block Public Access."""
    bucket = BucketFacts(
        name=answers.bucket.name,
        exists=not answers.bucket.create,
        owned=None if answers.bucket.create else True,
        region=None if answers.bucket.create else "us-east-1",
        public_access_block=pab,
    )
    return build_plan(answers, CTX, Discovery(context=CTX, bucket=bucket))


def sse_s3() -> Answers:
    return load_answers(ROOT / "examples" / "new-bucket-sse-s3.yaml")


def test_json_has_every_control_with_its_verdict_and_how_to_pass() -> None:
    doc = plan_to_json(offline_plan(sse_s3()))
    controls = {c["id"]: c for c in doc["controls"]}
    assert list(controls) == [
        "CloudTrail.1",
        "CloudTrail.4",
        "CloudTrail.2",
        "KMS.4",
        "CloudTrail.6",
        "CloudTrail.7",
        "S3.22",
        "S3.23",
        "Retention",
        "CloudTrail.5",
    ]
    assert {k: c["status"] for k, c in controls.items() if c["status"] == "fail"} == {
        "CloudTrail.2": "fail",
        "CloudTrail.7": "fail",
        "S3.22": "fail",
        "S3.23": "fail",
        "CloudTrail.5": "fail",
    }
    assert controls["S3.22"]["cis"] == {"v1.4.0": "3.10", "v3.0.0": "3.8", "v7.0": "4.8"}
    assert controls["S3.23"]["reason"] == "records no S3 object-level read events"
    assert "read_write read" in controls["S3.23"]["to_pass"]
    assert controls["CloudTrail.7"]["cis"] == {"v1.4.0": "3.6", "v3.0.0": "3.4", "v7.0": "4.4"}
    assert "bucket.access_logs" in controls["CloudTrail.7"]["to_pass"]
    assert controls["KMS.4"] == {
        "id": "KMS.4",
        "title": "Automatic rotation of the trail's KMS key",
        "cis": {"v1.4.0": "3.8", "v3.0.0": "3.6", "v7.0": "4.6"},
        "status": "not-applicable",
        "reason": "the trail has no KMS key",
        "to_pass": None,
    }
    json.dumps(doc)  # serialisable as printed


def test_text_has_a_controls_section_between_findings_and_steps() -> None:
    text = plan_to_text(offline_plan(sse_s3()))
    assert text.index("Findings:") < text.index("Controls (") < text.index("Plan (")
    section = text[text.index("Controls (") : text.index("Plan (")]
    assert "4 pass, 5 fail, 1 not applicable" in " ".join(section.split())
    lines = section.splitlines()
    assert (
        "  fail    CloudTrail.2 / CIS 4.5 (v7.0): Log files encrypted at rest with a KMS key "
        "(SSE-KMS)" in lines
    )
    assert "          log files use SSE-S3 (S3-managed keys), not a KMS key" in lines
    assert any(line.startswith("          to pass: choose SSE-KMS") for line in lines)
    assert any(line.startswith("  n/a     KMS.4 / CIS 4.6 (v7.0)") for line in lines)
    assert max(len(line) for line in lines) <= 98


def test_text_width_is_respected_for_narrow_terminals() -> None:
    lines = controls_to_text(plan_controls(offline_plan(sse_s3())), width=60)
    assert max(len(line) for line in lines) <= 60
    assert any("CloudTrail.7" in line for line in lines)


def test_an_existing_bucket_with_block_public_access_on_passes_cloudtrail_6() -> None:
    answers = load_answers(ROOT / "examples" / "existing-bucket-prefix.yaml")
    all_on = dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    blocked = {c.control.id: c for c in plan_controls(offline_plan(answers, all_on))}
    assert blocked["CloudTrail.6"].status == "pass"
    assert blocked["CloudTrail.6"].reason == "not public; Block Public Access is fully on"
    # Without it, preflight warns and the ACL is unknown until status reads it.
    plan = offline_plan(answers, None)
    assert "bucket-public-access" in [f.code for f in plan.findings]
    open_ = {c.control.id: c for c in plan_controls(plan)}
    assert open_["CloudTrail.6"].status == "after-apply"


def test_a_bucket_policy_that_lets_anyone_read_fails_cloudtrail_6() -> None:
    plan = offline_plan(load_answers(ROOT / "examples" / "existing-bucket-prefix.yaml"))
    public = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::demo-app-data-{ACCOUNT}/*",
                }
            ],
        }
    )
    opened = plan.model_copy(update={"policies": {**plan.policies, "bucket_policy": public}})
    result = {c.control.id: c for c in plan_controls(opened)}["CloudTrail.6"]
    assert result.status == "fail"
    assert result.reason == "the bucket is public: its bucket policy lets anyone read the log files"
    assert result.trade_off is not None and "Block Public Access" in result.trade_off


def test_a_plan_without_a_trail_step_is_not_applicable_for_the_bucket() -> None:
    plan = offline_plan(sse_s3())
    # No trail step and no trail the plan leaves (a plan that updates nothing keeps the
    # wanted settings in trail_settings and is judged on them).
    bare = plan.model_copy(update={"steps": [], "trail_settings": {}})
    results = {c.control.id: c.status for c in plan_controls(bare)}
    assert results["CloudTrail.6"] == results["CloudTrail.7"] == "not-applicable"
    assert results["CloudTrail.1"] == "fail"  # nothing planned records any region
