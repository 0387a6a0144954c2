"""StackSet export: the member accounts' template, the deployment settings and the central
statements, for AWS's own fan-out to every account of some OUs (pure).

A service-managed StackSet with automatic deployment is how AWS puts the same stack into
hundreds or thousands of accounts, including accounts that join an OU later. What each member
account needs is a trail delivering to the central (log-archive) bucket, so the member
template is the CloudFormation export's
(:func:`wizard.export.cloudformation.cloudformation_template`) for answers that deliver to a
bucket in another account, with every name a parameter (the
central bucket and key among them). What the central account needs is said once, for the whole
organization (:mod:`wizard.policy.stacksets`): the bucket and key statements name the
organization (``aws:SourceOrgID``) and the trail's name, so an account that joins an OU is
covered without a policy change.

:func:`stack_set_inputs` gives the ``CreateStackSet`` and ``CreateStackInstances`` parameters
that ``onboard --engine stacksets`` sends and the export writes (``aws cloudformation
create-stack-set --cli-input-json``), so both say the same.

No AWS call happens here, and the same answers and options always give the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

import yaml
from pydantic import Field, field_validator

from wizard.export.cloudformation import cloudformation_template
from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext
from wizard.model.names import RUN_TAG, classify_key_ref
from wizard.policy.operator import stackset_operator_policy
from wizard.policy.policies import VERSION, Statement
from wizard.policy.stacksets import organization_bucket_statements, organization_key_statements

__all__ = [
    "MANAGED_TAG",
    "OU_PATTERN",
    "StackSetOptions",
    "StackSetProblem",
    "central_key_arn",
    "check_answers",
    "default_stack_set_name",
    "member_template",
    "operation_preferences",
    "organization_statements",
    "run_tags",
    "stack_set_files",
    "stack_set_inputs",
    "template_parameters",
]

MANAGED_TAG = "cloudtrail-wizard:stackset"
"""Tag every StackSet the wizard creates carries (value: the trail's name): a StackSet
without it is never updated or deleted by the wizard."""

OU_PATTERN = re.compile(r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$")
"""An organizational unit id (``ou-abcd-12345678``) or the organization's root (``r-abcd``)."""

_NAME = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$")


class StackSetProblem(ValueError):
    """The answers (or options) cannot be deployed with a StackSet; the message says why and
    what to do instead."""


class StackSetOptions(WizardModel):
    """How the StackSet is deployed: where, how fast, and who calls."""

    organization_id: str
    """The organization (o-...): the central statements name it."""
    organizational_units: list[str] = Field(min_length=1)
    """The OUs (or the root) whose accounts get the trail, now and when they join."""
    regions: list[str] = Field(min_length=1)
    """Where each account gets a stack instance (one for a multi-region trail)."""
    name: str
    """The StackSet's name."""
    retain_stacks_on_removal: bool = False
    """Keep an account's stack (and trail) when it leaves the OUs (AutoDeployment)."""
    max_concurrent_percentage: int = Field(default=25, ge=1, le=100)
    """Share of an OU's accounts deployed at once, per region."""
    failure_tolerance_percentage: int = Field(default=0, ge=0, le=100)
    """Share of accounts that may fail, per region, before the operation stops (0: the first
    failure stops it)."""
    call_as: Literal["SELF", "DELEGATED_ADMIN"] = "SELF"
    """SELF from the management account, DELEGATED_ADMIN from a delegated administrator."""
    readers: list[str] = Field(default_factory=list)
    """Principals that may decrypt the log files with the central key."""

    @field_validator("organizational_units")
    @classmethod
    def _ous(cls, value: list[str]) -> list[str]:
        for ou in value:
            if not OU_PATTERN.match(ou):
                raise ValueError(
                    f"'{ou}' is not an organizational unit id: use ou-xxxx-xxxxxxxx (or the "
                    "root, r-xxxx); `aws organizations list-organizational-units-for-parent` "
                    "lists them."
                )
        return sorted(dict.fromkeys(value))

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"'{value}' is not a StackSet name: a letter, then letters, digits and '-' "
                "(at most 128)."
            )
        return value


def default_stack_set_name(answers: Answers) -> str:
    """``cloudtrail-<trail name>``, with what a StackSet name does not allow made ``-``."""
    name = re.sub(r"[^-a-zA-Z0-9]", "-", f"cloudtrail-{answers.trail.name}")
    return name[:128]


def central_key_arn(answers: Answers) -> str | None:
    """The central key's ARN, when the trails encrypt with an existing key given by ARN."""
    ref = answers.encryption.existing_key
    if ref is None:
        return None
    parsed = classify_key_ref(ref)
    if isinstance(parsed, str) or parsed.account is None:
        return None
    return ref


def check_answers(answers: Answers, options: StackSetOptions | None = None) -> None:
    """Refuse what one template for every member account cannot do.

    Raises:
        StackSetProblem: the answers (or options) do not fit a StackSet; nothing is written.
    """
    trail = answers.trail
    bucket = answers.bucket
    if trail.organization:
        raise StackSetProblem(
            "trail.organization is true: an organization trail is one trail for every account, "
            "created once in the management account (`export --format cloudformation`, or "
            "`apply`, there). A StackSet puts a trail into each member account: set "
            "trail.organization to false for that."
        )
    if bucket.create or bucket.account is None:
        raise StackSetProblem(
            "A StackSet deploys the same template to every account, so the trails must deliver "
            "to one central bucket: set bucket.create: false and bucket.account to the "
            "log-archive account that owns it (a new bucket per account would need a name per "
            "account; bucket names are global)."
        )
    if answers.encryption.existing_key and central_key_arn(answers) is None:
        raise StackSetProblem(
            f"encryption.key {answers.encryption.existing_key} is not a key ARN: in another "
            "account only an ARN names it (an alias resolves in each member account). Give "
            "the central key's ARN (arn:aws:kms:REGION:LOG-ARCHIVE-ID:key/...)."
        )
    if options is None:
        return
    if len(options.regions) > 1 and trail.multi_region:
        raise StackSetProblem(
            f"--regions names {len(options.regions)} regions, but the trail is multi-region: "
            "one trail in its home region already records every region, and a second stack "
            "would try to create a trail of the same name. Deploy it in one region "
            f"(--regions {answers.home_region(options.regions[0])})."
        )
    cw = answers.cloudwatch_logs
    if len(options.regions) > 1 and cw.enabled and not cw.role_is_arn:
        raise StackSetProblem(
            "--regions names several regions, but each stack would create the CloudWatch Logs "
            "role, and IAM is global: the second region's stack fails. Deploy in one region, "
            "or give an existing role (cloudwatch_logs.role: arn:...)."
        )


_NOTE = (
    "This is a StackSet's member template: one stack per member account. The central bucket "
    "{bucket} (and key) of account {owner} let these trails write through statements that "
    "name the organization, merged once into their policies: see central-bucket-statements.json"
    "{key_file} beside this file (onboard --engine stacksets merges them itself)."
)


def member_template(answers: Answers, ctx: AccountContext) -> str:
    """The member accounts' template (the CloudFormation export, central policies said once)."""
    key_file = " and central-key-statements.json" if central_key_arn(answers) else ""
    note = _NOTE.format(bucket=answers.bucket.name, owner=answers.bucket.account, key_file=key_file)
    return cloudformation_template(answers, ctx, central=note)


class _AnyTag(yaml.SafeLoader):
    """Reads a template's short intrinsic tags as plain values (only the defaults matter)."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node)


_AnyTag.add_multi_constructor("!", _any_tag)


def template_parameters(template: str) -> list[dict[str, str]]:
    """Every parameter with a default, as the StackSet's ``Parameters`` (the same for all)."""
    loader = _AnyTag(template)  # a SafeLoader: plain data only, whatever the tags
    try:
        document = loader.get_single_data()
    finally:
        loader.dispose()
    parameters: dict[str, Any] = document.get("Parameters") or {}
    return [
        {"ParameterKey": name, "ParameterValue": str(body["Default"])}
        for name, body in parameters.items()
        if "Default" in body
    ]


def stack_set_inputs(
    answers: Answers, ctx: AccountContext, options: StackSetOptions
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``CreateStackSet`` and ``CreateStackInstances`` parameters.

    Returns:
        ``(create_stack_set, create_stack_instances)``; the first holds the member template
        (``TemplateBody``).
    """
    template = member_template(answers, ctx)
    create: dict[str, Any] = {
        "StackSetName": options.name,
        "Description": f"CloudTrail trail {answers.trail.name} in every account of the "
        "chosen OUs, delivering to the central bucket (cloudtrail-wizard)",
        "TemplateBody": template,
        "Parameters": template_parameters(template),
        "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": {
            "Enabled": True,
            "RetainStacksOnAccountRemoval": options.retain_stacks_on_removal,
        },
        "Tags": [{"Key": MANAGED_TAG, "Value": answers.trail.name}],
        "CallAs": options.call_as,
    }
    cw = answers.cloudwatch_logs
    if cw.enabled and not cw.role_is_arn:
        create["Capabilities"] = ["CAPABILITY_NAMED_IAM"]
    instances: dict[str, Any] = {
        "StackSetName": options.name,
        "DeploymentTargets": {"OrganizationalUnitIds": list(options.organizational_units)},
        "Regions": list(options.regions),
        "OperationPreferences": operation_preferences(options),
        "CallAs": options.call_as,
    }
    return create, instances


def operation_preferences(options: StackSetOptions) -> dict[str, Any]:
    """How fast an operation goes, and how many failures stop it."""
    return {
        "RegionConcurrencyType": "PARALLEL",
        "FailureTolerancePercentage": options.failure_tolerance_percentage,
        "MaxConcurrentPercentage": options.max_concurrent_percentage,
    }


def run_tags(run_id: str, trail_name: str) -> list[dict[str, str]]:
    """The tags of a StackSet a run creates: the wizard's mark and the run's id."""
    return [{"Key": MANAGED_TAG, "Value": trail_name}, {"Key": RUN_TAG, "Value": run_id}]


def organization_statements(
    answers: Answers, organization_id: str, partition: str, readers: Sequence[str] = ()
) -> tuple[list[Statement], list[Statement] | None]:
    """The central bucket statements, and the central key statements (None: no central key)."""
    bucket_arn = f"arn:{partition}:s3:::{answers.bucket.name}"
    bucket = organization_bucket_statements(
        bucket_arn, answers.bucket.prefix, organization_id, answers.trail.name, partition
    )
    key = None
    if central_key_arn(answers) is not None:
        key = organization_key_statements(organization_id, answers.trail.name, partition, readers)
    return bucket, key


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def stack_set_files(
    answers: Answers, ctx: AccountContext, options: StackSetOptions
) -> dict[str, str]:
    """The export: file name -> content.

    ``member-template.yaml``, ``stack-set.json`` and ``stack-instances.json`` (inputs of
    ``aws cloudformation create-stack-set`` / ``create-stack-instances``),
    ``central-bucket-statements.json`` (and ``central-key-statements.json``), the IAM policy
    the deploying account needs (``operator-policy.json``, ACCOUNT_ID standing for it) and a
    ``README.md`` that says in which order, from which account.

    Raises:
        StackSetProblem: the answers do not fit a StackSet.
    """
    check_answers(answers, options)
    create, instances = stack_set_inputs(answers, ctx, options)
    template = create.pop("TemplateBody")
    bucket, key = organization_statements(
        answers, options.organization_id, ctx.partition, options.readers
    )
    files = {
        "member-template.yaml": template,
        "stack-set.json": _json(create),
        "stack-instances.json": _json(instances),
        "central-bucket-statements.json": _json({"Version": VERSION, "Statement": bucket}),
    }
    if key is not None:
        files["central-key-statements.json"] = _json({"Version": VERSION, "Statement": key})
    region = answers.home_region(options.regions[0])
    files["operator-policy.json"] = _json(
        stackset_operator_policy(ctx.partition, "ACCOUNT_ID", region, options.name, central=False)
    )
    files["README.md"] = _readme(answers, options, create, key is not None)
    return files


def _readme(
    answers: Answers, options: StackSetOptions, create: dict[str, Any], central_key: bool
) -> str:
    owner = answers.bucket.account
    call_as = f" --call-as {options.call_as}" if options.call_as != "SELF" else ""
    caps = " --capabilities CAPABILITY_NAMED_IAM" if create.get("Capabilities") else ""
    region = answers.home_region(options.regions[0])
    who = (
        "the management account"
        if options.call_as == "SELF"
        else "the delegated administrator account (stack-set.json says CallAs DELEGATED_ADMIN)"
    )
    lines = [
        f"# CloudTrail trail {answers.trail.name} in every account of "
        f"{', '.join(options.organizational_units)}",
        "",
        f"A service-managed StackSet ({options.name}) puts the trail into every account of "
        "the OUs, in " + ", ".join(options.regions) + ", and into every account that joins "
        "them later (automatic deployment; an account that leaves them "
        + ("keeps its stack" if options.retain_stacks_on_removal else "loses its stack")
        + "). Every trail delivers to the central bucket "
        f"{answers.bucket.name} of account {owner}. StackSets never deploy to the "
        "management account itself.",
        "",
        "`cloudtrail-wizard onboard ACCOUNTS --engine stacksets --ou OU ...` does all of this "
        "itself (dry-run first, central policies merged, rollback on failure). By hand:",
        "",
        f"1. In account {owner} (the log-archive account), merge the statements of "
        "central-bucket-statements.json into the policy of bucket "
        f"{answers.bucket.name}"
        + (
            " and those of central-key-statements.json into the policy of the central key"
            if central_key
            else ""
        )
        + ": append them to the Statement list, keep every statement already there. They "
        f"let trails named {answers.trail.name} of organization {options.organization_id} "
        "write (aws:SourceOrgID), and no other trail.",
        "2. Make sure trusted access for StackSets is on, from the management account: "
        "`aws organizations list-aws-service-access-for-organization` lists "
        "member.org.stacksets.cloudformation.amazonaws.com; if not, "
        "`aws cloudformation activate-organizations-access`.",
        f"3. From {who}, in {region}:",
        "",
        "   ```sh",
        "   aws cloudformation create-stack-set --cli-input-json file://stack-set.json \\",
        f"     --template-body file://member-template.yaml{caps}",
        "   aws cloudformation create-stack-instances --cli-input-json file://stack-instances.json",
        "   ```",
        "",
        "4. Follow the operation (its id is what create-stack-instances printed):",
        "",
        "   ```sh",
        f"   aws cloudformation describe-stack-set-operation --stack-set-name {options.name} "
        f"--operation-id ID{call_as}",
        f"   aws cloudformation list-stack-set-operation-results --stack-set-name {options.name} "
        f"--operation-id ID{call_as}",
        "   ```",
        "",
        "operator-policy.json is what the deploying account needs (replace ACCOUNT_ID with "
        "its id); the log-archive account needs to read and write the central bucket and key "
        "policies.",
        "",
        f"Operation preferences: at most {options.max_concurrent_percentage}% of an OU's "
        f"accounts at once, {options.failure_tolerance_percentage}% may fail before the "
        "operation stops, regions in parallel.",
        "",
    ]
    return "\n".join(lines)
