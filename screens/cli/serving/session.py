"""One browser connection's wizard: the process ``serve`` starts for every browser tab.

The server runs it with ``python -P -c`` (:data:`SESSION_CODE`), giving the options as
arguments.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import NoReturn

from screens.common.answers import load_one
from screens.common.errors import EXIT_INVALID, UsageError

SESSION_CODE = "from screens.cli.serving.session import session_main; session_main()"
"""What each browser connection runs (``python -P -c``)."""


def session_main() -> NoReturn:
    """One browser connection's wizard (run by the server with ``python -P -c``)."""
    parser = argparse.ArgumentParser(prog="cloudtrail-wizard serve session")
    parser.add_argument("--sandbox", action="store_true")
    parser.add_argument("--profile")
    parser.add_argument("--region")
    parser.add_argument("--answers")
    args = parser.parse_args(sys.argv[1:])
    _end_with_parent()

    # Deferred: this process is the full-screen wizard; the server itself never loads
    # Textual (start-up time of every other command).
    from screens.common.backend import Backend
    from screens.tui.app import make_app

    answers = None
    if args.answers:
        try:
            answers = load_one(args.answers)[1]
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(EXIT_INVALID)
    backend = Backend(profile=args.profile, region=args.region, sandbox=args.sandbox)
    # answers_path stays None: many sessions must not all save over the shared answers file;
    # saves are downloads or go to the session's own directory (screens.tui.saves).
    app = make_app(backend, answers=answers)
    sys.exit(int(app.run() or 0))


def _end_with_parent() -> None:
    """Quit when the server goes away without saying so (killed): no orphaned wizards."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)  # the web driver turns it into a quit
                return

    stop = threading.Event()
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
