"""One rule for the CloudWatch Logs group's encryption in apply, the AWS CLI script and the exports.

A log group the wizard creates is encrypted with the trail's new key when that key is in the
group's region (:func:`wizard.policy.policies.encrypts_log_group`); the key policy then carries
AWS's statement for an encrypted log group (``logs.<region>.amazonaws.com`` may use the key,
narrowed to the group by ``kms:EncryptionContext:aws:logs:arn``). Every output is checked
against the same rule for the same answers; apply is run on the sandbox over HTTP, which
refuses a key CloudWatch Logs may not use, as AWS does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.callers import FailOn
from tests.sandbox_fixtures import ACCOUNT
from tests.wizard.export.test_cloudformation import load_template
from wizard.engine import Engine
from wizard.export.cloudformation import cloudformation_template, template_checks
from wizard.export.terraform import terraform_checks, terraform_configuration
from wizard.export.text import plan_to_cli, plan_to_text
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.plan.desired import adopt_reviews, adoption
from wizard.plan.offline import offline_plan
from wizard.plan.review import key_probes, review_policies
from wizard.policy.access import evaluate
from wizard.policy.policies import (
    build_policies,
    encrypts_log_group,
    key_logs_statement,
    key_policy,
)

GROUP = "trail-events"
GROUP_ARN = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{GROUP}"
SID = "AllowCloudWatchLogsEncryptLogGroup"
NEW_KEY = "${create-key:KeyMetadata.Arn}"

CASES: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    "new key, same region": ({"type": "sse-kms", "key": "new"}, {"log_group": GROUP}, True),
    "existing key": (
        {"type": "sse-kms", "key": "alias/cloudtrail-ready"},
        {"log_group": GROUP},
        False,
    ),
    "sse-s3": ({"type": "sse-s3"}, {"log_group": GROUP}, False),
    "logs disabled": ({"type": "sse-kms", "key": "new"}, {}, False),
}


def answers(
    encryption: dict[str, Any], cloudwatch_logs: dict[str, Any] | None = None, **bucket: Any
) -> Answers:
    return Answers.model_validate(
        {
            "trail": {"name": "group-trail", "region": "us-east-1"},
            "bucket": {"name": f"group-trail-logs-{ACCOUNT}", **bucket},
            "encryption": encryption,
            "cloudwatch_logs": {"log_group": GROUP} if cloudwatch_logs is None else cloudwatch_logs,
        }
    )


def ctx() -> AccountContext:
    return AccountContext(account_id=ACCOUNT, region="us-east-1")


def statements(policy: Any) -> list[dict[str, Any]]:
    doc = json.loads(policy) if isinstance(policy, str) else policy
    found = doc["Statement"]
    return found if isinstance(found, list) else [found]


def logs_statement(policy: Any) -> dict[str, Any] | None:
    return next((s for s in statements(policy) if s.get("Sid") == SID), None)


def script_command(script: str, head: str) -> str | None:
    """One command of the AWS CLI script, with its continuation lines (None: not there)."""
    lines = script.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(head)), None)
    if start is None:
        return None
    end = start
    while lines[end].endswith("\\"):
        end += 1
    return "\n".join(lines[start : end + 1])


def terraform_group(parsed: Answers) -> dict[str, Any]:
    document = hcl2.loads(terraform_configuration(parsed, ctx()))
    for item in document["resource"]:
        for kind, body in item.items():
            if kind.strip('"') == "aws_cloudwatch_log_group":
                group: dict[str, Any] = next(iter(body.values()))
                return group
    raise AssertionError("no aws_cloudwatch_log_group in the configuration")


def test_the_statement_is_awss_narrowed_to_the_group() -> None:
    statement = key_logs_statement("logs.us-east-1.amazonaws.com", GROUP_ARN)

    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert sorted(statement["Action"]) == [
        "kms:Decrypt*",
        "kms:Describe*",
        "kms:Encrypt*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ]
    assert statement["Resource"] == "*"
    # CloudWatch Logs' encryption context names the group without ":*".
    assert statement["Condition"] == {
        "ArnEquals": {"kms:EncryptionContext:aws:logs:arn": GROUP_ARN}
    }


def test_key_policy_appends_it_only_when_asked() -> None:
    names = Names(answers({"type": "sse-kms", "key": "new"}), ctx())

    assert logs_statement(key_policy(names)) is None
    assert logs_statement(key_policy(names, log_group=True)) == key_logs_statement(
        "logs.us-east-1.amazonaws.com", GROUP_ARN
    )


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_output_follows_the_same_rule(case: str) -> None:
    encryption, logs, encrypted = CASES[case]
    parsed = answers(encryption, logs)
    names = Names(parsed, ctx())
    assert encrypts_log_group(names, names.bucket_region()) is encrypted

    # The offline policies (the `policies` command).
    key = build_policies(parsed, ctx()).key_policy
    assert (key is not None and logs_statement(key) is not None) is encrypted

    built = offline_plan(parsed, ctx())
    plan = built.plan
    script = plan_to_cli(plan, notes=built.notes, guards=built.guards)
    text = plan_to_text(plan)
    command = script_command(script, "aws logs create-log-group")
    if not logs:
        assert "create-log-group" not in {s.id for s in plan.steps}
        assert command is None
        assert template_checks(parsed, ctx())["CKV2_AWS_10 / CloudTrail.5"] is False
        return

    # The plan apply runs, the AWS CLI script and the text preview made from it.
    create = plan.step("create-log-group")
    if encrypted:
        assert create.call.params["kmsKeyId"] == NEW_KEY
        assert "create-key" in create.depends_on
        assert "encrypted with the trail's new key" in create.summary
        assert create.summary in text
        assert logs_statement(plan.policies["key_policy"]) == key_logs_statement(
            "logs.us-east-1.amazonaws.com", GROUP_ARN
        )
        assert command is not None
        assert command.endswith('--kms-key-id "$CREATE_KEY_KEYMETADATA_ARN"')
    else:
        assert "kmsKeyId" not in create.call.params
        assert "encrypted" not in create.summary
        assert command is not None and "--kms-key-id" not in command
        if plan.policies["key_policy"] is not None:
            assert logs_statement(plan.policies["key_policy"]) is None

    # The CloudFormation template.
    doc = load_template(cloudformation_template(parsed, ctx()))
    group = doc["Resources"]["TrailLogGroup"]["Properties"]
    assert ("KmsKeyId" in group) is encrypted
    if encrypted:
        assert group["KmsKeyId"] == {"Fn::GetAtt": ["TrailKey", "Arn"]}
        cfn_statement = logs_statement(doc["Resources"]["TrailKey"]["Properties"]["KeyPolicy"])
        group_arn = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
        assert cfn_statement == key_logs_statement(
            {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"},
            {"Fn::Sub": group_arn + "${LogGroupName}"},
        )
    assert template_checks(parsed, ctx())["CKV_AWS_158"] is encrypted

    # The Terraform configuration.
    assert ("kms_key_id" in terraform_group(parsed)) is encrypted
    assert terraform_checks(parsed, ctx())["CKV_AWS_158"] is encrypted


def test_a_key_in_another_region_leaves_the_group_unencrypted_everywhere() -> None:
    parsed = answers({"type": "sse-kms", "key": "new"}, region="eu-west-1")
    names = Names(parsed, ctx())

    assert not encrypts_log_group(names, names.bucket_region())
    assert logs_statement(build_policies(parsed, ctx()).key_policy) is None
    plan = offline_plan(parsed, ctx()).plan
    assert "kmsKeyId" not in plan.step("create-log-group").call.params
    assert logs_statement(plan.policies["key_policy"]) is None
    text = cloudformation_template(parsed, ctx())
    assert "KmsKeyId" not in load_template(text)["Resources"]["TrailLogGroup"]["Properties"]
    prose = " ".join(word for word in text.split() if word != "#")  # comments, unwrapped
    assert "a log group can only use a key of its own region" in prose
    assert "kms_key_id" not in terraform_group(parsed)


def test_the_key_review_probes_cloudwatch_logs_use_of_the_key() -> None:
    plan = offline_plan(answers({"type": "sse-kms", "key": "new"}), ctx()).plan
    policy = plan.policies["key_policy"]
    # What the access checker decides for CloudWatch Logs' request, under the written policy.
    names = Names(answers({"type": "sse-kms", "key": "new"}), ctx())
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/new-key"
    probes = key_probes(names, key_arn, decrypt=False, log_group_arn=GROUP_ARN)
    logs_probe = probes[-1]
    assert logs_probe.request.principal.id == "logs.us-east-1.amazonaws.com"
    assert evaluate(policy, logs_probe.request).allowed
    # Another group's context is refused: the statement serves the one group.
    other = logs_probe.request.model_copy(
        update={"context": {"kms:EncryptionContext:aws:logs:arn": GROUP_ARN + "-other"}}
    )
    assert not evaluate(policy, other).allowed
    # Without the group, no such probe.
    assert all("log group" not in p.label for p in key_probes(names, key_arn, decrypt=False))


# ------------------------------------------------------------------------- the sandbox


def group_of(aws: Any, name: str = GROUP) -> dict[str, Any] | None:
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return next((g for g in groups if g["logGroupName"] == name), None)


def test_apply_encrypts_the_new_group_with_the_new_key(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    parsed = answers({"type": "sse-kms", "key": "new"})

    plan, found = engine.plan(parsed)
    review = review_policies(parsed, engine.ctx, found).key
    assert review is not None
    probe = next(p for p in review.probes if "encrypted log group" in p.label)
    assert probe.after is not None and probe.after.allowed
    outcome = engine.apply(parsed, plan, found=found, journal_path=tmp_path / "journal.json")

    assert outcome.report.status == "applied", outcome.report.message
    key_arn = aws("cloudtrail").get_trail(Name="group-trail")["Trail"]["KmsKeyId"]
    group = group_of(aws)
    assert group is not None and group["kmsKeyId"] == key_arn
    policy = aws("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
    assert logs_statement(policy) == key_logs_statement("logs.us-east-1.amazonaws.com", GROUP_ARN)
    # Applied answers plan nothing more (the group is not re-keyed, the key not rewritten).
    again, _ = engine.plan(parsed)
    assert again.steps == []


def test_rollback_deletes_the_encrypted_group(engine: Engine, aws: Any, tmp_path: Path) -> None:
    parsed = answers({"type": "sse-kms", "key": "new"})
    plan, found = engine.plan(parsed)
    assert plan.step("create-log-group").call.params["kmsKeyId"] == NEW_KEY

    outcome = Engine(FailOn(engine.caller, "CreateTrail"), engine.ctx).apply(
        parsed, plan, found=found, journal_path=tmp_path / "journal.json"
    )

    assert outcome.report.status == "rolled-back", outcome.report.message
    assert outcome.report.step("create-log-group").status == "rolled-back"
    assert group_of(aws) is None


def test_an_existing_group_is_used_as_it_is(engine: Engine, aws: Any, tmp_path: Path) -> None:
    aws("logs").create_log_group(logGroupName=GROUP)
    parsed = answers({"type": "sse-kms", "key": "new"})

    plan, found = engine.plan(parsed)

    assert "create-log-group" not in {s.id for s in plan.steps}
    # The new key is not opened to CloudWatch Logs for a group it will not encrypt.
    assert logs_statement(plan.policies["key_policy"]) is None
    finding = next(f for f in plan.findings if f.code == "log-group-exists")
    assert "Nor does it encrypt it with the trail's new key" in finding.message
    assert "associate-kms-key" in finding.message
    outcome = engine.apply(parsed, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message
    group = group_of(aws)
    assert group is not None and "kmsKeyId" not in group


def test_a_key_an_earlier_apply_made_gets_the_statement_before_the_group(
    engine: Engine, aws: Any, tmp_path: Path
) -> None:
    first = answers({"type": "sse-kms", "key": "new"}, {})
    plan, found = engine.plan(first)
    outcome = engine.apply(first, plan, found=found, journal_path=tmp_path / "first.json")
    assert outcome.report.status == "applied", outcome.report.message
    key_arn = aws("cloudtrail").get_trail(Name="group-trail")["Trail"]["KmsKeyId"]

    # The same answers, now with CloudWatch Logs: the key is the earlier apply's.
    wanted = answers({"type": "sse-kms", "key": "new"})
    plan, found = engine.plan(wanted)
    adopted = adoption(wanted, Names(wanted, engine.ctx), found)
    reviews, _ = adopt_reviews(
        wanted, engine.ctx, found, review_policies(wanted, engine.ctx, found), adopted
    )
    assert reviews.key is not None and not reviews.key.new_resource
    probe = next(p for p in reviews.key.probes if "encrypted log group" in p.label)
    assert probe.before is not None and not probe.before.allowed  # the key predates the group
    assert probe.after is not None and probe.after.allowed
    create = plan.step("create-log-group")
    assert create.call.params["kmsKeyId"] == key_arn
    assert "update-key-policy" in create.depends_on
    merged = plan.step("update-key-policy")
    assert merged.policy is not None and SID in merged.policy.added_sids
    outcome = engine.apply(wanted, plan, found=found, journal_path=tmp_path / "second.json")

    assert outcome.report.status == "applied", outcome.report.message
    group = group_of(aws)
    assert group is not None and group["kmsKeyId"] == key_arn
