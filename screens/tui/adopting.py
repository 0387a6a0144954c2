"""The existing trail a wizard is changing, and the panel that marks each step's changes.

Kept apart from :mod:`screens.tui.adoption` (its screens and workers): the state names
:class:`Adoption`, and every step shows the panel, so this module imports no screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from screens.common.changes import changes
from screens.tui.widgets.wrap import Breakable
from wizard.guide import Draft

if TYPE_CHECKING:
    from wizard.account.adopt import Adopted
    from wizard.health.fixes import TrailFixes

CHANGES_ID = "changes"
"""Id of the panel that lists a step's changes."""


@dataclass(frozen=True)
class Adoption:
    """The existing trail the wizard is changing."""

    adopted: Adopted
    """The trail as read (its answers, where and when, the notes)."""
    baseline: Draft
    """The draft it was read into: what changes are marked against."""
    fixes: TrailFixes | None = None
    """Its fixes, when the wizard was opened to fix its failed controls."""
    chosen: tuple[str, ...] = ()
    """The ids of the fixes kept."""

    @property
    def trail(self) -> str:
        """The trail's name."""
        return self.adopted.answers.trail.name

    def headline(self) -> str:
        """``Changing the existing trail X (home region R), as read at T.``."""
        return (
            f"Changing the existing trail {self.trail} (home region "
            f"{self.adopted.home_region}), as read at {self.adopted.read_at}."
        )

    def chosen_fixes(self) -> list[str]:
        """The controls the kept fixes pass, once each (``CloudTrail.1``, ``CloudTrail.4``)."""
        if self.fixes is None:
            return []
        controls = [c.control for c in self.fixes.fixes.choices if c.id in self.chosen]
        return list(dict.fromkeys(controls))


def changes_text(adoption: Adoption, draft: Draft, step_id: str) -> Text:
    """The panel's text: the trail being changed, then this step's changes (or none yet)."""
    text = Text(adoption.headline(), style="bold")
    fixes = adoption.chosen_fixes()
    if fixes and step_id == "review":
        text.append("\nFixes chosen for: ", style="bold")
        text.append(", ".join(fixes) + ".")
    found = changes(adoption.baseline, draft, step_id)
    where = "" if step_id == "review" else " on this step"
    if not found:
        text.append(f"\nNo change{where} yet: every value shown is the trail's current one.")
        return text
    text.append(f"\nChanged{where}:")
    for change in found:
        text.append("\n• ")
        text.append(change.label, style="bold")
        text.append(f": {change.now}, ")
        text.append(f"changed (was: {change.was})", style="bold yellow")
        if change.warning:
            text.append(f"; {change.warning}", style="italic")
    return text


def changes_panel(adoption: Adoption, draft: Draft, step_id: str) -> Widget:
    """The panel at the top of a step's form (see :func:`refresh_changes`).

    It scrolls past a few lines (the review lists every change, above the plan).
    """
    panel = VerticalScroll(
        Static(Breakable(changes_text(adoption, draft, step_id)), id=CHANGES_ID),
        id=f"{CHANGES_ID}-box",
        classes="changes",
    )
    # Set here, not in app.tcss: only a wizard changing an existing trail shows it.
    panel.styles.border_left = ("thick", "goldenrod")
    panel.styles.padding = (0, 1)
    panel.styles.margin = (0, 0, 1, 0)
    panel.styles.height = "auto"
    panel.styles.max_height = 8
    return panel


def refresh_changes(screen: Any) -> None:
    """Show a step's changes as its fields are now (``screen`` is a step screen).

    The step's own ``collect`` reads its fields, so what is marked is what Next would keep.
    """
    adoption = screen.state.adoption
    if adoption is None or not screen.is_attached:
        return
    panels = screen.query(f"#{CHANGES_ID}")
    if not panels:
        return
    state, _errors = screen.collect()
    panels.first(Static).update(Breakable(changes_text(adoption, state.draft, screen.STEP_ID)))
