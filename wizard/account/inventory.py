"""What the account has to choose from: buckets, keys, topics, trails (read-only, via the port).

The front ends list these so a person can pick instead of typing, and each choice says
whether it can be used and why not: a key in another region than the bucket, asymmetric,
disabled or AWS managed is shown but cannot be picked, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from wizard.model.base import WizardModel
from wizard.model.regions import normalise_bucket_location
from wizard.policy.access import Principal, Request, evaluate
from wizard.ports import AwsCaller, AwsError


class BucketChoice(WizardModel):
    """A bucket of the account."""

    name: str
    """Bucket name."""
    region: str | None = None
    """Its region."""
    allows_cloudtrail: bool | None = None
    """Its policy already lets CloudTrail write this account's logs (None: unknown)."""
    note: str = ""
    """Why the policy could not be read, or what it says."""


class KeyChoice(WizardModel):
    """A KMS key of the account, and whether it can encrypt CloudTrail logs here."""

    key_id: str
    """Key id."""
    arn: str
    """Key ARN."""
    region: str
    """Region."""
    aliases: list[str]
    """Its aliases."""
    spec: str | None = None
    """KeySpec."""
    usage: str | None = None
    """KeyUsage."""
    state: str | None = None
    """KeyState."""
    manager: str | None = None
    """AWS or CUSTOMER."""
    eligible: bool = False
    """Can be chosen for the bucket's region."""
    reason: str = ""
    """Why it cannot be chosen."""

    @property
    def label(self) -> str:
        """Alias (or id) for lists."""
        return self.aliases[0] if self.aliases else self.key_id


def list_buckets(caller: AwsCaller, account_id: str, region: str) -> list[BucketChoice]:
    """The account's buckets with their regions and whether they already allow CloudTrail."""
    names = [str(b["Name"]) for b in caller.paginate("s3", region, "ListBuckets", "Buckets")]

    def inspect(name: str) -> BucketChoice:
        try:
            loc = caller.call("s3", region, "GetBucketLocation", {"Bucket": name})
            bucket_region = normalise_bucket_location(loc.get("LocationConstraint"))
        except AwsError as err:
            return BucketChoice(name=name, note=f"region unknown: {err.code}")
        try:
            policy = caller.call("s3", bucket_region, "GetBucketPolicy", {"Bucket": name})["Policy"]
        except AwsError as err:
            if err.not_found:
                return BucketChoice(
                    name=name, region=bucket_region, allows_cloudtrail=False, note="no policy"
                )
            return BucketChoice(name=name, region=bucket_region, note=f"policy: {err.code}")
        request = Request(
            principal=Principal(kind="service", id="cloudtrail.amazonaws.com"),
            action="s3:PutObject",
            resource=f"arn:aws:s3:::{name}/AWSLogs/{account_id}/CloudTrail/x",
            context={
                "s3:x-amz-acl": "bucket-owner-full-control",
                "aws:SourceAccount": account_id,
                "aws:SecureTransport": True,
            },
        )
        try:
            allowed = evaluate(policy, request).allowed
        except ValueError:
            return BucketChoice(name=name, region=bucket_region, note="policy is malformed")
        return BucketChoice(
            name=name,
            region=bucket_region,
            allows_cloudtrail=allowed,
            note="policy allows CloudTrail" if allowed else "policy needs CloudTrail's statements",
        )

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="buckets") as pool:
        return sorted(pool.map(inspect, names), key=lambda b: b.name)


def list_keys(caller: AwsCaller, regions: Sequence[str], bucket_region: str) -> list[KeyChoice]:
    """Keys and aliases in ``regions``, each judged for a bucket in ``bucket_region``."""

    def in_region(region: str) -> list[KeyChoice]:
        try:
            aliases = caller.paginate("kms", region, "ListAliases", "Aliases")
            keys = caller.paginate("kms", region, "ListKeys", "Keys")
        except AwsError:
            return []
        by_key: dict[str, list[str]] = {}
        for a in aliases:
            if a.get("TargetKeyId"):
                by_key.setdefault(str(a["TargetKeyId"]), []).append(str(a["AliasName"]))
        found: list[KeyChoice] = []
        for k in keys:
            try:
                meta = caller.call("kms", region, "DescribeKey", {"KeyId": k["KeyId"]})[
                    "KeyMetadata"
                ]
            except AwsError:
                continue
            choice = KeyChoice(
                key_id=str(meta["KeyId"]),
                arn=str(meta["Arn"]),
                region=region,
                aliases=sorted(by_key.get(str(meta["KeyId"]), [])),
                spec=meta.get("KeySpec"),
                usage=meta.get("KeyUsage"),
                state=meta.get("KeyState"),
                manager=meta.get("KeyManager"),
            )
            found.append(judge_key(choice, bucket_region))
        return found

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="keys") as pool:
        result = [k for batch in pool.map(in_region, sorted(set(regions))) for k in batch]
    return sorted(result, key=lambda k: (not k.eligible, k.region, k.label))


def judge_key(key: KeyChoice, bucket_region: str) -> KeyChoice:
    """Decide whether a key can encrypt CloudTrail logs for a bucket in ``bucket_region``."""
    reason = ""
    if key.region != bucket_region:
        reason = (
            f"in {key.region}, but the bucket is in {bucket_region}: CloudTrail needs the key "
            "in the bucket's region"
        )
    elif key.manager == "AWS":
        reason = "AWS managed: its policy cannot grant CloudTrail"
    elif key.spec not in (None, "SYMMETRIC_DEFAULT") or key.usage not in (None, "ENCRYPT_DECRYPT"):
        reason = f"{key.spec} / {key.usage}: CloudTrail needs a symmetric encryption key"
    elif key.state != "Enabled":
        reason = f"{key.state}: CloudTrail needs an enabled key"
    return key.model_copy(update={"eligible": not reason, "reason": reason})


def bucket_name_available(caller: AwsCaller, name: str, region: str) -> str | None:
    """None when the name looks free, else a sentence: owned by you, or taken by others."""
    try:
        caller.call("s3", region, "HeadBucket", {"Bucket": name})
    except AwsError as err:
        if err.not_found:
            return None
        if err.access_denied:
            return f"{name} is taken by another AWS account (bucket names are global)."
        return f"could not check {name}: {err.code}"
    return f"you already own a bucket named {name}: choose 'existing bucket' to use it."
