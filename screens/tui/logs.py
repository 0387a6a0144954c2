"""The log browser: a trail's newest log files; open one to see its events as a filterable table.

The files are listed newest first (:func:`wizard.health.logfiles.latest_log_files`, which walks
the date folders backwards instead of listing years of keys); Enter opens one. Its records
become rows (time, service, action, who, from where, error) that the filter box narrows as
you type (:func:`wizard.health.logfiles.filter_rows`); the highlighted record is shown in full
below. Listing and reading run in thread workers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, LoadingIndicator, Static
from textual.worker import get_current_worker

from screens.tui.base import wizard_app
from screens.tui.messages import LogFileRead, LogFilesListed
from screens.tui.widgets.fit_table import FitTable
from screens.tui.widgets.footer import StepFooter
from screens.tui.widgets.wrap import Elided, Shortened, elided_line
from wizard.model.text import printable, printable_lines

if TYPE_CHECKING:
    from screens.tui.app import WizardApp
    from wizard.health.logfiles import LogFile, LogListing, LogLocation, LogRow
    from wizard.ports import AwsCaller

FILTER_HINT = (
    "Filter: words match any column; who:alice, service:s3, action:Put, from:10.0., "
    "region:eu-west-1, error:* (failed calls), -word excludes"
)
"""Placeholder of the filter box."""

FILTER_HINT_SHORT = "Filter: who:alice service:s3 action:Put error:* -word (any column)"
"""The placeholder when the whole one does not fit the box (a placeholder cannot wrap)."""


def delivered_at(stamp: str) -> str:
    """``20250102T1005Z`` as ``2025-01-02 10:05Z`` (other text unchanged)."""
    if len(stamp) == 14 and stamp[8] == "T":
        return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}Z"
    return stamp


class LogBrowserScreen(Screen[None]):
    """The newest log files of one trail, and the events of the one opened."""

    DEFAULT_CSS = """
    LogBrowserScreen { layout: vertical; }
    LogBrowserScreen #logs-where { height: auto; padding: 0 1; margin-top: 1; }
    LogBrowserScreen .logs-loading { height: 1; margin: 0 1; }
    LogBrowserScreen .logs-loading LoadingIndicator { width: 6; height: 1; }
    LogBrowserScreen #logs-files { height: auto; max-height: 8; margin: 0 1; }
    LogBrowserScreen .logs-note { height: auto; padding: 0 1; color: $text-muted; }
    LogBrowserScreen #logs-error { height: auto; padding: 0 1; color: $error; }
    LogBrowserScreen #logs-file-title { text-style: bold; margin: 1 1 0 1; }
    LogBrowserScreen #logs-filter { margin: 0 1 1 1; }
    LogBrowserScreen #logs-records { height: 1fr; margin: 0 1; }
    LogBrowserScreen #logs-record { height: auto; max-height: 8; margin: 0 1;
        border-top: solid $primary; }
    /* Few rows: the events table keeps room for a few events between files and record. */
    LogBrowserScreen.-short #logs-where { margin-top: 0; }
    LogBrowserScreen.-short #logs-files { max-height: 4; }
    LogBrowserScreen.-short #logs-file-title { margin: 0 1; }
    LogBrowserScreen.-short #logs-filter { margin: 0 1; }
    LogBrowserScreen.-short #logs-records { min-height: 4; }
    LogBrowserScreen.-short #logs-record { max-height: 5; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("r", "refresh", "Refresh files"),
        Binding("slash", "focus_filter", "Filter"),
    ]

    def __init__(self, location: LogLocation, *, limit: int = 50) -> None:
        """Browse ``location`` (a trail's bucket and log root).

        Args:
            location: Where the trail's log files are.
            limit: How many of the newest files to list.
        """
        super().__init__()
        self.location = location
        """Bucket, region and root of the trail's log files."""
        self.limit = limit
        """Files listed."""
        self.files: list[LogFile] = []
        """The files listed, newest first."""
        self.opened: str | None = None
        """Key of the file whose events are shown."""
        # dict[str, Any]: a CloudTrail record is JSON whose fields vary by service and call.
        self.records: list[dict[str, Any]] = []
        """The opened file's records."""
        self.rows: list[LogRow] = []
        """Its records as rows."""
        self.shown: list[LogRow] = []
        """The rows the filter lets through, in the table's order."""

    @property
    def wizard(self) -> WizardApp:
        """The app, typed (see :func:`~screens.tui.base.wizard_app`)."""
        return wizard_app(self)

    def where_text(self, regions: list[str] | None = None) -> str:
        """The header: the bucket and folder the files are read from, and the bucket's region.

        A trail's files sit in one bucket, in that bucket's region, but each holds the events
        of one source region (the Region column): a trail homed in us-west-2 may write to a
        bucket in eu-west-1. Both are named, so neither looks like a mistake.

        Args:
            regions: The source regions of the files listed (None before the listing).

        Returns:
            One or two sentences.
        """
        where = self.location
        text = f"Reading s3://{where.bucket}/{where.root} (the bucket is in {where.bucket_region})"
        if regions:
            text += f"; files with the events of {', '.join(regions)} (Region column)"
        return text + ", newest first. Enter opens a file."

    def compose(self) -> ComposeResult:
        where = self.location
        with Horizontal(id="titlebar"):
            yield Label(f"cloudtrail-wizard  Log files of {where.trail}", id="title")
            if self.wizard.sandbox_banner:
                yield Label(" SANDBOX ", id="sandbox-banner")
        yield Static(self.where_text(), id="logs-where", markup=False)
        with Horizontal(id="logs-files-loading", classes="logs-loading"):
            yield LoadingIndicator()
            yield Label("Looking for the newest log files…")
        # Columns that narrow to the screen: a long file name or caller loses its middle.
        yield FitTable(
            fit={"file": "elide"}, id="logs-files", cursor_type="row", zebra_stripes=True
        )
        yield Static(id="logs-files-note", classes="logs-note", markup=False)
        yield Static(id="logs-error", markup=False)
        yield Static(id="logs-file-title", markup=False)
        with Horizontal(id="logs-file-loading", classes="logs-loading"):
            yield LoadingIndicator()
            yield Label("Reading the log file…")
        yield Input(placeholder=FILTER_HINT, id="logs-filter", compact=True)
        yield FitTable(
            # Caller, address and error give way first; then the time drops its date.
            fit={
                **dict.fromkeys(("who", "from", "error"), "elide"),
                **dict.fromkeys(("time", "service", "action"), "elide-last"),
            },
            id="logs-records",
            cursor_type="row",
            zebra_stripes=True,
        )
        with VerticalScroll(id="logs-record"):
            yield Static(id="logs-record-json", markup=False)
        yield StepFooter()  # hides the keys least needed when the line is too short

    def on_resize(self, event: events.Resize) -> None:
        box = self.query_one("#logs-filter", Input)
        # The box is the screen's width less its margins.
        fits = cell_len(FILTER_HINT) <= event.size.width - 4
        box.placeholder = FILTER_HINT if fits else FILTER_HINT_SHORT

    def on_mount(self) -> None:
        files = self.query_one("#logs-files", DataTable)
        for title in ("Delivered", "Region", "Size", "File"):
            files.add_column(title, key=title.lower())
        records = self.query_one("#logs-records", DataTable)
        for title in ("Time", "Service", "Action", "Who", "From", "Error"):
            records.add_column(title, key=title.lower())
        for selector in ("#logs-file-loading", "#logs-filter", "#logs-records", "#logs-record"):
            self.query_one(selector).display = False
        self.query_one("#logs-error").display = False
        self.query_one("#logs-file-title").display = False
        self.action_refresh()

    # ------------------------------------------------------------------ listing

    def action_refresh(self) -> None:
        """List the newest files again."""
        self.query_one("#logs-files-loading").display = True
        self.query_one("#logs-files-note").display = False
        self._list(self.wizard.backend.engine.caller)

    @work(thread=True, exclusive=True, group="logfiles")
    def _list(self, caller: AwsCaller) -> None:
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.health.logfiles import LogFileError, latest_log_files

        where = self.location
        try:
            listing = latest_log_files(
                caller, where.bucket, where.bucket_region, where.root, limit=self.limit
            )
            message = LogFilesListed(listing)
        except LogFileError as exc:
            message = LogFilesListed(None, str(exc))
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def _listed(self, listing: LogListing | None, error: str | None) -> None:
        self.query_one("#logs-files-loading").display = False
        self._error(error)
        note = self.query_one("#logs-files-note", Static)
        table = self.query_one("#logs-files", DataTable)
        table.clear()
        self.files = list(listing.files) if listing is not None else []
        for f in self.files:
            table.add_row(
                delivered_at(f.stamp),
                f.region,
                f"{f.size:,} B",
                Elided(printable(f.name)),
                key=f.key,
            )
        table.display = bool(self.files)
        regions = sorted({f.region for f in self.files})
        self.query_one("#logs-where", Static).update(self.where_text(regions))
        text = ""
        if listing is not None and not self.files:
            text = (
                "No log files yet. The sandbox delivers them within about half a minute of "
                "each call; Deliver logs now, on the Trail health screen, delivers at once."
                if self.wizard.backend.sandbox
                else "No log files yet. CloudTrail typically delivers them within about 5 "
                "minutes of a call once the trail is logging."
            )
        elif listing is not None and not listing.complete:
            text = "Only the newest days were searched; older files may exist."
        note.update(text)
        note.display = bool(text)
        if self.files and self.opened is None:
            table.focus()

    # ------------------------------------------------------------------ one file

    @on(DataTable.RowSelected, "#logs-files")
    def _file_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_file(str(event.row_key.value))

    def open_file(self, key: str) -> None:
        """Read ``key`` (in a thread worker) and show its events."""
        self.opened = key
        title = self.query_one("#logs-file-title", Static)
        title.update(elided_line("Events in ", Elided(printable(key.rsplit("/", 1)[-1]))))
        title.display = True
        self.query_one("#logs-file-loading").display = True
        self._read(self.wizard.backend.engine.caller, key)

    @work(thread=True, exclusive=True, group="logfile")
    def _read(self, caller: AwsCaller, key: str) -> None:
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.health.logfiles import LogFileError, read_log_file

        where = self.location
        try:
            records = read_log_file(caller, where.bucket, where.bucket_region, key)
            message = LogFileRead(key, records)
        except LogFileError as exc:
            message = LogFileRead(key, None, str(exc))
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def _read_done(self, key: str, records: list[dict[str, Any]] | None, error: str | None) -> None:
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.health.logfiles import record_row

        if key != self.opened:
            return
        self.query_one("#logs-file-loading").display = False
        self._error(error)
        self.records = list(records or [])
        self.rows = [record_row(r, i) for i, r in enumerate(self.records)]
        for selector in ("#logs-filter", "#logs-records", "#logs-record"):
            self.query_one(selector).display = records is not None
        if records is None:
            self.query_one("#logs-file-title").display = False
            return
        self.apply_filter()
        self.query_one("#logs-records", DataTable).focus()

    def on_log_files_listed(self, message: LogFilesListed) -> None:
        message.stop()
        self._listed(message.listing, message.error)

    def on_log_file_read(self, message: LogFileRead) -> None:
        message.stop()
        self._read_done(message.key, message.records, message.error)

    def _error(self, error: str | None) -> None:
        box = self.query_one("#logs-error", Static)
        box.update(printable_lines(error or ""))
        box.display = bool(error)

    # ------------------------------------------------------------------ filter

    @on(Input.Changed, "#logs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.apply_filter()

    @on(Input.Submitted, "#logs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#logs-records", DataTable).focus()

    def apply_filter(self) -> None:
        """Show the rows the filter text lets through."""
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.health.logfiles import filter_rows

        text = self.query_one("#logs-filter", Input).value
        self.shown = filter_rows(self.rows, text)
        table = self.query_one("#logs-records", DataTable)
        table.clear()
        for row in self.shown:
            # The fields are whatever the file in the bucket says: as Elided text (a string cell
            # would be read as markup, and "[/]" would stop the screen) with every control
            # character escaped.
            cells = (row.service, row.action, row.who, row.source)
            time = printable(row.time)
            table.add_row(
                Shortened(time, time.partition("T")[2] or time),
                *(Elided(printable(cell)) for cell in cells),
                Elided(printable(row.error), style="red") if row.error else "",
                key=str(row.index),
            )
        name = (self.opened or "").rsplit("/", 1)[-1]
        self.query_one("#logs-file-title", Static).update(
            elided_line(
                "Events in ", Elided(printable(name)), f": {len(self.shown)} of {len(self.rows)}"
            )
        )
        self._show_record(self.shown[0].index if self.shown else None)

    @on(DataTable.RowHighlighted, "#logs-records")
    def _record_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self._show_record(int(event.row_key.value))

    def _show_record(self, index: int | None) -> None:
        text = ""
        if index is not None and 0 <= index < len(self.records):
            text = json.dumps(self.records[index], indent=2, sort_keys=True, default=str)
        self.query_one("#logs-record-json", Static).update(text)

    # ------------------------------------------------------------------ actions

    def action_focus_filter(self) -> None:
        """Put the cursor in the filter box (once a file is open)."""
        box = self.query_one("#logs-filter", Input)
        if box.display:
            box.focus()

    def action_close(self) -> None:
        """From the filter box, back to the events; else back to the status screen."""
        if self.query_one("#logs-filter", Input).has_focus:
            self.query_one("#logs-records", DataTable).focus()
            return
        for worker in self.workers:
            worker.cancel()
        self.dismiss()
