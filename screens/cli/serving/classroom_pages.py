"""The pages of ``serve --class``: the trainee's name form, the trainer's dashboard, and the
page a wrong dashboard address gets.

Plain HTML with inline style and script (no external assets: a class may have no internet),
allowed by a Content-Security-Policy with a fresh nonce per page (:func:`security_headers`).
Every value that comes from a trainee or the trainer (a name, a message) is escaped where
it is written into a page, and the dashboard's script only ever sets ``textContent``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from screens.cli.serving.classroom import NAME_LIMIT
from screens.common.classroom import MESSAGE_LIMIT

POLL_MILLISECONDS = 3000
"""How often the dashboard asks for the class's state."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; padding: 0 1em;
       line-height: 1.45; max-width: 72em; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 .4em; }
h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
table { border-collapse: collapse; width: 100%; font-size: .95em; }
th, td { text-align: left; padding: .35em .5em; border-bottom: 1px solid #ddd;
         vertical-align: top; }
th { background: #f3f3f3; }
.muted { color: #666; }
.ok { color: #116611; font-weight: 600; }
.bad { color: #a11; font-weight: 600; }
.error { color: #a11; }
form.inline { display: inline; margin: 0; }
input[type=text], textarea, select { font: inherit; padding: .3em; }
textarea { width: 100%; max-width: 40em; }
button { font: inherit; padding: .25em .8em; cursor: pointer; }
.controls { display: flex; flex-wrap: wrap; gap: 2em; }
#status { min-height: 1.4em; }
"""


def nonce() -> str:
    """A fresh nonce for one page's inline style and script."""
    return secrets.token_urlsafe(16)


def security_headers(page_nonce: str) -> dict[str, str]:
    """What a browser may do with one of these pages: its own inline style and script (by
    nonce), requests to this server only, no framing, and no address sent to another site.

    ``same-origin``, not ``no-referrer``: under ``no-referrer`` a browser sends a form's or
    a script's POST with ``Origin: null``, which the server must refuse as a foreign page.
    """
    return {
        "Content-Security-Policy": (
            "default-src 'none'; "
            f"script-src 'nonce-{page_nonce}'; style-src 'nonce-{page_nonce}'; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


def _page(title: str, body: str, page_nonce: str, script: str = "") -> str:
    scripted = f'<script nonce="{page_nonce}">\n{script}</script>\n' if script else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style nonce="{page_nonce}">{_STYLE}</style>
</head>
<body>
{body}
{scripted}</body>
</html>
"""


# --------------------------------------------------------------------------- trainees


def name_page(page_nonce: str, *, value: str = "", problem: str = "", full: bool = False) -> str:
    """The form a trainee fills in before their wizard starts: their name."""
    if full:
        body = """<h1>This class is full</h1>
<p>The class has as many trainees as it takes, so no wizard was started for you. Ask the
trainer.</p>"""
        return _page("cloudtrail-wizard: class full", body, page_nonce)
    error = f'<p class="error" role="alert">{escape(problem)}</p>' if problem else ""
    body = f"""<h1>Join the class</h1>
<p>Your trainer sees your name beside your progress. Each browser has a wizard and a
sandbox AWS account of its own; nothing you do reaches a real AWS account.</p>
<form method="post" action="/name">
<p><label for="name">Your name</label><br>
<input type="text" id="name" name="name" maxlength="{NAME_LIMIT}" required autofocus
 autocomplete="name" value="{escape(value)}"></p>
{error}
<p><button type="submit">Start the wizard</button></p>
</form>"""
    return _page("cloudtrail-wizard: join the class", body, page_nonce)


# --------------------------------------------------------------------------- the trainer


def refused_page(page_nonce: str) -> str:
    """What a dashboard address without the right token gets (with a 403)."""
    body = """<h1>This is the trainer's dashboard</h1>
<p>It needs the trainer's token, and this address does not carry the right one (or the
browser's dashboard cookie is from another class).</p>
<p>The right address was printed by <code>cloudtrail-wizard serve --class</code> when it
started, on the line <q>Trainer's dashboard: http://…/class/?token=…</q>. Open that address;
it is printed again each time the server starts, and the token stays the same for the class
until its folder is deleted.</p>
<p>Trainees do not need it: their address is the one without <code>/class/</code>.</p>"""
    return _page("cloudtrail-wizard: trainer's dashboard", body, page_nonce)


def _options(labs: Sequence[tuple[str, str]], chosen: str | None, none_label: str) -> str:
    options = [f'<option value="">{escape(none_label)}</option>']
    for ident, title in labs:
        selected = " selected" if ident == chosen else ""
        options.append(f'<option value="{escape(ident)}"{selected}>{escape(title)}</option>')
    return "".join(options)


def dashboard_page(
    page_nonce: str,
    *,
    class_name: str,
    rows: Sequence[Mapping[str, Any]],
    labs: Sequence[tuple[str, str]],
    class_lab: str | None,
    broadcasts: Sequence[Mapping[str, Any]],
) -> str:
    """The trainer's dashboard: every trainee's progress, and the class's controls.

    The rows are drawn here and then redrawn by the page's script from ``state.json``
    every :data:`POLL_MILLISECONDS`.
    """
    table_rows = "\n".join(_row_html(row, labs) for row in rows) or _EMPTY_ROW
    sent = "".join(
        f"<li><span class='muted'>{escape(str(b.get('time', '')))}</span> "
        f"{escape(str(b.get('text', '')))}</li>"
        for b in reversed(broadcasts)
    )
    body = f"""<h1>Class <q>{escape(class_name)}</q></h1>
<p class="muted">Trainees open this server's address without <code>/class/</code>. This page
updates itself every {POLL_MILLISECONDS // 1000} seconds.</p>
<p id="status" role="status"></p>
<table>
<thead><tr><th>Trainee</th><th>Wizard</th><th>Lab</th><th>Step</th><th>Checks</th>
<th>Hints</th><th>Controls</th><th></th></tr></thead>
<tbody id="trainees">
{table_rows}
</tbody>
</table>
<div class="controls">
<section>
<h2>Lab for everyone</h2>
<form id="class-lab" class="inline">
<select name="lab" id="class-lab-choice">{_options(labs, class_lab, "No lab")}</select>
<button type="submit">Set for everyone</button>
</form>
<p class="muted">Starts the lab in every trainee's sandbox (reset to its starting state);
newcomers start on it too.</p>
</section>
<section>
<h2>Results</h2>
<p><a href="export.csv" download>Download CSV</a> · <a href="export.json" download>Download
JSON</a></p>
</section>
</div>
<h2>Message to every trainee</h2>
<form id="broadcast">
<textarea name="text" id="broadcast-text" rows="2" maxlength="{MESSAGE_LIMIT}"
 placeholder="Shown in every trainee's wizard"></textarea><br>
<button type="submit">Send to everyone</button>
</form>
<ul id="broadcasts">{sent}</ul>
<template id="lab-options">{_options(labs, None, "No lab")}</template>"""
    return _page(f"cloudtrail-wizard: class {class_name}", body, page_nonce, _SCRIPT)


_EMPTY_ROW = '<tr class="empty"><td colspan="8" class="muted">No trainee has joined yet.</td></tr>'


def _row_html(row: Mapping[str, Any], labs: Sequence[tuple[str, str]]) -> str:
    """One trainee's row as the server first draws it (the script then keeps it current)."""
    cells = describe_row(row)
    ident = escape(str(row["id"]))
    return (
        f'<tr data-id="{ident}">'
        f"<td>{escape(cells['name'])}</td>"
        f"<td>{escape(cells['online'])}</td>"
        f'<td><select class="lab" aria-label="Lab of {escape(cells["name"])}">'
        f"{_options(labs, row.get('lab'), 'No lab')}</select></td>"
        f"<td>{escape(cells['step'])}</td>"
        f"<td>{escape(cells['checks'])}</td>"
        f"<td>{escape(cells['hints'])}</td>"
        f"<td>{escape(cells['controls'])}</td>"
        '<td><button type="button" class="reset">Reset</button></td>'
        "</tr>"
    )


def describe_row(row: Mapping[str, Any]) -> dict[str, str]:
    """A row's cells as text (the script words them the same way)."""
    online = int(row.get("online") or 0)
    checks = f"{row['checks_passed']} of {row['checks_total']}" if row.get("checks_total") else "–"
    if row.get("lab_passed"):
        checks += " ✓ done"
    if row.get("controls_total") is not None:
        controls = f"{row['controls_passed']} of {row['controls_total']} pass"
        if row.get("controls_failing"):
            controls += f" (failing: {', '.join(row['controls_failing'])})"
    else:
        controls = "no trail applied yet" if not row.get("trail_arn") else "checking…"
    return {
        "name": str(row.get("name") or ""),
        "online": f"open ({online})" if online > 1 else ("open" if online else "closed"),
        "step": str(row.get("step_title") or "not started"),
        "checks": checks,
        "hints": str(row.get("hints_used") or 0),
        "controls": controls,
    }


# The dashboard's script: polls state.json and redraws the table with textContent only (a
# trainee's name is never parsed as HTML); sends the trainer's actions as JSON POSTs to this
# same path (the dashboard's cookie goes with them; another site's page cannot send it).
_SCRIPT = (
    Path(__file__)
    .with_name("classroom.js")
    .read_text(encoding="utf-8")
    .replace("__POLL__", str(POLL_MILLISECONDS))
)
"""The dashboard's script (its own file, as page.js is for the wizard's page)."""
