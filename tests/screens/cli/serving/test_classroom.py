"""``serve --class`` without a browser: the trainer's token guard, trainees' names (limits and
escaping), the export formats, and the class surviving a restart. The HTTP side runs the
class's own routes in aiohttp's test server (the browser test drives the whole server)."""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
import json
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from screens.cli.serving import classroom
from screens.cli.serving.classroom import (
    CLASS_FILE,
    COLUMNS,
    NAME_LIMIT,
    TRAINER_COOKIE,
    ClassProblem,
    ClassRoom,
    clean_name,
    export_csv,
    export_json,
    token_matches,
    trainee_rows,
)
from screens.cli.serving.classroom_labs import ClassLabs
from screens.cli.serving.classroom_pages import dashboard_page, name_page
from screens.cli.serving.classroom_web import BODY_LIMIT, ClassroomWeb
from screens.cli.serving.trainees import COOKIE, FolderInUse, Trainees, new_trainee, trainee_id
from screens.common.classroom import (
    MESSAGE_LIMIT,
    Position,
    read_broadcast,
    write_position,
)
from wizard.labs import load_labs

# --------------------------------------------------------------------------- names


def test_a_name_is_trimmed_and_its_blanks_collapsed() -> None:
    assert clean_name("  Ada \t  Lovelace \n") == ("Ada Lovelace", None)
    assert clean_name("José Ñúñez-O'Brien") == ("José Ñúñez-O'Brien", None)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter your name"),
        ("   ", "Enter your name"),
        ("x" * (NAME_LIMIT + 1), f"at most {NAME_LIMIT}"),
        ("Eve\u202eevil", "letters, digits, spaces and punctuation"),  # right-to-left override
        ("Zero\u200bwidth", "letters, digits, spaces and punctuation"),
        ("Bell\x07", "letters, digits, spaces and punctuation"),
    ],
)
def test_a_name_that_cannot_be_kept_says_why(typed: str, says: str) -> None:
    name, problem = clean_name(typed)
    assert name is None
    assert problem is not None and says in problem


def test_a_name_is_text_on_every_page() -> None:
    name = '<img src=x onerror="alert(1)">&amp;'
    row = {"id": "0" * 24, "name": name, "online": 0}
    page = dashboard_page(
        "n0nce", class_name="<b>c</b>", rows=[row], labs=[], class_lab=None, broadcasts=[]
    )
    assert "<img" not in page and "<b>c</b>" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;" in page
    form = name_page("n0nce", value=name, problem="<script>")
    assert "<img" not in form and "<script>" not in form
    assert 'value="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;"' in form


# --------------------------------------------------------------------------- the token


def test_the_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    token = classroom.new_token()
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert token_matches(token, token)
    assert not token_matches(token[:-1] + ("A" if token[-1] != "A" else "B"), token)
    assert not token_matches("", token) and not token_matches(None, token)
    assert len(compared) == 2  # every non-empty candidate went through compare_digest
    assert len(token) >= 43  # 256 random bits


# --------------------------------------------------------------------------- HTTP


@dataclass
class Served:
    client: TestClient[web.Request, web.Application]
    room: ClassRoom
    trainees: Trainees
    web: ClassroomWeb


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """The class's routes on a test server, its folder in ``tmp_path``."""
    room = ClassRoom(tmp_path / "class", max_trainees=3)
    trainees = Trainees.for_class(tmp_path / "class")
    pages = ClassroomWeb(room, trainees, ClassLabs(load_labs()), class_name="monday")
    app = web.Application()
    pages.add_routes(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Served(client, room, trainees, pages)
    finally:
        pages.stop()
        await client.close()
        await trainees.close()


async def test_the_dashboard_without_the_token_is_refused_with_the_way_in(
    served: Served,
) -> None:
    for query in ("", "?token=wrong", f"?token={served.room.token[:-1]}"):
        response = await served.client.get(f"/class/{query}", allow_redirects=False)
        assert response.status == 403
        page = await response.text()
        assert "printed by <code>cloudtrail-wizard serve --class</code>" in page
        assert "Set-Cookie" not in response.headers
    for path in ("/class/state.json", "/class/export.csv", "/class/export.json"):
        assert (await served.client.get(path)).status == 403
    refused = await served.client.post(
        "/class/broadcast", json={"text": "hi"}, cookies={TRAINER_COOKIE: "wrong"}
    )
    assert refused.status == 403


async def test_the_token_sets_a_cookie_and_leaves_the_address(served: Served) -> None:
    response = await served.client.get(f"/class/?token={served.room.token}", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/class/"  # the token is gone from the address
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{TRAINER_COOKIE}={served.room.token};")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/class/"):
        assert attribute in cookie
    assert response.headers["Referrer-Policy"] == "no-referrer"

    dashboard = await served.client.get("/class/", cookies={TRAINER_COOKIE: served.room.token})
    assert dashboard.status == 200
    assert "Class <q>monday</q>" in await dashboard.text()
    assert "script-src 'nonce-" in dashboard.headers["Content-Security-Policy"]


def trainer(served: Served) -> dict[str, str]:
    return {TRAINER_COOKIE: served.room.token}


async def join(served: Served, name: str, token: str | None = None) -> Any:
    cookies = {COOKIE: token} if token else {}
    return await served.client.post(
        "/name", data={"name": name}, cookies=cookies, allow_redirects=False
    )


async def test_a_trainee_joins_with_a_name_kept_with_their_cookie(served: Served) -> None:
    token = new_trainee()
    response = await join(served, "  <b>Ann</b>  ", token)
    assert response.status == 303 and response.headers["Location"] == "/"
    assert "Set-Cookie" not in response.headers  # their cookie already names them
    kept = served.room.trainee(trainee_id(token))
    assert kept is not None and kept.name == "<b>Ann</b>"
    # Without a cookie (it was refused or lost): a new trainee, and the cookie to keep.
    fresh = await join(served, "Bob")
    assert fresh.headers["Set-Cookie"].startswith(f"{COOKIE}=")
    state = await (await served.client.get("/class/state.json", cookies=trainer(served))).json()
    assert [t["name"] for t in state["trainees"]] == ["<b>Ann</b>", "Bob"]
    dashboard = await (await served.client.get("/class/", cookies=trainer(served))).text()
    assert "&lt;b&gt;Ann&lt;/b&gt;" in dashboard and "<b>Ann</b>" not in dashboard


async def test_a_name_that_cannot_be_kept_is_asked_again(served: Served) -> None:
    response = await join(served, "x" * (NAME_LIMIT + 5), new_trainee())
    assert response.status == 400
    assert f"use at most {NAME_LIMIT}" in await response.text()
    assert served.room.state.trainees == {}


async def test_the_class_takes_at_most_its_number_of_trainees(served: Served) -> None:
    for name in ("A", "B", "C"):
        assert (await join(served, name, new_trainee())).status == 303
    refused = await join(served, "D", new_trainee())
    assert refused.status == 403 and "This class is full" in await refused.text()
    assert len(served.room.state.trainees) == 3


async def test_a_broadcast_reaches_every_trainees_home(served: Served) -> None:
    tokens = [new_trainee(), new_trainee()]
    for number, token in enumerate(tokens):
        await join(served, f"T{number}", token)
    response = await served.client.post(
        "/class/broadcast", json={"text": "  Break: back at 11  "}, cookies=trainer(served)
    )
    assert response.status == 200 and (await response.json())["message"] == "Sent to 2 trainee(s)."
    for token in tokens:
        message = read_broadcast(served.trainees.home(token))
        assert message is not None and message.text == "Break: back at 11"
    assert [b.text for b in served.room.state.broadcasts] == ["Break: back at 11"]


async def test_the_dashboards_actions_are_bounded_and_its_own(served: Served) -> None:
    cookies = trainer(served)
    too_long = await served.client.post(
        "/class/broadcast", json={"text": "x" * (MESSAGE_LIMIT + 1)}, cookies=cookies
    )
    assert too_long.status == 400 and f"at most {MESSAGE_LIMIT}" in (await too_long.json())["error"]
    huge = await served.client.post(
        "/class/broadcast",
        data=json.dumps({"text": "x" * (BODY_LIMIT * 2)}),
        headers={"Content-Type": "application/json"},
        cookies=cookies,
    )
    assert huge.status == 413
    # A form (what another site's page could post) is not JSON: refused.
    form = await served.client.post("/class/broadcast", data={"text": "hi"}, cookies=cookies)
    assert form.status == 415
    foreign = await served.client.post(
        "/class/broadcast",
        json={"text": "hi"},
        headers={"Origin": "http://evil.example"},
        cookies=cookies,
    )
    assert foreign.status == 403 and "may not act on this class" in await foreign.text()
    unknown = await served.client.post("/class/reset", json={"trainee": "f" * 24}, cookies=cookies)
    assert unknown.status == 404
    no_lab = await served.client.post(
        "/class/lab", json={"trainee": None, "lab": "no-such-lab"}, cookies=cookies
    )
    assert no_lab.status == 404
    assert served.room.state.broadcasts == []


async def test_the_exports_are_downloads_of_every_trainee(served: Served) -> None:
    token = new_trainee()
    await join(served, "=HYPERLINK(1)", token)
    served.trainees.home(token).mkdir()  # as the trainee's wizard makes it
    write_position(
        served.trainees.home(token),
        Position(step="review", title="Step 8 of 8: Review", time="2026-01-01T00:00:00+00:00"),
    )
    cookies = trainer(served)
    as_csv = await served.client.get("/class/export.csv", cookies=cookies)
    assert as_csv.headers["Content-Disposition"] == 'attachment; filename="monday-results.csv"'
    rows = list(csv.DictReader(io.StringIO(await as_csv.text())))
    assert len(rows) == 1
    assert rows[0]["name"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet
    assert rows[0]["step"] == "review" and rows[0]["step_title"] == "Step 8 of 8: Review"
    as_json = await served.client.get("/class/export.json", cookies=cookies)
    assert as_json.headers["Content-Disposition"] == 'attachment; filename="monday-results.json"'
    document = json.loads(await as_json.text())
    assert document["trainees"][0]["name"] == "=HYPERLINK(1)"  # JSON keeps it as it is
    assert set(document["trainees"][0]) == set(COLUMNS)


# --------------------------------------------------------------------------- formats


def test_the_csv_export_has_one_line_per_trainee_and_every_column(tmp_path: Path) -> None:
    room = ClassRoom(tmp_path, max_trainees=10)
    room.name("a" * 24, "Ann")
    room.name("b" * 24, "+Bob")
    room.note_controls(
        "a" * 24, {"passed": 5, "total": 7, "failing": ["CloudTrail.2", "S3.22"], "checked": "t"}
    )
    rows = trainee_rows(room, online={"a" * 24: 2})
    text = export_csv(rows)
    lines = text.split("\r\n")
    assert lines[0] == ",".join(COLUMNS)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in parsed] == ["Ann", "'+Bob"]
    assert parsed[0]["controls_passed"] == "5" and parsed[0]["controls_total"] == "7"
    assert parsed[0]["controls_failing"] == "CloudTrail.2 S3.22"
    assert parsed[0]["online"] == "2" and parsed[1]["online"] == "0"
    assert parsed[0]["lab_passed"] == "no"
    document = json.loads(export_json(rows, exported="2026-01-01T00:00:00+00:00"))
    assert document["exported"] == "2026-01-01T00:00:00+00:00"
    assert document["trainees"][0]["controls_failing"] == ["CloudTrail.2", "S3.22"]


# --------------------------------------------------------------------------- a restart


def test_the_class_survives_a_restart(tmp_path: Path) -> None:
    first = ClassRoom(tmp_path / "class", max_trainees=10)
    assert not first.resumed
    first.name("a" * 24, "Ann")
    first.set_lab(None, "02-new-bucket")
    first.name("b" * 24, "Bob")
    first.set_lab("b" * 24, "03-existing-bucket")
    first.broadcast("Welcome")
    path = tmp_path / "class" / CLASS_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # it holds the trainer's token

    again = ClassRoom(tmp_path / "class", max_trainees=10)
    assert again.resumed
    assert again.token == first.token  # the dashboard's address still works
    assert {i: t.name for i, t in again.state.trainees.items()} == {
        "a" * 24: "Ann",
        "b" * 24: "Bob",
    }
    assert again.lab_of("a" * 24) == "02-new-bucket"
    assert again.lab_of("b" * 24) == "03-existing-bucket"
    assert again.lab_of("c" * 24) == "02-new-bucket"  # a newcomer joins the class's lab
    assert [b.text for b in again.state.broadcasts] == ["Welcome"]
    # The cookie itself is never kept: only its hash names the trainee.
    assert "cookie" not in path.read_text().lower()


def test_a_damaged_class_file_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / CLASS_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ClassProblem, match=r"is damaged .*Move it away"):
        ClassRoom(tmp_path, max_trainees=10)


def test_a_class_served_twice_is_refused_and_its_homes_kept(tmp_path: Path) -> None:
    first = Trainees.for_class(tmp_path)
    with pytest.raises(FolderInUse, match="already serving the class"):
        Trainees.for_class(tmp_path)
    home = first.home(new_trainee())
    home.mkdir()
    assert asyncio.run(first.close()) == 0
    assert home.is_dir()  # a class keeps its trainees' homes when the server stops
    Trainees.for_class(tmp_path)  # and the next server may serve it


def test_trainee_ids_are_hashes_of_the_cookie() -> None:
    token = new_trainee()
    ident = trainee_id(token)
    assert len(ident) == 24 and token not in ident
    assert trainee_id(token) == ident and trainee_id(new_trainee()) != ident


# --------------------------------------------------------------------------- the command


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["serve", "--labs", "somewhere"], "--labs only means something with --class"),
        (
            ["serve", "--class-name", "x", "--class-dir", "y"],
            "--class-name, --class-dir only mean something with --class",
        ),
        (["serve", "--class", "--class-name", "../up"], "use 1-64 letters, digits"),
    ],
)
def test_class_options_are_checked_before_listening(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from screens.cli.main import main

    assert main([*argv, "--port", "0"]) == 2
    assert says in capsys.readouterr().err
