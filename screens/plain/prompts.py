"""How the plain wizard asks: questionary's prompts, or numbered lines for TERM=dumb.

questionary draws its questions with prompt_toolkit, which moves the cursor and redraws the
line as you type: fine on a terminal, garbage on a dumb one (an editor's shell buffer, a
serial console, a screen reader's line mode). With ``TERM=dumb`` the wizard asks with
:class:`LinePrompter` instead: every question is a line of text, choices are numbered,
answers are typed and read a line at a time, and nothing is written but printable text and
newlines. Both prompters take the same questions, defaults and validators, so the answers
and the messages about wrong ones are the same.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TextIO, TypedDict

from wizard.model.text import printable_lines

if TYPE_CHECKING:
    from prompt_toolkit.output import Output

Validator = Callable[[str], "bool | str"]
"""questionary's validator: True when the text is fine, else the message to show."""

Option = tuple[str, Any]
"""One choice: (title shown, value returned). ``Any``: a choice's value is what the question
stores (a flag, a word, a number)."""

LINE_HELP = (
    "Type each answer and press Enter. Enter alone keeps the answer in [brackets]; '-' "
    "clears it. Choices are numbered: type the number."
)
"""How to answer line-mode questions, said once at the start of the run."""


def line_mode() -> bool:
    """Whether questions must be plain lines: the terminal is dumb (``TERM=dumb``)."""
    return os.environ.get("TERM") == "dumb"


class Prompter(Protocol):
    """Asks one question and returns the answer (raises KeyboardInterrupt or EOFError)."""

    intro: str
    """How to answer, said once before the first question (empty: nothing to say)."""

    def text(self, prompt: str, *, default: str, validate: Validator | None = None) -> str:
        """A typed answer."""

    def confirm(self, prompt: str, *, default: bool) -> bool:
        """Yes or no."""

    def select(self, prompt: str, options: Sequence[Option], *, default: Any) -> Any:
        """One of the options' values (``default`` is one of them, or None: the first)."""

    def checkbox(
        self, prompt: str, options: Sequence[Option], *, chosen: Sequence[Any]
    ) -> list[Any]:
        """Some of the options' values (``chosen`` are ticked to start with)."""

    def path(self, prompt: str, *, default: str, validate: Validator | None = None) -> str:
        """A file path."""


class PromptOptions(TypedDict, total=False):
    """Extra keyword arguments for every questionary prompt."""

    output: Output
    """Where prompt_toolkit draws the question (default: standard output)."""


def prompt_options() -> PromptOptions:
    """Draw the questions on the terminal even when standard output is redirected.

    prompt_toolkit renders into standard output, as plain text when it is not a terminal.
    When output goes to a pipe or a file but standard error is still the terminal, the
    questions go there, and the report (help, plan, policies, results) to standard output.
    """
    if sys.stdout.isatty() or not sys.stderr.isatty():
        return {}
    # Deferred: prompt_toolkit loads only when a question is drawn on standard error.
    from prompt_toolkit.output import create_output

    return {"output": create_output(always_prefer_tty=True)}


class QuestionaryPrompter:
    """questionary's prompts (every one asked with ``unsafe_ask``: Ctrl-C raises)."""

    intro = ""

    def __init__(self, options: PromptOptions | None = None) -> None:
        """Ask with questionary, drawing where ``options`` say (default: :func:`prompt_options`)."""
        self.options = prompt_options() if options is None else options

    def text(self, prompt: str, *, default: str, validate: Validator | None = None) -> str:
        # Deferred for start-up time: questionary (prompt_toolkit) loads when a question is asked.
        import questionary

        question = questionary.text(prompt, default=default, validate=validate, **self.options)
        return str(question.unsafe_ask() or "")

    def confirm(self, prompt: str, *, default: bool) -> bool:
        # Deferred for start-up time: questionary (prompt_toolkit) loads when a question is asked.
        import questionary

        return bool(questionary.confirm(prompt, default=default, **self.options).unsafe_ask())

    def select(self, prompt: str, options: Sequence[Option], *, default: Any) -> Any:
        # Deferred for start-up time: questionary (prompt_toolkit) loads when a question is asked.
        import questionary

        values = [value for _title, value in options]
        return questionary.select(
            prompt,
            choices=[questionary.Choice(title, value=value) for title, value in options],
            default=default if default in values else None,
            **self.options,
        ).unsafe_ask()

    def checkbox(
        self, prompt: str, options: Sequence[Option], *, chosen: Sequence[Any]
    ) -> list[Any]:
        # Deferred for start-up time: questionary (prompt_toolkit) loads when a question is asked.
        import questionary

        answer = questionary.checkbox(
            prompt,
            choices=[
                questionary.Choice(title, value=value, checked=value in chosen)
                for title, value in options
            ],
            **self.options,
        ).unsafe_ask()
        return list(answer)

    def path(self, prompt: str, *, default: str, validate: Validator | None = None) -> str:
        # Deferred for start-up time: questionary (prompt_toolkit) loads when a question is asked.
        import questionary

        question = questionary.path(prompt, default=default, validate=validate, **self.options)
        return str(question.unsafe_ask() or "")


class LinePrompter:
    """Questions as lines of text, for dumb terminals: no cursor movement, no escape codes.

    A question is one line ending in ``: ``, its default in brackets; the options of a
    choice are listed one per line, numbered. The answer is read as one line. A refused
    answer gets the validator's message on its own line and the question again.
    """

    intro = LINE_HELP

    def __init__(self, answers: TextIO, out: TextIO) -> None:
        """Read answers from ``answers``; write the questions to ``out``."""
        self.answers = answers
        self.out = out

    @classmethod
    def on_terminal(cls) -> LinePrompter:
        """Read standard input; ask where questionary would draw (see :func:`prompt_options`)."""
        out = sys.stdout if sys.stdout.isatty() or not sys.stderr.isatty() else sys.stderr
        return cls(sys.stdin, out)

    # ------------------------------------------------------------------ lines

    def _say(self, text: str) -> None:
        # Titles and defaults may quote names from AWS: show control characters, never run them.
        self.out.write(printable_lines(text) + "\n")

    def _read(self, prompt: str) -> str:
        """Write the question, read one line (EOFError at the end of the input)."""
        self.out.write(printable_lines(prompt))
        self.out.flush()
        line = self.answers.readline()
        if not line:
            self.out.write("\n")
            raise EOFError
        return line.rstrip("\r\n")

    def _refuse(self, message: str) -> None:
        self._say(f"  Not accepted: {message}")

    @staticmethod
    def _bracket(default: str) -> str:
        return f" [{default}]" if default else ""

    # ------------------------------------------------------------------ questions

    def text(self, prompt: str, *, default: str, validate: Validator | None = None) -> str:
        while True:
            typed = self._read(f"{prompt}{self._bracket(default)}: ").strip()
            answer = default if not typed else "" if typed == "-" else typed
            result = True if validate is None else validate(answer)
            if result is True:
                return answer
            self._refuse(str(result))

    def path(self, prompt: str, *, default: str, validate: Validator | None = None) -> str:
        return self.text(prompt, default=default, validate=validate)

    def confirm(self, prompt: str, *, default: bool) -> bool:
        while True:
            typed = self._read(f"{prompt} [{'Y/n' if default else 'y/N'}]: ").strip().lower()
            if not typed:
                return default
            if typed in ("y", "yes"):
                return True
            if typed in ("n", "no"):
                return False
            self._refuse("answer y (yes) or n (no).")

    def _list(self, prompt: str, lines: Sequence[str]) -> None:
        self._say(prompt)
        for number, line in enumerate(lines, 1):
            self._say(f"  {number}) {line}")

    def select(self, prompt: str, options: Sequence[Option], *, default: Any) -> Any:
        values = [value for _title, value in options]
        start = values.index(default) + 1 if default in values else 1
        self._list(prompt, [title for title, _value in options])
        while True:
            typed = self._read(f"Choose 1-{len(options)} [{start}]: ").strip()
            if not typed:
                return values[start - 1]
            if typed.isdigit() and 1 <= int(typed) <= len(options):
                return values[int(typed) - 1]
            self._refuse(f"type a number from 1 to {len(options)}.")

    def checkbox(
        self, prompt: str, options: Sequence[Option], *, chosen: Sequence[Any]
    ) -> list[Any]:
        values = [value for _title, value in options]
        ticked = [n for n, value in enumerate(values, 1) if value in chosen]
        self._list(
            prompt, [f"[{'x' if value in chosen else ' '}] {title}" for title, value in options]
        )
        start = " ".join(str(n) for n in ticked) or "-"
        while True:
            typed = self._read(f"Numbers, separated by spaces ('-' for none) [{start}]: ")
            words = typed.replace(",", " ").split()
            if not words:
                return [values[n - 1] for n in ticked]
            if words == ["-"]:
                return []
            if all(w.isdigit() and 1 <= int(w) <= len(options) for w in words):
                picked = {int(w) for w in words}
                return [value for n, value in enumerate(values, 1) if n in picked]
            self._refuse(
                f"type numbers from 1 to {len(options)} separated by spaces, or '-' for none."
            )
