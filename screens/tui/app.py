"""The Textual application: owns the state, the backend and the step order.

It is the hub: screens hand back a new state with ``go_next``/``go_back``; blocking AWS work
runs in thread workers that post messages. Build it with :func:`make_app` (the command line
and every test do).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import gc
import os
import time
import traceback
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import WorkerState

from screens.common.backend import Backend
from screens.tui import keys
from screens.tui.state import WizardState
from screens.tui.widgets import heap, sizes
from screens.tui.widgets.footer import StepFooter
from wizard.guide import draft_from_answers
from wizard.run.journal import first_run, journal_dir

if TYPE_CHECKING:
    from screens.common.classroom import Broadcast
    from screens.tui.base import StepScreen
    from screens.tui.lab import ClassLink
    from wizard.model.answers import Answers

_PERSON_ACTS = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)
"""Events that mean a person is acting: the heap is not tidied while they come."""

_WORKING = (WorkerState.PENDING, WorkerState.RUNNING)

HOLD_SECONDS = 5.0
"""The longest a step keeps the collector off after it is shown (see
``WizardApp.release_collector``): a plan still not built by then (a slow account) has the
collector back, and the heap stays bounded however long it takes."""

STEP_ORDER = ("welcome", "trail", "storage", "prefix", "encryption", "delivery", "events", "review")
"""The input steps, in order; apply and done follow the review."""


def _screen_for(step_id: str) -> StepScreen:
    """Import the screen class of a step lazily (keeps start-up light).

    The steps import :mod:`screens.tui.base`, which needs this module's type only: the
    import graph runs one way, app -> steps -> base.
    """
    if step_id == "welcome":
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.welcome import WelcomeScreen

        return WelcomeScreen()
    if step_id == "trail":
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.trail import TrailScreen

        return TrailScreen()
    if step_id == "storage":
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.storage import StorageScreen

        return StorageScreen()
    if step_id == "prefix":
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.prefix import PrefixScreen

        return PrefixScreen()
    if step_id == "encryption":
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.encryption import EncryptionScreen

        return EncryptionScreen()
    if step_id == "delivery":
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.delivery import DeliveryScreen

        return DeliveryScreen()
    if step_id == "events":
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.events import EventsScreen

        return EventsScreen()
    if step_id == "review":
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.review import ReviewScreen

        return ReviewScreen()
    if step_id == "apply":
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.apply import ApplyScreen

        return ApplyScreen()
    if step_id == "done":
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.done import DoneScreen

        return DoneScreen()
    raise KeyError(step_id)


class _FreshContextExecutor(ThreadPoolExecutor):
    """The event loop's threads for thread workers, each job run in a context of its own.

    Textual's thread worker notes itself as the thread's current worker in the context of
    the pool's thread, which outlives the job: each idle thread kept its last worker, and
    with it the worker's screen and everything on it (the Storage step's screen was still
    alive at the review). In a fresh context per job, that note goes with the job.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(contextvars.Context().run, fn, *args, **kwargs)


_loops_with_fresh_contexts: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
"""The event loops given a :class:`_FreshContextExecutor` (one per loop is enough)."""


def _run_workers_in_fresh_contexts() -> None:
    """Give the running event loop a :class:`_FreshContextExecutor` as its default one.

    Once per loop (tests run many apps on one): the loop shuts it down as it closes.
    """
    loop = asyncio.get_running_loop()
    if loop not in _loops_with_fresh_contexts:
        _loops_with_fresh_contexts.add(loop)
        loop.set_default_executor(_FreshContextExecutor(thread_name_prefix="asyncio"))


def _freeze_startup_objects() -> None:
    """Keep the objects of start-up out of the garbage collector's full passes.

    By the first screen, Textual and the wizard's modules are loaded: some 50,000 objects
    that live as long as the process. The first full collection, which came while the first
    frame was being drawn, spent about 35 ms walking them; frozen, they are skipped by it and
    by later ones (:mod:`screens.tui.widgets.heap` tidies them with the rest when the app is
    idle). An app started after another in the same process (tests build many) freezes only
    once a full pass has walked what the apps before it left
    (:func:`~screens.tui.widgets.heap.settle_heap`).
    """
    if gc.get_freeze_count() == 0:
        heap.settle_heap()


class WizardApp(App[int]):
    """cloudtrail-wizard's full-screen wizard."""

    CSS_PATH = "app.tcss"
    TITLE = "cloudtrail-wizard"
    # Classes every screen gets for the terminal's size; app.tcss adapts the layout to them.
    HORIZONTAL_BREAKPOINTS = sizes.HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = sizes.VERTICAL_BREAKPOINTS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys.QUIT, "quit_wizard", "Quit", priority=True),
        # Only while a lab with hints left is current (check_action): hidden otherwise.
        Binding(keys.HINT, "lab_hint", "Hint"),
    ]
    # Textual's Ctrl+C binding (action "help_quit", below) stays: Ctrl+C copies in a text
    # field with a selection, and otherwise says how to quit.

    def __init__(
        self,
        backend: Backend,
        state: WizardState | None = None,
        *,
        show_help: bool = True,
        answers_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.state = state or WizardState()
        self.show_help = show_help
        """Help panels visible beside the form (on by default for the first run and in
        sandbox mode)."""
        self.show_help_narrow = False
        """Help panels visible in a terminal too narrow for them beside the form: off until
        asked for there, so the form keeps its width."""
        self.answers_path = answers_path
        """Where Ctrl+S saves answers."""
        self.current_step = "welcome"
        """The step on screen."""
        self.exit_code = 0
        """Exit code the command line returns."""
        self.crash: BaseException | None = None
        """The unexpected exception that ended the app, if one did."""
        self.crash_where = ""
        """The step on screen when it happened, for the message after the app has closed."""
        self._startup_blur_skipped = False
        """The web driver's start-up blur has been skipped (see on_app_blur)."""
        self.started_with = copy.deepcopy(self.state.draft)
        """The answers the wizard started with (an answers file's): quitting loses nothing
        while the answers are still these."""
        self.class_link: ClassLink | None = None
        """In sandbox mode: the current lab and the trainer's messages
        (:mod:`screens.tui.lab`)."""
        self._after_first_frame: list[tuple[MessagePump, Callable[[], object]]] | None = []
        """Work waiting for the first frame (see :meth:`after_first_frame`); None once it
        has been drawn."""
        self._last_input = time.monotonic()
        """When a key was last pressed or the mouse last clicked or scrolled."""
        self._last_busy = 0.0
        """When a worker was last seen running, or a screen set aside last went (see
        :meth:`_tidy_if_idle`)."""
        self._tidy_timer: Timer | None = None
        """Waits for an idle moment to tidy the heap (see :meth:`_tidy_when_idle`)."""
        self._collector_paused = False
        """The collector is off while the next step is built (see :meth:`_collect_once_shown`)."""
        self._steps_built = 0
        """Steps shown by :meth:`go_to` so far (a pass is made for the latest only)."""
        self._collector_held_by: Screen[Any] | None = None
        """The step that keeps the collector off until it calls :meth:`release_collector`."""
        self._hold_timer: Timer | None = None
        """Ends that hold after :data:`HOLD_SECONDS` (stopped when the step releases it)."""

    @property
    def sandbox_banner(self) -> bool:
        """True when running against the sandbox."""
        return self.backend.sandbox

    def on_mount(self) -> None:
        # NO_COLOR needs nothing here: Textual reads it itself and draws every frame through
        # its monochrome filter (see ``self.no_color``), which keeps the focus and selection
        # highlights visible as shades of grey. Choosing a theme of our own for it once
        # named one Textual no longer has, and the wizard stopped at its first frame.
        _run_workers_in_fresh_contexts()  # before the first worker starts
        heap.tidy_when_idle(self._tidy_when_idle)
        if self.backend.sandbox:
            self._start_class()  # before the first screen: its help panel shows the lab
        welcome = self._sized(_screen_for("welcome"))
        _freeze_startup_objects()
        self.push_screen(welcome)
        # The command line starts the wizard with the collector off (screens.cli.main).
        self.after_first_frame(self, gc.enable)

    def on_ready(self) -> None:
        # Textual draws the first screen while its start-up is still batched and drops that
        # frame; later updates repaint only what changed since, so the first frame a person
        # saw lacked parts (the help panel's border) for some 40 ms. Repaint it whole.
        for widget in self.screen.children:
            widget.refresh()
        # The work that waited for the first frame runs once this repaint is on the screen.
        waiting, self._after_first_frame = self._after_first_frame or [], None
        for node, callback in waiting:
            node.call_after_refresh(callback)

    def _sized(self, screen: StepScreen) -> StepScreen:
        """``screen`` with the size classes of the terminal (app.tcss styles by them)."""
        screen.add_class(*sizes.breakpoint_classes(*self.size), update=False)
        return screen

    def after_first_frame(self, node: MessagePump, callback: Callable[[], object]) -> None:
        """Run ``callback`` (from ``node``) once the first frame is on the screen.

        ``call_after_refresh`` alone is not enough at start-up: until Textual's Ready event
        it runs its callbacks while start-up is still batched, before anything has been
        drawn, so work meant to follow the first frame (mounting the hidden blocks,
        starting the connection's thread that loads the AWS SDK) delayed it instead. After
        the first frame this is ``node.call_after_refresh(callback)``.

        Args:
            node: The screen or widget the callback belongs to (it runs in its context).
            callback: What to run; a coroutine function is awaited.
        """
        if self._after_first_frame is None:
            node.call_after_refresh(callback)
        else:
            self._after_first_frame.append((node, callback))

    # ------------------------------------------------------------------ keys

    def on_app_blur(self, event: events.AppBlur) -> None:
        """In a page, skip the blur Textual's web driver sends at start-up.

        The driver starts every session "blurred" until the page says otherwise, but the
        page gives its terminal the keyboard as it loads (``serving/page.js``) and says so
        first: the driver's blur, posted a moment later, undid it, and the wizard drew
        itself as unfocused, its footer frozen as first drawn (no Trail health once
        connected). Skipping the first blur is right in any order: a real blur from the
        page is followed by the driver's, which then counts.
        """
        if keys.in_browser() and not self._startup_blur_skipped:
            self._startup_blur_skipped = True
            event.prevent_default()

    async def on_event(self, event: events.Event) -> None:
        """Keys pressed with Alt are commands, never text: a text field must not type them.

        A terminal sends Alt+T as Escape + "t", and Textual hands the "t" to the focused text
        field unless a binding takes the key first. Alt+T has no binding on most steps, so
        the trail name became "...-eventst". Without its character the key still reaches
        every binding; a key no binding wants is then said to do nothing (:meth:`on_key`).
        """
        if isinstance(event, events.Key) and keys.with_alt(event.key):
            event.character = None
        if isinstance(event, _PERSON_ACTS):
            self._last_input = time.monotonic()
        await super().on_event(event)

    def on_key(self, event: events.Key) -> None:
        """Say so when an Alt key does nothing here (it would otherwise vanish silently).

        Keys reach the app last, after the focused widget and the screen; the bindings that
        take them run right after this handler (Textual's own), so only a key without an
        enabled binding on this screen gets the message.
        """
        if not keys.with_alt(event.key):
            return
        active = self.screen.active_bindings.get(event.key)
        if active is None or not active.enabled:
            self.notify(
                f"{keys.display(event.key)} does nothing on this screen.",
                severity="warning",
                timeout=3,
            )

    def watch_app_focus(self, focused: bool) -> None:
        """Tell the footers of the screens shown (:meth:`StepFooter.app_focus_changed`)."""
        for screen in self.screen_stack:
            for footer in screen.query(StepFooter):
                # In the footer's own turn, as its own watcher used to run: called here, in
                # the app's turn (the key event that gives a browser page's app the focus
                # back), that key was never acted on (tests/browser/test_serve.py).
                footer.call_next(footer.app_focus_changed, focused)

    # ------------------------------------------------------------------ the heap

    def _tidy_when_idle(self, urgent: bool) -> None:
        """Tidy the heap (:func:`~screens.tui.widgets.heap.tidy_heap`) at the next idle
        moment: no key or click for :data:`~screens.tui.widgets.heap.IDLE_SECONDS` and no
        worker running; or, ``urgent``, once the screen that went is taken apart.

        The tidy is a full pass of the whole heap (100-350 ms): a key pressed during it
        waits, so it waits for a person who is reading, not one typing or paging; a worker
        under way (a plan being built, a listing) would have its answer held up as long.
        """
        # The screen that went is still being taken apart: a tidy now would set it aside
        # again, alive, until the next one.
        self._last_busy = time.monotonic()
        # Called as a screen goes, in its context: a timer set here would keep that screen
        # (its task's context names it as the sender of what it posts). The app sets it.
        self.call_next(self._arm_tidy, urgent)

    def _arm_tidy(self, urgent: bool) -> None:
        if urgent:
            if self._tidy_timer is not None:
                self._tidy_timer.stop()
            self._tidy_timer = self.set_timer(
                heap.TEARDOWN_SECONDS, self._tidy_now, name="tidy heap"
            )
        elif self._tidy_timer is None:
            self._tidy_timer = self.set_timer(
                heap.IDLE_SECONDS, self._tidy_if_idle, name="tidy heap"
            )

    def _tidy_now(self) -> None:
        self._tidy_timer = None
        if heap.tidy_due():
            heap.tidy_heap()

    def _tidy_if_idle(self) -> None:
        self._tidy_timer = None
        if not heap.tidy_due():
            return  # tidied meanwhile (too many screens gone without a pause)
        now = time.monotonic()
        if any(worker.state in _WORKING for worker in self.workers):
            # Its answer is about to be drawn and read: the quiet starts after it, so look
            # again soon to know when it ended.
            self._last_busy = now
            wait = heap.IDLE_SECONDS / 4
        else:
            wait = heap.IDLE_SECONDS - (now - max(self._last_input, self._last_busy))
        if wait > 0:
            self._tidy_timer = self.set_timer(wait, self._tidy_if_idle, name="tidy heap")
            return
        heap.tidy_heap()

    def update_styles(self, node: DOMNode, animate: bool = True) -> None:
        """Textual's restyle of ``node`` and its descendants, for nodes in the app only.

        A widget being built (not mounted yet) is restyled by Textual whenever its classes
        change: a text field given its value validates it and takes ``-valid``, a radio
        button chosen takes ``-on``. The styles computed then are thrown away, as every
        widget is styled when it is mounted: 1-9 ms of a step's build, in the stall where
        its screen composes. Skipped for those; the rest as Textual does it.
        """
        if node is self or node.is_attached:
            super().update_styles(node, animate)

    def get_key_display(self, binding: Binding) -> str:
        """A key as the footer shows it: the twin that works here, named as people write it.

        Textual would show "^q" (its name for Ctrl+Q) first even in a browser, where only
        Alt+Q reaches the wizard: its own Ctrl+Q binding comes first in the merged bindings.
        """
        if binding.key_display:
            return binding.key_display
        return keys.shown(binding.key)

    def action_help_quit(self) -> None:
        """Ctrl+C (with nothing selected to copy): say how to quit.

        Textual's version names a binding of its "quit" action, which the wizard replaces
        with its own (it asks first), so it said nothing at all.
        """
        self.notify(
            f"Press {keys.label(keys.QUIT)} to quit (the wizard asks first when answers "
            "would be lost). Ctrl+C copies the text selected in a field.",
            title="Ctrl+C does not quit",
        )

    # ------------------------------------------------------------------ navigation

    def go_to(self, step_id: str, state: WizardState | None = None) -> None:
        """Show a step (replacing the current screen)."""
        if state is not None:
            self.state = state
        self.current_step = step_id
        screen = self._sized(_screen_for(step_id))
        # The review, apply and done steps start their work (the plan, the apply) in a
        # thread as they are shown: a pass then held that work and the keys pressed during
        # it. The review keeps the collector off until its plan is drawn (see
        # release_collector), and then sets its heap aside.
        self._collect_once_shown(
            screen, collect=step_id in STEP_ORDER[:-1], held=step_id == "review"
        )
        self.switch_screen(screen)
        self._note_position(step_id)

    def _collect_once_shown(
        self, screen: Screen[Any], *, collect: bool = True, held: bool = False
    ) -> None:
        """No garbage collection while ``screen`` is built; one pass once it is shown.

        Building a step makes tens of thousands of objects, enough to set off the
        collector's passes, and every so often a full one, which walked everything made
        since the heap was last set aside (the steps before, and the garbage of their
        screens) for 20-40 ms in the middle of the work that draws the next step. With the
        collector off until the step is drawn, and one pass then (which frees the screen
        that went, and resets the collector's counts so that no pass is due during the next
        step's build), that pass comes while a person reads the new step, as the start-up's
        passes come after the first frame (see :meth:`on_mount`). Reference counting frees
        everything else at once meanwhile.

        Args:
            screen: The step about to be shown.
            collect: Make the pass; else only turn the collector back on once it is shown.
            held: Keep the collector off past the first frames, until ``screen`` calls
                :meth:`release_collector` (or :data:`HOLD_SECONDS` have passed).
        """
        self._steps_built += 1
        self._end_hold()
        if gc.isenabled():
            gc.disable()
            self._collector_paused = True
        if self._collector_paused and held:
            self._collector_held_by = screen
            build = self._steps_built
            self._hold_timer = self.set_timer(
                HOLD_SECONDS, partial(self._collect_when_shown, build, collect)
            )
        elif self._collector_paused:
            # After the refresh that draws it, and the one after (a step's first layout is
            # followed by a second once its widgets know their sizes).
            screen.call_after_refresh(
                screen.call_after_refresh, self._collect_when_shown, self._steps_built, collect
            )

    def _collect_when_shown(self, build: int, collect: bool) -> None:
        """The step of ``build`` is shown: collect (if ``collect``) and turn the collector
        back on in the next turn of the event loop (not among the screen's callbacks after
        its refresh, in the same stall), unless another step is being built by then (that
        step's own pass comes once it is shown)."""

        def resume() -> None:
            if build == self._steps_built:
                self._resume_collector(collect=collect)

        if build == self._steps_built:
            asyncio.get_running_loop().call_soon(resume)

    def release_collector(self, screen: Screen[Any]) -> None:
        """``screen``, shown with the collector held off (the review, while its plan is
        built), no longer needs it off: it is turned back on in the next turn of the event
        loop, unless another step is being built by then.

        The review's plan is built in a thread while the review is shown. With the
        collector back on as soon as the review was drawn, the plan's objects set off a
        full pass every time, which walked everything made since the heap was last set
        aside (the steps before it) for 40-50 ms, holding the event loop and the plan
        alike. Reference counting frees the plan's garbage meanwhile; what only a pass
        frees is set aside with the plan's widgets (the review's ``settle_heap``) and freed
        by the next tidy.
        """
        if self._collector_held_by is screen:
            self._end_hold()
            self._collect_when_shown(self._steps_built, False)

    def _end_hold(self) -> None:
        """No step holds the collector off any longer (its timer stopped too)."""
        self._collector_held_by = None
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None

    def _resume_collector(self, *, collect: bool = False) -> None:
        """Turn the collector back on (after a pass, when ``collect``) if
        :meth:`_collect_once_shown` turned it off."""
        self._end_hold()
        if self._collector_paused:
            self._collector_paused = False
            if collect:
                gc.collect()
            gc.enable()

    def go_next(self, step_id: str, state: WizardState) -> None:
        """Leave ``step_id`` forward with the new state."""
        if step_id in STEP_ORDER and step_id != "review":
            self.go_to(STEP_ORDER[STEP_ORDER.index(step_id) + 1], state)
        elif step_id == "review":
            self.go_to("apply", state)
        elif step_id == "apply":
            self.go_to("done", state)

    def go_back(self, step_id: str, state: WizardState) -> None:
        """Leave ``step_id`` backwards, keeping what was typed."""
        if step_id in STEP_ORDER and step_id != "welcome":
            self.go_to(STEP_ORDER[STEP_ORDER.index(step_id) - 1], state)
        else:
            self.state = state

    # ------------------------------------------------------------------ a lab, a class

    def _start_class(self) -> None:
        """Link the sandbox home (the steps' help panels then show its lab); once the first
        frame is drawn, read its lab and trainer's message and watch them."""
        # Deferred: the lab's module loads in sandbox mode only.
        from screens.common.classroom import wizard_home
        from screens.tui.lab import ClassLink

        self.class_link = ClassLink(wizard_home())
        # Reading loads the labs' models (pydantic, YAML, the health checks) in a thread,
        # which competed with drawing the first frame for the interpreter; what it reads
        # reaches the help panel when it is done either way.
        self.after_first_frame(self, self._watch_class_home)

    def _watch_class_home(self) -> None:
        """Read the lab and the trainer's message, note where the wizard is, then watch."""
        # Deferred: the lab's module loads in sandbox mode only (then it is loaded).
        from screens.common.classroom import BROADCAST
        from screens.tui.lab import PROGRESS_FILE, WATCH_SECONDS

        self._read_class({PROGRESS_FILE, BROADCAST})
        self._note_position(self.current_step)
        self.set_interval(WATCH_SECONDS, self.watch_class, name="class-watch")

    def watch_class(self) -> None:
        """Read again what changed (a new message, a lab started or set by the trainer)."""
        link = self.class_link
        if link is not None:
            changed = link.changed()  # two stat calls: cheap enough for the event loop
            if changed:
                self._read_class(changed)

    def _read_class(self, names: set[str]) -> None:
        link = self.class_link
        assert link is not None

        def work() -> None:
            link.read(names)
            message = link.unseen()
            self.call_from_thread(self._class_read, message)

        self.run_worker(work, thread=True, group="class-read", exit_on_error=False)

    def _class_read(self, message: Broadcast | None) -> None:
        # Deferred: the lab's module loads in sandbox mode only (then it is loaded).
        from screens.tui.lab import NOTIFY_SECONDS

        self.refresh_class()
        if message is not None:
            self.notify(
                message.text, title="From the trainer", timeout=NOTIFY_SECONDS, markup=False
            )

    def refresh_class(self) -> None:
        """Redraw the lab section of the help panel shown, and the hint key."""
        # Deferred: the lab's module loads in sandbox mode only (then it is loaded).
        from screens.tui.lab import LabPanel

        for panel in self.screen.query(LabPanel):
            panel.show()
        self.refresh_bindings()

    def on_lab_checks_checked(self) -> None:
        """The Done step's lab checks have run: the progress they wrote shows."""
        self.refresh_class()

    def _note_position(self, step_id: str) -> None:
        """Where the wizard is, in the sandbox home: the trainer's dashboard shows it."""
        link = self.class_link
        if link is None:
            return
        # Deferred: the lab's module loads in sandbox mode only.
        from screens.common.classroom import write_position
        from screens.tui.lab import position_for

        # A few hundred bytes into the home's own folder; the dashboard is never worth a
        # failed step, so a full disk only loses the position.
        with contextlib.suppress(OSError):
            # The home is made with the sandbox, which the Welcome step may not have
            # started yet: made here as the sandbox makes it (this user's only).
            link.home.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_position(link.home, position_for(step_id, self.state))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The hint key only while a lab with hints left is current."""
        if action == "lab_hint":
            link = self.class_link
            return link is not None and link.lab is not None and link.hints_left > 0
        return True

    def action_lab_hint(self) -> None:
        """Reveal the lab's next hint (noted in its progress) in the help panel."""
        link = self.class_link
        if link is None or link.lab is None:
            return

        def work() -> None:
            progress = link.reveal_hint()
            self.call_from_thread(self._hint_revealed, progress is not None)

        self.run_worker(work, thread=True, group="class-hint", exclusive=True, exit_on_error=False)

    def _hint_revealed(self, revealed: bool) -> None:
        if not revealed:
            self.notify("Every hint of this lab is shown already.", severity="warning", timeout=4)
            return
        # Deferred like every step's module (see _screen_for): base needs the app's type.
        from screens.tui.base import StepScreen

        screen = self.screen
        # The hint is in the help panel: open it where it is closed.
        if isinstance(screen, StepScreen) and not screen.query_one("#help-panel").display:
            screen.action_toggle_help()
        self.refresh_class()

    # ------------------------------------------------------------------ palette

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The main actions in the command palette (Ctrl+P), beside Textual's own.

        ``screen`` is any screen, whatever it dismisses with (Textual's signature): the
        actions offered are the ones it has.
        """
        for command in super().get_system_commands(screen):
            # "Quit" from Textual would skip the wizard's "nothing changed / roll back?" question.
            if command.title != "Quit":
                yield command
        yield SystemCommand(
            "Quit wizard", "Quit (asks first; rolls back during apply)", self.action_quit_wizard
        )
        yield SystemCommand(
            "Save answers",
            "Save the answers so far as a YAML answers file",
            self.action_save_answers,
        )
        for action, title, help_text in (
            ("toggle_help", "Toggle help panel", "Show or hide the explanation of this step"),
            ("next", "Next step", f"Go to the next step (same as {keys.label(keys.NEXT)})"),
            ("back", "Previous step", "Go back one step, keeping the answers"),
            ("dry_run", "Dry-run", "Show what would change, changing nothing (review step)"),
            ("status", "Trail health", "Every trail: logging, delivery, policies, controls"),
            ("log_files", "Log files", "Browse the selected trail's newest log files"),
        ):
            method = getattr(screen, f"action_{action}", None)
            if callable(method):
                yield SystemCommand(title, help_text, method)

    # ------------------------------------------------------------------ actions

    def action_save_answers(self) -> None:
        """Save the current answers as a YAML answers file."""
        # Deferred for start-up time: pydantic models load only when this runs.
        from screens.tui import saves
        from wizard.model.answers_file import dump_answers

        answers = self.state.answers_or_none()
        if answers is None:
            self.notify(
                "The answers are not complete yet; finish the trail and storage steps first.",
                severity="warning",
            )
            return
        saves.save_text(
            self,
            dump_answers(answers),
            name=f"{answers.trail.name}.answers.yaml",
            what="Answers",
            path=self.answers_path,
        )

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """The palette's Screenshot: saved where it can be, and the notification says where.

        In a terminal, into the current directory, beside the answers a person saves (or
        into ``screenshots/`` of the state directory when the current one is read-only);
        Textual's own choice, the Downloads folder, does not exist on many servers and the
        save then only said "Failed". Under ``serve --save-dir``, into the session's
        directory; in a page without it, Textual's download.
        """
        # Deferred: saving files loads only when something is saved (start-up time).
        from screens.tui import saves

        if keys.in_browser() and not saves.session_save_dir():
            return super().deliver_screenshot(filename, path, time_format)
        stamp = datetime.now().strftime(time_format or "%Y-%m-%dT%H_%M_%S")
        name = filename or f"{self.title}_{stamp}.svg"
        target = None if keys.in_browser() else screenshot_dir(path) / name
        saves.save_text(
            self,
            self.export_screenshot(),
            name=name,
            what="Screenshot",
            path=target,
            keep_earlier=True,
        )
        return None

    def action_quit_wizard(self) -> None:
        """Quit, asking first; during apply this means roll back."""
        # Deferred: the question's screen loads when first asked (start-up time).
        from screens.tui.confirm import ConfirmScreen

        if self.current_step == "apply":
            # Deferred like every step's module (see _screen_for); loaded already here.
            from screens.tui.steps.apply import ApplyScreen

            applying = self.screen
            if isinstance(applying, ApplyScreen) and applying.running:
                question = "Stop now? Everything done so far will be rolled back."

                def stop(yes: bool | None) -> None:
                    if yes:
                        applying.action_cancel_apply()

                self.push_screen(ConfirmScreen(question, yes_label="Stop and roll back"), stop)
                return
        if self.current_step in ("apply", "done"):
            # The apply has ended (applied, rolled back or refused): the done/apply screen
            # already says what changed, so quitting needs no question.
            self.exit(self.exit_code)
            return
        if not self.answers_entered():
            # Nothing typed, nothing running: a question would only be in the way.
            self.exit(self.exit_code, message="Quit before applying. Nothing was changed.")
            return

        def leave(yes: bool | None) -> None:
            if yes:
                self.exit(self.exit_code, message="Quit before applying. Nothing was changed.")

        self.push_screen(
            ConfirmScreen("Quit the wizard? Nothing has been changed.", yes_label="Quit"), leave
        )

    def answers_entered(self) -> bool:
        """True when quitting would lose answers: the draft, with what the step on screen
        shows, differs from the answers the wizard started with.

        The Welcome step asks nothing, so on a first visit nothing is lost; once a later
        step has been shown, its answers (defaults included) count as entered.
        """
        # Deferred like every step's module (see _screen_for): base needs the app's type.
        from screens.tui.base import StepScreen

        draft = self.state.draft
        for screen in reversed(self.screen_stack):
            if isinstance(screen, StepScreen):
                draft = screen.collect()[0].draft
                break
        return bool(draft != self.started_with)

    def on_unmount(self) -> None:
        # No app left to tidy the heap: what its screens left set aside goes back.
        heap.tidy_when_idle(None)
        self._resume_collector()  # a step being built when the app ended
        self.backend.close()

    # ------------------------------------------------------------------ crashes

    def _handle_exception(self, error: Exception) -> None:
        """Note an exception no screen handled; Textual then ends the app with code 1.

        Textual (pinned) calls this for every exception that escapes a handler, a worker or
        a callback. The command line reads :attr:`crash` after the app has closed and says
        what happened in a few lines (see :func:`crash_message`).
        """
        if self.crash is None:
            self.crash = error
            self.crash_where = self.current_step
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """End the app after a crash without Textual's traceback of local variables.

        That traceback prints every local of every frame on the terminal, credentials and
        account details included; :func:`crash_message` says what happened instead and
        :func:`write_crash_report` keeps the traceback, without locals, in a file.
        """
        self.bell()
        self._close_messages_no_wait()


def screenshot_dir(path: str | None = None) -> Path:
    """The directory a screenshot is saved in, made if missing.

    Args:
        path: The directory asked for (Textual's ``path``), if any.

    Returns:
        ``path``; else the current directory when it exists and can be written; else
        ``screenshots/`` in the state directory (made here). When even that cannot be made,
        that directory still, and the notification says why the save failed.
    """
    if path:
        wanted = Path(path).expanduser()
        with contextlib.suppress(OSError):
            wanted.mkdir(parents=True, exist_ok=True)
        return wanted
    try:
        here = Path.cwd()  # raises when the directory has been removed meanwhile
    except OSError:
        here = None
    if here is not None and os.access(here, os.W_OK):
        return here
    fallback = journal_dir().parent / "screenshots"
    with contextlib.suppress(OSError):
        fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def crash_report_path() -> Path:
    """Where the traceback of the last crash is kept: beside the journals."""
    return journal_dir().parent / "last-crash.txt"


def write_crash_report(error: BaseException, where: str) -> Path | None:
    """Keep ``error``'s traceback (no local variables) for a bug report; None if unwritable."""
    path = crash_report_path()
    lines = [
        f"cloudtrail-wizard stopped at {datetime.now().isoformat(timespec='seconds')} "
        f"on the {where or 'start-up'} step.\n\n",
        *traceback.format_exception(error),
    ]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines), encoding="utf-8")
    except OSError:
        return None
    return path


def crash_message(app: WizardApp) -> str:
    """The few lines the command line prints when the app ended on an unexpected error."""
    error = app.crash
    what = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
    where = app.crash_where or "start-up"
    report = write_crash_report(error, where) if error is not None else None
    lines = [
        f"error: the wizard stopped on an unexpected error on the {where} step ({what}).",
        "This is a bug in cloudtrail-wizard, not something you did.",
    ]
    if report is not None:
        lines.append(f"The details for a bug report are in {report}.")
    lines.append(
        f"Journals of any changes are in {journal_dir()}; `cloudtrail-wizard recover` "
        "lists a run that did not finish."
    )
    return "\n".join(lines)


def make_app(
    backend: Backend | None = None,
    *,
    answers: Answers | None = None,
    answers_path: Path | None = None,
    show_help: bool | None = None,
) -> WizardApp:
    """Build the app: the one composition root for the command line and the tests."""
    backend = backend or Backend()
    state = WizardState(draft=draft_from_answers(answers) if answers is not None else {})
    if show_help is None:
        show_help = backend.sandbox or first_run()
    return WizardApp(backend, state, show_help=show_help, answers_path=answers_path)
