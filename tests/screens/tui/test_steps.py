"""The input steps (welcome -> events), driven with keys and clicks against the seeded sandbox.

Each test asserts on ``app.state.draft`` (what the answers will be) and on what a person sees;
lookups run in thread workers against the shared emulator, and tests wait for them without
sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from textual import events
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select, Switch
from textual.worker import WorkerState

from screens.common.backend import Backend
from screens.tui.app import WizardApp, make_app
from screens.tui.steps.encryption import EncryptionScreen
from screens.tui.steps.storage import StorageScreen
from screens.tui.steps.trail import TrailScreen, parse_tags
from screens.tui.steps.welcome import WelcomeScreen
from screens.tui.widgets.choice_table import ChoiceTable
from wizard.account import inventory
from wizard.account.discovery import OrganizationFacts, organization_verdict
from wizard.model.answers import Answers

pytestmark = [pytest.mark.tui, pytest.mark.aws]

ACCOUNT = "123456789012"
APP_BUCKET = f"demo-app-data-{ACCOUNT}"
CENTRAL_BUCKET = f"demo-central-logs-{ACCOUNT}"
LEGACY_BUCKET = f"demo-legacy-trail-logs-{ACCOUNT}"
SIZE = (120, 40)
ROUNDS = 200
"""Upper bound of pause rounds while waiting for a condition (never reached when healthy)."""


# ---------------------------------------------------------------------------- helpers


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let workers and messages run until ``condition()`` holds (no sleeping)."""
    for _ in range(ROUNDS):
        if condition():
            await pilot.pause()  # let the layout catch up before anything is read or clicked
            return
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    raise AssertionError(f"timed out waiting for {what}")


def text(app: WizardApp, selector: str) -> str:
    """What a widget shows on screen, as plain text."""
    widget = app.screen.query_one(selector, Widget)
    size = widget.size
    return "\n".join(s.text for s in widget.render_lines(Region(0, 0, size.width, size.height)))


def screen_text(app: WizardApp) -> str:
    """Everything the current screen shows (visible widgets only)."""
    return "\n".join(
        text(app, f"#{w.id}")
        for w in app.screen.query("Static, Label, DataTable")
        if w.id and w.display and w.size.area
    )


async def connected(pilot: Pilot[Any]) -> WizardApp:
    """Wait for the welcome screen to connect."""
    app: WizardApp = pilot.app  # type: ignore[assignment]
    await until(pilot, lambda: app.state.account is not None, "the welcome screen to connect")
    await pilot.pause()
    return app


async def next_step(pilot: Pilot[Any], step: str) -> None:
    """Press Ctrl+N and wait until ``step`` is on screen with its lookups done."""
    app: WizardApp = pilot.app  # type: ignore[assignment]
    await pilot.press("ctrl+n")
    await until(pilot, lambda: app.current_step == step, f"the {step} step")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def type_into(pilot: Pilot[Any], selector: str, value: str) -> None:
    """Replace an input's text by typing (focus selects the old text, typing replaces it)."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    await pilot.pause()
    widget.select_all()
    await pilot.press("backspace", *value)
    await pilot.pause()


async def paste_into(pilot: Pilot[Any], selector: str, value: str) -> None:
    """Replace an input's text by pasting (how long ARNs get typed; much faster than keys)."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    await pilot.pause()
    widget.select_all()
    await pilot.press("backspace")
    widget.post_message(events.Paste(value))
    await pilot.pause()


async def choose(pilot: Pilot[Any], table_id: str, filter_text: str) -> None:
    """Filter a ChoiceTable, then choose the first match with Enter (as a person would)."""
    table = pilot.app.screen.query_one(table_id, ChoiceTable)
    await paste_into(pilot, f"{table_id} Input", filter_text)
    await pilot.press("enter")  # the filter hands focus to the table
    assert table.table.has_focus
    await pilot.press("enter")
    await pilot.pause()


def labels(app: WizardApp, selector: str) -> str:
    """The labels of the checkboxes under ``selector``."""
    return "\n".join(
        str(box.label) for box in app.screen.query(f"{selector} Checkbox").results(Checkbox)
    )


def answers(**sections: dict[str, Any]) -> Answers:
    """Answers for trail ``acme`` with a new us-east-1 bucket, overridable per section."""
    data: dict[str, Any] = {
        "trail": {"name": "acme", "region": "us-east-1"},
        "bucket": {"name": "acme-trail-logs-5k2", "create": True},
    }
    data.update(sections)
    return Answers.model_validate(data)


# ---------------------------------------------------------------------------- welcome


async def test_welcome_shows_account_trails_and_sandbox(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.app.workers.wait_for_complete()  # the other regions' trails
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        assert ACCOUNT in text(app, "#whoami")
        # The sandbox's administrator (its dummy credentials), as GetCallerIdentity names it.
        assert "arn:aws:iam::123456789012:user/sandbox-admin" in text(app, "#whoami")
        trails = text(app, "#trails")
        assert "legacy-trail" in trails
        assert "us-west-2" in trails
        assert LEGACY_BUCKET in trails
        assert "SANDBOX" in text(app, "#sandbox-banner")
        assert "SANDBOX" in text(app, "#sandbox-note")
        assert app.screen.query_one("#back").display is False
        assert app.screen.query_one("#next").disabled is False
        assert app.state.account is not None and app.state.account.account_id == ACCOUNT
        # legacy-trail is single-region: nothing already covers every region.
        assert app.screen.query_one("#coverage").display is False


async def test_no_credentials_offers_the_sandbox(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    (tmp_path / "empty-config").write_text("")
    (tmp_path / "empty-credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "empty-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "empty-credentials"))

    switch = Backend.switch_to_sandbox

    def switch_to_fixture_sandbox(self: Backend) -> Any:
        self.endpoint = sandbox.endpoint_url  # the shared emulator, not a new one
        return switch(self)

    monkeypatch.setattr(Backend, "switch_to_sandbox", switch_to_fixture_sandbox)
    app = make_app(Backend(sandbox=False, profile=None, region="us-east-1"), show_help=False)
    async with app.run_test(size=SIZE) as pilot:
        # query(): the failure block is mounted after the first frame, with the connection.
        failed = app.screen.query
        await until(pilot, lambda: any(w.display for w in failed("#failed")), "the failure")
        shown = text(app, "#failure-title") + text(app, "#failure")
        assert "credentials" in shown.lower()
        assert app.state.account is None
        assert app.screen.query_one("#next").disabled
        await pilot.press("ctrl+n")  # refused: not connected
        assert app.current_step == "welcome"

        await pilot.click("#use-sandbox")
        await connected(pilot)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert app.state.account is not None
        assert app.state.account.sandbox and app.state.account.account_id == ACCOUNT
        assert "SANDBOX" in text(app, "#sandbox-banner")
        assert "legacy-trail" in text(app, "#trails")
        await next_step(pilot, "trail")


# ---------------------------------------------------------------------------- walk


async def test_walk_through_every_input_step(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")

        await type_into(pilot, "#name", "org-audit")
        await pilot.click("#validation")
        await paste_into(pilot, "#tags", "team=security, env=prod")
        await pilot.pause()
        assert "not in an AWS organization" in text(app, "#organization-hint")
        assert app.screen.query_one("#organization", Switch).disabled
        await next_step(pilot, "storage")
        assert app.state.draft["trail"] == {
            "name": "org-audit",
            "region": "us-east-1",
            "multi_region": True,
            "include_global_events": True,
            "log_file_validation": False,
            "organization": False,
            "tags": {"team": "security", "env": "prod"},
        }

        # The suggestion names the account (bucket names are global) and the trail.
        assert app.screen.query_one("#bucket-name", Input).value == (
            f"aws-cloudtrail-logs-{ACCOUNT}-org-audit"
        )
        await paste_into(pilot, "#bucket-name", "org-audit-logs-5k2")
        await next_step(pilot, "prefix")
        assert app.state.draft["bucket"] == {
            "create": True,
            "name": "org-audit-logs-5k2",
            "region": None,
            # The retention questions' defaults: keep logs forever, no Object Lock.
            "retention_transition_days": None,
            "retention_storage_class": "GLACIER_IR",
            "retention_expire_days": None,
            "retention_noncurrent_days": None,
            "object_lock": None,
        }

        await type_into(pilot, "#prefix", "audit/")
        await next_step(pilot, "encryption")
        assert app.state.draft["bucket"]["prefix"] == "audit"

        await pilot.click("#key-mode-existing")
        await until(pilot, lambda: app.screen.query_one("#keys", ChoiceTable).keys, "the keys")
        await choose(pilot, "#keys", "cloudtrail-ready")
        await next_step(pilot, "delivery")
        assert app.state.draft["encryption"]["type"] == "sse-kms"
        assert app.state.draft["encryption"]["key"] == "alias/cloudtrail-ready"

        await pilot.click("#sns-new")
        await type_into(pilot, "#topic-name", "org-audit-files")
        await pilot.click("#cw-send")
        await pilot.pause()
        assert app.screen.query_one("#log-group", Input).value == ("aws-cloudtrail-logs-org-audit")
        await next_step(pilot, "events")
        assert app.state.draft["notifications"] == {"sns_topic": "org-audit-files"}
        assert app.state.draft["cloudwatch_logs"] == {
            "log_group": "aws-cloudtrail-logs-org-audit",
            "role": None,
            "retention_days": 365,
        }

        writes = next(b for b in app.screen.query("#presets Checkbox") if b.name == "s3-writes")
        await pilot.click(writes)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: app.current_step == "review", "the review step")
        assert app.state.draft["events"] == {
            "management": "all",
            "exclude_sources": [],
            "presets": ["s3-writes"],
            "data": [{"type": "s3", "resources": "all", "read_write": "write"}],
            "network": [],
            "insights": [],
            "aggregation": [],
        }
        assert app.state.answers().trail.name == "org-audit"


async def test_invalid_trail_name_is_explained_and_next_stays(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        await type_into(pilot, "#name", "my--trail")
        problem = text(app, "#name-problem")
        assert "two of '.', '_' or '-' next to each other" in problem
        assert app.screen.query_one("#name", Input).has_class("-invalid")

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, TrailScreen)
        assert "my--trail" in text(app, "#errors")

        await type_into(pilot, "#name", "my-trail")
        assert not app.screen.query_one("#name-problem").display
        assert text(app, "#errors").strip() == ""  # the refused-Next summary goes once edited
        await next_step(pilot, "storage")


async def test_going_back_keeps_the_values(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        await type_into(pilot, "#name", "keep-me")
        await pilot.click("#multi-region")
        await pilot.pause()
        assert not app.screen.query_one("#global-events", Switch).disabled
        await pilot.click("#global-events")
        await type_into(pilot, "#tags", "team=audit")
        await next_step(pilot, "storage")

        await pilot.click("#mode-existing")
        await until(pilot, lambda: app.screen.query_one("#buckets", ChoiceTable).keys, "buckets")
        await choose(pilot, "#buckets", "central")
        await next_step(pilot, "prefix")
        await type_into(pilot, "#prefix", "kept")

        await pilot.press("ctrl+b")
        await until(pilot, lambda: app.current_step == "storage", "the storage step")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert app.state.draft["bucket"]["prefix"] == "kept"
        assert app.screen.query_one("#mode-existing").value
        assert app.screen.query_one("#buckets", ChoiceTable).table.cursor_row == 1
        assert CENTRAL_BUCKET in text(app, "#chosen")

        await pilot.press("ctrl+b")
        await until(pilot, lambda: app.current_step == "trail", "the trail step")
        await pilot.pause()
        assert app.screen.query_one("#name", Input).value == "keep-me"
        assert app.screen.query_one("#multi-region", Switch).value is False
        assert app.screen.query_one("#global-events", Switch).value is False
        assert app.screen.query_one("#tags", Input).value == "team=audit"

        await next_step(pilot, "storage")
        await next_step(pilot, "prefix")
        assert app.screen.query_one("#prefix", Input).value == "kept"
        assert app.state.draft["bucket"] == {
            "create": False,
            "name": CENTRAL_BUCKET,
            "region": None,
            "prefix": "kept",
            # The retention questions' defaults: keep logs forever, no Object Lock.
            "retention_transition_days": None,
            "retention_storage_class": "GLACIER_IR",
            "retention_expire_days": None,
            "retention_noncurrent_days": None,
            "object_lock": None,
        }


async def test_multi_region_forces_global_events(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        global_events = app.screen.query_one("#global-events", Switch)
        assert global_events.value and global_events.disabled
        assert "always includes them" in text(app, "#global-events-hint")
        await pilot.click("#multi-region")  # off: global events become a choice
        await pilot.click("#global-events")
        assert global_events.value is False
        await pilot.click("#multi-region")  # on again: forced on
        assert global_events.value and global_events.disabled


# ---------------------------------------------------------------------------- storage


async def test_storage_lists_the_seeded_buckets(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("storage", app.state)
        await pilot.pause()
        await pilot.click("#mode-existing")
        table = app.screen.query_one("#buckets", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the bucket list")
        assert table.keys == [APP_BUCKET, CENTRAL_BUCKET, LEGACY_BUCKET]
        rows = {key: [str(c) for c in table.table.get_row(key)] for key in table.keys}
        assert rows[APP_BUCKET][1] == "us-east-1"
        assert rows[CENTRAL_BUCKET][1] == "eu-west-1"
        assert rows[LEGACY_BUCKET][1] == "us-west-2"
        assert "allows CloudTrail" in rows[CENTRAL_BUCKET][2]
        assert "allows CloudTrail" not in rows[APP_BUCKET][2]

        await type_into(pilot, "#buckets Input", "legacy")
        assert table.keys == [LEGACY_BUCKET]
        await type_into(pilot, "#buckets Input", "")
        await choose(pilot, "#buckets", "central")
        assert "already allows CloudTrail" in text(app, "#chosen")
        await next_step(pilot, "prefix")
        assert app.state.draft["bucket"]["create"] is False
        assert app.state.draft["bucket"]["name"] == CENTRAL_BUCKET


async def test_storage_turns_on_access_logging_into_a_new_bucket(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("storage", app.state)
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        assert not app.screen.query_one("#access").display  # off by default
        await pilot.click("#access-new")
        await pilot.pause()
        assert app.screen.query_one("#access").display
        log_bucket = app.screen.query_one("#bucket-name", Input).value
        target = app.screen.query_one("#access-bucket", Input)
        assert target.value == f"{log_bucket}-access-logs"  # the suggested name
        # The log bucket itself is refused: its access logs would be logged without end.
        await paste_into(pilot, "#access-bucket", log_bucket)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.current_step == "storage"
        assert "log bucket" in text(app, "#errors") and "itself" in text(app, "#errors")
        await paste_into(pilot, "#access-bucket", f"{log_bucket}-s3-logs")
        await paste_into(pilot, "#access-prefix", "trail-bucket")
        await next_step(pilot, "prefix")
        access = app.state.answers().bucket.access_logs
        assert access is not None
        assert (access.bucket, access.prefix, access.create) == (
            f"{log_bucket}-s3-logs",
            "trail-bucket/",
            True,
        )


async def test_bucket_in_another_account_by_name(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("storage", app.state)
        await pilot.pause()
        await pilot.click("#mode-existing")
        await pilot.app.workers.wait_for_complete()
        await type_into(pilot, "#other-bucket", "Central_Logs")
        assert "Central_Logs" in text(app, "#other-bucket-problem")
        await pilot.press("ctrl+n")
        assert app.current_step == "storage"
        await paste_into(pilot, "#other-bucket", "central-logs-of-the-org")
        await next_step(pilot, "prefix")
        bucket = app.state.draft["bucket"]
        assert (bucket["create"], bucket["name"], bucket["region"]) == (
            False,
            "central-logs-of-the-org",
            None,
        )


async def test_availability_says_the_bucket_is_already_owned(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("storage", app.state)
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "acme-trail-logs-5k2 is free" in text(app, "#availability")

        await paste_into(pilot, "#bucket-name", APP_BUCKET)
        await pilot.press("enter")  # checks at once instead of after the typing pause
        await until(pilot, lambda: "already own" in text(app, "#availability"), "the check")
        assert f"you already own a bucket named {APP_BUCKET}" in text(app, "#availability")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, StorageScreen)
        assert "already own" in text(app, "#errors")


async def test_escape_cancels_a_running_lookup(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    pages = inventory.bucket_pages

    def slow_pages(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=30)
        yield from pages(*args, **kwargs)

    monkeypatch.setattr(inventory, "bucket_pages", slow_pages)
    app = app_factory(answers=answers())
    try:
        async with app.run_test(size=SIZE) as pilot:
            await connected(pilot)
            app.go_to("storage", app.state)
            await pilot.pause()
            await pilot.app.workers.wait_for_complete()  # the availability check
            await pilot.click("#mode-existing")
            await pilot.pause()
            workers = [w for w in app.workers if w.group == "buckets"]
            assert len(workers) == 1 and workers[0].state == WorkerState.RUNNING
            assert app.screen.query_one("#buckets .choice-loading").display

            await pilot.press("escape")
            await pilot.pause()
            assert workers[0].state == WorkerState.CANCELLED
            assert "Listing cancelled" in text(app, "#buckets .choice-note")
            assert app.screen.query_one("#reload-buckets").display
            release.set()

            await pilot.click("#reload-buckets")
            table = app.screen.query_one("#buckets", ChoiceTable)
            await until(pilot, lambda: len(table.keys) == 3, "the bucket list")
    finally:
        release.set()


# ---------------------------------------------------------------------------- prefix


async def test_prefix_shows_the_object_path_live(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("prefix", app.state)
        await pilot.pause()
        base = "s3://acme-trail-logs-5k2/AWSLogs/123456789012/CloudTrail/us-east-1/YYYY/MM/DD/"
        assert base in text(app, "#path")
        await type_into(pilot, "#prefix", "/security/trails/")
        assert (
            "s3://acme-trail-logs-5k2/security/trails/AWSLogs/123456789012/CloudTrail/"
            "us-east-1/YYYY/MM/DD/" in text(app, "#path")
        )
        await type_into(pilot, "#prefix", "bad//prefix")
        assert text(app, "#prefix-problem")
        await pilot.press("ctrl+n")
        assert app.current_step == "prefix"


# ---------------------------------------------------------------------------- encryption


@pytest.fixture
def at_existing_keys() -> Callable[[Pilot[Any]], Any]:
    """Go to the encryption step, choose "an existing key" and wait for the list."""

    async def go(pilot: Pilot[Any]) -> ChoiceTable:
        app = await connected(pilot)
        app.go_to("encryption", app.state)
        await pilot.pause()
        await pilot.click("#key-mode-existing")
        table = app.screen.query_one("#keys", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the key list")
        return table

    return go


def key_rows(table: ChoiceTable) -> dict[str, list[str]]:
    """Rows of the key table by label: [label, region, can be used?]."""
    rows = [[str(c) for c in table.table.get_row(key)] for key in table.keys]
    return {row[0]: row for row in rows}


async def test_keys_in_another_region_cannot_be_chosen(
    app_factory: Any, at_existing_keys: Any
) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        table = await at_existing_keys(pilot)
        rows = key_rows(table)
        assert "us-east-1" in text(app, "#bucket-region-note")
        assert rows["alias/cloudtrail-ready"][2] == "✓ yes"
        eu = rows["alias/app-data-eu"]
        assert eu[1] == "eu-west-1"
        assert "eu-west-1" in eu[2] and "us-east-1" in eu[2]

        await choose(pilot, "#keys", "app-data-eu")
        shown = text(app, "#key-chosen")
        assert "alias/app-data-eu cannot be used" in shown
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, EncryptionScreen)
        errors = text(app, "#errors")
        assert "eu-west-1" in errors and "us-east-1" in errors


@pytest.mark.parametrize(
    ("alias", "short", "reason"),
    [
        ("alias/signing-key", "RSA_2048 / SIGN_VERIFY", "needs a symmetric encryption key"),
        ("alias/retired-key", "Disabled", "needs an enabled key"),
    ],
)
async def test_unusable_keys_are_refused_with_the_reason(
    app_factory: Any, at_existing_keys: Any, alias: str, short: str, reason: str
) -> None:
    """The table says what is wrong in short; choosing the key shows the whole reason."""
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        table = await at_existing_keys(pilot)
        assert key_rows(table)[alias][2] == f"✗ {short}"
        await choose(pilot, "#keys", alias.removeprefix("alias/"))
        assert f"{alias} cannot be used" in text(app, "#key-chosen")
        assert reason in text(app, "#key-chosen")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.current_step == "encryption"
        assert reason in text(app, "#errors")


async def test_a_ready_key_can_be_chosen_and_survives_back(
    app_factory: Any, at_existing_keys: Any
) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await at_existing_keys(pilot)
        await choose(pilot, "#keys", "cloudtrail-ready")
        assert "Chosen: alias/cloudtrail-ready (us-east-1)" in text(app, "#key-chosen")
        await next_step(pilot, "delivery")
        assert app.state.draft["encryption"]["key"] == "alias/cloudtrail-ready"
        assert app.state.answers().encryption.existing_key == "alias/cloudtrail-ready"

        await pilot.press("ctrl+b")
        await until(pilot, lambda: app.current_step == "encryption", "the encryption step")
        table = app.screen.query_one("#keys", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the key list")
        assert table.keys[table.table.cursor_row] == next(
            k for k in table.keys if "cloudtrail-ready" in str(table.table.get_row(k)[0])
        )
        assert "alias/cloudtrail-ready" in text(app, "#key-chosen")


async def test_existing_bucket_region_decides_the_keys(app_factory: Any) -> None:
    """The central bucket is in eu-west-1: the eu keys become usable, the us ones not."""
    app = app_factory(answers=answers(bucket={"name": CENTRAL_BUCKET, "create": False}))
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("encryption", app.state)
        await pilot.pause()
        await pilot.click("#key-mode-existing")
        table = app.screen.query_one("#keys", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the key list")
        rows = key_rows(table)
        assert rows["alias/cloudtrail-ready-eu"][2] == "✓ yes"
        assert "us-east-1" in rows["alias/cloudtrail-ready"][2]
        assert "eu-west-1" in text(app, "#bucket-region-note")


async def test_new_key_fields_are_validated(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("encryption", app.state)
        await pilot.pause()
        assert app.screen.query_one("#alias", Input).value == "alias/cloudtrail-acme"
        await paste_into(pilot, "#principals", "arn:aws:iam::123456789012:role/Reader, bob")
        assert text(app, "#principals-problem")
        await pilot.press("ctrl+n")
        assert app.current_step == "encryption"
        await paste_into(pilot, "#principals", "arn:aws:iam::123456789012:role/Reader")
        await next_step(pilot, "delivery")
        assert app.state.draft["encryption"]["decrypt_principals"] == [
            "arn:aws:iam::123456789012:role/Reader"
        ]
        assert app.state.draft["encryption"]["key"] == "new"


async def test_sse_s3_hides_the_key_questions(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("encryption", app.state)
        await pilot.pause()
        await pilot.click("#type-sse-s3")
        assert not app.screen.query_one("#kms").display
        await next_step(pilot, "delivery")
        assert app.state.answers().encryption.type == "sse-s3"


# ---------------------------------------------------------------------------- delivery, events


async def test_delivery_existing_role_and_topic_arns(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("delivery", app.state)
        await pilot.pause()
        await pilot.click("#sns-existing")
        await type_into(pilot, "#topic-arn", "not-an-arn")
        assert "ARN" in text(app, "#topic-arn-problem")
        topic = "arn:aws:sns:us-east-1:123456789012:demo-security-alerts"
        await paste_into(pilot, "#topic-arn", topic)
        await pilot.click("#cw-send")
        await pilot.click("#role-mode-existing")
        await paste_into(pilot, "#role-arn", "arn:aws:iam::123456789012:user/bob")
        await pilot.press("ctrl+n")
        assert app.current_step == "delivery"
        assert "not an IAM role ARN" in text(app, "#errors")
        await paste_into(pilot, "#role-arn", "arn:aws:iam::123456789012:role/CloudTrailLogs")
        retention = app.screen.query_one("#retention", Select)
        retention.value = 90
        await next_step(pilot, "events")
        assert app.state.draft["notifications"]["sns_topic"] == topic
        assert app.state.draft["cloudwatch_logs"]["role"] == (
            "arn:aws:iam::123456789012:role/CloudTrailLogs"
        )
        assert app.state.draft["cloudwatch_logs"]["retention_days"] == 90


async def test_events_rules_follow_management_events(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("events", app.state)
        await pilot.pause()
        assert "Decrypt, GenerateDataKey" in labels(app, "#exclude-sources")
        assert "the trail's log buckets left out" in labels(app, "#presets")
        app.screen.query_one("#management", Select).value = "none"
        await pilot.pause()
        assert all(box.disabled for box in app.screen.query("#insights Checkbox"))
        assert all(box.disabled for box in app.screen.query("#exclude-sources Checkbox"))
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.current_step == "events"
        assert "events: events.management is none" in text(app, "#errors")

        lam = next(b for b in app.screen.query("#presets Checkbox") if b.name == "lambda")
        await pilot.click(lam)
        # Data events on: Insights on data events become a choice, management ones stay off.
        insights = {str(b.name): b.disabled for b in app.screen.query("#insights Checkbox")}
        assert insights == {
            "ApiCallRateInsight": True,
            "ApiErrorRateInsight": True,
            "data:ApiCallRateInsight": False,
            "data:ApiErrorRateInsight": False,
        }
        state, errors = app.screen.collect()
        assert errors == []
        assert state.draft["events"] == {
            "management": "none",
            "exclude_sources": [],
            "presets": ["lambda"],
            "data": [{"type": "lambda", "resources": "all", "read_write": "all"}],
            "network": [],
            "insights": [],
            "aggregation": [],
        }


# ---------------------------------------------------------------------------- pure helpers


def test_parse_tags() -> None:
    assert parse_tags("team=security, env = prod ,") == ({"team": "security", "env": "prod"}, None)
    assert "key=value" in (parse_tags("team")[1] or "")
    assert "twice" in (parse_tags("a=1, a=2")[1] or "")
    assert "aws:" in (parse_tags("aws:owner=me")[1] or "")


@pytest.mark.parametrize(
    ("facts", "possible", "words"),
    [
        (OrganizationFacts(in_organization=False), False, "not in an AWS organization"),
        (
            OrganizationFacts(
                in_organization=True,
                organization_id="o-abcdefghij",
                management_account_id="210987654321",
                is_delegated_admin=False,
            ),
            False,
            "210987654321",
        ),
        (
            OrganizationFacts(
                in_organization=True, organization_id="o-abcdefghij", is_management_account=True
            ),
            True,
            "management account of o-abcdefghij",
        ),
        (OrganizationFacts(errors=["DescribeOrganization: access denied"]), True, "checks again"),
    ],
)
def test_organization_verdict(facts: OrganizationFacts, possible: bool, words: str) -> None:
    verdict, hint = organization_verdict(facts)
    assert verdict is possible
    assert words in hint


async def test_welcome_warns_about_an_unfinished_run(app_factory: Any) -> None:
    """A journal left by a killed run (no summary, no live lock) is named on Welcome."""
    import json

    from wizard.run.journal import journal_dir

    path = journal_dir() / "20261207T080000Z-acme-audit-dead.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    plan = {
        "account_id": ACCOUNT,
        "partition": "aws",
        "home_region": "us-east-1",
        "trail_arn": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/acme-audit",
        "steps": [],
        "run_id": "0123456789abcdef0123456789abcdef",
    }
    entries = [
        {"seq": 1, "kind": "apply-started", "result": {"plan": plan}},
        {"seq": 2, "kind": "intent", "step_id": "create-bucket", "operation": "CreateBucket"},
    ]
    path.write_text(json.dumps({"version": 2, "entries": entries, "summary": None}))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await until(pilot, lambda: app.screen.query_one("#unfinished").display, "the warning")
        note = text(app, "#unfinished")
        assert "0123456789ab" in note and "recover --rollback" in note
