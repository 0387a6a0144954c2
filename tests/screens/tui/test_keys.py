"""Keys in the full-screen wizard: what each does, what the footer names, and what never leaks.

Keys a terminal sends as escape sequences (Alt+T is Escape + "t") are fed through Textual's
own terminal parser (:func:`terminal_sends`), so a test gets the very events a person's
keyboard produces; Textual's test pilot would send Alt+T without the "t" that leaked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual._xterm_parser import XTermParser
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, RadioSet, Static, TabbedContent, Tabs
from textual.widgets._footer import FooterKey
from textual.widgets.input import Selection

from screens.tui import keys
from screens.tui.app import STEP_ORDER, WizardApp
from screens.tui.base import StepScreen
from screens.tui.confirm import ConfirmScreen
from screens.tui.steps.review import ReviewScreen
from screens.tui.widgets.choice_table import ChoiceTable
from screens.tui.widgets.radio_list import RadioList
from tests.screens.tui.test_review_apply import open_review
from tests.screens.tui.test_steps import (
    CENTRAL_BUCKET,
    SIZE,
    answers,
    connected,
    next_step,
    paste_into,
    type_into,
    until,
)

pytestmark = [pytest.mark.tui, pytest.mark.aws]

ROOT = Path(__file__).resolve().parents[3]
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"
"""What textual-serve puts in ``TEXTUAL_DRIVER`` for a wizard drawn in a page."""
INPUT_STEPS = [s for s in STEP_ORDER if s not in ("welcome", "review")]
"""The steps that ask something (the ones with text fields or radio lists)."""


# ---------------------------------------------------------------------------- helpers


async def terminal_sends(pilot: Pilot[Any], *presses: str) -> None:
    """Deliver each of ``presses`` as a terminal sends that key (one read each), parsed by
    Textual's own terminal parser."""
    for press in presses:
        parser = XTermParser()
        for event in [*parser.feed(press), *parser.feed("")]:
            if isinstance(event, events.Key):
                pilot.app.post_message(event)
                await pilot.pause()


def record_notifications(app: WizardApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every notification's title and message from now on, as one line each."""
    shown: list[str] = []
    notify = app.notify

    def recording(message: str, *, title: str = "", **options: Any) -> None:
        shown.append(f"{title}: {message}" if title else message)
        notify(message, title=title, **options)

    monkeypatch.setattr(app, "notify", recording)
    return shown


def footer_keys(app: WizardApp) -> dict[str, str]:
    """The footer as shown: description -> the key's name beside it."""
    return {
        key.description: key.key_display
        for key in app.screen.query(FooterKey)
        if key.description and key.display
    }


async def show_step(pilot: Pilot[Any], step: str) -> StepScreen:
    """Jump to ``step`` with the answers so far and wait until it is on screen."""
    app: WizardApp = pilot.app  # type: ignore[assignment]
    app.go_to(step, app.state)

    def shown() -> bool:
        return isinstance(app.screen, StepScreen) and step == app.screen.STEP_ID

    await until(pilot, shown, f"the {step} step")
    screen = app.screen
    assert isinstance(screen, StepScreen)
    return screen


def on_screen(widget: Widget) -> bool:
    """True when ``widget`` and every container around it are shown."""
    return all(node.display for node in widget.ancestors_with_self if isinstance(node, Widget))


def text_fields(screen: StepScreen) -> list[Input]:
    """The text fields a person can reach now (shown and enabled), top to bottom."""
    return [w for w in screen.focus_chain if isinstance(w, Input)]


# ---------------------------------------------------------------------------- key names


def test_keys_are_named_as_people_write_them() -> None:
    assert keys.display("ctrl+n") == "Ctrl+N"
    assert keys.display("alt+q") == "Alt+Q"
    assert keys.display("alt+shift+t") == "Alt+Shift+T"
    assert keys.display("f1") == "F1"
    assert keys.display("escape") == "Esc"
    assert keys.display("pagedown") == "PgDn"
    assert keys.display(keys.NEXT_TAB) == "]"
    assert keys.display("c") == "c"  # a letter alone is what one types


def test_the_key_shown_is_the_one_that_works_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    monkeypatch.delenv("TMUX", raising=False)
    assert [keys.label(k) for k in (keys.NEXT, keys.BACK, keys.QUIT, keys.HELP)] == [
        "Ctrl+N",
        "Ctrl+B",
        "Ctrl+Q",
        "Alt+H",
    ]
    # tmux keeps Ctrl+B (its prefix): Back is shown by its Alt twin there.
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,1234,0")
    assert keys.label(keys.BACK) == "Alt+P"
    assert keys.label(keys.NEXT) == "Ctrl+N"
    # A browser keeps Ctrl+N, Ctrl+T, Ctrl+Q and F1: every twin is shown by its Alt key.
    monkeypatch.setenv("TEXTUAL_DRIVER", WEB_DRIVER)
    assert [keys.label(k) for k in keys.TWINS] == ["Alt+N", "Alt+P", "Alt+H", "Alt+T", "Alt+Q"]
    assert keys.alternatives(keys.QUIT) == "Alt+Q or Ctrl+Q"
    # Every twin binds both keys, wherever the wizard runs.
    assert all(len(twin.split(",")) == 2 for twin in keys.TWINS)


def test_alt_keys_are_never_text() -> None:
    assert keys.with_alt("alt+t")
    assert keys.with_alt("alt+shift+t")
    assert not keys.with_alt("t")
    assert not keys.with_alt("ctrl+t")


def test_the_docs_key_table_lists_every_shared_key_by_its_name() -> None:
    page = (ROOT / "docs" / "wizard" / "index.md").read_text(encoding="utf-8")
    table = page.split("## Keys", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    for twins, what in keys.REFERENCE:
        names = [keys.display(k) for k in twins.split(",")]
        row = next((r for r in rows if r.startswith(f"| {names[0]} ")), None)
        assert row is not None, f"no row for {names[0]} ({what}) in docs/wizard/index.md"
        assert all(name in row for name in names), row
        assert what in row, row
    trainers = (ROOT / "docs" / "trainers.md").read_text(encoding="utf-8")
    browser = trainers.split("## Keys in a browser", 1)[1].split("\n## ", 1)[0]
    for twins in keys.TWINS:
        alt = next(k for k in twins.split(",") if k.startswith("alt+"))
        assert f"**{keys.display(alt)}**" in browser, alt


# ---------------------------------------------------------------------------- the footer


async def test_the_footer_names_the_keys_that_work_in_a_terminal(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    monkeypatch.delenv("TMUX", raising=False)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        shown = footer_keys(app)
        assert shown["Next"] == "Ctrl+N"
        assert shown["Back"] == "Ctrl+B"
        assert shown["Help"] == "Alt+H"
        assert shown["Quit"] == "Ctrl+Q"
        assert not [name for name in shown.values() if name.startswith("^")]


async def test_the_footer_names_the_alt_keys_in_a_browser(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTUAL_DRIVER", WEB_DRIVER)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        welcome = footer_keys(app)
        assert welcome["Quit"] == "Alt+Q"  # it said "^q", which a browser keeps for itself
        assert welcome["Trail health"] == "Alt+T"
        await next_step(pilot, "trail")
        shown = footer_keys(app)
        assert (shown["Next"], shown["Back"], shown["Help"]) == ("Alt+N", "Alt+P", "Alt+H")
        assert not [name for name in shown.values() if name.startswith(("^", "Ctrl+N"))]


# ---------------------------------------------------------------------------- Alt keys


async def test_alt_keys_never_type_into_a_field_on_any_step(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every question visible at once: a topic, a log group and a role to type into.
    app = app_factory(
        answers=answers(
            encryption={"type": "sse-kms", "key": "new"},
            notifications={"sns_topic": "acme-log-files"},
            cloudwatch_logs={"log_group": "acme-trail-events"},
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        shown = record_notifications(app, monkeypatch)
        fields: set[str | None] = set()
        for step in INPUT_STEPS:
            screen = await show_step(pilot, step)
            for field in text_fields(screen):
                field.focus()
                await pilot.pause()
                before = field.value
                # Alt+T (Trail health elsewhere), Alt+Shift+T, and Alt keys bound nowhere.
                await terminal_sends(pilot, "\x1bt", "\x1bT", "\x1bx", "\x1bg")
                assert field.value == before, f"{step} #{field.id}: {field.value!r}"
                assert app.current_step == step
                fields.add(field.id)
        assert fields >= {
            *("name", "tags", "bucket-name", "prefix", "alias", "principals"),
            *("topic-name", "log-group", "role-name"),
        }
        assert "Alt+T does nothing on this screen." in shown


async def test_alt_t_on_the_trail_step_leaves_the_trail_name_alone(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        shown = record_notifications(app, monkeypatch)
        name = app.screen.query_one("#name", Input)
        name.focus()
        name.cursor_position = len(name.value)
        await pilot.pause()
        await terminal_sends(pilot, "\x1bt")
        assert name.value == "management-events"  # it became "management-eventst"
        assert shown == ["Alt+T does nothing on this screen."]
        await next_step(pilot, "storage")
        assert app.state.draft["trail"]["name"] == "management-events"


async def test_alt_keys_that_are_bound_still_work_from_inside_a_field(
    app_factory: Any,
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        name = app.screen.query_one("#name", Input)
        name.focus()
        await pilot.pause()
        await terminal_sends(pilot, "\x1bh")  # Alt+H: the help panel
        assert app.screen.query_one("#help-panel").display is True
        assert name.value == "management-events"
        await terminal_sends(pilot, "\x1bn")  # Alt+N: next
        await until(pilot, lambda: app.current_step == "storage", "the storage step")
        await pilot.app.workers.wait_for_complete()
        bucket = app.screen.query_one("#bucket-name", Input)
        bucket.focus()
        await pilot.pause()
        await terminal_sends(pilot, "\x1bp")  # Alt+P: back, from inside a field
        await until(pilot, lambda: app.current_step == "trail", "the trail step")
        # The suggested new bucket names the account: bucket names are global.
        account = app.state.account.account_id if app.state.account else "?"
        assert app.state.draft["bucket"]["name"] == (
            f"aws-cloudtrail-logs-{account}-management-events"
        )


async def test_back_works_from_inside_a_field_with_ctrl_b_too(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        await next_step(pilot, "storage")
        app.screen.query_one("#bucket-name", Input).focus()
        await pilot.pause()
        await terminal_sends(pilot, "\x02")  # Ctrl+B as a terminal sends it
        await until(pilot, lambda: app.current_step == "trail", "the trail step")


# ---------------------------------------------------------------------------- Ctrl+C, Ctrl+Q


async def test_ctrl_c_says_how_to_quit_and_still_copies_a_selection(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        shown = record_notifications(app, monkeypatch)
        name = app.screen.query_one("#name", Input)
        name.focus()
        await pilot.pause()
        name.selection = Selection.cursor(0)  # nothing selected
        await pilot.press("ctrl+c")
        assert len(shown) == 1
        assert shown[0].startswith("Ctrl+C does not quit: Press Ctrl+Q to quit")
        assert app.current_step == "trail" and app.is_running
        # With text selected, Ctrl+C copies it, and says nothing.
        name.select_all()
        await pilot.press("ctrl+c")
        assert app.clipboard == "management-events"
        assert len(shown) == 1


async def test_ctrl_q_on_the_welcome_step_quits_at_once_when_nothing_was_entered(
    app_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        pushed: list[object] = []
        monkeypatch.setattr(app, "push_screen", lambda *args, **kwargs: pushed.append(args))
        await pilot.press("ctrl+q")
        assert pushed == []  # no "Quit the wizard?" question
        assert app.return_code == 0
        assert app._exit  # the app is ending


async def test_ctrl_q_still_asks_once_answers_were_entered(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        await type_into(pilot, "#name", "keep-me")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("escape")  # no: stay
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the trail step")
        # Back on the Welcome step, the answers typed are still there to lose.
        await pilot.press("ctrl+b")
        await until(pilot, lambda: app.current_step == "welcome", "the welcome step")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert "Quit the wizard?" in app.screen.question
        assert not app._exit


async def test_ctrl_q_quits_at_once_with_an_answers_file_left_as_it_was(
    app_factory: Any,
) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert app._exit


# ---------------------------------------------------------------------------- radio lists


async def test_every_radio_list_is_chosen_with_the_arrows(app_factory: Any) -> None:
    # SSE-KMS with an existing key and CloudWatch Logs: every radio list is shown, and
    # several start on their second option.
    app = app_factory(
        answers=answers(
            encryption={"type": "sse-kms", "key": "alias/cloudtrail-ready"},
            cloudwatch_logs={"log_group": "acme-trail-events"},
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        lists = 0
        for step in INPUT_STEPS:
            screen = await show_step(pilot, step)
            radios = list(screen.query(RadioSet))
            assert all(isinstance(r, RadioList) for r in radios), step
            for radio in radios:
                if not on_screen(radio):
                    continue
                lists += 1
                # The highlight starts on the chosen option, not on the first.
                start = radio.pressed_index
                highlighted = [i for i, b in enumerate(radio.children) if b.has_class("-selected")]
                assert highlighted == [start], f"{step} #{radio.id}"
                radio.focus()
                await pilot.pause()
                await pilot.press("down")
                count = len(radio.children)
                assert radio.pressed_index == (start + 1) % count, f"{step} #{radio.id}"
                await pilot.press("up")
                assert radio.pressed_index == start, f"{step} #{radio.id}"
        assert lists >= 5  # storage's two, encryption's two, delivery's (at least) one


async def test_an_arrow_in_the_storage_mode_chooses_an_existing_bucket(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        await next_step(pilot, "storage")
        app.screen.query_one("#mode", RadioSet).focus()
        await pilot.press("down")  # no Space needed
        table = app.screen.query_one("#buckets", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the bucket list")
        assert table.display


# ---------------------------------------------------------------------------- pickers


async def test_enter_in_a_filter_with_one_match_chooses_it(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        await next_step(pilot, "storage")
        await pilot.click("#mode-existing")
        table = app.screen.query_one("#buckets", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the bucket list")
        await paste_into(pilot, "#buckets Input", "central")
        assert table.keys == [CENTRAL_BUCKET]
        await pilot.press("enter")  # one Enter: chosen
        await pilot.pause()
        await next_step(pilot, "prefix")
        assert app.state.draft["bucket"]["name"] == CENTRAL_BUCKET


async def test_enter_in_a_filter_with_several_matches_waits_for_a_choice(
    app_factory: Any,
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        await next_step(pilot, "storage")
        await pilot.click("#mode-existing")
        table = app.screen.query_one("#buckets", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the bucket list")
        await paste_into(pilot, "#buckets Input", "demo-")
        assert len(table.keys) > 1
        await pilot.press("enter")
        assert table.table.has_focus  # the cursor waits on the first match
        await pilot.press("ctrl+n")
        assert app.current_step == "storage"  # nothing chosen yet


async def test_enter_in_the_key_filter_with_one_match_chooses_the_key(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("encryption", app.state)
        await pilot.pause()
        await pilot.click("#type-sse-kms")
        await pilot.click("#key-mode-existing")
        table = app.screen.query_one("#keys", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the key list")
        # The ready key of the trail's region (its namesake in eu-west-1 cannot be used).
        await paste_into(pilot, "#keys Input", "cloudtrail-ready")
        ready = next(key for key in table.keys if ":us-east-1:" in key)
        await paste_into(pilot, "#keys Input", ready.rsplit("/", 1)[1])
        assert table.keys == [ready]
        await pilot.press("enter")
        await next_step(pilot, "delivery")
        assert app.state.draft["encryption"]["key"] == "alias/cloudtrail-ready"


# ---------------------------------------------------------------------------- validation focus


async def test_a_refused_next_focuses_the_first_invalid_field(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        await type_into(pilot, "#name", "my--trail")
        app.screen.query_one("#tags", Input).focus()
        await pilot.pause()
        await pilot.press("ctrl+n")
        assert app.current_step == "trail"
        assert app.focused is app.screen.query_one("#name", Input)


async def test_a_refused_next_focuses_an_empty_required_field(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        app.go_to("delivery", app.state)
        await pilot.pause()
        await pilot.click("#sns-new")
        await type_into(pilot, "#topic-name", "")
        app.screen.query_one("#sns-mode", RadioSet).focus()
        await pilot.pause()
        await pilot.press("ctrl+n")
        assert app.current_step == "delivery"
        assert str(app.screen.query_one("#errors", Static).content)  # says what is missing
        assert app.focused is app.screen.query_one("#topic-name", Input)


async def test_a_refused_next_without_a_bucket_focuses_the_picker(app_factory: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await next_step(pilot, "trail")
        await next_step(pilot, "storage")
        await pilot.click("#mode-existing")
        table = app.screen.query_one("#buckets", ChoiceTable)
        await until(pilot, lambda: bool(table.keys), "the bucket list")
        app.screen.query_one("#mode", RadioSet).focus()
        await pilot.pause()
        await pilot.press("ctrl+n")
        assert app.current_step == "storage"
        focused = app.focused
        assert focused is not None and table in focused.ancestors


# ---------------------------------------------------------------------------- review tabs


async def test_the_review_says_how_to_reach_the_tabs_and_the_keys_do(app_factory: Any) -> None:
    app = app_factory(answers=answers())
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(pilot)
        assert isinstance(review, ReviewScreen)
        hint = str(review.query_one("#tabs-hint", Static).content)
        assert "[ ] switch" in hint and "PgUp" in hint and "c copies" in hint
        tabs = review.query_one("#tabs", TabbedContent)
        first = tabs.active
        review.query_one("#next").focus()  # away from the tab bar: arrows do not switch
        await pilot.pause()
        await pilot.press("right_square_bracket")
        assert tabs.active != first
        assert review.query_one("#tabs Tabs", Tabs).has_focus  # the arrows go on from here
        await pilot.press("left_square_bracket")
        assert tabs.active == first
        await pilot.press("left_square_bracket")  # wraps round to the last tab
        assert tabs.active == list(review.query_one(TabbedContent).query("TabPane"))[-1].id
