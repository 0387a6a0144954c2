"""Tests for the StackSet export (wizard.export.stackset) and ``export --format stackset``.

The directory it writes must hold a member template that is the CloudFormation export's for a
central bucket (cfn-lint clean, checkov failing only what the answers chose), the
``CreateStackSet`` / ``CreateStackInstances`` inputs with the deployment settings, and central
statements that let exactly the StackSet's trails of the organization write, judged with the
wizard's policy evaluator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import tests.wizard.export.test_cloudformation as cfn
from screens.cli.main import main
from screens.common.errors import EXIT_INVALID, EXIT_OK
from tests.wizard.export.test_terraform import checkov_executable
from wizard.export.cloudformation import failing_check_ids
from wizard.export.stackset import (
    MANAGED_TAG,
    StackSetOptions,
    StackSetProblem,
    check_answers,
    member_template,
    stack_set_files,
)
from wizard.model.answers import Answers
from wizard.model.context import AccountContext
from wizard.policy.access import Principal, Request, evaluate

ORG = "o-a1b2c3d4e5"
OU = "ou-ab12-11111111"
OU2 = "ou-ab12-22222222"
LOG_ACCOUNT = "999999999999"
KEY = f"arn:aws:kms:us-east-1:{LOG_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = f"central-cloudtrail-{LOG_ACCOUNT}"

ANSWERS: dict[str, dict[str, Any]] = {
    # The usual: a central bucket and key, CloudWatch Logs with a role per account.
    "central-key-logs": {
        "trail": {"name": "org-audit", "region": "us-east-1"},
        "bucket": {"name": BUCKET, "create": False, "account": LOG_ACCOUNT, "prefix": "org"},
        "encryption": {"type": "sse-kms", "key": KEY},
        "cloudwatch_logs": {"log_group": "org-audit-events", "retention_days": 365},
    },
    # SSE-S3, single region, a topic per account.
    "sse-s3-topic": {
        "trail": {"name": "member-trail", "region": "eu-west-1", "multi_region": False},
        "bucket": {"name": BUCKET, "create": False, "account": LOG_ACCOUNT},
        "encryption": {"type": "sse-s3"},
        "notifications": {"sns_topic": "member-trail-notifications"},
    },
}
CTX = AccountContext(account_id="123456789012", region="us-east-1")


def answers(name: str) -> Answers:
    return Answers.model_validate(ANSWERS[name])


def options(**extra: Any) -> StackSetOptions:
    values: dict[str, Any] = {
        "organization_id": ORG,
        "organizational_units": [OU2, OU],
        "regions": ["us-east-1"],
        "name": "cloudtrail-org-audit",
    }
    values.update(extra)
    return StackSetOptions(**values)


def files(name: str, **extra: Any) -> dict[str, str]:
    return stack_set_files(answers(name), CTX, options(**extra))


def test_the_directory_holds_template_settings_statements_and_readme() -> None:
    written = files("central-key-logs")
    assert set(written) == {
        "member-template.yaml",
        "stack-set.json",
        "stack-instances.json",
        "central-bucket-statements.json",
        "central-key-statements.json",
        "operator-policy.json",
        "README.md",
    }
    assert "central-key-statements.json" not in files("sse-s3-topic")
    readme = written["README.md"]
    for what in ("create-stack-set", "create-stack-instances", "activate-organizations-access"):
        assert what in readme


def test_deployment_settings_are_service_managed_with_automatic_deployment() -> None:
    written = files(
        "central-key-logs", retain_stacks_on_removal=True, failure_tolerance_percentage=10
    )
    create = json.loads(written["stack-set.json"])
    assert create["PermissionModel"] == "SERVICE_MANAGED"
    assert create["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": True}
    assert create["Capabilities"] == ["CAPABILITY_NAMED_IAM"]  # the delivery role is named
    assert {"Key": MANAGED_TAG, "Value": "org-audit"} in create["Tags"]
    assert "TemplateBody" not in create  # the template is its own file
    template = cfn.load_template(written["member-template.yaml"])
    defaults = {k: str(v["Default"]) for k, v in template["Parameters"].items() if "Default" in v}
    assert {p["ParameterKey"]: p["ParameterValue"] for p in create["Parameters"]} == defaults
    assert defaults["BucketName"] == BUCKET
    assert defaults["KmsKeyId"] == KEY
    instances = json.loads(written["stack-instances.json"])
    assert instances["DeploymentTargets"] == {"OrganizationalUnitIds": [OU, OU2]}
    assert instances["Regions"] == ["us-east-1"]
    assert instances["OperationPreferences"] == {
        "RegionConcurrencyType": "PARALLEL",
        "FailureTolerancePercentage": 10,
        "MaxConcurrentPercentage": 25,
    }
    assert instances["CallAs"] == create["CallAs"] == "SELF"
    delegated = json.loads(files("sse-s3-topic", call_as="DELEGATED_ADMIN")["stack-set.json"])
    assert delegated["CallAs"] == "DELEGATED_ADMIN"
    assert "Capabilities" not in delegated


def test_member_template_says_the_central_statements_once() -> None:
    template = files("central-key-logs")["member-template.yaml"]
    header = template.split("AWSTemplateFormatVersion")[0]
    assert "StackSet's member template" in header
    assert "central-bucket-statements.json and central-key-statements.json" in header
    # No per-account statements to merge: the central ones name the organization.
    assert "Bucket policy of the existing bucket" not in header
    assert "Key policy of the existing key" not in header
    doc = cfn.load_template(template)
    props = doc["Resources"]["Trail"]["Properties"]
    assert props["S3BucketName"] == {"Ref": "BucketName"}
    assert props["KMSKeyId"] == {"Ref": "KmsKeyId"}
    # The central key is not opened to every member's CloudWatch Logs.
    assert "KmsKeyId" not in doc["Resources"]["TrailLogGroup"]["Properties"]


def _judge(policy: dict[str, Any], action: str, resource: str, context: dict[str, Any]) -> bool:
    request = Request(
        principal=Principal.service("cloudtrail.amazonaws.com"),
        action=action,
        resource=resource,
        context=context,
    )
    return bool(evaluate(json.dumps(policy), request).allowed)


@pytest.mark.parametrize(
    ("trail", "org", "allowed"),
    [
        ("arn:aws:cloudtrail:us-east-1:111111111111:trail/org-audit", ORG, True),
        ("arn:aws:cloudtrail:eu-west-1:222222222222:trail/org-audit", ORG, True),
        ("arn:aws:cloudtrail:us-east-1:111111111111:trail/another", ORG, False),
        ("arn:aws:cloudtrail:us-east-1:111111111111:trail/org-audit", "o-zzzzzzzzzz", False),
        ("arn:aws:cloudtrail:us-east-1:111111111111:trail/org-audit", None, False),
    ],
)
def test_central_statements_let_exactly_the_stacksets_trails_of_the_organization_write(
    trail: str, org: str | None, allowed: bool
) -> None:
    written = files("central-key-logs")
    bucket = json.loads(written["central-bucket-statements.json"])
    key = json.loads(written["central-key-statements.json"])
    account = trail.split(":")[4]
    context: dict[str, Any] = {"aws:SourceArn": trail, "aws:SourceAccount": account}
    if org:
        context["aws:SourceOrgID"] = org
    path = f"arn:aws:s3:::{BUCKET}/org/AWSLogs/{account}/CloudTrail/x.json.gz"
    assert _judge(bucket, "s3:GetBucketAcl", f"arn:aws:s3:::{BUCKET}", context) is allowed
    put = {**context, "s3:x-amz-acl": "bucket-owner-full-control"}
    assert _judge(bucket, "s3:PutObject", path, put) is allowed
    encrypt = {**context, "kms:EncryptionContext:aws:cloudtrail:arn": trail}
    assert _judge(key, "kms:GenerateDataKey", KEY, encrypt) is allowed
    assert _judge(key, "kms:DescribeKey", KEY, context) is allowed
    # Never outside the prefix, and never without the ACL CloudTrail sends.
    assert not _judge(bucket, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/other/x", put)
    assert not _judge(bucket, "s3:PutObject", path, context)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"trail": {"name": "org-audit", "organization": True}}, "organization trail"),
        ({"bucket": {"name": BUCKET, "create": True}}, "central bucket"),
        ({"bucket": {"name": BUCKET, "create": False}}, "central bucket"),
        ({"encryption": {"type": "sse-kms", "key": "alias/central"}}, "key ARN"),
    ],
)
def test_answers_one_template_cannot_serve_are_refused(
    change: dict[str, Any], message: str
) -> None:
    data = {**ANSWERS["central-key-logs"], **change}
    if "bucket" in change:
        data.pop("encryption")
    with pytest.raises(StackSetProblem, match=message):
        check_answers(Answers.model_validate(data))


def test_regions_that_would_clash_are_refused() -> None:
    with pytest.raises(StackSetProblem, match="multi-region"):
        check_answers(answers("central-key-logs"), options(regions=["us-east-1", "eu-west-1"]))
    single = Answers.model_validate(
        {**ANSWERS["central-key-logs"], "trail": {"name": "t-one", "multi_region": False}}
    )
    with pytest.raises(StackSetProblem, match="IAM is global"):
        check_answers(single, options(regions=["us-east-1", "eu-west-1"]))
    check_answers(answers("sse-s3-topic"), options(regions=["us-east-1", "eu-west-1"]))


# --------------------------------------------------------------------------- command


def _write_answers(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(ANSWERS[name]))
    return path


def test_export_command_writes_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_answers(tmp_path, "central-key-logs")
    out = tmp_path / "stackset"
    args = ["export", str(path), "--format", "stackset", "--organization-id", ORG]
    code = main([*args, "--output", str(out), "--ou", OU, "--ou", OU2, "--regions", "us-east-1"])
    assert code == EXIT_OK
    assert "Start with README.md" in capsys.readouterr().err
    expected = stack_set_files(answers("central-key-logs"), CTX, options())
    assert {p.name: p.read_text() for p in out.iterdir()} == expected


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ou", OU], "--output DIR"),
        (["--output", "DIR"], "--ou ou-"),
        (["--output", "DIR", "--ou", "ou-bad"], "not an organizational unit"),
        (["--output", "DIR", "--ou", OU, "--account", "123456789012"], "Remove --account"),
    ],
)
def test_export_command_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    path = _write_answers(tmp_path, "central-key-logs")
    argv = ["export", str(path), "--format", "stackset", "--organization-id", ORG]
    argv += [str(tmp_path / "out") if a == "DIR" else a for a in extra]
    assert main(argv) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert message in err
    assert not (tmp_path / "out").exists()
    assert main(["export", str(path), "--format", "stackset", "--output", "x", "--ou", OU]) == (
        EXIT_INVALID
    )
    assert "--organization-id o-" in capsys.readouterr().err


# --------------------------------------------------------------------------- scanners


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("member-templates")
    for name in ANSWERS:
        (directory / f"{name}.yaml").write_text(member_template(answers(name), CTX))
    return directory


def test_member_templates_pass_cfn_lint(templates: Path) -> None:
    executable = Path(sys.executable).with_name("cfn-lint")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run(
        [*command, "--format", "json", "--", *sorted(str(p) for p in templates.glob("*.yaml"))],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors = [m for m in json.loads(result.stdout or "[]") if m["Level"] == "Error"]
    assert errors == []


def test_member_templates_fail_in_checkov_only_what_the_answers_chose(templates: Path) -> None:
    executable = checkov_executable()
    if executable is None:
        pytest.fail("checkov is not installed: run `make .venv-checkov/bin/checkov`.")
    result = subprocess.run(
        [
            executable,
            "-d",
            str(templates),
            "--framework",
            "cloudformation",
            "--compact",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=templates,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    ran: dict[str, set[str]] = {name: set() for name in ANSWERS}
    failed: dict[str, set[str]] = {name: set() for name in ANSWERS}
    for part in report if isinstance(report, list) else [report]:
        for check in part["results"].get("passed_checks", []):
            ran[Path(check["file_path"]).stem].add(check["check_id"])
        for check in part["results"].get("failed_checks", []):
            ran[Path(check["file_path"]).stem].add(check["check_id"])
            failed[Path(check["file_path"]).stem].add(check["check_id"])
    note = "central"
    for name in ANSWERS:
        assert {"CKV_AWS_35", "CKV_AWS_36", "CKV_AWS_67"} <= ran[name]
        declared = failing_check_ids(answers(name), CTX, central=note)
        assert failed[name] == declared & ran[name], name
    assert "CKV_AWS_158" in failed["central-key-logs"]  # explained in the template
