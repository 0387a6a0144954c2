"""Tests for the offline commands of screens.cli: policies, schema, validate-answers.

They run ``main([...])`` in-process (capsys) and, once, the real module in a subprocess,
which also proves that the offline commands never import Textual.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_INVALID, EXIT_OK
from wizard import __version__

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
ORG_EXAMPLE = ROOT / "examples" / "organization-trail.yaml"
KEYS = [
    "bucket_policy",
    "key_policy",
    "sns_topic_policy",
    "cloudwatch_logs_role_trust_policy",
    "cloudwatch_logs_role_policy",
    "operator_policy",
]
TITLES = {
    "bucket_policy": "S3 bucket policy",
    "key_policy": "KMS key policy",
    "sns_topic_policy": "SNS topic policy",
    "cloudwatch_logs_role_trust_policy": "CloudWatch Logs role: trust policy",
    "cloudwatch_logs_role_policy": "CloudWatch Logs role: permissions policy",
    "access_log_bucket_policy": "S3 access log bucket policy",
    "operator_policy": "Your IAM policy",
}
# Which documents each example produces (the others must be null).
PRESENT = {
    "access-logging": {"bucket_policy", "access_log_bucket_policy", "operator_policy"},
    "cloudwatch-and-sns": set(KEYS),
    "existing-bucket-prefix": {"bucket_policy", "operator_policy"},
    "new-bucket-sse-s3": {"bucket_policy", "operator_policy"},
    "organization-trail": {"bucket_policy", "key_policy", "operator_policy"},
    "sse-kms-existing-key": {"bucket_policy", "key_policy", "operator_policy"},
    "sse-kms-new-key": {"bucket_policy", "key_policy", "operator_policy"},
}


@pytest.fixture(autouse=True)
def _no_region_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


def _policies_args(example: Path) -> list[str]:
    args = ["policies", str(example)]
    if example == ORG_EXAMPLE:
        args += ["--organization-id", "o-a1b2c3d4e5"]
    return args


def _subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_every_example_is_covered() -> None:
    assert {p.stem for p in EXAMPLES} == set(PRESENT)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_policies_json(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_policies_args(example), "--output", "json"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert err == ""
    doc = json.loads(out)
    # The access log bucket's policy (optional, off by default) is listed only when used.
    optional = (
        ["access_log_bucket_policy"] if "access_log_bucket_policy" in PRESENT[example.stem] else []
    )
    assert list(doc) == ["context", *KEYS[:-1], *optional, KEYS[-1]]
    present = {k for k, v in doc.items() if v is not None and k != "context"}
    assert present == PRESENT[example.stem]
    for key in present:
        assert doc[key]["Version"] == "2012-10-17"
        assert doc[key]["Statement"]


def test_policies_json_matches_the_golden_file(capsys: pytest.CaptureFixture[str]) -> None:
    example = ROOT / "examples" / "cloudwatch-and-sns.yaml"
    assert main(["policies", str(example), "--output", "json"]) == EXIT_OK
    golden = Path(__file__).resolve().parents[2] / "golden" / "cloudwatch-and-sns.json"
    doc = json.loads(capsys.readouterr().out)
    context = doc.pop("context")
    assert doc == json.loads(golden.read_text())
    assert context["account"] == "123456789012" and context["account_is_placeholder"] is True


def test_the_placeholder_account_is_said_in_text_and_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = str(ROOT / "examples" / "new-bucket-sse-s3.yaml")
    assert main(["policies", example]) == EXIT_OK
    text = capsys.readouterr().out
    first = text.splitlines()[0]
    assert "No --account given" in first and "placeholder account 123456789012" in first
    assert "--account" in first
    assert main(["policies", example, "--output", "json"]) == EXIT_OK
    context = json.loads(capsys.readouterr().out)["context"]
    assert context["account_is_placeholder"] is True
    assert "placeholder account 123456789012" in context["note"]

    assert main(["policies", example, "--account", "210987654321"]) == EXIT_OK
    assert "placeholder" not in capsys.readouterr().out
    assert main(["policies", example, "--account", "210987654321", "--output", "json"]) == EXIT_OK
    context = json.loads(capsys.readouterr().out)["context"]
    assert context == {
        "account": "210987654321",
        "account_is_placeholder": False,
        "partition": "aws",
    }


def test_sse_s3_has_no_key_policy(capsys: pytest.CaptureFixture[str]) -> None:
    example = ROOT / "examples" / "new-bucket-sse-s3.yaml"
    assert main(["policies", str(example), "--output", "json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["key_policy"] is None


def test_policies_options_reach_the_documents(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--region",
            "eu-west-1",
            "policies",
            str(ROOT / "examples" / "new-bucket-sse-s3.yaml"),
            "--account",
            "210987654321",
            "--output",
            "json",
        ]
    )
    assert code == EXIT_OK
    text = capsys.readouterr().out
    assert "arn:aws:cloudtrail:us-east-1:210987654321:trail/acme-audit" in text
    assert "123456789012" not in text.replace("acme-audit-logs-123456789012", "")


def test_several_answers_files_give_one_object_each(capsys: pytest.CaptureFixture[str]) -> None:
    first, second = (
        str(ROOT / "examples" / n) for n in ("new-bucket-sse-s3.yaml", "sse-kms-new-key.yaml")
    )
    assert main(["policies", first, second, "--output", "json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == [first, second]
    assert all(list(v) == ["context", *KEYS] for v in doc.values())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_policies_text(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_policies_args(example)) == EXIT_OK
    out, err = capsys.readouterr()
    assert err == ""
    assert f"# Policies for {example}" in out
    for key, title in TITLES.items():
        assert (f"== {title}" in out) == (key in PRESENT[example.stem]), title
    assert "\x1b[" not in out  # no colour when not on a terminal


def test_invalid_answers_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("trail:\n  name: acme-audit\nbucket:\n  name: Bad_Bucket\n")
    assert main(["policies", str(path)]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}:4: bucket.name:" in err
    assert "'Bad_Bucket'" in err
    assert "Nothing was changed" in err
    assert "Traceback" not in err


def test_malformed_and_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("trail: [\n")
    missing = tmp_path / "missing.yaml"
    assert main(["validate-answers", str(bad), str(missing)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert f"{bad}:2: not valid YAML/JSON" in err
    assert f"{missing}: file not found" in err
    assert "Traceback" not in err


def test_validate_answers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-answers", *map(str, EXAMPLES)]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.splitlines() == [f"{p}: valid" for p in EXAMPLES]


def test_organization_trail_needs_the_organization_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["policies", str(ORG_EXAMPLE)]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert "--organization-id" in err and str(ORG_EXAMPLE) in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--account", "12345", "12 digits"),
        ("--organization-id", "o-x", "organization id"),
        ("--partition", "aws-mars", "unknown partition"),
        ("--management-account", "x", "12 digits"),
    ],
)
def test_bad_options(
    option: str, value: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["policies", str(ORG_EXAMPLE), "--organization-id", "o-a1b2c3d4e5", option, value])
    assert code == EXIT_INVALID
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_bad_region_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_REGION", "mars-1")
    assert main(["policies", str(EXAMPLES[0])]) == EXIT_INVALID
    assert "'mars-1'" in capsys.readouterr().err


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == EXIT_OK
    schema = json.loads(capsys.readouterr().out)
    assert {"trail", "bucket", "encryption"} <= set(schema["properties"])


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"cloudtrail-wizard {__version__}"


def test_unknown_option_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["policies", str(EXAMPLES[0]), "--output", "yaml"])
    assert info.value.code == EXIT_INVALID
    assert "invalid choice" in capsys.readouterr().err


# -------------------------------------------------------------------- subprocess


def test_console_module_in_a_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "screens.cli", *_policies_args(ORG_EXAMPLE), "--output", "json"],
        cwd=ROOT,
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert list(json.loads(result.stdout)) == ["context", *KEYS]


def test_console_module_reports_bad_input_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"trail": {"name": "acme-audit"}, "bucket": {"name": "x"}}')
    result = subprocess.run(
        [sys.executable, "-m", "screens.cli", "policies", str(path)],
        cwd=ROOT,
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_INVALID
    assert f"{path}:1: bucket.name:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("output", ["json", "text"])
def test_offline_policies_do_not_import_textual(output: str) -> None:
    args = [*_policies_args(ROOT / "examples" / "cloudwatch-and-sns.yaml"), "--output", output]
    code = (
        "import sys\n"
        "from screens.cli.main import main\n"
        f"code = main({args!r})\n"
        "assert code == 0, code\n"
        "loaded = sorted(m for m in ('textual', 'questionary') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Version" in result.stdout
