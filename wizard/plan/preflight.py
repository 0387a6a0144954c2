"""Preflight: refuse what AWS would refuse, before anything changes, and explain the traps.

Every finding has a stable code, a severity (errors block apply) and a message that says
what is wrong and how to fix it. The checks run on discovery's facts and the policy
reviews; the local emulator is more lenient than AWS in many of them, so these checks are
what stands between the operator and a failed or unsafe trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

from wizard.account.discovery import (
    AccessLogFacts,
    BucketFacts,
    Discovery,
    KeyFacts,
    LogsFacts,
)
from wizard.model.answers import Answers
from wizard.model.context import AccountContext, Names
from wizard.model.plan import Finding, by_severity
from wizard.plan.central import central_findings
from wizard.plan.desired import Adoption, adoption, ours_elsewhere
from wizard.plan.event_guards import event_findings
from wizard.plan.landing import (
    delegated_admin_findings,
    landing_findings,
    organization_trail_findings,
)
from wizard.plan.limits import limit_findings
from wizard.plan.retention import retention_findings
from wizard.plan.review import (
    PolicyReview,
    Reviews,
    describe_probe_failure,
    statements_text,
    trust_needs_source_keys,
)
from wizard.policy.policies import encrypts_log_group

_READ_ACTION = {
    "bucket": "s3:GetBucketPolicy",
    "kms": "kms:GetKeyPolicy",
    "sns": "sns:GetTopicAttributes",
}


def _finding(
    severity: Literal["error", "warning", "info"],
    code: str,
    message: str,
    subject: str | None = None,
    *,
    statement: dict[str, Any] | None = None,
    controls: Sequence[str] = (),
) -> Finding:
    return Finding(
        severity=severity,
        code=code,
        message=message,
        subject=subject,
        statement=statement,
        controls=list(controls),
    )


_error = partial(_finding, "error")
_warn = partial(_finding, "warning")
_info = partial(_finding, "info")


def preflight(
    answers: Answers, ctx: AccountContext, found: Discovery, reviews: Reviews
) -> list[Finding]:
    """All findings, errors first."""
    names = Names(answers, ctx)
    # What exists and is the answers' own is updated, not refused as a clash
    # (wizard.plan.desired; its own findings explain the updates).
    adopted = adoption(answers, names, found)
    findings: list[Finding] = []
    findings += _bucket_findings(answers, names, found, reviews.bucket, adopted)
    findings += _key_findings(answers, names, found, reviews, adopted)
    findings += _trail_findings(answers, names, found)
    findings += _organization_findings(answers, found)
    findings += _delivery_findings(answers, names, found, reviews, adopted)
    findings += _posture_findings(answers, names, found)
    findings += _access_log_findings(answers, names, found, reviews.access_logs, adopted)
    findings += _principal_findings(answers, found)
    findings += retention_findings(answers, found, adopted)
    findings += limit_findings(answers, ctx, found, reviews)
    if found.central is not None:
        findings += central_findings(answers, ctx, found, reviews)
    return by_severity(findings)


# --------------------------------------------------------------------------- bucket


def _bucket_findings(
    answers: Answers,
    names: Names,
    found: Discovery,
    review: PolicyReview,
    adopted: Adoption | None = None,
) -> list[Finding]:
    """The log bucket: a new one's name is free; an existing one is there, ours and usable."""
    b = found.bucket
    name = answers.bucket.name
    central = found.central
    # A central bucket whose owner the wizard cannot act as: its policy is the hand-off's
    # business (wizard.plan.central), and its settings are the owner's to read.
    handoff = bool(central and central.bucket_account and not central.bucket_managed)
    out = _bucket_discovery_findings(answers, found, handoff)
    if answers.bucket.create and adopted is not None and adopted.bucket:
        # An earlier apply's bucket: its settings are brought to the answers' (desired).
        return out + _existing_bucket_findings(answers, found, review, handoff, adopted=True)
    if answers.bucket.create:
        return out + _bucket_name_taken(answers, names, found)
    if not b.exists:
        return [*out, _bucket_not_found(name)]
    if b.owned is False and answers.bucket.account is None:
        return [*out, _bucket_not_owned(name, review)]
    return out + _existing_bucket_findings(answers, found, review, handoff)


def _bucket_discovery_findings(answers: Answers, found: Discovery, handoff: bool) -> list[Finding]:
    """What could not be read about the bucket: the owner's to check for a hand-off."""
    b = found.bucket
    name = answers.bucket.name
    central = found.central
    if handoff and b.errors:
        return [
            _info(
                "discovery-incomplete",
                f"Bucket {name} belongs to account {central.bucket_account if central else ''}; "
                "its settings cannot be read from this account ("
                + "; ".join(b.errors)
                + "). Its owner checks them (see the central-logging hand-off).",
                name,
            )
        ]
    if handoff:
        return []
    return [
        _warn("discovery-incomplete", f"Could not fully inspect bucket {name}: {problem}", name)
        for problem in b.errors
    ]


def _bucket_name_taken(answers: Answers, names: Names, found: Discovery) -> list[Finding]:
    """``bucket-exists``: a new bucket was asked for, but the name is taken."""
    b = found.bucket
    name = answers.bucket.name
    if not b.exists:
        return []
    if b.owned:
        msg = (
            f"A new bucket was asked for, but you already own a bucket named {name} "
            f"(in {b.region}). To use it, set bucket.create to false (choose 'existing "
            "bucket'); to keep it separate, pick another name."
        )
    else:
        msg = (
            f"A new bucket was asked for, but the name {name} is taken by another AWS "
            "account (bucket names are global). Pick another name, for example one "
            f"ending in your account id: {name[:40]}-{names.account}."
        )
    return [_error("bucket-exists", msg, name)]


def _bucket_not_found(name: str) -> Finding:
    """``bucket-not-found``: the existing bucket is not there."""
    return _error(
        "bucket-not-found",
        f"The existing bucket {name} does not exist (or its name is misspelt). Check the "
        "name, or set bucket.create to true to create it.",
        name,
    )


def _bucket_not_owned(name: str, review: PolicyReview) -> Finding:
    """``bucket-not-owned``: another account's bucket, not declared as a central one."""
    return _error(
        "bucket-not-owned",
        f"Bucket {name} belongs to another account. "
        + (
            "Its policy can be read, but the wizard only changes policies of your own resources. "
            if review.readable
            else "Its policy cannot be read from this account. "
        )
        + "If this is a central log bucket, set bucket.account to the owner's account id "
        "and have the owner add these statements to the bucket policy:\n"
        + statements_text(review.required),
        name,
        statement=review.required,
    )


def _existing_bucket_findings(
    answers: Answers,
    found: Discovery,
    review: PolicyReview,
    handoff: bool,
    *,
    adopted: bool = False,
) -> list[Finding]:
    """An existing bucket CloudTrail can use: deliverable, a usable policy, private."""
    b = found.bucket
    name = answers.bucket.name
    central = found.central
    out: list[Finding] = []
    if b.requester_pays:
        out.append(
            _error(
                "bucket-requester-pays",
                f"Bucket {name} has Requester Pays turned on, and CloudTrail cannot deliver to "
                "such a bucket. Turn Requester Pays off (S3 console > bucket > Properties) or "
                "use another bucket.",
                name,
            )
        )
    if not handoff or (review.readable and not review.error and review.allowed_before):
        out += _policy_findings(
            review,
            code_prefix="bucket",
            what=f"bucket {name}",
            update_allowed=answers.bucket.update_policy
            and (b.owned is not False or (central is not None and central.bucket_managed)),
            switch="bucket.update_policy",
        )
    if not adopted:  # the answers' own bucket gets all four settings turned on
        out += _bucket_public_access(answers, found, handoff)
    out += _bucket_shared(answers, found)
    return out


def _bucket_public_access(answers: Answers, found: Discovery, handoff: bool) -> list[Finding]:
    """``bucket-public-access``: not all four Block Public Access settings are on."""
    b = found.bucket
    name = answers.bucket.name
    unread = any("GetPublicAccessBlock" in e for e in b.errors)
    if handoff and unread:
        return []
    if b.public_access_block is not None and all(b.public_access_block.values()):
        return []
    return [
        _warn(
            "bucket-public-access",
            f"Bucket {name} does not block all public access. Log files are sensitive; turn "
            "on all four Block Public Access settings for this bucket.",
            name,
            controls=["CIS 3.3", "CloudTrail.6", "CKV2_AWS_6"],
        )
    ]


def _bucket_shared(answers: Answers, found: Discovery) -> list[Finding]:
    """``bucket-shared``: other trails deliver to the bucket too (fine, said for clarity)."""
    name = answers.bucket.name
    others = [t for t in found.trails if t.bucket == name and t.name != answers.trail.name]
    if not others:
        return []
    return [
        _info(
            "bucket-shared",
            f"Bucket {name} already receives logs from trail(s) "
            f"{', '.join(sorted({t.name for t in others}))}. That is fine: each trail writes "
            "under its own account path.",
            name,
        )
    ]


def _policy_findings(
    review: PolicyReview, *, code_prefix: str, what: str, update_allowed: bool, switch: str
) -> list[Finding]:
    """Findings for an existing resource policy CloudTrail depends on."""
    if review.error and review.readable:
        return [_policy_malformed(review, code_prefix, what)]
    if not review.readable:
        return [_policy_unreadable(review, code_prefix, what)]
    if review.allowed_before:
        return [
            _info(
                f"{code_prefix}-policy-ok",
                f"The policy of {what} already allows everything CloudTrail needs; it is left "
                "unchanged.",
                review.resource,
            )
        ]
    if not update_allowed:
        return [_policy_not_to_be_changed(review, code_prefix, what, switch)]
    blocking = review.blocking_after()
    if blocking:
        return [
            _error(
                f"{code_prefix}-policy-denies",
                f"Even with CloudTrail's statements merged in, the policy of {what} would refuse "
                "CloudTrail: "
                + "; ".join(describe_probe_failure(p) for p in blocking)
                + ". Change or narrow that statement (for example exclude "
                "cloudtrail.amazonaws.com from the Deny) and run again.",
                review.resource,
            )
        ]
    return [_policy_merge(review, code_prefix, what)]


def _policy_malformed(review: PolicyReview, code_prefix: str, what: str) -> Finding:
    """``*-policy-malformed``: the current policy cannot be parsed, so it is not touched."""
    return _error(
        f"{code_prefix}-policy-malformed",
        f"The current policy of {what} cannot be used: {review.error} The wizard never "
        "replaces a policy it cannot read; fix the policy first.",
        review.resource,
    )


def _policy_unreadable(review: PolicyReview, code_prefix: str, what: str) -> Finding:
    """``*-policy-insufficient``: the policy could not be read, so it cannot be merged."""
    return _error(
        f"{code_prefix}-policy-insufficient",
        f"The policy of {what} could not be read, so the wizard cannot check or merge "
        f"it. Give the operator {_READ_ACTION.get(code_prefix, 'read access')}"
        ", or have the owner add these statements:\n" + statements_text(review.required),
        review.resource,
        statement=review.required,
    )


def _policy_not_to_be_changed(
    review: PolicyReview, code_prefix: str, what: str, switch: str
) -> Finding:
    """``*-policy-insufficient``: CloudTrail is refused and the answers forbid the merge."""
    refused = [
        describe_probe_failure(p, current=True)
        for p in review.probes
        if not (p.before and p.before.allowed)
    ]
    return _error(
        f"{code_prefix}-policy-insufficient",
        f"The policy of {what} does not let CloudTrail do its job ("
        + "; ".join(refused)
        + f"). {switch} is false, so the wizard will not change it: add these "
        "statements yourself (or set " + switch + " to true):\n" + statements_text(review.required),
        review.resource,
        statement=review.required,
    )


def _policy_merge(review: PolicyReview, code_prefix: str, what: str) -> Finding:
    """``*-policy-merge``: the statements CloudTrail lacks will be added, nothing else."""
    added = [str(s.get("Sid")) for s in (review.merged.added if review.merged else [])]
    missing = [p.label for p in review.probes if not (p.before and p.before.allowed)]
    return _info(
        f"{code_prefix}-policy-merge",
        f"The policy of {what} does not yet let CloudTrail {'; '.join(missing)}. The "
        f"statement(s) {', '.join(added)} will be added; every existing statement is kept "
        "exactly as it is (see the diff).",
        review.resource,
    )


# ------------------------------------------------------------------------------ key


def _key_findings(
    answers: Answers,
    names: Names,
    found: Discovery,
    reviews: Reviews,
    adopted: Adoption | None = None,
) -> list[Finding]:
    """The encryption choice: SSE-S3 against CIS, a new key's settings, an existing key's use."""
    enc = answers.encryption
    if enc.type == "sse-s3":
        return [
            _warn(
                "sse-s3-not-cis",
                "Log files will be encrypted with SSE-S3 (keys managed by S3). CIS AWS "
                "Foundations 4.5 and AWS Security Hub CloudTrail.2 expect SSE-KMS with your own "
                "key; choose sse-kms if you are assessed against them (a key costs about $1 a "
                "month plus requests).",
                controls=["CIS 4.5", "CloudTrail.2", "CKV_AWS_35"],
            )
        ]
    if enc.new_key and adopted is not None and adopted.key is not None:
        # The alias already names the answers' key: it is used, not created again.
        return _new_key_findings(answers, names, found, alias_free=False)
    if enc.new_key:
        return _new_key_findings(answers, names, found)
    return _existing_key_findings(answers, names, found, reviews)


def _new_key_findings(
    answers: Answers, names: Names, found: Discovery, *, alias_free: bool = True
) -> list[Finding]:
    """A new key: its alias is free, rotation is on, decryption is narrowed."""
    enc = answers.encryption
    out = _alias_findings(names, found) if alias_free else []
    if not enc.rotation:
        out.append(
            _warn(
                "key-rotation-off",
                "Automatic rotation is off for the new key. CIS 4.6 expects it; set "
                "encryption.rotation to true.",
                controls=["CIS 4.6", "CKV_AWS_7"],
            )
        )
    if not enc.decrypt_principals:
        out.append(
            _warn(
                "kms-decrypt-account-wide",
                "No decrypt_principals given: any principal in this account whose IAM "
                "policy allows kms:Decrypt can read the log files (the Console's default). "
                "Name the roles that read logs in encryption.decrypt_principals to narrow it.",
            )
        )
    return out


def _existing_key_findings(
    answers: Answers, names: Names, found: Discovery, reviews: Reviews
) -> list[Finding]:
    """An existing key: found beside the bucket, usable by CloudTrail, with a usable policy."""
    enc = answers.encryption
    key = found.key
    ref = enc.existing_key or ""
    bucket_region = names.bucket_region(found.bucket.region)
    central = found.central
    # A key in another account the wizard cannot act as: wizard.plan.central's hand-off covers its
    # policy; only what its ARN says (the region) is checked here when it cannot be described.
    handoff = bool(central and central.key_account and not central.key_managed)
    if handoff and (key is None or not key.found):
        return _central_key_region(answers, ref, bucket_region)
    if key is None or not key.found:
        return [_key_not_found(ref, key, bucket_region)]
    out = [
        *_key_region(answers, key, bucket_region),
        *_key_aws_managed(key, ref),
        *_key_not_symmetric(key, ref),
        *_key_disabled(key, ref),
    ]
    if any(f.severity == "error" for f in out) or reviews.key is None:
        return out
    if handoff and not (
        reviews.key.readable and not reviews.key.error and reviews.key.allowed_before
    ):
        return out
    out += _policy_findings(
        reviews.key,
        code_prefix="kms",
        what=f"key {ref}",
        update_allowed=enc.update_key_policy,
        switch="encryption.update_key_policy",
    )
    return out


def _central_key_region(answers: Answers, ref: str, bucket_region: str) -> list[Finding]:
    """``kms-region-mismatch`` for a central key that cannot be described: from its ARN."""
    key_region = ref.split(":")[3] if ref.startswith("arn:") else None
    if not key_region or key_region == bucket_region:
        return []
    return [
        _error(
            "kms-region-mismatch",
            _region_mismatch(ref, key_region, answers.bucket.name, bucket_region),
            ref,
        )
    ]


def _key_not_found(ref: str, key: KeyFacts | None, bucket_region: str) -> Finding:
    """``kms-key-not-found``: not in the bucket's region (where it has to be)."""
    detail = f" ({'; '.join(key.errors)})" if key is not None and key.errors else ""
    return _error(
        "kms-key-not-found",
        f"The KMS key {ref} was not found in {bucket_region}, the bucket's region{detail}. "
        "Check the key id or alias; a key must be in the same region as the bucket.",
        ref,
    )


def _key_region(answers: Answers, key: KeyFacts, bucket_region: str) -> list[Finding]:
    """``kms-region-mismatch``: the key is not in the bucket's region."""
    if key.region == bucket_region:
        return []
    return [
        _error(
            "kms-region-mismatch",
            _region_mismatch(key.arn or "", key.region, answers.bucket.name, bucket_region)
            + (" This is a multi-Region key: use its replica there." if key.multi_region else ""),
            key.arn,
        )
    ]


def _key_aws_managed(key: KeyFacts, ref: str) -> list[Finding]:
    """``kms-key-aws-managed``: an AWS managed key's policy cannot be changed."""
    # AWS reserves the alias/aws/ prefix for its managed keys, so the alias alone proves it,
    # whatever DescribeKey says (emulators report such keys as CUSTOMER).
    if key.manager != "AWS" and not _names_aws_managed_alias(ref):
        return []
    return [
        _error(
            "kms-key-aws-managed",
            f"{ref} is an AWS managed key; its policy cannot be changed to let CloudTrail "
            "use it. Use a customer managed key (encryption.key: new).",
            key.arn,
        )
    ]


def _key_not_symmetric(key: KeyFacts, ref: str) -> list[Finding]:
    """``kms-key-not-symmetric``: CloudTrail and S3 take symmetric encryption keys only."""
    if key.spec in (None, "SYMMETRIC_DEFAULT") and key.usage in (None, "ENCRYPT_DECRYPT"):
        return []
    return [
        _error(
            "kms-key-not-symmetric",
            f"{ref} is a {key.spec} key for {key.usage}; CloudTrail and S3 support only "
            "symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT). Choose another "
            "key or create a new one.",
            key.arn,
        )
    ]


def _key_disabled(key: KeyFacts, ref: str) -> list[Finding]:
    """``kms-key-disabled``: the key is disabled or pending deletion."""
    if key.state in (None, "Enabled"):
        return []
    return [
        _error(
            "kms-key-disabled",
            f"{ref} is {key.state}; CloudTrail cannot encrypt with it. "
            + (
                "Cancel the scheduled deletion and enable it, or choose another key."
                if key.state == "PendingDeletion"
                else "Enable it (kms enable-key) or choose another key."
            ),
            key.arn,
        )
    ]


def _alias_findings(names: Names, found: Discovery) -> list[Finding]:
    """``kms-alias-exists``: the new key's alias is taken (CreateAlias would refuse it)."""
    alias = found.alias
    if alias is None:
        return []
    if alias.exists is None:
        return [
            _warn(
                "discovery-incomplete",
                f"Could not check that the alias {alias.name} is free in {alias.region}: "
                + "; ".join(alias.errors),
                alias.name,
            )
        ]
    if not alias.exists:
        return []
    target = alias.target_key_arn or alias.target_key_id or "another key"
    return [
        _error(
            "kms-alias-exists",
            f"The alias {alias.name} already exists in {alias.region} and points at key "
            f"{target}. A new key cannot take it, and the wizard never moves an alias it did "
            "not create. Choose another name in encryption.alias, or use that key: set "
            f"encryption.key to {alias.name} and remove encryption.alias.",
            f"arn:{names.partition}:kms:{alias.region}:{names.account}:{alias.name}",
        )
    ]


def _names_aws_managed_alias(ref: str) -> bool:
    """True for ``alias/aws/...`` and alias ARNs ending in ``:alias/aws/...``."""
    ref = ref.lower()
    return ref.startswith("alias/aws/") or ":alias/aws/" in ref


def _region_mismatch(key_arn: str, key_region: str | None, bucket: str, bucket_region: str) -> str:
    return (
        f"The KMS key {key_arn} is in {key_region}, but the bucket {bucket} is in "
        f"{bucket_region}. CloudTrail requires the key and the bucket to be in the same region "
        f"(AWS refuses with KmsKeyNotFoundException). Use a key in {bucket_region}, create a new "
        f"one (encryption.key: new), or use a bucket in {key_region}."
    )


# ---------------------------------------------------------------------------- trail


def _trail_findings(answers: Answers, names: Names, found: Discovery) -> list[Finding]:
    out: list[Finding] = []
    if found.trails_error:
        out.append(_warn("discovery-incomplete", f"Could not list trails: {found.trails_error}"))
    home = names.home_region
    out += _trail_name_findings(answers, names, found)
    # The limit of trails per region is checked with the other AWS limits (wizard.plan.limits).
    out += landing_findings(answers, names, found)
    multi = [
        t
        for t in found.trails
        if t.multi_region and t.owner_account == names.account and t.name != answers.trail.name
    ]
    if multi and answers.events.management != "none":
        out.append(
            _warn(
                "second-management-trail",
                f"Trail {multi[0].name} already records management events in every region. The "
                "first copy of management events is free; this trail's copy is charged. "
                "Consider recording only data events here (events.management: none).",
                multi[0].arn,
            )
        )
    if not answers.trail.multi_region:
        out.append(
            _warn(
                "single-region",
                f"The trail records only {home}. Activity in other regions goes unrecorded; CIS "
                "4.1 and Security Hub CloudTrail.1 expect a multi-region trail.",
                controls=["CIS 4.1", "CloudTrail.1", "CKV_AWS_67"],
            )
        )
    if not answers.trail.log_file_validation:
        out.append(
            _warn(
                "log-validation-off",
                "Log file validation is off, so tampering with log files cannot be detected. "
                "CIS 4.2 expects it on (trail.log_file_validation: true).",
                controls=["CIS 4.2", "CloudTrail.4", "CKV_AWS_36"],
            )
        )
    return out


def _trail_name_findings(answers: Answers, names: Names, found: Discovery) -> list[Finding]:
    """``trail-exists``: the new trail's name is taken where CloudTrail would refuse it.

    In the home region, by a trail homed there or by the copy of a multi-region trail homed
    elsewhere (DescribeTrails shows both); for a multi-region trail, also by a trail of the
    same name in any other region, where its own copy would go (ListTrails).
    """
    name = answers.trail.name
    home = names.home_region
    # The answers' own trail is updated; this account's same-named trail homed elsewhere is
    # a home-region change (wizard.plan.desired says why neither can happen as asked).
    skip = {t.arn for t in ours_elsewhere(answers, names, found)}
    if found.trail_state is not None:
        skip.add(found.trail_state.arn)
    here = [t for t in found.trails if t.name == name and t.arn not in skip]
    here.sort(key=lambda t: (t.home_region != home, t.arn))
    if here:
        trail = here[0]
        where = (
            f"in {home}"
            if trail.home_region == home
            else f"in {home}: the copy of the multi-region trail homed in {trail.home_region}"
        )
        return [
            _error(
                "trail-exists",
                f"A trail named {name} already exists {where} ({trail.arn}). Choose another "
                "name in trail.name; the wizard does not modify existing trails.",
                trail.arn,
            )
        ]
    out: list[Finding] = []
    if found.named_trails_error:
        out.append(
            _warn(
                "discovery-incomplete",
                f"Could not check that the name {name} is free in every region (a multi-region "
                f"trail is copied into each): {found.named_trails_error}",
            )
        )
    elsewhere = sorted(
        (t for t in found.named_trails or [] if t.arn not in skip),
        key=lambda t: (t.home_region, t.arn),
    )
    if elsewhere:
        trail = elsewhere[0]
        out.append(
            _error(
                "trail-exists",
                f"A trail named {name} already exists in {trail.home_region} ({trail.arn}). "
                f"A multi-region trail is copied into every region, so its name must be free "
                "in all of them (AWS refuses with TrailAlreadyExistsException). Choose another "
                "name in trail.name; the wizard does not modify existing trails.",
                trail.arn,
            )
        )
    return out


def _organization_findings(answers: Answers, found: Discovery) -> list[Finding]:
    return organization_trail_findings(answers, found) + delegated_admin_findings(answers, found)


# ------------------------------------------------------------------------- delivery


def _delivery_findings(
    answers: Answers,
    names: Names,
    found: Discovery,
    reviews: Reviews,
    adopted: Adoption | None = None,
) -> list[Finding]:
    """Where the trail delivers besides the bucket: the SNS topic and CloudWatch Logs."""
    mine = adopted if adopted is not None else Adoption()
    return _topic_findings(answers, names, found, reviews, mine.topic) + _cloudwatch_findings(
        answers, names, found, reviews, mine.role
    )


def _topic_findings(
    answers: Answers, names: Names, found: Discovery, reviews: Reviews, adopted: bool = False
) -> list[Finding]:
    """A new topic's name is free; an existing one is there, in the home region, usable."""
    n = answers.notifications
    if not n.sns_topic:
        return []
    topic = found.topic
    if not n.topic_is_arn and topic is not None and topic.exists and not adopted:
        return [_topic_exists(names, n.sns_topic, topic.arn)]
    if n.topic_is_arn and (topic is None or not topic.exists):
        return [
            _error(
                "sns-topic-not-found",
                f"The SNS topic {n.sns_topic} does not exist. Check the ARN, or give a name "
                "to create a new topic.",
                n.sns_topic,
            )
        ]
    if topic is None or not topic.exists or reviews.topic is None:
        return []
    out: list[Finding] = []
    arn = names.topic_arn or ""
    if arn.split(":")[3:4] != [names.home_region]:
        out.append(
            _error(
                "sns-topic-region",
                f"The topic {arn} is not in the trail's home region {names.home_region}; "
                "CloudTrail needs the topic there.",
                arn,
            )
        )
    out += _policy_findings(
        reviews.topic,
        code_prefix="sns",
        what=f"topic {arn}",
        update_allowed=True,
        switch="",
    )
    return out


def _cloudwatch_findings(
    answers: Answers, names: Names, found: Discovery, reviews: Reviews, adopted: bool = False
) -> list[Finding]:
    """CloudWatch Logs delivery: its group and role, a year's retention; or why to turn it on."""
    cw = answers.cloudwatch_logs
    if not cw.enabled:
        return [
            _info(
                "no-cloudwatch-logs",
                "Events are not sent to CloudWatch Logs. The CIS monitoring controls (metric "
                "filters and alarms for root use, IAM changes, ...) need it.",
                controls=["CIS 3.4 (v1.4)", "CloudTrail.5", "CKV2_AWS_10"],
            )
        ]
    key_region = names.bucket_region(found.bucket.region)
    out = _logs_findings(answers, names, found.logs, reviews, adopted, key_region=key_region)
    if cw.retention_days < 365:
        out.append(
            _warn(
                "cloudwatch-retention-short",
                f"The log group {cw.log_group} keeps events for {cw.retention_days} days; "
                "checkov CKV_AWS_338 and most audit regimes expect at least 365. Set "
                "cloudwatch_logs.retention_days to 365 or more.",
                cw.log_group,
                controls=["CKV_AWS_338"],
            )
        )
    return out


def _topic_exists(names: Names, name: str, arn: str) -> Finding:
    """``sns-topic-exists``: a topic given by name (a new one) already exists."""
    return _error(
        "sns-topic-exists",
        f"An SNS topic named {name} already exists in {names.home_region} ({arn}). A name in "
        "notifications.sns_topic asks for a new topic, and the wizard never takes over one "
        "it did not create. To use this topic, give its ARN in notifications.sns_topic "
        "(CloudTrail's publish statement is then merged into its policy); otherwise choose "
        "another name there.",
        arn,
    )


def _logs_findings(
    answers: Answers,
    names: Names,
    logs: LogsFacts | None,
    reviews: Reviews,
    adopted: bool = False,
    *,
    key_region: str | None = None,
) -> list[Finding]:
    """The delivery role (given by ARN, or named and free) and the log group (``key_region``:
    where the trail's key is, the bucket's region)."""
    cw = answers.cloudwatch_logs
    out: list[Finding] = []
    if cw.role_is_arn:
        out.append(_given_role(cw.role or "", names, logs, reviews))
    elif logs is not None and logs.role_exists and not adopted:
        out.append(_role_name_taken(names, logs))
    if logs is None:
        return out
    if logs.group_exists:
        out.append(_log_group_exists(answers, names, logs, key_region))
    if logs.group_exists and logs.group_arn and not logs.group_arn.endswith(":*"):
        out.append(
            _warn(
                "cloudwatch-logs-arn",
                f"The log group ARN {logs.group_arn} does not end in ':*'; the wizard passes "
                f"{names.log_group_arn}, the form CloudTrail accepts.",
                logs.group_arn,
            )
        )
    for problem in logs.errors:
        out.append(_warn("discovery-incomplete", f"CloudWatch Logs: {problem}"))
    return out


def _given_role(role_arn: str, names: Names, logs: LogsFacts | None, reviews: Reviews) -> Finding:
    """A role given by ARN: in this account, there, trusting CloudTrail (never changed)."""
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    if account != names.account:
        return _error(
            "cloudwatch-logs-arn",
            f"The role {role_arn} is in account {account}; CloudTrail needs the delivery "
            f"role in this account ({names.account}).",
            role_arn,
        )
    if logs is None or not logs.role_exists:
        return _error(
            "cloudwatch-logs-arn",
            f"The delivery role {role_arn} does not exist. Check the ARN, or give a role "
            "name to have the wizard create it.",
            role_arn,
        )
    trust = reviews.role_trust
    if trust is not None and trust_needs_source_keys(trust, names):
        return _error(
            "cloudwatch-role-trust-conditions",
            f"The trust policy of {role_arn} lets CloudTrail assume the role only when the "
            "request carries aws:SourceArn or aws:SourceAccount. AWS documents this role's "
            "trust policy without any condition and does not document CloudTrail sending "
            "those keys when it assumes the role; such conditions have stopped delivery to "
            "CloudWatch Logs. Remove the conditions from the statement that trusts "
            "cloudtrail.amazonaws.com, so that it reads:\n" + statements_text(trust.required),
            role_arn,
            statement=trust.required,
        )
    if trust is not None and not trust.allowed_before:
        return _error(
            "cloudwatch-logs-arn",
            f"The trust policy of {role_arn} does not let CloudTrail assume it. Add this "
            "statement to its trust policy:\n" + statements_text(trust.required),
            role_arn,
            statement=trust.required,
        )
    return _info(
        "cloudwatch-role-permissions",
        f"The wizard does not change the existing role {role_arn}; make sure it "
        "allows logs:CreateLogStream and logs:PutLogEvents on the log group.",
        role_arn,
    )


def _role_name_taken(names: Names, logs: LogsFacts) -> Finding:
    """``iam-role-exists``: the role to create is there already, and not this run's."""
    existing = logs.role_arn or names.role_arn
    return _error(
        "iam-role-exists",
        f"An IAM role named {names.role_name} already exists ({existing}). "
        "The wizard creates the delivery role named in cloudwatch_logs.role and never "
        "takes over one it did not create. To use this role as it is, give its ARN in "
        "cloudwatch_logs.role; otherwise choose another role name there.",
        existing,
    )


def _log_group_exists(
    answers: Answers, names: Names, logs: LogsFacts, key_region: str | None = None
) -> Finding:
    """``log-group-exists``: the log group is there already, so it is used, not created.

    The answers say "created when missing": an existing group is not a clash. It is not this
    run's, so the plan neither creates it, changes its retention, re-keys it, nor deletes it
    on rollback; the finding says so, with its retention, so nobody expects the answers'.
    """
    cw = answers.cloudwatch_logs
    kept = (
        f"keeps events for {logs.retention_days} days"
        if logs.retention_days
        else "keeps events forever (no retention set)"
    )
    return _info(
        "log-group-exists",
        f"The log group {cw.log_group} already exists ({logs.group_arn or names.log_group_arn}) "
        f"and {kept}. The trail delivers to it as it is: the wizard does not create it, "
        f"does not set its retention (cloudwatch_logs.retention_days: {cw.retention_days} is "
        "for a new group) and never deletes it on rollback. "
        + (
            # A new group would get the trail's new key (encrypts_log_group); this one is not
            # the run's, so associating the key with it is left to its owner.
            "Nor does it encrypt it with the trail's new key, as it would a group it "
            "creates: to use that key, its owner can run aws logs associate-kms-key once "
            "the key's policy lets CloudWatch Logs use it for this group. "
            if key_region is not None and encrypts_log_group(names, key_region)
            else ""
        )
        + "To have a new group created instead, choose another name in "
        "cloudwatch_logs.log_group.",
        logs.group_arn or names.log_group_arn,
    )


# ---------------------------------------------------------------------- principals

_INVALID_PRINCIPALS = (
    "MalformedPolicyDocumentException: Policy contains a statement with one or more invalid "
    "principals"
)
"""KMS's answer to a key policy that names a user or role that does not exist."""

_LISTED = 10
"""Principals named one by one in a finding; the rest are counted."""


def _principal_source(answers: Answers, found: Discovery, arn: str) -> str:
    """Where the answers (or the command line) name this principal."""
    sources = []
    if answers.encryption.new_key and arn in answers.encryption.decrypt_principals:
        sources.append("encryption.decrypt_principals")
    if found.central is not None and arn in found.central.readers:
        sources.append(
            "the central readers (--central-reader, or central.readers of an accounts file)"
        )
    return " and ".join(sources) or "the key policy"


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    more = len(items) - _LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def _principal_findings(answers: Answers, found: Discovery) -> list[Finding]:
    """Every IAM user and role written into a key policy exists, as KMS requires.

    KMS refuses a key policy naming a user or role that does not exist; the ones in an
    account the wizard has credentials for are looked up (discovery), the others cannot be
    read from here and are listed as not checked.
    """
    if found.principals is None:
        return []
    out: list[Finding] = []
    missing = [p for p in found.principals if p.readable and p.exists is False]
    for p in missing[:_LISTED]:
        where = _principal_source(answers, found, p.arn)
        if p.found_arn:
            problem = (
                f"{where} names {p.arn}, but that {p.kind}'s ARN is {p.found_arn} (the path "
                f"is part of the ARN). KMS matches the ARN as written and refuses the key "
                f"policy ({_INVALID_PRINCIPALS}). Write {p.found_arn} in {where}."
            )
        else:
            problem = (
                f"{where} names {p.arn}, but account {p.account} has no such {p.kind}. KMS "
                f"refuses a key policy that names a principal that does not exist "
                f"({_INVALID_PRINCIPALS}), so the key could not be written. Create the "
                f"{p.kind} first, correct the ARN, or remove it from {where}."
            )
        out.append(_error("principal-not-found", problem, p.arn))
    if len(missing) > _LISTED:
        rest = [p.arn for p in missing[_LISTED:]]
        out.append(
            _error(
                "principal-not-found",
                f"{len(rest)} more principals the key policy names do not exist: "
                f"{_listed(rest)}. KMS refuses a key policy that names a principal that "
                f"does not exist ({_INVALID_PRINCIPALS}). Create them, correct the ARNs, or "
                "remove them.",
                rest[0],
            )
        )
    unreadable = [p for p in found.principals if p.error]
    for p in unreadable:
        out.append(
            _warn(
                "principal-unchecked",
                f"Could not check that {p.arn} exists ({p.error}). KMS refuses a key policy "
                "that names a principal that does not exist; allow iam:GetRole and "
                "iam:GetUser on it to have it checked before anything changes.",
                p.arn,
            )
        )
    elsewhere: dict[str, list[str]] = {}
    for p in found.principals:
        if not p.readable and not p.error:
            elsewhere.setdefault(p.account, []).append(p.arn)
    for account, arns in sorted(elsewhere.items()):
        out.append(
            _info(
                "principal-other-account",
                f"The key policy names {len(arns)} principal(s) of account {account} "
                f"({_listed(arns)}). Their existence cannot be read from this account, so they "
                f"are not checked here; KMS checks them when the key policy is written and "
                f"refuses one that does not exist ({_INVALID_PRINCIPALS}).",
                account,
            )
        )
    return out


# ------------------------------------------------------------------------- posture


def _posture_findings(answers: Answers, names: Names, found: Discovery) -> list[Finding]:
    """What the event choices cost or miss, and a new bucket without versioning."""
    out = event_findings(answers, names)
    ev = answers.events
    if ev.data or ev.network:
        out.append(
            _info(
                "data-events-cost",
                "Data and network activity events are charged per event (about $0.10 per "
                "100,000); busy buckets or functions can cost far more than the trail itself.",
            )
        )
    if ev.insights or ev.data_insights:
        out.append(
            _info(
                "insights-cost",
                "CloudTrail Insights is charged per 100,000 events analysed (about $0.35).",
            )
        )
    if ev.management in ("read", "write"):
        out.append(
            _warn(
                "management-events-partial",
                f"Only {ev.management} management events are recorded. Some frameworks expect "
                "both read and write events.",
            )
        )
    if answers.bucket.create and not answers.bucket.versioning:
        out.append(
            _warn(
                "bucket-versioning-off",
                "Versioning is off for the new bucket, so an overwritten or deleted log file "
                "cannot be recovered.",
                answers.bucket.name,
                controls=["CKV_AWS_21"],
            )
        )
    return out


# ---------------------------------------------------------------------- access logs

_ACCESS_LOG_CONTROLS = ("CIS 4.4", "CloudTrail.7", "CKV_AWS_18")


def _access_log_findings(
    answers: Answers,
    names: Names,
    found: Discovery,
    review: PolicyReview | None,
    adopted: Adoption | None = None,
) -> list[Finding]:
    """S3's rules for a server access log target, checked before anything changes."""
    access = answers.bucket.access_logs
    facts = found.access_logs
    if access is None or facts is None:
        return []
    name = access.bucket
    out = [_warn("access-log-read-failed", error, name) for error in facts.errors]
    out += [_warn("access-log-read-failed", error, name) for error in facts.target.errors]
    out += _access_log_target_findings(
        answers, names, found, facts, review, adopted is not None and adopted.access_log_bucket
    )
    out += _access_log_current_findings(answers, facts)
    out.append(
        _info(
            "access-log-cost",
            f"Server access logs of {answers.bucket.name} go to {name}/{access.prefix} "
            "(CIS 4.4, Security Hub CloudTrail.7). S3 writes one small log object per batch of "
            "requests; you pay only for storing them and for requests that read them.",
            name,
            controls=_ACCESS_LOG_CONTROLS,
        )
    )
    return out


def _access_log_target_findings(
    answers: Answers,
    names: Names,
    found: Discovery,
    facts: AccessLogFacts,
    review: PolicyReview | None,
    adopted: bool = False,
) -> list[Finding]:
    """A new target's name is free; an existing target is there and accepts the logs."""
    access = answers.bucket.access_logs
    assert access is not None
    target = facts.target
    name = access.bucket
    if access.create and not adopted:
        if not target.exists:
            return []
        mine = target.owned or name in found.owned_buckets
        return [
            _error(
                "access-log-bucket-exists",
                f"The access log bucket {name} already exists"
                + (
                    " in this account: set bucket.access_logs.create to false to use it."
                    if mine
                    else " (bucket names are global and this one is taken): choose "
                    "another name for bucket.access_logs.bucket."
                ),
                name,
            )
        ]
    if not target.exists:
        return [
            _error(
                "access-log-bucket-missing",
                f"The access log bucket {name} does not exist. Create it first, or set "
                "bucket.access_logs.create to true and the wizard creates it.",
                name,
            )
        ]
    region = names.bucket_region(found.bucket.region)
    return _existing_target_findings(answers, names, found, region, review)


def _access_log_current_findings(answers: Answers, facts: AccessLogFacts) -> list[Finding]:
    """The log bucket's current logging setting: readable (to restore it), and replaced."""
    access = answers.bucket.access_logs
    assert access is not None
    if not facts.current_readable:
        return [
            _error(
                "access-log-current-unreadable",
                f"The current server access logging setting of {answers.bucket.name} could not "
                "be read, so it could not be restored if the setup is rolled back. Give the "
                "operator s3:GetBucketLogging on the log bucket and run again.",
                answers.bucket.name,
            )
        ]
    if facts.current is None:
        return []
    before = facts.current
    if before.get("TargetBucket") == access.bucket and before.get("TargetPrefix") == access.prefix:
        return []  # already as the answers say: nothing changes
    return [
        _info(
            "access-log-replaces-current",
            f"{answers.bucket.name} already sends its access logs to "
            f"{before.get('TargetBucket')}/{before.get('TargetPrefix', '')}; the wizard "
            f"points them at {access.bucket}/{access.prefix} instead (a rollback restores the old "
            "setting).",
            answers.bucket.name,
        )
    ]


def _existing_target_findings(
    answers: Answers, names: Names, found: Discovery, region: str, review: PolicyReview | None
) -> list[Finding]:
    """An existing target: this account's, in the region, SSE-S3, no lock, a usable policy."""
    assert found.access_logs is not None
    facts = found.access_logs
    target = facts.target
    name = target.name
    if target.owned is False or (target.owned is None and name not in found.owned_buckets):
        return [
            _error(
                "access-log-bucket-other-account",
                f"The access log bucket {name} is not a bucket of account {names.account}. "
                "S3 delivers server access logs only to a bucket of the same account as the "
                "log bucket: choose one of this account's buckets.",
                name,
            )
        ]
    out = [
        *_target_region(answers, target, region),
        *_target_refusals(facts),
    ]
    if review is not None:
        out.append(_target_policy(review, f"the access log bucket {name}"))
    return out


def _target_region(answers: Answers, target: BucketFacts, region: str) -> list[Finding]:
    """``access-log-region-mismatch``: S3 delivers access logs within one region only."""
    if not target.region or target.region == region:
        return []
    name = target.name
    return [
        _error(
            "access-log-region-mismatch",
            f"The access log bucket {name} is in {target.region} but the log bucket "
            f"{answers.bucket.name} is in {region}. S3 delivers server access logs only "
            "to a bucket in the same region: choose a bucket in "
            f"{region}, or let the wizard create one (create: true).",
            name,
        )
    ]


def _target_refusals(facts: AccessLogFacts) -> list[Finding]:
    """The target settings S3 log delivery refuses: KMS encryption, Object Lock, Requester Pays."""
    target = facts.target
    name = target.name
    out: list[Finding] = []
    if target.encryption in ("aws:kms", "aws:kms:dsse"):
        out.append(
            _error(
                "access-log-bucket-kms",
                f"The access log bucket {name} encrypts objects by default with SSE-KMS "
                f"({target.encryption_key or 'a KMS key'}). S3 server access log delivery "
                "does not support SSE-KMS or DSSE-KMS default encryption on the target: "
                "switch its default encryption to SSE-S3 (AES256) or choose another bucket.",
                name,
            )
        )
    if facts.target_retention:
        out.append(
            _error(
                "access-log-bucket-object-lock",
                f"The access log bucket {name} has an Object Lock default retention period; "
                "S3 does not deliver server access logs to such a bucket. Remove the default "
                "retention, or choose another bucket.",
                name,
            )
        )
    if target.requester_pays:
        out.append(
            _error(
                "access-log-bucket-requester-pays",
                f"Requester Pays is on for the access log bucket {name}; S3 does not deliver "
                "server access logs to such a bucket. Turn it off, or choose another bucket.",
                name,
            )
        )
    return out


def _target_policy(review: PolicyReview, what: str) -> Finding:
    """The existing target's policy: usable, and whether log delivery's statement is added."""
    if review.error and review.readable:
        return _error(
            "access-log-bucket-policy-malformed",
            f"The current policy of {what} cannot be used: {review.error} The wizard never "
            "replaces a policy it cannot read; fix the policy first.",
            review.resource,
        )
    if not review.readable:
        return _error(
            "access-log-bucket-policy-insufficient",
            f"The policy of {what} could not be read, so the wizard cannot merge into it. "
            "Give the operator s3:GetBucketPolicy, or have the owner add this statement:\n"
            + statements_text(review.required),
            review.resource,
            statement=review.required,
        )
    if review.allowed_before:
        return _info(
            "access-log-bucket-policy-ok",
            f"The policy of {what} already lets S3 deliver these access logs; it is left "
            "unchanged.",
            review.resource,
        )
    blocking = review.blocking_after()
    if blocking:
        return _error(
            "access-log-bucket-policy-denies",
            f"Even with the delivery statement merged in, the policy of {what} would refuse "
            "S3 log delivery (logging.s3.amazonaws.com): "
            + "; ".join("; ".join(p.after.reasons) if p.after else p.label for p in blocking)
            + ". Narrow that Deny and run again.",
            review.resource,
        )
    added = [str(s.get("Sid")) for s in (review.merged.added if review.merged else [])]
    return _info(
        "access-log-bucket-policy-merge",
        f"The statement(s) {', '.join(added)} will be added to the policy of {what} "
        "so S3 can deliver the access logs; every existing statement is kept exactly "
        "as it is (see the diff).",
        review.resource,
    )
