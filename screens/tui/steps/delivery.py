"""Step 6: delivery besides S3: an SNS notification and CloudWatch Logs."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, RadioButton, RadioSet, Select

from screens.tui.base import StepScreen, validation_messages
from screens.tui.state import WizardState
from screens.tui.widgets.radio_list import RadioList
from wizard.model.answers import CloudWatchLogsAnswers, NotificationAnswers
from wizard.model.names import check_role_name, check_topic_name

SNS_MODES = (("none", "No notification"), ("new", "A new topic"), ("existing", "An existing topic"))
"""How log file notifications are sent."""

ROLE_MODES = (("new", "A new role"), ("existing", "An existing role"))
"""Where the role CloudTrail assumes to write to CloudWatch Logs comes from."""


def model_problem(model: type[BaseModel], data: dict[str, str | None]) -> str | None:
    """The first message the answers model gives for ``data`` (None when it is valid).

    Args:
        model: An answers section model.
        data: The section's fields.

    Returns:
        The message without its field path (it is shown under the field itself).
    """
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return validation_messages(exc)[0].partition(": ")[2] or str(exc)
    return None


def _topic_arn_problem(text: str) -> str | None:
    if not text:
        return None
    if not text.startswith("arn:"):
        return (
            "Type the topic's ARN (arn:aws:sns:us-east-1:123456789012:NAME), or choose a new topic."
        )
    return model_problem(NotificationAnswers, {"sns_topic": text})


def _role_arn_problem(text: str) -> str | None:
    if not text:
        return None
    if not text.startswith("arn:"):
        return "Type the role's ARN (arn:aws:iam::123456789012:role/NAME), or choose a new role."
    return model_problem(CloudWatchLogsAnswers, {"log_group": "group", "role": text})


class DeliveryScreen(StepScreen):
    """Optional SNS notification and CloudWatch Logs delivery (group, role, retention)."""

    STEP_ID = "delivery"
    AUTO_FOCUS = "#sns-mode"

    DEFAULT_CSS = """
    DeliveryScreen RadioSet { width: auto; }
    DeliveryScreen #topic-new, DeliveryScreen #topic-existing, DeliveryScreen #cw,
    DeliveryScreen #role-new, DeliveryScreen #role-existing { height: auto; }
    DeliveryScreen #group-row, DeliveryScreen #group { height: auto; }
    DeliveryScreen #retention-column { width: 36; height: auto; margin-left: 2; }
    """

    def compose_body(self) -> ComposeResult:
        topic = self.answer("notifications.sns_topic") or ""
        sns_mode = "existing" if topic.startswith("arn:") else "new" if topic else "none"
        yield Label("Notify an SNS topic of each new log file?", classes="field-label")
        with RadioList(id="sns-mode", compact=True):
            for mode, label in SNS_MODES:
                yield RadioButton(label, value=mode == sns_mode, name=mode, id=f"sns-{mode}")
        with Vertical(id="topic-new"):
            yield from self.compose_input(
                "topic-name",
                value=topic if sns_mode == "new" else "",
                prompt="Name of the new topic",
                placeholder="e.g. cloudtrail-log-files",
                check=lambda v: check_topic_name(v) if v else None,
                hint="Created in the trail's home region; only this trail may publish to it.",
            )
        with Vertical(id="topic-existing"):
            yield from self.compose_input(
                "topic-arn",
                value=topic if sns_mode == "existing" else "",
                prompt="ARN of the existing topic",
                placeholder="e.g. arn:aws:sns:us-east-1:123456789012:NAME",
                check=_topic_arn_problem,
            )

        group = self.answer("cloudwatch_logs.log_group")
        role = self.answer("cloudwatch_logs.role") or ""
        trail = self.answer("trail.name") or "trail"
        yield Label("Send the events to CloudWatch Logs?", classes="field-label")
        with RadioList(id="cw-mode", compact=True):
            yield RadioButton("No", value=not group, name="none", id="cw-none")
            yield RadioButton("Yes, to a log group", value=bool(group), name="send", id="cw-send")
        with Vertical(id="cw"):
            retention = self.question("cloudwatch_logs.retention_days")
            with Horizontal(id="group-row"):
                with Vertical(id="group"):
                    yield from self.compose_text(
                        "cloudwatch_logs.log_group",
                        "log-group",
                        value=group or f"aws-cloudtrail-logs-{trail}",
                        prompt="Log group (created when missing)",
                    )
                with Vertical(id="retention-column"):
                    yield Label(retention.prompt, classes="field-label")
                    yield Select(
                        [(c.label, c.value) for c in retention.choices],
                        value=self.initial("cloudwatch_logs.retention_days"),
                        allow_blank=False,
                        id="retention",
                    )
            yield Label("Role CloudTrail assumes to write to the group", classes="field-label")
            role_mode = "existing" if role.startswith("arn:") else "new"
            with RadioList(id="role-mode", compact=True):
                for mode, label in ROLE_MODES:
                    yield RadioButton(
                        label, value=mode == role_mode, name=mode, id=f"role-mode-{mode}"
                    )
            with Vertical(id="role-new"):
                yield from self.compose_input(
                    "role-name",
                    value=role if role_mode == "new" else "",
                    prompt="Name of the new role",
                    placeholder="empty = a name made from the trail's",
                    check=lambda v: check_role_name(v) if v else None,
                    hint="Only CloudTrail may assume it, to write to this log group only.",
                )
            with Vertical(id="role-existing"):
                yield from self.compose_input(
                    "role-arn",
                    value=role if role_mode == "existing" else "",
                    prompt="ARN of the existing role",
                    placeholder="e.g. arn:aws:iam::123456789012:role/NAME",
                    check=_role_arn_problem,
                )

    def on_mount(self) -> None:
        super().on_mount()
        self._show_modes()

    def _mode(self, radio_id: str) -> str:
        pressed = self.query_one(f"#{radio_id}", RadioSet).pressed_button
        return pressed.name or "" if pressed is not None else ""

    @on(RadioSet.Changed)
    def _radio_changed(self, event: RadioSet.Changed) -> None:
        self._show_modes()

    def _show_modes(self) -> None:
        sns = self._mode("sns-mode")
        self.query_one("#topic-new").display = sns == "new"
        self.query_one("#topic-existing").display = sns == "existing"
        self.query_one("#cw").display = self._mode("cw-mode") == "send"
        role = self._mode("role-mode")
        self.query_one("#role-new").display = role == "new"
        self.query_one("#role-existing").display = role == "existing"

    def collect(self) -> tuple[WizardState, list[str]]:
        errors: list[str] = []
        sns = self._mode("sns-mode")
        topic: str | None = None
        problem: str | None = None
        if sns == "new":
            topic = self.input_value("topic-name")
            problem = check_topic_name(topic) if topic else "Name the new SNS topic."
        elif sns == "existing":
            topic = self.input_value("topic-arn")
            problem = _topic_arn_problem(topic) if topic else "Type the ARN of the SNS topic."
        if problem:
            errors.append(problem)
        state = self.state.with_answer("notifications.sns_topic", topic or None)

        group: str | None = None
        role: str | None = None
        if self._mode("cw-mode") == "send":
            group = self.input_value("log-group")
            if self._mode("role-mode") == "existing":
                role = self.input_value("role-arn")
                if not role:
                    errors.append("Type the ARN of the existing role, or choose a new role.")
            else:
                role = self.input_value("role-name") or None  # None: a generated name
            data = {"log_group": group or None, "role": role or None}
            if not group:
                errors.append("Name the log group, or choose not to send events.")
            elif problem := model_problem(CloudWatchLogsAnswers, data):
                errors.append(problem)
        retention = self.query_one("#retention", Select).value
        state = (
            state.with_answer("cloudwatch_logs.log_group", group or None)
            .with_answer("cloudwatch_logs.role", role or None)
            .with_answer("cloudwatch_logs.retention_days", retention)
        )
        return state, errors
