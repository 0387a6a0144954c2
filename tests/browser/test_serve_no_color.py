"""``serve`` with NO_COLOR set: every session gets a working wizard, not "Session ended"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import RawSession, start_serve, wait_for


def test_a_session_under_no_color_draws_the_welcome_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # serve passes it on to every wizard
    with start_serve(tmp_path, "--sandbox") as served:
        session = RawSession(served)
        try:
            wait_for(lambda: session.heard("SANDBOX") or session.closed(), "the first frame")
            assert session.heard("SANDBOX"), bytes(session.received)[-2000:]
            assert not session.closed()
        finally:
            session.close()
