"""Step 8, Review: findings, controls, every policy and diff, the plan; dry-run or apply.

The plan is built in a thread worker (discovery reads the account) and comes back as a
:class:`~screens.tui.messages.PlanReady` message; nothing here decides anything about AWS or
policies, it only shows the :class:`~wizard.model.plan.Plan` the engine made.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pydantic import ValidationError
from rich import box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    Label,
    LoadingIndicator,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)
from textual.worker import Worker, WorkerState, get_current_worker

from screens.common.console import POLICY_TITLES
from screens.tui import keys, saves
from screens.tui.base import StepScreen
from screens.tui.confirm import ConfirmScreen
from screens.tui.messages import DryRunFinished, PlanFailed, PlanReady
from screens.tui.state import WizardState
from screens.tui.widgets import sizes
from screens.tui.widgets.findings import FindingsList
from screens.tui.widgets.heap import settle_heap
from screens.tui.widgets.policy_view import (
    KeptRender,
    PolicyDiff,
    PolicyJson,
    SourceView,
    diff_headline,
    policy_text,
    summarize_diff,
)
from screens.tui.widgets.wrap import Breakable
from wizard.export.text import (
    COST_OVERRIDES,
    controls_summary,
    controls_to_text,
    cost_heading,
    cost_to_text,
    nothing_to_change,
    plan_to_cli,
    plan_to_text,
    setting_line,
)
from wizard.model.cost import CostEstimate
from wizard.model.plan import Plan, Step
from wizard.policy.controls import PlannedControl, plan_controls
from wizard.ports import AwsError

if TYPE_CHECKING:
    from textual.types import AnimationLevel

    from wizard.account.discovery import Discovery
    from wizard.model.answers import Answers
    from wizard.run.apply import DryRunReport

POLICY_TABS: tuple[tuple[str, str | None, str, str], ...] = (
    ("bucket_policy", "bucket", "bucket-policy", "Bucket policy"),
    ("key_policy", "key", "key-policy", "Key policy"),
    ("sns_topic_policy", "topic", "topic-policy", "SNS policy"),
    ("cloudwatch_logs_role_trust_policy", "role-trust", "role-trust", "Logs role trust"),
    ("cloudwatch_logs_role_policy", "role-permissions", "role-policy", "Logs role policy"),
    ("access_log_bucket_policy", "access-log-bucket", "access-log-policy", "Access log bucket"),
    ("operator_policy", None, "operator-policy", "Your IAM policy"),
)
"""(plan.policies key, PolicyChange kind, tab id, tab label), in display order."""


NEW_RESOURCE = {
    "bucket": "bucket",
    "key": "KMS key",
    "topic": "SNS topic",
    "role-trust": "delivery role",
    "role-permissions": "delivery role",
    "access-log-bucket": "access log bucket",
}
"""What a policy of each kind is attached to, for people."""


@dataclass(frozen=True)
class Export:
    """What one tab copies and saves."""

    label: str
    """The tab's label, for messages."""
    text: str
    """The content."""
    extension: str
    """File extension when saved (json, diff, txt, sh)."""


def explain(exc: BaseException) -> str:
    """A failure of a worker, in words (AWS errors explained like the command line does).

    Args:
        exc: What the worker raised.

    Returns:
        One or two sentences.
    """
    if isinstance(exc, AwsError):
        # Deferred for start-up time: boto3/botocore load only when AWS is called.
        from wizard.aws.session import explain_aws_error

        return explain_aws_error(exc)
    return str(exc) or type(exc).__name__


def policy_step(plan: Plan, kind: str | None) -> Step | None:
    """The step that writes the policy of ``kind``, if the plan writes it."""
    if kind is None:
        return None
    for step in plan.steps:
        if step.policy is not None and step.policy.kind == kind:
            return step
    return None


def policy_note(plan: Plan, kind: str | None) -> str:
    """One sentence on what happens to a policy: new, merged, or left alone."""
    if kind is None:
        return (
            "Attach this to whoever runs the setup: it allows exactly the calls in the Plan tab "
            "(prefer it to AWSCloudTrail_FullAccess). The wizard does not create it."
        )
    step = policy_step(plan, kind)
    if step is None or step.policy is None:
        return "The existing policy already allows CloudTrail; the wizard leaves it unchanged."
    if step.policy.before is None:
        noun = NEW_RESOURCE.get(step.policy.kind, "resource")
        return f"The complete policy of the new {noun}, written when it is created."
    if step.policy.diff:
        headline = diff_headline(summarize_diff(step.policy.diff), len(step.policy.added_sids))
        return (
            f"Merged into the existing policy of {step.policy.resource}: {headline}. "
            "The changes tab shows the diff."
        )
    return f"The existing policy of {step.policy.resource} is kept as it is."


def plan_table(plan: Plan, *, compact: bool = False) -> Table:
    """The steps as a table: what, with which API call where, and how it is undone.

    Args:
        plan: The plan.
        compact: For a narrow view: the API call follows the change on its line instead of
            taking a line of its own, so more steps fit on the screen.
    """
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False)
    table.add_column("#", justify="right", width=2, no_wrap=True)
    table.add_column("Change (API call, region)", ratio=3, overflow="fold")
    table.add_column("Undo on failure", ratio=2, overflow="fold")
    if plan.unchanged:
        table.add_row("", Breakable(Text(nothing_to_change(plan))), Text("—", style="dim"))
    for number, step in enumerate(plan.steps, 1):
        change = Text(step.summary)
        change.append(" " if compact else "\n")
        change.append(f"{step.call.service}:{step.call.operation}", style="bold")
        change.append(f" · {step.call.region}", style="dim")
        for setting in step.settings:  # an update: current → wanted, setting by setting
            change.append("\n" + setting_line(setting), style="italic")
        undo = Text(step.undo_summary or "—", style="" if step.undo else "dim")
        # Names and ARNs longer than the column break after a separator, not mid-word.
        table.add_row(str(number), Breakable(change), Breakable(undo))
    return table


COMPACT_PLAN_BELOW = 100
"""Below this many cells the plan table puts each API call on its change's line."""


class PlanTable(KeptRender):
    """The plan's table, laid out for the width it is drawn at (see :func:`plan_table`),
    and drawn once per width."""

    def __init__(self, plan: Plan) -> None:
        """Show ``plan``.

        Args:
            plan: The plan.
        """
        self.plan = plan
        """The plan shown."""
        super().__init__(self.table)

    def table(self, width: int) -> Table:
        """The table for ``width`` cells."""
        return plan_table(self.plan, compact=width < COMPACT_PLAN_BELOW)


SHORT_TAB_LABELS = {
    "Bucket policy": "Bucket",
    "Key policy": "Key",
    "SNS policy": "SNS",
    "Logs role trust": "Role trust",
    "Logs role policy": "Role policy",
    "Access log bucket": "Access logs",
    "Your IAM policy": "IAM",
    "AWS CLI": "CLI",
}
"""The tab labels used when the full ones do not fit on the tab bar."""


def short_tab_label(label: str) -> str:
    """A tab's short label: ``Bucket`` for "Bucket policy", ``Bucket diff`` for its changes."""
    if label.endswith(" changes"):
        return f"{short_tab_label(label.removesuffix(' changes'))} diff"
    return SHORT_TAB_LABELS.get(label, label)


CONTROL_STYLE = {
    "pass": ("✓ pass", "green"),
    "fail": ("✗ fail", "bold red"),
    "not-applicable": ("– n/a", "dim"),
    "after-apply": ("? after apply", "yellow"),
}
"""How each planned control status is shown: mark and style."""


def controls_table(controls: list[PlannedControl]) -> Table:
    """The controls as a table: verdict, control, and why (with how to pass a failing one)."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False)
    table.add_column("Verdict", width=13, no_wrap=True)
    table.add_column("Control", ratio=2, overflow="fold")
    table.add_column("Why, and how to pass", ratio=3, overflow="fold")
    for c in controls:
        mark, style = CONTROL_STYLE[c.status]
        control = Text(c.control.short_label, style="bold")
        control.append(f"\n{c.control.title}")
        why = Text(c.reason)
        if c.trade_off:
            why.append(f"\nTo pass: {c.trade_off}", style="italic")
        table.add_row(Text(mark, style=style), Breakable(control), Breakable(why))
    return table


def cost_table(cost: CostEstimate) -> Table:
    """The cost preview as a table: each choice, its monthly range, and how it was computed."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False)
    table.add_column("Choice", ratio=2, overflow="fold")
    table.add_column("A month", width=19, no_wrap=True, justify="right")
    table.add_column("How it was estimated", ratio=5, overflow="fold")
    for item in cost.items:
        table.add_row(Text(item.what, style="bold"), item.range_text, Text(item.basis))
    table.add_section()
    table.add_row(Text("Total", style="bold"), Text(cost.total.range_text, style="bold"), "")
    return table


def cost_notes(cost: CostEstimate) -> Text:
    """Below the cost table: how the volume was estimated, the assumptions, your own numbers."""
    text = Text(cost.volume_source)
    text.append("\n\nAssumptions:", style="bold")
    for note in cost.assumptions:
        text.append(f"\n• {note}")
    text.append(
        "\n\nYour own numbers: set " + ", ".join(COST_OVERRIDES) + " in the answers file.",
        style="italic",
    )
    return text


def tabs_hint(*, short: bool = False) -> str:
    """The line above the tabs: how to reach them, page them, copy and save them.

    Args:
        short: The form for a narrow screen (one line at 80 columns).
    """
    switch = f"{keys.display(keys.PREVIOUS_TAB)} {keys.display(keys.NEXT_TAB)}"
    if short:
        return f"Tabs: {switch} switch · PgUp PgDn scroll · c copies, s saves"
    return (
        f"Tabs: {switch} switch (or ← → on the tab bar) · PgUp PgDn scroll · "
        "c copies, s saves the tab shown"
    )


@dataclass
class PlanDocuments:
    """Everything the review's tabs show and export, made from the plan alone.

    Made by :func:`plan_documents` in the planning thread, so that showing the plan only
    mounts widgets (the CloudFormation template alone took 20-40 ms of the event loop).
    """

    exports: dict[str, Export]
    """What each tab copies and saves, by tab id."""
    controls: list[PlannedControl]
    """The planned controls (the Controls tab)."""
    cloudformation: str | None
    """The answers as a CloudFormation template, when they can be rendered."""
    sources: dict[str, SourceView]
    """The highlighted documents (policies, the CLI script, the template), by widget id."""


def cloudformation_text(plan: Plan, answers: Answers) -> str | None:
    """The answers as a CloudFormation template (None if they cannot be rendered).

    Args:
        plan: The plan (its account, partition and home region).
        answers: The answers it was made from.
    """
    # Deferred for start-up time: the exporter loads only when a plan is shown.
    from wizard.export.cloudformation import cloudformation_template
    from wizard.model.context import AccountContext

    try:
        ctx = AccountContext(
            account_id=plan.account_id, partition=plan.partition, region=plan.home_region
        )
        return cloudformation_template(answers, ctx)
    except ValueError:
        return None


def plan_documents(plan: Plan, cloudformation: str | None) -> PlanDocuments:
    """The texts of every tab of ``plan`` and their highlighting (pure; no widgets).

    Args:
        plan: The plan.
        cloudformation: The CloudFormation template of its answers, if any.

    Returns:
        The exports in tab order, the controls and the highlighted documents.
    """
    exports = {"plan": Export("Plan", plan_to_text(plan), "txt")}
    controls = plan_controls(plan)
    exports["controls"] = Export("Controls", "\n".join(controls_to_text(controls)) + "\n", "txt")
    if plan.cost is not None:
        exports["cost"] = Export("Cost", "\n".join(cost_to_text(plan.cost)) + "\n", "txt")
    sources: dict[str, SourceView] = {}
    for field, kind, tab_id, label in POLICY_TABS:
        document = plan.policies.get(field)
        if document is None:
            continue
        exports[tab_id] = Export(label, policy_text(document), "json")
        sources[f"{tab_id}-json"] = SourceView(exports[tab_id].text)
        step = policy_step(plan, kind)
        if step is not None and step.policy is not None and step.policy.diff:
            exports[f"{tab_id}-diff"] = Export(
                f"{label} changes", step.policy.diff.rstrip("\n") + "\n", "diff"
            )
    exports["cli"] = Export("AWS CLI", plan_to_cli(plan), "sh")
    sources["cli-script"] = SourceView(exports["cli"].text, "bash")
    if cloudformation is not None:
        exports["cfn"] = Export("CloudFormation", cloudformation, "yaml")
        sources["cfn-template"] = SourceView(cloudformation, "yaml")
    for source in sources.values():
        source.lines()  # the highlighting, here rather than when the tab is first shown
    return PlanDocuments(exports, controls, cloudformation, sources)


PREPARE_SLICE = 0.002
"""Seconds of drawing ahead (hidden tabs) before the event loop is left free again."""
PREPARE_PAUSE = 0.004
"""Seconds the event loop is left free between slices of drawing ahead."""
PANE_LINES = 8
"""At most this many lines of a pane are not its document (title, note, their margins)."""


class PlanView(Vertical):
    """The built plan: a summary line, the findings, and one tab per document."""

    def __init__(self, plan: Plan, documents: PlanDocuments) -> None:
        """Create the view.

        Args:
            plan: The plan to show.
            documents: What its tabs show (see :func:`plan_documents`).
        """
        super().__init__(id="plan-view")
        self.plan = plan
        """The plan shown."""
        self.documents = documents
        """What the tabs show."""
        self.cloudformation = documents.cloudformation
        """The CloudFormation export of the answers."""
        self.exports: dict[str, Export] = documents.exports
        """What each tab copies and saves, by tab id."""
        self.tab_labels: dict[str, str] = {}
        """The full label of each tab, by tab id (a narrow tab bar shows short ones)."""
        self._prepare_round = 0
        """Rounds of drawing ahead started; only the newest one goes on."""

    def on_resize(self, event: events.Resize) -> None:
        self.fit_tab_labels()
        self.prepare_tabs()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # The tabs next to the one shown are the ones a person goes to next: them first.
        self.prepare_tabs()

    def prepare_tabs(self) -> None:
        """Draw the hidden tabs' documents and tables ahead, in slices (see :meth:`_prepare`).

        Showing a tab draws what it shows on the event loop: its tables whole, a
        document's lines in view (10-20 ms on a busy machine). Drawn ahead, a key press that
        shows it only lays it out. Nothing visible changes.

        Drawing ahead stops at once (a key's own work comes first) and starts again, from
        the tabs beside the one shown then, once the screen is painted.
        """
        # A newer round stops the older one at its next slice. Not by cancelling its
        # worker: a cancelled worker makes everyone who waits for the screen's workers
        # (Textual's wait_for_complete) fail with WorkerCancelled.
        self._prepare_round += 1
        self.call_after_refresh(self._prepare, self._prepare_round)

    @work(group="review-prepare", exit_on_error=False)
    async def _prepare(self, round_: int) -> None:
        """Worker on the event loop: draw ahead in slices of a few milliseconds.

        A slice ends after :data:`PREPARE_SLICE` seconds and the loop is left free for
        :data:`PREPARE_PAUSE`: a key pressed meanwhile waits at most one slice. Not a
        thread: drawing is pure Python, and a thread holding the interpreter lock would
        slow every key press by sharing it. Ends early once a newer round has started.
        """
        started = time.perf_counter()
        drawn = False
        for _ in self._preparations():
            if round_ != self._prepare_round:
                return
            drawn = True
            if time.perf_counter() - started >= PREPARE_SLICE:
                await asyncio.sleep(PREPARE_PAUSE)
                if not self.is_attached or round_ != self._prepare_round:
                    return
                started = time.perf_counter()
        if drawn:
            settle_heap()  # what was drawn is kept as long as the review is shown

    def _preparations(self) -> Iterator[object]:
        """Draw each hidden tab's documents and tables at the width they will be shown at,
        the tabs beside the shown one first; yields between pieces of work."""
        tabs = self.query_one("#tabs", TabbedContent)
        panes = list(tabs.query(TabPane))
        active = tabs.get_pane(tabs.active) if tabs.active else None
        if active is None or active not in panes:
            return
        scroller = active.query_one(VerticalScroll)
        if not scroller.size.width:
            return  # not laid out yet: a resize starts this again
        # Every pane's scroller is as wide as the shown one; its content is narrower by
        # the vertical scrollbar when it scrolls.
        wide = scroller.region.width - scroller.styles.gutter.width
        narrow = wide - scroller.styles.scrollbar_size_vertical
        tall = scroller.scrollable_content_region.height
        start = panes.index(active)
        order = sorted(
            range(len(panes)),
            key=lambda i: (
                min((i - start) % len(panes), (start - i) % len(panes)),
                (start - i) % len(panes),
            ),
        )
        console = self.app.console
        base = self.app.console_options.update(highlight=False)
        for index in order:
            for widget in panes[index].query(Static):
                content = widget.content
                gutter = widget.styles.gutter.width
                if isinstance(content, SourceView):
                    # Drawn at the width it is shown at: without the scrollbar when it fits
                    # beside the pane's title and note, with it when it scrolls (both when
                    # it is close).
                    height = content.height(console, base.update_width(wide - gutter))
                    widths = ([wide] if height < tall else []) + (
                        [narrow] if height + PANE_LINES > tall else []
                    )
                    for width in widths:
                        # What the pane shows first; the rest is drawn as it is scrolled to.
                        options = base.update_width(width - gutter)
                        yield from content.prepare(console, options, tall)
                elif isinstance(content, KeptRender):
                    for width in (wide, narrow):
                        content.prepare(console, base.update_width(width - gutter))
                        yield None

    def fit_tab_labels(self) -> None:
        """Full tab labels when they all fit on the tab bar, else the short ones.

        The bar scrolls sideways when they do not fit, and the last label shown was cut
        ("CloudFormati"); the short labels fit in all but the largest plans.
        """
        tabs = self.query_one("#tabs", TabbedContent)
        if not self.tab_labels:
            self.tab_labels = {
                str(pane.id): tabs.get_tab(pane).label.plain for pane in tabs.query(TabPane)
            }
        width = self.size.width
        full = sum(cell_len(label) + 2 for label in self.tab_labels.values())  # padding 0 1
        short = full > width
        labels = {
            tab_id: short_tab_label(label) if short else label
            for tab_id, label in self.tab_labels.items()
        }
        # Still too many: one cell between labels instead of two.
        tight = sum(cell_len(label) + 2 for label in labels.values()) > width
        # On the tab bar, not on the tabbed content: a class change restyles the widget and
        # everything in it, and the tabbed content holds every tab's pane (130 widgets,
        # restyled on the event loop as the plan was drawn); the bar holds the tabs only.
        bar = tabs.query_one(Tabs)
        changed = bar.has_class("-tight") != tight
        bar.set_class(tight, "-tight")
        for tab_id, shown in labels.items():
            tab = tabs.get_tab(tab_id)
            if tab.label.plain != shown:
                tab.label = shown
                changed = True
        if changed:
            # The bar draws its underline where the active tab was before the new labels
            # were laid out: relabelling the active tab again, once laid out, moves it.
            self.call_after_refresh(self._underline_active_tab)
        summary = self.query_one("#plan-summary", Static)
        summary.update(self.summary(one_line=self.app.size.height < sizes.TALL_FROM))
        for hint in self.query("#tabs-hint").results(Static):
            # On one line even when narrow: the short form names the same keys.
            whole = tabs_hint()
            hint.update(whole if cell_len(whole) <= self.size.width else tabs_hint(short=True))

    def summary(self, *, one_line: bool = False) -> Text:
        """What the plan does, where: the trail's ARN, then the account, region and count.

        Args:
            one_line: For a short terminal: the trail's name instead of its ARN, on the
                same line as the rest.
        """
        plan = self.plan
        counts = (
            f"{plan.account_id} · {plan.home_region} · {len(plan.steps)} changes, "
            "all undone if one fails"
        )
        if one_line:
            name = plan.trail_arn.rsplit("/", 1)[-1]
            return Text.assemble("Trail ", (name, "bold"), f" in {counts}")
        return Text.assemble("Trail ", (plan.trail_arn, "bold"), f"\nAccount {counts}")

    def _underline_active_tab(self) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active:
            active = tabs.get_tab(tabs.active)
            active.label = active.label

    def compose(self) -> ComposeResult:
        plan = self.plan
        yield Static(self.summary(), id="plan-summary")
        yield FindingsList(plan.findings, id="findings")
        yield Static(tabs_hint(), id="tabs-hint", markup=False)
        documents = self.documents
        sources = documents.sources
        with TabbedContent(id="tabs"):
            with TabPane("Plan", id="plan"), VerticalScroll():
                yield Static(PlanTable(plan), id="plan-table")
            controls = documents.controls
            with TabPane("Controls", id="controls"), VerticalScroll():
                yield Static(
                    "CIS AWS Foundations Benchmark and AWS Security Hub controls for the planned "
                    f"trail: {controls_summary(controls)}. The same rules as "
                    "`cloudtrail-wizard status` uses once the trail exists.",
                    classes="pane-note",
                    markup=False,
                )
                yield Static(
                    KeptRender(lambda _width: controls_table(controls)), id="controls-table"
                )
            cost = plan.cost
            if cost is not None:
                with TabPane("Cost", id="cost"), VerticalScroll():
                    yield Static(cost_heading(cost) + ".", classes="pane-note", markup=False)
                    yield Static(KeptRender(lambda _width: cost_table(cost)), id="cost-table")
                    yield Static(cost_notes(cost), id="cost-notes")
            for field, kind, tab_id, label in POLICY_TABS:
                document = plan.policies.get(field)
                if document is None:
                    continue
                with TabPane(label, id=tab_id), VerticalScroll():
                    yield Static(f"[b]{POLICY_TITLES[field]}[/b]", classes="pane-title")
                    yield Static(policy_note(plan, kind), classes="pane-note", markup=False)
                    yield PolicyJson(
                        document, id=f"{tab_id}-json", source=sources.get(f"{tab_id}-json")
                    )
                step = policy_step(plan, kind)
                if step is not None and step.policy is not None and step.policy.diff:
                    diff_id = f"{tab_id}-diff"
                    with TabPane(f"{label} changes", id=diff_id), VerticalScroll():
                        yield Static(
                            f"[b]{POLICY_TITLES[field]}[/b]: what the merge changes",
                            classes="pane-title",
                        )
                        yield PolicyDiff(
                            step.policy.diff, len(step.policy.added_sids), id=f"{diff_id}-view"
                        )
            with TabPane("AWS CLI", id="cli"), VerticalScroll():
                yield Static(
                    "The same plan as AWS CLI commands, for a change ticket or to run by hand.",
                    classes="pane-note",
                )
                yield PolicyJson(
                    self.exports["cli"].text,
                    language="bash",
                    id="cli-script",
                    source=sources.get("cli-script"),
                )
            if self.cloudformation is not None:
                with TabPane("CloudFormation", id="cfn"), VerticalScroll():
                    yield Static(
                        "The same setup as a CloudFormation template with parameters, for "
                        "StackSets and infrastructure-as-code reviews (cfn-lint clean).",
                        classes="pane-note",
                    )
                    yield PolicyJson(
                        self.cloudformation,
                        language="yaml",
                        id="cfn-template",
                        source=sources.get("cfn-template"),
                    )


class ReviewScreen(StepScreen):
    """Shows the plan with every policy and finding; dry-runs it or hands it to apply."""

    STEP_ID = "review"
    NEXT_LABEL = "Apply…"
    AUTO_FOCUS = ""
    """Nothing focused while the plan is built (its keys are the screen's): the tab bar
    takes the focus once the plan is shown, Retry if it fails. Textual would focus the body
    first, and the body losing the focus to the tab bar restyled it and everything in it,
    the plan's hundred widgets then (18 ms on the event loop)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys.NEXT, "next", "Apply", priority=True),
        Binding("ctrl+d", "dry_run", "Dry-run", priority=True),
        Binding("c", "copy_tab", "Copy tab"),
        Binding("s", "save_tab", "Save tab"),
        Binding("escape", "cancel_plan", "Cancel"),
        Binding("r", "retry", "Retry"),
        Binding("pagedown", "scroll_tab(1)", "Scroll", show=False),
        Binding("pageup", "scroll_tab(-1)", "Scroll", show=False),
        # From anywhere on the screen (the arrows switch tabs only on the tab bar itself).
        Binding(keys.PREVIOUS_TAB, "switch_tab(-1)", "Previous tab", show=False),
        Binding(keys.NEXT_TAB, "switch_tab(1)", "Next tab", show=False),
    ]

    DEFAULT_CSS = """
    ReviewScreen #body { overflow-y: hidden; }
    ReviewScreen #review-loading { height: 1fr; align: center middle; }
    ReviewScreen #review-loading LoadingIndicator { height: 3; }
    ReviewScreen #review-loading Label { width: 100%; content-align: center middle; }
    ReviewScreen #review-failed { height: auto; display: none; padding: 1 0; }
    ReviewScreen #review-failed-message { color: $error; margin-bottom: 1; }
    ReviewScreen #review-content { height: 1fr; display: none; }
    ReviewScreen #plan-view { height: 1fr; }
    ReviewScreen #plan-summary { height: auto; }
    ReviewScreen #tabs-hint { height: auto; color: $text-muted; }
    ReviewScreen #tabs { height: 1fr; }
    ReviewScreen #tabs Tabs.-tight Tab { padding: 0 0 0 1; }
    ReviewScreen #tabs ContentSwitcher { height: 1fr; }
    ReviewScreen #tabs TabPane { height: 1fr; padding: 0; }
    ReviewScreen #tabs TabPane > VerticalScroll { height: 1fr; }
    ReviewScreen .pane-title { padding: 0 1; }
    ReviewScreen .pane-note { padding: 0 1; color: $text-muted; margin-bottom: 1; }
    ReviewScreen #plan-table { padding: 0 1; }
    ReviewScreen #controls-table { padding: 0 1; }
    ReviewScreen #cost-table { padding: 0 1; }
    ReviewScreen #cost-notes { padding: 1 1 0 1; color: $text-muted; }
    ReviewScreen #apply-blocked {
        width: 1fr; height: 3; color: $error; content-align: left middle;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.plan: Plan | None = None
        """The plan on screen, once built."""
        self.found: Discovery | None = None
        """The discovery behind the plan."""
        self.mode = "loading"
        """``loading`` (planning), ``failed`` (planning failed or cancelled) or ``ready``."""
        self.dry_running = False
        """A dry-run is in progress."""
        self._dry_run_report: DryRunReport | None = None
        self._documents: tuple[Plan, PlanDocuments] | None = None
        """The documents of the plan last built, made in the planning thread."""
        self._animation_level: AnimationLevel | None = None
        """The app's animation level while the review is shown (see
        :meth:`on_screen_resume`); None while it is not."""

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        with Vertical(id="review-loading"):
            yield LoadingIndicator()
            yield Label("Reading the account and building the plan…   Esc cancels.")
        with Vertical(id="review-failed"):
            yield Static("", id="review-failed-message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Retry", id="retry", variant="primary")
        yield Vertical(id="review-content")

    def on_mount(self) -> None:
        """Finish the nav bar and start planning (StepScreen's on_mount runs after this)."""
        nav = self.query_one("#nav", Horizontal)
        nav.mount(Label("", id="apply-blocked"), before=0)
        nav.mount(Button("Dry-run", id="dry-run"), before="#next")
        self.start_plan()

    def _show(self, mode: str) -> None:
        """Switch between the loading, failed and ready layouts."""
        self.mode = mode
        self.query_one("#review-loading").display = mode == "loading"
        self.query_one("#review-failed").display = mode == "failed"
        self.query_one("#review-content").display = mode == "ready"
        ready = mode == "ready" and self.plan is not None
        blocked = self.plan is not None and self.plan.blocked
        self.query_one("#next", Button).disabled = not ready or blocked
        dry = self.query_one("#dry-run", Button)
        dry.disabled = not ready or self.dry_running
        dry.label = "Dry-running…" if self.dry_running else "Dry-run"
        reason = ""
        if ready and self.plan is not None and blocked:
            codes = ", ".join(f.code for f in self.plan.findings if f.severity == "error")
            reason = f"Apply is blocked by {codes} (see above)."
        self.query_one("#apply-blocked", Label).update(reason)
        self.refresh_bindings()

    # ------------------------------------------------------------------ planning

    def start_plan(self) -> None:
        """Build the plan for the current answers in a worker."""
        self.plan = None
        self.found = None
        try:
            answers = self.state.answers()
        except ValidationError as exc:
            problems = "; ".join(str(e["msg"]) for e in exc.errors()[:3])
            self._fail(f"The answers are not complete yet ({problems}). Go Back and finish them.")
            return
        self._show("loading")
        self._build_plan(answers)

    @work(thread=True, exclusive=True, group="review-plan", exit_on_error=False)
    def _build_plan(self, answers: Answers) -> None:
        """Worker: discovery and planning (blocking reads), posted back as a message."""
        worker = get_current_worker()
        try:
            plan, found = self.wizard.backend.engine.plan(answers)
        except Exception as exc:  # every failure is shown, with Retry
            if not worker.is_cancelled:
                self.post_message(PlanFailed(explain(exc)))
            return
        if worker.is_cancelled:
            return
        # The tabs' texts here too, not on the event loop when the plan is shown; read by
        # the message handler, which runs after this message is posted.
        self._documents = (plan, plan_documents(plan, cloudformation_text(plan, answers)))
        self.post_message(PlanReady(plan, found))

    async def on_plan_ready(self, message: PlanReady) -> None:
        message.stop()
        if self.mode != "loading":
            return  # cancelled meanwhile
        self.plan = message.plan
        self.found = message.discovery
        content = self.query_one("#review-content", Vertical)
        await content.remove_children()
        await content.mount(PlanView(message.plan, self._documents_for(message.plan)))
        self._show("ready")
        self.query_one("#tabs Tabs").focus()
        # Planning and the plan's widgets made the objects the review's keys should not
        # wait for the collector to walk again; the collector, off while they were made,
        # comes back with nothing to walk.
        self.call_after_refresh(self._settle)

    def _settle(self) -> None:
        """The plan is drawn: set its objects aside, and let the collector run again."""
        settle_heap()
        self.wizard.release_collector(self)

    def on_unmount(self) -> None:
        # What the review set aside (a plan's widgets are cycles only a full pass frees) is
        # released by StepScreen.on_unmount, as for every screen set aside while shown.
        self._restore_animations()
        self.wizard.release_collector(self)

    def on_screen_resume(self) -> None:
        """No animations while the review is shown: every key's effect is drawn at once.

        The tab bar slid its underline to the new tab over 0.3 s, and a page scrolled over
        0.2 s: each a dozen or more frames that laid out and repainted the screen again
        while the next key waited (the bench's tab and page keys drew twice the frames
        with them). The underline now moves and a page jumps in the frame that shows the
        key's effect; what is on the screen afterwards is the same. The level the app had
        comes back when the review is covered (the Apply question) or left.
        """
        if self._animation_level is None:
            self._animation_level = self.app.animation_level
        self.app.animation_level = "none"

    def on_screen_suspend(self) -> None:
        self._restore_animations()

    def _restore_animations(self) -> None:
        if self._animation_level is not None:
            self.app.animation_level = self._animation_level
            self._animation_level = None

    def _documents_for(self, plan: Plan) -> PlanDocuments:
        """The tabs' documents the planning thread made for ``plan`` (made now otherwise)."""
        made, self._documents = self._documents, None
        if made is not None and made[0] is plan:
            return made[1]
        return plan_documents(plan, cloudformation_text(plan, self.state.answers()))

    def on_plan_failed(self, message: PlanFailed) -> None:
        message.stop()
        if self.mode == "loading":
            self._fail(f"Could not build the plan: {message.message}")

    def _fail(self, text: str) -> None:
        self.query_one("#review-failed-message", Static).update(
            f"{text}\nNothing was changed. Retry (r), or go Back to change the answers."
        )
        self._show("failed")
        self.query_one("#retry", Button).focus()
        self.wizard.release_collector(self)  # no plan to draw

    def action_cancel_plan(self) -> None:
        """Stop waiting for the plan (the reads already sent finish in the background)."""
        if self.mode != "loading":
            return
        self.workers.cancel_group(self, "review-plan")
        self._fail("Planning was cancelled.")

    def action_retry(self) -> None:
        """Plan again."""
        if self.mode == "failed":
            self.start_plan()

    # ------------------------------------------------------------------ state

    def collect(self) -> tuple[WizardState, list[str]]:
        return (
            self.state.with_(
                plan=self.plan, discovery=self.found, outcome=None, dry_run_calls=None
            ),
            [],
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        ready = self.mode == "ready" and self.plan is not None
        if action == "next":
            return True if ready and self.plan is not None and not self.plan.blocked else None
        if action == "dry_run":
            return True if ready and not self.dry_running else None
        if action in ("copy_tab", "save_tab", "scroll_tab", "switch_tab"):
            return ready
        if action == "cancel_plan":
            return self.mode == "loading"
        if action == "retry":
            return self.mode == "failed"
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Dry-run and Retry; Back and Apply are StepScreen's (its handler runs too)."""
        if event.button.id == "dry-run":
            event.stop()
            self.action_dry_run()
        elif event.button.id == "retry":
            event.stop()
            self.action_retry()

    # ------------------------------------------------------------------ apply

    def action_next(self) -> None:
        """Ask once more, then hand the plan to the apply step."""
        plan = self.plan
        if self.mode != "ready" or plan is None or plan.blocked:
            self.app.bell()
            return
        count = len(plan.steps)
        question = (
            f"Apply {count} change{'s' if count != 1 else ''} to account {plan.account_id} "
            f"in region {plan.home_region}?\n\nIf any step fails, every change already made "
            "is undone, and each call is written to a journal."
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.wizard.go_next(self.STEP_ID, self.collect()[0])

        self.app.push_screen(ConfirmScreen(question, yes_label="Apply"), answer)

    # ------------------------------------------------------------------ dry-run

    def action_dry_run(self) -> None:
        """Walk the plan sending only reads; the writes are recorded, never sent."""
        if self.mode != "ready" or self.plan is None or self.dry_running:
            return
        self.dry_running = True
        self._show("ready")
        self._dry_run(self.plan)

    @work(thread=True, exclusive=True, group="review-dry-run", exit_on_error=False)
    def _dry_run(self, plan: Plan) -> None:
        """Worker: the dry-run (reads only), posted back as a message."""
        # Deferred for start-up time: pydantic models load only when this runs.
        from wizard.run.apply import dry_run

        report = dry_run(plan, self.wizard.backend.engine.caller)
        # Read by the message handler, which runs after this message is posted.
        self._dry_run_report = report
        self.post_message(DryRunFinished(list(report.recorded_calls)))

    def on_dry_run_finished(self, message: DryRunFinished) -> None:
        # Deferred: a screen's module loads when it is first shown (start-up time).
        from screens.tui.steps.done import DoneScreen

        message.stop()
        self.dry_running = False
        state = self.collect()[0].with_(dry_run_calls=len(message.calls))
        self.wizard.state = state
        self.wizard.current_step = "done"
        self.app.switch_screen(DoneScreen(dry_run=self._dry_run_report))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR or event.worker.group != "review-dry-run":
            return
        self.dry_running = False
        self._show("ready")
        error = event.worker.error
        self.notify(
            f"The dry-run failed: {explain(error) if error else 'unknown error'}. "
            "Nothing was changed.",
            severity="error",
            timeout=10,
        )

    # ------------------------------------------------------------------ copy and save

    def action_scroll_tab(self, pages: int) -> None:
        """Page the shown tab while the tab bar has focus (its arrows switch tabs)."""
        if self.mode != "ready":
            return
        tabs = self.query_one("#tabs", TabbedContent)
        pane = tabs.get_pane(tabs.active)
        scroller = pane.query_one(VerticalScroll)
        self.query_one(PlanView).prepare_tabs()  # paused while the page moves
        # At once: an animated page took a dozen frames (see on_screen_resume).
        if pages > 0:
            scroller.scroll_page_down(animate=False)
        else:
            scroller.scroll_page_up(animate=False)

    def action_switch_tab(self, step: int) -> None:
        """Show the next (1) or previous (-1) tab, and put the focus on the tab bar.

        On the tab bar the arrows go on switching and PgUp/PgDn page the tab shown.
        """
        if self.mode != "ready":
            return
        bar = self.query_one("#tabs Tabs", Tabs)
        if step > 0:
            bar.action_next_tab()
        else:
            bar.action_previous_tab()
        bar.focus()

    def _active_export(self) -> Export | None:
        if self.mode != "ready":
            return None
        view = self.query_one(PlanView)
        return view.exports.get(self.query_one("#tabs", TabbedContent).active)

    def action_copy_tab(self) -> None:
        """Copy the shown tab's content to the clipboard."""
        export = self._active_export()
        if export is None:
            return
        self.app.copy_to_clipboard(export.text)
        lines = export.text.count("\n") + 1
        self.notify(
            f"Copied the {export.label} tab ({lines} lines) to the clipboard. If your terminal "
            "does not allow that, press s to save it to a file."
        )

    def action_save_tab(self) -> None:
        """Save the shown tab's content next to the current directory."""
        export = self._active_export()
        if export is None:
            return
        tab = self.query_one("#tabs", TabbedContent).active
        trail = self.plan.trail_arn.rsplit("/", 1)[-1] if self.plan else "trail"
        # keep_earlier: never overwrite, an earlier save may be someone's edited copy.
        saves.save_text(
            self.app,
            export.text,
            name=f"{trail}-{tab}.{export.extension}",
            what=f"The {export.label} tab",
            keep_earlier=True,
        )
