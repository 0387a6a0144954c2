"""The engine: discovery -> plan -> (dry-run | apply -> verify), over the AwsCaller port.

Front ends (command line, plain prompts, the TUI) all drive this one object, so the same
plan is previewed, dry-run and applied whichever way a person works.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.account.activity import (
    HOME_PAGES,
    MAX_LOOKUP_CALLS,
    Activity,
    ManagementCopy,
    enabled_regions,
    read_activity,
    read_management_copies,
)
from wizard.account.discovery import (
    Discovery,
    TrailFacts,
    discover,
    discover_all_trails,
    discover_trails,
    fingerprint_now,
    whoami,
)
from wizard.account.inventory import (
    BucketChoice,
    KeyChoice,
    bucket_name_available,
    list_buckets,
    list_keys,
)
from wizard.account.landing import discover_organization_trails
from wizard.account.permissions import check_permissions as check_operator_permissions
from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext
from wizard.model.cost import CostEstimate
from wizard.model.landing import OrganizationTrail
from wizard.model.plan import Finding, Plan, Step, by_severity
from wizard.plan.cost import estimate_cost, volume_for
from wizard.plan.planner import build_plan
from wizard.ports import AwsCaller, AwsError
from wizard.run.apply import (
    ApplyEvent,
    ApplyReport,
    PlaceholderError,
    apply_plan,
    resolve_value,
)
from wizard.run.journal import Journal, new_journal_path
from wizard.run.orphans import new_run_id
from wizard.run.recover import unfinished_finding
from wizard.run.verify import Verification, central_checks, verify, with_central_checks

NOTHING_TO_CHANGE = (
    "Nothing was changed: every resource the answers name already exists with the settings "
    "they ask for, so no request that changes anything was sent (and no journal written)."
)
"""The report's message when a plan has no step (desired state reached)."""


class Outcome(WizardModel):
    """What an apply ended with: the executor's report plus verification."""

    report: ApplyReport
    """Per-step results, status, journal path."""
    verification: Verification | None = None
    """Checks after a successful apply."""


@dataclass(frozen=True)
class _EarlyCost:
    """What the cost preview read beside discovery (see :meth:`Engine._early_cost_reads`)."""

    regions: list[str] | None
    """The account's enabled regions; None when not listed, or the listing failed."""
    listed: bool
    """The regions were asked for (a multi-region trail): :meth:`Engine.cost` does not again."""
    activity: Activity | None
    """The recent activity, when read already."""


class Engine:
    """Runs the wizard's work against one account through one caller."""

    def __init__(
        self,
        caller: AwsCaller,
        ctx: AccountContext,
        *,
        check_permissions: bool = True,
        sandbox: bool = False,
        callers: Mapping[str, AwsCaller] | None = None,
        central_readers: Sequence[str] = (),
        central_confirmation: str | None = None,
    ) -> None:
        """Build the engine.

        Args:
            caller: Makes every AWS call.
            ctx: The account and region the engine works in.
            check_permissions: Check the operator's own permissions with IAM's policy
                simulator when planning (see :mod:`wizard.account.permissions`).
            sandbox: The caller talks to the sandbox (whose IAM policy simulator answers as
                AWS's does: the permissions are checked there too).
            callers: Callers of other accounts by id (a central log-archive account): its
                bucket and key policies are read, changed and restored with them.
            central_readers: Principals the central-logging hand-off lets decrypt logs.
            central_confirmation: The code ``check-central`` printed (see
                :mod:`wizard.plan.central`).
        """
        self.caller = caller
        self.ctx = ctx
        self.check_permissions = check_permissions
        self.sandbox = sandbox
        self.callers = dict(callers or {})
        self.central_readers = list(central_readers)
        self.central_confirmation = central_confirmation

    @classmethod
    def connect(cls, caller: AwsCaller, region: str, *, check_permissions: bool = True) -> Engine:
        """Ask STS who we are, then build the engine for that account."""
        account, partition, arn = whoami(caller, region)
        return cls(
            caller,
            AccountContext(account_id=account, partition=partition, region=region, caller_arn=arn),
            check_permissions=check_permissions,
        )

    def context_for(self, answers: Answers, found: Discovery | None = None) -> AccountContext:
        """The account context, completed with organization facts when they matter."""
        org = found.organization if found is not None else None
        if answers.trail.organization and org is not None and org.organization_id:
            return self.ctx.model_copy(
                update={
                    "organization_id": org.organization_id,
                    "management_account_id": org.management_account_id,
                }
            )
        return self.ctx

    def discover(self, answers: Answers) -> Discovery:
        """Read-only discovery for the answers."""
        return discover(
            answers,
            self.ctx,
            self.caller,
            callers=self.callers,
            central_readers=self.central_readers,
            central_confirmation=self.central_confirmation,
        )

    def plan(
        self,
        answers: Answers,
        found: Discovery | None = None,
        *,
        cost: bool = True,
        earlier_runs: bool = True,
    ) -> tuple[Plan, Discovery]:
        """Discover (unless given), build the plan, and check the operator's permissions.

        The permission check needs only the account context, so it runs while discovery
        reads the account; an organization trail's context needs discovery's organization
        facts first, so its check follows discovery. The cost preview's reads that need no
        discovery (the account's regions, its recent activity) run beside it too.

        ``cost=False`` leaves the cost preview out (``plan.cost`` is None) with its reads
        (the recent activity is up to twenty LookupEvents pages), and ``earlier_runs=False``
        the warning about unfinished earlier runs (it reads every journal on the machine):
        onboarding plans each of a thousand accounts twice, shows no cost, and warns about
        earlier runs once.
        """
        finding: Finding | None = None
        # The sandbox answers the simulator as AWS does (wizard.sandbox.iam), for its
        # administrator and for trainee identities alike.
        simulate = self.check_permissions
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="beside-discovery") as pool:
            early = pool.submit(self._early_cost_reads, answers) if found is None and cost else None
            if found is None and simulate and not answers.trail.organization:
                checked = pool.submit(check_operator_permissions, self.caller, self.ctx, answers)
                found = self.discover(answers)
                finding = checked.result()
                ctx = self.context_for(answers, found)
            else:
                found = found or self.discover(answers)
                ctx = self.context_for(answers, found)
                if simulate:
                    finding = check_operator_permissions(self.caller, ctx, answers)
            # A fresh run id per plan: a key created twice by a retried request is found by it.
            plan = build_plan(answers, ctx, found, run_id=new_run_id())
            estimate = (
                self.cost(answers, found, plan.trail_arn, early=early.result() if early else None)
                if cost
                else None
            )
        plan = plan.model_copy(update={"cost": estimate})
        # An earlier run that died half-way may have left changes (and names) in place.
        earlier = unfinished_finding() if earlier_runs else None
        extra = [f for f in (finding, earlier) if f is not None]
        if extra:
            plan = plan.model_copy(update={"findings": by_severity([*plan.findings, *extra])})
        return plan, found

    def _early_cost_reads(self, answers: Answers) -> _EarlyCost:
        """The cost preview's reads that need nothing discovery finds, made beside it.

        The account's regions (a multi-region trail), then its recent activity when every
        region fits in the call budget: the order in which :meth:`cost` would read them
        (the regions of other trails first) then changes nothing, so they are read now. A
        failure is left for :meth:`cost` to report as it would have.
        """
        home = answers.home_region(self.ctx.region)
        regions: list[str] | None = None
        if answers.trail.multi_region:
            with contextlib.suppress(AwsError):
                regions = enabled_regions(self.caller, home)
        others = [r for r in regions or () if r != home]
        wanted = (
            answers.events.management != "none"
            and answers.cost.management_events_per_day is None
            and len(others) <= MAX_LOOKUP_CALLS - HOME_PAGES
        )
        activity = read_activity(self.caller, home, sorted(regions or ())) if wanted else None
        return _EarlyCost(regions=regions, listed=answers.trail.multi_region, activity=activity)

    def cost(
        self,
        answers: Answers,
        found: Discovery,
        trail_arn: str,
        *,
        early: _EarlyCost | None = None,
    ) -> CostEstimate:
        """What the trail will cost a month (:mod:`wizard.plan.cost`).

        Reads, read-only and bounded (:mod:`wizard.account.activity`): the account's enabled
        regions for a multi-region trail, its recent management events unless the answers
        give their number, and whether the other trails discovery saw already record
        management events. A read that fails makes the estimate fall back to a stated
        default, and say so; it never stops the plan.

        Args:
            answers: The answers.
            found: The discovery the plan was made from (the trails it saw).
            trail_arn: The planned trail's ARN (it is not another copy of itself).
            early: What :meth:`_early_cost_reads` read beside discovery (not read again).
        """
        home = answers.home_region(self.ctx.region)
        multi = answers.trail.multi_region
        management = answers.events.management != "none"
        regions: list[str] | None = None
        copies: list[ManagementCopy] = []
        copies_error: str | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cost") as pool:
            listed = early is not None and early.listed
            listing = (
                pool.submit(enabled_regions, self.caller, home) if multi and not listed else None
            )
            if listed and early is not None:
                regions = early.regions
            if management:
                copies, copies_error = read_management_copies(
                    self.caller,
                    found.trails,
                    this_trail_arn=trail_arn,
                    home_region=home,
                    multi_region=multi,
                )
            if listing is not None:
                # Unlisted, the estimate says the account's regions are not known.
                with contextlib.suppress(AwsError):
                    regions = listing.result()
        activity: Activity | None = early.activity if early is not None else None
        if activity is None and management and answers.cost.management_events_per_day is None:
            # The regions of other single-region trails first: their share of the events
            # decides what their copy costs, so they are read before the call budget ends.
            elsewhere = {c.home_region for c in copies if not c.multi_region}
            ordered = sorted(regions or (), key=lambda r: (r not in elsewhere, r))
            activity = read_activity(self.caller, home, ordered)
        volume = volume_for(
            answers, activity=activity, enabled_regions=len(regions) if regions else None
        )
        bucket_region = found.bucket.region or answers.bucket_region(self.ctx.region) or home
        return estimate_cost(
            answers,
            home_region=home,
            bucket_region=bucket_region,
            volume=volume,
            copies=copies,
            copies_error=copies_error,
            partition=self.ctx.partition,
            organization_trails=[
                t.name
                for t in found.organization_trails
                if t.logging is not False and t.management not in ("none", None)
            ],
        )

    def fingerprint(self, answers: Answers, found: Discovery | None = None) -> dict[str, str]:
        """What the account looks like now, as the plan's fingerprint (to refuse a stale plan).

        Reads only what the fingerprint covers (:func:`wizard.account.discovery.fingerprint_now`);
        ``found``, the discovery the plan was made from, lets those reads start at once.
        """
        return fingerprint_now(
            answers,
            self.context_for(answers, found),
            self.caller,
            planned=found,
            callers=self.callers,
        )

    def apply(
        self,
        answers: Answers,
        plan: Plan,
        *,
        progress: Callable[[ApplyEvent], None] | None = None,
        cancel: threading.Event | None = None,
        journal_path: Path | None = None,
        found: Discovery | None = None,
        explain: Callable[[AwsError, Step], str] | None = None,
        journal: Journal | None = None,
        paused: bool = True,
    ) -> Outcome:
        """Apply the plan (refusing a stale one), roll back on failure, then verify.

        ``journal`` writes into an existing journal (onboarding keeps one for all accounts)
        instead of a new file at ``journal_path``.

        ``paused`` says whether time may have passed since the plan was made: a person
        reviewed it (the review screen, a ``[y/N]`` question), or it was made by another
        command. Then (the default, the safe one) apply first reads again what the plan's
        fingerprint covers and refuses a plan the account no longer matches. A front end
        passes ``paused=False`` only for a plan it made moments ago in the same command,
        with nobody asked in between (``apply --yes``): the fingerprint is then milliseconds
        old, and reading it again would cost a round trip and prove nothing. The policy
        guard, ownership tags and "already exists" checks protect that run as any other.

        A plan with nothing to change (the account already matches the answers) sends no
        request that changes anything and writes no journal: the report says so
        (:data:`NOTHING_TO_CHANGE`), and the trail is verified as after any apply.
        """
        if plan.unchanged:
            report = ApplyReport(status="applied", steps=[], message=NOTHING_TO_CHANGE)
            return Outcome(report=report, verification=self._verify(answers, found))
        if journal is None:
            journal = Journal(journal_path or new_journal_path(answers.trail.name))
        report = apply_plan(
            plan,
            self.caller,
            progress=progress,
            journal=journal,
            cancel=cancel,
            check_fresh=(lambda: self.fingerprint(answers, found)) if paused else None,
            explain=explain,
            callers=self.callers,
        )
        verification = None
        if report.status == "applied":
            verification = self._verify(
                answers,
                found,
                trail_key(plan, report.outputs, found),
                log_group_key(plan, report.outputs),
            )
        return Outcome(report=report, verification=verification)

    def _verify(
        self,
        answers: Answers,
        found: Discovery | None,
        expected_key: str | None = None,
        expected_group_key: str | None = None,
    ) -> Verification:
        """Read the trail and its policies back (read-only), every read at once: a central
        bucket's or key's policy (read with its owner's caller) beside the others."""
        ctx = self.context_for(answers, found)
        if expected_key is None and found is not None and found.key is not None:
            expected_key = found.key.arn
        central = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify-central") as pool:
            if found is not None and found.central is not None:
                central = pool.submit(
                    central_checks, answers, ctx, found, self.caller, self.callers
                )
            verification = verify(
                answers,
                ctx,
                self.caller,
                bucket_region=found.bucket.region if found is not None else None,
                organization_id=ctx.organization_id,
                expected_key=expected_key,
                expected_group_key=expected_group_key,
            )
            if central is not None:
                verification = with_central_checks(verification, central.result())
        return verification

    # ------------------------------------------------------------ inventory for pickers

    def trails(self) -> list[TrailFacts]:
        """Trails visible from the session's region (shadow copies included)."""
        trails, _error = discover_trails(self.ctx.region, self.caller)
        return trails

    def organization_trails(self, trails: list[TrailFacts]) -> list[OrganizationTrail]:
        """The organization trails among ``trails`` (listed by :meth:`trails`) that another
        account owns and that record this one, each read as far as this account may."""
        return discover_organization_trails(trails, self.ctx.account_id, self.caller)

    def all_trails(self) -> list[TrailFacts]:
        """Every trail of the account, whatever its home region (ListTrails + GetTrail)."""
        return discover_all_trails(self.ctx.region, self.caller)

    def buckets(self) -> list[BucketChoice]:
        """The account's buckets, with regions and whether they already allow CloudTrail."""
        return list_buckets(self.caller, self.ctx.account_id, self.ctx.region)

    def keys(self, regions: list[str], bucket_region: str) -> list[KeyChoice]:
        """KMS keys in ``regions``, judged for a bucket in ``bucket_region``."""
        return list_keys(self.caller, regions, bucket_region)

    def bucket_available(self, name: str) -> str | None:
        """None when a new bucket name looks free, else why not."""
        return bucket_name_available(self.caller, name, self.ctx.region)


def _sent(plan: Plan, operations: set[tuple[str, str]], param: str) -> Any:
    """What the plan's first call among ``operations`` that sends ``param`` sends (a value
    or a placeholder for an earlier step's output), or None when none does."""
    for step in plan.steps:
        call = step.call
        if (call.service, call.operation) in operations and call.params.get(param):
            return call.params[param]
    return None


def _as_arn(value: Any, outputs: Mapping[str, Any]) -> str | None:
    """``value`` with its placeholders resolved from apply's outputs, when that is an ARN."""
    try:
        resolved = resolve_value(value, outputs)
    except PlaceholderError:
        return None
    return resolved if isinstance(resolved, str) and resolved.startswith("arn:") else None


def log_group_key(plan: Plan, outputs: Mapping[str, Any]) -> str | None:
    """The ARN of the KMS key the plan created the CloudWatch Logs group with, if it did.

    Verification then checks the group carries it; a group the plan did not create (or
    created without a key) is not the run's to encrypt.
    """
    sent = _sent(plan, {("logs", "CreateLogGroup")}, "kmsKeyId")
    return None if sent is None else _as_arn(sent, outputs)


def trail_key(plan: Plan, outputs: Mapping[str, Any], found: Discovery | None) -> str | None:
    """The ARN of the KMS key the trail was given: what the plan's CreateTrail or UpdateTrail
    sent (a new key's ARN from apply's outputs), else the existing key discovery found.

    Verification reads that key's policy beside GetTrail instead of after it.
    """
    sent = _sent(plan, {("cloudtrail", "CreateTrail"), ("cloudtrail", "UpdateTrail")}, "KmsKeyId")
    if sent is not None:
        return _as_arn(sent, outputs)
    if found is not None and found.key is not None:
        return found.key.arn
    return None
