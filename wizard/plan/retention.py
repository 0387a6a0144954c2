"""Preflight findings about the log bucket's retention: lifecycle and Object Lock.

What the answers' retention means before anything is written: expiry under CIS's year, the
finality of COMPLIANCE mode, the server access logging that a locked bucket cannot receive,
and an existing bucket whose lifecycle cannot be read (then nothing is written over it) or
whose other rules already expire the trail's logs.
"""

from __future__ import annotations

from wizard.account.discovery import Discovery
from wizard.model.answers import Answers
from wizard.model.choices import CIS_LOG_RETENTION_DAYS, LIFECYCLE_MIN_STORAGE_DAYS
from wizard.model.plan import Finding
from wizard.plan.desired import Adoption
from wizard.policy.lifecycle import RULE_ID_PREFIX, logs_prefix, retention_problems, retention_rule


def retention_findings(answers: Answers, found: Discovery, adopted: Adoption) -> list[Finding]:
    """Every retention finding for these answers."""
    bucket = answers.bucket
    retention = bucket.retention
    if retention is None:
        return []
    out: list[Finding] = []
    name = bucket.name
    if retention.lifecycle:
        rule = retention_rule(retention, answers.trail.name, bucket.prefix)
        problems = retention_problems(rule)
        if problems:
            out.append(
                Finding(
                    severity="warning",
                    code="retention-below-cis",
                    message="The lifecycle deletes logs sooner than a year: "
                    + "; ".join(problems)
                    + f". Raise the expiry to {CIS_LOG_RETENTION_DAYS} days or more, or leave "
                    "it out to keep log files.",
                    subject=name,
                )
            )
        out += _early_deletion(answers)
        out += _existing_lifecycle(answers, found, adopted)
    lock = retention.object_lock
    if lock is not None:
        out.append(
            Finding(
                severity="warning",
                code="object-lock-access-log-target",
                message=f"Bucket {name} gets an Object Lock default retention: S3 server access "
                "logging cannot deliver to a bucket with a default retention, so never name it "
                "as the access log target of another bucket (its own access logs go to "
                "bucket.access_logs, which is never locked).",
                subject=name,
            )
        )
        if lock.mode == "COMPLIANCE":
            out.append(
                Finding(
                    severity="warning",
                    code="object-lock-compliance",
                    message=f"COMPLIANCE mode: every log file version in {name} stays for "
                    f"{lock.days} days and nobody can shorten that or delete it sooner, not "
                    "even the root user, and not the wizard's rollback. The bucket is created "
                    "empty, so a rollback before CloudTrail delivers the first log file still "
                    "deletes it; after that, the bucket stays until every version's retention "
                    "has ended. Choose GOVERNANCE to keep a way out.",
                    subject=name,
                )
            )
        facts = found.bucket
        if adopted.bucket and (facts.object_lock or {}).get("ObjectLockEnabled") != "Enabled":
            out.append(
                Finding(
                    severity="warning",
                    code="object-lock-not-enabled",
                    message=f"Bucket {name} exists and was created without Object Lock; the "
                    "wizard turns Object Lock on only when it creates a bucket, so it is left "
                    "off. S3 can turn it on for an existing versioned bucket, but never off "
                    "again, and the log files already there stay unlocked: to do so anyway, run "
                    f"aws s3api put-object-lock-configuration --bucket {name} "
                    "--object-lock-configuration ObjectLockEnabled=Enabled, then plan again "
                    "(the wizard then sets the default retention). Or use a new bucket name to "
                    "get a bucket locked from its first log file.",
                    subject=name,
                )
            )
    return out


def _early_deletion(answers: Answers) -> list[Finding]:
    """An expiry sooner than the colder class's minimum storage still costs that minimum."""
    retention = answers.bucket.retention
    if retention is None or retention.transition_days is None or retention.expire_days is None:
        return []
    least = LIFECYCLE_MIN_STORAGE_DAYS[retention.storage_class]
    stored = retention.expire_days - retention.transition_days
    if stored >= least:
        return []
    return [
        Finding(
            severity="info",
            code="retention-early-deletion",
            message=f"Log files spend {stored} days in {retention.storage_class} before they "
            f"expire; S3 bills {retention.storage_class} for at least {least} days, so the "
            "move saves less than it seems (or costs more).",
            subject=answers.bucket.name,
        )
    ]


def _existing_lifecycle(answers: Answers, found: Discovery, adopted: Adoption) -> list[Finding]:
    """An existing bucket's lifecycle: unreadable, or other rules expiring the trail's logs."""
    bucket = answers.bucket
    if bucket.create and not adopted.bucket:
        return []
    facts = found.bucket
    if not facts.exists:
        return []
    if not facts.lifecycle_readable:
        return [
            Finding(
                severity="error",
                code="lifecycle-unreadable",
                message=f"The lifecycle configuration of bucket {bucket.name} could not be read; "
                "writing one replaces all of it, so the wizard writes nothing over rules it has "
                "not read. Allow s3:GetLifecycleConfiguration, or remove bucket.retention's "
                "lifecycle settings.",
                subject=bucket.name,
            )
        ]
    ours = logs_prefix(bucket.prefix)
    out: list[Finding] = []
    for rule in facts.lifecycle_rules or []:
        rid = str(rule.get("ID", ""))
        if rid.startswith(RULE_ID_PREFIX) or rule.get("Status") != "Enabled":
            continue
        filt = rule.get("Filter") or {}
        where = filt.get("Prefix", rule.get("Prefix", "")) if "And" not in filt else None
        if where is None or not ours.startswith(where):
            continue
        for problem in retention_problems(rule):
            out.append(
                Finding(
                    severity="warning",
                    code="retention-other-rule",
                    message=f"Bucket {bucket.name}'s lifecycle rule {rid or '(no ID)'} also "
                    f"covers the trail's log files ({ours}): {problem}. The wizard keeps that "
                    "rule as it is; its owner may narrow its prefix.",
                    subject=bucket.name,
                )
            )
    return out
