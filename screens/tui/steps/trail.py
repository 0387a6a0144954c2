"""Step 2: the trail itself: name, home region, scope, validation, organization, tags."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, LoadingIndicator, Select, Static, Switch
from textual.worker import Worker, WorkerState, get_current_worker

from screens.tui.base import StepScreen
from screens.tui.messages import OrganizationChecked
from screens.tui.state import WizardState
from wizard.account.discovery import discover_organization, organization_verdict
from wizard.engine import Engine
from wizard.model.names import check_tags
from wizard.model.regions import all_regions, region_description
from wizard.plan.landing import delegated_admin_verdict

TAGS_HELP = (
    "Optional: key=value pairs separated by commas. They go on the trail and on every resource "
    "the wizard creates."
)


def parse_tags(text: str) -> tuple[dict[str, str], str | None]:
    """Read ``key=value, key=value`` into a dict.

    Args:
        text: What was typed.

    Returns:
        The tags, and None or what is wrong with them (the same check the answers file uses).
    """
    tags: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            return tags, f"'{item}' is not key=value; write tags as team=security, env=prod."
        if key in tags:
            return tags, f"Tag key '{key}' is given twice."
        tags[key] = value.strip()
    return tags, check_tags(tags)


def format_tags(tags: dict[str, str] | None) -> str:
    """The text form :func:`parse_tags` reads back."""
    return ", ".join(f"{k}={v}" for k, v in (tags or {}).items())


class TrailScreen(StepScreen):
    """Trail basics; the organization switch is offered only where it can work."""

    STEP_ID = "trail"
    AUTO_FOCUS = "#name"

    DEFAULT_CSS = """
    TrailScreen #region { width: 60; }
    TrailScreen .switch-row { height: auto; }
    TrailScreen .switch-row > Vertical { height: auto; padding: 0 1; }
    TrailScreen .switch-row > Vertical > Label { width: 1fr; }
    TrailScreen #organization-status { height: 1; }
    TrailScreen #organization-loading { width: 4; height: 1; }
    TrailScreen #delegated-admin-row { height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_lookup", "Cancel lookup"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._global_choice = True
        """What the person chose for global events while the trail was single-region."""

    def compose_body(self) -> ComposeResult:
        yield from self.compose_text("trail.name", "name")
        yield Label(self.question("trail.region").prompt, classes="field-label")
        home = self._home_region()
        regions = all_regions()
        if home not in regions:
            regions.append(home)  # newer than the installed botocore: still offer it
        yield Select(
            [(f"{r}  {region_description(r)}", r) for r in regions],
            value=home,
            allow_blank=False,
            id="region",
        )
        yield from self._switch("trail.multi_region", "multi-region")
        yield from self._switch("trail.include_global_events", "global-events")
        yield from self._switch("trail.log_file_validation", "validation")
        yield from self._switch("trail.organization", "organization")
        with Vertical(id="delegated-admin-row"):
            yield from self.compose_text(
                "organization.delegated_admin", "delegated-admin", placeholder="e.g. 222222222222"
            )
            yield Static("", id="delegated-admin-hint", classes="hint")
        yield from self.compose_input(
            "tags",
            prompt="Tags",
            value=format_tags(self.answer("trail.tags")),
            check=lambda text: parse_tags(text)[1],
            placeholder="e.g. team=security, env=prod",
            hint=TAGS_HELP,
        )

    def _switch(self, key: str, switch_id: str) -> ComposeResult:
        """A switch with its question beside it and a hint line under the question."""
        q = self.question(key)
        with Horizontal(classes="switch-row", id=f"{switch_id}-row"):
            yield Switch(value=bool(self.initial(key)), id=switch_id)
            with Vertical():
                yield Label(q.prompt)
                if switch_id == "organization":
                    with Horizontal(id="organization-status"):
                        yield LoadingIndicator(id="organization-loading")
                        yield Static(
                            "Checking the organization…", id="organization-hint", classes="hint"
                        )
                else:
                    yield Static("", id=f"{switch_id}-hint", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self._global_choice = bool(self.initial("trail.include_global_events"))
        self._sync_global_events(self.query_one("#multi-region", Switch).value)
        self.query_one("#validation-hint", Static).display = False
        organization = self.query_one("#organization", Switch)
        organization.disabled = True
        # Shown once the lookup says this is the management account (or could not tell).
        self.query_one("#delegated-admin-row").display = False
        try:
            engine = self.wizard.backend.engine
        except RuntimeError:
            self._organization_done(True, "Not connected: the review checks this.")
            self._delegated_admin_done(True, "Not connected: the review checks this.")
            return
        self._look_up_organization(engine)

    # ------------------------------------------------------------------ global events

    def _sync_global_events(self, multi_region: bool) -> None:
        """Force global events on (and lock them) while the trail is multi-region."""
        switch = self.query_one("#global-events", Switch)
        hint = self.query_one("#global-events-hint", Static)
        if multi_region:
            switch.value = True
            switch.disabled = True
            hint.update(self.question("trail.include_global_events").help)
        else:
            switch.value = self._global_choice
            switch.disabled = False
            hint.update("")
        hint.display = multi_region

    @on(Switch.Changed, "#multi-region")
    def _multi_region_changed(self, event: Switch.Changed) -> None:
        self._sync_global_events(event.value)

    @on(Switch.Changed, "#global-events")
    def _global_events_changed(self, event: Switch.Changed) -> None:
        if not self.query_one("#multi-region", Switch).value:
            self._global_choice = event.value

    # ------------------------------------------------------------------ organization

    @work(thread=True, exclusive=True, group="organization")
    def _look_up_organization(self, engine: Engine) -> None:
        facts = discover_organization(engine.ctx, engine.caller)
        if not get_current_worker().is_cancelled:
            self.post_message(OrganizationChecked(facts))

    def on_organization_checked(self, message: OrganizationChecked) -> None:
        self._organization_done(*organization_verdict(message.facts))
        self._delegated_admin_done(*delegated_admin_verdict(message.facts))

    @on(Worker.StateChanged)
    def _lookup_cancelled(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "organization" and event.state == WorkerState.CANCELLED:
            self._organization_done(True, "Check cancelled; the review checks again.")
            self._delegated_admin_done(True, "Check cancelled; the review checks again.")

    def _delegated_admin_done(self, asked: bool, hint: str) -> None:
        """Offer the delegated administrator field where it can work (plain mode's rule).

        Elsewhere it stays hidden; an account the answers named is dropped, and the line
        under the field says so and why.
        """
        row = self.query_one("#delegated-admin-row")
        field = self.query_one("#delegated-admin", Input)
        named = field.value.strip()
        if not asked:
            field.value = ""
            field.disabled = True
            if named:
                hint += f" The answers named {named}; that is dropped."
        self.query_one("#delegated-admin-hint", Static).update(hint)
        row.display = asked or bool(named)

    def _organization_done(self, possible: bool, hint: str) -> None:
        self.query_one("#organization-loading").display = False
        self.query_one("#organization-hint", Static).update(hint)
        switch = self.query_one("#organization", Switch)
        if not possible:
            switch.value = False
        switch.disabled = not possible

    # ------------------------------------------------------------------ navigation

    def _home_region(self) -> str:
        region = self.answer("trail.region")
        if region:
            return str(region)
        account = self.state.account
        return account.region if account is not None else "us-east-1"

    def collect(self) -> tuple[WizardState, list[str]]:
        name = self.input_value("name")
        region = self.query_one("#region", Select).value
        tags, tags_problem = parse_tags(self.input_value("tags"))
        values: dict[str, object] = {
            "trail.name": name,
            "trail.region": region if isinstance(region, str) else None,
            "trail.multi_region": self.query_one("#multi-region", Switch).value,
            "trail.include_global_events": self.query_one("#global-events", Switch).value,
            "trail.log_file_validation": self.query_one("#validation", Switch).value,
            "trail.organization": self.query_one("#organization", Switch).value,
            "organization.delegated_admin": self.input_value("delegated-admin") or None,
            "trail.tags": tags,
        }
        state = self.state
        for key, value in values.items():
            state = state.with_answer(key, value)
        errors = (
            self.check("trail.name", name)
            + self.check("trail.region", values["trail.region"])
            + self.check("organization.delegated_admin", values["organization.delegated_admin"])
        )
        if tags_problem:
            errors.append(tags_problem)
        return state, errors
