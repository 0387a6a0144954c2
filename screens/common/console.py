"""Plain-terminal rendering for the non-interactive commands (rich, never Textual)."""

from __future__ import annotations

import os
from typing import TextIO

from wizard.policy.merge import render_policy
from wizard.policy.policies import PolicySet

POLICY_TITLES: dict[str, str] = {
    "bucket_policy": "S3 bucket policy",
    "key_policy": "KMS key policy",
    "sns_topic_policy": "SNS topic policy",
    "cloudwatch_logs_role_trust_policy": "CloudWatch Logs role: trust policy",
    "cloudwatch_logs_role_policy": "CloudWatch Logs role: permissions policy",
    "access_log_bucket_policy": "S3 access log bucket policy",
    "operator_policy": "Your IAM policy (least privilege to run this setup)",
}
"""Human titles of the policies, in display order."""


def use_color(out: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set or the terminal is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def print_json_block(title: str, text: str, out: TextIO) -> None:
    """Print a titled JSON document, highlighted on a terminal."""
    if use_color(out):
        # Deferred: rich loads only when a terminal gets colour (start-up time).
        from rich.console import Console
        from rich.syntax import Syntax

        console = Console(file=out)
        console.rule(f"[bold]{title}")
        console.print(
            Syntax(text, "json", theme="ansi_dark", background_color="default", word_wrap=True)
        )
        return
    out.write(f"== {title} ==\n{text}\n\n")


def print_policy_set(source: str, policies: PolicySet, out: TextIO) -> None:
    """Print every applicable policy of one answers file."""
    out.write(f"# Policies for {source}\n\n")
    for field, title in POLICY_TITLES.items():
        doc = getattr(policies, field)
        if doc is None:
            continue
        print_json_block(title, render_policy(doc), out)
