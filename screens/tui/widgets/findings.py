"""The preflight findings of a plan, errors first, each with its code and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from screens.tui.widgets.wrap import Breakable
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


def finding_headline(finding: Finding) -> Text:
    """A finding's first line: badge, code, the resource at fault and the controls it affects.

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
    return text


def _colour(finding: Finding) -> str:
    return {"error": "red", "warning": "yellow", "info": "blue"}[finding.severity]


class FindingsList(VerticalScroll):
    """What preflight found: one block per finding, errors first.

    Errors block apply; the summary line at the top says how many there are. The box takes
    a bounded share of the screen (the plan and its policies below need the room) and
    scrolls; with the focus on it, it grows. On a short terminal it shows each finding's
    headline only, and the messages once focused (the subtitle says so; app.tcss has the
    rules by terminal size).
    """

    DEFAULT_CSS = """
    FindingsList {
        height: auto;
        max-height: 25%;
        border: round $panel;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        padding: 0 1;
    }
    FindingsList.-has-errors {
        border: round $error;
        max-height: 40%;
    }
    FindingsList:focus {
        max-height: 70%;
        border: round $accent;
    }
    FindingsList > .finding {
        height: auto;
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
            with Vertical(classes=f"finding -{finding.severity}"):
                yield Static(finding_headline(finding), classes="finding-headline", markup=False)
                # A long resource name or ARN breaks after a separator, not mid-word.
                yield Static(Breakable(finding.message), classes="finding-message")

    def on_mount(self) -> None:
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITY_ORDER}
        parts = [f"{n} {NOUN[s]}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
        self.border_title = "Preflight findings" + (f": {', '.join(parts)}" if parts else "")
        self.set_class(bool(counts["error"]), "-has-errors")

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.update_subtitle)

    def on_focus(self, event: events.Focus) -> None:
        self.call_after_refresh(self.update_subtitle)

    def on_blur(self, event: events.Blur) -> None:
        self.call_after_refresh(self.update_subtitle)

    @property
    def folded(self) -> bool:
        """Only the headlines show (a short terminal, the focus elsewhere)."""
        return self.screen.has_class("-short") and not self.has_focus and bool(self.findings)

    def update_subtitle(self) -> None:
        """Say how to read what does not show: the messages, or the findings below the box."""
        if self.has_focus:
            self.border_subtitle = "↑ ↓ scroll · Tab leaves" if self.max_scroll_y else ""
        elif self.folded:
            self.border_subtitle = "Tab here to read them"
        else:
            self.border_subtitle = "more below: Tab here to scroll" if self.max_scroll_y else ""
