"""Terraform export: the answers as one commented configuration for the AWS provider (pure).

:func:`terraform_configuration` turns an answers file into HCL a person can review and apply
with ``terraform init && terraform apply``: the same setup as the CloudFormation export
(:mod:`wizard.export.cloudformation`), written the way the AWS provider (v5 and later) wants it.

* Every name is a variable (defaults from the answers); every ARN is built from the
  provider's account and partition (``data.aws_caller_identity``, ``data.aws_partition``) and
  the ``region`` variable, so the same file works in any account.
* The policies are the ones :mod:`wizard.policy.policies` writes (apply's own): they are built
  from the answers with stand-in names, and each stand-in is then replaced by the variable or
  local that holds it, so the documents cannot drift from what apply writes.
* The bucket's settings are separate resources (``aws_s3_bucket_versioning``,
  ``aws_s3_bucket_server_side_encryption_configuration``, ...), as provider v4 and later
  require; an existing bucket, key and role are data sources.
* ``aws_s3_bucket_policy`` replaces a bucket's whole policy. For an existing bucket the
  configuration therefore reads its current policy (``data.aws_s3_bucket_policy``) and writes
  it back with CloudTrail's statements merged in (same-Sid statements replaced by these,
  everything else kept), never the statements alone. An existing key, topic or role policy
  has no data source to read it back, so, as in the CloudFormation export, the statements
  CloudTrail needs are printed to merge by hand.
* Resources that hold log data or their key are protected by ``lifecycle { prevent_destroy =
  true }``: deleting audit logs must never be a side effect of ``terraform destroy``.
* Where a scanner check fails because of a choice in the answers, a comment next to the
  resource says which check and why; checks that do not fit this setup whatever the answers
  (cross-region replication, event notifications) are skipped with a
  ``#checkov:skip=ID:reason`` comment that says why.

No AWS call happens here, and the same answers always give the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wizard import __version__
from wizard.export.text import wrap_prose
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.plan.planner.logs import ROLE_POLICY_NAME
from wizard.plan.selectors import advanced_event_selectors
from wizard.policy.lifecycle import describe_rule, retention_problems, retention_rule, rule_id
from wizard.policy.policies import (
    VERSION,
    access_log_bucket_policy,
    bucket_cloudtrail_statements,
    bucket_policy,
    cloudwatch_role_policy,
    cloudwatch_role_trust_policy,
    encrypts_log_group,
    encrypts_topic,
    key_cloudtrail_statements,
    key_policy,
    log_group_left_unencrypted,
    topic_cloudtrail_statement,
    topic_policy,
)

__all__ = [
    "PROVIDER_VERSION",
    "failing_check_ids",
    "skipped_check_ids",
    "terraform_checks",
    "terraform_configuration",
]

PROVIDER_VERSION = ">= 5.0"
"""The AWS provider versions the configuration is written for (separate bucket resources,
advanced event selectors, ``override_policy_documents``)."""

# --------------------------------------------------------------------------- HCL values


@dataclass(frozen=True)
class Expr:
    """An HCL expression written as it is (``var.bucket_name``, ``aws_kms_key.trail.arn``)."""

    text: str


@dataclass(frozen=True)
class Template:
    """A quoted string whose ``${...}`` are HCL interpolations (``"arn:${local.partition}"``)."""

    text: str


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\r", "\\r").replace("\t", "\\t") + '"'


def literal(text: str) -> str:
    """A plain string as an HCL string literal (``${`` and ``%{`` escaped: no interpolation)."""
    return _quote(text.replace("${", "$${").replace("%{", "%%{"))


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _key(name: str) -> str:
    return name if _IDENTIFIER.match(name) else literal(name)


def _scalar(value: Any) -> str | None:
    """A value on one line, or None when it needs several."""
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, Template):
        return _quote(value.text)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return literal(value)
    if value is None:
        return "null"
    if isinstance(value, list) and not value:
        return "[]"
    if isinstance(value, Mapping) and not value:
        return "{}"
    if isinstance(value, list) and all(
        not isinstance(v, list | Mapping) and not isinstance(v, Function) for v in value
    ):
        parts = [_scalar(v) for v in value]
        line = "[" + ", ".join(p for p in parts if p is not None) + "]"
        if len(line) <= 80:
            return line
    return None


@dataclass(frozen=True)
class Function:
    """A function call with one argument: ``jsonencode({...})``."""

    name: str
    argument: Any


def _value(value: Any, indent: int) -> list[str]:
    """``value`` as HCL: the first line has no indent, the following lines ``indent`` spaces."""
    one = _scalar(value)
    if one is not None:
        return [one]
    pad = " " * (indent + 2)
    if isinstance(value, Function):
        inner = _value(value.argument, indent)
        return (
            [f"{value.name}({inner[0]}", *inner[1:-1], inner[-1] + ")"]
            if len(inner) > 1
            else [f"{value.name}({inner[0]})"]
        )
    if isinstance(value, list):
        lines = ["["]
        for item in value:
            item_lines = _value(item, indent + 2)
            lines.append(pad + item_lines[0])
            lines += item_lines[1:]
            lines[-1] += ","
        lines.append(" " * indent + "]")
        return lines
    if isinstance(value, Mapping):
        lines = ["{"]
        width = max(len(_key(str(k))) for k in value)
        for k, v in value.items():
            item_lines = _value(v, indent + 2)
            lines.append(f"{pad}{_key(str(k)):<{width}} = {item_lines[0]}")
            lines += item_lines[1:]
        lines.append(" " * indent + "}")
        return lines
    raise TypeError(f"cannot write {type(value).__name__} as HCL")


@dataclass
class Block:
    """An HCL block: ``resource "aws_s3_bucket" "logs" { ... }``, with comments above it."""

    kind: str
    labels: tuple[str, ...] = ()
    body: list[Any] = field(default_factory=list)
    """Attributes (``(name, value)``), nested :class:`Block` s, comments (``Comment``)."""
    comments: list[str] = field(default_factory=list)

    def set(self, name: str, value: Any) -> Block:
        """Add an attribute; returns the block."""
        self.body.append((name, value))
        return self

    def add(self, block: Block) -> Block:
        """Add a nested block; returns the nested block."""
        self.body.append(block)
        return block

    def note(self, text: str) -> Block:
        """Add a comment line inside the block (checkov reads its skip comments there)."""
        self.body.append(Comment(text))
        return self

    def render(self, indent: int = 0) -> list[str]:
        """The block as lines (comments above, attributes aligned as ``terraform fmt`` does)."""
        pad = " " * indent
        lines = _comment(self.comments, indent)
        head = " ".join([self.kind, *(literal(label) for label in self.labels)])
        lines.append(f"{pad}{head} {{")
        run: list[tuple[str, Any]] = []

        def flush() -> None:
            width = max((len(_key(n)) for n, _ in run), default=0)
            for name, value in run:
                value_lines = _value(value, indent + 2)
                lines.append(f"{pad}  {_key(name):<{width}} = {value_lines[0]}")
                lines.extend(value_lines[1:])
            run.clear()

        after_block = False
        for item in self.body:
            if isinstance(item, tuple):
                if after_block:
                    lines.append("")
                    after_block = False
                run.append(item)
                continue
            flush()
            if isinstance(item, Comment):
                lines += _comment([item.text], indent + 2, raw=item.text.startswith("checkov:"))
                continue
            if not lines[-1].endswith("{") and not lines[-1].lstrip().startswith("#"):
                lines.append("")
            lines += item.render(indent + 2)
            after_block = True
        flush()
        lines.append(f"{pad}}}")
        return lines


@dataclass(frozen=True)
class Comment:
    """A comment line inside a block."""

    text: str


def _comment(lines: Iterable[str], spaces: int = 0, *, raw: bool = False) -> list[str]:
    """Comment lines; prose is wrapped to 100 columns, JSON and commands are kept."""
    pad = " " * spaces
    out: list[str] = []
    for line in lines:
        text = line.lstrip()
        if raw or not text or text[0] in '[]{}"' or line.startswith("  "):
            out.append(f"{pad}# {line}".rstrip() if not raw else f"{pad}#{line}")
            continue
        out += [f"{pad}# {part}" for part in wrap_prose(text, 98 - spaces)]
    return out


def _json_lines(document: Any) -> list[str]:
    return json.dumps(document, indent=2, ensure_ascii=False).split("\n")


# --------------------------------------------------------------------------- stand-ins

# The answers are rebuilt with these names, the policies written for them, and each stand-in
# then replaced by the variable that holds the name: the documents are apply's own.
_ACCOUNT = "000011112222"
_TRAIL = "zqtrailzq"
_BUCKET = "zqbucketzq"
_PREFIX = "zqprefixzq"
_ACCESS_BUCKET = "zqaccesslogszq"
_ACCESS_PREFIX = "zqaccessprefixzq/"
_TOPIC = "zqtopiczq"
_GROUP = "zqloggroupzq"
_ORG = "o-zqorgidzq00"
_SID_SUFFIX = "zqsidzq"
"""Stands for the trail's name without its '.', '_' and '-' (a Sid is letters and digits)."""


@dataclass
class _Check:
    """A scanner check: the ids, whether this configuration passes it, and why."""

    ids: str
    passes: bool | None
    """True passes, False fails by the answers' choice, None depends on a variable."""
    reason: str


# Checks that do not fit this setup whatever the answers: skipped where they apply, with why.
_SKIPS: dict[str, str] = {
    "CKV_AWS_144": "cross-region replication is a second bucket in another region, "
    "outside this setup; the log file validation digests prove integrity",
    "CKV2_AWS_62": "nothing consumes S3 event notifications of log objects here; "
    "the trail's SNS topic (when chosen) announces every log file",
    "CKV2_AWS_61": "no lifecycle rule: log files are kept until someone decides "
    "otherwise (a rule that expires audit logs is a retention decision, not a default)",
    "CKV_AWS_145": "S3 server access log delivery supports only SSE-S3 target buckets, "
    "so the access log bucket cannot use a KMS key",
}

_TRAIL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$"
_BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_PREFIX_PATTERN = r"^[^/](.{0,198}[^/])?$"
_ALIAS_PATTERN = r"^alias/[a-zA-Z0-9:/_-]+$"
_LOG_GROUP_PATTERN = r"^[A-Za-z0-9_./#-]{1,512}$"
_TOPIC_PATTERN = r"^[A-Za-z0-9_-]{1,256}$"
_ROLE_PATTERN = r"^[A-Za-z0-9+=,.@_-]{1,64}$"
_ORG_PATTERN = r"^o-[a-z0-9]{10,32}$"


def _stand_in_answers(answers: Answers) -> Answers:
    """The answers with every name the variables hold replaced by its stand-in."""
    data = answers.model_dump(mode="python")
    data["trail"]["name"] = _TRAIL
    bucket = data["bucket"]
    bucket["name"] = _BUCKET
    if bucket.get("prefix"):
        bucket["prefix"] = _PREFIX
    if bucket.get("access_logs"):
        bucket["access_logs"]["bucket"] = _ACCESS_BUCKET
        bucket["access_logs"]["prefix"] = _ACCESS_PREFIX
    notifications = data["notifications"]
    if answers.notifications.sns_topic and not answers.notifications.topic_is_arn:
        notifications["sns_topic"] = _TOPIC
    if answers.cloudwatch_logs.log_group:
        data["cloudwatch_logs"]["log_group"] = _GROUP
    return Answers.model_validate(data)


class _Config:
    """Builds the configuration for one set of answers."""

    def __init__(self, answers: Answers, ctx: AccountContext) -> None:
        self.answers = answers
        self.ctx = ctx
        self.names = Names(answers, ctx)
        self.home = self.names.home_region
        self.partition = self.names.partition
        stand_in_ctx = AccountContext(
            account_id=_ACCOUNT,
            partition=ctx.partition,
            region=ctx.region,
            organization_id=_ORG if answers.trail.organization else None,
        )
        self.stand_in = Names(_stand_in_answers(answers), stand_in_ctx)
        self.org_id = _ORG if answers.trail.organization else None
        enc = answers.encryption
        self.kms = enc.type == "sse-kms"
        self.new_key = enc.new_key
        self.existing_key = enc.existing_key
        cw = answers.cloudwatch_logs
        self.logs = cw.enabled
        self.new_role = cw.enabled and not cw.role_is_arn
        n = answers.notifications
        self.topic = n.sns_topic is not None
        self.new_topic = self.topic and not n.topic_is_arn
        self.encrypted_topic = encrypts_topic(self.names, self.names.bucket_region())
        # The rule apply follows too: the group is encrypted with the new key of its region.
        self.encrypted_log_group = encrypts_log_group(self.names, self.names.bucket_region())
        bucket = answers.bucket
        self.central = not bucket.create and bucket.account is not None
        self.blocks: list[Block] = []
        self.checks: list[_Check] = []
        self.before_apply: list[str] = []
        self.trail_depends: list[str] = []
        self.tags = dict(sorted(answers.trail.tags.items()))

    # ------------------------------------------------------------------ stand-ins

    def swap(self, value: Any) -> Any:
        """``value`` (a policy, selectors) with the stand-ins replaced by variables."""
        if isinstance(value, Mapping):
            return {k: self.swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.swap(v) for v in value]
        if not isinstance(value, str):
            return value
        text = value.replace("${", "$${").replace("%{", "%%{")
        original = text
        text = text.replace(f"arn:{self.partition}:", "arn:${local.partition}:")
        # Only this account's ARNs name the home region as "the provider's".
        text = re.sub(
            rf"(arn:\$\{{local\.partition\}}:[a-z0-9-]+:){re.escape(self.home)}(:{_ACCOUNT}:)",
            r"\1${var.region}\2",
            text,
        )
        text = text.replace(f"_CloudTrail_{self.home}", "_CloudTrail_${var.region}")
        text = text.replace(f"logs.{self.home}.amazonaws.com", "logs.${var.region}.amazonaws.com")
        for stand_in, variable in (
            (_ACCOUNT, "${local.account_id}"),
            (_TRAIL, "${var.trail_name}"),
            (_ACCESS_PREFIX, "${var.access_log_prefix}"),
            (_ACCESS_BUCKET, "${var.access_log_bucket}"),
            (_BUCKET, "${var.bucket_name}"),
            (_PREFIX, "${var.log_prefix}"),
            (_TOPIC, "${var.topic_name}"),
            (_GROUP, "${var.log_group_name}"),
            (_ORG, "${var.organization_id}"),
            (_SID_SUFFIX, "${local.sid_suffix}"),
        ):
            text = text.replace(stand_in, variable)
        if text == original:
            return value  # nothing to interpolate: the plain string (escaped when written)
        return Template(text)

    def policy(self, document: Mapping[str, Any]) -> Function:
        """``jsonencode({...})`` of a policy document, stand-ins replaced."""
        return Function("jsonencode", self.swap(document))

    def plain(self, value: Any) -> Any:
        """A value for a comment block: interpolations as ``${...}`` text."""
        if isinstance(value, Template):
            return value.text.replace("$${", "${")
        if isinstance(value, Mapping):
            return {k: self.plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.plain(v) for v in value]
        return value

    def merge_block(self, what: str, statements: Sequence[Mapping[str, Any]]) -> None:
        self.before_apply += [
            f"{what}: this configuration does not manage that policy (no data source reads "
            "it back, and writing it would replace it whole), so add these statements to it "
            "yourself, keeping every statement already there:",
            *_json_lines(self.plain(self.swap(list(statements)))),
            "",
        ]

    # ------------------------------------------------------------------ blocks

    def block(self, kind: str, *labels: str, comments: Sequence[str] = ()) -> Block:
        block = Block(kind, labels, comments=list(comments))
        self.blocks.append(block)
        return block

    def resource(self, kind: str, name: str, comments: Sequence[str] = ()) -> Block:
        return self.block("resource", kind, name, comments=comments)

    def variable(
        self,
        name: str,
        kind: str,
        description: str,
        default: Any = None,
        *,
        pattern: str | None = None,
        allow_empty: bool = False,
        has_default: bool = True,
    ) -> None:
        block = self.block("variable", name)
        block.set("type", Expr(kind))
        block.set("description", description)
        if has_default:
            block.set("default", default)
        if pattern is not None:
            check = block.add(Block("validation"))
            test = f"can(regex({literal(pattern)}, var.{name}))"
            if allow_empty:
                test = f'var.{name} == "" || {test}'
            check.set("condition", Expr(test))
            check.set("error_message", f"{name} must match {pattern}.")

    def tag_attr(self, block: Block) -> None:
        if self.tags:
            block.set("tags", Expr("var.tags"))

    def protect(self, block: Block) -> None:
        life = block.add(Block("lifecycle"))
        life.set("prevent_destroy", True)

    def skip(self, block: Block, *check_ids: str) -> None:
        for check_id in check_ids:
            block.note(f"checkov:skip={check_id}:{_SKIPS[check_id]}")

    # ------------------------------------------------------------------ build

    def build(self) -> None:
        """Every part: settings, variables, data and locals, then one resource group after
        another, the trail last."""
        self.settings()
        self.variables()
        self.data_and_locals()
        self.build_key()
        self.build_bucket()
        self.build_topic()
        self.build_logs()
        self.build_trail()
        self.build_outputs()

    def settings(self) -> None:
        tf = self.block("terraform")
        tf.set("required_version", ">= 1.3")
        providers = tf.add(Block("required_providers"))
        providers.set("aws", {"source": "hashicorp/aws", "version": PROVIDER_VERSION})
        provider = self.block(
            "provider",
            "aws",
            comments=["Every resource is created in this region: the trail's home region."],
        )
        provider.set("region", Expr("var.region"))

    # ------------------------------------------------------------------ variables

    def variables(self) -> None:
        a = self.answers
        self.variable("region", "string", "Home region of the trail.", self.home)
        self.variable(
            "trail_name",
            "string",
            "Name of the trail (3-128 letters, digits, '.', '_' or '-').",
            a.trail.name,
            pattern=_TRAIL_PATTERN,
        )
        self.bucket_variables()
        if a.trail.organization:
            org = self.ctx.organization_id
            self.variable(
                "organization_id",
                "string",
                "Organization id (o-...); member accounts' logs go under it.",
                org,
                pattern=_ORG_PATTERN,
                has_default=org is not None,
            )
        self.key_variables()
        self.topic_variables()
        self.logs_variables()
        if self.tags:
            self.variable(
                "tags",
                "map(string)",
                "Tags on the trail and every resource this configuration creates.",
                self.tags,
            )

    def bucket_variables(self) -> None:
        bucket = self.answers.bucket
        self.variable(
            "bucket_name",
            "string",
            "Log bucket to create (names are global: give each account its own)."
            if bucket.create
            else "Existing log bucket.",
            bucket.name,
            pattern=_BUCKET_PATTERN,
        )
        if bucket.prefix:
            self.variable(
                "log_prefix",
                "string",
                "Key prefix of the log files (no leading or trailing '/').",
                bucket.prefix,
                pattern=_PREFIX_PATTERN,
            )
        if not bucket.create and not self.central:
            self.variable(
                "existing_bucket_policy",
                "bool",
                "Whether the existing bucket has a policy now (its statements are kept and "
                "CloudTrail's merged in); false when it has none.",
                True,
            )
        if not bucket.create:
            return
        access = bucket.access_logs
        if access is None:
            self.variable(
                "access_log_bucket",
                "string",
                "Bucket that receives S3 server access logs of the log bucket; empty turns "
                "access logging off (fails CIS 4.4 / CKV_AWS_18).",
                "",
                pattern=_BUCKET_PATTERN,
                allow_empty=True,
            )
            return
        self.variable(
            "access_log_bucket",
            "string",
            "Bucket this configuration creates for the log bucket's S3 server access logs."
            if access.create
            else "Existing bucket in this region for the log bucket's S3 server access logs.",
            access.bucket,
            pattern=_BUCKET_PATTERN,
        )
        self.variable(
            "access_log_prefix",
            "string",
            "Key prefix of the server access log objects (ends in '/').",
            access.prefix,
        )

    def key_variables(self) -> None:
        if self.new_key:
            self.variable(
                "key_alias",
                "string",
                "Alias of the new KMS key that encrypts the log files.",
                self.names.key_alias(),
                pattern=_ALIAS_PATTERN,
            )
        elif self.existing_key:
            self.variable(
                "kms_key_id",
                "string",
                "Existing KMS key (key ARN, key id, alias/NAME or alias ARN). Same region as "
                "the bucket; its policy must allow this trail.",
                self.existing_key,
            )

    def topic_variables(self) -> None:
        n = self.answers.notifications
        if self.new_topic:
            self.variable(
                "topic_name",
                "string",
                "SNS topic notified of every log file delivered.",
                n.topic_name or "",
                pattern=_TOPIC_PATTERN,
            )
        elif self.topic:
            self.variable(
                "sns_topic_arn",
                "string",
                "Existing SNS topic (its policy must let the trail publish).",
                n.sns_topic or "",
            )

    def logs_variables(self) -> None:
        cw = self.answers.cloudwatch_logs
        if not self.logs:
            return
        self.variable(
            "log_group_name",
            "string",
            "CloudWatch Logs group the trail delivers events to.",
            cw.log_group or "",
            pattern=_LOG_GROUP_PATTERN,
        )
        self.variable(
            "retention_in_days",
            "number",
            "Days CloudWatch Logs keeps the events (CKV_AWS_338: >= 365).",
            cw.retention_days,
        )
        self.variable(
            "cloudwatch_logs_role_name",
            "string",
            "IAM role CloudTrail assumes to write to the log group (IAM is global: one per "
            "account)."
            if self.new_role
            else "Existing role CloudTrail assumes to write to the log group.",
            self.names.role_name or "",
            pattern=_ROLE_PATTERN,
        )

    # ------------------------------------------------------------------ data, locals

    def data_and_locals(self) -> None:
        self.block(
            "data",
            "aws_caller_identity",
            "current",
            comments=["The account and partition every ARN below is built from."],
        )
        self.block("data", "aws_partition", "current")
        bucket = self.answers.bucket
        if not bucket.create and not self.central:
            data = self.block(
                "data",
                "aws_s3_bucket",
                "logs",
                comments=["The existing log bucket (this configuration does not manage it)."],
            )
            data.set("bucket", Expr("var.bucket_name"))
            policy = self.block(
                "data",
                "aws_s3_bucket_policy",
                "existing",
                comments=[
                    "Its current policy, read at every plan: aws_s3_bucket_policy replaces a "
                    "bucket's whole policy, so the policy written below is this one with "
                    "CloudTrail's statements merged in, never CloudTrail's statements alone.",
                ],
            )
            policy.set("count", Expr("var.existing_bucket_policy ? 1 : 0"))
            policy.set("bucket", Expr("var.bucket_name"))
        if self.existing_key:
            key = self.block(
                "data",
                "aws_kms_key",
                "existing",
                comments=["The existing key: the trail needs its ARN."],
            )
            key.set("key_id", Expr("var.kms_key_id"))
        if self.logs and not self.new_role:
            role = self.block(
                "data",
                "aws_iam_role",
                "cloudwatch_logs",
                comments=["The existing delivery role (this configuration does not change it)."],
            )
            role.set("name", Expr("var.cloudwatch_logs_role_name"))
        values: dict[str, Any] = {
            "account_id": Expr("data.aws_caller_identity.current.account_id"),
            "partition": Expr("data.aws_partition.current.partition"),
            "trail_arn": Template(
                "arn:${local.partition}:cloudtrail:${var.region}:${local.account_id}"
                ":trail/${var.trail_name}"
            ),
        }
        if not bucket.create and not self.central:
            values["sid_suffix"] = Expr(f'replace(var.trail_name, {literal("/[^A-Za-z0-9]/")}, "")')
        locals_block = self.block(
            "locals",
            comments=[
                "The trail's ARN is known before the trail exists: the policies name it "
                "(aws:SourceArn) so that only this trail may use them."
            ],
        )
        for name, value in values.items():
            locals_block.set(name, value)

    # ------------------------------------------------------------------ values

    def key_arn(self) -> Expr:
        """The KMS key ARN resources use: the new key's or the existing key's."""
        if self.new_key:
            return Expr("aws_kms_key.trail.arn")
        return Expr("data.aws_kms_key.existing.arn")

    def bucket_id(self) -> Expr:
        if self.answers.bucket.create:
            return Expr("aws_s3_bucket.logs.id")
        return Expr("var.bucket_name")

    # ------------------------------------------------------------------ the key

    def build_key(self) -> None:
        if not self.kms:
            self.checks.append(
                _Check(
                    "CKV_AWS_35 / CIS 4.5 / CloudTrail.2",
                    False,
                    "SSE-S3 was chosen (encryption.type: sse-s3): the trail has no KMS key",
                )
            )
            return
        self.checks.append(
            _Check("CKV_AWS_35 / CIS 4.5 / CloudTrail.2", True, "the trail's KMS key encrypts")
        )
        if self.existing_key:
            self.merge_block(
                f"Key policy of the existing key {self.existing_key}",
                key_cloudtrail_statements(self.stand_in),
            )
            return
        self.new_key_resources()

    def new_key_resources(self) -> None:
        enc = self.answers.encryption
        # The stand-in names' log group ARN and home region become the variables (swap).
        document = key_policy(
            self.stand_in, topic=self.encrypted_topic, log_group=self.encrypted_log_group
        )
        comments = [
            "Customer managed key for the log files (same region as the bucket: the provider's).",
            "prevent_destroy: without the key the log files cannot be read, so terraform "
            "destroy stops here instead of scheduling its deletion.",
        ]
        if self.encrypted_topic:
            comments.append(
                "Also encrypts the SNS topic (CKV_AWS_26) and lets CloudTrail publish to it."
            )
        if self.encrypted_log_group:
            comments.append(
                "Also encrypts the CloudWatch Logs group (CKV_AWS_158): "
                "logs.<region>.amazonaws.com may use it for that one group only."
            )
        if enc.rotation:
            self.checks.append(_Check("CKV_AWS_7 / CIS 4.6", True, "yearly key rotation is on"))
        else:
            self.checks.append(
                _Check("CKV_AWS_7 / CIS 4.6", False, "key rotation is off (encryption.rotation)")
            )
            comments.append(
                "CKV_AWS_7 / CIS 4.6 fail: automatic key rotation is off "
                "(encryption.rotation: false)."
            )
        if not enc.decrypt_principals:
            # checkov's Terraform CKV_AWS_33 accepts the grant (it is conditioned); the
            # CloudFormation export reports it failing. Either way a reader should know.
            comments.append(
                'No encryption.decrypt_principals: Principal "*", limited to this account by '
                "kms:CallerAccount, may decrypt log files. Name the reader roles to narrow it."
            )
        key = self.resource("aws_kms_key", "trail", comments)
        key.set("description", Template("CloudTrail log encryption for trail ${var.trail_name}"))
        key.set("key_usage", "ENCRYPT_DECRYPT")
        key.set("customer_master_key_spec", "SYMMETRIC_DEFAULT")
        key.set("enable_key_rotation", enc.rotation)
        key.set("deletion_window_in_days", 30)
        key.set("policy", self.policy(document))
        self.tag_attr(key)
        self.protect(key)
        alias = self.resource("aws_kms_alias", "trail")
        alias.set("name", Expr("var.key_alias"))
        alias.set("target_key_id", Expr("aws_kms_key.trail.key_id"))

    # ------------------------------------------------------------------ the bucket

    def build_bucket(self) -> None:
        bucket = self.answers.bucket
        if bucket.access_logs is not None and bucket.access_logs.create:
            self.access_log_bucket()
        elif bucket.access_logs is not None:
            self.merge_block(
                f"Bucket policy of the existing access log bucket {bucket.access_logs.bucket}",
                [access_log_bucket_policy(self.stand_in)["Statement"][0]],
            )
        if bucket.create:
            self.new_bucket()
        elif self.central:
            self.merge_block(
                f"Bucket policy of the central bucket {bucket.name} (account {bucket.account}, "
                "changed with that account's credentials)",
                bucket_cloudtrail_statements(self.stand_in, self.org_id),
            )
            self.existing_bucket_check()
        else:
            self.existing_bucket_policy()
            self.existing_bucket_lifecycle()
            self.existing_bucket_check()

    def existing_bucket_check(self) -> None:
        self.checks.append(
            _Check(
                "CKV_AWS_18 / CIS 4.4, CKV_AWS_21, public access block",
                None,
                "the existing bucket's settings are not in this configuration: check them there",
            )
        )

    def bucket_settings(self, name: str, bucket: Expr, *, kms: bool, versioning: bool) -> None:
        """The bucket's settings, one resource each (provider v4 and later)."""
        owner = self.resource("aws_s3_bucket_ownership_controls", name)
        owner.set("bucket", bucket)
        owner.add(Block("rule")).set("object_ownership", "BucketOwnerEnforced")
        block = self.resource("aws_s3_bucket_public_access_block", name)
        block.set("bucket", bucket)
        for setting in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            block.set(setting, True)
        encryption = self.resource("aws_s3_bucket_server_side_encryption_configuration", name)
        encryption.set("bucket", bucket)
        rule = encryption.add(Block("rule"))
        default = rule.add(Block("apply_server_side_encryption_by_default"))
        if kms:
            default.set("sse_algorithm", "aws:kms")
            default.set("kms_master_key_id", self.key_arn())
            rule.set("bucket_key_enabled", False)
        else:
            default.set("sse_algorithm", "AES256")
        if versioning:
            versions = self.resource("aws_s3_bucket_versioning", name)
            versions.set("bucket", bucket)
            versions.add(Block("versioning_configuration")).set("status", "Enabled")

    def access_log_bucket(self) -> None:
        """The bucket that receives the log bucket's access logs, and its policy."""
        bucket = self.resource(
            "aws_s3_bucket",
            "access_logs",
            [
                "Receives the log bucket's S3 server access logs (CIS 4.4, CloudTrail.7): ACLs "
                "disabled, all public access blocked, SSE-S3 (log delivery does not support "
                "SSE-KMS targets), TLS-only policy. prevent_destroy: it holds access logs.",
                "It does not log its own access (logs of logs never end).",
            ],
        )
        bucket.set("bucket", Expr("var.access_log_bucket"))
        bucket.set("force_destroy", False)
        self.tag_attr(bucket)
        self.skip(bucket, "CKV_AWS_144", "CKV2_AWS_62", "CKV2_AWS_61", "CKV_AWS_145")
        self.protect(bucket)
        self.bucket_settings(
            "access_logs",
            Expr("aws_s3_bucket.access_logs.id"),
            kms=False,
            versioning=self.answers.bucket.versioning,
        )
        policy = self.resource(
            "aws_s3_bucket_policy",
            "access_logs",
            [
                "S3 log delivery may write only the log bucket's access logs under the prefix "
                "(aws:SourceArn, aws:SourceAccount); every request must use TLS."
            ],
        )
        policy.set("bucket", Expr("aws_s3_bucket.access_logs.id"))
        policy.set("policy", self.policy(access_log_bucket_policy(self.stand_in)))

    def new_bucket(self) -> None:
        bucket = self.answers.bucket
        comments = [
            "The log bucket: ACLs disabled, all public access blocked, default encryption, "
            "TLS-only policy, each setting a resource of its own (provider v4 and later).",
            "prevent_destroy: audit logs must outlive this configuration.",
        ]
        if bucket.region and bucket.region != self.home:
            comments.append(
                f"The answers put the bucket in {bucket.region}; this configuration creates it "
                "in the provider's region (add a provider for that region, or use the wizard "
                "for a cross-region setup)."
            )
        if bucket.versioning:
            self.checks.append(_Check("CKV_AWS_21", True, "versioning is on"))
        else:
            self.checks.append(
                _Check("CKV_AWS_21", False, "versioning is off (bucket.versioning: false)")
            )
            comments.append(
                "CKV_AWS_21 fails: versioning is off by the answers' choice (bucket.versioning: "
                "false); overwritten or deleted log files cannot be recovered."
            )
        if self.kms:
            self.checks.append(_Check("CKV_AWS_145", True, "the log bucket is SSE-KMS"))
        else:
            self.checks.append(
                _Check("CKV_AWS_145", False, "SSE-S3 was chosen (encryption.type: sse-s3)")
            )
            comments.append(
                "CKV_AWS_145 fails: encrypted with SSE-S3 (AES256) by the answers' choice "
                "(encryption.type: sse-s3); CIS 4.5 expects SSE-KMS."
            )
        if bucket.access_logs is None:
            self.checks.append(
                _Check(
                    "CKV_AWS_18 / CIS 4.4 / CloudTrail.7",
                    None,
                    "server access logging is on only when the access_log_bucket variable is set",
                )
            )
            comments.append(
                "CKV_AWS_18 / CIS 4.4: server access logging is on only when access_log_bucket "
                "is set (aws_s3_bucket_logging below)."
            )
        else:
            self.checks.append(
                _Check(
                    "CKV_AWS_18 / CIS 4.4 / CloudTrail.7",
                    True,
                    "the log bucket's server access logs go to the access_log_bucket bucket",
                )
            )
        resource = self.resource("aws_s3_bucket", "logs", comments)
        resource.set("bucket", Expr("var.bucket_name"))
        resource.set("force_destroy", False)
        self.tag_attr(resource)
        retention = bucket.retention
        lifecycle = retention is not None and retention.lifecycle
        self.skip(resource, "CKV_AWS_144", "CKV2_AWS_62", *(() if lifecycle else ("CKV2_AWS_61",)))
        self.protect(resource)
        if retention is not None and retention.object_lock is not None:
            # Object Lock can only be turned on when the bucket is created.
            resource.set("object_lock_enabled", True)
        self.bucket_settings(
            "logs", Expr("aws_s3_bucket.logs.id"), kms=self.kms, versioning=bucket.versioning
        )
        self.bucket_retention()
        self.bucket_logging()
        policy = self.resource(
            "aws_s3_bucket_policy",
            "logs",
            [
                "CloudTrail may check the ACL and write only this trail's log files "
                "(aws:SourceArn); every request must use TLS. The trail waits for it.",
            ],
        )
        policy.set("bucket", Expr("aws_s3_bucket.logs.id"))
        policy.set("policy", self.policy(bucket_policy(self.stand_in, self.org_id)))
        self.trail_depends.append("aws_s3_bucket_policy.logs")

    def logs_prefix(self) -> Any:
        """Where CloudTrail writes under the bucket: ``AWSLogs/`` under ``log_prefix``."""
        if self.answers.bucket.prefix:
            return Template("${var.log_prefix}/AWSLogs/")
        return "AWSLogs/"

    def bucket_retention(self) -> None:
        """A new bucket's Object Lock default retention and the trail's lifecycle rule."""
        retention = self.answers.bucket.retention
        if retention is None:
            return
        bucket = Expr("aws_s3_bucket.logs.id")
        lock = retention.object_lock
        if lock is not None:
            comments = [
                f"Object Lock {lock.mode} mode, {lock.days} days: never make this bucket a "
                "server access log target (S3 does not deliver to a bucket with a default "
                "retention)."
            ]
            if lock.mode == "COMPLIANCE":
                comments.append(
                    "COMPLIANCE: nobody can shorten or remove a log file's retention, and the "
                    "bucket cannot be deleted until every version's retention has ended."
                )
            config = self.resource("aws_s3_bucket_object_lock_configuration", "logs", comments)
            config.set("bucket", bucket)
            default = config.add(Block("rule")).add(Block("default_retention"))
            default.set("mode", lock.mode)
            default.set("days", lock.days)
        if not retention.lifecycle:
            return
        rule_text = retention_rule(retention, self.answers.trail.name, self.answers.bucket.prefix)
        comments = [f"Lifecycle of the trail's log files only: {describe_rule(rule_text)}."]
        comments += [f"Warning: {p}." for p in retention_problems(rule_text)]
        life = self.resource("aws_s3_bucket_lifecycle_configuration", "logs", comments)
        life.set("bucket", bucket)
        rule = life.add(Block("rule"))
        rule.set("id", rule_id(self.answers.trail.name))
        rule.set("status", "Enabled")
        rule.add(Block("filter")).set("prefix", self.logs_prefix())
        if retention.transition_days is not None:
            move = rule.add(Block("transition"))
            move.set("days", retention.transition_days)
            move.set("storage_class", retention.storage_class)
        if retention.expire_days is not None:
            rule.add(Block("expiration")).set("days", retention.expire_days)
        if retention.noncurrent_expire_days is not None:
            rule.add(Block("noncurrent_version_expiration")).set(
                "noncurrent_days", retention.noncurrent_expire_days
            )
        if self.answers.bucket.versioning:
            # A noncurrent-version rule needs versioning on first.
            life.set("depends_on", [Expr("aws_s3_bucket_versioning.logs")])

    def existing_bucket_lifecycle(self) -> None:
        """The trail's rule for an existing bucket, merged by hand (not managed here: the
        provider's lifecycle resource replaces every rule of the bucket)."""
        retention = self.answers.bucket.retention
        if retention is None or not retention.lifecycle:
            return
        name = self.answers.bucket.name
        rule = retention_rule(retention, self.answers.trail.name, self.answers.bucket.prefix)
        self.before_apply += [
            f"Lifecycle of the existing bucket {name}: this configuration does not manage it "
            "(aws_s3_bucket_lifecycle_configuration would replace every rule). Read the rules "
            f"(aws s3api get-bucket-lifecycle-configuration --bucket {name}), add or replace "
            "this one by its ID, and write them all back:",
            *_json_lines(rule),
            "",
        ]

    def bucket_logging(self) -> None:
        access = self.answers.bucket.access_logs
        if access is None:
            logging = self.resource(
                "aws_s3_bucket_logging",
                "logs",
                ["Server access logging of the log bucket, when access_log_bucket is set."],
            )
            logging.set("count", Expr('var.access_log_bucket == "" ? 0 : 1'))
            logging.set("bucket", Expr("aws_s3_bucket.logs.id"))
            logging.set("target_bucket", Expr("var.access_log_bucket"))
            logging.set("target_prefix", Template("${var.bucket_name}/"))
            return
        logging = self.resource(
            "aws_s3_bucket_logging",
            "logs",
            ["The log bucket's server access logs go to the access_log_bucket bucket."],
        )
        logging.set("bucket", Expr("aws_s3_bucket.logs.id"))
        target = "aws_s3_bucket.access_logs.id" if access.create else "var.access_log_bucket"
        logging.set("target_bucket", Expr(target))
        logging.set("target_prefix", Expr("var.access_log_prefix"))
        if access.create:
            # S3 checks the target when logging is turned on: its policy must be there first.
            logging.set("depends_on", [Expr("aws_s3_bucket_policy.access_logs")])

    def existing_bucket_policy(self) -> None:
        """The existing bucket's policy, read back and written with CloudTrail's merged in."""
        # The Sids end in the trail's name: a statement below replaces the existing statement
        # with its Sid (its own, written by an earlier apply), never another trail's.
        statements = [
            {**s, "Sid": f"{s['Sid']}{_SID_SUFFIX}"}
            for s in bucket_cloudtrail_statements(self.stand_in, self.org_id)
        ]
        document = self.block(
            "data",
            "aws_iam_policy_document",
            "bucket",
            comments=[
                "The existing policy kept whole, CloudTrail's statements merged in: every "
                "statement already there stays; one with the same Sid as a statement below "
                "(written by an earlier apply of this configuration) is replaced by it, so "
                "applying again changes nothing. The Sids end in the trail's name (letters and "
                "digits), so another trail's statements are never replaced.",
            ],
        )
        document.set(
            "source_policy_documents",
            Expr("data.aws_s3_bucket_policy.existing[*].policy"),
        )
        document.set(
            "override_policy_documents",
            [self.policy({"Version": VERSION, "Statement": statements})],
        )
        policy = self.resource(
            "aws_s3_bucket_policy",
            "logs",
            [
                "aws_s3_bucket_policy replaces the bucket's whole policy: it is given the "
                "merged document above, never CloudTrail's statements alone. The trail waits "
                "for it.",
            ],
        )
        policy.set("bucket", Expr("data.aws_s3_bucket.logs.id"))
        policy.set("policy", Expr("data.aws_iam_policy_document.bucket.json"))
        self.trail_depends.append("aws_s3_bucket_policy.logs")

    # ------------------------------------------------------------------ the topic

    def build_topic(self) -> None:
        if not self.topic:
            self.checks.append(
                _Check("CKV_AWS_252", False, "no SNS topic (notifications.sns_topic not set)")
            )
            return
        self.checks.append(_Check("CKV_AWS_252", True, "the trail notifies an SNS topic"))
        if not self.new_topic:
            self.merge_block(
                f"Access policy of the existing topic {self.answers.notifications.sns_topic}",
                [topic_cloudtrail_statement(self.stand_in)],
            )
            return
        comments = ["SNS topic notified of every log file delivered."]
        if self.encrypted_topic:
            self.checks.append(_Check("CKV_AWS_26", True, "the topic is encrypted with the key"))
        else:
            reason, comment = self.topic_unencrypted()
            self.checks.append(_Check("CKV_AWS_26", False, reason))
            comments.append(comment)
        topic = self.resource("aws_sns_topic", "notifications", comments)
        topic.set("name", Expr("var.topic_name"))
        if self.encrypted_topic:
            topic.set("kms_master_key_id", Expr("aws_kms_key.trail.arn"))
        self.tag_attr(topic)
        policy = self.resource(
            "aws_sns_topic_policy",
            "notifications",
            ["The account administers the topic; only this trail may publish to it."],
        )
        policy.set("arn", Expr("aws_sns_topic.notifications.arn"))
        policy.set("policy", self.policy(topic_policy(self.stand_in)))
        self.trail_depends.append("aws_sns_topic_policy.notifications")

    def topic_unencrypted(self) -> tuple[str, str]:
        """Why the new topic is not encrypted (the rule apply follows), as check and comment."""
        if not self.kms:
            return (
                "SSE-S3: no customer managed key for the topic",
                "CKV_AWS_26 fails: the answers choose SSE-S3, so there is no customer managed "
                "key to encrypt the topic with (CloudTrail cannot publish to a topic encrypted "
                "with the AWS managed alias/aws/sns key).",
            )
        if self.existing_key:
            return (
                "the topic is not encrypted with an existing key (its policy is not widened)",
                "CKV_AWS_26 fails: the topic is encrypted only with a key this setup creates; "
                "the policy of the existing key is not widened beyond log delivery.",
            )
        return (
            "the answers put the key in another region than the topic",
            "CKV_AWS_26 fails: the answers put the bucket and its key in "
            f"{self.names.bucket_region()}, the topic in {self.home}; a topic can only use a "
            "key of its own region, so it is left unencrypted, as apply does.",
        )

    # ------------------------------------------------------------------ CloudWatch Logs

    def log_group_unencrypted(self) -> tuple[str, str]:
        """Why the log group is not encrypted (the rule apply follows), as check and comment."""
        reason, why = log_group_left_unencrypted(self.names)
        return reason, f"CKV_AWS_158 fails: {why}"

    def build_logs(self) -> None:
        if not self.logs:
            self.checks.append(
                _Check(
                    "CKV2_AWS_10 / CloudTrail.5",
                    False,
                    "no CloudWatch Logs delivery (cloudwatch_logs.log_group not set)",
                )
            )
            return
        self.checks.append(
            _Check("CKV2_AWS_10 / CloudTrail.5", True, "events are delivered to CloudWatch Logs")
        )
        comments = [
            "CloudWatch Logs group the trail delivers to (for CIS metric filters and alarms).",
            "prevent_destroy: it holds the trail's events. Remove this resource if the group "
            "already exists.",
        ]
        if self.encrypted_log_group:
            self.checks.append(_Check("CKV_AWS_158", True, "the log group is encrypted"))
        else:
            reason, comment = self.log_group_unencrypted()
            self.checks.append(_Check("CKV_AWS_158", False, reason))
            comments.append(comment)
        days = self.answers.cloudwatch_logs.retention_days
        if days >= 365:
            self.checks.append(_Check("CKV_AWS_338", True, f"events are kept {days} days"))
        else:
            self.checks.append(_Check("CKV_AWS_338", False, f"events are kept only {days} days"))
            comments.append(
                f"CKV_AWS_338 fails: events are kept {days} days by the answers' choice "
                "(cloudwatch_logs.retention_days); it expects at least 365."
            )
        group = self.resource("aws_cloudwatch_log_group", "trail", comments)
        group.set("name", Expr("var.log_group_name"))
        group.set("retention_in_days", Expr("var.retention_in_days"))
        if self.encrypted_log_group:
            group.set("kms_key_id", self.key_arn())
        self.tag_attr(group)
        self.protect(group)
        if self.new_role:
            self.role_resources()
        else:
            self.before_apply += [
                f"The existing role {self.answers.cloudwatch_logs.role} must trust CloudTrail "
                "and may write to the log group; this configuration does not change it. Its "
                "trust policy needs:",
                *_json_lines(
                    self.plain(self.swap(cloudwatch_role_trust_policy(self.stand_in)["Statement"]))
                ),
                "and its permissions:",
                *_json_lines(
                    self.plain(
                        self.swap(cloudwatch_role_policy(self.stand_in, self.org_id)["Statement"])
                    )
                ),
                "",
            ]

    def role_resources(self) -> None:
        role = self.resource(
            "aws_iam_role",
            "cloudwatch_logs",
            [
                "CloudTrail may assume the role: AWS's documented trust policy for it, without "
                "conditions (AWS does not document CloudTrail sending aws:SourceArn when it "
                "assumes a role, and a condition it does not send stops the delivery).",
            ],
        )
        role.set("name", Expr("var.cloudwatch_logs_role_name"))
        role.set(
            "description",
            Template("Lets CloudTrail trail ${var.trail_name} write to its log group"),
        )
        role.set("assume_role_policy", self.policy(cloudwatch_role_trust_policy(self.stand_in)))
        self.tag_attr(role)
        policy = self.resource(
            "aws_iam_role_policy",
            "cloudwatch_logs",
            [
                "The role may only create streams and put events in the trail's own streams of "
                "the log group.",
                "The trail depends on it (depends_on): CloudTrail checks the role when the trail "
                "is created, so the trail is created after the role and its policy.",
            ],
        )
        policy.set("name", ROLE_POLICY_NAME)
        policy.set("role", Expr("aws_iam_role.cloudwatch_logs.id"))
        policy.set("policy", self.policy(cloudwatch_role_policy(self.stand_in, self.org_id)))
        self.trail_depends.append("aws_iam_role_policy.cloudwatch_logs")

    # ------------------------------------------------------------------ the trail

    def build_trail(self) -> None:
        a = self.answers
        t = a.trail
        comments = [
            "The trail, created last: CloudTrail checks the policies of the bucket, key, topic "
            "and role it uses when it is created"
            + (
                ", so merge the statements listed at the top first."
                if self.before_apply
                else ", so it depends on them."
            )
        ]
        comments += self.trail_checks()
        trail = self.resource("aws_cloudtrail", "trail", comments)
        trail.set("name", Expr("var.trail_name"))
        trail.set("s3_bucket_name", self.bucket_id())
        if a.bucket.prefix:
            trail.set("s3_key_prefix", Expr("var.log_prefix"))
        trail.set("enable_logging", True)
        trail.set("enable_log_file_validation", t.log_file_validation)
        trail.set("is_multi_region_trail", t.multi_region)
        trail.set("include_global_service_events", t.include_global_events)
        if t.organization:
            trail.set("is_organization_trail", True)
        if self.kms:
            trail.set("kms_key_id", self.key_arn())
        if self.topic:
            topic = "aws_sns_topic.notifications.name" if self.new_topic else "var.sns_topic_arn"
            trail.set("sns_topic_name", Expr(topic))
        if self.logs:
            # CloudTrail wants the group's ARN with the streams wildcard; the provider's arn
            # attribute has none.
            trail.set(
                "cloud_watch_logs_group_arn", Template("${aws_cloudwatch_log_group.trail.arn}:*")
            )
            role = (
                "aws_iam_role.cloudwatch_logs.arn"
                if self.new_role
                else "data.aws_iam_role.cloudwatch_logs.arn"
            )
            trail.set("cloud_watch_logs_role_arn", Expr(role))
        for selector in self.swap(advanced_event_selectors(self.stand_in.answers, self.stand_in)):
            block = trail.add(Block("advanced_event_selector"))
            block.set("name", selector["Name"])
            for condition in selector["FieldSelectors"]:
                field_block = block.add(Block("field_selector"))
                field_block.set("field", condition["Field"])
                for operator, values in condition.items():
                    if operator != "Field":
                        field_block.set(_snake(operator), values)
        for insight in a.events.insights:
            trail.add(Block("insight_selector")).set("insight_type", insight)
        self.tag_attr(trail)
        if self.trail_depends:
            trail.set("depends_on", [Expr(d) for d in self.trail_depends])

    def trail_checks(self) -> list[str]:
        a = self.answers
        comments: list[str] = []
        checks = (
            (
                "CKV_AWS_67 / CIS 4.1 / CloudTrail.1",
                a.trail.multi_region,
                "multi-region trail",
                "single-region trail",
                "CKV_AWS_67 / CIS 4.1 fail: a single-region trail by the answers' choice "
                "(trail.multi_region: false); other regions go unrecorded.",
            ),
            (
                "CKV_AWS_36 / CIS 4.2 / CloudTrail.4",
                a.trail.log_file_validation,
                "log file validation on",
                "log file validation off",
                "CKV_AWS_36 / CIS 4.2 fail: log file validation is off by the answers' choice "
                "(trail.log_file_validation: false).",
            ),
        )
        for ids, passes, good, bad, comment in checks:
            self.checks.append(_Check(ids, passes, good if passes else bad))
            if not passes:
                comments.append(comment)
        if not self.kms:
            comments.append(
                "CKV_AWS_35 / CIS 4.5 / CloudTrail.2 fail: SSE-S3 was chosen "
                "(encryption.type: sse-s3), so there is no kms_key_id; choose sse-kms to pass."
            )
        if not self.topic:
            comments.append(
                "CKV_AWS_252 fails: no SNS topic is notified (notifications.sns_topic not set)."
            )
        if not self.logs:
            comments.append(
                "CKV2_AWS_10 / CloudTrail.5 fail: no CloudWatch Logs delivery "
                "(cloudwatch_logs.log_group not set); the CIS monitoring alarms need it."
            )
        if a.trail.organization:
            comments.append(
                "Organization trail: apply in the organization's management account, with "
                "trusted access for cloudtrail.amazonaws.com enabled."
            )
        return comments

    def build_outputs(self) -> None:
        outputs: list[tuple[str, str, Any]] = [
            ("trail_arn", "ARN of the trail", Expr("aws_cloudtrail.trail.arn")),
            ("bucket_name", "Bucket the log files go to", self.bucket_id()),
        ]
        if self.kms:
            outputs.append(("key_arn", "KMS key that encrypts the log files", self.key_arn()))
        if self.new_topic:
            outputs.append(("topic_arn", "SNS topic", Expr("aws_sns_topic.notifications.arn")))
        if self.logs:
            outputs.append(
                (
                    "log_group_arn",
                    "CloudWatch Logs group",
                    Expr("aws_cloudwatch_log_group.trail.arn"),
                )
            )
        for name, description, value in outputs:
            block = self.block("output", name)
            block.set("description", description)
            block.set("value", value)

    # ------------------------------------------------------------------ text

    def header(self) -> list[str]:
        a = self.answers
        mark = {True: "pass", False: "FAIL", None: "var"}
        lines = [
            f"CloudTrail trail {a.trail.name}: Terraform configuration generated by "
            f"cloudtrail-wizard {__version__}, for the AWS provider {PROVIDER_VERSION}.",
            "",
            "Apply it with the credentials of the account the trail is for:",
            "  terraform init && terraform plan && terraform apply",
            "Every name is a variable (defaults from the answers); every ARN is built from the "
            "provider's account and partition and the region variable.",
            "",
            "Scanner results for this configuration (pass, FAIL by the answers' choice, or "
            "var: depends on a variable):",
        ]
        width = max(len(c.ids) for c in self.checks)
        for check in self.checks:
            lead = f"  {mark[check.passes]:5} {check.ids:{width}}  "
            lines += wrap_prose(
                check.reason, 98, initial_indent=lead, subsequent_indent=" " * len(lead)
            )
        skipped = sorted(self.skipped())
        if skipped:
            lines += [
                "",
                "Skipped where they apply, whatever the answers (#checkov:skip comments say "
                "why): " + ", ".join(skipped) + ".",
            ]
        if self.before_apply:
            lines += ["", "BEFORE APPLYING:", ""]
            lines += self.before_apply
            lines.append(
                "${local.account_id}, ${local.partition} and ${var.region} stand for the "
                "provider's account, partition and region, ${var.NAME} for the variable NAME."
            )
        return lines

    def skipped(self) -> set[str]:
        found: set[str] = set()
        for block in self.blocks:
            for item in block.body:
                if isinstance(item, Comment) and item.text.startswith("checkov:skip="):
                    found.add(item.text.split("=", 1)[1].split(":", 1)[0])
        return found

    def render(self) -> str:
        self.build()
        out = _comment(self.header())
        for block in self.blocks:
            out.append("")
            out += block.render()
        return "\n".join(out) + "\n"


def _snake(name: str) -> str:
    """``NotStartsWith`` -> ``not_starts_with`` (the provider's field_selector attributes)."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def terraform_configuration(answers: Answers, ctx: AccountContext) -> str:
    """The answers as a commented Terraform configuration (HCL) for the AWS provider.

    Args:
        answers: The answers file.
        ctx: Account facts; only the organization id (a variable default) and the names
            derived from the answers are used: ARNs come from the provider's account.

    Returns:
        The configuration text; the same answers always give the same bytes.
    """
    return _Config(answers, ctx).render()


def terraform_checks(answers: Answers, ctx: AccountContext) -> dict[str, bool | None]:
    """The scanner checks the configuration reports in its header: check ids -> passes.

    True passes, False fails by the answers' choice, None depends on a variable.
    """
    config = _Config(answers, ctx)
    config.build()
    return {check.ids: check.passes for check in config.checks}


_CHECK_ID = re.compile(r"CKV2?_AWS_\d+")


def failing_check_ids(answers: Answers, ctx: AccountContext) -> set[str]:
    """checkov ids the configuration fails by the answers' choice (not counting variables)."""
    return {
        check_id
        for ids, passes in terraform_checks(answers, ctx).items()
        if passes is False
        for check_id in _CHECK_ID.findall(ids)
    }


def skipped_check_ids(answers: Answers, ctx: AccountContext) -> set[str]:
    """checkov ids skipped with a ``#checkov:skip`` comment (they do not fit this setup)."""
    config = _Config(answers, ctx)
    config.build()
    return config.skipped()
