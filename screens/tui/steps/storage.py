"""Step 3: where the log files go: a new bucket, or one of the account's (or another's)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import (
    Button,
    Input,
    Label,
    LoadingIndicator,
    RadioButton,
    RadioSet,
    Select,
    Static,
)
from textual.worker import Worker, WorkerState, get_current_worker

from screens.tui.base import StepScreen
from screens.tui.messages import BucketChecked, BucketsListed
from screens.tui.state import WizardState
from screens.tui.widgets.choice_table import ChoiceTable, Row
from screens.tui.widgets.radio_list import RadioList
from screens.tui.widgets.wrap import Elided
from wizard.account.inventory import BucketChoice
from wizard.engine import Engine
from wizard.model.names import check_bucket_name
from wizard.model.regions import all_regions, region_description
from wizard.ports import AwsError

AVAILABILITY_DELAY = 0.4
"""Seconds of no typing before the bucket name's availability is checked."""


class StorageScreen(StepScreen):
    """New bucket (name checked as you type) or an existing one picked from a list."""

    STEP_ID = "storage"
    AUTO_FOCUS = "#mode"

    DEFAULT_CSS = """
    StorageScreen #mode { width: auto; }
    StorageScreen #new, StorageScreen #existing { height: auto; }
    StorageScreen #availability-row { height: 1; }
    StorageScreen #availability-loading { width: 6; height: 1; }
    StorageScreen #bucket-region { width: 60; }
    StorageScreen #reload-buckets { margin-top: 1; }
    StorageScreen #access-mode { width: auto; }
    StorageScreen #access { height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_lookup", "Cancel lookup"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._buckets: list[BucketChoice] | None = None
        """The account's buckets, once listed."""
        self._chosen: str | None = None
        """The existing bucket chosen from the list."""
        self._availability: tuple[str, str | None] | None = None
        """The last availability answer: (name, None or why it cannot be used)."""
        self._checking: str | None = None
        """The name whose availability is being checked."""
        self._debounce: Timer | None = None

    def compose_body(self) -> ComposeResult:
        q = self.question("bucket.create")
        create = bool(self.initial("bucket.create"))
        if not create:
            self._chosen = self.answer("bucket.name") or None
        yield Label(q.prompt, classes="field-label")
        with RadioList(id="mode", compact=True):
            for choice in q.choices:
                label = Text.assemble(choice.label, ("  " + choice.hint, "dim"))
                mode = "new" if choice.value else "existing"
                yield RadioButton(label, value=choice.value == create, id=f"mode-{mode}")
        with Vertical(id="new"):
            name_question = self.question("bucket.name")
            new_name = self.answer("bucket.name") if create else None
            if not new_name:
                new_name = name_question.default({**self.state.draft, "bucket": {"create": True}})
            yield from self.compose_text("bucket.name", "bucket-name", value=new_name or "")
            with Horizontal(id="availability-row"):
                yield LoadingIndicator(id="availability-loading")
                yield Static("", id="availability")
            home = self._home_region()
            region = self.answer("bucket.region") or home
            regions = all_regions()
            if region not in regions:
                regions.append(region)
            yield Label(self.question("bucket.region").prompt, classes="field-label")
            yield Select(
                [(f"{r}  {region_description(r)}", r) for r in regions],
                value=region,
                allow_blank=False,
                id="bucket-region",
            )
            yield Static(f"Default: the trail's home region, {home}.", classes="hint")
        with Vertical(id="existing"):
            yield Label("Your buckets", classes="field-label")
            yield ChoiceTable(
                ("Bucket", "Region", "Policy"),
                filter_placeholder="Type to filter the buckets",
                fit={"Bucket": "elide", "Policy": "wrap"},
                id="buckets",
            )
            yield Static("", id="chosen")
            yield Button("List the buckets again", id="reload-buckets")
            yield from self.compose_text(
                "bucket.name",
                "other-bucket",
                value="",
                prompt="Or the name of a bucket in another account",
                placeholder="e.g. central-logs-bucket",
                check=lambda v: check_bucket_name(v) if v else None,
            )
        yield from self.compose_access_logs()

    def compose_access_logs(self) -> ComposeResult:
        """Server access logging of the log bucket: off, into a new or an existing bucket."""
        q = self.question("bucket.access_logging")
        mode = self.initial("bucket.access_logging") or "off"
        yield Label(q.prompt, classes="field-label")
        with RadioList(id="access-mode", compact=True):
            for choice in q.choices:
                label = Text.assemble(choice.label, ("  " + choice.hint, "dim"))
                yield RadioButton(label, value=choice.value == mode, id=f"access-{choice.value}")
        yield Static(q.help, classes="hint")
        with Vertical(id="access"):
            target = self.answer("bucket.access_log_bucket") or ""
            yield from self.compose_text("bucket.access_log_bucket", "access-bucket", value=target)
            prefix = self.answer("bucket.access_log_prefix")
            yield from self.compose_text(
                "bucket.access_log_prefix",
                "access-prefix",
                value=self.question("bucket.access_log_prefix").default(self.state.draft)
                if prefix is None
                else str(prefix),
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#availability-loading").display = False
        self.query_one("#reload-buckets").display = False
        self._show_mode(self._create)
        self._show_access()
        if self._create:
            self._check_now(self.input_value("bucket-name"))

    # ------------------------------------------------------------------ mode

    @property
    def _create(self) -> bool:
        return self.query_one("#mode", RadioSet).pressed_index != 1

    @on(RadioSet.Changed, "#mode")
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        self._show_mode(self._create)

    def _show_mode(self, create: bool) -> None:
        self.query_one("#new").display = create
        self.query_one("#existing").display = not create
        if not create and self._buckets is None and not self._listing:
            self._list_buckets()
        self._show_chosen()

    # ------------------------------------------------------------------ access logging

    @property
    def _access_mode(self) -> str:
        choices = self.question("bucket.access_logging").choices
        index = self.query_one("#access-mode", RadioSet).pressed_index
        return str(choices[index].value) if 0 <= index < len(choices) else "off"

    @on(RadioSet.Changed, "#access-mode")
    def _access_mode_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self._show_access()

    def _log_bucket_name(self) -> str:
        return (self.input_value("bucket-name") if self._create else self._existing_name()) or ""

    def _show_access(self) -> None:
        on = self._access_mode != "off"
        self.query_one("#access").display = on
        target = self.query_one("#access-bucket", Input)
        if on and not target.value:
            suggestion = self.question("bucket.access_log_bucket").default(
                {"bucket": {"name": self._log_bucket_name()}}
            )
            target.value = str(suggestion or "")

    # ------------------------------------------------------------------ new bucket

    @on(Input.Changed, "#bucket-name")
    def _name_changed(self, event: Input.Changed) -> None:
        name = event.value.strip()
        if name == self._checking:
            return  # the input also reports its first value, which is being checked already
        if self._debounce is not None:
            self._debounce.stop()
        if self._availability is not None and self._availability[0] == name:
            self._show_availability()
            return
        self.workers.cancel_group(self, "availability")
        self._show_availability()
        if event.validation_result is not None and not event.validation_result.is_valid:
            return
        self._debounce = self.set_timer(AVAILABILITY_DELAY, lambda: self._check_now(name))

    @on(Input.Submitted, "#bucket-name")
    def _name_submitted(self, event: Input.Submitted) -> None:
        """Enter checks at once instead of waiting for the pause in typing."""
        if self._debounce is not None:
            self._debounce.stop()
        if event.validation_result is None or event.validation_result.is_valid:
            self._check_now(event.value.strip())

    def _check_now(self, name: str) -> None:
        if not name or name == self._checking or check_bucket_name(name) is not None:
            return
        if self._availability is not None and self._availability[0] == name:
            self._show_availability()
            return
        self.query_one("#availability-loading").display = True
        self.query_one("#availability", Static).update(f"Checking whether {name} is free…")
        self._checking = name
        self._look_up_availability(self.wizard.backend.engine, name)

    @work(thread=True, exclusive=True, group="availability")
    def _look_up_availability(self, engine: Engine, name: str) -> None:
        problem = engine.bucket_available(name)
        if not get_current_worker().is_cancelled:
            self.post_message(BucketChecked(name, problem))

    def _show_availability(self) -> None:
        """Show the last availability answer, if it is about the name in the input."""
        self.query_one("#availability-loading").display = False
        box = self.query_one("#availability", Static)
        name = self.input_value("bucket-name")
        if self._availability is None or self._availability[0] != name:
            box.update("")
            return
        problem = self._availability[1]
        box.update(f"✗ {problem}" if problem else f"✓ {name} is free.")
        box.set_class(bool(problem), "problem")
        box.set_class(not problem, "ok")

    # ------------------------------------------------------------------ existing bucket

    @property
    def _listing(self) -> bool:
        return any(w.group == "buckets" for w in self.lookups_running())

    def _list_buckets(self) -> None:
        self.query_one("#reload-buckets").display = False
        self.query_one("#buckets", ChoiceTable).show_loading("Listing the account's buckets…")
        self._look_up_buckets(self.wizard.backend.engine)

    @work(thread=True, exclusive=True, group="buckets")
    def _look_up_buckets(self, engine: Engine) -> None:
        try:
            message = BucketsListed(engine.buckets())
        except AwsError as err:
            message = BucketsListed([], error=f"{err.code}: {err.message}")
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def _show_buckets(self, buckets: list[BucketChoice]) -> None:
        self._buckets = buckets
        rows: list[Row] = []
        for b in buckets:
            note = b.note.removeprefix("policy ")  # the column is titled "Policy"
            policy = Text(f"✓ {note}", style="green") if b.allows_cloudtrail else Text(note)
            rows.append((b.name, (Elided(b.name), b.region or "unknown", policy)))
        table = self.query_one("#buckets", ChoiceTable)
        listed = self._chosen in {b.name for b in buckets}
        table.set_rows(rows, chosen=self._chosen if listed else None)
        if self._chosen and not listed and not self.input_value("other-bucket"):
            # Not one of this account's buckets: it was typed by name (another account).
            self.query_one("#other-bucket", Input).value = self._chosen
        table.show_note(
            "Enter or a click chooses a bucket." if buckets else "This account has no bucket."
        )
        self._show_chosen()

    @on(ChoiceTable.Chosen, "#buckets")
    def _bucket_chosen(self, event: ChoiceTable.Chosen) -> None:
        self._chosen = event.key
        self.query_one("#other-bucket", Input).value = ""
        # A refusal of the bucket chosen before is about that bucket: Next re-checks.
        self.show_errors([])
        self._show_chosen()

    @on(Input.Changed, "#other-bucket")
    def _other_changed(self, event: Input.Changed) -> None:
        self._show_chosen()

    @on(Button.Pressed, "#reload-buckets")
    def _reload(self, event: Button.Pressed) -> None:
        event.stop()
        self._list_buckets()

    def _existing_name(self) -> str | None:
        return self.input_value("other-bucket") or self._chosen

    def _show_chosen(self) -> None:
        box = self.query_one("#chosen", Static)
        other = self.input_value("other-bucket")
        if other:
            box.update(f"Chosen: {other} (by name; its policy is read on the review screen)")
            return
        found = next((b for b in self._buckets or [] if b.name == self._chosen), None)
        if found is None:
            box.update(f"Chosen: {self._chosen}" if self._chosen else "No bucket chosen yet.")
            return
        verdict = (
            "its policy already allows CloudTrail"
            if found.allows_cloudtrail
            else "CloudTrail's statements will be added to its policy"
        )
        box.update(f"Chosen: {found.name} ({found.region or 'region unknown'}): {verdict}.")

    # ------------------------------------------------------------------ lookups

    def on_bucket_checked(self, message: BucketChecked) -> None:
        self._checking = None
        self._availability = (message.name, message.problem)
        self._show_availability()

    def on_buckets_listed(self, message: BucketsListed) -> None:
        self._show_buckets(message.buckets)
        if message.error:
            self.query_one("#buckets", ChoiceTable).show_note(
                f"Could not list the buckets ({message.error}); type a name below."
            )
            self.query_one("#reload-buckets").display = True

    @on(Worker.StateChanged)
    def _lookup_cancelled(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.CANCELLED:
            return
        if event.worker.group == "buckets":
            self.query_one("#buckets", ChoiceTable).show_note(
                "Listing cancelled: list again, or type a bucket name below."
            )
            self.query_one("#reload-buckets").display = True
        elif event.worker.group == "availability":
            self._checking = None
            self.query_one("#availability-loading").display = False
            self.query_one("#availability", Static).update("")

    # ------------------------------------------------------------------ navigation

    def _home_region(self) -> str:
        region = self.answer("trail.region")
        if region:
            return str(region)
        account = self.state.account
        return account.region if account is not None else "us-east-1"

    def collect(self) -> tuple[WizardState, list[str]]:
        state = self.state.with_answer("bucket.create", self._create)
        errors: list[str] = []
        if self._create:
            name = self.input_value("bucket-name")
            region: object = self.query_one("#bucket-region", Select).value
            # The home region is stored as "none": the bucket then follows the trail's region.
            stored_region = None if region == self._home_region() else region
            state = state.with_answer("bucket.name", name).with_answer(
                "bucket.region", stored_region
            )
            errors += self.check("bucket.name", name) + self.check("bucket.region", stored_region)
            if not errors and self._availability is not None:
                checked, problem = self._availability
                # "could not check" is not a verdict: the review's preflight looks again.
                if checked == name and problem and not problem.startswith("could not check"):
                    errors.append(problem)
                    self.flag_problem("bucket-name")
        else:
            name = self._existing_name() or ""
            state = state.with_answer("bucket.name", name).with_answer("bucket.region", None)
            if not name:
                errors.append(
                    "Choose a bucket from the list, or type the name of a bucket in another "
                    "account."
                )
                self.flag_problem("buckets")
            else:
                errors += self.check("bucket.name", name)
        mode = self._access_mode
        if mode != "off" or self.answer("bucket.access_logging") is not None:
            # Off is the default: the draft only says so when it was on before.
            state = state.with_answer("bucket.access_logging", mode)
        if mode != "off":
            target = self.input_value("access-bucket")
            prefix = self.input_value("access-prefix")
            state = state.with_answer("bucket.access_log_bucket", target).with_answer(
                "bucket.access_log_prefix", prefix
            )
            errors += self.check("bucket.access_log_bucket", target)
            errors += self.check("bucket.access_log_prefix", prefix)
            if target and target == name:
                errors.append(
                    f"The access logs cannot go to the log bucket {name} itself (every access "
                    "log would be logged again); name another bucket."
                )
        return state, errors
