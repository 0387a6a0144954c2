"""``policies``: print every policy an answers file produces (offline, no credentials)."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING, TextIO

from screens.common.answers import load_all
from screens.common.errors import EXIT_OK, UsageError, validation_text

if TYPE_CHECKING:
    from wizard.policy.policies import PolicySet


PLACEHOLDER_ACCOUNT = "123456789012"
"""The account every ARN names when ``--account`` is not given (AWS's documentation example)."""


def placeholder_note(account: str) -> str:
    """What the output says when the ARNs name the placeholder account."""
    return (
        f"No --account given: every ARN names the placeholder account {account}. "
        "Pass --account with your 12-digit account id for policies you can use."
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The answers files, the account they are for, and the output format."""
    parser.description = "Print every policy an answers file produces. Works offline."
    parser.add_argument(
        "answers", metavar="ANSWERS", nargs="+", help="answers file(s), YAML or JSON"
    )
    parser.add_argument(
        "--account",
        help=f"account id the ARNs name (default: the placeholder {PLACEHOLDER_ACCOUNT}, "
        "which the output says)",
    )
    parser.add_argument("--partition", default="aws", help="ARN partition (default %(default)s)")
    parser.add_argument("--organization-id", help="organization id (o-...) for organization trails")
    parser.add_argument(
        "--management-account", help="management account id (organization trails, if not this)"
    )
    parser.add_argument("--output", choices=("json", "text"), default="text")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the policies of every answers file, as text or JSON."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from pydantic import ValidationError

    from wizard.model.context import AccountContext
    from wizard.policy.policies import build_policies

    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    placeholder = args.account is None
    try:
        ctx = AccountContext(
            account_id=PLACEHOLDER_ACCOUNT if placeholder else args.account,
            partition=args.partition,
            region=region or "us-east-1",
            organization_id=args.organization_id,
            management_account_id=args.management_account,
        )
    except ValidationError as exc:
        raise UsageError(validation_text(exc)) from None
    results: list[tuple[str, PolicySet]] = []
    for path, answers in load_all(args.answers):
        if answers.trail.organization and ctx.organization_id is None:
            raise UsageError(
                f"{path}: trail.organization is true, so the bucket policy needs the "
                "organization id: pass --organization-id o-xxxxxxxxxx."
            )
        results.append((path, build_policies(answers, ctx)))
    # What the ARNs were built with, so that a placeholder account is never taken for real.
    context: dict[str, object] = {
        "account": ctx.account_id,
        "account_is_placeholder": placeholder,
        "partition": ctx.partition,
    }
    if placeholder:
        context["note"] = placeholder_note(ctx.account_id)
    if args.output == "json":
        docs = [
            {"context": context, **policies.model_dump(mode="json")} for _path, policies in results
        ]
        payload: object = docs[0] if len(docs) == 1 else dict(zip(args.answers, docs, strict=True))
        out.write(json.dumps(payload, indent=2) + "\n")
        return EXIT_OK
    # Deferred for start-up time: pydantic models load only when this runs.
    from screens.common.console import print_policy_set

    if placeholder:
        out.write(f"# {placeholder_note(ctx.account_id)}\n\n")
    for path, policies in results:
        print_policy_set(path, policies, out)
    return EXIT_OK
