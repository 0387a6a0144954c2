"""Unfinished runs: find them in the journals, then roll them back or resume them.

A run is *unfinished* when its journal has no summary and no live process holds its lock
(it was killed, lost its terminal, or the machine stopped), or when its summary says the
rollback did not complete. Its journal says which steps were done (an outcome without an
error), which calls were in flight (an intent without an outcome) and which undo calls
already ran; the plan itself is in the ``apply-started`` entry.

Recovery never trusts a name alone: a create that was in flight is looked up
(:mod:`wizard.run.ownership`) and undone only when the resource carries the run's tag; a policy
the run wrote is read again and restored, or only the run's statements removed
(:mod:`wizard.run.policy_guard`); a lifecycle configuration the run wrote is read again too,
and put back exactly only when it still holds what the run wrote, else only the trail's rule
is taken out (:mod:`wizard.run.lifecycle_guard`).

Pure core: AWS is reached through :class:`wizard.ports.AwsCaller`; the journal directory is
the only file-system state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from wizard.model.base import WizardModel
from wizard.model.plan import Finding, Plan, Step
from wizard.ports import AwsCaller, AwsError
from wizard.run.apply import (
    ApplyEvent,
    ApplyReport,
    continue_recorded,
    rollback_recorded,
)
from wizard.run.journal import Journal, journal_dir, load_journal, lock_held
from wizard.run.lifecycle_guard import lifecycle_guarded, plan_lifecycle_restore, read_lifecycle
from wizard.run.ownership import CREATE_OPERATIONS, lookup_created
from wizard.run.policy_guard import guarded

__all__ = [
    "RecoveryError",
    "RunState",
    "UnfinishedRun",
    "find_run",
    "read_run",
    "recover_resume",
    "recover_rollback",
    "unfinished_finding",
    "unfinished_runs",
]

_FINISHED = frozenset({"applied", "rolled-back", "cancelled", "stale", "blocked", "recovered"})


class RecoveryError(Exception):
    """The run cannot be recovered as asked (the message says why and what to do)."""


class UnfinishedRun(WizardModel):
    """One unfinished run, as ``recover`` lists it."""

    run_id: str
    """The run's id (the journal's file name when the plan had none)."""
    journal: str
    """The journal's path."""
    started: str
    """When the run started (UTC, ISO 8601)."""
    account_id: str | None = None
    """The account the plan was for."""
    trail_arn: str | None = None
    """The trail the plan creates."""
    reason: Literal["interrupted", "rollback-incomplete", "no-plan"]
    """interrupted: the process ended before the run did; rollback-incomplete: a rollback
    left changes in place; no-plan: the journal holds calls but no plan to undo them by."""
    done: list[str] = Field(default_factory=list)
    """Steps whose change is in place (done and not undone)."""
    in_flight: list[str] = Field(default_factory=list)
    """Steps whose call was sent and never answered (it may or may not have acted)."""
    pending: list[str] = Field(default_factory=list)
    """Steps never started."""
    host: str | None = None
    """The machine the run ran on."""
    pid: int | None = None
    """Its process id."""


class RunState(WizardModel):
    """What a journal says about its run: the input to a rollback or a resume."""

    path: str
    """The journal."""
    plan: Plan
    """The plan the run applied."""
    completed: list[str] = Field(default_factory=list)
    """Done steps, in the order they completed (undone ones excluded)."""
    in_flight: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Step id -> the intent entry of its unanswered call."""
    outputs: dict[str, Any] = Field(default_factory=dict)
    """Responses of the done steps."""
    written: dict[str, str] = Field(default_factory=dict)
    """The policy text each guarded step wrote (or was writing)."""
    added: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    """The statements a guarded step merged into a newer text than the plan's: only those
    may be taken out (steps missing here replaced the plan's ``before``)."""
    rules_written: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    """The exact lifecycle rules each guarded lifecycle step wrote (or was writing)."""
    undone: list[str] = Field(default_factory=list)
    """Steps already rolled back."""
    finished: bool = False
    """True when the journal has a summary that needs nothing more."""
    summary_status: str | None = None
    """The summary's status, when there is one."""


def _policy_text(params: Mapping[str, Any]) -> str | None:
    value = params.get("Policy", params.get("AttributeValue"))
    return value if isinstance(value, str) else None


def read_run(path: Path | str) -> RunState:
    """Read a journal into the state of its run.

    Raises:
        RecoveryError: the file is not a journal, or holds no plan.
    """
    try:
        doc = load_journal(path)
    except (OSError, ValueError) as exc:
        raise RecoveryError(f"{path} cannot be read as a journal: {exc}") from exc
    entries = doc.get("entries")
    if not isinstance(entries, list):
        raise RecoveryError(f"{path} is not a cloudtrail-wizard journal.")
    started = [e for e in entries if e.get("kind") == "apply-started"]
    plans = [(e.get("result") or {}).get("plan") for e in started]
    plans = [p for p in plans if isinstance(p, dict)]
    if not plans:
        raise RecoveryError(
            f"{path} holds no plan (it was written by a version before 0.5, or the run "
            "stopped before its first change); its calls are listed in the file."
        )
    if len(plans) > 1:
        raise RecoveryError(
            f"{path} is an onboarding journal for {len(plans)} accounts; recover one account "
            "at a time by re-running `cloudtrail-wizard onboard` with the same accounts file "
            "(finished accounts are skipped), or undo the calls it lists by hand."
        )
    plan = Plan.model_validate(plans[0])
    summary = doc.get("summary")
    status = summary.get("status") if isinstance(summary, dict) else None
    steps = {s.id: s for s in plan.steps}
    completed: list[str] = []
    in_flight: dict[str, dict[str, Any]] = {}
    outputs: dict[str, Any] = {}
    written: dict[str, str] = {}
    added: dict[str, list[dict[str, Any]]] = {}
    rules_written: dict[str, list[dict[str, Any]]] = {}
    undone: list[str] = []
    undo_counts: dict[str, int] = {}
    for entry in entries:
        kind = entry.get("kind")
        sid = entry.get("step_id")
        if sid not in steps:
            continue
        step = steps[sid]
        params = entry.get("params") or {}
        is_main = entry.get("operation") == step.call.operation
        if kind == "policy-merged-again":
            merged = (entry.get("result") or {}).get("added")
            if isinstance(merged, list):
                added[sid] = merged
        elif kind == "intent" and not entry.get("rollback") and is_main:
            in_flight[sid] = entry
            text = _policy_text(params) if guarded(step) else None
            if text is not None:
                written[sid] = text
            rules = (params.get("LifecycleConfiguration") or {}).get("Rules")
            if lifecycle_guarded(step) and isinstance(rules, list):
                rules_written[sid] = rules
        elif kind == "call" and not entry.get("rollback") and is_main:
            in_flight.pop(sid, None)
            if "error" not in entry:
                outputs[sid] = entry.get("result") or {}
                if sid not in completed:
                    completed.append(sid)
        elif kind == "rollback-call":
            error = str(entry.get("error") or "")
            if not error or _gone(error):
                undo_counts[sid] = undo_counts.get(sid, 0) + 1
                if undo_counts[sid] >= max(1, len(step.undo)) or guarded(step):
                    undone.append(sid)
    if isinstance(summary, dict) and isinstance(summary.get("steps"), dict):
        # A rollback that did not complete still undid most steps, many without a call of
        # their own (a bucket's settings went with the bucket): its summary says which.
        undone += [
            sid
            for sid, result in summary["steps"].items()
            if result == "rolled-back" and sid in steps and sid not in undone
        ]
    return RunState(
        path=str(path),
        plan=plan,
        completed=[s for s in completed if s not in undone],
        in_flight={k: v for k, v in in_flight.items() if k not in undone},
        outputs=outputs,
        written=written,
        added=added,
        rules_written=rules_written,
        undone=undone,
        finished=status in _FINISHED,
        summary_status=status,
    )


def _gone(error: str) -> bool:
    code = error.split(":", 1)[0].strip()
    return AwsError(service="", operation="", code=code, message="").not_found


def _record(path: Path, doc: Mapping[str, Any]) -> UnfinishedRun | None:
    summary = doc.get("summary")
    status = summary.get("status") if isinstance(summary, dict) else None
    if status in _FINISHED:
        return None
    if status is None and lock_held(path):
        return None  # a live run: not ours to touch
    meta = doc.get("meta") or {}
    try:
        state = read_run(path)
    except RecoveryError:
        calls = [e for e in doc.get("entries") or [] if e.get("kind") in ("call", "intent")]
        if not calls:
            return None  # refused before any change: nothing to recover
        return UnfinishedRun(
            run_id=path.stem,
            journal=str(path),
            started=str(doc.get("started", "")),
            reason="no-plan",
            host=meta.get("host"),
            pid=meta.get("pid"),
        )
    plan = state.plan
    started = set(state.completed) | set(state.in_flight) | set(state.undone)
    return UnfinishedRun(
        run_id=plan.run_id or path.stem,
        journal=str(path),
        started=str(doc.get("started", "")),
        account_id=plan.account_id,
        trail_arn=plan.trail_arn,
        reason="rollback-incomplete" if status == "rollback-incomplete" else "interrupted",
        done=list(state.completed),
        in_flight=list(state.in_flight),
        pending=[s.id for s in plan.steps if s.id not in started],
        host=meta.get("host"),
        pid=meta.get("pid"),
    )


def unfinished_runs(directory: Path | None = None) -> list[UnfinishedRun]:
    """Every unfinished run in the journal directory, oldest first (live runs excluded)."""
    folder = directory or journal_dir()
    runs: list[UnfinishedRun] = []
    try:
        paths = sorted(folder.glob("*.json"))
    except OSError:
        return runs
    for path in paths:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            run = _record(path, doc)
            if run is not None:
                runs.append(run)
    return runs


def find_run(which: str | None, directory: Path | None = None) -> UnfinishedRun:
    """The unfinished run named by ``which`` (run id or its start, journal name or path).

    Raises:
        RecoveryError: none, or more than one, matches.
    """
    runs = unfinished_runs(directory)
    if which:
        matches = [
            r
            for r in runs
            if r.run_id.startswith(which)
            or Path(r.journal).name.startswith(which)
            or r.journal == str(Path(which).expanduser())
        ]
    else:
        matches = runs
    if not matches:
        if not runs:
            raise RecoveryError("There is no unfinished run: nothing to recover.")
        raise RecoveryError(
            f"No unfinished run matches {which!r}. Unfinished runs: "
            + ", ".join(r.run_id for r in runs)
            + "."
        )
    if len(matches) > 1:
        raise RecoveryError(
            f"{len(matches)} unfinished runs"
            + (f" match {which!r}" if which else "")
            + ": "
            + ", ".join(f"{r.run_id} ({r.trail_arn or r.journal})" for r in matches)
            + ". Name one: cloudtrail-wizard recover --rollback RUN."
        )
    return matches[0]


def unfinished_finding(directory: Path | None = None) -> Finding | None:
    """A warning naming the unfinished runs, or None when there are none."""
    runs = unfinished_runs(directory)
    if not runs:
        return None
    names = ", ".join(f"{r.run_id[:12]} ({r.trail_arn or 'no plan'})" for r in runs[:3])
    more = f" and {len(runs) - 3} more" if len(runs) > 3 else ""
    return Finding(
        severity="warning",
        code="unfinished-run",
        message=(
            f"{len(runs)} earlier run(s) did not finish and may have left changes in place: "
            f"{names}{more}. See them with `cloudtrail-wizard recover`; undo one with "
            "`cloudtrail-wizard recover --rollback RUN`."
        ),
        subject=runs[0].journal,
    )


def _settle_in_flight(
    state: RunState,
    callers: Callable[[Step], AwsCaller],
    say: Callable[[str], None],
) -> tuple[list[str], dict[str, Any], list[str]]:
    """Decide, by looking, which in-flight calls acted.

    Returns:
        The steps to treat as done, their outputs, and what could not be decided.
    """
    plan = state.plan
    done: list[str] = []
    outputs: dict[str, Any] = {}
    undecided: list[str] = []
    for sid, intent in state.in_flight.items():
        step = plan.step(sid)
        call = step.call.model_copy(update={"params": intent.get("params") or step.call.params})
        if (call.service, call.operation) in CREATE_OPERATIONS:
            found = lookup_created(
                callers(step),
                call,
                run_id=plan.run_id,
                account_id=call.account or plan.account_id,
                partition=plan.partition,
                outputs={**state.outputs, **outputs},
            )
            say(f"{sid}: the call was in flight; looked it up: {found.state} ({found.detail})")
            if found.state == "ours":
                done.append(sid)
                outputs[sid] = found.output
            elif found.state == "unknown":
                undecided.append(f"{sid}: {found.detail}")
        elif step.undo or guarded(step):
            # An update in flight may have acted: undoing it is safe either way (restoring
            # the previous setting, or a policy restore that reads first).
            say(f"{sid}: the call was in flight; it is undone in case it acted")
            done.append(sid)
    return done, outputs, undecided


def _guard_lifecycles(
    state: RunState,
    done: list[str],
    callers: Callable[[Step], AwsCaller],
    say: Callable[[str], None],
) -> tuple[Plan, list[tuple[str, str]]]:
    """The plan with each done lifecycle merge's undo decided by the lifecycle guard.

    A lifecycle merge's recorded undo writes back the whole configuration the bucket had at
    the plan, which would erase a rule someone added since the run wrote it. So the bucket's
    rules are read now and :func:`wizard.run.lifecycle_guard.plan_lifecycle_restore` decides,
    as apply's own rollback does: exactly the previous configuration while it still holds
    what the run wrote, else only the trail's rule taken out (or nothing, when that rule is
    gone). Decided before the rollback starts (the other undo calls never touch a lifecycle).

    Returns:
        The plan to roll back with, and the notes to record by step (what was kept, and
        why).

    Raises:
        RecoveryError: a lifecycle could not be read (nothing is written over rules not read;
            nothing has been changed yet).
    """
    steps: list[Step] = []
    notes: list[tuple[str, str]] = []
    for step in state.plan.steps:
        if step.id in done and lifecycle_guarded(step) and step.id in state.rules_written:
            try:
                current = read_lifecycle(callers(step), step.call)
            except AwsError as err:
                raise RecoveryError(
                    f"{step.id}: the lifecycle configuration of bucket "
                    f"{step.call.params.get('Bucket')} cannot be read ({err.code}: "
                    f"{err.message}), and nothing is written over rules not read. Nothing was "
                    "changed; fix the access and run recover again."
                ) from err
            restore, note = plan_lifecycle_restore(step, current, state.rules_written[step.id])
            if note:
                say(f"{step.id}: {note}")
                notes.append((step.id, note))
            step = step.model_copy(update={"undo": [restore] if restore is not None else []})
        steps.append(step)
    return state.plan.model_copy(update={"steps": steps}), notes


def _record_notes(journal: Journal, notes: list[tuple[str, str]]) -> None:
    """Each adjusted restore in the run's journal, as apply's own rollback records it."""
    for step_id, note in notes:
        journal.record("policy-restore-adjusted", step_id=step_id, message=note)


def recover_rollback(
    which: str | None,
    caller: AwsCaller,
    *,
    callers: Mapping[str, AwsCaller] | None = None,
    progress: Callable[[ApplyEvent], None] | None = None,
    explain: Callable[[AwsError, Step], str] | None = None,
    say: Callable[[str], None] = lambda _m: None,
    directory: Path | None = None,
) -> ApplyReport:
    """Undo an unfinished run: every change its journal shows, and every in-flight create
    found to be the run's own. The outcome is written into the run's own journal.

    Raises:
        RecoveryError: the run cannot be found, or its account is not the caller's.
    """
    run = find_run(which, directory)
    state = read_run(run.journal)
    caller_for = _callers_for(state, run.run_id, caller, callers)

    for step in state.plan.steps:
        if step.id in state.completed or step.id in state.in_flight:
            caller_for(step)  # refuse before any change when credentials are missing
    extra, found_outputs, undecided = _settle_in_flight(state, caller_for, say)
    plan, notes = _guard_lifecycles(state, [*state.completed, *extra], caller_for, say)
    journal = Journal.reopen(run.journal)
    journal.record("recover-started", message=f"rollback of run {run.run_id}")
    _record_notes(journal, notes)
    report = rollback_recorded(
        plan,
        caller,
        completed=[*state.completed, *extra],
        outputs={**state.outputs, **found_outputs},
        written=state.written,
        journal=journal,
        progress=progress,
        explain=explain,
        callers=callers,
        undecided=undecided,
        added=state.added,
    )
    return report


def recover_resume(
    which: str | None,
    caller: AwsCaller,
    *,
    callers: Mapping[str, AwsCaller] | None = None,
    progress: Callable[[ApplyEvent], None] | None = None,
    explain: Callable[[AwsError, Step], str] | None = None,
    say: Callable[[str], None] = lambda _m: None,
    directory: Path | None = None,
) -> ApplyReport:
    """Finish an interrupted run: the steps it did not complete, with apply's guarantees
    (creates refused unless the name is free or the run's own, policies read before they
    are written); on failure everything the run made, before and now, is rolled back.

    Raises:
        RecoveryError: the run cannot be resumed (its rollback had started, or something
            in flight cannot be decided).
    """
    run = find_run(which, directory)
    state = read_run(run.journal)
    if state.undone or state.summary_status == "rollback-incomplete":
        raise RecoveryError(
            f"Run {run.run_id} had started rolling back; it cannot be resumed. Finish the "
            f"rollback with `cloudtrail-wizard recover --rollback {run.run_id[:12]}`, then "
            "apply again."
        )
    caller_for = _callers_for(state, run.run_id, caller, callers)

    for step in state.plan.steps:
        caller_for(step)
    creates = {
        sid: i
        for sid, i in state.in_flight.items()
        if (state.plan.step(sid).call.service, state.plan.step(sid).call.operation)
        in CREATE_OPERATIONS
    }
    trimmed = state.model_copy(update={"in_flight": creates})
    extra, found_outputs, undecided = _settle_in_flight(trimmed, caller_for, say)
    if undecided:
        raise RecoveryError(
            "Cannot tell whether these in-flight calls acted: "
            + "; ".join(undecided)
            + ". Roll the run back instead (recover --rollback)."
        )
    journal = Journal.reopen(run.journal)
    journal.record("recover-started", message=f"resume of run {run.run_id}")
    return continue_recorded(
        state.plan,
        caller,
        completed=[*state.completed, *extra],
        outputs={**state.outputs, **found_outputs},
        written={k: v for k, v in state.written.items() if k in state.completed},
        journal=journal,
        progress=progress,
        explain=explain,
        callers=callers,
        added={k: v for k, v in state.added.items() if k in state.completed},
    )


def _callers_for(
    state: RunState,
    run_id: str,
    caller: AwsCaller,
    callers: Mapping[str, AwsCaller] | None,
) -> Callable[[Step], AwsCaller]:
    """Who makes a step's calls: the run's account's caller, or a log-archive account's.

    Raises:
        RecoveryError: these credentials are for another account than the run's.
    """
    plan = state.plan
    account = _account_of(caller, plan.home_region)
    if account is not None and account != plan.account_id:
        raise RecoveryError(
            f"Run {run_id} is for account {plan.account_id}, but these credentials are for "
            f"account {account}. Use credentials for {plan.account_id}."
        )
    others = dict(callers or {})

    def caller_for(step: Step) -> AwsCaller:
        acct = step.call.account
        if acct is None or acct == plan.account_id:
            return caller
        if acct not in others:
            raise RecoveryError(
                f"Step {step.id} changes account {acct}: give its credentials with "
                "--log-account-profile or --log-account-role."
            )
        return others[acct]

    return caller_for


def _account_of(caller: AwsCaller, region: str) -> str | None:
    try:
        identity = caller.call("sts", region, "GetCallerIdentity", {})
    except AwsError:
        return None
    account = identity.get("Account")
    return str(account) if account else None
