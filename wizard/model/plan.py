"""The plan: planned AWS changes as data.

Preview, dry-run, export and apply all consume the same :class:`Plan`. A step is one AWS API
call (service, region, operation, parameters) with a human summary, what it creates or
changes, what it depends on, and the calls that undo it. Values only known while applying
(the id of a key created a moment ago) are written as placeholders ``${step-id:Path.To}``
that the executor fills from earlier steps' responses.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from wizard.model.base import WizardModel
from wizard.model.cost import CostEstimate
from wizard.model.landing import OrganizationTrail

PLACEHOLDER = re.compile(r"^\$\{(?P<step>[a-z0-9-]+):(?P<path>[A-Za-z0-9_.\[\]]+)\}$")
"""A parameter value that refers to a field of an earlier step's response."""

Chain = Literal["bucket", "key", "topic", "logs", "trail"]
"""Independent groups of steps: different chains may run concurrently."""


class Call(WizardModel):
    """One AWS API call."""

    service: str
    """boto3 service name (s3, kms, cloudtrail, sns, logs, iam)."""
    region: str
    """Region the call is sent to."""
    operation: str
    """API operation in PascalCase (CreateBucket)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Request parameters; may hold placeholders."""
    account: str | None = None
    """Account whose credentials make the call (a central log-archive account); None: the
    plan's own account."""


class PolicyChange(WizardModel):
    """A policy document a step writes, with what was there before."""

    kind: Literal["bucket", "key", "topic", "role-trust", "role-permissions", "access-log-bucket"]
    """Which policy."""
    resource: str
    """The resource (ARN or name) the policy is attached to."""
    before: str | None
    """The exact previous document, None when there was none (a new resource)."""
    after: str
    """The document the step writes."""
    diff: str = ""
    """Unified diff before -> after (empty for a new resource)."""
    added_sids: list[str] = Field(default_factory=list)
    """Sids of the statements the wizard adds."""
    replaced: list[dict[str, Any]] = Field(default_factory=list)
    """Statements the write takes out because the added ones replace them: the wizard's
    earlier version of a statement for this trail only (the write grant of an old prefix).
    A guarded write takes them out of a colleague's newer text too; a rollback that cannot
    restore the exact previous text puts them back."""
    new_resource: bool = False
    """True when this plan creates the resource: nobody else can have edited its policy, so
    apply writes it without reading it again first."""


class SettingChange(WizardModel):
    """One setting an update step changes: what it is now and what the answers want.

    The values are words for people (``on``, ``off``, ``(none)``, a name or an ARN), so
    preview, dry-run, export and apply show the same "current -> wanted" line.
    """

    name: str
    """The setting (``log file validation``, ``S3 key prefix``)."""
    current: str
    """What it is now."""
    wanted: str
    """What the answers want."""


NONE_SHOWN = "(none)"
"""How an absent value (no prefix, no topic, no key) is shown in a :class:`SettingChange`."""


class Step(WizardModel):
    """One planned change."""

    id: str
    """Stable identifier (``create-bucket``)."""
    call: Call
    """The API call that makes the change."""
    summary: str
    """One line a person can read (``Create bucket acme-logs in us-east-1``)."""
    chain: Chain
    """Independent group this step belongs to."""
    creates: str | None = None
    """Resource the step creates (ARN or name), None for changes to existing ones."""
    changes: str | None = None
    """Existing resource whose configuration the step changes."""
    depends_on: list[str] = Field(default_factory=list)
    """Steps that must succeed first."""
    undo: list[Call] = Field(default_factory=list)
    """Calls that reverse the step, in order; empty when nothing needs undoing."""
    undo_summary: str = ""
    """How the step is undone, for people."""
    policy: PolicyChange | None = None
    """The policy the step writes, for preview and diff."""
    retry_on: list[str] = Field(default_factory=list)
    """Error codes that mean "not yet propagated": retried with bounded backoff."""
    mutating: bool = True
    """False for the few read calls the plan needs (none so far)."""
    settings: list[SettingChange] = Field(default_factory=list)
    """For a change to an existing resource: every setting it changes, current -> wanted
    (empty for a create, whose settings are all new)."""


class Finding(WizardModel):
    """Something preflight found: errors block apply."""

    severity: Literal["error", "warning", "info"]
    """error blocks apply; warning and info explain."""
    code: str
    """Stable code (``kms-region-mismatch``)."""
    message: str
    """What is wrong and how to fix it."""
    subject: str | None = None
    """The resource or setting at fault."""
    statement: dict[str, Any] | None = None
    """The policy statement at fault or to add, when relevant."""
    controls: list[str] = Field(default_factory=list)
    """Compliance controls involved (CIS / FSBP / checkov ids)."""


_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def by_severity(findings: list[Finding]) -> list[Finding]:
    """Errors first, then warnings, then notes; stable within each severity."""
    return sorted(findings, key=lambda f: _SEVERITY_ORDER[f.severity])


ResourceKind = Literal["trail", "bucket", "access-log-bucket", "key", "topic", "log-group", "role"]
"""The resources a plan compares with the answers."""


class ResourceState(WizardModel):
    """How one resource the answers name compares with what exists (desired state)."""

    kind: ResourceKind
    """Which resource."""
    resource: str
    """Its ARN or name."""
    status: Literal["create", "update", "unchanged", "use"]
    """create: it does not exist yet; update: it exists and some settings differ (the
    plan's steps that change it say which); unchanged: it exists and matches the answers;
    use: it exists and is used as it is (never changed by the wizard, such as a log group
    or a role given by ARN)."""
    detail: str = ""
    """What was compared, or why it is used as it is, for people."""


class Plan(WizardModel):
    """Everything apply needs, and everything preview and dry-run show."""

    account_id: str
    """Account the plan was made for."""
    partition: str
    """ARN partition."""
    home_region: str
    """Trail home region."""
    trail_arn: str
    """ARN of the trail being created or updated."""
    steps: list[Step]
    """Ordered steps (dependencies always come first)."""
    findings: list[Finding] = Field(default_factory=list)
    """Preflight findings."""
    policies: dict[str, Any] = Field(default_factory=dict)
    """Every policy document (PolicySet fields), merged where merged."""
    fingerprint: dict[str, str] = Field(default_factory=dict)
    """Hashes of what discovery saw; apply refuses when they changed (stale plan)."""
    run_id: str | None = None
    """This plan's run: every KMS key it creates is tagged with it
    (:data:`wizard.model.names.RUN_TAG`), so a key created twice by a retried request can be
    found and removed. None for plans that are only shown or exported."""
    resources: list[ResourceState] = Field(default_factory=list)
    """Every resource the answers name, compared with what exists (desired state): what is
    created, updated, unchanged or used as it is. An offline plan (made without looking at
    the account) assumes the resources it creates do not exist yet."""
    cost: CostEstimate | None = None
    """What the trail will cost a month, choice by choice (:mod:`wizard.plan.cost`); None
    when not estimated (an offline plan)."""
    trail_settings: dict[str, Any] = Field(default_factory=dict)
    """The trail as the plan leaves it: CreateTrail's parameters as the answers want them
    (placeholders for what the plan creates) and the selectors PutEventSelectors would send.
    A plan that updates an existing trail sends only what differs, so its compliance
    controls are judged on this (:func:`wizard.policy.controls.planned_facts`)."""
    organization_trails: list[OrganizationTrail] = Field(default_factory=list)
    """Organization trails of the management account that already record this account
    (AWS Control Tower's, the Landing Zone Accelerator's, any other): where they deliver and
    what they record, as far as this account can read them."""

    @property
    def unchanged(self) -> bool:
        """True when the account already matches the answers: nothing to change, nothing blocks."""
        return not self.steps and not self.blocked

    @property
    def updates_trail(self) -> bool:
        """True when the trail exists and the plan updates (or keeps) it instead of creating it."""
        return any(
            r.kind == "trail" and r.status in ("update", "unchanged") for r in self.resources
        )

    @property
    def blocked(self) -> bool:
        """True when an error finding blocks apply."""
        return any(f.severity == "error" for f in self.findings)

    def step(self, step_id: str) -> Step:
        """The step with this id."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)
