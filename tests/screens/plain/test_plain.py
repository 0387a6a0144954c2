"""The plain-prompt wizard (screens/plain/wizard.py), tested like a function.

questionary's prompt functions are replaced by a :class:`FakePrompt` that answers by a
substring of the prompt text (as harlequin's config-wizard tests do) and runs each text
question's validator on the answer, so validation messages are exercised. The wizard talks
to the seeded sandbox over HTTP; what it did to the account is checked with plain boto3.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pty
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import questionary

from screens.common.backend import Backend
from screens.plain import wizard as plain
from wizard import guide
from wizard.model.answers import Answers
from wizard.model.answers_file import load_answers
from wizard.model.names import check_bucket_name, check_trail_name
from wizard.sandbox.server import DEMO_ACCOUNT, DEMO_BUCKETS, DEMO_TRAIL, Sandbox

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[3]

QUESTIONS: dict[str, guide.Question] = {q.key: q for s in guide.STEPS for q in s.questions}
"""Every guide question by its answers key."""

GUIDE_PROMPTS = {q.prompt for q in QUESTIONS.values()}


# --------------------------------------------------------------------------- the fake


class Seq:
    """Answers to a question asked more than once (or retried after a validation message).

    Each ask takes the next answer; the last one is kept for any further asks.
    """

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)


@dataclass
class Asked:
    """One question the wizard asked."""

    kind: str
    """questionary function: text, confirm, select, checkbox or path."""
    prompt: str
    """The prompt text."""
    options: dict[str, Any]
    """Keyword arguments (default, choices, validate ...)."""
    answer: Any = None
    """What the fake answered."""

    @property
    def choice_values(self) -> list[Any]:
        """Values of a select or checkbox question's choices."""
        return [c.value for c in self.options.get("choices", [])]

    @property
    def choice_titles(self) -> list[str]:
        """Titles of a select or checkbox question's choices."""
        return [str(c.title) for c in self.options.get("choices", [])]


@dataclass
class FakePrompt:
    """questionary's prompts, answered from ``{prompt substring: answer}``.

    An answer may be a :class:`Seq`, an exception (raised, like Ctrl-C), or absent: then the
    question's default is taken, as if Enter was pressed. Only ``unsafe_ask`` exists, so a
    prompt asked with ``ask`` (which swallows Ctrl-C) fails the test.
    """

    answers: dict[str, Any]
    asked: list[Asked] = field(default_factory=list)
    """Every question, in order."""
    rejected: list[str] = field(default_factory=list)
    """Messages the validators produced for rejected answers, in order."""
    used: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._queues = {
            key: list(value.answers) if isinstance(value, Seq) else [value]
            for key, value in self.answers.items()
        }

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Replace questionary's prompt functions (screens.plain.wizard calls them through it)."""
        for kind in ("text", "confirm", "select", "checkbox", "path"):
            monkeypatch.setattr(questionary, kind, self._factory(kind))

    def _factory(self, kind: str) -> Callable[..., _Question]:
        def make(message: str, **options: Any) -> _Question:
            return _Question(self, Asked(kind, message, options))

        return make

    def prompts(self) -> list[str]:
        """The prompt texts, in order."""
        return [a.prompt for a in self.asked]

    def find(self, part: str) -> list[Asked]:
        """The questions whose prompt contains ``part``."""
        return [a for a in self.asked if part in a.prompt]

    def respond(self, asked: Asked) -> Any:
        self.asked.append(asked)
        assert len(self.asked) < 100, "the wizard keeps asking: a loop?"
        keys = [k for k in self._queues if k in asked.prompt]
        key = max(keys, key=len) if keys else None
        queue = self._queues[key] if key is not None else None
        if key is not None:
            self.used.add(key)
        while True:
            if queue is None:
                value, last = self._default(asked), True
            elif len(queue) > 1:
                value, last = queue.pop(0), False
            else:
                value, last = queue[0], True
            if isinstance(value, BaseException) or (
                isinstance(value, type) and issubclass(value, BaseException)
            ):
                raise value
            problem = self._check(asked, value)
            if problem is None:
                asked.answer = value
                return value
            self.rejected.append(problem)
            if last:  # a person would retype; a test with no answer left cannot
                raise AssertionError(f"{asked.prompt!r}: {value!r} rejected: {problem}")

    @staticmethod
    def _default(asked: Asked) -> Any:
        if asked.kind == "checkbox":
            return [c.value for c in asked.options["choices"] if c.checked]
        if asked.kind == "select" and asked.options.get("default") is None:
            return asked.choice_values[0]
        return asked.options.get("default")

    @staticmethod
    def _check(asked: Asked, value: Any) -> str | None:
        """The validation message for ``value`` (None: accepted), as questionary would."""
        if asked.kind == "select":
            default = asked.options.get("default")
            # questionary raises ValueError for a default that is not one of the choices.
            assert default is None or default in asked.choice_values, (asked.prompt, default)
            assert value in asked.choice_values, (asked.prompt, value)
        elif asked.kind == "checkbox":
            assert set(value) <= set(asked.choice_values), (asked.prompt, value)
        elif asked.kind == "confirm":
            assert isinstance(value, bool), (asked.prompt, value)
        else:
            assert isinstance(asked.options.get("default", ""), str), asked.prompt
            validate = asked.options.get("validate")
            result = validate(value) if validate is not None else True
            if result is not True:
                return str(result)
        return None


@dataclass
class _Question:
    fake: FakePrompt
    asked: Asked

    def unsafe_ask(self) -> Any:
        return self.fake.respond(self.asked)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def plain_sandbox() -> Iterator[Sandbox]:
    """One seeded emulator for the test session."""
    from wizard.sandbox.server import start_sandbox

    sandbox = start_sandbox()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(plain_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Sandbox:
    """The sandbox, reset and re-seeded; dummy credentials; state and cwd in tmp."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    plain_sandbox.reset(seed=True)
    return plain_sandbox


@dataclass
class Run:
    """What one run of the plain wizard did."""

    code: int
    output: str
    fake: FakePrompt

    @property
    def text(self) -> str:
        """The output with every run of blanks made one space (text is wrapped)."""
        return " ".join(self.output.split())


def plain_args() -> argparse.Namespace:
    """The command line of `cloudtrail-wizard --sandbox --plain` (shared by the plain tests)."""
    return argparse.Namespace(profile=None, region=None, sandbox=True, answers=None)


@pytest.fixture
def run_wizard(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run the plain wizard on the sandbox with a FakePrompt answering ``answers``."""

    def run(replies: dict[str, Any], **options: Any) -> Run:
        fake = FakePrompt(replies)
        fake.install(monkeypatch)
        out = io.StringIO()
        backend = Backend(sandbox=True, endpoint=sandbox.endpoint_url)
        code = plain.run_plain(plain_args(), backend=backend, out=out, **options)
        unused = set(replies) - fake.used
        assert not unused, f"answers never asked for: {unused}"
        return Run(code, out.getvalue(), fake)

    return run


def sandbox_client(sandbox: Sandbox, service: Any, region: str = "us-east-1") -> Any:
    """A plain boto3 client on the sandbox, with dummy credentials."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _bucket_names(sandbox: Sandbox) -> set[str]:
    return {b["Name"] for b in sandbox_client(sandbox, "s3").list_buckets()["Buckets"]}


def _trail_names(sandbox: Sandbox, region: str) -> set[str]:
    trails = sandbox_client(sandbox, "cloudtrail", region).describe_trails()["trailList"]
    return {t["Name"] for t in trails}


def _normal(text: str) -> str:
    return " ".join(text.split())


NEW_BUCKET_SSE_S3 = {
    "Trail name": "plain-trail",
    "Where should the log files go?": True,
    "Bucket name": "plain-trail-logs-123456789012",
    "How should log files be encrypted?": "sse-s3",
}


# --------------------------------------------------------------------------- the flows


def test_new_bucket_sse_s3_is_applied_verified_and_saved(
    run_wizard: Callable[..., Run], sandbox: Sandbox, tmp_path: Path
) -> None:
    """Apply creates a logging trail and its bucket; the saved answers load back equal."""
    saved = tmp_path / "plain.answers.yaml"
    run = run_wizard(
        {
            **NEW_BUCKET_SSE_S3,
            plain.PROMPT_NEXT: "apply",
            "changes to account 123456789012 in region us-east-1?": True,
            plain.PROMPT_SAVE: True,
            plain.PROMPT_SAVE_PATH: str(saved),
        }
    )

    assert run.code == 0, run.output
    arn = f"arn:aws:cloudtrail:us-east-1:{DEMO_ACCOUNT}:trail/plain-trail"
    cloudtrail = sandbox_client(sandbox, "cloudtrail")
    assert cloudtrail.get_trail_status(Name=arn)["IsLogging"] is True
    trail = cloudtrail.get_trail(Name=arn)["Trail"]
    assert trail["S3BucketName"] == "plain-trail-logs-123456789012"
    assert trail["IsMultiRegionTrail"] is True
    assert trail["LogFileValidationEnabled"] is True
    assert "KmsKeyId" not in trail
    rules = sandbox_client(sandbox, "s3").get_bucket_encryption(
        Bucket="plain-trail-logs-123456789012"
    )
    sse = rules["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    assert f"Applied: {arn}" in run.output
    assert "[ok] trail is logging" in run.output
    assert "FAIL" not in run.output
    assert "\x1b" not in run.output  # not a terminal: no colour, no cursor movement
    journal = re.search(r"^Journal: (.+)$", run.output, re.MULTILINE)
    assert journal is not None and Path(journal.group(1)).is_file()
    assert str(tmp_path / "state") in journal.group(1)
    timing, steps = guide.next_steps("plain-trail", sandbox=True, validation=True)
    assert _normal(timing) in run.text
    assert all(_normal(f"- {step}") in run.text for step in steps)
    # One progress line per step, when it is done, as the `apply` command prints them.
    assert "[ok] create-trail: " in run.output
    assert "[ok] start-logging: " in run.output
    assert "[..]" not in run.output
    applying = re.search(r"^Applying (\d+) changes", run.output, re.MULTILINE)
    assert applying is not None
    progress = re.findall(r"^\[(..)\] ([\w-]+): ", run.output, re.MULTILINE)
    # Then the run's own last line (no step's: it names no step).
    assert progress.pop() == ("==", "finished")
    assert "[==] finished: applied\n" in run.output
    step_ids = [step_id for _mark, step_id in progress]
    assert len(step_ids) == len(set(step_ids)) == int(applying.group(1)), progress
    assert {mark for mark, _ in progress} == {"ok"}

    expected = Answers.model_validate(
        {
            "trail": {"name": "plain-trail"},
            "bucket": {"name": "plain-trail-logs-123456789012"},
            "encryption": {"type": "sse-s3"},
        }
    )
    assert load_answers(saved) == expected
    assert f"Answers saved to {saved}." in run.output


def test_asks_the_guide_questions_with_its_choices_defaults_and_validators(
    run_wizard: Callable[..., Run], sandbox: Sandbox
) -> None:
    """Every prompt comes from wizard.guide, in order; bad answers get the guide's message."""
    run = run_wizard(
        {
            "Trail name": Seq("my trail!", "plain-trail"),
            "Bucket name": Seq("My_Bucket", "plain-trail-logs-123456789012"),
            plain.PROMPT_NEXT: "quit",
        }
    )

    assert run.code == 0, run.output
    assert run.fake.rejected == [check_trail_name("my trail!"), check_bucket_name("My_Bucket")]
    keys = [
        "trail.name",
        "trail.region",
        "trail.multi_region",  # yes, so include_global_events is not asked
        "trail.log_file_validation",  # the sandbox is in no organization: not offered
        "bucket.create",
        "bucket.name",
        "bucket.region",
        "bucket.access_logging",  # off (the default), so its bucket and prefix are not asked
        "bucket.retention_transition_days",  # empty, so the storage class is not asked
        "bucket.retention_expire_days",
        "bucket.retention_noncurrent_days",
        "bucket.object_lock",  # off (the default), so its days are not asked
        "bucket.prefix",
        "encryption.type",
        "encryption.key",
        "encryption.alias",
        "encryption.decrypt_principals",
        "notifications.sns_topic",
        "cloudwatch_logs.log_group",  # empty, so the retention is not asked
        "events.management",
        "events.exclude_sources",
        "events.presets",
        "events.data",  # the selectors: none yet, so only kept or added
        "events.insights",  # no data events, so aggregation is not asked
    ]
    asked = run.fake.asked
    assert [a.prompt for a in asked] == [QUESTIONS[k].prompt for k in keys] + [plain.PROMPT_NEXT]
    for a, key in zip(asked, keys, strict=False):
        question = QUESTIONS[key]
        if question.kind == "selectors":
            # A menu: with no selector yet there is none to change or remove.
            assert a.kind == "select"
            assert a.choice_values == ["done", "add-data", "add-network"]
            continue
        assert a.kind == question.kind, key  # the questionary function of the same name
        if question.choices:
            assert a.choice_values == [c.value for c in question.choices], key
            assert a.choice_titles == [
                f"{c.label} ({c.hint})" if c.hint else c.label for c in question.choices
            ], key
    by_prompt = {a.prompt: a for a in asked}
    assert by_prompt["Trail name"].options["default"] == "management-events"
    # Defaults follow earlier answers, as the guide computes them.
    # The new bucket's name also names the account: bucket names are global.
    assert by_prompt["Bucket name"].options["default"] == (
        f"aws-cloudtrail-logs-{DEMO_ACCOUNT}-plain-trail"
    )
    assert by_prompt[QUESTIONS["encryption.alias"].prompt].options["default"] == (
        "alias/cloudtrail-plain-trail"
    )
    assert by_prompt["Where should the log files go?"].options["default"] is True
    assert by_prompt["Management events"].options["default"] == "all"

    # Sandbox mode: each step's help and each question's hint are printed, wrapped.
    for step in guide.STEPS[1:7]:
        assert _normal(step.help) in run.text
    # The steps are headed and numbered as the TUI's title bar numbers them (Step 2 of 8:
    # Trail), welcome to review, in order.
    headings = re.findall(r"^== Step (\d+) of (\d+): (.+) ==$", run.output, re.MULTILINE)
    tui_steps = [s for s in guide.STEPS if s.id not in ("apply", "done")]
    assert headings == [(str(n), "8", s.title) for n, s in enumerate(tui_steps, 1)]
    assert headings[1] == ("2", "8", "Trail")
    # No organization question where the TUI disables its switch; the line says why.
    assert "Organization trail: not offered. Not possible: this account is not in an AWS " in (
        run.text
    )
    assert _normal(QUESTIONS["trail.name"].help) in run.text
    assert max(len(line) for line in _prose(run.output)) < plain.MAX_WIDTH
    # Who am I, and the trail homed in another region than the session's.
    assert f"Account    {DEMO_ACCOUNT}" in run.output
    assert f"{DEMO_TRAIL}: home us-west-2, single-region" in run.output
    # The review: findings, the plan and the new key's complete policy; nothing changed.
    assert "Plan: " in run.output
    assert "== KMS key policy ==" in run.output
    assert "Quit before applying. Nothing was changed." in run.output
    assert "plain-trail-logs-123456789012" not in _bucket_names(sandbox)


def test_access_logging_is_answered_and_applied(
    run_wizard: Callable[..., Run], sandbox: Sandbox, tmp_path: Path
) -> None:
    """The storage step's access logging question: a new bucket, the suggested name."""
    saved = tmp_path / "access.answers.yaml"
    target = "plain-trail-logs-123456789012-access-logs"
    run = run_wizard(
        {
            **NEW_BUCKET_SSE_S3,
            QUESTIONS["bucket.access_logging"].prompt: "new",
            QUESTIONS["bucket.access_log_bucket"].prompt: Seq(
                "plain-trail-logs-123456789012", target
            ),
            QUESTIONS["bucket.access_log_prefix"].prompt: "trail-bucket",
            plain.PROMPT_NEXT: "apply",
            "changes to account 123456789012 in region us-east-1?": True,
            plain.PROMPT_SAVE: True,
            plain.PROMPT_SAVE_PATH: str(saved),
        }
    )

    assert run.code == 0, run.output
    first = next(
        a for a in run.fake.asked if a.prompt == QUESTIONS["bucket.access_log_bucket"].prompt
    )
    assert first.options["default"] == target
    # Naming the log bucket itself is refused when the answers are checked as a whole.
    assert "the log bucket plain-trail-logs-123456789012 itself" in run.text
    logging = sandbox_client(sandbox, "s3").get_bucket_logging(
        Bucket="plain-trail-logs-123456789012"
    )
    assert logging["LoggingEnabled"] == {"TargetBucket": target, "TargetPrefix": "trail-bucket/"}
    assert "[ok] server access logging of the log bucket" in run.output
    # The review printed the new access log bucket's policy as a policy the apply writes.
    assert "== S3 access log bucket policy ==" in run.output
    assert "S3ServerAccessLogsDelivery" in run.output
    access = load_answers(saved).bucket.access_logs
    assert access is not None
    assert (access.bucket, access.prefix, access.create) == (target, "trail-bucket/", True)


def test_organization_trail_is_offered_where_it_can_work(
    run_wizard: Callable[..., Run], sandbox: Sandbox
) -> None:
    """The management account of an organization is asked, with the TUI's hint above."""
    org = sandbox_client(sandbox, "organizations").create_organization(FeatureSet="ALL")
    org_id = org["Organization"]["Id"]
    run = run_wizard({**NEW_BUCKET_SSE_S3, plain.PROMPT_NEXT: "quit"}, show_help=False)

    assert run.code == 0, run.output
    assert len(run.fake.find(QUESTIONS["trail.organization"].prompt)) == 1
    assert f"Organization trail: Possible: this is the management account of {org_id}." in (
        run.text
    )


def test_organization_trail_from_an_answers_file_is_turned_off_where_impossible(
    run_wizard: Callable[..., Run],
) -> None:
    """--answers asking for an organization trail outside an organization: not asked, off."""
    answers = Answers.model_validate(
        {
            "trail": {"name": "org-trail", "organization": True},
            "bucket": {"name": "org-trail-logs-123456789012"},
            "encryption": {"type": "sse-s3"},
        }
    )
    run = run_wizard({plain.PROMPT_NEXT: "quit"}, answers=answers, show_help=False)

    assert run.code == 0, run.output
    assert not run.fake.find(QUESTIONS["trail.organization"].prompt)
    assert "The answers asked for one; it is turned off." in run.text
    assert "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail" in run.output
    assert "[organization-" not in run.output  # no organization finding: the trail is not one


def _prose(output: str) -> list[str]:
    """Lines of wrapped text (not JSON, diffs or one-line-per-event progress)."""
    return [
        line
        for line in output.splitlines()
        if line and not line.startswith((" ", "{", "}", "[", "+", "-", "@", "=="))
    ]


def test_dry_run_changes_nothing(run_wizard: Callable[..., Run], sandbox: Sandbox) -> None:
    """Dry-run records the calls and sends none; then the menu comes back without it."""
    before = _bucket_names(sandbox)
    run = run_wizard({**NEW_BUCKET_SSE_S3, plain.PROMPT_NEXT: Seq("dry-run", "quit")})

    assert run.code == 0, run.output
    assert _bucket_names(sandbox) == before
    assert "plain-trail" not in _trail_names(sandbox, "us-east-1")
    assert "DRY RUN: nothing was changed." in run.output
    match = re.search(r"(\d+) changes recorded, none sent", run.output)
    assert match is not None and int(match.group(1)) >= 4
    assert "s3:CreateBucket in us-east-1" in run.output
    assert "cloudtrail:StartLogging in us-east-1" in run.output
    menus = run.fake.find(plain.PROMPT_NEXT)
    assert [m.answer for m in menus] == ["dry-run", "quit"]
    assert "dry-run" in menus[0].choice_values
    assert "dry-run" not in menus[1].choice_values


def test_blocked_plan_says_why_changes_nothing_and_exits_2(
    run_wizard: Callable[..., Run], sandbox: Sandbox, tmp_path: Path
) -> None:
    """A key in eu-west-1 for a us-east-1 bucket: kms-region-mismatch blocks, exit 2."""
    run = run_wizard(
        {
            "Trail name": "plain-blocked",
            "Home region": "eu-west-1",
            "Bucket name": "plain-blocked-logs-123456789012",
            "Region of the new bucket": "us-east-1",
            "How should log files be encrypted?": "sse-kms",
            "Which key?": "alias/app-data-eu",
            plain.PROMPT_SAVE: False,
        }
    )

    assert run.code == 2, run.output
    assert "ERROR [kms-region-mismatch]" in run.output
    findings = re.findall(r"^  (ERROR|WARNING|NOTE) \[", run.output, re.MULTILINE)
    assert findings[0] == "ERROR"
    assert findings == sorted(findings, key=["ERROR", "WARNING", "NOTE"].index)
    assert "Apply is blocked by the errors above. Nothing was changed." in run.text
    assert not run.fake.find(plain.PROMPT_NEXT)
    assert run.fake.prompts()[-1] == plain.PROMPT_SAVE
    # The key list said so before the question was asked.
    assert "alias/app-data-eu (eu-west-1): not usable" in run.output
    assert _bucket_names(sandbox) == set(DEMO_BUCKETS)
    assert "plain-blocked" not in _trail_names(sandbox, "eu-west-1")
    assert "plain-blocked" not in _trail_names(sandbox, "us-east-1")
    assert list(tmp_path.glob("*.yaml")) == []


def test_ctrl_c_at_a_question_changes_nothing(
    run_wizard: Callable[..., Run], sandbox: Sandbox
) -> None:
    """Ctrl-C before applying: one message, exit 130, no further question."""
    run = run_wizard({"Trail name": "plain-trail", "Bucket name": KeyboardInterrupt})

    assert run.code == 130
    assert run.output.rstrip().endswith("Interrupted before applying. Nothing was changed.")
    assert run.fake.prompts()[-1] == "Bucket name"
    assert _bucket_names(sandbox) == set(DEMO_BUCKETS)


def test_answers_that_do_not_fit_are_asked_again_from_their_step(
    run_wizard: Callable[..., Run],
) -> None:
    """No management and no data events: the message names the field; Events is re-asked."""
    run = run_wizard(
        {
            "Trail name": "plain-trail",
            "Management events": Seq("none", "all"),
            plain.PROMPT_NEXT: "quit",
        }
    )

    assert run.code == 0, run.output
    assert "These answers do not fit together:" in run.output
    assert (
        "events: events.management is none and events.data and events.network are empty" in run.text
    )
    assert "Asking again from the Events step." in run.output
    prompts = run.fake.prompts()
    assert prompts.count("Management events") == 2
    assert prompts.count("Trail name") == 1
    # Exclusions only apply to management events: not asked the first time, asked again.
    assert prompts.count(QUESTIONS["events.exclude_sources"].prompt) == 1


def test_answers_file_prefills_the_questions(
    run_wizard: Callable[..., Run], tmp_path: Path
) -> None:
    """--answers pre-fills: each question starts from the file's value."""
    answers = Answers.model_validate(
        {
            "trail": {"name": "from-file", "log_file_validation": False},
            "bucket": {"name": "from-file-logs-123456789012", "prefix": "audit"},
            "encryption": {"type": "sse-s3"},
            "cloudwatch_logs": {"log_group": "from-file-group", "retention_days": 90},
            "events": {"data": [{"type": "s3"}]},
        }
    )
    run = run_wizard({plain.PROMPT_NEXT: "quit"}, answers=answers, show_help=False)

    assert run.code == 0, run.output
    by_prompt = {a.prompt: a for a in run.fake.asked}
    assert by_prompt["Trail name"].options["default"] == "from-file"
    assert by_prompt[QUESTIONS["trail.log_file_validation"].prompt].options["default"] is False
    assert by_prompt["Log file prefix (folder)"].options["default"] == "audit"
    assert by_prompt["How should log files be encrypted?"].options["default"] == "sse-s3"
    assert by_prompt[QUESTIONS["cloudwatch_logs.retention_days"].prompt].options["default"] == 90
    presets = by_prompt[QUESTIONS["events.presets"].prompt].options["choices"]
    assert [c.value for c in presets if c.checked] == ["s3-all"]
    assert "Which key?" not in by_prompt  # SSE-S3: no key questions
    # show_help=False: no step help, but the plan is still shown.
    assert _normal(guide.TRAIL_HELP) not in run.text
    assert "Trail   arn:aws:cloudtrail:us-east-1:123456789012:trail/from-file" in run.output


def test_answers_to_questions_that_no_longer_apply_are_dropped(
    run_wizard: Callable[..., Run],
) -> None:
    """A pre-filled exclusion is dropped when management events are turned off.

    Otherwise it would contradict the new answer, with no question left to fix it.
    """
    answers = Answers.model_validate(
        {
            "trail": {"name": "from-file"},
            "bucket": {"name": "from-file-logs-123456789012"},
            "events": {"exclude_sources": ["kms.amazonaws.com"]},
        }
    )
    run = run_wizard(
        {
            "Management events": "none",
            QUESTIONS["events.presets"].prompt: ["s3-all"],
            plain.PROMPT_NEXT: "quit",
        },
        answers=answers,
        show_help=False,
    )

    assert run.code == 0, run.output
    assert "do not fit together" not in run.output
    assert not run.fake.find(QUESTIONS["events.exclude_sources"].prompt)
    assert "Choose the events to record (advanced selectors): S3 data events\n" in run.output


# --------------------------------------------------------------------------- connecting


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere (and no instance metadata to wait for)."""
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def test_without_credentials_says_so_and_can_stop(
    no_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials: the reason is printed and the sandbox offered; no means exit 2."""
    fake = FakePrompt({plain.PROMPT_USE_SANDBOX: False})
    fake.install(monkeypatch)
    out = io.StringIO()
    backend = Backend(region="us-east-1")
    code = plain.run_plain(
        argparse.Namespace(profile=None, region="us-east-1", sandbox=False, answers=None),
        backend=backend,
        out=out,
    )

    assert code == 2
    assert "Could not connect to AWS." in out.getvalue()
    assert "credentials" in out.getvalue().lower()
    assert out.getvalue().rstrip().endswith("Nothing was changed.")
    assert fake.prompts() == [plain.PROMPT_USE_SANDBOX]


def test_without_credentials_continues_on_the_sandbox(
    no_credentials: None, plain_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Yes to the sandbox: it starts, the account says SANDBOX, and the steps begin."""
    fake = FakePrompt({plain.PROMPT_USE_SANDBOX: True, "Trail name": KeyboardInterrupt})
    fake.install(monkeypatch)
    out = io.StringIO()
    backend = Backend(region="us-east-1")
    # The sandbox the wizard starts seeds the emulator state this process shares.
    plain_sandbox.reset(seed=False)
    try:
        args = argparse.Namespace(profile=None, region="us-east-1", sandbox=False, answers=None)
        code = plain.run_plain(args, backend=backend, out=out, show_help=False)
        assert backend.info is not None and backend.info.sandbox
    finally:
        backend.close()
        plain_sandbox.reset(seed=True)

    assert code == 130
    assert _normal(plain.SANDBOX_NOTE) in _normal(out.getvalue())
    assert f"Account    {DEMO_ACCOUNT}" in out.getvalue()
    assert "Profile    none (sandbox credentials)" in out.getvalue()
    assert fake.prompts() == [plain.PROMPT_USE_SANDBOX, "Trail name"]


# --------------------------------------------------------------------------- the command line


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("argv", "stdout_tty", "term", "notice"),
    [
        ([], False, "xterm", "Using plain prompts: standard output is not a terminal."),
        ([], True, "dumb", "Using plain prompts: TERM is dumb."),
        (["--plain"], True, "xterm", None),
    ],
)
def test_cli_routes_to_plain_mode(
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    stdout_tty: bool,
    term: str,
    notice: str | None,
) -> None:
    """No terminal on stdout, TERM=dumb, or --plain: plain mode, with a notice saying why."""
    from screens.cli import main as cli

    calls: list[argparse.Namespace] = []

    def fake_run_plain(args: argparse.Namespace, **options: Any) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr(plain, "run_plain", fake_run_plain)
    monkeypatch.setenv("TERM", term)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(sys, "stdout", _Terminal() if stdout_tty else io.StringIO())
    errors = io.StringIO()
    monkeypatch.setattr(sys, "stderr", errors)

    assert cli.main(argv) == 0
    assert len(calls) == 1
    lines = errors.getvalue().splitlines()
    assert lines == ([notice] if notice else [])


def test_cli_refuses_plain_mode_without_a_terminal_to_ask_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Neither stdin nor stdout is a terminal: say what to use instead, exit 2."""
    from screens.cli import main as cli

    monkeypatch.setattr(sys, "stdin", io.StringIO())
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    errors = io.StringIO()
    monkeypatch.setattr(sys, "stderr", errors)

    assert cli.main([]) == 2
    assert "Using plain prompts: standard output is not a terminal." in errors.getvalue()
    assert "standard input is not a terminal" in errors.getvalue()
    assert "cloudtrail-wizard apply ANSWERS" in errors.getvalue()


_CHILD = textwrap.dedent(
    """
    import json, sys
    import questionary

    asked = []

    class Interrupt:
        def __init__(self, message, **options):
            asked.append(message)

        def unsafe_ask(self):
            raise KeyboardInterrupt

    for kind in ("text", "confirm", "select", "checkbox", "path"):
        setattr(questionary, kind, Interrupt)

    from screens.cli.main import main

    code = main([])
    print(json.dumps({"asked": asked, "textual": "textual" in sys.modules}), file=sys.stderr)
    sys.exit(code)
    """
)


def test_cli_without_a_terminal_runs_plain_mode_without_textual(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`cloudtrail-wizard` with stdout piped: plain mode, the notice, and Textual never loaded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sandbox.env())
    env.update(
        PYTHONPATH=str(ROOT),
        TERM="xterm",
        XDG_STATE_HOME=str(tmp_path / "state"),
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    controller, terminal = pty.openpty()  # a terminal to answer on; stdout stays a pipe
    try:
        result = subprocess.run(
            [sys.executable, "-c", _CHILD],
            cwd=tmp_path,
            env=env,
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)

    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert result.returncode == 130, result.stderr
    assert result.stderr.startswith("Using plain prompts: standard output is not a terminal.\n")
    assert report == {"asked": ["Trail name"], "textual": False}
    assert f"Account    {DEMO_ACCOUNT}" in result.stdout
    assert result.stdout.rstrip().endswith("Interrupted before applying. Nothing was changed.")
