"""Changing an existing trail in the full-screen wizard: adopt it, or fix its failed controls.

Two ways in:

* Welcome's "Change an existing trail": pick a trail; it is read into answers (in a thread
  worker, :func:`wizard.account.adopt.adopt_trail`) and the wizard opens on its first step
  with those answers. Every step starts from the trail's current values, and a panel at the
  top of each step lists what was changed there (``Log file validation: yes, changed (was:
  no)``, :mod:`screens.common.changes`); the review lists every change.
* Trail health's "Fix failing controls": the trail is read with its fixes
  (:func:`wizard.health.fixes.read_fixes`); the Fixes screen lists each one with why and what
  it means, each a checkbox that can be cleared; Continue opens the review with the answers
  the kept fixes make (Back from there walks the steps, each marking its changes).

The state carries an :class:`Adoption`: the trail as read, the draft it was read into (what
changes are marked against) and the fixes kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from screens.tui.adopting import Adoption
from screens.tui.base import StepScreen, wizard_app
from screens.tui.widgets.footer import StepFooter
from screens.tui.widgets.wrap import Breakable

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from screens.tui.state import WizardState
    from wizard.account.adopt import Adopted
    from wizard.account.discovery import TrailFacts
    from wizard.health.fixes import TrailFixes

# ------------------------------------------------------------------ opening the wizard


def adoption_of(state: WizardState) -> Adoption | None:
    """The existing trail the state's wizard is changing, if any."""
    return state.adoption


def open_on_trail(node: DOMNode, adoption: Adoption, answers: Any, step: str) -> None:
    """Start the wizard over on an existing trail's answers, at ``step``.

    Any screen over the steps (Trail health, the Fixes screen) is closed first; the step
    then replaces the step under them.
    """
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.guide import draft_from_answers

    app = wizard_app(node)
    while len(app.screen_stack) > 1 and not isinstance(app.screen, StepScreen):
        app.pop_screen()
    state = app.state.with_(
        draft=draft_from_answers(answers),
        adoption=adoption,
        plan=None,
        discovery=None,
        outcome=None,
        dry_run_calls=None,
    )
    app.started_with = state.draft
    app.go_to(step, state)


def _failure(error: BaseException) -> str:
    """What went wrong, in words (an AWS error explained, a refusal as adopt says it)."""
    # Deferred for start-up time: boto3/botocore load only when AWS is called.
    from wizard.account.adopt import AdoptError
    from wizard.aws.session import explain_aws_error
    from wizard.ports import AwsError

    if isinstance(error, AdoptError):
        return error.message
    if isinstance(error, AwsError):
        return explain_aws_error(error)
    raise error


def _in_thread(node: Any, work: Callable[[], Any], done: Callable[[Any], None], group: str) -> None:
    """Run ``work`` in a thread worker of ``node``; ``done`` gets its result (or the error's
    text) back on the UI thread, unless the worker was cancelled."""

    def run() -> None:
        worker = get_current_worker()
        try:
            result: Any = work()
        except Exception as exc:  # said in words by _failure, which re-raises a bug
            result = _failure(exc)
        if not worker.is_cancelled:
            node.app.call_from_thread(done, result)

    node.run_worker(run, thread=True, exclusive=True, group=group)


def adopt_trail_from(screen: Any, trail_arn: str) -> None:
    """Read ``trail_arn`` into answers (in a worker of ``screen``), then open the wizard."""
    engine = wizard_app(screen).backend.engine
    screen.notify(f"Reading {trail_arn.rsplit('/', 1)[-1]}'s settings…", timeout=3)

    def work() -> Adopted:
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.account.adopt import adopt_trail

        return adopt_trail(engine.caller, engine.ctx, trail_arn, callers=engine.callers)

    def done(result: Any) -> None:
        if isinstance(result, str):
            screen.notify(result, title="Cannot change that trail", severity="error", timeout=10)
            return
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.guide import draft_from_answers

        adoption = Adoption(adopted=result, baseline=draft_from_answers(result.answers))
        for note in result.notes:
            screen.notify(note, title="Note", timeout=10)
        open_on_trail(screen, adoption, result.answers, "trail")

    _in_thread(screen, work, done, "adopt")


def fix_trail_from(screen: Any, trail_arn: str) -> None:
    """Read ``trail_arn`` and its fixes (in a worker of ``screen``), then show the fixes."""
    app = wizard_app(screen)
    engine = app.backend.engine
    screen.notify("Reading the trail and working out its fixes…", timeout=3)

    def work() -> TrailFixes:
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.health.fixes import read_fixes

        return read_fixes(engine.caller, engine.ctx, trail_arn, callers=dict(engine.callers))

    def done(result: Any) -> None:
        if isinstance(result, str):
            screen.notify(result, title="Cannot fix that trail", severity="error", timeout=10)
            return
        app.push_screen(FixesScreen(result))

    _in_thread(screen, work, done, "fixes")


# ------------------------------------------------------------------ picking a trail


class TrailPicker(ModalScreen[str | None]):
    """Pick one of the account's trails to change; dismisses with its ARN (None: cancel)."""

    DEFAULT_CSS = """
    TrailPicker { align: center middle; }
    TrailPicker > #picker {
        width: 90; max-width: 95%; height: auto; max-height: 90%; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    TrailPicker #picker-title { text-style: bold; margin-bottom: 1; }
    TrailPicker OptionList { height: auto; max-height: 14; }
    TrailPicker #picker-hint { color: $text-muted; margin-top: 1; }
    TrailPicker #picker-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, trails: list[TrailFacts]) -> None:
        super().__init__()
        self.trails = sorted(trails, key=lambda t: (t.name, t.home_region))

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Label("Change an existing trail", id="picker-title")
            yield OptionList(
                *[
                    Option(
                        f"{t.name}  ({t.home_region}, "
                        f"{'multi-region' if t.multi_region else 'one region'}"
                        f"{', organization' if t.organization else ''}"
                        f"{', logs to ' + t.bucket if t.bucket else ''})",
                        id=t.arn,
                    )
                    for t in self.trails
                ],
                id="picker-trails",
            )
            yield Static(
                "Its settings are read into the wizard's answers; each step starts from them "
                "and marks what you change. Nothing changes until you apply on the review.",
                id="picker-hint",
            )
            with Horizontal(id="picker-buttons"):
                yield Button("Cancel", id="picker-cancel")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#picker-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        """Close without picking."""
        self.dismiss(None)


def pick_and_adopt(screen: Any, trails: list[TrailFacts]) -> None:
    """Welcome's "Change an existing trail": pick one, read it, open the wizard on it."""
    if not trails:
        screen.notify("This account has no trail to change yet.", severity="warning")
        return

    def picked(arn: str | None) -> None:
        if arn:
            adopt_trail_from(screen, arn)

    screen.app.push_screen(TrailPicker(trails), picked)


# ------------------------------------------------------------------ the fixes


class FixesScreen(Screen[None]):
    """A trail's fixes, each with why and what it means, each one a checkbox to keep it."""

    DEFAULT_CSS = """
    FixesScreen { layout: vertical; }
    FixesScreen #fixes-body { height: 1fr; padding: 0 1; }
    FixesScreen #fixes-intro { margin: 1 0; }
    FixesScreen .fix { margin-top: 1; }
    FixesScreen .fix-detail { padding-left: 4; color: $text-muted; }
    FixesScreen .fixes-section { text-style: bold; margin-top: 1; }
    FixesScreen #fixes-actions { height: 3; align-horizontal: right; padding: 0 1; }
    FixesScreen #fixes-actions Button { margin-left: 1; min-width: 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Back")]

    def __init__(self, found: TrailFixes) -> None:
        super().__init__()
        self.found = found

    def compose(self) -> ComposeResult:
        fixes = self.found.fixes
        adopted = self.found.adopted
        with Horizontal(id="titlebar"):
            yield Label(f"cloudtrail-wizard  Fix failing controls: {fixes.trail}", id="title")
        with VerticalScroll(id="fixes-body"):
            if fixes.choices:
                intro = (
                    f"These changes to {fixes.trail} (home region {adopted.home_region}) make "
                    "its failed controls pass. Clear any you do not want; Continue shows the "
                    "plan for review. Nothing changes until you apply there."
                )
            else:
                intro = (
                    f"None of {fixes.trail}'s failed controls can be passed by changing its "
                    "answers: what to do by hand is below."
                    if fixes.manual
                    else f"{fixes.trail} passes every control that could be checked."
                )
            yield Static(intro, id="fixes-intro")
            for choice in fixes.choices:
                yield Checkbox(choice.change, value=True, id=f"fix-{choice.id}", classes="fix")
                yield Static(
                    Breakable(Text(f"{choice.passes()}.\n{choice.detail}")),
                    classes="fix-detail",
                )
            if fixes.manual:
                yield Static(
                    "To do by hand (the answers cannot change these)", classes="fixes-section"
                )
                for manual in fixes.manual:
                    yield Static(
                        Breakable(
                            Text.assemble(
                                ("✗ ", "bold red"),
                                (f"{manual.label} ({manual.title})", "bold"),
                                f", failed now: {manual.why}.\n{manual.how}",
                            )
                        )
                    )
            notes = [*fixes.notes, *adopted.notes]
            if notes:
                yield Static("Notes", classes="fixes-section")
                for note in notes:
                    yield Static(Breakable(Text(f"• {note}")))
        with Horizontal(id="fixes-actions"):
            yield Button("Back", id="fixes-back")
            yield Button(
                "Continue to review",
                id="fixes-continue",
                variant="primary",
                disabled=not fixes.choices,
            )
        yield StepFooter()

    def on_mount(self) -> None:
        boxes = self.query(Checkbox)
        (boxes.first() if boxes else self.query_one("#fixes-back", Button)).focus()

    def chosen(self) -> list[str]:
        """The ids of the fixes still ticked."""
        return [
            c.id for c in self.found.fixes.choices if self.query_one(f"#fix-{c.id}", Checkbox).value
        ]

    @on(Checkbox.Changed)
    def _ticked(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.query_one("#fixes-continue", Button).disabled = not self.chosen()

    @on(Button.Pressed, "#fixes-back")
    def _back(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()

    def action_close(self) -> None:
        """Back to Trail health, nothing chosen."""
        self.dismiss()

    @on(Button.Pressed, "#fixes-continue")
    def _continue(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_continue()

    def action_continue(self) -> None:
        """Open the review on the trail's answers with the ticked fixes."""
        # Deferred for start-up time: pydantic models load only when this runs.
        from pydantic import ValidationError

        from wizard.guide import draft_from_answers

        chosen = self.chosen()
        if not chosen:
            self.notify("Tick at least one fix, or go Back.", severity="warning")
            return
        try:
            fixed = self.found.fixed(chosen)
        except ValidationError as exc:
            self.notify(str(exc), title="These fixes do not fit together", severity="error")
            return
        adopted = self.found.adopted
        adoption = Adoption(
            adopted=adopted,
            baseline=draft_from_answers(adopted.answers),
            fixes=self.found,
            chosen=tuple(chosen),
        )
        open_on_trail(self, adoption, fixed, "review")
