"""Step 1: connect, say who the wizard runs as, and list the trails that already exist."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.compose import compose
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Label, LoadingIndicator, Static
from textual.worker import Worker, WorkerState, get_current_worker

from screens.common.backend import AccountInfo, Backend
from screens.tui import keys
from screens.tui.base import StepScreen
from screens.tui.messages import Connected, ConnectFailed, TrailsFound
from screens.tui.state import WizardState
from screens.tui.widgets.heap import settle_heap
from screens.tui.widgets.wrap import Breakable
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.account.discovery import TrailFacts
    from wizard.engine import Engine
    from wizard.model.landing import OrganizationTrail

FAILURE_TITLES: dict[str, str] = {
    "profile-not-found": "That AWS profile does not exist.",
    "no-credentials": "No AWS credentials were found.",
    "expired": "The AWS credentials have expired.",
    "invalid-credentials": "AWS refused the credentials.",
    "credentials": "No usable AWS credentials.",
    "region": "No AWS region is configured.",
    "endpoint": "AWS cannot be reached.",
}
"""A headline per :class:`~wizard.aws.session.CredentialsProblem` kind; the message follows."""


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


class OrganizationTrailsFound(Message):
    """The organization trails of the management account that record this one were read."""

    def __init__(self, trails: list[OrganizationTrail]) -> None:
        self.trails = trails
        """Each with where it delivers and what it records (unknown where unreadable)."""
        super().__init__()


class WelcomeScreen(StepScreen):
    """Connects in a worker, then shows the account, the caller and the existing trails.

    Without credentials it says why and offers to continue on the sandbox instead.
    """

    STEP_ID = "welcome"

    DEFAULT_CSS = """
    WelcomeScreen #connecting, WelcomeScreen #elsewhere { height: 1; }
    WelcomeScreen #connecting { margin-top: 1; }
    WelcomeScreen #connecting LoadingIndicator, WelcomeScreen #elsewhere LoadingIndicator {
        width: 6; height: 1;
    }
    WelcomeScreen #elsewhere Label { color: $text-muted; }
    WelcomeScreen #sandbox-note { margin-top: 1; color: $warning; text-style: bold; }
    WelcomeScreen #whoami { height: auto; }
    WelcomeScreen #coverage { margin-top: 1; color: $warning; }
    WelcomeScreen #failed { height: auto; }
    WelcomeScreen #unfinished { display: none; height: auto; margin-bottom: 1; }
    WelcomeScreen #failed-buttons { height: auto; margin-top: 1; }
    WelcomeScreen #failed-buttons Button { margin-right: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_lookup", "Cancel lookup"),
        Binding(keys.TRAIL_HEALTH, "status", "Trail health"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._trails: dict[str, TrailFacts] = {}
        """Trails found so far, by ARN (shadow copies of multi-region trails fold into one)."""
        self._failure: str | None = None
        """Why the last attempt to connect failed (None while connecting or connected)."""
        self._org_trails: list[OrganizationTrail] = []
        """Organization trails of another account that already record this one."""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="connecting"):
            yield LoadingIndicator()
            yield Label("Connecting to AWS… (Esc cancels)", id="connecting-label")
        yield Static(
            "SANDBOX: this is a local demo account with made-up resources. Nothing you do here "
            "touches AWS.",
            id="sandbox-note",
        )
        yield Static(id="unfinished", classes="problem")

    def compose_outcome(self) -> ComposeResult:
        """What connecting ends in: the account and its trails, or why it failed.

        Both start hidden, so they are mounted just after the first frame (with the
        connection, see :meth:`on_mount`): fewer widgets to build before it.
        """
        with Vertical(id="account"):
            yield Label("You are working as", classes="field-label")
            yield Static(id="whoami")
            yield Label("Trails that already exist", classes="field-label")
            yield Static(id="trails")
            yield Static(id="trails-empty", classes="hint")
            with Horizontal(id="elsewhere"):
                yield LoadingIndicator()
                yield Label("Looking for trails in the other regions… (Esc stops)")
            yield Static(id="elsewhere-note", classes="hint")
            yield Static(id="coverage")
            yield Button("Add only what is missing", id="add-only-missing", variant="primary")
        with Vertical(id="failed"):
            yield Static(id="failure-title", classes="field-label problem")
            yield Static(id="failure")
            with Horizontal(id="failed-buttons"):
                yield Button("Continue on the sandbox", id="use-sandbox", variant="warning")
                yield Button("Try again", id="retry")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#back", Button).display = False
        self.query_one("#nav").mount(
            Button("Trail health", id="trail-health", disabled=True), before="#next"
        )
        self.query_one("#nav").mount(
            Button("Change an existing trail", id="change-trail", disabled=True), before="#next"
        )
        self._show_connecting(sandbox=False)
        # Connecting loads boto3 and the engine, and in sandbox mode starts the emulator: a
        # thread that would compete with drawing this screen. It starts once the screen has
        # been painted (as do the hidden blocks it ends in), so the first frame comes at once
        # and the screen is usable meanwhile.
        self.wizard.after_first_frame(self, self._after_first_frame)

    async def _after_first_frame(self) -> None:
        """Mount the (hidden) blocks connecting ends in, then connect."""
        blocks = compose(self, self.compose_outcome())
        for block in blocks:
            block.display = False
        await self.query_one("#body").mount_all(blocks, after="#unfinished")
        self._show(connecting=True)
        self._connect(self.wizard.backend, False)
        self._look_for_unfinished_runs()

    @work(thread=True, group="unfinished")
    def _look_for_unfinished_runs(self) -> None:
        """Warn, before anything is planned, about an earlier run that died half-way."""
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.run.recover import unfinished_finding

        finding = unfinished_finding()
        if finding is not None:
            self.app.call_from_thread(self._show_unfinished, finding.message)

    def _show_unfinished(self, message: str) -> None:
        note = self.query_one("#unfinished", Static)
        note.update(f"⚠ {message}")
        note.display = True

    # ------------------------------------------------------------------ worker

    def start_connect(self, *, sandbox: bool = False) -> None:
        """Connect (or switch to the sandbox) in a thread worker.

        Args:
            sandbox: Drop the configured session and continue on the sandbox.
        """
        self._show_connecting(sandbox=sandbox)
        self._connect(self.wizard.backend, sandbox)

    def _show_connecting(self, *, sandbox: bool) -> None:
        """The "connecting" state, saying whether the sandbox has to start first."""
        backend = self.wizard.backend
        if (sandbox or backend.sandbox) and backend.sandbox_to_start:
            what = "Starting the sandbox (a local AWS emulator)…"
        elif sandbox or backend.sandbox:
            what = "Connecting to the sandbox…"
        else:
            what = "Connecting to AWS…"
        self.query_one("#connecting-label", Label).update(f"{what} (Esc cancels)")
        self._failure = None
        self.show_errors([])  # what Next said about the last attempt no longer holds
        self._show(connecting=True)

    @work(thread=True, exclusive=True, group="connect")
    def _connect(self, backend: Backend, sandbox: bool) -> None:
        # Deferred for start-up time: boto3/botocore load only when AWS is called.
        from wizard.aws.session import CredentialsProblem

        worker = get_current_worker()
        try:
            info = backend.switch_to_sandbox() if sandbox else backend.connect()
            trails = backend.engine.trails()
        except CredentialsProblem as problem:
            message: Connected | ConnectFailed = ConnectFailed(problem.message, problem.kind)
        except AwsError as err:
            message = ConnectFailed(f"{err.code}: {err.message}", "aws")
        else:
            message = Connected(info, trails)
        if not worker.is_cancelled:
            self.post_message(message)
        if isinstance(message, Connected) and any(
            t.organization and t.owner_account != info.account_id for t in trails
        ):
            # Their selectors are read only when there are some: most accounts have none.
            try:
                found = backend.engine.organization_trails(trails)
            except AwsError:
                found = []
            if found and not worker.is_cancelled:
                self.post_message(OrganizationTrailsFound(found))

    # ------------------------------------------------------------------ results

    def on_connected(self, message: Connected) -> None:
        info = message.info
        self.wizard.state = self.state.with_(account=info)
        self._failure = None
        # A Next pressed while connecting left "not connected yet" below: it is stale now.
        self.show_errors([])
        self._show(connected=True)
        self.query_one("#sandbox-note").display = info.sandbox
        if info.sandbox and not self.query("#sandbox-banner"):
            # Switched to the sandbox after this screen was composed: add the title-bar badge.
            self.query_one("#titlebar").mount(Label(" SANDBOX ", id="sandbox-banner"))
        self.query_one("#whoami", Static).update(self._whoami_table(info))
        self._trails = {t.arn: t for t in message.trails}
        next_button = self.query_one("#next", Button)
        next_button.disabled = False
        next_button.focus()
        # Trails homed in other regions come from a second lookup; Next does not wait for it.
        self.query_one("#elsewhere").display = True
        self._show_trails(everywhere=False)
        self._look_up_trails_elsewhere(self.wizard.backend.engine)

    @work(thread=True, exclusive=True, group="trails")
    def _look_up_trails_elsewhere(self, engine: Engine) -> None:
        # One ListTrails answers for every region (single-region trails homed elsewhere too).
        try:
            trails = engine.all_trails()
        except AwsError:
            trails = []
        if not get_current_worker().is_cancelled:
            self.post_message(TrailsFound(trails))

    def on_trails_found(self, message: TrailsFound) -> None:
        self.query_one("#elsewhere").display = False
        for t in message.trails:
            self._trails.setdefault(t.arn, t)
        self._show_trails(everywhere=True)
        # Connected and looked around: the SDK's clients and models are loaded and live as
        # long as the app. Set aside, the collector's full passes no longer walk them.
        self.call_after_refresh(settle_heap)

    def on_organization_trails_found(self, message: OrganizationTrailsFound) -> None:
        self._org_trails = message.trails
        self._show_trails(everywhere=False)

    @on(Button.Pressed, "#add-only-missing")
    def _add_only_missing(self, event: Button.Pressed) -> None:
        """Leave management events to the organization trail: record what it leaves out."""
        event.stop()
        # Deferred: the planner's modules load when first needed (start-up time).
        from wizard.plan.landing import add_only_missing

        draft, said = add_only_missing(self.state.draft, self._org_trails)
        self.wizard.state = self.state.with_(draft=draft)
        self.notify(
            " ".join(said) or "Nothing to change: the draft already adds only what is missing.",
            title="Add only what is missing",
        )

    def on_connect_failed(self, message: ConnectFailed) -> None:
        title = FAILURE_TITLES.get(message.kind, "Could not connect to AWS.")
        self._show_failure(title, message.message)

    @on(Worker.StateChanged)
    def _lookup_cancelled(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.CANCELLED:
            return
        if event.worker.group == "connect":
            self._show_failure("Connecting was cancelled.", "Press Try again to connect.")
        elif event.worker.group == "trails" and self.is_mounted:
            self.query_one("#elsewhere").display = False
            note = self.query_one("#elsewhere-note", Static)
            note.update("Stopped looking in the other regions: trails homed there are not shown.")
            note.display = True
            self._show_trails(everywhere=False)

    @on(Button.Pressed, "#use-sandbox")
    def _use_sandbox(self, event: Button.Pressed) -> None:
        event.stop()
        self.start_connect(sandbox=True)

    @on(Button.Pressed, "#retry")
    def _retry(self, event: Button.Pressed) -> None:
        event.stop()
        self.start_connect()

    # ------------------------------------------------------------------ rendering

    def _show(
        self, *, connecting: bool = False, connected: bool = False, failed: bool = False
    ) -> None:
        """Show one of the three states: connecting, connected, failed."""
        self.query_one("#connecting").display = connecting
        # query(), not query_one(): the account and failure blocks are mounted after the
        # first frame (see compose_outcome).
        self.query("#elsewhere, #elsewhere-note").set(display=False)
        self.query_one("#sandbox-note").display = connecting and self.wizard.backend.sandbox
        self.query("#account").set(display=connected)
        self.query("#failed").set(display=failed)
        self.query_one("#next", Button).disabled = not connected
        for button in self.query("#trail-health, #change-trail").results(Button):
            button.disabled = not connected
        self.refresh_bindings()

    def _show_failure(self, title: str, text: str) -> None:
        """Say why there is no connection, and offer the sandbox (unless already on it)."""
        # What Next then says; the buttons are named there already, so a text that only
        # names them (a cancelled connection's) is left out.
        self._failure = title if text.startswith("Press ") else f"{title} {text}"
        # A Next pressed while connecting said "still connecting": stale now.
        self.show_errors([])
        self._show(failed=True)
        self.query_one("#failure-title", Static).update(title)
        self.query_one("#failure", Static).update(text)
        can_switch = not self.wizard.backend.sandbox
        self.query_one("#use-sandbox", Button).display = can_switch
        self.query_one("#use-sandbox" if can_switch else "#retry", Button).focus()

    @staticmethod
    def _whoami_table(info: AccountInfo) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        if info.sandbox:
            profile = "none (sandbox credentials)"
        else:
            profile = info.profile or "none (default credential chain)"
        for label, value in (
            ("Account", info.account_id),
            ("Caller", info.caller_arn),
            ("Partition", info.partition),
            ("Region", info.region),
            ("Profile", profile),
        ):
            grid.add_row(label, value)
        return grid

    def _show_trails(self, *, everywhere: bool) -> None:
        """Show the trails found so far.

        Args:
            everywhere: Every region was asked (else only the session's, so far).
        """
        trails = sorted(self._trails.values(), key=lambda t: (t.name, t.home_region))
        # A plain table (not a DataTable): nothing to pick here. Names too long for the
        # column break after a "-" or ".", never in the middle of a word.
        table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold", pad_edge=False)
        table.add_column("Name")
        table.add_column("Home region", no_wrap=True)
        table.add_column("Multi-region", no_wrap=True)
        table.add_column("Org.", no_wrap=True)
        table.add_column("Bucket")
        for t in trails:
            table.add_row(
                Breakable(t.name),
                t.home_region,
                _yes(t.multi_region),
                _yes(t.organization),
                Breakable(t.bucket or ""),
            )
        shown = self.query_one("#trails", Static)
        shown.update(table)
        shown.display = bool(trails)
        empty = self.query_one("#trails-empty", Static)
        empty.display = not trails
        if everywhere:
            empty.update("None: this will be the account's first trail.")
        else:
            region = self.state.account.region if self.state.account else "this region"
            empty.update(f"None in {region}.")
        coverage = self.query_one("#coverage", Static)
        covering = [t for t in trails if t.organization or t.multi_region]
        coverage.display = bool(covering)
        self.query_one("#add-only-missing", Button).display = bool(self._org_trails)
        if self._org_trails:
            coverage.update(
                "\n".join(f"⚠ Already recorded by {t.describe()}" for t in self._org_trails)
                + "\nA second copy of management events here is charged (the review's cost "
                "says how much). Add only what is missing: data events, Insights, a copy in "
                "a bucket of this account."
            )
        elif covering:
            t = covering[0]
            what = "organization trail" if t.organization else "multi-region trail"
            coverage.update(
                f"⚠ {t.name} ({what}) already records management events in every region of "
                "this account. The first copy is free; a second trail's copy is charged, so "
                "consider recording only data events in the new trail."
            )

    # ------------------------------------------------------------------ navigation

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Trail health once connected (it needs the session)."""
        if action == "status":
            return self.state.account is not None
        return super().check_action(action, parameters)

    def action_status(self) -> None:
        """Open the trail health screen (every trail's status and controls, log files)."""
        if self.state.account is not None:
            # Deferred: a screen's module loads when it is first shown (start-up time).
            from screens.tui.status import StatusScreen

            self.app.push_screen(StatusScreen())

    def action_change_trail(self) -> None:
        """Pick one of the account's trails and open the wizard on its current settings."""
        if self.state.account is not None:
            # Deferred: a screen's module loads when it is first shown (start-up time).
            from screens.tui.adoption import pick_and_adopt

            pick_and_adopt(self, list(self._trails.values()))

    @on(Button.Pressed, "#change-trail")
    def _change_trail(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_change_trail()

    @on(Button.Pressed, "#trail-health")
    def _trail_health(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_status()

    def collect(self) -> tuple[WizardState, list[str]]:
        if self.state.account is None:
            return self.state, [self._not_connected()]
        return self.state, []

    def _not_connected(self) -> str:
        """Why Next cannot go on yet: still connecting, or what failed and what to do."""
        backend = self.wizard.backend
        where = "the sandbox" if backend.sandbox else "AWS"
        if self._failure is None:
            return f"Not connected yet: still connecting to {where}. Wait a moment (Esc cancels)."
        if backend.sandbox:
            return f"Not connected to the sandbox: {self._failure} Press Try again."
        return f"Not connected to AWS: {self._failure} Press Try again, or Continue on the sandbox."
