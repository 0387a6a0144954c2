"""Digests per region, as CloudTrail delivers them: one key pair and one chain per region.

CloudTrail signs each region's digest files with a private key of that region, and a
region's ListPublicKeys returns only that region's public keys; it delivers a digest for every
period from StartLogging, activity or not, in every region a trail covers (for a multi-region
trail, every region enabled in the account). The AWS CLI's ``validate-logs``, an independent
client, checks the result region by region.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.wizard.sandbox.conftest import Client
from tests.wizard.sandbox.test_delivery import DIGEST_KEY, digest_keys, logging_trail, read
from wizard.sandbox.delivery import enabled_regions
from wizard.sandbox.server import Sandbox

pytestmark = pytest.mark.aws

BUCKET = "acme-regional-digests"
# Regions every AWS account has enabled (launched before 20 March 2019), and opt-in ones
# (later): a multi-region trail covers the former only, unless an account opts in.
SOME_DEFAULT_REGIONS = {"us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "eu-north-1"}
SOME_OPT_IN_REGIONS = {"af-south-1", "ap-east-1", "me-south-1", "eu-south-1"}


def public_keys(aws: Client, region: str) -> dict[str, rsa.RSAPublicKey]:
    """Fingerprint -> public key, as ListPublicKeys in ``region`` answers."""
    now = datetime.now(UTC)
    listed = aws("cloudtrail", region).list_public_keys(
        StartTime=now - timedelta(days=1), EndTime=now
    )["PublicKeyList"]
    found: dict[str, rsa.RSAPublicKey] = {}
    for key in listed:
        assert key["Fingerprint"] == hashlib.md5(key["Value"], usedforsecurity=False).hexdigest()
        loaded = serialization.load_der_public_key(key["Value"])
        assert isinstance(loaded, rsa.RSAPublicKey)
        found[key["Fingerprint"]] = loaded
    return found


def digests_by_region(aws: Client) -> dict[str, list[tuple[str, bytes, dict[str, Any], str]]]:
    """Region -> [(key, raw document, document, signature)], oldest first."""
    found: dict[str, list[tuple[str, bytes, dict[str, Any], str]]] = {}
    for key in digest_keys(aws, BUCKET):
        match = DIGEST_KEY.fullmatch(key)
        assert match, key
        raw, response = read(aws, BUCKET, key)
        entry = (key, raw, json.loads(raw), response["Metadata"]["signature"])
        found.setdefault(match["region"], []).append(entry)
    for chain in found.values():
        chain.sort(key=lambda entry: entry[2]["digestEndTime"])
    return found


def verify(public_key: rsa.RSAPublicKey, raw: bytes, document: dict[str, Any], sig: str) -> None:
    """AWS's documented digest signature check (raises InvalidSignature when it fails)."""
    signed = "\n".join(
        [
            document["digestEndTime"],
            f"{document['digestS3Bucket']}/{document['digestS3Object']}",
            hashlib.sha256(raw).hexdigest(),
            document["previousDigestSignature"] or "null",
        ]
    ).encode()
    public_key.verify(bytes.fromhex(sig), signed, padding.PKCS1v15(), hashes.SHA256())


def test_each_region_serves_only_its_own_public_key(aws: Client) -> None:
    east = public_keys(aws, "us-east-1")
    west = public_keys(aws, "eu-west-1")
    assert east and west
    assert not east.keys() & west.keys()
    assert public_keys(aws, "eu-west-1").keys() == west.keys()  # the same key, asked again


def test_multi_region_trail_gets_a_chain_per_region_from_start_logging_without_activity(
    sandbox: Sandbox, aws: Client
) -> None:
    logging_trail(aws, "everywhere", BUCKET, IsMultiRegionTrail=True, EnableLogFileValidation=True)
    started = aws("cloudtrail").get_trail_status(Name="everywhere")["StartLoggingTime"]

    sandbox.deliver_now()
    sandbox.deliver_now()

    chains = digests_by_region(aws)
    regions = set(chains)
    assert regions == set(enabled_regions("aws"))
    assert regions >= SOME_DEFAULT_REGIONS
    assert not regions & SOME_OPT_IN_REGIONS
    keys = {region: public_keys(aws, region) for region in ("us-east-1", "eu-west-1", "sa-east-1")}
    for region, chain in chains.items():
        assert len(chain) == 2, region
        (k1, raw1, d1, sig1), (_k2, raw2, d2, sig2) = chain
        # The starting digest begins at StartLogging, in every region, and links to nothing.
        assert d1["digestStartTime"] == started.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert d1["previousDigestS3Object"] is None and d1["previousDigestSignature"] is None
        # The next one continues the region's own chain.
        assert d2["digestStartTime"] == d1["digestEndTime"]
        assert d2["previousDigestS3Object"] == k1
        assert d2["previousDigestHashValue"] == hashlib.sha256(raw1).hexdigest()
        assert d2["previousDigestSignature"] == sig1
        if region in keys:
            for raw, document, sig in ((raw1, d1, sig1), (raw2, d2, sig2)):
                fingerprint = document["digestPublicKeyFingerprint"]
                verify(keys[region][fingerprint], raw, document, sig)
                others = [r for r in keys if r != region]
                assert all(fingerprint not in keys[other] for other in others)
    # No call was made in eu-west-1: its digests are AWS's "empty" digests.
    for _key, _raw, document, _sig in chains["eu-west-1"]:
        assert document["logFiles"] == []
        assert document["newestEventTime"] is None and document["oldestEventTime"] is None
    # StartLogging itself was a call in us-east-1: the first digest lists its log file.
    assert chains["us-east-1"][0][2]["logFiles"]


def test_single_region_trail_keeps_one_chain_in_its_home_region(
    sandbox: Sandbox, aws: Client
) -> None:
    logging_trail(aws, "home-only", BUCKET, region="eu-west-1", EnableLogFileValidation=True)
    aws("sns", "us-east-1").list_topics()  # another region: not this trail's

    sandbox.deliver_now()

    assert set(digests_by_region(aws)) == {"eu-west-1"}


def run_validate_logs(aws_cli: Path, sandbox: Sandbox, arn: str, region: str) -> str:
    start = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = subprocess.run(
        [
            str(aws_cli),
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            arn,
            "--start-time",
            start,
            "--region",
            region,
            "--endpoint-url",
            sandbox.endpoint_url,
            "--verbose",
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "INVALID" not in result.stdout + result.stderr
    return result.stdout


def test_aws_cli_validates_every_regions_chain_with_that_regions_key(
    sandbox: Sandbox, aws: Client, aws_cli: Path
) -> None:
    arn = logging_trail(
        aws, "everywhere", BUCKET, IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    aws("sns", "eu-west-1").list_topics()
    sandbox.deliver_now()
    aws("sns", "eu-west-1").create_topic(Name="second-period")
    sandbox.deliver_now()
    sandbox.deliver_now()  # an empty period everywhere

    east = run_validate_logs(aws_cli, sandbox, arn, "us-east-1")
    west = run_validate_logs(aws_cli, sandbox, arn, "eu-west-1")
    quiet = run_validate_logs(aws_cli, sandbox, arn, "ap-southeast-2")

    assert "3/3 digest files valid" in east
    assert "3/3 digest files valid" in west and "2/2 log files valid" in west
    assert "3/3 digest files valid" in quiet and "log files valid" not in quiet


def test_describe_regions_lists_the_regions_a_multi_region_trail_covers(aws: Client) -> None:
    # As AWS answers an account that opted in to nothing: its partition's regions enabled by
    # default, none of GovCloud's or China's, no opt-in region (moto alone lists 38).
    for asked_in in ("us-east-1", "eu-west-1"):
        regions = aws("ec2", asked_in).describe_regions()["Regions"]
        names = {r["RegionName"] for r in regions}
        assert names == set(enabled_regions("aws")) >= SOME_DEFAULT_REGIONS
        assert not names & SOME_OPT_IN_REGIONS
        assert not {n for n in names if n.startswith(("us-gov-", "cn-"))}
        assert {r["OptInStatus"] for r in regions} == {"opt-in-not-required"}
    china = aws("ec2", "cn-north-1").describe_regions()["Regions"]
    assert {r["RegionName"] for r in china} == {"cn-north-1", "cn-northwest-1"}
