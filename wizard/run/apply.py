"""Apply a plan with rollback, or dry-run it: the executor of :class:`wizard.model.plan.Plan`.

Pure core: every AWS call goes through the :class:`wizard.ports.AwsCaller` port, so the
same executor runs against AWS, the sandbox emulator, a fake in tests, or the recording
caller of dry-run.

Guarantees of :func:`apply_plan`:

* Nothing is called for a blocked plan, or when the account changed since the plan was
  made (stale fingerprint).
* A step starts only when every step it depends on is done; independent steps run
  concurrently, started in plan order.
* On the first failure, or when cancelled, no new step starts; running steps are waited
  for, then every completed step is undone in reverse completion order. A failing undo is
  reported and the rollback goes on with the other steps.
* Every mutating call (and undo call) is written to the journal, without secrets, twice:
  its intent before it is sent (durably: when the intent cannot be written the call is not
  made, the step fails and the run rolls back) and its outcome after. The intents of the
  steps that start together are written with one write, before the first of them is sent;
  a forward call's outcome is on disk before any call that depends on it is sent (with
  that call's intent) and at the latest with the summary.
* A create answered "already exists" is a refusal unless the resource carries this run's
  tag (:mod:`wizard.run.ownership`): a resource the run did not create is never undone.
* The policy of a resource the run did not create is read again right before it is written
  and right before it is restored (:mod:`wizard.run.policy_guard`): a colleague's edit is
  merged into, or kept, never overwritten.
* A cancel (Ctrl-C, SIGTERM, SIGHUP) at any moment before the report rolls back everything
  the run did, even when it arrives while the last step runs.
* A KMS key created twice (a retried CreateKey whose first answer was lost) is found by the
  run's tag and scheduled for deletion, right away or when the step is rolled back
  (:mod:`wizard.run.orphans`); the report's ``key_sweeps`` and the journal say what was found.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Literal

from pydantic import Field

from wizard.model.base import WizardModel
from wizard.model.names import RUN_TAG
from wizard.model.plan import PLACEHOLDER, Call, Plan, Step
from wizard.model.readonly import is_read_only
from wizard.ports import AwsCaller, AwsError
from wizard.run.journal import Journal
from wizard.run.lifecycle_guard import (
    lifecycle_guarded,
    plan_lifecycle_restore,
    plan_lifecycle_write,
    read_lifecycle,
)
from wizard.run.orphans import (
    OrphanKey,
    SweepResult,
    retry_attempts,
    run_tag_of,
    sweep_run_keys,
)
from wizard.run.ownership import lookup_created
from wizard.run.policy_guard import PolicyConflict, guarded, plan_restore, plan_write, read_policy

__all__ = [
    "ApplyEvent",
    "ApplyEventKind",
    "ApplyReport",
    "ApplyStatus",
    "DryRunReport",
    "JournalUnwritable",
    "PlaceholderError",
    "RecordingCaller",
    "StepResult",
    "StepStatus",
    "apply_plan",
    "continue_recorded",
    "dry_run",
    "resolve_placeholders",
    "resolve_value",
    "rollback_recorded",
    "synthetic_response",
]

SIGNAL_WAKE_SECONDS = 0.2
"""Longest the steps' scheduler waits without running Python: how late a stop signal's
handler may run when the system delivered the signal to another thread."""

# --------------------------------------------------------------------------------------
# Placeholders


ALREADY_EXISTS_CODES = frozenset(
    {
        "AlreadyExistsException",
        "BucketAlreadyOwnedByYou",
        "EntityAlreadyExists",
        "ResourceAlreadyExistsException",
        "TrailAlreadyExistsException",
    }
)
"""Errors a create call answers when the resource is already there."""

CONFLICT_CODES = frozenset({"OperationAborted"})
"""Errors that mean "another change to this resource is in progress, try again": S3 answers
OperationAborted (409) when changes to one bucket's settings and policy overlap. A step that
lists one in its ``retry_on`` is retried after :data:`CONFLICT_DELAYS`, not the longer waits
meant for IAM's propagation."""

CONFLICT_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
"""Seconds before each retry of a conflicting change (6.35 s in all): the change it collided
with takes milliseconds."""

MAX_WORKERS = 8
"""Steps in flight at once: as many as the widest level of the plans the wizard makes (a new
bucket's settings and policy, the key's rotation and alias, the topic), so a level takes one
round trip."""


class PlaceholderError(ValueError):
    """A ``${step-id:Path}`` placeholder cannot be resolved."""


class JournalUnwritable(OSError):
    """The journal could not record a call before it was made: the call is not made."""


_SEGMENT = re.compile(r"(?P<dot>\.)?(?P<name>[A-Za-z0-9_]+)|\[(?P<index>\d+)\]")


def _path_segments(path: str) -> list[str | int]:
    segments: list[str | int] = []
    pos = 0
    while pos < len(path):
        match = _SEGMENT.match(path, pos)
        # A name must start the path or follow a dot; an index may follow anything.
        if match is None or (match["name"] and bool(match["dot"]) == (pos == 0)):
            raise PlaceholderError(f"malformed path {path!r} at character {pos + 1}")
        segments.append(match["name"] if match["name"] else int(match["index"]))
        pos = match.end()
    if not segments:
        raise PlaceholderError("empty path")
    return segments


def _lookup(placeholder: str, step_id: str, path: str, outputs: Mapping[str, Any]) -> Any:
    if step_id not in outputs:
        known = ", ".join(sorted(outputs)) or "none yet"
        raise PlaceholderError(
            f"{placeholder}: step '{step_id}' has no response (steps with responses: {known}); "
            "it must run, and succeed, before the step that refers to it."
        )
    value: Any = outputs[step_id]
    walked = step_id
    for segment in _path_segments(path):
        if isinstance(segment, int):
            if not isinstance(value, list) or segment >= len(value):
                size = len(value) if isinstance(value, list) else "not a list"
                raise PlaceholderError(f"{placeholder}: {walked} has no item [{segment}] ({size}).")
            value = value[segment]
            walked += f"[{segment}]"
        else:
            if not isinstance(value, Mapping) or segment not in value:
                keys = ", ".join(sorted(map(str, value))) if isinstance(value, Mapping) else ""
                raise PlaceholderError(
                    f"{placeholder}: the response of '{step_id}' has no {walked}.{segment}"
                    + (f" (it has: {keys})." if keys else ".")
                )
            value = value[segment]
            walked += f".{segment}"
    return value


def resolve_value(value: Any, outputs: Mapping[str, Any]) -> Any:
    """``value`` with every placeholder string replaced, at any depth.

    A string that *is* a placeholder (``${create-key:KeyMetadata.KeyId}``) is replaced by the
    value found at that path in ``outputs[step-id]``, whatever its type; other strings,
    numbers and booleans are kept as they are. Dicts and lists are copied.

    Raises:
        PlaceholderError: the step has no output, or the path is not in it.
    """
    if isinstance(value, str):
        match = PLACEHOLDER.match(value)
        if match is None:
            return value
        return _lookup(value, match["step"], match["path"], outputs)
    if isinstance(value, Mapping):
        return {k: resolve_value(v, outputs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve_value(v, outputs) for v in value]
    return value


def resolve_placeholders(params: Mapping[str, Any], outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Request parameters with every ``${step-id:Path.To[0].Value}`` filled from ``outputs``.

    Args:
        params: Parameters of a planned call; may hold placeholders anywhere.
        outputs: Responses of the steps run so far, by step id.

    Returns:
        A new dict; ``params`` is not modified.

    Raises:
        PlaceholderError: a placeholder refers to a missing step output or path.
    """
    return {k: resolve_value(v, outputs) for k, v in params.items()}


# --------------------------------------------------------------------------------------
# Models

ApplyEventKind = Literal[
    "step-started",
    "step-done",
    "step-failed",
    "step-retrying",
    "rollback-started",
    "rollback-step-done",
    "rollback-step-failed",
    "finished",
]
StepStatus = Literal[
    "pending", "running", "done", "failed", "rolled-back", "rollback-failed", "skipped"
]
ApplyStatus = Literal[
    "applied", "rolled-back", "rollback-incomplete", "stale", "blocked", "cancelled"
]


class ApplyEvent(WizardModel):
    """Progress of an apply, for a UI.

    Events are delivered from worker threads: a UI must marshal them to its own thread
    (Textual: ``app.call_from_thread``) and must not block in the callback.
    """

    kind: ApplyEventKind
    """What happened."""
    step_id: str | None = None
    """The step concerned; None for events about the whole run."""
    message: str = ""
    """Human-readable detail (the step summary, the error, the final status)."""
    attempt: int = 0
    """Attempt number for step events (1 = first try)."""


class StepResult(WizardModel):
    """What became of one step."""

    id: str
    """Step id."""
    status: StepStatus
    """Final status."""
    error: str | None = None
    """Why the step failed, explained."""
    response_summary: str | None = None
    """A short summary of the response (ids and ARNs)."""
    attempts: int = 0
    """How many times the call was made."""
    rollback_error: str | None = None
    """Why undoing the step failed (the resource may need manual cleanup)."""


class ApplyReport(WizardModel):
    """The outcome of :func:`apply_plan`."""

    status: ApplyStatus
    """Overall outcome."""
    steps: list[StepResult]
    """One result per plan step, in plan order."""
    outputs: dict[str, Any] = Field(default_factory=dict)
    """Responses of the steps that ran, by step id."""
    journal_path: str | None = None
    """Where the journal was written."""
    error: str | None = None
    """The failure that stopped the apply (explained), or why it was refused."""
    message: str = ""
    """One paragraph for the operator: what happened and what, if anything, to do."""
    changed: list[str] = Field(default_factory=list)
    """Fingerprint keys that changed (stale plans)."""
    journal_errors: list[str] = Field(default_factory=list)
    """Journal writes that failed after the apply started (the apply went on)."""
    key_sweeps: list[SweepResult] = Field(default_factory=list)
    """Searches for keys this run created twice (a retried CreateKey, or its rollback)."""

    @property
    def orphan_keys(self) -> list[OrphanKey]:
        """Keys this run created but does not use, and whether their deletion is scheduled."""
        return [k for sweep in self.key_sweeps for k in sweep.orphans]

    def step(self, step_id: str) -> StepResult:
        """The result of one step."""
        for result in self.steps:
            if result.id == step_id:
                return result
        raise KeyError(step_id)


class DryRunReport(WizardModel):
    """The outcome of :func:`dry_run`: what apply would send, and proof it sent nothing."""

    recorded_calls: list[Call]
    """Mutating calls apply would make, in order, placeholders filled with synthetic values."""
    read_calls: list[Call] = Field(default_factory=list)
    """Read calls passed to the reader."""
    mutating_calls_sent: int = 0
    """Mutating calls passed to the reader: always 0 (the point of a dry-run)."""
    outputs: dict[str, Any] = Field(default_factory=dict)
    """Synthetic responses by step id."""
    problems: list[str] = Field(default_factory=list)
    """What would go wrong (an unresolvable placeholder, a failing read)."""
    blocked: bool = False
    """True when the plan is blocked: apply would refuse it."""


# --------------------------------------------------------------------------------------
# Dry-run caller


def synthetic_response(
    call: Call, *, account_id: str, partition: str, serial: int = 1
) -> dict[str, Any]:
    """A plausible response to a mutating call that was not made, so placeholders resolve.

    Args:
        call: The recorded call (placeholders already resolved).
        account_id: Account used in synthetic ARNs.
        partition: Partition used in synthetic ARNs.
        serial: 1 for the first call of this kind, 2 for the next ... (keeps ids distinct).

    Returns:
        The fields later steps refer to (ids and ARNs); ``{}`` for other operations.
    """
    p, region = call.params, call.region
    suffix = "" if serial == 1 else f"-{serial}"
    key = (call.service, call.operation)
    if key == ("kms", "CreateKey"):
        key_id = f"dry-run-key-id{suffix}"
        return {
            "KeyMetadata": {
                "KeyId": key_id,
                "Arn": f"arn:{partition}:kms:{region}:{account_id}:key/{key_id}",
                "AWSAccountId": account_id,
                "Enabled": True,
                "KeyState": "Enabled",
                "KeySpec": p.get("KeySpec", "SYMMETRIC_DEFAULT"),
                "KeyUsage": p.get("KeyUsage", "ENCRYPT_DECRYPT"),
                "Description": p.get("Description", ""),
            }
        }
    if key == ("s3", "CreateBucket"):
        return {"Location": f"/{p.get('Bucket', '')}"}
    if key == ("sns", "CreateTopic"):
        return {"TopicArn": f"arn:{partition}:sns:{region}:{account_id}:{p.get('Name', '')}"}
    if key == ("cloudtrail", "CreateTrail"):
        name = str(p.get("Name", ""))
        echoed = {k: v for k, v in p.items() if isinstance(v, str | bool | int)}
        return {
            **echoed,
            "TrailARN": f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/{name}",
        }
    if key == ("iam", "CreateRole"):
        name, path = str(p.get("RoleName", "")), str(p.get("Path", "/"))
        return {
            "Role": {
                "RoleName": name,
                "Path": path,
                "RoleId": f"DRYRUNROLEID{suffix}",
                "Arn": f"arn:{partition}:iam::{account_id}:role{path}{name}",
            }
        }
    if key == ("iam", "CreatePolicy"):
        name, path = str(p.get("PolicyName", "")), str(p.get("Path", "/"))
        return {
            "Policy": {
                "PolicyName": name,
                "Arn": f"arn:{partition}:iam::{account_id}:policy{path}{name}",
            }
        }
    return {}


class RecordingCaller:
    """The dry-run caller: reads go to ``reader``, writes are only recorded.

    Whether a call is a read is decided by :func:`wizard.model.readonly.is_read_only`, the same
    rule the read-only guard on the boto3 clients enforces; for a dry-run, pass a reader
    built on a read-only client factory, so a write would be refused twice.
    """

    def __init__(
        self,
        reader: AwsCaller | None = None,
        *,
        account_id: str = "000000000000",
        partition: str = "aws",
    ) -> None:
        """Create the caller.

        Args:
            reader: Answers read calls; None answers them with ``{}`` / ``[]``.
            account_id: Account for synthetic ARNs.
            partition: Partition for synthetic ARNs.
        """
        self.reader = reader
        self.account_id = account_id
        self.partition = partition
        self._lock = threading.Lock()
        self.recorded: list[Call] = []
        """Mutating calls, in the order they were made."""
        self.reads: list[Call] = []
        """Read calls passed to the reader."""
        self.mutating_sent = 0
        """Mutating calls passed to the reader (by construction, 0)."""
        self._serials: dict[tuple[str, str], int] = {}

    def call(
        self, service: str, region: str, operation: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Forward a read to the reader; record a write and answer it synthetically."""
        recorded = Call(
            service=service, region=region, operation=operation, params=dict(params or {})
        )
        if is_read_only(operation):
            with self._lock:
                self.reads.append(recorded)
            return self.reader.call(service, region, operation, params) if self.reader else {}
        with self._lock:
            self.recorded.append(recorded)
            serial = self._serials.get((service, operation), 0) + 1
            self._serials[(service, operation)] = serial
        return synthetic_response(
            recorded, account_id=self.account_id, partition=self.partition, serial=serial
        )

    def paginate(
        self,
        service: str,
        region: str,
        operation: str,
        result_key: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Forward a paginated read to the reader; record a write and answer ``[]``."""
        recorded = Call(
            service=service, region=region, operation=operation, params=dict(params or {})
        )
        if is_read_only(operation):
            with self._lock:
                self.reads.append(recorded)
            if self.reader is None:
                return []
            return self.reader.paginate(service, region, operation, result_key, params)
        with self._lock:
            self.recorded.append(recorded)
        return []


def _plan_problem(plan: Plan) -> str | None:
    """Why the plan's dependency graph cannot be executed, or None."""
    ids = [s.id for s in plan.steps]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        return f"duplicate step ids: {', '.join(dupes)}"
    known = set(ids)
    for step in plan.steps:
        missing = [d for d in step.depends_on if d not in known]
        if missing:
            return f"step '{step.id}' depends on unknown steps: {', '.join(missing)}"
    # Kahn's algorithm: anything left over sits on a cycle.
    remaining = {s.id: set(s.depends_on) for s in plan.steps}
    while True:
        ready = [sid for sid, deps in remaining.items() if not deps]
        if not ready:
            break
        for sid in ready:
            del remaining[sid]
        for deps in remaining.values():
            deps.difference_update(ready)
    if remaining:
        return f"dependency cycle among steps: {', '.join(sorted(remaining))}"
    return None


def _execution_order(plan: Plan) -> list[Step]:
    """Plan order, except that a step never comes before its dependencies."""
    done: set[str] = set()
    ordered: list[Step] = []
    pending = list(plan.steps)
    while pending:
        for step in pending:
            if all(d in done for d in step.depends_on):
                ordered.append(step)
                done.add(step.id)
                pending.remove(step)
                break
        else:  # pragma: no cover - _plan_problem rules cycles out first
            raise ValueError("dependency cycle")
    return ordered


def dry_run(
    plan: Plan,
    reader: AwsCaller | None = None,
    *,
    readers: Mapping[str, AwsCaller] | None = None,
) -> DryRunReport:
    """Walk the plan as apply would, sending only reads (to ``reader``) and recording writes.

    Placeholders are filled from synthetic responses (a key created in dry-run has the id
    ``dry-run-key-id``), so the recorded calls show exactly what apply would send.

    Args:
        plan: The plan (a blocked plan is walked too, and reported as blocked).
        reader: Answers read calls; use a read-only Boto3Caller, or None to stay offline.
        readers: Readers for calls made with another account's credentials
            (:attr:`Call.account`), by account id; a missing one answers reads offline.

    Returns:
        The recorded calls and any problems found.
    """
    problem = _plan_problem(plan)
    if problem:
        return DryRunReport(
            recorded_calls=[], problems=[f"The plan is malformed: {problem}"], blocked=True
        )
    caller = RecordingCaller(reader, account_id=plan.account_id, partition=plan.partition)
    others: dict[str, RecordingCaller] = {}
    recorded: list[Call] = []
    outputs: dict[str, Any] = {}
    problems: list[str] = []
    for step in _execution_order(plan):
        call = step.call
        target = caller
        if call.account is not None and call.account != plan.account_id:
            target = others.setdefault(
                call.account,
                RecordingCaller(
                    (readers or {}).get(call.account),
                    account_id=call.account,
                    partition=plan.partition,
                ),
            )
        try:
            params = resolve_placeholders(call.params, outputs)
        except PlaceholderError as exc:
            problems.append(f"Step '{step.id}': {exc}")
            params = dict(call.params)
        count = len(target.recorded)
        try:
            outputs[step.id] = target.call(call.service, call.region, call.operation, params)
        except AwsError as err:
            problems.append(f"Step '{step.id}': {err}")
        recorded += [
            c.model_copy(update={"account": call.account}) for c in target.recorded[count:]
        ]
    every = [caller, *others.values()]
    return DryRunReport(
        recorded_calls=recorded,
        read_calls=[c for r in every for c in r.reads],
        mutating_calls_sent=sum(r.mutating_sent for r in every),
        outputs=outputs,
        problems=problems,
        blocked=plan.blocked,
    )


# --------------------------------------------------------------------------------------
# Apply


def _default_explain(err: AwsError, step: Step) -> str:
    return f"{err.service}:{err.operation} failed with {err.code}: {err.message}"


def summarize_response(response: Mapping[str, Any], limit: int = 160) -> str:
    """A one-line summary of a response: its identifiers and scalar fields."""
    parts: list[str] = []

    def walk(value: Mapping[str, Any], prefix: str, depth: int) -> None:
        for key, item in value.items():
            if isinstance(item, str | int | float | bool) and (
                depth == 0 or re.search(r"(Id|Arn|ARN|Name|Location|State)$", str(key))
            ):
                parts.append(f"{prefix}{key}={item}")
            elif isinstance(item, Mapping) and depth < 1:
                walk(item, f"{prefix}{key}.", depth + 1)

    walk(response, "", 0)
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Apply:
    """State of one apply run; shared between the scheduler and the worker threads."""

    def __init__(
        self,
        plan: Plan,
        caller: AwsCaller,
        *,
        progress: Callable[[ApplyEvent], None] | None,
        journal: Journal | None,
        cancel: threading.Event | None,
        sleep: Callable[[float], None],
        retry_delays: Sequence[float],
        explain: Callable[[AwsError, Step], str],
        callers: Mapping[str, AwsCaller] | None = None,
        conflict_delays: Sequence[float] = CONFLICT_DELAYS,
    ) -> None:
        self.plan = plan
        self.caller = caller
        self.callers = dict(callers or {})
        self.progress = progress
        self.journal = journal
        self.cancel = cancel
        self.sleep = sleep
        self.delays = list(retry_delays)
        self.conflict_delays = list(conflict_delays)
        self.explain = explain
        self.lock = threading.Lock()
        self.status: dict[str, StepStatus] = {s.id: "pending" for s in plan.steps}
        self.errors: dict[str, str] = {}
        self.rollback_errors: dict[str, str] = {}
        self.attempts: dict[str, int] = {}
        self.summaries: dict[str, str] = {}
        self.outputs: dict[str, Any] = {}
        self.completed: list[str] = []
        self.written: dict[str, str] = {}
        """The exact policy text each guarded step wrote (what a restore compares against)."""
        self.rules_written: dict[str, list[dict[str, Any]]] = {}
        """The exact lifecycle rules each guarded lifecycle step wrote."""
        self.added: dict[str, list[dict[str, Any]]] = {}
        """The statements a guarded step merged into someone else's newer text, by step: only
        those may be taken out again (a step missing here replaced the plan's ``before``)."""
        self.foreign: set[str] = set()
        """Creates refused because the resource exists and is someone else's."""
        self.notes: list[str] = []
        """What the operator must know beyond the steps' results (a policy merged again)."""
        self.lookups: dict[str, str] = {}
        """What a look-up after "already exists" found, by step."""
        self.journal_errors: list[str] = []
        self.first_failure: str | None = None
        self.sweeps: list[SweepResult] = []
        """Searches for keys a retried CreateKey made twice (wizard.run.orphans)."""
        self.announced: dict[str, dict[str, Any]] = {}
        """Steps whose first call's intent :meth:`announce` wrote, with its parameters."""

    # -- plumbing -----------------------------------------------------------------------

    def emit(
        self, kind: ApplyEventKind, step_id: str | None = None, message: str = "", attempt: int = 0
    ) -> None:
        if self.progress is None:
            return
        # A broken UI must never abort an apply halfway.
        with contextlib.suppress(Exception):
            self.progress(ApplyEvent(kind=kind, step_id=step_id, message=message, attempt=attempt))

    def write(self, kind: str, *, durable: bool = True, **fields: Any) -> None:
        if self.journal is None:
            return
        try:
            self.journal.record(kind, durable=durable, **fields)
        except OSError as exc:
            # Stopping halfway because the disk is full would leave the account in a worse
            # state than going on; the report says the journal is incomplete.
            with self.lock:
                self.journal_errors.append(f"{kind}: {exc}")

    def intent(self, step: Step, call: Call, params: Mapping[str, Any], rollback: bool) -> None:
        """Record, durably, that ``call`` is about to be made (write-ahead).

        Raises:
            JournalUnwritable: not recorded; the call must not be made (a rollback call is
                made all the same: undoing is always better than leaving a change).
        """
        if self.journal is None:
            return
        try:
            self.journal.record("intent", **_intent_fields(step, call, params, rollback))
        except OSError as exc:
            with self.lock:
                self.journal_errors.append(f"intent of {step.id} {call.operation}: {exc}")
            if not rollback:
                raise JournalUnwritable(
                    f"The journal {self.journal.path} could not record {call.operation} "
                    f"before it was sent ({exc.strerror or exc}); the call was not made."
                ) from exc

    def announce(self, steps: Sequence[Step]) -> None:
        """Record, with one durable write, the intents of the steps about to start together.

        Every one of them is on disk before the first of their calls is sent, for one fsync
        instead of one per call (which, one after another, also spread calls meant to go
        out together over several round trips). A step whose call depends on a read made
        when it runs (a policy or lifecycle merge) records its own intent then. When this
        write fails, each step tries its own, and a step whose intent cannot be written is
        not sent (:meth:`intent`).
        """
        if self.journal is None:
            return
        with self.lock:
            outputs = dict(self.outputs)
        fields: list[dict[str, Any]] = []
        announced: dict[str, dict[str, Any]] = {}
        for step in steps:
            call = step.call
            if is_read_only(call.operation) or guarded(step) or lifecycle_guarded(step):
                continue
            try:
                params = resolve_placeholders(call.params, outputs)
            except PlaceholderError:
                continue  # the step fails when it runs, before any intent
            fields.append({"kind": "intent", **_intent_fields(step, call, params, False)})
            announced[step.id] = params
        if not fields:
            return
        try:
            self.journal.record_many(fields)
        except OSError:
            return
        with self.lock:
            self.announced.update(announced)

    def was_announced(self, step: Step, params: Mapping[str, Any]) -> bool:
        """True (once) when :meth:`announce` wrote this very call's intent."""
        with self.lock:
            return self.announced.pop(step.id, None) == params

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def caller_for(self, call: Call) -> AwsCaller:
        """The caller whose credentials make ``call`` (its account's, else the plan's)."""
        if call.account is None or call.account == self.plan.account_id:
            return self.caller
        return self.callers[call.account]  # apply_plan checked that it exists

    def describe_error(self, exc: Exception, step: Step) -> str:
        if isinstance(exc, AwsError):
            return self.explain(exc, step)
        return str(exc) or type(exc).__name__

    # -- one call with retries ---------------------------------------------------------

    def invoke(self, step: Step, call: Call, *, rollback: bool) -> dict[str, Any]:
        """Resolve and make one call, retrying the step's retry_on codes.

        Raises:
            Exception: the final failure (AwsError, PlaceholderError, anything the caller raised).
        """
        kind = "rollback-call" if rollback else "call"
        attempt = 1
        while True:
            with self.lock:
                outputs = dict(self.outputs)
            params = resolve_placeholders(call.params, outputs)
            where = {
                "step_id": step.id,
                "service": call.service,
                "region": call.region,
                "operation": call.operation,
                "params": params,
                "rollback": rollback,
            }
            if call.account is not None:
                where["message"] = f"as account {call.account}"
                where["account"] = call.account
            if not rollback:
                with self.lock:
                    self.attempts[step.id] = attempt
            if not is_read_only(call.operation) and not (
                attempt == 1 and not rollback and self.was_announced(step, params)
            ):
                self.intent(step, call, params, rollback)
            # A forward call's outcome is written with the next durable entry, which comes
            # before any call that depends on it (its intent), or with the summary: a crash
            # before then leaves the call in flight, for `recover` to look up. An undo's
            # outcome is written at once: `recover` counts what was undone from them.
            durable = rollback
            try:
                response = self.caller_for(call).call(
                    call.service, call.region, call.operation, params
                )
            except AwsError as err:
                self.write(kind, error=f"{err.code}: {err.message}", durable=durable, **where)
                delays = self.conflict_delays if err.code in CONFLICT_CODES else self.delays
                retry = (
                    err.code in step.retry_on
                    and attempt <= len(delays)
                    and (rollback or not self.cancelled())
                )
                if not retry:
                    raise
                delay = delays[attempt - 1]
                if not rollback:
                    self.emit(
                        "step-retrying",
                        step.id,
                        f"{err.code}: retrying in {delay:g}s ({err.message})",
                        attempt,
                    )
                self.sleep(delay)
                attempt += 1
                continue
            except Exception as exc:
                self.write(kind, error=f"{type(exc).__name__}: {exc}", durable=durable, **where)
                raise
            self.write(kind, result=response, durable=durable, **where)
            return response

    # -- a step --------------------------------------------------------------------------

    def run_step(self, step: Step) -> None:
        """Worker: run one step; never raises (the outcome is stored)."""
        self.emit("step-started", step.id, step.summary, 1)
        try:
            response = self.make_step_call(step)
        except Exception as exc:  # any failure must lead to rollback
            message = self.describe_error(exc, step)
            if isinstance(exc, AwsError) and exc.code in ALREADY_EXISTS_CODES and step.creates:
                adopted = self.own_after_already_exists(step)
                if adopted is not None:
                    self.succeed(step, adopted)
                    return
                message = self.refusal(step, f"{exc.code}: {exc.message}")
            with self.lock:
                self.status[step.id] = "failed"
                self.errors[step.id] = message
                if self.first_failure is None:
                    self.first_failure = step.id
            self.emit("step-failed", step.id, message, self.attempts.get(step.id, 1))
            return
        run_id = run_tag_of(step.call.operation, step.call.params)
        if run_id and retry_attempts(response) > 0:
            # botocore sent the CreateKey more than once: an attempt whose answer was lost
            # may have created a key too. Keep the one answered, schedule the others.
            keep = (response.get("KeyMetadata") or {}).get("KeyId")
            self.sweep_keys(step, run_id, "retried", keep)
        elsewhere = self.made_by_someone_else(step) if step.creates else None
        if elsewhere is not None:
            message = self.refusal(
                step, f"{step.call.operation} answered success without creating it"
            )
            with self.lock:
                self.status[step.id] = "failed"
                self.errors[step.id] = message
                if self.first_failure is None:
                    self.first_failure = step.id
            self.emit("step-failed", step.id, message, self.attempts.get(step.id, 1))
            return
        self.succeed(step, response)

    def succeed(self, step: Step, response: dict[str, Any]) -> None:
        with self.lock:
            self.outputs[step.id] = response
            self.status[step.id] = "done"
            self.summaries[step.id] = summarize_response(response)
            self.completed.append(step.id)
        self.emit("step-done", step.id, step.summary, self.attempts.get(step.id, 1))

    def resolved(self, call: Call) -> Call:
        """``call`` with its placeholders filled from the outputs so far."""
        with self.lock:
            outputs = dict(self.outputs)
        return call.model_copy(update={"params": resolve_placeholders(call.params, outputs)})

    def make_step_call(self, step: Step) -> dict[str, Any]:
        """The step's call; a guarded policy write first reads the policy again.

        Raises:
            Exception: the call failed, or the policy can no longer be merged into.
        """
        if lifecycle_guarded(step):
            return self.write_lifecycle(step)
        if not guarded(step):
            return self.invoke(step, step.call, rollback=False)
        call = self.resolved(step.call)
        current = read_policy(self.caller_for(call), call)
        write = plan_write(step, call, current)
        if write.note:
            # What was added goes in too: `recover` may take out only that.
            self.write(
                "policy-merged-again",
                step_id=step.id,
                message=write.note,
                result={"added": write.added},
            )
            with self.lock:
                self.notes.append(write.note)
        # Recorded before the call: a crash during it must restore against this text.
        with self.lock:
            self.written[step.id] = write.written
            if write.added is not None:
                self.added[step.id] = write.added
        if write.skip:
            return {}  # the policy already reads as the step would make it: nothing to write
        return self.invoke(step, write.call, rollback=False)

    def write_lifecycle(self, step: Step) -> dict[str, Any]:
        """A lifecycle merge, after reading the bucket's rules again (never written over
        rules not just read: :mod:`wizard.run.lifecycle_guard`)."""
        current = read_lifecycle(self.caller_for(step.call), step.call)
        write = plan_lifecycle_write(step, current)
        if write.note:
            self.write("lifecycle-merged-again", step_id=step.id, message=write.note)
            with self.lock:
                self.notes.append(write.note)
        with self.lock:
            self.rules_written[step.id] = write.written
        return self.invoke(step, write.call, rollback=False)

    def own_after_already_exists(self, step: Step) -> dict[str, Any] | None:
        """The create's output when the resource that "already exists" is this run's own.

        botocore re-sends a request whose answer was lost; if the first attempt created the
        resource, the second hears "already exists". The run's tag tells the two cases apart.
        """
        call = self.resolved(step.call)
        with self.lock:
            outputs = dict(self.outputs)
        found = lookup_created(
            self.caller_for(call),
            call,
            run_id=self.plan.run_id,
            account_id=call.account or self.plan.account_id,
            partition=self.plan.partition,
            outputs=outputs,
        )
        self.write("already-exists-checked", step_id=step.id, message=found.detail)
        if found.state != "ours":
            with self.lock:
                self.lookups[step.id] = found.detail
                if found.state == "foreign":
                    self.foreign.add(step.id)
            return None
        return {**found.output, "Adopted": found.detail}

    def made_by_someone_else(self, step: Step) -> str | None:
        """Why a create that answered success made nothing, or None when it made the resource.

        S3 answers CreateBucket in us-east-1 with 200 when the account already owns the
        bucket (another run of the same answers made it a moment ago): no error to go by, and
        the rollback would delete the other run's bucket. The run tag tells: a bucket that
        carries another run's id was not made by this request. (An untagged one, or tags
        that cannot be read, cannot tell; the bucket is taken as made, as before.)
        """
        call = self.resolved(step.call)
        if (call.service, call.operation, call.region) != ("s3", "CreateBucket", "us-east-1"):
            return None
        bucket = call.params.get("Bucket")
        try:
            response = self.caller_for(call).call(
                "s3", call.region, "GetBucketTagging", {"Bucket": bucket}
            )
        except AwsError:
            return None  # NoSuchTagSet, or no permission to read them: cannot tell
        owner = next(
            (
                t.get("Value")
                for t in response.get("TagSet") or []
                if isinstance(t, Mapping) and t.get("Key") == RUN_TAG
            ),
            None,
        )
        if owner is None or owner == self.plan.run_id:
            return None
        detail = f"bucket {bucket} carries {RUN_TAG}={owner}: another run made it"
        self.write("already-exists-checked", step_id=step.id, message=detail)
        with self.lock:
            self.lookups[step.id] = detail
            self.foreign.add(step.id)
        return detail

    def refusal(self, step: Step, cause: str) -> str:
        with self.lock:
            detail = self.lookups.get(step.id, "")
        return (
            f"{step.creates} already exists and was not created by this run"
            + (f" ({detail})" if detail else "")
            + ": someone else made it after the plan was read, or at the same time. It was "
            "left alone; nothing of it is undone. Choose another name, or run the wizard "
            f"again to plan with it. ({cause})"
        )

    # -- scheduling ------------------------------------------------------------------------

    def execute(self, max_workers: int) -> bool:
        """Run the steps; True when the run was stopped by the cancel event."""
        steps = {s.id: s for s in self.plan.steps}
        order = [s.id for s in self.plan.steps]
        cancelled = False
        stopping = False
        running: dict[Future[None], str] = {}
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="apply") as pool:
            while True:
                with self.lock:
                    failed = self.first_failure is not None
                    pending = [sid for sid in order if self.status[sid] == "pending"]
                if not stopping and failed:
                    stopping = True
                # Cancelling only matters while something is left to start: once every step
                # has started, they all finish and the result is kept.
                if not stopping and pending and self.cancelled():
                    stopping = cancelled = True
                if not stopping:
                    starting: list[Step] = []
                    for sid in pending:
                        if len(running) + len(starting) >= max_workers:
                            break
                        with self.lock:
                            ready = all(self.status[d] == "done" for d in steps[sid].depends_on)
                            if ready:
                                self.status[sid] = "running"
                        if ready:
                            starting.append(steps[sid])
                    # Their intents first, with one write: then they all go out at once.
                    self.announce(starting)
                    for step in starting:
                        running[pool.submit(self.run_step, step)] = step.id
                if not running:
                    break
                # A bounded wait: a stop signal (Ctrl-C, SIGTERM, SIGHUP) that the system
                # hands to another thread only sets a flag, and Python runs its handler once
                # the main thread runs again; blocked here until a slow call returned, the
                # command said it was interrupted (and stopped starting steps) only then.
                finished, _ = wait(
                    running, timeout=SIGNAL_WAKE_SECONDS, return_when=FIRST_COMPLETED
                )
                for future in finished:
                    del running[future]
                    future.result()  # run_step never raises; surface a bug if it does
        with self.lock:
            for sid in order:
                if self.status[sid] == "pending":
                    self.status[sid] = "skipped"
        return cancelled

    # -- rollback ------------------------------------------------------------------------

    def rollback(self, reason: str) -> None:
        with self.lock:
            to_undo = list(reversed(self.completed))
        self.write("rollback-started", message=reason)
        self.emit(
            "rollback-started", None, f"Rolling back {len(to_undo)} completed steps: {reason}"
        )
        for sid in to_undo:
            self.undo_step(self.plan.step(sid))
        self.sweep_on_rollback()

    def undo_step(self, step: Step) -> None:
        """Undo one completed step; the outcome goes to ``status`` and ``rollback_errors``."""
        if not step.mutating and not step.undo:
            return  # a read changed nothing; it stays "done"
        self.emit("rollback-started", step.id, step.undo_summary or f"Undo: {step.summary}")
        error: str | None = None
        note = ""
        calls = step.undo
        taken = self.trail_taken()
        if guarded(step) and step.id in self.written and taken is not None:
            # The trail these statements let CloudTrail write for exists and is someone
            # else's (most likely another run of the same answers, which needs them).
            note = (
                f"CloudTrail's statements in the policy of "
                f"{step.policy.resource if step.policy else step.id} were kept: the trail "
                f"{taken} they grant exists and was not created by this run."
            )
            calls = []
        elif guarded(step) and step.id in self.written:
            try:
                call = self.resolved(step.call)
                current = read_policy(self.caller_for(call), call)
                restore, note = plan_restore(
                    step, call, current, self.written[step.id], self.added.get(step.id)
                )
                calls = [restore] if restore is not None else []
            except (AwsError, PolicyConflict) as exc:
                error = self.describe_error(exc, step)
                calls = []
        elif lifecycle_guarded(step) and step.id in self.rules_written:
            try:
                rules_now = read_lifecycle(self.caller_for(step.call), step.call)
                restore, note = plan_lifecycle_restore(step, rules_now, self.rules_written[step.id])
                calls = [restore] if restore is not None else []
            except AwsError as exc:
                error = self.describe_error(exc, step)
                calls = []
        if note:
            self.write("policy-restore-adjusted", step_id=step.id, message=note)
            with self.lock:
                self.notes.append(note)
        for undo in calls:
            try:
                self.invoke(step, undo, rollback=True)
            except AwsError as err:
                if err.not_found:
                    # Already gone: the undo's goal is reached (an earlier, partly
                    # failed rollback, or someone cleaned up by hand).
                    continue
                error = self.describe_error(err, step)
            except Exception as exc:  # report it, and go on with the others
                error = self.describe_error(exc, step)
            if error is not None:
                error = f"{error} Undo by hand: {self.by_hand(undo)}"
                break  # later undo calls of this step assume this one worked
        with self.lock:
            if error is None:
                self.status[step.id] = "rolled-back"
            else:
                self.status[step.id] = "rollback-failed"
                self.rollback_errors[step.id] = error
        if error is None:
            self.emit("rollback-step-done", step.id, note or step.undo_summary or "nothing to undo")
        else:
            self.emit("rollback-step-failed", step.id, error)

    def trail_taken(self) -> str | None:
        """The trail's ARN when its create was refused: it exists and is someone else's."""
        with self.lock:
            refused = set(self.foreign)
        for step in self.plan.steps:
            if step.id in refused and step.call.operation == "CreateTrail":
                return self.plan.trail_arn or step.creates or step.id
        return None

    def by_hand(self, undo: Call) -> str:
        """The undo call with real ids, for a person to make."""
        try:
            params: Any = self.resolved(undo).params
        except PlaceholderError:
            params = undo.params
        return (
            f"{undo.service} {undo.operation} {json.dumps(params, default=str)} in {undo.region}"
            + (f" as account {undo.account}" if undo.account else "")
            + "."
        )

    def sweep_keys(
        self,
        step: Step,
        run_id: str,
        reason: Literal["retried", "rollback"],
        keep: str | None = None,
    ) -> SweepResult:
        """Schedule the deletion of the keys tagged with this run but ``keep`` (journalled)."""
        call = step.call

        def record(
            operation: str, params: Mapping[str, Any], result: Any, error: str | None
        ) -> None:
            self.write(
                "cleanup-call",
                step_id=step.id,
                service=call.service,
                region=call.region,
                operation=operation,
                params=params,
                result=result,
                error=error,
                rollback=reason == "rollback",
            )

        sweep = sweep_run_keys(
            self.caller_for(call),
            region=call.region,
            run_id=run_id,
            step_id=step.id,
            reason=reason,
            keep=keep,
            record=record,
        )
        with self.lock:
            self.sweeps.append(sweep)
        if sweep.orphans or sweep.error:
            self.write(
                "orphan-keys",
                step_id=step.id,
                message=_sweep_note([sweep]),
                result=sweep.model_dump(mode="json"),
                rollback=reason == "rollback",
            )
        return sweep

    def sweep_on_rollback(self) -> None:
        """Rolling back: look for duplicates of every key this run tried to create."""
        for step in self.plan.steps:
            run_id = run_tag_of(step.call.operation, step.call.params)
            with self.lock:
                started = self.attempts.get(step.id, 0) > 0
                output = self.outputs.get(step.id) or {}
            if not run_id or not started:
                continue
            keep = (output.get("KeyMetadata") or {}).get("KeyId")  # the undo schedules it
            sweep = self.sweep_keys(step, run_id, "rollback", keep)
            failed = [k for k in sweep.orphans if k.status == "failed"]
            if failed:
                error = "; ".join(
                    f"a duplicate key {k.key_id} could not be scheduled for deletion ({k.error})"
                    for k in failed
                )
                with self.lock:
                    self.status[step.id] = "rollback-failed"
                    previous = self.rollback_errors.get(step.id)
                    self.rollback_errors[step.id] = f"{previous} {error}" if previous else error

    def results(self) -> list[StepResult]:
        with self.lock:
            return [
                StepResult(
                    id=s.id,
                    status=self.status[s.id],
                    error=self.errors.get(s.id),
                    response_summary=self.summaries.get(s.id),
                    attempts=self.attempts.get(s.id, 0),
                    rollback_error=self.rollback_errors.get(s.id),
                )
                for s in self.plan.steps
            ]


def _sweep_note(sweeps: Sequence[SweepResult]) -> str:
    """What the searches for duplicate keys found, for the operator ("" when nothing)."""
    parts: list[str] = []
    scheduled = [k for s in sweeps for k in s.orphans if k.status == "scheduled"]
    if scheduled:
        parts.append(
            f"A retried CreateKey had created {len(scheduled)} extra KMS key(s) this run does "
            "not use: "
            + ", ".join(
                f"{k.arn or k.key_id} (deletion scheduled for {k.deletion_date or 'in 7 days'})"
                for k in scheduled
            )
            + "."
        )
    for k in (k for s in sweeps for k in s.orphans if k.status == "failed"):
        parts.append(
            f"An extra KMS key {k.arn or k.key_id} this run created could not be scheduled for "
            f"deletion ({k.error}); schedule it by hand: aws kms schedule-key-deletion --key-id "
            f"{k.key_id} --pending-window-in-days 7 --region {k.region}."
        )
    for s in sweeps:
        if s.error:
            parts.append(
                f"Could not look for extra KMS keys in {s.region} tagged "
                f"cloudtrail-wizard:run={s.run_id} ({s.error}); check with aws kms list-keys "
                "and aws kms list-resource-tags."
            )
    return " ".join(parts)


def _intent_fields(
    step: Step, call: Call, params: Mapping[str, Any], rollback: bool
) -> dict[str, Any]:
    """The journal fields of a call's intent."""
    fields: dict[str, Any] = {
        "step_id": step.id,
        "service": call.service,
        "region": call.region,
        "operation": call.operation,
        "params": params,
        "rollback": rollback,
    }
    if call.account is not None:
        fields["account"] = call.account
    return fields


def _stale_keys(expected: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    return sorted(k for k in {*expected, *current} if expected.get(k) != current.get(k))


def apply_plan(
    plan: Plan,
    caller: AwsCaller,
    *,
    progress: Callable[[ApplyEvent], None] | None = None,
    journal: Journal | None = None,
    cancel: threading.Event | None = None,
    check_fresh: Callable[[], dict[str, str]] | None = None,
    max_workers: int = MAX_WORKERS,
    sleep: Callable[[float], None] = time.sleep,
    retry_delays: Sequence[float] = (1, 2, 4, 8, 15),
    conflict_delays: Sequence[float] = CONFLICT_DELAYS,
    explain: Callable[[AwsError, Step], str] | None = None,
    callers: Mapping[str, AwsCaller] | None = None,
) -> ApplyReport:
    """Apply the plan; on failure or cancel, roll back everything it did.

    Args:
        plan: The plan to apply.
        caller: Makes the AWS calls (must be thread-safe).
        progress: Receives :class:`ApplyEvent` s. It is called from worker threads: a UI
            must marshal events to its own thread and return quickly. Exceptions it raises
            are ignored.
        journal: Records every call; None records nothing.
        cancel: When set, no new step starts and what was done is rolled back (Ctrl-C).
            Checked between steps; a cancel that arrives after the last step started has
            no effect.
        check_fresh: Returns the current fingerprint (same keys as ``plan.fingerprint``);
            called once before any change. Any difference refuses the plan as stale. None
            makes no such check: only for a plan made moments ago with nobody pausing
            before this call (:meth:`wizard.engine.Engine.apply` decides; the journal
            says which it was).
        max_workers: Steps run at the same time at most.
        sleep: Waits between retries (injected so tests do not sleep).
        retry_delays: Seconds to wait before each retry of a step whose error code is in
            its ``retry_on``; one retry per entry, then the step fails.
        conflict_delays: The same for the codes of :data:`CONFLICT_CODES` (another change
            to the same resource was in progress).
        explain: Turns a step's AwsError into a message for the operator (the CLI passes
            :func:`wizard.aws.session.explain_aws_error`); default "service:Op failed with
            Code: message".
        callers: Callers of other accounts, by account id: a call whose
            :attr:`~wizard.model.plan.Call.account` names another account (a central
            log-archive account's bucket policy) is made, and undone, with that account's
            caller. A plan naming an account without a caller is refused before any change.

    Returns:
        The report; apply_plan does not raise for AWS failures.

    Raises:
        OSError: the journal could not be written before the first change (nothing was
            changed).
    """
    run = _Apply(
        plan,
        caller,
        progress=progress,
        journal=journal,
        cancel=cancel,
        sleep=sleep,
        retry_delays=retry_delays,
        explain=explain or _default_explain,
        callers=callers,
        conflict_delays=conflict_delays,
    )
    journal_path = str(journal.path) if journal is not None else None

    def refuse(status: ApplyStatus, error: str, changed: Sequence[str] = ()) -> ApplyReport:
        with run.lock:
            for sid in run.status:
                run.status[sid] = "skipped"
        report = ApplyReport(
            status=status,
            steps=run.results(),
            journal_path=journal_path,
            error=error,
            message=f"Nothing was changed. {error}",
            changed=list(changed),
        )
        run.write("refused", message=error)
        return _finish(run, report)

    if plan.blocked:
        errors = [f.message for f in plan.findings if f.severity == "error"]
        return refuse("blocked", "The plan is blocked: " + " ".join(errors))
    problem = _plan_problem(plan)
    if problem:
        return refuse("blocked", f"The plan is malformed: {problem}.")
    unreachable = sorted(
        {
            c.account
            for s in plan.steps
            for c in (s.call, *s.undo)
            if c.account is not None
            and c.account != plan.account_id
            and c.account not in run.callers
        }
    )
    if unreachable:
        return refuse(
            "blocked",
            "The plan changes resources of account(s) "
            + ", ".join(unreachable)
            + " but no credentials for them were given (--log-account-profile or "
            "--log-account-role).",
        )
    if check_fresh is not None:
        try:
            current = check_fresh()
        except Exception as exc:  # unverifiable freshness refuses, it never guesses
            return refuse("stale", f"Could not check that the plan is still current: {exc}")
        changed = _stale_keys(plan.fingerprint, current)
        if changed:
            return refuse(
                "stale",
                "The account changed since the plan was made ("
                + ", ".join(changed)
                + "). Make a new plan and review it again.",
                changed,
            )

    if journal is not None:
        # Deliberately not through run.write: without a journal, nothing is changed.
        # The plan itself goes in: `recover` rebuilds the undo calls from it after a crash.
        journal.record(
            "apply-started",
            message=f"{len(plan.steps)} steps for {plan.trail_arn} in account {plan.account_id}"
            + (f" (run {plan.run_id})" if plan.run_id else "")
            + (
                "; the account was read again and matches the plan"
                if check_fresh is not None
                else "; the plan was made moments ago, with no pause before apply: not read again"
            ),
            result={"plan": plan.model_dump(mode="json")},
        )

    return _conclude(run, run.execute(max(1, max_workers)))


def _conclude(run: _Apply, cancelled: bool) -> ApplyReport:
    """After the steps ran: roll back on failure or cancel, then report."""
    plan = run.plan
    late_cancel = not cancelled and run.first_failure is None and run.cancelled()
    # A cancel that arrives while the last steps run is honoured all the same: the person
    # asked for nothing to stay, and was told the run would be rolled back.
    cancelled = cancelled or late_cancel
    failed_step = run.first_failure
    if failed_step is None and not cancelled:
        status: ApplyStatus = "applied"
        error = None
        message = f"All {len(plan.steps)} steps were applied."
    else:
        if failed_step is not None:
            step = plan.step(failed_step)
            error = f"Step '{failed_step}' ({step.summary}) failed: {run.errors[failed_step]}"
            reason = error
        else:
            error = None
            reason = "cancelled"
            run.write("cancelled", message="cancel requested; rolling back")
        run.rollback(reason)
        incomplete = bool(run.rollback_errors)
        status = (
            "rollback-incomplete"
            if incomplete
            else ("cancelled" if cancelled and failed_step is None else "rolled-back")
        )
        if incomplete:
            message = _incomplete_message(run)
        elif status == "cancelled" and late_cancel:
            message = (
                "Cancelled while the last step ran: it was let finish, then every change the "
                "run made was undone."
            )
        elif status == "cancelled":
            message = "Cancelled. Every change already made was undone."
        else:
            message = f"{error} Every change already made was undone."
    return _report(run, status, message, error)


def _incomplete_message(run: _Apply) -> str:
    failures = " ".join(f"'{sid}': {msg}" for sid, msg in sorted(run.rollback_errors.items()))
    return (
        "The rollback did not complete; these changes are still in place: "
        + failures
        + " Once the cause is fixed, `cloudtrail-wizard recover --rollback` finishes it."
    )


def _report(run: _Apply, status: ApplyStatus, message: str, error: str | None) -> ApplyReport:
    note = " ".join([*run.notes, _sweep_note(run.sweeps)]).strip()
    if note:
        message = f"{message} {note}"
    report = ApplyReport(
        status=status,
        steps=run.results(),
        outputs=dict(run.outputs),
        journal_path=str(run.journal.path) if run.journal is not None else None,
        key_sweeps=list(run.sweeps),
        error=error,
        message=message,
        journal_errors=list(run.journal_errors),
    )
    return _finish(run, report)


def _recorded_run(
    plan: Plan,
    caller: AwsCaller,
    *,
    completed: Sequence[str],
    outputs: Mapping[str, Any],
    written: Mapping[str, str],
    journal: Journal | None,
    progress: Callable[[ApplyEvent], None] | None,
    explain: Callable[[AwsError, Step], str] | None,
    callers: Mapping[str, AwsCaller] | None,
    cancel: threading.Event | None = None,
    added: Mapping[str, list[dict[str, Any]]] | None = None,
) -> _Apply:
    """An :class:`_Apply` standing where a journal left its run."""
    run = _Apply(
        plan,
        caller,
        progress=progress,
        journal=journal,
        cancel=cancel,
        sleep=time.sleep,
        retry_delays=(1, 2, 4, 8, 15),
        explain=explain or _default_explain,
        callers=callers,
    )
    with run.lock:
        for sid in completed:
            if sid in run.status and sid not in run.completed:
                run.status[sid] = "done"
                run.attempts[sid] = 1
                run.completed.append(sid)
        run.outputs.update(outputs)
        run.written.update(written)
        run.added.update(added or {})
    return run


def rollback_recorded(
    plan: Plan,
    caller: AwsCaller,
    *,
    completed: Sequence[str],
    outputs: Mapping[str, Any],
    written: Mapping[str, str],
    journal: Journal | None = None,
    progress: Callable[[ApplyEvent], None] | None = None,
    explain: Callable[[AwsError, Step], str] | None = None,
    callers: Mapping[str, AwsCaller] | None = None,
    undecided: Sequence[str] = (),
    added: Mapping[str, list[dict[str, Any]]] | None = None,
) -> ApplyReport:
    """Roll back a run a journal recorded (``recover --rollback``), as apply would have.

    Args:
        plan: The run's plan.
        caller: Makes the calls.
        completed: Steps whose change is in place, in the order they completed.
        outputs: Their responses (undo calls' placeholders are filled from them).
        written: The policy text each guarded step wrote.
        journal: The run's journal, reopened.
        progress: As for :func:`apply_plan`.
        explain: As for :func:`apply_plan`.
        callers: As for :func:`apply_plan`.
        undecided: In-flight calls whose effect could not be looked up (reported).
        added: The statements each guarded step merged into a newer text than the plan's
            (``policy-merged-again`` in the journal): only those are taken out.

    Returns:
        ``rolled-back`` or ``rollback-incomplete``.
    """
    run = _recorded_run(
        plan,
        caller,
        completed=completed,
        outputs=outputs,
        written=written,
        journal=journal,
        progress=progress,
        explain=explain,
        callers=callers,
        added=added,
    )
    with run.lock:
        for sid, status in run.status.items():
            if status == "pending":
                run.status[sid] = "skipped"
    run.rollback("recovering an unfinished run")
    if run.rollback_errors or undecided:
        message = _incomplete_message(run) if run.rollback_errors else ""
        if undecided:
            message = (
                f"{message} Could not tell whether these calls acted: {'; '.join(undecided)}. "
                "Check them by hand."
            ).strip()
        return _report(run, "rollback-incomplete", message, None)
    return _report(
        run, "rolled-back", f"Recovered: the {len(completed)} change(s) in place were undone.", None
    )


def continue_recorded(
    plan: Plan,
    caller: AwsCaller,
    *,
    completed: Sequence[str],
    outputs: Mapping[str, Any],
    written: Mapping[str, str],
    journal: Journal | None = None,
    progress: Callable[[ApplyEvent], None] | None = None,
    explain: Callable[[AwsError, Step], str] | None = None,
    callers: Mapping[str, AwsCaller] | None = None,
    cancel: threading.Event | None = None,
    added: Mapping[str, list[dict[str, Any]]] | None = None,
) -> ApplyReport:
    """Run the steps a recorded run did not complete (``recover --resume``).

    Same guarantees as :func:`apply_plan`; on failure or cancel everything the run made,
    before the interruption and now, is rolled back.
    """
    run = _recorded_run(
        plan,
        caller,
        completed=completed,
        outputs=outputs,
        written=written,
        journal=journal,
        progress=progress,
        explain=explain,
        callers=callers,
        cancel=cancel,
        added=added,
    )
    return _conclude(run, run.execute(MAX_WORKERS))


def _finish(run: _Apply, report: ApplyReport) -> ApplyReport:
    """Write the journal summary, tell the UI, and return the final report."""
    if run.journal is not None:
        try:
            run.journal.finish(
                {
                    "status": report.status,
                    "error": report.error,
                    "message": report.message,
                    "steps": {r.id: r.status for r in report.steps},
                    **(
                        {"orphan_keys": [k.model_dump(mode="json") for k in report.orphan_keys]}
                        if report.orphan_keys
                        else {}
                    ),
                }
            )
        except OSError as exc:
            report = report.model_copy(
                update={"journal_errors": [*report.journal_errors, f"summary: {exc}"]}
            )
    run.emit("finished", None, report.status)
    return report
