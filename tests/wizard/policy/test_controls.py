"""The controls preview: what a planned trail will pass, and that ``status`` agrees after apply.

Plans are made by the engine on the seeded sandbox from the examples (and variations of
their answers); after applying, the trail is judged by :func:`wizard.health.trails.check_health`
over HTTP like ``cloudtrail-wizard status`` does, and every control the preview could
decide must come out the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_OK
from tests.sandbox_fixtures import ACCOUNT
from tests.screens.cli.test_plan_apply import cli_env  # noqa: F401 (fixture)
from wizard.engine import Engine
from wizard.health.trails import check_health
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.plan import Call, Plan, Step
from wizard.policy.controls import CONTROLS, PlannedControl, plan_controls

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[3]
CLOUDTRAIL = "cloudtrail.amazonaws.com"

PASS, FAIL, NA, LATER = "pass", "fail", "not-applicable", "after-apply"
ORDER: tuple[str, ...] = tuple(c.id for c in CONTROLS)
"""CloudTrail.1, .4, .2, KMS.4, CloudTrail.6, .7, S3.22, S3.23, CloudTrail.5 (display order)."""


def example(name: str) -> Answers:
    return load_answers(ROOT / "examples" / f"{name}.yaml")


def prepare(answers: Answers, aws: Any) -> None:
    """An organization trail needs an organization with CloudTrail's trusted access."""
    if answers.trail.organization:
        org = aws("organizations")
        org.create_organization(FeatureSet="ALL")
        org.enable_aws_service_access(ServicePrincipal=CLOUDTRAIL)


def preview(engine: Engine, answers: Answers) -> tuple[Plan, dict[str, PlannedControl]]:
    plan, _found = engine.plan(answers)
    assert not plan.blocked, [f.message for f in plan.findings if f.severity == "error"]
    return plan, {c.control.id: c for c in plan_controls(plan)}


def statuses(controls: dict[str, PlannedControl]) -> tuple[str, ...]:
    return tuple(controls[i].status for i in ORDER)


def with_changes(answers: Answers, **sections: dict[str, Any]) -> Answers:
    data = answers.model_dump(mode="json", exclude_none=True)
    for section, values in sections.items():
        data[section] = {**data.get(section, {}), **values}
    return Answers.model_validate(data)


# --------------------------------------------------------------------------- each example

EXPECTED = {
    # CloudTrail.1, .4, .2, KMS.4, CloudTrail.6, .7, S3.22, S3.23, Retention, CloudTrail.5
    "new-bucket-sse-s3": (PASS, PASS, FAIL, NA, PASS, FAIL, FAIL, FAIL, PASS, FAIL),
    "existing-bucket-prefix": (PASS, PASS, FAIL, NA, LATER, LATER, FAIL, FAIL, LATER, FAIL),
    "sse-kms-new-key": (PASS, PASS, PASS, PASS, PASS, FAIL, FAIL, FAIL, PASS, FAIL),
    "sse-kms-existing-key": (PASS, PASS, PASS, LATER, PASS, FAIL, FAIL, FAIL, PASS, FAIL),
    # Leaving out KMS and RDS Data API events fails CloudTrail.1 despite multi-region; its
    # S3 writes of every bucket but the log bucket pass S3.22 (CIS 4.8), not reads (4.9).
    "cloudwatch-and-sns": (FAIL, PASS, PASS, PASS, PASS, FAIL, PASS, FAIL, PASS, PASS),
    "organization-trail": (PASS, PASS, PASS, PASS, PASS, FAIL, FAIL, FAIL, PASS, FAIL),
    # bucket.access_logs plans PutBucketLogging on the log bucket: CloudTrail.7 passes.
    "access-logging": (PASS, PASS, FAIL, NA, PASS, PASS, FAIL, FAIL, PASS, FAIL),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_passes_and_fails_the_controls_its_choices_decide(
    name: str, engine: Engine, aws: Any
) -> None:
    answers = example(name)
    prepare(answers, aws)
    _plan, controls = preview(engine, answers)
    assert ORDER == (
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
    )
    assert statuses(controls) == EXPECTED[name], {i: c.reason for i, c in controls.items()}
    for control in controls.values():
        # Only a failing control names the choice that passes it.
        assert (control.trade_off is not None) == (control.status == FAIL)


def test_sse_s3_fails_cloudtrail_2_and_says_to_choose_sse_kms(engine: Engine) -> None:
    _plan, controls = preview(engine, example("new-bucket-sse-s3"))
    encryption = controls["CloudTrail.2"]
    assert encryption.reason == "log files use SSE-S3 (S3-managed keys), not a KMS key"
    assert encryption.trade_off is not None and "sse-kms" in encryption.trade_off
    sentence = encryption.sentence()
    assert sentence.startswith("Fails CloudTrail.2 / CIS 4.5 (v7.0)")
    assert "To pass, choose SSE-KMS" in sentence
    logging = controls["CloudTrail.7"]
    assert logging.reason == "server access logging is off on acme-audit-logs-123456789012"
    assert logging.trade_off is not None and "bucket.access_logs" in logging.trade_off


def test_single_region_fails_cloudtrail_1(engine: Engine) -> None:
    answers = with_changes(
        example("new-bucket-sse-s3"),
        trail={"multi_region": False, "include_global_events": False},
    )
    _plan, controls = preview(engine, answers)
    assert controls["CloudTrail.1"].status == FAIL
    assert controls["CloudTrail.1"].reason == "records only us-east-1, not every region"


def test_read_only_management_events_fail_cloudtrail_1(engine: Engine) -> None:
    answers = with_changes(example("new-bucket-sse-s3"), events={"management": "read"})
    _plan, controls = preview(engine, answers)
    assert controls["CloudTrail.1"].status == FAIL
    assert "only read management events" in controls["CloudTrail.1"].reason


def test_validation_off_fails_cloudtrail_4(engine: Engine) -> None:
    answers = with_changes(example("new-bucket-sse-s3"), trail={"log_file_validation": False})
    _plan, controls = preview(engine, answers)
    assert controls["CloudTrail.4"].status == FAIL
    assert controls["CloudTrail.4"].reason == "log file validation is off"


def test_a_new_key_without_rotation_fails_kms_4(engine: Engine) -> None:
    answers = with_changes(example("sse-kms-new-key"), encryption={"rotation": False})
    _plan, controls = preview(engine, answers)
    assert controls["KMS.4"].status == FAIL
    assert controls["KMS.4"].reason == "automatic key rotation is off"
    assert controls["CloudTrail.2"].status == PASS
    assert controls["CloudTrail.2"].reason == "SSE-KMS with a new key (alias/acme-audit)"


def test_an_existing_key_and_bucket_are_decided_after_apply(engine: Engine) -> None:
    _plan, controls = preview(engine, example("sse-kms-existing-key"))
    assert controls["KMS.4"].reason.startswith("decided after apply: whether the existing key")
    _plan, controls = preview(engine, example("existing-bucket-prefix"))
    for control_id in ("CloudTrail.6", "CloudTrail.7"):
        assert controls[control_id].reason.startswith("decided after apply:")
        assert "cloudtrail-wizard status" in controls[control_id].reason


def test_a_planned_put_bucket_logging_on_the_log_bucket_passes_cloudtrail_7(
    engine: Engine,
) -> None:
    plan, controls = preview(engine, example("existing-bucket-prefix"))
    assert controls["CloudTrail.7"].status == LATER
    bucket = f"demo-app-data-{ACCOUNT}"

    def logging_step(target_bucket: str, target: str) -> Step:
        return Step(
            id="bucket-access-logging",
            call=Call(
                service="s3",
                region="eu-west-1",
                operation="PutBucketLogging",
                params={
                    "Bucket": target_bucket,
                    "BucketLoggingStatus": {
                        "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "trail/"}
                    },
                },
            ),
            summary="Send the log bucket's server access logs elsewhere",
            chain="bucket",
        )

    logged = plan.model_copy(update={"steps": [*plan.steps, logging_step(bucket, "access")]})
    result = {c.control.id: c for c in plan_controls(logged)}["CloudTrail.7"]
    assert (result.status, result.reason) == ("pass", "server access logs go to access/trail/")
    # Logging of some other bucket does not count for the log bucket.
    other = plan.model_copy(update={"steps": [*plan.steps, logging_step("elsewhere", "access")]})
    assert {c.control.id: c for c in plan_controls(other)}["CloudTrail.7"].status == LATER


# --------------------------------------------------------------------------- agreement


@pytest.mark.parametrize(
    "name",
    [
        "new-bucket-sse-s3",
        "sse-kms-new-key",
        "cloudwatch-and-sns",
        "existing-bucket-prefix",
        "access-logging",
    ],
)
def test_status_after_apply_agrees_with_the_preview(
    name: str, engine: Engine, aws: Any, tmp_path: Path
) -> None:
    answers = example(name)
    plan, found = engine.plan(answers)
    previewed = {c.control.id: c for c in plan_controls(plan)}
    outcome = engine.apply(answers, plan, found=found, journal_path=tmp_path / "journal.json")
    assert outcome.report.status == "applied", outcome.report.message

    region = answers.trail.region or "us-east-1"
    report = check_health(engine.caller, region, trail=answers.trail.name)
    (health,) = report.trails
    decided = [i for i, c in previewed.items() if c.status in (PASS, FAIL, NA)]
    assert len(decided) >= 5
    for control_id in decided:
        actual = health.control(control_id)
        assert actual.status == previewed[control_id].status, (control_id, actual.reason)
        if control_id != "CloudTrail.2":  # names the key by its ARN, known only after apply
            assert actual.reason == previewed[control_id].reason, control_id
    # What the preview left to after apply, status decides.
    for control_id, control in previewed.items():
        if control.status == LATER:
            assert health.control(control_id).status in (PASS, FAIL)


# --------------------------------------------------------------------------- command line


def test_plan_and_dry_run_print_the_controls(
    cli_env: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    sse_s3 = str(ROOT / "examples" / "new-bucket-sse-s3.yaml")
    assert main(["plan", sse_s3, "--output", "json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    by_id = {c["id"]: c for c in doc["controls"]}
    assert list(by_id) == list(ORDER)
    assert by_id["CloudTrail.2"]["status"] == "fail"
    assert by_id["CloudTrail.2"]["cis"]["v7.0"] == "4.5"
    assert "sse-kms" in by_id["CloudTrail.2"]["to_pass"]
    assert by_id["CloudTrail.1"] == {
        "id": "CloudTrail.1",
        "title": "Multi-region trail, logging read and write management events",
        "cis": {"v1.4.0": "3.1", "v3.0.0": "3.1", "v7.0": "4.1"},
        "status": "pass",
        "reason": "multi-region, logging, all read and write management events",
        "to_pass": None,
    }

    assert main(["apply", sse_s3, "--dry-run"]) == EXIT_OK
    out = capsys.readouterr().out
    section = out[out.index("Controls (") : out.index("Plan (")]
    assert "4 pass, 5 fail, 1 not applicable" in " ".join(section.split())
    assert "fail    CloudTrail.2 / CIS 4.5 (v7.0)" in section
    assert "to pass: choose SSE-KMS" in section
    assert "Dry run:" in out

    assert main(["apply", sse_s3, "--dry-run", "--output", "json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert [c["status"] for c in doc["plan"]["controls"]] == list(EXPECTED["new-bucket-sse-s3"])
