"""Onboarding many accounts: one answers file, one central bucket, one trail per account.

The accounts file (YAML or JSON)::

    answers: shared-answers.yaml        # a path (relative to this file) or an inline mapping
    central:                            # optional: the log-archive account
      profile: log-archive              #   a profile for it, or
      role_arn: arn:aws:iam::999999999999:role/CloudTrailWizard   # a role to assume
      readers: [arn:aws:iam::999999999999:role/LogReader]         # may decrypt log files
    accounts:
      - id: "111111111111"
        role_arn: arn:aws:iam::111111111111:role/OrganizationAccountAccessRole
      - id: "222222222222"
        role_name: OrganizationAccountAccessRole   # the default when neither is given
        overrides: {trail: {tags: {team: payments}}}

Strings in the shared answers and the overrides may use ``{account_id}``.

The run (:class:`Onboarding`): assume the role in every account (a failure is that
account's, the others go on); discover and plan everywhere, concurrently and bounded; show
one summary; update the central bucket and key policies **once** with every account's
path and trail (:func:`wizard.plan.central.central_update_plan`, merged, never replaced); then
apply account by account with bounded concurrency, each re-planned on fresh discovery; end
with one result per account, the run's journal (the run, the central update, the summary),
and a journal of each account applied beside it (its own calls: ``recover`` reads each as a
run of its own). Every account is planned against what exists
(desired state, :mod:`wizard.plan.desired`): an account whose trail already matches the
answers (nothing to change, and verification passes) is ``already-done``; one whose trail
drifted is planned like any other, its update steps changing only what differs. Re-running
is idempotent and retries only what failed.

When nobody reviews the plans (``--yes``: :meth:`Onboarding.run_through`), the central
policies are updated first and each account is then planned and applied in one pass, on the
plan its discovery made a moment before, as ``apply --yes`` does: planning it twice would
only read the account again with nobody having looked in between.

Pure core: accounts are reached through an :class:`AccountOpener` the front end supplies.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from wizard.account.discovery import Discovery, discover_organization
from wizard.engine import Engine
from wizard.model.answers import Answers
from wizard.model.answers_file import (
    MAX_ANSWERS_BYTES,
    AnswersError,
    DuplicateKeyError,
    Problem,
    describe_error,
    duplicate_problem,
    line_of,
    load_yaml,
    read_input_file,
)
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext, Names
from wizard.model.names import (
    check_account_id,
    check_principal_arn,
    check_role_name,
    classify_key_ref,
)
from wizard.model.plan import Finding, Plan
from wizard.plan.central import (
    CentralUpdate,
    central_update_plan,
    read_central_policies,
)
from wizard.plan.planner import readable_diff
from wizard.policy.merge import PolicyError
from wizard.policy.policies import TrailWriter
from wizard.ports import AwsCaller, AwsError
from wizard.run.apply import ApplyEvent, apply_plan, dry_run
from wizard.run.journal import Journal
from wizard.run.recover import unfinished_finding
from wizard.run.verify import central_verification, verify

__all__ = [
    "DEFAULT_ROLE_NAME",
    "AccountEntry",
    "AccountOpener",
    "AccountResult",
    "AccountTarget",
    "AccountsFile",
    "CentralConfig",
    "CentralResult",
    "OnboardReport",
    "OnboardSpec",
    "Onboarding",
    "load_accounts",
    "organization_suggestion",
    "parse_accounts",
]

DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
"""The role assumed in an account that names neither ``role_arn`` nor ``role_name``."""

PLACEHOLDER = "{account_id}"
"""Replaced by each account's id in every string of the shared answers and the overrides."""


# --------------------------------------------------------------------------- file


def _check(problem: str | None) -> None:
    if problem:
        raise ValueError(problem)


def _role_arn_problem(value: str) -> str | None:
    problem = check_principal_arn(value)
    if problem is None and ":role/" not in value:
        problem = f"'{value}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
    return problem


class CentralConfig(WizardModel):
    """The log-archive account that owns the central bucket and key."""

    profile: str | None = None
    """A profile with credentials for the log-archive account."""
    role_arn: str | None = None
    """A role in the log-archive account, assumed from the main session."""
    readers: list[str] = Field(default_factory=list)
    """Principals allowed to decrypt the log files (central key)."""

    @field_validator("role_arn")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is not None:
            _check(_role_arn_problem(value))
        return value

    @field_validator("readers")
    @classmethod
    def _readers(cls, value: list[str]) -> list[str]:
        for reader in value:
            _check(check_principal_arn(reader))
        return value

    @model_validator(mode="after")
    def _one_way(self) -> CentralConfig:
        if self.profile and self.role_arn:
            raise ValueError("give central.profile or central.role_arn, not both.")
        return self


class AccountEntry(WizardModel):
    """One account to onboard."""

    id: str
    """The 12-digit account id."""
    role_arn: str | None = None
    """The role to assume in it (its account must be ``id``)."""
    role_name: str | None = None
    """The name of the role to assume (default OrganizationAccountAccessRole)."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    """Answers for this account only, merged over the shared answers."""

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if isinstance(value, int):
            value = f"{value:012d}"  # YAML reads an unquoted id as a number
        if isinstance(value, str):
            _check(check_account_id(value))
        return value

    @field_validator("role_arn")
    @classmethod
    def _role_arn(cls, value: str | None) -> str | None:
        if value is not None:
            _check(_role_arn_problem(value))
        return value

    @field_validator("role_name")
    @classmethod
    def _role_name(cls, value: str | None) -> str | None:
        if value is not None:
            _check(check_role_name(value))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AccountEntry:
        if self.role_arn and self.role_name:
            raise ValueError("give role_arn or role_name, not both.")
        if self.role_arn and self.role_arn.split(":")[4] != self.id:
            raise ValueError(
                f"role_arn {self.role_arn} is in account {self.role_arn.split(':')[4]}, not in "
                f"{self.id}: the role must be in the account it onboards."
            )
        return self

    def role(self, partition: str = "aws") -> str:
        """The ARN of the role to assume."""
        if self.role_arn:
            return self.role_arn
        return f"arn:{partition}:iam::{self.id}:role/{self.role_name or DEFAULT_ROLE_NAME}"


class AccountsFile(WizardModel):
    """The accounts file, as written."""

    answers: str | dict[str, Any]
    """Path of the shared answers file (relative to this file), or the answers inline."""
    central: CentralConfig | None = None
    """The log-archive account (owner of the central bucket and key)."""
    accounts: list[AccountEntry] = Field(min_length=1)
    """The accounts to onboard."""

    @model_validator(mode="after")
    def _unique(self) -> AccountsFile:
        seen: set[str] = set()
        for entry in self.accounts:
            if entry.id in seen:
                raise ValueError(f"account {entry.id} is listed twice; list each account once.")
            seen.add(entry.id)
        return self


class AccountTarget(WizardModel):
    """One account with its final answers."""

    entry: AccountEntry
    """As listed in the file."""
    answers: Answers
    """Shared answers + overrides, placeholders filled."""

    @property
    def account_id(self) -> str:
        """The account id."""
        return self.entry.id


class OnboardSpec(WizardModel):
    """A validated accounts file."""

    source: str
    """Where it was read from."""
    central: CentralConfig | None = None
    """The log-archive account."""
    targets: list[AccountTarget]
    """Every account, in file order."""

    def central_bucket(self) -> tuple[str, str, str, str | None] | None:
        """``(bucket, prefix, owner account, central key ref)`` when a central bucket is used."""
        for t in self.targets:
            b = t.answers.bucket
            if not b.create and b.account and b.account != t.account_id:
                return b.name, b.prefix, b.account, _central_key(t)
        return None

    def writers_of(self, bucket: str) -> list[AccountTarget]:
        """The accounts whose trails deliver to ``bucket``."""
        return [t for t in self.targets if t.answers.bucket.name == bucket]


def _central_key(target: AccountTarget) -> str | None:
    ref = target.answers.encryption.existing_key
    if not ref:
        return None
    parsed = classify_key_ref(ref)
    if isinstance(parsed, str) or not parsed.account or parsed.account == target.account_id:
        return None
    return ref


def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base.get(key), value) if key in base else value
        return merged
    return override


def _substitute(value: Any, account: str) -> Any:
    if isinstance(value, str):
        return value.replace(PLACEHOLDER, account)
    if isinstance(value, dict):
        return {k: _substitute(v, account) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, account) for v in value]
    return value


def _has_path(data: Any, loc: Sequence[Any]) -> bool:
    for part in loc:
        if (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and part < len(data)
        ):
            data = data[part]
        else:
            return False
    return True


def _load_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    try:
        return load_yaml(text)
    except DuplicateKeyError as exc:
        raise AnswersError(source, [duplicate_problem(exc)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise AnswersError(
            source,
            [
                Problem(
                    field="",
                    line=mark.line + 1 if mark is not None else None,
                    message=f"not valid YAML/JSON: {exc.problem or 'syntax error'}.",
                )
            ],
        ) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise AnswersError(
            source, [Problem(field="", line=None, message=f"not valid YAML/JSON: {exc}")]
        ) from None


_CENTRAL_FAILED = "the central policy update failed; nothing was changed here"
"""Why a planned account was not applied: the central update came first and failed."""

MAX_ACCOUNTS_BYTES = 8 << 20
"""Largest accounts file read (8 MiB). An entry (id, role and a few overrides) takes a few
hundred bytes, so thousands of accounts fit many times over; the cap keeps a wrong path
(``/dev/zero``, a log) from being read into memory. The shared answers file it names is an
answers file, capped at :data:`~wizard.model.answers_file.MAX_ANSWERS_BYTES`."""


def _read(path: Path, source: str, *, accounts: bool = False) -> str:
    if accounts:
        return read_input_file(path, source, MAX_ACCOUNTS_BYTES, what="accounts file")
    return read_input_file(path, source, MAX_ANSWERS_BYTES, what="answers file")


def load_accounts(path: str | Path) -> OnboardSpec:
    """Read and validate an accounts file (and the shared answers file it names).

    Raises:
        AnswersError: with ``file:line: field: message`` problems.
    """
    source = str(path)
    return parse_accounts(
        _read(Path(path), source, accounts=True), source, base_dir=Path(path).parent
    )


def parse_accounts(
    text: str, source: str = "<accounts>", base_dir: Path | None = None
) -> OnboardSpec:
    """Validate an accounts file given as text; see :func:`load_accounts`."""
    data, root = _load_yaml(text, source)
    if not isinstance(data, dict):
        raise AnswersError(
            source,
            [
                Problem(
                    field="",
                    line=1,
                    message="the file must be a mapping with answers, central and accounts.",
                )
            ],
        )
    try:
        spec = AccountsFile.model_validate(data)
    except ValidationError as exc:
        raise AnswersError(
            source,
            [
                Problem(
                    field=".".join(str(p) for p in e["loc"]),
                    line=line_of(root, list(e["loc"])),
                    message=describe_error(e, AccountsFile)[1],
                )
                for e in exc.errors(include_url=False)
            ],
        ) from None
    # Where the shared answers come from: another file, or this one under "answers".
    if isinstance(spec.answers, str):
        shared_path = (base_dir or Path(".")) / spec.answers
        shared_source = str(shared_path)
        shared, shared_root = _load_yaml(_read(shared_path, shared_source), shared_source)
        shared_base: list[Any] = []
        if not isinstance(shared, dict):
            raise AnswersError(
                shared_source,
                [Problem(field="", line=1, message="the shared answers must be a mapping.")],
            )
    else:
        shared, shared_root, shared_source, shared_base = spec.answers, root, source, ["answers"]
    problems: list[tuple[str, Problem]] = []
    targets: list[AccountTarget] = []
    for index, entry in enumerate(spec.accounts):
        merged = _substitute(_deep_merge(shared, entry.overrides), entry.id)
        try:
            answers = Answers.model_validate(merged)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc = [p for p in error["loc"] if not str(p).startswith("function-")]
                if _has_path(entry.overrides, loc):
                    at = ["accounts", index, "overrides", *loc]
                    where, line = source, line_of(root, at)
                else:
                    at = [*shared_base, *loc]
                    where, line = shared_source, line_of(shared_root, at)
                problems.append(
                    (
                        where,
                        Problem(
                            field=".".join(str(p) for p in at),
                            line=line,
                            message=f"for account {entry.id}: {describe_error(error, Answers)[1]}",
                        ),
                    )
                )
            continue
        targets.append(AccountTarget(entry=entry, answers=answers))
    if not problems:
        problems += _central_problems(spec, targets, root, source)
    if problems:
        # One error, every problem; each rendered against its own file.
        first_source = problems[0][0]
        rendered = [
            p if where == first_source else p.model_copy(update={"field": f"{where}: {p.field}"})
            for where, p in problems
        ]
        raise AnswersError(first_source, rendered)
    return OnboardSpec(source=source, central=spec.central, targets=targets)


def _central_problems(
    spec: AccountsFile, targets: list[AccountTarget], root: yaml.Node | None, source: str
) -> list[tuple[str, Problem]]:
    """All accounts delivering to a central bucket must agree on it (one update for all)."""
    out: list[tuple[str, Problem]] = []
    first: tuple[int, tuple[Any, ...]] | None = None
    for index, t in enumerate(targets):
        b = t.answers.bucket
        if b.create or not b.account or b.account == t.account_id:
            continue
        shape = (b.name, b.prefix, b.account, _central_key(t))
        if first is None:
            first = (index, shape)
        elif shape != first[1]:
            out.append(
                (
                    source,
                    Problem(
                        field=f"accounts.{index}",
                        line=line_of(root, ["accounts", index]),
                        message=f"account {t.account_id} delivers to bucket {b.name} (prefix "
                        f"'{b.prefix}', owner {b.account}, key {shape[3]}), but account "
                        f"{targets[first[0]].account_id} to {first[1][0]} (prefix "
                        f"'{first[1][1]}', owner {first[1][2]}, key {first[1][3]}). Every "
                        "account using the central bucket must use the same bucket, prefix "
                        "and key: the central policies are updated once for all of them.",
                    ),
                )
            )
    if spec.central is not None and first is None:
        out.append(
            (
                source,
                Problem(
                    field="central",
                    line=line_of(root, ["central"]),
                    message="central is given, but no account's answers use a bucket in "
                    "another account (bucket.create: false, bucket.account: LOG-ARCHIVE-ID).",
                ),
            )
        )
    return out


# ---------------------------------------------------------------------- the run


class AccountOpener(Protocol):
    """Reaches one account: returns its caller and context, or raises AwsError."""

    def __call__(self, target: AccountTarget) -> tuple[AwsCaller, AccountContext]:
        """Assume the account's role; the context names the account it really reached."""
        ...


AccountStatus = Literal[
    "ready",
    "blocked",
    "already-done",
    "needs-attention",
    "applied",
    "failed",
    "dry-run",
    "not-applied",
]


class AccountResult(WizardModel):
    """Where one account stands."""

    account_id: str
    """The account."""
    status: AccountStatus
    """ready (planned: created, or updated where it differs), blocked (error findings),
    already-done (nothing to change), needs-attention (nothing to change, but verification
    fails: a delivery error the answers cannot fix), applied, failed, dry-run, not-applied
    (declined)."""
    stage: str = ""
    """Where it stopped: connect, plan, apply, verify."""
    trail_arn: str | None = None
    """The account's trail."""
    findings: dict[str, int] = Field(default_factory=dict)
    """Number of findings per severity."""
    codes: list[str] = Field(default_factory=list)
    """Codes of the error and warning findings."""
    planned: int = 0
    """Changes planned in the account (the central update not counted)."""
    error: str | None = None
    """What went wrong."""
    journal_steps: dict[str, str] = Field(default_factory=dict)
    """Step -> status of the account's apply."""
    journal: str | None = None
    """The account's own journal (its calls; ``recover`` reads it), once it is applied."""


class CentralResult(WizardModel):
    """The one update of the central policies."""

    account_id: str
    """The log-archive account."""
    bucket: str
    """The central bucket."""
    key: str | None = None
    """The central key."""
    status: Literal["unchanged", "updated", "would-update", "failed", "blocked"]
    """What happened to the central policies."""
    added: list[str] = Field(default_factory=list)
    """Sids added."""
    diff: str = ""
    """What changed (or would change)."""
    error: str | None = None
    """Why it failed."""
    writers: list[str] = Field(default_factory=list)
    """The accounts whose paths and trails the policies allow."""


class OnboardReport(WizardModel):
    """The outcome of an onboarding run."""

    accounts: list[AccountResult]
    """One result per account, in file order."""
    central: CentralResult | None = None
    """The central update."""
    findings: list[Finding] = Field(default_factory=list)
    """Findings about the run as a whole (an organization trail suggestion)."""
    journal_path: str | None = None
    """The run's journal."""
    dry_run: bool = False
    """Nothing was changed."""

    @property
    def ok(self) -> bool:
        """Every account ended applied or already done (or planned, in a dry-run)."""
        good = {"applied", "already-done"} | ({"dry-run"} if self.dry_run else set())
        return all(a.status in good for a in self.accounts) and (
            self.central is None or self.central.status not in ("failed", "blocked")
        )


class _State:
    """One account during the run."""

    def __init__(self, target: AccountTarget) -> None:
        self.target = target
        self.caller: AwsCaller | None = None
        self.ctx: AccountContext | None = None
        self.engine: Engine | None = None
        self.plan: Plan | None = None
        self.found: Discovery | None = None
        self.result = AccountResult(account_id=target.account_id, status="ready")

    def update(self, **fields: Any) -> None:
        self.result = self.result.model_copy(update=fields)


class _AccountJournal(Journal):
    """One account's view of the run's journal: entries tagged with the account."""

    def __init__(self, parent: Journal, account: str) -> None:
        # Deliberately not Journal.__init__: every write goes to the parent document.
        self.path = parent.path
        self._parent = parent
        self._account = account

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The parent journal's entries."""
        return self._parent.entries

    def record(
        self,
        kind: str,
        *,
        step_id: str | None = None,
        service: str | None = None,
        region: str | None = None,
        operation: str | None = None,
        params: Mapping[str, Any] | None = None,
        result: Any = None,
        error: str | None = None,
        rollback: bool = False,
        message: str | None = None,
        account: str | None = None,
        durable: bool = True,
    ) -> None:
        """Record in the parent journal, the step id prefixed with the account."""
        self._parent.record(
            **self._tagged(
                {
                    "kind": kind,
                    "step_id": step_id,
                    "service": service,
                    "region": region,
                    "operation": operation,
                    "params": params,
                    "result": result,
                    "error": error,
                    "rollback": rollback,
                    "message": message,
                    "account": account,
                }
            ),
            durable=durable,
        )

    def record_many(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Record several entries in the parent journal with one write, each tagged."""
        self._parent.record_many([self._tagged(dict(e)) for e in entries])

    def flush(self) -> None:
        """Write the parent journal's entries not on disk yet."""
        self._parent.flush()

    def _tagged(self, fields: dict[str, Any]) -> dict[str, Any]:
        """An entry's fields with the step id prefixed and the message naming the account."""
        step_id, message = fields.get("step_id"), fields.get("message")
        return {
            **fields,
            "step_id": f"{self._account}:{step_id}" if step_id else None,
            "message": f"account {self._account}" + (f": {message}" if message else ""),
        }

    def finish(self, summary: Mapping[str, Any]) -> None:
        """An account's end is an entry; the run's summary is written once, at the end."""
        self._parent.record(
            "account-finished",
            message=f"account {self._account}: {summary.get('status')}",
            result=dict(summary),
        )


def organization_suggestion(caller: AwsCaller, ctx: AccountContext) -> Finding | None:
    """An info finding when this is an organization's management account, else None.

    One organization trail, created once from the management account, records every
    account of the organization (present and future) into one bucket.
    """
    facts = discover_organization(ctx, caller)
    if not facts.is_management_account:
        return None
    return Finding(
        severity="info",
        code="organization-trail-suggested",
        message=f"Account {ctx.account_id} is the management account of organization "
        f"{facts.organization_id}. One organization trail (trail.organization: true), created "
        "here, records every account of the organization, including accounts added later, "
        "into one bucket, and member accounts cannot stop or change it. Per-account trails "
        "are the better choice only for accounts outside the organization or when each "
        "account must own its trail.",
        subject=facts.organization_id,
    )


def _counts(findings: Sequence[Finding]) -> tuple[dict[str, int], list[str]]:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    codes = sorted({f.code for f in findings if f.severity in ("error", "warning")})
    return counts, codes


def _without(plan: Plan, drop: set[str]) -> Plan:
    """The plan without some steps (and without dependencies on them)."""
    steps = [
        s.model_copy(update={"depends_on": [d for d in s.depends_on if d not in drop]})
        for s in plan.steps
        if s.id not in drop
    ]
    return plan.model_copy(update={"steps": steps})


class Onboarding:
    """One onboarding run over the accounts of an :class:`OnboardSpec`."""

    def __init__(
        self,
        spec: OnboardSpec,
        *,
        opener: AccountOpener,
        main_ctx: AccountContext,
        central_caller: AwsCaller | None = None,
        central_account: str | None = None,
        concurrency: int = 4,
        dry_run: bool = False,
        journal: Journal | None = None,
        progress: Callable[[str], None] | None = None,
        explain: Callable[[AwsError], str] | None = None,
        release: Callable[[AwsCaller], None] | None = None,
    ) -> None:
        """Prepare the run.

        Args:
            spec: The validated accounts file.
            opener: Reaches each account (STS AssumeRole).
            main_ctx: The session the run starts from (partition and default region).
            central_caller: Caller of the log-archive account (owner of the central bucket
                and key), when one is used.
            central_account: That account's id.
            concurrency: Accounts worked on at the same time.
            dry_run: Change nothing; record what would be sent.
            journal: Where every call goes (one journal for the run).
            progress: Receives one line per event, from worker threads.
            explain: Turns an AwsError into words for the operator.
            release: Frees what an account's caller holds (its clients and their
                connections) each time the run is done with the account for a while; the
                caller must work again afterwards. A thousand accounts' clients would
                otherwise all be held between the planning pass and the applying pass.
        """
        self.spec = spec
        self.opener = opener
        self.main_ctx = main_ctx
        self.central_caller = central_caller
        self.central_account = central_account
        self.concurrency = max(1, concurrency)
        self.dry_run = dry_run
        self.journal = journal
        self.progress = progress
        self.explain = explain or (lambda err: f"{err.code}: {err.message}")
        self.release = release
        self.states = [_State(t) for t in spec.targets]
        self.central: CentralResult | None = None
        self.update: CentralUpdate | None = None
        self.findings: list[Finding] = []
        self._central_key_arn: str | None = None

    # -- plumbing

    def say(self, line: str) -> None:
        """Report progress (never lets a broken display stop the run)."""
        if self.progress is not None:
            with contextlib.suppress(Exception):  # a display must not abort an onboarding
                self.progress(line)

    def record(self, kind: str, message: str, result: Any = None) -> None:
        """Write a run-level journal entry (an unwritable journal is reported, not fatal)."""
        if self.journal is not None:
            try:
                self.journal.record(kind, message=message, result=result)
            except OSError as exc:
                self.say(f"journal: {exc}")

    def _callers(self) -> dict[str, AwsCaller]:
        if self.central_caller is None or self.central_account is None:
            return {}
        return {self.central_account: self.central_caller}

    def _ctx_for(self, target: AccountTarget) -> AccountContext:
        return AccountContext(
            account_id=target.account_id,
            partition=self.main_ctx.partition,
            region=self.main_ctx.region,
        )

    def _parallel(
        self, work: Callable[[_State], None], states: Sequence[_State], *, last: bool = False
    ) -> None:
        """Run ``work`` on each account, bounded; ``last``: the run is then done with them."""

        def one(state: _State) -> None:
            try:
                work(state)
            finally:
                self._release(state, for_good=last)

        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="onboard") as pool:
            list(pool.map(one, states))

    def _release(self, state: _State, *, for_good: bool = False) -> None:
        """Done with the account for now: free its caller's clients (see ``release``), and
        what its planning read (applying plans again on fresh discovery; only a dry run
        records the plan made here). ``for_good``: drop its session too, keeping only its
        row, so the memory a run holds does not grow with the accounts behind it."""
        state.found = None
        if not self.dry_run:
            state.plan = None
        if self.release is not None and state.caller is not None:
            try:
                self.release(state.caller)
            except Exception as exc:  # freeing memory must never fail an onboarding
                self.say(f"{state.target.account_id}: {exc}")
        if for_good:
            state.caller = state.engine = state.ctx = None

    # -- phase 1: connect, discover, plan (read-only everywhere)

    def prepare(self) -> list[AccountResult]:
        """Reach every account and plan it; returns the summary rows."""
        self._start()
        self._parallel(self._prepare_one, self.states)
        return [s.result for s in self.states]

    def _start(self) -> None:
        self.record("onboard-started", f"{len(self.states)} account(s)")
        # Once for the run (each account's plan leaves it out): earlier runs on this machine
        # that did not finish.
        earlier = unfinished_finding()
        if earlier is not None:
            self.findings.append(earlier)
        self._plan_central()

    def _prepare_one(self, state: _State) -> None:
        target = state.target
        account = target.account_id
        try:
            caller, ctx = self.opener(target)
        except AwsError as err:
            state.update(status="failed", stage="connect", error=self.explain(err))
            self.say(f"{account}: cannot reach the account: {self.explain(err)}")
            self.record("account-failed", f"account {account}: connect: {err.code}")
            return
        if ctx.account_id != account:
            state.update(
                status="failed",
                stage="connect",
                error=f"the role reached account {ctx.account_id}, not {account}",
            )
            return
        state.caller, state.ctx = caller, ctx
        engine = Engine(caller, ctx, callers=self._callers())
        state.engine = engine
        names = Names(target.answers, ctx)
        state.update(trail_arn=names.trail_arn)
        try:
            found = engine.discover(target.answers)
            state.found = found
            plan, found = engine.plan(target.answers, found, cost=False, earlier_runs=False)
        except AwsError as err:
            state.update(status="failed", stage="plan", error=self.explain(err))
            self.say(f"{account}: discovery failed: {self.explain(err)}")
            return
        state.plan, state.found = plan, found
        counts, codes = _counts(plan.findings)
        own = [s for s in plan.steps if not self._central_step(s.call)]
        if not plan.blocked and not own and found.trail_state is not None:
            # The trail exists and matches the answers: nothing to change in this account.
            state.update(findings=counts, codes=codes)
            self._judge_existing(state, found)
            return
        updated = found.trail_state is not None
        state.update(
            status="blocked" if plan.blocked else "ready",
            stage="plan",
            findings=counts,
            codes=codes,
            planned=len(own),
        )
        self.say(
            f"{account}: {len(own)} change(s) planned"
            + (" (its trail exists: only what differs is updated)" if updated else "")
            + (f"; blocked by {', '.join(c for c in codes)}" if plan.blocked else "")
        )

    def _judge_existing(self, state: _State, found: Discovery) -> None:
        assert state.caller is not None and state.ctx is not None
        answers = state.target.answers
        verification = verify(
            answers,
            state.ctx,
            state.caller,
            bucket_region=found.bucket.region,
            organization_id=state.ctx.organization_id,
        )
        verification = central_verification(
            verification, answers, state.ctx, found, state.caller, self._callers()
        )
        if verification.ok:
            state.update(status="already-done", stage="verify")
            self.say(f"{state.target.account_id}: already done (trail logging as planned)")
            return
        failed = [f"{c.name}: {c.detail}" for c in verification.checks if not c.ok]
        state.update(
            status="needs-attention",
            stage="verify",
            error="the trail matches the answers (nothing to change), but verification "
            "fails: " + "; ".join(failed) + ". Fix the cause, then run again.",
        )

    def _central_step(self, call: Any) -> bool:
        """True for a call that changes the central bucket or key policy."""
        central = self.spec.central_bucket()
        if central is None:
            return False
        bucket, _prefix, owner, key = central
        if call.account is not None and call.account == owner:
            return True
        if call.operation == "PutBucketPolicy" and call.params.get("Bucket") == bucket:
            return True
        keys = {k for k in (key, self._central_key_arn) if k}
        return bool(call.operation == "PutKeyPolicy" and call.params.get("KeyId") in keys)

    # -- phase 2: the central policies, once

    def _writers(self) -> list[TrailWriter]:
        central = self.spec.central_bucket()
        assert central is not None
        return [
            TrailWriter(
                account_id=t.account_id, trail_arn=Names(t.answers, self._ctx_for(t)).trail_arn
            )
            for t in self.spec.writers_of(central[0])
        ]

    def _plan_central(self) -> None:
        central = self.spec.central_bucket()
        if central is None:
            return
        bucket, prefix, owner, key = central
        writers = self._writers()
        result = CentralResult(
            account_id=owner,
            bucket=bucket,
            key=key,
            status="unchanged",
            writers=[w.account_id for w in writers],
        )
        if self.central_caller is None or self.central_account != owner:
            self.central = result.model_copy(
                update={
                    "status": "blocked",
                    "error": f"no credentials for log-archive account {owner} (central.profile "
                    "or central.role_arn in the accounts file, or --log-account-profile / "
                    "--log-account-role)",
                }
            )
            return
        try:
            current = read_central_policies(
                self.central_caller,
                account_id=owner,
                partition=self.main_ctx.partition,
                region=self.main_ctx.region,
                bucket=bucket,
                key_ref=key,
            )
            update = central_update_plan(
                current,
                prefix=prefix,
                writers=writers,
                readers=self.spec.central.readers if self.spec.central else (),
            )
        except AwsError as err:
            self.central = result.model_copy(
                update={"status": "failed", "error": self.explain(err)}
            )
            return
        except PolicyError as exc:
            self.central = result.model_copy(update={"status": "failed", "error": str(exc)})
            return
        self.update = update
        self._central_key_arn = current.key_arn
        added = [str(s.get("Sid", "")) for s in update.bucket_merge.added]
        if update.key_merge is not None:
            added += [str(s.get("Sid", "")) for s in update.key_merge.added]
        parts = [
            readable_diff(s.policy.before, s.policy.after) or s.policy.diff
            for s in update.plan.steps
            if s.policy is not None
        ]
        diff = "".join(p if p.endswith("\n") else p + "\n" for p in parts)
        status: Literal["unchanged", "would-update", "blocked"] = (
            "would-update" if update.plan.steps else "unchanged"
        )
        if update.refused:
            status = "blocked"
        self.central = result.model_copy(
            update={
                "status": status,
                "added": added,
                "diff": diff,
                "error": "; ".join(update.refused) or None,
            }
        )

    def apply_central(self) -> bool:
        """Write the central policies (once); False when that failed (nothing else runs)."""
        if self.central is None:
            return True
        if self.central.status in ("failed", "blocked"):
            return False
        update = self.update
        if update is None or not update.plan.steps:
            return True
        if self.dry_run:
            recorded = dry_run(update.plan, self.central_caller).recorded_calls
            self.record("central-dry-run", f"{len(recorded)} central call(s) recorded, none sent")
            return True
        assert self.central_caller is not None
        self.say(f"central: updating the policies in account {update.plan.account_id}")
        journal = _AccountJournal(self.journal, "central") if self.journal else None
        report = apply_plan(
            update.plan,
            self.central_caller,
            journal=journal,
            progress=self._events("central"),
            explain=lambda err, _step: self.explain(err),
        )
        if report.status != "applied":
            self.central = self.central.model_copy(
                update={"status": "failed", "error": report.error or report.message}
            )
            return False
        self.central = self.central.model_copy(update={"status": "updated"})
        return True

    def _events(self, label: str) -> Callable[[ApplyEvent], None]:
        marks = {
            "step-done": "ok",
            "step-failed": "!!",
            "step-retrying": "~~",
            "rollback-step-done": "<-",
            "rollback-step-failed": "!!",
        }

        def show(event: ApplyEvent) -> None:
            mark = marks.get(event.kind)
            if mark is not None:
                self.say(f"{label}: [{mark}] {event.step_id or ''}: {event.message}")

        return show

    # -- phase 3: per account

    def apply_all(self) -> None:
        """After :meth:`prepare` and the operator's yes: the central policies once, then
        every ready account (each planned again); nothing is changed in an account when the
        central update failed."""
        if self.apply_central():
            self.apply_accounts()
        else:
            self.fail_ready(_CENTRAL_FAILED)

    def apply_accounts(self) -> None:
        """Apply every ready account (re-planned on fresh discovery), bounded."""
        ready = [s for s in self.states if s.result.status == "ready"]
        self._parallel(self._apply_one, ready)

    def _apply_one(self, state: _State) -> None:
        account = state.target.account_id
        engine = state.engine
        assert engine is not None
        answers = state.target.answers
        if self.dry_run:
            assert state.plan is not None
            drop = {s.id for s in state.plan.steps if self._central_step(s.call)}
            recorded = dry_run(_without(state.plan, drop), state.caller).recorded_calls
            state.update(status="dry-run", stage="plan")
            self.record(
                "account-dry-run",
                f"account {account}: {len(recorded)} call(s) recorded, none sent",
            )
            return
        # The role's permissions were simulated when the account was planned, moments ago:
        # not again (a request, and the largest one, per account).
        engine.check_permissions = False
        try:
            plan, found = engine.plan(answers, cost=False, earlier_runs=False)
        except AwsError as err:
            state.update(status="failed", stage="plan", error=self.explain(err))
            return
        counts, codes = _counts(plan.findings)
        state.update(findings=counts, codes=codes)
        self._apply_planned(state, plan, found)

    def _apply_planned(self, state: _State, plan: Plan, found: Discovery) -> None:
        """Apply an account's plan made on discovery a moment ago (nobody looked since)."""
        account = state.target.account_id
        engine = state.engine
        assert engine is not None
        central = [s.id for s in plan.steps if self._central_step(s.call)]
        if central:
            state.update(
                status="failed",
                stage="plan",
                error="after the central update this account's plan still changes the central "
                f"policies ({', '.join(central)}); nothing was changed in it. Run "
                f"`cloudtrail-wizard plan` for account {account} to see why.",
            )
            return
        if plan.blocked:
            errors = [f.code for f in plan.findings if f.severity == "error"]
            state.update(status="blocked", stage="plan", error=", ".join(errors))
            return
        self.say(f"{account}: applying {len(plan.steps)} change(s)")
        journal = self._account_journal(account)
        if journal is not None:
            state.update(journal=str(journal.path))
        outcome = engine.apply(
            state.target.answers,
            plan,
            found=found,
            journal=journal,
            progress=self._events(account),
            explain=lambda err, _step: self.explain(err),
            # Planned a moment ago on fresh discovery, in this command, nobody asked since
            # (the operator answered before the accounts were planned again, or gave --yes).
            paused=False,
        )
        report = outcome.report
        steps = {r.id: r.status for r in report.steps}
        if report.status != "applied":
            state.update(
                status="failed",
                stage="apply",
                error=report.message,
                journal_steps=steps,
                planned=len(plan.steps),
            )
            self.say(f"{account}: failed, rolled back: {report.error}")
            return
        verification = outcome.verification
        if verification is not None and not verification.ok:
            failed = [f"{c.name}: {c.detail}" for c in verification.checks if not c.ok]
            state.update(
                status="failed",
                stage="verify",
                error="applied, but verification failed: " + "; ".join(failed),
                journal_steps=steps,
                planned=len(plan.steps),
            )
            return
        state.update(status="applied", stage="verify", journal_steps=steps, planned=len(plan.steps))
        self.say(f"{account}: applied and verified")

    # -- the whole run in one pass, when nobody reviews the plans

    def run_through(self) -> list[AccountResult]:
        """Update the central policies, then plan and apply each account in one pass.

        For a run nobody reviews between planning and applying (``--yes``, not a dry run).
        The two-pass run plans every account, waits for the operator, then plans each again
        before applying it, because minutes or a person may come between the two; here the
        plan an account is applied with was made on its discovery a moment before, as with
        ``apply --yes``. Each account's reads (its trails, its bucket, its key) and its
        planning are then done once instead of twice: three of its 25 requests and a whole
        plan per account.

        The central update needs no account's plan (it is planned from the accounts file),
        so it goes first; when it fails or is blocked, the accounts are only planned (for
        the report) and nothing is changed in them, as in the two-pass run.

        Returns:
            The accounts' rows, final.
        """
        assert not self.dry_run, "a dry run plans in prepare() and records in apply_accounts()"
        self._start()
        if not self.apply_central():
            self._parallel(self._prepare_one, self.states)
            self.fail_ready(_CENTRAL_FAILED)
            return [s.result for s in self.states]
        self._parallel(self._prepare_and_apply, self.states, last=True)
        return [s.result for s in self.states]

    def _prepare_and_apply(self, state: _State) -> None:
        self._prepare_one(state)
        if state.result.status == "ready" and state.plan is not None and state.found is not None:
            self._apply_planned(state, state.plan, state.found)

    def _account_journal(self, account: str) -> Journal | None:
        """A journal of the account's own beside the run's: its calls, for ``recover``.

        One journal for every account would be written again whole at each of their calls
        (a thousand accounts: tens of thousands of calls into one growing document); each
        account's apply is a run of its own, and ``recover`` finds it as one.
        """
        if self.journal is None:
            return None
        run = self.journal.path
        return Journal(
            run.with_name(f"{run.stem}-{account}{run.suffix}"),
            meta={"command": "onboard", "run": str(run), "account": account},
        )

    def fail_ready(self, reason: str) -> None:
        """Nothing more runs: every planned account fails with ``reason`` (unchanged)."""
        for state in self.states:
            if state.result.status == "ready":
                state.update(status="failed", stage="apply", error=reason)

    def decline(self) -> None:
        """The operator said no: every planned account stays as it was."""
        for state in self.states:
            if state.result.status == "ready":
                state.update(status="not-applied")

    def report(self) -> OnboardReport:
        """The final report; writes the journal's summary."""
        report = OnboardReport(
            accounts=[s.result for s in self.states],
            central=self.central,
            findings=list(self.findings),
            journal_path=str(self.journal.path) if self.journal is not None else None,
            dry_run=self.dry_run,
        )
        if self.journal is not None:
            try:
                self.journal.finish(
                    {
                        "status": "ok" if report.ok else "incomplete",
                        "dry_run": self.dry_run,
                        "accounts": {a.account_id: a.status for a in report.accounts},
                        "journals": {a.account_id: a.journal for a in report.accounts if a.journal},
                        "central": report.central.status if report.central else None,
                    }
                )
            except OSError as exc:
                self.say(f"journal: {exc}")
        return report


def report_json(report: OnboardReport) -> dict[str, Any]:
    """The report as the JSON ``onboard --output json`` prints."""
    doc: dict[str, Any] = json.loads(report.model_dump_json())
    doc["ok"] = report.ok
    return doc
