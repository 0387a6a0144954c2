"""Loading answers files for a command: every problem of every file reported at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from screens.common.errors import UsageError

if TYPE_CHECKING:
    from wizard.model.answers import Answers


def load_all(paths: Sequence[str]) -> list[tuple[str, Answers]]:
    """``(path, answers)`` for each of ``paths``, in order.

    Raises:
        UsageError: a file cannot be used; the message lists every problem of every file
            and says that nothing was changed.
    """
    # Deferred for start-up time: pydantic models load only when this runs.
    from wizard.model.answers_file import AnswersError, load_answers

    loaded: list[tuple[str, Answers]] = []
    failed: list[str] = []
    for path in paths:
        try:
            loaded.append((path, load_answers(path)))
        except AnswersError as exc:
            failed.append(exc.render())
    if failed:
        raise UsageError(
            "\n".join(failed) + "\nNothing was changed. Fix the answers file and run again."
        )
    return loaded


def load_one(path: str) -> tuple[str, Answers]:
    """``(path, answers)`` of one file (see :func:`load_all`).

    Raises:
        UsageError: the file cannot be used.
    """
    ((loaded, answers),) = load_all([path])
    return loaded, answers
