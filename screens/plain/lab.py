"""A lab in the plain prompts: its goal when the wizard starts, its checks when it ends.

In sandbox mode, when a lab is current in the sandbox home (``cloudtrail-wizard lab start``,
or a class's dashboard), the plain wizard prints the lab's goal after the account, and runs
the lab's checks (as the sandbox's administrator, read-only) once the wizard is done,
recording them in the lab's progress as the full-screen wizard's Done step does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screens.common.classroom import admin_caller, lab_folder, record_checks, wizard_home

if TYPE_CHECKING:
    from screens.common.backend import AccountInfo, Backend
    from wizard.labs import CheckResult, Lab


def current(backend: Backend) -> Lab | None:
    """The lab current in the sandbox home, if any (never outside the sandbox)."""
    if not backend.sandbox:
        return None
    # Deferred: the labs' models load only in sandbox mode.
    from wizard.labs import LabFormatError, current_lab, load_labs, read_progress

    home = wizard_home()
    if read_progress(home).lab is None:
        return None
    try:
        return current_lab(home, load_labs(lab_folder()))
    except LabFormatError:
        return None  # `lab list` says what is wrong with the labs; the wizard goes on


def goal(lab: Lab) -> tuple[str, str]:
    """The heading and the paragraph that present ``lab``."""
    return (
        f"Lab {lab.id}: {lab.title}",
        f"{lab.goal.strip()}\n\nHints, one at a time: `cloudtrail-wizard lab hint`. The lab's "
        "checks run when the wizard ends.",
    )


def check(lab: Lab, backend: Backend, info: AccountInfo) -> list[CheckResult]:
    """Run ``lab``'s checks on the sandbox and record them in its progress (blocking)."""
    # Deferred: the checks load the labs' readers only when a lab is current.
    from wizard.labs import CheckResult, read_progress, run_checks

    ctx = backend.engine.ctx
    try:
        caller = admin_caller(info.endpoint, ctx.region) if info.endpoint else backend.engine.caller
        started = read_progress(wizard_home()).started
        results = run_checks(lab, caller, ctx, started=started)
    except Exception as exc:  # the wizard's own job is done: say why, never a traceback
        reason = f"They could not run: {exc}"
        return [CheckResult(id="checks", title="The lab's checks", passed=False, reason=reason)]
    record_checks(wizard_home(), lab, results)
    return results


def report(lab: Lab, results: list[CheckResult]) -> list[str]:
    """The lines that say how the checks went, each with its reason."""
    passed = sum(1 for r in results if r.passed)
    lines = [f"Lab {lab.id}: {passed} of {len(results)} checks pass"]
    lines += [f"{'✓' if r.passed else '✗'} {r.title}: {r.reason}" for r in results]
    if results and passed == len(results):
        lines += ["", f"Done. {lab.explanation.strip()}"]
    else:
        lines += ["", "Fix what failed, then check again with `cloudtrail-wizard lab check`."]
    return lines
