"""Trail health: every trail's verdict, and the reasons, controls and facts of the selected one.

Opened from Welcome and Done (``Ctrl+T``, or the palette's "Trail health"). The check runs in a
thread worker (:func:`wizard.health.trails.check_health`); Refresh runs it again. From here the log
browser opens on the selected trail's bucket, and in sandbox mode "Deliver logs now" makes the
sandbox write the log files CloudTrail would have delivered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Label, LoadingIndicator, Static
from textual.worker import get_current_worker

from screens.tui.base import wizard_app
from screens.tui.messages import HealthChecked, IntegrityChecked, LogsDelivered
from screens.tui.widgets.button_bar import ButtonBar
from screens.tui.widgets.fit_table import FitTable
from screens.tui.widgets.footer import StepFooter
from screens.tui.widgets.wrap import Breakable, Elided
from wizard.ports import AwsError

if TYPE_CHECKING:
    from screens.common.backend import DeliveryReport
    from screens.tui.app import WizardApp
    from wizard.health.integrity import IntegrityReport
    from wizard.health.logfiles import LogLocation
    from wizard.health.trails import HealthReport, TrailHealth
    from wizard.ports import AwsCaller

VERDICT_LOOK: dict[str, tuple[str, str]] = {
    "healthy": ("✓ healthy", "bold green"),
    "warning": ("⚠ warning", "bold yellow"),
    "failing": ("✗ failing", "bold red"),
}
"""How each verdict is shown."""

CONTROL_LOOK: dict[str, tuple[str, str]] = {
    "pass": ("✓", "bold green"),
    "fail": ("✗", "bold red"),
    "not-applicable": ("–", "dim"),
    "unknown": ("?", "bold yellow"),
}
"""The mark of each control status."""


def verdict_cell(verdict: str) -> Text:
    """A verdict as coloured text."""
    label, style = VERDICT_LOOK[verdict]
    return Text(label, style=style)


def log_location(health: TrailHealth) -> LogLocation | None:
    """Where the trail's log files are (None when it has no bucket, or the bucket is gone)."""
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.health.logfiles import LogLocation, log_root

    f = health.facts
    if not f.bucket or f.bucket_exists is False:
        return None
    return LogLocation(
        trail=f.name,
        bucket=f.bucket,
        bucket_region=f.bucket_region or f.home_region,
        root=log_root(f.prefix, f.owner_account, f.organization_id),
    )


class StatusScreen(Screen[None]):
    """The health of every trail of the account; details of the selected one."""

    DEFAULT_CSS = """
    StatusScreen { layout: vertical; }
    StatusScreen #status-loading { height: 1; margin: 1 1 0 1; }
    StatusScreen #status-loading LoadingIndicator { width: 6; height: 1; }
    StatusScreen #status-summary { height: auto; padding: 0 1; margin-top: 1; }
    StatusScreen #status-trails { height: auto; max-height: 8; margin: 0 1; }
    StatusScreen #status-details { height: 1fr; padding: 0 1; }
    StatusScreen .status-section { text-style: bold; margin-top: 1; }
    StatusScreen #status-verdict { text-style: bold; margin-top: 1; }
    StatusScreen #status-error { color: $error; padding: 0 1; height: auto; }
    StatusScreen #status-actions { height: 3; align-horizontal: right; padding: 0 1; }
    StatusScreen #status-actions Button { margin-left: 1; min-width: 0; }
    StatusScreen.-short #status-summary { margin-top: 0; }
    StatusScreen.-short #status-actions { height: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("r", "refresh", "Refresh"),
        Binding("l", "log_files", "Log files"),
        Binding("d", "deliver_logs", "Deliver logs now"),
        Binding("v", "validate", "Validate log integrity"),
        Binding("f", "fix", "Fix failing controls"),
    ]

    def __init__(self, trail_arn: str | None = None) -> None:
        """Create the screen.

        Args:
            trail_arn: The trail to select once the trails are listed (the one just made,
                when opened from Done); None or an unknown ARN selects the first.
        """
        super().__init__()
        self.report: HealthReport | None = None
        """The latest health report (None while the first check runs)."""
        self.selected: str | None = trail_arn
        """ARN of the trail whose details are shown."""
        self.integrity: dict[str, IntegrityReport] = {}
        """Integrity reports by trail ARN."""
        self.integrity_errors: dict[str, str] = {}
        """Why validation could not run, by trail ARN (a trail has a report or an error)."""

    @property
    def wizard(self) -> WizardApp:
        """The app, typed (see :func:`~screens.tui.base.wizard_app`)."""
        return wizard_app(self)

    @property
    def sandbox(self) -> bool:
        """Running against the sandbox (Deliver logs now is offered)."""
        return self.wizard.backend.sandbox

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="titlebar"):
            yield Label("cloudtrail-wizard  Trail health", id="title")
            if self.wizard.sandbox_banner:
                yield Label(" SANDBOX ", id="sandbox-banner")
        with Horizontal(id="status-loading"):
            yield LoadingIndicator()
            yield Label("Checking the trails: status, bucket, key, CloudWatch Logs… (Esc: back)")
        yield Static(id="status-summary")
        yield Static(id="status-error", markup=False)
        # A long trail name loses its middle rather than pushing columns off screen.
        yield FitTable(
            fit={"trail": "elide"}, id="status-trails", cursor_type="row", zebra_stripes=True
        )
        with VerticalScroll(id="status-details"):
            yield Static(id="status-verdict")
            yield Static(id="status-problems")
            yield Static("Log integrity", id="status-integrity-title", classes="status-section")
            yield Static(id="status-integrity")
            yield Static("Controls", classes="status-section")
            yield Static(id="status-controls")
            yield Static(
                "To pass the failed controls", id="status-fixes-title", classes="status-section"
            )
            yield Static(id="status-fixes")
            yield Static("Facts", classes="status-section")
            yield Static(id="status-facts")
        # Short labels on a narrow screen, so that every button stays on it.
        short = {
            "status-deliver": "Deliver",
            "status-fix": "Fix controls",
            "status-validate": "Validate",
            "status-logs": "Logs",
        }
        with ButtonBar(id="status-actions", short=short):
            yield Button("Back", id="status-back")
            if self.sandbox:
                yield Button("Deliver logs now", id="status-deliver", variant="warning")
            yield Button("Fix failing controls", id="status-fix", disabled=True)
            yield Button("Validate logs", id="status-validate")
            yield Button("Log files", id="status-logs")
            yield Button("Refresh", id="status-refresh", variant="primary")
        yield StepFooter()  # hides the keys least needed when the line is too short

    def on_mount(self) -> None:
        table = self.query_one("#status-trails", DataTable)
        for title in ("Trail", "Home region", "Verdict", "Logging", "Controls", "Problems"):
            table.add_column(title, key=title.lower())
        table.display = False
        self.query_one("#status-details").display = False
        self.query_one("#status-error").display = False
        self.action_refresh()

    # ------------------------------------------------------------------ checking

    def action_refresh(self) -> None:
        """Check every trail again (in a thread worker)."""
        self._show_loading(True)
        engine = self.wizard.backend.engine
        self._check(engine.caller, engine.ctx.region)

    @work(thread=True, exclusive=True, group="health")
    def _check(self, caller: AwsCaller, region: str) -> None:
        # Deferred for start-up time: boto3/botocore load only when AWS is called.
        from wizard.aws.session import explain_aws_error
        from wizard.health.trails import check_health

        worker = get_current_worker()
        try:
            report = check_health(caller, region)
        except AwsError as err:
            message = HealthChecked(None, explain_aws_error(err))
        else:
            message = HealthChecked(report)
        if not worker.is_cancelled:
            self.post_message(message)

    def on_health_checked(self, message: HealthChecked) -> None:
        message.stop()
        self._show_loading(False)
        error = self.query_one("#status-error", Static)
        error.update(message.error or "")
        error.display = bool(message.error)
        if message.report is not None:
            self.show_report(message.report)

    def on_logs_delivered(self, message: LogsDelivered) -> None:
        message.stop()
        self._delivered(message.report, message.error)

    def on_integrity_checked(self, message: IntegrityChecked) -> None:
        message.stop()
        self._validated(message.arn, message.report, message.error)

    def _show_loading(self, loading: bool) -> None:
        self.query_one("#status-loading").display = loading
        self.query_one("#status-refresh", Button).disabled = loading

    # ------------------------------------------------------------------ rendering

    def show_report(self, report: HealthReport) -> None:
        """Fill the table and show the selected (or first) trail's details."""
        self.report = report
        counts = {v: sum(1 for t in report.trails if t.verdict == v) for v in VERDICT_LOOK}
        total = len(report.trails)
        if total:
            summary = (
                f"{total} trail{'s' if total != 1 else ''}: {counts['healthy']} healthy, "
                f"{counts['warning']} with warnings, {counts['failing']} failing. "
                "Select a trail for its reasons, controls and facts."
            )
        else:
            summary = (
                "No trails in this account: nothing is recorded. Go back and create one with "
                "the wizard."
            )
        self.query_one("#status-summary", Static).update(summary)
        table = self.query_one("#status-trails", DataTable)
        table.clear()
        for health in report.trails:
            f = health.facts
            passed = sum(1 for c in health.controls if c.status == "pass")
            judged = sum(1 for c in health.controls if c.status in ("pass", "fail"))
            logging = "unknown" if f.is_logging is None else "yes" if f.is_logging else "NO"
            table.add_row(
                Elided(f.name),
                f.home_region,
                verdict_cell(health.verdict),
                Text(logging, style="bold red" if f.is_logging is False else ""),
                f"{passed} of {judged} passed",
                str(len(health.problems)),
                key=f.arn,
            )
        table.display = bool(report.trails)
        self.query_one("#status-details").display = bool(report.trails)
        arns = [t.facts.arn for t in report.trails]
        if arns:
            chosen = self.selected if self.selected in arns else arns[0]
            table.move_cursor(row=arns.index(chosen))
            self.show_trail(chosen)
            table.focus()

    @on(DataTable.RowHighlighted, "#status-trails")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.show_trail(str(event.row_key.value))

    def trail(self, arn: str | None = None) -> TrailHealth | None:
        """The health of a trail by ARN (default: the selected one)."""
        arn = arn or self.selected
        for health in self.report.trails if self.report else []:
            if health.facts.arn == arn:
                return health
        return None

    def show_trail(self, arn: str) -> None:
        """Show one trail's verdict, reasons, controls and facts."""
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.health.trails import fact_rows

        health = self.trail(arn)
        if health is None:
            return
        self.selected = arn
        label, style = VERDICT_LOOK[health.verdict]
        self.query_one("#status-verdict", Static).update(
            Text.assemble((label.upper(), style), f"  {health.name} ({health.facts.home_region})")
        )
        problems, fixes = Text(), Text()
        for problem in health.problems:
            failing = problem.severity == "failing"
            shown = fixes if problem.code.startswith("control-") else problems
            shown.append("✗ " if failing else "⚠ ", style="bold red" if failing else "yellow")
            shown.append(problem.message + "\n")
        problems.rstrip()
        fixes.rstrip()
        if not problems:
            problems = Text(
                "Logging and delivering; nothing stops CloudTrail."
                if fixes
                else "Nothing to fix: logging, delivering, every control passed."
            )
        # Commands and ARNs in the messages break after a separator, never mid-word.
        self.query_one("#status-problems", Static).update(Breakable(problems))
        self.query_one("#status-fixes", Static).update(Breakable(fixes))
        self.query_one("#status-fixes").display = bool(fixes)
        self.query_one("#status-fixes-title").display = bool(fixes)
        controls = Table(box=None, show_header=False, pad_edge=False, expand=True)
        controls.add_column(width=1)
        controls.add_column(no_wrap=True)
        controls.add_column(ratio=1, overflow="fold")
        for result in health.controls:
            mark, mark_style = CONTROL_LOOK[result.status]
            spec = result.control
            cis = spec.label.removeprefix(spec.id).removeprefix(" / ")
            controls.add_row(
                Text(mark, style=mark_style),
                spec.id,
                Breakable(
                    Text.assemble(
                        (spec.title, "bold"),
                        f": {result.reason}",
                        (f"\n{cis}" if cis else "", "dim"),
                    )
                ),
            )
        self.query_one("#status-controls", Static).update(controls)
        facts = Table.grid(padding=(0, 2))
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column(overflow="fold")
        for name, value in fact_rows(health.facts):
            facts.add_row(name, Breakable(value))
        self.query_one("#status-facts", Static).update(facts)
        self._show_integrity()
        self.query_one("#status-fix", Button).disabled = not self.failed_controls()
        self.refresh_bindings()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Deliver logs only in sandbox mode; Log files once a trail is selected."""
        if action == "deliver_logs":
            return self.sandbox
        if action in ("log_files", "validate"):
            return self.trail() is not None
        if action == "fix":
            return self.failed_controls()
        return True

    def failed_controls(self) -> bool:
        """The selected trail fails a control (Fix failing controls is offered)."""
        health = self.trail()
        return health is not None and any(c.status == "fail" for c in health.controls)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "status-back": self.action_close,
            "status-refresh": self.action_refresh,
            "status-logs": self.action_log_files,
            "status-deliver": self.action_deliver_logs,
            "status-validate": self.action_validate,
            "status-fix": self.action_fix,
        }
        handler = actions.get(event.button.id or "")
        if handler is not None:
            event.stop()
            handler()

    def action_close(self) -> None:
        """Back to the screen the status was opened from."""
        for worker in self.workers:
            worker.cancel()
        self.dismiss()

    def action_fix(self) -> None:
        """Open the fixes of the selected trail's failed controls (read in a worker)."""
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.adoption import fix_trail_from

        health = self.trail()
        if health is None or not self.failed_controls():
            self.notify("The selected trail fails no control: nothing to fix.")
            return
        fix_trail_from(self, health.facts.arn)

    def action_log_files(self) -> None:
        """Open the log browser on the selected trail's bucket."""
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.logs import LogBrowserScreen

        health = self.trail()
        if health is None:
            self.notify("Select a trail first.", severity="warning")
            return
        location = log_location(health)
        if location is None:
            self.notify(
                f"{health.name} has no log bucket to browse (it is missing).", severity="error"
            )
            return
        self.app.push_screen(LogBrowserScreen(location))

    def action_deliver_logs(self) -> None:
        """Sandbox: write the log files CloudTrail would have delivered by now, then refresh."""
        if not self.sandbox:
            return
        self.query_one("#status-deliver", Button).disabled = True
        self._deliver()

    @work(thread=True, exclusive=True, group="deliver")
    def _deliver(self) -> None:
        try:
            report = self.wizard.backend.deliver_logs_now()
        except RuntimeError as exc:
            self.post_message(LogsDelivered(None, str(exc)))
            return
        self.post_message(LogsDelivered(report))

    def _delivered(self, report: DeliveryReport | None, error: str | None) -> None:
        self.query_one("#status-deliver", Button).disabled = False
        if error or report is None:
            self.notify(error or "Nothing was delivered.", severity="error")
            return
        files, digests = len(report.log_files), len(report.digest_files)
        text = f"Delivered {files} log file{'s' if files != 1 else ''}"
        if digests:
            text += f" and {digests} digest file{'s' if digests != 1 else ''}"
        if report.errors:
            text += "; refused: " + ", ".join(
                f"{arn.rsplit('/', 1)[-1]} ({code})" for arn, code in report.errors.items()
            )
        self.notify(text + ".", severity="warning" if report.errors else "information")
        self.action_refresh()

    # ------------------------------------------------------------------ integrity

    def action_validate(self) -> None:
        """Validate the selected trail's log files against its digest chain (in a worker)."""
        health = self.trail()
        if health is None:
            return
        self.query_one("#status-validate", Button).disabled = True
        title = self.query_one("#status-integrity-title")
        title.display = True
        box = self.query_one("#status-integrity", Static)
        box.display = True
        box.update("Validating: reading the digest files and the log files they list…")
        self._validate(
            self.wizard.backend.engine.caller, health.facts.arn, health.facts.home_region
        )

    @work(thread=True, exclusive=True, group="integrity")
    def _validate(self, caller: AwsCaller, arn: str, region: str) -> None:
        # Deferred for start-up time: boto3/botocore load only when AWS is called.
        from wizard.aws.session import explain_aws_error
        from wizard.health.integrity import validate_trail

        try:
            report = validate_trail(caller, arn, region=region)
        except AwsError as err:
            message = IntegrityChecked(arn, None, explain_aws_error(err))
        else:
            message = IntegrityChecked(arn, report)
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def _validated(self, arn: str, report: IntegrityReport | None, error: str | None) -> None:
        self.query_one("#status-validate", Button).disabled = False
        # The latest validation replaces the earlier result, report or error.
        self.integrity.pop(arn, None)
        self.integrity_errors.pop(arn, None)
        if report is not None:
            self.integrity[arn] = report
        elif error is not None:
            self.integrity_errors[arn] = error
        if arn == self.selected:
            self._show_integrity()

    def _show_integrity(self) -> None:
        """The selected trail's integrity result, if it was validated."""
        report = self.integrity.get(self.selected or "")
        error = self.integrity_errors.get(self.selected or "")
        validated = report is not None or error is not None
        self.query_one("#status-integrity-title").display = validated
        box = self.query_one("#status-integrity", Static)
        box.display = validated
        if report is not None:
            box.update(integrity_text(report))
        elif error is not None:
            box.update(Text(f"✗ Could not validate: {error}", style="red"))


def integrity_text(report: IntegrityReport) -> Text:
    """An integrity report in a few lines: the verdict, the invalid files, the notes."""
    text = Text()
    if report.problem:
        text.append("? ", style="bold yellow")
        text.append(report.problem)
        return text
    counts = report.counts
    what = (
        f"{counts.valid_digests} digest file{'s' if counts.valid_digests != 1 else ''} and "
        f"{counts.valid_logs} log file{'s' if counts.valid_logs != 1 else ''} valid"
    )
    if report.covered_start and report.covered_end:
        what += (
            f", covering {report.covered_start:%Y-%m-%d %H:%M} to "
            f"{report.covered_end:%Y-%m-%d %H:%M} UTC"
        )
    if report.ok:
        text.append("✓ ", style="bold green")
        text.append(what + ".")
    else:
        bad = report.invalid
        text.append("✗ ", style="bold red")
        text.append(f"{len(bad)} file{'s' if len(bad) != 1 else ''} failed validation; {what}.")
        for item in bad[:10]:
            text.append(f"\n  {item.status}: ", style="bold red")
            text.append(f"{item.uri}: {item.detail}")
        if len(bad) > 10:
            text.append(f"\n  … and {len(bad) - 10} more (cloudtrail-wizard validate lists all)")
    for note in report.notes:
        text.append(f"\nNote: {note}", style="dim")
    return text
