"""Where the full-screen wizard puts the files a person saves: answers, a review tab, a screenshot.

In a terminal the person and the wizard share a machine: a file is written in the current
directory (or to the answers file named on the command line), as it always was.

Under ``cloudtrail-wizard serve`` the person sits at a browser, perhaps on another machine,
while the wizard process runs beside the server: its current directory is the trainer's,
and a save there would land among (and could overwrite) the trainer's files. So in a page:

* with ``serve --save-dir DIR`` the server gives each session a directory of its own under
  ``DIR`` (:data:`SAVE_DIR_VARIABLE`) and the file is written there, where the trainer
  finds it;
* otherwise the file is sent to the browser as a download (textual-serve delivers it), and
  nothing at all is written on the server.

Textual is only imported by the functions that need a running app.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screens.tui import keys
from wizard.model.safe_io import write_atomically

if TYPE_CHECKING:
    from textual.app import App

SAVE_DIR_VARIABLE = "CLOUDTRAIL_WIZARD_SAVE_DIR"
"""Set by ``serve --save-dir`` for each session: the directory its saves go to."""


def session_save_dir() -> Path | None:
    """The directory ``serve`` named for this session's saves; None when it named none."""
    value = os.environ.get(SAVE_DIR_VARIABLE, "")
    return Path(value) if value and os.path.isabs(value) else None


def save_text(
    app: App[Any],
    text: str,
    *,
    name: str,
    what: str,
    path: Path | None = None,
    keep_earlier: bool = False,
) -> None:
    """Save ``text`` for the person at the wizard, and tell them where it went.

    Args:
        app: The running app, whatever it returns (for its notifications and, in a page,
            the download).
        text: The file's content.
        name: The file's name (``management-events.answers.yaml``).
        what: What it is, capitalised, for the message (``Answers``).
        path: In a terminal, the exact file to write instead of ``name`` in the current
            directory (the answers file named on the command line). Never used in a page.
        keep_earlier: Never replace an existing file: ``name-2``, ``name-3``... instead.
    """
    if keys.in_browser():
        directory = session_save_dir()
        if directory is None:
            _download(app, text, name=name, what=what)
            return
        try:
            # One level only: the server made (and checked) --save-dir itself at start.
            directory.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            app.notify(f"Could not save {name} on the server: {exc}", severity="error")
            return
        target = directory / name
        where = "on the server (the trainer has it)"
    else:
        target = path or Path.cwd() / name
        where = ""
    if keep_earlier:
        target = _free_name(target)
    try:
        write_atomically(target, text)
    except OSError as exc:
        app.notify(f"Could not save {what.lower()} to {target}: {exc}", severity="error")
        return
    app.notify(f"{what} saved to {target} {where}".rstrip())


def _download(app: App[Any], text: str, *, name: str, what: str) -> None:
    app.deliver_text(io.StringIO(text), save_filename=name, open_method="download")
    app.notify(
        f"{what} sent to your browser as a download: {name} (in the browser's downloads; "
        "nothing is kept on the server). If nothing arrives, allow pop-ups for this page "
        "and save again."
    )


def _free_name(path: Path) -> Path:
    """``path``, or ``stem-2.ext``, ``stem-3.ext``... the first that does not exist."""
    number = 2
    candidate = path
    while candidate.exists() or candidate.is_symlink():
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        number += 1
    return candidate
