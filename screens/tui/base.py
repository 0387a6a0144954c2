"""What every step screen shares: the frame, the help panel, Back/Next and validation.

Also the one typed way to the running app, :func:`wizard_app`. This module must not import
:mod:`screens.tui.app` at run time: the app imports the step screens, which import this
module. It needs the app's type only, which mypy reads under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker

from screens.tui import keys
from screens.tui.state import WizardState
from screens.tui.widgets import sizes
from screens.tui.widgets.footer import StepFooter
from screens.tui.widgets.heap import frozen_since, release_heap, times_settled
from screens.tui.widgets.help_text import help_widget
from wizard import guide
from wizard.guide import Question, StepGuide

if TYPE_CHECKING:
    # pydantic loads with the answers models, after the first frame.
    from pydantic import ValidationError
    from textual.types import AnimationLevel, CallbackType, EasingFunction

    # The type only: importing the app here would close the circle app -> steps -> base.
    from screens.tui.app import WizardApp


def wizard_app(node: MessagePump) -> WizardApp:
    """The running :class:`~screens.tui.app.WizardApp` of a screen or widget, typed.

    Every screen of this package runs inside a ``WizardApp`` (built by ``make_app``), so this
    is a cast, not a check: it costs nothing and imports nothing.

    Args:
        node: A screen or widget of the running app.

    Returns:
        The app, with its state, backend and navigation.
    """
    return cast("WizardApp", node.app)


class GuideValidator(Validator):
    """Run a guide question's validator inside an :class:`~textual.widgets.Input`.

    The message is the guide's own, so the TUI, the plain prompts and the answers file all
    say the same thing about the same mistake.
    """

    def __init__(self, check: Callable[[str], str | None]) -> None:
        """Wrap ``check``.

        Args:
            check: Returns None when the value is fine, else what is wrong and how to fix it.
        """
        super().__init__()
        self.check = check

    def validate(self, value: str) -> ValidationResult:
        """Validate the typed text (surrounding blanks ignored)."""
        problem = self.check(value.strip())
        return self.failure(problem) if problem else self.success()


def validation_messages(exc: ValidationError) -> list[str]:
    """Pydantic errors as ``field.path: message`` lines, the way the command line prints them.

    Args:
        exc: The validation error of :meth:`WizardState.answers` or a section model.

    Returns:
        One line per error.
    """
    lines = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
        msg = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{field}: {msg}" if field else msg)
    return lines


def field_label(widget: Widget, form: Widget) -> Widget | None:
    """The ``field-label`` a field of ``form`` sits under, if it has one.

    The label is the field's nearest shown sibling above it or, for the first widget of a
    group (the filter box of a picker), the one above the group. Anything else above it
    (another field, a hint) means the field has no label of its own.

    Args:
        widget: A widget inside ``form``.
        form: The scrolling form.

    Returns:
        The label, or None.
    """
    node = widget
    while node is not form and isinstance(node.parent, Widget):
        siblings = [child for child in node.parent.children if child.display]
        index = siblings.index(node) if node in siblings else 0
        if index:
            above = siblings[index - 1]
            return above if above.has_class("field-label") else None
        node = node.parent
    return None


class Cancellable(Protocol):
    """A picker's listing (:class:`~wizard.account.inventory.BucketListing`, ``KeyListing``)."""

    def cancel(self) -> None:
        """Stop: no new request."""


class StepScreen(Screen[None]):
    """Base of every step: subclasses fill :meth:`compose_body` and :meth:`collect`."""

    STEP_ID: ClassVar[str] = ""
    """Id of the step in :data:`wizard.guide.STEPS`."""
    SHOW_NAV: ClassVar[bool] = True
    """Show the Back/Next bar."""
    NEXT_LABEL: ClassVar[str] = "Next"
    """Label of the Next button."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys.HELP, "toggle_help", "Help"),
        Binding(keys.NEXT, "next", "Next", show=True, priority=True),
        # Priority: Back works from inside a text field too (as Next does).
        Binding(keys.BACK, "back", "Back", show=True, priority=True),
        Binding(keys.SAVE, "save_answers", "Save answers"),
    ]

    def __init__(
        self,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 (Textual's keyword)
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._field_of_question: dict[str, str] = {}
        """Guide question key -> id of the text field that asks it (see compose_text)."""
        self._problem_fields: list[str] = []
        """Ids of the widgets the last collect() found a problem in (see flag_problem)."""
        self._heap_mark = times_settled()
        """When this screen was made, in the count of the heap's settlements: a screen
        settled with the heap since is garbage only a tidy frees once it goes (see
        :meth:`on_unmount`)."""
        self._resumed_before = False
        """Shown once already (see :meth:`_first_shown`)."""
        self._resized_before = False
        """Resized once already (see :meth:`_resized_apart`)."""

    @property
    def wizard(self) -> WizardApp:
        """The app, typed (see :func:`wizard_app`)."""
        return wizard_app(self)

    @property
    def state(self) -> WizardState:
        """The app's current state."""
        return self.wizard.state

    @property
    def guide(self) -> StepGuide:
        """This step's questions and help."""
        return guide.step(self.STEP_ID)

    def compose(self) -> ComposeResult:
        with Horizontal(id="titlebar"):
            # The same "Step N of 8" as plain mode's headings: guide numbers the steps once.
            yield Label(f"cloudtrail-wizard  {guide.step_title(self.STEP_ID)}", id="title")
            if self.wizard.sandbox_banner:
                yield Label(" SANDBOX ", id="sandbox-banner")
        with Horizontal(id="main"):
            with VerticalScroll(id="body"):
                if self.state.adoption is not None:
                    # Deferred: only a wizard changing an existing trail needs it.
                    from screens.tui.adopting import changes_panel

                    # Changing an existing trail: what this step changes, above its fields.
                    yield changes_panel(self.state.adoption, self.state.draft, self.STEP_ID)
                yield from self.compose_body()
            with VerticalScroll(id="help-panel"):
                if self.wizard.class_link is not None:
                    # Deferred: the lab's module loads in sandbox mode only.
                    from screens.tui.lab import LabPanel

                    # A lab's goal and hints, the trainer's message: above the step's help.
                    yield LabPanel()
                # "<account>" and the like would be read as HTML tags and vanish: escape them.
                yield help_widget(self.guide.help.replace("<", "\\<"))
        yield Static("", id="errors")
        if self.SHOW_NAV:
            with Horizontal(id="nav"):
                yield Button("Back", id="back")
                yield Button(self.NEXT_LABEL, id="next", variant="primary")
        yield StepFooter()

    def compose_body(self) -> ComposeResult:
        """The step's own widgets."""
        yield from ()

    def on_mount(self) -> None:
        self.sync_help()

    @on(events.ScreenResume)
    async def _first_shown(self, event: events.ScreenResume) -> None:
        """Shown: no restyle of the whole screen the first time, and the layout in a turn
        of the event loop of its own.

        Every widget of a new screen is styled as it is mounted, and a step screen is made
        new for every visit and resumed once its widgets are mounted: Textual's restyle of
        every node then recomputed the same styles (40% of the event loop's longest stall
        on Next; Storage has 140 nodes). A screen resumed later (a question closed over it)
        is restyled as Textual does.

        Textual's own handler, the screen's first layout and frame, runs after this one (a
        subclass's handlers come first). A screen's messages are handled without a break
        while its queue has any, and mounting queues a hundred or more: yielding here lets
        a key pressed meanwhile be read between them and the layout.
        """
        if not self._resumed_before:
            self._resumed_before = True
            event.refresh_styles = False
        await asyncio.sleep(0)

    @on(events.Resize)
    async def _resized_apart(self, event: events.Resize) -> None:
        """No second layout for the screen's first Resize; later ones not right after the
        layout before.

        The first layout sends the screen a Resize with the size it was just laid out at,
        and Textual laid the whole screen out again for it (15-25 ms of Next): the widgets
        whose size changed meanwhile ask for a layout themselves, which the screen's next
        update makes, and the size classes are already the ones for that size (see
        :meth:`WizardApp._sized`). Any other Resize is Textual's, two turns of the event
        loop later: one turn later it ran among the Show and Resize events of every widget
        of the screen, made ready by the layout before, and a key pressed meanwhile waited
        for both. Textual's handler runs after this one.
        """
        first, self._resized_before = not self._resized_before, True
        if (
            first
            and event.size == self.app.size
            and self.has_class(*sizes.breakpoint_classes(*event.size))
        ):
            event.prevent_default()  # (this class's own handlers still run)
            return
        for _turn in range(2):
            await asyncio.sleep(0)

    def on_unmount(self) -> None:
        # Set aside with the heap while shown (the review's or a picker's settle, the app's
        # start-up freeze, an idle tidy): its widgets are cycles the collector no longer
        # walks. Say so, and the app frees them at its next idle moment.
        if frozen_since(self._heap_mark):
            release_heap()

    def on_resize(self, event: events.Resize) -> None:
        self.sync_help()

    @property
    def narrow(self) -> bool:
        """The terminal has no room for the help panel beside the form."""
        return sizes.is_narrow(self.app.size.width)

    def sync_help(self) -> None:
        """Show the help panel as asked for at this width (a narrow terminal asks apart).

        Beside the form when the terminal is wide; when it is narrow the panel is hidden
        unless the person asked for it there, and then app.tcss puts it under the form. A
        screen that offers no help (its toggle disabled) keeps it hidden.
        """
        wanted = self.wizard.show_help_narrow if self.narrow else self.wizard.show_help
        offered = self.check_action("toggle_help", ()) is not False
        self.query_one("#help-panel").display = wanted and offered

    @on(events.DescendantFocus)
    def _keep_label_in_view(self, event: events.DescendantFocus) -> None:
        """Scroll the form so a focused field's label shows with it (once laid out)."""
        self.call_after_refresh(self.scroll_field_into_view, event.widget)

    def scroll_to_center(
        self,
        widget: Widget,
        animate: bool = True,
        *,
        speed: float | None = None,
        duration: float | None = None,
        easing: EasingFunction | str | None = None,
        force: bool = False,
        origin_visible: bool = True,
        on_complete: CallbackType | None = None,
        level: AnimationLevel = "basic",
        immediate: bool = False,
    ) -> None:
        """Textual's scroll to a newly focused widget; a field of the form keeps its label.

        Textual calls this when focus lands on a widget not wholly in view, sometimes before
        the new screen is laid out: it then scrolled (animated) to where the field's label
        was just off the top. A field of the form is scrolled by
        :meth:`scroll_field_into_view` instead, once laid out.
        """
        if self.query("#body") and self.query_one("#body") in widget.ancestors:
            self.call_after_refresh(self.scroll_field_into_view, widget)
            return
        super().scroll_to_center(
            widget,
            animate,
            speed=speed,
            duration=duration,
            easing=easing,
            force=force,
            origin_visible=origin_visible,
            on_complete=on_complete,
            level=level,
            immediate=immediate,
        )

    # ------------------------------------------------------------------ navigation

    def collect(self) -> tuple[WizardState, list[str]]:
        """Read the widgets into a new state; return it with the validation errors."""
        return self.state, []

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "next":
            event.stop()
            self.action_next()
        elif event.button.id == "back":
            event.stop()
            self.action_back()

    def action_next(self) -> None:
        self._problem_fields = []
        state, errors = self.collect()
        if errors:
            self.show_errors(errors)
            self.focus_first_problem()
            return
        self.show_errors([])
        self.wizard.go_next(self.STEP_ID, state)

    def action_back(self) -> None:
        state, _errors = self.collect()  # keep what was typed, valid or not
        self.wizard.go_back(self.STEP_ID, state)

    def action_toggle_help(self) -> None:
        if self.narrow:
            self.wizard.show_help_narrow = not self.wizard.show_help_narrow
        else:
            self.wizard.show_help = not self.wizard.show_help
        self.sync_help()

    def scroll_field_into_view(self, widget: Widget) -> None:
        """Scroll the form so ``widget`` and the label above it are both in view.

        Textual scrolls a focused widget into view by itself, which can leave its label
        just above the top edge ("Trail name" was never seen on an 80x24 terminal).
        """
        # Called after a refresh: by then the person may have left the screen (Next, Back,
        # Welcome's own layout), and a form without its body has nothing to scroll.
        bodies = self.query("#body").results(VerticalScroll) if self.is_attached else iter(())
        body = next(bodies, None)
        if body is None or not widget.is_attached or body not in widget.ancestors:
            return
        label = field_label(widget, body)
        top = (label or widget).region.y
        bottom = widget.region.bottom
        view = body.scrollable_content_region
        if top < view.y:
            body.scroll_to(y=body.scroll_y - (view.y - top), animate=False)
        elif bottom > view.bottom:
            # Down far enough to show the field, never so far that its label leaves.
            body.scroll_to(y=body.scroll_y + min(bottom - view.bottom, top - view.y), animate=False)

    def action_save_answers(self) -> None:
        state, _ = self.collect()
        self.wizard.state = state
        self.wizard.action_save_answers()

    def flag_problem(self, widget_id: str) -> None:
        """Note, while collecting, that a widget (a field or a picker) holds a problem.

        Next then moves the focus to the first such widget on screen (see
        :meth:`focus_first_problem`). Fields made by :meth:`compose_text` are flagged by
        :meth:`check` itself, and a text field whose own check fails needs no flag.
        """
        self._problem_fields.append(widget_id)

    def focus_first_problem(self) -> None:
        """Focus the first field, top to bottom, that Next refused: one key from fixing it.

        That is a text field whose check fails, or a widget flagged while collecting (a
        picker to choose from); failing those, the first empty text field, which is what
        "name the ..." and "choose ..." messages ask for. Nothing moves when none is shown.
        """
        flagged = set(self._problem_fields)
        chain = self.focus_chain
        for widget in chain:
            ids = {node.id for node in (widget, *widget.ancestors) if node.id}
            if ids & flagged:
                widget.focus()
                return
            if isinstance(widget, Input) and widget.validators:
                result = widget.validate(widget.value)
                if result is not None and not result.is_valid:
                    widget.focus()
                    return
        for widget in chain:
            if isinstance(widget, Input) and not widget.value.strip():
                widget.focus()
                return

    def show_errors(self, errors: list[str]) -> None:
        """Show validation errors under the form (empty list clears them)."""
        box = self.query_one("#errors", Static)
        box.update("\n".join(f"✗ {e}" for e in errors))
        box.set_class(bool(errors), "has-errors")

    # ------------------------------------------------------------------ form helpers

    def compose_text(
        self,
        key: str,
        input_id: str,
        *,
        value: str | None = None,
        placeholder: str = "",
        prompt: str | None = None,
        check: Callable[[str], str | None] | None = None,
    ) -> ComposeResult:
        """A guide text question: label, input validated as you type, help, message line.

        Args:
            key: The guide question (its prompt, help and validator are used).
            input_id: Id of the Input; the message line is ``#<input_id>-problem``.
            value: Initial text (default: the answer so far, else the question's default).
            placeholder: Shown while the input is empty.
            prompt: Replaces the question's prompt (for a richer picker's wording).
            check: Replaces the question's validator.
        """
        q = self.question(key)
        self._field_of_question[key] = input_id
        if value is None:
            initial = self.initial(key)
            value = "" if initial is None else str(initial)
        yield from self.compose_input(
            input_id,
            prompt=prompt or q.prompt,
            value=value,
            check=check or q.validate,
            placeholder=placeholder,
            hint=q.help,
        )

    def compose_input(
        self,
        input_id: str,
        *,
        prompt: str,
        value: str,
        check: Callable[[str], str | None],
        placeholder: str = "",
        hint: str = "",
    ) -> ComposeResult:
        """A text field that is not a guide question (or reads it differently).

        Args:
            input_id: Id of the Input; the message line is ``#<input_id>-problem``.
            prompt: The label above the input.
            value: Initial text.
            check: None when the text is fine, else what is wrong and how to fix it.
            placeholder: Shown while the input is empty.
            hint: A help line under the input (none when empty).
        """
        yield Label(prompt, classes="field-label")
        yield Input(
            value=value,
            placeholder=placeholder,
            id=input_id,
            validators=[GuideValidator(check)],
            validate_on=["changed", "submitted"],
        )
        if hint:
            yield Static(hint, classes="hint")
        problem = Static("", id=f"{input_id}-problem", classes="problem")
        problem.display = False  # takes a line only while there is something to say
        yield problem

    @on(Input.Changed)
    def _show_input_problem(self, event: Input.Changed) -> None:
        """Show an input's validation message under it while typing."""
        # The summary of a refused Next is stale once the person edits: Next re-checks.
        self.show_errors([])
        if event.validation_result is None or event.input.id is None:
            return
        try:
            box = self.query_one(f"#{event.input.id}-problem", Static)
        except NoMatches:
            return
        text = " ".join(event.validation_result.failure_descriptions)
        box.update(text)
        box.display = bool(text)

    def input_value(self, input_id: str) -> str:
        """The text of an Input, surrounding blanks removed."""
        return self.query_one(f"#{input_id}", Input).value.strip()

    def check(self, key: str, value: object) -> list[str]:
        """Run a question's validator: ``[]`` when fine, else ``[message]``.

        A problem flags the question's text field, if it has one (see :meth:`flag_problem`).
        """
        problem = self.question(key).validate(value)
        if problem and key in self._field_of_question:
            self.flag_problem(self._field_of_question[key])
        return [problem] if problem else []

    # ------------------------------------------------------------------ an existing trail

    def mark_changes(self) -> None:
        """Changing an existing trail: the changes panel follows the fields, once the step's
        own handlers of the change have run (see :mod:`screens.tui.adopting`)."""
        if self.state.adoption is not None:
            # Deferred: only a wizard changing an existing trail needs it.
            from screens.tui.adopting import refresh_changes

            self.call_after_refresh(refresh_changes, self)

    # Handlers by name (no widget class imported for them): every kind of field a step has.
    def on_input_changed(self) -> None:
        self.mark_changes()

    def on_switch_changed(self) -> None:
        self.mark_changes()

    def on_radio_set_changed(self) -> None:
        self.mark_changes()

    def on_select_changed(self) -> None:
        self.mark_changes()

    def on_checkbox_changed(self) -> None:
        self.mark_changes()

    def on_choice_table_chosen(self) -> None:
        self.mark_changes()

    # ------------------------------------------------------------------ lookups

    def lookups_running(self) -> list[Worker[Any]]:
        """This screen's workers that have not finished yet (whatever each returns)."""
        return [w for w in self.workers if w.node is self and not w.is_finished]

    def action_cancel_lookup(self) -> None:
        """Cancel this screen's running lookups (screens that run lookups bind Escape)."""
        for worker in self.lookups_running():
            worker.cancel()

    def stop_listing(
        self,
        group: str,
        listing: Cancellable | None,
        stopped: Callable[[], None],
        *,
        showing: bool = True,
    ) -> None:
        """Esc on a step whose picker is listing: cancel every lookup, and when the picker's
        listing (the worker group ``group``) was running and ``showing``, say at once that
        it stopped (``stopped``) and stop ``listing``'s threads (they take no new request).

        Not when its worker's cancellation is heard: that message waits behind the batches
        already posted.
        """
        running = any(w.group == group for w in self.lookups_running())
        StepScreen.action_cancel_lookup(self)
        if running and showing:
            stopped()
            if listing is not None:
                listing.cancel()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer "cancel lookup" only while a lookup runs."""
        if action == "cancel_lookup":
            return bool(self.lookups_running())
        return True

    @on(Worker.StateChanged)
    def _refresh_lookup_binding(self, event: Worker.StateChanged) -> None:
        """Show or hide the Escape binding in the footer as lookups start and end."""
        self.refresh_bindings()

    def answer(self, key: str, default: Any = None) -> Any:
        """The current value of a dotted answer.

        ``Any``: the draft holds what each question stores (text, a flag, a list or None)
        and is untyped until :meth:`WizardState.answers` validates it.
        """
        return guide.get(self.state.draft, key, default)

    def question(self, key: str) -> Question:
        """This step's question for a dotted key."""
        for q in self.guide.questions:
            if q.key == key:
                return q
        raise KeyError(key)

    def initial(self, key: str) -> Any:
        """The value to show: the answer so far, else the question's default (as :meth:`answer`)."""
        value = self.answer(key)
        if value is None:
            value = self.question(key).suggest(self.state.draft, self.account_id)
        return value

    @property
    def account_id(self) -> str | None:
        """The connected account's ID (some defaults name it), None before it is known."""
        account = self.state.account
        return account.account_id if account is not None else None
