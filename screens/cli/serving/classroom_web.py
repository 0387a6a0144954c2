"""``serve --class`` over HTTP: the trainees' name form and the trainer's dashboard.

Added to the wizard server (:mod:`~screens.cli.serving.server`) when it serves a class:

* ``GET /`` for a browser whose trainee has no name yet: the name form
  (:func:`~screens.cli.serving.classroom_pages.name_page`); ``POST /name`` keeps the name
  with the browser's trainee cookie and sends it on to its wizard;
* ``/class/``: the trainer's dashboard, guarded by the class's token. The address printed at
  start carries it once (``/class/?token=...``); the server answers with an HttpOnly,
  SameSite=Strict cookie and sends the browser on to ``/class/``, so the token leaves the
  address bar (and the history, and any screen shared with the class). A wrong or missing
  token gets a 403 page saying where the right address is. Tokens are compared in constant
  time.
* ``/class/state.json`` (what the page polls), ``/class/export.csv`` and
  ``/class/export.json``; ``POST /class/reset``, ``/class/lab`` and ``/class/broadcast``
  (JSON bodies of at most :data:`BODY_LIMIT` bytes, from the dashboard's own page only).

Everything that reads a trainee's files, their sandbox or the labs runs in a thread, never on
the event loop that carries every trainee's terminal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from screens.cli.serving.classroom import (
    DASHBOARD_PATH,
    TRAINER_COOKIE,
    ClassRoom,
    check_message,
    clean_name,
    export_csv,
    export_json,
    token_matches,
    trainee_rows,
    trainer_cookie_header,
)
from screens.cli.serving.classroom_health import ControlsWatch
from screens.cli.serving.classroom_labs import ClassLabs
from screens.cli.serving.classroom_pages import (
    dashboard_page,
    name_page,
    nonce,
    refused_page,
    security_headers,
)
from screens.cli.serving.hosts import origin_refusal
from screens.cli.serving.trainees import (
    COOKIE,
    Trainees,
    cookie_header,
    is_trainee,
    new_trainee,
    reset_home,
    stop_if_idle,
    trainee_id,
)
from screens.common.classroom import Broadcast, now_text, write_broadcast

log = logging.getLogger("cloudtrail-wizard.serve")

BODY_LIMIT = 8 * 1024
"""The largest request body the class's forms and actions accept."""
ROWS_SECONDS = 10.0
"""The longest the dashboard's data is waited for (reading the trainees' files)."""
ACTION_SECONDS = 120.0
"""The longest one trainee's reset or lab start is waited for before the answer says so."""
LABS_AT_ONCE = 2
"""Trainees' labs started at once when the trainer sets everyone's (each seeds a sandbox)."""


class ClassroomWeb:
    """The class's pages and actions, for one wizard server."""

    def __init__(
        self,
        room: ClassRoom,
        trainees: Trainees,
        labs: ClassLabs,
        *,
        class_name: str,
    ) -> None:
        """Serve ``room`` (its trainees' homes in ``trainees``); the server then
        :meth:`attach`-es itself.

        Args:
            room: The class's state.
            trainees: Their homes and open wizards.
            labs: The labs the trainer may set.
            class_name: Shown on the dashboard.
        """
        self.room = room
        self.trainees = trainees
        self.labs = labs
        self.class_name = class_name
        self.refusal: Callable[[web.Request], str | None] = lambda _request: None
        """The server's host rule: why a request is refused, or None."""
        self.end_sessions: Callable[[str], Awaitable[int]] = _no_sessions
        """Ends the wizards of a trainee (by id); how many were open."""
        self.controls = ControlsWatch(room.note_controls)
        self._starting = asyncio.Semaphore(LABS_AT_ONCE)
        self._background: set[asyncio.Task[None]] = set()

    def attach(
        self,
        *,
        refusal: Callable[[web.Request], str | None],
        end_sessions: Callable[[str], Awaitable[int]],
    ) -> None:
        """Follow the server's host rule; end a trainee's wizards through it."""
        self.refusal = refusal
        self.end_sessions = end_sessions

    def describe(self, dashboard: str) -> list[str]:
        """The start-up lines about the class: where it is kept, and the dashboard."""
        count = len(self.room.state.trainees)
        kept = (
            f"Class {self.class_name!r} continued from {self.room.directory} "
            f"({count} trainee{'' if count == 1 else 's'})."
            if self.room.resumed
            else f"Class {self.class_name!r} kept in {self.room.directory}."
        )
        labs = f"{len(self.labs.labs)} labs" + (
            f" (with {self.labs.folder})" if self.labs.folder else " (bundled)"
        )
        return [
            f"{kept} Trainees enter their name first; {labs} to set from the dashboard.",
            f"Trainer's dashboard (keep this address to yourself): {dashboard}",
        ]

    def add_routes(self, app: web.Application) -> None:
        """The class's routes (the wizard's own stay as they are)."""
        app.add_routes(
            [
                web.post("/name", self.post_name),
                web.get("/class", self.to_dashboard),
                web.get(DASHBOARD_PATH, self.dashboard),
                web.get(f"{DASHBOARD_PATH}state.json", self.state),
                web.get(f"{DASHBOARD_PATH}export.csv", self.export_csv),
                web.get(f"{DASHBOARD_PATH}export.json", self.export_json),
                web.post(f"{DASHBOARD_PATH}reset", self.reset),
                web.post(f"{DASHBOARD_PATH}lab", self.set_lab),
                web.post(f"{DASHBOARD_PATH}broadcast", self.broadcast),
            ]
        )

    # ------------------------------------------------------------------ trainees

    def named(self, cookie: str | None) -> bool:
        """Whether the browser with this trainee cookie has entered a name."""
        return is_trainee(cookie) and self.room.trainee(trainee_id(str(cookie))) is not None

    def name_form(self, request: web.Request) -> web.Response:
        """The name form, for a browser whose trainee has none yet (``GET /``)."""
        cookie = request.cookies.get(COOKIE)
        full = is_trainee(cookie) and self.room.full(trainee_id(str(cookie)))
        page_nonce = nonce()
        return web.Response(
            text=name_page(page_nonce, full=full),
            content_type="text/html",
            headers=security_headers(page_nonce),
        )

    async def post_name(self, request: web.Request) -> web.StreamResponse:
        """Keep the name the trainee entered with their cookie; on to their wizard."""
        self._refuse_foreign(request)
        fields = await _read_form(request)
        cookie = request.cookies.get(COOKIE)
        token = cookie if cookie is not None and is_trainee(cookie) else new_trainee()
        ident = trainee_id(token)
        page_nonce = nonce()
        headers = security_headers(page_nonce)
        if self.room.full(ident):
            return web.Response(
                status=403,
                text=name_page(page_nonce, full=True),
                content_type="text/html",
                headers=headers,
            )
        typed = fields.get("name", "")
        name, problem = clean_name(typed)
        if name is None:
            return web.Response(
                status=400,
                text=name_page(page_nonce, value=typed[:200], problem=problem or ""),
                content_type="text/html",
                headers=headers,
            )
        newcomer = self.room.trainee(ident) is None
        self.room.name(ident, name)
        log.info("trainee %s joined as %r", ident, name)
        lab = self.room.lab_of(ident)
        home = self.trainees.home_of(ident)
        if newcomer and lab is not None:
            # The class's lab, set up before their wizard first starts (a few seconds).
            await self._start_lab(ident, home, lab, name)
        elif not newcomer:
            await asyncio.to_thread(self.labs.name_trainee, home, name)
        response = web.HTTPSeeOther("/")
        if token != cookie:
            response.headers["Set-Cookie"] = cookie_header(token)
        raise response

    def refuse_unnamed(self, cookie: str | None) -> str | None:
        """Why a wizard is not started for this cookie (no name yet), or None."""
        if self.named(cookie):
            return None
        return "Enter your name first: reload the page, and the class's form asks for it."

    # ------------------------------------------------------------------ the trainer

    def _trainer(self, request: web.Request) -> None:
        """Let the trainer in, or answer 403 with the page that says how to get in."""
        self._refuse_foreign(request)
        if not token_matches(request.cookies.get(TRAINER_COOKIE), self.room.token):
            page_nonce = nonce()
            raise web.HTTPForbidden(
                text=refused_page(page_nonce),
                content_type="text/html",
                headers=security_headers(page_nonce),
            )

    def _refuse_foreign(self, request: web.Request) -> None:
        """The server's rules: a foreign host name, or a page of another site, is refused."""
        refusal = self.refusal(request)
        origin = request.headers.get("Origin")
        if refusal is None and request.method == "POST" and origin_refusal(origin, request.host):
            refusal = f"A page from {origin} may not act on this class."
        if refusal:
            raise web.HTTPForbidden(text=refusal)

    async def to_dashboard(self, request: web.Request) -> web.StreamResponse:
        """``/class`` -> ``/class/`` (the token, if any, along)."""
        query = f"?{request.query_string}" if request.query_string else ""
        raise web.HTTPMovedPermanently(f"{DASHBOARD_PATH}{query}")

    async def dashboard(self, request: web.Request) -> web.StreamResponse:
        """The dashboard; with ``?token=`` the cookie is set and the token leaves the URL."""
        self._refuse_foreign(request)
        given = request.query.get("token")
        if given is not None:
            if not token_matches(given, self.room.token):
                page_nonce = nonce()
                raise web.HTTPForbidden(
                    text=refused_page(page_nonce),
                    content_type="text/html",
                    headers=security_headers(page_nonce),
                )
            found = web.HTTPSeeOther(DASHBOARD_PATH)
            found.headers["Set-Cookie"] = trainer_cookie_header(self.room.token)
            found.headers["Referrer-Policy"] = "no-referrer"
            found.headers["Cache-Control"] = "no-store"
            raise found
        self._trainer(request)
        rows = await self._rows()
        page_nonce = nonce()
        page = dashboard_page(
            page_nonce,
            class_name=self.class_name,
            rows=rows,
            labs=self.labs.choices(),
            class_lab=self.room.state.lab,
            broadcasts=[_broadcast_json(b) for b in self.room.state.broadcasts],
        )
        return web.Response(
            text=page, content_type="text/html", headers=security_headers(page_nonce)
        )

    async def state(self, request: web.Request) -> web.Response:
        """What the dashboard shows, as JSON (polled); due controls checks start meanwhile."""
        self._trainer(request)
        rows = await self._rows()
        homes = {row["id"]: self.trainees.home_of(row["id"]) for row in rows}
        self.controls.refresh(homes)
        return web.json_response(
            {
                "class": self.class_name,
                "lab": self.room.state.lab,
                "trainees": rows,
                "broadcasts": [_broadcast_json(b) for b in self.room.state.broadcasts],
            },
            headers={"Cache-Control": "no-store"},
        )

    async def export_csv(self, request: web.Request) -> web.Response:
        """The results as a CSV download."""
        self._trainer(request)
        rows = await self._rows()
        return web.Response(
            text=export_csv(rows),
            content_type="text/csv",
            headers=_attachment(f"{self.class_name}-results.csv"),
        )

    async def export_json(self, request: web.Request) -> web.Response:
        """The results as a JSON download."""
        self._trainer(request)
        rows = await self._rows()
        return web.Response(
            text=export_json(rows),
            content_type="application/json",
            headers=_attachment(f"{self.class_name}-results.json"),
        )

    async def reset(self, request: web.Request) -> web.Response:
        """Start one trainee's sandbox over (and their lab, if one is set); their wizard
        restarts on it."""
        self._trainer(request)
        body = await _read_json(request)
        ident = body.get("trainee")
        trainee = self.room.trainee(ident) if isinstance(ident, str) else None
        if trainee is None:
            return _refused("No such trainee: reload the dashboard and try again.", 404)
        home = self.trainees.home_of(trainee.id)
        ended = await self.end_sessions(trainee.id)
        lab = self.room.lab_of(trainee.id)
        try:
            if lab is not None:
                what = await self._start_lab(trainee.id, home, lab, trainee.name)
            else:
                what = await asyncio.wait_for(asyncio.to_thread(reset_home, home), ACTION_SECONDS)
                await asyncio.to_thread(self.labs.name_trainee, home, trainee.name)
        except TimeoutError:
            return _refused(f"The reset of {trainee.name}'s sandbox took too long; try again.", 504)
        except Exception as exc:  # said on the dashboard; the server goes on
            log.exception("could not reset the sandbox of trainee %s", trainee.id)
            return _refused(f"Could not reset {trainee.name}'s sandbox: {exc}", 500)
        self.room.note_controls(trainee.id, None)
        await asyncio.to_thread(
            _notice, home, "The trainer reset your sandbox: you start again from a fresh one."
        )
        log.info("trainee %s: sandbox reset (%s)", trainee.id, what)
        wizards = f"; {ended} wizard(s) restarted" if ended else ""
        return web.json_response({"message": f"{trainee.name}: {what}{wizards}."})

    async def set_lab(self, request: web.Request) -> web.Response:
        """Set the lab of one trainee, or of everyone (``trainee`` null); each one's sandbox
        is set up for it and their wizard restarts on it."""
        self._trainer(request)
        body = await _read_json(request)
        lab, ident = body.get("lab"), body.get("trainee")
        if lab is not None and (not isinstance(lab, str) or not self.labs.known(lab)):
            return _refused("No such lab: reload the dashboard and choose one of its list.", 404)
        if ident is not None and (not isinstance(ident, str) or self.room.trainee(ident) is None):
            return _refused("No such trainee: reload the dashboard and try again.", 404)
        ids = self.room.set_lab(ident, lab)
        title = self.labs.title(lab) if lab else "no lab"

        async def one(i: str) -> None:
            trainee = self.room.trainee(i)
            if trainee is None:
                return
            home = self.trainees.home_of(i)
            await self.end_sessions(i)
            try:
                if lab is None:
                    await asyncio.to_thread(self.labs.stop, home, trainee.name)
                else:
                    await self._start_lab(i, home, lab, trainee.name)
            except Exception:  # one trainee's trouble never stops the others'
                log.exception("could not start lab %s for trainee %s", lab, i)
                return
            self.room.note_controls(i, None)
            log.info("trainee %s: lab set to %s", i, lab or "none")
            await asyncio.to_thread(_notice, home, f"The trainer set your lab: {title}.")

        if ident is not None:
            await one(ident)
            return web.json_response(
                {"message": f"{self.room.state.trainees[ident].name}: {title}."}
            )
        # Everyone: in the background, a few at a time; the table shows each as it is ready.
        task = asyncio.get_running_loop().create_task(_each(one, ids))
        self._background.add(task)  # kept until done (the loop only holds it weakly)
        task.add_done_callback(self._background.discard)
        who = f"{len(ids)} trainee(s)"
        return web.json_response({"message": f"Setting {title} for {who} (and newcomers)."})

    async def broadcast(self, request: web.Request) -> web.Response:
        """Send a message to every trainee's wizard."""
        self._trainer(request)
        body = await _read_json(request)
        text, problem = check_message(str(body.get("text", "")))
        if text is None:
            return _refused(problem or "Write the message to send.", 400)
        message = self.room.broadcast(text)
        homes = [self.trainees.home_of(i) for i in self.room.state.trainees]
        await asyncio.to_thread(_write_all, homes, message)
        log.info("broadcast to %d trainee(s): %r", len(homes), text)
        return web.json_response({"message": f"Sent to {len(homes)} trainee(s)."})

    # ------------------------------------------------------------------ helpers

    async def _rows(self) -> list[dict[str, Any]]:
        homes = {i: self.trainees.home_of(i) for i in self.room.state.trainees}
        online = self.trainees.online()

        def read() -> list[dict[str, Any]]:
            views = {i: self.labs.view(home) for i, home in homes.items()}
            return trainee_rows(self.room, homes, online=online, labs=views)

        try:
            return await asyncio.wait_for(asyncio.to_thread(read), ROWS_SECONDS)
        except TimeoutError:
            raise web.HTTPServiceUnavailable(
                text="Reading the trainees' progress took too long; the page tries again."
            ) from None

    async def _start_lab(self, ident: str, home: Path, lab: str, name: str) -> str:
        """Set ``home``'s sandbox up for ``lab`` (a few at a time); what was done."""
        async with self._starting:
            done = await asyncio.wait_for(
                asyncio.to_thread(self.labs.start, home, lab, name), ACTION_SECONDS
            )
            # An absent trainee's sandbox is not left running (it saved the lab's state).
            await asyncio.to_thread(stop_if_idle, self.trainees, ident)
            return done

    def stop(self) -> None:
        """The server stops: no more controls checks, no more labs being started."""
        self.controls.stop()
        for task in self._background:
            task.cancel()


async def _no_sessions(_ident: str) -> int:
    return 0


async def _each(one: Callable[[str], Awaitable[None]], ids: list[str]) -> None:
    await asyncio.gather(*(one(i) for i in ids))


def _notice(home: Path, text: str) -> None:
    """A message for one trainee only (their wizard shows it like a broadcast)."""
    write_broadcast(home, Broadcast(id=secrets.token_hex(8), text=text, time=now_text()))


def _write_all(homes: list[Path], message: Broadcast) -> None:
    for home in homes:
        try:
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_broadcast(home, message)
        except OSError as exc:  # one unwritable home never keeps the message from the others
            log.warning("could not leave the message in %s: %s", home, exc)


def _broadcast_json(message: Broadcast) -> dict[str, str]:
    return {"id": message.id, "text": message.text, "time": message.time}


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


def _refused(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _body(request: web.Request) -> bytes:
    """The request's body, refused (413) beyond :data:`BODY_LIMIT`."""
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        raise web.HTTPRequestEntityTooLarge(max_size=BODY_LIMIT, actual_size=request.content_length)
    body = await request.content.read(BODY_LIMIT + 1)
    if len(body) > BODY_LIMIT:
        raise web.HTTPRequestEntityTooLarge(max_size=BODY_LIMIT, actual_size=len(body))
    return body


async def _read_json(request: web.Request) -> dict[str, Any]:
    """A JSON object body (only a script of the dashboard's own page can send one here: a
    form of another site cannot set this content type)."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="Send JSON (Content-Type: application/json).")
    try:
        found = json.loads(await _body(request))
    except ValueError:
        raise web.HTTPBadRequest(text="The body is not JSON.") from None
    if not isinstance(found, dict):
        raise web.HTTPBadRequest(text="The body is not a JSON object.")
    return found


async def _read_form(request: web.Request) -> dict[str, str]:
    """A URL-encoded form body, bounded."""
    raw = await _body(request)
    try:
        parsed = parse_qs(raw.decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise web.HTTPBadRequest(text="The form could not be read.") from None
    return {key: values[0] for key, values in parsed.items() if values}
