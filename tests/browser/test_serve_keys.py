"""Keys in the served wizard, typed into a real (headless) Chromium as a visitor types them.

Unlike :meth:`Page.press`, the keys here are sent to whatever has the keyboard focus: the
page must put it in the wizard's terminal by itself, at load and after a restart, with no
click first.
"""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from screens.cli.serving.server import PAGE_SCRIPT, with_page_script
from tests.browser.conftest import Browser, Page, Served, wait_for
from tests.browser.test_serve import step_title, welcome

END = "\ue010"
"""The End key, as WebDriver names it (selenium's ``Keys.END``)."""

IN_TERMINAL = """
const active = document.activeElement;
return !!active && active.classList.contains('xterm-helper-textarea')
    && !!active.closest('.textual-terminal');
"""
"""Whether the keyboard focus is in the wizard's terminal (xterm.js reads keys there)."""

ON_RESTART = """
const active = document.activeElement;
return document.body.classList.contains('-closed') && !!active
    && active.tagName === 'BUTTON' && active.textContent.trim() === 'Restart';
"""
"""Whether the session has ended and the focus is on the page's Restart button."""


def type_keys(page: Page, key: str, *, alt: bool = False, ctrl: bool = False) -> None:
    """Type into whatever has the focus now: no click, no focus call first."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    actions = ActionChains(page.driver)
    modifier = Keys.ALT if alt else Keys.CONTROL if ctrl else None
    if modifier is None:
        actions.send_keys(key)
    else:
        actions.key_down(modifier).send_keys(key).key_up(modifier)
    actions.perform()


def script(page: Page, source: str) -> Any:
    """Run ``source`` in the page and return its result."""
    return page.driver.execute_script(source)


def test_the_page_carries_the_script_that_gives_the_wizard_the_keyboard(served: Served) -> None:
    with urllib.request.urlopen(served.url, timeout=10) as response:
        page = response.read().decode()
    script = PAGE_SCRIPT.read_text(encoding="utf-8")
    assert page.count(script) == 1
    # Inside the body, after the terminal's element, and textual-serve's own page around it.
    assert page.index('id="terminal"') < page.index(script) < page.index("</body>")
    assert "js/textual.js" in page
    # A page without a closing body tag still gets it, at its end.
    assert with_page_script("<p>no body</p>").endswith(f"{script}</script>\n")


@pytest.mark.browser
def test_the_page_gives_the_wizard_the_keyboard_without_a_click(
    served: Served, browser: Browser
) -> None:
    page = browser.page().open(served.url)
    screen = welcome(page)
    assert wait_for(lambda: script(page, IN_TERMINAL), "the focus in the terminal")
    # The footer names the keys a browser passes on, as people write them.
    screen = page.wait_text("Alt+N Next", "Alt+Q Quit", "Alt+T Trail health")
    assert "^q" not in screen and "Ctrl+N" not in screen

    type_keys(page, "n", alt=True)
    trail = page.wait_text(step_title("trail"), "Alt+P")  # Back is named by its Alt twin
    assert "management-events" in trail
    assert "auditors" in trail  # the help panel (open in the sandbox)

    # Alt+T on a step without Trail health: nothing typed into the trail name, and said so.
    type_keys(page, "t", alt=True)
    page.wait_text("Alt+T does nothing on this screen.")
    assert "management-eventst" not in page.text()

    # Alt+H is the help key that works in a browser (F1 opens the browser's help).
    type_keys(page, "h", alt=True)
    wait_for(lambda: "auditors" not in page.text(), "the help panel to close")

    # Ctrl+C says how to quit, with the key that works here. (The trail name came with its
    # text selected, which Ctrl+C would copy: End leaves nothing selected.)
    type_keys(page, END)
    type_keys(page, "c", ctrl=True)
    page.wait_text("Ctrl+C does not quit", "Press Alt+Q to quit")

    # Alt+P goes back, from inside the trail name field.
    type_keys(page, "p", alt=True)
    page.wait_text(step_title("welcome"))


@pytest.mark.browser
def test_after_quitting_enter_restarts_with_the_keyboard_in_the_wizard(
    served: Served, browser: Browser
) -> None:
    page = browser.page().open(served.url)
    welcome(page)
    assert wait_for(lambda: script(page, IN_TERMINAL), "the focus in the terminal")
    sessions = len(served.session_pids())

    # Nothing entered on the Welcome step: Alt+Q quits at once, without a question.
    type_keys(page, "q", alt=True)
    assert wait_for(lambda: script(page, ON_RESTART), "the ended page, Restart focused")

    type_keys(page, "\n")  # Enter on Restart: a new session
    wait_for(lambda: len(served.session_pids()) > sessions, "a new session in the server's log")
    wait_for(lambda: script(page, "return !!window.__wizardTerminal"), "the new terminal")
    welcome(page)
    assert wait_for(lambda: script(page, IN_TERMINAL), "the focus in the new terminal")
    type_keys(page, "n", alt=True)
    page.wait_text(step_title("trail"))
