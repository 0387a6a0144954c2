"""Hostile files and values on the command line: bounded input and safe output.

An answers or accounts file that is not a regular file (``/dev/zero``, a FIFO, a directory,
a socket) or is far too big is refused at once with exit 2; duplicate keys are refused with
the file and line; control characters in values are shown escaped; times out of range are
a usage error; exports and saved files are written through a temporary file that a planted
link cannot redirect, and ``/dev/stdout`` is written to, not replaced.

Commands that would hang or exhaust memory if this regressed run in a subprocess with a
timeout and an address-space limit, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from screens.cli.main import main
from screens.common.errors import EXIT_INVALID, EXIT_OK
from wizard.export.text import plan_to_text
from wizard.model.answers_file import AnswersError, load_answers, parse_answers
from wizard.model.plan import Call, Finding, Plan, Step
from wizard.model.safe_io import FileRefused, read_bounded, write_atomically
from wizard.model.text import printable, printable_lines
from wizard.onboard import load_accounts, parse_accounts

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "new-bucket-sse-s3.yaml"
ADDRESS_SPACE = 3 << 30
"""Address-space limit of the subprocesses: far above what a command needs, far below what
reading /dev/zero into memory would take."""

# The subprocess builds the parser and imports the file loaders first, so that the clock
# measures the command itself (refusing the file), not imports on a busy machine.
RUNNER = """
import os, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from screens.cli.main import main
from screens.cli.parser import build_parser
import wizard.model.answers_file, wizard.onboard
build_parser()
start = time.monotonic()
code = main(sys.argv[1:])
with open(os.environ["ELAPSED_FILE"], "w") as handle:
    handle.write(repr(time.monotonic() - start))
sys.exit(code)
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["ELAPSED_FILE"] = str(tmp_path / "elapsed")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env


def run_guarded(
    tmp_path: Path, *argv: str, timeout: float = 60, **options: Any
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the command line in a subprocess; (result, seconds the command itself took)."""
    options.setdefault("stdout", subprocess.PIPE)
    result = subprocess.run(
        [sys.executable, "-c", RUNNER.format(limit=ADDRESS_SPACE), *argv],
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        env=_env(tmp_path),
        cwd=tmp_path,
        check=False,
        **options,
    )
    elapsed_file = tmp_path / "elapsed"
    elapsed = float(elapsed_file.read_text()) if elapsed_file.exists() else float("inf")
    return result, elapsed


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "answers.fifo"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "answers.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    try:
        yield path
    finally:
        server.close()


# ------------------------------------------------------------ regular files, bounded


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("/dev/zero", "a character device"),
        ("fifo", "a FIFO"),
        ("directory", "a directory"),
        ("socket", "a socket"),
    ],
)
def test_validate_answers_refuses_what_is_not_a_regular_file_at_once(
    tmp_path: Path, request: pytest.FixtureRequest, target: str, kind: str
) -> None:
    paths: dict[str, Callable[[], str]] = {
        "/dev/zero": lambda: "/dev/zero",
        "fifo": lambda: str(request.getfixturevalue("fifo")),
        "directory": lambda: str(tmp_path),
        "socket": lambda: str(request.getfixturevalue("unix_socket")),
    }
    path = paths[target]()

    result, elapsed = run_guarded(tmp_path, "validate-answers", path)

    assert result.returncode == EXIT_INVALID, result.stderr
    assert f"{path}: cannot read the file: it is {kind}" in result.stderr
    assert "not a regular file" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 1.0


def test_an_answers_file_over_the_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(64 << 20)  # sparse: 64 MiB of size, nothing written

    result, elapsed = run_guarded(tmp_path, "validate-answers", str(big))

    assert result.returncode == EXIT_INVALID
    assert (
        f"{big}: cannot read the file: it is larger than 1 MiB (64 MiB), the most an answers "
        "file may be" in result.stderr
    )
    assert elapsed < 1.0


def test_an_answers_file_just_under_the_cap_is_read(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    padded = tmp_path / "padded.yaml"
    comment = "# " + "x" * 1000 + "\n"
    padded.write_text(
        text + comment * ((safe_io_cap() - len(text)) // len(comment)), encoding="utf-8"
    )
    assert padded.stat().st_size <= safe_io_cap()

    assert load_answers(padded).trail.name == "acme-audit"


def safe_io_cap() -> int:
    from wizard.model.answers_file import MAX_ANSWERS_BYTES

    return MAX_ANSWERS_BYTES


def test_read_bounded_never_reads_more_than_the_cap_plus_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # /proc files say their size is 0, so only the read loop can stop them.
    sizes: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting_read)
    with pytest.raises(FileRefused, match="larger than 100 bytes"):
        read_bounded("/proc/self/maps", 100)
    assert sum(sizes) == 101


def test_read_bounded_reads_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"x" * 100)
    assert read_bounded(path, 100) == b"x" * 100
    with pytest.raises(FileRefused, match="larger than 99 bytes"):
        read_bounded(path, 99)
    with pytest.raises(FileNotFoundError):
        read_bounded(tmp_path / "missing", 100)


def test_accounts_files_are_bounded_too(tmp_path: Path, fifo: Path) -> None:
    for path, words in (
        ("/dev/zero", "a character device"),
        (str(fifo), "a FIFO"),
        (str(tmp_path), "a directory"),
    ):
        with pytest.raises(AnswersError, match=f"it is {words}") as caught:
            load_accounts(path)
        assert caught.value.source == path

    big = tmp_path / "accounts.yaml"
    with big.open("wb") as handle:
        handle.truncate(1 << 30)
    with pytest.raises(AnswersError, match=r"larger than 8 MiB \(1 GiB\)"):
        load_accounts(big)


def test_the_shared_answers_file_an_accounts_file_names_is_bounded(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text("answers: /dev/zero\naccounts:\n  - id: '111111111111'\n", encoding="utf-8")
    with pytest.raises(AnswersError, match="a character device") as caught:
        load_accounts(accounts)
    assert caught.value.source == "/dev/zero"


def test_onboard_with_a_fifo_exits_2_at_once(tmp_path: Path, fifo: Path) -> None:
    result, elapsed = run_guarded(tmp_path, "onboard", str(fifo), "--dry-run")

    assert result.returncode == EXIT_INVALID, result.stderr
    assert (
        f"{fifo}: cannot read the file: it is a FIFO (named pipe), not a regular file"
        in result.stderr
    )
    assert "Fix the accounts file" in result.stderr
    assert elapsed < 1.0


def test_an_accounts_file_of_thousands_of_accounts_fits(tmp_path: Path) -> None:
    entry = (
        "  - id: '{n:012d}'\n"
        "    role_arn: arn:aws:iam::{n:012d}:role/OrganizationAccountAccessRole\n"
    )
    path = tmp_path / "accounts.yaml"
    answers = "answers: {trail: {name: acme-audit}, bucket: {name: acme-audit-logs}}\n"
    path.write_text(
        answers + "accounts:\n" + "".join(entry.format(n=n) for n in range(1, 3001)),
        encoding="utf-8",
    )
    assert len(load_accounts(path).targets) == 3000


# ------------------------------------------------------------ duplicate keys


@pytest.mark.parametrize(
    ("text", "line", "key", "first"),
    [
        ("trail:\n  name: a-trail\n  name: b-trail\nbucket:\n  name: logs-bucket\n", 3, "name", 2),
        (
            "trail:\n  name: a-trail\nbucket:\n  name: logs-bucket\ntrail:\n  name: c-trail\n",
            5,
            "trail",
            1,
        ),
        (
            '{\n  "trail": {"name": "a-trail"},\n  "bucket": {"name": "logs-bucket"},\n'
            '  "trail": {"name": "b-trail"}\n}\n',
            4,
            "trail",
            2,
        ),
        (
            '{\n\t"trail": {\n\t\t"name": "a-trail",\n\t\t"name": "b-trail"\n\t},\n'
            '\t"bucket": {"name": "logs-bucket"}\n}\n',
            4,
            "name",
            3,
        ),
    ],
    ids=["yaml-nested", "yaml-top-level", "json", "json-with-tabs"],
)
def test_duplicate_keys_are_refused_with_file_and_line(
    text: str, line: int, key: str, first: int
) -> None:
    with pytest.raises(AnswersError) as caught:
        parse_answers(text, "dup.yaml")

    (problem,) = caught.value.problems
    assert problem.line == line
    assert caught.value.render().startswith(
        f"dup.yaml:{line}: duplicate key '{key}' (first on line {first})"
    )


def test_yaml_merge_keys_are_not_duplicates() -> None:
    text = (
        "defaults: &defaults\n  name: base-trail\n"  # an unknown field, but not a duplicate
        "trail:\n  <<: *defaults\n  name: acme-audit\nbucket:\n  name: acme-audit-logs\n"
    )
    with pytest.raises(AnswersError) as caught:
        parse_answers(text, "merge.yaml")
    assert "duplicate" not in caught.value.render()
    assert "unknown field 'defaults'" in caught.value.render()

    merged = "trail: &t\n  name: acme-audit\nbucket:\n  <<: {name: x}\n  name: acme-audit-logs\n"
    assert parse_answers(merged).bucket.name == "acme-audit-logs"


def test_validate_answers_reports_a_duplicate_key_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(
        "trail:\n  name: acme-audit\nbucket:\n  name: a-logs\n  create: true\n  name: b-logs\n",
        encoding="utf-8",
    )
    assert main(["validate-answers", str(path)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert f"{path}:6: duplicate key 'name' (first on line 4)" in err


def test_duplicate_keys_in_an_accounts_file_are_refused(tmp_path: Path) -> None:
    text = "answers: {trail: {name: t1-trail}, bucket: {name: b1-bucket}}\naccounts: []\n"
    with pytest.raises(AnswersError) as caught:
        parse_accounts(text + "accounts: []\n", "accounts.yaml")
    assert caught.value.render().startswith(
        "accounts.yaml:3: duplicate key 'accounts' (first on line 2)"
    )


# ------------------------------------------------------------ control characters


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain text", "plain text"),
        ("\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07"),
        ("a\nb\rc\td", "a\\x0ab\\x0dc\\x09d"),
        ("\x7f\x9b31m", "\\x7f\\x9b31m"),
        ("evil\u202etxt.sh", "evil\\u202etxt.sh"),
        ("\u2066x\u2069 \u200f", "\\u2066x\\u2069 \\u200f"),
        ("line\u2028sep", "line\\u2028sep"),
        ("café ☕ C:\\path", "café ☕ C:\\path"),
    ],
)
def test_printable_escapes_controls(value: str, shown: str) -> None:
    assert printable(value) == shown


def test_printable_lines_keeps_line_breaks_only() -> None:
    assert printable_lines("one\x1b[1m\ntwo\x07") == "one\\x1b[1m\ntwo\\x07"


def test_answers_errors_show_control_characters_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(
        "trail:\n  name: acme-audit\nbucket:\n  name: acme-audit-logs\n"
        '  prefix: "logs\\e]0;owned\\a\\e[2J\\u202e"\n',
        encoding="utf-8",
    )
    assert main(["validate-answers", str(path)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert f"{path}:5: bucket.prefix:" in err
    assert "logs\\x1b]0;owned\\x07\\x1b[2J\\u202e" in err
    assert not set(err) & {"\x1b", "\x07", "\u202e"}


def test_a_file_name_with_control_characters_is_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ok\x1b[31m.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    missing = tmp_path / "gone\x1b[31m.yaml"

    assert main(["validate-answers", str(path)]) == EXIT_OK
    assert main(["validate-answers", str(missing)]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == f"{tmp_path}/ok\\x1b[31m.yaml: valid\n"
    assert f"{tmp_path}/gone\\x1b[31m.yaml: file not found" in err
    assert "\x1b" not in out + err


def test_plan_text_escapes_what_aws_and_answers_supplied() -> None:
    plan = Plan(
        account_id="111111111111",
        partition="aws",
        home_region="us-east-1",
        trail_arn="arn:aws:cloudtrail:us-east-1:111111111111:trail/acme",
        findings=[
            Finding(
                severity="warning",
                code="key-description",
                message="The key 'ops\x1b]0;owned\x07' is used.\nSecond line \u202eok",
            )
        ],
        steps=[
            Step(
                id="start-logging",
                call=Call(
                    service="cloudtrail",
                    region="us-east-1",
                    operation="StartLogging",
                    params={"Name": "acme"},
                ),
                summary="Start logging \x1b[8mhidden",
                chain="trail",
                undo_summary="stop \x9b2J",
            )
        ],
    )
    text = plan_to_text(plan)
    assert "The key 'ops\\x1b]0;owned\\x07' is used." in text
    assert "Second line \\u202eok" in text  # the message's own line break is kept
    assert "Start logging \\x1b[8mhidden" in text
    assert "undo: stop \\x9b2J" in text
    assert not set(text) & {"\x1b", "\x07", "\u202e", "\x9b"}


# ------------------------------------------------------------ times out of range


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start-time", "99999999999d"], "--start-time '99999999999d' is too long ago"),
        (["--start-time", "9" * 400 + "w"], "is too long ago"),
        (["--end-time", "9999-12-31T23:59:59Z"], "--end-time '9999-12-31T23:59:59Z' is out of"),
        (["--start-time", "0001-01-01T00:00:00+01:00"], "is out of range"),
        (["--start-time", "1900-01-01"], "is out of range"),
        (["--start-time", "1e9d"], "is not a time"),
    ],
)
def test_validate_times_out_of_range_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", "audit", *argv])

    err = capsys.readouterr().err
    assert code == EXIT_INVALID
    assert message in err
    assert "1970-01-01" in err or "is not a time" in err
    assert "Traceback" not in err and "Overflow" not in err


def test_validate_times_in_range_still_parse() -> None:
    from screens.cli.commands.validate import parse_time

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_time("2d", "--start-time", now) == datetime(2025, 12, 30, tzinfo=UTC)
    assert parse_time("1970-01-01", "--start-time", now) == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_time("2100-01-01T00:00:00+02:00", "--end-time", now) == datetime(
        2099, 12, 31, 22, tzinfo=UTC
    )


# ------------------------------------------------------------ safe output


def _export(tmp_path: Path, output: str, **options: Any) -> tuple[Any, float]:
    return run_guarded(
        tmp_path,
        "export",
        str(EXAMPLE),
        "--format",
        "cloudformation",
        "--output",
        output,
        **options,
    )


def test_export_does_not_follow_a_link_planted_at_the_temporary_name(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    # The name the old code used, and names in the helper's own pattern: none may be used.
    planted = [tmp_path / ".template.yaml.tmp", tmp_path / ".template.yaml.x.tmp"]
    for link in planted:
        link.symlink_to(victim)

    result, _ = _export(tmp_path, str(tmp_path / "template.yaml"))

    assert result.returncode == EXIT_OK, result.stderr
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert all(link.is_symlink() and link.resolve() == victim for link in planted)
    written = (tmp_path / "template.yaml").read_text(encoding="utf-8")
    assert "AWS::CloudTrail::Trail" in written
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == sorted(
        p.name for p in planted
    )


def test_export_to_dev_stdout_writes_to_stdout_and_keeps_the_device(tmp_path: Path) -> None:
    before = os.lstat("/dev/stdout")

    result, _ = _export(tmp_path, "/dev/stdout")

    assert result.returncode == EXIT_OK, result.stderr
    assert "AWS::CloudTrail::Trail" in result.stdout
    after = os.lstat("/dev/stdout")
    assert stat.S_ISLNK(after.st_mode) and after.st_ino == before.st_ino


def test_export_to_dev_stdout_redirected_to_a_file_appends_to_that_file(tmp_path: Path) -> None:
    out = tmp_path / "redirected.yaml"
    with out.open("w", encoding="utf-8") as handle:
        result, _ = _export(tmp_path, "/dev/stdout", stdout=handle)
        inode = os.fstat(handle.fileno()).st_ino

    assert result.returncode == EXIT_OK, result.stderr
    assert "AWS::CloudTrail::Trail" in out.read_text(encoding="utf-8")
    assert out.stat().st_ino == inode  # the file the shell opened, not a replacement


def test_a_link_to_dev_stdout_writes_through_the_descriptor(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # capfd points descriptor 1 at a regular file: replacing that file would lose the text.
    link = tmp_path / "out.yaml"
    link.symlink_to("/dev/stdout")

    write_atomically(link, "to the terminal\n")

    assert capfd.readouterr().out == "to the terminal\n"
    assert link.is_symlink()


def test_a_link_to_a_regular_file_is_followed_and_the_file_replaced(tmp_path: Path) -> None:
    # Only open descriptors are written in place: the file a link names is replaced.
    target = tmp_path / "plain.txt"
    target.write_text("old and longer\n", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_atomically(link, "new\n")
    write_atomically(link, "newer\n")
    assert target.read_text(encoding="utf-8") == "newer\n"


def test_a_failed_export_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "template.yaml"
    target.write_text("the previous template\n", encoding="utf-8")

    def small_files() -> None:
        # A file-size limit makes the kernel refuse the write (EFBIG), even for root, as a
        # full disk would; the signal it also sends is ignored so the write just fails.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))

    result, _ = _export(tmp_path, str(target), preexec_fn=small_files)

    assert result.returncode == EXIT_INVALID
    assert f"Cannot write {target}: File too large" in result.stderr
    assert target.read_text(encoding="utf-8") == "the previous template\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".template")] == []


def test_write_atomically_keeps_permissions_and_links(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("old\n", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.yaml"
    link.symlink_to(real)

    write_atomically(link, "new\n")

    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640

    script = tmp_path / "run.sh"
    write_atomically(script, "echo hi\n", executable=True)
    assert script.stat().st_mode & stat.S_IXUSR


def test_write_atomically_writes_into_a_fifo_with_a_reader(fifo: Path) -> None:
    # The reader is open before the write (a non-blocking open of the reading end returns at
    # once); the text fits in the pipe's buffer, so nothing waits.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_atomically(fifo, "through the pipe\n")
        assert os.read(reader, 1000) == b"through the pipe\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_write_atomically_to_a_fifo_nobody_reads_fails_at_once(fifo: Path) -> None:
    with pytest.raises(OSError, match="no process is reading") as caught:
        write_atomically(fifo, "x")
    assert caught.value.errno == errno.ENXIO


def test_write_atomically_leaves_nothing_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "answers.yaml"
    target.write_text("before\n", encoding="utf-8")

    def refuse(src: str, dst: str) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", refuse)  # the os module safe_io uses
    with pytest.raises(OSError, match="Read-only"):
        write_atomically(target, "after\n")
    assert target.read_text(encoding="utf-8") == "before\n"
    assert [p.name for p in tmp_path.iterdir()] == ["answers.yaml"]
