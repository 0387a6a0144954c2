"""What a lab is made of: its text, the state it starts from, and the checks that judge it.

A lab is data (a YAML file, see :mod:`wizard.labs.load` and the trainers' guide). Each
model here is one section of that file; unknown keys are refused (a misspelt key is an
error that names it), and each setup step and check says which of its fields its ``kind``
needs, so a lab that cannot work is refused when it is loaded, not in front of a class.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from wizard.model.base import WizardModel

LAB_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""A lab's id: lower-case letters, digits and hyphens (``01-permissions``)."""

CHECK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""A check's id, unique within its lab."""

PLACEHOLDERS = ("{account}", "{region}", "{partition}")
"""What a lab's names and documents may contain, filled in from the sandbox's account."""

SetupKind = Literal[
    "bucket", "bucket_policy", "key", "trail", "identity", "calls", "deliver", "tamper"
]
"""What one setup step does (see :class:`SetupSpec`)."""

CheckKind = Literal[
    "trail_logging",
    "trail_delivers",
    "trail_bucket",
    "trail_prefix",
    "bucket_policy_allows",
    "bucket_policy_generated",
    "statements_kept",
    "control",
    "trail_encrypted",
    "key_in_bucket_region",
    "key_decrypt_scoped",
    "made_by",
    "files_under_prefix",
    "answer_log_location",
    "answer_tampered_file",
    "answer_event_id",
    "answer_missing_action",
]
"""What one check verifies (see :class:`CheckSpec`)."""

# The fields each kind needs and the ones it may take besides (``kind``, ``id`` and
# ``title`` always). A lab that gives a field its kind does not use is refused: the trainer
# meant something by it.
SETUP_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "bucket": (frozenset({"name"}), frozenset({"region", "policy"})),
    "bucket_policy": (frozenset({"bucket", "policy"}), frozenset()),
    "key": (frozenset({"alias"}), frozenset({"region", "policy", "rotation"})),
    "trail": (
        frozenset({"name", "bucket"}),
        frozenset({"region", "prefix", "key", "validation", "multi_region", "logging"}),
    ),
    "identity": (frozenset({"name"}), frozenset({"managed", "inline", "use"})),
    "calls": (frozenset({"calls"}), frozenset({"identity"})),
    "deliver": (frozenset(), frozenset()),
    "tamper": (frozenset({"trail"}), frozenset()),
}
CHECK_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "trail_logging": (frozenset({"trail"}), frozenset()),
    "trail_delivers": (frozenset({"trail"}), frozenset()),
    "trail_bucket": (frozenset({"trail"}), frozenset({"bucket", "not_buckets"})),
    "trail_prefix": (frozenset({"trail", "prefix"}), frozenset()),
    "bucket_policy_allows": (frozenset({"trail"}), frozenset()),
    "bucket_policy_generated": (frozenset({"trail"}), frozenset()),
    "statements_kept": (frozenset({"trail", "setup"}), frozenset()),
    "control": (frozenset({"trail", "control"}), frozenset()),
    "trail_encrypted": (frozenset({"trail"}), frozenset({"encryption"})),
    "key_in_bucket_region": (frozenset({"trail"}), frozenset()),
    "key_decrypt_scoped": (frozenset({"trail", "readers"}), frozenset()),
    "made_by": (frozenset({"event", "user"}), frozenset({"trail"})),
    "files_under_prefix": (frozenset({"trail"}), frozenset()),
    "answer_log_location": (frozenset({"trail"}), frozenset()),
    "answer_tampered_file": (frozenset({"trail"}), frozenset()),
    "answer_event_id": (frozenset({"trail", "event"}), frozenset({"user"})),
    "answer_missing_action": (frozenset({"user"}), frozenset({"trail", "bucket"})),
}


def _check_fields(
    kind: str,
    given: set[str],
    table: dict[str, tuple[frozenset[str], frozenset[str]]],
    noun: str,
) -> None:
    required, optional = table[kind]
    missing = sorted(required - given)
    if missing:
        raise ValueError(
            f"a {kind} {noun} needs {', '.join(missing)}: add "
            + ", ".join(f"{m}:" for m in missing)
            + " to it."
        )
    extra = sorted(given - required - optional)
    if extra:
        takes = sorted(required | optional)
        raise ValueError(
            f"a {kind} {noun} does not use {', '.join(extra)}: remove "
            + ("it" if len(extra) == 1 else "them")
            + (f" (it takes {', '.join(takes)})." if takes else " (it takes no fields).")
        )


class ApiCall(WizardModel):
    """One AWS call a ``calls`` setup step makes (its API operation name and parameters)."""

    service: str
    """The boto3 service name: ``s3``, ``cloudtrail``, ``kms``, ``iam``, ``sts``."""
    operation: str
    """The API operation as AWS names it: ``ListBuckets``, ``DescribeTrails``."""
    region: str | None = None
    """The region (default: the sandbox's region)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """The operation's parameters, as the API names them."""


class SetupSpec(WizardModel):
    """One step of a lab's starting state, applied in order after the demo account is reset.

    ``kind`` says what the step does and which other fields it uses:

    * ``bucket``: create bucket ``name`` in ``region``, with ``policy`` if given.
    * ``bucket_policy``: replace the policy of ``bucket`` with ``policy`` (to break one).
    * ``key``: create a KMS key with alias ``alias`` in ``region``, with ``policy`` if given
      (else the default key policy), and ``rotation`` on if asked.
    * ``trail``: create trail ``name`` delivering to ``bucket`` (with ``prefix``, ``key``,
      ``validation``, ``multi_region``) and start it unless ``logging`` is false.
    * ``identity``: create sandbox user ``name`` with ``managed`` policies and ``inline``
      ones; ``use`` makes the trainee's ``--sandbox`` commands act as it.
    * ``calls``: make the AWS ``calls`` listed (as ``identity`` if given).
    * ``deliver``: deliver every trail's log and digest files now.
    * ``tamper``: change one delivered log file of ``trail``, chosen at random.

    Names and policy documents may use ``{account}``, ``{region}`` and ``{partition}``.
    """

    kind: SetupKind
    """What the step does."""
    id: str | None = None
    """A name checks can refer to (``statements_kept`` names the bucket step it keeps)."""
    name: str | None = None
    """The bucket, trail or user name."""
    alias: str | None = None
    """The key's alias (``alias/...``)."""
    region: str | None = None
    """Where the resource is created (default: the sandbox's region)."""
    bucket: str | None = None
    """The bucket a trail delivers to, or whose policy is replaced."""
    prefix: str | None = None
    """The trail's S3 key prefix."""
    key: str | None = None
    """The trail's KMS key, by alias."""
    policy: dict[str, Any] | None = None
    """A bucket or key policy document."""
    rotation: bool | None = None
    """Turn on the key's automatic rotation."""
    validation: bool | None = None
    """Turn on the trail's log file validation (digest files)."""
    multi_region: bool | None = None
    """Make the trail record every region."""
    logging: bool | None = None
    """Start the trail (default true)."""
    managed: list[str] | None = None
    """Managed policies to attach to the user, by name (``AWSCloudTrail_ReadOnlyAccess``) or
    ARN."""
    inline: dict[str, dict[str, Any]] | None = None
    """Inline policies of the user, by policy name."""
    use: bool | None = None
    """Act as this user in the trainee's ``--sandbox`` commands from now on."""
    calls: list[ApiCall] | None = None
    """The calls a ``calls`` step makes."""
    identity: str | None = None
    """The user (made by an earlier ``identity`` step) the calls are made as."""
    trail: str | None = None
    """The trail whose log file a ``tamper`` step changes."""

    @model_validator(mode="after")
    def _fields_of_kind(self) -> SetupSpec:
        given = {k for k in self.model_fields_set if k not in ("kind", "id")}
        _check_fields(self.kind, given, SETUP_FIELDS, "step")
        if self.alias is not None and not self.alias.startswith("alias/"):
            raise ValueError(f"alias must start with alias/ (alias/{self.alias}).")
        return self


class CheckSpec(WizardModel):
    """One automatic check of a lab: read-only, it passes or fails with the reason why.

    ``kind`` says what is checked and which other fields it uses; see the trainers' guide
    for the list. Checks whose kind starts with ``answer_`` judge the answer the trainee
    gives (``lab check --answer TEXT``) against what the sandbox holds.
    """

    id: str
    """Unique within the lab (lower case, digits, hyphens)."""
    title: str
    """What it checks, for people (``The trail is logging``)."""
    kind: CheckKind
    """What is checked."""
    trail: str | None = None
    """The trail checked, by name."""
    bucket: str | None = None
    """The bucket the trail must deliver to."""
    not_buckets: list[str] | None = None
    """Buckets the trail must not deliver to (the ones that were there before)."""
    prefix: str | None = None
    """The S3 key prefix the trail must have."""
    setup: str | None = None
    """The id of the ``bucket`` setup step whose policy statements must still be there."""
    control: str | None = None
    """A control id (``CloudTrail.2``) that must pass."""
    encryption: Literal["any", "sse-s3", "sse-kms"] | None = None
    """Which encryption the trail's files must have (default any)."""
    readers: list[str] | None = None
    """Principal ARNs that must be able to decrypt the trail's files (no one else may)."""
    event: str | None = None
    """An event name (``CreateTrail``)."""
    user: str | None = None
    """A sandbox user name."""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not CHECK_ID.match(value):
            raise ValueError(
                f"{value!r} is not a check id: use lower-case letters, digits and hyphens "
                "(trail-logging)."
            )
        return value

    @model_validator(mode="after")
    def _fields_of_kind(self) -> CheckSpec:
        given = {k for k in self.model_fields_set if k not in ("kind", "id", "title")}
        _check_fields(self.kind, given, CHECK_FIELDS, "check")
        return self

    @property
    def takes_answer(self) -> bool:
        """Whether the check judges the trainee's answer."""
        return self.kind.startswith("answer_")


class IdentitySpec(WizardModel):
    """The sandbox user the trainee acts as while doing the lab."""

    name: str
    """The user's name."""
    managed: list[str] = Field(default_factory=list)
    """Managed policies attached to it, by name or ARN."""
    inline: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Inline policies, by name."""


class Lab(WizardModel):
    """One lab: the state it starts from, what to do, hints, checks and what it taught."""

    id: str
    """The lab's slug (``01-permissions``); ``lab start`` takes it."""
    title: str
    """One line (``Permissions: read-only is not enough``)."""
    order: int = 1000
    """Its place in the course (bundled labs are 1 to 10; a trainer's come after unless
    numbered)."""
    summary: str
    """One or two sentences for the list of labs."""
    goal: str
    """What the trainee must achieve, shown when the lab starts."""
    hints: list[str] = Field(default_factory=list)
    """Revealed one at a time (``lab hint``)."""
    explanation: str
    """Shown when every check passes: what the lab taught."""
    setup: list[SetupSpec] = Field(default_factory=list)
    """The starting state, applied in order after the sandbox is reset to the demo account."""
    identity: IdentitySpec | None = None
    """The sandbox user the trainee acts as (None: the account's administrator)."""
    checks: list[CheckSpec] = Field(min_length=1)
    """The automatic checks; the lab is done when they all pass."""
    source: str = ""
    """Where the lab was read from (filled in by the loader)."""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not LAB_ID.match(value):
            raise ValueError(
                f"{value!r} is not a lab id: use lower-case letters, digits and hyphens, "
                "up to 63 characters (01-permissions)."
            )
        return value

    @model_validator(mode="after")
    def _references(self) -> Lab:
        ids = [c.id for c in self.checks]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"check ids must be unique; {', '.join(twice)} is used twice.")
        steps = {s.id: s for s in self.setup if s.id}
        for check in self.checks:
            if check.setup is not None:
                step = steps.get(check.setup)
                if step is None or step.kind != "bucket" or step.policy is None:
                    raise ValueError(
                        f"check {check.id} names setup {check.setup!r}, which is not a bucket "
                        "step with a policy: give that step id: "
                        f"{check.setup} (or fix the name)."
                    )
        return self

    @property
    def takes_answer(self) -> bool:
        """Whether any check judges an answer (``lab check --answer TEXT``)."""
        return any(c.takes_answer for c in self.checks)

    @property
    def number(self) -> str:
        """The leading number of the id (``01``), or empty."""
        head = self.id.split("-", 1)[0]
        return head if head.isdigit() else ""


class CheckResult(WizardModel):
    """The outcome of one check."""

    id: str
    """The check's id."""
    title: str
    """The check's title."""
    passed: bool
    """Whether it passed."""
    reason: str
    """Why it passed or failed, and what to do about a failure."""


class LabProgress(WizardModel):
    """Where a trainee is (``lab.json`` in their sandbox home)."""

    lab: str | None = None
    """The lab started (its id), None before any."""
    started: datetime | None = None
    """When it was started (UTC)."""
    hints_shown: int = 0
    """How many hints were revealed."""
    attempts: int = 0
    """How many times the checks ran."""
    checks: list[CheckResult] = Field(default_factory=list)
    """The latest checks' outcomes."""
    passed: bool = False
    """Every check passed (at least once)."""
    finished: datetime | None = None
    """When every check first passed."""
    trainee: str | None = None
    """The trainee's name, when a class gave one."""


def fill(value: Any, account: str, region: str, partition: str = "aws") -> Any:
    """``value`` with ``{account}``, ``{region}`` and ``{partition}`` filled in (recursively
    in lists and mappings; other braces, such as IAM's ``${aws:username}``, are left as they
    are)."""
    if isinstance(value, str):
        return (
            value.replace("{account}", account)
            .replace("{region}", region)
            .replace("{partition}", partition)
        )
    if isinstance(value, list):
        return [fill(v, account, region, partition) for v in value]
    if isinstance(value, dict):
        return {
            fill(k, account, region, partition): fill(v, account, region, partition)
            for k, v in value.items()
        }
    return value
