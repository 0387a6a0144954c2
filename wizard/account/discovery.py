"""Discovery: a read-only look at the account, through the :class:`AwsCaller` port.

Everything preflight and the plan need to know is gathered here, as frozen models. The
independent reads (bucket, key, trails, topic, log group and role, organization) run
concurrently; each read that fails is recorded with its reason instead of aborting the
whole discovery, so preflight can say exactly what could not be checked.

Every name the plan would create is looked up too (the new key's alias, the bucket and the
access log bucket, the trail in every region a multi-region trail is copied to, the topic,
the log group, the role), so preflight can refuse a name that is taken before anything
changes, and the fingerprint makes apply refuse a plan when one is taken after planning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Literal, TypeVar
from urllib.parse import unquote

from pydantic import Field

from wizard.account.current import (
    KeyExtras,
    RoleExtras,
    TrailState,
    digest,
    read_key_extras,
    read_role_extras,
    read_topic_tags,
    read_trail_state,
    tag_map,
)
from wizard.account.landing import discover_organization_trails
from wizard.model.answers import Answers
from wizard.model.base import WizardModel
from wizard.model.context import AccountContext, Names
from wizard.model.landing import OrganizationTrail
from wizard.model.names import classify_key_ref, parse_arn
from wizard.model.regions import normalise_bucket_location, partition_of
from wizard.ports import AwsCaller, AwsError

T = TypeVar("T")

CLOUDTRAIL_SERVICE_LINKED_ROLE = "AWSServiceRoleForCloudTrail"
"""The service-linked role organization trails need in the management account."""


FIND_KEY_AT_ONCE = 16
"""Regions asked at once for a key that is not where it must be (a partition has ~35)."""

FIND_KEY_SECONDS = 2.0
"""How long the search for a misplaced key may take: it only improves a finding's words
("the key is in eu-west-1") and must not hold up a plan."""


class BucketFacts(WizardModel):
    """What the account says about the log bucket."""

    name: str
    """Bucket name."""
    exists: bool = False
    """The name is taken (by anyone)."""
    owned: bool | None = None
    """Owned by the caller's account (None: could not tell)."""
    region: str | None = None
    """The bucket's region (normalised)."""
    policy: str | None = None
    """The bucket policy text, exactly as stored; None when there is none."""
    policy_readable: bool = True
    """False when the policy could not be read (access denied)."""
    requester_pays: bool | None = None
    """Requester Pays is on (CloudTrail cannot deliver then)."""
    public_access_block: dict[str, bool] | None = None
    """The bucket's Block Public Access settings, None when not set."""
    object_ownership: str | None = None
    """Object Ownership setting (None: not set, S3 treats it as BucketOwnerEnforced)."""
    encryption: str | None = None
    """Default encryption algorithm (AES256, aws:kms, aws:kms:dsse)."""
    encryption_key: str | None = None
    """Default encryption KMS key, when aws:kms."""
    bucket_key: bool = False
    """An S3 Bucket Key is enabled for default encryption."""
    encryption_rules: list[dict[str, Any]] | None = None
    """The default encryption rules exactly as S3 gives them (None: none set), for a
    rollback that restores them."""
    versioning: str | None = None
    """Enabled, Suspended, or None (never enabled)."""
    tags: dict[str, str] | None = None
    """The bucket's tags (empty: none; None: not read)."""
    lifecycle_rules: list[dict[str, Any]] | None = None
    """The lifecycle rules exactly as S3 gives them (None: no lifecycle configuration)."""
    lifecycle_min_size: str | None = None
    """The lifecycle's ``TransitionDefaultMinimumObjectSize``, written back as it was read."""
    lifecycle_readable: bool = True
    """False when GetBucketLifecycleConfiguration failed (nothing may be written over it)."""
    object_lock: dict[str, Any] | None = None
    """``ObjectLockConfiguration`` (None: Object Lock is off)."""
    errors: list[str] = Field(default_factory=list)
    """Reads that failed, explained."""

    def settings_print(self) -> str:
        """The fingerprint of the settings a desired-state plan compares and restores."""
        return digest(
            [
                self.public_access_block,
                self.object_ownership,
                self.encryption_rules,
                self.versioning,
                self.tags,
                self.lifecycle_rules,
            ]
        )


class AccessLogFacts(WizardModel):
    """Server access logging: the log bucket's current setting and the target bucket."""

    current: dict[str, Any] | None = None
    """The log bucket's ``LoggingEnabled`` now (None: off, or the bucket is new)."""
    current_readable: bool = True
    """False when GetBucketLogging on the log bucket failed."""
    target: BucketFacts
    """The target bucket."""
    target_retention: bool | None = None
    """The target has an Object Lock default retention (S3 refuses such a target)."""
    errors: list[str] = Field(default_factory=list)
    """Reads that failed, explained."""


def discover_access_logs(
    answers: Answers, ctx: AccountContext, caller: AwsCaller
) -> AccessLogFacts | None:
    """The log bucket's logging setting and the target bucket, when access logging is on."""
    access = answers.bucket.access_logs
    if access is None:
        return None
    errors: list[str] = []
    target = discover_bucket(access.bucket, ctx, caller)
    if target.exists and target.owned is None:
        owned = _owned_buckets(caller, ctx.region)
        if owned is not None:
            target = target.model_copy(update={"owned": access.bucket in owned})
    retention: bool | None = None
    if target.exists and target.region:
        try:
            lock = caller.call(
                "s3", target.region, "GetObjectLockConfiguration", {"Bucket": access.bucket}
            )
            rule = lock.get("ObjectLockConfiguration", {}).get("Rule", {})
            retention = bool(rule.get("DefaultRetention"))
        except AwsError as err:
            if err.not_found or err.code == "ObjectLockConfigurationNotFoundError":
                retention = False
            else:
                errors.append(_explain(err, "GetObjectLockConfiguration"))
    return AccessLogFacts(target=target, target_retention=retention, errors=errors)


def read_bucket_logging(
    facts: AccessLogFacts, bucket: str, region: str, caller: AwsCaller
) -> AccessLogFacts:
    """``facts`` with an existing log bucket's current logging setting (GetBucketLogging)."""
    try:
        got = caller.call("s3", region, "GetBucketLogging", {"Bucket": bucket})
    except AwsError as err:
        if err.not_found:
            return facts
        return facts.model_copy(
            update={
                "current_readable": False,
                "errors": [*facts.errors, _explain(err, "GetBucketLogging")],
            }
        )
    enabled = got.get("LoggingEnabled")
    return facts.model_copy(update={"current": dict(enabled) if enabled else None})


class KeyFacts(WizardModel):
    """What the account says about an existing KMS key."""

    ref: str
    """The reference from the answers."""
    found: bool = False
    """DescribeKey found it in the region that matters."""
    key_id: str | None = None
    """Key id."""
    arn: str | None = None
    """Key ARN."""
    region: str | None = None
    """Region the key lives in."""
    looked_in: str | None = None
    """Region where discovery looked first (the bucket's)."""
    state: str | None = None
    """Enabled, Disabled, PendingDeletion, ..."""
    spec: str | None = None
    """KeySpec (SYMMETRIC_DEFAULT for CloudTrail)."""
    usage: str | None = None
    """KeyUsage (ENCRYPT_DECRYPT for CloudTrail)."""
    manager: str | None = None
    """AWS or CUSTOMER."""
    multi_region: bool = False
    """A multi-Region key."""
    policy: str | None = None
    """The key policy text."""
    policy_readable: bool = True
    """False when GetKeyPolicy was refused."""
    errors: list[str] = Field(default_factory=list)
    """Reads that failed, explained."""


class AliasFacts(WizardModel):
    """The alias a new key is to be named with, looked up where the key would be created."""

    name: str
    """The alias (``alias/NAME``)."""
    region: str
    """The region it was looked up in (the bucket's: where the new key goes)."""
    exists: bool | None = False
    """The alias is taken (None: it could not be checked, see :attr:`errors`)."""
    target_key_id: str | None = None
    """The key it points at, when it exists."""
    target_key_arn: str | None = None
    """That key's ARN, when it could be read."""
    errors: list[str] = Field(default_factory=list)
    """Reads that failed, explained."""


def discover_alias(alias: str, region: str, caller: AwsCaller) -> AliasFacts:
    """Whether ``alias`` exists in ``region``, and which key it points at.

    One DescribeKey by the alias name answers both (KMS resolves the alias, NotFound when it
    does not exist). When DescribeKey is refused (a key policy that does not let this
    account describe the key), ListAliases, which needs no access to the key, says it.
    """
    try:
        meta = caller.call("kms", region, "DescribeKey", {"KeyId": alias})["KeyMetadata"]
    except AwsError as err:
        if err.not_found:
            return AliasFacts(name=alias, region=region, exists=False)
        try:
            listed = caller.paginate("kms", region, "ListAliases", "Aliases")
        except AwsError as list_err:
            return AliasFacts(
                name=alias,
                region=region,
                exists=None,
                errors=[_explain(err, "DescribeKey"), _explain(list_err, "ListAliases")],
            )
        for entry in listed:
            if entry.get("AliasName") == alias:
                return AliasFacts(
                    name=alias,
                    region=region,
                    exists=True,
                    target_key_id=entry.get("TargetKeyId"),
                )
        return AliasFacts(name=alias, region=region, exists=False)
    return AliasFacts(
        name=alias,
        region=region,
        exists=True,
        target_key_id=meta.get("KeyId"),
        target_key_arn=meta.get("Arn"),
    )


class TrailFacts(WizardModel):
    """An existing trail visible from the home region."""

    name: str
    """Trail name."""
    arn: str
    """Trail ARN."""
    home_region: str
    """Home region."""
    bucket: str | None = None
    """Bucket the trail delivers to."""
    prefix: str | None = None
    """Its S3 key prefix."""
    multi_region: bool = False
    """Multi-region trail."""
    organization: bool = False
    """Organization trail."""
    logging: bool | None = None
    """Logging (None: not asked)."""
    owner_account: str | None = None
    """Account that owns the trail (from the ARN)."""


class TopicFacts(WizardModel):
    """The SNS topic."""

    arn: str
    """Topic ARN."""
    exists: bool = False
    """The topic exists."""
    policy: str | None = None
    """Its access policy."""
    kms_key: str | None = None
    """KMS key of an encrypted topic."""
    tags: dict[str, str] | None = None
    """Its tags, read for a topic the answers name (a new one): is it the wizard's?"""
    errors: list[str] = Field(default_factory=list)
    """Reads that failed."""


class LogsFacts(WizardModel):
    """The CloudWatch Logs group and the delivery role."""

    log_group: str
    """Group name."""
    group_exists: bool = False
    """The group exists."""
    group_arn: str | None = None
    """The group ARN as DescribeLogGroups gives it (ending in ``:*``)."""
    retention_days: int | None = None
    """Current retention."""
    role_name: str | None = None
    """Delivery role name."""
    role_exists: bool = False
    """The role exists."""
    role_arn: str | None = None
    """Role ARN."""
    role_trust_policy: str | None = None
    """The role's trust policy as JSON text."""
    role_extras: RoleExtras | None = None
    """An existing role the wizard would create: its tags and inline policy."""
    errors: list[str] = Field(default_factory=list)
    """Reads that failed."""


class PrincipalFacts(WizardModel):
    """An IAM principal the wizard writes into a policy, and whether it exists.

    KMS refuses a key policy that names an IAM user or role that does not exist
    (``MalformedPolicyDocumentException``), so every user and role the answers grant is
    looked up in its account, when the wizard has credentials there.
    """

    arn: str
    """The principal as the answers write it."""
    account: str
    """Its account."""
    kind: Literal["role", "user"]
    """What IAM is asked for (GetRole or GetUser)."""
    exists: bool | None = None
    """Found (True), not there (False), or not known (None: another account, or unreadable)."""
    found_arn: str | None = None
    """The ARN IAM answers for the name (it differs when the path is wrong)."""
    readable: bool = False
    """The account's IAM could be asked (this account, or a central one with credentials)."""
    error: str | None = None
    """Why the lookup failed, when it did."""


class OrganizationFacts(WizardModel):
    """The organization, for organization trails."""

    in_organization: bool = False
    """The account belongs to an organization."""
    organization_id: str | None = None
    """o-..."""
    management_account_id: str | None = None
    """The management account."""
    all_features: bool | None = None
    """FeatureSet is ALL."""
    is_management_account: bool = False
    """The caller is the management account."""
    is_delegated_admin: bool | None = None
    """The caller is CloudTrail's delegated administrator."""
    delegated_admins: list[str] | None = None
    """CloudTrail's registered delegated administrator accounts (None: not read)."""
    member_accounts: list[str] | None = None
    """The organization's accounts (ListAccounts, read from the management account when a
    delegated administrator is to be registered; None: not read)."""
    service_linked_role: bool | None = None
    """The caller's account has CloudTrail's service-linked role, AWSServiceRoleForCloudTrail
    (None: not read). Organization trails need it in the management account; enabling
    trusted access creates it."""
    trusted_access: bool | None = None
    """Trusted access for cloudtrail.amazonaws.com is enabled (None: could not check)."""
    errors: list[str] = Field(default_factory=list)
    """Reads that failed."""


def organization_verdict(org: OrganizationFacts) -> tuple[bool, str]:
    """Whether an organization trail may be offered, and the hint that says why (not).

    Both wizards use it: the TUI to enable its switch, plain mode to ask the question.

    Args:
        org: What discovery found about the organization.

    Returns:
        ``(possible, hint)``. When the facts could not be read the choice stays open: the
        review's preflight checks again and explains.
    """
    if org.errors and not org.in_organization:
        return True, f"Could not check the organization ({org.errors[0]}); the review checks again."
    if not org.in_organization:
        return False, "Not possible: this account is not in an AWS organization."
    if org.is_management_account:
        return True, f"Possible: this is the management account of {org.organization_id}."
    if org.is_delegated_admin:
        return True, (
            "Possible: this account is CloudTrail's delegated administrator in "
            f"{org.organization_id}."
        )
    if org.is_delegated_admin is None:
        return True, "Could not check the delegated administrator; the review checks again."
    return False, (
        "Not possible: only the management account "
        f"({org.management_account_id}) or CloudTrail's delegated administrator can create one."
    )


class CentralFacts(WizardModel):
    """Central logging: the log bucket or key belongs to another (log-archive) account."""

    bucket_account: str | None = None
    """Owner of the central bucket (``bucket.account``), when not this account."""
    key_account: str | None = None
    """Owner of the existing key (from its ARN), when not this account."""
    access: list[str] = Field(default_factory=list)
    """Central accounts the wizard has credentials for: their policies are read, and
    changed, with those credentials. The others need a hand-off to their owner."""
    readers: list[str] = Field(default_factory=list)
    """Principals the hand-off pack grants decryption of the log files (central key)."""
    confirmation: str | None = None
    """The code ``check-central`` printed: the owner applied the hand-off pack."""

    def managed(self, account: str | None) -> bool:
        """True when ``account`` is a central account the wizard can act in."""
        return account is not None and account in self.access

    @property
    def bucket_managed(self) -> bool:
        """The central bucket's policy is read and changed with its owner's credentials."""
        return self.managed(self.bucket_account)

    @property
    def key_managed(self) -> bool:
        """The central key's policy is read and changed with its owner's credentials."""
        return self.managed(self.key_account)

    @property
    def handoff(self) -> bool:
        """Some central resource can only be changed by its owner (a hand-off is needed)."""
        return any(a is not None and a not in self.access for a in self.accounts_involved)

    @property
    def accounts_involved(self) -> list[str]:
        """The central accounts, bucket's first."""
        return list(dict.fromkeys(a for a in (self.bucket_account, self.key_account) if a))


def central_facts(
    answers: Answers,
    ctx: AccountContext,
    callers: Mapping[str, AwsCaller] | None = None,
    *,
    readers: Sequence[str] = (),
    confirmation: str | None = None,
) -> CentralFacts | None:
    """The central-logging facts of the answers, None when bucket and key are this account's."""
    bucket_account = answers.bucket.account
    if answers.bucket.create or bucket_account == ctx.account_id:
        bucket_account = None
    key_account = None
    if answers.encryption.existing_key:
        ref = classify_key_ref(answers.encryption.existing_key)
        if not isinstance(ref, str) and ref.account and ref.account != ctx.account_id:
            key_account = ref.account
    if bucket_account is None and key_account is None:
        return None
    involved = {a for a in (bucket_account, key_account) if a}
    return CentralFacts(
        bucket_account=bucket_account,
        key_account=key_account,
        access=sorted(a for a in involved if callers and a in callers),
        readers=sorted(set(readers)),
        confirmation=confirmation,
    )


class Discovery(WizardModel):
    """Everything discovery found."""

    context: AccountContext
    """Who and where."""
    bucket: BucketFacts
    """The log bucket."""
    owned_buckets: list[str] = Field(default_factory=list)
    """Names of the caller's buckets: read when the log bucket exists (to tell whether it is
    this account's), empty otherwise."""
    key: KeyFacts | None = None
    """The existing key, when one is used."""
    trails: list[TrailFacts] = Field(default_factory=list)
    """Trails visible from the home region (shadow copies included)."""
    trails_error: str | None = None
    """Why trails could not be listed."""
    topic: TopicFacts | None = None
    """The SNS topic, when one is used."""
    logs: LogsFacts | None = None
    """CloudWatch Logs delivery, when used."""
    organization: OrganizationFacts | None = None
    """Organization facts, for organization trails."""
    organization_trails: list[OrganizationTrail] = Field(default_factory=list)
    """Organization trails of another account (the management account) that already record
    this one: AWS Control Tower's, the Landing Zone Accelerator's or any other."""
    central: CentralFacts | None = None
    """Central logging (bucket or key in another account), None when not used."""
    access_logs: AccessLogFacts | None = None
    """Server access logging of the log bucket, when the answers turn it on."""
    alias: AliasFacts | None = None
    """The new key's alias, when a new key is created."""
    named_trails: list[TrailFacts] | None = None
    """Trails of this account named like the new trail, in any region (ListTrails): read
    for a multi-region trail, whose copies in every region would collide with them. None
    when not read."""
    named_trails_error: str | None = None
    """Why they could not be listed."""
    principals: list[PrincipalFacts] | None = None
    """The IAM users and roles the answers write into a key policy (decrypt principals of a
    new key, readers of a central key); None when not read (an offline plan)."""
    trail_state: TrailState | None = None
    """The trail the answers name, when it exists (in the home region, this account's or,
    for an organization trail, the management account's): its whole configuration."""
    alias_key: KeyFacts | None = None
    """The key the new key's alias already points at, when it does."""
    alias_key_extras: KeyExtras | None = None
    """That key's rotation and tags."""
    state_prints: dict[str, str] = Field(default_factory=dict)
    """Fingerprints of the settings a desired-state plan compares and a rollback restores
    (the existing trail, the settings of a bucket the answers create, ...)."""

    def fingerprint(self) -> dict[str, str]:
        """Short hashes of what the plan depends on; apply compares them (stale plan).

        :func:`fingerprint_now` computes the same hashes from fresh reads of only these
        facts.
        """
        prints = _fingerprint(self.bucket, self.trails, self.key, self.topic, self.logs)
        if self.access_logs is not None:
            prints["access_logs"] = _access_log_print(self.access_logs)
        prints.update(_name_prints(self.alias, self.named_trails))
        prints.update(self.state_prints)
        return prints


def _name_prints(
    alias: AliasFacts | None, named_trails: Sequence[TrailFacts] | None
) -> dict[str, str]:
    """The fingerprint of the names the plan creates that the other keys do not cover: the
    new key's alias, and same-named trails in other regions (for a multi-region trail)."""
    prints: dict[str, str] = {}
    if alias is not None:
        prints["alias"] = _digest([alias.exists, alias.target_key_id])
    if named_trails is not None:
        prints["trail_names"] = _digest(sorted(t.arn for t in named_trails))
    return prints


def _access_log_print(facts: AccessLogFacts) -> str:
    """The access log facts a plan depends on: the target's existence, region and policy,
    and the log bucket's current logging setting (what a rollback restores)."""
    target = facts.target
    return _digest([target.exists, target.region, target.policy, facts.current])


def _digest(value: Any) -> str:
    raw = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _fingerprint(
    bucket: BucketFacts,
    trails: Sequence[TrailFacts],
    key: KeyFacts | None,
    topic: TopicFacts | None,
    logs: LogsFacts | None,
) -> dict[str, str]:
    """The fingerprint of these facts: what :meth:`Discovery.fingerprint` documents."""
    prints = {
        "bucket": _digest([bucket.exists, bucket.owned, bucket.region, bucket.policy]),
        "trails": _digest(sorted((t.arn, t.bucket) for t in trails)),
    }
    if key is not None:
        prints["key"] = _digest([key.arn, key.state, key.policy])
    if topic is not None:
        prints["topic"] = _digest([topic.exists, topic.policy])
    if logs is not None:
        prints["logs"] = _digest([logs.group_exists, logs.role_exists, logs.role_trust_policy])
    return prints


def _explain(err: AwsError, what: str) -> str:
    if err.access_denied:
        return f"{what}: access denied ({err.service}:{err.operation}); {err.message}"
    return f"{what}: {err.code}: {err.message}"


def whoami(caller: AwsCaller, region: str) -> tuple[str, str, str]:
    """Account id, partition and caller ARN from STS (needs no permission)."""
    ident = caller.call("sts", region, "GetCallerIdentity")
    arn = str(ident["Arn"])
    parsed = parse_arn(arn)
    return str(ident["Account"]), parsed.partition if parsed else "aws", arn


def discover(
    answers: Answers,
    ctx: AccountContext,
    caller: AwsCaller,
    *,
    max_workers: int = 6,
    callers: Mapping[str, AwsCaller] | None = None,
    central_readers: Sequence[str] = (),
    central_confirmation: str | None = None,
) -> Discovery:
    """Read everything the answers touch; never changes anything.

    ``callers`` (by account id) read a central log-archive account's bucket and key policies
    with that account's credentials; ``central_readers`` and ``central_confirmation`` are
    carried into :class:`CentralFacts` for the hand-off pack.
    """
    names = Names(answers, ctx)
    central = central_facts(
        answers, ctx, callers, readers=central_readers, confirmation=central_confirmation
    )
    bucket_caller, key_caller = _policy_callers(central, caller, callers)
    tasks: dict[str, Callable[[], Any]] = {
        "bucket": lambda: discover_bucket(
            answers.bucket.name, ctx, caller, policy_caller=bucket_caller
        ),
        "trails": lambda: discover_trails(names.home_region, caller),
    }
    # Who owns the bucket only matters when it exists: an existing bucket is listed at
    # once, a new one only if its name turns out to be taken.
    if not answers.bucket.create:
        tasks["owned"] = lambda: _owned_buckets(caller, ctx.region)
    key_ref = answers.encryption.existing_key
    new_bucket_region = answers.bucket_region(ctx.region)
    if key_ref and new_bucket_region:
        # The key must be in the bucket's region, which a new bucket's answers say.
        tasks["key"] = lambda: discover_key(
            key_ref, new_bucket_region, names.home_region, key_caller
        )
    if answers.notifications.sns_topic:
        topic_arn = names.topic_arn
        assert topic_arn is not None
        tasks["topic"] = lambda: discover_topic(topic_arn, caller)
    if answers.cloudwatch_logs.enabled:
        tasks["logs"] = lambda: discover_logs(names, caller)
    if answers.trail.organization or answers.organization.delegated_admin:
        tasks["organization"] = lambda: discover_organization(
            ctx, caller, members=answers.organization.delegated_admin is not None
        )
    if answers.bucket.access_logs is not None:
        tasks["access_logs"] = lambda: discover_access_logs(answers, ctx, caller)
    alias_region = _alias_region_guess(answers, names)
    if alias_region is not None:
        tasks["alias"] = lambda: discover_alias(names.key_alias(), alias_region, caller)
    if answers.trail.multi_region:
        tasks["named_trails"] = lambda: discover_named_trails(
            answers.trail.name, ctx.region, caller
        )
    granted = policy_principals(answers, central)
    if granted:
        tasks["principals"] = lambda: discover_principals(
            granted, _principal_callers(ctx, caller, central, callers), ctx.region
        )
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="discover") as pool:
        futures = {name: pool.submit(fn) for name, fn in tasks.items()}
        results = {name: f.result() for name, f in futures.items()}
        bucket: BucketFacts = results["bucket"]
        owned: list[str] | None = results.get("owned")
        if bucket.exists and bucket.owned is None:
            if "owned" not in tasks:
                owned = _owned_buckets(caller, ctx.region)
            if owned is not None:
                bucket = bucket.model_copy(update={"owned": answers.bucket.name in owned})
        access: AccessLogFacts | None = results.get("access_logs")
        if access is not None and bucket.exists and bucket.region:
            # What a rollback restores, and (for a bucket an earlier run made) whether
            # logging is already as the answers want.
            access = read_bucket_logging(access, answers.bucket.name, bucket.region, caller)
        key: KeyFacts | None = results.get("key")
        if key_ref and key is None:
            region = names.bucket_region(bucket.region)
            key = discover_key(key_ref, region, names.home_region, key_caller)
        alias: AliasFacts | None = results.get("alias")
        if alias is not None and alias.region != names.bucket_region(bucket.region):
            # An existing bucket outside the home region: the new key (and so its alias)
            # goes where the bucket turned out to be.
            alias = discover_alias(alias.name, names.bucket_region(bucket.region), caller)
    trails, trails_error = results["trails"]
    org_trails = discover_organization_trails(trails, ctx.account_id, caller)
    named: tuple[list[TrailFacts] | None, str | None] = results.get("named_trails", (None, None))
    organization: OrganizationFacts | None = results.get("organization")
    state = discover_state(
        answers,
        ctx,
        caller,
        trails=trails,
        organization=organization,
        topic=results.get("topic"),
        logs=results.get("logs"),
        alias=alias,
        max_workers=max_workers,
    )
    return Discovery(
        context=ctx,
        bucket=bucket,
        owned_buckets=owned or [],
        key=key,
        trails=trails,
        trails_error=trails_error,
        topic=state.topic,
        logs=state.logs,
        organization=organization,
        organization_trails=org_trails,
        central=central,
        access_logs=access,
        alias=alias,
        named_trails=named[0],
        named_trails_error=named[1],
        principals=results.get("principals"),
        trail_state=state.trail,
        alias_key=state.alias_key,
        alias_key_extras=state.alias_key_extras,
        state_prints=state_prints(answers, bucket, access, state),
    )


class StateFacts(WizardModel):
    """What :func:`discover_state` read about the resources the answers name."""

    trail: TrailState | None = None
    """The named trail's configuration, when it exists."""
    alias_key: KeyFacts | None = None
    """The key the new key's alias points at, when the alias exists."""
    alias_key_extras: KeyExtras | None = None
    """That key's rotation and tags."""
    topic: TopicFacts | None = None
    """The topic, with its tags when it is one the answers name (a new one) and exists."""
    logs: LogsFacts | None = None
    """CloudWatch Logs facts, with the role's tags and inline policy when the answers name
    a role to create and it exists."""


def trail_owners(
    answers: Answers, ctx: AccountContext, organization: OrganizationFacts | None = None
) -> set[str]:
    """The accounts whose trail of the answers' name is the answers' trail: this account, and
    for an organization trail the organization's management account (which owns it)."""
    owners = {ctx.account_id}
    if answers.trail.organization:
        for account in (
            ctx.management_account_id,
            organization.management_account_id if organization is not None else None,
        ):
            if account:
                owners.add(account)
    return owners


def named_trail(
    answers: Answers,
    ctx: AccountContext,
    trails: Sequence[TrailFacts],
    organization: OrganizationFacts | None = None,
) -> TrailFacts | None:
    """The existing trail the answers name: that name, homed in the home region, ours."""
    home = answers.home_region(ctx.region)
    owners = trail_owners(answers, ctx, organization)
    for trail in trails:
        if (
            trail.name == answers.trail.name
            and trail.home_region == home
            and trail.owner_account in owners
        ):
            return trail
    return None


def discover_state(
    answers: Answers,
    ctx: AccountContext,
    caller: AwsCaller,
    *,
    trails: Sequence[TrailFacts],
    organization: OrganizationFacts | None,
    topic: TopicFacts | None,
    logs: LogsFacts | None,
    alias: AliasFacts | None,
    max_workers: int = 4,
) -> StateFacts:
    """Read the settings of the named resources that exist (see :mod:`wizard.account.current`).

    The named trail's whole configuration; the key a new key's alias already points at
    (its policy, rotation and tags); the tags of a topic the answers would create; the tags
    and inline policy of a delivery role the answers would create.
    """
    names = Names(answers, ctx)
    existing = named_trail(answers, ctx, trails, organization)
    tasks: dict[str, Callable[[], Any]] = {}
    if existing is not None:
        tasks["trail"] = lambda: read_trail_state(existing.arn, existing.home_region, caller)
    if alias is not None and alias.exists and (alias.target_key_arn or alias.target_key_id):
        ref = str(alias.target_key_arn or alias.target_key_id)
        tasks["alias_key"] = lambda: discover_key(ref, alias.region, alias.region, caller)
    n = answers.notifications
    if topic is not None and topic.exists and n.sns_topic and not n.topic_is_arn:
        topic_arn = topic.arn
        tasks["topic_tags"] = lambda: read_topic_tags(topic_arn, caller)
    cw = answers.cloudwatch_logs
    if logs is not None and logs.role_exists and logs.role_name and not cw.role_is_arn:
        role = logs.role_name
        tasks["role"] = lambda: read_role_extras(role, names.home_region, caller)
    if not tasks:
        return StateFacts(topic=topic, logs=logs)
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="state") as pool:
        futures = {name: pool.submit(fn) for name, fn in tasks.items()}
        results = {name: f.result() for name, f in futures.items()}
    alias_key: KeyFacts | None = results.get("alias_key")
    extras: KeyExtras | None = None
    if alias_key is not None and alias_key.found and alias_key.arn:
        extras = read_key_extras(alias_key.arn, alias_key.region or ctx.region, caller)
    if "topic_tags" in results and topic is not None:
        tags, error = results["topic_tags"]
        topic = topic.model_copy(
            update={"tags": tags, "errors": [*topic.errors, *([error] if error else [])]}
        )
    if "role" in results and logs is not None:
        logs = logs.model_copy(update={"role_extras": results["role"]})
    return StateFacts(
        trail=results.get("trail"),
        alias_key=alias_key,
        alias_key_extras=extras,
        topic=topic,
        logs=logs,
    )


def state_prints(
    answers: Answers,
    bucket: BucketFacts,
    access: AccessLogFacts | None,
    state: StateFacts,
) -> dict[str, str]:
    """The fingerprints of the settings a desired-state plan compares and a rollback restores.

    Which keys there are follows from the answers and from what exists, so a plan and the
    check before apply (:func:`fingerprint_now`) always compute the same keys.
    """
    prints: dict[str, str] = {}
    if state.trail is not None:
        prints["trail_state"] = state.trail.print()
    if answers.bucket.create and bucket.exists:
        prints["bucket_settings"] = bucket.settings_print()
    target = access.target if access is not None else None
    if answers.bucket.access_logs is not None and target is not None and target.exists:
        prints["access_log_settings"] = target.settings_print()
    if state.alias_key is not None:
        extras = state.alias_key_extras
        prints["alias_key"] = digest(
            [
                state.alias_key.arn,
                state.alias_key.state,
                state.alias_key.policy,
                extras.model_dump(mode="json", exclude={"errors"}) if extras else None,
            ]
        )
    if state.topic is not None and state.topic.tags is not None:
        prints["topic_tags"] = digest(state.topic.tags)
    if state.logs is not None and state.logs.role_extras is not None:
        prints["role_extras"] = digest(
            state.logs.role_extras.model_dump(mode="json", exclude={"errors"})
        )
    return prints


def policy_principals(answers: Answers, central: CentralFacts | None) -> list[str]:
    """The IAM principals the wizard writes into a key policy for these answers.

    The decrypt principals of a new key, and the readers a central key grants; account
    roots and bare account ids are left out (an account always exists).
    """
    named = list(answers.encryption.decrypt_principals) if answers.encryption.new_key else []
    if central is not None and central.key_account is not None:
        named += central.readers
    return sorted({p for p in named if _principal_kind(p) is not None})


def _principal_kind(principal: str) -> Literal["role", "user"] | None:
    parsed = parse_arn(principal)
    if parsed is None or parsed.service != "iam":
        return None
    kind = parsed.resource.partition("/")[0]
    if kind == "role":
        return "role"
    return "user" if kind == "user" else None


def _principal_callers(
    ctx: AccountContext,
    caller: AwsCaller,
    central: CentralFacts | None,
    callers: Mapping[str, AwsCaller] | None,
) -> dict[str, AwsCaller]:
    """Who can look principals up, by account: this account, and central ones it can act in."""
    found = {ctx.account_id: caller}
    if central is not None and callers:
        found.update({a: callers[a] for a in central.access if a in callers})
    return found


def discover_principals(
    principals: Sequence[str],
    callers: Mapping[str, AwsCaller],
    region: str,
    *,
    max_workers: int = 4,
) -> list[PrincipalFacts]:
    """Look each IAM user and role up in its account (GetUser, GetRole), where possible.

    A principal in an account without credentials here is listed as not known: its
    existence cannot be read from outside that account.
    """

    def look_up(principal: str) -> PrincipalFacts:
        parsed = parse_arn(principal)
        kind = _principal_kind(principal)
        assert parsed is not None and kind is not None
        account = parsed.account
        facts = PrincipalFacts(arn=principal, account=account, kind=kind)
        caller = callers.get(account)
        if caller is None:
            return facts
        name = parsed.resource.rstrip("/").rsplit("/", 1)[-1]
        operation, param, key = (
            ("GetRole", "RoleName", "Role") if kind == "role" else ("GetUser", "UserName", "User")
        )
        try:
            got = caller.call("iam", region, operation, {param: name})
        except AwsError as err:
            if err.not_found:
                return facts.model_copy(update={"readable": True, "exists": False})
            return facts.model_copy(update={"error": _explain(err, operation)})
        found_arn = got.get(key, {}).get("Arn")
        return facts.model_copy(
            update={
                "readable": True,
                "exists": found_arn in (None, principal),
                "found_arn": found_arn,
            }
        )

    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="principals") as pool:
        return list(pool.map(look_up, principals))


def _alias_region_guess(answers: Answers, names: Names) -> str | None:
    """Where a new key's alias is first looked up (None: no new key).

    The key is created in the bucket's region: a new bucket's is in the answers; an existing
    bucket's is only known after discovery, so the home region (where it usually is) is
    tried at once, concurrently with the rest, and the lookup is repeated only when the
    bucket turns out to be elsewhere.
    """
    if not answers.encryption.new_key:
        return None
    return names.bucket_region(None)


def discover_named_trails(
    name: str, region: str, caller: AwsCaller
) -> tuple[list[TrailFacts] | None, str | None]:
    """Trails of the account named ``name``, in any region (one ListTrails, any region).

    A multi-region trail is copied into every region, where a trail of the same name
    (single-region, homed elsewhere, so invisible to DescribeTrails in the home region)
    would collide with the copy: AWS refuses the trail with TrailAlreadyExistsException.

    Returns:
        The trails and None, or None and why they could not be listed.
    """
    try:
        listed = caller.paginate("cloudtrail", region, "ListTrails", "Trails")
    except AwsError as err:
        return None, _explain(err, "ListTrails")
    found: list[TrailFacts] = []
    for entry in listed:
        if entry.get("Name") != name:
            continue
        arn = str(entry.get("TrailARN", ""))
        parsed = parse_arn(arn)
        found.append(
            TrailFacts(
                name=name,
                arn=arn,
                home_region=str(entry.get("HomeRegion") or (parsed.region if parsed else "")),
                owner_account=parsed.account if parsed else None,
            )
        )
    return found, None


def _policy_callers(
    central: CentralFacts | None, caller: AwsCaller, callers: Mapping[str, AwsCaller] | None
) -> tuple[AwsCaller, AwsCaller]:
    """Who reads the bucket's and the key's policies: a managed central account's caller."""
    bucket_caller = key_caller = caller
    if central is not None and callers:
        if central.bucket_managed and central.bucket_account:
            bucket_caller = callers[central.bucket_account]
        if central.key_managed and central.key_account:
            key_caller = callers[central.key_account]
    return bucket_caller, key_caller


def fingerprint_now(
    answers: Answers,
    ctx: AccountContext,
    caller: AwsCaller,
    *,
    planned: Discovery | None = None,
    max_workers: int = 6,
    callers: Mapping[str, AwsCaller] | None = None,
) -> dict[str, str]:
    """What :meth:`Discovery.fingerprint` would say now, reading only the facts it covers.

    The stale-plan check before apply. A full discovery would read the same facts and many
    more (settings, trail status, organization) that the fingerprint ignores; this makes
    only the reads the fingerprint needs, concurrently:

    * bucket: HeadBucket (GetBucketLocation when HeadBucket names no region); when the
      bucket exists, GetBucketPolicy and ListBuckets (whether this account owns it);
    * trails: DescribeTrails;
    * key: DescribeKey and GetKeyPolicy (as :func:`discover_key`);
    * topic: GetTopicAttributes;
    * logs: DescribeLogGroups and GetRole;
    * alias (a new key): DescribeKey by the alias name (as :func:`discover_alias`);
    * trail_names (a multi-region trail): ListTrails.

    ``planned`` is the discovery the plan was made from. Its bucket region says where to
    look for the key, and whether the bucket existed (then ListBuckets starts at once):
    were either wrong now, the bucket's own fingerprint has changed, and the plan is
    refused all the same.
    """
    names = Names(answers, ctx)
    central = central_facts(answers, ctx, callers)
    bucket_caller, key_caller = _policy_callers(central, caller, callers)
    name = answers.bucket.name
    expect_bucket = planned.bucket.exists if planned is not None else False

    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="recheck") as pool:
        listed = pool.submit(_owned_buckets, caller, ctx.region) if expect_bucket else None
        # The settings of a bucket the answers create, that exists, are compared (an
        # earlier run's bucket): a change to them since the plan makes it stale.
        bucket_future = pool.submit(
            discover_bucket,
            name,
            ctx,
            caller,
            policy_caller=bucket_caller,
            settings=answers.bucket.create and expect_bucket,
        )
        trails_future = pool.submit(discover_trails, names.home_region, caller, status=False)
        key_future = topic_future = logs_future = None
        if answers.encryption.existing_key:
            ref = answers.encryption.existing_key
            region = names.bucket_region(planned.bucket.region if planned else None)
            key_future = pool.submit(discover_key, ref, region, names.home_region, key_caller)
        if answers.notifications.sns_topic and names.topic_arn:
            topic_future = pool.submit(discover_topic, names.topic_arn, caller)
        if answers.cloudwatch_logs.enabled:
            logs_future = pool.submit(discover_logs, names, caller)
        alias_future = named_future = None
        if answers.encryption.new_key:
            alias_region = names.bucket_region(planned.bucket.region if planned else None)
            alias_future = pool.submit(discover_alias, names.key_alias(), alias_region, caller)
        if answers.trail.multi_region:
            named_future = pool.submit(
                discover_named_trails, answers.trail.name, ctx.region, caller
            )
        bucket = bucket_future.result()
        if bucket.exists and bucket.owned is None:
            owned = (listed or pool.submit(_owned_buckets, caller, ctx.region)).result()
            if owned is not None:
                bucket = bucket.model_copy(update={"owned": name in owned})
        access_future = (
            pool.submit(discover_access_logs, answers, ctx, caller)
            if answers.bucket.access_logs is not None
            else None
        )
        trails, _error = trails_future.result()
        prints = _fingerprint(
            bucket,
            trails,
            key_future.result() if key_future else None,
            topic_future.result() if topic_future else None,
            logs_future.result() if logs_future else None,
        )
        access = access_future.result() if access_future is not None else None
        if access is not None:
            if bucket.exists and bucket.region:
                access = read_bucket_logging(access, name, bucket.region, caller)
            prints["access_logs"] = _access_log_print(access)
        alias = alias_future.result() if alias_future is not None else None
        prints.update(
            _name_prints(alias, named_future.result()[0] if named_future is not None else None)
        )
    state = discover_state(
        answers,
        ctx,
        caller,
        trails=trails,
        organization=planned.organization if planned is not None else None,
        topic=topic_future.result() if topic_future else None,
        logs=logs_future.result() if logs_future else None,
        alias=alias,
        max_workers=max_workers,
    )
    prints.update(state_prints(answers, bucket, access, state))
    return prints


def _owned_buckets(caller: AwsCaller, region: str) -> list[str] | None:
    try:
        return [str(b["Name"]) for b in caller.paginate("s3", region, "ListBuckets", "Buckets")]
    except AwsError:
        return None


def discover_bucket(
    name: str,
    ctx: AccountContext,
    caller: AwsCaller,
    *,
    policy_caller: AwsCaller | None = None,
    settings: bool = True,
) -> BucketFacts:
    """Existence, ownership, region, policy and settings of a bucket.

    ``policy_caller`` reads the policy and settings (the owner's credentials, for a central
    bucket in another account); HeadBucket, which works across accounts, uses ``caller``.
    With ``settings=False`` only existence, region and policy are read (what the
    fingerprint covers).
    """
    reader = policy_caller or caller
    errors: list[str] = []
    try:
        try:
            head = caller.call("s3", ctx.region, "HeadBucket", {"Bucket": name})
        except AwsError as err:
            if not (err.access_denied and reader is not caller):
                raise
            head = reader.call("s3", ctx.region, "HeadBucket", {"Bucket": name})
    except AwsError as err:
        if err.not_found:
            return BucketFacts(name=name, exists=False)
        if err.access_denied:
            # The name exists but belongs to someone who does not let us look.
            return BucketFacts(
                name=name,
                exists=True,
                owned=False,
                policy_readable=False,
                errors=[_explain(err, "HeadBucket")],
            )
        return BucketFacts(name=name, exists=False, errors=[_explain(err, "HeadBucket")])
    region = head.get("BucketRegion")
    if not region:
        try:
            loc = caller.call("s3", ctx.region, "GetBucketLocation", {"Bucket": name})
            region = normalise_bucket_location(loc.get("LocationConstraint"))
        except AwsError as err:
            errors.append(_explain(err, "GetBucketLocation"))
    region = normalise_bucket_location(region) if region else ctx.region
    facts: dict[str, Any] = {"name": name, "exists": True, "region": region}

    def read(operation: str) -> dict[str, Any] | None:
        try:
            return reader.call("s3", region, operation, {"Bucket": name})
        except AwsError as err:
            if err.not_found:
                return None
            errors.append(_explain(err, operation))
            if operation == "GetBucketPolicy":
                facts["policy_readable"] = False
            return None

    policy = read("GetBucketPolicy")
    facts["policy"] = policy.get("Policy") if policy else None
    if not settings:
        facts["errors"] = errors
        return BucketFacts(**facts)
    payment = read("GetBucketRequestPayment")
    if payment is not None:
        facts["requester_pays"] = payment.get("Payer") == "Requester"
    pab = read("GetPublicAccessBlock")
    if pab is not None:
        facts["public_access_block"] = dict(pab.get("PublicAccessBlockConfiguration", {}))
    ownership = read("GetBucketOwnershipControls")
    if ownership is not None:
        rules = ownership.get("OwnershipControls", {}).get("Rules", [])
        facts["object_ownership"] = rules[0].get("ObjectOwnership") if rules else None
    enc = read("GetBucketEncryption")
    if enc is not None:
        rules = enc.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        if rules:
            default = rules[0].get("ApplyServerSideEncryptionByDefault", {})
            facts["encryption"] = default.get("SSEAlgorithm")
            facts["encryption_key"] = default.get("KMSMasterKeyID")
            facts["bucket_key"] = bool(rules[0].get("BucketKeyEnabled", False))
            facts["encryption_rules"] = [dict(r) for r in rules]
    versioning = read("GetBucketVersioning")
    if versioning is not None:
        facts["versioning"] = versioning.get("Status") or None
    _read_retention(reader, name, region, facts, errors)
    try:
        tagging = reader.call("s3", region, "GetBucketTagging", {"Bucket": name})
        facts["tags"] = tag_map(tagging.get("TagSet"))
    except AwsError as err:
        if err.not_found or err.code == "NoSuchTagSet":
            facts["tags"] = {}
        else:
            errors.append(_explain(err, "GetBucketTagging"))
    facts["errors"] = errors
    return BucketFacts(**facts)


def _read_retention(
    reader: AwsCaller, name: str, region: str, facts: dict[str, Any], errors: list[str]
) -> None:
    """The bucket's lifecycle rules and Object Lock configuration, into ``facts``."""
    try:
        got = reader.call("s3", region, "GetBucketLifecycleConfiguration", {"Bucket": name})
        facts["lifecycle_rules"] = [dict(r) for r in got.get("Rules", [])]
        facts["lifecycle_min_size"] = got.get("TransitionDefaultMinimumObjectSize")
    except AwsError as err:
        if err.code != "NoSuchLifecycleConfiguration" and not err.not_found:
            facts["lifecycle_readable"] = False
            errors.append(_explain(err, "GetBucketLifecycleConfiguration"))
    try:
        lock = reader.call("s3", region, "GetObjectLockConfiguration", {"Bucket": name})
        facts["object_lock"] = dict(lock.get("ObjectLockConfiguration") or {}) or None
    except AwsError as err:
        if err.code != "ObjectLockConfigurationNotFoundError" and not err.not_found:
            errors.append(_explain(err, "GetObjectLockConfiguration"))


def discover_key(ref: str, bucket_region: str, home_region: str, caller: AwsCaller) -> KeyFacts:
    """Describe an existing key where it must be: in the bucket's region.

    A key reference given as an ARN names its own region. A bare id or alias is looked up in
    the bucket's region first; when it is not there, the home region is tried so the finding
    can say "the key is in X, the bucket in Y" instead of a bare "not found".
    """
    parsed = classify_key_ref(ref)
    regions = [bucket_region]
    if isinstance(parsed, str):
        return KeyFacts(ref=ref, looked_in=bucket_region, errors=[parsed])
    if parsed.region:
        regions = [parsed.region]
    elif home_region != bucket_region:
        regions.append(home_region)
    errors: list[str] = []
    for region in regions:
        try:
            meta = caller.call("kms", region, "DescribeKey", {"KeyId": ref})["KeyMetadata"]
        except AwsError as err:
            if not err.not_found:
                errors.append(_explain(err, f"DescribeKey in {region}"))
            continue
        arn = str(meta["Arn"])
        parsed_arn = parse_arn(arn)
        facts: dict[str, Any] = {
            "ref": ref,
            "found": True,
            "looked_in": bucket_region,
            "key_id": meta.get("KeyId"),
            "arn": arn,
            "region": parsed_arn.region if parsed_arn else region,
            "state": meta.get("KeyState"),
            "spec": meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
            "usage": meta.get("KeyUsage"),
            "manager": meta.get("KeyManager"),
            "multi_region": bool(meta.get("MultiRegion", False)),
        }
        try:
            facts["policy"] = caller.call(
                "kms", region, "GetKeyPolicy", {"KeyId": arn, "PolicyName": "default"}
            ).get("Policy")
        except AwsError as err:
            facts["policy_readable"] = False
            errors.append(_explain(err, "GetKeyPolicy"))
        facts["errors"] = errors
        return KeyFacts(**facts)
    if parsed.region is None:
        elsewhere = _find_key_elsewhere(ref, set(regions), bucket_region, caller)
        if elsewhere is not None:
            region, meta = elsewhere
            return KeyFacts(
                ref=ref,
                found=True,
                looked_in=bucket_region,
                key_id=meta.get("KeyId"),
                arn=str(meta["Arn"]),
                region=region,
                state=meta.get("KeyState"),
                spec=meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
                usage=meta.get("KeyUsage"),
                manager=meta.get("KeyManager"),
                multi_region=bool(meta.get("MultiRegion", False)),
                errors=errors,
            )
    return KeyFacts(ref=ref, looked_in=bucket_region, errors=errors)


def _find_key_elsewhere(
    ref: str, searched: set[str], bucket_region: str, caller: AwsCaller
) -> tuple[str, dict[str, Any]] | None:
    """Look for a bare key id or alias in the partition's other regions.

    Only runs when the key is missing where it must be, so the finding can say where the key
    really is ("in eu-west-1, the bucket is in us-east-1") rather than just "not found".
    Regions that refuse (not enabled for the account) are skipped.
    """
    partition = partition_of(bucket_region)
    if partition is None:
        return None
    others = sorted(r for r in partition.regions if r not in searched)

    def describe(region: str) -> tuple[str, dict[str, Any]] | None:
        try:
            meta = caller.call("kms", region, "DescribeKey", {"KeyId": ref})["KeyMetadata"]
        except AwsError:
            return None
        return region, meta

    # Every region at once, and the first that has the key answers: a plan rebuilt on the
    # review must not wait for the slowest region, nor for a region the SDK retries (an
    # endpoint that fails with 5xx is retried for seconds).
    pool = ThreadPoolExecutor(max_workers=FIND_KEY_AT_ONCE, thread_name_prefix="find-key")
    try:
        pending = {pool.submit(describe, region) for region in others}
        deadline = time.monotonic() + FIND_KEY_SECONDS
        while pending:
            done, pending = wait(
                pending, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED
            )
            if not done:
                return None  # the regions still asked for are too slow to be worth waiting for
            for future in done:
                if (found := future.result()) is not None:
                    return found
        return None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def discover_trails(
    home_region: str, caller: AwsCaller, *, status: bool = True
) -> tuple[list[TrailFacts], str | None]:
    """Trails visible from the home region, shadow copies of multi-region trails included.

    ``status``: ask GetTrailStatus whether each multi-region or organization trail logs.
    """
    try:
        raw = caller.call(
            "cloudtrail", home_region, "DescribeTrails", {"includeShadowTrails": True}
        ).get("trailList", [])
    except AwsError as err:
        return [], _explain(err, "DescribeTrails")
    trails: list[TrailFacts] = []
    for t in raw:
        arn = str(t.get("TrailARN", ""))
        parsed = parse_arn(arn)
        facts = TrailFacts(
            name=str(t.get("Name")),
            arn=arn,
            home_region=str(t.get("HomeRegion") or (parsed.region if parsed else home_region)),
            bucket=t.get("S3BucketName"),
            prefix=t.get("S3KeyPrefix"),
            multi_region=bool(t.get("IsMultiRegionTrail", False)),
            organization=bool(t.get("IsOrganizationTrail", False)),
            owner_account=parsed.account if parsed else None,
        )
        if status and (facts.multi_region or facts.organization):
            try:
                state = caller.call(
                    "cloudtrail", facts.home_region, "GetTrailStatus", {"Name": arn}
                )
                facts = facts.model_copy(update={"logging": bool(state.get("IsLogging"))})
            except AwsError:
                pass  # a shadow trail of another account may not be readable: unknown
        trails.append(facts)
    return trails, None


def discover_all_trails(region: str, caller: AwsCaller) -> list[TrailFacts]:
    """Every trail of the account, whatever its home region, one per ARN.

    ListTrails answers for all regions from one; each trail is then read in its home region
    (GetTrail, and GetTrailStatus for multi-region and organization trails), concurrently.

    Raises:
        AwsError: ListTrails itself failed.
    """
    listed = caller.paginate("cloudtrail", region, "ListTrails", "Trails")

    def read(entry: dict[str, Any]) -> TrailFacts:
        arn = str(entry.get("TrailARN", ""))
        home = str(entry.get("HomeRegion") or region)
        parsed = parse_arn(arn)
        facts = TrailFacts(
            name=str(entry.get("Name")),
            arn=arn,
            home_region=home,
            owner_account=parsed.account if parsed else None,
        )
        try:
            trail = caller.call("cloudtrail", home, "GetTrail", {"Name": arn})["Trail"]
        except AwsError:
            return facts
        facts = facts.model_copy(
            update={
                "bucket": trail.get("S3BucketName"),
                "prefix": trail.get("S3KeyPrefix"),
                "multi_region": bool(trail.get("IsMultiRegionTrail", False)),
                "organization": bool(trail.get("IsOrganizationTrail", False)),
            }
        )
        with contextlib.suppress(AwsError):
            status = caller.call("cloudtrail", home, "GetTrailStatus", {"Name": arn})
            facts = facts.model_copy(update={"logging": bool(status.get("IsLogging"))})
        return facts

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="trails") as pool:
        trails = list(pool.map(read, listed))
    return sorted(trails, key=lambda t: (t.name, t.home_region))


def discover_topic(topic_arn: str, caller: AwsCaller) -> TopicFacts:
    """Whether the topic exists, and its policy."""
    parsed = parse_arn(topic_arn)
    region = parsed.region if parsed else "us-east-1"
    try:
        attrs = caller.call("sns", region, "GetTopicAttributes", {"TopicArn": topic_arn})
    except AwsError as err:
        if err.not_found:
            return TopicFacts(arn=topic_arn, exists=False)
        return TopicFacts(arn=topic_arn, errors=[_explain(err, "GetTopicAttributes")])
    values = attrs.get("Attributes", {})
    return TopicFacts(
        arn=topic_arn,
        exists=True,
        policy=values.get("Policy"),
        kms_key=values.get("KmsMasterKeyId"),
    )


def discover_logs(names: Names, caller: AwsCaller) -> LogsFacts:
    """The log group (exists, ARN, retention) and the delivery role (exists, trust policy)."""
    group = names.answers.cloudwatch_logs.log_group
    assert group is not None
    errors: list[str] = []
    facts: dict[str, Any] = {"log_group": group, "role_name": names.role_name}
    try:
        groups = caller.paginate(
            "logs", names.home_region, "DescribeLogGroups", "logGroups",
            {"logGroupNamePrefix": group},
        )  # fmt: skip
        for g in groups:
            if g.get("logGroupName") == group:
                facts.update(
                    group_exists=True,
                    group_arn=g.get("arn"),
                    retention_days=g.get("retentionInDays"),
                )
    except AwsError as err:
        errors.append(_explain(err, "DescribeLogGroups"))
    if names.role_name:
        try:
            role = caller.call("iam", names.home_region, "GetRole", {"RoleName": names.role_name})
            trust = role["Role"].get("AssumeRolePolicyDocument")
            trust_text = unquote(trust) if isinstance(trust, str) else json.dumps(trust)
            facts.update(
                role_exists=True, role_arn=role["Role"].get("Arn"), role_trust_policy=trust_text
            )
        except AwsError as err:
            if not err.not_found:
                errors.append(_explain(err, "GetRole"))
    facts["errors"] = errors
    return LogsFacts(**facts)


def discover_organization(
    ctx: AccountContext, caller: AwsCaller, *, members: bool = False
) -> OrganizationFacts:
    """Organization facts CloudTrail checks for organization trails.

    ``members``: also list the organization's accounts (from the management account), to
    check that a delegated administrator to register is a member.
    """
    region = ctx.region
    try:
        org = caller.call("organizations", region, "DescribeOrganization")["Organization"]
    except AwsError as err:
        if "NotInUse" in err.code:
            return OrganizationFacts(in_organization=False)
        return OrganizationFacts(errors=[_explain(err, "DescribeOrganization")])
    mgmt = str(org.get("MasterAccountId") or "")
    facts: dict[str, Any] = {
        "in_organization": True,
        "organization_id": org.get("Id"),
        "management_account_id": mgmt or None,
        "all_features": org.get("FeatureSet") == "ALL",
        "is_management_account": mgmt == ctx.account_id,
    }
    errors: list[str] = []
    try:
        services = caller.paginate(
            "organizations", region, "ListAWSServiceAccessForOrganization",
            "EnabledServicePrincipals",
        )  # fmt: skip
        facts["trusted_access"] = any(
            s.get("ServicePrincipal") == "cloudtrail.amazonaws.com" for s in services
        )
    except AwsError as err:
        errors.append(_explain(err, "ListAWSServiceAccessForOrganization"))
    try:
        admins = caller.paginate(
            "organizations", region, "ListDelegatedAdministrators",
            "DelegatedAdministrators", {"ServicePrincipal": "cloudtrail.amazonaws.com"},
        )  # fmt: skip
        facts["delegated_admins"] = sorted(str(a.get("Id")) for a in admins)
        if not facts["is_management_account"]:
            facts["is_delegated_admin"] = ctx.account_id in facts["delegated_admins"]
    except AwsError as err:
        errors.append(_explain(err, "ListDelegatedAdministrators"))
    if members and facts["is_management_account"]:
        try:
            accounts = caller.paginate("organizations", region, "ListAccounts", "Accounts")
            facts["member_accounts"] = sorted(str(a.get("Id")) for a in accounts)
        except AwsError as err:
            errors.append(_explain(err, "ListAccounts"))
    if facts["is_management_account"]:
        try:
            caller.call("iam", region, "GetRole", {"RoleName": CLOUDTRAIL_SERVICE_LINKED_ROLE})
            facts["service_linked_role"] = True
        except AwsError as err:
            if err.not_found:
                facts["service_linked_role"] = False
            else:
                errors.append(_explain(err, "GetRole"))
    facts["errors"] = errors
    return OrganizationFacts(**facts)
