"""Renderings of a plan: JSON (for machines), text (for people) and AWS CLI commands.

All three read the same :class:`~wizard.plan_model.Plan`, so what is previewed is what is
applied.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from wizard.plan_model import PLACEHOLDER, Plan, Step

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
        "findings": [f.model_dump(mode="json", exclude_none=True) for f in plan.findings],
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
            }
            for s in plan.steps
        ],
        "policies": plan.policies,
        **extra,
    }


_SEVERITY_MARK = {"error": "ERROR", "warning": "WARN ", "info": "info "}


def plan_to_text(plan: Plan) -> str:
    """A readable plan: findings (errors first), the steps, and every policy change."""
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
    lines.append(f"Plan ({len(plan.steps)} changes):")
    for number, step in enumerate(plan.steps, 1):
        lines.append(f"  {number:2}. {step.summary}")
        lines.append(f"      {step.call.service}:{step.call.operation} in {step.call.region}")
        if step.undo_summary:
            lines.append(f"      undo: {step.undo_summary}")
    for step in plan.steps:
        if step.policy is not None and step.policy.diff:
            lines += ["", f"Policy change: {step.summary}", step.policy.diff.rstrip("\n")]
    return "\n".join(lines) + "\n"


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


def _shell_json(params: dict[str, Any]) -> str:
    """JSON for --cli-input-json, single-quoted, with placeholders as shell variables."""
    text = json.dumps(params, separators=(",", ":"))
    text = text.replace("'", "'\\''")

    def splice(m: re.Match[str]) -> str:
        return f'"\'"${_var(m["step"], m["path"])}"\'"'

    text = re.sub(r"\"\$\{(?P<step>[a-z0-9-]+):(?P<path>[A-Za-z0-9_.\[\]]+)\}\"", splice, text)
    return f"'{text}'"


def step_to_cli(step: Step, refs: list[str] | None = None) -> str:
    """One step as an AWS CLI command (capturing the outputs later steps need)."""
    service = CLI_SERVICE.get(step.call.service, step.call.service)
    command = (
        f"aws {service} {_kebab(step.call.operation)} --region {shlex.quote(step.call.region)} "
        f"--cli-input-json {_shell_json(step.call.params)}"
    )
    if not refs:
        return command
    query = refs[0] if len(refs) == 1 else "[" + ",".join(refs) + "]"
    names = " ".join(_var(step.id, p) for p in refs)
    return f"read -r {names} < <({command} --query {shlex.quote(query)} --output text)"


def plan_to_cli(plan: Plan) -> str:
    """The plan as a commented bash script of AWS CLI commands, in plan order."""
    refs = _references(plan)
    out = [
        "#!/usr/bin/env bash",
        f"# CloudTrail setup for account {plan.account_id}, generated by cloudtrail-wizard.",
        f"# Trail: {plan.trail_arn}",
        "# Review every command before running it. Undo commands are given as comments.",
        "set -euo pipefail",
        "",
    ]
    for number, step in enumerate(plan.steps, 1):
        out.append(f"# {number}. {step.summary}")
        for undo in step.undo:
            undo_step = step.model_copy(update={"call": undo})
            out.append(f"#    undo: {step_to_cli(undo_step)}")
        out.append(step_to_cli(step, refs.get(step.id)))
        out.append("")
    return "\n".join(out)
