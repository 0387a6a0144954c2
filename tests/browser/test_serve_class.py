"""`serve --class` with a trainer and two trainees: each trainee enters a name, then gets a
wizard; the trainer's dashboard (its token leaves the address) shows where each one is,
resets a trainee's sandbox, and broadcasts a message that arrives in a trainee's wizard."""

from __future__ import annotations

import csv
import http.cookiejar
import io
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from screens.cli.serving.trainees import COOKIE
from tests.browser.conftest import Browser, Page, RawSession, Served, start_serve, wait_for
from tests.browser.test_serve import ACCOUNT, step_title
from wizard.sandbox.shared import HOME_VARIABLE, find_sandbox


def dashboard_address(served: Served) -> str:
    """The trainer's address, as serve printed it (with the token)."""
    found = served.wait_output(r"^Trainer's dashboard[^:]*: (http://\S+)", "the dashboard")
    return found.group(1)


def join_without_a_browser(served: Served, name: str) -> str:
    """A trainee who enters their name (the form's POST); their cookie (``name=value``)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(served.url, timeout=30) as page:  # the form, and the trainee's cookie
        assert "Join the class" in page.read().decode()
    body = urllib.parse.urlencode({"name": name}).encode()
    with opener.open(f"{served.url}name", data=body, timeout=30) as wizard_page:
        assert "xterm" in wizard_page.read().decode()  # on to the wizard's page
    cookie = next(c for c in jar if c.name == COOKIE)
    return f"{COOKIE}={cookie.value}"


def sandbox_home_of(served: Served, raw: RawSession) -> Path:
    """The sandbox home of the wizard the server started for ``raw``."""
    _number, pid = served.session_from(raw.local_port)
    environ = Path(f"/proc/{pid}/environ").read_bytes().decode()
    found = dict(entry.split("=", 1) for entry in environ.split("\0") if entry)
    return Path(found[HOME_VARIABLE])


def buckets(endpoint: str) -> set[str]:
    session: Any = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return {
        b["Name"] for b in session.client("s3", endpoint_url=endpoint).list_buckets()["Buckets"]
    }


ROWS = """
return Array.from(document.querySelectorAll('#trainees tr')).map((tr) =>
  Array.from(tr.cells).map((td) => {
    const choice = td.querySelector('select');
    return choice ? (choice.selectedOptions[0] || {text: ''}).text : td.textContent;
  }).join(' | '));
"""
"""The dashboard's rows, one line each: its cells' text (a lab list: the lab chosen)."""


def rows(page: Page) -> list[str]:
    """The dashboard's table of trainees, one line per row."""
    page._here()
    return list(page.driver.execute_script(ROWS))


def row_of(page: Page, name: str) -> str:
    """One trainee's row of the dashboard (empty until it shows)."""
    return next((line for line in rows(page) if line.startswith(f"{name} |")), "")


def test_a_trainer_and_two_trainees(tmp_path: Path, browser: Browser) -> None:
    from selenium.webdriver.common.by import By

    with start_serve(tmp_path, "--class") as served:
        assert "--class implies --sandbox" in served.output()
        address = dashboard_address(served)

        # Ann, in the browser: her name first, then her wizard.
        ann = browser.page()
        ann.driver.get(served.url)
        wait_for(lambda: "Join the class" in ann.driver.page_source, "the name form")
        ann.driver.find_element(By.ID, "name").send_keys("Ann <&> Lee")
        ann.driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(
            lambda: ann.driver.execute_script("return !!window.__wizardTerminal"), "her wizard"
        )
        ann.wait_text(step_title("welcome"), f"Account    {ACCOUNT}")

        # Bob, with a wizard of his own (no browser needed to hold a cookie and a session).
        bob_cookie = join_without_a_browser(served, "Bob")
        bob = RawSession(served, bob_cookie)
        bob_home = sandbox_home_of(served, bob)
        bob_sandbox = wait_for(lambda: find_sandbox(bob_home), "Bob's sandbox")
        session: Any = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        session.client("s3", endpoint_url=bob_sandbox.endpoint_url).create_bucket(
            Bucket="made-by-bob"
        )

        # The trainer: the token opens the dashboard, then leaves the address.
        trainer = browser.page()
        trainer.driver.get(address)
        wait_for(lambda: "/class/" in trainer.driver.current_url, "the dashboard")
        assert "token" not in trainer.driver.current_url
        wait_for(lambda: row_of(trainer, "Ann <&> Lee"), "Ann on the dashboard")
        wait_for(lambda: row_of(trainer, "Bob"), "Bob on the dashboard")
        wait_for(
            lambda: step_title("welcome") in row_of(trainer, "Ann <&> Lee"),
            "Ann's step on the dashboard",
        )

        # Progress: Ann goes on to the Trail step, and the dashboard follows.
        ann.press("n", alt=True)
        ann.wait_text(step_title("trail"))
        wait_for(
            lambda: step_title("trail") in row_of(trainer, "Ann <&> Lee"),
            "Ann's step on the dashboard",
        )
        assert "| open |" in row_of(trainer, "Ann <&> Lee")

        # A broadcast arrives in Ann's wizard.
        trainer._here()
        trainer.driver.find_element(By.ID, "broadcast-text").send_keys("Break until 11:00")
        trainer.driver.find_element(By.CSS_SELECTOR, "#broadcast button").click()
        wait_for(
            lambda: "Sent to 2 trainee(s)." in trainer.driver.find_element(By.ID, "status").text,
            "the dashboard to confirm the message",
        )
        ann.wait_text("From the trainer", "Break until 11:00")

        # A reset: Bob's sandbox starts over (his bucket gone), his wizard ends.
        trainer._here()
        # Found and clicked at once: the page redraws its rows every few seconds.
        trainer.driver.execute_script(
            "for (const tr of document.querySelectorAll('#trainees tr')) {"
            "  if (tr.cells[0].textContent === 'Bob') { tr.querySelector('.reset').click(); }"
            "}"
        )
        alert = wait_for(lambda: _alert(trainer), "the reset's question")
        assert "Reset the sandbox of Bob?" in alert.text
        alert.accept()
        wait_for(
            lambda: re.search(r"Bob: .*reset", trainer.driver.find_element(By.ID, "status").text),
            "the dashboard to confirm the reset",
        )
        assert "made-by-bob" not in buckets(bob_sandbox.endpoint_url)
        wait_for(bob.closed, "Bob's wizard to end")
        # Ann's sandbox was not touched: her wizard still runs.
        assert "| open |" in row_of(trainer, "Ann <&> Lee")

        # The results, as a CSV download.
        trainer.driver.find_element(By.LINK_TEXT, "Download CSV").click()
        export = wait_for(
            lambda: next(iter(browser.downloads.glob("*-results.csv")), None), "the CSV"
        )
        text = wait_for(lambda: export.read_text(encoding="utf-8") or None, "its content")
        exported = {row["name"]: row for row in csv.DictReader(io.StringIO(text))}
        assert set(exported) == {"Ann <&> Lee", "Bob"}
        assert exported["Ann <&> Lee"]["step"] == "trail"
    assert "Stopped" in served.output()


def _alert(page: Page) -> Any:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        return page.driver.switch_to.alert
    except NoAlertPresentException:
        return None
