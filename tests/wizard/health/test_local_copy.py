"""``validate --local DIR``: a downloaded copy of the files, validated offline.

The sandbox delivers real files; the test downloads the bucket the way ``aws s3 sync``
does (every object under its key, no S3 metadata), optionally with each digest's metadata
saved beside it, and saves the public keys once from a run against the bucket. The copy is
then validated with the SDK pointed at a closed port and no region: nothing may call AWS.
Copies built by hand (a signing key made in the test, a public keys file written as the
docs describe) cover what the sandbox cannot deliver: keys that would leave the folder.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from tests.wizard.health.test_integrity import (
    ACCT,
    BUCKET,
    CLOUDTRAIL,
    deliver_periods,
    digests,
    logs_of,
    setup_trail,
    validate,
)
from wizard.health.localcopy import METADATA_SUFFIX, validate_local
from wizard.health.publickeys import KeyRing

pytestmark = pytest.mark.aws


def download(aws: Any, into: Path, *, metadata: bool, strip: str = "") -> Path:
    """Every object of the bucket under its key (less ``strip``), as ``aws s3 sync`` does;
    with ``metadata``, each digest's S3 metadata beside it (``aws s3api head-object``)."""
    s3 = aws("s3")
    for listed in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        key = listed["Key"]
        stored = s3.get_object(Bucket=BUCKET, Key=key)
        path = into / key.removeprefix(strip)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(stored["Body"].read())
        if metadata and "/CloudTrail-Digest/" in key:
            side = path.with_name(path.name + METADATA_SUFFIX)
            side.write_text(json.dumps(stored["Metadata"]))
    return into


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, closed_port_url: str) -> None:
    """Any AWS call would fail: a closed port, and no region."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)


def save_keys(sandbox_session: Any, copy: Path, path: Path) -> KeyRing:
    ring = KeyRing()
    report = validate_local(copy, caller=sandbox_session.caller, collect=ring)
    assert report.problem is None, report.problem
    ring.save(path)
    return ring


# ---- a copy of what the sandbox delivered --------------------------------------------


def test_a_downloaded_copy_validates_offline_with_the_saved_keys(
    sandbox: Any,
    aws: Any,
    sandbox_session: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    closed_port_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 3)
    copy = download(aws, tmp_path / "copy", metadata=True)
    keys = tmp_path / "keys.json"
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    assert main(["validate", "audit", "--save-public-keys", str(keys)]) == EXIT_OK
    assert f"to {keys}: `cloudtrail-wizard validate --local DIR" in capsys.readouterr().err
    in_bucket = validate(sandbox_session)
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)

    code = main(["validate", "--local", str(copy), "--public-keys", str(keys), "--verbose"])

    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert f"Validating log files for the downloaded copy in {copy} between" in out
    counts = in_bucket.counts
    assert f"{counts.valid_digests}/{counts.valid_digests} digest files valid" in out
    assert f"{counts.valid_logs}/{counts.valid_logs} log files valid" in out
    for key, _ in digests(aws):
        assert f"Digest file\t{copy / key}\tvalid\n" in out
    assert "INVALID" not in out


def test_without_metadata_the_newest_digest_is_unverified_and_the_rest_is_checked(
    sandbox: Any, aws: Any, sandbox_session: Any, tmp_path: Path
) -> None:
    """A plain download keeps no signature: the newest digest cannot be verified, but the
    signature it records for the one before it still proves that one, and so on."""
    setup_trail(aws)
    deliver_periods(sandbox, aws, 3)
    copy = download(aws, tmp_path / "copy", metadata=False)
    ring = save_keys(sandbox_session, copy, tmp_path / "keys.json")
    (first, first_doc), (middle, middle_doc), (newest, newest_doc) = digests(aws)

    report = validate_local(copy, keys=ring)

    verdicts = {f.key: f.status for f in report.files}
    assert verdicts[newest] == "unverified"
    assert verdicts[middle] == verdicts[first] == "valid"
    assert all(verdicts[log] == "valid" for log in logs_of(first_doc) + logs_of(middle_doc))
    assert not set(logs_of(newest_doc)) & set(verdicts)  # vouched for by nothing
    (unverified,) = report.invalid
    assert unverified.path == str(copy / newest)
    assert (
        f"`aws s3api head-object --bucket {BUCKET} --key {newest} --query Metadata > "
        f"{copy / newest}{METADATA_SUFFIX}`"
    ) in unverified.detail
    assert report.notes == [
        "1 digest file could not be verified: a signature is in the S3 object's metadata, "
        "which a download does not keep, and only a later digest records it. Save the "
        f"metadata of each one beside it as NAME{METADATA_SUFFIX} (the command is in its line "
        "below) and run again: the log files they list were not checked."
    ]
    assert not report.ok


def test_tampering_in_the_copy_is_found(
    sandbox: Any, aws: Any, sandbox_session: Any, tmp_path: Path
) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 4)
    copy = download(aws, tmp_path / "copy", metadata=True)
    ring = save_keys(sandbox_session, copy, tmp_path / "keys.json")
    (_, first), (gone, _), (_, third), (_, newest) = digests(aws)
    appended, deleted, replaced = logs_of(newest)[0], logs_of(first)[0], logs_of(third)[0]
    with open(copy / appended, "ab") as handle:
        handle.write(b"x")
    (copy / deleted).unlink()
    (copy / gone).unlink()
    (copy / replaced).write_bytes(gzip.compress(b'{"Records": []}'))

    report = validate_local(copy, keys=ring)

    assert {(f.kind, f.status, f.key) for f in report.invalid} == {
        ("log", "modified", appended),
        ("log", "deleted", deleted),
        ("digest", "missing", gone),
        ("log", "modified", replaced),
    }


def test_a_file_saved_uncompressed_by_a_browser_is_hashed_as_it_is(
    sandbox: Any, aws: Any, sandbox_session: Any, tmp_path: Path
) -> None:
    """Browsers decode Content-Encoding: gzip when they save: the content is unchanged."""
    setup_trail(aws)
    deliver_periods(sandbox, aws, 2)
    copy = download(aws, tmp_path / "copy", metadata=True)
    ring = save_keys(sandbox_session, copy, tmp_path / "keys.json")
    key = logs_of(digests(aws)[-1][1])[0]
    (copy / key).write_bytes(gzip.decompress((copy / key).read_bytes()))

    report = validate_local(copy, keys=ring)

    assert report.ok, report.invalid
    (result,) = [f for f in report.files if f.key == key]
    assert "stored uncompressed" in result.detail


def test_a_prefixed_trail_downloaded_with_or_without_its_prefix(
    sandbox: Any, aws: Any, sandbox_session: Any, tmp_path: Path
) -> None:
    """Digests record the prefix in every key: the copy is found below DIR either way."""
    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(
        Bucket=BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": CLOUDTRAIL},
                        "Action": ["s3:GetBucketAcl", "s3:PutObject"],
                        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                    }
                ],
            }
        ),
    )
    cloudtrail = aws("cloudtrail")
    cloudtrail.create_trail(
        Name="audit", S3BucketName=BUCKET, S3KeyPrefix="org/audit", EnableLogFileValidation=True
    )
    cloudtrail.start_logging(Name="audit")
    deliver_periods(sandbox, aws, 2)
    whole = download(aws, tmp_path / "whole", metadata=True)  # DIR/org/audit/AWSLogs/...
    stripped = download(aws, tmp_path / "stripped", metadata=True, strip="org/audit/")
    ring = save_keys(sandbox_session, whole, tmp_path / "keys.json")

    for copy in (whole, stripped):
        report = validate_local(copy, keys=ring)
        assert report.ok, (copy, report.problem, report.invalid)
        assert report.counts.valid_digests == 2
        assert all(f.key.startswith("org/audit/AWSLogs/") for f in report.files if f.kind == "log")


def test_trail_account_and_time_narrow_the_copy(
    sandbox: Any, aws: Any, sandbox_session: Any, tmp_path: Path
) -> None:
    setup_trail(aws)
    deliver_periods(sandbox, aws, 3)
    copy = download(aws, tmp_path / "copy", metadata=True)
    ring = save_keys(sandbox_session, copy, tmp_path / "keys.json")
    middle_end = datetime.fromisoformat(digests(aws)[1][1]["digestEndTime"])

    by_arn = validate_local(
        copy, keys=ring, trail=f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/audit"
    )
    recent = validate_local(copy, keys=ring, start=middle_end)
    other = validate_local(copy, keys=ring, trail="no-such-trail")
    elsewhere = validate_local(copy, keys=ring, account_id="210987654321")

    assert by_arn.ok and by_arn.counts.valid_digests == 3
    assert by_arn.trails == [f"audit (account {ACCT}, home us-east-1)"]
    assert recent.ok and recent.counts.valid_digests == 1
    assert other.problem_kind == "no-digests"
    assert other.problem is not None
    assert f"The copy has digest files of: audit (account {ACCT}, home us-east-1)." in (
        other.problem
    )
    assert elsewhere.problem_kind == "no-digests"


# ---- folders that are not a copy -----------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "given", "code", "message"),
    [
        ({}, "missing", EXIT_INVALID, "missing: no such folder."),
        ({"afile": b"x"}, "afile", EXIT_INVALID, "is a file, not a folder"),
        ({"d/other/x.txt": b""}, "d", EXIT_INVALID, "No AWSLogs folder in"),
        (
            {f"d/{ACCT}/CloudTrail-Digest/x": b""},
            "d",
            EXIT_INVALID,
            "It looks like the inside of an AWSLogs folder",
        ),
        (
            {f"d/AWSLogs/{ACCT}/CloudTrail-Digest/x": b""},
            f"d/AWSLogs/{ACCT}",
            EXIT_INVALID,
            "is inside a downloaded AWSLogs folder: give the folder that holds AWSLogs/",
        ),
        (
            {f"d/AWSLogs/{ACCT}/CloudTrail/us-east-1/2024/05/01/x.json.gz": b""},
            "d",
            EXIT_FAILED,
            "has no CloudTrail-Digest folder. Download the digest files too",
        ),
        (
            {f"d/AWSLogs/{ACCT}/CloudTrail-Digest/us-east-1/2024/05/01/notes.json.gz": b""},
            "d",
            EXIT_FAILED,
            "hold no files named as CloudTrail names them",
        ),
    ],
    ids=[
        "missing",
        "a-file",
        "no-awslogs",
        "inside-awslogs-layout",
        "inside",
        "no-digests",
        "no-names",
    ],
)
def test_a_folder_that_is_not_a_copy_says_what_to_give(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    layout: dict[str, bytes],
    given: str,
    code: int,
    message: str,
) -> None:
    for name, body in layout.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(body)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"regions": {"us-east-1": []}}))  # a file with no key is fine
    monkeypatch.chdir(tmp_path)

    result = main(["validate", "--local", given, "--public-keys", str(keys)])

    err = capsys.readouterr().err
    assert result == code, err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file. Save the keys first"),
        ("not json", "is not JSON"),
        ("{}", 'has no "regions" object'),
        ('{"regions": {"us-east-1": 3}}', "region us-east-1 must hold a list of keys"),
        (
            '{"regions": {"us-east-1": [{"Value": "AA=="}]}}',
            "key 1 of region us-east-1 has no Fingerprint",
        ),
        (
            '{"regions": {"us-east-1": [{"Fingerprint": "f", "Value": "%%%"}]}}',
            "Value is not base64",
        ),
        (
            '{"regions": {"us-east-1": [{"Fingerprint": "f", "Value": "AA==", '
            '"ValidityStartTime": "soon"}]}}',
            "'soon' is not a time",
        ),
    ],
    ids=[
        "missing",
        "not-json",
        "no-regions",
        "not-a-list",
        "no-fingerprint",
        "bad-value",
        "bad-time",
    ],
)
def test_a_public_keys_file_that_cannot_be_used(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    keys = tmp_path / "keys.json"
    if content is not None:
        keys.write_text(content)
    (tmp_path / "copy" / "AWSLogs").mkdir(parents=True)

    code = main(["validate", "--local", str(tmp_path / "copy"), "--public-keys", str(keys)])

    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    assert err.startswith(f"error: --public-keys {keys}")
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate"], "Give TRAIL (a trail's name or ARN"),
        (["validate", "audit", "--public-keys", "k.json"], "--public-keys is for --local DIR"),
        (
            ["validate", "--local", ".", "--public-keys", "k", "--save-public-keys", "s"],
            "give one of them",
        ),
    ],
)
def test_options_that_do_not_go_together(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    assert message in err and "Traceback" not in err


def test_without_keys_or_credentials_it_says_how_to_go_offline(
    tmp_path: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "AWSLogs").mkdir()

    code = main(["validate", "--local", str(tmp_path)])

    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    assert "add --public-keys FILE (saved earlier with --save-public-keys FILE)" in err


# ---- a copy built by hand --------------------------------------------------------------


class HandMadeCopy:
    """Digests signed with a key made here, and the public keys file the docs describe."""

    def __init__(self, root: Path) -> None:
        from wizard.sandbox.delivery import new_signing_key

        self.root = root
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.key = new_signing_key(self.now - timedelta(days=1))
        self.previous: dict[str, str] | None = None

    def keys_file(self, path: Path) -> Path:
        import base64

        entry = {
            "Fingerprint": self.key.fingerprint,
            "Value": base64.b64encode(self.key.public_der).decode(),
            "ValidityStartTime": self.key.valid_from.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ValidityEndTime": self.key.valid_to.timestamp(),  # seconds since 1970 work too
        }
        path.write_text(json.dumps({"regions": {"us-east-1": {"PublicKeyList": [entry]}}}))
        return path

    def digest(
        self, end: datetime, logs: list[tuple[str, bytes]], *, backfill: datetime | None = None
    ) -> str:
        """A signed digest listing ``logs`` (key, content: written gzipped unless the key
        leaves the folder); its key. ``backfill``: a backfill digest generated then."""
        from wizard.sandbox.delivery import digest_signing_string

        stamp = end.strftime("%Y%m%dT%H%M%SZ") + ("_backfill" if backfill else "")
        key = (
            f"AWSLogs/{ACCT}/CloudTrail-Digest/us-east-1/{end:%Y/%m/%d}/{ACCT}_CloudTrail-"
            f"Digest_us-east-1_audit_us-east-1_{stamp}.json.gz"
        )
        listed = []
        for log_key, content in logs:
            if ".." not in log_key:
                path = self.root / log_key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(gzip.compress(content))
            listed.append(
                {
                    "s3Bucket": BUCKET,
                    "s3Object": log_key,
                    "hashValue": hashlib.sha256(content).hexdigest(),
                    "hashAlgorithm": "SHA-256",
                }
            )
        previous = None if backfill else self.previous
        document: dict[str, Any] = {
            "awsAccountId": ACCT,
            "digestStartTime": (end - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "digestEndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "digestS3Bucket": BUCKET,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": self.key.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "previousDigestS3Bucket": BUCKET if previous else None,
            "previousDigestS3Object": previous["key"] if previous else None,
            "previousDigestHashValue": previous["hash"] if previous else None,
            "previousDigestHashAlgorithm": "SHA-256" if previous else None,
            "previousDigestSignature": previous["signature"] if previous else None,
            "logFiles": listed,
        }
        raw = json.dumps(document).encode()
        digest_hash = hashlib.sha256(raw).hexdigest()
        signature = self.key.sign(
            digest_signing_string(
                document["digestEndTime"],
                BUCKET,
                key,
                digest_hash,
                previous["signature"] if previous else None,
            )
        )
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(raw))
        side = {
            "x-amz-meta-signature": signature,
            "x-amz-meta-signature-algorithm": "SHA256withRSA",
        }
        if backfill:
            side["x-amz-meta-backfill-generation-timestamp"] = backfill.strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        path.with_name(path.name + METADATA_SUFFIX).write_text(json.dumps({"Metadata": side}))
        if not backfill:
            self.previous = {"key": key, "hash": digest_hash, "signature": signature}
        return key


def test_a_hand_made_copy_and_keys_file_in_the_documented_format(tmp_path: Path) -> None:
    made = HandMadeCopy(tmp_path / "copy")
    folder = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2024/05/01/"
    made.digest(made.now - timedelta(hours=2), [(f"{folder}a.json.gz", b'{"Records": []}')])
    made.digest(made.now - timedelta(hours=1), [(f"{folder}b.json.gz", b'{"Records": [{}]}')])
    keys = KeyRing.load(made.keys_file(tmp_path / "keys.json"))

    report = validate_local(made.root, keys=keys, keys_name="keys.json")

    assert report.ok, (report.problem, report.invalid)
    assert (report.counts.valid_digests, report.counts.valid_logs) == (2, 2)


def test_a_backfill_digest_in_a_copy(tmp_path: Path) -> None:
    """Its own chain, its key looked up around its generation time, reported as backfill."""
    made = HandMadeCopy(tmp_path / "copy")
    folder = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2024/05/01/"
    end = made.now - timedelta(hours=2)
    made.digest(end, [(f"{folder}a.json.gz", b'{"Records": []}')])
    late = made.digest(end, [(f"{folder}late.json.gz", b"{}")], backfill=made.now)
    keys = KeyRing.load(made.keys_file(tmp_path / "keys.json"))

    report = validate_local(made.root, keys=keys)

    assert report.ok, (report.problem, report.invalid)
    assert [(f.kind, f.key) for f in report.files if f.backfill] == [
        ("digest", late),
        ("log", f"{folder}late.json.gz"),
    ]
    assert report.counts.valid_backfill_digests == 1


def test_a_key_that_leaves_the_folder_is_never_followed(tmp_path: Path) -> None:
    """A signed digest cannot make the validator read outside the copy."""
    made = HandMadeCopy(tmp_path / "copy")
    secret = tmp_path / "secret.json.gz"
    secret.write_bytes(gzip.compress(b"outside"))
    escape = f"AWSLogs/{ACCT}/CloudTrail/../../../../secret.json.gz"
    made.digest(made.now - timedelta(hours=1), [(escape, b"outside")])
    keys = KeyRing.load(made.keys_file(tmp_path / "keys.json"))

    report = validate_local(made.root, keys=keys)

    (log,) = [f for f in report.files if f.kind == "log"]
    assert log.status == "unreadable"
    assert "so that no file outside the copy is read" in log.detail


def test_a_link_that_leads_out_of_the_copy_is_not_read(tmp_path: Path) -> None:
    made = HandMadeCopy(tmp_path / "copy")
    log_key = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2024/05/01/a.json.gz"
    made.digest(made.now - timedelta(hours=1), [(log_key, b"outside")])
    outside = tmp_path / "outside.json.gz"
    outside.write_bytes(gzip.compress(b"outside"))  # the very content the digest records
    (made.root / log_key).unlink()
    (made.root / log_key).symlink_to(outside)
    keys = KeyRing.load(made.keys_file(tmp_path / "keys.json"))

    report = validate_local(made.root, keys=keys)

    (log,) = [f for f in report.files if f.kind == "log"]
    assert log.status == "unreadable"
    assert f"leads outside the copy (a symbolic link to {outside})" in log.detail


def test_a_key_outside_its_validity_is_unknown(tmp_path: Path) -> None:
    """As ListPublicKeys returns only the keys valid for the period, so does the file."""
    made = HandMadeCopy(tmp_path / "copy")
    key = made.digest(made.now - timedelta(days=3), [])  # before the key was valid
    keys = KeyRing.load(made.keys_file(tmp_path / "keys.json"))

    report = validate_local(made.root, keys=keys, keys_name="the public keys file keys.json")

    assert [(f.key, f.status) for f in report.invalid] == [(key, "unknown-key")]
    assert "which the public keys file keys.json in us-east-1 does not return" in (
        report.invalid[0].detail
    )


def test_a_gzip_bomb_in_the_copy_is_reported_in_bounded_memory(tmp_path: Path) -> None:
    from tests.wizard.health.test_hostile_files import (
        BOMB_GIB,
        PEAK_RSS_LIMIT_MB,
        gzip_bomb,
        run_measured,
    )

    made = HandMadeCopy(tmp_path / "copy")
    log_key = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2024/05/01/bomb.json.gz"
    made.digest(made.now - timedelta(hours=1), [(log_key, b'{"Records": []}')])
    (made.root / log_key).write_bytes(gzip_bomb(BOMB_GIB))
    keys = made.keys_file(tmp_path / "keys.json")

    result, peak_mb = run_measured(
        tmp_path, "validate", "--local", str(made.root), "--public-keys", str(keys)
    )

    assert result.returncode == EXIT_FAILED, result.stderr
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert (
        f"Log file\t{made.root / log_key}\n  INVALID-FORMAT: Larger than 256 MiB once decompressed"
    ) in result.stdout
    assert peak_mb < PEAK_RSS_LIMIT_MB
