"""Hostile files in the log bucket: ``validate`` and ``logs`` report them and stay bounded.

``validate`` exists to catch someone who can write to the trail's bucket; that someone can
also put a decompression bomb where a log file was. Here a log file the sandbox delivered
(and a digest listed) is replaced by gzip data that inflates to 2 GiB of zeros: ``validate``
must name that file as a problem and exit 1, and ``logs`` must refuse it with exit 1,
both in bounded memory. The commands run in a subprocess whose peak memory is measured,
with an address-space limit, so that a regression fails the test instead of the machine.

Deflate cannot shrink data more than about 1000:1, so the bomb is about 2 MB; it is built
block by block, never holding the 2 GiB it stands for.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from screens.common.errors import EXIT_FAILED
from tests.wizard.health.test_integrity import (
    BUCKET,
    deliver_periods,
    digests,
    logs_of,
    setup_trail,
)

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[3]
BOMB_GIB = 2
PEAK_RSS_LIMIT_MB = 600
"""Far above what the commands need (about 100-200 MB), far below what inflating the bomb
would take."""

# The command runs in a child of this small wrapper: the wrapper reports the child's peak
# resident memory (RUSAGE_CHILDREN of a process with no other children).
WRAPPER = """
import os, resource, subprocess, sys
def limit():
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
code = subprocess.call(sys.argv[1:], preexec_fn=limit)
with open(os.environ["PEAK_FILE"], "w") as handle:
    handle.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def gzip_bomb(gib: int) -> bytes:
    """Valid gzip data of ``gib`` GiB of zeros, made one MiB block at a time.

    After a full flush the compressor starts afresh, so each MiB of zeros compresses to the
    same bytes: one block, repeated, then the end of the stream and the trailer (CRC-32 and
    size, computed over the zeros without ever holding them all).
    """
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)
    blocks = gib << 10
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (blocks << 20) & 0xFFFFFFFF)
    return header + block * blocks + end + trailer


def test_the_bomb_is_what_it_claims() -> None:
    bomb = gzip_bomb(1)
    assert len(bomb) < 2 << 20
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total = 0
    pending = bomb
    while not inflater.eof:
        piece = inflater.decompress(pending, 64 << 20)
        assert piece.count(0) == len(piece)
        total += len(piece)
        pending = inflater.unconsumed_tail
    assert total == 1 << 30


def run_measured(tmp_path: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run the command line in a subprocess; (result, its peak resident memory in MB)."""
    env = dict(os.environ)  # the aws_env fixture's credentials and region, and the endpoint
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PEAK_FILE"] = str(tmp_path / "peak")
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, sys.executable, "-m", "screens.cli", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    return result, int((tmp_path / "peak").read_text()) // 1024


@pytest.fixture
def bombed_log(sandbox: Any, aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A trail with two delivered periods; one listed log file replaced by the bomb."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    setup_trail(aws)
    deliver_periods(sandbox, aws, 2)
    key = logs_of(digests(aws)[-1][1])[0]
    aws("s3").put_object(Bucket=BUCKET, Key=key, Body=gzip_bomb(BOMB_GIB))
    return key


def test_validate_reports_a_gzip_bomb_and_goes_on(bombed_log: str, tmp_path: Path) -> None:
    result, peak_mb = run_measured(tmp_path, "validate", "audit")

    assert result.returncode == EXIT_FAILED, result.stderr
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert "2/2 digest files valid" in result.stdout
    assert "log files valid, 1/" in result.stdout  # the others were still checked
    assert (
        f"Log file\ts3://{BUCKET}/{bombed_log}\n"
        "  INVALID-FORMAT: Larger than 256 MiB once decompressed (a decompression bomb?)"
    ) in result.stdout
    assert peak_mb < PEAK_RSS_LIMIT_MB


def test_validate_json_names_the_bomb(bombed_log: str, tmp_path: Path) -> None:
    import json

    result, peak_mb = run_measured(tmp_path, "validate", "audit", "--output", "json")

    assert result.returncode == EXIT_FAILED, result.stderr
    payload = json.loads(result.stdout)
    bad = [f for f in payload["files"] if f["status"] != "valid"]
    assert [(f["key"], f["status"]) for f in bad] == [(bombed_log, "invalid-format")]
    assert peak_mb < PEAK_RSS_LIMIT_MB


def test_logs_refuses_a_gzip_bomb(bombed_log: str, tmp_path: Path) -> None:
    result, peak_mb = run_measured(tmp_path, "logs", "audit", "--file", bombed_log)

    assert result.returncode == EXIT_FAILED, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"error: {bombed_log} is larger than 256 MiB once decompressed; CloudTrail never "
        "writes files that big"
    )
    assert peak_mb < PEAK_RSS_LIMIT_MB


def test_validate_reports_damaged_and_truncated_gzip(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    from wizard.health.integrity import validate_trail

    setup_trail(aws)
    deliver_periods(sandbox, aws, 2)
    damaged, truncated = logs_of(digests(aws)[-1][1])[0], logs_of(digests(aws)[0][1])[0]
    s3 = aws("s3")
    s3.put_object(Bucket=BUCKET, Key=damaged, Body=b"\x1f\x8b\x08\x00" + b"\xff" * 64)
    whole = s3.get_object(Bucket=BUCKET, Key=truncated)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=truncated, Body=whole[: len(whole) // 2])

    report = validate_trail(sandbox_session.caller, "audit", region="us-east-1")

    details = {f.key: (f.status, f.detail) for f in report.invalid}
    assert details[damaged][0] == "invalid-format"
    assert "Not a valid gzip file" in details[damaged][1]
    assert details[truncated] == (
        "invalid-format",
        "Not a valid gzip file: its gzip data ends early (an incomplete upload or download?); "
        "the log file was replaced or damaged.",
    )


def test_an_empty_object_in_place_of_a_log_file_is_modified(
    sandbox: Any, aws: Any, sandbox_session: Any
) -> None:
    from wizard.health.integrity import validate_trail

    setup_trail(aws)
    deliver_periods(sandbox, aws, 1)
    key = logs_of(digests(aws)[-1][1])[0]
    aws("s3").put_object(Bucket=BUCKET, Key=key, Body=b"")

    report = validate_trail(sandbox_session.caller, "audit", region="us-east-1")

    assert [(f.key, f.status) for f in report.invalid] == [(key, "modified")]
