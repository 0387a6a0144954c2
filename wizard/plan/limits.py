"""AWS size and count limits, checked before anything changes.

AWS refuses a policy, a selector list or a tag set that is one byte or one item too many,
and it refuses it at the moment of the call: half-way through an apply. Every limit the
plan can run into is here, as a named constant with the page of AWS documentation that
states it, and every check measures the document the plan will really send the way the
service measures it. Each problem is an error finding with the numbers and how to fix it,
so the plan is blocked and nothing is changed.

The sandbox (:mod:`wizard.sandbox.server`) refuses the same requests server-side, with AWS's
error codes, using the constants and measuring functions below.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.model.context import AccountContext, Names
from wizard.model.event_types import BASIC_DATA_RESOURCES_MAX, BASIC_SELECTORS_MAX
from wizard.model.names import RUN_TAG
from wizard.model.plan import Finding
from wizard.plan.selectors import event_selection
from wizard.policy.merge import render_policy

if TYPE_CHECKING:
    from wizard.account.discovery import Discovery, TrailFacts
    from wizard.model.answers import Answers
    from wizard.plan.review import PolicyReview, Reviews

__all__ = [
    "ADVANCED_SELECTOR_VALUES_MAX",
    "ADVANCED_SELECTOR_VALUE_LENGTH_MAX",
    "BUCKET_POLICY_MAX_BYTES",
    "DATA_RESOURCES_MAX",
    "EVENT_SELECTORS_MAX",
    "KEY_POLICY_MAX_BYTES",
    "ROLE_POLICIES_MAX_CHARS",
    "ROLE_TRUST_POLICY_MAX_CHARS",
    "TAGS_PER_RESOURCE_MAX",
    "TOPIC_POLICY_MAX_BYTES",
    "TOPIC_POLICY_MAX_STATEMENTS",
    "TRAILS_PER_REGION_MAX",
    "SelectorCounts",
    "bucket_policy_findings",
    "count_selectors",
    "event_selector_findings",
    "event_selector_problem",
    "iam_policy_size",
    "key_policy_findings",
    "limit_findings",
    "policy_bytes",
    "role_policy_findings",
    "role_trust_policy_findings",
    "s3_policy_size",
    "tags_findings",
    "topic_policy_findings",
    "topic_statement_count",
    "trails_in_region",
    "trails_per_region_findings",
]

# --------------------------------------------------------------------------- limits

BUCKET_POLICY_MAX_BYTES = 20 * 1024
"""S3 bucket policy: 20 KB.

"Bucket policies are limited to 20 KB in size."
https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html
"""

KEY_POLICY_MAX_BYTES = 32 * 1024
"""KMS key policy: "Up to 32 kilobytes (32,768 bytes)"; larger ones get LimitExceededException.

https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html
https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
"""

TOPIC_POLICY_MAX_BYTES = 30 * 1024
"""SNS topic policy: 30 KB ("Bytes: 30 kb" in the policy quotas table).

https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html
"""

TOPIC_POLICY_MAX_STATEMENTS = 100
"""SNS topic policy: at most 100 statements (same table as :data:`TOPIC_POLICY_MAX_BYTES`)."""

ROLE_TRUST_POLICY_MAX_CHARS = 2048
"""IAM "Role trust policy length": 2,048 characters by default (the quota can be raised).

IAM does not count white space. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

ROLE_POLICIES_MAX_CHARS = 10240
"""IAM: all inline policies of one role together, at most 10,240 characters, white space not
counted. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

EVENT_SELECTORS_MAX = BASIC_SELECTORS_MAX
"""CloudTrail basic event selectors: 5 per trail.

https://docs.aws.amazon.com/awscloudtrail/latest/userguide/WhatIsCloudTrail-Limits.html
"""

DATA_RESOURCES_MAX = BASIC_DATA_RESOURCES_MAX
"""CloudTrail basic event selectors: 250 data resources across all selectors of a trail
(same page as :data:`EVENT_SELECTORS_MAX`)."""

ADVANCED_SELECTOR_VALUES_MAX = 500
"""CloudTrail advanced event selectors: "a maximum of 500 total values for all conditions in
all advanced event selectors" of a trail (same page; also InvalidEventSelectorsException in
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html)."""

ADVANCED_SELECTOR_VALUE_LENGTH_MAX = 2048
"""CloudTrail advanced event selectors: each value (Equals, StartsWith, ...) 1 to 2,048
characters. https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html
"""

TRAILS_PER_REGION_MAX = 5
"""CloudTrail: 5 trails per region, and "a multi-Region trail counts as one trail per Region".

https://docs.aws.amazon.com/awscloudtrail/latest/userguide/WhatIsCloudTrail-Limits.html
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-multiple-trails.html
"""

TAGS_PER_RESOURCE_MAX = 50
"""Tags per resource, the same for everything the wizard tags: a trail (TagsLimitExceeded-
Exception, https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html),
an S3 bucket (https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-managing.html),
a KMS key (https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html),
an SNS topic (https://docs.aws.amazon.com/sns/latest/dg/sns-tags-restrictions.html),
a log group (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_TagResource.html)
and an IAM role (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
"""

# The operators of an advanced field selector: each holds a list of values.
_OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")

# ------------------------------------------------------------------------ measuring


def policy_bytes(text: str | bytes) -> int:
    """The size of a policy document exactly as sent: its UTF-8 bytes (KMS, SNS)."""
    return len(text) if isinstance(text, bytes) else len(text.encode("utf-8"))


def s3_policy_size(text: str | bytes) -> int:
    """The size S3 holds against its 20 KB limit: the UTF-8 bytes without the white space
    between JSON tokens.

    S3 stores and returns a policy with its white space, but measures it without: a
    pretty-printed policy well over 20 KB as text is accepted when its compact form fits.
    White space inside strings is kept (it is part of the value).
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return policy_bytes(_without_layout(text))


def iam_policy_size(text: str | bytes) -> int:
    """The size IAM holds against its quotas: characters, white space not counted."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return sum(1 for c in text if not c.isspace())


def _without_layout(text: str) -> str:
    """``text`` with the white space outside JSON strings removed."""
    out: list[str] = []
    in_string = escaped = False
    for c in text:
        if in_string:
            out.append(c)
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif not c.isspace():
            out.append(c)
    return "".join(out)


def topic_statement_count(text: str) -> int | None:
    """Statements in a policy document, None when it is not a JSON policy."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    statements = document.get("Statement", [])
    return len(statements) if isinstance(statements, list) else 1


@dataclass(frozen=True)
class SelectorCounts:
    """What CloudTrail counts in a PutEventSelectors request."""

    selectors: int
    """Basic event selectors."""
    data_resources: int
    """Data resource values across all basic selectors."""
    advanced_selectors: int
    """Advanced event selectors."""
    advanced_values: int
    """Values across all conditions of all advanced selectors."""
    longest_value: int
    """Length of the longest advanced selector value (0 when there is none)."""


def count_selectors(
    event_selectors: Sequence[Mapping[str, Any]] | None = None,
    advanced: Sequence[Mapping[str, Any]] | None = None,
) -> SelectorCounts:
    """Count selectors, data resources and advanced selector values, as CloudTrail does."""
    basic = list(event_selectors or [])
    resources = sum(
        len(r.get("Values") or [])
        for s in basic
        for r in (s.get("DataResources") or [])
        if isinstance(r, Mapping)
    )
    values: list[str] = [
        str(v)
        for s in advanced or []
        for f in (s.get("FieldSelectors") or [])
        if isinstance(f, Mapping)
        for op in _OPERATORS
        for v in (f.get(op) or [])
    ]
    return SelectorCounts(
        selectors=len(basic),
        data_resources=resources,
        advanced_selectors=len(advanced or []),
        advanced_values=len(values),
        longest_value=max((len(v) for v in values), default=0),
    )


def event_selector_problem(
    event_selectors: Sequence[Mapping[str, Any]] | None = None,
    advanced: Sequence[Mapping[str, Any]] | None = None,
) -> str | None:
    """The first CloudTrail limit these selectors break, as a sentence with the numbers.

    Returns:
        None when CloudTrail accepts the counts.
    """
    counts = count_selectors(event_selectors, advanced)
    if counts.selectors > EVENT_SELECTORS_MAX:
        return (
            f"{counts.selectors:,} event selectors; a trail can have at most {EVENT_SELECTORS_MAX}"
        )
    if counts.data_resources > DATA_RESOURCES_MAX:
        return (
            f"{counts.data_resources:,} data resources across the event selectors; a trail "
            f"can have at most {DATA_RESOURCES_MAX}"
        )
    if counts.advanced_values > ADVANCED_SELECTOR_VALUES_MAX:
        return (
            f"{counts.advanced_values:,} values across all conditions of the advanced event "
            f"selectors; a trail can have at most {ADVANCED_SELECTOR_VALUES_MAX}"
        )
    if counts.longest_value > ADVANCED_SELECTOR_VALUE_LENGTH_MAX:
        return (
            f"an advanced event selector value of {counts.longest_value:,} characters; each "
            f"value can have at most {ADVANCED_SELECTOR_VALUE_LENGTH_MAX:,}"
        )
    return None


def trails_in_region(trails: Iterable[TrailFacts], account: str, region: str) -> list[TrailFacts]:
    """The account's trails that count against ``region``'s limit, one per ARN.

    Its trails homed there, and its multi-region trails homed anywhere (one counts in every
    region). Organization trails of another account are not counted: AWS documents no such
    rule, and the sandbox does not count them either.
    """
    seen: dict[str, TrailFacts] = {}
    for t in trails:
        if t.owner_account != account:
            continue
        if t.home_region == region or t.multi_region:
            seen.setdefault(t.arn, t)
    return list(seen.values())


# ------------------------------------------------------------------------- findings


def _error(code: str, message: str, subject: str | None = None) -> Finding:
    return Finding(severity="error", code=code, message=message, subject=subject)


def bucket_policy_findings(
    document: str,
    *,
    bucket: str,
    before: str | None = None,
    new: bool = False,
    what: str = "bucket",
) -> list[Finding]:
    """``bucket-policy-too-large`` when the policy the plan writes to ``bucket`` is over 20 KB.

    Args:
        document: The whole policy the plan sends with PutBucketPolicy.
        bucket: The bucket's name.
        before: The bucket's current policy (merged into), None when it has none.
        new: True when the plan creates the bucket.
        what: How to name the bucket (``bucket``, ``access log bucket``).
    """
    size = s3_policy_size(document)
    if size <= BUCKET_POLICY_MAX_BYTES:
        return []
    over = size - BUCKET_POLICY_MAX_BYTES
    limit = (
        f"S3 allows at most {BUCKET_POLICY_MAX_BYTES:,} bytes (20 KB, counted without the "
        "white space between the policy's elements) and would refuse it"
    )
    if new:
        message = (
            f"The policy of the new {what} {bucket} would be {size:,} bytes; {limit}. Shorten "
            f"the bucket prefix or the names the policy repeats by at least {over:,} bytes."
        )
    elif before:
        message = (
            f"With CloudTrail's statements merged in, the policy of {what} {bucket} would be "
            f"{size:,} bytes (its current policy is {s3_policy_size(before):,}); {limit}. "
            "Remove statements the bucket no longer needs, or combine statements with the "
            f"same effect and principal, to free at least {over:,} bytes; or use another "
            "bucket."
        )
    else:
        message = (
            f"The policy the wizard would attach to {what} {bucket} would be {size:,} bytes; "
            f"{limit}. Shorten the bucket prefix or the names the policy repeats by at least "
            f"{over:,} bytes."
        )
    return [_error("bucket-policy-too-large", message, bucket)]


def key_policy_findings(
    document: str,
    *,
    key: str,
    before: str | None = None,
    readers: int = 0,
) -> list[Finding]:
    """``key-policy-too-large`` when the key policy the plan writes is over 32 KB.

    Args:
        document: The whole policy sent with CreateKey or PutKeyPolicy.
        key: The key (alias, id or ARN) for the message.
        before: The key's current policy (merged into), None for a new key.
        readers: How many decrypt principals the answers name (for the advice).
    """
    size = policy_bytes(document)
    if size <= KEY_POLICY_MAX_BYTES:
        return []
    over = size - KEY_POLICY_MAX_BYTES
    if before is not None:
        fix = (
            f"Remove statements from the key's current policy ({policy_bytes(before):,} bytes) "
            f"to free at least {over:,} bytes, or use another key."
        )
    elif readers:
        fix = (
            f"encryption.decrypt_principals names {readers:,} principals: name fewer (for "
            "example one role that log readers assume, or grant kms:Decrypt in their IAM "
            f"policies instead) to free at least {over:,} bytes."
        )
    else:
        fix = f"Shorten the names the policy repeats to free at least {over:,} bytes."
    return [
        _error(
            "key-policy-too-large",
            f"The policy of KMS key {key} would be {size:,} bytes; KMS allows at most "
            f"{KEY_POLICY_MAX_BYTES:,} bytes (32 KB) and would refuse it with "
            f"LimitExceededException. {fix}",
            key,
        )
    ]


def topic_policy_findings(document: str, *, topic: str, before: str | None = None) -> list[Finding]:
    """``topic-policy-too-large`` when the topic policy is over 30 KB or 100 statements."""
    size = policy_bytes(document)
    statements = topic_statement_count(document)
    problems: list[str] = []
    if size > TOPIC_POLICY_MAX_BYTES:
        problems.append(
            f"{size:,} bytes; SNS allows at most {TOPIC_POLICY_MAX_BYTES:,} bytes (30 KB)"
        )
    if statements is not None and statements > TOPIC_POLICY_MAX_STATEMENTS:
        problems.append(
            f"{statements:,} statements; SNS allows at most {TOPIC_POLICY_MAX_STATEMENTS}"
        )
    if not problems:
        return []
    where = "With CloudTrail's statement merged in, the" if before is not None else "The"
    return [
        _error(
            "topic-policy-too-large",
            f"{where} policy of SNS topic {topic} would have "
            + " and ".join(problems)
            + ". "
            + (
                "Remove statements the topic no longer needs, or use another topic."
                if before is not None
                else "Shorten the names it repeats."
            ),
            topic,
        )
    ]


def role_trust_policy_findings(document: str, *, role: str) -> list[Finding]:
    """``role-trust-policy-too-large`` when a new role's trust policy is over IAM's quota."""
    size = iam_policy_size(document)
    if size <= ROLE_TRUST_POLICY_MAX_CHARS:
        return []
    return [
        _error(
            "role-trust-policy-too-large",
            f"The trust policy of the new role {role} would be {size:,} characters (white "
            f"space not counted); IAM allows {ROLE_TRUST_POLICY_MAX_CHARS:,} by default "
            "(quota 'Role trust policy length') and would refuse CreateRole with "
            "LimitExceeded. Use an existing role (give its ARN in cloudwatch_logs.role), or "
            "raise the quota in Service Quotas first.",
            role,
        )
    ]


def role_policy_findings(documents: Sequence[str], *, role: str) -> list[Finding]:
    """``role-policy-too-large`` when a role's inline policies together exceed 10,240
    characters (white space not counted).

    Args:
        documents: Every inline policy the role will have (for a new role: the plan's).
        role: The role's name.
    """
    size = sum(iam_policy_size(d) for d in documents)
    if size <= ROLE_POLICIES_MAX_CHARS:
        return []
    return [
        _error(
            "role-policy-too-large",
            f"The inline policy of the new role {role} would be {size:,} characters (white "
            f"space not counted); IAM allows at most {ROLE_POLICIES_MAX_CHARS:,} for all "
            "inline policies of a role together and would refuse PutRolePolicy with "
            "LimitExceeded. Use an existing role (give its ARN in cloudwatch_logs.role).",
            role,
        )
    ]


def event_selector_findings(
    event_selectors: Sequence[Mapping[str, Any]] | None = None,
    advanced: Sequence[Mapping[str, Any]] | None = None,
    *,
    trail: str,
    data_prefixes: int = 0,
) -> list[Finding]:
    """``event-selectors-limit`` when PutEventSelectors would break a CloudTrail limit.

    Args:
        event_selectors: Basic event selectors the plan sends (if any).
        advanced: Advanced event selectors the plan sends (if any).
        trail: The trail's name.
        data_prefixes: How many resource ARN prefixes events.data lists (for the advice).
    """
    problem = event_selector_problem(event_selectors, advanced)
    if problem is None:
        return []
    advice = (
        f" events.data lists {data_prefixes:,} resource ARN prefixes: list fewer, broader "
        "prefixes (a bucket instead of each of its folders), or record all resources of "
        "that type (resources: all)."
        if data_prefixes
        else " Record fewer kinds of events."
    )
    return [
        _error(
            "event-selectors-limit",
            f"The event selectors of trail {trail} would have {problem}; CloudTrail would "
            f"refuse them with InvalidEventSelectorsException after creating the trail." + advice,
            trail,
        )
    ]


def trails_per_region_findings(
    trails: Iterable[TrailFacts], *, account: str, region: str, creates_trail: bool = True
) -> list[Finding]:
    """``trails-per-region-limit`` when the home region already has 5 trails."""
    if not creates_trail:
        return []
    counted = trails_in_region(trails, account, region)
    if len(counted) < TRAILS_PER_REGION_MAX:
        return []
    listing = ", ".join(
        sorted(
            t.name + (f" (multi-region, home {t.home_region})" if t.home_region != region else "")
            for t in counted
        )
    )
    return [
        _error(
            "trails-per-region-limit",
            f"{region} already has {len(counted)} trails ({listing}); CloudTrail allows at most "
            f"{TRAILS_PER_REGION_MAX} per region, a multi-region trail counting in every "
            "region, and would refuse CreateTrail with MaximumNumberOfTrailsExceededException. "
            "Delete an unused trail or create this one in another home region.",
            region,
        )
    ]


def tags_findings(
    tags: Mapping[str, str], *, resources: Sequence[str], wizard_tags: Iterable[str] = ()
) -> list[Finding]:
    """``tags-limit`` when the resources the plan tags would carry more than 50 tags.

    Args:
        tags: The tags from the answers (trail.tags).
        resources: What the plan creates and tags (for the message).
        wizard_tags: Tag keys the wizard adds itself (its run tag).
    """
    if not resources:
        return []
    own = [k for k in dict.fromkeys(wizard_tags) if k not in tags]
    total = len(tags) + len(own)
    if total <= TAGS_PER_RESOURCE_MAX:
        return []
    added = f" plus the wizard's own {', '.join(own)}" if own else ""
    return [
        _error(
            "tags-limit",
            f"{', '.join(resources)} would each carry {total} tags (the {len(tags)} in "
            f"trail.tags{added}); AWS allows at most {TAGS_PER_RESOURCE_MAX} per resource. "
            f"Remove at least {total - TAGS_PER_RESOURCE_MAX} from trail.tags.",
            "trail.tags",
        )
    ]


# --------------------------------------------------------------------- the whole plan


def _written(review: PolicyReview | None) -> bool:
    """True when the plan writes this reviewed policy (new resource, or merged changes)."""
    if review is None or review.error or not review.readable:
        return False
    return review.new_resource or (review.merged is not None and review.merged.changed)


def limit_findings(
    answers: Answers, ctx: AccountContext, found: Discovery, reviews: Reviews
) -> list[Finding]:
    """Every limit finding for the documents, selectors and tags this plan would send.

    Only what the plan itself writes is measured: a policy owned by a log-archive account
    the wizard cannot act as is the owner's to change (its hand-off), and an existing role's
    trust policy is not changed at all.
    """
    names = Names(answers, ctx)
    central = found.central
    out: list[Finding] = []

    bucket_handoff = bool(central and central.bucket_account and not central.bucket_managed)
    if _written(reviews.bucket) and not bucket_handoff:
        out += bucket_policy_findings(
            reviews.bucket.document,
            bucket=answers.bucket.name,
            before=reviews.bucket.before,
            new=reviews.bucket.new_resource,
        )
    access = answers.bucket.access_logs
    if access is not None and _written(reviews.access_logs):
        assert reviews.access_logs is not None
        out += bucket_policy_findings(
            reviews.access_logs.document,
            bucket=access.bucket,
            before=reviews.access_logs.before,
            new=reviews.access_logs.new_resource,
            what="access log bucket",
        )

    key_handoff = bool(central and central.key_account and not central.key_managed)
    if reviews.key is not None and _written(reviews.key) and not key_handoff:
        enc = answers.encryption
        out += key_policy_findings(
            reviews.key.document,
            key=enc.existing_key or names.key_alias(),
            before=None if reviews.key.new_resource else reviews.key.before,
            readers=len(set(enc.decrypt_principals)),
        )

    if reviews.topic is not None and _written(reviews.topic):
        out += topic_policy_findings(
            reviews.topic.document,
            topic=reviews.topic.resource,
            before=None if reviews.topic.new_resource else reviews.topic.before,
        )

    role = names.role_name or ""
    if reviews.role_trust is not None and reviews.role_trust.new_resource:
        out += role_trust_policy_findings(reviews.role_trust.document, role=role)
    if reviews.role_permissions is not None:
        out += role_policy_findings([render_policy(reviews.role_permissions)], role=role)

    data_prefixes = sum(
        len(d.resources) for d in answers.events.data if isinstance(d.resources, list)
    )
    selection = event_selection(answers, names)
    out += event_selector_findings(
        selection.basic,
        selection.advanced,
        trail=answers.trail.name,
        data_prefixes=data_prefixes,
    )

    out += trails_per_region_findings(
        found.trails,
        account=names.account,
        region=names.home_region,
        creates_trail=found.trail_state is None,  # an existing trail is updated, not added
    )

    out += tags_findings(
        answers.trail.tags,
        resources=_tagged_resources(answers, found, reviews),
        wizard_tags=[RUN_TAG],
    )
    return out


def _tagged_resources(answers: Answers, found: Discovery, reviews: Reviews) -> list[str]:
    """What the plan creates and tags, named for a person."""
    out = [f"the trail {answers.trail.name}"]
    if answers.encryption.new_key:
        out.append("the KMS key")
    if answers.bucket.create:
        out.append(f"the bucket {answers.bucket.name}")
    access = answers.bucket.access_logs
    if access is not None and access.create:
        out.append(f"the access log bucket {access.bucket}")
    if reviews.topic is not None and reviews.topic.new_resource:
        out.append("the SNS topic")
    cw = answers.cloudwatch_logs
    if cw.enabled:
        if not (found.logs is not None and found.logs.group_exists):
            out.append(f"the log group {cw.log_group}")
        if reviews.role_permissions is not None:
            out.append("the delivery role")
    return out
