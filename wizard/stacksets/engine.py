"""``onboard --engine stacksets``: one service-managed StackSet instead of one call per account.

The run, in the order it happens:

1. **Preflight** (:func:`preflight`, reads only): the caller's organization (all features on),
   whether it calls as the management account (``CallAs SELF``) or as a delegated
   administrator for StackSets (``CallAs DELEGATED_ADMIN``), and whether trusted access for
   StackSets is on (``DescribeOrganizationsAccess``). Each missing prerequisite is refused with
   the command that fixes it.
2. **Plan** (:meth:`StackSetRun.prepare`, reads only): the accounts of each OU, the StackSet as
   it is (missing: created; the wizard's, tagged :data:`~wizard.export.stackset.MANAGED_TAG`:
   updated where it differs; anyone else's: refused), its instances (OUs and regions already
   deployed are left alone; new ones get instances), and the central bucket and key policies
   with the organization's statements merged (:func:`wizard.plan.central.central_update_plan`).
   All of it is one :class:`~wizard.model.plan.Plan`: the central policy writes (as the
   log-archive account), then ``CreateStackSet`` or ``UpdateStackSet``, then
   ``CreateStackInstances`` per group of OUs, each followed by a step that checks how its
   operation ended. A dry run stops here and shows it.
3. **Apply** with :func:`wizard.run.apply.apply_plan`: the write-ahead journal, the policy
   guard (a policy is read again right before it is written, and restored only over the
   run's own text), and rollback. StackSet operations run asynchronously in AWS; the caller
   apply gets (:class:`OperationWaiter`) waits for each one to end, polling
   ``DescribeStackSetOperation`` with bounded backoff, reporting progress and each account's
   result (``ListStackSetOperationResults``). An operation that ends FAILED or STOPPED fails
   its check step, and apply undoes what the run did, in reverse: ``DeleteStackInstances``
   for exactly the OUs and regions this run added (waited for), ``DeleteStackSet`` when this
   run created it (tagged with the run's id), the previous template and parameters when it
   updated the StackSet, and the central policies restored. A StackSet, or instances, the run
   did not create are never deleted.

A run killed halfway leaves its journal; ``cloudtrail-wizard recover`` lists it and rolls it
back from the journal (the StackSet's deletion is retried while its instances are still being
deleted), and a re-run continues where it stopped (existing instances are kept).

Pure core: AWS is reached through :class:`wizard.ports.AwsCaller`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from wizard.export.stackset import (
    MANAGED_TAG,
    StackSetOptions,
    check_answers,
    operation_preferences,
    organization_statements,
    run_tags,
    stack_set_inputs,
)
from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext
from wizard.model.plan import Call, Finding, Plan, Step
from wizard.onboard import CentralResult
from wizard.plan.central import CentralUpdate, central_update_plan, read_central_policies
from wizard.plan.planner import readable_diff
from wizard.policy.merge import PolicyError
from wizard.policy.policies import TrailWriter
from wizard.ports import AwsCaller, AwsError
from wizard.run.apply import ApplyEvent, ApplyReport, apply_plan
from wizard.run.journal import Journal
from wizard.run.orphans import new_run_id

__all__ = [
    "STACKSETS_PRINCIPAL",
    "AccountOutcome",
    "OperationWaiter",
    "OrganizationAccess",
    "OuTargets",
    "StackSetReport",
    "StackSetRun",
    "preflight",
]

STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
"""Trusted access (and delegated administration) for StackSets."""

_BUSY = ["OperationInProgressException", "StackSetNotEmptyException"]
"""Retried (bounded) on a StackSet call: another operation on it has not ended yet."""

_FINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


# --------------------------------------------------------------------------- preflight


class OrganizationAccess(WizardModel):
    """What preflight found about the organization and the caller."""

    account_id: str
    """The caller's account."""
    organization_id: str | None = None
    """The organization (None: not in one)."""
    management_account: str | None = None
    """Its management account."""
    call_as: Literal["SELF", "DELEGATED_ADMIN"] = "SELF"
    """SELF from the management account, DELEGATED_ADMIN from a delegated administrator."""
    findings: list[Finding] = Field(default_factory=list)
    """What blocks the run (errors) and what to know (notes)."""

    @property
    def blocked(self) -> bool:
        """True when an error finding blocks the run."""
        return any(f.severity == "error" for f in self.findings)


def _refusal(code: str, message: str) -> Finding:
    return Finding(severity="error", code=code, message=message)


def preflight(caller: AwsCaller, ctx: AccountContext) -> OrganizationAccess:
    """Check every prerequisite of a service-managed StackSet, reading only.

    Returns:
        What was found; ``blocked`` with an error finding per missing prerequisite, each
        with the command that fixes it.

    Raises:
        AwsError: a read failed for another reason than a missing prerequisite.
    """
    access = OrganizationAccess(account_id=ctx.account_id)
    try:
        org = caller.call("organizations", ctx.region, "DescribeOrganization", {})["Organization"]
    except AwsError as err:
        if err.code != "AWSOrganizationsNotInUseException":
            raise
        access.findings.append(
            _refusal(
                "stacksets-no-organization",
                f"Account {ctx.account_id} is not in an organization. Service-managed "
                "StackSets deploy to the accounts of an AWS Organizations organization; run "
                "from its management account, or use the accounts engine (onboard without "
                "--engine) for accounts outside one.",
            )
        )
        return access
    management = str(org.get("MasterAccountId", ""))
    access = access.model_copy(
        update={
            "organization_id": str(org.get("Id")),
            "management_account": management,
            "call_as": "SELF" if management == ctx.account_id else "DELEGATED_ADMIN",
        }
    )
    if org.get("FeatureSet", "ALL") != "ALL":
        access.findings.append(
            _refusal(
                "stacksets-all-features",
                f"Organization {access.organization_id} has only consolidated billing "
                "features; service-managed StackSets need all features. Enable them from the "
                "management account: `aws organizations enable-all-features`.",
            )
        )
        return access
    try:
        status = caller.call(
            "cloudformation",
            ctx.region,
            "DescribeOrganizationsAccess",
            {"CallAs": access.call_as},
        ).get("Status")
    except AwsError as err:
        if access.call_as == "SELF" or not (err.code == "ValidationError" or err.access_denied):
            raise
        access.findings.append(
            _refusal(
                "stacksets-not-administrator",
                f"Account {ctx.account_id} is neither the management account of organization "
                f"{access.organization_id} ({management}) nor a delegated administrator for "
                "StackSets. Run from the management account, or register this account from "
                "there: `aws organizations register-delegated-administrator --account-id "
                f"{ctx.account_id} --service-principal {STACKSETS_PRINCIPAL}`.",
            )
        )
        return access
    if status != "ENABLED":
        access.findings.append(
            _refusal(
                "stacksets-trusted-access",
                "Trusted access for StackSets is not on in organization "
                f"{access.organization_id} (DescribeOrganizationsAccess: {status}): "
                "service-managed StackSets cannot deploy to its accounts. From the management "
                f"account ({management}): `aws cloudformation activate-organizations-access` "
                "(or the CloudFormation console's StackSets page, Activate trusted access).",
            )
        )
    return access


# --------------------------------------------------------------------------- waiting


class AccountOutcome(WizardModel):
    """One account's result in one StackSet operation."""

    account_id: str
    """The member account."""
    region: str
    """The stack instance's region."""
    organizational_unit: str = ""
    """The OU it was reached through."""
    status: str
    """SUCCEEDED, FAILED, CANCELLED, PENDING, RUNNING."""
    reason: str = ""
    """Why it failed (the stack's error)."""
    operation_id: str = ""
    """The operation."""
    action: str = ""
    """CREATE, UPDATE, DELETE."""


class OperationWaiter:
    """The caller apply uses: StackSet operations end before a step does.

    A call that starts an operation (its response has an ``OperationId``) returns once the
    operation has ended, polling ``DescribeStackSetOperation`` with bounded backoff (1, 2, 4,
    8, then 15 seconds, up to ``timeout`` in all). A ``DescribeStackSetOperation`` of a check
    step fails with ``StackSetOperationFailed`` when the operation ended FAILED or STOPPED, so
    that apply rolls back. A cancel, or the time limit, stops the operation first
    (``StopStackSetOperation``). Every operation's per-account results are kept
    (:attr:`outcomes`): a rollback that deletes the StackSet deletes them in AWS too.
    """

    def __init__(
        self,
        inner: AwsCaller,
        *,
        call_as: str,
        say: Callable[[str], None],
        cancel: threading.Event | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap ``inner``; ``say`` gets one progress line at a time."""
        self.inner = inner
        self.call_as = call_as
        self.say = say
        self.cancel = cancel
        self.sleep = sleep
        self.timeout = timeout
        self.clock = clock
        self.outcomes: list[AccountOutcome] = []
        self.statuses: dict[str, str] = {}
        """Operation id -> how it ended."""
        self.lock = threading.Lock()

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Make the call; wait for the operation it starts; judge an operation checked."""
        response = self.inner.call(service, region, operation, params)
        if service != "cloudformation":
            return response
        name = str((params or {}).get("StackSetName", ""))
        if operation == "DescribeStackSetOperation":
            described = response.get("StackSetOperation") or {}
            op_id = str(described.get("OperationId", ""))
            status = str(self.statuses.get(op_id) or described.get("Status", ""))
            if status in ("FAILED", "STOPPED"):
                failed = [
                    f"{o.account_id} ({o.region}): {o.reason or o.status}"
                    for o in self.outcomes
                    if o.operation_id == op_id and o.status == "FAILED"
                ]
                raise AwsError(
                    service=service,
                    operation=operation,
                    code="StackSetOperationFailed",
                    message=f"StackSet {name} operation {op_id} ended {status}"
                    + (": " + "; ".join(failed) if failed else "")
                    + (
                        f" ({described.get('StatusReason')})"
                        if described.get("StatusReason")
                        else ""
                    ),
                )
            return response
        started = response.get("OperationId")
        if isinstance(started, str) and started:
            self.wait(region, name, started, operation)
        return response

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Pages, as the inner caller makes them."""
        return self.inner.paginate(service, region, operation, result_key, params)

    def wait(self, region: str, name: str, op_id: str, started_by: str) -> str:
        """Poll until the operation ends; keep its results; its final status.

        Raises:
            AwsError: cancelled or timed out (the operation was stopped first), or a poll
                failed.
        """
        params = {"StackSetName": name, "OperationId": op_id, "CallAs": self.call_as}
        delays = [1.0, 2.0, 4.0, 8.0]
        start = self.clock()
        attempt = 0
        stopping: str | None = None
        while True:
            described = self.inner.call(
                "cloudformation", region, "DescribeStackSetOperation", params
            )["StackSetOperation"]
            status = str(described.get("Status", ""))
            action = str(described.get("Action", started_by))
            if status in _FINAL:
                break
            if stopping is None and (
                (self.cancel is not None and self.cancel.is_set())
                or self.clock() - start > self.timeout
            ):
                stopping = (
                    "cancelled"
                    if self.cancel is not None and self.cancel.is_set()
                    else (f"still running after {self.timeout:g} seconds")
                )
                self.say(f"{name}: operation {op_id} {stopping}: stopping it")
                self.inner.call("cloudformation", region, "StopStackSetOperation", params)
            self.say(f"{name}: operation {op_id} ({action}) {status.lower()}")
            self.sleep(delays[attempt] if attempt < len(delays) else 15.0)
            attempt += 1
        self.collect(region, name, op_id, action)
        with self.lock:
            self.statuses[op_id] = status
        done = [o for o in self.outcomes if o.operation_id == op_id]
        good = sum(1 for o in done if o.status == "SUCCEEDED")
        self.say(
            f"{name}: operation {op_id} ({action}) {status.lower()}: {good} of {len(done)} "
            "account/region(s) succeeded"
        )
        if stopping is not None:
            raise AwsError(
                service="cloudformation",
                operation=started_by,
                code="StackSetOperationStopped",
                message=f"StackSet {name} operation {op_id} was stopped: {stopping}",
            )
        return status

    def collect(self, region: str, name: str, op_id: str, action: str) -> None:
        """Keep each account's result of the operation."""
        results = self.inner.paginate(
            "cloudformation",
            region,
            "ListStackSetOperationResults",
            "Summaries",
            {"StackSetName": name, "OperationId": op_id, "CallAs": self.call_as},
        )
        outcomes = [
            AccountOutcome(
                account_id=str(r.get("Account", "")),
                region=str(r.get("Region", "")),
                organizational_unit=str(r.get("OrganizationalUnitId", "")),
                status=str(r.get("Status", "")),
                reason=str(r.get("StatusReason", "") or ""),
                operation_id=op_id,
                action=action,
            )
            for r in results
        ]
        with self.lock:
            self.outcomes += outcomes
        for outcome in outcomes:
            if outcome.status != "SUCCEEDED":
                self.say(
                    f"  {outcome.account_id} {outcome.region}: {outcome.status}"
                    + (f": {outcome.reason}" if outcome.reason else "")
                )


# --------------------------------------------------------------------------- the run


class OuTargets(WizardModel):
    """One OU: its accounts (as far as they can be listed) and what exists there."""

    organizational_unit: str
    """The OU (or the root)."""
    accounts: list[str] | None = None
    """Its active accounts and those of the OUs below it; None: not readable from here."""
    deployed_regions: list[str] = Field(default_factory=list)
    """Regions where the StackSet already has instances reached through it."""
    new_regions: list[str] = Field(default_factory=list)
    """Regions where this run adds instances."""


class StackSetReport(WizardModel):
    """The outcome of a StackSets run, for text and JSON."""

    stack_set: str
    """The StackSet's name."""
    region: str
    """Where it lives (its administration region)."""
    action: Literal["create", "update", "unchanged", "refused"]
    """What the plan does to the StackSet."""
    status: str
    """planned, dry-run, applied, unchanged, rolled-back, rollback-incomplete, blocked,
    failed, cancelled, not-applied."""
    call_as: str = "SELF"
    """SELF or DELEGATED_ADMIN."""
    organization_id: str | None = None
    """The organization."""
    targets: list[OuTargets] = Field(default_factory=list)
    """Per OU: its accounts and the regions deployed and added."""
    changes: list[str] = Field(default_factory=list)
    """What the plan changes, one line each (the StackSet's settings that differ, ...)."""
    central: CentralResult | None = None
    """The one update of the central policies."""
    outcomes: list[AccountOutcome] = Field(default_factory=list)
    """Each account's result, per operation."""
    instances: list[dict[str, str]] = Field(default_factory=list)
    """The StackSet's instances as they are at the end (account, region, OU, status)."""
    findings: list[Finding] = Field(default_factory=list)
    """What blocks or what to know."""
    message: str = ""
    """What happened, in words."""
    journal_path: str | None = None
    """The run's journal."""
    dry_run: bool = False
    """Nothing was changed."""

    @property
    def ok(self) -> bool:
        """True when the run ended as it should and every account succeeded."""
        if self.status not in ("applied", "unchanged", "dry-run", "planned"):
            return False
        return not any(o.status == "FAILED" for o in self.outcomes)


class StackSetRun:
    """One ``onboard --engine stacksets`` run."""

    def __init__(
        self,
        answers: Answers,
        options: StackSetOptions,
        *,
        caller: AwsCaller,
        ctx: AccountContext,
        central_caller: AwsCaller | None = None,
        central_account: str | None = None,
        dry_run: bool = False,
        journal: Journal | None = None,
        progress: Callable[[str], None] | None = None,
        explain: Callable[[AwsError], str] | None = None,
        cancel: threading.Event | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 3600.0,
    ) -> None:
        """Prepare the run.

        Args:
            answers: What every member account's trail follows.
            options: The StackSet's name, OUs, regions, preferences and CallAs.
            caller: The management account's, or the delegated administrator's.
            ctx: That account.
            central_caller: The log-archive account's (owner of the central bucket and key).
            central_account: Its id.
            dry_run: Read only; show what would be done.
            journal: Records every call (one journal for the run).
            progress: Receives one line per event.
            explain: Turns an AwsError into words.
            cancel: When set, no new step starts, a running operation is stopped, and what
                the run did is rolled back.
            sleep: Waits between polls (injected so tests do not sleep).
            timeout: Seconds an operation may run before it is stopped and rolled back.
        """
        self.answers = answers
        self.options = options
        self.caller = caller
        self.ctx = ctx
        self.central_caller = central_caller
        self.central_account = central_account
        self.dry_run = dry_run
        self.journal = journal
        self.progress = progress
        self.explain = explain or (lambda err: f"{err.code}: {err.message}")
        self.cancel = cancel
        self.region = answers.home_region(ctx.region)
        self.run_id = new_run_id()
        self.waiter = OperationWaiter(
            caller,
            call_as=options.call_as,
            say=self.say,
            cancel=cancel,
            sleep=sleep,
            timeout=timeout,
        )
        self.report = StackSetReport(
            stack_set=options.name,
            region=self.region,
            action="refused",
            status="blocked",
            call_as=options.call_as,
            organization_id=options.organization_id,
            dry_run=dry_run,
        )
        self.plan: Plan | None = None
        self.update: CentralUpdate | None = None

    # -- plumbing

    def say(self, line: str) -> None:
        """Report progress (a broken display never stops the run)."""
        if self.progress is not None:
            # A broken display must never abort a run.
            with contextlib.suppress(Exception):
                self.progress(line)

    def _set(self, **fields: Any) -> None:
        self.report = self.report.model_copy(update=fields)

    def _call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return self.caller.call(
            "cloudformation", self.region, operation, {**params, "CallAs": self.options.call_as}
        )

    # -- phase 1: read, plan

    def prepare(self) -> StackSetReport:
        """Read what exists and plan the run (no change); the report says what it would do.

        A read that fails ends the run here: status ``failed``, the error as the message.
        """
        try:
            return self._prepare()
        except AwsError as err:
            self._set(status="failed", message=f"{self.explain(err)} Nothing was changed.")
            return self.report

    def _prepare(self) -> StackSetReport:
        findings: list[Finding] = []
        try:
            check_answers(self.answers, self.options)
        except ValueError as exc:
            findings.append(_refusal("stacksets-answers", str(exc)))
            self._set(findings=findings, message=str(exc))
            return self.report
        targets = self._targets()
        current = self._describe()
        if current is not None and not _ours(current):
            message = (
                f"StackSet {self.options.name} exists and was not created by cloudtrail-wizard "
                f"(it has no {MANAGED_TAG} tag): it is left alone. Choose another name with "
                "--stack-set-name."
            )
            self._set(findings=[_refusal("stackset-not-ours", message)], message=message)
            return self.report
        instances = self._instances() if current is not None else []
        targets = _place(targets, current, instances, self.options.regions)
        central_steps, central = self._plan_central(targets)
        self._set(central=central, targets=targets)
        if central is not None and central.status in ("blocked", "failed"):
            message = f"The central policies cannot be updated: {central.error}"
            self._set(findings=[_refusal("stacksets-central", message)], message=message)
            return self.report
        create, instance_inputs = stack_set_inputs(self.answers, self.ctx, self.options)
        steps: list[Step] = list(central_steps)
        after = [s.id for s in central_steps]
        changes: list[str] = []
        if current is None:
            action: Literal["create", "update", "unchanged"] = "create"
            steps.append(self._create_step(create, after))
            after = ["create-stack-set"]
            changes.append(
                f"create StackSet {self.options.name} in {self.region} (service-managed, "
                "automatic deployment "
                + (
                    "keeping stacks of accounts that leave"
                    if self.options.retain_stacks_on_removal
                    else "removing stacks of accounts that leave"
                )
                + ")"
            )
        else:
            differences = _differences(current, create, instances, self.options)
            action = "update" if differences else "unchanged"
            if differences:
                steps += self._update_steps(current, create, after)
                after = ["check-stack-set-update"]
                changes += [f"change StackSet {self.options.name}: {d}" for d in differences]
        groups = _instance_groups(targets)
        for index, (ous, regions) in enumerate(groups, 1):
            suffix = "" if len(groups) == 1 else f"-{index}"
            steps += self._instance_steps(instance_inputs, ous, regions, after, suffix)
            after = [f"check-stack-instances{suffix}"]
            changes.append(f"create stack instances for {', '.join(ous)} in {', '.join(regions)}")
        if groups and action == "unchanged":
            action = "update"
        self.plan = Plan(
            account_id=self.ctx.account_id,
            partition=self.ctx.partition,
            home_region=self.region,
            trail_arn=f"arn:{self.ctx.partition}:cloudtrail:{self.region}:*:trail/"
            f"{self.answers.trail.name}",
            steps=steps,
            run_id=self.run_id,
        )
        self._set(
            action=action,
            status="planned" if steps else "unchanged",
            changes=changes,
            instances=instances,
            message=""
            if steps
            else f"StackSet {self.options.name} already deploys these answers to every OU and "
            "region given, and every instance is current: nothing to change.",
        )
        return self.report

    def _targets(self) -> list[OuTargets]:
        targets = []
        for ou in self.options.organizational_units:
            try:
                accounts: list[str] | None = sorted(self._accounts_of(ou))
            except AwsError as err:
                if not (err.access_denied or err.code in ("AccessDeniedException",)):
                    raise
                accounts = None
            targets.append(OuTargets(organizational_unit=ou, accounts=accounts))
        return targets

    def _accounts_of(self, ou: str) -> set[str]:
        """The active accounts of ``ou`` and every OU below it (not the management account)."""
        found: set[str] = set()
        pending = [ou]
        while pending:
            parent = pending.pop()
            for account in self.caller.paginate(
                "organizations",
                self.ctx.region,
                "ListAccountsForParent",
                "Accounts",
                {"ParentId": parent},
            ):
                if account.get("Status", "ACTIVE") == "ACTIVE":
                    found.add(str(account["Id"]))
            pending += [
                str(unit["Id"])
                for unit in self.caller.paginate(
                    "organizations",
                    self.ctx.region,
                    "ListOrganizationalUnitsForParent",
                    "OrganizationalUnits",
                    {"ParentId": parent},
                )
            ]
        management = self.ctx.account_id if self.options.call_as == "SELF" else None
        return found - ({management} if management else set())

    def _describe(self) -> dict[str, Any] | None:
        try:
            stack_set: dict[str, Any] = self._call(
                "DescribeStackSet", {"StackSetName": self.options.name}
            )["StackSet"]
        except AwsError as err:
            if err.code == "StackSetNotFoundException" or err.not_found:
                return None
            raise
        return stack_set

    def _instances(self) -> list[dict[str, str]]:
        summaries = self.caller.paginate(
            "cloudformation",
            self.region,
            "ListStackInstances",
            "Summaries",
            {"StackSetName": self.options.name, "CallAs": self.options.call_as},
        )
        return [
            {
                "account": str(s.get("Account", "")),
                "region": str(s.get("Region", "")),
                "ou": str(s.get("OrganizationalUnitId", "")),
                "status": str(s.get("Status", "")),
                "reason": str(s.get("StatusReason", "") or ""),
            }
            for s in summaries
        ]

    def _plan_central(
        self, targets: Sequence[OuTargets]
    ) -> tuple[list[Step], CentralResult | None]:
        bucket = self.answers.bucket
        owner = bucket.account
        if owner is None:
            return [], None
        accounts = sorted({a for t in targets for a in t.accounts or []})
        result = CentralResult(
            account_id=owner,
            bucket=bucket.name,
            key=self.answers.encryption.existing_key,
            status="unchanged",
            writers=accounts,
        )
        if self.central_caller is None or self.central_account != owner:
            return [], result.model_copy(
                update={
                    "status": "blocked",
                    "error": f"no credentials for log-archive account {owner} (central.profile "
                    "or central.role_arn in the accounts file, or --log-account-profile / "
                    "--log-account-role); or merge the statements of `export --format stackset` "
                    "there by hand",
                }
            )
        readers = self.options.readers
        bucket_statements, key_statements = organization_statements(
            self.answers, self.options.organization_id, self.ctx.partition, readers
        )
        # The refusal check asks for every listed account's trail (the policies name none).
        writers = [
            TrailWriter(
                account_id=account,
                trail_arn=f"arn:{self.ctx.partition}:cloudtrail:{self.region}:{account}:"
                f"trail/{self.answers.trail.name}",
            )
            for account in accounts or [self.ctx.account_id]
        ]
        try:
            current = read_central_policies(
                self.central_caller,
                account_id=owner,
                partition=self.ctx.partition,
                region=self.region,
                bucket=bucket.name,
                key_ref=self.answers.encryption.existing_key,
            )
            update = central_update_plan(
                current,
                prefix=bucket.prefix,
                writers=writers,
                readers=readers,
                organization_id=self.options.organization_id,
                required=(bucket_statements, key_statements or []),
            )
        except AwsError as err:
            return [], result.model_copy(update={"status": "failed", "error": self.explain(err)})
        except PolicyError as exc:
            return [], result.model_copy(update={"status": "failed", "error": str(exc)})
        self.update = update
        added = [str(s.get("Sid", "")) for s in update.bucket_merge.added]
        if update.key_merge is not None:
            added += [str(s.get("Sid", "")) for s in update.key_merge.added]
        parts = [
            readable_diff(s.policy.before, s.policy.after) or s.policy.diff
            for s in update.plan.steps
            if s.policy is not None
        ]
        status: Literal["unchanged", "would-update", "blocked"] = (
            "would-update" if update.plan.steps else "unchanged"
        )
        if update.refused:
            status = "blocked"
        return list(update.plan.steps), result.model_copy(
            update={
                "status": status,
                "added": added,
                "diff": "".join(p if p.endswith("\n") else p + "\n" for p in parts),
                "error": "; ".join(update.refused) or None,
            }
        )

    def _create_step(self, create: dict[str, Any], after: list[str]) -> Step:
        params = {
            **create,
            "Tags": [t for t in create["Tags"] if t["Key"] != MANAGED_TAG]
            + run_tags(self.run_id, self.answers.trail.name),
        }
        return Step(
            id="create-stack-set",
            call=Call(
                service="cloudformation",
                region=self.region,
                operation="CreateStackSet",
                params=params,
            ),
            summary=f"Create the service-managed StackSet {self.options.name} in {self.region}",
            chain="trail",
            creates=f"StackSet {self.options.name}",
            depends_on=list(after),
            undo=[
                Call(
                    service="cloudformation",
                    region=self.region,
                    operation="DeleteStackSet",
                    params={"StackSetName": self.options.name, "CallAs": self.options.call_as},
                )
            ],
            undo_summary=f"Delete the StackSet {self.options.name} (this run created it)",
            retry_on=list(_BUSY),
        )

    def _update_steps(
        self, current: Mapping[str, Any], create: Mapping[str, Any], after: list[str]
    ) -> list[Step]:
        name = self.options.name
        common = {"StackSetName": name, "CallAs": self.options.call_as}
        update = {
            **common,
            "Description": create["Description"],
            "TemplateBody": create["TemplateBody"],
            "Parameters": create["Parameters"],
            "Capabilities": create.get("Capabilities", []),
            "AutoDeployment": create["AutoDeployment"],
            "PermissionModel": "SERVICE_MANAGED",
            "OperationPreferences": operation_preferences(self.options),
        }
        previous = {
            **common,
            "Description": current.get("Description", ""),
            "TemplateBody": current.get("TemplateBody", ""),
            "Parameters": list(current.get("Parameters") or []),
            "Capabilities": list(current.get("Capabilities") or []),
            "AutoDeployment": dict(current.get("AutoDeployment") or {}),
            "PermissionModel": "SERVICE_MANAGED",
            "OperationPreferences": operation_preferences(self.options),
        }
        return [
            Step(
                id="update-stack-set",
                call=Call(
                    service="cloudformation",
                    region=self.region,
                    operation="UpdateStackSet",
                    params=update,
                ),
                summary=f"Change the StackSet {name} (template, parameters, automatic "
                "deployment) and every instance it has",
                chain="trail",
                changes=f"StackSet {name}",
                depends_on=list(after),
                undo=[
                    Call(
                        service="cloudformation",
                        region=self.region,
                        operation="UpdateStackSet",
                        params=previous,
                    )
                ],
                undo_summary=f"Put the StackSet {name} back to its previous template and "
                "parameters",
                retry_on=list(_BUSY),
            ),
            self._check_step("check-stack-set-update", "update-stack-set"),
        ]

    def _check_step(self, step_id: str, of: str) -> Step:
        return Step(
            id=step_id,
            call=Call(
                service="cloudformation",
                region=self.region,
                operation="DescribeStackSetOperation",
                params={
                    "StackSetName": self.options.name,
                    "OperationId": f"${{{of}:OperationId}}",
                    "CallAs": self.options.call_as,
                },
            ),
            summary="Check that every account's stack instance succeeded",
            chain="trail",
            depends_on=[of],
            mutating=False,
        )

    def _instance_steps(
        self,
        inputs: Mapping[str, Any],
        ous: list[str],
        regions: list[str],
        after: list[str],
        suffix: str,
    ) -> list[Step]:
        targets = {"OrganizationalUnitIds": list(ous)}
        create = {**inputs, "DeploymentTargets": targets, "Regions": list(regions)}
        delete = {
            "StackSetName": self.options.name,
            "DeploymentTargets": targets,
            "Regions": list(regions),
            "RetainStacks": False,
            "OperationPreferences": operation_preferences(self.options),
            "CallAs": self.options.call_as,
        }
        step_id = f"create-stack-instances{suffix}"
        return [
            Step(
                id=step_id,
                call=Call(
                    service="cloudformation",
                    region=self.region,
                    operation="CreateStackInstances",
                    params=create,
                ),
                summary=f"Deploy the trail to every account of {', '.join(ous)} in "
                f"{', '.join(regions)}",
                chain="trail",
                changes=f"StackSet {self.options.name}",
                depends_on=list(after),
                undo=[
                    Call(
                        service="cloudformation",
                        region=self.region,
                        operation="DeleteStackInstances",
                        params=delete,
                    )
                ],
                undo_summary=f"Delete the stack instances of {', '.join(ous)} in "
                f"{', '.join(regions)} (this run added them)",
                retry_on=list(_BUSY),
            ),
            self._check_step(f"check-stack-instances{suffix}", step_id),
        ]

    # -- phase 2: apply

    def apply(self) -> StackSetReport:
        """Apply the plan (or, in a dry run, change nothing); the final report."""
        plan = self.plan
        if plan is None or self.report.status != "planned":
            return self.report
        if self.dry_run:
            self._set(status="dry-run", message="Dry run: nothing was changed.")
            return self.report
        callers: dict[str, AwsCaller] = {}
        if self.central_caller is not None and self.central_account is not None:
            callers[self.central_account] = self.central_caller

        def show(event: ApplyEvent) -> None:
            marks = {
                "step-done": "ok",
                "step-failed": "!!",
                "step-retrying": "~~",
                "rollback-step-done": "<-",
                "rollback-step-failed": "!!",
            }
            mark = marks.get(event.kind)
            if mark is not None:
                self.say(f"[{mark}] {event.step_id or ''}: {event.message}")

        report = apply_plan(
            plan,
            self.waiter,
            journal=self.journal,
            progress=show,
            cancel=self.cancel,
            max_workers=1,
            explain=lambda err, _step: self.explain(err),
            callers=callers,
        )
        return self._conclude(report)

    def _conclude(self, report: ApplyReport) -> StackSetReport:
        outcomes = list(self.waiter.outcomes)
        status = report.status
        central = self.report.central
        if central is not None and central.status == "would-update":
            done = all(
                r.status == "done" for r in report.steps if r.id.startswith("update-central-")
            )
            central = central.model_copy(
                update={"status": "updated" if done and status == "applied" else "unchanged"}
            )
        instances = self.report.instances
        if status in ("applied",):
            try:
                instances = self._instances()
            except AwsError as err:
                self.say(f"cannot list the instances: {self.explain(err)}")
        elif self.report.action == "create":
            instances = []
        failed = [o for o in outcomes if o.status == "FAILED"]
        message = report.message
        if status == "applied" and failed:
            message = (
                f"The StackSet was deployed, but {len(failed)} account/region(s) failed (within "
                "the failure tolerance): fix the cause shown for each, then run again; the "
                "instances that are not current are deployed again."
            )
        self._set(
            status=status,
            central=central,
            outcomes=outcomes,
            instances=instances,
            message=message,
            journal_path=report.journal_path,
        )
        return self.report

    def decline(self) -> StackSetReport:
        """The operator said no: nothing was changed."""
        self._set(status="not-applied", message="Not applied. Nothing was changed.")
        return self.report


def _ours(stack_set: Mapping[str, Any]) -> bool:
    return any(t.get("Key") == MANAGED_TAG for t in stack_set.get("Tags") or [])


def _differences(
    current: Mapping[str, Any],
    create: Mapping[str, Any],
    instances: Sequence[Mapping[str, str]],
    options: StackSetOptions,
) -> list[str]:
    """What the StackSet's update would change, one line each (empty: nothing)."""
    out = []
    if current.get("TemplateBody") != create["TemplateBody"]:
        out.append("the member template changes")
    now = {p["ParameterKey"]: p.get("ParameterValue") for p in current.get("Parameters") or []}
    wanted = {p["ParameterKey"]: p["ParameterValue"] for p in create["Parameters"]}
    for key in sorted(set(now) | set(wanted)):
        if now.get(key) != wanted.get(key):
            out.append(f"parameter {key}: {now.get(key, '(none)')} -> {wanted.get(key, '(none)')}")
    if sorted(current.get("Capabilities") or []) != sorted(create.get("Capabilities") or []):
        out.append("capabilities change")
    auto = dict(current.get("AutoDeployment") or {})
    if auto != create["AutoDeployment"]:
        out.append(f"automatic deployment: {auto} -> {create['AutoDeployment']}")
    stale = [
        i for i in instances if i["status"] != "CURRENT" and i["ou"] in options.organizational_units
    ]
    if stale:
        out.append(
            f"{len(stale)} instance(s) are not current (for example {stale[0]['account']} in "
            f"{stale[0]['region']}: {stale[0]['reason'] or stale[0]['status']}): deployed again"
        )
    return out


def _place(
    targets: Sequence[OuTargets],
    current: Mapping[str, Any] | None,
    instances: Sequence[Mapping[str, str]],
    regions: Sequence[str],
) -> list[OuTargets]:
    """Each OU with the regions the StackSet already deploys it to, and those this run adds.

    An OU the StackSet targets without any instance (no account in it yet) counts as deployed
    to the StackSet's regions: automatic deployment covers it.
    """
    targeted = set((current or {}).get("OrganizationalUnitIds") or [])
    stack_regions = list((current or {}).get("Regions") or [])
    placed = []
    for target in targets:
        ou = target.organizational_unit
        deployed = sorted({i["region"] for i in instances if i["ou"] == ou})
        if not deployed and ou in targeted:
            deployed = sorted(stack_regions)
        placed.append(
            target.model_copy(
                update={
                    "deployed_regions": deployed,
                    "new_regions": [r for r in regions if r not in deployed],
                }
            )
        )
    return placed


def _instance_groups(targets: Sequence[OuTargets]) -> list[tuple[list[str], list[str]]]:
    """The OUs that need instances, grouped by the regions they need (one call per group)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for target in targets:
        if target.new_regions:
            groups.setdefault(tuple(target.new_regions), []).append(target.organizational_unit)
    return [(ous, list(regions)) for regions, ous in groups.items()]
