"""What a StackSet deploys: the accounts file's shared answers and its log-archive account.

``onboard --engine stacksets`` reads the same accounts file as the accounts engine
(:mod:`wizard.onboard`): ``answers`` (a path or inline) and ``central`` (how to reach the
log-archive account, and who may decrypt). Its ``accounts`` list is not used: the StackSet
deploys to every account of the OUs given on the command line, so the list may be left out.
One template serves every account, so ``{account_id}`` (filled per listed account by the
accounts engine) cannot be used: the template's ARNs already name each member account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from wizard.model.answers import Answers
from wizard.model.answers_file import (
    MAX_ANSWERS_BYTES,
    AnswersError,
    DuplicateKeyError,
    Problem,
    describe_error,
    duplicate_problem,
    line_of,
    load_yaml,
    read_input_file,
)
from wizard.model.base import WizardModel
from wizard.onboard import MAX_ACCOUNTS_BYTES, PLACEHOLDER, CentralConfig

__all__ = ["StackSetFile", "StackSetSpec", "load_stackset_spec"]


class StackSetFile(WizardModel):
    """The accounts file, as the StackSets engine reads it."""

    answers: str | dict[str, Any]
    """Path of the shared answers file (relative to this file), or the answers inline."""
    central: CentralConfig | None = None
    """The log-archive account (owner of the central bucket and key)."""
    accounts: list[dict[str, Any]] = Field(default_factory=list)
    """The accounts engine's list; not used here (the OUs say where)."""


class StackSetSpec(WizardModel):
    """A validated accounts file for a StackSet."""

    source: str
    """Where it was read from."""
    answers: Answers
    """The answers every member account's trail follows."""
    central: CentralConfig | None = None
    """The log-archive account."""
    listed_accounts: int = 0
    """How many accounts the file lists (not used by a StackSet: the OUs say where)."""


def _yaml(text: str, source: str) -> tuple[Any, Any]:
    try:
        return load_yaml(text)
    except DuplicateKeyError as exc:
        raise AnswersError(source, [duplicate_problem(exc)]) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise AnswersError(
            source, [Problem(field="", line=None, message=f"not valid YAML/JSON: {exc}")]
        ) from None


def _placeholder_fields(value: Any, path: str = "") -> list[str]:
    if isinstance(value, str):
        return [path or "answers"] if PLACEHOLDER in value else []
    if isinstance(value, dict):
        return [
            f for k, v in value.items() for f in _placeholder_fields(v, f"{path}.{k}".strip("."))
        ]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _placeholder_fields(v, f"{path}.{i}")]
    return []


def load_stackset_spec(path: str | Path) -> StackSetSpec:
    """Read an accounts file (and the shared answers it names) for a StackSet.

    Raises:
        AnswersError: with ``file:line: field: message`` problems.
    """
    source = str(path)
    text = read_input_file(Path(path), source, MAX_ACCOUNTS_BYTES, what="accounts file")
    data, root = _yaml(text, source)
    if not isinstance(data, dict):
        raise AnswersError(
            source,
            [Problem(field="", line=1, message="the file must be a mapping with answers.")],
        )
    try:
        spec = StackSetFile.model_validate(data)
    except ValidationError as exc:
        raise AnswersError(
            source,
            [
                Problem(
                    field=".".join(str(p) for p in e["loc"]),
                    line=line_of(root, list(e["loc"])),
                    message=describe_error(e, StackSetFile)[1],
                )
                for e in exc.errors(include_url=False)
            ],
        ) from None
    if isinstance(spec.answers, str):
        answers_path = Path(path).parent / spec.answers
        answers_source = str(answers_path)
        answers_text = read_input_file(
            answers_path, answers_source, MAX_ANSWERS_BYTES, what="answers file"
        )
        shared, shared_root = _yaml(answers_text, answers_source)
        base: list[Any] = []
    else:
        shared, shared_root, answers_source, base = spec.answers, root, source, ["answers"]
    if not isinstance(shared, dict):
        raise AnswersError(
            answers_source,
            [Problem(field="", line=1, message="the shared answers must be a mapping.")],
        )
    fields = _placeholder_fields(shared)
    if fields:
        raise AnswersError(
            answers_source,
            [
                Problem(
                    field=".".join(str(p) for p in [*base, field]),
                    line=line_of(shared_root, [*base, *field.split(".")]),
                    message=f"{PLACEHOLDER} cannot be used with a StackSet: one template "
                    "serves every member account (its ARNs already name each account). "
                    "Remove it, or onboard the accounts with the accounts engine.",
                )
                for field in fields
            ],
        )
    try:
        answers = Answers.model_validate(shared)
    except ValidationError as exc:
        raise AnswersError(
            answers_source,
            [
                Problem(
                    field=".".join(str(p) for p in [*base, *e["loc"]]),
                    line=line_of(shared_root, [*base, *e["loc"]]),
                    message=describe_error(e, Answers)[1],
                )
                for e in exc.errors(include_url=False)
            ],
        ) from None
    return StackSetSpec(
        source=source, answers=answers, central=spec.central, listed_accounts=len(spec.accounts)
    )
