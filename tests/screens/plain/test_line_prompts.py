"""Plain mode on a dumb terminal: questions as numbered lines, answers typed, no escape codes.

:class:`~screens.plain.prompts.LinePrompter` is tested alone (each kind of question, refused
answers, the end of the input), then driving the whole plain wizard in-process from a script
of typed lines, and finally as a person meets it: ``cloudtrail-wizard`` in a pseudo-terminal
with ``TERM=dumb``, answered line by line as its questions appear, to the end of a dry run.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from screens.common.backend import Backend
from screens.common.log_account import ACCOUNT_PROMPT, OWNER_PROMPT, REACH_PROMPT, ROLE_PROMPT
from screens.plain import wizard as plain
from screens.plain.prompts import LINE_HELP, LinePrompter, line_mode
from tests.screens.plain.test_plain import (  # noqa: F401 (fixtures used by name)
    ROOT,
    plain_sandbox,
    sandbox,
)
from wizard.model.names import check_trail_name
from wizard.sandbox.server import DEMO_LOG_ACCOUNT, DEMO_LOG_BUCKET, DEMO_LOG_ROLE_ARN, Sandbox

ESC = "\x1b"


def prompter(*lines: str) -> tuple[LinePrompter, io.StringIO]:
    """A LinePrompter reading ``lines`` as typed answers; the questions go to the buffer."""
    out = io.StringIO()
    return LinePrompter(io.StringIO("".join(f"{line}\n" for line in lines)), out), out


def test_line_mode_is_for_dumb_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    assert line_mode()
    monkeypatch.setenv("TERM", "xterm-256color")
    assert not line_mode()


def test_text_keeps_the_default_clears_with_a_dash_and_asks_again_when_refused() -> None:
    def validate(text: str) -> bool | str:
        problem = check_trail_name(text) if text else None
        return True if problem is None else problem

    ask, out = prompter("", "my trail!", "-", "org-audit")
    assert ask.text("Trail name", default="management-events", validate=validate) == (
        "management-events"
    )
    assert ask.text("Trail name", default="management-events", validate=validate) == ""
    assert ask.text("Trail name", default="", validate=validate) == "org-audit"
    shown = out.getvalue()
    assert shown.startswith("Trail name [management-events]: ")
    assert f"  Not accepted: {check_trail_name('my trail!')}\n" in shown
    assert "Trail name: " in shown  # no brackets without a default
    assert ESC not in shown


def test_choices_are_numbered_and_a_wrong_number_is_refused() -> None:
    options = [
        ("A new bucket (created with CloudTrail's policy)", True),
        ("An existing one", False),
    ]
    ask, out = prompter("", "3", "x", "2")
    assert ask.select("Where should the log files go?", options, default=True) is True
    assert ask.select("Where should the log files go?", options, default=True) is False
    shown = out.getvalue()
    assert "Where should the log files go?\n  1) A new bucket (created with CloudTrail's" in shown
    assert "  2) An existing one\nChoose 1-2 [1]: " in shown
    assert shown.count("  Not accepted: type a number from 1 to 2.") == 2
    assert ESC not in shown


def test_checkbox_takes_numbers_a_dash_or_the_ticked_ones() -> None:
    options = [
        ("S3 object-level events", "s3"),
        ("Lambda invocations", "lambda"),
        ("DynamoDB", "d"),
    ]
    ask, out = prompter("", "-", "3, 1", "4", "2")
    assert ask.checkbox("Data events", options, chosen=["lambda"]) == ["lambda"]
    assert ask.checkbox("Data events", options, chosen=["lambda"]) == []
    assert ask.checkbox("Data events", options, chosen=[]) == ["s3", "d"]
    assert ask.checkbox("Data events", options, chosen=[]) == ["lambda"]
    shown = out.getvalue()
    assert "  2) [x] Lambda invocations" in shown
    assert "Numbers, separated by spaces ('-' for none) [2]: " in shown
    assert "[-]: " in shown
    assert "Not accepted: type numbers from 1 to 3 separated by spaces" in shown


def test_confirm_takes_yes_or_no_and_the_end_of_input_stops() -> None:
    ask, out = prompter("", "maybe", "n", "YES")
    assert ask.confirm("Record every region?", default=True) is True
    assert ask.confirm("Record every region?", default=True) is False
    assert ask.confirm("Save these answers?", default=False) is True
    assert "Record every region? [Y/n]: " in out.getvalue()
    assert "Save these answers? [y/N]: " in out.getvalue()
    assert "  Not accepted: answer y (yes) or n (no)." in out.getvalue()
    with pytest.raises(EOFError):
        ask.text("Trail name", default="x")


def test_the_plain_wizard_runs_on_typed_lines_with_another_accounts_bucket(
    sandbox: Sandbox,  # noqa: F811 (the fixture)
) -> None:
    """The whole wizard from a script of typed lines: numbered choices for the Storage step's
    bucket in the log-archive account, reached with its role; a dry run, then quit."""
    typed = [
        "dumb-central",  # Trail name
        "",  # Home region
        "",  # Record every region? (yes)
        "",  # Log file validation? (yes)
        "2",  # Where should the log files go? 2) An existing bucket
        "2",  # Whose bucket is it? 2) Another account
        DEMO_LOG_ACCOUNT,  # Account ID of the bucket's owner
        "2",  # How can the wizard reach that account? 2) By assuming a role there
        "",  # Role to assume there: the sandbox's, offered in brackets
        DEMO_LOG_BUCKET,  # Bucket name
        "",  # Log file prefix
        "2",  # How should log files be encrypted? 2) SSE-S3
        "",  # SNS topic
        "",  # CloudWatch Logs group
        "",  # Management events
        "",  # Leave out these sources
        "",  # Data events
        "",  # Add, change or remove selectors: the default, done
        "",  # Insights
        "2",  # What now? 2) Dry-run
        "3",  # What now? (apply, save, quit) 3) Quit
    ]
    answers = io.StringIO("".join(f"{line}\n" for line in typed))
    out = io.StringIO()
    code = plain.run_plain(
        argparse.Namespace(profile=None, region=None, sandbox=True, answers=None),
        backend=Backend(sandbox=True, endpoint=sandbox.endpoint_url),
        out=out,
        show_help=False,
        prompter=LinePrompter(answers, out),
    )

    shown = out.getvalue()
    assert code == 0, shown
    assert ESC not in shown
    assert LINE_HELP in " ".join(shown.split())
    assert answers.read() == ""  # every typed line was an answer
    assert f"{OWNER_PROMPT}\n  1) This account (" in shown
    assert f"{ACCOUNT_PROMPT}: " in shown
    assert f"{REACH_PROMPT}\n  1) With an AWS profile for it (from your AWS config)\n" in shown
    assert f"{ROLE_PROMPT} [{DEMO_LOG_ROLE_ARN}]: " in shown
    assert f"Connected to account {DEMO_LOG_ACCOUNT} as " in shown
    assert f"  {DEMO_LOG_BUCKET} (us-east-1)" in shown
    assert re.search(r"^DRY RUN: nothing was changed\. \d+ changes recorded", shown, re.M)
    assert "PutBucketPolicy" in shown
    assert shown.rstrip().endswith("Quit before applying. Nothing was changed.")


# --------------------------------------------------------------------------- a real dumb terminal


ANSWERS = {
    "Trail name": "dumb-trail",
    "How should log files be encrypted?": "2",  # SSE-S3
}
"""Typed at the question whose text (the line before ``Choose``, for a choice) contains the
key; every other question gets Enter (its default)."""

WHAT_NOW = ("2", "3")
"""At the action menu: 2) Dry-run, then (dry-run done) 3) Quit."""


_READ_SYSCALL = {"x86_64": "0", "aarch64": "63"}.get(platform.machine())
"""The number of the read system call here (as /proc/PID/syscall shows it), if known."""


def _reading_its_terminal(pid: int) -> bool | None:
    """Whether the child's main thread is blocked reading standard input; None: cannot tell.

    Output that merely pauses after ": " (a policy's ``"Resource": `` at the end of what the
    terminal has passed on so far) must not be taken for a question: an Enter typed then is
    read by the next real question instead of its own answer.
    """
    if _READ_SYSCALL is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return None
    return len(fields) > 1 and fields[0] == _READ_SYSCALL and int(fields[1], 16) == 0


def _asked(controller: int, pid: int, deadline: float) -> bool:
    """Wait until the child reads its terminal (True) or writes more (False)."""
    while time.monotonic() < deadline:
        reading = _reading_its_terminal(pid)
        if reading is None:
            return True  # the prompt's ": " is all there is to go by
        if reading:
            return True
        more, _, _ = select.select([controller], [], [], 0.005)
        if more:
            return False
    return False


def _answer_for(screen: str, what_now: list[str]) -> str | None:
    """The answer to the question at the end of ``screen``, or None when none is waiting."""
    if not screen.endswith(": "):
        return None
    lines = screen.splitlines()
    question = lines[-1]
    if question.startswith("Choose") or question.startswith("Numbers"):
        question = next(line for line in reversed(lines[:-1]) if not line.startswith("  "))
    if question.startswith(plain.PROMPT_NEXT):
        assert what_now, f"the action menu came once more than expected:\n{screen[-3000:]}"
        return what_now.pop(0)
    return next((typed for key, typed in ANSWERS.items() if question.startswith(key)), "")


def test_term_dumb_asks_in_lines_without_escape_codes_and_completes_a_dry_run(
    sandbox: Sandbox,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    """`cloudtrail-wizard` on a dumb terminal: the plain wizard, said so, every byte printable
    (no cursor movement, no colour), answered line by line through to a dry run and quit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sandbox.env())
    env.update(
        PYTHONPATH=str(ROOT),
        TERM="dumb",
        XDG_STATE_HOME=str(tmp_path / "state"),
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        COLUMNS="100",
    )
    env.pop("NO_COLOR", None)
    controller, terminal = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "screens.cli"],
        cwd=tmp_path,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)
    received = b""
    what_now = list(WHAT_NOW)  # this run's own: the test may run again in this process
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the child closed the terminal: it has ended
                break
            if not chunk:
                break
            received += chunk
            if not received.endswith(b": ") or not _asked(controller, child.pid, deadline):
                continue
            answer = _answer_for(
                received.decode("utf-8", "replace").replace("\r\n", "\n"), what_now
            )
            if answer is not None:
                os.write(controller, answer.encode() + b"\n")
        code = child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(controller)

    screen = received.decode("utf-8", "replace").replace("\r\n", "\n")
    assert code == 0, screen[-3000:]
    assert b"\x1b" not in received, [m.start() for m in re.finditer("\x1b", screen)][:5]
    assert screen.startswith("Using plain prompts: TERM is dumb.\n")
    assert " ".join(screen.split("== Step 1")[0].split()).endswith(LINE_HELP)
    assert "Trail name [management-events]: dumb-trail\n" in screen  # the terminal's echo
    assert "How should log files be encrypted?\n  1) SSE-KMS" in screen
    assert re.search(r"^DRY RUN: nothing was changed\. \d+ changes recorded", screen, re.M)
    assert screen.rstrip().endswith("Quit before applying. Nothing was changed.")
    assert what_now == []  # both menu answers were asked for
