"""Fix a trail's failed controls: the answer changes that make them pass, each one removable.

Trail health (:mod:`wizard.health.trails`) judges each CIS / Security Hub control with the
rules of :mod:`wizard.policy.controls`; this module turns each failed control into the
change of the trail's answers (adopted with :mod:`wizard.account.adopt`) that passes it:

* CloudTrail.1: record every region; record read and write management events; stop leaving
  out KMS or RDS Data API events (three choices, one per reason).
* CloudTrail.4: turn on log file validation.
* CloudTrail.2: SSE-KMS with a new key, created in the bucket's region, rotation on (so it
  passes KMS.4 too).
* CloudTrail.7: server access logging of the log bucket into a new (or existing) bucket.
* CloudTrail.5: send events to a new CloudWatch Logs group through a new role.

Each :class:`FixChoice` says which control it passes, what changes, why and at what cost, and
carries its answer edits: a front end lists them, the person removes any, and
:func:`apply_fixes` makes the answers the usual plan is built from. What answers cannot change
(an existing key's rotation, a public bucket, a broken delivery role) is a
:class:`ManualFix` with the command to run.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable
from typing import Any

from pydantic import Field

from wizard.account.adopt import Adopted, adopt_trail
from wizard.health.trails import TrailHealth, check_health
from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext
from wizard.model.names import suggested_access_log_bucket
from wizard.policy.controls import BLOCK_PUBLIC_ACCESS_COMMAND, ControlResult
from wizard.ports import AwsCaller, AwsError

__all__ = [
    "ACCESS_LOG_PREFIX",
    "FixChoice",
    "FixPlan",
    "ManualFix",
    "TrailFixes",
    "apply_fixes",
    "fix_choices",
    "read_fixes",
]

ACCESS_LOG_PREFIX = "access-logs/"
"""Where a fix puts the log bucket's server access logs in the target bucket (the wizard's
default)."""


class FixChoice(WizardModel):
    """One change of the answers that passes a failed control; the person may remove it."""

    id: str
    """Stable identifier (``multi-region``, ``log-file-validation``, ``sse-kms`` ...)."""
    control: str
    """The control it passes (``CloudTrail.4``)."""
    label: str
    """The control's id and CIS number, as people read it."""
    title: str
    """What the control asks (``Log file validation enabled``)."""
    change: str
    """What changes, in a few words (``Turn on log file validation``)."""
    why: str
    """Why the control fails now (its reason: ``log file validation is off``)."""
    detail: str
    """What the change means: where, what it costs, what it does not do."""
    edits: dict[str, Any]
    """Answers paths (``trail.log_file_validation``) and the values they get; a section name
    replaces the whole section."""

    def sentence(self) -> str:
        """``Turn on log file validation: passes CloudTrail.4 ... (title), now why. Detail.``."""
        return f"{self.change}: {self.passes()}. {self.detail}"

    def passes(self) -> str:
        """``passes CloudTrail.4 / CIS 4.2 (v7.0) (Log file validation enabled), failed now:
        log file validation is off``."""
        return f"passes {self.label} ({self.title}), failed now: {self.why}"


class ManualFix(WizardModel):
    """A failed control the answers cannot pass: what to do by hand."""

    control: str
    """The control (``KMS.4``)."""
    label: str
    """Its id and CIS number."""
    title: str
    """What the control asks."""
    why: str
    """Why it fails now (the control's reason)."""
    how: str
    """What to do, with the AWS CLI command filled in."""


class FixPlan(WizardModel):
    """The fixes for one trail's failed controls."""

    trail: str
    """The trail's name."""
    choices: list[FixChoice] = Field(default_factory=list)
    """Answer changes, in control order."""
    manual: list[ManualFix] = Field(default_factory=list)
    """Failed controls the answers cannot pass."""
    notes: list[str] = Field(default_factory=list)
    """What else applying does (starting a stopped trail) or could not be checked."""

    @property
    def empty(self) -> bool:
        """Nothing failed: no change and nothing to do by hand."""
        return not self.choices and not self.manual


def _choice(result: ControlResult, id_: str, change: str, detail: str, **edits: Any) -> FixChoice:
    return FixChoice(
        id=id_,
        control=result.control.id,
        label=result.control.short_label,
        title=result.control.title,
        change=change,
        why=result.reason,
        detail=detail,
        edits={key.replace("__", "."): value for key, value in edits.items()},
    )


def _manual(result: ControlResult, how: str) -> ManualFix:
    return ManualFix(
        control=result.control.id,
        label=result.control.short_label,
        title=result.control.title,
        why=result.reason,
        how=how,
    )


def _fill(template: str, health: TrailHealth) -> str:
    f = health.facts
    return template.format(arn=f.arn, home=f.home_region, bucket=f.bucket, key=f.kms_key_arn)


def _multi_region(answers: Answers, health: TrailHealth, result: ControlResult) -> list[Any]:
    f = health.facts
    out: list[Any] = []
    if not f.multi_region:
        out.append(
            _choice(
                result,
                "multi-region",
                "Record every region (multi-region trail)",
                f"The trail gets a copy in every enabled region, and in regions enabled later; "
                f"its home stays {f.home_region}. The first copy of management events in each "
                "region is free; a second trail recording them there is charged.",
                trail__multi_region=True,
                trail__include_global_events=True,
            )
        )
    if f.management_events not in (None, "all"):
        out.append(
            _choice(
                result,
                "management-events",
                "Record read and write management events",
                f"Now {f.management_events}; both are what an audit needs (who looked, who "
                "changed). Management events are free for the first trail.",
                events__management="all",
            )
        )
    if f.excluded_sources:
        out.append(
            _choice(
                result,
                "excluded-sources",
                "Stop leaving out " + " and ".join(f.excluded_sources) + " events",
                "These high-volume sources (KMS Decrypt, RDS Data API calls) are then recorded "
                "too: more events to store and analyse.",
                events__exclude_sources=[],
            )
        )
    return out


def _s3_object_events(answers: Answers, health: TrailHealth, result: ControlResult) -> list[Any]:
    """One more S3 data selector for every bucket: writes (CIS 4.8), reads (4.9) or both.

    When both controls fail, one selector for reads and writes passes both (the fix is
    listed once, under S3.22): two fixes would each replace events.data with a list that
    lacks the other's selector.
    """
    failed = {c.control.id for c in health.controls if c.status == "fail"}
    both = {"S3.22", "S3.23"} <= failed
    if both and result.control.id == "S3.23":
        return []
    side = "all" if both else ("write" if result.control.id == "S3.22" else "read")
    data = [d.model_dump(mode="json") for d in answers.events.data]
    data.append({"type": "s3", "resources": "all", "read_write": side})
    what = {"all": "reads and writes", "write": "writes", "read": "reads"}[side]
    return [
        _choice(
            result,
            "s3-object-events",
            f"Record S3 object {what} of every bucket"
            + (" (passes S3.23 / CIS 4.9 too)" if both else ""),
            "A data event selector for every bucket, current and future, leaving out the "
            "trail's own log buckets (recording its own deliveries would loop). Data events "
            "are charged per event (about $0.10 per 100,000): a busy bucket can cost more "
            "than the trail itself.",
            events__data=data,
        )
    ]


def _encryption(
    answers: Answers, health: TrailHealth, result: ControlResult, bucket_region: str | None
) -> list[Any]:
    where = bucket_region or health.facts.bucket_region or health.facts.home_region
    alias = answers.encryption.alias or f"alias/cloudtrail-{answers.trail.name}"
    return [
        _choice(
            result,
            "sse-kms",
            f"Encrypt log files with a new KMS key ({alias})",
            f"The key is created in {where}, the bucket's region (CloudTrail needs it there), "
            "with yearly rotation on (KMS.4) and a policy that lets CloudTrail encrypt this "
            "account's log files. Only files delivered from now on are encrypted with it; "
            "the files already there stay as they are. Whoever reads the logs then also "
            "needs kms:Decrypt on the key. A key costs about $1 a month plus requests.",
            encryption={"type": "sse-kms", "key": "new", "rotation": True},
        )
    ]


def _access_logging(
    answers: Answers, health: TrailHealth, result: ControlResult, owned: Collection[str]
) -> list[Any]:
    bucket = answers.bucket
    if bucket.account is not None:
        return [
            _manual(
                result,
                f"The log bucket {bucket.name} belongs to account {bucket.account}: only its "
                "owner can turn on its server access logging, " + _fill(result.control.fix, health),
            )
        ]
    target = suggested_access_log_bucket(bucket.name)
    exists = target in owned
    where = "the existing bucket" if exists else "a new bucket"
    return [
        _choice(
            result,
            "access-logging",
            f"Log requests to the log bucket into {where} {target}",
            f"S3 server access logs record who read or deleted log files; they go under "
            f"{ACCESS_LOG_PREFIX} in {target}"
            + (
                ", whose policy gets S3 log delivery's statement merged in."
                if exists
                else ", created beside the log bucket with the same hardening."
            )
            + " Delivering them is free; storing them costs a little.",
            bucket__access_logs={
                "bucket": target,
                "prefix": ACCESS_LOG_PREFIX,
                "create": not exists,
            },
        )
    ]


def _cloudwatch(answers: Answers, health: TrailHealth, result: ControlResult) -> list[Any]:
    f = health.facts
    if f.log_group_arn:
        problem = f.cw_problem or f.latest_cloudwatch_logs_delivery_error or result.reason
        return [
            _manual(
                result,
                f"The trail already sends events to {f.log_group_arn}, but {problem}. Fix the "
                f"delivery role {f.cw_role_arn or '(none)'}: it must trust "
                "cloudtrail.amazonaws.com and allow logs:CreateLogStream and "
                "logs:PutLogEvents on the log group.",
            )
        ]
    group = f"aws-cloudtrail-logs-{answers.trail.name}"
    return [
        _choice(
            result,
            "cloudwatch-logs",
            f"Send events to a new CloudWatch Logs group {group}",
            "For metric filters and alarms (the CIS monitoring items). The wizard creates the "
            "group (events kept 365 days) and a role only CloudTrail may assume, allowed to "
            "write to that group alone. CloudWatch Logs charges for ingesting and storing "
            "the events.",
            cloudwatch_logs={"log_group": group, "retention_days": 365},
        )
    ]


def fix_choices(
    answers: Answers,
    health: TrailHealth,
    *,
    bucket_region: str | None = None,
    owned_buckets: Collection[str] = (),
) -> FixPlan:
    """The fixes for a trail's failed controls (pure).

    Args:
        answers: The trail's answers as they are (adopted).
        health: The trail's health: its facts and judged controls.
        bucket_region: The log bucket's region (a new key is created there).
        owned_buckets: This account's buckets: an access log bucket by the suggested name
            that exists already is used, not created.

    Returns:
        One :class:`FixChoice` per change (in control order), the failed controls answers
        cannot pass, and notes.
    """
    plan = FixPlan(trail=answers.trail.name)
    choices: list[FixChoice] = []
    manual: list[ManualFix] = []
    notes: list[str] = []
    f = health.facts
    if f.is_logging is False:
        notes.append(
            f"Trail {f.name} is not logging: applying the fixes starts it (StartLogging), "
            "which CloudTrail.1 needs too."
        )
    for result in health.controls:
        if result.status == "unknown":
            notes.append(
                f"{result.control.short_label} ({result.control.title}) could not be "
                f"checked: {result.reason}."
            )
            continue
        if result.status != "fail":
            continue
        found: list[Any]
        spec = result.control
        if spec.id == "CloudTrail.1":
            found = _multi_region(answers, health, result)
        elif spec.id == "CloudTrail.4":
            found = [
                _choice(
                    result,
                    "log-file-validation",
                    "Turn on log file validation",
                    "CloudTrail then writes a signed digest file every hour, so you can prove "
                    "no log file was changed or deleted (`cloudtrail-wizard validate`). It is "
                    "free; files delivered before stay without digests.",
                    trail__log_file_validation=True,
                )
            ]
        elif spec.id == "CloudTrail.2":
            found = _encryption(answers, health, result, bucket_region)
        elif spec.id == "CloudTrail.7":
            found = _access_logging(answers, health, result, owned_buckets)
        elif spec.id == "CloudTrail.5":
            found = _cloudwatch(answers, health, result)
        elif spec.id in ("S3.22", "S3.23"):
            found = _s3_object_events(answers, health, result)
        elif spec.id == "CloudTrail.6":
            found = [
                _manual(
                    result,
                    "Remove the public grant or statement (the wizard never writes one), and "
                    "turn on all four Block Public Access settings: "
                    + BLOCK_PUBLIC_ACCESS_COMMAND.format(bucket=f.bucket),
                )
            ]
        else:
            # KMS.4 on an existing key, and any control without an answer for it: the
            # control's own fix, filled in.
            found = [_manual(result, _fill(spec.fix, health))]
        for item in found:
            (choices if isinstance(item, FixChoice) else manual).append(item)
    return plan.model_copy(update={"choices": choices, "manual": manual, "notes": notes})


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    section, _, key = path.partition(".")
    if not key:
        data[section] = copy.deepcopy(value)
        return
    data.setdefault(section, {})[key] = copy.deepcopy(value)


def apply_fixes(answers: Answers, choices: Iterable[FixChoice]) -> Answers:
    """The answers with the chosen fixes' edits made (in order).

    Raises:
        pydantic.ValidationError: the edits make invalid answers (a fix contradicting a
            change the person made: the message names the field).
    """
    data = answers.model_dump(mode="json")
    for choice in choices:
        for path, value in choice.edits.items():
            _set(data, path, value)
    return Answers.model_validate(data)


class TrailFixes(WizardModel):
    """A trail read for fixing: its answers as they are, its health, and the fixes."""

    adopted: Adopted
    """The trail as answers (what the fixes change)."""
    health: TrailHealth
    """Its controls as judged now."""
    fixes: FixPlan
    """The fixes for its failed controls."""

    def fixed(self, chosen: Iterable[str] | None = None) -> Answers:
        """The answers with the fixes of ids ``chosen`` made (None: every fix)."""
        wanted = None if chosen is None else set(chosen)
        return apply_fixes(
            self.adopted.answers,
            [c for c in self.fixes.choices if wanted is None or c.id in wanted],
        )


def read_fixes(
    caller: AwsCaller,
    ctx: AccountContext,
    trail: str,
    *,
    strict_region: bool = False,
    callers: dict[str, AwsCaller] | None = None,
) -> TrailFixes:
    """Read a trail (health and answers, read-only) and derive the fixes of its controls.

    Raises:
        wizard.account.adopt.AdoptError: the trail cannot be adopted (see
            :func:`~wizard.account.adopt.adopt_trail`).
    """
    adopted = adopt_trail(caller, ctx, trail, strict_region=strict_region, callers=callers)
    report = check_health(caller, ctx.region, trail=adopted.trail_arn)
    health = report.trails[0]
    try:
        owned = [
            str(b.get("Name")) for b in caller.paginate("s3", ctx.region, "ListBuckets", "Buckets")
        ]
    except AwsError:
        owned = []  # the plan's preflight says whether a new bucket's name is free
    fixes = fix_choices(
        adopted.answers, health, bucket_region=adopted.bucket_region, owned_buckets=owned
    )
    return TrailFixes(adopted=adopted, health=health, fixes=fixes)
