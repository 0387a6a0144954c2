"""The exports carry the log bucket's retention (bucket.retention): CloudFormation (read back
and linted with cfn-lint), Terraform (read back with an HCL parser, scanned by checkov) and the
CLI script (the same calls apply makes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.wizard.export.test_cloudformation import load_template
from tests.wizard.export.test_terraform import checkov_executable
from wizard.export.cloudformation import cloudformation_template
from wizard.export.terraform import skipped_check_ids, terraform_configuration
from wizard.model.answers import Answers
from wizard.model.context import AccountContext

ACCOUNT = "123456789012"
CTX = AccountContext(account_id=ACCOUNT, region="us-east-1")


def answers(**bucket: Any) -> Answers:
    return Answers.model_validate(
        {
            "trail": {"name": "kept-trail", "region": "us-east-1"},
            "bucket": {"name": f"kept-trail-logs-{ACCOUNT}", **bucket},
        }
    )


LOCKED = answers(
    prefix="org",
    retention={
        "transition_days": 30,
        "storage_class": "STANDARD_IA",
        "expire_days": 400,
        "noncurrent_expire_days": 400,
        "object_lock": {"mode": "COMPLIANCE", "days": 365},
    },
)
EXISTING = answers(create=False, retention={"transition_days": 0, "storage_class": "GLACIER"})


def test_cloudformation_gives_the_new_bucket_its_lifecycle_and_object_lock() -> None:
    text = cloudformation_template(LOCKED, CTX)
    props = load_template(text)["Resources"]["LogBucket"]["Properties"]

    assert props["LifecycleConfiguration"] == {
        "Rules": [
            {
                "Id": "cloudtrail-wizard-kept-trail",
                "Status": "Enabled",
                "Prefix": {"Fn::Sub": "${LogPrefix}/AWSLogs/"},
                "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}],
                "ExpirationInDays": 400,
                "NoncurrentVersionExpiration": {"NoncurrentDays": 400},
            }
        ]
    }
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE",
        "Days": 365,
    }
    assert "never make this bucket a server access log target" in text
    assert "COMPLIANCE: nobody can shorten" in text


def test_cloudformation_without_retention_has_neither() -> None:
    props = load_template(cloudformation_template(answers(), CTX))["Resources"]["LogBucket"][
        "Properties"
    ]
    assert not {"LifecycleConfiguration", "ObjectLockEnabled"} & set(props)


def test_an_existing_bucket_gets_the_rule_to_merge_by_hand() -> None:
    text = cloudformation_template(EXISTING, CTX)

    assert "get-bucket-lifecycle-configuration --bucket kept-trail-logs-123456789012" in text
    assert '"ID":"cloudtrail-wizard-kept-trail"' in text
    assert "LifecycleConfiguration" not in text


def test_cloudformation_with_retention_passes_cfn_lint(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("cfn-lint")
    path = tmp_path / "locked.yaml"
    path.write_text(cloudformation_template(LOCKED, CTX))

    result = subprocess.run(
        [str(executable), "--format", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    matches = json.loads(result.stdout or "[]")
    assert [m for m in matches if m["Level"] == "Error"] == [], matches


def _tf_resources(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    doc = hcl2.loads(text)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in doc.get("resource", []):
        for kind, named in entry.items():
            for name, body in named.items():
                out[(kind.strip('"'), name.strip('"'))] = body
    return out


def test_terraform_gives_the_new_bucket_its_lifecycle_and_object_lock() -> None:
    resources = _tf_resources(terraform_configuration(LOCKED, CTX))

    assert resources[("aws_s3_bucket", "logs")]["object_lock_enabled"] is True
    lock = resources[("aws_s3_bucket_object_lock_configuration", "logs")]
    default = lock["rule"][0]["default_retention"][0]
    assert (default["mode"].strip('"'), default["days"]) == ("COMPLIANCE", 365)
    life = resources[("aws_s3_bucket_lifecycle_configuration", "logs")]
    rule = life["rule"][0]
    assert rule["id"].strip('"') == "cloudtrail-wizard-kept-trail"
    assert rule["filter"][0]["prefix"].strip('"') == "${var.log_prefix}/AWSLogs/"
    assert rule["transition"][0]["days"] == 30
    assert rule["expiration"][0]["days"] == 400
    assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] == 400
    # With a lifecycle rule, checkov's lifecycle check is no longer skipped.
    assert "CKV2_AWS_61" not in skipped_check_ids(LOCKED, CTX)
    assert "CKV2_AWS_61" in skipped_check_ids(answers(), CTX)


def test_terraform_leaves_an_existing_buckets_lifecycle_to_merge_by_hand() -> None:
    text = terraform_configuration(EXISTING, CTX)

    assert "aws_s3_bucket_lifecycle_configuration" not in _tf_resources(text).__repr__()
    assert "get-bucket-lifecycle-configuration --bucket kept-trail-logs-123456789012" in text


def test_checkov_passes_the_lifecycle_check_on_terraform(tmp_path: Path) -> None:
    executable = checkov_executable()
    assert executable, "checkov is not installed: run `make .venv-checkov/bin/checkov`"
    (tmp_path / "main.tf").write_text(terraform_configuration(LOCKED, CTX))

    result = subprocess.run(
        [executable, "-d", str(tmp_path), "--framework", "terraform", "--compact",
         "--skip-download", "--output", "json", "--check", "CKV2_AWS_61"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=tmp_path,
    )  # fmt: skip

    report = json.loads(result.stdout)
    results = report["results"]
    passed = {c["check_id"] for c in results.get("passed_checks", [])}
    failed = {c["check_id"] for c in results.get("failed_checks", [])}
    assert "CKV2_AWS_61" in passed and "CKV2_AWS_61" not in failed


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to syntax-check")
def test_the_cli_script_sends_the_lifecycle_and_the_lock(tmp_path: Path) -> None:
    from screens.cli.main import main

    path = tmp_path / "answers.json"
    path.write_text(LOCKED.model_dump_json(exclude_none=True))
    out = tmp_path / "setup.sh"

    code = main(
        ["export", "--format", "cli", "--offline", "--account", ACCOUNT, str(path), "-o", str(out)]
    )

    assert code == 0
    script = out.read_text()
    assert "--object-lock-enabled-for-bucket" in script
    assert "aws s3api put-object-lock-configuration" in script
    assert "aws s3api put-bucket-lifecycle-configuration" in script
    assert '"Prefix": "org/AWSLogs/"' in script
    subprocess.run(["bash", "-n", str(out)], check=True)
