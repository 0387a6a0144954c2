"""Step 4: the key prefix, with the path the log files will have shown as you type."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, Static

from screens.tui.base import StepScreen
from screens.tui.state import WizardState
from screens.tui.widgets.wrap import Breakable
from wizard.model.names import normalise_prefix


class PrefixScreen(StepScreen):
    """Prefix input; the resulting ``s3://`` path of the log files follows it live."""

    STEP_ID = "prefix"
    AUTO_FOCUS = "#prefix"

    DEFAULT_CSS = """
    PrefixScreen #path { text-style: bold; color: $accent; }
    """

    def compose_body(self) -> ComposeResult:
        yield from self.compose_text(
            "bucket.prefix", "prefix", placeholder="empty = no prefix (e.g. cloudtrail)"
        )
        yield Label("Log files will appear under", classes="field-label")
        # A path longer than the line breaks after a "/", never inside a folder's name.
        yield Static(Breakable(self.object_path(self.initial("bucket.prefix") or "")), id="path")
        yield Static(self._path_note(), id="path-note", classes="hint")

    @on(Input.Changed, "#prefix")
    def _prefix_changed(self, event: Input.Changed) -> None:
        self.query_one("#path", Static).update(Breakable(self.object_path(event.value)))

    def object_path(self, prefix: str) -> str:
        """Where CloudTrail writes, for this prefix and the answers so far.

        Args:
            prefix: The prefix as typed (normalised the way the trail and policy will be).

        Returns:
            ``s3://bucket/prefix/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``.
        """
        account = self.state.account
        bucket = self.answer("bucket.name") or "BUCKET"
        account_id = account.account_id if account is not None else "ACCOUNT"
        region = self.answer("trail.region") or (account.region if account else "REGION")
        folder = normalise_prefix(prefix)
        prefix_path = f"{folder}/" if folder else ""
        # An organization trail adds a folder named after the organization id before the
        # account; the id is only read on the review screen, so it is shown as a placeholder.
        org = "<organization id>/" if self.answer("trail.organization") else ""
        return (
            f"s3://{bucket}/{prefix_path}AWSLogs/{org}{account_id}/CloudTrail/{region}/YYYY/MM/DD/"
        )

    def _path_note(self) -> str:
        if self.answer("trail.multi_region", True):
            region = self.answer("trail.region") or "the home region"
            return (
                f"A multi-region trail writes one such folder per region; {region} is shown. "
                "CloudTrail adds everything from AWSLogs/ on."
            )
        return "CloudTrail adds everything from AWSLogs/ on."

    def collect(self) -> tuple[WizardState, list[str]]:
        prefix = normalise_prefix(self.input_value("prefix"))
        state = self.state.with_answer("bucket.prefix", prefix)
        return state, self.check("bucket.prefix", prefix)
