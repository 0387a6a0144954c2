"""``cloudtrail-wizard export --format cli``: against the sandbox, and offline.

The command runs in-process (``main([...])``) with the environment pointing the SDK at the
sandbox (``AWS_ENDPOINT_URL`` and dummy credentials), as a person would point it at any
endpoint. Each script must pass ``bash -n``, hold every step's command in plan order, and
capture every value a later command needs (no ``${step:Path}`` placeholder left, every shell
variable assigned before it is used). When the AWS CLI is installed, two scripts are also run
for real against the sandbox, which refuses what AWS refuses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore import xform_name

from screens.cli.main import main
from screens.common.errors import EXIT_INVALID, EXIT_OK
from tests.sandbox_fixtures import ACCOUNT
from wizard.export.text import CLI_SERVICE
from wizard.model.answers_file import load_answers
from wizard.model.context import AccountContext
from wizard.plan.offline import offline_plan
from wizard.sandbox.server import (
    DEMO_APP_BUCKET,
    Sandbox,
    remove_strict_patches,
    start_sandbox,
    strict_patches_installed,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = {p.stem: p for p in sorted((ROOT / "examples").glob("*.yaml"))}
ORG_ID = "o-a1b2c3d4e5"
PLACEHOLDER_TEXT = re.compile(r"\$\{[a-z0-9-]+:[A-Za-z0-9_.\[\]]+\}")
ASSIGNMENT = re.compile(r"(?:^|[\s;(])([A-Z][A-Z0-9_]*)=")
USE = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")
FROM_THE_ENVIRONMENT = {"WORK_DIR"}

pytestmark = pytest.mark.aws


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for this module (seeded per test); its strictness patches go afterwards.

    It starts empty: moto's state is process-wide, and other tests may have left resources
    that would collide with the seed; each test resets it first.
    """
    patched_before = strict_patches_installed()
    server = start_sandbox(seed=False)
    try:
        yield server
    finally:
        server.stop()
        if not patched_before:
            remove_strict_patches()  # later modules expect plain moto


@pytest.fixture
def sandbox_env(sandbox: Sandbox, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The sandbox, reset and re-seeded, with the environment pointing the SDK at it."""
    sandbox.reset(seed=True)
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    return sandbox


# --------------------------------------------------------------------------- helpers


def _shell_lines(text: str) -> list[tuple[int, str]]:
    """(index, line) of every line the shell runs or that is a comment; heredoc bodies out."""
    lines: list[tuple[int, str]] = []
    delimiter: str | None = None
    for index, line in enumerate(text.split("\n")):
        if delimiter is not None:
            if line == delimiter:
                delimiter = None
            continue
        m = re.search(r"<<'([A-Z_]+)'$", line)
        if m and not line.lstrip().startswith("#"):
            delimiter = m[1]
        lines.append((index, line))
    return lines


def assert_variables_captured(text: str) -> None:
    """No placeholder is left, and every shell variable is assigned before it is used."""
    assert not PLACEHOLDER_TEXT.search(text), PLACEHOLDER_TEXT.findall(text)
    lines = _shell_lines(text)
    assigned: dict[str, int] = {}
    for index, line in lines:
        if line.lstrip().startswith("#"):
            continue
        for name in ASSIGNMENT.findall(line):
            assigned.setdefault(name, index)
        m = re.match(r"read -r ([A-Z0-9_ ]+) <<<", line)
        if m:
            for name in m[1].split():
                assigned.setdefault(name, index)
    for index, line in lines:
        comment = line.lstrip().startswith("#")
        if comment and "undo:" not in line:
            continue
        for name in USE.findall(line):
            if name in FROM_THE_ENVIRONMENT:
                continue
            assert name in assigned, f"${name} is never assigned (line {index + 1}: {line})"
            if not comment:
                assert assigned[name] < index, f"${name} is used before it is assigned: {line}"


def assert_commands_in_order(text: str, steps: list[tuple[str, str, str]]) -> None:
    """Every step's ``aws SERVICE OPERATION --region R`` appears, in plan order."""
    commands = "\n".join(
        line for _i, line in _shell_lines(text) if not line.lstrip().startswith("#")
    )
    position = 0
    for service, operation, region in steps:
        command = f"{CLI_SERVICE.get(service, service)} {xform_name(operation, '-')}"
        head = f"aws {command} --region {region}"
        found = commands.find(head, position)
        assert found >= 0, f"{head} missing (or out of order)"
        position = found + len(head)


def assert_bash_accepts(path: Path) -> None:
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def plan_steps(example: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str, str]]:
    """The plan's steps, from ``plan --output json`` in the same environment."""
    code = main(["plan", str(example), "--output", "json"])
    assert code in (EXIT_OK, EXIT_INVALID)
    plan = json.loads(capsys.readouterr().out)
    return [(s["service"], s["operation"], s["region"]) for s in plan["steps"]]


def offline_args(name: str) -> list[str]:
    args = ["--offline", "--account", ACCOUNT]
    if name == "organization-trail":
        args += ["--organization-id", ORG_ID]
    return args


# --------------------------------------------------------------------------- against the sandbox


@pytest.mark.parametrize(
    "name",
    ["cloudwatch-and-sns", "existing-bucket-prefix", "sse-kms-existing-key", "sse-kms-new-key"],
)
def test_export_cli_from_the_sandbox(
    name: str, sandbox_env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = EXAMPLES[name]
    steps = plan_steps(example, capsys)
    out = tmp_path / "setup.sh"
    assert main(["export", str(example), "--format", "cli", "--output", str(out)]) == EXIT_OK
    assert f"Wrote AWS CLI script ({len(steps)} steps)" in capsys.readouterr().err
    assert os.access(out, os.X_OK)
    assert_bash_accepts(out)
    text = out.read_text()
    assert_variables_captured(text)
    assert_commands_in_order(text, steps)
    assert f"for account {ACCOUNT}" in text
    assert "GENERATED OFFLINE" not in text


def test_export_cli_merges_into_the_existing_bucket_policy(
    sandbox_env: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "setup.sh"
    example = EXAMPLES["existing-bucket-prefix"]
    assert main(["export", str(example), "--format", "cli", "--output", str(out)]) == EXIT_OK
    text = out.read_text()
    # The current policy is kept in a file for the undo; the merge is shown as a diff.
    assert "cat > bucket-policy.before.json <<'EOF'" in text
    assert "--policy file://bucket-policy.before.json" in text
    assert '#   +      "Sid": "AWSCloudTrailWrite",' in text
    assert "AppReaderGetObject" in text  # the owner's statement is kept
    assert "--policy file://bucket-policy.json" in text


def test_export_cli_stdout_is_the_script(
    sandbox_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(EXAMPLES["new-bucket-sse-s3"]), "--format", "cli"]) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in captured.out
    assert "Wrote" not in captured.err


def test_blocked_plan_writes_nothing(
    sandbox_env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The sandbox account is in no organization: an organization trail is blocked.
    out = tmp_path / "setup.sh"
    example = EXAMPLES["organization-trail"]
    assert main(["export", str(example), "--format", "cli", "--output", str(out)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "organization-not-ready" in err
    assert "Nothing was written" in err
    assert not out.exists()


def test_session_options_work_after_the_command(
    sandbox_env: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_REGION")
    example = str(EXAMPLES["new-bucket-sse-s3"])
    assert main(["export", example, "--format", "cli", "--region", "us-east-1"]) == EXIT_OK
    assert "aws s3api create-bucket --region us-east-1" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["sse-kms-new-key", "existing-bucket-prefix"])
def test_exported_script_runs_against_the_sandbox(
    name: str, sandbox_env: Sandbox, tmp_path: Path, aws_cli: Path
) -> None:
    script = tmp_path / "setup.sh"
    example = EXAMPLES[name]
    assert main(["export", str(example), "--format", "cli", "--output", str(script)]) == EXIT_OK
    # The script calls plain `aws`: the tests' CLI comes first on its PATH.
    path = os.pathsep.join([str(aws_cli.parent), os.environ.get("PATH", os.defpath)])
    env = {**os.environ, "WORK_DIR": str(tmp_path / "work"), "PATH": path}
    env.pop("AWS_SESSION_TOKEN", None)
    result = subprocess.run(
        ["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = load_answers(str(example))
    region = answers.home_region("us-east-1")
    cloudtrail = sandbox_env.client("cloudtrail", region)
    assert cloudtrail.get_trail_status(Name=answers.trail.name)["IsLogging"] is True
    assert (tmp_path / "work" / "bucket-policy.json").is_file()
    if name == "sse-kms-new-key":
        # The new key's ARN was captured from create-key and spliced into later commands.
        trail = cloudtrail.get_trail(Name=answers.trail.name)["Trail"]
        kms = sandbox_env.client("kms", region)
        key = kms.describe_key(KeyId="alias/acme-audit")["KeyMetadata"]
        assert trail["KmsKeyId"] == key["Arn"]
        assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
        rules = sandbox_env.client("s3").get_bucket_encryption(Bucket=answers.bucket.name)[
            "ServerSideEncryptionConfiguration"
        ]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key["Arn"]
    if name == "existing-bucket-prefix":
        policy = json.loads(
            sandbox_env.client("s3").get_bucket_policy(Bucket=DEMO_APP_BUCKET)["Policy"]
        )
        sids = [s.get("Sid") for s in policy["Statement"]]
        assert sids[:2] == ["AppReaderGetObject", "DenyInsecureTransport"]  # kept as they were
        assert {"AWSCloudTrailAclCheck", "AWSCloudTrailWrite"} <= set(sids)


# --------------------------------------------------------------------------- offline


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_export_cli_offline_needs_no_endpoint(
    name: str, closed_port_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No credentials, and an endpoint where nothing listens: any AWS call would fail.
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url)
    example = EXAMPLES[name]
    out = tmp_path / "setup.sh"
    argv = ["export", str(example), "--format", "cli", *offline_args(name), "-o", str(out)]
    assert main(argv) == EXIT_OK
    assert_bash_accepts(out)
    text = out.read_text()
    assert "GENERATED OFFLINE (--offline): nothing was read from AWS" in text
    assert_variables_captured(text)
    answers = load_answers(str(example))
    ctx = AccountContext(
        account_id=ACCOUNT,
        region="us-east-1",
        organization_id=ORG_ID if answers.trail.organization else None,
    )
    plan = offline_plan(answers, ctx).plan
    assert plan.steps, "an offline plan has steps"
    assert_commands_in_order(
        text, [(s.call.service, s.call.operation, s.call.region) for s in plan.steps]
    )


def test_the_script_turns_the_aws_cli_pager_off(tmp_path: Path) -> None:
    """AWS CLI v2 would stop in a pager on long output and wait for a key."""
    out = tmp_path / "setup.sh"
    example = EXAMPLES["cloudwatch-and-sns"]
    argv = ["export", str(example), "--format", "cli", *offline_args("x"), "-o", str(out)]
    assert main(argv) == EXIT_OK
    lines = out.read_text().split("\n")
    pager = lines.index('export AWS_PAGER=""')
    first_aws = next(
        i
        for i, line in enumerate(lines)
        if not line.startswith("#") and re.search(r"\baws [a-z0-9]+ ", line)
    )
    assert lines.index("set -euo pipefail") < pager < first_aws
    assert_bash_accepts(out)


def test_offline_existing_key_is_looked_up_and_its_policy_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "setup.sh"
    example = EXAMPLES["sse-kms-existing-key"]
    argv = ["export", str(example), "--format", "cli", *offline_args("x"), "-o", str(out)]
    assert main(argv) == EXIT_OK
    text = out.read_text()
    assert "# ---- Step 1 of 9 (read only): describe-key" in text
    assert "DESCRIBE_KEY_KEYMETADATA_ARN=$(aws kms describe-key --region us-east-1" in text
    assert '--kms-key-id "$DESCRIBE_KEY_KEYMETADATA_ARN"' in text
    assert "aws kms put-key-policy" not in text
    assert "MERGE BY HAND: this script does not change the policy of key" in text
    assert '"Sid": "AllowCloudTrailEncryptLogs"' in text


def test_offline_existing_bucket_stops_when_it_already_has_a_policy(tmp_path: Path) -> None:
    out = tmp_path / "setup.sh"
    example = EXAMPLES["existing-bucket-prefix"]
    argv = ["export", str(example), "--format", "cli", *offline_args("x"), "-o", str(out)]
    assert main(argv) == EXIT_OK
    text = out.read_text()
    guard = text.index("aws s3api get-bucket-policy --region eu-west-1")
    assert guard < text.index("aws s3api put-bucket-policy --region eu-west-1")
    assert "*NoSuchBucketPolicy*" in text
    assert "has no bucket policy yet" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--offline"], "--offline needs the account"),
        (["--offline", "--account", ACCOUNT, "--sandbox"], "contradict"),
        (["--account", ACCOUNT], "--account is for --offline"),
        (["--partition", "aws-cn"], "--partition is for --offline"),
        (["--offline", "--account", "12345"], "not an AWS account id"),
    ],
)
def test_export_cli_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    example = str(EXAMPLES["new-bucket-sse-s3"])
    assert main(["export", example, "--format", "cli", *argv]) == EXIT_INVALID
    assert message in capsys.readouterr().err


def test_offline_org_trail_needs_the_organization_id(capsys: pytest.CaptureFixture[str]) -> None:
    example = str(EXAMPLES["organization-trail"])
    argv = ["export", example, "--format", "cli", "--offline", "--account", ACCOUNT]
    assert main(argv) == EXIT_INVALID
    assert "--organization-id" in capsys.readouterr().err
