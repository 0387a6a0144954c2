"""The preflight findings of a plan, errors first, each with its code and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from wizard.model.plan import Finding

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
"""Errors first, then warnings, then information."""

SEVERITY_BADGE = {"error": " ERROR ", "warning": " WARNING ", "info": " INFO "}
"""The label shown in front of each finding."""

NOUN = {"error": "error", "warning": "warning", "info": "note"}
"""How the border title counts each severity."""


def sorted_findings(findings: Sequence[Finding]) -> list[Finding]:
    """The findings, errors first; the plan's order is kept within a severity.

    Args:
        findings: A plan's findings.

    Returns:
        A new list.
    """
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))


def finding_text(finding: Finding) -> Text:
    """One finding as rich text: badge, code, the resource at fault, then the message.

    Args:
        finding: The finding.

    Returns:
        Text that wraps at any width.
    """
    text = Text()
    text.append(SEVERITY_BADGE[finding.severity], style=f"bold reverse {_colour(finding)}")
    text.append(f" {finding.code}", style=f"bold {_colour(finding)}")
    if finding.subject and finding.subject not in finding.message:
        text.append(f"  {finding.subject}")
    if finding.controls:
        text.append(f"  ({', '.join(finding.controls)})", style="dim")
    text.append("\n")
    text.append(finding.message)
    return text


def _colour(finding: Finding) -> str:
    return {"error": "red", "warning": "yellow", "info": "blue"}[finding.severity]


class FindingsList(VerticalScroll):
    """What preflight found: one block per finding, errors first.

    Errors block apply; the summary line at the top says how many there are.
    """

    DEFAULT_CSS = """
    FindingsList {
        height: auto;
        max-height: 35%;
        border: round $panel;
        border-title-color: $text;
        padding: 0 1;
    }
    FindingsList.-has-errors {
        border: round $error;
        max-height: 50%;
    }
    FindingsList > .finding {
        margin-bottom: 1;
    }
    FindingsList > .finding:last-of-type {
        margin-bottom: 0;
    }
    FindingsList > #no-findings {
        color: $success;
    }
    """

    def __init__(self, findings: Sequence[Finding], *, id: str | None = None) -> None:  # noqa: A002
        """Create the list.

        Args:
            findings: The plan's findings, in any order.
            id: Widget id.
        """
        super().__init__(id=id)
        self.findings = sorted_findings(findings)
        """The findings, errors first."""

    @property
    def errors(self) -> list[Finding]:
        """The findings that block apply."""
        return [f for f in self.findings if f.severity == "error"]

    def compose(self) -> ComposeResult:
        if not self.findings:
            yield Static("✓ Preflight found no problems.", id="no-findings")
            return
        for finding in self.findings:
            yield Static(
                finding_text(finding), classes=f"finding -{finding.severity}", markup=False
            )

    def on_mount(self) -> None:
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITY_ORDER}
        parts = [f"{n} {NOUN[s]}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
        self.border_title = "Preflight findings" + (f": {', '.join(parts)}" if parts else "")
        self.set_class(bool(counts["error"]), "-has-errors")
