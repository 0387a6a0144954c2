"""Step 1: connect, say who the wizard runs as, and list the trails that already exist."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, LoadingIndicator, Static
from textual.worker import Worker, WorkerState, get_current_worker

from screens.backend import AccountInfo, Backend
from screens.base import StepScreen
from screens.messages import Connected, ConnectFailed, LookupDone
from screens.state import WizardState

if TYPE_CHECKING:
    from wizard.discovery import TrailFacts
    from wizard.engine import Engine

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
    WelcomeScreen #failed-buttons { height: auto; margin-top: 1; }
    WelcomeScreen #failed-buttons Button { margin-right: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_lookup", "Cancel lookup"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._trails: dict[str, TrailFacts] = {}
        """Trails found so far, by ARN (shadow copies of multi-region trails fold into one)."""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="connecting"):
            yield LoadingIndicator()
            yield Label("Connecting to AWS… (Esc cancels)", id="connecting-label")
        yield Static(
            "SANDBOX: this is a local demo account with made-up resources. Nothing you do here "
            "touches AWS.",
            id="sandbox-note",
        )
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
        with Vertical(id="failed"):
            yield Static(id="failure-title", classes="field-label problem")
            yield Static(id="failure")
            with Horizontal(id="failed-buttons"):
                yield Button("Continue on the sandbox", id="use-sandbox", variant="warning")
                yield Button("Try again", id="retry")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#back", Button).display = False
        self.start_connect()

    # ------------------------------------------------------------------ worker

    def start_connect(self, *, sandbox: bool = False) -> None:
        """Connect (or switch to the sandbox) in a thread worker.

        Args:
            sandbox: Drop the configured session and continue on the sandbox.
        """
        self._show(connecting=True)
        self._connect(self.wizard.backend, sandbox)

    @work(thread=True, exclusive=True, group="connect")
    def _connect(self, backend: Backend, sandbox: bool) -> None:
        from wizard.aws.session import CredentialsProblem
        from wizard.ports import AwsError

        worker = get_current_worker()
        try:
            info = backend.switch_to_sandbox() if sandbox else backend.connect()
            trails = backend.engine.trails()
        except CredentialsProblem as problem:
            message: Any = ConnectFailed(problem.message, problem.kind)
        except AwsError as err:
            message = ConnectFailed(f"{err.code}: {err.message}", "aws")
        else:
            message = Connected(info, trails)
        if not worker.is_cancelled:
            self.post_message(message)

    # ------------------------------------------------------------------ results

    def on_connected(self, message: Connected) -> None:
        info: AccountInfo = message.info
        self.wizard.state = self.state.with_(account=info)
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
        from wizard.ports import AwsError

        # One ListTrails answers for every region (single-region trails homed elsewhere too).
        try:
            trails = engine.all_trails()
        except AwsError:
            trails = []
        if not get_current_worker().is_cancelled:
            self.post_message(LookupDone("trails", trails))

    def on_lookup_done(self, message: LookupDone) -> None:
        if message.name == "trails":
            self.query_one("#elsewhere").display = False
            for t in message.result:
                self._trails.setdefault(t.arn, t)
            self._show_trails(everywhere=True)

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
        self.query_one("#elsewhere").display = False
        self.query_one("#elsewhere-note").display = False
        self.query_one("#sandbox-note").display = connecting and self.wizard.backend.sandbox
        self.query_one("#account").display = connected
        self.query_one("#failed").display = failed
        self.query_one("#next", Button).disabled = not connected

    def _show_failure(self, title: str, text: str) -> None:
        """Say why there is no connection, and offer the sandbox (unless already on it)."""
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
        # A plain table (not a DataTable): nothing to pick here, and long bucket names wrap.
        table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold", pad_edge=False)
        table.add_column("Name", overflow="fold")
        table.add_column("Home region", no_wrap=True)
        table.add_column("Multi-region", no_wrap=True)
        table.add_column("Org.", no_wrap=True)
        table.add_column("Bucket", overflow="fold")
        for t in trails:
            table.add_row(
                t.name, t.home_region, _yes(t.multi_region), _yes(t.organization), t.bucket or ""
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
        if covering:
            t = covering[0]
            what = "organization trail" if t.organization else "multi-region trail"
            coverage.update(
                f"⚠ {t.name} ({what}) already records management events in every region of "
                "this account. The first copy is free; a second trail's copy is charged, so "
                "consider recording only data events in the new trail."
            )

    # ------------------------------------------------------------------ navigation

    def collect(self) -> tuple[WizardState, list[str]]:
        if self.state.account is None:
            return self.state, ["Not connected to AWS yet: wait, or continue on the sandbox."]
        return self.state, []
