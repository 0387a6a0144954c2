"""The wizard's steps and questions, defined once for every front end.

The TUI and the plain prompts render these same questions, choices, defaults, validation
messages and help texts, so the two never drift apart. Answers are collected as a nested
dict (``{"trail": {"name": ...}}``) and validated by :class:`wizard.model.answers.Answers`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from wizard.model.choices import EXCLUDABLE_SOURCES, INSIGHT_TYPES, RETENTION_DAYS
from wizard.model.event_types import (
    AGGREGATION_TEMPLATES,
    DATA_FIELDS,
    DATA_FIELDS_BY_NAME,
    DATA_RESOURCE_TYPES,
    DATA_TYPE_ALIASES,
    NETWORK_EVENT_SOURCES,
    VPCE_DENIAL_SOURCES,
    resource_type,
    type_label,
)
from wizard.model.names import (
    check_access_log_prefix,
    check_account_id,
    check_alias_name,
    check_bucket_name,
    check_log_group_name,
    check_prefix,
    check_principal_arn,
    check_topic_name,
    check_trail_name,
    classify_key_ref,
    normalise_access_log_prefix,
    normalise_prefix,
    suggested_access_log_bucket,
    suggested_log_bucket,
)
from wizard.model.regions import check_region

Draft = dict[str, dict[str, Any]]
"""Answers being collected: section -> field -> value."""

Kind = Literal["text", "confirm", "select", "checkbox", "selectors"]
"""How a question is asked; ``selectors`` is the events step's list of data and network
activity event selectors, which each front end edits with the questions of
:data:`SELECTOR_QUESTIONS`."""


@dataclass(frozen=True)
class Choice:
    """One option of a select or checkbox question."""

    value: Any
    """The value stored in the answers."""
    label: str
    """What a person reads."""
    hint: str = ""
    """A short explanation shown beside it."""


@dataclass(frozen=True)
class Question:
    """One question of a step."""

    key: str
    """Dotted answers path (``trail.name``)."""
    prompt: str
    """The question."""
    kind: Kind = "text"
    """How it is asked."""
    choices: tuple[Choice, ...] = ()
    """Options of select / checkbox questions."""
    default: Callable[[Draft], Any] = field(default=lambda d: None)
    """The default, given what was answered so far."""
    validate: Callable[[Any], str | None] = field(default=lambda v: None)
    """None when the value is fine, else a message that says how to fix it."""
    when: Callable[[Draft], bool] = field(default=lambda d: True)
    """Whether the question applies, given what was answered so far."""
    help: str = ""
    """One or two sentences under the question."""
    optional: bool = False
    """An empty text answer means "none"."""
    account_default: Callable[[Draft, str], Any] | None = None
    """The default once the account is known (its ID given), where it depends on it."""

    def suggest(self, draft: Draft, account_id: str | None = None) -> Any:
        """The default, given what was answered so far and the account, when known."""
        if account_id and self.account_default is not None:
            return self.account_default(draft, account_id)
        return self.default(draft)


@dataclass(frozen=True)
class StepGuide:
    """One step of the wizard."""

    id: str
    """Step id (``trail``)."""
    title: str
    """Screen title."""
    help: str
    """The training text of the help panel."""
    questions: tuple[Question, ...] = ()
    """Questions asked in this step (the TUI may show richer pickers for some)."""


def get(draft: Draft, key: str, default: Any = None) -> Any:
    """Read a dotted key from a draft."""
    section, _, name = key.partition(".")
    return draft.get(section, {}).get(name, default)


def put(draft: Draft, key: str, value: Any) -> None:
    """Write a dotted key into a draft (in place)."""
    section, _, name = key.partition(".")
    draft.setdefault(section, {})[name] = value


def _opt(check: Callable[[str], str | None]) -> Callable[[Any], str | None]:
    def validate(value: Any) -> str | None:
        return None if value in (None, "") else check(str(value))

    return validate


def _req(check: Callable[[str], str | None], what: str) -> Callable[[Any], str | None]:
    def validate(value: Any) -> str | None:
        if value in (None, ""):
            return f"{what} is required."
        return check(str(value))

    return validate


def _key_ref(value: Any) -> str | None:
    if value in (None, "", "new"):
        return None
    ref = classify_key_ref(str(value))
    return ref if isinstance(ref, str) else None


def _principals(value: Any) -> str | None:
    for item in _split(value):
        problem = check_principal_arn(item)
        if problem:
            return problem
    return None


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").replace(",", " ").split() if v.strip()]


def _prefix(value: Any) -> str | None:
    return check_prefix(normalise_prefix(str(value or "")))


def _access_log_prefix(value: Any) -> str | None:
    return check_access_log_prefix(normalise_access_log_prefix(str(value or "")))


WELCOME_HELP = """\
CloudTrail records the API calls made in your AWS account: who did what, when, from where.
A trail delivers those records as log files to an S3 bucket, where they are kept for as long
as you keep them (the CloudTrail console's event history only goes back 90 days). This
wizard creates one trail, step by step, and shows every policy it will write before
anything changes. Nothing happens until you confirm on the review screen.
"""

TRAIL_HELP = """\
The trail's name identifies it in its home region. A multi-region trail records activity in
every region, including regions enabled later: that is what auditors (CIS 4.1) expect, and
it costs nothing extra for the first copy of management events. Global service events are
calls to IAM, STS and CloudFront, which are global; a multi-region trail must include them.
Log file validation writes a signed digest every hour, so you can later prove that no log
file was changed or deleted. An organization trail, created in the management account (or by
CloudTrail's delegated administrator), records every account of the organization. From the
management account you may register a member account as that delegated administrator; the
trails it then creates still belong to the management account, under its ARN.
"""

DELEGATED_ADMIN_HELP = (
    "Asked in the management account only. That account (often the security tooling or audit "
    "account) can then create and manage organization trails itself; each trail still belongs "
    "to the management account: its ARN names the management account, whichever account "
    "created it. At most three per organization."
)
"""Help of the delegated administrator question (the TUI and plain mode show it)."""

STORAGE_HELP = """\
CloudTrail writes log files into an S3 bucket. A new bucket gets exactly the policy CloudTrail
needs: CloudTrail may read the bucket ACL and write this trail's log files under
AWSLogs/<account>/, and nothing else; every request must use TLS; public access is blocked.
An existing bucket keeps its current policy: the wizard adds CloudTrail's two statements to
it, never replaces or removes anything, and shows you the difference before applying. Each
statement names this trail (aws:SourceArn), so no other trail or account can use the grant.

An existing bucket may belong to another account, usually the organization's log-archive
account (central logging): give its owner's account ID and how the wizard can reach that
account. With a profile for it, or a role there to assume, the wizard adds this trail's
statements to the bucket's policy itself, next to the owner's. If it cannot reach it, the
bucket's owner adds them: the review lists the statements to send, and Apply waits until
they are in place.
"""

ACCESS_LOGS_HELP = """\
S3 server access logging records every request made to the log bucket itself (who read or
deleted log files, and when). CIS AWS Foundations 4.4 (3.6 in v1.4.0, 3.4 in v3.0.0) and
Security Hub CloudTrail.7 expect it on the CloudTrail bucket. The access logs go to a second
bucket in the same region and account: the wizard can create it with the same hardening as the
log bucket (SSE-S3, because S3 log delivery does not support SSE-KMS targets), or merge S3 log
delivery's statement into an existing bucket's policy. Cost: S3 writes the access logs for
free; you pay only to store them (a few MB a month for a trail bucket) and to read them.
"""

ACCESS_LOGS_DRAFT = ("access_logging", "access_log_bucket", "access_log_prefix")
"""Draft keys (in the bucket section) of the access logging questions."""

RETENTION_HELP = """\
How long log files are kept, and where. A lifecycle rule (only for the trail's AWSLogs/ keys,
so other objects in an existing bucket are untouched; an existing bucket's other rules are
kept) can move log files to a colder, cheaper storage class after some days (Standard-IA no
sooner than 30) and expire them after more days. The default keeps them forever; CIS asks for
at least a year (365 days). Object Lock (a new bucket only) makes every log file version
undeletable for a number of days: GOVERNANCE lets users allowed
s3:BypassGovernanceRetention delete sooner; COMPLIANCE lets nobody, not even the root user or
the wizard's rollback (the bucket is created empty, so a rollback before the first delivery
still deletes it). A bucket with a default retention cannot receive S3 server access logs:
never make it another bucket's access log target.
"""

RETENTION_DRAFT = (
    "retention_transition_days",
    "retention_storage_class",
    "retention_expire_days",
    "retention_noncurrent_days",
    "object_lock",
    "object_lock_days",
)
"""Draft keys (in the bucket section) of the retention questions."""


def _new_bucket_name(draft: Draft, account_id: str | None) -> str | None:
    """A new bucket's suggested name (none for an existing bucket: the person names it)."""
    if not get(draft, "bucket.create", True):
        return None
    return suggested_log_bucket(str(get(draft, "trail.name") or "trail"), account_id)


def _days_between(least: int, most: int) -> Callable[[Any], str | None]:
    """An optional whole number of days from ``least`` to ``most``."""

    def validate(value: Any) -> str | None:
        if value in (None, ""):
            return None
        text = str(value).strip()
        if not text.isdigit() or not least <= int(text) <= most:
            return f"Enter a whole number of days from {least} to {most}, or leave it empty."
        return None

    return validate


def _retention_on(d: Draft) -> bool:
    return not get(d, "bucket.account")


PREFIX_HELP = """\
A prefix puts the log files in a folder of the bucket, useful when the bucket holds other
data too. CloudTrail always adds AWSLogs/<account>/CloudTrail/<region>/<date>/ after it; the
bucket policy grants exactly that path, so the prefix in the policy and on the trail must
agree (the wizard keeps them identical). Leave it empty to write at the top of the bucket.
"""

ENCRYPTION_HELP = """\
Log files are always encrypted at rest. SSE-S3 uses AES-256 keys that S3 owns and manages: no
setup, no cost, and anyone who may read the objects can read the logs. SSE-KMS uses a KMS key
you control: reading a log file then also needs kms:Decrypt on that key, which gives a second,
separate lock and an audit trail of every decryption; it is what CIS 4.5 and Security Hub
CloudTrail.2 expect. A key costs about $1 a month plus requests.

A new key gets a policy that lets CloudTrail encrypt only this account's trails and lets
the readers you name decrypt. If you name none, any principal of this account whose IAM
policy allows kms:Decrypt can read the logs, as with the console's default; naming the roles
that read logs narrows it; they must exist, since KMS refuses a key policy that names a role or
user that does not, and the wizard checks that first. An existing key keeps its policy:
CloudTrail's statements are added.

The key must be in the same region as the bucket. AWS refuses a key from another region
(KmsKeyNotFoundException), so the wizard checks this before changing anything. Keys that are
disabled, asymmetric or AWS managed cannot be used and are shown with the reason.
"""

DELIVERY_HELP = """\
An SNS topic can announce every new log file, for tools that process logs as they arrive.
CloudWatch Logs receives the events within minutes, so metric filters and alarms can watch
for root logins, IAM policy changes and the other CIS monitoring items. For that, CloudTrail
needs a log group and an IAM role it may assume; the wizard creates a role only CloudTrail
can assume (AWS's trust policy for it), allowed to write to this log group and nothing else.
A new topic is encrypted with the trail's new KMS key when that key is in the topic's region.
"""

EVENTS_HELP = """\
Management events are operations on your resources (create a bucket, change a policy, sign
in): recording them is what a trail is for, and the first copy in each region is free.
Excluding KMS events drops very frequent Decrypt/GenerateDataKey calls; excluding RDS Data API
events drops SQL statements run through that API; either exclusion makes AWS Config's
multi-region-cloudtrail-enabled rule and CloudTrail.1 (CIS 4.1) fail.

Data events are operations on the data itself (S3 object reads and writes, Lambda invocations,
and more than two hundred other resource types); network activity events are calls made
through your VPC endpoints. Both are charged per event, so choose them deliberately: start from
a preset, then change or add selectors (conditions on eventName, resources.ARN, eventSource,
eventType, userIdentity.arn or console sessions; no wildcards: StartsWith and EndsWith match the
start or the end). A selector that records writes of the trail's own log bucket (or of its
access log bucket) would record every log file CloudTrail delivers, a loop that grows the bill:
S3 selectors for every bucket leave those out, and one that names them is refused.

Insights watch management events (and, if you choose, data events) for unusual call or error
rates; both kinds are set in one call, so choosing one never turns the other off. Aggregation
adds 5-minute summaries of the data events.
"""

DATA_INSIGHT = "data:"
"""Prefix of the Insights question's data-event choices (``data:ApiCallRateInsight``)."""

SELECTORS_KEY = "events.data"
"""The draft key of the selectors question: its value holds the data event selectors, and
``events.network`` beside it the network activity ones (both as answers-file items)."""

PRESETS_KEY = "events.presets"
"""Draft key of the presets question (not an answer: picking one adds its selectors)."""


@dataclass(frozen=True)
class Preset:
    """A ready-made set of selectors a person picks, then edits."""

    id: str
    """Stable id (``s3-writes``)."""
    label: str
    """What a person reads."""
    hint: str
    """What it records, in a few words."""
    data: tuple[dict[str, Any], ...] = ()
    """``events.data`` items it adds."""
    network: tuple[dict[str, Any], ...] = ()
    """``events.network`` items it adds."""


EVENT_PRESETS: tuple[Preset, ...] = (
    Preset(
        "s3-writes",
        "S3 object writes (CIS 4.8)",
        "every bucket; the trail's log buckets left out",
        data=({"type": "s3", "resources": "all", "read_write": "write"},),
    ),
    Preset(
        "s3-reads",
        "S3 object reads (CIS 4.9)",
        "every bucket, the log bucket too (who read the logs)",
        data=({"type": "s3", "resources": "all", "read_write": "read"},),
    ),
    Preset(
        "s3-all",
        "All S3 object events",
        "reads and writes of every bucket; log buckets left out",
        data=({"type": "s3", "resources": "all", "read_write": "all"},),
    ),
    Preset(
        "lambda",
        "Lambda invocations",
        "every function",
        data=({"type": "lambda", "resources": "all", "read_write": "all"},),
    ),
    Preset(
        "dynamodb",
        "DynamoDB item events",
        "every table",
        data=({"type": "dynamodb", "resources": "all", "read_write": "all"},),
    ),
    Preset(
        "vpce-denied",
        "VPC endpoint denials",
        "network activity: VpceAccessDenied of CloudTrail, EC2, KMS, S3, Secrets Manager",
        network=tuple({"source": s, "denied_only": True} for s in VPCE_DENIAL_SOURCES),
    ),
)
"""The presets, in the order both front ends list them."""


def _entry_key(entry: dict[str, Any]) -> str:
    """One selector item in a comparable form (short and full type names agree)."""
    if "source" in entry:
        return json.dumps(
            ["network", entry["source"], bool(entry.get("denied_only")), entry.get("name")]
        )
    resources = entry.get("resources", "all")
    conditions = sorted(
        json.dumps([c.get("field"), c.get("operator"), list(c.get("values") or [])])
        for c in entry.get("conditions") or []
    )
    return json.dumps(
        [
            "data",
            resource_type(str(entry.get("type"))),
            resources if resources == "all" else sorted(resources),
            entry.get("read_write", "all"),
            conditions,
            entry.get("name"),
        ]
    )


def _items(draft: Draft, name: str) -> list[dict[str, Any]]:
    value = draft.get("events", {}).get(name) or []
    return [dict(v) for v in value if isinstance(v, dict)]


def presets_in(draft: Draft) -> list[str]:
    """The presets whose selectors are all in the draft (what the presets question shows)."""
    have = {_entry_key(e) for e in _items(draft, "data") + _items(draft, "network")}
    return [
        p.id for p in EVENT_PRESETS if all(_entry_key(e) in have for e in (*p.data, *p.network))
    ]


def apply_presets(draft: Draft, chosen: Sequence[str]) -> None:
    """Add the chosen presets' selectors to the draft, and drop an unchosen preset's.

    A preset's selector is dropped only while it is exactly the preset's (one a person
    changed is theirs now); a chosen preset's selector already there is not added twice.
    """
    events = draft.setdefault("events", {})
    for name, part in (("data", "data"), ("network", "network")):
        items = _items(draft, name)
        for preset in EVENT_PRESETS:
            entries: tuple[dict[str, Any], ...] = getattr(preset, part)
            keys = {_entry_key(e) for e in entries}
            if preset.id in chosen:
                have = {_entry_key(e) for e in items}
                items += [dict(e) for e in entries if _entry_key(e) not in have]
            else:
                items = [e for e in items if _entry_key(e) not in keys]
        events[name] = items


def describe_item(entry: dict[str, Any]) -> str:
    """One selector item as people read it (``S3 writes, every bucket``)."""
    if "source" in entry:
        what = "VPC endpoint denials" if entry.get("denied_only") else "all calls"
        return f"Network activity of {entry['source']}: {what}"
    side = {"all": "data events", "read": "reads", "write": "writes"}[
        str(entry.get("read_write", "all"))
    ]
    text = f"{type_label(str(entry.get('type')))} {side}"
    resources = entry.get("resources", "all")
    text += ", every resource" if resources == "all" else f", {', '.join(resources)}"
    for c in entry.get("conditions") or []:
        text += f"; {c.get('field')} {c.get('operator')} {', '.join(c.get('values') or [])}"
    if entry.get("name"):
        text += f" ({entry['name']})"
    return text


def data_type_lines() -> list[str]:
    """Every data event resource type AWS documents, one line each (``?`` in plain mode)."""
    short = {v: k for k, v in DATA_TYPE_ALIASES.items()}
    return [
        f"{t.type}{f' ({short[t.type]})' if t.type in short else ''}: {t.label}. {t.description}"
        for t in DATA_RESOURCE_TYPES
    ]


def check_data_type(value: str) -> str | None:
    """None for a short type name or a resources.type-shaped value, else how to fix it."""
    value = value.strip()
    if value in DATA_TYPE_ALIASES:
        return None
    parts = value.split("::")
    if len(parts) == 3 and parts[0] == "AWS" and all(p.isalnum() for p in parts[1:]):
        return None
    return (
        f"'{value}' is not a data event type: use {', '.join(DATA_TYPE_ALIASES)}, or a "
        "resources.type such as AWS::SNS::Topic ('?' lists every type AWS documents)."
    )


def check_event_source(value: str) -> str | None:
    """None for an event source such as kms.amazonaws.com, else how to fix it."""
    value = value.strip()
    if value.endswith(".amazonaws.com") and value.replace(".", "").replace("-", "").isalnum():
        return None
    return (
        f"'{value}' is not an event source: give the service's, such as s3.amazonaws.com or "
        "kms.amazonaws.com ('?' lists the sources AWS documents)."
    )


def split_values(text: Any) -> list[str]:
    """Values typed on one line, separated by spaces or commas."""
    return _split(text)


def check_values(value: Any) -> str | None:
    """None when the typed values are acceptable selector values, else the problem."""
    values = _split(value)
    if not values:
        return "Give at least one value."
    for item in values:
        if "*" in item:
            return (
                f"'{item}' has a '*', but selectors have no wildcards: match the start "
                "(StartsWith) or the end (EndsWith) instead."
            )
        if len(item) > 2048:
            return f"A value of {len(item):,} characters: CloudTrail takes at most 2,048."
    return None


def check_resources(value: Any) -> str | None:
    """None for "all" or ARN prefixes (arn:...), else the problem."""
    if str(value or "").strip() in ("", "all"):
        return None
    problem = check_values(value)
    if problem:
        return problem
    for item in _split(value):
        if not item.startswith("arn:") or item.count(":") < 5:
            return (
                f"'{item}' is not an ARN: resources are ARN prefixes such as "
                "arn:aws:s3:::my-bucket/ or arn:aws:lambda:us-east-1:123456789012:function:f; "
                "'all' records every resource of the type."
            )
    return None


def operator_choices(field_name: str) -> tuple[Choice, ...]:
    """The operators AWS allows on a field of a data event selector."""
    rule = DATA_FIELDS_BY_NAME[field_name]
    hints = {
        "Equals": "exactly",
        "NotEquals": "leave out exactly",
        "StartsWith": "the start",
        "NotStartsWith": "leave out the start",
        "EndsWith": "the end",
        "NotEndsWith": "leave out the end",
    }
    return tuple(Choice(op, op, hints[op]) for op in rule.operators)


SELECTOR_ACTIONS: tuple[Choice, ...] = (
    Choice("done", "Keep these selectors"),
    Choice("add-data", "Add a data event selector", "a resource type, then conditions"),
    Choice("add-network", "Add network activity events", "calls through VPC endpoints"),
    Choice("change", "Change a selector"),
    Choice("remove", "Remove a selector"),
)
"""What the selectors question offers, as a menu in plain mode and as buttons in the TUI."""

SELECTOR_QUESTIONS: dict[str, Question] = {
    "type": Question(
        key="selector.type",
        prompt="Resource type",
        validate=_req(check_data_type, "A resource type"),
        default=lambda d: "s3",
        help="s3, lambda, dynamodb, s3express, or a resources.type such as AWS::SNS::Topic; "
        "'?' lists every type AWS documents.",
    ),
    "read_write": Question(
        key="selector.read_write",
        prompt="Which calls",
        kind="select",
        choices=(
            Choice("all", "Reads and writes"),
            Choice("write", "Writes only", "PutObject, DeleteObject, Invoke ..."),
            Choice("read", "Reads only", "GetObject, HeadObject ..."),
        ),
        default=lambda d: "all",
    ),
    "resources": Question(
        key="selector.resources",
        prompt="Resources (all, or ARN prefixes separated by spaces)",
        validate=check_resources,
        default=lambda d: "all",
        help="A bucket is arn:aws:s3:::BUCKET/ (with the slash); a folder "
        "arn:aws:s3:::BUCKET/folder/.",
    ),
    "add_condition": Question(
        key="selector.add_condition",
        prompt="Add a condition?",
        kind="confirm",
        default=lambda d: False,
        help="On the call (eventName), the resource (resources.ARN), who made it "
        "(userIdentity.arn), the service, the record type or console sessions.",
    ),
    "field": Question(
        key="selector.field",
        prompt="Field",
        kind="select",
        choices=tuple(Choice(f.field, f.field, f.description) for f in DATA_FIELDS),
        default=lambda d: "eventName",
    ),
    "values": Question(
        key="selector.values",
        prompt="Values (separated by spaces; any one matches)",
        validate=check_values,
        help="No wildcards: use StartsWith or EndsWith to match the start or the end.",
    ),
    "name": Question(
        key="selector.name",
        prompt="Name of the selector (empty: one that says what it records)",
        optional=True,
    ),
    "source": Question(
        key="selector.source",
        prompt="Event source",
        validate=_req(check_event_source, "An event source"),
        default=lambda d: "s3.amazonaws.com",
        help="The service whose calls through your VPC endpoints are recorded, such as "
        "kms.amazonaws.com; '?' lists the sources AWS documents.",
    ),
    "denied_only": Question(
        key="selector.denied_only",
        prompt="Only calls a VPC endpoint policy denied (VpceAccessDenied)?",
        kind="confirm",
        default=lambda d: True,
    ),
}
"""The questions that make one selector, asked in this order by both front ends (a data
selector: type, which calls, resources, conditions, name; network activity: source, denials
only). The operator of a condition is asked with :func:`operator_choices` of its field."""

OPERATOR_PROMPT = "Operator"
"""Asked after a condition's field, with :func:`operator_choices`."""

PICK_PROMPT = "Which selector?"
"""Asked before a selector is changed or removed."""

KEEP_CONDITIONS_PROMPT = "Keep these conditions?"
"""Asked when a selector with conditions is changed."""

NETWORK_SOURCE_LINES = tuple(NETWORK_EVENT_SOURCES)
"""The network activity event sources AWS documents ('?' lists them in plain mode)."""


REVIEW_HELP = """\
Everything the wizard will do is listed here, in order, with how each step is undone. The
findings come first: errors must be fixed before applying; warnings explain risks and
trade-offs. Each policy is shown as it will be written; where an existing policy is merged,
the diff shows the added lines and that no line is removed. The operator policy is the
least-privilege IAM policy for the person running this setup: prefer it to the managed
AWSCloudTrail_FullAccess (broad: every CloudTrail action, and bucket creation for any
aws-cloudtrail-logs* name); AWSCloudTrail_ReadOnlyAccess suits people who only look at trails.
Dry-run proves nothing would be changed; Apply asks once more before it starts.
"""

APPLY_HELP = """\
Each step runs in order; independent parts (bucket, key, topic, log group) run side by side.
Right after a policy changes, CloudTrail sometimes does not see it yet; the wizard waits and
retries those known cases. If a step fails, or you stop the run, everything already done is
undone in reverse order: new resources are deleted (a new key is scheduled for deletion,
which takes at least 7 days) and changed policies are restored to their exact previous text.
Every call is written to a journal file.
"""

DONE_HELP = """\
The trail is logging. CloudTrail typically delivers log files within about 5 minutes of an
API call (AWS does not guarantee it), under the path shown; the sandbox delivers them within
seconds. Trail health shows whether the trail is logging and delivering; `cloudtrail-wizard
logs TRAIL` lists its newest log files and shows their events; `cloudtrail-wizard validate
TRAIL` checks them against the signed digest files that log file validation writes. Save the
answers to set up the same trail in another account with `cloudtrail-wizard apply ANSWERS`.
"""

DELIVERY_TIMES = {
    "sandbox": (
        "The sandbox delivers log files within about half a minute of each call (on AWS it "
        "typically takes about 5 minutes).",
        "It writes a digest file every minute (on AWS, every hour).",
    ),
    "aws": (
        "CloudTrail typically delivers log files within about 5 minutes of an API call (AWS "
        "does not guarantee the time).",
        "It writes a digest file once an hour.",
    ),
}
"""When log files and digest files appear: on AWS as the CloudTrail User Guide states it; in
the sandbox, whose delivery runs on a compressed clock, within seconds."""


def next_steps(
    trail: str, *, sandbox: bool, validation: bool, health: str | None = None
) -> tuple[str, list[str]]:
    """What to do after an apply, with the trail's name in every command.

    Args:
        trail: The trail's name.
        sandbox: The trail is in the sandbox: the commands need ``--sandbox``, and files
            arrive within seconds, not minutes.
        validation: Log file validation is on (else ``validate`` has no digest to check).
        health: How to open Trail health where the text is shown ("Open Trail health
            (Ctrl+T)" in the TUI); None: the ``status`` command.

    Returns:
        When the files arrive (one paragraph), and the next steps (one item each; commands
        in backquotes).
    """
    command = "cloudtrail-wizard --sandbox" if sandbox else "cloudtrail-wizard"
    health = health or f"Run `{command} status {trail}`"
    logs, digests = DELIVERY_TIMES["sandbox" if sandbox else "aws"]
    items = [
        f"Is it delivering? {health} to see whether the trail is logging, its latest "
        "delivery and any delivery error.",
        f"Read the logs: `{command} logs {trail}` lists the newest log files; "
        f"`{command} logs {trail} --file latest` shows the events of the newest one.",
    ]
    if validation:
        items.append(
            f"Prove nothing was changed: `{command} validate {trail}` checks every log file "
            "against the signed digest files, once the first digest has been delivered."
        )
    else:
        items.append(
            "Log file validation is off for this trail, so there are no digest files for "
            f"`{command} validate {trail}` to check; turn it on to be able to prove that no "
            "log file was changed."
        )
    items.append(
        "Same trail elsewhere: save the answers, then run `cloudtrail-wizard apply ANSWERS` "
        "in another account."
    )
    return (f"{logs} {digests}" if validation else logs), items


STEPS: tuple[StepGuide, ...] = (
    StepGuide(id="welcome", title="Welcome", help=WELCOME_HELP),
    StepGuide(
        id="trail",
        title="Trail",
        help=TRAIL_HELP,
        questions=(
            Question(
                key="trail.name",
                prompt="Trail name",
                validate=_req(check_trail_name, "A trail name"),
                default=lambda d: "management-events",
                help="3-128 letters, digits, '.', '_' or '-'.",
            ),
            Question(
                key="trail.region",
                prompt="Home region",
                validate=_opt(check_region),
                default=lambda d: None,
                help="Where the trail lives; empty uses the session's region.",
                optional=True,
            ),
            Question(
                key="trail.multi_region",
                prompt="Record every region (multi-region trail)?",
                kind="confirm",
                default=lambda d: True,
            ),
            Question(
                key="trail.include_global_events",
                prompt="Include global service events (IAM, STS, CloudFront)?",
                kind="confirm",
                default=lambda d: True,
                when=lambda d: not get(d, "trail.multi_region", True),
                help="A multi-region trail always includes them.",
            ),
            Question(
                key="trail.log_file_validation",
                prompt="Turn on log file validation (signed digests)?",
                kind="confirm",
                default=lambda d: True,
            ),
            Question(
                key="trail.organization",
                prompt="Make it an organization trail (all accounts of the organization)?",
                kind="confirm",
                default=lambda d: False,
                help="Only from the management account or CloudTrail's delegated administrator.",
            ),
            Question(
                key="organization.delegated_admin",
                prompt="Register a member account as CloudTrail's delegated administrator? "
                "(its account ID; empty: none)",
                validate=_opt(check_account_id),
                optional=True,
                help=DELEGATED_ADMIN_HELP,
            ),
        ),
    ),
    StepGuide(
        id="storage",
        title="Storage",
        help=STORAGE_HELP + "\n" + ACCESS_LOGS_HELP,
        questions=(
            Question(
                key="bucket.create",
                prompt="Where should the log files go?",
                kind="select",
                choices=(
                    Choice(True, "A new bucket", "created with CloudTrail's policy"),
                    Choice(False, "An existing bucket", "CloudTrail's statements are merged in"),
                ),
                default=lambda d: True,
            ),
            Question(
                key="bucket.name",
                prompt="Bucket name",
                validate=_req(check_bucket_name, "A bucket name"),
                default=lambda d: _new_bucket_name(d, None),
                account_default=_new_bucket_name,
                help="3-63 lowercase letters, digits, '.' or '-'; globally unique.",
            ),
            Question(
                key="bucket.region",
                prompt="Region of the new bucket",
                validate=_opt(check_region),
                when=lambda d: bool(get(d, "bucket.create", True)),
                help="Empty: the trail's home region.",
                optional=True,
            ),
            Question(
                key="bucket.access_logging",
                prompt="Server access logging of the log bucket (CIS 4.4, CloudTrail.7)?",
                kind="select",
                choices=(
                    Choice("off", "Off", "the default; fails CIS 4.4 and CloudTrail.7"),
                    Choice("new", "Into a new bucket", "created beside the log bucket"),
                    Choice("existing", "Into an existing bucket", "its policy is merged"),
                ),
                default=lambda d: "off",
                when=lambda d: not get(d, "bucket.account"),
                help="Records who reads or deletes log files. Storing the access logs costs a "
                "little; delivering them is free.",
            ),
            Question(
                key="bucket.access_log_bucket",
                prompt="Bucket that receives the access logs",
                validate=_req(check_bucket_name, "The access log bucket's name"),
                default=lambda d: suggested_access_log_bucket(
                    str(get(d, "bucket.name") or "cloudtrail-logs")
                ),
                when=lambda d: get(d, "bucket.access_logging", "off") != "off",
                help="Same region and account as the log bucket; not the log bucket itself.",
            ),
            Question(
                key="bucket.access_log_prefix",
                prompt="Key prefix of the access logs",
                validate=_access_log_prefix,
                default=lambda d: "access-logs/",
                when=lambda d: get(d, "bucket.access_logging", "off") != "off",
                help="A folder in that bucket, ending in '/'. Empty: the top of the bucket.",
                optional=True,
            ),
            Question(
                key="bucket.retention_transition_days",
                prompt="Move log files to colder storage after how many days? (empty: never)",
                validate=_days_between(0, 36500),
                when=_retention_on,
                help=RETENTION_HELP,
                optional=True,
            ),
            Question(
                key="bucket.retention_storage_class",
                prompt="Colder storage class",
                kind="select",
                choices=(
                    Choice("GLACIER_IR", "Glacier Instant Retrieval", "millisecond reads"),
                    Choice("STANDARD_IA", "Standard-IA", "after 30 days or more"),
                    Choice("GLACIER", "Glacier Flexible Retrieval", "reads take hours"),
                    Choice("DEEP_ARCHIVE", "Glacier Deep Archive", "cheapest; reads take 12h"),
                ),
                default=lambda d: "GLACIER_IR",
                when=lambda d: (
                    _retention_on(d)
                    and get(d, "bucket.retention_transition_days") not in (None, "")
                ),
                help="S3 bills Glacier IR and Flexible Retrieval for at least 90 days, Deep "
                "Archive for 180, Standard-IA for 30.",
            ),
            Question(
                key="bucket.retention_expire_days",
                prompt="Delete log files after how many days? (empty: keep them; CIS: 365+)",
                validate=_days_between(1, 36500),
                when=_retention_on,
                help="Expires the current versions; with versioning they stay as noncurrent "
                "versions until the next question's days pass.",
                optional=True,
            ),
            Question(
                key="bucket.retention_noncurrent_days",
                prompt="Remove overwritten or deleted versions after how many days? (empty: keep)",
                validate=_days_between(1, 36500),
                when=_retention_on,
                help="Counted from when a version stopped being current.",
                optional=True,
            ),
            Question(
                key="bucket.object_lock",
                prompt="Object Lock on the new bucket?",
                kind="select",
                choices=(
                    Choice("off", "Off", "the default"),
                    Choice("GOVERNANCE", "Governance", "privileged users can still delete"),
                    Choice("COMPLIANCE", "Compliance", "nobody can delete, not even rollback"),
                ),
                default=lambda d: "off",
                when=lambda d: bool(get(d, "bucket.create", True)),
                help="Only when the wizard creates the bucket. A locked bucket cannot be a "
                "server access log target.",
            ),
            Question(
                key="bucket.object_lock_days",
                prompt="Keep every log file version locked for how many days?",
                validate=_req(_days_between(1, 36500), "The number of days"),
                default=lambda d: "365",
                when=lambda d: (
                    bool(get(d, "bucket.create", True))
                    and get(d, "bucket.object_lock", "off") != "off"
                ),
                help="COMPLIANCE cannot be shortened or removed by anyone.",
            ),
        ),
    ),
    StepGuide(
        id="prefix",
        title="Prefix",
        help=PREFIX_HELP,
        questions=(
            Question(
                key="bucket.prefix",
                prompt="Log file prefix (folder)",
                validate=_prefix,
                optional=True,
                help="Empty for none. Leading and trailing '/' are removed.",
            ),
        ),
    ),
    StepGuide(
        id="encryption",
        title="Encryption",
        help=ENCRYPTION_HELP,
        questions=(
            Question(
                key="encryption.type",
                prompt="How should log files be encrypted?",
                kind="select",
                choices=(
                    Choice("sse-kms", "SSE-KMS: a KMS key you control", "CIS 4.5; ~$1/month"),
                    Choice("sse-s3", "SSE-S3: keys managed by S3", "no setup, no cost"),
                ),
                default=lambda d: "sse-kms",
            ),
            Question(
                key="encryption.key",
                prompt="Which key?",
                validate=_key_ref,
                when=lambda d: get(d, "encryption.type", "sse-kms") == "sse-kms",
                default=lambda d: "new",
                help="'new' creates one; or a key id, key ARN or alias/NAME in the bucket's "
                "region.",
            ),
            Question(
                key="encryption.alias",
                prompt="Alias of the new key",
                validate=_opt(check_alias_name),
                when=lambda d: (
                    get(d, "encryption.type", "sse-kms") == "sse-kms"
                    and get(d, "encryption.key", "new") in (None, "", "new")
                ),
                default=lambda d: f"alias/cloudtrail-{get(d, 'trail.name', 'trail')}",
                optional=True,
            ),
            Question(
                key="encryption.decrypt_principals",
                prompt="Who may decrypt log files? (IAM role or user ARNs, space separated)",
                validate=_principals,
                when=lambda d: (
                    get(d, "encryption.type", "sse-kms") == "sse-kms"
                    and get(d, "encryption.key", "new") in (None, "", "new")
                ),
                optional=True,
                help="Empty: any principal of this account allowed by its IAM policy.",
            ),
        ),
    ),
    StepGuide(
        id="delivery",
        title="Delivery",
        help=DELIVERY_HELP,
        questions=(
            Question(
                key="notifications.sns_topic",
                prompt="SNS topic for notifications (new topic name or existing ARN)",
                validate=_opt(lambda v: None if v.startswith("arn:aws") else check_topic_name(v)),
                optional=True,
                help="Empty for no notifications.",
            ),
            Question(
                key="cloudwatch_logs.log_group",
                prompt="CloudWatch Logs group (empty for none)",
                validate=_opt(check_log_group_name),
                optional=True,
            ),
            Question(
                key="cloudwatch_logs.retention_days",
                prompt="Keep events in CloudWatch Logs for",
                kind="select",
                choices=tuple(Choice(d, f"{d} days") for d in RETENTION_DAYS if d >= 30),
                default=lambda d: 365,
                when=lambda d: bool(get(d, "cloudwatch_logs.log_group")),
            ),
        ),
    ),
    StepGuide(
        id="events",
        title="Events",
        help=EVENTS_HELP,
        questions=(
            Question(
                key="events.management",
                prompt="Management events",
                kind="select",
                choices=(
                    Choice("all", "Read and write", "recommended"),
                    Choice("write", "Write only", "cheaper to analyse, misses reads"),
                    Choice("read", "Read only"),
                    Choice("none", "None", "data events only"),
                ),
                default=lambda d: "all",
            ),
            Question(
                key="events.exclude_sources",
                prompt="Leave out these high-volume sources",
                kind="checkbox",
                choices=(
                    Choice(EXCLUDABLE_SOURCES[0], "AWS KMS events", "Decrypt, GenerateDataKey ..."),
                    Choice(EXCLUDABLE_SOURCES[1], "RDS Data API events", "SQL through the API"),
                ),
                default=lambda d: [],
                when=lambda d: get(d, "events.management", "all") != "none",
                help="Either fails AWS Config's multi-region-cloudtrail-enabled rule and "
                "CloudTrail.1 (CIS 4.1).",
            ),
            Question(
                key=PRESETS_KEY,
                prompt="Data and network activity events: start from presets",
                kind="checkbox",
                choices=tuple(Choice(p.id, p.label, p.hint) for p in EVENT_PRESETS),
                default=presets_in,
                help="Charged per event (about $0.10 per 100,000). Each preset adds selectors "
                "you can change next.",
            ),
            Question(
                key=SELECTORS_KEY,
                prompt="Data and network activity event selectors",
                kind="selectors",
                choices=SELECTOR_ACTIONS,
                default=lambda d: [],
                help="Add, change or remove selectors; each records one resource type (or one "
                "service's calls through VPC endpoints), optionally narrowed by conditions.",
            ),
            Question(
                key="events.insights",
                prompt="CloudTrail Insights",
                kind="checkbox",
                choices=(
                    Choice(INSIGHT_TYPES[0], "API call rate, management events", "write events"),
                    Choice(INSIGHT_TYPES[1], "API error rate, management events"),
                    Choice(DATA_INSIGHT + INSIGHT_TYPES[0], "API call rate, data events"),
                    Choice(DATA_INSIGHT + INSIGHT_TYPES[1], "API error rate, data events"),
                ),
                default=lambda d: [],
                when=lambda d: (
                    get(d, "events.management", "all") != "none" or bool(get(d, "events.data"))
                ),
                help="Charged per 100,000 events analysed (about $0.35). Management and data "
                "Insights are set together, so one never turns the other off.",
            ),
            Question(
                key="events.aggregation",
                prompt="Summarise data events every 5 minutes",
                kind="checkbox",
                choices=tuple(
                    Choice(k, v.split(":", 1)[0], v.split(":", 1)[1].strip())
                    for k, v in AGGREGATION_TEMPLATES.items()
                ),
                default=lambda d: [],
                when=lambda d: bool(get(d, "events.data")),
                help="Aggregated events come in addition to the data events.",
            ),
        ),
    ),
    StepGuide(id="review", title="Review", help=REVIEW_HELP),
    StepGuide(id="apply", title="Apply", help=APPLY_HELP),
    StepGuide(id="done", title="Done", help=DONE_HELP),
)
"""Every step, in order."""


def step(step_id: str) -> StepGuide:
    """The step with this id."""
    for s in STEPS:
        if s.id == step_id:
            return s
    raise KeyError(step_id)


NUMBERED_STEPS: tuple[str, ...] = tuple(s.id for s in STEPS if s.id not in ("apply", "done"))
"""The steps a person walks through, welcome to review, numbered ``Step N of 8`` by every front
end. Apply and done are what the review leads to, not steps to answer: they carry no number."""


def step_number(step_id: str) -> tuple[int, int] | None:
    """Where a step stands among :data:`NUMBERED_STEPS`.

    Args:
        step_id: A step's id (``trail``).

    Returns:
        ``(number, total)`` counted from 1 (``(2, 8)`` for the trail), or None for a step
        that is not numbered (apply, done).
    """
    if step_id not in NUMBERED_STEPS:
        return None
    return NUMBERED_STEPS.index(step_id) + 1, len(NUMBERED_STEPS)


def step_title(step_id: str) -> str:
    """A step's title as both wizards head it: ``Step 2 of 8: Trail``, or ``Apply``."""
    title = step(step_id).title
    where = step_number(step_id)
    return f"Step {where[0]} of {where[1]}: {title}" if where else title


def draft_from_answers(answers: Any) -> Draft:
    """A draft pre-filled from validated answers (for --answers and going back)."""
    data: Draft = answers.model_dump(mode="json")
    events = data["events"]
    # The selectors are edited as answers-file items; the Insights question holds both kinds.
    events["insights"] = list(events.get("insights") or []) + [
        DATA_INSIGHT + i for i in events.pop("data_insights", None) or []
    ]
    events[PRESETS_KEY.partition(".")[2]] = presets_in(data)
    access = data["bucket"].pop("access_logs", None)
    if access:
        data["bucket"]["access_logging"] = "new" if access.get("create", True) else "existing"
        data["bucket"]["access_log_bucket"] = access["bucket"]
        data["bucket"]["access_log_prefix"] = access.get("prefix", "")
    retention = data["bucket"].pop("retention", None) or {}
    lock = retention.get("object_lock") or {}
    for key, value in (
        ("retention_transition_days", retention.get("transition_days")),
        ("retention_storage_class", retention.get("storage_class")),
        ("retention_expire_days", retention.get("expire_days")),
        ("retention_noncurrent_days", retention.get("noncurrent_expire_days")),
        ("object_lock", lock.get("mode")),
        ("object_lock_days", lock.get("days")),
    ):
        if value is not None:
            data["bucket"][key] = str(value)
    return data


def retention_problem(bucket: Draft) -> str | None:
    """What is wrong with the retention questions' answers taken together (None: nothing):
    the rules each answer alone cannot check (Standard-IA no sooner than 30 days, an expiry
    after the move)."""
    # Deferred: the guide is read by every front end at start-up, and only the storage
    # step's retention check needs the answers model and pydantic's error type.
    from pydantic import ValidationError

    from wizard.model.answers import RetentionAnswers

    data = _retention_data(dict(bucket))
    if data is None:
        return None
    data.pop("object_lock", None)
    try:
        RetentionAnswers.model_validate(data)
    except ValidationError as exc:
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return None


def _retention_data(bucket: dict[str, Any]) -> dict[str, Any] | None:
    """The answers' ``bucket.retention`` from the retention questions (None: none asked)."""
    move, klass, expire, old, lock, lock_days = (bucket.pop(k, None) for k in RETENTION_DRAFT)

    def days(value: Any) -> int | None:
        text = str(value).strip() if value not in (None, "") else ""
        return int(text) if text.isdigit() else None

    out: dict[str, Any] = {}
    if days(move) is not None:
        out["transition_days"] = days(move)
        out["storage_class"] = klass or "GLACIER_IR"
    if days(expire) is not None:
        out["expire_days"] = days(expire)
    if days(old) is not None:
        out["noncurrent_expire_days"] = days(old)
    if lock in ("GOVERNANCE", "COMPLIANCE") and bucket.get("create", True):
        out["object_lock"] = {"mode": lock, "days": days(lock_days) or 365}
    return out or None


def answers_data(draft: Draft) -> dict[str, Any]:
    """Turn a draft into answers-file data (what :class:`Answers` validates)."""
    data: dict[str, Any] = {section: dict(values) for section, values in draft.items()}
    enc = data.get("encryption", {})
    if enc.get("type") == "sse-s3":
        data["encryption"] = {"type": "sse-s3"}
    else:
        principals = enc.get("decrypt_principals")
        if principals is not None and not isinstance(principals, list):
            enc["decrypt_principals"] = _split(principals)
        if enc.get("key") not in (None, "", "new"):
            enc.pop("alias", None)
            enc.pop("decrypt_principals", None)
    events = data.get("events", {})
    events.pop(PRESETS_KEY.partition(".")[2], None)  # picked presets are in data already
    if "insights" in events:
        chosen = list(events["insights"] or [])
        events["insights"] = [i for i in chosen if not str(i).startswith(DATA_INSIGHT)]
        data_insights = [
            str(i)[len(DATA_INSIGHT) :] for i in chosen if str(i).startswith(DATA_INSIGHT)
        ]
        if data_insights:
            events["data_insights"] = data_insights
    bucket = data.get("bucket", {})
    if bucket.get("create") is False:
        bucket.pop("region", None)
    retention = _retention_data(bucket)
    if retention is not None:
        bucket["retention"] = retention
    mode, target, log_prefix = (bucket.pop(k, None) for k in ACCESS_LOGS_DRAFT)
    if mode in ("new", "existing") and not bucket.get("account"):
        bucket["access_logs"] = {
            "bucket": target or suggested_access_log_bucket(str(bucket.get("name") or "")),
            "prefix": log_prefix or "",
            "create": mode == "new",
        }
    cw = data.get("cloudwatch_logs", {})
    if not cw.get("log_group"):
        data["cloudwatch_logs"] = {}
    for section in data.values():
        for key in [k for k, v in section.items() if v in ("", None)]:
            del section[key]
    trail = data.get("trail", {})
    if trail.get("multi_region", True):
        trail.pop("include_global_events", None)
    return data
