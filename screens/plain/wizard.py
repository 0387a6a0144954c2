"""The plain-prompt wizard: the TUI's flow as a sequence of questions.

Used with ``--plain``, and automatically when standard output is not a terminal or TERM is
``dumb``. It asks exactly the questions of :mod:`wizard.guide` (same prompts, choices,
defaults, validation messages and help texts), and the Storage step's questions about a
bucket in another account (:mod:`screens.common.log_account`), in the TUI's order, and
drives the same :class:`wizard.engine.Engine` as the TUI and the ``plan``/``apply`` commands.
The questions are questionary's, or numbered lines of text on a dumb terminal
(:mod:`screens.plain.prompts`).

Accessibility: every status is a full line of text, there is no animation, and nothing is
coloured when ``NO_COLOR`` is set (prompt_toolkit honours it for the questions, and
:func:`screens.common.console.print_json_block` for the policies).

Every question is asked so that Ctrl-C raises ``KeyboardInterrupt`` (questionary's
``.unsafe_ask()``); one handler
at the top (:func:`run_plain`) says that nothing was changed, as harlequin's config wizard
does. Ctrl-C while applying is different: it asks for a clean stop and a rollback
(:func:`screens.common.reporting.stop_signals_set`); Ctrl-C while the buckets or keys are
listed stops the listing, and the question comes next.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import ValidationError

from screens.common.answers import load_one
from screens.common.backend import AccountInfo, Backend
from screens.common.console import POLICY_TITLES, print_json_block
from screens.common.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK
from screens.common.log_account import (
    ACCOUNT_HINT,
    ACCOUNT_PROMPT,
    OWNER_PROMPT,
    PROFILE_PROMPT,
    REACH_CHOICES,
    REACH_PROMPT,
    ROLE_PROMPT,
    LogAccountProblem,
    Reach,
    check_owner_account,
    check_profile,
    check_role,
    connect_log_account,
    owner_choices,
    sandbox_hint,
    who_writes,
)
from screens.common.reporting import Printer, explain_step_error, print_outcome, stop_signals_set
from screens.plain import existing
from screens.plain import lab as plain_lab
from screens.plain.existing import ExistingTrail
from screens.plain.prompts import LinePrompter, Prompter, QuestionaryPrompter, line_mode
from screens.plain.selectors import edit_selectors
from wizard import guide
from wizard.model.answers import Answers
from wizard.model.plan import by_severity
from wizard.model.safe_io import write_atomically
from wizard.model.text import printable_lines
from wizard.ports import AwsCaller, AwsError
from wizard.run.journal import check_state_dir
from wizard.run.journal import first_run as _first_run

if TYPE_CHECKING:
    from wizard.account.discovery import Discovery, OrganizationFacts, TrailFacts
    from wizard.account.inventory import BucketChoice
    from wizard.engine import Engine, Outcome
    from wizard.model.plan import Finding, Plan
    from wizard.run.apply import DryRunReport

PROMPT_USE_SANDBOX = "Continue on the sandbox instead (a local demo account; nothing touches AWS)?"
"""Asked when the session cannot be opened."""
PROMPT_NEXT = "What now?"
"""The action menu after the review: apply, dry-run, save, quit."""
PROMPT_SAVE = "Save these answers to a file?"
"""Offered at the end of every run that got as far as a plan."""
PROMPT_SAVE_PATH = "Answers file"
"""Where to save the answers."""

OWN_PROMPTS = (PROMPT_USE_SANDBOX, PROMPT_NEXT, PROMPT_SAVE, PROMPT_SAVE_PATH)
"""The prompts of this front end that are not guide questions (besides the two below)."""

LOG_ACCOUNT_PROMPTS = (OWNER_PROMPT, ACCOUNT_PROMPT, REACH_PROMPT, PROFILE_PROMPT, ROLE_PROMPT)
"""The Storage step's questions about a bucket in another account (the TUI's, in its order)."""

INTERRUPTED = "Interrupted before applying. Nothing was changed."
"""What Ctrl-C before an apply prints."""

SANDBOX_NOTE = (
    "SANDBOX: this is a local demo account with made-up resources. Nothing you do here touches AWS."
)

MAX_WIDTH = 100
"""Text is wrapped to the terminal's width, but never wider than this (readability)."""

ACTIONS: tuple[tuple[str, str], ...] = (
    ("apply", "Apply (asks once more, rolls back on failure)"),
    ("dry-run", "Dry-run (records the calls, changes nothing)"),
    ("save", "Save answers and quit"),
    ("quit", "Quit (nothing is changed)"),
)
"""The action menu's values and titles."""

POLICY_KINDS: dict[str, str | None] = {
    "bucket_policy": "bucket",
    "key_policy": "key",
    "sns_topic_policy": "topic",
    "cloudwatch_logs_role_trust_policy": "role-trust",
    "cloudwatch_logs_role_policy": "role-permissions",
    "access_log_bucket_policy": "access-log-bucket",
    "operator_policy": None,
}
"""plan.policies key -> the PolicyChange kind of the step that writes it (None: never written)."""

_SEVERITY = {"error": "ERROR", "warning": "WARNING", "info": "NOTE"}

_NEW_RESOURCE = {
    "bucket": "bucket",
    "key": "KMS key",
    "topic": "SNS topic",
    "role-trust": "delivery role",
    "role-permissions": "delivery role",
    "access-log-bucket": "access log bucket",
}


def confirm_apply_prompt(plan: Plan) -> str:
    """The last question before applying.

    Args:
        plan: The plan about to be applied.

    Returns:
        ``Apply 9 changes to account 123456789012 in region us-east-1?``
    """
    n = len(plan.steps)
    return (
        f"Apply {n} change{'s' if n != 1 else ''} to account {plan.account_id} in region "
        f"{plan.home_region}?"
    )


def replace_prompt(path: Path) -> str:
    """Asked before overwriting an existing answers file."""
    return f"{path} already exists. Replace it?"


def exit_code_for(outcome: Outcome) -> int:
    """The documented exit code of an apply (as ``cloudtrail-wizard apply`` returns it).

    Args:
        outcome: What the apply ended with.

    Returns:
        0 applied and verified, 1 failed (rolled back) or not verified, 2 refused as stale,
        130 stopped with Ctrl-C.
    """
    status = outcome.report.status
    if status == "cancelled":
        return EXIT_INTERRUPTED
    if status == "stale":
        return EXIT_INVALID
    if status != "applied":
        return EXIT_FAILED
    verification = outcome.verification
    return EXIT_OK if verification is None or verification.ok else EXIT_FAILED


def _choice_title(choice: guide.Choice) -> str:
    return f"{choice.label} ({choice.hint})" if choice.hint else choice.label


def _validator(check: Callable[[str], str | None]) -> Callable[[str], bool | str]:
    """A questionary validator (True, or the message) from a ``check(text) -> None | str``."""

    def validate(text: str) -> bool | str:
        problem = check(text.strip())
        return True if problem is None else str(problem)

    return validate


def _as_text(value: object) -> str:
    """A draft value as the text a text question starts with."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _text_answer(text: str | None) -> str | None:
    """What a typed answer means: surrounding blanks dropped, empty means none."""
    text = (text or "").strip()
    return text or None


class PlainWizard:
    """One run of the plain-prompt wizard; :meth:`run` returns the exit code."""

    def __init__(
        self,
        backend: Backend,
        *,
        out: TextIO,
        draft: guide.Draft | None = None,
        show_help: bool | None = None,
        prompter: Prompter | None = None,
    ) -> None:
        """Prepare a run.

        Args:
            backend: Opens the session (or the sandbox) and owns the engine.
            out: Where everything but the questions is written.
            draft: Answers to start from (``--answers``).
            show_help: Print each step's help; None: on the first run and in the sandbox.
            prompter: Asks the questions; None: numbered lines on a dumb terminal
                (``TERM=dumb``), questionary's prompts elsewhere.
        """
        self.backend = backend
        self.out = out
        self.draft: guide.Draft = draft or {}
        """The answers being collected (section -> field -> value)."""
        self.show_help = show_help if show_help is not None else backend.sandbox or _first_run()
        """Print each step's help text."""
        self._help_forced = show_help is not None
        self.width = min(_terminal_columns(), MAX_WIDTH) - 1
        """Wrap width for text."""
        self.applied_code: int | None = None
        """The apply's exit code, once an apply has run (Ctrl-C then skips only the save)."""
        self.organization: tuple[bool, str] | None = None
        """Whether an organization trail can be offered, and why (looked up once, when asked)."""
        self.organization_facts: OrganizationFacts | None = None
        """The organization, as discovery read it (once, for both organization questions)."""
        if prompter is None:
            prompter = LinePrompter.on_terminal() if line_mode() else QuestionaryPrompter()
        self.prompter: Prompter = prompter
        """Asks each question."""
        self.reach: tuple[Reach, str] | None = None
        """How the log-archive account was last reached (and the profile or role), if asked."""
        self.trails: list[TrailFacts] = []
        """The account's trails, as Welcome listed them (a trail name may pick one)."""
        self.existing: ExistingTrail | None = None
        """The existing trail being changed, if one was picked (see screens.plain.existing)."""
        self.skip_steps = False
        """Go to the review without asking the steps (fixes chosen, the steps not wanted)."""
        self.listed_buckets: dict[str, BucketChoice] = {}
        """The buckets the bucket question listed, by name (their policies read or not)."""
        self.listed_by: AwsCaller | None = None
        """The caller that listed them (another account's, for a log-archive bucket)."""
        self._blank = True

    # ------------------------------------------------------------------ output

    def line(self, text: str = "") -> None:
        """Write one line (a blank line only once in a row)."""
        if not text and self._blank:
            return
        self._blank = not text
        # Names, messages and AWS answers may hold escape sequences: show them, never run them.
        self.out.write(printable_lines(text) + "\n")
        self.out.flush()

    def para(
        self, text: str, indent: str = "", *, hang: str | None = None, blank: bool = True
    ) -> None:
        """Write text re-wrapped to the terminal width (blank lines separate paragraphs).

        Args:
            text: The text; its own line breaks inside a paragraph are ignored.
            indent: Put before the first line of each paragraph.
            hang: Put before the following lines (default: ``indent``).
            blank: Write a blank line after each paragraph.
        """
        for block in text.strip().split("\n\n"):
            self.line(
                textwrap.fill(
                    " ".join(block.split()),
                    width=self.width,
                    initial_indent=indent,
                    subsequent_indent=indent if hang is None else hang,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
            if blank:
                self.line()

    def heading(self, title: str) -> None:
        """A section heading on its own line, after a blank line."""
        self.line()
        self.line(f"== {title} ==")
        self.line()

    # ------------------------------------------------------------------ questions

    @property
    def ask(self) -> Prompter:
        """The prompter, once our own output is flushed (questions come after it)."""
        self.out.flush()
        self._blank = False  # an answer is left on a line of its own
        return self.prompter

    def confirm(self, prompt: str, default: bool) -> bool:
        """Ask a yes/no question."""
        return self.ask.confirm(prompt, default=default)

    def choose(self, prompt: str, choices: Iterable[guide.Choice], default: Any) -> Any:
        """Ask for one of ``choices`` (their titles as the guide's questions show them)."""
        options = [(_choice_title(c), c.value) for c in choices]
        return self.ask.select(prompt, options, default=default)

    def ask_question(self, q: guide.Question) -> Any:
        """Ask one guide question, starting from the draft's value or the guide's default.

        Args:
            q: The question.

        Returns:
            The value to store in the draft: a flag, text or None, a choice's value or a list
            of them, by the question's kind (the draft is untyped until the answers validate
            it, hence ``Any``).
        """
        section, _, name = q.key.partition(".")
        current = self.draft.get(section, {}).get(name)
        info = self.backend.info
        account = info.account_id if info is not None else None
        default = current if current is not None else q.suggest(self.draft, account)
        if q.help:
            self.para(q.help, indent="  ", blank=False)
        if q.kind == "confirm":
            return self.confirm(q.prompt, bool(default))
        if q.kind == "select":
            values = [c.value for c in q.choices]
            if default not in values:
                default = q.suggest(self.draft, account)
            return self.choose(q.prompt, q.choices, default if default in values else None)
        if q.kind == "checkbox":
            chosen = default if isinstance(default, list) else []
            options = [(_choice_title(c), c.value) for c in q.choices]
            return self.ask.checkbox(q.prompt, options, chosen=chosen)

        def validate(text: str) -> bool | str:
            problem = q.validate(_text_answer(text))
            return True if problem is None else problem

        answer = self.ask.text(q.prompt, default=_as_text(default), validate=validate)
        return _text_answer(answer)

    # ------------------------------------------------------------------ the run

    def run(self) -> int:
        """The whole wizard: connect, ask, review, then apply, dry-run or save."""
        self.line("cloudtrail-wizard: set up an AWS CloudTrail trail, step by step.")
        if self.prompter.intro:
            self.para(self.prompter.intro, blank=False)
        self.heading(guide.step_title("welcome"))
        if self.show_help:
            self.line()
            self.para(guide.WELCOME_HELP)
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.run.recover import unfinished_finding

        unfinished = unfinished_finding()
        if unfinished is not None:
            self.line()
            self.para(f"Warning: {unfinished.message}")
        info = self.connect()
        if info is None:
            self.line("Nothing was changed.")
            return EXIT_INVALID
        engine = self.backend.engine
        self.show_account(info, engine)
        lab = plain_lab.current(self.backend)
        if lab is not None:  # a lab is started in the sandbox: its goal before the steps
            heading, text = plain_lab.goal(lab)
            self.heading(heading)
            self.para(text)
        answers = self.collect()
        planned = self.review(answers, engine)
        if planned is None:
            return EXIT_FAILED
        plan, found = planned
        if plan.blocked:
            self.line()
            self.para(
                "Apply is blocked by the errors above. Nothing was changed. Fix them (change "
                "the answers, or the account) and run the wizard again."
            )
            self.offer_save(answers)
            return EXIT_INVALID
        code = self.act(answers, plan, found, engine)
        if lab is not None:  # and its checks once the wizard is done
            self.line()
            for line in plain_lab.report(lab, plain_lab.check(lab, self.backend, info)):
                self.line(line)
        return code

    def connect(self) -> AccountInfo | None:
        """Open the session; without one, say why and offer the sandbox.

        Returns:
            Who the wizard runs as, or None when there is no session to work with.
        """
        # Deferred for start-up time: boto3/botocore load only when AWS is called.
        from wizard.aws.session import CredentialsProblem, explain_aws_error

        sandbox = self.backend.sandbox
        self.line()
        self.line("Starting the sandbox and connecting..." if sandbox else "Connecting to AWS...")
        try:
            return self.backend.connect()
        except CredentialsProblem as problem:
            reason = problem.message
        except AwsError as err:
            reason = explain_aws_error(err)
        self.line("Could not connect to AWS.")
        self.para(reason, indent="  ")
        if sandbox or not self.confirm(PROMPT_USE_SANDBOX, default=True):
            return None
        if not self._help_forced:
            self.show_help = True
        self.line("Starting the sandbox and connecting...")
        try:
            return self.backend.switch_to_sandbox()
        except (CredentialsProblem, AwsError) as exc:
            self.line(f"The sandbox did not start: {exc}")
            return None

    def show_account(self, info: AccountInfo, engine: Engine) -> None:
        """Who the wizard runs as, and the trails the account already has."""
        if info.sandbox:
            profile = "none (sandbox credentials)"
        else:
            profile = info.profile or "none (default credential chain)"
        self.line()
        self.line("You are working as:")
        for label, value in (
            ("Account", info.account_id),
            ("Caller", info.caller_arn),
            ("Partition", info.partition),
            ("Region", info.region),
            ("Profile", profile),
        ):
            self.line(f"  {label:<10} {value}")
        if info.sandbox:
            self.line()
            self.para(SANDBOX_NOTE)
        else:
            self.line()
        self.line("Looking for existing trails...")
        try:
            trails = engine.all_trails()
        except AwsError as err:
            self.line(f"Could not list the existing trails: {err.message}")
            return
        self.trails = trails
        if not trails:
            self.line("No trail exists yet: this will be the account's first trail.")
            return
        self.line(f"Trails that already exist ({len(trails)}):")
        for t in trails:
            kind = (
                "organization"
                if t.organization
                else ("multi-region" if t.multi_region else "single-region")
            )
            bucket = f", logs to {t.bucket}" if t.bucket else ""
            self.line(f"  {t.name}: home {t.home_region}, {kind}{bucket}")
        self.line()
        self.para(existing.HINT, blank=False)
        if self.offer_only_missing(engine, info):
            return
        covering = [t for t in trails if t.organization or t.multi_region]
        if covering:
            t = covering[0]
            what = "organization trail" if t.organization else "multi-region trail"
            self.line()
            self.para(
                f"Note: {t.name} ({what}) already records management events in every region "
                "of this account. The first copy is free; a second trail's copy is charged, so "
                "consider recording only data events in the new trail."
            )

    def offer_only_missing(self, engine: Engine, info: AccountInfo) -> bool:
        """Say which organization trails already record the account, and offer to add only
        what they leave out (no second, charged copy of management events).

        Returns:
            True when such trails were found (and said), False when there are none.
        """
        # Deferred for start-up time: the planner loads only when this runs.
        from wizard.plan.landing import add_only_missing

        try:
            shadows = engine.trails()  # DescribeTrails lists the organization's shadow copies
            found = (
                engine.organization_trails(shadows)
                if any(t.organization and t.owner_account != info.account_id for t in shadows)
                else []
            )
        except AwsError as err:
            self.line(f"Could not read the organization trails: {err.message}")
            return False
        if not found:
            return False
        self.line()
        for t in found:
            self.para(f"Already recorded: {t.describe()}")
        self.para(
            "A second copy of management events in a trail of this account is charged (the "
            "review's cost says how much). You can add only what is missing instead: data "
            "events, Insights on them, a copy in a bucket of this account."
        )
        if self.confirm("Add only what is missing (no management events in the new trail)?", True):
            self.draft, said = add_only_missing(self.draft, found)
            for sentence in said:
                self.line(f"  {sentence}")
        return True

    # ------------------------------------------------------------------ questions

    def collect(self) -> Answers:
        """Ask every step's questions until the answers validate as a whole."""
        steps = [s for s in guide.STEPS if s.questions]
        start = 0
        while True:
            for index in range(start, len(steps)):
                self.ask_step(steps[index])
            try:
                return Answers.model_validate(guide.answers_data(self.draft))
            except ValidationError as exc:
                self.skip_steps = False  # the step to fix is asked, whatever was chosen
                start = self.explain_invalid(exc, steps)

    def ask_step(self, step: guide.StepGuide) -> None:
        """Print a step's title (numbered as the TUI numbers it) and help, then its questions."""
        if self.skip_steps:
            return
        self.heading(guide.step_title(step.id))
        if self.show_help:
            self.para(step.help)
        for q in step.questions:
            if not q.when(self.draft):
                # An answer to a question that no longer applies must not linger: it could
                # contradict the answers given since, with no question left to fix it.
                section, _, name = q.key.partition(".")
                self.draft.get(section, {}).pop(name, None)
                continue
            if q.key == "trail.organization" and not self.offer_organization():
                continue
            if q.key == "organization.delegated_admin" and not self.offer_delegated_admin():
                continue
            if q.kind == "selectors":
                edit_selectors(self, self.draft, self.partition())
                continue
            self.before_question(q)
            guide.put(self.draft, q.key, self.ask_question(q))
            if q.key == guide.PRESETS_KEY:
                # Picked presets become selectors the next question lists and edits.
                guide.apply_presets(self.draft, guide.get(self.draft, q.key) or [])
            self.after_question(q)
            if q.key == "trail.name":
                # An existing trail's name: change it, or fix it (screens.plain.existing).
                existing.offer(self, str(guide.get(self.draft, "trail.name") or ""))
                if self.skip_steps:
                    return
        existing.print_step_changes(self, step.id)

    def partition(self) -> str:
        """The session's ARN partition ("aws" before a session is open)."""
        info = self.backend.info
        return info.partition if info is not None else "aws"

    def offer_organization(self) -> bool:
        """Say whether an organization trail can work here; False: it is not asked.

        The TUI's rule (:func:`wizard.account.discovery.organization_verdict`): the question
        is left out, and the answer set to no, where the account can create no organization
        trail; the line above it says why. When that could not be checked, it is asked and
        the review checks again.
        """
        if self.organization is None:
            # Deferred for start-up time: pydantic models load only when this runs.
            from wizard.account.discovery import organization_verdict

            self.organization = organization_verdict(self.organization_found())
        possible, hint = self.organization
        if possible:
            self.para(f"Organization trail: {hint}", indent="  ", blank=False)
            return True
        was_on = guide.get(self.draft, "trail.organization") is True
        guide.put(self.draft, "trail.organization", False)
        self.para(
            f"Organization trail: not offered. {hint}"
            + (" The answers asked for one; it is turned off." if was_on else ""),
            indent="  ",
            blank=False,
        )
        return False

    def organization_found(self) -> OrganizationFacts:
        """The organization facts, read once (both organization questions use them)."""
        if self.organization_facts is None:
            # Deferred for start-up time: pydantic models load only when this runs.
            from wizard.account.discovery import discover_organization

            engine = self.backend.engine
            self.line("Looking at the organization...")
            self.organization_facts = discover_organization(engine.ctx, engine.caller)
        return self.organization_facts

    def offer_delegated_admin(self) -> bool:
        """Say whether a delegated administrator can be registered here; False: not asked.

        The TUI's rule (:func:`wizard.plan.landing.delegated_admin_verdict`): only the
        management account is asked; elsewhere the question is left out and an answer from
        the answers file is dropped, with the reason.
        """
        # Deferred for start-up time: the plan package loads only when this runs.
        from wizard.plan.landing import delegated_admin_verdict

        asked, hint = delegated_admin_verdict(self.organization_found())
        if asked:
            self.para(f"Delegated administrator: {hint}", indent="  ", blank=False)
            return True
        named = guide.get(self.draft, "organization.delegated_admin")
        self.draft.get("organization", {}).pop("delegated_admin", None)
        self.para(
            f"Delegated administrator: {hint}"
            + (f" The answers named {named}; that is dropped." if named else ""),
            indent="  ",
            blank=False,
        )
        return False

    def before_question(self, q: guide.Question) -> None:
        """What the account has to choose from, listed before the questions that pick it."""
        if q.key == "bucket.name" and guide.get(self.draft, "bucket.create") is False:
            self.ask_bucket_owner()
            self.list_buckets()
        elif q.key == "bucket.name":
            # A new bucket is always this account's.
            self.draft.get("bucket", {}).pop("account", None)
            self.backend.use_log_account(None)
        elif q.key == "encryption.key":
            self.list_keys()

    # ------------------------------------------------------------------ another account

    def ask_bucket_owner(self) -> None:
        """Whose bucket; for another account's: its ID and how the wizard reaches it.

        The TUI's Storage step asks the same, in the same order: whose bucket, the owner's
        account ID, how to reach that account (a profile, a role, or not at all), then the
        profile or role, and connects at once.
        """
        this = self.backend.engine.ctx.account_id
        current = str(guide.get(self.draft, "bucket.account") or "")
        owner = self.choose(OWNER_PROMPT, owner_choices(this), "other" if current else "this")
        if owner == "this":
            self.draft.get("bucket", {}).pop("account", None)
            self.backend.use_log_account(None)
            self.para(who_writes("this", "owner"), indent="  ", blank=False)
            return
        self.para(ACCOUNT_HINT, indent="  ", blank=False)
        account = self.ask.text(
            ACCOUNT_PROMPT,
            default=current,
            validate=_validator(lambda v: check_owner_account(v, this)),
        ).strip()
        guide.put(self.draft, "bucket.account", account)
        hint = sandbox_hint(self.backend.sandbox_log_archive)
        if hint:
            self.para(hint, indent="  ", blank=False)
        while True:
            offered, value = self.initial_reach(account, prefilled=bool(current))
            reach = self.choose(REACH_PROMPT, REACH_CHOICES, offered)
            self.para(who_writes("other", reach), indent="  ", blank=False)
            if reach != offered:
                value = self.suggested_role(account) if reach == "role" else ""
            if reach == "owner":
                self.reach = ("owner", "")
                self.backend.use_log_account(None)
                return
            if reach == "profile":
                value = self.ask.text(
                    PROFILE_PROMPT, default=value, validate=_validator(check_profile)
                )
            else:
                value = self.ask.text(
                    ROLE_PROMPT,
                    default=value,
                    validate=_validator(lambda v: check_role(v, account)),
                )
            value = value.strip()
            self.reach = (reach, value)
            if self.connect_log_account(account, reach, value):
                return

    def initial_reach(self, account: str, *, prefilled: bool) -> tuple[Reach, str]:
        """The way to reach ``account`` offered first, and the profile or role to start from.

        As the TUI: the way it was last reached; for an owner the answers named before (an
        answers file: no session yet) its owner is asked; otherwise a role in the sandbox
        (its log-archive account's role once its ID is given), a profile elsewhere.
        """
        log = self.backend.log_account
        if log is not None and log.account_id == account:
            return log.how, log.value
        if self.reach is not None:
            return self.reach
        if prefilled:
            return "owner", ""
        if self.backend.sandbox_log_archive is None:
            return "profile", ""
        return "role", self.suggested_role(account)

    def suggested_role(self, account: str) -> str:
        """The sandbox's log-archive role when ``account`` is that account's, else nothing."""
        seeded = self.backend.sandbox_log_archive
        return seeded[1] if seeded is not None and account == seeded[0] else ""

    def connect_log_account(self, account: str, how: Reach, value: str) -> bool:
        """Open the log-archive account's session; False (and why) when it cannot be."""
        assert how != "owner"  # only a profile or a role connects
        backend = self.backend
        self.line(f"Connecting to account {account}...")
        try:
            log = connect_log_account(
                backend.session,
                account,
                how,
                value,
                sandbox=backend.sandbox,
                read_only=backend.read_only,
            )
        except LogAccountProblem as exc:
            self.para(exc.message, indent="  ", blank=False)
            self.line("Choose another way to reach it, or try again.")
            return False
        backend.use_log_account(log)
        self.line(f"Connected to account {log.account_id} as {log.caller_arn}.")
        return True

    def list_buckets(self) -> None:
        """List the owner's buckets (information for the bucket name question).

        An account with up to a page of buckets (100) gets each bucket with its policy's
        verdict, in name order as the verdicts come in (many read at once). A bigger one gets
        its buckets page by page with their regions (one request a page, nothing read per
        bucket), and the policy of the bucket named in the answer is read then
        (:meth:`after_question`). Ctrl-C stops the listing and goes on to the question.
        """
        # Deferred for start-up time: the inventory (pydantic models) loads when needed.
        from wizard.account.inventory import BUCKET_FIRST_PAGE, bucket_pages, check_bucket
        from wizard.account.lookups import READS_AT_ONCE

        log = self.backend.log_account
        central = bool(guide.get(self.draft, "bucket.account"))
        self.listed_buckets = {}
        if central and log is None:
            self.para(
                "Without that account's credentials its buckets cannot be listed: type the "
                "bucket's name below."
            )
            return
        whose = f"account {log.account_id}" if central and log is not None else "this account"
        engine = self.backend.engine
        caller = log.caller if central and log is not None else engine.caller
        self.listed_by = caller
        listed = self.listed_buckets
        self.line(f"Looking at the buckets of {whose} (Ctrl-C stops the listing)...")
        pool = ThreadPoolExecutor(max_workers=READS_AT_ONCE, thread_name_prefix="plain-buckets")
        try:
            for page in bucket_pages(caller, engine.ctx.region):
                if page and not listed:
                    self.line(f"Buckets of {whose}:")
                if not listed and len(page) < BUCKET_FIRST_PAGE:
                    # Every bucket fits one page: each comes with its verdict.
                    page = list(
                        pool.map(lambda b: check_bucket(caller, engine.ctx.account_id, b), page)
                    )
                for b in page:
                    listed[b.name] = b
                    note = f": {b.note}" if b.note else ""
                    self.line(f"  {b.name} ({b.region or 'region unknown'}){note}")
        except AwsError as err:
            self.line(f"Could not list the buckets ({err.code}); type the bucket's name.")
            return
        except KeyboardInterrupt:
            self.line(f"Listing stopped after {len(listed)} buckets; type the bucket's name.")
            return
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if not listed:
            self.line(f"{whose[0].upper()}{whose[1:]} has no bucket yet.")

    def after_question(self, q: guide.Question) -> None:
        """What the answer just given leads to: a listed bucket's policy, read now."""
        if q.key != "bucket.name" or guide.get(self.draft, "bucket.create") is not False:
            return
        # Deferred for start-up time: the inventory (pydantic models) loads when needed.
        from wizard.account.inventory import check_bucket

        chosen = self.listed_buckets.get(str(guide.get(self.draft, "bucket.name") or ""))
        if chosen is None or chosen.checked or self.listed_by is None:
            return
        try:
            checked = check_bucket(self.listed_by, self.backend.engine.ctx.account_id, chosen)
        except KeyboardInterrupt:
            return
        self.listed_buckets[checked.name] = checked
        if checked.allows_cloudtrail:
            verdict = "its policy already allows CloudTrail"
        elif checked.allows_cloudtrail is False:
            verdict = "CloudTrail's statements will be added to its policy"
        else:
            verdict = checked.note
        self.line(f"  {checked.name} ({checked.region}): {verdict}.")

    def list_keys(self) -> None:
        """List the KMS keys near the bucket, with whether each can be used.

        Lines come in list order as soon as each key is described; Ctrl-C stops the listing
        and goes on to the question.
        """
        # Deferred for start-up time: the inventory (pydantic models) loads when needed.
        from wizard.account.inventory import KeyChoice, KeyListing, bucket_regions

        engine = self.backend.engine
        home = guide.get(self.draft, "trail.region") or engine.ctx.region
        bucket = guide.get(self.draft, "bucket.name")
        self.line("Looking at the account's KMS keys (Ctrl-C stops the listing)...")
        rows: list[str] = []
        known: dict[str, KeyChoice] = {}
        shown = usable = 0
        listing: KeyListing | None = None
        try:
            if guide.get(self.draft, "bucket.create", True) is not False:
                region = guide.get(self.draft, "bucket.region") or home
                regions = {home, region}
            else:
                # ListBuckets names every bucket's region: no policy needs reading here.
                located = bucket_regions(engine.caller, engine.ctx.region)
                region = located.get(bucket or "", home)
                regions = {*located.values(), home, region}
            listing = KeyListing(engine.caller, sorted(regions), region)
            for batch in listing.batches():
                if batch.found and not rows:
                    self.line(f"The bucket is in {region}: the key must be in {region} too.")
                rows.extend(k.arn for k in batch.found)
                known.update({k.arn: k for k in [*batch.found, *batch.checked]})
                while shown < len(rows) and known[rows[shown]].checked:
                    k = known[rows[shown]]
                    if k.eligible:
                        usable += 1
                        self.line(f"  {k.label} ({k.region}): usable")
                    else:
                        self.para(
                            f"{k.label} ({k.region}): not usable, {k.reason}",
                            indent="  ",
                            hang="    ",
                            blank=False,
                        )
                    shown += 1
        except AwsError as err:
            self.line(f"Could not list the keys ({err.code}); type a key below.")
            return
        except KeyboardInterrupt:
            if listing is not None:
                listing.cancel()
            self.line(f"Listing stopped after {shown} of {len(rows)} keys; type a key below.")
            return
        if not rows:
            self.line(f"The bucket is in {region}: the key must be in {region} too.")
        if not usable:
            self.line("  No usable key: answer 'new' to create one.")

    def explain_invalid(self, exc: ValidationError, steps: list[guide.StepGuide]) -> int:
        """Print why the answers do not fit together; returns the step to ask again from."""
        self.line()
        self.line("These answers do not fit together:")
        first: tuple[int | str, ...] | None = None
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            first = first or loc
            path = ".".join(str(p) for p in loc)
            message = str(error["msg"]).removeprefix("Value error, ")
            self.para(f"{path}: {message}" if path else message, indent="  ")
        index = _step_of(first or (), steps)
        self.line(f"Asking again from the {steps[index].title} step.")
        return index

    # ------------------------------------------------------------------ review

    def review(self, answers: Answers, engine: Engine) -> tuple[Plan, Discovery] | None:
        """Discovery, preflight and plan; print findings, steps and every policy.

        Returns:
            The plan and the discovery behind it, or None when AWS could not be read.
        """
        # Deferred for start-up time: boto3/botocore load only when AWS is called.
        from wizard.aws.session import explain_aws_error

        self.heading(guide.step_title("review"))
        if self.show_help:
            self.para(guide.REVIEW_HELP)
        existing.print_all_changes(self)
        self.line("Looking at the account (discovery and preflight checks)...")
        try:
            plan, found = engine.plan(answers)
        except AwsError as err:
            self.para(f"{explain_aws_error(err)} Nothing was changed.")
            return None
        self.line()
        self.line(f"Account {plan.account_id} ({plan.partition}), home region {plan.home_region}")
        self.line(f"Trail   {plan.trail_arn}")
        self.print_findings(plan.findings)
        self.print_controls(plan)
        self.print_organization_trails(plan)
        self.print_cost(plan)
        self.print_steps(plan)
        self.print_policies(plan)
        return plan, found

    def print_findings(self, findings: Iterable[Finding]) -> None:
        """Findings, errors first, each with what to do about it."""
        ordered = by_severity(list(findings))
        if not ordered:
            return
        counts = [
            _count(sum(f.severity == severity for f in ordered), word)
            for severity, word in (("error", "error"), ("warning", "warning"), ("info", "note"))
        ]
        self.line()
        self.line(f"Findings: {', '.join(c for c in counts if c)}.")
        for f in ordered:
            first, *rest = f.message.split("\n")
            self.para(f"{_SEVERITY[f.severity]} [{f.code}] {first}", indent="  ", hang="    ")
            if rest:
                self._message_lines(rest)
            # A message that lists its statements already (a hand-off) needs no second copy.
            if f.statement and not any(text[:1] in ("[", "{") for text in rest):
                self.line("    The statement concerned:")
                for text in json.dumps(f.statement, indent=2).splitlines():
                    self.line(f"      {text}")
                self.line()

    def _message_lines(self, lines: list[str]) -> None:
        """A finding's further lines (a checklist, statements): JSON as it is, prose wrapped."""
        self._blank = False  # under the finding's first paragraph, not after a blank line
        for text in lines:
            if text[:1] in ("", " ", "{", "}", "[", "]", '"'):
                self.line(f"    {text}" if text else "")
            else:
                self.para(text, indent="    ", hang="       ", blank=False)
        self.line()

    def print_controls(self, plan: Plan) -> None:
        """Which CIS / Security Hub controls the planned trail passes, and how to pass the rest."""
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.export.text import controls_to_text
        from wizard.policy.controls import plan_controls

        self.line()
        for text in controls_to_text(plan_controls(plan), width=max(self.width, 60)):
            self.line(text)
        self.line()

    def print_organization_trails(self, plan: Plan) -> None:
        """The organization trails that already record the account, and what a copy costs."""
        if not plan.organization_trails:
            return
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.export.landing import landing_lines

        for text in landing_lines(plan.organization_trails, plan.cost):
            body = text.lstrip()
            pad = text[: len(text) - len(body)]
            self.para(body, indent=pad, hang=pad + "  ", blank=False)
        self.line()

    def print_cost(self, plan: Plan) -> None:
        """What the trail will cost a month: each choice, the total, and the assumptions."""
        if plan.cost is None:
            return
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.export.text import cost_to_text

        for text in cost_to_text(plan.cost, width=max(self.width, 60)):
            self.line(text)
        self.line()

    def print_steps(self, plan: Plan) -> None:
        """The planned changes, in order, with what each changes and how it is undone."""
        # Deferred for start-up time: the plan's renderings load when a plan is shown.
        from wizard.export.text import nothing_to_change, setting_line

        if plan.unchanged:
            self.para(nothing_to_change(plan))
            return
        self.line(f"Plan: {_count(len(plan.steps), 'change')}, in this order:")
        for number, step in enumerate(plan.steps, 1):
            self.para(step.summary, indent=f"  {number:2}. ", hang="      ", blank=False)
            self.line(f"      {step.call.service}:{step.call.operation} in {step.call.region}")
            for change in step.settings:
                self.para(setting_line(change), indent="      ", hang="        ", blank=False)
            if step.undo_summary:
                self.para(f"undo: {step.undo_summary}", indent="      ", blank=False)

    def print_policies(self, plan: Plan) -> None:
        """Every policy as it will be written; for merged ones, the diff."""
        for key, title in POLICY_TITLES.items():
            doc = plan.policies.get(key)
            if not doc:
                continue
            kind = POLICY_KINDS.get(key)
            step = next(
                (s for s in plan.steps if s.policy is not None and s.policy.kind == kind), None
            )
            self.line()
            if step is not None and step.policy is not None:
                text = step.policy.after  # exactly what the step writes
            else:
                text = _pretty_json(doc)
            print_json_block(title, text, self.out)
            if kind is None:
                self.para(
                    "Attach this to whoever runs the setup: it allows exactly the calls of the "
                    "plan (prefer it to AWSCloudTrail_FullAccess). The wizard does not create it."
                )
            elif step is None or step.policy is None:
                self.para("The existing policy already allows CloudTrail; it is left unchanged.")
            elif step.policy.before is None:
                noun = _NEW_RESOURCE.get(step.policy.kind, "resource")
                self.para(f"The complete policy of the new {noun}, written when it is created.")
            elif step.policy.diff:
                self.para(
                    f"Merged into the existing policy of {step.policy.resource}. The changes "
                    "('+' lines are added, '-' lines removed):"
                )
                self.line(step.policy.diff.rstrip("\n"))

    # ------------------------------------------------------------------ actions

    def act(self, answers: Answers, plan: Plan, found: Discovery, engine: Engine) -> int:
        """The action menu: apply, dry-run (then the menu again), save and quit, or quit."""
        dry_run_done = False
        while True:
            self.line()
            actions = [a for a in ACTIONS if not (dry_run_done and a[0] == "dry-run")]
            action = self.ask.select(
                PROMPT_NEXT, [(title, value) for value, title in actions], default="apply"
            )
            if action == "dry-run":
                self.dry_run(plan, engine)
                dry_run_done = True
            elif action == "save":
                self.save(answers)
                return EXIT_OK
            elif action == "quit":
                self.line("Quit before applying. Nothing was changed.")
                return EXIT_OK
            elif self.confirm(confirm_apply_prompt(plan), default=False):
                code = self.apply(answers, plan, found, engine)
                self.offer_save(answers)
                return code
            else:
                self.line("Not applied. Nothing was changed.")

    def dry_run(self, plan: Plan, engine: Engine) -> DryRunReport:
        """Record the calls apply would make; send none of them."""
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.run.apply import dry_run

        self.line("Dry-run: recording the calls apply would make...")
        report = dry_run(plan, engine.caller)
        for number, call in enumerate(report.recorded_calls, 1):
            self.line(f"  {number:2}. {call.service}:{call.operation} in {call.region}")
        for problem in report.problems:
            self.para(f"Problem: {problem}", indent="  ")
        recorded = _count(len(report.recorded_calls), "change") or "No change"
        reads = len(report.read_calls)
        self.line()
        self.line(
            f"DRY RUN: nothing was changed. {recorded} recorded, none sent."
            + (f" Only {_count(reads, 'read call')} went to AWS." if reads else "")
        )
        return report

    def apply(self, answers: Answers, plan: Plan, found: Discovery, engine: Engine) -> int:
        """Apply with one progress line per step outcome; Ctrl-C stops and rolls back."""
        self.heading(guide.step_title("apply"))
        # Every change is journalled first, so a run that cannot keep its journal makes none.
        problem = check_state_dir()
        if problem is not None:
            self.para(problem)
            self.applied_code = EXIT_INVALID
            return EXIT_INVALID
        if self.show_help:
            self.para(guide.APPLY_HELP)
        n = len(plan.steps)
        self.line(
            f"Applying {n} change{'s' if n != 1 else ''} to account {plan.account_id} "
            f"({plan.home_region}). Ctrl-C stops and rolls back."
        )
        cancel = threading.Event()
        with stop_signals_set(cancel, self.out):
            outcome = engine.apply(
                answers,
                plan,
                progress=Printer(self.out, enabled=True),
                cancel=cancel,
                found=found,
                explain=explain_step_error,
                paused=True,  # the person answered the question: the account is read again
            )
        self.applied_code = exit_code_for(outcome)
        print_outcome(plan, answers, outcome, self.out)
        if outcome.report.status == "applied":
            self.heading("Next steps")
            timing, items = guide.next_steps(
                answers.trail.name,
                sandbox=self.backend.sandbox,
                validation=answers.trail.log_file_validation,
            )
            self.para(timing)
            for item in items:
                self.para(item, indent="- ", hang="  ", blank=False)
        return self.applied_code

    def offer_save(self, answers: Answers) -> None:
        """Offer to save the answers (the end of every run that got to a plan)."""
        self.line()
        if self.confirm(PROMPT_SAVE, default=True):
            self.save(answers)

    def save(self, answers: Answers) -> Path | None:
        """Ask where, then write the answers file.

        Returns:
            The file written, or None when nothing was saved.
        """
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.model.answers_file import dump_answers

        answer = self.ask.path(
            PROMPT_SAVE_PATH,
            default=f"{answers.trail.name}.answers.yaml",
            validate=_check_save_path,
        )
        if not (answer or "").strip():
            self.line("The answers were not saved.")
            return None
        path = Path(answer.strip()).expanduser()
        if path.exists() and not self.confirm(replace_prompt(path), default=False):
            self.line("The answers were not saved.")
            return None
        try:
            write_atomically(path, dump_answers(answers))
        except OSError as exc:
            self.line(f"Could not save the answers to {path}: {exc}")
            return None
        self.line(f"Answers saved to {path}.")
        self.para(
            f"Start the wizard from them with `cloudtrail-wizard --answers {path}`, or apply them "
            f"in another account with `cloudtrail-wizard apply {path}`."
        )
        return path

    def interrupted(self) -> int:
        """What Ctrl-C at a question means (the one KeyboardInterrupt handler's work)."""
        self.line()
        if self.applied_code is not None:
            self.line("Interrupted: the answers were not saved.")
            return self.applied_code
        self.line(INTERRUPTED)
        return EXIT_INTERRUPTED


def _count(n: int, word: str) -> str:
    """``1 change``, ``3 changes``; empty for 0 (left out of lists)."""
    return f"{n} {word}{'s' if n != 1 else ''}" if n else ""


def _pretty_json(doc: object) -> str:
    """A policy document as indented JSON (AWS returns existing ones on a single line)."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.policy.merge import render_policy

    if isinstance(doc, str):
        text: str = doc
        try:
            doc = json.loads(text)
        except ValueError:
            return text
    if isinstance(doc, dict):
        return render_policy(doc)
    return json.dumps(doc, indent=2)


def _check_save_path(text: str) -> bool | str:
    """questionary validator: an empty answer (do not save) or a writable file path."""
    text = text.strip()
    if not text:
        return True
    path = Path(text).expanduser()
    if path.is_dir():
        return f"{path} is a directory; give a file name, e.g. {path / 'trail.answers.yaml'}."
    if not path.parent.is_dir():
        return f"The directory {path.parent} does not exist."
    return True


def _step_of(loc: tuple[int | str, ...], steps: list[guide.StepGuide]) -> int:
    """The index of the step that asks about an error's field (its section's first step)."""
    if not loc:
        return 0
    section = str(loc[0])
    key = f"{section}.{loc[1]}" if len(loc) > 1 else None
    for index, step in enumerate(steps):
        if any(q.key == key for q in step.questions):
            return index
    for index, step in enumerate(steps):
        if any(q.key.startswith(section + ".") for q in step.questions):
            return index
    return 0


def _terminal_columns() -> int:
    """The terminal's width: COLUMNS, else standard output's, else standard error's, else 80."""
    columns = shutil.get_terminal_size((0, 0)).columns
    if columns:
        return columns
    try:
        return os.get_terminal_size(sys.__stderr__.fileno()).columns if sys.__stderr__ else 80
    except (OSError, ValueError):
        return 80


def run_plain(
    args: argparse.Namespace,
    *,
    answers: Answers | None = None,
    backend: Backend | None = None,
    out: TextIO | None = None,
    show_help: bool | None = None,
    prompter: Prompter | None = None,
) -> int:
    """Run the plain-prompt wizard; returns the exit code.

    Args:
        args: The command line's options (``--profile``, ``--region``, ``--sandbox``,
            ``--answers``).
        answers: Answers to pre-fill (read from ``args.answers`` when not given).
        backend: The session to use; by default one is opened from ``args`` (tests pass one
            connected to a running sandbox). A backend given here is not closed.
        out: Where the report is written (default: standard output).
        show_help: Print the help texts; None: on the first run and in sandbox mode.
        prompter: Asks the questions; None: numbered lines when TERM is dumb, questionary's
            prompts elsewhere.

    Returns:
        0 applied and verified (or dry-run, saved, quit), 1 failed and rolled back,
        2 blocked or invalid, 130 interrupted.
    """
    if answers is None and getattr(args, "answers", None):
        answers = load_one(args.answers)[1]
    own_backend = backend is None
    if backend is None:
        backend = Backend(
            profile=getattr(args, "profile", None),
            region=getattr(args, "region", None),
            sandbox=bool(getattr(args, "sandbox", False)),
        )
    draft = guide.draft_from_answers(answers) if answers is not None else None
    wizard = PlainWizard(
        backend, out=out or sys.stdout, draft=draft, show_help=show_help, prompter=prompter
    )
    try:
        return wizard.run()
    except (KeyboardInterrupt, EOFError):
        return wizard.interrupted()
    finally:
        if own_backend:
            backend.close()
