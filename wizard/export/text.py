"""Renderings of a plan: JSON (for machines), text (for people) and AWS CLI commands.

All three read the same :class:`~wizard.model.plan.Plan`, so what is previewed is what is
applied.
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from botocore import xform_name

from wizard import __version__
from wizard.export.landing import landing_lines, organization_trails_json
from wizard.model.cost import CostEstimate
from wizard.model.plan import PLACEHOLDER, Call, Plan, ResourceState, SettingChange, Step
from wizard.model.text import printable_lines
from wizard.policy.controls import PlannedControl, plan_controls

CLI_SERVICE = {"s3": "s3api"}
"""AWS CLI command names that differ from boto3 service names."""


def plan_to_json(plan: Plan, **extra: Any) -> dict[str, Any]:
    """The plan as the JSON document ``plan --output json`` prints."""
    return {
        "account": plan.account_id,
        "partition": plan.partition,
        "home_region": plan.home_region,
        "trail_arn": plan.trail_arn,
        "blocked": plan.blocked,
        "unchanged": plan.unchanged,
        "findings": [f.model_dump(mode="json", exclude_none=True) for f in plan.findings],
        "controls": [c.to_json() for c in plan_controls(plan)],
        "steps": [
            {
                "id": s.id,
                "summary": s.summary,
                "chain": s.chain,
                "service": s.call.service,
                "region": s.call.region,
                "operation": s.call.operation,
                "parameters": s.call.params,
                "creates": s.creates,
                "changes": s.changes,
                "depends_on": s.depends_on,
                "undo": [u.model_dump(mode="json") for u in s.undo],
                "undo_summary": s.undo_summary,
                "policy_diff": s.policy.diff if s.policy and s.policy.diff else None,
                "settings": [c.model_dump(mode="json") for c in s.settings],
            }
            for s in plan.steps
        ],
        "resources": [r.model_dump(mode="json") for r in plan.resources],
        "cost": plan.cost.model_dump(mode="json") if plan.cost is not None else None,
        "organization_trails": organization_trails_json(plan.organization_trails, plan.cost),
        "policies": plan.policies,
        **extra,
    }


_SEVERITY_MARK = {"error": "ERROR", "warning": "WARN ", "info": "info "}

CONTROL_MARK = {"pass": "pass ", "fail": "fail ", "not-applicable": "n/a  ", "after-apply": "later"}
"""How each planned control status is marked in text."""


def controls_summary(controls: Sequence[PlannedControl]) -> str:
    """``3 pass, 3 fail, 1 decided after apply`` (statuses that occur, in that order)."""
    words = (
        ("pass", "pass"),
        ("fail", "fail"),
        ("not-applicable", "not applicable"),
        ("after-apply", "decided after apply"),
    )
    counts = [(sum(c.status == status for c in controls), word) for status, word in words]
    return ", ".join(f"{n} {word}" for n, word in counts if n)


def controls_to_text(controls: Sequence[PlannedControl], width: int = 98) -> list[str]:
    """The Controls section: one entry per control, with why and, when it fails, how to pass."""
    lines = textwrap.wrap(
        "Controls (CIS AWS Foundations Benchmark / AWS Security Hub) for the planned trail: "
        f"{controls_summary(controls)}:",
        width,
        subsequent_indent="  ",
    )
    indent = " " * 10
    for c in controls:
        lines += textwrap.wrap(
            f"{c.control.short_label}: {c.control.title}",
            width,
            initial_indent=f"  {CONTROL_MARK[c.status]}   ",
            subsequent_indent=indent,
            break_on_hyphens=False,
        )
        lines += textwrap.wrap(
            c.reason, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
        )
        if c.trade_off:
            lines += textwrap.wrap(
                f"to pass: {c.trade_off}",
                width,
                initial_indent=indent,
                subsequent_indent=indent + "  ",
                break_on_hyphens=False,
            )
    return lines


COST_OVERRIDES = (
    "cost.management_events_per_day",
    "cost.read_only_percent",
    "cost.data_events_per_day",
    "cost.network_activity_events_per_day",
    "cost.storage_months",
)
"""The answers-file fields that set the volumes the cost preview prices."""


def cost_heading(cost: CostEstimate) -> str:
    """``Cost per month (estimate): $1.00 to $9.00, at AWS's prices of 2026-12-07``."""
    return (
        f"Cost per month (estimate): {cost.total.range_text}, at AWS's published prices of "
        f"{cost.prices_as_of} ({cost.prices_region})"
    )


def cost_to_text(cost: CostEstimate, width: int = 98) -> list[str]:
    """The Cost section: each choice's monthly range and how it was computed, the total,
    how the volume was estimated, every assumption, and how to give your own numbers."""
    lines = wrap_prose(cost_heading(cost) + ":", width, subsequent_indent="  ")
    name_width = max((len(i.what) for i in cost.items), default=0)
    name_width = min(max(name_width, len("Total")), 40)
    for item in cost.items:
        lines += wrap_prose(
            f"{item.what:<{name_width}}  {item.range_text}",
            width,
            initial_indent="  ",
            subsequent_indent="    ",
        )
        lines += wrap_prose(item.basis, width, initial_indent="      ", subsequent_indent="      ")
    lines.append(f"  {'Total':<{name_width}}  {cost.total.range_text}")
    lines += wrap_prose(cost.volume_source, width, initial_indent="  ", subsequent_indent="    ")
    lines.append("  Assumptions:")
    for note in cost.assumptions:
        lines += wrap_prose(note, width, initial_indent="    - ", subsequent_indent="      ")
    lines += wrap_prose(
        "Your own numbers: set " + ", ".join(COST_OVERRIDES) + " in the answers file.",
        width,
        initial_indent="  ",
        subsequent_indent="    ",
    )
    return lines


ARROW = "→"
"""Between a setting's current and wanted value (``S3 key prefix: (none) → ct``)."""


def setting_line(change: SettingChange) -> str:
    """``name: current → wanted``, one setting an update step changes."""
    return f"{change.name}: {change.current} {ARROW} {change.wanted}"


_STATUS_WORD = {
    "create": "create",
    "update": "update",
    "unchanged": "unchanged",
    "use": "use as is",
}


def resources_to_text(resources: Sequence[ResourceState]) -> list[str]:
    """The "compared with what exists" section: one line per resource the answers name."""
    if not resources:
        return []
    lines = ["Compared with what exists (desired state):"]
    width = max(len(r.kind) for r in resources)
    for r in resources:
        text = f"  {r.kind:<{width}}  {_STATUS_WORD[r.status]:<9}  {r.resource}"
        lines.append(text)
        if r.detail:
            lines += wrap_prose(
                r.detail,
                98,
                initial_indent=" " * (width + 15),
                subsequent_indent=" " * (width + 15),
            )
    return lines


def nothing_to_change(plan: Plan) -> str:
    """The sentence a plan without steps is summed up with."""
    compared = len(plan.resources)
    what = f" ({compared} resource{'s' if compared != 1 else ''} compared)" if compared else ""
    return (
        f"Nothing to change: the account already matches the answers{what}. Applying them "
        "sends no request that changes anything."
    )


def plan_to_text(plan: Plan) -> str:
    """A readable plan: findings (errors first), controls, the monthly cost, what exists,
    the steps (with "current → wanted" for every setting an update changes), every policy
    change."""
    lines = [
        f"Account {plan.account_id} ({plan.partition}), home region {plan.home_region}",
        f"Trail   {plan.trail_arn}",
        "",
    ]
    if plan.findings:
        lines.append("Findings:")
        for f in plan.findings:
            first, *rest = f.message.splitlines() or [""]
            lines.append(f"  {_SEVERITY_MARK[f.severity]} [{f.code}] {first}")
            lines.extend(f"          {line}" for line in rest)
        lines.append("")
    if plan.blocked:
        lines.append("Apply is blocked until the errors above are fixed. Nothing was changed.")
        lines.append("")
    lines += [*controls_to_text(plan_controls(plan)), ""]
    if plan.organization_trails:
        lines += [*landing_lines(plan.organization_trails, plan.cost), ""]
    if plan.cost is not None:
        lines += [*cost_to_text(plan.cost), ""]
    if plan.resources:
        lines += [*resources_to_text(plan.resources), ""]
    if plan.unchanged:
        lines += wrap_prose(nothing_to_change(plan), 98)
    else:
        lines.append(f"Plan ({len(plan.steps)} changes):")
    for number, step in enumerate(plan.steps, 1):
        lines.append(f"  {number:2}. {step.summary}")
        lines.append(f"      {step.call.service}:{step.call.operation} in {step.call.region}")
        lines.extend(f"      {setting_line(c)}" for c in step.settings)
        if step.undo_summary:
            lines.append(f"      undo: {step.undo_summary}")
    for step in plan.steps:
        if step.policy is not None and step.policy.diff:
            lines += ["", f"Policy change: {step.summary}", step.policy.diff.rstrip("\n")]
    # Names, messages and policies carry text from answers files and AWS: shown, not obeyed.
    return printable_lines("\n".join(lines)) + "\n"


def _kebab(operation: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", operation).lower()


def _var(step_id: str, path: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", f"{step_id}_{path}".upper()).strip("_")


def _references(plan: Plan) -> dict[str, list[str]]:
    """Per step id, the response paths later steps refer to."""
    refs: dict[str, list[str]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, str):
            m = PLACEHOLDER.match(value)
            if m and m["path"] not in refs.setdefault(m["step"], []):
                refs[m["step"]].append(m["path"])
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for step in plan.steps:
        walk(step.call.params)
        for undo in step.undo:
            walk(undo.params)
    return refs


_PLACEHOLDER_IN_JSON = re.compile(r"\"\$\{(?P<step>[a-z0-9-]+):(?P<path>[A-Za-z0-9_.\[\]]+)\}\"")

POLICY_PARAMS = frozenset({"Policy", "PolicyDocument", "AssumeRolePolicyDocument"})
"""Request parameters that hold a whole policy document (JSON text)."""

POLICY_FILES = {
    "bucket": "bucket-policy",
    "key": "key-policy",
    "topic": "topic-policy",
    "role-trust": "role-trust-policy",
    "role-permissions": "role-permissions-policy",
    "access-log-bucket": "access-log-bucket-policy",
}
"""File name (without ``.json``) of each kind of policy in the script's working directory."""

INLINE_JSON_LIMIT = 120
"""Structured values longer than this (as compact JSON) go to a file, pretty-printed."""


def _shell_json(value: Any) -> str:
    """Compact JSON, single-quoted for the shell, with placeholders as shell variables."""
    text = json.dumps(value, separators=(",", ":"))
    text = text.replace("'", "'\\''")

    def splice(m: re.Match[str]) -> str:
        return f'"\'"${_var(m["step"], m["path"])}"\'"'

    return "'" + _PLACEHOLDER_IN_JSON.sub(splice, text) + "'"


def _shell_value(value: Any) -> str:
    """A parameter value as one shell word (placeholders become quoted variables)."""
    if isinstance(value, str):
        m = PLACEHOLDER.match(value)
        if m:
            return f'"${_var(m["step"], m["path"])}"'
        return shlex.quote(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _shell_json(value)


def _has_placeholder(value: Any) -> bool:
    if isinstance(value, str):
        return PLACEHOLDER.match(value) is not None
    if isinstance(value, dict):
        return any(_has_placeholder(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_placeholder(v) for v in value)
    return False


def _is_policy(call: Call, name: str) -> bool:
    if name in POLICY_PARAMS:
        return True
    return name == "AttributeValue" and call.params.get("AttributeName") == "Policy"


def cli_option(name: str) -> str:
    """The AWS CLI option of a request parameter (``S3BucketName`` -> ``--s3-bucket-name``)."""
    return "--" + xform_name(name, "-")


def _account_var(account: str) -> str:
    return f"PROFILE_{account}"


def _cli_head(call: Call) -> str:
    service = CLI_SERVICE.get(call.service, call.service)
    head = f"aws {service} {_kebab(call.operation)} --region {shlex.quote(call.region)}"
    if call.account is not None:
        # A call made in another account (the log-archive's central policies): with the
        # profile the script was told to use for that account, never the main credentials.
        head += f' --profile "${_account_var(call.account)}"'
    return head


def _inline_args(call: Call) -> list[str]:
    args = []
    for name, value in call.params.items():
        option = cli_option(name)
        if isinstance(value, bool):
            args.append(option if value else f"--no-{option[2:]}")
        else:
            args.append(f"{option} {_shell_value(value)}")
    return args


def step_to_cli(step: Step, refs: list[str] | None = None) -> str:
    """One step as a one-line AWS CLI command, every value inline.

    ``refs`` are response paths to print (``--query ... --output text``) so that a caller can
    capture them. :func:`plan_to_cli` writes a more readable script (policies in files).
    """
    command = " ".join([_cli_head(step.call), *_inline_args(step.call)])
    if refs:
        query = refs[0] if len(refs) == 1 else "[" + ",".join(refs) + "]"
        command += f" --query {shlex.quote(query)} --output text"
    return command


_RETRY_FUNCTION = r"""# retry_on CODES COMMAND...: run COMMAND; while it fails with one of CODES
# (a grep -E pattern), wait and run it again: a new policy or role takes a few seconds
# to be seen by CloudTrail everywhere. Gives up after 6 attempts (about 75 seconds).
retry_on() {
  local codes=$1 attempt=1
  shift
  until "$@" 2>last-error.txt; do
    cat last-error.txt >&2
    if [ "$attempt" -ge 6 ] || ! grep -Eq "$codes" last-error.txt; then
      return 1
    fi
    echo "Not visible yet; trying again in $((attempt * 5)) seconds..." >&2
    sleep $((attempt * 5))
    attempt=$((attempt + 1))
  done
}"""

_SEVERITY_WORD = {"error": "ERROR", "warning": "WARN ", "info": "info "}


def wrap_prose(
    text: str, width: int, initial_indent: str = "", subsequent_indent: str = ""
) -> list[str]:
    """Wrap prose without breaking words or ARNs (``us-east-1`` stays whole)."""
    return textwrap.wrap(
        text,
        width,
        initial_indent=initial_indent,
        subsequent_indent=subsequent_indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _comment_lines(lines: Sequence[str], width: int = 98) -> list[str]:
    """``# `` comment lines; prose is wrapped, indented lines (JSON, commands) are kept."""
    out: list[str] = []
    for line in lines:
        text = line.lstrip()
        if not text or text[0] in '[]{}"':
            # Kept as it is, but a line break inside must not end the comment in a script.
            out += [f"# {part}".rstrip() for part in line.split("\n")]
            continue
        lead = line[: len(line) - len(text)]
        hang = lead + ("  " if text.startswith("- ") else "")
        out += [
            f"# {part}"
            for part in wrap_prose(text, width, initial_indent=lead, subsequent_indent=hang)
        ]
    return out


class _ScriptWriter:
    """Writes the steps of a plan as a bash script; policies go to files through heredocs."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.refs = _references(plan)
        self.files: set[str] = set()

    def file_name(self, base: str, step: Step) -> str:
        name = f"{base}.json"
        if name in self.files:
            name = f"{base}-{step.id}.json"
        self.files.add(name)
        return name

    @staticmethod
    def heredoc(path: str, text: str) -> list[str]:
        delimiter = "EOF"
        while delimiter in text.split("\n"):
            delimiter += "_"
        return [f"cat > {shlex.quote(path)} <<'{delimiter}'", *text.split("\n"), delimiter]

    def arguments(
        self, step: Step, call: Call, pre: list[str], policy_base: str | None
    ) -> list[str]:
        """The command's options; long documents are written to files first (into ``pre``)."""
        args: list[str] = []
        for name, value in call.params.items():
            option = cli_option(name)
            if isinstance(value, bool):
                args.append(option if value else f"--no-{option[2:]}")
            elif (
                _is_policy(call, name)
                and isinstance(value, str)
                and value
                and not _has_placeholder(value)
            ):
                path = self.file_name(policy_base or f"{step.id}-{option[2:]}", step)
                pre += self.heredoc(path, value)
                args.append(f"{option} file://{path}")
            elif (
                isinstance(value, (dict, list))
                and not _has_placeholder(value)
                and len(json.dumps(value, separators=(",", ":"))) > INLINE_JSON_LIMIT
            ):
                path = self.file_name(option[2:], step)
                pre += self.heredoc(path, json.dumps(value, indent=2))
                args.append(f"{option} file://{path}")
            else:
                args.append(f"{option} {_shell_value(value)}")
        return args

    @staticmethod
    def command(head: str, args: list[str], capture: Sequence[str] = ()) -> str:
        parts = [head, *args]
        if capture:
            query = capture[0] if len(capture) == 1 else "[" + ",".join(capture) + "]"
            parts.append(f"--query {shlex.quote(query)} --output text")
        return " \\\n  ".join(parts)

    def captured(self, step: Step, command: str, paths: Sequence[str]) -> list[str]:
        """``VAR=$(command)`` (or ``read`` for several), then a check that nothing is empty."""
        names = [_var(step.id, p) for p in paths]
        if len(names) == 1:
            lines = [f"{names[0]}=$({command})"]
        else:
            out = _var(step.id, "out")
            lines = [f"{out}=$({command})", f'read -r {" ".join(names)} <<<"${out}"']
        lines += [
            f': "${{{name}:?{step.id} did not return {path}}}"'
            for name, path in zip(names, paths, strict=True)
        ]
        return lines

    def step_lines(self, number: int, step: Step, guard: Sequence[str]) -> list[str]:
        total = len(self.plan.steps)
        kind = " (read only)" if not step.mutating else ""
        out = [f"# ---- Step {number} of {total}{kind}: {step.id}"]
        out += _comment_lines([step.summary])
        out += _comment_lines([f"  {setting_line(c)}" for c in step.settings])
        policy_base = POLICY_FILES.get(step.policy.kind) if step.policy else None
        pre: list[str] = []
        for undo in step.undo:
            undo_pre: list[str] = []
            undo_args = self.arguments(
                step, undo, undo_pre, f"{policy_base}.before" if policy_base else None
            )
            if undo_pre:
                pre += ["# The current policy, kept for the undo command below:", *undo_pre]
            out.append("#   undo: " + " ".join([_cli_head(undo), *undo_args]))
        if step.undo_summary:
            out += [f"#         ({line})" for line in wrap_prose(step.undo_summary, 88)]
        if step.policy is not None and step.policy.diff:
            # The files hold the exact text written (the owner's statements byte for byte);
            # this view lays both sides out the same way so the added statements stand out.
            out.append("# What this changes in the policy (pretty-printed; + lines are added):")
            out += [f"#   {line}".rstrip() for line in step.policy.diff.rstrip("\n").split("\n")]
        out += list(guard)
        call = step.call
        follow: Call | None = None
        refs = list(self.refs.get(step.id, []))
        attributes = call.params.get("Attributes")
        if (
            call.service == "sns"
            and call.operation == "CreateTopic"
            and isinstance(attributes, dict)
            and "Policy" in attributes
        ):
            # A policy inside the Attributes map would be JSON escaped inside JSON; set it with
            # a second call instead, from a file a person can read.
            rest = {k: v for k, v in attributes.items() if k != "Policy"}
            params = {k: v for k, v in call.params.items() if k != "Attributes"}
            if rest:
                params["Attributes"] = rest
            follow = Call(
                service="sns",
                region=call.region,
                operation="SetTopicAttributes",
                params={
                    "TopicArn": f"${{{step.id}:TopicArn}}",
                    "AttributeName": "Policy",
                    "AttributeValue": attributes["Policy"],
                },
            )
            call = call.model_copy(update={"params": params})
            if "TopicArn" not in refs:
                refs.append("TopicArn")
        args = self.arguments(step, call, pre, policy_base)
        head = _cli_head(call)
        if step.retry_on:
            head = f"retry_on {shlex.quote('|'.join(step.retry_on))} {head}"
        out += pre
        command = self.command(head, args, refs)
        out += self.captured(step, command, refs) if refs else [command]
        if follow is not None:
            follow_pre: list[str] = []
            follow_args = self.arguments(step, follow, follow_pre, policy_base)
            out += ["# The topic's access policy, from a file a person can read:", *follow_pre]
            out.append(self.command(_cli_head(follow), follow_args))
        return out


def plan_to_cli(
    plan: Plan,
    *,
    notes: Sequence[str] = (),
    guards: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The plan as a commented bash script of AWS CLI commands, in plan order.

    Policy documents are written with heredocs into files in a working directory (so they can
    be read, diffed and kept with a change ticket) and passed with ``file://``. Values a step
    needs from an earlier step's response (a new key's ARN) are captured into shell variables.
    Each step shows its undo command as a comment.

    Args:
        plan: The plan.
        notes: Extra header comment lines (for example the assumptions of an offline plan).
        guards: Shell lines to run before a step, by step id (checks that stop the script).

    Returns:
        The script text (bash; ``bash -n`` accepts it).
    """
    guards = guards or {}
    writer = _ScriptWriter(plan)
    workdir = f"cloudtrail-wizard-{plan.trail_arn.rsplit('/', 1)[-1]}"
    retried = sorted({code for s in plan.steps for code in s.retry_on})
    out = [
        "#!/usr/bin/env bash",
        *_comment_lines(
            [
                f"CloudTrail setup for account {plan.account_id} ({plan.partition}), generated "
                f"by cloudtrail-wizard {__version__}.",
                f"Trail: {plan.trail_arn}",
                "",
                f"These {len(plan.steps)} steps are the plan `cloudtrail-wizard apply` runs, as "
                "AWS CLI commands in the same order. Review every command before running it. "
                "Policies are first written to files in the directory $WORK_DIR (default "
                f"./{workdir}) so they can be read and kept with the change; each command then "
                "reads its file (file://). Undo commands are shown as comments.",
                "Unlike `cloudtrail-wizard apply`, this script does not roll back what it did "
                "when a step fails (run the undo commands of the steps done, newest first), and "
                "does not verify log delivery afterwards.",
                "Needs bash and the AWS CLI (v1 or v2) with credentials for account "
                f"{plan.account_id}; the script stops if they are for another account.",
            ]
        ),
    ]
    if notes:
        out += ["#", *_comment_lines(notes)]
    if plan.findings:
        out += ["#", "# Preflight findings:"]
        for finding in plan.findings:
            first, *rest = finding.message.split("\n") or [""]
            lead = f"  {_SEVERITY_WORD[finding.severity]} [{finding.code}] "
            out += [
                f"# {line}"
                for line in wrap_prose(first, 98, initial_indent=lead, subsequent_indent=" " * 10)
            ]
            out += [f"#           {line}".rstrip() for line in rest]
    out += [
        "",
        "set -euo pipefail",
        "# AWS CLI v2 shows long output in a pager and waits for a key; a script must not.",
        'export AWS_PAGER=""',
        "",
        f'WORK_DIR="${{WORK_DIR:-{workdir}}}"',
        'mkdir -p "$WORK_DIR"',
        'cd "$WORK_DIR"',
        "",
        "# Stop unless the credentials are for the account this plan was made for.",
        "CALLER_ACCOUNT=$(aws sts get-caller-identity --region "
        f"{shlex.quote(plan.home_region)} --query Account --output text)",
        f'if [ "$CALLER_ACCOUNT" != {shlex.quote(plan.account_id)} ]; then',
        f'  echo "These commands are for account {plan.account_id}, but the AWS CLI uses '
        'account $CALLER_ACCOUNT. Nothing was changed." >&2',
        "  exit 1",
        "fi",
        "",
    ]
    others = sorted(
        {c.account for st in plan.steps for c in (st.call, *st.undo) if c.account is not None}
    )
    for account in others:
        var = _account_var(account)
        out += [
            f"# Some steps change policies in account {account} (the log archive); they run",
            f"# with the profile named in ${var}.",
            f': "${{{var}:?set {var} to an AWS CLI profile of account {account}}}"',
            f'if [ "$(aws sts get-caller-identity --profile "${var}" --query Account '
            f'--output text)" != {shlex.quote(account)} ]; then',
            f'  echo "${var} is not a profile of account {account}. Nothing was changed." >&2',
            "  exit 1",
            "fi",
            "",
        ]
    if retried:
        out += [_RETRY_FUNCTION, ""]
    for number, step in enumerate(plan.steps, 1):
        out += writer.step_lines(number, step, guards.get(step.id, ()))
        out.append("")
    if plan.unchanged:
        out += [*_comment_lines([nothing_to_change(plan)]), ""]
        out.append(
            "echo " + shlex.quote(f"Nothing to change: {plan.trail_arn} is as the answers say.")
        )
        return "\n".join(out) + "\n"
    out.append("echo " + shlex.quote(f"Done: {plan.trail_arn} is set up."))
    return "\n".join(out) + "\n"
