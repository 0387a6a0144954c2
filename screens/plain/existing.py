"""Plain mode on an existing trail: change it, or fix its failed controls, as the TUI does.

The Welcome step lists the account's trails and says how: give one of their names as the
trail name. The wizard then asks what to do with it:

* **Change it**: its configuration is read into the answers (:mod:`wizard.account.adopt`);
  every question starts from its current value, and after each step the wizard says what
  changed there (``Log file validation: yes, changed (was: no)``,
  :mod:`screens.common.changes`). The review starts with every change.
* **Fix its failing controls**: the fixes are listed, each with why and what it means
  (:mod:`wizard.health.fixes`), and asked as a checklist (every fix ticked; untick what you do
  not want). The review follows at once, or, if asked for, every step first.
* **A new trail by this name** in another region: the wizard goes on as for any new trail.

This module asks through the wizard it is given (its ``line``, ``para``, ``ask``, draft and
backend): the plain wizard calls it, so it must not import the wizard's module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from screens.common.changes import changes
from wizard import guide
from wizard.ports import AwsError

if TYPE_CHECKING:
    from screens.common.backend import Backend
    from screens.plain.prompts import Prompter
    from wizard.account.adopt import Adopted
    from wizard.account.discovery import TrailFacts
    from wizard.health.fixes import TrailFixes

PROMPT_EXISTING = "already exists. What do you want to do?"
"""The end of the question asked when the trail name is an existing trail's."""
PROMPT_WHICH = "Which of the trails by that name?"
"""Asked when trails by that name exist in several regions."""
PROMPT_FIXES = "Which fixes should the answers make? (untick what you do not want)"
"""The checklist of fixes."""
PROMPT_WALK = "Go through every step before the review (each starts from these values)?"
"""Asked after choosing fixes: the review at once, or every step first."""

HINT = (
    "To change one of these trails, or fix its failing controls, give its name as the trail "
    "name: the wizard then starts from its current settings."
)
"""Said under the list of existing trails."""

CHOICES: tuple[tuple[str, str], ...] = (
    ("change", "Change it: every question starts from its current settings"),
    ("fix", "Fix its failing controls: choose the fixes, then review"),
    ("new", "A new trail by this name, in another region"),
)
"""What can be done with an existing trail: (value, title)."""


class Asker(Protocol):
    """What this module needs of the plain wizard."""

    backend: Backend
    draft: guide.Draft
    trails: list[TrailFacts]
    existing: ExistingTrail | None
    skip_steps: bool

    def line(self, text: str = "") -> None:
        """Write one line."""

    def para(
        self, text: str, indent: str = "", *, hang: str | None = None, blank: bool = True
    ) -> None:
        """Write a wrapped paragraph."""

    @property
    def ask(self) -> Prompter:
        """The prompter."""


@dataclass(frozen=True)
class ExistingTrail:
    """The existing trail the plain wizard is changing."""

    adopted: Adopted
    """The trail as read."""
    baseline: guide.Draft
    """The draft it was read into: what changes are marked against."""
    fixes: TrailFixes | None = None
    """Its fixes, when fixing."""
    chosen: tuple[str, ...] = ()
    """The fixes kept."""


def offer(wizard: Asker, name: str) -> None:
    """After the trail name: when it is an existing trail's, ask what to do with it."""
    if wizard.existing is not None:
        return  # already changing one: a new name is a change like any other
    same = [t for t in wizard.trails if t.name == name]
    if not same:
        return
    trail = same[0]
    if len(same) > 1:
        options = [(f"{t.name} in {t.home_region}", t.arn) for t in same]
        arn = wizard.ask.select(PROMPT_WHICH, options, default=same[0].arn)
        trail = next(t for t in same if t.arn == arn)
    options = [(title, value) for value, title in CHOICES]
    what = wizard.ask.select(
        f"Trail {trail.name} (home region {trail.home_region}) {PROMPT_EXISTING}",
        options,
        default="change",
    )
    if what == "change":
        adopt(wizard, trail.arn)
    elif what == "fix":
        fix(wizard, trail.arn)


def _explain(error: Exception) -> str:
    # Deferred for start-up time: boto3/botocore load only when AWS is called.
    from wizard.account.adopt import AdoptError
    from wizard.aws.session import explain_aws_error

    if isinstance(error, AdoptError):
        return error.message
    if isinstance(error, AwsError):
        return explain_aws_error(error)
    raise error


def adopt(wizard: Asker, arn: str) -> bool:
    """Read the trail into the answers; True when it was read."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.account.adopt import AdoptError, adopt_trail

    engine = wizard.backend.engine
    wizard.line("Reading the trail's settings...")
    try:
        adopted = adopt_trail(engine.caller, engine.ctx, arn, callers=engine.callers)
    except (AdoptError, AwsError) as exc:
        wizard.para(f"Cannot change that trail: {_explain(exc)} Going on with a new trail.")
        return False
    _start_from(wizard, adopted, adopted.answers)
    wizard.para(
        f"Changing the existing trail {adopted.answers.trail.name} (home region "
        f"{adopted.home_region}). Each question starts from its current value; after each "
        "step the wizard says what you changed."
    )
    return True


def _start_from(
    wizard: Asker,
    adopted: Adopted,
    answers: Any,
    fixes: TrailFixes | None = None,
    chosen: tuple[str, ...] = (),
) -> None:
    wizard.draft = guide.draft_from_answers(answers)
    wizard.existing = ExistingTrail(
        adopted=adopted,
        baseline=guide.draft_from_answers(adopted.answers),
        fixes=fixes,
        chosen=chosen,
    )
    for note in adopted.notes:
        wizard.para(f"Note: {note}", indent="  ", hang="    ")


def fix(wizard: Asker, arn: str) -> bool:
    """Read the trail and its fixes, ask which to keep; True when the answers now hold them."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from pydantic import ValidationError

    from wizard.account.adopt import AdoptError
    from wizard.health.fixes import read_fixes

    engine = wizard.backend.engine
    wizard.line("Reading the trail and working out the fixes of its failed controls...")
    try:
        found = read_fixes(engine.caller, engine.ctx, arn, callers=dict(engine.callers))
    except (AdoptError, AwsError) as exc:
        wizard.para(f"Cannot fix that trail: {_explain(exc)} Going on with a new trail.")
        return False
    fixes = found.fixes
    wizard.line()
    if not fixes.choices:
        wizard.para(
            f"None of {fixes.trail}'s failed controls can be passed by changing its answers."
            if fixes.manual
            else f"{fixes.trail} passes every control that could be checked: nothing to fix."
        )
    for number, choice in enumerate(fixes.choices, 1):
        wizard.para(f"{choice.change}", indent=f"{number:2}. ", hang="    ", blank=False)
        wizard.para(f"{choice.passes()}.", indent="    ", blank=False)
        wizard.para(choice.detail, indent="    ")
    if fixes.manual:
        wizard.line("To do by hand (the answers cannot change these):")
        for manual in fixes.manual:
            wizard.para(
                f"{manual.label} ({manual.title}), failed now: {manual.why}. {manual.how}",
                indent="  - ",
                hang="    ",
                blank=False,
            )
        wizard.line()
    for note in fixes.notes:
        wizard.para(f"Note: {note}", indent="  ", hang="    ", blank=False)
    chosen: list[str] = []
    if fixes.choices:
        options = [(c.change, c.id) for c in fixes.choices]
        chosen = list(
            wizard.ask.checkbox(PROMPT_FIXES, options, chosen=[c.id for c in fixes.choices])
        )
    try:
        fixed = found.fixed(chosen)
    except ValidationError as exc:  # a fix contradicting the trail's answers: said, not raised
        wizard.para(f"These fixes do not fit together: {exc}")
        fixed = found.adopted.answers
        chosen = []
    _start_from(wizard, found.adopted, fixed, found, tuple(chosen))
    if not chosen:
        wizard.para("No fix chosen: the questions start from the trail's current settings.")
        return True
    wizard.skip_steps = not wizard.ask.confirm(PROMPT_WALK, default=False)
    return True


def print_step_changes(wizard: Asker, step_id: str) -> None:
    """After a step, when changing an existing trail: what changed on it."""
    existing = wizard.existing
    if existing is None:
        return
    found = changes(existing.baseline, wizard.draft, step_id)
    wizard.line()
    if not found:
        wizard.line("No change on this step: every value is the trail's current one.")
        return
    wizard.line("Changed on this step:")
    for change in found:
        wizard.para(change.sentence(), indent="  - ", hang="    ", blank=False)


def print_all_changes(wizard: Asker) -> None:
    """Before the review's plan: which trail is being changed, the fixes, every change."""
    existing = wizard.existing
    if existing is None:
        return
    adopted = existing.adopted
    wizard.line()
    wizard.para(
        f"Changing the existing trail {adopted.answers.trail.name} (home region "
        f"{adopted.home_region}), as read at {adopted.read_at}.",
        blank=False,
    )
    if existing.fixes is not None and existing.chosen:
        kept = [c for c in existing.fixes.fixes.choices if c.id in existing.chosen]
        wizard.para(
            "Fixes chosen: " + "; ".join(f"{c.change} ({c.control})" for c in kept) + ".",
            blank=False,
        )
    found = changes(existing.baseline, wizard.draft)
    if not found:
        wizard.line("Nothing changed: the plan should have nothing to do.")
        return
    wizard.line("Changed:")
    for change in found:
        wizard.para(change.sentence(), indent="  - ", hang="    ", blank=False)
