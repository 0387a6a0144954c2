"""The TUI's state: the answers being collected and what the account told us.

The App owns one :class:`WizardState` and replaces it whole (``with_``); screens never
mutate it in place, so going back always finds the answers as they were left.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypedDict

from screens.common.backend import AccountInfo
from wizard.guide import Draft, answers_data

if TYPE_CHECKING:  # heavy models: imported where used, after the first frame
    from typing_extensions import Unpack

    from screens.tui.adopting import Adoption
    from wizard.account.discovery import Discovery
    from wizard.engine import Outcome
    from wizard.model.answers import Answers
    from wizard.model.plan import Plan


class StateChanges(TypedDict, total=False):
    """The fields :meth:`WizardState.with_` may replace, with their types."""

    draft: Draft
    account: AccountInfo | None
    plan: Plan | None
    discovery: Discovery | None
    outcome: Outcome | None
    dry_run_calls: int | None
    adoption: Adoption | None


@dataclass(frozen=True)
class WizardState:
    """Everything the screens share."""

    draft: Draft = field(default_factory=dict)
    """Answers collected so far (section -> field -> value)."""
    account: AccountInfo | None = None
    """The connected account, once known."""
    plan: Plan | None = None
    """The plan built on the review screen."""
    discovery: Discovery | None = None
    """Discovery behind the plan."""
    outcome: Outcome | None = None
    """What apply ended with."""
    dry_run_calls: int | None = None
    """Number of changes a dry run recorded (and did not send)."""
    adoption: Adoption | None = None
    """The existing trail being changed (its answers as read, the fixes kept), if any."""

    def with_(self, **changes: Unpack[StateChanges]) -> WizardState:
        """A copy with some fields replaced."""
        return replace(self, **changes)

    def with_answer(self, key: str, value: Any) -> WizardState:
        """A copy with one dotted answer set (plan and outcome are dropped: answers changed).

        Args:
            key: The dotted answers path (``trail.name``).
            value: What the question stores: text, a flag, a list or None, by question (the
                draft is untyped until :meth:`answers` validates it, hence ``Any``).
        """
        draft = copy.deepcopy(self.draft)
        section, _, name = key.partition(".")
        draft.setdefault(section, {})[name] = value
        return replace(self, draft=draft, plan=None, discovery=None, outcome=None)

    def answers(self) -> Answers:
        """The draft validated as Answers.

        Raises:
            ValidationError: the draft is not complete or not valid yet.
        """
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.model.answers import Answers

        return Answers.model_validate(answers_data(self.draft))

    def answers_or_none(self) -> Answers | None:
        """The answers, or None while the draft is incomplete."""
        try:
            return self.answers()
        except ValueError:  # pydantic's ValidationError is a ValueError
            return None
