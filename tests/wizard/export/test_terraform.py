"""Tests for the Terraform export (wizard.export.terraform) and ``export --format terraform``.

The same answers as the CloudFormation export's tests (every example plus the two variants)
are rendered once. Each configuration must parse with an HCL parser (python-hcl2), hold the
expected resources, variables and data sources, carry the wizard's own policies (each
``jsonencode`` document read back, its interpolations resolved with the variables' defaults and
a concrete account, and compared with wizard.policy.policies), and get from checkov's Terraform
checks exactly the failures the answers chose, each explained by a comment at its resource;
checks skipped with ``#checkov:skip`` must carry their reason (one checkov run over all).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest

import tests.wizard.export.test_cloudformation as cfn
from screens.cli.main import main
from screens.common.errors import EXIT_INVALID, EXIT_OK
from wizard.export.terraform import (
    failing_check_ids,
    skipped_check_ids,
    terraform_checks,
    terraform_configuration,
)
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.plan.planner.logs import ROLE_POLICY_NAME
from wizard.plan.selectors import advanced_event_selectors
from wizard.policy.policies import (
    access_log_bucket_policy,
    bucket_cloudtrail_statements,
    bucket_policy,
    cloudwatch_role_policy,
    cloudwatch_role_trust_policy,
    encrypts_log_group,
    encrypts_topic,
    key_policy,
    topic_policy,
)

NAMES = cfn.NAMES
ACCOUNT = cfn.ACCOUNT


def context_for(answers: Answers) -> AccountContext:
    """The account the configurations are rendered for (the CloudFormation tests' own)."""
    return AccountContext(
        account_id=ACCOUNT,
        region="us-east-1",
        organization_id=cfn.ORG_ID if answers.trail.organization else None,
    )


def checkov_executable() -> str | None:
    """checkov, where ``make`` puts it (or $CHECKOV, PATH, pipx): its own venv pins boto3."""
    candidates = [
        os.environ.get("CHECKOV"),
        str(cfn.ROOT / ".venv-checkov" / "bin" / "checkov"),
        str(Path(sys.executable).with_name("checkov")),
        shutil.which("checkov"),
        str(Path.home() / ".local" / "bin" / "checkov"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


# Resource types each configuration must have, exactly.
EXPECTED: dict[str, set[str]] = {
    "cloudwatch-and-sns": {
        "aws_kms_key",
        "aws_kms_alias",
        "aws_s3_bucket",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_logging",
        "aws_s3_bucket_policy",
        "aws_sns_topic",
        "aws_sns_topic_policy",
        "aws_cloudwatch_log_group",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_cloudtrail",
    },
    "existing-bucket-prefix": {"aws_s3_bucket_policy", "aws_cloudtrail"},
    "variant-existing-resources": {
        "aws_s3_bucket_policy",
        "aws_cloudwatch_log_group",
        "aws_cloudtrail",
    },
}


@functools.cache
def rendered(name: str) -> str:
    answers = cfn.answers_for(name)
    return terraform_configuration(answers, context_for(answers))


@functools.cache
def parsed(name: str) -> dict[str, Any]:
    document: dict[str, Any] = hcl2.loads(rendered(name))
    return document


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps a string literal's quotes: the value without them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    return value


def blocks(name: str, kind: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """``resource``/``data`` blocks by (type, name); ``variable``/``output`` by (name,)."""
    found: dict[tuple[str, ...], dict[str, Any]] = {}
    for item in parsed(name).get(kind, []):
        for first, body in item.items():
            if kind in ("resource", "data"):
                for second, inner in body.items():
                    found[(_unquote(first), _unquote(second))] = inner
            else:
                found[(_unquote(first),)] = body
    return found


def resource(name: str, kind: str, label: str) -> dict[str, Any]:
    return blocks(name, "resource")[(kind, label)]


def defaults(name: str) -> dict[str, Any]:
    return {
        key[0]: _unquote(body["default"])
        for key, body in blocks(name, "variable").items()
        if "default" in body
    }


# --------------------------------------------------------------------------- reading back


_HCL_KEY = re.compile(r'(?<=[{,]) ?([A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*") = ')


def jsonencoded(expression: str) -> Any:
    """The document of a ``${jsonencode({...})}`` expression as python-hcl2 writes it."""
    match = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", expression, re.DOTALL)
    assert match, expression[:80]
    text = match[1]
    # HCL's `Key = value` and `"key" = value` become JSON's `"Key": value`.
    text = _HCL_KEY.sub(lambda m: (m[1] if m[1].startswith('"') else f'"{m[1]}"') + ": ", text)
    text = re.sub(r",\s*([\]}])", r"\1", text)  # trailing commas
    return json.loads(text)


def environment(name: str) -> dict[str, str]:
    """Concrete values for every ``${...}`` of a configuration."""
    answers = cfn.answers_for(name)
    env = {f"var.{k}": str(v) for k, v in defaults(name).items() if not isinstance(v, dict)}
    env.update(
        {
            "local.account_id": ACCOUNT,
            "local.partition": "aws",
            "local.sid_suffix": re.sub(r"[^A-Za-z0-9]", "", answers.trail.name),
        }
    )
    return env


def resolve(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: resolve(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, env) for v in value]
    if isinstance(value, str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: env[m[1]], value)
    return value


def policy_of(name: str, kind: str, label: str, attribute: str = "policy") -> Any:
    return resolve(jsonencoded(resource(name, kind, label)[attribute]), environment(name))


def _names(name: str) -> tuple[Answers, Names]:
    answers = cfn.answers_for(name)
    return answers, Names(answers, context_for(answers))


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("name", NAMES)
def test_configuration_parses_with_settings_variables_and_the_trail(name: str) -> None:
    answers = cfn.answers_for(name)
    document = parsed(name)
    assert {"terraform", "provider", "variable", "data", "locals", "resource", "output"} <= set(
        document
    )
    provider = document["terraform"][0]["required_providers"][0]["aws"]
    assert _unquote(provider["source"]) == "hashicorp/aws"
    values = defaults(name)
    assert values["trail_name"] == answers.trail.name
    assert values["bucket_name"] == answers.bucket.name
    assert values["region"] == Names(answers, context_for(answers)).home_region
    if answers.bucket.prefix:
        assert values["log_prefix"] == answers.bucket.prefix
    types = {kind for kind, _ in blocks(name, "resource")}
    if name in EXPECTED:
        assert types == EXPECTED[name]
    # Every bucket setting is a resource of its own (provider v4 and later).
    bucket = blocks(name, "resource").get(("aws_s3_bucket", "logs"))
    if answers.bucket.create:
        assert bucket is not None
        for setting in ("versioning", "server_side_encryption_configuration", "logging", "acl"):
            assert setting not in bucket
        assert "aws_s3_bucket_public_access_block" in types
        assert ("aws_s3_bucket_versioning" in types) == answers.bucket.versioning
    else:
        assert bucket is None


@pytest.mark.parametrize("name", NAMES)
def test_trail_follows_the_answers(name: str) -> None:
    answers, names = _names(name)
    trail = resource(name, "aws_cloudtrail", "trail")
    t = answers.trail
    assert trail["enable_logging"] is True
    assert trail["is_multi_region_trail"] is t.multi_region
    assert trail["enable_log_file_validation"] is t.log_file_validation
    assert trail["include_global_service_events"] is t.include_global_events
    assert trail.get("is_organization_trail", False) is t.organization
    assert ("kms_key_id" in trail) == (answers.encryption.type == "sse-kms")
    assert ("sns_topic_name" in trail) == (answers.notifications.sns_topic is not None)
    assert ("s3_key_prefix" in trail) == bool(answers.bucket.prefix)
    depends = trail.get("depends_on", [])
    if answers.cloudwatch_logs.enabled:
        # CloudTrail wants the group's ARN with the streams wildcard, which the
        # provider's arn attribute lacks.
        assert _unquote(trail["cloud_watch_logs_group_arn"]).endswith(":*")
        if not answers.cloudwatch_logs.role_is_arn:
            assert "${aws_iam_role_policy.cloudwatch_logs}" in depends
    if answers.bucket.create or not answers.bucket.account:
        assert "${aws_s3_bucket_policy.logs}" in depends
    selectors = []
    for block in trail.get("advanced_event_selector", []):
        fields = []
        for field in block["field_selector"]:
            condition = {"Field": _unquote(field["field"])}
            for key, values in field.items():
                if key not in ("field", "__is_block__"):
                    operator = "".join(part.title() for part in key.split("_"))
                    condition[operator] = [_unquote(v) for v in values]
            fields.append(condition)
        selectors.append({"Name": _unquote(block["name"]), "FieldSelectors": fields})
    assert resolve(selectors, environment(name)) == advanced_event_selectors(answers, names)
    insights = [_unquote(i["insight_type"]) for i in trail.get("insight_selector", [])]
    assert insights == list(answers.events.insights)


@pytest.mark.parametrize("name", NAMES)
def test_policies_are_the_wizards_own(name: str) -> None:
    """Read back and resolved with this account's values, each policy is what
    wizard.policy.policies builds (apply's own)."""
    answers, names = _names(name)
    org = context_for(answers).organization_id
    found = blocks(name, "resource")
    if answers.bucket.create:
        assert policy_of(name, "aws_s3_bucket_policy", "logs") == bucket_policy(names, org)
    if answers.bucket.access_logs is not None and answers.bucket.access_logs.create:
        document = policy_of(name, "aws_s3_bucket_policy", "access_logs")
        assert document == access_log_bucket_policy(names)
    if answers.encryption.new_key:
        document = policy_of(name, "aws_kms_key", "trail")
        region = names.bucket_region()
        wizard = key_policy(
            names,
            topic=encrypts_topic(names, region),
            log_group=encrypts_log_group(names, region),
        )
        assert document == wizard
    if ("aws_sns_topic_policy", "notifications") in found:
        assert policy_of(name, "aws_sns_topic_policy", "notifications") == topic_policy(names)
    if ("aws_iam_role", "cloudwatch_logs") in found:
        trust = policy_of(name, "aws_iam_role", "cloudwatch_logs", "assume_role_policy")
        assert trust == cloudwatch_role_trust_policy(names)
        assert policy_of(name, "aws_iam_role_policy", "cloudwatch_logs") == (
            cloudwatch_role_policy(names, org)
        )
        inline = resource(name, "aws_iam_role_policy", "cloudwatch_logs")
        assert _unquote(inline["name"]) == ROLE_POLICY_NAME


@pytest.mark.parametrize("name", ["existing-bucket-prefix", "variant-existing-resources"])
def test_an_existing_bucket_policy_is_kept_whole_with_cloudtrails_statements_merged(
    name: str,
) -> None:
    """aws_s3_bucket_policy replaces a whole policy: the configuration reads the current one
    (a data source) and writes it back with CloudTrail's statements overriding only their
    own Sids, which end in the trail's name (another trail's statements are kept)."""
    answers, names = _names(name)
    data = blocks(name, "data")
    assert ("aws_s3_bucket", "logs") in data
    existing = data[("aws_s3_bucket_policy", "existing")]
    assert existing["count"] == "${var.existing_bucket_policy ? 1 : 0}"
    document = data[("aws_iam_policy_document", "bucket")]
    assert document["source_policy_documents"] == (
        "${data.aws_s3_bucket_policy.existing[*].policy}"
    )
    (override,) = document["override_policy_documents"]
    statements = resolve(jsonencoded(override)["Statement"], environment(name))
    suffix = re.sub(r"[^A-Za-z0-9]", "", answers.trail.name)
    wanted = bucket_cloudtrail_statements(names)
    assert statements == [{**s, "Sid": s["Sid"] + suffix} for s in wanted]
    policy = resource(name, "aws_s3_bucket_policy", "logs")
    assert policy["policy"] == "${data.aws_iam_policy_document.bucket.json}"
    comments = _comment_blocks(rendered(name))
    assert "replaces the bucket's whole policy" in comments[("aws_s3_bucket_policy", "logs")]


def test_a_central_bucket_gets_statements_to_merge_not_a_policy() -> None:
    answers = Answers.model_validate(
        {
            "trail": {"name": "member-trail", "region": "us-east-1"},
            "bucket": {"name": "central-logs", "create": False, "account": "999999999999"},
            "encryption": {"type": "sse-s3"},
        }
    )
    text = terraform_configuration(answers, context_for(answers))
    document = hcl2.loads(text)
    types = {_unquote(next(iter(r))) for r in document["resource"]}
    assert types == {"aws_cloudtrail"}
    header = text.split("\nterraform {")[0]
    assert "BEFORE APPLYING" in header
    assert "Bucket policy of the central bucket central-logs (account 999999999999" in " ".join(
        line.lstrip("# ") for line in header.split("\n")
    )


def test_data_sources_stand_for_existing_resources() -> None:
    data = blocks("variant-existing-resources", "data")
    assert ("aws_kms_key", "existing") in data
    assert ("aws_iam_role", "cloudwatch_logs") in data
    trail = resource("variant-existing-resources", "aws_cloudtrail", "trail")
    assert trail["kms_key_id"] == "${data.aws_kms_key.existing.arn}"
    assert trail["cloud_watch_logs_role_arn"] == "${data.aws_iam_role.cloudwatch_logs.arn}"
    assert trail["sns_topic_name"] == "${var.sns_topic_arn}"


def test_log_data_is_protected_from_destroy() -> None:
    for kind, label in (
        ("aws_s3_bucket", "logs"),
        ("aws_kms_key", "trail"),
        ("aws_cloudwatch_log_group", "trail"),
    ):
        lifecycle = resource("cloudwatch-and-sns", kind, label)["lifecycle"][0]
        assert lifecycle["prevent_destroy"] is True


# --------------------------------------------------------------------------- comments


def _comment_blocks(text: str) -> dict[tuple[str, str], str]:
    """Per resource, the comment lines right above it and the ones inside it."""
    found: dict[tuple[str, str], str] = {}
    pending: list[str] = []
    current: tuple[str, str] | None = None
    for line in text.split("\n"):
        head = re.match(r'^(?:resource|data) "([^"]+)" "([^"]+)" \{$', line)
        if line.startswith("# "):
            pending.append(line[2:])
        elif head:
            current = (head[1], head[2])
            found[current] = " ".join(pending)
            pending = []
        elif current and line.lstrip().startswith("#"):
            found[current] += " " + line.strip().lstrip("#")
        elif line == "}":
            current = None
        elif not line:
            continue
        else:
            pending = []
    return found


@pytest.mark.parametrize("name", NAMES)
def test_choices_that_fail_a_check_are_explained_next_to_a_resource(name: str) -> None:
    text = rendered(name)
    comments = " ".join(_comment_blocks(text).values())
    answers = cfn.answers_for(name)
    for check_id in failing_check_ids(answers, context_for(answers)):
        assert re.search(rf"\b{check_id}\b.{{0,60}}?\bfails?\b", comments), (check_id, comments)
    header = text.split("\nterraform {")[0]
    for ids, passes in terraform_checks(answers, context_for(answers)).items():
        assert ids in header
        if passes is False:
            assert re.search(rf"FAIL\s+{re.escape(ids)}", header)
    prose = [line for line in text.split("\n") if re.match(r"^\s*# +[A-Za-z]", line)]
    assert all(len(line) <= 100 for line in prose)


@pytest.mark.parametrize("name", NAMES)
def test_same_answers_give_the_same_bytes(name: str) -> None:
    answers = cfn.answers_for(name)
    again = terraform_configuration(
        Answers.model_validate(answers.model_dump()), context_for(answers)
    )
    assert rendered(name) == again


# --------------------------------------------------------------------------- command


def test_export_command_writes_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = cfn.EXAMPLES["sse-kms-new-key"]
    assert main(["export", str(example), "--format", "terraform"]) == EXIT_OK
    assert capsys.readouterr().out == rendered("sse-kms-new-key")
    out = tmp_path / "main.tf"
    assert main(["export", str(example), "--format", "terraform", "-o", str(out)]) == EXIT_OK
    assert out.read_text() == rendered("sse-kms-new-key")
    assert "Wrote Terraform configuration" in capsys.readouterr().err
    for option, value in (("--account", ACCOUNT), ("--ou", "ou-abcd-12345678")):
        assert main(["export", str(example), "--format", "terraform", option, value]) == (
            EXIT_INVALID
        )
        out_text, err = capsys.readouterr()
        assert out_text == ""
        assert f"Remove {option}" in err


# --------------------------------------------------------------------------- checkov


@pytest.fixture(scope="module")
def checkov_results(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[set[str], set[str], dict[str, str]]]]:
    """Per configuration: (passed ids, failed ids, skipped id -> reason), one checkov run."""
    executable = checkov_executable()
    if executable is None:
        pytest.fail(
            "checkov is not installed: run `make .venv-checkov/bin/checkov` (`make test` does), "
            "or set CHECKOV to one.",
            pytrace=False,
        )
    root = tmp_path_factory.mktemp("terraform")
    for name in NAMES:
        (root / name).mkdir()
        (root / name / "main.tf").write_text(rendered(name))
    result = subprocess.run(
        [
            executable,
            "-d",
            str(root),
            "--framework",
            "terraform",
            "--compact",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=root,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    results: dict[str, tuple[set[str], set[str], dict[str, str]]] = {
        name: (set(), set(), {}) for name in NAMES
    }
    for part in report if isinstance(report, list) else [report]:
        assert part["summary"]["parsing_errors"] == 0
        for check in part["results"].get("passed_checks", []):
            results[Path(check["file_path"]).parent.name][0].add(check["check_id"])
        for check in part["results"].get("failed_checks", []):
            results[Path(check["file_path"]).parent.name][1].add(check["check_id"])
        for check in part["results"].get("skipped_checks", []):
            reason = check.get("check_result", {}).get("suppress_comment", "")
            results[Path(check["file_path"]).parent.name][2][check["check_id"]] = reason
    yield results


@pytest.mark.parametrize("name", NAMES)
def test_checkov_fails_exactly_what_the_answers_chose(
    name: str, checkov_results: dict[str, tuple[set[str], set[str], dict[str, str]]]
) -> None:
    passed, failed, skipped = checkov_results[name]
    assert {"CKV_AWS_35", "CKV_AWS_36", "CKV_AWS_67"} <= passed | failed
    answers = cfn.answers_for(name)
    declared = failing_check_ids(answers, context_for(answers))
    assert failed == declared & (passed | failed)
    assert not declared & passed  # what the header says fails, checkov does not pass
    # Skipped checks are the ones that do not fit this setup, each with its reason.
    assert set(skipped) == skipped_check_ids(answers, context_for(answers))
    assert all(len(reason) > 20 for reason in skipped.values()), skipped


@pytest.mark.parametrize("name", ["cloudwatch-and-sns", "sse-kms-new-key", "organization-trail"])
def test_checkov_secure_defaults_pass_the_trail_and_bucket_checks(
    name: str, checkov_results: dict[str, tuple[set[str], set[str], dict[str, str]]]
) -> None:
    passed, failed, _skipped = checkov_results[name]
    assert not failed & (cfn.CLOUDTRAIL_CHECKS - {"CKV_AWS_252", "CKV2_AWS_10"})
    assert {"CKV_AWS_21", "CKV_AWS_145", "CKV2_AWS_6", "CKV_AWS_7"} <= passed
