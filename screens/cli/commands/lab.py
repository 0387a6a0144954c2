"""``lab list | start NAME | check [--answer TEXT] | hint | reset``: labs in the sandbox.

A lab (:mod:`wizard.labs`) is an exercise: ``lab start`` resets the shared sandbox to the
demo account, seeds the lab's starting state (:mod:`wizard.sandbox.labs`) and prints the goal;
``lab hint`` reveals the next hint; ``lab check`` runs the lab's read-only checks and says
why each passes or fails (``--answer`` for labs that ask a question); ``lab reset`` starts
the current lab over. Progress is ``lab.json`` in the sandbox's home, so ``serve`` trainees
(each with their own home) each have their own. ``--labs DIR`` adds a trainer's labs.
Exit 0 done (``check``: every check passes), 1 a check fails, 2 invalid input.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from screens.common.connection import shared_sandbox
from screens.common.errors import EXIT_FAILED, EXIT_OK, UsageError
from wizard.aws.session import open_session
from wizard.aws.settings import SessionSettings
from wizard.labs import (
    CheckResult,
    Lab,
    LabFormatError,
    LabProgress,
    current_lab,
    fill,
    find_lab,
    load_labs,
    read_progress,
    run_checks,
    summary,
    write_progress,
)
from wizard.model.context import AccountContext
from wizard.ports import AwsError

if TYPE_CHECKING:
    from wizard.sandbox.shared import SharedSandbox

ACTIONS = {
    "list": "the labs, in course order (the current one marked)",
    "start": "start lab NAME: reset the sandbox to the lab's starting state, show the goal",
    "check": "run the current lab's checks (read-only) and say why each passes or fails",
    "hint": "reveal the current lab's next hint",
    "reset": "start the current lab over (the sandbox back to its starting state)",
}
"""The actions, and what ``--help`` says of each."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The action, its argument, a trainer's labs, the output format."""
    parser.description = (
        "Labs: exercises in the sandbox, with hints and automatic checks. `lab list` shows "
        "them; `lab start NAME` resets the shared sandbox to the lab's starting state and "
        "shows its goal; `lab hint` reveals a hint; `lab check` says which checks pass and "
        "why. Exit 0 done, 1 a check fails, 2 invalid input."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--labs",
        metavar="DIR",
        type=Path,
        help="also the labs in DIR (a trainer's *.yaml files; see the trainers' guide)",
    )
    common.add_argument("--output", choices=("text", "json"), default="text")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, what in ACTIONS.items():
        sub = actions.add_parser(
            name,
            help=what,
            description=what[0].upper() + what[1:] + ".",
            parents=[common],
        )
        if name == "start":
            sub.add_argument(
                "name", metavar="NAME", help="the lab: its id, its number, or its name (prefix)"
            )
        if name == "check":
            sub.add_argument(
                "--answer",
                metavar="TEXT",
                help="your answer, for a lab that asks a question (a file name, an event id)",
            )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run one action."""

    try:
        labs = load_labs(args.labs)
    except LabFormatError as exc:
        raise UsageError(
            f"{exc.render()}\nFix the lab file(s) named above; see “Writing a lab” in the "
            "trainers' guide."
        ) from None
    action: str = args.action
    handler = {
        "list": _list,
        "start": _start,
        "check": _check,
        "hint": _hint,
        "reset": _reset,
    }[action]
    return handler(args, labs, out)


# ----------------------------------------------------------------------------- helpers


def _home() -> Path:
    # Deferred: the sandbox's client side loads only when a lab needs it.
    from wizard.sandbox.shared import sandbox_home

    return sandbox_home()


def _sandbox() -> SharedSandbox:
    """The trainee's shared sandbox, started (its saved state restored) if it is not running."""
    return shared_sandbox()


def _fill(lab: Lab, text: str) -> str:
    # Deferred: the sandbox's modules load only when a lab needs them (names, seeding).
    from wizard.sandbox.server import DEMO_ACCOUNT, DEMO_REGION

    return str(fill(text, DEMO_ACCOUNT, DEMO_REGION))


def _emit(args: argparse.Namespace, out: TextIO, document: dict[str, Any], text: str) -> None:
    if args.output == "json":
        out.write(json.dumps(document, indent=2, default=str) + "\n")
    else:
        out.write(text.rstrip("\n") + "\n")


def _current(labs: list[Lab]) -> tuple[Lab, LabProgress]:
    """The lab started in this sandbox home, or a message that says how to start one."""

    home = _home()
    progress = read_progress(home)
    lab = current_lab(home, labs)
    if lab is None:
        if progress.lab:
            raise UsageError(
                f"The lab started here, {progress.lab}, is not among the labs (a trainer's lab "
                "from another --labs folder?). Pass the same --labs DIR, or start a lab: "
                "`cloudtrail-wizard lab list`."
            )
        raise UsageError(
            "No lab is started in this sandbox. `cloudtrail-wizard lab list` shows the labs; "
            "`cloudtrail-wizard lab start NAME` starts one."
        )
    return lab, progress


def _seed(lab: Lab) -> tuple[str | None, list[str]]:
    """Reset the sandbox to the demo account and seed the lab; who the trainee acts as."""
    # Deferred: the sandbox's modules load only when a lab needs them (names, seeding).
    from wizard.sandbox.labs import LabSeedError, start_lab
    from wizard.sandbox.shared import SandboxUnavailable

    try:
        seeded = start_lab(_sandbox(), lab)
    except LabSeedError as exc:
        raise UsageError(f"The lab could not be set up: {exc}") from None
    except SandboxUnavailable as exc:
        raise UsageError(str(exc)) from None
    return seeded.identity, seeded.steps


def _goal_text(lab: Lab, identity: str | None) -> str:
    lines = [f"Lab {lab.id}: {_fill(lab, lab.title)}", "", _fill(lab, lab.goal).rstrip(), ""]
    if identity:
        lines.append(
            f"Your --sandbox commands now act as the sandbox user {identity} "
            "(`cloudtrail-wizard sandbox identity` says who you are)."
        )
    lines.append(
        f"{len(lab.hints)} hint(s): `cloudtrail-wizard lab hint`. When you think you are done: "
        "`cloudtrail-wizard lab check`" + (" --answer TEXT." if lab.takes_answer else ".")
    )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- actions


def _list(args: argparse.Namespace, labs: list[Lab], out: TextIO) -> int:

    progress = read_progress(_home())
    rows = []
    for lab in labs:
        mark = "*" if lab.id == progress.lab else " "
        done = " (done)" if lab.id == progress.lab and progress.passed else ""
        rows.append(f"{mark} {lab.id:<24} {_fill(lab, lab.title)}{done}")
    text = "\n".join(
        [
            *rows,
            "",
            "`cloudtrail-wizard lab start NAME` starts one (NAME: the id, its number or its "
            "name); * marks the lab started in this sandbox.",
        ]
    )
    document = {
        "current": progress.lab,
        "labs": [
            {
                "id": lab.id,
                "order": lab.order,
                "title": _fill(lab, lab.title),
                "summary": _fill(lab, lab.summary),
                "hints": len(lab.hints),
                "checks": len(lab.checks),
                "takes_answer": lab.takes_answer,
                "source": lab.source,
            }
            for lab in labs
        ],
    }
    _emit(args, out, document, text)
    return EXIT_OK


def _begin(args: argparse.Namespace, lab: Lab, out: TextIO, *, hints_shown: int = 0) -> int:

    home = _home()
    trainee = read_progress(home).trainee
    identity, steps = _seed(lab)
    write_progress(
        home,
        LabProgress(
            lab=lab.id,
            started=datetime.now(UTC),
            hints_shown=hints_shown,
            trainee=trainee,
        ),
    )
    document = {
        "lab": lab.id,
        "title": _fill(lab, lab.title),
        "goal": _fill(lab, lab.goal),
        "identity": identity,
        "setup": steps,
        "hints": len(lab.hints),
        "takes_answer": lab.takes_answer,
    }
    _emit(args, out, document, _goal_text(lab, identity))
    return EXIT_OK


def _start(args: argparse.Namespace, labs: list[Lab], out: TextIO) -> int:

    lab = find_lab(labs, args.name)
    if lab is None:
        known = ", ".join(lab.id for lab in labs)
        raise UsageError(
            f"There is no lab {args.name!r}. The labs are: {known}. "
            "(`cloudtrail-wizard lab list` describes them.)"
        )
    return _begin(args, lab, out)


def _reset(args: argparse.Namespace, labs: list[Lab], out: TextIO) -> int:
    lab, progress = _current(labs)
    return _begin(args, lab, out, hints_shown=progress.hints_shown)


def _hint(args: argparse.Namespace, labs: list[Lab], out: TextIO) -> int:

    lab, progress = _current(labs)
    total = len(lab.hints)
    if total == 0:
        _emit(
            args,
            out,
            {"lab": lab.id, "hint": None, "number": 0, "total": 0},
            f"Lab {lab.id} has no hints.",
        )
        return EXIT_OK
    number = min(progress.hints_shown + 1, total)
    if number > progress.hints_shown:
        write_progress(_home(), progress.model_copy(update={"hints_shown": number}))
    shown = [_fill(lab, h) for h in lab.hints[:number]]
    more = "" if number < total else " (the last one)"
    text = "\n".join(
        [f"Hint {i} of {total}{more if i == number else ''}: {h}" for i, h in enumerate(shown, 1)]
    )
    _emit(
        args,
        out,
        {"lab": lab.id, "hint": shown[-1], "number": number, "total": total, "shown": shown},
        text,
    )
    return EXIT_OK


def _check(args: argparse.Namespace, labs: list[Lab], out: TextIO) -> int:
    # Deferred: the sandbox's modules load only when a lab needs them (names, seeding).
    from wizard.sandbox.server import DEMO_ACCOUNT, DEMO_REGION

    lab, progress = _current(labs)
    if args.answer is not None and not lab.takes_answer:
        raise UsageError(
            f"Lab {lab.id} asks no question: run `cloudtrail-wizard lab check` without --answer."
        )
    sandbox = _sandbox()
    # The checks judge as the account's administrator, whoever the trainee acts as, and
    # read only: the session refuses any call that would change something.
    session = open_session(
        SessionSettings(sandbox_endpoint=sandbox.endpoint_url, region=DEMO_REGION, read_only=True),
        verify=False,
    )
    ctx = AccountContext(account_id=DEMO_ACCOUNT, region=DEMO_REGION)
    try:
        results = run_checks(lab, session.caller, ctx, answer=args.answer, started=progress.started)
    except AwsError as err:
        raise UsageError(
            f"The checks could not read the sandbox ({err.code}: {err.message}). "
            "`cloudtrail-wizard sandbox status` says whether it runs."
        ) from None
    passed = all(r.passed for r in results)
    now = datetime.now(UTC)
    write_progress(
        _home(),
        progress.model_copy(
            update={
                "attempts": progress.attempts + 1,
                "checks": results,
                "passed": progress.passed or passed,
                "finished": progress.finished or (now if passed else None),
            }
        ),
    )
    document = {
        "lab": lab.id,
        "passed": passed,
        "attempts": progress.attempts + 1,
        "checks": [r.model_dump(mode="json") for r in results],
        "explanation": _fill(lab, lab.explanation) if passed else None,
    }
    _emit(args, out, document, _check_text(lab, results, passed, summary(results)))
    return EXIT_OK if passed else EXIT_FAILED


def _check_text(lab: Lab, results: list[CheckResult], passed: bool, counted: str) -> str:
    lines = [f"Lab {lab.id}: {counted}.", ""]
    for r in results:
        lines.append(f"[{'PASS' if r.passed else 'FAIL'}] {r.title}")
        lines.append(f"       {r.reason}")
    lines.append("")
    if passed:
        lines += ["Done. What this lab shows:", "", _fill(lab, lab.explanation).rstrip()]
    else:
        lines.append(
            "Not yet. `cloudtrail-wizard lab hint` reveals a hint; `cloudtrail-wizard lab "
            "reset` starts the lab over."
        )
    return "\n".join(lines)
