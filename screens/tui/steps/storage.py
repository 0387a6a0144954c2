"""Step 3: where the log files go: a new bucket, or an existing one of this account or another's.

A bucket of another account (a log-archive account) is named with its owner's account ID
(``bucket.account``); the wizard then reaches that account with a profile or by assuming a
role there (as ``--log-account-profile`` / ``--log-account-role`` do), or not at all, and
the review lists the statements for its owner (:mod:`screens.common.log_account`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

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

from screens.common.backend import Backend
from screens.common.log_account import (
    ACCOUNT_HINT,
    ACCOUNT_PROMPT,
    OWNER_PROMPT,
    PROFILE_PROMPT,
    REACH_CHOICES,
    REACH_PROMPT,
    ROLE_PLACEHOLDER,
    ROLE_PROMPT,
    LogAccount,
    LogAccountProblem,
    Owner,
    Reach,
    check_owner_account,
    check_profile,
    check_role,
    connect_log_account,
    owner_choices,
    sandbox_hint,
    who_writes,
)
from screens.tui.base import StepScreen
from screens.tui.messages import (
    BucketBatchReady,
    BucketChecked,
    BucketsListed,
    LogAccountConnected,
    LogAccountFailed,
)
from screens.tui.state import WizardState
from screens.tui.widgets.choice_table import ChoiceTable, Row
from screens.tui.widgets.on_demand import OnDemand
from screens.tui.widgets.radio_list import RadioList
from screens.tui.widgets.wrap import Elided
from wizard.account.inventory import BucketBatch, BucketChoice, BucketListing
from wizard.engine import Engine
from wizard.guide import retention_problem
from wizard.model.names import check_bucket_name
from wizard.model.regions import all_regions, region_description
from wizard.ports import AwsError


class BucketRowsReady(BucketBatchReady):
    """A bucket listing's next batch, with its rows made in the listing's thread.

    A page of ListBuckets is a thousand rows: their cells are made beside the requests, not
    on the event loop, where they would hold up a key pressed meanwhile.
    """

    def __init__(
        self, listing: BucketListing, batch: BucketBatch, found: list[Row], checked: list[Row]
    ) -> None:
        super().__init__(listing, batch)
        self.found = found
        """The rows of ``batch.found``."""
        self.checked = checked
        """The rows of ``batch.checked``."""


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
    StorageScreen #access, StorageScreen #access-logging { height: auto; }
    StorageScreen #owner, StorageScreen #reach { width: auto; }
    StorageScreen #other-account, StorageScreen #profile-fields, StorageScreen #role-fields {
        height: auto;
    }
    StorageScreen #connect-row { height: auto; margin-top: 1; }
    StorageScreen #connect-loading { width: 6; height: 1; }
    StorageScreen #log-status { width: 1fr; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_lookup", "Cancel lookup"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._buckets: dict[str, BucketChoice] | None = None
        """The account's buckets by name, as the listing finds and checks them."""
        self._bucket_listing: BucketListing | None = None
        """The listing filling the picker (its batches are shown; older ones dropped)."""
        self._chosen: str | None = None
        """The existing bucket chosen from the list."""
        self._availability: tuple[str, str | None] | None = None
        """The last availability answer: (name, None or why it cannot be used)."""
        self._checking: str | None = None
        """The name whose availability is being checked."""
        self._debounce: Timer | None = None
        self._listed_for: str | None = None
        """The account whose buckets the picker shows (or is listing)."""
        self._log_error: tuple[str, str, str, str] | None = None
        """The last failed connection: (account, how, profile or role, why)."""
        self._connecting: str | None = None
        """The account being connected to."""

    @property
    def bucket_listing(self) -> BucketListing | None:
        """The listing filling the bucket picker now, if any (None once it is stopped and
        set aside, or before an existing bucket is asked for)."""
        return self._bucket_listing

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
                new_name = name_question.suggest(
                    {**self.state.draft, "bucket": {"create": True}}, self.account_id
                )
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
        # Half the step's widgets, hidden while a new bucket is chosen: composed when an
        # existing bucket is first chosen (see _mode_changed), or now if it is already.
        yield OnDemand(self.compose_existing, now=not create, id="existing")
        with Vertical(id="access-logging"):
            yield from self.compose_access_logs()
        yield Static("", id="access-other", classes="hint")
        with Vertical(id="retention"):
            yield from self.compose_retention()

    def compose_existing(self) -> ComposeResult:
        """An existing bucket: whose, the picker of its owner's buckets, or its name."""
        yield from self.compose_owner()
        yield Label("Buckets of this account", id="buckets-label", classes="field-label")
        yield ChoiceTable(
            ("Bucket", "Region", "Policy"),
            filter_placeholder="Type to filter the buckets",
            fit={"Bucket": "elide", "Policy": "wrap"},
            # As wide as the longest verdict, while the verdicts are being read.
            reserve={"Policy": len("needs CloudTrail's statements")},
            id="buckets",
        )
        yield Static("", id="chosen")
        reload = Button("List the buckets again", id="reload-buckets")
        reload.display = False  # shown when a listing stops or fails
        yield reload
        typed = self._chosen if self._chosen and self._unlisted_at_start() else ""
        if typed:
            self._chosen = None
        yield from self.compose_text(
            "bucket.name",
            "other-bucket",
            value=typed or "",
            prompt="Or type the bucket's name",
            placeholder="e.g. central-logs-bucket",
            check=lambda v: check_bucket_name(v) if v else None,
        )

    @property
    def _existing_shown(self) -> bool:
        """The existing bucket's part is composed (see :meth:`compose_existing`)."""
        return self.query_one("#existing", OnDemand).composed

    def compose_owner(self) -> ComposeResult:
        """Whose bucket; for another account's: its ID and how the wizard reaches it."""
        account = str(self.answer("bucket.account") or "")
        owner: Owner = "other" if account else "this"
        yield Label(OWNER_PROMPT, classes="field-label")
        with RadioList(id="owner", compact=True):
            for choice in owner_choices(self._this_account()):
                label = Text.assemble(choice.label, ("  " + choice.hint, "dim"))
                yield RadioButton(label, value=choice.value == owner, id=f"owner-{choice.value}")
        with Vertical(id="other-account"):
            yield from self.compose_input(
                "bucket-account",
                prompt=ACCOUNT_PROMPT,
                value=account,
                check=lambda v: check_owner_account(v, self._this_account()),
                placeholder="e.g. 111122223333",
                hint=ACCOUNT_HINT,
            )
            reach, value = self._initial_reach(account)
            yield Label(REACH_PROMPT, classes="field-label")
            with RadioList(id="reach", compact=True):
                for choice in REACH_CHOICES:
                    label = Text.assemble(choice.label, ("  " + choice.hint, "dim"))
                    yield RadioButton(
                        label, value=choice.value == reach, id=f"reach-{choice.value}"
                    )
            with Vertical(id="profile-fields"):
                yield from self.compose_input(
                    "log-profile",
                    prompt=PROFILE_PROMPT,
                    value=value if reach == "profile" else "",
                    check=lambda v: check_profile(v) if v else None,
                )
            with Vertical(id="role-fields"):
                yield from self.compose_input(
                    "log-role",
                    prompt=ROLE_PROMPT,
                    value=value if reach == "role" else "",
                    check=lambda v: (
                        check_role(v, self.input_value("bucket-account")) if v else None
                    ),
                    placeholder=ROLE_PLACEHOLDER,
                )
            hint = sandbox_hint(self.wizard.backend.sandbox_log_archive)
            if hint:
                yield Static(hint, id="log-sandbox", classes="hint")
            with Horizontal(id="connect-row"):
                yield Button("Connect", id="connect-log")
                connecting = LoadingIndicator(id="connect-loading")
                connecting.display = False  # while a connection is being made
                yield connecting
                yield Static("", id="log-status")
        yield Static("", id="who-writes", classes="hint")

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

    def compose_retention(self) -> ComposeResult:
        """Retention: colder storage, expiry of current and old versions, Object Lock."""
        yield Label("Retention of the log files", classes="field-label")
        yield from self.compose_text("bucket.retention_transition_days", "retention-move")
        q = self.question("bucket.retention_storage_class")
        yield Label(q.prompt, classes="field-label")
        yield Select(
            [(f"{c.label}  ({c.hint})", str(c.value)) for c in q.choices],
            value=str(self.initial("bucket.retention_storage_class") or "GLACIER_IR"),
            allow_blank=False,
            id="retention-class",
        )
        yield Static(q.help, classes="hint")
        yield from self.compose_text("bucket.retention_expire_days", "retention-expire")
        yield from self.compose_text("bucket.retention_noncurrent_days", "retention-noncurrent")
        with Vertical(id="object-lock-group"):
            lock = self.question("bucket.object_lock")
            mode = str(self.initial("bucket.object_lock") or "off")
            yield Label(lock.prompt, classes="field-label")
            with RadioList(id="object-lock", compact=True):
                for choice in lock.choices:
                    label = Text.assemble(choice.label, ("  " + choice.hint, "dim"))
                    yield RadioButton(
                        label, value=choice.value == mode, id=f"object-lock-{choice.value}"
                    )
            yield Static(lock.help, classes="hint")
            with Vertical(id="object-lock-days-row"):
                days = self.answer("bucket.object_lock_days")
                yield from self.compose_text(
                    "bucket.object_lock_days",
                    "object-lock-days",
                    value="365" if days is None else str(days),
                )

    @property
    def _lock_mode(self) -> str:
        choices = self.question("bucket.object_lock").choices
        index = self.query_one("#object-lock", RadioSet).pressed_index
        return str(choices[index].value) if 0 <= index < len(choices) else "off"

    @on(RadioSet.Changed, "#object-lock")
    def _lock_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self._show_retention()

    def _show_retention(self) -> None:
        """Object Lock only for a new bucket; its days only while it is on."""
        self.query_one("#object-lock-group").display = self._create
        self.query_one("#object-lock-days-row").display = self._lock_mode != "off"

    def _collect_retention(self, state: WizardState) -> tuple[WizardState, list[str]]:
        """The retention answers from the form, each checked as the guide checks it."""
        errors: list[str] = []
        for key, field_id in (
            ("bucket.retention_transition_days", "retention-move"),
            ("bucket.retention_expire_days", "retention-expire"),
            ("bucket.retention_noncurrent_days", "retention-noncurrent"),
        ):
            value = self.input_value(field_id)
            state = state.with_answer(key, value or None)
            errors += self.check(key, value)
        klass = self.query_one("#retention-class", Select).value
        state = state.with_answer("bucket.retention_storage_class", str(klass))
        mode = self._lock_mode if self._create else "off"
        state = state.with_answer("bucket.object_lock", None if mode == "off" else mode)
        if mode != "off":
            days = self.input_value("object-lock-days")
            state = state.with_answer("bucket.object_lock_days", days)
            errors += self.check("bucket.object_lock_days", days)
        if not errors:
            problem = retention_problem(state.draft.get("bucket", {}))
            if problem:
                errors.append(problem)
                self.flag_problem("retention-move")
        return state, errors

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#availability-loading").display = False
        self._show_mode(self._create)
        self._show_access()
        if self._create:
            self._check_now(self.input_value("bucket-name"))

    # ------------------------------------------------------------------ mode

    @property
    def _create(self) -> bool:
        return self.query_one("#mode", RadioSet).pressed_index != 1

    @on(RadioSet.Changed, "#mode")
    async def _mode_changed(self, event: RadioSet.Changed) -> None:
        if not self._create:
            # The first time an existing bucket is chosen: its part is composed now.
            await self.query_one("#existing", OnDemand).compose_now()
        self._show_mode(self._create)

    def _show_mode(self, create: bool) -> None:
        self.query_one("#new").display = create
        self.query_one("#existing").display = not create
        self._show_owner()
        self._show_retention()

    # ------------------------------------------------------------------ owner

    def _this_account(self) -> str:
        account = self.state.account
        return account.account_id if account is not None else ""

    @property
    def _owner(self) -> Owner:
        if not self._existing_shown:
            return "this"  # (a new bucket is this account's)
        return "other" if self.query_one("#owner", RadioSet).pressed_index == 1 else "this"

    @property
    def _reach(self) -> Reach:
        index = self.query_one("#reach", RadioSet).pressed_index
        value = REACH_CHOICES[index].value if 0 <= index < len(REACH_CHOICES) else "profile"
        return "role" if value == "role" else "owner" if value == "owner" else "profile"

    def _initial_reach(self, account: str) -> tuple[Reach, str]:
        """How the other account is reached when the step opens, and the profile or role."""
        log = self.wizard.backend.log_account
        if account and log is not None and log.account_id == account:
            return log.how, log.value
        if account:
            # Left forward without a session (or read from an answers file): its owner is asked.
            return "owner", ""
        seeded = self.wizard.backend.sandbox_log_archive
        return ("role", "") if seeded is not None else ("profile", "")

    def _unlisted_at_start(self) -> bool:
        """The draft's bucket cannot be picked from a list: another account's, not connected."""
        account = self.answer("bucket.account")
        if not account or self.initial("bucket.create"):
            return False
        log = self.wizard.backend.log_account
        return log is None or log.account_id != account

    def _log_fields(self) -> tuple[str, Reach, str]:
        """What the form says: (owner's account, how it is reached, profile or role ARN)."""
        reach = self._reach
        value = ""
        if reach in ("profile", "role"):
            value = self.input_value("log-profile" if reach == "profile" else "log-role")
        return self.input_value("bucket-account"), reach, value

    def _session_for_form(self) -> LogAccount | None:
        """The log-archive session, if it is the one the form names."""
        log = self.wizard.backend.log_account
        account, reach, value = self._log_fields()
        if log is None or reach == "owner" or not log.same(account, reach, value):
            return None
        return log

    @on(RadioSet.Changed, "#owner")
    def _owner_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self._chosen = None  # a bucket picked from the other owner's list is not this one's
        self._show_owner()

    @on(RadioSet.Changed, "#reach")
    def _reach_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self._suggest_sandbox_role()
        self._show_owner()

    @on(Input.Changed, "#bucket-account")
    def _account_changed(self, event: Input.Changed) -> None:
        self._suggest_sandbox_role()
        self._show_owner()

    @on(Input.Changed, "#log-profile, #log-role")
    def _credentials_changed(self, event: Input.Changed) -> None:
        self._show_owner()

    def _suggest_sandbox_role(self) -> None:
        """In the sandbox, its log-archive account's role fills an empty role field."""
        seeded = self.wizard.backend.sandbox_log_archive
        role = self.query_one("#log-role", Input)
        if seeded is None or self._reach != "role" or role.value:
            return
        if self.input_value("bucket-account") == seeded[0]:
            role.value = seeded[1]

    def _show_owner(self) -> None:
        """Show the fields of the owner and way of reaching it, and the matching buckets."""
        if not self._existing_shown:
            # A new bucket (or the existing bucket's part still being composed): this
            # account's, with its server access logging.
            self.query_one("#access-logging").display = True
            self.query_one("#access-other").display = False
            return
        owner, reach = self._owner, self._reach
        existing = not self._create
        self.query_one("#other-account").display = owner == "other"
        self.query_one("#profile-fields").display = reach == "profile"
        self.query_one("#role-fields").display = reach == "role"
        self.query_one("#connect-row").display = reach != "owner"
        self.query_one("#who-writes", Static).update(who_writes(owner, reach))
        central = existing and owner == "other"
        self.query_one("#access-logging").display = not central
        other = self.query_one("#access-other", Static)
        other.update(
            "Server access logging of a bucket in another account is for its owner to turn on."
        )
        other.display = central
        self._show_log_status()
        if existing:
            self._show_picker()
        self._show_chosen()

    def _show_log_status(self) -> None:
        """Connected, connecting, why it failed, or what to do: from the form as it is now."""
        box = self.query_one("#log-status", Static)
        account, reach, value = self._log_fields()
        connecting = self._connecting is not None
        log = self._session_for_form()
        problem = False
        if reach == "owner" or self._owner == "this":
            text = ""
        elif connecting:
            text = f"Connecting to account {account}…"
        elif log is not None:
            text = f"✓ Connected to account {log.account_id} as {log.caller_arn}."
        elif self._log_error is not None and self._log_error[:3] == (account, reach, value):
            text, problem = f"✗ {self._log_error[3]}", True
        else:
            text = "Connect (or Enter) to reach that account and list its buckets."
        box.update(text)
        box.set_class(problem, "problem")
        box.set_class(log is not None and not connecting, "ok")

    @on(Button.Pressed, "#connect-log")
    def _connect_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._connect()

    @on(Input.Submitted, "#bucket-account, #log-profile, #log-role")
    def _credentials_submitted(self, event: Input.Submitted) -> None:
        self._connect()

    def _connect(self) -> None:
        account, reach, value = self._log_fields()
        if reach == "owner":
            return
        problem = check_owner_account(account, self._this_account())
        if problem is None:
            problem = check_profile(value) if reach == "profile" else check_role(value, account)
        if problem:
            self._log_error = (account, reach, value, problem)
            self._show_log_status()
            return
        self._log_error = None
        self._connecting = account
        self.query_one("#connect-loading").display = True
        self._connect_log(self.wizard.backend, account, reach, value)
        self._show_log_status()

    @work(thread=True, exclusive=True, group="log-account")
    def _connect_log(
        self, backend: Backend, account: str, how: Literal["profile", "role"], value: str
    ) -> None:
        try:
            message: LogAccountConnected | LogAccountFailed = LogAccountConnected(
                connect_log_account(
                    backend.session,
                    account,
                    how,
                    value,
                    sandbox=backend.sandbox,
                    read_only=backend.read_only,
                )
            )
        except LogAccountProblem as exc:
            message = LogAccountFailed(account, exc.message)
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def on_log_account_connected(self, message: LogAccountConnected) -> None:
        self._connecting = None
        self.query_one("#connect-loading").display = False
        self.wizard.backend.use_log_account(message.log)
        self._show_owner()

    def on_log_account_failed(self, message: LogAccountFailed) -> None:
        self._connecting = None
        self.query_one("#connect-loading").display = False
        account, reach, value = self._log_fields()
        if account == message.account_id:
            self._log_error = (account, reach, value, message.message)
        self._show_owner()

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

    def _picker_account(self) -> tuple[str | None, LogAccount | None]:
        """Whose buckets the picker can list (None: nobody's), with the session to use."""
        if self._owner == "this":
            return self._this_account(), None
        log = self._session_for_form()
        return (log.account_id, log) if log is not None else (None, None)

    def _show_picker(self) -> None:
        """List the owner's buckets when they are not the ones shown, or say why not."""
        account, log = self._picker_account()
        label = self.query_one("#buckets-label", Label)
        table = self.query_one("#buckets", ChoiceTable)
        if account is None:
            self._listed_for = None
            self.workers.cancel_group(self, "buckets")
            self._bucket_listing = None
            self._buckets = {}
            table.set_rows([])
            label.update("Buckets of the other account")
            self.query_one("#reload-buckets").display = False
            table.show_note(
                "Without that account's credentials its buckets cannot be listed: type the "
                "bucket's name below."
                if self._reach == "owner"
                else "Connect to list that account's buckets, or type the bucket's name below."
            )
            return
        mine = account == self._this_account()
        label.update("Buckets of this account" if mine else f"Buckets of account {account}")
        if self._listed_for != account:
            self._list_buckets(account, log)

    def _list_buckets(self, account: str, log: LogAccount | None) -> None:
        """Start listing ``account``'s buckets into the picker (rows stream in)."""
        self._listed_for = account
        self.query_one("#reload-buckets").display = False
        engine = self.wizard.backend.engine
        listing = BucketListing(
            engine.caller if log is None else log.caller, engine.ctx.account_id, engine.ctx.region
        )
        self._bucket_listing = listing
        self._buckets = {}
        self.query_one("#buckets", ChoiceTable).start_rows(
            "Listing the account's buckets…"
            if log is None
            else f"Listing account {account}'s buckets…",
            chosen=self._chosen,
        )
        self._look_up_buckets(listing)

    @work(thread=True, exclusive=True, group="buckets")
    def _look_up_buckets(self, listing: BucketListing) -> None:
        """Post the listing's batches until it is complete, fails or Esc cancels it."""
        worker = get_current_worker()
        try:
            for batch in listing.batches(stop=lambda: worker.is_cancelled):
                found = [self._bucket_row(b) for b in batch.found]
                checked = [self._bucket_row(b) for b in batch.checked]
                self.post_message(BucketRowsReady(listing, batch, found, checked))
        except AwsError as err:
            if not worker.is_cancelled:
                self.post_message(BucketsListed([], error=f"{err.code}: {err.message}"))

    @staticmethod
    def _bucket_row(bucket: BucketChoice) -> Row:
        policy: Text | str
        if not bucket.checked:
            policy = Text("…", style="dim")  # being read
        else:
            note = bucket.note.removeprefix("policy ")  # the column is titled "Policy"
            policy = Text(f"✓ {note}", style="green") if bucket.allows_cloudtrail else Text(note)
        return (bucket.name, (Elided(bucket.name), bucket.region or "unknown", policy))

    def on_bucket_rows_ready(self, message: BucketRowsReady) -> None:
        if message.listing is not self._bucket_listing or self._buckets is None:
            return  # a listing replaced since (another owner, listed again)
        batch = message.batch
        table = self.query_one("#buckets", ChoiceTable)
        for bucket in [*batch.found, *batch.checked]:
            self._buckets[bucket.name] = bucket
        if message.found:
            table.add_rows(message.found)
        if message.checked:
            table.update_rows(message.checked)
        if not batch.listed:
            table.show_progress(f"Listing the buckets… {batch.total} so far (Esc stops)")
        elif not batch.complete:
            table.show_progress(
                f"{batch.total} buckets; reading their policies: {batch.done} of "
                f"{batch.total} (Esc stops)"
            )
        else:
            self._buckets_complete()
        if self._chosen and any(b.name == self._chosen for b in [*batch.found, *batch.checked]):
            self._show_chosen()

    def _buckets_complete(self) -> None:
        """Every bucket is listed and checked: say how to choose (or that there is none)."""
        buckets = self._buckets or {}
        table = self.query_one("#buckets", ChoiceTable)
        if self._chosen and self._chosen not in buckets and not self.input_value("other-bucket"):
            # Not one of this account's buckets: it was typed by name (another account).
            self.query_one("#other-bucket", Input).value = self._chosen
        whose = (
            "This account"
            if self._listed_for == self._this_account()
            else f"Account {self._listed_for}"
        )
        table.show_note(
            "Enter or a click chooses a bucket." if buckets else f"{whose} has no bucket."
        )
        self._show_chosen()

    @on(ChoiceTable.Viewed, "#buckets")
    def _buckets_viewed(self, event: ChoiceTable.Viewed) -> None:
        """Read the policies of the rows on screen first."""
        if self._bucket_listing is not None:
            self._bucket_listing.prefer(event.keys)

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
        account, log = self._picker_account()
        if account is not None:
            self._list_buckets(account, log)

    def _existing_name(self) -> str | None:
        if not self._existing_shown:
            return self._chosen
        return self.input_value("other-bucket") or self._chosen

    def _show_chosen(self) -> None:
        box = self.query_one("#chosen", Static)
        other = self.input_value("other-bucket")
        listed = self._buckets or {}
        central = self._owner == "other"
        if other and other not in listed:
            if central and self._reach == "owner":
                box.update(
                    f"Chosen: {other}, by name: its owner adds the statements the review lists."
                )
            else:
                box.update(f"Chosen: {other} (by name; its policy is read on the review screen)")
            return
        # A name typed that the table lists is that row: say what the table says of it.
        found = listed.get(other or self._chosen or "")
        if found is None:
            box.update(f"Chosen: {self._chosen}" if self._chosen else "No bucket chosen yet.")
            return
        if not found.checked:
            verdict = "its policy is being read"
        elif found.allows_cloudtrail:
            verdict = "its policy already allows CloudTrail"
        elif central:
            verdict = "this trail's statements will be added to its policy, as its owner"
        else:
            verdict = "CloudTrail's statements will be added to its policy"
        box.update(f"Chosen: {found.name} ({found.region or 'region unknown'}): {verdict}.")

    # ------------------------------------------------------------------ lookups

    def on_bucket_checked(self, message: BucketChecked) -> None:
        self._checking = None
        self._availability = (message.name, message.problem)
        self._show_availability()

    def on_buckets_listed(self, message: BucketsListed) -> None:
        """The listing failed: say why; the rows found before the failure stay."""
        if message.error:
            self._bucket_listing = None
            self.query_one("#buckets", ChoiceTable).show_note(
                f"Could not list the buckets ({message.error}); type a name below."
            )
            self.query_one("#reload-buckets").display = True

    def action_cancel_lookup(self) -> None:
        """Esc: cancel the lookups; a bucket listing for an owner still asked for says it
        stopped at once (see :meth:`StepScreen.stop_listing`)."""
        self.stop_listing(
            "buckets",
            self._bucket_listing,
            self._buckets_stopped,
            showing=self._listed_for is not None,
        )

    def _buckets_stopped(self) -> None:
        """The bucket listing was cancelled: say so; the rows found stay."""
        self._listed_for = None
        self._bucket_listing = None
        shown = len(self._buckets or {})
        self.query_one("#buckets", ChoiceTable).show_note(
            f"Listing stopped ({shown} bucket{'s' if shown != 1 else ''} shown, some "
            "policies maybe not read): choose one of them, list again, or type a bucket "
            "name below."
            if shown
            else "Listing cancelled: list again, or type a bucket name below."
        )
        self.query_one("#reload-buckets").display = True

    @on(Worker.StateChanged)
    def _lookup_cancelled(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.CANCELLED:
            return
        if event.worker.group == "buckets":
            if self._listed_for is None:
                # Nothing to list any more, or the stop was shown when Esc was pressed.
                return
            self._buckets_stopped()
        elif event.worker.group == "log-account":
            self._connecting = None
            self.query_one("#connect-loading").display = False
            self._show_log_status()
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
        log: LogAccount | None = None
        central = not self._create and self._owner == "other"
        if central:
            account, reach, _value = self._log_fields()
            state = state.with_answer("bucket.account", account or None)
            problem = check_owner_account(account, self._this_account())
            if problem:
                errors.append(problem)
            elif reach != "owner":
                log = self._session_for_form()
                if log is None:
                    errors.append(
                        f"Connect to account {account} first (Connect), or choose 'It cannot: "
                        "I will ask its owner'."
                    )
                    self.flag_problem("connect-log")
        elif self.answer("bucket.account") is not None:
            # This account's bucket: the draft names no owner (as before one was given).
            state = state.with_answer("bucket.account", None)
        if self.wizard.backend.info is not None:
            # The engine reads and changes the central bucket's policy with this session only
            # while the answers put the bucket in that account.
            self.wizard.backend.use_log_account(log)
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
        mode = "off" if central else self._access_mode
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
        state, problems = self._collect_retention(state)
        return state, errors + problems
