"""Bounded input and safe output for the files a person hands the wizard or gets from it.

* :func:`read_bounded` reads a file the user named (an answers file, an accounts file)
  only if it is a regular file, and never more than its cap: ``/dev/zero``, a FIFO, a
  directory or a socket are refused at once, without blocking, and a huge file is refused
  before it is read.
* :func:`write_atomically` writes a file the user asked for (an export, saved answers)
  through a temporary file created exclusively beside the target, then renames it over the
  target: a reader never sees half a file, a failed write leaves the old file as it was, and
  a symbolic link planted at a temporary name is never followed. Special files such as
  ``/dev/stdout`` or a FIFO are written to, not replaced.
* :func:`gunzip_chunks` and :func:`gunzip_bounded` decompress gzip data (a CloudTrail log
  or digest file from a bucket anyone with write access may have tampered with) with a cap
  on the output, so that a decompression bomb is a reported problem, not a
  ``MemoryError``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

__all__ = [
    "FileRefused",
    "GzipError",
    "gunzip_bounded",
    "gunzip_chunks",
    "read_bounded",
    "size_words",
    "write_atomically",
]


class FileRefused(ValueError):
    """A file that is not read: not a regular file, or larger than its cap.

    The message completes ``"<file>: "`` and says what to do.
    """


def size_words(size: int) -> str:
    """``1 MiB``, ``64 KiB``, ``512 bytes``: a cap or size as people read it."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def _not_regular(mode: int, what: str) -> FileRefused:
    return FileRefused(
        f"it is {_kind(mode)}, not a regular file; give the path of the {what} itself."
    )


def read_bounded(path: str | os.PathLike[str], limit: int, *, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    The file is opened without blocking (a FIFO with no writer would otherwise hang the
    open) and checked with ``fstat`` on the open descriptor, so what is checked is what is
    read. Never more than ``limit + 1`` bytes are read, even from a file that grows, or
    that reports a size of 0 as files under ``/proc`` do.

    Args:
        path: The file.
        limit: The largest size accepted, in bytes.
        what: What the file is, for messages (``answers file``).

    Returns:
        The file's content.

    Raises:
        FileRefused: not a regular file, or larger than ``limit``.
        OSError: it cannot be opened or read (missing, permission denied...).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno != errno.ENXIO:
            raise
        # A socket cannot be opened at all (ENXIO): say what it is rather than the errno.
        try:
            mode = os.stat(path).st_mode
        except OSError:
            raise exc from None
        raise _not_regular(mode, what) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(info.st_mode, what)
        if info.st_size > limit:
            raise _too_large(info.st_size, limit, what)
        # A regular file never blocks; clearing the flag keeps reads ordinary anyway.
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(limit + 1 - total, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise _too_large(None, limit, what)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _too_large(size: int | None, limit: int, what: str) -> FileRefused:
    actual = f" ({size_words(size)})" if size is not None else ""
    article = "an" if what[:1] in ("a", "e", "i", "o", "u") else "a"
    return FileRefused(
        f"it is larger than {size_words(limit)}{actual}, the most {article} {what} may be; "
        "check that this is the right file."
    )


# ---------------------------------------------------------------------------- writing


def write_atomically(path: str | os.PathLike[str], text: str, *, executable: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that it is either all there or not changed.

    A regular file (new or existing) is replaced: the text goes to a temporary file
    created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` under a random name in the target's
    directory (so a link planted there is never followed, and the rename stays on one file
    system), is flushed to disk, and is then renamed over the target. A new file gets the
    permissions a plain ``open()`` would give it (``0666`` less the umask, ``0777`` when
    ``executable``); an existing one keeps its own. A symbolic link at the target is kept:
    the file it points to is replaced.

    A target that exists and is not a regular file (a character device such as
    ``/dev/null``, a FIFO), or that is an open descriptor (``/dev/stdout``, ``/dev/fd/N``,
    ``/proc/self/fd/N``: links to whatever the descriptor is open on), is written to
    directly: replacing it would break it, or leave the process that holds it open writing
    to a deleted file.

    Args:
        path: The file to write.
        text: Its new content.
        executable: Make it executable (an exported shell script).

    Raises:
        OSError: it cannot be written; the target is then unchanged (when it is replaced)
            and no temporary file is left behind.
    """
    target = Path(path)
    if _is_special(target):
        _write_special(target, text.encode("utf-8"))
        return
    # Follow a link at the target to the file it names (a dotfile managed as a link stays a
    # link); links at the temporary name are another matter, see below.
    real = Path(os.path.realpath(target))
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
        if executable:
            mode |= (mode & 0o444) >> 2  # execute for whoever may read it
    except FileNotFoundError:
        mode = (0o777 if executable else 0o666) & ~_umask()
    # mkstemp opens with O_CREAT | O_EXCL | O_NOFOLLOW and mode 0600, under a random name:
    # nothing planted in the directory can redirect the write.
    fd, temporary = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(real.parent)


def _is_special(target: Path) -> bool:
    """True when ``target`` must be written in place rather than replaced."""
    if _is_descriptor_link(target):
        return True
    try:
        return not stat.S_ISREG(os.stat(target).st_mode)
    except FileNotFoundError:
        return False


_DESCRIPTOR = re.compile(r"/proc/(?:self|thread-self|\d+)/fd/\d+")
"""A process's open descriptor, as /proc shows it."""


def _is_descriptor_link(target: Path) -> bool:
    """True for ``/dev/stdout``, ``/dev/fd/3``, ``/proc/self/fd/1``: an open descriptor.

    Such a path is a link to whatever the descriptor is open on, often a regular file (the
    shell's ``> out.txt``): that file must be written through the descriptor's link, not
    replaced, or the process holding it would go on writing to a deleted file. The links
    are followed one at a time (up to 40, as the kernel does), looking for a descriptor.
    """
    path = os.path.abspath(target)
    for _ in range(40):
        path = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
        if _DESCRIPTOR.fullmatch(path):
            return True
        try:
            link = os.readlink(path)
        except OSError:  # not a link (or not there): the chain ends here
            return False
        path = os.path.join(os.path.dirname(path), link)
    return False


def _write_special(target: Path, data: bytes) -> None:
    """Write to a device, FIFO or descriptor link in place."""
    # O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of hanging the open; the
    # flag is then cleared so that writing waits for a slow reader as it should. O_APPEND:
    # a descriptor link to a regular file (``/dev/stdout > out.txt``) continues after what
    # the process wrote there already instead of overwriting it.
    flags = os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(
                exc.errno, "no process is reading this FIFO (named pipe)", str(target)
            ) from None
        raise
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for every thread)."""
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------- gzip

GzipProblem = Literal["too-large", "damaged", "truncated"]
"""What was wrong with gzip data."""

_CHUNK = 1 << 20
"""Bytes decompressed at a time: memory stays at about this much whatever the ratio."""


class GzipError(ValueError):
    """Gzip data that cannot be decompressed within its cap."""

    def __init__(self, problem: GzipProblem, message: str) -> None:
        self.problem: GzipProblem = problem
        """``too-large`` (over the cap: maybe a decompression bomb), ``damaged`` or
        ``truncated``."""
        super().__init__(message)


def gunzip_chunks(data: bytes, limit: int) -> Iterator[bytes]:
    """Decompress gzip ``data`` piece by piece, never more than ``limit`` bytes in all.

    zlib's ``max_length`` bounds each step, so a few megabytes that inflate to terabytes of
    zeros cost one chunk of memory and stop at the cap. Several gzip members one after the
    other are read as one stream, as :func:`gzip.decompress` does; zero bytes after the last
    member (padding) are ignored.

    Raises:
        GzipError: more than ``limit`` bytes, damaged data, or data that ends early.
    """
    total = 0
    pending = data
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            while True:
                piece = inflater.decompress(pending, min(_CHUNK, limit + 1 - total))
                pending = inflater.unconsumed_tail
                if piece:
                    total += len(piece)
                    if total > limit:
                        raise GzipError(
                            "too-large",
                            f"it is larger than {size_words(limit)} once decompressed",
                        )
                    yield piece
                if inflater.eof or (not piece and not pending):
                    break
        except zlib.error as exc:
            raise GzipError("damaged", f"its gzip data is damaged ({exc})") from None
        if not inflater.eof:
            raise GzipError(
                "truncated", "its gzip data ends early (an incomplete upload or download?)"
            )
        pending = inflater.unused_data
        if not pending.strip(b"\0"):
            return
        if pending[:2] != b"\x1f\x8b":
            raise GzipError("damaged", "there is data after the end of its gzip data")


def gunzip_bounded(data: bytes, limit: int) -> bytearray:
    """Decompress gzip ``data`` of at most ``limit`` bytes once decompressed.

    The data is decompressed twice: once to measure it, keeping nothing, and once to keep
    it in a buffer of exactly that size. Memory is so bounded by the real size, never by
    what a bomb would grow to; log files are small, and inflating twice costs little.

    Raises:
        GzipError: see :func:`gunzip_chunks`.
    """
    size = sum(len(piece) for piece in gunzip_chunks(data, limit))
    content = bytearray(size)
    offset = 0
    for piece in gunzip_chunks(data, limit):
        content[offset : offset + len(piece)] = piece
        offset += len(piece)
    return content
