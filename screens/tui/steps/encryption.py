"""Step 5: encryption at rest: SSE-S3, or SSE-KMS with a new key or one of the account's."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static
from textual.worker import Worker, WorkerState, get_current_worker

from screens.tui.base import StepScreen
from screens.tui.messages import KeyBatchReady, KeysListed
from screens.tui.state import WizardState
from screens.tui.widgets.choice_table import ChoiceTable, Row
from screens.tui.widgets.radio_list import RadioList
from screens.tui.widgets.wrap import Elided
from wizard.account.inventory import (
    KeyBatch,
    KeyChoice,
    KeyListing,
    bucket_regions,
    locate_bucket,
)
from wizard.engine import Engine
from wizard.ports import AwsError


class KeyRowsReady(KeyBatchReady):
    """A key listing's next batch, with its rows made in the listing's thread (not on the
    event loop, where a few hundred rows' cells would hold up a key pressed meanwhile)."""

    def __init__(
        self,
        listing: KeyListing,
        bucket_region: str,
        batch: KeyBatch,
        found: list[Row],
        checked: list[Row],
    ) -> None:
        super().__init__(listing, bucket_region, batch)
        self.found = found
        """The rows of ``batch.found``."""
        self.checked = checked
        """The rows of ``batch.checked``."""


KEY_MODES = (("new", "A new key"), ("existing", "An existing key"))
"""The two ways to get a KMS key (the guide asks for "new" or a key reference)."""


def split_principals(text: str) -> list[str]:
    """Principals typed space or comma separated, as a list."""
    return text.replace(",", " ").split()


def typed_key(typed: str, keys: list[KeyChoice], bucket_region: str | None) -> KeyChoice | None:
    """The listed key a typed id, ARN or alias names; None when the list does not have it.

    An alias is a name within one region: ``alias/x`` is looked for in the bucket's region
    first (where the review resolves it), then elsewhere, so that a key the table marks as
    being in the wrong region is reported as such.

    Args:
        typed: What was typed: a key id, key ARN, alias name or alias ARN.
        keys: The keys listed, judged for the bucket's region.
        bucket_region: The bucket's region, once known.

    Returns:
        The key, with the table's verdict; None when it is not listed.
    """
    if typed.startswith("arn:") and ":alias/" in typed:
        # arn:aws:kms:REGION:ACCOUNT:alias/NAME names one region's alias.
        region = typed.split(":")[3]
        alias = "alias/" + typed.split(":alias/", 1)[1]
        return next((k for k in keys if k.region == region and alias in k.aliases), None)
    by_id = next((k for k in keys if typed in (k.arn, k.key_id)), None)
    if by_id is not None:
        return by_id
    named = sorted((k for k in keys if typed in k.aliases), key=lambda k: k.region != bucket_region)
    return named[0] if named else None


class EncryptionScreen(StepScreen):
    """SSE-S3 or SSE-KMS; for an existing key, the account's keys are listed and judged.

    Keys in another region than the bucket, asymmetric, disabled or AWS managed are shown
    with the reason they cannot be used, and Next refuses them with that reason.
    """

    STEP_ID = "encryption"
    AUTO_FOCUS = "#type"

    DEFAULT_CSS = """
    EncryptionScreen #type, EncryptionScreen #key-mode { width: auto; }
    EncryptionScreen #comparison { margin-top: 1; height: auto; }
    EncryptionScreen #kms, EncryptionScreen #new-key, EncryptionScreen #existing-key {
        height: auto;
    }
    EncryptionScreen #bucket-region-note { margin-top: 1; }
    EncryptionScreen #key-chosen { margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_lookup", "Cancel lookup"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[KeyChoice] | None = None
        """The account's keys, judged for the bucket's region, as the listing finds them."""
        self._key_listing: KeyListing | None = None
        """The listing filling the picker (its batches are shown; older ones dropped)."""
        self._keys_ticket: object | None = None
        """The lookup started last: only its listing may fill the picker."""
        self._keys_stop_shown = False
        """The picker says the lookup started last was stopped (by Esc)."""
        self._chosen: KeyChoice | None = None
        """The key chosen from the list."""
        self._wanted: str | None = None
        """The existing key reference from the answers, until the list shows it."""
        self._bucket_region: str | None = None
        """The bucket's region, once known."""

    @property
    def key_listing(self) -> KeyListing | None:
        """The listing filling the key picker now, if any (None before an existing key is
        asked for, or once it is set aside)."""
        return self._key_listing

    def compose_body(self) -> ComposeResult:
        q = self.question("encryption.type")
        current = self.initial("encryption.type")
        yield Label(q.prompt, classes="field-label")
        with RadioList(id="type", compact=True):
            for choice in q.choices:
                yield RadioButton(
                    self._short(choice.label),
                    value=choice.value == current,
                    id=f"type-{choice.value}",
                )
        yield Static(self._comparison(), id="comparison")
        key = self.answer("encryption.key")
        existing = key not in (None, "", "new")
        if existing:
            self._wanted = str(key)
        with Vertical(id="kms"):
            yield Label(self.question("encryption.key").prompt, classes="field-label")
            with RadioList(id="key-mode", compact=True):
                for mode, label in KEY_MODES:
                    yield RadioButton(
                        label, value=(mode == "existing") == existing, id=f"key-mode-{mode}"
                    )
            with Vertical(id="new-key"):
                yield from self.compose_text("encryption.alias", "alias")
                principals = self.answer("encryption.decrypt_principals") or []
                if isinstance(principals, list):
                    principals = " ".join(principals)
                yield from self.compose_text(
                    "encryption.decrypt_principals",
                    "principals",
                    value=str(principals),
                    placeholder="e.g. arn:aws:iam::123456789012:role/LogReader",
                )
            with Vertical(id="existing-key"):
                yield Static("", id="bucket-region-note")
                yield ChoiceTable(
                    ("Key", "Region", "Can be used?"),
                    filter_placeholder="Type to filter the keys",
                    fit={"Key": "elide", "Can be used?": "wrap"},
                    # As wide as a typical verdict, while the keys are being described.
                    reserve={"Can be used?": len("✗ in eu-west-1, but the bucket is in us-east-1")},
                    id="keys",
                )
                yield Static("", id="key-chosen")
                yield Button("List the keys again", id="reload-keys")
                yield from self.compose_input(
                    "key-ref",
                    value="",
                    prompt="Or a key id, key ARN or alias (for example a key of another account)",
                    check=lambda v: self.question("encryption.key").validate(v) if v else None,
                    hint="It must be in the bucket's region; the review screen checks it.",
                )

    @staticmethod
    def _short(label: str) -> str:
        """``SSE-KMS`` from ``SSE-KMS: a KMS key you control``."""
        return label.partition(":")[0]

    def _comparison(self) -> Table:
        """The encryption choices side by side, from the guide's labels and hints."""
        table = Table(box=None, padding=(0, 2), show_edge=False, header_style="bold")
        table.add_column("Option")
        table.add_column("Keys")
        table.add_column("In short")
        for choice in self.question("encryption.type").choices:
            name, _, what = choice.label.partition(": ")
            table.add_row(name, what, choice.hint)
        return table

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#reload-keys").display = False
        self._show_mode()

    # ------------------------------------------------------------------ modes

    @property
    def _kms(self) -> bool:
        choices = self.question("encryption.type").choices
        index = self.query_one("#type", RadioSet).pressed_index
        return index < 0 or choices[index].value == "sse-kms"

    @property
    def _existing(self) -> bool:
        return self.query_one("#key-mode", RadioSet).pressed_index == 1

    @on(RadioSet.Changed)
    def _radio_changed(self, event: RadioSet.Changed) -> None:
        self._show_mode()

    def _show_mode(self) -> None:
        self.query_one("#kms").display = self._kms
        self.query_one("#new-key").display = not self._existing
        self.query_one("#existing-key").display = self._existing
        running = any(w.group == "keys" for w in self.lookups_running())
        if self._kms and self._existing and self._keys is None and not running:
            self._list_keys()
        self._show_chosen()

    # ------------------------------------------------------------------ keys

    def _list_keys(self) -> None:
        self.query_one("#reload-keys").display = False
        self._keys, self._key_listing = None, None
        self._keys_stop_shown = False
        self._keys_ticket = ticket = object()
        self.query_one("#keys", ChoiceTable).start_rows(
            "Listing the account's keys…", chosen=self._chosen.arn if self._chosen else None
        )
        home = self.answer("trail.region") or (
            self.state.account.region if self.state.account else "us-east-1"
        )
        create = self.answer("bucket.create", True) is not False
        new_region = (self.answer("bucket.region") or home) if create else None
        self._look_up_keys(
            self.wizard.backend.engine, ticket, self.answer("bucket.name"), new_region, home
        )

    @work(thread=True, exclusive=True, group="keys")
    def _look_up_keys(
        self,
        engine: Engine,
        ticket: object,
        bucket: str | None,
        new_region: str | None,
        home: str,
    ) -> None:
        """Find the bucket's region, then stream the keys of the regions the account uses.

        Args:
            engine: The connected engine.
            ticket: This lookup (a lookup started since replaces it).
            bucket: The bucket's name.
            new_region: The new bucket's region; None for an existing bucket.
            home: The trail's home region.
        """
        worker = get_current_worker()
        caller, where = engine.caller, engine.ctx.region
        try:
            # One request for the bucket's region (HeadBucket), so that the keys that can be
            # chosen are listed first; the regions of the account's other buckets (one
            # ListBuckets) are listed meanwhile.
            region = new_region or (locate_bucket(caller, bucket, where) if bucket else None)
            region = region or home
            listing = KeyListing(
                caller,
                [home],
                region,
                more_regions=lambda: bucket_regions(caller, where).values(),
            )
            if worker.is_cancelled or not self.app.call_from_thread(
                self._adopt_key_listing, ticket, listing
            ):
                return
            for batch in listing.batches(stop=lambda: worker.is_cancelled):
                found = [self._key_row(k) for k in batch.found]
                checked = [self._key_row(k) for k in batch.checked]
                self.post_message(KeyRowsReady(listing, region, batch, found, checked))
        except AwsError as err:
            if not worker.is_cancelled:
                self.post_message(KeysListed(None, [], error=f"{err.code}: {err.message}"))

    def _adopt_key_listing(self, ticket: object, listing: KeyListing) -> bool:
        """Let ``listing`` fill the picker if its lookup is still the latest one."""
        if ticket is not self._keys_ticket:
            return False
        self._key_listing = listing
        return True

    @staticmethod
    def _key_row(key: KeyChoice) -> Row:
        usable: Text
        if key.reason:
            # The table shows the reason's first clause; the chosen line shows all of it.
            usable = Text(f"✗ {key.reason.partition(': ')[0]}", "red")
        elif not key.checked:
            usable = Text("…", style="dim")  # being described
        else:
            usable = Text("✓ yes", style="green")
        return (key.arn, (Elided(key.label), key.region, usable))

    def on_key_rows_ready(self, message: KeyRowsReady) -> None:
        if message.listing is not self._key_listing:
            return  # a lookup replaced since
        batch = message.batch
        table = self.query_one("#keys", ChoiceTable)
        keys = self._keys if self._keys is not None else []
        if self._keys is None:
            self._keys, self._bucket_region = keys, message.bucket_region
            self.query_one("#bucket-region-note", Static).update(
                f"The bucket {self.answer('bucket.name')} is in {self._bucket_region}: the key "
                f"must be in {self._bucket_region} too."
            )
        keys.extend(batch.found)
        if batch.checked:
            done = {k.arn: k for k in batch.checked}
            keys[:] = [done.get(k.arn, k) for k in keys]
            if self._chosen is not None and self._chosen.arn in done:
                self._chosen = done[self._chosen.arn]
        if batch.found:
            if self._wanted is not None:
                wanted = self._wanted
                match = next((k for k in keys if wanted in (k.arn, k.key_id, *k.aliases)), None)
                if match is not None:
                    self._chosen, self._wanted = match, None
                    table.expect(match.arn)
                elif batch.listed:
                    # Not one of the account's keys (another account's): it was typed.
                    if not self.input_value("key-ref"):
                        self.query_one("#key-ref", Input).value = wanted
                    self._wanted = None
            table.add_rows(message.found)
        if batch.checked:
            table.update_rows(message.checked)
        if batch.complete:
            self._key_listing = None
            table.show_note("Enter or a click chooses a key." if keys else "No key found.")
        elif batch.listed:
            table.show_progress(
                f"{batch.total} keys; checking them: {batch.done} of {batch.total} (Esc stops)"
            )
        self._show_chosen()

    @on(ChoiceTable.Viewed, "#keys")
    def _keys_viewed(self, event: ChoiceTable.Viewed) -> None:
        """Describe the keys on screen first."""
        if self._key_listing is not None:
            self._key_listing.prefer(event.keys)

    def on_keys_listed(self, message: KeysListed) -> None:
        """The lookup failed: say why; a key can still be typed."""
        if message.error:
            self._key_listing = None
            self.query_one("#keys", ChoiceTable).show_note(
                f"Could not list the keys ({message.error}); type a key below."
            )
            self.query_one("#reload-keys").display = True

    def action_cancel_lookup(self) -> None:
        """Esc: cancel the lookups; a key listing says it stopped at once (see
        :meth:`StepScreen.stop_listing`)."""
        self.stop_listing("keys", self._key_listing, self._keys_stopped)

    def _keys_stopped(self) -> None:
        """The key listing was cancelled: say so; the rows found stay."""
        self._key_listing = None
        self._keys_stop_shown = True
        self.query_one("#keys", ChoiceTable).show_note(
            "Listing stopped: choose one of the keys shown, list again, or type a key below."
            if self._keys
            else "Listing cancelled: list again, or type a key below."
        )
        self.query_one("#reload-keys").display = True

    @on(Worker.StateChanged)
    def _lookup_cancelled(self, event: Worker.StateChanged) -> None:
        cancelled = event.worker.group == "keys" and event.state == WorkerState.CANCELLED
        if cancelled and not self._keys_stop_shown:  # (shown when Esc was pressed)
            self._keys_stopped()

    @on(Button.Pressed, "#reload-keys")
    def _reload(self, event: Button.Pressed) -> None:
        event.stop()
        self._list_keys()

    @on(ChoiceTable.Chosen, "#keys")
    def _key_chosen(self, event: ChoiceTable.Chosen) -> None:
        self._chosen = next((k for k in self._keys or [] if k.arn == event.key), None)
        self.query_one("#key-ref", Input).value = ""
        # A refusal of the key chosen before is about that key, not this one: Next re-checks.
        self.show_errors([])
        self._show_chosen()

    @on(Input.Changed, "#key-ref")
    def _typed_changed(self, event: Input.Changed) -> None:
        self._show_chosen()

    def _show_chosen(self) -> None:
        box = self.query_one("#key-chosen", Static)
        typed = self.input_value("key-ref")
        key = self._key()
        problem = self._key_problem()
        box.set_class(bool(problem), "problem")
        if problem:
            line = f"✗ {problem}"
        elif key is not None:
            line = f"Chosen: {key.label} ({key.region})."
        elif typed:
            # Not one of the keys listed (another account's, or the list is not in yet).
            line = f"Chosen: {typed} (not in the list above: checked on the review screen)"
        else:
            line = "No key chosen yet." if self._keys is not None else ""
        # Said again after every batch of a listing: each update lays the screen out anew.
        if box.content != line:
            box.update(line)

    def _key(self) -> KeyChoice | None:
        """The listed key meant: the one typed when the table has it, else the one chosen."""
        typed = self.input_value("key-ref")
        if typed:
            return typed_key(typed, self._keys or [], self._bucket_region)
        return self._chosen

    def _key_problem(self) -> str | None:
        """Why the key meant cannot be used, as the table says (None when it can, or when a
        typed key is not in the table)."""
        key = self._key()
        if key is None or key.eligible or not key.reason:
            # Not refused (a key still being described is judged by the review).
            return None
        return f"{key.label} cannot be used: {key.reason}."

    # ------------------------------------------------------------------ navigation

    def collect(self) -> tuple[WizardState, list[str]]:
        kms = self._kms
        state = self.state.with_answer("encryption.type", "sse-kms" if kms else "sse-s3")
        errors: list[str] = []
        alias = self.input_value("alias")
        principals = split_principals(self.input_value("principals"))
        # The new key's fields are kept even for an existing key, so switching back finds them;
        # the answers drop them when an existing key is used.
        state = state.with_answer("encryption.alias", alias or None)
        state = state.with_answer("encryption.decrypt_principals", principals)
        if not kms:
            return state, errors
        if not self._existing:
            state = state.with_answer("encryption.key", "new")
            errors += self.check("encryption.alias", alias)
            errors += self.check("encryption.decrypt_principals", principals)
            return state, errors
        typed = self.input_value("key-ref")
        ref = typed or (self._chosen_ref() if self._chosen else self._wanted)
        state = state.with_answer("encryption.key", ref)
        if not ref:
            errors.append("Choose a key from the list, or type a key id, key ARN or alias.")
            self.flag_problem("keys")
        elif problem := self._key_problem():
            errors.append(problem)
            self.flag_problem("key-ref" if typed else "keys")
        else:
            errors += self.check("encryption.key", ref)
        return state, errors

    def _chosen_ref(self) -> str:
        """How the answers name the chosen key: its alias when it has one, else its ARN."""
        assert self._chosen is not None
        return self._chosen.aliases[0] if self._chosen.aliases else self._chosen.arn
